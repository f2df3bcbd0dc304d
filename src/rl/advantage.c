#include "rl/advantage.h"

#include <math.h>
#include <string.h>

#define GRPO_STD_EPS 1e-4
#define MAXRL_MEAN_EPS 1e-6
#define EQUAL_TOL 1e-6

static const char *const adv_names[] = {"grpo", "dr_grpo", "maxrl",       "rloo",
                                        "psr",  "nsr",     "w_reinforce", "reinforce_pp"};
static const char *const scale_names[] = {"group", "batch", "none"};
#define N_ADV ((int)(sizeof adv_names / sizeof adv_names[0]))
#define N_SCALE ((int)(sizeof scale_names / sizeof scale_names[0]))

/* Unbiased standard deviation of x[n] around mean; 0 for n < 2. */
static double std_unbiased(const float *x, int n, double mean) {
    if (n < 2) return 0.0;
    double ss = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)x[i] - mean;
        ss += d * d;
    }
    return sqrt(ss / (n - 1));
}

static double mean_of(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

int rlc_rewards_all_equal(const float *x, int n) {
    float lo = x[0], hi = x[0], amax = fabsf(x[0]);
    for (int i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
    }
    return (double)hi - (double)lo <= EQUAL_TOL * (amax > 1.0f ? amax : 1.0);
}

/* RLC_ERR_INVALID naming the first non-finite reward of n (groups of G). */
static rlc_status check_rewards(const float *rewards, size_t n, int G) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(rewards[i]))
            return rlc_errorf(RLC_ERR_INVALID,
                              "advantages: reward %zu (group %zu, sample %zu) is %g, expected a "
                              "finite number",
                              i, i / (size_t)G, i % (size_t)G, (double)rewards[i]);
    return RLC_OK;
}

rlc_status rlc_advantages(const float *rewards, int n_groups, int G, rlc_adv_mode mode,
                          rlc_scale_mode scale, float *adv, unsigned char *group_skipped,
                          int *n_skipped) {
    if (n_groups < 0 || G < 1)
        return rlc_errorf(RLC_ERR_INVALID, "advantages: need n_groups >= 0 and G >= 1, got %d, %d",
                          n_groups, G);
    if ((unsigned)mode >= (unsigned)N_ADV)
        return rlc_errorf(RLC_ERR_INVALID, "advantages: unknown mode %d", (int)mode);
    if (rlc_adv_mode_signed(mode))
        return rlc_errorf(RLC_ERR_INVALID, "advantages: %s takes rlc_advantages_signed",
                          adv_names[mode]);
    if (mode == RLC_ADV_REINFORCE_PP)
        return rlc_errorf(RLC_ERR_INVALID,
                          "advantages: reinforce_pp takes rlc_advantages_reinforce_pp");
    if ((unsigned)scale >= (unsigned)N_SCALE)
        return rlc_errorf(RLC_ERR_INVALID, "advantages: unknown scale_rewards %d", (int)scale);
    size_t n = (size_t)n_groups * (size_t)G;
    RLC_TRY(check_rewards(rewards, n, G));

    /* Before any write: adv may alias rewards. */
    double batch_std = 0;
    if (mode == RLC_ADV_GRPO && scale == RLC_SCALE_BATCH && n > 0) {
        double m = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            m += rewards[i];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            ss += ((double)rewards[i] - m) * ((double)rewards[i] - m);
        batch_std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    }

    int skipped = 0;
    for (int g = 0; g < n_groups; g++) {
        const float *r = rewards + (size_t)g * G;
        float *a = adv + (size_t)g * G;
        double mean = mean_of(r, G);
        int skip = rlc_rewards_all_equal(r, G) || (mode == RLC_ADV_MAXRL && mean < MAXRL_MEAN_EPS);
        if (group_skipped) group_skipped[g] = (unsigned char)skip;
        if (skip) {
            skipped++;
            for (int i = 0; i < G; i++)
                a[i] = 0.0f;
            continue;
        }
        double div = 1.0;
        if (mode == RLC_ADV_GRPO && scale == RLC_SCALE_GROUP)
            div = std_unbiased(r, G, mean) + GRPO_STD_EPS;
        else if (mode == RLC_ADV_GRPO && scale == RLC_SCALE_BATCH)
            div = batch_std + GRPO_STD_EPS;
        else if (mode == RLC_ADV_MAXRL)
            div = mean + MAXRL_MEAN_EPS;
        if (mode == RLC_ADV_RLOO) { /* G >= 2 here: a group of one is all equal */
            double sum = 0;
            for (int i = 0; i < G; i++)
                sum += r[i];
            for (int i = 0; i < G; i++)
                a[i] = (float)((double)r[i] - (sum - (double)r[i]) / (G - 1));
            continue;
        }
        for (int i = 0; i < G; i++)
            a[i] = (float)(((double)r[i] - mean) / div);
    }
    if (n_skipped) *n_skipped = skipped;
    return RLC_OK;
}

rlc_status rlc_advantages_reinforce_pp(const float *rewards, const int *lens, int n_groups, int G,
                                       float *adv, unsigned char *group_skipped, int *n_skipped) {
    if (n_groups < 0 || G < 1)
        return rlc_errorf(RLC_ERR_INVALID, "advantages: need n_groups >= 0 and G >= 1, got %d, %d",
                          n_groups, G);
    size_t n = (size_t)n_groups * (size_t)G;
    RLC_TRY(check_rewards(rewards, n, G));
    for (size_t i = 0; i < n; i++)
        if (lens[i] < 0)
            return rlc_errorf(RLC_ERR_INVALID, "advantages: sample %zu has length %d", i, lens[i]);
    /* In double throughout (as the reference computes it): r - mean_g is not
     * rounded to float before the whitening. Pass 1: token statistics. */
    double tok = 0, sum = 0, sq = 0;
    int skipped = 0;
    for (int g = 0; g < n_groups; g++) {
        const float *r = rewards + (size_t)g * G;
        const int *L = lens + (size_t)g * G;
        int skip = rlc_rewards_all_equal(r, G);
        skipped += skip;
        if (group_skipped) group_skipped[g] = (unsigned char)skip;
        double mean = mean_of(r, G);
        for (int i = 0; !skip && i < G; i++) {
            double a = (double)r[i] - mean;
            if (a != 0 && L[i] > 0) tok += L[i], sum += L[i] * a, sq += L[i] * a * a;
        }
    }
    double mu = tok > 0 ? sum / tok : 0, var = tok > 0 ? sq / tok - mu * mu : 0;
    double rstd = 1.0 / sqrt((var > 0 ? var : 0) + 1e-8);
    /* Pass 2: each group's mean is read before its entries are written (adv
     * may alias rewards). */
    for (int g = 0; g < n_groups; g++) {
        const float *r = rewards + (size_t)g * G;
        const int *L = lens + (size_t)g * G;
        float *out = adv + (size_t)g * G;
        int skip = rlc_rewards_all_equal(r, G);
        double mean = mean_of(r, G);
        for (int i = 0; i < G; i++) {
            double a = (double)r[i] - mean;
            out[i] = !skip && a != 0 && L[i] > 0 ? (float)((a - mu) * rstd) : 0.0f;
        }
    }
    if (n_skipped) *n_skipped = skipped;
    return RLC_OK;
}

int rlc_adv_mode_signed(rlc_adv_mode mode) {
    return mode == RLC_ADV_PSR || mode == RLC_ADV_NSR || mode == RLC_ADV_W_REINFORCE;
}

rlc_status rlc_advantages_signed(const float *rewards, int n_groups, int G, rlc_adv_mode mode,
                                 float threshold, float w_pos, float w_neg, float *adv,
                                 int *n_equal, int *n_pos, int *n_neg) {
    if (n_groups < 0 || G < 1)
        return rlc_errorf(RLC_ERR_INVALID, "advantages: need n_groups >= 0 and G >= 1, got %d, %d",
                          n_groups, G);
    if (!rlc_adv_mode_signed(mode))
        return rlc_errorf(RLC_ERR_INVALID, "advantages: mode %d is not psr, nsr or w_reinforce",
                          (int)mode);
    if (!isfinite(threshold) || !(w_pos >= 0 && isfinite(w_pos)) ||
        !(w_neg >= 0 && isfinite(w_neg)))
        return rlc_errorf(RLC_ERR_INVALID,
                          "advantages: threshold %g, weights %g and %g: expected finite numbers, "
                          "weights >= 0",
                          (double)threshold, (double)w_pos, (double)w_neg);
    size_t n = (size_t)n_groups * (size_t)G;
    RLC_TRY(check_rewards(rewards, n, G));
    float a_pos = mode == RLC_ADV_NSR ? 0.0f : mode == RLC_ADV_PSR ? 1.0f : w_pos;
    float a_neg = mode == RLC_ADV_PSR ? 0.0f : mode == RLC_ADV_NSR ? -1.0f : -w_neg;
    int eq = 0, np = 0;
    for (int g = 0; g < n_groups; g++)
        eq += rlc_rewards_all_equal(rewards + (size_t)g * G, G);
    for (size_t i = 0; i < n; i++) { /* adv may alias rewards: read before write */
        int pos = rewards[i] >= threshold;
        np += pos;
        adv[i] = pos ? a_pos : a_neg;
    }
    if (n_equal) *n_equal = eq;
    if (n_pos) *n_pos = np;
    if (n_neg) *n_neg = (int)n - np;
    return RLC_OK;
}

static rlc_status parse_name(const char *what, const char *const *names, int n, const char *s,
                             int *out) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return RLC_OK;
        }
    char choices[128] = "";
    for (int i = 0; i < n; i++) {
        strncat(choices, i ? ", " : "", sizeof choices - strlen(choices) - 1);
        strncat(choices, names[i], sizeof choices - strlen(choices) - 1);
    }
    return rlc_errorf(RLC_ERR_INVALID, "%s: got '%s', expected one of %s", what, s ? s : "(null)",
                      choices);
}

const char *rlc_adv_mode_name(rlc_adv_mode mode) {
    return (unsigned)mode < (unsigned)N_ADV ? adv_names[mode] : "?";
}

rlc_status rlc_adv_mode_parse(const char *name, rlc_adv_mode *out) {
    int v = 0;
    RLC_TRY(parse_name("advantage mode", adv_names, N_ADV, name, &v));
    *out = (rlc_adv_mode)v;
    return RLC_OK;
}

const char *rlc_scale_mode_name(rlc_scale_mode scale) {
    return (unsigned)scale < (unsigned)N_SCALE ? scale_names[scale] : "?";
}

rlc_status rlc_scale_mode_parse(const char *name, rlc_scale_mode *out) {
    int v = 0;
    RLC_TRY(parse_name("scale_rewards", scale_names, N_SCALE, name, &v));
    *out = (rlc_scale_mode)v;
    return RLC_OK;
}
