/* base/numfmt: the one number formatter. Checked against its definition:
 * every text reads back exactly, and one significant digit fewer would not. */
#include "base/numfmt.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Significant digits in a "%g"-style text; 0 for a plain integer (written in
 * full by design, so not subject to "shortest"). */
static int digits(const char *s) {
    if (!strpbrk(s, ".e")) return 0;
    int n = 0, lead = 1;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (lead && *s == '0') continue;
        lead = 0;
        n++;
    }
    return n;
}

Test(numfmt, fixed_values) {
    char b[40];
    rlc_format_double(b, sizeof b, 10);
    cr_assert_str_eq(b, "10");
    rlc_format_double(b, sizeof b, -123456789012345.0);
    cr_assert_str_eq(b, "-123456789012345");
    rlc_format_double(b, sizeof b, 1e15);
    cr_assert_str_eq(b, "1e+15");
    rlc_format_double(b, sizeof b, 0.1);
    cr_assert_str_eq(b, "0.1");
    rlc_format_double(b, sizeof b, 2.5e-7);
    cr_assert_str_eq(b, "2.5e-07");
    rlc_format_double(b, sizeof b, NAN);
    cr_assert_str_eq(b, "null");
    rlc_format_float(b, sizeof b, 1e-5);
    cr_assert_str_eq(b, "1e-05");
    rlc_format_float(b, sizeof b, (double)0.1f);
    cr_assert_str_eq(b, "0.1");
    rlc_format_float(b, sizeof b, 3.4028234663852886e38);
    cr_assert_str_eq(b, "3.4028235e+38");
    rlc_format_float(b, sizeof b, INFINITY);
    cr_assert_str_eq(b, "null");
}

Test(numfmt, exact_and_shortest) {
    char b[40], shorter[400];
    for (int i = 1; i < 5000; i++) {
        double v = sin(i * 0.37) * pow(10, i % 41 - 20);
        rlc_format_double(b, sizeof b, v);
        cr_assert_eq(strtod(b, NULL), v, "%.17g -> %s", v, b);
        int p = digits(b);
        if (p > 1) {
            snprintf(shorter, sizeof shorter, "%.*g", p - 1, v);
            cr_assert_neq(strtod(shorter, NULL), v, "%s is not the shortest (%s)", b, shorter);
        }
        float f = (float)v;
        rlc_format_float(b, sizeof b, v);
        cr_assert_eq(strtof(b, NULL), f, "%.9g -> %s", (double)f, b);
        p = digits(b);
        if (p > 1) {
            snprintf(shorter, sizeof shorter, "%.*g", p - 1, (double)f);
            cr_assert_neq(strtof(shorter, NULL), f, "%s is not the shortest (%s)", b, shorter);
        }
    }
}
