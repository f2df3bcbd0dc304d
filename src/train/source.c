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

/* FNV-1a of a position's serialised text. */
static uint64_t position_hash(const rlc_game *g, const rlc_game_state *st) {
    char text[RLC_GAME_STATE_CAP];
    rlc_game_serialize(g, st, text);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Eval attempts per item before a case is declared without held-out positions. */
#define GAME_EVAL_TRIES 256

/* The task seed of eval item j: the first of data.seed + per + j / n_games
 * + t * per * n (t = 0, 1, ...) whose position is no training position of the
 * case, so evaluation positions are held out. */
static rlc_status game_eval_seed(const rlc_source *s, uint64_t j, uint64_t *seed) {
    const rlc_run_config *c = s->cfg;
    uint64_t n = (uint64_t)s->n_games, per = (uint64_t)RLC_RC(c, games.num_tasks_per_case);
    const rlc_game *g = &s->games[j % n];
    const uint64_t *train = s->game_train_hash + (j % n) * per;
    for (uint64_t t = 0; t < GAME_EVAL_TRIES; t++) {
        *seed = (uint64_t)RLC_RC(c, data.seed) + per + j / n + t * per * n;
        rlc_game_state st;
        rlc_game_task(g, *seed, RLC_RC(c, games.max_random_steps), &st);
        uint64_t h = position_hash(g, &st);
        if (!bsearch(&h, train, per, sizeof h, cmp_u64)) return RLC_OK;
    }
    return rlc_errorf(RLC_ERR_INVALID,
                      "games: %s has no held-out position for evaluation: its %d training tasks "
                      "cover the positions %d random moves reach (lower games.num_tasks_per_case "
                      "or raise games.max_random_steps)",
                      g->load, (int)per, RLC_RC(c, games.max_random_steps));
}

/* data.source=games: the cases, num_tasks_per_case training tasks each, and
 * the hashes of their positions (evaluation positions avoid them). */
static rlc_status source_games(const rlc_run_config *c, rlc_source *s) {
    rlc_rc_list cases = RLC_RC(c, games.cases), list = RLC_RC(c, games.game_list);
    rlc_rc_list configs = RLC_RC(c, games.game_configs), types = RLC_RC(c, games.game_types);
    rlc_game_case_spec spec = {cases.items, list.items, configs.items, types.items,
                               cases.n,     list.n,     configs.n,     types.n};
    RLC_TRY(rlc_game_cases(&spec, &s->games, &s->n_games));
    size_t per = (size_t)RLC_RC(c, games.num_tasks_per_case);
    s->n_train = (size_t)s->n_games * per;
    s->game_train_hash = rlc_malloc(s->n_train * sizeof *s->game_train_hash);
    if (!s->game_train_hash) return RLC_ERR_NOMEM;
    for (int g = 0; g < s->n_games; g++) {
        uint64_t *h = s->game_train_hash + (size_t)g * per;
        for (size_t k = 0; k < per; k++) {
            rlc_game_state st;
            rlc_game_task(&s->games[g], (uint64_t)RLC_RC(c, data.seed) + k,
                          RLC_RC(c, games.max_random_steps), &st);
            h[k] = position_hash(&s->games[g], &st);
        }
        qsort(h, per, sizeof *h, cmp_u64);
    }
    /* every case has held-out positions for the evaluation items a run scores */
    int n_eval = RLC_RC(c, data.eval_size);
    for (int j = 0; j < n_eval; j++) {
        uint64_t seed;
        RLC_TRY(game_eval_seed(s, (uint64_t)j, &seed));
    }
    return index_range(&s->train_idx, 0, s->n_train);
}

rlc_status rlc_source_from_config(const rlc_run_config *c, rlc_source *s) {
    memset(s, 0, sizeof *s);
    s->cfg = c;
    if (RLC_RC(c, data.source) == RLC_RC_DATA_GAMES) {
        s->kind = RLC_SOURCE_GAMES;
        rlc_status st = source_games(c, s);
        if (st) rlc_source_free(s);
        return st;
    }
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
    free(s->games);
    free(s->game_train_hash);
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

/* Game item: train item k (after the epoch's order) is task k / n_games of
 * case k % n_games, with the seed data.seed + that task index; eval item j
 * is of case j % n_games, seeded by game_eval_seed (a position no training
 * task of the case has). The SFT target is a uniformly drawn legal move
 * (random play: the labels there are without an expert). */
static rlc_status get_game(const rlc_source *s, int eval, uint64_t i, rlc_source_ex *ex) {
    const rlc_run_config *c = s->cfg;
    uint64_t n = (uint64_t)s->n_games;
    uint64_t k = eval ? i : rlc_source_train_index(s, i / s->n_train, (size_t)(i % s->n_train));
    rlc_game_ref r;
    memset(&r, 0, sizeof r);
    r.game = s->games[k % n];
    r.seed = (uint64_t)RLC_RC(c, data.seed) + k / n;
    if (eval) RLC_TRY(game_eval_seed(s, k, &r.seed));
    r.outcome = RLC_RC(c, games.reward_mode) == RLC_RC_GAME_OUTCOME;
    r.playouts = RLC_RC(c, games.playouts);
    RLC_TRY(rlc_game_opponent_parse(RLC_RC(c, games.opponent), &r.opponent));
    rlc_game_task(&r.game, r.seed, RLC_RC(c, games.max_random_steps), &r.state);
    rlc_strbuf ref = {0}, target = {0};
    rlc_game_ref_format(&r, &ref);
    rlc_game_opponent rnd = {RLC_GAME_RANDOM, 0};
    uint64_t pos = 0;
    char move[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(
        &r.game, &r.state,
        rlc_game_opponent_move(&r.game, &r.state, &rnd, r.seed, 0x746172676574, &pos), move);
    rlc_sb_printf(&target, "<answer>%s</answer>", move);
    ex->reference = ref.p, ex->target = target.p;
    if (ref.oom || target.oom || !ref.p || !target.p)
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    return rlc_source_game_prompt(s, &r.game, &r.state, ex);
}

rlc_status rlc_source_game_prompt(const rlc_source *s, const rlc_game *g, const rlc_game_state *st,
                                  rlc_source_ex *ex) {
    rlc_strbuf prompt = {0};
    rlc_game_prompt(g, st, &prompt);
    ex->owned_prompt = prompt.p;
    if (prompt.oom || !prompt.p) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
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
    } else if (s->kind == RLC_SOURCE_GAMES) {
        st = get_game(s, eval, i, ex);
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
    if (s->kind != RLC_SOURCE_QA) return eval_size; /* generated: any number */
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
