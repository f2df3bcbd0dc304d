/* Folding a PEFT LoRA adapter into its base model: a plain Hugging Face model
 * directory that any loader reads without knowing about adapters. */
#ifndef RLC_MODEL_MERGE_H
#define RLC_MODEL_MERGE_H

#include "base/dtype.h"
#include "base/status.h"

typedef struct rlc_merge_info {
    int merged;      /* base weights changed (one per adapted module) */
    int copied;      /* tensors copied byte for byte */
    int shards;      /* safetensors files written */
    int rank;        /* r */
    float scale;     /* alpha/r or alpha/sqrt(r) */
    rlc_dtype dtype; /* of the first merged weight (the base's dtype is kept) */
    char note[640];  /* "" or why the adapter's base was not checked (rlc_adapter_check_base) */
} rlc_merge_info;

/* Writes OUT_DIR (created if needed; must not be BASE_DIR or ADAPTER_DIR):
 *   - every base tensor, in the same file layout (model.safetensors, or the same
 *     shards plus model.safetensors.index.json), in its own dtype: each weight
 *     W [out, in] with an adapter pair A [r, in], B [out, r] becomes
 *     W + scale * B A, computed in fp32 from the stored values and rounded once
 *     (to nearest even) back to W's dtype; all other tensors are copied bit for bit;
 *   - config.json, generation_config.json and the tokenizer files
 *     (tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.json,
 *     merges.txt, tokenizer.model, added_tokens.json, chat_template.jinja,
 *     rlc_tokenizer.json) copied where present.
 * An adapter trained on another base (rlc_adapter_check_base: its recorded
 * config.json hash differs from BASE_DIR's) is refused before anything is written.
 * ADAPTER_DIR holds adapter_config.json and adapter_model.safetensors with PEFT
 * names (base_model.model.<base name minus .weight>.lora_A.weight / lora_B.weight).
 * An adapter tensor that is not such a pair, or whose shapes do not fit its base
 * weight, is an error naming it; nothing is half-written under a final name
 * (each file is written to a temporary name and renamed). info may be NULL. */
rlc_status rlc_model_merge_lora(const char *base_dir, const char *adapter_dir, const char *out_dir,
                                rlc_merge_info *info);

#endif
