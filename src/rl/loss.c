#include "rl/loss.h"

#include <math.h>
#include <string.h>

static const char *const agg_names[] = {"token_mean", "seq_mean_token_mean",
                                        "seq_mean_token_sum_norm"};
#define N_AGG ((int)(sizeof agg_names / sizeof agg_names[0]))
#define KL_LOG_RATIO_MAX 20.0
#define SEQ_LOG_RATIO_MAX 10.0 /* verl's clamp of the GSPO log-ratio */

rlc_grpo_loss_params rlc_grpo_loss_default_params(void) {
    rlc_grpo_loss_params p;
    memset(&p, 0, sizeof p);
    p.epsilon = 0.2f;
    p.epsilon_high = 0.2f;
    p.agg = RLC_LOSS_TOKEN_MEAN;
    return p;
}

static rlc_status check_params(const rlc_grpo_loss_params *p, const float *ref_logp, int S,
                               int Tc) {
    if (S < 0 || Tc < 0)
        return rlc_errorf(RLC_ERR_INVALID, "grpo loss: need S >= 0 and Tc >= 0, got %d, %d", S, Tc);
    if ((unsigned)p->agg >= (unsigned)N_AGG)
        return rlc_errorf(RLC_ERR_INVALID, "grpo loss: unknown loss aggregation %d", (int)p->agg);
    if (!(p->epsilon >= 0 && p->epsilon < 1))
        return rlc_errorf(RLC_ERR_INVALID, "grpo loss: epsilon %g, expected 0 <= epsilon < 1",
                          (double)p->epsilon);
    if (!(p->epsilon_high >= 0 && isfinite(p->epsilon_high)))
        return rlc_errorf(RLC_ERR_INVALID, "grpo loss: epsilon_high %g, expected >= 0",
                          (double)p->epsilon_high);
    if (!isfinite(p->beta))
        return rlc_errorf(RLC_ERR_INVALID, "grpo loss: beta %g, expected a finite number",
                          (double)p->beta);
    if (p->beta != 0 && !ref_logp)
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo loss: beta = %g needs reference log-probs, none given",
                          (double)p->beta);
    if (p->agg == RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM && p->max_tokens < 1)
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo loss: seq_mean_token_sum_norm needs max_tokens >= 1 (the maximum "
                          "completion length), got %d",
                          p->max_tokens);
    if ((unsigned)p->importance > (unsigned)RLC_IMPORTANCE_SEQUENCE)
        return rlc_errorf(RLC_ERR_INVALID, "grpo loss: unknown importance level %d",
                          (int)p->importance);
    if (!(p->normalizer >= 0 && isfinite(p->normalizer)))
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo loss: normalizer %g, expected >= 0 (0 = this call)",
                          (double)p->normalizer);
    return RLC_OK;
}

/* Tokens per sequence, and the mask check; returns the total. */
static rlc_status count_tokens(const float *mask, int S, int Tc, long *n_tok, int *n_seq) {
    *n_tok = 0;
    *n_seq = 0;
    for (int s = 0; s < S; s++) {
        int n = 0;
        for (int t = 0; t < Tc; t++) {
            float m = mask[(size_t)s * Tc + t];
            if (m != 0.0f && m != 1.0f)
                return rlc_errorf(RLC_ERR_INVALID, "grpo loss: mask[%d][%d] = %g, expected 0 or 1",
                                  s, t, (double)m);
            n += m == 1.0f;
        }
        *n_tok += n;
        *n_seq += n > 0;
    }
    return RLC_OK;
}

/* adv [S] or, with per_token, [S, Tc] */
static rlc_status grpo_loss(const rlc_grpo_loss_params *p, const float *logp, const float *old_logp,
                            const float *ref_logp, const float *adv, int per_token,
                            const float *mask, int S, int Tc, float *loss, float *dlogp,
                            rlc_grpo_stats *st) {
    RLC_TRY(check_params(p, ref_logp, S, Tc));
    long n_tok;
    int n_seq;
    RLC_TRY(count_tokens(mask, S, Tc, &n_tok, &n_seq));

    double norm = p->normalizer;
    if (norm == 0) norm = p->agg == RLC_LOSS_TOKEN_MEAN ? (double)n_tok : (double)n_seq;
    const double lo = 1.0 - (double)p->epsilon, hi = 1.0 + (double)p->epsilon_high;
    const double beta = p->beta;
    const int use_kl = beta != 0 && ref_logp;

    double total = 0, kl_sum = 0, ratio_sum = 0;
    long n_clip_lo = 0, n_clip_hi = 0;
    for (int s = 0; s < S; s++) {
        const size_t row = (size_t)s * Tc;
        int n_s = 0;
        for (int t = 0; t < Tc; t++)
            n_s += mask[row + t] == 1.0f;
        double w = 0; /* weight of each of this sequence's tokens in the loss */
        if (n_s > 0 && norm > 0) {
            if (p->agg == RLC_LOSS_TOKEN_MEAN)
                w = 1.0 / norm;
            else if (p->agg == RLC_LOSS_SEQ_MEAN_TOKEN_MEAN)
                w = 1.0 / (n_s * norm);
            else
                w = 1.0 / ((double)p->max_tokens * norm);
        }
        const double A_seq = n_s > 0 && !per_token ? adv[s] : 0.0;
        double seq_ratio = 0; /* sequence level: the ratio of every token */
        int seq_clamped = 0;
        if (p->importance == RLC_IMPORTANCE_SEQUENCE && n_s > 0) {
            double lr = 0;
            for (int t = 0; t < Tc; t++)
                if (mask[row + t] == 1.0f) lr += (double)logp[row + t] - (double)old_logp[row + t];
            lr /= n_s;
            seq_clamped = lr > SEQ_LOG_RATIO_MAX;
            seq_ratio = exp(seq_clamped ? SEQ_LOG_RATIO_MAX : lr);
        }
        for (int t = 0; t < Tc; t++) {
            const size_t i = row + t;
            if (mask[i] != 1.0f) {
                if (dlogp) dlogp[i] = 0.0f;
                continue;
            }
            const double ratio = p->importance == RLC_IMPORTANCE_SEQUENCE
                                     ? seq_ratio
                                     : exp((double)logp[i] - (double)old_logp[i]);
            const double clipped = ratio < lo ? lo : ratio > hi ? hi : ratio;
            const double A = per_token ? (double)adv[i] : A_seq;
            const double unclip_obj = ratio * A, clip_obj = clipped * A;
            double l, dl;
            if (clip_obj < unclip_obj) { /* clipped branch strictly smaller: no gradient */
                l = -clip_obj;
                dl = 0;
                if (ratio < lo)
                    n_clip_lo++;
                else
                    n_clip_hi++;
            } else {
                l = -unclip_obj;
                dl = seq_clamped ? 0.0 : -unclip_obj;
            }
            if (use_kl) {
                /* k3 estimator on a log-ratio clamped to [-20, 20] as verl does
                 * (kl_penalty "low_var_kl"), so exp cannot overflow; like
                 * torch.clamp, no gradient flows through a clamped value */
                const double d_raw = (double)ref_logp[i] - (double)logp[i];
                const int in_range = d_raw >= -KL_LOG_RATIO_MAX && d_raw <= KL_LOG_RATIO_MAX;
                const double d = in_range                    ? d_raw
                                 : d_raw > KL_LOG_RATIO_MAX  ? KL_LOG_RATIO_MAX
                                 : d_raw < -KL_LOG_RATIO_MAX ? -KL_LOG_RATIO_MAX
                                                             : d_raw; /* NaN stays NaN */
                const double e = exp(d);
                const double kl = e - d - 1.0;
                l += beta * kl;
                if (in_range) dl += beta * (1.0 - e);
                kl_sum += kl;
            }
            ratio_sum += ratio;
            total += w * l;
            if (dlogp) dlogp[i] = (float)(w * dl);
        }
    }
    *loss = (float)total;
    if (st) {
        const double inv = n_tok > 0 ? 1.0 / (double)n_tok : 0.0;
        st->n_tokens = (int)n_tok;
        st->n_seqs = n_seq;
        st->kl_mean = (float)(kl_sum * inv);
        st->ratio_mean = (float)(ratio_sum * inv);
        st->clip_low = (float)((double)n_clip_lo * inv);
        st->clip_high = (float)((double)n_clip_hi * inv);
        st->clip_ratio = (float)((double)(n_clip_lo + n_clip_hi) * inv);
    }
    return RLC_OK;
}

rlc_status rlc_grpo_loss(const rlc_grpo_loss_params *p, const float *logp, const float *old_logp,
                         const float *ref_logp, const float *adv, const float *mask, int S, int Tc,
                         float *loss, float *dlogp, rlc_grpo_stats *st) {
    return grpo_loss(p, logp, old_logp, ref_logp, adv, 0, mask, S, Tc, loss, dlogp, st);
}

rlc_status rlc_grpo_loss_tokens(const rlc_grpo_loss_params *p, const float *logp,
                                const float *old_logp, const float *ref_logp, const float *adv,
                                const float *mask, int S, int Tc, float *loss, float *dlogp,
                                rlc_grpo_stats *st) {
    return grpo_loss(p, logp, old_logp, ref_logp, adv, 1, mask, S, Tc, loss, dlogp, st);
}

const char *rlc_loss_agg_name(rlc_loss_agg agg) {
    return (unsigned)agg < (unsigned)N_AGG ? agg_names[agg] : "?";
}

rlc_status rlc_loss_agg_parse(const char *name, rlc_loss_agg *out) {
    for (int i = 0; name && i < N_AGG; i++)
        if (!strcmp(name, agg_names[i])) {
            *out = (rlc_loss_agg)i;
            return RLC_OK;
        }
    return rlc_errorf(RLC_ERR_INVALID,
                      "loss aggregation: got '%s', expected one of token_mean, "
                      "seq_mean_token_mean, seq_mean_token_sum_norm",
                      name ? name : "(null)");
}
