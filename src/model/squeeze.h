/* LoRA-Squeeze: how much of each adapted weight's update dW = scale * B A the
 * first k singular directions hold, which rank keeps enough of it, and the
 * best rank-k adapter in PEFT layout. QR and SVD come from LAPACK. */
#ifndef RLC_MODEL_SQUEEZE_H
#define RLC_MODEL_SQUEEZE_H

#include "base/status.h"

/* The summary metrics, named as retrain names them. Appended to only. */
typedef enum rlc_squeeze_metric {
    RLC_SQUEEZE_RECOMMENDED_RANK,
    RLC_SQUEEZE_SOURCE_RANK,
    RLC_SQUEEZE_MIN_VARIANCE_RETENTION,
    RLC_SQUEEZE_RANK,
    RLC_SQUEEZE_MEAN_VARIANCE,
    RLC_SQUEEZE_MIN_VARIANCE,
    RLC_SQUEEZE_MAX_VARIANCE,
    RLC_SQUEEZE_NUM_LAYERS,
    RLC_SQUEEZE_METRIC_COUNT
} rlc_squeeze_metric;

/* One definition per metric: its JSON key, whether it is a whole number, and
 * the legend the console prints beside it. */
typedef struct rlc_squeeze_metric_def {
    const char *key;
    int integer;
    const char *legend;
} rlc_squeeze_metric_def;

extern const rlc_squeeze_metric_def rlc_squeeze_metric_defs[RLC_SQUEEZE_METRIC_COUNT];

typedef struct rlc_squeeze_params {
    double retention; /* the mean V(k) the recommended rank must reach, in (0, 1] (0.95) */
    int rank;         /* 0: the recommended rank; else this rank, 1 .. source rank */
} rlc_squeeze_params;

rlc_squeeze_params rlc_squeeze_default_params(void);

/* An adapter read and analysed: for each adapted weight (a "layer"), the
 * singular values of B A. */
typedef struct rlc_squeeze rlc_squeeze;

/* Reads ADAPTER_DIR (adapter_config.json + adapter_model.safetensors, PEFT
 * names, as rlc merge reads them) and, per adapted weight, takes the QR
 * factorisations A^T = Q_A R_A and B = Q_B R_B and the SVD of the small
 * R_B R_A^T = U S V^T, so that B A = (Q_B U) S (Q_A V)^T. Computed in float64
 * from the stored values. Errors name the folder, file or tensor: a missing
 * folder or file, a folder that is not an adapter, a tensor that is not a LoRA
 * pair member, a non-finite value. *out is freed with rlc_squeeze_free. */
rlc_status rlc_squeeze_open(const char *adapter_dir, rlc_squeeze **out);
void rlc_squeeze_free(rlc_squeeze *sq); /* NULL is a no-op */

int rlc_squeeze_source_rank(const rlc_squeeze *sq); /* r of the adapter */
int rlc_squeeze_num_layers(const rlc_squeeze *sq);  /* adapted weights */
/* The adapted weight's base name ("model.layers.0.self_attn.q_proj"). */
const char *rlc_squeeze_layer_name(const rlc_squeeze *sq, int layer);
/* The i-th singular value (i < source rank, descending; 0 past min(r, in,
 * out)) of layer's dW = scale * B A. */
double rlc_squeeze_singular_value(const rlc_squeeze *sq, int layer, int i);
/* V(k) = sum_{i<k} s_i^2 / sum s_i^2 of layer, k in 1 .. source rank; exactly
 * 1 once k reaches the numerical rank (singular values under
 * s_1 * max(in, out) * FLT_EPSILON are the F32 rounding of the stored factors
 * and count as zero), and 1 for every k when dW is zero (nothing to lose). */
double rlc_squeeze_variance(const rlc_squeeze *sq, int layer, int k);
/* Mean, min and max of V(k) over the layers. */
void rlc_squeeze_variance_stats(const rlc_squeeze *sq, int k, double *mean, double *min,
                                double *max);

/* The summary metrics (indexed by rlc_squeeze_metric) for p: the recommended
 * rank (smallest k whose mean V(k) >= p->retention), the rank used (p->rank,
 * else the recommended one) and the mean / min / max V at the rank used.
 * RLC_ERR_INVALID for a retention outside (0, 1] or a rank outside
 * 1 .. source rank, naming both. */
rlc_status rlc_squeeze_summarize(const rlc_squeeze *sq, const rlc_squeeze_params *p,
                                 double metrics[RLC_SQUEEZE_METRIC_COUNT]);

/* The report as JSON text (malloc'd): every summary metric by its key, then
 * "adapter", "variance_table" (per k: rank, mean_variance, min_variance,
 * max_variance) and "layers" (per adapted weight: name, singular_values of dW,
 * variance V(k) for each k). NULL when out of memory. */
char *rlc_squeeze_report_json(const rlc_squeeze *sq,
                              const double metrics[RLC_SQUEEZE_METRIC_COUNT]);

/* Writes OUT_DIR (created; must not be the adapter's folder): a rank-k
 * adapter, k = metrics[RLC_SQUEEZE_RANK], in the source's PEFT layout and
 * tensor names, F32: B' = Q_B U_k sqrt(S_k) c, A' = c sqrt(S_k) V_k^T Q_A^T,
 * so that scale' B' A' is the best rank-k approximation of dW (Eckart-Young).
 * adapter_config.json is the source's with r = k and lora_alpha scaled to keep
 * rlc's scale (alpha*k/r, or alpha*sqrt(k/r) with rsLoRA; c folds in the
 * float rounding of the new scale), base_model_name_or_path and
 * rlc.base_config_sha256 kept, and rlc.squeeze recording the source rank and
 * alpha. The tokenizer files of the source folder are copied, and squeeze.json
 * holds rlc_squeeze_report_json. Each file is written atomically. */
rlc_status rlc_squeeze_write(const rlc_squeeze *sq, const double metrics[RLC_SQUEEZE_METRIC_COUNT],
                             const char *out_dir);

#endif
