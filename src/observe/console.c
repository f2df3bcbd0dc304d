#include "observe/console.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Erase the current terminal line and return to its start. */
#define CLEAR_LINE "\r\033[K"
#define BAR_WIDTH 20

void rlc_table_init(rlc_table *t, unsigned mode, unsigned features, int header_every) {
    memset(t, 0, sizeof *t);
    const rlc_metric_def *defs = rlc_metric_defs();
    for (int i = 0; i < RLC_M_COUNT; i++)
        if (rlc_metric_column_shown(&defs[i], mode, features)) t->cols[t->n_cols++] = defs[i].id;
    t->header_every = header_every;
}

int rlc_table_width(const rlc_table *t) {
    const rlc_metric_def *defs = rlc_metric_defs();
    int w = 0;
    for (int i = 0; i < t->n_cols; i++)
        w += (i ? 1 : 0) + defs[t->cols[i]].width;
    return w;
}

int rlc_table_fit(rlc_table *t, int width) {
    int dropped = 0;
    while (width > 0 && rlc_table_width(t) > width) {
        int victim = -1, worst = 1;
        for (int i = 0; i < t->n_cols; i++) {
            int pr = rlc_metric_priority(t->cols[i]);
            if (pr >= worst && pr > 1) victim = i, worst = pr;
        }
        if (victim < 0) break; /* only priority-1 columns left */
        /* keep t->dropped in table order */
        rlc_metric_id id = t->cols[victim];
        int at = t->n_dropped;
        while (at > 0 && t->dropped[at - 1] > id)
            t->dropped[at] = t->dropped[at - 1], at--;
        t->dropped[at] = id;
        t->n_dropped++;
        memmove(&t->cols[victim], &t->cols[victim + 1],
                (size_t)(t->n_cols - victim - 1) * sizeof t->cols[0]);
        t->n_cols--;
        dropped++;
    }
    return dropped;
}

int rlc_terminal_width(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 0;
}

void rlc_table_legend(const rlc_table *t, rlc_strbuf *b) {
    const rlc_metric_def *defs = rlc_metric_defs();
    for (int i = 0; i < t->n_cols; i++) {
        const rlc_metric_def *d = &defs[t->cols[i]];
        rlc_sb_printf(b, "%s%8s  %s", i ? "\n" : "", d->header, d->legend);
    }
}

void rlc_table_header(const rlc_table *t, rlc_strbuf *b) {
    const rlc_metric_def *defs = rlc_metric_defs();
    for (int i = 0; i < t->n_cols; i++) {
        const rlc_metric_def *d = &defs[t->cols[i]];
        rlc_sb_printf(b, "%s%*s", i ? " " : "", d->width, d->header);
    }
}

void rlc_table_row(const rlc_table *t, const rlc_metric_record *r, rlc_strbuf *b) {
    const rlc_metric_def *defs = rlc_metric_defs();
    for (int i = 0; i < t->n_cols; i++) {
        char cell[96];
        rlc_metric_format_cell(cell, sizeof cell, &defs[t->cols[i]], r);
        rlc_sb_printf(b, "%s%s", i ? " " : "", cell);
    }
}

int rlc_table_take_row(rlc_table *t) {
    int header = t->rows == 0 || (t->header_every > 0 && t->rows % t->header_every == 0);
    t->rows++;
    return header;
}

void rlc_clock_text(char *out, size_t cap, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(out, cap, "?");
        return;
    }
    long t = lround(s);
    if (t >= 3600)
        snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%02ld:%02ld", t / 60, t % 60);
}

void rlc_progress_format(char *out, size_t cap, int done, int total, double elapsed_s,
                         double s_per_step) {
    double frac = total > 0 ? (double)done / total : 1;
    if (frac > 1) frac = 1;
    char bar[BAR_WIDTH + 1], el[32], left[32], rate[32];
    int filled = (int)(frac * BAR_WIDTH);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : ' ';
    bar[BAR_WIDTH] = 0;
    rlc_clock_text(el, sizeof el, elapsed_s);
    rlc_clock_text(left, sizeof left, s_per_step * (total - done));
    if (isfinite(s_per_step))
        snprintf(rate, sizeof rate, "%.2fs/step", s_per_step);
    else
        snprintf(rate, sizeof rate, "?s/step");
    snprintf(out, cap, "%3d%% [%s] %d/%d %s<%s %s", (int)(frac * 100), bar, done, total, el, left,
             rate);
}

struct rlc_console {
    FILE *out;
    int tty;
    char *progress; /* the bottom line on a terminal; NULL: none drawn */
};

rlc_console *rlc_console_new(FILE *out, int tty) {
    rlc_console *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->out = out;
    c->tty = tty;
    return c;
}

int rlc_console_is_tty(const rlc_console *c) {
    return c->tty;
}

void rlc_console_line(rlc_console *c, const char *line) {
    if (c->tty && c->progress)
        fprintf(c->out, CLEAR_LINE "%s\n%s", line, c->progress);
    else
        fprintf(c->out, "%s\n", line);
    fflush(c->out);
}

void rlc_console_progress(rlc_console *c, const char *text) {
    if (!c->tty) return;
    char *p = strdup(text);
    if (!p) return;
    free(c->progress);
    c->progress = p;
    fprintf(c->out, CLEAR_LINE "%s", p);
    fflush(c->out);
}

void rlc_console_free(rlc_console *c) {
    if (!c) return;
    if (c->tty && c->progress) {
        fputc('\n', c->out);
        fflush(c->out);
    }
    free(c->progress);
    free(c);
}
