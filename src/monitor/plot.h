/* PNG charts with cairo. Line charts: one or more panels per figure, each
 * with a title, labelled axes with tick values, a light raw line under a bold
 * smoothed (EMA) line per series, and a legend when a panel holds several
 * series. Also a heatmap and a bar chart. Knows nothing of metrics files:
 * callers pass arrays. */
#ifndef RLC_MONITOR_PLOT_H
#define RLC_MONITOR_PLOT_H

#include "base/status.h"

typedef struct rlc_plot_series {
    const char *label;   /* legend text */
    const double *x, *y; /* (n) points; a NAN y leaves a gap */
    int n;
} rlc_plot_series;

typedef struct rlc_plot_panel {
    const char *title;
    const char *xlabel; /* with unit, e.g. "step" */
    const char *ylabel; /* with unit, e.g. "loss (nats / token)" */
    const rlc_plot_series *series;
    int n_series;
    int fraction; /* y is a share: the axis spans at least 0..1 */
    int exact;    /* y is a schedule, not a noisy measure: one bold line, no smoothing */
} rlc_plot_panel;

typedef struct rlc_plot_params {
    int panel_w, panel_h; /* pixels per panel */
    int cols;             /* panels per row; rows follow */
    double ema_alpha;     /* smoothing weight; <= 0 picks rlc_smooth_alpha(n) per series */
    const char *title;    /* figure title above all panels, or NULL */
} rlc_plot_params;

/* 900 x 500 pixels per panel, 2 columns, automatic smoothing, no title. */
rlc_plot_params rlc_plot_default_params(void);

/* Draws the panels and writes them to path as a PNG (through a temporary
 * file, renamed into place). Errors: INVALID (no panels), IO, NOMEM. */
rlc_status rlc_plot_png(const char *path, const rlc_plot_panel *panels, int n_panels,
                        const rlc_plot_params *p);

/* A heatmap: one row per label (top to bottom), one column per x (in
 * order, equally wide), each cell coloured by its value on the lo..hi scale
 * (viridis, with a colour bar); NAN cells stay blank. Cells large enough
 * show their value. */
typedef struct rlc_plot_heatmap {
    const char *title, *xlabel, *zlabel; /* zlabel names the colour bar */
    const char *const *rows;
    int n_rows;
    const double *x; /* (n_cols) column positions, shown as tick labels */
    int n_cols;
    const double *z; /* (n_rows, n_cols) row-major */
    double lo, hi;
} rlc_plot_heatmap;

/* Horizontal bars from lo, one per label (top to bottom), each with its value. */
typedef struct rlc_plot_bars {
    const char *title, *xlabel;
    const char *const *labels;
    const double *values; /* (n) a NAN bar is left out, its label kept */
    int n;
    double lo, hi;
} rlc_plot_bars;

/* Draw them into a PNG at path (sized by the rows), as rlc_plot_png does.
 * Errors: INVALID (nothing to draw, or hi <= lo), IO, NOMEM. */
rlc_status rlc_plot_heatmap_png(const char *path, const rlc_plot_heatmap *h);
rlc_status rlc_plot_bars_png(const char *path, const rlc_plot_bars *b);

/* Width and height of an existing PNG, read back with cairo. */
rlc_status rlc_plot_png_size(const char *path, int *w, int *h);

#endif
