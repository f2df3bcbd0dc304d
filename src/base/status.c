#include "base/status.h"

#include "base/checked.h"

#include <stdarg.h>
#include <string.h>

static const char *const status_names[RLC_STATUS_COUNT] = {
    [RLC_OK] = "ok",
    [RLC_ERR_IO] = "i/o error",
    [RLC_ERR_FORMAT] = "format error",
    [RLC_ERR_NOMEM] = "out of memory",
    [RLC_ERR_INVALID] = "invalid argument",
    [RLC_ERR_UNSUPPORTED] = "unsupported",
    [RLC_ERR_NOT_FOUND] = "not found",
    [RLC_ERR_INTERNAL] = "internal error",
    [RLC_ERR_INTERRUPTED] = "interrupted",
};

static _Thread_local char err_msg[4096];
static _Thread_local rlc_status err_status;

const char *rlc_status_str(rlc_status st) {
    if ((unsigned)st >= RLC_STATUS_COUNT) return "unknown status";
    return status_names[st];
}

rlc_status rlc_errorf(rlc_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    err_status = st;
    return st;
}

const char *rlc_last_error(void) {
    if (err_msg[0]) return err_msg;
    return rlc_status_str(err_status);
}

void rlc_clear_error(void) {
    err_msg[0] = 0;
    err_status = RLC_OK;
}

void *rlc_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) rlc_errorf(RLC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *rlc_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) rlc_errorf(RLC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *rlc_aligned_alloc(size_t n) {
    size_t rounded = 0;
    if (rlc_align_size("aligned allocation", n, 64, &rounded)) return NULL;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) rlc_errorf(RLC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}
