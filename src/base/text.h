/* Small text helpers shared by the parts that name things back to the user. */
#ifndef RLC_BASE_TEXT_H
#define RLC_BASE_TEXT_H

/* Levenshtein distance on at most the first 63 bytes of each string (enough
 * for config keys and registry names), for "did you mean" suggestions. */
int rlc_edit_distance(const char *a, const char *b);

#endif
