/* Forward and hand-written backward of the model over a batch of B right-padded
 * sequences of T tokens (N = B*T rows). Every activation the backward needs is
 * kept in one rlc_acts allocation sized up front.
 *
 * The LM head never holds the [N, V] logits: only rows with a target get
 * logits, `chunk` rows at a time. The forward keeps logsumexp per row; the
 * backward walks the chunks last to first, recomputes each chunk's logits
 * (same rows, same product, so the same numbers) except the last one's, which
 * are still in the buffer, turns them into dlogits and folds them into dh and
 * dW before the next chunk. With one chunk nothing is recomputed.
 *
 * Attention keeps only each row's logsumexp (its backward rebuilds the
 * probabilities block by block). With activation checkpointing only the
 * residual entering each layer is kept: the per-layer buffers exist once, and
 * the backward runs each layer's forward again (same kernels on the same
 * inputs, so the same numbers) just before that layer's backward. */
#include "model/model_internal.h"

#include "base/checked.h"
#include "base/cores.h"

#include <math.h>
#include <omp.h>
#include <string.h>

struct rlc_acts {
    int B, T; /* capacity */
    int V;
    int curB, curT;
    int chunk;           /* rows of logits computed at once */
    int checkpoint;      /* per-layer buffers hold one layer, recomputed in backward */
    int nrows;           /* rows with a target in the last forward */
    int hlog_k0;         /* hlog/hx still hold the forward's chunk starting there; -1: none */
    const rlc_model *fm; /* model of the last forward (for rlc_acts_logits/entropy) */
    float *full;         /* [N,V] rlc_acts_logits' buffer, allocated on its first call */
    float inv_temp;      /* logits are scaled by this before the log-softmax */
    size_t bytes;
    float *mem;
    int *imem;
    /* saved by forward; [L] means one slice per layer ([1] when checkpointing) */
    float *res;               /* [L+1][N,C] residual stream entering each layer (res[L] = last) */
    float *mid;               /* [L][N,C] residual after attention */
    float *ln1, *ln2;         /* [L][N,C] */
    float *rstd1, *rstd2;     /* [L][N] */
    float *q, *k, *v;         /* [L][N,QD], [L][N,KD] after bias, q/k norm and rope */
    float *qpre, *kpre;       /* [L][N,QD], [L][N,KD] before q/k norm (Qwen3 only) */
    float *rstdq, *rstdk;     /* [L][N*Hq], [L][N*Hkv] */
    float *lse_att;           /* [L][B,Hq,T] attention logsumexp per row */
    float *atty;              /* [L][N,QD] */
    float *g, *u, *h;         /* [L][N,F] */
    float *ax;                /* [L][NMOD][N,r] LoRA x A^T */
    float *lnf, *rstdf;       /* [N,C], [N] */
    float *hlog;              /* [chunk,V] one chunk's logits (backward: dlogits) */
    float *hx, *hdx;          /* [chunk,C] the chunk's lnf rows and their gradient */
    float *hg;                /* [chunk] the chunk's logp (forward) or dlogp (backward) */
    float *lse;               /* [N] logsumexp of the k-th row with a target */
    int *ids, *targets, *pos; /* [N] */
    int *hrows, *htg;         /* [N] the rows with a target, in order, and their targets */
    /* backward scratch */
    float *d_res, *d_tmp, *d_atty, *d_q, *d_k, *d_v, *d_g, *d_u, *d_h, *d_ax;
    float *attn_ws; /* attention scratch, attn_ws_n floats (forward and backward) */
    size_t attn_ws_n;
};

/* Reserves a slice of f0*f1*f2*f3 floats (16-float aligned) at *off; the
 * product and the running total are checked (B, T and the model's sizes come
 * from configs and files). */
static rlc_status take(size_t *off, size_t *start, const char *what, size_t f0, size_t f1,
                       size_t f2, size_t f3) {
    size_t n = 0;
    RLC_TRY(rlc_mul3_size(what, f0, f1, f2, &n));
    RLC_TRY(rlc_mul_size_what(what, n, f3, &n));
    RLC_TRY(rlc_align_size(what, n, 16, &n));
    *start = *off;
    return rlc_add_size_what("activations: total", *off, n, off);
}

/* Workers the attention scratch is sized for: the OpenMP threads at the time
 * the workspace is planned (fewer may run later; never a different result). */
static size_t acts_attn_ws(int T) {
    return rlc_attention_scratch_floats(T, omp_get_max_threads());
}

static rlc_status acts_layout(const rlc_model_config *c, int lora_rank, int B, int T, int chunk,
                              int checkpoint, rlc_acts *a, float *base, size_t *total) {
    size_t N = (size_t)B * T, C = c->hidden_size, F = c->intermediate_size;
    size_t L = checkpoint ? 1 : (size_t)c->num_layers, L1 = (size_t)c->num_layers + 1;
    size_t QD = (size_t)c->num_heads * c->head_dim, KD = (size_t)c->num_kv_heads * c->head_dim;
    size_t V = c->vocab_size, Hq = c->num_heads, Hkv = c->num_kv_heads;
    size_t r = lora_rank > 0 ? (size_t)lora_rank : 0, K = (size_t)chunk;
    size_t off = 0, at;
#define TAKE(field, f0, f1, f2, f3)                                                                \
    do {                                                                                           \
        RLC_TRY(take(&off, &at, "activations: " #field, f0, f1, f2, f3));                          \
        if (base) a->field = base + at;                                                            \
    } while (0)
    TAKE(res, L1, N, C, 1);
    TAKE(mid, L, N, C, 1);
    TAKE(ln1, L, N, C, 1);
    TAKE(ln2, L, N, C, 1);
    TAKE(rstd1, L, N, 1, 1);
    TAKE(rstd2, L, N, 1, 1);
    TAKE(q, L, N, QD, 1);
    TAKE(k, L, N, KD, 1);
    TAKE(v, L, N, KD, 1);
    if (c->qk_norm) {
        TAKE(qpre, L, N, QD, 1);
        TAKE(kpre, L, N, KD, 1);
        TAKE(rstdq, L, N, Hq, 1);
        TAKE(rstdk, L, N, Hkv, 1);
    }
    TAKE(lse_att, L, (size_t)B * Hq, T, 1);
    TAKE(atty, L, N, QD, 1);
    TAKE(g, L, N, F, 1);
    TAKE(u, L, N, F, 1);
    TAKE(h, L, N, F, 1);
    if (r) TAKE(ax, L, NMOD, N, r);
    TAKE(lnf, N, C, 1, 1);
    TAKE(rstdf, N, 1, 1, 1);
    TAKE(hlog, K, V, 1, 1);
    TAKE(hx, K, C, 1, 1);
    TAKE(hdx, K, C, 1, 1);
    TAKE(hg, K, 1, 1, 1);
    TAKE(lse, N, 1, 1, 1);
    size_t wide = QD > C ? QD : C;
    TAKE(d_res, N, C, 1, 1);
    TAKE(d_tmp, N, wide, 1, 1);
    TAKE(d_atty, N, QD, 1, 1);
    TAKE(d_q, N, QD, 1, 1);
    TAKE(d_k, N, KD, 1, 1);
    TAKE(d_v, N, KD, 1, 1);
    TAKE(d_g, N, F, 1, 1);
    TAKE(d_u, N, F, 1, 1);
    TAKE(d_h, N, F, 1, 1);
    if (r) TAKE(d_ax, N, r, 1, 1);
    TAKE(attn_ws, acts_attn_ws(T), 1, 1, 1);
    if (base) a->attn_ws_n = acts_attn_ws(T);
#undef TAKE
    *total = off;
    return RLC_OK;
}

/* ids, targets, pos, hrows, htg: [N] ints each */
#define ACTS_INT_ARRAYS 5

static int acts_chunk(int B, int T, int chunk) {
    long long N = (long long)B * T;
    if (chunk <= 0) chunk = RLC_LOGIT_CHUNK_DEFAULT;
    return N < chunk ? (int)N : chunk;
}

rlc_status rlc_acts_plan_bytes(const rlc_model_config *c, int lora_rank, int B, int T, int chunk,
                               size_t *bytes) {
    rlc_acts_opts o = {.chunk = chunk};
    return rlc_acts_plan_opts(c, lora_rank, B, T, &o, bytes);
}

rlc_status rlc_acts_plan_opts(const rlc_model_config *c, int lora_rank, int B, int T,
                              const rlc_acts_opts *o, size_t *bytes) {
    if (B <= 0 || T <= 0) return rlc_errorf(RLC_ERR_INVALID, "activations: bad batch %dx%d", B, T);
    rlc_acts tmp;
    size_t n = 0, fbytes = 0, ibytes = 0;
    RLC_TRY(
        acts_layout(c, lora_rank, B, T, acts_chunk(B, T, o->chunk), o->checkpoint, &tmp, NULL, &n));
    RLC_TRY(rlc_mul_size_what("activations", n, sizeof(float), &fbytes));
    RLC_TRY(rlc_mul3_size("activations: ids", ACTS_INT_ARRAYS * (size_t)B, (size_t)T, sizeof(int),
                          &ibytes));
    return rlc_add_size_what("activations: total", fbytes, ibytes, bytes);
}

rlc_status rlc_acts_new_chunk(const rlc_model *m, int B, int T, int chunk, rlc_acts **out) {
    rlc_acts_opts o = {.chunk = chunk};
    return rlc_acts_new_opts(m, B, T, &o, out);
}

rlc_status rlc_acts_new_opts(const rlc_model *m, int B, int T, const rlc_acts_opts *o,
                             rlc_acts **out) {
    int chunk = o->chunk, ckpt = o->checkpoint != 0;
    if (B <= 0 || T <= 0) return rlc_errorf(RLC_ERR_INVALID, "activations: bad batch %dx%d", B, T);
    if (chunk < 0)
        return rlc_errorf(RLC_ERR_INVALID, "activations: logit chunk %d (expected >= 0)", chunk);
    rlc_acts *a = rlc_calloc(1, sizeof *a);
    if (!a) return RLC_ERR_NOMEM;
    int r = m->has_lora ? m->lc.rank : 0, K = acts_chunk(B, T, chunk);
    size_t n = 0, bytes = 0, ibytes = 0, N = (size_t)B * T;
    rlc_status st = acts_layout(&m->cfg, r, B, T, K, ckpt, a, NULL, &n);
    if (!st) st = rlc_mul_size_what("activations", n, sizeof(float), &bytes);
    if (!st)
        st = rlc_mul3_size("activations: ids", ACTS_INT_ARRAYS * (size_t)B, (size_t)T, sizeof(int),
                           &ibytes);
    if (st) {
        rlc_acts_free(a);
        return st;
    }
    a->mem = rlc_aligned_alloc(bytes);
    a->imem = rlc_malloc(ibytes);
    if (!a->mem || !a->imem) {
        rlc_acts_free(a);
        return RLC_ERR_NOMEM;
    }
    acts_layout(&m->cfg, r, B, T, K, ckpt, a, a->mem, &n);
    a->checkpoint = ckpt;
    a->ids = a->imem;
    a->targets = a->imem + N;
    a->pos = a->imem + 2 * N;
    a->hrows = a->imem + 3 * N;
    a->htg = a->imem + 4 * N;
    a->B = B, a->T = T;
    a->chunk = K;
    a->hlog_k0 = -1;
    a->inv_temp = 1.0f;
    a->V = m->cfg.vocab_size;
    a->bytes = bytes + ibytes;
    RLC_TRY(model_ensure_rope((rlc_model *)m, T));
    *out = a;
    return RLC_OK;
}

rlc_status rlc_acts_new(const rlc_model *m, int B, int T, rlc_acts **out) {
    return rlc_acts_new_chunk(m, B, T, 0, out);
}

void rlc_acts_free(rlc_acts *a) {
    if (!a) return;
    free(a->full);
    free(a->mem);
    free(a->imem);
    free(a);
}

size_t rlc_acts_bytes(const rlc_acts *a) {
    return a->bytes;
}

int rlc_acts_logit_chunk(const rlc_acts *a) {
    return a->chunk;
}

int rlc_acts_checkpointing(const rlc_acts *a) {
    return a->checkpoint;
}

/* hlog[n,V] = inv_temp * lnf[rows] W^T for n <= chunk contiguous rows starting
 * at row r0 of the last forward (rows NULL), or for rows[0..n) (gathered into hx). */
static void head_logits(const rlc_model *m, rlc_acts *a, const int *rows, int r0, int n) {
    int C = m->cfg.hidden_size, V = a->V;
    const float *x = a->lnf + (size_t)r0 * C;
    if (rows) {
        for (int j = 0; j < n; j++)
            memcpy(a->hx + (size_t)j * C, a->lnf + (size_t)rows[j] * C, sizeof(float) * C);
        x = a->hx;
    }
    rlc_linear_out o = {a->hlog, model_wmat(m, m->lm_head), V};
    m->be->linear(x, n, C, &o, 1, a->inv_temp, 0, m->lin_scratch);
}

const float *rlc_acts_logits(rlc_acts *a) {
    if (!a->fm) return NULL;
    size_t N = (size_t)a->B * a->T, C = a->fm->cfg.hidden_size, n = 0;
    if (!a->full) {
        if (rlc_mul3_size("logits", N, (size_t)a->V, sizeof(float), &n)) return NULL;
        a->full = rlc_aligned_alloc(n);
        if (!a->full) return NULL;
    }
    int rows = a->curB * a->curT;
    rlc_linear_out o = {a->full, model_wmat(a->fm, a->fm->lm_head), a->V};
    a->fm->be->linear(a->lnf, rows, (int)C, &o, 1, a->inv_temp, 0, a->fm->lin_scratch);
    return a->full;
}

rlc_status rlc_acts_set_temperature(rlc_acts *a, float T) {
    if (!(T > 0)) return rlc_errorf(RLC_ERR_INVALID, "temperature must be > 0, got %g", T);
    a->inv_temp = 1.0f / T;
    return RLC_OK;
}

void rlc_acts_entropy(rlc_acts *a, float *entropy) {
    int N = a->curB * a->curT, V = a->V;
    if (!a->fm) return;
    a->hlog_k0 = -1;
    for (int r0 = 0; r0 < N; r0 += a->chunk) {
        int n = N - r0 < a->chunk ? N - r0 : a->chunk;
        head_logits(a->fm, a, NULL, r0, n);
        const float *lg = a->hlog;
#pragma omp parallel for schedule(static) if ((size_t)n * V >= 65536)
        for (int i = 0; i < n; i++) {
            const float *row = lg + (size_t)i * V;
            float mx = row[0];
            for (int v = 1; v < V; v++)
                mx = row[v] > mx ? row[v] : mx;
            double z = 0, zx = 0;
            for (int v = 0; v < V; v++) {
                double e = exp((double)row[v] - mx);
                z += e;
                zx += e * ((double)row[v] - mx);
            }
            entropy[r0 + i] = (float)(log(z) - zx / z);
        }
    }
}

/* Layer l's slices of the saved activations, for the batch of the last forward. */
typedef struct layer_view {
    float *x, *mid, *xo, *ln1, *ln2, *rstd1, *rstd2, *q, *k, *v, *qpre, *kpre, *rstdq, *rstdk;
    float *lse, *atty, *g, *u, *h, *ax;
} layer_view;

static layer_view layer_slices(const rlc_model *m, const rlc_acts *a, int l) {
    const rlc_model_config *c = &m->cfg;
    /* checkpointing: the residuals are per layer, everything else is layer 0's slice */
    size_t N = (size_t)a->curB * a->curT, T = (size_t)a->curT, R = (size_t)l;
    size_t L = a->checkpoint ? 0 : R;
    size_t C = c->hidden_size, F = c->intermediate_size, Hq = c->num_heads;
    size_t Hkv = c->num_kv_heads, QD = Hq * c->head_dim, KD = Hkv * c->head_dim;
    size_t r = m->has_lora ? (size_t)m->lc.rank : 0;
    layer_view v = {
        .x = a->res + R * N * C,
        .mid = a->mid + L * N * C,
        .xo = a->res + (R + 1) * N * C,
        .ln1 = a->ln1 + L * N * C,
        .ln2 = a->ln2 + L * N * C,
        .rstd1 = a->rstd1 + L * N,
        .rstd2 = a->rstd2 + L * N,
        .q = a->q + L * N * QD,
        .k = a->k + L * N * KD,
        .v = a->v + L * N * KD,
        .qpre = c->qk_norm ? a->qpre + L * N * QD : NULL,
        .kpre = c->qk_norm ? a->kpre + L * N * KD : NULL,
        .rstdq = c->qk_norm ? a->rstdq + L * N * Hq : NULL,
        .rstdk = c->qk_norm ? a->rstdk + L * N * Hkv : NULL,
        .lse = a->lse_att + L * (size_t)a->curB * Hq * T,
        .atty = a->atty + L * N * QD,
        .g = a->g + L * N * F,
        .u = a->u + L * N * F,
        .h = a->h + L * N * F,
        .ax = r ? a->ax + L * NMOD * N * r : NULL,
    };
    return v;
}

void model_linears_forward(const rlc_model *m, int layer, int n, const int *mods, float *const *ys,
                           const float *x, int N, int accumulate, float *const *axs) {
    const rlc_backend *be = m->be;
    const layer_off *lo = &m->layers[layer];
    rlc_linear_out o[NMOD];
    memset(o, 0, sizeof o);
    int in = 0;
    for (int j = 0; j < n; j++) {
        int out;
        model_mod_dims(&m->cfg, mods[j], &in, &out);
        o[j] = (rlc_linear_out){ys[j], model_wmat(m, lo->w[mods[j]]), out};
    }
    be->linear(x, N, in, o, n, 1.0f, accumulate, m->lin_scratch);
    for (int j = 0; j < n; j++) {
        int mod = mods[j], out = o[j].out;
        if (lo->b[mod] >= 0) be->add_bias(ys[j], MP(m, lo->b[mod]), N, out);
        if (model_lora_active(m, layer, mod)) {
            int r = m->lc.rank;
            be->matmul(0, 1, N, r, in, 1.0f, x, in, LP(m, lo->la[mod]), in, 0.0f, axs[j], r);
            be->matmul(0, 1, N, out, r, m->lora_scale, axs[j], r, LP(m, lo->lb[mod]), r, 1.0f,
                       ys[j], out);
        }
    }
}

void model_linear_forward(const rlc_model *m, int layer, int mod, float *y, const float *x, int N,
                          int accumulate, float *ax) {
    model_linears_forward(m, layer, 1, &mod, &y, x, N, accumulate, &ax);
}

/* Backward of model_linear_forward: dx (= or += when accumulate) dy W (+ LoRA
 * path); dW, db, dA, dB += when their gradients exist. */
static void linear_backward(rlc_model *m, int layer, int mod, float *dx, int accumulate,
                            const float *dy, const float *x, const float *ax, float *dax, int N) {
    const rlc_backend *be = m->be;
    const layer_off *lo = &m->layers[layer];
    int in, out;
    model_mod_dims(&m->cfg, mod, &in, &out);
    float *dW = MG(m, lo->w[mod]);
    if (dW) be->matmul(1, 0, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
    float *db = MG(m, lo->b[mod]);
    if (db) be->bias_backward(db, dy, N, out);
    if (dx)
        be->linear_dx(dx, dy, model_wmat(m, lo->w[mod]), N, in, out, 1.0f, accumulate,
                      m->lin_scratch);
    if (model_lora_active(m, layer, mod)) {
        int r = m->lc.rank;
        float s = m->lora_scale;
        float *dA = LG(m, lo->la[mod]), *dB = LG(m, lo->lb[mod]);
        if (dB) be->matmul(1, 0, out, r, N, s, dy, out, ax, r, 1.0f, dB, r);
        be->matmul(0, 0, N, r, out, s, dy, out, LP(m, lo->lb[mod]), r, 0.0f, dax, r);
        if (dA) be->matmul(1, 0, r, in, N, 1.0f, dax, r, x, in, 1.0f, dA, in);
        if (dx) be->matmul(0, 0, N, in, r, 1.0f, dax, r, LP(m, lo->la[mod]), in, 1.0f, dx, in);
    }
}

/* logp[N] (may be NULL) and the per-row logsumexp, chunk by chunk over the
 * rows that have a target; rows without one get logp 0 and no logits. */
static void head_forward(const rlc_model *m, rlc_acts *a, float *logp) {
    int N = a->curB * a->curT, V = a->V, K = a->chunk;
    int nr = 0;
    for (int i = 0; i < N; i++)
        if (a->targets[i] >= 0) a->hrows[nr] = i, a->htg[nr] = a->targets[i], nr++;
    a->nrows = nr;
    if (logp) memset(logp, 0, sizeof(float) * (size_t)N);
    a->hlog_k0 = -1;
    for (int k0 = 0; k0 < nr; k0 += K) {
        int n = nr - k0 < K ? nr - k0 : K;
        head_logits(m, a, a->hrows + k0, 0, n);
        m->be->logprob_forward(a->hg, a->lse + k0, a->hlog, a->htg + k0, n, V);
        if (logp)
            for (int j = 0; j < n; j++)
                logp[a->hrows[k0 + j]] = a->hg[j];
        a->hlog_k0 = k0;
    }
}

/* d_tmp[N,C] = dL/d lnf for L = sum_i dlogp[i] logp[i]; dW(lm_head) += when
 * trained. Each chunk's logits are recomputed exactly as in the forward (same
 * rows, same product) and turned into dlogits in place. */
static void head_backward(rlc_model *m, rlc_acts *a, const float *dlogp) {
    const rlc_backend *be = m->be;
    int N = a->curB * a->curT, V = a->V, K = a->chunk, C = m->cfg.hidden_size;
    float *dlm = MG(m, m->lm_head);
    memset(a->d_tmp, 0, sizeof(float) * (size_t)N * C);
    for (int k0 = a->nrows > 0 ? (a->nrows - 1) / K * K : -1; k0 >= 0; k0 -= K) {
        int n = a->nrows - k0 < K ? a->nrows - k0 : K;
        const int *rows = a->hrows + k0;
        if (k0 != a->hlog_k0) head_logits(m, a, rows, 0, n);
        for (int j = 0; j < n; j++)
            a->hg[j] = dlogp[rows[j]];
        be->logprob_backward(a->hlog, a->hg, a->hlog, a->lse + k0, a->htg + k0, n, V);
        be->linear_dx(a->hdx, a->hlog, model_wmat(m, m->lm_head), n, C, V, a->inv_temp, 0,
                      m->lin_scratch);
        for (int j = 0; j < n; j++)
            memcpy(a->d_tmp + (size_t)rows[j] * C, a->hdx + (size_t)j * C, sizeof(float) * C);
        if (dlm) be->matmul(1, 0, V, C, n, a->inv_temp, a->hlog, V, a->hx, C, 1.0f, dlm, C);
    }
    a->hlog_k0 = -1; /* hlog holds dlogits now */
}

/* Layer l's forward over the batch of the last forward: res[l] -> res[l+1],
 * keeping what its backward needs in the layer's slices. */
static void layer_forward(rlc_model *m, rlc_acts *a, int l) {
    const rlc_model_config *c = &m->cfg;
    const rlc_backend *be = m->be;
    int B = a->curB, T = a->curT;
    int N = B * T, C = c->hidden_size, F = c->intermediate_size;
    int Hq = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim;
    int r = m->has_lora ? m->lc.rank : 0;
    size_t NC = (size_t)N * C;
    const layer_off *lo = &m->layers[l];
    const layer_view lv = layer_slices(m, a, l);
    float *x = lv.x, *mid = lv.mid, *ln1 = lv.ln1, *ln2 = lv.ln2, *q = lv.q, *k = lv.k;
    float *v = lv.v, *atty = lv.atty, *g = lv.g, *u = lv.u, *h = lv.h;
    float *ax = lv.ax, *xo = lv.xo;
#define AX(mod) (ax ? ax + (size_t)(mod)*N * r : NULL)
    be->rmsnorm_forward(ln1, lv.rstd1, x, MP(m, lo->ln1), N, C, c->rms_norm_eps);
    {
        static const int qkv[3] = {MOD_Q, MOD_K, MOD_V};
        float *ys[3] = {c->qk_norm ? lv.qpre : q, c->qk_norm ? lv.kpre : k, v};
        float *axs[3] = {AX(MOD_Q), AX(MOD_K), AX(MOD_V)};
        model_linears_forward(m, l, 3, qkv, ys, ln1, N, 0, axs);
    }
    if (c->qk_norm) {
        be->rmsnorm_forward(q, lv.rstdq, lv.qpre, MP(m, lo->qn), N * Hq, D, c->rms_norm_eps);
        be->rmsnorm_forward(k, lv.rstdk, lv.kpre, MP(m, lo->kn), N * Hkv, D, c->rms_norm_eps);
    }
    be->rope(q, a->pos, m->rope_cos, m->rope_sin, N, Hq, D, 0);
    be->rope(k, a->pos, m->rope_cos, m->rope_sin, N, Hkv, D, 0);
    be->attention_forward(atty, lv.lse, a->attn_ws, a->attn_ws_n, q, k, v, B, T, Hq, Hkv, D);
    memcpy(mid, x, NC * sizeof(float));
    model_linear_forward(m, l, MOD_O, mid, atty, N, 1, AX(MOD_O));
    be->rmsnorm_forward(ln2, lv.rstd2, mid, MP(m, lo->ln2), N, C, c->rms_norm_eps);
    {
        static const int gu[2] = {MOD_GATE, MOD_UP};
        float *ys[2] = {g, u}, *axs[2] = {AX(MOD_GATE), AX(MOD_UP)};
        model_linears_forward(m, l, 2, gu, ys, ln2, N, 0, axs);
    }
    be->swiglu_forward(h, g, u, N, F);
    memcpy(xo, mid, NC * sizeof(float));
    model_linear_forward(m, l, MOD_DOWN, xo, h, N, 1, AX(MOD_DOWN));
#undef AX
}

rlc_status rlc_model_forward(rlc_model *m, rlc_acts *a, const int *ids, const int *targets, int B,
                             int T, float *logp) {
    const rlc_model_config *c = &m->cfg;
    const rlc_backend *be = m->be;
    if (B > a->B || T > a->T || (size_t)B * T > (size_t)a->B * a->T)
        return rlc_errorf(RLC_ERR_INVALID, "forward: batch %dx%d exceeds workspace %dx%d", B, T,
                          a->B, a->T);
    if (T > a->T) return rlc_errorf(RLC_ERR_INVALID, "forward: T=%d exceeds workspace", T);
    int N = B * T, C = c->hidden_size, L = c->num_layers, V = c->vocab_size;
    for (int i = 0; i < N; i++) {
        if (ids[i] < 0 || ids[i] >= V)
            return rlc_errorf(RLC_ERR_INVALID, "forward: token id %d at %d outside vocab %d",
                              ids[i], i, V);
        if (targets && targets[i] >= V)
            return rlc_errorf(RLC_ERR_INVALID, "forward: target id %d at %d outside vocab %d",
                              targets[i], i, V);
        a->ids[i] = ids[i];
        a->targets[i] = targets ? targets[i] : -1;
        a->pos[i] = i % T;
    }
    a->curB = B, a->curT = T;
    a->fm = m;
    size_t NC = (size_t)N * C;
    be->embedding_forward(a->res, a->ids, model_wmat(m, m->wte), N, C);
    for (int l = 0; l < L; l++) {
        rlc_cores_adapt();
        layer_forward(m, a, l);
    }
    be->rmsnorm_forward(a->lnf, a->rstdf, a->res + L * NC, MP(m, m->lnf), N, C, c->rms_norm_eps);
    head_forward(m, a, logp);
    return RLC_OK;
}

rlc_status rlc_model_backward(rlc_model *m, rlc_acts *a, const float *dlogp) {
    const rlc_model_config *c = &m->cfg;
    const rlc_backend *be = m->be;
    int B = a->curB, T = a->curT;
    int N = B * T, C = c->hidden_size, L = c->num_layers, F = c->intermediate_size;
    int Hq = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim, V = c->vocab_size;
    int r = m->has_lora ? m->lc.rank : 0;
    size_t NC = (size_t)N * C;
    if (!m->grads && !m->lora_grads)
        return rlc_errorf(RLC_ERR_INVALID, "backward: call rlc_model_trainable() first");

    head_backward(m, a, dlogp);
    be->rmsnorm_backward(a->d_res, MG(m, m->lnf), a->d_tmp, a->res + L * NC, MP(m, m->lnf),
                         a->rstdf, N, C);

    for (int l = L - 1; l >= 0; l--) {
        rlc_cores_adapt();
        if (a->checkpoint) layer_forward(m, a, l);
        const layer_off *lo = &m->layers[l];
        const layer_view lv = layer_slices(m, a, l);
        float *x = lv.x, *mid = lv.mid, *ln1 = lv.ln1, *ln2 = lv.ln2, *q = lv.q, *k = lv.k;
        float *v = lv.v, *atty = lv.atty, *g = lv.g, *u = lv.u, *h = lv.h;
        float *ax = lv.ax;
#define AX(mod) (ax ? ax + (size_t)(mod)*N * r : NULL)
        /* MLP: d_res holds dL/d(output of this block) */
        linear_backward(m, l, MOD_DOWN, a->d_h, 0, a->d_res, h, AX(MOD_DOWN), a->d_ax, N);
        be->swiglu_backward(a->d_g, a->d_u, a->d_h, g, u, N, F);
        linear_backward(m, l, MOD_GATE, a->d_tmp, 0, a->d_g, ln2, AX(MOD_GATE), a->d_ax, N);
        linear_backward(m, l, MOD_UP, a->d_tmp, 1, a->d_u, ln2, AX(MOD_UP), a->d_ax, N);
        be->rmsnorm_backward(a->d_tmp, MG(m, lo->ln2), a->d_tmp, mid, MP(m, lo->ln2), lv.rstd2, N,
                             C);
        be->axpy(a->d_res, 1.0f, a->d_tmp, NC);
        /* attention */
        linear_backward(m, l, MOD_O, a->d_atty, 0, a->d_res, atty, AX(MOD_O), a->d_ax, N);
        be->attention_backward(a->d_q, a->d_k, a->d_v, a->attn_ws, a->attn_ws_n, a->d_atty, atty,
                               lv.lse, q, k, v, B, T, Hq, Hkv, D);
        be->rope(a->d_q, a->pos, m->rope_cos, m->rope_sin, N, Hq, D, 1);
        be->rope(a->d_k, a->pos, m->rope_cos, m->rope_sin, N, Hkv, D, 1);
        if (c->qk_norm) {
            be->rmsnorm_backward(a->d_q, MG(m, lo->qn), a->d_q, lv.qpre, MP(m, lo->qn), lv.rstdq,
                                 N * Hq, D);
            be->rmsnorm_backward(a->d_k, MG(m, lo->kn), a->d_k, lv.kpre, MP(m, lo->kn), lv.rstdk,
                                 N * Hkv, D);
        }
        linear_backward(m, l, MOD_Q, a->d_tmp, 0, a->d_q, ln1, AX(MOD_Q), a->d_ax, N);
        linear_backward(m, l, MOD_K, a->d_tmp, 1, a->d_k, ln1, AX(MOD_K), a->d_ax, N);
        linear_backward(m, l, MOD_V, a->d_tmp, 1, a->d_v, ln1, AX(MOD_V), a->d_ax, N);
        be->rmsnorm_backward(a->d_tmp, MG(m, lo->ln1), a->d_tmp, x, MP(m, lo->ln1), lv.rstd1, N, C);
        be->axpy(a->d_res, 1.0f, a->d_tmp, NC);
#undef AX
    }
    float *dwte = MG(m, m->wte);
    if (dwte) be->embedding_backward(dwte, a->d_res, a->ids, N, C, V);
    return RLC_OK;
}

rlc_status rlc_model_ce_step(rlc_model *m, rlc_acts *a, const int *ids, const int *targets, int B,
                             int T, int backward, float *loss) {
    int N = B * T;
    float *logp = rlc_malloc((size_t)N * sizeof(float));
    if (!logp) return RLC_ERR_NOMEM;
    rlc_status st = rlc_model_forward(m, a, ids, targets, B, T, logp);
    int count = 0;
    double sum = 0.0;
    for (int i = 0; i < N; i++)
        if (targets[i] >= 0) count++, sum -= logp[i];
    *loss = count ? (float)(sum / count) : 0.0f;
    if (st == RLC_OK && backward) {
        for (int i = 0; i < N; i++)
            logp[i] = targets[i] >= 0 ? -1.0f / (float)count : 0.0f;
        st = rlc_model_backward(m, a, logp);
    }
    free(logp);
    return st;
}
