/* LoRA merge: the base model is streamed file by file (one shard in memory at
 * a time, never the whole model in fp32), adding scale * B A into each weight
 * the adapter names and copying everything else bit for bit. */
#include "model/merge.h"

#include "base/checked.h"
#include "base/fs.h"
#include "base/hffiles.h"
#include "model/model_internal.h"
#include "model/safetensors.h"
#include "tensor/backend.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

/* Files copied unchanged when present: the shard index (same shards, same
 * names) and what besides the weights makes a model directory usable (with
 * the tokenizer's files, rlc_tokenizer_hf_files). */
static const char *const copied_files[] = {
    "model.safetensors.index.json",
    "config.json",
    "generation_config.json",
    RLC_TOKENIZER_BYTE_FILE,
};

/* Checks each adapter pair against its base weight: present, shapes that fit,
 * a dtype merging can write. */
static rlc_status check_pairs(const rlc_st_file *base, const char *ad_path,
                              const model_lora_pair *p, int np) {
    for (int i = 0; i < np; i++) {
        const model_lora_pair *q = &p[i];
        const rlc_st_tensor *w = rlc_st_find(base, q->base);
        if (!w)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s: '%s' adapts '%s', which the base model does not have (an "
                              "adapter for another model?)",
                              ad_path, q->a->name, q->base);
        if (w->ndim != 2 || q->a->shape[1] != w->shape[1] || q->b->shape[0] != w->shape[0])
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s: '%s' is [%lld, %lld] and lora_B [%lld, %lld], but base '%s' "
                              "is [%lld, %lld] (expected A [r, in], B [out, r]; an adapter for "
                              "another model?)",
                              ad_path, q->a->name, (long long)q->a->shape[0],
                              (long long)q->a->shape[1], (long long)q->b->shape[0],
                              (long long)q->b->shape[1], q->base, (long long)w->shape[0],
                              (long long)(w->ndim > 1 ? w->shape[1] : 0));
        if (w->dtype != RLC_DTYPE_F32 && w->dtype != RLC_DTYPE_F16 && w->dtype != RLC_DTYPE_BF16)
            return rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: '%s' is %s; merging needs F32, F16 or BF16",
                              rlc_st_path_of(base, w), q->base, rlc_dtype_name(w->dtype));
    }
    return RLC_OK;
}

/* W + scale * B A for pair q, in fp32, added to the writer in W's dtype. */
static rlc_status add_merged(rlc_st_writer *wr, const rlc_st_file *base, const rlc_st_file *ad,
                             const rlc_st_tensor *w, const model_lora_pair *q, float scale) {
    if (w->shape[0] > INT_MAX || w->shape[1] > INT_MAX || q->a->shape[0] > INT_MAX)
        return rlc_errorf(RLC_ERR_UNSUPPORTED, "merge: tensor '%s': a dimension exceeds %d",
                          w->name, INT_MAX);
    int out = (int)w->shape[0], in = (int)w->shape[1], r = (int)q->a->shape[0];
    size_t nw, na, nb;
    RLC_TRY(rlc_mul_size_what("merge: weight bytes", w->numel, sizeof(float), &nw));
    RLC_TRY(rlc_mul_size_what("merge: lora_A bytes", q->a->numel, sizeof(float), &na));
    RLC_TRY(rlc_mul_size_what("merge: lora_B bytes", q->b->numel, sizeof(float), &nb));
    float *wf = rlc_malloc(nw), *a = rlc_malloc(na), *b = rlc_malloc(nb);
    rlc_status st = wf && a && b ? RLC_OK : RLC_ERR_NOMEM;
    if (st == RLC_OK) st = rlc_st_read_f32(base, w->name, 2, w->shape, wf);
    if (st == RLC_OK) st = rlc_st_read_f32(ad, q->a->name, 2, q->a->shape, a);
    if (st == RLC_OK) st = rlc_st_read_f32(ad, q->b->name, 2, q->b->shape, b);
    if (st == RLC_OK) {
        /* wf[out, in] += scale * b[out, r] @ a[r, in] */
        rlc_backend_cpu()->matmul(0, 0, out, in, r, scale, b, r, a, in, 1.0f, wf, in);
        st = rlc_st_writer_add_f32(wr, w->name, w->dtype, 2, w->shape, wf);
    }
    free(wf);
    free(a);
    free(b);
    return st;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Writes the tensors [from, to) of base (one file of it) to out_dir. */
static rlc_status write_file(const rlc_st_file *base, const rlc_st_file *ad, int from, int to,
                             const model_lora_pair *p, int np, float scale, const char *out_dir,
                             rlc_merge_info *info) {
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, out_dir,
                          base_name(rlc_st_path_of(base, rlc_st_at(base, from)))));
    rlc_st_writer *wr = rlc_st_writer_new();
    if (!wr) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    for (int i = from; st == RLC_OK && i < to; i++) {
        const rlc_st_tensor *t = rlc_st_at(base, i);
        const model_lora_pair *q = model_lora_pair_find(p, np, t->name);
        if (q) {
            st = add_merged(wr, base, ad, t, q, scale);
            if (info->merged++ == 0) info->dtype = t->dtype;
        } else {
            st = rlc_st_writer_add_raw(wr, t->name, t->dtype, t->ndim, t->shape, t->data);
            info->copied++;
        }
    }
    if (st == RLC_OK) st = rlc_st_writer_write(wr, path);
    rlc_st_writer_free(wr);
    info->shards++;
    return st;
}

/* out_dir must not be (a link to) base_dir or adapter_dir: the merge reads them
 * while it writes. */
static rlc_status check_distinct(const char *out_dir, const char *dir, const char *what) {
    if (rlc_same_file(out_dir, dir))
        return rlc_errorf(RLC_ERR_INVALID, "--out %s is the %s directory; choose a new one",
                          out_dir, what);
    return RLC_OK;
}

rlc_status rlc_model_merge_lora(const char *base_dir, const char *adapter_dir, const char *out_dir,
                                rlc_merge_info *info) {
    rlc_merge_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    char path[PATH_CAP], ad_path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, base_dir, "config.json"));
    if (!rlc_file_exists(path))
        return rlc_errorf(RLC_ERR_NOT_FOUND,
                          "%s: no config.json (expected a Hugging Face model "
                          "directory)",
                          base_dir);
    rlc_lora_config lc;
    RLC_TRY(model_adapter_config_load(adapter_dir, &lc));
    RLC_TRY(rlc_adapter_check_base(adapter_dir, base_dir, info->note, sizeof info->note));
    info->rank = lc.rank;
    info->scale = model_lora_scale(&lc);
    RLC_TRY(rlc_path_join(ad_path, sizeof ad_path, adapter_dir, "adapter_model.safetensors"));
    rlc_st_file *base = NULL, *ad = NULL;
    model_lora_pair *p = NULL;
    int np = 0;
    rlc_status st = rlc_st_open_dir(base_dir, &base);
    if (st == RLC_OK) st = rlc_st_open(ad_path, &ad);
    if (st == RLC_OK) st = model_lora_pairs(ad, ad_path, lc.rank, &p, &np);
    if (st == RLC_OK) st = check_pairs(base, ad_path, p, np);
    if (st == RLC_OK) st = rlc_mkdir_p(out_dir);
    if (st == RLC_OK) st = check_distinct(out_dir, base_dir, "--base");
    if (st == RLC_OK) st = check_distinct(out_dir, adapter_dir, "--adapter");
    /* Tensors come shard by shard: each run of one file's tensors is one output file. */
    int n = base ? rlc_st_count(base) : 0;
    for (int from = 0; st == RLC_OK && from < n;) {
        const char *file = rlc_st_path_of(base, rlc_st_at(base, from));
        int to = from + 1;
        while (to < n && rlc_st_path_of(base, rlc_st_at(base, to)) == file)
            to++;
        st = write_file(base, ad, from, to, p, np, info->scale, out_dir, info);
        from = to;
    }
    if (st == RLC_OK && info->merged != np)
        st = rlc_errorf(RLC_ERR_INTERNAL, "%s: merged %d of %d adapted weights", out_dir,
                        info->merged, np);
    for (size_t i = 0; st == RLC_OK && i < sizeof copied_files / sizeof copied_files[0]; i++)
        st = rlc_copy_if_present(base_dir, out_dir, copied_files[i]);
    for (int i = 0; st == RLC_OK && rlc_tokenizer_hf_files[i]; i++)
        st = rlc_copy_if_present(base_dir, out_dir, rlc_tokenizer_hf_files[i]);
    free(p);
    rlc_st_close(ad);
    rlc_st_close(base);
    return st;
}
