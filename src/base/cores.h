/* The OpenMP thread count follows the cores this process can actually get.
 * Threads that meet at barriers lose whole time slices when another busy
 * process shares a core: each parallel region waits for the thread the
 * scheduler parked. rlc_cores_adapt, called between units of work (a decode
 * step, a micro-batch), measures over the last window how much CPU time this
 * process used and how much the cores it may run on left idle, and sets the
 * thread count to what that adds up to (at most the count OpenMP started with,
 * at least 1). Every kernel gives the same bits for any thread count, so the
 * count never changes a result. RLC_ADAPT_THREADS=0 in the environment keeps
 * the count fixed. */
#ifndef RLC_BASE_CORES_H
#define RLC_BASE_CORES_H

/* A window lasts at least this long: /proc/stat counts in 10 ms ticks. */
#define RLC_CORES_WINDOW_S 0.2

/* Cheap between windows (a clock read); from the thread that starts parallel
 * regions, never inside one. Does nothing when disabled or with one thread. */
void rlc_cores_adapt(void);

/* The thread count for `avail` cores (own CPU time plus idle time of the
 * allowed cores, per second of the window), between 1 and max: a core counts
 * when at least 0.7 of it is there. Pure, for tests. */
int rlc_cores_pick(double avail, int max);

#endif
