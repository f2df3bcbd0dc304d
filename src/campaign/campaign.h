/* Campaigns: several training conditions x seeds from one YAML file, each run
 * a child process `rlc train BASE overrides...` into RUN_DIR/NAME/LABEL_sSEED/,
 * with a manifest.json kept up to date, resume of an interrupted campaign, and
 * a summary (mean ± std over seeds per condition) plus `rlc monitor --compare`
 * plots. Never links the trainer: runs are processes of the rlc binary. */
#ifndef RLC_CAMPAIGN_CAMPAIGN_H
#define RLC_CAMPAIGN_CAMPAIGN_H

#include "base/status.h"

#include <stdio.h>

#define RLC_CAMPAIGN_MANIFEST "manifest.json"

/* One condition: a label (folder names LABEL_sSEED) and its overrides, each a
 * "section.key=value" argument of rlc train. */
typedef struct rlc_campaign_cond {
    char *label;
    char **overrides;
    int n_overrides;
} rlc_campaign_cond;

/* A parsed campaign file. Relative paths in it (base, run_dir) are relative
 * to the current directory, as paths inside a training config are; base_abs
 * and dir_abs are resolved when the file is loaded. */
typedef struct rlc_campaign {
    char *file_abs;      /* the campaign file, absolute */
    char *name;          /* [A-Za-z0-9._-]+ */
    char *base;          /* as written */
    char *base_abs;      /* realpath(base) */
    char *run_dir;       /* as written ("runs" when absent) */
    char *dir_abs;       /* absolute RUN_DIR/NAME (need not exist yet) */
    const char *command; /* "train" (GRPO, the default) or "sft": rlc COMMAND BASE ... */
    int *seeds;
    int n_seeds;
    char **overrides; /* applied to every run, before the condition's */
    int n_overrides;
    rlc_campaign_cond *conds;
    int n_conds;
} rlc_campaign;

/* Reads and checks a campaign file. Every problem (YAML syntax, an unknown or
 * missing key, a bad name or label, duplicate labels or seeds, no seeds or
 * conditions, a base config that does not exist, an override of a key the
 * campaign sets itself) is RLC_ERR_INVALID with one line "FILE:LINE: field:
 * what was expected". *c is set only on success; free with rlc_campaign_free. */
rlc_status rlc_campaign_load(const char *path, rlc_campaign *c);
void rlc_campaign_free(rlc_campaign *c);

typedef struct rlc_campaign_opts {
    const char *rlc_bin; /* the binary the runs execute (the running rlc) */
    int parallel;        /* runs at once (>= 1) */
    int dry_run;         /* print the command lines, run nothing, write nothing */
    FILE *out;           /* progress lines and the summary */
} rlc_campaign_opts;

typedef struct rlc_campaign_result {
    int n_runs, n_done, n_skipped, n_failed, n_stopped, n_pending;
    int stop_signal; /* SIGINT/SIGTERM the campaign received (0: none) */
} rlc_campaign_result;

/* Runs the campaign: checks every condition first (`rlc train ... --check`;
 * a refused one is RLC_ERR_INVALID naming it, and nothing runs), then each
 * run not already finished (manifest status done with the same command and
 * final/trainer_state.json present) in seed-major order, `parallel` at a time.
 * A run that fails is marked failed and the others go on. SIGINT/SIGTERM are
 * forwarded to the running children (they checkpoint and exit), which are
 * marked stopped; no new run starts. The manifest is rewritten atomically
 * after every change. At the end (not after a stop) the summary and the
 * comparison are written. Returns RLC_OK when the campaign ran (see *res for
 * failures and stops), an error when it could not. */
rlc_status rlc_campaign_run(const rlc_campaign *c, const rlc_campaign_opts *o,
                            rlc_campaign_result *res);

/* summary.txt and summary.json in the campaign folder from each finished run's
 * metrics.jsonl and the manifest's wall times: per condition, over its seeds,
 * mean ± std (sample std; one value has none) of the last eval/accuracy, the
 * last eval/mean_reward, mean_reward and correct_rate averaged over the last
 * 10% of steps (at least one), and wall_s. *text receives summary.txt's text
 * (malloc'd). Runs without metrics are left out of the means. */
rlc_status rlc_campaign_summarize(const rlc_campaign *c, char **text);

#endif
