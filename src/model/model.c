/* Model parameters: the tensor table, creation, HF loading and saving, LoRA
 * adapters in PEFT layout. */
#include "model/model_internal.h"

#include "base/checked.h"
#include "base/fs.h"
#include "base/rng.h"
#include "base/sha256.h"
#include "model/safetensors.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>

static const char *const mod_names[NMOD] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj",
};
static const char *const mod_short[NMOD] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                            "gate_proj", "up_proj", "down_proj"};

const char *model_mod_name(int mod) {
    return mod_names[mod];
}

void model_mod_dims(const rlc_model_config *c, int mod, int *in, int *out) {
    int C = c->hidden_size, QD = c->num_heads * c->head_dim, KD = c->num_kv_heads * c->head_dim;
    int F = c->intermediate_size;
    switch (mod) {
    case MOD_Q:
        *in = C, *out = QD;
        break;
    case MOD_K:
        *in = C, *out = KD;
        break;
    case MOD_V:
        *in = C, *out = KD;
        break;
    case MOD_O:
        *in = QD, *out = C;
        break;
    case MOD_GATE:
        *in = C, *out = F;
        break;
    case MOD_UP:
        *in = C, *out = F;
        break;
    default:
        *in = F, *out = C;
        break;
    }
}

static int mod_has_bias(const rlc_model_config *c, int mod) {
    if (mod <= MOD_V) return c->qkv_bias;
    if (mod == MOD_O) return c->o_bias;
    return c->mlp_bias;
}

/* Appends a tensor to a table, returning its offset. total[0] counts the
 * whole layout; total[1] (may be the same counter) only the 1-D tensors, for
 * the compact buffer of a BF16-held model (vec_off). Sizes come from a config:
 * an overflow sets *st (once) and returns -1. */
static ptrdiff_t add_desc(tensor_desc *d, int *n, size_t *total[2], const char *name, int64_t d0,
                          int64_t d1, rlc_status *st) {
    if (*st) return -1;
    tensor_desc *t = &d[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 0;
    size_t padded = 0;
    /* 16-float alignment keeps every tensor 64-byte aligned for SIMD. */
    *st = rlc_mul_size_what(name, (size_t)d0, (size_t)(d1 > 0 ? d1 : 1), &t->numel);
    if (!*st) *st = rlc_align_size(name, t->numel, 16, &padded);
    if (!*st) *st = rlc_add_size_what("parameter total", *total[0], padded, total[0]);
    if (*st) return -1;
    t->off = *total[0] - padded;
    if (t->ndim == 1 && total[1] != total[0]) {
        t->vec_off = *total[1]; /* cannot overflow: a part of total[0] */
        *total[1] += padded;
    }
    return (ptrdiff_t)t->off;
}

/* The parameter buffer of n floats, zeroed (n * 4 bytes checked). */
static rlc_status alloc_floats(const char *what, size_t n, float **out) {
    size_t bytes = 0;
    RLC_TRY(rlc_mul_size_what(what, n, sizeof(float), &bytes));
    *out = rlc_aligned_alloc(bytes);
    if (!*out) return RLC_ERR_NOMEM;
    memset(*out, 0, bytes);
    return RLC_OK;
}

rlc_lora_config rlc_lora_default_config(void) {
    rlc_lora_config lc = {.rank = 16,
                          .alpha = 32.0f,
                          .use_rslora = 0,
                          .targets = RLC_LORA_Q | RLC_LORA_K | RLC_LORA_V | RLC_LORA_O};
    return lc;
}

const char *rlc_lora_targets_str(unsigned targets, char *buf, size_t cap) {
    size_t len = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < NMOD && len < cap; i++)
        if (targets & (1u << i))
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", mod_short[i]);
    return buf;
}

rlc_status rlc_lora_parse_targets(const char *list, unsigned *targets) {
    *targets = 0;
    if (!strcmp(list, "all-linear") || !strcmp(list, "all")) {
        *targets = RLC_LORA_ALL;
        return RLC_OK;
    }
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = 0;
        for (int i = 0; i < NMOD; i++) {
            size_t sl = strlen(mod_short[i]);
            /* "q_proj" or "q" */
            if ((len == sl && !strncmp(p, mod_short[i], len)) ||
                (len == sl - 5 && !strncmp(p, mod_short[i], len))) {
                *targets |= 1u << i;
                found = 1;
            }
        }
        if (!found)
            return rlc_errorf(RLC_ERR_INVALID,
                              "lora target '%.*s' unknown (expected q_proj, k_proj, v_proj, "
                              "o_proj, gate_proj, up_proj, down_proj or all-linear)",
                              (int)len, p);
        p += len;
        if (*p == ',') p++;
    }
    if (!*targets) return rlc_errorf(RLC_ERR_INVALID, "lora targets: empty list");
    return RLC_OK;
}

/* Builds the tensor table (every size checked), without the parameter buffer. */
static rlc_status model_layout(const rlc_model_config *cfg, rlc_model **out) {
    RLC_TRY(rlc_config_validate(cfg, "model config"));
    rlc_model *m = rlc_calloc(1, sizeof *m);
    if (!m) return RLC_ERR_NOMEM;
    m->cfg = *cfg;
    m->be = rlc_backend_cpu();
    m->file_dtype = RLC_DTYPE_F32;
    int L = cfg->num_layers, C = cfg->hidden_size, V = cfg->vocab_size, D = cfg->head_dim;
    size_t max_desc = 3 + (size_t)L * (4 + 2 * NMOD); /* L <= INT_MAX: cannot wrap */
    m->desc = rlc_calloc(max_desc, sizeof *m->desc);
    m->layers = rlc_calloc((size_t)L, sizeof *m->layers);
    m->inv_freq = rlc_calloc((size_t)D / 2, sizeof(float));
    m->lin_scratch = rlc_aligned_alloc(RLC_LINEAR_SCRATCH * sizeof(float));
    if (!m->desc || !m->layers || !m->inv_freq || !m->lin_scratch) {
        rlc_model_free(m);
        return RLC_ERR_NOMEM;
    }
    size_t all = 0, vec = 0, *total[2] = {&all, &vec};
    char name[128];
    rlc_status st = RLC_OK;
    m->wte = add_desc(m->desc, &m->n_desc, total, "model.embed_tokens.weight", V, C, &st);
    for (int l = 0; l < L; l++) {
        layer_off *lo = &m->layers[l];
        for (int i = 0; i < NMOD; i++)
            lo->w[i] = lo->b[i] = lo->la[i] = lo->lb[i] = -1;
        lo->qn = lo->kn = -1;
#define LNAME(suffix) (snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix), name)
        lo->ln1 = add_desc(m->desc, &m->n_desc, total, LNAME("input_layernorm.weight"), C, 0, &st);
        for (int i = 0; i < NMOD; i++) {
            int in, o;
            model_mod_dims(cfg, i, &in, &o);
            char mn[96];
            snprintf(mn, sizeof mn, "%s.weight", mod_names[i]);
            lo->w[i] = add_desc(m->desc, &m->n_desc, total, LNAME(mn), o, in, &st);
            if (mod_has_bias(cfg, i)) {
                snprintf(mn, sizeof mn, "%s.bias", mod_names[i]);
                lo->b[i] = add_desc(m->desc, &m->n_desc, total, LNAME(mn), o, 0, &st);
            }
            if (i == MOD_O) {
                if (cfg->qk_norm) {
                    lo->qn = add_desc(m->desc, &m->n_desc, total, LNAME("self_attn.q_norm.weight"),
                                      D, 0, &st);
                    lo->kn = add_desc(m->desc, &m->n_desc, total, LNAME("self_attn.k_norm.weight"),
                                      D, 0, &st);
                }
                lo->ln2 = add_desc(m->desc, &m->n_desc, total,
                                   LNAME("post_attention_layernorm.weight"), C, 0, &st);
            }
        }
#undef LNAME
    }
    m->lnf = add_desc(m->desc, &m->n_desc, total, "model.norm.weight", C, 0, &st);
    m->lm_head = cfg->tie_word_embeddings
                     ? m->wte
                     : add_desc(m->desc, &m->n_desc, total, "lm_head.weight", V, C, &st);
    if (st) {
        rlc_model_free(m);
        return st;
    }
    m->n_params = all;
    m->n_vec = vec;
    rlc_config_rope_inv_freq(cfg, m->inv_freq);
    *out = m;
    return RLC_OK;
}

/* Builds the tensor table and allocates the parameter buffer. */
static rlc_status model_alloc(const rlc_model_config *cfg, rlc_model **out) {
    rlc_model *m;
    RLC_TRY(model_layout(cfg, &m));
    rlc_status st = alloc_floats("model parameters", m->n_params, &m->params);
    if (st) {
        rlc_model_free(m);
        return st;
    }
    *out = m;
    return RLC_OK;
}

static int is_norm_name(const char *name) {
    return strstr(name, "norm.weight") != NULL;
}

rlc_status rlc_model_create(const rlc_model_config *cfg, uint64_t seed, rlc_model **out) {
    rlc_model *m;
    RLC_TRY(model_alloc(cfg, &m));
    for (int i = 0; i < m->n_desc; i++) {
        tensor_desc *t = &m->desc[i];
        float *p = m->params + t->off;
        if (is_norm_name(t->name)) {
            for (size_t j = 0; j < t->numel; j++)
                p[j] = 1.0f;
        } else if (t->ndim == 2) {
            rlc_rng_fill_normal(p, t->numel, 0.02f, seed, rlc_rng_stream(0x1417, (uint64_t)i, 0),
                                0);
        } /* biases stay zero */
    }
    *out = m;
    return RLC_OK;
}

/* The offset of the 1-D tensor at `off` in the whole layout (compact == 0)
 * or in the compact buffer (compact == 1), from its offset in the other. */
static ptrdiff_t vec_relocate(const rlc_model *m, ptrdiff_t off, int compact) {
    if (off < 0) return off;
    for (int i = 0; i < m->n_desc; i++) {
        const tensor_desc *t = &m->desc[i];
        if (t->ndim == 1 && (ptrdiff_t)(compact ? t->off : t->vec_off) == off)
            return (ptrdiff_t)(compact ? t->vec_off : t->off);
    }
    return -1; /* unreachable: every 1-D field names a tensor of the table */
}

/* Points the 1-D tensor offsets that MP/MG use (norms, biases) into the
 * compact buffer (compact == 1) or the whole layout (compact == 0). */
static void vec_point(rlc_model *m, int compact) {
    for (int l = 0; l < m->cfg.num_layers; l++) {
        layer_off *lo = &m->layers[l];
        lo->ln1 = vec_relocate(m, lo->ln1, compact);
        lo->ln2 = vec_relocate(m, lo->ln2, compact);
        lo->qn = vec_relocate(m, lo->qn, compact);
        lo->kn = vec_relocate(m, lo->kn, compact);
        for (int i = 0; i < NMOD; i++)
            lo->b[i] = vec_relocate(m, lo->b[i], compact);
    }
    m->lnf = vec_relocate(m, m->lnf, compact);
}

/* Where 1-D tensor t's values are in m->params now. */
static size_t vec_at(const rlc_model *m, const tensor_desc *t) {
    return m->store ? t->vec_off : t->off;
}

static void store_release(model_bf16_store *s) {
    if (!s || --s->refs > 0) return;
    rlc_st_close(s->file);
    free(s->copies);
    free(s);
}

static int mat_cmp(const void *a, const void *b) {
    const model_mat *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Whether every matrix of the layout is BF16 in f (shapes already checked). */
static int file_mats_bf16(const rlc_model *m, const rlc_st_file *f) {
    for (int i = 0; i < m->n_desc; i++)
        if (m->desc[i].ndim == 2 && rlc_st_find(f, m->desc[i].name)->dtype != RLC_DTYPE_BF16)
            return 0;
    return 1;
}

/* Maps the pages of [p, p + bytes) now: otherwise each of them costs a page
 * fault inside the first pass over the weights (and in its timing). Where
 * the kernel has no MADV_POPULATE_READ (before Linux 5.14), one byte per page
 * is read. */
static void prefault(const void *p, size_t bytes) {
    uintptr_t pg = 4096, a = (uintptr_t)p & ~(pg - 1);
#ifdef MADV_POPULATE_READ
    if (madvise((void *)a, (uintptr_t)p + bytes - a, MADV_POPULATE_READ) == 0) return;
#endif
    const volatile unsigned char *c = (const volatile unsigned char *)a;
    unsigned sum = 0;
    for (uintptr_t o = 0; a + o < (uintptr_t)p + bytes; o += pg)
        sum += c[o];
    (void)sum;
}

/* Takes ownership of f: the model's matrices point into its mapping (or
 * into copies of the tensors whose data is not 2-byte aligned). */
static rlc_status store_attach(rlc_model *m, rlc_st_file *f) {
    model_bf16_store *s = rlc_calloc(1, sizeof *s);
    if (!s) {
        rlc_st_close(f);
        return RLC_ERR_NOMEM;
    }
    s->refs = 1;
    s->file = f;
    m->store = s;
    size_t ncopy = 0;
    for (int i = 0; i < m->n_desc; i++) {
        const rlc_st_tensor *t = rlc_st_find(f, m->desc[i].name);
        if (m->desc[i].ndim != 2) continue; /* a tied lm_head has no entry of its own */
        m->n_mats++;
        if ((uintptr_t)t->data % 2) ncopy += t->numel;
    }
    m->mats = rlc_calloc((size_t)m->n_mats, sizeof *m->mats);
    if (ncopy) s->copies = rlc_malloc(ncopy * sizeof(uint16_t));
    if (!m->mats || (ncopy && !s->copies)) return RLC_ERR_NOMEM;
    int k = 0;
    uint16_t *cp = s->copies;
    for (int i = 0; i < m->n_desc; i++) {
        const tensor_desc *d = &m->desc[i];
        if (d->ndim != 2) continue;
        const rlc_st_tensor *t = rlc_st_find(f, d->name);
        const uint16_t *p = t->data;
        if ((uintptr_t)t->data % 2) {
            memcpy(cp, t->data, t->numel * sizeof(uint16_t));
            p = cp;
            cp += t->numel;
        } else {
            prefault(p, t->numel * sizeof(uint16_t));
        }
        m->mats[k++] = (model_mat){.off = (ptrdiff_t)d->off, .bf16 = p};
    }
    qsort(m->mats, (size_t)m->n_mats, sizeof *m->mats, mat_cmp);
    return RLC_OK;
}

/* keep_bf16: a file whose matrices are all BF16 keeps them BF16 (mapped);
 * otherwise every tensor is read into F32. */
static rlc_status model_load(const char *dir, int keep_bf16, rlc_model **out) {
    char path[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "config.json"));
    rlc_model_config cfg;
    RLC_TRY(rlc_config_load(path, &cfg));
    RLC_TRY(rlc_config_validate(&cfg, path));
    rlc_st_file *f = NULL;
    RLC_TRY(rlc_st_open_dir(dir, &f));
    rlc_model *m = NULL;
    /* every tensor's shape is checked against the file before the buffer
     * that the config sizes is allocated */
    rlc_status st = model_layout(&cfg, &m);
    for (int i = 0; st == RLC_OK && i < m->n_desc; i++)
        st = rlc_st_check_shape(f, m->desc[i].name, m->desc[i].ndim, m->desc[i].shape);
    int bf16 = st == RLC_OK && keep_bf16 && file_mats_bf16(m, f);
    if (st == RLC_OK)
        st = alloc_floats("model parameters", bf16 ? m->n_vec : m->n_params, &m->params);
    for (int i = 0; st == RLC_OK && i < m->n_desc; i++) {
        tensor_desc *t = &m->desc[i];
        if (!bf16 || t->ndim == 1)
            st = rlc_st_read_f32(f, t->name, t->ndim, t->shape,
                                 m->params + (bf16 ? t->vec_off : t->off));
    }
    if (st == RLC_OK) {
        const rlc_st_tensor *e = rlc_st_find(f, "model.embed_tokens.weight");
        if (e) m->file_dtype = e->dtype;
        st = rlc_sha256_file(path, m->config_sha256);
    }
    if (st == RLC_OK && !(m->src_dir = strdup(dir))) st = RLC_ERR_NOMEM;
    if (st == RLC_OK && bf16) {
        vec_point(m, 1);
        st = store_attach(m, f);
        f = NULL;
    }
    rlc_st_close(f);
    if (st != RLC_OK) {
        rlc_model_free(m);
        return st;
    }
    *out = m;
    return RLC_OK;
}

rlc_status rlc_model_load(const char *dir, rlc_model **out) {
    return model_load(dir, 1, out);
}

rlc_status rlc_model_load_f32(const char *dir, rlc_model **out) {
    return model_load(dir, 0, out);
}

int rlc_model_base_bf16(const rlc_model *m) {
    return m->store != NULL;
}

rlc_status rlc_model_save(const rlc_model *m, const char *dir, rlc_dtype dtype) {
    char path[4096];
    RLC_TRY(rlc_mkdir_p(dir));
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "config.json"));
    rlc_model_config cfg = m->cfg;
    snprintf(cfg.torch_dtype, sizeof cfg.torch_dtype, "%s",
             dtype == RLC_DTYPE_BF16  ? "bfloat16"
             : dtype == RLC_DTYPE_F16 ? "float16"
                                      : "float32");
    RLC_TRY(rlc_config_save(&cfg, path));
    rlc_st_writer *w = rlc_st_writer_new();
    if (!w) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    float *wide = NULL; /* one BF16 matrix widened, when saving a BF16 store in another dtype */
    for (int i = 0; st == RLC_OK && i < m->n_desc; i++) {
        const tensor_desc *t = &m->desc[i];
        if (t->ndim == 1 || !m->store) {
            size_t at = t->ndim == 1 ? vec_at(m, t) : t->off;
            st = rlc_st_writer_add_f32(w, t->name, dtype, t->ndim, t->shape, m->params + at);
            continue;
        }
        const uint16_t *b = model_wmat(m, (ptrdiff_t)t->off).bf16;
        if (dtype == RLC_DTYPE_BF16) {
            st = rlc_st_writer_add_raw(w, t->name, dtype, t->ndim, t->shape, b);
            continue;
        }
        free(wide);
        wide = rlc_malloc(t->numel * sizeof(float));
        if (!wide) {
            st = RLC_ERR_NOMEM;
            break;
        }
        rlc_convert_to_f32(wide, b, RLC_DTYPE_BF16, t->numel);
        st = rlc_st_writer_add_f32(w, t->name, dtype, t->ndim, t->shape, wide);
    }
    free(wide);
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, dir, "model.safetensors");
    if (st == RLC_OK) st = rlc_st_writer_write(w, path);
    rlc_st_writer_free(w);
    return st;
}

rlc_status rlc_model_clone_base(const rlc_model *m, rlc_model **out) {
    rlc_model *c;
    RLC_TRY(model_layout(&m->cfg, &c));
    rlc_status st = alloc_floats("model parameters", m->store ? m->n_vec : m->n_params, &c->params);
    if (st == RLC_OK)
        memcpy(c->params, m->params, (m->store ? m->n_vec : m->n_params) * sizeof(float));
    if (st == RLC_OK && m->store) {
        /* the frozen matrices are shared, not copied */
        c->mats = rlc_malloc((size_t)m->n_mats * sizeof *c->mats);
        if (!c->mats) st = RLC_ERR_NOMEM;
        if (st == RLC_OK) {
            memcpy(c->mats, m->mats, (size_t)m->n_mats * sizeof *c->mats);
            c->n_mats = m->n_mats;
            c->store = m->store;
            c->store->refs++;
            vec_point(c, 1);
        }
    }
    c->be = m->be;
    c->file_dtype = m->file_dtype;
    if (st == RLC_OK) st = model_ensure_rope(c, m->rope_T > 0 ? m->rope_T : 1);
    if (st) {
        rlc_model_free(c);
        return st;
    }
    *out = c;
    return RLC_OK;
}

void rlc_model_free(rlc_model *m) {
    if (!m) return;
    free(m->params);
    free(m->grads);
    free(m->mats);
    store_release(m->store);
    free(m->desc);
    free(m->layers);
    free(m->inv_freq);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->lora_params);
    free(m->lora_grads);
    free(m->lora_desc);
    free(m->lin_scratch);
    free(m->src_dir);
    free(m);
}

const rlc_model_config *rlc_model_cfg(const rlc_model *m) {
    return &m->cfg;
}

size_t rlc_model_num_params(const rlc_model *m) {
    size_t n = 0;
    for (int i = 0; i < m->n_desc; i++)
        n += m->desc[i].numel;
    return n;
}

rlc_dtype rlc_model_file_dtype(const rlc_model *m) {
    return m->file_dtype;
}

void rlc_model_set_backend(rlc_model *m, const rlc_backend *be) {
    m->be = be;
}

const rlc_backend *rlc_model_backend(const rlc_model *m) {
    return m->be;
}

rlc_status model_ensure_rope(rlc_model *m, int T) {
    if (T <= m->rope_T) return RLC_OK;
    int half = m->cfg.head_dim / 2;
    int newT = T < 2 * m->rope_T ? 2 * m->rope_T : T;
    float *c = rlc_aligned_alloc((size_t)newT * half * sizeof(float));
    float *s = rlc_aligned_alloc((size_t)newT * half * sizeof(float));
    if (!c || !s) {
        free(c);
        free(s);
        return RLC_ERR_NOMEM;
    }
    for (int t = 0; t < newT; t++)
        for (int j = 0; j < half; j++) {
            double ang = (double)t * (double)m->inv_freq[j];
            c[(size_t)t * half + j] = (float)cos(ang);
            s[(size_t)t * half + j] = (float)sin(ang);
        }
    free(m->rope_cos);
    free(m->rope_sin);
    m->rope_cos = c;
    m->rope_sin = s;
    m->rope_T = newT;
    return RLC_OK;
}

rlc_wmat model_wmat(const rlc_model *m, ptrdiff_t off) {
    if (!m->store) return (rlc_wmat){.f32 = m->params + off};
    model_mat key = {.off = off};
    const model_mat *e = bsearch(&key, m->mats, (size_t)m->n_mats, sizeof *m->mats, mat_cmp);
    return (rlc_wmat){.bf16 = e ? e->bf16 : NULL};
}

rlc_status model_materialize(rlc_model *m) {
    if (!m->store) return RLC_OK;
    float *p = NULL;
    RLC_TRY(alloc_floats("model parameters", m->n_params, &p));
    for (int i = 0; i < m->n_desc; i++) {
        const tensor_desc *t = &m->desc[i];
        if (t->ndim == 2)
            rlc_convert_to_f32(p + t->off, model_wmat(m, (ptrdiff_t)t->off).bf16, RLC_DTYPE_BF16,
                               t->numel);
        else
            memcpy(p + t->off, m->params + t->vec_off, t->numel * sizeof(float));
    }
    vec_point(m, 0);
    free(m->params);
    m->params = p;
    free(m->mats);
    m->mats = NULL;
    m->n_mats = 0;
    store_release(m->store);
    m->store = NULL;
    return RLC_OK;
}

/* ---- trainable view ---- */

rlc_status rlc_model_trainable(rlc_model *m, float **params, float **grads, size_t *n) {
    if (m->has_lora) {
        if (!m->lora_grads) {
            m->lora_grads = rlc_aligned_alloc(m->n_lora * sizeof(float));
            if (!m->lora_grads) return RLC_ERR_NOMEM;
            memset(m->lora_grads, 0, m->n_lora * sizeof(float));
        }
        *params = m->lora_params, *grads = m->lora_grads, *n = m->n_lora;
    } else {
        RLC_TRY(model_materialize(m));
        if (!m->grads) {
            m->grads = rlc_aligned_alloc(m->n_params * sizeof(float));
            if (!m->grads) return RLC_ERR_NOMEM;
            memset(m->grads, 0, m->n_params * sizeof(float));
        }
        *params = m->params, *grads = m->grads, *n = m->n_params;
    }
    return RLC_OK;
}

void rlc_model_zero_grad(rlc_model *m) {
    if (m->grads) memset(m->grads, 0, m->n_params * sizeof(float));
    if (m->lora_grads) memset(m->lora_grads, 0, m->n_lora * sizeof(float));
}

static const tensor_desc *find_desc(const tensor_desc *d, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(d[i].name, name)) return &d[i];
    return NULL;
}

float *rlc_model_param(rlc_model *m, const char *name, size_t *numel) {
    const tensor_desc *t = find_desc(m->desc, m->n_desc, name);
    if (t) {
        if (t->ndim == 2 && model_materialize(m)) return NULL;
        if (numel) *numel = t->numel;
        return m->params + (t->ndim == 1 ? vec_at(m, t) : t->off);
    }
    t = m->has_lora ? find_desc(m->lora_desc, m->n_lora_desc, name) : NULL;
    if (!t) return NULL;
    if (numel) *numel = t->numel;
    return m->lora_params + t->off;
}

float *rlc_model_grad(rlc_model *m, const char *name, size_t *numel) {
    const tensor_desc *t = find_desc(m->desc, m->n_desc, name);
    if (t) {
        if (!m->grads) return NULL;
        if (numel) *numel = t->numel;
        return m->grads + t->off;
    }
    t = m->has_lora ? find_desc(m->lora_desc, m->n_lora_desc, name) : NULL;
    if (!t || !m->lora_grads) return NULL;
    if (numel) *numel = t->numel;
    return m->lora_grads + t->off;
}

const char *rlc_model_param_name(const rlc_model *m, int lora, int i) {
    if (lora) return i < m->n_lora_desc ? m->lora_desc[i].name : NULL;
    return i < m->n_desc ? m->desc[i].name : NULL;
}

/* ---- LoRA ---- */

static rlc_status lora_alloc(rlc_model *m, const rlc_lora_config *lc) {
    if (m->has_lora) return rlc_errorf(RLC_ERR_INVALID, "model already has a LoRA adapter");
    if (lc->rank <= 0) return rlc_errorf(RLC_ERR_INVALID, "lora rank must be positive");
    if (!(lc->targets & RLC_LORA_ALL))
        return rlc_errorf(RLC_ERR_INVALID, "lora needs at least one target module");
    int L = m->cfg.num_layers;
    m->lora_desc = rlc_calloc((size_t)L * NMOD * 2, sizeof *m->lora_desc);
    if (!m->lora_desc) return RLC_ERR_NOMEM;
    size_t total = 0, *tot[2] = {&total, &total};
    char name[128];
    rlc_status st = RLC_OK;
    for (int l = 0; l < L; l++)
        for (int i = 0; i < NMOD; i++) {
            if (!(lc->targets & (1u << i))) continue;
            int in, o;
            model_mod_dims(&m->cfg, i, &in, &o);
            snprintf(name, sizeof name, "base_model.model.model.layers.%d.%s.lora_A.weight", l,
                     mod_names[i]);
            m->layers[l].la[i] =
                add_desc(m->lora_desc, &m->n_lora_desc, tot, name, lc->rank, in, &st);
            snprintf(name, sizeof name, "base_model.model.model.layers.%d.%s.lora_B.weight", l,
                     mod_names[i]);
            m->layers[l].lb[i] =
                add_desc(m->lora_desc, &m->n_lora_desc, tot, name, o, lc->rank, &st);
        }
    if (!st) st = alloc_floats("LoRA parameters", total, &m->lora_params);
    if (st) {
        free(m->lora_desc);
        m->lora_desc = NULL;
        m->n_lora_desc = 0;
        return st;
    }
    m->n_lora = total;
    m->lc = *lc;
    m->lora_scale = model_lora_scale(lc);
    m->has_lora = 1;
    m->lora_on = 1;
    /* the base is frozen from here on */
    free(m->grads);
    m->grads = NULL;
    return RLC_OK;
}

rlc_status rlc_model_add_lora(rlc_model *m, const rlc_lora_config *lc, uint64_t seed) {
    RLC_TRY(lora_alloc(m, lc));
    /* PEFT: A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0. */
    for (int i = 0; i < m->n_lora_desc; i++) {
        tensor_desc *t = &m->lora_desc[i];
        if (!strstr(t->name, "lora_A")) continue;
        float bound = 1.0f / sqrtf((float)t->shape[1]);
        float *p = m->lora_params + t->off;
        uint64_t stream = rlc_rng_stream(0x10a, (uint64_t)i, 0);
        for (size_t j = 0; j < t->numel; j++)
            p[j] = (2.0f * rlc_rng_uniform(seed, stream, j) - 1.0f) * bound;
    }
    return RLC_OK;
}

const rlc_lora_config *rlc_model_lora_config(const rlc_model *m) {
    return m->has_lora ? &m->lc : NULL;
}

void rlc_model_set_lora_enabled(rlc_model *m, int on) {
    m->lora_on = on;
}

int rlc_model_has_lora(const rlc_model *m) {
    return m->has_lora;
}

/* A JSON field that PEFT leaves empty unless the adapter uses a feature rlc
 * does not implement: null, false, "", {} and [] count as empty. */
static int json_empty(const json_t *v) {
    return !v || json_is_null(v) || json_is_false(v) ||
           (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

rlc_status model_adapter_config_load(const char *dir, rlc_lora_config *lc) {
    char path[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "adapter_config.json"));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return rlc_errorf(RLC_ERR_FORMAT, "%s: %s (line %d)", path, jerr.text, jerr.line);
    *lc = rlc_lora_default_config();
    rlc_status st = RLC_OK;
    json_t *r = json_object_get(root, "r"), *alpha = json_object_get(root, "lora_alpha");
    json_t *tm = json_object_get(root, "target_modules"), *rs = json_object_get(root, "use_rslora");
    json_t *pt = json_object_get(root, "peft_type"), *bias = json_object_get(root, "bias");
    static const char *const unsupported[] = {"use_dora", "fan_in_fan_out", "rank_pattern",
                                              "alpha_pattern", "modules_to_save"};
    if (pt && json_is_string(pt) && strcmp(json_string_value(pt), "LORA"))
        st = rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: peft_type '%s' is not supported (expected LORA)",
                        path, json_string_value(pt));
    else if (!json_is_integer(r) || json_integer_value(r) <= 0)
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: field 'r' must be a positive integer", path);
    else if (!json_is_number(alpha))
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: field 'lora_alpha' must be a number", path);
    else if (bias && !json_is_null(bias) &&
             (!json_is_string(bias) || strcmp(json_string_value(bias), "none")))
        st = rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: field 'bias': only \"none\" is supported", path);
    for (size_t i = 0; st == RLC_OK && i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (!json_empty(json_object_get(root, unsupported[i])))
            st = rlc_errorf(RLC_ERR_UNSUPPORTED,
                            "%s: field '%s' is set; rlc supports plain LoRA only", path,
                            unsupported[i]);
    if (st == RLC_OK) {
        lc->rank = (int)json_integer_value(r);
        lc->alpha = (float)json_number_value(alpha);
        lc->use_rslora = json_is_true(rs);
        lc->targets = 0;
        if (json_is_string(tm)) {
            st = rlc_lora_parse_targets(json_string_value(tm), &lc->targets);
        } else if (json_is_array(tm)) {
            size_t i;
            json_t *v;
            json_array_foreach(tm, i, v) {
                unsigned bits;
                if (!json_is_string(v) ||
                    rlc_lora_parse_targets(json_string_value(v), &bits) != RLC_OK) {
                    st = rlc_errorf(RLC_ERR_UNSUPPORTED,
                                    "%s: target_modules entry %zu is not a supported module", path,
                                    i);
                    break;
                }
                lc->targets |= bits;
            }
        } else {
            st = rlc_errorf(RLC_ERR_FORMAT, "%s: field 'target_modules' must be a list", path);
        }
    }
    json_decref(root);
    return st;
}

rlc_status rlc_adapter_config_read(const char *dir, rlc_lora_config *lc) {
    return model_adapter_config_load(dir, lc);
}

rlc_status model_adapter_check(const char *adapter_dir, const char *base_label,
                               const char *base_sha256, char *note, size_t cap) {
    char path[4096];
    if (note && cap) note[0] = 0;
    RLC_TRY(rlc_path_join(path, sizeof path, adapter_dir, "adapter_config.json"));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return rlc_errorf(RLC_ERR_FORMAT, "%s: %s (line %d)", path, jerr.text, jerr.line);
    json_t *h = json_object_get(json_object_get(root, "rlc"), "base_config_sha256");
    const char *was = json_string_value(json_object_get(root, "base_model_name_or_path"));
    rlc_status st = RLC_OK;
    if (!json_is_string(h)) {
        if (note && cap)
            snprintf(note, cap,
                     "%s records no base model hash (rlc.base_config_sha256; not written by "
                     "rlc): not checked that %s is the model it was trained on",
                     path, base_label);
    } else if (strcmp(json_string_value(h), base_sha256)) {
        st =
            rlc_errorf(RLC_ERR_INVALID,
                       "adapter %s was trained on base '%s' (config.json sha256 %.16s...), but "
                       "the base given is '%s' (config.json sha256 %.16s...): not the same "
                       "model; pass the base it was trained on",
                       adapter_dir, was ? was : "?", json_string_value(h), base_label, base_sha256);
    }
    json_decref(root);
    return st;
}

rlc_status rlc_adapter_check_base(const char *adapter_dir, const char *base_dir, char *note,
                                  size_t cap) {
    char path[4096], hex[65];
    RLC_TRY(rlc_path_join(path, sizeof path, base_dir, "config.json"));
    RLC_TRY(rlc_sha256_file(path, hex));
    return model_adapter_check(adapter_dir, base_dir, hex, note, cap);
}

float model_lora_scale(const rlc_lora_config *lc) {
    return lc->use_rslora ? lc->alpha / sqrtf((float)lc->rank) : lc->alpha / lc->rank;
}

rlc_status rlc_model_load_adapter(rlc_model *m, const char *dir) {
    char path[4096];
    rlc_lora_config lc;
    RLC_TRY(model_adapter_config_load(dir, &lc));
    if (m->src_dir) RLC_TRY(model_adapter_check(dir, m->src_dir, m->config_sha256, NULL, 0));
    rlc_status st = RLC_OK;
    RLC_TRY(lora_alloc(m, &lc));
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "adapter_model.safetensors"));
    rlc_st_file *f = NULL;
    RLC_TRY(rlc_st_open(path, &f));
    for (int i = 0; st == RLC_OK && i < m->n_lora_desc; i++) {
        tensor_desc *t = &m->lora_desc[i];
        st = rlc_st_read_f32(f, t->name, t->ndim, t->shape, m->lora_params + t->off);
    }
    rlc_st_close(f);
    return st;
}

rlc_status rlc_model_reload_trainable(rlc_model *m, const char *dir) {
    char path[4096];
    const tensor_desc *d = m->has_lora ? m->lora_desc : m->desc;
    int n = m->has_lora ? m->n_lora_desc : m->n_desc;
    if (!m->has_lora) RLC_TRY(model_materialize(m));
    float *base = m->has_lora ? m->lora_params : m->params;
    RLC_TRY(rlc_path_join(path, sizeof path, dir,
                          m->has_lora ? "adapter_model.safetensors" : "model.safetensors"));
    rlc_st_file *f = NULL;
    RLC_TRY(rlc_st_open(path, &f));
    rlc_status st = RLC_OK;
    for (int i = 0; st == RLC_OK && i < n; i++)
        st = rlc_st_read_f32(f, d[i].name, d[i].ndim, d[i].shape, base + d[i].off);
    rlc_st_close(f);
    return st;
}

rlc_status rlc_model_save_adapter(const rlc_model *m, const char *dir) {
    if (!m->has_lora) return rlc_errorf(RLC_ERR_INVALID, "model has no LoRA adapter to save");
    char path[4096];
    RLC_TRY(rlc_mkdir_p(dir));
    json_t *root = json_object();
    json_t *tm = json_array();
    for (int i = 0; i < NMOD; i++)
        if (m->lc.targets & (1u << i)) json_array_append_new(tm, json_string(mod_short[i]));
    json_object_set_new(root, "peft_type", json_string("LORA"));
    json_object_set_new(root, "task_type", json_string("CAUSAL_LM"));
    json_object_set_new(root, "r", json_integer(m->lc.rank));
    json_object_set_new(root, "lora_alpha", json_real(m->lc.alpha));
    json_object_set_new(root, "lora_dropout", json_real(0.0));
    json_object_set_new(root, "use_rslora", json_boolean(m->lc.use_rslora));
    json_object_set_new(root, "bias", json_string("none"));
    json_object_set_new(root, "target_modules", tm);
    json_object_set_new(root, "base_model_name_or_path", json_string(m->src_dir ? m->src_dir : ""));
    json_t *meta = json_object();
    json_object_set_new(meta, "format", json_integer(1));
    if (m->config_sha256[0])
        json_object_set_new(meta, "base_config_sha256", json_string(m->config_sha256));
    json_object_set_new(root, "rlc", meta);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) return rlc_errorf(RLC_ERR_NOMEM, "adapter_config.json: out of memory");
    rlc_status st = rlc_path_join(path, sizeof path, dir, "adapter_config.json");
    if (st == RLC_OK) st = rlc_write_file_atomic(path, text, strlen(text));
    free(text);
    RLC_TRY(st);
    rlc_st_writer *w = rlc_st_writer_new();
    if (!w) return RLC_ERR_NOMEM;
    for (int i = 0; st == RLC_OK && i < m->n_lora_desc; i++) {
        const tensor_desc *t = &m->lora_desc[i];
        st = rlc_st_writer_add_f32(w, t->name, RLC_DTYPE_F32, t->ndim, t->shape,
                                   m->lora_params + t->off);
    }
    if (st == RLC_OK) st = rlc_path_join(path, sizeof path, dir, "adapter_model.safetensors");
    if (st == RLC_OK) st = rlc_st_writer_write(w, path);
    rlc_st_writer_free(w);
    return st;
}
