#include "rl/planning.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

const char *const rlc_planning_phrases_default[RLC_PLANNING_DEFAULT_N] = {
    "wait let me",    "let me think",   "on second thought", "let me check",
    "let me verify",  "is this right",  "double check",      "try another approach",
    "go back and",    "start over",     "that's not right",  "that doesn't work",
    "another way to", "or we could",    "what if we",        "notice that",
    "the key is",     "the key insight"};

/* Normalised text: bytes, and for each byte the source range it stands for. */
typedef struct norm {
    char *s;
    size_t *from, *to; /* source bytes [from[i], to[i]) of normalised byte i */
    size_t n, cap;
} norm;

static int push(norm *z, const char *b, size_t k, size_t from, size_t to) {
    if (z->n + k > z->cap) {
        size_t cap = z->cap ? 2 * z->cap : 64;
        while (cap < z->n + k)
            cap *= 2;
        char *s = realloc(z->s, cap);
        if (s) z->s = s;
        size_t *f = realloc(z->from, cap * sizeof *f);
        if (f) z->from = f;
        size_t *t = realloc(z->to, cap * sizeof *t);
        if (t) z->to = t;
        if (!s || !f || !t) return -1;
        z->cap = cap;
    }
    for (size_t i = 0; i < k; i++) {
        z->s[z->n] = b[i];
        z->from[z->n] = from, z->to[z->n] = to;
        z->n++;
    }
    return 0;
}

/* A letter or digit: kept (lowercased); the rest separates. */
static int is_word(utf8proc_int32_t c) {
    utf8proc_category_t cat = utf8proc_category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) ||
           (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME);
}

/* Latin letters and digits: what a match may not touch. */
static int is_latin_word(utf8proc_int32_t c) {
    return (c < 128 && ((c | 32) >= 'a' && (c | 32) <= 'z')) || (c >= '0' && c <= '9') ||
           (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7);
}

static int normalise(const char *text, size_t len, norm *z) {
    size_t i = 0;
    int space = 1; /* no leading space */
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) c = -1, k = 1; /* an invalid byte separates */
        size_t from = i;
        i += (size_t)k;
        if (c == '\'' || c == 0x2019) {
            if (push(z, "'", 1, from, i)) return -1;
            space = 0;
        } else if (c >= 0 && is_word(c)) {
            utf8proc_uint8_t b[4];
            utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(c), b);
            if (push(z, (const char *)b, (size_t)m, from, i)) return -1;
            space = 0;
        } else if (!space) {
            if (push(z, " ", 1, from, i)) return -1;
            space = 1;
        }
    }
    if (z->n && z->s[z->n - 1] == ' ') z->n--;
    return 0;
}

/* The code point of normalised bytes ending at end (exclusive), or -1. */
static utf8proc_int32_t last_cp(const norm *z, size_t end) {
    if (end == 0) return -1;
    size_t b = end - 1;
    while (b > 0 && ((unsigned char)z->s[b] & 0xC0) == 0x80)
        b--;
    utf8proc_int32_t c;
    return utf8proc_iterate((const utf8proc_uint8_t *)z->s + b, (utf8proc_ssize_t)(end - b), &c) > 0
               ? c
               : -1;
}

static utf8proc_int32_t first_cp(const norm *z, size_t at) {
    if (at >= z->n) return -1;
    utf8proc_int32_t c;
    return utf8proc_iterate((const utf8proc_uint8_t *)z->s + at, (utf8proc_ssize_t)(z->n - at),
                            &c) > 0
               ? c
               : -1;
}

static void norm_free(norm *z) {
    free(z->s), free(z->from), free(z->to);
}

rlc_status rlc_planning_mask(const char *text, size_t len, const size_t *tok_end, int n_tok,
                             const char *const *phrases, int n_phrases, unsigned char *mask,
                             int *n_marked) {
    for (int t = 0; t < n_tok; t++)
        if (tok_end[t] > len || (t > 0 && tok_end[t] < tok_end[t - 1]))
            return rlc_errorf(RLC_ERR_INVALID,
                              "planning: token %d ends at byte %zu (text %zu bytes, previous %zu)",
                              t, tok_end[t], len, t ? tok_end[t - 1] : 0);
    for (int t = 0; t < n_tok; t++)
        mask[t] = 0;
    norm z = {0};
    rlc_status st = RLC_OK;
    if (normalise(text, len, &z)) st = rlc_errorf(RLC_ERR_NOMEM, "planning: out of memory");
    for (int p = 0; st == RLC_OK && p < n_phrases; p++) {
        norm q = {0};
        if (normalise(phrases[p], strlen(phrases[p]), &q)) {
            st = rlc_errorf(RLC_ERR_NOMEM, "planning: out of memory");
        } else if (q.n == 0) {
            st = rlc_errorf(RLC_ERR_INVALID, "planning: phrase %d ('%s') has no letters", p,
                            phrases[p]);
        } else {
            for (size_t at = 0; at + q.n <= z.n; at++) {
                if (memcmp(z.s + at, q.s, q.n)) continue;
                if (is_latin_word(last_cp(&z, at)) || is_latin_word(first_cp(&z, at + q.n)))
                    continue;
                size_t a = z.from[at], b = z.to[at + q.n - 1];
                for (int t = 0; t < n_tok; t++) {
                    size_t s = t ? tok_end[t - 1] : 0, e = tok_end[t];
                    if (s < b && e > a) mask[t] = 1;
                }
            }
        }
        norm_free(&q);
    }
    norm_free(&z);
    int n = 0;
    for (int t = 0; t < n_tok; t++)
        n += mask[t];
    if (n_marked) *n_marked = st == RLC_OK ? n : 0;
    return st;
}
