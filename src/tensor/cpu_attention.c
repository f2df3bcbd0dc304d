/* Causal grouped-query attention on the CPU.
 *
 * Work is split over (sequence, head) in an OpenMP loop. The causal mask is
 * exploited by cutting rows into blocks of RB: row block [t0, t1) only needs
 * keys 0..t1-1. Only one block of probabilities, (RB, t1), exists at a time
 * per worker, in the caller's scratch: the forward keeps each row's
 * logsumexp and the backward rebuilds the block from it (the [T, T] matrix
 * is never stored). The per-block products go through rlc_cpu_sgemm, whose
 * bits do not depend on the thread count or on the worker count here.
 *
 * Backward tasks are (sequence, kv head) so the query heads sharing a kv head
 * add into dk/dv from one thread, in a fixed order, without atomics. */
#include "tensor/cpu_attention.h"
#include "tensor/cpu_kernels.h"
#include "tensor/cpu_math.h"
#include "tensor/cpu_team.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define RB RLC_ATTN_BLOCK /* causal row block */

static inline float dotf(const float *a, const float *b, int n) {
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
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
 * (a quarter of the forward's time at T=128 before this). Returns the row's
 * logsumexp (what the attention backward rebuilds the row from). */
static inline float softmax_row(float *row, int n, int m) {
#ifdef __AVX512F__
    __m512 vmx = _mm512_set1_ps(-INFINITY), vsum = _mm512_setzero_ps();
    for (int s = 0; s < n; s += 16)
        vmx = _mm512_max_ps(
            vmx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), rlc_tail_mask(s, n), row + s));
    float mxs = _mm512_reduce_max_ps(vmx);
    __m512 mx = _mm512_set1_ps(mxs);
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        __m512 e = rlc_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + s), mx));
        e = _mm512_maskz_mov_ps(k, e);
        _mm512_mask_storeu_ps(row + s, k, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    float sum = _mm512_reduce_add_ps(vsum);
    __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        _mm512_mask_storeu_ps(row + s, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + s), inv));
    }
    for (int s = n; s < m; s++)
        row[s] = 0.0f;
    return mxs + logf(sum);
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
    return mx + logf(sum);
#endif
}

/* row[0..n) = exp(row - lse) (the probabilities again), row[n..m) = 0. */
static inline void exp_row(float *row, float lse, int n, int m) {
#ifdef __AVX512F__
    __m512 vl = _mm512_set1_ps(lse);
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        __m512 e = rlc_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + s), vl));
        _mm512_mask_storeu_ps(row + s, k, e);
    }
#else
#pragma omp simd
    for (int s = 0; s < n; s++)
        row[s] = rlc_expf(row[s] - lse);
#endif
    for (int s = n; s < m; s++)
        row[s] = 0.0f;
}

/* dS row in place from dP: ds = scale * p * (ds - di) over s < n, with
 * di = rowsum(dO * O) = rowsum(P * dP); ds[n..m) = 0. */
static inline void dsoftmax_row_di(float *ds, const float *p, float di, int n, int m, float scale) {
#ifdef __AVX512F__
    __m512 vd = _mm512_set1_ps(di), sc = _mm512_set1_ps(scale);
    for (int s = 0; s < n; s += 16) {
        __mmask16 k = rlc_tail_mask(s, n);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, ds + s), vd);
        __m512 sp = _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(k, p + s));
        _mm512_mask_storeu_ps(ds + s, k, _mm512_mul_ps(sp, d));
    }
#else
#pragma omp simd
    for (int s = 0; s < n; s++)
        ds[s] = scale * p[s] * (ds[s] - di);
#endif
    for (int s = n; s < m; s++)
        ds[s] = 0.0f;
}

/* Workers that fit in the caller's scratch, at most the OpenMP thread count.
 * Every task is done by one worker alone, so the worker count never changes
 * a result. */
static int attn_workers(size_t scratch_floats, int T) {
    size_t per = RLC_ATTN_WORKER_FLOATS(T), fit = scratch_floats / per;
    int w = omp_get_max_threads();
    return fit < (size_t)w ? (fit > 0 ? (int)fit : 1) : w;
}

/* Per (sequence, head) task, per causal row block [t0, t1): scores
 * S = scale Q K[0:t1]^T into the worker's (RB, T) tile, softmax in place
 * (lse kept per row), out = P V[0:t1]. Only one row block of probabilities
 * exists at a time per worker. */
void rlc_cpu_attention_forward(float *out, float *lse, float *scratch, size_t scratch_floats,
                               const float *q, const float *k, const float *v, int B, int T, int Hq,
                               int Hkv, int D) {
    int group = Hq / Hkv, qs = Hq * D, ks = Hkv * D; /* row strides of q/out and k/v */
    float scale = 1.0f / sqrtf((float)D);
    int nw = attn_workers(scratch_floats, T);
#pragma omp parallel for collapse(2) schedule(static) num_threads(nw)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < Hq; h++) {
            const float *qh = q + (size_t)b * T * qs + h * D;           /* (T, D) */
            const float *kh = k + (size_t)b * T * ks + (h / group) * D; /* (T, D) */
            const float *vh = v + (size_t)b * T * ks + (h / group) * D; /* (T, D) */
            float *oh = out + (size_t)b * T * qs + h * D;               /* (T, D) */
            float *lh = lse + ((size_t)b * Hq + h) * T;                 /* (T) */
            float *P = scratch + (size_t)omp_get_thread_num() * RLC_ATTN_WORKER_FLOATS(T);
            for (int t0 = 0; t0 < T; t0 += RB) {
                int t1 = t0 + RB < T ? t0 + RB : T, m = t1 - t0;
                /* P: (m, t1) of ld t1 */
                rlc_cpu_sgemm(0, 1, m, t1, D, scale, qh + (size_t)t0 * qs, qs, kh, ks, 0.0f, P, t1);
                for (int t = t0; t < t1; t++)
                    lh[t] = softmax_row(P + (size_t)(t - t0) * t1, t + 1, t1);
                rlc_cpu_sgemm(0, 0, m, D, t1, 1.0f, P, t1, vh, ks, 0.0f, oh + (size_t)t0 * qs, qs);
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

/* Tasks are (sequence, kv head) so the query heads sharing a kv head add into
 * dk/dv from one worker, in a fixed order. Per row block the probabilities are
 * rebuilt from the same score product as the forward and the saved lse. */
void rlc_cpu_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                                size_t scratch_floats, const float *dout, const float *out,
                                const float *lse, const float *q, const float *k, const float *v,
                                int B, int T, int Hq, int Hkv, int D) {
    int group = Hq / Hkv, qs = Hq * D, ks = Hkv * D;
    float scale = 1.0f / sqrtf((float)D);
    int nw = attn_workers(scratch_floats, T);
#pragma omp parallel for collapse(2) schedule(static) num_threads(nw)
    for (int b = 0; b < B; b++) {
        for (int hk = 0; hk < Hkv; hk++) {
            const float *kh = k + (size_t)b * T * ks + hk * D; /* (T, D) */
            const float *vh = v + (size_t)b * T * ks + hk * D; /* (T, D) */
            float *dkh = dk + (size_t)b * T * ks + hk * D;     /* (T, D) */
            float *dvh = dv + (size_t)b * T * ks + hk * D;     /* (T, D) */
            float *P = scratch + (size_t)omp_get_thread_num() * RLC_ATTN_WORKER_FLOATS(T);
            float *dS = P + (size_t)RB * T; /* (m, t1) of ld t1 each */
            zero_kv_head(dkh, dvh, T, ks, D);
            for (int h = hk * group; h < (hk + 1) * group; h++) {
                const float *qh = q + (size_t)b * T * qs + h * D;     /* (T, D) */
                const float *doh = dout + (size_t)b * T * qs + h * D; /* (T, D) */
                const float *oh = out + (size_t)b * T * qs + h * D;   /* (T, D) */
                const float *lh = lse + ((size_t)b * Hq + h) * T;     /* (T) */
                float *dqh = dq + (size_t)b * T * qs + h * D;         /* (T, D) */
                for (int t0 = 0; t0 < T; t0 += RB) {
                    int t1 = t0 + RB < T ? t0 + RB : T, m = t1 - t0;
                    rlc_cpu_sgemm(0, 1, m, t1, D, scale, qh + (size_t)t0 * qs, qs, kh, ks, 0.0f, P,
                                  t1);
                    for (int t = t0; t < t1; t++)
                        exp_row(P + (size_t)(t - t0) * t1, lh[t], t + 1, t1);
                    /* dV[0:t1] += P^T dO[t0:t1] */
                    rlc_cpu_sgemm(1, 0, t1, D, m, 1.0f, P, t1, doh + (size_t)t0 * qs, qs, 1.0f, dvh,
                                  ks);
                    /* dP = dO[t0:t1] V[0:t1]^T, then dS in place */
                    rlc_cpu_sgemm(0, 1, m, t1, D, 1.0f, doh + (size_t)t0 * qs, qs, vh, ks, 0.0f, dS,
                                  t1);
                    for (int t = t0; t < t1; t++) {
                        size_t r = (size_t)(t - t0) * t1;
                        float di = dotf(doh + (size_t)t * qs, oh + (size_t)t * qs, D);
                        dsoftmax_row_di(dS + r, P + r, di, t + 1, t1, scale);
                    }
                    /* dQ[t0:t1] = dS K[0:t1];  dK[0:t1] += dS^T Q[t0:t1] */
                    rlc_cpu_sgemm(0, 0, m, D, t1, 1.0f, dS, t1, kh, ks, 0.0f, dqh + (size_t)t0 * qs,
                                  qs);
                    rlc_cpu_sgemm(1, 0, t1, D, m, 1.0f, dS, t1, qh + (size_t)t0 * qs, qs, 1.0f, dkh,
                                  ks);
                }
            }
        }
    }
}

/* The AVX-512 decode path needs F, BW and VL (rlc_load16) at compile time;
 * rlc_cpu_isa_get says at run time whether the CPU has them. */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define DECODE_AVX512 1
/* Software prefetch of keys rows [j, j + 4) at kh (row stride ks elements,
 * D elements a row) into L1: the rows of one head are short pieces of longer
 * cache rows, which the hardware prefetcher follows late. */
#define DECODE_PF_AHEAD 16
static inline __attribute__((always_inline)) void pf_rows(const void *base, int bf16, size_t j,
                                                          int ks, int D, int n) {
    size_t esz = bf16 ? 2 : 4, row = (size_t)D * esz;
    for (int r = 0; r < 4; r++) {
        if (j + (size_t)r >= (size_t)n) return;
        const char *p = (const char *)base + (j + (size_t)r) * (size_t)ks * esz;
        for (size_t b = 0; b < row; b += 64)
            _mm_prefetch(p + b, _MM_HINT_T0);
    }
}
/* Query heads over cached keys and values, D a multiple of 16 up to
 * DECODE_DMAX. */
#define DECODE_DMAX 128
/* nh (<= DECODE_GMAX) query heads of one group at q (P and o likewise, P
 * rows max_T apart) over the n keys and values they share (row stride ks),
 * each key and value read once for all of them: scores four keys at a time
 * (one rlc_hsum4 per four keys instead of a reduction per key), softmax in
 * P, then o = P V with o in registers over all keys. A head's operations
 * and their order do not depend on nh: a head alone gives the bits it gives
 * in a group. */
#define DECODE_GMAX 6
static inline __attribute__((always_inline)) void
group_avx512(float *o, float *P, int max_T, int m, const float *q, const void *kh, const void *vh,
             int n, int ks, float scale, int bf16, int nh, int nv) {
    int D = 16 * nv;
    __m128 vs = _mm_set1_ps(scale);
    for (int r = 0; r < DECODE_PF_AHEAD; r += 4) /* the first rows, which no step before fetched */
        pf_rows(kh, bf16, (size_t)r, ks, D, n);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        size_t k0 = (size_t)j * ks;
        pf_rows(kh, bf16, (size_t)j + DECODE_PF_AHEAD, ks, D, n);
        pf_rows(vh, bf16, (size_t)j, ks, D, n);
        __m512 a[DECODE_GMAX][4];
#pragma GCC unroll 8
        for (int h = 0; h < nh; h++)
            a[h][0] = a[h][1] = a[h][2] = a[h][3] = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int c = 0; c < nv; c++) {
            size_t i = k0 + 16 * (size_t)c;
            __m512 k0v = rlc_load16(kh, bf16, i, 0, 0);
            __m512 k1v = rlc_load16(kh, bf16, i + ks, 0, 0);
            __m512 k2v = rlc_load16(kh, bf16, i + 2 * (size_t)ks, 0, 0);
            __m512 k3v = rlc_load16(kh, bf16, i + 3 * (size_t)ks, 0, 0);
#pragma GCC unroll 8
            for (int h = 0; h < nh; h++) {
                __m512 qv = _mm512_loadu_ps(q + (size_t)h * D + 16 * c);
                a[h][0] = _mm512_fmadd_ps(qv, k0v, a[h][0]);
                a[h][1] = _mm512_fmadd_ps(qv, k1v, a[h][1]);
                a[h][2] = _mm512_fmadd_ps(qv, k2v, a[h][2]);
                a[h][3] = _mm512_fmadd_ps(qv, k3v, a[h][3]);
            }
        }
#pragma GCC unroll 8
        for (int h = 0; h < nh; h++)
            _mm_storeu_ps(P + (size_t)h * max_T + j,
                          _mm_mul_ps(vs, rlc_hsum4(a[h][0], a[h][1], a[h][2], a[h][3])));
    }
    for (; j < n; j++)
#pragma GCC unroll 8
        for (int h = 0; h < nh; h++) {
            __m512 a0 = _mm512_setzero_ps();
#pragma GCC unroll 8
            for (int c = 0; c < nv; c++)
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + (size_t)h * D + 16 * c),
                                     rlc_load16(kh, bf16, (size_t)j * ks + 16 * (size_t)c, 0, 0),
                                     a0);
            P[(size_t)h * max_T + j] = scale * _mm512_reduce_add_ps(a0);
        }
#pragma GCC unroll 8
    for (int h = 0; h < nh; h++)
        softmax_row(P + (size_t)h * max_T, n, m);
    /* o = P V: nh x nv accumulators (at most 24) */
    __m512 acc[24];
#pragma GCC unroll 24
    for (int i = 0; i < nh * nv; i++)
        acc[i] = _mm512_setzero_ps();
    for (j = 0; j < n; j++) {
        __m512 v[DECODE_DMAX / 16];
#pragma GCC unroll 8
        for (int c = 0; c < nv; c++)
            v[c] = rlc_load16(vh, bf16, (size_t)j * ks + 16 * (size_t)c, 0, 0);
#pragma GCC unroll 8
        for (int h = 0; h < nh; h++) {
            __m512 p = _mm512_set1_ps(P[(size_t)h * max_T + j]);
#pragma GCC unroll 8
            for (int c = 0; c < nv; c++)
                acc[h * nv + c] = _mm512_fmadd_ps(p, v[c], acc[h * nv + c]);
        }
    }
#pragma GCC unroll 8
    for (int h = 0; h < nh; h++)
#pragma GCC unroll 8
        for (int c = 0; c < nv; c++)
            _mm512_storeu_ps(o + (size_t)h * D + 16 * c, acc[h * nv + c]);
}
/* group_avx512 with nh and nv as constants (everything in registers); a
 * count without its own copy runs head by head. */
static void group_dispatch(float *o, float *P, int max_T, int m, const float *q, const void *kh,
                           const void *vh, int n, int ks, int D, float scale, int bf16, int nh) {
#define GROUP_CASE(NV, NH)                                                                         \
    if (D == 16 * (NV) && nh == (NH)) {                                                            \
        if (bf16)                                                                                  \
            group_avx512(o, P, max_T, m, q, kh, vh, n, ks, scale, 1, NH, NV);                      \
        else                                                                                       \
            group_avx512(o, P, max_T, m, q, kh, vh, n, ks, scale, 0, NH, NV);                      \
        return;                                                                                    \
    }
    GROUP_CASE(4, 2)
    GROUP_CASE(4, 3)
    GROUP_CASE(4, 4)
    GROUP_CASE(4, 5)
    GROUP_CASE(4, 6)
    GROUP_CASE(8, 2)
    GROUP_CASE(8, 3)
#undef GROUP_CASE
#define HEAD_CASE(NV)                                                                              \
    case NV:                                                                                       \
        if (bf16)                                                                                  \
            group_avx512(o, P, max_T, m, q, kh, vh, n, ks, scale, 1, 1, NV);                       \
        else                                                                                       \
            group_avx512(o, P, max_T, m, q, kh, vh, n, ks, scale, 0, 1, NV);                       \
        break;
    for (int h = 0; h < nh; h++, o += D, P += max_T, q += D) {
        switch (D / 16) {
            HEAD_CASE(1)
            HEAD_CASE(2)
            HEAD_CASE(3)
            HEAD_CASE(4)
            HEAD_CASE(5)
            HEAD_CASE(6)
            HEAD_CASE(7)
            HEAD_CASE(8)
        default:
            break;
        }
    }
#undef HEAD_CASE
}
#endif

/* A BF16 value widened to F32 (exact). */
static inline float bf16_widen(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One query head over a BF16 cache, plain C: each key and value widened as
 * it is read. */
static void head_bf16(float *o, float *P, int m, const float *q, const uint16_t *kh,
                      const uint16_t *vh, int n, int ks, int D, float scale) {
    for (int j = 0; j < n; j++) {
        const uint16_t *kj = kh + (size_t)j * ks;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int d = 0; d < D; d++)
            acc += q[d] * bf16_widen(kj[d]);
        P[j] = acc * scale;
    }
    softmax_row(P, n, m);
    memset(o, 0, (size_t)D * sizeof(float));
    for (int j = 0; j < n; j++) {
        const uint16_t *vj = vh + (size_t)j * ks;
        float p = P[j];
#pragma omp simd
        for (int d = 0; d < D; d++)
            o[d] += p * bf16_widen(vj[d]);
    }
}

/* One query head over an F32 cache without AVX-512: two sgemms. */
static void head_f32(float *o, float *P, int m, const float *q, const float *kh, const float *vh,
                     int n, int ks, int D, float scale) {
    rlc_cpu_sgemm(0, 1, 1, n, D, scale, q, D, kh, ks, 0.0f, P, n);
    softmax_row(P, n, m);
    rlc_cpu_sgemm(0, 0, 1, D, n, 1.0f, P, n, vh, ks, 0.0f, o, D);
}

/* One decode call: its arguments and how its tasks are cut. */
typedef struct decode_call {
    float *out, *scratch;
    const float *q;
    const void *kc, *vc;
    const int *len, *slot;
    int bf16, max_T, Hq, Hkv, D, group, ks;
    float scale;
    int avx;  /* AVX-512 kernels */
    int nsub; /* > 0: tasks are (sequence, kv head, sub-group); 0: (sequence, query head) */
} decode_call;

/* Task t of a decode call. */
static void decode_task(const decode_call *d, long t) {
    int Hq = d->Hq, D = d->D, max_T = d->max_T, group = d->group, ks = d->ks;
    size_t esz = d->bf16 ? 2 : 4;
    int s, h0, h1, g;
    if (d->nsub) {
        long per = (long)d->Hkv * d->nsub;
        int r = (int)(t % per), sub = r % d->nsub;
        s = (int)(t / per), g = r / d->nsub;
        h0 = g * group + sub * group / d->nsub, h1 = g * group + (sub + 1) * group / d->nsub;
    } else {
        s = (int)(t / Hq), h0 = (int)(t % Hq), h1 = h0 + 1, g = h0 / group;
    }
    size_t hq = (size_t)s * Hq + (size_t)h0;
    size_t sl = d->slot ? (size_t)d->slot[s] : (size_t)s;
    size_t c0 = (sl * max_T * ks + (size_t)g * D) * esz; /* bytes */
    const char *kh = (const char *)d->kc + c0, *vh = (const char *)d->vc + c0;
    float *o = d->out + hq * D, *P = d->scratch + hq * max_T;
    const float *q = d->q + hq * D;
    int n = d->len[s], m = padded(n, max_T);
    if (n <= 0) {
        memset(o, 0, (size_t)(h1 - h0) * D * sizeof(float));
        return;
    }
#ifdef DECODE_AVX512
    if (d->avx) {
        group_dispatch(o, P, max_T, m, q, kh, vh, n, ks, D, d->scale, d->bf16, h1 - h0);
        return;
    }
#endif
    if (d->bf16)
        head_bf16(o, P, m, q, (const uint16_t *)kh, (const uint16_t *)vh, n, ks, D, d->scale);
    else
        head_f32(o, P, m, q, (const float *)kh, (const float *)vh, n, ks, D, d->scale);
}

/* Decode: one query row per head, over a cache of F32 or BF16 (bf16) keys
 * and values. Tasks are (sequence, query head), not (sequence, kv head): at
 * batch 1 a model has few kv heads (3 at the 135M shape, on 2 threads one
 * waited for the other), and the query heads of a group read the same keys
 * again from the cache. With enough (sequence, kv head) tasks for the
 * threads (AVX-512 only), the query heads of a group go together, in
 * sub-groups of at most gb heads (their accumulators in registers), each key
 * and value read once per sub-group: same bits as head by head. Bound by
 * reading K and V. In a team (cpu_team.h) each thread runs its share of the
 * tasks. */
static void decode(float *out, float *scratch, const float *q, const void *kc, const void *vc,
                   int bf16, const int *len, const int *slot, int S, int max_T, int Hq, int Hkv,
                   int D) {
    decode_call d = {out, scratch, q,        kc,      vc,
                     len, slot,    bf16,     max_T,   Hq,
                     Hkv, D,       Hq / Hkv, Hkv * D, 1.0f / sqrtf((float)D),
                     0,   0};
#ifdef DECODE_AVX512
    d.avx = rlc_cpu_isa_get() >= RLC_CPU_AVX512 && D % 16 == 0 && D <= DECODE_DMAX;
    int gb = D <= 64 ? DECODE_GMAX : 24 / (D / 16);
    int nt = rlc_cpu_team_tid() >= 0 ? rlc_cpu_team_size() : omp_get_max_threads();
    if (d.avx && d.group > 1 && (long)S * Hkv >= 4L * nt) d.nsub = (d.group + gb - 1) / gb;
#endif
    long tasks = d.nsub ? (long)S * Hkv * d.nsub : (long)S * Hq;
    if (rlc_cpu_team_tid() >= 0) {
        long lo, hi;
        rlc_cpu_team_share(tasks, &lo, &hi);
        for (long t = lo; t < hi; t++)
            decode_task(&d, t);
        rlc_cpu_team_sync();
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)S * Hq * max_T * D >= 65536)
    for (long t = 0; t < tasks; t++)
        decode_task(&d, t);
}

void rlc_cpu_attention_decode(float *out, float *scratch, const float *q, const float *kc,
                              const float *vc, const int *len, const int *slot, int S, int max_T,
                              int Hq, int Hkv, int D) {
    decode(out, scratch, q, kc, vc, 0, len, slot, S, max_T, Hq, Hkv, D);
}

void rlc_cpu_attention_decode_bf16(float *out, float *scratch, const float *q, const uint16_t *kc,
                                   const uint16_t *vc, const int *len, const int *slot, int S,
                                   int max_T, int Hq, int Hkv, int D) {
    decode(out, scratch, q, kc, vc, 1, len, slot, S, max_T, Hq, Hkv, D);
}
