/* Replays the inputs the fuzzers found (tests/fuzz/regress/<target>/) and the
 * seed corpora (tests/fuzz/corpus/<target>/) through the same entry points
 * libFuzzer calls, so the normal and the ASan+UBSan unit runs catch a
 * regression without clang. A target aborts on a broken promise; a crash,
 * sanitizer report or timeout fails the test. */
#include "fuzz/fuzz.h"
#include "model/model.h"
#include "monitor/metrics.h"
#include "monitor/monitor.h"
#include "monitor/plot.h"
#include "tokenizer/tokenizer.h"
#include "train/runconfig.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    cr_assert_eq(n, 14);
}

#define REPLAY(name)                                                                               \
    Test(fuzz_regress, name) {                                                                     \
        alarm(120); /* a hang fails the test (SIGALRM) */                                          \
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
REPLAY(games)
REPLAY(parquet)
REPLAY(external)

/* ---- what the inputs above broke, asserted by value ---- */

/* A 46-byte tokenizer.json with one id near 2^24 once sized its tables by
 * that id (1.3 GB); it is now refused with a message naming the bound. */
Test(fuzz_regress, sparse_huge_token_id_is_refused) {
    rlc_tokenizer *t = NULL;
    rlc_status st = rlc_tokenizer_load("tests/fuzz/regress/tokenizer_load/huge-sparse-id.json", &t);
    cr_assert_eq(st, RLC_ERR_FORMAT);
    cr_assert_null(t);
    cr_assert(strstr(rlc_last_error(), "token id 16777000 is out of range") &&
                  strstr(rlc_last_error(), "below 1026"),
              "%s", rlc_last_error());
    st = rlc_tokenizer_load("tests/fuzz/regress/tokenizer_load/huge-added-id.json", &t);
    cr_assert_eq(st, RLC_ERR_FORMAT, "%s", rlc_last_error());
    /* Without added tokens (qsort once got a NULL array) it loads. */
    st = rlc_tokenizer_load("tests/fuzz/regress/tokenizer_load/no-added-tokens-qsort.json", &t);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_tokenizer_vocab_size(t), 256);
    rlc_tokenizer_free(t);
}

/* Split then ByteLevel-with-regex shared one PCRE2 match block, so the outer
 * position moved backwards and encoding never ended. Each step's pieces
 * concatenate back to the text, one byte token per byte (no merges). */
Test(fuzz_regress, chained_regex_steps_terminate) {
    alarm(60); /* a hang fails the test (SIGALRM) */
    const char *files[] = {"tests/fuzz/regress/tokenizer_load/hang-split-then-bytelevel-regex.json",
                           "tests/fuzz/regress/tokenizer_load/hang-split-then-split.json"};
    const char text[] = "hello world 123 it's  a test\n";
    for (int f = 0; f < 2; f++) {
        rlc_tokenizer *t = NULL;
        cr_assert_eq(rlc_tokenizer_load(files[f], &t), RLC_OK, "%s", rlc_last_error());
        int *ids, n;
        cr_assert_eq(rlc_tokenizer_encode(t, text, sizeof text - 1, &ids, &n), RLC_OK);
        cr_assert_eq(n, (int)sizeof text - 1);
        for (int i = 0; i < n; i++)
            cr_assert_eq(ids[i], (unsigned char)text[i], "%s: id %d", files[f], i);
        free(ids);
        rlc_tokenizer_free(t);
    }
}

/* 6,000 keys, each on its own line, once made 6,000 full columns (361 MB). */
Test(fuzz_regress, many_distinct_keys_stay_within_the_cell_budget) {
    rlc_metrics *m = NULL;
    cr_assert_eq(
        rlc_metrics_load("tests/fuzz/regress/monitor_metrics/many-distinct-keys.jsonl", &m),
        RLC_OK);
    cr_assert_eq(m->n_rows, 6000);
    /* 6000 lines, 141,780 bytes: a budget of 8 cells per byte, 6001 rows each. */
    cr_assert_leq((size_t)m->n_cols * 6001, (size_t)141780 * 8, "%d columns", m->n_cols);
    cr_assert_eq(m->n_cols, 141780 * 8 / 6001);
    int noted = 0;
    for (int i = 0; i < m->n_notes; i++)
        noted |= strstr(m->notes[i], "keys beyond the first 189 skipped") != NULL;
    cr_assert(noted, "no note on the skipped keys");
    /* The kept columns hold their values. */
    const double *k5 = rlc_metrics_col(m, "k5");
    cr_assert_not_null(k5);
    cr_assert_eq(k5[5], 1.0);
    cr_assert(isnan(k5[4]));
    rlc_metrics_free(m);
}

/* loss 1e17 (and steps near it) once stalled the axis tick loop forever. */
Test(fuzz_regress, monitor_finishes_on_large_values) {
    alarm(60); /* a hang fails the test (SIGALRM) */
    char dir[] = "/tmp/rlc_fuzz_mon_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[400], cmd[600];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 30; i++)
        fprintf(f, "{\"step\": %d, \"loss\": %.17g, \"grad_norm\": %g, \"lr\": 1e-4}\n", i + 1,
                1e17 + 16.0 * (i % 3), i == 7 ? 1e308 : 1.0);
    fclose(f);
    char out[300], summary[300];
    snprintf(out, sizeof out, "%s/plots", dir);
    snprintf(summary, sizeof summary, "%s/summary.txt", dir);
    char *report = NULL;
    rlc_status st = rlc_monitor_run(dir, out, summary, &report);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    free(report);
    snprintf(path, sizeof path, "%s/training_loss.png", out);
    int w, h;
    cr_assert_eq(rlc_plot_png_size(path, &w, &h), RLC_OK);
    cr_assert_gt(w, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* The resolved config.yaml once lost values holding C1 controls (NEL),
 * LS/PS, a BOM or non-characters; overrides of invalid UTF-8 are refused. */
Test(fuzz_regress, yaml_writer_escapes_controls_and_line_breaks) {
    const char *values[] = {"a\xc2\x85"
                            "b",
                            "\xc2\x80\xc2\x9f",
                            "x\xe2\x80\xa8y\xe2\x80\xa9z",
                            "\xef\xbb\xbf"
                            "bom",
                            "\xef\xbf\xbe\xef\xbf\xbf",
                            "\x7f\x01\r\t\"\\",
                            "caf\xc3\xa9 \xe4\xbd\xa0 \xf0\x9f\x98\x80"};
    char tmp[] = "/tmp/rlc_fuzz_yaml_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    char path[128];
    snprintf(path, sizeof path, "%s/config.yaml", tmp);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        rlc_run_config c = rlc_run_config_default(), back;
        char assign[128];
        snprintf(assign, sizeof assign, "data.system_prompt=%s", values[i]);
        cr_assert_eq(rlc_run_config_set(&c, assign), RLC_OK, "%s", rlc_last_error());
        cr_assert_str_eq(c.data.system_prompt, values[i]);
        cr_assert_eq(rlc_run_config_write(&c, path), RLC_OK);
        cr_assert_eq(rlc_run_config_load(path, &back), RLC_OK, "value %zu: %s", i,
                     rlc_last_error());
        cr_assert_str_eq(back.data.system_prompt, values[i], "value %zu changed", i);
        rlc_run_config_free(&back);
        rlc_run_config_free(&c);
    }
    rlc_run_config c = rlc_run_config_default();
    cr_assert_eq(rlc_run_config_set(&c, "data.system_prompt=ok\xff"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "not valid UTF-8 (byte 21)"), "%s", rlc_last_error());
    rlc_run_config_free(&c);
    unlink(path);
    rmdir(tmp);
}

/* A config.json with a 2.7M vocabulary once allocated 1.4 GB before the
 * weights' shapes were compared; the mismatch is now found first. */
Test(fuzz_regress, config_is_checked_against_the_weights_before_allocating) {
    char tmp[] = "/tmp/rlc_fuzz_model_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    rlc_model_config cfg = rlc_config_default();
    rlc_model *m = NULL;
    cr_assert_eq(rlc_model_create(&cfg, 1, &m), RLC_OK);
    cr_assert_eq(rlc_model_save(m, tmp, RLC_DTYPE_F32), RLC_OK);
    rlc_model_free(m);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp tests/fuzz/regress/model_config/vocab-2.7M.json %s/config.json",
             tmp);
    cr_assert_eq(system(cmd), 0);
    m = NULL;
    cr_assert_eq(rlc_model_load(tmp, &m), RLC_ERR_FORMAT);
    cr_assert_null(m);
    cr_assert(strstr(rlc_last_error(), "tensor 'model.embed_tokens.weight' has shape [264, 64], "
                                       "expected [2700000, 64]"),
              "%s", rlc_last_error());
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}
