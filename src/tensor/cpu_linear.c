/* Linear maps of the CPU backend over F32 or BF16 weights (contracts in
 * backend.h). A BF16 W is widened block by block into the caller's scratch,
 * then multiplied with OpenBLAS sgemm. */
#include "tensor/backend.h"
#include "tensor/cpu_kernels.h"

#include "base/dtype.h"

#include <cblas.h>
#include <string.h>

/* Rows [r0, r0 + n) of W widened into dst[n, cols]. */
static void widen_rows(float *dst, rlc_wmat W, int cols, int r0, int n) {
    const uint16_t *src = W.bf16 + (size_t)r0 * cols;
    size_t total = (size_t)n * cols;
#pragma omp parallel for simd schedule(static) if (total >= 65536)
    for (size_t i = 0; i < total; i++)
        dst[i] = rlc_bf16_to_f32(src[i]);
}

/* Rows of a [rows, cols] BF16 matrix that fit the scratch at once. */
static int block_rows(int cols) {
    size_t n = RLC_LINEAR_SCRATCH / (size_t)cols;
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

void rlc_cpu_linear(const float *x, int N, int in, const rlc_linear_out *o, int n_out, float alpha,
                    int accumulate, float *scratch) {
    float beta = accumulate ? 1.0f : 0.0f;
    for (int j = 0; j < n_out; j++) {
        int out = o[j].out;
        if (o[j].W.f32) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, alpha, x, in,
                        o[j].W.f32, in, beta, o[j].y, out);
            continue;
        }
        int nb = block_rows(in);
        for (int r0 = 0; r0 < out; r0 += nb) {
            int n = out - r0 < nb ? out - r0 : nb;
            widen_rows(scratch, o[j].W, in, r0, n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, n, in, alpha, x, in, scratch,
                        in, beta, o[j].y + r0, out);
        }
    }
}

void rlc_cpu_linear_dx(float *dx, const float *dy, rlc_wmat W, int N, int in, int out, float alpha,
                       int accumulate, float *scratch) {
    float beta = accumulate ? 1.0f : 0.0f;
    if (W.f32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, alpha, dy, out, W.f32,
                    in, beta, dx, in);
        return;
    }
    int nb = block_rows(in);
    for (int r0 = 0; r0 < out; r0 += nb) {
        int n = out - r0 < nb ? out - r0 : nb;
        widen_rows(scratch, W, in, r0, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, n, alpha, dy + r0, out,
                    scratch, in, r0 == 0 ? beta : 1.0f, dx, in);
    }
}

void rlc_cpu_embedding_forward(float *out, const int *ids, rlc_wmat wte, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= 16384)
    for (int i = 0; i < N; i++) {
        float *o = out + (size_t)i * C;
        if (wte.f32) {
            memcpy(o, wte.f32 + (size_t)ids[i] * C, (size_t)C * sizeof(float));
        } else {
            const uint16_t *w = wte.bf16 + (size_t)ids[i] * C;
            for (int c = 0; c < C; c++)
                o[c] = rlc_bf16_to_f32(w[c]);
        }
    }
}
