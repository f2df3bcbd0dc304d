/* Built-in reward functions: text in, score out, no model code.
 * Each reward is a pure function of (completion, reference) registered once in
 * one table (name, function, maximum, help); a reward set picks some of them
 * with weights, and the trainer logs every reward separately plus the
 * weighted total. */
#ifndef RLC_REWARDS_REWARDS_H
#define RLC_REWARDS_REWARDS_H

#include "base/status.h"

#include <stddef.h>

/* A reward: completion is the generated text (prompt excluded), reference the
 * data set's answer ("46"). Both NUL-terminated; NULL reads as "". The result
 * is in [0, max_value] of the reward's table entry. Thread-safe, no allocation. */
typedef float (*rlc_reward_fn)(const char *completion, const char *reference);

typedef struct rlc_reward_def {
    const char *name; /* the key in configs and metrics: rewards/<name>_mean */
    rlc_reward_fn fn;
    float max_value;
    const char *help; /* one line, for `rlc` help and the metric legend */
} rlc_reward_def;

/* The table of built-ins, in a fixed order. */
size_t rlc_reward_count(void);
const rlc_reward_def *rlc_reward_at(size_t i);
/* Exact name lookup; NULL if there is none (no error is set). */
const rlc_reward_def *rlc_reward_find(const char *name);
/* Like rlc_reward_find but sets RLC_ERR_NOT_FOUND with a one-line message
 * naming the closest built-in ("did you mean") and listing all of them. */
rlc_status rlc_reward_lookup(const char *name, const rlc_reward_def **out);

/* format_exact: 1 if the completion, after trimming surrounding whitespace, is
 *     <reasoning>R</reasoning>W<answer>A</answer>
 * where W is whitespace only (possibly empty), R and A contain none of the four
 * tags, and A is not blank; else 0. R may span lines and may be empty. This is
 * TRL's strict pattern `^<reasoning>\n.*?\n</reasoning>\n<answer>\n.*?\n</answer>\n$`
 * without its accidents: the newlines are optional and R may have several lines. */
float rlc_reward_format_exact(const char *completion, const char *reference);
/* format_approx: 0.25 for each of <reasoning>, </reasoning>, <answer>,
 * </answer> that occurs exactly once (any order), minus 0.001 per byte of text
 * after the last </answer> (trailing whitespace not counted), floored at 0. */
float rlc_reward_format_approx(const char *completion, const char *reference);
/* answer_check: A = the extracted answer (rlc_reward_extract_answer), trimmed;
 * no answer -> 0. A equal to the trimmed reference byte for byte -> 1. Else if
 * both parse as numbers (rlc_reward_parse_number) with values a and r:
 * 0.5 if |a-r| <= 10% of |r|, 0.25 if |a-r| <= 20% of |r|, else 0. So "46.0"
 * for "46" earns 0.5: this reward asks for the reference's exact text,
 * number_check for its value. */
float rlc_reward_answer_check(const char *completion, const char *reference);
/* number_check: 1 if the extracted answer and the reference both parse as
 * numbers and are the same decimal value, compared exactly (no rounding):
 * "1,000" == "1000" == "+1000.00" == "$1000"; else 0. */
float rlc_reward_number_check(const char *completion, const char *reference);

/* "Correct", the accuracy metric: number_check == 1 or answer_check == 1, i.e.
 * the answer inside <answer> tags is the reference's text or its value. It does
 * not depend on which rewards a run trains with. Returns 1 or 0. */
int rlc_reward_correct(const char *completion, const char *reference);

/* DAPO's overlong penalty, added to the total reward: 0 for a completion of
 * len <= max_len - buffer tokens, then falling linearly to -factor at
 * max_len: -factor * (len - (max_len - buffer)) / buffer, never above 0 and
 * never below -factor (a completion is cut at max_len). buffer <= 0: off. */
float rlc_reward_overlong(int len, int max_len, int buffer, float factor);

/* The answer of a completion: the text between the last <answer> that is
 * followed by a </answer> and the first </answer> after it (so with several
 * answers the last one counts, with nested tags the innermost, and an unclosed
 * <answer> at the end, as from a truncated generation, does not count).
 * Returns 0 with start and len untouched if there is none. Not trimmed. */
int rlc_reward_extract_answer(const char *completion, const char **start, size_t *len);

/* Parses s[0..len) as a whole number after trimming ASCII whitespace:
 *     [+-]? $? D ( . digits? )?   or   [+-]? $? . digits
 * where D is digits with optional single commas between digit groups
 * ("1,000", not ",1" or "1,,0"); no exponents. On success writes the value to
 * *value (may be NULL) and the canonical decimal text to canon (may be NULL):
 * no sign for zero, commas and leading zeros dropped, trailing fraction zeros
 * and a bare point dropped ("-0,012.50" -> "-12.5"). Returns 1 on success, 0 if
 * s is not a number or canon (cap bytes) is too small. */
int rlc_reward_parse_number(const char *s, size_t len, double *value, char *canon, size_t cap);

/* A chosen subset of rewards with weights, and optionally a rubric
 * (rewards/rubric.h) scored after them as the reward named "rubric".
 * per_reward values are the raw (unweighted) scores, logged separately;
 * total = sum of weight * score. */
#define RLC_REWARD_SET_MAX 16
#define RLC_REWARD_RUBRIC "rubric"
#define RLC_REWARD_EXT_MAX 8
typedef struct rlc_rubric rlc_rubric;
typedef struct rlc_ext rlc_ext;
typedef struct rlc_reward_set {
    size_t n; /* built-ins */
    const rlc_reward_def *defs[RLC_REWARD_SET_MAX];
    float weights[RLC_REWARD_SET_MAX];
    rlc_rubric *rubric; /* owned (rlc_reward_set_free); NULL: none */
    float rubric_weight;
    /* external verifiers (rewards/external.h), scored after the rubric */
    size_t n_ext;
    rlc_ext *ext[RLC_REWARD_EXT_MAX]; /* owned */
    char ext_names[RLC_REWARD_EXT_MAX][32];
    float ext_weights[RLC_REWARD_EXT_MAX];
    int ext_skip;       /* a failed completion's group carries no gradient */
    float ext_on_error; /* else its external reward is this */
} rlc_reward_set;

/* Empties set. */
void rlc_reward_set_init(rlc_reward_set *set);
/* Appends a reward by name with a finite weight. Errors: unknown name
 * (NOT_FOUND, with a suggestion), duplicate, non-finite weight, set full. */
rlc_status rlc_reward_set_add(rlc_reward_set *set, const char *name, float weight);
/* Parses "name[:weight],name[:weight],..." (weight defaults to 1; spaces
 * around items allowed) into a fresh set; an empty spec is an error. */
rlc_status rlc_reward_set_parse(rlc_reward_set *set, const char *spec);
/* Adds rubric with a finite weight; the set owns it from then on, also when
 * this fails (a rubric already set, non-finite weight, set full). */
rlc_status rlc_reward_set_add_rubric(rlc_reward_set *set, rlc_rubric *rubric, float weight);
/* Adds an external verifier x named name with a finite weight; the set owns
 * x from then on, also when this fails (a name taken, set full, non-finite
 * weight). */
rlc_status rlc_reward_set_add_external(rlc_reward_set *set, const char *name, rlc_ext *x,
                                       float weight);
/* Frees the rubric, ends the external verifiers and empties set. */
void rlc_reward_set_free(rlc_reward_set *set);
/* Rewards scored per completion: the built-ins, the rubric if any, then the
 * external verifiers. */
size_t rlc_reward_set_size(const rlc_reward_set *set);
/* Name of reward k of rlc_reward_set_size: a built-in's, "rubric", or an
 * external verifier's. */
const char *rlc_reward_set_name(const rlc_reward_set *set, size_t k);
/* Criteria of the rubric (rlc_rubric_count), 0 without one. */
int rlc_reward_set_criteria(const rlc_reward_set *set);
/* Scores one completion of num_tokens tokens (-1: unknown, see
 * rlc_rubric_score): per_reward[rlc_reward_set_size], criteria (the rubric's,
 * [rlc_reward_set_criteria]) and *total, each may be NULL. */
void rlc_rewards_score(const rlc_reward_set *set, const char *completion, const char *reference,
                       int num_tokens, float *per_reward, float *criteria, float *total);
/* rlc_rewards_score for n completions at once, the external verifiers each
 * asked with one batch: prompts[i] (NULL: ""), completions[i], references[i],
 * metadata[i] (JSON text; the array or an entry NULL: null) and num_tokens[i]
 * (NULL: unknown). per_reward [n, rlc_reward_set_size], criteria [n,
 * rlc_reward_set_criteria] and total [n] as rlc_rewards_score, each may be
 * NULL; failed[i] (may be NULL) = 1 when an external verifier could not score
 * completion i (its reward is then ext_on_error). Errors: NOMEM, or a
 * verifier process that cannot be started (pipe/fork). */
rlc_status rlc_rewards_score_batch(const rlc_reward_set *set, int n, const char *const *prompts,
                                   const char *const *completions, const char *const *references,
                                   const char *const *metadata, const int *num_tokens,
                                   float *per_reward, float *criteria, float *total,
                                   unsigned char *failed);
/* rlc_rewards_score without a token count or criteria. */
void rlc_rewards_compute(const rlc_reward_set *set, const char *completion, const char *reference,
                         float *per_reward, float *total);
/* The largest total the set can give (sum of positive weight * max_value;
 * a rubric's maximum is 1). */
float rlc_reward_set_max(const rlc_reward_set *set);

#endif
