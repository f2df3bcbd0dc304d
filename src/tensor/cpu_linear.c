/* Linear maps of the CPU backend over F32 or BF16 weights (contracts in
 * backend.h).
 *
 * Few rows (decode; N <= 24 for F32 weights, <= 48 for BF16): memory-bound, so each weight is read
 * from memory once per call for all N rows. The weight rows of all fused outputs are cut into
 * chunks that the threads of ONE parallel region take in turn; within a chunk a block of 4 weight
 * rows is multiplied with 4 x rows at a time (16 F32 accumulators), the block staying in L1 while
 * the x rows pass. A BF16 weight is widened exactly in registers, and both dtypes sum in the same
 * order, so a BF16 W gives bit for bit what its widened F32 copy gives. The AVX-512 kernels are
 * compiled for that target alone and picked at run time; the generic ones are plain C the compiler
 * vectorizes.
 *
 * linear_dx streams W once the same way for up to 4 rows (plain C only).
 *
 * Many rows: OpenBLAS sgemm in tiles fixed by the shape (rlc_cpu_sgemm); a
 * BF16 W is widened block by block into the caller's scratch first. */
#include "tensor/backend.h"
#include "tensor/cpu_kernels.h"
#include "tensor/cpu_math.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many rows the streamed kernels beat sgemm (F32 W) or widening
 * plus sgemm (BF16 W): "threshold" rows of bench/kernels.c. */
#define FEW_ROWS_F32 24
#define FEW_ROWS_BF16 48
/* Up to this many rows linear_dx streams W once: "linear_dx" rows of
 * bench/kernels.c (1-2x sgemm at N <= 4, behind it from 8). */
#define DX_FEW_ROWS 4
/* x rows the streamed kernels take at once. */
#define FEW_ROWS 24
/* Weight bytes times rows below which one thread does the whole product. */
#define PAR_MIN_BYTES (256 * 1024)
/* Columns widened at a time by the generic kernels. */
#define KTILE 256

/* ---- run-time choice of the kernels ------------------------------------ */

static int isa_cached = -1; /* rlc_cpu_isa, or -1 before the first call */

static int cpu_has_avx512(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

rlc_cpu_isa rlc_cpu_isa_get(void) {
    int isa = __atomic_load_n(&isa_cached, __ATOMIC_RELAXED);
    if (isa < 0) {
        const char *env = getenv("RLC_CPU");
        int generic = env && strcmp(env, "generic") == 0;
        isa = !generic && cpu_has_avx512() ? RLC_CPU_AVX512 : RLC_CPU_GENERIC;
        __atomic_store_n(&isa_cached, isa, __ATOMIC_RELAXED);
    }
    return (rlc_cpu_isa)isa;
}

rlc_cpu_isa rlc_cpu_isa_set(rlc_cpu_isa isa) {
    rlc_cpu_isa prev = rlc_cpu_isa_get();
    if (isa == RLC_CPU_AVX512 && !cpu_has_avx512()) isa = RLC_CPU_GENERIC;
    __atomic_store_n(&isa_cached, (int)isa, __ATOMIC_RELAXED);
    return prev;
}

/* ---- helpers ------------------------------------------------------------ */

/* Exact BF16 -> F32 (the BF16 bits are the top half of the F32 ones). */
static inline float bf16_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void widen(float *restrict dst, const uint16_t *restrict src, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        dst[i] = bf16_f32(src[i]);
}

static inline float store_val(float acc, float alpha, int accumulate, const float *y) {
    return accumulate ? alpha * acc + *y : alpha * acc;
}

/* ---- generic few-row kernel -------------------------------------------- */

/* y[i, r] for weight rows [r0, r0 + nr) of W[., in] and N <= FEW_ROWS
 * x rows; y points at column 0 of an output with leading dimension ldy. */
static void gen_rows(const float *x, int N, int in, rlc_wmat W, int r0, int nr, float *y, int ldy,
                     float alpha, int accumulate) {
    float tile[KTILE];
    float s[FEW_ROWS];
    for (int r = r0; r < r0 + nr; r++) {
        for (int i = 0; i < N; i++)
            s[i] = 0.0f;
        for (int k0 = 0; k0 < in; k0 += KTILE) {
            int n = in - k0 < KTILE ? in - k0 : KTILE;
            size_t off = (size_t)r * in + k0;
            const float *w = W.f32 ? W.f32 + off : tile;
            if (!W.f32) widen(tile, W.bf16 + off, (size_t)n);
            for (int i = 0; i < N; i++) {
                const float *xi = x + (size_t)i * in + k0;
                float d = 0.0f;
#pragma omp simd reduction(+ : d)
                for (int k = 0; k < n; k++)
                    d += w[k] * xi[k];
                s[i] += d;
            }
        }
        for (int i = 0; i < N; i++) {
            float *yi = y + (size_t)i * ldy + r;
            *yi = store_val(s[i], alpha, accumulate, yi);
        }
    }
}

/* ---- AVX-512 few-row kernel -------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX512_KERNELS 1
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define AVX512_INLINE AVX512 __attribute__((always_inline)) static inline

/* y[i, 0..RB) for RB (1 or 4) weight rows at w (row stride in) and NB
 * (1..4) x rows at x; y points at (row 0, first column) of the block. */
/* BF16 rows are prefetched by software, one line per line read, PF_BLOCKS
 * blocks of RB rows ahead (rows are contiguous), within the caller's rows
 * only (pf), on the first x block only: the hardware prefetcher restarts on
 * each short BF16 row (1152 bytes at the 135M shape). The rows' first blocks
 * are prefetched at once by avx_rows_t. Measured on an AMD EPYC over one
 * token of 135M BF16 decode weights (269 MB, 2 threads, 10 interleaved
 * rounds): no software prefetch 10.1-10.8 ms, 1 block ahead 7.15 ms
 * (median), 2 blocks 7.22, 2 blocks within the rows and primed 6.67, 3 or 4
 * blocks slower. F32 rows gained nothing and are left to the hardware. */
#define PF_BLOCKS 2
AVX512_INLINE void avx_block(const float *x, int in, const void *w, int bf16, int RB, int NB,
                             float *y, int ldy, float alpha, int accumulate, int pf) {
    const char *nxt = (const char *)w + (size_t)PF_BLOCKS * RB * in * 2;
    int lpi = bf16 && pf ? RB * 16 * 2 / 64 : 0; /* lines of the next block per k step */
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            acc[r][i] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= in; k += 16) {
        __m512 wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++) {
            if (r < lpi) _mm_prefetch(nxt + ((size_t)(k / 16) * lpi + r) * 64, _MM_HINT_T0);
            wv[r] = rlc_load16(w, bf16, (size_t)r * in + k, 0, 0);
        }
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)i * in + k);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++)
                acc[r][i] = _mm512_fmadd_ps(wv[r], xv, acc[r][i]);
        }
    }
    if (k < in) {
        __mmask16 m = (__mmask16)((1u << (in - k)) - 1);
        __m512 wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++)
            wv[r] = rlc_load16(w, bf16, (size_t)r * in + k, 1, m);
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)i * in + k);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++)
                acc[r][i] = _mm512_fmadd_ps(wv[r], xv, acc[r][i]);
        }
    }
    __m128 va = _mm_set1_ps(alpha);
#pragma GCC unroll 4
    for (int i = 0; i < NB; i++) {
        float *yi = y + (size_t)i * ldy;
        if (RB == 4) {
            __m128 s = _mm_mul_ps(va, rlc_hsum4(acc[0][i], acc[1][i], acc[2][i], acc[3][i]));
            if (accumulate) s = _mm_add_ps(s, _mm_loadu_ps(yi));
            _mm_storeu_ps(yi, s);
        } else {
            yi[0] = store_val(_mm512_reduce_add_ps(acc[0][i]), alpha, accumulate, yi);
        }
    }
}

/* All N x rows against RB weight rows at w; pf: prefetch ahead. */
AVX512_INLINE void avx_rowblock(const float *x, int N, int in, const void *w, int bf16, int RB,
                                float *y, int ldy, float alpha, int accumulate, int pf) {
    int i = 0;
    for (; i + 4 <= N; i += 4)
        avx_block(x + (size_t)i * in, in, w, bf16, RB, 4, y + (size_t)i * ldy, ldy, alpha,
                  accumulate, pf && i == 0);
    const float *xi = x + (size_t)i * in;
    float *yi = y + (size_t)i * ldy;
    pf = pf && i == 0;
    switch (N - i) {
    case 3:
        avx_block(xi, in, w, bf16, RB, 3, yi, ldy, alpha, accumulate, pf);
        break;
    case 2:
        avx_block(xi, in, w, bf16, RB, 2, yi, ldy, alpha, accumulate, pf);
        break;
    case 1:
        avx_block(xi, in, w, bf16, RB, 1, yi, ldy, alpha, accumulate, pf);
        break;
    default:
        break;
    }
}

AVX512_INLINE void avx_rows_t(const float *x, int N, int in, const void *W, int bf16, int r0,
                              int nr, float *y, int ldy, float alpha, int accumulate) {
    size_t esz = bf16 ? 2 : 4;
    int r = r0;
    if (bf16) { /* the first PF_BLOCKS blocks, which no block before prefetched */
        const char *p0 = (const char *)W + (size_t)r0 * in * esz;
        size_t nb = (size_t)PF_BLOCKS * 4 * in * esz, lim = (size_t)nr * in * esz;
        for (size_t o = 0; o < (nb < lim ? nb : lim); o += 64)
            _mm_prefetch(p0 + o, _MM_HINT_T0);
    }
    for (; r + 4 <= r0 + nr; r += 4)
        avx_rowblock(x, N, in, (const char *)W + (size_t)r * in * esz, bf16, 4, y + r, ldy, alpha,
                     accumulate, r + 4 * (PF_BLOCKS + 1) <= r0 + nr);
    for (; r < r0 + nr; r++)
        avx_rowblock(x, N, in, (const char *)W + (size_t)r * in * esz, bf16, 1, y + r, ldy, alpha,
                     accumulate, 0);
}

AVX512 static void avx_rows_f32(const float *x, int N, int in, const float *W, int r0, int nr,
                                float *y, int ldy, float alpha, int accumulate) {
    avx_rows_t(x, N, in, W, 0, r0, nr, y, ldy, alpha, accumulate);
}

AVX512 static void avx_rows_bf16(const float *x, int N, int in, const uint16_t *W, int r0, int nr,
                                 float *y, int ldy, float alpha, int accumulate) {
    avx_rows_t(x, N, in, W, 1, r0, nr, y, ldy, alpha, accumulate);
}
#else
#define HAVE_AVX512_KERNELS 0
#endif

/* ---- streamed: one parallel region over the rows of all outputs -------- */

void rlc_cpu_linear_streamed(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                             float alpha, int accumulate) {
    int avx = HAVE_AVX512_KERNELS && rlc_cpu_isa_get() == RLC_CPU_AVX512;
    /* Chunks of ~64 KiB of weights, at least 4 per thread, in blocks of 4 rows. */
    size_t rows = 0, bytes = 0;
    for (int j = 0; j < n_out; j++) {
        rows += (size_t)o[j].out;
        bytes += (size_t)o[j].out * in * (o[j].W.f32 ? 4 : 2);
    }
    if (rows == 0) return;
    int nt = omp_get_max_threads();
    size_t chunk = (65536 * rows / (bytes ? bytes : 1) + 3) & ~(size_t)3;
    size_t cap = (rows / (4 * (size_t)nt) + 3) & ~(size_t)3;
    if (chunk > cap) chunk = cap;
    if (chunk < 4) chunk = 4;
    long n_chunks = 0;
    for (int j = 0; j < n_out; j++)
        n_chunks += (long)(((size_t)o[j].out + chunk - 1) / chunk);
#pragma omp parallel for schedule(dynamic, 1) if (bytes * (size_t)N >= PAR_MIN_BYTES)
    for (long c = 0; c < n_chunks; c++) {
        int j = 0;
        long cj = c, per;
        while (cj >= (per = (long)(((size_t)o[j].out + chunk - 1) / chunk)))
            cj -= per, j++;
        int r0 = (int)(cj * (long)chunk);
        int nr = o[j].out - r0 < (int)chunk ? o[j].out - r0 : (int)chunk;
        /* x in blocks of FEW_ROWS rows; the chunk's weights stay in L2 between them. */
        for (int i0 = 0; i0 < N; i0 += FEW_ROWS) {
            int ni = N - i0 < FEW_ROWS ? N - i0 : FEW_ROWS;
            const float *xi = x + (size_t)i0 * in;
            float *yi = o[j].y + (size_t)i0 * o[j].out;
#if HAVE_AVX512_KERNELS
            if (avx && o[j].W.f32)
                avx_rows_f32(xi, ni, in, o[j].W.f32, r0, nr, yi, o[j].out, alpha, accumulate);
            else if (avx)
                avx_rows_bf16(xi, ni, in, o[j].W.bf16, r0, nr, yi, o[j].out, alpha, accumulate);
            else
#endif
                gen_rows(xi, ni, in, o[j].W, r0, nr, yi, o[j].out, alpha, accumulate);
        }
    }
    (void)avx;
}

/* ---- many rows: sgemm ---------------------------------------------------- */

/* OpenBLAS's own threading cuts C where its thread count says, and its edge
 * kernels sum in another order than its main ones, so its results change with
 * the thread count (2 threads against 1: every product of a training step
 * differs in the last bits). Here C is cut into tiles that depend on the shape
 * alone, along its longer side (the operand packed again per tile is then the
 * smaller one), each tile one single-threaded sgemm: the bits are the same for
 * any thread count, which lets rlc_cores_adapt change it between steps. */
#define GEMM_TILE_MIN 64       /* rows or columns of a tile, at least */
#define GEMM_TILES_MAX 16      /* tiles of one product, at most */
#define GEMM_PAR_MNK (1 << 20) /* below this much work: one tile */

void rlc_cpu_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
    int along_m = M >= N, len = along_m ? M : N;
    int tile = (len / GEMM_TILES_MAX + GEMM_TILE_MIN - 1) / GEMM_TILE_MIN * GEMM_TILE_MIN;
    if (tile < GEMM_TILE_MIN) tile = GEMM_TILE_MIN;
    int tiles = (len + tile - 1) / tile;
    if ((double)M * N * K < GEMM_PAR_MNK) tiles = 1;
    if (tiles == 1) {
        /* inside a parallel region OpenBLAS is single-threaded already */
        int nt = omp_in_parallel() ? 0 : omp_get_max_threads();
        if (nt > 1) omp_set_num_threads(1);
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        if (nt > 1) omp_set_num_threads(nt);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < tiles; t++) {
        int o = t * tile, n = len - o < tile ? len - o : tile;
        if (along_m) /* rows o.. of op(A) and C */
            cblas_sgemm(CblasRowMajor, ta, tb, n, N, K, alpha, transA ? A + o : A + (size_t)o * lda,
                        lda, B, ldb, beta, C + (size_t)o * ldc, ldc);
        else /* columns o.. of op(B) and C */
            cblas_sgemm(CblasRowMajor, ta, tb, M, n, K, alpha, A, lda,
                        transB ? B + (size_t)o * ldb : B + o, ldb, beta, C + o, ldc);
    }
}

/* Rows [r0, r0 + n) of W widened into dst[n, cols]. */
static void widen_rows(float *dst, rlc_wmat W, int cols, int r0, int n) {
    const uint16_t *src = W.bf16 + (size_t)r0 * cols;
    size_t total = (size_t)n * cols;
#pragma omp parallel for simd schedule(static) if (total >= 65536)
    for (size_t i = 0; i < total; i++)
        dst[i] = bf16_f32(src[i]);
}

/* Rows of a [rows, cols] BF16 matrix that fit the scratch at once. */
static int block_rows(int cols) {
    size_t n = RLC_LINEAR_SCRATCH / (size_t)cols;
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

void rlc_cpu_linear(const float *x, int N, int in, const rlc_linear_out *o, int n_out, float alpha,
                    int accumulate, float *scratch) {
    int few = N <= FEW_ROWS_BF16;
    for (int j = 0; j < n_out; j++)
        if (o[j].W.f32 && N > FEW_ROWS_F32) few = 0;
    if (few) {
        rlc_cpu_linear_streamed(x, N, in, o, n_out, alpha, accumulate);
        return;
    }
    float beta = accumulate ? 1.0f : 0.0f;
    for (int j = 0; j < n_out; j++) {
        int out = o[j].out;
        if (o[j].W.f32) {
            rlc_cpu_sgemm(0, 1, N, out, in, alpha, x, in, o[j].W.f32, in, beta, o[j].y, out);
            continue;
        }
        int nb = block_rows(in);
        for (int r0 = 0; r0 < out; r0 += nb) {
            int n = out - r0 < nb ? out - r0 : nb;
            widen_rows(scratch, o[j].W, in, r0, n);
            rlc_cpu_sgemm(0, 1, N, n, in, alpha, x, in, scratch, in, beta, o[j].y + r0, out);
        }
    }
}

/* dx with W streamed once: each thread owns strips of DX_COLS columns and
 * walks all rows of W, adding dy[i, r] * W[r, strip] into the accumulators
 * of up to FEW_ROWS rows (plain C; the compiler vectorizes the strip loop). */
#define DX_COLS 128
void rlc_cpu_linear_dx_streamed(float *dx, const float *dy, rlc_wmat W, int N, int in, int out,
                                float alpha, int accumulate) {
    int n_strips = (in + DX_COLS - 1) / DX_COLS;
    size_t bytes = (size_t)out * in * (W.f32 ? 4 : 2);
#pragma omp parallel for schedule(dynamic, 1) if (bytes * (size_t)N >= PAR_MIN_BYTES)
    for (int s = 0; s < n_strips; s++) {
        int c0 = s * DX_COLS, nc = in - c0 < DX_COLS ? in - c0 : DX_COLS;
        float acc[FEW_ROWS][DX_COLS], tile[DX_COLS];
        for (int i0 = 0; i0 < N; i0 += FEW_ROWS) {
            int ni = N - i0 < FEW_ROWS ? N - i0 : FEW_ROWS;
            for (int i = 0; i < ni; i++)
                for (int c = 0; c < nc; c++)
                    acc[i][c] = 0.0f;
            for (int r = 0; r < out; r++) {
                size_t off = (size_t)r * in + c0;
                const float *w = W.f32 ? W.f32 + off : tile;
                if (!W.f32) widen(tile, W.bf16 + off, (size_t)nc);
                for (int i = 0; i < ni; i++) {
                    float a = dy[(size_t)(i0 + i) * out + r];
                    float *ai = acc[i];
#pragma omp simd
                    for (int c = 0; c < nc; c++)
                        ai[c] += a * w[c];
                }
            }
            for (int i = 0; i < ni; i++) {
                float *d = dx + (size_t)(i0 + i) * in + c0;
                for (int c = 0; c < nc; c++)
                    d[c] = store_val(acc[i][c], alpha, accumulate, &d[c]);
            }
        }
    }
}

void rlc_cpu_linear_dx(float *dx, const float *dy, rlc_wmat W, int N, int in, int out, float alpha,
                       int accumulate, float *scratch) {
    if (N <= DX_FEW_ROWS) {
        rlc_cpu_linear_dx_streamed(dx, dy, W, N, in, out, alpha, accumulate);
        return;
    }
    float beta = accumulate ? 1.0f : 0.0f;
    if (W.f32) {
        rlc_cpu_sgemm(0, 0, N, in, out, alpha, dy, out, W.f32, in, beta, dx, in);
        return;
    }
    int nb = block_rows(in);
    for (int r0 = 0; r0 < out; r0 += nb) {
        int n = out - r0 < nb ? out - r0 : nb;
        widen_rows(scratch, W, in, r0, n);
        rlc_cpu_sgemm(0, 0, N, in, n, alpha, dy + r0, out, scratch, in, r0 == 0 ? beta : 1.0f, dx,
                      in);
    }
}

void rlc_cpu_embedding_forward(float *out, const int *ids, rlc_wmat wte, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= 16384)
    for (int i = 0; i < N; i++) {
        float *o = out + (size_t)i * C;
        if (wte.f32)
            memcpy(o, wte.f32 + (size_t)ids[i] * C, (size_t)C * sizeof(float));
        else
            widen(o, wte.bf16 + (size_t)ids[i] * C, (size_t)C);
    }
}
