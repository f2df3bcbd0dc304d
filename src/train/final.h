/* A run's model folders: what final/ and each checkpoint hold so that rlc
 * generate, eval, merge and the next training stage use them on their own
 * (weights or adapter, config, generation config, tokenizer), and final/
 * published atomically, like a checkpoint. */
#ifndef RLC_TRAIN_FINAL_H
#define RLC_TRAIN_FINAL_H

#include "train/policy.h"
#include "train/runconfig.h"

#include <stddef.h>

/* Writes into dir (an existing folder; files only, no subfolders):
 *   - under LoRA: adapter_model.safetensors and adapter_config.json (PEFT);
 *   - otherwise: config.json and model.safetensors with weights in `weights`
 *     (checkpoints: F32, the exact master weights a resume reads back; final/:
 *     the base file's dtype when it is BF16, else F32; see rlc_final_dtype),
 *     and model.path's generation_config.json when it has one;
 *   - the tokenizer: rlc_tokenizer.json for the byte tokenizer, else the
 *     Hugging Face tokenizer files (rlc_tokenizer_hf_files) present where the
 *     policy's tokenizer came from: tokenizer.path (a tokenizer.json file, copied
 *     as tokenizer.json, and the files beside it, or a directory), else model.path.
 * Every file is written to a temporary name, fsynced and renamed. */
rlc_status rlc_model_dir_save(const rlc_run_config *c, const rlc_policy *pol, const char *dir,
                              rlc_dtype weights);
/* The dtype final/ holds full fine-tuned weights in: BF16 when the base model
 * file was BF16 (like the base), else F32. */
rlc_dtype rlc_final_dtype(const rlc_policy *pol);

/* Writes RUN_DIR/final/ with rlc_model_dir_save, atomically: the folder is
 * built as RUN_DIR/.final.tmp/final/, every file and the folder fsynced, then
 * renamed into place; an existing final/ is swapped out (renameat2
 * RENAME_EXCHANGE, or renamed aside to .final.tmp/old where the file system
 * has no exchange) and removed. A crash at any instant leaves either no final/
 * or a complete one (the old or the new). trainer_state (may be NULL) becomes
 * final/trainer_state.json inside the same atomic publish, so a final/ that
 * exists says which step the finished run reached. The path of final/ goes to
 * path[cap] (may be NULL). */
rlc_status rlc_save_final(const rlc_run_config *c, const rlc_policy *pol, const char *run_dir,
                          const char *trainer_state, char *path, size_t cap);

/* lora.init_adapter: the weights of that PEFT adapter folder (e.g. a LoRA
 * run's final/) into the policy's fresh adapter. Refused (RLC_ERR_INVALID,
 * naming each field as the adapter and the config have it) unless its rank,
 * alpha, rslora and targets equal the run's lora.*, and when it records its
 * base, unless that is model.path (config.json SHA-256; an adapter from
 * elsewhere that records none is loaded with a logged note). A tensor of the
 * wrong shape or a missing one is an error naming it. */
rlc_status rlc_model_dir_load_init_adapter(const rlc_run_config *c, rlc_policy *pol);

/* Removes RUN_DIR/.final.tmp, what a crash while final/ was written leaves. */
rlc_status rlc_final_remove_leftovers(const char *run_dir);

#endif
