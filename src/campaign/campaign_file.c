/* The campaign file: YAML read with libyaml's document API, every key
 * checked, each problem one line naming FILE:LINE and the field. */
#include "campaign/campaign.h"

#include "base/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

/* Keys a campaign sets on every run itself: an override of one would break
 * the folder layout, the seeds or resume. */
static const char *const owned_keys[] = {"training.seed", "logging.run_dir", "logging.run_name",
                                         "checkpoint.resume", "training.mode"};

typedef struct cf_ctx {
    const char *file;
    yaml_document_t *d;
} cf_ctx;

static size_t line_of(const yaml_node_t *n) {
    return n ? n->start_mark.line + 1 : 1;
}

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int is_null(const yaml_node_t *n) {
    const char *s = scalar(n);
    return !n || (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                  (!*s || !strcmp(s, "~") || !strcmp(s, "null")));
}

static const char *kind(const yaml_node_t *n) {
    if (!n) return "nothing";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    return "a value";
}

/* A string from a scalar node (NULL with the error set when not one). */
static rlc_status take_string(const cf_ctx *x, const yaml_node_t *n, const char *field,
                              char **out) {
    if (is_null(n) || !scalar(n))
        return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: %s: expected a value, got %s", x->file,
                          line_of(n), field, is_null(n) ? "nothing" : kind(n));
    if (!(*out = strdup(scalar(n)))) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    return RLC_OK;
}

static int name_char(char ch, int plus) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-' || (plus && ch == '+');
}

/* A folder name: 1-64 of [A-Za-z0-9._-] (and '+' for labels), not starting
 * with '.'. */
static int valid_name(const char *s, int plus) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i], plus)) return 0;
    return 1;
}

static rlc_status add_str(char ***arr, int *n, char *s) {
    char **grown = realloc(*arr, (size_t)(*n + 1) * sizeof **arr);
    if (!grown) {
        free(s);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    *arr = grown;
    grown[(*n)++] = s;
    return RLC_OK;
}

/* The text rlc train takes for an override value: a scalar as written, a list
 * as "a,b", a mapping as "a:1,b:2". */
static rlc_status override_value(const cf_ctx *x, yaml_node_t *v, const char *key, char **out) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    rlc_status st = RLC_OK;
    if (v && v->type == YAML_SCALAR_NODE && !is_null(v)) {
        fputs(scalar(v), f);
    } else if (v && v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             !st && it < v->data.sequence.items.top; it++) {
            yaml_node_t *e = yaml_document_get_node(x->d, *it);
            if (!scalar(e) || is_null(e))
                st = rlc_errorf(RLC_ERR_INVALID, "%s:%zu: overrides: %s: expected a list of values",
                                x->file, line_of(e), key);
            else
                fprintf(f, "%s%s", it == v->data.sequence.items.start ? "" : ",", scalar(e));
        }
    } else if (v && v->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
             !st && p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(x->d, p->key);
            yaml_node_t *e = yaml_document_get_node(x->d, p->value);
            if (!scalar(k) || !scalar(e) || is_null(e))
                st = rlc_errorf(RLC_ERR_INVALID,
                                "%s:%zu: overrides: %s: expected a mapping of name: value", x->file,
                                line_of(k), key);
            else
                fprintf(f, "%s%s:%s", p == v->data.mapping.pairs.start ? "" : ",", scalar(k),
                        scalar(e));
        }
    } else {
        st = rlc_errorf(RLC_ERR_INVALID, "%s:%zu: overrides: %s: expected a value, got nothing",
                        x->file, line_of(v), key);
    }
    fclose(f);
    if (st) {
        free(text);
        return st;
    }
    *out = text;
    return RLC_OK;
}

/* A mapping of section.key: value into "section.key=value" strings. */
static rlc_status take_overrides(const cf_ctx *x, yaml_node_t *n, const char *where, char ***out,
                                 int *n_out) {
    if (is_null(n)) return RLC_OK;
    if (n->type != YAML_MAPPING_NODE)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: %s: expected a mapping of section.key: value, got %s", x->file,
                          line_of(n), where, kind(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(x->d, p->key);
        const char *key = scalar(kn);
        const char *dot = key ? strchr(key, '.') : NULL;
        if (!key || !dot || dot == key || !dot[1] || strpbrk(key, "= \t"))
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s:%zu: %s: expected keys as section.key (e.g. "
                              "algorithm.advantage), got '%s'",
                              x->file, line_of(kn), where, key ? key : kind(kn));
        for (size_t i = 0; i < sizeof owned_keys / sizeof owned_keys[0]; i++)
            if (!strcmp(key, owned_keys[i]))
                return rlc_errorf(RLC_ERR_INVALID,
                                  "%s:%zu: %s: %s is set by the campaign itself (seeds, "
                                  "run_dir/name/label_sSEED, resume=auto); remove it",
                                  x->file, line_of(kn), where, key);
        for (int i = 0; i < *n_out; i++) {
            size_t kl = strlen(key);
            if (!strncmp((*out)[i], key, kl) && (*out)[i][kl] == '=')
                return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: %s: %s is given twice", x->file,
                                  line_of(kn), where, key);
        }
        char *value = NULL;
        RLC_TRY(override_value(x, yaml_document_get_node(x->d, p->value), key, &value));
        char *arg = malloc(strlen(key) + strlen(value) + 2);
        if (!arg) {
            free(value);
            return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
        }
        sprintf(arg, "%s=%s", key, value);
        free(value);
        RLC_TRY(add_str(out, n_out, arg));
    }
    return RLC_OK;
}

static rlc_status take_seeds(const cf_ctx *x, yaml_node_t *n, rlc_campaign *c) {
    if (!n || n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.start == n->data.sequence.items.top)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: seeds: expected a non-empty list of integers (e.g. [1, 2, 3]), "
                          "got %s",
                          x->file, line_of(n),
                          n && n->type == YAML_SEQUENCE_NODE ? "an empty list" : kind(n));
    size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!(c->seeds = malloc(cap * sizeof *c->seeds)))
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(x->d, *it);
        const char *s = scalar(e);
        char *end = NULL;
        errno = 0;
        long v = s ? strtol(s, &end, 10) : -1;
        if (!s || !*s || *end || errno || v < 0 || v > INT_MAX)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s:%zu: seeds: expected integers from 0 to %d, got '%s'", x->file,
                              line_of(e), INT_MAX, s ? s : kind(e));
        for (int i = 0; i < c->n_seeds; i++)
            if (c->seeds[i] == (int)v)
                return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: seeds: %ld is listed twice", x->file,
                                  line_of(e), v);
        c->seeds[c->n_seeds++] = (int)v;
    }
    return RLC_OK;
}

static rlc_status take_condition(const cf_ctx *x, yaml_node_t *n, rlc_campaign *c) {
    if (!n || n->type != YAML_MAPPING_NODE)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: conditions: expected a mapping (label: NAME, overrides: {...}), "
                          "got %s",
                          x->file, line_of(n), kind(n));
    rlc_campaign_cond *cd = &c->conds[c->n_conds++];
    memset(cd, 0, sizeof *cd);
    yaml_node_t *label = NULL, *over = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(x->d, p->key);
        const char *k = scalar(kn);
        yaml_node_t **slot = k && !strcmp(k, "label")       ? &label
                             : k && !strcmp(k, "overrides") ? &over
                                                            : NULL;
        if (!slot)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s:%zu: conditions: unknown key '%s' (expected label, overrides)",
                              x->file, line_of(kn), k ? k : kind(kn));
        if (*slot)
            return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: conditions: %s is given twice", x->file,
                              line_of(kn), k);
        *slot = yaml_document_get_node(x->d, p->value);
    }
    if (!label)
        return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: conditions: label is missing", x->file,
                          line_of(n));
    RLC_TRY(take_string(x, label, "label", &cd->label));
    if (!valid_name(cd->label, 1))
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: label: '%s' is not a folder name: expected 1-64 characters "
                          "from A-Z a-z 0-9 . _ - +, not starting with '.'",
                          x->file, line_of(label), cd->label);
    for (int i = 0; i < c->n_conds - 1; i++)
        if (!strcmp(c->conds[i].label, cd->label))
            return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: label: '%s' is used by two conditions",
                              x->file, line_of(label), cd->label);
    char where[128];
    snprintf(where, sizeof where, "conditions[%s].overrides", cd->label);
    return take_overrides(x, over, where, &cd->overrides, &cd->n_overrides);
}

static rlc_status take_conditions(const cf_ctx *x, yaml_node_t *n, rlc_campaign *c) {
    if (!n || n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.start == n->data.sequence.items.top)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: conditions: expected a non-empty list of conditions "
                          "(- label: NAME), got %s",
                          x->file, line_of(n),
                          n && n->type == YAML_SEQUENCE_NODE ? "an empty list" : kind(n));
    size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!(c->conds = calloc(cap, sizeof *c->conds)))
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
        RLC_TRY(take_condition(x, yaml_document_get_node(x->d, *it), c));
    return RLC_OK;
}

/* dir + "/" + rel unless rel is absolute (malloc'd). */
static char *absolute(const char *rel) {
    if (rel[0] == '/') return strdup(rel);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    char *out = malloc(strlen(cwd) + strlen(rel) + 2);
    if (out) sprintf(out, "%s/%s", cwd, rel);
    return out;
}

static rlc_status load_root(const cf_ctx *x, rlc_campaign *c) {
    static const char *const keys[] = {"name",      "base",       "run_dir", "seeds",
                                       "overrides", "conditions", "command"};
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    yaml_node_t *root = yaml_document_get_root_node(x->d);
    if (!root || root->type != YAML_MAPPING_NODE)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: expected a mapping with name, base, seeds and conditions",
                          x->file, line_of(root));
    yaml_node_t *v[N_KEYS] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(x->d, p->key);
        const char *k = scalar(kn);
        int i = 0;
        while (i < N_KEYS && !(k && !strcmp(k, keys[i])))
            i++;
        if (i == N_KEYS)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s:%zu: unknown key '%s' (expected name, base, run_dir, seeds, "
                              "overrides, conditions, command)",
                              x->file, line_of(kn), k ? k : kind(kn));
        if (v[i])
            return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: %s is given twice", x->file, line_of(kn),
                              k);
        v[i] = yaml_document_get_node(x->d, p->value);
        if (!v[i]) v[i] = kn; /* a key with no value still has its line */
    }
    for (int i = 0; i < N_KEYS; i++)
        if (!v[i] && (i == 0 || i == 1 || i == 3 || i == 5))
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s:%zu: %s is missing (a campaign needs name, "
                              "base, seeds and conditions)",
                              x->file, line_of(root), keys[i]);
    RLC_TRY(take_string(x, v[0], "name", &c->name));
    if (!valid_name(c->name, 0))
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: name: '%s' is not a folder name: expected 1-64 characters "
                          "from A-Z a-z 0-9 . _ -, not starting with '.'",
                          x->file, line_of(v[0]), c->name);
    RLC_TRY(take_string(x, v[1], "base", &c->base));
    if (!(c->base_abs = realpath(c->base, NULL)) || !rlc_file_exists(c->base_abs))
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s:%zu: base: no such config file '%s' (a relative path is relative "
                          "to the current directory)",
                          x->file, line_of(v[1]), c->base);
    if (v[2])
        RLC_TRY(take_string(x, v[2], "run_dir", &c->run_dir));
    else if (!(c->run_dir = strdup("runs")))
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    char *parent = absolute(c->run_dir);
    if (!parent) return rlc_errorf(RLC_ERR_IO, "cannot find the current directory");
    c->dir_abs = malloc(strlen(parent) + strlen(c->name) + 2);
    if (c->dir_abs) sprintf(c->dir_abs, "%s/%s", parent, c->name);
    free(parent);
    if (!c->dir_abs) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    char *cmd = NULL;
    if (v[6]) RLC_TRY(take_string(x, v[6], "command", &cmd));
    c->command = cmd && !strcmp(cmd, "sft") ? "sft" : "train";
    int bad_cmd = cmd && strcmp(cmd, "sft") && strcmp(cmd, "train");
    free(cmd);
    if (bad_cmd)
        return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: command: expected train or sft", x->file,
                          line_of(v[6]));
    RLC_TRY(take_seeds(x, v[3], c));
    RLC_TRY(take_overrides(x, v[4], "overrides", &c->overrides, &c->n_overrides));
    return take_conditions(x, v[5], c);
}

rlc_status rlc_campaign_load(const char *path, rlc_campaign *out) {
    char *text = NULL;
    size_t len = 0;
    RLC_TRY(rlc_read_file(path, &text, &len));
    rlc_campaign c;
    memset(&c, 0, sizeof c);
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) {
        free(text);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    rlc_status st;
    if (!yaml_parser_load(&p, &d)) {
        st = rlc_errorf(RLC_ERR_INVALID, "%s:%zu: YAML syntax error: %s%s%s", path,
                        p.problem_mark.line + 1, p.problem ? p.problem : "malformed YAML",
                        p.context ? " " : "", p.context ? p.context : "");
    } else {
        cf_ctx x = {path, &d};
        st = load_root(&x, &c);
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    free(text);
    if (st == RLC_OK && !(c.file_abs = realpath(path, NULL)))
        st = rlc_errorf(RLC_ERR_IO, "%s: cannot resolve its path", path);
    if (st) {
        rlc_campaign_free(&c);
        return st;
    }
    *out = c;
    return RLC_OK;
}

void rlc_campaign_free(rlc_campaign *c) {
    if (!c) return;
    for (int i = 0; i < c->n_overrides; i++)
        free(c->overrides[i]);
    free(c->overrides);
    for (int i = 0; i < c->n_conds; i++) {
        free(c->conds[i].label);
        for (int j = 0; j < c->conds[i].n_overrides; j++)
            free(c->conds[i].overrides[j]);
        free(c->conds[i].overrides);
    }
    free(c->conds);
    free(c->seeds);
    free(c->file_abs);
    free(c->name);
    free(c->base);
    free(c->base_abs);
    free(c->run_dir);
    free(c->dir_abs);
    memset(c, 0, sizeof *c);
}
