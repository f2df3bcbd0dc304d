/* The reference backend: single-threaded loops written to match the math in
 * backend.h line by line, with double accumulators, so the optimised CPU
 * kernels have something obviously right to be compared against. Speed is
 * not a goal here. */
#include "tensor/backend.h"

#include "base/dtype.h"
#include "tensor/cpu_kernels.h"

#include <math.h>
#include <string.h>

/* Element (i, j) of op(X) for a row-major X with leading dimension ld. */
static float ref_at(const float *X, int ld, int trans, int i, int j) {
    return trans ? X[(size_t)j * ld + i] : X[(size_t)i * ld + j];
}

static void ref_matmul(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++)
                acc += (double)ref_at(A, lda, transA, i, k) * ref_at(B, ldb, transB, k, j);
            float *c = &C[(size_t)i * ldc + j];
            /* BLAS semantics: with beta == 0, C is write-only (it may hold NaNs). */
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
}

static void ref_add_bias(float *out, const float *bias, int N, int C) {
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            out[(size_t)i * C + c] += bias[c];
}

static void ref_bias_backward(float *dbias, const float *dout, int N, int C) {
    for (int c = 0; c < C; c++) {
        double acc = 0.0;
        for (int i = 0; i < N; i++)
            acc += dout[(size_t)i * C + c];
        dbias[c] += (float)acc;
    }
}

static void ref_axpy(float *y, float a, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* W[r, c] widened to F32. */
static float ref_w(rlc_wmat W, int cols, size_t r, int c) {
    size_t i = r * (size_t)cols + c;
    return W.f32 ? W.f32[i] : rlc_bf16_to_f32(W.bf16[i]);
}

static void ref_linear(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                       float alpha, int accumulate, float *scratch) {
    for (int j = 0; j < n_out; j++)
        for (int i = 0; i < N; i++)
            for (int r = 0; r < o[j].out; r++) {
                double acc = 0.0;
                for (int c = 0; c < in; c++)
                    acc += (double)x[(size_t)i * in + c] * ref_w(o[j].W, in, r, c);
                float *y = &o[j].y[(size_t)i * o[j].out + r];
                *y = (float)(alpha * acc + (accumulate ? (double)*y : 0.0));
            }
}

static void ref_linear_dx(float *dx, const float *dy, rlc_wmat W, int N, int in, int out,
                          float alpha, int accumulate, float *scratch) {
    for (int i = 0; i < N; i++)
        for (int c = 0; c < in; c++) {
            double acc = 0.0;
            for (int r = 0; r < out; r++)
                acc += (double)dy[(size_t)i * out + r] * ref_w(W, in, r, c);
            float *d = &dx[(size_t)i * in + c];
            *d = (float)(alpha * acc + (accumulate ? (double)*d : 0.0));
        }
}

static void ref_embedding_forward(float *out, const int *ids, rlc_wmat wte, int N, int C) {
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            out[(size_t)i * C + c] = ref_w(wte, C, ids[i], c);
}

static void ref_embedding_backward(float *dwte, const float *dout, const int *ids, int N, int C,
                                   int V) {
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            dwte[(size_t)ids[i] * C + c] += dout[(size_t)i * C + c];
}

static void ref_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N,
                                int C, float eps) {
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        double ss = 0.0;
        for (int c = 0; c < C; c++)
            ss += (double)xi[c] * xi[c];
        double r = 1.0 / sqrt(ss / C + eps);
        rstd[i] = (float)r;
        for (int c = 0; c < C; c++)
            out[(size_t)i * C + c] = (float)(xi[c] * r * w[c]);
    }
}

/* With g = dout * w and r = rstd: dx_j = r * (g_j - x_j * r^2 * mean_k(g_k x_k)). */
static void ref_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                                 const float *w, const float *rstd, int N, int C) {
    /* dw first: dx may alias dout. */
    for (int c = 0; dw && c < C; c++) {
        double acc = 0.0;
        for (int i = 0; i < N; i++)
            acc += (double)dout[(size_t)i * C + c] * x[(size_t)i * C + c] * rstd[i];
        dw[c] += (float)acc;
    }
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        const float *gi = dout + (size_t)i * C;
        double r = rstd[i], dot = 0.0;
        for (int c = 0; c < C; c++)
            dot += (double)gi[c] * w[c] * xi[c];
        double k = r * r * dot / C;
        for (int c = 0; c < C; c++)
            dx[(size_t)i * C + c] = (float)(r * (gi[c] * w[c] - xi[c] * k));
    }
}

static void ref_rope(float *x, const int *pos, const float *cos_t, const float *sin_t, int N, int H,
                     int D, int inverse) {
    int half = D / 2;
    for (int i = 0; i < N; i++) {
        for (int h = 0; h < H; h++) {
            float *v = x + ((size_t)i * H + h) * D;
            for (int j = 0; j < half; j++) {
                float c = cos_t[(size_t)pos[i] * half + j];
                float s = sin_t[(size_t)pos[i] * half + j];
                if (inverse) s = -s;
                float a = v[j], b = v[j + half];
                v[j] = a * c - b * s;
                v[j + half] = b * c + a * s;
            }
        }
    }
}

/* Scaled score of query row t of head h against key row s, in double. */
static double ref_score(const float *q, const float *k, int b, int t, int s, int h, int T, int Hq,
                        int Hkv, int D) {
    const float *qt = q + (((size_t)b * T + t) * Hq + h) * D;
    const float *ks = k + (((size_t)b * T + s) * Hkv + h / (Hq / Hkv)) * D;
    double dot = 0.0;
    for (int d = 0; d < D; d++)
        dot += (double)qt[d] * ks[d];
    return dot / sqrt((double)D);
}

/* Row by row: the row's scores, their logsumexp in double, then out as the
 * probability-weighted sum of v; scratch holds one row of probabilities. */
static void ref_attention_forward(float *out, float *lse, float *scratch, size_t scratch_floats,
                                  const float *q, const float *k, const float *v, int B, int T,
                                  int Hq, int Hkv, int D) {
    (void)scratch_floats; /* one row of T floats is all it uses */
    int group = Hq / Hkv;
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < Hq; h++) {
            int hk = h / group;
            for (int t = 0; t < T; t++) {
                float *P = scratch; /* (t+1) probabilities */
                double mx = -INFINITY, sum = 0.0;
                for (int s = 0; s <= t; s++) {
                    double sc = ref_score(q, k, b, t, s, h, T, Hq, Hkv, D);
                    if (sc > mx) mx = sc;
                }
                for (int s = 0; s <= t; s++)
                    sum += exp(ref_score(q, k, b, t, s, h, T, Hq, Hkv, D) - mx);
                double l = mx + log(sum);
                lse[((size_t)b * Hq + h) * T + t] = (float)l;
                for (int s = 0; s <= t; s++)
                    P[s] = (float)exp(ref_score(q, k, b, t, s, h, T, Hq, Hkv, D) - l);
                float *ot = out + (((size_t)b * T + t) * Hq + h) * D;
                for (int d = 0; d < D; d++) {
                    double acc = 0.0;
                    for (int s = 0; s <= t; s++)
                        acc += (double)P[s] * v[(((size_t)b * T + s) * Hkv + hk) * D + d];
                    ot[d] = (float)acc;
                }
            }
        }
    }
}

/* Per head, with P[t,s] = exp(score - lse[t]) rebuilt on the fly and dO = dout:
 *   dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dO * O)),
 *   dQ = scale dS K, dK = scale dS^T Q; query heads sharing a kv head sum into it.
 * Sums in double (per-row accumulators on the stack); no scratch. */
static void ref_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                                   size_t scratch_floats, const float *dout, const float *out,
                                   const float *lse, const float *q, const float *k, const float *v,
                                   int B, int T, int Hq, int Hkv, int D) {
    (void)scratch, (void)scratch_floats;
    int group = Hq / Hkv;
    double scale = 1.0 / sqrt((double)D);
    memset(dk, 0, (size_t)B * T * Hkv * D * sizeof(float));
    memset(dv, 0, (size_t)B * T * Hkv * D * sizeof(float));
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < Hq; h++) {
            int hk = h / group;
#define QI(t) (((size_t)b * T + (t)) * Hq + h) * D
#define KI(t) (((size_t)b * T + (t)) * Hkv + hk) * D
            /* p and ds of (t, s), s <= t */
#define PDS(t, s, p, ds)                                                                           \
    do {                                                                                           \
        double di_ = 0.0, dp_ = 0.0;                                                               \
        for (int d = 0; d < D; d++) {                                                              \
            di_ += (double)dout[QI(t) + d] * out[QI(t) + d];                                       \
            dp_ += (double)dout[QI(t) + d] * v[KI(s) + d];                                         \
        }                                                                                          \
        p = exp(ref_score(q, k, b, t, s, h, T, Hq, Hkv, D) - lse[((size_t)b * Hq + h) * T + t]);   \
        ds = p * (dp_ - di_);                                                                      \
    } while (0)
            for (int t = 0; t < T; t++) {
                double acc[D];
                memset(acc, 0, sizeof acc);
                for (int s = 0; s <= t; s++) {
                    double p, ds;
                    PDS(t, s, p, ds);
                    for (int d = 0; d < D; d++)
                        acc[d] += ds * k[KI(s) + d];
                }
                for (int d = 0; d < D; d++)
                    dq[QI(t) + d] = (float)(acc[d] * scale);
            }
            for (int s = 0; s < T; s++) {
                double gk[D], gv[D];
                memset(gk, 0, sizeof gk);
                memset(gv, 0, sizeof gv);
                for (int t = s; t < T; t++) {
                    double p, ds;
                    PDS(t, s, p, ds);
                    for (int d = 0; d < D; d++) {
                        gk[d] += ds * q[QI(t) + d];
                        gv[d] += p * dout[QI(t) + d];
                    }
                }
                for (int d = 0; d < D; d++) {
                    dk[KI(s) + d] += (float)(gk[d] * scale);
                    dv[KI(s) + d] += (float)gv[d];
                }
            }
#undef PDS
#undef QI
#undef KI
        }
    }
}

/* Decode attention over a cache held in F32 or BF16: the cache is read as a
 * matrix of [slots * max_T * Hkv] rows of D values, so ref_w widens it. */
static void ref_decode(float *out, float *scratch, const float *q, rlc_wmat kc, rlc_wmat vc,
                       const int *len, const int *slot, int S, int max_T, int Hq, int Hkv, int D) {
    int group = Hq / Hkv;
    double scale = 1.0 / sqrt((double)D);
    for (int s = 0; s < S; s++) {
        size_t sl = slot ? (size_t)slot[s] : (size_t)s;
        for (int h = 0; h < Hq; h++) {
            int hk = h / group;
            const float *qh = q + ((size_t)s * Hq + h) * D;
            float *p = scratch + ((size_t)s * Hq + h) * max_T;
            double mx = -INFINITY, sum = 0.0;
            for (int j = 0; j < len[s]; j++) {
                size_t row = (sl * max_T + j) * Hkv + hk;
                double dot = 0.0;
                for (int d = 0; d < D; d++)
                    dot += (double)qh[d] * ref_w(kc, D, row, d);
                p[j] = (float)(dot * scale);
                if (p[j] > mx) mx = p[j];
            }
            for (int j = 0; j < len[s]; j++)
                sum += exp(p[j] - mx);
            float *oh = out + ((size_t)s * Hq + h) * D;
            for (int d = 0; d < D; d++) {
                double acc = 0.0;
                for (int j = 0; j < len[s]; j++)
                    acc += exp(p[j] - mx) * ref_w(vc, D, (sl * max_T + j) * Hkv + hk, d);
                oh[d] = (float)(acc / sum);
            }
        }
    }
}

static void ref_attention_decode(float *out, float *scratch, const float *q, const float *kc,
                                 const float *vc, const int *len, const int *slot, int S, int max_T,
                                 int Hq, int Hkv, int D) {
    ref_decode(out, scratch, q, (rlc_wmat){.f32 = kc}, (rlc_wmat){.f32 = vc}, len, slot, S, max_T,
               Hq, Hkv, D);
}

static void ref_attention_decode_bf16(float *out, float *scratch, const float *q,
                                      const uint16_t *kc, const uint16_t *vc, const int *len,
                                      const int *slot, int S, int max_T, int Hq, int Hkv, int D) {
    ref_decode(out, scratch, q, (rlc_wmat){.bf16 = kc}, (rlc_wmat){.bf16 = vc}, len, slot, S, max_T,
               Hq, Hkv, D);
}

static void ref_swiglu_forward(float *h, const float *g, const float *u, int N, int F) {
    for (size_t i = 0; i < (size_t)N * F; i++) {
        double x = g[i];
        h[i] = (float)(x / (1.0 + exp(-x)) * u[i]);
    }
}

/* silu'(g) = sig(g) * (1 + g * (1 - sig(g))). */
static void ref_swiglu_backward(float *dg, float *du, const float *dh, const float *g,
                                const float *u, int N, int F) {
    for (size_t i = 0; i < (size_t)N * F; i++) {
        double x = g[i], sig = 1.0 / (1.0 + exp(-x));
        double dhi = dh[i], ui = u[i];
        dg[i] = (float)(dhi * ui * sig * (1.0 + x * (1.0 - sig)));
        du[i] = (float)(dhi * x * sig);
    }
}

static void ref_logprob_forward(float *logp, float *lse, const float *logits, const int *target,
                                int N, int V) {
    for (int i = 0; i < N; i++) {
        const float *row = logits + (size_t)i * V;
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < V; j++)
            if (row[j] > mx) mx = row[j];
        for (int j = 0; j < V; j++)
            sum += exp(row[j] - mx);
        double l = mx + log(sum);
        lse[i] = (float)l;
        logp[i] = target[i] < 0 ? 0.0f : (float)(row[target[i]] - l);
    }
}

static void ref_logprob_backward(float *dlogits, const float *dlogp, const float *logits,
                                 const float *lse, const int *target, int N, int V) {
    for (int i = 0; i < N; i++) {
        const float *row = logits + (size_t)i * V;
        float *drow = dlogits + (size_t)i * V;
        for (int j = 0; j < V; j++) {
            if (target[i] < 0) {
                drow[j] = 0.0f;
                continue;
            }
            double p = exp((double)row[j] - lse[i]);
            drow[j] = (float)(dlogp[i] * ((j == target[i] ? 1.0 : 0.0) - p));
        }
    }
}

/* No teams: fn runs once, every section is its own. */
static void ref_team_run(void (*fn)(void *ctx), void *ctx, int rows, size_t work) {
    (void)rows, (void)work;
    fn(ctx);
}
static int ref_team_solo_begin(void) {
    return 1;
}
static void ref_team_solo_end(void) {}

static const rlc_backend ref_backend = {
    .name = "ref",
    .matmul = ref_matmul,
    .add_bias = ref_add_bias,
    .bias_backward = ref_bias_backward,
    .axpy = ref_axpy,
    .linear = ref_linear,
    .linear_dx = ref_linear_dx,
    .embedding_forward = ref_embedding_forward,
    .embedding_backward = ref_embedding_backward,
    .rmsnorm_forward = ref_rmsnorm_forward,
    .rmsnorm_backward = ref_rmsnorm_backward,
    .rope = ref_rope,
    .attention_forward = ref_attention_forward,
    .attention_backward = ref_attention_backward,
    .attention_decode = ref_attention_decode,
    .attention_decode_bf16 = ref_attention_decode_bf16,
    .swiglu_forward = ref_swiglu_forward,
    .swiglu_backward = ref_swiglu_backward,
    .logprob_forward = ref_logprob_forward,
    .logprob_backward = ref_logprob_backward,
    .adamw = rlc_cpu_adamw,
    .sumsq = rlc_cpu_sumsq,
    .scale = rlc_cpu_scale,
    .team_run = ref_team_run,
    .team_solo_begin = ref_team_solo_begin,
    .team_solo_end = ref_team_solo_end,
};

const rlc_backend *rlc_backend_ref(void) {
    return &ref_backend;
}
