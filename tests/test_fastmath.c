/* tensor/cpu_math.h: the one fast exp (CPU kernels and the sampler), against
 * libm's double exp as the reference. */
#include "tensor/cpu_math.h"

#include <criterion/criterion.h>
#include <math.h>

/* |y - exp(x)| in units of the float spacing at exp(x). */
static double ulp_error(float x, float y) {
    double ref = exp((double)x);
    float rf = (float)ref;
    return fabs((double)y - ref) / (double)(nextafterf(rf, INFINITY) - rf);
}

Test(fastmath, expf_within_1_3_ulp) {
    double worst = 0;
    float at = 0;
    /* Normal results only: below exp(-87.3) the result is flushed to 0. */
    for (int i = 0; i <= 2000000; i++) {
        float x = -87.0f + 175.3f * (float)i / 2000000.0f;
        double e = ulp_error(x, rlc_expf(x));
        if (e > worst) worst = e, at = x;
    }
    cr_assert_leq(worst, 1.3, "rlc_expf: %.3f ulp at x = %.9g", worst, (double)at);
}

Test(fastmath, expf_special_values) {
    cr_assert_eq(rlc_expf(0.0f), 1.0f);
    cr_assert_eq(rlc_expf(-0.0f), 1.0f);
    cr_assert_eq(rlc_expf(-INFINITY), 0.0f);
    cr_assert_eq(rlc_expf(-88.0f), 0.0f);
    cr_assert(isnan(rlc_expf(NAN)));
    /* Saturates instead of overflowing. */
    float big = rlc_expf(INFINITY);
    cr_assert(isfinite(big) && big > 1e38f, "%g", (double)big);
    cr_assert_eq(rlc_expf(1000.0f), big);
    cr_assert_float_eq(rlc_expf(1.0f), (float)M_E, 1.2e-7f);
}

#ifdef __AVX512F__
Test(fastmath, exp16_matches_the_scalar_form) {
    float x[16], y[16];
    for (int b = 0; b < 20000; b++) {
        for (int l = 0; l < 16; l++)
            x[l] = -90.0f + 180.0f * (float)(b * 16 + l) / (20000.0f * 16);
        _mm512_storeu_ps(y, rlc_exp16(_mm512_loadu_ps(x)));
        for (int l = 0; l < 16; l++)
            cr_assert_eq(y[l], rlc_expf(x[l]), "x = %.9g: %.9g vs %.9g", (double)x[l], (double)y[l],
                         (double)rlc_expf(x[l]));
    }
}
#endif
