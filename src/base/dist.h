/* Data parallelism over MPI ranks: the one module that calls MPI. Built with
 * MPI when the Makefile finds Open MPI (RLC_HAVE_MPI), else every call is the
 * one-process case. MPI starts only when a launcher started this process
 * (mpirun, srun: rlc_dist_init); a plain run is one rank of a world of one.
 *
 * Everything here is deterministic: sums run in a fixed shard order whatever
 * order messages arrive in, so N ranks give the bits one process gives when it
 * runs the same shards one after another. */
#ifndef RLC_BASE_DIST_H
#define RLC_BASE_DIST_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>

/* 1 when this binary was built with MPI. */
int rlc_dist_built(void);
/* 1 when the environment says a launcher started this process: Open MPI
 * (OMPI_COMM_WORLD_SIZE), PMI (PMI_SIZE), PMIx (PMIX_RANK) or Slurm
 * (SLURM_PROCID with SLURM_NTASKS). */
int rlc_dist_launched(void);
/* Starts MPI when launched (and built with it); otherwise, and when already
 * started, does nothing. A launched process in a binary without MPI fails
 * with a one-line error (it would train alone while believing it is one of
 * several). */
rlc_status rlc_dist_init(int *argc, char ***argv);
/* Seconds a rank may wait in one MPI call before it gives up (the
 * environment's RLC_DIST_TIMEOUT overrides it; 0 = wait for ever): then it
 * prints why and kills itself, and the launcher ends the job. Long enough for
 * rank 0 to write a checkpoint while the others wait. */
#define RLC_DIST_TIMEOUT_DEFAULT 600
/* Ends MPI (no-op when not started). failed: the process is leaving with an
 * error the other ranks may not share, so the whole job is aborted
 * (MPI_Abort) instead of leaving them waiting in a collective. */
void rlc_dist_finalize(int failed);

int rlc_dist_rank(void);  /* 0 when not started */
int rlc_dist_world(void); /* 1 when not started */

/* A batch of `batch` items cut into shards (< 2: one shard): this rank takes
 * n_local of them from `first`. */
typedef struct rlc_dist_shards {
    int shards, first, n_local;
} rlc_dist_shards;
/* INVALID, naming training.shards and training.batch_size (the config keys
 * they come from), unless the ranks divide the shards and the shards the
 * batch. */
rlc_status rlc_dist_shards_plan(int shards, int batch, rlc_dist_shards *out);

/* Waits for every rank. */
rlc_status rlc_dist_barrier(void);
/* The largest v of all ranks (a stop signal seen by any rank stops all). */
rlc_status rlc_dist_max_int(int v, int *out);
/* In-place all-gather: buf holds world blocks of `block` bytes; rank r's
 * block r is sent to every rank, and every block is received. */
rlc_status rlc_dist_allgather(void *buf, size_t block);

/* Ordered sum of per-shard vectors (gradients, partial sums): shard k's
 * vector joins the sum in shard order, ((s0 + s1) + s2) + ..., on rank 0,
 * which then sends the total to every rank. Each rank adds its own shards,
 * in order; the shards of rank r come before those of rank r+1. */
typedef struct rlc_dist_sum {
    size_t n;     /* floats per vector */
    int n_local;  /* shards of this rank */
    int added;    /* shards added this round */
    float *total; /* [n] rank 0 (and a world of one): the running sum */
    float *stash; /* [n_local, n] other ranks: their shards until finish */
} rlc_dist_sum;

rlc_status rlc_dist_sum_init(rlc_dist_sum *s, size_t n, int n_local);
void rlc_dist_sum_free(rlc_dist_sum *s);
/* Adds this rank's next shard vector v[n]. */
rlc_status rlc_dist_sum_add(rlc_dist_sum *s, const float *v);
/* After every local shard was added: out[n] = the sum over all shards, on
 * every rank; the next round starts empty. */
rlc_status rlc_dist_sum_finish(rlc_dist_sum *s, float *out);

/* Bytes this rank sent and received through this module so far (a
 * broadcast counts its payload once per receiving rank on the root). */
uint64_t rlc_dist_bytes(void);
/* Wall seconds this rank spent inside MPI calls so far: the transfers and the
 * waits for slower ranks. */
double rlc_dist_seconds(void);

#endif
