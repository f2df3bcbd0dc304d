/* rlc monitor: verdicts on synthetic metrics.jsonl files built to be
 * converged, oscillating, exploding, still improving, stalled and collapsing;
 * a truncated last line; PNGs read back by cairo; the compare table. */
#include "base/fs.h"
#include "monitor/metrics.h"
#include "monitor/monitor.h"
#include "monitor/plot.h"
#include "monitor/smooth.h"
#include "monitor/verdict.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

TestSuite(monitor, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* Deterministic noise in [-1, 1). */
static double noise(int i) {
    unsigned x = (unsigned)i * 2654435761u + 12345u;
    x ^= x >> 15, x *= 2246822519u, x ^= x >> 13;
    return (x % 20001) / 10000.0 - 1.0;
}

typedef double (*gen_fn)(int i, int n);

/* Writes dir/metrics.jsonl with n steps; key gets gen(i), the other keys
 * sensible constants; the file ends with `tail` (may be ""). */
/* Creates the folder tmpdir/name (into *dir) and opens its metrics.jsonl for writing. */
static FILE *create_metrics(const char *name, const char **dir) {
    *dir = tmp_path(name);
    cr_assert_eq(rlc_mkdir_p(*dir), RLC_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.jsonl", *dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    return f;
}

static const char *write_run(const char *name, int n, const char *key, gen_fn gen,
                             const char *tail) {
    const char *dir;
    FILE *f = create_metrics(name, &dir);
    for (int i = 0; i < n; i++) {
        fprintf(f,
                "{\"step\":%d,\"condition\":\"grpo\",\"loss\":%.6g,\"grad_norm\":%.6g,\"lr\":1e-5,"
                "\"mean_reward\":%.6g,\"entropy\":%.6g,\"max_token_hit_rate\":%.6g,"
                "\"rewards/number_check/mean\":%.6g,\"step_time_s\":0.5,\"%s\":%.6g}\n",
                i, 1.0 + 0.01 * noise(i), 1.0 + 0.05 * noise(i + 7), 0.3 + 0.01 * noise(i + 3),
                2.0 + 0.02 * noise(i + 5), 0.02, 0.3, key, gen(i, n));
    }
    fputs(tail, f);
    fclose(f);
    return dir;
}

static rlc_metrics *load(const char *dir) {
    rlc_metrics *m = NULL;
    cr_assert_eq(rlc_metrics_load(dir, &m), RLC_OK, "%s", rlc_last_error());
    return m;
}

static double converged_loss(int i, int n) {
    return 1.5 + 1.7 * exp(-i / 8.0) + 0.01 * noise(i);
}
static double improving_loss(int i, int n) {
    return 3.0 - 2.0 * i / n + 0.02 * noise(i);
}
static double oscillating_loss(int i, int n) {
    return (i % 2 ? 5.0 : 2.0) + 0.3 * noise(i);
}
static double spiky_grad(int i, int n) {
    return i == 60 ? 15.8 : i == 85 ? 9.0 : 1.2 + 0.1 * noise(i);
}
static double flat_reward(int i, int n) {
    return 0.12 + 0.05 * noise(i);
}
static double collapsing_entropy(int i, int n) {
    return 2.3 * exp(-i / 15.0) + 0.01;
}
static double rising_clip(int i, int n) {
    return 0.6 * i / n;
}
static double low_clip(int i, int n) {
    return 0.03 + 0.01 * noise(i);
}
static double all_clipped(int i, int n) {
    return 0.97 + 0.02 * noise(i);
}
static double rising_then_flat_reward(int i, int n) {
    return i < 40 ? 0.1 + 0.6 * i / 40.0 + 0.02 * noise(i) : 0.7 + 0.02 * noise(i);
}

static rlc_verdict verdict_of(const char *name, const char *key, gen_fn gen, int which) {
    const char *dir = write_run(name, 100, key, gen, "");
    rlc_metrics *m = load(dir);
    const double *c = rlc_metrics_col(m, key);
    cr_assert_not_null(c);
    rlc_verdict_params p = rlc_verdict_default_params();
    rlc_verdict v;
    switch (which) {
    case 0:
        v = rlc_verdict_loss(c, m->n_rows, &p);
        break;
    case 1:
        v = rlc_verdict_grad_norm(c, m->step, m->n_rows, &p);
        break;
    case 2:
        v = rlc_verdict_reward(c, m->n_rows, &p);
        break;
    case 3:
        v = rlc_verdict_entropy(c, m->n_rows, &p);
        break;
    default:
        v = rlc_verdict_length_clip(c, m->n_rows, &p);
        break;
    }
    rlc_metrics_free(m);
    return v;
}

#define EXPECT(v, k)                                                                               \
    cr_assert_eq((v).kind, (k), "got '%s' (%s), expected '%s'", rlc_verdict_name((v).kind),        \
                 (v).why, rlc_verdict_name(k))

Test(monitor, verdict_converged) {
    rlc_verdict v = verdict_of("conv", "loss", converged_loss, 0);
    EXPECT(v, RLC_VERDICT_CONVERGED);
    cr_assert(strstr(v.why, "std/mean"), "%s", v.why); /* names the numbers */
}

Test(monitor, verdict_still_improving) {
    rlc_verdict v = verdict_of("impr", "loss", improving_loss, 0);
    EXPECT(v, RLC_VERDICT_IMPROVING);
    cr_assert(strstr(v.why, "slope"), "%s", v.why);
}

Test(monitor, verdict_oscillating) {
    rlc_verdict v = verdict_of("osc", "loss", oscillating_loss, 0);
    EXPECT(v, RLC_VERDICT_OSCILLATING);
}

Test(monitor, verdict_exploding_grad_norm) {
    rlc_verdict v = verdict_of("expl", "grad_norm", spiky_grad, 1);
    EXPECT(v, RLC_VERDICT_EXPLODING);
    cr_assert(strstr(v.why, "2 spikes"), "%s", v.why);
    cr_assert(strstr(v.why, "step 60"), "%s", v.why);
    /* the background grad norm of the other runs is stable */
    v = verdict_of("calm", "loss", converged_loss, 1);
    EXPECT(v, RLC_VERDICT_STABLE);
}

Test(monitor, verdict_stalled_and_converged_reward) {
    EXPECT(verdict_of("stall", "mean_reward", flat_reward, 2), RLC_VERDICT_STALLED);
    EXPECT(verdict_of("plateau", "mean_reward", rising_then_flat_reward, 2), RLC_VERDICT_CONVERGED);
}

Test(monitor, verdict_entropy_collapse_and_length_clipping) {
    EXPECT(verdict_of("ent", "entropy", collapsing_entropy, 3), RLC_VERDICT_ENTROPY_COLLAPSE);
    EXPECT(verdict_of("ent_ok", "loss", converged_loss, 3), RLC_VERDICT_OK);
    EXPECT(verdict_of("clip", "max_token_hit_rate", rising_clip, 4), RLC_VERDICT_LENGTH_CLIPPING);
    EXPECT(verdict_of("clip_ok", "max_token_hit_rate", low_clip, 4), RLC_VERDICT_OK);
    /* clipped from the start: flagged all the same, as high, not as rising */
    EXPECT(verdict_of("clip_all", "max_token_hit_rate", all_clipped, 4),
           RLC_VERDICT_LENGTH_CLIPPED);
}

Test(monitor, verdict_needs_enough_points) {
    double x[4] = {1, 2, NAN, 3};
    rlc_verdict_params p = rlc_verdict_default_params();
    EXPECT(rlc_verdict_loss(x, 4, &p), RLC_VERDICT_INSUFFICIENT);
}

Test(monitor, ema_weights_and_gaps) {
    double x[5] = {1, 1, NAN, 3, 3}, y[5];
    rlc_smooth_ema(x, 5, 0.5, y);
    cr_assert_float_eq(y[0], 1.0, 1e-12); /* bias-corrected: starts at the data */
    cr_assert(isnan(y[2]));
    /* after 1,1,3: s = 0.5*(0.5*0.5 + 0.5*1... ) -> weights 1/7, 2/7, 4/7 */
    cr_assert_float_eq(y[3], (1 * 1 + 1 * 2 + 3 * 4) / 7.0, 1e-12);
    double line[30], out[30];
    for (int i = 0; i < 30; i++)
        line[i] = 2 - 0.1 * i;
    rlc_smooth_ema2(line, 30, 0.1, out); /* a straight line comes back unchanged, no lag */
    for (int i = 0; i < 30; i++)
        cr_assert_float_eq(out[i], line[i], 1e-9);
}

Test(monitor, truncated_last_line_is_skipped_with_a_note) {
    const char *dir = write_run("trunc", 30, "loss", converged_loss, "{\"step\":30,\"loss\":1.");
    rlc_metrics *m = load(dir);
    cr_assert_eq(m->n_rows, 30);
    cr_assert_eq(m->n_notes, 1);
    cr_assert(strstr(m->notes[0], ":31: truncated last line"), "%s", m->notes[0]);
    cr_assert_float_eq(m->step[29], 29.0, 0);
    cr_assert_str_eq(m->condition, "grpo");
    rlc_metrics_free(m);
}

Test(monitor, null_and_missing_values_are_nan) {
    rlc_metrics *m;
    const char *text = "{\"step\":0,\"loss\":2,\"kl\":null}\n\n{\"step\":1,\"loss\":1.5}\n"
                       "not json\n{\"step\":2,\"loss\":1,\"kl\":0.1}\n";
    cr_assert_eq(rlc_metrics_parse("mem", text, &m), RLC_OK);
    cr_assert_eq(m->n_rows, 3);
    const double *kl = rlc_metrics_col(m, "kl");
    cr_assert(isnan(kl[0]) && isnan(kl[1]));
    cr_assert_float_eq(kl[2], 0.1, 1e-12);
    cr_assert_eq(m->n_notes, 1);
    cr_assert(strstr(m->notes[0], "mem:4:"), "%s", m->notes[0]);
    cr_assert_null(rlc_metrics_col(m, "entropy"));
    rlc_metrics_free(m);
    cr_assert_eq(rlc_metrics_parse("empty", "{\"step\":0", &m), RLC_ERR_FORMAT);
    cr_assert_eq(rlc_metrics_load(tmp_path("nope"), &m), RLC_ERR_NOT_FOUND);
}

Test(monitor, run_writes_valid_pngs_and_summary) {
    const char *dir = write_run("run", 80, "kl", rising_clip, "{\"step\":80,\"lo");
    char out[600], sum[600], png[700];
    snprintf(out, sizeof out, "%s/plots", dir);
    snprintf(sum, sizeof sum, "%s/summary.txt", dir);
    char *report;
    cr_assert_eq(rlc_monitor_run(dir, out, sum, &report), RLC_OK, "%s", rlc_last_error());
    cr_assert(strstr(report, "truncated last line"), "%s", report);
    cr_assert(strstr(report, "skipped samples.png"), "%s", report); /* no correct_rate */
    free(report);
    static const char *files[] = {"training_loss.png", "learning_rate.png", "gradient_norm.png",
                                  "rewards.png",       "policy.png",        "generation.png"};
    rlc_plot_params p = rlc_plot_default_params();
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(png, sizeof png, "%s/%s", out, files[k]);
        int w = 0, h = 0;
        cr_assert_eq(rlc_plot_png_size(png, &w, &h), RLC_OK, "%s", rlc_last_error());
        cr_assert(w == p.panel_w || w == 2 * p.panel_w, "%s: width %d", files[k], w);
        cr_assert_geq(h, p.panel_h, "%s: height %d", files[k], h);
    }
    snprintf(png, sizeof png, "%s/training_loss.png", out);
    int w, h;
    rlc_plot_png_size(png, &w, &h);
    cr_assert_eq(w, p.panel_w); /* one panel: loss */
    cr_assert_eq(h, p.panel_h);
    char *text;
    cr_assert_eq(rlc_read_file(sum, &text, NULL), RLC_OK);
    cr_assert(strstr(text, "total steps:    80"), "%s", text);
    cr_assert(strstr(text, "training time:  40.0 s"), "%s", text);
    cr_assert(strstr(text, "reduction"), "%s", text);
    cr_assert(strstr(text, "truncated last line"), "%s", text);
    cr_assert(strstr(text, "length clipping  ok"), "%s", text);
    free(text);
}

Test(monitor, compare_two_runs_writes_table_and_overlays) {
    const char *a = write_run("seed1", 40, "loss", converged_loss, "");
    const char *b = write_run("seed2", 50, "loss", improving_loss, "");
    const char *runs[] = {a, b}, *labels[] = {"seed 1", "seed 2"};
    char *report;
    const char *out = tmp_path("cmp");
    cr_assert_eq(rlc_monitor_compare(runs, labels, 2, out, &report), RLC_OK, "%s",
                 rlc_last_error());
    free(report);
    char path[700], *text;
    snprintf(path, sizeof path, "%s/compare.txt", out);
    cr_assert_eq(rlc_read_file(path, &text, NULL), RLC_OK);
    cr_assert(strstr(text, "seed 1") && strstr(text, "seed 2"), "%s", text);
    const char *row = strstr(text, "\nsteps");
    cr_assert_not_null(row, "%s", text);
    cr_assert(strstr(row, "40") && strstr(row, "50"), "%s", text);
    cr_assert(strstr(text, "converged") && strstr(text, "still improving"), "%s", text);
    free(text);
    snprintf(path, sizeof path, "%s/training_loss.png", out);
    int w, h;
    cr_assert_eq(rlc_plot_png_size(path, &w, &h), RLC_OK);
    cr_assert_gt(w, 0);
    /* a run that does not exist is an error naming it */
    const char *bad[] = {a, tmp_path("missing")};
    cr_assert_eq(rlc_monitor_compare(bad, NULL, 2, out, &report), RLC_ERR_NOT_FOUND);
    free(report);
    cr_assert(strstr(rlc_last_error(), "missing"), "%s", rlc_last_error());
}

/* A w_reinforce run: its sample-ratio verdict counts its own positives
 * (reward >= threshold), not correct_rate; groups of equal rewards do not
 * mean "no learning signal" there; nsr_metrics.png holds its ratio and
 * reward panels. An ordinary run writes no nsr_metrics.png. */
Test(monitor, signed_advantage_run_plots_and_judges_its_own_ratios) {
    const char *dir;
    FILE *f = create_metrics("wr", &dir);
    char out[700], sum[700], png[800];
    for (int i = 0; i < 40; i++) {
        int pos = 4 + (i % 3 == 0); /* 0.5-0.625 of 8: stable */
        fprintf(f,
                "{\"step\":%d,\"loss\":%.6g,\"grad_norm\":%.6g,\"mean_reward\":0.5,"
                "\"correct_rate\":0,\"total_count\":8,\"frac_reward_zero_std\":1,"
                "\"w_reinforce/positive_samples\":%d,\"w_reinforce/negative_samples\":%d,"
                "\"w_reinforce/pos_neg_ratio\":%.6g,\"w_reinforce/avg_reward\":0.5}\n",
                i, 1.0 + 0.01 * noise(i), 1.0 + 0.05 * noise(i + 7), pos, 8 - pos,
                pos / (8.0 - pos));
    }
    fclose(f);
    snprintf(out, sizeof out, "%s/plots", dir);
    snprintf(sum, sizeof sum, "%s/summary.txt", dir);
    char *report, *text;
    cr_assert_eq(rlc_monitor_run(dir, out, sum, &report), RLC_OK, "%s", rlc_last_error());
    free(report);
    snprintf(png, sizeof png, "%s/nsr_metrics.png", out);
    int w = 0, h = 0;
    rlc_plot_params p = rlc_plot_default_params();
    cr_assert_eq(rlc_plot_png_size(png, &w, &h), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(w, 2 * p.panel_w, "pos/neg ratio and average rewards side by side: %d", w);
    cr_assert_eq(rlc_read_file(sum, &text, NULL), RLC_OK);
    cr_assert(strstr(text, "sample ratios    stable"), "%s", text);
    cr_assert(strstr(text, "positive ratio 0.5"), "%s", text);
    cr_assert(!strstr(text, "learning signal"), "%s", text);
    cr_assert(!strstr(text, "no positive samples"), "%s", text);
    free(text);
    /* an ordinary GRPO run: no such figure */
    const char *plain = write_run("plain", 20, "kl", low_clip, "");
    snprintf(out, sizeof out, "%s/plots", plain);
    snprintf(sum, sizeof sum, "%s/summary.txt", plain);
    cr_assert_eq(rlc_monitor_run(plain, out, sum, &report), RLC_OK, "%s", rlc_last_error());
    free(report);
    snprintf(png, sizeof png, "%s/nsr_metrics.png", out);
    cr_assert(access(png, F_OK) != 0, "%s written for a grpo run", png);
}

/* A back pressure run gets backpressure.png: the batch it chose, the
 * throughput, the fitted optimum and the utilization, one panel each; a run
 * without it gets none. */
Test(monitor, backpressure_run_plots_its_batch_and_fit) {
    const char *dir;
    FILE *f = create_metrics("bp", &dir);
    char out[700], sum[700], png[800];
    for (int i = 0; i < 30; i++) {
        int batch = i < 10 ? 1 << (i % 5) : 12;
        fprintf(f,
                "{\"step\":%d,\"loss\":%.6g,\"mean_reward\":0.5,\"batch_size\":%d,"
                "\"bp_action\":0,\"bp_regime\":%d,\"backpressure/throughput\":%.6g%s}\n",
                i, 1.0 + 0.01 * noise(i), batch, i < 10 ? 0 : 4, 1000 + 10.0 * i,
                i < 3 ? "" : ",\"backpressure/p_star\":60,\"backpressure/utilization\":0.9");
    }
    fclose(f);
    snprintf(out, sizeof out, "%s/plots", dir);
    snprintf(sum, sizeof sum, "%s/summary.txt", dir);
    char *report;
    cr_assert_eq(rlc_monitor_run(dir, out, sum, &report), RLC_OK, "%s", rlc_last_error());
    cr_assert(strstr(report, "backpressure.png"), "%s", report);
    free(report);
    snprintf(png, sizeof png, "%s/backpressure.png", out);
    int w = 0, h = 0;
    rlc_plot_params p = rlc_plot_default_params();
    cr_assert_eq(rlc_plot_png_size(png, &w, &h), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(w, 2 * p.panel_w, "%d", w);
    cr_assert_geq(h, 2 * p.panel_h, "four panels in two rows: height %d", h);
    const char *plain = write_run("plain_bp", 20, "kl", low_clip, "");
    snprintf(out, sizeof out, "%s/plots", plain);
    snprintf(sum, sizeof sum, "%s/summary.txt", plain);
    cr_assert_eq(rlc_monitor_run(plain, out, sum, &report), RLC_OK, "%s", rlc_last_error());
    free(report);
    snprintf(png, sizeof png, "%s/backpressure.png", out);
    cr_assert(access(png, F_OK) != 0, "%s written for a run without back pressure", png);
}

/* A run that logged rubric criteria (every 2 steps) gets the heatmap and the
 * bar chart, whether or not its summary was written; others get neither. */
Test(monitor, rubric_criteria_get_a_heatmap_and_bars) {
    const char *dir = tmp_path("rub");
    cr_assert_eq(rlc_mkdir_p(dir), RLC_OK);
    char path[600], out[600], sum[600], png[700];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 6; i++) {
        fprintf(f, "{\"step\":%d,\"loss\":0.1,\"mean_reward\":0.5", i);
        if (i % 2 == 0)
            fprintf(f, ",\"criteria/style/correct_mean\":%g,\"criteria/style/format.tags_mean\":1",
                    i / 6.0);
        fputs("}\n", f);
    }
    fclose(f);
    snprintf(out, sizeof out, "%s/plots", dir);
    snprintf(sum, sizeof sum, "%s/summary.txt", dir);
    for (int with_summary = 0; with_summary < 2; with_summary++) {
        if (with_summary) {
            static const char *js = "{\"rubric\": \"style\", \"criteria\": ["
                                    "{\"criterion\": \"correct\", \"mean\": 0.25},"
                                    "{\"criterion\": \"format.tags\", \"mean\": 1}]}";
            snprintf(path, sizeof path, "%s/rubric_criteria_summary.json", dir);
            cr_assert_eq(rlc_write_file_atomic(path, js, strlen(js)), RLC_OK);
        }
        char *report;
        cr_assert_eq(rlc_monitor_run(dir, out, sum, &report), RLC_OK, "%s", rlc_last_error());
        cr_assert(strstr(report, "rubric_criteria.png\n"), "%s", report);
        cr_assert(strstr(report, "rubric_criteria_final.png\n"), "%s", report);
        free(report);
        int w, h;
        snprintf(png, sizeof png, "%s/rubric_criteria.png", out);
        cr_assert_eq(rlc_plot_png_size(png, &w, &h), RLC_OK);
        cr_assert(w == 1100 && h == 150 + 6 * 30, "%d x %d", w, h);
        snprintf(png, sizeof png, "%s/rubric_criteria_final.png", out);
        cr_assert_eq(rlc_plot_png_size(png, &w, &h), RLC_OK);
    }
    const char *plain = write_run("plain", 10, "kl", low_clip, "");
    snprintf(out, sizeof out, "%s/plots", plain);
    snprintf(sum, sizeof sum, "%s/summary.txt", plain);
    char *report;
    cr_assert_eq(rlc_monitor_run(plain, out, sum, &report), RLC_OK, "%s", rlc_last_error());
    cr_assert_null(strstr(report, "rubric"), "%s", report);
    free(report);
}

/* dir/metrics.jsonl of n steps with the system/... keys of a GRPO run (with
 * shares) or of an SFT run (without), or only the memory ones. */
static const char *write_system_run(const char *name, int n, int what) {
    const char *dir;
    FILE *f = create_metrics(name, &dir);
    for (int i = 0; i < n; i++) {
        fprintf(f, "{\"step\":%d,\"loss\":1,\"system/rss_mib\":%g,\"system/peak_rss_mib\":%g", i,
                100 + 0.5 * i, 100 + 0.5 * i + 3);
        if (what > 0)
            fprintf(f, ",\"system/cpu_cores\":%g,\"system/cpu_util\":%g,\"system/threads\":3",
                    1.5 + 0.1 * noise(i), (1.5 + 0.1 * noise(i)) / 2);
        if (what > 1)
            fprintf(f, ",\"system/gen_share\":%g,\"system/train_share\":%g", 0.6 + 0.05 * noise(i),
                    0.3 + 0.05 * noise(i + 1));
        fputs("}\n", f);
    }
    fclose(f);
    return dir;
}

static void png_size_of(const char *dir, const char *file, int *w, int *h) {
    char png[700];
    snprintf(png, sizeof png, "%s/%s", dir, file);
    cr_assert_eq(rlc_plot_png_size(png, w, h), RLC_OK, "%s: %s", png, rlc_last_error());
}

/* plots/system.png: memory (RSS and peak in one panel), CPU cores, threads
 * and the shares of step time (in one panel); left out when nothing was
 * logged; in compare mode one panel per metric. */
Test(monitor, system_png_has_the_system_panels) {
    rlc_plot_params p = rlc_plot_default_params();
    char *report;
    int w, h;
    const char *mem = write_system_run("mem", 12, 0);
    char out[700];
    snprintf(out, sizeof out, "%s/plots", mem);
    cr_assert_eq(rlc_monitor_run(mem, out, tmp_path("mem.txt"), &report), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert(strstr(report, "system.png"), "%s", report);
    free(report);
    png_size_of(out, "system.png", &w, &h);
    cr_assert(w == p.panel_w && h == p.panel_h, "one panel: %dx%d", w, h);

    const char *grpo = write_system_run("grpo", 12, 2);
    snprintf(out, sizeof out, "%s/plots", grpo);
    cr_assert_eq(rlc_monitor_run(grpo, out, tmp_path("grpo.txt"), &report), RLC_OK, "%s",
                 rlc_last_error());
    free(report);
    png_size_of(out, "system.png", &w, &h);
    cr_assert(w == 2 * p.panel_w && h >= 2 * p.panel_h && h < 3 * p.panel_h,
              "four panels in two columns: %dx%d", w, h);
    /* summary.txt: the highest peak and the mean cores busy */
    char *text;
    cr_assert_eq(rlc_read_file(tmp_path("grpo.txt"), &text, NULL), RLC_OK);
    double cores = 0;
    for (int i = 0; i < 12; i++)
        cores += (1.5 + 0.1 * noise(i)) / 12;
    char want[96];
    snprintf(want, sizeof want, "CPU cores busy: %.2f (mean over steps)\n", cores);
    cr_assert(strstr(text, "peak memory:    108.5 MiB resident\n"), "%s", text);
    cr_assert(strstr(text, want), "no '%s' in:\n%s", want, text);
    free(text);

    const char *sft = write_system_run("sft", 9, 1);
    const char *runs[] = {grpo, sft};
    snprintf(out, sizeof out, "%s/cmp", tmpdir);
    cr_assert_eq(rlc_monitor_compare(runs, NULL, 2, out, &report), RLC_OK, "%s", rlc_last_error());
    free(report);
    png_size_of(out, "system.png", &w, &h);
    cr_assert(w == 2 * p.panel_w && h >= 3 * p.panel_h, "six panels in two columns: %dx%d", w, h);

    /* a run from before the system metrics: no system.png, and the report says so */
    const char *old = write_run("old", 10, "kl", rising_clip, "");
    snprintf(out, sizeof out, "%s/plots", old);
    cr_assert_eq(rlc_monitor_run(old, out, tmp_path("old.txt"), &report), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert(strstr(report, "skipped system.png: the run logged no system/* metrics"), "%s",
              report);
    free(report);
    cr_assert_eq(access(tmp_path("old/plots/system.png"), F_OK), -1);
}
