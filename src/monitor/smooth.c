#include "monitor/smooth.h"

#include <math.h>

double rlc_smooth_alpha(int n) {
    double a = RLC_MONITOR_EMA_ALPHA;
    if (n > 0 && 4.0 / n > a) a = 4.0 / n;
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
