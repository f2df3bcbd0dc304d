/* A whole training run from a resolved config: run directory, policy set-up
 * (tokenizer, model, LoRA), the SFT or GRPO loop with one console line and one
 * metrics.jsonl record per step, periodic evaluation, and the final weights. */
#ifndef RLC_TRAIN_RUN_H
#define RLC_TRAIN_RUN_H

#include "train/policy.h"
#include "train/runconfig.h"

/* Builds the policy a config describes: tokenizer (byte or tokenizer.json),
 * chat format, model (loaded or created), LoRA. Release with rlc_policy_free. */
rlc_status rlc_policy_from_config(const rlc_run_config *c, rlc_policy *pol);
void rlc_policy_free(rlc_policy *pol);

/* The reward set rewards.weights names (number_check when none is non-zero). */
rlc_status rlc_rewards_from_config(const rlc_run_config *c, rlc_reward_set *rw);

/* Runs training.mode (sft or grpo). On success *run_dir_out (if non-NULL)
 * receives the run directory (malloc'd). */
rlc_status rlc_run(const rlc_run_config *c, char **run_dir_out);

#endif
