/* Planning tokens for HICRA (seed 000): the tokens of a completion that a
 * planning phrase ("wait let me", "let me check", ...) covers. Phrases are
 * matched on the decoded text, then mapped back to the tokens whose bytes
 * they overlap, so a phrase split across tokens marks every one of them. */
#ifndef RLC_RL_PLANNING_H
#define RLC_RL_PLANNING_H

#include "base/status.h"

#include <stddef.h>

/* The seed's 18 phrases, lowercase; RLC_PLANNING_DEFAULT_N of them. */
#define RLC_PLANNING_DEFAULT_N 18
extern const char *const rlc_planning_phrases_default[RLC_PLANNING_DEFAULT_N];

/* mask[i] = 1 when token i overlaps a match of one of the phrases in text
 * (len bytes, UTF-8; invalid bytes count as separators), else 0; *n_marked
 * (may be NULL) counts the 1s. Token i covers bytes [tok_end[i-1],
 * tok_end[i]) (tok_end[-1] = 0), tok_end non-decreasing and <= len.
 *
 * Matching: text and phrases are compared after the same normalisation:
 * letters and digits lowercased (Unicode simple case mapping), the
 * apostrophes ' and U+2019 kept as ', every run of other characters
 * (spaces, punctuation, symbols) one space. A match starts and ends at a word
 * boundary: the character before and after it (if any) is not a Latin letter
 * or digit (ASCII or U+00C0..U+024F), so "wait let me" is found in "Wait, let
 * me", "嗯wait let me看看" and "WAIT — LET ME", not in "await let me".
 * Returns RLC_ERR_INVALID for bad offsets or an empty phrase, RLC_ERR_NOMEM. */
rlc_status rlc_planning_mask(const char *text, size_t len, const size_t *tok_end, int n_tok,
                             const char *const *phrases, int n_phrases, unsigned char *mask,
                             int *n_marked);

#endif
