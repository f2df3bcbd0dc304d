/* Plots of series too short to draw as lines: each point is a marker big
 * enough to see, drawn whole even on the frame. Checked on the pixels of the
 * PNG read back with cairo. */
#include "monitor/plot.h"
#include "tmpdir.h"

#include <cairo.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

TestSuite(plot, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* Pixels of the first palette colour (Tableau blue, 31/119/180) in the PNG,
 * and those of them inside the box [x0, x1) x [y0, y1). */
static int blue_pixels(const char *path, int x0, int y0, int x1, int y1, int *in_box) {
    cairo_surface_t *sf = cairo_image_surface_create_from_png(path);
    cr_assert_eq(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS);
    int w = cairo_image_surface_get_width(sf), h = cairo_image_surface_get_height(sf);
    int stride = cairo_image_surface_get_stride(sf), n = 0;
    const unsigned char *d = cairo_image_surface_get_data(sf);
    *in_box = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t px = *(const uint32_t *)(d + (size_t)y * stride + 4 * (size_t)x);
            if ((px & 0xffffff) != ((31u << 16) | (119u << 8) | 180u)) continue;
            n++;
            *in_box += x >= x0 && x < x1 && y >= y0 && y < y1;
        }
    cairo_surface_destroy(sf);
    return n;
}

Test(plot, one_to_three_points_are_visible_markers) {
    rlc_plot_params p = rlc_plot_default_params();
    p.cols = 1;
    /* two points; the second at the right edge of the x axis */
    double xs[3] = {0, 1, 2}, ys[3] = {0.3, NAN, 0.5};
    rlc_plot_series se = {"eval", xs, ys, 3};
    rlc_plot_panel pn = {"two points", "step", "value", &se, 1, 0, 0};
    const char *path = tmp_path("one.png");
    cr_assert_eq(rlc_plot_png(path, &pn, 1, &p), RLC_OK, "%s", rlc_last_error());
    /* the plot area spans x 88..(900-28), y 52..(500-62); the second point
     * maps to its right edge */
    int in_box;
    blue_pixels(path, 872 - 12, 52, 872 + 12, 438, &in_box);
    /* a disc of radius 6.5 inside a 1.5 px white rim: about pi * 5.75^2 =
     * 104 px, some 80 of them in the exact colour once antialiased, both
     * halves, the one past the frame included (the old 3.5 px dot, drawn at
     * 90% opacity and clipped at the frame, had none) */
    cr_assert_geq(in_box, 60, "marker pixels %d", in_box);
    int right_half;
    blue_pixels(path, 873, 52, 873 + 12, 438, &right_half);
    cr_assert_geq(right_half, 25, "the half past the frame was clipped (%d px)", right_half);
}

/* Bars are as long as their values (a NAN one is left out); a heatmap has
 * its size and refuses an empty scale. */
Test(plot, bars_scale_with_their_values_and_heatmaps_check_their_scale) {
    const char *labels[] = {"half", "whole", "none"};
    const double values[] = {0.5, 1.0, NAN};
    rlc_plot_bars b = {"bars", "score", labels, values, 3, 0, 1};
    const char *path = tmp_path("bars.png");
    cr_assert_eq(rlc_plot_bars_png(path, &b), RLC_OK);
    /* 3 rows in a plot 148 pixels high from y = 52 (room for 4, the least):
     * one line of pixels through each bar, above its value's text */
    double rh = 148.0 / 3;
    int n[3];
    for (int i = 0; i < 3; i++) {
        int y = (int)(52 + (i + 0.5) * rh) - 12;
        blue_pixels(path, 0, y, 2000, y + 1, &n[i]);
    }
    cr_assert_gt(n[0], 300);
    cr_assert_float_eq((double)n[1] / n[0], 2.0, 0.01, "%d vs %d pixels", n[1], n[0]);
    cr_assert_eq(n[2], 0, "a NAN bar is not drawn");
    const double x[] = {0, 2}, z[] = {0, 0.5, 1, NAN};
    rlc_plot_heatmap h = {"heat", "step", "score", labels, 2, x, 2, z, 0, 1};
    cr_assert_eq(rlc_plot_heatmap_png(tmp_path("heat.png"), &h), RLC_OK);
    int w, hh;
    cr_assert_eq(rlc_plot_png_size(tmp_path("heat.png"), &w, &hh), RLC_OK);
    cr_assert(w == 1100 && hh == 150 + 6 * 30, "%d x %d", w, hh);
    h.hi = 0;
    cr_assert_eq(rlc_plot_heatmap_png(tmp_path("bad.png"), &h), RLC_ERR_INVALID);
}
