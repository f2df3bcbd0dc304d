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
 * Returns the norm before clipping in *grad_norm (may be NULL). */
void rlc_adamw_step(rlc_adamw *opt, const rlc_backend *be, float *param, float *grad, float lr,
                    float *grad_norm);

#endif
