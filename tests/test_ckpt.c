/* Checkpoint manager: atomic commits, manifests, pruning, corruption detection
 * (truncated file, flipped byte, missing trainer_state.json, missing manifest,
 * a crash before the rename), optimizer round trip, rlc resume-check. */
#include "base/crc32c.h"
#include "base/fs.h"
#include "model/model.h"
#include "tmpdir.h"
#include "train/checkpoint.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(ckpt, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* Commits checkpoint `step` with a fake weights file, an optimizer and a state. */
static void save(int64_t step, const rlc_ckpt_keep *keep) {
    rlc_ckpt_tx *tx;
    cr_assert_eq(rlc_ckpt_begin(tmpdir, step, &tx), RLC_OK, "%s", rlc_last_error());
    char path[1024], buf[4096];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i * 31 + step);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", rlc_ckpt_dir(tx));
    cr_assert_eq(rlc_write_file_atomic(path, buf, sizeof buf), RLC_OK);
    rlc_adamw opt;
    cr_assert_eq(rlc_adamw_init(&opt, 10, rlc_adamw_default_params()), RLC_OK);
    opt.t = (int)step;
    cr_assert_eq(rlc_ckpt_write_optimizer(tx, &opt), RLC_OK, "%s", rlc_last_error());
    rlc_adamw_free(&opt);
    snprintf(buf, sizeof buf, "{\"step\": %" PRId64 ", \"rng\": [1, 2]}", step);
    cr_assert_eq(rlc_ckpt_write_state(tx, buf), RLC_OK);
    cr_assert_eq(rlc_ckpt_commit(tx, keep), RLC_OK, "%s", rlc_last_error());
}

static const char *ckpt_file(int64_t step, const char *name) {
    static char b[1024];
    snprintf(b, sizeof b, "%s/checkpoints/checkpoint-%" PRId64 "/%s", tmpdir, step, name);
    return b;
}

static int exists_step(int64_t step) {
    char b[1024];
    snprintf(b, sizeof b, "%s/checkpoints/checkpoint-%" PRId64, tmpdir, step);
    struct stat sb;
    return stat(b, &sb) == 0;
}

/* find_latest with warnings captured; returns the step (-1 when none). */
static int64_t latest(char *warn, size_t cap) {
    char path[1024];
    int64_t step = -1;
    FILE *w = fmemopen(warn, cap, "w");
    cr_assert_not_null(w);
    rlc_status st = rlc_ckpt_find_latest(tmpdir, &step, path, sizeof path, w);
    fclose(w);
    if (st == RLC_ERR_NOT_FOUND) return -1;
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    char want[1024];
    snprintf(want, sizeof want, "%s/checkpoints/checkpoint-%" PRId64, tmpdir, step);
    cr_assert_str_eq(path, want);
    return step;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(ckpt, crc32c_known_values) {
    cr_assert_eq(rlc_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(rlc_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(rlc_crc32c(0, "", 0), 0u);
    uint8_t zeros[32] = {0};
    cr_assert_eq(rlc_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    /* Every length and alignment: fast path == table, and chaining == one call. */
    static uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 7) {
            uint32_t a = rlc_crc32c(0, buf + off, len);
            cr_assert_eq(a, rlc_crc32c_portable(0, buf + off, len), "off %zu len %zu", off, len);
            cr_assert_eq(
                rlc_crc32c(rlc_crc32c(0, buf + off, len / 3), buf + off + len / 3, len - len / 3),
                a);
        }
}

Test(ckpt, commit_layout_and_manifest) {
    save(50, NULL);
    cr_assert(rlc_file_exists(ckpt_file(50, "adapter_model.safetensors")));
    cr_assert(rlc_file_exists(ckpt_file(50, RLC_CKPT_OPTIMIZER)));
    cr_assert(rlc_file_exists(ckpt_file(50, RLC_CKPT_STATE)));
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-50.tmp")));
    json_error_t e;
    json_t *m = json_load_file(ckpt_file(50, RLC_CKPT_MANIFEST), 0, &e);
    cr_assert_not_null(m, "%s", e.text);
    cr_assert_eq(json_integer_value(json_object_get(m, "step")), 50);
    json_t *files = json_object_get(m, "files");
    cr_assert_eq(json_object_size(files), 3);
    json_t *a = json_object_get(files, "adapter_model.safetensors");
    cr_assert_eq(json_integer_value(json_object_get(a, "bytes")), 4096);
    /* The recorded checksum is the CRC-32C of the bytes on disk. */
    char *data;
    size_t len;
    cr_assert_eq(rlc_read_file(ckpt_file(50, "adapter_model.safetensors"), &data, &len), RLC_OK);
    char hex[16];
    snprintf(hex, sizeof hex, "%08" PRIx32, rlc_crc32c(0, data, len));
    cr_assert_str_eq(json_string_value(json_object_get(a, "crc32c")), hex);
    free(data);
    json_decref(m);
    char warn[512] = "";
    cr_assert_eq(latest(warn, sizeof warn), 50);
    cr_assert_str_eq(warn, "");
}

Test(ckpt, no_checkpoints_is_not_found) {
    char warn[256] = "";
    cr_assert_eq(latest(warn, sizeof warn), -1);
    int64_t step;
    char path[256];
    cr_assert_eq(rlc_ckpt_find_latest(tmp_path("no-such-run"), &step, path, sizeof path, NULL),
                 RLC_ERR_NOT_FOUND);
}

Test(ckpt, commit_requires_trainer_state_and_abort_cleans_up) {
    rlc_ckpt_tx *tx;
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 7, &tx), RLC_OK);
    char p[1024];
    snprintf(p, sizeof p, "%s/model.safetensors", rlc_ckpt_dir(tx));
    cr_assert_eq(rlc_write_file_atomic(p, "x", 1), RLC_OK);
    cr_assert_eq(rlc_ckpt_write_state(tx, "[1, 2]"), RLC_ERR_INVALID);
    cr_assert_eq(rlc_ckpt_write_state(tx, "{oops"), RLC_ERR_INVALID);
    cr_assert_eq(rlc_ckpt_commit(tx, NULL), RLC_ERR_INVALID); /* consumes tx */
    cr_assert(strstr(rlc_last_error(), "trainer_state.json"), "%s", rlc_last_error());
    cr_assert(!exists_step(7));
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-7.tmp")));
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 8, &tx), RLC_OK);
    rlc_ckpt_abort(tx);
    rlc_ckpt_abort(NULL);
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-8.tmp")));
    cr_assert_eq(rlc_ckpt_begin(tmpdir, -1, &tx), RLC_ERR_INVALID);
}

Test(ckpt, recommit_same_step_replaces) {
    save(10, NULL);
    save(10, NULL);
    char warn[256] = "";
    cr_assert_eq(latest(warn, sizeof warn), 10);
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-10.tmp")));
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-10.old")));
}

Test(ckpt, prune_keep_last_and_keep_every) {
    rlc_ckpt_keep keep = {.keep_last = 2, .keep_every = 100};
    for (int s = 25; s <= 300; s += 25)
        save(s, &keep);
    /* newest two (275, 300) plus the multiples of 100 */
    for (int s = 25; s <= 300; s += 25)
        cr_expect_eq(exists_step(s), s >= 275 || s % 100 == 0, "step %d", s);
    rlc_ckpt_keep last1 = {.keep_last = 1};
    save(325, &last1);
    for (int s = 25; s <= 325; s += 25)
        cr_expect_eq(exists_step(s), s == 325, "step %d", s);
    /* keep_last <= 0 keeps everything */
    rlc_ckpt_keep all = {0};
    save(350, &all);
    cr_assert(exists_step(325) && exists_step(350));
}

Test(ckpt, prune_spares_the_new_one_and_newer_steps) {
    /* A run resumed from 100 (200 was damaged) saves 150 with keep_last 1:
     * 150 stays, 200 is left alone, 100 goes. */
    save(100, NULL);
    save(200, NULL);
    cr_assert_eq(truncate(ckpt_file(200, RLC_CKPT_STATE), 3), 0);
    rlc_ckpt_keep keep = {.keep_last = 1};
    save(150, &keep);
    cr_assert(exists_step(150));
    cr_assert(exists_step(200));
    cr_assert(!exists_step(100));
    char warn[512] = "";
    cr_assert_eq(latest(warn, sizeof warn), 150);
    cr_assert(strstr(warn, "checkpoint-200 skipped"), "%s", warn);
    /* Saving 200 again replaces the damaged one. */
    save(200, &keep);
    warn[0] = 0;
    cr_assert_eq(latest(warn, sizeof warn), 200);
    cr_assert_str_eq(warn, "");
    cr_assert(!exists_step(150));
}

/* Three checkpoints, the newest damaged by `damage`: find_latest falls back to
 * 200 with exactly one warning line naming checkpoint-300 and containing why. */
static void expect_fallback(void (*damage)(void), const char *why) {
    save(100, NULL);
    save(200, NULL);
    save(300, NULL);
    damage();
    char warn[1024] = "";
    cr_assert_eq(latest(warn, sizeof warn), 200, "%s", warn);
    cr_assert_eq(count_lines(warn), 1, "%s", warn);
    cr_assert(strstr(warn, "checkpoint-300 skipped"), "%s", warn);
    cr_assert(strstr(warn, why), "expected '%s' in: %s", why, warn);
    char reason[512];
    cr_assert_eq(rlc_ckpt_verify(tmp_path("checkpoints/checkpoint-300"), reason, sizeof reason), 0);
    cr_assert(strstr(reason, why), "%s", reason);
    cr_assert_eq(rlc_ckpt_verify(tmp_path("checkpoints/checkpoint-200"), reason, sizeof reason), 1);
}

static void truncate_adapter(void) {
    cr_assert_eq(truncate(ckpt_file(300, "adapter_model.safetensors"), 1000), 0);
}
static void flip_byte(void) {
    int fd = open(ckpt_file(300, RLC_CKPT_OPTIMIZER), O_RDWR);
    cr_assert(fd >= 0);
    off_t at = lseek(fd, -5, SEEK_END); /* inside exp_avg_sq: size unchanged */
    unsigned char b;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}
static void delete_state(void) {
    cr_assert_eq(unlink(ckpt_file(300, RLC_CKPT_STATE)), 0);
}
static void delete_manifest(void) {
    cr_assert_eq(unlink(ckpt_file(300, RLC_CKPT_MANIFEST)), 0);
}
static void garble_manifest(void) {
    cr_assert_eq(truncate(ckpt_file(300, RLC_CKPT_MANIFEST), 20), 0);
}

Test(ckpt, corrupt_truncated_file) {
    expect_fallback(truncate_adapter,
                    "adapter_model.safetensors: 1000 bytes, manifest says 4096 (truncated");
}
Test(ckpt, corrupt_flipped_byte) {
    expect_fallback(flip_byte, "optimizer.safetensors: checksum mismatch");
}
Test(ckpt, corrupt_missing_trainer_state) {
    expect_fallback(delete_state, "trainer_state.json missing");
}
Test(ckpt, corrupt_missing_manifest) {
    expect_fallback(delete_manifest, "manifest.json missing");
}
Test(ckpt, corrupt_garbled_manifest) {
    expect_fallback(garble_manifest, "manifest.json unreadable");
}

Test(ckpt, crash_before_rename_is_ignored) {
    save(100, NULL);
    save(200, NULL);
    /* A save of 300 that died after writing some files, before commit. */
    rlc_ckpt_tx *tx;
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 300, &tx), RLC_OK);
    char p[1024];
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", rlc_ckpt_dir(tx));
    cr_assert_eq(rlc_write_file_atomic(p, "half", 4), RLC_OK);
    cr_assert_eq(rlc_ckpt_write_state(tx, "{\"step\": 300}"), RLC_OK);
    free(tx); /* the process is gone: no abort */
    char warn[256] = "";
    cr_assert_eq(latest(warn, sizeof warn), 200);
    cr_assert_str_eq(warn, ""); /* not a damaged checkpoint: silently ignored */
    rlc_ckpt_info *info;
    int n;
    cr_assert_eq(rlc_ckpt_list(tmpdir, &info, &n), RLC_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(info[0].name, ".checkpoint-300.tmp");
    cr_assert(info[0].temporary && !info[0].intact);
    cr_assert_str_eq(info[1].name, "checkpoint-200");
    cr_assert(info[1].intact && info[1].files == 3 && info[1].bytes > 4096);
    cr_assert_eq(info[2].step, 100);
    free(info);
    /* The next save of 300 starts over in a clean folder. */
    save(300, NULL);
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-300.tmp")));
    cr_assert_eq(latest(warn, sizeof warn), 300);
}

Test(ckpt, leftovers_and_foreign_folders) {
    save(1, NULL);
    /* An interrupted replace/prune, and folders that are not checkpoints. */
    cr_assert_eq(rlc_mkdir_p(tmp_path("checkpoints/.checkpoint-0.old/x")), RLC_OK);
    cr_assert_eq(rlc_mkdir_p(tmp_path("checkpoints/checkpoint-best")), RLC_OK);
    cr_assert_eq(rlc_mkdir_p(tmp_path("checkpoints/checkpoint-9x")), RLC_OK);
    cr_assert_eq(rlc_write_file_atomic(tmp_path("checkpoints/checkpoint-5"), "f", 1), RLC_OK);
    char warn[256] = "";
    cr_assert_eq(latest(warn, sizeof warn), 1);
    cr_assert_str_eq(warn, "");
    rlc_ckpt_info *info;
    int n;
    cr_assert_eq(rlc_ckpt_list(tmpdir, &info, &n), RLC_OK);
    cr_assert_eq(n, 1);
    free(info);
    save(2, NULL);
    cr_assert(!rlc_file_exists(tmp_path("checkpoints/.checkpoint-0.old")));
    cr_assert(rlc_file_exists(tmp_path("checkpoints/checkpoint-best")));
}

Test(ckpt, every_checkpoint_damaged) {
    save(1, NULL);
    save(2, NULL);
    cr_assert_eq(unlink(ckpt_file(1, RLC_CKPT_MANIFEST)), 0);
    cr_assert_eq(unlink(ckpt_file(2, RLC_CKPT_STATE)), 0);
    char warn[1024] = "";
    cr_assert_eq(latest(warn, sizeof warn), -1);
    cr_assert_eq(count_lines(warn), 2, "%s", warn);
}

Test(ckpt, optimizer_round_trip_bit_exact) {
    rlc_adamw_params p = rlc_adamw_default_params();
    p.lr = 3.7e-5f;
    p.beta2 = 0.95f;
    p.weight_decay = 0.01f;
    rlc_adamw a;
    size_t n = 1001;
    cr_assert_eq(rlc_adamw_init(&a, n, p), RLC_OK);
    uint32_t x = 12345;
    for (size_t i = 0; i < 2 * n; i++) { /* arbitrary bit patterns, incl. denormals, -0 */
        x = x * 1664525u + 1013904223u;
        uint32_t bits = x & 0xff7fffffu; /* no inf/NaN exponents */
        memcpy(i < n ? &a.m[i] : &a.v[i - n], &bits, 4);
    }
    a.m[0] = -0.0f;
    a.t = 777;
    rlc_ckpt_tx *tx;
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 5, &tx), RLC_OK);
    cr_assert_eq(rlc_ckpt_write_optimizer(tx, &a), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_ckpt_write_state(tx, "{}"), RLC_OK);
    cr_assert_eq(rlc_ckpt_commit(tx, NULL), RLC_OK);
    const char *dir = tmp_path("checkpoints/checkpoint-5");
    /* Into an empty optimizer: sizes and hyper-parameters come from the file. */
    rlc_adamw b = {0};
    cr_assert_eq(rlc_ckpt_read_optimizer(dir, &b), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(b.n, n);
    cr_assert_eq(b.t, 777);
    cr_assert_eq(memcmp(b.m, a.m, n * 4), 0);
    cr_assert_eq(memcmp(b.v, a.v, n * 4), 0);
    cr_assert_eq(b.p.lr, p.lr);
    cr_assert_eq(b.p.beta2, p.beta2);
    cr_assert_eq(b.p.weight_decay, p.weight_decay);
    /* Into a sized one: the caller's hyper-parameters stay. */
    rlc_adamw c;
    cr_assert_eq(rlc_adamw_init(&c, n, rlc_adamw_default_params()), RLC_OK);
    cr_assert_eq(rlc_ckpt_read_optimizer(dir, &c), RLC_OK);
    cr_assert_eq(memcmp(c.v, a.v, n * 4), 0);
    cr_assert_eq(c.t, 777);
    cr_assert_eq(c.p.lr, rlc_adamw_default_params().lr);
    rlc_adamw_free(&c);
    /* A different size is refused with the file named. */
    cr_assert_eq(rlc_adamw_init(&c, n + 1, p), RLC_OK);
    cr_assert_eq(rlc_ckpt_read_optimizer(dir, &c), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "optimizer.safetensors: exp_avg has 1001 values"), "%s",
              rlc_last_error());
    rlc_adamw_free(&c);
    rlc_adamw_free(&b);
    rlc_adamw_free(&a);
}

/* A real model and adapter: realistic file sizes, and the PEFT files verify. */
Test(ckpt, real_model_and_adapter, .timeout = 60) {
    rlc_model_config cfg = rlc_config_default();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&cfg, 3, &m), RLC_OK, "%s", rlc_last_error());
    rlc_ckpt_tx *tx;
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 1, &tx), RLC_OK);
    cr_assert_eq(rlc_model_save(m, rlc_ckpt_dir(tx), RLC_DTYPE_F32), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(rlc_ckpt_write_state(tx, "{\"step\": 1}"), RLC_OK);
    cr_assert_eq(rlc_ckpt_commit(tx, NULL), RLC_OK, "%s", rlc_last_error());
    rlc_lora_config lc = rlc_lora_default_config();
    lc.rank = 4;
    cr_assert_eq(rlc_model_add_lora(m, &lc, 9), RLC_OK);
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 2, &tx), RLC_OK);
    cr_assert_eq(rlc_model_save_adapter(m, rlc_ckpt_dir(tx)), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_ckpt_write_state(tx, "{\"step\": 2}"), RLC_OK);
    cr_assert_eq(rlc_ckpt_commit(tx, NULL), RLC_OK, "%s", rlc_last_error());
    rlc_ckpt_info *info;
    int n;
    cr_assert_eq(rlc_ckpt_list(tmpdir, &info, &n), RLC_OK);
    cr_assert_eq(n, 2);
    cr_assert(info[0].intact && info[1].intact, "%s / %s", info[0].reason, info[1].reason);
    cr_assert_eq(info[0].files, 3); /* adapter_config.json, adapter_model.safetensors, state */
    cr_assert_eq(info[1].files, 3); /* config.json, model.safetensors, state */
    cr_assert_geq(info[1].bytes, 4 * rlc_model_num_params(m));
    free(info);
    /* The adapter loads back from the checkpoint folder. */
    rlc_model *m2;
    cr_assert_eq(rlc_model_load(tmp_path("checkpoints/checkpoint-1"), &m2), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(rlc_model_load_adapter(m2, tmp_path("checkpoints/checkpoint-2")), RLC_OK, "%s",
                 rlc_last_error());
    rlc_model_free(m2);
    /* A flipped byte deep inside the model weights is caught. */
    int fd = open(tmp_path("checkpoints/checkpoint-1/model.safetensors"), O_RDWR);
    cr_assert(fd >= 0);
    unsigned char b = 0;
    cr_assert_eq(pread(fd, &b, 1, 20000), 1);
    b ^= 1;
    cr_assert_eq(pwrite(fd, &b, 1, 20000), 1);
    close(fd);
    char reason[512];
    cr_assert_eq(rlc_ckpt_verify(tmp_path("checkpoints/checkpoint-1"), reason, sizeof reason), 0);
    cr_assert(strstr(reason, "model.safetensors: checksum mismatch"), "%s", reason);
    rlc_model_free(m);
}

/* Runs `rlc resume-check <args>`; returns stdout and the exit status. */
static char *resume_check(const char *args, int *rc) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s resume-check %s 2>&1", bin, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char buf[1 << 14];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    int st = pclose(f);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

Test(ckpt, resume_check_cli, .timeout = 60) {
    int rc;
    char *out = resume_check(tmpdir, &rc);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "(none)"), "%s", out);
    cr_assert(strstr(out, "no intact checkpoint: a run would start fresh"), "%s", out);
    save(100, NULL);
    save(200, NULL);
    save(300, NULL);
    out = resume_check(tmpdir, &rc);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "3 of 3 checkpoints intact"), "%s", out);
    cr_assert(strstr(out, "resume would start from checkpoint-300 (step 300)"), "%s", out);
    flip_byte();
    rlc_ckpt_tx *tx;
    cr_assert_eq(rlc_ckpt_begin(tmpdir, 400, &tx), RLC_OK);
    free(tx); /* crashed save */
    out = resume_check(tmpdir, &rc);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, ".checkpoint-400.tmp"), "%s", out);
    cr_assert(strstr(out, "incomplete: unfinished save"), "%s", out);
    cr_assert(strstr(out, "checkpoint-300"), "%s", out);
    cr_assert(strstr(out, "DAMAGED: optimizer.safetensors: checksum mismatch"), "%s", out);
    cr_assert(strstr(out, "2 of 3 checkpoints intact"), "%s", out);
    cr_assert(strstr(out, "resume would start from checkpoint-200 (step 200)"), "%s", out);
    out = resume_check(tmp_path("missing"), &rc);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "missing: not a directory"), "%s", out);
    out = resume_check("", &rc);
    cr_assert_eq(rc, 2, "%s", out);
}
