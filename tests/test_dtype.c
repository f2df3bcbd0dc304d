/* dtype: names, sizes, and bit-exact fp16/bf16 conversion. Expected values
 * were computed with numpy (float16) and torch (bfloat16) and hardcoded. */
#include "base/dtype.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static uint32_t bits(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return x;
}

static float from_bits(uint32_t x) {
    float f;
    memcpy(&f, &x, 4);
    return f;
}

Test(dtype, sizes_names_parse) {
    static const struct {
        rlc_dtype t;
        const char *name;
        size_t size;
    } want[] = {{RLC_DTYPE_F32, "F32", 4}, {RLC_DTYPE_F16, "F16", 2}, {RLC_DTYPE_BF16, "BF16", 2},
                {RLC_DTYPE_I32, "I32", 4}, {RLC_DTYPE_I64, "I64", 8}, {RLC_DTYPE_U8, "U8", 1}};
    cr_assert_eq(sizeof want / sizeof want[0], RLC_DTYPE_COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        rlc_dtype t;
        cr_assert_eq(rlc_dtype_size(want[i].t), want[i].size);
        cr_assert_str_eq(rlc_dtype_name(want[i].t), want[i].name);
        cr_assert_eq(rlc_dtype_parse(want[i].name, &t), 0);
        cr_assert_eq(t, want[i].t);
    }
    rlc_dtype t = RLC_DTYPE_U8;
    cr_assert_eq(rlc_dtype_parse("F64", &t), -1);
    cr_assert_eq(rlc_dtype_parse("f32", &t), -1);
    cr_assert_eq(rlc_dtype_parse("", &t), -1);
    cr_assert_eq(t, RLC_DTYPE_U8);
    cr_assert_eq(rlc_dtype_size(RLC_DTYPE_COUNT), 0);
}

/* Every f16 pattern survives f16 -> f32 -> f16 unchanged; NaNs stay NaN with
 * their sign. Zero, subnormals, normals and inf are all covered. */
Test(dtype, f16_roundtrip_exhaustive) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = rlc_f16_to_f32((uint16_t)h);
        uint16_t back = rlc_f32_to_f16(f);
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan) {
            cr_assert(isnan(f), "h=0x%04x", h);
            cr_assert((back & 0x7c00) == 0x7c00 && (back & 0x3ff), "h=0x%04x back=0x%04x", h, back);
            cr_assert_eq(back & 0x8000, h & 0x8000);
        } else {
            cr_assert_eq(back, h, "h=0x%04x f=%a back=0x%04x", h, (double)f, back);
        }
    }
}

Test(dtype, f16_to_f32_values) {
    cr_assert_eq(rlc_f16_to_f32(0x0001), 0x1p-24f); /* smallest subnormal */
    cr_assert_eq(rlc_f16_to_f32(0x03ff), 1023 * 0x1p-24f);
    cr_assert_eq(rlc_f16_to_f32(0x0400), 0x1p-14f); /* smallest normal */
    cr_assert_eq(rlc_f16_to_f32(0x3c00), 1.0f);
    cr_assert_eq(rlc_f16_to_f32(0x7bff), 65504.0f);
    cr_assert_eq(rlc_f16_to_f32(0xc100), -2.5f);
    cr_assert_eq(bits(rlc_f16_to_f32(0x8000)), 0x80000000u);
    cr_assert(isinf(rlc_f16_to_f32(0x7c00)) && rlc_f16_to_f32(0x7c00) > 0);
    cr_assert(isinf(rlc_f16_to_f32(0xfc00)) && rlc_f16_to_f32(0xfc00) < 0);
    cr_assert(isnan(rlc_f16_to_f32(0x7e00)));
}

Test(dtype, f32_to_f16_rounding) {
    static const struct {
        uint32_t f;
        uint16_t h;
    } cases[] = {
        {0x3dcccccd, 0x2e66}, /* 0.1 */
        {0x3eaaaaab, 0x3555}, /* 1/3 */
        {0x40490fdb, 0x4248}, /* pi */
        {0xc0200000, 0xc100}, /* -2.5 */
        {0x477fef00, 0x7bff}, /* 65519 -> 65504 */
        {0x477ff000, 0x7c00}, /* 65520: tie, rounds to even = inf */
        {0xc77ff000, 0xfc00}, /* -65520 */
        {0x7f7fffff, 0x7c00}, /* FLT_MAX overflows to inf */
        {0x7f800000, 0x7c00}, /* inf */
        {0x33000000, 0x0000}, /* 2^-25: tie between 0 and 2^-24, even = 0 */
        {0xb3000000, 0x8000}, /* -2^-25 -> -0 */
        {0x33000001, 0x0001}, /* just above the tie */
        {0x33c00000, 0x0002}, /* 3 * 2^-25: tie between 1 and 2 ulp, even = 2 */
        {0x33d6bf95, 0x0002}, /* 1e-7 */
        {0x337ffae5, 0x0001}, /* 5.96e-8 */
        {0x387fda40, 0x03ff}, /* 6.1e-5, largest subnormal */
        {0x387ff000, 0x0400}, /* rounds up from subnormal into the smallest normal */
        {0x00000001, 0x0000}, /* fp32 subnormal */
        {0x45001000, 0x6800}, /* 2049: tie, even = 2048 */
        {0x45003000, 0x6802}, /* 2051: tie, even = 2052 */
        {0x80000000, 0x8000}, /* -0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = rlc_f32_to_f16(from_bits(cases[i].f));
        cr_assert_eq(h, cases[i].h, "f=0x%08x: got 0x%04x want 0x%04x", cases[i].f, h, cases[i].h);
    }
    /* NaN whose payload sits only in bits dropped by the conversion. */
    uint16_t h = rlc_f32_to_f16(from_bits(0x7f800001));
    cr_assert((h & 0x7c00) == 0x7c00 && (h & 0x3ff), "0x%04x", h);
}

Test(dtype, bf16_rounding) {
    static const struct {
        uint32_t f;
        uint16_t b;
    } cases[] = {
        {0x3f800000, 0x3f80}, /* 1.0 */
        {0x40490fdb, 0x4049}, /* pi */
        {0x3f808000, 0x3f80}, /* tie, even mantissa stays */
        {0x3f818000, 0x3f82}, /* tie, odd mantissa rounds up */
        {0x3f814000, 0x3f81}, /* below half rounds down */
        {0x3f808001, 0x3f81}, /* just above half rounds up */
        {0xbdcccccd, 0xbdcd}, /* -0.1 */
        {0x7f7fffff, 0x7f80}, /* FLT_MAX rounds to inf */
        {0x000116c2, 0x0001}, /* 1e-40, subnormal */
        {0xff800000, 0xff80}, /* -inf */
        {0x80000000, 0x8000}, /* -0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t b = rlc_f32_to_bf16(from_bits(cases[i].f));
        cr_assert_eq(b, cases[i].b, "f=0x%08x: got 0x%04x want 0x%04x", cases[i].f, b, cases[i].b);
    }
    /* Rounding a low-payload NaN naively would carry into inf. */
    cr_assert(isnan(rlc_bf16_to_f32(rlc_f32_to_bf16(from_bits(0x7f800001)))));
    cr_assert(isnan(rlc_bf16_to_f32(rlc_f32_to_bf16(from_bits(0xffffffff)))));
    cr_assert_eq(rlc_bf16_to_f32(0x3f80), 1.0f);
    cr_assert_eq(bits(rlc_bf16_to_f32(0xc049)), 0xc0490000u);
}

Test(dtype, bf16_roundtrip_exhaustive) {
    for (uint32_t b = 0; b < 65536; b++) {
        float f = rlc_bf16_to_f32((uint16_t)b);
        uint16_t back = rlc_f32_to_bf16(f);
        if (isnan(f))
            cr_assert(isnan(rlc_bf16_to_f32(back)) && (back & 0x8000) == (b & 0x8000));
        else
            cr_assert_eq(back, b, "b=0x%04x", b);
    }
}

Test(dtype, convert_arrays_unaligned) {
    const float src[5] = {1.0f, -2.5f, 0.1f, 65504.0f, 0x1p-24f};
    unsigned char raw[1 + 5 * 4];
    float out[5];
    /* F16 and BF16 through a buffer at an odd address, as mmapped data may be. */
    for (int k = 0; k < 3; k++) {
        rlc_dtype t = k == 0 ? RLC_DTYPE_F32 : k == 1 ? RLC_DTYPE_F16 : RLC_DTYPE_BF16;
        cr_assert_eq(rlc_convert_from_f32(raw + 1, src, t, 5), 0);
        cr_assert_eq(rlc_convert_to_f32(out, raw + 1, t, 5), 0);
        for (int i = 0; i < 5; i++) {
            float want = t == RLC_DTYPE_F32   ? src[i]
                         : t == RLC_DTYPE_F16 ? rlc_f16_to_f32(rlc_f32_to_f16(src[i]))
                                              : rlc_bf16_to_f32(rlc_f32_to_bf16(src[i]));
            cr_assert_eq(out[i], want, "dtype %s element %d", rlc_dtype_name(t), i);
        }
    }
    uint16_t h;
    memcpy(&h, raw + 1 + 2 * 2, 2);
    cr_assert_eq(h, rlc_f32_to_bf16(0.1f));
    cr_assert_eq(rlc_convert_to_f32(out, raw, RLC_DTYPE_I32, 1), -1);
    cr_assert_eq(rlc_convert_from_f32(raw, src, RLC_DTYPE_U8, 1), -1);
}
