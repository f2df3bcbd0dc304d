/* Exact resume through the CLI binary ($RLC_BIN, default build/rlc-test: the
 * test build, the only one with the RLC_TEST_KILL_AT hook).
 *
 * Crash tests: a tiny run (SFT from scratch; GRPO with LoRA and with every
 * weight trained, both from the SFT model) is killed with SIGKILL six times at
 * seeded-random points, resumed each time with the same command, and must end
 * with the same metrics.jsonl (every field but times and rates) and
 * byte-identical final weights as the same run never interrupted. Kill points:
 * the parent kills the child as soon as metrics.jsonl has k lines (mid-step,
 * steps logged past the last checkpoint), and RLC_TEST_KILL_AT
 * (base/killpoint.h) kills it part-way through writing a checkpoint file, just
 * after a checkpoint is renamed into place, while an old one is being pruned,
 * and part-way through writing final/. RLC_TEST_SEED=N replays other points.
 *
 * Corruption tests: the newest checkpoint of a run without final/ is damaged
 * (truncated file, flipped byte, missing trainer_state.json); running the same
 * command again reports the damaged checkpoint naming the file, resumes from
 * the one before it, and still ends bit-identical to the undamaged run.
 *
 * Thread count: the same runs at a size where products are cut into tiles
 * (rlc_cpu_sgemm) and attention has several workers, once with one thread and
 * once with two whose count RLC_TEST_THREADS_FLIP switches at every layer
 * (base/cores.h): the same metrics and final weights, bit for bit. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/killpoint.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "train/backpressure.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(resume, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define RUN_LIMIT_S 300 /* one rlc run, also under ASan on a busy machine */

/* 0: runs get one thread; 1: two, switched to one and back at every layer. */
static int g_flip_threads;

/* Runs `rlc MODE CFG` with one thread, stdout and stderr into LOG. kill_at: an
 * RLC_TEST_KILL_AT spec (or NULL); after_lines > 0: the parent sends SIGKILL as
 * soon as METRICS has that many lines. Returns the wait status. */
static int run_rlc(const char *mode, const char *cfg, const char *log, const char *kill_at,
                   const char *metrics, int after_lines) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("OMP_NUM_THREADS", g_flip_threads ? "2" : "1", 1);
        if (g_flip_threads)
            setenv(RLC_THREADS_FLIP_ENV, "1", 1);
        else
            unsetenv(RLC_THREADS_FLIP_ENV);
        if (kill_at)
            setenv(RLC_KILL_ENV, kill_at, 1);
        else
            unsetenv(RLC_KILL_ENV);
        execl(th_rlc_bin(), th_rlc_bin(), mode, cfg, (char *)NULL);
        _exit(127);
    }
    /* A watchdog of our own instead of Criterion's .timeout (see test_merge.c). */
    int status = 0;
    for (time_t t0 = time(NULL);;) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        int over = time(NULL) - t0 > RUN_LIMIT_S;
        if (over || (after_lines > 0 && th_count_lines(metrics) >= after_lines)) {
            kill(pid, SIGKILL);
            cr_assert_eq(waitpid(pid, &status, 0), pid);
            cr_assert(!over, "rlc %s %s: still running after %d s (log: %s)", mode, cfg,
                      RUN_LIMIT_S, log);
            return status;
        }
        usleep(after_lines > 0 ? 200 : 2000);
    }
}

static void dump_log(const char *log) {
    char *t = th_slurp(log);
    cr_log_error("%s:\n%s", log, t ? t : "(missing)");
    free(t);
}

static void expect_exit0(int status, const char *log) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) dump_log(log);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rlc did not exit 0 (status %#x)",
              status);
}

static void expect_killed(int status, const char *log, const char *what) {
    if (!WIFSIGNALED(status)) dump_log(log);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "kill point %s never reached: the run exited (status %#x; is RLC_BIN=%s a test "
              "build? make build/rlc-test)",
              what, status, th_rlc_bin());
}

/* The newest committed checkpoint-<step> folder of RUN (0 when none); with
 * oldest != NULL also the oldest one. */
static int newest_ckpt(const char *run, int *oldest) {
    char path[1024];
    cr_assert_lt(snprintf(path, sizeof path, "%s/checkpoints", run), (int)sizeof path);
    DIR *d = opendir(path);
    int hi = 0, lo = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int s;
        char tail;
        if (sscanf(e->d_name, "checkpoint-%d%c", &s, &tail) != 1) continue;
        if (s > hi) hi = s;
        if (!lo || s < lo) lo = s;
    }
    if (d) closedir(d);
    if (oldest) *oldest = lo;
    return hi;
}

/* The log of a run started with checkpoint `step` as the newest intact one
 * says it resumes from exactly that one (and does not resume when 0). */
static void expect_resumed_from(const char *log, const char *run, int step) {
    char *t = th_slurp(log);
    cr_assert_not_null(t, "%s", log);
    char want[1200];
    snprintf(want, sizeof want, "resuming from %s/checkpoints/checkpoint-%d (step %d)", run, step,
             step);
    int ok = step > 0 ? strstr(t, want) != NULL : strstr(t, "resuming from") == NULL;
    if (!ok) cr_log_error("%s:\n%s", log, t);
    free(t);
    cr_assert(ok, "expected %s", step > 0 ? want : "a fresh start");
}

/* RUN_A/NAME and RUN_B/NAME byte-identical (the emergence files carry no times). */
static void expect_same_file(const char *a, const char *b, const char *name) {
    char pa[1200], pb[1200];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    size_t na, nb;
    char *ta = th_slurp_size(pa, &na), *tb = th_slurp_size(pb, &nb);
    cr_assert(ta && tb, "%s or %s is missing", pa, pb);
    cr_assert(na == nb && !memcmp(ta, tb, na), "%s and %s differ", pa, pb);
    free(ta);
    free(tb);
}

/* ---- configs ---- */

static const char *model_shape =
    "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, kv_heads: 2,\n"
    "        intermediate: 64, max_seq: 48, seed: 1}\n";
/* Large enough that every product of a training step is cut into tiles. */
static const char *const model_shape_tiled =
    "model: {path: \"\", from_scratch: true, layers: 2, hidden: 128, heads: 4, kv_heads: 2,\n"
    "        intermediate: 344, max_seq: 48, seed: 1}\n";
static const char *const data_spec =
    "tokenizer: {kind: byte, chat: none}\n"
    "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
    "       max_prompt_tokens: 16, eval_size: 4, seed: 7}\n";

/* An SFT config (from scratch) writing tmpdir/NAME. */
static void sft_config(const char *file, const char *name, int steps, int save_every) {
    char text[2048];
    snprintf(text, sizeof text,
             "%s%s"
             "training: {steps: %d, batch_size: 16, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-2, schedule: cosine, warmup_steps: 3, min_lr_ratio: 0.1}\n"
             "logging: {run_dir: %s, run_name: %s, log_every: 1, tensorboard: false}\n"
             "checkpoint: {save_every: %d, keep_last: 2}\n",
             model_shape, data_spec, steps, tmpdir, name, save_every);
    th_write_text(tmp_path(file), text);
}

/* The model GRPO starts from, under tmpdir. */
static const char *grpo_base = "base/final";

/* More algorithm keys (", key: value" inside its map) and more sections. */
static const char *grpo_algo = "", *grpo_more = "";

/* A GRPO config from tmpdir/<grpo_base> writing tmpdir/NAME. */
static void grpo_config(const char *file, const char *name, int lora, int steps, int save_every) {
    char text[4096];
    snprintf(text, sizeof text,
             "model: {path: %s/%s}\n%s"
             "rewards: {weights: {format_approx: 1.0, number_check: 1.0}}\n"
             "algorithm: {group_size: 4, max_new_tokens: 12, temperature: 1.0, beta: 0.02%s}\n%s"
             "lora: {enabled: %s, rank: 4, alpha: 8, targets: [q_proj, v_proj, down_proj]}\n"
             "training: {steps: %d, batch_size: 4, eval_every: 5, seed: 1}\n"
             "optimizer: {lr: 1.0e-2, schedule: cosine, warmup_steps: 2, weight_decay: 0.01}\n"
             "logging: {run_dir: %s, run_name: %s, log_every: 1, tensorboard: false}\n"
             "checkpoint: {save_every: %d, keep_last: 2}\n",
             tmpdir, grpo_base, data_spec, grpo_algo, grpo_more, lora ? "true" : "false", steps,
             tmpdir, name, save_every);
    th_write_text(tmp_path(file), text);
}

/* The SFT model GRPO starts from (learns the answer format in 40 steps). */
static void make_base(void) {
    sft_config("base.yaml", "base", 40, 0);
    int st = run_rlc("sft", tmp_path("base.yaml"), tmp_path("base.log"), NULL, NULL, 0);
    expect_exit0(st, tmp_path("base.log"));
}

/* ---- crash tests ---- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A step in [lo, hi] (hi >= lo). */
static int rng_range(uint64_t *s, int lo, int hi) {
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

typedef struct crash_case {
    const char *mode;    /* "sft" or "train" */
    const char *weights; /* weights file name in checkpoints and final/ */
    int steps, save_every;
    uint64_t seed;
} crash_case;

/* Kills the run of config "k.yaml" (run dir tmpdir/k) six times, resuming
 * after each, then lets it finish; compares with "ref.yaml" (tmpdir/ref). */
static void crash_and_compare(const crash_case *cc) {
    const char *env_seed = getenv("RLC_TEST_SEED");
    uint64_t seed = env_seed ? strtoull(env_seed, NULL, 10) : cc->seed, rng = seed;
    cr_log_info("resume crash test: %s, seed %" PRIu64, cc->mode, seed);
    char ref_cfg[1024], k_cfg[1024], run[1024], metrics[1200], log[1200], spec[256], what[300];
    snprintf(ref_cfg, sizeof ref_cfg, "%s", tmp_path("ref.yaml"));
    snprintf(k_cfg, sizeof k_cfg, "%s", tmp_path("k.yaml"));
    snprintf(run, sizeof run, "%s", tmp_path("k"));
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run);
    int st = run_rlc(cc->mode, ref_cfg, tmp_path("ref.log"), NULL, NULL, 0);
    expect_exit0(st, tmp_path("ref.log"));

    const int se = cc->save_every, last_ckpt = (cc->steps - 1) / se * se;
    static const char *const ckpt_files[] = {NULL, "optimizer.safetensors", "trainer_state.json",
                                             "manifest.json"};
    enum { LINES, WRITE_CKPT, PUBLISHED, PRUNING, WRITE_FINAL };
    static const int plan[] = {LINES, WRITE_CKPT, PUBLISHED, LINES, PRUNING, WRITE_FINAL};
    int resume = 0; /* newest committed checkpoint: where the next run starts */
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        int after = 0, expect = -1, oldest, kind = plan[i];
        const char *at = NULL;
        newest_ckpt(run, &oldest);
        /* A prune happens when a checkpoint past `resume` commits while two
         * older ones exist; otherwise kill part-way through a file instead.
         * When the run has no checkpoint or step left to kill in, it is
         * killed writing final/ (always reached). */
        int have = th_count_lines(metrics), more_ckpts = resume + se <= last_ckpt;
        if (kind == PRUNING && !(oldest && oldest < resume && more_ckpts)) kind = WRITE_CKPT;
        if ((kind != LINES && kind != WRITE_FINAL && !more_ckpts) ||
            (kind == LINES && have + 1 > cc->steps - 2))
            kind = WRITE_FINAL;
        if (kind == LINES) {
            after = rng_range(&rng, have + 1, have + se);
            if (after > cc->steps - 2) after = cc->steps - 2;
            snprintf(what, sizeof what, "metrics.jsonl at %d lines", after);
        } else if (kind == WRITE_CKPT || kind == PUBLISHED) {
            int max_k = (last_ckpt - resume) / se, k = rng_range(&rng, 1, max_k < 2 ? 1 : 2);
            int s = resume + k * se;
            if (kind == PUBLISHED) {
                snprintf(spec, sizeof spec, "ckpt-published:checkpoint-%d", s);
                expect = s;
            } else {
                const char *f = ckpt_files[rng_range(&rng, 0, 3)];
                snprintf(spec, sizeof spec, "write:.checkpoint-%d.tmp/%s", s, f ? f : cc->weights);
                expect = s - se > resume ? s - se : resume;
            }
            at = spec;
        } else if (kind == PRUNING) {
            snprintf(spec, sizeof spec, "ckpt-pruning:.checkpoint-%d.old", oldest);
            at = spec;
            expect = resume + se;
        } else {
            snprintf(spec, sizeof spec, "write:final/%s", cc->weights);
            at = spec;
            expect = last_ckpt;
        }
        if (at) snprintf(what, sizeof what, "%s", at);
        snprintf(log, sizeof log, "%s/kill%zu.log", tmpdir, i);
        st = run_rlc(cc->mode, k_cfg, log, at, metrics, after);
        expect_killed(st, log, what);
        expect_resumed_from(log, run, resume);
        int now = newest_ckpt(run, NULL);
        /* Whatever the kill interrupted, the newest complete checkpoint is the
         * one before it (or the one it had just published). */
        if (expect >= 0)
            cr_assert_eq(now, expect, "after a kill at %s: newest checkpoint %d, expected %d", what,
                         now, expect);
        cr_log_info("kill %zu at %s: resume from %d next", i, what, now);
        resume = now;
    }
    snprintf(log, sizeof log, "%s/final.log", tmpdir);
    st = run_rlc(cc->mode, k_cfg, log, NULL, NULL, 0);
    expect_exit0(st, log);
    expect_resumed_from(log, run, resume);
    th_expect_same_metrics(tmp_path("ref/metrics.jsonl"), metrics);
    if (!strcmp(cc->mode, "train")) {
        expect_same_file(tmp_path("ref"), run, "emergence/steps.jsonl");
        expect_same_file(tmp_path("ref"), run, "emergence/generations.jsonl");
    }
    th_expect_same_final(tmp_path("ref"), run);
    /* Crash leftovers (.tmp, .old folders) are gone by the end. */
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoints", run);
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_expect(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || e->d_name[0] != '.',
                  "leftover %s/%s", path, e->d_name);
    closedir(d);
}

Test(resume, sigkill_sft_full) {
    sft_config("ref.yaml", "ref", 16, 3);
    sft_config("k.yaml", "k", 16, 3);
    crash_case cc = {"sft", "model.safetensors", 16, 3, 11};
    crash_and_compare(&cc);
}

Test(resume, sigkill_grpo_lora) {
    make_base();
    grpo_config("ref.yaml", "ref", 1, 12, 2);
    grpo_config("k.yaml", "k", 1, 12, 2);
    crash_case cc = {"train", "adapter_model.safetensors", 12, 2, 22};
    crash_and_compare(&cc);
}

Test(resume, sigkill_grpo_full) {
    make_base();
    grpo_config("ref.yaml", "ref", 0, 12, 2);
    grpo_config("k.yaml", "k", 0, 12, 2);
    crash_case cc = {"train", "model.safetensors", 12, 2, 33};
    crash_and_compare(&cc);
}

/* GTPO on surprisal pooled by SEPA's auto schedule, whose state (the
 * variance EMA and its warm-up) crosses checkpoints: "answer" (in <answer>)
 * makes planning tokens. The gate starts open: this tiny model answers none
 * correctly. */
Test(resume, sigkill_grpo_gtpo_sepa) {
    make_base();
    grpo_algo = ", transform: gtpo_sepa";
    grpo_more = "hicra: {phrases: [answer]}\n"
                "sepa: {schedule: auto, warmup: 3, ema_decay: 0.5, steps: 20, delay_steps: 2,\n"
                "       correct_rate_gate: 0}\n";
    grpo_config("ref.yaml", "ref", 0, 12, 2);
    grpo_config("k.yaml", "k", 0, 12, 2);
    crash_case cc = {"train", "model.safetensors", 12, 2, 44};
    crash_and_compare(&cc);
    /* the run pooled, with planning tokens, and checkpoints carry SEPA's state */
    json_t *x = th_load_metrics(tmp_path("ref/metrics.jsonl"));
    double lam = 0, plan = 0;
    for (size_t i = 0; i < json_array_size(x); i++) {
        json_t *o = json_array_get(x, i);
        lam += json_number_value(json_object_get(o, "sepa_lambda"));
        plan += json_number_value(json_object_get(o, "planning_token_frac"));
    }
    json_decref(x);
    cr_expect_gt(lam, 0);
    cr_expect_gt(plan, 0);
    char *st = th_slurp(tmp_path("k/checkpoints/checkpoint-10/trainer_state.json"));
    cr_assert_not_null(st);
    cr_expect(strstr(st, "\"sepa\": {\"gate_open\": ") && strstr(st, "\"var_0\": "), "%s", st);
    free(st);
}

/* DAPO dynamic sampling: groups of equal rewards are replaced by the next
 * prompts, so the data cursor runs ahead of steps x batch size and is part
 * of the state a resume restores. The metrics agree with it: B prompts per
 * step plus every dropped group, and no equal group left in a batch unless
 * the step used all its rounds. */
Test(resume, sigkill_grpo_dynamic_sampling) {
    make_base();
    grpo_algo = ", dynamic_sampling: true, dynamic_sampling_extra_rounds: 2";
    grpo_config("ref.yaml", "ref", 1, 12, 2);
    grpo_config("k.yaml", "k", 1, 12, 2);
    crash_case cc = {"train", "adapter_model.safetensors", 12, 2, 55};
    crash_and_compare(&cc);
    json_t *x = th_load_metrics(tmp_path("ref/metrics.jsonl"));
    long dropped = 0, extra_rounds = 0;
    for (size_t i = 0; i < json_array_size(x); i++) {
        json_t *o = json_array_get(x, i);
        long r = (long)json_number_value(json_object_get(o, "dynamic_sampling/rounds"));
        long d = (long)json_number_value(json_object_get(o, "dynamic_sampling/dropped_groups"));
        long eq = (long)json_number_value(json_object_get(o, "zero_std_groups"));
        cr_expect(r >= 1 && r <= 3 && d >= r - 1, "step %zu: %ld rounds, %ld dropped", i, r, d);
        cr_expect(r == 3 || eq == 0, "step %zu: %ld equal groups left after %ld rounds", i, eq, r);
        dropped += d, extra_rounds += r - 1;
    }
    json_decref(x);
    cr_expect_gt(extra_rounds, 0, "no step needed an extra round");
    char *st = th_slurp(tmp_path("ref/final/trainer_state.json"));
    cr_assert_not_null(st);
    char want[64];
    snprintf(want, sizeof want, "\"data_cursor\": %ld", 12 * 4 + dropped);
    cr_expect(strstr(st, want) != NULL, "want %s in %s", want, st);
    free(st);
}

/* Back pressure sizes each step's batch from the step's throughput, which
 * RLC_TEST_BP_USL (base/killpoint.h) makes the USL curve p / (a + b p + c p^2)
 * of the batch instead of wall time, so two runs decide alike: the killed and
 * resumed run must match the uninterrupted one in every metric (the batch,
 * bp_action, bp_regime and the backpressure/ metrics included) and its final weights,
 * which needs the controller's state (window, EMA, fit, next batch) carried
 * by the checkpoints. With a = 1e-3, c = 5e-6 the optimum is p* = sqrt(a / c)
 * = 14.1, so after the warmup ladder (1, 2, 4, 6 prompts twice) the first
 * decision (step 8, still at 6) throttles the batch to floor(0.85 p* / 4) = 3,
 * where it stays. */
Test(resume, sigkill_grpo_backpressure) {
    make_base();
    setenv(RLC_BP_USL_ENV, "1e-3,1e-4,5e-6", 1);
    grpo_more = "backpressure: {enabled: true, warmup_steps: 8, min_batch_size: 1, "
                "max_batch_size: 6}\n";
    grpo_config("ref.yaml", "ref", 1, 14, 2);
    grpo_config("k.yaml", "k", 1, 14, 2);
    crash_case cc = {"train", "adapter_model.safetensors", 14, 2, 66};
    crash_and_compare(&cc);
    json_t *x = th_load_metrics(tmp_path("ref/metrics.jsonl"));
    static const int batch[14] = {1, 2, 4, 6, 1, 2, 4, 6, 6, 3, 3, 3, 3, 3};
    long prompts = 0;
    cr_assert_eq(json_array_size(x), 14);
    for (size_t i = 0; i < 14; i++) {
        json_t *o = json_array_get(x, i);
        long b = (long)json_number_value(json_object_get(o, "batch_size"));
        long act = (long)json_number_value(json_object_get(o, "bp_action"));
        long reg = (long)json_number_value(json_object_get(o, "bp_regime"));
        cr_expect_eq(b, batch[i], "step %zu: batch %ld, expected %d", i, b, batch[i]);
        cr_expect_eq((long)json_number_value(json_object_get(o, "total_count")), b * 4);
        cr_expect_eq(reg == RLC_BP_WARMUP, i < 8, "step %zu: regime %ld", i, reg);
        cr_expect_eq(act, i == 8 ? RLC_BP_THROTTLE : RLC_BP_HOLD, "step %zu: action %ld", i, act);
        if (i >= 8) {
            double ps = json_number_value(json_object_get(o, "backpressure/p_star"));
            cr_expect(fabs(ps - sqrt(1e-3 / 5e-6)) < 1e-6 * ps, "step %zu: p* %.10g", i, ps);
        }
        prompts += b;
    }
    json_decref(x);
    char *st = th_slurp(tmp_path("ref/final/trainer_state.json"));
    cr_assert_not_null(st);
    char want[64];
    snprintf(want, sizeof want, "\"data_cursor\": %ld", prompts);
    cr_expect(strstr(st, want) != NULL, "want %s in %s", want, st);
    cr_expect(strstr(st, "\"backpressure\": {\"steps\": 14, \"batch\": 3,") != NULL, "%s", st);
    free(st);
}

/* The SFT model re-saved with BF16 weights as tmpdir/bf16base, which GRPO
 * then starts from: rlc holds its matrices BF16 (LoRA), or trains F32 master
 * weights made from them (full fine-tuning). */
static void make_bf16_base(void) {
    make_base();
    rlc_model *m;
    cr_assert_eq(rlc_model_load(tmp_path("base/final"), &m), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_save(m, tmp_path("bf16base"), RLC_DTYPE_BF16), RLC_OK, "%s",
                 rlc_last_error());
    rlc_model_free(m);
    grpo_base = "bf16base";
}

/* The dtype of the embedding in DIR/model.safetensors. */
static rlc_dtype weights_dtype(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_OK, "%s", rlc_last_error());
    const rlc_st_tensor *t = rlc_st_find(f, "model.embed_tokens.weight");
    cr_assert_not_null(t, "%s: no embedding", path);
    rlc_dtype d = t->dtype;
    rlc_st_close(f);
    return d;
}

Test(resume, sigkill_grpo_lora_bf16) {
    make_bf16_base();
    grpo_config("ref.yaml", "ref", 1, 12, 2);
    grpo_config("k.yaml", "k", 1, 12, 2);
    crash_case cc = {"train", "adapter_model.safetensors", 12, 2, 44};
    crash_and_compare(&cc);
}

/* Checkpoints keep the F32 master weights (what makes the resume exact);
 * final/ is BF16 like the base. */
Test(resume, sigkill_grpo_full_bf16) {
    make_bf16_base();
    grpo_config("ref.yaml", "ref", 0, 12, 2);
    grpo_config("k.yaml", "k", 0, 12, 2);
    crash_case cc = {"train", "model.safetensors", 12, 2, 55};
    crash_and_compare(&cc);
    cr_expect_eq(weights_dtype(tmp_path("k/final")), RLC_DTYPE_BF16);
    cr_expect_eq(weights_dtype(tmp_path("k/checkpoints/checkpoint-10")), RLC_DTYPE_F32);
}

/* SFT of every weight from the BF16 base, writing tmpdir/NAME. */
static void sft_bf16_config(const char *file, const char *name) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: %s/bf16base}\n%s"
             "training: {steps: 10, batch_size: 16, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-3, schedule: cosine, warmup_steps: 2, min_lr_ratio: 0.1}\n"
             "logging: {run_dir: %s, run_name: %s, log_every: 1, tensorboard: false}\n"
             "checkpoint: {save_every: 3, keep_last: 2}\n",
             tmpdir, data_spec, tmpdir, name);
    th_write_text(tmp_path(file), text);
}

Test(resume, sigkill_sft_full_bf16) {
    make_bf16_base();
    sft_bf16_config("ref.yaml", "ref");
    sft_bf16_config("k.yaml", "k");
    crash_case cc = {"sft", "model.safetensors", 10, 3, 66};
    crash_and_compare(&cc);
    cr_expect_eq(weights_dtype(tmp_path("k/final")), RLC_DTYPE_BF16);
    cr_expect_eq(weights_dtype(tmp_path("k/checkpoints/checkpoint-9")), RLC_DTYPE_F32);
}

/* ---- thread count ---- */

/* SFT from scratch, then GRPO of every weight from it, each run once with one
 * thread and once with two switching: identical metrics and final/. */
Test(resume, any_thread_count) {
    model_shape = model_shape_tiled;
    const char *names[2] = {"one", "flip"};
    for (int f = 0; f < 2; f++) {
        g_flip_threads = f;
        char cfg[64], run[64], log[64];
        snprintf(cfg, sizeof cfg, "sft_%s.yaml", names[f]);
        snprintf(run, sizeof run, "sft_%s", names[f]);
        snprintf(log, sizeof log, "sft_%s.log", names[f]);
        sft_config(cfg, run, 40, 0);
        expect_exit0(run_rlc("sft", tmp_path(cfg), tmp_path(log), NULL, NULL, 0), tmp_path(log));
    }
    th_expect_same_metrics(tmp_path("sft_one/metrics.jsonl"), tmp_path("sft_flip/metrics.jsonl"));
    th_expect_same_final(tmp_path("sft_one"), tmp_path("sft_flip"));
    grpo_base = "sft_one/final";
    for (int f = 0; f < 2; f++) {
        g_flip_threads = f;
        char cfg[64], run[64], log[64];
        snprintf(cfg, sizeof cfg, "grpo_%s.yaml", names[f]);
        snprintf(run, sizeof run, "grpo_%s", names[f]);
        snprintf(log, sizeof log, "grpo_%s.log", names[f]);
        grpo_config(cfg, run, 0, 4, 0);
        expect_exit0(run_rlc("train", tmp_path(cfg), tmp_path(log), NULL, NULL, 0), tmp_path(log));
    }
    g_flip_threads = 0;
    th_expect_same_metrics(tmp_path("grpo_one/metrics.jsonl"), tmp_path("grpo_flip/metrics.jsonl"));
    expect_same_file(tmp_path("grpo_one"), tmp_path("grpo_flip"), "emergence/generations.jsonl");
    th_expect_same_final(tmp_path("grpo_one"), tmp_path("grpo_flip"));
    /* the GRPO steps learned something, or the comparison proves little */
    json_t *m = th_load_metrics(tmp_path("grpo_one/metrics.jsonl"));
    double gn = 0;
    for (size_t i = 0; i < json_array_size(m); i++)
        gn += json_number_value(json_object_get(json_array_get(m, i), "grad_norm"));
    json_decref(m);
    cr_assert_gt(gn, 0.0, "GRPO had no gradient: the base model never earned a reward");
}

/* ---- corruption tests ---- */

static void damage_truncate(const char *ckpt) {
    char p[1200];
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", ckpt);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0, "%s", p);
    cr_assert_eq(truncate(p, sb.st_size / 2), 0);
}

static void damage_flip(const char *ckpt) {
    char p[1200];
    snprintf(p, sizeof p, "%s/optimizer.safetensors", ckpt);
    int fd = open(p, O_RDWR);
    cr_assert(fd >= 0, "%s", p);
    off_t at = lseek(fd, 0, SEEK_END) - 7; /* a second-moment value: size unchanged */
    unsigned char b;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x04;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void damage_state(const char *ckpt) {
    char p[1200];
    snprintf(p, sizeof p, "%s/trainer_state.json", ckpt);
    cr_assert_eq(unlink(p), 0, "%s", p);
}

/* A GRPO LoRA run that got as far as writing final/ has checkpoints 8 and 10
 * (keep_last 2); final/ is removed (a finished run is not trained again), 10
 * is damaged and the same command is run again. */
static void corrupt_and_resume(void (*damage)(const char *), const char *why) {
    make_base();
    grpo_config("ref.yaml", "ref", 1, 12, 2);
    grpo_config("k.yaml", "k", 1, 12, 2);
    int st = run_rlc("train", tmp_path("ref.yaml"), tmp_path("ref.log"), NULL, NULL, 0);
    expect_exit0(st, tmp_path("ref.log"));
    st = run_rlc("train", tmp_path("k.yaml"), tmp_path("k1.log"), NULL, NULL, 0);
    expect_exit0(st, tmp_path("k1.log"));
    cr_assert_eq(newest_ckpt(tmp_path("k"), NULL), 10);
    char rm[1200];
    snprintf(rm, sizeof rm, "rm -rf %s", tmp_path("k/final"));
    cr_assert_eq(system(rm), 0);
    damage(tmp_path("k/checkpoints/checkpoint-10"));
    st = run_rlc("train", tmp_path("k.yaml"), tmp_path("k2.log"), NULL, NULL, 0);
    expect_exit0(st, tmp_path("k2.log"));
    char *log = th_slurp(tmp_path("k2.log"));
    char want[1200];
    snprintf(want, sizeof want, "warning: %s/k/checkpoints/checkpoint-10 skipped: %s", tmpdir, why);
    cr_assert(strstr(log, want), "expected '%s' in:\n%s", want, log);
    free(log);
    expect_resumed_from(tmp_path("k2.log"), tmp_path("k"), 8);
    /* Steps 8..11 ran again from checkpoint 8, replacing the damaged 10. */
    th_expect_same_metrics(tmp_path("ref/metrics.jsonl"), tmp_path("k/metrics.jsonl"));
    expect_same_file(tmp_path("ref"), tmp_path("k"), "emergence/generations.jsonl");
    th_expect_same_final(tmp_path("ref"), tmp_path("k"));
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "%s resume-check %s > %s 2>&1", th_rlc_bin(), tmp_path("k"),
             tmp_path("check.log"));
    cr_assert_eq(system(cmd), 0);
    log = th_slurp(tmp_path("check.log"));
    cr_assert(strstr(log, "2 of 2 checkpoints intact"), "%s", log);
    free(log);
}

Test(resume, corrupt_truncated_adapter_real_resume) {
    corrupt_and_resume(damage_truncate, "adapter_model.safetensors: ");
}

Test(resume, corrupt_flipped_byte_real_resume) {
    corrupt_and_resume(damage_flip, "optimizer.safetensors: checksum mismatch");
}

Test(resume, corrupt_missing_trainer_state_real_resume) {
    corrupt_and_resume(damage_state, "trainer_state.json missing");
}

/* Board games (data.source games): the epoch order of the tasks and the
 * outcome reward's playouts are pure functions of the config and the
 * completion, so a GRPO run on games resumes exactly as well. The base is
 * SFT on random legal nim moves, so that rewards differ within groups. */
static void games_config(const char *file, const char *name, const char *mode, int steps,
                         int save_every) {
    char text[4096];
    snprintf(text, sizeof text,
             "model: {path: \"%s\", from_scratch: %s, layers: 1, hidden: 32, heads: 2,\n"
             "        kv_heads: 2, intermediate: 64, max_seq: 340, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: games, max_prompt_tokens: 300, eval_size: 2, seed: 7}\n"
             "games: {cases: [\"nim(pile_sizes=2;2)\"], num_tasks_per_case: 6,\n"
             "        reward_mode: outcome, opponent: greedy, playouts: 2}\n"
             "rewards: {weights: {game: 1}}\n"
             "algorithm: {group_size: 4, max_new_tokens: 36, temperature: 1.0}\n"
             "training: {mode: %s, steps: %d, batch_size: %d, eval_every: %d, seed: 1}\n"
             "optimizer: {lr: 1.0e-2, warmup_steps: 0}\n"
             "logging: {run_dir: %s, run_name: %s, log_every: 1, tensorboard: false}\n"
             "checkpoint: {save_every: %d, keep_last: 2}\n",
             strcmp(mode, "sft") ? tmp_path("gbase/final") : "",
             strcmp(mode, "sft") ? "false" : "true", mode, steps, strcmp(mode, "sft") ? 2 : 8,
             strcmp(mode, "sft") ? 3 : 0, tmpdir, name, save_every);
    th_write_text(tmp_path(file), text);
}

Test(resume, sigkill_grpo_games) {
    games_config("gbase.yaml", "gbase", "sft", 60, 0);
    int st = run_rlc("sft", tmp_path("gbase.yaml"), tmp_path("gbase.log"), NULL, NULL, 0);
    expect_exit0(st, tmp_path("gbase.log"));
    games_config("ref.yaml", "ref", "grpo", 8, 2);
    games_config("k.yaml", "k", "grpo", 8, 2);
    crash_case cc = {"train", "model.safetensors", 8, 2, 91};
    crash_and_compare(&cc);
    /* the rewards were not all equal: something was learned from them */
    json_t *x = th_load_metrics(tmp_path("ref/metrics.jsonl"));
    double spread = 0;
    for (size_t i = 0; i < json_array_size(x); i++)
        spread += json_number_value(json_object_get(json_array_get(x, i), "reward_std"));
    json_decref(x);
    cr_expect_gt(spread, 0, "every reward of the run was the same");
}
