/* A Llama-family causal LM (Llama, Qwen2, Qwen3): parameters in one
 * allocation, an optional LoRA adapter in another, forward and hand-written
 * backward over a batch of sequences, and loading/saving in Hugging Face layout. */
#ifndef RLC_MODEL_MODEL_H
#define RLC_MODEL_MODEL_H

#include "base/dtype.h"
#include "base/status.h"
#include "model/config.h"
#include "tensor/backend.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rlc_model rlc_model;

/* LoRA target modules (bit flags; only appended to). */
enum {
    RLC_LORA_Q = 1 << 0,
    RLC_LORA_K = 1 << 1,
    RLC_LORA_V = 1 << 2,
    RLC_LORA_O = 1 << 3,
    RLC_LORA_GATE = 1 << 4,
    RLC_LORA_UP = 1 << 5,
    RLC_LORA_DOWN = 1 << 6,
    RLC_LORA_ALL = 0x7f,
};

typedef struct rlc_lora_config {
    int rank;
    float alpha;
    int use_rslora;   /* scaling alpha/sqrt(r) instead of alpha/r */
    unsigned targets; /* RLC_LORA_* bits */
} rlc_lora_config;

rlc_lora_config rlc_lora_default_config(void); /* r 16, alpha 32, q,k,v,o */
/* Parses "q_proj,v_proj" (or "all-linear") into RLC_LORA_* bits. */
rlc_status rlc_lora_parse_targets(const char *list, unsigned *targets);
/* RLC_LORA_* bits as "q_proj, v_proj" into buf[cap] (truncated); returns buf. */
const char *rlc_lora_targets_str(unsigned targets, char *buf, size_t cap);

/* A fresh model with seeded random weights (std 0.02, norms 1). */
rlc_status rlc_model_create(const rlc_model_config *cfg, uint64_t seed, rlc_model **out);
/* Loads DIR/config.json and its safetensors (single file or sharded). When
 * every weight matrix in the file is BF16, the matrices stay BF16 in the
 * file's read-only mapping (made F32 only if the base is trained or handed
 * out as F32); 1-D tensors and any other file are read into F32. */
rlc_status rlc_model_load(const char *dir, rlc_model **out);
/* rlc_model_load that reads every tensor into F32 (the BF16 file upcast):
 * a reference for tests and comparisons. */
rlc_status rlc_model_load_f32(const char *dir, rlc_model **out);
/* 1 while the base weight matrices are held BF16 (see rlc_model_load). */
int rlc_model_base_bf16(const rlc_model *m);
/* Writes DIR/config.json and DIR/model.safetensors with weights in dtype
 * (BF16 matrices held BF16 are written as they are). */
rlc_status rlc_model_save(const rlc_model *m, const char *dir, rlc_dtype dtype);
void rlc_model_free(rlc_model *m); /* NULL is a no-op */
/* A frozen copy of the base weights (no adapter, no gradients): the reference
 * policy for a KL term under full fine-tuning. BF16 matrices are shared with
 * m (the same mapping), not copied. */
rlc_status rlc_model_clone_base(const rlc_model *m, rlc_model **out);

const rlc_model_config *rlc_model_cfg(const rlc_model *m);
size_t rlc_model_num_params(const rlc_model *m);    /* base weights (tied counted once) */
rlc_dtype rlc_model_file_dtype(const rlc_model *m); /* dtype of the loaded file (F32 if created) */
void rlc_model_set_backend(rlc_model *m, const rlc_backend *be);
const rlc_backend *rlc_model_backend(const rlc_model *m);

/* Attaches a LoRA adapter (A ~ kaiming-uniform like PEFT, B = 0), freezing the base. */
rlc_status rlc_model_add_lora(rlc_model *m, const rlc_lora_config *lc, uint64_t seed);
/* Loads a PEFT adapter directory (adapter_config.json + adapter_model.safetensors).
 * When the model was loaded from a directory, an adapter whose recorded base
 * hash differs from that config.json's is refused (see rlc_adapter_check_base). */
rlc_status rlc_model_load_adapter(rlc_model *m, const char *dir);
/* DIR/adapter_config.json's r, lora_alpha, use_rslora and target_modules
 * (PEFT); an adapter using a feature rlc does not implement is refused. */
rlc_status rlc_adapter_config_read(const char *dir, rlc_lora_config *lc);
/* The adapter's shape and scaling, or NULL when the model has none. */
const rlc_lora_config *rlc_model_lora_config(const rlc_model *m);
/* Reads the trained weights back into this model from a directory written by
 * rlc_model_save (base weights) or rlc_model_save_adapter (LoRA weights, when
 * the model has an adapter of the same shape): resuming from a checkpoint. */
rlc_status rlc_model_reload_trainable(rlc_model *m, const char *dir);
/* Whether ADAPTER_DIR was trained on the model in BASE_DIR: its
 * adapter_config.json's rlc.base_config_sha256 against the SHA-256 of
 * BASE_DIR/config.json. A mismatch is RLC_ERR_INVALID naming both bases and
 * hashes. An adapter that records no hash (a PEFT adapter from elsewhere)
 * passes, and note (cap > 0; may be NULL) then says that it was not checked;
 * note is "" otherwise. */
rlc_status rlc_adapter_check_base(const char *adapter_dir, const char *base_dir, char *note,
                                  size_t cap);
/* Writes the adapter in PEFT layout. adapter_config.json names the base:
 * base_model_name_or_path is the directory the model was loaded from, and
 * "rlc": {"format": 1, "base_config_sha256": hex SHA-256 of that directory's
 * config.json bytes (as `sha256sum` prints it)}; a created model has "" and no hash. */
rlc_status rlc_model_save_adapter(const rlc_model *m, const char *dir);
/* 0 turns LoRA off for subsequent passes (the reference policy), 1 back on. */
void rlc_model_set_lora_enabled(rlc_model *m, int on);
int rlc_model_has_lora(const rlc_model *m);

/* The parameters being trained (LoRA weights if an adapter is attached,
 * otherwise every base weight, made F32 first if held BF16) and their
 * gradients: flat, n floats each. Gradients are allocated on first call. */
rlc_status rlc_model_trainable(rlc_model *m, float **params, float **grads, size_t *n);
void rlc_model_zero_grad(rlc_model *m);

/* Named view of one tensor (HF or PEFT name) in the parameter or gradient
 * buffer; NULL if there is no such tensor (or no gradient for it).
 * rlc_model_param of a base matrix held BF16 makes the whole base F32 first
 * (NULL when out of memory). */
float *rlc_model_param(rlc_model *m, const char *name, size_t *numel);
float *rlc_model_grad(rlc_model *m, const char *name, size_t *numel);
/* Iterates tensor names: i from 0 until it returns NULL. lora=1 for adapter tensors. */
const char *rlc_model_param_name(const rlc_model *m, int lora, int i);

/* ---- training passes ---- */

/* Rows of logits the LM head computes at once (training passes): the head
 * holds a [chunk, V] buffer, never the [B*T, V] logits of a micro-batch. */
#define RLC_LOGIT_CHUNK_DEFAULT 256

/* Activation memory for batches up to B sequences of T tokens; the LM head
 * works on `chunk` rows at a time (0: RLC_LOGIT_CHUNK_DEFAULT; capped at B*T).
 * The chunk changes only the order of the lm_head gradient's sums, so results
 * agree with any other chunk to rounding, and are the same run to run. */
typedef struct rlc_acts rlc_acts;
rlc_status rlc_acts_new_chunk(const rlc_model *m, int B, int T, int chunk, rlc_acts **out);
/* rlc_acts_new_chunk with the default chunk. */
rlc_status rlc_acts_new(const rlc_model *m, int B, int T, rlc_acts **out);
void rlc_acts_free(rlc_acts *a); /* NULL is a no-op */
/* Bytes of the workspace (float arena and index arrays), as planned by
 * rlc_acts_plan_bytes. */
size_t rlc_acts_bytes(const rlc_acts *a);
/* The workspace rlc_acts_new_chunk would allocate for config c with a LoRA
 * adapter of rank lora_rank (0: none), without a model or any allocation.
 * Attention's scratch in it (2 * RLC_ATTN_BLOCK * T floats per thread) is
 * sized for the OpenMP thread count at the time of the call. */
rlc_status rlc_acts_plan_bytes(const rlc_model_config *c, int lora_rank, int B, int T, int chunk,
                               size_t *bytes);
/* The chunk in use (rows). */
int rlc_acts_logit_chunk(const rlc_acts *a);

/* Workspace options. checkpoint: keep only the residual entering each layer
 * (and the attention scratch); the backward recomputes each layer's forward
 * before its backward, with the same kernels on the same inputs, so logp and
 * every gradient are the same as without it (the model, its LoRA switch
 * included, must not change between the forward and its backward). */
typedef struct rlc_acts_opts {
    int chunk;      /* LM-head rows at once (0: RLC_LOGIT_CHUNK_DEFAULT) */
    int checkpoint; /* activation checkpointing: 0 off, 1 on */
} rlc_acts_opts;
rlc_status rlc_acts_new_opts(const rlc_model *m, int B, int T, const rlc_acts_opts *o,
                             rlc_acts **out);
/* rlc_acts_plan_bytes with options; the attention scratch in it is sized for
 * the OpenMP thread count at the time of the call. */
rlc_status rlc_acts_plan_opts(const rlc_model_config *c, int lora_rank, int B, int T,
                              const rlc_acts_opts *o, size_t *bytes);
/* 1 when the workspace recomputes layers in the backward (checkpointing). */
int rlc_acts_checkpointing(const rlc_acts *a);

/* Forward over ids[B,T] (right-padded sequences, positions 0..T-1). For each
 * token, logp[B*T] (may be NULL) receives log p(target | prefix), 0 where
 * target < 0. Only rows with a target get logits (chunk by chunk); the
 * workspace keeps their logsumexp, and the backward recomputes the logits. */
rlc_status rlc_model_forward(rlc_model *m, rlc_acts *a, const int *ids, const int *targets, int B,
                             int T, float *logp);
/* Logits [B*T, V] of the last forward (every row), already divided by the
 * temperature, computed on this call into a buffer owned by a (allocated on
 * the first call: B*T*V floats). For tests and inspection; training never
 * calls it. NULL before any forward or when out of memory. */
const float *rlc_acts_logits(rlc_acts *a);
/* Sampling temperature T that the policy's log-probabilities use:
 * logp = log_softmax(logits / T), matching what the sampler reports (default 1). */
rlc_status rlc_acts_set_temperature(rlc_acts *a, float T);
/* Per-token entropy [B*T] (nats) of the last forward's distribution, every
 * row, computed chunk by chunk from the kept final hidden states. */
void rlc_acts_entropy(rlc_acts *a, float *entropy);
/* Backward of sum_i dlogp[i] * logp[i] after forward: ADDS into the trainable
 * gradients. */
rlc_status rlc_model_backward(rlc_model *m, rlc_acts *a, const float *dlogp);

/* Mean cross-entropy over targets >= 0 (forward only, or forward+backward when
 * backward != 0). Returns the loss in *loss. */
rlc_status rlc_model_ce_step(rlc_model *m, rlc_acts *a, const int *ids, const int *targets, int B,
                             int T, int backward, float *loss);

#endif
