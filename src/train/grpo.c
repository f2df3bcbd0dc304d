#include "train/grpo.h"

#include "base/checked.h"
#include "base/dist.h"
#include "base/killpoint.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "rl/planning.h"

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* A pass's sums over a shard's micro-batches, combined in shard order. */
enum { PART_LOSS, PART_KL, PART_TOK, PART_CLIP, PART_CLIP_TOK, N_PART };

struct rlc_grpo {
    rlc_policy *pol;
    const rlc_source *src;
    const rlc_reward_set *rw;
    rlc_grpo_params p;
    int S, T;                    /* sequences this step, longest training row */
    int S_cap;                   /* sequences the buffers hold: batch_prompts x G */
    int mb;                      /* sequences per forward */
    int shards, shard0, n_local; /* shards a step; this rank's first one and how many */
    rlc_dist_sum gsum;           /* the shards' gradients, summed in shard order */
    double *part;                /* [shards, N_PART] each shard's sums of one pass */
    rlc_generator *gen;
    rlc_acts *acts;
    rlc_model *ref; /* frozen copy of the start weights: the KL reference under full FT */
    rlc_adamw opt;
    float *params, *grads;
    size_t n_params;
    /* per step */
    int **pids, *plen;
    uint64_t *keys;
    char **prompts;              /* [B] rendered prompt text (chat template, system prompt) */
    char **refs;                 /* [B] reward references */
    char **meta;                 /* [B] the items' metadata (JSON text or NULL) */
    const char **sp, **sr, **sm; /* [S] each sample's prompt, reference, metadata (borrowed) */
    unsigned char *failed;       /* [S] an external verifier could not score it */
    char **texts;                /* [S] completion text */
    float *reward, *per_reward;  /* [S], [S, n_rewards] */
    float *criteria;             /* [S, n_criteria] the rubric's criteria (rewards.h) */
    float *adv;                  /* [S] */
    float *adv_tok;              /* [S, max_new] every completion token's advantage */
    unsigned char *plan;         /* [S, max_new] planning tokens (transforms only) */
    size_t *tok_end;             /* [max_new] byte ends of a completion's tokens */
    rlc_sepa_state sepa;
    rlc_bp_state bp;
    uint64_t cursor; /* the next prompt of the train split */
    int *slot;       /* [B] dynamic sampling: groups to replace */
    int **r_pids, *r_plen;
    uint64_t *r_keys;       /* [B] the replacing prompts */
    unsigned char *skipped; /* [B] */
    int *order;             /* [S] sequences that carry gradient: each local shard's, longest
                               first, shard k's from order_off[k - shard0] */
    int *order_off;         /* [n_local + 1] */
    float *ref_lp;          /* [S, max_new] reference log-probs (beta > 0) */
    rlc_gen_out go;
    int have_go;
    rlc_sample_view *views;
    /* per micro-batch */
    int *ids, *tg;                                        /* [mb, T] */
    float *lp, *dlp;                                      /* [mb, T] */
    float *g_lp, *g_old, *g_ref, *g_mask, *g_dlp, *g_adv; /* [mb, max_new] */
};

rlc_grpo_params rlc_grpo_default_params(void) {
    rlc_grpo_params p;
    memset(&p, 0, sizeof p);
    p.batch_prompts = 16;
    p.group_size = 4;
    p.max_new_tokens = 32;
    p.sampler = rlc_sampler_default_params();
    p.adv = RLC_ADV_GRPO;
    p.scale = RLC_SCALE_GROUP;
    p.loss = rlc_grpo_loss_default_params();
    p.transform = rlc_transform_default_params();
    p.phrases = rlc_planning_phrases_default;
    p.n_phrases = RLC_PLANNING_DEFAULT_N;
    p.sepa = rlc_sepa_default_params();
    p.num_iterations = 1;
    p.lr = 1e-4f;
    p.schedule.kind = RLC_SCHED_CONSTANT;
    p.opt = rlc_adamw_default_params();
    p.seed = 1;
    return p;
}

void rlc_grpo_free(rlc_grpo *g) {
    if (!g) return;
    rlc_generator_free(g->gen);
    rlc_acts_free(g->acts);
    rlc_model_free(g->ref);
    rlc_adamw_free(&g->opt);
    rlc_dist_sum_free(&g->gsum);
    free(g->part);
    for (int i = 0; i < g->p.batch_prompts; i++) {
        if (g->pids) free(g->pids[i]);
        if (g->prompts) free(g->prompts[i]);
        if (g->refs) free(g->refs[i]);
        if (g->meta) free(g->meta[i]);
    }
    if (g->texts)
        for (int s = 0; s < g->S_cap; s++)
            free(g->texts[s]);
    if (g->have_go) rlc_gen_out_free(&g->go);
    free(g->pids), free(g->plen), free(g->keys), free(g->prompts), free(g->refs);
    free(g->texts), free(g->reward), free(g->per_reward), free(g->adv), free(g->skipped);
    free(g->criteria), free(g->meta), free(g->sp), free(g->sr), free(g->sm), free(g->failed);
    free(g->adv_tok), free(g->plan), free(g->tok_end);
    free(g->slot), free(g->r_pids), free(g->r_plen), free(g->r_keys);
    free(g->order), free(g->order_off), free(g->ref_lp), free(g->views);
    free(g->ids), free(g->tg), free(g->lp), free(g->dlp);
    free(g->g_lp), free(g->g_old), free(g->g_ref), free(g->g_mask), free(g->g_dlp), free(g->g_adv);
    free(g);
}

rlc_status rlc_grpo_new(rlc_policy *pol, const rlc_source *src, const rlc_reward_set *rewards,
                        const rlc_grpo_params *p, rlc_grpo **out) {
    if (p->batch_prompts <= 0 || p->group_size <= 0 || p->max_new_tokens <= 0 ||
        p->num_iterations <= 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo: batch size, group size, max_new_tokens and num_iterations must "
                          "be positive");
    if (p->group_size == 1 && p->adv != RLC_ADV_DR_GRPO && !rlc_adv_mode_signed(p->adv))
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo: group_size 1 gives every sample a zero advantage under %s "
                          "(a group needs at least 2 samples to compare)",
                          rlc_adv_mode_name(p->adv));
    if (rlc_reward_set_size(rewards) == 0)
        return rlc_errorf(RLC_ERR_INVALID, "grpo: no reward functions");
    if (p->backpressure && (p->bp.min_batch < 1 || p->bp.min_batch > p->batch_prompts))
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo: back pressure's smallest batch %d outside 1..%d (the largest)",
                          p->bp.min_batch, p->batch_prompts);
    int B = p->batch_prompts, G = p->group_size, M = p->max_new_tokens;
    rlc_dist_shards sh;
    RLC_TRY(rlc_dist_shards_plan(p->shards, B, &sh));
    int shards = sh.shards;
    if (shards > 1 && (p->dynamic_sampling || p->backpressure))
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo: %d shards (training.shards or MPI ranks) with %s: not supported",
                          shards, p->dynamic_sampling ? "dynamic sampling" : "back pressure");
    int maxp = pol->max_prompt_tokens > 0 ? pol->max_prompt_tokens : 512;
    /* sizes from the config: every product checked, and the counts that are
     * ints must fit one */
    size_t S, T, SM, mbT, mbM, Snr, Snc;
    RLC_TRY(rlc_mul_size_what("grpo: batch_prompts x group_size", (size_t)B, (size_t)G, &S));
    RLC_TRY(
        rlc_add_size_what("grpo: max_prompt_tokens + max_new_tokens", (size_t)maxp, (size_t)M, &T));
    if (S > INT_MAX || T > INT_MAX)
        return rlc_errorf(RLC_ERR_INVALID,
                          "grpo: %d prompts x %d samples = %zu sequences of up to %zu tokens, "
                          "more than %d",
                          B, G, S, T, INT_MAX);
    size_t mb = p->micro_batch > 0 && (size_t)p->micro_batch < S ? (size_t)p->micro_batch : S;
    RLC_TRY(rlc_mul_size_what("grpo: sequences x max_new_tokens", S, (size_t)M, &SM));
    RLC_TRY(rlc_mul_size_what("grpo: micro_batch x sequence length", mb, T, &mbT));
    RLC_TRY(rlc_mul_size_what("grpo: micro_batch x max_new_tokens", mb, (size_t)M, &mbM));
    RLC_TRY(rlc_mul_size_what("grpo: sequences x rewards", S, rlc_reward_set_size(rewards), &Snr));
    RLC_TRY(rlc_mul_size_what("grpo: sequences x rubric criteria", S,
                              (size_t)rlc_reward_set_criteria(rewards) + 1, &Snc));
    rlc_grpo *g = rlc_calloc(1, sizeof *g);
    if (!g) return RLC_ERR_NOMEM;
    g->pol = pol, g->src = src, g->rw = rewards, g->p = *p;
    g->S = g->S_cap = (int)S;
    g->T = (int)T;
    g->mb = (int)mb;
    g->shards = sh.shards, g->n_local = sh.n_local, g->shard0 = sh.first;
    if (g->p.loss.agg == RLC_LOSS_SEQ_MEAN_TOKEN_SUM_NORM && g->p.loss.max_tokens <= 0)
        g->p.loss.max_tokens = M;
    g->pids = rlc_calloc((size_t)B, sizeof *g->pids);
    g->plen = rlc_calloc((size_t)B, sizeof *g->plen);
    g->keys = rlc_calloc((size_t)B, sizeof *g->keys);
    g->prompts = rlc_calloc((size_t)B, sizeof *g->prompts);
    g->refs = rlc_calloc((size_t)B, sizeof *g->refs);
    g->texts = rlc_calloc(S, sizeof *g->texts);
    g->meta = rlc_calloc((size_t)B, sizeof *g->meta);
    g->sp = rlc_calloc(S, sizeof *g->sp);
    g->sr = rlc_calloc(S, sizeof *g->sr);
    g->sm = rlc_calloc(S, sizeof *g->sm);
    g->failed = rlc_calloc(S, 1);
    g->reward = rlc_calloc(S, sizeof(float));
    g->per_reward = rlc_calloc(Snr, sizeof(float));
    g->criteria = rlc_calloc(Snc, sizeof(float));
    g->adv = rlc_calloc(S, sizeof(float));
    g->adv_tok = rlc_calloc(SM, sizeof(float));
    g->plan = rlc_calloc(SM, 1);
    g->tok_end = rlc_calloc((size_t)M, sizeof(size_t));
    g->slot = rlc_calloc((size_t)B, sizeof(int));
    g->r_pids = rlc_calloc((size_t)B, sizeof *g->r_pids);
    g->r_plen = rlc_calloc((size_t)B, sizeof(int));
    g->r_keys = rlc_calloc((size_t)B, sizeof(uint64_t));
    g->skipped = rlc_calloc((size_t)B, 1);
    g->order = rlc_calloc(S, sizeof(int));
    g->order_off = rlc_calloc((size_t)g->n_local + 1, sizeof(int));
    g->ref_lp = rlc_calloc(SM, sizeof(float));
    g->views = rlc_calloc(S, sizeof *g->views);
    g->ids = rlc_calloc(mbT, sizeof(int));
    g->tg = rlc_calloc(mbT, sizeof(int));
    g->lp = rlc_calloc(mbT, sizeof(float));
    g->dlp = rlc_calloc(mbT, sizeof(float));
    g->g_lp = rlc_calloc(mbM, sizeof(float));
    g->g_old = rlc_calloc(mbM, sizeof(float));
    g->g_ref = rlc_calloc(mbM, sizeof(float));
    g->g_mask = rlc_calloc(mbM, sizeof(float));
    g->g_dlp = rlc_calloc(mbM, sizeof(float));
    g->g_adv = rlc_calloc(mbM, sizeof(float));
    rlc_status st = RLC_OK;
    if (!g->pids || !g->plen || !g->keys || !g->prompts || !g->refs || !g->texts || !g->reward ||
        !g->per_reward || !g->adv || !g->adv_tok || !g->plan || !g->tok_end || !g->slot ||
        !g->r_pids || !g->r_plen || !g->r_keys || !g->skipped || !g->order || !g->order_off ||
        !g->ref_lp || !g->views || !g->ids || !g->tg || !g->lp || !g->dlp || !g->g_lp ||
        !g->g_old || !g->g_ref || !g->g_mask || !g->g_dlp || !g->g_adv || !g->criteria ||
        !g->meta || !g->sp || !g->sr || !g->sm || !g->failed)
        st = RLC_ERR_NOMEM;
    if (st == RLC_OK) st = rlc_generator_new(pol->m, (int)S, (int)T, &g->gen);
    rlc_acts_opts ao = {.chunk = p->logit_chunk, .checkpoint = p->checkpoint};
    if (st == RLC_OK) st = rlc_acts_new_opts(pol->m, (int)mb, (int)T, &ao, &g->acts);
    if (st == RLC_OK)
        st = rlc_acts_set_temperature(g->acts,
                                      p->sampler.temperature > 0 ? p->sampler.temperature : 1.0f);
    /* the reference first: while the base is still BF16 it shares its mapping */
    if (st == RLC_OK && p->loss.beta != 0 && !rlc_model_has_lora(pol->m))
        st = rlc_model_clone_base(pol->m, &g->ref);
    if (st == RLC_OK) st = rlc_model_trainable(pol->m, &g->params, &g->grads, &g->n_params);
    if (st == RLC_OK) st = rlc_adamw_init(&g->opt, g->n_params, p->opt);
    if (st == RLC_OK && shards > 1) {
        st = rlc_dist_sum_init(&g->gsum, g->n_params, g->n_local);
        g->part = rlc_calloc((size_t)shards * N_PART, sizeof(double));
        if (st == RLC_OK && !g->part) st = RLC_ERR_NOMEM;
    }
    if (st) {
        rlc_grpo_free(g);
        return st;
    }
    rlc_sepa_init(&g->p.sepa, &g->sepa);
    if (p->backpressure) {
        g->p.bp.group = G;
        g->p.bp.max_batch = B;
        rlc_bp_init(&g->p.bp, &g->bp);
    }
    *out = g;
    return RLC_OK;
}

const rlc_acts *rlc_grpo_acts(const rlc_grpo *g) {
    return g->acts;
}

rlc_adamw *rlc_grpo_optimizer(rlc_grpo *g) {
    return &g->opt;
}

rlc_sepa_state *rlc_grpo_sepa_state(rlc_grpo *g) {
    return &g->sepa;
}

rlc_bp_state *rlc_grpo_bp_state(rlc_grpo *g) {
    return g->p.backpressure ? &g->bp : NULL;
}

uint64_t rlc_grpo_cursor(const rlc_grpo *g) {
    return g->cursor;
}

void rlc_grpo_set_cursor(rlc_grpo *g, uint64_t cursor) {
    g->cursor = cursor;
}

const rlc_gen_out *rlc_grpo_rollout(const rlc_grpo *g, const int *const **prompt_ids,
                                    const int **prompt_lens) {
    if (prompt_ids) *prompt_ids = (const int *const *)g->pids;
    if (prompt_lens) *prompt_lens = g->plen;
    return g->have_go ? &g->go : NULL;
}

int rlc_grpo_samples(const rlc_grpo *g, const rlc_sample_view **out) {
    *out = g->views;
    return g->have_go ? g->S : 0;
}

/* Longest sequences first, index breaking ties: a fixed order for any run. */
static int by_len_desc(const void *a, const void *b, void *ctx) {
    int x = *(const int *)a, y = *(const int *)b;
    const rlc_grpo *g = ctx;
    int G = g->p.group_size;
    int lx = g->plen[x / G] + g->go.len[x], ly = g->plen[y / G] + g->go.len[y];
    if (lx != ly) return ly - lx;
    return x - y;
}

/* Lays out micro-batch rows [first, first+n) of g->order as training rows;
 * returns the row length T. */
static int build_rows(rlc_grpo *g, int first, int n) {
    int G = g->p.group_size, M = g->p.max_new_tokens, T = 1;
    for (int r = 0; r < n; r++) {
        int s = g->order[first + r], P = g->plen[s / G], L = g->go.len[s];
        if (P + L - 1 > T) T = P + L - 1;
    }
    for (int r = 0; r < n; r++) {
        int s = g->order[first + r], P = g->plen[s / G], L = g->go.len[s];
        const int *comp = g->go.ids + (size_t)s * g->go.max_new;
        int *ids = g->ids + (size_t)r * T, *tg = g->tg + (size_t)r * T;
        for (int t = 0; t < T; t++) {
            ids[t] = t < P ? g->pids[s / G][t] : (t - P < L - 1 ? comp[t - P] : 0);
            tg[t] = (t >= P - 1 && t - (P - 1) < L) ? comp[t - (P - 1)] : -1;
        }
        for (int j = 0; j < M; j++) {
            g->g_mask[r * M + j] = j < L ? 1.0f : 0.0f;
            g->g_old[r * M + j] = j < L ? g->go.logprobs[(size_t)s * g->go.max_new + j] : 0.0f;
            g->g_ref[r * M + j] = g->ref_lp[(size_t)s * M + j];
            g->g_adv[r * M + j] = j < L ? g->adv_tok[(size_t)s * M + j] : 0.0f;
        }
    }
    return T;
}

/* Row log-probs [n, T] -> completion grid [n, M]. */
static void gather(rlc_grpo *g, int first, int n, int T, const float *rows, float *grid) {
    int G = g->p.group_size, M = g->p.max_new_tokens;
    for (int r = 0; r < n; r++) {
        int s = g->order[first + r], P = g->plen[s / G], L = g->go.len[s];
        for (int j = 0; j < M; j++)
            grid[r * M + j] = j < L ? rows[(size_t)r * T + P - 1 + j] : 0;
    }
}

/* Planning tokens of completion s (g->plan row): the phrases matched on the
 * text its tokens spell, each token's bytes ending where the streaming
 * decoder has taken them in (emitted plus held back), so a phrase that starts
 * inside a token's UTF-8 character still marks it. */
static rlc_status planning_row(rlc_grpo *g, int s, rlc_detok *d, rlc_strbuf *text) {
    int L = g->go.len[s];
    const int *ids = g->go.ids + (size_t)s * g->go.max_new;
    rlc_sb_reset(text);
    for (int t = 0; t < L; t++) {
        const char *piece;
        size_t n;
        RLC_TRY(rlc_detok_push(d, ids[t], &piece, &n));
        rlc_sb_put(text, piece, n);
        g->tok_end[t] = text->len + (size_t)d->n_held;
    }
    const char *piece;
    size_t n;
    RLC_TRY(rlc_detok_flush(d, &piece, &n));
    rlc_sb_put(text, piece, n);
    if (text->oom) return RLC_ERR_NOMEM;
    return rlc_planning_mask(text->p ? text->p : "", text->len, g->tok_end, L, g->p.phrases,
                             g->p.n_phrases, g->plan + (size_t)s * g->p.max_new_tokens, NULL);
}

/* Mean and population variance accumulated per group, averaged over groups. */
typedef struct group_moments {
    double sum, sq; /* this group */
    long n;
    double mean_sum, var_sum; /* over groups */
    int groups;
} group_moments;

static void moments_add(group_moments *m, double u) {
    m->sum += u, m->sq += u * u, m->n++;
}

static void moments_close_group(group_moments *m) {
    if (m->n > 0) {
        double mean = m->sum / m->n, var = m->sq / m->n - mean * mean;
        m->mean_sum += mean, m->var_sum += var > 0 ? var : 0, m->groups++;
    }
    m->sum = m->sq = 0, m->n = 0;
}

/* g->adv_tok from g->adv: the advantage on every token, or the transform's
 * token advantages, with the surprisal statistics and SEPA's step. */
static rlc_status token_advantages(rlc_grpo *g, int step, double correct_rate, rlc_step_stats *st) {
    const rlc_grpo_params *p = &g->p;
    int G = p->group_size, M = p->max_new_tokens;
    st->exec_ent_mean = st->exec_ent_var = st->plan_ent_mean = st->plan_ent_var = NAN;
    st->plan_frac = st->sepa_lambda = NAN;
    st->sepa_gate_open = -1;
    if (p->transform.kind == RLC_TRANSFORM_NONE) {
        for (int s = 0; s < g->S; s++)
            for (int j = 0; j < g->go.len[s]; j++)
                g->adv_tok[(size_t)s * M + j] = g->adv[s];
        return RLC_OK;
    }
    rlc_detok d;
    rlc_detok_init(&d, g->pol->tok, 1);
    rlc_strbuf text = {0};
    rlc_status rs = RLC_OK;
    for (int s = 0; rs == RLC_OK && s < g->S; s++)
        rs = planning_row(g, s, &d, &text);
    rlc_detok_free(&d);
    rlc_sb_free(&text);
    RLC_TRY(rs);

    double lambda = 0;
    int sepa = rlc_transform_uses_sepa(p->transform.kind);
    if (sepa) {
        rlc_sepa_observe(&p->sepa, &g->sepa, correct_rate);
        lambda = rlc_sepa_lambda(&p->sepa, &g->sepa, step);
    }
    group_moments ex = {0}, pl = {0};
    double bsum = 0, bsq = 0; /* the batch's execution surprisals (SEPA auto) */
    long n_tok = 0, n_plan = 0;
    for (int s = 0; s < g->S; s++) {
        int L = g->go.len[s];
        const float *lp = g->go.logprobs + (size_t)s * g->go.max_new;
        const unsigned char *plan = g->plan + (size_t)s * M;
        rlc_transform_tokens(&p->transform, g->adv[s], lp, plan, L, lambda,
                             g->adv_tok + (size_t)s * M);
        for (int j = 0; j < L; j++) {
            double u = rlc_transform_surprisal(lp[j]);
            if (plan[j]) {
                moments_add(&pl, u);
                n_plan++;
            } else {
                moments_add(&ex, u);
                bsum += u, bsq += u * u;
            }
        }
        n_tok += L;
        if ((s + 1) % G == 0) moments_close_group(&ex), moments_close_group(&pl);
    }
    if (ex.groups)
        st->exec_ent_mean = ex.mean_sum / ex.groups, st->exec_ent_var = ex.var_sum / ex.groups;
    if (pl.groups)
        st->plan_ent_mean = pl.mean_sum / pl.groups, st->plan_ent_var = pl.var_sum / pl.groups;
    st->plan_frac = n_tok ? (double)n_plan / n_tok : NAN;
    if (sepa) {
        long n_ex = n_tok - n_plan;
        double mean = n_ex ? bsum / n_ex : 0, var = n_ex ? bsq / n_ex - mean * mean : 0;
        rlc_sepa_update(&p->sepa, &g->sepa, var > 0 ? var : 0, n_ex);
        st->sepa_lambda = lambda;
        st->sepa_gate_open = g->sepa.gate_open;
    }
    return RLC_OK;
}

/* Slot i (of B) takes example idx of the train split: its prompt text, ids,
 * reference and sampling key. */
static rlc_status load_prompt(rlc_grpo *g, int i, uint64_t idx) {
    free(g->pids[i]);
    g->pids[i] = NULL;
    free(g->prompts[i]), free(g->refs[i]), free(g->meta[i]);
    g->prompts[i] = g->refs[i] = g->meta[i] = NULL;
    rlc_source_ex ex;
    RLC_TRY(rlc_source_get(g->src, 0, idx, &ex));
    rlc_status ps = rlc_policy_render(g->pol, ex.msgs, ex.n_msgs, &g->prompts[i]);
    g->refs[i] = ex.reference, ex.reference = NULL;
    g->meta[i] = ex.metadata, ex.metadata = NULL;
    rlc_source_ex_free(&ex);
    RLC_TRY(ps);
    RLC_TRY(rlc_policy_prompt_ids(g->pol, g->prompts[i], &g->pids[i], &g->plen[i]));
    g->keys[i] = idx;
    return RLC_OK;
}

/* Completion text of sequences [s0, s1), and each one's prompt, reference
 * and metadata. */
static rlc_status completion_texts(rlc_grpo *g, int s0, int s1) {
    int G = g->p.group_size;
    for (int s = s0; s < s1; s++) {
        free(g->texts[s]);
        g->texts[s] = NULL;
        RLC_TRY(rlc_policy_completion_text(g->pol, g->go.ids + (size_t)s * g->go.max_new,
                                           g->go.len[s], &g->texts[s]));
        g->sp[s] = g->prompts[s / G], g->sr[s] = g->refs[s / G], g->sm[s] = g->meta[s / G];
    }
    return RLC_OK;
}

/* Completion text and rewards (overlong penalty included) of sequences
 * [s0, s1), the external verifiers asked with one batch. */
static rlc_status score(rlc_grpo *g, int s0, int s1) {
    const rlc_grpo_params *p = &g->p;
    int M = p->max_new_tokens, nr = (int)rlc_reward_set_size(g->rw);
    size_t nc = (size_t)rlc_reward_set_criteria(g->rw);
    RLC_TRY(completion_texts(g, s0, s1));
    RLC_TRY(rlc_rewards_score_batch(g->rw, s1 - s0, g->sp + s0, (const char *const *)g->texts + s0,
                                    g->sr + s0, g->sm + s0, g->go.len + s0,
                                    g->per_reward + (size_t)s0 * nr, g->criteria + (size_t)s0 * nc,
                                    g->reward + s0, g->failed + s0));
    for (int s = s0; s < s1; s++)
        g->reward[s] +=
            rlc_reward_overlong(g->go.len[s], M, p->overlong_buffer, p->overlong_penalty);
    return RLC_OK;
}

/* One extra round of dynamic sampling: the n slots in g->slot take the next
 * n prompts from cursor, their groups are sampled (each prompt keyed by its
 * index, so its samples do not depend on the round) into the slots' rows of
 * g->go, and scored. */
static rlc_status resample(rlc_grpo *g, rlc_gen_params *gp, int n, uint64_t cursor) {
    int G = g->p.group_size;
    for (int k = 0; k < n; k++) {
        int i = g->slot[k];
        RLC_TRY(load_prompt(g, i, cursor + (uint64_t)k));
        g->r_pids[k] = g->pids[i], g->r_plen[k] = g->plen[i], g->r_keys[k] = g->keys[i];
    }
    gp->prompt_keys = g->r_keys;
    rlc_gen_out o;
    rlc_status st = rlc_generator_run(g->gen, (const int *const *)g->r_pids, g->r_plen, n, gp, &o);
    gp->prompt_keys = g->keys;
    RLC_TRY(st);
    size_t W = (size_t)g->go.max_new;
    for (int k = 0; k < n; k++)
        for (int j = 0; j < G; j++) {
            size_t d = (size_t)g->slot[k] * G + j, s = (size_t)k * G + j;
            memcpy(g->go.ids + d * W, o.ids + s * W, W * sizeof *o.ids);
            memcpy(g->go.logprobs + d * W, o.logprobs + s * W, W * sizeof *o.logprobs);
            memcpy(g->go.entropy + d * W, o.entropy + s * W, W * sizeof *o.entropy);
            g->go.len[d] = o.len[s];
            g->go.finish[d] = o.finish[s];
        }
    rlc_gen_out_free(&o);
    for (int k = 0; k < n; k++)
        RLC_TRY(score(g, g->slot[k] * G, g->slot[k] * G + G));
    return RLC_OK;
}

/* The rollout of a sharded step: each of this rank's shards (Bs prompts)
 * sampled as a batch of its own into its rows of g->go, which holds all
 * g->S rows (the other ranks' arrive in share_rollout). */
static rlc_status rollout_shards(rlc_grpo *g, rlc_gen_params *gp, int Bs) {
    int G = g->p.group_size, M = g->p.max_new_tokens;
    size_t S = (size_t)g->S, SM = S * (size_t)M;
    rlc_gen_out *go = &g->go;
    memset(go, 0, sizeof *go);
    g->have_go = 1;
    go->num_seqs = (int)S, go->max_new = M;
    go->ids = rlc_calloc(SM, sizeof *go->ids);
    go->logprobs = rlc_calloc(SM, sizeof *go->logprobs);
    go->entropy = rlc_calloc(SM, sizeof *go->entropy);
    go->len = rlc_calloc(S, sizeof *go->len);
    go->finish = rlc_calloc(S, sizeof *go->finish);
    if (!go->ids || !go->logprobs || !go->entropy || !go->len || !go->finish) return RLC_ERR_NOMEM;
    for (int k = g->shard0; k < g->shard0 + g->n_local; k++) {
        int b0 = k * Bs;
        gp->prompt_keys = g->keys + b0; /* global prompt indices: the same draws anywhere */
        rlc_gen_out o;
        rlc_status st =
            rlc_generator_run(g->gen, (const int *const *)g->pids + b0, g->plen + b0, Bs, gp, &o);
        gp->prompt_keys = g->keys;
        RLC_TRY(st);
        size_t n = (size_t)Bs * G, d = (size_t)b0 * G;
        if (o.max_new != M)
            st = rlc_errorf(RLC_ERR_INTERNAL, "grpo: rollout rows of %d", o.max_new);
        if (st == RLC_OK) {
            memcpy(go->ids + d * M, o.ids, n * M * sizeof *o.ids);
            memcpy(go->logprobs + d * M, o.logprobs, n * M * sizeof *o.logprobs);
            memcpy(go->entropy + d * M, o.entropy, n * M * sizeof *o.entropy);
            memcpy(go->len + d, o.len, n * sizeof *o.len);
            memcpy(go->finish + d, o.finish, n * sizeof *o.finish);
            go->prefill_s += o.prefill_s, go->decode_s += o.decode_s;
        }
        rlc_gen_out_free(&o);
        RLC_TRY(st);
    }
    return RLC_OK;
}

/* Every rank's scored rows [lo, hi) (its shards) to every rank, so that
 * advantages, token advantages, the loss normalizer and the step's statistics
 * are computed from the whole batch everywhere, as one process computes them. */
static rlc_status share_rollout(rlc_grpo *g, int lo, int hi) {
    size_t rows = (size_t)(hi - lo), M = (size_t)g->p.max_new_tokens;
    size_t nr = rlc_reward_set_size(g->rw), nc = (size_t)rlc_reward_set_criteria(g->rw);
    RLC_TRY(rlc_dist_allgather(g->go.ids, rows * M * sizeof *g->go.ids));
    RLC_TRY(rlc_dist_allgather(g->go.logprobs, rows * M * sizeof *g->go.logprobs));
    RLC_TRY(rlc_dist_allgather(g->go.entropy, rows * M * sizeof *g->go.entropy));
    RLC_TRY(rlc_dist_allgather(g->go.len, rows * sizeof *g->go.len));
    RLC_TRY(rlc_dist_allgather(g->go.finish, rows * sizeof *g->go.finish));
    RLC_TRY(rlc_dist_allgather(g->reward, rows * sizeof *g->reward));
    RLC_TRY(rlc_dist_allgather(g->per_reward, rows * nr * sizeof *g->per_reward));
    RLC_TRY(rlc_dist_allgather(g->criteria, rows * nc * sizeof *g->criteria));
    RLC_TRY(rlc_dist_allgather(g->failed, rows * sizeof *g->failed));
    RLC_TRY(completion_texts(g, 0, lo));
    return completion_texts(g, hi, g->S);
}

/* Whether sequence s carries gradient: a zero advantage carries it only
 * through the KL term. */
static int carries_grad(const rlc_grpo *g, int s, float beta) {
    return g->go.len[s] > 0 && (g->adv[s] != 0.0f || beta != 0);
}

/* g->order <- for each local shard k (Ss sequences), those that carry
 * gradient, longest first, from g->order_off[k - shard0]: once a step, for
 * the reference pass and every optimisation pass. */
static void shard_orders(rlc_grpo *g, int Ss, float beta) {
    int n = 0;
    for (int i = 0; i < g->n_local; i++) {
        int k = g->shard0 + i;
        g->order_off[i] = n;
        for (int s = k * Ss; s < (k + 1) * Ss; s++)
            if (carries_grad(g, s, beta)) g->order[n++] = s;
        qsort_r(g->order + g->order_off[i], (size_t)(n - g->order_off[i]), sizeof(int), by_len_desc,
                g);
    }
    g->order_off[g->n_local] = n;
}

static double seconds(void) {
    return omp_get_wtime();
}

rlc_status rlc_grpo_step(rlc_grpo *g, int step, rlc_step_stats *st) {
    const rlc_grpo_params *p = &g->p;
    rlc_policy *pol = g->pol;
    int B = p->backpressure ? g->bp.batch : p->batch_prompts;
    if (B < 1 || B > p->batch_prompts)
        return rlc_errorf(RLC_ERR_INVALID, "grpo: batch of %d prompts outside 1..%d", B,
                          p->batch_prompts);
    int G = p->group_size, S = g->S = B * G, M = p->max_new_tokens;
    int nr = (int)rlc_reward_set_size(g->rw);
    size_t nc = (size_t)rlc_reward_set_criteria(g->rw);
    memset(st, 0, sizeof *st);
    st->step = step;
    double t0 = seconds();

    /* 1. prompts: the next B of the train split (with dynamic sampling the
     * cursor also counts the prompts of earlier steps' extra rounds) */
    uint64_t cursor = p->dynamic_sampling || p->backpressure ? g->cursor : (uint64_t)step * B;
    for (int i = 0; i < B; i++)
        RLC_TRY(load_prompt(g, i, cursor + (uint64_t)i));
    cursor += (uint64_t)B;

    /* 2. rollout */
    if (g->have_go) rlc_gen_out_free(&g->go), g->have_go = 0;
    rlc_gen_params gp = rlc_gen_default_params();
    gp.max_new_tokens = M;
    gp.num_samples = G;
    gp.sampler = p->sampler;
    rlc_policy_restrict_sampler(pol->tok, rlc_model_cfg(pol->m)->vocab_size, &gp.sampler);
    gp.seed = rlc_rng_stream(p->seed, (uint64_t)step, 0x6e11);
    gp.use_eos = 0;
    gp.stop_ids = &pol->eos_id;
    gp.num_stop_ids = pol->eos_id >= 0;
    gp.prompt_keys = g->keys;
    gp.want_entropy = 1;
    /* each shard is a batch of its own; this rank's are rows [lo, hi) */
    int Bs = B / g->shards, Ss = Bs * G, lo = g->shard0 * Ss, hi = lo + g->n_local * Ss;
    if (g->shards == 1) {
        RLC_TRY(rlc_generator_run(g->gen, (const int *const *)g->pids, g->plen, B, &gp, &g->go));
        g->have_go = 1;
    } else {
        RLC_TRY(rollout_shards(g, &gp, Bs));
    }

    /* 3. rewards, then DAPO's dynamic sampling: groups whose rewards are all
     * equal are replaced by groups of new prompts, round after round */
    RLC_TRY(score(g, lo, hi));
    if (g->shards > 1) RLC_TRY(share_rollout(g, lo, hi));
    int rounds = 1, dropped = 0, n_equal = 0; /* n_equal: equal groups left, in g->slot */
    long extra_tokens = 0;
    while (p->dynamic_sampling) {
        int n = 0;
        for (int i = 0; i < B; i++)
            if (rlc_rewards_all_equal(g->reward + (size_t)i * G, G)) g->slot[n++] = i;
        n_equal = n;
        if (n == 0 || rounds > p->dynamic_sampling_extra_rounds) break;
        for (int k = 0; k < n; k++) /* the dropped groups' tokens were sampled too */
            for (int j = 0; j < G; j++)
                extra_tokens += g->go.len[(size_t)g->slot[k] * G + j];
        RLC_TRY(resample(g, &gp, n, cursor));
        cursor += (uint64_t)n;
        dropped += n;
        rounds++;
    }
    g->cursor = cursor;
    st->gen_time_s = seconds() - t0;

    /* the entropy metric is over every sampled token, taken from the
     * distributions they were drawn from (as verl and TRL report it: the
     * policy at the sampling temperature), so groups without learning signal
     * count too and no extra forward is needed */
    long correct = 0, hit = 0, ntok = 0;
    double ent_sum = 0;
    st->len_min = M + 1;
    for (int s = 0; s < S; s++) {
        correct += rlc_reward_correct(g->texts[s], g->refs[s / G]);
        int L = g->go.len[s];
        hit += g->go.finish[s] == RLC_FINISH_LENGTH;
        ntok += L;
        for (int j = 0; j < L; j++)
            ent_sum += g->go.entropy[(size_t)s * g->go.max_new + j];
        st->len_min = L < st->len_min ? L : st->len_min;
        st->len_max = L > st->len_max ? L : st->len_max;
        const float *crit = nc ? g->criteria + (size_t)s * nc : NULL;
        g->views[s] = (rlc_sample_view){
            g->prompts[s / G], g->texts[s], g->reward[s], L, g->per_reward + (size_t)s * nr, crit};
    }
    st->sampling_rounds = p->dynamic_sampling ? rounds : -1;
    st->dropped_groups = p->dynamic_sampling ? dropped : -1;

    /* 4. advantages */
    int n_skipped = 0, n_pos = -1, n_neg = -1; /* groups with all rewards equal */
    if (rlc_adv_mode_signed(p->adv))
        RLC_TRY(rlc_advantages_signed(g->reward, B, G, p->adv, p->reward_threshold, p->psr_weight,
                                      p->nsr_weight, g->adv, &n_skipped, &n_pos, &n_neg));
    else if (p->adv == RLC_ADV_REINFORCE_PP)
        RLC_TRY(rlc_advantages_reinforce_pp(g->reward, g->go.len, B, G, g->adv, g->skipped,
                                            &n_skipped));
    else
        RLC_TRY(rlc_advantages(g->reward, B, G, p->adv, p->scale, g->adv, g->skipped, &n_skipped));

    /* groups of equal rewards left when the rounds ran out: dropped from the
     * gradient in every mode (signed ones would learn from them) */
    for (int k = 0; k < n_equal; k++)
        for (int j = 0; j < G; j++)
            g->adv[(size_t)g->slot[k] * G + j] = 0.0f;
    /* rewards.external_on_error=skip: a group with a completion no verifier scored */
    for (int i = 0; g->rw->ext_skip && i < B; i++) {
        int bad = 0;
        for (int j = 0; j < G; j++)
            bad |= g->failed[(size_t)i * G + j];
        for (int j = 0; bad && j < G; j++)
            g->adv[(size_t)i * G + j] = 0.0f;
        st->ext_skipped_groups += bad;
    }

    /* 4b. token advantages */
    RLC_TRY(token_advantages(g, step, (double)correct / S, st));

    /* 5. the loss normalizer is the whole batch's, so micro-batches add up */
    rlc_grpo_loss_params lp = p->loss;
    int n_seq_tok = 0;
    for (int s = 0; s < S; s++)
        n_seq_tok += g->go.len[s] > 0;
    lp.normalizer = lp.agg == RLC_LOSS_TOKEN_MEAN ? (float)ntok : (float)n_seq_tok;
    int n_act = 0;
    for (int s = 0; s < S; s++)
        if (carries_grad(g, s, lp.beta)) {
            n_act++;
            st->train_tokens += (long)p->num_iterations * (g->plen[s / G] + g->go.len[s] - 1);
        }
    st->num_datums = n_act;
    shard_orders(g, Ss, lp.beta);

    /* 6. reference log-probs, once per step: LoRA switched off, or the frozen
     * copy under full fine-tuning */
    if (lp.beta != 0) {
        rlc_model *rm = g->ref ? g->ref : pol->m;
        if (!g->ref) rlc_model_set_lora_enabled(pol->m, 0);
        rlc_status rs = RLC_OK;
        for (int i = 0; rs == RLC_OK && i < g->n_local; i++) {
            int o0 = g->order_off[i], o1 = g->order_off[i + 1];
            for (int f = o0; rs == RLC_OK && f < o1; f += g->mb) {
                int n = o1 - f < g->mb ? o1 - f : g->mb;
                int T = build_rows(g, f, n);
                rs = rlc_model_forward(rm, g->acts, g->ids, g->tg, n, T, g->lp);
                if (rs) break;
                gather(g, f, n, T, g->lp, g->g_ref);
                for (int r = 0; r < n; r++)
                    memcpy(g->ref_lp + (size_t)g->order[f + r] * M, g->g_ref + (size_t)r * M,
                           sizeof(float) * M);
            }
        }
        if (!g->ref) rlc_model_set_lora_enabled(pol->m, 1);
        RLC_TRY(rs);
    }

    /* 7. optimisation passes */
    double t1 = seconds();
    /* the run's sums (one shard: its micro-batches add straight into them;
     * several: each shard's own sums, added in shard order after the pass) */
    double tot[N_PART] = {0};
    for (int it = 0; it < p->num_iterations; it++) {
        tot[PART_LOSS] = 0;
        for (int k = g->shard0; k < g->shard0 + g->n_local; k++) {
            double *ps = g->shards == 1 ? tot : g->part + (size_t)k * N_PART;
            if (g->shards > 1) memset(ps, 0, N_PART * sizeof *ps);
            int o0 = g->order_off[k - g->shard0], o1 = g->order_off[k - g->shard0 + 1];
            rlc_model_zero_grad(pol->m);
            for (int f = o0; f < o1; f += g->mb) {
                int n = o1 - f < g->mb ? o1 - f : g->mb;
                int T = build_rows(g, f, n);
                RLC_TRY(rlc_model_forward(pol->m, g->acts, g->ids, g->tg, n, T, g->lp));
                gather(g, f, n, T, g->lp, g->g_lp);
                float l;
                rlc_grpo_stats gs;
                RLC_TRY(rlc_grpo_loss_tokens(&lp, g->g_lp, g->g_old, lp.beta != 0 ? g->g_ref : NULL,
                                             g->g_adv, g->g_mask, n, M, &l, g->g_dlp, &gs));
                ps[PART_LOSS] += l;
                if (it == 0) {
                    ps[PART_KL] += (double)gs.kl_mean * gs.n_tokens;
                    ps[PART_TOK] += gs.n_tokens;
                }
                /* the first pass runs at ratio 1, so clipping shows in later passes:
                 * the share is over every pass's tokens */
                ps[PART_CLIP] += (double)gs.clip_ratio * gs.n_tokens;
                ps[PART_CLIP_TOK] += gs.n_tokens;
                memset(g->dlp, 0, sizeof(float) * (size_t)n * T);
                for (int r = 0; r < n; r++) {
                    int s = g->order[f + r], P = g->plen[s / G];
                    for (int j = 0; j < g->go.len[s]; j++)
                        g->dlp[(size_t)r * T + P - 1 + j] = g->g_dlp[r * M + j];
                }
                RLC_TRY(rlc_model_backward(pol->m, g->acts, g->dlp));
            }
            if (g->shards > 1) RLC_TRY(rlc_dist_sum_add(&g->gsum, g->grads));
        }
        if (g->shards > 1) {
            RLC_TRY(rlc_dist_sum_finish(&g->gsum, g->grads));
            RLC_TRY(rlc_dist_allgather(g->part, (size_t)g->n_local * N_PART * sizeof *g->part));
            for (int k = 0; k < g->shards; k++)
                for (int q = 0; q < N_PART; q++)
                    tot[q] += g->part[(size_t)k * N_PART + q];
        }
        double loss = tot[PART_LOSS];
        float lr = rlc_schedule_lr(&p->schedule, p->lr, step);
        float gn = 0;
        if (n_act > 0) {
            /* a non-finite loss or gradient never reaches the weights */
            const rlc_backend *be = rlc_model_backend(pol->m);
            int applied = isfinite(loss)
                              ? rlc_adamw_step(&g->opt, be, g->params, g->grads, lr, &gn)
                              : (gn = (float)rlc_adamw_grad_norm(&g->opt, be, g->grads), 0);
            st->skipped_steps += !applied;
        }
        if (it == 0) st->loss = loss, st->grad_norm = gn, st->lr = lr;
    }
    st->train_time_s = seconds() - t1;

    /* 8. statistics */
    double sum = 0, sq = 0;
    for (int s = 0; s < S; s++)
        sum += g->reward[s];
    st->mean_reward = sum / S;
    for (int s = 0; s < S; s++)
        sq += (g->reward[s] - st->mean_reward) * (g->reward[s] - st->mean_reward);
    st->reward_std = S > 1 ? sqrt(sq / (S - 1)) : 0;
    st->correct_count = correct;
    st->total_count = S;
    st->correct_rate = (double)correct / S;
    st->frac_reward_zero_std = (double)n_skipped / B;
    st->pos_samples = n_pos, st->neg_samples = n_neg;
    st->max_token_hit_rate = (double)hit / S;
    st->entropy = ntok ? ent_sum / ntok : NAN;
    st->kl = tot[PART_TOK] > 0 ? tot[PART_KL] / tot[PART_TOK] : 0;
    st->clip_ratio = tot[PART_CLIP_TOK] > 0 ? tot[PART_CLIP] / tot[PART_CLIP_TOK] : 0;
    st->len_mean = (double)ntok / S;
    st->gen_tokens = ntok + extra_tokens;
    st->tokens_per_s = st->gen_time_s > 0 ? st->gen_tokens / st->gen_time_s : 0;
    st->n_rewards = nr;
    for (int k = 0; k < nr; k++) {
        double m = 0, v = 0;
        for (int s = 0; s < S; s++)
            m += g->per_reward[(size_t)s * nr + k];
        m /= S;
        for (int s = 0; s < S; s++) {
            double d = g->per_reward[(size_t)s * nr + k] - m;
            v += d * d;
        }
        st->reward_names[k] = rlc_reward_set_name(g->rw, (size_t)k);
        st->reward_mean[k] = m;
        st->reward_std_each[k] = S > 1 ? sqrt(v / (S - 1)) : 0;
    }
    st->has_ext = g->rw->n_ext > 0;
    for (size_t k = 0; k < g->rw->n_ext; k++) {
        rlc_ext_counts c;
        rlc_ext_take_counts(g->rw->ext[k], &c);
        rlc_ext_counts_add(&st->ext, &c);
        const char *names[RLC_EXT_MAX_COMPONENTS];
        double mean[RLC_EXT_MAX_COMPONENTS];
        int nc = rlc_ext_take_components(g->rw->ext[k], names, mean);
        for (int j = 0; j < nc && st->n_components < RLC_STEP_COMPONENTS; j++) {
            int m = st->n_components++;
            snprintf(st->component_names[m], sizeof st->component_names[m], "%s/%s",
                     g->rw->ext_names[k], names[j]);
            st->component_mean[m] = mean[j];
        }
    }
    st->step_time_s = seconds() - t0;
    st->batch_size = B;
    if (p->backpressure) { /* the batch of the next step */
        double secs = st->step_time_s;
        rlc_test_bp_seconds(S, (double)st->gen_tokens, &secs);
        rlc_bp_observe(&p->bp, &g->bp, B, (double)st->gen_tokens, secs, &st->bp);
        st->bp_on = 1;
    }
    return RLC_OK;
}
