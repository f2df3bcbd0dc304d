/* rlc monitor RUN_DIR [--out DIR] [--compare RUN ...] [--labels NAME ...] */
#include "cli/args.h"
#include "cli/cli.h"

#include "base/fs.h"
#include "monitor/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "RUN_DIR [--out DIR] [--compare RUN ...] [--labels NAME ...]"

/* Moves the words after --compare / --labels (up to the next option) into
 * runs / labels, leaving the rest of argv for the option table. */
static int take_lists(int *argc, char **argv, const char **runs, int *n_runs, const char **labels,
                      int *n_labels, int cap) {
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char **dst = NULL;
        int *n = NULL;
        if (!strcmp(argv[i], "--compare")) dst = runs, n = n_runs;
        if (!strcmp(argv[i], "--labels")) dst = labels, n = n_labels;
        if (!dst) {
            argv[out++] = argv[i];
            continue;
        }
        const char *flag = argv[i];
        while (i + 1 < *argc && strncmp(argv[i + 1], "--", 2)) {
            if (*n >= cap) {
                fprintf(stderr, "rlc monitor: at most %d runs\n", cap);
                return -1;
            }
            dst[(*n)++] = argv[++i];
        }
        if (*n == 0) {
            fprintf(stderr, "rlc monitor: %s needs at least one value\n", flag);
            return -1;
        }
    }
    *argc = out;
    return 0;
}

int rlc_cmd_monitor(int argc, char **argv) {
    const char *run = NULL, *out = NULL, *runs[17], *labels[16];
    /* --compare A B and --labels x y are taken out of argv first; the table
     * lists them for --help, and takes the --compare=A form as one run */
    const char *one_run = NULL, *one_label = NULL;
    int n_runs = 0, n_labels = 0;
    if (take_lists(&argc, argv, runs + 1, &n_runs, labels, &n_labels, 16)) return 2;
    rlc_opt opts[] = {
        {"run", OPT_POS, &run, "RUN_DIR", "run directory holding metrics.jsonl"},
        {"out", OPT_STR, &out, "DIR",
         "where plots go (default RUN_DIR/plots, summary in RUN_DIR/summary.txt; with "
         "--compare: a new folder beside the first run, compare_A_vs_B, named after the runs "
         "or their labels; never inside a compared run)"},
        {"compare", OPT_STR, &one_run, "RUN ...",
         "overlay these runs (with RUN_DIR if given) and write compare.txt"},
        {"labels", OPT_STR, &one_label, "NAME ...", "legend names of the compared runs, in order"},
        {0},
    };
    int pr = rlc_cli_parse("monitor", SYNOPSIS, opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (one_run) runs[1 + n_runs++] = one_run;
    if (one_label) labels[n_labels++] = one_label;
    char path[4096], sum[4096];
    char *report = NULL;
    rlc_status st;
    if (n_runs) {
        const char **all = run ? runs : runs + 1;
        int n = n_runs + (run != NULL);
        if (run) runs[0] = run;
        if (n_labels && n_labels != n) {
            fprintf(stderr, "rlc monitor: %d labels for %d runs\n", n_labels, n);
            return 2;
        }
        if (!out) {
            st = rlc_monitor_compare_dir(all, n_labels ? labels : NULL, n, path, sizeof path);
            if (st) return rlc_cli_fail(st);
            out = path;
        }
        st = rlc_monitor_compare(all, n_labels ? labels : NULL, n, out, &report);
    } else {
        if (!run) {
            fprintf(stderr, "rlc monitor: RUN_DIR is required (usage: rlc monitor " SYNOPSIS ")\n");
            return 2;
        }
        if (n_labels) {
            fprintf(stderr, "rlc monitor: --labels goes with --compare\n");
            return 2;
        }
        if (!out) {
            if (rlc_path_join(path, sizeof path, run, "plots"))
                return rlc_cli_fail(RLC_ERR_INVALID);
            out = path;
        }
        st = rlc_path_join(sum, sizeof sum, out == path ? run : out, "summary.txt");
        if (st == RLC_OK) st = rlc_monitor_run(run, out, sum, &report);
    }
    if (report) fputs(report, stdout);
    free(report);
    if (st) return rlc_cli_fail(st);
    if (!n_runs) {
        char *text = NULL;
        if (rlc_read_file(sum, &text, NULL) == RLC_OK) fputs(text, stdout);
        free(text);
    }
    return 0;
}
