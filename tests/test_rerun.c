/* Reruns and signal stops through the CLI binary ($RLC_BIN, default build/rlc),
 * on a tiny SFT run trained from scratch (a few milliseconds a step).
 *
 * Reruns: a changed setting that changes the experiment is refused with every
 * differing key and the ways out, and leaves every file of the run directory as
 * it was (path, size, content hash, inode and mtime compared); resume=never on
 * a run is refused the same way; resume=overwrite removes the old run's files
 * (and only those); a finished run rerun says it is complete and touches
 * nothing; a grown training.steps continues from the newest checkpoint and
 * ends with the losses of a run that had the longer schedule from the start;
 * a LoRA checkpoint against a full-model run (and the reverse) is named.
 *
 * Signals: SIGINT and SIGTERM stop after the current step with a checkpoint,
 * RUN_DIR/STOPPED and exit 130 / 143; a second SIGINT during a long step exits
 * 130 at once without a checkpoint; a SIGINT ignored at spawn stays ignored. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/crc32c.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(rerun, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define RUN_LIMIT_S 300 /* one rlc run, also under ASan on a busy machine */

static int exists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* ---- running rlc ---- */

static void dump_log(const char *log) {
    char *t = th_slurp(log);
    cr_log_error("%s:\n%s", log, t ? t : "(missing)");
    free(t);
}

/* Waits for pid (our own watchdog); returns the wait status. */
static int wait_for(pid_t pid, const char *log) {
    int status = 0;
    for (time_t t0 = time(NULL);;) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        if (time(NULL) - t0 > RUN_LIMIT_S) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_log(log);
            cr_assert_fail("rlc still running after %d s (log: %s)", RUN_LIMIT_S, log);
        }
        usleep(2000);
    }
}

/* Waits until path has at least n lines while pid runs. */
static void wait_lines(pid_t pid, const char *path, int n, const char *log) {
    for (time_t t0 = time(NULL); th_count_lines(path) < n;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            dump_log(log);
            cr_assert_fail("rlc exited (status %#x) before %s had %d lines", status, path, n);
        }
        if (time(NULL) - t0 > RUN_LIMIT_S) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s: no %d lines after %d s", path, n, RUN_LIMIT_S);
        }
        usleep(500);
    }
}

/* Runs to the end; returns the exit code (a death by signal fails the test). */
static int run_sft(const char *cfg, const char *log, const char *const *args) {
    int status = wait_for(th_spawn_sft(cfg, log, 0, args), log);
    if (!WIFEXITED(status)) dump_log(log);
    cr_assert(WIFEXITED(status), "rlc died (status %#x)", status);
    return WEXITSTATUS(status);
}

static void expect_in_log(const char *log, const char *needle) {
    char *t = th_slurp(log);
    cr_assert_not_null(t, "%s", log);
    int ok = strstr(t, needle) != NULL;
    if (!ok) cr_log_error("%s:\n%s", log, t);
    free(t);
    cr_assert(ok, "expected '%s' in %s", needle, log);
}

static void expect_not_in_log(const char *log, const char *needle) {
    char *t = th_slurp(log);
    cr_assert_not_null(t, "%s", log);
    int bad = strstr(t, needle) != NULL;
    if (bad) cr_log_error("%s:\n%s", log, t);
    free(t);
    cr_assert(!bad, "unexpected '%s' in %s", needle, log);
}

/* ---- snapshots of a run directory ---- */

static FILE *snap_out;
static size_t snap_root;

static uint64_t fnv1a(const char *path) {
    uint64_t h = 1469598103934665603ull;
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    int c;
    while ((c = getc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 1099511628211ull;
    fclose(f);
    return h;
}

static int snap_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)ftw;
    fprintf(snap_out, "%s %c ino=%ju mtime=%jd.%09ld", path + snap_root, flag == FTW_F ? 'f' : 'd',
            (uintmax_t)sb->st_ino, (intmax_t)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec);
    if (flag == FTW_F)
        fprintf(snap_out, " bytes=%jd fnv=%016" PRIx64, (intmax_t)sb->st_size, fnv1a(path));
    fputc('\n', snap_out);
    return 0;
}

static int line_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file and folder under dir: path, inode, mtime, size and content hash,
 * one line each, sorted (malloc'd). */
static char *snapshot(const char *dir) {
    char *text = NULL;
    size_t len = 0;
    snap_out = open_memstream(&text, &len);
    snap_root = strlen(dir);
    cr_assert_eq(nftw(dir, snap_entry, 16, FTW_PHYS), 0, "%s", dir);
    fclose(snap_out);
    char *lines[4096];
    int n = 0;
    for (char *p = strtok(text, "\n"); p && n < 4096; p = strtok(NULL, "\n"))
        lines[n++] = p;
    qsort(lines, (size_t)n, sizeof *lines, line_cmp);
    char *out = NULL;
    size_t olen = 0;
    FILE *m = open_memstream(&out, &olen);
    for (int i = 0; i < n; i++)
        fprintf(m, "%s\n", lines[i]);
    fclose(m);
    free(text);
    return out;
}

static void expect_unchanged(const char *before, const char *dir) {
    char *after = snapshot(dir);
    int same = !strcmp(before, after);
    if (!same) cr_log_error("before:\n%s\nafter:\n%s", before, after);
    free(after);
    cr_assert(same, "%s changed", dir);
}

/* ---- configs ---- */

/* An SFT config writing tmpdir/NAME: a 1-layer byte model from scratch
 * (wide = a model whose steps take seconds). */
static void sft_config(const char *file, const char *name, int steps, int save_every, int lora,
                       int wide) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: %d, hidden: %d, heads: 2, "
             "kv_heads: 2,\n        intermediate: %d, max_seq: 48, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 4, seed: 7}\n"
             "lora: {enabled: %s, rank: 4, alpha: 8, targets: [q_proj, v_proj]}\n"
             "training: {steps: %d, batch_size: %d, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-2, schedule: constant}\n"
             "logging: {run_dir: %s, run_name: %s, log_every: 1, tensorboard: true}\n"
             "checkpoint: {save_every: %d, keep_last: 2}\n",
             wide ? 4 : 1, wide ? 512 : 32, wide ? 2048 : 64, lora ? "true" : "false", steps,
             wide ? 64 : 16, tmpdir, name, save_every);
    th_write_text(tmp_path(file), text);
}

/* A finished 6-step run in tmpdir/a (checkpoints 2 and 4, final/), log a0.log. */
static void finished_run(int lora) {
    sft_config("a.yaml", "a", 6, 2, lora, 0);
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a0.log"), NULL), 0);
    cr_assert(exists(tmp_path("a/final")));
    cr_assert(exists(tmp_path("a/checkpoints/checkpoint-4/config.yaml")));
}

/* ---- reruns ---- */

Test(rerun, changed_settings_refused_nothing_changed) {
    finished_run(0);
    char *before = snapshot(tmp_path("a"));
    const char *args[] = {"optimizer.lr=0.02", "training.batch_size=8", "logging.log_every=2",
                          NULL};
    int rc = run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), args);
    cr_assert_eq(rc, 2, "a refused rerun exits 2, got %d", rc);
    /* Every key that changes the experiment, old -> new; not the logging one. */
    expect_in_log(tmp_path("a1.log"), "training.batch_size: 16 -> 8, optimizer.lr: 0.01 -> 0.02");
    expect_not_in_log(tmp_path("a1.log"), "logging.log_every");
    expect_in_log(tmp_path("a1.log"), "new logging.run_name");
    expect_in_log(tmp_path("a1.log"), "checkpoint.resume=overwrite");
    expect_unchanged(before, tmp_path("a"));
    free(before);

    /* Unfinished (final/ gone): compared with the newest checkpoint's config. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf %s/a/final %s/a/config.yaml", tmpdir, tmpdir);
    cr_assert_eq(system(cmd), 0);
    before = snapshot(tmp_path("a"));
    rc = run_sft(tmp_path("a.yaml"), tmp_path("a2.log"), args);
    cr_assert_eq(rc, 2);
    expect_in_log(tmp_path("a2.log"), "checkpoints/checkpoint-4/config.yaml");
    expect_in_log(tmp_path("a2.log"), "training.batch_size: 16 -> 8, optimizer.lr: 0.01 -> 0.02");
    expect_unchanged(before, tmp_path("a"));
    free(before);
}

Test(rerun, resume_never_on_a_run_refused) {
    finished_run(0);
    char *before = snapshot(tmp_path("a"));
    const char *args[] = {"checkpoint.resume=never", NULL};
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), args), 2);
    expect_in_log(tmp_path("a1.log"), "already holds a run (checkpoints/, final/, metrics.jsonl)");
    expect_in_log(tmp_path("a1.log"), "checkpoint.resume=overwrite");
    expect_unchanged(before, tmp_path("a"));
    free(before);
}

Test(rerun, overwrite_removes_the_old_run_only) {
    finished_run(0);
    th_write_text(tmp_path("a/notes.txt"), "mine\n");
    const char *args[] = {"checkpoint.resume=overwrite", "optimizer.lr=0.02", "training.steps=3",
                          NULL};
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), args), 0);
    expect_not_in_log(tmp_path("a1.log"), "resuming from");
    /* Fresh: 3 steps, one checkpoint (2), the new config; checkpoint-4 gone. */
    cr_assert_eq(th_count_lines(tmp_path("a/metrics.jsonl")), 3);
    cr_assert(exists(tmp_path("a/checkpoints/checkpoint-2")));
    cr_assert(!exists(tmp_path("a/checkpoints/checkpoint-4")));
    char *cfg = th_slurp(tmp_path("a/config.yaml"));
    cr_assert(strstr(cfg, "lr: 0.02"), "%s", cfg);
    free(cfg);
    char *state = th_slurp(tmp_path("a/final/trainer_state.json"));
    cr_assert(state && strstr(state, "\"step\": 3,"), "%s", state ? state : "(missing)");
    free(state);
    /* One log file: the old run's logs/ went with it. */
    DIR *d = opendir(tmp_path("a/logs"));
    cr_assert_not_null(d);
    int logs = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        logs += e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(logs, 1);
    char *mine = th_slurp(tmp_path("a/notes.txt"));
    cr_assert(mine && !strcmp(mine, "mine\n"), "a file rlc did not write was touched");
    free(mine);
}

Test(rerun, finished_run_is_complete_and_untouched) {
    finished_run(0);
    char *state = th_slurp(tmp_path("a/final/trainer_state.json"));
    cr_assert(state && strstr(state, "\"step\": 6,"), "%s", state ? state : "(missing)");
    free(state);
    char *before = snapshot(tmp_path("a"));
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), NULL), 0);
    expect_in_log(tmp_path("a1.log"), "is complete (step 6 of 6)");
    expect_not_in_log(tmp_path("a1.log"), "resuming from");
    expect_unchanged(before, tmp_path("a"));
    free(before);
}

/* training.stop_at_accuracy: the run ends at the first evaluation that
 * reaches it (every earlier one below), final/ records it, and a rerun with
 * the same config is complete and touches nothing; another target is refused,
 * and the key without evaluations is an error. */
Test(rerun, stop_at_accuracy_ends_the_run_and_is_complete) {
    char text[1024];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, "
             "kv_heads: 2,\n        intermediate: 64, max_seq: 48, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 8, seed: 7}\n"
             "training: {steps: 400, batch_size: 16, eval_every: 5, seed: 1,\n"
             "           stop_at_accuracy: 0.25}\n"
             "optimizer: {lr: 1.0e-2, schedule: constant}\n"
             "logging: {run_dir: %s, run_name: s, log_every: 50, tensorboard: false}\n",
             tmpdir);
    th_write_text(tmp_path("s.yaml"), text);
    cr_assert_eq(run_sft(tmp_path("s.yaml"), tmp_path("s0.log"), NULL), 0);
    expect_in_log(tmp_path("s0.log"), "reaches training.stop_at_accuracy=0.25: the run ends here");

    FILE *f = fopen(tmp_path("s/metrics.jsonl"), "r");
    cr_assert_not_null(f);
    char line[8192];
    int lines = 0, evals = 0;
    double last_acc = -1;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        cr_assert_not_null(j, "%s", line);
        json_t *acc = json_object_get(j, "eval/accuracy");
        cr_assert_eq((int)json_integer_value(json_object_get(j, "step")), lines);
        lines++;
        if (acc) {
            cr_assert(last_acc < 0.25, "an evaluation before the last reached %g", last_acc);
            last_acc = json_number_value(acc);
            evals++;
        }
        json_decref(j);
    }
    fclose(f);
    cr_assert(evals >= 2 && lines < 400 && lines % 5 == 0, "%d lines, %d evaluations", lines,
              evals);
    cr_assert(last_acc >= 0.25, "the last line's evaluation reached %g", last_acc);
    char *state = th_slurp(tmp_path("s/final/trainer_state.json"));
    char want[128];
    snprintf(want, sizeof want, "{\"step\": %d,", lines);
    cr_assert(state && strstr(state, want) && strstr(state, "\"stopped_at_accuracy\": "), "%s",
              state ? state : "(missing)");
    free(state);

    char *before = snapshot(tmp_path("s"));
    cr_assert_eq(run_sft(tmp_path("s.yaml"), tmp_path("s1.log"), NULL), 0);
    expect_in_log(tmp_path("s1.log"), "It ended there at training.stop_at_accuracy");
    expect_unchanged(before, tmp_path("s"));
    const char *other[] = {"training.stop_at_accuracy=0.5", NULL};
    cr_assert_eq(run_sft(tmp_path("s.yaml"), tmp_path("s2.log"), other), 2);
    expect_in_log(tmp_path("s2.log"), "training.stop_at_accuracy: 0.25 -> 0.5");
    expect_unchanged(before, tmp_path("s"));
    free(before);
    const char *noeval[] = {"training.eval_every=0", "logging.run_name=t", NULL};
    cr_assert_eq(run_sft(tmp_path("s.yaml"), tmp_path("s3.log"), noeval), 2);
    expect_in_log(tmp_path("s3.log"), "training.stop_at_accuracy=0.25 needs evaluations");
}

/* loss of every metrics.jsonl line, in order; returns the count. */
static int read_losses(const char *path, double *out, int cap) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[16384];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        cr_assert_not_null(o, "%s: %s", path, e.text);
        cr_assert(json_is_number(json_object_get(o, "loss")), "%s: no loss", path);
        out[n++] = json_number_value(json_object_get(o, "loss"));
        json_decref(o);
    }
    fclose(f);
    return n;
}

Test(rerun, grown_steps_continue_from_the_newest_checkpoint) {
    finished_run(0);
    sft_config("ref.yaml", "ref", 9, 2, 0, 0);
    cr_assert_eq(run_sft(tmp_path("ref.yaml"), tmp_path("ref.log"), NULL), 0);
    const char *args[] = {"training.steps=9", NULL};
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), args), 0);
    char want[1024];
    snprintf(want, sizeof want, "resuming from %s/a/checkpoints/checkpoint-4 (step 4)", tmpdir);
    expect_in_log(tmp_path("a1.log"), want);
    expect_in_log(tmp_path("a1.log"), "final/ is replaced at the end");
    double a[16], r[16];
    int na = read_losses(tmp_path("a/metrics.jsonl"), a, 16);
    int nr = read_losses(tmp_path("ref/metrics.jsonl"), r, 16);
    cr_assert_eq(na, 9);
    cr_assert_eq(nr, 9);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(a[i], r[i], "step %d: loss %.17g, a 9-step run from scratch %.17g", i + 1,
                     a[i], r[i]);
    char *state = th_slurp(tmp_path("a/final/trainer_state.json"));
    cr_assert(state && strstr(state, "\"step\": 9,"), "%s", state ? state : "(missing)");
    free(state);
    char *wa = th_slurp(tmp_path("a/final/model.safetensors")),
         *wr = th_slurp(tmp_path("ref/final/model.safetensors"));
    struct stat sa, sr;
    cr_assert_eq(stat(tmp_path("a/final/model.safetensors"), &sa), 0);
    cr_assert_eq(stat(tmp_path("ref/final/model.safetensors"), &sr), 0);
    cr_assert(sa.st_size == sr.st_size && !memcmp(wa, wr, (size_t)sa.st_size),
              "final weights differ from the 9-step run's");
    free(wa);
    free(wr);
}

/* Removes config.yaml from checkpoint-4 and its manifest (a checkpoint from
 * before configs were stored), and the run directory's config.yaml and final/. */
static void make_legacy(void) {
    char path[1024], cmd[1200];
    snprintf(path, sizeof path, "%s/a/checkpoints/checkpoint-4/manifest.json", tmpdir);
    json_error_t e;
    json_t *m = json_load_file(path, 0, &e);
    cr_assert_not_null(m, "%s: %s", path, e.text);
    cr_assert_eq(json_object_del(json_object_get(m, "files"), "config.yaml"), 0);
    cr_assert_eq(json_dump_file(m, path, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
    json_decref(m);
    snprintf(cmd, sizeof cmd,
             "rm -rf %s/a/checkpoints/checkpoint-4/config.yaml %s/a/config.yaml %s/a/final", tmpdir,
             tmpdir, tmpdir);
    cr_assert_eq(system(cmd), 0);
}

Test(rerun, lora_checkpoint_vs_full_model_named) {
    finished_run(1);
    /* rank 4 on q_proj and v_proj (32 -> 32 each) of one layer: 2*4*(32+32)
     * trainable of the model's 26848 (counted below). */
    expect_in_log(tmp_path("a0.log"), "512 trainable of 26848 parameters");
    const char *full[] = {"lora.enabled=false", NULL};
    char *before = snapshot(tmp_path("a"));
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), full), 2);
    expect_in_log(tmp_path("a1.log"), "lora.enabled: true -> false");
    expect_unchanged(before, tmp_path("a"));
    free(before);
    /* Without a stored config the checkpoint loader names the cause itself. */
    make_legacy();
    before = snapshot(tmp_path("a"));
    cr_assert_neq(run_sft(tmp_path("a.yaml"), tmp_path("a2.log"), full), 0);
    expect_in_log(tmp_path("a2.log"), "checkpoint-4 holds a LoRA adapter but this run trains the "
                                      "full model (lora.enabled=false)");
    expect_not_in_log(tmp_path("a2.log"), "cannot open");
    expect_unchanged(before, tmp_path("a"));
    free(before);
}

Test(rerun, full_checkpoint_vs_lora_run_named) {
    finished_run(0);
    /* Every weight: embedding and lm_head 2*258*32, q,k,v,o 4*32*32, MLP
     * 3*32*64, three norms 3*32 = 26848. */
    expect_in_log(tmp_path("a0.log"), "26848 trainable of 26848 parameters");
    make_legacy();
    const char *lora[] = {"lora.enabled=true", NULL};
    cr_assert_neq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), lora), 0);
    expect_in_log(tmp_path("a1.log"), "checkpoint-4 holds full model weights but this run trains "
                                      "a LoRA adapter (lora.enabled=true)");
}

/* Replaces checkpoint-4's trainer_state.json and its manifest entry (size,
 * CRC-32C), so the checkpoint still verifies. */
static void rewrite_state(const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/a/checkpoints/checkpoint-4/trainer_state.json", tmpdir);
    th_write_text(path, text);
    char hex[16];
    snprintf(hex, sizeof hex, "%08" PRIx32, rlc_crc32c(0, text, strlen(text)));
    snprintf(path, sizeof path, "%s/a/checkpoints/checkpoint-4/manifest.json", tmpdir);
    json_error_t e;
    json_t *m = json_load_file(path, 0, &e);
    cr_assert_not_null(m, "%s: %s", path, e.text);
    json_t *f = json_object_get(json_object_get(m, "files"), "trainer_state.json");
    cr_assert_not_null(f);
    json_object_set_new(f, "bytes", json_integer((json_int_t)strlen(text)));
    json_object_set_new(f, "crc32c", json_string(hex));
    cr_assert_eq(json_dump_file(m, path, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
    json_decref(m);
}

Test(rerun, trainer_state_checked_on_resume) {
    finished_run(0);
    make_legacy(); /* no stored config: the state is the only check left */
    char *before = snapshot(tmp_path("a"));
    const char *seed[] = {"training.seed=2", NULL};
    cr_assert_neq(run_sft(tmp_path("a.yaml"), tmp_path("a1.log"), seed), 0);
    expect_in_log(tmp_path("a1.log"), "trainer_state.json: \"seed\" is 1 but training.seed=2");
    const char *batch[] = {"training.batch_size=8", NULL};
    cr_assert_neq(run_sft(tmp_path("a.yaml"), tmp_path("a2.log"), batch), 0);
    expect_in_log(tmp_path("a2.log"), "trainer_state.json: \"data_cursor\" is 64, but 4 steps of "
                                      "training.batch_size=8 read 32 examples");
    expect_unchanged(before, tmp_path("a"));
    free(before);
    rewrite_state("{\"running_correct\": 0, \"running_total\": 0, \"seed\": 1, "
                  "\"data_cursor\": 64}\n");
    cr_assert_neq(run_sft(tmp_path("a.yaml"), tmp_path("a3.log"), NULL), 0);
    expect_in_log(tmp_path("a3.log"), "checkpoint-4/trainer_state.json: \"step\": expected an "
                                      "integer >= 0, missing");
    /* The same state with its step resumes. */
    rewrite_state("{\"step\": 4, \"running_correct\": 0, \"running_total\": 0, \"seed\": 1, "
                  "\"data_cursor\": 64}\n");
    cr_assert_eq(run_sft(tmp_path("a.yaml"), tmp_path("a4.log"), NULL), 0);
    expect_in_log(tmp_path("a4.log"), "(step 4)");
}

/* ---- signals ---- */

/* Starts a long run in tmpdir/s, waits for 3 steps, sends sig, expects exit
 * 128+sig with checkpoint-N and STOPPED naming it; then resumes to the end. */
static void stop_with(int sig, const char *name) {
    sft_config("s.yaml", "s", 2000, 0, 0, 0);
    pid_t pid = th_spawn_sft(tmp_path("s.yaml"), tmp_path("s.log"), 0, NULL);
    wait_lines(pid, tmp_path("s/metrics.jsonl"), 3, tmp_path("s.log"));
    cr_assert_eq(kill(pid, sig), 0);
    int status = wait_for(pid, tmp_path("s.log"));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 128 + sig) dump_log(tmp_path("s.log"));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig,
              "expected exit %d after %s, status %#x", 128 + sig, name, status);
    int n = th_count_lines(tmp_path("s/metrics.jsonl"));
    cr_assert_geq(n, 3);
    char path[1024], want[256];
    snprintf(path, sizeof path, "%s/s/checkpoints/checkpoint-%d/manifest.json", tmpdir, n);
    cr_assert(exists(path), "no checkpoint of step %d after %s", n, name);
    json_error_t e;
    json_t *j = json_load_file(tmp_path("s/STOPPED"), 0, &e);
    cr_assert_not_null(j, "STOPPED: %s", e.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "signal")), name);
    cr_assert_eq(json_integer_value(json_object_get(j, "step")), n);
    snprintf(want, sizeof want, "checkpoints/checkpoint-%d", n);
    cr_assert_str_eq(json_string_value(json_object_get(j, "checkpoint")), want);
    const char *t = json_string_value(json_object_get(j, "time"));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = t ? strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    cr_assert(end && !*end, "STOPPED time '%s' is not ISO-8601 UTC", t ? t : "(none)");
    time_t when = timegm(&tm);
    cr_assert(labs((long)(time(NULL) - when)) < 600, "STOPPED time %s is not now", t);
    json_decref(j);
    snprintf(want, sizeof want, "stopped by %s after step %d (%d of", name, n - 1, n);
    expect_in_log(tmp_path("s.log"), want);
    /* The same command resumes from exactly there; STOPPED goes. */
    cr_assert_lt(n, 2000, "the run ended before the signal");
    cr_assert_eq(run_sft(tmp_path("s.yaml"), tmp_path("s2.log"), NULL), 0);
    snprintf(want, sizeof want, "resuming from %s/s/checkpoints/checkpoint-%d (step %d)", tmpdir, n,
             n);
    expect_in_log(tmp_path("s2.log"), want);
    cr_assert(!exists(tmp_path("s/STOPPED")), "STOPPED left after the run finished");
    cr_assert_eq(th_count_lines(tmp_path("s/metrics.jsonl")), 2000);
}

Test(rerun, sigint_exits_130_with_checkpoint) {
    stop_with(SIGINT, "SIGINT");
}

Test(rerun, sigterm_exits_143_with_checkpoint) {
    stop_with(SIGTERM, "SIGTERM");
}

Test(rerun, second_sigint_aborts_without_checkpoint) {
    /* Steps of about a second: both signals land inside one step. */
    sft_config("w.yaml", "w", 1000, 0, 0, 1);
    pid_t pid = th_spawn_sft(tmp_path("w.yaml"), tmp_path("w.log"), 0, NULL);
    wait_lines(pid, tmp_path("w/metrics.jsonl"), 1, tmp_path("w.log"));
    /* Well inside step 2, not at the boundary where step 1's line appears. */
    usleep(300 * 1000);
    cr_assert_eq(th_count_lines(tmp_path("w/metrics.jsonl")), 1, "steps too short for this test");
    cr_assert_eq(kill(pid, SIGINT), 0);
    /* The second only once the first was handled (pending signals merge). */
    for (time_t t0 = time(NULL);;) {
        char *t = th_slurp(tmp_path("w.log"));
        int seen = t && strstr(t, "stopping after the current step");
        free(t);
        if (seen) break;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            dump_log(tmp_path("w.log"));
            cr_assert_fail("rlc exited after one SIGINT (status %#x), no stop message", status);
        }
        if (time(NULL) - t0 > RUN_LIMIT_S) kill(pid, SIGKILL);
        cr_assert_leq(time(NULL) - t0, RUN_LIMIT_S, "the first SIGINT was never handled");
        usleep(1000);
    }
    cr_assert_eq(kill(pid, SIGINT), 0);
    int status = wait_for(pid, tmp_path("w.log"));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 130) dump_log(tmp_path("w.log"));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %#x", status);
    cr_assert_eq(th_count_lines(tmp_path("w/metrics.jsonl")), 1, "the step in progress finished");
    cr_assert(!exists(tmp_path("w/checkpoints")), "a checkpoint was written");
    cr_assert(!exists(tmp_path("w/STOPPED")));
    expect_in_log(tmp_path("w.log"), "second signal: stopping now, without a checkpoint");
}

Test(rerun, ignored_sigint_stays_ignored) {
    sft_config("i.yaml", "i", 1500, 0, 0, 0);
    pid_t pid = th_spawn_sft(tmp_path("i.yaml"), tmp_path("i.log"), 1, NULL);
    wait_lines(pid, tmp_path("i/metrics.jsonl"), 3, tmp_path("i.log"));
    int status;
    cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the run ended before the signal");
    cr_assert_eq(kill(pid, SIGINT), 0);
    status = wait_for(pid, tmp_path("i.log"));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) dump_log(tmp_path("i.log"));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    cr_assert_eq(th_count_lines(tmp_path("i/metrics.jsonl")), 1500);
    cr_assert(!exists(tmp_path("i/STOPPED")));
    cr_assert(!exists(tmp_path("i/checkpoints")));
    expect_not_in_log(tmp_path("i.log"), "stopping after the current step");
}
