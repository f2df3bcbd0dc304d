/* Kernel micro-benchmark: every CPU kernel at the sizes of the small training
 * config (N=2048 tokens, C=256, D=64, T=128, F=688, V=512) and of a decode
 * step, printed as GFLOP/s (compute-bound kernels, against the faster of a
 * 1024^3 product by rlc's matmul and by OpenBLAS's best kernel, sgemm_peak.h,
 * measured in the same run) or GB/s (memory-bound ones, counting each
 * tensor read or written once), and the fast exp against libm's expf. Usage:
 * build/bench_kernels [threads] [linear|threshold|dx|dpbf16] (only the
 * linear rows, the rows where linear changes kernels, the linear_dx rows or
 * the BF16-weight many-row products, BF16 against F32 products). */
#include "base/dtype.h"
#include "tensor/backend.h"
#include "tensor/cpu_attention.h"
#include "tensor/cpu_kernels.h"
#include "tensor/cpu_math.h"

#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgemm_peak.h"

static float *buf(size_t n) {
    float *x = malloc(n * sizeof(float));
    if (!x) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return x;
}

/* Best of 5 batches, each running the body for at least 40 ms (after one
 * warm-up call): the machine is shared, and the minimum is the least noisy
 * estimate of what the kernel itself costs. Leaves seconds per call in sec. */
#define TIME(sec, body)                                                                            \
    do {                                                                                           \
        body;                                                                                      \
        (sec) = 1e30;                                                                              \
        for (int b_ = 0; b_ < 5; b_++) {                                                           \
            int reps_ = 0;                                                                         \
            double t0_ = omp_get_wtime(), el_;                                                     \
            do {                                                                                   \
                body;                                                                              \
                reps_++;                                                                           \
            } while ((el_ = omp_get_wtime() - t0_) < 0.04);                                        \
            if (el_ / reps_ < (sec)) (sec) = el_ / reps_;                                          \
        }                                                                                          \
    } while (0)

static double peak;

static void report_flops(const char *name, double sec, double flops) {
    double gf = flops / sec * 1e-9;
    printf("%-44s %9.1f us %8.1f GFLOP/s  %5.1f%% of sgemm peak\n", name, sec * 1e6, gf,
           100.0 * gf / peak);
}

static void report_bytes(const char *name, double sec, double bytes) {
    printf("%-44s %9.1f us %8.1f GB/s\n", name, sec * 1e6, bytes / sec * 1e-9);
}

static void bench_matmul(const rlc_backend *be, const char *name, int ta, int tb, int M, int N,
                         int K) {
    float *A = buf((size_t)M * K), *B = buf((size_t)K * N), *C = buf((size_t)M * N);
    double s;
    TIME(s, be->matmul(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N));
    report_flops(name, s, 2.0 * M * N * K);
    free(A), free(B), free(C);
}

/* One thread, 1M inputs in [-30, 0] (softmax arguments); the fast exp and
 * libm's in the same run, and the fast one's largest error over a dense grid
 * of [-87, 88] in units of the float spacing at the exact value. */
static void exp_fast(float *restrict y, const float *restrict x, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++)
        y[i] = rlc_expf(x[i]);
}

static void exp_libm(float *restrict y, const float *restrict x, int n) {
    for (int i = 0; i < n; i++)
        y[i] = expf(x[i]);
}

static void bench_expf(void) {
    enum { NE = 1 << 20 };
    float *x = buf(NE), *y = buf(NE);
    for (int i = 0; i < NE; i++)
        x[i] = (x[i] - 0.5f) * 30.0f; /* buf gives [-0.5, 0.5) */
    double sf, sl;
    TIME(sf, exp_fast(y, x, NE));
    TIME(sl, exp_libm(y, x, NE));
    double ulp = 0;
    for (int i = 0; i <= 4000000; i++) {
        float v = -87.0f + 175.0f * (float)i / 4000000.0f;
        double ref = exp((double)v);
        float rf = (float)ref;
        double e = fabs((double)rlc_expf(v) - ref) / (double)(nextafterf(rf, INFINITY) - rf);
        if (e > ulp) ulp = e;
    }
    printf("%-44s %9.2f ns/value, libm expf %.2f ns: %.2fx; max error %.2f ulp\n",
           "rlc_expf 1M in [-30,0]", sf / NE * 1e9, sl / NE * 1e9, sl / sf, ulp);
    free(x), free(y);
}

/* STREAM-like bandwidth over three 256 MiB arrays (beyond the caches):
 * copy (2 arrays of traffic), triad (3) and a read-only sum (1); returns the
 * triad's GB/s, the yardstick for the linear rows below. */
static void stream_copy(float *restrict a, const float *restrict b, size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        a[i] = b[i];
}

static void stream_triad(float *restrict a, const float *restrict b, const float *restrict c,
                         size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + 0.5f * c[i];
}

static float stream_read(const float *c, size_t n) {
    float t = 0.0f;
#pragma omp parallel for simd schedule(static) reduction(+ : t)
    for (size_t i = 0; i < n; i++)
        t += c[i];
    return t;
}

static double bench_stream(void) {
    size_t n = (size_t)1 << 26;
    float *a = buf(n), *b = buf(n), *c = buf(n);
    double s_copy, s_triad, s_read, fb = sizeof(float);
    volatile float sink = 0.0f;
    TIME(s_copy, stream_copy(a, b, n));
    TIME(s_triad, stream_triad(a, b, c, n));
    TIME(s_read, sink += stream_read(c, n));
    printf("%-44s copy %.1f GB/s, triad %.1f GB/s, read %.1f GB/s\n", "STREAM 256 MiB arrays",
           2 * n * fb / s_copy * 1e-9, 3 * n * fb / s_triad * 1e-9, n * fb / s_read * 1e-9);
    free(a), free(b), free(c);
    return 3 * n * fb / s_triad * 1e-9;
}

/* One fused linear at a real model's shape: y_j[N, out_j] = x[N, in] W_j^T. */
typedef struct lshape {
    const char *name;
    int in, n_out, outs[3];
} lshape;

/* One timed call of bench_linear: the next copy of the weights each time. */
typedef struct lin_ctx {
    const rlc_backend *be;
    const lshape *sh;
    int N, bf16;
    size_t per;
    int copies, c;
    float *wf;
    uint16_t *wb;
    float *x, *scratch, *y[3];
} lin_ctx;

static void lin_rlc(lin_ctx *L) {
    rlc_linear_out o[3];
    size_t off = (size_t)L->c * L->per;
    for (int j = 0; j < L->sh->n_out; j++) {
        o[j] = (rlc_linear_out){L->y[j], {NULL, NULL}, L->sh->outs[j]};
        if (L->bf16)
            o[j].W.bf16 = L->wb + off;
        else
            o[j].W.f32 = L->wf + off;
        off += (size_t)L->sh->outs[j] * L->sh->in;
    }
    L->be->linear(L->x, L->N, L->sh->in, o, L->sh->n_out, 1.0f, 0, L->scratch);
    L->c = (L->c + 1) % L->copies;
}

static void lin_sgemm(lin_ctx *L) {
    int in = L->sh->in;
    const float *w = L->wf + (size_t)L->c * L->per;
    for (int j = 0; j < L->sh->n_out; j++) {
        int out = L->sh->outs[j];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L->N, out, in, 1.0f, L->x, in, w, in,
                    0.0f, L->y[j], out);
        w += (size_t)out * in;
    }
    L->c = (L->c + 1) % L->copies;
}

/* linear's BF16 path before the streamed kernels: widen a block, sgemm it. */
static void lin_widen_sgemm(lin_ctx *L) {
    int in = L->sh->in, nb = (int)(RLC_LINEAR_SCRATCH / (size_t)in);
    const uint16_t *w = L->wb + (size_t)L->c * L->per;
    for (int j = 0; j < L->sh->n_out; j++) {
        int out = L->sh->outs[j];
        for (int r0 = 0; r0 < out; r0 += nb) {
            int n = out - r0 < nb ? out - r0 : nb;
            size_t tot = (size_t)n * in;
            const uint16_t *src = w + (size_t)r0 * in;
            float *dst = L->scratch;
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < tot; i++) {
                uint32_t u = (uint32_t)src[i] << 16;
                memcpy(&dst[i], &u, 4);
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L->N, n, in, 1.0f, L->x, in,
                        L->scratch, in, 0.0f, L->y[j] + r0, out);
        }
        w += (size_t)out * in;
    }
    L->c = (L->c + 1) % L->copies;
}

/* The fused product through rlc's linear, over copies of the weights that
 * together pass 1 GiB (each call reads its W from memory, not the cache):
 * time, GB/s of weights, % of the STREAM triad, and the time of OpenBLAS
 * sgemm on the same product with F32 weights (for BF16, also the widen-then-
 * sgemm path linear took before). */
static void bench_linear(const rlc_backend *be, const lshape *sh, int N, int bf16, double stream) {
    size_t per = 0;
    for (int j = 0; j < sh->n_out; j++)
        per += (size_t)sh->outs[j] * sh->in;
    size_t esz = bf16 ? 2 : 4, bytes = per * esz;
    int copies = (int)(((size_t)1 << 30) / (per * 4) + 1);
    float *wf = buf(per * copies);
    uint16_t *wb = bf16 ? malloc(per * copies * 2) : NULL;
    float *scratch = buf(RLC_LINEAR_SCRATCH), *x = buf((size_t)N * sh->in);
    float *y[3] = {NULL, NULL, NULL};
    for (int j = 0; j < sh->n_out; j++)
        y[j] = buf((size_t)N * sh->outs[j]);
    if (bf16 && !wb) exit(1);
    if (bf16)
        for (size_t i = 0; i < per * copies; i++)
            wb[i] = (uint16_t)(((uint32_t)(i * 2654435761u) % 1000u) + 0x3c00u);
    lin_ctx L = {be, sh, N, bf16, per, copies, 0, wf, wb, x, scratch, {y[0], y[1], y[2]}};
    double s_rlc, s_sgemm, s_old = 0;
    TIME(s_rlc, lin_rlc(&L));
    TIME(s_sgemm, lin_sgemm(&L));
    if (bf16) TIME(s_old, lin_widen_sgemm(&L));
    double gbs = bytes / s_rlc * 1e-9;
    char name[96];
    snprintf(name, sizeof name, "%s %s N=%d", sh->name, bf16 ? "bf16" : "f32", N);
    printf("%-44s %9.1f us %6.1f GB/s %5.1f%% STREAM  sgemm(f32 W) %.2fx", name, s_rlc * 1e6, gbs,
           100 * gbs / stream, s_sgemm / s_rlc);
    if (bf16) printf("  widen+sgemm %.2fx", s_old / s_rlc);
    printf("\n");
    free(wf), free(wb), free(scratch), free(x);
    for (int j = 0; j < sh->n_out; j++)
        free(y[j]);
}

/* Where linear hands over from the streamed kernels: streamed, the AVX-512
 * panel kernels and OpenBLAS sgemm (F32 W; for BF16 W, linear's old path:
 * widen into scratch, sgemm) at growing N on two shapes (135M gate|up,
 * Qwen3-0.6B gate|up), weights hot in the cache as in a prefill. GFLOP/s. */
static void bench_linear_threshold(int bf16, int in, int out) {
    int Ns[] = {4, 8, 9, 12, 16, 24, 32, 48, 64, 128, 512};
    size_t per = (size_t)in * out;
    float *wf = buf(per), *scratch = buf(RLC_LINEAR_SCRATCH);
    uint16_t *wb = malloc(per * 2);
    if (!wb) exit(1);
    for (size_t i = 0; i < per; i++)
        wb[i] = (uint16_t)(((uint32_t)(i * 2654435761u) % 1000u) + 0x3c00u);
    rlc_wmat W = bf16 ? (rlc_wmat){.bf16 = wb} : (rlc_wmat){.f32 = wf};
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++) {
        int N = Ns[n];
        float *x = buf((size_t)N * in), *y = buf((size_t)N * out);
        rlc_linear_out o = {y, W, out};
        double s_str, s_pan, s_gemm;
        TIME(s_str, rlc_cpu_linear_streamed(x, N, in, &o, 1, 1.0f, 0));
        TIME(s_pan, rlc_cpu_linear_panels(x, N, in, &o, 1, 1.0f, 0, scratch));
        if (bf16) {
            lshape sh = {"", in, 1, {out}};
            lin_ctx L = {NULL, &sh, N, 1, per, 1, 0, NULL, wb, x, scratch, {y, NULL, NULL}};
            TIME(s_gemm, lin_widen_sgemm(&L));
        } else {
            TIME(s_gemm, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x,
                                     in, wf, in, 0.0f, y, out));
        }
        double fl = 2.0 * N * per * 1e-9;
        char name[96];
        snprintf(name, sizeof name, "threshold %s %d->%d N=%d", bf16 ? "bf16" : "f32", in, out, N);
        printf("%-40s GFLOP/s: streamed %6.1f  panels %6.1f  %s %6.1f\n", name, fl / s_str,
               fl / s_pan, bf16 ? "widen+sgemm" : "sgemm", fl / s_gemm);
        free(x), free(y);
    }
    free(wf), free(wb), free(scratch);
}

/* linear_dx with W streamed once against sgemm (F32 W) at growing N, W
 * hot in the cache: where linear_dx hands over to sgemm. */
static void bench_linear_dx(int in, int out) {
    int Ns[] = {1, 4, 8, 16, 24, 32};
    size_t per = (size_t)in * out;
    float *wf = buf(per);
    uint16_t *wb = malloc(per * 2);
    if (!wb) exit(1);
    for (size_t i = 0; i < per; i++)
        wb[i] = (uint16_t)(((uint32_t)(i * 2654435761u) % 1000u) + 0x3c00u);
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++) {
        int N = Ns[n];
        float *dy = buf((size_t)N * out), *dx = buf((size_t)N * in);
        double s_f, s_b, s_gemm;
        TIME(s_f, rlc_cpu_linear_dx_streamed(dx, dy, (rlc_wmat){.f32 = wf}, N, in, out, 1.0f, 0));
        TIME(s_b, rlc_cpu_linear_dx_streamed(dx, dy, (rlc_wmat){.bf16 = wb}, N, in, out, 1.0f, 0));
        TIME(s_gemm, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy,
                                 out, wf, in, 0.0f, dx, in));
        char name[96];
        snprintf(name, sizeof name, "linear_dx %d->%d N=%d", out, in, N);
        printf("%-44s streamed f32 %8.1f us (sgemm %.2fx), bf16 %8.1f us (sgemm %.2fx)\n", name,
               s_f * 1e6, s_gemm / s_f, s_b * 1e6, s_gemm / s_b);
        free(dy), free(dx);
    }
    free(wf), free(wb);
}

/* Many rows with a BF16 W, three ways: rlc's panels with BF16 products (x
 * rounded to BF16, vdpbf16ps; what linear does where the CPU has
 * AVX512_BF16), rlc's panels with F32 products, and rlc's path without
 * AVX-512 (W widened block by block, OpenBLAS sgemm). Prints time and the
 * largest error relative to sum |x w| against a double product (on x rounded
 * to BF16 for the BF16 products). Debian's OpenBLAS has no sbgemm; oneDNN's
 * BF16 matmul is compared in bench/onednn.c. */
static double dp_err(const float *y, const float *x, const float *wide, int N, int in, int out) {
    double e = 0;
    for (int i = 0; i < N; i += 7)
        for (int r = 0; r < out; r += 5) {
            double ref = 0, mag = 0;
            for (int k = 0; k < in; k++) {
                double p = (double)x[(size_t)i * in + k] * wide[(size_t)r * in + k];
                ref += p, mag += fabs(p);
            }
            e = fmax(e, fabs(y[(size_t)i * out + r] - ref) / mag);
        }
    return e;
}

static void bench_linear_dpbf16(void) {
    if (!__builtin_cpu_supports("avx512bf16")) {
        printf("bf16 products: CPU without AVX512_BF16, skipped\n");
        return;
    }
    static const int shapes[][3] = {
        {576, 1536, 128}, {1024, 6144, 64}, {1024, 6144, 256}, {1024, 6144, 1024}};
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        int in = shapes[c][0], out = shapes[c][1], N = shapes[c][2];
        size_t per = (size_t)in * out;
        float *wide = buf(per), *scratch = buf(RLC_LINEAR_SCRATCH), *x = buf((size_t)N * in);
        float *xr = buf((size_t)N * in), *y[3];
        uint16_t *wb = malloc(per * 2);
        if (!wb) exit(1);
        for (size_t i = 0; i < per; i++) {
            wb[i] = rlc_f32_to_bf16(wide[i]);
            wide[i] = rlc_bf16_to_f32(wb[i]);
        }
        for (size_t i = 0; i < (size_t)N * in; i++)
            xr[i] = rlc_bf16_to_f32(rlc_f32_to_bf16(x[i]));
        for (int v = 0; v < 3; v++)
            y[v] = buf((size_t)N * out);
        static const rlc_cpu_isa isa[3] = {RLC_CPU_AVX512_BF16, RLC_CPU_AVX512, RLC_CPU_GENERIC};
        double s[3];
        for (int v = 0; v < 3; v++) {
            rlc_linear_out o = {y[v], {.bf16 = wb}, out};
            rlc_cpu_isa prev = rlc_cpu_isa_set(isa[v]);
            TIME(s[v], rlc_cpu_linear_panels(x, N, in, &o, 1, 1.0f, 0, scratch));
            rlc_cpu_isa_set(prev);
        }
        char name[96];
        snprintf(name, sizeof name, "bf16 W %d->%d N=%d", in, out, N);
        double gf = 2.0 * N * per * 1e-9;
        printf("%-28s bf16 products %7.1f us (%4.0f GFLOP/s, err %.1e), f32 products %7.1f us "
               "(err %.1e, %.2fx), widen+sgemm %7.1f us (err %.1e, %.2fx)\n",
               name, s[0] * 1e6, gf / s[0], dp_err(y[0], xr, wide, N, in, out), s[1] * 1e6,
               dp_err(y[1], x, wide, N, in, out), s[1] / s[0], s[2] * 1e6,
               dp_err(y[2], x, wide, N, in, out), s[2] / s[0]);
        for (int v = 0; v < 3; v++)
            free(y[v]);
        free(wide), free(scratch), free(x), free(xr), free(wb);
    }
}

/* Linear maps at real model shapes (decode N=1, 16 sequences N=16). */
static void bench_linear_all(const rlc_backend *be) {
    printf("linear: cpu kernels %s\n", rlc_cpu_isa_get() == RLC_CPU_AVX512_BF16 ? "avx512+bf16"
                                       : rlc_cpu_isa_get() == RLC_CPU_AVX512    ? "avx512"
                                                                                : "generic");
    double stream = bench_stream();
    static const lshape shapes[] = {
        {"135M q|k|v 576->576,192,192", 576, 3, {576, 192, 192}},
        {"135M o 576->576", 576, 1, {576}},
        {"135M gate|up 576->1536x2", 576, 2, {1536, 1536}},
        {"135M down 1536->576", 1536, 1, {576}},
        {"135M lm head 576->49152", 576, 1, {49152}},
        {"0.6B q|k|v 1024->2048,1024,1024", 1024, 3, {2048, 1024, 1024}},
        {"0.6B o 2048->1024", 2048, 1, {1024}},
        {"0.6B gate|up 1024->3072x2", 1024, 2, {3072, 3072}},
        {"0.6B down 3072->1024", 3072, 1, {1024}},
        {"0.6B lm head 1024->151936", 1024, 1, {151936}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int bf16 = 0; bf16 < 2; bf16++) {
            bench_linear(be, &shapes[i], 1, bf16, stream);
            bench_linear(be, &shapes[i], 16, bf16, stream);
        }
    for (int bf16 = 0; bf16 < 2; bf16++) {
        bench_linear_threshold(bf16, 576, 1536);
        bench_linear_threshold(bf16, 1024, 6144);
    }
    bench_linear_dx(576, 1536);
    bench_linear_dx(1024, 3072);
    bench_linear_dpbf16();
}

int main(int argc, char **argv) {
    if (sgemm_peak_child(argc, argv)) return 0;
    if (argc > 1) omp_set_num_threads(atoi(argv[1]));
    const rlc_backend *be = rlc_backend_cpu();
    int N = 2048, C = 256, D = 64, T = 128, F = 688, V = 512;
    printf("threads %d\n", omp_get_max_threads());
    if (argc > 2 && strcmp(argv[2], "linear") == 0) {
        bench_linear_all(be);
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "threshold") == 0) {
        for (int bf16 = 0; bf16 < 2; bf16++) {
            bench_linear_threshold(bf16, 576, 1536);
            bench_linear_threshold(bf16, 1024, 6144);
        }
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "dx") == 0) {
        bench_linear_dx(576, 1536);
        bench_linear_dx(1024, 3072);
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "dpbf16") == 0) {
        bench_linear_dx(576, 1536);
        bench_linear_dx(1024, 3072);
        bench_linear_dpbf16();
        return 0;
    }

    {
        int n = 1024;
        float *A = buf((size_t)n * n), *Bm = buf((size_t)n * n), *Cm = buf((size_t)n * n);
        double s;
        TIME(s, be->matmul(0, 0, n, n, n, 1.0f, A, n, Bm, n, 0.0f, Cm, n));
        peak = 2.0 * n * n * n / s * 1e-9;
        printf("%-44s %9.1f us %8.1f GFLOP/s\n", "rlc matmul 1024^3", s * 1e6, peak);
        free(A), free(Bm), free(Cm);
        const char *core;
        double blas = sgemm_peak_best(n, omp_get_max_threads(), &core);
        if (blas > peak) peak = blas;
        printf("sgemm peak (reference): %.1f GFLOP/s\n", peak);
    }

    /* The model's matmul shapes, forward (x W^T) and both backward products. */
    bench_matmul(be, "matmul qkv fwd   2048x384x256 (NT)", 0, 1, N, C + 2 * 64, C);
    bench_matmul(be, "matmul mlp up    2048x688x256 (NT)", 0, 1, N, F, C);
    bench_matmul(be, "matmul mlp down  2048x256x688 (NT)", 0, 1, N, C, F);
    bench_matmul(be, "matmul lm head   2048x512x256 (NT)", 0, 1, N, V, C);
    bench_matmul(be, "matmul dx        2048x256x688 (NN)", 0, 0, N, C, F);
    bench_matmul(be, "matmul dW        688x256x2048 (TN)", 1, 0, F, C, N);

    /* Attention at Hq=4, Hkv=2 (GQA) and Hq=Hkv=8, T=128 and 256: the CPU
     * kernels against the reference loops (double sums) in the same run. */
    int cfg[3][3] = {{4, 2, 128}, {8, 8, 128}, {4, 2, 256}};
    const rlc_backend *rb = rlc_backend_ref();
    for (int c = 0; c < 3; c++) {
        int Hq = cfg[c][0], Hkv = cfg[c][1], TT = cfg[c][2], BB = N / TT;
        size_t nq = (size_t)N * Hq * D, nk = (size_t)N * Hkv * D, nl = (size_t)BB * Hq * TT;
        size_t nsc = rlc_attention_scratch_floats(TT, omp_get_max_threads());
        float *q = buf(nq), *k = buf(nk), *v = buf(nk), *o = buf(nq), *lse = buf(nl);
        float *dq = buf(nq), *dk = buf(nk), *dv = buf(nk), *sc = buf(nsc), *d = buf(nq);
        double fl_f = 2.0 * BB * Hq * TT * TT * D; /* causal: half of 2 products */
        double s, sr;
        char name[96];
        snprintf(name, sizeof name, "attn fwd        Hq=%d Hkv=%d T=%d", Hq, Hkv, TT);
        TIME(s, be->attention_forward(o, lse, sc, nsc, q, k, v, BB, TT, Hq, Hkv, D));
        report_flops(name, s, fl_f);
        snprintf(name, sizeof name, "attn fwd (ref)  Hq=%d Hkv=%d T=%d", Hq, Hkv, TT);
        TIME(sr, rb->attention_forward(o, lse, sc, nsc, q, k, v, BB, TT, Hq, Hkv, D));
        report_flops(name, sr, fl_f);
        printf("  attn fwd speedup over ref: %.1fx\n", sr / s);
        snprintf(name, sizeof name, "attn bwd        Hq=%d Hkv=%d T=%d", Hq, Hkv, TT);
        TIME(s,
             be->attention_backward(dq, dk, dv, sc, nsc, d, o, lse, q, k, v, BB, TT, Hq, Hkv, D));
        report_flops(name, s, 2 * fl_f);
        free(q), free(k), free(v), free(o), free(lse), free(dq), free(dk), free(dv), free(sc);
        free(d);
    }

    /* Decode: S sequences, one new token each, caches of 256 with 128 used. */
    {
        int S = 16, Hq = 4, Hkv = 2, max_T = 256;
        size_t nc = (size_t)S * max_T * Hkv * D;
        float *q = buf((size_t)S * Hq * D), *kc = buf(nc), *vc = buf(nc);
        float *o = buf((size_t)S * Hq * D), *sc = buf((size_t)S * Hq * max_T);
        int len[16];
        for (int s = 0; s < S; s++)
            len[s] = 128;
        double s;
        TIME(s, be->attention_decode(o, sc, q, kc, vc, len, NULL, S, max_T, Hq, Hkv, D));
        report_bytes("attn decode S=16 Hq=4 Hkv=2 len=128", s,
                     2.0 * S * 128 * Hkv * D * sizeof(float));
        free(q), free(kc), free(vc), free(o), free(sc);
    }

    /* Memory-bound kernels. */
    {
        size_t nc = (size_t)N * C, nf = (size_t)N * F, nv = (size_t)N * V;
        float *x = buf(nc), *y = buf(nc), *w = buf(C), *r = buf(N), *g = buf(nf), *u = buf(nf);
        float *h = buf(nf), *dg = buf(nf), *du = buf(nf), *lg = buf(nv), *dl = buf(nv);
        float *wte = buf((size_t)V * C), *lp = buf(N), *lse = buf(N), *dlp = buf(N);
        float *ct = buf((size_t)T * D / 2), *st = buf((size_t)T * D / 2);
        int *ids = malloc((size_t)N * sizeof(int)), *pos = malloc((size_t)N * sizeof(int));
        if (!ids || !pos) return 1;
        for (int i = 0; i < N; i++)
            ids[i] = (i * 7919) % V, pos[i] = i % T;
        double s, fb = sizeof(float);
        TIME(s, be->add_bias(y, w, N, C));
        report_bytes("add_bias 2048x256", s, 2 * nc * fb);
        TIME(s, be->bias_backward(w, x, N, C));
        report_bytes("bias_backward 2048x256", s, nc * fb);
        TIME(s, be->axpy(y, 1e-3f, x, nc));
        report_bytes("axpy 524288", s, 3 * nc * fb);
        TIME(s, be->embedding_forward(y, ids, (rlc_wmat){.f32 = wte}, N, C));
        report_bytes("embedding_forward 2048x256", s, 2 * nc * fb);
        TIME(s, be->embedding_backward(wte, x, ids, N, C, V));
        report_bytes("embedding_backward 2048x256 V=512", s, 3 * nc * fb);
        TIME(s, be->rmsnorm_forward(y, r, x, w, N, C, 1e-5f));
        report_bytes("rmsnorm_forward 2048x256", s, 2 * nc * fb);
        TIME(s, be->rmsnorm_backward(y, w, x, x, w, r, N, C));
        report_bytes("rmsnorm_backward 2048x256", s, 4 * nc * fb);
        TIME(s, be->rope(x, pos, ct, st, N, C / D, D, 0));
        report_bytes("rope 2048x4x64", s, 2 * nc * fb);
        TIME(s, be->swiglu_forward(h, g, u, N, F));
        report_bytes("swiglu_forward 2048x688", s, 3 * nf * fb);
        TIME(s, be->swiglu_backward(dg, du, h, g, u, N, F));
        report_bytes("swiglu_backward 2048x688", s, 5 * nf * fb);
        TIME(s, be->logprob_forward(lp, lse, lg, ids, N, V));
        report_bytes("logprob_forward 2048x512", s, nv * fb);
        TIME(s, be->logprob_backward(dl, dlp, lg, lse, ids, N, V));
        report_bytes("logprob_backward 2048x512", s, 2 * nv * fb);
        free(x), free(y), free(w), free(r), free(g), free(u), free(h), free(dg), free(du);
        free(lg), free(dl), free(wte), free(lp), free(lse), free(dlp), free(ct), free(st);
        free(ids), free(pos);
    }
    {
        int Vb = 151936, Nb = 16; /* a decode step's logprobs over a large vocab */
        size_t n = (size_t)Nb * Vb;
        float *lg = buf(n), *lp = buf(Nb), *lse = buf(Nb);
        int ids[16];
        for (int i = 0; i < Nb; i++)
            ids[i] = i * 97;
        double s;
        TIME(s, be->logprob_forward(lp, lse, lg, ids, Nb, Vb));
        report_bytes("logprob_forward 16x151936", s, n * sizeof(float));
        free(lg), free(lp), free(lse);
    }
    bench_expf();

    bench_linear_all(be);
    return 0;
}
