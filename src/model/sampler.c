/* Token sampling with Hugging Face's logits-processor semantics.
 *
 * Every filter (top-k, top-p, min-p) keeps the tokens whose unnormalised weight
 * w_i = exp((logit_i - max) / T) is at or above a threshold, so the kept set is
 * always {i : w_i >= thr} and the three filters compose into one number. That
 * lets us skip sorting: top-k is a selection, top-p a mass-weighted selection
 * over the few candidates above a cut-off, min-p a constant (the top token has
 * w = 1 exactly). Ties at a boundary are all kept (top-k: every token equal to
 * the k-th largest; top-p: every token equal to the last one needed to reach
 * top_p) — Hugging Face's choice there depends on torch's sort order.
 *
 * The draw is by inverse CDF over the kept set in ascending token id: token i is
 * returned for u in [C_{i-1}, C_i) / C_total with C the running kept mass. */
#include "model/sampler.h"

#include "tensor/cpu_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

rlc_sampler_params rlc_sampler_default_params(void) {
    return (rlc_sampler_params){.temperature = 1.0f, .top_p = 1.0f, .top_k = 0, .min_p = 0.0f};
}

static inline float median3(float a, float b, float c) {
    if (a > b) {
        float t = a;
        a = b;
        b = t;
    }
    /* now a <= b */
    if (c <= a) return a;
    if (c >= b) return b;
    return c;
}

/* Largest value t among a[n] (n >= 1) such that the values >= t reach `need`,
 * counting each value as 1 (by_mass = 0: t is the need-th largest) or as itself
 * (by_mass = 1: top-p). Expected O(n) quickselect with a three-way partition so
 * runs of equal values cost one pass. Reorders a. */
static float select_threshold(float *a, int n, double need, int by_mass) {
    double acc = 0; /* weight of values known to be above a[lo..hi) */
    int lo = 0, hi = n;
    for (;;) {
        float pivot = median3(a[lo], a[lo + (hi - lo) / 2], a[hi - 1]);
        int gt = lo, i = lo, lt = hi; /* [lo,gt) > pivot, [gt,i) == pivot, [lt,hi) < pivot */
        double w_gt = 0, w_eq = 0;
        while (i < lt) {
            float x = a[i];
            if (x > pivot) {
                a[i++] = a[gt];
                a[gt++] = x;
                w_gt += by_mass ? x : 1.0;
            } else if (x < pivot) {
                a[i] = a[--lt];
                a[lt] = x;
            } else {
                i++;
                w_eq += by_mass ? x : 1.0;
            }
        }
        if (gt > lo && acc + w_gt >= need) {
            hi = gt;
        } else if (acc + w_gt + w_eq >= need || lt == hi) {
            /* lt == hi: rounding left the total a hair short of need; the
             * smallest value is the answer then. */
            return pivot;
        } else {
            acc += w_gt + w_eq;
            lo = lt;
        }
    }
}

/* Sums below run in blocks: a float reduction inside a block (which GCC
 * vectorises; a float-to-double reduction it does not) and double across
 * blocks, so the total keeps ~1e-7 relative accuracy at V = 150k. The block
 * split is fixed, so results do not depend on the machine's vector width. */
enum { SUM_BLOCK = 256 };

static double kept_weight(const float *w, int V, float thr, int by_mass);

/* w[i] = exp((l_i - lmax) * inv_t), NaN logits given weight 0 (as -inf);
 * returns the sum of w. */
static double weights(const float *restrict logits, int V, float lmax, float inv_t,
                      float *restrict w) {
    for (int i = 0; i < V; i++) {
        float a = (logits[i] - lmax) * inv_t;
        float x = rlc_expf(a);
        w[i] = a >= -87.0f ? x : 0.0f; /* false for NaN logits too */
    }
    return kept_weight(w, V, 0.0f, 1);
}

/* Sum of the w[i] >= thr, counting each as itself (by_mass) or as 1. */
static double kept_weight(const float *w, int V, float thr, int by_mass) {
    double s = 0;
    for (int b = 0; b < V; b += SUM_BLOCK) {
        int e = b + SUM_BLOCK < V ? b + SUM_BLOCK : V;
        float bs = 0;
        if (by_mass) {
#pragma omp simd reduction(+ : bs)
            for (int i = b; i < e; i++)
                bs += w[i] >= thr ? w[i] : 0.0f;
        } else {
#pragma omp simd reduction(+ : bs)
            for (int i = b; i < e; i++)
                bs += w[i] >= thr ? 1.0f : 0.0f;
        }
        s += bs;
    }
    return s;
}

static double kept_mass(const float *w, int V, float thr) {
    return kept_weight(w, V, thr, 1);
}

/* Threshold that keeps `need` of the weight (count or mass, see
 * select_threshold) among {w >= floor}. An LLM's next-token distribution puts
 * almost all its mass on a handful of tokens, so first select among the
 * candidates with w >= 1e-3 (relative to the top token) and widen the cut-off
 * only when those do not reach `need`: a vectorised compare pass or two and a
 * selection over a few candidates instead of over the whole vocabulary. */
static float filter_threshold(const float *w, float *tmp, int V, float floor, double need,
                              int by_mass) {
    float lo = floor;
    for (float cut = 1e-3f; cut > floor; cut *= 0.1f) {
        if (cut < 1e-30f) break;
        if (kept_weight(w, V, cut, by_mass) >= need) {
            lo = cut;
            break;
        }
    }
    int n = 0;
    for (int i = 0; i < V; i++)
        if (w[i] >= lo) tmp[n++] = w[i];
    return select_threshold(tmp, n, need, by_mass);
}

/* First kept token (w >= thr, w > 0) whose running mass exceeds target. Whole
 * blocks are skipped on their vectorised sums, so only one block is scanned
 * token by token. If rounding leaves target unreached, the last kept token. */
static int inverse_cdf(const float *w, int V, float thr, double target) {
    double cum = 0;
    for (int b = 0; b < V; b += SUM_BLOCK) {
        int e = b + SUM_BLOCK < V ? b + SUM_BLOCK : V;
        double bs = kept_mass(w + b, e - b, thr);
        if (cum + bs <= target) {
            cum += bs;
            continue;
        }
        for (int i = b; i < e; i++)
            if (w[i] >= thr && w[i] > 0.0f && (cum += w[i]) > target) return i;
    }
    for (int i = V - 1; i > 0; i--)
        if (w[i] >= thr && w[i] > 0.0f) return i;
    return 0;
}

/* H = log(sum) - sum_i w_i a_i / sum, with a_i = (l_i - lmax) * inv_t and
 * w_i = exp(a_i) as weights() left them (w_i = 0 for masked and NaN logits,
 * which then add nothing). */
static float tempered_entropy(const float *restrict logits, const float *restrict w, int V,
                              float lmax, float inv_t, double sum) {
    double s = 0;
    for (int b = 0; b < V; b += SUM_BLOCK) {
        int e = b + SUM_BLOCK < V ? b + SUM_BLOCK : V;
        float bs = 0;
#pragma omp simd reduction(+ : bs)
        for (int i = b; i < e; i++)
            bs += w[i] > 0.0f ? w[i] * ((logits[i] - lmax) * inv_t) : 0.0f;
        s += bs;
    }
    double h = log(sum) - s / sum;
    return (float)(h > 0 ? h : 0);
}

int rlc_sample(const float *logits, int V, const rlc_sampler_params *p, float u, void *work,
               float *logprob) {
    return rlc_sample_ex(logits, V, p, u, work, logprob, NULL);
}

/* Zeroes the weights of the ids that may not be drawn. */
static void mask_weights(float *w, int V, int lim, const unsigned char *ok) {
    if (ok)
        for (int i = 0; i < lim; i++)
            w[i] = ok[i] ? w[i] : 0.0f;
    if (lim < V) memset(w + lim, 0, sizeof(float) * (size_t)(V - lim));
}

/* The k-th allowed id (0-based) below lim. */
static int kth_allowed(int lim, const unsigned char *ok, int k) {
    if (!ok) return k;
    for (int i = 0; i < lim; i++)
        if (ok[i] && k-- == 0) return i;
    return lim - 1;
}

int rlc_sample_ex(const float *logits, int V, const rlc_sampler_params *p, float u, void *work,
                  float *logprob, float *entropy) {
    float lmax_all = -INFINITY;
#pragma omp simd reduction(max : lmax_all)
    for (int i = 0; i < V; i++)
        lmax_all = logits[i] > lmax_all ? logits[i] : lmax_all; /* skips NaN */
    /* the ids that may be drawn: [0, lim), and among them ok[i] != 0 */
    int lim = p->vocab_limit > 0 && p->vocab_limit < V ? p->vocab_limit : V;
    const unsigned char *ok = p->allowed;
    int n_ok = lim;
    if (ok) {
        n_ok = 0;
        for (int i = 0; i < lim; i++)
            n_ok += ok[i] != 0;
    }
    if (n_ok == 0) lim = V, ok = NULL, n_ok = V; /* allows nothing: ignored */
    int masked = lim < V || ok;
    float lmax = lmax_all; /* the largest allowed logit */
    if (masked) {
        lmax = -INFINITY;
#pragma omp simd reduction(max : lmax)
        for (int i = 0; i < lim; i++) {
            float x = !ok || ok[i] ? logits[i] : -INFINITY;
            lmax = x > lmax ? x : lmax;
        }
    }
    /* lowest allowed id on ties; the last allowed id when none matches (all NaN) */
    int amax = kth_allowed(lim, ok, n_ok - 1);
    for (int i = 0; i < lim; i++)
        if ((!ok || ok[i]) && logits[i] == lmax) {
            amax = i;
            break;
        }
    int greedy = !(p->temperature > 0.0f);
    if (lmax == -INFINITY || lmax == INFINITY) {
        /* Degenerate rows. All masked: every token equally (un)likely, which is
         * the limit of equal logits. A +inf logit takes all the mass: the first
         * one is returned with logprob 0. Over the allowed ids. */
        int tok = amax;
        if (lmax == -INFINITY && !greedy) {
            int k = (int)(u * (float)n_ok);
            tok = kth_allowed(lim, ok, k < 0 ? 0 : k >= n_ok ? n_ok - 1 : k);
        }
        if (logprob) *logprob = lmax == INFINITY ? 0.0f : -logf((float)n_ok);
        if (entropy) *entropy = lmax == INFINITY ? 0.0f : logf((float)n_ok);
        return tok;
    }

    /* log-prob and entropy over the full vocabulary (over the allowed ids when
     * a masked id has logit +inf, which would leave no mass elsewhere) */
    float inv_t = greedy ? 1.0f : 1.0f / p->temperature;
    float *w = (float *)work, *tmp = w + V;
    float ref = lmax_all;
    double sum_all;
    if (lmax_all == INFINITY) {
        ref = lmax;
        weights(logits, V, ref, inv_t, w);
        mask_weights(w, V, lim, ok);
        sum_all = kept_weight(w, V, 0.0f, 1);
    } else {
        sum_all = weights(logits, V, ref, inv_t, w);
    }
    if (entropy) *entropy = tempered_entropy(logits, w, V, ref, inv_t, sum_all);
    if (greedy) {
        if (logprob) *logprob = (float)((double)(logits[amax] - ref) - log(sum_all));
        return amax;
    }

    /* the weights to draw from: relative to the top allowed token, masked
     * ids at 0 */
    double sum = sum_all;
    if (masked) {
        if (ref != lmax) weights(logits, V, lmax, inv_t, w);
        mask_weights(w, V, lim, ok);
        sum = kept_weight(w, V, 0.0f, 1);
    }
    float thr = 0.0f; /* keep w >= thr; 0 keeps everything */
    if (p->top_k > 0 && p->top_k < n_ok) thr = filter_threshold(w, tmp, V, 0.0f, p->top_k, 0);
    if (p->top_p < 1.0f) {
        double kept = thr > 0.0f ? kept_mass(w, V, thr) : sum;
        thr = filter_threshold(w, tmp, V, thr, (double)p->top_p * kept, 1);
    }
    if (p->min_p > thr) thr = p->min_p; /* w = prob / max_prob */
    if (thr > w[amax]) thr = w[amax];   /* the top token (w = 1) always stays */

    double kept = thr > 0.0f ? kept_mass(w, V, thr) : sum;
    int tok = inverse_cdf(w, V, thr, (double)(u > 0.0f ? u : 0.0f) * kept);
    if (logprob) *logprob = (float)(((double)logits[tok] - ref) * inv_t - log(sum_all));
    return tok;
}
