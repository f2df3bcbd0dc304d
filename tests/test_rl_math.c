/* Advantages and the GRPO loss: every advantage mode and scale against values
 * worked out by hand (all-equal and single-sample groups included), the loss
 * and its gradient by hand on tiny grids, against PyTorch autograd in float64
 * on a fixed random batch (each aggregation, with and without KL, clipping
 * active on both sides; 1e-5), and micro-batches with an explicit normalizer
 * adding up to the full batch. */
#include "helpers.h"

#include "rl/advantage.h"
#include "rl/loss.h"
#include "rl/transform.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_vals(const float *got, const double *want, int n, double tol, const char *what) {
    for (int i = 0; i < n; i++)
        cr_expect(fabs((double)got[i] - want[i]) <= tol, "%s[%d]: got %.9g want %.9g", what, i,
                  (double)got[i], want[i]);
}

/* ---- advantages ---------------------------------------------------------- */

Test(rl_adv, grpo_group_std_is_unbiased) {
    /* Group 0: mean 0.5, unbiased std sqrt(1/3). Group 1: 2,4,6,8: mean 5,
     * std sqrt(20/3). Group 2: all equal, skipped. */
    const float r[12] = {1, 0, 0, 1, 2, 4, 6, 8, 0.5f, 0.5f, 0.5f, 0.5f};
    float a[12];
    unsigned char sk[3];
    int ns = -1;
    cr_assert_eq(rlc_advantages(r, 3, 4, RLC_ADV_GRPO, RLC_SCALE_GROUP, a, sk, &ns), RLC_OK);
    const double s0 = sqrt(1.0 / 3) + 1e-4, s1 = sqrt(20.0 / 3) + 1e-4;
    const double want[12] = {0.5 / s0, -0.5 / s0, -0.5 / s0, 0.5 / s0, -3 / s1, -1 / s1,
                             1 / s1,   3 / s1,    0,         0,        0,       0};
    expect_vals(a, want, 12, 1e-6, "A");
    cr_expect_eq(ns, 1);
    cr_expect(sk[0] == 0 && sk[1] == 0 && sk[2] == 1);
}

Test(rl_adv, grpo_batch_std_over_all_rewards) {
    /* Rewards {1,0 | 3,3}: batch mean 1.75, squared deviations sum 6.75,
     * unbiased std sqrt(6.75/3) = 1.5. The all-equal group is still skipped
     * but its rewards count in the batch std. */
    const float r[4] = {1, 0, 3, 3};
    float a[4];
    unsigned char sk[2];
    int ns;
    cr_assert_eq(rlc_advantages(r, 2, 2, RLC_ADV_GRPO, RLC_SCALE_BATCH, a, sk, &ns), RLC_OK);
    const double want[4] = {0.5 / 1.5001, -0.5 / 1.5001, 0, 0};
    expect_vals(a, want, 4, 1e-6, "A");
    cr_expect_eq(ns, 1);
    cr_expect(sk[0] == 0 && sk[1] == 1);
}

Test(rl_adv, grpo_scale_none_and_dr_grpo_subtract_the_mean) {
    const float r[6] = {1, 0, 0, 3, 5, 10};
    const double want[6] = {2.0 / 3, -1.0 / 3, -1.0 / 3, -3, -1, 4};
    float a[6];
    int ns;
    cr_assert_eq(rlc_advantages(r, 2, 3, RLC_ADV_GRPO, RLC_SCALE_NONE, a, NULL, &ns), RLC_OK);
    expect_vals(a, want, 6, 1e-6, "grpo/none");
    cr_expect_eq(ns, 0);
    /* dr_grpo ignores the scale: never divided. */
    for (int sc = RLC_SCALE_GROUP; sc <= RLC_SCALE_NONE; sc++) {
        cr_assert_eq(rlc_advantages(r, 2, 3, RLC_ADV_DR_GRPO, (rlc_scale_mode)sc, a, NULL, &ns),
                     RLC_OK);
        expect_vals(a, want, 6, 1e-6, "dr_grpo");
    }
}

Test(rl_adv, maxrl_divides_by_the_mean_and_zeroes_mean_near_zero) {
    /* g0: mean 0.25 -> (r - .25)/.250001. g1: all zero (equal). g2: mean
     * 7.5e-7 < 1e-6 but not all equal (spread 3e-6 > 1e-6). g3: negative
     * mean -0.25. g4: mean 0.75. */
    const float r[20] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3e-6f, -1, 0.5f, 0, -0.5f, 1, 1, 1, 0};
    float a[20];
    unsigned char sk[5];
    int ns;
    cr_assert_eq(rlc_advantages(r, 5, 4, RLC_ADV_MAXRL, RLC_SCALE_GROUP, a, sk, &ns), RLC_OK);
    const double d0 = 0.25 + 1e-6, d4 = 0.75 + 1e-6;
    const double want[20] = {0.75 / d0, -0.25 / d0, -0.25 / d0, -0.25 / d0, 0,         0,         0,
                             0,         0,          0,          0,          0,         0,         0,
                             0,         0,          0.25 / d4,  0.25 / d4,  0.25 / d4, -0.75 / d4};
    expect_vals(a, want, 20, 1e-6, "A");
    cr_expect_eq(ns, 3);
    cr_expect(!sk[0] && sk[1] && sk[2] && sk[3] && !sk[4]);
}

/* RLOO by hand: each reward minus the mean of the other rewards of its group.
 * g0 (G=3): 1 - (0+0.5)/2 = 0.75, 0 - 1.5/2 = -0.75, 0.5 - 1/2 = 0.
 * g1: all equal, skipped. g2: 2 - (-1+0)/2 = 2.5, -1 - 1 = -2, 0 - 0.5 = -0.5.
 * G=2: A = r_i - r_j, i.e. +-(r0 - r1). The scale is ignored. */
Test(rl_adv, rloo_leaves_one_out) {
    const float r[9] = {1, 0, 0.5f, 0.3f, 0.3f, 0.3f, 2, -1, 0};
    const double want[9] = {0.75, -0.75, 0, 0, 0, 0, 2.5, -2, -0.5};
    for (int sc = RLC_SCALE_GROUP; sc <= RLC_SCALE_NONE; sc++) {
        float a[9];
        unsigned char sk[3];
        int ns;
        cr_assert_eq(rlc_advantages(r, 3, 3, RLC_ADV_RLOO, (rlc_scale_mode)sc, a, sk, &ns), RLC_OK);
        expect_vals(a, want, 9, 1e-6, "rloo G=3");
        cr_expect_eq(ns, 1);
        cr_expect(!sk[0] && sk[1] && !sk[2]);
    }
    const float r2[4] = {1, 0, 0.25f, 0.75f};
    const double want2[4] = {1, -1, -0.5, 0.5};
    float a2[4];
    cr_assert_eq(rlc_advantages(r2, 2, 2, RLC_ADV_RLOO, RLC_SCALE_GROUP, a2, NULL, NULL), RLC_OK);
    expect_vals(a2, want2, 4, 1e-6, "rloo G=2");
}

/* REINFORCE++ (group-mean baseline) by hand. G = 3: g0 = {1, 0, 0.5} ->
 * r - mean = {0.5, -0.5, 0} with lengths {2, 1, 3}; g1 all equal (skipped).
 * Tokens with A != 0: 2 x 0.5 and 1 x -0.5 -> mu = 0.5 / 3, var = (2 (0.5 -
 * mu)^2 + (0.5 + mu)^2) / 3; the sample with A = 0 stays 0. G = 2: a sample
 * with no tokens is out of the statistics and gets 0. G = 1: all 0. */
Test(rl_adv, reinforce_pp_whitens_over_tokens) {
    const int lens[8] = {2, 1, 3, 4, 4, 4, 1, 0};
    float a[8];
    unsigned char sk[4];
    int ns;
    const float r6[6] = {1, 0, 0.5f, 0.3f, 0.3f, 0.3f};
    cr_assert_eq(rlc_advantages_reinforce_pp(r6, lens, 2, 3, a, sk, &ns), RLC_OK, "%s",
                 rlc_last_error());
    double mu6 = (1 - 0.5) / 3,
           var6 = (2 * (0.5 - mu6) * (0.5 - mu6) + (0.5 + mu6) * (0.5 + mu6)) / 3;
    const double want6[6] = {
        (0.5 - mu6) / sqrt(var6 + 1e-8), (-0.5 - mu6) / sqrt(var6 + 1e-8), 0, 0, 0, 0};
    expect_vals(a, want6, 6, 1e-6, "reinforce_pp G=3");
    cr_expect_eq(ns, 1);
    cr_expect(!sk[0] && sk[1]);
    /* groups of 2: {1, 0} {0.5, 0.3} {0.3, 0.3} {2, 0} with lens as above */
    const float r2[8] = {1, 0, 0.5f, 0.3f, 0.3f, 0.3f, 2, 0};
    cr_assert_eq(rlc_advantages_reinforce_pp(r2, lens, 4, 2, a, sk, &ns), RLC_OK);
    /* r - mean: {0.5, -0.5}, {0.1, -0.1}, skipped, {1, -1}; lens {2,1},{3,4},-,{1,0} */
    double T = 2 + 1 + 3 + 4 + 1, m2 = (2 * 0.5 - 0.5 + 3 * 0.1 - 4 * 0.1 + 1) / T;
    double v2 = (2 * pow(0.5 - m2, 2) + pow(-0.5 - m2, 2) + 3 * pow(0.1 - m2, 2) +
                 4 * pow(-0.1 - m2, 2) + pow(1 - m2, 2)) /
                T;
    double s2 = sqrt(v2 + 1e-8);
    const double want2[8] = {(0.5 - m2) / s2,
                             (-0.5 - m2) / s2,
                             (0.1 - m2) / s2,
                             (-0.1 - m2) / s2,
                             0,
                             0,
                             (1 - m2) / s2,
                             0};
    expect_vals(a, want2, 8, 1e-5, "reinforce_pp G=2");
    cr_expect_eq(ns, 1);
    /* G = 1: every group equal, all 0; a negative length is refused */
    cr_assert_eq(rlc_advantages_reinforce_pp(r2, lens, 8, 1, a, NULL, &ns), RLC_OK);
    for (int i = 0; i < 8; i++)
        cr_expect_eq(a[i], 0.0f);
    cr_expect_eq(ns, 8);
    const int bad[2] = {1, -1};
    cr_expect_eq(rlc_advantages_reinforce_pp(r2, bad, 1, 2, a, NULL, NULL), RLC_ERR_INVALID);
    cr_expect_eq(rlc_advantages(r2, 4, 2, RLC_ADV_REINFORCE_PP, RLC_SCALE_GROUP, a, NULL, NULL),
                 RLC_ERR_INVALID);
}

/* Signed advantages by hand, threshold 0.5 (equal counts as positive):
 * an all-positive group, an all-negative group, a mixed one; G = 1 works;
 * nothing is skipped; the equal-groups count, and aliasing. */
Test(rl_adv, psr_nsr_w_reinforce_by_hand) {
    const float r[9] = {1, 1, 0.5f, 0, 0.2f, 0.49f, 0.7f, 0, 1};
    const double psr[9] = {1, 1, 1, 0, 0, 0, 1, 0, 1};
    const double nsr[9] = {0, 0, 0, -1, -1, -1, 0, -1, 0};
    const double wr[9] = {0.25, 0.25, 0.25, -2, -2, -2, 0.25, -2, 0.25};
    const double *want[3] = {psr, nsr, wr};
    const rlc_adv_mode modes[3] = {RLC_ADV_PSR, RLC_ADV_NSR, RLC_ADV_W_REINFORCE};
    for (int k = 0; k < 3; k++) {
        float a[9];
        int ne = -1, np = -1, nn = -1;
        cr_assert_eq(rlc_advantages_signed(r, 3, 3, modes[k], 0.5f, 0.25f, 2.0f, a, &ne, &np, &nn),
                     RLC_OK, "%s", rlc_last_error());
        expect_vals(a, want[k], 9, 0, rlc_adv_mode_name(modes[k]));
        cr_expect_eq(ne, 0);
        cr_expect(np == 5 && nn == 4, "pos %d neg %d", np, nn);
    }
    const float same[4] = {0, 0, 1, 1};
    float a[4];
    int ne;
    memcpy(a, same, sizeof a);
    cr_assert_eq(rlc_advantages_signed(a, 2, 2, RLC_ADV_NSR, 0.5f, 0.1f, 1.0f, a, &ne, NULL, NULL),
                 RLC_OK); /* in place */
    const double nsame[4] = {-1, -1, 0, 0};
    expect_vals(a, nsame, 4, 0, "nsr all-equal groups");
    cr_expect_eq(ne, 2);
    cr_assert_eq(
        rlc_advantages_signed(same, 4, 1, RLC_ADV_PSR, 0.5f, 0.1f, 1.0f, a, &ne, NULL, NULL),
        RLC_OK); /* G = 1 */
    const double psame[4] = {0, 0, 1, 1};
    expect_vals(a, psame, 4, 0, "psr G=1");
    cr_expect_eq(ne, 4);
    /* the other functions refuse the other modes */
    cr_expect_eq(rlc_advantages(same, 2, 2, RLC_ADV_PSR, RLC_SCALE_GROUP, a, NULL, NULL),
                 RLC_ERR_INVALID);
    cr_expect_eq(
        rlc_advantages_signed(same, 2, 2, RLC_ADV_GRPO, 0.5f, 0.1f, 1.0f, a, NULL, NULL, NULL),
        RLC_ERR_INVALID);
    cr_expect_eq(
        rlc_advantages_signed(same, 2, 2, RLC_ADV_NSR, 0.5f, -0.1f, 1.0f, a, NULL, NULL, NULL),
        RLC_ERR_INVALID);
}

Test(rl_adv, single_sample_groups_are_all_skipped) {
    const float r[3] = {1, 0, 0.7f};
    for (int m = RLC_ADV_GRPO; m <= RLC_ADV_RLOO; m++)
        for (int sc = RLC_SCALE_GROUP; sc <= RLC_SCALE_NONE; sc++) {
            float a[3] = {9, 9, 9};
            unsigned char sk[3] = {0, 0, 0};
            int ns = -1;
            cr_assert_eq(rlc_advantages(r, 3, 1, (rlc_adv_mode)m, (rlc_scale_mode)sc, a, sk, &ns),
                         RLC_OK);
            cr_expect_eq(ns, 3, "mode %d scale %d", m, sc);
            for (int i = 0; i < 3; i++)
                cr_expect(a[i] == 0.0f && sk[i] == 1, "mode %d scale %d [%d]", m, sc, i);
        }
}

Test(rl_adv, equality_tolerance_scales_with_magnitude) {
    /* 100 vs 100.00005: spread 5e-5 <= 1e-6 * 100 -> equal. 0 vs 2e-6:
     * spread 2e-6 > 1e-6 * 1 -> not equal. */
    const float r[4] = {100.0f, 100.00005f, 0.0f, 2e-6f};
    float a[4];
    unsigned char sk[2];
    int ns;
    cr_assert_eq(rlc_advantages(r, 2, 2, RLC_ADV_DR_GRPO, RLC_SCALE_GROUP, a, sk, &ns), RLC_OK);
    cr_expect(sk[0] == 1 && sk[1] == 0 && ns == 1);
    cr_expect(a[0] == 0 && a[1] == 0);
    cr_expect(fabsf(a[2] + 1e-6f) < 1e-9f && fabsf(a[3] - 1e-6f) < 1e-9f);
}

Test(rl_adv, output_may_alias_rewards) {
    float r[4] = {1, 0, 3, 3};
    cr_assert_eq(rlc_advantages(r, 2, 2, RLC_ADV_GRPO, RLC_SCALE_BATCH, r, NULL, NULL), RLC_OK);
    const double want[4] = {0.5 / 1.5001, -0.5 / 1.5001, 0, 0};
    expect_vals(r, want, 4, 1e-6, "A");
}

Test(rl_adv, bad_input_is_an_error_and_writes_nothing) {
    const float r[4] = {1, NAN, 0, 1};
    float a[4] = {7, 7, 7, 7};
    cr_expect_eq(rlc_advantages(r, 2, 2, RLC_ADV_GRPO, RLC_SCALE_GROUP, a, NULL, NULL),
                 RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "reward 1 (group 0, sample 1)"), "%s", rlc_last_error());
    cr_expect(a[0] == 7 && a[3] == 7);
    cr_expect_eq(rlc_advantages(r, 2, 0, RLC_ADV_GRPO, RLC_SCALE_GROUP, a, NULL, NULL),
                 RLC_ERR_INVALID);
    cr_expect_eq(rlc_advantages(r, 1, 1, (rlc_adv_mode)7, RLC_SCALE_GROUP, a, NULL, NULL),
                 RLC_ERR_INVALID);
    int ns = -1;
    cr_expect_eq(rlc_advantages(NULL, 0, 4, RLC_ADV_GRPO, RLC_SCALE_BATCH, NULL, NULL, &ns),
                 RLC_OK);
    cr_expect_eq(ns, 0);
}

Test(rl_adv, names_round_trip) {
    for (int m = RLC_ADV_GRPO; m <= RLC_ADV_W_REINFORCE; m++) {
        rlc_adv_mode got;
        cr_expect_eq(rlc_adv_mode_parse(rlc_adv_mode_name((rlc_adv_mode)m), &got), RLC_OK);
        cr_expect_eq((int)got, m);
    }
    for (int s = RLC_SCALE_GROUP; s <= RLC_SCALE_NONE; s++) {
        rlc_scale_mode got;
        cr_expect_eq(rlc_scale_mode_parse(rlc_scale_mode_name((rlc_scale_mode)s), &got), RLC_OK);
        cr_expect_eq((int)got, s);
    }
    for (int g = RLC_LOSS_TOKEN_MEAN; g <= RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM; g++) {
        rlc_loss_agg got;
        cr_expect_eq(rlc_loss_agg_parse(rlc_loss_agg_name((rlc_loss_agg)g), &got), RLC_OK);
        cr_expect_eq((int)got, g);
    }
    cr_expect_str_eq(rlc_adv_mode_name(RLC_ADV_DR_GRPO), "dr_grpo");
    cr_expect_str_eq(rlc_loss_agg_name(RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM),
                     "seq_mean_token_sum_norm");
    rlc_adv_mode m;
    cr_expect_eq(rlc_adv_mode_parse("rloo2", &m), RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "'rloo2', expected one of grpo, dr_grpo, maxrl"), "%s",
              rlc_last_error());
    rlc_scale_mode s;
    cr_expect_eq(rlc_scale_mode_parse("Group", &s), RLC_ERR_INVALID);
    rlc_loss_agg g;
    cr_expect_eq(rlc_loss_agg_parse(NULL, &g), RLC_ERR_INVALID);
    cr_expect_str_eq(rlc_scale_mode_name((rlc_scale_mode)9), "?");
}

/* ---- loss by hand -------------------------------------------------------- */

/* S = 2, Tc = 3, epsilon 0.2, epsilon_high 0.28, no KL.
 * seq 0, A = +1:  ratio 1   -> l = -1,    dl = -1
 *                 ratio 1.5 -> clipped at 1.28 (high): l = -1.28, dl = 0
 *                 (padding)
 * seq 1, A = -2:  ratio 0.5 -> clipped at 0.8 (low): l = 1.6, dl = 0
 *                 ratio 1.5 -> unclipped is the min: l = 3, dl = 3
 *                 ratio 0.9 -> inside: l = 1.8, dl = 1.8
 * Padding logp is NaN: it must never be read. */
typedef struct hand_case {
    float logp[6], old[6], mask[6], adv[2];
} hand_case;

static hand_case hand(void) {
    hand_case h = {
        .old = {-1, -2, -3, -0.5f, -1.5f, -2.5f}, .mask = {1, 1, 0, 1, 1, 1}, .adv = {1, -2}};
    const float lr[6] = {0, logf(1.5f), 0, logf(0.5f), logf(1.5f), logf(0.9f)};
    for (int i = 0; i < 6; i++)
        h.logp[i] = h.old[i] + lr[i];
    h.logp[2] = NAN;
    h.old[2] = NAN;
    return h;
}

static void run_hand(rlc_loss_agg agg, double want_loss, const double *want_d) {
    hand_case h = hand();
    rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
    p.epsilon_high = 0.28f;
    p.agg = agg;
    p.max_tokens = 4;
    float loss, d[6];
    rlc_grpo_stats st;
    cr_assert_eq(rlc_grpo_loss(&p, h.logp, h.old, NULL, h.adv, h.mask, 2, 3, &loss, d, &st), RLC_OK,
                 "%s", rlc_last_error());
    cr_expect(fabs(loss - want_loss) < 2e-6, "%s loss %.9g want %.9g", rlc_loss_agg_name(agg),
              (double)loss, want_loss);
    expect_vals(d, want_d, 6, 2e-6, rlc_loss_agg_name(agg));
    cr_expect_eq(st.n_tokens, 5);
    cr_expect_eq(st.n_seqs, 2);
    cr_expect(fabsf(st.clip_low - 0.2f) < 1e-7f && fabsf(st.clip_high - 0.2f) < 1e-7f);
    cr_expect(fabsf(st.clip_ratio - 0.4f) < 1e-7f);
    cr_expect(fabsf(st.ratio_mean - 1.08f) < 1e-6f, "ratio mean %g", (double)st.ratio_mean);
    cr_expect(st.kl_mean == 0);
}

Test(rl_loss, token_mean_by_hand) {
    const double d[6] = {-1.0 / 5, 0, 0, 0, 3.0 / 5, 1.8 / 5};
    run_hand(RLC_LOSS_TOKEN_MEAN, (-1 - 1.28 + 1.6 + 3 + 1.8) / 5, d);
}

Test(rl_loss, seq_mean_token_mean_by_hand) {
    /* Sequence means -2.28/2 and 6.4/3; each token weighs 1/(n_s * 2). */
    const double d[6] = {-1.0 / 4, 0, 0, 0, 3.0 / 6, 1.8 / 6};
    run_hand(RLC_LOSS_SEQ_MEAN_TOKEN_MEAN, (-2.28 / 2 + 6.4 / 3) / 2, d);
}

Test(rl_loss, seq_mean_token_sum_norm_by_hand) {
    /* max_tokens 4: sequence sums / 4, then the mean over 2 sequences. */
    const double d[6] = {-1.0 / 8, 0, 0, 0, 3.0 / 8, 1.8 / 8};
    run_hand(RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM, (-2.28 / 4 + 6.4 / 4) / 2, d);
}

Test(rl_loss, k3_kl_by_hand) {
    /* ratio 1, A = 0, ref - logp = 0.5, beta 0.1:
     * kl = e^0.5 - 0.5 - 1, dkl/dlogp = 1 - e^0.5. Token 2: ref == logp, kl 0. */
    const float logp[2] = {-1.0f, -2.0f}, ref[2] = {-0.5f, -2.0f}, mask[2] = {1, 1}, adv[1] = {0};
    rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
    p.beta = 0.1f;
    float loss, d[2];
    rlc_grpo_stats st;
    cr_assert_eq(rlc_grpo_loss(&p, logp, logp, ref, adv, mask, 1, 2, &loss, d, &st), RLC_OK);
    const double kl = exp(0.5) - 1.5;
    cr_expect(fabs(loss - 0.1 * kl / 2) < 1e-7, "loss %.9g", (double)loss);
    const double want[2] = {0.1 * (1 - exp(0.5)) / 2, 0};
    expect_vals(d, want, 2, 1e-7, "dlogp");
    cr_expect(fabs(st.kl_mean - kl / 2) < 1e-7);
    cr_expect(st.ratio_mean == 1.0f && st.clip_ratio == 0);
}

Test(rl_loss, tie_at_the_clip_bound_takes_the_unclipped_gradient) {
    /* epsilon = epsilon_high = 0 and logp == old: ratio 1 sits on both bounds,
     * both branches are equal. torch.min splits the gradient in halves and
     * clamp passes it at its bounds, so d loss / d logp = -ratio * A = -2. */
    const float lp[1] = {-0.3f}, mask[1] = {1}, adv[1] = {2};
    rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
    p.epsilon = p.epsilon_high = 0;
    float loss, d[1];
    rlc_grpo_stats st;
    cr_assert_eq(rlc_grpo_loss(&p, lp, lp, NULL, adv, mask, 1, 1, &loss, d, &st), RLC_OK);
    cr_expect(loss == -2.0f && d[0] == -2.0f, "loss %g d %g", (double)loss, (double)d[0]);
    cr_expect(st.clip_ratio == 0);
}

Test(rl_loss, no_tokens_gives_zero) {
    const float lp[4] = {NAN, NAN, NAN, NAN}, mask[4] = {0, 0, 0, 0}, adv[2] = {1, -1};
    for (int g = RLC_LOSS_TOKEN_MEAN; g <= RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM; g++) {
        rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
        p.agg = (rlc_loss_agg)g;
        p.max_tokens = 2;
        p.beta = 0.04f;
        float loss = 5, d[4] = {5, 5, 5, 5};
        rlc_grpo_stats st;
        cr_assert_eq(rlc_grpo_loss(&p, lp, lp, lp, adv, mask, 2, 2, &loss, d, &st), RLC_OK);
        cr_expect(loss == 0 && d[0] == 0 && d[3] == 0 && st.n_tokens == 0 && st.kl_mean == 0);
    }
}

Test(rl_loss, bad_parameters_are_errors) {
    const float lp[2] = {0, 0}, adv[1] = {1};
    float mask[2] = {1, 0.5f}, loss;
    rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
    cr_expect_eq(rlc_grpo_loss(&p, lp, lp, NULL, adv, mask, 1, 2, &loss, NULL, NULL),
                 RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "mask[0][1] = 0.5"), "%s", rlc_last_error());
    mask[1] = 1;
    p.beta = 0.04f;
    cr_expect_eq(rlc_grpo_loss(&p, lp, lp, NULL, adv, mask, 1, 2, &loss, NULL, NULL),
                 RLC_ERR_INVALID);
    p = rlc_grpo_loss_default_params();
    p.agg = RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM;
    cr_expect_eq(rlc_grpo_loss(&p, lp, lp, NULL, adv, mask, 1, 2, &loss, NULL, NULL),
                 RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "max_tokens"), "%s", rlc_last_error());
    p = rlc_grpo_loss_default_params();
    p.epsilon = -0.1f;
    cr_expect_eq(rlc_grpo_loss(&p, lp, lp, NULL, adv, mask, 1, 2, &loss, NULL, NULL),
                 RLC_ERR_INVALID);
    p = rlc_grpo_loss_default_params();
    p.normalizer = -1;
    cr_expect_eq(rlc_grpo_loss(&p, lp, lp, NULL, adv, mask, 1, 2, &loss, NULL, NULL),
                 RLC_ERR_INVALID);
}

/* ---- fixed random batch: PyTorch parity and micro-batches ----------------- */

enum { BS = 6, BT = 9, BMAX = 12 };
#define EPS_LO 0.2f
#define EPS_HI 0.28f
#define BETA 0.04f

typedef struct batch {
    float logp[BS * BT], old[BS * BT], ref[BS * BT], mask[BS * BT], adv[BS];
} batch;

static double lcg_uniform(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Ragged lengths (one sequence empty), log-ratios in [-0.7, 0.7] so ratios
 * fall on both sides of [0.8, 1.28], advantages of both signs and one zero. */
static batch make_batch(void) {
    batch b;
    static const int len[BS] = {9, 4, 7, 0, 1, 6};
    static const float adv[BS] = {1.3f, -0.8f, 0.45f, 0.9f, -1.6f, 0.0f};
    unsigned long long s = 42;
    for (int i = 0; i < BS * BT; i++) {
        b.old[i] = (float)(-0.2 - 3.0 * lcg_uniform(&s));
        b.logp[i] = b.old[i] + (float)(1.4 * lcg_uniform(&s) - 0.7);
        b.ref[i] = b.logp[i] + (float)(0.8 * lcg_uniform(&s) - 0.4);
        b.mask[i] = (i % BT) < len[i / BT] ? 1.0f : 0.0f;
    }
    memcpy(b.adv, adv, sizeof adv);
    return b;
}

static rlc_grpo_loss_params batch_params(int agg, int kl) {
    rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
    p.epsilon = EPS_LO;
    p.epsilon_high = EPS_HI;
    p.beta = kl ? BETA : 0.0f;
    p.agg = (rlc_loss_agg)agg;
    p.max_tokens = BMAX;
    return p;
}

/* The head of the PyTorch scripts: reads what torch_batch writes, the
 * header's third int as K3, the last array [S] as LAST. */
#define TORCH_READ_BATCH(K3, LAST)                                                                 \
    "import sys, struct, numpy as np, torch\n"                                                     \
    "torch.set_num_threads(1)\n"                                                                   \
    "raw = open(sys.argv[1], 'rb').read()\n"                                                       \
    "S, T, " K3 " = struct.unpack_from('<3i', raw, 0)\n"                                           \
    "eps, eps_hi, beta = struct.unpack_from('<3f', raw, 12)\n"                                     \
    "off = 24\n"                                                                                   \
    "def take(n):\n"                                                                               \
    "    global off\n"                                                                             \
    "    a = np.frombuffer(raw, '<f4', n, off).astype(np.float64); off += 4 * n; return a\n"       \
    "logp = take(S * T).reshape(S, T); old = take(S * T).reshape(S, T)\n"                          \
    "ref = take(S * T).reshape(S, T); mask = take(S * T).reshape(S, T); " LAST " = take(S)\n"

/* Reads the batch, evaluates the formula of rl/loss.h with autograd in
 * float64 for 3 aggregations x {no KL, KL}, writes per case: loss, dlogp.
 * SEQ = 1 (set before this body): GSPO as verl's gspo policy loss writes it,
 * log s = logp - sg(logp) + sg(mean_t(logp - old)) clamped at 10 (no
 * gradient through the clamp, as torch.clamp); it asserts that some
 * sequence is clipped. */
#define TORCH_GRPO_BODY                                                                            \
    TORCH_READ_BATCH("maxtok", "adv")                                                              \
    "old = torch.tensor(old); ref = torch.tensor(ref); m = torch.tensor(mask)\n"                   \
    "A = torch.tensor(adv)[:, None]\n"                                                             \
    "out = []\n"                                                                                   \
    "for agg in range(3):\n"                                                                       \
    "    for kl in (0, 1):\n"                                                                      \
    "        lp = torch.tensor(logp, requires_grad=True)\n"                                        \
    "        ntok = m.sum(1); has = ntok > 0\n"                                                    \
    "        if SEQ:\n"                                                                            \
    "            seq = ((lp - old) * m).sum(1) / ntok.clamp(min=1)\n"                              \
    "            logr = lp - lp.detach() + seq.detach()[:, None]\n"                                \
    "            ratio = torch.exp(torch.clamp(logr, max=10.0))\n"                                 \
    "        else:\n"                                                                              \
    "            ratio = torch.exp(lp - old)\n"                                                    \
    "        clipped = torch.clamp(ratio, 1 - float(eps), 1 + float(eps_hi))\n"                    \
    "        per = -torch.min(ratio * A, clipped * A)\n"                                           \
    "        if SEQ and agg == 0 and kl == 0:\n"                                                   \
    "            assert ((clipped * A < ratio * A) & (m > 0)).any(), 'no clipped sequence'\n"      \
    "        if kl:\n"                                                                             \
    "            d = ref - lp\n"                                                                   \
    "            per = per + float(beta) * (torch.exp(d) - d - 1)\n"                               \
    "        per = torch.where(m > 0, per, torch.zeros_like(per))\n"                               \
    "        if agg == 0:\n"                                                                       \
    "            loss = per.sum() / m.sum()\n"                                                     \
    "        elif agg == 1:\n"                                                                     \
    "            loss = (per.sum(1)[has] / ntok[has]).mean()\n"                                    \
    "        else:\n"                                                                              \
    "            loss = (per.sum(1)[has] / maxtok).mean()\n"                                       \
    "        loss.backward()\n"                                                                    \
    "        out.append(np.concatenate([[loss.item()], lp.grad.numpy().ravel()]))\n"               \
    "open(sys.argv[2], 'wb').write(np.concatenate(out).astype('<f8').tobytes())\n"

static const char *torch_grpo_script = "SEQ = 0\n" TORCH_GRPO_BODY;
static const char *torch_gspo_script = "SEQ = 1\n" TORCH_GRPO_BODY;

static void run_python(const char *script, const char *in, const char *out) {
    int rc = th_python_script(script, in, out);
    cr_assert_eq(rc, 0, "python reference failed (rc %d): /usr/bin/python3 with torch is required",
                 rc);
}

/* Writes the batch (header S, T, k; eps, eps_high, beta; logp, old, ref,
 * mask; then last[S]: advantages or rewards) for script, runs it, and reads
 * n doubles back into want. */
static void torch_batch(const char *script, const batch *b, int k, const float *last, double *want,
                        size_t n) {
    char in[] = "/tmp/rlc_grpo_in_XXXXXX", out[] = "/tmp/rlc_grpo_out_XXXXXX";
    int fd = mkstemp(in);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    const int hdr[3] = {BS, BT, k};
    const float prm[3] = {EPS_LO, EPS_HI, BETA};
    fwrite(hdr, sizeof hdr, 1, f);
    fwrite(prm, sizeof prm, 1, f);
    fwrite(b->logp, sizeof b->logp, 1, f);
    fwrite(b->old, sizeof b->old, 1, f);
    fwrite(b->ref, sizeof b->ref, 1, f);
    fwrite(b->mask, sizeof b->mask, 1, f);
    fwrite(last, sizeof(float), BS, f);
    fclose(f);
    fd = mkstemp(out);
    cr_assert(fd >= 0);
    close(fd);
    run_python(script, in, out);
    f = fopen(out, "rb");
    cr_assert(f);
    size_t got_n = fread(want, sizeof(double), n, f);
    fclose(f);
    unlink(in);
    unlink(out);
    cr_assert_eq(got_n, n, "reference wrote %zu values", got_n);
}

/* The issue asks for 1e-5; both sides compute in float64 from the same float
 * inputs, so the only difference is rounding the result to float, and the
 * check is tighter (a 1e-4 relative slip in one term would pass 1e-5 absolute
 * on gradients of size ~0.05). */
static int close_to(float got, double want) {
    double err = fabs((double)got - want);
    return err <= 1e-5 && err <= 1e-9 + 2e-7 * fabs(want);
}

Test(rl_loss, matches_pytorch_autograd) {
    batch b = make_batch();
    enum { PER = 1 + BS * BT, NCASE = 6 };
    static double want[NCASE * PER];
    torch_batch(torch_grpo_script, &b, BMAX, b.adv, want, NCASE * PER);

    for (int agg = 0; agg < 3; agg++)
        for (int kl = 0; kl < 2; kl++) {
            const double *w = want + (agg * 2 + kl) * PER;
            rlc_grpo_loss_params p = batch_params(agg, kl);
            float loss, d[BS * BT];
            rlc_grpo_stats st;
            cr_assert_eq(
                rlc_grpo_loss(&p, b.logp, b.old, b.ref, b.adv, b.mask, BS, BT, &loss, d, &st),
                RLC_OK, "%s", rlc_last_error());
            const char *name = rlc_loss_agg_name((rlc_loss_agg)agg);
            cr_expect(close_to(loss, w[0]), "%s kl=%d loss %.9g want %.9g", name, kl, (double)loss,
                      w[0]);
            for (int i = 0; i < BS * BT; i++)
                cr_expect(close_to(d[i], w[1 + i]), "%s kl=%d dlogp[%d] %.9g want %.9g", name, kl,
                          i, (double)d[i], w[1 + i]);
            /* The batch exercises both clip sides and both branches. */
            cr_expect(st.clip_low > 0 && st.clip_high > 0 && st.clip_ratio < 0.6f,
                      "clip low %g high %g", (double)st.clip_low, (double)st.clip_high);
            cr_expect_eq(st.n_tokens, 27);
            cr_expect_eq(st.n_seqs, 5);
            cr_expect(kl ? st.kl_mean > 0 : st.kl_mean == 0);
        }
}

/* Rewards of 2 groups of 3 -> advantages of MODE (set before this body:
 * rloo, psr, nsr, w_reinforce with threshold 0.5 and weights 0.1 / 1) ->
 * the clipped loss with KL (token_mean), computed by PyTorch in float64 from
 * the rewards: the advantages and the loss's gradient within close_to. */
#define TORCH_ADV_BODY                                                                             \
    TORCH_READ_BATCH("G", "r")                                                                     \
    "R = torch.tensor(r).reshape(-1, G)\n"                                                         \
    "pos = (R >= 0.5).double()\n"                                                                  \
    "if MODE == 'rloo':\n"                                                                         \
    "    A = R - (R.sum(1, keepdim=True) - R) / (G - 1)\n"                                         \
    "elif MODE == 'psr':\n"                                                                        \
    "    A = pos\n"                                                                                \
    "elif MODE == 'nsr':\n"                                                                        \
    "    A = pos - 1\n"                                                                            \
    "elif MODE == 'reinforce_pp':\n"                                                               \
    "    A = R - R.mean(1, keepdim=True)\n"                                                        \
    "else:\n"                                                                                      \
    "    A = 0.1 * pos - 1.0 * (1 - pos)\n"                                                        \
    "A = A.reshape(-1)\n"                                                                          \
    "if MODE == 'reinforce_pp':\n"                                                                 \
    "    L = torch.tensor(mask).sum(1); sel = (A != 0) & (L > 0)\n"                                \
    "    mu = (L * A)[sel].sum() / L[sel].sum()\n"                                                 \
    "    var = (L * (A - mu) ** 2)[sel].sum() / L[sel].sum()\n"                                    \
    "    A = torch.where(sel, (A - mu) / torch.sqrt(var + 1e-8), torch.zeros_like(A))\n"           \
    "lp = torch.tensor(logp, requires_grad=True)\n"                                                \
    "old = torch.tensor(old); ref = torch.tensor(ref); m = torch.tensor(mask)\n"                   \
    "ratio = torch.exp(lp - old)\n"                                                                \
    "a = A[:, None]\n"                                                                             \
    "per = -torch.min(ratio * a, torch.clamp(ratio, 1 - float(eps), 1 + float(eps_hi)) * a)\n"     \
    "d = ref - lp\n"                                                                               \
    "per = per + float(beta) * (torch.exp(d) - d - 1)\n"                                           \
    "loss = torch.where(m > 0, per, torch.zeros_like(per)).sum() / m.sum()\n"                      \
    "loss.backward()\n"                                                                            \
    "out = np.concatenate([A.numpy(), [loss.item()], lp.grad.numpy().ravel()])\n"                  \
    "open(sys.argv[2], 'wb').write(out.astype('<f8').tobytes())\n"

static void adv_loss_case(const char *script, rlc_adv_mode mode) {
    batch b = make_batch();
    /* group 2 all below the threshold: NSR still learns from it */
    const float rewards[BS] = {1, 0, 0.5f, 0.2f, 0.1f, 0.4f};
    enum { N = BS + 1 + BS * BT };
    static double want[N];
    torch_batch(script, &b, 3, rewards, want, N);
    float adv[BS], loss, d[BS * BT];
    int lens[BS];
    for (int i = 0; i < BS; i++) {
        lens[i] = 0;
        for (int t = 0; t < BT; t++)
            lens[i] += b.mask[i * BT + t] != 0.0f;
    }
    if (rlc_adv_mode_signed(mode))
        cr_assert_eq(
            rlc_advantages_signed(rewards, 2, 3, mode, 0.5f, 0.1f, 1.0f, adv, NULL, NULL, NULL),
            RLC_OK, "%s", rlc_last_error());
    else if (mode == RLC_ADV_REINFORCE_PP)
        cr_assert_eq(rlc_advantages_reinforce_pp(rewards, lens, 2, 3, adv, NULL, NULL), RLC_OK);
    else
        cr_assert_eq(rlc_advantages(rewards, 2, 3, mode, RLC_SCALE_GROUP, adv, NULL, NULL), RLC_OK);
    const char *name = rlc_adv_mode_name(mode);
    for (int i = 0; i < BS; i++)
        cr_expect(close_to(adv[i], want[i]), "%s A[%d] %.9g want %.9g", name, i, (double)adv[i],
                  want[i]);
    rlc_grpo_loss_params p = batch_params(RLC_LOSS_TOKEN_MEAN, 1);
    cr_assert_eq(rlc_grpo_loss(&p, b.logp, b.old, b.ref, adv, b.mask, BS, BT, &loss, d, NULL),
                 RLC_OK, "%s", rlc_last_error());
    cr_expect(close_to(loss, want[BS]), "%s loss %.9g want %.9g", name, (double)loss, want[BS]);
    for (int i = 0; i < BS * BT; i++)
        cr_expect(close_to(d[i], want[BS + 1 + i]), "%s dlogp[%d] %.9g want %.9g", name, i,
                  (double)d[i], want[BS + 1 + i]);
}

Test(rl_loss, rloo_psr_nsr_w_reinforce_advantages_and_loss_match_pytorch) {
    adv_loss_case("MODE = 'rloo'\n" TORCH_ADV_BODY, RLC_ADV_RLOO);
    adv_loss_case("MODE = 'psr'\n" TORCH_ADV_BODY, RLC_ADV_PSR);
    adv_loss_case("MODE = 'nsr'\n" TORCH_ADV_BODY, RLC_ADV_NSR);
    adv_loss_case("MODE = 'w_reinforce'\n" TORCH_ADV_BODY, RLC_ADV_W_REINFORCE);
    adv_loss_case("MODE = 'reinforce_pp'\n" TORCH_ADV_BODY, RLC_ADV_REINFORCE_PP);
}

/* GSPO (importance_level sequence) against TORCH_GRPO_BODY with SEQ = 1. */
Test(rl_loss, gspo_sequence_ratios_match_pytorch) {
    batch b = make_batch();
    /* Sequence log-ratios around a shift per sequence (A = 1.3, -0.8, 0.45,
     * -, -1.6, 0): s0 above 1 + eps_high with A > 0 (clipped), s1 past the
     * clamp at 10 with A < 0 (the unclipped branch, no gradient through the
     * clamp), s2 below 1 - eps with A > 0 (unclipped), s4 below with A < 0
     * (clipped). */
    static const float shift[BS] = {0.4f, 12.0f, -0.4f, 0.0f, -0.4f, 0.1f};
    for (int s = 0; s < BS; s++)
        for (int t = 0; t < BT; t++) {
            int i = s * BT + t;
            b.logp[i] = b.old[i] + shift[s] + 0.1f * (b.logp[i] - b.old[i]);
        }
    enum { PER = 1 + BS * BT, NCASE = 6 };
    static double want[NCASE * PER];
    torch_batch(torch_gspo_script, &b, BMAX, b.adv, want, NCASE * PER);
    for (int agg = 0; agg < 3; agg++)
        for (int kl = 0; kl < 2; kl++) {
            const double *w = want + (agg * 2 + kl) * PER;
            rlc_grpo_loss_params p = batch_params(agg, kl);
            p.importance = RLC_IMPORTANCE_SEQUENCE;
            float loss, d[BS * BT];
            cr_assert_eq(
                rlc_grpo_loss(&p, b.logp, b.old, b.ref, b.adv, b.mask, BS, BT, &loss, d, NULL),
                RLC_OK, "%s", rlc_last_error());
            const char *name = rlc_loss_agg_name((rlc_loss_agg)agg);
            /* s1's clamped ratio e^10 makes the loss ~2600: float's own
             * rounding (2.4e-4 there) is the bound, relative 2e-7. */
            cr_expect(fabs((double)loss - w[0]) <= 2e-7 * fabs(w[0]),
                      "gspo %s kl=%d loss %.9g want %.9g", name, kl, (double)loss, w[0]);
            for (int i = 0; i < BS * BT; i++)
                cr_expect(close_to(d[i], w[1 + i]), "gspo %s kl=%d dlogp[%d] %.9g want %.9g", name,
                          kl, i, (double)d[i], w[1 + i]);
        }
}

/* Planning tokens of the transform case: a fixed pattern both sides share. */
static int plan_bit(int s, int t) {
    return (s * 7 + t * 3) % 5 == 0;
}

/* The batch's advantages (A[S]) through each token-level transform, with
 * the old log-probs as the sampling policy's, then the clipped loss with KL
 * (token_mean and seq_mean_token_mean) on the token advantages, all by
 * PyTorch in float64: per case the token advantages [S, T], then per
 * aggregation the loss and its gradient. */
#define TORCH_TRANSFORM_BODY                                                                       \
    TORCH_READ_BATCH("maxtok", "adv")                                                              \
    "plan = np.array([[(s * 7 + t * 3) % 5 == 0 for t in range(T)] for s in range(S)])\n"          \
    "def tokadv(kind, gb, ha, lam):\n"                                                             \
    "    out = np.zeros((S, T))\n"                                                                 \
    "    for s in range(S):\n"                                                                     \
    "        L = int(mask[s].sum())\n"                                                             \
    "        if L == 0: continue\n"                                                                \
    "        u = np.minimum(-old[s, :L], 50.0); p = plan[s, :L]; a = np.full(L, adv[s])\n"         \
    "        if kind.startswith('gtpo'):\n"                                                        \
    "            if kind == 'gtpo_sepa' and lam > 0 and (~p).any():\n"                             \
    "                m = u[~p].mean(); u = np.where(p, u, lam * m + (1 - lam) * u)\n"              \
    "            mu = u.mean()\n"                                                                  \
    "            if mu > 1e-8: a = adv[s] * np.maximum(0.0, 1 + gb * (u / mu - 1))\n"              \
    "        if 'hicra' in kind: a = np.where(p, a + ha * np.abs(a), a)\n"                         \
    "        out[s, :L] = a\n"                                                                     \
    "    return out\n"                                                                             \
    "cases = [('gtpo', 0.1, 0, 0), ('gtpo', 3.0, 0, 0), ('hicra', 0, 0.2, 0),\n"                   \
    "         ('gtpo_hicra', 0.1, 0.2, 0), ('gtpo_sepa', 0.1, 0, 0.6), ('gtpo_sepa', 3.0, 0, "     \
    "1.0)]\n"                                                                                      \
    "res = []\n"                                                                                   \
    "m = torch.tensor(mask); o = torch.tensor(old); r = torch.tensor(ref)\n"                       \
    "for kind, gb, ha, lam in cases:\n"                                                            \
    "    A = torch.tensor(tokadv(kind, gb, ha, lam))\n"                                            \
    "    res.append(A.numpy().ravel())\n"                                                          \
    "    for agg in (0, 1):\n"                                                                     \
    "        lp = torch.tensor(logp, requires_grad=True)\n"                                        \
    "        ratio = torch.exp(lp - o)\n"                                                          \
    "        per = -torch.min(ratio * A, torch.clamp(ratio, 1 - float(eps), 1 + float(eps_hi)) * " \
    "A)\n"                                                                                         \
    "        d = r - lp\n"                                                                         \
    "        per = per + float(beta) * (torch.exp(d) - d - 1)\n"                                   \
    "        per = torch.where(m > 0, per, torch.zeros_like(per))\n"                               \
    "        ntok = m.sum(1); has = ntok > 0\n"                                                    \
    "        loss = per.sum() / m.sum() if agg == 0 else (per.sum(1)[has] / ntok[has]).mean()\n"   \
    "        loss.backward()\n"                                                                    \
    "        res.append(np.concatenate([[loss.item()], lp.grad.numpy().ravel()]))\n"               \
    "open(sys.argv[2], 'wb').write(np.concatenate(res).astype('<f8').tobytes())\n"

Test(rl_loss, token_transforms_advantages_and_loss_match_pytorch) {
    batch b = make_batch();
    static const struct {
        rlc_transform kind;
        float beta, alpha;
        double lambda;
    } cases[] = {{RLC_TRANSFORM_GTPO, 0.1f, 0, 0},        {RLC_TRANSFORM_GTPO, 3.0f, 0, 0},
                 {RLC_TRANSFORM_HICRA, 0, 0.2f, 0},       {RLC_TRANSFORM_GTPO_HICRA, 0.1f, 0.2f, 0},
                 {RLC_TRANSFORM_GTPO_SEPA, 0.1f, 0, 0.6}, {RLC_TRANSFORM_GTPO_SEPA, 3.0f, 0, 1.0}};
    enum { NC = sizeof cases / sizeof cases[0], PER = BS * BT + 2 * (1 + BS * BT) };
    static double want[NC * PER];
    torch_batch(TORCH_TRANSFORM_BODY, &b, BMAX, b.adv, want, NC * PER);
    unsigned char plan[BS * BT];
    int lens[BS];
    for (int s = 0; s < BS; s++) {
        lens[s] = 0;
        for (int t = 0; t < BT; t++) {
            plan[s * BT + t] = (unsigned char)plan_bit(s, t);
            lens[s] += b.mask[s * BT + t] != 0.0f;
        }
    }
    int clamped = 0;
    for (int c = 0; c < NC; c++) {
        const double *w = want + c * PER;
        rlc_transform_params tp = rlc_transform_default_params();
        tp.kind = cases[c].kind, tp.gtpo_beta = cases[c].beta, tp.hicra_alpha = cases[c].alpha;
        float A[BS * BT] = {0};
        for (int s = 0; s < BS; s++)
            rlc_transform_tokens(&tp, b.adv[s], b.old + s * BT, plan + s * BT, lens[s],
                                 cases[c].lambda, A + s * BT);
        const char *name = rlc_transform_name(cases[c].kind);
        for (int i = 0; i < BS * BT; i++) {
            if (b.mask[i] == 0.0f) continue;
            cr_expect(close_to(A[i], w[i]), "%s case %d: A[%d] %.9g want %.9g", name, c, i,
                      (double)A[i], w[i]);
            clamped += A[i] == 0.0f && b.adv[i / BT] != 0.0f;
        }
        for (int agg = 0; agg < 2; agg++) {
            const double *wl = w + BS * BT + agg * (1 + BS * BT);
            rlc_grpo_loss_params p = batch_params(agg, 1);
            float loss, d[BS * BT];
            cr_assert_eq(
                rlc_grpo_loss_tokens(&p, b.logp, b.old, b.ref, A, b.mask, BS, BT, &loss, d, NULL),
                RLC_OK, "%s", rlc_last_error());
            cr_expect(close_to(loss, wl[0]), "%s case %d agg %d: loss %.9g want %.9g", name, c, agg,
                      (double)loss, wl[0]);
            for (int i = 0; i < BS * BT; i++)
                cr_expect(close_to(d[i], wl[1 + i]), "%s case %d agg %d: dlogp[%d] %.9g want %.9g",
                          name, c, agg, i, (double)d[i], wl[1 + i]);
        }
    }
    /* beta 3 drives some GTPO weights to the clamp at 0 */
    cr_expect_gt(clamped, 0);
}

/* Token advantages equal to the sequence's give rlc_grpo_loss's bits. */
Test(rl_loss, token_advantages_equal_to_the_sequence_one_give_the_same_bits) {
    batch b = make_batch();
    float A[BS * BT];
    for (int i = 0; i < BS * BT; i++)
        A[i] = b.adv[i / BT];
    for (int agg = 0; agg < 3; agg++) {
        rlc_grpo_loss_params p = batch_params(agg, 1);
        float l1, l2, d1[BS * BT], d2[BS * BT];
        rlc_grpo_stats s1, s2;
        cr_assert_eq(rlc_grpo_loss(&p, b.logp, b.old, b.ref, b.adv, b.mask, BS, BT, &l1, d1, &s1),
                     RLC_OK);
        cr_assert_eq(
            rlc_grpo_loss_tokens(&p, b.logp, b.old, b.ref, A, b.mask, BS, BT, &l2, d2, &s2),
            RLC_OK);
        cr_expect(!memcmp(&l1, &l2, sizeof l1) && !memcmp(d1, d2, sizeof d1));
        cr_expect(s1.clip_ratio == s2.clip_ratio && s1.kl_mean == s2.kl_mean);
    }
}

Test(rl_loss, micro_batches_with_explicit_normalizer_add_up) {
    batch b = make_batch();
    for (int agg = 0; agg < 3; agg++)
        for (int kl = 0; kl < 2; kl++) {
            rlc_grpo_loss_params p = batch_params(agg, kl);
            float full, dfull[BS * BT];
            rlc_grpo_stats sf;
            cr_assert_eq(
                rlc_grpo_loss(&p, b.logp, b.old, b.ref, b.adv, b.mask, BS, BT, &full, dfull, &sf),
                RLC_OK);
            p.normalizer = agg == RLC_LOSS_TOKEN_MEAN ? (float)sf.n_tokens : (float)sf.n_seqs;
            const int h = BS / 2, off = h * BT;
            float l0, l1, d[BS * BT];
            rlc_grpo_stats s0, s1;
            cr_assert_eq(rlc_grpo_loss(&p, b.logp, b.old, b.ref, b.adv, b.mask, h, BT, &l0, d, &s0),
                         RLC_OK);
            cr_assert_eq(rlc_grpo_loss(&p, b.logp + off, b.old + off, b.ref + off, b.adv + h,
                                       b.mask + off, BS - h, BT, &l1, d + off, &s1),
                         RLC_OK);
            const char *name = rlc_loss_agg_name((rlc_loss_agg)agg);
            cr_expect(fabsf(l0 + l1 - full) <= 1e-6f, "%s kl=%d: %.9g + %.9g vs %.9g", name, kl,
                      (double)l0, (double)l1, (double)full);
            th_cmp c = th_compare(d, dfull, BS * BT, 1e-7, 1e-6);
            cr_expect_eq(c.bad, 0, "%s kl=%d: dlogp[%zu] off by %g", name, kl, c.worst, c.max_abs);
            /* Stats weighted by n_tokens recombine to the full batch's. */
            cr_expect_eq(s0.n_tokens + s1.n_tokens, sf.n_tokens);
            float kl_comb = (s0.kl_mean * s0.n_tokens + s1.kl_mean * s1.n_tokens) / sf.n_tokens;
            cr_expect(fabsf(kl_comb - sf.kl_mean) <= 1e-6f);
        }
}
