/* Non-finite steps never reach the weights.
 *
 * A NaN or Inf gradient is injected through the test-only hook
 * rlc_adamw_grad_hook (train/optim.h; NULL in every real program), at the
 * optimizer level and through whole runs (rlc_run in this process, a tiny
 * model from scratch): the update is skipped, skipped_steps is counted in
 * metrics.jsonl, the weights and both AdamW moments stay as they were and
 * finite (checkpoints written before and after the skips hold the same
 * bytes), and the run stops with a clear error after
 * training.max_skipped_steps skips in a row. Parameters that are not finite
 * are never written as a checkpoint or final/. */
#include "tmpdir.h"

#include "base/status.h"
#include "model/safetensors.h"
#include "rl/loss.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "train/run.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(nonfinite, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* ---- the hook: poison the gradient (or the parameters) from call `from` on ---- */

static int hook_calls, hook_from, hook_until = 1 << 30, hook_params;
static float hook_value;

static void poison(float *param, float *grad, size_t n) {
    int call = hook_calls++;
    if (call < hook_from || call >= hook_until || n == 0) return;
    if (hook_params)
        param[n / 2] = hook_value;
    else
        grad[n / 3] = hook_value;
}

static void arm(int from, int until, int params, float value) {
    hook_calls = 0, hook_from = from, hook_until = until, hook_params = params;
    hook_value = value;
    rlc_adamw_grad_hook = poison;
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* ---- the optimizer itself ---- */

static void skip_case(float bad) {
    const rlc_backend *be = rlc_backend_cpu();
    enum { N = 300 };
    rlc_adamw opt;
    rlc_adamw_params p = rlc_adamw_default_params();
    p.lr = 1e-2f;
    p.weight_decay = 0.1f;
    cr_assert_eq(rlc_adamw_init(&opt, N, p), RLC_OK);
    float param[N], grad[N], p0[N], m0[N], v0[N];
    for (int i = 0; i < N; i++)
        param[i] = sinf((float)i), grad[i] = cosf(0.3f * (float)i);
    float gn = 0;
    cr_assert_eq(rlc_adamw_step(&opt, be, param, grad, p.lr, &gn), 1);
    memcpy(p0, param, sizeof p0);
    memcpy(m0, opt.m, sizeof m0);
    memcpy(v0, opt.v, sizeof v0);
    cr_assert(all_finite(p0, N) && all_finite(m0, N) && all_finite(v0, N));

    for (int i = 0; i < N; i++)
        grad[i] = cosf(0.7f * (float)i);
    grad[17] = bad;
    gn = 0;
    cr_expect_eq(rlc_adamw_step(&opt, be, param, grad, p.lr, &gn), 0, "a %g gradient was applied",
                 (double)bad);
    cr_expect(!isfinite(gn), "the reported norm is %g", (double)gn);
    cr_expect_eq(opt.t, 1, "the step counter moved to %d", opt.t);
    cr_expect_eq(memcmp(param, p0, sizeof p0), 0, "weights changed");
    cr_expect_eq(memcmp(opt.m, m0, sizeof m0), 0, "first moment changed");
    cr_expect_eq(memcmp(opt.v, v0, sizeof v0), 0, "second moment changed");

    /* the next finite gradient steps normally, from the unchanged state */
    grad[17] = 0.5f;
    cr_expect_eq(rlc_adamw_step(&opt, be, param, grad, p.lr, &gn), 1);
    cr_expect(isfinite(gn) && gn > 0);
    cr_expect_eq(opt.t, 2);
    cr_expect_neq(memcmp(param, p0, sizeof p0), 0, "a finite step did not move the weights");
    cr_expect(all_finite(param, N) && all_finite(opt.m, N) && all_finite(opt.v, N));
    rlc_adamw_free(&opt);
}

Test(nonfinite, adamw_skips_nan_gradient) {
    skip_case(NAN);
}

Test(nonfinite, adamw_skips_inf_gradient) {
    skip_case(INFINITY);
    skip_case(-INFINITY);
}

Test(nonfinite, check_finite_names_the_element) {
    const rlc_backend *be = rlc_backend_cpu();
    float x[40];
    for (int i = 0; i < 40; i++)
        x[i] = 3e38f; /* huge but finite: their squares overflow float */
    cr_expect_eq(rlc_check_finite(be, x, 40, "w"), RLC_OK, "%s", rlc_last_error());
    x[23] = -INFINITY;
    cr_assert_eq(rlc_check_finite(be, x, 40, "checkpoint-3: trainable parameters"),
                 RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "checkpoint-3: trainable parameters: element 23 of 40"),
              "%s", rlc_last_error());
    x[23] = 0, x[5] = NAN;
    cr_assert_eq(rlc_check_finite(be, x, 40, "m"), RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "element 5 of 40"), "%s", rlc_last_error());
}

/* The k3 KL term on an extreme log-ratio: exp(ref - logp) with ref - logp =
 * 200 overflows float (and 1000 double); the clamp to [-20, 20] keeps the loss
 * finite, equal to verl's value, with no gradient past the clamp. */
Test(nonfinite, kl_log_ratio_clamped) {
    rlc_grpo_loss_params p = rlc_grpo_loss_default_params();
    p.beta = 0.5f;
    float logp[4] = {-1000.0f, -1.0f, -201.0f, -3.0f};
    float old[4] = {-1000.0f, -1.0f, -201.0f, -3.0f};
    float ref[4] = {-0.5f, -1.0f, -1.0f, -23.5f};
    float mask[4] = {1, 1, 1, 1}, adv[1] = {0.0f}, dl[4], loss;
    rlc_grpo_stats st;
    cr_assert_eq(rlc_grpo_loss(&p, logp, old, ref, adv, mask, 1, 4, &loss, dl, &st), RLC_OK, "%s",
                 rlc_last_error());
    /* log-ratios 999.5, 0, 200, -20.5: clamped to 20, 0, 20, -20 */
    double k20 = exp(20.0) - 20.0 - 1.0, km20 = exp(-20.0) + 20.0 - 1.0;
    double want = 0.5 * (k20 + 0.0 + k20 + km20) / 4.0;
    cr_expect(isfinite(loss), "loss %g", (double)loss);
    cr_expect(fabs(loss - want) <= 1e-6 * want, "loss %.9g, want %.9g", (double)loss, want);
    cr_expect(fabs(st.kl_mean - (k20 + k20 + km20) / 4.0) <= 1e-6 * k20, "kl %g",
              (double)st.kl_mean);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(dl[i], 0.0f, "dlogp[%d] = %g", i, (double)dl[i]);
    /* at the bound itself the gradient still flows (torch.clamp passes it) */
    float lp1[1] = {-21.0f}, rf1[1] = {-1.0f}, m1[1] = {1}, d1[1];
    cr_assert_eq(rlc_grpo_loss(&p, lp1, lp1, rf1, adv, m1, 1, 1, &loss, d1, NULL), RLC_OK);
    cr_expect(fabs(d1[0] - 0.5 * (1.0 - exp(20.0))) <= 1e-6 * exp(20.0), "dlogp %g", (double)d1[0]);
}

/* ---- whole runs ---- */

static void set(rlc_run_config *c, const char *kv) {
    cr_assert_eq(rlc_run_config_set(c, kv), RLC_OK, "%s: %s", kv, rlc_last_error());
}

/* A tiny from-scratch run in tmpdir/NAME: 8 steps, a checkpoint every 2. GRPO
 * uses a KL term so every completion carries gradient even when all rewards
 * are equal (a fresh model solves nothing). */
static rlc_run_config tiny(const char *mode, const char *name, int max_skipped) {
    rlc_run_config c = rlc_run_config_default();
    char kv[512];
    set(&c, "model.from_scratch=true");
    set(&c, "model.layers=1"), set(&c, "model.hidden=32"), set(&c, "model.heads=2");
    set(&c, "model.kv_heads=2"), set(&c, "model.intermediate=64"), set(&c, "model.max_seq=48");
    set(&c, "tokenizer.kind=byte"), set(&c, "tokenizer.chat=none");
    set(&c, "data.arithmetic_digits=1"), set(&c, "data.max_prompt_tokens=16");
    snprintf(kv, sizeof kv, "training.mode=%s", mode);
    set(&c, kv);
    set(&c, "training.steps=8"), set(&c, "training.batch_size=4");
    snprintf(kv, sizeof kv, "training.max_skipped_steps=%d", max_skipped);
    set(&c, kv);
    set(&c, "algorithm.group_size=2"), set(&c, "algorithm.max_new_tokens=6");
    set(&c, "algorithm.beta=0.1");
    set(&c, "optimizer.lr=1e-2");
    set(&c, "checkpoint.save_every=2"), set(&c, "checkpoint.keep_last=100");
    snprintf(kv, sizeof kv, "logging.run_dir=%s", tmpdir);
    set(&c, kv);
    snprintf(kv, sizeof kv, "logging.run_name=%s", name);
    set(&c, kv);
    set(&c, "logging.console=false"), set(&c, "logging.tensorboard=false");
    return c;
}

static const char *run_path(const char *name, const char *rel) {
    static char buf[4][4096];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 4096, "%s/%s", tmp_path(name), rel);
    return b;
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* skipped_steps of each metrics.jsonl row, in order; returns the row count. */
static int skipped_column(const char *name, int *out, int cap) {
    FILE *f = fopen(run_path(name, "metrics.jsonl"), "r");
    cr_assert_not_null(f, "%s: no metrics.jsonl", name);
    char line[1 << 16];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < cap) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        cr_assert_not_null(j, "metrics.jsonl row %d: %s", n, e.text);
        json_t *v = json_object_get(j, "skipped_steps");
        cr_assert(json_is_integer(v), "row %d has no integer skipped_steps", n);
        cr_assert_eq(json_integer_value(json_object_get(j, "step")), n);
        out[n++] = (int)json_integer_value(v);
        json_decref(j);
    }
    fclose(f);
    return n;
}

/* Every tensor of a safetensors file as fp32, concatenated; *n the count. */
static float *load_all(const char *path, size_t *n) {
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_OK, "%s", rlc_last_error());
    size_t total = 0;
    for (int i = 0; i < rlc_st_count(f); i++)
        total += rlc_st_at(f, i)->numel;
    float *all = malloc(total * sizeof(float) + 1), *p = all;
    for (int i = 0; i < rlc_st_count(f); i++) {
        const rlc_st_tensor *t = rlc_st_at(f, i);
        cr_assert_eq(rlc_st_read_f32(f, t->name, t->ndim, t->shape, p), RLC_OK, "%s",
                     rlc_last_error());
        p += t->numel;
    }
    rlc_st_close(f);
    *n = total;
    return all;
}

/* checkpoint-A and checkpoint-B hold the same, finite weights and moments. */
static void expect_same_state(const char *name, int a, int b, const char *weights) {
    char da[64], db[64];
    snprintf(da, sizeof da, "checkpoints/checkpoint-%d/%s", a, weights);
    snprintf(db, sizeof db, "checkpoints/checkpoint-%d/%s", b, weights);
    size_t na, nb;
    float *wa = load_all(run_path(name, da), &na), *wb = load_all(run_path(name, db), &nb);
    cr_assert_eq(na, nb);
    cr_expect(all_finite(wa, na), "checkpoint-%d: weights not finite", a);
    cr_expect_eq(memcmp(wa, wb, na * sizeof(float)), 0,
                 "checkpoint-%d and checkpoint-%d weights differ across skipped steps", a, b);
    free(wa), free(wb);
    snprintf(da, sizeof da, "checkpoints/checkpoint-%d/%s", a, RLC_CKPT_OPTIMIZER);
    snprintf(db, sizeof db, "checkpoints/checkpoint-%d/%s", b, RLC_CKPT_OPTIMIZER);
    wa = load_all(run_path(name, da), &na), wb = load_all(run_path(name, db), &nb);
    cr_assert_eq(na, nb);
    cr_expect(na > 0 && all_finite(wa, na), "checkpoint-%d: moments not finite", a);
    cr_expect_eq(memcmp(wa, wb, na * sizeof(float)), 0,
                 "checkpoint-%d and checkpoint-%d AdamW moments differ across skipped steps", a, b);
    free(wa), free(wb);
    rlc_adamw oa, ob;
    memset(&oa, 0, sizeof oa), memset(&ob, 0, sizeof ob);
    snprintf(da, sizeof da, "checkpoints/checkpoint-%d", a);
    snprintf(db, sizeof db, "checkpoints/checkpoint-%d", b);
    cr_assert_eq(rlc_ckpt_read_optimizer(run_path(name, da), &oa), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_ckpt_read_optimizer(run_path(name, db), &ob), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(oa.t, ob.t, "AdamW step count moved over skipped steps: %d -> %d", oa.t, ob.t);
    rlc_adamw_free(&oa), rlc_adamw_free(&ob);
}

/* The run's verbose log (logs/<one file>), NUL-terminated, malloc'd. */
static char *run_log(const char *name) {
    DIR *d = opendir(run_path(name, "logs"));
    cr_assert_not_null(d, "%s: no logs/", name);
    struct dirent *e;
    char path[4096] = "";
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            snprintf(path, sizeof path, "%s/%s", run_path(name, "logs"), e->d_name);
    closedir(d);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: no log file", name);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

/* Steps 0 and 1 train; from step 2 on every gradient holds a NaN. With
 * max_skipped_steps 3 the run skips steps 2, 3, 4 and stops after step 4. */
static void stop_after_skips(const char *mode, const char *weights) {
    rlc_run_config c = tiny(mode, mode, 3);
    arm(2, 1 << 30, 0, NAN);
    char *dir = NULL;
    rlc_status st = rlc_run(&c, &dir);
    rlc_adamw_grad_hook = NULL;
    cr_assert_neq(st, RLC_OK, "the run went on through NaN gradients");
    const char *msg = rlc_last_error();
    cr_expect(strstr(msg, "training stopped at step 4: 3 steps in a row") &&
                  strstr(msg, "training.max_skipped_steps = 3") &&
                  strstr(msg, "non-finite loss or gradient norm") &&
                  strstr(msg, "the weights are those after step 1"),
              "message: %s", msg);
    free(dir);
    rlc_run_config_free(&c);

    int sk[16];
    int n = skipped_column(mode, sk, 16);
    cr_expect_eq(n, 5, "metrics.jsonl has %d rows, expected steps 0..4", n);
    int want[5] = {0, 0, 1, 1, 1};
    for (int i = 0; i < n && i < 5; i++)
        cr_expect_eq(sk[i], want[i], "step %d: skipped_steps %d, expected %d", i, sk[i], want[i]);
    /* checkpoint-2 (before the skips) and checkpoint-4 (after two) hold the
     * same state; nothing was written after the stop */
    expect_same_state(mode, 2, 4, weights);
    cr_expect(!exists(run_path(mode, "checkpoints/checkpoint-6")));
    cr_expect(!exists(run_path(mode, "final")), "final/ written by a stopped run");
    const char *log = run_log(mode);
    cr_expect(strstr(log, "step 2: loss") && strstr(log, "grad_norm nan: not finite, the update "
                                                         "was skipped"),
              "no skip warning in the log:\n%s", log);
    cr_expect(strstr(log, "training stopped at step 4"), "the error is not in the log:\n%s", log);
}

Test(nonfinite, grpo_run_skips_and_stops, .timeout = 300) {
    stop_after_skips("grpo", "model.safetensors");
}

Test(nonfinite, sft_run_skips_and_stops, .timeout = 300) {
    stop_after_skips("sft", "model.safetensors");
}

/* A short burst of NaN gradients (2 in a row, limit 3) is skipped and the
 * run finishes; max_skipped_steps 0 never stops. */
Test(nonfinite, sft_run_survives_burst, .timeout = 300) {
    for (int limit = 3; limit >= 0; limit -= 3) {
        char name[32];
        snprintf(name, sizeof name, "burst%d", limit);
        rlc_run_config c = tiny("sft", name, limit);
        arm(3, limit ? 5 : 8, 0, INFINITY);
        char *dir = NULL;
        rlc_status st = rlc_run(&c, &dir);
        rlc_adamw_grad_hook = NULL;
        cr_assert_eq(st, RLC_OK, "limit %d: %s", limit, rlc_last_error());
        free(dir);
        rlc_run_config_free(&c);
        int sk[16];
        cr_assert_eq(skipped_column(name, sk, 16), 8);
        for (int i = 0; i < 8; i++) {
            int want = limit ? (i == 3 || i == 4) : i >= 3;
            cr_expect_eq(sk[i], want, "limit %d, step %d: skipped_steps %d", limit, i, sk[i]);
        }
        size_t n;
        float *w = load_all(run_path(name, "final/model.safetensors"), &n);
        cr_expect(n > 0 && all_finite(w, n), "final/ weights not finite");
        free(w);
    }
}

/* Parameters that went non-finite are refused before a checkpoint is
 * begun: the run stops with an error naming the checkpoint, and no
 * checkpoint-2 (not even a temporary one) is left. */
Test(nonfinite, nonfinite_weights_never_checkpointed, .timeout = 300) {
    rlc_run_config c = tiny("sft", "poisoned", 3);
    arm(1, 2, 1, NAN); /* step 1 writes a NaN into the weights themselves */
    char *dir = NULL;
    rlc_status st = rlc_run(&c, &dir);
    rlc_adamw_grad_hook = NULL;
    cr_assert_neq(st, RLC_OK, "a checkpoint of NaN weights was accepted");
    cr_expect(strstr(rlc_last_error(), "checkpoint-2: trainable parameters: element") &&
                  strstr(rlc_last_error(), "not finite"),
              "message: %s", rlc_last_error());
    free(dir);
    rlc_run_config_free(&c);
    cr_expect(!exists(run_path("poisoned", "checkpoints/checkpoint-2")));
    cr_expect(!exists(run_path("poisoned", "final")));
}

/* Same for final/: a run without checkpoints whose weights went NaN in its
 * last step writes no final/. */
Test(nonfinite, nonfinite_weights_never_final, .timeout = 300) {
    rlc_run_config c = tiny("sft", "poisoned_final", 3);
    set(&c, "checkpoint.save_every=0");
    set(&c, "training.steps=3");
    arm(2, 3, 1, INFINITY);
    char *dir = NULL;
    rlc_status st = rlc_run(&c, &dir);
    rlc_adamw_grad_hook = NULL;
    cr_assert_neq(st, RLC_OK, "final/ of non-finite weights was accepted");
    cr_expect(strstr(rlc_last_error(), "final: trainable parameters: element"), "message: %s",
              rlc_last_error());
    free(dir);
    rlc_run_config_free(&c);
    cr_expect(!exists(run_path("poisoned_final", "final/model.safetensors")));
}
