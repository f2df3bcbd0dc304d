/* Rubric files: libyaml's document tree walked once into a flat array of
 * criteria in file order (a group before its members, so scoring runs
 * backwards and finds every member scored before its group). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rewards/rubric.h"

#include "base/fs.h"
#include "rewards/rewards.h"

#include <jansson.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A criterion's keys: its name and weight, then the checks by kind. */
typedef enum key_id {
    K_NAME,
    K_WEIGHT,
    K_GROUP,
    K_REGEX,
    K_NOT_REGEX,
    K_CONTAINS,
    K_LENGTH,
    K_NUMBER,
    K_JSON,
    K_EXACT,
    K_COUNT
} key_id;
static const char *const keys[K_COUNT] = {
    "name",        "weight",      "group",  "regex",
    "not_regex",   "contains",    "length", "number_equals_reference",
    "json_parses", "exact_format"};
#define CHECKS                                                                                     \
    "regex, not_regex, contains, length, number_equals_reference, json_parses, exact_format"

/* length's bounds, in this order in criterion.lim */
static const char *const bounds[4] = {"min_tokens", "max_tokens", "min_chars", "max_chars"};

typedef struct criterion {
    char path[RLC_RUBRIC_NAME_MAX];
    key_id kind; /* K_GROUP or a check */
    double weight;
    int parent; /* its group's index; -1 at the top */
    int line;
    pcre2_code *re;   /* regex, not_regex, exact_format */
    char *text;       /* contains */
    long lim[4];      /* length: bounds[] in order, -1 where not given */
    double tolerance; /* number_equals_reference */
    int of_answer;    /* json_parses: the <answer> text rather than the whole completion */
} criterion;

struct rlc_rubric {
    char name[RLC_RUBRIC_NAME_MAX];
    int n, n_groups;
    criterion c[RLC_RUBRIC_MAX_CRITERIA];
};

typedef struct ctx {
    const char *file;
    yaml_document_t *d;
    rlc_rubric *r;
} ctx;

__attribute__((format(printf, 5, 6))) static rlc_status
bad(const ctx *x, const yaml_node_t *n, rlc_status st, const char *field, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rlc_errorf(st, "%s:%zu: %s: %s", x->file, n ? n->start_mark.line + 1 : 1, field, msg);
}

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(const ctx *x, int id) {
    return yaml_document_get_node(x->d, id);
}

/* Names are letters, digits, '_' and '-': '.' joins a group's path and '/'
 * separates the parts of a metric key. */
static int valid_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static rlc_status number(const ctx *x, const yaml_node_t *n, const char *field, int integer,
                         double *out) {
    const char *s = scalar(n);
    char *end = NULL;
    double v = s && *s ? strtod(s, &end) : NAN;
    if (!s || !end || *end || !isfinite(v) || v < 0 || (integer && (v != floor(v) || v > 1e9)))
        return bad(x, n, RLC_ERR_INVALID, field, "expected %s >= 0, got %s%s%s",
                   integer ? "a whole number" : "a number", s ? "\"" : "a list or mapping",
                   s ? s : "", s ? "\"" : "");
    *out = v;
    return RLC_OK;
}

static rlc_status compile(const ctx *x, const yaml_node_t *n, const char *field, int whole,
                          pcre2_code **re) {
    const char *s = scalar(n);
    if (!s || !*s)
        return bad(x, n, RLC_ERR_INVALID, field, "expected a regular expression (a string)");
    uint32_t opt = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (whole) opt |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    int code;
    PCRE2_SIZE off;
    *re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, opt, &code, &off, NULL);
    if (*re) return RLC_OK;
    PCRE2_UCHAR why[256];
    pcre2_get_error_message(code, why, sizeof why);
    return bad(x, n, RLC_ERR_INVALID, field, "bad regular expression at offset %zu: %s",
               (size_t)off, (const char *)why);
}

/* length: {min_tokens, max_tokens, min_chars, max_chars}, at least one. */
static rlc_status parse_length(const ctx *x, const yaml_node_t *n, const char *field, long *lim) {
    if (!n || n->type != YAML_MAPPING_NODE)
        return bad(x, n, RLC_ERR_INVALID, field,
                   "expected a mapping of min_tokens, max_tokens, min_chars, max_chars");
    int any = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(x, p->key);
        const char *key = scalar(k);
        int b = 0;
        while (b < 4 && (!key || strcmp(key, bounds[b])))
            b++;
        if (b == 4)
            return bad(x, k, RLC_ERR_INVALID, field,
                       "unknown key \"%s\" (expected min_tokens, max_tokens, min_chars or "
                       "max_chars)",
                       key ? key : "?");
        char f[RLC_RUBRIC_NAME_MAX + 64];
        snprintf(f, sizeof f, "%s.%s", field, key);
        double v;
        RLC_TRY(number(x, node(x, p->value), f, 1, &v));
        lim[b] = (long)v, any = 1;
    }
    if (!any)
        return bad(x, n, RLC_ERR_INVALID, field,
                   "expected at least one of min_tokens, max_tokens, min_chars, max_chars");
    for (int b = 0; b < 4; b += 2)
        if (lim[b] >= 0 && lim[b + 1] >= 0 && lim[b] > lim[b + 1])
            return bad(x, n, RLC_ERR_INVALID, field, "%s=%ld exceeds %s=%ld", bounds[b], lim[b],
                       bounds[b + 1], lim[b + 1]);
    return RLC_OK;
}

/* number_equals_reference: {} or {tolerance: T}. */
static rlc_status parse_number_check(const ctx *x, const yaml_node_t *n, const char *field,
                                     double *tol) {
    if (!n || n->type != YAML_MAPPING_NODE)
        return bad(x, n, RLC_ERR_INVALID, field, "expected a mapping: {} or {tolerance: T}");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(x, p->key);
        const char *key = scalar(k);
        if (!key || strcmp(key, "tolerance"))
            return bad(x, k, RLC_ERR_INVALID, field, "unknown key \"%s\" (expected tolerance)",
                       key ? key : "?");
        char f[RLC_RUBRIC_NAME_MAX + 64];
        snprintf(f, sizeof f, "%s.tolerance", field);
        RLC_TRY(number(x, node(x, p->value), f, 0, tol));
    }
    return RLC_OK;
}

static rlc_status parse_list(ctx *x, const yaml_node_t *seq, const char *field, int parent,
                             int depth);

/* The value of check key `kind` of criterion c (index me). */
static rlc_status parse_check(ctx *x, criterion *c, int me, key_id kind, const yaml_node_t *v,
                              const char *field, int depth) {
    const char *s = scalar(v);
    switch (kind) {
    case K_GROUP:
        if (depth + 1 >= RLC_RUBRIC_MAX_DEPTH)
            return bad(x, v, RLC_ERR_INVALID, field,
                       "groups nest at most %d levels deep (criteria included)",
                       RLC_RUBRIC_MAX_DEPTH);
        x->r->n_groups++;
        return parse_list(x, v, field, me, depth + 1);
    case K_REGEX:
    case K_NOT_REGEX:
    case K_EXACT:
        return compile(x, v, field, kind == K_EXACT, &c->re);
    case K_CONTAINS:
        if (!s || !*s) return bad(x, v, RLC_ERR_INVALID, field, "expected a non-empty string");
        c->text = strdup(s);
        return c->text ? RLC_OK : rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    case K_LENGTH:
        return parse_length(x, v, field, c->lim);
    case K_NUMBER:
        return parse_number_check(x, v, field, &c->tolerance);
    case K_JSON:
        if (!s || (strcmp(s, "completion") && strcmp(s, "answer")))
            return bad(x, v, RLC_ERR_INVALID, field, "expected completion or answer, got %s%s%s",
                       s ? "\"" : "a list or mapping", s ? s : "", s ? "\"" : "");
        c->of_answer = !strcmp(s, "answer");
        return RLC_OK;
    default:
        return rlc_errorf(RLC_ERR_INTERNAL, "rubric: no check %d", (int)kind);
    }
}

static rlc_status parse_criterion(ctx *x, const yaml_node_t *n, const char *where, int parent,
                                  int depth) {
    rlc_rubric *r = x->r;
    if (!n || n->type != YAML_MAPPING_NODE)
        return bad(x, n, RLC_ERR_INVALID, where,
                   "expected a mapping {name: NAME, weight: W, CHECK: ...}");
    const yaml_node_t *name = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = scalar(node(x, p->key));
        if (key && !strcmp(key, keys[K_NAME])) name = node(x, p->value);
    }
    const char *nm = scalar(name);
    if (!name) return bad(x, n, RLC_ERR_INVALID, where, "expected a name");
    if (!nm || !valid_name(nm))
        return bad(x, name, RLC_ERR_INVALID, where,
                   "name: expected letters, digits, '_' or '-', got %s%s%s",
                   nm ? "\"" : "a list or mapping", nm ? nm : "", nm ? "\"" : "");
    char path[RLC_RUBRIC_NAME_MAX];
    int len = parent >= 0 ? snprintf(path, sizeof path, "%s.%s", r->c[parent].path, nm)
                          : snprintf(path, sizeof path, "%s", nm);
    if (len < 0 || (size_t)len >= sizeof path)
        return bad(x, name, RLC_ERR_INVALID, where, "name: the path is longer than %d bytes",
                   RLC_RUBRIC_NAME_MAX - 1);
    for (int k = 0; k < r->n; k++)
        if (!strcmp(r->c[k].path, path))
            return bad(x, name, RLC_ERR_INVALID, path,
                       "duplicate criterion name (first at line %d); expected unique names",
                       r->c[k].line);
    if (r->n == RLC_RUBRIC_MAX_CRITERIA)
        return bad(x, n, RLC_ERR_INVALID, path, "more than %d criteria (groups included)",
                   RLC_RUBRIC_MAX_CRITERIA);
    int me = r->n++;
    criterion *c = &r->c[me];
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->kind = K_COUNT, c->weight = 1, c->parent = parent, c->line = (int)n->start_mark.line + 1;
    for (int b = 0; b < 4; b++)
        c->lim[b] = -1;
    unsigned seen = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(x, p->key), *v = node(x, p->value);
        const char *key = scalar(k);
        int id = 0;
        while (id < K_COUNT && (!key || strcmp(key, keys[id])))
            id++;
        if (id == K_COUNT)
            return bad(x, k, RLC_ERR_INVALID, path,
                       "unknown key \"%s\" (expected name, weight, group or a check: " CHECKS ")",
                       key ? key : "?");
        if (seen & (1u << id)) return bad(x, k, RLC_ERR_INVALID, path, "%s given twice", key);
        seen |= 1u << id;
        char field[RLC_RUBRIC_NAME_MAX + 32];
        snprintf(field, sizeof field, "%s.%s", path, key);
        if (id == K_NAME) continue;
        if (id == K_WEIGHT) {
            RLC_TRY(number(x, v, field, 0, &c->weight));
            continue;
        }
        if (c->kind != K_COUNT)
            return bad(x, k, RLC_ERR_INVALID, path,
                       "has both %s and %s; expected one check per criterion (or a group)",
                       keys[c->kind], key);
        c->kind = (key_id)id;
        RLC_TRY(parse_check(x, c, me, (key_id)id, v, field, depth));
    }
    if (c->kind == K_COUNT)
        return bad(x, n, RLC_ERR_INVALID, path, "expected a check (" CHECKS ") or a group");
    return RLC_OK;
}

/* A list of criteria, members of parent (-1: the top), at least one of them
 * with a positive weight. */
static rlc_status parse_list(ctx *x, const yaml_node_t *seq, const char *field, int parent,
                             int depth) {
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return bad(x, seq, RLC_ERR_INVALID, field, "expected a list of criteria");
    yaml_node_item_t *it = seq->data.sequence.items.start, *end = seq->data.sequence.items.top;
    if (it == end)
        return bad(x, seq, RLC_ERR_INVALID, field, "expected at least one criterion, got none");
    for (int i = 0; it < end; it++, i++) {
        char where[RLC_RUBRIC_NAME_MAX + 48];
        snprintf(where, sizeof where, "%s[%d]", field, i);
        RLC_TRY(parse_criterion(x, node(x, *it), where, parent, depth));
    }
    double w = 0;
    for (int k = 0; k < x->r->n; k++)
        if (x->r->c[k].parent == parent) w += x->r->c[k].weight;
    if (!(w > 0))
        return bad(x, seq, RLC_ERR_INVALID, field,
                   "every weight is 0; expected at least one positive weight");
    return RLC_OK;
}

static rlc_status parse_doc(ctx *x) {
    const yaml_node_t *root = yaml_document_get_root_node(x->d);
    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(x, root, RLC_ERR_FORMAT, "rubric", "expected a mapping with name and criteria");
    const yaml_node_t *name = NULL, *crit = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node(x, p->key);
        const char *key = scalar(k);
        const yaml_node_t **slot = !key                       ? NULL
                                   : !strcmp(key, "name")     ? &name
                                   : !strcmp(key, "criteria") ? &crit
                                                              : NULL;
        if (!slot)
            return bad(x, k, RLC_ERR_INVALID, key ? key : "rubric",
                       "unknown key (expected name or criteria)");
        if (*slot) return bad(x, k, RLC_ERR_INVALID, key, "given twice");
        *slot = node(x, p->value);
    }
    const char *nm = scalar(name);
    if (!name) return bad(x, root, RLC_ERR_INVALID, "name", "missing; expected the rubric's name");
    if (!nm || !valid_name(nm) || strlen(nm) >= sizeof x->r->name)
        return bad(x, name, RLC_ERR_INVALID, "name",
                   "expected letters, digits, '_' or '-' (at most %d)", RLC_RUBRIC_NAME_MAX - 1);
    snprintf(x->r->name, sizeof x->r->name, "%s", nm);
    if (!crit)
        return bad(x, root, RLC_ERR_INVALID, "criteria", "missing; expected a list of criteria");
    return parse_list(x, crit, "criteria", -1, 0);
}

rlc_status rlc_rubric_parse(const char *text, size_t len, const char *file, rlc_rubric **out) {
    *out = NULL;
    rlc_rubric *r = rlc_calloc(1, sizeof *r);
    if (!r) return RLC_ERR_NOMEM;
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) {
        free(r);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    rlc_status st;
    if (!yaml_parser_load(&p, &d)) {
        st = rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: YAML syntax error: %s%s%s", file,
                        p.problem_mark.line + 1, p.problem ? p.problem : "malformed YAML",
                        p.context ? " " : "", p.context ? p.context : "");
    } else {
        ctx x = {file, &d, r};
        st = parse_doc(&x);
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    if (st) {
        rlc_rubric_free(r);
        return st;
    }
    *out = r;
    return RLC_OK;
}

rlc_status rlc_rubric_load(const char *path, rlc_rubric **out) {
    char *text;
    size_t len;
    *out = NULL;
    RLC_TRY(rlc_read_file(path, &text, &len));
    rlc_status st = rlc_rubric_parse(text, len, path, out);
    free(text);
    return st;
}

void rlc_rubric_free(rlc_rubric *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        pcre2_code_free(r->c[i].re);
        free(r->c[i].text);
    }
    free(r);
}

const char *rlc_rubric_name(const rlc_rubric *r) {
    return r->name;
}

int rlc_rubric_count(const rlc_rubric *r) {
    return r->n;
}

const char *rlc_rubric_criterion(const rlc_rubric *r, int i) {
    return i >= 0 && i < r->n ? r->c[i].path : NULL;
}

int rlc_rubric_groups(const rlc_rubric *r) {
    return r->n_groups;
}

/* ---- scoring ---- */

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *n) {
    while (*n && is_space(**s))
        (*s)++, (*n)--;
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* 1 on a match, 0 on none, -1 when matching failed (a limit hit). */
static int match(const pcre2_code *re, const char *s, size_t n) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return -1;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* UTF-8 code points (bytes that do not continue a sequence). */
static long chars(const char *s, size_t n) {
    long k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static int within(long v, long lo, long hi) {
    return (lo < 0 || v >= lo) && (hi < 0 || v <= hi);
}

static int check(const criterion *c, const char *s, size_t n, const char *ref, int num_tokens) {
    const char *a;
    size_t alen;
    switch (c->kind) {
    case K_REGEX:
        return match(c->re, s, n) == 1;
    case K_NOT_REGEX:
        return match(c->re, s, n) == 0;
    case K_EXACT:
        trim(&s, &n);
        return match(c->re, s, n) == 1;
    case K_CONTAINS:
        return memmem(s, n, c->text, strlen(c->text)) != NULL;
    case K_LENGTH:
        if ((c->lim[0] >= 0 || c->lim[1] >= 0) && num_tokens < 0) return 0;
        return within(num_tokens, c->lim[0], c->lim[1]) &&
               within(chars(s, n), c->lim[2], c->lim[3]);
    case K_NUMBER: {
        double av, rv;
        return rlc_reward_extract_answer(s, &a, &alen) &&
               rlc_reward_parse_number(a, alen, &av, NULL, 0) &&
               rlc_reward_parse_number(ref, strlen(ref), &rv, NULL, 0) &&
               fabs(av - rv) <= c->tolerance;
    }
    case K_JSON: {
        a = s, alen = n;
        if (c->of_answer && !rlc_reward_extract_answer(s, &a, &alen)) return 0;
        trim(&a, &alen);
        json_error_t e;
        json_t *j = json_loadb(a, alen, JSON_DECODE_ANY, &e);
        json_decref(j);
        return j != NULL;
    }
    default:
        return 0;
    }
}

float rlc_rubric_score(const rlc_rubric *r, const char *completion, const char *reference,
                       int num_tokens, float *criteria) {
    const char *s = completion ? completion : "", *ref = reference ? reference : "";
    size_t n = strlen(s);
    double sc[RLC_RUBRIC_MAX_CRITERIA];
    /* backwards: a group's members come after it */
    for (int i = r->n - 1; i >= 0; i--) {
        const criterion *c = &r->c[i];
        if (c->kind != K_GROUP) {
            sc[i] = check(c, s, n, ref, num_tokens);
            continue;
        }
        double sum = 0, w = 0;
        for (int j = i + 1; j < r->n; j++)
            if (r->c[j].parent == i) sum += r->c[j].weight * sc[j], w += r->c[j].weight;
        sc[i] = sum / w;
    }
    double sum = 0, w = 0;
    for (int i = 0; i < r->n; i++) {
        if (criteria) criteria[i] = (float)sc[i];
        if (r->c[i].parent < 0) sum += r->c[i].weight * sc[i], w += r->c[i].weight;
    }
    return (float)(sum / w);
}
