#include "monitor/monitor.h"

#include "base/fs.h"
#include "base/strbuf.h"
#include "monitor/plot.h"
#include "monitor/smooth.h"
#include "observe/metrics.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what is plotted: keys, labels and units come from the metric registry ---- */

typedef struct metric_def {
    const char *key;
    const char *label;  /* legend and panel title */
    const char *ylabel; /* axis label with unit */
} metric_def;

static metric_def reg(rlc_metric_id id) {
    return (metric_def){rlc_metric_defs()[id].key, rlc_metric_label(id), rlc_metric_unit(id)};
}

/* The sample-ratio panel names correct_rate by what it is there; the negative
 * ratio is derived from it (1 - correct_rate), not logged. */
#define NEG_RATIO_KEY "negative_ratio"
static metric_def pos_ratio(void) {
    return (metric_def){rlc_metric_defs()[RLC_M_CORRECT_RATE].key, "positive-sample ratio",
                        rlc_metric_unit(RLC_M_CORRECT_RATE)};
}
static metric_def neg_ratio(void) {
    return (metric_def){NEG_RATIO_KEY, "negative-sample ratio",
                        rlc_metric_unit(RLC_M_CORRECT_RATE)};
}

static const double *col_of(const rlc_metrics *m, rlc_metric_id id) {
    return rlc_metrics_col(m, rlc_metric_defs()[id].key);
}

/* A column by key; "negative_ratio" is derived as 1 - correct_rate into tmp. */
static const double *series_of(const rlc_metrics *m, const char *key, double *tmp) {
    if (strcmp(key, NEG_RATIO_KEY)) return rlc_metrics_col(m, key);
    const double *c = col_of(m, RLC_M_CORRECT_RATE);
    if (!c) return NULL;
    for (int i = 0; i < m->n_rows; i++)
        tmp[i] = 1 - c[i];
    return tmp;
}

/* The per-reward keys as the registry writes them: "rewards/<name>/<stat>". */
#define REWARD_PREFIX "rewards/"

/* Length of NAME when key is "rewards/NAME/mean" (the mean statistic), else 0. */
static size_t reward_name_len(const char *key) {
    const char *mean = rlc_reward_stat_name(RLC_RS_MEAN);
    size_t len = strlen(key), pre = strlen(REWARD_PREFIX), post = strlen(mean) + 1;
    if (strncmp(key, REWARD_PREFIX, pre) || len <= pre + post) return 0;
    if (key[len - post] != '/' || strcmp(key + len - post + 1, mean)) return 0;
    return len - pre - post;
}

/* The reward-function keys ("rewards/NAME/mean") of any run, up to cap. */
static int reward_keys(rlc_metrics *const *ms, int n, const char **keys, int cap) {
    int k = 0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < ms[r]->n_cols; c++) {
            const char *key = ms[r]->cols[c].key;
            if (!reward_name_len(key)) continue;
            int seen = 0;
            for (int i = 0; i < k; i++)
                seen |= !strcmp(keys[i], key);
            if (!seen && k < cap && ms[r]->cols[c].n_finite) keys[k++] = key;
        }
    return k;
}

/* ---- figure building ---- */

#define MAX_PANELS 8
#define MAX_SERIES 16

typedef struct fig {
    rlc_plot_panel panels[MAX_PANELS];
    rlc_plot_series series[MAX_PANELS][MAX_SERIES];
    char titles[MAX_PANELS][128];
    char labels[MAX_PANELS][MAX_SERIES][128];
    double *owned[MAX_PANELS * MAX_SERIES];
    int n_owned, n;
} fig;

static void fig_free(fig *f) {
    for (int i = 0; i < f->n_owned; i++)
        free(f->owned[i]);
    f->n_owned = 0;
}

/* Adds a panel holding each def as a series of run 0 (one run), or def[0]
 * for every run (compare). Panels without any data are left out. */
static rlc_status fig_panel(fig *f, rlc_metrics *const *ms, const char *const *names, int n_runs,
                            const metric_def *defs, int n_defs, const char *title) {
    if (f->n >= MAX_PANELS) return RLC_OK;
    int k = f->n, ns = 0;
    int per_run = n_runs > 1;
    int count = per_run ? n_runs : n_defs;
    for (int i = 0; i < count && ns < MAX_SERIES; i++) {
        const rlc_metrics *m = ms[per_run ? i : 0];
        const metric_def *d = &defs[per_run ? 0 : i];
        double *tmp = malloc((size_t)m->n_rows * sizeof(double));
        if (!tmp) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
        f->owned[f->n_owned++] = tmp;
        const double *y = series_of(m, d->key, tmp);
        if (!y) continue;
        snprintf(f->labels[k][ns], sizeof f->labels[k][ns], "%s", per_run ? names[i] : d->label);
        f->series[k][ns] = (rlc_plot_series){f->labels[k][ns], m->step, y, m->n_rows};
        ns++;
    }
    if (!ns) return RLC_OK;
    snprintf(f->titles[k], sizeof f->titles[k], "%s", title ? title : defs[0].label);
    f->panels[k] =
        (rlc_plot_panel){f->titles[k],
                         "step",
                         defs[0].ylabel,
                         f->series[k],
                         ns,
                         strstr(defs[0].ylabel, "fraction") != NULL,
                         !strcmp(defs[0].key, rlc_metric_defs()[RLC_M_LR].key) ||
                             !strcmp(defs[0].key, rlc_metric_defs()[RLC_M_BATCH_SIZE].key)};
    f->n++;
    return RLC_OK;
}

/* One panel per def: in compare mode every metric gets its own axes. */
static rlc_status fig_each(fig *f, rlc_metrics *const *ms, const char *const *names, int n_runs,
                           const metric_def *defs, int n_defs) {
    for (int i = 0; i < n_defs; i++)
        RLC_TRY(fig_panel(f, ms, names, n_runs, &defs[i], 1, NULL));
    return RLC_OK;
}

static rlc_status fig_write(fig *f, const char *out_dir, const char *file, const char *what,
                            const char *title, rlc_strbuf *rep) {
    char path[4096];
    rlc_status st = rlc_path_join(path, sizeof path, out_dir, file);
    if (st == RLC_OK && f->n == 0) {
        rlc_sb_printf(rep, "skipped %s: the run logged no %s\n", file, what);
    } else if (st == RLC_OK) {
        rlc_plot_params p = rlc_plot_default_params();
        p.cols = f->n == 1 ? 1 : 2;
        p.title = f->n > 1 ? title : NULL;
        st = rlc_plot_png(path, f->panels, f->n, &p);
        if (st == RLC_OK) rlc_sb_printf(rep, "wrote %s\n", path);
    }
    fig_free(f);
    f->n = 0;
    return st;
}

/* 1 when every finite value of key in every run is exactly 0 (and there is one):
 * kl is logged as 0 when beta = 0, that is, when KL is not measured. */
static int all_zero(rlc_metrics *const *ms, int n, const char *key) {
    int seen = 0;
    for (int r = 0; r < n; r++) {
        const double *c = rlc_metrics_col(ms[r], key);
        for (int i = 0; c && i < ms[r]->n_rows; i++) {
            if (!isfinite(c[i])) continue;
            if (c[i] != 0) return 0;
            seen = 1;
        }
    }
    return seen;
}

/* 1 when some run has a finite value of key. */
static int logged(rlc_metrics *const *ms, int n, const char *key) {
    for (int r = 0; r < n; r++) {
        const double *c = rlc_metrics_col(ms[r], key);
        for (int i = 0; c && i < ms[r]->n_rows; i++)
            if (isfinite(c[i])) return 1;
    }
    return 0;
}

static rlc_status write_figures(rlc_metrics *const *ms, const char *const *names, int n,
                                const char *out_dir, rlc_strbuf *rep) {
    fig *f = calloc(1, sizeof *f);
    if (!f) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    int cmp = n > 1;
    rlc_status st = RLC_OK;
    const metric_def loss[] = {reg(RLC_M_LOSS), reg(RLC_M_VAL_LOSS)};
    if (cmp)
        st = fig_each(f, ms, names, n, loss, 2);
    else
        st = fig_panel(f, ms, names, n, loss, 2, loss[0].label);
    if (!st) st = fig_write(f, out_dir, "training_loss.png", "loss", "loss", rep);
    const metric_def lr = reg(RLC_M_LR), grad = reg(RLC_M_GRAD_NORM);
    if (!st) st = fig_panel(f, ms, names, n, &lr, 1, NULL);
    if (!st) st = fig_write(f, out_dir, "learning_rate.png", "learning rate", NULL, rep);
    if (!st) st = fig_panel(f, ms, names, n, &grad, 1, NULL);
    if (!st) st = fig_write(f, out_dir, "gradient_norm.png", "gradient norm", NULL, rep);

    /* rewards: the mean, each reward function, then accuracy */
    const char *rk[MAX_SERIES];
    int nrk = reward_keys(ms, n, rk, MAX_SERIES);
    metric_def rdefs[MAX_SERIES];
    char rnames[MAX_SERIES][96];
    const metric_def reward = reg(RLC_M_MEAN_REWARD);
    for (int i = 0; i < nrk; i++) {
        snprintf(rnames[i], sizeof rnames[i], "%.*s", (int)reward_name_len(rk[i]),
                 rk[i] + strlen(REWARD_PREFIX));
        rdefs[i] = (metric_def){rk[i], rnames[i], reward.ylabel};
    }
    const metric_def acc[] = {reg(RLC_M_CORRECT_RATE), reg(RLC_M_EVAL_ACCURACY)};
    if (!st) st = fig_panel(f, ms, names, n, &reward, 1, NULL);
    if (!st && cmp) st = fig_each(f, ms, names, n, rdefs, nrk);
    if (!st && !cmp && nrk) st = fig_panel(f, ms, names, n, rdefs, nrk, "reward functions");
    if (!st && cmp) st = fig_each(f, ms, names, n, acc, 2);
    if (!st && !cmp) st = fig_panel(f, ms, names, n, acc, 2, "accuracy");
    if (!st) st = fig_write(f, out_dir, "rewards.png", "rewards", "rewards", rep);

    const metric_def samples[] = {pos_ratio(), neg_ratio(), reg(RLC_M_FRAC_ZERO_STD)};
    if (!st && cmp) st = fig_each(f, ms, names, n, samples, 3);
    if (!st && !cmp) st = fig_panel(f, ms, names, n, samples, 2, "positive / negative samples");
    if (!st && !cmp) st = fig_panel(f, ms, names, n, &samples[2], 1, NULL);
    if (!st) st = fig_write(f, out_dir, "samples.png", "sample ratios", "samples", rep);

    /* psr / nsr / w_reinforce runs: their sample ratios and rewards (the
     * seed's nsr_metrics.png), the panels some run logged */
    const metric_def sr[] = {reg(RLC_M_PSR_POSITIVE_RATIO), reg(RLC_M_NSR_NEGATIVE_RATIO),
                             reg(RLC_M_WR_POS_NEG_RATIO)};
    const metric_def sa[] = {reg(RLC_M_PSR_AVG_REWARD), reg(RLC_M_NSR_AVG_REWARD),
                             reg(RLC_M_WR_AVG_REWARD)};
    metric_def srs[3], sas[3];
    int nsr = 0, nsa = 0;
    for (int i = 0; i < 3; i++) {
        if (logged(ms, n, sr[i].key)) srs[nsr++] = sr[i];
        if (logged(ms, n, sa[i].key)) sas[nsa++] = sa[i];
    }
    if (!st && nsr) st = fig_each(f, ms, names, n, srs, nsr);
    if (!st && nsa && cmp) st = fig_each(f, ms, names, n, sas, nsa);
    if (!st && nsa && !cmp) st = fig_panel(f, ms, names, n, sas, nsa, "average rewards");
    if (!st && (nsr || nsa))
        st = fig_write(f, out_dir, "nsr_metrics.png", "psr / nsr / w_reinforce", NULL, rep);

    const metric_def pol[] = {reg(RLC_M_KL), reg(RLC_M_ENTROPY), reg(RLC_M_CLIP_RATIO)};
    int no_kl = all_zero(ms, n, pol[0].key);
    if (no_kl)
        rlc_sb_printf(rep,
                      "policy.png: no KL panel: %s is 0 at every step (beta = 0: KL to the "
                      "reference was not measured)\n",
                      pol[0].key);
    if (!st) st = fig_each(f, ms, names, n, pol + no_kl, 3 - no_kl);
    if (!st) st = fig_write(f, out_dir, "policy.png", "KL, entropy or clip ratio", "policy", rep);

    const metric_def gen[] = {reg(RLC_M_LEN_MEAN), reg(RLC_M_MAX_TOKEN_HIT_RATE)};
    if (!st) st = fig_each(f, ms, names, n, gen, 2);
    if (!st) st = fig_write(f, out_dir, "generation.png", "completion lengths", "generation", rep);

    /* what the run used of the machine: memory, CPU and threads, and where the
     * step's time went */
    const metric_def mem[] = {reg(RLC_M_SYS_RSS), reg(RLC_M_SYS_PEAK_RSS)};
    const metric_def cpu[] = {reg(RLC_M_SYS_CPU_CORES), reg(RLC_M_SYS_THREADS)};
    const metric_def share[] = {reg(RLC_M_SYS_GEN_SHARE), reg(RLC_M_SYS_TRAIN_SHARE)};
    if (!st && cmp) st = fig_each(f, ms, names, n, mem, 2);
    if (!st && !cmp) st = fig_panel(f, ms, names, n, mem, 2, "resident memory");
    if (!st) st = fig_each(f, ms, names, n, cpu, 2);
    if (!st && cmp) st = fig_each(f, ms, names, n, share, 2);
    if (!st && !cmp) st = fig_panel(f, ms, names, n, share, 2, "share of step time");
    if (!st) st = fig_write(f, out_dir, "system.png", "system/* metrics", "system", rep);

    /* back pressure runs: the batch it chose (a step line), the throughput
     * it measured, the optimum it fitted and how close the runs ran to it */
    const metric_def bp[] = {reg(RLC_M_BATCH_SIZE), reg(RLC_M_BP_THROUGHPUT), reg(RLC_M_BP_P_STAR),
                             reg(RLC_M_BP_UTILIZATION)};
    if (!st && logged(ms, n, bp[1].key)) {
        st = fig_each(f, ms, names, n, bp, 4);
        if (!st)
            st = fig_write(f, out_dir, "backpressure.png", "back pressure", "back pressure", rep);
    }
    fig_free(f);
    free(f);
    return st;
}

/* ---- rubric criteria: a heatmap over steps and the last step's means ---- */

/* For "criteria/<rubric>/<criterion>_mean": the length of <rubric> and where
 * <criterion> starts and its length; 0 when key is not such a key. */
static size_t criterion_of(const char *key, size_t *rubric_len, const char **name) {
    size_t pre = strlen(RLC_CRITERIA_PREFIX), suf = strlen(RLC_CRITERIA_SUFFIX);
    if (strncmp(key, RLC_CRITERIA_PREFIX, pre)) return 0;
    const char *slash = strchr(key + pre, '/');
    if (!slash || slash == key + pre) return 0;
    size_t len = strlen(slash + 1);
    if (len <= suf || strcmp(slash + 1 + len - suf, RLC_CRITERIA_SUFFIX)) return 0;
    *rubric_len = (size_t)(slash - key - pre);
    *name = slash + 1;
    return len - suf;
}

/* The whole-run means of the n criteria from rubric_criteria_summary.json
 * next to the metrics file (written when a run finishes) into mean, and the
 * samples behind them; 0 when there is none or it lacks one of them. */
static int summary_means(const char *metrics_path, const char *const *names, int n, double *mean,
                         double *samples) {
    char path[4096];
    const char *slash = strrchr(metrics_path, '/');
    int dir = slash ? (int)(slash - metrics_path) : 1;
    snprintf(path, sizeof path, "%.*s/" RLC_CRITERIA_SUMMARY ".json", dir,
             slash ? metrics_path : ".");
    json_t *o = json_load_file(path, 0, NULL), *rows = json_object_get(o, "criteria");
    int found = 0;
    for (int k = 0; k < n; k++) {
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            const char *c = json_string_value(json_object_get(row, "criterion"));
            if (!c || strcmp(c, names[k])) continue;
            mean[k] = json_number_value(json_object_get(row, "mean"));
            *samples = json_number_value(json_object_get(row, "samples"));
            found++;
            break;
        }
    }
    json_decref(o);
    return found == n;
}

static rlc_status write_criteria(const rlc_metrics *m, const char *out_dir, rlc_strbuf *rep) {
    enum { MAXC = RLC_OBS_MAX_CRITERIA };
    char names[MAXC][RLC_OBS_CRITERION_MAX], rubric[RLC_OBS_CRITERION_MAX] = "";
    const char *labels[MAXC];
    const double *cols[MAXC];
    int nc = 0;
    for (int c = 0; c < m->n_cols && nc < MAXC; c++) {
        size_t rl, len;
        const char *nm;
        if (!m->cols[c].n_finite || !(len = criterion_of(m->cols[c].key, &rl, &nm))) continue;
        if (!nc)
            snprintf(rubric, sizeof rubric, "%.*s", (int)rl,
                     m->cols[c].key + strlen(RLC_CRITERIA_PREFIX));
        snprintf(names[nc], sizeof names[nc], "%.*s", (int)len, nm);
        labels[nc] = names[nc];
        cols[nc++] = m->cols[c].v;
    }
    if (!nc) return RLC_OK;
    double *x = malloc((size_t)m->n_rows * sizeof *x);
    double *z = malloc((size_t)m->n_rows * nc * sizeof *z), *last = malloc(nc * sizeof *last);
    if (!x || !z || !last) {
        free(x), free(z), free(last);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    int ns = 0; /* the steps that logged criteria, as columns */
    for (int i = 0; i < m->n_rows; i++) {
        int any = 0;
        for (int k = 0; k < nc; k++)
            any |= isfinite(cols[k][i]);
        if (!any) continue;
        for (int k = 0; k < nc; k++)
            z[(size_t)k * m->n_rows + ns] = cols[k][i];
        x[ns++] = m->step[i];
    }
    for (int k = 0; k < nc; k++) { /* rows of ns columns, packed */
        memmove(z + (size_t)k * ns, z + (size_t)k * m->n_rows, (size_t)ns * sizeof *z);
        last[k] = z[(size_t)k * ns + ns - 1];
    }
    char title[256], path[4096];
    snprintf(title, sizeof title, "rubric %s: mean score of each criterion per logged step",
             rubric);
    rlc_plot_heatmap h = {
        title, "step", "mean score (0 = never met, 1 = always)", labels, nc, x, ns, z, 0, 1};
    rlc_status st = rlc_path_join(path, sizeof path, out_dir, "rubric_criteria.png");
    if (st == RLC_OK) st = rlc_plot_heatmap_png(path, &h);
    if (st == RLC_OK) rlc_sb_printf(rep, "wrote %s\n", path);
    double samples = 0;
    const char *what = "mean score over the run's completions";
    if (summary_means(m->path, labels, nc, last, &samples)) {
        snprintf(title, sizeof title, "rubric %s: criteria over the run (%.0f completions)", rubric,
                 samples);
    } else { /* a run not finished: its last logged step */
        snprintf(title, sizeof title, "rubric %s: criteria at step %g (the last logged)", rubric,
                 x[ns - 1]);
        what = "mean score of the step's completions";
    }
    rlc_plot_bars b = {title, what, labels, last, nc, 0, 1};
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, out_dir, "rubric_criteria_final.png");
    if (st == RLC_OK) st = rlc_plot_bars_png(path, &b);
    if (st == RLC_OK) rlc_sb_printf(rep, "wrote %s\n", path);
    free(x), free(z), free(last);
    return st;
}

/* ---- summary ---- */

/* First and last finite values of a column, and how many finite points. */
static int first_last(const rlc_metrics *m, rlc_metric_id id, double *a, double *b) {
    const double *c = col_of(m, id);
    int k = 0;
    if (!c) return 0;
    for (int i = 0; i < m->n_rows; i++)
        if (isfinite(c[i])) {
            if (!k) *a = c[i];
            *b = c[i], k++;
        }
    return k;
}

/* Training time: mean logged step time x steps covered (rows may be every Nth step). */
static double train_seconds(const rlc_metrics *m) {
    const double *t = col_of(m, RLC_M_STEP_TIME);
    if (!t) return NAN;
    double s = 0;
    int k = 0;
    for (int i = 0; i < m->n_rows; i++)
        if (isfinite(t[i])) s += t[i], k++;
    double span = m->step[m->n_rows - 1] - m->step[0] + 1;
    return span > k ? s / k * span : s;
}

static void fmt_duration(char *buf, size_t cap, double s) {
    if (!isfinite(s))
        snprintf(buf, cap, "unknown (no %s)", rlc_metric_defs()[RLC_M_STEP_TIME].key);
    else if (s < 120)
        snprintf(buf, cap, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, cap, "%.1f min", s / 60);
    else
        snprintf(buf, cap, "%.2f h", s / 3600);
}

typedef enum signal_kind {
    SIG_LOSS,
    SIG_GRAD,
    SIG_REWARD,
    SIG_ENTROPY,
    SIG_LENGTH,
    SIG_LEARNING, /* GRPO: steps with any group of unequal rewards */
    SIG_RATIO,    /* positive / negative sample ratio */
} signal_kind;

typedef struct signal_def {
    const char *name; /* what the verdict is about */
    rlc_metric_id id;
    signal_kind kind;
} signal_def;

static const signal_def signals[] = {
    {"learning signal", RLC_M_FRAC_ZERO_STD, SIG_LEARNING},
    {"loss", RLC_M_LOSS, SIG_LOSS},
    {"validation loss", RLC_M_VAL_LOSS, SIG_LOSS},
    {"gradient norm", RLC_M_GRAD_NORM, SIG_GRAD},
    {"reward", RLC_M_MEAN_REWARD, SIG_REWARD},
    {"eval accuracy", RLC_M_EVAL_ACCURACY, SIG_REWARD},
    {"sample ratios", RLC_M_CORRECT_RATE, SIG_RATIO},
    {"entropy", RLC_M_ENTROPY, SIG_ENTROPY},
    {"length clipping", RLC_M_MAX_TOKEN_HIT_RATE, SIG_LENGTH},
};
#define N_SIGNALS (int)(sizeof signals / sizeof signals[0])

/* The share of positive samples of a psr / nsr / w_reinforce run into x
 * (n_rows): its own count against algorithm.reward_threshold, not
 * correct_rate. 0 for other runs. */
static int positive_share(const rlc_metrics *m, double *x) {
    const double *psr = col_of(m, RLC_M_PSR_POSITIVE_RATIO),
                 *nsr = col_of(m, RLC_M_NSR_NEGATIVE_RATIO);
    const double *wp = col_of(m, RLC_M_WR_POSITIVE), *tot = col_of(m, RLC_M_TOTAL_COUNT);
    if (!psr && !nsr && !(wp && tot)) return 0;
    for (int i = 0; i < m->n_rows; i++)
        x[i] = psr ? psr[i] : nsr ? 1 - nsr[i] : tot[i] > 0 ? wp[i] / tot[i] : NAN;
    return 1;
}

/* The verdict of signal s on run m; 0 when the run did not log it. A GRPO
 * step whose groups all had equal rewards has loss and gradient 0 by
 * construction: those steps are left out of the loss and gradient verdicts,
 * and when most steps are such, those verdicts are the learning-signal one. */
static int signal_verdict(const rlc_metrics *m, int s, const rlc_verdict_params *p,
                          rlc_verdict *v) {
    const double *c = col_of(m, signals[s].id);
    if (!c) return 0;
    int n = m->n_rows;
    signal_kind kind = signals[s].kind;
    /* psr / nsr / w_reinforce learn from groups of equal rewards too: no
     * learning-signal verdict from them, loss and gradient taken as they are */
    int signed_adv = col_of(m, RLC_M_PSR_POSITIVE) || col_of(m, RLC_M_NSR_NEGATIVE) ||
                     col_of(m, RLC_M_WR_POSITIVE);
    if (signed_adv && kind == SIG_LEARNING) return 0;
    const double *zstd = signed_adv ? NULL : col_of(m, RLC_M_FRAC_ZERO_STD);
    if (zstd && (kind == SIG_LOSS || kind == SIG_GRAD) && signals[s].id != RLC_M_VAL_LOSS) {
        rlc_verdict sig = rlc_verdict_signal(zstd, n, p);
        if (sig.kind == RLC_VERDICT_NO_SIGNAL) {
            *v = sig;
            return 1;
        }
        double *x = malloc((size_t)n * sizeof *x);
        if (!x) {
            *v = (rlc_verdict){RLC_VERDICT_INSUFFICIENT, "out of memory"};
            return 1;
        }
        for (int i = 0; i < n; i++)
            x[i] = isfinite(zstd[i]) && zstd[i] >= 1 ? NAN : c[i];
        *v = kind == SIG_LOSS ? rlc_verdict_loss(x, n, p) : rlc_verdict_grad_norm(x, m->step, n, p);
        free(x);
        return 1;
    }
    switch (kind) {
    case SIG_LOSS:
        *v = rlc_verdict_loss(c, n, p);
        break;
    case SIG_GRAD:
        *v = rlc_verdict_grad_norm(c, m->step, n, p);
        break;
    case SIG_REWARD:
        *v = rlc_verdict_reward(c, n, p);
        break;
    case SIG_ENTROPY:
        *v = rlc_verdict_entropy(c, n, p);
        break;
    case SIG_LENGTH:
        *v = rlc_verdict_length_clip(c, n, p);
        break;
    case SIG_LEARNING:
        *v = rlc_verdict_signal(c, n, p);
        break;
    case SIG_RATIO: {
        /* psr / nsr / w_reinforce count positives by their reward threshold */
        double *x = malloc((size_t)n * sizeof *x);
        if (!x) {
            *v = (rlc_verdict){RLC_VERDICT_INSUFFICIENT, "out of memory"};
            return 1;
        }
        *v = rlc_verdict_sample_ratio(positive_share(m, x) ? x : c, n, p);
        free(x);
        break;
    }
    }
    return 1;
}

char *rlc_monitor_summary(const rlc_metrics *m, const char *name, const rlc_verdict_params *p) {
    rlc_strbuf b = {0};
    int grpo = col_of(m, RLC_M_MEAN_REWARD) != NULL;
    rlc_sb_printf(&b, "rlc monitor summary: %s\n", name);
    rlc_sb_printf(&b, "metrics: %s (%d rows, steps %.0f..%.0f%s%s)\n", m->path, m->n_rows,
                  m->step[0], m->step[m->n_rows - 1], m->condition ? ", condition " : "",
                  m->condition ? m->condition : "");
    for (int i = 0; i < m->n_notes; i++)
        rlc_sb_printf(&b, "skipped: %s\n", m->notes[i]);
    rlc_sb_printf(&b, "\ntotal steps:    %.0f\n", m->step[m->n_rows - 1] + 1);
    double a, z;
    char change[200];
    if (first_last(m, RLC_M_LOSS, &a, &z) &&
        rlc_verdict_loss_change(col_of(m, RLC_M_LOSS), m->n_rows, change, sizeof change))
        rlc_sb_printf(&b, "loss:           %.4g -> %.4g (%s)\n", a, z, change);
    char dur[64];
    fmt_duration(dur, sizeof dur, train_seconds(m));
    rlc_sb_printf(&b, "training time:  %s\n", dur);
    if (first_last(m, RLC_M_MEAN_REWARD, &a, &z))
        rlc_sb_printf(&b, "reward:         %.4g -> %.4g (%+.4g)\n", a, z, z - a);
    if (first_last(m, RLC_M_CORRECT_RATE, &a, &z))
        rlc_sb_printf(&b, "correct rate:   %.3f -> %.3f\n", a, z);
    if (first_last(m, RLC_M_EVAL_ACCURACY, &a, &z))
        rlc_sb_printf(&b, "eval accuracy:  %.3f -> %.3f\n", a, z);
    if (first_last(m, RLC_M_LR, &a, &z)) rlc_sb_printf(&b, "learning rate:  %.3g -> %.3g\n", a, z);
    if (first_last(m, RLC_M_GRAD_NORM, &a, &z))
        rlc_sb_printf(&b, "gradient norm:  %.4g -> %.4g\n", a, z);
    /* the process's memory high-water mark (a resumed run's restarts: the
     * highest row counts) and the cores it kept busy on average */
    const double *peak = col_of(m, RLC_M_SYS_PEAK_RSS), *cores = col_of(m, RLC_M_SYS_CPU_CORES);
    double hi = -INFINITY, sum = 0;
    int n_cores = 0;
    for (int i = 0; i < m->n_rows; i++) {
        if (peak && isfinite(peak[i]) && peak[i] > hi) hi = peak[i];
        if (cores && isfinite(cores[i])) sum += cores[i], n_cores++;
    }
    if (isfinite(hi)) rlc_sb_printf(&b, "peak memory:    %.1f MiB resident\n", hi);
    if (n_cores) rlc_sb_printf(&b, "CPU cores busy: %.2f (mean over steps)\n", sum / n_cores);
    rlc_sb_printf(&b, "\nverdicts (first/last values are raw; windows count logged rows):\n");
    for (int s = 0; s < N_SIGNALS; s++) {
        rlc_verdict v;
        if (!signal_verdict(m, s, p, &v)) continue;
        rlc_sb_printf(&b, "  %-16s %-22s %s\n", signals[s].name, rlc_verdict_name(v.kind), v.why);
    }
    if (grpo)
        rlc_sb_printf(&b, "  note: a GRPO policy loss hovers near 0 by construction; read the "
                          "reward verdict for convergence.\n");
    if (b.oom) rlc_sb_free(&b);
    return b.oom ? NULL : b.p;
}

/* ---- compare table ---- */

/* Mean of the last 10% of finite points (at least 1, at most 20). */
static int tail_mean(const rlc_metrics *m, const char *key, double *out) {
    const double *c = rlc_metrics_col(m, key);
    if (!c) return 0;
    int fin = 0;
    for (int i = 0; i < m->n_rows; i++)
        fin += isfinite(c[i]) != 0;
    int w = fin / 10;
    w = w < 1 ? 1 : w > 20 ? 20 : w;
    double s = 0;
    int k = 0;
    for (int i = m->n_rows - 1; i >= 0 && k < w; i--)
        if (isfinite(c[i])) s += c[i], k++;
    *out = s / k;
    return 1;
}

char *rlc_monitor_compare_table(rlc_metrics *const *ms, const char *const *labels, int n,
                                const rlc_verdict_params *p) {
    rlc_strbuf b = {0};
    int cw = 25; /* fits the longest verdict name */
    for (int r = 0; r < n; r++)
        if ((int)strlen(labels[r]) + 2 > cw) cw = (int)strlen(labels[r]) + 2;
    if (cw > 40) cw = 40;
    rlc_sb_printf(&b, "rlc monitor compare: final metrics (mean of the last 10%% of logged rows, "
                      "at most 20)\n\n");
    rlc_sb_printf(&b, "%-24s", "metric");
    for (int r = 0; r < n; r++)
        rlc_sb_printf(&b, "%*.*s", cw, cw - 2, labels[r]);
    rlc_sb_printf(&b, "\n");
    rlc_sb_printf(&b, "%-24s", "steps");
    for (int r = 0; r < n; r++)
        rlc_sb_printf(&b, "%*.0f", cw, ms[r]->step[ms[r]->n_rows - 1] + 1);
    rlc_sb_printf(&b, "\n");
    static const rlc_metric_id rows[] = {RLC_M_LOSS,          RLC_M_VAL_LOSS,
                                         RLC_M_MEAN_REWARD,   RLC_M_CORRECT_RATE,
                                         RLC_M_EVAL_ACCURACY, RLC_M_KL,
                                         RLC_M_ENTROPY,       RLC_M_CLIP_RATIO,
                                         RLC_M_LEN_MEAN,      RLC_M_MAX_TOKEN_HIT_RATE,
                                         RLC_M_GRAD_NORM,     RLC_M_LR};
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        const char *key = rlc_metric_defs()[rows[k]].key;
        int any = 0;
        for (int r = 0; r < n; r++)
            any |= rlc_metrics_col(ms[r], key) != NULL;
        if (!any) continue;
        rlc_sb_printf(&b, "%-24s", rlc_metric_label(rows[k]));
        for (int r = 0; r < n; r++) {
            double v;
            if (tail_mean(ms[r], key, &v))
                rlc_sb_printf(&b, "%*.4g", cw, v);
            else
                rlc_sb_printf(&b, "%*s", cw, "-");
        }
        rlc_sb_printf(&b, "\n");
    }
    rlc_sb_printf(&b, "%-24s", "training time");
    for (int r = 0; r < n; r++) {
        char dur[64];
        double s = train_seconds(ms[r]);
        fmt_duration(dur, sizeof dur, s);
        rlc_sb_printf(&b, "%*s", cw, isfinite(s) ? dur : "-");
    }
    rlc_sb_printf(&b, "\n\nverdicts\n");
    for (int s = 0; s < N_SIGNALS; s++) {
        int any = 0;
        for (int r = 0; r < n; r++)
            any |= col_of(ms[r], signals[s].id) != NULL;
        if (!any) continue;
        rlc_sb_printf(&b, "%-24s", signals[s].name);
        for (int r = 0; r < n; r++) {
            rlc_verdict v;
            rlc_sb_printf(&b, "%*s", cw,
                          signal_verdict(ms[r], s, p, &v) ? rlc_verdict_name(v.kind) : "-");
        }
        rlc_sb_printf(&b, "\n");
    }
    if (b.oom) rlc_sb_free(&b);
    return b.oom ? NULL : b.p;
}

/* ---- entry points ---- */

static const char *base_name(const char *dir, char *buf, size_t cap) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t s = len;
    while (s > 0 && dir[s - 1] != '/')
        s--;
    snprintf(buf, cap, "%.*s", (int)(len - s), dir + s);
    return buf;
}

static rlc_status write_text(const char *path, char *text) {
    if (!text) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    rlc_status st = rlc_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

rlc_status rlc_monitor_run(const char *run_dir, const char *out_dir, const char *summary_path,
                           char **report) {
    *report = NULL;
    rlc_metrics *m;
    RLC_TRY(rlc_metrics_load(run_dir, &m));
    rlc_strbuf rep = {0};
    char name[256];
    const char *nm = base_name(run_dir, name, sizeof name);
    for (int i = 0; i < m->n_notes; i++)
        rlc_sb_printf(&rep, "skipped: %s\n", m->notes[i]);
    rlc_status st = rlc_mkdir_p(out_dir);
    if (st == RLC_OK) st = write_figures(&m, &nm, 1, out_dir, &rep);
    if (st == RLC_OK) st = write_criteria(m, out_dir, &rep);
    rlc_verdict_params p = rlc_verdict_default_params();
    if (st == RLC_OK) st = write_text(summary_path, rlc_monitor_summary(m, run_dir, &p));
    if (st == RLC_OK) rlc_sb_printf(&rep, "wrote %s\n", summary_path);
    rlc_metrics_free(m);
    *report = rep.oom ? (rlc_sb_free(&rep), NULL) : rep.p;
    return st;
}

/* The absolute form of path with every existing ancestor resolved (path
 * itself need not exist yet). 0 on success. */
static int resolve_loose(const char *path, char *out, size_t cap) {
    char head[4096];
    if ((size_t)snprintf(head, sizeof head, "%s", path) >= sizeof head) return -1;
    size_t len = strlen(head);
    while (len > 1 && head[len - 1] == '/')
        head[--len] = 0;
    char real[4096];
    if (realpath(head, real)) return (size_t)snprintf(out, cap, "%s", real) >= cap ? -1 : 0;
    char *slash = strrchr(head, '/');
    const char *tail = slash ? slash + 1 : head;
    char parent[4096];
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == head)
        snprintf(parent, sizeof parent, "/");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - head), head);
    if (resolve_loose(parent, real, sizeof real)) return -1;
    int w = snprintf(out, cap, "%s%s%s", real, strcmp(real, "/") ? "/" : "", tail);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* Keeps letters, digits, '-', '_' and '.'; anything else becomes '-'. */
static void name_part(rlc_strbuf *b, const char *s) {
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        rlc_sb_put(b, ok ? &c : "-", 1);
    }
}

rlc_status rlc_monitor_compare_dir(const char *const *run_dirs, const char *const *labels, int n,
                                   char *out, size_t cap) {
    if (n < 1) return rlc_errorf(RLC_ERR_INVALID, "compare: no runs");
    char first[4096];
    if (resolve_loose(run_dirs[0], first, sizeof first))
        return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", run_dirs[0]);
    char *slash = strrchr(first, '/');
    if (slash && slash != first)
        *slash = 0;
    else if (slash)
        first[1] = 0;
    rlc_strbuf b = {0};
    rlc_sb_printf(&b, "%s%scompare_", first, strcmp(first, "/") ? "/" : "");
    for (int r = 0; r < n; r++) {
        char nm[256];
        if (r) rlc_sb_cstr(&b, "_vs_");
        name_part(&b, labels && labels[r] ? labels[r] : base_name(run_dirs[r], nm, sizeof nm));
    }
    rlc_status st = RLC_OK;
    if (b.oom)
        st = rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    else if (b.len >= cap)
        st = rlc_errorf(RLC_ERR_INVALID,
                        "compare: the folder name for %d runs is too long; "
                        "give --out DIR",
                        n);
    else
        memcpy(out, b.p, b.len + 1);
    rlc_sb_free(&b);
    return st;
}

rlc_status rlc_monitor_compare(const char *const *run_dirs, const char *const *labels, int n,
                               const char *out_dir, char **report) {
    *report = NULL;
    if (n < 1 || n > MAX_SERIES)
        return rlc_errorf(RLC_ERR_INVALID, "compare: between 1 and %d runs, got %d", MAX_SERIES, n);
    rlc_metrics *ms[MAX_SERIES] = {0};
    char names[MAX_SERIES][256];
    const char *lab[MAX_SERIES];
    rlc_strbuf rep = {0};
    rlc_status st = RLC_OK;
    for (int r = 0; r < n && st == RLC_OK; r++) {
        lab[r] =
            labels && labels[r] ? labels[r] : base_name(run_dirs[r], names[r], sizeof names[r]);
        st = rlc_metrics_load(run_dirs[r], &ms[r]);
        for (int i = 0; st == RLC_OK && i < ms[r]->n_notes; i++)
            rlc_sb_printf(&rep, "skipped (%s): %s\n", lab[r], ms[r]->notes[i]);
    }
    char out_real[4096], run_real[4096];
    if (st == RLC_OK && resolve_loose(out_dir, out_real, sizeof out_real))
        st = rlc_errorf(RLC_ERR_INVALID, "%s: path too long", out_dir);
    for (int r = 0; r < n && st == RLC_OK; r++)
        if (realpath(run_dirs[r], run_real) && !strncmp(out_real, run_real, strlen(run_real)) &&
            (out_real[strlen(run_real)] == '/' || out_real[strlen(run_real)] == 0))
            st = rlc_errorf(RLC_ERR_INVALID,
                            "%s: the comparison would be written into the compared run %s; "
                            "choose a folder outside every compared run",
                            out_dir, run_dirs[r]);
    if (st == RLC_OK) st = rlc_mkdir_p(out_dir);
    if (st == RLC_OK) st = write_figures(ms, lab, n, out_dir, &rep);
    char path[4096];
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, out_dir, "compare.txt");
    rlc_verdict_params p = rlc_verdict_default_params();
    if (st == RLC_OK) st = write_text(path, rlc_monitor_compare_table(ms, lab, n, &p));
    if (st == RLC_OK) rlc_sb_printf(&rep, "wrote %s\n", path);
    for (int r = 0; r < n; r++)
        rlc_metrics_free(ms[r]);
    *report = rep.oom ? (rlc_sb_free(&rep), NULL) : rep.p;
    return st;
}
