#ifndef RLC_BASE_STRBUF_H
#define RLC_BASE_STRBUF_H

#include <stddef.h>

/* A growable text buffer, always NUL-terminated once anything was put; an
 * allocation failure sets oom and drops the rest (check oom once at the end). */
typedef struct rlc_strbuf {
    char *p;
    size_t len, cap;
    int oom;
} rlc_strbuf;

void rlc_sb_put(rlc_strbuf *b, const char *s, size_t n);
/* Appends the C string s. */
void rlc_sb_cstr(rlc_strbuf *b, const char *s);
void rlc_sb_printf(rlc_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties b, keeping its memory. */
void rlc_sb_reset(rlc_strbuf *b);
void rlc_sb_free(rlc_strbuf *b);

/* Appends s as a JSON string literal: invalid UTF-8 bytes become U+FFFD and
 * at most max_chars code points are kept (0: all). */
void rlc_sb_json_string(rlc_strbuf *b, const char *s, size_t max_chars);
/* Appends s as valid UTF-8 (invalid bytes become U+FFFD), at most max_chars
 * code points (0: all). */
void rlc_sb_utf8(rlc_strbuf *b, const char *s, size_t max_chars);

#endif
