/* KV-cache generation. A prompt is prefilled once (causal attention over its
 * tokens), its keys/values are copied into the cache slots of its G samples,
 * then every decode step runs all sequences as one batch of rows. All memory
 * is taken before the decode loop. */
#include "model/generate.h"

#include "base/checked.h"
#include "base/cores.h"
#include "base/rng.h"
#include "model/model_internal.h"

#include <math.h>
#include <omp.h>
#include <string.h>
#include <sys/mman.h>

struct rlc_generator {
    rlc_model *m;
    int max_seqs, max_len, rows; /* rows = max(max_seqs, max_len) */
    size_t bytes;
    /* KV cache [L][max_seqs, max_len, KD]: F32 in kc/vc, or BF16 in kc16/vc16
     * when kv_bf16 (the other pair NULL) */
    float *kc, *vc;
    uint16_t *kc16, *vc16;
    int kv_bf16;
    size_t kv_bytes;                      /* of kc (or kc16), the same for vc */
    float *x, *ln;                        /* [rows, C] */
    float *q, *k, *v, *atty;              /* [rows, QD|KD] */
    float *g, *u, *h;                     /* [rows, F] */
    float *ax;                            /* [rows, r] */
    float *logits;                        /* [max_seqs, V] */
    float *scratch;                       /* decode attention: [max_seqs, Hq, max_len] */
    float *sample_work;                   /* [max_seqs, 2V] */
    float *rstd;                          /* [rows * Hq] */
    int *pos, *lens, *tok, *act, *rowlen; /* [rows] */
    float *plse;                          /* prefill attention logsumexp [Hq, max_len] */
    float *pws;                           /* prefill attention scratch, pws_n floats */
    size_t pws_n;
    size_t step_work; /* weights one decode row multiplies (team_run's work) */
};

const char *rlc_finish_reason_str(rlc_finish_reason r) {
    switch (r) {
    case RLC_FINISH_EOS:
        return "eos";
    case RLC_FINISH_STOP:
        return "stop";
    default:
        return "length";
    }
}

rlc_gen_params rlc_gen_default_params(void) {
    rlc_gen_params p;
    memset(&p, 0, sizeof p);
    p.max_new_tokens = 64;
    p.num_samples = 1;
    p.sampler = rlc_sampler_default_params();
    p.use_eos = 1;
    return p;
}

void rlc_gen_out_free(rlc_gen_out *o) {
    if (!o) return;
    free(o->ids);
    free(o->logprobs);
    free(o->len);
    free(o->finish);
    free(o->entropy);
    memset(o, 0, sizeof *o);
}

void rlc_generator_free(rlc_generator *g) {
    if (!g) return;
    free(g->kc);
    free(g->vc);
    free(g->kc16);
    free(g->vc16);
    free(g->x);
    free(g->ln);
    free(g->q);
    free(g->k);
    free(g->v);
    free(g->atty);
    free(g->g);
    free(g->u);
    free(g->h);
    free(g->ax);
    free(g->logits);
    free(g->scratch);
    free(g->sample_work);
    free(g->rstd);
    free(g->pos);
    free(g->lens);
    free(g->tok);
    free(g->act);
    free(g->rowlen);
    free(g->plse);
    free(g->pws);
    free(g);
}

size_t rlc_generator_bytes(const rlc_generator *g) {
    return g->bytes;
}

/* a * b * c * d elements of elem bytes (the product checked); the first
 * failure stays in *st. */
static void *galloc_elems(rlc_generator *g, rlc_status *st, const char *what, size_t a, size_t b,
                          size_t c, size_t d, size_t elem) {
    size_t n = 0, bytes = 0;
    if (*st) return NULL;
    *st = rlc_mul3_size(what, a, b, c, &n);
    if (!*st) *st = rlc_mul3_size(what, n, d, elem, &bytes);
    if (*st) return NULL;
    void *p = rlc_aligned_alloc(bytes);
    if (!p) *st = RLC_ERR_NOMEM;
    g->bytes += bytes;
    return p;
}

/* a * b * c * d floats. */
static float *galloc(rlc_generator *g, rlc_status *st, const char *what, size_t a, size_t b,
                     size_t c, size_t d) {
    return galloc_elems(g, st, what, a, b, c, d, sizeof(float));
}

rlc_status rlc_generator_new(rlc_model *m, int max_seqs, int max_len, rlc_generator **out) {
    return rlc_generator_new_kv(m, max_seqs, max_len,
                                rlc_model_base_bf16(m) ? RLC_DTYPE_BF16 : RLC_DTYPE_F32, out);
}

rlc_status rlc_generator_new_kv(rlc_model *m, int max_seqs, int max_len, rlc_dtype kv,
                                rlc_generator **out) {
    const rlc_model_config *c = &m->cfg;
    if (max_seqs <= 0 || max_len <= 0)
        return rlc_errorf(RLC_ERR_INVALID, "generator: need positive sequence count and length");
    if (kv != RLC_DTYPE_F32 && kv != RLC_DTYPE_BF16)
        return rlc_errorf(RLC_ERR_INVALID, "generator: KV cache dtype %s (expected F32 or BF16)",
                          rlc_dtype_name(kv));
    rlc_generator *g = rlc_calloc(1, sizeof *g);
    if (!g) return RLC_ERR_NOMEM;
    g->m = m;
    g->max_seqs = max_seqs;
    g->max_len = max_len;
    size_t R = (size_t)(max_seqs > max_len ? max_seqs : max_len);
    g->rows = (int)R;
    size_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size, H = c->num_heads;
    size_t QD = (size_t)c->num_heads * c->head_dim, KD = (size_t)c->num_kv_heads * c->head_dim;
    size_t L = c->num_layers, S = max_seqs, T = max_len;
    size_t r = m->has_lora ? (size_t)m->lc.rank : 1;
    rlc_status gst = RLC_OK;
    g->kv_bf16 = kv == RLC_DTYPE_BF16;
    size_t bytes0 = g->bytes;
    if (g->kv_bf16) {
        g->kc16 = galloc_elems(g, &gst, "generator: KV cache", L, S, T, KD, sizeof(uint16_t));
        g->vc16 = galloc_elems(g, &gst, "generator: KV cache", L, S, T, KD, sizeof(uint16_t));
    } else {
        g->kc = galloc(g, &gst, "generator: KV cache", L, S, T, KD);
        g->vc = galloc(g, &gst, "generator: KV cache", L, S, T, KD);
    }
    g->kv_bytes = (g->bytes - bytes0) / 2;
    g->x = galloc(g, &gst, "generator", R, C, 1, 1);
    g->ln = galloc(g, &gst, "generator", R, C, 1, 1);
    g->q = galloc(g, &gst, "generator", R, QD, 1, 1);
    g->k = galloc(g, &gst, "generator", R, KD, 1, 1);
    g->v = galloc(g, &gst, "generator", R, KD, 1, 1);
    g->atty = galloc(g, &gst, "generator", R, QD, 1, 1);
    g->g = galloc(g, &gst, "generator", R, F, 1, 1);
    g->u = galloc(g, &gst, "generator", R, F, 1, 1);
    g->h = galloc(g, &gst, "generator", R, F, 1, 1);
    g->ax = galloc(g, &gst, "generator", R, r, 1, 1);
    g->logits = galloc(g, &gst, "generator: logits", S, V, 1, 1);
    g->scratch = galloc(g, &gst, "generator", S, H, T, 1);
    g->sample_work = galloc(g, &gst, "generator: sampler", S, 2, V, 1);
    g->rstd = galloc(g, &gst, "generator", R, H, 1, 1);
    g->plse = galloc(g, &gst, "generator", H, T, 1, 1);
    g->pws_n = rlc_attention_scratch_floats(max_len, omp_get_max_threads());
    g->pws = galloc(g, &gst, "generator", g->pws_n, 1, 1, 1);
    g->pos = rlc_malloc(R * sizeof(int));
    g->lens = rlc_malloc(R * sizeof(int));
    g->tok = rlc_malloc(R * sizeof(int));
    g->act = rlc_malloc(R * sizeof(int));
    g->rowlen = rlc_malloc(R * sizeof(int));
    if (gst == RLC_ERR_INVALID) { /* a size overflow, already described */
        rlc_generator_free(g);
        return gst;
    }
    if (gst || !g->pos || !g->lens || !g->tok || !g->act || !g->rowlen) {
        rlc_generator_free(g);
        return rlc_errorf(RLC_ERR_NOMEM, "generator: out of memory for %d sequences x %d tokens",
                          max_seqs, max_len);
    }
    g->step_work = L * (C * (QD + 2 * KD) + QD * C + 3 * C * F) + V * C;
    rlc_status st = model_ensure_rope(m, max_len);
    if (st) {
        rlc_generator_free(g);
        return st;
    }
    *out = g;
    return RLC_OK;
}

static size_t kv_off(const rlc_generator *g, int l, int slot, int t) {
    size_t KD = (size_t)g->m->cfg.num_kv_heads * g->m->cfg.head_dim;
    return (((size_t)l * g->max_seqs + slot) * g->max_len + t) * KD;
}

/* Writes n floats of k and v into the cache at offset off (rounded to BF16
 * with a BF16 cache). */
static void kv_put(rlc_generator *g, size_t off, const float *k, const float *v, size_t n) {
    if (g->kv_bf16) {
        rlc_convert_from_f32(g->kc16 + off, k, RLC_DTYPE_BF16, n);
        rlc_convert_from_f32(g->vc16 + off, v, RLC_DTYPE_BF16, n);
    } else {
        memcpy(g->kc + off, k, n * sizeof(float));
        memcpy(g->vc + off, v, n * sizeof(float));
    }
}

/* Copies n cached elements from offset src to offset dst. */
static void kv_copy(rlc_generator *g, size_t dst, size_t src, size_t n) {
    if (g->kv_bf16) {
        memcpy(g->kc16 + dst, g->kc16 + src, n * sizeof(uint16_t));
        memcpy(g->vc16 + dst, g->vc16 + src, n * sizeof(uint16_t));
    } else {
        memcpy(g->kc + dst, g->kc + src, n * sizeof(float));
        memcpy(g->vc + dst, g->vc + src, n * sizeof(float));
    }
}

/* One block for `rows` rows of g->x: a prompt's rows into cache slot
 * *prefill_slot, or (prefill_slot NULL) one decode row per active sequence.
 * In a decode step's team (backend.h) every thread runs it; its own writes
 * to the cache and the q/k norms go in one solo section. */
static void block(rlc_generator *g, int l, int rows, const int *prefill_slot) {
    rlc_model *m = g->m;
    const rlc_model_config *c = &m->cfg;
    const rlc_backend *be = m->be;
    const layer_off *lo = &m->layers[l];
    int Hq = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim, F = c->intermediate_size;
    size_t KD = (size_t)Hkv * D;
    be->rmsnorm_forward(g->ln, g->rstd, g->x, MP(m, lo->ln1), rows, c->hidden_size,
                        c->rms_norm_eps);
    /* ax is scratch here (no backward): one buffer serves every module */
    static const int qkv[3] = {MOD_Q, MOD_K, MOD_V}, gu[2] = {MOD_GATE, MOD_UP};
    float *axs[3] = {g->ax, g->ax, g->ax};
    float *qkv_y[3] = {g->q, g->k, g->v}, *gu_y[2] = {g->g, g->u};
    model_linears_forward(m, l, 3, qkv, qkv_y, g->ln, rows, 0, axs);
    if (be->team_solo_begin()) {
        if (c->qk_norm) {
            /* in place is allowed: rmsnorm_forward forbids aliasing, so go via atty */
            memcpy(g->atty, g->q, (size_t)rows * Hq * D * sizeof(float));
            be->rmsnorm_forward(g->q, g->rstd, g->atty, MP(m, lo->qn), rows * Hq, D,
                                c->rms_norm_eps);
            memcpy(g->atty, g->k, (size_t)rows * KD * sizeof(float));
            be->rmsnorm_forward(g->k, g->rstd, g->atty, MP(m, lo->kn), rows * Hkv, D,
                                c->rms_norm_eps);
        }
        be->rope(g->q, g->pos, m->rope_cos, m->rope_sin, rows, Hq, D, 0);
        be->rope(g->k, g->pos, m->rope_cos, m->rope_sin, rows, Hkv, D, 0);
        if (prefill_slot)
            kv_put(g, kv_off(g, l, *prefill_slot, 0), g->k, g->v, rows * KD);
        else
            for (int r = 0; r < rows; r++)
                kv_put(g, kv_off(g, l, g->act[r], g->pos[r]), g->k + r * KD, g->v + r * KD, KD);
    }
    be->team_solo_end();
    size_t l0 = kv_off(g, l, 0, 0);
    if (prefill_slot)
        be->attention_forward(g->atty, g->plse, g->pws, g->pws_n, g->q, g->k, g->v, 1, rows, Hq,
                              Hkv, D);
    else if (g->kv_bf16)
        be->attention_decode_bf16(g->atty, g->scratch, g->q, g->kc16 + l0, g->vc16 + l0, g->rowlen,
                                  g->act, rows, g->max_len, Hq, Hkv, D);
    else
        be->attention_decode(g->atty, g->scratch, g->q, g->kc + l0, g->vc + l0, g->rowlen, g->act,
                             rows, g->max_len, Hq, Hkv, D);
    model_linear_forward(m, l, MOD_O, g->x, g->atty, rows, 1, g->ax);
    be->rmsnorm_forward(g->ln, g->rstd, g->x, MP(m, lo->ln2), rows, c->hidden_size,
                        c->rms_norm_eps);
    model_linears_forward(m, l, 2, gu, gu_y, g->ln, rows, 0, axs);
    be->swiglu_forward(g->h, g->g, g->u, rows, F);
    model_linear_forward(m, l, MOD_DOWN, g->x, g->h, rows, 1, g->ax);
}

/* Final norm and LM head for `rows` rows of x starting at row `first`, into logits. */
static void head(rlc_generator *g, int first, int rows, float *logits) {
    rlc_model *m = g->m;
    const rlc_model_config *c = &m->cfg;
    int C = c->hidden_size;
    m->be->rmsnorm_forward(g->ln, g->rstd, g->x + (size_t)first * C, MP(m, m->lnf), rows, C,
                           c->rms_norm_eps);
    rlc_linear_out o = {logits, model_wmat(m, m->lm_head), c->vocab_size};
    m->be->linear(g->ln, rows, C, &o, 1, 1.0f, 0, m->lin_scratch);
}

typedef struct step_ctx {
    rlc_generator *g;
    int n_act;
} step_ctx;

/* One decode step's forward, the tokens in g->tok to the logits of its
 * rows: the work of one team (backend.h). */
static void decode_step(void *vctx) {
    const step_ctx *sc = vctx;
    rlc_generator *g = sc->g;
    rlc_model *m = g->m;
    m->be->embedding_forward(g->x, g->tok, model_wmat(m, m->wte), sc->n_act, m->cfg.hidden_size);
    for (int l = 0; l < m->cfg.num_layers; l++)
        block(g, l, sc->n_act, NULL);
    head(g, 0, sc->n_act, g->logits);
}

static int is_stop(const rlc_gen_params *p, const rlc_model_config *c, int tok,
                   rlc_finish_reason *why) {
    if (p->use_eos)
        for (int i = 0; i < c->num_eos; i++)
            if (tok == c->eos_token_ids[i]) return *why = RLC_FINISH_EOS, 1;
    for (int i = 0; i < p->num_stop_ids; i++)
        if (tok == p->stop_ids[i]) return *why = RLC_FINISH_STOP, 1;
    return 0;
}

rlc_status rlc_generator_run(rlc_generator *g, const int *const *prompts, const int *prompt_lens,
                             int n_prompts, const rlc_gen_params *p, rlc_gen_out *out) {
    rlc_model *m = g->m;
    const rlc_model_config *c = &m->cfg;
    int G = p->num_samples, S = n_prompts * G, maxn = p->max_new_tokens, V = c->vocab_size;
    int C = c->hidden_size;
    memset(out, 0, sizeof *out);
    if (G <= 0 || n_prompts <= 0 || maxn <= 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "generate: need prompts, samples and max_new_tokens > 0");
    if (S > g->max_seqs)
        return rlc_errorf(RLC_ERR_INVALID, "generate: %d sequences exceed the generator's %d", S,
                          g->max_seqs);
    for (int i = 0; i < n_prompts; i++) {
        if (prompt_lens[i] <= 0)
            return rlc_errorf(RLC_ERR_INVALID, "generate: prompt %d is empty", i);
        if (prompt_lens[i] + maxn > g->max_len)
            return rlc_errorf(RLC_ERR_INVALID,
                              "generate: prompt %d (%d tokens) + %d new tokens exceeds %d", i,
                              prompt_lens[i], maxn, g->max_len);
        for (int t = 0; t < prompt_lens[i]; t++)
            if (prompts[i][t] < 0 || prompts[i][t] >= V)
                return rlc_errorf(RLC_ERR_INVALID,
                                  "generate: prompt %d token %d (%d) outside vocab %d", i, t,
                                  prompts[i][t], V);
    }
    out->num_seqs = S;
    out->max_new = maxn;
    out->ids = rlc_calloc((size_t)S * maxn, sizeof(int));
    out->logprobs = rlc_calloc((size_t)S * maxn, sizeof(float));
    out->len = rlc_calloc((size_t)S, sizeof(int));
    out->finish = rlc_calloc((size_t)S, sizeof(rlc_finish_reason));
    out->entropy = p->want_entropy ? rlc_calloc((size_t)S * maxn, sizeof(float)) : NULL;
    if (!out->ids || !out->logprobs || !out->len || !out->finish ||
        (p->want_entropy && !out->entropy)) {
        rlc_gen_out_free(out);
        return RLC_ERR_NOMEM;
    }

    /* prefill each prompt into the first slot of its group, copy to the others,
     * and sample the first token of every sample from the last prompt row */
    double t0 = omp_get_wtime();
    for (int i = 0; i < n_prompts; i++) {
        int P = prompt_lens[i], slot0 = i * G;
        m->be->embedding_forward(g->x, prompts[i], model_wmat(m, m->wte), P, C);
        for (int t = 0; t < P; t++)
            g->pos[t] = t;
        for (int l = 0; l < c->num_layers; l++) {
            rlc_cores_adapt();
            block(g, l, P, &slot0);
            size_t KD = (size_t)c->num_kv_heads * c->head_dim;
            for (int j = 1; j < G; j++)
                kv_copy(g, kv_off(g, l, slot0 + j, 0), kv_off(g, l, slot0, 0), P * KD);
        }
        head(g, P - 1, 1, g->logits + (size_t)slot0 * V);
        for (int j = 1; j < G; j++)
            memcpy(g->logits + (size_t)(slot0 + j) * V, g->logits + (size_t)slot0 * V,
                   V * sizeof(float));
    }

    /* Row r of a decode step is sequence act[r]; only unfinished sequences are
     * run, so a batch whose samples stop early gets cheaper as it goes.
     * lens[s]: tokens in slot s's cache; rowlen[r]: the same after this step's
     * token is written; logits row r belongs to act[r]. */
    double t1 = omp_get_wtime();
    out->prefill_s = t1 - t0;
    int n_act = S;
    for (int s = 0; s < S; s++)
        g->act[s] = s, g->lens[s] = prompt_lens[s / G];
    for (int step = 0; step < maxn; step++) {
#pragma omp parallel for schedule(static) if (n_act > 1 && V >= 4096)
        for (int r = 0; r < n_act; r++) {
            int s = g->act[r];
            uint64_t key = p->prompt_keys ? p->prompt_keys[s / G] : (uint64_t)(s / G);
            float u = rlc_rng_uniform(p->seed, rlc_rng_stream(key, (uint64_t)(s % G), 0x5a3),
                                      (uint64_t)step);
            float lp;
            float *ent = out->entropy ? out->entropy + (size_t)s * maxn + step : NULL;
            int tok = rlc_sample_ex(g->logits + (size_t)r * V, V, &p->sampler, u,
                                    g->sample_work + (size_t)r * 2 * V, &lp, ent);
            out->ids[(size_t)s * maxn + step] = tok;
            out->logprobs[(size_t)s * maxn + step] = lp;
        }
        int kept = 0;
        for (int r = 0; r < n_act; r++) {
            int s = g->act[r], tok = out->ids[(size_t)s * maxn + step];
            out->len[s] = step + 1;
            if (p->token_fn) p->token_fn(p->token_ud, s, tok);
            rlc_finish_reason why;
            int stop = is_stop(p, c, tok, &why);
            if (!stop && p->stop_fn &&
                p->stop_fn(p->stop_ud, s, out->ids + (size_t)s * maxn, step + 1))
                stop = 1, why = RLC_FINISH_STOP;
            if (stop) {
                out->finish[s] = why;
                continue;
            }
            g->act[kept] = s;
            g->tok[kept++] = tok;
        }
        n_act = kept;
        if (n_act == 0 || step + 1 == maxn) break;
        for (int r = 0; r < n_act; r++) {
            int s = g->act[r];
            g->pos[r] = g->lens[s]++;
            g->rowlen[r] = g->lens[s];
        }
        rlc_cores_adapt();
        step_ctx sc = {g, n_act};
        m->be->team_run(decode_step, &sc, n_act, (size_t)n_act * g->step_work);
    }
    out->decode_s = omp_get_wtime() - t1;
    return RLC_OK; /* finish[] starts as RLC_FINISH_LENGTH */
}

/* The KV cache is written a row at a time as decoding goes, so each of its
 * 4 KiB pages costs a page fault inside a step: ~180 a decode step for 16
 * sequences of a 135M model (F32), and the copies of a prompt's rows to the
 * other samples of its group fault on every page. In this project's VMs a
 * fault costs tens of microseconds. A generator sized for one run (rlc_generate:
 * every row up to the longest prompt plus max_new_tokens) asks for 2 MiB pages
 * (transparent huge pages, where the system allows them at madvise): a fault
 * per 2 MiB, and no memory beyond the cache it allocated. A generator kept
 * across runs does not: its rows past a run's lengths would be mapped too. */
static void kv_huge_pages(rlc_generator *g) {
#ifdef MADV_HUGEPAGE
    void *kv[2] = {g->kv_bf16 ? (void *)g->kc16 : (void *)g->kc,
                   g->kv_bf16 ? (void *)g->vc16 : (void *)g->vc};
    uintptr_t huge = (uintptr_t)2 << 20;
    for (int i = 0; i < 2; i++) {
        uintptr_t a = ((uintptr_t)kv[i] + huge - 1) & ~(huge - 1);
        uintptr_t e = ((uintptr_t)kv[i] + g->kv_bytes) & ~(huge - 1);
        if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE); /* a hint: errors ignored */
    }
#else
    (void)g;
#endif
}

rlc_status rlc_generate(rlc_model *m, const int *const *prompts, const int *prompt_lens,
                        int n_prompts, const rlc_gen_params *p, rlc_gen_out *out) {
    int max_p = 0;
    for (int i = 0; i < n_prompts; i++)
        if (prompt_lens[i] > max_p) max_p = prompt_lens[i];
    rlc_generator *g;
    RLC_TRY(rlc_generator_new(m, n_prompts * (p->num_samples > 0 ? p->num_samples : 1),
                              max_p + p->max_new_tokens, &g));
    kv_huge_pages(g);
    rlc_status st = rlc_generator_run(g, prompts, prompt_lens, n_prompts, p, out);
    rlc_generator_free(g);
    return st;
}
