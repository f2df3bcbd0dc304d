/* Hugging Face config.json for the Llama family (Llama, Qwen2, Qwen3).
 * Loading is strict: a field that is present must have the right type and
 * range; only fields Hugging Face itself defaults are optional, with the same
 * defaults. Anything that would change the math but that rlc does not
 * implement (other activations, sliding windows, other RoPE scalings) is
 * refused rather than ignored. */
#include "model/config.h"

#include "base/checked.h"
#include "base/fs.h"
#include "base/numfmt.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const arch_names[RLC_ARCH_COUNT] = {
    [RLC_ARCH_LLAMA] = "LlamaForCausalLM",
    [RLC_ARCH_QWEN2] = "Qwen2ForCausalLM",
    [RLC_ARCH_QWEN3] = "Qwen3ForCausalLM",
};
static const char *const model_types[RLC_ARCH_COUNT] = {
    [RLC_ARCH_LLAMA] = "llama",
    [RLC_ARCH_QWEN2] = "qwen2",
    [RLC_ARCH_QWEN3] = "qwen3",
};
/* Hugging Face defaults of max_position_embeddings per architecture. */
static const int default_max_pos[RLC_ARCH_COUNT] = {
    [RLC_ARCH_LLAMA] = 2048,
    [RLC_ARCH_QWEN2] = 32768,
    [RLC_ARCH_QWEN3] = 32768,
};

const char *rlc_arch_name(rlc_arch a) {
    if ((unsigned)a >= RLC_ARCH_COUNT) return "unknown";
    return arch_names[a];
}

rlc_model_config rlc_config_default(void) {
    rlc_model_config c = {
        .arch = RLC_ARCH_LLAMA,
        .vocab_size = 264, /* 256 bytes + specials, rounded up to a multiple of 8 */
        .hidden_size = 64,
        .intermediate_size = 172,
        .num_layers = 2,
        .num_heads = 4,
        .num_kv_heads = 2,
        .head_dim = 16,
        .max_position_embeddings = 512,
        .rms_norm_eps = 1e-5f,
        .rope_theta = 10000.0f,
        .rope_type = RLC_ROPE_DEFAULT,
        .bos_token_id = 256,
        .eos_token_ids = {257},
        .num_eos = 1,
        .torch_dtype = "float32",
    };
    return c;
}

/* ---- loading ---- */

/* Present and not null. */
static const json_t *field(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* Integer field >= min; absent/null gives def, or an error if required. */
static rlc_status get_int(const json_t *obj, const char *path, const char *prefix, const char *key,
                          int required, int def, int min, int *out) {
    const char *what = min > 0 ? "a positive integer" : "a non-negative integer";
    const json_t *v = field(obj, key);
    if (!v) {
        if (required)
            return rlc_errorf(RLC_ERR_FORMAT, "%s: missing field '%s%s' (expected %s)", path,
                              prefix, key, what);
        *out = def;
        return RLC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > INT_MAX)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field '%s%s' must be %s", path, prefix, key, what);
    *out = (int)json_integer_value(v);
    return RLC_OK;
}

/* Finite number field > 0. */
static rlc_status get_pos_num(const json_t *obj, const char *path, const char *prefix,
                              const char *key, int required, double def, float *out) {
    const json_t *v = field(obj, key);
    if (!v) {
        if (required)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: missing field '%s%s' (expected a positive number)", path, prefix,
                              key);
        *out = (float)def;
        return RLC_OK;
    }
    double d = json_is_number(v) ? json_number_value(v) : -1.0;
    if (!(d > 0) || !isfinite((float)d))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field '%s%s' must be a positive number", path,
                          prefix, key);
    *out = (float)d;
    return RLC_OK;
}

static rlc_status get_bool(const json_t *obj, const char *path, const char *key, int *out) {
    const json_t *v = field(obj, key);
    if (!v) {
        *out = 0; /* every boolean rlc reads defaults to false in Hugging Face */
        return RLC_OK;
    }
    if (!json_is_boolean(v))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field '%s' must be true or false", path, key);
    *out = json_is_true(v);
    return RLC_OK;
}

static rlc_status load_arch(const json_t *root, const char *path, rlc_arch *arch) {
    const json_t *archs = field(root, "architectures");
    if (archs) {
        if (!json_is_array(archs) || json_array_size(archs) == 0)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: field 'architectures' must be a non-empty list of strings",
                              path);
        size_t i;
        const json_t *v;
        json_array_foreach(archs, i, v) {
            if (!json_is_string(v))
                return rlc_errorf(RLC_ERR_FORMAT,
                                  "%s: field 'architectures' must be a non-empty list of strings",
                                  path);
            for (int a = 0; a < RLC_ARCH_COUNT; a++) {
                if (strcmp(json_string_value(v), arch_names[a]) == 0) {
                    *arch = (rlc_arch)a;
                    return RLC_OK;
                }
            }
        }
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: architecture '%s' is not supported (expected LlamaForCausalLM, "
                          "Qwen2ForCausalLM or Qwen3ForCausalLM)",
                          path, json_string_value(json_array_get(archs, 0)));
    }
    const json_t *mt = field(root, "model_type");
    if (!mt)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: missing field 'architectures' (and 'model_type')",
                          path);
    if (!json_is_string(mt))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field 'model_type' must be a string", path);
    for (int a = 0; a < RLC_ARCH_COUNT; a++) {
        if (strcmp(json_string_value(mt), model_types[a]) == 0) {
            *arch = (rlc_arch)a;
            return RLC_OK;
        }
    }
    return rlc_errorf(RLC_ERR_UNSUPPORTED,
                      "%s: model_type '%s' is not supported (expected llama, qwen2 or qwen3)", path,
                      json_string_value(mt));
}

/* rope_theta and rope_scaling; newer transformers nest both in
 * "rope_parameters", which is read when the older fields are absent. */
static rlc_status load_rope(const json_t *root, const char *path, rlc_model_config *c) {
    const json_t *params = field(root, "rope_parameters");
    if (params && !json_is_object(params))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field 'rope_parameters' must be an object", path);
    if (field(root, "rope_theta") || !params)
        RLC_TRY(get_pos_num(root, path, "", "rope_theta", 0, 10000.0, &c->rope_theta));
    else
        RLC_TRY(get_pos_num(params, path, "rope_parameters.", "rope_theta", 0, 10000.0,
                            &c->rope_theta));

    const char *prefix = "rope_scaling.";
    const json_t *rs = field(root, "rope_scaling");
    if (!rs && params) {
        rs = params;
        prefix = "rope_parameters.";
    }
    c->rope_type = RLC_ROPE_DEFAULT;
    if (!rs) return RLC_OK;
    if (!json_is_object(rs))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field 'rope_scaling' must be null or an object",
                          path);
    const json_t *t = field(rs, "rope_type");
    if (!t) t = field(rs, "type");
    if (!t) {
        if (rs == params) return RLC_OK; /* rope_theta only */
        return rlc_errorf(RLC_ERR_FORMAT, "%s: missing field '%srope_type'", path, prefix);
    }
    if (!json_is_string(t))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field '%srope_type' must be a string", path, prefix);
    const char *type = json_string_value(t);
    if (strcmp(type, "default") == 0) return RLC_OK;
    if (strcmp(type, "llama3") != 0)
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: rope scaling type '%s' is not supported (only 'llama3')", path,
                          type);
    c->rope_type = RLC_ROPE_LLAMA3;
    RLC_TRY(get_pos_num(rs, path, prefix, "factor", 1, 0, &c->rope_factor));
    RLC_TRY(get_pos_num(rs, path, prefix, "low_freq_factor", 1, 0, &c->rope_low_freq_factor));
    RLC_TRY(get_pos_num(rs, path, prefix, "high_freq_factor", 1, 0, &c->rope_high_freq_factor));
    return get_int(rs, path, prefix, "original_max_position_embeddings", 1, 0, 1,
                   &c->rope_original_max_pos);
}

static rlc_status load_tokens(const json_t *root, const char *path, rlc_model_config *c) {
    RLC_TRY(get_int(root, path, "", "bos_token_id", 0, -1, 0, &c->bos_token_id));
    const json_t *eos = field(root, "eos_token_id");
    c->num_eos = 0;
    if (!eos) return RLC_OK;
    const char *msg = "%s: field 'eos_token_id' must be a non-negative integer or a list of them";
    if (json_is_integer(eos)) {
        if (json_integer_value(eos) < 0 || json_integer_value(eos) > INT_MAX)
            return rlc_errorf(RLC_ERR_FORMAT, msg, path);
        c->eos_token_ids[c->num_eos++] = (int)json_integer_value(eos);
        return RLC_OK;
    }
    if (!json_is_array(eos)) return rlc_errorf(RLC_ERR_FORMAT, msg, path);
    if (json_array_size(eos) > RLC_MAX_EOS)
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: field 'eos_token_id' lists %zu ids (at most %d)", path,
                          json_array_size(eos), RLC_MAX_EOS);
    size_t i;
    const json_t *v;
    json_array_foreach(eos, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
            return rlc_errorf(RLC_ERR_FORMAT, msg, path);
        c->eos_token_ids[c->num_eos++] = (int)json_integer_value(v);
    }
    return RLC_OK;
}

static rlc_status load_fields(const json_t *root, const char *path, rlc_model_config *c) {
    if (!json_is_object(root))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: expected a JSON object", path);
    RLC_TRY(load_arch(root, path, &c->arch));
    RLC_TRY(get_int(root, path, "", "vocab_size", 1, 0, 1, &c->vocab_size));
    RLC_TRY(get_int(root, path, "", "hidden_size", 1, 0, 1, &c->hidden_size));
    RLC_TRY(get_int(root, path, "", "intermediate_size", 1, 0, 1, &c->intermediate_size));
    RLC_TRY(get_int(root, path, "", "num_hidden_layers", 1, 0, 1, &c->num_layers));
    RLC_TRY(get_int(root, path, "", "num_attention_heads", 1, 0, 1, &c->num_heads));
    RLC_TRY(get_int(root, path, "", "num_key_value_heads", 0, c->num_heads, 1, &c->num_kv_heads));
    if (!field(root, "head_dim") && c->hidden_size % c->num_heads != 0)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: field 'hidden_size' (%d) is not a multiple of "
                          "'num_attention_heads' (%d) and 'head_dim' is not given",
                          path, c->hidden_size, c->num_heads);
    RLC_TRY(get_int(root, path, "", "head_dim", 0, c->hidden_size / c->num_heads, 1, &c->head_dim));
    RLC_TRY(get_int(root, path, "", "max_position_embeddings", 0, default_max_pos[c->arch], 1,
                    &c->max_position_embeddings));
    RLC_TRY(get_pos_num(root, path, "", "rms_norm_eps", 0, 1e-6, &c->rms_norm_eps));
    RLC_TRY(get_bool(root, path, "tie_word_embeddings", &c->tie_word_embeddings));

    const json_t *act = field(root, "hidden_act");
    if (act && !json_is_string(act))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field 'hidden_act' must be a string", path);
    if (act && strcmp(json_string_value(act), "silu") != 0)
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: field 'hidden_act' is '%s', only 'silu' is supported", path,
                          json_string_value(act));
    int sliding;
    RLC_TRY(get_bool(root, path, "use_sliding_window", &sliding));
    if (sliding)
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: field 'use_sliding_window' is true; sliding-window attention is "
                          "not supported",
                          path);

    int attn_bias, mlp_bias;
    RLC_TRY(get_bool(root, path, "attention_bias", &attn_bias));
    RLC_TRY(get_bool(root, path, "mlp_bias", &mlp_bias));
    switch (c->arch) {
    case RLC_ARCH_LLAMA:
        c->qkv_bias = c->o_bias = attn_bias;
        c->mlp_bias = mlp_bias;
        break;
    case RLC_ARCH_QWEN2: /* bias on q/k/v always, never on o or the MLP */
        c->qkv_bias = 1;
        break;
    case RLC_ARCH_QWEN3:
        c->qkv_bias = c->o_bias = attn_bias;
        c->qk_norm = 1;
        break;
    default:
        break;
    }
    RLC_TRY(load_rope(root, path, c));
    RLC_TRY(load_tokens(root, path, c));

    const char *dkey = field(root, "torch_dtype") ? "torch_dtype" : "dtype";
    const json_t *dt = field(root, dkey);
    if (dt && (!json_is_string(dt) || strlen(json_string_value(dt)) >= sizeof c->torch_dtype))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: field '%s' must be a dtype name such as 'bfloat16'",
                          path, dkey);
    if (dt) snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", json_string_value(dt));
    return RLC_OK;
}

rlc_status rlc_config_load(const char *path, rlc_model_config *cfg) {
    char *text;
    size_t len;
    RLC_TRY(rlc_read_file(path, &text, &len));
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    free(text);
    if (!root)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: not valid JSON: %s (line %d, column %d)", path,
                          err.text, err.line, err.column);
    rlc_model_config c;
    memset(&c, 0, sizeof c);
    rlc_status st = load_fields(root, path, &c);
    json_decref(root);
    if (st == RLC_OK) st = rlc_config_validate(&c, path);
    if (st == RLC_OK) *cfg = c;
    return st;
}

/* ---- validation ---- */

rlc_status rlc_config_validate(const rlc_model_config *c, const char *what) {
    if ((unsigned)c->arch >= RLC_ARCH_COUNT)
        return rlc_errorf(RLC_ERR_INVALID, "%s: unknown architecture %d", what, (int)c->arch);
    const struct {
        const char *name;
        int v;
    } pos[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"intermediate_size", c->intermediate_size},
        {"num_hidden_layers", c->num_layers},
        {"num_attention_heads", c->num_heads},
        {"num_key_value_heads", c->num_kv_heads},
        {"head_dim", c->head_dim},
        {"max_position_embeddings", c->max_position_embeddings},
    };
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v <= 0)
            return rlc_errorf(RLC_ERR_INVALID, "%s: field '%s' must be a positive integer, not %d",
                              what, pos[i].name, pos[i].v);
    /* Sane limits, far above any released model's (vocabularies reach ~262k,
     * widths 16k, depths ~128), so that no product of these sizes in an
     * allocation or an int index can overflow and a corrupt file fails here
     * instead of asking for terabytes */
    static const int limit[] = {1 << 22, 1 << 16, 1 << 20, 1 << 12,
                                1 << 12, 1 << 12, 1 << 12, 1 << 24};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v > limit[i])
            return rlc_errorf(RLC_ERR_INVALID, "%s: field '%s' is %d, above rlc's limit of %d",
                              what, pos[i].name, pos[i].v, limit[i]);
    size_t qd = 0;
    RLC_TRY(rlc_mul_size_what(what, (size_t)c->num_heads, (size_t)c->head_dim, &qd));
    if (qd > 1 << 20)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: num_attention_heads x head_dim = %d x %d, above rlc's limit of %d",
                          what, c->num_heads, c->head_dim, 1 << 20);
    if (c->num_heads % c->num_kv_heads != 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: 'num_attention_heads' (%d) must be a multiple of "
                          "'num_key_value_heads' (%d)",
                          what, c->num_heads, c->num_kv_heads);
    if (c->head_dim % 2 != 0)
        return rlc_errorf(RLC_ERR_INVALID, "%s: 'head_dim' (%d) must be even for RoPE", what,
                          c->head_dim);
    if (!(c->rms_norm_eps > 0) || !isfinite(c->rms_norm_eps))
        return rlc_errorf(RLC_ERR_INVALID, "%s: 'rms_norm_eps' must be a positive number", what);
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        return rlc_errorf(RLC_ERR_INVALID, "%s: 'rope_theta' must be a positive number", what);
    if (c->rope_type == RLC_ROPE_LLAMA3) {
        if (!(c->rope_factor > 0) || !(c->rope_low_freq_factor > 0) ||
            !(c->rope_high_freq_factor > c->rope_low_freq_factor) || c->rope_original_max_pos <= 0)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s: llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < "
                              "high_freq_factor and original_max_position_embeddings > 0",
                              what);
    } else if (c->rope_type != RLC_ROPE_DEFAULT) {
        return rlc_errorf(RLC_ERR_INVALID, "%s: unknown rope type %d", what, (int)c->rope_type);
    }
    if (c->bos_token_id < -1 || c->bos_token_id >= c->vocab_size)
        return rlc_errorf(RLC_ERR_INVALID, "%s: 'bos_token_id' %d is outside the vocabulary (%d)",
                          what, c->bos_token_id, c->vocab_size);
    if (c->num_eos < 0 || c->num_eos > RLC_MAX_EOS)
        return rlc_errorf(RLC_ERR_INVALID, "%s: %d eos tokens (at most %d)", what, c->num_eos,
                          RLC_MAX_EOS);
    for (int i = 0; i < c->num_eos; i++)
        if (c->eos_token_ids[i] < 0 || c->eos_token_ids[i] >= c->vocab_size)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s: 'eos_token_id' %d is outside the vocabulary (%d)", what,
                              c->eos_token_ids[i], c->vocab_size);
    /* Only combinations a Hugging Face config.json can express. */
    int ok;
    const char *need;
    switch (c->arch) {
    case RLC_ARCH_QWEN2:
        ok = c->qkv_bias == 1 && c->o_bias == 0 && c->mlp_bias == 0 && c->qk_norm == 0;
        need = "qkv_bias=1, o_bias=0, mlp_bias=0, qk_norm=0";
        break;
    case RLC_ARCH_QWEN3:
        ok = (c->qkv_bias == 0 || c->qkv_bias == 1) && c->o_bias == c->qkv_bias &&
             c->mlp_bias == 0 && c->qk_norm == 1;
        need = "qkv_bias=o_bias (attention_bias), mlp_bias=0, qk_norm=1";
        break;
    default:
        ok = (c->qkv_bias == 0 || c->qkv_bias == 1) && c->o_bias == c->qkv_bias &&
             (c->mlp_bias == 0 || c->mlp_bias == 1) && c->qk_norm == 0;
        need = "qkv_bias=o_bias (attention_bias), mlp_bias 0 or 1, qk_norm=0";
        break;
    }
    if (!ok) return rlc_errorf(RLC_ERR_INVALID, "%s: %s needs %s", what, arch_names[c->arch], need);
    return RLC_OK;
}

/* ---- saving ---- */

/* The double whose shortest decimal form reads back as f, so config.json
 * shows 1e-05 rather than 9.99999974737875e-06. */
static json_t *real_of(float f) {
    char buf[32];
    if (!isfinite(f)) return json_real((double)f);
    rlc_format_float(buf, sizeof buf, f);
    return json_real(strtod(buf, NULL));
}

rlc_status rlc_config_save(const rlc_model_config *c, const char *path) {
    RLC_TRY(rlc_config_validate(c, path));
    json_t *o = json_object();
    if (!o) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", path);
    json_object_set_new(o, "architectures", json_pack("[s]", arch_names[c->arch]));
    json_object_set_new(o, "model_type", json_string(model_types[c->arch]));
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "hidden_size", json_integer(c->hidden_size));
    json_object_set_new(o, "intermediate_size", json_integer(c->intermediate_size));
    json_object_set_new(o, "num_hidden_layers", json_integer(c->num_layers));
    json_object_set_new(o, "num_attention_heads", json_integer(c->num_heads));
    json_object_set_new(o, "num_key_value_heads", json_integer(c->num_kv_heads));
    json_object_set_new(o, "head_dim", json_integer(c->head_dim));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->max_position_embeddings));
    json_object_set_new(o, "hidden_act", json_string("silu"));
    json_object_set_new(o, "rms_norm_eps", real_of(c->rms_norm_eps));
    json_object_set_new(o, "rope_theta", real_of(c->rope_theta));
    json_t *rs = json_null();
    if (c->rope_type == RLC_ROPE_LLAMA3) {
        rs = json_object();
        json_object_set_new(rs, "rope_type", json_string("llama3"));
        json_object_set_new(rs, "factor", real_of(c->rope_factor));
        json_object_set_new(rs, "low_freq_factor", real_of(c->rope_low_freq_factor));
        json_object_set_new(rs, "high_freq_factor", real_of(c->rope_high_freq_factor));
        json_object_set_new(rs, "original_max_position_embeddings",
                            json_integer(c->rope_original_max_pos));
    }
    json_object_set_new(o, "rope_scaling", rs);
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    if (c->arch == RLC_ARCH_QWEN2) {
        json_object_set_new(o, "use_sliding_window", json_false());
    } else {
        json_object_set_new(o, "attention_bias", json_boolean(c->qkv_bias));
        if (c->arch == RLC_ARCH_LLAMA)
            json_object_set_new(o, "mlp_bias", json_boolean(c->mlp_bias));
    }
    json_object_set_new(o, "bos_token_id",
                        c->bos_token_id >= 0 ? json_integer(c->bos_token_id) : json_null());
    json_t *eos = json_null();
    if (c->num_eos == 1) eos = json_integer(c->eos_token_ids[0]);
    if (c->num_eos > 1) {
        eos = json_array();
        for (int i = 0; i < c->num_eos; i++)
            json_array_append_new(eos, json_integer(c->eos_token_ids[i]));
    }
    json_object_set_new(o, "eos_token_id", eos);
    if (c->torch_dtype[0]) json_object_set_new(o, "torch_dtype", json_string(c->torch_dtype));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!text) return rlc_errorf(RLC_ERR_INVALID, "%s: cannot encode the config as JSON", path);
    size_t n = strlen(text);
    char *out = rlc_malloc(n + 2);
    if (!out) {
        free(text);
        return RLC_ERR_NOMEM;
    }
    memcpy(out, text, n);
    out[n] = '\n';
    free(text);
    rlc_status st = rlc_write_file_atomic(path, out, n + 1);
    free(out);
    return st;
}

/* ---- RoPE ---- */

void rlc_config_rope_inv_freq(const rlc_model_config *c, float *inv_freq) {
    const double pi = 3.14159265358979323846;
    int half = c->head_dim / 2;
    double theta = c->rope_theta;
    for (int j = 0; j < half; j++) {
        double inv = pow(theta, -2.0 * j / c->head_dim);
        if (c->rope_type == RLC_ROPE_LLAMA3) {
            /* transformers' _compute_llama3_parameters: long wavelengths are
             * slowed by `factor`, short ones kept, and the band in between
             * interpolated smoothly. */
            double factor = c->rope_factor, low = c->rope_low_freq_factor;
            double high = c->rope_high_freq_factor, orig = c->rope_original_max_pos;
            double low_wavelen = orig / low, high_wavelen = orig / high;
            double wavelen = 2 * pi / inv;
            if (wavelen > low_wavelen) {
                inv = inv / factor;
            } else if (wavelen >= high_wavelen) {
                double smooth = (orig / wavelen - low) / (high - low);
                inv = (1 - smooth) * inv / factor + smooth * inv;
            }
        }
        inv_freq[j] = (float)inv;
    }
}
