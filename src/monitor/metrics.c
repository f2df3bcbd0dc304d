#include "monitor/metrics.h"

#include "base/fs.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static rlc_status add_note(rlc_metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static rlc_status add_note(rlc_metrics *m, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **n = realloc(m->notes, (size_t)(m->n_notes + 1) * sizeof *n);
    if (!n) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    m->notes = n;
    if (!(n[m->n_notes] = strdup(buf))) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    m->n_notes++;
    return RLC_OK;
}

/* Index of key's column, appending a NAN-filled one when new; -2 when a new
 * column would pass the cell budget (the key is then skipped). */
static int col_index(rlc_metrics *m, const char *key, int row_cap, size_t max_cells) {
    for (int i = 0; i < m->n_cols; i++)
        if (!strcmp(m->cols[i].key, key)) return i;
    if ((size_t)(m->n_cols + 1) * (size_t)row_cap > max_cells) return -2;
    rlc_metric_col *c = realloc(m->cols, (size_t)(m->n_cols + 1) * sizeof *c);
    if (!c) return -1;
    m->cols = c;
    c = &m->cols[m->n_cols];
    c->key = strdup(key);
    c->v = malloc((size_t)row_cap * sizeof(double));
    c->n_finite = 0;
    if (!c->key || !c->v) {
        free(c->key);
        free(c->v);
        return -1;
    }
    for (int r = 0; r < row_cap; r++)
        c->v[r] = NAN;
    return m->n_cols++;
}

static rlc_status add_row(rlc_metrics *m, json_t *o, int row, int row_cap, size_t max_cells,
                          int *skipped) {
    json_t *js = json_object_get(o, "step");
    m->step[row] = json_is_number(js) ? json_number_value(js) : row + 1;
    if (!m->condition) {
        json_t *jc = json_object_get(o, "condition");
        if (json_is_string(jc) && !(m->condition = strdup(json_string_value(jc))))
            return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "step") || !(json_is_number(v) || json_is_null(v))) continue;
        int c = col_index(m, key, row_cap, max_cells);
        if (c == -2) {
            ++*skipped;
            continue;
        }
        if (c < 0) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        m->cols[c].v[row] = x;
        m->cols[c].n_finite += isfinite(x) != 0;
    }
    return RLC_OK;
}

rlc_status rlc_metrics_parse(const char *name, const char *text, rlc_metrics **out) {
    int row_cap = 1;
    size_t text_len = 0;
    for (const char *p = text; *p; p++, text_len++)
        row_cap += *p == '\n';
    /* Every column holds a value per row, so distinct keys cost rows x keys:
     * a file of many keys each on one line would be quadratic. Columns stop
     * at a budget of 8 cells per input byte (a real run logs tens of keys on
     * lines of hundreds of bytes), at least 2^20 cells. */
    size_t max_cells = text_len * 8 > (1u << 20) ? text_len * 8 : (1u << 20);
    int skipped = 0;
    rlc_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(name)) || !(m->step = malloc((size_t)row_cap * sizeof(double)))) {
        rlc_metrics_free(m);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    rlc_status st = RLC_OK;
    int line = 0, bad = 0;
    for (const char *p = text; *p && st == RLC_OK;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *next = nl ? nl + 1 : p + len;
        line++;
        size_t a = 0, b = len;
        while (a < b && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r'))
            b--;
        if (a == b) {
            p = next;
            continue;
        }
        json_error_t err;
        json_t *o = json_loadb(p + a, b - a, 0, &err);
        int last = !*next;
        if (!json_is_object(o)) {
            if (last && !nl)
                st = add_note(m,
                              "%s:%d: truncated last line (%zu bytes, no newline) skipped: the "
                              "run may still be writing it",
                              name, line, len);
            else if (bad++ < 5)
                st = add_note(m, "%s:%d: %s; line skipped", name, line,
                              o ? "not a JSON object" : err.text);
        } else {
            st = add_row(m, o, m->n_rows++, row_cap, max_cells, &skipped);
        }
        json_decref(o);
        p = next;
    }
    if (st == RLC_OK && bad > 5) st = add_note(m, "%s: %d more bad lines skipped", name, bad - 5);
    if (st == RLC_OK && skipped)
        st = add_note(m,
                      "%s: %d values of keys beyond the first %d skipped (too many distinct keys "
                      "for %d lines)",
                      name, skipped, m->n_cols, row_cap);
    if (st == RLC_OK && m->n_rows == 0)
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: no complete metrics line (expected one JSON object "
                        "per step)",
                        name);
    if (st != RLC_OK) {
        rlc_metrics_free(m);
        return st;
    }
    *out = m;
    return RLC_OK;
}

rlc_status rlc_metrics_load(const char *path, rlc_metrics **out) {
    char file[4096];
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        RLC_TRY(rlc_path_join(file, sizeof file, path, "metrics.jsonl"));
    else
        snprintf(file, sizeof file, "%s", path);
    if (!rlc_file_exists(file))
        return rlc_errorf(RLC_ERR_NOT_FOUND,
                          "%s: no such file (expected a run directory with "
                          "metrics.jsonl)",
                          file);
    char *text;
    RLC_TRY(rlc_read_file(file, &text, NULL));
    rlc_status st = rlc_metrics_parse(file, text, out);
    free(text);
    return st;
}

const double *rlc_metrics_col(const rlc_metrics *m, const char *key) {
    for (int i = 0; i < m->n_cols; i++)
        if (!strcmp(m->cols[i].key, key)) return m->cols[i].n_finite ? m->cols[i].v : NULL;
    return NULL;
}

void rlc_metrics_free(rlc_metrics *m) {
    if (!m) return;
    for (int i = 0; i < m->n_cols; i++) {
        free(m->cols[i].key);
        free(m->cols[i].v);
    }
    for (int i = 0; i < m->n_notes; i++)
        free(m->notes[i]);
    free(m->cols);
    free(m->notes);
    free(m->step);
    free(m->path);
    free(m->condition);
    free(m);
}
