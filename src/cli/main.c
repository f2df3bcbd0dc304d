#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#define RLC_VERSION "0.1.0"

static const rlc_command commands[] = {
    {"info", "print a model's architecture, parameter count, dtype and memory", rlc_cmd_info},
    {"generate", "sample completions from a model with a KV cache", rlc_cmd_generate},
    {"merge", "fold a LoRA adapter into its base model (a plain Hugging Face directory)",
     rlc_cmd_merge},
    {"train", "GRPO training from a YAML config (see rlc train --help)", rlc_cmd_train},
    {"sft", "supervised fine-tuning from a YAML config", rlc_cmd_sft},
    {"eval", "accuracy, pass@k and mean reward on held-out problems, as JSON", rlc_cmd_eval},
    {"resume-check", "which checkpoint a resumed run would start from; are all intact",
     rlc_cmd_resume_check},
    {"monitor", "plots, summary.txt and convergence verdicts of a run; --compare runs",
     rlc_cmd_monitor},
    {"serve", "live dashboard of a folder of runs over HTTP (charts, completions, checkpoints)",
     rlc_cmd_serve},
    {"tokenize", "text to token ids (or back, with --decode) with a tokenizer.json",
     rlc_cmd_tokenize},
};

static void usage(FILE *f) {
    fprintf(f, "usage: rlc <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`rlc <command> --help` describes a command's options.\n");
}

int rlc_cli_fail(rlc_status st) {
    fprintf(stderr, "rlc: %s\n", rlc_last_error());
    return st == RLC_ERR_INVALID ? 2 : 1;
}

int main(int argc, char **argv) {
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
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rlc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
