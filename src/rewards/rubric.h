/* Rubric rewards: a YAML file of named, weighted criteria, each a check that
 * needs no model (regex match or no match, contains, length in tokens or
 * characters, the answer's number against the reference, JSON, exact format),
 * nested in groups as deep as RLC_RUBRIC_MAX_DEPTH. The format is in the
 * README ("Rubric rewards"); examples/rubrics/ has one. */
#ifndef RLC_REWARDS_RUBRIC_H
#define RLC_REWARDS_RUBRIC_H

#include "base/status.h"

#include <stddef.h>

#define RLC_RUBRIC_MAX_CRITERIA 32 /* criteria in one rubric, groups included */
#define RLC_RUBRIC_MAX_DEPTH 4     /* levels of criteria, the top one included */
#define RLC_RUBRIC_NAME_MAX 64     /* bytes of the rubric's name or a criterion path, NUL too */

typedef struct rlc_rubric rlc_rubric;

/* Reads and checks the rubric file at path. Errors are one line,
 * "PATH:LINE: FIELD: what was expected" (FORMAT for a malformed file, INVALID
 * for a bad value, NOT_FOUND / IO when it cannot be read). */
rlc_status rlc_rubric_load(const char *path, rlc_rubric **out);
/* The same from text in memory; file names it in messages. */
rlc_status rlc_rubric_parse(const char *text, size_t len, const char *file, rlc_rubric **out);
/* NULL is a no-op. */
void rlc_rubric_free(rlc_rubric *r);

const char *rlc_rubric_name(const rlc_rubric *r);
/* The criteria, groups included, in file order (a group before its members):
 * count, and each one's path, its ancestors' names and its own joined by '.'
 * ("format.tags"). */
int rlc_rubric_count(const rlc_rubric *r);
const char *rlc_rubric_criterion(const rlc_rubric *r, int i);
/* How many of them are groups. */
int rlc_rubric_groups(const rlc_rubric *r);

/* Scores one completion (NUL-terminated; reference as in rewards.h, NULL
 * reads as "") of num_tokens tokens (-1: unknown, and a token bound then
 * fails). Writes each criterion's score to criteria[rlc_rubric_count] (may be
 * NULL): a check 0 or 1, a group the weighted mean of its members; returns the
 * weighted mean of the top-level criteria, in [0, 1]. Thread-safe. */
float rlc_rubric_score(const rlc_rubric *r, const char *completion, const char *reference,
                       int num_tokens, float *criteria);

#endif
