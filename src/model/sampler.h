/* Picks the next token from one row of logits. */
#ifndef RLC_MODEL_SAMPLER_H
#define RLC_MODEL_SAMPLER_H

#include <stdint.h>

typedef struct rlc_sampler_params {
    float temperature; /* 0 = greedy (argmax, lowest id on ties) */
    float top_p;       /* 1 = off */
    int top_k;         /* 0 = off */
    float min_p;       /* 0 = off */
    /* Ids that may be drawn (all by default): ids >= vocab_limit never are
     * (0 = no limit; a model's padding rows beyond its tokenizer), and with
     * allowed non-NULL (one byte per id below the limit, or below V without
     * one) only ids whose byte is non-zero (gaps in a tokenizer's ids). A
     * filter like top-k: applied before top-k/top-p/min-p, which then see the
     * allowed ids only; greedy takes the argmax over them. A mask that allows
     * no id is ignored. */
    int vocab_limit;
    const unsigned char *allowed;
} rlc_sampler_params;

/* T=1, top_p=1, top_k=0, min_p=0, every id allowed */
rlc_sampler_params rlc_sampler_default_params(void);

/* Samples a token from logits[V] with the uniform draw u in [0,1).
 * Filtering order: the allowed ids, temperature, top-k, top-p, min-p (as Hugging
 * Face's). *logprob receives log softmax(logits / T) at the chosen token, over
 * the full vocabulary before filtering (T = 1 when greedy), masked ids included:
 * the policy's log-probability that training recomputes. work must hold 2*V
 * floats/ints (no allocation). */
int rlc_sample(const float *logits, int V, const rlc_sampler_params *p, float u, void *work,
               float *logprob);
/* rlc_sample, and when entropy is not NULL the entropy (nats) of that same
 * distribution, softmax(logits / T) over the full vocabulary (T = 1 when
 * greedy): one more vectorised pass over the row, no exp. */
int rlc_sample_ex(const float *logits, int V, const rlc_sampler_params *p, float u, void *work,
                  float *logprob, float *entropy);

#endif
