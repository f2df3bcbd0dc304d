/* Scalar math written so that GCC/Clang vectorize loops that call it
 * (libm's expf only vectorizes under -ffast-math, which we do not use).
 * Used by the CPU backend and by the sampler (model/sampler.c): the one fast
 * exp of the code base. */
#ifndef RLC_TENSOR_CPU_MATH_H
#define RLC_TENSOR_CPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) in fp32 within 1.3 ulp over [-87.3, 88.3] (Cephes expf polynomial;
 * bench/kernels.c measures it against libm): x = n ln2 + r, |r| <= ln2/2
 * (n rounded), 2^n built in the exponent bits. Returns 0 below -87.3 (so
 * exp(-inf) = 0), exp(0) = 1 exactly, NaN for NaN, and saturates at
 * exp(88.3) instead of returning inf. */
static inline float rlc_expf(float x) {
    float xc = x < -87.33f ? -87.33f : x; /* NaN stays NaN */
    xc = xc > 88.3f ? 88.3f : xc;
    /* Round to nearest by adding 1.5*2^23: floorf/rintf are libm calls
     * that block vectorization without -ffast-math. The bits of t then hold
     * n, so no float-to-int conversion is needed either. */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    /* ln2 split in two so n*ln2 is exact enough for the reduction. */
    float r = fmaf(n, 2.12194440e-4f, fmaf(n, -0.693359375f, xc));
    /* fmaf explicitly: -std=c11 turns off FP contraction, and this is the hot path. */
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    /* Adding 1 last (fmaf(p, r*r, r) + 1) would give 1.05 ulp instead of 1.3,
     * but every trained number moves with this function's last bits, and the
     * demo's recorded results (docs/demo) were made with this form: a change
     * here is a change of results, to be made with a re-run demo. */
    p = fmaf(p, r * r, r + 1.0f);
    uint32_t bits = (tb - 0x4B400000u + 127u) << 23; /* 2^n, n in [-126, 127] */
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n);
    return x < -87.33f ? 0.0f : p * two_n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The four sums of a, b, c, d as [sum a, sum b, sum c, sum d]: four dot
 * products finished with 7 adds instead of four reductions. For kernels
 * built for AVX-512 at run time (target attribute) or compile time. */
__attribute__((target("avx512f"), always_inline)) static inline __m128
rlc_hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
#define RLC_HALF(v)                                                                                \
    _mm256_add_ps(_mm512_castps512_ps256(v),                                                       \
                  _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
    __m256 ab = _mm256_hadd_ps(RLC_HALF(a), RLC_HALF(b));
    __m256 cd = _mm256_hadd_ps(RLC_HALF(c), RLC_HALF(d));
#undef RLC_HALF
    __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* 16 values from element k of p, F32 or BF16 widened (exactly), masked
 * (lanes of m, the rest 0) or not; bf16 and masked are constants where this
 * is inlined. For the linear and decode-attention kernels. */
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) static inline __m512
rlc_load16(const void *p, int bf16, size_t k, int masked, __mmask16 m) {
    if (bf16) {
        const uint16_t *h16 = (const uint16_t *)p + k;
        __m256i h =
            masked ? _mm256_maskz_loadu_epi16(m, h16) : _mm256_loadu_si256((const void *)h16);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    const float *f = (const float *)p + k;
    return masked ? _mm512_maskz_loadu_ps(m, f) : _mm512_loadu_ps(f);
}
#endif

#ifdef __AVX512F__

/* rlc_expf on 16 lanes, for hand-vectorized loops (same algorithm). */
static inline __m512 rlc_exp16(__m512 x) {
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_LT_OQ);
    return _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
}

/* Lanes [0, n - i) of the 16-float vector starting at element i of an n-row. */
static inline __mmask16 rlc_tail_mask(int i, int n) {
    return n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
}
#endif

#endif
