/* rlc merge: a PEFT adapter folded into its base model. The model and adapter
 * come from the PyTorch reference (tests/ref/llama_ref.py make-case), which
 * also gives the base+LoRA logits in float64. Checked: the merged model's
 * logits equal base+adapter's through rlc (1e-5) and PyTorch's; every merged
 * weight equals W + scale * B @ A computed by PyTorch, every other tensor is
 * copied bit for bit; a BF16 base stays BF16; a sharded base stays sharded;
 * wrong adapters fail naming the tensor or field; the CLI. */
#include "helpers.h"

#include "base/fs.h"
#include "model/merge.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct mcase {
    char dir[256];
    rlc_st_file *ref;
    int B, T;
    const int *ids, *targets;
} mcase;

static const char *at(const mcase *c, const char *sub) {
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", c->dir, sub);
    return b;
}

static void make_case(mcase *c, const char *args) {
    th_tmpdir(c->dir, sizeof c->dir);
    cr_assert(c->dir[0], "mkdtemp failed");
    char full[1024];
    snprintf(full, sizeof full, "make-case --out %s --greedy-tokens 0 %s", c->dir, args);
    int rc = th_python("llama_ref.py", full);
    cr_assert_eq(rc, 0, "PyTorch reference failed (rc %d): llama_ref.py %s", rc, full);
    cr_assert_eq(rlc_st_open(at(c, "case.safetensors"), &c->ref), RLC_OK, "%s", rlc_last_error());
    const rlc_st_tensor *ids = rlc_st_find(c->ref, "input_ids");
    const rlc_st_tensor *tg = rlc_st_find(c->ref, "targets");
    cr_assert(ids && tg && ids->dtype == RLC_DTYPE_I32 && ids->ndim == 2);
    c->B = (int)ids->shape[0];
    c->T = (int)ids->shape[1];
    c->ids = ids->data;
    c->targets = tg->data;
}

static void free_case(mcase *c) {
    rlc_st_close(c->ref);
    th_rmdir(c->dir);
}

/* Logits [B*T*V] of model DIR (with ADAPTER when non-NULL) on the case's batch, malloc'd. */
static float *logits_of(const mcase *c, const char *dir, const char *adapter, size_t *n) {
    rlc_model *m;
    cr_assert_eq(rlc_model_load(dir, &m), RLC_OK, "%s", rlc_last_error());
    if (adapter) cr_assert_eq(rlc_model_load_adapter(m, adapter), RLC_OK, "%s", rlc_last_error());
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new(m, c->B, c->T, &a), RLC_OK);
    float loss;
    cr_assert_eq(rlc_model_ce_step(m, a, c->ids, c->targets, c->B, c->T, 0, &loss), RLC_OK, "%s",
                 rlc_last_error());
    *n = (size_t)c->B * c->T * rlc_model_cfg(m)->vocab_size;
    float *out = malloc(*n * sizeof *out);
    cr_assert_not_null(out);
    memcpy(out, rlc_acts_logits(a), *n * sizeof *out);
    rlc_acts_free(a);
    rlc_model_free(m);
    return out;
}

static void expect_close(const char *what, const float *got, const float *want, size_t n,
                         double atol, double rtol) {
    th_cmp r = th_compare(got, want, n, atol, rtol);
    cr_log_info("%s: max abs diff %.3g over %zu values", what, r.max_abs, n);
    cr_expect_eq(r.bad, 0, "%s: %zu of %zu off (max abs %.3g at %zu: %.8g vs %.8g)", what, r.bad, n,
                 r.max_abs, r.worst, got[r.worst], want[r.worst]);
}

/* PyTorch's view of a merge: for every tensor of BASE/model.safetensors, the
 * merged one in OUT must be W + scale * B @ A (adapted weights, computed in
 * float64 from the stored values, then rounded to W's dtype) or equal bit for
 * bit. Writes {"merged": n, "copied": n, "max_abs": x, "max_ulp": u,
 * "off_by_one": n, "dtypes": [...]} to argv[2]. */
static const char *const torch_check =
    "import json, math, sys, torch\n"
    "sys.path.insert(0, 'tests/ref')\n"
    "from llama_ref import st_load\n"
    "base, adapter, out, res = sys.argv[1].split(',') + [sys.argv[2]]\n"
    "W = st_load(base + '/model.safetensors')\n"
    "M = st_load(out + '/model.safetensors')\n"
    "L = st_load(adapter + '/adapter_model.safetensors')\n"
    "cfg = json.load(open(adapter + '/adapter_config.json'))\n"
    "r, alpha = cfg['r'], cfg['lora_alpha']\n"
    "scale = alpha / math.sqrt(r) if cfg.get('use_rslora') else alpha / r\n"
    "s = dict(merged=0, copied=0, max_abs=0.0, max_ulp=0, off_by_one=0, dtypes=[])\n"
    "assert sorted(W) == sorted(M), 'tensor names differ'\n"
    "for name, w in W.items():\n"
    "    m = M[name]\n"
    "    s['dtypes'].append(str(m.dtype))\n"
    "    assert m.dtype == w.dtype and m.shape == w.shape, name\n"
    "    a = L.get('base_model.model.' + name[:-len('.weight')] + '.lora_A.weight')\n"
    "    if a is None:\n"
    "        assert torch.equal(m.view(torch.uint8) if m.dtype == torch.bfloat16 else m,\n"
    "                           w.view(torch.uint8) if w.dtype == torch.bfloat16 else w), name\n"
    "        s['copied'] += 1\n"
    "        continue\n"
    "    b = L['base_model.model.' + name[:-len('.weight')] + '.lora_B.weight']\n"
    "    want = w.double() + scale * (b.double() @ a.double())\n"
    "    s['max_abs'] = max(s['max_abs'], (m.double() - want).abs().max().item())\n"
    "    if w.dtype == torch.bfloat16:\n"
    "        wb = want.float().to(torch.bfloat16).view(torch.int16).int()\n"
    "        ulp = (m.view(torch.int16).int() - wb).abs()\n"
    "        s['max_ulp'] = max(s['max_ulp'], ulp.max().item())\n"
    "        s['off_by_one'] += int((ulp > 0).sum().item())\n"
    "    s['merged'] += 1\n"
    "json.dump(s, open(res, 'w'))\n";

static json_t *run_torch_check(const mcase *c, const char *base, const char *out) {
    char in[1024];
    snprintf(in, sizeof in, "%s,%s,%s", at(c, base), at(c, "adapter"), at(c, out));
    const char *res = at(c, "torch_check.json");
    int rc = th_python_script(torch_check, in, res);
    cr_assert_eq(rc, 0, "PyTorch merge check failed (rc %d)", rc);
    json_error_t e;
    json_t *j = json_load_file(res, 0, &e);
    cr_assert_not_null(j, "%s: %s", res, e.text);
    json_t *brief = json_deep_copy(j);
    json_object_del(brief, "dtypes");
    char *text = json_dumps(brief, JSON_COMPACT | JSON_SORT_KEYS);
    cr_log_info("PyTorch check of %s: %s", out, text);
    free(text);
    json_decref(brief);
    return j;
}

static int jint(const json_t *j, const char *k) {
    return (int)json_integer_value(json_object_get(j, k));
}

Test(merge, f32_logits_match_adapter_and_pytorch, .timeout = 120) {
    mcase c;
    make_case(&c, "--arch qwen2 --seed 21 --lora-rank 4 --lora-alpha 8 --rslora 1 "
                  "--lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj");
    rlc_merge_info info;
    cr_assert_eq(rlc_model_merge_lora(at(&c, "model"), at(&c, "adapter"), at(&c, "merged"), &info),
                 RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(info.merged, 2 * 7); /* 2 layers x 7 modules */
    cr_assert_eq(info.rank, 4);
    cr_assert_float_eq(info.scale, 8.0f / 2.0f, 1e-7); /* rsLoRA: alpha / sqrt(r) */
    cr_assert_eq(info.dtype, RLC_DTYPE_F32);
    cr_assert_eq(info.shards, 1);
    size_t n, n2;
    float *merged = logits_of(&c, at(&c, "merged"), NULL, &n);
    float *runtime = logits_of(&c, at(&c, "model"), at(&c, "adapter"), &n2);
    cr_assert_eq(n, n2);
    expect_close("merged vs base+adapter (rlc)", merged, runtime, n, 1e-5, 0);
    const rlc_st_tensor *ref = rlc_st_find(c.ref, "logits");
    cr_assert(ref && ref->numel == n);
    expect_close("merged vs PyTorch base+LoRA", merged, ref->data, n, 1e-5, 1e-4);
    /* and it is not the base model's output */
    float *plain = logits_of(&c, at(&c, "model"), NULL, &n2);
    th_cmp d = th_compare(plain, runtime, n, 1e-3, 0);
    cr_assert_gt(d.bad, n / 10, "the adapter barely changes the logits: a weak test");
    json_t *j = run_torch_check(&c, "model", "merged");
    cr_expect_eq(jint(j, "merged"), 14);
    cr_expect_eq(jint(j, "copied"), info.copied);
    double max_abs = json_number_value(json_object_get(j, "max_abs"));
    cr_expect_lt(max_abs, 1e-6, "merged weights vs PyTorch W + scale*B@A: max abs %.3g", max_abs);
    cr_expect(rlc_file_exists(at(&c, "merged/config.json")));
    json_decref(j);
    free(merged);
    free(runtime);
    free(plain);
    free_case(&c);
}

Test(merge, bf16_base_stays_bf16, .timeout = 120) {
    mcase c;
    make_case(&c, "--arch llama --seed 22 --lora-rank 8 --lora-alpha 16 "
                  "--lora-targets q_proj,v_proj,up_proj");
    rlc_merge_info info;
    cr_assert_eq(
        rlc_model_merge_lora(at(&c, "model_bf16"), at(&c, "adapter"), at(&c, "merged"), &info),
        RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(info.merged, 2 * 3);
    cr_assert_eq(info.dtype, RLC_DTYPE_BF16);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(at(&c, "merged/model.safetensors"), &f), RLC_OK);
    for (int i = 0; i < rlc_st_count(f); i++)
        cr_expect_eq(rlc_st_at(f, i)->dtype, RLC_DTYPE_BF16, "%s", rlc_st_at(f, i)->name);
    rlc_st_close(f);
    /* config.json is the base's, torch_dtype included */
    char *a, *b;
    size_t na, nb;
    cr_assert_eq(rlc_read_file(at(&c, "model_bf16/config.json"), &a, &na), RLC_OK);
    cr_assert_eq(rlc_read_file(at(&c, "merged/config.json"), &b, &nb), RLC_OK);
    cr_expect(na == nb && !memcmp(a, b, na));
    cr_expect(strstr(b, "\"bfloat16\""), "%s", b);
    free(a);
    free(b);
    rlc_model *m;
    cr_assert_eq(rlc_model_load(at(&c, "merged"), &m), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(rlc_model_file_dtype(m), RLC_DTYPE_BF16);
    rlc_model_free(m);
    /* PyTorch: merged = bf16(W + scale B A), rounded once; a sum that lands
     * within float rounding of a tie may round the other way (<= 1 ulp). */
    json_t *j = run_torch_check(&c, "model_bf16", "merged");
    cr_expect_eq(jint(j, "merged"), 6);
    cr_expect_leq(jint(j, "max_ulp"), 1);
    size_t adapted = 0;
    for (int l = 0; l < 2; l++)
        adapted += 64 * 64 + 32 * 64 + 96 * 64; /* q [64, 64], v [32, 64], up [96, 64] */
    cr_expect_lt(jint(j, "off_by_one"), (int)(adapted / 1000), "%d of %zu values 1 ulp off",
                 jint(j, "off_by_one"), adapted);
    json_t *dts = json_object_get(j, "dtypes");
    for (size_t i = 0; i < json_array_size(dts); i++)
        cr_expect_str_eq(json_string_value(json_array_get(dts, i)), "torch.bfloat16");
    json_decref(j);
    free_case(&c);
}

/* Splits DIR/model.safetensors into two shards plus an index, in SHARDED. */
static void write_sharded(const char *dir, const char *sharded) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rlc_st_file *f;
    cr_assert_eq(rlc_st_open(path, &f), RLC_OK);
    cr_assert_eq(rlc_mkdir_p(sharded), RLC_OK);
    static const char *const shard[2] = {"model-00001-of-00002.safetensors",
                                         "model-00002-of-00002.safetensors"};
    rlc_st_writer *w[2] = {rlc_st_writer_new(), rlc_st_writer_new()};
    json_t *map = json_object();
    int n = rlc_st_count(f);
    for (int i = 0; i < n; i++) {
        const rlc_st_tensor *t = rlc_st_at(f, i);
        int s = i >= n / 2;
        cr_assert_eq(rlc_st_writer_add_raw(w[s], t->name, t->dtype, t->ndim, t->shape, t->data),
                     RLC_OK);
        json_object_set_new(map, t->name, json_string(shard[s]));
    }
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s", sharded, shard[s]);
        cr_assert_eq(rlc_st_writer_write(w[s], path), RLC_OK);
        rlc_st_writer_free(w[s]);
    }
    json_t *idx = json_object();
    json_object_set_new(idx, "metadata", json_object());
    json_object_set_new(idx, "weight_map", map);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", sharded);
    cr_assert_eq(json_dump_file(idx, path, JSON_INDENT(1)), 0);
    json_decref(idx);
    rlc_st_close(f);
    char src[1024], dst[1024];
    snprintf(src, sizeof src, "%s/config.json", dir);
    snprintf(dst, sizeof dst, "%s/config.json", sharded);
    char *cfg;
    size_t len;
    cr_assert_eq(rlc_read_file(src, &cfg, &len), RLC_OK);
    cr_assert_eq(rlc_write_file_atomic(dst, cfg, len), RLC_OK);
    free(cfg);
}

Test(merge, sharded_base_stays_sharded, .timeout = 120) {
    mcase c;
    make_case(&c, "--arch qwen3 --seed 23 --head-dim 24 --lora-rank 2 --lora-alpha 4 "
                  "--lora-targets o_proj,down_proj");
    write_sharded(at(&c, "model"), at(&c, "sharded"));
    /* a tokenizer and generation config travel along */
    cr_assert_eq(rlc_write_file_atomic(at(&c, "sharded/tokenizer.json"), "{\"t\": 1}", 8), RLC_OK);
    cr_assert_eq(rlc_write_file_atomic(at(&c, "sharded/generation_config.json"), "{}", 2), RLC_OK);
    rlc_merge_info info;
    cr_assert_eq(
        rlc_model_merge_lora(at(&c, "sharded"), at(&c, "adapter"), at(&c, "out_sh"), &info), RLC_OK,
        "%s", rlc_last_error());
    cr_assert_eq(info.shards, 2);
    cr_assert_eq(info.merged, 4);
    cr_assert_eq(rlc_model_merge_lora(at(&c, "model"), at(&c, "adapter"), at(&c, "out_one"), NULL),
                 RLC_OK, "%s", rlc_last_error());
    cr_expect(rlc_file_exists(at(&c, "out_sh/model-00001-of-00002.safetensors")));
    cr_expect(rlc_file_exists(at(&c, "out_sh/model-00002-of-00002.safetensors")));
    cr_expect(rlc_file_exists(at(&c, "out_sh/model.safetensors.index.json")));
    cr_expect(!rlc_file_exists(at(&c, "out_sh/model.safetensors")));
    cr_expect(rlc_file_exists(at(&c, "out_sh/tokenizer.json")));
    cr_expect(rlc_file_exists(at(&c, "out_sh/generation_config.json")));
    cr_expect(!rlc_file_exists(at(&c, "out_one/tokenizer.json")));
    /* the same weights either way */
    rlc_model *x, *y;
    cr_assert_eq(rlc_model_load(at(&c, "out_sh"), &x), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_load(at(&c, "out_one"), &y), RLC_OK, "%s", rlc_last_error());
    for (int i = 0;; i++) {
        const char *name = rlc_model_param_name(x, 0, i);
        if (!name) break;
        size_t nx, ny;
        const float *px = rlc_model_param(x, name, &nx), *py = rlc_model_param(y, name, &ny);
        cr_assert(py && nx == ny && !memcmp(px, py, nx * sizeof *px), "%s differs", name);
    }
    rlc_model_free(x);
    rlc_model_free(y);
    free_case(&c);
}

/* An adapter made by rlc for a model of config `cfg`, saved in DIR. */
static void save_adapter_for(const rlc_model_config *cfg, const char *dir) {
    rlc_model *m;
    cr_assert_eq(rlc_model_create(cfg, 1, &m), RLC_OK, "%s", rlc_last_error());
    rlc_lora_config lc = rlc_lora_default_config();
    lc.rank = 2;
    cr_assert_eq(rlc_model_add_lora(m, &lc, 2), RLC_OK);
    cr_assert_eq(rlc_model_save_adapter(m, dir), RLC_OK, "%s", rlc_last_error());
    rlc_model_free(m);
}

/* Sets KEY of DIR/adapter_config.json to V (stolen). */
static void edit_adapter_config(const char *dir, const char *key, json_t *v) {
    char path[600];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    json_object_set_new(j, key, v);
    cr_assert_eq(json_dump_file(j, path, JSON_INDENT(2)), 0);
    json_decref(j);
}

static void expect_merge_error(const char *base, const char *adapter, const char *out,
                               rlc_status want, const char *msg) {
    rlc_status st = rlc_model_merge_lora(base, adapter, out, NULL);
    cr_expect_eq(st, want, "status %d, want %d: %s", st, want, rlc_last_error());
    cr_expect(strstr(rlc_last_error(), msg), "expected '%s' in: %s", msg, rlc_last_error());
}

/* No .timeout on these: Criterion 2.4's runner (the parent process, not the
 * test) now and then leaks 48 bytes at exit when short tests that have one
 * end while others run, and the ASan run counts that as a leak. */
Test(merge, wrong_adapters_are_named) {
    char dir[256], p[4][512];
    th_tmpdir(dir, sizeof dir);
    for (int i = 0; i < 4; i++)
        snprintf(p[i], sizeof p[i], "%s/%s", dir, (const char *[]){"base", "ad", "out", "bad"}[i]);
    rlc_model_config cfg = rlc_config_default();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&cfg, 1, &m), RLC_OK);
    cr_assert_eq(rlc_model_save(m, p[0], RLC_DTYPE_F32), RLC_OK);
    rlc_model_free(m);
    /* an adapter for a model with another hidden size */
    rlc_model_config other = cfg;
    other.hidden_size *= 2;
    other.head_dim *= 2;
    save_adapter_for(&other, p[1]);
    expect_merge_error(p[0], p[1], p[2], RLC_ERR_INVALID,
                       "'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' is");
    cr_expect(strstr(rlc_last_error(), "base 'model.layers.0.self_attn.q_proj.weight' is"), "%s",
              rlc_last_error());
    /* an adapter whose config says another rank than its tensors */
    save_adapter_for(&cfg, p[3]);
    edit_adapter_config(p[3], "r", json_integer(3));
    expect_merge_error(p[0], p[3], p[2], RLC_ERR_INVALID, "with r = 3");
    /* DoRA is refused, naming the field */
    edit_adapter_config(p[3], "r", json_integer(2));
    edit_adapter_config(p[3], "use_dora", json_true());
    expect_merge_error(p[0], p[3], p[2], RLC_ERR_UNSUPPORTED, "field 'use_dora' is set");
    /* a tensor that is not a LoRA pair member */
    save_adapter_for(&cfg, p[3]);
    char path[600];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", p[3]);
    rlc_st_writer *w = rlc_st_writer_new();
    float one = 1;
    int64_t shape[1] = {1};
    cr_assert_eq(rlc_st_writer_add_f32(w, "base_model.model.lm_head.lora_embedding_A",
                                       RLC_DTYPE_F32, 1, shape, &one),
                 RLC_OK);
    cr_assert_eq(rlc_st_writer_write(w, path), RLC_OK);
    rlc_st_writer_free(w);
    expect_merge_error(p[0], p[3], p[2], RLC_ERR_UNSUPPORTED,
                       "tensor 'base_model.model.lm_head.lora_embedding_A' is not a LoRA weight");
    /* the output may not be the base */
    save_adapter_for(&cfg, p[3]);
    expect_merge_error(p[0], p[3], p[0], RLC_ERR_INVALID, "is the --base directory");
    th_rmdir(dir);
}

/* Runs `rlc merge ARGS`; returns the exit status, output in out[cap]. */
static int rlc_merge_cli(const char *args, char *out, size_t cap) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s merge %s 2>&1", bin, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(merge, cli) {
    char dir[256], args[1024], out[4096];
    th_tmpdir(dir, sizeof dir);
    rlc_model_config cfg = rlc_config_default();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&cfg, 1, &m), RLC_OK);
    snprintf(args, sizeof args, "%s/base", dir);
    cr_assert_eq(rlc_model_save(m, args, RLC_DTYPE_BF16), RLC_OK);
    rlc_model_free(m);
    snprintf(args, sizeof args, "%s/ad", dir);
    save_adapter_for(&cfg, args);
    snprintf(args, sizeof args, "--base %s/base --adapter %s/ad --out %s/out", dir, dir, dir);
    int rc = rlc_merge_cli(args, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "merged 8 weights (r 2, scale 16)"), "%s", out);
    cr_expect(strstr(out, "BF16"), "%s", out);
    snprintf(args, sizeof args, "%s/out/model.safetensors", dir);
    cr_expect(rlc_file_exists(args));
    rc = rlc_merge_cli("--help", out, sizeof out);
    cr_expect_eq(rc, 0);
    cr_expect(strstr(out, "usage: rlc merge --base DIR --adapter DIR --out DIR"), "%s", out);
    snprintf(args, sizeof args, "--base %s/base --adapter %s/ad", dir, dir);
    rc = rlc_merge_cli(args, out, sizeof out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "--out DIR are all required"), "%s", out);
    snprintf(args, sizeof args, "--base %s/ad --adapter %s/ad --out %s/o2", dir, dir, dir);
    rc = rlc_merge_cli(args, out, sizeof out);
    cr_expect_eq(rc, 1, "%s", out);
    cr_expect(strstr(out, "/ad: no config.json"), "%s", out);
    th_rmdir(dir);
}
