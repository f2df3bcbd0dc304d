#include "base/status.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

Test(status, errorf_sets_message_and_returns_code) {
    rlc_clear_error();
    rlc_status st = rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s' truncated", "a.safetensors", "w");
    cr_assert_eq(st, RLC_ERR_FORMAT);
    cr_assert_str_eq(rlc_last_error(), "a.safetensors: tensor 'w' truncated");
    rlc_clear_error();
    cr_assert_str_eq(rlc_last_error(), "ok");
}

Test(status, names_cover_every_code) {
    for (int s = 0; s < RLC_STATUS_COUNT; s++)
        cr_assert_not_null(rlc_status_str((rlc_status)s));
    cr_assert_str_eq(rlc_status_str((rlc_status)999), "unknown status");
}

Test(status, aligned_alloc_is_aligned) {
    void *p = rlc_aligned_alloc(100);
    cr_assert_not_null(p);
    cr_assert_eq(((uintptr_t)p) % 64, 0);
    free(p);
}
