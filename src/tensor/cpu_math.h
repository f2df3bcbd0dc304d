/* Scalar math written so that GCC/Clang vectorize loops that call it
 * (libm's expf only vectorizes under -ffast-math, which we do not use).
 * Internal to the CPU backend. */
#ifndef RLC_TENSOR_CPU_MATH_H
#define RLC_TENSOR_CPU_MATH_H

#include <math.h>
#include <stdint.h>

/* exp(x) in fp32 to ~2 ulp (Cephes expf polynomial): x = n ln2 + r, |r| <= ln2/2 (n rounded),
 * 2^n built in the exponent bits. Returns 0 below -87.3 (so exp(-inf) = 0) and
 * saturates at exp(88.3) instead of returning inf. */
static inline float rlc_expf(float x) {
    float xc = x < -87.33f ? -87.33f : x;
    xc = xc > 88.3f ? 88.3f : xc;
    /* Round to nearest by adding 1.5*2^23: floorf/rintf are libm calls
     * that block vectorization without -ffast-math. */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* ln2 split in two so n*ln2 is exact enough for the reduction. */
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } e = {.i = ((int32_t)n + 127) << 23};
    return x < -87.33f ? 0.0f : p * e.f;
}

#endif
