/* Teams of the CPU backend (src/tensor/cpu_team.c): a decode step's ops run
 * collectively on every thread of one parallel region. Each op gives inside
 * a team the same bits it gives alone, every claimed item is handed out
 * exactly once, solo sections run once, and barriers order the threads'
 * writes. */
#include "base/dtype.h"
#include "tensor/backend.h"
#include "tensor/cpu_kernels.h"
#include "tensor/cpu_team.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float *wave(size_t n, float f, float ph) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = sinf(f * (float)i + ph);
    return p;
}

/* Teams of `threads` for every call while the test runs. */
static int team_on(int threads) {
    int was = omp_get_max_threads();
    omp_set_num_threads(threads);
    rlc_cpu_team_min_work(0);
    return was;
}

static void team_off(int was) {
    omp_set_num_threads(was);
    rlc_cpu_team_min_work((size_t)4 << 20);
}

/* ---- linear ---- */

typedef struct lin_ctx {
    const float *x;
    int N, in, n_out, accumulate, calls;
    rlc_linear_out *o;
    float *scratch;
} lin_ctx;

static atomic_int in_team; /* threads of lin_fn's last run that were in a team */

static void lin_fn(void *v) {
    lin_ctx *c = v;
    if (rlc_cpu_team_tid() >= 0) atomic_fetch_add(&in_team, 1);
    for (int k = 0; k < c->calls; k++) /* accumulate: every call adds once more */
        rlc_backend_cpu()->linear(c->x, c->N, c->in, c->o, c->n_out, 0.5f, c->accumulate,
                                  c->scratch);
}

/* y from `calls` linear calls with two fused outputs (dtypes d0, d1: 0 F32,
 * 1 BF16), in a team of 2 (team) or alone on one thread. */
static void lin_run(int team, const float *x, int N, int in, const rlc_wmat *W, const int *outs,
                    int accumulate, int calls, float **y, float *scratch) {
    rlc_linear_out o[2];
    for (int j = 0; j < 2; j++) {
        for (size_t i = 0; i < (size_t)N * outs[j]; i++) /* y's prior content, or NaN */
            y[j][i] = accumulate ? 0.25f * (float)(i % 7) : NAN;
        o[j] = (rlc_linear_out){y[j], W[j], outs[j]};
    }
    lin_ctx c = {x, N, in, 2, accumulate, calls, o, scratch};
    atomic_store(&in_team, 0);
    if (team) {
        int was = team_on(2);
        rlc_cpu_team_run(lin_fn, &c, 0);
        team_off(was);
        cr_assert_eq(atomic_load(&in_team), 2, "a team of 2 ran %d", atomic_load(&in_team));
    } else {
        int was = omp_get_max_threads();
        omp_set_num_threads(1);
        lin_fn(&c);
        omp_set_num_threads(was);
    }
}

/* Streamed rows (1..8, the x rows rounded on each thread's stack or, past
 * 16384 elements, once for the team), the panel rows a team's master runs
 * alone (9), F32, BF16 and mixed fused outputs, accumulate, row counts
 * around the chunks' sizes, with every kernel choice: the same bits in a
 * team as alone. */
Test(team, linear_same_bits_as_alone, .timeout = 120) {
    static const rlc_cpu_isa isas[] = {RLC_CPU_AVX512_BF16, RLC_CPU_AVX512, RLC_CPU_GENERIC};
    static const int Ns[] = {1, 3, 8, 9}, ins[] = {33, 576, 2100};
    static const int dts[3][2] = {{0, 0}, {1, 1}, {0, 1}};
    int outs[2] = {47, 1003};
    float *scratch = malloc(RLC_LINEAR_SCRATCH * sizeof(float));
    cr_assert_not_null(scratch);
    for (size_t a = 0; a < sizeof isas / sizeof *isas; a++) {
        rlc_cpu_isa was = rlc_cpu_isa_set(isas[a]);
        for (size_t b = 0; b < sizeof ins / sizeof *ins; b++)
            for (int d = 0; d < 3; d++) {
                int in = ins[b];
                float *wf[2];
                uint16_t *wb[2];
                rlc_wmat W[2];
                for (int j = 0; j < 2; j++) {
                    size_t n = (size_t)outs[j] * in;
                    wf[j] = wave(n, 0.013f * (float)(j + 1), (float)d);
                    wb[j] = malloc(n * sizeof(uint16_t));
                    for (size_t i = 0; i < n; i++)
                        wb[j][i] = rlc_f32_to_bf16(wf[j][i]);
                    W[j] = dts[d][j] ? (rlc_wmat){NULL, wb[j]} : (rlc_wmat){wf[j], NULL};
                }
                for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
                    for (int acc = 0; acc < 2; acc++) {
                        int N = Ns[n];
                        float *x = wave((size_t)N * in, 0.7f, 0.1f), *y[2][2];
                        for (int t = 0; t < 2; t++)
                            for (int j = 0; j < 2; j++)
                                y[t][j] = malloc((size_t)N * outs[j] * sizeof(float));
                        lin_run(0, x, N, in, W, outs, acc, 1 + acc, y[0], scratch);
                        lin_run(1, x, N, in, W, outs, acc, 1 + acc, y[1], scratch);
                        for (int j = 0; j < 2; j++)
                            for (size_t i = 0; i < (size_t)N * outs[j]; i++)
                                cr_assert(y[0][j][i] == y[1][j][i],
                                          "isa %d N=%d in=%d dtypes %d/%d acc %d output %d "
                                          "[%zu]: alone %.9g, team %.9g",
                                          (int)isas[a], N, in, dts[d][0], dts[d][1], acc, j, i,
                                          y[0][j][i], y[1][j][i]);
                        for (int t = 0; t < 2; t++)
                            for (int j = 0; j < 2; j++)
                                free(y[t][j]);
                        free(x);
                    }
                for (int j = 0; j < 2; j++)
                    free(wf[j]), free(wb[j]);
            }
        rlc_cpu_isa_set(was);
    }
    free(scratch);
}

/* ---- decode attention ---- */

typedef struct att_ctx {
    float *out, *sc;
    const float *q;
    const uint16_t *kb, *vb;
    const float *kf, *vf;
    const int *len, *slot;
    int S, MT, HQ, HKV, D, bf16;
} att_ctx;

static void att_fn(void *v) {
    att_ctx *c = v;
    const rlc_backend *be = rlc_backend_cpu();
    if (c->bf16)
        be->attention_decode_bf16(c->out, c->sc, c->q, c->kb, c->vb, c->len, c->slot, c->S, c->MT,
                                  c->HQ, c->HKV, c->D);
    else
        be->attention_decode(c->out, c->sc, c->q, c->kf, c->vf, c->len, c->slot, c->S, c->MT, c->HQ,
                             c->HKV, c->D);
}

/* Sequence counts that take the per-head and the grouped tasks, an empty
 * sequence, F32 and BF16 caches, both kernel choices. */
Test(team, attention_decode_same_bits_as_alone) {
    enum { SMAX = 12, MT = 29, HQ = 6, HKV = 2 };
    static const int Ss[] = {1, 3, 12}, Ds[] = {16, 64};
    static const rlc_cpu_isa isas[] = {RLC_CPU_AVX512, RLC_CPU_GENERIC};
    for (size_t di = 0; di < 2; di++) {
        int D = Ds[di];
        size_t nc = (size_t)SMAX * MT * HKV * D, nq = (size_t)SMAX * HQ * D;
        float *kf = wave(nc, 0.37f, 0.0f), *vf = wave(nc, 0.11f, 0.5f), *q = wave(nq, 0.7f, 1.0f);
        uint16_t *kb = malloc(nc * sizeof(uint16_t)), *vb = malloc(nc * sizeof(uint16_t));
        for (size_t i = 0; i < nc; i++)
            kb[i] = rlc_f32_to_bf16(kf[i]), vb[i] = rlc_f32_to_bf16(vf[i]);
        float *o[2], *sc = malloc((size_t)SMAX * HQ * MT * sizeof(float));
        for (int t = 0; t < 2; t++)
            o[t] = malloc(nq * sizeof(float));
        int len[SMAX], slot[SMAX];
        for (int s = 0; s < SMAX; s++)
            len[s] = s == 1 ? 0 : 1 + (s * 7) % MT, slot[s] = (s * 5) % SMAX;
        for (size_t a = 0; a < 2; a++)
            for (size_t si = 0; si < 3; si++)
                for (int bf = 0; bf < 2; bf++) {
                    rlc_cpu_isa was = rlc_cpu_isa_set(isas[a]);
                    att_ctx c = {NULL, sc,     q,  kb, vb,  kf, vf, len,
                                 slot, Ss[si], MT, HQ, HKV, D,  bf};
                    for (int t = 0; t < 2; t++) {
                        c.out = o[t];
                        for (size_t i = 0; i < nq; i++)
                            o[t][i] = NAN;
                        if (t) {
                            int w = team_on(2);
                            rlc_cpu_team_run(att_fn, &c, 0);
                            team_off(w);
                        } else {
                            att_fn(&c);
                        }
                    }
                    rlc_cpu_isa_set(was);
                    for (size_t i = 0; i < (size_t)Ss[si] * HQ * D; i++)
                        cr_assert(o[0][i] == o[1][i],
                                  "D=%d S=%d bf16 %d isa %d [%zu]: alone %.9g, team %.9g", D,
                                  Ss[si], bf, (int)isas[a], i, o[0][i], o[1][i]);
                }
        free(kf), free(vf), free(q), free(kb), free(vb), free(sc), free(o[0]), free(o[1]);
    }
}

/* ---- claims, solo sections, barriers ---- */

enum { ITEMS_MAX = 5000, ROUNDS = 300 };
static atomic_int taken[ITEMS_MAX];
static atomic_int solo_runs, bad_order;
static int stage[64];

static void claim_fn(void *v) {
    (void)v;
    int tid = rlc_cpu_team_tid() < 0 ? 0 : rlc_cpu_team_tid(), nt = rlc_cpu_team_size();
    for (int r = 0; r < ROUNDS; r++) {
        long n = (r * 7919L) % ITEMS_MAX; /* 0 items too */
        rlc_cpu_claim c;
        rlc_cpu_team_claim_begin(&c, n);
        for (long i; (i = rlc_cpu_team_claim_next(&c)) >= 0;) {
            if (c.count < 1 || i + c.count > n) atomic_fetch_add(&bad_order, 1);
            for (long k = i; k < i + c.count; k++)
                atomic_fetch_add(&taken[k], 1);
        }
        rlc_cpu_team_sync(); /* as every op ends */
        if (rlc_cpu_team_solo_begin()) {
            atomic_fetch_add(&solo_runs, 1);
            for (long k = 0; k < n; k++) /* every claim of the round is done */
                if (atomic_exchange(&taken[k], 0) != 1) atomic_fetch_add(&bad_order, 1);
            for (long k = n; k < ITEMS_MAX; k++)
                if (atomic_load(&taken[k])) atomic_fetch_add(&bad_order, 1);
        }
        rlc_cpu_team_solo_end();
        /* a barrier orders plain writes: each thread sees the others' round */
        stage[tid] = r;
        rlc_cpu_team_sync();
        for (int t = 0; t < nt; t++)
            if (stage[t] != r) atomic_fetch_add(&bad_order, 1);
        rlc_cpu_team_sync();
    }
}

Test(team, claims_once_solo_once_barriers_order) {
    for (int threads = 1; threads <= 3; threads++) {
        atomic_store(&solo_runs, 0);
        atomic_store(&bad_order, 0);
        int was = team_on(threads);
        rlc_cpu_team_run(claim_fn, NULL, 0);
        team_off(was);
        cr_expect_eq(atomic_load(&solo_runs), ROUNDS, "%d threads: %d solo runs", threads,
                     atomic_load(&solo_runs));
        cr_expect_eq(atomic_load(&bad_order), 0, "%d threads: %d items or stages out of order",
                     threads, atomic_load(&bad_order));
    }
}

/* Outside a team (one thread, or too little work) fn runs once, on the
 * caller, with ops unshared. */
static atomic_int runs;
static void count_fn(void *v) {
    (void)v;
    cr_assert_eq(rlc_cpu_team_tid(), -1);
    cr_assert_eq(rlc_cpu_team_solo_begin(), 1);
    rlc_cpu_team_solo_end();
    atomic_fetch_add(&runs, 1);
}

Test(team, no_team_below_min_work_or_one_thread) {
    int was = omp_get_max_threads();
    omp_set_num_threads(2);
    atomic_store(&runs, 0);
    rlc_cpu_team_run(count_fn, NULL, 1000); /* below the default minimum */
    omp_set_num_threads(1);
    rlc_cpu_team_min_work(0);
    rlc_cpu_team_run(count_fn, NULL, 1000);
    team_off(was);
    cr_expect_eq(atomic_load(&runs), 2);
}
