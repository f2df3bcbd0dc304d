/* JSONL reading and the GSM8K / SFT loaders. */
#include "data/jsonl.h"

#include "base/fs.h"
#include "data/parquet.h"

#include <stdio.h>
#include <string.h>

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != '\f' &&
            s[i] != '\v')
            return 0;
    return 1;
}

rlc_status rlc_jsonl_foreach(const char *path, rlc_jsonl_fn fn, void *ctx, size_t *count) {
    char *data;
    size_t len, n = 0;
    if (count) *count = 0;
    RLC_TRY(rlc_read_file(path, &data, &len));
    rlc_status st = RLC_OK;
    size_t line = 0;
    for (size_t pos = 0; pos < len && st == RLC_OK;) {
        line++;
        const char *b = data + pos;
        const char *nl = memchr(b, '\n', len - pos);
        size_t n_line = nl ? (size_t)(nl - b) : len - pos;
        pos += n_line + (nl != NULL);
        if (is_blank(b, n_line)) continue;
        json_error_t err;
        json_t *obj = json_loadb(b, n_line, JSON_REJECT_DUPLICATES, &err);
        if (!obj) {
            st = rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: invalid JSON: %s (column %d)", path, line,
                            err.text, err.column);
        } else if (!json_is_object(obj)) {
            st = rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: expected a JSON object", path, line);
        } else {
            n++;
            st = fn(obj, path, line, ctx);
        }
        json_decref(obj);
    }
    free(data);
    if (count) *count = n;
    if (st == RLC_OK && n == 0) st = rlc_errorf(RLC_ERR_FORMAT, "%s: no examples", path);
    return st;
}

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* v as a string field ("where" names it in messages, e.g. "messages[2].role";
 * v NULL: missing), or an error naming file, line and field. */
static rlc_status string_value(const json_t *v, const char *where, const char *path, size_t line,
                               const char **out) {
    if (!v)
        return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: missing field \"%s\" (expected a string)", path,
                          line, where);
    if (!json_is_string(v))
        return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: field \"%s\" must be a string, got %s", path,
                          line, where, type_name(v));
    *out = json_string_value(v);
    return RLC_OK;
}

static rlc_status get_string(const json_t *obj, const char *key, const char *where,
                             const char *path, size_t line, const char **out) {
    return string_value(json_object_get(obj, key), where, path, line, out);
}

/* obj's field key, or, when it has none and key is dotted ("reward_model.
 * ground_truth"), the field reached through the nested objects; NULL if none. */
static const json_t *field_at(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    const char *dot = strchr(key, '.');
    if (v || !dot) return v;
    char head[256];
    size_t n = (size_t)(dot - key);
    if (n >= sizeof head) return NULL;
    memcpy(head, key, n);
    head[n] = 0;
    const json_t *sub = json_object_get(obj, head);
    return json_is_object(sub) ? field_at(sub, dot + 1) : NULL;
}

static char *dup_str(const char *s) {
    char *d = rlc_malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

/* Grows *items (elem bytes each) so that index n fits. */
static rlc_status grow(void **items, size_t n, size_t *cap, size_t elem) {
    if (n < *cap) return RLC_OK;
    size_t nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*items, nc * elem);
    if (!p) return rlc_errorf(RLC_ERR_NOMEM, "out of memory reading a data set");
    *items = p;
    *cap = nc;
    return RLC_OK;
}

/* Fills the zeroed item from one line; arg is the loader's. */
typedef rlc_status (*item_fn)(const json_t *obj, const char *path, size_t line, void *item,
                              const void *arg);
typedef void (*item_free_fn)(void *item);

typedef struct set_ctx {
    void **items;
    size_t *n, cap, elem;
    item_fn fill;
    item_free_fn item_free;
    const void *arg;
} set_ctx;

static rlc_status set_line(const json_t *obj, const char *path, size_t line, void *vctx) {
    set_ctx *c = vctx;
    RLC_TRY(grow(c->items, *c->n, &c->cap, c->elem));
    void *item = (char *)*c->items + *c->n * c->elem;
    memset(item, 0, c->elem);
    rlc_status st = c->fill(obj, path, line, item, c->arg);
    if (st) {
        c->item_free(item);
        return st;
    }
    (*c->n)++;
    return RLC_OK;
}

static void set_free(void **items, size_t *n, size_t elem, item_free_fn item_free) {
    for (size_t i = 0; i < *n; i++)
        item_free((char *)*items + i * elem);
    free(*items);
    *items = NULL;
    *n = 0;
}

/* Loads every line of path into *items (n of them, elem bytes each); on error
 * the set is left empty. */
static rlc_status set_load(const char *path, void **items, size_t *n, size_t elem, item_fn fill,
                           item_free_fn item_free, const void *arg) {
    *items = NULL;
    *n = 0;
    set_ctx c = {items, n, 0, elem, fill, item_free, arg};
    rlc_status st = rlc_parquet_path(path) ? rlc_parquet_foreach(path, set_line, &c, NULL)
                                           : rlc_jsonl_foreach(path, set_line, &c, NULL);
    if (st) set_free(items, n, elem, item_free);
    return st;
}

static void messages_free(rlc_message *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(m[i].role);
        free(m[i].content);
    }
    free(m);
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The last "####" in s (GSM8K's final-answer marker), or NULL. */
static const char *answer_mark(const char *s) {
    const char *mark = NULL;
    for (const char *p = s; (p = strstr(p, "####")); p++)
        mark = p;
    return mark;
}

/* [*b, *e): the text after mark up to its line end, trimmed ("#####" is still
 * a marker). */
static void answer_span(const char *mark, const char **b, const char **e) {
    *b = mark + 4;
    while (**b == '#')
        (*b)++;
    *e = *b + strcspn(*b, "\n");
    while (*b < *e && is_space(**b))
        (*b)++;
    while (*e > *b && is_space((*e)[-1]))
        (*e)--;
}

/* A copy of b[0..n) with commas dropped when it looks numeric ("1,234" -> "1234"). */
static char *reference_copy(const char *b, size_t n) {
    int numeric = n && strspn(b, "0123456789,.+-$") >= n && strcspn(b, "0123456789") < n;
    char *ref = rlc_malloc(n + 1);
    if (!ref) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!(numeric && b[i] == ',')) ref[o++] = b[i];
    ref[o] = 0;
    return ref;
}

/* ---- GSM8K ---- */

/* The final answer after the last "####", up to its line end, trimmed, with
 * commas dropped when the rest looks numeric ("1,234" -> "1234"). NULL with an
 * error if there is none. */
static rlc_status gsm8k_reference(const char *answer, const char *path, size_t line, char **out) {
    const char *mark = answer_mark(answer), *b, *e;
    if (!mark)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s:%zu: field \"answer\" has no final \"#### N\" line (GSM8K form)",
                          path, line);
    answer_span(mark, &b, &e);
    if (b == e)
        return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: field \"answer\" has nothing after \"####\"",
                          path, line);
    *out = reference_copy(b, (size_t)(e - b));
    return *out ? RLC_OK : RLC_ERR_NOMEM;
}

static rlc_status qa_item(const json_t *obj, const char *path, size_t line, void *item,
                          const void *arg) {
    rlc_qa_example *ex = item;
    const char *q = NULL, *a = NULL;
    (void)arg;
    RLC_TRY(get_string(obj, "question", "question", path, line, &q));
    RLC_TRY(get_string(obj, "answer", "answer", path, line, &a));
    RLC_TRY(gsm8k_reference(a, path, line, &ex->reference));
    ex->question = dup_str(q);
    ex->answer = dup_str(a);
    return ex->question && ex->answer ? RLC_OK : RLC_ERR_NOMEM;
}

static void qa_item_free(void *item) {
    rlc_qa_example *ex = item;
    free(ex->question);
    free(ex->answer);
    free(ex->reference);
}

rlc_status rlc_qa_load(const char *path, rlc_qa_set *set) {
    memset(set, 0, sizeof *set);
    return set_load(path, (void **)&set->items, &set->n, sizeof *set->items, qa_item, qa_item_free,
                    NULL);
}

void rlc_qa_free(rlc_qa_set *set) {
    set_free((void **)&set->items, &set->n, sizeof *set->items, qa_item_free);
    memset(set, 0, sizeof *set);
}

/* ---- SFT ---- */

static const char *const roles[] = {"system", "user", "assistant", "tool"};

static void sft_example_free(void *item) {
    rlc_sft_example *ex = item;
    free(ex->prompt);
    free(ex->response);
    messages_free(ex->messages, ex->n_messages);
    memset(ex, 0, sizeof *ex);
}

/* A TRL conversational field: a non-empty list of {"role", "content"} turns. */
static rlc_status load_turns(const json_t *arr, const char *field, const char *path, size_t line,
                             rlc_message **out, size_t *n_out) {
    size_t n = json_array_size(arr);
    if (n == 0)
        return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: field \"%s\" is an empty list", path, line,
                          field);
    *out = rlc_calloc(n, sizeof **out);
    if (!*out) return RLC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(arr, i);
        char rk[64], ck[64];
        snprintf(rk, sizeof rk, "%s[%zu].role", field, i);
        snprintf(ck, sizeof ck, "%s[%zu].content", field, i);
        const char *role = NULL, *content = NULL;
        if (!json_is_object(m))
            return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: %s[%zu] must be an object, got %s", path,
                              line, field, i, type_name(m));
        RLC_TRY(get_string(m, "role", rk, path, line, &role));
        RLC_TRY(get_string(m, "content", ck, path, line, &content));
        int known = 0;
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++)
            known |= !strcmp(role, roles[r]);
        if (!known)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s:%zu: %s \"%s\" is not one of system, user, assistant, tool", path,
                              line, rk, role);
        (*out)[i].role = dup_str(role);
        (*out)[i].content = dup_str(content);
        *n_out = i + 1;
        if (!(*out)[i].role || !(*out)[i].content) return RLC_ERR_NOMEM;
    }
    return RLC_OK;
}

static rlc_status load_messages(const json_t *msgs, const char *path, size_t line,
                                rlc_sft_example *ex) {
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s:%zu: field \"messages\" must be a non-empty list of "
                          "{\"role\", \"content\"} objects",
                          path, line);
    RLC_TRY(load_turns(msgs, "messages", path, line, &ex->messages, &ex->n_messages));
    int assistant = 0;
    for (size_t i = 0; i < ex->n_messages; i++)
        assistant |= !strcmp(ex->messages[i].role, "assistant");
    if (!assistant)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s:%zu: field \"messages\" has no \"assistant\" message to train on",
                          path, line);
    return RLC_OK;
}

static rlc_status sft_example(const json_t *obj, const char *path, size_t line, void *item,
                              const void *arg) {
    rlc_sft_example *ex = item;
    (void)arg;
    const json_t *msgs = json_object_get(obj, "messages");
    int pr = json_object_get(obj, "prompt") || json_object_get(obj, "response");
    if (msgs && pr)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s:%zu: has both \"messages\" and \"prompt\"/\"response\"; use one form",
                          path, line);
    if (msgs) return load_messages(msgs, path, line, ex);
    if (!pr)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s:%zu: expected \"prompt\" and \"response\" strings or a \"messages\" "
                          "list",
                          path, line);
    const char *p = NULL, *r = NULL;
    RLC_TRY(get_string(obj, "prompt", "prompt", path, line, &p));
    RLC_TRY(get_string(obj, "response", "response", path, line, &r));
    if (!*r) return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: field \"response\" is empty", path, line);
    ex->prompt = dup_str(p);
    ex->response = dup_str(r);
    return ex->prompt && ex->response ? RLC_OK : RLC_ERR_NOMEM;
}

rlc_status rlc_sft_load(const char *path, rlc_sft_set *set) {
    memset(set, 0, sizeof *set);
    return set_load(path, (void **)&set->items, &set->n, sizeof *set->items, sft_example,
                    sft_example_free, NULL);
}

void rlc_sft_free(rlc_sft_set *set) {
    set_free((void **)&set->items, &set->n, sizeof *set->items, sft_example_free);
    memset(set, 0, sizeof *set);
}

/* ---- records in any accepted form ---- */

typedef struct rec_keys {
    const char *pkey, *akey;
} rec_keys;

static void record_free(void *item) {
    rlc_record *r = item;
    messages_free(r->msgs, r->n_msgs);
    free(r->completion);
    free(r->reference);
    free(r->solution);
    memset(r, 0, sizeof *r);
}

/* A string field, or a number written as text (answers like 42); key may be
 * dotted (field_at). */
static rlc_status get_text(const json_t *obj, const char *key, const char *path, size_t line,
                           char **out) {
    const json_t *v = field_at(obj, key);
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *out = dup_str(buf);
    } else if (json_is_real(v)) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
        *out = dup_str(buf);
    } else {
        const char *s = NULL;
        RLC_TRY(string_value(v, key, path, line, &s));
        *out = dup_str(s);
    }
    return *out ? RLC_OK : RLC_ERR_NOMEM;
}

/* reference and solution from the completion: GSM8K's "#### N" when present. */
static rlc_status split_answer(rlc_record *r) {
    const char *c = r->completion, *mark = answer_mark(c);
    const char *b = c, *e = c + strlen(c);
    size_t body = strlen(c);
    if (mark) {
        body = (size_t)(mark - c);
        answer_span(mark, &b, &e);
    } else {
        while (b < e && is_space(*b))
            b++;
        while (e > b && is_space(e[-1]))
            e--;
    }
    while (body > 0 && is_space(c[body - 1]))
        body--;
    r->reference = reference_copy(b, (size_t)(e - b));
    r->solution = rlc_malloc(body + 1);
    if (!r->reference || !r->solution) return RLC_ERR_NOMEM;
    memcpy(r->solution, c, body);
    r->solution[body] = 0;
    return RLC_OK;
}

static rlc_status user_turn(rlc_record *r, char *content) {
    r->msgs = rlc_calloc(1, sizeof *r->msgs);
    if (!r->msgs) {
        free(content);
        return RLC_ERR_NOMEM;
    }
    r->n_msgs = 1;
    r->msgs[0].content = content;
    r->msgs[0].role = dup_str("user");
    return r->msgs[0].role ? RLC_OK : RLC_ERR_NOMEM;
}

/* TRL's conversational prompt/completion: {"prompt": [turns], "completion":
 * [{"role": "assistant", "content": ...}]}. */
static rlc_status conversational(const json_t *obj, const char *path, size_t line, rlc_record *r) {
    RLC_TRY(load_turns(json_object_get(obj, "prompt"), "prompt", path, line, &r->msgs, &r->n_msgs));
    const json_t *c = json_object_get(obj, "completion");
    if (json_is_string(c)) {
        r->completion = dup_str(json_string_value(c));
        return r->completion ? RLC_OK : RLC_ERR_NOMEM;
    }
    rlc_message *turns = NULL;
    size_t n = 0;
    rlc_status st = json_is_array(c) ? load_turns(c, "completion", path, line, &turns, &n)
                                     : rlc_errorf(RLC_ERR_FORMAT,
                                                  "%s:%zu: a conversational \"prompt\" needs a "
                                                  "\"completion\" string or list of turns",
                                                  path, line);
    if (st == RLC_OK && strcmp(turns[n - 1].role, "assistant"))
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s:%zu: the last \"completion\" turn is not an assistant "
                        "turn",
                        path, line);
    if (st == RLC_OK) {
        r->completion = turns[n - 1].content;
        turns[n - 1].content = NULL;
    }
    messages_free(turns, n);
    return st;
}

static rlc_status record_item(const json_t *obj, const char *path, size_t line, void *item,
                              const void *arg) {
    const rec_keys *x = arg;
    rlc_record *r = item;
    const char *ckey = NULL, *pkey = "prompt";
    rlc_status st = RLC_OK;
    const json_t *prompt = json_object_get(obj, "prompt");
    if (field_at(obj, x->pkey)) {
        ckey = x->akey;
        pkey = x->pkey;
    } else if (json_is_array(prompt) && !json_object_get(obj, "completion") &&
               (json_object_get(obj, "response") || field_at(obj, "reward_model.ground_truth"))) {
        /* verl's layouts: SFT (chat prompt, response), RL (chat prompt, reward_model) */
        ckey = json_object_get(obj, "response") ? "response" : "reward_model.ground_truth";
    } else if (json_object_get(obj, "messages")) {
        rlc_sft_example ex;
        memset(&ex, 0, sizeof ex);
        st = load_messages(json_object_get(obj, "messages"), path, line, &ex);
        size_t last = ex.n_messages;
        while (st == RLC_OK && last > 0 && strcmp(ex.messages[last - 1].role, "assistant"))
            last--;
        if (st == RLC_OK && last < 2)
            st = rlc_errorf(RLC_ERR_FORMAT,
                            "%s:%zu: field \"messages\" has no turn before its last assistant "
                            "message",
                            path, line);
        if (st == RLC_OK) {
            /* the record takes the turns before the completion and the completion */
            r->completion = ex.messages[last - 1].content;
            ex.messages[last - 1].content = NULL;
            r->msgs = ex.messages;
            r->n_msgs = last - 1;
            for (size_t i = last - 1; i < ex.n_messages; i++) {
                free(ex.messages[i].role);
                free(ex.messages[i].content);
            }
            ex.messages = NULL;
            ex.n_messages = 0;
            if (!*r->completion)
                st = rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: the last assistant message is empty", path,
                                line);
        }
        sft_example_free(&ex);
    } else if (json_is_array(prompt)) {
        st = conversational(obj, path, line, r);
        if (st == RLC_OK && !*r->completion)
            st = rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: the completion is empty", path, line);
    } else if (prompt) {
        ckey = json_object_get(obj, "completion") ? "completion" : "response";
    } else {
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s:%zu: expected \"%s\"/\"%s\" (data.prompt_key/data.answer_key), "
                        "\"prompt\"/\"completion\", \"prompt\"/\"response\" or a \"messages\" "
                        "list",
                        path, line, x->pkey, x->akey);
    }
    if (st == RLC_OK && ckey) {
        const json_t *turns = field_at(obj, pkey);
        char *text = NULL;
        if (json_is_array(turns)) { /* a chat list, as verl's "prompt" */
            st = load_turns(turns, pkey, path, line, &r->msgs, &r->n_msgs);
        } else {
            st = get_text(obj, pkey, path, line, &text);
            if (st == RLC_OK) st = user_turn(r, text);
        }
        if (st == RLC_OK) st = get_text(obj, ckey, path, line, &r->completion);
        if (st == RLC_OK && !*r->completion)
            st = rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: field \"%s\" is empty", path, line, ckey);
    }
    if (st == RLC_OK) st = split_answer(r);
    return st;
}

rlc_status rlc_records_load(const char *path, const char *prompt_key, const char *answer_key,
                            rlc_record_set *set) {
    memset(set, 0, sizeof *set);
    rec_keys x = {prompt_key, answer_key};
    return set_load(path, (void **)&set->items, &set->n, sizeof *set->items, record_item,
                    record_free, &x);
}

rlc_status rlc_records_load_files(const char *const *paths, size_t n, const char *prompt_key,
                                  const char *answer_key, rlc_record_set *set) {
    memset(set, 0, sizeof *set);
    rlc_status st = RLC_OK;
    for (size_t f = 0; f < n && st == RLC_OK; f++) {
        rlc_record_set one;
        st = rlc_records_load(paths[f], prompt_key, answer_key, &one);
        if (st) break;
        rlc_record *items = realloc(set->items, (set->n + one.n) * sizeof *items);
        if (!items) {
            rlc_records_free(&one);
            st = rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", paths[f]);
            break;
        }
        /* the records move; only one's array is released */
        memcpy(items + set->n, one.items, one.n * sizeof *items);
        set->items = items;
        set->n += one.n;
        free(one.items);
    }
    if (st) rlc_records_free(set);
    return st;
}

void rlc_records_free(rlc_record_set *set) {
    set_free((void **)&set->items, &set->n, sizeof *set->items, record_free);
    memset(set, 0, sizeof *set);
}
