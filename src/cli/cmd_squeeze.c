/* rlc squeeze: the variance a LoRA adapter keeps at each lower rank, the rank
 * to use, and (with --out) the adapter squeezed to it. */
#include "cli/args.h"
#include "cli/cli.h"

#include "base/fs.h"
#include "model/squeeze.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_table(const rlc_squeeze *sq, const double *m) {
    int r = rlc_squeeze_source_rank(sq), n = rlc_squeeze_num_layers(sq);
    int rec = (int)m[RLC_SQUEEZE_RECOMMENDED_RANK], k_used = (int)m[RLC_SQUEEZE_RANK];
    printf("variance kept by the first k singular values of each dW = scale*B*A "
           "(%d adapted weight%s)\n",
           n, n == 1 ? "" : "s");
    printf("%5s %10s %10s %10s\n", "k", "mean", "min", "max");
    for (int k = 1; k <= r; k++) {
        double mean, lo, hi;
        rlc_squeeze_variance_stats(sq, k, &mean, &lo, &hi);
        printf("%5d %10.6f %10.6f %10.6f", k, mean, lo, hi);
        if (k == rec)
            printf("  <- recommended (mean >= %g)", m[RLC_SQUEEZE_MIN_VARIANCE_RETENTION]);
        if (k == k_used && k != rec) printf("  <- --rank");
        printf("\n");
    }
    printf("\n");
    for (int i = 0; i < RLC_SQUEEZE_METRIC_COUNT; i++) {
        const rlc_squeeze_metric_def *d = &rlc_squeeze_metric_defs[i];
        char v[32];
        if (d->integer)
            snprintf(v, sizeof v, "%d", (int)m[i]);
        else
            snprintf(v, sizeof v, "%.6g", m[i]);
        printf("%-31s %-9s %s\n", d->key, v, d->legend);
    }
}

/* --retention as a double in (0, 1]; -1 after printing why not. */
static double parse_retention(const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v <= 1)) {
        fprintf(stderr, "rlc squeeze: --retention '%s': expected a number in (0, 1]\n", s);
        return -1;
    }
    return v;
}

int rlc_cmd_squeeze(int argc, char **argv) {
    const char *dir = NULL, *retention = NULL, *out = NULL, *json = NULL;
    int rank = -1;
    rlc_opt opts[] = {
        {"adapter", OPT_POS, &dir, "ADAPTER_DIR",
         "PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors), e.g. a run's "
         "final/ or checkpoints/checkpoint-N/"},
        {"retention", OPT_STR, &retention, "V",
         "the mean share of variance (sum of squared singular values) the recommended rank "
         "keeps, in (0, 1] (0.95)"},
        {"rank", OPT_INT, &rank, "K",
         "use rank K (1 .. the adapter's r) instead of the recommended one"},
        {"out", OPT_STR, &out, "DIR",
         "write the squeezed adapter there: same PEFT layout and names, r = K, lora_alpha "
         "scaled to keep the scale, the source's base and tokenizer files; plus squeeze.json"},
        {"json", OPT_STR, &json, "FILE", "write the report (metrics, table, layers) as JSON"},
        {0},
    };
    int pr = rlc_cli_parse("squeeze",
                           "ADAPTER_DIR [--retention 0.95] [--rank K] [--out DIR] [--json FILE]",
                           opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!dir) {
        fprintf(stderr, "rlc squeeze: ADAPTER_DIR is required (see rlc squeeze --help)\n");
        return 2;
    }
    rlc_squeeze_params p = rlc_squeeze_default_params();
    if (retention && (p.retention = parse_retention(retention)) < 0) return 2;
    if (rank != -1 && rank < 1) {
        fprintf(stderr, "rlc squeeze: --rank %d: expected 1 or more\n", rank);
        return 2;
    }
    p.rank = rank > 0 ? rank : 0;
    rlc_squeeze *sq;
    rlc_status st = rlc_squeeze_open(dir, &sq);
    if (st) return rlc_cli_fail(st);
    double m[RLC_SQUEEZE_METRIC_COUNT];
    st = rlc_squeeze_summarize(sq, &p, m);
    if (st == RLC_OK) print_table(sq, m);
    char *report = NULL;
    if (st == RLC_OK && json) {
        report = rlc_squeeze_report_json(sq, m);
        st = report ? rlc_write_file_atomic(json, report, strlen(report))
                    : rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", json);
        free(report);
        if (st == RLC_OK) printf("wrote %s\n", json);
    }
    if (st == RLC_OK && out) {
        st = rlc_squeeze_write(sq, m, out);
        if (st == RLC_OK)
            printf("wrote %s: rank %d adapter (from r %d), squeeze.json\n", out,
                   (int)m[RLC_SQUEEZE_RANK], rlc_squeeze_source_rank(sq));
    }
    rlc_squeeze_free(sq);
    return st ? rlc_cli_fail(st) : 0;
}
