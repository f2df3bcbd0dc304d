/* Sequence-level advantages from per-sample rewards, for GRPO-family
 * training. Rewards come as n_groups groups of G samples of the same prompt,
 * laid out group after group: rewards[g*G + i]. */
#ifndef RLC_RL_ADVANTAGE_H
#define RLC_RL_ADVANTAGE_H

#include "base/status.h"

/* Values are only ever appended to: they are written into run configs. */
typedef enum rlc_adv_mode {
    RLC_ADV_GRPO = 0,    /* (r - mean_g) / (std + 1e-4), std chosen by rlc_scale_mode */
    RLC_ADV_DR_GRPO,     /* r - mean_g, never divided (Dr. GRPO) */
    RLC_ADV_MAXRL,       /* (r - mean_g) / (mean_g + 1e-6) (MaxRL, rewards in [0, 1]) */
    RLC_ADV_RLOO,        /* r - mean of the group's other G - 1 rewards (RLOO) */
    RLC_ADV_PSR,         /* +1 for positive samples, 0 otherwise (rlc_advantages_signed) */
    RLC_ADV_NSR,         /* -1 for negative samples, 0 otherwise (rlc_advantages_signed) */
    RLC_ADV_W_REINFORCE, /* +w_pos positive, -w_neg negative (rlc_advantages_signed) */
    RLC_ADV_REINFORCE_PP /* r - mean_g, whitened over the batch's tokens
                            (rlc_advantages_reinforce_pp) */
} rlc_adv_mode;

typedef enum rlc_scale_mode {
    RLC_SCALE_GROUP = 0, /* divide by the group's std */
    RLC_SCALE_BATCH,     /* divide by the std of all n_groups*G rewards */
    RLC_SCALE_NONE       /* no division */
} rlc_scale_mode;

/* Group-normalised advantages.
 *
 * mean_g is the group's mean reward. std is the unbiased sample standard
 * deviation (divisor n - 1), as torch.std and TRL use it: over the group's G
 * rewards for RLC_SCALE_GROUP, over all n_groups*G rewards (every group,
 * skipped ones included) for RLC_SCALE_BATCH; a batch of one reward has std 0.
 *   grpo:    A = (r - mean_g) / (std + 1e-4); RLC_SCALE_NONE: A = r - mean_g
 *   dr_grpo: A = r - mean_g                  (scale is ignored)
 *   maxrl:   A = (r - mean_g) / (mean_g + 1e-6)  (scale is ignored)
 *   rloo:    A_i = r_i - (sum_g - r_i) / (G - 1), the leave-one-out baseline
 *            (= G / (G - 1) * (r_i - mean_g); scale is ignored)
 *
 * A group is skipped (all its A = 0, group_skipped[g] = 1, counted in
 * *n_skipped) when it carries no learning signal:
 *   - its rewards are all equal: max - min <= 1e-6 * max(1, max |r|);
 *     a group of G = 1 is always all equal, so every group is skipped;
 *   - maxrl only: mean_g < 1e-6 ("mean ≈ 0"; this also covers negative means,
 *     for which the MaxRL weight 1/mean is meaningless).
 *
 * rewards[n_groups*G] in, adv[n_groups*G] out (may alias rewards).
 * group_skipped[n_groups] and n_skipped may be NULL. Returns RLC_ERR_INVALID
 * (with a message) for n_groups < 0, G < 1, an unknown or signed mode (see
 * rlc_advantages_signed) or a non-finite reward; nothing is written then. */
rlc_status rlc_advantages(const float *rewards, int n_groups, int G, rlc_adv_mode mode,
                          rlc_scale_mode scale, float *adv, unsigned char *group_skipped,
                          int *n_skipped);

/* Signed advantages without a baseline ("The Surprising Effectiveness of
 * Negative Reinforcement in LLM Reasoning", Zhu et al. 2025): a sample is
 * positive when its reward >= threshold, negative otherwise, and
 *   psr:         A = 1 positive, 0 negative (learn from correct samples)
 *   nsr:         A = 0 positive, -1 negative (push incorrect ones down)
 *   w_reinforce: A = w_pos positive, -w_neg negative (the paper: 0.1, 1)
 * No group is skipped: a group whose samples are all wrong still teaches
 * NSR. n_equal (may be NULL) counts groups of G whose rewards are all equal
 * (the frac_reward_zero_std metric); n_pos / n_neg (may be NULL) count the
 * samples. Returns RLC_ERR_INVALID for another mode, n_groups < 0, G < 1, a
 * non-finite reward, threshold or weight, or a negative weight. */
rlc_status rlc_advantages_signed(const float *rewards, int n_groups, int G, rlc_adv_mode mode,
                                 float threshold, float w_pos, float w_neg, float *adv,
                                 int *n_equal, int *n_pos, int *n_neg);

/* REINFORCE++ with the group-mean baseline (as OpenRLHF's
 * reinforce_baseline): A_i = r_i - mean_g, groups of equal rewards skipped
 * (A = 0) as rlc_advantages does, then whitened over the batch's tokens that
 * carry a non-zero advantage: with L_i = lens[i] tokens per sample and S the
 * samples with A_i != 0 and L_i > 0, mu = sum_S L_i A_i / sum_S L_i,
 * var = sum_S L_i (A_i - mu)^2 / sum_S L_i, and A_i <- (A_i - mu) /
 * sqrt(var + 1e-8) for i in S, 0 for the others. lens[n_groups*G] >= 0.
 * Returns RLC_ERR_INVALID as rlc_advantages does, or for a negative length. */
rlc_status rlc_advantages_reinforce_pp(const float *rewards, const int *lens, int n_groups, int G,
                                       float *adv, unsigned char *group_skipped, int *n_skipped);

/* 1 when the n >= 1 rewards are all equal: max - min <= 1e-6 * max(1, max
 * |r|) (the rule by which groups are skipped, and dynamic sampling drops). */
int rlc_rewards_all_equal(const float *r, int n);

/* 1 for psr, nsr, w_reinforce (rlc_advantages_signed), 0 for the others. */
int rlc_adv_mode_signed(rlc_adv_mode mode);

/* Config names: "grpo", "dr_grpo", "maxrl", "rloo", "psr", "nsr", "w_reinforce", "reinforce_pp";
 * "group", "batch",
 * "none". Parse functions return RLC_ERR_INVALID with a message listing the choices. */
const char *rlc_adv_mode_name(rlc_adv_mode mode); /* "?" if out of range */
rlc_status rlc_adv_mode_parse(const char *name, rlc_adv_mode *out);
const char *rlc_scale_mode_name(rlc_scale_mode scale);
rlc_status rlc_scale_mode_parse(const char *name, rlc_scale_mode *out);

#endif
