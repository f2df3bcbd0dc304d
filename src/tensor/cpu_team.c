#include "tensor/cpu_team.h"

#include <limits.h>
#include <linux/futex.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#define PREFETCH_L2(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
#else
#define CPU_RELAX() ((void)0)
#define PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#endif

/* Threads of a team, at most. */
#define TEAM_MAX 64
/* Below this much work a call is too small to share (the 0.9M demo model);
 * rlc_cpu_team_min_work changes it. */
#define TEAM_MIN_WORK ((size_t)4 << 20)
/* Rounds a barrier spins before it sleeps: libgomp's, from GOMP_SPINCOUNT
 * (rlc sets 1000, see src/cli/main.c) or OMP_WAIT_POLICY, so a thread whose
 * partner lost its core to another process sleeps as an OpenMP one does. A
 * round is one CPU_RELAX (18 ns on the AMD EPYC) or 8 prefetches; a decode
 * step's threads wait microseconds for each other. */
#define SPIN_DEFAULT 300000L /* libgomp's, with neither variable set */
static long spin_rounds(void) {
    static _Atomic long rounds = -1;
    long r = atomic_load(&rounds);
    if (r >= 0) return r;
    const char *sc = getenv("GOMP_SPINCOUNT"), *wp = getenv("OMP_WAIT_POLICY");
    r = SPIN_DEFAULT;
    if (wp && !strcasecmp(wp, "passive")) r = 0;
    if (wp && !strcasecmp(wp, "active")) r = LONG_MAX;
    if (sc && (!strcasecmp(sc, "infinite") || !strcasecmp(sc, "infinity"))) {
        r = LONG_MAX;
    } else if (sc) {
        char *end;
        long v = strtol(sc, &end, 10);
        long mul = *end == 'k' || *end == 'K'   ? 1000L
                   : *end == 'M'                ? 1000000L
                   : *end == 'G' || *end == 'T' ? 1000000000L
                                                : 1L; /* libgomp's suffixes (T capped) */
        if (end != sc && v >= 0) r = v > LONG_MAX / mul ? LONG_MAX : v * mul;
    }
    atomic_store(&rounds, r);
    return r;
}
/* Items a thread claims of its own share at once, at most: a quarter of
 * what is left, so that the end stays fine-grained for the others. One
 * claim is an atomic on the thread's own line (~20 ns); the 135M BF16
 * decode weights are 28k chunks a token. */
#define CLAIM_MAX 16
/* Tag of a claim slot that no call of this run has written. */
#define SEQ_NONE 0xffffu

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;

/* The one team (runs are serialized by busy). Each field that threads write
 * sits on its own cache line: a line costs ~250 ns to cross cores. */
static struct {
    _Alignas(64) atomic_uint arrived;
    _Alignas(64) atomic_uint gen; /* barrier generation; futex word */
    atomic_int sleepers;
    /* claim slots, one per thread: seq << 48 | front << 24 | back */
    struct {
        _Alignas(64) _Atomic uint64_t v;
    } slot[TEAM_MAX];
} team;

/* Where each of the first PF_THREADS threads' share of each of the first
 * PF_CALLS claim calls of a team run began, from the last run that had
 * that call: a decode step makes the same calls in the same order each
 * step, so a thread waiting at a barrier prefetches the start of its share
 * of the call after it (stale entries only waste a prefetch). */
#define PF_THREADS 8
#define PF_CALLS 1024
static struct {
    const char *p;
    size_t n;
} pf_tab[PF_THREADS][PF_CALLS];
static _Thread_local unsigned tl_pf_call = ~0u; /* the call tl_pf_off is for */
static _Thread_local size_t tl_pf_off;
/* Bytes of a share prefetched (into L2) while waiting, at most. rlc
 * generate, 135M shape, decode batch 1, interleaved A/B x8-10: BF16
 * 185.1 -> 197.5 tok/s (64 KiB: +3%, 1 MiB no better), F32 90.0 -> 94.4. */
#define PF_BYTES ((size_t)256 << 10)

static _Atomic size_t min_work = TEAM_MIN_WORK;
static _Thread_local int tl_tid = -1, tl_nt = 1;
static _Thread_local unsigned tl_calls; /* claim calls of this run, on this thread */
static _Thread_local int tl_solo;       /* depth of the master's solo sections */

void rlc_cpu_team_run(void (*fn)(void *ctx), void *ctx, size_t work) {
    int nt = omp_get_max_threads();
    if (nt > TEAM_MAX) nt = TEAM_MAX;
    if (nt < 2 || work < atomic_load(&min_work) || omp_in_parallel() ||
        pthread_mutex_trylock(&busy)) {
        fn(ctx);
        return;
    }
    atomic_store(&team.arrived, 0);
    for (int t = 0; t < TEAM_MAX; t++)
        atomic_store(&team.slot[t].v, (uint64_t)SEQ_NONE << 48);
#pragma omp parallel num_threads(nt)
    {
        tl_tid = omp_get_thread_num();
        tl_nt = omp_get_num_threads();
        tl_calls = 0;
        fn(ctx);
        tl_tid = -1;
        tl_nt = 1;
    }
    pthread_mutex_unlock(&busy);
}

size_t rlc_cpu_team_min_work(size_t work) {
    return atomic_exchange(&min_work, work);
}

int rlc_cpu_team_tid(void) {
    return tl_tid;
}

int rlc_cpu_team_size(void) {
    return tl_nt;
}

int rlc_cpu_team_master(void) {
    return tl_tid <= 0;
}

static void futex(atomic_uint *addr, int op, unsigned val) {
    syscall(SYS_futex, (unsigned *)addr, op, val, NULL, NULL, 0);
}

/* Centralized barrier: the last to arrive starts the next generation. The
 * waker's store of gen and its read of sleepers, and a sleeper's increment
 * and its read of gen, are sequentially consistent: one of the two sees the
 * other, so no sleeper misses its wake-up. */
void rlc_cpu_team_sync(void) {
    if (tl_tid < 0 || tl_nt < 2) return;
    unsigned g = atomic_load(&team.gen);
    if (atomic_fetch_add(&team.arrived, 1) == (unsigned)tl_nt - 1) {
        atomic_store_explicit(&team.arrived, 0, memory_order_relaxed);
        atomic_store(&team.gen, g + 1);
        if (atomic_load(&team.sleepers)) futex(&team.gen, FUTEX_WAKE_PRIVATE, INT_MAX);
        return;
    }
    const char *pp = NULL;
    size_t pn = 0;
    if (tl_tid < PF_THREADS && tl_calls < PF_CALLS) {
        if (tl_pf_call != tl_calls) tl_pf_call = tl_calls, tl_pf_off = 0;
        pp = pf_tab[tl_tid][tl_calls].p;
        pn = pf_tab[tl_tid][tl_calls].n < PF_BYTES ? pf_tab[tl_tid][tl_calls].n : PF_BYTES;
    }
    for (long i = 0, n = spin_rounds(); i < n; i++) {
        if (atomic_load_explicit(&team.gen, memory_order_acquire) != g) return;
        if (tl_pf_off < pn) {
            for (int l = 0; l < 8; l++, tl_pf_off += 64)
                PREFETCH_L2(pp + tl_pf_off);
        } else {
            CPU_RELAX();
        }
    }
    atomic_fetch_add(&team.sleepers, 1);
    while (atomic_load(&team.gen) == g)
        futex(&team.gen, FUTEX_WAIT_PRIVATE, g);
    atomic_fetch_sub(&team.sleepers, 1);
}

int rlc_cpu_team_solo_begin(void) {
    if (tl_tid < 0) {
        if (tl_solo) tl_solo++;
        return 1;
    }
    if (tl_tid != 0) return 0;
    tl_tid = -1;
    tl_solo = 1;
    return 1;
}

void rlc_cpu_team_solo_end(void) {
    if (tl_solo > 1) {
        tl_solo--;
    } else if (tl_solo == 1) {
        tl_solo = 0;
        tl_tid = 0;
        rlc_cpu_team_sync();
    } else {
        rlc_cpu_team_sync(); /* nothing outside a team */
    }
}

void rlc_cpu_team_note_share(const void *p, size_t bytes) {
    unsigned call = tl_calls - 1; /* the call claim_begin just began */
    if (tl_tid < 0 || tl_tid >= PF_THREADS || call >= PF_CALLS) return;
    pf_tab[tl_tid][call].p = p;
    pf_tab[tl_tid][call].n = bytes;
}

static void share_of(long n, int t, int nt, long *lo, long *hi) {
    *lo = n * t / nt;
    *hi = n * (t + 1) / nt;
}

void rlc_cpu_team_share(long n, long *lo, long *hi) {
    if (tl_tid < 0) {
        *lo = 0, *hi = n;
        return;
    }
    share_of(n, tl_tid, tl_nt, lo, hi);
}

static uint64_t pack(unsigned seq, long front, long back) {
    return (uint64_t)seq << 48 | (uint64_t)front << 24 | (uint64_t)back;
}

void rlc_cpu_team_claim_begin(rlc_cpu_claim *c, long n) {
    c->n = n;
    c->next = 0; /* outside a team: the next item; in one: the share taken from, 0 = own */
    c->seq = tl_calls++ % SEQ_NONE;
}

/* Slot values carry the call's seq: a thread that finds an older one (its
 * owner has not begun this call) installs the share itself, so no barrier
 * is needed between the calls' starts. Calls cannot be SEQ_NONE apart: each
 * collective op ends with a barrier. */
long rlc_cpu_team_claim_next(rlc_cpu_claim *c) {
    if (tl_tid < 0) {
        c->count = c->n - c->next;
        return c->count > 0 ? (c->next = c->n) - c->count : -1;
    }
    for (; c->next < tl_nt; c->next++) {
        int u = (int)((tl_tid + c->next) % tl_nt), own = c->next == 0;
        long lo, hi;
        share_of(c->n, u, tl_nt, &lo, &hi);
        uint64_t fresh = pack(c->seq, lo, hi), v = atomic_load(&team.slot[u].v);
        for (;;) {
            if ((unsigned)(v >> 48) != c->seq) {
                if (atomic_compare_exchange_weak(&team.slot[u].v, &v, fresh)) v = fresh;
                continue;
            }
            long f = (long)(v >> 24 & 0xffffff), b = (long)(v & 0xffffff);
            if (f >= b) break;
            long k = own ? (b - f) / 4 : 1;
            k = k < 1 ? 1 : k > CLAIM_MAX ? CLAIM_MAX : k;
            uint64_t nv = own ? pack(c->seq, f + k, b) : pack(c->seq, f, b - 1);
            if (atomic_compare_exchange_weak(&team.slot[u].v, &v, nv)) {
                c->count = k;
                return own ? f : b - 1;
            }
        }
    }
    return -1;
}
