#include "monitor/monitor.h"

#include "base/fs.h"
#include "monitor/plot.h"
#include "monitor/smooth.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Growable text; on allocation failure it stays failed and sb_take returns NULL. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
}

static char *sb_take(sbuf *b) {
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    if (!b->s) sb_printf(b, "%s", "");
    return b->failed ? NULL : b->s;
}

/* ---- what is plotted: one definition per metric ---- */

typedef struct metric_def {
    const char *key;
    const char *label;  /* legend and panel title */
    const char *ylabel; /* axis label with unit */
} metric_def;

static const metric_def M_LOSS = {"loss", "training loss", "loss (nats / token)"};
static const metric_def M_VAL = {"val_loss", "validation loss", "loss (nats / token)"};
static const metric_def M_LR = {"lr", "learning rate", "learning rate (per step)"};
static const metric_def M_GRAD = {"grad_norm", "gradient norm", "L2 norm before clipping"};
static const metric_def M_REWARD = {"mean_reward", "mean reward", "reward (per completion)"};
static const metric_def M_CORRECT = {"correct_rate", "correct rate", "fraction of completions"};
static const metric_def M_EVAL = {"eval/accuracy", "eval accuracy", "fraction of problems"};
static const metric_def M_POS = {"correct_rate", "positive-sample ratio",
                                 "fraction of completions"};
static const metric_def M_NEG = {"negative_ratio", "negative-sample ratio",
                                 "fraction of completions"};
static const metric_def M_ZSTD = {"frac_reward_zero_std", "groups with equal rewards",
                                  "fraction of prompts"};
static const metric_def M_KL = {"kl", "KL to reference", "KL (nats / token)"};
static const metric_def M_ENT = {"entropy", "entropy", "entropy (nats / token)"};
static const metric_def M_CLIP = {"clip_ratio", "clipped ratio", "fraction of tokens"};
static const metric_def M_LEN = {"completion_len_mean", "mean completion length",
                                 "length (tokens)"};
static const metric_def M_HIT = {"max_token_hit_rate", "max-token hit rate",
                                 "fraction of completions"};

/* A column by key; "negative_ratio" is derived as 1 - correct_rate into tmp. */
static const double *series_of(const rlc_metrics *m, const char *key, double *tmp) {
    if (strcmp(key, "negative_ratio")) return rlc_metrics_col(m, key);
    const double *c = rlc_metrics_col(m, "correct_rate");
    if (!c) return NULL;
    for (int i = 0; i < m->n_rows; i++)
        tmp[i] = 1 - c[i];
    return tmp;
}

/* The reward-function keys ("rewards/NAME/mean") of any run, up to cap. */
static int reward_keys(rlc_metrics *const *ms, int n, const char **keys, int cap) {
    int k = 0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < ms[r]->n_cols; c++) {
            const char *key = ms[r]->cols[c].key;
            size_t len = strlen(key);
            if (strncmp(key, "rewards/", 8) || len < 13 || strcmp(key + len - 5, "/mean")) continue;
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
    f->panels[k] = (rlc_plot_panel){f->titles[k],
                                    "step",
                                    defs[0].ylabel,
                                    f->series[k],
                                    ns,
                                    strstr(defs[0].ylabel, "fraction") != NULL,
                                    !strcmp(defs[0].key, "lr")};
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
                            const char *title, sbuf *rep) {
    char path[4096];
    rlc_status st = rlc_path_join(path, sizeof path, out_dir, file);
    if (st == RLC_OK && f->n == 0) {
        sb_printf(rep, "skipped %s: the run logged no %s\n", file, what);
    } else if (st == RLC_OK) {
        rlc_plot_params p = rlc_plot_default_params();
        p.cols = f->n == 1 ? 1 : 2;
        p.title = f->n > 1 ? title : NULL;
        st = rlc_plot_png(path, f->panels, f->n, &p);
        if (st == RLC_OK) sb_printf(rep, "wrote %s\n", path);
    }
    fig_free(f);
    f->n = 0;
    return st;
}

static rlc_status write_figures(rlc_metrics *const *ms, const char *const *names, int n,
                                const char *out_dir, sbuf *rep) {
    fig *f = calloc(1, sizeof *f);
    if (!f) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    int cmp = n > 1;
    rlc_status st = RLC_OK;
    const metric_def loss[] = {M_LOSS, M_VAL};
    if (cmp)
        st = fig_each(f, ms, names, n, loss, 2);
    else
        st = fig_panel(f, ms, names, n, loss, 2, "training loss");
    if (!st) st = fig_write(f, out_dir, "training_loss.png", "loss", "loss", rep);
    if (!st) st = fig_panel(f, ms, names, n, &M_LR, 1, NULL);
    if (!st) st = fig_write(f, out_dir, "learning_rate.png", "learning rate", NULL, rep);
    if (!st) st = fig_panel(f, ms, names, n, &M_GRAD, 1, NULL);
    if (!st) st = fig_write(f, out_dir, "gradient_norm.png", "gradient norm", NULL, rep);

    /* rewards: the mean, each reward function, then accuracy */
    const char *rk[MAX_SERIES];
    int nrk = reward_keys(ms, n, rk, MAX_SERIES);
    metric_def rdefs[MAX_SERIES];
    char rnames[MAX_SERIES][96];
    for (int i = 0; i < nrk; i++) {
        snprintf(rnames[i], sizeof rnames[i], "%.*s", (int)(strlen(rk[i]) - 13), rk[i] + 8);
        rdefs[i] = (metric_def){rk[i], rnames[i], "reward (per completion)"};
    }
    const metric_def acc[] = {M_CORRECT, M_EVAL};
    if (!st) st = fig_panel(f, ms, names, n, &M_REWARD, 1, NULL);
    if (!st && cmp) st = fig_each(f, ms, names, n, rdefs, nrk);
    if (!st && !cmp && nrk) st = fig_panel(f, ms, names, n, rdefs, nrk, "reward functions");
    if (!st && cmp) st = fig_each(f, ms, names, n, acc, 2);
    if (!st && !cmp) st = fig_panel(f, ms, names, n, acc, 2, "accuracy");
    if (!st) st = fig_write(f, out_dir, "rewards.png", "rewards", "rewards", rep);

    const metric_def samples[] = {M_POS, M_NEG, M_ZSTD};
    if (!st && cmp) st = fig_each(f, ms, names, n, samples, 3);
    if (!st && !cmp) st = fig_panel(f, ms, names, n, samples, 2, "positive / negative samples");
    if (!st && !cmp) st = fig_panel(f, ms, names, n, &M_ZSTD, 1, NULL);
    if (!st) st = fig_write(f, out_dir, "samples.png", "sample ratios", "samples", rep);

    const metric_def pol[] = {M_KL, M_ENT, M_CLIP};
    if (!st) st = fig_each(f, ms, names, n, pol, 3);
    if (!st) st = fig_write(f, out_dir, "policy.png", "KL, entropy or clip ratio", "policy", rep);

    const metric_def gen[] = {M_LEN, M_HIT};
    if (!st) st = fig_each(f, ms, names, n, gen, 2);
    if (!st) st = fig_write(f, out_dir, "generation.png", "completion lengths", "generation", rep);
    fig_free(f);
    free(f);
    return st;
}

/* ---- summary ---- */

/* First and last finite values of a column, and how many finite points. */
static int first_last(const rlc_metrics *m, const char *key, double *a, double *b) {
    const double *c = rlc_metrics_col(m, key);
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
    const double *t = rlc_metrics_col(m, "step_time_s");
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
        snprintf(buf, cap, "unknown (no step_time_s)");
    else if (s < 120)
        snprintf(buf, cap, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, cap, "%.1f min", s / 60);
    else
        snprintf(buf, cap, "%.2f h", s / 3600);
}

typedef struct signal_def {
    const char *name;
    const char *key;
    int kind; /* 0 loss, 1 grad, 2 reward, 3 entropy, 4 length clip */
} signal_def;

static const signal_def signals[] = {
    {"loss", "loss", 0},
    {"validation loss", "val_loss", 0},
    {"gradient norm", "grad_norm", 1},
    {"reward", "mean_reward", 2},
    {"eval accuracy", "eval/accuracy", 2},
    {"entropy", "entropy", 3},
    {"length clipping", "max_token_hit_rate", 4},
};
#define N_SIGNALS (int)(sizeof signals / sizeof signals[0])

static int signal_verdict(const rlc_metrics *m, int s, const rlc_verdict_params *p,
                          rlc_verdict *v) {
    const double *c = rlc_metrics_col(m, signals[s].key);
    if (!c) return 0;
    int n = m->n_rows;
    switch (signals[s].kind) {
    case 0:
        *v = rlc_verdict_loss(c, n, p);
        break;
    case 1:
        *v = rlc_verdict_grad_norm(c, m->step, n, p);
        break;
    case 2:
        *v = rlc_verdict_reward(c, n, p);
        break;
    case 3:
        *v = rlc_verdict_entropy(c, n, p);
        break;
    default:
        *v = rlc_verdict_length_clip(c, n, p);
        break;
    }
    return 1;
}

char *rlc_monitor_summary(const rlc_metrics *m, const char *name, const rlc_verdict_params *p) {
    sbuf b = {0};
    int grpo = rlc_metrics_col(m, "mean_reward") != NULL;
    sb_printf(&b, "rlc monitor summary: %s\n", name);
    sb_printf(&b, "metrics: %s (%d rows, steps %.0f..%.0f%s%s)\n", m->path, m->n_rows, m->step[0],
              m->step[m->n_rows - 1], m->condition ? ", condition " : "",
              m->condition ? m->condition : "");
    for (int i = 0; i < m->n_notes; i++)
        sb_printf(&b, "skipped: %s\n", m->notes[i]);
    sb_printf(&b, "\ntotal steps:    %.0f\n", m->step[m->n_rows - 1] + 1);
    double a, z;
    if (first_last(m, "loss", &a, &z))
        sb_printf(&b, "loss:           %.4g -> %.4g (%s %.1f%%)\n", a, z,
                  z <= a ? "reduction" : "increase",
                  fabs(a) > 0 ? 100 * fabs(a - z) / fabs(a) : 0.0);
    char dur[64];
    fmt_duration(dur, sizeof dur, train_seconds(m));
    sb_printf(&b, "training time:  %s\n", dur);
    if (first_last(m, "mean_reward", &a, &z))
        sb_printf(&b, "reward:         %.4g -> %.4g (%+.4g)\n", a, z, z - a);
    if (first_last(m, "correct_rate", &a, &z))
        sb_printf(&b, "correct rate:   %.3f -> %.3f\n", a, z);
    if (first_last(m, "eval/accuracy", &a, &z))
        sb_printf(&b, "eval accuracy:  %.3f -> %.3f\n", a, z);
    if (first_last(m, "lr", &a, &z)) sb_printf(&b, "learning rate:  %.3g -> %.3g\n", a, z);
    if (first_last(m, "grad_norm", &a, &z)) sb_printf(&b, "gradient norm:  %.4g -> %.4g\n", a, z);
    sb_printf(&b, "\nverdicts (first/last values are raw; windows count logged rows):\n");
    for (int s = 0; s < N_SIGNALS; s++) {
        rlc_verdict v;
        if (!signal_verdict(m, s, p, &v)) continue;
        sb_printf(&b, "  %-16s %-22s %s\n", signals[s].name, rlc_verdict_name(v.kind), v.why);
    }
    if (grpo)
        sb_printf(&b, "  note: a GRPO policy loss hovers near 0 by construction; read the reward "
                      "verdict for convergence.\n");
    return sb_take(&b);
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
    sbuf b = {0};
    int cw = 25; /* fits the longest verdict name */
    for (int r = 0; r < n; r++)
        if ((int)strlen(labels[r]) + 2 > cw) cw = (int)strlen(labels[r]) + 2;
    if (cw > 40) cw = 40;
    sb_printf(&b, "rlc monitor compare: final metrics (mean of the last 10%% of logged rows, at "
                  "most 20)\n\n");
    sb_printf(&b, "%-24s", "metric");
    for (int r = 0; r < n; r++)
        sb_printf(&b, "%*.*s", cw, cw - 2, labels[r]);
    sb_printf(&b, "\n");
    sb_printf(&b, "%-24s", "steps");
    for (int r = 0; r < n; r++)
        sb_printf(&b, "%*.0f", cw, ms[r]->step[ms[r]->n_rows - 1] + 1);
    sb_printf(&b, "\n");
    const metric_def rows[] = {M_LOSS, M_VAL,  M_REWARD, M_CORRECT, M_EVAL, M_KL,
                               M_ENT,  M_CLIP, M_LEN,    M_HIT,     M_GRAD, M_LR};
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        int any = 0;
        for (int r = 0; r < n; r++)
            any |= rlc_metrics_col(ms[r], rows[k].key) != NULL;
        if (!any) continue;
        sb_printf(&b, "%-24s", rows[k].label);
        for (int r = 0; r < n; r++) {
            double v;
            if (tail_mean(ms[r], rows[k].key, &v))
                sb_printf(&b, "%*.4g", cw, v);
            else
                sb_printf(&b, "%*s", cw, "-");
        }
        sb_printf(&b, "\n");
    }
    sb_printf(&b, "%-24s", "training time");
    for (int r = 0; r < n; r++) {
        char dur[64];
        double s = train_seconds(ms[r]);
        fmt_duration(dur, sizeof dur, s);
        sb_printf(&b, "%*s", cw, isfinite(s) ? dur : "-");
    }
    sb_printf(&b, "\n\nverdicts\n");
    for (int s = 0; s < N_SIGNALS; s++) {
        int any = 0;
        for (int r = 0; r < n; r++)
            any |= rlc_metrics_col(ms[r], signals[s].key) != NULL;
        if (!any) continue;
        sb_printf(&b, "%-24s", signals[s].name);
        for (int r = 0; r < n; r++) {
            rlc_verdict v;
            sb_printf(&b, "%*s", cw,
                      signal_verdict(ms[r], s, p, &v) ? rlc_verdict_name(v.kind) : "-");
        }
        sb_printf(&b, "\n");
    }
    return sb_take(&b);
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
    sbuf rep = {0};
    char name[256];
    const char *nm = base_name(run_dir, name, sizeof name);
    for (int i = 0; i < m->n_notes; i++)
        sb_printf(&rep, "skipped: %s\n", m->notes[i]);
    rlc_status st = rlc_mkdir_p(out_dir);
    if (st == RLC_OK) st = write_figures(&m, &nm, 1, out_dir, &rep);
    rlc_verdict_params p = rlc_verdict_default_params();
    if (st == RLC_OK) st = write_text(summary_path, rlc_monitor_summary(m, run_dir, &p));
    if (st == RLC_OK) sb_printf(&rep, "wrote %s\n", summary_path);
    rlc_metrics_free(m);
    *report = sb_take(&rep);
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
    sbuf rep = {0};
    rlc_status st = RLC_OK;
    for (int r = 0; r < n && st == RLC_OK; r++) {
        lab[r] =
            labels && labels[r] ? labels[r] : base_name(run_dirs[r], names[r], sizeof names[r]);
        st = rlc_metrics_load(run_dirs[r], &ms[r]);
        for (int i = 0; st == RLC_OK && i < ms[r]->n_notes; i++)
            sb_printf(&rep, "skipped (%s): %s\n", lab[r], ms[r]->notes[i]);
    }
    if (st == RLC_OK) st = rlc_mkdir_p(out_dir);
    if (st == RLC_OK) st = write_figures(ms, lab, n, out_dir, &rep);
    char path[4096];
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, out_dir, "compare.txt");
    rlc_verdict_params p = rlc_verdict_default_params();
    if (st == RLC_OK) st = write_text(path, rlc_monitor_compare_table(ms, lab, n, &p));
    if (st == RLC_OK) sb_printf(&rep, "wrote %s\n", path);
    for (int r = 0; r < n; r++)
        rlc_metrics_free(ms[r]);
    *report = sb_take(&rep);
    return st;
}
