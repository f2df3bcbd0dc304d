/* Convergence verdicts: pure functions over one metric series that say what
 * the curve is doing (converged, still improving, oscillating, exploding, ...)
 * and which numbers led there. Every threshold lives in rlc_verdict_params;
 * rlc_verdict_default_params documents the defaults. NAN points (missing
 * steps) are skipped. Windows count finite points from the end of the run. */
#ifndef RLC_MONITOR_VERDICT_H
#define RLC_MONITOR_VERDICT_H

#include <stddef.h>

/* Values are only ever appended to. */
typedef enum rlc_verdict_kind {
    RLC_VERDICT_INSUFFICIENT = 0, /* too few finite points to judge */
    RLC_VERDICT_CONVERGED,        /* flat: std/|mean| over the last window is small */
    RLC_VERDICT_IMPROVING,        /* still moving the good way across the last window */
    RLC_VERDICT_OSCILLATING,      /* no trend, but swings large next to the mean */
    RLC_VERDICT_WORSENING,        /* moving the wrong way (loss up, reward down) */
    RLC_VERDICT_NOISY_PLATEAU,    /* no trend, std/|mean| between flat and oscillating */
    RLC_VERDICT_EXPLODING,        /* gradient norm spikes or grows without bound */
    RLC_VERDICT_STABLE,           /* gradient norm without spikes */
    RLC_VERDICT_STALLED,          /* reward no higher at the end than at the start */
    RLC_VERDICT_ENTROPY_COLLAPSE, /* policy entropy fell to a small part of its start */
    RLC_VERDICT_LENGTH_CLIPPING,  /* share of completions hitting max tokens is rising */
    RLC_VERDICT_OK,               /* entropy or length: nothing wrong found */
    RLC_VERDICT_NO_SIGNAL,        /* GRPO: most steps had every group's rewards equal */
    RLC_VERDICT_LENGTH_CLIPPED,   /* most completions hit max tokens, but not rising */
    RLC_VERDICT_SHIFTING,         /* sample ratio moved between the first and last window */
    RLC_VERDICT_NO_NEGATIVES,     /* (almost) every completion was correct: nothing to push down */
    RLC_VERDICT_NO_POSITIVES,     /* (almost) none was correct: nothing to reinforce */
    RLC_VERDICT_COUNT
} rlc_verdict_kind;

typedef struct rlc_verdict {
    rlc_verdict_kind kind;
    char why[400]; /* the numbers that led to the verdict, one line */
} rlc_verdict;

typedef struct rlc_verdict_params {
    double window_frac;    /* windows span this share of the finite points */
    int min_window;        /* ... and at least this many points */
    int min_points;        /* fewer finite points than this: INSUFFICIENT */
    double flat_cv;        /* std/|mean| over the last window at most this: CONVERGED */
    double osc_cv;         /* detrended std/|mean| at least this: OSCILLATING */
    double improve_rel;    /* fitted change across the last window over |mean| at least this */
    double trend_t;        /* ... with |slope / its standard error| at least this: a trend */
    double spike_factor;   /* grad norm above this x the median of the points before: a spike */
    int spike_lookback;    /* how many points before a value make that median */
    double growth_factor;  /* last-window median grad norm over the first one's, above: EXPLODING */
    double stall_gain;     /* reward gain (last minus first window) over |reward|, below: STALLED */
    double stall_z;        /* ... or gain under this many standard errors: STALLED */
    double collapse_frac;  /* entropy last-window mean under this x first-window mean: COLLAPSE */
    double clip_rise;      /* max-token hit rate up by at least this (absolute) ... */
    double clip_min;       /* ... and at least this in the last window: LENGTH_CLIPPING */
    double clip_high;      /* or at least this in the last window (not risen: LENGTH_CLIPPED) */
    double ratio_shift;    /* positive-sample ratio: first/last window means apart by this */
    double ratio_edge;     /* ... last window's mean under this, or over 1 - this: none of a kind */
    double no_signal_frac; /* steps with every group's rewards equal, share at least: NO_SIGNAL */
} rlc_verdict_params;

/* Defaults: window 20% of the points, at least 5; 10 points minimum;
 * flat_cv 0.05, osc_cv 0.15; improve_rel 0.05 with trend_t 2.5; spikes at 5x
 * the median of the 10 points before, growth_factor 10; stall_gain 0.05,
 * stall_z 2; collapse_frac 0.2; clip_rise 0.1 and clip_min 0.2, clip_high 0.5;
 * ratio_shift 0.1, ratio_edge 0.02; no_signal_frac 0.5. */
rlc_verdict_params rlc_verdict_default_params(void);

/* Short name ("converged", "still improving", ...). Never NULL. */
const char *rlc_verdict_name(rlc_verdict_kind k);

/* Trend of a series where dir = -1 means lower is better (loss) and +1 higher
 * is better. In order: IMPROVING or WORSENING when the least-squares slope
 * over the last window is significant (|t| >= trend_t) and moves the series
 * by improve_rel of its mean across the window; else OSCILLATING when the
 * detrended std/|mean| >= osc_cv; CONVERGED when std/|mean| <= flat_cv;
 * otherwise NOISY_PLATEAU. */
rlc_verdict rlc_verdict_trend(const double *x, int n, int dir, const rlc_verdict_params *p);

/* Loss: rlc_verdict_trend with dir -1. */
rlc_verdict rlc_verdict_loss(const double *x, int n, const rlc_verdict_params *p);

/* Gradient norm: EXPLODING when some point exceeds spike_factor x the median
 * of the spike_lookback finite points before it (3 at least), or when the
 * last window's median is growth_factor x the first window's; else STABLE.
 * step (may be NULL) names the steps in the message. */
rlc_verdict rlc_verdict_grad_norm(const double *x, const double *step, int n,
                                  const rlc_verdict_params *p);

/* Reward (higher is better): IMPROVING / WORSENING as rlc_verdict_trend; else
 * STALLED when last-window mean minus first-window mean is under stall_z
 * standard errors or under stall_gain x max(|first|, |last|); else
 * OSCILLATING as the trend says so; else CONVERGED (a plateau after a gain). */
rlc_verdict rlc_verdict_reward(const double *x, int n, const rlc_verdict_params *p);

/* Entropy: ENTROPY_COLLAPSE when the last window's mean is under
 * collapse_frac x the first window's; else OK. */
rlc_verdict rlc_verdict_entropy(const double *x, int n, const rlc_verdict_params *p);

/* Max-token hit rate: LENGTH_CLIPPING ("rising") when it rose by clip_rise
 * from the first window to the last and the last is at least clip_min;
 * LENGTH_CLIPPED ("high") when the last window's mean is at least clip_high
 * without that rise; else OK. */
rlc_verdict rlc_verdict_length_clip(const double *x, int n, const rlc_verdict_params *p);

/* GRPO learning signal from frac_reward_zero_std (share of prompt groups whose
 * rewards were all equal, per step): a step where it is 1 had zero advantages
 * everywhere, so its loss and gradient are 0 by construction. NO_SIGNAL
 * ("no learning signal in N of M steps") when such steps are at least
 * no_signal_frac of the finite points; else OK, naming N. Needs 1 point. */
rlc_verdict rlc_verdict_signal(const double *frac_zero_std, int n, const rlc_verdict_params *p);

/* Positive-sample ratio (correct_rate; the negative ratio is 1 minus it), as
 * in PSR / NSR / W-REINFORCE runs: NO_POSITIVES or NO_NEGATIVES when the last
 * window's mean is within ratio_edge of 0 or 1; SHIFTING when the first and
 * last windows' means differ by ratio_shift or more; else STABLE ("sample
 * ratios stable"). */
rlc_verdict rlc_verdict_sample_ratio(const double *pos_ratio, int n, const rlc_verdict_params *p);

/* The first-to-last change of a loss series as text into out: "reduction
 * 52.1%" / "increase 3.0%" only where a percentage means something (every
 * finite value has the first one's sign, and the first is at least a tenth of
 * the largest magnitude); otherwise the absolute change and why no percentage
 * ("crosses 0", "starts near 0"). Returns 0 when x has no finite point. */
int rlc_verdict_loss_change(const double *x, int n, char *out, size_t cap);

#endif
