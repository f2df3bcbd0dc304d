#include "train/sft.h"

#include "base/checked.h"
#include "base/dist.h"
#include "base/rng.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

struct rlc_sft_trainer {
    rlc_policy *pol;
    const rlc_source *src;
    rlc_sft_params p;
    int mb, T;
    int shards, shard0, n_local; /* shards a step; this rank's first one and how many */
    rlc_dist_sum gsum;           /* the shards' gradients, summed in shard order */
    double *part;                /* [shards, 2] each shard's loss sum and target tokens */
    rlc_acts *acts;
    rlc_adamw opt;
    float *params, *grads;
    size_t n_params;
    int *ids, *tg; /* [mb, T] */
    float *lp, *dlp;
};

void rlc_sft_trainer_free(rlc_sft_trainer *s) {
    if (!s) return;
    rlc_acts_free(s->acts);
    rlc_adamw_free(&s->opt);
    rlc_dist_sum_free(&s->gsum);
    free(s->part);
    free(s->ids), free(s->tg), free(s->lp), free(s->dlp);
    free(s);
}

size_t rlc_sft_trainer_epoch_size(const rlc_sft_trainer *s) {
    return s->src->n_train;
}

const rlc_acts *rlc_sft_trainer_acts(const rlc_sft_trainer *s) {
    return s->acts;
}

rlc_adamw *rlc_sft_trainer_optimizer(rlc_sft_trainer *s) {
    return &s->opt;
}

rlc_status rlc_sft_trainer_new(rlc_policy *pol, const rlc_source *src, const rlc_sft_params *p,
                               rlc_sft_trainer **out) {
    if (src->kind == RLC_SOURCE_QA && src->n_train == 0)
        return rlc_errorf(RLC_ERR_INVALID, "sft: the data set has no training examples");
    if (p->batch <= 0 || p->max_len < 2)
        return rlc_errorf(RLC_ERR_INVALID, "sft: batch must be positive and max_len at least 2");
    rlc_dist_shards sh;
    RLC_TRY(rlc_dist_shards_plan(p->shards, p->batch, &sh));
    rlc_sft_trainer *s = rlc_calloc(1, sizeof *s);
    if (!s) return RLC_ERR_NOMEM;
    s->pol = pol, s->src = src, s->p = *p;
    int shards = sh.shards, per = p->batch / shards; /* examples per shard */
    s->mb = p->micro_batch > 0 && p->micro_batch < per ? p->micro_batch : per;
    s->shards = sh.shards, s->n_local = sh.n_local, s->shard0 = sh.first;
    s->T = p->max_len;
    size_t n = 0;
    rlc_status sz =
        rlc_mul_size_what("sft: micro_batch x max_len", (size_t)s->mb, (size_t)s->T, &n);
    if (sz) {
        rlc_sft_trainer_free(s);
        return sz;
    }
    s->ids = rlc_calloc(n, sizeof(int));
    s->tg = rlc_calloc(n, sizeof(int));
    s->lp = rlc_calloc(n, sizeof(float));
    s->dlp = rlc_calloc(n, sizeof(float));
    rlc_status st = (s->ids && s->tg && s->lp && s->dlp) ? RLC_OK : RLC_ERR_NOMEM;
    rlc_acts_opts ao = {.chunk = p->logit_chunk, .checkpoint = p->checkpoint};
    if (st == RLC_OK) st = rlc_acts_new_opts(pol->m, s->mb, s->T, &ao, &s->acts);
    if (st == RLC_OK) st = rlc_model_trainable(pol->m, &s->params, &s->grads, &s->n_params);
    if (st == RLC_OK) st = rlc_adamw_init(&s->opt, s->n_params, p->opt);
    if (st == RLC_OK && shards > 1) {
        st = rlc_dist_sum_init(&s->gsum, s->n_params, s->n_local);
        s->part = rlc_calloc((size_t)shards * 2, sizeof(double));
        if (st == RLC_OK && !s->part) st = RLC_ERR_NOMEM;
    }
    if (st) {
        rlc_sft_trainer_free(s);
        return st;
    }
    *out = s;
    return RLC_OK;
}

/* Prompt (rendered) and response text of example i (val: the evaluation split). */
static rlc_status example_text(rlc_sft_trainer *s, int val, uint64_t i, char **prompt,
                               char **response) {
    rlc_source_ex ex;
    *prompt = *response = NULL;
    RLC_TRY(rlc_source_get(s->src, val, i, &ex));
    rlc_status st = rlc_policy_render(s->pol, ex.msgs, ex.n_msgs, prompt);
    *response = ex.target, ex.target = NULL;
    rlc_source_ex_free(&ex);
    return st;
}

/* Tokenizes example i into row r: targets only on response tokens (+ EOS).
 * Returns the row's length in *len. */
static rlc_status build_row(rlc_sft_trainer *s, int val, uint64_t i, int r, int *len,
                            int *ntarget) {
    char *prompt, *response;
    RLC_TRY(example_text(s, val, i, &prompt, &response));
    int *pi = NULL, *ri = NULL, np = 0, nr = 0;
    rlc_status st = rlc_policy_prompt_ids(s->pol, prompt, &pi, &np);
    if (st == RLC_OK) st = rlc_tokenizer_encode(s->pol->tok, response, strlen(response), &ri, &nr);
    free(prompt);
    free(response);
    if (st == RLC_OK) {
        int *ids = s->ids + (size_t)r * s->T, *tg = s->tg + (size_t)r * s->T;
        int total = np + nr + (s->pol->eos_id >= 0);
        int L = total < s->T + 1 ? total : s->T + 1; /* tokens kept; L-1 input rows */
        int k = 0;
        for (int t = 0; t < L; t++) {
            int tok = t < np ? pi[t] : (t - np < nr ? ri[t - np] : s->pol->eos_id);
            if (t < L - 1) ids[t] = tok;
            if (t > 0) {
                tg[t - 1] = t >= np ? tok : -1;
                k += t >= np;
            }
        }
        for (int t = L - 1; t < s->T; t++)
            ids[t] = 0, tg[t] = -1;
        *len = L - 1;
        *ntarget = k;
    }
    free(pi);
    free(ri);
    return st;
}

/* Forward (and backward with weight w per token) over examples [first, first+n). */
static rlc_status run_micro(rlc_sft_trainer *s, int val, uint64_t first, int n, double norm,
                            int backward, double *loss_sum, long *tokens) {
    int T = 1;
    for (int r = 0; r < n; r++) {
        int L, k;
        RLC_TRY(build_row(s, val, first + r, r, &L, &k));
        T = L > T ? L : T;
    }
    /* rows were laid out with stride s->T; repack to stride T */
    if (T < s->T)
        for (int r = 1; r < n; r++) {
            memmove(s->ids + (size_t)r * T, s->ids + (size_t)r * s->T, sizeof(int) * T);
            memmove(s->tg + (size_t)r * T, s->tg + (size_t)r * s->T, sizeof(int) * T);
        }
    RLC_TRY(rlc_model_forward(s->pol->m, s->acts, s->ids, s->tg, n, T, s->lp));
    for (int i = 0; i < n * T; i++)
        if (s->tg[i] >= 0) *loss_sum -= s->lp[i], (*tokens)++;
    if (!backward) return RLC_OK;
    for (int i = 0; i < n * T; i++)
        s->dlp[i] = s->tg[i] >= 0 ? (float)(-1.0 / norm) : 0.0f;
    return rlc_model_backward(s->pol->m, s->acts, s->dlp);
}

/* Counts response tokens of examples [first, first+n) (the step's normalizer). */
static rlc_status count_targets(rlc_sft_trainer *s, uint64_t first, int n, long *count) {
    *count = 0;
    for (int r = 0; r < n; r++) {
        int len, k;
        RLC_TRY(build_row(s, 0, first + r, 0, &len, &k));
        *count += k;
    }
    return RLC_OK;
}

rlc_status rlc_sft_trainer_step(rlc_sft_trainer *s, int step, rlc_step_stats *st) {
    double t0 = omp_get_wtime();
    memset(st, 0, sizeof *st);
    st->step = step;
    uint64_t first = (uint64_t)step * s->p.batch;
    /* the normalizer is the whole batch's target count, so shards and
     * micro-batches add up */
    long norm = 0;
    RLC_TRY(count_targets(s, first, s->p.batch, &norm));
    double loss = 0;
    long tokens = 0;
    int per = s->p.batch / s->shards;
    for (int k = s->shard0; k < s->shard0 + s->n_local; k++) {
        double sl = 0, *lsum = s->shards == 1 ? &loss : &sl;
        long sk = 0, *tsum = s->shards == 1 ? &tokens : &sk;
        rlc_model_zero_grad(s->pol->m);
        for (int f = 0; f < per; f += s->mb) {
            int n = per - f < s->mb ? per - f : s->mb;
            RLC_TRY(run_micro(s, 0, first + (uint64_t)k * per + f, n, norm > 0 ? (double)norm : 1.0,
                              1, lsum, tsum));
        }
        if (s->shards > 1) {
            s->part[2 * k] = sl, s->part[2 * k + 1] = (double)sk;
            RLC_TRY(rlc_dist_sum_add(&s->gsum, s->grads));
        }
    }
    if (s->shards > 1) {
        RLC_TRY(rlc_dist_sum_finish(&s->gsum, s->grads));
        RLC_TRY(rlc_dist_allgather(s->part, (size_t)s->n_local * 2 * sizeof *s->part));
        for (int k = 0; k < s->shards; k++)
            loss += s->part[2 * k], tokens += (long)s->part[2 * k + 1];
    }
    float lr = rlc_schedule_lr(&s->p.schedule, s->p.lr, step), gn = 0;
    /* a non-finite loss or gradient never reaches the weights */
    const rlc_backend *be = rlc_model_backend(s->pol->m);
    int applied = isfinite(loss) ? rlc_adamw_step(&s->opt, be, s->params, s->grads, lr, &gn)
                                 : (gn = (float)rlc_adamw_grad_norm(&s->opt, be, s->grads), 0);
    st->skipped_steps = !applied;
    st->loss = tokens ? loss / tokens : 0;
    st->grad_norm = gn;
    st->lr = lr;
    st->num_datums = s->p.batch;
    st->step_time_s = st->train_time_s = omp_get_wtime() - t0;
    st->tokens_per_s = tokens / st->step_time_s;
    st->mean_reward = NAN;
    st->entropy = NAN;
    return RLC_OK;
}

rlc_status rlc_sft_trainer_val_loss(rlc_sft_trainer *s, int n, double *loss) {
    if (s->src->kind == RLC_SOURCE_QA) {
        if (s->src->n_eval == 0)
            return rlc_errorf(RLC_ERR_INVALID, "sft: no evaluation examples (set data.eval_path "
                                               "or data.val_fraction)");
        if (n <= 0 || (size_t)n > s->src->n_eval) n = (int)s->src->n_eval;
    }
    double sum = 0;
    long tokens = 0;
    for (int f = 0; f < n; f += s->mb) {
        int k = n - f < s->mb ? n - f : s->mb;
        RLC_TRY(run_micro(s, 1, (uint64_t)f, k, 1.0, 0, &sum, &tokens));
    }
    *loss = tokens ? sum / tokens : 0;
    return RLC_OK;
}
