/* Internals shared by model.c (parameters, files), model_train.c (forward and
 * backward) and generate.c (KV-cache decoding). Not a public header. */
#ifndef RLC_MODEL_INTERNAL_H
#define RLC_MODEL_INTERNAL_H

#include "model/model.h"
#include "model/safetensors.h"

#include <stddef.h>

/* The seven linear maps of a block, in HF order. */
enum { MOD_Q, MOD_K, MOD_V, MOD_O, MOD_GATE, MOD_UP, MOD_DOWN, NMOD };

typedef struct tensor_desc {
    char name[128];
    int ndim;
    int64_t shape[2];
    size_t off;     /* in floats, into the owning buffer (the whole layout) */
    size_t vec_off; /* 1-D base tensors: offset in the compact buffer (see below) */
    size_t numel;
} tensor_desc;

/* Weight storage. The base layout (desc[].off, n_params floats, in HF
 * order) is what the gradient buffer and the trainable view always use. The
 * parameter buffer holds either
 *   - the whole layout in F32 (store == NULL): created models, F32/F16 files,
 *     and any model whose base was materialized (model_materialize), or
 *   - only the 1-D tensors (norms, biases), F32, packed in n_vec floats at
 *     desc[].vec_off (store != NULL): a model loaded from a file whose
 *     matrices are all BF16. Each matrix is then BF16 at mats[i].bf16
 *     (pointing into the file's read-only mapping, or into store->copies
 *     when its data was not 2-byte aligned), reached only through
 *     model_wmat with its layout offset (wte, lm_head, layer_off.w).
 * The 1-D offsets that MP/MG take (layer_off ln1, ln2, qn, kn, b; lnf) follow
 * the buffer: vec_off while store != NULL, the layout offset otherwise
 * (gradients of the base exist only then). */
typedef struct model_mat {
    ptrdiff_t off; /* the matrix's offset in the layout */
    const uint16_t *bf16;
} model_mat;

/* The memory BF16 matrices point into, shared by a model and its clones
 * (rlc_model_clone_base); the last model freed releases it. Not thread-safe:
 * clone and free models of one store on one thread. */
typedef struct model_bf16_store {
    int refs;
    rlc_st_file *file; /* the mmapped safetensors */
    uint16_t *copies;  /* BF16 copies of tensors whose file data was unaligned */
} model_bf16_store;

/* Offsets (in floats) of one block's tensors; -1 when absent. */
typedef struct layer_off {
    ptrdiff_t ln1, ln2, qn, kn;
    ptrdiff_t w[NMOD], b[NMOD];
    ptrdiff_t la[NMOD], lb[NMOD]; /* LoRA A [r,in] and B [out,r], in the lora buffer */
} layer_off;

struct rlc_model {
    rlc_model_config cfg;
    const rlc_backend *be;
    rlc_dtype file_dtype;
    char *src_dir;          /* the directory given to rlc_model_load (NULL if created) */
    char config_sha256[65]; /* of src_dir/config.json as loaded ("" if created) */

    float *params; /* one allocation: the whole layout, or the 1-D tensors (see above) */
    float *grads;  /* whole layout; allocated when the base is trained */
    size_t n_params;
    size_t n_vec;            /* floats of the compact 1-D buffer (BF16-held model) */
    model_bf16_store *store; /* NULL while every matrix is F32 in params */
    model_mat *mats;         /* [n_mats] sorted by off; only with store */
    int n_mats;
    tensor_desc *desc;
    int n_desc;
    ptrdiff_t wte, lnf, lm_head; /* lm_head == wte when tied */
    layer_off *layers;

    /* RoPE tables [rope_T, D/2] */
    float *inv_freq;
    float *rope_cos, *rope_sin;
    int rope_T;

    /* RLC_LINEAR_SCRATCH floats for the products of linear/linear_dx;
     * shared by every pass over this model */
    float *lin_scratch;

    /* LoRA */
    int has_lora, lora_on;
    rlc_lora_config lc;
    float lora_scale;
    float *lora_params, *lora_grads; /* one allocation each */
    size_t n_lora;
    tensor_desc *lora_desc;
    int n_lora_desc;
};

/* in and out features of module `mod`. */
void model_mod_dims(const rlc_model_config *c, int mod, int *in, int *out);
/* "self_attn.q_proj", ... */
const char *model_mod_name(int mod);
/* Reads DIR/adapter_config.json (PEFT): r, lora_alpha, use_rslora,
 * target_modules. Features rlc does not implement (DoRA, per-module rank or
 * alpha patterns, fan_in_fan_out, LoRA biases, modules_to_save) are refused. */
rlc_status model_adapter_config_load(const char *dir, rlc_lora_config *lc);
/* Checks adapter_dir's recorded base (adapter_config.json's rlc.base_config_sha256)
 * against a base whose config.json hashes to base_sha256; base_label names it
 * in messages. See rlc_adapter_check_base. */
rlc_status model_adapter_check(const char *adapter_dir, const char *base_label,
                               const char *base_sha256, char *note, size_t cap);
/* One adapted weight of a PEFT adapter file: the base tensor's name
 * ("model.layers.0.self_attn.q_proj.weight") and its lora_A [r, in] and
 * lora_B [out, r] (pointing into the open file). */
typedef struct model_lora_pair {
    char base[512];
    const rlc_st_tensor *a, *b;
} model_lora_pair;
/* Groups every tensor of the adapter file ad (ad_path names it in messages)
 * into pairs, in the file's order of first appearance. Refused, naming the
 * tensor: a name that is not base_model.model.<module>.lora_A.weight or
 * .lora_B.weight, a half pair, shapes other than A [rank, in], B [out, rank]
 * (the message says "with r = <rank>"), a file without LoRA tensors. *out is
 * malloc'd (the caller frees it) and valid while ad is open. */
rlc_status model_lora_pairs(const rlc_st_file *ad, const char *ad_path, int rank,
                            model_lora_pair **out, int *n_out);
/* The pair of p[n] adapting base weight `base`, or NULL. */
const model_lora_pair *model_lora_pair_find(const model_lora_pair *p, int n, const char *base);
/* alpha/r, or alpha/sqrt(r) with rsLoRA. */
float model_lora_scale(const rlc_lora_config *lc);
/* Grows the RoPE tables to cover positions [0, T). Not for hot loops. */
rlc_status model_ensure_rope(rlc_model *m, int T);

/* y[N,out] (=, or += when accumulate) x[N,in] W^T + b + lora. ax[N,r] receives
 * x A^T when LoRA is active on this module (may be NULL otherwise). */
void model_linear_forward(const rlc_model *m, int layer, int mod, float *y, const float *x, int N,
                          int accumulate, float *ax);
/* model_linear_forward for n (<= NMOD) modules of one layer that read the
 * same x (Q/K/V, gate/up): the base products go to the backend as one fused
 * linear (x read once, one parallel region); then each module's bias and
 * LoRA. ys[j] and axs[j] belong to mods[j]. */
void model_linears_forward(const rlc_model *m, int layer, int n, const int *mods, float *const *ys,
                           const float *x, int N, int accumulate, float *const *axs);

/* The base weight matrix at tensor offset off (wte, lm_head or a module's
 * weight), as the kernels take it: BF16 while the model has a store, else F32. */
rlc_wmat model_wmat(const rlc_model *m, ptrdiff_t off);
/* Makes the parameter buffer hold the whole layout in F32 (each BF16 matrix
 * widened exactly) and drops the model's hold on its store; a no-op when it
 * already does. For training the base and for APIs that hand out F32 base
 * tensors. */
rlc_status model_materialize(rlc_model *m);

#define MP(m, off) ((off) >= 0 ? (m)->params + (off) : NULL)
#define MG(m, off) ((off) >= 0 && (m)->grads ? (m)->grads + (off) : NULL)
#define LP(m, off) ((off) >= 0 ? (m)->lora_params + (off) : NULL)
#define LG(m, off) ((off) >= 0 && (m)->lora_grads ? (m)->lora_grads + (off) : NULL)

static inline int model_lora_active(const rlc_model *m, int layer, int mod) {
    return m->has_lora && m->lora_on && m->layers[layer].la[mod] >= 0;
}

#endif
