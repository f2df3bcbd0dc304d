/* Data parallelism over MPI ranks (base/dist.h, training.shards), through the
 * CLI binary under Open MPI's mpirun.
 *
 * Identity: with the same global batch, seeds and one thread per rank,
 * `mpirun -np 2 rlc ...` (one shard per rank) and one process with
 * training.shards=2 give the same metrics.jsonl (times and system/... aside)
 * and byte-identical final weights, for SFT, GRPO with LoRA and GRPO training
 * every weight (tiny from-scratch models, a few seconds each).
 *
 * Evaluation: `rlc eval` splits its problems over the ranks (whole chunks of
 * 64) and rank 0 prints the JSON one process prints.
 *
 * Failure: one rank killed with SIGKILL mid-run makes the job exit non-zero
 * within 30 s, and the same command run again resumes from the last
 * checkpoint and ends bit-identical to the run never interrupted; one rank
 * that hangs (SIGSTOP) ends the job after RLC_DIST_TIMEOUT seconds.
 *
 * Skipped when this build has no MPI or mpirun is missing (scripts/deps.sh
 * test installs Open MPI, so `make test` runs it). */
#include "helpers.h"
#include "tmpdir.h"

#include "base/dist.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(mpi, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define RUN_LIMIT_S 300  /* one run, also under ASan on a busy machine */
#define DEATH_LIMIT_S 30 /* a rank dies: the job is over within this */

/* mpirun as root on a 2-core machine: two ranks of one thread each. */
#define MPIRUN_ARGS "--allow-run-as-root --oversubscribe --bind-to none -np 2"

static void need_mpi(void) {
    if (!rlc_dist_built()) cr_skip_test("this build has no MPI (libopenmpi-dev missing)");
    if (system("command -v mpirun > /dev/null 2>&1") != 0)
        cr_skip_test("mpirun not installed (apt-get install openmpi-bin)");
}

/* Starts `[mpirun -np 2] rlc MODE CFG ARGS` in tmpdir with one thread per
 * process, stdout and stderr into LOG; returns the pid. */
static pid_t spawn(int mpi, const char *mode, const char *cfg, const char *args, const char *log) {
    const char *bin = th_rlc_bin_abs(); /* before the fork: the child must not assert */
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || chdir(tmpdir)) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setpgid(0, 0); /* the test can end the whole job */
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("RLC_ADAPT_THREADS", "0", 1);
        /* containers often deny the cross-process reads (CMA) that Open MPI's
         * shared-memory transport tries first for large messages */
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s%s %s %s %s", mpi ? "mpirun " MPIRUN_ARGS " " : "", bin,
                 mode, cfg, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void dump_log(const char *log) {
    char *t = th_slurp(log);
    cr_log_error("%s:\n%s", log, t ? t : "(missing)");
    free(t);
}

/* Waits for pid at most limit_s seconds (the job is killed after); returns the wait status. */
static int wait_for(pid_t pid, int limit_s, const char *log) {
    int status = 0;
    for (time_t t0 = time(NULL);;) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        if (time(NULL) - t0 > limit_s) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_log(log);
            cr_assert_fail("still running after %d s (log: %s)", limit_s, log);
        }
        usleep(20000);
    }
}

static void run_ok(int mpi, const char *mode, const char *cfg, const char *args, const char *log) {
    int st = wait_for(spawn(mpi, mode, cfg, args, log), RUN_LIMIT_S, log);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) dump_log(log);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s %s: status %#x", mpi ? "mpirun" : "rlc",
              mode, args, st);
}

static const char *const data_spec =
    "tokenizer: {kind: byte, chat: none}\n"
    "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
    "       max_prompt_tokens: 16, eval_size: 4, seed: 7}\n";

/* One process: shards add left to right, ((s0 + s1) + s2), whatever their
 * sizes: 1e8 + -1e8 + 1 is 1 that way and 0 the other way round. */
Test(mpi, one_process_sums_in_shard_order) {
    float s[3][2] = {{1e8f, 2.0f}, {-1e8f, 0.5f}, {1.0f, 0.25f}}, out[2];
    rlc_dist_sum sum;
    cr_assert_eq(rlc_dist_sum_init(&sum, 2, 3), RLC_OK);
    for (int round = 0; round < 2; round++) { /* a round leaves the next one empty */
        for (int k = 0; k < 3; k++)
            cr_assert_eq(rlc_dist_sum_add(&sum, s[k]), RLC_OK);
        cr_assert_eq(rlc_dist_sum_finish(&sum, out), RLC_OK);
        cr_assert_eq(out[0], 1.0f, "%g", out[0]);
        cr_assert_eq(out[1], 2.75f, "%g", out[1]);
    }
    cr_assert_neq(rlc_dist_sum_finish(&sum, out), RLC_OK, "finish without the shards added");
    rlc_dist_sum_free(&sum);
    cr_assert_eq(rlc_dist_world(), 1);
    rlc_dist_shards sh;
    cr_assert_eq(rlc_dist_shards_plan(0, 5, &sh), RLC_OK);
    cr_assert(sh.shards == 1 && sh.first == 0 && sh.n_local == 1);
    cr_assert_eq(rlc_dist_shards_plan(4, 8, &sh), RLC_OK);
    cr_assert(sh.shards == 4 && sh.first == 0 && sh.n_local == 4);
    cr_assert_eq(rlc_dist_shards_plan(3, 8, &sh), RLC_ERR_INVALID);
    cr_assert_str_eq(rlc_last_error(), "training.batch_size=8 is not a multiple of 3 shards (one "
                                       "per MPI rank unless training.shards says otherwise)");
}

/* SFT from scratch writing tmpdir/<run_name>. */
static void sft_config(const char *file, int steps) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, "
             "kv_heads: 2,\n        intermediate: 64, max_seq: 48, seed: 1}\n%s"
             "training: {mode: sft, steps: %d, batch_size: 16, micro_batch: 4, eval_every: 0}\n"
             "optimizer: {lr: 1.0e-2, schedule: cosine, warmup_steps: 3, min_lr_ratio: 0.1}\n"
             "logging: {run_dir: %s, log_every: 1, tensorboard: false}\n"
             "checkpoint: {save_every: 0}\n",
             data_spec, steps, tmpdir);
    th_write_text(tmp_path(file), text);
}

/* GRPO from tmpdir/base/final (with LoRA or every weight), a checkpoint every 2 steps. */
static void grpo_config(const char *file, int lora, int steps) {
    char text[4096];
    snprintf(text, sizeof text,
             "model: {path: %s/base/final}\n%s"
             "rewards: {weights: {format_approx: 1.0, number_check: 1.0}}\n"
             "algorithm: {group_size: 4, max_new_tokens: 12, temperature: 1.0, beta: 0.02}\n"
             "lora: {enabled: %s, rank: 4, alpha: 8, targets: [q_proj, v_proj, down_proj]}\n"
             "training: {steps: %d, batch_size: 4, eval_every: 3, seed: 1}\n"
             "optimizer: {lr: 1.0e-2, schedule: cosine, warmup_steps: 2, weight_decay: 0.01}\n"
             "logging: {run_dir: %s, log_every: 1, tensorboard: false}\n"
             "checkpoint: {save_every: 2, keep_last: 2}\n",
             tmpdir, data_spec, lora ? "true" : "false", steps, tmpdir);
    th_write_text(tmp_path(file), text);
}

static void make_base(void) {
    sft_config("base.yaml", 40);
    run_ok(0, "sft", "base.yaml", "logging.run_name=base", tmp_path("base.log"));
}

/* The MPI run and the one-process one agree; the run learned something (a
 * non-zero gradient), and the MPI run's records say 2 ranks. */
static void expect_same_runs(const char *one, const char *two, int steps) {
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/metrics.jsonl", tmp_path(one));
    snprintf(b, sizeof b, "%s/metrics.jsonl", tmp_path(two));
    th_expect_same_metrics(a, b);
    th_expect_same_final(tmp_path(one), tmp_path(two));
    json_t *m = th_load_metrics(a);
    cr_assert_eq(json_array_size(m), (size_t)steps, "%s: %zu records", a, json_array_size(m));
    double gn = 0;
    for (size_t i = 0; i < json_array_size(m); i++)
        gn += json_number_value(json_object_get(json_array_get(m, i), "grad_norm"));
    cr_assert_gt(gn, 0, "no gradient in %s: the comparison would prove nothing", a);
    json_decref(m);
    char *first = th_slurp(b);
    cr_assert_not_null(first);
    cr_assert(strstr(first, "\"system/ranks\":2"), "%s does not record 2 ranks", b);
    free(first);
}

Test(mpi, sft_two_ranks_match_two_shards, .timeout = 600) {
    need_mpi();
    sft_config("s.yaml", 6);
    run_ok(0, "sft", "s.yaml", "logging.run_name=one training.shards=2", tmp_path("one.log"));
    run_ok(1, "sft", "s.yaml", "logging.run_name=two", tmp_path("two.log"));
    expect_same_runs("one", "two", 6);
    char *log = th_slurp(tmp_path("two.log"));
    cr_assert(log && strstr(log, "data parallel: 2 MPI ranks, 2 shards of 8 examples"),
              "the console does not show the world size");
    free(log);
}

static void grpo_case(int lora) {
    need_mpi();
    make_base();
    grpo_config("g.yaml", lora, 6);
    run_ok(0, "train", "g.yaml", "logging.run_name=one training.shards=2", tmp_path("one.log"));
    run_ok(1, "train", "g.yaml", "logging.run_name=two", tmp_path("two.log"));
    expect_same_runs("one", "two", 6);
    /* rank 0 alone wrote the run: one log file */
    char logs[600];
    snprintf(logs, sizeof logs, "%s/logs", tmp_path("two"));
    DIR *d = opendir(logs);
    cr_assert_not_null(d, "%s", logs);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(n, 1, "%s holds %d log files", logs, n);
}

Test(mpi, grpo_lora_two_ranks_match_two_shards, .timeout = 600) {
    grpo_case(1);
}

Test(mpi, grpo_full_two_ranks_match_two_shards, .timeout = 600) {
    grpo_case(0);
}

Test(mpi, ranks_must_divide_shards, .timeout = 300) {
    need_mpi();
    sft_config("s.yaml", 4);
    const char *log = tmp_path("bad.log");
    int st = wait_for(spawn(1, "sft", "s.yaml", "training.shards=1", log), RUN_LIMIT_S, log);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "status %#x", st);
    char *t = th_slurp(log);
    cr_assert(t && strstr(t, "training.shards=1 is not a multiple of the 2 MPI ranks"), "%s",
              t ? t : "");
    free(t);
}

/* The JSON line of an `rlc eval` log (stdout and stderr together), "seconds" left out. */
static json_t *eval_json(const char *log) {
    char *t = th_slurp(log);
    cr_assert_not_null(t, "%s", log);
    json_t *o = NULL;
    for (char *line = strtok(t, "\n"); line && !o; line = strtok(NULL, "\n"))
        if (line[0] == '{') o = json_loads(line, 0, NULL);
    free(t);
    cr_assert_not_null(o, "no JSON in %s", log);
    json_object_del(o, "seconds");
    return o;
}

Test(mpi, eval_two_ranks_match_one_process, .timeout = 600) {
    need_mpi();
    make_base();
    /* 150 problems: chunks of 64, 64 and 22; rank 0 takes the first and the last */
    const char *args = "--model base/final --n 150 --samples 2 --temperature 1.0";
    run_ok(0, "eval", "", args, tmp_path("one.log"));
    run_ok(1, "eval", "", args, tmp_path("two.log"));
    json_t *a = eval_json(tmp_path("one.log")), *b = eval_json(tmp_path("two.log"));
    char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);
    cr_assert(json_equal(a, b), "one process: %s\ntwo ranks: %s", sa, sb);
    cr_assert_eq(json_integer_value(json_object_get(a, "n")), 150);
    cr_assert_gt(json_real_value(json_object_get(a, "mean_completion_tokens")), 0, "%s", sa);
    free(sa), free(sb);
    json_decref(a), json_decref(b);
    /* one JSON line from the two ranks */
    char *t = th_slurp(tmp_path("two.log"));
    int lines = 0;
    for (char *p = t; (p = strstr(p, "{\"n\":")); p++)
        lines++;
    free(t);
    cr_assert_eq(lines, 1, "%d JSON results from 2 ranks", lines);
}

/* This job's rank `rank` (a child of mpirun, found by its environment). */
static pid_t rank_pid(pid_t mpirun, int rank) {
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    pid_t found = 0;
    for (struct dirent *e; !found && (e = readdir(d));) {
        pid_t p = (pid_t)atoi(e->d_name);
        char path[64];
        if (p <= 0) continue;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int ppid = 0;
        if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1) ppid = 0;
        fclose(f);
        if (ppid != mpirun) continue;
        /* /proc files have no size to seek to: read until the end */
        snprintf(path, sizeof path, "/proc/%d/environ", (int)p);
        static char env[1 << 16];
        size_t n = 0;
        int fd = open(path, O_RDONLY);
        for (ssize_t k = 1; fd >= 0 && k > 0 && n < sizeof env - 1; n += (size_t)k)
            if ((k = read(fd, env + n, sizeof env - 1 - n)) < 0) k = 0;
        if (fd >= 0) close(fd);
        env[n] = 0;
        for (size_t o = 0; o < n; o += strlen(env + o) + 1)
            if (!strcmp(env + o, want)) found = p;
    }
    closedir(d);
    return found;
}

/* Once `metrics` has `lines` records, sends sig to rank 1 of the job and waits
 * for the job to end (at most DEATH_LIMIT_S); it must end non-zero. Returns
 * the seconds from the signal to the end. */
static double hit_rank1(pid_t job, const char *metrics, int lines, int sig, const char *log) {
    for (time_t t0 = time(NULL); th_count_lines(metrics) < lines;) {
        int status;
        if (waitpid(job, &status, WNOHANG) == job) {
            dump_log(log);
            cr_assert_fail("the job ended before rank 1 got signal %d", sig);
        }
        cr_assert_lt(time(NULL) - t0, RUN_LIMIT_S, "no progress");
        usleep(2000);
    }
    pid_t victim = rank_pid(job, 1);
    cr_assert_gt(victim, 0, "rank 1 of mpirun %d not found", (int)job);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(kill(victim, sig), 0);
    int st = wait_for(job, DEATH_LIMIT_S, log);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kill(victim, SIGKILL); /* a stopped rank the launcher left behind */
    double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cr_log_info("the job ended %.2f s after rank 1 got signal %d", took, sig);
    cr_assert(!WIFEXITED(st) || WEXITSTATUS(st) != 0, "the job exited 0 (log %s)", log);
    return took;
}

Test(mpi, rank_killed_job_ends_and_resumes_exactly, .timeout = 900) {
    need_mpi();
    make_base();
    grpo_config("g.yaml", 1, 10);
    run_ok(0, "train", "g.yaml", "logging.run_name=ref training.shards=2", tmp_path("ref.log"));
    const char *log = tmp_path("k1.log");
    pid_t job = spawn(1, "train", "g.yaml", "logging.run_name=k", log);
    /* past the checkpoint after step 4, before the end */
    char metrics[600];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", tmp_path("k"));
    hit_rank1(job, metrics, 5, SIGKILL, log);
    int lines = th_count_lines(metrics);
    cr_assert_lt(lines, 10, "the run finished before the kill took effect");
    /* the same command again: resumes from the last checkpoint */
    run_ok(1, "train", "g.yaml", "logging.run_name=k", tmp_path("k2.log"));
    char *t = th_slurp(tmp_path("k2.log"));
    cr_assert(t && strstr(t, "resuming from"), "the rerun did not resume");
    free(t);
    char a[600];
    snprintf(a, sizeof a, "%s/metrics.jsonl", tmp_path("ref"));
    th_expect_same_metrics(a, metrics);
    th_expect_same_final(tmp_path("ref"), tmp_path("k"));
}

/* A rank that hangs (stopped with SIGSTOP) instead of dying: the others give
 * up after RLC_DIST_TIMEOUT seconds in one MPI call, say why, and the job
 * ends. */
Test(mpi, hung_rank_ends_job_after_timeout, .timeout = 300) {
    need_mpi();
    setenv("RLC_DIST_TIMEOUT", "3", 1);
    sft_config("s.yaml", 100000);
    const char *log = tmp_path("hang.log");
    pid_t job = spawn(1, "sft", "s.yaml", "logging.run_name=h", log);
    char metrics[600];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", tmp_path("h"));
    double took = hit_rank1(job, metrics, 2, SIGSTOP, log);
    cr_assert_gt(took, 3.0, "ended before the timeout: %.2f s", took);
    char *t = th_slurp(log);
    cr_assert(t && strstr(t, "MPI rank 0 of 2 waited") && strstr(t, "(RLC_DIST_TIMEOUT=3)"),
              "no message naming the wait: %s", t ? t : "");
    free(t);
}
