/* rlc status: one line per run under a folder, from the run files alone. The
 * list and each run's status come from the dashboard's run registry
 * (serve/runs.h, same rule as `rlc serve`); the columns from metrics.jsonl
 * (keys from the metric registry) and the run's config.yaml (total steps). */
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/runrow.h"

#include "base/procstat.h"
#include "observe/console.h"
#include "observe/metrics.h"
#include "serve/runs.h"
#include "serve/serve.h"
#include "train/runconfig.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SYNOPSIS "[RUNS_DIR] [--watch [SECONDS]] [--running-window S]"

/* The last finite value of key's column, or NAN. */
static double last_value(const rlc_metrics *m, rlc_metric_id id) {
    const double *v = rlc_metrics_col(m, rlc_metric_defs()[id].key);
    for (int i = m->n_rows - 1; v && i >= 0; i--)
        if (isfinite(v[i])) return v[i];
    return NAN;
}

#define STEP_TIME_ROWS 10 /* steps the ETA's time per step is averaged over */

static rlc_status fill_from_metrics(const rlc_metrics *m, void *vrow) {
    rlc_cli_run_row *row = vrow;
    if (!m) return RLC_OK;
    if (m->condition) snprintf(row->condition, sizeof row->condition, "%s", m->condition);
    row->steps = m->step[m->n_rows - 1] + 1; /* steps count from 0 */
    row->reward = last_value(m, RLC_M_MEAN_REWARD);
    row->correct = last_value(m, RLC_M_CORRECT_RATE);
    row->eval = last_value(m, RLC_M_EVAL_ACCURACY);
    const double *t = rlc_metrics_col(m, rlc_metric_defs()[RLC_M_STEP_TIME].key);
    double sum = 0;
    int n = 0;
    for (int i = m->n_rows - 1; t && i >= 0 && n < STEP_TIME_ROWS; i--)
        if (isfinite(t[i])) sum += t[i], n++;
    if (n) row->step_time = sum / n;
    return RLC_OK;
}

/* training.steps from the run's config.yaml; NAN when it is missing, does not
 * load, or comes from training.epochs (0). */
static double total_steps(const char *root, const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s/config.yaml", root, rel[0] ? "/" : "", rel);
    if (access(path, R_OK)) return NAN;
    rlc_run_config c;
    if (rlc_run_config_load(path, &c)) {
        rlc_clear_error();
        return NAN;
    }
    double n = c.training.steps > 0 ? c.training.steps : NAN;
    rlc_run_config_free(&c);
    return n;
}

void rlc_cli_run_row_fill(rlc_runs *runs, const rlc_run_info *info, rlc_cli_run_row *row) {
    *row = (rlc_cli_run_row){"", NAN, NAN, NAN, NAN, NAN, NAN};
    if (rlc_runs_with_metrics(runs, info->id, fill_from_metrics, row)) rlc_clear_error();
    row->total = total_steps(rlc_runs_root(runs), info->rel);
}

int rlc_cli_runs_open(const char *cmd, const char *dir, float window, rlc_runs **out) {
    if (!(window > 0)) {
        fprintf(stderr, "rlc %s: --running-window must be > 0\n", cmd);
        return 2;
    }
    rlc_status st = rlc_runs_open(dir, window, 0, out);
    if (st) {
        rlc_cli_fail(st);
        return 2;
    }
    return 0;
}

void rlc_cli_duration(char *out, size_t cap, double s) {
    if (isfinite(s) && s >= 0)
        rlc_clock_text(out, cap, s);
    else
        snprintf(out, cap, "-");
}

static void put_num(char *out, size_t cap, double v, const char *fmt) {
    if (isfinite(v))
        snprintf(out, cap, fmt, v);
    else
        snprintf(out, cap, "-");
}

/* name, condition, status, step/total, reward, correct, eval, eta, updated */
#define ROW_FMT "%-*s  %-16s %-8s %13s %7s %7s %6s %9s %8s\n"

/* Prints the table once. Returns the status of listing the runs. */
static rlc_status print_table(rlc_runs *runs) {
    rlc_run_info *v;
    int n;
    rlc_status st = rlc_runs_list(runs, &v, &n);
    if (st) return st;
    double now = rlc_clock_seconds(CLOCK_REALTIME);
    int w = 4;
    for (int i = 0; i < n; i++)
        if ((int)strlen(v[i].id) > w) w = (int)strlen(v[i].id);
    printf(ROW_FMT, w, "name", "condition", "status", "step/total", "reward", "correct", "eval",
           "eta", "updated");
    for (int i = 0; i < n; i++) {
        rlc_cli_run_row row;
        rlc_cli_run_row_fill(runs, &v[i], &row);
        char steps[64], reward[32], correct[32], eval[32], eta[64], age[64];
        if (isfinite(row.total))
            snprintf(steps, sizeof steps, "%.0f/%.0f", isfinite(row.steps) ? row.steps : 0,
                     row.total);
        else
            put_num(steps, sizeof steps, row.steps, "%.0f/?");
        put_num(reward, sizeof reward, row.reward, "%.3f");
        put_num(correct, sizeof correct, row.correct, "%.3f");
        put_num(eval, sizeof eval, row.eval, "%.3f");
        double left = row.total - (isfinite(row.steps) ? row.steps : 0);
        rlc_cli_duration(eta, sizeof eta,
                         v[i].status == RLC_RUN_RUNNING ? left * row.step_time : NAN);
        rlc_cli_duration(age, sizeof age, v[i].updated > 0 ? now - v[i].updated : NAN);
        printf(ROW_FMT, w, v[i].id, row.condition[0] ? row.condition : "-",
               rlc_run_status_str(v[i].status), steps, reward, correct, eval, eta, age);
    }
    if (!n) printf("(no runs: no folder holding metrics.jsonl)\n");
    free(v);
    return RLC_OK;
}

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig) {
    (void)sig;
    stop_watch = 1;
}

/* Takes "--watch [SECONDS]" / "--watch=SECONDS" out of argv (the option
 * table cannot hold an optional value). Returns 0, or -1 on a bad value. */
static int take_watch(int *argc, char **argv, double *watch) {
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        const char *val = NULL;
        if (!strcmp(argv[i], "--watch")) {
            *watch = 2;
            char *end;
            if (i + 1 < *argc && strtod(argv[i + 1], &end) > 0 && !*end) val = argv[++i];
        } else if (!strncmp(argv[i], "--watch=", 8)) {
            val = argv[i] + 8;
        } else {
            argv[k++] = argv[i];
            continue;
        }
        char *end;
        if (val && (!((*watch = strtod(val, &end)) > 0) || *end)) {
            fprintf(stderr, "rlc status: --watch takes seconds > 0, got '%s'\n", val);
            return -1;
        }
    }
    *argc = k;
    return 0;
}

int rlc_cmd_status(int argc, char **argv) {
    const char *dir = "runs";
    double watch = 0;
    int watch_flag = 0;
    float window = (float)rlc_serve_default_params().running_window_s;
    rlc_opt opts[] = {
        {"runs", OPT_POS, &dir, "RUNS_DIR",
         "folder of runs (default runs): every folder below it (3 levels at most) holding "
         "metrics.jsonl"},
        {"watch", OPT_FLAG, &watch_flag, "[SECONDS]",
         "redraw every SECONDS (default 2) until Ctrl-C"},
        {"running-window", OPT_FLOAT, &window, "S",
         "a run without final/ or a newer STOPPED whose metrics.jsonl or emergence/*.jsonl "
         "changed within S seconds is running, otherwise crashed (default 120, as rlc serve)"},
        {0},
    };
    if (take_watch(&argc, argv, &watch)) return 2;
    int pr = rlc_cli_parse("status", SYNOPSIS, opts, argc, argv);
    if (pr > 0) {
        printf("\nColumns: name (path under RUNS_DIR), condition, status (finished: final/ "
               "written;\nstopped: a signal stopped it, resumable; running: files written "
               "within the running\nwindow; crashed: none of these), steps done/training.steps, "
               "the last mean reward,\ncorrect rate and eval accuracy, the time left at the "
               "recent time per step, and\nthe age of the last write. The same rule as the "
               "dashboard (rlc serve).\n");
        return 0;
    }
    if (pr) return 2;
    rlc_runs *runs;
    if (rlc_cli_runs_open("status", dir, window, &runs)) return 2;
    if (watch > 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    int tty = isatty(STDOUT_FILENO);
    rlc_status st = RLC_OK;
    do {
        if (watch > 0 && tty) fputs("\033[H\033[2J", stdout);
        st = print_table(runs);
        fflush(stdout);
        if (st || !(watch > 0)) break;
        struct timespec d = {(time_t)watch, (long)((watch - floor(watch)) * 1e9)};
        while (!stop_watch && nanosleep(&d, &d) && !stop_watch) {
        }
        if (!stop_watch && !tty) putchar('\n');
    } while (!stop_watch);
    rlc_runs_free(runs);
    return st ? rlc_cli_fail(st) : 0;
}
