/* The GRPO policy loss: PPO-clip surrogate on token-level importance ratios,
 * an optional k3 KL penalty to a reference policy, and the three ways of
 * averaging over a padded grid of S sequences x Tc completion tokens. Pure
 * math on log-probabilities: it returns the loss and d loss / d logp, which
 * the trainer then backpropagates through the model. */
#ifndef RLC_RL_LOSS_H
#define RLC_RL_LOSS_H

#include "base/status.h"

/* Values are only ever appended to: they are written into run configs. */
typedef enum rlc_loss_agg {
    RLC_LOSS_TOKEN_MEAN = 0,         /* sum over all tokens / number of tokens */
    RLC_LOSS_SEQ_MEAN_TOKEN_MEAN,    /* mean over sequences of each one's token mean */
    RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM /* mean over sequences of token sum / max_tokens (Dr. GRPO) */
} rlc_loss_agg;

/* Where the importance ratio lives. Values are only ever appended to. */
typedef enum rlc_importance_level {
    RLC_IMPORTANCE_TOKEN = 0, /* one ratio per token (PPO, GRPO) */
    RLC_IMPORTANCE_SEQUENCE   /* one ratio per sequence (GSPO) */
} rlc_importance_level;

typedef struct rlc_grpo_loss_params {
    float epsilon;      /* ratio clipped below at 1 - epsilon */
    float epsilon_high; /* ratio clipped above at 1 + epsilon_high */
    float beta;         /* KL coefficient; 0: no KL term (ref_logp unused) */
    rlc_loss_agg agg;
    rlc_importance_level importance;
    int max_tokens; /* seq_mean_token_sum_norm: the constant divisor (max completion length) */
    /* Micro-batching: the full batch's normalizer, so that the losses and
     * gradients of micro-batches add up to the full batch's. token_mean: the
     * batch's number of completion tokens; both seq_mean modes: the batch's
     * number of sequences with at least one token. 0: count them in this call. */
    float normalizer;
} rlc_grpo_loss_params;

/* epsilon 0.2, epsilon_high 0.2, beta 0, token_mean, token-level ratios,
 * max_tokens 0, normalizer 0. */
rlc_grpo_loss_params rlc_grpo_loss_default_params(void);

/* Per-call statistics over the tokens with mask 1. To combine micro-batches,
 * weight each mean by its n_tokens. */
typedef struct rlc_grpo_stats {
    int n_tokens;     /* completion tokens in this call */
    int n_seqs;       /* sequences with at least one token */
    float kl_mean;    /* mean k3 KL; 0 when beta == 0 or no ref_logp */
    float ratio_mean; /* mean importance ratio */
    float clip_ratio; /* fraction of tokens where the clipped branch is active: */
    float clip_low;   /*   ratio < 1 - epsilon and A < 0 */
    float clip_high;  /*   ratio > 1 + epsilon_high and A > 0 */
} rlc_grpo_stats;

/* For every token (s, t) with mask[s,t] == 1, with A = adv[s]:
 *   ratio = exp(logp - old_logp)
 *   surr  = min(ratio * A, clamp(ratio, 1 - epsilon, 1 + epsilon_high) * A)
 *   d     = clamp(ref - logp, -20, 20)                   (verl's clamp: exp(d) stays finite)
 *   kl    = exp(d) - d - 1                               (k3; beta != 0 only)
 *   l     = -surr + beta * kl
 * and the loss is sum_{s,t} w[s,t] * l[s,t] with
 *   token_mean:              w = 1 / N_tok
 *   seq_mean_token_mean:     w = 1 / (n_tok[s] * N_seq)
 *   seq_mean_token_sum_norm: w = 1 / (max_tokens * N_seq)
 * where n_tok[s] is sequence s's token count, N_tok and N_seq this call's
 * token count and count of sequences with tokens, or p->normalizer if set.
 *
 * RLC_IMPORTANCE_SEQUENCE (GSPO, as verl's "gspo" policy loss computes it):
 * every token of sequence s takes the sequence's ratio
 *   ratio_s = exp(min(mean_t (logp - old_logp), 10))
 * (the mean over the sequence's tokens, clamped at 10 so exp stays finite)
 * in place of its own, and d ratio / d logp[s,t] = ratio_s for each token
 * (GSPO-token: log ratio_s,t = logp[s,t] - sg(logp[s,t]) + sg(log ratio_s)),
 * 0 where the clamp is active. The clip, the KL and the aggregation are as
 * above; with seq_mean_token_mean this is GSPO's sequence objective and its
 * gradient.
 *
 * Gradient (exact, matching PyTorch autograd): d surr / d logp = ratio * A
 * where the unclipped branch is the min, 0 where the clipped branch is
 * strictly smaller (the ratio is then outside the interval, where clamp's
 * gradient is 0). On a tie torch.min gives each branch half, and the clamp
 * passes the gradient at and inside its bounds, so the sum is ratio * A: rlc
 * takes the unclipped branch. d kl / d logp = 1 - exp(d) inside the clamp's
 * bounds (at them included), 0 outside (as torch.clamp's gradient).
 *
 * logp, old_logp, ref_logp, mask: [S, Tc] row-major; adv: [S]. mask entries
 * must be 0 or 1; values under mask 0 are never read. ref_logp may be NULL
 * only when beta == 0. Writes *loss, and dlogp[S, Tc] (overwritten, 0 under
 * mask 0) and *st when not NULL. A call with no tokens gives loss 0.
 * Returns RLC_ERR_INVALID with a message for bad parameters or a mask entry
 * other than 0 or 1. Internally double precision. */
rlc_status rlc_grpo_loss(const rlc_grpo_loss_params *p, const float *logp, const float *old_logp,
                         const float *ref_logp, const float *adv, const float *mask, int S, int Tc,
                         float *loss, float *dlogp, rlc_grpo_stats *st);

/* The same loss with one advantage per token: adv[S, Tc] (token (s, t) uses
 * adv[s*Tc + t]; values under mask 0 are never read), for the token-level
 * transforms of rl/transform.h. With every token of a sequence at adv[s] it
 * gives rlc_grpo_loss's bits. */
rlc_status rlc_grpo_loss_tokens(const rlc_grpo_loss_params *p, const float *logp,
                                const float *old_logp, const float *ref_logp, const float *adv,
                                const float *mask, int S, int Tc, float *loss, float *dlogp,
                                rlc_grpo_stats *st);

/* Config names: "token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm". */
const char *rlc_loss_agg_name(rlc_loss_agg agg); /* "?" if out of range */
rlc_status rlc_loss_agg_parse(const char *name, rlc_loss_agg *out);

#endif
