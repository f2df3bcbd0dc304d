/* Back pressure: the USL fit, the regime and the batch of the next step. */
#include "train/backpressure.h"

#include <math.h>
#include <string.h>

/* Below this a coefficient or determinant counts as zero. */
#define BP_EPS 1e-12

rlc_bp_params rlc_bp_default_params(void) {
    rlc_bp_params p;
    memset(&p, 0, sizeof p);
    p.warmup_steps = 10;
    p.ema_decay = 0.9;
    p.throttle_margin = 0.85;
    p.increase_margin = 0.5;
    p.min_batch = 1;
    p.max_batch = 64;
    p.group = 1;
    p.weight_bytes = 4;
    return p;
}

double rlc_usl_relative(double p, double sigma, double kappa) {
    double den = 1 + sigma * (p - 1) + kappa * p * (p - 1);
    return den > 0 ? p / den : 0;
}

double rlc_usl_p_star(double sigma, double kappa) {
    if (kappa <= BP_EPS) return INFINITY;
    if (sigma >= 1) return 1;
    return sqrt((1 - sigma) / kappa);
}

/* Solves the 3x3 system m x = r in place by elimination with partial
 * pivoting; 0 when it is singular. */
static int solve3(double m[3][3], double r[3], double x[3]) {
    for (int k = 0; k < 3; k++) {
        int piv = k;
        for (int i = k + 1; i < 3; i++)
            if (fabs(m[i][k]) > fabs(m[piv][k])) piv = i;
        if (fabs(m[piv][k]) < BP_EPS) return 0;
        if (piv != k) {
            for (int j = 0; j < 3; j++) {
                double t = m[k][j];
                m[k][j] = m[piv][j], m[piv][j] = t;
            }
            double t = r[k];
            r[k] = r[piv], r[piv] = t;
        }
        for (int i = k + 1; i < 3; i++) {
            double f = m[i][k] / m[k][k];
            for (int j = k; j < 3; j++)
                m[i][j] -= f * m[k][j];
            r[i] -= f * r[k];
        }
    }
    for (int k = 2; k >= 0; k--) {
        double s = r[k];
        for (int j = k + 1; j < 3; j++)
            s -= m[k][j] * x[j];
        x[k] = s / m[k][k];
    }
    return 1;
}

/* How many concurrencies, taken from the smallest up, each lie at least
 * RLC_BP_SPREAD times the one before and hold RLC_BP_SUPPORT points with
 * throughput: a quadratic through points bunched at one concurrency, or
 * pinned by a single old point far from them, is noise (after warmup the
 * controller stays put and the window fills with one batch size). */
static int spread(const double *p, const double *x, int n) {
    int k = 0;
    for (double last = 0;;) {
        double next = INFINITY;
        for (int i = 0; i < n; i++) {
            if (!(x[i] > 0) || !(p[i] > 0) || p[i] < last * RLC_BP_SPREAD || p[i] <= last ||
                p[i] >= next)
                continue;
            int m = 0;
            for (int j = 0; j < n; j++)
                m += x[j] > 0 && p[j] == p[i];
            if (m >= RLC_BP_SUPPORT) next = p[i];
        }
        if (isinf(next)) return k;
        last = next, k++;
    }
}

rlc_usl_fit rlc_usl_fit_points(const double *p, const double *x, int n) {
    rlc_usl_fit f;
    memset(&f, 0, sizeof f);
    /* p is scaled to t = p / pmax so the normal equations stay well
     * conditioned at large concurrency */
    double pmax = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > 0 && p[i] > pmax) pmax = p[i];
    if (spread(p, x, n) < 3) return f;
    double m[3][3] = {{0}}, r[3] = {0}, q[3];
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0) || !(p[i] > 0)) continue;
        /* throughput noise is relative (a busy machine slows a step by a
         * share), so each point's residual counts relative to its y: weight
         * 1 / y^2, else the largest concurrencies decide the fit alone */
        double t = p[i] / pmax, y = p[i] / x[i], w = 1 / (y * y), pw[3] = {1, t, t * t};
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++)
                m[a][b] += w * pw[a] * pw[b];
            r[a] += w * pw[a] * y;
        }
    }
    if (!solve3(m, r, q)) return f;
    f.a = q[0], f.b = q[1] / pmax, f.c = q[2] / (pmax * pmax);
    double abc = f.a + f.b + f.c;
    if (!(abc > BP_EPS)) return f;
    f.sigma = (f.b + f.c) / abc;
    f.sigma = f.sigma < 0 ? 0 : f.sigma > 1 ? 1 : f.sigma;
    f.kappa = f.c / abc > 0 ? f.c / abc : 0;
    f.lambda = 1 / abc;
    f.p_star = rlc_usl_p_star(f.sigma, f.kappa);
    f.ok = 1;
    return f;
}

/* The warmup ladder: min_batch, 2 min_batch, 4 min_batch, ... up to
 * max_batch (which is the last rung), then again from the start. */
static int ladder(const rlc_bp_params *bp, int k) {
    int rungs = 1;
    for (long v = bp->min_batch; v < bp->max_batch; v *= 2)
        rungs++;
    if (bp->min_batch >= bp->max_batch) rungs = 1;
    int r = k % rungs;
    long v = bp->min_batch;
    for (int i = 0; i < r; i++)
        v *= 2;
    return r == rungs - 1 || v > bp->max_batch ? bp->max_batch : (int)v;
}

void rlc_bp_init(const rlc_bp_params *bp, rlc_bp_state *s) {
    memset(s, 0, sizeof *s);
    s->batch = ladder(bp, 0);
}

static int clamp_batch(const rlc_bp_params *bp, double b) {
    if (!(b >= bp->min_batch)) return bp->min_batch; /* NaN too */
    if (b >= bp->max_batch) return bp->max_batch;
    return (int)b;
}

/* The regime of a step at concurrency p after warmup, with a fit. */
static rlc_bp_regime classify(const rlc_bp_params *bp, const rlc_bp_state *s, double p) {
    const rlc_usl_fit *f = &s->fit;
    if (f->kappa > BP_EPS && p > bp->throttle_margin * f->p_star) return RLC_BP_RETROGRADE;
    if (bp->peak_gflops > 0 && bp->peak_bw_gb_s > 0)
        return 2 * p / bp->weight_bytes >= bp->peak_gflops / bp->peak_bw_gb_s ? RLC_BP_COMPUTE_BOUND
                                                                              : RLC_BP_MEMORY_BOUND;
    double predicted = f->lambda * rlc_usl_relative(p, f->sigma, f->kappa);
    if (!(predicted > 0)) return RLC_BP_OPTIMAL;
    double ratio = s->ema / predicted;
    if (ratio > 1.1) return RLC_BP_MEMORY_BOUND; /* faster than the model: headroom */
    if (ratio < 0.8) return RLC_BP_RETROGRADE;   /* slower than the model: degrading */
    return RLC_BP_OPTIMAL;
}

void rlc_bp_observe(const rlc_bp_params *bp, rlc_bp_state *s, int batch, double tokens,
                    double seconds, rlc_bp_decision *d) {
    double G = bp->group, p = (double)batch * G;
    s->steps++;
    if (tokens > 0 && seconds > 0) {
        double x = tokens / seconds;
        s->ema = s->have_ema ? bp->ema_decay * s->ema + (1 - bp->ema_decay) * x : x;
        s->have_ema = 1;
        if (s->n == RLC_BP_WINDOW) {
            memmove(s->p, s->p + 1, sizeof(double) * (RLC_BP_WINDOW - 1));
            memmove(s->x, s->x + 1, sizeof(double) * (RLC_BP_WINDOW - 1));
            s->n--;
        }
        s->p[s->n] = p, s->x[s->n] = x, s->n++;
        rlc_usl_fit f = rlc_usl_fit_points(s->p, s->x, s->n);
        if (f.ok) s->fit = f; /* a window that cannot be fitted keeps the last fit */
    }
    memset(d, 0, sizeof *d);
    const rlc_usl_fit *f = &s->fit;
    d->throughput = s->have_ema ? s->ema : NAN;
    d->sigma = f->ok ? f->sigma : NAN;
    d->kappa = f->ok ? f->kappa : NAN;
    d->p_star = f->ok ? f->p_star : NAN;
    d->utilization = NAN;
    d->action = RLC_BP_HOLD;
    if (s->steps <= bp->warmup_steps) {
        d->warmup = 1;
        d->regime = RLC_BP_WARMUP;
        s->batch = s->steps < bp->warmup_steps ? ladder(bp, s->steps) : batch;
        d->batch = s->batch;
        return;
    }
    s->batch = batch;
    if (!f->ok) {
        d->regime = RLC_BP_OPTIMAL;
        d->batch = batch;
        return;
    }
    double pmin = bp->min_batch * G, pmax = bp->max_batch * G;
    double target = bp->throttle_margin * f->p_star;
    target = target < pmin ? pmin : target > pmax ? pmax : target;
    double peak_p = f->p_star < pmin ? pmin : f->p_star > pmax ? pmax : f->p_star;
    double peak = f->lambda * rlc_usl_relative(peak_p, f->sigma, f->kappa);
    if (peak > 0 && s->have_ema) d->utilization = s->ema / peak;
    d->regime = classify(bp, s, p);
    int to = clamp_batch(bp, floor(target / G));
    if (d->regime == RLC_BP_RETROGRADE && to < batch)
        d->action = RLC_BP_THROTTLE, s->batch = to;
    else if (p < bp->increase_margin * target && to > batch)
        d->action = RLC_BP_INCREASE, s->batch = to;
    d->batch = s->batch;
}

const char *rlc_bp_action_name(rlc_bp_action a) {
    static const char *const n[RLC_BP_N_ACTIONS] = {"hold", "throttle", "increase"};
    return (unsigned)a < RLC_BP_N_ACTIONS ? n[a] : "?";
}

const char *rlc_bp_regime_name(rlc_bp_regime r) {
    static const char *const n[RLC_BP_N_REGIMES] = {"warmup", "retrograde", "memory_bound",
                                                    "compute_bound", "optimal"};
    return (unsigned)r < RLC_BP_N_REGIMES ? n[r] : "?";
}
