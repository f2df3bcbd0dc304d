/* Optimizer kernels shared by the cpu and ref backends: AdamW, sum of squares
 * and scaling over flat fp32 buffers. */
#include "tensor/cpu_kernels.h"

#include <math.h>

/* One contiguous range of the AdamW update, fp32 with the step's constants.
 * The Makefile builds this file with -fno-math-errno: v >= 0 so sqrtf never
 * sets errno, and without the flag GCC keeps a scalar errno path that stops
 * the loop from vectorising. */
static void adamw_range(float *restrict p, const float *restrict g, float *restrict m,
                        float *restrict v, size_t lo, size_t hi, float b1, float b2, float c1,
                        float c2, float decay, float step_size, float bc2_sqrt, float eps) {
#pragma omp simd
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = m[i] * b1 + gi * c1;
        float vi = v[i] * b2 + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

/* torch.optim.AdamW (single-tensor path) operation by operation, in fp32 with
 * the scalar factors computed in double as Python does:
 *   p *= 1 - lr*wd                      (decoupled decay on the pre-update p)
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps) */
void rlc_cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                   float b2, float eps, float wd, int t) {
    enum { CHUNK = 1 << 14 };
    const float decay = (float)(1.0 - (double)lr * wd);
    const float c1 = (float)(1.0 - (double)b1), c2 = (float)(1.0 - (double)b2);
    const float step_size = (float)((double)lr / (1.0 - pow(b1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    size_t nchunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (nchunks > 2)
    for (size_t c = 0; c < nchunks; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        adamw_range(p, g, m, v, lo, hi, b1, b2, c1, c2, decay, step_size, bc2_sqrt, eps);
    }
}

/* Fixed-size chunks summed in double, then the chunk sums added in order, so
 * the result is the same for any thread count (not just a given one). */
double rlc_cpu_sumsq(const float *x, size_t n) {
    enum { CHUNK = 1 << 14 };
    size_t nchunks = (n + CHUNK - 1) / CHUNK;
    double total = 0;
#pragma omp parallel for ordered schedule(static) if (nchunks > 4)
    for (size_t c = 0; c < nchunks; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t i = lo; i < hi; i++)
            s += (double)x[i] * x[i];
#pragma omp ordered
        total += s;
    }
    return total;
}

void rlc_cpu_scale(float *x, float a, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}
