#include "base/killpoint.h"

#ifdef RLC_TEST_HOOKS

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rlc_kill_point(const char *site, const char *label) {
    const char *spec = getenv(RLC_KILL_ENV);
    if (!spec) return;
    size_t ns = strlen(site);
    if (strncmp(spec, site, ns) || spec[ns] != ':') return;
    const char *want = spec + ns + 1;
    size_t nw = strlen(want), nl = strlen(label);
    if (!nw || nl < nw || strcmp(label + nl - nw, want)) return;
    if (nl > nw && label[nl - nw - 1] != '/') return;
    raise(SIGKILL);
}

int rlc_test_threads_flip(void) {
    const char *e = getenv(RLC_THREADS_FLIP_ENV);
    return e && !strcmp(e, "1");
}

int rlc_test_bp_seconds(double p, double tokens, double *seconds) {
    const char *e = getenv(RLC_BP_USL_ENV);
    double a, b, c;
    if (!e || sscanf(e, "%lf,%lf,%lf", &a, &b, &c) != 3 || !(p > 0)) return 0;
    *seconds = tokens * (a + b * p + c * p * p) / p;
    return 1;
}

#else

/* The release build: no hook. */
void rlc_kill_point(const char *site, const char *label) {}
int rlc_test_threads_flip(void) {
    return 0;
}
int rlc_test_bp_seconds(double p, double tokens, double *seconds) {
    return 0;
}

#endif
