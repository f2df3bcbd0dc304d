/* Checked size arithmetic: every size that is a product or sum of values read
 * from a file or a config goes through these, so an overflow is a clear error
 * naming the values instead of a wrapped (small) allocation and a heap
 * overflow later. */
#ifndef RLC_BASE_CHECKED_H
#define RLC_BASE_CHECKED_H

#include "base/status.h"

#include <stddef.h>

/* *out = a * b, or RLC_ERR_INVALID ("size overflow: A x B ...") with *out
 * untouched. what (may be NULL) names the size in the message. */
rlc_status rlc_mul_size(size_t a, size_t b, size_t *out);
rlc_status rlc_mul_size_what(const char *what, size_t a, size_t b, size_t *out);
/* *out = a + b, the same way. */
rlc_status rlc_add_size(size_t a, size_t b, size_t *out);
rlc_status rlc_add_size_what(const char *what, size_t a, size_t b, size_t *out);
/* *out = a * b * c (what may be NULL). */
rlc_status rlc_mul3_size(const char *what, size_t a, size_t b, size_t c, size_t *out);
/* *out = n rounded up to a multiple of align (a power of two). */
rlc_status rlc_align_size(const char *what, size_t n, size_t align, size_t *out);

#endif
