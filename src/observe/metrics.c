/* The metric registry table and the formatting every sink shares. */
#include "observe/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G RLC_OBS_GRPO
#define S RLC_OBS_SFT
#define A RLC_OBS_ALL
#define NOFRAC RLC_M_STEP
/* id, key, TensorBoard tag, modes, flags, column header, width, format, fraction
 * denominator, legend */
#define M(id, key, tag, modes, flags, hdr, w, fmt, den, legend)                                    \
    [id] = {id, key, tag, modes, flags, hdr, w, fmt, den, legend}

static const rlc_metric_def defs[RLC_M_COUNT] = {
    M(RLC_M_STEP, "step", NULL, A, RLC_MF_INT, "step", 5, "%.0f", NOFRAC,
      "optimizer step, 0-based as in metrics.jsonl"),
    M(RLC_M_LOSS, "loss", "train/loss", A, 0, "loss", 8, "%+.4f", NOFRAC,
      "training loss (GRPO: clipped policy loss; SFT: cross-entropy per response token)"),
    M(RLC_M_MEAN_REWARD, "mean_reward", "train/rewards/mean_reward", G, 0, "reward", 6, "%.3f",
      NOFRAC, "mean total reward of the step's completions"),
    M(RLC_M_REWARD_STD, "reward_std", "train/rewards/reward_std", G, 0, "r_std", 5, "%.2f", NOFRAC,
      "standard deviation of those rewards"),
    M(RLC_M_CORRECT_RATE, "correct_rate", "train/rewards/correct_rate", G, 0, NULL, 0, NULL, NOFRAC,
      "share of the step's completions with the correct answer"),
    M(RLC_M_CORRECT_COUNT, "correct_count", NULL, G, RLC_MF_INT, "correct", 7, NULL,
      RLC_M_TOTAL_COUNT, "completions with the correct answer / completions this step"),
    M(RLC_M_TOTAL_COUNT, "total_count", NULL, G, RLC_MF_INT, NULL, 0, NULL, NOFRAC,
      "completions this step (prompts x group size)"),
    M(RLC_M_RUNNING_CORRECT_RATE, "running_correct_rate", "train/rewards/running_correct_rate", G,
      0, "run_c", 5, "%.3f", NOFRAC, "correct rate over every completion so far"),
    M(RLC_M_FRAC_ZERO_STD, "frac_reward_zero_std", "train/frac_reward_zero_std", G, 0, NULL, 0,
      NULL, NOFRAC, "share of prompt groups whose rewards are all equal"),
    M(RLC_M_ZERO_STD_GROUPS, "zero_std_groups", NULL, G, RLC_MF_INT, "0std", 5, NULL,
      RLC_M_BATCH_SIZE, "prompt groups with all rewards equal (no learning signal) / groups"),
    M(RLC_M_NUM_DATUMS, "num_datums", "train/num_datums", G, RLC_MF_INT, "datums", 6, "%.0f",
      NOFRAC, "completions that carried gradient"),
    M(RLC_M_MAX_TOKEN_HIT_RATE, "max_token_hit_rate", "train/max_token_hit_rate", G, 0, "maxtok", 6,
      "%.2f", NOFRAC, "share of completions cut off at max_new_tokens"),
    M(RLC_M_KL, "kl", "train/kl", G, 0, "kl", 7, "%.4f", NOFRAC,
      "mean per-token KL to the reference policy (0 when beta = 0)"),
    M(RLC_M_ENTROPY, "entropy", "train/entropy", G, 0, "ent", 5, "%.3f", NOFRAC,
      "mean per-token entropy of the policy over every sampled completion token, nats, at the "
      "sampling temperature (as verl and TRL report it)"),
    M(RLC_M_CLIP_RATIO, "clip_ratio", "train/clip_ratio", G, 0, "clip", 5, "%.3f", NOFRAC,
      "share of tokens whose probability ratio was clipped (over every optimisation pass)"),
    M(RLC_M_LEN_MEAN, "completion_len_mean", "train/completion_len/mean", G, 0, "len", 5, "%.1f",
      NOFRAC, "mean completion length, tokens"),
    M(RLC_M_LEN_MIN, "completion_len_min", "train/completion_len/min", G, RLC_MF_INT, NULL, 0, NULL,
      NOFRAC, "shortest completion, tokens"),
    M(RLC_M_LEN_MAX, "completion_len_max", "train/completion_len/max", G, RLC_MF_INT, NULL, 0, NULL,
      NOFRAC, "longest completion, tokens"),
    M(RLC_M_GRAD_NORM, "grad_norm", "train/grad_norm", A, RLC_MF_F32, "gnorm", 8, "%.2e", NOFRAC,
      "global gradient L2 norm before clipping"),
    M(RLC_M_LR, "lr", "train/learning_rate", A, RLC_MF_F32, "lr", 7, "%.1e", NOFRAC,
      "learning rate of this step"),
    M(RLC_M_STEP_TIME, "step_time_s", "train/step_time_s", A, RLC_MF_TIME, "s/step", 6, "%.2f",
      NOFRAC, "wall seconds of the step"),
    M(RLC_M_GEN_TIME, "gen_time_s", "train/gen_time_s", G, RLC_MF_TIME, "gen_s", 5, "%.2f", NOFRAC,
      "of which sampling the completions"),
    M(RLC_M_TRAIN_TIME, "train_time_s", "train/train_time_s", G, RLC_MF_TIME, NULL, 0, NULL, NOFRAC,
      "of which forward, backward and optimizer"),
    M(RLC_M_TOKENS_PER_S, "tokens_per_s", "train/tokens_per_s", A, RLC_MF_TIME, "tok/s", 6, "%.0f",
      NOFRAC, "GRPO: completion tokens sampled per second; SFT: training tokens per second"),
    M(RLC_M_TRAIN_TOKENS_PER_S, "train_tokens_per_s", "train/train_tokens_per_s", G, RLC_MF_TIME,
      NULL, 0, NULL, NOFRAC, "prompt+completion tokens through forward and backward per second"),
    M(RLC_M_GEN_TOKENS, "gen_tokens", "train/gen_tokens", G, RLC_MF_INT, NULL, 0, NULL, NOFRAC,
      "completion tokens sampled this step"),
    M(RLC_M_BATCH_SIZE, "batch_size", "train/batch_size", A, RLC_MF_INT, NULL, 0, NULL, NOFRAC,
      "prompts (SFT: examples) per step"),
    M(RLC_M_GROUP_SIZE, "group_size", "train/group_size", G, RLC_MF_INT, NULL, 0, NULL, NOFRAC,
      "completions per prompt"),
    M(RLC_M_VAL_LOSS, "val_loss", "eval/val_loss", S, RLC_MF_SPARSE | RLC_MF_EVAL, "val", 7, "%.4f",
      NOFRAC, "validation cross-entropy (evaluation steps only, nan between)"),
    M(RLC_M_EVAL_ACCURACY, "eval/accuracy", "eval/accuracy", A, RLC_MF_SPARSE | RLC_MF_EVAL, "eval",
      5, "%.3f", NOFRAC, "held-out greedy accuracy (evaluation steps only, nan between)"),
    M(RLC_M_EVAL_MEAN_REWARD, "eval/mean_reward", "eval/mean_reward", A, RLC_MF_SPARSE, NULL, 0,
      NULL, NOFRAC, "held-out mean reward (evaluation steps only)"),
    M(RLC_M_SKIPPED_STEPS, "skipped_steps", "train/skipped_steps", A, RLC_MF_INT, NULL, 0, NULL,
      NOFRAC,
      "optimizer updates skipped this step because the loss or gradient norm was not finite "
      "(weights and moments left unchanged)"),
#define SYS(id, key, modes, flags, legend)                                                         \
    M(id, key, key, modes, RLC_MF_TIME | (flags), NULL, 0, NULL, NOFRAC, legend)
    SYS(RLC_M_SYS_RSS, "system/rss_mib", A, 0,
        "resident memory of the process at the step's end, MiB (VmRSS of /proc/self/status)"),
    SYS(RLC_M_SYS_PEAK_RSS, "system/peak_rss_mib", A, 0,
        "highest resident memory of the process so far (a resumed run's process starts anew), MiB "
        "(VmHWM; >= system/rss_mib)"),
    SYS(RLC_M_SYS_CPU_CORES, "system/cpu_cores", A, 0,
        "CPU utilisation of the step as cores busy: user+system CPU seconds of every thread "
        "during the step / its wall seconds"),
    SYS(RLC_M_SYS_CPU_UTIL, "system/cpu_util", A, 0,
        "system/cpu_cores / the cores the process may run on (its affinity), 0..1"),
    SYS(RLC_M_SYS_THREADS, "system/threads", A, RLC_MF_INT,
        "threads of the process at the step's end (Threads of /proc/self/status)"),
    SYS(RLC_M_SYS_GEN_SHARE, "system/gen_share", G, 0,
        "share of the step's wall time spent on generation: prompts, rollout and rewards "
        "(gen_time_s / step_time_s)"),
    SYS(RLC_M_SYS_TRAIN_SHARE, "system/train_share", G, 0,
        "share spent on policy forward, backward and optimizer (train_time_s / step_time_s); the "
        "rest is the reference forward, advantages and statistics"),
#undef SYS
#define SIGNED(id, key, flags, legend)                                                             \
    M(id, key, key, G, RLC_MF_SPARSE | (flags), NULL, 0, NULL, NOFRAC, legend)
    SIGNED(RLC_M_PSR_POSITIVE, "psr/positive_samples", RLC_MF_INT,
           "psr: completions with reward >= algorithm.reward_threshold (the ones it learns from)"),
    SIGNED(RLC_M_PSR_POSITIVE_RATIO, "psr/positive_ratio", 0,
           "psr: positive completions / completions"),
    SIGNED(RLC_M_PSR_AVG_REWARD, "psr/avg_reward", 0, "psr: mean reward of the step's completions"),
    SIGNED(RLC_M_NSR_NEGATIVE, "nsr/negative_samples", RLC_MF_INT,
           "nsr: completions with reward < algorithm.reward_threshold (the ones it pushes down)"),
    SIGNED(RLC_M_NSR_NEGATIVE_RATIO, "nsr/negative_ratio", 0,
           "nsr: negative completions / completions"),
    SIGNED(RLC_M_NSR_AVG_REWARD, "nsr/avg_reward", 0, "nsr: mean reward of the step's completions"),
    SIGNED(RLC_M_WR_POSITIVE, "w_reinforce/positive_samples", RLC_MF_INT,
           "w_reinforce: completions with reward >= algorithm.reward_threshold"),
    SIGNED(RLC_M_WR_NEGATIVE, "w_reinforce/negative_samples", RLC_MF_INT,
           "w_reinforce: completions below the threshold"),
    SIGNED(RLC_M_WR_POS_NEG_RATIO, "w_reinforce/pos_neg_ratio", 0,
           "w_reinforce: positive / negative completions (nan without negatives)"),
    SIGNED(RLC_M_WR_AVG_REWARD, "w_reinforce/avg_reward", 0,
           "w_reinforce: mean reward of the step's completions"),
#undef SIGNED
#define TF(id, key, tag, flags, hdr, w, fmt, legend)                                               \
    M(id, key, tag, G, RLC_MF_SPARSE | (flags), hdr, w, fmt, NOFRAC, legend)
    TF(RLC_M_EXEC_ENTROPY_MEAN, "exec_entropy_mean", "train/entropy/exec_mean", RLC_MF_TRANSFORM,
       "ent_x", 5, "%.3f",
       "surprisal -log p of sampled execution tokens (not in a planning phrase), mean per group, "
       "averaged over groups"),
    TF(RLC_M_EXEC_ENTROPY_VAR, "exec_entropy_var", "train/entropy/exec_var", 0, NULL, 0, NULL,
       "variance of that surprisal within each group, averaged over groups"),
    TF(RLC_M_PLAN_ENTROPY_MEAN, "plan_entropy_mean", "train/entropy/plan_mean", RLC_MF_TRANSFORM,
       "ent_p", 5, "%.3f",
       "surprisal of sampled planning tokens (in a hicra.phrases match), mean per group, averaged "
       "over groups that have some"),
    TF(RLC_M_PLAN_ENTROPY_VAR, "plan_entropy_var", "train/entropy/plan_var", 0, NULL, 0, NULL,
       "variance of the planning tokens' surprisal within each group, averaged"),
    TF(RLC_M_PLANNING_FRAC, "planning_token_frac", "train/planning_token_frac", RLC_MF_TRANSFORM,
       "plan", 5, "%.3f", "share of completion tokens in planning phrases"),
    TF(RLC_M_SEPA_LAMBDA, "sepa_lambda", "train/sepa_lambda", RLC_MF_SEPA, "sepa", 4, "%.2f",
       "SEPA pooling strength lambda of the step (0 = none, 1 = execution surprisal fully pooled)"),
    TF(RLC_M_SEPA_GATE_OPEN, "sepa_gate_open", "train/sepa_gate_open", RLC_MF_INT, NULL, 0, NULL,
       "1 once a step's correct rate reached sepa.correct_rate_gate (SEPA may pool), else 0"),
    TF(RLC_M_SAMPLING_ROUNDS, "dynamic_sampling/rounds", "train/dynamic_sampling/rounds",
       RLC_MF_INT, NULL, 0, NULL,
       "dynamic sampling: generation rounds of the step (1 = the batch needed no refill)"),
    TF(RLC_M_DROPPED_GROUPS, "dynamic_sampling/dropped_groups",
       "train/dynamic_sampling/dropped_groups", RLC_MF_INT, NULL, 0, NULL,
       "dynamic sampling: prompt groups with all rewards equal dropped and replaced this step"),
#undef TF
#define BP(id, key, tag, flags, legend)                                                            \
    M(id, key, tag, G, RLC_MF_SPARSE | (flags), NULL, 0, NULL, NOFRAC, legend)
    BP(RLC_M_BP_ACTION, "bp_action", "train/backpressure/action", RLC_MF_INT,
       "back pressure: what sets the next step's batch: 0 hold, 1 throttle (down to "
       "throttle_margin x p*), 2 increase (up to it)"),
    BP(RLC_M_BP_REGIME, "bp_regime", "train/backpressure/regime", RLC_MF_INT,
       "back pressure regime: 0 warmup, 1 retrograde (past the target, or slower than the fit), 2 "
       "memory_bound, 3 compute_bound, 4 optimal"),
    BP(RLC_M_BP_P_STAR, "backpressure/p_star", "train/backpressure/p_star", 0,
       "USL optimum concurrency (prompts x group) sqrt((1 - sigma) / kappa); absent before the "
       "first fit and while kappa = 0 (no optimum)"),
    BP(RLC_M_BP_SIGMA, "backpressure/sigma", "train/backpressure/sigma", 0,
       "USL contention (b + c) / (a + b + c) of the fit p / X = a + b p + c p^2"),
    BP(RLC_M_BP_KAPPA, "backpressure/kappa", "train/backpressure/kappa", 0,
       "USL coherency c / (a + b + c)"),
    BP(RLC_M_BP_UTILIZATION, "backpressure/utilization", "train/backpressure/utilization", 0,
       "throughput EMA / the fit's peak throughput within the batch limits"),
    /* not RLC_MF_TIME, though wall time drives every back pressure metric:
     * under the test clock (RLC_TEST_BP_USL) they repeat exactly, and resume
     * tests compare them */
    BP(RLC_M_BP_THROUGHPUT, "backpressure/throughput", "train/backpressure/throughput", 0,
       "EMA (backpressure.ema_decay) of completion tokens sampled per second of the whole step"),
    BP(RLC_M_BP_WARMUP, "backpressure/warmup", "train/backpressure/warmup", RLC_MF_INT,
       "1 while back pressure only observes (backpressure.warmup_steps), else 0"),
#undef BP
    M(RLC_M_EPOCH, "epoch", "train/epoch", A, RLC_MF_SPARSE, NULL, 0, NULL, NOFRAC,
      "passes over the training records so far: training items used after this step / training "
      "records (jsonl data only; the arithmetic source is endless and has none)"),
#define XF(id, key, legend)                                                                        \
    M(id, "external/" key, "train/external/" key, G, RLC_MF_SPARSE | RLC_MF_INT, NULL, 0, NULL,    \
      NOFRAC, "external verifiers: " legend)
    XF(RLC_M_EXT_REQUESTS, "requests", "request lines sent this step (a resent one counts again)"),
    XF(RLC_M_EXT_FAILED, "failed",
       "completions no verifier answer could score; they got rewards.external_on_error"),
    XF(RLC_M_EXT_SKIPPED_GROUPS, "skipped_groups",
       "prompt groups left without gradient for a failed completion (external_on_error=skip)"),
    XF(RLC_M_EXT_TIMEOUTS, "timeouts", "processes killed after rewards.external_timeout"),
    XF(RLC_M_EXT_CRASHES, "crashes", "processes that exited or closed their output mid-batch"),
    XF(RLC_M_EXT_RESTARTS, "restarts", "processes started again (with back-off)"),
    XF(RLC_M_EXT_MALFORMED, "malformed",
       "lines that were no JSON object with an integer id, or answers without a numeric reward"),
    XF(RLC_M_EXT_UNKNOWN_ID, "unknown_ids", "answers to an id not waiting (unknown or answered)"),
    XF(RLC_M_EXT_NONFINITE, "nonfinite", "answers with a NaN, infinite or null reward"),
#undef XF
    M(RLC_M_SYS_RANKS, "system/ranks", "system/ranks", A, RLC_MF_TIME | RLC_MF_INT, NULL, 0, NULL,
      NOFRAC, "MPI ranks the run is spread over (1: one process)"),
    M(RLC_M_SYS_COMM_MIB, "system/comm_mib", "system/comm_mib", A, RLC_MF_TIME, NULL, 0, NULL,
      NOFRAC,
      "MiB rank 0 sent and received over MPI during the step: other ranks' shard gradients in, "
      "their sum out to each rank, the rollouts' all-gather (0 in one process)"),
    M(RLC_M_SYS_COMM_S, "system/comm_s", "system/comm_s", A, RLC_MF_TIME, NULL, 0, NULL, NOFRAC,
      "wall seconds rank 0 spent inside MPI calls during the step: transfers, and waits for "
      "slower ranks (0 in one process)"),
};

/* Plot text by id: {label, axis label with unit}; ids left out have none. */
static const char *const plot_text[RLC_M_COUNT][2] = {
    [RLC_M_LOSS] = {"training loss", "loss (nats / token)"},
    [RLC_M_MEAN_REWARD] = {"mean reward", "reward (per completion)"},
    [RLC_M_CORRECT_RATE] = {"correct rate", "fraction of completions"},
    [RLC_M_FRAC_ZERO_STD] = {"groups with equal rewards", "fraction of prompts"},
    [RLC_M_MAX_TOKEN_HIT_RATE] = {"max-token hit rate", "fraction of completions"},
    [RLC_M_KL] = {"KL to reference", "KL (nats / token)"},
    [RLC_M_ENTROPY] = {"entropy", "entropy (nats / token)"},
    [RLC_M_CLIP_RATIO] = {"clipped ratio", "fraction of tokens"},
    [RLC_M_LEN_MEAN] = {"mean completion length", "length (tokens)"},
    [RLC_M_GRAD_NORM] = {"gradient norm", "L2 norm before clipping"},
    [RLC_M_LR] = {"learning rate", "learning rate (per step)"},
    [RLC_M_VAL_LOSS] = {"validation loss", "loss (nats / token)"},
    [RLC_M_EVAL_ACCURACY] = {"eval accuracy", "fraction of problems"},
    [RLC_M_PSR_POSITIVE_RATIO] = {"PSR positive-sample ratio", "fraction of completions"},
    [RLC_M_NSR_NEGATIVE_RATIO] = {"NSR negative-sample ratio", "fraction of completions"},
    [RLC_M_WR_POS_NEG_RATIO] = {"W-REINFORCE pos/neg ratio", "positive / negative completions"},
    [RLC_M_PSR_AVG_REWARD] = {"PSR", "reward (per completion)"},
    [RLC_M_NSR_AVG_REWARD] = {"NSR", "reward (per completion)"},
    [RLC_M_WR_AVG_REWARD] = {"W-REINFORCE", "reward (per completion)"},
    [RLC_M_EXEC_ENTROPY_MEAN] = {"execution-token surprisal", "surprisal (nats / token)"},
    [RLC_M_PLAN_ENTROPY_MEAN] = {"planning-token surprisal", "surprisal (nats / token)"},
    [RLC_M_SEPA_LAMBDA] = {"SEPA lambda", "pooling strength"},
    [RLC_M_BATCH_SIZE] = {"batch size", "prompts per step"},
    [RLC_M_BP_P_STAR] = {"USL optimum p*", "concurrency (prompts x group)"},
    [RLC_M_BP_THROUGHPUT] = {"throughput (EMA)", "completion tokens / s"},
    [RLC_M_BP_UTILIZATION] = {"utilization", "throughput / fitted peak"},
    [RLC_M_SYS_RSS] = {"resident memory", "memory (MiB)"},
    [RLC_M_SYS_PEAK_RSS] = {"peak resident memory", "memory (MiB)"},
    [RLC_M_SYS_CPU_CORES] = {"CPU cores busy", "cores (CPU s / wall s)"},
    [RLC_M_SYS_CPU_UTIL] = {"CPU utilisation", "fraction of allowed cores"},
    [RLC_M_SYS_THREADS] = {"threads", "threads"},
    [RLC_M_SYS_GEN_SHARE] = {"generation share", "fraction of step time"},
    [RLC_M_SYS_TRAIN_SHARE] = {"training share", "fraction of step time"},
};

/* Console column priority by id (see rlc_metric_priority); 0 here means 2. */
static const unsigned char priority[RLC_M_COUNT] = {
    [RLC_M_STEP] = 1,
    [RLC_M_LOSS] = 1,
    [RLC_M_MEAN_REWARD] = 1,
    [RLC_M_CORRECT_COUNT] = 1,
    [RLC_M_GRAD_NORM] = 1,
    [RLC_M_LR] = 1,
    [RLC_M_VAL_LOSS] = 1,
    [RLC_M_EVAL_ACCURACY] = 1,
    [RLC_M_REWARD_STD] = 3,
    [RLC_M_RUNNING_CORRECT_RATE] = 3,
    [RLC_M_NUM_DATUMS] = 3,
    [RLC_M_GEN_TIME] = 3,
    [RLC_M_TOKENS_PER_S] = 3,
    [RLC_M_CLIP_RATIO] = 3,
    [RLC_M_MAX_TOKEN_HIT_RATE] = 3,
    [RLC_M_EXEC_ENTROPY_MEAN] = 3,
    [RLC_M_PLAN_ENTROPY_MEAN] = 3,
};

static const char *const stat_names[RLC_RS_COUNT] = {"mean", "std", "min", "max", "recent_mean"};

const rlc_metric_def *rlc_metric_defs(void) {
    return defs;
}

const rlc_metric_def *rlc_metric_def_by_key(const char *key) {
    for (int i = 0; i < RLC_M_COUNT; i++)
        if (!strcmp(defs[i].key, key)) return &defs[i];
    return NULL;
}

const char *rlc_metric_label(rlc_metric_id id) {
    if ((unsigned)id >= RLC_M_COUNT) return "?";
    return plot_text[id][0] ? plot_text[id][0] : defs[id].key;
}

const char *rlc_metric_unit(rlc_metric_id id) {
    if ((unsigned)id >= RLC_M_COUNT) return "value";
    return plot_text[id][1] ? plot_text[id][1] : "value";
}

int rlc_metric_priority(rlc_metric_id id) {
    if ((unsigned)id >= RLC_M_COUNT) return 3;
    return priority[id] ? priority[id] : 2;
}

void rlc_criterion_key(char *out, size_t cap, const char *rubric, const char *criterion) {
    snprintf(out, cap, RLC_CRITERIA_PREFIX "%s/%s" RLC_CRITERIA_SUFFIX, rubric, criterion);
}

const char *rlc_reward_stat_name(rlc_reward_stat s) {
    return (unsigned)s < RLC_RS_COUNT ? stat_names[s] : "?";
}

void rlc_metric_record_init(rlc_metric_record *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < RLC_M_COUNT; i++)
        r->v[i] = NAN;
    for (int k = 0; k < RLC_OBS_MAX_REWARDS; k++)
        for (int s = 0; s < RLC_RS_COUNT; s++)
            r->reward[k][s] = NAN;
}

int rlc_metric_column_shown(const rlc_metric_def *d, unsigned mode, unsigned features) {
    if (!d->header || !(d->modes & mode)) return 0;
    if ((d->flags & RLC_MF_EVAL) && !(features & RLC_SHOW_EVAL)) return 0;
    if ((d->flags & RLC_MF_TRANSFORM) && !(features & RLC_SHOW_TRANSFORM)) return 0;
    return !(d->flags & RLC_MF_SEPA) || (features & RLC_SHOW_SEPA);
}

int rlc_metric_format_cell(char *out, size_t cap, const rlc_metric_def *d,
                           const rlc_metric_record *r) {
    char cell[64];
    double v = r->v[d->id];
    if (d->frac_den != NOFRAC) {
        double den = r->v[d->frac_den];
        if (isnan(v) || isnan(den))
            snprintf(cell, sizeof cell, "nan");
        else
            snprintf(cell, sizeof cell, "%.0f/%.0f", v, den);
    } else if (isnan(v)) {
        snprintf(cell, sizeof cell, "nan");
    } else {
        snprintf(cell, sizeof cell, d->fmt ? d->fmt : "%g", v);
    }
    return snprintf(out, cap, "%*s", d->width, cell);
}

static void put_number(rlc_strbuf *b, double v, unsigned flags) {
    char num[40];
    if ((flags & RLC_MF_INT) && isfinite(v))
        snprintf(num, sizeof num, "%.0f", v);
    else if (flags & RLC_MF_F32)
        rlc_format_float(num, sizeof num, v);
    else
        rlc_format_double(num, sizeof num, v);
    rlc_sb_put(b, num, strlen(num));
}

void rlc_metric_record_jsonl(rlc_strbuf *b, const rlc_metric_record *r, unsigned mode) {
    rlc_sb_put(b, "{", 1);
    int first = 1;
    for (int i = 0; i < RLC_M_COUNT; i++) {
        const rlc_metric_def *d = &defs[i];
        if (!(d->modes & mode) || ((d->flags & RLC_MF_SPARSE) && isnan(r->v[i]))) continue;
        rlc_sb_printf(b, "%s\"%s\":", first ? "" : ",", d->key);
        put_number(b, r->v[i], d->flags);
        first = 0;
        if (i == RLC_M_STEP) {
            rlc_sb_put(b, ",\"condition\":", 13);
            rlc_sb_json_string(b, r->condition, 0);
        }
    }
    for (int k = 0; k < r->n_rewards; k++)
        for (int s = 0; s < RLC_RS_COUNT; s++) {
            rlc_sb_put(b, ",", 1);
            rlc_strbuf key = {0};
            rlc_sb_printf(&key, "rewards/%s/%s", r->reward_names[k], stat_names[s]);
            rlc_sb_json_string(b, key.p ? key.p : "", 0);
            rlc_sb_free(&key);
            rlc_sb_put(b, ":", 1);
            put_number(b, r->reward[k][s], 0);
        }
    for (int k = 0; k < r->n_criteria; k++) {
        char key[2 * RLC_OBS_CRITERION_MAX + 16];
        rlc_criterion_key(key, sizeof key, r->rubric, r->criteria_names[k]);
        rlc_sb_put(b, ",", 1);
        rlc_sb_json_string(b, key, 0);
        rlc_sb_put(b, ":", 1);
        put_number(b, r->criteria_mean[k], 0);
    }
    for (int k = 0; k < r->n_components; k++) {
        rlc_sb_put(b, ",", 1);
        rlc_strbuf key = {0};
        rlc_sb_printf(&key, RLC_COMPONENTS_PREFIX "%s", r->component_names[k]);
        rlc_sb_json_string(b, key.p ? key.p : "", 0);
        rlc_sb_free(&key);
        rlc_sb_put(b, ":", 1);
        put_number(b, r->component_mean[k], 0);
    }
    rlc_sb_put(b, "}\n", 2);
}

static double json_value(json_t *v) {
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "criteria/<rubric>/<criterion>_mean" into r's criteria (the first rubric
 * seen names them all). */
static void criterion_from_json(rlc_metric_record *r, const char *key, json_t *v) {
    const char *rb = key + strlen(RLC_CRITERIA_PREFIX), *slash = strchr(rb, '/');
    size_t suf = strlen(RLC_CRITERIA_SUFFIX);
    if (!slash || slash == rb || (size_t)(slash - rb) >= sizeof r->rubric) return;
    const char *name = slash + 1;
    size_t len = strlen(name);
    if (len <= suf || strcmp(name + len - suf, RLC_CRITERIA_SUFFIX)) return;
    len -= suf;
    if (len >= RLC_OBS_CRITERION_MAX || r->n_criteria == RLC_OBS_MAX_CRITERIA) return;
    if (!r->n_criteria) snprintf(r->rubric, sizeof r->rubric, "%.*s", (int)(slash - rb), rb);
    int k = r->n_criteria++;
    snprintf(r->criteria_names[k], sizeof r->criteria_names[k], "%.*s", (int)len, name);
    r->criteria_mean[k] = json_value(v);
}

void rlc_metric_record_from_json(rlc_metric_record *r, json_t *o) {
    for (int i = 0; i < RLC_M_COUNT; i++) {
        json_t *v = json_object_get(o, defs[i].key);
        if (v) r->v[i] = json_value(v);
    }
    json_t *c = json_object_get(o, "condition");
    if (json_is_string(c)) snprintf(r->condition, sizeof r->condition, "%s", json_string_value(c));
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!strncmp(key, RLC_CRITERIA_PREFIX, strlen(RLC_CRITERIA_PREFIX))) {
            criterion_from_json(r, key, v);
            continue;
        }
        size_t cp = strlen(RLC_COMPONENTS_PREFIX);
        if (!strncmp(key, RLC_COMPONENTS_PREFIX, cp)) {
            if (r->n_components == RLC_OBS_MAX_COMPONENTS ||
                strlen(key + cp) >= sizeof r->component_names[0])
                continue;
            snprintf(r->component_names[r->n_components], sizeof r->component_names[0], "%s",
                     key + cp);
            r->component_mean[r->n_components++] = json_value(v);
            continue;
        }
        if (strncmp(key, "rewards/", 8)) continue;
        const char *name = key + 8, *slash = strrchr(name, '/');
        if (!slash || slash == name || (size_t)(slash - name) >= RLC_OBS_NAME_MAX) continue;
        int s = 0;
        while (s < RLC_RS_COUNT && strcmp(slash + 1, stat_names[s]))
            s++;
        if (s == RLC_RS_COUNT) continue;
        int k = 0;
        while (k < r->n_rewards && (strncmp(r->reward_names[k], name, (size_t)(slash - name)) ||
                                    r->reward_names[k][slash - name]))
            k++;
        if (k == r->n_rewards) {
            if (k == RLC_OBS_MAX_REWARDS) continue;
            memcpy(r->reward_names[k], name, (size_t)(slash - name));
            r->reward_names[k][slash - name] = 0;
            r->n_rewards++;
        }
        r->reward[k][s] = json_value(v);
    }
}
