/* A run's metrics.jsonl read into columns: one double array per numeric key,
 * NAN where a step lacks the key or logged null. Tolerates a run still being
 * written: a truncated last line is skipped with a note, and so is any other
 * line that is not a JSON object (each skip is reported, never silent). New
 * keys stop getting columns once keys x lines would pass 8 values per byte of
 * the file (at least 2^20): their values are skipped with a note. */
#ifndef RLC_MONITOR_METRICS_H
#define RLC_MONITOR_METRICS_H

#include "base/status.h"

typedef struct rlc_metric_col {
    char *key;
    double *v; /* (n_rows) NAN where absent, null or not a number */
    int n_finite;
} rlc_metric_col;

typedef struct rlc_metrics {
    char *path;   /* the metrics.jsonl read */
    int n_rows;   /* steps kept */
    double *step; /* (n_rows) "step", or the row index + 1 when a line lacks it */
    rlc_metric_col *cols;
    int n_cols;
    char *condition; /* "condition" of the first row that has one, or NULL */
    char **notes;    /* what was skipped and why, one line each */
    int n_notes;
} rlc_metrics;

/* Reads RUN_DIR/metrics.jsonl, or path itself when it names a file. Errors:
 * NOT_FOUND (no such file), IO, FORMAT ("FILE: no complete metrics line")
 * when not a single line could be used. *out is set only on success; free
 * with rlc_metrics_free. */
rlc_status rlc_metrics_load(const char *path, rlc_metrics **out);

/* Parses JSONL text already in memory (name is used in notes and errors). */
rlc_status rlc_metrics_parse(const char *name, const char *text, rlc_metrics **out);

/* The column for key, or NULL when no row has a finite value for it. */
const double *rlc_metrics_col(const rlc_metrics *m, const char *key);

void rlc_metrics_free(rlc_metrics *m);

#endif
