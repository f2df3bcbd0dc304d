/* Per-test scratch directory under /tmp, removed with its contents afterwards.
 * Criterion runs each test in its own process, so one static path suffices. */
#ifndef RLC_TESTS_TMPDIR_H
#define RLC_TESTS_TMPDIR_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[64];

static void tmpdir_setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rlc_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static int tmpdir_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void tmpdir_teardown(void) {
    if (tmpdir[0]) nftw(tmpdir, tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = 0;
}

/* tmpdir + "/" + name, in a rotating static buffer (a few live at once). */
static const char *tmp_path(const char *name) {
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

#endif
