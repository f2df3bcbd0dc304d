/* JSONL data sets: GSM8K and SFT forms, and every bad-input error naming
 * FILE:LINE. Data files are written to a fresh temporary directory. */
#include "base/fs.h"
#include "data/jsonl.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(jsonl, .init = tmpdir_setup, .fini = tmpdir_teardown);

static const char *write_data(const char *name, const char *text) {
    const char *p = tmp_path(name);
    cr_assert_eq(rlc_write_file_atomic(p, text, strlen(text)), RLC_OK);
    return p;
}

/* Expects loading text as a GSM8K set to fail with st and a message that
 * starts with "<path>:<line>: " (line 0: "<path>: ") and contains want. */
static void qa_bad(const char *text, rlc_status st, size_t line, const char *want) {
    const char *p = write_data("bad.jsonl", text);
    rlc_qa_set s;
    rlc_status got = rlc_qa_load(p, &s);
    cr_assert_eq(got, st, "status %d want %d: %s", got, st, rlc_last_error());
    cr_assert_eq(s.n, 0);
    cr_assert_null(s.items);
    char prefix[600];
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%zu: ", p, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", p);
    const char *msg = rlc_last_error();
    cr_assert_eq(strncmp(msg, prefix, strlen(prefix)), 0, "'%s' does not start with '%s'", msg,
                 prefix);
    cr_assert(strstr(msg, want), "'%s' lacks '%s'", msg, want);
}

static void sft_bad(const char *text, size_t line, const char *want) {
    const char *p = write_data("bad.jsonl", text);
    rlc_sft_set s;
    cr_assert_eq(rlc_sft_load(p, &s), RLC_ERR_FORMAT, "%s", rlc_last_error());
    cr_assert_eq(s.n, 0);
    char prefix[600];
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%zu: ", p, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", p);
    const char *msg = rlc_last_error();
    cr_assert_eq(strncmp(msg, prefix, strlen(prefix)), 0, "'%s' does not start with '%s'", msg,
                 prefix);
    cr_assert(strstr(msg, want), "'%s' lacks '%s'", msg, want);
}

/* Three lines in the form of the real GSM8K test split. */
static const char *gsm8k =
    "{\"question\": \"Janet\\u2019s ducks lay 16 eggs per day. She eats three for breakfast "
    "every morning and bakes muffins for her friends every day with four. She sells the "
    "remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars "
    "does she make every day at the farmers' market?\", \"answer\": \"Janet sells 16 - 3 - 4 = "
    "<<16-3-4=9>>9 duck eggs a day.\\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the "
    "farmer\\u2019s market.\\n#### 18\"}\n"
    "{\"question\": \"A robe takes 2 bolts of blue fiber and half that much white fiber. How "
    "many bolts in total does it take?\", \"answer\": \"It takes 2/2=<<2/2=1>>1 bolt of white "
    "fiber\\nSo the total amount of fabric is 2+1=<<2+1=3>>3 bolts of fabric\\n#### 3\"}\r\n"
    "\n"
    "   \n"
    "{\"question\": \"Big number?\", \"answer\": \"Sum.\\n####  1,234,567 \", \"extra\": 1}";

Test(jsonl, gsm8k_valid) {
    rlc_qa_set s;
    const char *p = write_data("gsm8k.jsonl", gsm8k);
    cr_assert_eq(rlc_qa_load(p, &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 3);
    cr_assert_eq(strncmp(s.items[0].question, "Janet\xe2\x80\x99s ducks", 14), 0);
    cr_assert_str_eq(s.items[0].reference, "18");
    cr_assert(strstr(s.items[0].answer, "\n#### 18"));
    cr_assert_str_eq(s.items[1].reference, "3");
    cr_assert_str_eq(s.items[2].question, "Big number?");
    cr_assert_str_eq(s.items[2].reference, "1234567");
    rlc_qa_free(&s);
    cr_assert_eq(s.n, 0);
    rlc_qa_free(&s); /* twice is fine */
}

Test(jsonl, gsm8k_reference_forms) {
    rlc_qa_set s;
    const char *p = write_data(
        "r.jsonl", "{\"question\": \"q\", \"answer\": \"#### -5\"}\n"
                   "{\"question\": \"q\", \"answer\": \"a #### 1 then\\n#### 2.50\\n\"}\n"
                   "{\"question\": \"q\", \"answer\": \"#### Paris, France\"}\n"
                   "{\"question\": \"q\", \"answer\": \"#####7\"}\n"
                   "{\"question\": \"\", \"answer\": \"x\\n#### 0\\n(checked)\"}\n");
    cr_assert_eq(rlc_qa_load(p, &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 5);
    cr_assert_str_eq(s.items[0].reference, "-5");
    cr_assert_str_eq(s.items[1].reference, "2.50");          /* the last marker counts */
    cr_assert_str_eq(s.items[2].reference, "Paris, France"); /* text keeps its commas */
    cr_assert_str_eq(s.items[3].reference, "7");
    cr_assert_str_eq(s.items[4].reference, "0"); /* up to the end of the marker's line */
    cr_assert_str_eq(s.items[4].question, "");
    rlc_qa_free(&s);
}

Test(jsonl, gsm8k_errors) {
    const char *ok = "{\"question\": \"q\", \"answer\": \"#### 1\"}\n";
    char buf[1024];
    /* Malformed JSON on line 3 (after a blank line 2). */
    snprintf(buf, sizeof buf, "%s\n{\"question\": \"q\", \"answer\": \"#### 1\"\n%s", ok, ok);
    qa_bad(buf, RLC_ERR_FORMAT, 3, "invalid JSON");
    snprintf(buf, sizeof buf, "%s%s{\"question\": \"q\", \"answer\": \"#### 1\"} trailing\n", ok,
             ok);
    qa_bad(buf, RLC_ERR_FORMAT, 3, "invalid JSON");
    qa_bad("{\"question\": \"q\", \"question\": \"r\", \"answer\": \"#### 1\"}", RLC_ERR_FORMAT, 1,
           "duplicate");
    snprintf(buf, sizeof buf, "%s[1, 2]\n", ok);
    qa_bad(buf, RLC_ERR_FORMAT, 2, "expected a JSON object");
    qa_bad("42\n", RLC_ERR_FORMAT, 1, "invalid JSON");
    qa_bad("\"str\"\n", RLC_ERR_FORMAT, 1, "invalid JSON");
    /* Fields. */
    snprintf(buf, sizeof buf, "%s%s{\"answer\": \"#### 1\"}\n", ok, ok);
    qa_bad(buf, RLC_ERR_FORMAT, 3, "missing field \"question\"");
    qa_bad("{\"question\": \"q\"}", RLC_ERR_FORMAT, 1, "missing field \"answer\"");
    qa_bad("{\"question\": 5, \"answer\": \"#### 1\"}", RLC_ERR_FORMAT, 1,
           "field \"question\" must be a string, got a number");
    qa_bad("{\"question\": \"q\", \"answer\": null}", RLC_ERR_FORMAT, 1,
           "field \"answer\" must be a string, got null");
    qa_bad("{\"question\": \"q\", \"answer\": 18}", RLC_ERR_FORMAT, 1, "got a number");
    snprintf(buf, sizeof buf, "%s{\"question\": \"q\", \"answer\": \"so 18\"}\n", ok);
    qa_bad(buf, RLC_ERR_FORMAT, 2, "no final \"#### N\" line");
    qa_bad("{\"question\": \"q\", \"answer\": \"so ####  \\n\"}", RLC_ERR_FORMAT, 1,
           "nothing after \"####\"");
    /* Empty data sets. */
    qa_bad("", RLC_ERR_FORMAT, 0, "no examples");
    qa_bad("\n  \n\r\n", RLC_ERR_FORMAT, 0, "no examples");
    /* A missing file. */
    rlc_qa_set s;
    cr_assert_eq(rlc_qa_load(tmp_path("none.jsonl"), &s), RLC_ERR_NOT_FOUND);
    cr_assert(strstr(rlc_last_error(), "none.jsonl"));
    cr_assert_eq(s.n, 0);
}

Test(jsonl, line_numbers_far_down) {
    /* 500 good lines, then a bad one: the error names line 501. */
    size_t cap = 600 * 64;
    char *buf = malloc(cap);
    size_t o = 0;
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(buf + o, cap - o,
                              "{\"question\": \"q%d\", \"answer\": \"#### %d\"}\n", i, i);
    snprintf(buf + o, cap - o, "{\"question\": \"q\", \"answer\": \"#### 1\",}\n");
    qa_bad(buf, RLC_ERR_FORMAT, 501, "invalid JSON");
    /* And without it everything loads. */
    buf[o] = 0;
    rlc_qa_set s;
    cr_assert_eq(rlc_qa_load(write_data("ok.jsonl", buf), &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 500);
    cr_assert_str_eq(s.items[499].question, "q499");
    cr_assert_str_eq(s.items[499].reference, "499");
    rlc_qa_free(&s);
    free(buf);
}

static rlc_status count_keys(const json_t *obj, const char *path, size_t line, void *ctx) {
    size_t *sum = ctx;
    *sum += json_object_size(obj) * 1000 + line;
    if (json_object_get(obj, "stop"))
        return rlc_errorf(RLC_ERR_INVALID, "%s:%zu: stop", path, line);
    return RLC_OK;
}

Test(jsonl, foreach) {
    size_t sum = 0, n = 99;
    const char *p = write_data("f.jsonl", "{\"a\":1}\n\n{\"a\":1,\"b\":2}");
    cr_assert_eq(rlc_jsonl_foreach(p, count_keys, &sum, &n), RLC_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(sum, 1000 + 1 + 2000 + 3);
    /* The callback's error stops the walk and comes back as is. */
    p = write_data("g.jsonl", "{}\n{\"stop\":1}\n{not json");
    cr_assert_eq(rlc_jsonl_foreach(p, count_keys, &sum, &n), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "g.jsonl:2: stop"));
    cr_assert_eq(n, 2);
}

Test(jsonl, sft_both_forms) {
    const char *p = write_data("sft.jsonl",
                               "{\"prompt\": \"12+34=\", \"response\": \"<answer>46</answer>\"}\n"
                               "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                               " {\"role\": \"user\", \"content\": \"Hi \\u00e9\"},"
                               " {\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n"
                               "{\"prompt\": \"\", \"response\": \"unconditional\", \"id\": 7}\n");
    rlc_sft_set s;
    cr_assert_eq(rlc_sft_load(p, &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.items[0].prompt, "12+34=");
    cr_assert_str_eq(s.items[0].response, "<answer>46</answer>");
    cr_assert_null(s.items[0].messages);
    cr_assert_eq(s.items[0].n_messages, 0);
    cr_assert_null(s.items[1].prompt);
    cr_assert_null(s.items[1].response);
    cr_assert_eq(s.items[1].n_messages, 3);
    cr_assert_str_eq(s.items[1].messages[0].role, "system");
    cr_assert_str_eq(s.items[1].messages[1].content, "Hi \xc3\xa9");
    cr_assert_str_eq(s.items[1].messages[2].role, "assistant");
    cr_assert_str_eq(s.items[1].messages[2].content, "Hello!");
    cr_assert_str_eq(s.items[2].prompt, "");
    rlc_sft_free(&s);
    rlc_sft_free(&s);
}

Test(jsonl, sft_errors) {
    const char *ok = "{\"prompt\": \"p\", \"response\": \"r\"}\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s{\"prompt\": \"p\", \"response\": }\n", ok, ok);
    sft_bad(buf, 3, "invalid JSON");
    sft_bad("{\"text\": \"x\"}", 1,
            "expected \"prompt\" and \"response\" strings or a \"messages\"");
    sft_bad("{\"prompt\": \"p\"}", 1, "missing field \"response\"");
    sft_bad("{\"response\": \"r\"}", 1, "missing field \"prompt\"");
    sft_bad("{\"prompt\": [\"p\"], \"response\": \"r\"}", 1,
            "field \"prompt\" must be a string, got an array");
    sft_bad("{\"prompt\": \"p\", \"response\": \"\"}", 1, "field \"response\" is empty");
    snprintf(buf, sizeof buf,
             "%s{\"prompt\": \"p\", \"response\": \"r\", \"messages\": "
             "[{\"role\": \"assistant\", \"content\": \"x\"}]}\n",
             ok);
    sft_bad(buf, 2, "has both");
    sft_bad("{\"messages\": []}", 1, "non-empty list");
    sft_bad("{\"messages\": {\"role\": \"user\"}}", 1, "non-empty list");
    sft_bad("{\"messages\": [\"hi\"]}", 1, "messages[0] must be an object, got a string");
    sft_bad("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"content\": \"b\"}]}", 1,
            "missing field \"messages[1].role\"");
    sft_bad("{\"messages\": [{\"role\": \"assistant\", \"content\": 3}]}", 1,
            "field \"messages[0].content\" must be a string, got a number");
    sft_bad("{\"messages\": [{\"role\": \"robot\", \"content\": \"b\"}]}", 1,
            "messages[0].role \"robot\" is not one of system, user, assistant, tool");
    sft_bad("{\"messages\": [{\"role\": \"user\", \"content\": \"b\"}]}", 1,
            "no \"assistant\" message");
    snprintf(buf, sizeof buf, "%s%s%s", ok, ok, "{\"messages\": [{\"role\": \"user\"}]}\n");
    sft_bad(buf, 3, "messages[0].content");
    sft_bad("", 0, "no examples");
    sft_bad("\n\n", 0, "no examples");
}

/* verl's RL layout in JSONL: a chat-list prompt and a dotted answer key,
 * given as keys or recognised from the columns; a missing dotted field is an
 * error naming it. */
Test(jsonl, verl_layout_records) {
    const char *p = write_data(
        "verl.jsonl",
        "{\"data_source\": \"gsm8k\", \"prompt\": [{\"role\": \"system\", \"content\": \"S\"}, "
        "{\"role\": \"user\", \"content\": \"1+1?\"}], \"reward_model\": {\"ground_truth\": "
        "\"2\", \"style\": \"rule\"}, \"extra_info\": {\"index\": 0}}\n"
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"2+2?\"}], \"reward_model\": "
        "{\"ground_truth\": 4}}\n");
    const char *keys[][2] = {{"prompt", "reward_model.ground_truth"}, {"question", "answer"}};
    for (int k = 0; k < 2; k++) {
        rlc_record_set s;
        cr_assert_eq(rlc_records_load(p, keys[k][0], keys[k][1], &s), RLC_OK, "%s",
                     rlc_last_error());
        cr_assert_eq(s.n, 2);
        cr_assert_eq(s.items[0].n_msgs, 2);
        cr_assert_str_eq(s.items[0].msgs[0].role, "system");
        cr_assert_str_eq(s.items[0].msgs[1].content, "1+1?");
        cr_assert_str_eq(s.items[0].reference, "2");
        cr_assert_eq(s.items[1].n_msgs, 1);
        cr_assert_str_eq(s.items[1].completion, "4"); /* a number as text */
        rlc_records_free(&s);
    }
    /* verl's SFT rows: a chat prompt and a response string */
    const char *sft = write_data("sft.jsonl", "{\"prompt\": [{\"role\": \"user\", \"content\": "
                                              "\"Hi\"}], \"response\": \"Hello #### 1\"}\n");
    rlc_record_set s;
    cr_assert_eq(rlc_records_load(sft, "question", "answer", &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.items[0].msgs[0].content, "Hi");
    cr_assert_str_eq(s.items[0].completion, "Hello #### 1");
    cr_assert_str_eq(s.items[0].reference, "1");
    rlc_records_free(&s);
    cr_assert_eq(rlc_records_load(p, "prompt", "reward_model.answer", &s), RLC_ERR_FORMAT);
    cr_assert(strstr(rlc_last_error(), ":1: missing field \"reward_model.answer\""), "%s",
              rlc_last_error());
}
