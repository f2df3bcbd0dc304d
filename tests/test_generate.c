/* Generation behaviour that does not need the PyTorch reference: determinism,
 * independence from batch order and thread count, ragged prompt batches equal
 * to prompts run alone, stop ids, and the CLI's JSON output. */
#include "helpers.h"

#include "model/generate.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static rlc_model *tiny_model(uint64_t seed) {
    rlc_model_config c = rlc_config_default();
    c.vocab_size = 61;
    c.num_eos = 0;
    c.bos_token_id = -1;
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, seed, &m), RLC_OK, "%s", rlc_last_error());
    /* std 0.02 weights give near-uniform logits; sharpen them so greedy paths
     * and samples differ visibly between seeds */
    size_t n;
    float *wte = rlc_model_param(m, "model.embed_tokens.weight", &n);
    for (size_t i = 0; i < n; i++)
        wte[i] *= 50.0f;
    return m;
}

static const int pA[] = {3, 14, 15, 9, 2, 6};
static const int pB[] = {27, 1, 8};

static rlc_gen_out run(rlc_model *m, const int *const *prompts, const int *lens, int n,
                       rlc_gen_params *p) {
    rlc_gen_out out;
    cr_assert_eq(rlc_generate(m, prompts, lens, n, p, &out), RLC_OK, "%s", rlc_last_error());
    return out;
}

static int same_seq(const rlc_gen_out *a, int sa, const rlc_gen_out *b, int sb) {
    if (a->len[sa] != b->len[sb]) return 0;
    return !memcmp(a->ids + (size_t)sa * a->max_new, b->ids + (size_t)sb * b->max_new,
                   sizeof(int) * a->len[sa]);
}

Test(generate, same_seed_same_output_other_seed_differs) {
    rlc_model *m = tiny_model(1);
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 24;
    p.num_samples = 4;
    p.seed = 42;
    const int *pr[] = {pA};
    int len[] = {6};
    rlc_gen_out a = run(m, pr, len, 1, &p), b = run(m, pr, len, 1, &p);
    for (int s = 0; s < 4; s++) {
        cr_expect(same_seq(&a, s, &b, s), "sample %d differs between identical runs", s);
        cr_expect_eq(memcmp(a.logprobs + s * 24, b.logprobs + s * 24, 24 * sizeof(float)), 0);
    }
    /* the G samples of one prompt are not copies of each other */
    cr_expect(!same_seq(&a, 0, &a, 1) || !same_seq(&a, 0, &a, 2));
    p.seed = 43;
    rlc_gen_out c = run(m, pr, len, 1, &p);
    cr_expect(!same_seq(&a, 0, &c, 0) || !same_seq(&a, 1, &c, 1), "seed has no effect");
    rlc_gen_out_free(&a);
    rlc_gen_out_free(&b);
    rlc_gen_out_free(&c);
    rlc_model_free(m);
}

Test(generate, batch_order_and_thread_count_do_not_change_samples) {
    rlc_model *m = tiny_model(2);
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 20;
    p.num_samples = 3;
    p.seed = 7;
    const int *ab[] = {pA, pB}, *ba[] = {pB, pA};
    int lab[] = {6, 3}, lba[] = {3, 6};
    uint64_t kab[] = {100, 200}, kba[] = {200, 100};
    p.prompt_keys = kab;
    rlc_gen_out x = run(m, ab, lab, 2, &p);
    p.prompt_keys = kba;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    rlc_gen_out y = run(m, ba, lba, 2, &p);
    omp_set_num_threads(saved);
    for (int j = 0; j < 3; j++) {
        cr_expect(same_seq(&x, j, &y, 3 + j), "prompt A sample %d changed with order/threads", j);
        cr_expect(same_seq(&x, 3 + j, &y, j), "prompt B sample %d changed with order/threads", j);
    }
    rlc_gen_out_free(&x);
    rlc_gen_out_free(&y);
    rlc_model_free(m);
}

Test(generate, ragged_batch_equals_prompts_alone) {
    rlc_model *m = tiny_model(3);
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 16;
    p.sampler.temperature = 0;
    const int *both[] = {pA, pB};
    int lens[] = {6, 3};
    rlc_gen_out all = run(m, both, lens, 2, &p);
    for (int i = 0; i < 2; i++) {
        rlc_gen_out one = run(m, both + i, lens + i, 1, &p);
        cr_expect(same_seq(&all, i, &one, 0), "prompt %d differs when batched", i);
        th_cmp c = th_compare(all.logprobs + i * 16, one.logprobs, 16, 1e-5, 1e-4);
        cr_expect_eq(c.bad, 0, "prompt %d logprobs differ by %.3g", i, c.max_abs);
        rlc_gen_out_free(&one);
    }
    rlc_gen_out_free(&all);
    rlc_model_free(m);
}

Test(generate, stop_ids_end_sequences) {
    rlc_model *m = tiny_model(4);
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 12;
    p.sampler.temperature = 0;
    const int *pr[] = {pA};
    int len[] = {6};
    rlc_gen_out a = run(m, pr, len, 1, &p);
    cr_assert_eq(a.len[0], 12);
    cr_expect_eq(a.finish[0], RLC_FINISH_LENGTH);
    /* stop at the token greedy produced at step 3 (its first occurrence) */
    int stop = a.ids[3], first = 3;
    for (int t = 0; t < 3; t++)
        if (a.ids[t] == stop) first = t < first ? t : first;
    p.stop_ids = &stop;
    p.num_stop_ids = 1;
    rlc_gen_out b = run(m, pr, len, 1, &p);
    cr_expect_eq(b.len[0], first + 1);
    cr_expect_eq(b.finish[0], RLC_FINISH_STOP);
    cr_expect_str_eq(rlc_finish_reason_str(b.finish[0]), "stop");
    cr_expect_eq(memcmp(a.ids, b.ids, sizeof(int) * (first + 1)), 0);
    rlc_gen_out_free(&a);
    rlc_gen_out_free(&b);
    rlc_model_free(m);
}

Test(generate, rejects_bad_requests) {
    rlc_model *m = tiny_model(5);
    rlc_gen_params p = rlc_gen_default_params();
    int bad[] = {3, 99};
    const int *pr[] = {bad};
    int len[] = {2};
    rlc_gen_out o;
    cr_expect_eq(rlc_generate(m, pr, len, 1, &p, &o), RLC_ERR_INVALID);
    cr_expect(strstr(rlc_last_error(), "outside vocab"), "%s", rlc_last_error());
    len[0] = 0;
    cr_expect_eq(rlc_generate(m, pr, len, 1, &p, &o), RLC_ERR_INVALID);
    rlc_model_free(m);
}

static json_t *run_cli_json(const char *args, int *rc) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", bin, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    *rc = pclose(f);
    json_error_t e;
    return json_loads(buf, 0, &e);
}

Test(generate, cli_json_and_info, .timeout = 60) {
    char dir[256];
    th_tmpdir(dir, sizeof dir);
    rlc_model *m = tiny_model(6);
    cr_assert_eq(rlc_model_save(m, dir, RLC_DTYPE_F32), RLC_OK, "%s", rlc_last_error());
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 9;
    p.sampler.temperature = 0;
    const int *pr[] = {pB};
    int len[] = {3};
    rlc_gen_out want = run(m, pr, len, 1, &p);
    rlc_model_free(m);

    char args[600];
    snprintf(args, sizeof args,
             "generate --model %s --prompt-ids 27,1,8 --max-new-tokens 9 --temperature 0 --json",
             dir);
    int rc;
    json_t *j = run_cli_json(args, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_not_null(j, "generate --json printed no JSON");
    json_t *ids = json_object_get(j, "ids"), *lps = json_object_get(j, "logprobs");
    cr_assert_eq(json_array_size(json_object_get(j, "prompt_ids")), 3);
    cr_assert_eq(json_array_size(ids), 9);
    cr_assert_eq(json_array_size(lps), 9);
    cr_expect_str_eq(json_string_value(json_object_get(j, "finish_reason")), "length");
    for (int t = 0; t < 9; t++) {
        cr_expect_eq(json_integer_value(json_array_get(ids, t)), want.ids[t]);
        cr_expect_float_eq(json_real_value(json_array_get(lps, t)), want.logprobs[t], 1e-6);
    }
    json_decref(j);
    rlc_gen_out_free(&want);

    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s info --model %s | grep -q 'LlamaForCausalLM'", bin, dir);
    cr_expect_eq(system(cmd), 0, "rlc info does not name the architecture");
    snprintf(cmd, sizeof cmd, "%s info --model %s/nope 2>/dev/null", bin, dir);
    cr_expect_neq(system(cmd), 0, "rlc info on a missing directory must fail");
    th_rmdir(dir);
}

/* The sampler's log-probabilities at temperature T are what training
 * recomputes with rlc_acts_set_temperature(T): GRPO's old policy. */
Test(generate, sampled_logprobs_match_training_forward_at_temperature) {
    rlc_model *m = tiny_model(8);
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = 10;
    p.num_samples = 2;
    p.sampler.temperature = 0.7f;
    p.sampler.top_k = 5;
    p.seed = 3;
    const int *pr[] = {pA};
    int len[] = {6};
    rlc_gen_out o = run(m, pr, len, 1, &p);
    int T = 6 + 10 - 1;
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new(m, 1, T, &a), RLC_OK);
    cr_assert_eq(rlc_acts_set_temperature(a, 0.7f), RLC_OK);
    cr_expect_neq(rlc_acts_set_temperature(a, 0.0f), RLC_OK);
    for (int s = 0; s < 2; s++) {
        int ids[15], tg[15];
        float logp[15], ent[15];
        for (int t = 0; t < T; t++)
            ids[t] = t < 6 ? pA[t] : o.ids[s * 10 + t - 6];
        for (int t = 0; t < T; t++)
            tg[t] = t >= 5 ? o.ids[s * 10 + t - 5] : -1;
        cr_assert_eq(rlc_model_forward(m, a, ids, tg, 1, T, logp), RLC_OK);
        th_cmp c = th_compare(logp + 5, o.logprobs + s * 10, 10, 1e-5, 1e-4);
        cr_expect_eq(c.bad, 0, "sample %d: logprob differs by %.3g", s, c.max_abs);
        /* entropy of the tempered distribution, against a direct sum */
        rlc_acts_entropy(a, ent);
        const float *lg = rlc_acts_logits(a);
        int V = rlc_model_cfg(m)->vocab_size;
        for (int t = 0; t < T; t++) {
            double mx = -1e30, z = 0, h = 0;
            for (int v = 0; v < V; v++)
                mx = lg[t * V + v] > mx ? lg[t * V + v] : mx;
            for (int v = 0; v < V; v++)
                z += exp(lg[t * V + v] - mx);
            for (int v = 0; v < V; v++) {
                double q = exp(lg[t * V + v] - mx) / z;
                h -= q > 0 ? q * log(q) : 0;
            }
            cr_expect(fabs(ent[t] - h) < 1e-4, "entropy %d: %g vs %g", t, ent[t], h);
        }
    }
    rlc_acts_free(a);
    rlc_gen_out_free(&o);
    rlc_model_free(m);
}
