/* Kernel tests: the CPU backend against the reference backend on odd sizes,
 * every backward kernel against central finite differences of its forward,
 * and the identities the model relies on (rope inverse, decode == last row
 * of forward, thread-count independent embedding gradients). */
#include "base/dtype.h"
#include "tensor/backend.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float frand(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

static float *rnd(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * frand();
    return x;
}

static float *dup(const float *x, size_t n) {
    float *y = malloc(n * sizeof(float));
    cr_assert_not_null(y);
    memcpy(y, x, n * sizeof(float));
    return y;
}

static float *zeros(size_t n) {
    float *x = calloc(n, sizeof(float));
    cr_assert_not_null(x);
    return x;
}

/* max|a - b| / max|b|: relative to the tensor's scale, so sums that cancel to
 * near zero do not fail on rounding. NaN anywhere gives infinity. */
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0.0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        double d = fabs((double)a[i] - b[i]);
        if (d > num) num = d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / den;
}

#define ASSERT_CLOSE(a, b, n, tol)                                                                 \
    do {                                                                                           \
        double e_ = rel_err((a), (b), (n));                                                        \
        cr_assert(e_ <= (tol), "%s vs %s: relative error %g > %g", #a, #b, e_, (double)(tol));     \
    } while (0)

#define TOL 1e-5

static const rlc_backend *cpu(void) {
    return rlc_backend_cpu();
}
static const rlc_backend *ref(void) {
    return rlc_backend_ref();
}

/* Central differences of f over every element of x, compared with grad.
 * Returns max|fd - grad| / max|grad|. The step actually taken is measured
 * after rounding to fp32, so it need not be exactly eps. */
typedef double (*objective_fn)(void *ctx);

static double fd_check(float *x, const float *grad, size_t n, objective_fn f, void *ctx,
                       float eps) {
    double num = 0.0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        float xp = save + eps, xm = save - eps;
        x[i] = xp;
        double lp = f(ctx);
        x[i] = xm;
        double lm = f(ctx);
        x[i] = save;
        double fd = (lp - lm) / ((double)xp - xm);
        double d = fabs(fd - grad[i]);
        if (!(d <= num)) num = d; /* also catches NaN */
        if (fabs(grad[i]) > den) den = fabs(grad[i]);
    }
    return num / den;
}

static double wsum(const float *w, const float *x, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)w[i] * x[i];
    return s;
}

#define FD_TOL 1e-2

/* ---- matmul, bias, axpy ----------------------------------------------- */

Test(kernels, matmul_matches_ref_all_transposes) {
    int M = 37, N = 29, K = 70, pad = 3;
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            float *A = rnd((size_t)(ta ? K : M) * lda, 1.0f);
            float *B = rnd((size_t)(tb ? N : K) * ldb, 1.0f);
            float *C0 = rnd((size_t)M * ldc, 1.0f), *C1 = dup(C0, (size_t)M * ldc);
            cpu()->matmul(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C0, ldc);
            ref()->matmul(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C1, ldc);
            ASSERT_CLOSE(C0, C1, (size_t)M * ldc, TOL);
            /* beta = 0 must not read C (it may hold NaN). */
            for (size_t i = 0; i < (size_t)M * ldc; i++)
                C0[i] = C1[i] = NAN;
            cpu()->matmul(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C0, ldc);
            ref()->matmul(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C1, ldc);
            for (int i = 0; i < M; i++)
                ASSERT_CLOSE(C0 + (size_t)i * ldc, C1 + (size_t)i * ldc, N, TOL);
            free(A), free(B), free(C0), free(C1);
        }
    }
}

Test(kernels, matmul_ref_known_values) {
    float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8}, C[4] = {1, 1, 1, 1};
    ref()->matmul(0, 1, 2, 2, 2, 1.0f, A, 2, B, 2, 2.0f, C, 2); /* A B^T + 2 */
    float want[4] = {19, 25, 41, 55};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(C[i], want[i], 1e-6);
}

Test(kernels, add_bias_and_bias_backward_match_ref) {
    int sizes[2][2] = {{37, 70}, {300, 70}}; /* second one takes the parallel path */
    for (int s = 0; s < 2; s++) {
        int N = sizes[s][0], C = sizes[s][1];
        float *x0 = rnd((size_t)N * C, 1.0f), *x1 = dup(x0, (size_t)N * C), *b = rnd(C, 1.0f);
        cpu()->add_bias(x0, b, N, C);
        ref()->add_bias(x1, b, N, C);
        ASSERT_CLOSE(x0, x1, (size_t)N * C, TOL);
        cr_assert_float_eq(x1[C + 3], x0[C + 3], 0.0);
        float *db0 = rnd(C, 1.0f), *db1 = dup(db0, C);
        cpu()->bias_backward(db0, x0, N, C);
        ref()->bias_backward(db1, x0, N, C);
        ASSERT_CLOSE(db0, db1, C, TOL);
        free(x0), free(x1), free(b), free(db0), free(db1);
    }
}

Test(kernels, bias_backward_is_gradient_of_add_bias) {
    float db[5] = {1, 2, 3, 4, 5}, dout[3 * 5];
    for (int i = 0; i < 15; i++)
        dout[i] = (float)i;
    cpu()->bias_backward(db, dout, 3, 5); /* adds column sums 15,18,21,24,27 */
    float want[5] = {16, 20, 24, 28, 32};
    for (int c = 0; c < 5; c++)
        cr_assert_float_eq(db[c], want[c], 1e-6);
}

Test(kernels, axpy_matches_ref) {
    size_t ns[2] = {1001, 70001};
    for (int s = 0; s < 2; s++) {
        size_t n = ns[s];
        float *x = rnd(n, 1.0f), *y0 = rnd(n, 1.0f), *y1 = dup(y0, n);
        cpu()->axpy(y0, -0.37f, x, n);
        ref()->axpy(y1, -0.37f, x, n);
        ASSERT_CLOSE(y0, y1, n, TOL);
        free(x), free(y0), free(y1);
    }
}

/* ---- embedding -------------------------------------------------------- */

static int *rand_ids(int N, int V) {
    int *ids = malloc((size_t)N * sizeof(int));
    cr_assert_not_null(ids);
    for (int i = 0; i < N; i++)
        ids[i] = (int)((frand() + 1.0f) * 0.5f * V) % V;
    return ids;
}

Test(kernels, embedding_matches_ref) {
    int N = 37, C = 70, V = 11;
    int *ids = rand_ids(N, V);
    float *wte = rnd((size_t)V * C, 1.0f), *o0 = zeros((size_t)N * C), *o1 = zeros((size_t)N * C);
    cpu()->embedding_forward(o0, ids, (rlc_wmat){.f32 = wte}, N, C);
    ref()->embedding_forward(o1, ids, (rlc_wmat){.f32 = wte}, N, C);
    ASSERT_CLOSE(o0, o1, (size_t)N * C, 0.0);
    cr_assert_float_eq(o0[5 * C + 7], wte[(size_t)ids[5] * C + 7], 0.0);
    float *dout = rnd((size_t)N * C, 1.0f), *d0 = rnd((size_t)V * C, 1.0f);
    float *d1 = dup(d0, (size_t)V * C);
    cpu()->embedding_backward(d0, dout, ids, N, C, V);
    ref()->embedding_backward(d1, dout, ids, N, C, V);
    ASSERT_CLOSE(d0, d1, (size_t)V * C, TOL);
    free(ids), free(wte), free(o0), free(o1), free(dout), free(d0), free(d1);
}

Test(kernels, embedding_backward_same_bits_for_1_and_2_threads) {
    int N = 300, C = 200, V = 7; /* many repeated ids, large enough to go parallel */
    int *ids = rand_ids(N, V);
    float *dout = rnd((size_t)N * C, 1.0f);
    float *d1 = rnd((size_t)V * C, 1.0f), *d2 = dup(d1, (size_t)V * C);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    cpu()->embedding_backward(d1, dout, ids, N, C, V);
    omp_set_num_threads(2);
    cpu()->embedding_backward(d2, dout, ids, N, C, V);
    omp_set_num_threads(saved);
    cr_assert_eq(memcmp(d1, d2, (size_t)V * C * sizeof(float)), 0);
    free(ids), free(dout), free(d1), free(d2);
}

struct emb_ctx {
    const rlc_backend *be;
    float *wte, *w, *out;
    int *ids;
    int N, C;
};

static double emb_obj(void *p) {
    struct emb_ctx *c = p;
    c->be->embedding_forward(c->out, c->ids, (rlc_wmat){.f32 = c->wte}, c->N, c->C);
    return wsum(c->w, c->out, (size_t)c->N * c->C);
}

Test(kernels, embedding_backward_finite_differences) {
    int N = 9, C = 6, V = 4;
    int *ids = rand_ids(N, V);
    float *wte = rnd((size_t)V * C, 1.0f), *w = rnd((size_t)N * C, 1.0f);
    float *out = zeros((size_t)N * C), *g = zeros((size_t)V * C);
    struct emb_ctx ctx = {ref(), wte, w, out, ids, N, C};
    cpu()->embedding_backward(g, w, ids, N, C, V);
    cr_assert_lt(fd_check(wte, g, (size_t)V * C, emb_obj, &ctx, 1e-2f), FD_TOL);
    free(ids), free(wte), free(w), free(out), free(g);
}

/* ---- rmsnorm ---------------------------------------------------------- */

Test(kernels, rmsnorm_matches_ref) {
    int sizes[2][2] = {{37, 70}, {300, 70}};
    for (int s = 0; s < 2; s++) {
        int N = sizes[s][0], C = sizes[s][1];
        size_t n = (size_t)N * C;
        float *x = rnd(n, 2.0f), *w = rnd(C, 1.0f);
        float *o0 = zeros(n), *o1 = zeros(n), *r0 = zeros(N), *r1 = zeros(N);
        cpu()->rmsnorm_forward(o0, r0, x, w, N, C, 1e-5f);
        ref()->rmsnorm_forward(o1, r1, x, w, N, C, 1e-5f);
        ASSERT_CLOSE(o0, o1, n, TOL);
        ASSERT_CLOSE(r0, r1, N, TOL);
        float *dout = rnd(n, 1.0f), *dx0 = zeros(n), *dx1 = zeros(n);
        float *dw0 = rnd(C, 1.0f), *dw1 = dup(dw0, C);
        cpu()->rmsnorm_backward(dx0, dw0, dout, x, w, r1, N, C);
        ref()->rmsnorm_backward(dx1, dw1, dout, x, w, r1, N, C);
        ASSERT_CLOSE(dx0, dx1, n, TOL);
        ASSERT_CLOSE(dw0, dw1, C, TOL);
        /* dx may alias dout. */
        float *alias = dup(dout, n), *dw2 = dup(dw1, C);
        memcpy(dw2, dw0, C * sizeof(float));
        cpu()->rmsnorm_backward(alias, dw2, alias, x, w, r1, N, C);
        ASSERT_CLOSE(alias, dx1, n, TOL);
        free(x), free(w), free(o0), free(o1), free(r0), free(r1), free(dout), free(dx0);
        free(dx1), free(dw0), free(dw1), free(alias), free(dw2);
    }
}

struct rms_ctx {
    float *x, *w, *wr, *out, *rstd;
    int N, C;
};

static double rms_obj(void *p) {
    struct rms_ctx *c = p;
    ref()->rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->N, c->C, 1e-5f);
    return wsum(c->wr, c->out, (size_t)c->N * c->C);
}

Test(kernels, rmsnorm_backward_finite_differences) {
    int N = 5, C = 12;
    size_t n = (size_t)N * C;
    float *x = rnd(n, 1.0f), *w = rnd(C, 1.0f), *wr = rnd(n, 1.0f);
    float *out = zeros(n), *rstd = zeros(N);
    struct rms_ctx ctx = {x, w, wr, out, rstd, N, C};
    for (int b = 0; b < 2; b++) {
        const rlc_backend *be = b ? ref() : cpu();
        float *dx = zeros(n), *dw = zeros(C);
        rms_obj(&ctx);
        be->rmsnorm_backward(dx, dw, wr, x, w, rstd, N, C);
        cr_assert_lt(fd_check(x, dx, n, rms_obj, &ctx, 1e-2f), FD_TOL, "%s dx", be->name);
        cr_assert_lt(fd_check(w, dw, C, rms_obj, &ctx, 1e-2f), FD_TOL, "%s dw", be->name);
        free(dx), free(dw);
    }
    free(x), free(w), free(wr), free(out), free(rstd);
}

/* ---- rope ------------------------------------------------------------- */

/* cos/sin tables [max_pos, D/2] with the usual 10000^(-2j/D) frequencies. */
static void rope_tables(float **cos_t, float **sin_t, int max_pos, int D) {
    int half = D / 2;
    *cos_t = zeros((size_t)max_pos * half);
    *sin_t = zeros((size_t)max_pos * half);
    for (int p = 0; p < max_pos; p++) {
        for (int j = 0; j < half; j++) {
            double a = p * pow(10000.0, -2.0 * j / D);
            (*cos_t)[(size_t)p * half + j] = (float)cos(a);
            (*sin_t)[(size_t)p * half + j] = (float)sin(a);
        }
    }
}

Test(kernels, rope_matches_ref_and_inverse_undoes_it) {
    int N = 37, H = 6, D = 16, max_pos = 50;
    size_t n = (size_t)N * H * D;
    float *ct, *st;
    rope_tables(&ct, &st, max_pos, D);
    int *pos = rand_ids(N, max_pos);
    float *x = rnd(n, 1.0f), *a = dup(x, n), *b = dup(x, n);
    cpu()->rope(a, pos, ct, st, N, H, D, 0);
    ref()->rope(b, pos, ct, st, N, H, D, 0);
    ASSERT_CLOSE(a, b, n, TOL);
    /* A rotation by pos*theta of the pair (x[j], x[j+D/2]) at a known spot. */
    int i = 3, h = 2, j = 1;
    float c = ct[(size_t)pos[i] * D / 2 + j], s = st[(size_t)pos[i] * D / 2 + j];
    const float *xv = x + ((size_t)i * H + h) * D;
    cr_assert_float_eq(a[((size_t)i * H + h) * D + j], xv[j] * c - xv[j + D / 2] * s, 1e-6);
    cpu()->rope(a, pos, ct, st, N, H, D, 1);
    ASSERT_CLOSE(a, x, n, 1e-6);
    ref()->rope(b, pos, ct, st, N, H, D, 1);
    ASSERT_CLOSE(b, x, n, 1e-6);
    free(ct), free(st), free(pos), free(x), free(a), free(b);
}

struct rope_ctx {
    float *x, *out, *wr, *ct, *st;
    int *pos;
    int N, H, D;
};

static double rope_obj(void *p) {
    struct rope_ctx *c = p;
    size_t n = (size_t)c->N * c->H * c->D;
    memcpy(c->out, c->x, n * sizeof(float));
    ref()->rope(c->out, c->pos, c->ct, c->st, c->N, c->H, c->D, 0);
    return wsum(c->wr, c->out, n);
}

Test(kernels, rope_backward_finite_differences) {
    int N = 4, H = 2, D = 8, max_pos = 20;
    size_t n = (size_t)N * H * D;
    float *ct, *st;
    rope_tables(&ct, &st, max_pos, D);
    int *pos = rand_ids(N, max_pos);
    float *x = rnd(n, 1.0f), *wr = rnd(n, 1.0f), *out = zeros(n), *g = dup(wr, n);
    cpu()->rope(g, pos, ct, st, N, H, D, 1); /* backward = inverse rotation of dout */
    struct rope_ctx ctx = {x, out, wr, ct, st, pos, N, H, D};
    cr_assert_lt(fd_check(x, g, n, rope_obj, &ctx, 1e-2f), FD_TOL);
    free(ct), free(st), free(pos), free(x), free(wr), free(out), free(g);
}

/* ---- attention -------------------------------------------------------- */

/* Scratch for w attention workers at T tokens, full of garbage the kernels must not read. */
static float *attn_ws(int T, int w, size_t *n) {
    *n = rlc_attention_scratch_floats(T, w);
    return rnd(*n, 9.0f);
}

static void check_attention(int B, int T, int Hq, int Hkv, int D) {
    size_t nq = (size_t)B * T * Hq * D, nk = (size_t)B * T * Hkv * D, nl = (size_t)B * Hq * T;
    float *q = rnd(nq, 1.5f), *k = rnd(nk, 1.5f), *v = rnd(nk, 1.0f), *dout = rnd(nq, 1.0f);
    float *o1 = zeros(nq), *l1 = zeros(nl), *dq1 = zeros(nq), *dk1 = zeros(nk), *dv1 = zeros(nk);
    size_t nsc = 0;
    float *scratch = attn_ws(T, 1, &nsc);
    ref()->attention_forward(o1, l1, scratch, nsc, q, k, v, B, T, Hq, Hkv, D);
    ref()->attention_backward(dq1, dk1, dv1, scratch, nsc, dout, o1, l1, q, k, v, B, T, Hq, Hkv, D);
    /* one worker's scratch, then room for more workers than threads */
    for (int w = 1; w <= 8; w += 7) {
        /* Garbage in the outputs: every kernel must overwrite, not accumulate. */
        float *o0 = rnd(nq, 9.0f), *l0 = rnd(nl, 9.0f), *dq0 = rnd(nq, 9.0f);
        float *dk0 = rnd(nk, 9.0f), *dv0 = rnd(nk, 9.0f);
        size_t ns = 0;
        float *sc = attn_ws(T, w, &ns);
        cpu()->attention_forward(o0, l0, sc, ns, q, k, v, B, T, Hq, Hkv, D);
        ASSERT_CLOSE(o0, o1, nq, TOL);
        ASSERT_CLOSE(l0, l1, nl, TOL);
        cpu()->attention_backward(dq0, dk0, dv0, sc, ns, dout, o1, l1, q, k, v, B, T, Hq, Hkv, D);
        ASSERT_CLOSE(dq0, dq1, nq, TOL);
        ASSERT_CLOSE(dk0, dk1, nk, TOL);
        ASSERT_CLOSE(dv0, dv1, nk, TOL);
        free(o0), free(l0), free(dq0), free(dk0), free(dv0), free(sc);
    }
    /* Token 0 attends only to itself: out = v[0] of its kv head, lse = its score. */
    cr_assert_float_eq(o1[(size_t)(Hq - 1) * D], v[(size_t)(Hkv - 1) * D], 1e-6);
    double s00 = 0.0;
    for (int d = 0; d < D; d++)
        s00 += (double)q[d] * k[d];
    cr_assert_float_eq(l1[0], s00 / sqrt((double)D), 1e-5);
    free(q), free(k), free(v), free(dout), free(o1), free(l1), free(dq1), free(dk1), free(dv1);
    free(scratch);
}

Test(kernels, attention_matches_ref_gqa_d10) {
    check_attention(3, 13, 6, 2, 10);
}

Test(kernels, attention_matches_ref_d16_multiple_row_blocks) {
    check_attention(2, 40, 4, 4, 16); /* T > 32 crosses causal row blocks */
}

Test(kernels, attention_matches_ref_mqa) {
    check_attention(1, 7, 3, 1, 16);
}

struct attn_ctx {
    float *q, *k, *v, *w, *out, *lse, *sc;
    size_t nsc;
    int B, T, Hq, Hkv, D;
};

static double attn_obj(void *p) {
    struct attn_ctx *c = p;
    ref()->attention_forward(c->out, c->lse, c->sc, c->nsc, c->q, c->k, c->v, c->B, c->T, c->Hq,
                             c->Hkv, c->D);
    return wsum(c->w, c->out, (size_t)c->B * c->T * c->Hq * c->D);
}

Test(kernels, attention_backward_finite_differences) {
    int B = 2, T = 5, Hq = 4, Hkv = 2, D = 6;
    size_t nq = (size_t)B * T * Hq * D, nk = (size_t)B * T * Hkv * D, nl = (size_t)B * Hq * T;
    float *q = rnd(nq, 1.0f), *k = rnd(nk, 1.0f), *v = rnd(nk, 1.0f), *w = rnd(nq, 1.0f);
    size_t nsc = 0;
    float *out = zeros(nq), *lse = zeros(nl), *sc = attn_ws(T, 1, &nsc);
    struct attn_ctx ctx = {q, k, v, w, out, lse, sc, nsc, B, T, Hq, Hkv, D};
    for (int b = 0; b < 2; b++) {
        const rlc_backend *be = b ? ref() : cpu();
        float *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk);
        attn_obj(&ctx);
        be->attention_backward(dq, dk, dv, sc, nsc, w, out, lse, q, k, v, B, T, Hq, Hkv, D);
        cr_assert_lt(fd_check(q, dq, nq, attn_obj, &ctx, 1e-2f), FD_TOL, "%s dq", be->name);
        cr_assert_lt(fd_check(k, dk, nk, attn_obj, &ctx, 1e-2f), FD_TOL, "%s dk", be->name);
        cr_assert_lt(fd_check(v, dv, nk, attn_obj, &ctx, 1e-2f), FD_TOL, "%s dv", be->name);
        free(dq), free(dk), free(dv);
    }
    free(q), free(k), free(v), free(w), free(out), free(lse), free(sc);
}

Test(kernels, attention_decode_equals_last_row_of_forward) {
    int S = 3, T = 13, Hq = 6, Hkv = 2, D = 10, max_T = T + 4;
    size_t nq = (size_t)S * T * Hq * D, nk = (size_t)S * T * Hkv * D;
    float *q = rnd(nq, 1.5f), *k = rnd(nk, 1.5f), *v = rnd(nk, 1.0f);
    size_t nsc = 0;
    float *out = zeros(nq), *att = zeros((size_t)S * Hq * T), *asc = attn_ws(T, 2, &nsc);
    cpu()->attention_forward(out, att, asc, nsc, q, k, v, S, T, Hq, Hkv, D);
    free(asc);
    /* Cache [S, max_T, Hkv, D] with NaN past each length: reading it would show. */
    size_t nc = (size_t)S * max_T * Hkv * D;
    float *kc = zeros(nc), *vc = zeros(nc), *qd = zeros((size_t)S * Hq * D);
    for (size_t i = 0; i < nc; i++)
        kc[i] = vc[i] = NAN;
    int len[3] = {T, T - 4, 1};
    for (int s = 0; s < S; s++) {
        size_t row = (size_t)Hkv * D;
        memcpy(kc + (size_t)s * max_T * row, k + (size_t)s * T * row, len[s] * row * sizeof(float));
        memcpy(vc + (size_t)s * max_T * row, v + (size_t)s * T * row, len[s] * row * sizeof(float));
        memcpy(qd + (size_t)s * Hq * D, q + ((size_t)s * T + len[s] - 1) * Hq * D,
               (size_t)Hq * D * sizeof(float));
    }
    for (int b = 0; b < 2; b++) {
        const rlc_backend *be = b ? ref() : cpu();
        float *od = rnd((size_t)S * Hq * D, 9.0f), *sc = zeros((size_t)S * Hq * max_T);
        be->attention_decode(od, sc, qd, kc, vc, len, NULL, S, max_T, Hq, Hkv, D);
        for (int s = 0; s < S; s++)
            ASSERT_CLOSE(od + (size_t)s * Hq * D, out + ((size_t)s * T + len[s] - 1) * Hq * D,
                         (size_t)Hq * D, TOL);
        free(od), free(sc);
    }
    free(q), free(k), free(v), free(out), free(att), free(kc), free(vc), free(qd);
}

Test(kernels, attention_decode_matches_ref_long_cache) {
    int S = 4, Hq = 8, Hkv = 2, D = 16, max_T = 300; /* big enough for the parallel path */
    size_t nc = (size_t)S * max_T * Hkv * D, nq = (size_t)S * Hq * D;
    float *q = rnd(nq, 1.0f), *kc = rnd(nc, 1.0f), *vc = rnd(nc, 1.0f);
    float *o0 = zeros(nq), *o1 = zeros(nq), *sc = zeros((size_t)S * Hq * max_T);
    int len[4] = {300, 257, 31, 2};
    cpu()->attention_decode(o0, sc, q, kc, vc, len, NULL, S, max_T, Hq, Hkv, D);
    ref()->attention_decode(o1, sc, q, kc, vc, len, NULL, S, max_T, Hq, Hkv, D);
    ASSERT_CLOSE(o0, o1, nq, TOL);
    free(q), free(kc), free(vc), free(o0), free(o1), free(sc);
}

/* Row s reading slot[s] equals running that slot's row alone (slot NULL). */
Test(kernels, attention_decode_slot_mapping) {
    int S = 3, slots = 5, Hq = 4, Hkv = 2, D = 8, max_T = 20;
    size_t nc = (size_t)slots * max_T * Hkv * D, nq = (size_t)S * Hq * D, row = (size_t)Hq * D;
    float *q = rnd(nq, 1.0f), *kc = rnd(nc, 1.0f), *vc = rnd(nc, 1.0f);
    float *o = zeros(nq), *o1 = zeros(row), *sc = zeros((size_t)S * Hq * max_T);
    int slot[3] = {4, 0, 2}, len[3] = {7, 20, 1};
    const rlc_backend *bes[2] = {cpu(), ref()};
    for (int b = 0; b < 2; b++) {
        bes[b]->attention_decode(o, sc, q, kc, vc, len, slot, S, max_T, Hq, Hkv, D);
        for (int s = 0; s < S; s++) {
            size_t off = (size_t)slot[s] * max_T * Hkv * D;
            bes[b]->attention_decode(o1, sc, q + s * row, kc + off, vc + off, &len[s], NULL, 1,
                                     max_T, Hq, Hkv, D);
            ASSERT_CLOSE(o + s * row, o1, row, 1e-6);
        }
    }
    free(q), free(kc), free(vc), free(o), free(o1), free(sc);
}

/* With enough (sequence, kv head) tasks for the threads the AVX-512 kernel
 * takes a group's query heads together, each key and value read once for
 * all (sub-groups of at most 6 heads at D=64, 3 at D=128); one sequence alone
 * runs head by head. Both give the same bits, F32 and BF16 caches, for
 * groups of 2, 3 and 7 (sub-groups of 4 and 3) and lengths that leave 0..3
 * keys after blocks of four; both are close to the reference. */
static void decode_grouped_case(int Hq, int Hkv, int D) {
    enum { S = 8, MT = 45 };
    size_t nc = (size_t)S * MT * Hkv * D, nq = (size_t)S * Hq * D, row = (size_t)Hq * D;
    float *q = rnd(nq, 1.0f), *kc = rnd(nc, 1.0f), *vc = rnd(nc, 1.0f);
    uint16_t *kb = malloc(nc * sizeof *kb), *vb = malloc(nc * sizeof *vb);
    for (size_t i = 0; i < nc; i++)
        kb[i] = rlc_f32_to_bf16(kc[i]), vb[i] = rlc_f32_to_bf16(vc[i]);
    float *o = zeros(nq), *o1 = zeros(row), *oref = zeros(nq), *sc = zeros((size_t)S * Hq * MT);
    int len[S] = {45, 1, 2, 3, 44, 17, 32, 9};
    for (int bf = 0; bf < 2; bf++) {
        if (bf) {
            cpu()->attention_decode_bf16(o, sc, q, kb, vb, len, NULL, S, MT, Hq, Hkv, D);
            ref()->attention_decode_bf16(oref, sc, q, kb, vb, len, NULL, S, MT, Hq, Hkv, D);
        } else {
            cpu()->attention_decode(o, sc, q, kc, vc, len, NULL, S, MT, Hq, Hkv, D);
            ref()->attention_decode(oref, sc, q, kc, vc, len, NULL, S, MT, Hq, Hkv, D);
        }
        ASSERT_CLOSE(o, oref, nq, TOL);
        for (int s = 0; s < S; s++) {
            size_t off = (size_t)s * MT * Hkv * D;
            if (bf)
                cpu()->attention_decode_bf16(o1, sc, q + s * row, kb + off, vb + off, &len[s], NULL,
                                             1, MT, Hq, Hkv, D);
            else
                cpu()->attention_decode(o1, sc, q + s * row, kc + off, vc + off, &len[s], NULL, 1,
                                        MT, Hq, Hkv, D);
            for (size_t i = 0; i < row; i++)
                cr_assert(o1[i] == o[s * row + i],
                          "Hq=%d Hkv=%d D=%d bf16=%d row %d [%zu]: alone %.9g, in the batch %.9g",
                          Hq, Hkv, D, bf, s, i, o1[i], o[s * row + i]);
        }
    }
    free(q), free(kc), free(vc), free(kb), free(vb), free(o), free(o1), free(oref), free(sc);
}

Test(kernels, attention_decode_grouped_same_bits) {
    decode_grouped_case(9, 3, 64);   /* SmolLM2-135M's heads */
    decode_grouped_case(16, 8, 128); /* Qwen3-0.6B's */
    decode_grouped_case(14, 2, 64);  /* Qwen2.5-0.5B's: sub-groups 4 + 3 */
}

/* ---- swiglu ----------------------------------------------------------- */

Test(kernels, swiglu_matches_ref) {
    int sizes[2][2] = {{37, 70}, {300, 70}};
    for (int s = 0; s < 2; s++) {
        int N = sizes[s][0], F = sizes[s][1];
        size_t n = (size_t)N * F;
        float *g = rnd(n, 8.0f), *u = rnd(n, 1.0f), *h0 = zeros(n), *h1 = zeros(n);
        g[0] = -100.0f, g[1] = 100.0f; /* exp over/underflow edges */
        cpu()->swiglu_forward(h0, g, u, N, F);
        ref()->swiglu_forward(h1, g, u, N, F);
        ASSERT_CLOSE(h0, h1, n, TOL);
        cr_assert_float_eq(h0[1], 100.0f * u[1], 1e-4);
        float *dh = rnd(n, 1.0f), *dg0 = zeros(n), *du0 = zeros(n), *dg1 = zeros(n),
              *du1 = zeros(n);
        cpu()->swiglu_backward(dg0, du0, dh, g, u, N, F);
        ref()->swiglu_backward(dg1, du1, dh, g, u, N, F);
        ASSERT_CLOSE(dg0, dg1, n, TOL);
        ASSERT_CLOSE(du0, du1, n, TOL);
        free(g), free(u), free(h0), free(h1), free(dh), free(dg0), free(du0), free(dg1), free(du1);
    }
}

struct swiglu_ctx {
    float *g, *u, *w, *h;
    int N, F;
};

static double swiglu_obj(void *p) {
    struct swiglu_ctx *c = p;
    ref()->swiglu_forward(c->h, c->g, c->u, c->N, c->F);
    return wsum(c->w, c->h, (size_t)c->N * c->F);
}

Test(kernels, swiglu_backward_finite_differences) {
    int N = 6, F = 11;
    size_t n = (size_t)N * F;
    float *g = rnd(n, 3.0f), *u = rnd(n, 1.0f), *w = rnd(n, 1.0f), *h = zeros(n);
    struct swiglu_ctx ctx = {g, u, w, h, N, F};
    for (int b = 0; b < 2; b++) {
        const rlc_backend *be = b ? ref() : cpu();
        float *dg = zeros(n), *du = zeros(n);
        be->swiglu_backward(dg, du, w, g, u, N, F);
        cr_assert_lt(fd_check(g, dg, n, swiglu_obj, &ctx, 1e-2f), FD_TOL, "%s dg", be->name);
        cr_assert_lt(fd_check(u, du, n, swiglu_obj, &ctx, 1e-2f), FD_TOL, "%s du", be->name);
        free(dg), free(du);
    }
    free(g), free(u), free(w), free(h);
}

/* ---- logprob ---------------------------------------------------------- */

static void check_logprob(int N, int V, float scale, float offset) {
    size_t n = (size_t)N * V;
    float *logits = rnd(n, scale);
    for (size_t i = 0; i < n; i++)
        logits[i] += offset;
    int *target = rand_ids(N, V);
    target[N - 1] = -1; /* ignored */
    float *lp0 = zeros(N), *lp1 = zeros(N), *l0 = zeros(N), *l1 = zeros(N);
    cpu()->logprob_forward(lp0, l0, logits, target, N, V);
    ref()->logprob_forward(lp1, l1, logits, target, N, V);
    ASSERT_CLOSE(l0, l1, N, TOL);
    for (int i = 0; i < N; i++) /* logp is a difference of two large numbers when offset is big */
        cr_assert_float_eq(lp0[i], lp1[i], 1e-5 * (fabs(l1[i]) + 1.0), "row %d", i);
    cr_assert_eq(lp0[N - 1], 0.0f);
    float *dlogp = rnd(N, 1.0f), *d0 = zeros(n), *d1 = zeros(n);
    cpu()->logprob_backward(d0, dlogp, logits, l1, target, N, V);
    ref()->logprob_backward(d1, dlogp, logits, l1, target, N, V);
    ASSERT_CLOSE(d0, d1, n, TOL);
    for (int j = 0; j < V; j++)
        cr_assert_eq(d0[(size_t)(N - 1) * V + j], 0.0f);
    /* Each non-ignored row of the gradient sums to zero (softmax sums to 1). */
    for (int i = 0; i < N - 1; i++) {
        double s = 0.0;
        for (int j = 0; j < V; j++)
            s += d0[(size_t)i * V + j];
        cr_assert_float_eq(s, 0.0, 1e-4 * (fabs(dlogp[i]) + 1.0));
    }
    /* dlogits may alias logits. */
    float *alias = dup(logits, n);
    cpu()->logprob_backward(alias, dlogp, alias, l1, target, N, V);
    ASSERT_CLOSE(alias, d1, n, TOL);
    free(logits), free(target), free(lp0), free(lp1), free(l0), free(l1), free(dlogp), free(d0);
    free(d1), free(alias);
}

Test(kernels, logprob_matches_ref) {
    check_logprob(37, 70, 3.0f, 0.0f);
    check_logprob(64, 512, 3.0f, 0.0f); /* parallel path */
}

Test(kernels, logprob_stable_for_large_logits_and_vocab) {
    check_logprob(5, 70, 20.0f, 1000.0f); /* naive exp would overflow */
    check_logprob(3, 150001, 10.0f, -500.0f);
}

Test(kernels, logprob_known_values) {
    float logits[3] = {0.0f, logf(2.0f), logf(5.0f)}; /* softmax = 1/8, 2/8, 5/8 */
    int target = 1;
    float logp, lse, dl[3], g = 2.0f;
    cpu()->logprob_forward(&logp, &lse, logits, &target, 1, 3);
    cr_assert_float_eq(lse, logf(8.0f), 1e-6);
    cr_assert_float_eq(logp, logf(0.25f), 1e-6);
    cpu()->logprob_backward(dl, &g, logits, &lse, &target, 1, 3);
    cr_assert_float_eq(dl[0], -2.0f / 8, 1e-6);
    cr_assert_float_eq(dl[1], 2.0f * (1 - 0.25f), 1e-6);
    cr_assert_float_eq(dl[2], -2.0f * 5 / 8, 1e-6);
}

struct lp_ctx {
    float *logits, *w, *logp, *lse;
    int *target;
    int N, V;
};

static double lp_obj(void *p) {
    struct lp_ctx *c = p;
    ref()->logprob_forward(c->logp, c->lse, c->logits, c->target, c->N, c->V);
    return wsum(c->w, c->logp, c->N);
}

Test(kernels, logprob_backward_finite_differences) {
    int N = 4, V = 9;
    size_t n = (size_t)N * V;
    float *logits = rnd(n, 3.0f), *w = rnd(N, 1.0f), *logp = zeros(N), *lse = zeros(N);
    int *target = rand_ids(N, V);
    target[2] = -1;
    struct lp_ctx ctx = {logits, w, logp, lse, target, N, V};
    for (int b = 0; b < 2; b++) {
        const rlc_backend *be = b ? ref() : cpu();
        float *d = zeros(n);
        lp_obj(&ctx);
        be->logprob_backward(d, w, logits, lse, target, N, V);
        cr_assert_lt(fd_check(logits, d, n, lp_obj, &ctx, 1e-2f), FD_TOL, "%s", be->name);
        free(d);
    }
    free(logits), free(w), free(logp), free(lse), free(target);
}

/* ---- optimizer entries ------------------------------------------------ */

Test(kernels, optimizer_entries_shared_and_correct) {
    cr_assert_eq(cpu()->adamw, ref()->adamw);
    cr_assert_eq(cpu()->sumsq, ref()->sumsq);
    cr_assert_eq(cpu()->scale, ref()->scale);
    float x[3] = {1, -2, 3};
    cr_assert_float_eq(cpu()->sumsq(x, 3), 14.0, 1e-12);
    cpu()->scale(x, 0.5f, 3);
    cr_assert_float_eq(x[1], -1.0f, 0.0);
    /* First AdamW step: mhat = g, vhat = g^2, so p -= lr * (sign(g) * |g|/(|g|+eps) + wd p). */
    float p = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
    cpu()->adamw(&p, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
    cr_assert_float_eq(p, 1.0f - 0.1f * (0.5f / (0.5f + 1e-8f) + 0.01f), 1e-6);
    cr_assert_float_eq(m, 0.05f, 1e-7);
    cr_assert_float_eq(v, (1.0f - 0.999f) * 0.25f, 1e-10);
}
