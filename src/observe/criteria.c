/* Whole-run criteria statistics from each sample's scores (exact sums, not
 * means of means), and the summary in its three forms. */
#include "observe/criteria.h"

#include "base/fs.h"
#include "observe/log.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

void rlc_criteria_init(rlc_criteria_acc *a, const char *rubric, const char *const *names, int n) {
    memset(a, 0, sizeof *a);
    a->n = n < RLC_OBS_MAX_CRITERIA ? n : RLC_OBS_MAX_CRITERIA;
    snprintf(a->rubric, sizeof a->rubric, "%s", rubric ? rubric : "");
    for (int k = 0; k < a->n; k++) {
        snprintf(a->names[k], sizeof a->names[k], "%s", names[k]);
        a->lo[k] = INFINITY;
        a->hi[k] = -INFINITY;
    }
}

void rlc_criteria_add(rlc_criteria_acc *a, const rlc_obs_sample *sm, int n, double *mean) {
    for (int k = 0; k < a->n; k++) {
        double sum = 0;
        int cnt = 0;
        for (int i = 0; i < n; i++) {
            if (!sm[i].criteria) continue;
            double x = sm[i].criteria[k];
            sum += x, cnt++;
            a->sumsq[k] += x * x;
            a->lo[k] = fmin(a->lo[k], x);
            a->hi[k] = fmax(a->hi[k], x);
        }
        a->sum[k] += sum;
        a->count[k] += cnt;
        mean[k] = cnt ? sum / cnt : NAN;
    }
}

void rlc_criteria_record(const rlc_criteria_acc *a, const double *mean, rlc_metric_record *r) {
    snprintf(r->rubric, sizeof r->rubric, "%s", a->rubric);
    r->n_criteria = a->n;
    for (int k = 0; k < a->n; k++) {
        snprintf(r->criteria_names[k], sizeof r->criteria_names[k], "%s", a->names[k]);
        r->criteria_mean[k] = mean[k];
    }
}

/* Mean, sample standard deviation, min, max of criterion k. */
static void stats(const rlc_criteria_acc *a, int k, double v[4]) {
    double n = a->count[k], m = a->sum[k] / n;
    double var = n > 1 ? (a->sumsq[k] - n * m * m) / (n - 1) : 0;
    v[0] = m, v[1] = sqrt(var > 0 ? var : 0), v[2] = a->lo[k], v[3] = a->hi[k];
}

static rlc_status write_json(const rlc_criteria_acc *a, const char *path) {
    json_t *rows = json_array(), *o = json_pack("{s:s,s:o}", "rubric", a->rubric, "criteria", rows);
    if (!o) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    for (int k = 0; k < a->n; k++) {
        double v[4];
        stats(a, k, v);
        json_array_append_new(rows, json_pack("{s:s,s:f,s:f,s:f,s:f,s:I}", "criterion", a->names[k],
                                              "mean", v[0], "std", v[1], "min", v[2], "max", v[3],
                                              "samples", (json_int_t)a->count[k]));
    }
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (!text) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    rlc_status st = rlc_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

rlc_status rlc_criteria_summary(const rlc_criteria_acc *a, const char *dir, rlc_tb *tb,
                                int64_t step) {
    if (a->n == 0 || a->count[0] <= 0) return RLC_OK;
    int w = (int)strlen("criterion");
    for (int k = 0; k < a->n; k++)
        w = (int)strlen(a->names[k]) > w ? (int)strlen(a->names[k]) : w;
    rlc_strbuf txt = {0}, md = {0};
    rlc_sb_printf(&txt, "%-*s  %7s  %7s  %7s  %7s  %8s\n", w, "criterion", "mean", "std", "min",
                  "max", "samples");
    rlc_sb_printf(&md,
                  "rubric **%s**\n\n| criterion | mean | std | min | max | samples |\n"
                  "|---|---:|---:|---:|---:|---:|\n",
                  a->rubric);
    for (int k = 0; k < a->n; k++) {
        double v[4];
        stats(a, k, v);
        rlc_sb_printf(&txt, "%-*s  %7.4f  %7.4f  %7.4f  %7.4f  %8.0f\n", w, a->names[k], v[0], v[1],
                      v[2], v[3], a->count[k]);
        rlc_sb_printf(&md, "| %s | %.4f | %.4f | %.4f | %.4f | %.0f |\n", a->names[k], v[0], v[1],
                      v[2], v[3], a->count[k]);
    }
    rlc_status st = txt.oom || md.oom ? rlc_errorf(RLC_ERR_NOMEM, "out of memory") : RLC_OK;
    if (st == RLC_OK) {
        rlc_logf(RLC_LOG_INFO,
                 RLC_CRITERIA_SUMMARY " (rubric %s, over the run's samples):", a->rubric);
        for (char *line = txt.p, *end; line && *line; line = end + 1) {
            end = strchr(line, '\n');
            rlc_logf(RLC_LOG_INFO, "  %.*s", (int)(end - line), line);
        }
    }
    char path[4096];
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, dir, RLC_CRITERIA_SUMMARY ".txt");
    if (st == RLC_OK) st = rlc_write_file_atomic(path, txt.p, txt.len);
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, dir, RLC_CRITERIA_SUMMARY ".json");
    if (st == RLC_OK) st = write_json(a, path);
    if (st == RLC_OK && tb) st = rlc_tb_text(tb, RLC_CRITERIA_SUMMARY, step, md.p);
    rlc_sb_free(&txt);
    rlc_sb_free(&md);
    return st;
}
