/* Model hyper-parameters, read from and written to Hugging Face config.json. */
#ifndef RLC_MODEL_CONFIG_H
#define RLC_MODEL_CONFIG_H

#include "base/status.h"

/* Only appended to. */
typedef enum rlc_arch {
    RLC_ARCH_LLAMA = 0, /* LlamaForCausalLM (also SmolLM) */
    RLC_ARCH_QWEN2,     /* Qwen2ForCausalLM: q/k/v bias */
    RLC_ARCH_QWEN3,     /* Qwen3ForCausalLM: per-head q_norm/k_norm before RoPE */
    RLC_ARCH_COUNT
} rlc_arch;

typedef enum rlc_rope_type { RLC_ROPE_DEFAULT = 0, RLC_ROPE_LLAMA3 } rlc_rope_type;

#define RLC_MAX_EOS 8

typedef struct rlc_model_config {
    rlc_arch arch;
    int vocab_size;
    int hidden_size;       /* C */
    int intermediate_size; /* F */
    int num_layers;        /* num_hidden_layers */
    int num_heads;         /* num_attention_heads (Hq) */
    int num_kv_heads;      /* num_key_value_heads (Hkv), defaults to num_heads */
    int head_dim;          /* D: "head_dim" if present, else hidden/heads */
    int max_position_embeddings;
    float rms_norm_eps;
    float rope_theta;
    int tie_word_embeddings;
    int qkv_bias; /* q/k/v projections have a bias (Qwen2; Llama attention_bias) */
    int o_bias;   /* o_proj has a bias (Llama attention_bias) */
    int mlp_bias; /* gate/up/down have a bias (Llama mlp_bias) */
    int qk_norm;  /* Qwen3 */
    rlc_rope_type rope_type;
    float rope_factor; /* llama3 rope_scaling */
    float rope_low_freq_factor;
    float rope_high_freq_factor;
    int rope_original_max_pos;
    int bos_token_id; /* -1 if none */
    int eos_token_ids[RLC_MAX_EOS];
    int num_eos;
    char torch_dtype[16]; /* as declared ("bfloat16", "float32", ...) or "" */
} rlc_model_config;

/* A small Llama-style default (for tests and from-scratch models). */
rlc_model_config rlc_config_default(void);

/* Reads config.json. Unknown architectures, missing or out-of-range fields give
 * one error line naming the file and the field. */
rlc_status rlc_config_load(const char *path, rlc_model_config *cfg);
/* Checks internal consistency (heads divide, sizes positive, ...). */
rlc_status rlc_config_validate(const rlc_model_config *cfg, const char *what);
/* Writes config.json in Hugging Face form for cfg->arch. */
rlc_status rlc_config_save(const rlc_model_config *cfg, const char *path);

const char *rlc_arch_name(rlc_arch a); /* "LlamaForCausalLM", ... */

/* RoPE inverse frequencies inv_freq[D/2], llama3 scaling applied when set. */
void rlc_config_rope_inv_freq(const rlc_model_config *cfg, float *inv_freq);

#endif
