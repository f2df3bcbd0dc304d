/* A campaign's summary: per condition, final metrics of its runs (read from
 * each run's metrics.jsonl) as mean ± sample std over seeds. */
#include "campaign/campaign.h"

#include "base/fs.h"
#include "base/strbuf.h"
#include "monitor/metrics.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

/* What one run contributes; how each is taken from its metrics. */
typedef enum { TAKE_LAST, TAKE_TAIL_MEAN, TAKE_WALL } take_kind;

static const struct {
    const char *key;   /* metrics.jsonl key; the summary's name */
    const char *title; /* summary.txt column */
    take_kind take;
} cols[] = {
    {"eval/accuracy", "eval acc", TAKE_LAST},
    {"eval/mean_reward", "eval reward", TAKE_LAST},
    {"mean_reward", "reward (last 10%)", TAKE_TAIL_MEAN},
    {"correct_rate", "correct (last 10%)", TAKE_TAIL_MEAN},
    {"wall_s", "wall s", TAKE_WALL},
};
#define N_COLS (int)(sizeof cols / sizeof cols[0])

/* The last finite value of key, or NAN. */
static double last_value(const rlc_metrics *m, const char *key) {
    const double *v = rlc_metrics_col(m, key);
    for (int i = m->n_rows - 1; v && i >= 0; i--)
        if (isfinite(v[i])) return v[i];
    return NAN;
}

/* The mean of key's finite values over the last 10% of the rows (rounded up,
 * at least one row), or NAN when none there is finite. */
static double tail_mean(const rlc_metrics *m, const char *key) {
    const double *v = rlc_metrics_col(m, key);
    int tail = (m->n_rows + 9) / 10;
    if (tail < 1) tail = 1;
    double sum = 0;
    int n = 0;
    for (int i = m->n_rows - tail; v && i < m->n_rows; i++)
        if (i >= 0 && isfinite(v[i])) sum += v[i], n++;
    return n ? sum / n : NAN;
}

/* mean and sample standard deviation (n-1) of the finite values; std is NAN
 * below two values, mean below one. Returns the count. */
static int mean_std(const double *x, int n, double *mean, double *std) {
    double sum = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) sum += x[i], k++;
    *mean = k ? sum / k : NAN;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = k > 1 ? sqrt(ss / (k - 1)) : NAN;
    return k;
}

/* The manifest's entry of run `name`, or NULL. */
static json_t *manifest_run(json_t *manifest, const char *name) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(manifest, "runs"), i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name)) return e;
    }
    return NULL;
}

static json_t *num_or_null(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

static void cell(rlc_strbuf *b, double mean, double std, int n) {
    char t[64];
    if (!n)
        snprintf(t, sizeof t, "-");
    else if (!isfinite(std))
        snprintf(t, sizeof t, "%.4g ± -", mean);
    else
        snprintf(t, sizeof t, "%.4g ± %.3g", mean, std);
    /* "±" is two bytes but one column */
    rlc_sb_printf(b, "  %-*s", 20 + (n ? 1 : 0), t);
}

rlc_status rlc_campaign_summarize(const rlc_campaign *c, char **text) {
    *text = NULL;
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, c->dir_abs, RLC_CAMPAIGN_MANIFEST));
    json_t *manifest = json_load_file(path, 0, NULL);
    double *vals = malloc((size_t)c->n_seeds * N_COLS * sizeof *vals);
    if (!vals) {
        json_decref(manifest);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    rlc_strbuf b = {0};
    json_t *js = json_object(), *jconds = json_array();
    json_object_set_new(js, "campaign", json_string(c->name));
    rlc_sb_printf(&b, "campaign %s: mean ± sample std over seeds (n = runs with the metric)\n",
                  c->name);
    rlc_sb_printf(&b, "%-24s %4s", "condition", "n");
    for (int k = 0; k < N_COLS; k++)
        rlc_sb_printf(&b, "  %-20s", cols[k].title);
    rlc_sb_cstr(&b, "\n");
    rlc_status st = RLC_OK;
    for (int ci = 0; ci < c->n_conds && !st; ci++) {
        const char *label = c->conds[ci].label;
        int runs = 0;
        json_t *jc = json_object(), *jm = json_object(), *jseeds = json_array();
        for (int si = 0; si < c->n_seeds; si++) {
            char name[160], dir[PATH_CAP + 200];
            snprintf(name, sizeof name, "%s_s%d", label, c->seeds[si]);
            snprintf(dir, sizeof dir, "%s/%s", c->dir_abs, name);
            rlc_metrics *m = NULL;
            double *row = vals + (size_t)si * N_COLS;
            for (int k = 0; k < N_COLS; k++)
                row[k] = NAN;
            /* finished runs only: a failed one's metrics stop early */
            json_t *e = manifest_run(manifest, name);
            const char *status = json_string_value(json_object_get(e, "status"));
            if (!status || strcmp(status, "done")) continue;
            json_t *wall = json_object_get(e, "wall_s");
            rlc_status lst = rlc_metrics_load(dir, &m);
            if (lst == RLC_OK) {
                runs++;
                json_array_append_new(jseeds, json_integer(c->seeds[si]));
                for (int k = 0; k < N_COLS; k++)
                    row[k] = cols[k].take == TAKE_LAST        ? last_value(m, cols[k].key)
                             : cols[k].take == TAKE_TAIL_MEAN ? tail_mean(m, cols[k].key)
                             : json_is_number(wall)           ? json_number_value(wall)
                                                              : NAN;
            } else if (lst == RLC_ERR_NOMEM) {
                st = lst;
            }
            rlc_metrics_free(m);
            rlc_clear_error();
        }
        rlc_sb_printf(&b, "%-24s %4d", label, runs);
        for (int k = 0; k < N_COLS; k++) {
            double col[64], *x = c->n_seeds <= 64 ? col : malloc((size_t)c->n_seeds * sizeof *x);
            if (!x) {
                st = rlc_errorf(RLC_ERR_NOMEM, "out of memory");
                break;
            }
            for (int si = 0; si < c->n_seeds; si++)
                x[si] = vals[(size_t)si * N_COLS + k];
            double mean, std;
            int n = mean_std(x, c->n_seeds, &mean, &std);
            cell(&b, mean, std, n);
            json_t *e = json_object(), *values = json_array();
            for (int si = 0; si < c->n_seeds; si++)
                if (isfinite(x[si])) json_array_append_new(values, json_real(x[si]));
            json_object_set_new(e, "mean", num_or_null(mean));
            json_object_set_new(e, "std", num_or_null(std));
            json_object_set_new(e, "n", json_integer(n));
            json_object_set_new(e, "values", values);
            json_object_set_new(jm, cols[k].key, e);
            if (x != col) free(x);
        }
        rlc_sb_cstr(&b, "\n");
        json_object_set_new(jc, "label", json_string(label));
        json_object_set_new(jc, "runs", json_integer(runs));
        json_object_set_new(jc, "seeds", jseeds);
        json_object_set_new(jc, "metrics", jm);
        json_array_append_new(jconds, jc);
    }
    rlc_sb_cstr(&b, "eval acc / eval reward: the last evaluation; reward, correct: mean over the "
                    "last 10% of steps; wall s: seconds the run took, over every attempt\n");
    json_object_set_new(js, "conditions", jconds);
    json_decref(manifest);
    free(vals);
    char *jtext = json_dumps(js, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(js);
    if (!st && (b.oom || !jtext)) st = rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    if (!st) st = rlc_path_join(path, sizeof path, c->dir_abs, "summary.json");
    if (!st) st = rlc_write_file_atomic(path, jtext, strlen(jtext));
    if (!st) st = rlc_path_join(path, sizeof path, c->dir_abs, "summary.txt");
    if (!st) st = rlc_write_file_atomic(path, b.p, b.len);
    free(jtext);
    if (st) {
        rlc_sb_free(&b);
        return st;
    }
    *text = b.p;
    return RLC_OK;
}
