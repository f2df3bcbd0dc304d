/* The names of the files that make a model directory usable besides its
 * weights: shared by the tokenizer (which reads them), the LoRA merge and the
 * run's model folders (which copy them). */
#ifndef RLC_BASE_HFFILES_H
#define RLC_BASE_HFFILES_H

/* The byte tokenizer's file: {"kind": "byte", "specials": ["<|bos|>", "<|eos|>"]}
 * (specials get ids 256, 257, ... in order). */
#define RLC_TOKENIZER_BYTE_FILE "rlc_tokenizer.json"

/* A Hugging Face tokenizer's files, NULL-terminated: what a model directory
 * carries besides config and weights so that it can be tokenized and chatted with. */
extern const char *const rlc_tokenizer_hf_files[];

#endif
