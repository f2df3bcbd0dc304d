/* AdamW state, global gradient-norm clipping and learning-rate schedules. The
 * arithmetic runs through the backend's adamw/sumsq/scale kernels. */
#include "train/optim.h"

#include <math.h>
#include <string.h>

rlc_adamw_params rlc_adamw_default_params(void) {
    return (rlc_adamw_params){.lr = 1e-4f,
                              .beta1 = 0.9f,
                              .beta2 = 0.999f,
                              .eps = 1e-8f,
                              .weight_decay = 0.0f,
                              .max_grad_norm = 1.0f};
}

/* Hugging Face's schedule lambdas (transformers.optimization) after warmup:
 * linear decays (total - step) / (total - warmup) to 0, cosine follows
 * 0.5 (1 + cos(pi progress)); both are then lifted to end at min_lr_ratio as in
 * get_cosine_with_min_lr_schedule_with_warmup. Warmup follows this header's
 * contract, (step+1)/warmup, which is HF's lambda one step later, so the first
 * step does not run at lr 0. Past total_steps the rate stays at the floor
 * (HF's cosine would rise again). */
float rlc_schedule_lr(const rlc_schedule *s, float peak, int step) {
    if (step < 0) step = 0;
    if (s->warmup_steps > 0 && step < s->warmup_steps)
        return (float)((double)peak * (step + 1) / s->warmup_steps);
    if (s->kind == RLC_SCHED_CONSTANT) return peak;
    int warm = s->warmup_steps > 0 ? s->warmup_steps : 0;
    int span = s->total_steps - warm > 1 ? s->total_steps - warm : 1;
    double progress = (double)(step - warm) / span;
    if (progress > 1) progress = 1;
    double factor =
        s->kind == RLC_SCHED_LINEAR ? 1.0 - progress : 0.5 * (1.0 + cos(M_PI * progress));
    double floor = s->min_lr_ratio;
    return (float)((double)peak * (factor * (1.0 - floor) + floor));
}

rlc_status rlc_adamw_init(rlc_adamw *opt, size_t n, rlc_adamw_params p) {
    memset(opt, 0, sizeof *opt);
    opt->p = p;
    opt->n = n;
    if (n == 0) return RLC_OK;
    opt->m = rlc_aligned_alloc(2 * n * sizeof(float));
    if (!opt->m) return RLC_ERR_NOMEM;
    memset(opt->m, 0, 2 * n * sizeof(float));
    opt->v = opt->m + n;
    return RLC_OK;
}

void rlc_adamw_free(rlc_adamw *opt) {
    if (!opt) return;
    free(opt->m);
    memset(opt, 0, sizeof *opt);
}

rlc_adamw_grad_hook_fn rlc_adamw_grad_hook;

/* torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), applied
 * only when it shrinks. The norm is always measured: a NaN or Inf anywhere in
 * the gradient makes it non-finite, and then nothing is written (torch would
 * multiply by NaN and AdamW would carry the NaN into the weights and both
 * moments for good). */
int rlc_adamw_step(rlc_adamw *opt, const rlc_backend *be, float *param, float *grad, float lr,
                   float *grad_norm) {
    const rlc_adamw_params *p = &opt->p;
    if (rlc_adamw_grad_hook) rlc_adamw_grad_hook(param, grad, opt->n);
    double norm = sqrt(be->sumsq(grad, opt->n));
    if (grad_norm) *grad_norm = (float)norm;
    if (!isfinite(norm)) return 0;
    if (p->max_grad_norm > 0) {
        double coef = p->max_grad_norm / (norm + 1e-6);
        if (coef < 1.0) be->scale(grad, (float)coef, opt->n);
    }
    opt->t++;
    be->adamw(param, grad, opt->m, opt->v, opt->n, lr, p->beta1, p->beta2, p->eps, p->weight_decay,
              opt->t);
    return 1;
}

double rlc_adamw_grad_norm(const rlc_adamw *opt, const rlc_backend *be, const float *grad) {
    return sqrt(be->sumsq(grad, opt->n));
}

rlc_status rlc_check_finite(const rlc_backend *be, const float *x, size_t n, const char *what) {
    /* a sum of squares of finite floats fits a double, so it is finite
     * exactly when every element is */
    if (n == 0 || isfinite(be->sumsq(x, n))) return RLC_OK;
    size_t i = 0;
    while (i < n && isfinite(x[i]))
        i++;
    return rlc_errorf(RLC_ERR_INVALID,
                      "%s: element %zu of %zu is %g (not finite); refusing to write it", what, i, n,
                      i < n ? (double)x[i] : 0.0);
}
