#include "train/source.h"

#include "base/rng.h"
#include "observe/log.h"
#include "train/policy.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rlc_status index_range(size_t **idx, size_t first, size_t n) {
    *idx = rlc_calloc(n ? n : 1, sizeof **idx);
    if (!*idx) return RLC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (*idx)[i] = first + i;
    return RLC_OK;
}

static rlc_status source_jsonl(const rlc_run_config *c, rlc_source *s) {
    rlc_rc_list path = RLC_RC(c, data.path), eval_path = RLC_RC(c, data.eval_path);
    const char *pk = RLC_RC(c, data.prompt_key), *ak = RLC_RC(c, data.answer_key);
    RLC_TRY(
        rlc_records_load_files((const char *const *)path.items, (size_t)path.n, pk, ak, &s->recs));
    size_t n = s->recs.n, n_val = 0;
    if (eval_path.n) {
        RLC_TRY(rlc_records_load_files((const char *const *)eval_path.items, (size_t)eval_path.n,
                                       pk, ak, &s->recs_eval));
        s->eval_file = 1;
        s->n_eval = s->recs_eval.n;
    } else if (n > 0 && RLC_RC(c, data.val_fraction) > 0) {
        n_val = (size_t)llround((double)n * c->data.val_fraction);
        n_val = n_val ? n_val : 1;
        if (n_val >= n)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s%s: data.val_fraction=%g of %zu example(s) leaves none to train "
                              "on",
                              path.items[0], path.n > 1 ? " and the other data.path files" : "",
                              c->data.val_fraction, n);
        s->n_eval = n_val;
    }
    s->n_train = n - n_val;
    RLC_TRY(index_range(&s->train_idx, 0, s->n_train));
    return index_range(&s->eval_idx, s->eval_file ? 0 : s->n_train, s->n_eval);
}

rlc_status rlc_source_from_config(const rlc_run_config *c, rlc_source *s) {
    memset(s, 0, sizeof *s);
    s->cfg = c;
    if (RLC_RC(c, data.source) == RLC_RC_DATA_JSONL) {
        s->kind = RLC_SOURCE_QA;
        rlc_status st = source_jsonl(c, s);
        if (st) rlc_source_free(s);
        return st;
    }
    /* read in every mode, so `rlc train --check` and the key table see them */
    const char *ext_cmd = RLC_RC(c, data.external);
    double ext_timeout = RLC_RC(c, data.external_timeout);
    if (c->data.source == RLC_RC_DATA_EXTERNAL) {
        s->kind = RLC_SOURCE_EXT;
        return rlc_ext_source_open(ext_cmd, ext_timeout, (uint64_t)RLC_RC(c, data.seed), &s->ext);
    }
    rlc_arith_params ap = rlc_arith_default_params();
    ap.digits = RLC_RC(c, data.arithmetic_digits);
    snprintf(ap.ops, sizeof ap.ops, "%s", RLC_RC(c, data.arithmetic_ops));
    ap.seed = (uint64_t)RLC_RC(c, data.seed);
    s->kind = RLC_SOURCE_ARITH;
    s->train_p = ap;
    s->train_p.split = RLC_ARITH_SPLIT_TRAIN;
    s->eval_p = ap;
    s->eval_p.split = RLC_ARITH_SPLIT_EVAL;
    return rlc_arith_validate(&s->train_p);
}

void rlc_source_free(rlc_source *s) {
    rlc_records_free(&s->recs);
    rlc_records_free(&s->recs_eval);
    free(s->train_idx);
    free(s->eval_idx);
    rlc_ext_source_free(s->ext);
    memset(s, 0, sizeof *s);
}

/* ---- items ---- */

static const rlc_record *record_at(const rlc_source *s, int eval, size_t k) {
    if (eval) return s->eval_file ? &s->recs_eval.items[k] : &s->recs.items[k];
    return &s->recs.items[k];
}

/* A keyed bijection of [0, n): a 4-round Feistel network on the smallest
 * even-width bit domain that holds n, walked until it lands inside. */
static size_t permute(size_t x, size_t n, uint64_t seed, uint64_t epoch) {
    int h = 0;
    while (((size_t)1 << (2 * h)) < n)
        h++;
    uint64_t mask = ((uint64_t)1 << h) - 1;
    do {
        uint64_t l = x >> h, r = x & mask;
        for (uint64_t round = 0; round < 4; round++) {
            uint64_t f = rlc_rng_stream(seed, epoch, (round << 40) ^ r) & mask;
            uint64_t nl = r;
            r = l ^ f;
            l = nl;
        }
        x = (size_t)((l << h) | r);
    } while (x >= n);
    return x;
}

size_t rlc_source_train_index(const rlc_source *s, uint64_t epoch, size_t pos) {
    if (!RLC_RC(s->cfg, data.shuffle)) return s->train_idx[pos];
    return s->train_idx[permute(pos, s->n_train, (uint64_t)RLC_RC(s->cfg, data.seed), epoch)];
}

void rlc_source_ex_free(rlc_source_ex *ex) {
    free(ex->msgs);
    free(ex->reference);
    free(ex->target);
    free(ex->owned_prompt);
    free(ex->metadata);
    memset(ex, 0, sizeof *ex);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rlc_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* msgs with the system prompt first, unless the record brings its own. */
static rlc_status fill_msgs(const rlc_source *s, const rlc_message *m, size_t n, const char *text,
                            rlc_source_ex *ex) {
    const char *sys = RLC_RC(s->cfg, data.system_prompt);
    int add = sys[0] && !(n > 0 && !strcmp(m[0].role, "system"));
    size_t total = (size_t)add + (m ? n : 1);
    ex->msgs = rlc_calloc(total, sizeof *ex->msgs);
    if (!ex->msgs) return RLC_ERR_NOMEM;
    int k = 0;
    if (add) ex->msgs[k++] = (rlc_chat_msg){"system", sys};
    if (!m) ex->msgs[k++] = (rlc_chat_msg){"user", text};
    for (size_t i = 0; m && i < n; i++)
        ex->msgs[k++] = (rlc_chat_msg){m[i].role, m[i].content};
    ex->n_msgs = k;
    return RLC_OK;
}

static rlc_status get_arith(const rlc_source *s, int eval, uint64_t i, rlc_source_ex *ex) {
    const rlc_arith_params *p = eval ? &s->eval_p : &s->train_p;
    char pb[256], rb[64], tb[4096];
    RLC_TRY(rlc_arith_problem(p, i, pb, sizeof pb, rb, sizeof rb));
    RLC_TRY(rlc_arith_target(p, i, tb, sizeof tb));
    ex->owned_prompt = dup_str(pb);
    ex->reference = dup_str(rb);
    ex->target = dup_str(tb);
    if (!ex->owned_prompt || !ex->reference || !ex->target) return RLC_ERR_NOMEM;
    return fill_msgs(s, NULL, 0, ex->owned_prompt, ex);
}

/* Item i of the external process; the SFT target is its reference. */
static rlc_status get_ext(const rlc_source *s, int eval, uint64_t i, rlc_source_ex *ex) {
    const rlc_ext_prompt *p;
    RLC_TRY(rlc_ext_source_get(s->ext, eval, i, &p));
    ex->reference = dup_str(p->reference);
    ex->target = dup_str(p->reference);
    if (p->metadata) ex->metadata = dup_str(p->metadata);
    if (!ex->reference || !ex->target || (p->metadata && !ex->metadata)) return RLC_ERR_NOMEM;
    return fill_msgs(s, (const rlc_message *)p->msgs, p->n_msgs, NULL, ex);
}

/* The SFT target of a record: as written, or (data.target_format) the worked
 * solution and the final answer in the reward's tags. */
static rlc_status make_target(const rlc_source *s, const rlc_record *r, rlc_source_ex *ex) {
    if (RLC_RC(s->cfg, data.target_format) == RLC_RC_TARGET_AS_WRITTEN) {
        ex->target = dup_str(r->completion);
        return ex->target ? RLC_OK : RLC_ERR_NOMEM;
    }
    const char *fmt = "<reasoning>\n%s\n</reasoning>\n<answer>\n%s\n</answer>";
    size_t n = strlen(fmt) + strlen(r->solution) + strlen(r->reference) + 1;
    ex->target = rlc_malloc(n);
    if (!ex->target) return RLC_ERR_NOMEM;
    snprintf(ex->target, n, fmt, r->solution, r->reference);
    return RLC_OK;
}

rlc_status rlc_source_get(const rlc_source *s, int eval, uint64_t i, rlc_source_ex *ex) {
    memset(ex, 0, sizeof *ex);
    rlc_status st;
    if (s->kind == RLC_SOURCE_ARITH) {
        st = get_arith(s, eval, i, ex);
    } else if (s->kind == RLC_SOURCE_EXT) {
        st = get_ext(s, eval, i, ex);
    } else {
        size_t n = eval ? s->n_eval : s->n_train;
        if (n == 0)
            return rlc_errorf(RLC_ERR_INVALID, "the data set has no %s examples",
                              eval ? "evaluation" : "training");
        size_t k = eval ? s->eval_idx[i % n] : rlc_source_train_index(s, i / n, (size_t)(i % n));
        const rlc_record *r = record_at(s, eval, k);
        st = fill_msgs(s, r->msgs, r->n_msgs, NULL, ex);
        if (st == RLC_OK) st = (ex->reference = dup_str(r->reference)) ? RLC_OK : RLC_ERR_NOMEM;
        if (st == RLC_OK) st = make_target(s, r, ex);
    }
    if (st) rlc_source_ex_free(ex);
    return st;
}

/* ---- skipping long prompts ---- */

static rlc_status keep_short(const rlc_source *s, int eval, size_t *idx, size_t *n,
                             rlc_prompt_len_fn len, void *ctx, int max_tokens, size_t *skipped) {
    size_t kept = 0;
    for (size_t j = 0; j < *n; j++) {
        rlc_source_ex ex;
        memset(&ex, 0, sizeof ex);
        const rlc_record *r = record_at(s, eval, idx[j]);
        int tokens = 0;
        rlc_status st = fill_msgs(s, r->msgs, r->n_msgs, NULL, &ex);
        if (st == RLC_OK) st = len(ctx, ex.msgs, ex.n_msgs, &tokens);
        rlc_source_ex_free(&ex);
        RLC_TRY(st);
        if (tokens <= max_tokens) idx[kept++] = idx[j];
    }
    *skipped = *n - kept;
    *n = kept;
    return RLC_OK;
}

rlc_status rlc_source_skip_long(rlc_source *s, rlc_prompt_len_fn len, void *ctx, int max_tokens) {
    if (s->kind != RLC_SOURCE_QA) return RLC_OK;
    size_t n_train = s->n_train, n_eval = s->n_eval;
    RLC_TRY(keep_short(s, 0, s->train_idx, &s->n_train, len, ctx, max_tokens, &s->skipped_train));
    RLC_TRY(keep_short(s, 1, s->eval_idx, &s->n_eval, len, ctx, max_tokens, &s->skipped_eval));
    if (s->skipped_train || s->skipped_eval)
        rlc_logf(RLC_LOG_WARN,
                 "data: skipped %zu of %zu training and %zu of %zu evaluation examples whose "
                 "prompt is longer than data.max_prompt_tokens=%d tokens",
                 s->skipped_train, n_train, s->skipped_eval, n_eval, max_tokens);
    if (n_train > 0 && s->n_train == 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "data: all %zu training examples have prompts longer than "
                          "data.max_prompt_tokens=%d tokens",
                          n_train, max_tokens);
    if (n_eval > 0 && s->n_eval == 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "data: all %zu evaluation examples have prompts longer than "
                          "data.max_prompt_tokens=%d tokens",
                          n_eval, max_tokens);
    return RLC_OK;
}

int rlc_source_eval_count(const rlc_source *s, int eval_size) {
    if (s->kind != RLC_SOURCE_QA) return eval_size;
    if (eval_size <= 0 || (size_t)eval_size > s->n_eval) return (int)s->n_eval;
    return eval_size;
}

rlc_status rlc_source_prepare(rlc_source *s, const struct rlc_policy *pol, rlc_run_config *c) {
    RLC_TRY(rlc_source_skip_long(s, rlc_policy_prompt_len, (void *)pol,
                                 RLC_RC(c, data.max_prompt_tokens)));
    if (RLC_RC(c, training.steps) > 0) return RLC_OK;
    int epochs = RLC_RC(c, training.epochs), batch = RLC_RC(c, training.batch_size);
    uint64_t steps = ((uint64_t)epochs * s->n_train + (uint64_t)batch - 1) / (uint64_t)batch;
    if (steps == 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "training.steps=0 with training.epochs=%d over %zu training examples "
                          "gives 0 steps: nothing would be trained",
                          epochs, s->n_train);
    if (steps > INT_MAX)
        return rlc_errorf(RLC_ERR_INVALID, "training.epochs=%d gives %llu steps, too many", epochs,
                          (unsigned long long)steps);
    c->training.steps = (int)steps;
    rlc_logf(RLC_LOG_INFO, "training.steps=0: %d epoch(s) x %zu examples / batch %d = %d steps",
             epochs, s->n_train, batch, c->training.steps);
    return RLC_OK;
}
