/* Verdicts that must not say something untrue: a GRPO run without learning
 * signal, a falling series, a loss that crosses 0, sample ratios, length
 * clipping that is high but not rising; and the plotted smoother staying
 * within the raw data. Each series is built here with a known shape. */
#include "base/fs.h"
#include "monitor/monitor.h"
#include "monitor/smooth.h"
#include "monitor/verdict.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXPECT(v, k)                                                                               \
    cr_assert_eq((v).kind, (k), "got '%s' (%s), expected '%s'", rlc_verdict_name((v).kind),        \
                 (v).why, rlc_verdict_name(k))

/* A GRPO metrics.jsonl of n steps where every group had equal rewards from
 * step `dead_from` on: loss and grad_norm exactly 0 there. */
static char *grpo_jsonl(int n, int dead_from) {
    size_t cap = (size_t)n * 200 + 1;
    char *s = malloc(cap);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        int dead = i >= dead_from;
        double loss = dead ? 0 : 0.01 * sin(i), g = dead ? 0 : 1 + 0.1 * cos(i);
        double r = dead ? 1 : 0.5 + 0.002 * i;
        k += (size_t)snprintf(s + k, cap - k,
                              "{\"step\":%d,\"loss\":%.17g,\"grad_norm\":%.17g,\"mean_reward\":%."
                              "17g,\"correct_rate\":%.17g,\"frac_reward_zero_std\":%g}\n",
                              i, loss, g, r, r, dead ? 1.0 : 0.25);
    }
    return s;
}

/* The verdict line of topic in a summary ("  loss             converged ..."). */
static const char *line_of(const char *summary, const char *topic) {
    char key[64];
    snprintf(key, sizeof key, "\n  %-16s ", topic);
    const char *p = strstr(summary, key);
    cr_assert_not_null(p, "no '%s' verdict in:\n%s", topic, summary);
    return p + strlen(key);
}

Test(verdict, zero_signal_run_is_not_converged) {
    /* every step: all groups equal, loss and gradient exactly 0 */
    char *text = grpo_jsonl(40, 0);
    rlc_metrics *m;
    cr_assert_eq(rlc_metrics_parse("dead", text, &m), RLC_OK);
    rlc_verdict_params p = rlc_verdict_default_params();
    /* the plain trend verdict alone would call the zero series converged */
    EXPECT(rlc_verdict_loss(rlc_metrics_col(m, "loss"), m->n_rows, &p), RLC_VERDICT_CONVERGED);
    rlc_verdict v = rlc_verdict_signal(rlc_metrics_col(m, "frac_reward_zero_std"), m->n_rows, &p);
    EXPECT(v, RLC_VERDICT_NO_SIGNAL);
    cr_assert(strstr(v.why, "no learning signal in 40 of 40 steps"), "%s", v.why);
    char *sum = rlc_monitor_summary(m, "dead", &p);
    cr_assert_not_null(sum);
    for (const char *t = "loss\0gradient norm\0learning signal\0"; *t; t += strlen(t) + 1) {
        const char *l = line_of(sum, t);
        cr_assert(!strncmp(l, "no learning signal", 18), "%s: %.80s", t, l);
        cr_assert(strstr(l, "no learning signal in 40 of 40 steps"), "%s: %.120s", t, l);
    }
    cr_assert_null(strstr(sum, "converged"), "%s", sum);
    cr_assert_null(strstr(sum, "stable"), "%s", sum);
    free(sum);
    rlc_metrics_free(m);
    free(text);
}

Test(verdict, partly_dead_run_leaves_dead_steps_out) {
    /* 30 live steps then 10 dead ones: the learning signal is OK (10 of 40
     * dead), and the loss/grad verdicts see only the 30 live points */
    char *text = grpo_jsonl(40, 30);
    rlc_metrics *m;
    cr_assert_eq(rlc_metrics_parse("partly", text, &m), RLC_OK);
    rlc_verdict_params p = rlc_verdict_default_params();
    rlc_verdict v = rlc_verdict_signal(rlc_metrics_col(m, "frac_reward_zero_std"), m->n_rows, &p);
    EXPECT(v, RLC_VERDICT_OK);
    cr_assert(strstr(v.why, "learning signal in 30 of 40 steps (10 with"), "%s", v.why);
    char *sum = rlc_monitor_summary(m, "partly", &p);
    /* window of the 30 live points: 20% = 6 */
    const char *g = line_of(sum, "gradient norm");
    cr_assert(!strncmp(g, "stable", 6), "%.200s", g);
    cr_assert(strstr(g, "first 6 points"), "%.200s", g);
    free(sum);
    rlc_metrics_free(m);
    free(text);
}

Test(verdict, falling_series_is_never_rising) {
    rlc_verdict_params p = rlc_verdict_default_params();
    double x[60];
    for (int i = 0; i < 60; i++)
        x[i] = 3.0 - 0.02 * i + 0.01 * sin(3.0 * i); /* falls steadily */
    /* a falling loss improves; a falling reward worsens; neither is "rising" */
    rlc_verdict v = rlc_verdict_loss(x, 60, &p);
    EXPECT(v, RLC_VERDICT_IMPROVING);
    cr_assert(strstr(v.why, "by -"), "%s", v.why);
    EXPECT(rlc_verdict_reward(x, 60, &p), RLC_VERDICT_WORSENING);
    /* a max-token hit rate falling from 0.9 to 0.6: high, but not rising */
    double h[60];
    for (int i = 0; i < 60; i++)
        h[i] = 0.9 - 0.005 * i;
    v = rlc_verdict_length_clip(h, 60, &p);
    EXPECT(v, RLC_VERDICT_LENGTH_CLIPPED);
    cr_assert_null(strstr(rlc_verdict_name(v.kind), "rising"));
    cr_assert(strstr(v.why, "not rising"), "%s", v.why);
    /* and one that does rise, 0.05 -> 0.6, is called rising */
    for (int i = 0; i < 60; i++)
        h[i] = 0.05 + 0.55 * i / 59.0;
    v = rlc_verdict_length_clip(h, 60, &p);
    EXPECT(v, RLC_VERDICT_LENGTH_CLIPPING);
    cr_assert(strstr(rlc_verdict_name(v.kind), "rising"));
}

Test(verdict, loss_crossing_zero_has_no_percentage) {
    char out[200];
    /* the demo's GRPO loss: 0.0001899 -> -0.001134 printed "reduction 697.1%" */
    double cross[5] = {0.0001899, -0.0004, 0.0002, -0.0008, -0.001134};
    cr_assert(rlc_verdict_loss_change(cross, 5, out, sizeof out));
    cr_assert_null(strchr(out, '%'), "%s", out);
    cr_assert(strstr(out, "crosses"), "%s", out);
    cr_assert(strstr(out, "-0.001324"), "%s", out); /* the absolute change, -0.0013239 */
    /* positive all along but starting near 0 next to its largest value */
    double near0[4] = {0.0002, 0.003, 0.002, 0.001};
    cr_assert(rlc_verdict_loss_change(near0, 4, out, sizeof out));
    cr_assert_null(strchr(out, '%'), "%s", out);
    cr_assert(strstr(out, "starts near 0"), "%s", out);
    /* an SFT loss 3.165 -> 1.523 (the seed's example): 51.9% reduction */
    double sft[4] = {3.165, 2.1, NAN, 1.523};
    cr_assert(rlc_verdict_loss_change(sft, 4, out, sizeof out));
    cr_assert_str_eq(out, "reduction 51.9%");
    double up[3] = {2.0, 2.5, 2.2};
    cr_assert(rlc_verdict_loss_change(up, 3, out, sizeof out));
    cr_assert_str_eq(out, "increase 10.0%");
    double none[2] = {NAN, NAN};
    cr_assert_eq(rlc_verdict_loss_change(none, 2, out, sizeof out), 0);
    /* the summary line of a crossing loss carries no percentage */
    rlc_metrics *m;
    cr_assert_eq(
        rlc_metrics_parse("x",
                          "{\"step\":0,\"loss\":0.0001899}\n{\"step\":1,\"loss\":-0.0004}\n"
                          "{\"step\":2,\"loss\":-0.001134}\n",
                          &m),
        RLC_OK);
    rlc_verdict_params p = rlc_verdict_default_params();
    char *sum = rlc_monitor_summary(m, "x", &p);
    const char *l = strstr(sum, "loss:");
    cr_assert_not_null(l, "%s", sum);
    cr_assert(!strchr(l, '%') || strchr(l, '%') > strchr(l, '\n'), "%s", sum);
    free(sum);
    rlc_metrics_free(m);
}

Test(verdict, sample_ratios) {
    rlc_verdict_params p = rlc_verdict_default_params();
    double x[40];
    /* the seed's NSR negative ratio 0.48 -> 0.52 -> 0.51 -> 0.50: stable */
    for (int i = 0; i < 40; i++)
        x[i] = 1 - (0.50 + 0.02 * sin(i));
    rlc_verdict v = rlc_verdict_sample_ratio(x, 40, &p);
    EXPECT(v, RLC_VERDICT_STABLE);
    cr_assert_str_eq(rlc_verdict_name(v.kind), "stable");
    /* learning: the positive ratio climbs 0.2 -> 0.7 */
    for (int i = 0; i < 40; i++)
        x[i] = 0.2 + 0.5 * i / 39.0;
    v = rlc_verdict_sample_ratio(x, 40, &p);
    EXPECT(v, RLC_VERDICT_SHIFTING);
    cr_assert(strstr(v.why, "positive ratio 0.2"), "%s", v.why);
    /* "NSR [Step 50]: 0/4 negative samples": everything correct at the end */
    for (int i = 0; i < 40; i++)
        x[i] = i < 20 ? 0.9 : 1.0;
    EXPECT(rlc_verdict_sample_ratio(x, 40, &p), RLC_VERDICT_NO_NEGATIVES);
    for (int i = 0; i < 40; i++)
        x[i] = i < 20 ? 0.1 : 0.0;
    EXPECT(rlc_verdict_sample_ratio(x, 40, &p), RLC_VERDICT_NO_POSITIVES);
    /* and the summary names the verdict as the seed does */
    for (int i = 0; i < 40; i++)
        x[i] = 0.5 + 0.02 * sin(i);
    char text[4096];
    size_t k = 0;
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "{\"step\":%d,\"correct_rate\":%.6f}\n", i,
                              x[i]);
    rlc_metrics *m;
    cr_assert_eq(rlc_metrics_parse("r", text, &m), RLC_OK);
    char *sum = rlc_monitor_summary(m, "r", &p);
    cr_assert(strstr(sum, "sample ratios    stable"), "%s", sum);
    free(sum);
    rlc_metrics_free(m);
}

/* The smallest and largest finite x[j] with |j - i| <= h. */
static void range_near(const double *x, int n, int i, int h, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int j = i - h; j <= i + h; j++)
        if (j >= 0 && j < n && isfinite(x[j])) *lo = fmin(*lo, x[j]), *hi = fmax(*hi, x[j]);
}

Test(verdict, smoother_stays_within_the_raw_series) {
    /* a loss that falls steeply, then flattens: a weighted line fitted across
     * the bend passed below every raw point after it before the clamp */
    enum { N = 120 };
    double x[N], s[N];
    for (int i = 0; i < N; i++)
        x[i] = 1.5 + 8.0 * exp(-i / 3.0);
    double alpha = rlc_smooth_alpha(N);
    int h = (int)floor(log(0.5) / log(1 - alpha)); /* the documented clamp window */
    rlc_smooth_ema2(x, N, alpha, s);
    for (int i = 0; i < N; i++) {
        double lo, hi;
        range_near(x, N, i, h, &lo, &hi);
        cr_assert(s[i] >= lo - 1e-12 && s[i] <= hi + 1e-12, "i=%d: %.6f outside [%.6f, %.6f]", i,
                  s[i], lo, hi);
    }
    /* never under the flat level the raw series never leaves */
    for (int i = 0; i < N; i++)
        cr_assert_geq(s[i], 1.5, "i=%d: %.6f", i, s[i]);
    /* the edges: a rising-then-flat reward is not undershot at its start or end */
    for (int i = 0; i < N; i++)
        x[i] = i < 10 ? 0.1 * i : 1.0;
    rlc_smooth_ema2(x, N, alpha, s);
    cr_assert_geq(s[0], 0.0);
    cr_assert_float_eq(s[N - 1], 1.0, 1e-12);
    /* and on a straight line the fit is exact everywhere, edges included */
    for (int i = 0; i < N; i++)
        x[i] = 2.0 - 0.01 * i;
    rlc_smooth_ema2(x, N, alpha, s);
    for (int i = 0; i < N; i++)
        cr_assert_float_eq(s[i], x[i], 1e-9, "i=%d", i);
}

Test(verdict, compare_dir_is_named_after_the_runs) {
    const char *runs[] = {"/tmp/some/runs/seed1", "/tmp/some/runs/seed2/"};
    char out[512];
    cr_assert_eq(rlc_monitor_compare_dir(runs, NULL, 2, out, sizeof out), RLC_OK);
    cr_assert_str_eq(out, "/tmp/some/runs/compare_seed1_vs_seed2");
    const char *labels[] = {"lr 1e-4", "lr/2"};
    cr_assert_eq(rlc_monitor_compare_dir(runs, labels, 2, out, sizeof out), RLC_OK);
    cr_assert_str_eq(out, "/tmp/some/runs/compare_lr-1e-4_vs_lr-2");
    cr_assert_eq(rlc_monitor_compare_dir(runs, NULL, 2, out, 20), RLC_ERR_INVALID);
}

Test(verdict, compare_never_writes_into_a_compared_run) {
    char dir[] = "/tmp/rlc_verdict_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char a[128], b[128], inside[160], path[300];
    snprintf(a, sizeof a, "%s/seed1", dir);
    snprintf(b, sizeof b, "%s/seed2", dir);
    const char *runs[] = {a, b};
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(rlc_mkdir_p(runs[r]), RLC_OK);
        snprintf(path, sizeof path, "%s/metrics.jsonl", runs[r]);
        FILE *f = fopen(path, "w");
        for (int i = 0; i < 12; i++)
            fprintf(f, "{\"step\":%d,\"loss\":%g,\"kl\":0}\n", i, 2.0 - 0.1 * i - 0.01 * r);
        fclose(f);
    }
    char *report = NULL;
    snprintf(inside, sizeof inside, "%s/plots_cmp", b);
    cr_assert_eq(rlc_monitor_compare(runs, NULL, 2, inside, &report), RLC_ERR_INVALID);
    free(report);
    cr_assert(strstr(rlc_last_error(), "into the compared run"), "%s", rlc_last_error());
    struct stat sb;
    cr_assert_neq(stat(inside, &sb), 0, "%s was created", inside);
    /* the default folder is beside the runs, named after them */
    char out[256];
    cr_assert_eq(rlc_monitor_compare_dir(runs, NULL, 2, out, sizeof out), RLC_OK);
    snprintf(path, sizeof path, "%s/compare_seed1_vs_seed2", dir);
    cr_assert_str_eq(out, path);
    cr_assert_eq(rlc_monitor_compare(runs, NULL, 2, out, &report), RLC_OK, "%s", rlc_last_error());
    /* kl is 0 at every step: no KL panel, and the report says why */
    cr_assert(strstr(report, "no KL panel"), "%s", report);
    free(report);
    snprintf(path, sizeof path, "%s/compare.txt", out);
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
