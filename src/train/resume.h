/* Reruns, resumes and stops. What a run directory already holds (checkpoints
 * with their stored config, final/ with its step, metrics) decides whether the
 * same command continues the run, starts fresh, is refused (it would mix two
 * experiments) or has nothing left to do; a signal stop is recorded in
 * RUN_DIR/STOPPED. The train loop (run.c) asks here and acts. */
#ifndef RLC_TRAIN_RESUME_H
#define RLC_TRAIN_RESUME_H

#include "base/status.h"
#include "model/model.h"
#include "rl/transform.h"
#include "train/backpressure.h"
#include "train/optim.h"
#include "train/runconfig.h"

#include <stddef.h>
#include <stdint.h>

#define RLC_RUN_STOPPED "STOPPED"          /* RUN_DIR/STOPPED: a one-line JSON object */
#define RLC_RUN_CONFIG "config.yaml"       /* RUN_DIR/ and every checkpoint: the resolved config */
#define RLC_RUN_STATE "trainer_state.json" /* in checkpoints and final/ */

typedef enum {
    RLC_RERUN_FRESH = 0, /* start at step 0 (after removing the old run when overwrite) */
    RLC_RERUN_RESUME,    /* continue from checkpoint */
    RLC_RERUN_COMPLETE   /* the run is finished: nothing to do, nothing touched */
} rlc_rerun_action;

typedef struct rlc_rerun_plan {
    rlc_rerun_action action;
    int overwrite;         /* FRESH: the old run's files go first (rlc_rerun_clear) */
    int64_t step;          /* RESUME: the checkpoint's step; COMPLETE: the final step */
    char checkpoint[4096]; /* RESUME: the checkpoint folder */
    int replaces_final;    /* RESUME/FRESH over a finished run whose training.steps grew */
    int early;             /* COMPLETE: the run ended at training.stop_at_accuracy */
} rlc_rerun_plan;

/* Decides what running config c in run_dir means, reading and never writing:
 * checkpoint.resume=overwrite: FRESH with overwrite; never: FRESH, refused
 * (RLC_ERR_INVALID) when run_dir holds a run; auto: the newest intact
 * checkpoint and final/ are compared with c. A key that changes the
 * experiment (rlc_run_config_changes) is refused with every such key as
 * "key: old -> new" and the ways out; a finished run (final/trainer_state.json
 * step == training.steps) is COMPLETE; otherwise RESUME from the newest
 * checkpoint (or FRESH without one). Logs damaged checkpoints it skipped and
 * the keys that differ but may. */
rlc_status rlc_rerun_plan_make(const rlc_run_config *c, const char *run_dir, rlc_rerun_plan *plan);

/* The step a finished run recorded in RUN_DIR/final/trainer_state.json, or -1
 * when final/ has none (no final/, or one whose writing was interrupted);
 * *early (may be NULL) 1 when the run ended there at training.stop_at_accuracy. */
rlc_status rlc_run_final_step(const char *run_dir, long *step, int *early);

/* Removes the files an earlier run left in run_dir: config.yaml, metrics.jsonl,
 * STOPPED, checkpoints/, emergence/, tb/, logs/, final/. Other files stay. */
rlc_status rlc_rerun_clear(const char *run_dir);

/* Loads checkpoint folder ckpt (of `step`) into the model's trainable weights
 * and opt, and checks its trainer_state.json against c (step, seed,
 * data_cursor: step x batch_size, or at least that with dynamic sampling); a
 * LoRA adapter against a full-model run (or the reverse) is named as such.
 * *run_correct, *run_total and *cursor receive the running counters and the
 * data cursor; sepa (NULL: the run has none) SEPA's state, which the file
 * must hold; bp (NULL: no back pressure) the controller's state, its batch
 * within bpp's limits (with it the cursor need only be at least step x
 * backpressure.min_batch_size). */
rlc_status rlc_resume_load(const rlc_run_config *c, const char *ckpt, int64_t step, rlc_model *m,
                           rlc_adamw *opt, long *run_correct, long *run_total, long *cursor,
                           rlc_sepa_state *sepa, const rlc_bp_params *bpp, rlc_bp_state *bp);

/* trainer_state.json of a run after `step` steps (one line, with newline):
 * cursor is the next train example (step x batch_size but with dynamic
 * sampling); sepa (NULL: the run has none) adds SEPA's state as "sepa": {"gate_open":
 * true, "warmup_seen": 3, "var_ema": 1.25, "var_0": null}, doubles in their
 * shortest exact form; reached (NAN: none) is the evaluation accuracy that
 * ended the run at training.stop_at_accuracy, as "stopped_at_accuracy"; bp
 * (NULL: none) adds back pressure's state as "backpressure": {"steps", "batch",
 * "ema", "fit": {a, b, c, sigma, kappa, lambda} or null, "p": [...], "x": [...]}
 * (about 5 KB with a full window: cap must hold it). */
void rlc_trainer_state_format(const rlc_run_config *c, int step, long run_correct, long run_total,
                              long cursor, const rlc_sepa_state *sepa, const rlc_bp_state *bp,
                              double reached, char *buf, size_t cap);

/* RUN_DIR/STOPPED, written atomically: {"signal": "SIGINT", "step": N,
 * "checkpoint": "checkpoints/checkpoint-N", "time": "2026-01-02T03:04:05Z"}. */
rlc_status rlc_run_mark_stopped(const char *run_dir, int sig, int step);
/* Removes RUN_DIR/STOPPED (missing is fine). */
rlc_status rlc_run_clear_stopped(const char *run_dir);

/* SIGINT/SIGTERM ask the loop to stop after the current step; a second one
 * ends the process at once with 128+signal (no checkpoint). A signal the
 * process inherited as ignored (nohup) stays ignored. install/restore pair. */
void rlc_stop_install(void);
void rlc_stop_restore(void);
/* The stop signal received since install (0 for none). */
int rlc_stop_signal(void);
/* "SIGINT", "SIGTERM" or "signal N" (static storage for the last). */
const char *rlc_signal_name(int sig);

#endif
