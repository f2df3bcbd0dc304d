/* Prompt sources for training and evaluation: the built-in arithmetic
 * environment or a GSM8K-form JSONL data set, behind one indexable view.
 * Item i of a split is a pure function of (source, i), so a resumed run or a
 * different batch layout sees the same prompts. */
#ifndef RLC_TRAIN_SOURCE_H
#define RLC_TRAIN_SOURCE_H

#include "data/jsonl.h"
#include "envs/arithmetic.h"

typedef enum rlc_source_kind { RLC_SOURCE_ARITH = 0, RLC_SOURCE_QA } rlc_source_kind;

typedef struct rlc_source {
    rlc_source_kind kind;
    rlc_arith_params train_p, eval_p; /* arithmetic: same knobs, other split */
    rlc_qa_set qa;                    /* QA: train items [0, n_train), eval items after */
    rlc_qa_set qa_eval;               /* a separate eval file, if given */
    size_t n_train, n_eval;
} rlc_source;

/* Arithmetic problems; eval problems come from the held-out part of the space. */
rlc_status rlc_source_arith(rlc_source *s, const rlc_arith_params *p);
/* A GSM8K-form file; without eval_path the last 10% (at least 1) is held out. */
rlc_status rlc_source_jsonl(rlc_source *s, const char *train_path, const char *eval_path);
void rlc_source_free(rlc_source *s);

/* Item i of the train (eval = 0) or eval split (i wraps around a finite set):
 * the prompt text, the reference answer, and the SFT target completion. Any
 * output pointer may be NULL. */
rlc_status rlc_source_item(const rlc_source *s, int eval, uint64_t i, char *prompt, size_t pcap,
                           char *ref, size_t rcap, char *target, size_t tcap);

#endif
