#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rlc_sb_put(rlc_strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void rlc_sb_cstr(rlc_strbuf *b, const char *s) {
    rlc_sb_put(b, s, strlen(s));
}

void rlc_sb_printf(rlc_strbuf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        rlc_sb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rlc_sb_put(b, big, (size_t)n);
    free(big);
}

void rlc_sb_reset(rlc_strbuf *b) {
    b->len = 0;
    if (b->p) b->p[0] = 0;
}

void rlc_sb_free(rlc_strbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- JSON strings ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are
 * not one (overlong forms, surrogates and values past U+10FFFF included). */
static int utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4) return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))) return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))) return 0;
    return n;
}

void rlc_sb_json_string(rlc_strbuf *b, const char *s, size_t max_chars) {
    const unsigned char *p = (const unsigned char *)s;
    rlc_sb_put(b, "\"", 1);
    for (size_t chars = 0; *p && (max_chars == 0 || chars < max_chars); chars++) {
        /* a run of plain printable ASCII goes in with one copy */
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\' &&
               (max_chars == 0 || chars + run < max_chars))
            run++;
        if (run > 0) {
            rlc_sb_put(b, (const char *)p, run);
            p += run;
            chars += run - 1;
            continue;
        }
        int n = utf8_len(p);
        if (n == 0) {
            rlc_sb_put(b, "\\ufffd", 6);
            p++;
            continue;
        }
        if (n > 1) {
            rlc_sb_put(b, (const char *)p, (size_t)n);
            p += n;
            continue;
        }
        unsigned char c = *p++;
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : NULL;
        if (esc)
            rlc_sb_put(b, esc, strlen(esc));
        else if (c < 0x20 || c == 0x7f)
            rlc_sb_printf(b, "\\u%04x", c);
        else
            rlc_sb_put(b, (const char *)&c, 1);
    }
    rlc_sb_put(b, "\"", 1);
}

void rlc_sb_utf8(rlc_strbuf *b, const char *s, size_t max_chars) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t chars = 0; *p && (max_chars == 0 || chars < max_chars); chars++) {
        int n = utf8_len(p);
        rlc_sb_put(b, n ? (const char *)p : "\xef\xbf\xbd", n ? (size_t)n : 3);
        p += n ? n : 1;
    }
}
