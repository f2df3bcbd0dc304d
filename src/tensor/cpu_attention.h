/* Causal GQA attention kernels of the CPU backend (contracts in backend.h).
 * Two strategies are kept so bench/kernels.c can compare them: per-head
 * OpenBLAS sgemm over causal row blocks, and hand-written vectorized loops.
 * The unsuffixed entry points are the ones the backend table uses. */
#ifndef RLC_TENSOR_CPU_ATTENTION_H
#define RLC_TENSOR_CPU_ATTENTION_H

#include <stdint.h>

void rlc_cpu_attention_forward(float *out, float *att, const float *q, const float *k,
                               const float *v, int B, int T, int Hq, int Hkv, int D);
void rlc_cpu_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                                const float *att, const float *q, const float *k, const float *v,
                                int B, int T, int Hq, int Hkv, int D);
void rlc_cpu_attention_decode(float *out, float *scratch, const float *q, const float *kc,
                              const float *vc, const int *len, const int *slot, int S, int max_T,
                              int Hq, int Hkv, int D);
void rlc_cpu_attention_decode_bf16(float *out, float *scratch, const float *q, const uint16_t *kc,
                                   const uint16_t *vc, const int *len, const int *slot, int S,
                                   int max_T, int Hq, int Hkv, int D);

void rlc_cpu_attention_forward_gemm(float *out, float *att, const float *q, const float *k,
                                    const float *v, int B, int T, int Hq, int Hkv, int D);
void rlc_cpu_attention_forward_loops(float *out, float *att, const float *q, const float *k,
                                     const float *v, int B, int T, int Hq, int Hkv, int D);
void rlc_cpu_attention_backward_gemm(float *dq, float *dk, float *dv, float *scratch,
                                     const float *dout, const float *att, const float *q,
                                     const float *k, const float *v, int B, int T, int Hq, int Hkv,
                                     int D);
void rlc_cpu_attention_backward_loops(float *dq, float *dk, float *dv, float *scratch,
                                      const float *dout, const float *att, const float *q,
                                      const float *k, const float *v, int B, int T, int Hq, int Hkv,
                                      int D);

#endif
