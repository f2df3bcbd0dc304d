#include "data/extsource.h"

#include "base/rng.h"
#include "base/strbuf.h"
#include "rewards/external.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIES 3

typedef struct block {
    int used; /* holds a block */
    int eval;
    uint64_t index;
    rlc_ext_prompt items[RLC_EXT_SOURCE_BLOCK];
} block;

struct rlc_ext_source {
    rlc_ext *x;
    uint64_t seed;
    block cache[RLC_EXT_SOURCE_CACHE];
    int next; /* the slot the next fetched block replaces */
};

void rlc_ext_prompt_free(rlc_ext_prompt *p) {
    for (size_t k = 0; k < p->n_msgs; k++) {
        free(p->msgs[k].role);
        free(p->msgs[k].content);
    }
    free(p->msgs);
    free(p->reference);
    free(p->metadata);
    memset(p, 0, sizeof *p);
}

static void block_clear(block *b) {
    for (int k = 0; k < RLC_EXT_SOURCE_BLOCK; k++)
        rlc_ext_prompt_free(&b->items[k]);
    b->used = 0;
}

rlc_status rlc_ext_source_open(const char *command, double timeout_s, uint64_t seed,
                               rlc_ext_source **out) {
    *out = NULL;
    rlc_ext_source *s = rlc_calloc(1, sizeof *s);
    if (!s) return RLC_ERR_NOMEM;
    rlc_ext_params p = rlc_ext_default_params();
    p.name = "data.external";
    p.command = command;
    p.timeout_s = timeout_s;
    rlc_status st = rlc_ext_open(&p, &s->x);
    if (st) {
        free(s);
        return st;
    }
    s->seed = seed;
    *out = s;
    return RLC_OK;
}

void rlc_ext_source_free(rlc_ext_source *s) {
    if (!s) return;
    for (int k = 0; k < RLC_EXT_SOURCE_CACHE; k++)
        block_clear(&s->cache[k]);
    rlc_ext_free(s->x);
    free(s);
}

uint64_t rlc_ext_source_seed(uint64_t data_seed, int eval, uint64_t block) {
    /* below 2^53: exact as a JSON number in any language */
    return rlc_rng_stream(data_seed, 0x5e1ec7 + (uint64_t)eval, block) & ((1ull << 53) - 1);
}

/* ---- parsing ---- */

static char *dup_str(const char *s) {
    return strdup(s ? s : "");
}

static rlc_status parse_msgs(const json_t *prompt, size_t k, rlc_ext_prompt *p) {
    if (json_is_string(prompt)) {
        p->msgs = rlc_calloc(1, sizeof *p->msgs);
        if (!p->msgs) return RLC_ERR_NOMEM;
        p->n_msgs = 1;
        p->msgs[0].role = dup_str("user");
        p->msgs[0].content = dup_str(json_string_value(prompt));
        return p->msgs[0].role && p->msgs[0].content ? RLC_OK : RLC_ERR_NOMEM;
    }
    if (!json_is_array(prompt) || json_array_size(prompt) == 0)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "prompts[%zu].prompt: expected a string or a non-empty list of turns", k);
    size_t n = json_array_size(prompt);
    p->msgs = rlc_calloc(n, sizeof *p->msgs);
    if (!p->msgs) return RLC_ERR_NOMEM;
    static const char *const roles[] = {"system", "user", "assistant", "tool"};
    for (size_t t = 0; t < n; t++) {
        const json_t *m = json_array_get(prompt, t);
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        int known = 0;
        for (size_t r = 0; role && r < 4; r++)
            known |= !strcmp(role, roles[r]);
        if (!known || !content)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "prompts[%zu].prompt[%zu]: expected {\"role\": system|user|"
                              "assistant|tool, \"content\": string}",
                              k, t);
        p->msgs[t].role = dup_str(role);
        p->msgs[t].content = dup_str(content);
        p->n_msgs = t + 1;
        if (!p->msgs[t].role || !p->msgs[t].content) return RLC_ERR_NOMEM;
    }
    return RLC_OK;
}

static rlc_status parse_item(const json_t *o, size_t k, rlc_ext_prompt *p) {
    if (!json_is_object(o))
        return rlc_errorf(RLC_ERR_FORMAT, "prompts[%zu]: expected an object", k);
    RLC_TRY(parse_msgs(json_object_get(o, "prompt"), k, p));
    const json_t *ref = json_object_get(o, "reference");
    char num[64] = "";
    if (json_is_integer(ref)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(ref));
    } else if (json_is_real(ref) && isfinite(json_real_value(ref))) {
        snprintf(num, sizeof num, "%.17g", json_real_value(ref));
    } else if (ref && !json_is_string(ref) && !json_is_null(ref)) {
        return rlc_errorf(RLC_ERR_FORMAT, "prompts[%zu].reference: expected a string or a number",
                          k);
    }
    p->reference = dup_str(json_is_string(ref) ? json_string_value(ref) : num);
    if (!p->reference) return RLC_ERR_NOMEM;
    const json_t *meta = json_object_get(o, "metadata");
    if (meta && !json_is_null(meta)) {
        p->metadata = json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!p->metadata) return RLC_ERR_NOMEM;
    }
    return RLC_OK;
}

rlc_status rlc_ext_prompts_parse(const json_t *answer, size_t n, rlc_ext_prompt *items) {
    memset(items, 0, n * sizeof *items);
    const json_t *arr = json_object_get(answer, "prompts");
    if (!json_is_array(arr)) return rlc_errorf(RLC_ERR_FORMAT, "no \"prompts\" list in the answer");
    if (json_array_size(arr) != n)
        return rlc_errorf(RLC_ERR_FORMAT, "\"prompts\" has %zu items, %zu were asked for",
                          json_array_size(arr), n);
    for (size_t k = 0; k < n; k++) {
        rlc_status st = parse_item(json_array_get(arr, k), k, &items[k]);
        if (st) {
            for (size_t j = 0; j <= k; j++)
                rlc_ext_prompt_free(&items[j]);
            return st;
        }
    }
    return RLC_OK;
}

/* ---- fetching ---- */

typedef struct fetch_ctx {
    block *b;
    char why[256];
} fetch_ctx;

static rlc_ext_verdict take_block(void *ctx, int i, const rlc_ext_answer *a) {
    (void)i;
    fetch_ctx *c = ctx;
    if (rlc_ext_prompts_parse(a->obj, RLC_EXT_SOURCE_BLOCK, c->b->items)) {
        snprintf(c->why, sizeof c->why, "%s", rlc_last_error());
        return RLC_EXT_MALFORMED;
    }
    return RLC_EXT_ACCEPT;
}

static rlc_status fetch(rlc_ext_source *s, int eval, uint64_t index, block **out) {
    block *b = &s->cache[s->next];
    block_clear(b);
    uint64_t seed = rlc_ext_source_seed(s->seed, eval, index);
    char body[256];
    snprintf(body, sizeof body,
             "\"op\":\"sample\",\"split\":\"%s\",\"n\":%d,\"seed\":%llu,\"block\":%llu}",
             eval ? "eval" : "train", RLC_EXT_SOURCE_BLOCK, (unsigned long long)seed,
             (unsigned long long)index);
    const char *bodies[1] = {body};
    fetch_ctx c = {b, ""};
    unsigned char ok = 0;
    for (int t = 0; t < TRIES && !ok; t++)
        RLC_TRY(rlc_ext_exchange(s->x, bodies, 1, take_block, &c, &ok));
    rlc_ext_counts counts;
    rlc_ext_take_counts(s->x, &counts);
    if (!ok)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "data.external: no prompts for %s block %llu (seed %llu) after %d "
                          "tries: %s",
                          eval ? "eval" : "train", (unsigned long long)index,
                          (unsigned long long)seed, TRIES,
                          c.why[0] ? c.why : rlc_ext_last_problem(s->x));
    b->used = 1;
    b->eval = eval;
    b->index = index;
    s->next = (s->next + 1) % RLC_EXT_SOURCE_CACHE;
    *out = b;
    return RLC_OK;
}

rlc_status rlc_ext_source_get(rlc_ext_source *s, int eval, uint64_t i, const rlc_ext_prompt **out) {
    uint64_t index = i / RLC_EXT_SOURCE_BLOCK;
    block *b = NULL;
    for (int k = 0; k < RLC_EXT_SOURCE_CACHE && !b; k++)
        if (s->cache[k].used && s->cache[k].eval == eval && s->cache[k].index == index)
            b = &s->cache[k];
    if (!b) RLC_TRY(fetch(s, eval, index, &b));
    *out = &b->items[i % RLC_EXT_SOURCE_BLOCK];
    return RLC_OK;
}
