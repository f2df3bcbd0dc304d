/* Reward functions: hand cases for every rule of each reward, the registry,
 * reward sets and the "correct" metric. */
#include "rewards/rewards.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define EQ(expr, want)                                                                             \
    do {                                                                                           \
        float got_ = (expr);                                                                       \
        cr_assert(fabsf(got_ - (float)(want)) < 1e-6f, "%s = %g, want %g", #expr, got_,            \
                  (double)(want));                                                                 \
    } while (0)

static float fe(const char *c) {
    return rlc_reward_format_exact(c, "46");
}

/* DAPO's overlong penalty by hand: max_len 100, buffer 20, factor 1.5: none
 * up to 80 tokens, then -1.5 * (len - 80) / 20 down to -1.5 at 100 (and no
 * further below); buffer 0 is off; buffer = max_len starts at one token. */
Test(rewards, overlong_penalty) {
    cr_expect_eq(rlc_reward_overlong(0, 100, 20, 1.5f), 0.0f);
    cr_expect_eq(rlc_reward_overlong(80, 100, 20, 1.5f), 0.0f);
    cr_expect_float_eq(rlc_reward_overlong(81, 100, 20, 1.5f), -0.075f, 1e-7);
    cr_expect_float_eq(rlc_reward_overlong(90, 100, 20, 1.5f), -0.75f, 1e-7);
    cr_expect_float_eq(rlc_reward_overlong(100, 100, 20, 1.5f), -1.5f, 1e-7);
    cr_expect_float_eq(rlc_reward_overlong(130, 100, 20, 1.5f), -1.5f, 1e-7);
    cr_expect_eq(rlc_reward_overlong(100, 100, 0, 1.5f), 0.0f);
    cr_expect_float_eq(rlc_reward_overlong(1, 8, 8, 1.0f), -0.125f, 1e-7);
}

Test(rewards, format_exact_accepts) {
    EQ(fe("<reasoning>\n12+34 is 46\n</reasoning>\n<answer>\n46\n</answer>\n"), 1);
    EQ(fe("<reasoning>12+34</reasoning><answer>46</answer>"), 1);
    EQ(fe("  \n<reasoning>a</reasoning>  \n\n <answer>46</answer>\n\n"), 1);
    /* Several lines of reasoning (TRL's pattern would reject this by accident). */
    EQ(fe("<reasoning>\nline 1\nline 2\n\nline 4\n</reasoning>\n<answer>\n46\n</answer>"), 1);
    EQ(fe("<reasoning></reasoning><answer>46</answer>"), 1); /* empty reasoning is allowed */
    EQ(fe("<reasoning>π ≈ 3.14… ✓</reasoning>\n<answer>сорок шесть</answer>"), 1);
    EQ(fe("<reasoning>a < b > c</reasoning><answer>x</answer>"), 1); /* other '<' are fine */
    /* The reference is not looked at: this is only about form. */
    EQ(rlc_reward_format_exact("<reasoning>r</reasoning><answer>7</answer>", NULL), 1);
}

Test(rewards, format_exact_rejects) {
    EQ(fe(""), 0);
    EQ(fe(NULL), 0);
    EQ(fe("46"), 0);
    EQ(fe("<answer>46</answer>"), 0); /* no reasoning */
    EQ(fe("<reasoning>r</reasoning>"), 0);
    EQ(fe("<reasoning>r</reasoning><answer>  \n </answer>"), 0);                 /* blank answer */
    EQ(fe("<reasoning>r</reasoning><answer></answer>"), 0);                      /* empty answer */
    EQ(fe("Sure! <reasoning>r</reasoning><answer>46</answer>"), 0);              /* text before */
    EQ(fe("<reasoning>r</reasoning><answer>46</answer> hope this helps"), 0);    /* text after */
    EQ(fe("<reasoning>r</reasoning>so<answer>46</answer>"), 0);                  /* text between */
    EQ(fe("<answer>46</answer><reasoning>r</reasoning>"), 0);                    /* order */
    EQ(fe("<reasoning>r<answer>1</answer></reasoning><answer>46</answer>"), 0);  /* nested */
    EQ(fe("<reasoning>r</reasoning><answer>4<answer>6</answer></answer>"), 0);   /* nested */
    EQ(fe("<reasoning>r</reasoning><answer>46</answer><answer>46</answer>"), 0); /* two answers */
    EQ(fe("<reasoning>a</reasoning><reasoning>b</reasoning><answer>46</answer>"), 0);
    EQ(fe("<reasoning>r<reasoning>s</reasoning><answer>46</answer>"), 0);
    EQ(fe("<reasoning>r</reasoning><answer>46"), 0);          /* truncated */
    EQ(fe("<Reasoning>r</Reasoning><answer>46</answer>"), 0); /* tags are case-sensitive */
    EQ(fe("<reasoning >r</reasoning><answer>46</answer>"), 0);
}

static float fa(const char *c) {
    return rlc_reward_format_approx(c, "46");
}

Test(rewards, format_approx) {
    EQ(fa(""), 0);
    EQ(fa(NULL), 0);
    EQ(fa("just 46"), 0);
    EQ(fa("<reasoning>\nr\n</reasoning>\n<answer>\n46\n</answer>\n"), 1);
    EQ(fa("<answer>46</answer>"), 0.5);
    EQ(fa("<answer>46</answer>\n \n"), 0.5); /* trailing whitespace is free */
    EQ(fa("<reasoning>r</reasoning>"), 0.5);
    EQ(fa("<reasoning>r"), 0.25);
    EQ(fa("</reasoning>r<reasoning><answer>46</answer>"), 1); /* order is not checked */
    /* A tag present twice earns nothing for that tag. */
    EQ(fa("<reasoning>r</reasoning><answer>1</answer><answer>2</answer>"), 0.5);
    /* Penalty: 0.001 per byte after the last </answer>, trailing space excluded. */
    EQ(fa("<reasoning>r</reasoning><answer>46</answer>abcde \n"), 1 - 0.005);
    EQ(fa("<answer>46</answer> x"), 0.5 - 0.002);
    /* UTF-8 bytes count as bytes: "é" is two. */
    EQ(fa("<answer>46</answer>é"), 0.5 - 0.002);
    /* Floored at zero. */
    char buf[2048] = "<answer>46</answer>";
    memset(buf + strlen(buf), 'x', 1000);
    EQ(fa(buf), 0);
}

Test(rewards, extract_answer) {
    const char *a;
    size_t n;
    cr_assert(rlc_reward_extract_answer("<answer>46</answer>", &a, &n));
    cr_assert_eq(n, 2);
    cr_assert_eq(strncmp(a, "46", 2), 0);
    /* The last complete answer wins. */
    cr_assert(rlc_reward_extract_answer("<answer>1</answer> then <answer> 2 </answer>", &a, &n));
    cr_assert_eq(n, 3);
    cr_assert_eq(strncmp(a, " 2 ", 3), 0);
    /* An unclosed answer after a closed one does not count: the closed one does. */
    cr_assert(rlc_reward_extract_answer("<answer>1</answer> <answer>2", &a, &n));
    cr_assert_eq(strncmp(a, "1", n), 0);
    /* Nested: the innermost. */
    cr_assert(rlc_reward_extract_answer("<answer>x<answer>5</answer></answer>", &a, &n));
    cr_assert_eq(n, 1);
    cr_assert_eq(*a, '5');
    cr_assert(rlc_reward_extract_answer("<answer></answer>", &a, &n));
    cr_assert_eq(n, 0);
    cr_assert_not(rlc_reward_extract_answer("46", &a, &n));
    cr_assert_not(rlc_reward_extract_answer("<answer>46", &a, &n));
    cr_assert_not(rlc_reward_extract_answer("46</answer>", &a, &n));
    cr_assert_not(rlc_reward_extract_answer("</answer><answer>46", &a, &n));
    cr_assert_not(rlc_reward_extract_answer("", &a, &n));
    cr_assert_not(rlc_reward_extract_answer(NULL, &a, &n));
}

static void num_ok(const char *s, const char *canon, double value) {
    char buf[64];
    double v = NAN;
    cr_assert(rlc_reward_parse_number(s, strlen(s), &v, buf, sizeof buf), "'%s' should parse", s);
    cr_assert_str_eq(buf, canon, "'%s' -> '%s', want '%s'", s, buf, canon);
    cr_assert_eq(v, value, "'%s' -> %g, want %g", s, v, value);
}

static void num_bad(const char *s) {
    cr_assert_not(rlc_reward_parse_number(s, strlen(s), NULL, NULL, 0), "'%s' should not parse", s);
}

Test(rewards, parse_number) {
    num_ok("46", "46", 46);
    num_ok("  46\n", "46", 46);
    num_ok("+46", "46", 46);
    num_ok("-46", "-46", -46);
    num_ok("46.0", "46", 46);
    num_ok("46.", "46", 46);
    num_ok("046.500", "46.5", 46.5);
    num_ok(".5", "0.5", 0.5);
    num_ok("-.5", "-0.5", -0.5);
    num_ok("0", "0", 0);
    num_ok("-0.000", "0", 0);
    num_ok("000", "0", 0);
    num_ok("1,000", "1000", 1000);
    num_ok("-1,234,567.25", "-1234567.25", -1234567.25);
    num_ok("$18", "18", 18);
    num_ok("-$5.50", "-5.5", -5.5);
    num_ok("12345678901234567890123", "12345678901234567890123", 12345678901234567890123.0);
    num_bad("");
    num_bad("   ");
    num_bad("-");
    num_bad(".");
    num_bad("$");
    num_bad("1e3");
    num_bad("46 apples");
    num_bad("x46");
    num_bad("4 6");
    num_bad(",1");
    num_bad("1,");
    num_bad("1,,000");
    num_bad("1.000,5");
    num_bad("--1");
    num_bad("1.2.3");
    num_bad("٤٦"); /* Arabic-Indic digits are not ASCII digits */
    num_bad("0x10");
    /* A canonical text that does not fit is a failure, never a truncation. */
    char small[3];
    cr_assert_not(rlc_reward_parse_number("-46", 3, NULL, small, sizeof small));
    cr_assert(rlc_reward_parse_number("46", 2, NULL, small, sizeof small));
    cr_assert_str_eq(small, "46");
    /* Length-bounded: the rest of the buffer is not read. */
    double v;
    cr_assert(rlc_reward_parse_number("12junk", 2, &v, NULL, 0));
    cr_assert_eq(v, 12);
}

static float ac(const char *c, const char *ref) {
    return rlc_reward_answer_check(c, ref);
}

Test(rewards, answer_check) {
    EQ(ac("<answer>46</answer>", "46"), 1);
    EQ(ac("<answer>\n 46 \n</answer>", " 46\n"), 1); /* both trimmed */
    EQ(ac("<answer>Paris</answer>", "Paris"), 1);    /* any text */
    EQ(ac("<answer>paris</answer>", "Paris"), 0);    /* exact, case-sensitive */
    EQ(ac("<answer>日本</answer>", "日本"), 1);
    EQ(ac("46", "46"), 0); /* no tags, no answer */
    EQ(ac("<answer>46", "46"), 0);
    EQ(ac("", "46"), 0);
    EQ(ac(NULL, "46"), 0);
    EQ(ac("<answer></answer>", ""), 0); /* a blank answer never matches */
    /* Same value, different text: partial (number_check gives the 1). */
    EQ(ac("<answer>46.0</answer>", "46"), 0.5);
    EQ(ac("<answer>1,000</answer>", "1000"), 0.5);
    /* Close numbers: within 10% -> 0.5, within 20% -> 0.25, edges included. */
    EQ(ac("<answer>110</answer>", "100"), 0.5);
    EQ(ac("<answer>90</answer>", "100"), 0.5);
    EQ(ac("<answer>111</answer>", "100"), 0.25);
    EQ(ac("<answer>120</answer>", "100"), 0.25);
    EQ(ac("<answer>80</answer>", "100"), 0.25);
    EQ(ac("<answer>121</answer>", "100"), 0);
    EQ(ac("<answer>79</answer>", "100"), 0);
    EQ(ac("<answer>-105</answer>", "-100"), 0.5);
    EQ(ac("<answer>100</answer>", "-100"), 0);
    EQ(ac("<answer>1</answer>", "0"), 0);
    EQ(ac("<answer>0.0</answer>", "0"), 0.5);
    EQ(ac("<answer>$1,050</answer>", "1000"), 0.5);
    EQ(ac("<answer>about 46</answer>", "46"), 0); /* not a number, not the text */
    EQ(ac("<answer>46</answer>", "forty-six"), 0);
    /* The last answer counts. */
    EQ(ac("<answer>46</answer> wait, <answer>47</answer>", "46"), 0.5);
    EQ(ac("<answer>47</answer> wait, <answer>46</answer>", "46"), 1);
    EQ(ac("<reasoning>r</reasoning>\n<answer>\n46\n</answer>\n", "46"), 1);
}

static float nc(const char *c, const char *ref) {
    return rlc_reward_number_check(c, ref);
}

Test(rewards, number_check) {
    EQ(nc("<answer>46</answer>", "46"), 1);
    EQ(nc("<answer> 46.0 </answer>", "46"), 1);
    EQ(nc("<answer>+46</answer>", "46"), 1);
    EQ(nc("<answer>1,000</answer>", "1000"), 1);
    EQ(nc("<answer>1000</answer>", "1,000"), 1);
    EQ(nc("<answer>$18.00</answer>", "18"), 1);
    EQ(nc("<answer>-7</answer>", "-7"), 1);
    EQ(nc("<answer>7</answer>", "-7"), 0);
    EQ(nc("<answer>-0</answer>", "0"), 1);
    EQ(nc("<answer>0.5</answer>", ".50"), 1);
    EQ(nc("<answer>47</answer>", "46"), 0);
    EQ(nc("<answer>46.01</answer>", "46"), 0);
    EQ(nc("<answer>46 apples</answer>", "46"), 0);
    EQ(nc("<answer></answer>", "46"), 0);
    EQ(nc("46", "46"), 0);
    EQ(nc("the answer is 46", "46"), 0);
    EQ(nc(NULL, "46"), 0);
    EQ(nc("<answer>46</answer>", NULL), 0);
    EQ(nc("<answer>46</answer>", "unknown"), 0);
    /* Exact decimal comparison: no double rounding for long integers. */
    EQ(nc("<answer>12345678901234567890</answer>", "12345678901234567891"), 0);
    EQ(nc("<answer>12345678901234567890</answer>", "12,345,678,901,234,567,890"), 1);
    /* Last / innermost answer. */
    EQ(nc("<answer>3</answer><answer>46</answer>", "46"), 1);
    EQ(nc("<answer>46</answer><answer>3</answer>", "46"), 0);
    EQ(nc("<answer>x<answer>46</answer></answer>", "46"), 1);
    EQ(nc("<answer>46</answer><answer>4", "46"), 1);
}

Test(rewards, correct_metric) {
    cr_assert(rlc_reward_correct("<answer>46</answer>", "46"));
    cr_assert(rlc_reward_correct("<answer>46.0</answer>", "46"));     /* value */
    cr_assert(rlc_reward_correct("<answer>Paris</answer>", "Paris")); /* text */
    cr_assert_not(rlc_reward_correct("<answer>47</answer>", "46"));
    cr_assert_not(rlc_reward_correct("<answer>45</answer>", "46")); /* partial is not correct */
    cr_assert_not(rlc_reward_correct("46", "46"));
}

Test(rewards, registry) {
    cr_assert_eq(rlc_reward_count(), 5); /* and "game" (tests/test_games.c) */
    const char *names[] = {"format_exact", "format_approx", "answer_check", "number_check"};
    for (size_t i = 0; i < 4; i++) {
        const rlc_reward_def *d = rlc_reward_at(i);
        cr_assert_str_eq(d->name, names[i]);
        cr_assert_eq(rlc_reward_find(names[i]), d);
        cr_assert_eq(d->max_value, 1.0f);
        cr_assert(d->help && *d->help);
        /* A perfect completion reaches the maximum of every built-in. */
        EQ(d->fn("<reasoning>\n40+6\n</reasoning>\n<answer>\n46\n</answer>\n", "46"), d->max_value);
        EQ(d->fn(NULL, NULL), 0);
    }
    cr_assert_str_eq(rlc_reward_at(4)->name, "game");
    cr_assert_null(rlc_reward_at(5));
    cr_assert_null(rlc_reward_find("nope"));
    cr_assert_null(rlc_reward_find(NULL));
    const rlc_reward_def *d;
    cr_assert_eq(rlc_reward_lookup("numbr_check", &d), RLC_ERR_NOT_FOUND);
    cr_assert_null(d);
    const char *msg = rlc_last_error();
    cr_assert(strstr(msg, "unknown reward \"numbr_check\""), "%s", msg);
    cr_assert(strstr(msg, "did you mean \"number_check\""), "%s", msg);
    cr_assert(strstr(msg, "format_exact, format_approx, answer_check, number_check"), "%s", msg);
    cr_assert_eq(rlc_reward_lookup("format_aprox", &d), RLC_ERR_NOT_FOUND);
    cr_assert(strstr(rlc_last_error(), "did you mean \"format_approx\""));
    cr_assert_eq(rlc_reward_lookup("answer_check", &d), RLC_OK);
    cr_assert_str_eq(d->name, "answer_check");
}

Test(rewards, set_compute) {
    rlc_reward_set s;
    cr_assert_eq(rlc_reward_set_parse(&s, "format_exact:0.5, number_check , answer_check:2"),
                 RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.defs[0]->name, "format_exact");
    cr_assert_eq(s.weights[0], 0.5f);
    cr_assert_str_eq(s.defs[1]->name, "number_check");
    cr_assert_eq(s.weights[1], 1.0f);
    cr_assert_eq(s.weights[2], 2.0f);
    EQ(rlc_reward_set_max(&s), 3.5);

    float per[3], total;
    rlc_rewards_compute(&s, "<reasoning>r</reasoning><answer>46.0</answer>", "46", per, &total);
    EQ(per[0], 1);
    EQ(per[1], 1);
    EQ(per[2], 0.5);
    EQ(total, 0.5 * 1 + 1 * 1 + 2 * 0.5);
    rlc_rewards_compute(&s, "nothing", "46", per, &total);
    EQ(total, 0);
    rlc_rewards_compute(&s, "<answer>46</answer>", "46", NULL, &total); /* NULL per_reward */
    EQ(total, 3);

    /* Negative weights are penalties; they do not raise the maximum. */
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check:1,format_approx:-0.5"), RLC_OK);
    EQ(rlc_reward_set_max(&s), 1);
    rlc_rewards_compute(&s, "<answer>46</answer>", "46", per, &total);
    EQ(total, 1 - 0.25);
}

Test(rewards, set_errors) {
    rlc_reward_set s;
    cr_assert_eq(rlc_reward_set_parse(&s, ""), RLC_ERR_INVALID);
    cr_assert_eq(rlc_reward_set_parse(&s, NULL), RLC_ERR_INVALID);
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check,"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "empty item"));
    cr_assert_eq(rlc_reward_set_parse(&s, "number_chek:1"), RLC_ERR_NOT_FOUND);
    cr_assert(strstr(rlc_last_error(), "did you mean \"number_check\""));
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check:abc"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "weight of \"number_check\" is not a number"));
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check:"), RLC_ERR_INVALID);
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check:1x"), RLC_ERR_INVALID);
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check:nan"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "finite"));
    cr_assert_eq(rlc_reward_set_parse(&s, "number_check,number_check:2"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "listed twice"));
    rlc_reward_set_init(&s);
    cr_assert_eq(s.n, 0);
    cr_assert_eq(rlc_reward_set_add(&s, "format_exact", INFINITY), RLC_ERR_INVALID);
    cr_assert_eq(s.n, 0);
}
