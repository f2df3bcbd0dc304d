/* Ids back to bytes, whole or streaming. Each id's bytes were worked out at
 * load time (byte-level code points mapped back to bytes; added tokens as
 * written), so decoding is concatenation. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* An id outside the vocabulary (a model's padding row) decodes to nothing, as
 * in Hugging Face's tokenizers, which skip ids they have no token for. */
static int no_token(const rlc_tokenizer *t, int id) {
    return id < 0 || id >= t->vocab_size;
}

rlc_status rlc_tokenizer_decode(const rlc_tokenizer *t, const int *ids, int n, int skip_special,
                                char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!no_token(t, ids[i])) total += t->dec_len[ids[i]];
    }
    char *o = malloc(total + 1);
    if (!o) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        int id = ids[i];
        if (no_token(t, id) || (skip_special && (t->flags[id] & TF_SPECIAL))) continue;
        memcpy(o + k, t->decs + t->dec_off[id], t->dec_len[id]);
        k += t->dec_len[id];
    }
    o[k] = 0;
    *text = o;
    *len = k;
    return RLC_OK;
}

void rlc_detok_init(rlc_detok *d, const rlc_tokenizer *t, int skip_special) {
    memset(d, 0, sizeof *d);
    d->tok = t;
    d->skip_special = skip_special;
}

void rlc_detok_free(rlc_detok *d) {
    free(d->buf);
    d->buf = NULL;
    d->cap = 0;
    d->n_held = 0;
}

/* Length of the UTF-8 sequence a lead byte starts (0 for a continuation or
 * invalid byte). */
static int seq_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* How many trailing bytes of s[0..n) are an unfinished but so far valid
 * sequence (0..3). */
static int unfinished_tail(const unsigned char *s, size_t n) {
    for (int back = 1; back <= 3 && (size_t)back <= n; back++) {
        unsigned char c = s[n - (size_t)back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: look further back */
        int need = seq_len(c);
        return need > back ? back : 0;
    }
    return 0;
}

static rlc_status reserve(rlc_detok *d, size_t n) {
    if (n <= d->cap) return RLC_OK;
    size_t cap = d->cap ? d->cap : 64;
    while (cap < n)
        cap *= 2;
    char *b = realloc(d->buf, cap);
    if (!b) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    d->buf = b, d->cap = cap;
    return RLC_OK;
}

rlc_status rlc_detok_push(rlc_detok *d, int id, const char **text, size_t *len) {
    const rlc_tokenizer *t = d->tok;
    *text = "";
    *len = 0;
    if (no_token(t, id)) return RLC_OK;
    if (d->skip_special && (t->flags[id] & TF_SPECIAL)) return RLC_OK;
    size_t n = (size_t)d->n_held + t->dec_len[id];
    RLC_TRY(reserve(d, n + 1));
    memcpy(d->buf, d->held, (size_t)d->n_held);
    memcpy(d->buf + d->n_held, t->decs + t->dec_off[id], t->dec_len[id]);
    int keep = unfinished_tail((const unsigned char *)d->buf, n);
    d->n_held = keep;
    memcpy(d->held, d->buf + n - (size_t)keep, (size_t)keep);
    d->buf[n - (size_t)keep] = 0;
    *text = d->buf;
    *len = n - (size_t)keep;
    return RLC_OK;
}

rlc_status rlc_detok_flush(rlc_detok *d, const char **text, size_t *len) {
    *text = "";
    *len = 0;
    if (!d->n_held) return RLC_OK;
    RLC_TRY(reserve(d, (size_t)d->n_held + 1));
    memcpy(d->buf, d->held, (size_t)d->n_held);
    d->buf[d->n_held] = 0;
    *text = d->buf;
    *len = (size_t)d->n_held;
    d->n_held = 0;
    return RLC_OK;
}
