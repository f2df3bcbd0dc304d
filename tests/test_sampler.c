#include "base/rng.h"
#include "model/sampler.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static rlc_sampler_params params(float t, int k, float top_p, float min_p) {
    rlc_sampler_params p = rlc_sampler_default_params();
    p.temperature = t;
    p.top_k = k;
    p.top_p = top_p;
    p.min_p = min_p;
    return p;
}

/* Five tokens with known probabilities, deliberately not in id order. */
#define V5 5
static const double probs5[V5] = {0.10, 0.40, 0.05, 0.25, 0.20};

static void logits5(float *l) {
    for (int i = 0; i < V5; i++)
        l[i] = (float)log(probs5[i]) + 3.0f; /* shift: softmax-invariant */
}

/* Asserts that as u sweeps [0,1) the sampler draws exactly the tokens in
 * keep[], each over an interval of u as wide as its renormalised probability
 * softmax(logits/T) restricted to keep (inverse CDF in ascending id). */
static void check_sweep(const float *logits, int V, rlc_sampler_params p, const int *keep,
                        int nkeep) {
    double w[16] = {0}, total = 0;
    int kept[16] = {0};
    for (int j = 0; j < nkeep; j++)
        kept[keep[j]] = 1;
    for (int i = 0; i < V; i++)
        if (kept[i]) total += w[i] = exp((double)logits[i] / p.temperature);
    float work[32];
    for (int s = 0; s < 2000; s++) {
        double u = (s + 0.5) / 2000;
        int want = -1;
        double cum = 0;
        for (int i = 0; i < V; i++)
            if (kept[i]) {
                cum += w[i] / total;
                if (fabs(u - cum) < 1e-4) want = -2; /* too close to a boundary to judge */
                if (want == -1 && u < cum) want = i;
            }
        if (want == -2) continue;
        float lp;
        int got = rlc_sample(logits, V, &p, (float)u, work, &lp);
        cr_assert_eq(got, want, "u=%.5f: got token %d, want %d", u, got, want);
    }
}

Test(sampler, default_params) {
    rlc_sampler_params p = rlc_sampler_default_params();
    cr_assert_eq(p.temperature, 1.0f);
    cr_assert_eq(p.top_p, 1.0f);
    cr_assert_eq(p.top_k, 0);
    cr_assert_eq(p.min_p, 0.0f);
}

Test(sampler, greedy_lowest_id_on_ties) {
    float work[16], lp;
    rlc_sampler_params g = params(0.0f, 0, 1.0f, 0.0f);
    float a[5] = {1, 5, 5, 2, 5};
    cr_assert_eq(rlc_sample(a, 5, &g, 0.99f, work, &lp), 1);
    /* logprob at T = 1 over the full vocab: 5 - log(3 e^5 + e^1 + e^2). */
    double want = 5 - log(3 * exp(5.0) + exp(1.0) + exp(2.0));
    cr_assert(fabs(lp - want) < 1e-6, "lp %g want %g", lp, want);
    /* Filters do not matter when greedy. */
    rlc_sampler_params gk = params(0.0f, 1, 0.1f, 0.9f);
    cr_assert_eq(rlc_sample(a, 5, &gk, 0.5f, work, &lp), 1);
    float b[3] = {-INFINITY, -INFINITY, -3};
    cr_assert_eq(rlc_sample(b, 3, &g, 0.0f, work, &lp), 2);
    cr_assert_float_eq(lp, 0.0f, 1e-7);
}

Test(sampler, no_filter_sweep) {
    float l[V5];
    logits5(l);
    const int all[] = {0, 1, 2, 3, 4};
    check_sweep(l, V5, params(1.0f, 0, 1.0f, 0.0f), all, 5);
    /* Temperature 2 flattens: probabilities proportional to sqrt(p). */
    check_sweep(l, V5, params(2.0f, 0, 1.0f, 0.0f), all, 5);
    /* Explicit "off" values behave as off. */
    check_sweep(l, V5, params(1.0f, V5, 1.0f, 0.0f), all, 5);
}

Test(sampler, top_k_sweep) {
    float l[V5];
    logits5(l);
    const int k1[] = {1}, k2[] = {1, 3}, k3[] = {1, 3, 4};
    check_sweep(l, V5, params(1.0f, 1, 1.0f, 0.0f), k1, 1);
    check_sweep(l, V5, params(1.0f, 2, 1.0f, 0.0f), k2, 2);
    check_sweep(l, V5, params(0.5f, 3, 1.0f, 0.0f), k3, 3);
}

Test(sampler, top_k_keeps_ties_at_boundary) {
    float l[6] = {1, 3, 3, 2, 3, 0};
    const int tied[] = {1, 2, 4};
    check_sweep(l, 6, params(1.0f, 2, 1.0f, 0.0f), tied, 3);
    check_sweep(l, 6, params(1.0f, 1, 1.0f, 0.0f), tied, 3);
    const int four[] = {1, 2, 3, 4};
    check_sweep(l, 6, params(1.0f, 4, 1.0f, 0.0f), four, 4);
}

Test(sampler, top_p_sweep) {
    float l[V5];
    logits5(l);
    /* Sorted: 0.40 (id 1), 0.25 (id 3), 0.20 (id 4), 0.10 (id 0), 0.05 (id 2);
     * cumulative 0.40, 0.65, 0.85, 0.95, 1. */
    const int p1[] = {1}, p2[] = {1, 3}, p3[] = {1, 3, 4}, p4[] = {0, 1, 3, 4};
    check_sweep(l, V5, params(1.0f, 0, 0.30f, 0.0f), p1, 1);
    check_sweep(l, V5, params(1.0f, 0, 0.60f, 0.0f), p2, 2);
    check_sweep(l, V5, params(1.0f, 0, 0.70f, 0.0f), p3, 3);
    check_sweep(l, V5, params(1.0f, 0, 0.90f, 0.0f), p4, 4);
    /* top_p = 0 still keeps the most likely token. */
    check_sweep(l, V5, params(1.0f, 0, 0.0f, 0.0f), p1, 1);
}

Test(sampler, top_p_applies_to_top_k_renormalised) {
    float l[V5];
    logits5(l);
    /* top_k = 3 keeps {0.40, 0.25, 0.20}; renormalised cumulative 0.47, 0.76, 1:
     * top_p = 0.7 then stops at two tokens (alone it would keep three). */
    const int want[] = {1, 3};
    check_sweep(l, V5, params(1.0f, 3, 0.70f, 0.0f), want, 2);
}

Test(sampler, min_p_sweep) {
    float l[V5];
    logits5(l);
    /* Keep p >= min_p * 0.40. */
    const int m1[] = {1, 3}, m2[] = {1, 3, 4}, m3[] = {0, 1, 3, 4}, m4[] = {1};
    check_sweep(l, V5, params(1.0f, 0, 1.0f, 0.55f), m1, 2); /* >= 0.22 */
    check_sweep(l, V5, params(1.0f, 0, 1.0f, 0.45f), m2, 3); /* >= 0.18 */
    check_sweep(l, V5, params(1.0f, 0, 1.0f, 0.20f), m3, 4); /* >= 0.08 */
    check_sweep(l, V5, params(1.0f, 0, 1.0f, 0.99f), m4, 1);
    /* min_p sees the tempered distribution: at T = 2 the ratios are sqrt(p/0.4)
     * = 0.50, 1, 0.35, 0.79, 0.71, so min_p = 0.6 keeps three tokens. */
    check_sweep(l, V5, params(2.0f, 0, 1.0f, 0.60f), m2, 3);
    check_sweep(l, V5, params(1.0f, 0, 1.0f, 0.60f), m1, 2);
}

Test(sampler, filters_combined) {
    float l[V5];
    logits5(l);
    /* top_k 4 -> {1,3,4,0}; top_p 0.9 of that (cum .42 .68 .89 1) -> {1,3,4,0};
     * min_p 0.3 (p >= 0.12) -> {1,3,4}. */
    const int want[] = {1, 3, 4};
    check_sweep(l, V5, params(1.0f, 4, 0.9f, 0.3f), want, 3);
}

Test(sampler, empirical_distribution_matches) {
    /* 20000 draws with u from the Philox stream; T = 0.8, top_k = 4. */
    const float l[6] = {0.3f, -1.2f, 1.0f, 0.1f, -0.4f, 0.7f};
    rlc_sampler_params p = params(0.8f, 4, 1.0f, 0.0f);
    const int keep[6] = {1, 0, 1, 1, 0, 1}; /* the four largest: ids 2, 5, 0, 3 */
    double w[6], total = 0;
    for (int i = 0; i < 6; i++)
        total += w[i] = keep[i] ? exp(l[i] / 0.8) : 0;
    const int n = 20000;
    int count[6] = {0};
    float work[12], lp;
    for (int s = 0; s < n; s++)
        count[rlc_sample(l, 6, &p, rlc_rng_uniform(2024, 1, (uint64_t)s), work, &lp)]++;
    for (int i = 0; i < 6; i++) {
        double q = w[i] / total, sigma = sqrt(n * q * (1 - q));
        if (!keep[i])
            cr_assert_eq(count[i], 0, "filtered token %d drawn %d times", i, count[i]);
        else
            cr_assert(fabs(count[i] - n * q) <= 4 * sigma, "token %d: %d draws, expected %.1f", i,
                      count[i], n * q);
    }
}

Test(sampler, logprob_over_full_vocab) {
    const float l[6] = {0.3f, -1.2f, 1.0f, 0.1f, -0.4f, 0.7f};
    const float T = 0.7f;
    double lse = 0;
    for (int i = 0; i < 6; i++)
        lse += exp(l[i] / (double)T);
    lse = log(lse);
    float work[12];
    /* With filters on, the logprob still normalises over all six tokens. */
    rlc_sampler_params p = params(T, 2, 0.5f, 0.1f);
    for (int s = 0; s < 50; s++) {
        float lp = 1;
        int tok = rlc_sample(l, 6, &p, s / 50.0f, work, &lp);
        double want = l[tok] / (double)T - lse;
        cr_assert(fabs(lp - want) < 1e-6, "tok %d lp %.8f want %.8f", tok, lp, want);
    }
}

Test(sampler, masked_logits_stay_finite) {
    float l[8] = {-INFINITY, 2.0f, -INFINITY, 0.5f, -INFINITY, -INFINITY, 1.0f, -INFINITY};
    float work[16];
    rlc_sampler_params ps[] = {params(1.0f, 0, 1.0f, 0.0f), params(0.5f, 3, 0.95f, 0.0f),
                               params(2.0f, 0, 0.99f, 0.01f), params(1.0f, 7, 1.0f, 0.0f),
                               params(0.0f, 0, 1.0f, 0.0f)};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
        for (int s = 0; s <= 100; s++) {
            float u = s < 100 ? s / 100.0f : 0.99999994f;
            float lp;
            int tok = rlc_sample(l, 8, &ps[k], u, work, &lp);
            cr_assert(tok == 1 || tok == 3 || tok == 6, "params %zu u %g: token %d", k, u, tok);
            cr_assert(isfinite(lp) && lp <= 0, "params %zu: logprob %g", k, lp);
        }
    /* NaN logits count as masked. */
    float withnan[4] = {NAN, 1.0f, NAN, 0.0f};
    rlc_sampler_params p0 = rlc_sampler_default_params();
    for (int s = 0; s < 100; s++) {
        float lp;
        int tok = rlc_sample(withnan, 4, &p0, s / 100.0f, work, &lp);
        cr_assert(tok == 1 || tok == 3, "token %d", tok);
        cr_assert(isfinite(lp));
    }
    /* A fully masked row cannot produce NaN either. */
    float all[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, lp;
    rlc_sampler_params p = rlc_sampler_default_params();
    int tok = rlc_sample(all, 4, &p, 0.6f, work, &lp);
    cr_assert(tok >= 0 && tok < 4);
    cr_assert(isfinite(lp));
}

/* Brute-force reference for a large vocabulary: sort everything, apply the
 * documented filters literally, then inverse CDF in id order. */
static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

static int reference_sample(const float *l, int V, rlc_sampler_params p, float u) {
    float lmax = -INFINITY;
    for (int i = 0; i < V; i++)
        lmax = fmaxf(lmax, l[i]);
    float *w = malloc(V * sizeof *w), *s = malloc(V * sizeof *s);
    float inv_t = 1.0f / p.temperature;
    for (int i = 0; i < V; i++)
        s[i] = w[i] = expf((l[i] - lmax) * inv_t);
    qsort(s, V, sizeof *s, cmp_desc);
    int n = V;
    if (p.top_k > 0 && p.top_k < V)
        while (n > p.top_k && s[n - 1] < s[p.top_k - 1])
            n--;
    if (p.top_p < 1) {
        double tot = 0, cum = 0;
        for (int j = 0; j < n; j++)
            tot += s[j];
        int j = 0;
        while (j < n - 1 && (cum += s[j]) < p.top_p * tot)
            j++;
        while (j + 1 < n && s[j + 1] == s[j])
            j++;
        n = j + 1;
    }
    float thr = fmaxf(s[n - 1], p.min_p);
    double kept = 0, cum = 0;
    for (int i = 0; i < V; i++)
        if (w[i] >= thr) kept += w[i];
    int tok = -1;
    for (int i = 0; i < V && tok < 0; i++)
        if (w[i] >= thr && (cum += w[i]) > u * kept) tok = i;
    free(w);
    free(s);
    return tok;
}

Test(sampler, large_vocab_matches_reference) {
    const int V = 151936;
    float *l = malloc(V * sizeof *l), *work = malloc(2 * V * sizeof *work);
    cr_assert(l && work);
    rlc_rng_fill_normal(l, V, 2.5f, 7, 0, 0);
    for (int i = 0; i < 20; i++)
        l[(i * 7919) % V] += 12.0f; /* a peaked head */
    rlc_sampler_params ps[] = {params(1.0f, 0, 0.9f, 0.0f),    params(1.0f, 50, 1.0f, 0.0f),
                               params(0.7f, 40, 0.95f, 0.05f), params(1.0f, 0, 1.0f, 0.1f),
                               params(3.0f, 0, 0.5f, 0.0f), /* flat: top_p needs ~all */
                               params(1.0f, 0, 1.0f, 0.0f)};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
        for (int s = 0; s < 8; s++) {
            float u = rlc_rng_uniform(11, k, (uint64_t)s);
            float lp;
            int got = rlc_sample(l, V, &ps[k], u, work, &lp);
            int want = reference_sample(l, V, ps[k], u);
            cr_assert_eq(got, want, "params %zu u %g: got %d want %d", k, u, got, want);
            cr_assert(isfinite(lp));
        }
    /* Speed: the common configurations must not sort the vocabulary. */
    const int reps = 50;
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        float lp;
        for (int r = 0; r < reps; r++)
            rlc_sample(l, V, &ps[k], 0.5f, work, &lp);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6) / reps;
        cr_log_info("sampler V=%d params %zu: %.3f ms/call", V, k, ms);
    }
    free(l);
    free(work);
}
