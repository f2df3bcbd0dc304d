#include "base/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Whole numbers below 1e15 print exactly with "%.0f". Otherwise 1, 2, ...
 * significant digits are tried: the first that reads back is the shortest,
 * and 17 (9 for a float) always does. */
static int whole(double v) {
    return v == trunc(v) && fabs(v) < 1e15;
}

void rlc_format_double(char *out, size_t cap, double v) {
    if (!isfinite(v)) {
        snprintf(out, cap, "null");
        return;
    }
    if (whole(v)) {
        snprintf(out, cap, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v) return;
    }
}

void rlc_format_float(char *out, size_t cap, double v) {
    float f = (float)v;
    if (!isfinite(f)) {
        snprintf(out, cap, "null");
        return;
    }
    if (whole(f)) {
        snprintf(out, cap, "%.0f", (double)f);
        return;
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(out, cap, "%.*g", p, (double)f);
        if (strtof(out, NULL) == f) return;
    }
}
