/* Checked sizes (base/checked.h): the helpers themselves, the aligned
 * allocator's rounding, and model directories whose config.json sizes would
 * overflow or ask for far more memory than their weights hold: `rlc info`
 * ends with a one-line error naming the field or tensor, never a crash or a
 * huge allocation before the weights' shapes are checked. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/checked.h"
#include "model/config.h"
#include "model/safetensors.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

TestSuite(checked, .init = tmpdir_setup, .fini = tmpdir_teardown);

Test(checked, mul_and_add) {
    size_t out = 7;
    cr_expect_eq(rlc_mul_size(3, 5, &out), RLC_OK);
    cr_expect_eq(out, 15);
    cr_expect_eq(rlc_mul_size(SIZE_MAX, 1, &out), RLC_OK);
    cr_expect_eq(out, SIZE_MAX);
    cr_expect_eq(rlc_mul_size(0, SIZE_MAX, &out), RLC_OK);
    cr_expect_eq(out, 0);
    out = 7;
    size_t half = SIZE_MAX / 2 + 1; /* 2^63 */
    cr_assert_eq(rlc_mul_size(half, 2, &out), RLC_ERR_INVALID);
    cr_expect_eq(out, 7, "the result was written on overflow");
    char want[128];
    snprintf(want, sizeof want, "size overflow: %zu x 2 exceeds %zu", half, (size_t)SIZE_MAX);
    cr_expect(strstr(rlc_last_error(), want), "message: %s", rlc_last_error());

    cr_assert_eq(rlc_mul_size_what("vocab x hidden", 1ull << 40, 1ull << 30, &out),
                 RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "vocab x hidden: size overflow: 1099511627776 x 1073741824"),
              "message: %s", rlc_last_error());

    cr_expect_eq(rlc_add_size(SIZE_MAX - 1, 1, &out), RLC_OK);
    cr_expect_eq(out, SIZE_MAX);
    cr_assert_eq(rlc_add_size(SIZE_MAX, 1, &out), RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), " + 1 exceeds"), "message: %s", rlc_last_error());

    cr_expect_eq(rlc_mul3_size("t", 1 << 20, 1 << 20, 1 << 20, &out), RLC_OK);
    cr_expect_eq(out, (size_t)1 << 60);
    cr_expect_eq(rlc_mul3_size("t", 1 << 20, 1 << 20, 1 << 30, &out), RLC_ERR_INVALID);
    /* the overflow in the first product is caught too */
    cr_expect_eq(rlc_mul3_size("t", SIZE_MAX, 2, 0, &out), RLC_ERR_INVALID);
}

Test(checked, align) {
    size_t out = 0;
    cr_expect_eq(rlc_align_size("a", 0, 64, &out), RLC_OK);
    cr_expect_eq(out, 0);
    cr_expect_eq(rlc_align_size("a", 1, 64, &out), RLC_OK);
    cr_expect_eq(out, 64);
    cr_expect_eq(rlc_align_size("a", 64, 64, &out), RLC_OK);
    cr_expect_eq(out, 64);
    cr_expect_eq(rlc_align_size("a", 65, 16, &out), RLC_OK);
    cr_expect_eq(out, 80);
    cr_expect_eq(rlc_align_size("a", SIZE_MAX - 10, 64, &out), RLC_ERR_INVALID);
}

/* (n + 63) & ~63 used to wrap to 0 for n near SIZE_MAX and hand out 64 bytes. */
Test(checked, aligned_alloc_does_not_wrap) {
    void *p = rlc_aligned_alloc(SIZE_MAX - 10);
    cr_expect_null(p, "a wrapped allocation was returned");
    free(p);
    cr_expect(strstr(rlc_last_error(), "aligned allocation: size overflow"), "message: %s",
              rlc_last_error());
    p = rlc_aligned_alloc(100);
    cr_expect_not_null(p);
    free(p);
}

/* ---- model directories with bad sizes ---- */

/* tmpdir/NAME with config.json = CONFIG and a small valid model.safetensors
 * (one 4x8 embedding, which matches no config below). */
static const char *model_dir(const char *name, const char *config) {
    const char *dir = tmp_path(name);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    th_write_text(path, config);
    rlc_st_writer *w = rlc_st_writer_new();
    float data[32] = {0};
    int64_t shape[2] = {4, 8};
    cr_assert_eq(
        rlc_st_writer_add_f32(w, "model.embed_tokens.weight", RLC_DTYPE_F32, 2, shape, data),
        RLC_OK);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(rlc_st_writer_write(w, path), RLC_OK, "%s", rlc_last_error());
    rlc_st_writer_free(w);
    return dir;
}

/* Runs `rlc info --model DIR` with an address-space limit of limit_mb (0 =
 * none); returns its output, asserts it exited (no signal) with status 1. */
static char *info_fails(const char *dir, int limit_mb) {
    char out[512], cmd[2048];
    snprintf(out, sizeof out, "%s.out", dir);
    char ulimit[64] = "";
    /* an ASan binary maps terabytes of shadow memory: no address-space limit there */
    if (limit_mb && !getenv("RLC_SANITIZED"))
        snprintf(ulimit, sizeof ulimit, "ulimit -v %d; ", limit_mb * 1024);
    snprintf(cmd, sizeof cmd,
             "(%sOMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 exec %s info --model %s) >%s 2>&1",
             ulimit, th_rlc_bin(), dir, out);
    int rc = system(cmd);
    FILE *f = fopen(out, "r");
    cr_assert_not_null(f);
    static char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    cr_assert(WIFEXITED(rc), "rlc info crashed: %s", text);
    cr_expect_neq(WEXITSTATUS(rc), 0, "rlc info accepted it: %s", text);
    cr_expect_lt(WEXITSTATUS(rc), 128, "rlc info died: %s", text);
    cr_expect_eq(strchr(text, '\n'), text + strlen(text) - 1, "not one line: %s", text);
    return text;
}

#define LLAMA_HEAD "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "

/* The fuzzer's case: sizes whose parameter total wraps past 64 bits (the
 * release build then wrote past a 16 KiB buffer). */
Test(checked, info_on_wrapping_sizes) {
    const char *dir = model_dir(
        "wrap", LLAMA_HEAD "\"vocab_size\": 1000, \"hidden_size\": 1024, "
                           "\"intermediate_size\": 2000000000, \"num_hidden_layers\": 2000000000, "
                           "\"num_attention_heads\": 1024, \"num_key_value_heads\": 1024, "
                           "\"head_dim\": 65536, \"max_position_embeddings\": 2048}");
    char *t = info_fails(dir, 0);
    cr_expect(strstr(t, "config.json") && strstr(t, "intermediate_size") &&
                  strstr(t, "2000000000") && strstr(t, "limit"),
              "message: %s", t);
}

/* heads x head_dim overflowed int (UBSan) even with each factor small enough. */
Test(checked, info_on_heads_times_head_dim) {
    const char *dir = model_dir("heads", LLAMA_HEAD
                                "\"vocab_size\": 1000, \"hidden_size\": 1024, "
                                "\"intermediate_size\": 2048, \"num_hidden_layers\": 2, "
                                "\"num_attention_heads\": 4096, \"num_key_value_heads\": 4096, "
                                "\"head_dim\": 4096, \"max_position_embeddings\": 2048}");
    char *t = info_fails(dir, 0);
    cr_expect(strstr(t, "num_attention_heads x head_dim = 4096 x 4096"), "message: %s", t);
}

/* A 2.7M vocabulary is within limits, but its 1.4 GB embedding must not be
 * allocated before the file's shapes are checked: with 1 GB of address space
 * rlc still answers with the shape mismatch, not out of memory (the limit is
 * left out under ASan). */
Test(checked, info_checks_shapes_before_allocating) {
    const char *dir =
        model_dir("vocab", LLAMA_HEAD "\"vocab_size\": 2700000, \"hidden_size\": 128, "
                                      "\"intermediate_size\": 256, \"num_hidden_layers\": 1, "
                                      "\"num_attention_heads\": 2, \"num_key_value_heads\": 2, "
                                      "\"max_position_embeddings\": 2048}");
    char *t = info_fails(dir, 1024);
    cr_expect(strstr(t, "model.embed_tokens.weight") && strstr(t, "has shape [4, 8]") &&
                  strstr(t, "expected [2700000, 128]"),
              "message: %s", t);
}
