/* A focused JSON scanner for the large parts of tokenizer.json (a vocab of
 * 150k strings, as many merges): jansson builds a tree of it in ~330 ms, this
 * reads it in place. Only what the loader needs: whitespace, strings with all
 * escapes, and skipping a value. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

const char *rlc_js_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static int hex4(const char *p, uint32_t *v) {
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

const char *rlc_js_str(const char *p, char **buf, size_t *cap, size_t *n) {
    if (*p != '"') return NULL;
    p++;
    const char *q = p;
    while (*q != '"' && *q != '\\' && *q && (unsigned char)*q >= 0x20)
        q++;
    size_t need = (size_t)(q - p) + 16;
    if (need > *cap) {
        size_t c = *cap ? *cap : 64;
        while (c < need)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return NULL;
        *buf = b, *cap = c;
    }
    memcpy(*buf, p, (size_t)(q - p));
    size_t len = (size_t)(q - p);
    p = q;
    for (;;) {
        if (*p == '"') {
            *n = len;
            return p + 1;
        }
        if (!*p || (unsigned char)*p < 0x20) return NULL;
        if (len + 8 > *cap) {
            char *b = realloc(*buf, *cap * 2);
            if (!b) return NULL;
            *buf = b, *cap *= 2;
        }
        if (*p != '\\') {
            (*buf)[len++] = *p++;
            continue;
        }
        p++;
        char c = *p++, e;
        switch (c) {
        case '"':
            e = '"';
            break;
        case '\\':
            e = '\\';
            break;
        case '/':
            e = '/';
            break;
        case 'b':
            e = '\b';
            break;
        case 'f':
            e = '\f';
            break;
        case 'n':
            e = '\n';
            break;
        case 'r':
            e = '\r';
            break;
        case 't':
            e = '\t';
            break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p, &cp)) return NULL;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u' && !hex4(p + 2, &lo) &&
                lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            len += put_utf8(*buf + len, cp);
            continue;
        }
        default:
            return NULL;
        }
        (*buf)[len++] = e;
    }
}

static const char *skip_str(const char *p) {
    for (p++;; p++) {
        char c = *p;
        if (c == '"') return p + 1;
        if (c == '\\') {
            if (!*++p) return NULL;
        } else if (!c) {
            return NULL;
        }
    }
}

const char *rlc_js_skip(const char *p) {
    p = rlc_js_ws(p);
    if (*p == '"') return skip_str(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (;;) {
            p = rlc_js_ws(p);
            char c = *p;
            if (!c) return NULL;
            if (c == '"') {
                if (!(p = skip_str(p))) return NULL;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
    }
    /* number, true, false, null */
    const char *s = p;
    while (*p && !strchr(",}] \t\r\n", *p))
        p++;
    return p > s ? p : NULL;
}
