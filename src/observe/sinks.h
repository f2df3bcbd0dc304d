/* A run's observability: one call per step hands a metric record (and the
 * step's samples) to every sink that is switched on: metrics.jsonl,
 * emergence/steps.jsonl + generations.jsonl, TensorBoard under tb/, the
 * console table + progress line, warnings, and the verbose log in logs/.
 *
 * Resume: opened at start_step > 0, the per-step files are cut back to the
 * steps before it (the resumed run writes the rest again), TensorBoard files
 * too, and the resumed steps go to a new event file; the rolling and
 * whole-run reward statistics are rebuilt from metrics.jsonl, so a resumed
 * run writes what an uninterrupted one would (times aside). */
#ifndef RLC_OBSERVE_SINKS_H
#define RLC_OBSERVE_SINKS_H

#include "base/status.h"
#include "observe/metrics.h"
#include "observe/warn.h"

#include <stdio.h>

/* One completion of the step, for emergence/generations.jsonl, TensorBoard
 * text and reward histograms. Pointers are borrowed for the call. */
typedef struct rlc_obs_sample {
    const char *prompt, *completion;
    float reward; /* total */
    int num_tokens;
    const float *rewards;  /* [n_rewards] each reward's score, in record order; NULL: none */
    const float *criteria; /* [n_criteria] the rubric's criteria (params); NULL: none */
} rlc_obs_sample;

typedef struct rlc_sinks_params {
    const char *run_dir;  /* the run directory (exists) */
    const char *run_name; /* names the log file */
    unsigned mode;        /* RLC_OBS_GRPO or RLC_OBS_SFT */
    unsigned features;    /* RLC_SHOW_*: evaluation, transform and SEPA columns are shown */
    int start_step;       /* > 0: resuming at this step */
    int total_steps;
    /* sinks */
    int metrics_jsonl, emergence, tensorboard, console, log_file;
    int log_every;          /* console rows every N steps (and first, last, evaluation steps) */
    int header_every;       /* rows between repeated headers (0: once) */
    int generations_logged; /* samples per step into generations.jsonl and TensorBoard text */
    int histogram_every, samples_every; /* TensorBoard cadence (0: never) */
    rlc_warn_params warn;
    double psr_weight, nsr_weight; /* w_reinforce's weights, for its console line */
    /* a rubric's criteria, scored in each sample: their means are logged
     * every histogram_every steps and summarized at the end (criteria.h) */
    const char *rubric_name;
    const char *const *criteria_names;
    int n_criteria;
    /* the run config for TensorBoard's hparams (written by a fresh run only) */
    const char *const *hp_keys, *const *hp_values;
    size_t n_hp;
    FILE *out; /* console stream (NULL: stdout) */
    int tty;   /* 1 / 0, or -1: whether out is a terminal */
    int width; /* console table width limit in characters; 0: the terminal's (none when out
                  is not a terminal); -1: none. Columns dropped to fit stay in the log file. */
} rlc_sinks_params;

/* Defaults: every sink on, log_every 1, header every 20, 4 generations,
 * histograms and text every 10 steps, default warnings, tty detected. */
rlc_sinks_params rlc_sinks_default_params(void);

typedef struct rlc_sinks rlc_sinks;

/* Opens (or, resuming, cuts back and reopens) every sink switched on, and
 * routes rlc_logf's console lines through the progress-aware console. The
 * legend comes before anything of the first step (its warnings included); on
 * a resume the console gets one line instead (the log file the full legend).
 * On failure nothing stays open. */
rlc_status rlc_sinks_open(const rlc_sinks_params *p, rlc_sinks **out);

/* One step: completes r's per-reward min/max (from samples) and recent_mean,
 * and every histogram_every steps its criteria means, then writes every sink.
 * r->v[RLC_M_STEP] is the step index. */
rlc_status rlc_sinks_step(rlc_sinks *s, rlc_metric_record *r, const rlc_obs_sample *samples,
                          int n_samples);

/* The end of a run that reached total_steps: TensorBoard final/<reward>_mean,
 * _std, _max, _min, _total_samples over every step, also logged; with a
 * rubric, rubric_criteria_summary over the samples of the steps this process
 * ran (rlc_criteria_summary). */
rlc_status rlc_sinks_finish(rlc_sinks *s);

/* Closes everything, reports the time the sinks took against step time
 * (DEBUG), and restores the plain console. Returns the first error seen on
 * close. NULL is a no-op. */
rlc_status rlc_sinks_close(rlc_sinks *s);

/* Seconds spent inside rlc_sinks_step so far, and the steps' own time
 * (sum of step_time_s). */
void rlc_sinks_cost(const rlc_sinks *s, double *sink_s, double *step_s);

/* Keeps the lines of a JSONL file whose "step" is below `before` (a torn last
 * line goes too), rewritten atomically. A missing file is not an error. */
rlc_status rlc_jsonl_cut(const char *path, int64_t before);

#endif
