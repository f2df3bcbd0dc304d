#include "cli/cli.h"

#include "base/dist.h"
#include "base/version.h"
#include "observe/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const rlc_command commands[] = {
    {"info", "print a model's architecture, parameter count, dtype and memory", rlc_cmd_info},
    {"generate", "sample completions from a model with a KV cache", rlc_cmd_generate},
    {"merge", "fold a LoRA adapter into its base model (a plain Hugging Face directory)",
     rlc_cmd_merge},
    {"squeeze", "the variance a LoRA adapter keeps at lower ranks; the adapter at a lower rank",
     rlc_cmd_squeeze},
    {"init", "write a commented starter config (every key, its default and help)", rlc_cmd_init},
    {"train", "GRPO training from a YAML config (see rlc train --help)", rlc_cmd_train},
    {"sft", "supervised fine-tuning from a YAML config", rlc_cmd_sft},
    {"eval", "accuracy, pass@k and mean reward on held-out problems, as JSON", rlc_cmd_eval},
    {"resume-check", "which checkpoint a resumed run would start from; are all intact",
     rlc_cmd_resume_check},
    {"campaign", "conditions x seeds of rlc train from one file, resumable, with a summary",
     rlc_cmd_campaign},
    {"monitor", "plots, summary.txt and convergence verdicts of a run; --compare runs",
     rlc_cmd_monitor},
    {"diff", "the config keys two runs (or config files) differ in, old -> new", rlc_cmd_diff},
    {"status", "one line per run under a folder: status, step, reward, eval, ETA; --watch",
     rlc_cmd_status},
    {"top",
     "full-screen live view of one run: progress, sparklines, latest rows, warnings; q quits",
     rlc_cmd_top},
    {"serve", "live dashboard of a folder of runs over HTTP (charts, completions, checkpoints)",
     rlc_cmd_serve},
    {"tokenize", "text to token ids (or back, with --decode) with a tokenizer.json",
     rlc_cmd_tokenize},
};

/* libgomp (which OpenBLAS's OpenMP build shares) lets a thread that waits at a
 * barrier spin 300,000 rounds before it sleeps. On a core shared with another
 * busy process that spin takes the time slice the thread it waits for needs:
 * beside one busy process demo SFT steps ran 5.8x and demo GRPO steps 40x
 * slower than idle. 1000 rounds keep both within ~2.3x of idle there, for 6%
 * (SFT) to 31% (GRPO) of idle speed; OMP_WAIT_POLICY=PASSIVE costs 25% and
 * 115%. The numbers are in README "Threads on shared cores". libgomp reads its
 * environment before main, so the setting takes one exec of this binary (same
 * pid, argv and signals). A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins. */
#define RLC_GOMP_SPINCOUNT "1000"

static void bound_omp_spin(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    /* the binary's own path, not /proc/self/exe, so that ps and pgrep still
     * name the process rlc */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || n >= (ssize_t)sizeof self - 1) return;
    self[n] = 0;
    if (setenv("GOMP_SPINCOUNT", RLC_GOMP_SPINCOUNT, 1)) return;
    execv(self, argv);
    unsetenv("GOMP_SPINCOUNT"); /* no exec (binary replaced or gone): libgomp's default */
}

static void usage(FILE *f) {
    fprintf(f, "usage: rlc <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`rlc <command> --help` describes a command's options.\n");
    fprintf(f,
            "\nenvironment: OMP_NUM_THREADS sets the thread count. Waiting threads spin "
            "GOMP_SPINCOUNT=%s\nrounds, then sleep (rlc sets it unless OMP_WAIT_POLICY or "
            "GOMP_SPINCOUNT is set), so\nanother busy process on the cores does not slow "
            "rlc down many times over.\n"
            "The thread count also follows the cores rlc gets: beside another busy process it "
            "drops (to one\non 2 cores) and comes back when they are free; results do not "
            "depend on it.\nRLC_ADAPT_THREADS=0 keeps OMP_NUM_THREADS fixed.\n"
            "Under mpirun/srun, a rank that waits in one MPI call longer than RLC_DIST_TIMEOUT "
            "seconds\n(default %d; 0 = for ever) ends itself, and with it the job.\n",
            RLC_GOMP_SPINCOUNT, RLC_DIST_TIMEOUT_DEFAULT);
}

int rlc_cli_fail(rlc_status st) {
    fprintf(stderr, "rlc: %s\n", rlc_last_error());
    return st == RLC_ERR_INVALID ? 2 : 1;
}

int main(int argc, char **argv) {
    bound_omp_spin(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("rlc %s\n", RLC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            /* under mpirun/srun every rank runs the command; rank 0 alone
             * speaks (errors still reach stderr from any rank) */
            rlc_status ds = rlc_dist_init(&argc, &argv);
            if (ds) return rlc_cli_fail(ds);
            if (rlc_dist_rank() != 0) rlc_log_set_console(stdout, RLC_LOG_ERROR);
            int rc = commands[i].run(argc - 1, argv + 1);
            rlc_dist_finalize(rc != 0);
            return rc;
        }
    fprintf(stderr, "rlc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
