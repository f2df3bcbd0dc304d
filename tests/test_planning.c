/* The HICRA planning-phrase detector (rl/planning.h) on hand-made token
 * splits: phrases across token boundaries (inside a UTF-8 character too),
 * in other case and punctuation, inside non-English text, word boundaries,
 * a replaced phrase list, empty sets and refused input. */
#include "rl/planning.h"

#include <criterion/criterion.h>
#include <string.h>

/* Tokens given as pieces of text; returns the marked pieces as a string of
 * '1'/'0' (one per piece). */
static const char *marks(const char *const *pieces, int n, const char *const *phrases, int np) {
    static char text[512], out[64];
    static size_t end[64];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(pieces[i]);
        memcpy(text + len, pieces[i], k);
        len += k;
        end[i] = len;
    }
    unsigned char m[64];
    int nm = -1;
    cr_assert_eq(rlc_planning_mask(text, len, end, n, phrases, np, m, &nm), RLC_OK, "%s",
                 rlc_last_error());
    int ones = 0;
    for (int i = 0; i < n; i++)
        out[i] = m[i] ? '1' : '0', ones += m[i];
    out[n] = 0;
    cr_assert_eq(nm, ones);
    return out;
}

#define DEF rlc_planning_phrases_default, RLC_PLANNING_DEFAULT_N
#define N(a) (int)(sizeof a / sizeof *a)

Test(planning, phrases_across_token_boundaries) {
    /* "wait let me" spans " Wa" .. " me"; "let me check" " let" .. " check" */
    const char *p[] = {"Hmm", ".", " Wa", "it", ",", " let", " me", " check", " again", "."};
    cr_expect_str_eq(marks(p, N(p), DEF), "0011111100");
    /* a token boundary inside the bytes of U+2019 ("\xe2\x80\x99") */
    const char *q[] = {"So that\xe2\x80", "\x99s not", " right", "!", " Next"};
    cr_expect_str_eq(marks(q, N(q), DEF), "11100");
}

Test(planning, case_punctuation_and_word_boundaries) {
    const char *caps[] = {"LET ME", " VERIFY", " THIS"};
    cr_expect_str_eq(marks(caps, N(caps), DEF), "110");
    const char *punct[] = {"Double-", "check", ": ok"};
    cr_expect_str_eq(marks(punct, N(punct), DEF), "110");
    const char *dash[] = {"WAIT \xe2\x80\x94 ", "let", " me", " see"};
    cr_expect_str_eq(marks(dash, N(dash), DEF), "1110");
    const char *await[] = {"We await", " let", " me", " know"}; /* "await" is not "wait" */
    cr_expect_str_eq(marks(await, N(await), DEF), "0000");
    const char *longer[] = {"let me", " thinking"}; /* "think" inside "thinking" */
    cr_expect_str_eq(marks(longer, N(longer), DEF), "00");
    const char *noapos[] = {"thats", " not right"}; /* the apostrophe is part of the phrase */
    cr_expect_str_eq(marks(noapos, N(noapos), DEF), "00");
}

Test(planning, non_english_text) {
    /* CJK around the phrase: no spaces needed */
    const char *zh[] = {"\xe5\x97\xaf\xef\xbc\x8c", "wait let", " me", "\xe7\x9c\x8b\xe7\x9c\x8b"};
    cr_expect_str_eq(marks(zh, N(zh), DEF), "0110");
    const char *fr[] = {"Attendez,", " on second", " thought", ", c'est faux"};
    cr_expect_str_eq(marks(fr, N(fr), DEF), "0110");
    /* an accented Latin letter is a word character: "\xc3\xa9wait" is no match */
    const char *acc[] = {"\xc3\xa9wait", " let me"};
    cr_expect_str_eq(marks(acc, N(acc), DEF), "00");
    /* a replaced list in Russian, matched across case */
    const char *ru_phr[] = {"\xd0\xbf\xd0\xbe\xd0\xb4\xd0\xbe\xd0\xb6\xd0\xb4\xd0\xb8"};
    const char *ru[] = {"\xd0\x9f\xd0\x9e\xd0\x94\xd0\x9e", "\xd0\x96\xd0\x94\xd0\x98,",
                        " \xd1\x8f \xd0\xbf\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb5\xd1\x80\xd1\x8e"};
    cr_expect_str_eq(marks(ru, N(ru), ru_phr, 1), "110");
}

Test(planning, empty_sets_and_refused_input) {
    const char *none[] = {"The answer", " is", " 42", "."};
    cr_expect_str_eq(marks(none, N(none), DEF), "0000");
    cr_expect_str_eq(marks(none, N(none), NULL, 0), "0000");
    unsigned char m[2];
    const size_t bad[2] = {3, 2}, over[1] = {9};
    const char *ok[] = {"let me check"};
    cr_expect_eq(rlc_planning_mask("abcd", 4, bad, 2, ok, 1, m, NULL), RLC_ERR_INVALID);
    cr_expect_eq(rlc_planning_mask("abcd", 4, over, 1, ok, 1, m, NULL), RLC_ERR_INVALID);
    const char *empty[] = {" ... "};
    const size_t e4[1] = {4};
    cr_expect_eq(rlc_planning_mask("abcd", 4, e4, 1, empty, 1, m, NULL), RLC_ERR_INVALID);
    /* invalid UTF-8 separates words instead of failing */
    const char *inv[] = {"\xff", "let me check", "\xfe"};
    cr_expect_str_eq(marks(inv, N(inv), DEF), "010");
}
