/* Linear maps of the CPU backend over F32 or BF16 weights (contracts in
 * backend.h).
 *
 * Few rows (decode; N <= 8 with AVX-512, else N <= 24 for F32 weights and <= 48 for BF16):
 * memory-bound, so each weight is read from memory once per call for all N rows. The weight rows of
 * all fused outputs are cut into chunks that the threads of ONE parallel region take in turn;
 * within a chunk a block of 4 weight rows is multiplied with 4 x rows at a time (16 F32
 * accumulators), the block staying in L1 while the x rows pass. With F32 products a BF16 weight
 * is widened exactly in registers, and both dtypes sum in the same order, so a BF16 W gives bit
 * for bit what its widened F32 copy gives. The AVX-512 kernels are compiled for that target alone
 * and picked at run time; the generic ones are plain C the compiler vectorizes. In a decode
 * step's team (cpu_team.h) the threads are already running: each takes its own share of the
 * chunks, then steals chunks from the far end of the others', and the call ends at a barrier.
 *
 * BF16 products: where the CPU has AVX512_BF16 and every W of a call is BF16, x is rounded to
 * BF16 and vdpbf16ps multiplies the pairs exactly and sums them in F32, in the few-row and the
 * many-row kernels alike (see "many rows, BF16 W"); RLC_CPU=avx512 keeps F32 products.
 *
 * linear_dx streams W once the same way for up to 4 rows (plain C only).
 *
 * Many rows: with AVX-512, the panel kernels (x packed transposed into the
 * scratch, W read where it lies; see "many rows: AVX-512 panels"); without
 * it, OpenBLAS sgemm in tiles fixed by the shape (rlc_cpu_sgemm), a BF16 W
 * widened block by block into the scratch first. */
#include "tensor/backend.h"
#include "tensor/cpu_kernels.h"
#include "tensor/cpu_math.h"
#include "tensor/cpu_team.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Without AVX-512, up to this many rows the streamed kernels beat sgemm (F32
 * W) or widening plus sgemm (BF16 W). */
#define FEW_ROWS_F32 24
#define FEW_ROWS_BF16 48
/* With AVX-512, from this many rows linear takes the panel kernels (below,
 * the streamed ones): "threshold" rows of bench/kernels.c (streamed ahead
 * up to 8 rows; from 9 to 12 ahead on 576 -> 1536 with the weights in
 * cache, behind on 1024 -> 6144; panels 1.3-2x ahead from 16). */
#define PANEL_FROM_ROWS 9
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

static int cpu_has_avx512_bf16(void) {
#if defined(__x86_64__) || defined(__i386__)
    return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

/* isa lowered to what this CPU has */
static rlc_cpu_isa isa_clamp(rlc_cpu_isa isa) {
    if (isa >= RLC_CPU_AVX512_BF16 && !cpu_has_avx512_bf16()) isa = RLC_CPU_AVX512;
    if (isa >= RLC_CPU_AVX512 && !cpu_has_avx512()) isa = RLC_CPU_GENERIC;
    return isa;
}

rlc_cpu_isa rlc_cpu_isa_get(void) {
    int isa = __atomic_load_n(&isa_cached, __ATOMIC_RELAXED);
    if (isa < 0) {
        const char *env = getenv("RLC_CPU");
        rlc_cpu_isa want = RLC_CPU_AVX512_BF16;
        if (env && strcmp(env, "generic") == 0) want = RLC_CPU_GENERIC;
        if (env && strcmp(env, "avx512") == 0) want = RLC_CPU_AVX512;
        isa = (int)isa_clamp(want);
        __atomic_store_n(&isa_cached, isa, __ATOMIC_RELAXED);
    }
    return (rlc_cpu_isa)isa;
}

rlc_cpu_isa rlc_cpu_isa_set(rlc_cpu_isa isa) {
    rlc_cpu_isa prev = rlc_cpu_isa_get();
    __atomic_store_n(&isa_cached, (int)isa_clamp(isa), __ATOMIC_RELAXED);
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

AVX512_INLINE void block_zero(__m512 (*acc)[4]) {
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            acc[r][i] = _mm512_setzero_ps();
}

/* y[i, r] = alpha * the lanes of acc[r][i] summed (+ y[i, r]) for r < RB
 * (1, 4 or 8), i < NB. Blocks of 4 and 8 rows sum alike (rlc_hsum4 on each
 * 4), so a row's bits do not depend on the block it fell in. */
AVX512_INLINE void block_store(__m512 (*acc)[4], int RB, int NB, float *y, int ldy, float alpha,
                               int accumulate) {
    __m128 va = _mm_set1_ps(alpha);
#pragma GCC unroll 4
    for (int i = 0; i < NB; i++) {
        float *yi = y + (size_t)i * ldy;
        if (RB == 1) {
            yi[0] = store_val(_mm512_reduce_add_ps(acc[0][i]), alpha, accumulate, yi);
            continue;
        }
#pragma GCC unroll 2
        for (int r = 0; r < RB; r += 4) {
            __m128 s =
                _mm_mul_ps(va, rlc_hsum4(acc[r][i], acc[r + 1][i], acc[r + 2][i], acc[r + 3][i]));
            if (accumulate) s = _mm_add_ps(s, _mm_loadu_ps(yi + r));
            _mm_storeu_ps(yi + r, s);
        }
    }
}

/* y[i, 0..RB) for RB (1, 4 or 8) weight rows at w (row stride in) and NB
 * (1..4; 1..2 for 8 rows) x rows at x; y points at (row 0, first column) of
 * the block. */
/* BF16 rows are prefetched by software, one line per line read, PF_BLOCKS
 * blocks of RB rows ahead (rows are contiguous), on the first x block only:
 * the hardware prefetcher restarts on each short BF16 row (1152 bytes at the
 * 135M shape). The prefetch runs on past the caller's rows (a prefetch never
 * faults): a chunk is most often followed by the same thread's next one (see
 * rlc_cpu_linear_streamed). The first blocks of a call are prefetched at once
 * by avx_rows_t. One token of the 135M BF16 decode weights (269 MB, 2
 * threads, AMD EPYC): no software prefetch 39-42 GB/s, 1 block ahead 56-61, 2
 * blocks 61-62 with the prefetch stopped at each chunk's end; across the ends
 * 4.24-4.26 ms a token against 4.46-4.55 (medians of 30, interleaved in one
 * process, A/B); 4 or 8 blocks ahead slower. F32 rows gained
 * nothing and are left to the hardware. */
#define PF_BLOCKS 2
AVX512_INLINE void avx_block(const float *x, int in, const void *w, int bf16, int RB, int NB,
                             float *y, int ldy, float alpha, int accumulate, int pf) {
    const char *nxt = (const char *)w + (size_t)PF_BLOCKS * RB * in * 2;
    int lpi = bf16 && pf ? RB * 16 * 2 / 64 : 0; /* lines of the next block per k step */
    __m512 acc[8][4];
    block_zero(acc);
    int k = 0;
    /* F32 rows in blocks of 8: 4 lines of a row, then the next row's 4 (the
     * products in the same order). One token of the 135M F32 weights in a
     * team, medians of 20 interleaved in one process: 9.63 -> 8.66 ms and
     * 12.27 -> 11.50 ms against a line a row; 2 and 8 lines like 4. */
    if (!bf16 && RB == 8 && NB <= 2) {
        for (; k + 64 <= in; k += 64) {
            __m512 xv[2][4];
#pragma GCC unroll 2
            for (int i = 0; i < NB; i++)
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    xv[i][q] = _mm512_loadu_ps(x + (size_t)i * in + k + 16 * q);
#pragma GCC unroll 8
            for (int r = 0; r < RB; r++) {
                const float *wr = (const float *)w + (size_t)r * in + k;
                __m512 wv[4];
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    wv[q] = _mm512_loadu_ps(wr + 16 * q);
#pragma GCC unroll 2
                for (int i = 0; i < NB; i++)
#pragma GCC unroll 4
                    for (int q = 0; q < 4; q++)
                        acc[r][i] = _mm512_fmadd_ps(wv[q], xv[i][q], acc[r][i]);
            }
        }
    }
    for (; k + 16 <= in; k += 16) {
        __m512 wv[8];
#pragma GCC unroll 8
        for (int r = 0; r < RB; r++) {
            if (r < lpi) _mm_prefetch(nxt + ((size_t)(k / 16) * lpi + r) * 64, _MM_HINT_T0);
            wv[r] = rlc_load16(w, bf16, (size_t)r * in + k, 0, 0);
        }
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)i * in + k);
#pragma GCC unroll 8
            for (int r = 0; r < RB; r++)
                acc[r][i] = _mm512_fmadd_ps(wv[r], xv, acc[r][i]);
        }
    }
    if (k < in) {
        __mmask16 m = (__mmask16)((1u << (in - k)) - 1);
        __m512 wv[8];
#pragma GCC unroll 8
        for (int r = 0; r < RB; r++)
            wv[r] = rlc_load16(w, bf16, (size_t)r * in + k, 1, m);
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)i * in + k);
#pragma GCC unroll 8
            for (int r = 0; r < RB; r++)
                acc[r][i] = _mm512_fmadd_ps(wv[r], xv, acc[r][i]);
        }
    }
    block_store(acc, RB, NB, y, ldy, alpha, accumulate);
}

/* All N x rows against RB weight rows at w; pf: prefetch ahead. */
AVX512_INLINE void avx_rowblock(const float *x, int N, int in, const void *w, int bf16, int RB,
                                float *y, int ldy, float alpha, int accumulate, int pf) {
    int nbm = RB == 8 ? 2 : 4;
    for (int i = 0; i < N; i += nbm) {
        const float *xi = x + (size_t)i * in;
        float *yi = y + (size_t)i * ldy;
        int p = pf && i == 0;
        switch (N - i < nbm ? N - i : nbm) {
        case 4:
            avx_block(xi, in, w, bf16, RB, 4, yi, ldy, alpha, accumulate, p);
            break;
        case 3:
            avx_block(xi, in, w, bf16, RB, 3, yi, ldy, alpha, accumulate, p);
            break;
        case 2:
            avx_block(xi, in, w, bf16, RB, 2, yi, ldy, alpha, accumulate, p);
            break;
        default:
            avx_block(xi, in, w, bf16, RB, 1, yi, ldy, alpha, accumulate, p);
            break;
        }
    }
}

/* Rows [r0, r0 + nr) of W: an F32 W in blocks of 8 rows (8 streams through
 * memory for the hardware prefetcher; one token of the 135M F32 weights in a
 * team, medians of 20 interleaved in one process: 13.16 -> 12.44 ms and
 * 8.79 -> 8.43 ms against blocks of 4), then 4, then single rows; a BF16 W
 * (F32 products) in blocks of 4 with its software prefetch. */
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
    if (!bf16) /* F32: blocks of 8 rows, see avx_rows_t's comment */
        for (; r + 8 <= r0 + nr; r += 8)
            avx_rowblock(x, N, in, (const char *)W + (size_t)r * in * esz, bf16, 8, y + r, ldy,
                         alpha, accumulate, 0);
    for (; r + 4 <= r0 + nr; r += 4)
        avx_rowblock(x, N, in, (const char *)W + (size_t)r * in * esz, bf16, 4, y + r, ldy, alpha,
                     accumulate, 1);
    for (; r < r0 + nr; r++)
        avx_rowblock(x, N, in, (const char *)W + (size_t)r * in * esz, bf16, 1, y + r, ldy, alpha,
                     accumulate, 0);
}

/* name(x, N, in, W, ...): the always-inline kernel body for W's dtype (one
 * specialized copy each); for avx_rows_t and avx_chunk, which share a
 * signature. */
#define AVX_BY_DTYPE(name, body)                                                                   \
    AVX512 static void name(const float *x, int N, int in, rlc_wmat W, int r0, int nr, float *y,   \
                            int ldy, float alpha, int accumulate) {                                \
        if (W.f32)                                                                                 \
            body(x, N, in, W.f32, 0, r0, nr, y, ldy, alpha, accumulate);                           \
        else                                                                                       \
            body(x, N, in, W.bf16, 1, r0, nr, y, ldy, alpha, accumulate);                          \
    }
AVX_BY_DTYPE(avx_rows, avx_rows_t)

/* ---- AVX512_BF16 products (see "many rows, BF16 W" below) ---------------- */
#define BF16DP __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define BF16DP_INLINE BF16DP __attribute__((always_inline)) static inline

/* avx_block for a BF16 W and x already rounded to BF16 (xb, rows in
 * apart): 32 columns a step, each vdpbf16ps adding two products into a
 * lane; a step's weights are one line a row, prefetched PF_BLOCKS blocks
 * ahead like avx_block's. */
BF16DP_INLINE void dp_block(const uint16_t *xb, int in, const uint16_t *w, int RB, int NB, float *y,
                            int ldy, float alpha, int accumulate, int pf) {
    const char *nxt = (const char *)(w + (size_t)PF_BLOCKS * RB * in);
    __m512 acc[8][4];
    block_zero(acc);
    int k = 0;
    for (; k + 32 <= in; k += 32) {
        __m512bh wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++) {
            if (pf) _mm_prefetch(nxt + ((size_t)(k / 32) * RB + r) * 64, _MM_HINT_T0);
            wv[r] = (__m512bh)_mm512_loadu_si512(w + (size_t)r * in + k);
        }
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + (size_t)i * in + k);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++)
                acc[r][i] = _mm512_dpbf16_ps(acc[r][i], wv[r], xv);
        }
    }
    if (k < in) {
        __mmask32 m = (__mmask32)((1ull << (in - k)) - 1);
        __m512bh wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++)
            wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(m, w + (size_t)r * in + k);
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++) {
            __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, xb + (size_t)i * in + k);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++)
                acc[r][i] = _mm512_dpbf16_ps(acc[r][i], wv[r], xv);
        }
    }
    block_store(acc, RB, NB, y, ldy, alpha, accumulate);
}

/* avx_rows_t over dp_block: rows [r0, r0 + nr) of W against N rows of xb. */
BF16DP static void dp_rows(const uint16_t *xb, int N, int in, const uint16_t *W, int r0, int nr,
                           float *y, int ldy, float alpha, int accumulate) {
    const char *p0 = (const char *)(W + (size_t)r0 * in);
    size_t nb = (size_t)PF_BLOCKS * 4 * in * 2, lim = (size_t)nr * in * 2;
    for (size_t o = 0; o < (nb < lim ? nb : lim); o += 64)
        _mm_prefetch(p0 + o, _MM_HINT_T0);
    for (int r = r0; r < r0 + nr;) {
        int RB = r + 4 <= r0 + nr ? 4 : 1;
        const uint16_t *w = W + (size_t)r * in;
        for (int i = 0; i < N; i += 4) {
            const uint16_t *xi = xb + (size_t)i * in;
            float *yi = y + (size_t)i * ldy + r;
            int pf = i == 0;
#define DP_CASE(rb, nb)                                                                            \
    if (RB == rb && (N - i < 4 ? N - i : 4) == nb)                                                 \
        dp_block(xi, in, w, rb, nb, yi, ldy, alpha, accumulate, pf &&rb == 4);
            DP_CASE(4, 4)
            DP_CASE(4, 3)
            DP_CASE(4, 2)
            DP_CASE(4, 1)
            DP_CASE(1, 4)
            DP_CASE(1, 3)
            DP_CASE(1, 2)
            DP_CASE(1, 1)
#undef DP_CASE
        }
        r += RB;
    }
}

/* x [N, in] rounded to BF16 (nearest even) into xb [N, in]. */
BF16DP static void dp_round(uint16_t *xb, const float *x, int N, int in) {
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * in;
        uint16_t *bi = xb + (size_t)i * in;
        int k = 0;
        for (; k + 16 <= in; k += 16)
            _mm256_storeu_si256((__m256i *)(bi + k),
                                (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(xi + k)));
        if (k < in) {
            __mmask16 m = (__mmask16)((1u << (in - k)) - 1);
            _mm256_mask_storeu_epi16(bi + k, m,
                                     (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, xi + k)));
        }
    }
}

/* Whether linear multiplies BF16 products: every W BF16, and the CPU (or a
 * test's rlc_cpu_isa_set) says AVX512_BF16. */
static int linear_dp(const rlc_linear_out *o, int n_out) {
    if (rlc_cpu_isa_get() < RLC_CPU_AVX512_BF16) return 0;
    for (int j = 0; j < n_out; j++)
        if (!o[j].W.bf16) return 0;
    return 1;
}
#else
#define HAVE_AVX512_KERNELS 0
#endif

/* ---- streamed: one parallel region over the rows of all outputs -------- */

/* BF16 elements of x rounded on each team thread's own stack (32 KiB); a
 * longer x is rounded once, by the team's master, into team_xb. */
#define TEAM_XB_LOCAL 16384
static uint16_t *team_xb;

/* Chunk c of `chunk` rows (the outputs' rows one after the other) times x,
 * or xb (x rounded to BF16) for BF16 products. */
static void stream_chunk(const float *x, const uint16_t *xb, int N, int in, const rlc_linear_out *o,
                         size_t chunk, long c, float alpha, int accumulate, int avx) {
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
        if (xb)
            dp_rows(xb + (size_t)i0 * in, ni, in, o[j].W.bf16, r0, nr, yi, o[j].out, alpha,
                    accumulate);
        else if (avx)
            avx_rows(xi, ni, in, o[j].W, r0, nr, yi, o[j].out, alpha, accumulate);
        else
#endif
            gen_rows(xi, ni, in, o[j].W, r0, nr, yi, o[j].out, alpha, accumulate);
    }
    (void)xb;
    (void)avx;
}

/* streamed inside a team (cpu_team.h): each thread takes its share of the
 * chunks front to back (one stream through memory), then chunks left at the
 * far end of another's; BF16 products round x on every thread. */
static void streamed_team(const float *x, int N, int in, const rlc_linear_out *o, size_t chunk,
                          long n_chunks, float alpha, int accumulate, int dp, int avx) {
    uint16_t local[TEAM_XB_LOCAL], *xb = NULL;
    int shared = 0;
#if HAVE_AVX512_KERNELS
    if (dp && (size_t)N * in <= TEAM_XB_LOCAL) {
        dp_round(local, x, N, in);
        xb = local;
    } else if (dp) {
        shared = 1;
        if (rlc_cpu_team_master()) {
            team_xb = malloc((size_t)N * in * sizeof *team_xb); /* NULL: F32 products */
            if (team_xb) dp_round(team_xb, x, N, in);
        }
        rlc_cpu_team_sync();
        xb = team_xb;
    }
#endif
    rlc_cpu_claim cl;
    rlc_cpu_team_claim_begin(&cl, n_chunks);
    long lo, hi;
    rlc_cpu_team_share(n_chunks, &lo, &hi);
    if (lo < hi) { /* where this thread's share starts: output j, row r0 */
        int j = 0;
        long cj = lo, per;
        while (cj >= (per = (long)(((size_t)o[j].out + chunk - 1) / chunk)))
            cj -= per, j++;
        size_t r0 = (size_t)cj * chunk, esz = o[j].W.f32 ? 4 : 2;
        const char *w0 = o[j].W.f32 ? (const char *)o[j].W.f32 : (const char *)o[j].W.bf16;
        rlc_cpu_team_note_share(w0 + r0 * in * esz, ((size_t)o[j].out - r0) * in * esz);
    }
    for (long c; (c = rlc_cpu_team_claim_next(&cl)) >= 0;)
        for (long e = c + cl.count; c < e; c++)
            stream_chunk(x, xb, N, in, o, chunk, c, alpha, accumulate, avx);
    rlc_cpu_team_sync();
    if (shared && rlc_cpu_team_master()) {
        free(team_xb); /* every thread is past its last read */
        team_xb = NULL;
    }
    (void)dp;
}

/* dp_ok: BF16 products allowed (where linear_dp says) */
static void streamed(const float *x, int N, int in, const rlc_linear_out *o, int n_out, float alpha,
                     int accumulate, int dp_ok) {
    int avx = HAVE_AVX512_KERNELS && rlc_cpu_isa_get() >= RLC_CPU_AVX512;
    /* Chunks of ~64 KiB of weights (8 KiB when all are BF16), at least 4 per
     * thread, in blocks of 4 rows, handed out guided: a thread first takes a
     * long run of consecutive chunks (one stream through memory, prefetched
     * across the chunks' ends when BF16), then shorter ones that even out the
     * end. One token of the 135M BF16 weights (269 MB, 2 threads, median of
     * 30): 7.82 ms with one chunk at a time, 6.84 guided (an older kernel);
     * with BF16 products 4.11-4.28 ms in chunks of 8 KiB against 4.43-4.45 in
     * 64 KiB (4 and 2 KiB no better), where F32 lost (7.96 -> 8.71 ms, 538 MB),
     * interleaved in one process. */
    size_t rows = 0, bytes = 0;
    for (int j = 0; j < n_out; j++) {
        rows += (size_t)o[j].out;
        bytes += (size_t)o[j].out * in * (o[j].W.f32 ? 4 : 2);
    }
    if (rows == 0) {
        rlc_cpu_team_sync();
        return;
    }
    int nt = rlc_cpu_team_tid() >= 0 ? rlc_cpu_team_size() : omp_get_max_threads();
    size_t chunk =
        ((bytes == rows * in * 2 ? 8192 : 65536) * rows / (bytes ? bytes : 1) + 3) & ~(size_t)3;
    size_t cap = (rows / (4 * (size_t)nt) + 3) & ~(size_t)3;
    if (chunk > cap) chunk = cap;
    if (chunk < 4) chunk = 4;
    if (rows / chunk >= (1 << 23)) chunk = rows >> 22; /* the team's claims count to 2^24 */
    long n_chunks = 0;
    for (int j = 0; j < n_out; j++)
        n_chunks += (long)(((size_t)o[j].out + chunk - 1) / chunk);
    int dp = 0;
#if HAVE_AVX512_KERNELS
    dp = dp_ok && linear_dp(o, n_out);
#endif
    if (rlc_cpu_team_tid() >= 0) {
        streamed_team(x, N, in, o, chunk, n_chunks, alpha, accumulate, dp, avx);
        return;
    }
    /* BF16 products (x rounded once, here) when every W is BF16 and the CPU has them */
    uint16_t *xb = NULL;
#if HAVE_AVX512_KERNELS
    if (dp) {
        xb = malloc((size_t)N * in * sizeof *xb);
        if (!xb) { /* nowhere to round x: F32 products (same within BF16 rounding) */
            streamed(x, N, in, o, n_out, alpha, accumulate, 0);
            return;
        }
        dp_round(xb, x, N, in);
    }
#endif
    if (bytes * (size_t)N >= PAR_MIN_BYTES) {
#pragma omp parallel for schedule(guided)
        for (long c = 0; c < n_chunks; c++)
            stream_chunk(x, xb, N, in, o, chunk, c, alpha, accumulate, avx);
    } else { /* no construct: even with a false if clause one costs 1-2 us */
        for (long c = 0; c < n_chunks; c++)
            stream_chunk(x, xb, N, in, o, chunk, c, alpha, accumulate, avx);
    }
    free(xb);
    (void)dp_ok;
}

void rlc_cpu_linear_streamed(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                             float alpha, int accumulate) {
    streamed(x, N, in, o, n_out, alpha, accumulate, 1);
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

/* The many-row path without AVX-512: widen a BF16 W block by block into
 * the scratch, rlc_cpu_sgemm. */
static void linear_sgemm(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                         float alpha, int accumulate, float *scratch) {
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

/* ---- many rows: AVX-512 panels ------------------------------------------ */

/* y = x W^T for many rows without BLAS. x is packed transposed in blocks of
 * PANEL_MR rows ([k][PANEL_MR], zero-padded) into the scratch, once for all
 * fused outputs; W is read where it lies, F32 or BF16. A panel of NR weight
 * rows meets a block of x rows: for each k, the block's 16 or 32 values of
 * column k (one or two vectors) times each weight w[j][k] broadcast, summed
 * into NR x (1 or 2) vector accumulators. BF16 weights come two at a time
 * (one 32-bit broadcast, the two halves widened by a shift and a mask).
 * Every y[i, r] is one chain of fused multiply-adds over k = 0, 1, ..., in-1
 * whatever the block, panel, task or thread count, so (with F32 products) a
 * BF16 W gives bit for bit what its widened F32 copy gives and the bits never
 * depend on threads.
 * Blocks of more than 16 rows take 2 vectors x 12 rows (24 accumulators),
 * the last block of 16 or fewer 1 vector x 16 rows; a task is a chunk of
 * PANEL_CHUNK weight rows (both panel heights divide it) against every block.
 * 350-390 GFLOP/s on 2 cores of an AMD EPYC from 64 rows, 1.8-2x OpenBLAS
 * sgemm (Haswell kernels): "threshold" rows of bench/kernels.c. */
#define PANEL_MR 32
#define PANEL_CHUNK 48
/* Multiply-adds below which one thread does the whole product. */
#define PANEL_PAR_MNK (1 << 20)

#if HAVE_AVX512_KERNELS
/* Row j (< 16, a constant where inlined) of rows at stride s, from six bases
 * at rows 0, 3, 6, 9, 12, 15 (b[0..5]) plus 0, 1, 2, 4 or 8 strides: with 16
 * row pointers the panel loops spilled registers (GCC 12); this way the
 * loop keeps what it needs in registers (1.2x at 16 rows, generate). */
AVX512_INLINE const char *panel_row(int j, const char *const *b, size_t s) {
    /* a switch, not tables: GCC 12 kept more in registers with it (1.1x) */
    switch (j) {
    case 0:
        return b[0];
    case 1:
        return b[0] + s;
    case 2:
        return b[0] + 2 * s;
    case 3:
        return b[1];
    case 4:
        return b[0] + 4 * s;
    case 5:
        return b[1] + 2 * s;
    case 6:
        return b[2];
    case 7:
        return b[1] + 4 * s;
    case 8:
        return b[0] + 8 * s;
    case 9:
        return b[3];
    case 10:
        return b[2] + 4 * s;
    case 11:
        return b[1] + 8 * s;
    case 12:
        return b[4];
    case 13:
        return b[3] + 4 * s;
    case 14:
        return b[2] + 8 * s;
    default:
        return b[5];
    }
}

/* y[i, j] = alpha * lane i of the accumulators c[j] (+ y[i, j]) for i <
 * mrows, j < nrows: through a tile. */
AVX512_INLINE void panel_store(__m512 (*c)[2], int MV, int NR, int nrows, float *y, int ldy,
                               int mrows, float alpha, int accumulate) {
    float t[16][PANEL_MR] __attribute__((aligned(64)));
    __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 16
    for (int j = 0; j < NR; j++) {
        _mm512_store_ps(t[j], _mm512_mul_ps(va, c[j][0]));
        if (MV > 1) _mm512_store_ps(t[j] + 16, _mm512_mul_ps(va, c[j][1]));
    }
    for (int i = 0; i < mrows; i++) {
        float *yi = y + (size_t)i * ldy;
        for (int j = 0; j < nrows; j++)
            yi[j] = accumulate ? t[j][i] + yi[j] : t[j][i];
    }
}

/* The weight rows of a panel: six bases (full) or one pointer per row. */
AVX512_INLINE void panel_bases(const void *w, size_t s, int NR, int full, int nrows, const char **b,
                               const char **wr) {
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++)
        b[i] = (const char *)w + (size_t)(3 * i) * s;
    if (!full)
#pragma GCC unroll 16
        for (int j = 0; j < NR; j++)
            wr[j] = (const char *)w + (size_t)(j < nrows ? j : nrows - 1) * s;
}

/* y[i, j] for i < mrows, j < nrows (<= NR) from the block at ap (row stride
 * PANEL_MR) and the weight rows at w (stride K elements); one line from pf
 * on prefetched per k step (per two for BF16) for the first pf_lines steps.
 * full (a constant): nrows == NR, the rows addressed from six bases (see
 * panel_row); else from one pointer each, rows past nrows repeating the last
 * one (computed, not stored). */
AVX512_INLINE void avx_panel(const float *ap, int K, const void *w, int bf16, int MV, int NR,
                             int full, int nrows, float *y, int ldy, int mrows, float alpha,
                             int accumulate, const char *pf, int pf_lines) {
    size_t esz = bf16 ? 2 : 4, s = (size_t)K * esz;
    const char *wr[16], *b[6];
    panel_bases(w, s, NR, full, nrows, b, wr);
#define PANEL_W(j, off) ((full ? panel_row(j, b, s) : wr[j]) + (off))
    __m512 c[16][2];
#pragma GCC unroll 16
    for (int j = 0; j < NR; j++)
        c[j][0] = c[j][1] = _mm512_setzero_ps();
    int k = 0;
    if (bf16) {
        const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
        for (; k + 2 <= K; k += 2) {
            if (k / 2 < pf_lines) _mm_prefetch(pf + (size_t)(k / 2) * 64, _MM_HINT_T0);
            const float *a = ap + (size_t)k * PANEL_MR;
            __m512 a0 = _mm512_loadu_ps(a), a1 = MV > 1 ? _mm512_loadu_ps(a + 16) : a0;
            __m512 a2 = _mm512_loadu_ps(a + PANEL_MR);
            __m512 a3 = MV > 1 ? _mm512_loadu_ps(a + PANEL_MR + 16) : a2;
#pragma GCC unroll 16
            for (int j = 0; j < NR; j++) {
                int32_t v;
                memcpy(&v, PANEL_W(j, (size_t)k * 2), 4);
                __m512i d = _mm512_set1_epi32(v);
                __m512 b0 = _mm512_castsi512_ps(_mm512_slli_epi32(d, 16));
                __m512 b1 = _mm512_castsi512_ps(_mm512_and_si512(d, hi));
                c[j][0] = _mm512_fmadd_ps(a0, b0, c[j][0]);
                if (MV > 1) c[j][1] = _mm512_fmadd_ps(a1, b0, c[j][1]);
                c[j][0] = _mm512_fmadd_ps(a2, b1, c[j][0]);
                if (MV > 1) c[j][1] = _mm512_fmadd_ps(a3, b1, c[j][1]);
            }
        }
    }
    for (; k < K; k++) {
        if (!bf16 && k < pf_lines) _mm_prefetch(pf + (size_t)k * 64, _MM_HINT_T0);
        const float *a = ap + (size_t)k * PANEL_MR;
        __m512 a0 = _mm512_loadu_ps(a), a1 = MV > 1 ? _mm512_loadu_ps(a + 16) : a0;
#pragma GCC unroll 16
        for (int j = 0; j < NR; j++) {
            float wv;
            if (bf16) {
                uint16_t h;
                memcpy(&h, PANEL_W(j, (size_t)k * 2), 2);
                wv = bf16_f32(h);
            } else {
                memcpy(&wv, PANEL_W(j, (size_t)k * 4), 4);
            }
            __m512 bv = _mm512_set1_ps(wv);
            c[j][0] = _mm512_fmadd_ps(a0, bv, c[j][0]);
            if (MV > 1) c[j][1] = _mm512_fmadd_ps(a1, bv, c[j][1]);
        }
    }
#undef PANEL_W
    panel_store(c, MV, NR, nrows, y, ldy, mrows, alpha, accumulate);
}

/* Rows [r0, r0 + nr) (nr <= PANEL_CHUNK) of one output against the packed
 * blocks of rows [0, N) of x. */
AVX512_INLINE void avx_chunk(const float *ap, int N, int K, const void *W, int bf16, int r0, int nr,
                             float *y, int ldy, float alpha, int accumulate) {
    size_t esz = bf16 ? 2 : 4;
    for (int b = 0; b * PANEL_MR < N; b++) {
        int mrows = N - b * PANEL_MR < PANEL_MR ? N - b * PANEL_MR : PANEL_MR;
        const float *a = ap + (size_t)b * PANEL_MR * K;
        float *yb = y + (size_t)b * PANEL_MR * ldy;
        int NR = mrows > 16 ? 12 : 16;
        for (int r = r0; r < r0 + nr; r += NR) {
            int n = r0 + nr - r < NR ? r0 + nr - r : NR;
            const char *w = (const char *)W + (size_t)r * K * esz;
            /* the first block prefetches the next panel's rows of the chunk */
            int next = r0 + nr - (r + NR) < NR ? r0 + nr - (r + NR) : NR;
            int lines = b == 0 && next > 0 ? (int)((size_t)next * K * esz / 64) : 0;
            const char *pf = w + (size_t)NR * K * esz;
            if (mrows > 16 && n == 12)
                avx_panel(a, K, w, bf16, 2, 12, 1, n, yb + r, ldy, mrows, alpha, accumulate, pf,
                          lines);
            else if (mrows > 16)
                avx_panel(a, K, w, bf16, 2, 12, 0, n, yb + r, ldy, mrows, alpha, accumulate, pf,
                          lines);
            else if (n == 16)
                avx_panel(a, K, w, bf16, 1, 16, 1, n, yb + r, ldy, mrows, alpha, accumulate, pf,
                          lines);
            else
                avx_panel(a, K, w, bf16, 1, 16, 0, n, yb + r, ldy, mrows, alpha, accumulate, pf,
                          lines);
        }
    }
}

/* rows (<= PANEL_MR) rows of x at s (stride in) into d[k][PANEL_MR],
 * zero-padded: a gather of 16 rows per vector. */
AVX512 static void avx_pack(float *restrict d, const float *restrict s, int rows, int in) {
    __m512i idx =
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(in));
    __mmask16 m0 = rows >= 16 ? 0xFFFF : (__mmask16)((1u << rows) - 1);
    __mmask16 m1 = rows >= 32 ? 0xFFFF : rows <= 16 ? 0 : (__mmask16)((1u << (rows - 16)) - 1);
    const float *s1 = s + (size_t)16 * in;
    for (int k = 0; k < in; k++) {
        __m512 v0 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, idx, s + k, 4);
        __m512 v1 = m1 ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, idx, s1 + k, 4)
                       : _mm512_setzero_ps();
        _mm512_storeu_ps(d + (size_t)k * PANEL_MR, v0);
        _mm512_storeu_ps(d + (size_t)k * PANEL_MR + 16, v1);
    }
}

AVX_BY_DTYPE(avx_chunk_w, avx_chunk)

/* Block b of x rows [0, N) into ap + b * PANEL_MR * in as [k][PANEL_MR]
 * (in * PANEL_MR fits the scratch, so the gather's offsets fit an int). */
static void pack_block(float *restrict ap, const float *restrict x, int N, int in, int b) {
    int i0 = b * PANEL_MR, rows = N - i0 < PANEL_MR ? N - i0 : PANEL_MR;
    avx_pack(ap + (size_t)b * PANEL_MR * in, x + (size_t)i0 * in, rows, in);
}

/* ---- many rows, BF16 W: AVX512_BF16 products ----------------------------- */

/* Where the CPU has AVX512_BF16 a BF16 W meets x rounded to BF16 (nearest
 * even): vdpbf16ps multiplies two BF16 pairs exactly and adds both products
 * into an F32 lane, so one instruction does the work of two widenings and
 * four fused multiply-adds of the F32 panels. x is packed as BF16 pairs
 * (x[i, 2p] low, x[i, 2p + 1] high; an odd last column paired with 0) in
 * the F32 panels' blocks and order, a weight pair is one 32-bit broadcast.
 * Each y[i, r] is one chain over the pairs p = 0, 1, ... whatever the block,
 * panel, task or thread count: the bits do not depend on threads. Against
 * F32 products: rounding x costs up to 2^-9 of each |x w| (BF16 PyTorch and
 * llama.cpp do the same with BF16 weights). */
/* avx_panel over BF16 pairs: ap [pair][PANEL_MR] packed by dp_pack, w the
 * BF16 rows (stride K). */
BF16DP_INLINE void dp_panel(const uint32_t *ap, int K, const uint16_t *w, int MV, int NR, int full,
                            int nrows, float *y, int ldy, int mrows, float alpha, int accumulate,
                            const char *pf, int pf_lines) {
    size_t s = (size_t)K * 2;
    const char *wr[16], *b[6];
    panel_bases(w, s, NR, full, nrows, b, wr);
#define PANEL_W(j, off) ((full ? panel_row(j, b, s) : wr[j]) + (off))
    __m512 c[16][2];
#pragma GCC unroll 16
    for (int j = 0; j < NR; j++)
        c[j][0] = c[j][1] = _mm512_setzero_ps();
    int pairs = K / 2;
    for (int p = 0; p < pairs; p++) {
        if (p < pf_lines) _mm_prefetch(pf + (size_t)p * 64, _MM_HINT_T0);
        const uint32_t *a = ap + (size_t)p * PANEL_MR;
        __m512bh a0 = (__m512bh)_mm512_loadu_si512(a);
        __m512bh a1 = MV > 1 ? (__m512bh)_mm512_loadu_si512(a + 16) : a0;
#pragma GCC unroll 16
        for (int j = 0; j < NR; j++) {
            int32_t v;
            memcpy(&v, PANEL_W(j, (size_t)p * 4), 4);
            __m512bh d = (__m512bh)_mm512_set1_epi32(v);
            c[j][0] = _mm512_dpbf16_ps(c[j][0], a0, d);
            if (MV > 1) c[j][1] = _mm512_dpbf16_ps(c[j][1], a1, d);
        }
    }
    if (K % 2) { /* the last column, paired with 0 on both sides */
        const uint32_t *a = ap + (size_t)pairs * PANEL_MR;
        __m512bh a0 = (__m512bh)_mm512_loadu_si512(a);
        __m512bh a1 = MV > 1 ? (__m512bh)_mm512_loadu_si512(a + 16) : a0;
#pragma GCC unroll 16
        for (int j = 0; j < NR; j++) {
            uint16_t h;
            memcpy(&h, PANEL_W(j, (size_t)pairs * 4), 2);
            __m512bh d = (__m512bh)_mm512_set1_epi32((int)h);
            c[j][0] = _mm512_dpbf16_ps(c[j][0], a0, d);
            if (MV > 1) c[j][1] = _mm512_dpbf16_ps(c[j][1], a1, d);
        }
    }
#undef PANEL_W
    panel_store(c, MV, NR, nrows, y, ldy, mrows, alpha, accumulate);
}

/* avx_chunk over BF16 pairs (blocks of PANEL_MR * pairs words). */
BF16DP static void dp_chunk(const uint32_t *ap, int N, int K, const uint16_t *W, int r0, int nr,
                            float *y, int ldy, float alpha, int accumulate) {
    size_t blk = (size_t)PANEL_MR * ((K + 1) / 2);
    for (int b = 0; b * PANEL_MR < N; b++) {
        int mrows = N - b * PANEL_MR < PANEL_MR ? N - b * PANEL_MR : PANEL_MR;
        const uint32_t *a = ap + (size_t)b * blk;
        float *yb = y + (size_t)b * PANEL_MR * ldy;
        int NR = mrows > 16 ? 12 : 16;
        for (int r = r0; r < r0 + nr; r += NR) {
            int n = r0 + nr - r < NR ? r0 + nr - r : NR;
            const uint16_t *w = W + (size_t)r * K;
            int next = r0 + nr - (r + NR) < NR ? r0 + nr - (r + NR) : NR;
            int lines = b == 0 && next > 0 ? (int)((size_t)next * K * 2 / 64) : 0;
            const char *pf = (const char *)(w + (size_t)NR * K);
            if (mrows > 16 && n == 12)
                dp_panel(a, K, w, 2, 12, 1, n, yb + r, ldy, mrows, alpha, accumulate, pf, lines);
            else if (mrows > 16)
                dp_panel(a, K, w, 2, 12, 0, n, yb + r, ldy, mrows, alpha, accumulate, pf, lines);
            else if (n == 16)
                dp_panel(a, K, w, 1, 16, 1, n, yb + r, ldy, mrows, alpha, accumulate, pf, lines);
            else
                dp_panel(a, K, w, 1, 16, 0, n, yb + r, ldy, mrows, alpha, accumulate, pf, lines);
        }
    }
}

/* 16 rows (lanes of m) of column k of x at s (row stride in, offsets idx)
 * rounded to BF16, zero-extended into 32-bit lanes. */
BF16DP_INLINE __m512i dp_column(const float *s, __m512i idx, __mmask16 m, int k) {
    __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, s + k, 4);
    return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v));
}

/* avx_pack for dp_chunk: rows (<= PANEL_MR) rows of x at s into
 * d[pair][PANEL_MR] BF16 pairs, zero-padded. */
BF16DP static void dp_pack(uint32_t *restrict d, const float *restrict s, int rows, int in) {
    __m512i idx =
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(in));
    __mmask16 m[2] = {rows >= 16 ? 0xFFFF : (__mmask16)((1u << rows) - 1),
                      rows >= 32   ? 0xFFFF
                      : rows <= 16 ? 0
                                   : (__mmask16)((1u << (rows - 16)) - 1)};
    for (int h = 0; h < 2; h++) {
        const float *sh = s + (size_t)16 * h * in;
        for (int p = 0; p < (in + 1) / 2; p++) {
            __m512i v = _mm512_setzero_si512();
            if (m[h]) {
                v = dp_column(sh, idx, m[h], 2 * p);
                if (2 * p + 1 < in)
                    v = _mm512_or_si512(v,
                                        _mm512_slli_epi32(dp_column(sh, idx, m[h], 2 * p + 1), 16));
            }
            _mm512_storeu_si512(d + (size_t)p * PANEL_MR + 16 * h, v);
        }
    }
}
#endif

/* Rows of x packed at once into a scratch of RLC_LINEAR_SCRATCH floats. */
static int panel_rows(int in) {
    size_t n = RLC_LINEAR_SCRATCH / ((size_t)in * PANEL_MR) * PANEL_MR;
    return n > 0x40000000 ? 0x40000000 : (int)n;
}

void rlc_cpu_linear_panels(const float *x, int N, int in, const rlc_linear_out *o, int n_out,
                           float alpha, int accumulate, float *scratch) {
    /* without AVX-512 at run time, or rows too long to pack a block of */
    if (!HAVE_AVX512_KERNELS || rlc_cpu_isa_get() < RLC_CPU_AVX512 || panel_rows(in) == 0) {
        linear_sgemm(x, N, in, o, n_out, alpha, accumulate, scratch);
        return;
    }
#if HAVE_AVX512_KERNELS
    size_t rows = 0;
    for (int j = 0; j < n_out; j++)
        rows += (size_t)o[j].out;
    if (rows == 0 || N == 0) return;
    long n_chunks = 0;
    for (int j = 0; j < n_out; j++)
        n_chunks += (o[j].out + PANEL_CHUNK - 1) / PANEL_CHUNK;
    int step = panel_rows(in);
    /* BF16 products when every output is BF16 and the CPU has them */
    int dp = linear_dp(o, n_out);
    uint32_t *ap16 = (uint32_t *)scratch; /* packed pairs take half the floats */
    for (int i0 = 0; i0 < N; i0 += step) {
        int n = N - i0 < step ? N - i0 : step, nb = (n + PANEL_MR - 1) / PANEL_MR;
        const float *xi = x + (size_t)i0 * in;
#pragma omp parallel if ((double)n * in * rows >= PANEL_PAR_MNK)
        {
#pragma omp for schedule(static)
            for (int b = 0; b < nb; b++) {
                int rows_b = n - b * PANEL_MR < PANEL_MR ? n - b * PANEL_MR : PANEL_MR;
                if (dp)
                    dp_pack(ap16 + (size_t)b * PANEL_MR * ((in + 1) / 2),
                            xi + (size_t)b * PANEL_MR * in, rows_b, in);
                else
                    pack_block(scratch, xi, n, in, b);
            }
#pragma omp for schedule(dynamic, 1)
            for (long c = 0; c < n_chunks; c++) {
                int j = 0;
                long cj = c, per;
                while (cj >= (per = (o[j].out + PANEL_CHUNK - 1) / PANEL_CHUNK))
                    cj -= per, j++;
                int r0 = (int)cj * PANEL_CHUNK;
                int nr = o[j].out - r0 < PANEL_CHUNK ? o[j].out - r0 : PANEL_CHUNK;
                float *y = o[j].y + (size_t)i0 * o[j].out;
                if (dp)
                    dp_chunk(ap16, n, in, o[j].W.bf16, r0, nr, y, o[j].out, alpha, accumulate);
                else
                    avx_chunk_w(scratch, n, in, o[j].W, r0, nr, y, o[j].out, alpha, accumulate);
            }
        }
    }
#endif
}

int rlc_cpu_linear_streams(int N) {
    int avx = HAVE_AVX512_KERNELS && rlc_cpu_isa_get() >= RLC_CPU_AVX512;
    return N <= (avx ? PANEL_FROM_ROWS - 1 : FEW_ROWS_F32);
}

void rlc_cpu_linear(const float *x, int N, int in, const rlc_linear_out *o, int n_out, float alpha,
                    int accumulate, float *scratch) {
    int avx = HAVE_AVX512_KERNELS && rlc_cpu_isa_get() >= RLC_CPU_AVX512;
    int few = N <= (avx ? PANEL_FROM_ROWS - 1 : FEW_ROWS_BF16);
    for (int j = 0; j < n_out; j++)
        if (!avx && o[j].W.f32 && N > FEW_ROWS_F32) few = 0;
    if (few) {
        rlc_cpu_linear_streamed(x, N, in, o, n_out, alpha, accumulate);
    } else { /* in a team (cpu_team_run keeps such rows out of one): its master alone */
        if (rlc_cpu_team_solo_begin())
            rlc_cpu_linear_panels(x, N, in, o, n_out, alpha, accumulate, scratch);
        rlc_cpu_team_solo_end();
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

static void embedding_row(float *o, int id, rlc_wmat wte, int C) {
    if (wte.f32)
        memcpy(o, wte.f32 + (size_t)id * C, (size_t)C * sizeof(float));
    else
        widen(o, wte.bf16 + (size_t)id * C, (size_t)C);
}

/* The size is tested before the OpenMP construct: one whose if clause is
 * false still costs 1-2 us. */
void rlc_cpu_embedding_forward(float *out, const int *ids, rlc_wmat wte, int N, int C) {
    if ((size_t)N * C >= 16384) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N; i++)
            embedding_row(out + (size_t)i * C, ids[i], wte, C);
    } else {
        for (int i = 0; i < N; i++)
            embedding_row(out + (size_t)i * C, ids[i], wte, C);
    }
}
