/* The console table on a narrow terminal: columns dropped by registry
 * priority (lowest first), never the ones of priority 1, and every column
 * still in the log file; the legend before the first step's warnings; one
 * short legend line on a resume. */
#include "base/fs.h"
#include "observe/console.h"
#include "observe/metrics.h"
#include "observe/sinks.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(console, .init = tmpdir_setup, .fini = tmpdir_teardown);

static int has_col(const rlc_table *t, rlc_metric_id id) {
    for (int i = 0; i < t->n_cols; i++)
        if (t->cols[i] == id) return 1;
    return 0;
}

Test(console, fit_drops_lowest_priority_first) {
    const rlc_metric_def *defs = rlc_metric_defs();
    rlc_table full;
    rlc_table_init(&full, RLC_OBS_GRPO, 1, 0);
    int wfull = rlc_table_width(&full);
    /* the width is the sum of the column widths plus one space between */
    int sum = 0;
    for (int i = 0; i < full.n_cols; i++)
        sum += defs[full.cols[i]].width;
    cr_assert_eq(wfull, sum + full.n_cols - 1);
    cr_assert_gt(wfull, 80, "the full GRPO table (%d) must not fit 80 columns", wfull);
    cr_assert_leq(wfull, 150, "the full GRPO table (%d) fits 150 columns", wfull);

    rlc_table t = full;
    cr_assert_eq(rlc_table_fit(&t, 150), 0);
    cr_assert_eq(t.n_cols, full.n_cols);
    cr_assert_eq(rlc_table_fit(&t, 0), 0); /* no limit */

    for (int width = 40; width <= 140; width += 20) {
        t = full;
        int k = rlc_table_fit(&t, width);
        cr_assert_eq(k, t.n_dropped);
        cr_assert_eq(t.n_cols + t.n_dropped, full.n_cols);
        /* every priority-1 column stays, even when they alone are too wide */
        for (int i = 0; i < full.n_cols; i++)
            if (rlc_metric_priority(full.cols[i]) == 1)
                cr_assert(has_col(&t, full.cols[i]), "width %d dropped %s", width,
                          defs[full.cols[i]].key);
        int min_kept_droppable = 1;
        for (int i = 0; i < t.n_cols; i++)
            if (rlc_metric_priority(t.cols[i]) > min_kept_droppable)
                min_kept_droppable = rlc_metric_priority(t.cols[i]);
        for (int i = 0; i < t.n_dropped; i++) {
            /* nothing kept is of lower priority than something dropped */
            cr_assert_geq(rlc_metric_priority(t.dropped[i]), min_kept_droppable,
                          "width %d: dropped %s (priority %d) but kept one of priority %d", width,
                          defs[t.dropped[i]].key, rlc_metric_priority(t.dropped[i]),
                          min_kept_droppable);
            cr_assert(i == 0 || t.dropped[i - 1] < t.dropped[i], "dropped list in table order");
        }
        /* it fits, unless only priority-1 columns are left */
        int only_p1 = 1;
        for (int i = 0; i < t.n_cols; i++)
            only_p1 &= rlc_metric_priority(t.cols[i]) == 1;
        cr_assert(rlc_table_width(&t) <= width || only_p1, "width %d: row of %d", width,
                  rlc_table_width(&t));
        /* kept columns keep their order */
        for (int i = 1; i < t.n_cols; i++)
            cr_assert_lt(t.cols[i - 1], t.cols[i]);
    }
    /* at 80 columns exactly the priority-3 columns go first: all of them
     * before any of priority 2 */
    t = full;
    rlc_table_fit(&t, 80);
    cr_assert_leq(rlc_table_width(&t), 80);
    for (int i = 0; i < full.n_cols; i++)
        if (rlc_metric_priority(full.cols[i]) == 3)
            cr_assert(!has_col(&t, full.cols[i]), "%s kept at 80", defs[full.cols[i]].key);
    cr_assert(has_col(&t, RLC_M_LOSS) && has_col(&t, RLC_M_MEAN_REWARD) &&
              has_col(&t, RLC_M_STEP) && has_col(&t, RLC_M_EVAL_ACCURACY));
}

/* The whole text of the only file in dir/logs. */
static char *read_log(const char *dir) {
    char p[700];
    snprintf(p, sizeof p, "%s/logs", dir);
    DIR *d = opendir(p);
    cr_assert_not_null(d, "%s", p);
    struct dirent *e;
    char *text = NULL;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/logs/%s", dir, e->d_name);
        cr_assert_eq(rlc_read_file(p, &text, NULL), RLC_OK);
    }
    closedir(d);
    cr_assert_not_null(text);
    return text;
}

static void grpo_record(rlc_metric_record *r, int step, double loss) {
    rlc_metric_record_init(r);
    for (int i = 0; i < RLC_M_COUNT; i++)
        r->v[i] = 0.25;
    r->v[RLC_M_STEP] = step;
    r->v[RLC_M_LOSS] = loss;
    r->v[RLC_M_CORRECT_COUNT] = 3, r->v[RLC_M_TOTAL_COUNT] = 8;
    r->v[RLC_M_ZERO_STD_GROUPS] = 1, r->v[RLC_M_BATCH_SIZE] = 2;
    r->v[RLC_M_VAL_LOSS] = NAN;
    r->v[RLC_M_SKIPPED_STEPS] = 0; /* a NaN loss that was not skipped: the plain warning */
}

/* Runs `steps` GRPO steps from start through sinks at the given console width;
 * returns the console text (malloc'd), the log file's text in *log. */
static char *run_sinks(const char *dir, int start, int steps, int width, char **log) {
    cr_assert_eq(rlc_mkdir_p(dir), RLC_OK);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    rlc_sinks_params p = rlc_sinks_default_params();
    p.run_dir = dir;
    p.run_name = "t";
    p.mode = RLC_OBS_GRPO;
    p.features = RLC_SHOW_EVAL;
    p.start_step = start;
    p.total_steps = start + steps;
    p.tensorboard = 0;
    p.out = f;
    p.tty = 0;
    p.width = width;
    rlc_sinks *s;
    cr_assert_eq(rlc_sinks_open(&p, &s), RLC_OK, "%s", rlc_last_error());
    for (int i = start; i < start + steps; i++) {
        rlc_metric_record r;
        grpo_record(&r, i, i == start ? NAN : 0.5); /* a NaN loss: a warning at the first step */
        cr_assert_eq(rlc_sinks_step(s, &r, NULL, 0), RLC_OK, "%s", rlc_last_error());
    }
    cr_assert_eq(rlc_sinks_close(s), RLC_OK);
    fclose(f);
    *log = read_log(dir);
    return out;
}

Test(console, narrow_console_drops_columns_log_keeps_all) {
    char *log;
    char *con = run_sinks(tmp_path("run80"), 0, 3, 80, &log);
    /* every line of the table fits; the legend names what is not shown */
    const char *hdr = strstr(con, "\n step ");
    cr_assert_not_null(hdr, "%s", con);
    for (const char *l = hdr + 1; *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        if (l[0] == ' ') cr_assert_leq(n, 80, "row of %zu: %.*s", n, (int)n, l);
        l = e ? e + 1 : l + n;
    }
    cr_assert(strstr(con, "not shown at 80 columns"), "%s", con);
    cr_assert_null(strstr(hdr, " r_std"), "%s", con);
    cr_assert_null(strstr(hdr, " clip"), "%s", con);
    /* the log file's step lines keep every column */
    const rlc_metric_def *defs = rlc_metric_defs();
    rlc_table full;
    rlc_table_init(&full, RLC_OBS_GRPO, 1, 0);
    const char *step1 = strstr(log, "step 1 | ");
    cr_assert_not_null(step1, "%s", log);
    for (int i = 0; i < full.n_cols; i++) {
        char want[32];
        snprintf(want, sizeof want, "| %s ", defs[full.cols[i]].header);
        if (full.cols[i] != RLC_M_STEP)
            cr_assert(strstr(step1, want), "log lacks %s:\n%s", want, step1);
    }
    free(con);
    free(log);
    /* at 150 columns nothing is dropped */
    con = run_sinks(tmp_path("run150"), 0, 2, 150, &log);
    cr_assert_null(strstr(con, "not shown"), "%s", con);
    cr_assert(strstr(con, " r_std") && strstr(con, " clip"), "%s", con);
    free(con);
    free(log);
}

Test(console, legend_before_first_warning_and_short_on_resume) {
    char *log;
    char *con = run_sinks(tmp_path("fresh"), 0, 2, -1, &log);
    const char *legend = strstr(con, "step table, a row every step:");
    const char *warn = strstr(con, "step 0: loss is nan");
    const char *last_legend_line = strstr(con, "held-out greedy accuracy");
    cr_assert(legend && warn && last_legend_line, "%s", con);
    cr_assert_lt(legend, warn, "%s", con);
    cr_assert_lt(last_legend_line, warn, "the warning of step 0 cut into the legend:\n%s", con);
    /* legend, header, the step's warning, then its row */
    const char *header = strstr(con, "\n step "), *row0 = strstr(con, "\n    0 ");
    cr_assert(header && row0, "%s", con);
    cr_assert(last_legend_line < header && header < warn && warn < row0, "%s", con);
    free(con);
    free(log);
    /* a resume: one line on the console, the full legend in the log file */
    con = run_sinks(tmp_path("resumed"), 5, 2, -1, &log);
    cr_assert(strstr(con, "resumed at step 5: step table as before"), "%s", con);
    cr_assert_null(strstr(con, "held-out greedy accuracy"), "%s", con);
    cr_assert(strstr(log, "held-out greedy accuracy"), "%s", log);
    cr_assert(strstr(con, "step 5: loss is nan"), "%s", con);
    free(con);
    free(log);
}
