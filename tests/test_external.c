/* External verifiers (rewards/external.h): a batch scored by verifiers that
 * misbehave (tests/external/verifier.py: slow, crashing mid-batch, hanging,
 * out of order, garbage lines, NaN) ends with every item scored exactly once
 * or failed, the rewards the verifier's formula gives, and the counts right;
 * then GRPO runs with an external reward and an external data source, and a
 * resume after SIGKILL that asks for the same prompts. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/strbuf.h"
#include "data/extsource.h"
#include "rewards/external.h"
#include "rewards/rewards.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(external, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

#define N_ITEMS 64

static rlc_ext *open_verifier(const char *mode, double timeout) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exec /usr/bin/python3 tests/external/verifier.py %s %s", mode,
             tmpdir);
    rlc_ext_params p = rlc_ext_default_params();
    p.name = "test";
    p.command = cmd;
    p.timeout_s = timeout;
    rlc_ext *x = NULL;
    cr_assert_eq(rlc_ext_open(&p, &x), RLC_OK, "%s", rlc_last_error());
    return x;
}

/* Completion i: i letters 'a'..; reference: i % 7 as text. The verifier's
 * formula: 0.5 * len + reference. */
static char comp_buf[N_ITEMS][N_ITEMS + 8], ref_buf[N_ITEMS][8];

static void make_items(rlc_ext_item *items, int n) {
    for (int i = 0; i < n; i++) {
        memset(comp_buf[i], 'a' + i % 26, (size_t)i);
        comp_buf[i][i] = 0;
        snprintf(ref_buf[i], sizeof ref_buf[i], "%d", i % 7);
        items[i] = (rlc_ext_item){"What is it?", comp_buf[i], ref_buf[i], "{\"k\": 1}"};
    }
}

static double expected(const rlc_ext_item *it) {
    return 0.5 * (double)strlen(it->completion) + atof(it->reference);
}

/* Scores n items, checks every one that is ok against the formula, and
 * returns the counts; *n_ok gets how many were ok. */
static rlc_ext_counts score_all(rlc_ext *x, rlc_ext_item *items, int n, unsigned char *ok,
                                int *n_ok) {
    float reward[N_ITEMS];
    for (int i = 0; i < n; i++)
        reward[i] = -12345.0f;
    cr_assert_eq(rlc_ext_score(x, items, n, reward, ok), RLC_OK, "%s", rlc_last_error());
    *n_ok = 0;
    for (int i = 0; i < n; i++) {
        if (ok[i]) {
            (*n_ok)++;
            cr_expect_float_eq(reward[i], (float)expected(&items[i]), 1e-6, "item %d: %g, want %g",
                               i, reward[i], expected(&items[i]));
        } else {
            cr_expect_eq(reward[i], -12345.0f, "failed item %d's reward was written", i);
        }
    }
    rlc_ext_counts c;
    rlc_ext_take_counts(x, &c);
    /* every item has exactly one outcome */
    cr_expect_eq(c.answered + c.failed, n, "answered %ld + failed %ld != %d", c.answered, c.failed,
                 n);
    cr_expect_eq(c.answered, *n_ok);
    return c;
}

static void expect_counts(const rlc_ext_counts *c, long timeouts, long crashes, long malformed,
                          long unknown, long nonfinite) {
    cr_expect_eq(c->timeouts, timeouts, "timeouts %ld, want %ld", c->timeouts, timeouts);
    cr_expect_eq(c->crashes, crashes, "crashes %ld, want %ld", c->crashes, crashes);
    cr_expect_eq(c->malformed, malformed, "malformed %ld, want %ld", c->malformed, malformed);
    cr_expect_eq(c->unknown_id, unknown, "unknown ids %ld, want %ld", c->unknown_id, unknown);
    cr_expect_eq(c->nonfinite, nonfinite, "non-finite %ld, want %ld", c->nonfinite, nonfinite);
}

/* The ids the verifier processes received (all its lives), each counted. */
static int count_seen(long *ids, int cap) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cat %s 2>/dev/null", tmp_path("seen.*"));
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    int n = 0;
    long id;
    while (n < cap && fscanf(f, "%ld", &id) == 1)
        ids[n++] = id;
    pclose(f);
    return n;
}

Test(external, echo_scores_every_item_once_with_components) {
    rlc_ext *x = open_verifier("echo", 10);
    rlc_ext_item items[N_ITEMS];
    unsigned char ok[N_ITEMS];
    make_items(items, N_ITEMS);
    int n_ok;
    for (int round = 0; round < 2; round++) { /* the process lives on between batches */
        rlc_ext_counts c = score_all(x, items, N_ITEMS, ok, &n_ok);
        cr_expect_eq(n_ok, N_ITEMS);
        cr_expect_eq(c.requests, N_ITEMS);
        cr_expect_eq(c.restarts, 0);
        expect_counts(&c, 0, 0, 0, 0, 0);
        const char *names[RLC_EXT_MAX_COMPONENTS];
        double mean[RLC_EXT_MAX_COMPONENTS];
        int nc = rlc_ext_take_components(x, names, mean);
        cr_assert_eq(nc, 2);
        cr_expect_str_eq(names[0], "len");
        cr_expect_str_eq(names[1], "ref");
        double len = 0, ref = 0;
        for (int i = 0; i < N_ITEMS; i++)
            len += (double)i, ref += i % 7;
        cr_expect_float_eq(mean[0], len / N_ITEMS, 1e-12);
        cr_expect_float_eq(mean[1], ref / N_ITEMS, 1e-12);
    }
    long ids[4 * N_ITEMS];
    cr_expect_eq(count_seen(ids, 4 * N_ITEMS), 2 * N_ITEMS, "one request per item and batch");
    rlc_ext_free(x);
}

/* One batch of N_ITEMS through a fresh verifier in mode, the items changed
 * by edit (NULL: none) first; ok[] and *n_ok as score_all gives them. */
typedef void (*edit_fn)(rlc_ext_item *items);
static rlc_ext_counts one_batch(const char *mode, double timeout, edit_fn edit, unsigned char *ok,
                                int *n_ok) {
    rlc_ext *x = open_verifier(mode, timeout);
    rlc_ext_item items[N_ITEMS];
    make_items(items, N_ITEMS);
    if (edit) edit(items);
    rlc_ext_counts c = score_all(x, items, N_ITEMS, ok, n_ok);
    rlc_ext_free(x);
    return c;
}

Test(external, out_of_order_answers_match_by_id) {
    unsigned char ok[N_ITEMS];
    int n_ok;
    rlc_ext_counts c = one_batch("reverse", 10, NULL, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS);
    expect_counts(&c, 0, 0, 0, 0, 0);
}

Test(external, slow_verifier_within_the_timeout) {
    unsigned char ok[N_ITEMS];
    int n_ok; /* 20 ms per answer, 64 of them: 1.3 s in all, each within 1 s of the last */
    rlc_ext_counts c = one_batch("slow", 1.0, NULL, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS);
    expect_counts(&c, 0, 0, 0, 0, 0);
}

Test(external, crash_mid_batch_restarts_and_loses_nothing) {
    unsigned char ok[N_ITEMS];
    int n_ok;
    rlc_ext_counts c = one_batch("crash1", 10, NULL, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS, "every item scored after the restart");
    cr_expect_eq(c.restarts, 1);
    expect_counts(&c, 0, 1, 0, 0, 0);
    /* the first life answered 10; the other 54 went to the second once each */
    cr_expect_eq(c.requests, N_ITEMS + (N_ITEMS - 10), "requests %ld", c.requests);
    /* the first life read 11 lines (the 11th killed it), the second the 54 sent again,
     * each under a new id: no id reaches a verifier twice */
    long ids[4 * N_ITEMS];
    int n = count_seen(ids, 4 * N_ITEMS);
    cr_expect_eq(n, 11 + N_ITEMS - 10);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            cr_expect_neq(ids[i], ids[j], "id %ld twice", ids[i]);
}

Test(external, poison_items_crash_or_hang_and_only_they_fail) {
    rlc_ext *x = open_verifier("poison", 0.3);
    rlc_ext_item items[N_ITEMS];
    unsigned char ok[N_ITEMS];
    make_items(items, N_ITEMS);
    items[20].completion = "CRASH";
    items[40].completion = "HANG";
    int n_ok;
    rlc_ext_counts c = score_all(x, items, N_ITEMS, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS - 2);
    cr_expect_eq(ok[20], 0);
    cr_expect_eq(ok[40], 0);
    cr_expect_eq(c.failed, 2);
    /* CRASH: once in the batch, once alone; HANG: the batch's stall was the
     * crash, so its own timeout comes alone */
    cr_expect_eq(c.crashes, 2, "crashes %ld", c.crashes);
    cr_expect_eq(c.timeouts, 1, "timeouts %ld", c.timeouts);
    /* the next batch goes through a fresh process */
    make_items(items, N_ITEMS);
    c = score_all(x, items, N_ITEMS, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS);
    rlc_ext_free(x);
}

Test(external, garbage_and_duplicate_lines_are_counted_not_fatal) {
    unsigned char ok[N_ITEMS];
    int n_ok;
    rlc_ext_counts c = one_batch("garbage", 10, NULL, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS);
    /* a garbage line per answer; every 5th answer twice and one to id 10^9 */
    expect_counts(&c, 0, 0, N_ITEMS, N_ITEMS / 5 + 1, 0);
}

static void nan_items(rlc_ext_item *items) {
    items[3].completion = "nan";
    items[4].completion = "inf";
    items[5].completion = "null";
    items[6].completion = "none";
}

Test(external, nonfinite_and_missing_rewards_fail_their_items) {
    unsigned char ok[N_ITEMS];
    int n_ok;
    rlc_ext_counts c = one_batch("nan", 10, nan_items, ok, &n_ok);
    cr_expect_eq(n_ok, N_ITEMS - 4);
    for (int i = 3; i <= 6; i++)
        cr_expect_eq(ok[i], 0, "item %d", i);
    expect_counts(&c, 0, 0, 1, 0, 3);
}

Test(external, a_command_that_fails_gives_up_without_stopping) {
    rlc_ext_params p = rlc_ext_default_params();
    p.name = "test";
    p.command = "exit 5";
    p.timeout_s = 1;
    rlc_ext *x = NULL;
    cr_assert_eq(rlc_ext_open(&p, &x), RLC_OK);
    rlc_ext_item items[4];
    unsigned char ok[4];
    make_items(items, 4);
    int n_ok;
    rlc_ext_counts c = score_all(x, items, 4, ok, &n_ok);
    cr_expect_eq(n_ok, 0);
    cr_expect_eq(c.failed, 4);
    cr_expect_eq(c.crashes, 3, "three tries, then the batch gives up");
    rlc_ext_free(x);
}

Test(external, free_kills_and_reaps_the_child) {
    rlc_ext *x = open_verifier("echo", 10);
    pid_t pid = (pid_t)rlc_ext_pid(x);
    cr_assert_gt(pid, 0);
    rlc_ext_free(x);
    /* reaped: no such process (a zombie would still answer kill 0) */
    cr_expect_eq(kill(pid, 0), -1);
    cr_expect_eq(errno, ESRCH);
}

Test(external, parse_line_reads_python_nonfinite_words) {
    rlc_ext_answer a;
    const char *l1 = "{\"id\": 7, \"reward\": NaN, \"info\": \"NaN inside a string\"}";
    cr_assert_eq(rlc_ext_parse_line(l1, strlen(l1), &a), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(a.id, 7);
    cr_expect(a.has_reward && isnan(a.reward));
    cr_expect_str_eq(json_string_value(json_object_get(a.obj, "info")), "NaN inside a string");
    rlc_ext_answer_free(&a);
    const char *l2 = "{\"id\": 8, \"reward\": -Infinity}";
    cr_assert_eq(rlc_ext_parse_line(l2, strlen(l2), &a), RLC_OK);
    cr_expect(isinf(a.reward) && a.reward < 0);
    rlc_ext_answer_free(&a);
    const char *bad[] = {"[1, 2]", "{\"id\": -1}",           "{\"id\": \"3\"}", "{\"reward\": 1}",
                         "NaN",    "{\"id\": 1, \"x\": NaN", "{\"id\":1.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(rlc_ext_parse_line(bad[i], strlen(bad[i]), &a), RLC_ERR_FORMAT, "%s", bad[i]);
    /* a real string that looks like the stand-in is a string, not a number */
    const char *l3 = "{\"id\": 1, \"reward\": \"\\u0000rlc-nonfinite:nan\"}";
    cr_assert_eq(rlc_ext_parse_line(l3, strlen(l3), &a), RLC_OK);
    cr_expect_eq(a.has_reward, 0);
    rlc_ext_answer_free(&a);
}

/* ---- GRPO runs through the CLI ---- */

/* The demo's GRPO config (configs/demo_grpo.yaml) on a tiny from-scratch
 * byte model for `steps` steps of 4 prompts x 4 samples, run name `name`,
 * plus the overrides in extra; returns the exit status. */
static int demo_run(const char *name, int steps, const char *extra) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 %s train configs/demo_grpo.yaml model.from_scratch=true "
             "model.path= model.layers=1 model.hidden=16 model.heads=2 model.kv_heads=2 "
             "model.intermediate=32 model.max_seq=64 data.max_prompt_tokens=32 "
             "algorithm.max_new_tokens=8 training.steps=%d training.batch_size=4 "
             "training.eval_every=0 optimizer.warmup_steps=0 checkpoint.save_every=0 "
             "logging.tensorboard=false "
             "logging.run_dir=%s logging.run_name=%s %s > %s 2>&1",
             th_rlc_bin(), steps, tmpdir, name, extra, tmp_path("out.log"));
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static json_t *metrics_line(const char *run, int step) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", tmpdir, run);
    char *text = th_slurp(path);
    cr_assert_not_null(text, "%s", path);
    char *line = text;
    for (int i = 0; i < step && line; i++)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    cr_assert(line && *line, "%s has no step %d", path, step);
    json_t *o = json_loadb(line, strcspn(line, "\n"), 0, NULL);
    cr_assert_not_null(o);
    free(text);
    return o;
}

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "no number %s", key);
    return json_number_value(v);
}

/* Code points of UTF-8 text (what Python's len counts). */
static long code_points(const char *s) {
    long n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

Test(external, grpo_run_on_the_demo_config_logs_external_reward_and_counts) {
    int rc = demo_run("ext", 3,
                      "rewards.weights.number_check=0 rewards.external_weight=1 "
                      "'rewards.external=exec /usr/bin/python3 tests/external/verifier.py len'");
    if (rc) cr_log_error("%s", th_slurp(tmp_path("out.log")));
    cr_assert_eq(rc, 0);
    for (int step = 0; step < 3; step++) {
        json_t *o = metrics_line("ext", step);
        double total = num(o, "total_count");
        /* dynamic sampling (on in the demo) scores the refills too */
        cr_expect_geq(num(o, "external/requests"), total);
        cr_expect_eq(num(o, "external/failed"), 0);
        cr_expect_eq(num(o, "external/crashes"), 0);
        /* the only reward, weight 1: its mean is the mean reward */
        cr_expect_float_eq(num(o, "rewards/external/mean"), num(o, "mean_reward"), 1e-5);
        /* its component "chars" is the reward itself, averaged over the step's answers
         * (dynamic sampling's refills included, so only bounded by the maximum) */
        cr_expect_leq(num(o, "components/external/chars"), 8 * 4 + 1e-9);
        cr_expect_geq(num(o, "components/external/chars"), 0);
        json_decref(o);
    }
    /* each logged completion's reward is the verifier's formula on its text */
    char path[512];
    snprintf(path, sizeof path, "%s/ext/emergence/generations.jsonl", tmpdir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert_not_null(o);
        const char *c = json_string_value(json_object_get(o, "completion"));
        cr_expect_float_eq(num(o, "reward"), (double)code_points(c), 1e-6, "%s", line);
        json_decref(o);
        n++;
    }
    fclose(f);
    cr_expect_gt(n, 0);
}

Test(external, grpo_run_with_a_failing_verifier_finishes_and_skips_groups) {
    int rc = demo_run("bad", 2,
                      "algorithm.dynamic_sampling=false rewards.external_on_error=skip "
                      "rewards.external_timeout=1 'rewards.external=exit 3'");
    char *log = th_slurp(tmp_path("out.log"));
    cr_assert_eq(rc, 0, "%s", log);
    cr_expect_not_null(strstr(log, "external verifiers: 16 completion(s) unscored"), "%s", log);
    free(log);
    for (int step = 0; step < 2; step++) {
        json_t *o = metrics_line("bad", step);
        cr_expect_eq(num(o, "external/failed"), 16);
        cr_expect_eq(num(o, "external/skipped_groups"), 4);
        /* three tries in the first batch; a verifier still down gets one per batch */
        cr_expect_eq(num(o, "external/crashes"), step == 0 ? 3 : 1);
        cr_expect_eq(num(o, "num_datums"), 0, "no group carries gradient");
        json_decref(o);
    }
}

/* ---- the examples in examples/verifiers against the built-in rewards ---- */

static const char *const example_completions[] = {
    "<reasoning>6*7</reasoning><answer>42</answer>",
    "<answer> 42 </answer>",
    "<answer>41</answer>",
    "no tags 42",
    "<answer>1</answer> then <answer>42</answer>",
    "<reasoning>r</reasoning>\n<answer>\n42\n</answer>",
    "<answer>-3</answer>",
    "<answer></answer>",
};
#define N_EXAMPLES (int)(sizeof example_completions / sizeof example_completions[0])

/* Scores the example completions against reference "42" with command. */
static void score_examples(const char *command, float *reward, unsigned char *ok) {
    rlc_ext_params p = rlc_ext_default_params();
    p.name = "example";
    p.command = command;
    p.timeout_s = 10;
    rlc_ext *x;
    cr_assert_eq(rlc_ext_open(&p, &x), RLC_OK);
    rlc_ext_item items[N_EXAMPLES];
    for (int i = 0; i < N_EXAMPLES; i++)
        items[i] = (rlc_ext_item){"What is 6*7?", example_completions[i], "42", NULL};
    cr_assert_eq(rlc_ext_score(x, items, N_EXAMPLES, reward, ok), RLC_OK);
    rlc_ext_free(x);
}

Test(external, example_verifiers_agree_with_the_builtin_checks) {
    float r[N_EXAMPLES];
    unsigned char ok[N_EXAMPLES];
    /* Python: 1 for the reference's number (number_check), 0.1 for another number */
    score_examples("exec /usr/bin/python3 examples/verifiers/answer_check.py", r, ok);
    for (int i = 0; i < N_EXAMPLES; i++) {
        cr_assert(ok[i]);
        const char *c = example_completions[i];
        const char *a;
        size_t n;
        int has_number =
            rlc_reward_extract_answer(c, &a, &n) && rlc_reward_parse_number(a, n, NULL, NULL, 0);
        float want = rlc_reward_number_check(c, "42") == 1 ? 1.0f : has_number ? 0.1f : 0.0f;
        cr_expect_float_eq(r[i], want, 1e-6, "python on %s: %g, want %g", c, r[i], want);
    }
    /* shell (jq): 1 for the reference's exact text (answer_check == 1), else 0 */
    score_examples("sh examples/verifiers/answer_check.sh", r, ok);
    for (int i = 0; i < N_EXAMPLES; i++) {
        cr_assert(ok[i]);
        const char *c = example_completions[i];
        float want = rlc_reward_answer_check(c, "42") == 1 ? 1.0f : 0.0f;
        cr_expect_float_eq(r[i], want, 1e-6, "jq on %s: %g, want %g", c, r[i], want);
    }
}

/* ---- the external data source ---- */

#define SOURCE_CMD "exec /usr/bin/python3 examples/verifiers/arith_source.py 1"
#define SOURCE_ARGS                                                                                \
    "data.source=external 'data.external=" SOURCE_CMD "' rewards.weights.number_check=0 "          \
    "'rewards.external=exec /usr/bin/python3 examples/verifiers/answer_check.py' "                 \
    "algorithm.dynamic_sampling=false"

/* The prompts of a run's emergence/generations.jsonl, one string. */
static char *run_prompts(const char *run) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/emergence/generations.jsonl", tmpdir, run);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    rlc_strbuf b = {0};
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert_not_null(o);
        rlc_sb_printf(&b, "%.0f %s\n", num(o, "step"),
                      json_string_value(json_object_get(o, "prompt")));
        json_decref(o);
    }
    fclose(f);
    return b.p ? b.p : strdup("");
}

Test(external, data_source_feeds_a_grpo_run) {
    int rc = demo_run("src", 2, SOURCE_ARGS " logging.num_generations_logged=16");
    if (rc) cr_log_error("%s", th_slurp(tmp_path("out.log")));
    cr_assert_eq(rc, 0);
    /* step s holds items 4s..4s+3 of block 0 (16 items a block), each prompt 4 times */
    char *got = run_prompts("src");
    rlc_ext_source *s;
    cr_assert_eq(rlc_ext_source_open(SOURCE_CMD, 10, 1234, &s), RLC_OK); /* demo: data.seed 1234 */
    rlc_strbuf want = {0};
    for (int step = 0; step < 2; step++)
        for (int i = 0; i < 16; i++) {
            const rlc_ext_prompt *p;
            cr_assert_eq(rlc_ext_source_get(s, 0, (uint64_t)(step * 4 + i / 4), &p), RLC_OK);
            cr_assert_eq(p->n_msgs, 1);
            rlc_sb_printf(&want, "%d %s\n", step, p->msgs[0].content);
        }
    rlc_ext_source_free(s);
    cr_expect_str_eq(got, want.p);
    cr_expect(strstr(got, "What is ") != NULL);
    free(got);
    rlc_sb_free(&want);
    for (int step = 0; step < 2; step++) {
        json_t *o = metrics_line("src", step);
        cr_expect_eq(num(o, "external/requests"), 16);
        cr_expect_eq(num(o, "external/failed"), 0);
        /* answer_check.py: reward 1 if correct, 0.1 if another number, else 0, so the
         * mean reward is correct + 0.1 (has_answer - correct) of its components' means */
        double c = num(o, "components/external/correct");
        double h = num(o, "components/external/has_answer");
        cr_expect_float_eq(num(o, "rewards/external/mean"), c + 0.1 * (h - c), 1e-6);
        cr_expect(json_is_number(json_object_get(o, "components/external/tagged")));
        json_decref(o);
    }
}

Test(external, resume_after_sigkill_asks_for_the_same_prompts) {
    const char *args = SOURCE_ARGS " checkpoint.save_every=2 checkpoint.resume=auto";
    cr_assert_eq(demo_run("full", 4, args), 0, "%s", th_slurp(tmp_path("out.log")));
    setenv("RLC_TEST_KILL_AT", "ckpt-published:checkpoint-2", 1);
    int rc = demo_run("cut", 4, args);
    unsetenv("RLC_TEST_KILL_AT");
    cr_assert_eq(rc, 128 + SIGKILL, "the run was to die by SIGKILL after checkpoint-2 (exit %d)",
                 rc);
    cr_assert_eq(demo_run("cut", 4, args), 0, "%s", th_slurp(tmp_path("out.log")));
    char *log = th_slurp(tmp_path("out.log"));
    cr_expect_not_null(strstr(log, "resuming from"), "%s", log);
    free(log);
    char *a = run_prompts("full"), *b = run_prompts("cut");
    cr_expect_str_eq(b, a);
    free(a), free(b);
    for (int step = 0; step < 4; step++) {
        json_t *x = metrics_line("full", step), *y = metrics_line("cut", step);
        cr_expect_eq(num(x, "mean_reward"), num(y, "mean_reward"), "step %d", step);
        cr_expect_eq(num(x, "loss"), num(y, "loss"), "step %d", step);
        json_decref(x), json_decref(y);
    }
}

/* ---- the child ends with the run ---- */

/* The pid of a verifier.py process from its seen.<pid> file (0 while none). */
static pid_t verifier_pid(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | head -1", tmp_path("seen.*"));
    FILE *f = popen(cmd, "r");
    char line[512] = "";
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    pclose(f);
    char *dot = strrchr(line, '.');
    return dot ? (pid_t)atoi(dot + 1) : 0;
}

static int gone_within(pid_t pid, double seconds) {
    for (int i = 0; i < (int)(seconds * 100); i++) {
        if (kill(pid, 0) == -1 && errno == ESRCH) return 1;
        usleep(10000);
    }
    return 0;
}

/* Starts a long GRPO run with the slow verifier in the background; returns
 * rlc's pid once the verifier has received a request, and the verifier's. */
static pid_t start_run(pid_t *child) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 exec %s train configs/demo_grpo.yaml model.from_scratch=true "
             "model.path= model.layers=1 model.hidden=16 model.heads=2 model.kv_heads=2 "
             "model.intermediate=32 model.max_seq=64 data.max_prompt_tokens=32 "
             "algorithm.max_new_tokens=8 training.steps=1000 training.batch_size=4 "
             "optimizer.warmup_steps=0 checkpoint.save_every=0 logging.tensorboard=false "
             "logging.run_dir=%s logging.run_name=sig "
             "'rewards.external=exec /usr/bin/python3 tests/external/verifier.py slow %s' "
             "> %s 2>&1",
             th_rlc_bin(), tmpdir, tmpdir, tmp_path("out.log"));
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && !(*child = verifier_pid()); i++)
        usleep(10000);
    cr_assert_gt(*child, 0, "the verifier never got a request");
    return pid;
}

Test(external, sigterm_ends_the_run_and_its_verifier) {
    pid_t child, pid = start_run(&child);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 143, "status %d", status);
    cr_expect(gone_within(child, 0.5), "verifier %d outlived the run", (int)child);
}

Test(external, sigkill_of_rlc_takes_its_verifier_along) {
    pid_t child, pid = start_run(&child);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(gone_within(child, 5), "verifier %d outlived rlc's SIGKILL", (int)child);
}

/* ---- config errors: one line naming the key, exit 2 ---- */

Test(external, bad_keys_are_refused_with_the_key_named) {
    static const char *const cases[][2] = {
        {"rewards.external_on_error=abc",
         "rewards.external_on_error='abc': expected a finite number or skip"},
        {"'rewards.external_named=[bad item]'",
         "rewards.external_named item 'bad item': expected NAME=COMMAND"},
        {"'rewards.external_named=[number_check=cat]'", "the reward name 'number_check' is taken"},
        {"'rewards.external_named=[a=cat, a=sh x]'", "the reward name 'a' is taken"},
        {"rewards.external=cat 'rewards.external_named=[external=cat]'",
         "the reward name 'external' is taken"},
        {"data.source=external", "data.source=external needs data.external"},
        {"rewards.external_timeout=0", "'rewards.external_timeout' must be in (0, 86400]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s train configs/demo_grpo.yaml %s --check > %s 2>&1",
                 th_rlc_bin(), cases[i][0], tmp_path("out.log"));
        int rc = system(cmd);
        char *out = th_slurp(tmp_path("out.log"));
        cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "%s: exit %d", cases[i][0], rc);
        cr_expect(strstr(out, cases[i][1]) != NULL, "%s: %s", cases[i][0], out);
        cr_expect_eq(th_count_lines(tmp_path("out.log")), 1, "%s: %s", cases[i][0], out);
        free(out);
    }
}
