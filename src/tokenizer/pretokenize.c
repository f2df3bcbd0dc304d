/* From a stretch of text between added tokens to BPE pieces: NFC (utf8proc),
 * then the pre-tokenizer steps of tokenizer.json in order (Split with a PCRE2
 * pattern, Digits, and ByteLevel last, with GPT-2's pattern when use_regex).
 * Pieces stream through the steps recursively, so nothing is materialized. */
#include "tokenizer/tok_internal.h"

#include "base/strbuf.h"

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
            if (c < 0x80 &&
                !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
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

/* 1 if NFC leaves cp alone whatever surrounds it, i.e. Unicode's NFC_QC=Yes
 * and no combining class (then a text made of such code points is already
 * NFC). Worked out from utf8proc once per code point and kept. */
static int nfc_stable_compute(utf8proc_int32_t cp) {
    if (cp >= 0x1100 && cp < 0x1200) return 0; /* Hangul jamo compose algorithmically */
    const utf8proc_property_t *pr = utf8proc_get_property(cp);
    if (pr->combining_class) return 0;
    if (pr->comb_index != UINT16_MAX && pr->comb_index >= 0x8000) return 0; /* 2nd of a pair */
    if (pr->decomp_seqindex != UINT16_MAX && pr->decomp_type == 0) {
        /* A canonical decomposition: stable only if NFC composes it back
         * (precomposed letters do; singletons and exclusions do not). */
        char in[4], *out = NULL;
        utf8proc_ssize_t n = utf8proc_encode_char(cp, (utf8proc_uint8_t *)in);
        utf8proc_ssize_t m =
            utf8proc_map((const utf8proc_uint8_t *)in, n, (utf8proc_uint8_t **)&out,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        int same = m == n && !memcmp(in, out, (size_t)n);
        free(out);
        return same;
    }
    return 1;
}

#define NFC_CACHED 0x30000            /* planes 0-2; above, compute each time */
static uint8_t nfc_cache[NFC_CACHED]; /* 0 unknown, 1 stable, 2 not */

static int nfc_stable(utf8proc_int32_t cp) {
    if (cp >= NFC_CACHED) return nfc_stable_compute(cp);
    uint8_t v = __atomic_load_n(&nfc_cache[cp], __ATOMIC_RELAXED);
    if (!v) {
        v = nfc_stable_compute(cp) ? 1 : 2;
        __atomic_store_n(&nfc_cache[cp], v, __ATOMIC_RELAXED);
    }
    return v == 1;
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
        utf8proc_ssize_t l =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l < 0) {
            i++;
            continue;
        }
        if (!nfc_stable(cp)) return 1;
        i += (size_t)l;
    }
    return 0;
}

/* Appends s[0..n) (valid UTF-8), normalized if dirty. */
static rlc_status nfc_segment(const char *s, size_t n, int dirty, rlc_strbuf *o) {
    if (!n) return RLC_OK;
    if (!dirty) {
        rlc_sb_put(o, s, n);
        return o->oom ? rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory") : RLC_OK;
    }
    utf8proc_uint8_t *d = NULL;
    utf8proc_ssize_t l = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &d,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (l >= 0) rlc_sb_put(o, (const char *)d, (size_t)l);
    int bad = l < 0 || o->oom;
    free(d);
    if (bad)
        return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: NFC failed (%s)",
                          l < 0 ? utf8proc_errmsg(l) : "out of memory");
    return RLC_OK;
}

/* NFC, one segment at a time: text splits into segments before every stable
 * code point (NFC_QC=Yes, combining class 0), and NFC of the whole is NFC of
 * each segment, so only segments holding an unstable code point go through
 * utf8proc. Bytes of invalid sequences are kept as they are. */
static rlc_status nfc(const char *s, size_t n, rlc_strbuf *o) {
    size_t seg = 0, i = 0;
    int dirty = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l =
            (unsigned char)s[i] < 0x80
                ? (cp = (unsigned char)s[i], 1)
                : utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        int stable = l > 0 && (cp < 0x80 || nfc_stable(cp));
        if (l <= 0 || stable) {
            RLC_TRY(nfc_segment(s + seg, i - seg, dirty, o));
            seg = i, dirty = 0;
        }
        if (l <= 0) { /* an invalid byte is a segment of its own, kept */
            rlc_sb_put(o, s + i, 1);
            if (o->oom) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
            seg = ++i;
            continue;
        }
        dirty |= !stable;
        i += (size_t)l;
    }
    return nfc_segment(s + seg, n - seg, dirty, o);
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
    case SPLIT_ISOLATED:
        return run_step(sp->c, sp->step + 1, s, n);
    case SPLIT_REMOVED:
        return is_match ? RLC_OK : run_step(sp->c, sp->step + 1, s, n);
    default:
        break;
    }
    /* MergedWithPrevious: a match joins a preceding non-match. MergedWithNext:
     * a match joins the following non-match. Contiguous: adjacent matches join. */
    int join = 0;
    if (sp->have_held) {
        if (sp->behavior == SPLIT_MERGED_PREV)
            join = is_match && !sp->held_match;
        else if (sp->behavior == SPLIT_MERGED_NEXT)
            join = !is_match && sp->held_match;
        else
            join = is_match && sp->held_match;
    }
    if (join) {
        sp->held_n = (size_t)(s + n - sp->held);
        if (sp->behavior == SPLIT_MERGED_PREV)
            sp->held_match = 1;
        else if (sp->behavior == SPLIT_MERGED_NEXT)
            sp->held_match = 0;
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
        /* Copied out first: the later steps that emit runs reuse c->md. */
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t m0 = ov[0], m1 = ov[1];
        RLC_TRY(emit(&sp, s + gap, m0 - gap, 0));
        RLC_TRY(emit(&sp, s + m0, m1 - m0, 1));
        pos = gap = m1;
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
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
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
    case PRE_SPLIT:
        return regex_split(c, step, p->re, p->behavior, s, n);
    case PRE_DIGITS:
        return digits_split(c, step, p->individual_digits, s, n);
    default:
        break;
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
    rlc_strbuf norm = {0};
    if (t->nfc && nfc_needed(s, n)) {
        rlc_status st = nfc(s, n, &norm);
        if (st) {
            rlc_sb_free(&norm);
            return st;
        }
        s = norm.p, n = norm.len;
    }
    enc_ctx c = {t, out, pcre2_match_data_create(1, NULL)};
    rlc_status st =
        c.md ? run_step(&c, 0, s, n) : rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    pcre2_match_data_free(c.md);
    rlc_sb_free(&norm);
    return st;
}
