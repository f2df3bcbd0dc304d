/* Back pressure (train/backpressure.h): the USL fit on synthetic throughput
 * curves X(p) = p / (a + b p + c p^2) with known sigma = (b + c) / (a + b + c)
 * and kappa = c / (a + b + c), exact and with noise (then also against
 * numpy's least squares on the same points); every regime and action reached
 * by a constructed curve; the throughput EMA, the warmup ladder, the window
 * and the batch limits. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/crc32c.h"
#include "train/backpressure.h"
#include "train/runconfig.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

TestSuite(backpressure, .init = tmpdir_setup, .fini = tmpdir_teardown);

typedef struct curve {
    double a, b, c;
} curve;

static double curve_x(curve k, double p) {
    return p / (k.a + k.b * p + k.c * p * p);
}
static double true_sigma(curve k) {
    return (k.b + k.c) / (k.a + k.b + k.c);
}
static double true_kappa(curve k) {
    return k.c / (k.a + k.b + k.c);
}

static void expect_rel(double got, double want, double tol, const char *what) {
    cr_expect(fabs(got - want) <= tol * fabs(want), "%s: %.10g, expected %.10g (rel tol %g)", what,
              got, want, tol);
}

/* splitmix64: the test's own noise, the same on every machine */
static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform(uint64_t *s) { /* [-1, 1) */
    return (double)(mix(s) >> 11) / 9007199254740992.0 * 2 - 1;
}

Test(backpressure, exact_curves_give_sigma_kappa_and_p_star) {
    /* the seed's form C(p) = lambda p / (1 + sigma (p-1) + kappa p (p-1)) is
     * a = (1 - sigma) / lambda, b = (sigma - kappa) / lambda, c = kappa / lambda */
    const double sk[][3] = {{0.05, 0.001, 500}, {0.3, 0.0002, 40}, {0.0, 0.01, 3}, {0.1, 0, 800}};
    for (size_t i = 0; i < sizeof sk / sizeof sk[0]; i++) {
        double sig = sk[i][0], kap = sk[i][1], lam = sk[i][2];
        curve k = {(1 - sig) / lam, (sig - kap) / lam, kap / lam};
        double p[16], x[16]; /* 4 .. 512, each twice */
        for (int j = 0; j < 16; j++)
            p[j] = 4 << (j % 8), x[j] = curve_x(k, p[j]);
        rlc_usl_fit f = rlc_usl_fit_points(p, x, 16);
        cr_assert(f.ok, "curve %zu: no fit", i);
        expect_rel(f.sigma, sig, 1e-9, "sigma");
        cr_expect(fabs(f.kappa - kap) <= 1e-9 * (kap + 1e-3), "kappa %.12g, expected %.12g",
                  f.kappa, kap);
        expect_rel(f.lambda, lam, 1e-9, "lambda");
        if (kap > 0)
            expect_rel(f.p_star, sqrt((1 - sig) / kap), 1e-8, "p*");
        else
            cr_expect(isinf(f.p_star), "kappa 0: p* %g, expected unbounded", f.p_star);
        /* the fitted curve is the curve */
        for (int j = 0; j < 8; j++)
            expect_rel(f.lambda * rlc_usl_relative(p[j], f.sigma, f.kappa), x[j], 1e-9, "X(p)");
    }
    /* throughput peaks at p*: its neighbours are lower */
    double ps = rlc_usl_p_star(0.05, 0.001);
    cr_expect_gt(rlc_usl_relative(ps, 0.05, 0.001), rlc_usl_relative(ps * 0.9, 0.05, 0.001));
    cr_expect_gt(rlc_usl_relative(ps, 0.05, 0.001), rlc_usl_relative(ps * 1.1, 0.05, 0.001));
}

Test(backpressure, too_few_concurrencies_give_no_fit) {
    /* two concurrencies */
    double p[] = {8, 8, 16, 16, 16}, x[] = {10, 11, 15, 16, 14};
    cr_expect_not(rlc_usl_fit_points(p, x, 5).ok);
    /* three, each seen twice: a fit */
    double p1[] = {8, 8, 16, 16, 32, 32}, x1[] = {10, 10.5, 15, 15.5, 20, 19};
    cr_expect(rlc_usl_fit_points(p1, x1, 6).ok);
    /* a step of no throughput is left out: 16 is seen once */
    double p2[] = {8, 8, 16, 16, 32, 32}, x2[] = {10, 10.5, 15, 0, 20, 19};
    cr_expect_not(rlc_usl_fit_points(p2, x2, 6).ok);
    /* three, but bunched (less than 1.25x apart): noise, not a curve */
    double p3[] = {40, 40, 44, 44, 48, 48}, x3[] = {10, 10.5, 15, 15.5, 20, 19};
    cr_expect_not(rlc_usl_fit_points(p3, x3, 6).ok);
}

/* numpy's least squares of y = p / x on (1, p, p^2) in relative error
 * (each row divided by its y): a b c written to argv[2] */
static const char *numpy_fit =
    "import sys, numpy as np\n"
    "d = np.loadtxt(sys.argv[1])\n"
    "p, x = d[:, 0], d[:, 1]\n"
    "y = p / x\n"
    "A = np.stack([np.ones_like(p), p, p * p], 1) / y[:, None]\n"
    "coef = np.linalg.lstsq(A, np.ones_like(p), rcond=None)[0]\n"
    "open(sys.argv[2], 'w').write('%.17g %.17g %.17g\\n' % tuple(coef))\n";

Test(backpressure, noisy_curve_within_5_percent_and_as_numpy) {
    /* p* = sqrt((1 - sigma) / kappa) ~ 64: the window spans both sides */
    const curve k = {1e-3, 4e-5, 2.4e-7};
    uint64_t rng = 16;
    enum { N = RLC_BP_WINDOW };
    double p[N], x[N];
    for (int i = 0; i < N; i++) {
        p[i] = 4 * (1 + i % 48);                              /* 4 .. 192 */
        x[i] = curve_x(k, p[i]) * (1 + 0.02 * uniform(&rng)); /* +-2% */
    }
    rlc_usl_fit f = rlc_usl_fit_points(p, x, N);
    cr_assert(f.ok);
    expect_rel(f.sigma, true_sigma(k), 0.05, "sigma (2% noise)");
    expect_rel(f.kappa, true_kappa(k), 0.05, "kappa (2% noise)");
    expect_rel(f.p_star, sqrt((1 - true_sigma(k)) / true_kappa(k)), 0.05, "p* (2% noise)");

    char in[600], out[600];
    snprintf(in, sizeof in, "%s", tmp_path("points.txt"));
    snprintf(out, sizeof out, "%s", tmp_path("numpy.txt"));
    FILE *fp = fopen(in, "w");
    cr_assert_not_null(fp);
    for (int i = 0; i < N; i++)
        fprintf(fp, "%.17g %.17g\n", p[i], x[i]);
    fclose(fp);
    cr_assert_eq(th_python_script(numpy_fit, in, out), 0, "numpy reference failed");
    double ref[3];
    fp = fopen(out, "r");
    cr_assert_not_null(fp);
    cr_assert_eq(fscanf(fp, "%lf %lf %lf", &ref[0], &ref[1], &ref[2]), 3);
    fclose(fp);
    expect_rel(f.a, ref[0], 1e-6, "a vs numpy");
    expect_rel(f.b, ref[1], 1e-6, "b vs numpy");
    expect_rel(f.c, ref[2], 1e-6, "c vs numpy");
}

/* One step of `batch` prompts whose throughput is `scale` x the curve's. */
static rlc_bp_decision step(const rlc_bp_params *bp, rlc_bp_state *s, curve k, double scale) {
    rlc_bp_decision d;
    double p = (double)s->batch * bp->group, tokens = 1000;
    rlc_bp_observe(bp, s, s->batch, tokens, tokens / (curve_x(k, p) * scale), &d);
    return d;
}

static rlc_bp_params params(int warmup, int min_b, int max_b, int group) {
    rlc_bp_params bp = rlc_bp_default_params();
    bp.warmup_steps = warmup, bp.min_batch = min_b, bp.max_batch = max_b, bp.group = group;
    return bp;
}

Test(backpressure, defaults_are_the_seeds) {
    rlc_bp_params bp = rlc_bp_default_params();
    cr_expect_eq(bp.warmup_steps, 10);
    cr_expect_eq(bp.ema_decay, 0.9);
    cr_expect_eq(bp.throttle_margin, 0.85);
    cr_expect_eq(bp.increase_margin, 0.5);
    cr_expect_eq(bp.min_batch, 1);
    cr_expect_eq(bp.max_batch, 64);
    const char *acts[] = {"hold", "throttle", "increase"};
    for (int i = 0; i < RLC_BP_N_ACTIONS; i++)
        cr_expect_str_eq(rlc_bp_action_name((rlc_bp_action)i), acts[i]);
    const char *regs[] = {"warmup", "retrograde", "memory_bound", "compute_bound", "optimal"};
    for (int i = 0; i < RLC_BP_N_REGIMES; i++)
        cr_expect_str_eq(rlc_bp_regime_name((rlc_bp_regime)i), regs[i]);
}

Test(backpressure, warmup_climbs_the_ladder_and_holds) {
    rlc_bp_params bp = params(9, 2, 20, 4);
    rlc_bp_state s;
    rlc_bp_init(&bp, &s);
    const curve k = {1e-3, 1e-4, 2e-6};
    /* 2, 4, 8, 16, then the cap 20, then again; the last warmup step keeps its batch */
    const int want[] = {2, 4, 8, 16, 20, 2, 4, 8, 16, 16};
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(s.batch, want[i], "warmup step %d: batch %d, expected %d", i, s.batch,
                     want[i]);
        rlc_bp_decision d = step(&bp, &s, k, 1);
        cr_expect_eq(d.regime, RLC_BP_WARMUP);
        cr_expect_eq(d.action, RLC_BP_HOLD);
        cr_expect_eq(d.warmup, 1);
        cr_expect(isnan(d.utilization));
        /* a fit needs three concurrencies seen twice each: 2, 4 and 8 from step 7 */
        cr_expect_eq(isnan(d.sigma), i < 7, "step %d: sigma %g", i, d.sigma);
        cr_expect_eq(d.batch, want[i + 1]);
    }
    rlc_bp_decision d = step(&bp, &s, k, 1);
    cr_expect_eq(d.warmup, 0);
    cr_expect_neq(d.regime, RLC_BP_WARMUP);
}

Test(backpressure, ema_of_the_throughput) {
    rlc_bp_params bp = params(3, 1, 8, 2);
    bp.ema_decay = 0.75;
    rlc_bp_state s;
    rlc_bp_init(&bp, &s);
    const double tput[] = {100, 300, 200, 50};
    double ema = 0;
    for (int i = 0; i < 4; i++) {
        rlc_bp_decision d;
        rlc_bp_observe(&bp, &s, s.batch, tput[i] * 2.5, 2.5, &d);
        ema = i ? 0.75 * ema + 0.25 * tput[i] : tput[i];
        expect_rel(d.throughput, ema, 1e-12, "EMA");
    }
    /* a step without tokens (or time) changes neither the EMA nor the window */
    rlc_bp_decision d;
    rlc_bp_observe(&bp, &s, s.batch, 0, 1, &d);
    expect_rel(d.throughput, ema, 1e-12, "EMA after an empty step");
    cr_expect_eq(s.n, 4);
    cr_expect_eq(s.steps, 5);
}

Test(backpressure, window_keeps_the_last_100_steps) {
    rlc_bp_params bp = params(3, 1, 64, 1);
    rlc_bp_state s;
    rlc_bp_init(&bp, &s);
    rlc_bp_decision d;
    for (int i = 0; i < 150; i++)
        rlc_bp_observe(&bp, &s, 1 + i % 64, 1000, 1 + i, &d);
    cr_assert_eq(s.n, RLC_BP_WINDOW);
    cr_expect_eq(s.p[0], 1 + 50 % 64); /* the 51st step is the oldest kept */
    cr_expect_eq(s.x[0], 1000.0 / 51);
    cr_expect_eq(s.p[RLC_BP_WINDOW - 1], 1 + 149 % 64);
}

/* Warms up on the curve, then lets the controller run: the batch it settles on. */
static int settle(const rlc_bp_params *bp, rlc_bp_state *s, curve k, int steps,
                  rlc_bp_decision *last) {
    rlc_bp_init(bp, s);
    for (int i = 0; i < steps; i++)
        *last = step(bp, s, k, 1);
    return s->batch;
}

Test(backpressure, retrograde_throttles_to_the_target) {
    /* p* = sqrt(0.9074 / 0.0018149) = 22.36 with groups of 4: the target
     * 0.85 p* = 19.0 is 4 prompts; the warmup climbs 1..16 twice and ends at
     * 16 (p = 64) */
    const curve k = {1e-3, 1e-4, 2e-6};
    rlc_bp_params bp = params(10, 1, 16, 4);
    bp.ema_decay = 0;
    rlc_bp_state s;
    rlc_bp_decision d;
    settle(&bp, &s, k, 10, &d);
    cr_assert_eq(s.batch, 16);
    d = step(&bp, &s, k, 1);
    cr_expect_eq(d.regime, RLC_BP_RETROGRADE);
    cr_expect_eq(d.action, RLC_BP_THROTTLE);
    expect_rel(d.p_star, 22.360679774997898, 1e-9, "p*");
    cr_expect_eq(d.batch, 4, "throttled to %d prompts, expected floor(0.85 p* / 4) = 4", d.batch);
    /* there it holds: below the target, above half of it, at the model's throughput */
    d = step(&bp, &s, k, 1);
    cr_expect_eq(d.regime, RLC_BP_OPTIMAL);
    cr_expect_eq(d.action, RLC_BP_HOLD);
    cr_expect_eq(d.batch, 4);
    /* utilization: throughput at p = 16 over the peak at p* */
    expect_rel(d.utilization, curve_x(k, 16) / curve_x(k, 22.360679774997898), 1e-9, "utilization");
}

Test(backpressure, far_below_the_target_increases) {
    /* p* = 64.0 (groups of 2): target 0.85 p* = 54.4, so 27 prompts; the
     * warmup climbs 1..64 twice, then the batch is set to 2 (p = 4) */
    const curve k = {1e-3, 4e-5, 2.4e-7};
    rlc_bp_params bp = params(14, 1, 64, 2);
    bp.ema_decay = 0;
    rlc_bp_state s;
    rlc_bp_decision d;
    settle(&bp, &s, k, 14, &d);
    s.batch = 2;
    d = step(&bp, &s, k, 1);
    cr_expect_eq(d.action, RLC_BP_INCREASE, "action %s", rlc_bp_action_name(d.action));
    expect_rel(d.p_star, sqrt((1 - true_sigma(k)) / true_kappa(k)), 1e-9, "p*");
    cr_expect_eq(d.batch, (int)floor(0.85 * d.p_star / 2));
    /* above increase_margin x target it holds (hysteresis) */
    rlc_bp_state t = s;
    t.batch = 16; /* p = 32 > 0.5 x 54.4 */
    d = step(&bp, &t, k, 1);
    cr_expect_eq(d.action, RLC_BP_HOLD);
    cr_expect_eq(d.batch, 16);
}

Test(backpressure, throughput_against_the_model_sets_the_regime) {
    /* a long warmup fills the window (14 points per rung), so that one odd
     * step moves the fit little */
    const curve k = {1e-3, 4e-5, 2.4e-7};
    rlc_bp_params bp = params(98, 1, 64, 2);
    bp.ema_decay = 0; /* the EMA is the step's throughput */
    rlc_bp_state s, t;
    rlc_bp_decision d;
    settle(&bp, &s, k, 98, &d);
    s.batch = 20; /* p = 40: between half the target and the target */
    t = s;
    d = step(&bp, &t, k, 1);
    cr_expect_eq(d.regime, RLC_BP_OPTIMAL);
    cr_expect_eq(d.action, RLC_BP_HOLD);
    t = s;
    d = step(&bp, &t, k, 1.5); /* faster than the fit: headroom */
    cr_expect_eq(d.regime, RLC_BP_MEMORY_BOUND, "regime %s", rlc_bp_regime_name(d.regime));
    cr_expect_eq(d.action, RLC_BP_HOLD, "action %s, p* %g", rlc_bp_action_name(d.action), d.p_star);
    t = s;
    d = step(&bp, &t, k, 0.5); /* slower than the fit: degrading, but not past the target */
    cr_expect_eq(d.regime, RLC_BP_RETROGRADE, "regime %s", rlc_bp_regime_name(d.regime));
    cr_expect_eq(d.action, RLC_BP_HOLD, "action %s, p* %g", rlc_bp_action_name(d.action), d.p_star);
}

Test(backpressure, roofline_hint_sets_compute_or_memory_bound) {
    /* no coherency term (c = 0): p* unbounded, never retrograde by the target */
    const curve k = {1e-3, 1e-4, 0};
    rlc_bp_params bp = params(14, 1, 64, 2);
    bp.peak_gflops = 100, bp.peak_bw_gb_s = 10, bp.weight_bytes = 4; /* ridge 10 FLOP/byte */
    rlc_bp_state s, t;
    rlc_bp_decision d;
    settle(&bp, &s, k, 14, &d);
    s.batch = 4; /* p = 8: intensity 2 x 8 / 4 = 4 < 10 */
    t = s;
    d = step(&bp, &t, k, 1);
    cr_expect(isinf(d.p_star));
    cr_expect_eq(d.regime, RLC_BP_MEMORY_BOUND, "regime %s", rlc_bp_regime_name(d.regime));
    /* p = 8 is far below the target, the largest batch */
    cr_expect_eq(d.action, RLC_BP_INCREASE);
    cr_expect_eq(d.batch, 64);
    s.batch = 40; /* p = 80: intensity 40 >= 10 */
    t = s;
    d = step(&bp, &t, k, 1);
    cr_expect_eq(d.regime, RLC_BP_COMPUTE_BOUND, "regime %s", rlc_bp_regime_name(d.regime));
    cr_expect_eq(d.action, RLC_BP_HOLD);
    /* BF16 weights halve the bytes: p = 8 is then at intensity 8, still below */
    bp.weight_bytes = 2;
    s.batch = 5; /* p = 10: 2 x 10 / 2 = 10 reaches the ridge */
    t = s;
    d = step(&bp, &t, k, 1);
    cr_expect_eq(d.regime, RLC_BP_COMPUTE_BOUND, "regime %s", rlc_bp_regime_name(d.regime));
}

Test(backpressure, batch_stays_within_min_and_max) {
    /* p* ~ 22 with groups of 4 is 4 prompts, below min_batch 6: throttled to 6 */
    const curve k = {1e-3, 1e-4, 2e-6};
    rlc_bp_params bp = params(8, 6, 30, 4); /* the ladder 6, 12, 24, 30 twice */
    rlc_bp_state s;
    rlc_bp_decision d;
    int b = settle(&bp, &s, k, 40, &d);
    cr_expect_eq(b, 6, "settled at %d prompts, expected min_batch 6", b);
    /* throughput that only grows (c = 0): increased to max_batch 30, never beyond */
    const curve lin = {1e-3, 1e-4, 0};
    bp = params(12, 1, 30, 4);
    b = settle(&bp, &s, lin, 40, &d);
    cr_expect_eq(b, 30, "settled at %d prompts, expected max_batch 30", b);
    /* min = max: nothing to choose */
    bp = params(4, 7, 7, 4);
    b = settle(&bp, &s, k, 20, &d);
    cr_expect_eq(b, 7);
    cr_expect(isnan(d.sigma), "one concurrency cannot be fitted");
}

Test(backpressure, settles_at_the_largest_batch_below_the_target) {
    /* the noisy curve from warmup to steady state: the batch ends within one
     * prompt of floor(0.85 p* / G) of the true p* and stays there, also once
     * the warmup's points have left the window (then the last fit stays) */
    const curve k = {1e-3, 4e-5, 2.4e-7};
    rlc_bp_params bp = params(10, 1, 64, 2);
    rlc_bp_state s;
    rlc_bp_init(&bp, &s);
    uint64_t rng = 7;
    int last = -1, changes_late = 0;
    for (int i = 0; i < 200; i++) {
        rlc_bp_decision d = step(&bp, &s, k, 1 + 0.02 * uniform(&rng));
        if (i >= 100 && d.batch != last) changes_late++;
        last = d.batch;
    }
    int want = (int)floor(0.85 * sqrt((1 - true_sigma(k)) / true_kappa(k)) / 2);
    cr_expect(abs(last - want) <= 1, "settled at %d prompts, expected %d +- 1", last, want);
    cr_expect_eq(changes_late, 0, "the batch still moved %d times after step 100", changes_late);
}

/* backpressure.* keys: the seed's defaults in the config, ranges refused with
 * the key named (the cross-key rules are in runconfig/validation_rules). */
Test(backpressure, config_keys_default_and_ranges) {
    rlc_run_config c = rlc_run_config_default();
    cr_expect_eq(c.backpressure.enabled, 0);
    cr_expect_eq(c.backpressure.warmup_steps, 10);
    cr_expect_eq(c.backpressure.ema_decay, 0.9);
    cr_expect_eq(c.backpressure.throttle_margin, 0.85);
    cr_expect_eq(c.backpressure.increase_margin, 0.5);
    cr_expect_eq(c.backpressure.min_batch_size, 1);
    cr_expect_eq(c.backpressure.max_batch_size, 64);
    cr_expect_eq(c.backpressure.peak_gflops, 0);
    cr_expect_eq(c.backpressure.peak_bw_gb_s, 0);
    const char *bad[][2] = {
        {"backpressure.throttle_margin=0", "backpressure.throttle_margin"},
        {"backpressure.throttle_margin=1.5", "backpressure.throttle_margin"},
        {"backpressure.increase_margin=0", "backpressure.increase_margin"},
        {"backpressure.ema_decay=1.1", "backpressure.ema_decay"},
        {"backpressure.warmup_steps=2", "backpressure.warmup_steps"},
        {"backpressure.min_batch_size=0", "backpressure.min_batch_size"},
        {"backpressure.peak_gflops=-1", "backpressure.peak_gflops"},
        {"backpressure.enabled=maybe", "backpressure.enabled"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_neq(rlc_run_config_set(&c, bad[i][0]), RLC_OK, "accepted %s", bad[i][0]);
        cr_expect(strstr(rlc_last_error(), bad[i][1]), "'%s' does not name %s", rlc_last_error(),
                  bad[i][1]);
    }
    cr_expect_eq(c.backpressure.throttle_margin, 0.85, "a refused value is not kept");
    rlc_run_config_free(&c);
}

/* trainer_state.json's "backpressure" object edited (and the manifest's
 * checksum with it, as a hand edit that passes verification would be):
 * resuming refuses it with one line naming the file and the field. */
static void edit_state(const char *ckpt, const char *from, const char *to) {
    char path[700], man[700];
    snprintf(path, sizeof path, "%s/trainer_state.json", ckpt);
    snprintf(man, sizeof man, "%s/manifest.json", ckpt);
    char *t = th_slurp(path), *at = t ? strstr(t, from) : NULL;
    cr_assert_not_null(at, "%s lacks %s", path, from);
    char edited[16384];
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - t), t, to, at + strlen(from));
    free(t);
    th_write_text(path, edited);
    json_t *m = json_load_file(man, 0, NULL);
    json_t *f = json_object_get(json_object_get(m, "files"), "trainer_state.json");
    cr_assert_not_null(f, "%s has no trainer_state.json entry", man);
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", rlc_crc32c(0, edited, strlen(edited)));
    json_object_set_new(f, "bytes", json_integer((json_int_t)strlen(edited)));
    json_object_set_new(f, "crc32c", json_string(crc));
    cr_assert_eq(json_dump_file(m, man, JSON_INDENT(2)), 0);
    json_decref(m);
}

Test(backpressure, damaged_state_is_refused_naming_the_field) {
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s%s", TH_TINY_GRPO_YAML("runs", "bp"),
             "backpressure: {enabled: true, warmup_steps: 3, min_batch_size: 1, "
             "max_batch_size: 4}\n");
    char *c = strstr(cfg, "checkpoint: {save_every: 0}");
    cr_assert_not_null(c);
    memcpy(c, "checkpoint: {save_every: 2}", 27);
    th_write_text(tmp_path("bp.yaml"), cfg);
    cr_assert_eq(th_rlc_run(tmpdir, th_rlc_bin_abs(), "train bp.yaml"), 0);
    char *st = th_slurp(tmp_path("runs/bp/checkpoints/checkpoint-2/trainer_state.json"));
    cr_assert_not_null(st);
    cr_expect(strstr(st, "\"backpressure\": {\"steps\": 2, \"batch\": 4,"), "%s", st);
    free(st);
    /* each case edits the saved state and manifest afresh */
    char ckpt[600], sp[700], mp[700];
    snprintf(ckpt, sizeof ckpt, "%s", tmp_path("runs/bp/checkpoints/checkpoint-2"));
    snprintf(sp, sizeof sp, "%s/trainer_state.json", ckpt);
    snprintf(mp, sizeof mp, "%s/manifest.json", ckpt);
    char *state0 = th_slurp(sp), *man0 = th_slurp(mp);
    cr_assert(state0 && man0);
    static const char *const cases[][3] = {
        {"\"batch\": 4,", "\"batch\": 9,", "\"batch\" (an integer from"},
        {"\"ema\": ", "\"ema\": \"fast\", \"was\": ",
         "\"backpressure\".\"ema\": expected a number"},
        {"\"p\": [", "\"p\": [8, ", "\"p\" and \"x\", arrays of equal length"},
        {"\"p\": [2, ", "\"p\": [-2, ", "\"p\"[0] and \"x\"[0] must be numbers > 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_write_text(sp, state0);
        th_write_text(mp, man0);
        edit_state(ckpt, cases[i][0], cases[i][1]);
        int rc = th_rlc_run(tmpdir, th_rlc_bin_abs(), "train bp.yaml training.steps=6");
        char *err = th_slurp(tmp_path("err.txt"));
        cr_assert_not_null(err);
        cr_assert_neq(rc, 0, "case %zu: resumed from an edited state: %s", i, err);
        cr_expect(strstr(err, "checkpoint-2/trainer_state.json") && strstr(err, cases[i][2]),
                  "case %zu: %s", i, err);
        free(err);
    }
    free(state0);
    free(man0);
}
