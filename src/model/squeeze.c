/* LoRA-Squeeze. Per adapted weight, B A (out x in, rank <= r) is never formed:
 * with A^T = Q_A R_A and B = Q_B R_B (thin QR), B A = Q_B (R_B R_A^T) Q_A^T,
 * so the SVD of the small R_B R_A^T = U S V^T gives B A's singular values and
 * vectors (Q_B U, Q_A V). All of it in float64, column-major, through LAPACKE
 * and CBLAS; only the inputs and the written factors are F32. */
#include "model/squeeze.h"

#include "base/checked.h"
#include "base/fs.h"
#include "base/hffiles.h"
#include "model/model_internal.h"
#include "model/safetensors.h"

#include <cblas.h>
#include <float.h>
#include <jansson.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

const rlc_squeeze_metric_def rlc_squeeze_metric_defs[RLC_SQUEEZE_METRIC_COUNT] = {
    [RLC_SQUEEZE_RECOMMENDED_RANK] = {"squeeze/recommended_rank", 1,
                                      "smallest rank whose mean variance meets the retention"},
    [RLC_SQUEEZE_SOURCE_RANK] = {"squeeze/source_rank", 1, "the adapter's rank r"},
    [RLC_SQUEEZE_MIN_VARIANCE_RETENTION] = {"squeeze/min_variance_retention", 0,
                                            "the retention asked for (--retention)"},
    [RLC_SQUEEZE_RANK] = {"squeeze/rank", 1,
                          "the rank below and of --out (--rank, else the recommended one)"},
    [RLC_SQUEEZE_MEAN_VARIANCE] = {"squeeze/mean_variance", 0,
                                   "mean over the adapted weights of the variance kept"},
    [RLC_SQUEEZE_MIN_VARIANCE] = {"squeeze/min_variance", 0, "least variance kept by a weight"},
    [RLC_SQUEEZE_MAX_VARIANCE] = {"squeeze/max_variance", 0, "most variance kept by a weight"},
    [RLC_SQUEEZE_NUM_LAYERS] = {"squeeze/num_layers", 1, "adapted weights analysed"},
};

struct rlc_squeeze {
    char dir[PATH_CAP];
    char st_path[PATH_CAP]; /* dir/adapter_model.safetensors */
    rlc_lora_config lc;
    double alpha; /* lora_alpha as written in adapter_config.json */
    float scale;  /* rlc's alpha/r or alpha/sqrt(r) */
    rlc_st_file *file;
    model_lora_pair *pairs;
    int n;
    double *sv;  /* [n, r] singular values of scale * B A, descending */
    double *var; /* [n, r] V(k) at [l*r + k-1] */
};

rlc_squeeze_params rlc_squeeze_default_params(void) {
    return (rlc_squeeze_params){.retention = 0.95, .rank = 0};
}

/* One pair's factorisation. Column-major: qa [in, pa], qb [out, pb],
 * u [pb, ns], vt [ns, pa], s [ns]; pa = min(in, r), pb = min(out, r),
 * ns = min(pa, pb). */
typedef struct factors {
    int in, out, r, pa, pb, ns;
    double *qa, *qb, *u, *s, *vt;
    double *mem; /* the one allocation all of the above live in */
} factors;

static void factors_free(factors *f) {
    free(f->mem);
    memset(f, 0, sizeof *f);
}

/* A tensor of the pair into dst as float64, refusing non-finite values. With
 * transpose 0 the bytes keep their order, so the row-major [rows, cols] tensor
 * is read column-major as its transpose (A [r, in] gives A^T [in, r]); with 1
 * they are reordered so that the column-major matrix is the tensor itself. */
static rlc_status read_matrix(const rlc_squeeze *sq, const rlc_st_tensor *t, int transpose,
                              double *dst) {
    int rows = (int)t->shape[0], cols = (int)t->shape[1];
    float *tmp = rlc_malloc(t->numel * sizeof *tmp);
    if (!tmp) return RLC_ERR_NOMEM;
    rlc_status st = rlc_st_read_f32(sq->file, t->name, 2, t->shape, tmp);
    for (size_t i = 0; st == RLC_OK && i < t->numel; i++)
        if (!isfinite(tmp[i]))
            st = rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s' holds a non-finite value (%g at %zu)",
                            sq->st_path, t->name, tmp[i], i);
    for (int i = 0; st == RLC_OK && i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[transpose ? i + (size_t)j * rows : j + (size_t)i * cols] =
                tmp[(size_t)i * cols + j];
    free(tmp);
    return st;
}

/* Thin QR of x [m, n] (column-major, overwritten by Q [m, min(m,n)]); the
 * upper-trapezoidal R [min(m,n), n] into rr. */
static rlc_status thin_qr(double *x, int m, int n, double *rr, double *tau, const char *what) {
    int p = m < n ? m : n;
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, x, m, tau);
    if (info) return rlc_errorf(RLC_ERR_INTERNAL, "LAPACK dgeqrf of %s: info %d", what, (int)info);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < p; i++)
            rr[i + (size_t)j * p] = i <= j ? x[i + (size_t)j * m] : 0.0;
    info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, p, p, x, m, tau);
    if (info) return rlc_errorf(RLC_ERR_INTERNAL, "LAPACK dorgqr of %s: info %d", what, (int)info);
    return RLC_OK;
}

static rlc_status factor_pair(const rlc_squeeze *sq, const model_lora_pair *q, factors *f) {
    memset(f, 0, sizeof *f);
    if (q->a->shape[1] > INT_MAX || q->b->shape[0] > INT_MAX)
        return rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: tensor '%s': a dimension exceeds %d",
                          sq->st_path, q->a->name, INT_MAX);
    int r = sq->lc.rank, in = (int)q->a->shape[1], out = (int)q->b->shape[0];
    int pa = in < r ? in : r, pb = out < r ? out : r, ns = pa < pb ? pa : pb;
    /* qa, qb, ra [pa, r], rb [pb, r], m [pb, pa], u, s, vt, tau [r], superb [ns] */
    size_t big, total;
    RLC_TRY(rlc_mul_size_what("squeeze: factors", (size_t)in + out, (size_t)r, &big));
    RLC_TRY(rlc_add_size_what("squeeze: factors", big, (size_t)r * (6 * (size_t)r + 3), &total));
    double *mem = rlc_malloc(total * sizeof *mem);
    if (!mem) return RLC_ERR_NOMEM;
    *f = (factors){.in = in, .out = out, .r = r, .pa = pa, .pb = pb, .ns = ns, .mem = mem};
    f->qa = mem;
    f->qb = f->qa + (size_t)in * r;
    double *ra = f->qb + (size_t)out * r, *rb = ra + (size_t)r * r, *m = rb + (size_t)r * r;
    f->u = m + (size_t)r * r;
    f->vt = f->u + (size_t)r * r;
    f->s = f->vt + (size_t)r * r;
    double *tau = f->s + r, *superb = tau + r;
    rlc_status st = read_matrix(sq, q->a, 0, f->qa);
    if (st == RLC_OK) st = read_matrix(sq, q->b, 1, f->qb);
    if (st == RLC_OK) st = thin_qr(f->qa, in, r, ra, tau, q->a->name);
    if (st == RLC_OK) st = thin_qr(f->qb, out, r, rb, tau, q->b->name);
    if (st == RLC_OK) {
        /* m [pb, pa] = R_B [pb, r] R_A^T [r, pa] */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, pb, pa, r, 1.0, rb, pb, ra, pa, 0.0, m,
                    pb);
        lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'S', pb, pa, m, pb, f->s, f->u, pb,
                                         f->vt, ns, superb);
        if (info)
            st = rlc_errorf(RLC_ERR_INTERNAL, "LAPACK dgesvd of %s's R_B R_A^T: info %d", q->base,
                            (int)info);
    }
    if (st) factors_free(f);
    return st;
}

/* Singular values and V(k) of pair l into sq->sv and sq->var. The factors
 * are stored in F32, so singular values under s_1 * max(in, out) * FLT_EPSILON
 * are their rounding, not a direction the adapter learned (numpy's
 * matrix_rank rule): from the numerical rank on, V(k) is 1. */
static void record_variance(rlc_squeeze *sq, int l, const factors *f) {
    int r = sq->lc.rank;
    double *sv = sq->sv + (size_t)l * r, *var = sq->var + (size_t)l * r, total = 0, kept = 0;
    int nonzero = 0;
    for (int i = 0; i < r; i++) {
        sv[i] = i < f->ns ? fabs((double)sq->scale) * f->s[i] : 0.0;
        total += sv[i] * sv[i];
    }
    double tol = sv[0] * (f->in > f->out ? f->in : f->out) * FLT_EPSILON;
    for (int i = 0; i < r; i++)
        if (sv[i] > tol) nonzero = i + 1;
    for (int k = 1; k <= r; k++) {
        kept += sv[k - 1] * sv[k - 1];
        var[k - 1] = total > 0 && k < nonzero ? kept / total : 1.0;
    }
}

static void strip_weight_suffix(char *name) {
    size_t n = strlen(name);
    if (n > 7 && !strcmp(name + n - 7, ".weight")) name[n - 7] = 0;
}

/* adapter_dir's lora_alpha as written (lc holds it rounded to float). */
static rlc_status read_alpha(const char *dir, double *alpha) {
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "adapter_config.json"));
    json_t *root = json_load_file(path, 0, NULL);
    if (!root) return rlc_errorf(RLC_ERR_FORMAT, "%s: unreadable", path);
    *alpha = json_number_value(json_object_get(root, "lora_alpha"));
    json_decref(root);
    return RLC_OK;
}

/* A clear error for a folder that is missing or holds no adapter. */
static rlc_status check_adapter_dir(const char *dir) {
    char path[PATH_CAP];
    if (!rlc_file_exists(dir))
        return rlc_errorf(RLC_ERR_NOT_FOUND,
                          "%s: no such folder (expected a LoRA adapter: "
                          "adapter_config.json + adapter_model.safetensors)",
                          dir);
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "adapter_config.json"));
    if (rlc_file_exists(path)) return RLC_OK;
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "config.json"));
    return rlc_errorf(RLC_ERR_NOT_FOUND,
                      "%s is not a LoRA adapter: no adapter_config.json%s (expected a PEFT "
                      "adapter folder such as a LoRA run's final/ or checkpoints/checkpoint-N/)",
                      dir, rlc_file_exists(path) ? " (it holds a full model: config.json)" : "");
}

rlc_status rlc_squeeze_open(const char *adapter_dir, rlc_squeeze **out) {
    *out = NULL;
    RLC_TRY(check_adapter_dir(adapter_dir));
    rlc_squeeze *sq = rlc_calloc(1, sizeof *sq);
    if (!sq) return RLC_ERR_NOMEM;
    rlc_status st =
        rlc_path_join(sq->st_path, sizeof sq->st_path, adapter_dir, "adapter_model.safetensors");
    if (st == RLC_OK && snprintf(sq->dir, sizeof sq->dir, "%s", adapter_dir) >= PATH_CAP)
        st = rlc_errorf(RLC_ERR_INVALID, "%.64s...: path too long", adapter_dir);
    if (st == RLC_OK) st = model_adapter_config_load(adapter_dir, &sq->lc);
    if (st == RLC_OK) st = read_alpha(adapter_dir, &sq->alpha);
    if (st == RLC_OK && !rlc_file_exists(sq->st_path))
        st = rlc_errorf(RLC_ERR_NOT_FOUND, "%s: missing (the adapter's weights)", sq->st_path);
    if (st == RLC_OK) st = rlc_st_open(sq->st_path, &sq->file);
    if (st == RLC_OK) st = model_lora_pairs(sq->file, sq->st_path, sq->lc.rank, &sq->pairs, &sq->n);
    if (st == RLC_OK) {
        sq->scale = model_lora_scale(&sq->lc);
        size_t n = (size_t)sq->n * sq->lc.rank;
        sq->sv = rlc_malloc(n * sizeof *sq->sv);
        sq->var = rlc_malloc(n * sizeof *sq->var);
        if (!sq->sv || !sq->var) st = RLC_ERR_NOMEM;
    }
    for (int l = 0; st == RLC_OK && l < sq->n; l++) {
        factors f;
        st = factor_pair(sq, &sq->pairs[l], &f);
        if (st == RLC_OK) record_variance(sq, l, &f);
        factors_free(&f);
        strip_weight_suffix(sq->pairs[l].base);
    }
    if (st) {
        rlc_squeeze_free(sq);
        return st;
    }
    *out = sq;
    return RLC_OK;
}

void rlc_squeeze_free(rlc_squeeze *sq) {
    if (!sq) return;
    rlc_st_close(sq->file);
    free(sq->pairs);
    free(sq->sv);
    free(sq->var);
    free(sq);
}

int rlc_squeeze_source_rank(const rlc_squeeze *sq) {
    return sq->lc.rank;
}

int rlc_squeeze_num_layers(const rlc_squeeze *sq) {
    return sq->n;
}

const char *rlc_squeeze_layer_name(const rlc_squeeze *sq, int layer) {
    return sq->pairs[layer].base;
}

double rlc_squeeze_singular_value(const rlc_squeeze *sq, int layer, int i) {
    return sq->sv[(size_t)layer * sq->lc.rank + i];
}

double rlc_squeeze_variance(const rlc_squeeze *sq, int layer, int k) {
    return sq->var[(size_t)layer * sq->lc.rank + k - 1];
}

void rlc_squeeze_variance_stats(const rlc_squeeze *sq, int k, double *mean, double *min,
                                double *max) {
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (int l = 0; l < sq->n; l++) {
        double v = rlc_squeeze_variance(sq, l, k);
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *mean = sum / sq->n;
    *min = lo;
    *max = hi;
}

rlc_status rlc_squeeze_summarize(const rlc_squeeze *sq, const rlc_squeeze_params *p,
                                 double metrics[RLC_SQUEEZE_METRIC_COUNT]) {
    int r = sq->lc.rank;
    if (!(p->retention > 0 && p->retention <= 1))
        return rlc_errorf(RLC_ERR_INVALID, "retention %g is outside (0, 1]", p->retention);
    if (p->rank < 0)
        return rlc_errorf(RLC_ERR_INVALID, "rank %d: expected 1 .. %d (the adapter's r)", p->rank,
                          r);
    if (p->rank > r)
        return rlc_errorf(RLC_ERR_INVALID,
                          "rank %d is larger than the adapter's rank r = %d (%s): squeezing "
                          "keeps at most r",
                          p->rank, r, sq->dir);
    int rec = r;
    for (int k = 1; k <= r; k++) {
        double mean, lo, hi;
        rlc_squeeze_variance_stats(sq, k, &mean, &lo, &hi);
        if (mean >= p->retention) {
            rec = k;
            break;
        }
    }
    int k = p->rank ? p->rank : rec;
    metrics[RLC_SQUEEZE_RECOMMENDED_RANK] = rec;
    metrics[RLC_SQUEEZE_SOURCE_RANK] = r;
    metrics[RLC_SQUEEZE_MIN_VARIANCE_RETENTION] = p->retention;
    metrics[RLC_SQUEEZE_RANK] = k;
    rlc_squeeze_variance_stats(sq, k, &metrics[RLC_SQUEEZE_MEAN_VARIANCE],
                               &metrics[RLC_SQUEEZE_MIN_VARIANCE],
                               &metrics[RLC_SQUEEZE_MAX_VARIANCE]);
    metrics[RLC_SQUEEZE_NUM_LAYERS] = sq->n;
    return RLC_OK;
}

static json_t *number(double v, int integer) {
    return integer ? json_integer((json_int_t)v) : json_real(v);
}

char *rlc_squeeze_report_json(const rlc_squeeze *sq,
                              const double metrics[RLC_SQUEEZE_METRIC_COUNT]) {
    int r = sq->lc.rank;
    json_t *root = json_object(), *table = json_array(), *layers = json_array();
    for (int i = 0; i < RLC_SQUEEZE_METRIC_COUNT; i++)
        json_object_set_new(root, rlc_squeeze_metric_defs[i].key,
                            number(metrics[i], rlc_squeeze_metric_defs[i].integer));
    json_object_set_new(root, "adapter", json_string(sq->dir));
    for (int k = 1; k <= r; k++) {
        double mean, lo, hi;
        rlc_squeeze_variance_stats(sq, k, &mean, &lo, &hi);
        json_t *row = json_object();
        json_object_set_new(row, "rank", json_integer(k));
        json_object_set_new(row, "mean_variance", json_real(mean));
        json_object_set_new(row, "min_variance", json_real(lo));
        json_object_set_new(row, "max_variance", json_real(hi));
        json_array_append_new(table, row);
    }
    for (int l = 0; l < sq->n; l++) {
        json_t *o = json_object(), *s = json_array(), *v = json_array();
        for (int i = 0; i < r; i++) {
            json_array_append_new(s, json_real(rlc_squeeze_singular_value(sq, l, i)));
            json_array_append_new(v, json_real(rlc_squeeze_variance(sq, l, i + 1)));
        }
        json_object_set_new(o, "name", json_string(sq->pairs[l].base));
        json_object_set_new(o, "singular_values", s);
        json_object_set_new(o, "variance", v);
        json_array_append_new(layers, o);
    }
    json_object_set_new(root, "variance_table", table);
    json_object_set_new(root, "layers", layers);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

/* The rank-k factors of pair q into the writer under the source's names:
 * B' [out, k] = Q_B U_k diag(c), A' [k, in] = diag(c) V_k^T Q_A^T with
 * c_j = sqrt(s_j * ratio) (0 past the non-zero singular values). */
static rlc_status add_squeezed(rlc_st_writer *wr, const rlc_squeeze *sq, const model_lora_pair *q,
                               int k, double ratio) {
    factors f;
    RLC_TRY(factor_pair(sq, q, &f));
    int kk = k < f.ns ? k : f.ns, in = f.in, out = f.out;
    size_t na = (size_t)k * in, nb = (size_t)out * k;
    double *ta = rlc_calloc((size_t)in * (kk ? kk : 1), sizeof *ta);
    double *tb = rlc_calloc((size_t)out * (kk ? kk : 1), sizeof *tb);
    float *a = rlc_calloc(na, sizeof *a), *b = rlc_calloc(nb, sizeof *b);
    rlc_status st = ta && tb && a && b ? RLC_OK : RLC_ERR_NOMEM;
    if (st == RLC_OK && kk > 0) {
        /* tb [out, kk] = Q_B [out, pb] U[:, :kk]; ta [in, kk] = Q_A [in, pa] V^T[:kk, :]^T */
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, out, kk, f.pb, 1.0, f.qb, out, f.u,
                    f.pb, 0.0, tb, out);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, in, kk, f.pa, 1.0, f.qa, in, f.vt,
                    f.ns, 0.0, ta, in);
    }
    for (int j = 0; st == RLC_OK && j < kk; j++) {
        double c = sqrt(f.s[j] * ratio);
        for (int o = 0; o < out; o++)
            b[(size_t)o * k + j] = (float)(tb[o + (size_t)j * out] * c);
        for (int i = 0; i < in; i++)
            a[(size_t)j * in + i] = (float)(ta[i + (size_t)j * in] * c);
    }
    int64_t sa[2] = {k, in}, sb[2] = {out, k};
    if (st == RLC_OK) st = rlc_st_writer_add_f32(wr, q->a->name, RLC_DTYPE_F32, 2, sa, a);
    if (st == RLC_OK) st = rlc_st_writer_add_f32(wr, q->b->name, RLC_DTYPE_F32, 2, sb, b);
    free(ta);
    free(tb);
    free(a);
    free(b);
    factors_free(&f);
    return st;
}

/* The source's adapter_config.json with r = k, lora_alpha = alpha', and
 * rlc.squeeze naming the source rank and alpha. */
static rlc_status write_config(const rlc_squeeze *sq, int k, double alpha, const char *out_dir) {
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, sq->dir, "adapter_config.json"));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return rlc_errorf(RLC_ERR_FORMAT, "%s: %s", path, jerr.text);
    json_object_set_new(root, "r", json_integer(k));
    json_object_set_new(root, "lora_alpha", json_real(alpha));
    json_t *meta = json_object_get(root, "rlc");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(root, "rlc", meta);
    }
    json_t *from = json_object();
    json_object_set_new(from, "source_r", json_integer(sq->lc.rank));
    json_object_set_new(from, "source_lora_alpha", json_real(sq->alpha));
    json_object_set_new(meta, "squeeze", from);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) return rlc_errorf(RLC_ERR_NOMEM, "adapter_config.json: out of memory");
    rlc_status st = rlc_path_join(path, sizeof path, out_dir, "adapter_config.json");
    if (st == RLC_OK) st = rlc_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

rlc_status rlc_squeeze_write(const rlc_squeeze *sq, const double metrics[RLC_SQUEEZE_METRIC_COUNT],
                             const char *out_dir) {
    int k = (int)metrics[RLC_SQUEEZE_RANK], r = sq->lc.rank;
    if (k < 1 || k > r)
        return rlc_errorf(RLC_ERR_INVALID, "rank %d is outside 1 .. %d (the adapter's r)", k, r);
    RLC_TRY(rlc_mkdir_p(out_dir));
    if (rlc_same_file(out_dir, sq->dir))
        return rlc_errorf(RLC_ERR_INVALID, "--out %s is the adapter's folder; choose a new one",
                          out_dir);
    /* keep rlc's scale: alpha' / k (or / sqrt(k)) = alpha / r (or / sqrt(r)) */
    double alpha = sq->lc.use_rslora ? sq->alpha * sqrt((double)k / r) : sq->alpha * k / r;
    rlc_lora_config lc = sq->lc;
    lc.rank = k;
    lc.alpha = (float)alpha;
    double ratio = (double)sq->scale / model_lora_scale(&lc);
    rlc_st_writer *wr = rlc_st_writer_new();
    if (!wr) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    for (int l = 0; st == RLC_OK && l < sq->n; l++)
        st = add_squeezed(wr, sq, &sq->pairs[l], k, ratio);
    char path[PATH_CAP];
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, out_dir, "adapter_model.safetensors");
    if (st == RLC_OK) st = rlc_st_writer_write(wr, path);
    rlc_st_writer_free(wr);
    if (st == RLC_OK) st = write_config(sq, k, alpha, out_dir);
    if (st == RLC_OK) st = rlc_copy_if_present(sq->dir, out_dir, RLC_TOKENIZER_BYTE_FILE);
    for (int i = 0; st == RLC_OK && rlc_tokenizer_hf_files[i]; i++)
        st = rlc_copy_if_present(sq->dir, out_dir, rlc_tokenizer_hf_files[i]);
    char *report = st == RLC_OK ? rlc_squeeze_report_json(sq, metrics) : NULL;
    if (st == RLC_OK && !report) st = rlc_errorf(RLC_ERR_NOMEM, "squeeze.json: out of memory");
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, out_dir, "squeeze.json");
    if (st == RLC_OK) st = rlc_write_file_atomic(path, report, strlen(report));
    free(report);
    return st;
}
