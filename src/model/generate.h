/* Batched sampling with a KV cache: n prompts of different lengths, G samples
 * each, per-token log-probabilities and why each sequence stopped. */
#ifndef RLC_MODEL_GENERATE_H
#define RLC_MODEL_GENERATE_H

#include "model/model.h"
#include "model/sampler.h"

/* Only appended to. */
typedef enum rlc_finish_reason {
    RLC_FINISH_LENGTH = 0, /* max_new_tokens reached */
    RLC_FINISH_EOS,        /* an end-of-sequence id from the model config */
    RLC_FINISH_STOP,       /* a stop id or stop callback */
} rlc_finish_reason;

const char *rlc_finish_reason_str(rlc_finish_reason r); /* "length", "eos", "stop" */

typedef struct rlc_gen_params {
    int max_new_tokens;
    int num_samples; /* G samples per prompt */
    rlc_sampler_params sampler;
    uint64_t seed; /* draws are keyed by (seed, prompt key, sample index, position) */
    /* Optional [n_prompts] keys naming each prompt for the random draws (e.g. its
     * index in the data set), so samples do not depend on batch order; NULL
     * uses the prompt's index in this call. */
    const uint64_t *prompt_keys;
    int use_eos; /* stop at the config's eos ids (default 1) */
    const int *stop_ids;
    int num_stop_ids;
    /* Optional: called after each new token of sequence `seq` with its generated
     * ids so far; non-zero stops it (stop strings live here). */
    int (*stop_fn)(void *ud, int seq, const int *ids, int n);
    void *stop_ud;
    int want_entropy; /* fill rlc_gen_out.entropy (default 0: left NULL) */
    /* Optional: called with every generated token as soon as it is drawn (its
     * stop token included), from the calling thread, in position order for each
     * sequence: streaming output. */
    void (*token_fn)(void *ud, int seq, int tok);
    void *token_ud;
} rlc_gen_params;

rlc_gen_params rlc_gen_default_params(void); /* 64 tokens, 1 sample, T=1, eos on */

typedef struct rlc_gen_out {
    int num_seqs; /* n_prompts * num_samples; sequence s = prompt s / G, sample s % G */
    int max_new;
    int *ids;                  /* [num_seqs, max_new] generated ids */
    float *logprobs;           /* [num_seqs, max_new] */
    int *len;                  /* [num_seqs] generated count (the stop token included) */
    rlc_finish_reason *finish; /* [num_seqs] */
    /* [num_seqs, max_new] with want_entropy, else NULL: entropy (nats) of the
     * distribution each token was drawn from, softmax(logits / T) over the
     * full vocabulary before top-k/top-p/min-p (T = 1 when greedy) */
    float *entropy;
    /* wall seconds: the prompts' forward passes (and their first logits), and
     * the rest (drawing every token, the decode steps' forward passes) */
    double prefill_s, decode_s;
} rlc_gen_out;

void rlc_gen_out_free(rlc_gen_out *o);

/* A reusable generator: KV cache and buffers for up to max_seqs sequences of
 * max_len tokens (prompt + generated), allocated once. The KV cache is BF16
 * when the model's weights are held BF16 (rlc_model_base_bf16; half the
 * memory of F32): decode steps then attend to keys and values rounded to
 * BF16 (a prompt's own prefill attention uses them unrounded), so their
 * log-probs differ from a forward pass by that rounding; else F32. */
typedef struct rlc_generator rlc_generator;
rlc_status rlc_generator_new(rlc_model *m, int max_seqs, int max_len, rlc_generator **out);
/* rlc_generator_new with the KV cache in kv (RLC_DTYPE_F32 or RLC_DTYPE_BF16). */
rlc_status rlc_generator_new_kv(rlc_model *m, int max_seqs, int max_len, rlc_dtype kv,
                                rlc_generator **out);
void rlc_generator_free(rlc_generator *g); /* NULL is a no-op */
size_t rlc_generator_bytes(const rlc_generator *g);

/* Generates for prompts[i][0..prompt_lens[i]) and fills out (allocated here;
 * release with rlc_gen_out_free). */
rlc_status rlc_generator_run(rlc_generator *g, const int *const *prompts, const int *prompt_lens,
                             int n_prompts, const rlc_gen_params *p, rlc_gen_out *out);

/* One-shot: builds a generator sized for the call, runs it, frees it. */
rlc_status rlc_generate(rlc_model *m, const int *const *prompts, const int *prompt_lens,
                        int n_prompts, const rlc_gen_params *p, rlc_gen_out *out);

#endif
