/* Token-level advantage transforms (seed 000's `advantage+transform`
 * conditions): a sequence's advantage A becomes one advantage per completion
 * token, shaped by the token's surprisal under the sampling policy (GTPO), by
 * whether it belongs to a planning phrase (HICRA), and with the surprisal of
 * execution tokens pooled toward their mean on a schedule (SEPA). */
#ifndef RLC_RL_TRANSFORM_H
#define RLC_RL_TRANSFORM_H

#include <stddef.h>

/* Values are only ever appended to: they are written into run configs. */
typedef enum rlc_transform {
    RLC_TRANSFORM_NONE = 0,   /* every token carries A */
    RLC_TRANSFORM_GTPO,       /* A * w(u) */
    RLC_TRANSFORM_HICRA,      /* A + alpha |A| on planning tokens */
    RLC_TRANSFORM_GTPO_HICRA, /* GTPO, then HICRA on its token advantages */
    RLC_TRANSFORM_GTPO_SEPA   /* SEPA pooling of the surprisals, then GTPO */
} rlc_transform;

/* Surprisal cap: u = min(-log p, RLC_SURPRISAL_MAX). */
#define RLC_SURPRISAL_MAX 50.0

/* A sampled token's surprisal: min(-logp, RLC_SURPRISAL_MAX). */
double rlc_transform_surprisal(float logp);

typedef struct rlc_transform_params {
    rlc_transform kind;
    float gtpo_beta;   /* GTPO: w = max(0, 1 + beta (u / mean_u - 1)) */
    float hicra_alpha; /* HICRA: a + alpha |a| on planning tokens */
} rlc_transform_params;

/* kind none, beta 0.1, alpha 0.2 (the seed's values). */
rlc_transform_params rlc_transform_default_params(void);

/* Whether kind reads the planning mask (hicra, gtpo_hicra, gtpo_sepa) / pools
 * surprisals with SEPA (gtpo_sepa). */
int rlc_transform_uses_planning(rlc_transform kind);
int rlc_transform_uses_sepa(rlc_transform kind);

/* The token advantages of one completion of L tokens, in double precision:
 *   u_t = min(-logp[t], 50), logp the sampling policy's log-probabilities;
 *   gtpo_sepa, lambda > 0, with execution tokens (plan[t] == 0): those
 *     u_t <- lambda * mean_exec(u) + (1 - lambda) * u_t (lambda clamped to [0, 1]);
 *   gtpo kinds: mean_u over the L tokens (after pooling); a_t = A * max(0, 1 +
 *     beta (u_t / mean_u - 1)), or A when mean_u <= 1e-8;
 *   other kinds: a_t = A;
 *   hicra kinds: a_t <- a_t + alpha |a_t| where plan[t] != 0.
 * plan may be NULL (no planning tokens). out[L]. Every mean is over this
 * completion's tokens (as the seed computes per sequence). */
void rlc_transform_tokens(const rlc_transform_params *p, float A, const float *logp,
                          const unsigned char *plan, int L, double lambda, float *out);

/* ---- SEPA's schedule ---- */

typedef enum rlc_sepa_schedule { RLC_SEPA_LINEAR = 0, RLC_SEPA_AUTO } rlc_sepa_schedule;

typedef struct rlc_sepa_params {
    rlc_sepa_schedule schedule;
    int steps;                /* linear ramp length; 0: no linear part */
    int delay_steps;          /* the ramp starts after this step */
    double correct_rate_gate; /* lambda is 0 until a batch's correct rate reaches this */
    double ema_decay;         /* auto: decay of the execution-surprisal variance EMA */
    double var_threshold;     /* auto: lambda 1 once the EMA falls to this share of var_0 */
    int warmup;               /* auto: batches averaged before var_0 is fixed */
} rlc_sepa_params;

/* linear, steps 100, delay 10, gate 0.1, decay 0.99, threshold 0.2, warmup 50. */
rlc_sepa_params rlc_sepa_default_params(void);

/* Everything SEPA carries from step to step (saved in checkpoints). */
typedef struct rlc_sepa_state {
    int gate_open;   /* sticky: once open it stays open */
    int warmup_seen; /* auto: batches seen before var_0 was fixed */
    int have_var_ema, have_var_0;
    double var_ema, var_0;
} rlc_sepa_state;

/* The state before the first step: the gate starts open when the gate's
 * correct rate is <= 0. */
void rlc_sepa_init(const rlc_sepa_params *p, rlc_sepa_state *s);

/* A batch's correct rate: the gate opens when rate >= the gate's rate (a
 * non-finite rate is ignored). */
void rlc_sepa_observe(const rlc_sepa_params *p, rlc_sepa_state *s, double correct_rate);

/* Lambda at 0-based step `step`: 0 while the gate is closed; else linear =
 * clamp((step - delay) / steps, 0, 1) (0 when steps is 0), and auto =
 * max(linear, 1 - min((var_ema / var_0) / threshold, 1)) once var_0 is
 * fixed (linear before). */
double rlc_sepa_lambda(const rlc_sepa_params *p, const rlc_sepa_state *s, int step);

/* auto only (else nothing): folds a batch's execution-surprisal variance
 * (population, over n > 0 tokens; n == 0 or a non-finite value is ignored)
 * into the EMA (the first batch sets it), and after `warmup` batches fixes
 * var_0 = max(var_ema, 1e-8). */
void rlc_sepa_update(const rlc_sepa_params *p, rlc_sepa_state *s, double var_batch, long n);

/* Config names: "none", "gtpo", "hicra", "gtpo_hicra", "gtpo_sepa". */
const char *rlc_transform_name(rlc_transform kind); /* "?" if out of range */

#endif
