/* Storage dtypes found in model files, and conversion to the fp32 compute type. */
#ifndef RLC_BASE_DTYPE_H
#define RLC_BASE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* Only appended to. */
typedef enum rlc_dtype {
    RLC_DTYPE_F32 = 0,
    RLC_DTYPE_F16,
    RLC_DTYPE_BF16,
    RLC_DTYPE_I32,
    RLC_DTYPE_I64,
    RLC_DTYPE_U8,
    RLC_DTYPE_COUNT
} rlc_dtype;

/* Bytes per element. */
size_t rlc_dtype_size(rlc_dtype t);
/* The safetensors spelling ("F32", "BF16", ...). */
const char *rlc_dtype_name(rlc_dtype t);
/* Parses a safetensors dtype name; returns 0 and sets *out, or -1 if unknown. */
int rlc_dtype_parse(const char *name, rlc_dtype *out);

float rlc_bf16_to_f32(uint16_t h);
uint16_t rlc_f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */
float rlc_f16_to_f32(uint16_t h);
uint16_t rlc_f32_to_f16(float f); /* round to nearest even, overflow to inf */

/* dst[n] (fp32) from src[n] of dtype t (F32, F16 or BF16); returns -1 for other dtypes. */
int rlc_convert_to_f32(float *dst, const void *src, rlc_dtype t, size_t n);
/* dst[n] of dtype t (F32, F16 or BF16) from src[n] fp32; returns -1 for other dtypes. */
int rlc_convert_from_f32(void *dst, const float *src, rlc_dtype t, size_t n);

#endif
