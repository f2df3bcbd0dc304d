/* Teams of the CPU backend: one OpenMP parallel region that runs a whole
 * decode step, its ops collective (every thread calls each op with the same
 * arguments) and separated by light barriers, instead of one region per op.
 * Entering a region and joining it costs 3 us on the 2-core AMD EPYC VM (a
 * cache line crosses cores in ~250 ns); a barrier here costs two crossings.
 * Internal to the CPU backend (src/tensor/cpu_*.c). */
#ifndef RLC_TENSOR_CPU_TEAM_H
#define RLC_TENSOR_CPU_TEAM_H

#include <stddef.h>

/* Runs fn(ctx) on every thread of one team when there are threads to share
 * `work` (multiply-adds of one call of fn, about) and no other team is
 * running; else calls fn(ctx) once, on this thread, outside any team (every
 * op then runs as it does alone). */
void rlc_cpu_team_run(void (*fn)(void *ctx), void *ctx, size_t work);

/* Sets the least work for which rlc_cpu_team_run forms a team (tests: 0
 * puts every call in a team, SIZE_MAX none); returns the previous value. */
size_t rlc_cpu_team_min_work(size_t work);

/* This thread's index in the running team, or -1 outside one. */
int rlc_cpu_team_tid(void);
/* Threads of the running team (1 outside one). */
int rlc_cpu_team_size(void);
/* 1 on the thread that runs a team's serial work (thread 0), and outside a team. */
int rlc_cpu_team_master(void);
/* Waits until every thread of the team has called it; what each wrote before is then visible to
 * all. Nothing outside a team. While it waits, a thread prefetches the start of its share of the
 * next claim call, where the run before had that call (rlc_cpu_team_note_share). */
void rlc_cpu_team_sync(void);

/* A solo section: solo_begin returns 1 on the thread that runs the section
 * (the master, or any thread outside a team), which then runs as if outside
 * the team (ops unshared, no barriers), and 0 on the others, which skip it.
 * Every thread then calls solo_end, a barrier in a team. Sections nest. */
int rlc_cpu_team_solo_begin(void);
void rlc_cpu_team_solo_end(void);

/* [lo, hi): this thread's contiguous share of n items (all of them outside a team). */
void rlc_cpu_team_share(long n, long *lo, long *hi);

/* Hands out the n items (n < 2^24) of one collective call: each thread first takes its own share
 * (rlc_cpu_team_share) front to back, a few at a time, then single items from the far end of
 * shares still unfinished. Every thread of the team calls claim_begin, then claim_next until it
 * returns -1; the calls must be in the same order on all threads. claim_next returns the first
 * item of a run of c->count consecutive ones. Outside a team: all n at once. */
typedef struct rlc_cpu_claim {
    long n, next, count;
    unsigned seq;
} rlc_cpu_claim;
void rlc_cpu_team_claim_begin(rlc_cpu_claim *c, long n);
/* After claim_begin: this thread's share of the call starts at p (bytes
 * long), for the prefetch of the same call's share in the next run. */
void rlc_cpu_team_note_share(const void *p, size_t bytes);
long rlc_cpu_team_claim_next(rlc_cpu_claim *c);

#endif
