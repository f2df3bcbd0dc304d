/* Chat formatting against the models' own templates (tests/chat/templates)
 * rendered by two jinja engines: @huggingface/jinja (npm, installed on first
 * use under build/npm) and Python jinja2 set up as transformers sets it up.
 * Every conversation of tests/chat/cases.json is rendered with and without
 * the generation prompt (and both enable_thinking values for Qwen3) and must
 * match byte for byte; cases marked js_diverges hit a known difference of
 * @huggingface/jinja from Python (see cases.json) and are compared with jinja2
 * only. Then format detection from tokenizer_config.json files. */
#include "tmpdir.h"

#include "base/fs.h"
#include "tokenizer/chat.h"

#include <jansson.h>
#include <sys/wait.h>

#define JINJA_PKG "@huggingface/jinja@0.5.11"

TestSuite(chat, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 300);

static json_t *load_json(const char *path) {
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert_not_null(j, "%s:%d: %s", path, err.line, err.text);
    return j;
}

static int run(const char *cmd) {
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Prints a and b from the first byte where they differ, C-escaped. */
static void show_diff(const char *what, const char *got, const char *want) {
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    fprintf(stderr, "%s: differs at byte %zu\n", what, i);
    const char *lbl[2] = {"  rlc:  ", "  want: "};
    const char *s[2] = {got, want};
    for (int k = 0; k < 2; k++) {
        fputs(lbl[k], stderr);
        for (const char *p = s[k] + (i > 20 ? i - 20 : 0); *p && p < s[k] + i + 60; p++)
            if (*p == '\n')
                fputs("\\n", stderr);
            else if (*p == '\r')
                fputs("\\r", stderr);
            else if (*p == '\t')
                fputs("\\t", stderr);
            else
                fputc(*p, stderr);
        fputc('\n', stderr);
    }
}

/* Compares rlc with every record of a reference rendering; counts into per_format
 * the (template, case, gen, thinking) records compared. */
static void compare_with(const char *ref_path, int skip_js_divergent,
                         int per_format[RLC_CHAT_FORMAT_COUNT]) {
    json_t *cases = load_json("tests/chat/cases.json");
    json_t *targets = load_json("tests/chat/targets.json");
    json_t *ref = load_json(ref_path);
    cr_assert(json_is_array(ref) && json_array_size(ref) > 0, "%s: no records", ref_path);
    int bad = 0;
    size_t i;
    json_t *r;
    json_array_foreach(ref, i, r) {
        const char *tpl = json_string_value(json_object_get(r, "template"));
        const char *name = json_string_value(json_object_get(r, "case"));
        const char *want = json_string_value(json_object_get(r, "out"));
        int gen = json_is_true(json_object_get(r, "add_generation_prompt"));
        json_t *think = json_object_get(r, "enable_thinking");
        cr_assert(tpl && name && want);

        rlc_chat_format f = RLC_CHAT_AUTO;
        size_t k;
        json_t *t, *c, *conv = NULL;
        json_array_foreach(targets, k,
                           t) if (!strcmp(json_string_value(json_object_get(t, "template")), tpl))
            cr_assert_eq(rlc_chat_parse(json_string_value(json_object_get(t, "format")), &f),
                         RLC_OK);
        json_array_foreach(
            cases, k, c) if (!strcmp(json_string_value(json_object_get(c, "name")), name)) conv = c;
        cr_assert(f != RLC_CHAT_AUTO && conv, "record %zu: unknown template %s or case %s", i, tpl,
                  name);
        if (skip_js_divergent && json_object_get(conv, "js_diverges")) continue;

        json_t *jm = json_object_get(conv, "messages");
        int n = (int)json_array_size(jm);
        rlc_chat_msg msgs[32];
        cr_assert(n <= 32);
        for (int m = 0; m < n; m++) {
            json_t *o = json_array_get(jm, (size_t)m);
            msgs[m].role = json_string_value(json_object_get(o, "role"));
            msgs[m].content = json_string_value(json_object_get(o, "content"));
        }
        /* A template without the switch must ignore it: try both values. */
        for (int th = 0; th < 2; th++) {
            if (json_is_boolean(think) && th != json_is_true(think)) continue;
            char *got = NULL;
            cr_assert_eq(rlc_chat_render(f, msgs, n, gen, th, &got), RLC_OK, "%s",
                         rlc_last_error());
            if (strcmp(got, want)) {
                char what[256];
                snprintf(what, sizeof what, "%s / %s / gen=%d / thinking=%d (%s)", tpl, name, gen,
                         th, ref_path);
                show_diff(what, got, want);
                bad++;
            }
            free(got);
        }
        per_format[f]++;
    }
    json_decref(ref);
    json_decref(targets);
    json_decref(cases);
    cr_assert_eq(bad, 0, "%d renderings differ from %s", bad, ref_path);
}

static void assert_coverage(const int per_format[RLC_CHAT_FORMAT_COUNT]) {
    /* >= 10 conversations, each with and without the generation prompt. */
    cr_assert_geq(per_format[RLC_CHAT_CHATML], 20);
    cr_assert_geq(per_format[RLC_CHAT_QWEN3], 40);  /* and both thinking values */
    cr_assert_geq(per_format[RLC_CHAT_LLAMA3], 40); /* 3.3 and 3.2 templates */
}

Test(chat, matches_huggingface_jinja) {
    cr_assert_eq(run("sh tests/npm-install.sh " JINJA_PKG " >&2"), 0,
                 "could not install " JINJA_PKG " (needs node and npm: make test-deps)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "NPM_ROOT=build/npm/node_modules node tests/chat/render.mjs tests/chat > %s",
             tmp_path("js.json"));
    cr_assert_eq(run(cmd), 0, "tests/chat/render.mjs failed");
    int per_format[RLC_CHAT_FORMAT_COUNT] = {0};
    compare_with(tmp_path("js.json"), 1, per_format);
    assert_coverage(per_format);
}

Test(chat, matches_python_jinja2) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/chat/render.py tests/chat > %s",
             tmp_path("py.json"));
    cr_assert_eq(run(cmd), 0, "tests/chat/render.py failed (needs python3-jinja2: make test-deps)");
    int per_format[RLC_CHAT_FORMAT_COUNT] = {0};
    compare_with(tmp_path("py.json"), 0, per_format);
    assert_coverage(per_format);
}

static char *render(rlc_chat_format f, const rlc_chat_msg *m, int n, int gen, int think) {
    char *s = NULL;
    cr_assert_eq(rlc_chat_render(f, m, n, gen, think, &s), RLC_OK, "%s", rlc_last_error());
    return s;
}

Test(chat, plain_concatenates_contents) {
    rlc_chat_msg m[] = {{"system", "S "}, {"user", " What is 2+2?\n"}, {"assistant", "4"}};
    char *s = render(RLC_CHAT_NONE, m, 3, 1, 0);
    cr_assert_str_eq(s, "S  What is 2+2?\n4");
    free(s);
    s = render(RLC_CHAT_NONE, m + 1, 1, 1, 1);
    cr_assert_str_eq(s, " What is 2+2?\n");
    free(s);
    rlc_chat_msg e[] = {{"user", ""}};
    s = render(RLC_CHAT_NONE, e, 1, 0, 0);
    cr_assert_str_eq(s, "");
    free(s);
}

Test(chat, qwen3_generation_prompt_ends_with_header) {
    rlc_chat_msg m[] = {{"user", "Hi"}};
    char *s = render(RLC_CHAT_QWEN3, m, 1, 1, 0);
    cr_assert_str_eq(
        s, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    free(s);
    s = render(RLC_CHAT_QWEN3, m, 1, 1, 1);
    cr_assert_str_eq(s, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    free(s);
    s = render(RLC_CHAT_CHATML, m, 1, 1, 0);
    cr_assert_str_eq(
        s, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
           "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    free(s);
}

/* Python's str.strip() whitespace, which jinja2's trim filter uses. */
Test(chat, llama3_strips_python_whitespace) {
    rlc_chat_msg m[] = {{"user", "\x1c\xe2\x80\x83 x \xc2\xa0\xc2\x85\xe3\x80\x80"},
                        {"assistant", "\xe2\x80\x8b"
                                      "y\xef\xbb\xbf"}, /* U+200B, U+FEFF kept */
                        {"user", " \t\r\n\v\f"}};
    char *s = render(RLC_CHAT_LLAMA3, m, 3, 0, 0);
    cr_assert_str_eq(
        s, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
           "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n\xe2\x80\x8by\xef\xbb\xbf<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\n<|eot_id|>");
    free(s);
    /* A truncated UTF-8 sequence at either end is content, not whitespace. */
    rlc_chat_msg t[] = {{"user", "\xe2\x80 a \xe3\x80"}};
    s = render(RLC_CHAT_LLAMA3, t, 1, 0, 0);
    cr_assert(strstr(s, "\n\n\xe2\x80 a \xe3\x80<|eot_id|>"), "%s", s);
    free(s);
}

Test(chat, render_rejects_bad_input) {
    rlc_chat_msg ok[] = {{"user", "x"}};
    rlc_chat_msg tool[] = {{"user", "x"}, {"tool", "{}"}};
    rlc_chat_msg null_content[] = {{"user", NULL}};
    rlc_chat_msg null_role[] = {{NULL, "x"}};
    char *s = (char *)1;
    cr_assert_eq(rlc_chat_render(RLC_CHAT_CHATML, ok, 0, 1, 1, &s), RLC_ERR_INVALID);
    cr_assert_null(s);
    cr_assert_eq(rlc_chat_render(RLC_CHAT_QWEN3, tool, 2, 1, 1, &s), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "'tool'"), "%s", rlc_last_error());
    cr_assert_eq(rlc_chat_render(RLC_CHAT_LLAMA3, null_content, 1, 1, 1, &s), RLC_ERR_INVALID);
    cr_assert_eq(rlc_chat_render(RLC_CHAT_NONE, null_role, 1, 1, 1, &s), RLC_ERR_INVALID);
    cr_assert_eq(rlc_chat_render(RLC_CHAT_AUTO, ok, 1, 1, 1, &s), RLC_ERR_INVALID);
    cr_assert_eq(rlc_chat_render((rlc_chat_format)99, ok, 1, 1, 1, &s), RLC_ERR_INVALID);
    cr_assert_null(s);
}

Test(chat, parse_and_name) {
    const char *names[] = {"none", "chatml", "qwen3", "llama3", "auto"};
    for (int i = 0; i < 5; i++) {
        rlc_chat_format f = RLC_CHAT_FORMAT_COUNT;
        cr_assert_eq(rlc_chat_parse(names[i], &f), RLC_OK);
        cr_assert_eq((int)f, i);
        cr_assert_str_eq(rlc_chat_name(f), names[i]);
    }
    rlc_chat_format f;
    cr_assert_eq(rlc_chat_parse("ChatML", &f), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "'ChatML'") && strstr(rlc_last_error(), "llama3"));
    cr_assert_eq(rlc_chat_parse(NULL, &f), RLC_ERR_INVALID);
    cr_assert_str_eq(rlc_chat_name((rlc_chat_format)42), "?");
}

/* ---- detection ---- */

static char *slurp(const char *path) {
    char *s = NULL;
    cr_assert_eq(rlc_read_file(path, &s, NULL), RLC_OK, "%s", rlc_last_error());
    return s;
}

/* Writes tokenizer_config.json holding chat_template = ct (stolen; NULL: no key). */
static const char *write_config(json_t *ct) {
    json_t *root =
        json_pack("{s:s, s:s}", "tokenizer_class", "Qwen2Tokenizer", "eos_token", "<|im_end|>");
    if (ct) json_object_set_new(root, "chat_template", ct);
    const char *p = tmp_path("tokenizer_config.json");
    cr_assert_eq(json_dump_file(root, p, JSON_INDENT(2)), 0);
    json_decref(root);
    return p;
}

static void expect_detect(json_t *ct, rlc_status want_st, rlc_chat_format want,
                          const char *msg_part) {
    rlc_chat_format f = RLC_CHAT_AUTO;
    const char *p = write_config(ct);
    rlc_status st = rlc_chat_detect(p, &f);
    cr_assert_eq(st, want_st, "status %d, want %d: %s", st, want_st, rlc_last_error());
    if (st == RLC_OK)
        cr_assert_eq(f, want, "format %s, want %s", rlc_chat_name(f), rlc_chat_name(want));
    if (msg_part) {
        cr_assert(strstr(rlc_last_error(), msg_part), "'%s' lacks '%s'", rlc_last_error(),
                  msg_part);
        cr_assert(strstr(rlc_last_error(), "tokenizer_config.json"), "%s", rlc_last_error());
    }
}

static json_t *template_file(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "tests/chat/templates/%s", name);
    char *s = slurp(path);
    json_t *j = json_string(s);
    free(s);
    return j;
}

Test(chat, detect_published_templates) {
    expect_detect(template_file("qwen2.5-instruct.jinja"), RLC_OK, RLC_CHAT_CHATML, NULL);
    expect_detect(template_file("qwen3.jinja"), RLC_OK, RLC_CHAT_QWEN3, NULL);
    expect_detect(template_file("llama-3.3-instruct.jinja"), RLC_OK, RLC_CHAT_LLAMA3, NULL);
    expect_detect(template_file("llama-3.2-instruct.jinja"), RLC_OK, RLC_CHAT_LLAMA3, NULL);
    expect_detect(NULL, RLC_OK, RLC_CHAT_NONE, NULL);
    expect_detect(json_null(), RLC_OK, RLC_CHAT_NONE, NULL);
}

Test(chat, detect_named_template_list) {
    json_t *list =
        json_pack("[{s:s, s:s}, {s:s, s:o}]", "name", "tool_use", "template", "{{ 'x' }}", "name",
                  "default", "template", template_file("qwen3.jinja"));
    expect_detect(list, RLC_OK, RLC_CHAT_QWEN3, NULL);
    expect_detect(json_pack("[{s:s, s:s}]", "name", "rag", "template", "<|im_start|>"),
                  RLC_ERR_FORMAT, 0, "default");
}

Test(chat, detect_sibling_jinja_file) {
    char *tpl = slurp("tests/chat/templates/llama-3.3-instruct.jinja");
    cr_assert_eq(rlc_write_file_atomic(tmp_path("chat_template.jinja"), tpl, strlen(tpl)), RLC_OK);
    free(tpl);
    expect_detect(NULL, RLC_OK, RLC_CHAT_LLAMA3, NULL);
    const char *junk = "{{ messages[0].content }}";
    cr_assert_eq(rlc_write_file_atomic(tmp_path("chat_template.jinja"), junk, strlen(junk)),
                 RLC_OK);
    rlc_chat_format f;
    cr_assert_eq(rlc_chat_detect(write_config(NULL), &f), RLC_ERR_UNSUPPORTED);
    cr_assert(strstr(rlc_last_error(), "chat_template.jinja"), "%s", rlc_last_error());
}

Test(chat, detect_rejects_near_misses) {
    /* Llama 3.0: same headers, no system block. */
    expect_detect(
        json_string("{% set loop_messages = messages %}{% for message in loop_messages %}{% set "
                    "content = '<|start_header_id|>' + message['role'] + "
                    "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
                    "{{ content }}{% endfor %}"),
        RLC_ERR_UNSUPPORTED, 0, "Llama 3.0");
    /* Plain ChatML (Qwen2, SmolLM...) has another or no default system prompt. */
    expect_detect(
        json_string("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"),
        RLC_ERR_UNSUPPORTED, 0, "default system prompt");
    /* QwQ-style reasoning template: <think> but no enable_thinking switch. */
    expect_detect(json_string("{{'<|im_start|>assistant\\n<think>\\n'}}"), RLC_ERR_UNSUPPORTED, 0,
                  "enable_thinking");
    expect_detect(json_string("{{ bos_token }}[INST] {{ messages[0].content }} [/INST]"),
                  RLC_ERR_UNSUPPORTED, 0, "set chat_format");
}

Test(chat, detect_file_errors) {
    rlc_chat_format f;
    cr_assert_eq(rlc_chat_detect(tmp_path("missing.json"), &f), RLC_ERR_NOT_FOUND);
    const char *bad = "{\"chat_template\": ";
    cr_assert_eq(rlc_write_file_atomic(tmp_path("bad.json"), bad, strlen(bad)), RLC_OK);
    cr_assert_eq(rlc_chat_detect(tmp_path("bad.json"), &f), RLC_ERR_FORMAT);
    cr_assert(strstr(rlc_last_error(), "bad.json"), "%s", rlc_last_error());
    const char *arr = "[1, 2]";
    cr_assert_eq(rlc_write_file_atomic(tmp_path("arr.json"), arr, strlen(arr)), RLC_OK);
    cr_assert_eq(rlc_chat_detect(tmp_path("arr.json"), &f), RLC_ERR_FORMAT);
    expect_detect(json_integer(3), RLC_ERR_FORMAT, 0, "expected a string or a list");
}
