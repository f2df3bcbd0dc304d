#include "monitor/verdict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rlc_verdict_params rlc_verdict_default_params(void) {
    rlc_verdict_params p = {
        .window_frac = 0.2,
        .min_window = 5,
        .min_points = 10,
        .flat_cv = 0.05,
        .osc_cv = 0.15,
        .improve_rel = 0.05,
        .trend_t = 2.5,
        .spike_factor = 5.0,
        .spike_lookback = 10,
        .growth_factor = 10.0,
        .stall_gain = 0.05,
        .stall_z = 2.0,
        .collapse_frac = 0.2,
        .clip_rise = 0.1,
        .clip_min = 0.2,
        .clip_high = 0.5,
        .ratio_shift = 0.1,
        .ratio_edge = 0.02,
        .no_signal_frac = 0.5,
    };
    return p;
}

const char *rlc_verdict_name(rlc_verdict_kind k) {
    static const char *names[RLC_VERDICT_COUNT] = {
        "insufficient data",
        "converged",
        "still improving",
        "oscillating",
        "worsening",
        "noisy plateau",
        "exploding",
        "stable",
        "stalled",
        "entropy collapse",
        "length clipping rising",
        "ok",
        "no learning signal",
        "length clipping high",
        "shifting",
        "no negative samples",
        "no positive samples",
    };
    return (unsigned)k < RLC_VERDICT_COUNT ? names[k] : "unknown";
}

/* The finite points of x, in order, with their indices; caller frees both. */
static int finite_points(const double *x, int n, double **y, int **idx) {
    *y = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (!*y || !*idx) return 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) (*y)[m] = x[i], (*idx)[m++] = i;
    return m;
}

static int window_len(int m, const rlc_verdict_params *p) {
    int w = (int)lround(p->window_frac * m);
    if (w < p->min_window) w = p->min_window;
    if (w > m / 2) w = m / 2;
    return w < 2 ? 2 : w;
}

typedef struct win_stats {
    double mean, sd; /* sample std */
    double slope, t; /* least-squares slope per point and its t statistic */
    double resid_sd; /* std about the fitted line */
    double lo, hi;
} win_stats;

static win_stats stats_of(const double *y, int w) {
    win_stats s = {0};
    double sx = 0, sy = 0;
    s.lo = s.hi = y[0];
    for (int i = 0; i < w; i++) {
        sx += i, sy += y[i];
        if (y[i] < s.lo) s.lo = y[i];
        if (y[i] > s.hi) s.hi = y[i];
    }
    double mx = sx / w, my = sy / w, sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < w; i++) {
        sxx += (i - mx) * (i - mx);
        sxy += (i - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    s.mean = my;
    s.sd = w > 1 ? sqrt(syy / (w - 1)) : 0;
    s.slope = sxx > 0 ? sxy / sxx : 0;
    double rss = syy - s.slope * sxy;
    if (rss < 0) rss = 0;
    s.resid_sd = w > 2 ? sqrt(rss / (w - 2)) : 0;
    double se = sxx > 0 ? s.resid_sd / sqrt(sxx) : 0;
    s.t = se > 0 ? s.slope / se : (s.slope != 0 ? INFINITY * s.slope : 0);
    return s;
}

static rlc_verdict mk(rlc_verdict_kind k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static rlc_verdict mk(rlc_verdict_kind k, const char *fmt, ...) {
    rlc_verdict v = {.kind = k};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v.why, sizeof v.why, fmt, ap);
    va_end(ap);
    return v;
}

static rlc_verdict too_few(int m, const rlc_verdict_params *p) {
    return mk(RLC_VERDICT_INSUFFICIENT, "only %d finite points (need %d)", m, p->min_points);
}

static double abs_floor(double v) {
    v = fabs(v);
    return v > 1e-12 ? v : 1e-12;
}

/* The trend verdict on compacted points y[0..m). */
static rlc_verdict trend_of(const double *y, int m, int dir, const rlc_verdict_params *p) {
    if (m < p->min_points) return too_few(m, p);
    int w = window_len(m, p);
    win_stats s = stats_of(y + m - w, w);
    double scale = abs_floor(s.mean);
    double change = s.slope * (w - 1) / scale; /* relative move across the window */
    double cv = s.sd / scale, cvr = s.resid_sd / scale;
    if (fabs(s.t) >= p->trend_t && fabs(change) >= p->improve_rel) {
        int good = (change > 0) == (dir > 0);
        return mk(good ? RLC_VERDICT_IMPROVING : RLC_VERDICT_WORSENING,
                  "last %d points: slope %.3g/step moves the mean %.4g by %+.1f%% across the "
                  "window (|change| >= %.0f%%, t = %.1f >= %.1f)",
                  w, s.slope, s.mean, 100 * change, 100 * p->improve_rel, fabs(s.t), p->trend_t);
    }
    if (cvr >= p->osc_cv)
        return mk(RLC_VERDICT_OSCILLATING,
                  "last %d points swing %.4g..%.4g around mean %.4g: detrended std/mean %.3f >= "
                  "%.2f, no significant trend (change %+.1f%%, t = %.1f)",
                  w, s.lo, s.hi, s.mean, cvr, p->osc_cv, 100 * change, fabs(s.t));
    if (cv <= p->flat_cv)
        return mk(RLC_VERDICT_CONVERGED,
                  "last %d points: mean %.4g, std %.3g, std/mean %.4f <= %.2f; change across the "
                  "window %+.1f%% (under %.0f%% or t = %.1f < %.1f)",
                  w, s.mean, s.sd, cv, p->flat_cv, 100 * change, 100 * p->improve_rel, fabs(s.t),
                  p->trend_t);
    return mk(RLC_VERDICT_NOISY_PLATEAU,
              "last %d points: mean %.4g, std/mean %.3f between %.2f (flat) and %.2f "
              "(oscillating); change %+.1f%%, t = %.1f",
              w, s.mean, cv, p->flat_cv, p->osc_cv, 100 * change, fabs(s.t));
}

/* m = the number of finite points of x (finite_points), or -1 with *v the
 * too-few verdict when they are fewer than p->min_points or memory ran out. */
static int usable_points(const double *x, int n, const rlc_verdict_params *p, double **y, int **idx,
                         rlc_verdict *v) {
    int m = finite_points(x, n, y, idx);
    if (*y && *idx && m >= p->min_points) return m;
    *v = too_few(*y && *idx ? m : 0, p);
    return -1;
}

rlc_verdict rlc_verdict_trend(const double *x, int n, int dir, const rlc_verdict_params *p) {
    double *y;
    int *idx;
    int m = finite_points(x, n, &y, &idx);
    rlc_verdict v = y && idx ? trend_of(y, m, dir, p) : too_few(0, p);
    free(y);
    free(idx);
    return v;
}

rlc_verdict rlc_verdict_loss(const double *x, int n, const rlc_verdict_params *p) {
    return rlc_verdict_trend(x, n, -1, p);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *y, int w) {
    double buf[256];
    if (w > 256) y += w - 256, w = 256;
    for (int i = 0; i < w; i++)
        buf[i] = y[i];
    qsort(buf, (size_t)w, sizeof(double), cmp_double);
    return w % 2 ? buf[w / 2] : 0.5 * (buf[w / 2 - 1] + buf[w / 2]);
}

rlc_verdict rlc_verdict_grad_norm(const double *x, const double *step, int n,
                                  const rlc_verdict_params *p) {
    double *y;
    int *idx;
    rlc_verdict v;
    int m = usable_points(x, n, p, &y, &idx, &v);
    if (m < 0) goto done;
    int spikes = 0, worst = -1;
    double worst_ratio = 0, worst_med = 0;
    for (int i = 3; i < m; i++) {
        int lb = i < p->spike_lookback ? i : p->spike_lookback;
        double med = median(y + i - lb, lb);
        double r = y[i] / abs_floor(med);
        if (r > p->spike_factor) spikes++;
        if (r > worst_ratio) worst_ratio = r, worst = i, worst_med = med;
    }
    int w = window_len(m, p);
    double first = median(y, w), last = median(y + m - w, w);
    double growth = last / abs_floor(first);
    double at = worst >= 0 ? (step ? step[idx[worst]] : idx[worst]) : 0;
    if (spikes > 0)
        v = mk(RLC_VERDICT_EXPLODING,
               "%d spike%s above %.0fx the median of the %d steps before; largest %.4g at step "
               "%.0f = %.1fx the median %.3g",
               spikes, spikes > 1 ? "s" : "", p->spike_factor, p->spike_lookback, y[worst], at,
               worst_ratio, worst_med);
    else if (growth >= p->growth_factor)
        v = mk(RLC_VERDICT_EXPLODING,
               "median over the last %d points %.4g is %.1fx the first %d points' %.4g (>= %.0fx)",
               w, last, growth, w, first, p->growth_factor);
    else
        v = mk(RLC_VERDICT_STABLE,
               "no spike above %.0fx the median of the %d steps before (largest %.1fx at step "
               "%.0f); median %.4g in the first %d points, %.4g in the last",
               p->spike_factor, p->spike_lookback, worst_ratio, at, first, w, last);
done:
    free(y);
    free(idx);
    return v;
}

rlc_verdict rlc_verdict_reward(const double *x, int n, const rlc_verdict_params *p) {
    double *y;
    int *idx;
    rlc_verdict v;
    int m = usable_points(x, n, p, &y, &idx, &v);
    if (m < 0) goto done;
    v = trend_of(y, m, +1, p);
    if (v.kind == RLC_VERDICT_IMPROVING || v.kind == RLC_VERDICT_WORSENING) goto done;
    int w = window_len(m, p);
    win_stats a = stats_of(y, w), b = stats_of(y + m - w, w);
    double gain = b.mean - a.mean;
    double se = sqrt((a.sd * a.sd + b.sd * b.sd) / w);
    double z = se > 0 ? gain / se : (gain > 0 ? INFINITY : 0);
    double rel = gain / abs_floor(fmax(fabs(a.mean), fabs(b.mean)));
    if (z < p->stall_z || rel < p->stall_gain) {
        v = mk(RLC_VERDICT_STALLED,
               "mean of the first %d points %.4g, of the last %d %.4g: gain %+.4g (%+.1f%%, %.1f "
               "standard errors; needs >= %.0f%% and >= %.1f) and no rising trend",
               w, a.mean, w, b.mean, gain, 100 * rel, z, 100 * p->stall_gain, p->stall_z);
    } else if (v.kind != RLC_VERDICT_OSCILLATING) {
        char trend[sizeof v.why];
        memcpy(trend, v.why, sizeof trend);
        v = mk(RLC_VERDICT_CONVERGED, "plateau after rising %.4g -> %.4g (%+.1f%%); %.300s", a.mean,
               b.mean, 100 * rel, trend);
    }
done:
    free(y);
    free(idx);
    return v;
}

/* Means of the first and last windows of the finite points; 0 with *v the
 * too-few verdict when there are too few. */
static int ends(const double *x, int n, const rlc_verdict_params *p, double *first, double *last,
                int *w, rlc_verdict *v) {
    double *y;
    int *idx;
    int m = usable_points(x, n, p, &y, &idx, v);
    if (m >= 0) {
        *w = window_len(m, p);
        *first = stats_of(y, *w).mean;
        *last = stats_of(y + m - *w, *w).mean;
    }
    free(y);
    free(idx);
    return m >= 0;
}

rlc_verdict rlc_verdict_entropy(const double *x, int n, const rlc_verdict_params *p) {
    double a, b;
    int w;
    rlc_verdict v;
    if (!ends(x, n, p, &a, &b, &w, &v)) return v;
    double frac = b / abs_floor(a);
    if (frac < p->collapse_frac)
        return mk(RLC_VERDICT_ENTROPY_COLLAPSE,
                  "mean entropy %.4g over the first %d points -> %.4g over the last %d: %.1f%% of "
                  "the start (< %.0f%%)",
                  a, w, b, w, 100 * frac, 100 * p->collapse_frac);
    return mk(RLC_VERDICT_OK,
              "mean entropy %.4g -> %.4g (first/last %d points): %.1f%% of the start "
              "(collapse below %.0f%%)",
              a, b, w, 100 * frac, 100 * p->collapse_frac);
}

rlc_verdict rlc_verdict_length_clip(const double *x, int n, const rlc_verdict_params *p) {
    double a, b;
    int w;
    rlc_verdict v;
    if (!ends(x, n, p, &a, &b, &w, &v)) return v;
    if (b - a >= p->clip_rise && b >= p->clip_min)
        return mk(RLC_VERDICT_LENGTH_CLIPPING,
                  "max-token hit rate %.3f over the first %d points -> %.3f over the last %d (up "
                  "%.3f >= %.2f, and >= %.2f)",
                  a, w, b, w, b - a, p->clip_rise, p->clip_min);
    if (b >= p->clip_high)
        return mk(RLC_VERDICT_LENGTH_CLIPPED,
                  "max-token hit rate %.3f over the last %d points (>= %.2f: most completions are "
                  "cut at the limit; %.3f over the first %d, so not rising)",
                  b, w, p->clip_high, a, w);
    return mk(RLC_VERDICT_OK,
              "max-token hit rate %.3f -> %.3f (first/last %d points; rising means up >= %.2f "
              "to >= %.2f)",
              a, b, w, p->clip_rise, p->clip_min);
}

rlc_verdict rlc_verdict_signal(const double *x, int n, const rlc_verdict_params *p) {
    int m = 0, none = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) m++, none += x[i] >= 1;
    if (m == 0) return mk(RLC_VERDICT_INSUFFICIENT, "no finite frac_reward_zero_std point");
    if (none >= p->no_signal_frac * m)
        return mk(RLC_VERDICT_NO_SIGNAL,
                  "no learning signal in %d of %d steps: every prompt group's rewards were equal, "
                  "so advantages, loss and gradient were 0 there",
                  none, m);
    if (none == 0)
        return mk(RLC_VERDICT_OK,
                  "learning signal in %d of %d steps (no step had every group's "
                  "rewards equal)",
                  m, m);
    return mk(RLC_VERDICT_OK,
              "learning signal in %d of %d steps (%d with every group's rewards equal; those are "
              "left out of the loss and gradient verdicts)",
              m - none, m, none);
}

rlc_verdict rlc_verdict_sample_ratio(const double *x, int n, const rlc_verdict_params *p) {
    double a, b;
    int w;
    rlc_verdict v;
    if (!ends(x, n, p, &a, &b, &w, &v)) return v;
    if (b <= p->ratio_edge)
        return mk(RLC_VERDICT_NO_POSITIVES,
                  "positive ratio %.3f over the last %d points (<= %.2f): almost no completion is "
                  "correct, nothing to reinforce (%.3f over the first %d)",
                  b, w, p->ratio_edge, a, w);
    if (b >= 1 - p->ratio_edge)
        return mk(RLC_VERDICT_NO_NEGATIVES,
                  "positive ratio %.3f over the last %d points (>= %.2f): almost every completion "
                  "is correct, no negative samples (%.3f over the first %d)",
                  b, w, 1 - p->ratio_edge, a, w);
    if (fabs(b - a) >= p->ratio_shift)
        return mk(RLC_VERDICT_SHIFTING,
                  "positive ratio %.3f -> %.3f, negative %.3f -> %.3f (first/last %d points): "
                  "moved %+.3f (|change| >= %.2f)",
                  a, b, 1 - a, 1 - b, w, b - a, p->ratio_shift);
    return mk(RLC_VERDICT_STABLE,
              "positive ratio %.3f -> %.3f, negative %.3f -> %.3f (first/last %d points): moved "
              "%+.3f (< %.2f)",
              a, b, 1 - a, 1 - b, w, b - a, p->ratio_shift);
}

int rlc_verdict_loss_change(const double *x, int n, char *out, size_t cap) {
    double a = NAN, z = NAN, amax = 0;
    int cross = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        if (isnan(a)) a = x[i];
        z = x[i];
        amax = fmax(amax, fabs(x[i]));
        cross |= a == 0 || (x[i] > 0) != (a > 0) || x[i] == 0;
    }
    if (isnan(a)) return 0;
    if (cross)
        snprintf(out, cap, "change %+.4g; no percentage: the loss crosses or touches 0", z - a);
    else if (fabs(a) < 0.1 * amax)
        snprintf(out, cap,
                 "change %+.4g; no percentage: the loss starts near 0 (%.3g, its "
                 "largest magnitude %.3g)",
                 z - a, a, amax);
    else
        snprintf(out, cap, "%s %.1f%%", z <= a ? "reduction" : "increase",
                 100 * fabs(a - z) / fabs(a));
    return 1;
}
