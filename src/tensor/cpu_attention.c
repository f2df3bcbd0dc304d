/* Causal grouped-query attention on the CPU.
 *
 * Work is split over (sequence, head) in an OpenMP loop; each task is one
 * head's T x T problem, small enough to stay in L2. Inside a parallel region
 * OpenBLAS runs single-threaded, which is what we want for these per-head
 * sgemm calls. The causal mask is exploited by cutting rows into blocks of
 * RB: row block [t0, t1) only needs keys 0..t1-1.
 *
 * Backward tasks are (sequence, kv head) so the query heads sharing a kv head
 * add into dk/dv from one thread, in a fixed order, without atomics. */
#include "tensor/cpu_attention.h"
#include "tensor/cpu_math.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define RB 32 /* causal row block for the sgemm path */

static inline float dotf(const float *a, const float *b, int n) {
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

static inline void axpyf(float *y, float a, const float *x, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* How far to run a row with n live entries: n rounded up to whole 16-float
 * vectors, capped at cap (what the row may be written up to). Causal rows
 * are short (T/2 on average), and a scalar remainder loop of exps costs as
 * much as the vector body, so the tail is computed and masked instead. */
static inline int padded(int n, int cap) {
    int m = (n + 15) & ~15;
    return m < cap ? m : cap;
}

/* Softmax of row[0..n) in place, m >= n from padded(); row[n..m) becomes 0
 * whatever it held before (masked, so garbage there is never used).
 * With AVX-512, masked loads and stores handle the tail of the row, which
 * the compiler's own vectorization turns into scalar peel/remainder loops
 * (a quarter of the forward's time at T=128 before this). */
static inline void softmax_row(float *row, int n, int m) {
#ifdef __AVX512F__
    __m512 vmx = _mm512_set1_ps(-INFINITY), vsum = _mm512_setzero_ps();
    for (int s = 0; s < n; s += 16)
        vmx = _mm512_max_ps(
            vmx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), rlc_tail_mask(s, n), row + s));
    __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmx));
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        __m512 e = rlc_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + s), mx));
        e = _mm512_maskz_mov_ps(k, e);
        _mm512_mask_storeu_ps(row + s, k, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        _mm512_mask_storeu_ps(row + s, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + s), inv));
    }
    for (int s = n; s < m; s++)
        row[s] = 0.0f;
#else
    float mx = -INFINITY, sum = 0.0f;
#pragma omp simd reduction(max : mx)
    for (int s = 0; s < m; s++) {
        float x = s < n ? row[s] : -INFINITY;
        mx = x > mx ? x : mx;
    }
#pragma omp simd reduction(+ : sum)
    for (int s = 0; s < m; s++) {
        float e = s < n ? rlc_expf(row[s] - mx) : 0.0f;
        row[s] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int s = 0; s < m; s++)
        row[s] *= inv;
#endif
}

/* dS row in place: dS = scale * P * (dP - sum(P * dP)) over s < n; ds[n..m)
 * becomes 0. */
static inline void dsoftmax_row(float *ds, const float *p, int n, int m, float scale) {
#ifdef __AVX512F__
    __m512 vrs = _mm512_setzero_ps();
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        vrs =
            _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, p + s), _mm512_maskz_loadu_ps(k, ds + s), vrs);
    }
    __m512 rs = _mm512_set1_ps(_mm512_reduce_add_ps(vrs)), sc = _mm512_set1_ps(scale);
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, ds + s), rs);
        __m512 sp = _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(k, p + s));
        _mm512_mask_storeu_ps(ds + s, k, _mm512_mul_ps(sp, d));
    }
    for (int s = n; s < m; s++)
        ds[s] = 0.0f;
#else
    float rs = 0.0f;
#pragma omp simd reduction(+ : rs)
    for (int s = 0; s < m; s++)
        rs += s < n ? p[s] * ds[s] : 0.0f;
#pragma omp simd
    for (int s = 0; s < m; s++)
        ds[s] = s < n ? scale * p[s] * (ds[s] - rs) : 0.0f;
#endif
}

void rlc_cpu_attention_forward_gemm(float *out, float *att, const float *q, const float *k,
                                    const float *v, int B, int T, int Hq, int Hkv, int D) {
    int group = Hq / Hkv, qs = Hq * D, ks = Hkv * D; /* row strides of q/out and k/v */
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < Hq; h++) {
            const float *qh = q + (size_t)b * T * qs + h * D;           /* (T, D) */
            const float *kh = k + (size_t)b * T * ks + (h / group) * D; /* (T, D) */
            const float *vh = v + (size_t)b * T * ks + (h / group) * D; /* (T, D) */
            float *oh = out + (size_t)b * T * qs + h * D;               /* (T, D) */
            float *P = att + ((size_t)b * Hq + h) * T * T;              /* (T, T) */
            for (int t0 = 0; t0 < T; t0 += RB) {
                int t1 = t0 + RB < T ? t0 + RB : T, m = t1 - t0;
                float *Pb = P + (size_t)t0 * T; /* (m, T), columns < t1 used */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, t1, D, scale,
                            qh + (size_t)t0 * qs, qs, kh, ks, 0.0f, Pb, T);
                for (int t = t0; t < t1; t++) {
                    float *row = P + (size_t)t * T;
                    int m = padded(t + 1, T);
                    softmax_row(row, t + 1, m);
                    memset(row + m, 0, (size_t)(T - m) * sizeof(float));
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, t1, 1.0f, Pb, T, vh,
                            ks, 0.0f, oh + (size_t)t0 * qs, qs);
            }
        }
    }
}

void rlc_cpu_attention_forward_loops(float *out, float *att, const float *q, const float *k,
                                     const float *v, int B, int T, int Hq, int Hkv, int D) {
    int group = Hq / Hkv, qs = Hq * D, ks = Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < Hq; h++) {
            const float *qh = q + (size_t)b * T * qs + h * D;
            const float *kh = k + (size_t)b * T * ks + (h / group) * D;
            const float *vh = v + (size_t)b * T * ks + (h / group) * D;
            float *oh = out + (size_t)b * T * qs + h * D;
            float *P = att + ((size_t)b * Hq + h) * T * T;
            for (int t = 0; t < T; t++) {
                float *row = P + (size_t)t * T;
                for (int s = 0; s <= t; s++)
                    row[s] = scale * dotf(qh + (size_t)t * qs, kh + (size_t)s * ks, D);
                int m = padded(t + 1, T);
                softmax_row(row, t + 1, m);
                memset(row + m, 0, (size_t)(T - m) * sizeof(float));
                float *ot = oh + (size_t)t * qs;
                memset(ot, 0, (size_t)D * sizeof(float));
                for (int s = 0; s <= t; s++)
                    axpyf(ot, row[s], vh + (size_t)s * ks, D);
            }
        }
    }
}

/* Zero dk, dv for one (sequence, kv head): rows strided by Hkv*D. */
static void zero_kv_head(float *dkh, float *dvh, int T, int ks, int D) {
    for (int t = 0; t < T; t++) {
        memset(dkh + (size_t)t * ks, 0, (size_t)D * sizeof(float));
        memset(dvh + (size_t)t * ks, 0, (size_t)D * sizeof(float));
    }
}

void rlc_cpu_attention_backward_gemm(float *dq, float *dk, float *dv, float *scratch,
                                     const float *dout, const float *att, const float *q,
                                     const float *k, const float *v, int B, int T, int Hq, int Hkv,
                                     int D) {
    int group = Hq / Hkv, qs = Hq * D, ks = Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int hk = 0; hk < Hkv; hk++) {
            const float *kh = k + (size_t)b * T * ks + hk * D; /* (T, D) */
            const float *vh = v + (size_t)b * T * ks + hk * D; /* (T, D) */
            float *dkh = dk + (size_t)b * T * ks + hk * D;     /* (T, D) */
            float *dvh = dv + (size_t)b * T * ks + hk * D;     /* (T, D) */
            zero_kv_head(dkh, dvh, T, ks, D);
            for (int h = hk * group; h < (hk + 1) * group; h++) {
                const float *qh = q + (size_t)b * T * qs + h * D;     /* (T, D) */
                const float *doh = dout + (size_t)b * T * qs + h * D; /* (T, D) */
                float *dqh = dq + (size_t)b * T * qs + h * D;         /* (T, D) */
                const float *P = att + ((size_t)b * Hq + h) * T * T;  /* (T, T) */
                float *dS = scratch + ((size_t)b * Hq + h) * T * T;   /* (T, T) */
                for (int t0 = 0; t0 < T; t0 += RB) {
                    int t1 = t0 + RB < T ? t0 + RB : T, m = t1 - t0;
                    const float *Pb = P + (size_t)t0 * T; /* (m, t1) of ld T */
                    float *dSb = dS + (size_t)t0 * T;     /* (m, t1) of ld T */
                    /* dV[0:t1] += P[t0:t1]^T dO[t0:t1] */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, D, m, 1.0f, Pb, T,
                                doh + (size_t)t0 * qs, qs, 1.0f, dvh, ks);
                    /* dP = dO[t0:t1] V[0:t1]^T, then dS in place */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, t1, D, 1.0f,
                                doh + (size_t)t0 * qs, qs, vh, ks, 0.0f, dSb, T);
                    for (int t = t0; t < t1; t++) {
                        float *row = dS + (size_t)t * T;
                        /* columns >= t1 were not computed by the sgemm: cap there */
                        int m = padded(t + 1, t1);
                        dsoftmax_row(row, P + (size_t)t * T, t + 1, m, scale);
                        memset(row + m, 0, (size_t)(t1 - m) * sizeof(float));
                    }
                    /* dQ[t0:t1] = dS K[0:t1];  dK[0:t1] += dS^T Q[t0:t1] */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, t1, 1.0f, dSb, T,
                                kh, ks, 0.0f, dqh + (size_t)t0 * qs, qs);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, D, m, 1.0f, dSb, T,
                                qh + (size_t)t0 * qs, qs, 1.0f, dkh, ks);
                }
            }
        }
    }
}

void rlc_cpu_attention_backward_loops(float *dq, float *dk, float *dv, float *scratch,
                                      const float *dout, const float *att, const float *q,
                                      const float *k, const float *v, int B, int T, int Hq, int Hkv,
                                      int D) {
    int group = Hq / Hkv, qs = Hq * D, ks = Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int hk = 0; hk < Hkv; hk++) {
            const float *kh = k + (size_t)b * T * ks + hk * D;
            const float *vh = v + (size_t)b * T * ks + hk * D;
            float *dkh = dk + (size_t)b * T * ks + hk * D;
            float *dvh = dv + (size_t)b * T * ks + hk * D;
            zero_kv_head(dkh, dvh, T, ks, D);
            for (int h = hk * group; h < (hk + 1) * group; h++) {
                const float *qh = q + (size_t)b * T * qs + h * D;
                const float *doh = dout + (size_t)b * T * qs + h * D;
                float *dqh = dq + (size_t)b * T * qs + h * D;
                const float *P = att + ((size_t)b * Hq + h) * T * T;
                float *dS = scratch + ((size_t)b * Hq + h) * T * T;
                for (int t = 0; t < T; t++) {
                    const float *pt = P + (size_t)t * T, *dot = doh + (size_t)t * qs;
                    const float *qt = qh + (size_t)t * qs;
                    float *ds = dS + (size_t)t * T, *dqt = dqh + (size_t)t * qs;
                    for (int s = 0; s <= t; s++)
                        ds[s] = dotf(dot, vh + (size_t)s * ks, D);
                    dsoftmax_row(ds, pt, t + 1, padded(t + 1, T), scale);
                    memset(dqt, 0, (size_t)D * sizeof(float));
                    for (int s = 0; s <= t; s++) {
                        axpyf(dqt, ds[s], kh + (size_t)s * ks, D);
                        axpyf(dkh + (size_t)s * ks, ds[s], qt, D);
                        axpyf(dvh + (size_t)s * ks, pt[s], dot, D);
                    }
                }
            }
        }
    }
}

/* Decode: one query row per head. The query heads sharing a kv head are
 * contiguous in q, so each (sequence, kv head) task is two small sgemms over
 * the cached keys, reading K and V once per group instead of once per head. */
void rlc_cpu_attention_decode(float *out, float *scratch, const float *q, const float *kc,
                              const float *vc, const int *len, const int *slot, int S, int max_T,
                              int Hq, int Hkv, int D) {
    int group = Hq / Hkv, ks = Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)S * Hq * max_T * D >= 65536)
    for (int s = 0; s < S; s++) {
        for (int hk = 0; hk < Hkv; hk++) {
            size_t h0 = (size_t)s * Hq + (size_t)hk * group;
            const float *qg = q + h0 * D; /* (group, D) */
            size_t sl = slot ? (size_t)slot[s] : (size_t)s;
            const float *kh = kc + sl * max_T * ks + hk * D; /* (len, D) */
            const float *vh = vc + sl * max_T * ks + hk * D; /* (len, D) */
            float *P = scratch + h0 * max_T;                 /* (group, len) */
            float *og = out + h0 * D;                        /* (group, D) */
            int n = len[s];
            if (n <= 0) { /* nothing to attend to; BLAS with K=0 may leave C alone */
                memset(og, 0, (size_t)group * D * sizeof(float));
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, group, n, D, scale, qg, D, kh, ks,
                        0.0f, P, max_T);
            for (int g = 0; g < group; g++)
                softmax_row(P + (size_t)g * max_T, n, padded(n, max_T));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, group, D, n, 1.0f, P, max_T, vh,
                        ks, 0.0f, og, D);
        }
    }
}

/* A BF16 value widened to F32 (exact). */
static inline float bf16_widen(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* rlc_cpu_attention_decode over a BF16 cache: the same tasks, with each key
 * and value widened as it is read (vectorized loops instead of sgemm, since
 * BLAS takes no BF16 operand; decode attention is bound by reading K and V). */
void rlc_cpu_attention_decode_bf16(float *out, float *scratch, const float *q, const uint16_t *kc,
                                   const uint16_t *vc, const int *len, const int *slot, int S,
                                   int max_T, int Hq, int Hkv, int D) {
    int group = Hq / Hkv, ks = Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)S * Hq * max_T * D >= 65536)
    for (int s = 0; s < S; s++) {
        for (int hk = 0; hk < Hkv; hk++) {
            size_t h0 = (size_t)s * Hq + (size_t)hk * group;
            const float *qg = q + h0 * D; /* (group, D) */
            size_t sl = slot ? (size_t)slot[s] : (size_t)s;
            const uint16_t *kh = kc + sl * max_T * ks + hk * D; /* (len, D) */
            const uint16_t *vh = vc + sl * max_T * ks + hk * D; /* (len, D) */
            float *P = scratch + h0 * max_T;                    /* (group, len) */
            float *og = out + h0 * D;                           /* (group, D) */
            int n = len[s];
            memset(og, 0, (size_t)group * D * sizeof(float));
            if (n <= 0) continue;
            for (int j = 0; j < n; j++) {
                const uint16_t *kj = kh + (size_t)j * ks;
                for (int g = 0; g < group; g++) {
                    const float *qh = qg + (size_t)g * D;
                    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
                    for (int d = 0; d < D; d++)
                        acc += qh[d] * bf16_widen(kj[d]);
                    P[(size_t)g * max_T + j] = acc * scale;
                }
            }
            for (int g = 0; g < group; g++)
                softmax_row(P + (size_t)g * max_T, n, padded(n, max_T));
            for (int j = 0; j < n; j++) {
                const uint16_t *vj = vh + (size_t)j * ks;
                for (int g = 0; g < group; g++) {
                    float p = P[(size_t)g * max_T + j], *o = og + (size_t)g * D;
#pragma omp simd
                    for (int d = 0; d < D; d++)
                        o[d] += p * bf16_widen(vj[d]);
                }
            }
        }
    }
}

void rlc_cpu_attention_forward(float *out, float *att, const float *q, const float *k,
                               const float *v, int B, int T, int Hq, int Hkv, int D) {
    rlc_cpu_attention_forward_gemm(out, att, q, k, v, B, T, Hq, Hkv, D);
}

void rlc_cpu_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                                const float *att, const float *q, const float *k, const float *v,
                                int B, int T, int Hq, int Hkv, int D) {
    rlc_cpu_attention_backward_gemm(dq, dk, dv, scratch, dout, att, q, k, v, B, T, Hq, Hkv, D);
}
