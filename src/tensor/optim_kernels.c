/* TEMPORARY placeholder so the kernels branch links; the optimizer engineer's
 * src/tensor/optim_kernels.c replaces this file on merge. Plain loops with the
 * contracts of backend.h. */
#include "tensor/cpu_kernels.h"

#include <math.h>

void rlc_cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                   float b2, float eps, float wd, int t) {
    double c1 = 1.0 - pow(b1, t), c2 = 1.0 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        double mhat = m[i] / c1, vhat = v[i] / c2;
        p[i] -= (float)(lr * (mhat / (sqrt(vhat) + eps) + wd * p[i]));
    }
}

double rlc_cpu_sumsq(const float *x, size_t n) {
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    return acc;
}

void rlc_cpu_scale(float *x, float a, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}
