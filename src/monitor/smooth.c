#include "monitor/smooth.h"

#include <math.h>

double rlc_smooth_alpha(int n) {
    double a = RLC_MONITOR_EMA_ALPHA;
    if (n > 0 && 6.0 / n > a) a = 6.0 / n;
    return a > 0.5 ? 0.5 : a;
}

void rlc_smooth_ema(const double *x, int n, double alpha, double *out) {
    double s = 0, w = 0; /* running average and its total weight */
    for (int i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v)) {
            out[i] = NAN;
            continue;
        }
        s = (1 - alpha) * s + alpha * v;
        w = (1 - alpha) * w + alpha;
        out[i] = s / w;
    }
}

void rlc_smooth_ema2(const double *x, int n, double alpha, double *out) {
    double decay = 1 - alpha;
    /* neighbours whose weight is below 1e-3 change nothing visible */
    int reach = decay > 0 ? (int)ceil(log(1e-3) / log(decay)) : 0;
    /* neighbours with weight >= 1/2; at least one on each side */
    int near = decay > 0 ? (int)floor(log(0.5) / log(decay)) : 0;
    if (near < 1) near = 1;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            out[i] = NAN;
            continue;
        }
        int lo = i - reach < 0 ? 0 : i - reach, hi = i + reach >= n ? n - 1 : i + reach;
        double sw = 0, sd = 0, sy = 0, sdd = 0, sdy = 0;
        for (int j = lo; j <= hi; j++) {
            if (!isfinite(x[j])) continue;
            double d = j - i, w = pow(decay, fabs(d));
            sw += w, sd += w * d, sy += w * x[j], sdd += w * d * d, sdy += w * d * x[j];
        }
        double det = sw * sdd - sd * sd;
        /* intercept of the weighted line at d = 0; a mean when the fit is degenerate */
        double v = det > 1e-12 * sw * sw ? (sdd * sy - sd * sdy) / det : sy / sw;
        /* A line fitted across a bend (or to one side only, at the edges)
         * can pass outside every nearby point: keep it within the range of
         * the points that carry at least half the weight. */
        double ymin = INFINITY, ymax = -INFINITY;
        for (int j = i - near < 0 ? 0 : i - near; j <= i + near && j < n; j++)
            if (isfinite(x[j])) ymin = fmin(ymin, x[j]), ymax = fmax(ymax, x[j]);
        out[i] = v < ymin ? ymin : v > ymax ? ymax : v;
    }
}
