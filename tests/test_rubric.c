/* Rubric rewards: every check by hand, groups and weights, the reward set
 * that carries a rubric, and bad rubric files, each a one-line error naming
 * file:line and the field. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/fs.h"
#include "monitor/plot.h"
#include "rewards/rewards.h"
#include "rewards/rubric.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

TestSuite(rubric, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

static rlc_rubric *parse(const char *yaml) {
    rlc_rubric *r = NULL;
    cr_assert_eq(rlc_rubric_parse(yaml, strlen(yaml), "r.yaml", &r), RLC_OK, "%s",
                 rlc_last_error());
    return r;
}

/* The score of a one-criterion rubric whose criterion is `crit` (YAML flow). */
static float one(const char *crit, const char *completion, const char *ref, int tokens) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "name: t\ncriteria:\n  - {name: c, %s}\n", crit);
    rlc_rubric *r = parse(yaml);
    float c = -1, s = rlc_rubric_score(r, completion, ref, tokens, &c);
    cr_assert_eq(s, c, "a lone criterion is the rubric's score");
    rlc_rubric_free(r);
    return s;
}

/* The error of parsing yaml: its status and one line. */
static const char *fails(const char *yaml, rlc_status want) {
    rlc_rubric *r = (rlc_rubric *)1;
    rlc_status st = rlc_rubric_parse(yaml, strlen(yaml), "r.yaml", &r);
    cr_assert_eq(st, want, "status %d, want %d: %s", st, want, rlc_last_error());
    cr_assert_null(r);
    const char *e = rlc_last_error();
    cr_assert_null(strchr(e, '\n'), "one line: %s", e);
    return e;
}

#define HAS(s, part) cr_assert(strstr((s), (part)), "\"%s\" lacks \"%s\"", (s), (part))

Test(rubric, regex_matches_anywhere_and_not_regex_is_its_negation) {
    cr_assert_eq(one("regex: '<answer>.*</answer>'", "x <answer>4</answer> y", "", 3), 1.0f);
    cr_assert_eq(one("regex: '<answer>.*</answer>'", "<answer>4", "", 3), 0.0f);
    cr_assert_eq(one("regex: '^a.c$'", "a\nc", "", 3), 0.0f, "'.' stops at a newline");
    cr_assert_eq(one("regex: '(?s)^a.c$'", "a\nc", "", 3), 1.0f);
    cr_assert_eq(one("not_regex: '<think>'", "<think>hm</think>", "", 3), 0.0f);
    cr_assert_eq(one("not_regex: '<think>'", "plain", "", 3), 1.0f);
    cr_assert_eq(one("regex: 'caf.'", "caf\xc3\xa9", "", 3), 1.0f, "'.' is one code point");
    cr_assert_eq(one("regex: 'b'",
                     "a\xff"
                     "b",
                     "", 3),
                 1.0f, "invalid UTF-8 still matches");
}

Test(rubric, contains_is_a_plain_substring) {
    cr_assert_eq(one("contains: 'a.b'", "xa.by", "", 1), 1.0f);
    cr_assert_eq(one("contains: 'a.b'", "xacby", "", 1), 0.0f, "no regex meaning");
    cr_assert_eq(one("contains: 'answer'", "", "", 1), 0.0f);
}

Test(rubric, length_in_tokens_and_characters) {
    cr_assert_eq(one("length: {max_tokens: 4}", "abc", "", 4), 1.0f);
    cr_assert_eq(one("length: {max_tokens: 4}", "abc", "", 5), 0.0f);
    cr_assert_eq(one("length: {min_tokens: 2, max_tokens: 4}", "abc", "", 1), 0.0f);
    cr_assert_eq(one("length: {max_tokens: 4}", "abc", "", -1), 0.0f, "count unknown");
    cr_assert_eq(one("length: {max_chars: 5}", "h\xc3\xa9llo", "", -1), 1.0f,
                 "5 characters in 6 bytes");
    cr_assert_eq(one("length: {max_chars: 4}", "h\xc3\xa9llo", "", -1), 0.0f);
    cr_assert_eq(one("length: {min_chars: 6}", "h\xc3\xa9llo", "", -1), 0.0f);
    cr_assert_eq(one("length: {min_chars: 1, max_tokens: 9}", "x", "", 9), 1.0f);
}

Test(rubric, number_equals_reference_within_the_tolerance) {
    cr_assert_eq(one("number_equals_reference: {}", "<answer>46</answer>", "46", 1), 1.0f);
    cr_assert_eq(one("number_equals_reference: {}", "<answer> 1,000.0 </answer>", "1000", 1), 1.0f);
    cr_assert_eq(one("number_equals_reference: {}", "<answer>47</answer>", "46", 1), 0.0f);
    cr_assert_eq(one("number_equals_reference: {tolerance: 0.5}", "<answer>46.5</answer>", "46", 1),
                 1.0f);
    cr_assert_eq(one("number_equals_reference: {tolerance: 0.4}", "<answer>46.5</answer>", "46", 1),
                 0.0f);
    cr_assert_eq(one("number_equals_reference: {tolerance: 9}", "46", "46", 1), 0.0f,
                 "no <answer> tags");
    cr_assert_eq(one("number_equals_reference: {tolerance: 9}", "<answer>x</answer>", "46", 1),
                 0.0f);
    cr_assert_eq(one("number_equals_reference: {}", "<answer>4</answer>", "four", 1), 0.0f);
}

Test(rubric, json_parses_the_completion_or_the_answer) {
    cr_assert_eq(one("json_parses: completion", " {\"a\": [1, 2]}\n", "", 1), 1.0f);
    cr_assert_eq(one("json_parses: completion", "{\"a\": [1, 2}", "", 1), 0.0f);
    cr_assert_eq(one("json_parses: completion", "", "", 1), 0.0f);
    cr_assert_eq(one("json_parses: completion", "42", "", 1), 1.0f, "any JSON value");
    cr_assert_eq(one("json_parses: answer", "so <answer>{\"x\": true}</answer>", "", 1), 1.0f);
    cr_assert_eq(one("json_parses: answer", "so <answer>{x: true}</answer>", "", 1), 0.0f);
    cr_assert_eq(one("json_parses: answer", "{\"x\": true}", "", 1), 0.0f, "no answer");
}

Test(rubric, exact_format_matches_the_whole_trimmed_completion) {
    const char *fmt = "exact_format: '<answer>[0-9]+</answer>'";
    cr_assert_eq(one(fmt, "<answer>12</answer>", "", 1), 1.0f);
    cr_assert_eq(one(fmt, "\n <answer>12</answer>\n", "", 1), 1.0f);
    cr_assert_eq(one(fmt, "so <answer>12</answer>", "", 1), 0.0f);
    cr_assert_eq(one(fmt, "<answer>12</answer> ok", "", 1), 0.0f);
    cr_assert_eq(one("exact_format: 'a|ab'", "ab", "", 1), 1.0f, "the end is anchored too");
}

Test(rubric, groups_and_weights_are_weighted_means) {
    rlc_rubric *r = parse("name: style\n"
                          "criteria:\n"
                          "  - {name: tags, weight: 3, contains: '<answer>'}\n"
                          "  - name: fmt\n"
                          "    weight: 1\n"
                          "    group:\n"
                          "      - {name: q, weight: 1, contains: 'q'}\n"
                          "      - {name: b, weight: 3, contains: 'b'}\n"
                          "      - name: deep\n"
                          "        group:\n"
                          "          - {name: c, contains: 'c'}\n"
                          "          - {name: d, contains: 'd'}\n"
                          "  - {name: off, weight: 0, contains: 'zzz'}\n");
    cr_assert_str_eq(rlc_rubric_name(r), "style");
    cr_assert_eq(rlc_rubric_count(r), 8);
    cr_assert_eq(rlc_rubric_groups(r), 2);
    static const char *const paths[] = {"tags",     "fmt",        "fmt.q",      "fmt.b",
                                        "fmt.deep", "fmt.deep.c", "fmt.deep.d", "off"};
    for (int i = 0; i < 8; i++)
        cr_assert_str_eq(rlc_rubric_criterion(r, i), paths[i]);
    cr_assert_null(rlc_rubric_criterion(r, 8));
    float c[8];
    /* "q c": tags 0; q 1, b 0, deep = (1 + 0) / 2; fmt = (1 + 0 + 0.5) / 5 = 0.3 */
    float s = rlc_rubric_score(r, "q c", "", 2, c);
    const float want[8] = {0, 0.3f, 1, 0, 0.5f, 1, 0, 0};
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(c[i], want[i], 1e-6, "%s: %g", paths[i], c[i]);
    cr_assert_float_eq(s, 0.3f / 4, 1e-6, "(3*0 + 1*0.3 + 0*0) / 4");
    s = rlc_rubric_score(r, "<answer> b c d", "", 2, NULL);
    cr_assert_float_eq(s, (3 + (3 + 1) / 5.0f) / 4, 1e-6);
    cr_assert_eq(rlc_rubric_score(r, "<answer>qbcd", NULL, 2, NULL), 1.0f);
    rlc_rubric_free(r);
}

Test(rubric, the_example_file_loads) {
    rlc_rubric *r = NULL;
    cr_assert_eq(rlc_rubric_load("examples/rubrics/arithmetic_style.yaml", &r), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_str_eq(rlc_rubric_name(r), "arithmetic_style");
    cr_assert_eq(rlc_rubric_count(r), 8);
    float c[8];
    float s =
        rlc_rubric_score(r, "<reasoning>12+34=46</reasoning>\n<answer>46</answer>", "46", 12, c);
    cr_assert_eq(s, 1.0f, "a right, well-formed answer meets every criterion");
    s = rlc_rubric_score(r, "<answer>45</answer>", "46", 30, c);
    /* close 1, format (2*1 + 0 + 1) / 4, integer_answer 1: (1 + 2*0.75 + 1) / 10 */
    cr_assert_float_eq(s, 0.35f, 1e-6);
    rlc_rubric_free(r);
}

Test(rubric, a_reward_set_scores_the_rubric_after_the_builtins) {
    rlc_reward_set set;
    cr_assert_eq(rlc_reward_set_parse(&set, "number_check:2"), RLC_OK);
    rlc_rubric *r = parse("name: t\ncriteria:\n  - {name: a, contains: 'x'}\n"
                          "  - {name: b, contains: 'y'}\n");
    cr_assert_eq(rlc_reward_set_add_rubric(&set, r, 0.5f), RLC_OK);
    cr_assert_eq(rlc_reward_set_size(&set), 2);
    cr_assert_str_eq(rlc_reward_set_name(&set, 0), "number_check");
    cr_assert_str_eq(rlc_reward_set_name(&set, 1), "rubric");
    cr_assert_eq(rlc_reward_set_criteria(&set), 2);
    float per[2], crit[2], total;
    rlc_rewards_score(&set, "x <answer>7</answer>", "7", 5, per, crit, &total);
    cr_assert_eq(per[0], 1.0f);
    cr_assert_eq(per[1], 0.5f);
    cr_assert_eq(crit[0], 1.0f);
    cr_assert_eq(crit[1], 0.0f);
    cr_assert_eq(total, 2.25f);
    cr_assert_eq(rlc_reward_set_max(&set), 2.5f);
    rlc_rubric *again = parse("name: u\ncriteria: [{name: a, contains: x}]\n");
    cr_assert_eq(rlc_reward_set_add_rubric(&set, again, 1), RLC_ERR_INVALID, "one rubric a set");
    rlc_reward_set_free(&set);
    cr_assert_eq(rlc_reward_set_size(&set), 0);
}

Test(rubric, bad_files_name_file_line_and_field) {
    static const struct {
        const char *yaml;
        rlc_status st;
        const char *want;
    } cases[] = {
        {"name: t\ncriteria:\n  - {name: a, contains: x}\n  - {name: b, regx: 'a'}\n",
         RLC_ERR_INVALID,
         "r.yaml:4: b: unknown key \"regx\" (expected name, weight, group or a check:"},
        {"name: t\nlevel: 2\ncriteria: [{name: a, contains: x}]\n", RLC_ERR_INVALID,
         "r.yaml:2: level: unknown key (expected name or criteria)"},
        {"name: t\ncriteria:\n  - {name: a, regex: 'ab(c'}\n", RLC_ERR_INVALID,
         "r.yaml:3: a.regex: bad regular expression at offset 4: missing closing parenthesis"},
        {"name: t\ncriteria: []\n", RLC_ERR_INVALID,
         "r.yaml:2: criteria: expected at least one criterion, got none"},
        {"name: t\ncriteria:\n  - name: g\n    group: []\n", RLC_ERR_INVALID,
         "r.yaml:4: g.group: expected at least one criterion, got none"},
        {"name: t\ncriteria:\n  - {name: a, contains: x}\n\n  - {name: a, contains: y}\n",
         RLC_ERR_INVALID, "r.yaml:5: a: duplicate criterion name (first at line 3)"},
        {"name: t\ncriteria:\n  - {name: a, weight: 2}\n", RLC_ERR_INVALID,
         "r.yaml:3: a: expected a check (regex,"},
        {"name: t\ncriteria:\n  - {name: a, contains: x, regex: y}\n", RLC_ERR_INVALID,
         "r.yaml:3: a: has both contains and regex"},
        {"name: t\ncriteria:\n  - {name: a, weight: -1, contains: x}\n", RLC_ERR_INVALID,
         "r.yaml:3: a.weight: expected a number >= 0, got \"-1\""},
        {"name: t\ncriteria:\n  - {name: a, weight: 0, contains: x}\n", RLC_ERR_INVALID,
         "r.yaml:3: criteria: every weight is 0"},
        {"name: t\ncriteria:\n  - {name: a.b, contains: x}\n", RLC_ERR_INVALID,
         "r.yaml:3: criteria[0]: name: expected letters, digits"},
        {"name: t\ncriteria:\n  - {weight: 1, contains: x}\n", RLC_ERR_INVALID,
         "r.yaml:3: criteria[0]: expected a name"},
        {"name: t\ncriteria:\n  - {name: a, length: {max_tokens: 2.5}}\n", RLC_ERR_INVALID,
         "r.yaml:3: a.length.max_tokens: expected a whole number >= 0"},
        {"name: t\ncriteria:\n  - {name: a, length: {min_chars: 5, max_chars: 2}}\n",
         RLC_ERR_INVALID, "a.length: min_chars=5 exceeds max_chars=2"},
        {"name: t\ncriteria:\n  - {name: a, json_parses: yes}\n", RLC_ERR_INVALID,
         "r.yaml:3: a.json_parses: expected completion or answer"},
        {"name: t\ncriteria:\n  - {name: a, number_equals_reference: {tol: 1}}\n", RLC_ERR_INVALID,
         "a.number_equals_reference: unknown key \"tol\" (expected tolerance)"},
        {"criteria: [{name: a, contains: x}]\n", RLC_ERR_INVALID, "r.yaml:1: name: missing"},
        {"name: t\ncriteria: [{name: a, contains: x}\n", RLC_ERR_FORMAT,
         "r.yaml:3: YAML syntax error"},
        {"- a\n", RLC_ERR_FORMAT, "r.yaml:1: rubric: expected a mapping"},
        {"name: t\ncriteria:\n- name: a\n  group:\n  - name: b\n    group:\n    - name: c\n"
         "      group:\n      - name: d\n        group: [{name: e, contains: x}]\n",
         RLC_ERR_INVALID, "r.yaml:10: a.b.c.d.group: groups nest at most 4 levels deep"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        HAS(fails(cases[i].yaml, cases[i].st), cases[i].want);
}

Test(rubric, a_missing_file_is_named) {
    rlc_rubric *r = (rlc_rubric *)1;
    cr_assert_eq(rlc_rubric_load(tmp_path("none.yaml"), &r), RLC_ERR_NOT_FOUND);
    cr_assert_null(r);
    HAS(rlc_last_error(), "none.yaml: cannot open");
}

/* ---- a GRPO run with a rubric, through the CLI ---- */

static const char *tiny_rubric = "name: tiny\n"
                                 "criteria:\n"
                                 "  - {name: short, length: {max_chars: 5}}\n"
                                 "  - {name: has_digit, regex: '[0-9]'}\n"
                                 "  - name: style\n"
                                 "    weight: 2\n"
                                 "    group:\n"
                                 "      - {name: no_space, not_regex: ' '}\n"
                                 "      - {name: vowel, regex: '[aeiou]'}\n";

/* Runs `rlc ARGS` with one thread, output into tmpdir/out.log; returns the
 * exit status and the output (malloc'd) in *out. */
static int rlc_cli(const char *args, char **out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s > %s 2>&1", th_rlc_bin(), args,
             tmp_path("out.log"));
    int rc = system(cmd);
    size_t len;
    cr_assert_eq(rlc_read_file(tmp_path("out.log"), out, &len), RLC_OK);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* A 4-step GRPO run of a tiny from-scratch byte model, 2 prompts x 2
 * samples, criteria logged every 2 steps, with rubric file `rubric`. */
static const char *rubric_config(const char *rubric) {
    char text[2048];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2,\n"
             "        kv_heads: 2, intermediate: 32, max_seq: 96, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {max_prompt_tokens: 48}\n"
             "algorithm: {group_size: 2, max_new_tokens: 8}\n"
             "optimizer: {lr: 1.0e-3}\n"
             "training: {steps: 4, batch_size: 2}\n"
             "rewards: {weights: {number_check: 1}, rubric_file: %s, rubric_weight: 0.5}\n"
             "checkpoint: {save_every: 0, resume: never}\n"
             "logging: {run_dir: %s, run_name: rr, histogram_every: 2}\n",
             rubric, tmpdir);
    const char *path = tmp_path("cfg.yaml");
    th_write_text(path, text);
    return path;
}

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "no number %s", key);
    return json_number_value(v);
}

/* Every TensorBoard event of the run decoded by protoc --decode_raw (the
 * events' bytes concatenated, which protobuf reads as one merged event whose
 * summary values are all of theirs). */
static char *tb_decoded(const char *run) {
    char cmd[4096], dir[512];
    snprintf(dir, sizeof dir, "%s/%s/tb", tmpdir, run);
    snprintf(cmd, sizeof cmd, "cat %s/events.out.tfevents.* > %s", dir, tmp_path("tb.bin"));
    cr_assert_eq(system(cmd), 0);
    char *raw, *out;
    size_t len, n = 0;
    cr_assert_eq(rlc_read_file(tmp_path("tb.bin"), &raw, &len), RLC_OK);
    char *events = malloc(len);
    for (size_t at = 0; at + 12 <= len;) { /* TFRecord: u64 length, u32 crc, data, u32 crc */
        uint64_t l;
        memcpy(&l, raw + at, 8);
        cr_assert_leq(at + 16 + l, len, "torn record at %zu", at);
        memcpy(events + n, raw + at + 12, l);
        n += l, at += 16 + l;
    }
    FILE *f = fopen(tmp_path("events.bin"), "wb");
    cr_assert_eq(fwrite(events, 1, n, f), n);
    fclose(f);
    snprintf(cmd, sizeof cmd, "protoc --decode_raw < %s > %s 2>&1", tmp_path("events.bin"),
             tmp_path("events.txt"));
    cr_assert_eq(system(cmd), 0, "protoc --decode_raw failed (protobuf-compiler installed?)");
    cr_assert_eq(rlc_read_file(tmp_path("events.txt"), &out, &len), RLC_OK);
    free(raw);
    free(events);
    return out;
}

Test(rubric, a_grpo_run_logs_criteria_the_summary_and_the_plots, .timeout = 240) {
    th_write_text(tmp_path("tiny.yaml"), tiny_rubric);
    char args[1024], *log;
    snprintf(args, sizeof args, "train %s", rubric_config(tmp_path("tiny.yaml")));
    int rc = rlc_cli(args, &log);
    cr_assert_eq(rc, 0, "%s", log);
    HAS(log, "Loaded rubric tiny: 5 criteria (1 group)");
    HAS(log, "rubric_criteria_summary (rubric tiny");
    free(log);

    /* metrics.jsonl: the rubric as a reward every step, its criteria every
     * 2 steps, consistent with the rubric's definition */
    char *text, *line;
    size_t len;
    cr_assert_eq(rlc_read_file(tmp_path("rr/metrics.jsonl"), &text, &len), RLC_OK);
    static const char *const crit[] = {"short", "has_digit", "style", "style.no_space",
                                       "style.vowel"};
    double run_mean = 0, c[5];
    int steps = 0;
    for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), steps++) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert_not_null(o, "%s", line);
        cr_assert_eq(num(o, "step"), steps);
        double m = num(o, "rewards/rubric/mean"), lo = num(o, "rewards/rubric/min");
        double hi = num(o, "rewards/rubric/max");
        cr_assert(0 <= lo && lo <= m && m <= hi && hi <= 1, "%g %g %g", lo, m, hi);
        run_mean += m;
        for (int k = 0; k < 5; k++) {
            char key[128];
            snprintf(key, sizeof key, "criteria/tiny/%s_mean", crit[k]);
            cr_assert_eq(json_object_get(o, key) != NULL, steps % 2 == 0, "%s at step %d", key,
                         steps);
            c[k] = steps % 2 == 0 ? num(o, key) : 0;
        }
        if (steps % 2 == 0) {
            cr_assert_float_eq(c[2], (c[3] + c[4]) / 2, 1e-9, "a group is its members' mean");
            cr_assert_float_eq(m, (c[0] + c[1] + 2 * c[2]) / 4, 1e-6, "step %d", steps);
        }
        json_decref(o);
    }
    free(text);
    cr_assert_eq(steps, 4);

    /* the summary: every sample of every step, and the same means */
    json_t *sum = json_load_file(tmp_path("rr/rubric_criteria_summary.json"), 0, NULL);
    cr_assert_not_null(sum);
    cr_assert_str_eq(json_string_value(json_object_get(sum, "rubric")), "tiny");
    json_t *rows = json_object_get(sum, "criteria");
    cr_assert_eq(json_array_size(rows), 5);
    for (int k = 0; k < 5; k++) {
        json_t *r = json_array_get(rows, (size_t)k);
        cr_assert_str_eq(json_string_value(json_object_get(r, "criterion")), crit[k]);
        cr_assert_eq(num(r, "samples"), 4 * 2 * 2, "steps x prompts x samples");
        c[k] = num(r, "mean");
        cr_assert(num(r, "min") <= c[k] && c[k] <= num(r, "max") && num(r, "std") >= 0);
    }
    cr_assert_float_eq(run_mean / 4, (c[0] + c[1] + 2 * c[2]) / 4, 1e-6);
    json_decref(sum);
    cr_assert_eq(rlc_read_file(tmp_path("rr/rubric_criteria_summary.txt"), &text, &len), RLC_OK);
    HAS(text, "criterion");
    HAS(text, "style.vowel");
    free(text);

    /* TensorBoard: the seed's tags */
    char *tb = tb_decoded("rr");
    static const char *const tags[] = {"1: \"rewards/rubric_mean\"",
                                       "1: \"rewards/rubric_max\"",
                                       "1: \"rewards/rubric_min\"",
                                       "1: \"criteria/tiny/style.no_space_mean\"",
                                       "1: \"criteria/tiny/short_mean\"",
                                       "1: \"rubric_criteria_summary\"",
                                       "| style.vowel |"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        HAS(tb, tags[i]);
    free(tb);

    /* rlc monitor: the heatmap and the bars */
    snprintf(args, sizeof args, "monitor %s/rr", tmpdir);
    rc = rlc_cli(args, &log);
    cr_assert_eq(rc, 0, "%s", log);
    HAS(log, "rubric_criteria.png");
    free(log);
    int w, h;
    cr_assert_eq(rlc_plot_png_size(tmp_path("rr/plots/rubric_criteria.png"), &w, &h), RLC_OK);
    cr_assert_eq(w, 1100);
    cr_assert_eq(rlc_plot_png_size(tmp_path("rr/plots/rubric_criteria_final.png"), &w, &h), RLC_OK);
    cr_assert_eq(w, 1000);
}

Test(rubric, a_bad_rubric_stops_the_run_before_it_starts) {
    th_write_text(tmp_path("bad.yaml"), "name: tiny\ncriteria:\n  - {name: a, regex: 'x('}\n");
    char args[1024], *log;
    snprintf(args, sizeof args, "train %s", rubric_config(tmp_path("bad.yaml")));
    int rc = rlc_cli(args, &log);
    cr_assert_neq(rc, 0);
    HAS(log, "rewards.rubric_file: ");
    HAS(log, "bad.yaml:3: a.regex: bad regular expression at offset 2");
    free(log);
    cr_assert_not(rlc_file_exists(tmp_path("rr")), "nothing written");
}
