/* The kernel table: every numeric op the model and trainer use, forward and
 * backward side by side. Model code calls kernels only through an
 * rlc_backend, so a CUDA backend can slot in later without touching it.
 *
 * Conventions (all tensors fp32, row-major, contiguous unless a stride is given):
 *   N = tokens (B*T), C = channels, H/Hq/Hkv = heads, D = head dim, V = vocab.
 *   Backward kernels ADD into parameter gradients (dw, db) and OVERWRITE
 *   activation gradients (dx), unless the comment says otherwise.
 *   No kernel allocates memory: scratch comes from the caller. */
#ifndef RLC_TENSOR_BACKEND_H
#define RLC_TENSOR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* A weight matrix W[rows, cols], row-major, held either in F32 or in BF16
 * (a frozen weight kept in its file's dtype): exactly one pointer is set.
 * Products with a BF16 W compute in F32 (each weight widened exactly). */
typedef struct rlc_wmat {
    const float *f32;
    const uint16_t *bf16;
} rlc_wmat;

/* Floats of scratch that linear/linear_dx may clobber (the CPU backend
 * packs x there for many rows, and widens BF16 W there without AVX-512). */
#define RLC_LINEAR_SCRATCH ((size_t)1 << 20)

/* Attention works on blocks of RLC_ATTN_BLOCK query rows; one worker holds a
 * block of probabilities and one of their gradients, (RLC_ATTN_BLOCK, T) each. */
#define RLC_ATTN_BLOCK 32
#define RLC_ATTN_WORKER_FLOATS(T) (2 * (size_t)RLC_ATTN_BLOCK * (size_t)(T))
/* Scratch floats for attention_forward/backward at T tokens with `workers`
 * workers at once (< 1 counts as 1). */
static inline size_t rlc_attention_scratch_floats(int T, int workers) {
    return RLC_ATTN_WORKER_FLOATS(T) * (size_t)(workers > 0 ? workers : 1);
}

/* One output of a fused linear: y[N, out] from W[out, in]. */
typedef struct rlc_linear_out {
    float *y;
    rlc_wmat W;
    int out;
} rlc_linear_out;

typedef struct rlc_backend {
    const char *name;

    /* C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, row-major with leading
     * dimensions lda/ldb/ldc (op(X) = X^T when transX is non-zero). With beta = 0,
     * C is write-only (any prior content, NaN included, is ignored). */
    void (*matmul)(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);

    /* out[N,C] += bias[C] broadcast over rows. */
    void (*add_bias)(float *out, const float *bias, int N, int C);
    /* dbias[C] += sum over rows of dout[N,C]. */
    void (*bias_backward)(float *dbias, const float *dout, int N, int C);

    /* y[n] += a * x[n]. */
    void (*axpy)(float *y, float a, const float *x, size_t n);

    /* For each of the n_out outputs: y[N,out] = alpha * x[N,in] W^T, or
     * y += alpha * x W^T when accumulate. The outputs share x (a fused Q/K/V
     * or gate/up product reads x once); few rows stream each W once for all
     * of them. y may not alias x. scratch: see RLC_LINEAR_SCRATCH. */
    void (*linear)(const float *x, int N, int in, const rlc_linear_out *o, int n_out, float alpha,
                   int accumulate, float *scratch);
    /* dx[N,in] = alpha * dy[N,out] W[out,in], or dx += when accumulate. */
    void (*linear_dx)(float *dx, const float *dy, rlc_wmat W, int N, int in, int out, float alpha,
                      int accumulate, float *scratch);

    /* out[N,C] = wte[ids[i], :] (F32 or BF16 table); ids must be in [0,V). */
    void (*embedding_forward)(float *out, const int *ids, rlc_wmat wte, int N, int C);
    /* dwte[ids[i], :] += dout[i, :] (deterministic: same result for any thread count). */
    void (*embedding_backward)(float *dwte, const float *dout, const int *ids, int N, int C, int V);

    /* RMSNorm over the last dim: out = x * rstd * w, rstd[i] = 1/sqrt(mean(x_i^2) + eps).
     * out may not alias x. rstd[N] is saved for backward. */
    void (*rmsnorm_forward)(float *out, float *rstd, const float *x, const float *w, int N, int C,
                            float eps);
    /* dx = d/dx (overwritten, may alias dout), dw[C] += sum_i dout*x*rstd;
     * dw may be NULL (a frozen weight). */
    void (*rmsnorm_backward)(float *dx, float *dw, const float *dout, const float *x,
                             const float *w, const float *rstd, int N, int C);

    /* Rotary embedding, Hugging Face "rotate_half" layout: for j < D/2 the pair is
     * (x[j], x[j + D/2]) rotated by angle pos*inv_freq[j]. In place on x[N,H,D];
     * token i sits at position pos[i]; cos/sin tables are [max_pos, D/2].
     * D must be even. The backward is the same kernel with inverse=1 (rotation by -angle). */
    void (*rope)(float *x, const int *pos, const float *cos_t, const float *sin_t, int N, int H,
                 int D, int inverse);

    /* Causal self-attention with grouped-query heads (Hq % Hkv == 0; query head h
     * reads kv head h / (Hq/Hkv)) over B sequences of T tokens:
     *   q[B,T,Hq,D], k,v[B,T,Hkv,D] -> out[B,T,Hq,D], scale = 1/sqrt(D).
     * lse[B,Hq,T] receives each row's logsumexp of the scaled scores; with out it
     * is all the backward needs (no [T,T] probabilities are kept).
     * scratch: scratch_floats floats, at least RLC_ATTN_WORKER_FLOATS(T) (one
     * worker); rlc_attention_scratch_floats(T, w) lets w workers run at once.
     * Clobbered; one call at a time per scratch (workers take slots by their
     * OpenMP thread number). Results do not depend on the number of workers. */
    void (*attention_forward)(float *out, float *lse, float *scratch, size_t scratch_floats,
                              const float *q, const float *k, const float *v, int B, int T, int Hq,
                              int Hkv, int D);
    /* dq, dk, dv (overwritten) from dout, and out and lse of the forward on the
     * same q, k, v. scratch as for attention_forward. */
    void (*attention_backward)(float *dq, float *dk, float *dv, float *scratch,
                               size_t scratch_floats, const float *dout, const float *out,
                               const float *lse, const float *q, const float *k, const float *v,
                               int B, int T, int Hq, int Hkv, int D);

    /* One decode step for S query rows with a KV cache.
     * q[S,Hq,D]; cache layout kc/vc[slots, max_T, Hkv, D]; row s reads cache slot
     * slot[s] (slot NULL: slot s) and attends to its positions 0..len[s]-1 (its
     * own new token already written there; len[s] >= 1). out[S,Hq,D].
     * scratch: S*Hq*max_T floats. */
    void (*attention_decode)(float *out, float *scratch, const float *q, const float *kc,
                             const float *vc, const int *len, const int *slot, int S, int max_T,
                             int Hq, int Hkv, int D);
    /* attention_decode over a BF16 cache (each key and value widened exactly). */
    void (*attention_decode_bf16)(float *out, float *scratch, const float *q, const uint16_t *kc,
                                  const uint16_t *vc, const int *len, const int *slot, int S,
                                  int max_T, int Hq, int Hkv, int D);

    /* SwiGLU: h[N,F] = silu(g) * u. */
    void (*swiglu_forward)(float *h, const float *g, const float *u, int N, int F);
    /* dg, du overwritten. */
    void (*swiglu_backward)(float *dg, float *du, const float *dh, const float *g, const float *u,
                            int N, int F);

    /* Log-softmax gathered at targets: for each row i of logits[N,V],
     * lse[i] = logsumexp(logits[i,:]) and logp[i] = logits[i,target[i]] - lse[i].
     * target[i] < 0 means ignored: logp[i] = 0. */
    void (*logprob_forward)(float *logp, float *lse, const float *logits, const int *target, int N,
                            int V);
    /* Given dlogp[N] (gradient of the objective w.r.t. logp), writes
     * dlogits[i,:] = dlogp[i] * (onehot(target[i]) - softmax(logits[i,:])), zero rows
     * for ignored targets. dlogits may alias logits. */
    void (*logprob_backward)(float *dlogits, const float *dlogp, const float *logits,
                             const float *lse, const int *target, int N, int V);

    /* AdamW on n parameters as torch.optim.AdamW, bias-corrected with step t >= 1:
     *   p *= 1 - lr*wd  (decoupled decay, applied to the pre-update p);
     *   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     *   p -= lr * mhat / (sqrt(vhat) + eps), mhat = m/(1-b1^t), vhat = v/(1-b2^t). */
    void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float wd, int t);
    /* Sum of squares of x[n] in double (for global grad-norm clipping);
     * deterministic: the same result for any thread count. */
    double (*sumsq)(const float *x, size_t n);
    /* x[n] *= a. */
    void (*scale)(float *x, float a, size_t n);

    /* Teams: team_run runs fn(ctx) once on each thread of a team where the backend has one for
     * products of `rows` rows and `work` multiply-adds (about) per call of fn, else once. In a
     * team the ops fn calls are collective: every thread calls the same ops with the same
     * arguments, and each returns with its results visible to all threads. Only linear,
     * attention_decode(_bf16), embedding_forward, rmsnorm_forward, rope, swiglu_forward,
     * add_bias and matmul may be called in a team. fn's own work on shared memory goes in a
     * solo section: team_solo_begin returns 1 on the one thread that runs it (ops called
     * there run unshared), 0 on the others, which skip it; then every thread calls
     * team_solo_end. One decode step is one team: the CPU backend's threads meet at light
     * barriers instead of entering one parallel region per op. */
    void (*team_run)(void (*fn)(void *ctx), void *ctx, int rows, size_t work);
    int (*team_solo_begin)(void);
    void (*team_solo_end)(void);
} rlc_backend;

/* The CPU backend (OpenBLAS + OpenMP). Never NULL. */
const rlc_backend *rlc_backend_cpu(void);

/* Plain single-threaded loops with the same contracts: the reference that
 * tests compare the optimised kernels against. */
const rlc_backend *rlc_backend_ref(void);

#endif
