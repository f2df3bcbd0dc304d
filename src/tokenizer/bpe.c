/* Byte-level BPE of one pre-tokenized piece: bytes become their single-byte
 * tokens, then the adjacent pair of lowest merge rank is merged (leftmost
 * first on ties) until no pair has a merge. Short pieces keep a rank per pair
 * in an array; long ones (runs of spaces, long words) use a heap over a linked
 * list so the cost stays O(n log n). */
#include "tokenizer/tok_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SMALL 256

static inline int pair_rank(const rlc_tokenizer *t, int a, int b, int *id) {
    const tok_merge_slot *m = rlc_tok_merge_find(t, a, b);
    if (!m) return INT_MAX;
    *id = m->id;
    return m->rank;
}

static rlc_status bpe_small(const rlc_tokenizer *t, int *sym, int n, tok_ids *out) {
    int rank[SMALL], nid[SMALL];
    for (int i = 0; i + 1 < n; i++) rank[i] = pair_rank(t, sym[i], sym[i + 1], &nid[i]);
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
    for (int i = 0; i < n; i++) RLC_TRY(rlc_tok_ids_push(out, sym[i]));
    return RLC_OK;
}

/* Min-heap of (rank << 32 | left position). */
static void heap_push(uint64_t *h, int *n, uint64_t v) {
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
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
    for (int i = 0; i < n; i++) next[i] = i + 1 < n ? i + 1 : -1, prev[i] = i - 1;
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
    for (int i = 0; i >= 0 && !st; i = next[i]) st = rlc_tok_ids_push(out, sym[i]);
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
        for (size_t i = 0; i < n; i++) k += (size_t)rlc_tok_byte_char(s[i], w + k);
        int id = rlc_tok_vocab_find(t, w, k);
        if (w != stack) free(w);
        if (id >= 0 && (t->flags[id] & TF_MODEL)) return rlc_tok_ids_push(out, id);
    }
    if (n <= SMALL) {
        int sym[SMALL];
        for (size_t i = 0; i < n; i++) sym[i] = t->byte_id[s[i]];
        return bpe_small(t, sym, (int)n, out);
    }
    int *sym = malloc(n * sizeof *sym);
    if (!sym) return rlc_errorf(RLC_ERR_NOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < n; i++) sym[i] = t->byte_id[s[i]];
    rlc_status st = bpe_large(t, sym, (int)n, out);
    free(sym);
    return st;
}
