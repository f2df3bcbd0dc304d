/* Status codes and the per-thread error message.
 * Library code never exits: it returns an rlc_status and, for anything a user
 * must act on, leaves one line in rlc_last_error() naming file, field and what
 * was expected. The CLI prints that line and exits non-zero. */
#ifndef RLC_BASE_STATUS_H
#define RLC_BASE_STATUS_H

#include <stdio.h>
#include <stdlib.h>

/* Values are only ever appended to: they appear in logs and exit codes. */
typedef enum rlc_status {
    RLC_OK = 0,
    RLC_ERR_IO,          /* a file could not be opened, read or written */
    RLC_ERR_FORMAT,      /* a file's content is malformed */
    RLC_ERR_NOMEM,       /* an allocation failed */
    RLC_ERR_INVALID,     /* a bad argument or config value */
    RLC_ERR_UNSUPPORTED, /* valid but not supported by rlc (yet) */
    RLC_ERR_NOT_FOUND,   /* a named file, tensor or key is missing */
    RLC_ERR_INTERNAL,    /* a bug in rlc */
    RLC_ERR_INTERRUPTED, /* stopped by a signal after saving its state (resumable) */
    RLC_STATUS_COUNT
} rlc_status;

/* Short fixed name of a status ("format error", ...). Never NULL. */
const char *rlc_status_str(rlc_status st);

/* Sets the calling thread's error message (printf-style) and returns st, so
 * callers write `return rlc_errorf(RLC_ERR_FORMAT, "%s: ...", path);`. */
rlc_status rlc_errorf(rlc_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last message, or the status name if none was set. */
const char *rlc_last_error(void);
void rlc_clear_error(void);

/* Allocation helpers that set a NOMEM error message; free(NULL) stays a no-op. */
void *rlc_malloc(size_t n);
void *rlc_calloc(size_t count, size_t size);
/* 64-byte aligned, for SIMD kernels; release with free(). */
void *rlc_aligned_alloc(size_t n);

/* Assertion for invariants (bugs, not bad input): prints expression and
 * file:line, then aborts. Active in every build. */
#define RLC_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "rlc: assertion failed: %s at %s:%d\n", #cond, __FILE__, __LINE__);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define RLC_TRY(expr)                                                                              \
    do {                                                                                           \
        rlc_status st_ = (expr);                                                                   \
        if (st_ != RLC_OK) return st_;                                                             \
    } while (0)

#endif
