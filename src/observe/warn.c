#include "observe/warn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rlc_warn_params rlc_warn_default_params(void) {
    rlc_warn_params p = {
        .grad_spike = 5.0, .no_correct_steps = 10, .max_token_rate = 0.5, .no_signal_steps = 5};
    return p;
}

void rlc_warn_init(rlc_warn_state *s) {
    memset(s, 0, sizeof *s);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_norm(const rlc_warn_state *s) {
    double v[RLC_WARN_WINDOW];
    memcpy(v, s->norms, sizeof(double) * (size_t)s->n_norms);
    qsort(v, (size_t)s->n_norms, sizeof v[0], cmp_double);
    int n = s->n_norms;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Extends (cond) or ends a streak; 1 when it should be reported now: its
 * first step (or, with at_len, its at_len-th), then every RLC_WARN_REPEAT. */
static int streak(int *run, int cond, int at_len) {
    *run = cond ? *run + 1 : 0;
    if (!cond || *run < at_len) return 0;
    return (*run - at_len) % RLC_WARN_REPEAT == 0;
}

int rlc_warn_check(rlc_warn_state *s, const rlc_warn_params *p, const rlc_metric_record *r,
                   char (*out)[RLC_WARN_LINE], int cap) {
    int n = 0;
    const double *v = r->v;
    long step = (long)v[RLC_M_STEP];
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        if (n < cap) snprintf(out[n++], RLC_WARN_LINE, __VA_ARGS__);                               \
    } while (0)

    double sk = v[RLC_M_SKIPPED_STEPS];
    int skipped = !isnan(sk) && sk > 0;
    if (streak(&s->skip_run, skipped, 1))
        EMIT("step %ld: loss %g, grad_norm %g: not finite, the update was skipped (weights and "
             "optimizer state unchanged; %d such step%s in a row)",
             step, v[RLC_M_LOSS], v[RLC_M_GRAD_NORM], s->skip_run, s->skip_run > 1 ? "s" : "");
    if (streak(&s->nan_run, !skipped && !isfinite(v[RLC_M_LOSS]), 1))
        EMIT("step %ld: loss is %s%s", step, isnan(v[RLC_M_LOSS]) ? "nan" : "infinite",
             s->nan_run > 1 ? " (again)" : "");

    double gn = v[RLC_M_GRAD_NORM];
    if (p->grad_spike > 0 && isfinite(gn)) {
        if (s->n_norms >= 5) {
            double med = median_norm(s);
            if (med > 0 && gn > p->grad_spike * med)
                EMIT("step %ld: gradient norm spike %.3g (%.1fx the median %.3g of the last %d "
                     "steps)",
                     step, gn, gn / med, med, s->n_norms);
        }
        s->norms[s->next_norm] = gn;
        s->next_norm = (s->next_norm + 1) % RLC_WARN_WINDOW;
        if (s->n_norms < RLC_WARN_WINDOW) s->n_norms++;
    }

    /* psr / nsr / w_reinforce learn from groups of equal rewards too */
    double pos = !isnan(v[RLC_M_PSR_POSITIVE]) ? v[RLC_M_PSR_POSITIVE] : v[RLC_M_WR_POSITIVE];
    double neg = !isnan(v[RLC_M_NSR_NEGATIVE]) ? v[RLC_M_NSR_NEGATIVE] : v[RLC_M_WR_NEGATIVE];
    int signed_adv = !isnan(pos) || !isnan(neg);
    double zg = v[RLC_M_ZERO_STD_GROUPS], groups = v[RLC_M_BATCH_SIZE];
    if (streak(&s->zero_std_run,
               !signed_adv && !isnan(zg) && !isnan(groups) && groups > 0 && zg >= groups, 1))
        EMIT("step %ld: all %.0f prompt groups have equal rewards: no learning signal (%d "
             "step%s in a row)",
             step, groups, s->zero_std_run, s->zero_std_run > 1 ? "s" : "");

    double cc = v[RLC_M_CORRECT_COUNT];
    if (p->no_correct_steps > 0 &&
        streak(&s->no_correct_run, !isnan(cc) && cc == 0, p->no_correct_steps))
        EMIT("step %ld: no correct completion for %d steps", step, s->no_correct_run);

    double hit = v[RLC_M_MAX_TOKEN_HIT_RATE];
    if (p->max_token_rate > 0 &&
        streak(&s->max_token_run, !isnan(hit) && hit >= p->max_token_rate, 1))
        EMIT("step %ld: %.3g%% of completions hit max_new_tokens%s", step, 100 * hit,
             s->max_token_run > 1 ? " (still)" : "");
    /* psr learns from positives only, nsr from negatives only; w_reinforce
     * from both (the seed's advice: more samples per prompt, another threshold) */
    if (p->no_signal_steps > 0 && streak(&s->no_pos_run, pos == 0, p->no_signal_steps))
        EMIT("step %ld: no positive samples for %d steps (no reward reached "
             "algorithm.reward_threshold): raise algorithm.group_size or lower the threshold",
             step, s->no_pos_run);
    if (p->no_signal_steps > 0 && streak(&s->no_neg_run, neg == 0, p->no_signal_steps))
        EMIT("step %ld: no negative samples for %d steps (every reward reached "
             "algorithm.reward_threshold): raise algorithm.group_size or the threshold",
             step, s->no_neg_run);
    double xf = v[RLC_M_EXT_FAILED], xt = v[RLC_M_EXT_TIMEOUTS], xc = v[RLC_M_EXT_CRASHES];
    double xm = v[RLC_M_EXT_MALFORMED], xu = v[RLC_M_EXT_UNKNOWN_ID], xn = v[RLC_M_EXT_NONFINITE];
    if (streak(&s->ext_run, xf > 0 || xt > 0 || xc > 0 || xm > 0 || xu > 0 || xn > 0, 1))
        EMIT("step %ld: external verifiers: %.0f completion(s) unscored (given "
             "rewards.external_on_error), %.0f timeout(s), %.0f crash(es), %.0f malformed "
             "line(s), %.0f unknown id(s), %.0f non-finite reward(s)%s",
             step, xf, xt, xc, xm, xu, xn, s->ext_run > 1 ? " (trouble still)" : "");
#undef EMIT
    return n;
}
