/* rlc monitor: a run directory's metrics.jsonl turned into PNG plots and a
 * summary.txt of first/last values and per-signal verdicts; or several runs
 * overlaid on the same axes with a side-by-side table of final metrics.
 * Reads files only: never links the trainer. */
#ifndef RLC_MONITOR_MONITOR_H
#define RLC_MONITOR_MONITOR_H

#include "base/status.h"
#include "monitor/metrics.h"
#include "monitor/verdict.h"

/* Plots one run into out_dir (created): training_loss.png, learning_rate.png,
 * gradient_norm.png, rewards.png and, where the run logged them,
 * samples.png (positive/negative sample ratios), policy.png (KL, entropy,
 * clip ratio) and generation.png (completion length, max-token hit rate);
 * then writes summary_path. *report (malloc'd, may be NULL on error) lists
 * what was written and what was skipped and why. */
rlc_status rlc_monitor_run(const char *run_dir, const char *out_dir, const char *summary_path,
                           char **report);

/* Overlays n runs (labels may be NULL: the directory names) on the same
 * axes in out_dir, and writes out_dir/compare.txt, a table of final metrics
 * and verdicts with one column per run. A run that cannot be read is an
 * error naming it; an out_dir inside a compared run is refused (INVALID). */
rlc_status rlc_monitor_compare(const char *const *run_dirs, const char *const *labels, int n,
                               const char *out_dir, char **report);

/* The default folder of a comparison: beside the first run, named after the
 * runs ("runs/compare_seed1_vs_seed2"; labels, when given, name them).
 * INVALID when it would not fit in cap. */
rlc_status rlc_monitor_compare_dir(const char *const *run_dirs, const char *const *labels, int n,
                                   char *out, size_t cap);

/* summary.txt's text for one run (malloc'd; NULL when out of memory). */
char *rlc_monitor_summary(const rlc_metrics *m, const char *name, const rlc_verdict_params *p);

/* compare.txt's text (malloc'd; NULL when out of memory). */
char *rlc_monitor_compare_table(rlc_metrics *const *ms, const char *const *labels, int n,
                                const rlc_verdict_params *p);

#endif
