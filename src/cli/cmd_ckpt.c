/* rlc resume-check: what a resumed run would start from, and whether every
 * checkpoint of a run still matches its manifest. */
#include "cli/args.h"
#include "cli/cli.h"

#include "train/checkpoint.h"
#include "train/resume.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static void human_bytes(char *out, size_t cap, double b) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4)
        b /= 1024, i++;
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

int rlc_cmd_resume_check(int argc, char **argv) {
    const char *run_dir = NULL;
    rlc_opt opts[] = {
        {"run-dir", OPT_POS, &run_dir, "RUN_DIR", "run directory (holds checkpoints/)"},
        {0},
    };
    int pr = rlc_cli_parse("resume-check", "RUN_DIR", opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!run_dir) {
        fprintf(stderr, "rlc resume-check: RUN_DIR is required\n");
        return 2;
    }
    struct stat sb;
    if (stat(run_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "rlc resume-check: %s: not a directory\n", run_dir);
        return 1;
    }
    rlc_ckpt_info *info;
    int n;
    rlc_status st = rlc_ckpt_list(run_dir, &info, &n);
    if (st) return rlc_cli_fail(st);
    int committed = 0, damaged = 0, resume = -1;
    printf("checkpoints in %s/checkpoints:\n", run_dir);
    if (n == 0) printf("  (none)\n");
    for (int i = 0; i < n; i++) {
        const rlc_ckpt_info *c = &info[i];
        if (c->intact) {
            char b[32];
            human_bytes(b, sizeof b, (double)c->bytes);
            printf("  %-24s intact (%d files, %s)\n", c->name, c->files, b);
            if (resume < 0) resume = i;
        } else {
            printf("  %-24s %s: %s\n", c->name, c->temporary ? "incomplete" : "DAMAGED", c->reason);
        }
        committed += !c->temporary;
        damaged += !c->temporary && !c->intact;
    }
    if (committed)
        printf("%d of %d checkpoints intact%s\n", committed - damaged, committed,
               damaged ? " (damaged ones are skipped)" : "");
    long final_step;
    int early;
    st = rlc_run_final_step(run_dir, &final_step, &early);
    if (st == RLC_OK && final_step >= 0 && early)
        printf("final/ holds the finished run (step %ld, ended at training.stop_at_accuracy): "
               "the same command reports it complete\n",
               final_step);
    else if (st == RLC_OK && final_step >= 0)
        printf("final/ holds the finished run (step %ld): the same command reports it complete; "
               "a larger training.steps continues from the newest checkpoint\n",
               final_step);
    if (resume >= 0)
        printf("resume would start from %s (step %" PRId64 ")\n", info[resume].name,
               info[resume].step);
    else
        printf("no intact checkpoint: a run would start fresh\n");
    free(info);
    if (st) return rlc_cli_fail(st);
    return 0;
}
