/* The CPU backend: linear maps in cpu_linear.c (own AVX-512 kernels), OpenBLAS sgemm for the other
 * matmuls (in tiles: rlc_cpu_sgemm), OpenMP over rows (or over
 * channel blocks where rows would race) for everything else, inner loops
 * written so -O3 -march=native vectorizes them. Attention lives in
 * cpu_attention.c. Reductions that end in a parameter gradient are split over
 * channels, never over rows, so results do not depend on the thread count. */
#include "tensor/backend.h"
#include "tensor/cpu_attention.h"
#include "tensor/cpu_kernels.h"
#include "tensor/cpu_math.h"
#include "tensor/cpu_team.h"

#include <math.h>
#include <string.h>

/* Below this many elements a parallel region costs more than it saves
 * (decode steps touch a handful of rows). */
#define PAR_MIN 16384
/* Channel block for column reductions: 64 floats = one cache line per row. */
#define CBLK 64

static void cpu_matmul(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    rlc_cpu_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* The small ops below test their size before an OpenMP construct rather
 * than in its if clause: a construct whose if is false still costs 1.2 us
 * (2.3 us inside a team), libgomp building a team of one, and a decode step
 * calls them ~10 times a layer. */

static void add_bias_row(float *o, const float *bias, int C) {
#pragma omp simd
    for (int c = 0; c < C; c++)
        o[c] += bias[c];
}

static void cpu_add_bias(float *out, const float *bias, int N, int C) {
    if ((size_t)N * C >= PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N; i++)
            add_bias_row(out + (size_t)i * C, bias, C);
    } else {
        for (int i = 0; i < N; i++)
            add_bias_row(out + (size_t)i * C, bias, C);
    }
}

static void cpu_bias_backward(float *dbias, const float *dout, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += CBLK) {
        int n = C - c0 < CBLK ? C - c0 : CBLK;
        float acc[CBLK] = {0};
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * C + c0;
#pragma omp simd
            for (int c = 0; c < n; c++)
                acc[c] += d[c];
        }
        for (int c = 0; c < n; c++)
            dbias[c0 + c] += acc[c];
    }
}

static void cpu_axpy(float *y, float a, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= 4 * PAR_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* Each thread owns a block of channels and walks all tokens in order, so
 * repeated ids add up in the same order whatever the thread count. */
static void cpu_embedding_backward(float *dwte, const float *dout, const int *ids, int N, int C,
                                   int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += CBLK) {
        int n = C - c0 < CBLK ? C - c0 : CBLK;
        for (int i = 0; i < N; i++) {
            float *dw = dwte + (size_t)ids[i] * C + c0;
            const float *d = dout + (size_t)i * C + c0;
#pragma omp simd
            for (int c = 0; c < n; c++)
                dw[c] += d[c];
        }
    }
}

/* Row i of rmsnorm_forward. */
static void rmsnorm_row(float *out, float *rstd, const float *x, const float *w, int i, int C,
                        float eps) {
    const float *xi = x + (size_t)i * C; /* (C) */
    float *oi = out + (size_t)i * C;     /* (C) */
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int c = 0; c < C; c++)
        ss += xi[c] * xi[c];
    float r = 1.0f / sqrtf(ss / C + eps);
    rstd[i] = r;
#pragma omp simd
    for (int c = 0; c < C; c++)
        oi[c] = xi[c] * r * w[c];
}

static void cpu_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N,
                                int C, float eps) {
    if ((size_t)N * C >= PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N; i++)
            rmsnorm_row(out, rstd, x, w, i, C, eps);
    } else {
        for (int i = 0; i < N; i++)
            rmsnorm_row(out, rstd, x, w, i, C, eps);
    }
}

/* dx_j = r * (g_j - x_j * r^2 * mean_k(g_k x_k)) with g = dout * w. */
static void cpu_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                                 const float *w, const float *rstd, int N, int C) {
    int par = (size_t)N * C >= PAR_MIN;
    /* dw first, in its own pass over channel blocks: dx may alias dout, and
     * splitting over channels keeps dw independent of the thread count. */
#pragma omp parallel for schedule(static) if (par && dw)
    for (int c0 = 0; c0 < (dw ? C : 0); c0 += CBLK) {
        int n = C - c0 < CBLK ? C - c0 : CBLK;
        float acc[CBLK] = {0};
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * C + c0;
            const float *xi = x + (size_t)i * C + c0;
            float r = rstd[i];
#pragma omp simd
            for (int c = 0; c < n; c++)
                acc[c] += d[c] * xi[c] * r;
        }
        for (int c = 0; c < n; c++)
            dw[c0 + c] += acc[c];
    }
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        const float *gi = dout + (size_t)i * C;
        float *dxi = dx + (size_t)i * C;
        float r = rstd[i], dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int c = 0; c < C; c++)
            dot += gi[c] * w[c] * xi[c];
        float k = r * r * dot / C;
#pragma omp simd
        for (int c = 0; c < C; c++)
            dxi[c] = r * (gi[c] * w[c] - xi[c] * k);
    }
}

/* Token i of rope: its H heads rotated by the angles of position pos[i]. */
static void rope_row(float *x, const int *pos, const float *cos_t, const float *sin_t, int i, int H,
                     int D, float sgn) {
    int half = D / 2;
    const float *ct = cos_t + (size_t)pos[i] * half; /* (D/2) */
    const float *st = sin_t + (size_t)pos[i] * half; /* (D/2) */
    for (int h = 0; h < H; h++) {
        float *lo = x + ((size_t)i * H + h) * D; /* (D/2) first halves */
        float *hi = lo + half;                   /* (D/2) second halves */
#pragma omp simd
        for (int j = 0; j < half; j++) {
            float c = ct[j], s = sgn * st[j], a = lo[j], b = hi[j];
            lo[j] = a * c - b * s;
            hi[j] = b * c + a * s;
        }
    }
}

static void cpu_rope(float *x, const int *pos, const float *cos_t, const float *sin_t, int N, int H,
                     int D, int inverse) {
    float sgn = inverse ? -1.0f : 1.0f;
    if ((size_t)N * H * D >= PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N; i++)
            rope_row(x, pos, cos_t, sin_t, i, H, D, sgn);
    } else {
        for (int i = 0; i < N; i++)
            rope_row(x, pos, cos_t, sin_t, i, H, D, sgn);
    }
}

#ifdef __AVX512F__
/* h[i, i + 16) of swiglu_forward (fewer at the end of n). */
static inline void swiglu16(float *h, const float *g, const float *u, size_t n, size_t i) {
    __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
    __m512 gv = _mm512_maskz_loadu_ps(m, g + i);
    __m512 e = rlc_exp16(_mm512_sub_ps(_mm512_setzero_ps(), gv));
    __m512 s = _mm512_div_ps(gv, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_mask_storeu_ps(h + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
}
#endif

static void cpu_swiglu_forward(float *h, const float *g, const float *u, int N, int F) {
    size_t n = (size_t)N * F;
#ifdef __AVX512F__
    /* by hand: the compiler's vectorization of the loop below ran 3.6 ns an
     * element (5.5 us for a decode row of 1536), this one 4x faster; the same
     * operations (rlc_exp16 is rlc_expf on 16 lanes) */
    size_t nb = (n + 15) / 16;
    if (n >= PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (size_t b = 0; b < nb; b++)
            swiglu16(h, g, u, n, b * 16);
    } else {
        for (size_t b = 0; b < nb; b++)
            swiglu16(h, g, u, n, b * 16);
    }
#else
    if (n >= PAR_MIN) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++)
            h[i] = g[i] / (1.0f + rlc_expf(-g[i])) * u[i];
    } else {
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            h[i] = g[i] / (1.0f + rlc_expf(-g[i])) * u[i];
    }
#endif
}

/* silu'(g) = sig(g) * (1 + g * (1 - sig(g))). */
static void cpu_swiglu_backward(float *dg, float *du, const float *dh, const float *g,
                                const float *u, int N, int F) {
    size_t n = (size_t)N * F;
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = g[i], sig = 1.0f / (1.0f + rlc_expf(-x)), d = dh[i];
        dg[i] = d * u[i] * sig * (1.0f + x * (1.0f - sig));
        du[i] = d * x * sig;
    }
}

/* Stable: subtract the row max before exponentiating. Rows are independent
 * and long (V up to ~150k), so parallelize over rows. */
static void cpu_logprob_forward(float *logp, float *lse, const float *logits, const int *target,
                                int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *row = logits + (size_t)i * V; /* (V) */
        float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
        for (int j = 0; j < V; j++)
            mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < V; j++)
            sum += rlc_expf(row[j] - mx);
        float l = mx + logf(sum);
        lse[i] = l;
        logp[i] = target[i] < 0 ? 0.0f : row[target[i]] - l;
    }
}

static void cpu_logprob_backward(float *dlogits, const float *dlogp, const float *logits,
                                 const float *lse, const int *target, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V >= PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *row = logits + (size_t)i * V; /* (V), may alias drow */
        float *drow = dlogits + (size_t)i * V;     /* (V) */
        int tg = target[i];
        if (tg < 0) {
            memset(drow, 0, (size_t)V * sizeof(float));
            continue;
        }
        float g = dlogp[i], l = lse[i];
        float at_target = row[tg]; /* read before the row is overwritten */
#pragma omp simd
        for (int j = 0; j < V; j++)
            drow[j] = -g * rlc_expf(row[j] - l);
        drow[tg] = g * (1.0f - rlc_expf(at_target - l));
    }
}

/* ---- teams (cpu_team.h) ---------------------------------------------------
 * linear and attention_decode share their work among a team's threads; the
 * ops below are too small at a decode step's few rows to share: the team's
 * master runs them alone, then the team meets at a barrier. */
#define SOLO(call)                                                                                 \
    do {                                                                                           \
        if (rlc_cpu_team_solo_begin()) call;                                                       \
        rlc_cpu_team_solo_end();                                                                   \
    } while (0)

static void team_matmul(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                        int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    SOLO(cpu_matmul(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
}
static void team_add_bias(float *out, const float *bias, int N, int C) {
    SOLO(cpu_add_bias(out, bias, N, C));
}
static void team_embedding_forward(float *out, const int *ids, rlc_wmat wte, int N, int C) {
    SOLO(rlc_cpu_embedding_forward(out, ids, wte, N, C));
}
static void team_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N,
                                 int C, float eps) {
    SOLO(cpu_rmsnorm_forward(out, rstd, x, w, N, C, eps));
}
static void team_rope(float *x, const int *pos, const float *cos_t, const float *sin_t, int N,
                      int H, int D, int inverse) {
    SOLO(cpu_rope(x, pos, cos_t, sin_t, N, H, D, inverse));
}
static void team_swiglu_forward(float *h, const float *g, const float *u, int N, int F) {
    SOLO(cpu_swiglu_forward(h, g, u, N, F));
}
#undef SOLO

/* A team only where linear streams the weights: the panel kernels that
 * take more rows have their own parallel regions. */
static void cpu_team_run(void (*fn)(void *ctx), void *ctx, int rows, size_t work) {
    rlc_cpu_team_run(fn, ctx, rlc_cpu_linear_streams(rows) ? work : 0);
}

static const rlc_backend cpu_backend = {
    .name = "cpu",
    .matmul = team_matmul,
    .add_bias = team_add_bias,
    .bias_backward = cpu_bias_backward,
    .axpy = cpu_axpy,
    .linear = rlc_cpu_linear,
    .linear_dx = rlc_cpu_linear_dx,
    .embedding_forward = team_embedding_forward,
    .embedding_backward = cpu_embedding_backward,
    .rmsnorm_forward = team_rmsnorm_forward,
    .rmsnorm_backward = cpu_rmsnorm_backward,
    .rope = team_rope,
    .attention_forward = rlc_cpu_attention_forward,
    .attention_backward = rlc_cpu_attention_backward,
    .attention_decode = rlc_cpu_attention_decode,
    .attention_decode_bf16 = rlc_cpu_attention_decode_bf16,
    .swiglu_forward = team_swiglu_forward,
    .swiglu_backward = cpu_swiglu_backward,
    .logprob_forward = cpu_logprob_forward,
    .logprob_backward = cpu_logprob_backward,
    .adamw = rlc_cpu_adamw,
    .sumsq = rlc_cpu_sumsq,
    .scale = rlc_cpu_scale,
    .team_run = cpu_team_run,
    .team_solo_begin = rlc_cpu_team_solo_begin,
    .team_solo_end = rlc_cpu_team_solo_end,
};

const rlc_backend *rlc_backend_cpu(void) {
    return &cpu_backend;
}
