/* From a stretch of text between added tokens to BPE pieces: NFC (utf8proc),
 * then the pre-tokenizer steps of tokenizer.json in order (Split with a PCRE2
 * pattern, Digits, and ByteLevel last, with GPT-2's pattern when use_regex).
 * Pieces stream through the steps recursively, so nothing is materialized. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

rlc_status rlc_tok_compile(const char *pattern, size_t len, int literal, pcre2_code **out,
                           const char *path) {
    int err;
    PCRE2_SIZE off;
    char *quoted = NULL;
    if (literal) { /* PCRE2_LITERAL excludes MATCH_INVALID_UTF: escape instead */
        quoted = malloc(len * 2 + 1);
        if (!quoted) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", path);
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)pattern[i];
            if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                              (c >= 'A' && c <= 'Z')))
                quoted[k++] = '\\';
            quoted[k++] = (char)c;
        }
        pattern = quoted, len = k;
    }
    uint32_t opt = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, opt, &err, &off, NULL);
    free(quoted);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: pre_tokenizer pattern \"%.*s\" does not compile at offset %zu: %s",
                          path, (int)(len > 80 ? 80 : len), pattern, (size_t)off, (char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT it still matches, slower */
    *out = re;
    return RLC_OK;
}

/* ---- NFC */

/* 1 if NFC leaves cp alone whatever surrounds it (a conservative quick check). */
static int nfc_stable(utf8proc_int32_t cp) {
    if (cp >= 0x1100 && cp < 0x1200) return 0; /* Hangul jamo compose algorithmically */
    const utf8proc_property_t *pr = utf8proc_get_property(cp);
    if (pr->combining_class) return 0;
    if (pr->decomp_seqindex != UINT16_MAX && pr->decomp_type == 0) return 0; /* canonical */
    if (pr->comb_index != UINT16_MAX && pr->comb_index >= 0x8000) return 0;  /* 2nd of a pair */
    return 1;
}

/* Returns 1 if text needs normalizing (has a code point that is not stable). */
static int nfc_needed(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l < 0) {
            i++;
            continue;
        }
        if (!nfc_stable(cp)) return 1;
        i += (size_t)l;
    }
    return 0;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sbuf_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

/* NFC of the valid UTF-8 runs of s; invalid bytes are kept as they are. */
static rlc_status nfc(const char *s, size_t n, sbuf *o) {
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + j, (utf8proc_ssize_t)(n - j), &cp);
            if (l < 0) break;
            j += (size_t)l;
        }
        if (j > i) {
            utf8proc_uint8_t *d = NULL;
            utf8proc_ssize_t l = utf8proc_map((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(j - i), &d,
                                              UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            int bad = l < 0 || sbuf_add(o, (const char *)d, (size_t)l);
            free(d);
            if (bad) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: NFC failed (%s)",
                                       l < 0 ? utf8proc_errmsg(l) : "out of memory");
        }
        if (j < n && sbuf_add(o, s + j, 1)) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
        i = j + 1;
    }
    return RLC_OK;
}

/* ---- pre-tokenizer steps */

typedef struct enc_ctx {
    const rlc_tokenizer *t;
    tok_ids *out;
    pcre2_match_data *md;
} enc_ctx;

static rlc_status run_step(enc_ctx *c, int step, const char *s, size_t n);

/* One split of a Split step: kept pieces go on to the next step. For the
 * merged behaviors, the piece before is held in *held until it is known. */
typedef struct splitter {
    enc_ctx *c;
    int step, behavior;
    const char *held;
    size_t held_n;
    int held_match, have_held;
} splitter;

static rlc_status emit(splitter *sp, const char *s, size_t n, int is_match) {
    if (!n) return RLC_OK;
    switch (sp->behavior) {
    case SPLIT_ISOLATED: return run_step(sp->c, sp->step + 1, s, n);
    case SPLIT_REMOVED: return is_match ? RLC_OK : run_step(sp->c, sp->step + 1, s, n);
    default: break;
    }
    /* MergedWithPrevious: a match joins a preceding non-match. MergedWithNext:
     * a match joins the following non-match. Contiguous: adjacent matches join. */
    int join = 0;
    if (sp->have_held) {
        if (sp->behavior == SPLIT_MERGED_PREV) join = is_match && !sp->held_match;
        else if (sp->behavior == SPLIT_MERGED_NEXT) join = !is_match && sp->held_match;
        else join = is_match && sp->held_match;
    }
    if (join) {
        sp->held_n = (size_t)(s + n - sp->held);
        if (sp->behavior == SPLIT_MERGED_PREV) sp->held_match = 1;
        else if (sp->behavior == SPLIT_MERGED_NEXT) sp->held_match = 0;
        return RLC_OK;
    }
    if (sp->have_held) RLC_TRY(run_step(sp->c, sp->step + 1, sp->held, sp->held_n));
    sp->held = s, sp->held_n = n, sp->held_match = is_match, sp->have_held = 1;
    return RLC_OK;
}

static rlc_status regex_split(enc_ctx *c, int step, const pcre2_code *re, int behavior,
                              const char *s, size_t n) {
    splitter sp = {c, step, behavior, NULL, 0, 0, 0};
    size_t pos = 0, gap = 0;
    while (pos < n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NOTEMPTY, c->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return rlc_errorf(RLC_ERR_INTERNAL, "tokenizer: pattern match failed: %s", (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        RLC_TRY(emit(&sp, s + gap, ov[0] - gap, 0));
        RLC_TRY(emit(&sp, s + ov[0], ov[1] - ov[0], 1));
        pos = gap = ov[1];
    }
    RLC_TRY(emit(&sp, s + gap, n - gap, 0));
    if (sp.have_held) RLC_TRY(run_step(c, step + 1, sp.held, sp.held_n));
    return RLC_OK;
}

static int is_numeric(const char *s, size_t n, size_t *len) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &cp);
    if (l < 0) {
        *len = 1;
        return 0;
    }
    *len = (size_t)l;
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

static rlc_status digits_split(enc_ctx *c, int step, int individual, const char *s, size_t n) {
    splitter sp = {c, step, individual ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS, NULL, 0, 0, 0};
    size_t i = 0, gap = 0;
    while (i < n) {
        size_t l;
        if (!is_numeric(s + i, n - i, &l)) {
            i += l;
            continue;
        }
        RLC_TRY(emit(&sp, s + gap, i - gap, 0));
        RLC_TRY(emit(&sp, s + i, l, 1));
        i += l;
        gap = i;
    }
    RLC_TRY(emit(&sp, s + gap, n - gap, 0));
    if (sp.have_held) RLC_TRY(run_step(c, step + 1, sp.held, sp.held_n));
    return RLC_OK;
}

static rlc_status run_step(enc_ctx *c, int step, const char *s, size_t n) {
    const rlc_tokenizer *t = c->t;
    if (step == t->n_pre) return rlc_tok_bpe_piece(t, (const unsigned char *)s, n, c->out);
    const tok_pre *p = &t->pre[step];
    switch (p->kind) {
    case PRE_SPLIT: return regex_split(c, step, p->re, p->behavior, s, n);
    case PRE_DIGITS: return digits_split(c, step, p->individual_digits, s, n);
    default: break;
    }
    /* ByteLevel: the byte mapping itself happens in BPE (on raw bytes). */
    if (p->add_prefix_space && n && s[0] != ' ') {
        char *tmp = malloc(n + 1);
        if (!tmp) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
        tmp[0] = ' ';
        memcpy(tmp + 1, s, n);
        rlc_status st = p->re ? regex_split(c, step, p->re, SPLIT_ISOLATED, tmp, n + 1)
                              : run_step(c, step + 1, tmp, n + 1);
        free(tmp);
        return st;
    }
    if (p->re) return regex_split(c, step, p->re, SPLIT_ISOLATED, s, n);
    return run_step(c, step + 1, s, n);
}

rlc_status rlc_tok_encode_plain(const rlc_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    sbuf norm = {0};
    if (t->nfc && nfc_needed(s, n)) {
        rlc_status st = nfc(s, n, &norm);
        if (st) {
            free(norm.p);
            return st;
        }
        s = norm.p, n = norm.n;
    }
    enc_ctx c = {t, out, pcre2_match_data_create(1, NULL)};
    rlc_status st = c.md ? run_step(&c, 0, s, n) : rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    pcre2_match_data_free(c.md);
    free(norm.p);
    return st;
}
