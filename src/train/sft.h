/* Supervised fine-tuning: cross-entropy on response tokens only, over
 * generated problems (arithmetic, GSM8K-form worked solutions) or JSONL
 * prompt/response or messages data. */
#ifndef RLC_TRAIN_SFT_H
#define RLC_TRAIN_SFT_H

#include "train/grpo.h"

typedef struct rlc_sft_params {
    int batch;       /* examples per optimizer step */
    int micro_batch; /* examples per forward/backward (within a shard); 0: all */
    /* the batch in this many shards of batch / shards examples, each
     * differentiated on its own, gradients summed in shard order
     * (base/dist.h); the MPI ranks take shards / ranks each (0 or 1: one) */
    int shards;
    int max_len;     /* prompt + response tokens; longer examples are cut at the end */
    int logit_chunk; /* LM-head rows at once; 0: RLC_LOGIT_CHUNK_DEFAULT */
    int checkpoint;  /* activation checkpointing (rlc_acts_opts) */
    float lr;
    rlc_schedule schedule;
    rlc_adamw_params opt;
} rlc_sft_params;

typedef struct rlc_sft_trainer rlc_sft_trainer;

/* Trains on src's train split (its targets after its rendered prompts);
 * validation uses src's eval split. */
rlc_status rlc_sft_trainer_new(rlc_policy *pol, const rlc_source *src, const rlc_sft_params *p,
                               rlc_sft_trainer **out);
void rlc_sft_trainer_free(rlc_sft_trainer *s);
/* Training examples per epoch (0: generated, endless). */
size_t rlc_sft_trainer_epoch_size(const rlc_sft_trainer *s);
/* Optimizer step `step` on examples step*batch ..: fills loss, grad_norm, lr,
 * times and tokens_per_s (training tokens per second). */
rlc_status rlc_sft_trainer_step(rlc_sft_trainer *s, int step, rlc_step_stats *st);
/* Mean response-token cross-entropy over n validation examples. */
rlc_status rlc_sft_trainer_val_loss(rlc_sft_trainer *s, int n, double *loss);
rlc_adamw *rlc_sft_trainer_optimizer(rlc_sft_trainer *s);
/* The training passes' activation workspace (its size and LM-head chunk). */
const rlc_acts *rlc_sft_trainer_acts(const rlc_sft_trainer *s);

#endif
