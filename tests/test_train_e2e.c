/* End to end through the CLI binary ($RLC_BIN, default build/rlc): a tiny
 * byte-level model is trained from scratch by SFT on 1-digit addition, then
 * by GRPO with a format reward, and the GRPO run's mean reward must rise by a
 * clear margin over its steps (read back from metrics.jsonl). */
#include "helpers.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(train_e2e, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* Runs `rlc ARGS` quietly with one thread; returns the exit status. */
static int rlc(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s > %s 2>&1", th_rlc_bin(), args,
             tmp_path("out.log"));
    int rc = system(cmd);
    if (rc) {
        char *text = NULL;
        size_t n = 0;
        FILE *f = fopen(tmp_path("out.log"), "r");
        if (f) {
            text = calloc(1, 1 << 16);
            n = fread(text, 1, (1 << 16) - 1, f);
            fclose(f);
        }
        cr_log_error("rlc %s failed (%d):\n%.*s", args, rc, (int)n, text ? text : "");
        free(text);
    }
    return rc;
}

/* mean_reward of every step line of metrics.jsonl, in order; returns the count. */
static int read_rewards(const char *path, double *out, int cap) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[8192];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        cr_assert_not_null(o, "%s: %s", path, e.text);
        json_t *r = json_object_get(o, "mean_reward");
        cr_assert(json_is_number(r), "%s: step line without mean_reward", path);
        out[n++] = json_number_value(r);
        json_decref(o);
    }
    fclose(f);
    return n;
}

static double mean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

Test(train_e2e, sft_then_grpo_raises_mean_reward, .timeout = 240) {
    /* ASan+UBSan is ~10x slower: fewer GRPO steps, smaller margin, same claim */
    int sanitized = getenv("RLC_SANITIZED") != NULL;
    int steps = sanitized ? 24 : 40, k = sanitized ? 4 : 6;
    double margin = sanitized ? 0.05 : 0.10;
    char text[2048];
    snprintf(
        text, sizeof text,
        "model: {path: \"\", from_scratch: true, layers: 2, hidden: 64, heads: 4, kv_heads: 4,\n"
        "        intermediate: 128, max_seq: 64, seed: 1}\n"
        "tokenizer: {kind: byte, chat: none}\n"
        "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
        "       max_prompt_tokens: 16, eval_size: 20, seed: 7}\n"
        "training: {steps: 60, batch_size: 32, eval_every: 0, seed: 1}\n"
        "optimizer: {lr: 3.0e-3, schedule: cosine, warmup_steps: 5, min_lr_ratio: 0.1,\n"
        "            weight_decay: 0.0}\n"
        "logging: {run_dir: %s, run_name: sft, log_every: 20, tensorboard: false}\n"
        "checkpoint: {save_every: 0, resume: never}\n",
        tmpdir);
    th_write_text(tmp_path("sft.yaml"), text);
    /* stopped early on purpose: the answer format is half learnt, which the
     * format reward then has room to improve */
    snprintf(text, sizeof text,
             "model: {path: %s/sft/final, from_scratch: false}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 20, seed: 7}\n"
             "rewards: {weights: {format_approx: 1.0}}\n"
             "algorithm: {group_size: 8, max_new_tokens: 20, temperature: 1.0}\n"
             "training: {steps: %d, batch_size: 16, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-3, schedule: constant, warmup_steps: 0, weight_decay: 0.0}\n"
             "logging: {run_dir: %s, run_name: grpo, log_every: 5, tensorboard: false}\n"
             "checkpoint: {save_every: 0, resume: never}\n",
             tmpdir, steps, tmpdir);
    th_write_text(tmp_path("grpo.yaml"), text);

    char args[1024];
    snprintf(args, sizeof args, "sft %s", tmp_path("sft.yaml"));
    cr_assert_eq(rlc(args), 0);
    snprintf(args, sizeof args, "train %s", tmp_path("grpo.yaml"));
    cr_assert_eq(rlc(args), 0);

    double r[64];
    int n = read_rewards(tmp_path("grpo/metrics.jsonl"), r, 64);
    cr_assert_eq(n, steps, "metrics.jsonl has %d step lines, want %d", n, steps);
    double first = mean(r, k), last = mean(r + n - k, k);
    cr_expect_gt(last, first + margin,
                 "mean reward did not rise: first %d steps %.3f, last %d steps %.3f (want +%.2f)",
                 k, first, k, last, margin);
    FILE *f = fopen(tmp_path("grpo/final/model.safetensors"), "r");
    cr_expect_not_null(f, "no final model");
    if (f) fclose(f);
}
