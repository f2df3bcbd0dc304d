/* Picks the next token from one row of logits. */
#ifndef RLC_MODEL_SAMPLER_H
#define RLC_MODEL_SAMPLER_H

#include <stdint.h>

typedef struct rlc_sampler_params {
    float temperature; /* 0 = greedy (argmax, lowest id on ties) */
    float top_p;       /* 1 = off */
    int top_k;         /* 0 = off */
    float min_p;       /* 0 = off */
} rlc_sampler_params;

rlc_sampler_params rlc_sampler_default_params(void); /* T=1, top_p=1, top_k=0, min_p=0 */

/* Samples a token from logits[V] with the uniform draw u in [0,1).
 * Filtering order: temperature, top-k, top-p, min-p (as Hugging Face's).
 * *logprob receives log softmax(logits / T) at the chosen token, over the full
 * vocabulary before filtering (T = 1 when greedy): the policy's log-probability
 * that training recomputes. work must hold 2*V floats/ints (no allocation). */
int rlc_sample(const float *logits, int V, const rlc_sampler_params *p, float u, void *work,
               float *logprob);
/* rlc_sample, and when entropy is not NULL the entropy (nats) of that same
 * distribution, softmax(logits / T) over the full vocabulary (T = 1 when
 * greedy): one more vectorised pass over the row, no exp. */
int rlc_sample_ex(const float *logits, int V, const rlc_sampler_params *p, float u, void *work,
                  float *logprob, float *entropy);

#endif
