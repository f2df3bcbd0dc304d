/* fs helpers: whole-file reads, atomic replacement, mkdir -p, path joins. */
#include "base/fs.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(fs, .init = tmpdir_setup, .fini = tmpdir_teardown);

Test(fs, atomic_write_replaces_and_leaves_no_tmp) {
    const char *p = tmp_path("f.txt");
    cr_assert_eq(rlc_write_file_atomic(p, "old contents", 12), RLC_OK);
    cr_assert_eq(rlc_write_file_atomic(p, "new", 3), RLC_OK);
    char *data;
    size_t len;
    cr_assert_eq(rlc_read_file(p, &data, &len), RLC_OK);
    cr_assert_eq(len, 3);
    cr_assert_str_eq(data, "new"); /* NUL-terminated */
    free(data);
    cr_assert_not(rlc_file_exists(tmp_path("f.txt.tmp")));
    cr_assert_eq(rlc_write_file_atomic(p, "", 0), RLC_OK);
    cr_assert_eq(rlc_read_file(p, &data, &len), RLC_OK);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(data, "");
    free(data);
}

Test(fs, streaming_atomic_file) {
    const char *p = tmp_path("s.bin");
    rlc_atomic_file af;
    cr_assert_eq(rlc_atomic_open(&af, p), RLC_OK);
    cr_assert_eq(rlc_atomic_write(&af, "ab", 2), RLC_OK);
    cr_assert_not(rlc_file_exists(p)); /* invisible until commit */
    cr_assert_eq(rlc_atomic_write(&af, "cd", 2), RLC_OK);
    cr_assert_eq(rlc_atomic_commit(&af), RLC_OK);
    char *data;
    cr_assert_eq(rlc_read_file(p, &data, NULL), RLC_OK);
    cr_assert_str_eq(data, "abcd");
    free(data);
    /* Abort keeps the old file and removes the temporary. */
    cr_assert_eq(rlc_atomic_open(&af, p), RLC_OK);
    cr_assert_eq(rlc_atomic_write(&af, "zz", 2), RLC_OK);
    rlc_atomic_abort(&af);
    rlc_atomic_abort(&af);
    cr_assert_not(rlc_file_exists(tmp_path("s.bin.tmp")));
    cr_assert_eq(rlc_read_file(p, &data, NULL), RLC_OK);
    cr_assert_str_eq(data, "abcd");
    free(data);
    cr_assert_eq(rlc_atomic_open(&af, tmp_path("missing/dir/x")), RLC_ERR_IO);
    cr_assert(strstr(rlc_last_error(), "missing/dir/x.tmp: cannot create"));
    cr_assert_eq(rlc_atomic_write(&af, "x", 1), RLC_ERR_INTERNAL);
    rlc_atomic_abort(&af);
}

Test(fs, read_errors) {
    char *data = (char *)1;
    cr_assert_eq(rlc_read_file(tmp_path("none"), &data, NULL), RLC_ERR_NOT_FOUND);
    cr_assert_null(data);
    cr_assert(strstr(rlc_last_error(), "none: cannot open"));
    cr_assert_eq(rlc_read_file(tmpdir, &data, NULL), RLC_ERR_IO);
    cr_assert(strstr(rlc_last_error(), "is a directory"));
}

Test(fs, mkdir_p) {
    const char *p = tmp_path("a/b//c/");
    cr_assert_eq(rlc_mkdir_p(p), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_mkdir_p(p), RLC_OK); /* idempotent */
    struct stat sb;
    cr_assert_eq(stat(tmp_path("a/b/c"), &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_eq(rlc_fsync_dir(tmp_path("a/b")), RLC_OK);
    cr_assert_eq(rlc_write_file_atomic(tmp_path("file"), "x", 1), RLC_OK);
    cr_assert_eq(rlc_mkdir_p(tmp_path("file/sub")), RLC_ERR_IO);
    cr_assert_eq(rlc_mkdir_p(""), RLC_ERR_INVALID);
}

Test(fs, path_join) {
    char buf[16];
    cr_assert_eq(rlc_path_join(buf, sizeof buf, "dir", "f.json"), RLC_OK);
    cr_assert_str_eq(buf, "dir/f.json");
    cr_assert_eq(rlc_path_join(buf, sizeof buf, "dir/", "f"), RLC_OK);
    cr_assert_str_eq(buf, "dir/f");
    cr_assert_eq(rlc_path_join(buf, sizeof buf, "", "f"), RLC_OK);
    cr_assert_str_eq(buf, "f");
    cr_assert_eq(rlc_path_join(buf, sizeof buf, "a-long-directory", "name"), RLC_ERR_INVALID);
    cr_assert_str_eq(buf, "");
    cr_assert(strstr(rlc_last_error(), "path too long"));
}
