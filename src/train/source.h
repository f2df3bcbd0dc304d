/* Prompt sources for training and evaluation: the built-in arithmetic
 * environment, a JSONL data set (any record form of data/jsonl.h) or an
 * external process (data/extsource.h, endless like arithmetic), behind
 * one indexable view. Item i of a split is a pure function of (source, i):
 * the training order of epoch e is a permutation keyed by (data.seed, e), so a
 * resumed run or a different batch layout sees the same prompts. */
#ifndef RLC_TRAIN_SOURCE_H
#define RLC_TRAIN_SOURCE_H

#include "data/extsource.h"
#include "data/jsonl.h"
#include "envs/arithmetic.h"
#include "envs/games/games.h"
#include "tokenizer/chat.h"
#include "train/runconfig.h"

typedef enum rlc_source_kind {
    RLC_SOURCE_ARITH = 0,
    RLC_SOURCE_QA,
    RLC_SOURCE_GAMES,
    RLC_SOURCE_EXT
} rlc_source_kind;

typedef struct rlc_source {
    rlc_source_kind kind;
    rlc_arith_params train_p, eval_p; /* arithmetic: same knobs, other split */
    rlc_record_set recs;              /* data.path's files, one after the other */
    rlc_record_set recs_eval;         /* data.eval_path's, if given */
    size_t *train_idx, *eval_idx;     /* the kept items: indices into recs / the eval records */
    size_t n_train, n_eval;           /* arithmetic: 0 (endless) */
    int eval_file;                    /* eval items index recs_eval (else recs) */
    const rlc_run_config *cfg; /* borrowed: data.system_prompt, shuffle, seed, target_format */
    size_t skipped_train, skipped_eval; /* prompts over max_prompt_tokens */
    rlc_game *games;                    /* games: the cases (train item k: case k % n_games, */
    int n_games;                        /* task k / n_games; eval item j: a later task) */
    uint64_t *game_train_hash;          /* games: hashes of case c's training positions, */
                                        /* sorted, at [c * num_tasks_per_case, ...) */
    rlc_ext_source *ext;                /* external: the process serving prompts */
} rlc_source;

/* The source data.* describes: arithmetic, or data.path's files as one data
 * set (none for an evaluation-only source) with data.eval_path's or the
 * data.val_fraction tail of the whole set held out. Nothing is skipped yet. c must outlive the
 * source: the keys that shape each item are read (RLC_RC) where the item is made. */
rlc_status rlc_source_from_config(const rlc_run_config *c, rlc_source *s);
void rlc_source_free(rlc_source *s);

/* Tokens of a prompt once rendered (the policy's chat format and tokenizer). */
typedef rlc_status (*rlc_prompt_len_fn)(void *ctx, const rlc_chat_msg *msgs, int n, int *len);

/* Drops the JSONL items whose prompt is longer than max_tokens from both
 * splits, counts them (skipped_train, skipped_eval) and logs the counts.
 * RLC_ERR_INVALID when a split that had items has none left. */
rlc_status rlc_source_skip_long(rlc_source *s, rlc_prompt_len_fn len, void *ctx, int max_tokens);

/* Problems an evaluation of eval_size (data.eval_size: 0 = the whole split)
 * scores: eval_size capped at the split's size; arithmetic: eval_size. */
int rlc_source_eval_count(const rlc_source *s, int eval_size);

struct rlc_policy;
/* After the policy exists: skips the JSONL prompts longer than
 * data.max_prompt_tokens once rendered by the policy, then, when
 * training.steps is 0, sets c->training.steps to
 * ceil(training.epochs * training examples / training.batch_size) and logs
 * how. RLC_ERR_INVALID when that is 0 steps. */
rlc_status rlc_source_prepare(rlc_source *s, const struct rlc_policy *pol, rlc_run_config *c);

/* One item: the conversation before the completion (the system prompt first
 * when there is one), the reward's reference and the SFT target. */
typedef struct rlc_source_ex {
    rlc_chat_msg *msgs; /* owned array; contents borrowed from the source or owned below */
    int n_msgs;
    char *reference, *target; /* owned */
    char *owned_prompt;       /* arithmetic: the generated problem */
    char *metadata;           /* external: the item's "metadata" as JSON text (owned; NULL: none) */
} rlc_source_ex;

/* Item i of the train (eval = 0) or eval split (i wraps around a finite split;
 * train item i is epoch i / n_train, shuffled when data.shuffle). Release with
 * rlc_source_ex_free. */
rlc_status rlc_source_get(const rlc_source *s, int eval, uint64_t i, rlc_source_ex *ex);
void rlc_source_ex_free(rlc_source_ex *ex);

/* The messages of a game position as a data.source=games item shows it (the
 * system prompt, then the position's prompt): for full games, where the
 * model answers positions no item holds. Only msgs, n_msgs and owned_prompt
 * are set (ex zeroed first by the caller; release with rlc_source_ex_free). */
rlc_status rlc_source_game_prompt(const rlc_source *s, const rlc_game *g, const rlc_game_state *st,
                                  rlc_source_ex *ex);

/* The record index of train position pos in epoch `epoch` (exposed for tests). */
size_t rlc_source_train_index(const rlc_source *s, uint64_t epoch, size_t pos);

#endif
