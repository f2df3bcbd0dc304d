/* One GRPO step: B prompts x G samples from the KV-cache sampler, rewards,
 * group advantages, then num_iterations passes of the clipped policy loss
 * (old policy = the sampling-time log-probs) and an AdamW step each. */
#ifndef RLC_TRAIN_GRPO_H
#define RLC_TRAIN_GRPO_H

#include "rewards/external.h"
#include "rl/advantage.h"
#include "rl/loss.h"
#include "rl/transform.h"
#include "train/backpressure.h"
#include "train/optim.h"
#include "train/policy.h"

#define RLC_MAX_REWARDS RLC_REWARD_SET_MAX

typedef struct rlc_grpo_params {
    int batch_prompts; /* B; with back pressure the largest batch (buffers are sized for it) */
    int group_size;    /* G */
    int max_new_tokens;
    int overlong_buffer;    /* rlc_reward_overlong: tokens; 0 = off */
    float overlong_penalty; /* its factor */
    rlc_sampler_params sampler;
    rlc_adv_mode adv;
    rlc_scale_mode scale;
    float reward_threshold;       /* psr/nsr/w_reinforce: positive when reward >= this */
    float psr_weight, nsr_weight; /* w_reinforce's weights */
    rlc_grpo_loss_params loss;
    rlc_transform_params transform;
    const char *const *phrases; /* planning phrases (transforms other than none) */
    int n_phrases;
    rlc_sepa_params sepa; /* gtpo_sepa */
    /* DAPO dynamic sampling: groups whose rewards are all equal are replaced
     * by groups of the next prompts, for at most this many extra rounds a
     * step; what is still equal then carries no gradient */
    int dynamic_sampling;
    int dynamic_sampling_extra_rounds;
    /* back pressure (train/backpressure.h): each step's batch is the
     * controller's, from min_batch to max_batch (= batch_prompts), prompts
     * taken from the cursor; bp.group is set to group_size */
    int backpressure;
    rlc_bp_params bp;
    int num_iterations;
    /* the batch in this many shards of batch_prompts / shards prompts, each
     * generated, scored and differentiated on its own, gradients summed in
     * shard order (base/dist.h); the MPI ranks take shards / ranks each
     * (0 or 1: one shard) */
    int shards;
    int micro_batch; /* sequences per forward/backward (within a shard); 0: all */
    int logit_chunk; /* LM-head rows at once; 0: RLC_LOGIT_CHUNK_DEFAULT */
    int checkpoint;  /* activation checkpointing (rlc_acts_opts) */
    float lr;
    rlc_schedule schedule;
    rlc_adamw_params opt;
    uint64_t seed;
} rlc_grpo_params;

rlc_grpo_params rlc_grpo_default_params(void);

/* Everything one step measured (the metrics record's raw material). */
typedef struct rlc_step_stats {
    int step;
    double loss, mean_reward, reward_std, correct_rate;
    long correct_count, total_count;
    double frac_reward_zero_std; /* share of groups skipped (all rewards equal) */
    int num_datums;              /* sequences that carried gradient */
    double max_token_hit_rate;   /* completions that stopped at max_new_tokens */
    double kl, entropy, clip_ratio;
    double len_mean;
    int len_min, len_max;
    double grad_norm, lr;
    double step_time_s, gen_time_s, train_time_s;
    double tokens_per_s; /* completion tokens generated per second of generation */
    long gen_tokens;
    long train_tokens; /* prompt + completion tokens through forward and backward, all passes */
    int n_rewards;
    const char *reward_names[RLC_MAX_REWARDS];
    double reward_mean[RLC_MAX_REWARDS], reward_std_each[RLC_MAX_REWARDS];
    int skipped_steps; /* optimizer updates skipped: loss or gradient norm not finite */
    /* psr, nsr, w_reinforce: completions with reward >= / < the threshold
     * (-1 for the other advantages) */
    long pos_samples, neg_samples;
    /* transforms other than none (NaN otherwise): surprisal -log p of the
     * sampled tokens, mean and population variance over each group's
     * execution (resp. planning) tokens, averaged over the groups that have
     * such tokens; the share of completion tokens in planning phrases */
    double exec_ent_mean, exec_ent_var, plan_ent_mean, plan_ent_var, plan_frac;
    double sepa_lambda; /* gtpo_sepa: the step's lambda (NaN otherwise) */
    int sepa_gate_open; /* gtpo_sepa: 0/1 after this step (-1 otherwise) */
    /* dynamic sampling (-1 otherwise): generation rounds of the step (1 =
     * none extra), groups dropped and replaced */
    int sampling_rounds, dropped_groups;
    /* external verifiers (has_ext 0: none): their counts over the step, and
     * groups left without gradient by rewards.external_on_error=skip */
    int has_ext;
    rlc_ext_counts ext;
    int ext_skipped_groups;
    /* their components' means over the step's answers, "<reward>/<component>" */
#define RLC_STEP_COMPONENTS (2 * RLC_EXT_MAX_COMPONENTS)
    int n_components;
    char component_names[RLC_STEP_COMPONENTS][RLC_EXT_NAME_MAX + RLC_EXT_COMPONENT_MAX];
    double component_mean[RLC_STEP_COMPONENTS];
    int batch_size;     /* prompts this step (B, or back pressure's choice) */
    int bp_on;          /* back pressure ran: bp holds its decision after this step */
    rlc_bp_decision bp; /* its regime, action, fit and the next step's batch */
} rlc_step_stats;

/* One sample for logs: owned by the trainer, valid until the next step. */
typedef struct rlc_sample_view {
    const char *prompt, *completion;
    float reward;
    int num_tokens;
    const float *rewards;  /* [n_rewards] each reward's score, in reward-set order */
    const float *criteria; /* [rlc_reward_set_criteria] the rubric's criteria; NULL: no rubric */
} rlc_sample_view;

typedef struct rlc_grpo rlc_grpo;

/* pol, src and rewards must outlive the trainer. */
rlc_status rlc_grpo_new(rlc_policy *pol, const rlc_source *src, const rlc_reward_set *rewards,
                        const rlc_grpo_params *p, rlc_grpo **out);
void rlc_grpo_free(rlc_grpo *g);
/* Runs optimizer step `step` (0-based): prompts step*B .. step*B+B-1 of the
 * train split (with dynamic sampling: B from the cursor, then more; with back
 * pressure: its batch from the cursor). */
rlc_status rlc_grpo_step(rlc_grpo *g, int step, rlc_step_stats *st);
/* Samples of the last step (B*G of them). */
int rlc_grpo_samples(const rlc_grpo *g, const rlc_sample_view **out);
rlc_adamw *rlc_grpo_optimizer(rlc_grpo *g);
/* SEPA's state (gtpo_sepa), carried from step to step: checkpoints save it
 * and a resumed run sets it before its first step. */
rlc_sepa_state *rlc_grpo_sepa_state(rlc_grpo *g);
/* Back pressure's state (NULL without it): checkpoints save it and a resumed
 * run sets it before its first step (its batch must lie in [min, max]). */
rlc_bp_state *rlc_grpo_bp_state(rlc_grpo *g);
/* The next prompt index of the train split: (steps done) x B, or with
 * dynamic sampling or back pressure the prompts taken so far (checkpoints
 * save it; a resumed run sets it). */
uint64_t rlc_grpo_cursor(const rlc_grpo *g);
void rlc_grpo_set_cursor(rlc_grpo *g, uint64_t cursor);
/* The training passes' activation workspace (its size and LM-head chunk). */
const rlc_acts *rlc_grpo_acts(const rlc_grpo *g);
/* The last step's rollout (NULL before the first step): the generator's
 * output for its B*G sequences, and the B prompts' ids and lengths
 * (sequence s continues prompt s / G). Valid until the next step. */
const rlc_gen_out *rlc_grpo_rollout(const rlc_grpo *g, const int *const **prompt_ids,
                                    const int **prompt_lens);

#endif
