/* The tokenizer object: tables shared by both kinds, lookups, the byte
 * tokenizer, and encode's first step, matching added tokens in raw text. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* GPT-2's byte-level alphabet: printable bytes stand for themselves, the
 * others (controls, space, 0x7F-0xA0, 0xAD) for code points 256 and up. */
static uint16_t byte_cp[256];
static int16_t cp_byte[324];

static void byte_table_init(void) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        byte_cp[b] = (uint16_t)(printable ? b : 256 + n++);
    }
    for (int i = 0; i < 324; i++)
        cp_byte[i] = -1;
    for (int b = 0; b < 256; b++)
        cp_byte[byte_cp[b]] = (int16_t)b;
}

static void byte_table(void) {
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        byte_table_init(); /* idempotent, so a race only repeats the work */
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
}

int rlc_tok_cp_byte(uint32_t cp) {
    byte_table();
    return cp < 324 ? cp_byte[cp] : -1;
}

/* UTF-8 of the byte-level code point of byte b; returns its length. */
int rlc_tok_byte_char(int b, char *o) {
    byte_table();
    unsigned cp = byte_cp[b];
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

uint64_t rlc_tok_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = rlc_tok_mix(h ^ w);
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    return rlc_tok_mix(h ^ w);
}

int rlc_tok_vocab_find(const rlc_tokenizer *t, const char *s, size_t n) {
    uint64_t h = rlc_tok_hash(s, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (;; h++) {
        const struct tok_vslot *v = &t->vhash[h & t->vmask];
        if (v->id < 0) return -1;
        if (v->tag == tag && v->len == n &&
            !memcmp(n <= sizeof v->inl ? v->inl : t->strs + v->off, s, n))
            return v->id;
    }
}

/* Decoded bytes of a model token: byte-level code points back to bytes; a
 * token with any other character decodes to its own UTF-8 (as HF does). */
static size_t unmap(const char *s, size_t n, char *o) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t l;
        if (c < 0x80)
            cp = c, l = 1;
        else if ((c & 0xE0) == 0xC0 && i + 1 < n)
            cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu), l = 2;
        else
            cp = 0xFFFFFFFF, l = 1;
        int b = rlc_tok_cp_byte(cp);
        if (b < 0) {
            memcpy(o, s, n);
            return n;
        }
        o[k++] = (char)b;
        i += l;
    }
    return k;
}

static int cmp_added(const void *a, const void *b) {
    const tok_added *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id - y->id;
}

uint64_t rlc_tok_next_serial(void) {
    static uint64_t next;
    return __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED);
}

rlc_status rlc_tok_finish(rlc_tokenizer *t, const char *path) {
    int V = t->vocab_size;
    t->serial = rlc_tok_next_serial();
    uint32_t cap = 1024;
    while (cap < (uint32_t)V * 2u)
        cap *= 2;
    t->vhash = malloc(cap * sizeof *t->vhash);
    t->dec_off = malloc((size_t)V * sizeof *t->dec_off);
    t->dec_len = malloc((size_t)V * sizeof *t->dec_len);
    size_t total = 0;
    for (int i = 0; i < V; i++)
        total += t->str_len[i] + 1;
    t->decs = malloc(total + 1);
    if (!t->vhash || !t->dec_off || !t->dec_len || !t->decs)
        return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", path);
    for (uint32_t i = 0; i < cap; i++)
        t->vhash[i].id = -1;
    t->vmask = cap - 1;
    size_t k = 0;
    for (int id = 0; id < V; id++) {
        const char *s = t->strs + t->str_off[id];
        size_t n = t->str_len[id];
        t->dec_off[id] = (uint32_t)k;
        if (!n) {
            t->dec_len[id] = 0;
            continue;
        }
        if ((t->flags[id] & TF_ADDED) || t->kind == TOK_BYTE) {
            if (t->kind == TOK_BYTE && id < 256)
                t->decs[k] = (char)id, n = 1;
            else
                memcpy(t->decs + k, s, n);
        } else {
            n = unmap(s, n, t->decs + k);
        }
        t->dec_len[id] = (uint32_t)n;
        k += n;
        /* Added tokens win over a model token with the same string. */
        uint64_t h = rlc_tok_hash(s, t->str_len[id]);
        uint32_t tag = (uint32_t)(h >> 32);
        for (;; h++) {
            struct tok_vslot *slot = &t->vhash[h & t->vmask];
            if (slot->id < 0) {
                *slot = (struct tok_vslot){id, tag, t->str_off[id], t->str_len[id], {0}};
                if (t->str_len[id] <= sizeof slot->inl) memcpy(slot->inl, s, t->str_len[id]);
                break;
            }
            if (slot->tag == tag && slot->len == t->str_len[id] &&
                !memcmp(t->strs + slot->off, s, t->str_len[id])) {
                if (t->flags[id] & TF_ADDED) slot->id = id;
                break;
            }
        }
    }
    for (int b = 0; b < 256; b++) {
        char c[2];
        int id = rlc_tok_vocab_find(t, c, (size_t)rlc_tok_byte_char(b, c));
        if (t->kind == TOK_BYTE) id = b;
        if (id < 0 || (t->kind == TOK_BPE && !(t->flags[id] & TF_MODEL)))
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: model.vocab has no token for byte 0x%02X (byte-level BPE needs "
                              "all 256)",
                              path, b);
        t->byte_id[b] = id;
    }
    for (int i = 0; i < t->n_added; i++)
        t->added[i].content = t->strs + t->str_off[t->added[i].id];
    if (t->n_added > 1) /* t->added is NULL without added_tokens */
        qsort(t->added, (size_t)t->n_added, sizeof *t->added, cmp_added);
    memset(t->added_first, 0, sizeof t->added_first);
    for (int i = 0; i < t->n_added; i++)
        t->added_first[(unsigned char)t->added[i].content[0]] = 1;
    return RLC_OK;
}

void rlc_tokenizer_free(rlc_tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_pre; i++)
        pcre2_code_free(t->pre[i].re);
    free(t->str_off), free(t->str_len), free(t->strs), free(t->flags);
    free(t->dec_off), free(t->dec_len), free(t->decs);
    free(t->vhash), free(t->merges), free(t->added);
    free(t);
}

rlc_status rlc_tokenizer_new_byte(const char *const *specials, int n_specials,
                                  rlc_tokenizer **out) {
    *out = NULL;
    if (n_specials < 0 || (n_specials && !specials))
        return rlc_errorf(RLC_ERR_INVALID, "byte tokenizer: bad specials list");
    rlc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    t->kind = TOK_BYTE;
    int V = 256 + n_specials;
    t->vocab_size = V;
    size_t total = 256 * 3;
    for (int i = 0; i < n_specials; i++) {
        if (!specials[i] || !specials[i][0]) {
            rlc_tokenizer_free(t);
            return rlc_errorf(RLC_ERR_INVALID, "byte tokenizer: special %d is empty", i);
        }
        total += strlen(specials[i]) + 1;
    }
    t->str_off = calloc((size_t)V, sizeof *t->str_off);
    t->str_len = calloc((size_t)V, sizeof *t->str_len);
    t->flags = calloc((size_t)V, 1);
    t->strs = malloc(total);
    t->added = calloc((size_t)n_specials + 1, sizeof *t->added);
    if (!t->str_off || !t->str_len || !t->flags || !t->strs || !t->added) {
        rlc_tokenizer_free(t);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (int b = 0; b < 256; b++) {
        t->str_off[b] = (uint32_t)k;
        t->str_len[b] = (uint32_t)rlc_tok_byte_char(b, t->strs + k);
        k += t->str_len[b];
        t->strs[k++] = 0;
        t->flags[b] = TF_MODEL;
    }
    for (int i = 0; i < n_specials; i++) {
        size_t n = strlen(specials[i]);
        memcpy(t->strs + k, specials[i], n + 1);
        t->str_off[256 + i] = (uint32_t)k;
        t->str_len[256 + i] = (uint32_t)n;
        t->flags[256 + i] = TF_ADDED | TF_SPECIAL;
        t->added[i] = (tok_added){.id = 256 + i, .len = (uint32_t)n, .special = 1};
        k += n + 1;
    }
    t->n_added = n_specials;
    rlc_status st = rlc_tok_finish(t, "byte tokenizer");
    if (st) {
        rlc_tokenizer_free(t);
        return st;
    }
    *out = t;
    return RLC_OK;
}

int rlc_tokenizer_vocab_size(const rlc_tokenizer *t) {
    return t->vocab_size;
}

const unsigned char *rlc_tokenizer_id_mask(const rlc_tokenizer *t) {
    for (int i = 0; i < t->vocab_size; i++)
        if (!(t->flags[i] & (TF_MODEL | TF_ADDED))) return t->flags; /* a gap */
    return NULL;
}

int rlc_tokenizer_token_id(const rlc_tokenizer *t, const char *token) {
    return rlc_tok_vocab_find(t, token, strlen(token));
}

const char *rlc_tokenizer_token_str(const rlc_tokenizer *t, int id) {
    if (id < 0 || id >= t->vocab_size || !t->str_len[id]) return NULL;
    return t->strs + t->str_off[id];
}

int rlc_tokenizer_is_special(const rlc_tokenizer *t, int id) {
    return id >= 0 && id < t->vocab_size && (t->flags[id] & TF_SPECIAL);
}

rlc_status rlc_tok_ids_push(tok_ids *o, int id) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        int *v = realloc(o->v, cap * sizeof *v);
        if (!v) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
        o->v = v, o->cap = cap;
    }
    o->v[o->n++] = id;
    return RLC_OK;
}

static int is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Leftmost-longest match of an added token at or after p; NULL if none. */
static const tok_added *find_added(const rlc_tokenizer *t, const char *s, size_t n, size_t from,
                                   size_t *at) {
    for (size_t i = from; i < n; i++) {
        if (!t->added_first[(unsigned char)s[i]]) continue;
        for (int k = 0; k < t->n_added; k++) {
            const tok_added *a = &t->added[k];
            if (a->len <= n - i && a->content[0] == s[i] && !memcmp(a->content, s + i, a->len)) {
                *at = i;
                return a;
            }
        }
    }
    return NULL;
}

static rlc_status encode_plain(const rlc_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    if (!n) return RLC_OK;
    if (t->kind == TOK_BYTE) {
        for (size_t i = 0; i < n; i++)
            RLC_TRY(rlc_tok_ids_push(out, (unsigned char)s[i]));
        return RLC_OK;
    }
    return rlc_tok_encode_plain(t, s, n, out);
}

rlc_status rlc_tokenizer_encode(const rlc_tokenizer *t, const char *text, size_t len, int **ids,
                                int *n) {
    *ids = NULL;
    *n = 0;
    if (len > (size_t)1 << 31) return rlc_errorf(RLC_ERR_INVALID, "tokenizer: text over 2 GiB");
    tok_ids out = {0};
    rlc_status st = rlc_tok_ids_push(&out, 0);
    out.n = 0;
    size_t pos = 0;
    while (!st && pos < len) {
        size_t at = len, end;
        const tok_added *a = t->n_added ? find_added(t, text, len, pos, &at) : NULL;
        size_t stop = at;
        if (a) {
            end = at + a->len;
            if (a->lstrip)
                while (stop > pos && is_space((unsigned char)text[stop - 1]))
                    stop--;
            if (a->rstrip)
                while (end < len && is_space((unsigned char)text[end]))
                    end++;
        } else {
            end = len;
        }
        st = encode_plain(t, text + pos, stop - pos, &out);
        if (!st && a) st = rlc_tok_ids_push(&out, a->id);
        pos = end;
    }
    if (st) {
        free(out.v);
        return st;
    }
    *ids = out.v;
    *n = (int)out.n;
    return RLC_OK;
}
