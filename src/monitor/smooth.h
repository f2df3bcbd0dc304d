/* Smoothing for plots and summaries: an exponential moving average that
 * steps over missing (NAN) values. */
#ifndef RLC_MONITOR_SMOOTH_H
#define RLC_MONITOR_SMOOTH_H

/* Weight of the newest point in the plotted smoothed line. 0.1 averages over
 * about 2/alpha - 1 = 19 steps, like TensorBoard's default smoothing of 0.9. */
#define RLC_MONITOR_EMA_ALPHA 0.1

/* The smoothing weight used for a series of n points: RLC_MONITOR_EMA_ALPHA,
 * raised for short runs (at least 6/n, at most 0.5) so the line still
 * follows the data when a run has only a few dozen steps. */
double rlc_smooth_alpha(int n);

/* out[i] = bias-corrected EMA of x[0..i]: s_i = (1-a) s_{i-1} + a x_i divided
 * by 1 - (1-a)^k over the k finite points so far, so the line starts at the
 * data, not at 0. NAN inputs are skipped (out[i] = NAN there, the average
 * carries on). out may alias x. */
void rlc_smooth_ema(const double *x, int n, double alpha, double *out);

/* The plotted smoothed line: at each point, a straight line fitted by
 * weighted least squares to its neighbours, weighted (1-alpha)^|j-i| on both
 * sides (the EMA's weights, mirrored). Unlike a one-pass EMA it is not drawn
 * late on a trending curve (that lags by about (1-alpha)/alpha steps), and
 * the line fit keeps the first and last points on the trend. The value is
 * clamped to the range of the raw points within floor(ln 0.5 / ln(1-alpha))
 * rows (at least 1) on either side, so it never under- or overshoots the
 * data at the edges or after a bend. Points count by row index; NAN stays
 * NAN and is left out of the fits. */
void rlc_smooth_ema2(const double *x, int n, double alpha, double *out);

#endif
