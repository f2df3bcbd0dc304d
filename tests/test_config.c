/* config.json: the three architectures as their Hugging Face configs spell
 * them, field errors, save -> load, and RoPE frequencies. Expected inverse
 * frequencies were computed in Python (double) with transformers' llama3 rule
 * and hardcoded. */
#include "base/fs.h"
#include "model/config.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

TestSuite(config, .init = tmpdir_setup, .fini = tmpdir_teardown);

static const char *write_cfg(const char *json) {
    const char *p = tmp_path("config.json");
    cr_assert_eq(rlc_write_file_atomic(p, json, strlen(json)), RLC_OK);
    return p;
}

static rlc_model_config load_ok(const char *json) {
    rlc_model_config c;
    rlc_status st = rlc_config_load(write_cfg(json), &c);
    cr_assert_eq(st, RLC_OK, "%s", rlc_last_error());
    return c;
}

/* Loads json, expects status st and an error naming config.json and `want`. */
static void load_bad(const char *json, rlc_status st, const char *want) {
    rlc_model_config c;
    const char *p = write_cfg(json);
    rlc_status got = rlc_config_load(p, &c);
    cr_assert_eq(got, st, "status %d, want %d (%s) for %s", got, st, rlc_last_error(), json);
    const char *msg = rlc_last_error();
    cr_assert(strstr(msg, p), "'%s' does not name the file", msg);
    cr_assert(strstr(msg, want), "'%s' lacks '%s'", msg, want);
}

/* Llama 3.2 1B. */
static const char *llama32 =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"attention_bias\": false,"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 128000,"
    " \"eos_token_id\": [128001, 128008, 128009], \"head_dim\": 64, \"hidden_act\": \"silu\","
    " \"hidden_size\": 2048, \"initializer_range\": 0.02, \"intermediate_size\": 8192,"
    " \"max_position_embeddings\": 131072, \"mlp_bias\": false, \"model_type\": \"llama\","
    " \"num_attention_heads\": 32, \"num_hidden_layers\": 16, \"num_key_value_heads\": 8,"
    " \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-05, \"rope_scaling\": {\"factor\": 32.0,"
    " \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0,"
    " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
    " \"rope_theta\": 500000.0, \"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.45.0.dev0\", \"use_cache\": true, \"vocab_size\": 128256}";

/* Qwen2.5 0.5B. */
static const char *qwen25 =
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"attention_dropout\": 0.0,"
    " \"bos_token_id\": 151643, \"eos_token_id\": 151643, \"hidden_act\": \"silu\","
    " \"hidden_size\": 896, \"initializer_range\": 0.02, \"intermediate_size\": 4864,"
    " \"max_position_embeddings\": 32768, \"max_window_layers\": 24, \"model_type\": \"qwen2\","
    " \"num_attention_heads\": 14, \"num_hidden_layers\": 24, \"num_key_value_heads\": 2,"
    " \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"sliding_window\": 32768,"
    " \"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\", \"use_cache\": true,"
    " \"use_sliding_window\": false, \"vocab_size\": 151936}";

/* Qwen3 0.6B: head_dim 128 while hidden/heads is 64. */
static const char *qwen3 =
    "{\"architectures\": [\"Qwen3ForCausalLM\"], \"attention_bias\": false,"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 151643, \"eos_token_id\": 151645,"
    " \"head_dim\": 128, \"hidden_act\": \"silu\", \"hidden_size\": 1024,"
    " \"initializer_range\": 0.02, \"intermediate_size\": 3072,"
    " \"max_position_embeddings\": 40960, \"max_window_layers\": 28, \"model_type\": \"qwen3\","
    " \"num_attention_heads\": 16, \"num_hidden_layers\": 28, \"num_key_value_heads\": 8,"
    " \"rms_norm_eps\": 1e-06, \"rope_scaling\": null, \"rope_theta\": 1000000,"
    " \"sliding_window\": null, \"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\","
    " \"use_cache\": true, \"use_sliding_window\": false, \"vocab_size\": 151936}";

Test(config, llama32_with_llama3_rope) {
    rlc_model_config c = load_ok(llama32);
    cr_assert_eq(c.arch, RLC_ARCH_LLAMA);
    cr_assert_eq(c.vocab_size, 128256);
    cr_assert_eq(c.hidden_size, 2048);
    cr_assert_eq(c.intermediate_size, 8192);
    cr_assert_eq(c.num_layers, 16);
    cr_assert_eq(c.num_heads, 32);
    cr_assert_eq(c.num_kv_heads, 8);
    cr_assert_eq(c.head_dim, 64);
    cr_assert_eq(c.max_position_embeddings, 131072);
    cr_assert_eq(c.rms_norm_eps, 1e-5f);
    cr_assert_eq(c.rope_theta, 500000.0f);
    cr_assert_eq(c.tie_word_embeddings, 1);
    cr_assert_eq(c.qkv_bias + c.o_bias + c.mlp_bias + c.qk_norm, 0);
    cr_assert_eq(c.rope_type, RLC_ROPE_LLAMA3);
    cr_assert_eq(c.rope_factor, 32.0f);
    cr_assert_eq(c.rope_low_freq_factor, 1.0f);
    cr_assert_eq(c.rope_high_freq_factor, 4.0f);
    cr_assert_eq(c.rope_original_max_pos, 8192);
    cr_assert_eq(c.bos_token_id, 128000);
    cr_assert_eq(c.num_eos, 3);
    cr_assert_eq(c.eos_token_ids[0], 128001);
    cr_assert_eq(c.eos_token_ids[2], 128009);
    cr_assert_str_eq(c.torch_dtype, "bfloat16");
}

Test(config, qwen25) {
    rlc_model_config c = load_ok(qwen25);
    cr_assert_eq(c.arch, RLC_ARCH_QWEN2);
    cr_assert_eq(c.head_dim, 64); /* 896 / 14 */
    cr_assert_eq(c.num_kv_heads, 2);
    cr_assert_eq(c.qkv_bias, 1);
    cr_assert_eq(c.o_bias, 0);
    cr_assert_eq(c.mlp_bias, 0);
    cr_assert_eq(c.qk_norm, 0);
    cr_assert_eq(c.rope_type, RLC_ROPE_DEFAULT);
    cr_assert_eq(c.rope_theta, 1e6f);
    cr_assert_eq(c.rms_norm_eps, 1e-6f);
    cr_assert_eq(c.num_eos, 1);
    cr_assert_eq(c.eos_token_ids[0], 151643);
}

Test(config, qwen3_head_dim_differs_from_hidden_over_heads) {
    rlc_model_config c = load_ok(qwen3);
    cr_assert_eq(c.arch, RLC_ARCH_QWEN3);
    cr_assert_eq(c.head_dim, 128);
    cr_assert_neq(c.head_dim, c.hidden_size / c.num_heads);
    cr_assert_eq(c.qk_norm, 1);
    cr_assert_eq(c.qkv_bias, 0);
    cr_assert_eq(c.o_bias, 0);
    cr_assert_eq(c.max_position_embeddings, 40960);
    cr_assert_eq(c.rope_type, RLC_ROPE_DEFAULT);
    /* attention_bias applies to q, k, v and o. */
    rlc_model_config b = load_ok("{\"architectures\": [\"Qwen3ForCausalLM\"], \"vocab_size\": 64,"
                                 " \"hidden_size\": 32, \"intermediate_size\": 64,"
                                 " \"num_hidden_layers\": 1, \"num_attention_heads\": 4,"
                                 " \"attention_bias\": true}");
    cr_assert_eq(b.qkv_bias, 1);
    cr_assert_eq(b.o_bias, 1);
    cr_assert_eq(b.qk_norm, 1);
}

#define MINI                                                                                       \
    "\"vocab_size\": 100, \"hidden_size\": 32, \"intermediate_size\": 64,"                         \
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4"

Test(config, defaults_and_model_type_fallback) {
    rlc_model_config c = load_ok("{\"model_type\": \"llama\", " MINI "}");
    cr_assert_eq(c.arch, RLC_ARCH_LLAMA);
    cr_assert_eq(c.num_kv_heads, 4);
    cr_assert_eq(c.head_dim, 8);
    cr_assert_eq(c.max_position_embeddings, 2048);
    cr_assert_eq(c.rms_norm_eps, 1e-6f);
    cr_assert_eq(c.rope_theta, 10000.0f);
    cr_assert_eq(c.tie_word_embeddings, 0);
    cr_assert_eq(c.bos_token_id, -1);
    cr_assert_eq(c.num_eos, 0);
    cr_assert_str_eq(c.torch_dtype, "");
    c = load_ok("{\"model_type\": \"qwen2\", " MINI ", \"dtype\": \"float32\"}");
    cr_assert_eq(c.arch, RLC_ARCH_QWEN2);
    cr_assert_eq(c.max_position_embeddings, 32768);
    cr_assert_str_eq(c.torch_dtype, "float32");
    c = load_ok("{\"model_type\": \"qwen3\", " MINI ", \"num_key_value_heads\": null}");
    cr_assert_eq(c.arch, RLC_ARCH_QWEN3);
    cr_assert_eq(c.num_kv_heads, 4);
    /* Llama biases: attention_bias on q, k, v, o; mlp_bias on the MLP. */
    c = load_ok("{\"model_type\": \"llama\", " MINI
                ", \"attention_bias\": true, \"mlp_bias\": true}");
    cr_assert_eq(c.qkv_bias + c.o_bias + c.mlp_bias, 3);
    /* Newer transformers nest rope_theta and rope_type in rope_parameters. */
    c = load_ok("{\"model_type\": \"llama\", " MINI ", \"rope_parameters\": {\"rope_theta\": "
                "250000.0, \"rope_type\": \"default\"}}");
    cr_assert_eq(c.rope_theta, 250000.0f);
    cr_assert_eq(c.rope_type, RLC_ROPE_DEFAULT);
}

Test(config, unsupported_architectures_and_features) {
    load_bad("{\"architectures\": [\"MistralForCausalLM\"], " MINI "}", RLC_ERR_UNSUPPORTED,
             "architecture 'MistralForCausalLM' is not supported");
    load_bad("{\"model_type\": \"gpt2\", " MINI "}", RLC_ERR_UNSUPPORTED,
             "model_type 'gpt2' is not supported");
    load_bad("{" MINI "}", RLC_ERR_FORMAT, "missing field 'architectures'");
    load_bad("{\"architectures\": \"LlamaForCausalLM\", " MINI "}", RLC_ERR_FORMAT,
             "field 'architectures' must be a non-empty list of strings");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rope_scaling\": {\"rope_type\": \"yarn\","
             " \"factor\": 4.0}}",
             RLC_ERR_UNSUPPORTED, "rope scaling type 'yarn' is not supported");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rope_scaling\": {\"type\": \"linear\","
             " \"factor\": 2.0}}",
             RLC_ERR_UNSUPPORTED, "rope scaling type 'linear'");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"hidden_act\": \"gelu\"}", RLC_ERR_UNSUPPORTED,
             "field 'hidden_act' is 'gelu'");
    load_bad("{\"model_type\": \"qwen2\", " MINI ", \"use_sliding_window\": true}",
             RLC_ERR_UNSUPPORTED, "use_sliding_window");
}

Test(config, field_errors) {
    load_bad("{\"model_type\": \"llama\", \"vocab_size\": 100, \"intermediate_size\": 64,"
             " \"num_hidden_layers\": 2, \"num_attention_heads\": 4}",
             RLC_ERR_FORMAT, "missing field 'hidden_size'");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"hidden_size\": -3}", RLC_ERR_FORMAT,
             "field 'hidden_size' must be a positive integer");
    load_bad("{\"model_type\": \"llama\", \"vocab_size\": 100, \"hidden_size\": \"32\","
             " \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4}",
             RLC_ERR_FORMAT, "field 'hidden_size' must be a positive integer");
    load_bad("{\"model_type\": \"llama\", \"vocab_size\": 100, \"hidden_size\": 32.5,"
             " \"intermediate_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4}",
             RLC_ERR_FORMAT, "field 'hidden_size' must be a positive integer");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"num_hidden_layers\": 0}", RLC_ERR_FORMAT,
             "field 'num_hidden_layers' must be a positive integer");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"vocab_size\": 3000000000}", RLC_ERR_FORMAT,
             "field 'vocab_size' must be a positive integer");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rms_norm_eps\": 0}", RLC_ERR_FORMAT,
             "field 'rms_norm_eps' must be a positive number");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rope_theta\": \"big\"}", RLC_ERR_FORMAT,
             "field 'rope_theta' must be a positive number");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"tie_word_embeddings\": 1}", RLC_ERR_FORMAT,
             "field 'tie_word_embeddings' must be true or false");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"eos_token_id\": \"</s>\"}", RLC_ERR_FORMAT,
             "field 'eos_token_id' must be a non-negative integer or a list");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"eos_token_id\": [1, -2]}", RLC_ERR_FORMAT,
             "field 'eos_token_id'");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"eos_token_id\": [1,2,3,4,5,6,7,8,9]}",
             RLC_ERR_UNSUPPORTED, "lists 9 ids");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rope_scaling\": {\"rope_type\": \"llama3\","
             " \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}}",
             RLC_ERR_FORMAT, "missing field 'rope_scaling.original_max_position_embeddings'");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rope_scaling\": {\"rope_type\": \"llama3\","
             " \"factor\": -8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
             " \"original_max_position_embeddings\": 8192}}",
             RLC_ERR_FORMAT, "field 'rope_scaling.factor' must be a positive number");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"rope_scaling\": [1]}", RLC_ERR_FORMAT,
             "field 'rope_scaling' must be null or an object");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"torch_dtype\": 16}", RLC_ERR_FORMAT,
             "field 'torch_dtype'");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"hidden_size\": 30}", RLC_ERR_FORMAT,
             "'hidden_size' (30) is not a multiple of 'num_attention_heads' (4)");
    /* Consistency checks run on load too. */
    load_bad("{\"model_type\": \"llama\", " MINI ", \"num_key_value_heads\": 3}", RLC_ERR_INVALID,
             "'num_attention_heads' (4) must be a multiple of 'num_key_value_heads' (3)");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"head_dim\": 7}", RLC_ERR_INVALID,
             "'head_dim' (7) must be even");
    load_bad("{\"model_type\": \"llama\", " MINI ", \"eos_token_id\": 100}", RLC_ERR_INVALID,
             "'eos_token_id' 100 is outside the vocabulary");
    load_bad("{\"model_type\": \"llama\", " MINI ", }", RLC_ERR_FORMAT, "not valid JSON");
    load_bad("[]", RLC_ERR_FORMAT, "expected a JSON object");

    rlc_model_config c;
    const char *missing = tmp_path("nope.json");
    cr_assert_eq(rlc_config_load(missing, &c), RLC_ERR_NOT_FOUND);
    cr_assert(strstr(rlc_last_error(), missing));
}

Test(config, validate) {
    rlc_model_config c = rlc_config_default();
    cr_assert_eq(rlc_config_validate(&c, "default"), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(c.arch, RLC_ARCH_LLAMA);
    cr_assert_geq(c.vocab_size, 256);
    cr_assert_eq(c.hidden_size, 64);
    cr_assert_eq(c.num_layers, 2);
    cr_assert_eq(c.num_heads, 4);
    cr_assert_eq(c.num_kv_heads, 2);
    cr_assert_eq(c.head_dim, 16);
    cr_assert_eq(c.intermediate_size, 172);
    cr_assert_eq(c.rms_norm_eps, 1e-5f);
    cr_assert_eq(c.rope_theta, 10000.0f);

    rlc_model_config b = c;
    b.num_kv_heads = 3;
    cr_assert_eq(rlc_config_validate(&b, "cfg"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "cfg: 'num_attention_heads' (4) must be a multiple"));
    b = c;
    b.hidden_size = 0;
    cr_assert_eq(rlc_config_validate(&b, "cfg"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "'hidden_size' must be a positive integer, not 0"));
    b = c;
    b.rope_type = RLC_ROPE_LLAMA3; /* factors left at 0 */
    cr_assert_eq(rlc_config_validate(&b, "cfg"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "llama3 rope_scaling needs"));
    b = c;
    b.arch = RLC_ARCH_QWEN2; /* without q/k/v bias */
    cr_assert_eq(rlc_config_validate(&b, "cfg"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "Qwen2ForCausalLM needs qkv_bias=1"));
    b = c;
    b.qk_norm = 1; /* not expressible for Llama */
    cr_assert_eq(rlc_config_validate(&b, "cfg"), RLC_ERR_INVALID);
    b = c;
    b.bos_token_id = c.vocab_size;
    cr_assert_eq(rlc_config_validate(&b, "cfg"), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "'bos_token_id'"));
}

static void assert_same_config(const rlc_model_config *a, const rlc_model_config *b) {
    cr_assert_eq(a->arch, b->arch);
    cr_assert_eq(a->vocab_size, b->vocab_size);
    cr_assert_eq(a->hidden_size, b->hidden_size);
    cr_assert_eq(a->intermediate_size, b->intermediate_size);
    cr_assert_eq(a->num_layers, b->num_layers);
    cr_assert_eq(a->num_heads, b->num_heads);
    cr_assert_eq(a->num_kv_heads, b->num_kv_heads);
    cr_assert_eq(a->head_dim, b->head_dim);
    cr_assert_eq(a->max_position_embeddings, b->max_position_embeddings);
    cr_assert_eq(a->rms_norm_eps, b->rms_norm_eps);
    cr_assert_eq(a->rope_theta, b->rope_theta);
    cr_assert_eq(a->tie_word_embeddings, b->tie_word_embeddings);
    cr_assert_eq(a->qkv_bias, b->qkv_bias);
    cr_assert_eq(a->o_bias, b->o_bias);
    cr_assert_eq(a->mlp_bias, b->mlp_bias);
    cr_assert_eq(a->qk_norm, b->qk_norm);
    cr_assert_eq(a->rope_type, b->rope_type);
    cr_assert_eq(a->rope_factor, b->rope_factor);
    cr_assert_eq(a->rope_low_freq_factor, b->rope_low_freq_factor);
    cr_assert_eq(a->rope_high_freq_factor, b->rope_high_freq_factor);
    cr_assert_eq(a->rope_original_max_pos, b->rope_original_max_pos);
    cr_assert_eq(a->bos_token_id, b->bos_token_id);
    cr_assert_eq(a->num_eos, b->num_eos);
    for (int i = 0; i < a->num_eos; i++)
        cr_assert_eq(a->eos_token_ids[i], b->eos_token_ids[i]);
    cr_assert_str_eq(a->torch_dtype, b->torch_dtype);
}

Test(config, save_load_roundtrip) {
    const char *srcs[3] = {llama32, qwen25, qwen3};
    for (int i = 0; i < 3; i++) {
        rlc_model_config a = load_ok(srcs[i]);
        const char *out = tmp_path("saved.json");
        cr_assert_eq(rlc_config_save(&a, out), RLC_OK, "%s", rlc_last_error());
        rlc_model_config b;
        cr_assert_eq(rlc_config_load(out, &b), RLC_OK, "%s", rlc_last_error());
        assert_same_config(&a, &b);
    }
    rlc_model_config d = rlc_config_default(), e;
    d.bos_token_id = -1;
    d.num_eos = 0;
    d.mlp_bias = 1;
    d.rms_norm_eps = 1e-5f;
    const char *out = tmp_path("d.json");
    cr_assert_eq(rlc_config_save(&d, out), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_config_load(out, &e), RLC_OK, "%s", rlc_last_error());
    assert_same_config(&d, &e);
    /* The file reads like one Hugging Face writes. */
    char *text;
    cr_assert_eq(rlc_read_file(out, &text, NULL), RLC_OK);
    cr_assert(strstr(text, "\"architectures\": [\n    \"LlamaForCausalLM\"\n  ]"), "%s", text);
    cr_assert(strstr(text, "\"model_type\": \"llama\""));
    cr_assert(strstr(text, "\"rms_norm_eps\": 1e-5,"), "%s", text);
    cr_assert(strstr(text, "\"rope_theta\": 10000.0,"), "%s", text);
    cr_assert(strstr(text, "\"rope_scaling\": null"));
    cr_assert(strstr(text, "\"bos_token_id\": null"));
    cr_assert(strstr(text, "\"mlp_bias\": true"));
    free(text);
    /* Saving refuses what config.json cannot express. */
    d.arch = RLC_ARCH_QWEN2;
    cr_assert_eq(rlc_config_save(&d, out), RLC_ERR_INVALID);
    cr_assert_str_eq(rlc_arch_name(RLC_ARCH_QWEN3), "Qwen3ForCausalLM");
    cr_assert_str_eq(rlc_arch_name(RLC_ARCH_COUNT), "unknown");
}

Test(config, rope_inv_freq_default) {
    rlc_model_config c = rlc_config_default(); /* head_dim 16, theta 10000 */
    float f[8];
    rlc_config_rope_inv_freq(&c, f);
    cr_assert_eq(f[0], 1.0f);
    cr_assert_float_eq(f[1], 0.31622776601683794f, 1e-9);
    cr_assert_float_eq(f[4], 0.01f, 1e-10);
    cr_assert_float_eq(f[7], 0.00031622776601683794f, 1e-12);
}

Test(config, rope_inv_freq_llama3) {
    rlc_model_config c = load_ok(llama32); /* D 64, theta 5e5, factor 32, 1..4, 8192 */
    float f[32];
    rlc_config_rope_inv_freq(&c, f);
    /* j <= 14: wavelength under 2048, unchanged; 15..17: smoothed; 18+: / 32. */
    static const struct {
        int j;
        double v;
    } want[] = {
        {0, 1.0},
        {1, 0.6636012196540833},
        {7, 0.05666962265968323},
        {14, 0.0032114461064338684},
        {15, 0.0012905478943139315},
        {16, 0.00042955679236911237},
        {17, 9.708287689136341e-05},
        {18, 1.9461638657958247e-05},
        {25, 1.1028836297555245e-06},
        {31, 9.418306490260875e-08},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double got = f[want[i].j];
        cr_assert(fabs(got - want[i].v) <= 1e-7 * want[i].v, "inv_freq[%d] = %.9g, want %.9g",
                  want[i].j, got, want[i].v);
    }
    /* Without scaling, the low band is 32 times faster. */
    c.rope_type = RLC_ROPE_DEFAULT;
    float g[32];
    rlc_config_rope_inv_freq(&c, g);
    cr_assert_eq(g[14], f[14]);
    cr_assert(fabs(g[31] / f[31] - 32.0) < 1e-5);
}
