/* CPU implementations shared by the cpu and ref backend tables (internal). */
#ifndef RLC_TENSOR_CPU_KERNELS_H
#define RLC_TENSOR_CPU_KERNELS_H

#include <stddef.h>

/* Optimizer kernels (src/tensor/optim_kernels.c), contracts as in backend.h. */
void rlc_cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                   float b2, float eps, float wd, int t);
double rlc_cpu_sumsq(const float *x, size_t n);
void rlc_cpu_scale(float *x, float a, size_t n);

#endif
