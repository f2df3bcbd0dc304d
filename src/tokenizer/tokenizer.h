/* Tokenizers that give the same ids as Hugging Face's: byte-level BPE read
 * from tokenizer.json (Qwen2/2.5/3, Llama 3, GPT-2, SmolLM) and a plain byte
 * tokenizer (ids 0..255 are bytes, named specials after them) for models
 * trained from scratch. Decoding streams: partial UTF-8 is held back. */
#ifndef RLC_TOKENIZER_TOKENIZER_H
#define RLC_TOKENIZER_TOKENIZER_H

#include "base/status.h"

#include <stddef.h>

typedef struct rlc_tokenizer rlc_tokenizer;

/* Loads a tokenizer.json (path is the file or a directory holding it). Bad
 * input (not JSON, a merge naming an unknown token, a model type other than
 * BPE, a pre-tokenizer rlc does not know) fails with one line naming file and
 * field. A loaded tokenizer is immutable: encode/decode are thread-safe. */
rlc_status rlc_tokenizer_load(const char *path, rlc_tokenizer **out);

/* Byte tokenizer: ids 0..255 are the bytes, specials[i] gets id 256+i and is
 * matched in text like a Hugging Face special token. */
rlc_status rlc_tokenizer_new_byte(const char *const *specials, int n_specials, rlc_tokenizer **out);

void rlc_tokenizer_free(rlc_tokenizer *t);

/* Encodes len bytes of text (need not be NUL-terminated nor valid UTF-8; bytes
 * of invalid sequences are encoded as their own byte tokens). Added and special
 * tokens in the text are matched first; no BOS/EOS is added. *ids is malloc'd
 * (free() it; non-NULL even when *n is 0). */
rlc_status rlc_tokenizer_encode(const rlc_tokenizer *t, const char *text, size_t len, int **ids,
                                int *n);

/* Decodes ids to bytes (*text malloc'd and NUL-terminated, *len excludes the
 * NUL). skip_special drops tokens marked special. An id with no token (outside
 * 0..vocab_size-1, e.g. a model's padding row, or in a gap of the ids) decodes
 * to nothing, as Hugging Face's tokenizers skip it. Invalid UTF-8 that the ids
 * spell is returned as is. */
rlc_status rlc_tokenizer_decode(const rlc_tokenizer *t, const int *ids, int n, int skip_special,
                                char **text, size_t *len);

/* Ids run from 0 to vocab_size-1 (a gap in the file's ids has no string). */
int rlc_tokenizer_vocab_size(const rlc_tokenizer *t);
/* [vocab_size] bytes, non-zero for the ids that are tokens, owned by t; NULL
 * when every id below vocab_size is one (no gaps). */
const unsigned char *rlc_tokenizer_id_mask(const rlc_tokenizer *t);
/* Id of a token by its string as the file spells it ("<|im_end|>", "Ġthe"), or -1. */
int rlc_tokenizer_token_id(const rlc_tokenizer *t, const char *token);
/* The token's string as the file spells it, or NULL for an id with none. */
const char *rlc_tokenizer_token_str(const rlc_tokenizer *t, int id);
/* 1 if id is an added token marked "special" (skipped by skip_special). */
int rlc_tokenizer_is_special(const rlc_tokenizer *t, int id);

/* Streaming decoder: push ids one at a time and print what comes back. Bytes
 * that end in an incomplete UTF-8 sequence are held until a later token
 * completes them (or flush gives them up as they are). */
typedef struct rlc_detok {
    const rlc_tokenizer *tok;
    int skip_special;
    unsigned char held[4];
    int n_held;
    char *buf; /* owned; holds the last returned text */
    size_t cap;
} rlc_detok;

void rlc_detok_init(rlc_detok *d, const rlc_tokenizer *t, int skip_special);
/* Text that is complete after id, in a buffer owned by d (valid until the next
 * call); *len may be 0. An id with no token adds nothing (as in decode). */
rlc_status rlc_detok_push(rlc_detok *d, int id, const char **text, size_t *len);
/* Whatever is still held (an unfinished sequence), then d is empty again. */
rlc_status rlc_detok_flush(rlc_detok *d, const char **text, size_t *len);
/* Releases the buffer; d may be init'ed again. */
void rlc_detok_free(rlc_detok *d);

/* ---- on disk: what a model directory holds ---- */

/* RLC_TOKENIZER_BYTE_FILE and rlc_tokenizer_hf_files: base/hffiles.h. */
#include "base/hffiles.h"

/* Opens the tokenizer at path: a tokenizer.json, a file named rlc_tokenizer.json,
 * or a directory holding one of them (tokenizer.json wins). None there is
 * RLC_ERR_NOT_FOUND naming the directory and both file names. */
rlc_status rlc_tokenizer_open(const char *path, rlc_tokenizer **out);
/* Reads an rlc_tokenizer.json file (wrong kind or specials: RLC_ERR_FORMAT naming the field). */
rlc_status rlc_tokenizer_load_byte(const char *path, rlc_tokenizer **out);
/* Writes DIR/rlc_tokenizer.json for byte tokenizer t (atomically); another kind
 * is RLC_ERR_INVALID. */
rlc_status rlc_tokenizer_save_byte(const rlc_tokenizer *t, const char *dir);
/* 1 for a tokenizer made by rlc_tokenizer_new_byte or read from rlc_tokenizer.json. */
int rlc_tokenizer_is_byte(const rlc_tokenizer *t);

#endif
