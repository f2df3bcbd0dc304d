#include "base/dist.h"

#include "base/procstat.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef RLC_HAVE_MPI
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#endif

static int g_on, g_rank, g_world = 1;
static uint64_t g_bytes;
static double g_seconds;

int rlc_dist_built(void) {
#ifdef RLC_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && v[0];
}

int rlc_dist_launched(void) {
    return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMI_SIZE") || env_set("PMIX_RANK") ||
           (env_set("SLURM_PROCID") && env_set("SLURM_NTASKS"));
}

#ifdef RLC_HAVE_MPI
/* The watchdog: a rank that waits in one MPI call longer than
 * RLC_DIST_TIMEOUT seconds (another rank hangs, or died without the launcher
 * noticing) says so and kills itself with SIGKILL; the launcher then ends the
 * job (Open MPI's mpirun kills the other ranks). */
static _Atomic long long g_wait_since_ms; /* 0: not inside an MPI call */
static _Atomic(const char *) g_wait_what;
static long long g_timeout_ms;

static long long now_ms(void) {
    return (long long)(rlc_clock_seconds(CLOCK_MONOTONIC) * 1000);
}

static void *watchdog(void *arg) {
    (void)arg;
    for (;;) {
        sleep(1);
        long long since = atomic_load(&g_wait_since_ms);
        if (since && now_ms() - since > g_timeout_ms) {
            fprintf(stderr,
                    "rlc: MPI rank %d of %d waited %lld s in %s for the other ranks "
                    "(RLC_DIST_TIMEOUT=%lld): one hangs or died; ending this rank so the job "
                    "stops (rerun the same command to resume from the last checkpoint)\n",
                    g_rank, g_world, (now_ms() - since) / 1000, atomic_load(&g_wait_what),
                    g_timeout_ms / 1000);
            fflush(stderr);
            kill(getpid(), SIGKILL);
        }
    }
    return NULL;
}

static void start_watchdog(void) {
    const char *e = getenv("RLC_DIST_TIMEOUT");
    long long secs = e && e[0] ? atoll(e) : RLC_DIST_TIMEOUT_DEFAULT;
    if (secs <= 0 || g_world < 2) return;
    g_timeout_ms = secs * 1000;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &a, watchdog, NULL);
    pthread_attr_destroy(&a);
}
#endif

rlc_status rlc_dist_init(int *argc, char ***argv) {
    if (g_on || !rlc_dist_launched()) return RLC_OK;
#ifdef RLC_HAVE_MPI
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init(argc, argv) != MPI_SUCCESS)
        return rlc_errorf(RLC_ERR_IO, "MPI_Init failed (started by a launcher: mpirun/srun)");
    g_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_world);
    start_watchdog();
    return RLC_OK;
#else
    (void)argc, (void)argv;
    /* one rank of several cannot train alone: a world of one is harmless */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (!n) n = getenv("SLURM_NTASKS");
    if (n && atoi(n) <= 1) return RLC_OK;
    return rlc_errorf(RLC_ERR_UNSUPPORTED,
                      "started by an MPI launcher, but this rlc was built without MPI (install "
                      "libopenmpi-dev and rebuild, or run it without mpirun/srun)");
#endif
}

void rlc_dist_finalize(int failed) {
    if (!g_on) return;
#ifdef RLC_HAVE_MPI
    if (failed && g_world > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Finalize();
#endif
    (void)failed;
    g_on = 0, g_rank = 0, g_world = 1;
}

int rlc_dist_rank(void) {
    return g_rank;
}

int rlc_dist_world(void) {
    return g_world;
}

uint64_t rlc_dist_bytes(void) {
    return g_bytes;
}

double rlc_dist_seconds(void) {
    return g_seconds;
}

#ifdef RLC_HAVE_MPI
/* Wall time inside MPI calls (a rank that waits for a slower one counts the wait). */
#define TIMED(what, call)                                                                          \
    ({                                                                                             \
        double t0_ = MPI_Wtime();                                                                  \
        atomic_store(&g_wait_what, what);                                                          \
        atomic_store(&g_wait_since_ms, now_ms());                                                  \
        int r_ = (call);                                                                           \
        atomic_store(&g_wait_since_ms, 0);                                                         \
        g_seconds += MPI_Wtime() - t0_;                                                            \
        r_;                                                                                        \
    })

/* MPI counts are ints: large buffers go in pieces of at most this many bytes. */
#define PIECE ((size_t)1 << 30)

static rlc_status mpi_failed(const char *what) {
    return rlc_errorf(RLC_ERR_IO, "MPI: %s failed (rank %d of %d)", what, g_rank, g_world);
}

/* One MPI byte transfer of k <= PIECE bytes at buf with rank `peer` (the
 * root for a broadcast); MPI_SUCCESS or its error. */
enum xfer { XFER_SEND, XFER_RECV, XFER_BCAST };
static const char *const xfer_name[] = {"MPI_Send", "MPI_Recv", "MPI_Bcast"};

static int xfer_piece(enum xfer how, char *buf, int k, int peer) {
    switch (how) {
    case XFER_SEND:
        return MPI_Send(buf, k, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
    case XFER_RECV:
        return MPI_Recv(buf, k, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    default:
        return MPI_Bcast(buf, k, MPI_BYTE, peer, MPI_COMM_WORLD);
    }
}

/* n bytes in pieces of at most PIECE (MPI counts are ints), each timed. */
static rlc_status xfer_bytes(enum xfer how, void *buf, size_t n, int peer) {
    for (size_t o = 0; o < n; o += PIECE) {
        int k = (int)(n - o < PIECE ? n - o : PIECE);
        if (TIMED(xfer_name[how], xfer_piece(how, (char *)buf + o, k, peer)) != MPI_SUCCESS)
            return mpi_failed(xfer_name[how]);
    }
    return RLC_OK;
}

static rlc_status send_bytes(const void *buf, size_t n, int to) {
    RLC_TRY(xfer_bytes(XFER_SEND, (void *)(uintptr_t)buf, n, to));
    g_bytes += n;
    return RLC_OK;
}

static rlc_status recv_bytes(void *buf, size_t n, int from) {
    RLC_TRY(xfer_bytes(XFER_RECV, buf, n, from));
    g_bytes += n;
    return RLC_OK;
}

static rlc_status bcast_bytes(void *buf, size_t n) {
    RLC_TRY(xfer_bytes(XFER_BCAST, buf, n, 0));
    g_bytes += g_rank == 0 ? n * (uint64_t)(g_world - 1) : n;
    return RLC_OK;
}
#endif

rlc_status rlc_dist_barrier(void) {
#ifdef RLC_HAVE_MPI
    if (g_on && TIMED("MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD)) != MPI_SUCCESS)
        return mpi_failed("MPI_Barrier");
#endif
    return RLC_OK;
}

rlc_status rlc_dist_max_int(int v, int *out) {
    *out = v;
#ifdef RLC_HAVE_MPI
    if (g_on && g_world > 1) {
        if (TIMED("MPI_Allreduce", MPI_Allreduce(&v, out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD)) !=
            MPI_SUCCESS)
            return mpi_failed("MPI_Allreduce");
        g_bytes += 2 * sizeof v;
    }
#endif
    return RLC_OK;
}

rlc_status rlc_dist_allgather(void *buf, size_t block) {
    if (g_world == 1 || block == 0) return RLC_OK;
#ifdef RLC_HAVE_MPI
    if (block > INT_MAX)
        return rlc_errorf(RLC_ERR_UNSUPPORTED, "MPI: an all-gather block of %zu bytes (over %d)",
                          block, INT_MAX);
    if (TIMED("MPI_Allgather", MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, (int)block,
                                             MPI_BYTE, MPI_COMM_WORLD)) != MPI_SUCCESS)
        return mpi_failed("MPI_Allgather");
    g_bytes += 2 * block * (uint64_t)(g_world - 1);
#endif
    (void)buf;
    return RLC_OK;
}

rlc_status rlc_dist_shards_plan(int shards, int batch, rlc_dist_shards *out) {
    if (shards < 1) shards = 1;
    if (shards % g_world)
        return rlc_errorf(RLC_ERR_INVALID,
                          "training.shards=%d is not a multiple of the %d MPI ranks (each rank "
                          "takes the same number of shards)",
                          shards, g_world);
    if (batch % shards)
        return rlc_errorf(RLC_ERR_INVALID,
                          "training.batch_size=%d is not a multiple of %d shards (one per MPI "
                          "rank unless training.shards says otherwise)",
                          batch, shards);
    out->shards = shards, out->n_local = shards / g_world, out->first = g_rank * out->n_local;
    return RLC_OK;
}

rlc_status rlc_dist_sum_init(rlc_dist_sum *s, size_t n, int n_local) {
    memset(s, 0, sizeof *s);
    if (n_local < 1) return rlc_errorf(RLC_ERR_INVALID, "dist: %d shards on a rank", n_local);
    s->n = n, s->n_local = n_local;
    if (g_rank == 0) {
        s->total = malloc((n ? n : 1) * sizeof(float));
        if (!s->total) return RLC_ERR_NOMEM;
    } else if (n_local > 1) { /* one shard is sent straight from the caller's vector */
        s->stash = malloc((n ? n : 1) * (size_t)(n_local - 1) * sizeof(float));
        if (!s->stash) return RLC_ERR_NOMEM;
    }
    return RLC_OK;
}

void rlc_dist_sum_free(rlc_dist_sum *s) {
    if (!s) return;
    free(s->total);
    free(s->stash);
    memset(s, 0, sizeof *s);
}

/* total += v, element by element (the same IEEE sum on every machine). */
static void add_into(float *restrict total, const float *restrict v, size_t n) {
    for (size_t i = 0; i < n; i++)
        total[i] += v[i];
}

rlc_status rlc_dist_sum_add(rlc_dist_sum *s, const float *v) {
    if (s->added >= s->n_local)
        return rlc_errorf(RLC_ERR_INTERNAL, "dist: shard %d added of %d", s->added + 1, s->n_local);
    if (g_rank == 0) {
        if (s->added == 0)
            memcpy(s->total, v, s->n * sizeof(float));
        else
            add_into(s->total, v, s->n);
    } else if (s->added < s->n_local - 1) {
        memcpy(s->stash + (size_t)s->added * s->n, v, s->n * sizeof(float));
    } else {
#ifdef RLC_HAVE_MPI
        /* the last one is still the caller's: send the stashed ones, then it */
        for (int k = 0; k < s->n_local - 1; k++)
            RLC_TRY(send_bytes(s->stash + (size_t)k * s->n, s->n * sizeof(float), 0));
        RLC_TRY(send_bytes(v, s->n * sizeof(float), 0));
#endif
    }
    s->added++;
    return RLC_OK;
}

rlc_status rlc_dist_sum_finish(rlc_dist_sum *s, float *out) {
    if (s->added != s->n_local)
        return rlc_errorf(RLC_ERR_INTERNAL, "dist: %d of %d shards added", s->added, s->n_local);
    s->added = 0;
#ifdef RLC_HAVE_MPI
    if (g_world > 1 && g_rank == 0) {
        /* out is free until the broadcast: it receives each other shard */
        for (int r = 1; r < g_world; r++)
            for (int k = 0; k < s->n_local; k++) {
                RLC_TRY(recv_bytes(out, s->n * sizeof(float), r));
                add_into(s->total, out, s->n);
            }
    }
#endif
    if (g_rank == 0) memcpy(out, s->total, s->n * sizeof(float));
#ifdef RLC_HAVE_MPI
    if (g_world > 1) RLC_TRY(bcast_bytes(out, s->n * sizeof(float)));
#endif
    return RLC_OK;
}
