/* Reading tokenizer.json: the top level and the model's vocab and merges with
 * the focused scanner (json_scan.c), the small parts (added tokens, normalizer,
 * pre-tokenizer) with jansson. Every rejection names the file and the field. */
#include "base/fs.h"
#include "tokenizer/tok_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct loader {
    const char *path;
    rlc_tokenizer *t;
    size_t strs_len, strs_cap;
    int cap_ids;
    long max_ids; /* ids lie below: 2 x (vocab entries + added tokens) + 1024 (0 = unset) */
    char *sbuf;   /* scratch for scanned strings */
    size_t scap;
} loader;

static rlc_status syntax(loader *L, const char *base, const char *at, const char *what) {
    return rlc_errorf(RLC_ERR_FORMAT,
                      "%s: not a tokenizer.json (JSON syntax error in %s at byte %zu)", L->path,
                      what, at ? (size_t)(at - base) : (size_t)0);
}

static rlc_status grow_ids(loader *L, int id) {
    rlc_tokenizer *t = L->t;
    /* Tables are sized by the largest id: a sparse huge id would cost memory
     * out of all proportion to the file. Gaps are allowed, up to as many ids
     * again as the file names, plus 1024. */
    if (L->max_ids && id >= L->max_ids)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: token id %d is out of range: the file holds %ld tokens "
                          "(model.vocab and added_tokens), so ids must be below %ld",
                          L->path, id, (L->max_ids - 1024) / 2, L->max_ids);
    if (id < L->cap_ids) return RLC_OK;
    int cap = L->cap_ids ? L->cap_ids : 1024;
    while (cap <= id)
        cap *= 2;
    uint32_t *o = realloc(t->str_off, (size_t)cap * sizeof *o);
    if (o) t->str_off = o;
    uint32_t *l = realloc(t->str_len, (size_t)cap * sizeof *l);
    if (l) t->str_len = l;
    uint8_t *f = realloc(t->flags, (size_t)cap);
    if (f) t->flags = f;
    if (!o || !l || !f) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", L->path);
    memset(t->str_len + L->cap_ids, 0, (size_t)(cap - L->cap_ids) * sizeof *l);
    memset(t->flags + L->cap_ids, 0, (size_t)(cap - L->cap_ids));
    L->cap_ids = cap;
    return RLC_OK;
}

/* Stores s as the string of id (NUL-terminated in the arena). */
static rlc_status set_str(loader *L, int id, const char *s, size_t n, int flag) {
    RLC_TRY(grow_ids(L, id));
    rlc_tokenizer *t = L->t;
    if (L->strs_len + n + 1 > L->strs_cap) {
        size_t cap = L->strs_cap * 2 + n + 1;
        char *b = realloc(t->strs, cap);
        if (!b) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", L->path);
        t->strs = b, L->strs_cap = cap;
    }
    memcpy(t->strs + L->strs_len, s, n);
    t->strs[L->strs_len + n] = 0;
    t->str_off[id] = (uint32_t)L->strs_len;
    t->str_len[id] = (uint32_t)n;
    L->strs_len += n + 1;
    t->flags[id] |= (uint8_t)flag;
    if (id >= t->vocab_size) t->vocab_size = id + 1;
    return RLC_OK;
}

/* Stores every entry of model.vocab; with count set, only counts them. */
static rlc_status parse_vocab(loader *L, span v, long *count) {
    const char *p = rlc_js_ws(v.p);
    if (*p != '{')
        return rlc_errorf(RLC_ERR_FORMAT, "%s: model.vocab: expected an object of token -> id",
                          L->path);
    p = rlc_js_ws(p + 1);
    if (*p == '}') return RLC_OK;
    for (;;) {
        size_t n;
        const char *q = rlc_js_str(p, &L->sbuf, &L->scap, &n);
        if (!q) return syntax(L, v.p, p, "model.vocab");
        q = rlc_js_ws(q);
        if (*q != ':') return syntax(L, v.p, q, "model.vocab");
        q = rlc_js_ws(q + 1);
        const char *end = q;
        long id = 0;
        while (*end >= '0' && *end <= '9' && id < (1L << 30))
            id = id * 10 + (*end++ - '0');
        if (end == q || id >= (1L << 30))
            return rlc_errorf(RLC_ERR_FORMAT, "%s: model.vocab[\"%.*s\"]: expected an id >= 0",
                              L->path, (int)(n > 60 ? 60 : n), L->sbuf);
        if (count)
            ++*count;
        else
            RLC_TRY(set_str(L, (int)id, L->sbuf, n, TF_MODEL));
        p = rlc_js_ws(end);
        if (*p == '}') return RLC_OK;
        if (*p != ',') return syntax(L, v.p, p, "model.vocab");
        p = rlc_js_ws(p + 1);
    }
}

static rlc_status merges_grow(loader *L, size_t count) {
    rlc_tokenizer *t = L->t;
    if (t->merges && count * 2 <= t->mmask + 1) return RLC_OK;
    uint64_t cap = t->merges ? (t->mmask + 1) * 2 : 1 << 12;
    while (!t->merges && cap < (uint64_t)t->vocab_size * 2)
        cap *= 2; /* merges < vocab */
    while (count * 2 > cap)
        cap *= 2;
    tok_merge_slot *s = calloc(cap, sizeof *s);
    if (!s) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", L->path);
    for (uint64_t i = 0; t->merges && i <= t->mmask; i++) {
        if (!t->merges[i].key) continue;
        uint64_t h = rlc_tok_mix(t->merges[i].key);
        while (s[h & (cap - 1)].key)
            h++;
        s[h & (cap - 1)] = t->merges[i];
    }
    free(t->merges);
    t->merges = s;
    t->mmask = cap - 1;
    return RLC_OK;
}

static rlc_status merge_token(loader *L, int rank, const char *s, size_t n, int *id) {
    *id = rlc_tok_vocab_find(L->t, s, n);
    if (*id < 0 || !(L->t->flags[*id] & TF_MODEL))
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: model.merges[%d] names token \"%.*s\", which is not in model.vocab",
                          L->path, rank, (int)(n > 60 ? 60 : n), s);
    return RLC_OK;
}

static rlc_status add_merge(loader *L, int rank, const char *a, size_t na, const char *b,
                            size_t nb) {
    int ia, ib, im;
    RLC_TRY(merge_token(L, rank, a, na, &ia));
    RLC_TRY(merge_token(L, rank, b, nb, &ib));
    char tmp[512];
    if (na + nb > sizeof tmp)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: model.merges[%d]: token too long", L->path, rank);
    memcpy(tmp, a, na);
    memcpy(tmp + na, b, nb);
    RLC_TRY(merge_token(L, rank, tmp, na + nb, &im));
    RLC_TRY(merges_grow(L, (size_t)rank + 1));
    rlc_tokenizer *t = L->t;
    uint64_t key = rlc_tok_pair_key(ia, ib);
    uint64_t h = rlc_tok_mix(key);
    /* A repeated pair keeps its last rank, as Hugging Face's map does. */
    while (t->merges[h & t->mmask].key && t->merges[h & t->mmask].key != key)
        h++;
    tok_merge_slot *slot = &t->merges[h & t->mmask];
    slot->key = key, slot->rank = rank, slot->id = im;
    return RLC_OK;
}

static rlc_status parse_merges(loader *L, span v) {
    const char *p = rlc_js_ws(v.p);
    if (*p != '[')
        return rlc_errorf(RLC_ERR_FORMAT, "%s: model.merges: expected an array", L->path);
    RLC_TRY(merges_grow(L, 1));
    p = rlc_js_ws(p + 1);
    if (*p == ']') return RLC_OK;
    char *b2 = NULL;
    size_t cap2 = 0;
    rlc_status st = RLC_OK;
    for (int rank = 0;; rank++) {
        size_t n, n2;
        const char *q;
        if (*p == '"') { /* "a b" */
            if (!(q = rlc_js_str(p, &L->sbuf, &L->scap, &n))) {
                st = syntax(L, v.p, p, "model.merges");
                break;
            }
            char *sp = memchr(L->sbuf, ' ', n);
            if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - L->sbuf))) {
                st = rlc_errorf(RLC_ERR_FORMAT,
                                "%s: model.merges[%d]: expected \"left right\" with one space, "
                                "got \"%.*s\"",
                                L->path, rank, (int)(n > 60 ? 60 : n), L->sbuf);
                break;
            }
            st = add_merge(L, rank, L->sbuf, (size_t)(sp - L->sbuf), sp + 1,
                           n - (size_t)(sp + 1 - L->sbuf));
        } else if (*p == '[') { /* ["a", "b"] */
            q = rlc_js_str(rlc_js_ws(p + 1), &L->sbuf, &L->scap, &n);
            if (q) q = rlc_js_ws(q);
            if (q && *q == ',')
                q = rlc_js_str(rlc_js_ws(q + 1), &b2, &cap2, &n2);
            else
                q = NULL;
            if (q) q = rlc_js_ws(q);
            if (!q || *q != ']') {
                st = rlc_errorf(RLC_ERR_FORMAT,
                                "%s: model.merges[%d]: expected a pair [\"left\", \"right\"]",
                                L->path, rank);
                break;
            }
            q++;
            st = add_merge(L, rank, L->sbuf, n, b2, n2);
        } else {
            st =
                rlc_errorf(RLC_ERR_FORMAT,
                           "%s: model.merges[%d]: expected \"left right\" or [\"left\", \"right\"]",
                           L->path, rank);
            break;
        }
        if (st) break;
        p = rlc_js_ws(q);
        if (*p == ']') break;
        if (*p != ',') {
            st = syntax(L, v.p, p, "model.merges");
            break;
        }
        p = rlc_js_ws(p + 1);
    }
    free(b2);
    return st;
}

static json_t *load_span(loader *L, span s, const char *what, rlc_status *st) {
    json_error_t e;
    json_t *j = json_loadb(s.p, s.n, JSON_DECODE_ANY, &e);
    if (!j) *st = rlc_errorf(RLC_ERR_FORMAT, "%s: %s: %s", L->path, what, e.text);
    return j;
}

static int jbool(json_t *o, const char *key, int dflt) {
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static rlc_status parse_added(loader *L, span s) {
    rlc_status st = RLC_OK;
    json_t *a = load_span(L, s, "added_tokens", &st);
    if (!a) return st;
    if (!json_is_array(a)) {
        json_decref(a);
        return rlc_errorf(RLC_ERR_FORMAT, "%s: added_tokens: expected an array", L->path);
    }
    rlc_tokenizer *t = L->t;
    t->added = calloc(json_array_size(a) + 1, sizeof *t->added);
    if (!t->added) st = rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", L->path);
    for (size_t i = 0; !st && i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i), *id = json_object_get(o, "id"),
               *c = json_object_get(o, "content");
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= (1 << 30) || !json_is_string(c) || !json_string_length(c)) {
            st = rlc_errorf(
                RLC_ERR_FORMAT,
                "%s: added_tokens[%zu]: expected \"id\" >= 0 and a non-empty \"content\"", L->path,
                i);
            break;
        }
        int tid = (int)json_integer_value(id), special = jbool(o, "special", 0);
        const char *cs = json_string_value(c);
        size_t cn = json_string_length(c);
        if ((st = grow_ids(L, tid))) break;
        int same = tid < t->vocab_size && t->str_len[tid] == cn &&
                   !memcmp(t->strs + t->str_off[tid], cs, cn);
        if (!same) st = set_str(L, tid, cs, cn, 0);
        if (st) break;
        t->flags[tid] |= (uint8_t)(TF_ADDED | (special ? TF_SPECIAL : 0));
        tok_added *ad = &t->added[t->n_added++];
        ad->id = tid;
        ad->len = (uint32_t)cn;
        ad->special = (uint8_t)special;
        ad->lstrip = (uint8_t)jbool(o, "lstrip", 0);
        ad->rstrip = (uint8_t)jbool(o, "rstrip", 0);
    }
    json_decref(a);
    return st;
}

static rlc_status parse_normalizer(loader *L, json_t *n) {
    if (json_is_null(n)) return RLC_OK;
    const char *type = json_string_value(json_object_get(n, "type"));
    if (type && !strcmp(type, "NFC")) {
        L->t->nfc = 1;
        return RLC_OK;
    }
    if (type && !strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers");
        for (size_t i = 0; i < json_array_size(list); i++)
            RLC_TRY(parse_normalizer(L, json_array_get(list, i)));
        return RLC_OK;
    }
    return rlc_errorf(RLC_ERR_UNSUPPORTED,
                      "%s: normalizer type \"%s\" is not supported (rlc supports NFC)", L->path,
                      type ? type : "?");
}

/* GPT-2's pattern, used by ByteLevel when use_regex is true. */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static rlc_status parse_pre(loader *L, json_t *p) {
    rlc_tokenizer *t = L->t;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: pre_tokenizer: expected an object with \"type\"",
                          L->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "pretokenizers");
        for (size_t i = 0; i < json_array_size(list); i++)
            RLC_TRY(parse_pre(L, json_array_get(list, i)));
        return RLC_OK;
    }
    if (t->n_pre == TOK_MAX_PRE)
        return rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: pre_tokenizer: more than %d steps", L->path,
                          TOK_MAX_PRE);
    tok_pre *s = &t->pre[t->n_pre];
    if (!strcmp(type, "Split")) {
        json_t *pat = json_object_get(p, "pattern"), *re = json_object_get(pat, "Regex"),
               *lit = json_object_get(pat, "String");
        const char *b = json_string_value(json_object_get(p, "behavior"));
        if (!json_is_string(re) && !json_is_string(lit))
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: pre_tokenizer Split: expected pattern {\"Regex\": ...} or "
                              "{\"String\": ...}",
                              L->path);
        if (jbool(p, "invert", 0))
            return rlc_errorf(RLC_ERR_UNSUPPORTED,
                              "%s: pre_tokenizer Split with invert=true is not supported", L->path);
        static const char *names[] = {"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext",
                                      "Contiguous"};
        s->behavior = -1;
        for (int i = 0; i < 5; i++)
            if (b && !strcmp(b, names[i])) s->behavior = i;
        if (s->behavior < 0)
            return rlc_errorf(RLC_ERR_UNSUPPORTED,
                              "%s: pre_tokenizer Split: behavior \"%s\" is not supported", L->path,
                              b ? b : "?");
        s->kind = PRE_SPLIT;
        json_t *src = re ? re : lit;
        RLC_TRY(
            rlc_tok_compile(json_string_value(src), json_string_length(src), !re, &s->re, L->path));
    } else if (!strcmp(type, "ByteLevel")) {
        s->kind = PRE_BYTELEVEL;
        s->add_prefix_space = jbool(p, "add_prefix_space", 1);
        if (jbool(p, "use_regex", 1))
            RLC_TRY(rlc_tok_compile(gpt2_pattern, sizeof gpt2_pattern - 1, 0, &s->re, L->path));
        s->behavior = SPLIT_ISOLATED;
    } else if (!strcmp(type, "Digits")) {
        s->kind = PRE_DIGITS;
        s->individual_digits = jbool(p, "individual_digits", 0);
    } else {
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: pre_tokenizer type \"%s\" is not supported (rlc reads byte-level "
                          "BPE: Split, ByteLevel, Digits)",
                          L->path, type);
    }
    t->n_pre++;
    return RLC_OK;
}

/* Reads the model object at m (recording where vocab and merges are, parsed
 * later once added tokens are known); *end is set past the object. */
static rlc_status parse_model(loader *L, span m, const char **end, span *vocab, span *merges) {
    const char *p = rlc_js_ws(m.p);
    if (*p != '{') return rlc_errorf(RLC_ERR_FORMAT, "%s: model: expected an object", L->path);
    p = rlc_js_ws(p + 1);
    char type[64] = "";
    while (*p != '}') {
        size_t n;
        const char *q = rlc_js_str(p, &L->sbuf, &L->scap, &n);
        if (!q) return syntax(L, m.p, p, "model");
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(n < 63 ? n : 63), L->sbuf);
        q = rlc_js_ws(q);
        if (*q != ':') return syntax(L, m.p, q, "model");
        const char *vs = rlc_js_ws(q + 1), *ve = rlc_js_skip(vs);
        if (!ve) return syntax(L, m.p, vs, "model");
        if (!strcmp(key, "vocab"))
            *vocab = (span){vs, (size_t)(ve - vs)};
        else if (!strcmp(key, "merges"))
            *merges = (span){vs, (size_t)(ve - vs)};
        else if (!strcmp(key, "ignore_merges"))
            L->t->ignore_merges = !strncmp(vs, "true", 4);
        else if (!strcmp(key, "type") && *vs == '"') {
            if (!rlc_js_str(vs, &L->sbuf, &L->scap, &n)) return syntax(L, m.p, vs, "model");
            snprintf(type, sizeof type, "%.*s", (int)(n < 63 ? n : 63), L->sbuf);
        } else if ((!strcmp(key, "continuing_subword_prefix") ||
                    !strcmp(key, "end_of_word_suffix")) &&
                   *vs == '"' && ve - vs > 2)
            return rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: model.%s is not supported", L->path, key);
        p = rlc_js_ws(ve);
        if (*p == ',')
            p = rlc_js_ws(p + 1);
        else if (*p != '}')
            return syntax(L, m.p, p, "model");
    }
    *end = p + 1;
    if (type[0] && strcmp(type, "BPE"))
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: model.type \"%s\" is not supported (rlc reads byte-level BPE)",
                          L->path, type);
    if (!vocab->p || !merges->p)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: model: expected \"vocab\" and \"merges\"", L->path);
    return RLC_OK;
}

static rlc_status load_json(loader *L, const char *data, size_t len) {
    span model = {0}, added = {0}, norm = {0}, pre = {0}, vocab = {0}, merges = {0};
    const char *p = rlc_js_ws(data);
    if (*p != '{')
        return rlc_errorf(RLC_ERR_FORMAT, "%s: not a tokenizer.json (expected a JSON object)",
                          L->path);
    p = rlc_js_ws(p + 1);
    while (*p != '}') {
        size_t n;
        const char *q = rlc_js_str(p, &L->sbuf, &L->scap, &n);
        if (!q) return syntax(L, data, p, "the top level");
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)(n < 31 ? n : 31), L->sbuf);
        q = rlc_js_ws(q);
        if (*q != ':') return syntax(L, data, q, "the top level");
        const char *vs = rlc_js_ws(q + 1), *ve = NULL;
        if (!strcmp(key, "model")) {
            model.p = vs;
            RLC_TRY(parse_model(L, model, &ve, &vocab, &merges));
        } else if (!(ve = rlc_js_skip(vs))) {
            return syntax(L, data, vs, key);
        }
        span s = {vs, (size_t)(ve - vs)};
        if (!strcmp(key, "added_tokens"))
            added = s;
        else if (!strcmp(key, "normalizer"))
            norm = s;
        else if (!strcmp(key, "pre_tokenizer"))
            pre = s;
        p = rlc_js_ws(ve);
        if (*p == ',')
            p = rlc_js_ws(p + 1);
        else if (*p != '}')
            return syntax(L, data, p, "the top level");
    }
    if (*rlc_js_ws(p + 1)) return syntax(L, data, p + 1, "the top level");
    if (!model.p)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: not a tokenizer.json (no \"model\")", L->path);
    L->strs_cap = len + 1;
    if (!(L->t->strs = malloc(L->strs_cap)))
        return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", L->path);
    long n_tokens = 0;
    RLC_TRY(parse_vocab(L, vocab, &n_tokens));
    if (added.p) {
        rlc_status st = RLC_OK;
        json_t *a = load_span(L, added, "added_tokens", &st);
        if (!a) return st;
        n_tokens += (long)json_array_size(a);
        json_decref(a);
    }
    L->max_ids = 2 * n_tokens + 1024;
    RLC_TRY(parse_vocab(L, vocab, NULL));
    if (added.p) RLC_TRY(parse_added(L, added));
    RLC_TRY(rlc_tok_finish(L->t, L->path));
    RLC_TRY(parse_merges(L, merges));
    rlc_status st = RLC_OK;
    if (norm.p) {
        json_t *j = load_span(L, norm, "normalizer", &st);
        if (j) st = parse_normalizer(L, j);
        json_decref(j);
        if (st) return st;
    }
    if (pre.p) {
        json_t *j = load_span(L, pre, "pre_tokenizer", &st);
        if (j && !json_is_null(j)) st = parse_pre(L, j);
        json_decref(j);
        if (st) return st;
    }
    if (!L->t->n_pre || L->t->pre[L->t->n_pre - 1].kind != PRE_BYTELEVEL)
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: pre_tokenizer: expected a ByteLevel step last (rlc reads "
                          "byte-level BPE only)",
                          L->path);
    return RLC_OK;
}

rlc_status rlc_tokenizer_load(const char *path, rlc_tokenizer **out) {
    *out = NULL;
    char file[4096];
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode))
        RLC_TRY(rlc_path_join(file, sizeof file, path, "tokenizer.json"));
    else
        snprintf(file, sizeof file, "%s", path);
    char *data;
    size_t len;
    RLC_TRY(rlc_read_file(file, &data, &len));
    loader L = {.path = file};
    L.t = calloc(1, sizeof *L.t);
    rlc_status st = L.t ? load_json(&L, data, len) : rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    free(data);
    free(L.sbuf);
    if (st) {
        rlc_tokenizer_free(L.t);
        return st;
    }
    *out = L.t;
    return RLC_OK;
}
