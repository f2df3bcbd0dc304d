/* Bad input to `rlc sft` / `rlc train` ($RLC_BIN, default build/rlc): each case
 * must fail before training starts, with one clear line on stderr and a
 * non-zero exit, and no step written to metrics.jsonl. */
#include "helpers.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

TestSuite(train_cli, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* Runs `rlc ARGS` with stderr captured; returns the exit code and the stderr text. */
static int rlc(const char *args, char *err, size_t cap) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s > %s 2> %s", bin, args, tmp_path("stdout"),
             tmp_path("stderr"));
    int rc = system(cmd);
    FILE *f = fopen(tmp_path("stderr"), "r");
    cr_assert_not_null(f);
    size_t n = fread(err, 1, cap - 1, f);
    err[n] = 0;
    fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* A from-scratch arithmetic config with run_dir in the test's directory. */
static const char *base_config(const char *mode_extra) {
    static char text[2048];
    snprintf(
        text, sizeof text,
        "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, kv_heads: 2,\n"
        "        intermediate: 64, max_seq: 256, seed: 1}\n"
        "tokenizer: {kind: byte, chat: none}\n"
        "training: {steps: 3, batch_size: 4, eval_every: 0}\n"
        "optimizer: {warmup_steps: 0}\n"
        "logging: {run_dir: %s/runs, run_name: r, tensorboard: false}\n"
        "checkpoint: {save_every: 0}\n"
        "%s",
        tmpdir, mode_extra);
    return text;
}

/* One line, non-zero exit, the needles present, no training step written. */
static void expect_clean_failure(int rc, const char *err, const char *const *needles) {
    cr_expect_neq(rc, 0, "exit code 0 on bad input");
    cr_expect_lt(rc, 128, "crashed (status %d): %s", rc, err);
    size_t len = strlen(err);
    cr_expect(len > 0 && strchr(err, '\n') == err + len - 1, "want exactly one line, got: %s", err);
    for (int i = 0; needles[i]; i++)
        cr_expect(strstr(err, needles[i]), "error should mention '%s': %s", needles[i], err);
    FILE *f = fopen(tmp_path("runs/r/metrics.jsonl"), "r");
    if (f) {
        char line[256];
        cr_expect_null(fgets(line, sizeof line, f), "a step was written: %s", line);
        fclose(f);
    }
}

Test(train_cli, config_typo_names_key_and_nearest) {
    char text[2560], err[4096], args[600];
    snprintf(text, sizeof text, "%salgorithm: {grop_size: 4}\n", base_config(""));
    th_write_text(tmp_path("c.yaml"), text);
    snprintf(args, sizeof args, "train %s", tmp_path("c.yaml"));
    int rc = rlc(args, err, sizeof err);
    expect_clean_failure(
        rc, err, (const char *const[]){"grop_size", "algorithm.group_size", "c.yaml", NULL});
    /* the same typo as an override */
    th_write_text(tmp_path("c.yaml"), base_config(""));
    snprintf(args, sizeof args, "sft %s training.stesp=5", tmp_path("c.yaml"));
    rc = rlc(args, err, sizeof err);
    expect_clean_failure(rc, err, (const char *const[]){"training.stesp", "training.steps", NULL});
}

Test(train_cli, missing_model_directory) {
    char text[2560], err[4096], args[600];
    snprintf(text, sizeof text,
             "model: {path: %s/no_such_model, from_scratch: false}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "training: {steps: 3, batch_size: 4, eval_every: 0}\n"
             "optimizer: {warmup_steps: 0}\n"
             "logging: {run_dir: %s/runs, run_name: r, tensorboard: false}\n",
             tmpdir, tmpdir);
    th_write_text(tmp_path("c.yaml"), text);
    snprintf(args, sizeof args, "train %s", tmp_path("c.yaml"));
    int rc = rlc(args, err, sizeof err);
    expect_clean_failure(rc, err, (const char *const[]){"model.path", "no_such_model", NULL});
}

static void jsonl_case(const char *data, const char *const *needles) {
    char extra[1024], err[4096], args[600];
    th_write_text(tmp_path("d.jsonl"), data);
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, eval_path: %s, prompt_key: question,\n"
             "       answer_key: answer}\n",
             tmp_path("d.jsonl"), tmp_path("d.jsonl"));
    th_write_text(tmp_path("c.yaml"), base_config(extra));
    snprintf(args, sizeof args, "sft %s", tmp_path("c.yaml"));
    int rc = rlc(args, err, sizeof err);
    expect_clean_failure(rc, err, needles);
}

Test(train_cli, malformed_jsonl_line_is_named) {
    jsonl_case("{\"question\": \"1+1\", \"answer\": \"#### 2\"}\n"
               "{\"question\": \"2+2\", \"answer\": \"#### 4\"}\n"
               "{\"question\": \"3+3\", \"answer\": \"#### 6\"\n"
               "{\"question\": \"4+4\", \"answer\": \"#### 8\"}\n",
               (const char *const[]){"d.jsonl:3", NULL});
}

Test(train_cli, empty_data_set) {
    jsonl_case("", (const char *const[]){"d.jsonl", "no examples", NULL});
}

Test(train_cli, group_size_one_with_grpo) {
    char text[2560], err[4096], args[600];
    snprintf(text, sizeof text, "%salgorithm: {group_size: 1}\n", base_config(""));
    th_write_text(tmp_path("c.yaml"), text);
    snprintf(args, sizeof args, "train %s", tmp_path("c.yaml"));
    int rc = rlc(args, err, sizeof err);
    expect_clean_failure(rc, err, (const char *const[]){"group_size", NULL});
}

Test(train_cli, check_validates_without_running) {
    char text[2560], err[4096], args[600];
    th_write_text(tmp_path("c.yaml"), base_config(""));
    snprintf(args, sizeof args, "train %s algorithm.advantage=maxrl --check", tmp_path("c.yaml"));
    int rc = rlc(args, err, sizeof err);
    cr_expect_eq(rc, 0, "--check on a valid config: exit %d, %s", rc, err);
    struct stat sb;
    cr_expect_neq(stat(tmp_path("runs"), &sb), 0, "--check wrote a run directory");
    /* a bad override and a cross-field rule are both refused, before any run */
    snprintf(args, sizeof args, "train %s --check algorithm.advantage=nope", tmp_path("c.yaml"));
    rc = rlc(args, err, sizeof err);
    expect_clean_failure(rc, err, (const char *const[]){"algorithm.advantage", "nope", NULL});
    cr_expect_eq(rc, 2);
    snprintf(text, sizeof text, "%salgorithm: {group_size: 1}\n", base_config(""));
    th_write_text(tmp_path("c.yaml"), text);
    snprintf(args, sizeof args, "train %s --check", tmp_path("c.yaml"));
    rc = rlc(args, err, sizeof err);
    expect_clean_failure(rc, err, (const char *const[]){"group_size", NULL});
    cr_expect_eq(rc, 2);
    cr_expect_neq(stat(tmp_path("runs"), &sb), 0, "--check wrote a run directory");
}
