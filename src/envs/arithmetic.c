/* Arithmetic problems drawn from Philox by (seed, index, attempt). */
#include "envs/arithmetic.h"

#include "base/rng.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_OPERANDS 8
#define MAX_ATTEMPTS 4096
/* Consecutive negative draws before the fallback that turns '-' into '+'. */
#define NEG_TRIES 32
/* Stream tag, so these draws never share a stream with other users of a seed. */
#define ARITH_STREAM_TAG 0x61726974686d0001ull

typedef struct expr {
    int n;                     /* operands */
    int64_t v[MAX_OPERANDS];   /* operands, all >= 0 */
    char op[MAX_OPERANDS - 1]; /* op[i] joins v[i] and v[i+1] */
    int64_t value;
} expr;

rlc_arith_params rlc_arith_default_params(void) {
    rlc_arith_params p;
    memset(&p, 0, sizeof p);
    p.digits = 2;
    strcpy(p.ops, "+");
    p.min_operands = 2;
    p.max_operands = 2;
    p.allow_negative = 0;
    p.style = RLC_ARITH_COMPACT;
    p.split = RLC_ARITH_SPLIT_TRAIN;
    p.eval_fraction = 0.1;
    p.seed = 0;
    return p;
}

rlc_status rlc_arith_validate(const rlc_arith_params *p) {
    if (p->digits < 1 || p->digits > 9)
        return rlc_errorf(RLC_ERR_INVALID, "arithmetic: digits must be 1..9, got %d", p->digits);
    size_t nops = strnlen(p->ops, sizeof p->ops);
    if (nops == 0 || nops == sizeof p->ops)
        return rlc_errorf(RLC_ERR_INVALID, "arithmetic: ops must be 1..%zu characters of \"+-*\"",
                          sizeof p->ops - 1);
    int mul = 0;
    for (size_t i = 0; i < nops; i++) {
        if (!strchr("+-*", p->ops[i]))
            return rlc_errorf(RLC_ERR_INVALID, "arithmetic: ops \"%s\": '%c' is not one of \"+-*\"",
                              p->ops, p->ops[i]);
        mul |= p->ops[i] == '*';
    }
    if (p->min_operands < 2 || p->max_operands < p->min_operands || p->max_operands > MAX_OPERANDS)
        return rlc_errorf(RLC_ERR_INVALID,
                          "arithmetic: need 2 <= min_operands <= max_operands <= %d, got %d, %d",
                          MAX_OPERANDS, p->min_operands, p->max_operands);
    if (mul && p->digits * p->max_operands > 18)
        return rlc_errorf(RLC_ERR_INVALID,
                          "arithmetic: with '*', digits * max_operands must be <= 18 (64-bit "
                          "answers), got %d * %d",
                          p->digits, p->max_operands);
    if (p->style != RLC_ARITH_COMPACT && p->style != RLC_ARITH_QUESTION)
        return rlc_errorf(RLC_ERR_INVALID, "arithmetic: style must be 0 (compact) or 1 (question)");
    if (p->split < RLC_ARITH_SPLIT_ALL || p->split > RLC_ARITH_SPLIT_EVAL)
        return rlc_errorf(RLC_ERR_INVALID,
                          "arithmetic: split must be 0 (all), 1 (train), 2 (eval)");
    if (p->split != RLC_ARITH_SPLIT_ALL && !(p->eval_fraction > 0.0 && p->eval_fraction < 1.0))
        return rlc_errorf(RLC_ERR_INVALID, "arithmetic: eval_fraction must be in (0, 1), got %g",
                          p->eval_fraction);
    return RLC_OK;
}

static uint64_t draw_below(uint64_t seed, uint64_t stream, uint64_t pos, uint64_t n) {
    uint32_t w[4];
    rlc_philox(seed, stream, pos, w);
    /* 64 random bits mod n: the bias is below n / 2^64, far under anything measurable. */
    return (((uint64_t)w[1] << 32) | w[0]) % n;
}

static int64_t eval_expr(const expr *e) {
    /* '*' binds tighter: accumulate a product term, add it at each '+'/'-'. */
    int64_t total = 0, term = e->v[0];
    char sign = '+';
    for (int i = 1; i < e->n; i++) {
        if (e->op[i - 1] == '*') {
            term *= e->v[i];
        } else {
            total += sign == '+' ? term : -term;
            sign = e->op[i - 1];
            term = e->v[i];
        }
    }
    return total + (sign == '+' ? term : -term);
}

static void draw_expr(const rlc_arith_params *p, uint64_t index, uint64_t attempt, expr *e) {
    uint64_t stream = rlc_rng_stream(index, attempt, ARITH_STREAM_TAG);
    uint64_t lo = 0, hi = 10; /* operands in [lo, hi) */
    if (p->digits > 1) {
        lo = 1;
        for (int i = 1; i < p->digits; i++)
            lo *= 10;
        hi = lo * 10;
    }
    uint64_t nops = strlen(p->ops), pos = 0;
    e->n = p->min_operands + (int)draw_below(p->seed, stream, pos++,
                                             (uint64_t)(p->max_operands - p->min_operands + 1));
    for (int i = 0; i < e->n; i++)
        e->v[i] = (int64_t)(lo + draw_below(p->seed, stream, pos++, hi - lo));
    for (int i = 0; i + 1 < e->n; i++)
        e->op[i] = p->ops[draw_below(p->seed, stream, pos++, nops)];
    e->value = eval_expr(e);
}

/* Writes the expression: compact "12+34", spaced "12 + 34". */
static int format_expr(const expr *e, int spaced, char *buf, size_t cap) {
    size_t o = 0;
    for (int i = 0; i < e->n; i++) {
        int w = i == 0 ? snprintf(buf + o, cap - o, "%" PRId64, e->v[i])
                       : snprintf(buf + o, cap - o, spaced ? " %c %" PRId64 : "%c%" PRId64,
                                  e->op[i - 1], e->v[i]);
        if (w < 0 || (size_t)w >= cap - o) return 0;
        o += (size_t)w;
    }
    return 1;
}

/* FNV-1a, then splitmix64's finaliser so nearby strings spread out. */
static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    return h ^ (h >> 31);
}

int rlc_arith_is_eval(const char *expr_text, double eval_fraction) {
    double u = (double)(hash_str(expr_text) >> 11) * (1.0 / 9007199254740992.0);
    return u < eval_fraction;
}

/* The accepted expression for problem `index` and its compact text. */
static rlc_status pick_expr(const rlc_arith_params *p, uint64_t index, expr *e, char *compact,
                            size_t cap) {
    RLC_TRY(rlc_arith_validate(p));
    for (uint64_t attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        draw_expr(p, index, attempt, e);
        if (!p->allow_negative && e->value < 0) {
            if (attempt % NEG_TRIES != NEG_TRIES - 1) continue;
            for (int i = 0; i + 1 < e->n; i++)
                if (e->op[i] == '-') e->op[i] = '+';
            e->value = eval_expr(e);
        }
        if (!format_expr(e, 0, compact, cap)) return RLC_ERR_INTERNAL;
        if (p->split == RLC_ARITH_SPLIT_ALL ||
            rlc_arith_is_eval(compact, p->eval_fraction) == (p->split == RLC_ARITH_SPLIT_EVAL))
            return RLC_OK;
    }
    return rlc_errorf(RLC_ERR_INVALID,
                      "arithmetic: no %s problem found in %d draws for index %" PRIu64
                      " (problem space too small for eval_fraction %g?)",
                      p->split == RLC_ARITH_SPLIT_EVAL ? "eval" : "train", MAX_ATTEMPTS, index,
                      p->eval_fraction);
}

static rlc_status too_small(const char *what) {
    return rlc_errorf(RLC_ERR_INVALID, "arithmetic: %s buffer too small", what);
}

/* Big enough for 8 operands of 9 digits with spaced operators. */
#define EXPR_CAP 128

rlc_status rlc_arith_problem(const rlc_arith_params *p, uint64_t index, char *prompt, size_t cap,
                             char *answer, size_t acap) {
    expr e;
    char compact[EXPR_CAP], spaced[EXPR_CAP];
    RLC_TRY(pick_expr(p, index, &e, compact, sizeof compact));
    int w;
    if (p->style == RLC_ARITH_COMPACT) {
        w = snprintf(prompt, cap, "%s=", compact);
    } else {
        if (!format_expr(&e, 1, spaced, sizeof spaced)) return RLC_ERR_INTERNAL;
        w = snprintf(prompt, cap, "What is %s?", spaced);
    }
    if (w < 0 || (size_t)w >= cap) return too_small("prompt");
    w = snprintf(answer, acap, "%" PRId64, e.value);
    if (w < 0 || (size_t)w >= acap) return too_small("answer");
    return RLC_OK;
}

rlc_status rlc_arith_target(const rlc_arith_params *p, uint64_t index, char *target, size_t cap) {
    expr e;
    char compact[EXPR_CAP], spaced[EXPR_CAP];
    RLC_TRY(pick_expr(p, index, &e, compact, sizeof compact));
    int w;
    if (p->style == RLC_ARITH_COMPACT) {
        w = snprintf(target, cap, "<answer>%" PRId64 "</answer>", e.value);
    } else {
        if (!format_expr(&e, 1, spaced, sizeof spaced)) return RLC_ERR_INTERNAL;
        w = snprintf(target, cap,
                     "<reasoning>\n%s = %" PRId64 "\n</reasoning>\n<answer>\n%" PRId64
                     "\n</answer>",
                     spaced, e.value, e.value);
    }
    if (w < 0 || (size_t)w >= cap) return too_small("target");
    return RLC_OK;
}
