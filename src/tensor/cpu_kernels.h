/* CPU implementations shared by the cpu and ref backend tables (internal). */
#ifndef RLC_TENSOR_CPU_KERNELS_H
#define RLC_TENSOR_CPU_KERNELS_H

#include "tensor/backend.h"

#include <stddef.h>

/* Optimizer kernels (src/tensor/optim_kernels.c), contracts as in backend.h. */
void rlc_cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                   float b2, float eps, float wd, int t);
double rlc_cpu_sumsq(const float *x, size_t n);
void rlc_cpu_scale(float *x, float a, size_t n);

/* C = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm, but with bits
 * that do not depend on the thread count (src/tensor/cpu_linear.c). Every
 * sgemm of the backend goes through it. */
void rlc_cpu_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Linear maps and the embedding over F32 or BF16 weights (src/tensor/cpu_linear.c). */
void rlc_cpu_linear(const float *x, int N, int in, const rlc_linear_out *o, int n_out, float alpha,
                    int accumulate, float *scratch);
void rlc_cpu_linear_dx(float *dx, const float *dy, rlc_wmat W, int N, int in, int out, float alpha,
                       int accumulate, float *scratch);
void rlc_cpu_embedding_forward(float *out, const int *ids, rlc_wmat wte, int N, int C);
/* Whether linear takes the streamed kernels for N rows (for every dtype of W). */
int rlc_cpu_linear_streams(int N);

/* Which kernels linear uses: AVX-512 ones when the CPU has AVX-512 F/BW/VL,
 * with BF16 products (x rounded to BF16, vdpbf16ps) for BF16 weights when it
 * also has AVX512_BF16, else plain C. The environment may lower that (read
 * once): RLC_CPU=avx512 keeps F32 products, RLC_CPU=generic the plain C
 * kernels. rlc_cpu_isa_set overrides it (tests; a level the CPU lacks gives
 * the highest it has below) and returns the previous choice. */
/* linear with the streamed (few-row) kernels at any N, x in blocks of 24
 * rows (linear itself uses them up to 24 rows for F32 W, 48 for BF16): for
 * tests and the benchmark. */
void rlc_cpu_linear_streamed(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                             float alpha, int accumulate);
/* linear with the AVX-512 panel kernels at any N (linear itself uses them
 * from 9 rows where the CPU has AVX-512; without it, chosen at run time, or
 * for rows too long to pack 32 of into the scratch, this is linear's sgemm
 * path); scratch: RLC_LINEAR_SCRATCH floats, F32 W included. For tests and
 * the benchmark. */
void rlc_cpu_linear_panels(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                           float alpha, int accumulate, float *scratch);
/* linear_dx with W streamed once at any N (linear_dx itself uses it up to
 * 4 rows): for tests and the benchmark. */
void rlc_cpu_linear_dx_streamed(float *dx, const float *dy, rlc_wmat W, int N, int in, int out,
                                float alpha, int accumulate);
typedef enum rlc_cpu_isa {
    RLC_CPU_GENERIC = 0,
    RLC_CPU_AVX512 = 1,
    RLC_CPU_AVX512_BF16 = 2 /* AVX-512 and AVX512_BF16 */
} rlc_cpu_isa;
rlc_cpu_isa rlc_cpu_isa_get(void);
rlc_cpu_isa rlc_cpu_isa_set(rlc_cpu_isa isa);

#endif
