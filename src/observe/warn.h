/* Warnings when a run's signs go bad, decided from its metric records alone:
 * a gradient-norm spike, a NaN loss, an update skipped for a non-finite loss or
 * gradient, every prompt group with equal rewards,
 * no correct completion for N steps, completions cut at max tokens for most
 * samples, no positive (psr, w_reinforce) or no negative (nsr, w_reinforce)
 * sample for N steps, external verifiers that failed, crashed, hung or
 * wrote bad lines. A condition that persists is repeated every RLC_WARN_REPEAT steps,
 * not every step. */
#ifndef RLC_OBSERVE_WARN_H
#define RLC_OBSERVE_WARN_H

#include "observe/metrics.h"

#define RLC_WARN_WINDOW 20 /* grad norms the spike test compares against */
#define RLC_WARN_REPEAT 20 /* steps between repeats of a persisting warning */
#define RLC_WARN_LINE 256

typedef struct rlc_warn_params {
    double grad_spike;     /* grad_norm > grad_spike x median of the last norms (0: off) */
    int no_correct_steps;  /* steps in a row without a correct completion (0: off) */
    double max_token_rate; /* max_token_hit_rate at or above this (0: off) */
    int no_signal_steps;   /* steps in a row without the samples psr/nsr learn from (0: off) */
} rlc_warn_params;

rlc_warn_params rlc_warn_default_params(void);

typedef struct rlc_warn_state {
    double norms[RLC_WARN_WINDOW];
    int n_norms, next_norm;
    int nan_run, zero_std_run, no_correct_run, max_token_run; /* current streak lengths */
    int skip_run;               /* steps in a row whose update was skipped (skipped_steps > 0) */
    int no_pos_run, no_neg_run; /* psr/nsr/w_reinforce streaks without positives / negatives */
    int ext_run;                /* steps in a row with external verifier trouble */
} rlc_warn_state;

void rlc_warn_init(rlc_warn_state *s);

/* Checks one step; writes up to cap one-line warnings into out and returns
 * how many. Metrics a record lacks (NaN) trigger nothing but a NaN loss. */
int rlc_warn_check(rlc_warn_state *s, const rlc_warn_params *p, const rlc_metric_record *r,
                   char (*out)[RLC_WARN_LINE], int cap);

#endif
