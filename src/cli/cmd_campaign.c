/* rlc campaign FILE.yaml [--parallel N] [--dry-run] */
#include "cli/args.h"
#include "cli/cli.h"

#include "campaign/campaign.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#define SYNOPSIS "FILE.yaml [--parallel N] [--dry-run]"

int rlc_cmd_campaign(int argc, char **argv) {
    const char *file = NULL;
    int parallel = 1, dry_run = 0;
    rlc_opt opts[] = {
        {"file", OPT_POS, &file, "FILE.yaml",
         "campaign: name, base config, seeds, conditions (label + overrides); see README "
         "\"Campaigns\". Runs go to RUN_DIR/NAME/LABEL_sSEED/, with manifest.json, "
         "summary.txt, summary.json and compare/ beside them. Running the same command again "
         "skips finished runs and resumes stopped ones. Exit status: 0 all runs done, 1 a run "
         "failed (the others still ran), 2 a bad campaign file or a condition rlc train "
         "refuses (nothing ran), 130 / 143 stopped by SIGINT / SIGTERM (the running runs "
         "saved a checkpoint)"},
        {"parallel", OPT_INT, &parallel, "N",
         "runs at once (1); each gets OMP_NUM_THREADS = cores / N (at least 1) unless "
         "OMP_NUM_THREADS is set"},
        {"dry-run", OPT_FLAG, &dry_run, NULL,
         "check every condition and print the rlc train command lines; run and write nothing"},
        {0},
    };
    int pr = rlc_cli_parse("campaign", SYNOPSIS, opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!file) {
        fprintf(stderr, "rlc campaign: FILE.yaml is required (usage: rlc campaign " SYNOPSIS ")\n");
        return 2;
    }
    if (parallel < 1 || parallel > 64) {
        fprintf(stderr, "rlc campaign: --parallel expects 1 to 64, got %d\n", parallel);
        return 2;
    }
    /* the runs execute this very binary */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || n >= (ssize_t)sizeof self - 1) {
        fprintf(stderr, "rlc campaign: cannot find the rlc binary (/proc/self/exe)\n");
        return 1;
    }
    self[n] = 0;
    rlc_campaign c;
    rlc_status st = rlc_campaign_load(file, &c);
    if (st) return rlc_cli_fail(st);
    rlc_campaign_opts o = {self, parallel, dry_run, stdout};
    rlc_campaign_result res;
    st = rlc_campaign_run(&c, &o, &res);
    rlc_campaign_free(&c);
    if (st) return rlc_cli_fail(st);
    if (res.stop_signal) return 128 + res.stop_signal;
    return res.n_failed ? 1 : 0;
}
