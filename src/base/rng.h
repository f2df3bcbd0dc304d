/* Counter-based random numbers (Philox-4x32-10, Salmon et al. 2011).
 * A draw is a pure function of (seed, stream, position): it does not depend on
 * call order, batch order or thread count, so a resumed run replays bit-for-bit. */
#ifndef RLC_BASE_RNG_H
#define RLC_BASE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Four 32-bit random words of Philox-4x32-10 with key (seed lo, seed hi) and
 * counter words (position lo, position hi, stream lo, stream hi). */
void rlc_philox(uint64_t seed, uint64_t stream, uint64_t position, uint32_t out[4]);
/* Uniform float in [0, 1): the top 24 bits of word 0 of the block, times 2^-24. */
float rlc_rng_uniform(uint64_t seed, uint64_t stream, uint64_t position);
/* Standard normal: Box-Muller (cosine branch) on words 0 and 1 of the block,
 * with u1 in (0, 1] so the logarithm is always finite. */
float rlc_rng_normal(uint64_t seed, uint64_t stream, uint64_t position);
/* Fills x[n] with normal(0, std) draws at positions first..first+n-1. */
void rlc_rng_fill_normal(float *x, size_t n, float std, uint64_t seed, uint64_t stream,
                         uint64_t first);
/* Mixes several ids into one stream id (e.g. step, prompt, sample). */
uint64_t rlc_rng_stream(uint64_t a, uint64_t b, uint64_t c);

#endif
