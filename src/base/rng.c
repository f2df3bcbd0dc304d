/* Philox-4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy
 * as 1, 2, 3", SC 2011) and the draws built on it. Every draw is a pure function
 * of (seed, stream, position), which is what makes sampling reproducible under
 * any batch order or thread count. */
#include "base/rng.h"

#include <math.h>
#include <stddef.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t c1 = ctr[1], c3 = ctr[3];
    ctr[0] = hi1 ^ c1 ^ key[0];
    ctr[1] = lo1;
    ctr[2] = hi0 ^ c3 ^ key[1];
    ctr[3] = lo0;
}

/* The raw block function, kept separate so the known-answer vectors (which set
 * all four counter words and both key words freely) test exactly this code. */
static void philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t ctr[4] = {ctr_in[0], ctr_in[1], ctr_in[2], ctr_in[3]};
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            key[0] += PHILOX_W0;
            key[1] += PHILOX_W1;
        }
        philox_round(ctr, key);
    }
    for (int i = 0; i < 4; i++)
        out[i] = ctr[i];
}

void rlc_philox(uint64_t seed, uint64_t stream, uint64_t position, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)position, (uint32_t)(position >> 32), (uint32_t)stream,
                       (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    philox4x32_10(ctr, key, out);
}

/* Top 24 bits of a word as a float in [0, 1): exactly representable, never 1. */
static inline float word_to_unit(uint32_t w) {
    return (float)(w >> 8) * (1.0f / 16777216.0f);
}

float rlc_rng_uniform(uint64_t seed, uint64_t stream, uint64_t position) {
    uint32_t w[4];
    rlc_philox(seed, stream, position, w);
    return word_to_unit(w[0]);
}

float rlc_rng_normal(uint64_t seed, uint64_t stream, uint64_t position) {
    uint32_t w[4];
    rlc_philox(seed, stream, position, w);
    /* u1 in (0, 1] so log(u1) is finite; 32 bits each keeps the tail smooth
     * (the largest |z| is sqrt(-2 ln 2^-32) ~ 6.7). */
    double u1 = ((double)w[0] + 1.0) * (1.0 / 4294967296.0);
    double u2 = (double)w[1] * (1.0 / 4294967296.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void rlc_rng_fill_normal(float *x, size_t n, float std, uint64_t seed, uint64_t stream,
                         uint64_t first) {
    /* Element i depends only on position first+i, so the split over threads
     * cannot change the result. */
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        x[i] = std * rlc_rng_normal(seed, stream, first + i);
}

/* splitmix64's finaliser: a bijection on 64-bit words with full avalanche. */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t rlc_rng_stream(uint64_t a, uint64_t b, uint64_t c) {
    /* Chained so the order of the ids matters ((1,2,0) != (2,1,0)); each stage
     * is a bijection of the last id for fixed earlier ones, so distinct c for
     * the same (a, b) can never collide. */
    const uint64_t golden = 0x9E3779B97F4A7C15ull;
    uint64_t h = mix64(a + golden);
    h = mix64(h ^ (b + 2 * golden));
    h = mix64(h ^ (c + 3 * golden));
    return h;
}
