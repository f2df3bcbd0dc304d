/* Kernel micro-benchmark: every CPU kernel at the sizes of the small training
 * config (N=2048 tokens, C=256, D=64, T=128, F=688, V=512) and of a decode
 * step, printed as GFLOP/s (compute-bound kernels, against a 1024^3 sgemm
 * measured in the same run) or GB/s (memory-bound ones, counting each
 * tensor read or written once), and the fast exp against libm's expf. Usage:
 * build/bench_kernels [threads]. */
#include "tensor/backend.h"
#include "tensor/cpu_attention.h"
#include "tensor/cpu_math.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv) {
    if (argc > 1) omp_set_num_threads(atoi(argv[1]));
    const rlc_backend *be = rlc_backend_cpu();
    int N = 2048, C = 256, D = 64, T = 128, F = 688, V = 512;
    printf("threads %d\n", omp_get_max_threads());

    {
        int n = 1024;
        float *A = buf((size_t)n * n), *Bm = buf((size_t)n * n), *Cm = buf((size_t)n * n);
        double s;
        TIME(s, be->matmul(0, 0, n, n, n, 1.0f, A, n, Bm, n, 0.0f, Cm, n));
        peak = 2.0 * n * n * n / s * 1e-9;
        printf("%-44s %9.1f us %8.1f GFLOP/s  (reference)\n", "sgemm 1024^3", s * 1e6, peak);
        free(A), free(Bm), free(Cm);
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
    return 0;
}
