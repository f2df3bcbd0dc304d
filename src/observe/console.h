/* The console: a per-step table whose columns come from the metric registry
 * (header repeated every N rows, legend printed once), and on a terminal a
 * progress line that stays at the bottom while rows and messages scroll above
 * it. Not a terminal: plain lines only. */
#ifndef RLC_OBSERVE_CONSOLE_H
#define RLC_OBSERVE_CONSOLE_H

#include "observe/metrics.h"

#include <stdio.h>

typedef struct rlc_table {
    rlc_metric_id cols[RLC_M_COUNT];
    int n_cols;
    rlc_metric_id dropped[RLC_M_COUNT]; /* left out to fit the terminal, in table order */
    int n_dropped;
    int header_every; /* rows between headers; 0: the header once */
    int rows;         /* rows printed so far */
} rlc_table;

/* The columns shown for a run of mode (RLC_OBS_GRPO / _SFT) that has
 * features (RLC_SHOW_*: it evaluates, it transforms advantages, it runs SEPA). */
void rlc_table_init(rlc_table *t, unsigned mode, unsigned features, int header_every);
/* Characters of one row (and of the header). */
int rlc_table_width(const rlc_table *t);
/* Drops columns until a row fits in width characters: the lowest priority
 * first (rlc_metric_priority 3, then 2), the rightmost first among equals;
 * priority-1 columns always stay. width <= 0: no limit. Returns how many
 * columns were dropped (listed in t->dropped). */
int rlc_table_fit(rlc_table *t, int width);
/* The width of the terminal on fd: TIOCGWINSZ, else $COLUMNS, else 0. */
int rlc_terminal_width(int fd);

/* One line per column shown: its header and legend line. */
void rlc_table_legend(const rlc_table *t, rlc_strbuf *b);
/* The header line (no newline). */
void rlc_table_header(const rlc_table *t, rlc_strbuf *b);
/* The row of r (no newline). */
void rlc_table_row(const rlc_table *t, const rlc_metric_record *r, rlc_strbuf *b);
/* Counts a row about to be printed; 1 when a header must come first. */
int rlc_table_take_row(rlc_table *t);

/* Seconds as mm:ss, or h:mm:ss from an hour on; "?" when negative or not
 * finite. The progress line's clock, also `rlc status`'s ETA and age. */
void rlc_clock_text(char *out, size_t cap, double s);

/* "  45% [#########           ] 100/220 00:55<01:06 0.55s/step": done of
 * total steps, this session's elapsed time, the estimated time left at
 * s_per_step (NaN: "?"). */
void rlc_progress_format(char *out, size_t cap, int done, int total, double elapsed_s,
                         double s_per_step);

typedef struct rlc_console rlc_console;

/* A console on out; tty != 0 enables the pinned progress line. NULL on OOM. */
rlc_console *rlc_console_new(FILE *out, int tty);
int rlc_console_is_tty(const rlc_console *c);
/* One line above the progress line (a message or a table row). */
void rlc_console_line(rlc_console *c, const char *line);
/* Terminal: the bottom line becomes text (redrawn in place). Plain: ignored. */
void rlc_console_progress(rlc_console *c, const char *text);
/* Terminal: the last progress line stays, ended by a newline. NULL is a no-op. */
void rlc_console_free(rlc_console *c);

#endif
