#include "base/rng.h"
#include "helpers.h"
#include "tensor/cpu_kernels.h"
#include "train/optim.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The backend table is assembled elsewhere; these tests need only the three
 * optimizer kernels. */
static rlc_backend test_backend(void) {
    rlc_backend be;
    memset(&be, 0, sizeof be);
    be.name = "optim-test";
    be.adamw = rlc_cpu_adamw;
    be.sumsq = rlc_cpu_sumsq;
    be.scale = rlc_cpu_scale;
    return be;
}

/* Runs `script` under /usr/bin/python3 with argv[1] = in, argv[2] = out. A
 * missing interpreter or torch makes the test fail, never skip. */
static void run_python(const char *script, const char *in, const char *out) {
    int rc = th_python_script(script, in, out);
    cr_assert_eq(rc, 0, "python reference failed (rc %d): /usr/bin/python3 with torch is required",
                 rc);
}

static FILE *temp_file(char *path) {
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w+b");
    cr_assert(f);
    return f;
}

/* |got - want| <= rtol |want| + rms_tol * rms(want). */
static void assert_close(const float *got, const double *want, size_t n, double rtol,
                         double rms_tol, const char *what) {
    double rms = 0;
    for (size_t i = 0; i < n; i++)
        rms += want[i] * want[i];
    rms = sqrt(rms / n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= rtol * fabs(want[i]) + rms_tol * rms,
                  "%s[%zu]: got %.9g want %.9g", what, i, got[i], want[i]);
}

static const char *torch_adamw_script =
    "import sys, struct, numpy as np, torch\n"
    "torch.set_num_threads(1)\n"
    "raw = open(sys.argv[1], 'rb').read()\n"
    "n, steps = struct.unpack_from('<ii', raw, 0)\n"
    "b1, b2, eps, wd, clip = struct.unpack_from('<5d', raw, 8)\n"
    "off = 48\n"
    "lrs = np.frombuffer(raw, '<f8', steps, off); off += 8 * steps\n"
    "p0 = np.frombuffer(raw, '<f4', n, off); off += 4 * n\n"
    "g = np.frombuffer(raw, '<f4', n * steps, off).reshape(steps, n)\n"
    "p = torch.nn.Parameter(torch.tensor(p0.copy()))\n"
    "opt = torch.optim.AdamW([p], lr=float(lrs[0]), betas=(b1, b2), eps=eps, weight_decay=wd,\n"
    "                        foreach=False)\n"
    "norms = []\n"
    "for s in range(steps):\n"
    "    for grp in opt.param_groups: grp['lr'] = float(lrs[s])\n"
    "    p.grad = torch.tensor(g[s].copy())\n"
    "    if clip > 0:\n"
    "        norms.append(float(torch.nn.utils.clip_grad_norm_([p], clip)))\n"
    "    else:\n"
    "        norms.append(float(p.grad.norm()))\n"
    "    opt.step()\n"
    "st = opt.state[p]\n"
    "out = np.concatenate([np.array(norms), p.detach().double().numpy(),\n"
    "                      st['exp_avg'].double().numpy(), st['exp_avg_sq'].double().numpy()])\n"
    "open(sys.argv[2], 'wb').write(out.astype('<f8').tobytes())\n";

/* Five AdamW steps with clipping against torch.optim.AdamW + clip_grad_norm_. */
static void compare_with_torch(float max_norm, float grad_scale, float wd, int clips) {
    enum { n = 1000, steps = 5 };
    rlc_adamw_params hp = rlc_adamw_default_params();
    hp.lr = 1e-3f;
    hp.weight_decay = wd;
    hp.max_grad_norm = max_norm;
    const float lrs[steps] = {1e-3f, 2e-3f, 3e-3f, 2.5e-3f, 1e-3f};
    static float p[n], g[steps][n], gcopy[n];
    rlc_rng_fill_normal(p, n, 1.0f, 17, 1, 0);
    for (int s = 0; s < steps; s++)
        rlc_rng_fill_normal(g[s], n, grad_scale, 17, 2 + s, 0);

    char in[] = "/tmp/rlc_test_in_XXXXXX", out[] = "/tmp/rlc_test_out_XXXXXX";
    FILE *f = temp_file(in);
    int hdr[2] = {n, steps};
    /* Hyperparameters as the doubles of our floats, so both sides see the
     * same values. */
    double d[5] = {hp.beta1, hp.beta2, hp.eps, hp.weight_decay, hp.max_grad_norm};
    double dl[steps];
    for (int s = 0; s < steps; s++)
        dl[s] = lrs[s];
    fwrite(hdr, sizeof hdr, 1, f);
    fwrite(d, sizeof d, 1, f);
    fwrite(dl, sizeof dl, 1, f);
    fwrite(p, sizeof p, 1, f);
    fwrite(g, sizeof g, 1, f);
    fclose(f);
    fclose(temp_file(out));
    run_python(torch_adamw_script, in, out);

    static double want[steps + 3 * n];
    f = fopen(out, "rb");
    cr_assert(f);
    size_t got_n = fread(want, sizeof(double), steps + 3 * n, f);
    fclose(f);
    unlink(in);
    unlink(out);
    cr_assert_eq(got_n, (size_t)(steps + 3 * n), "torch output truncated (%zu values)", got_n);

    rlc_backend be = test_backend();
    rlc_adamw opt;
    cr_assert_eq(rlc_adamw_init(&opt, n, hp), RLC_OK);
    float norms[steps];
    for (int s = 0; s < steps; s++) {
        memcpy(gcopy, g[s], sizeof gcopy);
        rlc_adamw_step(&opt, &be, p, gcopy, lrs[s], &norms[s]);
    }
    cr_assert_eq(opt.t, steps);
    for (int s = 0; s < steps; s++)
        cr_assert(fabs(norms[s] - want[s]) <= 1e-6 * want[s], "norm %d: %.9g vs torch %.9g", s,
                  norms[s], want[s]);
    for (int s = 0; s < steps; s++)
        cr_assert_eq(want[s] > max_norm && max_norm > 0, clips, "step %d: norm %g, clip %g", s,
                     want[s], max_norm);
    /* p and v: 1e-6 relative per element. m is a running sum of signed
     * gradients, so elements that cancel to near zero are judged against the
     * tensor's scale: 1e-6 of its RMS (observed errors are ~3e-7, from torch's
     * fused multiply-adds and its fp32 norm). */
    assert_close(p, want + steps, n, 1e-6, 0, "param");
    assert_close(opt.m, want + steps + n, n, 0, 1e-6, "exp_avg");
    assert_close(opt.v, want + steps + 2 * n, n, 1e-6, 0, "exp_avg_sq");
    rlc_adamw_free(&opt);
}

Test(optim, adamw_clipped_matches_torch) {
    compare_with_torch(1.0f, 1.0f, 0.1f, 1);
}

Test(optim, adamw_unclipped_matches_torch) {
    /* Norm ~ 0.3 under max_norm 1: clipping must leave the gradient alone. */
    compare_with_torch(1.0f, 0.01f, 0.01f, 0);
}

Test(optim, adamw_no_clip_matches_torch) {
    compare_with_torch(0.0f, 3.0f, 0.0f, 0);
}

Test(optim, adamw_kernel_first_step_by_hand) {
    /* t = 1: mhat = g, vhat = g^2, so p' = p (1 - lr wd) - lr g / (|g| + eps). */
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, -4.0f, 0.0f}, m[3] = {0}, v[3] = {0};
    rlc_cpu_adamw(p, g, m, v, 3, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    const double want[3] = {1.0 * 0.95 - 0.1, -2.0 * 0.95 + 0.1, 0.5 * 0.95};
    for (int i = 0; i < 3; i++)
        cr_assert(fabs(p[i] - want[i]) < 1e-6, "p[%d] = %.8f", i, p[i]);
    cr_assert(fabs(m[1] - (-4.0 * (1.0 - (double)0.9f))) < 1e-7, "m %.9g", m[1]);
    cr_assert(fabs(v[1] - 16.0 * (1.0 - (double)0.999f)) < 1e-9, "v %.9g", v[1]);
}

Test(optim, adamw_kernel_threads_agree) {
    /* Elementwise, so any split over threads gives identical bits. */
    enum { n = 100000 };
    float *a = malloc(4 * n * sizeof(float)), *b = malloc(4 * n * sizeof(float));
    cr_assert(a && b);
    rlc_rng_fill_normal(a, 2 * n, 1.0f, 3, 0, 0);
    for (int i = 2 * n; i < 4 * n; i++)
        a[i] = 0;
    memcpy(b, a, 4 * n * sizeof(float));
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    rlc_cpu_adamw(a, a + n, a + 2 * n, a + 3 * n, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
    omp_set_num_threads(3);
    rlc_cpu_adamw(b, b + n, b + 2 * n, b + 3 * n, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
    omp_set_num_threads(saved);
    cr_assert_eq(memcmp(a, b, 4 * n * sizeof(float)), 0);
    free(a);
    free(b);
}

Test(optim, sumsq_exact_and_thread_independent) {
    enum { n = 300001 };
    float *x = malloc(n * sizeof *x);
    cr_assert(x);
    rlc_rng_fill_normal(x, n, 2.0f, 5, 0, 0);
    long double ref = 0;
    for (int i = 0; i < n; i++)
        ref += (long double)x[i] * x[i];
    int saved = omp_get_max_threads();
    double r[4];
    for (int t = 1; t <= 4; t++) {
        omp_set_num_threads(t);
        r[t - 1] = rlc_cpu_sumsq(x, n);
    }
    omp_set_num_threads(saved);
    for (int t = 0; t < 4; t++)
        cr_assert_eq(r[t], r[0], "threads %d: %.17g vs %.17g", t + 1, r[t], r[0]);
    cr_assert(fabsl(r[0] - ref) <= 1e-12L * ref, "%.17g vs %.17Lg", r[0], ref);
    cr_assert_eq(rlc_cpu_sumsq(x, 0), 0.0);
    float three[3] = {1, 2, 3};
    cr_assert_eq(rlc_cpu_sumsq(three, 3), 14.0);
    free(x);
}

Test(optim, scale_multiplies) {
    enum { n = 50000 };
    float *x = malloc(n * sizeof *x);
    cr_assert(x);
    for (int i = 0; i < n; i++)
        x[i] = (float)i;
    rlc_cpu_scale(x, 0.5f, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(x[i], 0.5f * (float)i);
    free(x);
}

Test(optim, init_free_and_defaults) {
    rlc_adamw_params d = rlc_adamw_default_params();
    cr_assert_eq(d.lr, 1e-4f);
    cr_assert_eq(d.beta1, 0.9f);
    cr_assert_eq(d.beta2, 0.999f);
    cr_assert_eq(d.eps, 1e-8f);
    cr_assert_eq(d.weight_decay, 0.0f);
    cr_assert_eq(d.max_grad_norm, 1.0f);
    rlc_adamw opt;
    cr_assert_eq(rlc_adamw_init(&opt, 1001, d), RLC_OK);
    cr_assert_eq(opt.v, opt.m + 1001);
    cr_assert_eq(opt.t, 0);
    for (int i = 0; i < 2002; i++)
        cr_assert_eq(opt.m[i], 0.0f);
    rlc_adamw_free(&opt);
    cr_assert_null(opt.m);
    rlc_adamw_free(&opt); /* twice is harmless */
    rlc_adamw_free(NULL);
    cr_assert_eq(rlc_adamw_init(&opt, 0, d), RLC_OK);
    rlc_adamw_free(&opt);
}

Test(optim, nonfinite_norm_is_reported_not_applied) {
    float p[2] = {1, 1}, g[2] = {INFINITY, 1};
    rlc_adamw opt;
    rlc_backend be = test_backend();
    cr_assert_eq(rlc_adamw_init(&opt, 2, rlc_adamw_default_params()), RLC_OK);
    float norm = 0;
    rlc_adamw_step(&opt, &be, p, g, 1e-3f, &norm);
    cr_assert(isinf(norm));
    cr_assert_eq(g[1], 1.0f, "gradient was scaled by a non-finite coefficient");
    rlc_adamw_free(&opt);
}

/* HF transformers.optimization lambdas, transcribed: linear and cosine (with
 * min_lr_rate as in get_cosine_with_min_lr_schedule_with_warmup); constant
 * with warmup. rlc's warmup gives (step+1)/warmup, which is HF's lambda at
 * step+1, and rlc holds the floor past total_steps. */
static const char *hf_schedule_script =
    "import sys, math\n"
    "kind, warm, total, floor, peak, nsteps = open(sys.argv[1]).read().split()\n"
    "warm, total, nsteps = int(warm), int(total), int(nsteps)\n"
    "floor, peak = float(floor), float(peak)\n"
    "def lam(s):\n"
    "    if s < warm: return s / max(1, warm)\n"
    "    if kind == 'constant': return 1.0\n"
    "    if kind == 'linear':\n"
    "        f = max(0.0, (total - s) / max(1, total - warm))\n"
    "    else:\n"
    "        prog = (s - warm) / max(1, total - warm)\n"
    "        f = max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * prog)))\n"
    "    return f * (1 - floor) + floor\n"
    "out = []\n"
    "for step in range(nsteps):\n"
    "    s = step + 1 if step < warm else min(step, total)\n"
    "    out.append(repr(peak * lam(s)))\n"
    "open(sys.argv[2], 'w').write('\\n'.join(out))\n";

static void compare_schedule(rlc_schedule_kind kind, int warm, int total, float floor) {
    static const char *names[] = {"constant", "linear", "cosine"};
    const float peak = 3e-4f;
    const int nsteps = total + 20;
    char in[] = "/tmp/rlc_test_in_XXXXXX", out[] = "/tmp/rlc_test_out_XXXXXX";
    FILE *f = temp_file(in);
    fprintf(f, "%s %d %d %.9g %.9g %d\n", names[kind], warm, total, floor, peak, nsteps);
    fclose(f);
    fclose(temp_file(out));
    run_python(hf_schedule_script, in, out);
    f = fopen(out, "r");
    cr_assert(f);
    rlc_schedule s = {
        .kind = kind, .warmup_steps = warm, .total_steps = total, .min_lr_ratio = floor};
    for (int step = 0; step < nsteps; step++) {
        double want;
        cr_assert_eq(fscanf(f, "%lf", &want), 1, "missing value for step %d", step);
        float got = rlc_schedule_lr(&s, peak, step);
        cr_assert(fabs(got - want) <= 1e-6 * peak,
                  "%s warm %d total %d floor %g step %d: %.9g vs %.9g", names[kind], warm, total,
                  floor, step, got, want);
    }
    fclose(f);
    unlink(in);
    unlink(out);
}

Test(optim, schedules_match_hf_formulas) {
    compare_schedule(RLC_SCHED_CONSTANT, 0, 30, 0.0f);
    compare_schedule(RLC_SCHED_CONSTANT, 7, 30, 0.0f);
    compare_schedule(RLC_SCHED_LINEAR, 10, 100, 0.0f);
    compare_schedule(RLC_SCHED_LINEAR, 0, 50, 0.1f);
    compare_schedule(RLC_SCHED_COSINE, 10, 100, 0.0f);
    compare_schedule(RLC_SCHED_COSINE, 5, 64, 0.1f);
    compare_schedule(RLC_SCHED_COSINE, 0, 1, 0.0f);
}

Test(optim, schedule_hand_values) {
    rlc_schedule s = {
        .kind = RLC_SCHED_COSINE, .warmup_steps = 4, .total_steps = 14, .min_lr_ratio = 0.0f};
    cr_assert_float_eq(rlc_schedule_lr(&s, 1.0f, 0), 0.25f, 1e-7);
    cr_assert_float_eq(rlc_schedule_lr(&s, 1.0f, 3), 1.0f, 1e-7);
    cr_assert_float_eq(rlc_schedule_lr(&s, 1.0f, 4), 1.0f, 1e-7);
    cr_assert_float_eq(rlc_schedule_lr(&s, 1.0f, 9), 0.5f, 1e-7); /* halfway */
    cr_assert_float_eq(rlc_schedule_lr(&s, 1.0f, 14), 0.0f, 1e-7);
    cr_assert_float_eq(rlc_schedule_lr(&s, 1.0f, 100), 0.0f, 1e-7);
    s.kind = RLC_SCHED_LINEAR;
    s.min_lr_ratio = 0.1f;
    cr_assert_float_eq(rlc_schedule_lr(&s, 2.0f, 9), 2.0f * (0.5f * 0.9f + 0.1f), 1e-6);
    cr_assert_float_eq(rlc_schedule_lr(&s, 2.0f, 14), 0.2f, 1e-6);
}
