/* The fuzz targets' table and shared helpers. */
#include "fuzz.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

const rlc_fuzz_target rlc_fuzz_targets[] = {
    {"safetensors", rlc_fuzz_safetensors},
    {"model_config", rlc_fuzz_model_config},
    {"tokenizer_load", rlc_fuzz_tokenizer_load},
    {"tokenizer_encode", rlc_fuzz_tokenizer_encode},
    {"chat", rlc_fuzz_chat},
    {"jsonl", rlc_fuzz_jsonl},
    {"runconfig", rlc_fuzz_runconfig},
    {"overrides", rlc_fuzz_overrides},
    {"monitor_metrics", rlc_fuzz_monitor_metrics},
    {"serve_files", rlc_fuzz_serve_files},
    {"serve_paths", rlc_fuzz_serve_paths},
    {"games", rlc_fuzz_games},
    {"parquet", rlc_fuzz_parquet},
    {"external", rlc_fuzz_external},
    {NULL, NULL},
};

static char dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The scratch folder goes when the process exits normally (not after a
 * crash: libFuzzer then keeps the input itself). */
static void rm_dir(void) {
    if (dir[0]) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *rlc_fuzz_dir(void) {
    if (!dir[0]) {
        struct stat sb;
        const char *base =
            !stat("/dev/shm", &sb) && S_ISDIR(sb.st_mode) && !access("/dev/shm", W_OK) ? "/dev/shm"
                                                                                       : "/tmp";
        snprintf(dir, sizeof dir, "%s/rlc_fuzz_XXXXXX", base);
        if (!mkdtemp(dir)) {
            perror("rlc fuzz: mkdtemp");
            abort();
        }
        atexit(rm_dir);
    }
    return dir;
}

const char *rlc_fuzz_path(const char *name) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", rlc_fuzz_dir(), name);
    return b;
}

void rlc_fuzz_write(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(path);
        abort();
    }
}

void rlc_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    fprintf(stderr, "%s:%d: fuzz check failed: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
