#include "train/policy.h"

#include "base/dist.h"
#include "base/rng.h"
#include "envs/games/games.h"
#include "observe/log.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rlc_status rlc_policy_render(const rlc_policy *p, const rlc_chat_msg *msgs, int n, char **text) {
    if (p->chat != RLC_CHAT_NONE) return rlc_chat_render(p->chat, msgs, n, 1, 0, text);
    size_t len = 2;
    for (int i = 0; i < n; i++)
        len += strlen(msgs[i].content) + 1;
    *text = rlc_malloc(len);
    if (!*text) return RLC_ERR_NOMEM;
    char *o = *text;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(msgs[i].content);
        memcpy(o, msgs[i].content, k);
        o += k;
        if (i == 0 && n > 1 && !strcmp(msgs[i].role, "system")) *o++ = '\n';
    }
    *o = 0;
    return RLC_OK;
}

rlc_status rlc_policy_prompt_ids(const rlc_policy *p, const char *text, int **ids, int *n) {
    RLC_TRY(rlc_tokenizer_encode(p->tok, text, strlen(text), ids, n));
    if (p->max_prompt_tokens > 0 && *n > p->max_prompt_tokens) {
        free(*ids);
        *ids = NULL;
        return rlc_errorf(RLC_ERR_INVALID,
                          "prompt '%.40s...' has %d tokens, more than data.max_prompt_tokens=%d",
                          text, *n, p->max_prompt_tokens);
    }
    if (*n == 0) {
        free(*ids);
        *ids = NULL;
        return rlc_errorf(RLC_ERR_INVALID, "prompt '%.40s' encodes to no tokens", text);
    }
    return RLC_OK;
}

rlc_status rlc_policy_prompt_len(void *policy, const rlc_chat_msg *msgs, int n, int *len) {
    const rlc_policy *p = policy;
    char *text;
    int *ids = NULL;
    RLC_TRY(rlc_policy_render(p, msgs, n, &text));
    rlc_status st = rlc_tokenizer_encode(p->tok, text, strlen(text), &ids, len);
    free(text);
    free(ids);
    return st;
}

void rlc_policy_restrict_sampler(const rlc_tokenizer *tok, int model_vocab,
                                 rlc_sampler_params *sp) {
    int n = rlc_tokenizer_vocab_size(tok);
    sp->vocab_limit = n < model_vocab ? n : 0;
    sp->allowed = rlc_tokenizer_id_mask(tok);
}

rlc_status rlc_policy_completion_text(const rlc_policy *p, const int *ids, int n, char **text) {
    size_t len;
    return rlc_tokenizer_decode(p->tok, ids, n, 1, text, &len);
}

/* Board games: the move's result against each evaluation opponent, counted
 * into out (divided by the samples at the end). */
static void game_results(const char *text, const char *ref, rlc_eval_result *out) {
    for (int o = 0; o < RLC_GAME_EVAL_OPPONENTS; o++) {
        rlc_game_opponent opp = rlc_game_eval_opponent(o);
        int r = rlc_game_eval_result(text, ref, &opp);
        if (r == -2) return;
        out->game_wdl[o][r > 0 ? 0 : r == 0 ? 1 : 2] += 1;
    }
    out->game_samples++;
}

/* Generation as evaluation runs it: k samples at temperature, stopped at the
 * policy's end of sequence, sampling restricted to the tokenizer's ids. */
static rlc_gen_params eval_gen_params(const rlc_policy *p, int max_new, int k, float temperature,
                                      uint64_t seed, const uint64_t *keys) {
    rlc_gen_params gp = rlc_gen_default_params();
    gp.max_new_tokens = max_new;
    gp.num_samples = k;
    gp.sampler.temperature = temperature;
    rlc_policy_restrict_sampler(p->tok, rlc_model_cfg(p->m)->vocab_size, &gp.sampler);
    gp.seed = seed;
    gp.use_eos = 0;
    gp.stop_ids = &p->eos_id;
    gp.num_stop_ids = p->eos_id >= 0;
    gp.prompt_keys = keys;
    return gp;
}

/* A generator for `seqs` sequences of a prompt (data.max_prompt_tokens, 512
 * when unset) and max_new completion tokens. */
static rlc_status policy_generator(const rlc_policy *p, int seqs, int max_new,
                                   rlc_generator **out) {
    return rlc_generator_new(
        p->m, seqs, (p->max_prompt_tokens > 0 ? p->max_prompt_tokens : 512) + max_new, out);
}

rlc_status rlc_policy_evaluate(const rlc_policy *p, const rlc_source *src,
                               const rlc_reward_set *rewards, int n, int k, float temperature,
                               int max_new, uint64_t seed, int show, rlc_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (n <= 0) return rlc_errorf(RLC_ERR_INVALID, "evaluate: need at least one problem");
    if (k <= 0) return rlc_errorf(RLC_ERR_INVALID, "evaluate: samples must be positive");
    if (temperature <= 0 && k > 1)
        return rlc_errorf(RLC_ERR_INVALID,
                          "evaluate: %d samples at temperature 0 would be %d copies of the same "
                          "greedy completion; pass@k needs temperature > 0",
                          k, k);
    double t0 = omp_get_wtime();
    enum { CHUNK = 64 };
    int **pids = rlc_calloc(CHUNK, sizeof *pids), *plen = rlc_calloc(CHUNK, sizeof *plen);
    char **refs = rlc_calloc(CHUNK, sizeof *refs), **texts = rlc_calloc(CHUNK, sizeof *texts);
    uint64_t *keys = rlc_calloc(CHUNK, sizeof *keys);
    /* every sample's reward, verdict and length [3, n*k], then the game
     * counts [1 + 9]: filled by whichever rank scored it, zero elsewhere */
    size_t nk = (size_t)n * k, n_rec = 3 * nk + 10;
    float *rec = rlc_calloc(n_rec, sizeof *rec);
    rlc_status st = (pids && plen && refs && texts && keys && rec) ? RLC_OK : RLC_ERR_NOMEM;
    long correct = 0, solved = 0, tokens = 0;
    double reward_sum = 0;
    rlc_generator *gen = NULL;
    /* MPI ranks take whole chunks in turn: a chunk is the same batch of rows
     * in any world, so its samples are the same bits */
    int rank = rlc_dist_rank(), world = rlc_dist_world();
    if (st == RLC_OK) st = policy_generator(p, CHUNK * k, max_new, &gen);
    for (int base = rank * CHUNK; st == RLC_OK && base < n; base += world * CHUNK) {
        int cnt = n - base < CHUNK ? n - base : CHUNK;
        for (int i = 0; st == RLC_OK && i < cnt; i++) {
            rlc_source_ex ex;
            st = rlc_source_get(src, 1, (uint64_t)(base + i), &ex);
            if (st) break;
            st = rlc_policy_render(p, ex.msgs, ex.n_msgs, &texts[i]);
            if (st == RLC_OK) st = rlc_policy_prompt_ids(p, texts[i], &pids[i], &plen[i]);
            refs[i] = ex.reference, ex.reference = NULL;
            rlc_source_ex_free(&ex);
            keys[i] = (uint64_t)(base + i);
        }
        rlc_gen_out go;
        int have_go = 0;
        memset(&go, 0, sizeof go);
        if (st == RLC_OK) {
            rlc_gen_params gp = eval_gen_params(p, max_new, k, temperature, seed, keys);
            st = rlc_generator_run(gen, (const int *const *)pids, plen, cnt, &gp, &go);
            have_go = st == RLC_OK;
        }
        for (int i = 0; st == RLC_OK && i < cnt; i++) {
            for (int j = 0; st == RLC_OK && j < k; j++) {
                int s = i * k + j;
                size_t at = (size_t)(base + i) * k + j;
                char *text;
                st = rlc_policy_completion_text(p, go.ids + (size_t)s * go.max_new, go.len[s],
                                                &text);
                if (st) break;
                float total;
                rlc_rewards_score(rewards, text, refs[i], go.len[s], NULL, NULL, &total);
                int ok = rlc_reward_correct(text, refs[i]);
                game_results(text, refs[i], out);
                if (show > 0) {
                    rlc_logf(RLC_LOG_DEBUG, "%s -> %s  [want %s: %s]", texts[i], text, refs[i],
                             ok ? "correct" : "wrong");
                    show--;
                }
                rec[at] = total, rec[nk + at] = (float)ok, rec[2 * nk + at] = (float)go.len[s];
                free(text);
            }
        }
        if (have_go) rlc_gen_out_free(&go);
        for (int i = 0; i < cnt; i++) {
            free(pids[i]), pids[i] = NULL;
            free(refs[i]), refs[i] = NULL;
            free(texts[i]), texts[i] = NULL;
        }
    }
    rlc_generator_free(gen);
    free(pids), free(plen), free(refs), free(texts), free(keys);
    if (st == RLC_OK && world > 1) {
        float *games = rec + 3 * nk;
        games[0] = (float)out->game_samples;
        for (int q = 0; q < 9; q++)
            games[1 + q] = (float)out->game_wdl[q / 3][q % 3];
        rlc_dist_sum sum;
        st = rlc_dist_sum_init(&sum, n_rec, 1);
        if (st == RLC_OK) st = rlc_dist_sum_add(&sum, rec);
        if (st == RLC_OK) st = rlc_dist_sum_finish(&sum, rec);
        rlc_dist_sum_free(&sum);
        out->game_samples = (long)games[0];
        for (int q = 0; q < 9; q++)
            out->game_wdl[q / 3][q % 3] = games[1 + q];
    }
    /* in problem order, as one process adds them */
    for (int i = 0; st == RLC_OK && i < n; i++) {
        int any = 0;
        for (int j = 0; j < k; j++) {
            size_t at = (size_t)i * k + j;
            int ok = rec[nk + at] != 0;
            correct += ok;
            any |= ok;
            reward_sum += rec[at];
            tokens += (long)rec[2 * nk + at];
        }
        solved += any;
    }
    free(rec);
    RLC_TRY(st);
    for (int o = 0; o < 3 && out->game_samples; o++)
        for (int w = 0; w < 3; w++)
            out->game_wdl[o][w] /= (double)out->game_samples;
    out->n = n;
    out->samples = k;
    out->accuracy = (double)correct / ((double)n * k);
    out->pass_at_k = (double)solved / n;
    out->mean_reward = reward_sum / ((double)n * k);
    out->mean_tokens = (double)tokens / ((double)n * k);
    out->seconds = omp_get_wtime() - t0;
    return RLC_OK;
}

/* Full games: the policy as an rlc_game_mover. */
enum { PLAY_CHUNK = 64 };
typedef struct play_ctx {
    const rlc_policy *p;
    const rlc_source *src;
    rlc_generator *gen;
    int max_new, ply;
    float temperature;
    uint64_t seed;
} play_ctx;

static rlc_status play_chunk(play_ctx *c, int n, rlc_game_match *const *m, int *actions,
                             uint64_t key0) {
    int *pids[PLAY_CHUNK] = {0}, plen[PLAY_CHUNK];
    uint64_t keys[PLAY_CHUNK];
    rlc_status st = RLC_OK;
    for (int i = 0; st == RLC_OK && i < n; i++) {
        rlc_source_ex ex;
        memset(&ex, 0, sizeof ex);
        char *text = NULL;
        st = rlc_source_game_prompt(c->src, &m[i]->game, &m[i]->state, &ex);
        if (st == RLC_OK) st = rlc_policy_render(c->p, ex.msgs, ex.n_msgs, &text);
        if (st == RLC_OK) st = rlc_policy_prompt_ids(c->p, text, &pids[i], &plen[i]);
        free(text);
        rlc_source_ex_free(&ex);
        keys[i] = key0 + (uint64_t)i;
    }
    rlc_gen_out go;
    memset(&go, 0, sizeof go);
    if (st == RLC_OK) {
        rlc_gen_params gp = eval_gen_params(c->p, c->max_new, 1, c->temperature, c->seed, keys);
        st = rlc_generator_run(c->gen, (const int *const *)pids, plen, n, &gp, &go);
        for (int i = 0; st == RLC_OK && i < n; i++) {
            char *text;
            st =
                rlc_policy_completion_text(c->p, go.ids + (size_t)i * go.max_new, go.len[i], &text);
            if (st) break;
            actions[i] = rlc_game_parse_answer(&m[i]->game, &m[i]->state, text);
            free(text);
        }
        rlc_gen_out_free(&go);
    }
    for (int i = 0; i < n; i++)
        free(pids[i]);
    return st;
}

static rlc_status policy_mover(void *ctx, int n, rlc_game_match *const *m, int *actions) {
    play_ctx *c = ctx;
    rlc_status st = RLC_OK;
    for (int base = 0; st == RLC_OK && base < n; base += PLAY_CHUNK)
        st = play_chunk(c, n - base < PLAY_CHUNK ? n - base : PLAY_CHUNK, m + base, actions + base,
                        ((uint64_t)c->ply << 32) + (uint64_t)base);
    c->ply++;
    return st;
}

rlc_status rlc_policy_play_games(const rlc_policy *p, const rlc_source *src, int n,
                                 const rlc_game_opponent *opps, int nopp, float temperature,
                                 int max_new, uint64_t seed, rlc_game_match_stats *out) {
    memset(out, 0, (size_t)nopp * sizeof *out);
    if (n <= 0 || nopp <= 0) return rlc_errorf(RLC_ERR_INVALID, "full games: nothing to play");
    rlc_game_match *m = rlc_calloc((size_t)n * (size_t)nopp, sizeof *m);
    if (!m) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    for (int i = 0; st == RLC_OK && i < n; i++) {
        rlc_source_ex ex;
        st = rlc_source_get(src, 1, (uint64_t)i, &ex);
        for (int o = 0; st == RLC_OK && o < nopp; o++)
            st = rlc_game_match_init(&m[(size_t)o * n + i], ex.reference, &opps[o]);
        rlc_source_ex_free(&ex); /* zeroed by rlc_source_get even when it fails */
    }
    play_ctx c = {p, src, NULL, max_new, 0, temperature, seed};
    if (st == RLC_OK) st = policy_generator(p, PLAY_CHUNK, max_new, &c.gen);
    if (st == RLC_OK) st = rlc_game_play_matches(m, n * nopp, policy_mover, &c);
    for (int o = 0; st == RLC_OK && o < nopp; o++)
        rlc_game_match_tally(m + (size_t)o * n, n, &out[o]);
    rlc_generator_free(c.gen);
    free(m);
    return st;
}
