/* rlc diff, rlc status, rlc init and rlc top through the CLI binary
 * ($RLC_BIN), on tiny SFT and GRPO runs trained from scratch (milliseconds a
 * step).
 *
 * diff: two runs that differ in optimizer.lr and logging.log_every list both
 * (the latter marked as a key a rerun may change) and exit 1; a run against
 * its own config.yaml exits 0 with nothing printed; a missing path or a bad
 * config exits 2. status: a finished run, a run stopped by SIGTERM, a fake
 * crashed run (old metrics.jsonl, no final/) and a fake live one, each with
 * its status, steps and last values. init: the starter config of each mode
 * (from scratch, and on a model directory) passes --check. top: --once on a
 * finished SFT run, a finished GRPO run (status, step/total, last loss or
 * reward, rows, the log's warnings) and a fake live run (whole frame); the
 * full screen in a tmux pane of its own server: shown, then gone with exit 0
 * after q and after Ctrl-C. */
#include "helpers.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(runtools, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define RUN_LIMIT_S 300

/* `cd tmpdir && rlc ARGS`: out.txt, err.txt; the exit code. */
static int rlc(const char *args) {
    return th_rlc_run(tmpdir, th_rlc_bin_abs(), args);
}

static void dump(const char *name) {
    char *t = th_slurp(tmp_path(name));
    cr_log_error("%s:\n%s", name, t ? t : "(missing)");
    free(t);
}

/* A tiny from-scratch SFT config in tmpdir/file writing tmpdir/dir/name. */
static void sft_config(const char *file, const char *dir, const char *name, int steps,
                       const char *lr, int log_every) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, "
             "kv_heads: 2,\n        intermediate: 64, max_seq: 48, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 4, seed: 7}\n"
             "training: {steps: %d, batch_size: 16, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: %s, schedule: constant}\n"
             "logging: {run_dir: %s/%s, run_name: %s, log_every: %d, tensorboard: false}\n"
             "checkpoint: {save_every: 0, keep_last: 2}\n",
             steps, lr, tmpdir, dir, name, log_every);
    th_write_text(tmp_path(file), text);
}

static void run_to_end(const char *cfg) {
    char args[256];
    snprintf(args, sizeof args, "sft %s", cfg);
    int rc = rlc(args);
    if (rc) dump("err.txt");
    cr_assert_eq(rc, 0, "rlc %s: exit %d", args, rc);
}

static void expect_out(const char *needle) {
    char *t = th_slurp(tmp_path("out.txt"));
    cr_assert_not_null(t);
    int ok = strstr(t, needle) != NULL;
    if (!ok) cr_log_error("out.txt:\n%s", t);
    free(t);
    cr_assert(ok, "expected '%s' in the output", needle);
}

/* ---- diff ---- */

Test(runtools, diff_lists_changed_keys) {
    sft_config("a.yaml", ".", "a", 2, "1.0e-2", 1);
    sft_config("b.yaml", ".", "b", 2, "2.0e-2", 2);
    run_to_end("a.yaml");
    run_to_end("b.yaml");
    cr_assert_eq(rlc("diff a b"), 1);
    char *t = th_slurp(tmp_path("out.txt"));
    cr_assert_str_eq(t, "optimizer.lr: 0.01 -> 0.02\n"
                        "logging.run_name: a -> b  (may change on rerun)\n"
                        "logging.log_every: 1 -> 2  (may change on rerun)\n");
    free(t);
    /* a run directory against a config file */
    cr_assert_eq(rlc("diff a b/config.yaml"), 1);
    expect_out("optimizer.lr: 0.01 -> 0.02\n");
}

Test(runtools, diff_equal_exits_0) {
    sft_config("a.yaml", ".", "a", 2, "1.0e-2", 1);
    run_to_end("a.yaml");
    cr_assert_eq(rlc("diff a a/config.yaml"), 0);
    char *t = th_slurp(tmp_path("out.txt"));
    cr_assert_str_eq(t, "");
    free(t);
}

Test(runtools, diff_bad_input_exits_2) {
    sft_config("a.yaml", ".", "a", 2, "1.0e-2", 1);
    cr_assert_eq(rlc("diff a.yaml missing.yaml"), 2);
    cr_assert_eq(rlc("diff a.yaml"), 2);
    mkdir(tmp_path("empty"), 0755);
    cr_assert_eq(rlc("diff a.yaml empty"), 2);
    th_write_text(tmp_path("bad.yaml"), "optimizer: {lrr: 1}\n");
    cr_assert_eq(rlc("diff a.yaml bad.yaml"), 2);
    char *t = th_slurp(tmp_path("err.txt"));
    cr_assert(strstr(t, "bad.yaml") && strstr(t, "lrr"), "%s", t);
    free(t);
    cr_assert_eq(rlc("diff --help"), 0);
}

/* ---- status ---- */

/* The status line of run name: its columns split at spaces into col[0..9]. */
static int status_cols(const char *name, char col[9][64]) {
    char *t = th_slurp(tmp_path("out.txt"));
    cr_assert_not_null(t);
    int found = 0;
    for (char *line = strtok(t, "\n"); line && !found; line = strtok(NULL, "\n")) {
        char first[256];
        if (sscanf(line, "%255s", first) != 1 || strcmp(first, name)) continue;
        found = sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %63s %63s", col[0], col[1], col[2],
                       col[3], col[4], col[5], col[6], col[7], col[8]) == 9;
    }
    if (!found) cr_log_error("out.txt:\n%s", t);
    free(t);
    return found;
}

Test(runtools, status_of_finished_stopped_crashed_running) {
    mkdir(tmp_path("runs"), 0755);
    mkdir(tmp_path("runs/grp"), 0755);
    sft_config("f.yaml", "runs", "f", 4, "1.0e-2", 1);
    run_to_end("f.yaml");
    /* a long run stopped by SIGTERM after a few steps */
    sft_config("s.yaml", "runs/grp", "s", 2000, "1.0e-2", 1);
    pid_t pid = th_spawn_sft(tmp_path("s.yaml"), tmp_path("s.log"), 0, NULL);
    for (time_t t0 = time(NULL); th_count_lines(tmp_path("runs/grp/s/metrics.jsonl")) < 3;) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            dump("s.log");
            cr_assert_fail("the run ended before 3 steps");
        }
        if (time(NULL) - t0 > RUN_LIMIT_S) {
            kill(pid, SIGKILL);
            cr_assert_fail("no 3 steps after %d s", RUN_LIMIT_S);
        }
        usleep(1000);
    }
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 143) dump("s.log");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 143, "status %#x", st);
    int stopped_steps = th_count_lines(tmp_path("runs/grp/s/metrics.jsonl"));
    /* a crashed run: metrics written an hour ago, no final/, no STOPPED */
    th_write_file(tmp_path("runs/c/metrics.jsonl"),
                  "{\"step\":0,\"condition\":\"grpo+none\",\"mean_reward\":0.25,"
                  "\"correct_rate\":0.5,\"step_time_s\":1}\n"
                  "{\"step\":1,\"condition\":\"grpo+none\",\"mean_reward\":0.75,"
                  "\"correct_rate\":0.625,\"eval/accuracy\":0.375,\"step_time_s\":1}\n");
    th_set_age(tmp_path("runs/c/metrics.jsonl"), 3600);
    /* a live one: just written, 10 steps of 2 s each in its config */
    th_write_file(tmp_path("runs/live/metrics.jsonl"),
                  "{\"step\":0,\"condition\":\"grpo+none\",\"mean_reward\":1,"
                  "\"correct_rate\":1,\"step_time_s\":2}\n"
                  "{\"step\":1,\"condition\":\"grpo+none\",\"mean_reward\":1,"
                  "\"correct_rate\":1,\"step_time_s\":2}\n");
    th_write_file(tmp_path("runs/live/config.yaml"), "training: {steps: 10}\n");

    cr_assert_eq(rlc("status runs"), 0);
    char col[9][64], want[64];
    cr_assert(status_cols("f", col));
    cr_assert_str_eq(col[1], "sft+ce");
    cr_assert_str_eq(col[2], "finished");
    cr_assert_str_eq(col[3], "4/4");
    cr_assert_str_eq(col[7], "-"); /* no ETA once finished */

    cr_assert(status_cols("grp/s", col));
    cr_assert_str_eq(col[2], "stopped");
    snprintf(want, sizeof want, "%d/2000", stopped_steps);
    cr_assert_str_eq(col[3], want);

    cr_assert(status_cols("c", col));
    cr_assert_str_eq(col[1], "grpo+none");
    cr_assert_str_eq(col[2], "crashed");
    cr_assert_str_eq(col[3], "2/?"); /* no config.yaml: total unknown */
    cr_assert_str_eq(col[4], "0.750");
    cr_assert_str_eq(col[5], "0.625");
    cr_assert_str_eq(col[6], "0.375");
    /* th_set_age drops the fraction of a second: 3600 to 3601 s */
    cr_assert(!strcmp(col[8], "1:00:00") || !strcmp(col[8], "1:00:01"), "age %s", col[8]);

    cr_assert(status_cols("live", col));
    cr_assert_str_eq(col[2], "running");
    cr_assert_str_eq(col[3], "2/10");
    cr_assert_str_eq(col[7], "00:16"); /* 8 steps left at 2 s */

    /* a run right under RUNS_DIR is named by its folder */
    cr_assert_eq(rlc("status runs/grp"), 0);
    cr_assert(status_cols("s", col));
    cr_assert_str_eq(col[2], "stopped");
    cr_assert_eq(rlc("status missing"), 2);
}

Test(runtools, status_watch_redraws) {
    th_write_file(tmp_path("runs/c/metrics.jsonl"), "{\"step\":0}\n");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && timeout --preserve-status -s INT 3.5 %s status runs --watch 1 > out.txt",
             tmpdir, th_rlc_bin_abs());
    int rc = system(cmd);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "status %#x", rc);
    char *t = th_slurp(tmp_path("out.txt"));
    int headers = 0;
    for (const char *p = t; (p = strstr(p, "step/total")); p++)
        headers++;
    free(t);
    cr_assert_geq(headers, 2, "expected at least 2 redraws in 3.5 s, got %d", headers);
}

/* ---- init ---- */

Test(runtools, init_configs_pass_check) {
    cr_assert_eq(rlc("init --mode sft --out s.yaml"), 0);
    cr_assert_eq(rlc("sft s.yaml --check"), 0);
    cr_assert_eq(rlc("init --out g.yaml"), 0);
    cr_assert_eq(rlc("train g.yaml --check"), 0);
    char *t = th_slurp(tmp_path("g.yaml"));
    /* every key with its help: a GRPO key the SFT starter leaves out */
    cr_assert(strstr(t, "  group_size: ") && strstr(t, "# "), "%s", t);
    free(t);
    t = th_slurp(tmp_path("s.yaml"));
    cr_assert_null(strstr(t, "  group_size: "), "an SFT starter lists a GRPO-only key");
    free(t);
    /* on a model directory: model.path set, LoRA on */
    th_make_byte_base(tmp_path("base"), 10000.0f);
    cr_assert_eq(rlc("init --model base --out m.yaml"), 0);
    cr_assert_eq(rlc("train m.yaml --check"), 0);
    t = th_slurp(tmp_path("m.yaml"));
    cr_assert(strstr(t, "  path: base ") && strstr(t, "  enabled: true "), "%s", t);
    free(t);
    /* refused: an existing file, a folder that is no model, a bad mode */
    cr_assert_eq(rlc("init --out m.yaml"), 2);
    cr_assert_eq(rlc("init --model runs --out x.yaml"), 2);
    cr_assert_eq(rlc("init --mode ppo"), 2);
    /* stdout without --out */
    cr_assert_eq(rlc("init --mode sft"), 0);
    expect_out("# rlc starter configuration (rlc init --mode sft)");
}

/* ---- top ---- */

/* The last line's value of key in run/metrics.jsonl as rlc top prints it
 * ("%.4g"), into out. */
static void last_value_text(const char *run, const char *key, char *out, size_t cap) {
    char path[128];
    snprintf(path, sizeof path, "%.64s/metrics.jsonl", run);
    char *t = th_slurp(tmp_path(path));
    cr_assert_not_null(t);
    char *end = t + strlen(t) - 1, *line = end;
    while (line > t && line[-1] != '\n')
        line--;
    char want[128];
    snprintf(want, sizeof want, "\"%s\":", key);
    char *at = strstr(line, want);
    cr_assert_not_null(at, "no %s in the last line of %s", key, path);
    snprintf(out, cap, "last %.4g", strtod(at + strlen(want), NULL));
    free(t);
}

Test(runtools, top_once_finished_sft) {
    sft_config("f.yaml", ".", "f", 4, "1.0e-2", 1);
    run_to_end("f.yaml");
    cr_assert_eq(rlc("top --once f"), 0);
    expect_out("f  sft+ce  finished  step 4/4  eta -  updated ");
    expect_out("100% [####################] 4/4 ");
    char want[64];
    last_value_text("f", "loss", want, sizeof want);
    expect_out(want);
    expect_out("\n step     loss    gnorm      lr\n");
    expect_out("\n    3 ");
    cr_assert_eq(rlc("top --help"), 0);
    expect_out("usage: rlc top RUN_DIR");
    cr_assert_eq(rlc("top missing"), 2);
    cr_assert_eq(rlc("top"), 2);
    cr_assert_eq(rlc("top f --interval 0"), 2);
    /* a folder of runs, or one without metrics.jsonl, is no run */
    cr_assert_eq(rlc("top --once ."), 2);
    char *t = th_slurp(tmp_path("err.txt"));
    cr_assert(strstr(t, "holds runs but is none: rlc top ./f"), "%s", t);
    free(t);
    mkdir(tmp_path("empty"), 0755);
    cr_assert_eq(rlc("top --once empty"), 2);
}

Test(runtools, top_once_grpo) {
    th_write_text(tmp_path("g.yaml"), TH_TINY_GRPO_YAML(".", "g"));
    int rc = rlc("train g.yaml");
    if (rc) dump("err.txt");
    cr_assert_eq(rc, 0);
    cr_assert_eq(rlc("top --once g"), 0);
    expect_out("g  grpo+none  finished  step 4/4  eta -  updated ");
    char want[64];
    last_value_text("g", "mean_reward", want, sizeof want);
    char line[96];
    snprintf(line, sizeof line, "\nreward ");
    expect_out(line);
    expect_out(want);
    expect_out("\n step reward correct     loss    gnorm      lr  eval\n");
    expect_out("\n    3 ");
    /* every reward 0 at this size: the trainer's zero-std warning, from logs/ */
    expect_out("no learning signal");
}

/* A live fake run: 2 steps of 2 s, rewards 0.25 then 0.75, 10 steps in its
 * config, one warning in its log. */
static void fake_live_run(void) {
    th_write_file(tmp_path("live/metrics.jsonl"),
                  "{\"step\":0,\"condition\":\"grpo+none\",\"loss\":0.5,\"mean_reward\":0.25,"
                  "\"correct_count\":1,\"total_count\":4,\"step_time_s\":2}\n"
                  "{\"step\":1,\"condition\":\"grpo+none\",\"loss\":0.25,\"mean_reward\":0.75,"
                  "\"correct_count\":3,\"total_count\":4,\"eval/accuracy\":0.375,"
                  "\"step_time_s\":2}\n");
    th_write_file(tmp_path("live/config.yaml"), "training: {steps: 10}\n");
    th_write_file(tmp_path("live/logs/20260101T000000_live.log"),
                  "2026-01-01 00:00:00.000 INFO  step 0\n"
                  "2026-01-01 00:00:01.000 WARN  step 1: grad norm spike\n");
}

Test(runtools, top_once_live) {
    fake_live_run();
    cr_assert_eq(rlc("top --once live"), 0);
    expect_out("live  grpo+none  running  step 2/10  eta 00:16  updated ");
    expect_out(" 20% [####                ] 2/10 00:04<00:16 2.00s/step\n");
    expect_out("\nreward ▁█  last 0.75  (means 0.25 .. 0.75)\n"
               "loss   █▁  last 0.25  (means 0.25 .. 0.5)\n\n"
               " step reward correct     loss  eval\n"
               "    0  0.250     1/4  +0.5000     -\n"
               "    1  0.750     3/4  +0.2500 0.375\n\n"
               "warnings (1 in the newest log, the last 1):\n"
               "  00:00:01 step 1: grad norm spike\n");
}

/* `tmux -S tmpdir/tmux.sock ARGS` (a server of the test's own); its exit code. */
static int tmux(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && tmux -u -S tmux.sock %s > tmux.txt 2>&1", tmpdir, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Polls the pane (up to 10 s) until it holds every string of want and none
 * of unwanted (may be NULL); the last capture stays in tmux.txt. */
static int pane_shows(const char *const *want, const char *unwanted) {
    for (int tries = 0; tries < 100; tries++, usleep(100000)) {
        if (tmux("capture-pane -p -t top")) continue;
        char *t = th_slurp(tmp_path("tmux.txt"));
        int ok = t && (!unwanted || !strstr(t, unwanted));
        for (int i = 0; ok && want[i]; i++)
            ok = strstr(t, want[i]) != NULL;
        free(t);
        if (ok) return 1;
    }
    dump("tmux.txt");
    return 0;
}

Test(runtools, top_in_tmux) {
    cr_assert_eq(system("command -v tmux > /dev/null"), 0,
                 "tmux is missing (scripts/deps.sh test installs it)");
    fake_live_run();
    th_write_text(tmp_path("cmd.txt"), th_rlc_bin_abs());
    char args[1024];
    snprintf(args, sizeof args,
             "new-session -d -s top -x 100 -y 30 "
             "\"echo before-top; %s top live --interval 0.2; echo exit=\\$?; sleep 600\"",
             th_rlc_bin_abs());
    cr_assert_eq(tmux(args), 0);
    int shown = pane_shows((const char *const[]){"live  grpo+none  running  step 2/10",
                                                 "(every 0.2s, q quits)", "reward ▁█",
                                                 "grad norm spike", NULL},
                           "before-top");
    if (shown) tmux("send-keys -t top q");
    /* the alternate screen left: the shell's line back, the view gone */
    int restored =
        shown && pane_shows((const char *const[]){"before-top", "exit=0", NULL}, "q quits");
    /* Ctrl-C quits the same way */
    int ctrl_c = 0;
    if (restored &&
        !tmux("respawn-pane -k -t top \"echo again; "
              "$(cat cmd.txt) top live; echo code=\\$?; sleep 600\"") &&
        pane_shows((const char *const[]){"q quits", NULL}, "again") &&
        !tmux("send-keys -t top C-c"))
        ctrl_c = pane_shows((const char *const[]){"again", "code=0", NULL}, "q quits");
    tmux("kill-server");
    cr_assert(shown, "the view never showed (tmux.txt above)");
    cr_assert(restored, "no exit 0 with the screen restored after q");
    cr_assert(ctrl_c, "no exit 0 with the screen restored after Ctrl-C");
}
