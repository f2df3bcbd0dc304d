/* Byte-level BPE of one pre-tokenized piece: bytes become their single-byte
 * tokens, then the adjacent pair of lowest merge rank is merged (leftmost
 * first on ties) until no pair has a merge. Short pieces keep a rank per pair
 * in an array; long ones (runs of spaces, long words) use a heap over a linked
 * list so the cost stays O(n log n). */
#include "tokenizer/tok_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Per-thread cache of short pieces: natural text repeats its words, and a hit
 * skips a dozen lookups in a merge table far larger than the CPU's caches.
 * Per thread, so encode stays lock-free; entries carry the tokenizer's serial
 * so a freed tokenizer's entries never match a new one at the same address. */
#define CACHE_SLOTS 8192
#define CACHE_KEY 22
#define CACHE_IDS 8
typedef struct cache_entry {
    uint64_t serial; /* 0 = empty */
    uint8_t len, n;
    char key[CACHE_KEY];
    int32_t ids[CACHE_IDS];
} cache_entry;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static void cache_key_init(void) {
    pthread_key_create(&cache_key, free);
}

static cache_entry *thread_cache(void) {
    pthread_once(&cache_once, cache_key_init);
    cache_entry *c = pthread_getspecific(cache_key);
    if (!c && (c = calloc(CACHE_SLOTS, sizeof *c)) && pthread_setspecific(cache_key, c)) {
        free(c);
        c = NULL;
    }
    return c; /* NULL: run without a cache */
}

#define SMALL 256

static inline int pair_rank(const rlc_tokenizer *t, int a, int b, int *id) {
    const tok_merge_slot *m = rlc_tok_merge_find(t, a, b);
    if (!m) return INT_MAX;
    *id = m->id;
    return m->rank;
}

static rlc_status bpe_small(const rlc_tokenizer *t, int *sym, int n, tok_ids *out) {
    int rank[SMALL], nid[SMALL];
    for (int i = 0; i + 1 < n; i++)
        rank[i] = pair_rank(t, sym[i], sym[i + 1], &nid[i]);
    while (n > 1) {
        int best = 0;
        for (int i = 1; i + 1 < n; i++)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == INT_MAX) break;
        sym[best] = nid[best];
        int tail = n - best - 2; /* symbols after best+1 */
        memmove(sym + best + 1, sym + best + 2, (size_t)tail * sizeof *sym);
        if (tail > 0) {
            memmove(rank + best + 1, rank + best + 2, (size_t)(tail - 1) * sizeof *rank);
            memmove(nid + best + 1, nid + best + 2, (size_t)(tail - 1) * sizeof *nid);
        }
        n--;
        if (best > 0) rank[best - 1] = pair_rank(t, sym[best - 1], sym[best], &nid[best - 1]);
        if (best + 1 < n) rank[best] = pair_rank(t, sym[best], sym[best + 1], &nid[best]);
    }
    for (int i = 0; i < n; i++)
        RLC_TRY(rlc_tok_ids_push(out, sym[i]));
    return RLC_OK;
}

/* Min-heap of (rank << 32 | left position). */
static void heap_push(uint64_t *h, int *n, uint64_t v) {
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v)
        h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, int *n) {
    uint64_t top = h[0], v = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c], i = c;
    }
    h[i] = v;
    return top;
}

static rlc_status bpe_large(const rlc_tokenizer *t, int *sym, int n, tok_ids *out) {
    int *next = malloc((size_t)n * sizeof *next), *prev = malloc((size_t)n * sizeof *prev);
    /* Each merge pushes at most two pairs, so 3n entries suffice. */
    uint64_t *heap = malloc((size_t)n * 3 * sizeof *heap);
    if (!next || !prev || !heap) {
        free(next), free(prev), free(heap);
        return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    }
    int hn = 0, id;
    for (int i = 0; i < n; i++)
        next[i] = i + 1 < n ? i + 1 : -1, prev[i] = i - 1;
    for (int i = 0; i + 1 < n; i++) {
        int r = pair_rank(t, sym[i], sym[i + 1], &id);
        if (r != INT_MAX) heap_push(heap, &hn, (uint64_t)r << 32 | (uint32_t)i);
    }
    while (hn) {
        uint64_t e = heap_pop(heap, &hn);
        int r = (int)(e >> 32), i = (int)(uint32_t)e, j = next[i];
        /* Stale when i was absorbed (sym -1), has a new right neighbour or id. */
        if (sym[i] < 0 || j < 0 || pair_rank(t, sym[i], sym[j], &id) != r) continue;
        sym[i] = id;
        sym[j] = -1;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        if (prev[i] >= 0 && (r = pair_rank(t, sym[prev[i]], sym[i], &id)) != INT_MAX)
            heap_push(heap, &hn, (uint64_t)r << 32 | (uint32_t)prev[i]);
        if (next[i] >= 0 && (r = pair_rank(t, sym[i], sym[next[i]], &id)) != INT_MAX)
            heap_push(heap, &hn, (uint64_t)r << 32 | (uint32_t)i);
    }
    rlc_status st = RLC_OK;
    for (int i = 0; i >= 0 && !st; i = next[i])
        st = rlc_tok_ids_push(out, sym[i]);
    free(next), free(prev), free(heap);
    return st;
}

rlc_status rlc_tok_bpe_piece(const rlc_tokenizer *t, const unsigned char *s, size_t n,
                             tok_ids *out) {
    if (!n) return RLC_OK;
    if (n > INT_MAX / 4) return rlc_errorf(RLC_ERR_INVALID, "tokenizer: piece too long");
    if (n == 1) return rlc_tok_ids_push(out, t->byte_id[s[0]]);
    if (t->ignore_merges) {
        /* A piece that is itself a vocab token is taken whole (Llama 3). */
        char stack[256], *w = n * 2 <= sizeof stack ? stack : malloc(n * 2);
        if (!w) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += (size_t)rlc_tok_byte_char(s[i], w + k);
        int id = rlc_tok_vocab_find(t, w, k);
        if (w != stack) free(w);
        if (id >= 0 && (t->flags[id] & TF_MODEL)) return rlc_tok_ids_push(out, id);
    }
    if (n <= SMALL) {
        cache_entry *c = n <= CACHE_KEY ? thread_cache() : NULL, *e = NULL;
        if (c) {
            e = &c[rlc_tok_hash((const char *)s, n) & (CACHE_SLOTS - 1)];
            if (e->serial == t->serial && e->len == n && !memcmp(e->key, s, n)) {
                for (int i = 0; i < e->n; i++)
                    RLC_TRY(rlc_tok_ids_push(out, e->ids[i]));
                return RLC_OK;
            }
        }
        int sym[SMALL];
        size_t before = out->n;
        for (size_t i = 0; i < n; i++)
            sym[i] = t->byte_id[s[i]];
        RLC_TRY(bpe_small(t, sym, (int)n, out));
        if (e && out->n - before <= CACHE_IDS) {
            e->serial = t->serial;
            e->len = (uint8_t)n;
            e->n = (uint8_t)(out->n - before);
            memcpy(e->key, s, n);
            memcpy(e->ids, out->v + before, e->n * sizeof(int));
        }
        return RLC_OK;
    }
    int *sym = malloc(n * sizeof *sym);
    if (!sym) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < n; i++)
        sym[i] = t->byte_id[s[i]];
    rlc_status st = bpe_large(t, sym, (int)n, out);
    free(sym);
    return st;
}
