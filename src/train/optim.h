/* AdamW, learning-rate schedules and global gradient-norm clipping over the
 * flat parameter / gradient / moment buffers that a model owns. */
#ifndef RLC_TRAIN_OPTIM_H
#define RLC_TRAIN_OPTIM_H

#include "base/status.h"
#include "tensor/backend.h"

#include <stddef.h>

typedef struct rlc_adamw_params {
    float lr;
    float beta1, beta2, eps;
    float weight_decay;
    float max_grad_norm; /* <= 0: no clipping */
} rlc_adamw_params;

rlc_adamw_params rlc_adamw_default_params(void); /* lr 1e-4, 0.9, 0.999, 1e-8, wd 0.0, clip 1.0 */

typedef enum rlc_schedule_kind {
    RLC_SCHED_CONSTANT = 0,
    RLC_SCHED_LINEAR,
    RLC_SCHED_COSINE
} rlc_schedule_kind;

typedef struct rlc_schedule {
    rlc_schedule_kind kind;
    int warmup_steps; /* linear ramp from 0 to peak over these steps */
    int total_steps;  /* linear/cosine decay reaches min_lr_ratio*peak at total_steps */
    float min_lr_ratio;
} rlc_schedule;

/* Learning rate for 0-based optimizer step `step`: warmup gives peak*(step+1)/warmup. */
float rlc_schedule_lr(const rlc_schedule *s, float peak, int step);

typedef struct rlc_adamw {
    rlc_adamw_params p;
    float *m, *v; /* one allocation, 2*n floats */
    size_t n;
    int t; /* steps taken */
} rlc_adamw;

rlc_status rlc_adamw_init(rlc_adamw *opt, size_t n, rlc_adamw_params p);
void rlc_adamw_free(rlc_adamw *opt);
/* Clips grad[n] to p.max_grad_norm (global L2), then one AdamW step at lr.
 * Returns the norm before clipping in *grad_norm (may be NULL). Returns 1 when
 * the update was applied, 0 when it was skipped because the norm is not finite
 * (a NaN or Inf in grad): param, m, v and t are then left as they were. */
int rlc_adamw_step(rlc_adamw *opt, const rlc_backend *be, float *param, float *grad, float lr,
                   float *grad_norm);
/* Global L2 norm of grad[n] (what a step would report), without stepping. */
double rlc_adamw_grad_norm(const rlc_adamw *opt, const rlc_backend *be, const float *grad);

/* Test-only fault injection: when set (only tests set it), called at the start
 * of every rlc_adamw_step with the parameters and gradients it is about to use,
 * so a test can poison either. NULL in every program but the test suite. */
typedef void (*rlc_adamw_grad_hook_fn)(float *param, float *grad, size_t n);
extern rlc_adamw_grad_hook_fn rlc_adamw_grad_hook;

/* RLC_OK when every x[i] is finite; else RLC_ERR_INVALID naming `what` and
 * the first bad element (the guard before parameters or moments are saved). */
rlc_status rlc_check_finite(const rlc_backend *be, const float *x, size_t n, const char *what);

#endif
