/* Storage dtypes: sizes, safetensors names, and exact fp16/bf16 <-> fp32
 * conversion in portable integer code (no F16C), so results do not depend on
 * the host CPU. */
#include "base/dtype.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[RLC_DTYPE_COUNT] = {
    [RLC_DTYPE_F32] = {"F32", 4}, [RLC_DTYPE_F16] = {"F16", 2}, [RLC_DTYPE_BF16] = {"BF16", 2},
    [RLC_DTYPE_I32] = {"I32", 4}, [RLC_DTYPE_I64] = {"I64", 8}, [RLC_DTYPE_U8] = {"U8", 1},
};

size_t rlc_dtype_size(rlc_dtype t) {
    if ((unsigned)t >= RLC_DTYPE_COUNT) return 0;
    return dtype_info[t].size;
}

const char *rlc_dtype_name(rlc_dtype t) {
    if ((unsigned)t >= RLC_DTYPE_COUNT) return "?";
    return dtype_info[t].name;
}

int rlc_dtype_parse(const char *name, rlc_dtype *out) {
    if (!name) return -1;
    for (int i = 0; i < RLC_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *out = (rlc_dtype)i;
            return 0;
        }
    }
    return -1;
}

static uint32_t f32_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return x;
}

static float bits_f32(uint32_t x) {
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

float rlc_bf16_to_f32(uint16_t h) {
    return bits_f32((uint32_t)h << 16);
}

uint16_t rlc_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    /* Rounding could carry a NaN's payload into the exponent and make it inf;
     * keep it NaN by setting the quiet bit instead. */
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x0040u);
    /* Round to nearest even; a carry out of the mantissa correctly bumps the
     * exponent, up to inf for values past the largest bf16. */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

float rlc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        /* Zero or subnormal: man * 2^-24 is exact in fp32. */
        float v = (float)man * 0x1p-24f;
        return bits_f32(f32_bits(v) | sign);
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13)); /* inf, NaN */
    return bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t rlc_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u) return sign | 0x7c00u;
        /* NaN: keep the top payload bits, set the quiet bit so it stays NaN. */
        return sign | 0x7e00u | (uint16_t)((ax >> 13) & 0x3ffu);
    }
    /* 65520 is halfway between 65504 (largest f16, odd mantissa) and 65536:
     * it and everything above round to inf. */
    if (ax >= 0x477ff000u) return sign | 0x7c00u;
    if (ax >= 0x38800000u) {
        /* Normal f16: rebias the exponent (127 -> 15) and round the mantissa
         * from 23 to 10 bits, nearest even; a carry bumps the exponent. */
        uint32_t m = ax - (112u << 23);
        m += 0xfffu + ((m >> 13) & 1u);
        return sign | (uint16_t)(m >> 13);
    }
    /* 2^-25 is exactly halfway between 0 and the smallest subnormal and ties
     * to even (0); anything at or below it, fp32 subnormals included, is 0. */
    if (ax <= 0x33000000u) return sign;
    /* Subnormal f16: value / 2^-24 = mant * 2^(e - 126), shifted right by
     * 14..24 bits with round to nearest even. A result of 0x400 is the
     * smallest normal, whose encoding is the same number. */
    uint32_t e = ax >> 23;
    uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;
    uint32_t q = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return sign | (uint16_t)q;
}

int rlc_convert_to_f32(float *dst, const void *src, rlc_dtype t, size_t n) {
    const unsigned char *s = src;
    uint16_t h;
    switch (t) {
    case RLC_DTYPE_F32:
        if (n) memmove(dst, src, n * sizeof(float));
        return 0;
    case RLC_DTYPE_F16:
        /* memcpy per element: src may be unaligned (mmapped file data). */
        for (size_t i = 0; i < n; i++) {
            memcpy(&h, s + 2 * i, 2);
            dst[i] = rlc_f16_to_f32(h);
        }
        return 0;
    case RLC_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            memcpy(&h, s + 2 * i, 2);
            dst[i] = rlc_bf16_to_f32(h);
        }
        return 0;
    default:
        return -1;
    }
}

int rlc_convert_from_f32(void *dst, const float *src, rlc_dtype t, size_t n) {
    unsigned char *d = dst;
    uint16_t h;
    switch (t) {
    case RLC_DTYPE_F32:
        if (n) memmove(dst, src, n * sizeof(float));
        return 0;
    case RLC_DTYPE_F16:
        for (size_t i = 0; i < n; i++) {
            h = rlc_f32_to_f16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        return 0;
    case RLC_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            h = rlc_f32_to_bf16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        return 0;
    default:
        return -1;
    }
}
