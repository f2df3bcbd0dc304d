#include "monitor/plot.h"

#include "base/fs.h"
#include "monitor/smooth.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tableau-10: distinct at a glance and readable by most colour-blind eyes. */
static const double palette[10][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
};

rlc_plot_params rlc_plot_default_params(void) {
    rlc_plot_params p = {.panel_w = 900, .panel_h = 500, .cols = 2, .ema_alpha = 0, .title = NULL};
    return p;
}

/* A 1-2-5 step giving about `want` intervals over span. */
static double nice_step(double span, int want) {
    double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* Tick label with just enough decimals for the step; scientific for tiny or
 * huge magnitudes (learning rates). */
static void fmt_tick(char *buf, size_t cap, double v, double step, double amax) {
    double a = fmax(amax, step);
    if (fabs(v) < step * 1e-6) {
        snprintf(buf, cap, "0");
        return;
    }
    if (a >= 1e6 || a < 1e-3) {
        int sig = 1 + (int)fmax(0, floor(log10(a)) - floor(log10(step)));
        snprintf(buf, cap, "%.*e", sig > 1 ? sig - 1 : 0, v);
        char *e = strchr(buf, 'e'); /* 2.0e-05 -> 2.0e-5 */
        if (e && (e[1] == '-' || e[1] == '+') && e[2] == '0')
            memmove(e + 2, e + 3, strlen(e + 3) + 1);
        if (e && e[1] == '+') memmove(e + 1, e + 2, strlen(e + 2) + 1);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, cap, "%.*f", dec, v);
}

typedef struct axis {
    double lo, hi, step;
} axis;

/* Ticks of a: the k-th of *n is (*first + k) * step. Counted, not stepped by
 * addition, so a step lost in rounding cannot stall the loop; 0 ticks when
 * the axis is not finite. */
static void ticks(const axis *a, double *first, int *n) {
    double k0 = ceil(a->lo / a->step), k1 = floor(a->hi / a->step + 1e-9);
    *first = k0;
    *n = isfinite(k0) && isfinite(k1) && k1 >= k0 ? (int)fmin(k1 - k0 + 1, 100) : 0;
}

static axis make_axis(double lo, double hi, int want, int pad) {
    if (lo == 0 && hi == 0) {
        hi = 1; /* all zero: show 0 at the bottom of a unit axis */
    } else if (!(hi - lo > fmax(fabs(lo), fabs(hi)) * 1e-12)) {
        /* a span below double resolution at this magnitude (1e17 +- 1) is
         * flat: steps that small would not move a tick */
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= d, hi += d;
    } else if (pad) {
        double d = (hi - lo) * 0.05;
        lo -= d, hi += d;
    }
    axis a = {lo, hi, nice_step(hi - lo, want)};
    return a;
}

static void set_rgb(cairo_t *cr, int c, double alpha) {
    const double *k = palette[c % 10];
    cairo_set_source_rgba(cr, k[0], k[1], k[2], alpha);
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - ax * e.width, y - e.y_bearing - ay * e.height);
    cairo_show_text(cr, s);
}

/* One polyline through the finite points; NAN breaks it. */
static void polyline(cairo_t *cr, const double *x, const double *y, int n,
                     double (*tx)(void *, double), double (*ty)(void *, double), void *ctx) {
    int pen = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i]) || !isfinite(x[i])) {
            pen = 0;
            continue;
        }
        double px = tx(ctx, x[i]), py = ty(ctx, y[i]);
        if (pen)
            cairo_line_to(cr, px, py);
        else
            cairo_move_to(cr, px, py), pen = 1;
        /* a lone point still shows */
        if (i + 1 >= n || !isfinite(y[i + 1])) cairo_rel_line_to(cr, 0.01, 0);
    }
    cairo_stroke(cr);
}

/* Series with this many points or fewer are drawn as markers only. */
#define FEW_POINTS 3

static int finite_xy(const rlc_plot_series *se) {
    int fin = 0;
    for (int i = 0; i < se->n; i++)
        fin += isfinite(se->y[i]) && isfinite(se->x[i]);
    return fin;
}

typedef struct frame {
    double x0, y0, w, h; /* plot area in pixels */
    axis ax, ay;
} frame;

static double map_x(void *ctx, double v) {
    frame *f = ctx;
    return f->x0 + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * f->w;
}
static double map_y(void *ctx, double v) {
    frame *f = ctx;
    return f->y0 + f->h - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * f->h;
}

/* Counts smoothed points inside a rectangle, to keep the legend off the data. */
static int points_in(frame *f, double **sm, const rlc_plot_panel *pn, double rx, double ry,
                     double rw, double rh) {
    int c = 0;
    for (int s = 0; s < pn->n_series; s++)
        for (int i = 0; i < pn->series[s].n; i++) {
            if (!isfinite(sm[s][i])) continue;
            double px = map_x(f, pn->series[s].x[i]), py = map_y(f, sm[s][i]);
            c += px >= rx && px <= rx + rw && py >= ry && py <= ry + rh;
        }
    return c;
}

static rlc_status draw_panel(cairo_t *cr, const rlc_plot_panel *pn, double ox, double oy, double pw,
                             double ph, const rlc_plot_params *p) {
    frame f = {.x0 = ox + 88, .y0 = oy + 52, .w = pw - 88 - 28, .h = ph - 52 - 62};
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int npts = 0;
    for (int s = 0; s < pn->n_series; s++)
        for (int i = 0; i < pn->series[s].n; i++) {
            double x = pn->series[s].x[i], y = pn->series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
            npts++;
        }
    double **sm = calloc((size_t)(pn->n_series ? pn->n_series : 1), sizeof *sm);
    if (!sm) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    rlc_status st = RLC_OK;
    for (int s = 0; s < pn->n_series && st == RLC_OK; s++) {
        const rlc_plot_series *se = &pn->series[s];
        sm[s] = malloc((size_t)(se->n ? se->n : 1) * sizeof(double));
        if (!sm[s]) {
            st = rlc_errorf(RLC_ERR_NOMEM, "out of memory");
            break;
        }
        int fin = 0;
        for (int i = 0; i < se->n; i++)
            fin += isfinite(se->y[i]) != 0;
        rlc_smooth_ema2(se->y, se->n, p->ema_alpha > 0 ? p->ema_alpha : rlc_smooth_alpha(fin),
                        sm[s]);
    }
    if (st) goto done;

    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 17);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, f.x0 + f.w / 2, oy + 14, pn->title ? pn->title : "", 0.5, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    if (npts == 0) {
        cairo_set_font_size(cr, 14);
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
        text_at(cr, f.x0 + f.w / 2, f.y0 + f.h / 2, "no data", 0.5, 0.5);
        goto done;
    }
    f.ax = make_axis(xlo, xhi, 8, 0);
    /* a share starts at 0, and spans to 1 only when the data come near it:
     * a clip ratio of 0.004 must not be drawn flat on a 0..1 axis */
    if (pn->fraction) ylo = fmin(ylo, 0), yhi = yhi > 0.2 ? fmax(yhi, 1) : yhi;
    f.ay = make_axis(ylo, yhi, 6, 1);

    /* grid and tick labels */
    char buf[64];
    cairo_set_font_size(cr, 13);
    cairo_set_line_width(cr, 1);
    double k0;
    int nt;
    ticks(&f.ay, &k0, &nt);
    for (int k = 0; k < nt; k++) {
        double t = (k0 + k) * f.ay.step;
        double py = round(map_y(&f, t)) + 0.5;
        cairo_set_source_rgb(cr, 0.90, 0.90, 0.90);
        cairo_move_to(cr, f.x0, py), cairo_line_to(cr, f.x0 + f.w, py), cairo_stroke(cr);
        fmt_tick(buf, sizeof buf, t, f.ay.step, fmax(fabs(f.ay.lo), fabs(f.ay.hi)));
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        text_at(cr, f.x0 - 8, py, buf, 1, 0.5);
    }
    ticks(&f.ax, &k0, &nt);
    for (int k = 0; k < nt; k++) {
        double t = (k0 + k) * f.ax.step;
        double px = round(map_x(&f, t)) + 0.5;
        cairo_set_source_rgb(cr, 0.90, 0.90, 0.90);
        cairo_move_to(cr, px, f.y0), cairo_line_to(cr, px, f.y0 + f.h), cairo_stroke(cr);
        fmt_tick(buf, sizeof buf, t, f.ax.step, fmax(fabs(f.ax.lo), fabs(f.ax.hi)));
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        text_at(cr, px, f.y0 + f.h + 8, buf, 0.5, 0);
    }
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    cairo_rectangle(cr, f.x0 + 0.5, f.y0 + 0.5, f.w, f.h);
    cairo_stroke(cr);

    /* axis labels */
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, f.x0 + f.w / 2, f.y0 + f.h + 34, pn->xlabel ? pn->xlabel : "step", 0.5, 0);
    cairo_save(cr);
    cairo_translate(cr, ox + 16, f.y0 + f.h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, pn->ylabel ? pn->ylabel : "", 0.5, 0);
    cairo_restore(cr);

    /* data: raw lines first (light), then the smoothed ones on top (bold) */
    cairo_save(cr);
    cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
    cairo_clip(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    for (int s = 0; s < pn->n_series; s++) {
        const rlc_plot_series *se = &pn->series[s];
        set_rgb(cr, s, pn->exact ? 1.0 : 0.38);
        cairo_set_line_width(cr, pn->exact ? 2.6 : 1.4);
        polyline(cr, se->x, se->y, se->n, map_x, map_y, &f);
    }
    int all_few = 1;
    for (int s = 0; s < pn->n_series && !pn->exact; s++) {
        if (finite_xy(&pn->series[s]) <= FEW_POINTS) continue; /* nothing to smooth */
        all_few = 0;
        set_rgb(cr, s, 1.0);
        cairo_set_line_width(cr, 2.6);
        polyline(cr, pn->series[s].x, sm[s], pn->series[s].n, map_x, map_y, &f);
    }
    cairo_restore(cr);
    /* sparse series (evaluations): mark each point, unclipped so that a point
     * on the frame shows whole; 1-3 points get large markers with a white
     * rim, as there is no line to see */
    for (int s = 0; s < pn->n_series; s++) {
        const rlc_plot_series *se = &pn->series[s];
        int fin = finite_xy(se);
        if (fin > 40) continue;
        double rad = fin <= FEW_POINTS ? 6.5 : 3.5;
        for (int i = 0; i < se->n; i++) {
            if (!isfinite(se->y[i]) || !isfinite(se->x[i])) continue;
            cairo_arc(cr, map_x(&f, se->x[i]), map_y(&f, se->y[i]), rad, 0, 2 * M_PI);
            set_rgb(cr, s, 1.0);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_set_line_width(cr, fin <= FEW_POINTS ? 1.5 : 0.5);
            cairo_stroke(cr);
        }
    }

    /* legend: series names, then what light and bold mean */
    cairo_set_font_size(cr, 13);
    double lw = 0, lh = 20.0 * (pn->n_series + 1) + 8;
    const char *key = "light: raw   bold: smoothed (EMA weights, both sides)";
    cairo_text_extents_t e;
    cairo_text_extents(cr, key, &e);
    lw = e.width;
    for (int s = 0; s < pn->n_series; s++) {
        cairo_text_extents(cr, pn->series[s].label ? pn->series[s].label : "", &e);
        if (e.width + 30 > lw) lw = e.width + 30;
    }
    lw += 20;
    double cand[4][2] = {{f.x0 + f.w - lw - 8, f.y0 + 8},
                         {f.x0 + f.w - lw - 8, f.y0 + f.h - lh - 8},
                         {f.x0 + 8, f.y0 + 8},
                         {f.x0 + 8, f.y0 + f.h - lh - 8}};
    int best = 0, best_c = -1;
    for (int k = 0; k < 4; k++) {
        int c = points_in(&f, sm, pn, cand[k][0], cand[k][1], lw, lh);
        if (best_c < 0 || c < best_c) best = k, best_c = c;
    }
    double lx = cand[best][0], ly = cand[best][1];
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_rectangle(cr, lx, ly, lw, lh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int s = 0; s < pn->n_series; s++) {
        double yy = ly + 14 + 20.0 * s;
        set_rgb(cr, s, 1.0);
        cairo_set_line_width(cr, 2.6);
        cairo_move_to(cr, lx + 10, yy), cairo_line_to(cr, lx + 32, yy), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, lx + 40, yy, pn->series[s].label ? pn->series[s].label : "", 0, 0.5);
    }
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    text_at(cr, lx + 10, ly + 14 + 20.0 * pn->n_series,
            pn->exact ? "as logged"
            : all_few ? "points as logged (too few to smooth)"
                      : key,
            0, 0.5);
done:
    for (int s = 0; s < pn->n_series; s++)
        free(sm[s]);
    free(sm);
    return st;
}

typedef struct png_buf {
    unsigned char *d;
    size_t n, cap;
} png_buf;

static cairo_status_t png_write(void *ctx, const unsigned char *data, unsigned int len) {
    png_buf *b = ctx;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *d = realloc(b->d, cap);
        if (!d) return CAIRO_STATUS_NO_MEMORY;
        b->d = d, b->cap = cap;
    }
    memcpy(b->d + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* Encodes the drawing on sf (unless st already failed), writes it to path
 * atomically and frees cr and sf. */
static rlc_status finish_png(const char *path, cairo_surface_t *sf, cairo_t *cr, rlc_status st) {
    png_buf b = {0};
    if (st == RLC_OK && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        st = rlc_errorf(RLC_ERR_INTERNAL, "%s: cairo: %s", path,
                        cairo_status_to_string(cairo_status(cr)));
    if (st == RLC_OK) {
        cairo_surface_flush(sf);
        cairo_status_t cs = cairo_surface_write_to_png_stream(sf, png_write, &b);
        if (cs != CAIRO_STATUS_SUCCESS)
            st = rlc_errorf(RLC_ERR_IO, "%s: PNG encoding failed: %s", path,
                            cairo_status_to_string(cs));
    }
    cairo_destroy(cr);
    cairo_surface_destroy(sf);
    if (st == RLC_OK) st = rlc_write_file_atomic(path, b.d, b.n);
    free(b.d);
    return st;
}

/* A white W x H canvas with title centred at the top in the panel title's font. */
static cairo_t *canvas(int W, int H, const char *title, cairo_surface_t **sf) {
    *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(*sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 17);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, W / 2.0, 14, title ? title : "", 0.5, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return cr;
}

/* Widest of labels in the current font, in pixels. */
static double widest(cairo_t *cr, const char *const *labels, int n) {
    double w = 0;
    cairo_text_extents_t e;
    for (int i = 0; i < n; i++) {
        cairo_text_extents(cr, labels[i] ? labels[i] : "", &e);
        w = fmax(w, e.width);
    }
    return w;
}

/* Viridis at t in [0, 1], from five of its stops: perceptually even and
 * readable without colour vision. */
static void viridis(double t, double rgb[3]) {
    static const double stop[5][3] = {{0.267, 0.005, 0.329},
                                      {0.230, 0.322, 0.546},
                                      {0.128, 0.567, 0.551},
                                      {0.369, 0.789, 0.383},
                                      {0.993, 0.906, 0.144}};
    t = fmin(fmax(t, 0), 1) * 4;
    int i = t >= 4 ? 3 : (int)t;
    double f = t - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = stop[i][c] + f * (stop[i + 1][c] - stop[i][c]);
}

/* Axis text below a plot area at x0..x0+w whose bottom is y: the label. */
static void bottom_label(cairo_t *cr, double x0, double w, double y, const char *label) {
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, x0 + w / 2, y + 34, label ? label : "", 0.5, 0);
}

static void outline(cairo_t *cr, double x0, double y0, double w, double h) {
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, round(x0) + 0.5, round(y0) + 0.5, round(w), round(h));
    cairo_stroke(cr);
}

rlc_status rlc_plot_heatmap_png(const char *path, const rlc_plot_heatmap *h) {
    if (h->n_rows < 1 || h->n_cols < 1 || !(h->hi > h->lo))
        return rlc_errorf(RLC_ERR_INVALID, "%s: empty heatmap or scale", path);
    cairo_surface_t *sf;
    int W = 1100, H = 150 + (h->n_rows < 6 ? 6 : h->n_rows) * 30;
    cairo_t *cr = canvas(W, H, h->title, &sf);
    cairo_set_font_size(cr, 13);
    double x0 = 24 + widest(cr, h->rows, h->n_rows), y0 = 52, pw = W - x0 - 130, ph = H - y0 - 70;
    double cw = pw / h->n_cols, rh = ph / h->n_rows;
    char buf[64];
    for (int r = 0; r < h->n_rows; r++) {
        cairo_set_font_size(cr, 13);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, x0 - 8, y0 + (r + 0.5) * rh, h->rows[r] ? h->rows[r] : "", 1, 0.5);
        for (int c = 0; c < h->n_cols; c++) {
            double v = h->z[(size_t)r * h->n_cols + c], rgb[3];
            if (!isfinite(v)) continue;
            double t = (v - h->lo) / (h->hi - h->lo);
            viridis(t, rgb);
            cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle(cr, x0 + c * cw, y0 + r * rh, ceil(cw), ceil(rh));
            cairo_fill(cr);
            if (cw < 40 || rh < 18) continue; /* too small to hold its value */
            snprintf(buf, sizeof buf, "%.2f", v);
            double ink = t > 0.6 ? 0.1 : 1;
            cairo_set_font_size(cr, 12);
            cairo_set_source_rgb(cr, ink, ink, ink);
            text_at(cr, x0 + (c + 0.5) * cw, y0 + (r + 0.5) * rh, buf, 0.5, 0.5);
        }
    }
    outline(cr, x0, y0, pw, ph);
    /* x ticks: at most 12 columns labelled, evenly spread, the last included */
    int every = (h->n_cols + 11) / 12;
    cairo_set_font_size(cr, 13);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    for (int c = 0; c < h->n_cols; c++) {
        int last = c == h->n_cols - 1;
        if (!last && (c % every || h->n_cols - 1 - c < every)) continue;
        snprintf(buf, sizeof buf, "%g", h->x[c]);
        text_at(cr, x0 + (c + 0.5) * cw, y0 + ph + 8, buf, 0.5, 0);
    }
    bottom_label(cr, x0, pw, y0 + ph, h->xlabel ? h->xlabel : "step");
    /* colour bar with lo, middle and hi */
    double bx = x0 + pw + 24, bw = 22;
    for (int i = 0; i < (int)ph; i++) {
        double rgb[3];
        viridis(1 - i / ph, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, bx, y0 + i, bw, 1.5);
        cairo_fill(cr);
    }
    cairo_set_font_size(cr, 13);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    for (int k = 0; k <= 2; k++) {
        snprintf(buf, sizeof buf, "%g", h->lo + (h->hi - h->lo) * k / 2);
        text_at(cr, bx + bw + 6, y0 + ph - ph * k / 2, buf, 0, 0.5);
    }
    cairo_save(cr);
    cairo_translate(cr, W - 18, y0 + ph / 2);
    cairo_rotate(cr, -M_PI / 2);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, 0, 0, h->zlabel ? h->zlabel : "", 0.5, 0);
    cairo_restore(cr);
    return finish_png(path, sf, cr, RLC_OK);
}

rlc_status rlc_plot_bars_png(const char *path, const rlc_plot_bars *b) {
    if (b->n < 1 || !(b->hi > b->lo))
        return rlc_errorf(RLC_ERR_INVALID, "%s: no bars or empty scale", path);
    cairo_surface_t *sf;
    int W = 1000, H = 150 + (b->n < 4 ? 4 : b->n) * 30;
    cairo_t *cr = canvas(W, H, b->title, &sf);
    cairo_set_font_size(cr, 13);
    frame f = {.y0 = 52};
    f.x0 = 24 + widest(cr, b->labels, b->n), f.w = W - f.x0 - 70, f.h = H - f.y0 - 70;
    f.ax = (axis){b->lo, b->hi, nice_step(b->hi - b->lo, 8)};
    double k0, rh = f.h / b->n;
    int nt;
    char buf[64];
    ticks(&f.ax, &k0, &nt);
    cairo_set_line_width(cr, 1);
    for (int k = 0; k < nt; k++) {
        double t = (k0 + k) * f.ax.step, px = round(map_x(&f, t)) + 0.5;
        cairo_set_source_rgb(cr, 0.90, 0.90, 0.90);
        cairo_move_to(cr, px, f.y0), cairo_line_to(cr, px, f.y0 + f.h), cairo_stroke(cr);
        fmt_tick(buf, sizeof buf, t, f.ax.step, fmax(fabs(f.ax.lo), fabs(f.ax.hi)));
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        text_at(cr, px, f.y0 + f.h + 8, buf, 0.5, 0);
    }
    for (int i = 0; i < b->n; i++) {
        double yc = f.y0 + (i + 0.5) * rh, v = b->values[i];
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, f.x0 - 8, yc, b->labels[i] ? b->labels[i] : "", 1, 0.5);
        if (!isfinite(v)) continue;
        double px = map_x(&f, fmin(fmax(v, b->lo), b->hi));
        set_rgb(cr, 0, 1.0);
        cairo_rectangle(cr, f.x0, yc - rh * 0.35, px - f.x0, rh * 0.7);
        cairo_fill(cr);
        snprintf(buf, sizeof buf, "%.3f", v);
        cairo_text_extents_t e;
        cairo_text_extents(cr, buf, &e);
        int inside = px + 12 + e.width > f.x0 + f.w; /* no room right of the bar */
        cairo_set_source_rgb(cr, inside ? 1 : 0.1, inside ? 1 : 0.1, inside ? 1 : 0.1);
        text_at(cr, inside ? px - 6 : px + 6, yc, buf, inside, 0.5);
    }
    outline(cr, f.x0, f.y0, f.w, f.h);
    bottom_label(cr, f.x0, f.w, f.y0 + f.h, b->xlabel);
    return finish_png(path, sf, cr, RLC_OK);
}

rlc_status rlc_plot_png(const char *path, const rlc_plot_panel *panels, int n_panels,
                        const rlc_plot_params *p) {
    if (n_panels < 1 || p->panel_w < 200 || p->panel_h < 150 || p->cols < 1)
        return rlc_errorf(RLC_ERR_INVALID, "%s: nothing to plot or panel too small", path);
    int cols = n_panels < p->cols ? n_panels : p->cols, rows = (n_panels + cols - 1) / cols;
    int top = p->title ? 44 : 0;
    int W = cols * p->panel_w, H = rows * p->panel_h + top;
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (p->title) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, 20);
        cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
        text_at(cr, W / 2.0, 14, p->title, 0.5, 0);
    }
    rlc_status st = RLC_OK;
    for (int k = 0; k < n_panels && st == RLC_OK; k++)
        st = draw_panel(cr, &panels[k], (k % cols) * (double)p->panel_w,
                        top + (k / cols) * (double)p->panel_h, p->panel_w, p->panel_h, p);
    return finish_png(path, sf, cr, st);
}

rlc_status rlc_plot_png_size(const char *path, int *w, int *h) {
    cairo_surface_t *sf = cairo_image_surface_create_from_png(path);
    cairo_status_t cs = cairo_surface_status(sf);
    rlc_status st = RLC_OK;
    if (cs != CAIRO_STATUS_SUCCESS)
        st = rlc_errorf(cs == CAIRO_STATUS_FILE_NOT_FOUND ? RLC_ERR_NOT_FOUND : RLC_ERR_FORMAT,
                        "%s: not a readable PNG: %s", path, cairo_status_to_string(cs));
    else
        *w = cairo_image_surface_get_width(sf), *h = cairo_image_surface_get_height(sf);
    cairo_surface_destroy(sf);
    return st;
}
