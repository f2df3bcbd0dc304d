/* One run as `rlc status` lists it (cmd_status.c), shared with `rlc top`:
 * the columns from metrics.jsonl (keys from the metric registry) and the
 * run's config.yaml (total steps). */
#ifndef RLC_CLI_RUNROW_H
#define RLC_CLI_RUNROW_H

#include "serve/runs.h"

#include <stddef.h>

/* Numbers are NAN where unknown. */
typedef struct rlc_cli_run_row {
    char condition[64];
    double steps, total; /* steps done (last step + 1), training.steps */
    double reward, correct, eval;
    double step_time; /* mean over the last steps, seconds */
} rlc_cli_run_row;

/* The row of run info of the registry (errors reading the files leave NANs). */
void rlc_cli_run_row_fill(rlc_runs *runs, const rlc_run_info *info, rlc_cli_run_row *row);

/* Checks window (seconds > 0) and opens the registry of dir (rlc_runs_open,
 * never rescanned early). Returns 0, or 2 after printing why as `rlc cmd`. */
int rlc_cli_runs_open(const char *cmd, const char *dir, float window, rlc_runs **out);

/* A duration in the progress line's clock (rlc_clock_text), "-" when unknown. */
void rlc_cli_duration(char *out, size_t cap, double s);

#endif
