/* Built-in arithmetic environment: generated problems ("12+34=" -> "46") with
 * difficulty knobs, for the demo and for smoke tests of the trainer.
 * Problem i is a pure function of (params, i): it is drawn with the
 * counter-based RNG keyed by (seed, i), so any problem can be regenerated
 * alone, in any order, on any rank, and a resumed run sees the same ones.
 *
 * Train/eval separation is by content, not by seed: every expression hashes
 * (independently of seed and style) into the eval part with probability
 * eval_fraction, else into the train part. A problem generator for one split
 * redraws until the expression falls into its part, so no eval expression can
 * ever appear in training, whatever the seeds and index ranges (small problem
 * spaces like 2-digit addition, 8100 problems, would otherwise overlap). */
#ifndef RLC_ENVS_ARITHMETIC_H
#define RLC_ENVS_ARITHMETIC_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>

/* Values are only ever appended to: they appear in configs. */
typedef enum rlc_arith_style {
    RLC_ARITH_COMPACT = 0,  /* "12+34="            target "<answer>46</answer>" */
    RLC_ARITH_QUESTION = 1, /* "What is 12 + 34?"  target with <reasoning> and <answer> */
} rlc_arith_style;

typedef enum rlc_arith_split {
    RLC_ARITH_SPLIT_ALL = 0,   /* no filtering */
    RLC_ARITH_SPLIT_TRAIN = 1, /* expressions outside the eval part */
    RLC_ARITH_SPLIT_EVAL = 2,  /* expressions in the eval part */
} rlc_arith_split;

typedef struct rlc_arith_params {
    int digits;       /* each operand has exactly this many digits (1: 0..9), 1..9 */
    char ops[8];      /* operators drawn uniformly from this string, each of "+-*";
                         repeats weight ("++-" is 2/3 plus) */
    int min_operands; /* operand count uniform in [min, max], 2 <= min <= max <= 8 */
    int max_operands;
    int allow_negative;   /* 0: only problems with a non-negative answer */
    int style;            /* rlc_arith_style */
    int split;            /* rlc_arith_split */
    double eval_fraction; /* share of expressions in the eval part, in (0, 1) */
    uint64_t seed;
} rlc_arith_params;

/* 2-digit addition, compact style, train split, eval_fraction 0.1, seed 0. */
rlc_arith_params rlc_arith_default_params(void);

/* Checks every knob; INVALID with a message naming the field otherwise. With
 * '*' the largest product must fit in 64 bits: digits * max_operands <= 18. */
rlc_status rlc_arith_validate(const rlc_arith_params *p);

/* Problem `index`: prompt text (e.g. "12+34=") and reference answer ("46"),
 * both NUL-terminated. The usual precedence applies ('*' before '+' and '-',
 * left to right otherwise). Errors: invalid params, a buffer too small
 * (INVALID), or a split with no expression found in 4096 draws (INVALID; only
 * for tiny problem spaces). Without allow_negative a negative draw is redrawn;
 * after 31 negative draws in a row the next one has its '-' turned into '+'. */
rlc_status rlc_arith_problem(const rlc_arith_params *p, uint64_t index, char *prompt, size_t cap,
                             char *answer, size_t acap);

/* The SFT target for problem `index`: compact style "<answer>46</answer>";
 * question style "<reasoning>\n12 + 34 = 46\n</reasoning>\n<answer>\n46\n</answer>",
 * which earns full format_exact, format_approx, answer_check and number_check. */
rlc_status rlc_arith_target(const rlc_arith_params *p, uint64_t index, char *target, size_t cap);

/* Whether a compact expression ("12+34", no spaces, no "=") lies in the eval
 * part for this eval_fraction: the membership test behind the splits. */
int rlc_arith_is_eval(const char *expr, double eval_fraction);

#endif
