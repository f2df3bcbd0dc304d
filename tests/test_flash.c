/* Attention that keeps no [T, T] probabilities, and activation checkpointing.
 *
 * Kernels: the CPU backend's attention_forward (out, per-row logsumexp) and
 * attention_backward (dq, dk, dv rebuilt block by block from q, k, lse, out)
 * against the reference backend and against PyTorch autograd in float64
 * (tests/ref/attention_ref.py) at T not a multiple of RLC_ATTN_BLOCK, GQA
 * (Hq=4, Hkv=2), D = 8, 64, 128, to 2e-5 relative or 2e-6 absolute (an lse
 * off by 1e-4 fails); bit for bit the same run to run, for 1, 2 and 3
 * threads and for any scratch size.
 * Model: log-probs and every gradient against the PyTorch reference
 * (tests/ref/llama_ref.py, tolerance of test_model.c) with checkpointing off
 * and on; on equals off bit for bit (same kernels on the same inputs), and
 * so do repeated runs and other thread counts. Arena: checkpointing saves
 * exactly L-1 layers' slices and the plan grows linearly in T (no T x T). */
#include "helpers.h"

#include "model/model.h"
#include "tensor/backend.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(flash, .timeout = 240);

#define ATOL 1e-5
#define RTOL 1e-4
/* kernels alone: float32 sums over at most T * D terms */
#define KATOL 2e-6
#define KRTOL 2e-5

static float *frand(size_t n, float scale, unsigned seed) {
    float *x = malloc(n * sizeof(float));
    cr_assert_not_null(x);
    unsigned s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = scale * ((float)(s >> 8) / 16777216.0f * 2.0f - 1.0f);
    }
    return x;
}

/* n floats of NaN: a kernel that reads an output or its scratch before
 * writing it shows. */
static float *nans(size_t n) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

static void expect_same(const char *what, const float *a, const float *b, size_t n) {
    cr_expect_eq(memcmp(a, b, n * sizeof(float)), 0, "%s: not bit-identical", what);
}

/* ---- kernels ---- */

typedef struct attn_case {
    int B, T, Hq, Hkv, D;
    size_t nq, nk, nl;
    float *q, *k, *v, *dout;
} attn_case;

typedef struct attn_res {
    float *out, *lse, *dq, *dk, *dv;
} attn_res;

static attn_case attn_make(int B, int T, int Hq, int Hkv, int D, unsigned seed) {
    attn_case c = {B, T, Hq, Hkv, D, 0, 0, 0, NULL, NULL, NULL, NULL};
    c.nq = (size_t)B * T * Hq * D, c.nk = (size_t)B * T * Hkv * D, c.nl = (size_t)B * Hq * T;
    c.q = frand(c.nq, 1.5f, seed), c.k = frand(c.nk, 1.5f, seed + 1);
    c.v = frand(c.nk, 1.0f, seed + 2), c.dout = frand(c.nq, 1.0f, seed + 3);
    return c;
}

static void attn_case_free(attn_case *c) {
    free(c->q), free(c->k), free(c->v), free(c->dout);
}

static void attn_res_free(attn_res *r) {
    free(r->out), free(r->lse), free(r->dq), free(r->dk), free(r->dv);
}

/* Forward then backward on be with scratch for `workers` workers. */
static attn_res attn_run(const rlc_backend *be, const attn_case *c, int workers) {
    attn_res r = {nans(c->nq), nans(c->nl), nans(c->nq), nans(c->nk), nans(c->nk)};
    size_t ns = rlc_attention_scratch_floats(c->T, workers);
    float *sc = nans(ns);
    be->attention_forward(r.out, r.lse, sc, ns, c->q, c->k, c->v, c->B, c->T, c->Hq, c->Hkv, c->D);
    be->attention_backward(r.dq, r.dk, r.dv, sc, ns, c->dout, r.out, r.lse, c->q, c->k, c->v, c->B,
                           c->T, c->Hq, c->Hkv, c->D);
    free(sc);
    return r;
}

static void write_f32(const char *dir, const char *name, const float *x, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(x, sizeof(float), n, f), n);
    fclose(f);
}

static float *read_f32(const char *dir, const char *name, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    float *x = malloc(n * sizeof(float) + 1);
    cr_assert_not_null(x);
    cr_assert_eq(fread(x, sizeof(float), n, f), n, "%s: short", path);
    cr_assert_eq(fgetc(f), EOF, "%s: longer than %zu floats", path, n);
    fclose(f);
    return x;
}

/* PyTorch's results for the case (float64 autograd, stored as f32). */
static attn_res attn_torch(const attn_case *c) {
    char dir[256], args[512];
    th_tmpdir(dir, sizeof dir);
    cr_assert(dir[0], "mkdtemp failed");
    write_f32(dir, "q", c->q, c->nq);
    write_f32(dir, "k", c->k, c->nk);
    write_f32(dir, "v", c->v, c->nk);
    write_f32(dir, "dout", c->dout, c->nq);
    snprintf(args, sizeof args, "%s %d %d %d %d %d", dir, c->B, c->T, c->Hq, c->Hkv, c->D);
    cr_assert_eq(th_python("attention_ref.py", args), 0, "attention_ref.py %s failed", args);
    attn_res r = {read_f32(dir, "out", c->nq), read_f32(dir, "lse", c->nl),
                  read_f32(dir, "dq", c->nq), read_f32(dir, "dk", c->nk),
                  read_f32(dir, "dv", c->nk)};
    th_rmdir(dir);
    return r;
}

static void expect_res_close(const char *who, const attn_res *got, const attn_res *want,
                             const attn_case *c) {
    const char *names[5] = {"out", "lse", "dq", "dk", "dv"};
    const float *g[5] = {got->out, got->lse, got->dq, got->dk, got->dv};
    const float *w[5] = {want->out, want->lse, want->dq, want->dk, want->dv};
    size_t n[5] = {c->nq, c->nl, c->nq, c->nk, c->nk};
    for (int i = 0; i < 5; i++) {
        char what[128];
        snprintf(what, sizeof what, "%s %s (T=%d D=%d)", who, names[i], c->T, c->D);
        th_expect_close(what, g[i], w[i], n[i], KATOL, KRTOL);
    }
}

static void expect_res_same(const char *who, const attn_res *a, const attn_res *b,
                            const attn_case *c) {
    char what[128];
    snprintf(what, sizeof what, "%s out", who), expect_same(what, a->out, b->out, c->nq);
    snprintf(what, sizeof what, "%s lse", who), expect_same(what, a->lse, b->lse, c->nl);
    snprintf(what, sizeof what, "%s dq", who), expect_same(what, a->dq, b->dq, c->nq);
    snprintf(what, sizeof what, "%s dk", who), expect_same(what, a->dk, b->dk, c->nk);
    snprintf(what, sizeof what, "%s dv", who), expect_same(what, a->dv, b->dv, c->nk);
}

/* CPU and reference backends against PyTorch, and against each other. */
static void check_kernels(int B, int T, int Hq, int Hkv, int D, unsigned seed) {
    attn_case c = attn_make(B, T, Hq, Hkv, D, seed);
    attn_res cpu = attn_run(rlc_backend_cpu(), &c, omp_get_max_threads());
    attn_res one = attn_run(rlc_backend_cpu(), &c, 1);
    attn_res ref = attn_run(rlc_backend_ref(), &c, 1);
    attn_res pt = attn_torch(&c);
    expect_res_close("cpu vs torch", &cpu, &pt, &c);
    expect_res_close("ref vs torch", &ref, &pt, &c);
    expect_res_close("cpu vs ref", &cpu, &ref, &c);
    expect_res_same("cpu: 1 worker vs all", &one, &cpu, &c);
    /* the check can fail: a wrong lse moves every row of out */
    cr_assert_gt(fabs(pt.lse[c.nl - 1]), 1e-3);
    attn_res_free(&cpu), attn_res_free(&one), attn_res_free(&ref), attn_res_free(&pt);
    attn_case_free(&c);
}

Test(flash, kernels_vs_torch_gqa_d8_t45) {
    check_kernels(2, 45, 4, 2, 8, 1);
}

Test(flash, kernels_vs_torch_gqa_d64_t70) {
    check_kernels(1, 70, 4, 2, 64, 2);
}

Test(flash, kernels_vs_torch_gqa_d128_t37) {
    check_kernels(2, 37, 4, 2, 128, 3);
}

Test(flash, kernels_vs_torch_mha_single_row_block_t5) {
    check_kernels(3, 5, 2, 2, 64, 4);
}

/* The same bits for any thread count, any scratch size, run after run. */
Test(flash, kernels_bit_identical_across_threads_and_runs) {
    attn_case c = attn_make(3, 77, 4, 2, 64, 9);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    attn_res base = attn_run(rlc_backend_cpu(), &c, 1);
    int threads[3] = {1, 2, 3}, workers[2] = {1, 8};
    for (int t = 0; t < 3; t++) {
        omp_set_num_threads(threads[t]);
        for (int w = 0; w < 2; w++) {
            char who[64];
            snprintf(who, sizeof who, "%d threads, %d workers", threads[t], workers[w]);
            attn_res r = attn_run(rlc_backend_cpu(), &c, workers[w]);
            expect_res_same(who, &r, &base, &c);
            attn_res_free(&r);
        }
    }
    omp_set_num_threads(saved);
    attn_res_free(&base);
    attn_case_free(&c);
}

/* ---- model: checkpointing off and on against PyTorch ---- */

typedef struct pass_out {
    float loss;
    float *logp, *grads;
    size_t n_grads, bytes;
} pass_out;

/* Mean cross-entropy forward + backward on a freshly loaded model with
 * checkpointing on or off; log-probs, loss and every named gradient are
 * checked against PyTorch here. */
static pass_out ce_pass(th_ref_case *rc, int lora, int ckpt) {
    rlc_model *m = th_ref_case_model(rc, lora);
    float *p, *g;
    size_t ng;
    cr_assert_eq(rlc_model_trainable(m, &p, &g, &ng), RLC_OK);
    int N = rc->B * rc->T, V = rc->V;
    rlc_acts *a;
    rlc_acts_opts opts = {.chunk = 0, .checkpoint = ckpt};
    cr_assert_eq(rlc_acts_new_opts(m, rc->B, rc->T, &opts, &a), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_acts_checkpointing(a), ckpt);
    pass_out o = {0};
    o.logp = malloc(sizeof(float) * N);
    float *dlogp = malloc(sizeof(float) * N), *want = malloc(sizeof(float) * N);
    cr_assert(o.logp && dlogp && want);
    rlc_model_zero_grad(m);
    cr_assert_eq(rlc_model_forward(m, a, rc->ids, rc->targets, rc->B, rc->T, o.logp), RLC_OK, "%s",
                 rlc_last_error());
    o.loss = th_mean_ce(rc->targets, N, o.logp, dlogp);
    cr_assert_eq(rlc_model_backward(m, a, dlogp), RLC_OK, "%s", rlc_last_error());
    o.n_grads = ng;
    o.grads = malloc(sizeof(float) * ng);
    memcpy(o.grads, g, sizeof(float) * ng);
    o.bytes = rlc_acts_bytes(a);
    /* PyTorch: log-probs from its float64 logits (stored as f32), loss, gradients */
    const float *rl = th_ref_f32(rc, "logits", (size_t)N * V);
    for (int i = 0; i < N; i++) {
        const float *row = rl + (size_t)i * V;
        double mx = row[0], z = 0;
        for (int v = 1; v < V; v++)
            mx = row[v] > mx ? row[v] : mx;
        for (int v = 0; v < V; v++)
            z += exp(row[v] - mx);
        want[i] = rc->targets[i] >= 0 ? (float)(row[rc->targets[i]] - mx - log(z)) : 0.0f;
    }
    char what[300];
    snprintf(what, sizeof what, "checkpoint %d: logp", ckpt);
    th_expect_close(what, o.logp, want, N, ATOL, RTOL);
    snprintf(what, sizeof what, "checkpoint %d: loss", ckpt);
    th_expect_close(what, &o.loss, th_ref_f32(rc, "loss", 1), 1, ATOL, RTOL);
    snprintf(what, sizeof what, "checkpoint %d", ckpt);
    th_expect_ref_grads(rc, m, lora, what, ATOL, RTOL);
    free(dlogp), free(want);
    rlc_acts_free(a);
    rlc_model_free(m);
    return o;
}

static void expect_pass_same(const char *who, const pass_out *a, const pass_out *b, int N) {
    char what[128];
    snprintf(what, sizeof what, "%s: loss", who), expect_same(what, &a->loss, &b->loss, 1);
    snprintf(what, sizeof what, "%s: logp", who), expect_same(what, a->logp, b->logp, N);
    cr_assert_eq(a->n_grads, b->n_grads);
    snprintf(what, sizeof what, "%s: gradients", who);
    expect_same(what, a->grads, b->grads, a->n_grads);
}

static void pass_free(pass_out *o) {
    free(o->logp), free(o->grads);
}

static void run_model_case(const char *args, int lora) {
    th_ref_case rc;
    th_ref_case_make(&rc, args);
    int N = rc.B * rc.T;
    int saved = omp_get_max_threads();
    pass_out off = ce_pass(&rc, lora, 0);
    pass_out on = ce_pass(&rc, lora, 1);
    pass_out again = ce_pass(&rc, lora, 1);
    omp_set_num_threads(saved == 1 ? 2 : 1);
    pass_out other = ce_pass(&rc, lora, 1);
    omp_set_num_threads(saved);
    expect_pass_same("checkpointing on vs off", &on, &off, N);
    expect_pass_same("checkpointing on, run to run", &again, &on, N);
    expect_pass_same("checkpointing on, other thread count", &other, &on, N);
    cr_expect_lt(on.bytes, off.bytes, "checkpointing: %zu bytes, without %zu", on.bytes, off.bytes);
    pass_free(&off), pass_free(&on), pass_free(&again), pass_free(&other);
    rlc_st_close(rc.ref);
    th_rmdir(rc.dir);
}

/* T = 45 crosses a row block; GQA; full fine-tuning (every weight's gradient). */
Test(flash, model_llama_full_ckpt_on_off_vs_torch) {
    run_model_case("--arch llama --seed 41 --heads 4 --kv-heads 2 --layers 3 --batch 2 --seq 45",
                   0);
}

/* Qwen3 (q/k norm), head_dim 64 != hidden/heads, LoRA on all 7 modules. */
Test(flash, model_qwen3_lora_ckpt_on_off_vs_torch) {
    run_model_case("--arch qwen3 --seed 42 --heads 4 --kv-heads 2 --head-dim 64 --tied 1 "
                   "--batch 2 --seq 37 --lora-rank 4 --lora-alpha 8 "
                   "--lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                   1);
}

/* ---- arena ---- */

static rlc_model_config qwen3_06b(void) {
    rlc_model_config q = rlc_config_default();
    q.vocab_size = 151936, q.hidden_size = 1024, q.intermediate_size = 3072;
    q.num_layers = 28, q.num_heads = 16, q.num_kv_heads = 8, q.head_dim = 128, q.qk_norm = 1;
    return q;
}

static size_t plan(const rlc_model_config *c, int r, int B, int T, int ckpt) {
    rlc_acts_opts o = {.chunk = 0, .checkpoint = ckpt};
    size_t bytes = 0;
    cr_assert_eq(rlc_acts_plan_opts(c, r, B, T, &o, &bytes), RLC_OK, "%s", rlc_last_error());
    return bytes;
}

/* At the Qwen3-0.6B shape with LoRA rank 16 (N a multiple of 16, so no slice
 * rounds): checkpointing drops exactly L-1 layers' slices; the plan is linear
 * in T (no T x T term); a workspace's bytes are its plan. */
Test(flash, arena_checkpointing_and_linear_in_t) {
    rlc_model_config q = qwen3_06b();
    size_t C = q.hidden_size, F = q.intermediate_size, r = 16, Hq = q.num_heads;
    size_t QD = Hq * q.head_dim, KD = (size_t)q.num_kv_heads * q.head_dim, Hkv = q.num_kv_heads;
    /* mid, ln1, ln2, rstd1, rstd2, q, k, v, qpre, kpre, rstdq, rstdk, lse, atty, g, u, h, ax */
    size_t per_row = 3 * C + 2 + QD + 2 * KD + QD + KD + Hq + Hkv + Hq + QD + 3 * F + 7 * r;
    int Bs[3] = {1, 4, 32};
    for (int i = 0; i < 3; i++) {
        size_t N = (size_t)Bs[i] * 384;
        size_t off = plan(&q, 16, Bs[i], 384, 0), on = plan(&q, 16, Bs[i], 384, 1);
        cr_expect_eq(off - on, (size_t)(q.num_layers - 1) * N * per_row * sizeof(float),
                     "B=%d: off %zu on %zu", Bs[i], off, on);
    }
    for (int ck = 0; ck < 2; ck++) {
        size_t a = plan(&q, 16, 1, 384, ck), b = plan(&q, 16, 1, 768, ck);
        size_t c = plan(&q, 16, 1, 1152, ck);
        cr_expect_eq(c - b, b - a, "checkpoint %d: %zu %zu %zu", ck, a, b, c);
    }

    rlc_model_config s = rlc_config_default();
    s.vocab_size = 97, s.bos_token_id = 1, s.eos_token_ids[0] = 2, s.num_eos = 1;
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&s, 3, &m), RLC_OK);
    for (int ck = 0; ck < 2; ck++) {
        rlc_acts *a;
        rlc_acts_opts o = {.chunk = 7, .checkpoint = ck};
        cr_assert_eq(rlc_acts_new_opts(m, 2, 9, &o, &a), RLC_OK);
        size_t bytes = 0;
        cr_assert_eq(rlc_acts_plan_opts(&s, 0, 2, 9, &o, &bytes), RLC_OK);
        cr_expect_eq(rlc_acts_bytes(a), bytes, "checkpoint %d", ck);
        rlc_acts_free(a);
    }
    rlc_model_free(m);
}
