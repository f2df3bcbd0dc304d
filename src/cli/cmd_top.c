/* rlc top: a full-screen view of one run, redrawn every second from its files
 * alone: the header of `rlc status` (status by the dashboard's rule, step/total,
 * ETA, age), the progress bar of the console, sparklines of reward and loss
 * over the run, the latest metric rows (columns from the metric registry) and
 * the warnings of the run's verbose log. Plain ANSI escapes and termios: the
 * alternate screen while it runs, the terminal restored on q, Ctrl-C or a
 * signal. Not a terminal, or --once: one frame as plain text. */
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/runrow.h"

#include "base/procstat.h"
#include "base/strbuf.h"
#include "observe/console.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "serve/runs.h"
#include "serve/serve.h"

#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SYNOPSIS "RUN_DIR [--interval S] [--once] [--running-window S]"

#define ONCE_ROWS 10      /* metric rows of a plain frame */
#define ONCE_WIDTH 100    /* its width (sparklines) */
#define MAX_WARNINGS 5    /* warnings shown, the newest */
#define SPARK_MAX 200     /* sparkline characters at most */
#define STEP_TIME_ROWS 10 /* as rlc status: the rate the ETA uses */

/* The metric rows' columns, in this order, each shown when the run logged it. */
static const rlc_metric_id row_cols[] = {
    RLC_M_STEP,      RLC_M_MEAN_REWARD, RLC_M_CORRECT_COUNT, RLC_M_LOSS,
    RLC_M_GRAD_NORM, RLC_M_LR,          RLC_M_VAL_LOSS,      RLC_M_EVAL_ACCURACY,
};
#define N_ROW_COLS (int)(sizeof row_cols / sizeof row_cols[0])

typedef struct frame {
    rlc_strbuf *b;
    int width, rows; /* characters per line; metric rows to show */
} frame;

static const double *col_of(const rlc_metrics *m, rlc_metric_id id) {
    return rlc_metrics_col(m, rlc_metric_defs()[id].key);
}

/* Unicode block sparkline of v[0..n) in width characters: bucket means (finite
 * values only), scaled between their min and max; an empty bucket is a space.
 * Then the last value and that range ("means": a single step may lie outside). */
static void sparkline(rlc_strbuf *b, const char *label, const double *v, int n, int width) {
    static const char *const bars[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    if (width > SPARK_MAX) width = SPARK_MAX;
    if (width > n) width = n;
    double mean[SPARK_MAX], lo = INFINITY, hi = -INFINITY, last = NAN;
    for (int i = 0; i < width; i++) {
        double sum = 0;
        int k = 0;
        for (int j = (int)((long)i * n / width); j < (int)((long)(i + 1) * n / width); j++)
            if (isfinite(v[j])) sum += v[j], k++;
        mean[i] = k ? sum / k : NAN;
        if (k && mean[i] < lo) lo = mean[i];
        if (k && mean[i] > hi) hi = mean[i];
    }
    for (int j = n - 1; j >= 0 && isnan(last); j--)
        if (isfinite(v[j])) last = v[j];
    rlc_sb_printf(b, "%-7s", label);
    for (int i = 0; i < width; i++) {
        if (!isfinite(mean[i])) {
            rlc_sb_cstr(b, " ");
            continue;
        }
        int level = hi > lo ? (int)lround((mean[i] - lo) / (hi - lo) * 7) : 3;
        rlc_sb_cstr(b, bars[level < 0 ? 0 : level > 7 ? 7 : level]);
    }
    rlc_sb_printf(b, "  last %.4g  (means %.4g .. %.4g)\n", last, lo, hi);
}

/* The metric rows: a header of the columns the run logged, then its last rows. */
static void metric_rows(rlc_strbuf *b, const rlc_metrics *m, int rows) {
    const rlc_metric_def *defs = rlc_metric_defs();
    const double *cols[RLC_M_COUNT] = {0};
    rlc_metric_id shown[N_ROW_COLS];
    int n_shown = 0;
    for (int c = 0; c < N_ROW_COLS; c++) {
        rlc_metric_id id = row_cols[c];
        cols[id] = id == RLC_M_STEP ? m->step : col_of(m, id);
        if (defs[id].frac_den != RLC_M_STEP) cols[defs[id].frac_den] = col_of(m, defs[id].frac_den);
        if (cols[id]) shown[n_shown++] = id;
    }
    for (int c = 0; c < n_shown; c++)
        rlc_sb_printf(b, "%s%*s", c ? " " : "", defs[shown[c]].width, defs[shown[c]].header);
    rlc_sb_cstr(b, "\n");
    for (int i = m->n_rows > rows ? m->n_rows - rows : 0; i < m->n_rows; i++) {
        rlc_metric_record r;
        rlc_metric_record_init(&r);
        for (int id = 0; id < RLC_M_COUNT; id++)
            if (cols[id]) r.v[id] = cols[id][i];
        for (int c = 0; c < n_shown; c++) {
            char cell[64];
            if (isnan(r.v[shown[c]]))
                snprintf(cell, sizeof cell, "%*s", defs[shown[c]].width, "-");
            else
                rlc_metric_format_cell(cell, sizeof cell, &defs[shown[c]], &r);
            rlc_sb_printf(b, "%s%s", c ? " " : "", cell);
        }
        rlc_sb_cstr(b, "\n");
    }
}

static rlc_status draw_metrics(const rlc_metrics *m, void *vf) {
    frame *f = vf;
    if (!m) {
        rlc_sb_cstr(f->b, "\n(no complete line in metrics.jsonl yet)\n");
        return RLC_OK;
    }
    rlc_sb_cstr(f->b, "\n");
    int w = f->width - 7 - 40; /* label, and room for the values after it */
    if (w < 10) w = 10;
    const double *reward = col_of(m, RLC_M_MEAN_REWARD), *loss = col_of(m, RLC_M_LOSS);
    if (reward) sparkline(f->b, "reward", reward, m->n_rows, w);
    if (loss) sparkline(f->b, "loss", loss, m->n_rows, w);
    rlc_sb_cstr(f->b, "\n");
    metric_rows(f->b, m, f->rows);
    return RLC_OK;
}

/* The sum of the run's step times, seconds (the progress bar's elapsed). */
static rlc_status sum_step_time(const rlc_metrics *m, void *vs) {
    const double *t = m ? col_of(m, RLC_M_STEP_TIME) : NULL;
    for (int i = 0; t && i < m->n_rows; i++)
        if (isfinite(t[i])) *(double *)vs += t[i];
    return RLC_OK;
}

static double now_s(void) {
    return rlc_clock_seconds(CLOCK_REALTIME);
}

/* One frame of the run at the registry's root into b. Returns 0, or -1 when
 * the folder is no run (yet): the frame then says so. */
static int draw(rlc_runs *runs, const char *dir, frame *f, int interactive, double interval) {
    rlc_run_info *v = NULL, info;
    int n = 0, found = 0;
    if (rlc_runs_list(runs, &v, &n)) rlc_clear_error();
    for (int i = 0; i < n && !found; i++)
        if (!v[i].rel[0]) info = v[i], found = 1;
    if (!found && n)
        rlc_sb_printf(f->b, "%s holds runs but is none: rlc top %s/%s, or rlc status %s\n", dir,
                      dir, v[0].rel, dir);
    else if (!found)
        rlc_sb_printf(f->b, "%s: no metrics.jsonl (yet)\n", dir);
    free(v);
    if (!found) return -1;
    rlc_cli_run_row row;
    rlc_cli_run_row_fill(runs, &info, &row);
    char steps[64], eta[32], age[32];
    if (isfinite(row.total))
        snprintf(steps, sizeof steps, "%.0f/%.0f", isfinite(row.steps) ? row.steps : 0, row.total);
    else if (isfinite(row.steps))
        snprintf(steps, sizeof steps, "%.0f/?", row.steps);
    else
        snprintf(steps, sizeof steps, "-");
    double left = row.total - (isfinite(row.steps) ? row.steps : 0);
    rlc_cli_duration(eta, sizeof eta, info.status == RLC_RUN_RUNNING ? left * row.step_time : NAN);
    rlc_cli_duration(age, sizeof age, info.updated > 0 ? now_s() - info.updated : NAN);
    rlc_sb_printf(f->b, "%s  %s  %s  step %s  eta %s  updated %s ago", info.id,
                  row.condition[0] ? row.condition : "-", rlc_run_status_str(info.status), steps,
                  eta, age);
    if (interactive) rlc_sb_printf(f->b, "   (every %gs, q quits)", interval);
    rlc_sb_cstr(f->b, "\n");
    if (isfinite(row.total) && row.total > 0) {
        double elapsed = 0;
        if (rlc_runs_with_metrics(runs, info.id, sum_step_time, &elapsed)) rlc_clear_error();
        char bar[256];
        rlc_progress_format(bar, sizeof bar, isfinite(row.steps) ? (int)row.steps : 0,
                            (int)row.total, elapsed, row.step_time);
        rlc_sb_printf(f->b, "%s\n", bar);
    }
    char warns[MAX_WARNINGS][RLC_LOG_WARN_LINE];
    int nw = rlc_log_run_warnings(rlc_runs_root(runs), warns, MAX_WARNINGS);
    if (rlc_runs_with_metrics(runs, info.id, draw_metrics, f)) {
        rlc_sb_printf(f->b, "\n(metrics.jsonl: %s)\n", rlc_last_error());
        rlc_clear_error();
    }
    if (!nw) {
        rlc_sb_cstr(f->b, "\nwarnings: none\n");
        return 0;
    }
    rlc_sb_printf(f->b, "\nwarnings (%d in the newest log, the last %d):\n", nw,
                  nw < MAX_WARNINGS ? nw : MAX_WARNINGS);
    for (int i = 0; i < nw && i < MAX_WARNINGS; i++)
        rlc_sb_printf(f->b, "  %s\n", warns[i]);
    return 0;
}

/* ---- the terminal ---- */

static volatile sig_atomic_t quit_sig, resized;
static struct termios saved_tio;
static int tio_saved;

static void on_signal(int sig) {
    if (sig == SIGWINCH)
        resized = 1;
    else
        quit_sig = sig;
}

/* Alternate screen, no cursor, no line wrap (long lines are cut), keys read
 * one by one without echo (signals from keys stay on: Ctrl-C quits). */
static void term_enter(void) {
    struct termios t;
    if (!tcgetattr(STDIN_FILENO, &saved_tio)) {
        tio_saved = 1;
        t = saved_tio;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    fputs("\033[?1049h\033[?25l\033[?7l", stdout);
    fflush(stdout);
}

static void term_leave(void) {
    fputs("\033[?7h\033[?25h\033[?1049l", stdout);
    fflush(stdout);
    if (tio_saved) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

/* Lines and columns of the terminal (24 x 80 when it does not say). */
static void term_size(int *lines, int *cols) {
    struct winsize ws;
    *lines = 24, *cols = 80;
    if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row > 0 && ws.ws_col > 0)
        *lines = ws.ws_row, *cols = ws.ws_col;
}

/* Redraws until q, Ctrl-C or a signal. Returns the signal that ended it, or 0. */
static int run_screen(rlc_runs *runs, const char *dir, double interval) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &sa, NULL);
    term_enter();
    rlc_strbuf b = {0};
    int keys = STDIN_FILENO, quit = 0;
    while (!quit && !quit_sig) {
        int lines, cols;
        term_size(&lines, &cols);
        /* header, bar, blank, 2 sparklines, blank, column header, blank,
         * warnings title and lines */
        frame f = {&b, cols, lines - 9 - MAX_WARNINGS};
        if (f.rows < 1) f.rows = 1;
        rlc_sb_reset(&b);
        draw(runs, dir, &f, 1, interval);
        fputs("\033[H", stdout);
        int line = 0; /* each line cleared to its end; no newline after the last row */
        for (const char *p = b.p; p && *p && line < lines; line++) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            fputs(line ? "\r\n" : "", stdout);
            fwrite(p, 1, len, stdout);
            fputs("\033[K", stdout);
            p += len + (nl != NULL);
        }
        fputs("\033[J", stdout);
        fflush(stdout);
        resized = 0;
        for (double until = now_s() + interval; !quit && !quit_sig && !resized;) {
            int ms = (int)((until - now_s()) * 1000);
            if (ms <= 0) break;
            struct pollfd pfd = {keys, POLLIN, 0};
            int r = poll(&pfd, keys >= 0 ? 1 : 0, ms);
            if (r <= 0 || !(pfd.revents & (POLLIN | POLLHUP))) continue;
            char c[64];
            ssize_t got = read(keys, c, sizeof c);
            if (got <= 0) keys = -1; /* stdin closed: only signals end it */
            for (ssize_t i = 0; i < got; i++)
                if (c[i] == 'q' || c[i] == 'Q' || c[i] == 3) quit = 1;
        }
    }
    rlc_sb_free(&b);
    term_leave();
    return quit ? 0 : (int)quit_sig;
}

int rlc_cmd_top(int argc, char **argv) {
    const char *dir = NULL;
    float interval = 1;
    int once = 0;
    float window = (float)rlc_serve_default_params().running_window_s;
    rlc_opt opts[] = {
        {"run", OPT_POS, &dir, "RUN_DIR", "the run's folder (holding metrics.jsonl)"},
        {"interval", OPT_FLOAT, &interval, "S", "seconds between redraws (default 1)"},
        {"once", OPT_FLAG, &once, NULL,
         "print one frame as plain text and exit (also when stdout is not a terminal)"},
        {"running-window", OPT_FLOAT, &window, "S",
         "files written within S seconds make an unfinished run running (default 120, as "
         "rlc status and rlc serve)"},
        {0},
    };
    int pr = rlc_cli_parse("top", SYNOPSIS, opts, argc, argv);
    if (pr > 0) {
        printf("\nThe header is rlc status's line for the run (status finished, stopped, "
               "running or\ncrashed by the dashboard's rule; steps done/training.steps, ETA, "
               "age of the last\nwrite), then the progress bar, sparklines of mean reward and "
               "loss over the whole\nrun, the latest metrics.jsonl rows and the last "
               "warnings of the run's newest\nlogs/ log. Keys: q quits (Ctrl-C too); the "
               "terminal is restored.\n");
        return 0;
    }
    if (pr) return 2;
    if (!dir) {
        fprintf(stderr, "rlc top: RUN_DIR is required\nusage: rlc top " SYNOPSIS "\n");
        return 2;
    }
    if (!(interval > 0)) {
        fprintf(stderr, "rlc top: --interval must be > 0\n");
        return 2;
    }
    rlc_runs *runs;
    if (rlc_cli_runs_open("top", dir, window, &runs)) return 2;
    int sig = 0;
    if (once || !isatty(STDOUT_FILENO)) {
        rlc_strbuf b = {0};
        frame f = {&b, ONCE_WIDTH, ONCE_ROWS};
        int run = draw(runs, dir, &f, 0, interval);
        fputs(b.p ? b.p : "", run ? stderr : stdout);
        rlc_sb_free(&b);
        if (run) sig = -1;
    } else {
        sig = run_screen(runs, dir, interval);
    }
    rlc_runs_free(runs);
    return sig < 0 ? 2 : sig == SIGINT ? 0 : sig ? 128 + sig : 0;
}
