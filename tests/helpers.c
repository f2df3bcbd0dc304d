#include "helpers.h"

#include "base/fs.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

void th_tmpdir(char *out, size_t cap) {
    snprintf(out, cap, "/tmp/rlc-test-XXXXXX");
    if (!mkdtemp(out)) out[0] = 0;
}

void th_rmdir(const char *dir) {
    if (!dir[0] || strncmp(dir, "/tmp/rlc-test-", 14)) return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

int th_python(const char *script, const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 /usr/bin/python3 tests/ref/%s %s", script, args);
    int rc = system(cmd);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

int th_python_script(const char *script, const char *in, const char *out) {
    char spath[] = "/tmp/rlc_test_py_XXXXXX";
    int fd = mkstemp(spath);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) return -1;
    fputs(script, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", spath, in, out);
    int rc = system(cmd);
    unlink(spath);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

th_cmp th_compare(const float *a, const float *b, size_t n, double atol, double rtol) {
    th_cmp c = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double rel = d / (fabs((double)b[i]) + 1e-30);
        if (d != d) d = INFINITY; /* NaN is the worst error */
        if (d > c.max_abs) c.max_abs = d, c.worst = i;
        if (rel > c.max_rel && fabs(b[i]) > atol) c.max_rel = rel;
        if (!(d <= atol + rtol * fabs((double)b[i]))) c.bad++;
    }
    return c;
}

const char *th_rlc_bin(void) {
    return getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc-test";
}

void th_write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

void th_write_file(const char *path, const char *text) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    cr_assert_eq(rlc_mkdir_p(dir), RLC_OK, "%s", rlc_last_error());
    th_write_text(path, text);
}

void th_set_age(const char *path, double age) {
    struct timeval now, tv[2];
    gettimeofday(&now, NULL);
    tv[0].tv_sec = tv[1].tv_sec = now.tv_sec - (time_t)age;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    cr_assert_eq(utimes(path, tv), 0, "%s", path);
}
