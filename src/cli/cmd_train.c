/* rlc train, rlc sft and rlc eval. */
#include "cli/args.h"
#include "cli/cli.h"

#include "observe/log.h"
#include "train/resume.h"
#include "train/run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rlc train|sft CONFIG [section.key=value ...] */
static int run_mode(int argc, char **argv, int mode) {
    const char *cmd = mode == RLC_RC_MODE_GRPO ? "train" : "sft";
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(
            f,
            "usage: rlc %s CONFIG.yaml [section.key=value ...]\n\n"
            "Runs %s from a YAML config; any key can be overridden on the command line.\n"
            "Everything the run writes goes to logging.run_dir/logging.run_name/.\n"
            "Running the same command again resumes the run from its newest checkpoint\n"
            "(or says it is complete); see checkpoint.resume below.\n\n"
            "Exit status: 0 done (or already complete), 1 error, 2 usage or config error\n"
            "(also a rerun refused because a setting changed), 130 / 143 stopped by\n"
            "SIGINT / SIGTERM after writing a checkpoint (run the command again to resume).\n\n",
            cmd, mode == RLC_RC_MODE_GRPO ? "GRPO" : "supervised fine-tuning");
        rlc_run_config_print_help(f, mode == RLC_RC_MODE_GRPO ? "grpo" : "sft");
        return argc < 2 ? 2 : 0;
    }
    rlc_run_config c;
    rlc_status st = rlc_run_config_load(argv[1], &c);
    if (st) return rlc_cli_fail(st);
    char mode_set[32];
    snprintf(mode_set, sizeof mode_set, "training.mode=%s", cmd[0] == 't' ? "grpo" : "sft");
    st = rlc_run_config_set(&c, mode_set);
    for (int i = 2; st == RLC_OK && i < argc; i++) {
        if (!strchr(argv[i], '=')) {
            st = rlc_errorf(RLC_ERR_INVALID, "%s: expected section.key=value, got '%s'", cmd,
                            argv[i]);
            break;
        }
        st = rlc_run_config_set(&c, argv[i]);
    }
    char *dir = NULL;
    if (st == RLC_OK) st = rlc_run(&c, &dir);
    rlc_run_config_free(&c);
    if (st == RLC_ERR_INTERRUPTED) {
        fprintf(stderr, "rlc: %s\n", rlc_last_error());
        return 128 + rlc_stop_signal();
    }
    if (st) return rlc_cli_fail(st);
    printf("I run directory: %s\n", dir);
    free(dir);
    return 0;
}

int rlc_cmd_train(int argc, char **argv) {
    return run_mode(argc, argv, RLC_RC_MODE_GRPO);
}

int rlc_cmd_sft(int argc, char **argv) {
    return run_mode(argc, argv, RLC_RC_MODE_SFT);
}

int rlc_cmd_eval(int argc, char **argv) {
    const char *model = NULL, *adapter = NULL, *env = "arithmetic", *ops = "+", *rewards = NULL;
    int n = 200, k = 1, max_new = 32, digits = 2, show = 0;
    float temperature = 0.0f;
    uint64_t seed = 0, data_seed = 1234;
    rlc_opt opts[] = {
        {"model", OPT_STR, &model, "DIR", "model directory (a run's final/ or a Hugging Face model)"},
        {"adapter", OPT_STR, &adapter, "DIR", "PEFT LoRA adapter directory"},
        {"env", OPT_STR, &env, "ENV", "arithmetic, or a GSM8K-form JSONL file (arithmetic)"},
        {"n", OPT_INT, &n, "N", "held-out problems (200)"},
        {"samples", OPT_INT, &k, "K", "samples per problem for pass@k (1; greedy when T=0)"},
        {"temperature", OPT_FLOAT, &temperature, "T", "sampling temperature (0 = greedy)"},
        {"max-new-tokens", OPT_INT, &max_new, "N", "completion length limit (32)"},
        {"digits", OPT_INT, &digits, "D", "arithmetic: operand digits (2)"},
        {"ops", OPT_STR, &ops, "OPS", "arithmetic: operators from +-* (+)"},
        {"data-seed", OPT_U64, &data_seed, "S", "arithmetic: problem seed, as data.seed (1234)"},
        {"rewards", OPT_STR, &rewards, "SPEC", "name[:weight],... (number_check)"},
        {"seed", OPT_U64, &seed, "S", "sampling seed (0)"},
        {"show", OPT_INT, &show, "N", "print the first N completions to stderr (0)"},
        {0},
    };
    int pr = rlc_cli_parse("eval", "--model DIR [--adapter DIR] [--env ENV] [--n N] [options]",
                           opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "rlc eval: --model DIR is required\n");
        return 2;
    }
    if (n <= 0 || k <= 0 || max_new <= 0 || temperature < 0) {
        fprintf(stderr, "rlc eval: --n, --samples and --max-new-tokens must be positive, "
                        "--temperature >= 0\n");
        return 2;
    }
    rlc_source src;
    rlc_status st;
    if (!strcmp(env, "arithmetic")) {
        rlc_arith_params ap = rlc_arith_default_params();
        ap.digits = digits;
        snprintf(ap.ops, sizeof ap.ops, "%s", ops);
        ap.seed = data_seed;
        st = rlc_source_arith(&src, &ap);
    } else {
        st = rlc_source_jsonl(&src, env, env); /* the whole file is the eval set */
    }
    if (st) return rlc_cli_fail(st);
    rlc_reward_set rw;
    st = rewards ? rlc_reward_set_parse(&rw, rewards)
                 : (rlc_reward_set_init(&rw), rlc_reward_set_add(&rw, "number_check", 1.0f));
    rlc_policy pol;
    if (st == RLC_OK) st = rlc_policy_load(model, adapter, &pol);
    rlc_eval_result r;
    if (show > 0) rlc_log_set_console(stderr, RLC_LOG_DEBUG); /* stdout is the JSON result */
    if (st == RLC_OK) {
        st = rlc_policy_evaluate(&pol, &src, &rw, n, k, temperature, max_new, seed, show, &r);
        rlc_policy_free(&pol);
    }
    rlc_source_free(&src);
    if (st) return rlc_cli_fail(st);
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(r.n));
    json_object_set_new(o, "samples", json_integer(r.samples));
    json_object_set_new(o, "accuracy", json_real(r.accuracy));
    char key[32];
    snprintf(key, sizeof key, "pass@%d", r.samples);
    json_object_set_new(o, key, json_real(r.pass_at_k));
    json_object_set_new(o, "mean_reward", json_real(r.mean_reward));
    json_object_set_new(o, "mean_completion_tokens", json_real(r.mean_tokens));
    json_object_set_new(o, "seconds", json_real(r.seconds));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    puts(text);
    free(text);
    json_decref(o);
    return 0;
}
