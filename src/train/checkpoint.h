/* Checkpoint manager: RUN_DIR/checkpoints/checkpoint-<step>/ directories that
 * appear whole or not at all, each with a manifest of per-file sizes and
 * CRC-32C checksums, pruning to the last K (plus every N-th step), and finding
 * the newest checkpoint whose files still match their manifest.
 *
 * A save is a transaction: begin makes checkpoints/.checkpoint-<step>.tmp/,
 * the caller writes its files there (adapter or model, optimizer state,
 * trainer_state.json), commit checksums and fsyncs every file, writes
 * manifest.json, and renames the folder into place. A crash at any instant
 * leaves the previous checkpoint as the newest complete one. */
#ifndef RLC_TRAIN_CHECKPOINT_H
#define RLC_TRAIN_CHECKPOINT_H

#include "base/status.h"
#include "train/optim.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RLC_CKPT_MANIFEST "manifest.json"
#define RLC_CKPT_STATE "trainer_state.json"        /* required in every checkpoint */
#define RLC_CKPT_OPTIMIZER "optimizer.safetensors" /* exp_avg, exp_avg_sq; step in metadata */

typedef struct rlc_ckpt_tx rlc_ckpt_tx;

/* Which committed checkpoints pruning keeps: the newest keep_last (<= 0: all),
 * plus every step that is a multiple of keep_every (> 0). */
typedef struct rlc_ckpt_keep {
    int keep_last;
    int keep_every;
} rlc_ckpt_keep;

/* Starts a save of `step` (>= 0): creates RUN_DIR/checkpoints/.checkpoint-<step>.tmp/,
 * removing a stale one left by a crash. *out is owned by the caller until
 * rlc_ckpt_commit or rlc_ckpt_abort consumes it. */
rlc_status rlc_ckpt_begin(const char *run_dir, int64_t step, rlc_ckpt_tx **out);
/* The folder to write this checkpoint's files into (valid until commit/abort).
 * Files only: a subfolder makes commit fail. */
const char *rlc_ckpt_dir(const rlc_ckpt_tx *tx);
int64_t rlc_ckpt_step(const rlc_ckpt_tx *tx);

/* Writes optimizer.safetensors: F32 tensors exp_avg = m[n] and exp_avg_sq = v[n],
 * with t and the hyper-parameters in __metadata__ (floats in their shortest exact form). */
rlc_status rlc_ckpt_write_optimizer(rlc_ckpt_tx *tx, const rlc_adamw *opt);
/* Reads DIR/optimizer.safetensors into opt, bit-exact. An opt with no buffers
 * (m == NULL) is initialised with the file's size and hyper-parameters; otherwise
 * sizes must match and opt->p is kept (a resumed run's config decides lr etc.). */
rlc_status rlc_ckpt_read_optimizer(const char *dir, rlc_adamw *opt);
/* Writes trainer_state.json; json_text must parse as a JSON object. */
rlc_status rlc_ckpt_write_state(rlc_ckpt_tx *tx, const char *json_text);

/* Checksums and fsyncs every file, writes manifest.json {"format": 1, "step": N,
 * "files": {name: {"bytes": n, "crc32c": "89abcdef"}}}, fsyncs the folder,
 * renames it to checkpoints/checkpoint-<step>/ (atomically replacing an older
 * save of the same step), fsyncs checkpoints/, then prunes by keep (NULL: no
 * pruning). Consumes tx. On an error before the rename nothing is published and
 * the temporary folder is removed; a pruning error is returned after the
 * checkpoint itself is durable. Pruning never removes this checkpoint, and
 * leaves alone checkpoints with a higher step (from before a resume). */
rlc_status rlc_ckpt_commit(rlc_ckpt_tx *tx, const rlc_ckpt_keep *keep);
/* Removes the temporary folder and frees tx; NULL is a no-op. */
void rlc_ckpt_abort(rlc_ckpt_tx *tx);

/* Removes committed checkpoints that keep does not keep; `protect` (or -1) is
 * never removed and checkpoints with a step above it are left alone. Removal
 * renames to a dot-folder first, so a crash never leaves a half-deleted
 * checkpoint that looks committed. */
rlc_status rlc_ckpt_prune(const char *run_dir, const rlc_ckpt_keep *keep, int64_t protect);

/* Removes what a crash during a replace or a prune left behind
 * (checkpoints/.checkpoint-<step>.old folders, and RUN_DIR/.final.tmp of an
 * interrupted final/: rlc_final_remove_leftovers); unfinished saves (.tmp) stay
 * for rlc resume-check to report, and a new save of their step replaces them. */
rlc_status rlc_ckpt_remove_leftovers(const char *run_dir);

/* Checks DIR against its manifest: every listed file present with its size and
 * checksum, trainer_state.json among them. Returns 1 if intact, else 0 with a
 * one-line reason ("adapter_model.safetensors: checksum mismatch ...") in reason. */
int rlc_ckpt_verify(const char *dir, char *reason, size_t cap);

/* The newest intact checkpoint: *step and its folder in path[cap]. Each newer
 * one that fails rlc_ckpt_verify gets one line on warn (may be NULL) naming it
 * and the reason; temporary folders are ignored. RLC_ERR_NOT_FOUND when there
 * is none (also when RUN_DIR/checkpoints does not exist). */
rlc_status rlc_ckpt_find_latest(const char *run_dir, int64_t *step, char *path, size_t cap,
                                FILE *warn);

/* One entry of a checkpoint report. */
typedef struct rlc_ckpt_info {
    char name[64]; /* "checkpoint-200" or ".checkpoint-300.tmp" */
    int64_t step;
    int temporary; /* an unfinished save: never resumed from */
    int intact;    /* committed and verified (0 for temporary ones) */
    int files;     /* files in the manifest when intact */
    uint64_t bytes;
    char reason[512]; /* why not intact */
} rlc_ckpt_info;

/* Every checkpoint folder under RUN_DIR/checkpoints, verified, newest step
 * first (a temporary folder before the committed one of the same step).
 * *out is malloc'd (free()); *n = 0 and *out = NULL when there are none. */
rlc_status rlc_ckpt_list(const char *run_dir, rlc_ckpt_info **out, int *n);

#endif
