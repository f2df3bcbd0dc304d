/* The runs under a served folder, shared by the server's threads: discovery
 * (any folder holding metrics.jsonl, at most RLC_RUNS_MAX_DEPTH levels below
 * the root), each run's status read from its files, and per-run caches of the
 * parsed metrics and of an index over emergence/generations.jsonl that are
 * refreshed only when the files change. Metrics snapshots and generations
 * indexes are shared and read in parallel; extending one run's index is done
 * by one request at a time and blocks nothing else.
 *
 * Status rule (files only, nothing is asked of the trainer):
 *   finished  RUN/final/ exists (the trainer writes it after the last step);
 *   running   otherwise, when metrics.jsonl or emergence/{steps,generations}.jsonl
 *             was modified within the last running_window_s seconds;
 *   stopped   otherwise, when RUN/STOPPED (written by the trainer when a
 *             signal stopped it after a checkpoint; removed on resume) is
 *             there and no live file is newer: resumable;
 *   crashed   none of these: the run stopped without reaching final/
 *             (killed or crashed). */
#ifndef RLC_SERVE_RUNS_H
#define RLC_SERVE_RUNS_H

#include "base/status.h"
#include "monitor/metrics.h"

#include <stddef.h>
#include <stdint.h>

#define RLC_RUNS_MAX_DEPTH 3 /* RUNS_DIR/a/b/c/metrics.jsonl is found, deeper is not */
#define RLC_RUNS_MAX 1024    /* runs listed; the rest are ignored */
#define RLC_RUN_ID_CAP 256

typedef struct rlc_runs rlc_runs;

/* Values are only ever appended to. */
typedef enum rlc_run_status {
    RLC_RUN_RUNNING,
    RLC_RUN_FINISHED,
    RLC_RUN_CRASHED,
    RLC_RUN_STOPPED,
} rlc_run_status;

/* "running", "finished", "crashed", "stopped". */
const char *rlc_run_status_str(rlc_run_status s);

typedef struct rlc_run_info {
    char id[RLC_RUN_ID_CAP];  /* path relative to the root ("demo/grpo"), or the
                                 root's own name when the root is a run */
    char rel[RLC_RUN_ID_CAP]; /* path relative to the root, "" for the root */
    rlc_run_status status;
    double updated; /* newest mtime of metrics.jsonl and emergence/ files (unix s) */
    int has_final;  /* final/ exists */
    /* from RUN/STOPPED when status is STOPPED ("" / -1 where it lacks a field) */
    char stop_signal[16];
    int64_t stop_step;
    char stop_checkpoint[128];
    char stop_time[40];
} rlc_run_info;

/* Opens the registry for root (must be an existing directory). Runs whose
 * files were written within running_window_s seconds count as running; the
 * folder is rescanned at most every rescan_s seconds. Free with rlc_runs_free. */
rlc_status rlc_runs_open(const char *root, double running_window_s, double rescan_s,
                         rlc_runs **out);
void rlc_runs_free(rlc_runs *r);

/* The root as served: its realpath (never shown to clients). */
const char *rlc_runs_root(const rlc_runs *r);
/* The root's own folder name, as shown to clients. */
const char *rlc_runs_root_name(const rlc_runs *r);
double rlc_runs_window(const rlc_runs *r);

/* A copy of the run list, sorted by id, statuses computed now. *out is
 * malloc'd (free it); *n may be 0. */
rlc_status rlc_runs_list(rlc_runs *r, rlc_run_info **out, int *n);

/* The run named id (as listed). NOT_FOUND when there is none. */
rlc_status rlc_runs_find(rlc_runs *r, const char *id, rlc_run_info *out);

/* One version of a run's metrics, read-only and shared between threads. */
typedef struct rlc_metrics_snap rlc_metrics_snap;

/* The run's current metrics, reloaded first when metrics.jsonl changed (size,
 * mtime or inode). Each acquire takes a reference: release it. A snapshot
 * stays valid after the file changes; the next acquire returns a new one. */
rlc_status rlc_runs_metrics_acquire(rlc_runs *r, const char *id, rlc_metrics_snap **out);
/* The parsed file; NULL while it holds no complete line. */
const rlc_metrics *rlc_metrics_snap_get(const rlc_metrics_snap *s);
/* A reply computed once per snapshot (the whole-history reply every newly
 * opened page asks for): memo returns a malloc'd copy or NULL; set stores a copy. */
char *rlc_metrics_snap_memo(rlc_metrics_snap *s, size_t *len);
void rlc_metrics_snap_set_memo(rlc_metrics_snap *s, const char *body, size_t len);
/* Drops a reference; NULL is a no-op. */
void rlc_metrics_snap_release(rlc_metrics_snap *s);

/* acquire, fn(metrics or NULL, ctx), release. Returns fn's status, or the
 * error from loading. */
typedef rlc_status (*rlc_runs_metrics_fn)(const rlc_metrics *m, void *ctx);
rlc_status rlc_runs_with_metrics(rlc_runs *r, const char *id, rlc_runs_metrics_fn fn, void *ctx);

/* The run-list reply is asked for by every open page on every poll; it is
 * kept for a short while. rlc_runs_reply_get returns a malloc'd copy of the
 * stored reply when it is at most max_age_s old, else NULL; put stores one. */
char *rlc_runs_reply_get(rlc_runs *r, double max_age_s, size_t *len);
void rlc_runs_reply_put(rlc_runs *r, const char *body, size_t len);

/* One line of emergence/generations.jsonl: where it is, and the two fields
 * that filters use (NAN when absent or not a number). */
typedef struct rlc_gen_ref {
    int64_t off;
    int64_t len;
    double step, reward;
} rlc_gen_ref;

/* Over every indexed line: step and reward ranges (finite values only;
 * +-INFINITY when none), and whether steps never decrease down the file
 * (then a step range can be found by binary search). */
typedef struct rlc_gen_stats {
    double step_min, step_max, reward_min, reward_max;
    double last_step;
    int sorted;
} rlc_gen_stats;

/* Calls fn with the index over the run's generations (extended first by the
 * lines appended since the last call; a shrunk or replaced file is indexed
 * afresh), its stats, and a descriptor of the file to read lines from (pread
 * only). g and stats are NULL and n 0 when the file does not exist. fn runs
 * with no lock held: a slow reader delays nobody. */
typedef rlc_status (*rlc_runs_gen_fn)(const rlc_gen_ref *g, int n, int fd,
                                      const rlc_gen_stats *stats, void *ctx);
rlc_status rlc_runs_with_generations(rlc_runs *r, const char *id, rlc_runs_gen_fn fn, void *ctx);

#endif
