/* rlc diff: the keys two run configs differ in, in the notation a refused
 * rerun uses (rlc_run_config_each_change). rlc init: a starter config, every
 * key a mode reads with its default and help (rlc_run_config_dump_keys). */
#include "cli/args.h"
#include "cli/cli.h"

#include "base/fs.h"
#include "train/runconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A run directory's config.yaml, or path itself when it is not a directory. */
static rlc_status load_config_or_run(const char *path, rlc_run_config *c) {
    struct stat sb;
    char file[4096];
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if ((size_t)snprintf(file, sizeof file, "%s/config.yaml", path) >= sizeof file)
            return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", path);
        if (stat(file, &sb) != 0)
            return rlc_errorf(RLC_ERR_NOT_FOUND,
                              "%s: a directory without config.yaml (expected a run directory "
                              "or a config file)",
                              path);
        path = file;
    }
    return rlc_run_config_load(path, c);
}

typedef struct diff_ctx {
    int n;
} diff_ctx;

static rlc_status print_change(void *vctx, const char *key, const char *old_value,
                               const char *new_value, int may_change) {
    ((diff_ctx *)vctx)->n++;
    printf("%s: %s -> %s%s\n", key, old_value, new_value,
           may_change ? "  (may change on rerun)" : "");
    return RLC_OK;
}

int rlc_cmd_diff(int argc, char **argv) {
    const char *a = NULL, *b = NULL;
    rlc_opt opts[] = {
        {"a", OPT_POS, &a, "A", "a run directory (its config.yaml) or a config file"},
        {"b", OPT_POS, &b, "B", "the same, compared with A"},
        {0},
    };
    int pr = rlc_cli_parse("diff", "A B", opts, argc, argv);
    if (pr > 0) {
        printf("\nPrints each key whose value differs, one a line, as `section.key: A -> B`\n"
               "(the notation of a rerun refused for a changed setting); keys a rerun may\n"
               "change (logging, cadences, a grown training.steps) are marked so.\n"
               "Exit status: 0 equal, 1 different, 2 usage or config error.\n");
        return 0;
    }
    if (pr) return 2;
    if (!a || !b) {
        fprintf(stderr, "rlc diff: expected two runs or config files (usage: rlc diff A B)\n");
        return 2;
    }
    rlc_run_config ca, cb;
    rlc_status st = load_config_or_run(a, &ca);
    if (st) {
        rlc_cli_fail(st);
        return 2;
    }
    st = load_config_or_run(b, &cb);
    if (st) {
        rlc_run_config_free(&ca);
        rlc_cli_fail(st);
        return 2;
    }
    diff_ctx x = {0};
    st = rlc_run_config_each_change(&ca, &cb, print_change, &x);
    rlc_run_config_free(&ca);
    rlc_run_config_free(&cb);
    if (st) {
        rlc_cli_fail(st);
        return 2;
    }
    return x.n ? 1 : 0;
}

/* The starter: defaults, the mode, and either a model directory (LoRA on it,
 * tokenizer and chat format found there) or a small model from scratch with
 * the byte tokenizer, which runs as it is. */
static rlc_status starter_config(rlc_run_config *c, const char *mode, const char *model) {
    *c = rlc_run_config_default();
    char set[4200];
    snprintf(set, sizeof set, "training.mode=%s", mode);
    rlc_status st = rlc_run_config_set(c, set);
    if (st == RLC_OK && !model) st = rlc_run_config_set(c, "model.from_scratch=true");
    if (st == RLC_OK && model) {
        free(c->model.path);
        if (!(c->model.path = strdup(model))) st = RLC_ERR_NOMEM;
    }
    if (st == RLC_OK && model) st = rlc_run_config_set(c, "lora.enabled=true");
    if (st == RLC_OK) st = rlc_run_config_validate(c);
    if (st) rlc_run_config_free(c);
    return st;
}

int rlc_cmd_init(int argc, char **argv) {
    const char *mode = "grpo", *model = NULL, *out = NULL;
    rlc_opt opts[] = {
        {"mode", OPT_STR, &mode, "grpo|sft", "the keys of rlc train (grpo, default) or rlc sft"},
        {"model", OPT_STR, &model, "DIR",
         "a Hugging Face model directory: model.path, LoRA on, tokenizer and chat format from "
         "it (default: a small model from scratch with the byte tokenizer)"},
        {"out", OPT_STR, &out, "FILE", "write here (refused if it exists); default stdout"},
        {0},
    };
    int pr =
        rlc_cli_parse("init", "[--mode grpo|sft] [--model DIR] [--out FILE]", opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (strcmp(mode, "grpo") && strcmp(mode, "sft")) {
        fprintf(stderr, "rlc init: --mode is grpo or sft, got '%s'\n", mode);
        return 2;
    }
    struct stat sb;
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", model ? model : "");
    if (model && (stat(model, &sb) || !S_ISDIR(sb.st_mode) || access(cfg, R_OK))) {
        fprintf(stderr, "rlc init: --model %s: not a model directory (no config.json)\n", model);
        return 2;
    }
    if (out && access(out, F_OK) == 0) {
        fprintf(stderr, "rlc init: %s exists; not overwritten\n", out);
        return 2;
    }
    rlc_run_config c;
    rlc_status st = starter_config(&c, mode, model);
    if (st) return rlc_cli_fail(st);
    const char *cmd = strcmp(mode, "sft") ? "train" : "sft";
    char header[512];
    snprintf(header, sizeof header,
             "# rlc starter configuration (rlc init --mode %s): every key rlc %s reads, at\n"
             "# its default, with its help (`rlc %s --help` gives types and ranges).\n"
             "# Check it with `rlc %s FILE --check`, run it with `rlc %s FILE`.\n",
             mode, cmd, cmd, cmd, cmd);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) rlc_run_config_dump_keys(&c, m, header, mode);
    rlc_run_config_free(&c);
    if (!m || fclose(m)) {
        free(buf);
        fprintf(stderr, "rlc init: out of memory\n");
        return 1;
    }
    if (out) {
        st = rlc_write_file_atomic(out, buf, len);
        if (st == RLC_OK) fprintf(stderr, "I wrote %s\n", out);
    } else {
        fwrite(buf, 1, len, stdout);
    }
    free(buf);
    return st ? rlc_cli_fail(st) : 0;
}
