#include "base/rng.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Known-answer vectors of philox4x32_10 from Random123's kat_vectors. The
 * counter words map to rlc_philox's (position lo, position hi, stream lo,
 * stream hi) and the key words to (seed lo, seed hi). */
static void check_kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                      const uint32_t want[4]) {
    uint64_t position = ((uint64_t)c1 << 32) | c0;
    uint64_t stream = ((uint64_t)c3 << 32) | c2;
    uint64_t seed = ((uint64_t)k1 << 32) | k0;
    uint32_t got[4];
    rlc_philox(seed, stream, position, got);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(got[i], want[i], "word %d: got %08x want %08x", i, got[i], want[i]);
}

Test(rng, philox_kat_zeros) {
    const uint32_t want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    check_kat(0, 0, 0, 0, 0, 0, want);
}

Test(rng, philox_kat_ones) {
    const uint32_t want[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    uint32_t f = 0xffffffffu;
    check_kat(f, f, f, f, f, f, want);
}

Test(rng, philox_kat_pi) {
    const uint32_t want[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    check_kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, want);
}

Test(rng, uniform_range_mean_var) {
    const int n = 100000;
    double s = 0, s2 = 0;
    float lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        float u = rlc_rng_uniform(1234, 7, (uint64_t)i);
        cr_assert(u >= 0.0f && u < 1.0f, "draw %d = %g outside [0,1)", i, u);
        lo = fminf(lo, u);
        hi = fmaxf(hi, u);
        s += u;
        s2 += (double)u * u;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    /* std error of the mean: sqrt(1/12/n) ~ 9.1e-4; of the variance ~ 2.7e-4. */
    cr_assert(fabs(mean - 0.5) < 4 * 9.2e-4, "mean %g", mean);
    cr_assert(fabs(var - 1.0 / 12) < 4 * 2.7e-4, "var %g", var);
    cr_assert(lo < 1e-3 && hi > 1 - 1e-3, "range [%g, %g]", lo, hi);
}

Test(rng, normal_mean_std_and_tails) {
    const int n = 100000;
    double s = 0, s2 = 0, s4 = 0;
    int beyond2 = 0;
    for (int i = 0; i < n; i++) {
        float z = rlc_rng_normal(99, 3, (uint64_t)i);
        cr_assert(isfinite(z));
        s += z;
        s2 += (double)z * z;
        s4 += (double)z * z * z * z;
        beyond2 += fabsf(z) > 2.0f;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    cr_assert(fabs(mean) < 4 / sqrt(n), "mean %g", mean);
    /* Var of the sample variance of N(0,1) is 2/n. */
    cr_assert(fabs(var - 1) < 4 * sqrt(2.0 / n), "var %g", var);
    cr_assert(fabs(s4 / n - 3) < 4 * sqrt(96.0 / n), "kurtosis %g", s4 / n);
    /* P(|z| > 2) = 0.0455; binomial std ~ 6.6e-4. */
    cr_assert(fabs(beyond2 / (double)n - 0.0455) < 4 * 6.6e-4, "tail %g", beyond2 / (double)n);
}

Test(rng, deterministic_and_order_free) {
    /* Same (seed, stream, position) gives the same bits whatever was drawn before
     * and in whichever order positions are visited. */
    enum { n = 1000 };
    static float fwd[n], rev[n];
    for (int i = 0; i < n; i++)
        fwd[i] = rlc_rng_uniform(5, 11, (uint64_t)i);
    for (int i = n - 1; i >= 0; i--) {
        (void)rlc_rng_normal(5, 12, (uint64_t)i * 7); /* unrelated draws in between */
        rev[i] = rlc_rng_uniform(5, 11, (uint64_t)i);
    }
    for (int i = 0; i < n; i++)
        cr_assert_eq(fwd[i], rev[i], "position %d", i);
}

Test(rng, fill_normal_matches_pointwise) {
    enum { n = 70000 }; /* past the OpenMP threshold */
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    cr_assert(x && y);
    rlc_rng_fill_normal(x, n, 0.02f, 42, 9, 1000);
    for (int i = 0; i < n; i++)
        cr_assert_eq(x[i], 0.02f * rlc_rng_normal(42, 9, 1000 + (uint64_t)i), "i=%d", i);
    /* A window that starts later sees the same values at the same positions. */
    rlc_rng_fill_normal(y, 100, 0.02f, 42, 9, 1500);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(y[i], x[500 + i]);
    free(x);
    free(y);
}

Test(rng, seeds_and_streams_are_independent) {
    /* Different seeds/streams give uncorrelated sequences: sample correlation of
     * 1e4 uniform pairs stays within 4/sqrt(n). */
    const int n = 10000;
    uint64_t keys[3][2] = {{1, 0}, {2, 0}, {1, 1}};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            double sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
            for (int i = 0; i < n; i++) {
                double x = rlc_rng_uniform(keys[a][0], keys[a][1], (uint64_t)i);
                double y = rlc_rng_uniform(keys[b][0], keys[b][1], (uint64_t)i);
                sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
            }
            double cov = sxy / n - sx / n * sy / n;
            double r = cov / sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
            cr_assert(fabs(r) < 4 / sqrt(n), "pair %d,%d corr %g", a, b, r);
        }
}

Test(rng, stream_mixing) {
    uint64_t s = rlc_rng_stream(1, 2, 3);
    cr_assert_eq(s, rlc_rng_stream(1, 2, 3));
    cr_assert_neq(s, rlc_rng_stream(2, 1, 3));
    cr_assert_neq(s, rlc_rng_stream(1, 3, 2));
    cr_assert_neq(rlc_rng_stream(0, 0, 0), 0);
    /* Neighbouring ids land far apart: about half the bits flip. */
    int flips = __builtin_popcountll(rlc_rng_stream(7, 100, 0) ^ rlc_rng_stream(7, 100, 1));
    cr_assert(flips > 12 && flips < 52, "flips %d", flips);
    /* No collisions over a small grid of (step, prompt, sample). */
    enum { G = 16 };
    static uint64_t seen[G * G * G];
    int k = 0;
    for (uint64_t a = 0; a < G; a++)
        for (uint64_t b = 0; b < G; b++)
            for (uint64_t c = 0; c < G; c++)
                seen[k++] = rlc_rng_stream(a, b, c);
    int collisions = 0;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            collisions += seen[i] == seen[j];
    cr_assert_eq(collisions, 0);
}
