/* Leveled messages for the whole process: the console gets "<mark> text"
 * (I, W, E, D) at its level and up, the verbose log file of a run gets every
 * message with a timestamp and the level's name. Code below the CLI never
 * prints: it calls rlc_logf. */
#ifndef RLC_OBSERVE_LOG_H
#define RLC_OBSERVE_LOG_H

#include "base/status.h"

#include <stdio.h>

typedef enum rlc_log_level {
    RLC_LOG_DEBUG = 0,
    RLC_LOG_INFO,
    RLC_LOG_WARN,
    RLC_LOG_ERROR
} rlc_log_level;

/* 'D', 'I', 'W', 'E'. */
char rlc_log_mark(rlc_log_level lv);
/* "DEBUG", "INFO", "WARN", "ERROR". */
const char *rlc_log_level_name(rlc_log_level lv);

/* One message (a trailing newline is dropped; embedded newlines give several
 * lines with the same mark). */
void rlc_logf(rlc_log_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Console messages go to f (default stdout) from level min (default INFO). */
void rlc_log_set_console(FILE *f, rlc_log_level min);

/* Where console lines are written instead of the plain stream: a sink that
 * keeps a progress line at the bottom. NULL restores the plain stream. */
typedef void (*rlc_log_line_fn)(void *ctx, const char *line);
void rlc_log_set_line_sink(rlc_log_line_fn fn, void *ctx);

/* Opens (appends to) the verbose log file; every level is written to it as
 * "YYYY-MM-DD HH:MM:SS.mmm LEVEL message". One file at a time: opening
 * another closes the first. */
rlc_status rlc_log_open_file(const char *path);
/* Writes a line to the log file only (no console), at level lv. */
void rlc_log_file_only(rlc_log_level lv, const char *text);
void rlc_log_close_file(void);

#define RLC_LOG_WARN_LINE 256
#define RLC_LOG_TAIL_BYTES (256 * 1024)
/* Reading a run's warnings back (rlc top): the WARN lines of the newest
 * RUN_DIR/logs/ *.log file (a resumed run starts a new file), within its last
 * RLC_LOG_TAIL_BYTES. The last cap of them go into out, oldest first, as
 * "HH:MM:SS message"; returns how many the tail held (may exceed cap), 0 when
 * the run has no log. */
int rlc_log_run_warnings(const char *run_dir, char (*out)[RLC_LOG_WARN_LINE], int cap);

#endif
