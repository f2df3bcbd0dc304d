/* Replays the inputs the fuzzers found (tests/fuzz/regress/<target>/) and the
 * seed corpora (tests/fuzz/corpus/<target>/) through the same entry points
 * libFuzzer calls, so the normal and the ASan+UBSan unit runs catch a
 * regression without clang. A target aborts on a broken promise; a crash,
 * sanitizer report or timeout fails the test. */
#include "fuzz/fuzz.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feeds every file of dir to fn; returns how many. */
static int replay_dir(const char *dir, rlc_fuzz_fn fn) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc((size_t)len + 1);
        cr_assert(buf && fread(buf, 1, (size_t)len, f) == (size_t)len, "%s", path);
        fclose(f);
        fprintf(stderr, "%s\n", path); /* names the input when the target aborts */
        cr_assert_eq(fn(buf, (size_t)len), 0, "%s", path);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void replay(const char *name) {
    const rlc_fuzz_target *t = rlc_fuzz_targets;
    while (t->name && strcmp(t->name, name))
        t++;
    cr_assert_not_null(t->name, "no fuzz target %s", name);
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    int seeds = replay_dir(dir, t->fn);
    cr_assert_gt(seeds, 0, "%s has no seed inputs", dir);
    snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", name);
    replay_dir(dir, t->fn);
}

/* Every target in the table has a test below. */
Test(fuzz_regress, table_is_complete) {
    int n = 0;
    for (const rlc_fuzz_target *t = rlc_fuzz_targets; t->name; t++)
        n++;
    cr_assert_eq(n, 11);
}

#define REPLAY(name)                                                                               \
    Test(fuzz_regress, name, .timeout = 120) {                                                     \
        replay(#name);                                                                             \
    }
REPLAY(safetensors)
REPLAY(model_config)
REPLAY(tokenizer_load)
REPLAY(tokenizer_encode)
REPLAY(chat)
REPLAY(jsonl)
REPLAY(runconfig)
REPLAY(overrides)
REPLAY(monitor_metrics)
REPLAY(serve_files)
REPLAY(serve_paths)
