/* Internals shared by the tokenizer's files: the tokenizer struct, its hash
 * tables, the pre-tokenizer steps, and the focused JSON scanner that reads the
 * big vocab/merges parts of tokenizer.json fast. */
#ifndef RLC_TOKENIZER_TOK_INTERNAL_H
#define RLC_TOKENIZER_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/tokenizer.h"

#include <pcre2.h>
#include <stdint.h>

enum { TOK_BPE = 0, TOK_BYTE = 1 };

/* Per-id flags. */
enum { TF_MODEL = 1, TF_ADDED = 2, TF_SPECIAL = 4 };

typedef struct tok_added {
    const char *content; /* points into the tokenizer's string arena */
    uint32_t len;
    int id;
    uint8_t special, lstrip, rstrip;
} tok_added;

/* How a Split step keeps what its pattern matched (Hugging Face's names). */
enum { SPLIT_ISOLATED, SPLIT_REMOVED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { PRE_SPLIT, PRE_BYTELEVEL, PRE_DIGITS };

typedef struct tok_pre {
    int kind;
    pcre2_code *re; /* PRE_SPLIT, and PRE_BYTELEVEL with use_regex (NULL without) */
    int behavior;
    int add_prefix_space;  /* PRE_BYTELEVEL */
    int individual_digits; /* PRE_DIGITS */
} tok_pre;

#define TOK_MAX_PRE 8

typedef struct tok_merge_slot {
    uint64_t key; /* (left id << 32 | right id) + 1; 0 = empty */
    int32_t rank, id;
} tok_merge_slot;

struct rlc_tokenizer {
    int kind;
    uint64_t serial; /* unique per tokenizer in this process (for the BPE cache) */
    int vocab_size;
    /* Per id: the token as the file spells it, and the bytes it decodes to. */
    uint32_t *str_off, *str_len;
    char *strs;
    uint32_t *dec_off, *dec_len;
    char *decs;
    uint8_t *flags;
    /* string -> id over model vocab and added tokens; id -1 = empty slot */
    struct tok_vslot {
        int32_t id;
        uint32_t tag; /* high bits of the string's hash, checked first */
        uint32_t off, len;
        char inl[16]; /* strings up to 16 bytes compare here: one cache miss a lookup */
    } * vhash;
    uint32_t vmask;
    tok_merge_slot *merges;
    uint64_t mmask;
    int byte_id[256]; /* id of the single-byte token of each byte */
    int ignore_merges;
    int nfc;
    tok_pre pre[TOK_MAX_PRE];
    int n_pre;
    tok_added *added; /* longest first */
    int n_added;
    uint8_t added_first[256]; /* 1 if some added token starts with this byte */
};

/* GPT-2's byte <-> printable code point mapping: writes the UTF-8 of byte b's
 * code point to o (1 or 2 bytes) and returns its length. */
int rlc_tok_byte_char(int b, char *o);
/* Code point -> byte (or -1), for code points below 324. */
int rlc_tok_cp_byte(uint32_t cp);

uint64_t rlc_tok_hash(const char *s, size_t n);
/* Looks up a string in vhash; -1 if absent. */
int rlc_tok_vocab_find(const rlc_tokenizer *t, const char *s, size_t n);
static inline uint64_t rlc_tok_pair_key(int a, int b) {
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
}
/* MurmurHash3's finalizer: every input bit reaches every output bit. */
static inline uint64_t rlc_tok_mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}
static inline const tok_merge_slot *rlc_tok_merge_find(const rlc_tokenizer *t, int a, int b) {
    uint64_t key = rlc_tok_pair_key(a, b);
    uint64_t h = rlc_tok_mix(key);
    for (;;) {
        const tok_merge_slot *s = &t->merges[h & t->mmask];
        if (s->key == key) return s;
        if (!s->key) return NULL;
        h++;
    }
}

/* A fresh serial for a new tokenizer. */
uint64_t rlc_tok_next_serial(void);

/* Builds vhash, flags-derived tables and the decoded bytes once str_* and
 * flags are filled (shared by the JSON loader and the byte tokenizer). */
rlc_status rlc_tok_finish(rlc_tokenizer *t, const char *path);

/* Growable int vector used while encoding. */
typedef struct tok_ids {
    int *v;
    size_t n, cap;
} tok_ids;
rlc_status rlc_tok_ids_push(tok_ids *o, int id);

/* BPE-encodes one pre-tokenized piece (raw bytes) and appends the ids. */
rlc_status rlc_tok_bpe_piece(const rlc_tokenizer *t, const unsigned char *s, size_t n,
                             tok_ids *out);

/* Normalizes, pre-tokenizes and BPE-encodes text that has no added tokens. */
rlc_status rlc_tok_encode_plain(const rlc_tokenizer *t, const char *s, size_t n, tok_ids *out);

/* Compiles a Hugging Face (Oniguruma-syntax) pattern with PCRE2, UTF + UCP,
 * JIT; literal = a plain string. */
rlc_status rlc_tok_compile(const char *pattern, size_t len, int literal, pcre2_code **out,
                           const char *path);

/* ---- JSON scanner: pointers into a NUL-terminated buffer; NULL = syntax error. */
const char *rlc_js_ws(const char *p);
/* Reads a string at p (which must be '"') into *buf (grown as needed; not
 * NUL-terminated), setting *n. Returns the position after the closing quote. */
const char *rlc_js_str(const char *p, char **buf, size_t *cap, size_t *n);
/* Skips any value; returns the position after it. */
const char *rlc_js_skip(const char *p);

#endif
