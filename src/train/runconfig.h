/* The run configuration: one YAML file (sections model, tokenizer, lora, data,
 * rewards, algorithm, training, optimizer, logging, checkpoint) plus
 * `section.key=value` overrides, resolved into a plain struct. Every key is
 * declared once in a table in runconfig.c; defaults, parsing, range checks,
 * --help and the resolved YAML written into the run directory all read it. */
#ifndef RLC_TRAIN_RUNCONFIG_H
#define RLC_TRAIN_RUNCONFIG_H

#include "base/status.h"

#include <stddef.h>
#include <stdio.h>

/* Enum-valued keys are stored as these values; their spellings live in the
 * table. Values are only ever appended to (they end up in files). */
typedef enum { RLC_RC_TOK_AUTO = 0, RLC_RC_TOK_HF, RLC_RC_TOK_BYTE } rlc_rc_tokenizer_kind;
typedef enum {
    RLC_RC_CHAT_AUTO = 0,
    RLC_RC_CHAT_NONE,
    RLC_RC_CHAT_CHATML,
    RLC_RC_CHAT_QWEN3,
    RLC_RC_CHAT_LLAMA3
} rlc_rc_chat;
typedef enum {
    RLC_RC_DATA_ARITHMETIC = 0,
    RLC_RC_DATA_JSONL,
    RLC_RC_DATA_GAMES,
    RLC_RC_DATA_EXTERNAL
} rlc_rc_data_source;
typedef enum { RLC_RC_GAME_LEGAL = 0, RLC_RC_GAME_OUTCOME } rlc_rc_game_reward;
typedef enum {
    RLC_RC_ADV_GRPO = 0,
    RLC_RC_ADV_DR_GRPO,
    RLC_RC_ADV_MAXRL,
    RLC_RC_ADV_RLOO,
    RLC_RC_ADV_PSR,
    RLC_RC_ADV_NSR,
    RLC_RC_ADV_W_REINFORCE,
    RLC_RC_ADV_REINFORCE_PP
} rlc_rc_advantage;
typedef enum {
    RLC_RC_TRANSFORM_NONE = 0,
    RLC_RC_TRANSFORM_GTPO,
    RLC_RC_TRANSFORM_HICRA,
    RLC_RC_TRANSFORM_GTPO_HICRA,
    RLC_RC_TRANSFORM_GTPO_SEPA
} rlc_rc_transform;
typedef enum { RLC_RC_SEPA_LINEAR = 0, RLC_RC_SEPA_AUTO } rlc_rc_sepa_schedule;
typedef enum { RLC_RC_SCALE_GROUP = 0, RLC_RC_SCALE_BATCH, RLC_RC_SCALE_NONE } rlc_rc_scale;
typedef enum {
    RLC_RC_AGG_TOKEN_MEAN = 0,
    RLC_RC_AGG_SEQ_MEAN_TOKEN_MEAN,
    RLC_RC_AGG_SEQ_MEAN_TOKEN_SUM_NORM
} rlc_rc_loss_agg;
typedef enum { RLC_RC_MODE_GRPO = 0, RLC_RC_MODE_SFT } rlc_rc_mode;
typedef enum { RLC_RC_IMPORTANCE_TOKEN = 0, RLC_RC_IMPORTANCE_SEQUENCE } rlc_rc_importance;
typedef enum {
    RLC_RC_SCHED_CONSTANT = 0,
    RLC_RC_SCHED_LINEAR,
    RLC_RC_SCHED_COSINE
} rlc_rc_schedule;
typedef enum { RLC_RC_RESUME_AUTO = 0, RLC_RC_RESUME_NEVER, RLC_RC_RESUME_OVERWRITE } rlc_rc_resume;
typedef enum { RLC_RC_TARGET_AS_WRITTEN = 0, RLC_RC_TARGET_REASONING_TAGS } rlc_rc_target_format;

/* A list of strings (owned). */
typedef struct rlc_rc_list {
    char **items;
    int n;
} rlc_rc_list;

/* name -> number, in file order (owned). */
typedef struct rlc_rc_map {
    char **names;
    double *values;
    int n;
} rlc_rc_map;

/* Strings are owned and never NULL once initialized; "" means unset. Bools are 0/1. */
typedef struct rlc_run_config {
    struct {
        char *path;
        int from_scratch;
        int layers, hidden, heads, kv_heads, intermediate, max_seq;
        double rope_theta;
        int seed;
    } model;
    struct {
        char *path;
        int kind; /* rlc_rc_tokenizer_kind */
        int chat; /* rlc_rc_chat */
    } tokenizer;
    struct {
        int enabled;
        int rank;
        double alpha;
        int rslora;
        rlc_rc_list targets;
        char *init_adapter; /* "" = a fresh adapter */
    } lora;
    struct {
        int source;                  /* rlc_rc_data_source */
        rlc_rc_list path, eval_path; /* files, read in order as one data set */
        char *prompt_key, *answer_key, *system_prompt;
        int max_prompt_tokens;
        int arithmetic_digits;
        char *arithmetic_ops;
        int eval_size;
        int shuffle;
        int seed;
        double val_fraction;
        int target_format; /* rlc_rc_target_format */
        char *external;    /* data.source=external: the command */
        double external_timeout;
    } data;
    struct {
        rlc_rc_list cases, game_list, game_configs, game_types; /* OpenSpiel load strings */
        int num_tasks_per_case, max_random_steps;
        int reward_mode; /* rlc_rc_game_reward */
        char *opponent;
        int playouts;
    } games;
    struct {
        rlc_rc_map weights;
        int overlong_buffer;
        double overlong_penalty;
        char *rubric_file; /* "" = none */
        double rubric_weight;
        char *external;             /* "" = none */
        rlc_rc_list external_named; /* NAME=COMMAND */
        double external_weight, external_timeout;
        char *external_on_error; /* a number or "skip" */
    } rewards;
    struct {
        int advantage;     /* rlc_rc_advantage */
        int scale_rewards; /* rlc_rc_scale */
        double reward_threshold, psr_weight, nsr_weight;
        int group_size;
        double epsilon, epsilon_high, beta;
        int loss_agg;         /* rlc_rc_loss_agg */
        int importance_level; /* rlc_rc_importance */
        int num_iterations;
        double temperature, top_p;
        int top_k;
        int max_new_tokens;
        int transform; /* rlc_rc_transform */
        int dynamic_sampling, dynamic_sampling_extra_rounds;
    } algorithm;
    struct {
        double beta;
    } gtpo;
    struct {
        double alpha;
        rlc_rc_list phrases;
    } hicra;
    struct {
        int schedule; /* rlc_rc_sepa_schedule */
        int steps, delay_steps, warmup;
        double correct_rate_gate, ema_decay, var_threshold;
    } sepa;
    struct {
        int enabled, warmup_steps, min_batch_size, max_batch_size;
        double ema_decay, throttle_margin, increase_margin, peak_gflops, peak_bw_gb_s;
    } backpressure;
    struct {
        int mode; /* rlc_rc_mode */
        int steps, batch_size, micro_batch, epochs, eval_every, seed;
        int shards;            /* batch shards (0: one per MPI rank) */
        int max_skipped_steps; /* consecutive non-finite steps before the run stops; 0 = never */
        int logit_chunk;       /* rows of logits the LM head computes at once */
        int activation_checkpointing; /* keep layer inputs only; recompute in backward */
        double stop_at_accuracy;      /* end at the first evaluation reaching it; 0 = off */
    } training;
    struct {
        double lr, beta1, beta2, eps, weight_decay, max_grad_norm;
        int schedule; /* rlc_rc_schedule */
        int warmup_steps;
        double min_lr_ratio;
    } optimizer;
    struct {
        char *run_dir, *run_name;
        int log_every, table_header_every, num_generations_logged;
        int metrics_jsonl, emergence, tensorboard, console, log_file; /* sinks on/off */
        int histogram_every, samples_every;
        double warn_grad_spike;
        int warn_no_correct_steps;
        double warn_max_token_rate;
        /* Weights & Biases names, kept in run_info.json and the hparams for a later
         * `wandb sync --sync-tensorboard` (rlc itself never talks to W&B) */
        char *wandb_project, *wandb_entity, *wandb_group, *wandb_run_name;
        rlc_rc_list wandb_tags;
    } logging;
    struct {
        int save_every, keep_last, keep_every;
        int resume; /* rlc_rc_resume */
    } checkpoint;
} rlc_run_config;

/* Every key at its default. Allocates a few short strings; aborts if even
 * that fails. Release with rlc_run_config_free. */
rlc_run_config rlc_run_config_default(void);

/* Defaults, then the file's keys (NULL path: defaults only). Each key is
 * type- and range-checked as it is read; cross-field rules wait for
 * rlc_run_config_validate (overrides may still fix them). *c is overwritten
 * (it must not hold owned memory). On error the
 * message is one line, "<path>:<line>: ...", naming the key (and, for unknown
 * keys, the nearest valid one); *c is then released and zeroed, so a second
 * rlc_run_config_free is harmless. */
rlc_status rlc_run_config_load(const char *yaml_path, rlc_run_config *c);

/* Applies one override "section.key=value" (also "rewards.weights.name=value"
 * to set one map entry). Lists take "a,b" or "[a, b]", maps "a:1,b:2" or
 * "{a: 1, b: 2}". On error *c is unchanged and the message starts with
 * "override '<assignment>': ". */
rlc_status rlc_run_config_set(rlc_run_config *c, const char *assignment);

/* Replaces the items of a list field of a config (e.g. &c->data.eval_path)
 * with copies of items[0..n), taken verbatim: no splitting at commas. On
 * error *l is unchanged. */
rlc_status rlc_run_config_set_list(rlc_rc_list *l, const char *const *items, int n);

/* Cross-field rules (e.g. group_size >= 2 for group-relative advantages,
 * data.path with source=jsonl). RLC_ERR_INVALID with a one-line reason. */
rlc_status rlc_run_config_validate(const rlc_run_config *c);

/* The resolved config as commented YAML that loads back to an equal struct.
 * _write replaces path atomically. */
void rlc_run_config_dump(const rlc_run_config *c, FILE *f);
rlc_status rlc_run_config_write(const rlc_run_config *c, const char *path);
/* The same YAML after the given header (comment lines), keeping only the keys
 * and sections mode_filter ("grpo" or "sft") reads; NULL keeps every key.
 * `rlc init` writes its starter config with it. */
void rlc_run_config_dump_keys(const rlc_run_config *c, FILE *f, const char *header,
                              const char *mode_filter);

/* Every key as "section.key" with its value written as the resolved YAML
 * writes it, in table order (the TensorBoard hparams). Free both arrays with
 * rlc_run_config_items_free. */
rlc_status rlc_run_config_items(const rlc_run_config *c, char ***keys, char ***values, size_t *n);
void rlc_run_config_items_free(char **keys, char **values, size_t n);

/* Every key with its type, range, default and one-line help. mode_filter
 * "grpo" or "sft" keeps only keys that mode reads; NULL lists all. */
void rlc_run_config_print_help(FILE *f, const char *mode_filter);

/* Deep copy into *dst (which must not hold owned memory). */
rlc_status rlc_run_config_copy(rlc_run_config *dst, const rlc_run_config *src);
/* NULL when a and b agree on every key, else the first differing "section.key". */
const char *rlc_run_config_diff(const rlc_run_config *a, const rlc_run_config *b);

/* The keys whose values differ from the stored run `old` to the rerun `now`,
 * as "section.key: OLD -> NEW" joined by ", " (values as the resolved YAML
 * writes them, in table order). *experiment gets the keys that change the
 * experiment, *other those marked "may change on resume" (logging, eval
 * cadence, checkpoint cadence, training.steps grown). Each is malloc'd, or
 * NULL when there are none; either pointer may be NULL (not wanted). */
rlc_status rlc_run_config_changes(const rlc_run_config *old, const rlc_run_config *now,
                                  char **experiment, char **other);

/* Calls fn once per key whose value differs from `old` to `now`, in table
 * order, with "section.key", both values as the resolved YAML writes them, and
 * may_change: 1 for a key a rerun may change (rlc_run_config_changes's
 * *other), 0 for one that changes the experiment. Stops at fn's first error
 * and returns it. rlc_run_config_changes and `rlc diff` are built on it. */
typedef rlc_status (*rlc_rc_change_fn)(void *ctx, const char *key, const char *old_value,
                                       const char *new_value, int may_change);
rlc_status rlc_run_config_each_change(const rlc_run_config *old, const rlc_run_config *now,
                                      rlc_rc_change_fn fn, void *ctx);

/* Spelling of an enum key's value, e.g. ("algorithm.advantage", RLC_RC_ADV_GRPO)
 * -> "grpo"; NULL for an unknown key or value. */
const char *rlc_run_config_enum_name(const char *key, int value);

void rlc_run_config_free(rlc_run_config *c);

/* Read marks: code that uses a key's value reads it through RLC_RC(c, section.key),
 * which marks the key as read (process-wide). Validation, copying and dumping
 * read fields directly and mark nothing, so a test can run each mode and ask
 * which keys no code used. */
#define RLC_RC(c, field) (rlc_run_config_touch(offsetof(rlc_run_config, field)), (c)->field)
void rlc_run_config_touch(size_t field_offset);
void rlc_run_config_marks_reset(void);
/* The keys not marked since the last reset, as "section.key, ..." into buf
 * (truncated to cap); returns how many. */
int rlc_run_config_unread(char *buf, size_t cap);

#endif
