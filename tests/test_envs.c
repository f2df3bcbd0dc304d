/* Arithmetic environment: answers are right, draws are pure functions of
 * (seed, index), the knobs bound what is drawn, and train/eval never meet. */
#include "envs/arithmetic.h"
#include "rewards/rewards.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Evaluates a compact or spaced expression with '*' before '+'/'-'. */
static int64_t eval_text(const char *s) {
    int64_t total = 0, term = 0;
    char sign = '+', pending = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        char *end;
        int64_t v = strtoll(s, &end, 10);
        cr_assert(end != s, "no number at '%s'", s);
        s = end;
        if (pending == '*')
            term *= v;
        else
            term = v;
        while (*s == ' ')
            s++;
        char c = *s;
        if (c == '*') {
            pending = '*';
        } else {
            total += sign == '+' ? term : -term;
            if (c == '+' || c == '-')
                sign = c, pending = c;
            else
                break;
        }
        s++;
    }
    return total;
}

static void problem(const rlc_arith_params *p, uint64_t i, char *prompt, char *answer) {
    rlc_status st = rlc_arith_problem(p, i, prompt, 256, answer, 64);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
}

Test(envs, default_is_two_digit_addition) {
    rlc_arith_params p = rlc_arith_default_params();
    cr_assert_eq(rlc_arith_validate(&p), RLC_OK);
    char prompt[256], answer[64], target[128];
    for (uint64_t i = 0; i < 2000; i++) {
        problem(&p, i, prompt, answer);
        int a, b;
        char eq;
        cr_assert_eq(sscanf(prompt, "%d+%d%c", &a, &b, &eq), 3, "'%s'", prompt);
        cr_assert_eq(eq, '=');
        cr_assert_eq(strlen(prompt), 6, "'%s'", prompt);
        cr_assert(a >= 10 && a <= 99 && b >= 10 && b <= 99, "'%s'", prompt);
        cr_assert_eq(atoi(answer), a + b);
        cr_assert_eq(rlc_arith_target(&p, i, target, sizeof target), RLC_OK);
        char want[64];
        snprintf(want, sizeof want, "<answer>%d</answer>", a + b);
        cr_assert_str_eq(target, want);
        /* The target earns number_check against the reference. */
        cr_assert_eq(rlc_reward_number_check(target, answer), 1.0f);
    }
}

Test(envs, deterministic_and_order_free) {
    rlc_arith_params p = rlc_arith_default_params();
    strcpy(p.ops, "+-*");
    p.max_operands = 4;
    p.seed = 1234;
    char a[64][256], ans[64][64], b[256], bans[64];
    for (int i = 0; i < 64; i++)
        problem(&p, (uint64_t)i, a[i], ans[i]);
    /* Backwards, and interleaved with other seeds: same problems. */
    for (int i = 63; i >= 0; i--) {
        rlc_arith_params q = p;
        q.seed = 99;
        problem(&q, (uint64_t)i, b, bans);
        problem(&p, (uint64_t)i, b, bans);
        cr_assert_str_eq(b, a[i]);
        cr_assert_str_eq(bans, ans[i]);
    }
    /* Another seed gives other problems (most of them). */
    rlc_arith_params q = p;
    q.seed = 1235;
    int same = 0;
    for (int i = 0; i < 64; i++) {
        problem(&q, (uint64_t)i, b, bans);
        same += strcmp(b, a[i]) == 0;
    }
    cr_assert_lt(same, 4);
    /* And neighbouring indices differ. */
    int dup = 0;
    for (int i = 1; i < 64; i++)
        dup += strcmp(a[i], a[i - 1]) == 0;
    cr_assert_lt(dup, 2);
}

Test(envs, knobs_bound_the_draws) {
    rlc_arith_params p = rlc_arith_default_params();
    p.split = RLC_ARITH_SPLIT_ALL;
    strcpy(p.ops, "+-*");
    p.digits = 3;
    p.min_operands = 2;
    p.max_operands = 5;
    p.allow_negative = 1;
    int seen_n[6] = {0}, seen_op[3] = {0}, negative = 0;
    char prompt[256], answer[64];
    for (uint64_t i = 0; i < 3000; i++) {
        problem(&p, i, prompt, answer);
        size_t len = strlen(prompt);
        cr_assert_eq(prompt[len - 1], '=');
        prompt[len - 1] = 0;
        int n = 1;
        for (const char *c = prompt; *c; c++) {
            if (*c == '+') seen_op[0]++, n++;
            if (*c == '-') seen_op[1]++, n++;
            if (*c == '*') seen_op[2]++, n++;
        }
        cr_assert(n >= 2 && n <= 5, "'%s'", prompt);
        seen_n[n]++;
        /* Every operand has exactly 3 digits. */
        for (const char *c = prompt; *c;) {
            size_t d = strspn(c, "0123456789");
            cr_assert_eq(d, 3, "'%s'", prompt);
            cr_assert_neq(*c, '0', "'%s'", prompt);
            c += d;
            if (*c) c++;
        }
        cr_assert_eq(strtoll(answer, NULL, 10), eval_text(prompt), "'%s' = %s", prompt, answer);
        negative += answer[0] == '-';
    }
    for (int n = 2; n <= 5; n++)
        cr_assert_gt(seen_n[n], 3000 / 4 / 2, "n=%d: %d", n, seen_n[n]);
    for (int k = 0; k < 3; k++)
        cr_assert_gt(seen_op[k], 1000);
    cr_assert_gt(negative, 100);
}

Test(envs, no_negative_answers_unless_allowed) {
    rlc_arith_params p = rlc_arith_default_params();
    strcpy(p.ops, "-");
    p.digits = 1;
    p.max_operands = 6; /* all-minus chains are almost always negative: the fallback */
    p.split = RLC_ARITH_SPLIT_ALL;
    char prompt[256], answer[64];
    for (uint64_t i = 0; i < 500; i++) {
        problem(&p, i, prompt, answer);
        cr_assert_neq(answer[0], '-', "'%s' = %s", prompt, answer);
        prompt[strlen(prompt) - 1] = 0;
        cr_assert_eq(strtoll(answer, NULL, 10), eval_text(prompt));
    }
    /* Two operands of "-": redraws, never the fallback needed; both orders seen. */
    p.max_operands = 2;
    p.digits = 2;
    int zero = 0;
    for (uint64_t i = 0; i < 500; i++) {
        problem(&p, i, prompt, answer);
        cr_assert_neq(answer[0], '-');
        cr_assert(strchr(prompt, '-'), "'%s'", prompt);
        zero += strcmp(answer, "0") == 0;
    }
    cr_assert_lt(zero, 50);
}

Test(envs, question_style) {
    rlc_arith_params p = rlc_arith_default_params();
    p.style = RLC_ARITH_QUESTION;
    strcpy(p.ops, "+*");
    p.max_operands = 3;
    char prompt[256], answer[64], target[256];
    for (uint64_t i = 0; i < 300; i++) {
        problem(&p, i, prompt, answer);
        cr_assert_eq(strncmp(prompt, "What is ", 8), 0, "'%s'", prompt);
        size_t len = strlen(prompt);
        cr_assert_eq(prompt[len - 1], '?');
        char expr[256];
        memcpy(expr, prompt + 8, len - 9);
        expr[len - 9] = 0;
        cr_assert_eq(strtoll(answer, NULL, 10), eval_text(expr), "'%s'", prompt);
        cr_assert_eq(rlc_arith_target(&p, i, target, sizeof target), RLC_OK);
        char want[512];
        snprintf(want, sizeof want, "<reasoning>\n%s = %s\n</reasoning>\n<answer>\n%s\n</answer>",
                 expr, answer, answer);
        cr_assert_str_eq(target, want);
        for (size_t k = 0; k < rlc_reward_count(); k++)
            if (strcmp(rlc_reward_at(k)->name, "game")) /* the games' reward reads a game */
                cr_assert_eq(rlc_reward_at(k)->fn(target, answer), 1.0f, "%s on '%s'",
                             rlc_reward_at(k)->name, target);
    }
    /* Same draws as the compact style: only the text differs. */
    rlc_arith_params c = p;
    c.style = RLC_ARITH_COMPACT;
    char cprompt[256], canswer[64];
    problem(&p, 7, prompt, answer);
    problem(&c, 7, cprompt, canswer);
    cr_assert_str_eq(answer, canswer);
}

/* Train and eval are disjoint by content, whatever the seeds and indices. */
Test(envs, train_eval_disjoint) {
    rlc_arith_params tr = rlc_arith_default_params(), ev = tr;
    ev.split = RLC_ARITH_SPLIT_EVAL;
    ev.seed = 7;
    tr.seed = 7; /* even the same seed */
    /* 2-digit addition has 8100 problems; 60000 draws cover train nearly fully. */
    static char seen[100][100];
    char prompt[256], answer[64];
    int ntrain = 0;
    for (uint64_t i = 0; i < 60000; i++) {
        problem(&tr, i, prompt, answer);
        int a, b;
        sscanf(prompt, "%d+%d", &a, &b);
        if (!seen[a][b]) ntrain++;
        seen[a][b] = 1;
        prompt[strlen(prompt) - 1] = 0;
        cr_assert_not(rlc_arith_is_eval(prompt, tr.eval_fraction));
    }
    int neval = 0;
    static char seen_eval[100][100];
    for (uint64_t i = 0; i < 5000; i++) {
        problem(&ev, i, prompt, answer);
        int a, b;
        sscanf(prompt, "%d+%d", &a, &b);
        cr_assert_not(seen[a][b], "eval problem '%s' was drawn for training", prompt);
        if (!seen_eval[a][b]) neval++;
        seen_eval[a][b] = 1;
        prompt[strlen(prompt) - 1] = 0;
        cr_assert(rlc_arith_is_eval(prompt, ev.eval_fraction));
    }
    /* About 10% of the 8100 expressions are eval; the two cover the space. */
    cr_assert(neval > 650 && neval < 970, "%d eval problems", neval);
    cr_assert_gt(ntrain + neval, 8050, "%d + %d", ntrain, neval);
    /* The split does not depend on style: question prompts split the same. */
    rlc_arith_params q = ev;
    q.style = RLC_ARITH_QUESTION;
    for (uint64_t i = 0; i < 200; i++) {
        problem(&q, i, prompt, answer);
        int a, b;
        cr_assert_eq(sscanf(prompt, "What is %d + %d?", &a, &b), 2);
        cr_assert_not(seen[a][b]);
    }
}

Test(envs, membership_fraction) {
    /* The hash partition hits the requested share on varied strings. */
    char buf[32];
    int in = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, sizeof buf, "%d*%d", i, i % 97);
        in += rlc_arith_is_eval(buf, 0.25);
    }
    cr_assert(in > 24000 && in < 26000, "%d", in);
    cr_assert_not(rlc_arith_is_eval("12+34", 0.0));
    cr_assert(rlc_arith_is_eval("12+34", 1.0));
}

/* Bad parameter case i applied to q; returns the expected message part. */
#define N_BAD 12
static const char *bad_case(int i, rlc_arith_params *q) {
    switch (i) {
    case 0:
        q->digits = 0;
        return "digits must be 1..9";
    case 1:
        q->digits = 10;
        return "digits must be 1..9";
    case 2:
        q->ops[0] = 0;
        return "ops must be";
    case 3:
        strcpy(q->ops, "+/");
        return "'/' is not one of";
    case 4:
        q->min_operands = 1;
        return "min_operands";
    case 5:
        q->min_operands = 3, q->max_operands = 2;
        return "min_operands";
    case 6:
        q->max_operands = 9;
        return "max_operands <= 8";
    case 7:
        strcpy(q->ops, "*"), q->digits = 5, q->max_operands = 4;
        return "digits * max_operands";
    case 8:
        q->style = 2;
        return "style";
    case 9:
        q->split = 3;
        return "split";
    case 10:
        q->eval_fraction = 0;
        return "eval_fraction";
    default:
        q->eval_fraction = 1;
        return "eval_fraction";
    }
}

Test(envs, bad_params_and_buffers) {
    rlc_arith_params p = rlc_arith_default_params();
    char prompt[256], answer[64];
    for (int i = 0; i < N_BAD; i++) {
        rlc_arith_params q = p;
        const char *want = bad_case(i, &q);
        cr_assert_eq(rlc_arith_problem(&q, 0, prompt, sizeof prompt, answer, sizeof answer),
                     RLC_ERR_INVALID, "case %d", i);
        cr_assert(strstr(rlc_last_error(), want), "case %d: '%s'", i, rlc_last_error());
    }
    /* eval_fraction does not matter without a split. */
    p.split = RLC_ARITH_SPLIT_ALL;
    p.eval_fraction = 0;
    cr_assert_eq(rlc_arith_validate(&p), RLC_OK);
    /* Largest allowed products fit. */
    p = rlc_arith_default_params();
    strcpy(p.ops, "*");
    p.digits = 9;
    p.split = RLC_ARITH_SPLIT_ALL;
    problem(&p, 3, prompt, answer);
    prompt[strlen(prompt) - 1] = 0;
    cr_assert_eq(strtoll(answer, NULL, 10), eval_text(prompt));
    cr_assert(strlen(answer) == 17 || strlen(answer) == 18, "%s", answer);
    /* Buffers: "12+34=" needs 7 bytes; an answer of 2-3 digits needs 4. */
    p = rlc_arith_default_params();
    cr_assert_eq(rlc_arith_problem(&p, 0, prompt, 6, answer, sizeof answer), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "prompt buffer too small"));
    cr_assert_eq(rlc_arith_problem(&p, 0, prompt, 7, answer, 2), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "answer buffer too small"));
    char target[8];
    cr_assert_eq(rlc_arith_target(&p, 0, target, sizeof target), RLC_ERR_INVALID);
    /* A split of a tiny space with a tiny eval share can come up empty. */
    p.digits = 1;
    p.split = RLC_ARITH_SPLIT_EVAL;
    p.eval_fraction = 1e-9;
    cr_assert_eq(rlc_arith_problem(&p, 0, prompt, sizeof prompt, answer, sizeof answer),
                 RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "no eval problem found"), "%s", rlc_last_error());
}
