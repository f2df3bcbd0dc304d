/* Back pressure: sizes the GRPO batch (prompts per step) from measured
 * throughput. Throughput X(p) (completion tokens per second of a step) at
 * concurrency p = batch x group is fitted to the Universal Scalability Law,
 * p / X(p) = a + b p + c p^2, by least squares on relative error (weights
 * 1 / (p/X)^2) over the last RLC_BP_WINDOW steps; sigma = (b + c) / (a + b + c) is contention,
 * kappa = c / (a + b + c) coherency, and throughput peaks at p* = sqrt((1 - sigma) / kappa). Each
 * step is classified (regime) and the batch of the next step chosen (action);
 * both aim at throttle_margin x p*, just below where throughput falls.
 *
 * Pure functions of their arguments: no clock, no I/O. The caller measures
 * the step's seconds (or a test supplies them) and owns the state, which is
 * all plain values so a checkpoint can carry it and a resumed run decide as
 * the uninterrupted one did.
 *
 * What a changing batch means for the loop (train/grpo.c): the batch changes
 * between steps only; prompts come from the data cursor (each step takes the
 * next `batch` prompts, so no prompt is skipped or repeated); a step stays a
 * step (learning-rate schedule, evaluation and checkpoint cadence count
 * steps, not prompts); dynamic sampling refills within the step's batch; the
 * metrics report the batch actually used. */
#ifndef RLC_TRAIN_BACKPRESSURE_H
#define RLC_TRAIN_BACKPRESSURE_H

/* Steps the fit looks back over (the oldest observation drops out). */
#define RLC_BP_WINDOW 100

/* Values are written to metrics.jsonl (bp_action, bp_regime): append only. */
typedef enum { RLC_BP_HOLD = 0, RLC_BP_THROTTLE, RLC_BP_INCREASE, RLC_BP_N_ACTIONS } rlc_bp_action;
typedef enum {
    RLC_BP_WARMUP = 0,
    RLC_BP_RETROGRADE,
    RLC_BP_MEMORY_BOUND,
    RLC_BP_COMPUTE_BOUND,
    RLC_BP_OPTIMAL,
    RLC_BP_N_REGIMES
} rlc_bp_regime;

typedef struct rlc_bp_params {
    int warmup_steps;         /* steps observed before any decision (10) */
    double ema_decay;         /* throughput EMA: ema = d ema + (1 - d) x (0.9) */
    double throttle_margin;   /* target concurrency = this x p* (0.85) */
    double increase_margin;   /* increase when p < this x target (0.5) */
    int min_batch, max_batch; /* prompts per step (1, 64) */
    int group;                /* completions per prompt: p = batch x group */
    /* roofline hint: both > 0 classify the regime compute_bound when a
     * step's arithmetic intensity 2 p / weight_bytes (FLOP per weight byte
     * read: each weight read once serves p sequences) reaches the ridge point
     * peak_gflops / peak_bw_gb_s, else memory_bound; 0 = off */
    double peak_gflops, peak_bw_gb_s;
    double weight_bytes; /* bytes per weight (4 for F32, 2 for BF16) */
} rlc_bp_params;

rlc_bp_params rlc_bp_default_params(void);

/* A fit needs three concurrencies, each at least RLC_BP_SPREAD times the
 * last and observed at least RLC_BP_SUPPORT times in the window. */
#define RLC_BP_SPREAD 1.25
#define RLC_BP_SUPPORT 2

/* One least-squares USL fit. ok is 0 when the points lack those three
 * concurrencies or a + b + c <= 0 (nothing to fit). p_star is INFINITY
 * when kappa is 0 (throughput never falls). */
typedef struct rlc_usl_fit {
    int ok;
    double a, b, c;        /* p / X = a + b p + c p^2 */
    double sigma, kappa;   /* clamped: sigma to [0, 1], kappa to >= 0 */
    double lambda, p_star; /* lambda = 1 / (a + b + c): throughput at p = 1 */
} rlc_usl_fit;

/* Fits n points (p[i], x[i]); points with x[i] <= 0 are left out. A window
 * that cannot be fitted keeps the controller's last fit. */
rlc_usl_fit rlc_usl_fit_points(const double *p, const double *x, int n);
/* USL throughput at p relative to p = 1: p / (1 + sigma (p - 1) + kappa p (p - 1)). */
double rlc_usl_relative(double p, double sigma, double kappa);
/* p* = sqrt((1 - sigma) / kappa); INFINITY for kappa <= 0, 1 for sigma >= 1. */
double rlc_usl_p_star(double sigma, double kappa);

/* The controller's whole state (a checkpoint carries every field). */
typedef struct rlc_bp_state {
    int steps; /* observations so far */
    int n;     /* window points, oldest first */
    double p[RLC_BP_WINDOW], x[RLC_BP_WINDOW];
    int have_ema;
    double ema;
    rlc_usl_fit fit; /* the last successful fit (ok 0: none yet) */
    int batch;       /* prompts of the next step */
} rlc_bp_state;

/* A fresh state: the first step's batch is min_batch. */
void rlc_bp_init(const rlc_bp_params *bp, rlc_bp_state *s);

/* What one step decided. */
typedef struct rlc_bp_decision {
    rlc_bp_action action;
    rlc_bp_regime regime;
    int warmup;                  /* 1 while the step was within warmup_steps */
    double throughput;           /* the EMA, tokens per second */
    double sigma, kappa, p_star; /* NaN before the first fit; p_star INFINITY: unbounded */
    double utilization;          /* EMA / the fit's peak over [min, max] concurrency; NaN: no fit */
    int batch;                   /* prompts of the next step */
} rlc_bp_decision;

/* Records a step of `batch` prompts that produced `tokens` tokens in
 * `seconds`, refits, classifies and sets s->batch for the next step. During
 * warmup the batch climbs min_batch x 2^k (capped at max_batch, then again
 * from min_batch) so the fit sees a spread of concurrencies; the action is
 * hold. A step of no tokens or no time is counted but not fitted. */
void rlc_bp_observe(const rlc_bp_params *bp, rlc_bp_state *s, int batch, double tokens,
                    double seconds, rlc_bp_decision *d);

const char *rlc_bp_action_name(rlc_bp_action a);
const char *rlc_bp_regime_name(rlc_bp_regime r);

#endif
