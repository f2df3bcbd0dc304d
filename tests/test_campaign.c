/* rlc campaign through the CLI binary ($RLC_BIN) on tiny GRPO runs trained
 * from scratch (milliseconds a step): folders, manifest and summary of a
 * 2 x 2 campaign; a campaign stopped by SIGTERM and rerun (the finished run
 * skipped and untouched, the stopped one resumed from its checkpoint); bad
 * campaign files refused with one line and exit 2 before anything runs;
 * --parallel 2 ending with the same metrics as one at a time; the summary's
 * arithmetic on hand-written metrics. */
#include "helpers.h"
#include "tmpdir.h"

#include "campaign/campaign.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(campaign, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define RUN_LIMIT_S 300

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The campaigns run from tmpdir: under `make asan`, LSAN_OPTIONS names its
 * suppressions file relative to the repository, and LeakSanitizer failing to
 * read it ends the process before stdout is flushed. Made absolute here. */
static void absolute_lsan_suppressions(void) {
    const char *v = getenv("LSAN_OPTIONS");
    const char *p = v ? strstr(v, "suppressions=") : NULL;
    if (!p || p[13] == '/') return;
    char cwd[1024], opts[4096];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    snprintf(opts, sizeof opts, "%.*ssuppressions=%s/%s", (int)(p - v), v, cwd, p + 13);
    setenv("LSAN_OPTIONS", opts, 1);
}

/* The binary as an absolute path (the campaigns run from tmpdir). */
static const char *bin(void) {
    absolute_lsan_suppressions();
    return th_rlc_bin_abs();
}

/* `cd tmpdir && rlc ARGS`: out.txt, err.txt; the exit code. */
static int rlc(const char *args) {
    return th_rlc_run(tmpdir, bin(), args);
}

static void dump(const char *name) {
    char *t = th_slurp(tmp_path(name));
    cr_log_error("%s:\n%s", name, t ? t : "(missing)");
    free(t);
}

/* A 1-layer byte model from scratch on 1-digit additions: steps of well
 * under a millisecond; the campaign sets run_dir, run_name and seed. */
static void write_base(void) {
    th_write_text(tmp_path("base.yaml"), TH_TINY_GRPO_YAML("elsewhere", "r"));
}

static json_t *load_json(const char *path) {
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    return j;
}

static json_t *manifest_run(json_t *m, int i) {
    json_t *r = json_array_get(json_object_get(m, "runs"), (size_t)i);
    cr_assert_not_null(r, "manifest has no run %d", i);
    return r;
}

static const char *jstr(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

static int iso_utc(const char *t) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && !*end;
}

/* Each metrics.jsonl line as a JSON object (the array is malloc'd). */
static json_t **read_metrics(const char *path, int *n) {
    char *t = th_slurp(path);
    cr_assert_not_null(t, "%s", path);
    json_t **rows = NULL;
    *n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        rows = realloc(rows, (size_t)(*n + 1) * sizeof *rows);
        json_error_t e;
        rows[*n] = json_loads(line, 0, &e);
        cr_assert_not_null(rows[*n], "%s: %s", path, e.text);
        (*n)++;
    }
    free(t);
    return rows;
}

static void free_metrics(json_t **rows, int n) {
    for (int i = 0; i < n; i++)
        json_decref(rows[i]);
    free(rows);
}

/* The test's own reading of a final metric: "last" (last number), "tail"
 * (mean over the last ceil(10%) rows). */
static double own_metric(const char *run_dir, const char *key, int tail) {
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    int n;
    json_t **rows = read_metrics(path, &n);
    double out = NAN;
    if (!tail) {
        for (int i = n - 1; i >= 0 && isnan(out); i--)
            if (json_is_number(json_object_get(rows[i], key)))
                out = json_number_value(json_object_get(rows[i], key));
    } else {
        int k = (n + 9) / 10, c = 0;
        double s = 0;
        for (int i = n - k; i < n; i++)
            if (json_is_number(json_object_get(rows[i], key)))
                s += json_number_value(json_object_get(rows[i], key)), c++;
        out = c ? s / c : NAN;
    }
    free_metrics(rows, n);
    return out;
}

static void expect_num(json_t *j, double want, const char *what) {
    if (isnan(want)) {
        cr_expect(json_is_null(j), "%s: want null", what);
        return;
    }
    cr_assert(json_is_number(j), "%s: not a number", what);
    double got = json_number_value(j);
    cr_expect(fabs(got - want) <= 1e-9 * (1 + fabs(want)), "%s: %.17g, want %.17g", what, got,
              want);
}

/* ---- a whole campaign ---- */

Test(campaign, two_conditions_two_seeds) {
    write_base();
    /* base and run_dir relative to the current directory (tmpdir) */
    th_write_text(tmp_path("c.yaml"), "name: algos\n"
                                      "base: base.yaml\n"
                                      "run_dir: out\n"
                                      "seeds: [1, 2]\n"
                                      "overrides: {training.steps: 4}\n"
                                      "conditions:\n"
                                      "  - label: grpo\n"
                                      "    overrides: {algorithm.advantage: grpo}\n"
                                      "  - label: maxrl+b\n"
                                      "    overrides:\n"
                                      "      algorithm.advantage: maxrl\n"
                                      "      optimizer.lr: 2.0e-2\n");
    int rc = rlc("campaign c.yaml");
    if (rc) dump("out.txt"), dump("err.txt");
    cr_assert_eq(rc, 0);
    const char *labels[] = {"grpo", "maxrl+b"};
    const int seeds[] = {1, 2};
    json_t *m = load_json(tmp_path("out/algos/manifest.json"));
    cr_expect_str_eq(jstr(m, "campaign"), "algos");
    char want[1024];
    snprintf(want, sizeof want, "%s/c.yaml", tmpdir);
    cr_expect_str_eq(jstr(m, "campaign_file"), want);
    snprintf(want, sizeof want, "%s/base.yaml", tmpdir);
    cr_expect_str_eq(jstr(m, "base"), want);
    cr_expect_eq(json_array_size(json_object_get(m, "runs")), 4);
    cr_expect_eq(json_array_size(json_object_get(m, "seeds")), 2);
    json_t *c1 = json_array_get(json_object_get(m, "conditions"), 1);
    cr_expect_str_eq(jstr(c1, "label"), "maxrl+b");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(c1, "overrides"), 1)),
                     "optimizer.lr=2.0e-2");
    /* seed-major: grpo_s1, maxrl+b_s1, grpo_s2, maxrl+b_s2 */
    for (int s = 0, i = 0; s < 2; s++)
        for (int c = 0; c < 2; c++, i++) {
            json_t *r = manifest_run(m, i);
            char name[64], dir[1024];
            snprintf(name, sizeof name, "%s_s%d", labels[c], seeds[s]);
            snprintf(dir, sizeof dir, "%s/out/algos/%s", tmpdir, name);
            cr_expect_str_eq(jstr(r, "name"), name);
            cr_expect_str_eq(jstr(r, "label"), labels[c]);
            cr_expect_eq(json_integer_value(json_object_get(r, "seed")), seeds[s]);
            cr_expect_str_eq(jstr(r, "dir"), dir);
            cr_expect_str_eq(jstr(r, "status"), "done");
            cr_expect_eq(json_integer_value(json_object_get(r, "exit_code")), 0);
            cr_expect(iso_utc(jstr(r, "started")) && iso_utc(jstr(r, "finished")), "%s times",
                      name);
            cr_expect_gt(json_number_value(json_object_get(r, "wall_s")), 0);
            json_t *cmd = json_object_get(r, "command");
            size_t n = json_array_size(cmd);
            cr_assert_geq(n, 6);
            cr_expect_str_eq(json_string_value(json_array_get(cmd, 1)), "train");
            char seed[32], run_name[96];
            snprintf(seed, sizeof seed, "training.seed=%d", seeds[s]);
            snprintf(run_name, sizeof run_name, "logging.run_name=%s", name);
            cr_expect_str_eq(json_string_value(json_array_get(cmd, n - 4)), seed);
            cr_expect_str_eq(json_string_value(json_array_get(cmd, n - 2)), run_name);
            cr_expect_str_eq(json_string_value(json_array_get(cmd, n - 1)),
                             "checkpoint.resume=auto");
            /* the run is the one rlc train wrote, with the condition's settings */
            char path[1200];
            snprintf(path, sizeof path, "%s/final/trainer_state.json", dir);
            cr_expect(exists(path), "%s", path);
            snprintf(path, sizeof path, "%s/config.yaml", dir);
            char *cfg = th_slurp(path);
            cr_assert_not_null(cfg, "%s", path);
            cr_expect(strstr(cfg, c ? "advantage: maxrl" : "advantage: grpo"), "%s", path);
            snprintf(want, sizeof want, "seed: %d", seeds[s]);
            cr_expect(strstr(cfg, want), "%s: no %s", path, want);
            free(cfg);
            cr_expect_eq(th_count_lines(tmp_path("out/algos/grpo_s1/metrics.jsonl")), 4);
        }
    /* The summary's numbers against the test's own reading of the runs. */
    json_t *sum = load_json(tmp_path("out/algos/summary.json"));
    static const struct {
        const char *key;
        int tail;
    } keys[] = {
        {"eval/accuracy", 0}, {"eval/mean_reward", 0}, {"mean_reward", 1}, {"correct_rate", 1}};
    for (int c = 0; c < 2; c++) {
        json_t *jc = json_array_get(json_object_get(sum, "conditions"), (size_t)c);
        cr_assert_not_null(jc);
        cr_expect_str_eq(jstr(jc, "label"), labels[c]);
        cr_expect_eq(json_integer_value(json_object_get(jc, "runs")), 2);
        json_t *jm = json_object_get(jc, "metrics");
        for (int k = 0; k < 5; k++) {
            double x[2];
            for (int s = 0; s < 2; s++) {
                char dir[1024];
                snprintf(dir, sizeof dir, "%s/out/algos/%s_s%d", tmpdir, labels[c], seeds[s]);
                if (k < 4)
                    x[s] = own_metric(dir, keys[k].key, keys[k].tail);
                else
                    x[s] = json_number_value(json_object_get(manifest_run(m, s * 2 + c), "wall_s"));
                cr_assert(isfinite(x[s]), "%s: no %s", dir, k < 4 ? keys[k].key : "wall_s");
            }
            double mean = (x[0] + x[1]) / 2, std = fabs(x[0] - x[1]) / sqrt(2.0);
            const char *key = k < 4 ? keys[k].key : "wall_s";
            json_t *e = json_object_get(jm, key);
            char what[128];
            snprintf(what, sizeof what, "%s %s mean", labels[c], key);
            expect_num(json_object_get(e, "mean"), mean, what);
            snprintf(what, sizeof what, "%s %s std", labels[c], key);
            expect_num(json_object_get(e, "std"), std, what);
            cr_expect_eq(json_integer_value(json_object_get(e, "n")), 2);
        }
    }
    json_decref(sum);
    json_decref(m);
    char *txt = th_slurp(tmp_path("out/algos/summary.txt"));
    cr_assert_not_null(txt);
    cr_expect(strstr(txt, "grpo ") && strstr(txt, "maxrl+b ") && strstr(txt, " ± "), "%s", txt);
    free(txt);
    char *out = th_slurp(tmp_path("out.txt"));
    cr_expect(strstr(out, "campaign algos: mean ± sample std"), "%s", out);
    free(out);
    cr_expect(exists(tmp_path("out/algos/compare/compare.txt")));
    cr_expect(exists(tmp_path("out/algos/compare/rewards.png")));
    cr_expect(exists(tmp_path("out/algos/logs/grpo_s2.log")));
    /* nothing outside the campaign folder (the base config's run_dir unused) */
    cr_expect(!exists(tmp_path("elsewhere")));

    /* A changed setting of finished runs: rlc train refuses them (they are
     * marked failed with its message, exit 1); the unchanged ones are skipped. */
    char *text = th_slurp(tmp_path("c.yaml"));
    char *lr = strstr(text, "2.0e-2");
    cr_assert_not_null(lr);
    memcpy(lr, "3.0e-2", 6);
    th_write_text(tmp_path("c.yaml"), text);
    free(text);
    rc = rlc("campaign c.yaml");
    if (rc != 1) dump("out.txt"), dump("err.txt");
    cr_assert_eq(rc, 1);
    m = load_json(tmp_path("out/algos/manifest.json"));
    for (int i = 0; i < 4; i++) {
        json_t *r = manifest_run(m, i);
        cr_expect_str_eq(jstr(r, "status"), i % 2 ? "failed" : "done", "run %d", i);
        if (i % 2) {
            cr_expect_eq(json_integer_value(json_object_get(r, "exit_code")), 2);
            cr_expect(strstr(jstr(r, "error"), "optimizer.lr: 0.02 -> 0.03"), "%s",
                      jstr(r, "error"));
        }
    }
    json_decref(m);
    out = th_slurp(tmp_path("out.txt"));
    cr_expect(strstr(out, "grpo_s2                      done (skipped)"), "%s", out);
    free(out);
}

/* ---- SIGTERM and rerun ---- */

/* Starts `rlc campaign ARGS...` from tmpdir, output into LOG; own_group: in
 * a process group of its own (as a terminal's foreground job). */
static pid_t spawn_in(const char *log, const char *const *args, int own_group) {
    const char *exe = bin(); /* before chdir: RLC_BIN may be relative */
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (own_group) setpgid(0, 0);
        if (chdir(tmpdir)) _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("OMP_NUM_THREADS", "1", 1);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        const char *argv[16] = {exe, "campaign"};
        int n = 2;
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static pid_t spawn(const char *log, const char *const *args) {
    return spawn_in(log, args, 0);
}

static int wait_for(pid_t pid) {
    int status = 0;
    for (time_t t0 = time(NULL);;) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        if (time(NULL) - t0 > RUN_LIMIT_S) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("rlc campaign still running after %d s", RUN_LIMIT_S);
        }
        usleep(2000);
    }
}

/* The status of run i in the manifest of campaign `stop` (into buf; "" while
 * unreadable). */
static const char *run_status(int i, char *buf, size_t cap) {
    buf[0] = 0;
    json_t *m = json_load_file(tmp_path("runs/stop/manifest.json"), 0, NULL);
    const char *s = json_string_value(
        json_object_get(json_array_get(json_object_get(m, "runs"), (size_t)i), "status"));
    snprintf(buf, cap, "%s", s ? s : "");
    json_decref(m);
    return buf;
}

/* Waits until run i of campaign `stop` is running and has 3 metrics lines. */
static void wait_running(pid_t pid, int i, const char *metrics) {
    char st[32];
    for (time_t t0 = time(NULL);;) {
        if (!strcmp(run_status(i, st, sizeof st), "running") &&
            th_count_lines(tmp_path(metrics)) >= 3)
            return;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            dump("c1.log");
            cr_assert_fail("the campaign ended (status %#x) before run %d ran", status, i);
        }
        if (time(NULL) - t0 > RUN_LIMIT_S) kill(pid, SIGKILL);
        cr_assert_leq(time(NULL) - t0, RUN_LIMIT_S, "run %d never started", i);
        usleep(1000);
    }
}

Test(campaign, sigterm_then_rerun_skips_done_resumes_stopped) {
    write_base();
    /* seed-major order: fast_s1 (done), slow_s1 (stopped), fast_s2, slow_s2 */
    th_write_text(tmp_path("c.yaml"), "name: stop\n"
                                      "base: base.yaml\n"
                                      "seeds: [1, 2]\n"
                                      "overrides: {training.eval_every: 0, logging.log_every: 1}\n"
                                      "conditions:\n"
                                      "  - label: fast\n"
                                      "    overrides: {training.steps: 4}\n"
                                      "  - label: slow\n"
                                      "    overrides: {training.steps: 5000}\n");
    const char *args[] = {"c.yaml", NULL};
    pid_t pid = spawn(tmp_path("c1.log"), args);
    /* SIGTERM once the second run has written a few steps */
    wait_running(pid, 1, "runs/stop/slow_s1/metrics.jsonl");
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int status = wait_for(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 143) dump("c1.log");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143, "status %#x", status);
    json_t *m = load_json(tmp_path("runs/stop/manifest.json"));
    static const char *const want1[] = {"done", "stopped", "pending", "pending"};
    for (int i = 0; i < 4; i++)
        cr_expect_str_eq(jstr(manifest_run(m, i), "status"), want1[i], "run %d", i);
    cr_expect_eq(json_integer_value(json_object_get(manifest_run(m, 1), "exit_code")), 143);
    cr_expect(json_is_null(json_object_get(manifest_run(m, 2), "exit_code")));
    cr_expect(json_is_null(json_object_get(manifest_run(m, 2), "started")));
    double wall1 = json_number_value(json_object_get(manifest_run(m, 1), "wall_s"));
    json_decref(m);
    /* the stopped run saved a checkpoint where it stopped */
    json_t *stopped = load_json(tmp_path("runs/stop/slow_s1/STOPPED"));
    cr_expect_str_eq(jstr(stopped, "signal"), "SIGTERM");
    int stop_step = (int)json_integer_value(json_object_get(stopped, "step"));
    json_decref(stopped);
    int lines = th_count_lines(tmp_path("runs/stop/slow_s1/metrics.jsonl"));
    cr_expect_eq(stop_step, lines, "stopped at step %d with %d metrics lines", stop_step, lines);
    cr_assert_lt(lines, 5000, "the run ended before the signal");
    cr_expect(!exists(tmp_path("runs/stop/fast_s2")), "a run started after the signal");
    char *log = th_slurp(tmp_path("c1.log"));
    cr_expect(strstr(log, "stopped by SIGTERM: 1 done, 1 stopped, 2 not started"), "%s", log);
    cr_expect(strstr(log, "To resume"), "%s", log);
    free(log);

    /* the rerun: the finished run untouched, the stopped one resumed */
    struct stat before, after;
    cr_assert_eq(stat(tmp_path("runs/stop/fast_s1/metrics.jsonl"), &before), 0);
    char *fast_before = th_slurp(tmp_path("runs/stop/fast_s1/metrics.jsonl"));
    status = wait_for(spawn(tmp_path("c2.log"), args));
    if (!WIFEXITED(status) || WEXITSTATUS(status)) dump("c2.log");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    log = th_slurp(tmp_path("c2.log"));
    cr_expect(strstr(log, "fast_s1                      done (skipped)"), "%s", log);
    cr_expect(strstr(log, "slow_s1                      resuming"), "%s", log);
    free(log);
    cr_assert_eq(stat(tmp_path("runs/stop/fast_s1/metrics.jsonl"), &after), 0);
    char *fast_after = th_slurp(tmp_path("runs/stop/fast_s1/metrics.jsonl"));
    cr_expect_str_eq(fast_after, fast_before);
    cr_expect(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                  before.st_mtim.tv_nsec == after.st_mtim.tv_nsec && before.st_ino == after.st_ino,
              "the finished run's metrics.jsonl was rewritten");
    free(fast_before);
    free(fast_after);
    char want[256];
    snprintf(want, sizeof want,
             "resuming from %s/runs/stop/slow_s1/checkpoints/checkpoint-%d (step %d)", tmpdir,
             stop_step, stop_step);
    char *rlog = th_slurp(tmp_path("runs/stop/logs/slow_s1.log"));
    cr_assert_not_null(rlog);
    cr_expect(strstr(rlog, want), "no '%s' in:\n%s", want, rlog);
    free(rlog);
    /* metrics continue from the checkpoint: every step once, in order */
    int n;
    json_t **rows = read_metrics(tmp_path("runs/stop/slow_s1/metrics.jsonl"), &n);
    cr_expect_eq(n, 5000);
    for (int i = 0; i < n; i++)
        if (json_integer_value(json_object_get(rows[i], "step")) != i) {
            cr_expect_fail("line %d holds step %lld", i + 1,
                           (long long)json_integer_value(json_object_get(rows[i], "step")));
            break;
        }
    free_metrics(rows, n);
    cr_expect(!exists(tmp_path("runs/stop/slow_s1/STOPPED")));
    m = load_json(tmp_path("runs/stop/manifest.json"));
    for (int i = 0; i < 4; i++) {
        cr_expect_str_eq(jstr(manifest_run(m, i), "status"), "done", "run %d", i);
        cr_expect_eq(json_integer_value(json_object_get(manifest_run(m, i), "exit_code")), 0);
    }
    cr_expect_gt(json_number_value(json_object_get(manifest_run(m, 1), "wall_s")), wall1,
                 "wall_s counts both attempts");
    json_decref(m);
    cr_expect(exists(tmp_path("runs/stop/summary.json")));
    /* a third time: everything skipped, nothing run */
    cr_assert_eq(rlc("campaign c.yaml"), 0);
    log = th_slurp(tmp_path("out.txt"));
    cr_expect(!strstr(log, "running") && !strstr(log, "resuming"), "%s", log);
    free(log);
}

/* Ctrl-C at a terminal signals the whole foreground process group: the runs,
 * in groups of their own, get the campaign's one forwarded SIGINT, so they
 * stop with a checkpoint (two SIGINTs would abort without one). */
Test(campaign, sigint_to_the_process_group_stops_with_checkpoint) {
    write_base();
    th_write_text(tmp_path("c.yaml"), "name: stop\nbase: base.yaml\nseeds: [1]\n"
                                      "overrides: {training.eval_every: 0, training.steps: 5000}\n"
                                      "conditions:\n  - label: slow\n");
    const char *args[] = {"c.yaml", "--parallel", "2", NULL};
    pid_t pid = spawn_in(tmp_path("c1.log"), args, 1);
    wait_running(pid, 0, "runs/stop/slow_s1/metrics.jsonl");
    cr_assert_eq(kill(-pid, SIGINT), 0);
    int status = wait_for(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 130) dump("c1.log");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %#x", status);
    json_t *j = load_json(tmp_path("runs/stop/slow_s1/STOPPED"));
    cr_expect_str_eq(jstr(j, "signal"), "SIGINT");
    json_decref(j);
    char *log = th_slurp(tmp_path("runs/stop/logs/slow_s1.log"));
    cr_expect(!strstr(log, "second signal"), "%s", log);
    free(log);
    log = th_slurp(tmp_path("c1.log"));
    cr_expect(strstr(log, "--parallel 2"), "the resume hint keeps --parallel: %s", log);
    free(log);
    json_t *m = load_json(tmp_path("runs/stop/manifest.json"));
    cr_expect_str_eq(jstr(manifest_run(m, 0), "status"), "stopped");
    cr_expect_eq(json_integer_value(json_object_get(manifest_run(m, 0), "exit_code")), 130);
    json_decref(m);
}

/* ---- bad campaign files ---- */

/* Writes c.yaml, expects exit 2, exactly one line on stderr holding every
 * needle, and no run folder. */
static void refused(const char *text, const char *const *needles) {
    th_write_text(tmp_path("c.yaml"), text);
    int rc = rlc("campaign c.yaml");
    char *err = th_slurp(tmp_path("err.txt"));
    cr_expect_eq(rc, 2, "exit %d for:\n%s\nstderr: %s", rc, text, err);
    size_t len = strlen(err);
    cr_expect(len > 0 && strchr(err, '\n') == err + len - 1, "want one line, got: %s", err);
    for (int i = 0; needles[i]; i++)
        cr_expect(strstr(err, needles[i]), "error should mention '%s': %s", needles[i], err);
    free(err);
    cr_expect(!exists(tmp_path("runs")), "a run folder was made for:\n%s", text);
}

#define GOOD_TAIL                                                                                  \
    "seeds: [1]\n"                                                                                 \
    "conditions:\n"                                                                                \
    "  - label: a\n"

Test(campaign, bad_files_refused_with_one_line) {
    write_base();
    refused("name: x\nbase: base.yaml\nseedz: [1]\n" GOOD_TAIL,
            (const char *const[]){"c.yaml:3", "unknown key 'seedz'", NULL});
    refused("name: x\n" GOOD_TAIL, (const char *const[]){"c.yaml:1", "base is missing", NULL});
    refused("name: x\nbase: nope.yaml\n" GOOD_TAIL,
            (const char *const[]){"c.yaml:2", "base: no such config file 'nope.yaml'", NULL});
    refused("name: x\nbase: base.yaml\nseeds: [1]\nconditions: []\n",
            (const char *const[]){"c.yaml:4", "conditions", "empty list", NULL});
    refused("name: x\nbase: base.yaml\nseeds: []\nconditions:\n  - label: a\n",
            (const char *const[]){"c.yaml:3", "seeds", NULL});
    refused("name: x\nbase: base.yaml\n" GOOD_TAIL "  - label: b\n  - label: a\n",
            (const char *const[]){"c.yaml:7", "label: 'a' is used by two conditions", NULL});
    refused("name: x\nbase: base.yaml\nseeds: [1]\nconditions:\n  - label: a/b\n",
            (const char *const[]){"c.yaml:5", "label: 'a/b' is not a folder name", NULL});
    refused("name: ../x\nbase: base.yaml\n" GOOD_TAIL,
            (const char *const[]){"c.yaml:1", "name: '../x' is not a folder name", NULL});
    refused("name: x\nbase: base.yaml\n" GOOD_TAIL "    overrides: {training.seed: 3}\n",
            (const char *const[]){"c.yaml:6", "training.seed is set by the campaign", NULL});
    refused("name: x\nbase: base.yaml\n" GOOD_TAIL "    labl: y\n",
            (const char *const[]){"c.yaml:6", "unknown key 'labl'", NULL});
    refused("name: x\nbase: base.yaml\nseeds: [1, 1]\nconditions:\n  - label: a\n",
            (const char *const[]){"c.yaml:3", "seeds: 1 is listed twice", NULL});
    refused("name: x\nbase: base.yaml\nseeds: [1\n",
            (const char *const[]){"c.yaml", "YAML syntax error", NULL});
    /* a condition rlc train refuses: named, and nothing runs */
    refused("name: x\nbase: base.yaml\n" GOOD_TAIL "  - label: b\n"
            "    overrides: {algorithm.advantage: nope}\n",
            (const char *const[]){"condition 'b'", "algorithm.advantage", "nope", NULL});
    refused("name: x\nbase: base.yaml\n" GOOD_TAIL "    overrides: {algorithm.grop_size: 4}\n",
            (const char *const[]){"condition 'a'", "algorithm.group_size", NULL});
}

Test(campaign, help_and_dry_run) {
    cr_assert_eq(rlc("campaign --help"), 0);
    char *out = th_slurp(tmp_path("out.txt"));
    cr_expect(strstr(out, "usage: rlc campaign FILE.yaml") && strstr(out, "--parallel N") &&
                  strstr(out, "--dry-run"),
              "%s", out);
    free(out);
    cr_assert_eq(rlc("campaign"), 2);
    write_base();
    th_write_text(tmp_path("c.yaml"), "name: dry\nbase: base.yaml\nseeds: [3, 4]\n"
                                      "conditions:\n  - label: a\n  - label: b\n"
                                      "    overrides: {algorithm.advantage: maxrl}\n");
    cr_assert_eq(rlc("campaign c.yaml --dry-run"), 0);
    out = th_slurp(tmp_path("out.txt"));
    cr_expect_eq(th_count_lines(tmp_path("out.txt")), 4, "%s", out);
    char want[2048];
    snprintf(want, sizeof want,
             "%s train %s/base.yaml algorithm.advantage=maxrl training.seed=4 "
             "logging.run_dir=%s/runs/dry logging.run_name=b_s4 checkpoint.resume=auto\n",
             bin(), tmpdir, tmpdir);
    cr_expect(strstr(out, want), "want %s in:\n%s", want, out);
    free(out);
    cr_expect(!exists(tmp_path("runs")), "--dry-run wrote something");

    /* command: sft runs rlc sft */
    th_write_text(tmp_path("s.yaml"), "name: sfts\nbase: base.yaml\nseeds: [5]\ncommand: sft\n"
                                      "conditions:\n  - label: a\n");
    cr_assert_eq(rlc("campaign s.yaml --dry-run"), 0);
    out = th_slurp(tmp_path("out.txt"));
    snprintf(want, sizeof want, "%s sft %s/base.yaml training.seed=5 ", bin(), tmpdir);
    cr_expect(strstr(out, want), "want %s in:\n%s", want, out);
    free(out);
    th_write_text(tmp_path("s.yaml"), "name: sfts\nbase: base.yaml\nseeds: [5]\ncommand: rl\n"
                                      "conditions:\n  - label: a\n");
    cr_expect_eq(rlc("campaign s.yaml --dry-run"), 2);

    /* the checked-in example, from the repository root as its comment says */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s campaign configs/campaigns/demo_algos.yaml --dry-run > %s 2>&1",
             bin(), tmp_path("demo.txt"));
    int rc = system(cmd);
    out = th_slurp(tmp_path("demo.txt"));
    cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s", out);
    cr_expect_eq(th_count_lines(tmp_path("demo.txt")), 24, "%s", out);
    /* {seed} in an override: each seed's own SFT model */
    cr_expect(strstr(out, " model.path=runs/demo_sft/s3/final optimizer.lr=1.0e-4 "
                          "algorithm.dynamic_sampling=false algorithm.advantage=maxrl "
                          "algorithm.transform=hicra training.seed=3 "),
              "%s", out);
    free(out);
}

/* ---- --parallel ---- */

/* More finished runs than one comparison holds (16): one comparison of the
 * conditions per seed, compare/s<seed>/, labelled by condition. */
Test(campaign, compare_per_seed_past_sixteen_runs) {
    write_base();
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "name: many\nbase: base.yaml\nseeds: [1, 2]\n"
                                "overrides: {training.steps: 1, training.eval_every: 0}\n"
                                "conditions:\n");
    for (int i = 0; i < 9; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "  - label: c%d\n    overrides: {optimizer.lr: %d.0e-3}\n", i, i + 1);
    th_write_text(tmp_path("many.yaml"), text);
    int rc = rlc("campaign many.yaml");
    if (rc) dump("out.txt"), dump("err.txt");
    cr_assert_eq(rc, 0);
    cr_expect(!exists(tmp_path("runs/many/compare/compare.txt")));
    for (int seed = 1; seed <= 2; seed++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/runs/many/compare/s%d/compare.txt", tmpdir, seed);
        char *t = th_slurp(path);
        cr_assert_not_null(t, "%s", path);
        cr_expect(strstr(t, "c0") && strstr(t, "c8") && !strstr(t, "_s"), "%s", t);
        free(t);
    }
}

Test(campaign, parallel_matches_sequential) {
    write_base();
    const char *body = "base: base.yaml\n"
                       "seeds: [1, 2]\n"
                       "overrides: {training.steps: 6}\n"
                       "conditions:\n"
                       "  - label: grpo\n"
                       "  - label: maxrl\n"
                       "    overrides: {algorithm.advantage: maxrl}\n";
    char text[1024];
    snprintf(text, sizeof text, "name: seq\n%s", body);
    th_write_text(tmp_path("seq.yaml"), text);
    snprintf(text, sizeof text, "name: par\n%s", body);
    th_write_text(tmp_path("par.yaml"), text);
    cr_assert_eq(rlc("campaign seq.yaml"), 0);
    int rc = rlc("campaign par.yaml --parallel 2");
    if (rc) dump("out.txt"), dump("err.txt");
    cr_assert_eq(rc, 0);
    static const char *const names[] = {"grpo_s1", "maxrl_s1", "grpo_s2", "maxrl_s2"};
    static const char *const keys[] = {"loss",         "entropy",   "mean_reward",
                                       "kl",           "grad_norm", "completion_len_mean",
                                       "eval/accuracy"};
    for (int r = 0; r < 4; r++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/runs/seq/%s/metrics.jsonl", tmpdir, names[r]);
        snprintf(b, sizeof b, "%s/runs/par/%s/metrics.jsonl", tmpdir, names[r]);
        int na, nb;
        json_t **ra = read_metrics(a, &na), **rb = read_metrics(b, &nb);
        cr_expect_eq(na, 6);
        cr_expect_eq(nb, 6);
        for (int i = 0; i < na && i < nb; i++)
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                json_t *x = json_object_get(ra[i], keys[k]), *y = json_object_get(rb[i], keys[k]);
                cr_expect(json_equal(x, y) || (!x && !y), "%s step %d %s differs", names[r], i,
                          keys[k]);
            }
        free_metrics(ra, na);
        free_metrics(rb, nb);
    }
    /* two started before either ended */
    char *out = th_slurp(tmp_path("out.txt"));
    char *l2 = strchr(out, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    cr_expect(!strncmp(l2, "  grpo_s1 ", 10) && strstr(l2, "running") < l3 &&
                  !strncmp(l3, "  maxrl_s1 ", 11) && strstr(l3, "running") < strchr(l3, '\n'),
              "%s", out);
    free(out);
    json_t *m = load_json(tmp_path("runs/par/manifest.json"));
    for (int i = 0; i < 4; i++)
        cr_expect_str_eq(jstr(manifest_run(m, i), "status"), "done");
    json_decref(m);
}

/* ---- the summary's arithmetic ---- */

/* A run folder with a manifest entry and metrics.jsonl of n steps whose
 * mean_reward is base + step/100, correct_rate 0.5, and eval/accuracy `acc`
 * on the last step only. */
static void fake_run(json_t *runs, const char *name, const char *status, double wall, int n,
                     double base, double acc) {
    char path[1024];
    snprintf(path, sizeof path, "%s/runs/sum/%s/metrics.jsonl", tmpdir, name);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (int i = 0; i < n; i++) {
        fprintf(f, "{\"step\":%d,\"mean_reward\":%.17g,\"correct_rate\":0.5", i, base + i / 100.0);
        if (i == n - 1) fprintf(f, ",\"eval/accuracy\":%.17g", acc);
        fprintf(f, "}\n");
    }
    fclose(f);
    th_write_file(path, text);
    free(text);
    json_t *r = json_object();
    json_object_set_new(r, "name", json_string(name));
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "wall_s", json_real(wall));
    json_array_append_new(runs, r);
}

Test(campaign, summary_mean_std_over_seeds) {
    write_base();
    th_write_text(tmp_path("c.yaml"), "name: sum\nbase: base.yaml\nseeds: [1, 2, 3]\n"
                                      "conditions:\n  - label: a\n  - label: b\n  - label: c\n");
    char cwd[PATH_MAX];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(tmpdir), 0);
    rlc_campaign c;
    rlc_status st = rlc_campaign_load("c.yaml", &c);
    cr_assert_eq(chdir(cwd), 0);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    json_t *m = json_object(), *runs = json_array();
    /* a: three seeds of 20 steps (tail = last 2 rows); b: one finished seed
     * and a failed one (left out); c: nothing finished */
    fake_run(runs, "a_s1", "done", 10, 20, 0.0, 0.5);
    fake_run(runs, "a_s2", "done", 20, 20, 0.1, 0.7);
    fake_run(runs, "a_s3", "done", 30, 20, 0.2, 0.9);
    fake_run(runs, "b_s1", "done", 5, 3, 0.4, 0.25);
    fake_run(runs, "b_s2", "failed", 1, 2, 9.0, 9.0);
    json_object_set_new(m, "runs", runs);
    char path[1024];
    snprintf(path, sizeof path, "%s/runs/sum/manifest.json", tmpdir);
    cr_assert_eq(json_dump_file(m, path, 0), 0);
    json_decref(m);
    char *text = NULL;
    st = rlc_campaign_summarize(&c, &text);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    json_t *s = load_json(tmp_path("runs/sum/summary.json"));
    json_t *conds = json_object_get(s, "conditions");
    json_t *a = json_object_get(json_array_get(conds, 0), "metrics");
    json_t *b = json_object_get(json_array_get(conds, 1), "metrics");
    json_t *cc = json_object_get(json_array_get(conds, 2), "metrics");
    expect_num(json_object_get(json_object_get(a, "eval/accuracy"), "mean"), 0.7, "a acc mean");
    expect_num(json_object_get(json_object_get(a, "eval/accuracy"), "std"), 0.2, "a acc std");
    /* last 10% of 20 steps: steps 18 and 19, mean base + 0.185 */
    expect_num(json_object_get(json_object_get(a, "mean_reward"), "mean"), 0.285, "a reward");
    expect_num(json_object_get(json_object_get(a, "mean_reward"), "std"), 0.1, "a reward std");
    expect_num(json_object_get(json_object_get(a, "correct_rate"), "std"), 0.0, "a correct std");
    expect_num(json_object_get(json_object_get(a, "wall_s"), "mean"), 20, "a wall");
    expect_num(json_object_get(json_object_get(a, "wall_s"), "std"), 10, "a wall std");
    cr_expect(json_is_null(json_object_get(json_object_get(a, "eval/mean_reward"), "mean")));
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(conds, 1), "runs")), 1);
    /* 3 steps: the last row only */
    expect_num(json_object_get(json_object_get(b, "mean_reward"), "mean"), 0.42, "b reward");
    cr_expect(json_is_null(json_object_get(json_object_get(b, "mean_reward"), "std")));
    expect_num(json_object_get(json_object_get(b, "eval/accuracy"), "mean"), 0.25, "b acc");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(cc, "wall_s"), "n")), 0);
    json_decref(s);
    cr_expect(strstr(text, "0.7 ± 0.2"), "%s", text);
    cr_expect(strstr(text, "0.25 ± -"), "%s", text);
    free(text);
    rlc_campaign_free(&c);
}
