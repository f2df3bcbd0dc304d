/* The CLI's bounded OpenMP spin: rlc runs with GOMP_SPINCOUNT=1000 unless the
 * user set OMP_WAIT_POLICY or GOMP_SPINCOUNT, keeping its pid, arguments and
 * exit status. The environment is read from /proc/<pid>/environ of a running
 * rlc (`rlc tokenize -` blocked on its stdin pipe). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Value of `name` in /proc/pid/environ (into out; "" when absent), read once
 * the process has exec'd into rlc (its environ has RLC_OMP_TEST_MARK and, if
 * rlc re-executes itself, that has happened when GOMP_SPINCOUNT shows up or
 * after a short wait). */
static void proc_env(pid_t pid, const char *name, char *out, size_t cap) {
    char path[64], buf[1 << 15];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    out[0] = 0;
    size_t nlen = strlen(name);
    for (int tries = 0; tries < 200; tries++) {
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = 0;
        int marked = 0;
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
            if (!strcmp(buf + i, "RLC_OMP_TEST_MARK=1")) marked = 1;
            if (!strncmp(buf + i, name, nlen) && buf[i + nlen] == '=')
                snprintf(out, cap, "%s", buf + i + nlen + 1);
        }
        if (marked && (out[0] || tries >= 20)) return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Starts `env -u ... VAR=... rlc tokenize --tokenizer DIR -` with stdin a
 * pipe held open, reads `name` from its environment, then closes the pipe and
 * returns rlc's exit status. */
static char g_comm[64]; /* /proc/<pid>/comm of the last run, read beside the environment */

static int run_and_read(const char *setenv_kv, const char *name, char *out, size_t cap,
                        pid_t *pid_out) {
    char dir[256], tok[512];
    th_tmpdir(dir, sizeof dir);
    snprintf(tok, sizeof tok, "%s/rlc_tokenizer.json", dir);
    th_write_text(tok, "{\"kind\": \"byte\", \"specials\": [\"<|bos|>\", \"<|eos|>\"]}");
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]), close(fds[1]);
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        unsetenv("OMP_WAIT_POLICY"), unsetenv("GOMP_SPINCOUNT");
        setenv("RLC_OMP_TEST_MARK", "1", 1);
        if (setenv_kv) putenv((char *)setenv_kv);
        execl(th_rlc_bin(), th_rlc_bin(), "tokenize", "--tokenizer", tok, "-", (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    proc_env(pid, name, out, cap);
    char cpath[64];
    snprintf(cpath, sizeof cpath, "/proc/%d/comm", (int)pid);
    FILE *cf = fopen(cpath, "r");
    g_comm[0] = 0;
    if (cf && fgets(g_comm, sizeof g_comm, cf)) g_comm[strcspn(g_comm, "\n")] = 0;
    if (cf) fclose(cf);
    if (write(fds[1], "ab", 2) != 2) kill(pid, SIGKILL);
    close(fds[1]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    th_rmdir(dir);
    if (pid_out) *pid_out = pid;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(omp_env, default_spin_is_bounded) {
    char v[64];
    cr_assert_eq(run_and_read(NULL, "GOMP_SPINCOUNT", v, sizeof v, NULL), 0);
    cr_assert_str_eq(v, "1000", "rlc runs with GOMP_SPINCOUNT=%s", v);
    /* the process keeps its name (ps, pgrep): the binary's, not "exe" */
    const char *base = strrchr(th_rlc_bin(), '/');
    base = base ? base + 1 : th_rlc_bin();
    cr_assert(g_comm[0] && !strncmp(g_comm, base, strlen(g_comm)), "comm '%s', binary '%s'", g_comm,
              base);
}

Test(omp_env, user_spincount_wins) {
    char v[64];
    static char kv[] = "GOMP_SPINCOUNT=77";
    cr_assert_eq(run_and_read(kv, "GOMP_SPINCOUNT", v, sizeof v, NULL), 0);
    cr_assert_str_eq(v, "77");
}

Test(omp_env, user_wait_policy_wins) {
    char v[64], p[64];
    static char kv[] = "OMP_WAIT_POLICY=PASSIVE";
    cr_assert_eq(run_and_read(kv, "GOMP_SPINCOUNT", v, sizeof v, NULL), 0);
    cr_assert_str_eq(v, "", "GOMP_SPINCOUNT=%s set beside the user's OMP_WAIT_POLICY", v);
    cr_assert_eq(run_and_read(kv, "OMP_WAIT_POLICY", p, sizeof p, NULL), 0);
    cr_assert_str_eq(p, "PASSIVE");
}

/* The exec keeps the exit status and the arguments: a usage error is still 2
 * and names the unknown command. */
Test(omp_env, exit_status_and_argv_survive) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT %s no-such-cmd 2>&1",
             th_rlc_bin());
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit status %d", st);
    cr_assert(strstr(out, "unknown command 'no-such-cmd'"), "output: %s", out);
}
