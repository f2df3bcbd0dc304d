/* Causal GQA attention kernels of the CPU backend (contracts in backend.h):
 * OpenBLAS sgemm over causal row blocks, probabilities rebuilt from the
 * per-row logsumexp in the backward. */
#ifndef RLC_TENSOR_CPU_ATTENTION_H
#define RLC_TENSOR_CPU_ATTENTION_H

#include "tensor/backend.h"

#include <stddef.h>
#include <stdint.h>

void rlc_cpu_attention_forward(float *out, float *lse, float *scratch, size_t scratch_floats,
                               const float *q, const float *k, const float *v, int B, int T, int Hq,
                               int Hkv, int D);
void rlc_cpu_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                                size_t scratch_floats, const float *dout, const float *out,
                                const float *lse, const float *q, const float *k, const float *v,
                                int B, int T, int Hq, int Hkv, int D);
void rlc_cpu_attention_decode(float *out, float *scratch, const float *q, const float *kc,
                              const float *vc, const int *len, const int *slot, int S, int max_T,
                              int Hq, int Hkv, int D);
void rlc_cpu_attention_decode_bf16(float *out, float *scratch, const float *q, const uint16_t *kc,
                                   const uint16_t *vc, const int *len, const int *slot, int S,
                                   int max_T, int Hq, int Hkv, int D);

#endif
