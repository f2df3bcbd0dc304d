#include "train/source.h"

#include <stdio.h>
#include <string.h>

rlc_status rlc_source_arith(rlc_source *s, const rlc_arith_params *p) {
    memset(s, 0, sizeof *s);
    s->kind = RLC_SOURCE_ARITH;
    s->train_p = *p;
    s->train_p.split = RLC_ARITH_SPLIT_TRAIN;
    s->eval_p = *p;
    s->eval_p.split = RLC_ARITH_SPLIT_EVAL;
    return rlc_arith_validate(&s->train_p);
}

rlc_status rlc_source_jsonl(rlc_source *s, const char *train_path, const char *eval_path) {
    memset(s, 0, sizeof *s);
    s->kind = RLC_SOURCE_QA;
    RLC_TRY(rlc_qa_load(train_path, &s->qa));
    if (eval_path && *eval_path) {
        rlc_status st = rlc_qa_load(eval_path, &s->qa_eval);
        if (st) {
            rlc_qa_free(&s->qa);
            return st;
        }
        s->n_train = s->qa.n;
        s->n_eval = s->qa_eval.n;
    } else {
        if (s->qa.n < 2) {
            rlc_qa_free(&s->qa);
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s: %zu example(s) is too few to hold out an eval split "
                              "(give data.eval_path)",
                              train_path, s->qa.n);
        }
        s->n_eval = s->qa.n / 10 ? s->qa.n / 10 : 1;
        s->n_train = s->qa.n - s->n_eval;
    }
    return RLC_OK;
}

void rlc_source_free(rlc_source *s) {
    if (s->kind == RLC_SOURCE_QA) {
        rlc_qa_free(&s->qa);
        rlc_qa_free(&s->qa_eval);
    }
    memset(s, 0, sizeof *s);
}

static rlc_status copy_out(char *dst, size_t cap, const char *src, const char *what) {
    if (!dst) return RLC_OK;
    size_t n = strlen(src);
    if (n >= cap) return rlc_errorf(RLC_ERR_INVALID, "%s longer than %zu bytes", what, cap - 1);
    memcpy(dst, src, n + 1);
    return RLC_OK;
}

rlc_status rlc_source_item(const rlc_source *s, int eval, uint64_t i, char *prompt, size_t pcap,
                           char *ref, size_t rcap, char *target, size_t tcap) {
    if (s->kind == RLC_SOURCE_ARITH) {
        const rlc_arith_params *p = eval ? &s->eval_p : &s->train_p;
        char pb[256], rb[64];
        RLC_TRY(rlc_arith_problem(p, i, pb, sizeof pb, rb, sizeof rb));
        RLC_TRY(copy_out(prompt, pcap, pb, "prompt"));
        RLC_TRY(copy_out(ref, rcap, rb, "reference"));
        if (target) RLC_TRY(rlc_arith_target(p, i, target, tcap));
        return RLC_OK;
    }
    const rlc_qa_example *e;
    if (eval)
        e = s->qa_eval.n ? &s->qa_eval.items[i % s->qa_eval.n]
                         : &s->qa.items[s->n_train + i % s->n_eval];
    else
        e = &s->qa.items[i % s->n_train];
    RLC_TRY(copy_out(prompt, pcap, e->question, "question"));
    RLC_TRY(copy_out(ref, rcap, e->reference, "reference"));
    if (target) {
        /* the worked solution without its "#### N" line, in the reward format */
        const char *hash = strstr(e->answer, "####");
        int body = hash ? (int)(hash - e->answer) : (int)strlen(e->answer);
        while (body > 0 && (e->answer[body - 1] == '\n' || e->answer[body - 1] == ' ')) body--;
        int n = snprintf(target, tcap, "<reasoning>\n%.*s\n</reasoning>\n<answer>\n%s\n</answer>",
                         body, e->answer, e->reference);
        if (n < 0 || (size_t)n >= tcap)
            return rlc_errorf(RLC_ERR_INVALID, "SFT target longer than %zu bytes", tcap - 1);
    }
    return RLC_OK;
}
