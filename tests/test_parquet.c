/* Parquet data sets: files written by two independent writers (DuckDB's Node
 * package and hyparquet-writer, tests/parquet/gen.mjs, generated at test time)
 * in several codecs and encodings read back equal, row by row, to the JSONL
 * the same script wrote; the records the trainer loads equal the JSONL's;
 * malformed files fail with one line naming file, column, row group and page;
 * and a short SFT run reads a .parquet data set. */
#include "base/fs.h"
#include "data/jsonl.h"
#include "data/parquet.h"
#include "helpers.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS_NPM "@duckdb/node-api@1.5.6-r.1 hyparquet-writer@0.17.0"
#define CORPUS "tests/fuzz/corpus/parquet/"

TestSuite(parquet, .init = tmpdir_setup, .fini = tmpdir_teardown);

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Installs the writers (tests/npm-install.sh) and runs tests/parquet/gen.mjs
 * into tmpdir with `rows` rows. */
static void generate(int rows) {
    cr_assert_eq(sh("sh tests/npm-install.sh " WRITERS_NPM " >&2"), 0,
                 "could not install " WRITERS_NPM " (needs node and npm: make test-deps)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "PARQUET_ROWS=%d NPM_ROOT=build/npm/node_modules node tests/parquet/gen.mjs %s >&2",
             rows, tmpdir);
    cr_assert_eq(sh(cmd), 0, "tests/parquet/gen.mjs failed");
}

typedef struct rows {
    json_t *all; /* array of row objects */
} rows;

static rlc_status keep_row(const json_t *obj, const char *path, size_t line, void *ctx) {
    json_t *all = ctx;
    cr_assert_eq(json_array_size(all) + 1, line, "%s: row %zu out of order", path, line);
    json_array_append(all, (json_t *)obj);
    return RLC_OK;
}

static json_t *read_rows(const char *path) {
    json_t *all = json_array();
    size_t n = 0;
    rlc_status st = rlc_parquet_path(path) ? rlc_parquet_foreach(path, keep_row, all, &n)
                                           : rlc_jsonl_foreach(path, keep_row, all, &n);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(n, json_array_size(all));
    return all;
}

/* Every row of the Parquet file equals the JSONL row: every column, nested
 * structs and lists, nulls, numbers of each kind. */
static void expect_same_rows(const char *parquet, const char *jsonl, size_t want_rows) {
    json_t *a = read_rows(parquet), *b = read_rows(jsonl);
    cr_assert_eq(json_array_size(a), want_rows, "%s: %zu rows", parquet, json_array_size(a));
    cr_assert_eq(json_array_size(b), want_rows);
    for (size_t i = 0; i < want_rows; i++) {
        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        if (!json_equal(x, y)) {
            char *sx = json_dumps(x, JSON_SORT_KEYS), *sy = json_dumps(y, JSON_SORT_KEYS);
            cr_assert_fail("%s row %zu:\n  parquet %s\n  jsonl   %s", parquet, i + 1, sx, sy);
        }
    }
    json_decref(a);
    json_decref(b);
}

static void expect_same_records(const char *parquet, const char *jsonl, const char *pk,
                                const char *ak, size_t want) {
    rlc_record_set a, b;
    cr_assert_eq(rlc_records_load(parquet, pk, ak, &a), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_records_load(jsonl, pk, ak, &b), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(a.n, want);
    cr_assert_eq(b.n, want);
    for (size_t i = 0; i < a.n; i++) {
        const rlc_record *x = &a.items[i], *y = &b.items[i];
        cr_assert_eq(x->n_msgs, y->n_msgs, "%s record %zu", parquet, i);
        for (size_t m = 0; m < x->n_msgs; m++) {
            cr_assert_str_eq(x->msgs[m].role, y->msgs[m].role);
            cr_assert_str_eq(x->msgs[m].content, y->msgs[m].content);
        }
        cr_assert_str_eq(x->completion, y->completion, "%s record %zu", parquet, i);
        cr_assert_str_eq(x->reference, y->reference);
        cr_assert_str_eq(x->solution, y->solution);
    }
    rlc_records_free(&a);
    rlc_records_free(&b);
}

/* The codecs and encodings the generated files hold (meta.txt, as DuckDB's
 * parquet_metadata() reports them) cover what the reader claims. */
static void expect_coverage(void) {
    char *meta = th_slurp(tmp_path("meta.txt"));
    cr_assert_not_null(meta);
    /* what must appear, '|'-separated */
    const char *want = "hyp_|duck_| UNCOMPRESSED | SNAPPY | GZIP | ZSTD |PLAIN_DICTIONARY|"
                       "RLE_DICTIONARY|,RLE,|DELTA_BINARY_PACKED|DELTA_LENGTH_BYTE_ARRAY|"
                       "DELTA_BYTE_ARRAY|BYTE_STREAM_SPLIT";
    for (const char *w = want; *w;) {
        size_t k = strcspn(w, "|");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)k, w);
        cr_assert(strstr(meta, one), "no generated file has %s:\n%s", one, meta);
        w += k + (w[k] == '|');
    }
    free(meta);
}

Test(parquet, both_writers_read_like_the_jsonl, .timeout = 120) {
    generate(37);
    expect_coverage();
    char *list = th_slurp(tmp_path("files.txt"));
    cr_assert_not_null(list);
    int n = 0, duck = 0, hyp = 0;
    for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n")) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        expect_same_rows(path, tmp_path("rows.jsonl"), 37);
        /* verl's keys: the chat-list prompt and reward_model.ground_truth */
        expect_same_records(path, tmp_path("rows.jsonl"), "prompt", "reward_model.ground_truth",
                            37);
        expect_same_records(path, tmp_path("rows.jsonl"), "question", "answer", 37);
        n++;
        duck += !strncmp(name, "duck_", 5);
        hyp += !strncmp(name, "hyp_", 4);
    }
    free(list);
    cr_assert_geq(duck, 6);
    cr_assert_geq(hyp, 6);
    cr_assert_eq(n, duck + hyp);
    /* DuckDB's MAP column becomes an object, as the JSONL holds it */
    expect_same_rows(tmp_path("duck_map.parquet"), tmp_path("map.jsonl"), 37);
    /* codecs rlc does not read are refused by name */
    static const char *const refused[][2] = {{"duck_lz4.parquet", "LZ4_RAW"},
                                             {"duck_brotli.parquet", "BROTLI"}};
    for (int i = 0; i < 2; i++) {
        rlc_record_set s;
        cr_assert_eq(rlc_records_load(tmp_path(refused[i][0]), "question", "answer", &s),
                     RLC_ERR_UNSUPPORTED, "%s", rlc_last_error());
        char want[128];
        snprintf(want, sizeof want,
                 ": column question, row group 0, page 0: compression %s is "
                 "not supported (none, snappy, gzip, zstd are)",
                 refused[i][1]);
        cr_assert(strstr(rlc_last_error(), want), "%s", rlc_last_error());
    }
}

/* The committed seed files (the same script, 6 rows) against the committed
 * JSONL: runs without node. */
Test(parquet, committed_files_read_like_the_jsonl) {
    static const char *const files[] = {
        "duck_none",     "duck_snappy",        "duck_gzip",      "duck_zstd",
        "duck_zstd_v2",  "duck_snappy_nodict", "hyp_none_plain", "hyp_snappy_dict",
        "hyp_gzip_dict", "hyp_gzip_plain",     "hyp_none_delta", "hyp_snappy_plain_rle"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, CORPUS "%s.parquet", files[i]);
        expect_same_rows(path, "tests/parquet/rows6.jsonl", 6);
        expect_same_records(path, "tests/parquet/rows6.jsonl", "prompt",
                            "reward_model.ground_truth", 6);
    }
    expect_same_rows(CORPUS "duck_map.parquet", "tests/parquet/map6.jsonl", 6);
}

/* verl's row shape: the record is the chat turns and the ground truth. */
Test(parquet, verl_row_becomes_chat_turns_and_ground_truth) {
    rlc_record_set s;
    cr_assert_eq(
        rlc_records_load(CORPUS "duck_zstd.parquet", "prompt", "reward_model.ground_truth", &s),
        RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 6);
    /* row 0: a system turn, then the user's question; 3 + 0 */
    cr_assert_eq(s.items[0].n_msgs, 2);
    cr_assert_str_eq(s.items[0].msgs[0].role, "system");
    cr_assert_str_eq(s.items[0].msgs[0].content, "Answer after ####.");
    cr_assert_str_eq(s.items[0].msgs[1].role, "user");
    cr_assert_str_eq(s.items[0].msgs[1].content,
                     "Q0: what is 3 + 0? Think step by step \xe2\x80\x94 caf\xc3\xa9 "
                     "\xf0\x9f\x98\x80");
    cr_assert_str_eq(s.items[0].reference, "3");
    /* row 1: one user turn; 10 + 2 */
    cr_assert_eq(s.items[1].n_msgs, 1);
    cr_assert_str_eq(s.items[1].reference, "12");
    rlc_records_free(&s);
    /* the default keys find no "question"/"answer" pair in prompt-only files,
     * so verl's layout is recognised from its columns */
    cr_assert_eq(rlc_records_load(CORPUS "hyp_snappy_dict.parquet", "nope", "nope", &s), RLC_OK,
                 "%s", rlc_last_error());
    cr_assert_eq(s.n, 6);
    cr_assert_str_eq(s.items[5].reference, "48"); /* 38 + 10 */
    rlc_records_free(&s);
}

Test(parquet, mixed_list_of_parquet_and_jsonl) {
    const char *paths[] = {CORPUS "duck_gzip.parquet", "tests/parquet/rows6.jsonl",
                           CORPUS "hyp_none_delta.parquet"};
    rlc_record_set s;
    cr_assert_eq(rlc_records_load_files(paths, 3, "question", "answer", &s), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(s.n, 18);
    for (size_t i = 0; i < 6; i++) {
        cr_assert_str_eq(s.items[i].completion, s.items[i + 6].completion);
        cr_assert_str_eq(s.items[i].completion, s.items[i + 12].completion);
    }
    cr_assert_str_eq(s.items[13].reference, "12");
    rlc_records_free(&s);
}

/* ---- malformed files ---- */

static uint8_t *load(const char *path, size_t *n) {
    char *d = th_slurp_size(path, n);
    cr_assert_not_null(d, "%s", path);
    return (uint8_t *)d;
}

static rlc_status noop_row(const json_t *obj, const char *path, size_t line, void *ctx) {
    (void)obj, (void)path, (void)line, (void)ctx;
    return RLC_OK;
}

/* Reading data as "bad.parquet" fails with st and a message containing want. */
static void expect_error(const uint8_t *data, size_t n, rlc_status st, const char *want) {
    size_t rows = 99;
    rlc_status got = rlc_parquet_foreach_mem("bad.parquet", data, n, noop_row, NULL, &rows);
    cr_assert_eq(got, st, "status %d want %d: %s", got, st, rlc_last_error());
    const char *msg = rlc_last_error();
    cr_assert(!strncmp(msg, "bad.parquet: ", 13), "'%s' does not name the file", msg);
    cr_assert(strstr(msg, want), "'%s' lacks '%s'", msg, want);
    cr_assert(!strchr(msg, '\n'), "'%s' is not one line", msg);
}

/* The offset of the first occurrence of s at or after from. */
static size_t find(const uint8_t *d, size_t n, size_t from, const char *s) {
    size_t k = strlen(s);
    for (size_t i = from; i + k <= n; i++)
        if (!memcmp(d + i, s, k)) return i;
    cr_assert_fail("'%s' not in the file", s);
    return 0;
}

Test(parquet, malformed_files_name_file_column_and_page) {
    size_t n;
    uint8_t *d = load(CORPUS "hyp_none_plain.parquet", &n);
    expect_error(d, 3, RLC_ERR_FORMAT, "not a Parquet file");
    expect_error(d, n - 1, RLC_ERR_FORMAT, "not a Parquet file");
    /* a footer length past the start of the file */
    uint8_t *c = malloc(n);
    memcpy(c, d, n);
    c[n - 5] = 0x7f;
    expect_error(c, n, RLC_ERR_FORMAT, "footer length");
    /* the footer cut short: its Thrift ends early */
    memcpy(c, d, n);
    uint32_t flen = (uint32_t)c[n - 8] | (uint32_t)c[n - 7] << 8 | (uint32_t)c[n - 6] << 16 |
                    (uint32_t)c[n - 5] << 24;
    size_t fstart = n - 8 - flen;
    memset(c + fstart + flen / 2, 0xff, flen - flen / 2);
    expect_error(c, n, RLC_ERR_FORMAT, "malformed footer metadata");
    /* a string value whose length runs past its page: the answer of row 4
     * (31 + 8 = 39), PLAIN in this file; the first copy is the value (page
     * statistics hold only the min and max) */
    memcpy(c, d, n);
    size_t at = find(c, n, 4, "31 + 8 = 39\n#### 39");
    memset(c + at - 4, 0xee, 4);
    expect_error(c, n, RLC_ERR_FORMAT, "bad.parquet: column answer, row group 0, page ");
    cr_assert(strstr(rlc_last_error(), "PLAIN values end before"), "%s", rlc_last_error());
    free(c);
    free(d);
}

Test(parquet, corrupt_compressed_pages_and_dictionaries) {
    size_t n;
    uint8_t *d = load(CORPUS "duck_zstd.parquet", &n);
    /* zstd frames start with 28 b5 2f fd: break the first one's header */
    size_t at = find(d, n, 4, "\x28\xb5\x2f\xfd");
    d[at + 4] ^= 0xff;
    d[at + 5] ^= 0xff;
    expect_error(d, n, RLC_ERR_FORMAT, ", row group 0, page 0: ");
    cr_assert(strstr(rlc_last_error(), "bad.parquet: column data_source"), "%s", rlc_last_error());
    free(d);
    d = load(CORPUS "hyp_snappy_dict.parquet", &n);
    /* snappy: the first page's bytes scrambled after its header */
    uint8_t *c = malloc(n);
    memcpy(c, d, n);
    for (size_t i = 20; i < 40; i++)
        c[i] ^= 0x5a;
    rlc_status st = rlc_parquet_foreach_mem("bad.parquet", c, n, noop_row, NULL, NULL);
    cr_assert_eq(st, RLC_ERR_FORMAT, "%s", rlc_last_error());
    cr_assert(strstr(rlc_last_error(), "bad.parquet: column data_source, row group 0, page "), "%s",
              rlc_last_error());
    free(c);
    free(d);
}

/* Every single-byte truncation and many byte flips of a real file end in an
 * error or in rows, never a crash (ASan run: make asan). */
Test(parquet, truncations_and_flips_never_crash, .timeout = 120) {
    size_t n;
    uint8_t *d = load(CORPUS "duck_snappy.parquet", &n);
    uint8_t *c = malloc(n);
    int errors = 0;
    for (size_t cut = 0; cut < n; cut += 7) {
        memcpy(c, d, cut);
        if (cut >= 4) memcpy(c + cut - 4, "PAR1", 4); /* still ends in the magic */
        errors += rlc_parquet_foreach_mem("cut.parquet", c, cut, noop_row, NULL, NULL) != RLC_OK;
    }
    cr_assert_eq(errors, (int)((n + 6) / 7), "a truncated file loaded");
    for (size_t i = 4; i < n - 4; i += 3) {
        memcpy(c, d, n);
        c[i] ^= (uint8_t)(0x41 + i);
        rlc_parquet_foreach_mem("flip.parquet", c, n, noop_row, NULL, NULL);
    }
    free(c);
    free(d);
}

/* ---- a real run ---- */

/* `rlc sft` from scratch on the verl-shaped Parquet and on the same rows as
 * JSONL: both run, and their losses are equal step by step. */
Test(parquet, sft_run_reads_parquet_like_jsonl, .timeout = 180) {
    const char *data[] = {CORPUS "duck_snappy.parquet", "tests/parquet/rows6.jsonl"};
    char *losses[2];
    for (int k = 0; k < 2; k++) {
        char text[2048], abs[1024], name[16];
        cr_assert_not_null(realpath(data[k], abs));
        snprintf(name, sizeof name, "r%d", k);
        snprintf(text, sizeof text,
                 "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, "
                 "kv_heads: 2,\n        intermediate: 64, max_seq: 96, seed: 1}\n"
                 "tokenizer: {kind: byte, chat: none}\n"
                 "data: {source: jsonl, path: %s, prompt_key: prompt,\n"
                 "       answer_key: reward_model.ground_truth, shuffle: false,\n"
                 "       max_prompt_tokens: 90, val_fraction: 0}\n"
                 "training: {steps: 3, batch_size: 2, eval_every: 0, seed: 1}\n"
                 "optimizer: {lr: 1.0e-2, schedule: constant}\n"
                 "logging: {run_dir: %s, run_name: %s, log_every: 1, tensorboard: false}\n"
                 "checkpoint: {save_every: 0}\n",
                 abs, tmpdir, name);
        char cfg[64], args[256];
        snprintf(cfg, sizeof cfg, "%s.yaml", name);
        th_write_text(tmp_path(cfg), text);
        snprintf(args, sizeof args, "sft %s", cfg);
        int rc = th_rlc_run(tmpdir, th_rlc_bin_abs(), args);
        if (rc) {
            char *err = th_slurp(tmp_path("err.txt"));
            cr_assert_fail("rlc sft on %s exited %d:\n%s", data[k], rc, err ? err : "");
        }
        char metrics[128];
        snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", name);
        cr_assert_eq(th_count_lines(tmp_path(metrics)), 3, "%s", data[k]);
        /* the loss of each step, in order */
        char *all = th_slurp(tmp_path(metrics)), *out = calloc(1, 4096), *p = all;
        while ((p = strstr(p, "\"loss\":"))) {
            p += 7;
            strncat(out, p, strcspn(p, ",}"));
            strcat(out, " ");
        }
        free(all);
        losses[k] = out;
    }
    cr_assert_neq(strlen(losses[0]), 0);
    cr_assert_str_eq(losses[0], losses[1], "parquet losses %s, jsonl %s", losses[0], losses[1]);
    free(losses[0]);
    free(losses[1]);
}
