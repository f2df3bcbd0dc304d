/* Token-level advantage transforms (rl/transform.h) on hand-computed cases:
 * GTPO's surprisal weights (the clamp at 0, the surprisal cap, a completion
 * of one token, zero surprisal), HICRA's boost for either sign of A, both
 * together, SEPA's pooling at lambda 0, 0.5 and 1 (no planning tokens, only
 * planning tokens), and SEPA's schedule: linear ramp, delay, the sticky gate
 * and the auto schedule's variance EMA. The loss and its gradient through
 * each transform are checked against PyTorch in test_rl_math.c. */
#include "rl/transform.h"

#include <criterion/criterion.h>
#include <math.h>

#define N(a) (int)(sizeof a / sizeof *a)

static rlc_transform_params params(rlc_transform kind, float beta, float alpha) {
    rlc_transform_params p = rlc_transform_default_params();
    p.kind = kind;
    p.gtpo_beta = beta;
    p.hicra_alpha = alpha;
    return p;
}

/* out of the transform == want (float rounding of the double result) */
static void expect_tokens(rlc_transform kind, float beta, float alpha, float A, const float *logp,
                          const unsigned char *plan, int L, double lambda, const double *want) {
    rlc_transform_params p = params(kind, beta, alpha);
    float out[16];
    rlc_transform_tokens(&p, A, logp, plan, L, lambda, out);
    for (int t = 0; t < L; t++)
        cr_expect(fabs((double)out[t] - want[t]) <= 1e-6 * (1 + fabs(want[t])),
                  "%s A=%g lambda=%g: token %d is %.9g, want %.9g", rlc_transform_name(kind),
                  (double)A, lambda, t, (double)out[t], want[t]);
}

Test(transform, none_copies_the_advantage) {
    const float lp[] = {-1, -2, -3};
    const unsigned char plan[] = {1, 1, 0};
    const double want[] = {0.7, 0.7, 0.7};
    expect_tokens(RLC_TRANSFORM_NONE, 0.1f, 0.2f, 0.7f, lp, plan, 3, 1.0, want);
}

Test(transform, gtpo_weights_by_surprisal) {
    /* u = 1, 2, 3, mean 2: w = 1 + 0.1 (u/2 - 1) = 0.95, 1, 1.05 */
    const float lp[] = {-1, -2, -3};
    const double pos[] = {1.9, 2.0, 2.1}, neg[] = {-0.95, -1.0, -1.05};
    expect_tokens(RLC_TRANSFORM_GTPO, 0.1f, 0, 2.0f, lp, NULL, 3, 0, pos);
    expect_tokens(RLC_TRANSFORM_GTPO, 0.1f, 0, -1.0f, lp, NULL, 3, 0, neg);
    /* beta 3: w = 1 + 3 (0.5 - 1) = -0.5 -> 0, 1, 2.5 */
    const double clamp[] = {0.0, 1.0, 2.5};
    expect_tokens(RLC_TRANSFORM_GTPO, 3.0f, 0, 1.0f, lp, NULL, 3, 0, clamp);
    /* surprisal capped at 50: u = 50, 10, mean 30 */
    const float big[] = {-100, -10};
    const double capped[] = {1 + 0.1 * (50.0 / 30 - 1), 1 + 0.1 * (10.0 / 30 - 1)};
    expect_tokens(RLC_TRANSFORM_GTPO, 0.1f, 0, 1.0f, big, NULL, 2, 0, capped);
    /* one token, and no surprisal at all: w = 1 */
    const float one[] = {-3}, sure[] = {0, 0};
    const double a1[] = {-0.5}, a2[] = {0.25, 0.25};
    expect_tokens(RLC_TRANSFORM_GTPO, 0.1f, 0, -0.5f, one, NULL, 1, 0, a1);
    expect_tokens(RLC_TRANSFORM_GTPO, 0.1f, 0, 0.25f, sure, NULL, 2, 0, a2);
    /* A = 0 stays 0 */
    const double zero[] = {0, 0, 0};
    expect_tokens(RLC_TRANSFORM_GTPO, 0.1f, 0, 0.0f, lp, NULL, 3, 0, zero);
}

Test(transform, hicra_boosts_planning_tokens) {
    const float lp[] = {-1, -2, -3, -4};
    const unsigned char plan[] = {0, 1, 1, 0}, none[] = {0, 0, 0, 0};
    const double pos[] = {1, 1.2, 1.2, 1}, neg[] = {-1, -0.8, -0.8, -1}, zero[] = {0, 0, 0, 0};
    const double same[] = {-1, -1, -1, -1};
    expect_tokens(RLC_TRANSFORM_HICRA, 0.1f, 0.2f, 1.0f, lp, plan, 4, 0, pos);
    expect_tokens(RLC_TRANSFORM_HICRA, 0.1f, 0.2f, -1.0f, lp, plan, 4, 0, neg);
    expect_tokens(RLC_TRANSFORM_HICRA, 0.1f, 0.2f, 0.0f, lp, plan, 4, 0, zero);
    /* an empty planning set (or none given) changes nothing */
    expect_tokens(RLC_TRANSFORM_HICRA, 0.1f, 0.2f, -1.0f, lp, none, 4, 0, same);
    expect_tokens(RLC_TRANSFORM_HICRA, 0.1f, 0.2f, -1.0f, lp, NULL, 4, 0, same);
}

Test(transform, gtpo_then_hicra) {
    /* GTPO: -1.9, -2, -2.1; then the planning token: -2.1 + 0.2 * 2.1 */
    const float lp[] = {-1, -2, -3};
    const unsigned char plan[] = {0, 0, 1};
    const double want[] = {-1.9, -2.0, -2.1 + 0.2 * 2.1};
    expect_tokens(RLC_TRANSFORM_GTPO_HICRA, 0.1f, 0.2f, -2.0f, lp, plan, 3, 0, want);
}

Test(transform, sepa_pools_execution_surprisal) {
    /* u = 1, 2, 3, 6; token 1 plans; execution mean (1 + 3 + 6) / 3 */
    const float lp[] = {-1, -2, -3, -6};
    const unsigned char plan[] = {0, 1, 0, 0};
    double m = 10.0 / 3, u[4];
    /* lambda 0: plain GTPO, mean 3 */
    const double l0[] = {1 + 0.1 * (1 / 3.0 - 1), 1 + 0.1 * (2 / 3.0 - 1), 1.0, 1 + 0.1};
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, 1.0f, lp, plan, 4, 0, l0);
    /* lambda 0.5: execution u -> 0.5 m + 0.5 u; the pooled mean is 3 again */
    u[0] = 0.5 * m + 0.5, u[1] = 2, u[2] = 0.5 * m + 1.5, u[3] = 0.5 * m + 3;
    double l5[4];
    for (int t = 0; t < 4; t++)
        l5[t] = 2.0 * (1 + 0.1 * (u[t] / 3 - 1));
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, 2.0f, lp, plan, 4, 0.5, l5);
    /* lambda 1 (and above: clamped): execution tokens all at m; mean 3 */
    const double l1[] = {1 + 0.1 * (m / 3 - 1), 1 + 0.1 * (2 / 3.0 - 1), 1 + 0.1 * (m / 3 - 1),
                         1 + 0.1 * (m / 3 - 1)};
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, 1.0f, lp, plan, 4, 1.0, l1);
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, 1.0f, lp, plan, 4, 7.0, l1);
    /* no planning tokens, lambda 1: every u equal, so every w is 1 */
    const unsigned char none[] = {0, 0, 0, 0}, all[] = {1, 1, 1, 1};
    const double flat[] = {-1, -1, -1, -1};
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, -1.0f, lp, none, 4, 1.0, flat);
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, -1.0f, lp, NULL, 4, 1.0, flat);
    /* only planning tokens: nothing to pool, plain GTPO (and no HICRA boost) */
    expect_tokens(RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0.2f, 1.0f, lp, all, 4, 1.0, l0);
}

Test(sepa, linear_schedule_with_delay) {
    rlc_sepa_params p = rlc_sepa_default_params();
    p.steps = 100, p.delay_steps = 0, p.correct_rate_gate = 0;
    rlc_sepa_state s;
    rlc_sepa_init(&p, &s);
    cr_expect_eq(s.gate_open, 1);
    const int steps[] = {0, 50, 100, 200};
    const double want[] = {0, 0.5, 1, 1};
    for (int i = 0; i < N(steps); i++)
        cr_expect_float_eq(rlc_sepa_lambda(&p, &s, steps[i]), want[i], 1e-12, "step %d", steps[i]);
    p.delay_steps = 50;
    const double delayed[] = {0, 0, 0.5, 1};
    const int at[] = {0, 50, 100, 150};
    for (int i = 0; i < N(at); i++)
        cr_expect_float_eq(rlc_sepa_lambda(&p, &s, at[i]), delayed[i], 1e-12, "step %d", at[i]);
    p.steps = 0; /* no ramp: lambda stays 0 */
    cr_expect_eq(rlc_sepa_lambda(&p, &s, 1000), 0.0);
}

Test(sepa, gate_opens_once_and_stays_open) {
    rlc_sepa_params p = rlc_sepa_default_params();
    p.steps = 100, p.delay_steps = 0, p.correct_rate_gate = 0.5;
    rlc_sepa_state s;
    rlc_sepa_init(&p, &s);
    cr_expect_eq(s.gate_open, 0);
    cr_expect_eq(rlc_sepa_lambda(&p, &s, 50), 0.0);
    rlc_sepa_observe(&p, &s, 0.3);
    rlc_sepa_observe(&p, &s, NAN);
    cr_expect_eq(s.gate_open, 0);
    cr_expect_eq(rlc_sepa_lambda(&p, &s, 50), 0.0);
    rlc_sepa_observe(&p, &s, 0.5);
    cr_expect_eq(s.gate_open, 1);
    cr_expect_float_eq(rlc_sepa_lambda(&p, &s, 50), 0.5, 1e-12);
    rlc_sepa_observe(&p, &s, 0.0);
    cr_expect_eq(s.gate_open, 1);
}

Test(sepa, auto_schedule_follows_the_variance) {
    rlc_sepa_params p = rlc_sepa_default_params();
    p.schedule = RLC_SEPA_AUTO, p.steps = 0, p.delay_steps = 0, p.correct_rate_gate = 0;
    p.ema_decay = 0.5, p.var_threshold = 0.2, p.warmup = 3;
    rlc_sepa_state s;
    rlc_sepa_init(&p, &s);
    rlc_sepa_update(&p, &s, 5.0, 0);  /* no tokens: ignored */
    rlc_sepa_update(&p, &s, NAN, 10); /* not finite: ignored */
    cr_expect_eq(s.have_var_ema, 0);
    rlc_sepa_update(&p, &s, 4.0, 10); /* ema 4 */
    rlc_sepa_update(&p, &s, 2.0, 10); /* 3 */
    cr_expect_eq(s.have_var_0, 0);
    cr_expect_eq(rlc_sepa_lambda(&p, &s, 5), 0.0);
    rlc_sepa_update(&p, &s, 2.0, 10); /* 2.5: the third batch fixes var_0 */
    cr_expect_eq(s.have_var_0, 1);
    cr_expect_float_eq(s.var_0, 2.5, 1e-12);
    cr_expect_eq(rlc_sepa_lambda(&p, &s, 5), 0.0);
    rlc_sepa_update(&p, &s, 0.1, 10); /* 1.3: ratio 0.52 > 0.2 */
    rlc_sepa_update(&p, &s, 0.0, 10); /* 0.65 */
    rlc_sepa_update(&p, &s, 0.0, 10); /* 0.325: ratio 0.13, lambda 1 - 0.65 */
    cr_expect_float_eq(s.var_ema, 0.325, 1e-12);
    cr_expect_float_eq(rlc_sepa_lambda(&p, &s, 5), 0.35, 1e-12);
    /* the linear ramp is a floor */
    p.steps = 10;
    cr_expect_float_eq(rlc_sepa_lambda(&p, &s, 8), 0.8, 1e-12);
    /* a linear schedule keeps no variance */
    rlc_sepa_params lin = rlc_sepa_default_params();
    rlc_sepa_state t;
    rlc_sepa_init(&lin, &t);
    rlc_sepa_update(&lin, &t, 3.0, 10);
    cr_expect_eq(t.have_var_ema, 0);
    cr_expect_eq(t.warmup_seen, 0);
}
