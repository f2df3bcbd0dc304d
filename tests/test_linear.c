/* linear / linear_dx / embedding_forward of the CPU backend against the
 * reference backend (double accumulation), for F32 and BF16 weights, through
 * both the AVX-512 and the generic few-row kernels and the sgemm path.
 *
 * Tolerance: |cpu - ref| <= 1e-5 * (|alpha| * sum_k |x_k w_k| + |y_before|),
 * i.e. about 80 float roundings of the largest possible partial sum: the
 * kernels sum in blocks of 16 lanes and chains of in/16 terms, well inside. */
#include "base/cores.h"
#include "base/dtype.h"
#include "tensor/backend.h"
#include "tensor/cpu_kernels.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (2.0 / 16777216.0) - 1.0);
}

static float *rnd(size_t n) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = frand();
    return x;
}

/* A weight matrix [rows, cols] in the given dtype, and its exact F32 value
 * (*wide; the BF16 one widened). */
typedef struct wmat {
    rlc_wmat W;
    float *f32;
    uint16_t *bf16;
    float *wide;
} wmat;

static wmat wmat_new(int rows, int cols, int bf16) {
    size_t n = (size_t)rows * cols;
    wmat m = {0};
    m.wide = rnd(n);
    if (bf16) {
        m.bf16 = malloc((n ? n : 1) * sizeof(uint16_t));
        cr_assert_not_null(m.bf16);
        for (size_t i = 0; i < n; i++) {
            m.bf16[i] = rlc_f32_to_bf16(m.wide[i]);
            m.wide[i] = rlc_bf16_to_f32(m.bf16[i]);
        }
        m.W.bf16 = m.bf16;
    } else {
        m.f32 = m.wide;
        m.W.f32 = m.f32;
    }
    return m;
}

static void wmat_free(wmat *m) {
    free(m->wide);
    free(m->bf16);
}

static float *scratch_new(void) {
    float *s = malloc(RLC_LINEAR_SCRATCH * sizeof(float));
    cr_assert_not_null(s);
    return s;
}

/* y (cpu) against r (ref) for y[N, out] = alpha x[N, in] W^T (+ y0). */
static void check_y(const char *what, const float *y, const float *r, const float *y0,
                    const float *x, const float *w, int N, int in, int out, float alpha) {
    for (int i = 0; i < N; i++)
        for (int o = 0; o < out; o++) {
            double mag = 0.0;
            for (int k = 0; k < in; k++)
                mag += fabs((double)x[(size_t)i * in + k] * w[(size_t)o * in + k]);
            size_t at = (size_t)i * out + o;
            double tol = 1e-5 * (fabs(alpha) * mag + (y0 ? fabs(y0[at]) : 0.0)) + 1e-30;
            cr_assert(fabs((double)y[at] - r[at]) <= tol,
                      "%s: y[%d,%d] = %.9g, reference %.9g (N=%d in=%d out=%d tol %.3g)", what, i,
                      o, y[at], r[at], N, in, out, tol);
        }
}

/* With AVX512_BF16 (where the CPU has it) a BF16 W multiplies x rounded to
 * BF16; the other two multiply F32 products. */
#define N_ISAS 3
static const rlc_cpu_isa isas[N_ISAS] = {RLC_CPU_AVX512_BF16, RLC_CPU_AVX512, RLC_CPU_GENERIC};
static const char *isa_name[N_ISAS] = {"avx512+bf16", "avx512", "generic"};

/* x rounded to BF16 (nearest even), as F32: what a BF16 W meets under
 * AVX512_BF16. */
static float *round_bf16(const float *x, size_t n) {
    float *r = malloc(n * sizeof(float) + 1);
    cr_assert(r);
    for (size_t i = 0; i < n; i++)
        r[i] = rlc_bf16_to_f32(rlc_f32_to_bf16(x[i]));
    return r;
}

/* Whether isa gives BF16 products on this CPU (rlc_cpu_isa_set lowers what
 * the CPU lacks). */
static int isa_dp(rlc_cpu_isa isa) {
    rlc_cpu_isa prev = rlc_cpu_isa_set(isa);
    int dp = rlc_cpu_isa_get() == RLC_CPU_AVX512_BF16;
    rlc_cpu_isa_set(prev);
    return dp;
}

/* One output: every kernel path against the reference (on x rounded to BF16
 * where the path multiplies BF16 products), accumulate off (y starts as NaN,
 * which must be ignored) and on. */
static void linear_case(int N, int in, int out, int bf16, float alpha) {
    const rlc_backend *cpu = rlc_backend_cpu(), *ref = rlc_backend_ref();
    wmat w = wmat_new(out, in, bf16);
    float *x = rnd((size_t)N * in), *y0 = rnd((size_t)N * out);
    float *xr = round_bf16(x, (size_t)N * in);
    float *r = malloc(((size_t)N * out + 1) * sizeof(float));
    float *y = malloc(((size_t)N * out + 1) * sizeof(float));
    float *scratch = scratch_new();
    cr_assert(r && y);
    char what[96];
    for (int acc = 0; acc < 2; acc++)
        for (int p = 0; p < N_ISAS; p++) {
            int dp = bf16 && isa_dp(isas[p]);
            const float *xp = dp ? xr : x;
            size_t ny = (size_t)N * out;
            if (acc)
                memcpy(r, y0, ny * sizeof(float));
            else
                for (size_t i = 0; i < ny; i++)
                    r[i] = NAN;
            rlc_linear_out o = {r, w.W, out};
            ref->linear(xp, N, in, &o, 1, alpha, acc, NULL);
            rlc_cpu_isa prev = rlc_cpu_isa_set(isas[p]);
            if (acc)
                memcpy(y, y0, ny * sizeof(float));
            else
                for (size_t i = 0; i < ny; i++)
                    y[i] = NAN;
            o.y = y;
            cpu->linear(x, N, in, &o, 1, alpha, acc, scratch);
            snprintf(what, sizeof what, "%s %s acc=%d", bf16 ? "bf16" : "f32", isa_name[p], acc);
            check_y(what, y, r, acc ? y0 : NULL, xp, w.wide, N, in, out, alpha);
            /* The streamed and panel kernels at every N (linear switches at 9 rows). */
            for (int k = 0; k < 2; k++) {
                if (acc)
                    memcpy(y, y0, ny * sizeof(float));
                else
                    for (size_t i = 0; i < ny; i++)
                        y[i] = NAN;
                if (k)
                    rlc_cpu_linear_panels(x, N, in, &o, 1, alpha, acc, scratch);
                else
                    rlc_cpu_linear_streamed(x, N, in, &o, 1, alpha, acc);
                snprintf(what, sizeof what, "%s %s %s acc=%d", k ? "panels" : "streamed",
                         bf16 ? "bf16" : "f32", isa_name[p], acc);
                check_y(what, y, r, acc ? y0 : NULL, xp, w.wide, N, in, out, alpha);
            }
            rlc_cpu_isa_set(prev);
        }
    free(x), free(xr), free(y0), free(r), free(y), free(scratch);
    wmat_free(&w);
}

Test(linear, cpu_matches_ref_f32_and_bf16) {
    static const int Ns[] = {1, 2, 3, 5, 8, 16, 17, 33, 64, 300};
    static const int shapes[][2] = {{37, 129}, {129, 37}, {576, 1000}, {1000, 3}, {16, 5}};
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int in = shapes[s][0], out = shapes[s][1];
            if (Ns[n] > 17 && (size_t)in * out > 5000) continue; /* keep the reference quick */
            for (int bf16 = 0; bf16 < 2; bf16++)
                linear_case(Ns[n], in, out, bf16, n % 2 ? -0.75f : 1.0f);
        }
}

/* Fused outputs of different sizes share x: each equals its own reference
 * product. Mixed dtypes multiply F32 products under every ISA; all BF16,
 * BF16 products under AVX512_BF16 (the reference on x rounded to BF16). */
Test(linear, fused_outputs) {
    const rlc_backend *cpu = rlc_backend_cpu(), *ref = rlc_backend_ref();
    static const int Ns[] = {1, 5, 17, 64};
    int in = 131, outs[3] = {129, 37, 6};
    float alpha = 0.5f;
    float *scratch = scratch_new();
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
        for (int all = 0; all < 2; all++)
            for (int p = 0; p < N_ISAS; p++) {
                int N = Ns[n], dp = all && isa_dp(isas[p]);
                float *x = rnd((size_t)N * in), *xr = round_bf16(x, (size_t)N * in);
                wmat w[3];
                float *y0[3], *r[3], *y[3];
                rlc_linear_out o[3], orf[3];
                for (int j = 0; j < 3; j++) {
                    size_t ny = (size_t)N * outs[j];
                    w[j] = wmat_new(outs[j], in, all || j == 1);
                    y0[j] = rnd(ny), r[j] = rnd(ny), y[j] = rnd(ny);
                    memcpy(r[j], y0[j], ny * sizeof(float));
                    orf[j] = (rlc_linear_out){r[j], w[j].W, outs[j]};
                    memcpy(y[j], y0[j], ny * sizeof(float));
                    o[j] = (rlc_linear_out){y[j], w[j].W, outs[j]};
                }
                ref->linear(dp ? xr : x, N, in, orf, 3, alpha, 1, NULL);
                rlc_cpu_isa prev = rlc_cpu_isa_set(isas[p]);
                cpu->linear(x, N, in, o, 3, alpha, 1, scratch);
                rlc_cpu_isa_set(prev);
                for (int j = 0; j < 3; j++)
                    check_y(isa_name[p], y[j], r[j], y0[j], dp ? xr : x, w[j].wide, N, in, outs[j],
                            alpha);
                for (int j = 0; j < 3; j++)
                    free(y0[j]), free(r[j]), free(y[j]), wmat_free(&w[j]);
                free(x), free(xr);
            }
    free(scratch);
}

/* With F32 products, a BF16 W gives what its widened F32 copy gives: bit
 * for bit in the streamed kernels (same summation order) at any N, and
 * through linear with AVX-512 (streamed or panel kernels); through linear
 * without it (which
 * takes sgemm for F32 W from 25 rows, for BF16 from 49, and whose blocking
 * may differ between the two) within the file's tolerance, 1e-5 of
 * sum |x w| (about in / 4 for entries uniform in [-1, 1]). */
Test(linear, bf16_equals_widened_f32) {
    const rlc_backend *cpu = rlc_backend_cpu();
    static const int Ns[] = {1, 4, 7, 24, 25, 40, 49};
    int in = 1000, out = 1100; /* > RLC_LINEAR_SCRATCH / in rows: two widened blocks */
    wmat wb = wmat_new(out, in, 1);
    rlc_wmat wf = {.f32 = wb.wide};
    float *scratch = scratch_new();
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++) {
        int N = Ns[n];
        size_t ny = (size_t)N * out;
        float *x = rnd((size_t)N * in), *yb = rnd(ny), *yf = rnd(ny);
        for (int p = 1; p < N_ISAS; p++) { /* the F32-product ones */
            rlc_cpu_isa prev = rlc_cpu_isa_set(isas[p]);
            rlc_linear_out ob = {yb, wb.W, out}, of = {yf, wf, out};
            rlc_cpu_linear_streamed(x, N, in, &ob, 1, 1.0f, 0);
            rlc_cpu_linear_streamed(x, N, in, &of, 1, 1.0f, 0);
            for (size_t i = 0; i < ny; i++)
                cr_assert(yb[i] == yf[i], "%s N=%d: bf16 %.9g != widened f32 %.9g", isa_name[p], N,
                          yb[i], yf[i]);
            cpu->linear(x, N, in, &ob, 1, 1.0f, 0, scratch);
            cpu->linear(x, N, in, &of, 1, 1.0f, 0, scratch);
            int exact = rlc_cpu_isa_get() == RLC_CPU_AVX512;
            rlc_cpu_isa_set(prev);
            for (size_t i = 0; i < ny; i++)
                cr_assert(exact ? yb[i] == yf[i] : fabsf(yb[i] - yf[i]) <= 1e-5f * in / 4,
                          "%s N=%d: %.9g vs %.9g", isa_name[p], N, yb[i], yf[i]);
        }
        free(x), free(yb), free(yf);
    }
    free(scratch);
    wmat_free(&wb);
}

/* linear_dx (streamed up to 4 rows, sgemm beyond) and the streamed kernel
 * at every N (x in blocks of 24 rows), against the reference. */
Test(linear, linear_dx_matches_ref) {
    const rlc_backend *cpu = rlc_backend_cpu(), *ref = rlc_backend_ref();
    static const int Ns[] = {1, 3, 17, 30};
    int in = 1000, out = 1100; /* > RLC_LINEAR_SCRATCH / in rows: two widened blocks */
    float *scratch = scratch_new();
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
        for (int bf16 = 0; bf16 < 2; bf16++)
            for (int acc = 0; acc < 2; acc++) {
                int N = Ns[n];
                wmat w = wmat_new(out, in, bf16);
                size_t nx = (size_t)N * in;
                float *dy = rnd((size_t)N * out), *d0 = rnd(nx), *r = rnd(nx);
                float *d[2] = {rnd(nx), rnd(nx)};
                memcpy(r, d0, nx * sizeof(float));
                for (int v = 0; v < 2; v++) {
                    memcpy(d[v], d0, nx * sizeof(float));
                    if (!acc)
                        for (size_t i = 0; i < nx; i++)
                            d[v][i] = NAN;
                }
                ref->linear_dx(r, dy, w.W, N, in, out, -1.5f, acc, NULL);
                cpu->linear_dx(d[0], dy, w.W, N, in, out, -1.5f, acc, scratch);
                rlc_cpu_linear_dx_streamed(d[1], dy, w.W, N, in, out, -1.5f, acc);
                for (int i = 0; i < N; i++)
                    for (int c = 0; c < in; c++) {
                        double mag = 0.0;
                        for (int o = 0; o < out; o++)
                            mag +=
                                fabs((double)dy[(size_t)i * out + o] * w.wide[(size_t)o * in + c]);
                        size_t at = (size_t)i * in + c;
                        double tol = 1e-5 * (1.5 * mag + (acc ? fabs(d0[at]) : 0.0));
                        for (int v = 0; v < 2; v++)
                            cr_assert(fabs((double)d[v][at] - r[at]) <= tol,
                                      "%s: dx[%d,%d] = %.9g, reference %.9g (N=%d bf16=%d acc=%d)",
                                      v ? "streamed" : "linear_dx", i, c, d[v][at], r[at], N, bf16,
                                      acc);
                    }
                free(dy), free(d0), free(r), free(d[0]), free(d[1]);
                wmat_free(&w);
            }
    free(scratch);
}

/* The AVX-512 panel kernels (linear from 9 rows): every y[i, r] is exactly
 * alpha * (one fmaf chain over k = 0..in-1 of x[i,k] * w[r,k]) (+ y0), for
 * F32 and BF16 weights, fused outputs of heights around the panels' 12 and
 * 16 and the chunks' 48, row counts around the blocks' 16 and 32, and x
 * packed in several passes (in = 8192: 128 rows a pass); the same bits at 1
 * and 2 threads. Without AVX-512 the test has nothing to check. */
Test(linear, panels_are_one_fma_chain) {
    if (rlc_cpu_isa_get() < RLC_CPU_AVX512) return;
    static const int Ns[] = {1, 9, 16, 17, 32, 33, 70, 300};
    static const int ins[] = {1, 2, 3, 37, 129, 8192};
    static const int outs[][2] = {{5, 12}, {13, 16}, {47, 48}, {49, 100}, {1, 17}};
    float *scratch = scratch_new();
    int max = omp_get_max_threads() > 1 ? omp_get_max_threads() : 2;
    for (size_t a = 0; a < sizeof ins / sizeof *ins; a++)
        for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
            for (size_t b = 0; b < sizeof outs / sizeof *outs; b++) {
                int N = Ns[n], in = ins[a], acc = (int)(n + b) % 2;
                if (in == 8192 && (N < 300 || b > 0)) continue; /* the passes: one case */
                float alpha = b % 2 ? -0.75f : 1.0f;
                wmat w[2] = {wmat_new(outs[b][0], in, 0), wmat_new(outs[b][1], in, 1)};
                float *x = rnd((size_t)N * in), *y0[2], *y[2][2];
                rlc_linear_out o[2][2];
                for (int j = 0; j < 2; j++) {
                    size_t ny = (size_t)N * outs[b][j];
                    y0[j] = rnd(ny), y[0][j] = rnd(ny), y[1][j] = rnd(ny);
                    for (int t = 0; t < 2; t++) {
                        memcpy(y[t][j], y0[j], ny * sizeof(float));
                        o[t][j] = (rlc_linear_out){y[t][j], w[j].W, outs[b][j]};
                    }
                }
                omp_set_num_threads(1);
                rlc_cpu_linear_panels(x, N, in, o[0], 2, alpha, acc, scratch);
                omp_set_num_threads(max);
                rlc_cpu_linear_panels(x, N, in, o[1], 2, alpha, acc, scratch);
                for (int j = 0; j < 2; j++)
                    for (int i = 0; i < N; i++)
                        for (int r = 0; r < outs[b][j]; r++) {
                            float c = 0.0f;
                            for (int k = 0; k < in; k++)
                                c = fmaf(x[(size_t)i * in + k], w[j].wide[(size_t)r * in + k], c);
                            size_t at = (size_t)i * outs[b][j] + r;
                            float want = acc ? alpha * c + y0[j][at] : alpha * c;
                            for (int t = 0; t < 2; t++)
                                cr_assert(y[t][j][at] == want,
                                          "%s N=%d in=%d out=%d acc=%d threads=%d: y[%d,%d] = "
                                          "%.9g, fma chain %.9g",
                                          j ? "bf16" : "f32", N, in, outs[b][j], acc, t ? max : 1,
                                          i, r, y[t][j][at], want);
                        }
                for (int j = 0; j < 2; j++)
                    free(y0[j]), free(y[0][j]), free(y[1][j]), wmat_free(&w[j]);
                free(x);
            }
    free(scratch);
}

/* Rows of a BF16 table come out exactly widened; of an F32 one, copied. */
Test(linear, embedding_bf16_and_f32) {
    const rlc_backend *cpu = rlc_backend_cpu();
    int V = 50, C = 77, N = 300;
    int *ids = malloc((size_t)N * sizeof(int));
    cr_assert_not_null(ids);
    for (int i = 0; i < N; i++)
        ids[i] = (i * 37 + 11) % V;
    for (int bf16 = 0; bf16 < 2; bf16++) {
        wmat w = wmat_new(V, C, bf16);
        float *out = rnd((size_t)N * C);
        cpu->embedding_forward(out, ids, w.W, N, C);
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++)
                cr_assert(out[(size_t)i * C + c] == w.wide[(size_t)ids[i] * C + c],
                          "bf16=%d row %d col %d", bf16, i, c);
        free(out);
        wmat_free(&w);
    }
    free(ids);
}

/* rlc_cpu_sgemm: against a double-precision product, and with the same bits
 * for one thread, two threads and a call from inside a parallel region, for
 * every transpose, shapes cut along M or N (and with edge tiles), alpha and
 * beta. A plain OpenBLAS sgemm gives other bits at 2 threads than at 1. */
Test(linear, sgemm_same_bits_any_thread_count) {
    static const int shapes[][3] = {{1280, 128, 344}, {70, 1030, 96}, {300, 300, 17},
                                    {33, 64, 40},     {2000, 24, 64}, {129, 4097, 33}};
    int max = omp_get_max_threads() > 1 ? omp_get_max_threads() : 2;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = t & 1, tb = t >> 1;
            float *A = rnd((size_t)M * K), *B = rnd((size_t)K * N), *C0 = rnd((size_t)M * N);
            float *C[3];
            int lda = ta ? M : K, ldb = tb ? K : N;
            for (int r = 0; r < 3; r++) {
                C[r] = malloc((size_t)M * N * sizeof(float));
                cr_assert_not_null(C[r]);
                memcpy(C[r], C0, (size_t)M * N * sizeof(float));
            }
            omp_set_num_threads(1);
            rlc_cpu_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C[0], N);
            omp_set_num_threads(max);
            rlc_cpu_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C[1], N);
#pragma omp parallel num_threads(2)
            {
#pragma omp single
                rlc_cpu_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C[2], N);
            }
            for (int r = 1; r < 3; r++)
                cr_assert(!memcmp(C[0], C[r], (size_t)M * N * sizeof(float)),
                          "%dx%dx%d ta=%d tb=%d: other bits in run %d", M, N, K, ta, tb, r);
            for (int i = 0; i < M; i += 7)
                for (int j = 0; j < N; j += 5) {
                    double acc = 0, mag = 0;
                    for (int k = 0; k < K; k++) {
                        double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                        double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                        acc += a * b, mag += fabs(a * b);
                    }
                    double want = 0.5 * acc + 0.25 * C0[(size_t)i * N + j];
                    cr_assert_leq(fabs(C[0][(size_t)i * N + j] - want), 1e-5 * (mag + 1),
                                  "%dx%dx%d ta=%d tb=%d at (%d,%d)", M, N, K, ta, tb, i, j);
                }
            for (int r = 0; r < 3; r++)
                free(C[r]);
            free(A), free(B), free(C0);
        }
}

Test(linear, cores_pick) {
    cr_expect_eq(rlc_cores_pick(2.0, 2), 2);  /* idle machine */
    cr_expect_eq(rlc_cores_pick(1.33, 2), 1); /* 2 threads sharing with one busy process */
    cr_expect_eq(rlc_cores_pick(1.0, 2), 1);  /* 1 thread beside it */
    cr_expect_eq(rlc_cores_pick(1.75, 2), 2); /* most of the second core free */
    cr_expect_eq(rlc_cores_pick(0.1, 2), 1);  /* never below one */
    cr_expect_eq(rlc_cores_pick(15.9, 8), 8); /* never above the start */
    cr_expect_eq(rlc_cores_pick(5.6, 8), 5);
}

/* BF16 products (AVX512_BF16): the streamed and the panel kernels give the
 * same bits at 1 and 2 threads, fused BF16 outputs around the blocks' and
 * chunks' sizes, odd and even row lengths. Without AVX512_BF16 the test has
 * nothing to check. */
Test(linear, bf16_products_independent_of_threads) {
    if (!isa_dp(RLC_CPU_AVX512_BF16)) {
        cr_log_warn("CPU without AVX512_BF16: no BF16 products to check");
        return;
    }
    static const int Ns[] = {1, 3, 8, 9, 17, 33, 70};
    static const int ins[] = {1, 31, 33, 576};
    int outs[2] = {47, 100};
    float *scratch = scratch_new();
    int max = omp_get_max_threads() > 1 ? omp_get_max_threads() : 2;
    rlc_cpu_isa prev = rlc_cpu_isa_set(RLC_CPU_AVX512_BF16);
    for (size_t a = 0; a < sizeof ins / sizeof *ins; a++)
        for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
            for (int k = 0; k < 2; k++) {
                int N = Ns[n], in = ins[a];
                wmat w[2] = {wmat_new(outs[0], in, 1), wmat_new(outs[1], in, 1)};
                float *x = rnd((size_t)N * in), *y[2][2];
                rlc_linear_out o[2][2];
                for (int t = 0; t < 2; t++) {
                    for (int j = 0; j < 2; j++) {
                        y[t][j] = rnd((size_t)N * outs[j]);
                        o[t][j] = (rlc_linear_out){y[t][j], w[j].W, outs[j]};
                    }
                    omp_set_num_threads(t ? max : 1);
                    if (k)
                        rlc_cpu_linear_panels(x, N, in, o[t], 2, 1.0f, 0, scratch);
                    else
                        rlc_cpu_linear_streamed(x, N, in, o[t], 2, 1.0f, 0);
                }
                omp_set_num_threads(max);
                for (int j = 0; j < 2; j++)
                    for (size_t i = 0; i < (size_t)N * outs[j]; i++)
                        cr_assert(y[0][j][i] == y[1][j][i],
                                  "%s N=%d in=%d output %d [%zu]: 1 thread %.9g, %d threads %.9g",
                                  k ? "panels" : "streamed", N, in, j, i, y[0][j][i], max,
                                  y[1][j][i]);
                for (int j = 0; j < 2; j++)
                    free(y[0][j]), free(y[1][j]), wmat_free(&w[j]);
                free(x);
            }
    rlc_cpu_isa_set(prev);
    free(scratch);
}
