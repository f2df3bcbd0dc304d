#include "train/run.h"

#include "base/dist.h"
#include "base/fs.h"
#include "base/procstat.h"
#include "observe/log.h"
#include "observe/sinks.h"
#include "rewards/external.h"
#include "rewards/rubric.h"
#include "train/checkpoint.h"
#include "train/final.h"
#include "train/resume.h"
#include "train/runinfo.h"
#include "train/sft.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* The byte tokenizer's specials; a from-scratch model's vocabulary is 256 + these. */
static const char *const byte_specials[] = {"<|bos|>", "<|eos|>"};

void rlc_policy_free(rlc_policy *pol) {
    rlc_model_free(pol->m);
    rlc_tokenizer_free(pol->tok);
    memset(pol, 0, sizeof *pol);
}

/* Tokenizer for a model directory (or a tokenizer file): tokenizer.json, else
 * rlc_tokenizer.json (rlc_tokenizer_open); kind forces one of them. */
static rlc_status load_tokenizer(const char *dir, int kind, rlc_tokenizer **tok, int *is_byte) {
    *is_byte = 0;
    if (kind == RLC_RC_TOK_BYTE) {
        *is_byte = 1;
        return rlc_tokenizer_new_byte(byte_specials, 2, tok);
    }
    rlc_status st =
        kind == RLC_RC_TOK_HF ? rlc_tokenizer_load(dir, tok) : rlc_tokenizer_open(dir, tok);
    if (st == RLC_ERR_NOT_FOUND) {
        char why[1024];
        snprintf(why, sizeof why, "%s", rlc_last_error());
        return rlc_errorf(st, "%s (set tokenizer.path, or tokenizer.kind=byte)", why);
    }
    *is_byte = st == RLC_OK && rlc_tokenizer_is_byte(*tok);
    return st;
}

static rlc_status resolve_chat(const char *dir, int is_byte, rlc_chat_format want,
                               rlc_chat_format *out) {
    if (want != RLC_CHAT_AUTO) {
        *out = want;
        return RLC_OK;
    }
    *out = RLC_CHAT_NONE;
    if (is_byte) return RLC_OK;
    char path[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "tokenizer_config.json"));
    if (!rlc_file_exists(path)) return RLC_OK;
    return rlc_chat_detect(path, out);
}

static int pick_eos(const rlc_policy *pol) {
    const rlc_model_config *c = rlc_model_cfg(pol->m);
    if (c->num_eos > 0) return c->eos_token_ids[0];
    static const char *const names[] = {"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|eos|>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int id = rlc_tokenizer_token_id(pol->tok, names[i]);
        if (id >= 0) return id;
    }
    return -1;
}

rlc_status rlc_policy_from_config(const rlc_run_config *c, rlc_policy *pol) {
    memset(pol, 0, sizeof *pol);
    int is_byte = 0;
    const char *tdir = RLC_RC(c, tokenizer.path)[0] ? c->tokenizer.path : RLC_RC(c, model.path);
    rlc_status st;
    /* from scratch, auto means byte unless tokenizer.path names a tokenizer */
    if (RLC_RC(c, model.from_scratch) &&
        (RLC_RC(c, tokenizer.kind) == RLC_RC_TOK_BYTE ||
         (c->tokenizer.kind == RLC_RC_TOK_AUTO && !c->tokenizer.path[0]))) {
        is_byte = 1;
        st = rlc_tokenizer_new_byte(byte_specials, 2, &pol->tok);
    } else {
        st = load_tokenizer(tdir, RLC_RC(c, tokenizer.kind), &pol->tok, &is_byte);
    }
    if (st == RLC_OK && c->model.from_scratch) {
        rlc_model_config mc = rlc_config_default();
        mc.vocab_size = rlc_tokenizer_vocab_size(pol->tok);
        mc.hidden_size = RLC_RC(c, model.hidden);
        mc.num_layers = RLC_RC(c, model.layers);
        mc.num_heads = RLC_RC(c, model.heads);
        mc.num_kv_heads = RLC_RC(c, model.kv_heads);
        mc.head_dim = c->model.hidden / c->model.heads;
        mc.intermediate_size = RLC_RC(c, model.intermediate);
        mc.max_position_embeddings = RLC_RC(c, model.max_seq);
        mc.rope_theta = (float)RLC_RC(c, model.rope_theta);
        mc.bos_token_id = is_byte ? 256 : -1;
        mc.num_eos = 0;
        if (is_byte) mc.eos_token_ids[0] = 257, mc.num_eos = 1;
        st = rlc_model_create(&mc, (uint64_t)RLC_RC(c, model.seed), &pol->m);
    } else if (st == RLC_OK) {
        st = rlc_model_load(c->model.path, &pol->m);
    }
    if (st == RLC_OK && rlc_tokenizer_vocab_size(pol->tok) > rlc_model_cfg(pol->m)->vocab_size)
        st = rlc_errorf(RLC_ERR_INVALID, "tokenizer has %d tokens but the model's vocabulary is %d",
                        rlc_tokenizer_vocab_size(pol->tok), rlc_model_cfg(pol->m)->vocab_size);
    rlc_chat_format want = RLC_CHAT_AUTO;
    if (st == RLC_OK) {
        static const rlc_chat_format map[] = {RLC_CHAT_AUTO, RLC_CHAT_NONE, RLC_CHAT_CHATML,
                                              RLC_CHAT_QWEN3, RLC_CHAT_LLAMA3};
        want = map[RLC_RC(c, tokenizer.chat)];
        st = resolve_chat(tdir, is_byte, want, &pol->chat);
    }
    if (st == RLC_OK && RLC_RC(c, lora.enabled)) {
        rlc_lora_config lc = rlc_lora_default_config();
        lc.rank = RLC_RC(c, lora.rank);
        lc.alpha = (float)RLC_RC(c, lora.alpha);
        lc.use_rslora = RLC_RC(c, lora.rslora);
        lc.targets = 0;
        for (int i = 0; st == RLC_OK && i < RLC_RC(c, lora.targets).n; i++) {
            unsigned bits;
            st = rlc_lora_parse_targets(c->lora.targets.items[i], &bits);
            lc.targets |= bits;
        }
        if (st == RLC_OK) st = rlc_model_add_lora(pol->m, &lc, (uint64_t)c->model.seed + 1);
    }
    if (st) {
        rlc_policy_free(pol);
        return st;
    }
    pol->eos_id = pick_eos(pol);
    pol->max_prompt_tokens = RLC_RC(c, data.max_prompt_tokens);
    return RLC_OK;
}

/* ---- the loop ---- */

/* Refuses state that is not all finite: no checkpoint or final/ is ever
 * written from NaN or Inf weights (they would pass their checksums, and
 * keep_last would then prune the healthy ones). opt may be NULL. */
static rlc_status check_finite_state(const rlc_policy *pol, const rlc_adamw *opt,
                                     const char *what) {
    float *params, *grads;
    size_t n;
    char label[128];
    RLC_TRY(rlc_model_trainable(pol->m, &params, &grads, &n));
    const rlc_backend *be = rlc_model_backend(pol->m);
    snprintf(label, sizeof label, "%s: trainable parameters", what);
    RLC_TRY(rlc_check_finite(be, params, n, label));
    if (!opt) return RLC_OK;
    snprintf(label, sizeof label, "%s: AdamW first moment", what);
    RLC_TRY(rlc_check_finite(be, opt->m, opt->n, label));
    snprintf(label, sizeof label, "%s: AdamW second moment", what);
    return rlc_check_finite(be, opt->v, opt->n, label);
}

/* trainer_state.json's text: room for back pressure's window */
#define STATE_CAP 16384

/* checkpoints/checkpoint-<steps_done>/: weights, optimizer, trainer state and
 * the resolved config (what a rerun is compared with). Every random draw and
 * data index is a function of the step, so the step, the optimizer and the
 * running counters are the whole state. */
static rlc_status save_checkpoint(const rlc_run_config *c, const rlc_run_config *given,
                                  const char *dir, const rlc_policy *pol, const rlc_adamw *opt,
                                  int steps_done, long run_correct, long run_total, long cursor,
                                  const rlc_sepa_state *sepa, const rlc_bp_state *bp) {
    rlc_ckpt_tx *tx;
    char what[64];
    snprintf(what, sizeof what, "checkpoint-%d", steps_done);
    RLC_TRY(check_finite_state(pol, opt, what));
    RLC_TRY(rlc_ckpt_begin(dir, steps_done, &tx));
    rlc_status st = rlc_model_dir_save(c, pol, rlc_ckpt_dir(tx), RLC_DTYPE_F32);
    if (st == RLC_OK) st = rlc_ckpt_write_optimizer(tx, opt);
    char state[STATE_CAP], path[4096];
    rlc_trainer_state_format(c, steps_done, run_correct, run_total, cursor, sepa, bp, NAN, state,
                             sizeof state);
    if (st == RLC_OK) st = rlc_ckpt_write_state(tx, state);
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, rlc_ckpt_dir(tx), RLC_RUN_CONFIG);
    if (st == RLC_OK) st = rlc_run_config_write(given, path);
    if (st) {
        rlc_ckpt_abort(tx);
        return st;
    }
    rlc_ckpt_keep keep = {RLC_RC(c, checkpoint.keep_last), RLC_RC(c, checkpoint.keep_every)};
    return rlc_ckpt_commit(tx, &keep);
}

/* The next train example after steps_done steps (GRPO's own count: with
 * dynamic sampling it runs ahead of steps x batch_size). */
static long data_cursor(const rlc_run_config *c, const rlc_grpo *g, int steps_done) {
    return g ? (long)rlc_grpo_cursor(g) : (long)steps_done * c->training.batch_size;
}

/* rewards.external (the reward "external") and rewards.external_named's
 * verifiers, each process started now. */
static rlc_status add_external_rewards(const rlc_run_config *c, rlc_reward_set *rw) {
    const char *one = RLC_RC(c, rewards.external);
    rlc_rc_list named = RLC_RC(c, rewards.external_named);
    float w = (float)RLC_RC(c, rewards.external_weight);
    rlc_ext_params p = rlc_ext_default_params();
    p.timeout_s = RLC_RC(c, rewards.external_timeout);
    rlc_status st = rlc_ext_parse_on_error(RLC_RC(c, rewards.external_on_error), &rw->ext_skip,
                                           &rw->ext_on_error);
    if (st)
        return rlc_errorf(st, "rewards.external_on_error='%s': expected a finite number or skip",
                          c->rewards.external_on_error);
    for (int i = -1; i < named.n; i++) {
        char name[RLC_EXT_NAME_MAX] = "external", key[64] = "rewards.external";
        const char *cmd = one;
        if (i >= 0 && rlc_ext_split_named(named.items[i], name, sizeof name, &cmd))
            return rlc_errorf(RLC_ERR_INVALID,
                              "rewards.external_named item '%s': expected NAME=COMMAND",
                              named.items[i]);
        if (i >= 0) snprintf(key, sizeof key, "rewards.external_named %s", name);
        if (!cmd[0]) continue;
        p.name = key;
        p.command = cmd;
        rlc_ext *x;
        st = rlc_ext_open(&p, &x);
        if (st == RLC_OK) st = rlc_reward_set_add_external(rw, name, x, w);
        if (st) {
            char why[1024];
            snprintf(why, sizeof why, "%s", rlc_last_error());
            rlc_reward_set_free(rw);
            return rlc_errorf(st, "%s: %s", key, why);
        }
    }
    return RLC_OK;
}

/* Back pressure's parameters from backpressure.* (grpo.c sets the group). */
static rlc_bp_params bp_params(const rlc_run_config *c, const rlc_policy *pol) {
    rlc_bp_params b = rlc_bp_default_params();
    b.warmup_steps = RLC_RC(c, backpressure.warmup_steps);
    b.ema_decay = RLC_RC(c, backpressure.ema_decay);
    b.throttle_margin = RLC_RC(c, backpressure.throttle_margin);
    b.increase_margin = RLC_RC(c, backpressure.increase_margin);
    b.min_batch = RLC_RC(c, backpressure.min_batch_size);
    b.max_batch = RLC_RC(c, backpressure.max_batch_size);
    b.peak_gflops = RLC_RC(c, backpressure.peak_gflops);
    b.peak_bw_gb_s = RLC_RC(c, backpressure.peak_bw_gb_s);
    b.weight_bytes = rlc_model_base_bf16(pol->m) ? 2 : 4;
    return b;
}

rlc_status rlc_rewards_from_config(const rlc_run_config *c, rlc_reward_set *rw) {
    rlc_reward_set_init(rw);
    for (int i = 0; i < RLC_RC(c, rewards.weights).n; i++)
        if (c->rewards.weights.values[i] != 0)
            RLC_TRY(rlc_reward_set_add(rw, c->rewards.weights.names[i],
                                       (float)c->rewards.weights.values[i]));
    double w = RLC_RC(c, rewards.rubric_weight);
    if (RLC_RC(c, rewards.rubric_file)[0]) { /* weight 0: logged, not trained on */
        rlc_rubric *r;
        rlc_status st = rlc_rubric_load(c->rewards.rubric_file, &r);
        if (st == RLC_OK) st = rlc_reward_set_add_rubric(rw, r, (float)w);
        if (st) {
            char why[1024];
            snprintf(why, sizeof why, "%s", rlc_last_error());
            rlc_reward_set_free(rw);
            return rlc_errorf(st, "rewards.rubric_file: %s", why);
        }
    }
    RLC_TRY(add_external_rewards(c, rw));
    if (rlc_reward_set_size(rw) == 0) return rlc_reward_set_add(rw, "number_check", 1.0f);
    return RLC_OK;
}

static rlc_schedule make_schedule(const rlc_run_config *c) {
    rlc_schedule s = {.kind = (rlc_schedule_kind)RLC_RC(c, optimizer.schedule),
                      .warmup_steps = RLC_RC(c, optimizer.warmup_steps),
                      .total_steps = c->training.steps,
                      .min_lr_ratio = (float)RLC_RC(c, optimizer.min_lr_ratio)};
    return s;
}

static rlc_adamw_params make_adamw(const rlc_run_config *c) {
    rlc_adamw_params a = rlc_adamw_default_params();
    a.lr = (float)RLC_RC(c, optimizer.lr);
    a.beta1 = (float)RLC_RC(c, optimizer.beta1);
    a.beta2 = (float)RLC_RC(c, optimizer.beta2);
    a.eps = (float)RLC_RC(c, optimizer.eps);
    a.weight_decay = (float)RLC_RC(c, optimizer.weight_decay);
    a.max_grad_norm = (float)RLC_RC(c, optimizer.max_grad_norm);
    return a;
}

/* The metric record of one step: the trainer's statistics, the run's
 * counters and shape, and the evaluation when there was one. */
static void fill_record(rlc_metric_record *r, const char *condition, const rlc_step_stats *ss,
                        const rlc_run_config *c, int grpo, long run_correct, long run_total,
                        const rlc_eval_result *ev, double val_loss, double epoch,
                        const rlc_sys_sample *sys) {
    double *v = r->v;
    rlc_metric_record_init(r);
    snprintf(r->condition, sizeof r->condition, "%s", condition);
    v[RLC_M_STEP] = ss->step;
    v[RLC_M_LOSS] = ss->loss;
    v[RLC_M_GRAD_NORM] = ss->grad_norm;
    v[RLC_M_LR] = ss->lr;
    v[RLC_M_STEP_TIME] = ss->step_time_s;
    v[RLC_M_TOKENS_PER_S] = ss->tokens_per_s;
    v[RLC_M_BATCH_SIZE] = grpo ? ss->batch_size : c->training.batch_size;
    v[RLC_M_VAL_LOSS] = val_loss;
    v[RLC_M_SKIPPED_STEPS] = ss->skipped_steps;
    v[RLC_M_EPOCH] = epoch;
    v[RLC_M_SYS_RSS] = sys->rss_mib;
    v[RLC_M_SYS_PEAK_RSS] = sys->peak_rss_mib;
    v[RLC_M_SYS_CPU_CORES] = sys->cpu_cores;
    v[RLC_M_SYS_CPU_UTIL] = sys->cpu_util;
    v[RLC_M_SYS_THREADS] = sys->threads;
    if (ev) {
        v[RLC_M_EVAL_ACCURACY] = ev->accuracy;
        v[RLC_M_EVAL_MEAN_REWARD] = ev->mean_reward;
    }
    if (!grpo) return;
    v[RLC_M_MEAN_REWARD] = ss->mean_reward;
    v[RLC_M_REWARD_STD] = ss->reward_std;
    v[RLC_M_CORRECT_RATE] = ss->correct_rate;
    v[RLC_M_CORRECT_COUNT] = (double)ss->correct_count;
    v[RLC_M_TOTAL_COUNT] = (double)ss->total_count;
    v[RLC_M_RUNNING_CORRECT_RATE] = run_total ? (double)run_correct / run_total : 0;
    v[RLC_M_FRAC_ZERO_STD] = ss->frac_reward_zero_std;
    v[RLC_M_ZERO_STD_GROUPS] = round(ss->frac_reward_zero_std * ss->batch_size);
    v[RLC_M_NUM_DATUMS] = ss->num_datums;
    v[RLC_M_MAX_TOKEN_HIT_RATE] = ss->max_token_hit_rate;
    v[RLC_M_KL] = ss->kl;
    v[RLC_M_ENTROPY] = ss->entropy;
    v[RLC_M_CLIP_RATIO] = ss->clip_ratio;
    v[RLC_M_LEN_MEAN] = ss->len_mean;
    v[RLC_M_LEN_MIN] = ss->len_min;
    v[RLC_M_LEN_MAX] = ss->len_max;
    v[RLC_M_GEN_TIME] = ss->gen_time_s;
    v[RLC_M_TRAIN_TIME] = ss->train_time_s;
    /* the trainer's own disjoint timers over its step time: shares never add past 1 */
    v[RLC_M_SYS_GEN_SHARE] = ss->step_time_s > 0 ? ss->gen_time_s / ss->step_time_s : NAN;
    v[RLC_M_SYS_TRAIN_SHARE] = ss->step_time_s > 0 ? ss->train_time_s / ss->step_time_s : NAN;
    v[RLC_M_TRAIN_TOKENS_PER_S] = ss->train_time_s > 0 ? ss->train_tokens / ss->train_time_s : 0;
    v[RLC_M_GEN_TOKENS] = (double)ss->gen_tokens;
    v[RLC_M_GROUP_SIZE] = c->algorithm.group_size;
    if (ss->pos_samples >= 0 && ss->total_count > 0) {
        double pos = (double)ss->pos_samples, neg = (double)ss->neg_samples;
        double tot = (double)ss->total_count;
        switch (c->algorithm.advantage) {
        case RLC_RC_ADV_PSR:
            v[RLC_M_PSR_POSITIVE] = pos, v[RLC_M_PSR_POSITIVE_RATIO] = pos / tot;
            v[RLC_M_PSR_AVG_REWARD] = ss->mean_reward;
            break;
        case RLC_RC_ADV_NSR:
            v[RLC_M_NSR_NEGATIVE] = neg, v[RLC_M_NSR_NEGATIVE_RATIO] = neg / tot;
            v[RLC_M_NSR_AVG_REWARD] = ss->mean_reward;
            break;
        default: /* w_reinforce */
            v[RLC_M_WR_POSITIVE] = pos, v[RLC_M_WR_NEGATIVE] = neg;
            v[RLC_M_WR_POS_NEG_RATIO] = neg > 0 ? pos / neg : NAN;
            v[RLC_M_WR_AVG_REWARD] = ss->mean_reward;
            break;
        }
    }
    v[RLC_M_EXEC_ENTROPY_MEAN] = ss->exec_ent_mean, v[RLC_M_EXEC_ENTROPY_VAR] = ss->exec_ent_var;
    v[RLC_M_PLAN_ENTROPY_MEAN] = ss->plan_ent_mean, v[RLC_M_PLAN_ENTROPY_VAR] = ss->plan_ent_var;
    v[RLC_M_PLANNING_FRAC] = ss->plan_frac;
    v[RLC_M_SEPA_LAMBDA] = ss->sepa_lambda;
    if (ss->sepa_gate_open >= 0) v[RLC_M_SEPA_GATE_OPEN] = ss->sepa_gate_open;
    if (ss->sampling_rounds >= 0) v[RLC_M_SAMPLING_ROUNDS] = ss->sampling_rounds;
    if (ss->dropped_groups >= 0) v[RLC_M_DROPPED_GROUPS] = ss->dropped_groups;
    if (ss->has_ext) {
        const rlc_ext_counts *x = &ss->ext;
        v[RLC_M_EXT_REQUESTS] = (double)x->requests, v[RLC_M_EXT_FAILED] = (double)x->failed;
        v[RLC_M_EXT_SKIPPED_GROUPS] = ss->ext_skipped_groups;
        v[RLC_M_EXT_TIMEOUTS] = (double)x->timeouts, v[RLC_M_EXT_CRASHES] = (double)x->crashes;
        v[RLC_M_EXT_RESTARTS] = (double)x->restarts, v[RLC_M_EXT_MALFORMED] = (double)x->malformed;
        v[RLC_M_EXT_UNKNOWN_ID] = (double)x->unknown_id;
        v[RLC_M_EXT_NONFINITE] = (double)x->nonfinite;
    }
    for (int k = 0; k < ss->n_components && k < RLC_OBS_MAX_COMPONENTS; k++) {
        snprintf(r->component_names[k], sizeof r->component_names[k], "%s", ss->component_names[k]);
        r->component_mean[k] = ss->component_mean[k];
        r->n_components = k + 1;
    }
    if (ss->bp_on) {
        const rlc_bp_decision *d = &ss->bp;
        v[RLC_M_BP_ACTION] = d->action, v[RLC_M_BP_REGIME] = d->regime;
        v[RLC_M_BP_P_STAR] = isinf(d->p_star) ? NAN : d->p_star;
        v[RLC_M_BP_SIGMA] = d->sigma, v[RLC_M_BP_KAPPA] = d->kappa;
        v[RLC_M_BP_UTILIZATION] = d->utilization, v[RLC_M_BP_THROUGHPUT] = d->throughput;
        v[RLC_M_BP_WARMUP] = d->warmup;
    }
    r->n_rewards = ss->n_rewards < RLC_OBS_MAX_REWARDS ? ss->n_rewards : RLC_OBS_MAX_REWARDS;
    for (int k = 0; k < r->n_rewards; k++) {
        snprintf(r->reward_names[k], sizeof r->reward_names[k], "%s", ss->reward_names[k]);
        r->reward[k][RLC_RS_MEAN] = ss->reward_mean[k];
        r->reward[k][RLC_RS_STD] = ss->reward_std_each[k];
    }
}

/* Sinks for this run from the logging.* keys; the config goes to TensorBoard
 * as hparams. */
static rlc_status open_sinks(const rlc_run_config *c, const rlc_reward_set *rw, const char *dir,
                             const char *name, int grpo, int start, rlc_sinks **out) {
    rlc_sinks_params sp = rlc_sinks_default_params();
    sp.run_dir = dir;
    sp.run_name = name;
    sp.mode = grpo ? RLC_OBS_GRPO : RLC_OBS_SFT;
    sp.features =
        (c->training.eval_every > 0 ? RLC_SHOW_EVAL : 0) |
        (grpo && c->algorithm.transform != RLC_RC_TRANSFORM_NONE ? RLC_SHOW_TRANSFORM : 0) |
        (grpo && c->algorithm.transform == RLC_RC_TRANSFORM_GTPO_SEPA ? RLC_SHOW_SEPA : 0);
    sp.start_step = start;
    sp.total_steps = c->training.steps;
    sp.metrics_jsonl = RLC_RC(c, logging.metrics_jsonl);
    sp.emergence = RLC_RC(c, logging.emergence);
    sp.tensorboard = RLC_RC(c, logging.tensorboard);
    sp.console = RLC_RC(c, logging.console);
    sp.log_file = RLC_RC(c, logging.log_file);
    sp.log_every = RLC_RC(c, logging.log_every);
    sp.header_every = RLC_RC(c, logging.table_header_every);
    sp.generations_logged = RLC_RC(c, logging.num_generations_logged);
    sp.histogram_every = RLC_RC(c, logging.histogram_every);
    sp.samples_every = RLC_RC(c, logging.samples_every);
    sp.warn.grad_spike = RLC_RC(c, logging.warn_grad_spike);
    sp.warn.no_correct_steps = RLC_RC(c, logging.warn_no_correct_steps);
    sp.warn.max_token_rate = RLC_RC(c, logging.warn_max_token_rate);
    sp.psr_weight = RLC_RC(c, algorithm.psr_weight);
    sp.nsr_weight = RLC_RC(c, algorithm.nsr_weight);
    const char *criteria[RLC_RUBRIC_MAX_CRITERIA];
    if (grpo && rw->rubric) {
        sp.rubric_name = rlc_rubric_name(rw->rubric);
        sp.n_criteria = rlc_rubric_count(rw->rubric);
        for (int i = 0; i < sp.n_criteria; i++)
            criteria[i] = rlc_rubric_criterion(rw->rubric, i);
        sp.criteria_names = criteria;
    }
    char **keys = NULL, **values = NULL;
    size_t n = 0;
    if (c->logging.tensorboard) RLC_TRY(rlc_run_config_items(c, &keys, &values, &n));
    sp.hp_keys = (const char *const *)keys;
    sp.hp_values = (const char *const *)values;
    sp.n_hp = n;
    rlc_status st = rlc_sinks_open(&sp, out);
    rlc_run_config_items_free(keys, values, n);
    return st;
}

/* The stop signal any rank has seen (0: none), so that every rank stops after
 * the same step. */
static int stop_signal_all(void) {
    int sig = rlc_stop_signal(), all = sig;
    if (rlc_dist_world() > 1 && rlc_dist_max_int(sig, &all)) return sig;
    return all;
}

rlc_status rlc_run(const rlc_run_config *cfg, char **run_dir_out) {
    RLC_TRY(rlc_run_config_validate(cfg));
    /* cfg as given goes to config.yaml; c is cfg with training.steps resolved
     * (a shallow copy: it owns nothing) */
    rlc_run_config rc = *cfg;
    const rlc_run_config *c = &rc;
    int grpo = RLC_RC(c, training.mode) == RLC_RC_MODE_GRPO;
    char name[256], dir[4096], path[4096];
    if (RLC_RC(c, logging.run_name)[0]) {
        snprintf(name, sizeof name, "%s", c->logging.run_name);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        snprintf(name, sizeof name, "%s_%04d%02d%02d-%02d%02d%02d", grpo ? "grpo" : "sft",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    RLC_TRY(rlc_path_join(dir, sizeof dir, RLC_RC(c, logging.run_dir), name));
    if (!c->model.from_scratch) {
        struct stat sb;
        if (stat(c->model.path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return rlc_errorf(RLC_ERR_NOT_FOUND,
                              "model.path '%s': no such directory (expected a Hugging Face "
                              "model directory or a run's final/)",
                              c->model.path);
    }
    /* What the run directory already holds decides (reading only) whether this
     * run resumes, starts fresh, is refused or has nothing left to do. */
    rlc_rerun_plan plan;
    RLC_TRY(rlc_rerun_plan_make(cfg, dir, &plan));
    if (plan.action == RLC_RERUN_COMPLETE) {
        char of[64] = " (training.steps from training.epochs)";
        if (cfg->training.steps > 0) snprintf(of, sizeof of, " of %d", cfg->training.steps);
        rlc_logf(RLC_LOG_INFO, "run %s is complete (step %lld%s); final weights in %s/final. %s",
                 name, (long long)plan.step, of, dir,
                 plan.early ? "It ended there at training.stop_at_accuracy: nothing to do"
                            : "Nothing to do (raise training.steps to train further)");
        if (run_dir_out && !(*run_dir_out = strdup(dir))) return RLC_ERR_NOMEM;
        return RLC_OK;
    }

    /* data, rewards and model first: bad input fails before the run directory
     * is written to. */
    rlc_source src;
    RLC_TRY(rlc_source_from_config(c, &src));
    rlc_reward_set rw;
    rlc_status st = rlc_rewards_from_config(c, &rw);
    rlc_policy pol;
    if (st == RLC_OK) st = rlc_policy_from_config(c, &pol);
    if (st) {
        rlc_reward_set_free(&rw);
        rlc_source_free(&src);
        return st;
    }
    st = rlc_source_prepare(&src, &pol, &rc);
    /* a fresh run's adapter may start from saved weights; a resumed one goes on from its
     * checkpoint instead */
    if (st == RLC_OK && plan.action != RLC_RERUN_RESUME && RLC_RC(c, lora.init_adapter)[0])
        st = rlc_model_dir_load_init_adapter(c, &pol);
    if (st) {
        rlc_reward_set_free(&rw);
        rlc_policy_free(&pol);
        rlc_source_free(&src);
        return st;
    }
    char condition[64];
    snprintf(condition, sizeof condition, "%s+%s",
             grpo ? rlc_run_config_enum_name("algorithm.advantage", c->algorithm.advantage) : "sft",
             grpo ? rlc_run_config_enum_name("algorithm.transform", c->algorithm.transform) : "ce");

    /* MPI: rank 0 alone writes the run directory (shared by every rank: they
     * read the same checkpoint to resume) and speaks; the step's shards are
     * spread over the ranks */
    const int lead = rlc_dist_rank() == 0, world = rlc_dist_world();
    const int shards = RLC_RC(c, training.shards) > 0 ? c->training.shards : world;
    rlc_grpo *g = NULL;
    rlc_sft_trainer *sft = NULL;
    if (grpo) {
        rlc_grpo_params gp = rlc_grpo_default_params();
        gp.batch_prompts = RLC_RC(c, training.batch_size);
        gp.group_size = RLC_RC(c, algorithm.group_size);
        gp.max_new_tokens = RLC_RC(c, algorithm.max_new_tokens);
        gp.overlong_buffer = RLC_RC(c, rewards.overlong_buffer);
        gp.overlong_penalty = (float)RLC_RC(c, rewards.overlong_penalty);
        gp.sampler.temperature = (float)RLC_RC(c, algorithm.temperature);
        gp.sampler.top_p = (float)RLC_RC(c, algorithm.top_p);
        gp.sampler.top_k = RLC_RC(c, algorithm.top_k);
        _Static_assert((int)RLC_RC_ADV_REINFORCE_PP == (int)RLC_ADV_REINFORCE_PP &&
                           (int)RLC_RC_ADV_W_REINFORCE == (int)RLC_ADV_W_REINFORCE &&
                           (int)RLC_RC_ADV_RLOO == (int)RLC_ADV_RLOO &&
                           (int)RLC_RC_ADV_MAXRL == (int)RLC_ADV_MAXRL,
                       "algorithm.advantage values are rlc_adv_mode values");
        gp.adv = (rlc_adv_mode)RLC_RC(c, algorithm.advantage);
        gp.scale = (rlc_scale_mode)RLC_RC(c, algorithm.scale_rewards);
        gp.reward_threshold = (float)RLC_RC(c, algorithm.reward_threshold);
        gp.psr_weight = (float)RLC_RC(c, algorithm.psr_weight);
        gp.nsr_weight = (float)RLC_RC(c, algorithm.nsr_weight);
        gp.loss.epsilon = (float)RLC_RC(c, algorithm.epsilon);
        gp.loss.epsilon_high = (float)RLC_RC(c, algorithm.epsilon_high);
        gp.loss.beta = (float)RLC_RC(c, algorithm.beta);
        gp.loss.agg = (rlc_loss_agg)RLC_RC(c, algorithm.loss_agg);
        _Static_assert((int)RLC_RC_IMPORTANCE_SEQUENCE == (int)RLC_IMPORTANCE_SEQUENCE,
                       "algorithm.importance_level values are rlc_importance_level values");
        gp.loss.importance = (rlc_importance_level)RLC_RC(c, algorithm.importance_level);
        _Static_assert((int)RLC_RC_TRANSFORM_GTPO_SEPA == (int)RLC_TRANSFORM_GTPO_SEPA &&
                           (int)RLC_RC_SEPA_AUTO == (int)RLC_SEPA_AUTO,
                       "algorithm.transform / sepa.schedule values are rl/transform.h values");
        gp.transform.kind = (rlc_transform)RLC_RC(c, algorithm.transform);
        gp.transform.gtpo_beta = (float)RLC_RC(c, gtpo.beta);
        gp.transform.hicra_alpha = (float)RLC_RC(c, hicra.alpha);
        gp.phrases = (const char *const *)RLC_RC(c, hicra.phrases).items;
        gp.n_phrases = c->hicra.phrases.n;
        gp.sepa.schedule = (rlc_sepa_schedule)RLC_RC(c, sepa.schedule);
        gp.sepa.steps = RLC_RC(c, sepa.steps);
        gp.sepa.delay_steps = RLC_RC(c, sepa.delay_steps);
        gp.sepa.correct_rate_gate = RLC_RC(c, sepa.correct_rate_gate);
        gp.sepa.ema_decay = RLC_RC(c, sepa.ema_decay);
        gp.sepa.var_threshold = RLC_RC(c, sepa.var_threshold);
        gp.sepa.warmup = RLC_RC(c, sepa.warmup);
        gp.dynamic_sampling = RLC_RC(c, algorithm.dynamic_sampling);
        gp.dynamic_sampling_extra_rounds = RLC_RC(c, algorithm.dynamic_sampling_extra_rounds);
        gp.backpressure = RLC_RC(c, backpressure.enabled);
        if (gp.backpressure) {
            gp.bp = bp_params(c, &pol);
            gp.batch_prompts = gp.bp.max_batch;
        }
        gp.num_iterations = RLC_RC(c, algorithm.num_iterations);
        gp.shards = shards;
        gp.micro_batch = RLC_RC(c, training.micro_batch);
        gp.logit_chunk = RLC_RC(c, training.logit_chunk);
        gp.checkpoint = RLC_RC(c, training.activation_checkpointing);
        gp.lr = (float)c->optimizer.lr;
        gp.schedule = make_schedule(c);
        gp.opt = make_adamw(c);
        gp.seed = (uint64_t)RLC_RC(c, training.seed);
        st = rlc_grpo_new(&pol, &src, &rw, &gp, &g);
    } else {
        rlc_sft_params sp = {.batch = RLC_RC(c, training.batch_size),
                             .micro_batch = RLC_RC(c, training.micro_batch),
                             .shards = shards,
                             .max_len = RLC_RC(c, model.max_seq),
                             .logit_chunk = RLC_RC(c, training.logit_chunk),
                             .checkpoint = RLC_RC(c, training.activation_checkpointing),
                             .lr = (float)c->optimizer.lr,
                             .schedule = make_schedule(c),
                             .opt = make_adamw(c)};
        st = rlc_sft_trainer_new(&pol, &src, &sp, &sft);
    }
    long run_correct = 0, run_total = 0;
    int start = 0;
    rlc_adamw *opt = st ? NULL : grpo ? rlc_grpo_optimizer(g) : rlc_sft_trainer_optimizer(sft);
    /* SEPA's state lives in the trainer; checkpoints carry it */
    rlc_sepa_state *sepa =
        st == RLC_OK && grpo && c->algorithm.transform == RLC_RC_TRANSFORM_GTPO_SEPA
            ? rlc_grpo_sepa_state(g)
            : NULL;
    /* so does back pressure's */
    rlc_bp_state *bp = st == RLC_OK && grpo ? rlc_grpo_bp_state(g) : NULL;
    rlc_bp_params bpp = bp ? bp_params(c, &pol) : rlc_bp_default_params();
    /* Everything is checked before the first write into the run directory. */
    if (st == RLC_OK && plan.action == RLC_RERUN_RESUME) {
        long cursor = 0;
        st = rlc_resume_load(c, plan.checkpoint, plan.step, pol.m, opt, &run_correct, &run_total,
                             &cursor, sepa, &bpp, bp);
        if (st == RLC_OK && g) rlc_grpo_set_cursor(g, (uint64_t)cursor);
        start = (int)plan.step;
    }
    /* every rank has read what it needs before rank 0 writes */
    if (st == RLC_OK) st = rlc_dist_barrier();
    if (st == RLC_OK && lead && plan.action == RLC_RERUN_RESUME)
        st = rlc_ckpt_remove_leftovers(dir);
    if (st == RLC_OK && lead && plan.overwrite) st = rlc_rerun_clear(dir);
    if (st == RLC_OK && lead) st = rlc_mkdir_p(dir);
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, dir, RLC_RUN_CONFIG);
    if (st == RLC_OK && lead) st = rlc_run_config_write(cfg, path);
    if (st == RLC_OK && lead)
        st = rlc_run_info_write(c, dir, name, condition, plan.action == RLC_RERUN_RESUME);
    if (st == RLC_OK && lead) st = rlc_run_clear_stopped(dir);
    rlc_sinks *sinks = NULL;
    if (st == RLC_OK && lead) st = open_sinks(c, &rw, dir, name, grpo, start, &sinks);
    if (st == RLC_OK) {
        float *tp, *tg;
        size_t trainable = 0;
        st = rlc_model_trainable(pol.m, &tp, &tg, &trainable);
        if (st == RLC_OK)
            rlc_logf(RLC_LOG_INFO, "run %s: %s, %zu trainable of %zu parameters -> %s", name,
                     condition, trainable, rlc_model_num_params(pol.m), dir);
        const rlc_acts *acts = grpo ? rlc_grpo_acts(g) : rlc_sft_trainer_acts(sft);
        if (st == RLC_OK)
            rlc_logf(RLC_LOG_INFO, "activations: %.1f MiB, LM head in chunks of %d rows%s",
                     rlc_acts_bytes(acts) / 1048576.0, rlc_acts_logit_chunk(acts),
                     rlc_acts_checkpointing(acts) ? ", activation checkpointing" : "");
        if (world > 1 || shards > 1)
            rlc_logf(RLC_LOG_INFO,
                     "data parallel: %d MPI rank%s, %d shards of %d %s a step (%d per rank)", world,
                     world == 1 ? "" : "s", shards, c->training.batch_size / shards,
                     grpo ? "prompts" : "examples", shards / world);
        if (plan.action == RLC_RERUN_RESUME)
            rlc_logf(RLC_LOG_INFO, "resuming from %s (step %d)", plan.checkpoint, start);
        if (grpo && rw.rubric)
            rlc_logf(RLC_LOG_INFO, "Loaded rubric %s: %d criteria (%d group%s) from %s, weight %g",
                     rlc_rubric_name(rw.rubric), rlc_rubric_count(rw.rubric),
                     rlc_rubric_groups(rw.rubric), rlc_rubric_groups(rw.rubric) == 1 ? "" : "s",
                     c->rewards.rubric_file, rw.rubric_weight);
    }
    rlc_obs_sample *samples = NULL;
    if (st == RLC_OK && grpo) {
        int most =
            c->backpressure.enabled ? c->backpressure.max_batch_size : c->training.batch_size;
        samples = rlc_calloc((size_t)most * c->algorithm.group_size, sizeof *samples);
        if (!samples) st = RLC_ERR_NOMEM;
    }
    rlc_stop_install();
    int steps_done = start, skipped_in_row = 0;
    double reached = NAN; /* the accuracy that ended the run at training.stop_at_accuracy */
    const double stop_acc = RLC_RC(c, training.stop_at_accuracy);
    for (int step = start; st == RLC_OK && step < RLC_RC(c, training.steps) && !stop_signal_all();
         step++) {
        rlc_step_stats ss;
        rlc_sysmon mon;
        rlc_sysmon_begin(&mon);
        uint64_t comm0 = rlc_dist_bytes();
        double comm_s0 = rlc_dist_seconds();
        st = grpo ? rlc_grpo_step(g, step, &ss) : rlc_sft_trainer_step(sft, step, &ss);
        if (st) break;
        rlc_sys_sample sys;
        rlc_sysmon_end(&mon, &sys);
        run_correct += ss.correct_count;
        run_total += ss.total_count;
        rlc_eval_result ev, *evp = NULL;
        double val_loss = NAN;
        int last = step + 1 == c->training.steps;
        if (RLC_RC(c, training.eval_every) > 0 &&
            ((step + 1) % c->training.eval_every == 0 || last)) {
            int n_eval = rlc_source_eval_count(&src, RLC_RC(c, data.eval_size));
            if (!grpo) st = rlc_sft_trainer_val_loss(sft, n_eval, &val_loss);
            if (st == RLC_OK) {
                st = rlc_policy_evaluate(&pol, &src, &rw, n_eval, 1, 0.0f,
                                         c->algorithm.max_new_tokens, 0, 0, &ev);
                evp = &ev;
            }
            if (st) break;
        }
        rlc_metric_record rec;
        /* items used so far: GRPO's cursor (dynamic sampling takes more than B), SFT's
         * (step + 1) x batch */
        double used =
            grpo ? (double)rlc_grpo_cursor(g) : (double)(step + 1) * c->training.batch_size;
        double epoch = src.n_train ? used / (double)src.n_train : NAN;
        fill_record(&rec, condition, &ss, c, grpo, run_correct, run_total, evp, val_loss, epoch,
                    &sys);
        rec.v[RLC_M_SYS_RANKS] = world;
        rec.v[RLC_M_SYS_COMM_MIB] = (double)(rlc_dist_bytes() - comm0) / 1048576.0;
        rec.v[RLC_M_SYS_COMM_S] = rlc_dist_seconds() - comm_s0;
        int n_samples = 0;
        if (grpo) {
            const rlc_sample_view *views;
            n_samples = rlc_grpo_samples(g, &views);
            for (int i = 0; i < n_samples; i++)
                samples[i] =
                    (rlc_obs_sample){views[i].prompt,     views[i].completion, views[i].reward,
                                     views[i].num_tokens, views[i].rewards,    views[i].criteria};
        }
        /* the sinks warn about each skipped update (observe/warn.c) */
        skipped_in_row = ss.skipped_steps > 0 ? skipped_in_row + 1 : 0;
        if (sinks) st = rlc_sinks_step(sinks, &rec, samples, n_samples);
        if (st) break;
        if (RLC_RC(c, training.max_skipped_steps) > 0 &&
            skipped_in_row >= c->training.max_skipped_steps) {
            char kept[64] = "the run's starting weights";
            if (step - skipped_in_row >= 0)
                snprintf(kept, sizeof kept, "those after step %d", step - skipped_in_row);
            st = rlc_errorf(RLC_ERR_INVALID,
                            "training stopped at step %d: %d steps in a row (training."
                            "max_skipped_steps = %d) had a non-finite loss or gradient norm and "
                            "were skipped; the weights are %s. Lower optimizer.lr or check the "
                            "data",
                            step, skipped_in_row, c->training.max_skipped_steps, kept);
            break;
        }
        steps_done = step + 1;
        if (evp && stop_acc > 0 && evp->accuracy >= stop_acc) {
            reached = evp->accuracy;
            if (!last)
                rlc_logf(RLC_LOG_INFO,
                         "evaluation accuracy %.4g after step %d reaches "
                         "training.stop_at_accuracy=%g: the run ends here (%d of %d steps)",
                         reached, step, stop_acc, steps_done, c->training.steps);
            break;
        }
        if (lead && RLC_RC(c, checkpoint.save_every) > 0 &&
            steps_done % c->checkpoint.save_every == 0 && !last) {
            st = save_checkpoint(c, cfg, dir, &pol, opt, steps_done, run_correct, run_total,
                                 data_cursor(c, g, steps_done), sepa, bp);
            if (st == RLC_OK)
                rlc_logf(RLC_LOG_INFO, "checkpoint-%d saved after step %d (resumes at step %d)",
                         steps_done, step, steps_done);
        }
    }
    free(samples);
    int sig = st == RLC_OK ? stop_signal_all() : rlc_stop_signal();
    if (st == RLC_OK && sig && steps_done < c->training.steps && isnan(reached)) {
        if (lead)
            st = save_checkpoint(c, cfg, dir, &pol, opt, steps_done, run_correct, run_total,
                                 data_cursor(c, g, steps_done), sepa, bp);
        if (st == RLC_OK && lead) st = rlc_run_mark_stopped(dir, sig, steps_done);
        /* the other ranks leave once the checkpoint is whole */
        if (st == RLC_OK) st = rlc_dist_barrier();
        if (st == RLC_OK) {
            rlc_logf(RLC_LOG_WARN,
                     "stopped by %s after step %d (%d of %d steps done); checkpoint-%d "
                     "written. Run the same command again to resume at step %d.",
                     rlc_signal_name(sig), steps_done - 1, steps_done, c->training.steps,
                     steps_done, steps_done);
            st = rlc_errorf(RLC_ERR_INTERRUPTED,
                            "stopped by %s after step %d (checkpoint-%d written, resumable)",
                            rlc_signal_name(sig), steps_done - 1, steps_done);
        }
    } else if (st == RLC_OK) {
        char state[STATE_CAP];
        rlc_trainer_state_format(c, steps_done, run_correct, run_total,
                                 data_cursor(c, g, steps_done), sepa, bp, reached, state,
                                 sizeof state);
        if (sinks) st = rlc_sinks_finish(sinks);
        if (st == RLC_OK) st = check_finite_state(&pol, NULL, "final");
        if (st == RLC_OK && lead) st = rlc_save_final(c, &pol, dir, state, path, sizeof path);
        if (st == RLC_OK) rlc_logf(RLC_LOG_INFO, "final weights: %s", path);
    }
    rlc_stop_restore();
    if (st && st != RLC_ERR_INTERRUPTED && sinks)
        rlc_log_file_only(RLC_LOG_ERROR, rlc_last_error());
    rlc_status cst = rlc_sinks_close(sinks);
    if (st == RLC_OK) st = cst;
    rlc_grpo_free(g);
    rlc_sft_trainer_free(sft);
    rlc_reward_set_free(&rw);
    rlc_policy_free(&pol);
    rlc_source_free(&src);
    if (st == RLC_OK && run_dir_out) *run_dir_out = strdup(dir);
    return st;
}
