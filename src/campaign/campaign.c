/* Running a campaign: the plan (condition x seed runs and their command
 * lines), the manifest, the children and their signals. */
#include "campaign/campaign.h"

#include "base/fs.h"
#include "base/procstat.h"
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP 4096

typedef enum {
    RUN_PENDING = 0,
    RUN_RUNNING,
    RUN_DONE,
    RUN_FAILED,
    RUN_STOPPED,
} run_status;

static const char *const status_names[] = {"pending", "running", "done", "failed", "stopped"};

typedef struct cp_run {
    int cond, seed;
    char name[160];     /* LABEL_sSEED */
    char dir[PATH_CAP]; /* DIR/NAME/LABEL_sSEED */
    char log[PATH_CAP]; /* DIR/NAME/logs/LABEL_sSEED.log: the child's stdout + stderr */
    char **argv;        /* NULL-terminated; argv[0] is the binary */
    int argc;
    run_status status;
    int exit_code; /* -1: none yet */
    char started[32], finished[32];
    double wall_s; /* over every attempt */
    char *error;   /* the child's last "rlc: " line when it failed */
    int skipped;   /* finished before this invocation */
    pid_t pid;
    double t0;
    long log_start; /* the log's size when this attempt began */
} cp_run;

typedef struct cp_state {
    const rlc_campaign *c;
    const rlc_campaign_opts *o;
    cp_run *runs;
    int n;
    char manifest[PATH_CAP];
} cp_state;

/* ---- time ---- */

static double now_s(void) {
    return rlc_clock_seconds(CLOCK_MONOTONIC);
}

static void iso_now(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the plan ---- */

/* An override with every "{seed}" replaced by the run's seed (e.g.
 * model.path=runs/sft/s{seed}/final: each seed starts from its own model). */
static rlc_status with_seed(const char *in, int seed, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = in; *p;) {
        int k;
        if (!strncmp(p, "{seed}", 6)) {
            k = snprintf(out + n, cap - n, "%d", seed);
            p += 6;
        } else {
            k = 1;
            if (n + 1 < cap) out[n] = *p;
            p++;
        }
        if (k < 0 || (n += (size_t)k) >= cap)
            return rlc_errorf(RLC_ERR_INVALID, "override too long: %s", in);
    }
    out[n] = 0;
    return RLC_OK;
}

static rlc_status add_arg(cp_run *r, const char *s) {
    char **grown = realloc(r->argv, (size_t)(r->argc + 2) * sizeof *grown);
    if (!grown) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    r->argv = grown;
    if (!(r->argv[r->argc] = strdup(s))) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    r->argv[++r->argc] = NULL;
    return RLC_OK;
}

/* rlc train BASE, the campaign's overrides, the condition's, then the keys
 * the campaign owns (last, so nothing overrides them). */
static rlc_status plan_run(const rlc_campaign *c, const char *bin, int cond, int seed, cp_run *r) {
    const rlc_campaign_cond *cd = &c->conds[cond];
    r->cond = cond;
    r->seed = seed;
    r->exit_code = -1;
    r->pid = -1;
    snprintf(r->name, sizeof r->name, "%s_s%d", cd->label, seed);
    if (snprintf(r->dir, sizeof r->dir, "%s/%s", c->dir_abs, r->name) >= (int)sizeof r->dir ||
        snprintf(r->log, sizeof r->log, "%s/logs/%s.log", c->dir_abs, r->name) >=
            (int)sizeof r->log)
        return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", c->dir_abs);
    char arg[PATH_CAP + 64];
    RLC_TRY(add_arg(r, bin));
    RLC_TRY(add_arg(r, c->command));
    RLC_TRY(add_arg(r, c->base_abs));
    for (int i = 0; i < c->n_overrides; i++) {
        RLC_TRY(with_seed(c->overrides[i], seed, arg, sizeof arg));
        RLC_TRY(add_arg(r, arg));
    }
    for (int i = 0; i < cd->n_overrides; i++) {
        RLC_TRY(with_seed(cd->overrides[i], seed, arg, sizeof arg));
        RLC_TRY(add_arg(r, arg));
    }
    snprintf(arg, sizeof arg, "training.seed=%d", seed);
    RLC_TRY(add_arg(r, arg));
    snprintf(arg, sizeof arg, "logging.run_dir=%s", c->dir_abs);
    RLC_TRY(add_arg(r, arg));
    snprintf(arg, sizeof arg, "logging.run_name=%s", r->name);
    RLC_TRY(add_arg(r, arg));
    return add_arg(r, "checkpoint.resume=auto");
}

static void free_runs(cp_run *runs, int n) {
    for (int i = 0; runs && i < n; i++) {
        for (int j = 0; j < runs[i].argc; j++)
            free(runs[i].argv[j]);
        free(runs[i].argv);
        free(runs[i].error);
    }
    free(runs);
}

/* Seed-major order: every condition of the first seed, then the next seed,
 * so an interrupted campaign already compares all conditions. */
static rlc_status plan(const rlc_campaign *c, const char *bin, cp_run **out, int *n_out) {
    int n = c->n_seeds * c->n_conds;
    cp_run *runs = calloc((size_t)n, sizeof *runs);
    if (!runs) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    rlc_status st = RLC_OK;
    for (int s = 0, k = 0; !st && s < c->n_seeds; s++)
        for (int i = 0; !st && i < c->n_conds; i++)
            st = plan_run(c, bin, i, c->seeds[s], &runs[k++]);
    if (st) {
        free_runs(runs, n);
        return st;
    }
    *out = runs;
    *n_out = n;
    return RLC_OK;
}

/* A shell-quoted command line (for --dry-run and messages). */
static void print_command(FILE *f, char *const *argv) {
    for (int i = 0; argv[i]; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%",
                        *p))
                plain = 0;
        fputs(i ? " " : "", f);
        if (plain) {
            fputs(a, f);
            continue;
        }
        fputc('\'', f);
        for (const char *p = a; *p; p++)
            *p == '\'' ? fputs("'\\''", f) : fputc(*p, f);
        fputc('\'', f);
    }
    fputc('\n', f);
}

/* ---- the manifest ---- */

static json_t *json_strings(char *const *s, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(s[i]));
    return a;
}

static json_t *opt_string(const char *s) {
    return s && *s ? json_string(s) : json_null();
}

static rlc_status write_manifest(const cp_state *s) {
    const rlc_campaign *c = s->c;
    json_t *m = json_object(), *conds = json_array(), *runs = json_array(), *seeds = json_array();
    char when[32];
    iso_now(when, sizeof when);
    json_object_set_new(m, "campaign", json_string(c->name));
    json_object_set_new(m, "campaign_file", json_string(c->file_abs));
    json_object_set_new(m, "base", json_string(c->base_abs));
    json_object_set_new(m, "dir", json_string(c->dir_abs));
    json_object_set_new(m, "updated", json_string(when));
    for (int i = 0; i < c->n_seeds; i++)
        json_array_append_new(seeds, json_integer(c->seeds[i]));
    json_object_set_new(m, "seeds", seeds);
    json_object_set_new(m, "overrides", json_strings(c->overrides, c->n_overrides));
    for (int i = 0; i < c->n_conds; i++) {
        json_t *cd = json_object();
        json_object_set_new(cd, "label", json_string(c->conds[i].label));
        json_object_set_new(cd, "overrides",
                            json_strings(c->conds[i].overrides, c->conds[i].n_overrides));
        json_array_append_new(conds, cd);
    }
    json_object_set_new(m, "conditions", conds);
    for (int i = 0; i < s->n; i++) {
        const cp_run *r = &s->runs[i];
        json_t *j = json_object();
        json_object_set_new(j, "label", json_string(c->conds[r->cond].label));
        json_object_set_new(j, "seed", json_integer(r->seed));
        json_object_set_new(j, "name", json_string(r->name));
        json_object_set_new(j, "dir", json_string(r->dir));
        json_object_set_new(j, "status", json_string(status_names[r->status]));
        json_object_set_new(j, "exit_code",
                            r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
        json_object_set_new(j, "started", opt_string(r->started));
        json_object_set_new(j, "finished", opt_string(r->finished));
        json_object_set_new(j, "wall_s", json_real(r->wall_s));
        json_object_set_new(j, "log", json_string(r->log));
        if (r->error) json_object_set_new(j, "error", json_string(r->error));
        json_object_set_new(j, "command", json_strings(r->argv, r->argc));
        json_array_append_new(runs, j);
    }
    json_object_set_new(m, "runs", runs);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(m);
    if (!text) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    size_t len = strlen(text);
    char *full = malloc(len + 2);
    rlc_status st = full ? RLC_OK : rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    if (!st) {
        memcpy(full, text, len);
        full[len] = '\n';
        full[len + 1] = 0;
        st = rlc_write_file_atomic(s->manifest, full, len + 1);
    }
    free(full);
    free(text);
    return st;
}

/* Whether r's run finished: final/trainer_state.json holds an integer step
 * (final/ is renamed into place whole, so a partial one has none). The same
 * test as the trainer's rlc_run_final_step, without linking the trainer. */
static int final_present(const cp_run *r) {
    char path[PATH_CAP + 64];
    snprintf(path, sizeof path, "%s/final/trainer_state.json", r->dir);
    json_t *j = json_load_file(path, 0, NULL);
    int ok = j && json_is_integer(json_object_get(j, "step"));
    json_decref(j);
    return ok;
}

/* Takes what an earlier invocation recorded for each run: wall time, the
 * finish of done runs, and whether a done run can be skipped (same command,
 * final/ present). A run recorded as running (the campaign was killed) counts
 * as stopped. */
static void load_previous(cp_state *s) {
    json_t *m = json_load_file(s->manifest, 0, NULL);
    json_t *runs = json_object_get(m, "runs");
    size_t i;
    json_t *e;
    json_array_foreach(runs, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *st = json_string_value(json_object_get(e, "status"));
        cp_run *r = NULL;
        for (int k = 0; name && k < s->n; k++)
            if (!strcmp(s->runs[k].name, name)) r = &s->runs[k];
        if (!r || !st) continue;
        json_t *w = json_object_get(e, "wall_s");
        if (json_is_number(w)) r->wall_s = json_number_value(w);
        json_t *cmd = json_object_get(e, "command");
        int same = json_is_array(cmd) && (int)json_array_size(cmd) == r->argc;
        for (int k = 1; same && k < r->argc; k++) {
            const char *a = json_string_value(json_array_get(cmd, (size_t)k));
            same = a && !strcmp(a, r->argv[k]);
        }
        if (!strcmp(st, "done") && same && final_present(r)) {
            r->status = RUN_DONE;
            r->skipped = 1;
            json_t *x = json_object_get(e, "exit_code");
            r->exit_code = json_is_integer(x) ? (int)json_integer_value(x) : 0;
            const char *a = json_string_value(json_object_get(e, "started"));
            const char *b = json_string_value(json_object_get(e, "finished"));
            snprintf(r->started, sizeof r->started, "%s", a ? a : "");
            snprintf(r->finished, sizeof r->finished, "%s", b ? b : "");
        } else if (!strcmp(st, "stopped") || !strcmp(st, "running")) {
            r->status = RUN_STOPPED; /* resumed below with checkpoint.resume=auto */
        }
    }
    json_decref(m);
}

/* ---- children ---- */

/* The last line of `text` that starts with "rlc: " (malloc'd, without that
 * prefix), else the last non-empty line, else NULL. */
static char *last_error_line(const char *text) {
    const char *best = NULL, *any = NULL;
    size_t best_n = 0, any_n = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 5 && !strncmp(p, "rlc: ", 5)) best = p + 5, best_n = n - 5;
        if (n) any = p, any_n = n;
        p = nl ? nl + 1 : p + n;
    }
    if (!best) best = any, best_n = any_n;
    return best ? strndup(best, best_n) : NULL;
}

/* In the child after fork: own process group (a terminal's Ctrl-C reaches
 * the campaign only, which forwards it once: two would abort the run without
 * a checkpoint), SIGTERM when the campaign dies, output into fd. */
static void child_setup(int out_fd, int threads) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    if (threads > 0 && !getenv("OMP_NUM_THREADS")) {
        char t[16];
        snprintf(t, sizeof t, "%d", threads);
        setenv("OMP_NUM_THREADS", t, 1);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* `rlc train ... --check` for the first seed of each condition: a refused
 * config is an error naming the condition before any run starts. */
static rlc_status check_conditions(const cp_state *s) {
    for (int i = 0; i < s->c->n_conds; i++) {
        const cp_run *r = &s->runs[i]; /* seed-major: the first n_conds runs */
        int fds[2];
        if (pipe(fds)) return rlc_errorf(RLC_ERR_IO, "pipe: %s", strerror(errno));
        char **argv = calloc((size_t)r->argc + 2, sizeof *argv);
        if (!argv) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
        memcpy(argv, r->argv, (size_t)r->argc * sizeof *argv);
        argv[r->argc] = "--check";
        pid_t pid = fork();
        if (pid == 0) {
            child_setup(fds[1], 1);
            close(fds[0]);
            execv(argv[0], argv);
            dprintf(2, "rlc: cannot run %s: %s\n", argv[0], strerror(errno));
            _exit(127);
        }
        free(argv);
        close(fds[1]);
        if (pid < 0) {
            close(fds[0]);
            return rlc_errorf(RLC_ERR_IO, "fork: %s", strerror(errno));
        }
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        char buf[4096];
        ssize_t k;
        while (mem && (k = read(fds[0], buf, sizeof buf)) != 0) {
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) break;
            if (fwrite(buf, 1, (size_t)k, mem) != (size_t)k) break;
        }
        if (mem) fclose(mem);
        close(fds[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char *line = last_error_line(text);
            const char *msg = line ? line : "no message";
            rlc_status st = rlc_errorf(RLC_ERR_INVALID, "%s: condition '%s': %s", s->c->file_abs,
                                       s->c->conds[r->cond].label, msg);
            free(line);
            free(text);
            return st;
        }
        free(text);
    }
    return RLC_OK;
}

static volatile sig_atomic_t signals_seen, last_signal;

static void on_signal(int sig) {
    last_signal = sig;
    signals_seen++;
}

/* Installs on_signal for SIGINT and SIGTERM, without SA_RESTART so a sleep
 * wakes; a signal inherited as ignored stays ignored. */
static void install_signals(struct sigaction *old_int, struct sigaction *old_term, int *have) {
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signals_seen = last_signal = 0;
    have[0] = sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN &&
              sigaction(SIGINT, &sa, old_int) == 0;
    have[1] = sigaction(SIGTERM, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN &&
              sigaction(SIGTERM, &sa, old_term) == 0;
}

static rlc_status start_run(cp_state *s, cp_run *r, int threads) {
    char logs[PATH_CAP];
    snprintf(logs, sizeof logs, "%s/logs", s->c->dir_abs);
    RLC_TRY(rlc_mkdir_p(logs));
    int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return rlc_errorf(RLC_ERR_IO, "%s: %s", r->log, strerror(errno));
    struct stat sb;
    r->log_start = fstat(fd, &sb) == 0 ? (long)sb.st_size : 0;
    char when[32];
    iso_now(when, sizeof when);
    dprintf(fd, "==== rlc campaign %s: %s, %s\n", s->c->name, r->name, when);
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(fd, threads);
        execv(r->argv[0], r->argv);
        dprintf(2, "rlc: cannot run %s: %s\n", r->argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    if (pid < 0) return rlc_errorf(RLC_ERR_IO, "fork: %s", strerror(errno));
    r->pid = pid;
    r->status = RUN_RUNNING;
    r->exit_code = -1;
    r->t0 = now_s();
    snprintf(r->started, sizeof r->started, "%s", when);
    r->finished[0] = 0;
    free(r->error);
    r->error = NULL;
    return RLC_OK;
}

/* Records a child's end: done (exit 0), stopped (128+SIGINT/SIGTERM, or
 * killed by a signal the campaign forwarded), else failed with its last
 * "rlc: " line. */
static void finish_run(cp_state *s, cp_run *r, int status, int stopping) {
    r->wall_s += now_s() - r->t0;
    r->pid = -1;
    iso_now(r->finished, sizeof r->finished);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->exit_code = code;
    if (WIFEXITED(status) && code == 0)
        r->status = RUN_DONE;
    else if (code == 128 + SIGINT || code == 128 + SIGTERM || (stopping && !WIFEXITED(status)))
        r->status = RUN_STOPPED;
    else
        r->status = RUN_FAILED;
    if (r->status == RUN_FAILED) {
        char *text = NULL;
        if (rlc_read_file(r->log, &text, NULL) == RLC_OK && (long)strlen(text) >= r->log_start)
            r->error = last_error_line(text + r->log_start);
        free(text);
        if (!WIFEXITED(status) && !r->error) {
            char msg[64];
            snprintf(msg, sizeof msg, "killed by signal %d", WTERMSIG(status));
            r->error = strdup(msg);
        }
    }
    FILE *f = s->o->out;
    if (r->status == RUN_FAILED)
        fprintf(f, "  %-28s failed (exit %d, %.1f s): %s\n    log: %s\n", r->name, code, r->wall_s,
                r->error ? r->error : "no message", r->log);
    else
        fprintf(f, "  %-28s %s (exit %d, %.1f s)\n", r->name, status_names[r->status], code,
                r->wall_s);
    fflush(f);
}

/* The loop: start runs while slots are free and no signal came, forward each
 * signal to the running children once, reap them. */
static rlc_status execute(cp_state *s, int *stop_sig) {
    const rlc_campaign_opts *o = s->o;
    /* the cores this process may run on (taskset, cgroup cpusets) */
    cpu_set_t set;
    long cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : sysconf(_SC_NPROCESSORS_ONLN);
    int threads = o->parallel > 1 ? (int)(cores / o->parallel > 1 ? cores / o->parallel : 1) : 0;
    struct sigaction old_int, old_term;
    int have[2];
    install_signals(&old_int, &old_term, have);
    int next = 0, running = 0, forwarded = 0;
    rlc_status st = RLC_OK;
    while (1) {
        if (signals_seen != forwarded) {
            int sig = last_signal;
            forwarded = signals_seen;
            *stop_sig = sig;
            for (int i = 0; i < s->n; i++)
                if (s->runs[i].pid > 0) kill(s->runs[i].pid, sig);
            fprintf(o->out,
                    "rlc campaign: %s: stopping the running runs (they save a checkpoint); "
                    "no new run starts\n",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            fflush(o->out);
        }
        while (!st && !*stop_sig && running < o->parallel && next < s->n) {
            cp_run *r = &s->runs[next++];
            if (r->skipped) {
                fprintf(o->out, "  %-28s done (skipped)\n", r->name);
                continue;
            }
            fprintf(o->out, "  %-28s %s\n", r->name,
                    r->status == RUN_STOPPED ? "resuming" : "running");
            fflush(o->out);
            st = start_run(s, r, threads);
            if (!st) {
                running++;
                st = write_manifest(s);
            }
        }
        if (running == 0 && (*stop_sig || next == s->n || st)) break;
        /* only the campaign's own children: a caller's others are not ours to reap */
        int reaped = 0;
        for (int i = 0; i < s->n; i++) {
            cp_run *r = &s->runs[i];
            int status;
            if (r->pid <= 0 || waitpid(r->pid, &status, WNOHANG) != r->pid) continue;
            finish_run(s, r, status, *stop_sig != 0);
            running--;
            reaped = 1;
            rlc_status w = write_manifest(s);
            if (!st) st = w;
        }
        if (reaped) continue;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (have[0]) sigaction(SIGINT, &old_int, NULL);
    if (have[1]) sigaction(SIGTERM, &old_term, NULL);
    return st;
}

/* ---- comparison ---- */

#define MAX_COMPARED 16 /* rlc_monitor_compare's limit */

/* rlc monitor --compare of the finished runs of one seed (seed >= 0:
 * labelled by condition, into DIR/NAME/compare/s<seed>/) or of every run
 * (seed -1: labelled LABEL_sSEED, into DIR/NAME/compare/), at most 16. */
static void compare_runs(const cp_state *s, int seed) {
    const char *dirs[MAX_COMPARED], *labels[MAX_COMPARED];
    int n = 0;
    for (int i = 0; i < s->n && n < MAX_COMPARED; i++)
        if (s->runs[i].status == RUN_DONE && (seed < 0 || s->runs[i].seed == seed)) {
            dirs[n] = s->runs[i].dir;
            labels[n++] = seed < 0 ? s->runs[i].name : s->c->conds[s->runs[i].cond].label;
        }
    if (!n) return;
    char out[PATH_CAP];
    if (seed < 0)
        snprintf(out, sizeof out, "%s/compare", s->c->dir_abs);
    else
        snprintf(out, sizeof out, "%s/compare/s%d", s->c->dir_abs, seed);
    char *report = NULL;
    rlc_status st = rlc_monitor_compare(dirs, labels, n, out, &report);
    free(report);
    if (st)
        fprintf(s->o->out, "rlc campaign: comparison not written: %s\n", rlc_last_error());
    else
        fprintf(s->o->out, "comparison of %d runs%s: %s/compare.txt and plots\n", n,
                n == MAX_COMPARED ? " (the first 16)" : "", out);
}

/* Every finished run on one set of axes when they fit; else one comparison
 * of the conditions per seed. */
static void compare(const cp_state *s) {
    int done = 0;
    for (int i = 0; i < s->n; i++)
        done += s->runs[i].status == RUN_DONE;
    if (done <= MAX_COMPARED) {
        compare_runs(s, -1);
        return;
    }
    for (int k = 0; k < s->c->n_seeds; k++)
        compare_runs(s, s->c->seeds[k]);
}

/* ---- the campaign ---- */

rlc_status rlc_campaign_run(const rlc_campaign *c, const rlc_campaign_opts *o,
                            rlc_campaign_result *res) {
    memset(res, 0, sizeof *res);
    cp_state s = {c, o, NULL, 0, {0}};
    RLC_TRY(rlc_path_join(s.manifest, sizeof s.manifest, c->dir_abs, RLC_CAMPAIGN_MANIFEST));
    RLC_TRY(plan(c, o->rlc_bin, &s.runs, &s.n));
    res->n_runs = s.n;
    rlc_status st = check_conditions(&s);
    int lock_fd = -1;
    if (!st && o->dry_run) {
        load_previous(&s);
        for (int i = 0; i < s.n; i++) {
            if (s.runs[i].skipped) {
                fprintf(o->out, "# %s: done, skipped\n", s.runs[i].name);
                continue;
            }
            print_command(o->out, s.runs[i].argv);
        }
        goto out;
    }
    if (!st) st = rlc_mkdir_p(c->dir_abs);
    if (!st) {
        /* one campaign per folder at a time: two would run the same runs */
        char lock[PATH_CAP];
        snprintf(lock, sizeof lock, "%s/.lock", c->dir_abs);
        lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0)
            st = rlc_errorf(RLC_ERR_IO, "%s: %s", lock, strerror(errno));
        else if (flock(lock_fd, LOCK_EX | LOCK_NB))
            st = rlc_errorf(RLC_ERR_INVALID, "%s: another rlc campaign is running there",
                            c->dir_abs);
    }
    if (st) goto out;
    load_previous(&s);
    fprintf(o->out, "campaign %s: %d conditions x %d seeds = %d runs in %s (%d at a time)\n",
            c->name, c->n_conds, c->n_seeds, s.n, c->dir_abs, o->parallel);
    fflush(o->out);
    st = write_manifest(&s);
    int sig = 0;
    if (!st) st = execute(&s, &sig);
    for (int i = 0; i < s.n; i++) {
        const cp_run *r = &s.runs[i];
        res->n_done += r->status == RUN_DONE;
        res->n_skipped += r->skipped;
        res->n_failed += r->status == RUN_FAILED;
        res->n_stopped += r->status == RUN_STOPPED;
        res->n_pending += r->status == RUN_PENDING;
    }
    res->stop_signal = sig;
    if (st) goto out;
    if (sig) {
        fprintf(o->out,
                "campaign %s stopped by %s: %d done, %d stopped, %d not started. To resume "
                "(finished runs are skipped, stopped ones resume from their checkpoint): rlc "
                "campaign %s%s%.0d\n",
                c->name, sig == SIGINT ? "SIGINT" : "SIGTERM", res->n_done, res->n_stopped,
                res->n_pending, c->file_abs, o->parallel > 1 ? " --parallel " : "",
                o->parallel > 1 ? o->parallel : 0);
        goto out;
    }
    char *text = NULL;
    st = rlc_campaign_summarize(c, &text);
    if (!st) {
        fputs(text, o->out);
        fprintf(o->out, "summary: %s/summary.txt, %s/summary.json; manifest: %s\n", c->dir_abs,
                c->dir_abs, s.manifest);
    }
    free(text);
    if (!st) compare(&s);
    if (!st && res->n_failed)
        fprintf(o->out, "campaign %s: %d of %d runs failed (see the logs named above)\n", c->name,
                res->n_failed, s.n);
out:
    if (lock_fd >= 0) close(lock_fd);
    free_runs(s.runs, s.n);
    return st;
}
