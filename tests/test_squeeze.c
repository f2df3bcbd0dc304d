/* rlc squeeze (LoRA-Squeeze) against numpy (tests/ref/squeeze_ref.py: the SVD
 * of the full dW = scale * B @ A in float64):
 *   - a random full-rank adapter: every singular value, every V(k) and the
 *     per-k mean / min / max table within 1e-5; the rank-3 adapter written is
 *     numpy's truncated SVD within 1e-5, with lora_alpha scaled by k/r;
 *   - adapters of a known rank t (rsLoRA): the recommended rank is t, and the
 *     adapters written at k >= t give dW again within 1e-5 (k < t: numpy's
 *     truncation), lora_alpha scaled by sqrt(k/r), the base's identity kept;
 *   - a zero adapter (B = 0): nothing to lose, rank 1;
 *   - a real adapter from a tiny LoRA SFT run, through the CLI: the table
 *     against numpy, the report's keys, the squeezed adapter accepted by
 *     rlc eval, generate and merge, and at k = r the merged weights and the
 *     greedy evaluation equal to the original's;
 *   - errors: a missing folder, a folder that is no adapter, --rank above r,
 *     bad options, --out onto the adapter, a non-finite weight. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/fs.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "model/squeeze.h"
#include "tokenizer/tokenizer.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

TestSuite(squeeze, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* One timeout for the suite (Criterion leaks when a suite mixes timeouts). */
#define SQUEEZE_TIMEOUT 300
#define ALL_TARGETS "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"

/* Runs `squeeze_ref.py ARGS` (numpy); the test fails when it does. */
static void ref(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ref(const char *fmt, ...) {
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = th_python("squeeze_ref.py", args);
    cr_assert_eq(rc, 0, "numpy reference failed (rc %d): squeeze_ref.py %s", rc, args);
}

static json_t *load_json(const char *path) {
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    return j;
}

static double jnum(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "no number '%s'", key);
    return json_number_value(v);
}

static void expect_near(const char *what, double got, double want, double tol) {
    cr_expect(fabs(got - want) <= tol, "%s: %.10g, numpy %.10g (tolerance %g)", what, got, want,
              tol);
}

/* The numpy reference of ADAPTER (and of SQUEEZED when not NULL), loaded. */
static json_t *numpy_ref(const char *adapter, const char *squeezed) {
    const char *out = tmp_path("ref.json");
    char sq[700] = "";
    if (squeezed) snprintf(sq, sizeof sq, "--squeezed %s", squeezed);
    ref("reference %s %s %s", adapter, out, sq);
    return load_json(out);
}

/* Every layer's singular values and V(k), and the mean / min / max table, of
 * sq against numpy's within tol; returns the number of layers compared. */
static int expect_matches_numpy(const rlc_squeeze *sq, const json_t *r, double tol) {
    int rank = rlc_squeeze_source_rank(sq), n = rlc_squeeze_num_layers(sq);
    const json_t *layers = json_object_get(r, "layers"),
                 *table = json_object_get(r, "variance_table");
    cr_assert_eq((int)json_array_size(layers), n);
    cr_assert_eq((int)json_array_size(table), rank);
    char what[600];
    for (int l = 0; l < n; l++) {
        const char *name = rlc_squeeze_layer_name(sq, l);
        const json_t *o = NULL;
        for (size_t i = 0; !o && i < json_array_size(layers); i++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(layers, i), "name")),
                        name))
                o = json_array_get(layers, i);
        cr_assert_not_null(o, "numpy has no layer %s", name);
        for (int i = 0; i < rank; i++) {
            snprintf(what, sizeof what, "%s s[%d]", name, i);
            expect_near(what, rlc_squeeze_singular_value(sq, l, i),
                        json_number_value(json_array_get(json_object_get(o, "singular_values"), i)),
                        tol);
            snprintf(what, sizeof what, "%s V(%d)", name, i + 1);
            expect_near(what, rlc_squeeze_variance(sq, l, i + 1),
                        json_number_value(json_array_get(json_object_get(o, "variance"), i)), tol);
        }
    }
    for (int k = 1; k <= rank; k++) {
        double mean, lo, hi;
        rlc_squeeze_variance_stats(sq, k, &mean, &lo, &hi);
        const json_t *row = json_array_get(table, (size_t)k - 1);
        snprintf(what, sizeof what, "mean V(%d)", k);
        expect_near(what, mean, jnum(row, "mean_variance"), tol);
        snprintf(what, sizeof what, "min V(%d)", k);
        expect_near(what, lo, jnum(row, "min_variance"), tol);
        snprintf(what, sizeof what, "max V(%d)", k);
        expect_near(what, hi, jnum(row, "max_variance"), tol);
    }
    return n;
}

/* numpy's smallest k whose mean V(k) >= retention. */
static int numpy_recommended(const json_t *r, double retention) {
    const json_t *table = json_object_get(r, "variance_table");
    for (size_t i = 0; i < json_array_size(table); i++)
        if (jnum(json_array_get(table, i), "mean_variance") >= retention) return (int)i + 1;
    return (int)json_array_size(table);
}

static void summarize(const rlc_squeeze *sq, double retention, int rank, double *m) {
    rlc_squeeze_params p = rlc_squeeze_default_params();
    p.retention = retention;
    p.rank = rank;
    cr_assert_eq(rlc_squeeze_summarize(sq, &p, m), RLC_OK, "%s", rlc_last_error());
}

/* Writes sq at rank k to tmpdir/NAME and returns numpy's check of it against
 * the source adapter SRC (the "squeezed" object of the reference). */
static json_t *write_and_check(const rlc_squeeze *sq, const char *src, int k, const char *name) {
    double m[RLC_SQUEEZE_METRIC_COUNT];
    summarize(sq, 0.95, k, m);
    char out[600];
    snprintf(out, sizeof out, "%s", tmp_path(name));
    cr_assert_eq(rlc_squeeze_write(sq, m, out), RLC_OK, "%s", rlc_last_error());
    json_t *r = numpy_ref(src, out);
    json_t *s = json_deep_copy(json_object_get(r, "squeezed"));
    json_decref(r);
    cr_assert_not_null(s);
    cr_expect_eq((int)jnum(s, "rank"), k);
    cr_log_info("rank %d of %s: max |dW' - dW| %.3g, max |dW' - numpy truncation| %.3g (max |dW| "
                "%.3g)",
                k, src, jnum(s, "max_abs_vs_dw"), jnum(s, "max_abs_vs_truncated"),
                jnum(s, "max_abs_dw"));
    return s;
}

Test(squeeze, random_adapter_matches_numpy, .timeout = SQUEEZE_TIMEOUT) {
    char ad[512];
    snprintf(ad, sizeof ad, "%s", tmp_path("random"));
    ref("make-adapter --out %s --seed 5 --rank 8 --targets " ALL_TARGETS " --alpha 16", ad);
    rlc_squeeze *sq;
    cr_assert_eq(rlc_squeeze_open(ad, &sq), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(rlc_squeeze_source_rank(sq), 8);
    json_t *r = numpy_ref(ad, NULL);
    cr_expect_eq(expect_matches_numpy(sq, r, 1e-5), 2 * 7);
    double m[RLC_SQUEEZE_METRIC_COUNT];
    for (int i = 0; i < 3; i++) {
        double retention = (double[]){0.5, 0.9, 0.95}[i];
        summarize(sq, retention, 0, m);
        cr_expect_eq((int)m[RLC_SQUEEZE_RECOMMENDED_RANK], numpy_recommended(r, retention),
                     "retention %g", retention);
        cr_expect_eq(m[RLC_SQUEEZE_RANK], m[RLC_SQUEEZE_RECOMMENDED_RANK]);
    }
    /* a full-rank random adapter needs most of its rank */
    cr_expect_gt(m[RLC_SQUEEZE_RECOMMENDED_RANK], 4);
    cr_expect_eq(m[RLC_SQUEEZE_SOURCE_RANK], 8);
    cr_expect_eq(m[RLC_SQUEEZE_NUM_LAYERS], 14);
    cr_expect_eq(m[RLC_SQUEEZE_MIN_VARIANCE_RETENTION], 0.95);
    json_decref(r);
    /* rank 3 of a full-rank adapter: numpy's truncated SVD, far from dW */
    json_t *s = write_and_check(sq, ad, 3, "random3");
    cr_expect_lt(jnum(s, "max_abs_vs_truncated"), 1e-5);
    cr_expect_gt(jnum(s, "max_abs_vs_dw"), 0.1 * jnum(s, "max_abs_dw"));
    expect_near("lora_alpha", jnum(s, "lora_alpha"), 16.0 * 3 / 8, 1e-12);
    json_decref(s);
    rlc_squeeze_free(sq);
}

Test(squeeze, low_rank_adapter_recommends_its_rank, .timeout = SQUEEZE_TIMEOUT) {
    const int true_rank[2] = {3, 1};
    for (int c = 0; c < 2; c++) {
        char ad[512];
        snprintf(ad, sizeof ad, "%s", tmp_path(c ? "rank1" : "rank3"));
        ref("make-adapter --out %s --seed %d --rank 8 --true-rank %d --targets " ALL_TARGETS
            " --alpha 16 --rslora 1",
            ad, 11 + c, true_rank[c]);
        rlc_squeeze *sq;
        cr_assert_eq(rlc_squeeze_open(ad, &sq), RLC_OK, "%s", rlc_last_error());
        json_t *r = numpy_ref(ad, NULL);
        expect_matches_numpy(sq, r, 1e-5);
        json_decref(r);
        double m[RLC_SQUEEZE_METRIC_COUNT];
        for (int i = 0; i < 3; i++) {
            double retention = (double[]){0.95, 0.999, 1.0}[i];
            summarize(sq, retention, 0, m);
            cr_expect_eq((int)m[RLC_SQUEEZE_RECOMMENDED_RANK], true_rank[c],
                         "true rank %d, retention %g: recommended %g", true_rank[c], retention,
                         m[RLC_SQUEEZE_RECOMMENDED_RANK]);
            expect_near("mean variance at the true rank", m[RLC_SQUEEZE_MEAN_VARIANCE], 1, 1e-9);
            expect_near("min variance at the true rank", m[RLC_SQUEEZE_MIN_VARIANCE], 1, 1e-9);
        }
        /* k >= t: the squeezed adapter's dW is the original's */
        for (int k = true_rank[c]; k <= 8; k += 2) {
            char name[32];
            snprintf(name, sizeof name, "sq%d_%d", c, k);
            json_t *s = write_and_check(sq, ad, k, name);
            cr_expect_lt(jnum(s, "max_abs_vs_dw"), 1e-5, "rank %d: max |dW' - dW| %g", k,
                         jnum(s, "max_abs_vs_dw"));
            /* rsLoRA: alpha' / sqrt(k) = alpha / sqrt(r) */
            expect_near("lora_alpha", jnum(s, "lora_alpha"), 16.0 * sqrt(k / 8.0), 1e-12);
            json_decref(s);
        }
        rlc_squeeze_free(sq);
    }
    /* k < t: numpy's truncation, not dW */
    char ad[512];
    snprintf(ad, sizeof ad, "%s", tmp_path("rank3"));
    rlc_squeeze *sq;
    cr_assert_eq(rlc_squeeze_open(ad, &sq), RLC_OK, "%s", rlc_last_error());
    json_t *s = write_and_check(sq, ad, 2, "sq2");
    cr_expect_lt(jnum(s, "max_abs_vs_truncated"), 1e-5);
    cr_expect_gt(jnum(s, "max_abs_vs_dw"), 0.05 * jnum(s, "max_abs_dw"));
    json_decref(s);
    rlc_squeeze_free(sq);
    /* the written config: the source's, with r and lora_alpha changed */
    char p[600];
    snprintf(p, sizeof p, "%s/adapter_config.json", tmp_path("sq2"));
    json_t *j = load_json(p);
    cr_expect_eq(json_integer_value(json_object_get(j, "r")), 2);
    cr_expect(json_is_true(json_object_get(j, "use_rslora")));
    cr_expect_str_eq(json_string_value(json_object_get(j, "base_model_name_or_path")),
                     "/models/base-of-the-test");
    json_t *meta = json_object_get(j, "rlc");
    cr_expect_eq(strlen(json_string_value(json_object_get(meta, "base_config_sha256"))), 64);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(meta, "squeeze"), "source_r")),
                 8);
    cr_expect_eq(json_array_size(json_object_get(j, "target_modules")), 7);
    json_decref(j);
    rlc_lora_config lc;
    cr_expect_eq(rlc_adapter_config_read(tmp_path("sq2"), &lc), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(lc.rank, 2);
    snprintf(p, sizeof p, "%s/squeeze.json", tmp_path("sq2"));
    j = load_json(p);
    cr_expect_eq(jnum(j, "squeeze/rank"), 2);
    cr_expect_eq(jnum(j, "squeeze/recommended_rank"), 3);
    json_decref(j);
}

Test(squeeze, zero_adapter_keeps_everything_at_rank_one, .timeout = SQUEEZE_TIMEOUT) {
    char base[512];
    snprintf(base, sizeof base, "%s", tmp_path("base"));
    th_make_byte_base(base, 10000.0f);
    rlc_model *m;
    cr_assert_eq(rlc_model_load(base, &m), RLC_OK, "%s", rlc_last_error());
    rlc_lora_config lc = rlc_lora_default_config();
    lc.rank = 4;
    cr_assert_eq(rlc_model_add_lora(m, &lc, 1), RLC_OK); /* B = 0: dW = 0 */
    cr_assert_eq(rlc_model_save_adapter(m, tmp_path("zero")), RLC_OK, "%s", rlc_last_error());
    rlc_model_free(m);
    rlc_squeeze *sq;
    cr_assert_eq(rlc_squeeze_open(tmp_path("zero"), &sq), RLC_OK, "%s", rlc_last_error());
    for (int l = 0; l < rlc_squeeze_num_layers(sq); l++)
        for (int k = 1; k <= 4; k++) {
            cr_expect_eq(rlc_squeeze_variance(sq, l, k), 1.0);
            cr_expect_eq(rlc_squeeze_singular_value(sq, l, k - 1), 0.0);
        }
    double mt[RLC_SQUEEZE_METRIC_COUNT];
    summarize(sq, 0.95, 0, mt);
    cr_expect_eq(mt[RLC_SQUEEZE_RECOMMENDED_RANK], 1);
    cr_expect_eq(mt[RLC_SQUEEZE_NUM_LAYERS], 4); /* q, k, v, o of one layer */
    cr_assert_eq(rlc_squeeze_write(sq, mt, tmp_path("zero1")), RLC_OK, "%s", rlc_last_error());
    rlc_squeeze_free(sq);
    cr_assert_eq(rlc_model_load(base, &m), RLC_OK);
    cr_expect_eq(rlc_model_load_adapter(m, tmp_path("zero1")), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(rlc_model_lora_config(m)->rank, 1);
    rlc_model_free(m);
}

/* Runs `rlc ARGS` with one thread; stdout and stderr together into out_text.
 * Returns the exit status. */
static char out_text[1 << 16];
static int rlc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rlc(const char *fmt, ...) {
    char args[4096], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s 2>&1", th_rlc_bin(), args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = fread(out_text, 1, sizeof out_text - 1, f);
    out_text[n] = 0;
    int st = pclose(f);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (rc) cr_log_info("rlc %s -> %d: %s", args, rc, out_text);
    return rc;
}

/* The JSON object that is rlc eval's output (its last line). */
static json_t *eval_json(const char *base, const char *adapter) {
    cr_assert_eq(rlc("eval --model %s --adapter %s --n 8 --max-new-tokens 4", base, adapter), 0,
                 "%s", out_text);
    char *last = strrchr(out_text, '{');
    cr_assert_not_null(last, "%s", out_text);
    json_t *j = json_loads(last, 0, NULL);
    cr_assert_not_null(j, "not JSON: %s", last);
    return j;
}

/* Every tensor of A/model.safetensors within atol of B's. */
static void expect_same_weights(const char *a, const char *b, double atol) {
    rlc_st_file *fa, *fb;
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    cr_assert_eq(rlc_st_open(pa, &fa), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_st_open(pb, &fb), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_st_count(fa), rlc_st_count(fb));
    for (int i = 0; i < rlc_st_count(fa); i++) {
        const rlc_st_tensor *ta = rlc_st_at(fa, i), *tb = rlc_st_find(fb, ta->name);
        cr_assert(tb && tb->numel == ta->numel && ta->dtype == RLC_DTYPE_F32 &&
                      tb->dtype == RLC_DTYPE_F32,
                  "%s", ta->name);
        th_expect_close(ta->name, tb->data, ta->data, ta->numel, atol, 0);
    }
    rlc_st_close(fa);
    rlc_st_close(fb);
}

Test(squeeze, real_lora_run_squeezed_and_evaluated, .timeout = SQUEEZE_TIMEOUT) {
    char base[512], final[512];
    snprintf(base, sizeof base, "%s", tmp_path("base"));
    snprintf(final, sizeof final, "%s", tmp_path("lora/final"));
    th_make_byte_base(base, 10000.0f);
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: %s}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"
             "       max_prompt_tokens: 16, eval_size: 8, seed: 7}\n"
             "lora: {enabled: true, rank: 4, alpha: 8, targets: [all-linear]}\n"
             "training: {steps: 4, batch_size: 4, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 5.0e-2}\n"
             "logging: {run_dir: %s, run_name: lora, tensorboard: false}\n"
             "checkpoint: {save_every: 0}\n",
             base, tmpdir);
    th_write_text(tmp_path("lora.yaml"), text);
    cr_assert_eq(rlc("sft %s", tmp_path("lora.yaml")), 0, "%s", out_text);

    /* the CLI: the table, the metrics, the report and the squeezed adapter */
    cr_assert_eq(rlc("squeeze %s --out %s --json %s", final, tmp_path("sq"), tmp_path("rep.json")),
                 0, "%s", out_text);
    cr_log_info("rlc squeeze:\n%s", out_text);
    static const char *const printed[] = {"mean",
                                          "min",
                                          "max",
                                          "<- recommended (mean >= 0.95)",
                                          "squeeze/recommended_rank",
                                          "squeeze/num_layers"};
    for (size_t i = 0; i < sizeof printed / sizeof printed[0]; i++)
        cr_expect(strstr(out_text, printed[i]), "'%s' not in: %s", printed[i], out_text);
    json_t *rep = load_json(tmp_path("rep.json"));
    for (int i = 0; i < RLC_SQUEEZE_METRIC_COUNT; i++)
        cr_expect(json_is_number(json_object_get(rep, rlc_squeeze_metric_defs[i].key)), "no %s",
                  rlc_squeeze_metric_defs[i].key);
    cr_expect_eq(jnum(rep, "squeeze/source_rank"), 4);
    cr_expect_eq(jnum(rep, "squeeze/num_layers"), 7);
    cr_expect_eq(json_array_size(json_object_get(rep, "variance_table")), 4);
    int rec = (int)jnum(rep, "squeeze/recommended_rank");
    char p[600];
    snprintf(p, sizeof p, "%s/squeeze.json", tmp_path("sq"));
    json_t *rep2 = load_json(p);
    cr_expect(json_equal(rep, rep2), "--json and --out's squeeze.json differ");
    json_decref(rep2);
    json_decref(rep);
    snprintf(p, sizeof p, "%s/%s", tmp_path("sq"), RLC_TOKENIZER_BYTE_FILE);
    cr_expect(rlc_file_exists(p), "the tokenizer file was not copied");
    rlc_lora_config lc;
    cr_assert_eq(rlc_adapter_config_read(tmp_path("sq"), &lc), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(lc.rank, rec);
    expect_near("lora_alpha", lc.alpha, 8.0 * rec / 4, 1e-6);

    /* numpy agrees on the real adapter too */
    rlc_squeeze *sq;
    cr_assert_eq(rlc_squeeze_open(final, &sq), RLC_OK, "%s", rlc_last_error());
    json_t *r = numpy_ref(final, tmp_path("sq"));
    expect_matches_numpy(sq, r, 1e-5);
    cr_expect_eq(rec, numpy_recommended(r, 0.95));
    rlc_squeeze_free(sq);
    json_t *s = json_object_get(r, "squeezed");
    cr_expect_lt(jnum(s, "max_abs_vs_truncated"), 1e-5);
    json_decref(r);

    /* rlc's own commands take it: the base is recognised by its hash */
    json_t *e = eval_json(base, tmp_path("sq"));
    json_decref(e);
    cr_expect_eq(rlc("generate --model %s --adapter %s --prompt 1+2= --max-new-tokens 2", base,
                     tmp_path("sq")),
                 0, "%s", out_text);
    cr_expect_eq(rlc("merge --base %s --adapter %s --out %s", base, tmp_path("sq"), tmp_path("m")),
                 0, "%s", out_text);
    cr_expect(!strstr(out_text, "note:"), "the base was not checked: %s", out_text);

    /* at k = r nothing is lost: merged weights and greedy evaluation as the original's */
    cr_assert_eq(rlc("squeeze %s --rank 4 --out %s", final, tmp_path("sq4")), 0, "%s", out_text);
    cr_assert_eq(rlc("merge --base %s --adapter %s --out %s", base, final, tmp_path("m_orig")), 0,
                 "%s", out_text);
    cr_assert_eq(
        rlc("merge --base %s --adapter %s --out %s", base, tmp_path("sq4"), tmp_path("m4")), 0,
        "%s", out_text);
    expect_same_weights(tmp_path("m_orig"), tmp_path("m4"), 1e-5);
    json_t *e0 = eval_json(base, final), *e4 = eval_json(base, tmp_path("sq4"));
    static const char *const same[] = {"accuracy", "mean_reward", "mean_completion_tokens"};
    for (int i = 0; i < 3; i++)
        cr_expect_eq(jnum(e0, same[i]), jnum(e4, same[i]), "%s: %g before, %g after", same[i],
                     jnum(e0, same[i]), jnum(e4, same[i]));
    json_decref(e0);
    json_decref(e4);
}

Test(squeeze, errors_are_named, .timeout = SQUEEZE_TIMEOUT) {
    char ad[512];
    snprintf(ad, sizeof ad, "%s", tmp_path("ad"));
    ref("make-adapter --out %s --seed 1 --rank 4", ad);
    cr_expect_eq(rlc("squeeze --help"), 0);
    cr_expect(strstr(out_text, "usage: rlc squeeze ADAPTER_DIR [--retention 0.95] [--rank K]"),
              "%s", out_text);
    cr_expect_eq(rlc("squeeze"), 2);
    cr_expect(strstr(out_text, "ADAPTER_DIR is required"), "%s", out_text);
    /* a missing folder, a model folder, an empty folder, weights missing */
    cr_expect_eq(rlc("squeeze %s", tmp_path("nope")), 1);
    cr_expect(strstr(out_text, "/nope: no such folder"), "%s", out_text);
    th_make_byte_base(tmp_path("base"), 10000.0f);
    cr_expect_eq(rlc("squeeze %s", tmp_path("base")), 1);
    cr_expect(strstr(out_text, "is not a LoRA adapter: no adapter_config.json (it holds a full "
                               "model: config.json)"),
              "%s", out_text);
    cr_assert_eq(rlc_mkdir_p(tmp_path("empty")), RLC_OK);
    cr_expect_eq(rlc("squeeze %s", tmp_path("empty")), 1);
    cr_expect(strstr(out_text, "is not a LoRA adapter"), "%s", out_text);
    char p[600];
    snprintf(p, sizeof p, "%s/adapter_config.json", tmp_path("empty"));
    th_write_text(p, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, "
                     "\"target_modules\": [\"q_proj\"]}");
    cr_expect_eq(rlc("squeeze %s", tmp_path("empty")), 1);
    cr_expect(strstr(out_text, "adapter_model.safetensors: missing"), "%s", out_text);
    /* options out of range */
    cr_expect_eq(rlc("squeeze %s --rank 5", ad), 2);
    cr_expect(strstr(out_text, "rank 5 is larger than the adapter's rank r = 4"), "%s", out_text);
    cr_expect_eq(rlc("squeeze %s --rank 0", ad), 2);
    cr_expect(strstr(out_text, "--rank 0: expected 1 or more"), "%s", out_text);
    cr_expect_eq(rlc("squeeze %s --retention 1.5", ad), 2);
    cr_expect(strstr(out_text, "--retention '1.5': expected a number in (0, 1]"), "%s", out_text);
    cr_expect_eq(rlc("squeeze %s --out %s", ad, ad), 2);
    cr_expect(strstr(out_text, "is the adapter's folder"), "%s", out_text);
    /* a non-finite weight */
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", tmp_path("nan"));
    cr_assert_eq(rlc_mkdir_p(tmp_path("nan")), RLC_OK);
    cr_assert_eq(rlc_copy_if_present(ad, tmp_path("nan"), "adapter_config.json"), RLC_OK);
    float a[4 * 64], b[64 * 4] = {0};
    for (int i = 0; i < 4 * 64; i++)
        a[i] = (float)i;
    a[7] = NAN;
    rlc_st_writer *w = rlc_st_writer_new();
    int64_t sa[2] = {4, 64}, sb[2] = {64, 4};
    cr_assert_eq(
        rlc_st_writer_add_f32(w, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                              RLC_DTYPE_F32, 2, sa, a),
        RLC_OK);
    cr_assert_eq(
        rlc_st_writer_add_f32(w, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                              RLC_DTYPE_F32, 2, sb, b),
        RLC_OK);
    cr_assert_eq(rlc_st_writer_write(w, p), RLC_OK);
    rlc_st_writer_free(w);
    cr_expect_eq(rlc("squeeze %s", tmp_path("nan")), 1);
    cr_expect(strstr(out_text, "q_proj.lora_A.weight' holds a non-finite value"), "%s", out_text);
}
