/* rlc info, rlc generate and rlc merge. */
#include "cli/args.h"
#include "cli/cli.h"

#include "base/fs.h"
#include "model/generate.h"
#include "model/merge.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"
#include "train/policy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_bytes(const char *label, double b) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4)
        b /= 1024, i++;
    printf("%-28s %.2f %s\n", label, b, u[i]);
}

int rlc_cmd_info(int argc, char **argv) {
    const char *dir = NULL;
    rlc_opt opts[] = {
        {"model", OPT_STR, &dir, "DIR", "Hugging Face model directory (config.json + safetensors)"},
        {0},
    };
    int pr = rlc_cli_parse("info", "--model DIR", opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!dir) {
        fprintf(stderr, "rlc info: --model DIR is required\n");
        return 2;
    }
    rlc_model *m;
    rlc_status st = rlc_model_load(dir, &m);
    if (st) return rlc_cli_fail(st);
    const rlc_model_config *c = rlc_model_cfg(m);
    size_t n = rlc_model_num_params(m);
    printf("%-28s %s\n", "architecture", rlc_arch_name(c->arch));
    printf("%-28s %zu (%.2fM)\n", "parameters", n, n / 1e6);
    printf("%-28s %s on disk, float32 in memory\n", "dtype",
           rlc_dtype_name(rlc_model_file_dtype(m)));
    printf("%-28s %d layers, hidden %d, intermediate %d\n", "shape", c->num_layers, c->hidden_size,
           c->intermediate_size);
    printf("%-28s %d query, %d key/value, head_dim %d%s\n", "attention heads", c->num_heads,
           c->num_kv_heads, c->head_dim, c->qk_norm ? ", q/k norm" : "");
    printf("%-28s %d\n", "vocab", c->vocab_size);
    printf("%-28s theta %g%s\n", "rope", c->rope_theta,
           c->rope_type == RLC_ROPE_LLAMA3 ? ", llama3 scaling" : "");
    printf("%-28s %s\n", "tied embeddings", c->tie_word_embeddings ? "yes" : "no");
    print_bytes("memory: weights", 4.0 * n);
    print_bytes("memory: full fine-tune", 16.0 * n); /* weights, grads, Adam m and v */
    /* KV cache per token: 2 (k,v) * layers * kv_heads * head_dim floats */
    print_bytes("memory: KV cache / token", 8.0 * c->num_layers * c->num_kv_heads * c->head_dim);
    rlc_model_free(m);
    return 0;
}

static void json_ids(json_t *o, const char *key, const int *ids, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    json_object_set_new(o, key, a);
}

/* Streams one sample to stdout as its tokens are drawn: text through the
 * streaming decoder (special tokens dropped, as in the final decode), or ids. */
typedef struct stream_out {
    rlc_detok d;
    int has_tok, n;
} stream_out;

static void stream_token(void *ud, int seq, int tok) {
    stream_out *so = ud;
    (void)seq;
    if (so->has_tok) {
        const char *t;
        size_t len;
        if (rlc_detok_push(&so->d, tok, &t, &len) == RLC_OK) fwrite(t, 1, len, stdout);
    } else {
        printf("%s%d", so->n ? " " : "", tok);
    }
    so->n++;
    fflush(stdout);
}

int rlc_cmd_generate(int argc, char **argv) {
    const char *dir = NULL, *adapter = NULL, *prompt = NULL, *prompt_ids = NULL, *tok_path = NULL;
    const char *chat = NULL;
    rlc_gen_params p = rlc_gen_default_params();
    int as_json = 0, no_eos = 0, warmup = 0;
    rlc_opt opts[] = {
        {"model", OPT_STR, &dir, "DIR", "model directory (Hugging Face, or a run's final/)"},
        {"adapter", OPT_STR, &adapter, "DIR",
         "PEFT LoRA adapter directory; refused when trained on another base"},
        {"prompt", OPT_STR, &prompt, "TEXT",
         "prompt text (needs the model's tokenizer.json or rlc_tokenizer.json)"},
        {"tokenizer", OPT_STR, &tok_path, "PATH",
         "tokenizer.json, rlc_tokenizer.json or the directory holding one (default: --model)"},
        {"prompt-ids", OPT_STR, &prompt_ids, "1,2,3", "prompt as token ids"},
        {"chat", OPT_STR, &chat, "FORMAT",
         "wrap --prompt as a user turn: auto (from tokenizer_config.json), chatml, qwen3, "
         "llama3 or none"},
        {"max-new-tokens", OPT_INT, &p.max_new_tokens, "N", "tokens to generate (64)"},
        {"samples", OPT_INT, &p.num_samples, "G", "samples for the prompt (1)"},
        {"temperature", OPT_FLOAT, &p.sampler.temperature, "T",
         "sampling temperature, 0 = greedy (1)"},
        {"top-p", OPT_FLOAT, &p.sampler.top_p, "P", "nucleus sampling mass (1 = off)"},
        {"top-k", OPT_INT, &p.sampler.top_k, "K", "keep the K most likely tokens (0 = off)"},
        {"min-p", OPT_FLOAT, &p.sampler.min_p, "P",
         "drop tokens below P x the top probability (0)"},
        {"seed", OPT_U64, &p.seed, "S", "random seed (0)"},
        {"no-eos", OPT_FLAG, &no_eos, NULL, "do not stop at the model's end-of-sequence ids"},
        {"warmup", OPT_INT, &warmup, "N",
         "run the same generation N times first, unprinted and untimed (0): the tok/s of --json "
         "then measure a warm process, as in a training run or llama-bench"},
        {"json", OPT_FLAG, &as_json, NULL,
         "print one JSON object at the end (ids, logprobs, text, token counts, prefill and "
         "decode tokens/s); without it one sample's text is printed as it is generated"},
        {0},
    };
    int pr = rlc_cli_parse("generate", "--model DIR (--prompt TEXT | --prompt-ids 1,2,3) [options]",
                           opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!dir || (!prompt && !prompt_ids) || (prompt && prompt_ids)) {
        fprintf(stderr, "rlc generate: needs --model DIR and one of --prompt or --prompt-ids\n");
        return 2;
    }
    if (p.max_new_tokens <= 0 || p.num_samples <= 0 || warmup < 0 || p.sampler.temperature < 0 ||
        p.sampler.top_p <= 0 || p.sampler.top_p > 1 || p.sampler.top_k < 0 || p.sampler.min_p < 0 ||
        p.sampler.min_p > 1) {
        fprintf(stderr,
                "rlc generate: out-of-range option (max-new-tokens, samples > 0; warmup >= 0; "
                "temperature >= 0; 0 < top-p <= 1; top-k >= 0; 0 <= min-p <= 1)\n");
        return 2;
    }
    p.use_eos = !no_eos;
    /* The tokenizer is needed for --prompt; otherwise it is used, when the
     * model directory has one, only to print text. */
    rlc_tokenizer *tok = NULL;
    rlc_status tst = rlc_tokenizer_open(tok_path ? tok_path : dir, &tok);
    if (tst == RLC_ERR_NOT_FOUND && !tok_path && !prompt)
        rlc_clear_error();
    else if (tst)
        return rlc_cli_fail(tst);
    int *ids = NULL, n = 0;
    char *chat_text = NULL;
    if (chat && !prompt) {
        rlc_tokenizer_free(tok);
        fprintf(stderr, "rlc generate: --chat needs --prompt\n");
        return 2;
    }
    if (chat) {
        rlc_chat_format f;
        rlc_status cst = rlc_chat_parse(chat, &f);
        if (cst == RLC_OK && f == RLC_CHAT_AUTO && rlc_tokenizer_is_byte(tok)) {
            f = RLC_CHAT_NONE; /* a byte-tokenizer model has no chat template */
        } else if (cst == RLC_OK && f == RLC_CHAT_AUTO) {
            char cfg[4096];
            const char *base = tok_path ? tok_path : dir;
            /* tok_path may name tokenizer.json itself: look beside it */
            const char *slash = strrchr(base, '/');
            if (strstr(base, ".json") && slash)
                snprintf(cfg, sizeof cfg, "%.*s/tokenizer_config.json", (int)(slash - base), base);
            else
                cst = rlc_path_join(cfg, sizeof cfg, base, "tokenizer_config.json");
            if (cst == RLC_OK) cst = rlc_chat_detect(cfg, &f);
        }
        rlc_chat_msg msg = {"user", prompt};
        if (cst == RLC_OK) cst = rlc_chat_render(f, &msg, 1, 1, 0, &chat_text);
        if (cst) {
            rlc_tokenizer_free(tok);
            return rlc_cli_fail(cst);
        }
        prompt = chat_text;
    }
    if (prompt) {
        rlc_status tst = rlc_tokenizer_encode(tok, prompt, strlen(prompt), &ids, &n);
        free(chat_text);
        chat_text = NULL;
        prompt = NULL;
        if (!tst && !n) tst = rlc_errorf(RLC_ERR_INVALID, "--prompt is empty");
        if (tst) {
            free(ids);
            rlc_tokenizer_free(tok);
            return rlc_cli_fail(tst);
        }
    } else if (rlc_cli_parse_ids(prompt_ids, &ids, &n)) {
        rlc_tokenizer_free(tok);
        return 2;
    }
    rlc_model *m = NULL;
    char note[640] = "";
    rlc_status st = rlc_model_load(dir, &m);
    if (st == RLC_OK && adapter) st = rlc_adapter_check_base(adapter, dir, note, sizeof note);
    if (note[0]) fprintf(stderr, "rlc generate: note: %s\n", note);
    if (st == RLC_OK && adapter) st = rlc_model_load_adapter(m, adapter);
    rlc_gen_out out = {0};
    const int *prompts[1] = {ids};
    /* never draw a padding row or an id the tokenizer has no token for */
    if (st == RLC_OK && tok)
        rlc_policy_restrict_sampler(tok, rlc_model_cfg(m)->vocab_size, &p.sampler);
    stream_out so = {.has_tok = tok != NULL};
    int streaming = !as_json && p.num_samples == 1;
    if (streaming) {
        if (tok) rlc_detok_init(&so.d, tok, 1);
        p.token_fn = stream_token;
        p.token_ud = &so;
    }
    for (int w = 0; st == RLC_OK && w < warmup; w++) {
        rlc_gen_params pw = p;
        pw.token_fn = NULL;
        st = rlc_generate(m, prompts, &n, 1, &pw, &out);
        rlc_gen_out_free(&out);
    }
    if (st == RLC_OK) st = rlc_generate(m, prompts, &n, 1, &p, &out);
    if (streaming && tok) {
        const char *t;
        size_t len;
        if (st == RLC_OK && rlc_detok_flush(&so.d, &t, &len) == RLC_OK) fwrite(t, 1, len, stdout);
        rlc_detok_free(&so.d);
    }
    if (streaming && st == RLC_OK) printf("\t[%s]\n", rlc_finish_reason_str(out.finish[0]));
    if (st) {
        free(ids);
        rlc_model_free(m);
        rlc_tokenizer_free(tok);
        return rlc_cli_fail(st);
    }
    char **texts = calloc((size_t)out.num_seqs, sizeof *texts);
    size_t *tlens = calloc((size_t)out.num_seqs, sizeof *tlens);
    for (int s = 0; tok && texts && tlens && s < out.num_seqs; s++)
        if (rlc_tokenizer_decode(tok, out.ids + (size_t)s * out.max_new, out.len[s], 1, &texts[s],
                                 &tlens[s]))
            texts[s] = NULL;
    if (as_json) {
        json_t *root = json_object();
        json_ids(root, "prompt_ids", ids, n);
        long gen = 0;
        for (int s = 0; s < out.num_seqs; s++)
            gen += out.len[s];
        /* the prompt is run once for all samples; decode: every generated token */
        json_object_set_new(root, "prompt_tokens", json_integer(n));
        json_object_set_new(root, "generated_tokens", json_integer(gen));
        json_object_set_new(root, "prefill_tokens_per_s",
                            json_real(out.prefill_s > 0 ? n / out.prefill_s : 0));
        json_object_set_new(root, "decode_tokens_per_s",
                            json_real(out.decode_s > 0 ? gen / out.decode_s : 0));
        json_t *samples = json_array();
        for (int s = 0; s < out.num_seqs; s++) {
            json_t *o = s == 0 ? root : json_object();
            json_ids(o, "ids", out.ids + (size_t)s * out.max_new, out.len[s]);
            json_t *lp = json_array();
            for (int i = 0; i < out.len[s]; i++)
                json_array_append_new(lp, json_real(out.logprobs[(size_t)s * out.max_new + i]));
            json_object_set_new(o, "logprobs", lp);
            json_object_set_new(o, "finish_reason",
                                json_string(rlc_finish_reason_str(out.finish[s])));
            if (texts && texts[s])
                json_object_set_new(o, "text", rlc_cli_json_text(texts[s], tlens[s]));
            if (s > 0) json_array_append_new(samples, o);
        }
        if (out.num_seqs > 1)
            json_object_set_new(root, "more_samples", samples);
        else
            json_decref(samples);
        char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
        puts(text);
        free(text);
        json_decref(root);
    } else if (!streaming) {
        for (int s = 0; s < out.num_seqs; s++) {
            if (texts && texts[s]) {
                fwrite(texts[s], 1, tlens[s], stdout);
            } else {
                for (int i = 0; i < out.len[s]; i++)
                    printf("%s%d", i ? " " : "", out.ids[(size_t)s * out.max_new + i]);
            }
            printf("\t[%s]\n", rlc_finish_reason_str(out.finish[s]));
        }
    }
    for (int s = 0; texts && s < out.num_seqs; s++)
        free(texts[s]);
    free(texts);
    free(tlens);
    rlc_gen_out_free(&out);
    free(ids);
    rlc_model_free(m);
    rlc_tokenizer_free(tok);
    return 0;
}

int rlc_cmd_merge(int argc, char **argv) {
    const char *base = NULL, *adapter = NULL, *out = NULL;
    rlc_opt opts[] = {
        {"base", OPT_STR, &base, "DIR", "Hugging Face model directory the adapter was trained on"},
        {"adapter", OPT_STR, &adapter, "DIR",
         "PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors), e.g. a run's "
         "final/ or checkpoints/checkpoint-N/; refused when its recorded base (config.json "
         "sha256) is not --base"},
        {"out", OPT_STR, &out, "DIR",
         "new model directory: weights W + scale*B*A in the base's dtype and file layout; "
         "config, generation config and tokenizer files copied"},
        {0},
    };
    int pr = rlc_cli_parse("merge", "--base DIR --adapter DIR --out DIR", opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!base || !adapter || !out) {
        fprintf(stderr, "rlc merge: --base DIR, --adapter DIR and --out DIR are all required\n");
        return 2;
    }
    rlc_merge_info info;
    rlc_status st = rlc_model_merge_lora(base, adapter, out, &info);
    if (info.note[0]) fprintf(stderr, "rlc merge: note: %s\n", info.note);
    if (st) return rlc_cli_fail(st);
    printf("merged %d weights (r %d, scale %g), copied %d tensors; %d file%s, %s: %s\n",
           info.merged, info.rank, info.scale, info.copied, info.shards,
           info.shards == 1 ? "" : "s", rlc_dtype_name(info.dtype), out);
    return 0;
}
