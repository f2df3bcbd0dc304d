#include "base/checked.h"

#include <stdint.h>

static rlc_status overflow(const char *what, size_t a, char op, size_t b) {
    return rlc_errorf(RLC_ERR_INVALID, "%s%ssize overflow: %zu %c %zu exceeds %zu",
                      what ? what : "", what ? ": " : "", a, op, b, (size_t)SIZE_MAX);
}

/* a op b ('x' or '+') into *out, or the overflow error. */
static rlc_status checked(const char *what, size_t a, char op, size_t b, size_t *out) {
    size_t r = 0;
    if (op == 'x' ? __builtin_mul_overflow(a, b, &r) : __builtin_add_overflow(a, b, &r))
        return overflow(what, a, op, b);
    *out = r;
    return RLC_OK;
}

rlc_status rlc_mul_size_what(const char *what, size_t a, size_t b, size_t *out) {
    return checked(what, a, 'x', b, out);
}

rlc_status rlc_mul_size(size_t a, size_t b, size_t *out) {
    return rlc_mul_size_what(NULL, a, b, out);
}

rlc_status rlc_add_size_what(const char *what, size_t a, size_t b, size_t *out) {
    return checked(what, a, '+', b, out);
}

rlc_status rlc_add_size(size_t a, size_t b, size_t *out) {
    return rlc_add_size_what(NULL, a, b, out);
}

rlc_status rlc_mul3_size(const char *what, size_t a, size_t b, size_t c, size_t *out) {
    size_t ab = 0;
    RLC_TRY(rlc_mul_size_what(what, a, b, &ab));
    return rlc_mul_size_what(what, ab, c, out);
}

rlc_status rlc_align_size(const char *what, size_t n, size_t align, size_t *out) {
    size_t r = 0;
    RLC_TRY(rlc_add_size_what(what, n, align - 1, &r));
    *out = r & ~(align - 1);
    return RLC_OK;
}
