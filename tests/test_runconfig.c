/* Run configuration: defaults, the example configs, overrides of every type,
 * write -> load round trips, and the one-line errors (with nearest-key
 * suggestions and line numbers) for bad keys, types, ranges and YAML. */
#include "rl/planning.h"
#include "tmpdir.h"
#include "train/runconfig.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(runconfig, .init = tmpdir_setup, .fini = tmpdir_teardown);

static const char *write_yaml(const char *name, const char *text) {
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Loads text as a YAML file; expects failure and a message equal to
 * "<path>:<rest>". */
static void expect_load_error(const char *text, rlc_status want, const char *rest) {
    const char *p = write_yaml("bad.yaml", text);
    rlc_run_config c;
    cr_assert_eq(rlc_run_config_load(p, &c), want, "%s", rlc_last_error());
    char msg[1024];
    snprintf(msg, sizeof msg, "%s:%s", p, rest);
    cr_assert_str_eq(rlc_last_error(), msg);
    cr_assert_null(c.model.path); /* released and zeroed */
    rlc_run_config_free(&c);      /* and a second free is harmless */
}

static void expect_set_error(const char *assignment, const char *rest) {
    rlc_run_config c = rlc_run_config_default();
    rlc_run_config before;
    cr_assert_eq(rlc_run_config_copy(&before, &c), RLC_OK);
    cr_assert_eq(rlc_run_config_set(&c, assignment), RLC_ERR_INVALID, "%s accepted", assignment);
    char msg[1024];
    snprintf(msg, sizeof msg, "override '%s': %s", assignment, rest);
    cr_assert_str_eq(rlc_last_error(), msg);
    cr_assert_null(rlc_run_config_diff(&c, &before), "failed override changed the config");
    rlc_run_config_free(&c);
    rlc_run_config_free(&before);
}

static void set_ok(rlc_run_config *c, const char *assignment) {
    cr_assert_eq(rlc_run_config_set(c, assignment), RLC_OK, "%s: %s", assignment, rlc_last_error());
}

/* A config that passes validation, to break one rule at a time. */
static rlc_run_config valid_config(void) {
    rlc_run_config c = rlc_run_config_default();
    set_ok(&c, "model.from_scratch=true");
    cr_assert_eq(rlc_run_config_validate(&c), RLC_OK, "%s", rlc_last_error());
    return c;
}

static void expect_invalid(const char *const *assignments, int n, const char *needle) {
    rlc_run_config c = valid_config();
    for (int i = 0; i < n; i++)
        set_ok(&c, assignments[i]);
    cr_assert_eq(rlc_run_config_validate(&c), RLC_ERR_INVALID, "accepted: %s", assignments[0]);
    cr_assert(strstr(rlc_last_error(), needle), "'%s' lacks '%s'", rlc_last_error(), needle);
    cr_assert(strncmp(rlc_last_error(), "config: ", 8) == 0);
    rlc_run_config_free(&c);
}
#define EXPECT_INVALID(needle, ...)                                                                \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__};                                                          \
        expect_invalid(a_, (int)(sizeof a_ / sizeof a_[0]), needle);                               \
    } while (0)

Test(runconfig, defaults) {
    rlc_run_config c = rlc_run_config_default();
    cr_assert_str_eq(c.model.path, "");
    cr_assert_eq(c.model.from_scratch, 0);
    cr_assert_eq(c.model.layers, 4);
    cr_assert_eq(c.model.hidden, 128);
    cr_assert_eq(c.model.heads, 4);
    cr_assert_eq(c.model.kv_heads, 4);
    cr_assert_eq(c.model.intermediate, 344);
    cr_assert_eq(c.model.max_seq, 256);
    cr_assert_eq(c.tokenizer.kind, RLC_RC_TOK_AUTO);
    cr_assert_eq(c.tokenizer.chat, RLC_RC_CHAT_AUTO);
    cr_assert_eq(c.lora.enabled, 0);
    cr_assert_eq(c.lora.rank, 16);
    cr_assert_eq(c.lora.alpha, 32.0);
    cr_assert_eq(c.lora.targets.n, 4);
    cr_assert_str_eq(c.lora.targets.items[0], "q_proj");
    cr_assert_str_eq(c.lora.targets.items[3], "o_proj");
    cr_assert_eq(c.data.source, RLC_RC_DATA_ARITHMETIC);
    cr_assert_eq(c.data.max_prompt_tokens, 128);
    cr_assert_eq(c.data.arithmetic_digits, 2);
    cr_assert_str_eq(c.data.arithmetic_ops, "+");
    cr_assert_eq(c.data.eval_size, 200);
    cr_assert_eq(c.data.seed, 1234);
    cr_assert_eq(c.rewards.weights.n, 1);
    cr_assert_str_eq(c.rewards.weights.names[0], "number_check");
    cr_assert_eq(c.rewards.weights.values[0], 1.0);
    cr_assert_eq(c.algorithm.advantage, RLC_RC_ADV_GRPO);
    cr_assert_eq(c.algorithm.scale_rewards, RLC_RC_SCALE_GROUP);
    cr_assert_eq(c.algorithm.group_size, 4);
    cr_assert_eq(c.algorithm.epsilon, 0.2);
    cr_assert_eq(c.algorithm.epsilon_high, 0.2);
    cr_assert_eq(c.algorithm.beta, 0.0);
    cr_assert_eq(c.algorithm.loss_agg, RLC_RC_AGG_TOKEN_MEAN);
    cr_assert_eq(c.algorithm.max_new_tokens, 32);
    cr_assert_eq(c.training.mode, RLC_RC_MODE_GRPO);
    cr_assert_eq(c.training.steps, 100);
    cr_assert_eq(c.training.batch_size, 16);
    cr_assert_eq(c.optimizer.lr, 1e-4);
    cr_assert_eq(c.optimizer.beta2, 0.999);
    cr_assert_eq(c.optimizer.eps, 1e-8);
    cr_assert_eq(c.optimizer.max_grad_norm, 1.0);
    cr_assert_eq(c.optimizer.schedule, RLC_RC_SCHED_CONSTANT);
    cr_assert_str_eq(c.logging.run_dir, "runs");
    cr_assert_eq(c.logging.table_header_every, 20);
    cr_assert_eq(c.checkpoint.save_every, 50);
    cr_assert_eq(c.checkpoint.keep_last, 3);
    cr_assert_eq(c.checkpoint.resume, RLC_RC_RESUME_AUTO);
    /* Defaults alone name no model: validation says how to fix that. */
    cr_assert_eq(rlc_run_config_validate(&c), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "model.path is empty"));
    cr_assert(strstr(rlc_last_error(), "model.from_scratch=true"));
    rlc_run_config_free(&c);
    rlc_run_config_free(&c);

    /* A NULL path loads the same defaults. */
    rlc_run_config d, e = rlc_run_config_default();
    cr_assert_eq(rlc_run_config_load(NULL, &d), RLC_OK);
    cr_assert_null(rlc_run_config_diff(&d, &e));
    rlc_run_config_free(&d);
    rlc_run_config_free(&e);
}

/* hicra.phrases' default is the detector's own list, and a replaced list
 * (apostrophes and spaces inside items) writes and loads back. */
Test(runconfig, hicra_phrases_default_and_replaced) {
    rlc_run_config c = rlc_run_config_default();
    cr_assert_eq(c.hicra.phrases.n, RLC_PLANNING_DEFAULT_N);
    for (int i = 0; i < RLC_PLANNING_DEFAULT_N; i++)
        cr_expect_str_eq(c.hicra.phrases.items[i], rlc_planning_phrases_default[i]);
    cr_assert_eq(rlc_run_config_set(&c, "hicra.phrases=[let's see, hmm]"), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(c.hicra.phrases.n, 2);
    cr_expect_str_eq(c.hicra.phrases.items[0], "let's see");
    char path[1024];
    snprintf(path, sizeof path, "%s/c.yaml", tmpdir);
    cr_assert_eq(rlc_run_config_write(&c, path), RLC_OK, "%s", rlc_last_error());
    rlc_run_config d;
    cr_assert_eq(rlc_run_config_load(path, &d), RLC_OK, "%s", rlc_last_error());
    cr_expect_null(rlc_run_config_diff(&c, &d));
    rlc_run_config_free(&c);
    rlc_run_config_free(&d);
}

Test(runconfig, example_configs_load_and_validate) {
    glob_t g;
    cr_assert_eq(glob("configs/*.yaml", 0, NULL, &g), 0, "run from the repository root");
    cr_assert_geq(g.gl_pathc, 3);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        rlc_run_config c;
        cr_assert_eq(rlc_run_config_load(g.gl_pathv[i], &c), RLC_OK, "%s", rlc_last_error());
        cr_assert_eq(rlc_run_config_validate(&c), RLC_OK, "%s", rlc_last_error());
        rlc_run_config_free(&c);
    }
    globfree(&g);

    rlc_run_config c;
    cr_assert_eq(rlc_run_config_load("configs/grpo_gsm8k_qwen.yaml", &c), RLC_OK);
    cr_assert_eq(c.lora.enabled, 1);
    cr_assert_eq(c.lora.targets.n, 7);
    cr_assert_str_eq(c.lora.targets.items[6], "down_proj");
    cr_assert_eq(c.data.source, RLC_RC_DATA_JSONL);
    cr_assert_eq(c.tokenizer.kind, RLC_RC_TOK_HF);
    cr_assert_eq(c.algorithm.epsilon_high, 0.28);
    cr_assert_eq(c.optimizer.lr, 1e-5);
    cr_assert_eq(c.rewards.weights.n, 2);
    cr_assert_str_eq(c.rewards.weights.names[1], "format_approx");
    cr_assert_eq(c.rewards.weights.values[1], 0.1);
    rlc_run_config_free(&c);

    cr_assert_eq(rlc_run_config_load("configs/sft_arithmetic.yaml", &c), RLC_OK);
    cr_assert_eq(c.training.mode, RLC_RC_MODE_SFT);
    cr_assert_eq(c.model.from_scratch, 1);
    cr_assert_eq(c.tokenizer.kind, RLC_RC_TOK_BYTE);
    rlc_run_config_free(&c);
}

Test(runconfig, overrides_of_every_type) {
    rlc_run_config c = rlc_run_config_default();
    set_ok(&c, "training.steps=250");
    cr_assert_eq(c.training.steps, 250);
    set_ok(&c, " training.seed = 7 ");
    cr_assert_eq(c.training.seed, 7);
    set_ok(&c, "algorithm.group_size=+8");
    cr_assert_eq(c.algorithm.group_size, 8);
    set_ok(&c, "optimizer.lr=3e-5");
    cr_assert_eq(c.optimizer.lr, 3e-5);
    set_ok(&c, "algorithm.temperature=1"); /* an integer is a fine float */
    cr_assert_eq(c.algorithm.temperature, 1.0);
    set_ok(&c, "lora.enabled=true");
    cr_assert_eq(c.lora.enabled, 1);
    set_ok(&c, "lora.rslora=yes");
    cr_assert_eq(c.lora.rslora, 1);
    set_ok(&c, "data.shuffle=Off");
    cr_assert_eq(c.data.shuffle, 0);
    set_ok(&c, "algorithm.advantage=maxrl");
    cr_assert_eq(c.algorithm.advantage, RLC_RC_ADV_MAXRL);
    set_ok(&c, "algorithm.loss_agg=seq_mean_token_sum_norm");
    cr_assert_eq(c.algorithm.loss_agg, RLC_RC_AGG_SEQ_MEAN_TOKEN_SUM_NORM);
    set_ok(&c, "model.path=/models/Qwen2.5-0.5B-Instruct");
    cr_assert_str_eq(c.model.path, "/models/Qwen2.5-0.5B-Instruct");
    set_ok(&c, "data.system_prompt=a=b: c # d"); /* only the first '=' splits */
    cr_assert_str_eq(c.data.system_prompt, "a=b: c # d");
    set_ok(&c, "logging.run_name=");
    cr_assert_str_eq(c.logging.run_name, "");

    set_ok(&c, "lora.targets=q_proj, v_proj");
    cr_assert_eq(c.lora.targets.n, 2);
    cr_assert_str_eq(c.lora.targets.items[1], "v_proj");
    set_ok(&c, "lora.targets=[gate_proj, up_proj, down_proj]");
    cr_assert_eq(c.lora.targets.n, 3);
    cr_assert_str_eq(c.lora.targets.items[0], "gate_proj");
    set_ok(&c, "lora.targets=");
    cr_assert_eq(c.lora.targets.n, 0);

    set_ok(&c, "rewards.weights=answer_check:1,format_exact=0.25");
    cr_assert_eq(c.rewards.weights.n, 2);
    cr_assert_str_eq(c.rewards.weights.names[0], "answer_check");
    cr_assert_eq(c.rewards.weights.values[1], 0.25);
    set_ok(&c, "rewards.weights={number_check: 2, format_approx: -0.5}");
    cr_assert_eq(c.rewards.weights.n, 2);
    cr_assert_str_eq(c.rewards.weights.names[0], "number_check");
    cr_assert_eq(c.rewards.weights.values[1], -0.5);
    /* One entry: replaced in place, or appended. */
    set_ok(&c, "rewards.weights.number_check=3");
    set_ok(&c, "rewards.weights.answer_check=0.5");
    cr_assert_eq(c.rewards.weights.n, 3);
    cr_assert_eq(c.rewards.weights.values[0], 3.0);
    cr_assert_str_eq(c.rewards.weights.names[2], "answer_check");
    cr_assert_eq(c.rewards.weights.values[2], 0.5);
    rlc_run_config_free(&c);
}

Test(runconfig, round_trip_write_load) {
    rlc_run_config c = rlc_run_config_default();
    const char *sets[] = {
        "model.path=/m/Qwen2.5 0.5B",
        "model.from_scratch=true",
        "model.layers=7",
        "model.rope_theta=1000000",
        "tokenizer.path=null",
        "tokenizer.kind=byte",
        "tokenizer.chat=llama3",
        "lora.enabled=on",
        "lora.alpha=0.30000000000000004",
        "lora.targets=[all-linear]",
        "data.source=jsonl",
        "data.path=-dash.jsonl",
        "data.eval_path=#not a comment",
        "data.prompt_key=123",
        "data.answer_key=true",
        "data.system_prompt=Say \"hi\"\\n\tthen: {x} [y] 'z' é\n2nd line",
        "data.arithmetic_ops=+-*",
        "rewards.weights={format_exact: 1e-7, answer_check: -2.5, number_check: 0}",
        "algorithm.advantage=dr_grpo",
        "algorithm.scale_rewards=none",
        "algorithm.epsilon=0.1",
        "algorithm.epsilon_high=0.28",
        "algorithm.beta=0.04",
        "algorithm.top_p=0.95",
        "algorithm.top_k=50",
        "training.mode=sft",
        "training.steps=0",
        "training.epochs=3",
        "optimizer.lr=1.23456789012345e-05",
        "optimizer.eps=1e-300",
        "optimizer.schedule=cosine",
        "logging.run_dir=~",
        "logging.run_name=a b",
        "logging.tensorboard=false",
        "checkpoint.resume=never",
        "checkpoint.keep_every=100",
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        set_ok(&c, sets[i]);
    cr_assert_str_eq(c.tokenizer.path, "null"); /* an override value is text, never YAML null */
    cr_assert_str_eq(c.logging.run_dir, "~");

    const char *p = tmp_path("config.yaml");
    cr_assert_eq(rlc_run_config_write(&c, p), RLC_OK, "%s", rlc_last_error());
    rlc_run_config d;
    cr_assert_eq(rlc_run_config_load(p, &d), RLC_OK, "%s", rlc_last_error());
    const char *diff = rlc_run_config_diff(&c, &d);
    cr_assert_null(diff, "round trip changed %s", diff ? diff : "");
    cr_assert_str_eq(d.data.system_prompt, "Say \"hi\"\\n\tthen: {x} [y] 'z' é\n2nd line");
    cr_assert_eq(d.lora.alpha, 0.30000000000000004);

    /* Copies compare equal until one key changes, which diff names. */
    rlc_run_config e;
    cr_assert_eq(rlc_run_config_copy(&e, &d), RLC_OK);
    cr_assert_null(rlc_run_config_diff(&d, &e));
    set_ok(&e, "rewards.weights.number_check=0.5");
    cr_assert_str_eq(rlc_run_config_diff(&d, &e), "rewards.weights");
    set_ok(&e, "model.layers=8");
    cr_assert_str_eq(rlc_run_config_diff(&d, &e), "model.layers");

    /* The defaults round-trip too, and the file lists every key once. */
    rlc_run_config f = rlc_run_config_default(), g;
    cr_assert_eq(rlc_run_config_write(&f, p), RLC_OK);
    cr_assert_eq(rlc_run_config_load(p, &g), RLC_OK, "%s", rlc_last_error());
    cr_assert_null(rlc_run_config_diff(&f, &g));
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    rlc_run_config_dump(&f, m);
    fclose(m);
    cr_assert(strstr(text, "\nalgorithm:"));
    cr_assert(strstr(text, "\n  group_size: 4 "));
    cr_assert(strstr(text, "\n  targets: [q_proj, k_proj, v_proj, o_proj] "));
    cr_assert(strstr(text, "\n  weights: {number_check: 1} "));
    cr_assert(strstr(text, "\n  lr: 0.0001 "));
    cr_assert(strstr(text, "\n  rope_theta: 10000 "));
    free(text);

    rlc_run_config_free(&c);
    rlc_run_config_free(&d);
    rlc_run_config_free(&e);
    rlc_run_config_free(&f);
    rlc_run_config_free(&g);
}

Test(runconfig, yaml_values) {
    const char *p = write_yaml("ok.yaml", "# comment\n"
                                          "lora:\n"
                                          "training: {steps: \"10\", mode: sft}\n"
                                          "data:\n"
                                          "  path: ~\n"
                                          "  system_prompt: 'null'\n"
                                          "  eval_path:\n"
                                          "lora:\n"
                                          "  targets: q_proj,v_proj\n"
                                          "rewards:\n"
                                          "  weights:\n");
    rlc_run_config c;
    cr_assert_eq(rlc_run_config_load(p, &c), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(c.training.steps, 10);
    cr_assert_eq(c.training.mode, RLC_RC_MODE_SFT);
    cr_assert_eq(c.data.path.n, 0);
    cr_assert_str_eq(c.data.system_prompt, "null"); /* quoted: a string, not null */
    cr_assert_eq(c.lora.targets.n, 2);
    cr_assert_eq(c.rewards.weights.n, 0);
    rlc_run_config_free(&c);

    cr_assert_eq(rlc_run_config_load(write_yaml("empty.yaml", "# nothing\n"), &c), RLC_OK);
    rlc_run_config d = rlc_run_config_default();
    cr_assert_null(rlc_run_config_diff(&c, &d));
    rlc_run_config_free(&c);
    rlc_run_config_free(&d);
}

/* The resolved YAML of c, malloc'd. */
static char *dump_text(const rlc_run_config *c) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    rlc_run_config_dump(c, m);
    fclose(m);
    return text;
}

/* data.path and data.eval_path: one file or a list of them, in every form a
 * list key takes; written back as one string for one file, and a changed
 * list (other files, or the same in another order) changes the experiment. */
Test(runconfig, data_files_one_or_a_list) {
    const char *p = write_yaml("files.yaml", "data:\n"
                                             "  path:\n"
                                             "    - a.jsonl\n"
                                             "    - dir/b.jsonl\n"
                                             "  eval_path: [\"e 1.jsonl\", e2.jsonl]\n");
    rlc_run_config c;
    cr_assert_eq(rlc_run_config_load(p, &c), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(c.data.path.n, 2);
    cr_assert_str_eq(c.data.path.items[0], "a.jsonl");
    cr_assert_str_eq(c.data.path.items[1], "dir/b.jsonl");
    cr_assert_eq(c.data.eval_path.n, 2);
    cr_assert_str_eq(c.data.eval_path.items[0], "e 1.jsonl");
    char *text = dump_text(&c);
    cr_assert(strstr(text, "\n  path: [a.jsonl, dir/b.jsonl] "), "%s", text);
    cr_assert(strstr(text, "\n  eval_path: [\"e 1.jsonl\", e2.jsonl] "), "%s", text);
    free(text);
    const char *q = tmp_path("resolved.yaml");
    rlc_run_config d;
    cr_assert_eq(rlc_run_config_write(&c, q), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_run_config_load(q, &d), RLC_OK, "%s", rlc_last_error());
    cr_assert_null(rlc_run_config_diff(&c, &d));
    rlc_run_config_free(&d);

    /* overrides: one file, comma-separated or YAML flow; one file stays a string */
    set_ok(&c, "data.path=only.jsonl");
    cr_assert_eq(c.data.path.n, 1);
    text = dump_text(&c);
    cr_assert(strstr(text, "\n  path: only.jsonl "), "%s", text);
    free(text);
    set_ok(&c, "data.path=x.jsonl, y.jsonl");
    cr_assert_eq(c.data.path.n, 2);
    cr_assert_str_eq(c.data.path.items[1], "y.jsonl");
    set_ok(&c, "data.path=[y.jsonl, x.jsonl, z.jsonl]");
    cr_assert_eq(c.data.path.n, 3);
    cr_assert_str_eq(c.data.path.items[0], "y.jsonl");
    set_ok(&c, "data.eval_path=");
    cr_assert_eq(c.data.eval_path.n, 0);
    text = dump_text(&c);
    cr_assert(strstr(text, "\n  eval_path: \"\" "), "%s", text);
    free(text);
    /* a file whose name has a comma is written as a list, so it reads back as one file */
    const char *comma[] = {"a,b.jsonl"};
    cr_assert_eq(rlc_run_config_set_list(&c.data.eval_path, comma, 1), RLC_OK);
    cr_assert_eq(rlc_run_config_write(&c, q), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_run_config_load(q, &d), RLC_OK, "%s", rlc_last_error());
    cr_assert_null(rlc_run_config_diff(&c, &d));
    cr_assert_eq(d.data.eval_path.n, 1);
    cr_assert_str_eq(d.data.eval_path.items[0], "a,b.jsonl");

    /* another order, one file fewer: each changes the experiment */
    char *exp = NULL, *other = NULL;
    set_ok(&d, "data.path=[x.jsonl, y.jsonl, z.jsonl]");
    cr_assert_eq(rlc_run_config_changes(&c, &d, &exp, &other), RLC_OK);
    cr_assert_str_eq(exp ? exp : "",
                     "data.path: [y.jsonl, x.jsonl, z.jsonl] -> [x.jsonl, y.jsonl, z.jsonl]");
    cr_assert_null(other);
    free(exp);
    set_ok(&d, "data.path=y.jsonl");
    cr_assert_eq(rlc_run_config_changes(&c, &d, &exp, &other), RLC_OK);
    cr_assert_str_eq(exp ? exp : "", "data.path: [y.jsonl, x.jsonl, z.jsonl] -> y.jsonl");
    free(exp);
    rlc_run_config_free(&d);
    rlc_run_config_free(&c);

    expect_load_error("data:\n  path:\n    - a.jsonl\n    - {b: 1}\n", RLC_ERR_INVALID,
                      "4: 'data.path' expects a file or a list of files, got a mapping inside");
    expect_load_error("data:\n  path: [a.jsonl, a.jsonl]\n", RLC_ERR_INVALID,
                      "2: 'data.path' lists 'a.jsonl' twice");
    expect_set_error("data.eval_path=a.jsonl,", "'data.eval_path' has an empty item");
}

Test(runconfig, unknown_keys_suggest_the_nearest) {
    expect_load_error("model:\n  path: x\nalgorithm:\n  grup_size: 3\n", RLC_ERR_INVALID,
                      "4: unknown key 'algorithm.grup_size' (did you mean "
                      "'algorithm.group_size'?)");
    expect_load_error("training:\n  lr: 0.1\n", RLC_ERR_INVALID,
                      "2: unknown key 'training.lr' (did you mean 'optimizer.lr'?)");
    expect_load_error("\nalgoritm:\n  group_size: 3\n", RLC_ERR_INVALID,
                      "2: unknown section 'algoritm' (did you mean 'algorithm'?)");
    expect_set_error("algorithm.grup_size=3",
                     "unknown key 'algorithm.grup_size' (did you mean 'algorithm.group_size'?)");
    expect_set_error("optimiser.lr=1e-3",
                     "unknown key 'optimiser.lr' (did you mean 'optimizer.lr'?)");
    expect_set_error("lora.rnak=8", "unknown key 'lora.rnak' (did you mean 'lora.rank'?)");
    expect_set_error("chekpoint=3", "unknown section 'chekpoint' (did you mean 'checkpoint'?)");
    expect_set_error("training", "expected section.key=value");
    expect_set_error("=3", "expected section.key=value");
    expect_set_error("training=3", "'training' is a section; expected training.<key>=value");
    expect_set_error("model.layers.x=1", "'model.layers' has no sub-keys (it expects an integer)");
}

Test(runconfig, wrong_types) {
    expect_set_error("training.steps=ten", "'training.steps' expects an integer, got 'ten'");
    expect_set_error("training.steps=1.5", "'training.steps' expects an integer, got '1.5'");
    expect_set_error("training.steps=", "'training.steps' expects an integer, got ''");
    expect_set_error("optimizer.lr=fast", "'optimizer.lr' expects a number, got 'fast'");
    expect_set_error("optimizer.lr=nan", "'optimizer.lr' expects a number, got 'nan'");
    expect_set_error("optimizer.lr=0x10", "'optimizer.lr' expects a number, got '0x10'");
    expect_set_error("lora.enabled=maybe", "'lora.enabled' expects true or false, got 'maybe'");
    expect_load_error("training:\n  batch_size: many\n", RLC_ERR_INVALID,
                      "2: 'training.batch_size' expects an integer, got 'many'");
    expect_load_error("training:\n  steps:\n", RLC_ERR_INVALID,
                      "2: 'training.steps' expects an integer, got an empty value");
    expect_load_error("training:\n  steps: [1, 2]\n", RLC_ERR_INVALID,
                      "2: 'training.steps' expects an integer, got a list");
    expect_load_error("lora: 3\n", RLC_ERR_INVALID,
                      "1: section 'lora' expects keys under it, got a value");
    expect_load_error("- model\n", RLC_ERR_INVALID,
                      "1: expected a mapping of sections (model:, lora:, ...)");
    expect_load_error("lora:\n  targets:\n    - q_proj\n    - {a: 1}\n", RLC_ERR_INVALID,
                      "4: 'lora.targets' expects a list of names, got a mapping inside");
    expect_load_error("rewards:\n  weights:\n    number_check: lots\n", RLC_ERR_INVALID,
                      "3: 'rewards.weights.number_check' expects a number, got 'lots'");
    expect_load_error("rewards:\n  weights: [number_check]\n", RLC_ERR_INVALID,
                      "2: 'rewards.weights' expects a mapping of name: number, got a list");
}

Test(runconfig, out_of_range_and_enums) {
    expect_set_error("algorithm.epsilon=3", "'algorithm.epsilon' must be in [0, 1], got 3");
    expect_set_error("optimizer.lr=0", "'optimizer.lr' must be in (0, 1], got 0");
    expect_set_error("optimizer.beta2=1", "'optimizer.beta2' must be in [0, 1), got 1");
    expect_set_error("training.batch_size=0",
                     "'training.batch_size' must be in [1, 1048576], got 0");
    expect_set_error("training.steps=-1", "'training.steps' must be >= 0, got -1");
    expect_set_error("training.steps=99999999999",
                     "'training.steps' must be at most 2147483647, got 99999999999");
    expect_set_error("optimizer.lr=1e999", "'optimizer.lr' expects a finite number, got '1e999'");
    expect_set_error("algorithm.advantage=gpro",
                     "'algorithm.advantage' must be one of grpo, dr_grpo, maxrl, rloo, psr, nsr, "
                     "w_reinforce, reinforce_pp; got 'gpro'");
    expect_load_error("\n\ntraining:\n  mode: rl\n", RLC_ERR_INVALID,
                      "4: 'training.mode' must be one of grpo, sft; got 'rl'");
    expect_set_error("rewards.weights.number_check=5000",
                     "'rewards.weights.number_check' must be in [-1000, 1000], got 5000");
    expect_set_error("rewards.weights.numbr_check=1",
                     "'rewards.weights' has unknown name 'numbr_check' (did you mean "
                     "'number_check'?); known: format_exact, format_approx, answer_check, "
                     "number_check");
    expect_set_error("rewards.weights=number_check:1,number_check:2",
                     "'rewards.weights' sets 'number_check' twice");
    expect_set_error("rewards.weights=number_check",
                     "'rewards.weights' expects name:value pairs, got 'number_check'");
    expect_set_error("lora.targets=q_proj,q_prj",
                     "'lora.targets' item 'q_prj' is not one of q_proj, k_proj, v_proj, o_proj, "
                     "gate_proj, up_proj, down_proj, all-linear (did you mean 'q_proj'?)");
    expect_set_error("lora.targets=q_proj,q_proj", "'lora.targets' lists 'q_proj' twice");
    expect_set_error("lora.targets=q_proj,,v_proj", "'lora.targets' has an empty item");
    expect_load_error("lora:\n  targets: [q_proj,\n    v_prj]\n", RLC_ERR_INVALID,
                      "3: 'lora.targets' item 'v_prj' is not one of q_proj, k_proj, v_proj, "
                      "o_proj, gate_proj, up_proj, down_proj, all-linear (did you mean "
                      "'v_proj'?)");
    expect_load_error("training:\n  steps: 5\n  seed: 2\n  steps: 6\n", RLC_ERR_INVALID,
                      "4: duplicate key 'training.steps' (first set on line 2)");
}

Test(runconfig, yaml_syntax_errors_carry_line_numbers) {
    expect_load_error("model:\n  path: x\n   bad: [\n", RLC_ERR_FORMAT,
                      "3: YAML syntax error: mapping values are not allowed in this context");
    expect_load_error("model:\n  path: \"a\n", RLC_ERR_FORMAT,
                      "3: YAML syntax error: found unexpected end of stream while scanning a "
                      "quoted scalar");
    expect_load_error("model:\n\tpath: x\n", RLC_ERR_FORMAT,
                      "2: YAML syntax error: found character that cannot start any token while "
                      "scanning for the next token");
    expect_load_error("model: {path: x}\n---\nlora: {}\n", RLC_ERR_INVALID,
                      "3: expected a single YAML document");
    expect_set_error("lora.targets=[q_proj", "YAML syntax error: did not find expected ',' or ']' "
                                             "while parsing a flow sequence");

    rlc_run_config c;
    cr_assert_eq(rlc_run_config_load(tmp_path("missing.yaml"), &c), RLC_ERR_NOT_FOUND);
    cr_assert(strstr(rlc_last_error(), "missing.yaml"));
    rlc_run_config_free(&c);
}

Test(runconfig, validation_rules) {
    rlc_run_config c = valid_config();
    rlc_run_config_free(&c);
    EXPECT_INVALID("algorithm.group_size=1 with algorithm.advantage=grpo",
                   "algorithm.group_size=1");
    EXPECT_INVALID("a group of one always has advantage 0", "algorithm.group_size=1",
                   "algorithm.advantage=dr_grpo");
    EXPECT_INVALID("data.source=jsonl needs data.path", "data.source=jsonl");
    EXPECT_INVALID("rewards.overlong_buffer=40 exceeds algorithm.max_new_tokens=32",
                   "rewards.overlong_buffer=40");
    EXPECT_INVALID("model.path is empty", "model.from_scratch=false");
    EXPECT_INVALID("model.from_scratch=true but model.path='m'", "model.path=m");
    EXPECT_INVALID("model.hidden=100 must be a multiple of model.heads=3", "model.hidden=100",
                   "model.heads=3");
    EXPECT_INVALID("model.heads=4 must be a multiple of model.kv_heads=3", "model.kv_heads=3");
    EXPECT_INVALID("exceeds model.max_seq=64", "model.max_seq=64");
    EXPECT_INVALID("tokenizer.kind=hf needs tokenizer.path", "tokenizer.kind=hf");
    EXPECT_INVALID("lora.targets is empty", "lora.enabled=true", "lora.targets=");
    EXPECT_INVALID("data.arithmetic_ops must be one or more of + - *", "data.arithmetic_ops=+/");
    EXPECT_INVALID("algorithm.temperature must be > 0", "algorithm.temperature=0");
    EXPECT_INVALID("no non-zero weight", "rewards.weights=number_check:0");
    EXPECT_INVALID("optimizer.warmup_steps=200 exceeds training.steps=100",
                   "optimizer.warmup_steps=200");
    EXPECT_INVALID("data.source=arithmetic generates problems without end", "training.steps=0");
    EXPECT_INVALID("needs an evaluation set", "data.source=jsonl", "data.path=x.jsonl",
                   "training.eval_every=10");
    EXPECT_INVALID("needs data.eval_size > 0", "training.eval_every=10", "data.eval_size=0");
    EXPECT_INVALID("plain directory name", "logging.run_name=a/b");
    EXPECT_INVALID("lora.init_adapter='ad' needs lora.enabled=true", "lora.init_adapter=ad");
    EXPECT_INVALID("a model built from scratch", "lora.enabled=true", "lora.init_adapter=ad");
    EXPECT_INVALID("backpressure.max_batch_size=4 is below backpressure.min_batch_size=8",
                   "backpressure.enabled=true", "backpressure.min_batch_size=8",
                   "backpressure.max_batch_size=4");
    EXPECT_INVALID("backpressure.peak_gflops and backpressure.peak_bw_gb_s go together",
                   "backpressure.enabled=true", "backpressure.peak_gflops=100");
    EXPECT_INVALID("backpressure.enabled=true needs training.steps", "backpressure.enabled=true",
                   "data.source=jsonl", "data.path=x.jsonl", "training.steps=0");

    /* SFT does not read the GRPO-only rules. */
    c = valid_config();
    set_ok(&c, "training.mode=sft");
    set_ok(&c, "algorithm.group_size=1");
    set_ok(&c, "algorithm.temperature=0");
    set_ok(&c, "training.steps=0");
    set_ok(&c, "data.source=jsonl");
    set_ok(&c, "data.path=x.jsonl");
    cr_assert_eq(rlc_run_config_validate(&c), RLC_OK, "%s", rlc_last_error());
    rlc_run_config_free(&c);
}

Test(runconfig, help_lists_every_key_with_its_default) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    rlc_run_config_print_help(m, NULL);
    fclose(m);
    const char *lines[] = {
        "  model.path = \"\"",
        "  model.from_scratch = false",
        "  model.hidden = 128",
        "  tokenizer.chat = auto",
        "  lora.targets = [q_proj, k_proj, v_proj, o_proj]",
        "  lora.init_adapter = \"\"",
        "  data.path = \"\"",
        "(file, or list of files)",
        "  data.source = arithmetic",
        "  rewards.weights = {number_check: 1}",
        "  algorithm.group_size = 4",
        "  algorithm.epsilon_high = 0.2",
        "  training.micro_batch = 0",
        "  optimizer.lr = 0.0001",
        "  optimizer.eps = 1e-08",
        "  logging.num_generations_logged = 4",
        "  checkpoint.resume = auto",
        "(grpo|dr_grpo|maxrl|rloo|psr|nsr|w_reinforce|reinforce_pp)",
        "(float in [0, 1])",
        "(int >= 0)",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        cr_assert(strstr(text, lines[i]), "help lacks '%s'", lines[i]);

    /* One help entry per key of the resolved file. */
    int help_keys = 0, file_keys = 0;
    for (char *p = text; (p = strstr(p, "\n  ")); p++)
        if (p[3] != ' ') help_keys++;
    free(text);
    rlc_run_config d = rlc_run_config_default();
    m = open_memstream(&text, &len);
    rlc_run_config_dump(&d, m);
    fclose(m);
    for (char *p = text; (p = strstr(p, "\n  ")); p++)
        file_keys++;
    cr_assert_eq(help_keys, file_keys);
    cr_assert_geq(file_keys, 60);
    free(text);
    rlc_run_config_free(&d);

    /* sft leaves out the GRPO-only sections and keys. */
    m = open_memstream(&text, &len);
    rlc_run_config_print_help(m, "sft");
    fclose(m);
    cr_assert_null(strstr(text, "algorithm.group_size"));
    cr_assert_null(strstr(text, "rewards.weights"));
    cr_assert(strstr(text, "  training.epochs ="));
    cr_assert(strstr(text, "  data.target_format ="));
    free(text);
    m = open_memstream(&text, &len);
    rlc_run_config_print_help(m, "grpo");
    fclose(m);
    cr_assert_null(strstr(text, "  data.target_format ="));
    cr_assert(strstr(text, "  training.epochs ="));
    cr_assert(strstr(text, "  algorithm.group_size ="));
    free(text);
}

Test(runconfig, enum_names) {
    cr_assert_str_eq(rlc_run_config_enum_name("algorithm.advantage", RLC_RC_ADV_DR_GRPO),
                     "dr_grpo");
    cr_assert_str_eq(rlc_run_config_enum_name("tokenizer.chat", RLC_RC_CHAT_QWEN3), "qwen3");
    cr_assert_str_eq(rlc_run_config_enum_name("optimizer.schedule", RLC_RC_SCHED_COSINE), "cosine");
    cr_assert_str_eq(rlc_run_config_enum_name("algorithm.loss_agg", RLC_RC_AGG_SEQ_MEAN_TOKEN_MEAN),
                     "seq_mean_token_mean");
    cr_assert_str_eq(rlc_run_config_enum_name("algorithm.advantage", RLC_RC_ADV_W_REINFORCE),
                     "w_reinforce");
    cr_assert_str_eq(rlc_run_config_enum_name("algorithm.advantage", RLC_RC_ADV_REINFORCE_PP),
                     "reinforce_pp");
    cr_assert_null(rlc_run_config_enum_name("algorithm.advantage", RLC_RC_ADV_REINFORCE_PP + 1));
    cr_assert_null(rlc_run_config_enum_name("training.steps", 0));
    cr_assert_null(rlc_run_config_enum_name("nope", 0));
}
