/* rlc train, rlc sft and rlc eval. */
#include "cli/args.h"
#include "cli/cli.h"

#include "base/dist.h"
#include "envs/games/games.h"
#include "observe/log.h"
#include "train/evalrun.h"
#include "train/resume.h"
#include "train/run.h"

#include <jansson.h>
#include <limits.h>
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
            "usage: rlc %s CONFIG.yaml [section.key=value ...] [--check]\n\n"
            "Runs %s from a YAML config; any key can be overridden on the command line.\n"
            "--check only loads the config with the overrides and checks it (exit 0 or 2;\n"
            "nothing is written): rlc campaign checks every condition this way first.\n"
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
    int check = 0;
    for (int i = 2; i < argc; i++)
        check |= !strcmp(argv[i], "--check");
    rlc_status st = rlc_run_config_load(argv[1], &c);
    if (st) return rlc_cli_fail(st);
    char mode_set[32];
    snprintf(mode_set, sizeof mode_set, "training.mode=%s", cmd[0] == 't' ? "grpo" : "sft");
    st = rlc_run_config_set(&c, mode_set);
    for (int i = 2; st == RLC_OK && i < argc; i++) {
        if (!strcmp(argv[i], "--check")) continue;
        if (!strchr(argv[i], '=')) {
            st = rlc_errorf(RLC_ERR_INVALID, "%s: expected section.key=value, got '%s'", cmd,
                            argv[i]);
            break;
        }
        st = rlc_run_config_set(&c, argv[i]);
    }
    if (check) {
        if (st == RLC_OK) st = rlc_run_config_validate(&c);
        rlc_run_config_free(&c);
        if (st) return rlc_cli_fail(st);
        if (rlc_dist_rank() == 0) printf("I %s: the config and overrides are valid\n", argv[1]);
        return 0;
    }
    char *dir = NULL;
    if (st == RLC_OK) st = rlc_run(&c, &dir);
    rlc_run_config_free(&c);
    if (st == RLC_ERR_INTERRUPTED) {
        fprintf(stderr, "rlc: %s\n", rlc_last_error());
        return 128 + rlc_stop_signal();
    }
    if (st) return rlc_cli_fail(st);
    if (rlc_dist_rank() == 0) printf("I run directory: %s\n", dir);
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
    const char *model = NULL, *adapter = NULL, *run = NULL, *env = NULL, *ops = NULL;
    const char *rewards = NULL, *opponents = NULL;
    int n = 0, k = 1, max_new = 0, digits = 0, show = 0;
    float temperature = 0.0f;
    uint64_t seed = 0, data_seed = UINT64_MAX;
    rlc_opt opts[] = {
        {"run", OPT_STR, &run, "DIR",
         "a run directory: its final/ (or final/ adapter on model.path) scored on its held-out "
         "set with its config.yaml (data, system prompt, chat, fields, max_new_tokens, rewards)"},
        {"model", OPT_STR, &model, "DIR",
         "model directory (a run's final/ or a Hugging Face model)"},
        {"adapter", OPT_STR, &adapter, "DIR",
         "PEFT LoRA adapter directory; refused when trained on another base"},
        {"env", OPT_STR, &env, "ENV",
         "without --run: arithmetic, or a JSONL file whose every record is scored (arithmetic)"},
        {"n", OPT_INT, &n, "N",
         "held-out problems (the run's data.eval_size, else 200; "
         "0 there = all)"},
        {"samples", OPT_INT, &k, "K", "samples per problem for pass@k (1; K > 1 needs T > 0)"},
        {"temperature", OPT_FLOAT, &temperature, "T", "sampling temperature (0 = greedy)"},
        {"max-new-tokens", OPT_INT, &max_new, "N",
         "completion length limit (the run's algorithm.max_new_tokens, else 32)"},
        {"digits", OPT_INT, &digits, "D", "arithmetic without --run: operand digits (2)"},
        {"ops", OPT_STR, &ops, "OPS", "arithmetic without --run: operators from +-* (+)"},
        {"data-seed", OPT_U64, &data_seed, "S",
         "arithmetic problem seed, as data.seed (the run's, else 1234)"},
        {"rewards", OPT_STR, &rewards, "SPEC",
         "name[:weight],... (the run's rewards.weights, else number_check)"},
        {"seed", OPT_U64, &seed, "S", "sampling seed (0)"},
        {"show", OPT_INT, &show, "N", "print the first N completions to stderr (0)"},
        {"opponents", OPT_STR, &opponents, "LIST",
         "board games: full games, the model playing each held-out position to the end against "
         "each opponent of LIST, random,greedy,minimax(D) joined by commas (all three, D=2; \"\" "
         "for none)"},
        {0},
    };
    int pr =
        rlc_cli_parse("eval", "(--run DIR | --model DIR [--adapter DIR] [--env ENV]) [options]",
                      opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!model == !run) {
        fprintf(stderr, "rlc eval: give --run DIR or --model DIR (one of them)\n");
        return 2;
    }
    if (run && (adapter || env || digits || ops)) {
        fprintf(stderr, "rlc eval: --run takes the model, adapter and data from the run; drop "
                        "--adapter, --env, --digits and --ops\n");
        return 2;
    }
    if (n < 0 || k <= 0 || max_new < 0 || temperature < 0 || digits < 0 ||
        (data_seed != UINT64_MAX && data_seed > INT_MAX)) {
        fprintf(stderr,
                "rlc eval: --n, --samples and --max-new-tokens must be positive, "
                "--temperature >= 0, --data-seed <= %d\n",
                INT_MAX);
        return 2;
    }
    if (k > 1 && temperature == 0) {
        fprintf(stderr,
                "rlc eval: --samples %d at --temperature 0 would score %d copies of the same "
                "greedy completion; set --temperature > 0 for pass@%d\n",
                k, k, k);
        return 2;
    }
    rlc_run_config c;
    char mdir[4096], adir[4096];
    rlc_status st;
    if (run) {
        st = rlc_eval_load_run(run, &c, mdir, sizeof mdir, adir, sizeof adir);
        model = mdir;
        adapter = adir[0] ? adir : NULL;
    } else {
        c = rlc_run_config_default();
        st = rlc_run_config_set(&c, "data.max_prompt_tokens=512");
        if (st == RLC_OK && env && strcmp(env, "arithmetic")) {
            st = rlc_run_config_set(&c, "data.source=jsonl");
            const char *files[1] = {env};
            if (st == RLC_OK) st = rlc_run_config_set_list(&c.data.eval_path, files, 1);
            if (st == RLC_OK) st = rlc_run_config_set_list(&c.data.path, NULL, 0);
        }
        char set[64];
        snprintf(set, sizeof set, "data.arithmetic_digits=%d", digits ? digits : 2);
        if (st == RLC_OK) st = rlc_run_config_set(&c, set);
        if (st == RLC_OK && ops) {
            free(c.data.arithmetic_ops);
            if (!(c.data.arithmetic_ops = strdup(ops))) st = RLC_ERR_NOMEM;
        }
    }
    if (st) return rlc_cli_fail(st);
    if (data_seed != UINT64_MAX) c.data.seed = (int)data_seed;
    if (max_new) c.algorithm.max_new_tokens = max_new;
    if (!run && !n) n = 200;
    rlc_eval_opts o = {n, k, temperature, seed, show, rewards, opponents};
    rlc_eval_report rep;
    /* stdout is the JSON result */
    rlc_log_set_console(stderr, rlc_dist_rank() != 0 ? RLC_LOG_ERROR
                                : show > 0           ? RLC_LOG_DEBUG
                                                     : RLC_LOG_INFO);
    st = rlc_eval_config(&c, model, adapter, &o, &rep);
    int max_new_used = c.algorithm.max_new_tokens, seed_used = c.data.seed;
    rlc_run_config_free(&c);
    if (st) return rlc_cli_fail(st);
    const rlc_eval_result *r = &rep.r;
    json_t *js = json_object();
    json_object_set_new(js, "n", json_integer(r->n));
    json_object_set_new(js, "samples", json_integer(r->samples));
    json_object_set_new(js, "accuracy", json_real(r->accuracy));
    char key[32];
    snprintf(key, sizeof key, "pass@%d", r->samples);
    json_object_set_new(js, key, json_real(r->pass_at_k));
    json_object_set_new(js, "mean_reward", json_real(r->mean_reward));
    json_object_set_new(js, "mean_completion_tokens", json_real(r->mean_tokens));
    json_object_set_new(js, "seconds", json_real(r->seconds));
    json_object_set_new(js, "max_new_tokens", json_integer(max_new_used));
    json_object_set_new(js, "data_seed", json_integer(seed_used));
    json_object_set_new(js, "skipped_long_prompts", json_integer((json_int_t)rep.skipped_long));
    json_object_set_new(js, "first_prompt", json_string(rep.first_prompt ? rep.first_prompt : ""));
    if (r->game_samples) { /* board games: legal-move rate and results per opponent */
        json_t *g = json_object();
        json_object_set_new(g, "legal", json_real(r->accuracy));
        for (int o = 0; o < RLC_GAME_EVAL_OPPONENTS; o++) {
            rlc_game_opponent opp = rlc_game_eval_opponent(o);
            char name[32];
            rlc_game_opponent_name(&opp, name);
            json_object_set_new(g, name,
                                json_pack("{s:f, s:f, s:f}", "win", r->game_wdl[o][0], "draw",
                                          r->game_wdl[o][1], "loss", r->game_wdl[o][2]));
        }
        json_object_set_new(js, "games", g);
    }
    if (rep.n_opponents) { /* full games with the model in the loop */
        json_t *g = json_object();
        for (int o = 0; o < rep.n_opponents; o++) {
            const rlc_game_match_stats *f = &rep.full[o];
            char name[32];
            rlc_game_opponent_name(&rep.opponents[o], name);
            double games = f->games ? (double)f->games : 1, moves = f->moves ? (double)f->moves : 1;
            json_object_set_new(
                g, name,
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f}", "games", (json_int_t)f->games,
                          "wins", (json_int_t)f->wins, "draws", (json_int_t)f->draws, "losses",
                          (json_int_t)f->losses, "illegal", (json_int_t)f->illegal,
                          "mean_model_moves", (double)f->moves / games, "model_moves",
                          (json_int_t)f->moves, "legal", (double)f->legal / moves));
            rlc_logf(RLC_LOG_INFO,
                     "full games vs %s: %ld games, %ld won, %ld drawn, %ld lost (%ld by an illegal "
                     "move), %.2f model moves a game, %.1f%% of %ld legal",
                     name, f->games, f->wins, f->draws, f->losses, f->illegal,
                     (double)f->moves / games, 100.0 * (double)f->legal / moves, f->moves);
        }
        json_object_set_new(g, "seconds", json_real(rep.full_seconds));
        json_object_set_new(js, "full_games", g);
    }
    char *text = json_dumps(js, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (rlc_dist_rank() == 0) puts(text); /* MPI: rank 0 holds every rank's results */
    free(text);
    json_decref(js);
    rlc_eval_report_free(&rep);
    return 0;
}
