#include "observe/log.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* One logger per process: messages come from one thread at a time in
 * practice, the mutex keeps lines whole if not. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *console_f; /* NULL: stdout */
static rlc_log_level console_min = RLC_LOG_INFO;
static rlc_log_line_fn line_fn;
static void *line_ctx;
static FILE *file;

char rlc_log_mark(rlc_log_level lv) {
    return "DIWE"[(unsigned)lv < 4 ? lv : 3];
}

const char *rlc_log_level_name(rlc_log_level lv) {
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    return names[(unsigned)lv < 4 ? lv : 3];
}

static void file_line(rlc_log_level lv, const char *text, size_t n) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(file, "%s.%03d %-5s %.*s\n", stamp, (int)(tv.tv_usec / 1000), rlc_log_level_name(lv),
            (int)n, text);
}

static void console_line(rlc_log_level lv, const char *text, size_t n) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%c %.*s", rlc_log_mark(lv), (int)n, text);
    if (line_fn) {
        line_fn(line_ctx, buf);
        return;
    }
    FILE *f = console_f ? console_f : stdout;
    fputs(buf, f);
    fputc('\n', f);
    fflush(f);
}

/* Calls out(lv, line, len) for each line of text (no trailing empty line). */
static void each_line(rlc_log_level lv, const char *text,
                      void (*out)(rlc_log_level, const char *, size_t)) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        out(lv, p, n);
        if (!nl) break;
        p = nl + 1;
    }
}

void rlc_logf(rlc_log_level lv, const char *fmt, ...) {
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&lock);
    if (file) {
        each_line(lv, text, file_line);
        fflush(file);
    }
    if (lv >= console_min) each_line(lv, text, console_line);
    pthread_mutex_unlock(&lock);
}

void rlc_log_set_console(FILE *f, rlc_log_level min) {
    pthread_mutex_lock(&lock);
    console_f = f;
    console_min = min;
    pthread_mutex_unlock(&lock);
}

void rlc_log_set_line_sink(rlc_log_line_fn fn, void *ctx) {
    pthread_mutex_lock(&lock);
    line_fn = fn;
    line_ctx = ctx;
    pthread_mutex_unlock(&lock);
}

rlc_status rlc_log_open_file(const char *path) {
    FILE *f = fopen(path, "a");
    if (!f) return rlc_errorf(RLC_ERR_IO, "%s: cannot open log file: %s", path, strerror(errno));
    pthread_mutex_lock(&lock);
    if (file) fclose(file);
    file = f;
    pthread_mutex_unlock(&lock);
    return RLC_OK;
}

void rlc_log_file_only(rlc_log_level lv, const char *text) {
    pthread_mutex_lock(&lock);
    if (file) {
        each_line(lv, text, file_line);
        fflush(file);
    }
    pthread_mutex_unlock(&lock);
}

void rlc_log_close_file(void) {
    pthread_mutex_lock(&lock);
    if (file) fclose(file);
    file = NULL;
    pthread_mutex_unlock(&lock);
}

/* The file line's layout (file_line): "YYYY-MM-DD HH:MM:SS.mmm LEVEL message". */
#define STAMP_LEN 23 /* date, time and milliseconds */
#define LEVEL_W 5

int rlc_log_run_warnings(const char *run_dir, char (*out)[RLC_LOG_WARN_LINE], int cap) {
    char dir[4096], path[4600], newest[256] = "";
    snprintf(dir, sizeof dir, "%s/logs", run_dir);
    DIR *d = opendir(dir);
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) { /* names start with a sortable timestamp */
        size_t n = strlen(e->d_name);
        if (n > 4 && n < sizeof newest && !strcmp(e->d_name + n - 4, ".log") &&
            strcmp(e->d_name, newest) > 0)
            memcpy(newest, e->d_name, n + 1);
    }
    closedir(d);
    if (!newest[0]) return 0;
    snprintf(path, sizeof path, "%s/%s", dir, newest);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *buf = malloc(RLC_LOG_TAIL_BYTES + 1);
    size_t len = 0;
    if (buf && !fseek(f, 0, SEEK_END)) {
        long size = ftell(f);
        long from = size > RLC_LOG_TAIL_BYTES ? size - RLC_LOG_TAIL_BYTES : 0;
        if (size >= 0 && !fseek(f, from, SEEK_SET)) len = fread(buf, 1, RLC_LOG_TAIL_BYTES, f);
    }
    fclose(f);
    if (!buf) return 0;
    buf[len] = 0;
    const char *warn = rlc_log_level_name(RLC_LOG_WARN);
    int total = 0;
    for (char *line = buf, *nl; line < buf + len; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) break; /* a line still being written */
        *nl = 0;
        if ((size_t)(nl - line) <= STAMP_LEN + LEVEL_W + 2 || line[STAMP_LEN] != ' ' ||
            strncmp(line + STAMP_LEN + 1, warn, strlen(warn)) ||
            line[STAMP_LEN + 1 + LEVEL_W] != ' ')
            continue;
        if (cap > 0) {
            if (total >= cap) memmove(out, out + 1, (size_t)(cap - 1) * sizeof *out);
            snprintf(out[total < cap ? total : cap - 1], RLC_LOG_WARN_LINE, "%.8s %s", line + 11,
                     line + STAMP_LEN + LEVEL_W + 2);
        }
        total++;
    }
    free(buf);
    return total;
}
