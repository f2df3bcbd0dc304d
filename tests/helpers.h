/* Shared test helpers: temporary directories, running the PyTorch reference,
 * and tolerance comparisons that report the worst element. */
#ifndef RLC_TESTS_HELPERS_H
#define RLC_TESTS_HELPERS_H

#include <stddef.h>

/* Creates a fresh directory under /tmp; returns its path (static storage per call slot). */
void th_tmpdir(char *out, size_t cap);
/* rm -rf dir. */
void th_rmdir(const char *dir);
/* Runs `/usr/bin/python3 tests/ref/<script> <args>`; returns its exit status. */
int th_python(const char *script, const char *args);

/* Runs the Python source `script` under /usr/bin/python3 with argv[1] = in,
 * argv[2] = out; returns the exit status (non-zero also when the interpreter
 * or torch is missing: tests must fail then, not skip). */
int th_python_script(const char *script, const char *in, const char *out);

/* The rlc binary the CLI tests run: $RLC_BIN, else build/rlc-test (the test
 * build, with the crash hook; `make unit` builds it and sets RLC_BIN). */
const char *th_rlc_bin(void);
/* Writes text to path (the test fails when it cannot). */
void th_write_text(const char *path, const char *text);
/* th_write_text after creating path's parent folders. */
void th_write_file(const char *path, const char *text);
/* Sets path's modification (and access) time to `age` seconds ago. */
void th_set_age(const char *path, double age);

typedef struct th_cmp {
    double max_abs, max_rel;
    size_t worst, bad;
} th_cmp;

/* Counts elements with |a-b| > atol + rtol*|b| (b is the reference). */
th_cmp th_compare(const float *a, const float *b, size_t n, double atol, double rtol);

#endif
