/* Internals shared by model.c (parameters, files), model_train.c (forward and
 * backward) and generate.c (KV-cache decoding). Not a public header. */
#ifndef RLC_MODEL_INTERNAL_H
#define RLC_MODEL_INTERNAL_H

#include "model/model.h"

#include <stddef.h>

/* The seven linear maps of a block, in HF order. */
enum { MOD_Q, MOD_K, MOD_V, MOD_O, MOD_GATE, MOD_UP, MOD_DOWN, NMOD };

typedef struct tensor_desc {
    char name[128];
    int ndim;
    int64_t shape[2];
    size_t off; /* in floats, into the owning buffer */
    size_t numel;
} tensor_desc;

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

    float *params; /* one allocation: every base weight */
    float *grads;  /* same layout; allocated when the base is trained */
    size_t n_params;
    tensor_desc *desc;
    int n_desc;
    ptrdiff_t wte, lnf, lm_head; /* lm_head == wte when tied */
    layer_off *layers;

    /* RoPE tables [rope_T, D/2] */
    float *inv_freq;
    float *rope_cos, *rope_sin;
    int rope_T;

    /* RLC_LINEAR_SCRATCH floats for products with BF16 weights (NULL while
     * every weight is F32); shared by every pass over this model */
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
/* alpha/r, or alpha/sqrt(r) with rsLoRA. */
float model_lora_scale(const rlc_lora_config *lc);
/* Grows the RoPE tables to cover positions [0, T). Not for hot loops. */
rlc_status model_ensure_rope(rlc_model *m, int T);

/* y[N,out] (=, or += when accumulate) x[N,in] W^T + b + lora. ax[N,r] receives
 * x A^T when LoRA is active on this module (may be NULL otherwise). */
void model_linear_forward(const rlc_model *m, int layer, int mod, float *y, const float *x, int N,
                          int accumulate, float *ax);

/* The base weight matrix at tensor offset off (wte, lm_head or a module's
 * weight), as the kernels take it. */
rlc_wmat model_wmat(const rlc_model *m, ptrdiff_t off);

#define MP(m, off) ((off) >= 0 ? (m)->params + (off) : NULL)
#define MG(m, off) ((off) >= 0 && (m)->grads ? (m)->grads + (off) : NULL)
#define LP(m, off) ((off) >= 0 ? (m)->lora_params + (off) : NULL)
#define LG(m, off) ((off) >= 0 && (m)->lora_grads ? (m)->lora_grads + (off) : NULL)

static inline int model_lora_active(const rlc_model *m, int layer, int mod) {
    return m->has_lora && m->lora_on && m->layers[layer].la[mod] >= 0;
}

#endif
