/* safetensors: writer/reader roundtrips, sharded directories, and one test per
 * kind of malformed file, each checking the status and the error line. */
#include "base/fs.h"
#include "model/safetensors.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

TestSuite(safetensors, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* Writes a file: u64 little-endian header length, header, then data. */
static const char *write_st(const char *name, const char *header, const void *data, size_t dlen) {
    const char *path = tmp_path(name);
    size_t hlen = strlen(header);
    unsigned char *buf = malloc(8 + hlen + dlen + 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (dlen) memcpy(buf + 8 + hlen, data, dlen);
    cr_assert_eq(rlc_write_file_atomic(path, buf, 8 + hlen + dlen), RLC_OK);
    free(buf);
    return path;
}

static void assert_error_has(const char *a, const char *b, const char *c) {
    const char *msg = rlc_last_error();
    const char *subs[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (subs[i]) cr_assert(strstr(msg, subs[i]), "error '%s' lacks '%s'", msg, subs[i]);
    cr_assert_null(strchr(msg, '\n'), "error must be one line: '%s'", msg);
}

/* Opens header+data as bad.safetensors, expects status st and an error line
 * naming the file and containing a and b. */
static void expect_bad(const char *header, const void *data, size_t dlen, rlc_status st,
                       const char *a, const char *b) {
    const char *path = write_st("bad.safetensors", header, data, dlen);
    rlc_st_file *f = (rlc_st_file *)1;
    rlc_clear_error();
    rlc_status got = rlc_st_open(path, &f);
    cr_assert_eq(got, st, "status %d, want %d: %s", got, st, rlc_last_error());
    cr_assert_null(f);
    assert_error_has(path, a, b);
}

static const unsigned char zeros[64];

#define T1 "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"

Test(safetensors, rejects_short_file) {
    const char *path = tmp_path("short.safetensors");
    cr_assert_eq(rlc_write_file_atomic(path, "\x02\0\0\0\0", 5), RLC_OK);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_ERR_FORMAT);
    assert_error_has(path, "5 bytes", "too short");
    cr_assert_eq(rlc_write_file_atomic(path, "", 0), RLC_OK);
    cr_assert_eq(rlc_st_open(path, &f), RLC_ERR_FORMAT);
    assert_error_has(path, "0 bytes", NULL);
}

Test(safetensors, rejects_header_length_beyond_file) {
    const char *path = tmp_path("long.safetensors");
    unsigned char buf[8 + 10] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    cr_assert_eq(rlc_write_file_atomic(path, buf, sizeof buf), RLC_OK);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_ERR_FORMAT);
    assert_error_has(path, "header length 100", "exceeds");
    /* A length near 2^64 must not wrap around in the check. */
    memset(buf, 0xff, 8);
    cr_assert_eq(rlc_write_file_atomic(path, buf, sizeof buf), RLC_OK);
    cr_assert_eq(rlc_st_open(path, &f), RLC_ERR_FORMAT);
    assert_error_has(path, "header length 18446744073709551615", "exceeds");
}

Test(safetensors, rejects_absurd_header_length) {
    /* A sparse 200 MB file whose header claims 150 MB: within the file, but
     * past the reference implementation's 100 MB limit. */
    const char *path = tmp_path("huge.safetensors");
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    const unsigned char len[8] = {0x80, 0xd1, 0xf0, 0x08, 0, 0, 0, 0}; /* 150000000 */
    cr_assert_eq(fwrite(len, 1, 8, fp), 8);
    cr_assert_eq(ftruncate(fileno(fp), 200000000), 0);
    fclose(fp);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_ERR_FORMAT);
    assert_error_has(path, "header length 150000000", "exceeds the limit");
}

Test(safetensors, missing_file) {
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(tmp_path("nope.safetensors"), &f), RLC_ERR_NOT_FOUND);
    assert_error_has("nope.safetensors", "cannot open", NULL);
    cr_assert_eq(rlc_st_open(tmpdir, &f), RLC_ERR_IO);
    assert_error_has(tmpdir, "not a regular file", NULL);
}

Test(safetensors, rejects_invalid_json) {
    expect_bad("{\"w\": ", NULL, 0, RLC_ERR_FORMAT, "not valid JSON", NULL);
    expect_bad("{\"w\": 1} xyz", NULL, 0, RLC_ERR_FORMAT, "not valid JSON", NULL);
    expect_bad("[1, 2]", NULL, 0, RLC_ERR_FORMAT, "not a JSON object", NULL);
    expect_bad("", NULL, 0, RLC_ERR_FORMAT, "not valid JSON", NULL);
}

Test(safetensors, rejects_bad_entries) {
    expect_bad("{\"w\": 5}", NULL, 0, RLC_ERR_FORMAT, "tensor 'w'", "must be a JSON object");
    expect_bad("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4, RLC_ERR_FORMAT,
               "tensor 'w'", "missing 'dtype'");
    expect_bad("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "non-string 'dtype'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", zeros, 4, RLC_ERR_FORMAT,
               "tensor 'w'", "missing 'shape'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "non-array 'shape'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", zeros, 4, RLC_ERR_FORMAT, "tensor 'w'",
               "missing 'data_offsets'");
    expect_bad(T1 "[0]}}", zeros, 4, RLC_ERR_FORMAT, "tensor 'w'", "invalid 'data_offsets'");
    expect_bad(T1 "[\"0\",4]}}", zeros, 4, RLC_ERR_FORMAT, "tensor 'w'", "invalid 'data_offsets'");
    expect_bad(T1 "[-4,0]}}", zeros, 4, RLC_ERR_FORMAT, "tensor 'w'", "invalid 'data_offsets'");
    expect_bad(T1 "{\"a\":0}}}", zeros, 4, RLC_ERR_FORMAT, "tensor 'w'", "invalid 'data_offsets'");
}

Test(safetensors, rejects_unknown_dtype) {
    expect_bad("{\"w\":{\"dtype\":\"F9\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "unknown dtype 'F9'");
}

Test(safetensors, rejects_bad_shape) {
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "shape[0] must be a non-negative integer");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2, 0.5],\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "shape[1] must be a non-negative integer");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "shape[0] must be a non-negative integer");
    expect_bad("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
               zeros, 1, RLC_ERR_UNSUPPORTED, "tensor 'w'", "9 dimensions");
    /* A product that overflows 64 bits must not wrap to a small byte count. */
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
               "\"data_offsets\":[0,0]}}",
               NULL, 0, RLC_ERR_FORMAT, "tensor 'w'", "too large");
}

Test(safetensors, rejects_size_mismatch) {
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "needs 8 bytes but data_offsets [0, 4] span 4");
    expect_bad("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", zeros, 8,
               RLC_ERR_FORMAT, "tensor 'w'", "3 BF16 elements needs 6 bytes");
}

Test(safetensors, rejects_begin_after_end) {
    expect_bad(T1 "[8,4]}}", zeros, 8, RLC_ERR_FORMAT, "tensor 'w'", "begin 8 is after end 4");
}

Test(safetensors, rejects_end_beyond_buffer) {
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 4,
               RLC_ERR_FORMAT, "tensor 'w'", "end 8 is beyond the data buffer (4 bytes)");
}

Test(safetensors, rejects_overlap) {
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               zeros, 12, RLC_ERR_FORMAT, "tensors 'a' and 'b' overlap", NULL);
    /* An empty tensor inside another one also overlaps. */
    expect_bad("{\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               zeros, 8, RLC_ERR_FORMAT, "tensors 'a' and 'b' overlap", NULL);
}

Test(safetensors, rejects_uncovered_bytes) {
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               zeros, 12, RLC_ERR_FORMAT, "bytes 4..8", "before tensor 'b', are not covered");
    expect_bad(T1 "[4,8]}}", zeros, 8, RLC_ERR_FORMAT, "bytes 0..4",
               "before tensor 'w', are not covered");
    expect_bad(T1 "[0,4]}}", zeros, 8, RLC_ERR_FORMAT, "bytes 4..8 at the end", "not covered");
    expect_bad("{}", zeros, 3, RLC_ERR_FORMAT, "bytes 0..3 at the end", NULL);
}

Test(safetensors, rejects_duplicate_names) {
#define LONG "model.layers.0.self_attn.q_proj.weight"
    expect_bad("{\"" LONG "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"" LONG "\" :{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               zeros, 8, RLC_ERR_FORMAT, "duplicate key '" LONG "'", "must be unique");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               zeros, 4, RLC_ERR_FORMAT, "duplicate key 'w'", NULL);
#undef LONG
}

Test(safetensors, rejects_bad_metadata) {
    expect_bad("{\"__metadata__\": [1]}", NULL, 0, RLC_ERR_FORMAT, "__metadata__",
               "object of strings");
    expect_bad("{\"__metadata__\": {\"format\": 1}}", NULL, 0, RLC_ERR_FORMAT,
               "__metadata__ value of 'format'", "string");
}

Test(safetensors, accepts_minimal_files) {
    /* Empty header, and an entry padded with trailing spaces (as writers do). */
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(write_st("empty.safetensors", "{}", NULL, 0), &f), RLC_OK);
    cr_assert_eq(rlc_st_count(f), 0);
    cr_assert_null(rlc_st_find(f, "w"));
    rlc_st_close(f);
    const float v = 1.5f;
    const char *p = write_st("one.safetensors", T1 "[0,4]}}   ", &v, 4);
    cr_assert_eq(rlc_st_open(p, &f), RLC_OK, "%s", rlc_last_error());
    float out;
    cr_assert_eq(rlc_st_read_f32(f, "w", 1, (int64_t[]){1}, &out), RLC_OK);
    cr_assert_eq(out, 1.5f);
    rlc_st_close(f);
    rlc_st_close(NULL);
}

/* Every truncation of a valid file is refused cleanly (ASan checks reads). */
Test(safetensors, truncations_and_corruptions_never_crash) {
    rlc_st_writer *w = rlc_st_writer_new();
    float v[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(rlc_st_writer_add_f32(w, "a", RLC_DTYPE_F32, 2, (int64_t[]){2, 3}, v), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "b", RLC_DTYPE_BF16, 1, (int64_t[]){3}, v), RLC_OK);
    const char *good = tmp_path("good.safetensors");
    cr_assert_eq(rlc_st_writer_write(w, good), RLC_OK);
    rlc_st_writer_free(w);
    char *data;
    size_t len;
    cr_assert_eq(rlc_read_file(good, &data, &len), RLC_OK);
    const char *bad = tmp_path("cut.safetensors");
    rlc_st_file *f;
    for (size_t n = 0; n < len; n++) {
        cr_assert_eq(rlc_write_file_atomic(bad, data, n), RLC_OK);
        cr_assert_neq(rlc_st_open(bad, &f), RLC_OK, "truncated to %zu bytes", n);
        cr_assert_null(f);
    }
    /* Flip each header byte in turn: open may succeed or fail, never crash. */
    for (size_t i = 0; i < len; i++) {
        data[i] ^= 0x5a;
        cr_assert_eq(rlc_write_file_atomic(bad, data, len), RLC_OK);
        if (rlc_st_open(bad, &f) == RLC_OK) rlc_st_close(f);
        data[i] ^= 0x5a;
    }
    free(data);
}

Test(safetensors, roundtrip_all_float_dtypes) {
    float a[6] = {1.0f, -2.5f, 0.1f, 3.14159265f, 1e-7f, 65504.0f};
    int64_t i64[3] = {-1, 1LL << 40, 7};
    uint8_t u8[3] = {1, 2, 3};
    rlc_st_writer *w = rlc_st_writer_new();
    cr_assert_not_null(w);
    /* Mixed element sizes in an order that would misalign without reordering. */
    cr_assert_eq(rlc_st_writer_add_raw(w, "bytes", RLC_DTYPE_U8, 1, (int64_t[]){3}, u8), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "half", RLC_DTYPE_F16, 2, (int64_t[]){3, 2}, a), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "full", RLC_DTYPE_F32, 2, (int64_t[]){2, 3}, a), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "brain", RLC_DTYPE_BF16, 1, (int64_t[]){5}, a), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_raw(w, "ids", RLC_DTYPE_I64, 1, (int64_t[]){3}, i64), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "scalar", RLC_DTYPE_F32, 0, NULL, a + 1), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "empty", RLC_DTYPE_F32, 2, (int64_t[]){0, 4}, a), RLC_OK);
    cr_assert_eq(rlc_st_writer_meta(w, "step", "12"), RLC_OK);
    const char *path = tmp_path("model.safetensors");
    cr_assert_eq(rlc_st_writer_write(w, path), RLC_OK, "%s", rlc_last_error());
    rlc_st_writer_free(w);
    cr_assert_not(rlc_file_exists(tmp_path("model.safetensors.tmp")));

    /* Header padded so the data starts 8-aligned; JSON keeps the added order. */
    char *raw;
    size_t len;
    cr_assert_eq(rlc_read_file(path, &raw, &len), RLC_OK);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | (unsigned char)raw[i];
    cr_assert_eq((8 + hlen) % 8, 0);
    cr_assert_eq(raw[8 + hlen - 1] == ' ' || raw[8 + hlen - 1] == '}', 1);
    cr_assert(strstr(raw + 8, "\"__metadata__\":{\"step\":\"12\",\"format\":\"pt\"}"), "%s",
              raw + 8);
    cr_assert_eq(len, 8 + hlen + 3 + 12 + 24 + 10 + 24 + 4);
    free(raw);

    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_st_count(f), 7);
    cr_assert_str_eq(rlc_st_metadata(f, "format"), "pt");
    cr_assert_str_eq(rlc_st_metadata(f, "step"), "12");
    cr_assert_null(rlc_st_metadata(f, "nope"));
    /* Listed in data order: 8-byte, then 4, 2, 1-byte elements. */
    const char *order[7] = {"ids", "full", "scalar", "empty", "half", "brain", "bytes"};
    for (int i = 0; i < 7; i++) {
        const rlc_st_tensor *t = rlc_st_at(f, i);
        cr_assert_str_eq(t->name, order[i]);
        cr_assert_eq((uintptr_t)t->data % rlc_dtype_size(t->dtype), 0, "%s misaligned", t->name);
        cr_assert_str_eq(rlc_st_path_of(f, t), path);
    }
    cr_assert_null(rlc_st_at(f, 7));
    cr_assert_null(rlc_st_at(f, -1));

    const rlc_st_tensor *t = rlc_st_find(f, "half");
    cr_assert_eq(t->dtype, RLC_DTYPE_F16);
    cr_assert_eq(t->ndim, 2);
    cr_assert_eq(t->shape[0], 3);
    cr_assert_eq(t->shape[1], 2);
    cr_assert_eq(t->numel, 6);
    cr_assert_eq(t->nbytes, 12);
    cr_assert_eq(rlc_st_find(f, "scalar")->ndim, 0);
    cr_assert_eq(rlc_st_find(f, "scalar")->numel, 1);
    cr_assert_eq(rlc_st_find(f, "empty")->numel, 0);
    cr_assert_eq(memcmp(rlc_st_find(f, "ids")->data, i64, sizeof i64), 0);
    cr_assert_eq(memcmp(rlc_st_find(f, "bytes")->data, u8, 3), 0);

    float out[6];
    cr_assert_eq(rlc_st_read_f32(f, "full", 2, (int64_t[]){2, 3}, out), RLC_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(out[i], a[i]);
    cr_assert_eq(rlc_st_read_f32(f, "half", 2, (int64_t[]){3, 2}, out), RLC_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(out[i], rlc_f16_to_f32(rlc_f32_to_f16(a[i])));
    cr_assert_eq(out[4], 0x1p-23f); /* 1e-7 becomes the f16 subnormal 2 * 2^-24 */
    cr_assert_eq(rlc_st_read_f32(f, "brain", 1, (int64_t[]){5}, out), RLC_OK);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(out[i], rlc_bf16_to_f32(rlc_f32_to_bf16(a[i])));
    cr_assert_eq(out[3], 3.140625f);
    cr_assert_eq(rlc_st_read_f32(f, "scalar", 0, NULL, out), RLC_OK);
    cr_assert_eq(out[0], -2.5f);
    cr_assert_eq(rlc_st_read_f32(f, "empty", 2, (int64_t[]){0, 4}, out), RLC_OK);
    rlc_st_close(f);
}

Test(safetensors, read_f32_errors) {
    float a[6] = {0};
    rlc_st_writer *w = rlc_st_writer_new();
    cr_assert_eq(rlc_st_writer_add_f32(w, "w", RLC_DTYPE_F32, 2, (int64_t[]){2, 3}, a), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_raw(w, "ids", RLC_DTYPE_I32, 1, (int64_t[]){2}, a), RLC_OK);
    const char *path = tmp_path("m.safetensors");
    cr_assert_eq(rlc_st_writer_write(w, path), RLC_OK);
    rlc_st_writer_free(w);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_OK);
    float out[6];
    cr_assert_eq(rlc_st_read_f32(f, "nope", 1, (int64_t[]){6}, out), RLC_ERR_NOT_FOUND);
    char want[600];
    snprintf(want, sizeof want, "%s: missing tensor 'nope'", path);
    cr_assert_str_eq(rlc_last_error(), want);
    cr_assert_eq(rlc_st_read_f32(f, "w", 2, (int64_t[]){3, 2}, out), RLC_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: tensor 'w' has shape [2, 3], expected [3, 2]", path);
    cr_assert_str_eq(rlc_last_error(), want);
    cr_assert_eq(rlc_st_read_f32(f, "w", 1, (int64_t[]){6}, out), RLC_ERR_FORMAT);
    assert_error_has("has shape [2, 3], expected [6]", NULL, NULL);
    cr_assert_eq(rlc_st_read_f32(f, "ids", 1, (int64_t[]){2}, out), RLC_ERR_UNSUPPORTED);
    assert_error_has(path, "tensor 'ids' has dtype I32", NULL);
    rlc_st_close(f);
}

Test(safetensors, writer_rejects_bad_input) {
    float a[4] = {0};
    rlc_st_writer *w = rlc_st_writer_new();
    cr_assert_eq(rlc_st_writer_add_f32(w, "w", RLC_DTYPE_F32, 1, (int64_t[]){4}, a), RLC_OK);
    cr_assert_eq(rlc_st_writer_add_f32(w, "w", RLC_DTYPE_F32, 1, (int64_t[]){4}, a),
                 RLC_ERR_INVALID);
    assert_error_has("tensor 'w' added twice", NULL, NULL);
    cr_assert_eq(rlc_st_writer_add_f32(w, "x", RLC_DTYPE_I32, 1, (int64_t[]){4}, a),
                 RLC_ERR_INVALID);
    assert_error_has("tensor 'x'", "as I32", NULL);
    cr_assert_eq(rlc_st_writer_add_f32(w, "x", RLC_DTYPE_F32, 1, (int64_t[]){-4}, a),
                 RLC_ERR_INVALID);
    cr_assert_eq(rlc_st_writer_add_f32(w, "__metadata__", RLC_DTYPE_F32, 1, (int64_t[]){4}, a),
                 RLC_ERR_INVALID);
    cr_assert_eq(rlc_st_writer_add_f32(w, "x", RLC_DTYPE_F32, 9, (int64_t[9]){1}, a),
                 RLC_ERR_INVALID);
    cr_assert_eq(rlc_st_writer_meta(w, "format", "mlx"), RLC_OK);
    cr_assert_eq(rlc_st_writer_write(w, tmp_path("no/such/dir/m.safetensors")), RLC_ERR_IO);
    assert_error_has("no/such/dir/m.safetensors.tmp", "cannot create", NULL);
    /* A user "format" replaces the default. */
    cr_assert_eq(rlc_st_writer_write(w, tmp_path("m.safetensors")), RLC_OK);
    rlc_st_writer_free(w);
    rlc_st_writer_free(NULL);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(tmp_path("m.safetensors"), &f), RLC_OK);
    cr_assert_str_eq(rlc_st_metadata(f, "format"), "mlx");
    cr_assert_eq(rlc_st_count(f), 1);
    rlc_st_close(f);
}

/* Writes shard `name` holding tensors names[n], each [2] F32 filled with base+i. */
static void write_shard(const char *name, const char **names, int n, float base) {
    rlc_st_writer *w = rlc_st_writer_new();
    for (int i = 0; i < n; i++) {
        float v[2] = {base + (float)i, -(base + (float)i)};
        cr_assert_eq(rlc_st_writer_add_f32(w, names[i], RLC_DTYPE_BF16, 1, (int64_t[]){2}, v),
                     RLC_OK);
    }
    cr_assert_eq(rlc_st_writer_write(w, tmp_path(name)), RLC_OK);
    rlc_st_writer_free(w);
}

static void write_index(const char *json) {
    const char *p = tmp_path("model.safetensors.index.json");
    cr_assert_eq(rlc_write_file_atomic(p, json, strlen(json)), RLC_OK);
}

#define SHARD1 "model-00001-of-00002.safetensors"
#define SHARD2 "model-00002-of-00002.safetensors"

Test(safetensors, sharded_dir) {
    write_shard(SHARD1, (const char *[]){"embed", "layer0"}, 2, 1.0f);
    write_shard(SHARD2, (const char *[]){"layer1", "lm_head"}, 2, 10.0f);
    write_index("{\"metadata\": {\"total_size\": 32}, \"weight_map\": {"
                "\"lm_head\": \"" SHARD2 "\", \"embed\": \"" SHARD1 "\", "
                "\"layer0\": \"" SHARD1 "\", \"layer1\": \"" SHARD2 "\"}}");
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_st_count(f), 4);
    cr_assert_str_eq(rlc_st_metadata(f, "format"), "pt");
    cr_assert_str_eq(rlc_st_path_of(f, rlc_st_find(f, "embed")), tmp_path(SHARD1));
    cr_assert_str_eq(rlc_st_path_of(f, rlc_st_find(f, "lm_head")), tmp_path(SHARD2));
    float out[2];
    cr_assert_eq(rlc_st_read_f32(f, "lm_head", 1, (int64_t[]){2}, out), RLC_OK);
    cr_assert_eq(out[0], 11.0f);
    cr_assert_eq(out[1], -11.0f);
    cr_assert_eq(rlc_st_read_f32(f, "layer0", 1, (int64_t[]){2}, out), RLC_OK);
    cr_assert_eq(out[0], 2.0f);
    cr_assert_eq(rlc_st_read_f32(f, "missing", 1, (int64_t[]){2}, out), RLC_ERR_NOT_FOUND);
    char want[600];
    snprintf(want, sizeof want, "%s: missing tensor 'missing'", tmpdir);
    cr_assert_str_eq(rlc_last_error(), want);
    cr_assert_eq(rlc_st_read_f32(f, "layer1", 1, (int64_t[]){3}, out), RLC_ERR_FORMAT);
    assert_error_has(SHARD2, "tensor 'layer1' has shape [2], expected [3]", NULL);
    rlc_st_close(f);
}

Test(safetensors, sharded_dir_errors) {
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_NOT_FOUND);
    assert_error_has(tmpdir, "no model.safetensors", NULL);

    write_shard(SHARD1, (const char *[]){"a", "b"}, 2, 1.0f);
    write_shard(SHARD2, (const char *[]){"b", "c"}, 2, 1.0f);
    write_index("{\"weight_map\": {\"a\": \"" SHARD1 "\", \"b\": \"" SHARD1 "\", "
                "\"c\": \"" SHARD2 "\"}}");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_FORMAT);
    assert_error_has("tensor 'b' appears in both", SHARD1, SHARD2);

    write_shard(SHARD2, (const char *[]){"c"}, 1, 1.0f);
    write_index("{\"weight_map\": {\"a\": \"" SHARD1 "\", \"b\": \"" SHARD2 "\", "
                "\"c\": \"" SHARD2 "\"}}");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_FORMAT);
    assert_error_has("model.safetensors.index.json", "tensor 'b' is mapped to " SHARD2,
                     "but found in");

    write_index("{\"weight_map\": {\"a\": \"" SHARD1 "\", \"d\": \"" SHARD2 "\"}}");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_FORMAT);
    assert_error_has("tensor 'd' is mapped to " SHARD2, "missing there", NULL);

    write_index("{\"weight_map\": {\"a\": \"../" SHARD1 "\"}}");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_FORMAT);
    assert_error_has("weight_map entry for 'a'", NULL, NULL);

    write_index("{\"weight_map\": {\"a\": \"gone.safetensors\"}}");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_NOT_FOUND);
    assert_error_has("gone.safetensors", "cannot open", NULL);

    write_index("{\"weights\": {}}");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_FORMAT);
    assert_error_has("model.safetensors.index.json", "field 'weight_map' must be an object", NULL);

    write_index("{\"weight_map\": ");
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_ERR_FORMAT);
    assert_error_has("model.safetensors.index.json", "not valid JSON", NULL);
    cr_assert_null(f);
}

Test(safetensors, dir_with_single_file) {
    write_shard("model.safetensors", (const char *[]){"x"}, 1, 5.0f);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open_dir(tmpdir, &f), RLC_OK);
    cr_assert_eq(rlc_st_count(f), 1);
    cr_assert_str_eq(rlc_st_path_of(f, rlc_st_at(f, 0)), tmp_path("model.safetensors"));
    rlc_st_close(f);
}
