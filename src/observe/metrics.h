/* The metric registry: every per-step metric is declared once (metrics.jsonl
 * key, TensorBoard tag, console column with width, header and number format,
 * one-line legend) and every sink (metrics.jsonl, TensorBoard, the console
 * table, the verbose log) reads that table. A step is one rlc_metric_record. */
#ifndef RLC_OBSERVE_METRICS_H
#define RLC_OBSERVE_METRICS_H

#include "base/numfmt.h" /* rlc_format_double/_float, for the sinks */
#include "base/strbuf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Which runs report a metric. */
enum { RLC_OBS_GRPO = 1u << 0, RLC_OBS_SFT = 1u << 1, RLC_OBS_ALL = 3u };

/* Metric ids in table order, which is also the metrics.jsonl key order. Files
 * name metrics by key, never by id. */
typedef enum rlc_metric_id {
    RLC_M_STEP = 0,
    RLC_M_LOSS,
    RLC_M_MEAN_REWARD,
    RLC_M_REWARD_STD,
    RLC_M_CORRECT_RATE,
    RLC_M_CORRECT_COUNT,
    RLC_M_TOTAL_COUNT,
    RLC_M_RUNNING_CORRECT_RATE,
    RLC_M_FRAC_ZERO_STD,
    RLC_M_ZERO_STD_GROUPS,
    RLC_M_NUM_DATUMS,
    RLC_M_MAX_TOKEN_HIT_RATE,
    RLC_M_KL,
    RLC_M_ENTROPY,
    RLC_M_CLIP_RATIO,
    RLC_M_LEN_MEAN,
    RLC_M_LEN_MIN,
    RLC_M_LEN_MAX,
    RLC_M_GRAD_NORM,
    RLC_M_LR,
    RLC_M_STEP_TIME,
    RLC_M_GEN_TIME,
    RLC_M_TRAIN_TIME,
    RLC_M_TOKENS_PER_S,
    RLC_M_TRAIN_TOKENS_PER_S,
    RLC_M_GEN_TOKENS,
    RLC_M_BATCH_SIZE,
    RLC_M_GROUP_SIZE,
    RLC_M_VAL_LOSS,
    RLC_M_EVAL_ACCURACY,
    RLC_M_EVAL_MEAN_REWARD,
    RLC_M_SKIPPED_STEPS,
    /* what the process uses of the machine (base/procstat.h), read once a step */
    RLC_M_SYS_RSS,
    RLC_M_SYS_PEAK_RSS,
    RLC_M_SYS_CPU_CORES,
    RLC_M_SYS_CPU_UTIL,
    RLC_M_SYS_THREADS,
    RLC_M_SYS_GEN_SHARE,
    RLC_M_SYS_TRAIN_SHARE,
    /* algorithm.advantage psr, nsr, w_reinforce only (else NaN, left out):
     * a sample is positive when its reward >= algorithm.reward_threshold */
    RLC_M_PSR_POSITIVE,
    RLC_M_PSR_POSITIVE_RATIO,
    RLC_M_PSR_AVG_REWARD,
    RLC_M_NSR_NEGATIVE,
    RLC_M_NSR_NEGATIVE_RATIO,
    RLC_M_NSR_AVG_REWARD,
    RLC_M_WR_POSITIVE,
    RLC_M_WR_NEGATIVE,
    RLC_M_WR_POS_NEG_RATIO,
    RLC_M_WR_AVG_REWARD,
    /* algorithm.transform other than none only (else NaN, left out) */
    RLC_M_EXEC_ENTROPY_MEAN,
    RLC_M_EXEC_ENTROPY_VAR,
    RLC_M_PLAN_ENTROPY_MEAN,
    RLC_M_PLAN_ENTROPY_VAR,
    RLC_M_PLANNING_FRAC,
    /* algorithm.transform gtpo_sepa only */
    RLC_M_SEPA_LAMBDA,
    RLC_M_SEPA_GATE_OPEN,
    /* algorithm.dynamic_sampling only */
    RLC_M_SAMPLING_ROUNDS,
    RLC_M_DROPPED_GROUPS,
    /* backpressure.enabled only (train/backpressure.h) */
    RLC_M_BP_ACTION,
    RLC_M_BP_REGIME,
    RLC_M_BP_P_STAR,
    RLC_M_BP_SIGMA,
    RLC_M_BP_KAPPA,
    RLC_M_BP_UTILIZATION,
    RLC_M_BP_THROUGHPUT,
    RLC_M_BP_WARMUP,
    /* a jsonl data set only (an endless source has no epochs) */
    RLC_M_EPOCH,
    /* external verifiers only (rewards/external.h): the step's counts */
    RLC_M_EXT_REQUESTS,
    RLC_M_EXT_FAILED,
    RLC_M_EXT_SKIPPED_GROUPS,
    RLC_M_EXT_TIMEOUTS,
    RLC_M_EXT_CRASHES,
    RLC_M_EXT_RESTARTS,
    RLC_M_EXT_MALFORMED,
    RLC_M_EXT_UNKNOWN_ID,
    RLC_M_EXT_NONFINITE,
    RLC_M_SYS_RANKS,
    RLC_M_SYS_COMM_MIB,
    RLC_M_SYS_COMM_S,
    RLC_M_COUNT
} rlc_metric_id;

/* rlc_metric_def.flags */
enum {
    RLC_MF_INT = 1u << 0,    /* an integer count: written without a fraction */
    RLC_MF_SPARSE = 1u << 1, /* measured on some steps only: left out of metrics.jsonl when NaN */
    RLC_MF_TIME = 1u << 2,   /* a wall-clock time, rate or resource reading (system/...): differs
                              * between identical runs, so resume comparisons leave it out */
    RLC_MF_EVAL = 1u << 3,   /* its column is shown only when the run evaluates */
    RLC_MF_F32 = 1u << 4,    /* a float at its source: written with the digits a float needs */
    RLC_MF_TRANSFORM = 1u << 5, /* its column is shown only in runs with a token transform */
    RLC_MF_SEPA = 1u << 6,      /* its column is shown only in runs with SEPA */
};

/* What a run has, for the columns it shows (rlc_metric_column_shown). */
enum { RLC_SHOW_EVAL = 1u << 0, RLC_SHOW_TRANSFORM = 1u << 1, RLC_SHOW_SEPA = 1u << 2 };

typedef struct rlc_metric_def {
    rlc_metric_id id;
    const char *key;    /* metrics.jsonl key */
    const char *tb_tag; /* TensorBoard scalar tag; NULL: none */
    unsigned modes;     /* RLC_OBS_GRPO / RLC_OBS_SFT */
    unsigned flags;
    /* console column; header NULL: not a column */
    const char *header;
    int width;
    const char *fmt;        /* printf conversion of one double, e.g. "%.3f" */
    rlc_metric_id frac_den; /* != RLC_M_STEP: shown as "value/den" counts */
    const char *legend;     /* one line */
} rlc_metric_def;

/* The table, RLC_M_COUNT entries in id order. */
const rlc_metric_def *rlc_metric_defs(void);
const rlc_metric_def *rlc_metric_def_by_key(const char *key);

/* For plots (rlc monitor): a short name for titles and legends ("training
 * loss") and the axis label with its unit ("loss (nats / token)"). A metric
 * without plot text answers its key and "value". */
const char *rlc_metric_label(rlc_metric_id id);
const char *rlc_metric_unit(rlc_metric_id id);

/* Console column priority: 1 is always shown; on a terminal too narrow for
 * every column, columns of priority 3 go first, then 2 (the log file keeps
 * every column). */
int rlc_metric_priority(rlc_metric_id id);

/* Per-reward statistics, each written as metrics.jsonl "rewards/<name>/<stat>"
 * and TensorBoard "rewards/<name>_<stat>". */
typedef enum rlc_reward_stat {
    RLC_RS_MEAN = 0,
    RLC_RS_STD,
    RLC_RS_MIN,
    RLC_RS_MAX,
    RLC_RS_RECENT_MEAN,
    RLC_RS_COUNT
} rlc_reward_stat;
const char *rlc_reward_stat_name(rlc_reward_stat s);
/* Steps averaged by the recent_mean statistic. */
#define RLC_RECENT_STEPS 10

#define RLC_OBS_MAX_REWARDS 16
#define RLC_OBS_NAME_MAX 48

/* A rubric's criteria (rewards/rubric.h): each criterion's mean over a step's
 * samples is metrics.jsonl key and TensorBoard tag
 * "criteria/<rubric>/<criterion>_mean" (rlc_criterion_key). */
#define RLC_OBS_MAX_CRITERIA 32
#define RLC_OBS_CRITERION_MAX 64
#define RLC_CRITERIA_PREFIX "criteria/"
#define RLC_CRITERIA_SUFFIX "_mean"
/* The end-of-run table of the criteria: its TensorBoard text tag and the
 * name of RUN_DIR/<name>.txt and .json (observe/criteria.h). */
#define RLC_CRITERIA_SUMMARY "rubric_criteria_summary"
/* Writes the key of criterion of rubric into out (truncated to cap). */
void rlc_criterion_key(char *out, size_t cap, const char *rubric, const char *criterion);

/* External verifiers' components (rewards/external.h): the mean of each over
 * the step's answers that reported it is metrics.jsonl key and TensorBoard
 * tag "components/<reward>/<component>". */
#define RLC_OBS_MAX_COMPONENTS 32
#define RLC_COMPONENTS_PREFIX "components/"

/* One step. Every value is a double; NaN means "not measured". */
typedef struct rlc_metric_record {
    double v[RLC_M_COUNT];
    char condition[64];
    int n_rewards;
    char reward_names[RLC_OBS_MAX_REWARDS][RLC_OBS_NAME_MAX];
    double reward[RLC_OBS_MAX_REWARDS][RLC_RS_COUNT];
    /* the rubric's criteria means, on the steps that log them (0: none) */
    int n_criteria;
    char rubric[RLC_OBS_CRITERION_MAX];
    char criteria_names[RLC_OBS_MAX_CRITERIA][RLC_OBS_CRITERION_MAX];
    double criteria_mean[RLC_OBS_MAX_CRITERIA];
    /* external verifiers' component means, names "<reward>/<component>" (0: none) */
    int n_components;
    char component_names[RLC_OBS_MAX_COMPONENTS][2 * RLC_OBS_NAME_MAX];
    double component_mean[RLC_OBS_MAX_COMPONENTS];
} rlc_metric_record;

/* Every value NaN, no rewards or criteria, empty condition. */
void rlc_metric_record_init(rlc_metric_record *r);

/* Whether metric def's column belongs in a run of mode (RLC_OBS_GRPO or _SFT)
 * that has `features` (RLC_SHOW_*): columns with RLC_MF_EVAL need
 * RLC_SHOW_EVAL, RLC_MF_TRANSFORM RLC_SHOW_TRANSFORM, RLC_MF_SEPA RLC_SHOW_SEPA. */
int rlc_metric_column_shown(const rlc_metric_def *d, unsigned mode, unsigned features);

/* One console cell, right-aligned to d->width: NaN renders as "nan", a
 * fraction as "num/den" (either NaN: "nan"). Returns what snprintf returns. */
int rlc_metric_format_cell(char *out, size_t cap, const rlc_metric_def *d,
                           const rlc_metric_record *r);

/* The metrics.jsonl line of r for a run of mode, ending in '\n', into b:
 * registry metrics of that mode in table order (NaN as null; sparse ones left
 * out when NaN), then the per-reward statistics, then the criteria means. */
void rlc_metric_record_jsonl(rlc_strbuf *b, const rlc_metric_record *r, unsigned mode);

/* Reads a metrics.jsonl object back into r (after rlc_metric_record_init):
 * the inverse of rlc_metric_record_jsonl, value for value. */
void rlc_metric_record_from_json(rlc_metric_record *r, json_t *o);

#endif
