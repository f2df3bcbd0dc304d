/* Model files and training plumbing without the PyTorch reference: save/load
 * round trips (model, BF16, adapter), missing tensors for the config, and
 * gradient accumulation. */
#include "helpers.h"

#include "base/fs.h"
#include "model/model.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rlc_model_config small_cfg(void) {
    rlc_model_config c = rlc_config_default();
    c.vocab_size = 53;
    c.bos_token_id = 1;
    c.eos_token_ids[0] = 2;
    c.num_eos = 1;
    return c;
}

static void batch(int B, int T, int V, int *ids, int *tg) {
    for (int i = 0; i < B * T; i++)
        ids[i] = (i * 7 + 3) % V;
    for (int i = 0; i < B * T; i++)
        tg[i] = (i % T == T - 1 || i % 5 == 0) ? -1 : ids[i + 1];
}

static float *logits_of(rlc_model *m, const int *ids, const int *tg, int B, int T) {
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new(m, B, T, &a), RLC_OK);
    float loss;
    cr_assert_eq(rlc_model_ce_step(m, a, ids, tg, B, T, 0, &loss), RLC_OK, "%s", rlc_last_error());
    size_t n = (size_t)B * T * rlc_model_cfg(m)->vocab_size;
    float *out = malloc(n * sizeof(float));
    memcpy(out, rlc_acts_logits(a), n * sizeof(float));
    rlc_acts_free(a);
    return out;
}

Test(model_io, save_load_roundtrip_f32_and_bf16) {
    char dir[256], sub[300];
    th_tmpdir(dir, sizeof dir);
    rlc_model_config c = small_cfg();
    rlc_model *m, *m2;
    cr_assert_eq(rlc_model_create(&c, 11, &m), RLC_OK);
    int B = 2, T = 9, ids[18], tg[18];
    batch(B, T, c.vocab_size, ids, tg);
    float *want = logits_of(m, ids, tg, B, T);
    size_t n = (size_t)B * T * c.vocab_size;

    snprintf(sub, sizeof sub, "%s/f32", dir);
    cr_assert_eq(rlc_model_save(m, sub, RLC_DTYPE_F32), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_load(sub, &m2), RLC_OK, "%s", rlc_last_error());
    float *got = logits_of(m2, ids, tg, B, T);
    cr_expect_eq(memcmp(got, want, n * sizeof(float)), 0, "F32 round trip changed the logits");
    cr_expect_eq(rlc_model_num_params(m2), rlc_model_num_params(m));
    free(got);
    rlc_model_free(m2);

    snprintf(sub, sizeof sub, "%s/bf16", dir);
    cr_assert_eq(rlc_model_save(m, sub, RLC_DTYPE_BF16), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_load(sub, &m2), RLC_OK, "%s", rlc_last_error());
    cr_expect_eq(rlc_model_file_dtype(m2), RLC_DTYPE_BF16);
    got = logits_of(m2, ids, tg, B, T);
    /* bf16 keeps 8 bits of mantissa: logits move, but only by rounding */
    th_cmp cmp = th_compare(got, want, n, 2e-2, 2e-2);
    cr_expect_eq(cmp.bad, 0, "BF16 logits off by %.3g", cmp.max_abs);
    cr_expect_gt(cmp.max_abs, 0.0, "BF16 save did not round anything");
    free(got);
    rlc_model_free(m2);
    free(want);
    rlc_model_free(m);
    th_rmdir(dir);
}

Test(model_io, adapter_roundtrip_and_lora_switch) {
    char dir[256];
    th_tmpdir(dir, sizeof dir);
    rlc_model_config c = small_cfg();
    rlc_model *m, *m2;
    cr_assert_eq(rlc_model_create(&c, 12, &m), RLC_OK);
    cr_assert_eq(rlc_model_create(&c, 12, &m2), RLC_OK);
    int B = 2, T = 7, ids[14], tg[14];
    batch(B, T, c.vocab_size, ids, tg);
    float *base = logits_of(m, ids, tg, B, T);
    rlc_lora_config lc = rlc_lora_default_config();
    lc.rank = 4;
    cr_assert_eq(rlc_lora_parse_targets("q_proj,v_proj,down_proj", &lc.targets), RLC_OK);
    cr_assert_eq(rlc_model_add_lora(m, &lc, 5), RLC_OK);
    /* B = 0 at init: the adapter does not change the model yet */
    float *same = logits_of(m, ids, tg, B, T);
    size_t n = (size_t)B * T * c.vocab_size;
    cr_expect_eq(memcmp(same, base, n * sizeof(float)), 0);
    size_t nb;
    float *lb =
        rlc_model_param(m, "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", &nb);
    cr_assert_not_null(lb);
    for (size_t i = 0; i < nb; i++)
        lb[i] = 0.05f * (float)((i % 7) - 3);
    float *with = logits_of(m, ids, tg, B, T);
    cr_expect_gt(th_compare(with, base, n, 1e-6, 0).bad, 0, "LoRA B had no effect");
    rlc_model_set_lora_enabled(m, 0);
    float *off = logits_of(m, ids, tg, B, T);
    cr_expect_eq(memcmp(off, base, n * sizeof(float)), 0, "LoRA off must be the base model");
    rlc_model_set_lora_enabled(m, 1);

    char sub[300];
    snprintf(sub, sizeof sub, "%s/adapter", dir);
    cr_assert_eq(rlc_model_save_adapter(m, sub), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_load_adapter(m2, sub), RLC_OK, "%s", rlc_last_error());
    float *again = logits_of(m2, ids, tg, B, T);
    cr_expect_eq(memcmp(again, with, n * sizeof(float)), 0, "adapter round trip changed logits");
    free(base), free(same), free(with), free(off), free(again);
    rlc_model_free(m);
    rlc_model_free(m2);
    th_rmdir(dir);
}

Test(model_io, config_asking_for_missing_tensors_is_refused) {
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    rlc_model_config c = small_cfg();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, 13, &m), RLC_OK);
    cr_assert_eq(rlc_model_save(m, dir, RLC_DTYPE_F32), RLC_OK);
    rlc_model_free(m);
    /* the config now promises a third layer the weights do not have */
    c.num_layers = 3;
    snprintf(path, sizeof path, "%s/config.json", dir);
    cr_assert_eq(rlc_config_save(&c, path), RLC_OK);
    cr_expect_eq(rlc_model_load(dir, &m), RLC_ERR_NOT_FOUND);
    cr_expect(strstr(rlc_last_error(), "model.safetensors") &&
                  strstr(rlc_last_error(), "model.layers.2.input_layernorm.weight"),
              "message should name file and tensor: %s", rlc_last_error());
    /* and a missing directory names the path */
    snprintf(path, sizeof path, "%s/none", dir);
    cr_expect_neq(rlc_model_load(path, &m), RLC_OK);
    cr_expect(strstr(rlc_last_error(), "none/config.json"), "%s", rlc_last_error());
    th_rmdir(dir);
}

/* Two half-batches backpropagated into the same buffers give the full batch's
 * gradient (each half weighted by the full batch's token count). */
Test(model_io, gradient_accumulation_equals_full_batch) {
    rlc_model_config c = small_cfg();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, 14, &m), RLC_OK);
    int B = 4, T = 8, N = B * T, ids[32], tg[32];
    batch(B, T, c.vocab_size, ids, tg);
    int count = 0;
    for (int i = 0; i < N; i++)
        count += tg[i] >= 0;
    float *p, *g;
    size_t n;
    cr_assert_eq(rlc_model_trainable(m, &p, &g, &n), RLC_OK);
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new(m, B, T, &a), RLC_OK);
    float logp[32], dlogp[32];
    for (int i = 0; i < N; i++)
        dlogp[i] = tg[i] >= 0 ? -1.0f / count : 0.0f;
    rlc_model_zero_grad(m);
    cr_assert_eq(rlc_model_forward(m, a, ids, tg, B, T, logp), RLC_OK);
    cr_assert_eq(rlc_model_backward(m, a, dlogp), RLC_OK);
    float *full = malloc(n * sizeof(float));
    memcpy(full, g, n * sizeof(float));
    rlc_model_zero_grad(m);
    for (int h = 0; h < 2; h++) {
        int off = h * (N / 2);
        cr_assert_eq(rlc_model_forward(m, a, ids + off, tg + off, B / 2, T, logp), RLC_OK);
        cr_assert_eq(rlc_model_backward(m, a, dlogp + off), RLC_OK);
    }
    th_cmp cmp = th_compare(g, full, n, 1e-7, 1e-4);
    cr_expect_eq(cmp.bad, 0, "accumulated gradient differs by %.3g", cmp.max_abs);
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += (double)full[i] * full[i];
    cr_expect_gt(norm, 0.0);
    free(full);
    rlc_acts_free(a);
    rlc_model_free(m);
}

#include "train/optim.h"

/* AdamW on the model's flat buffers fits a fixed batch: the loss must fall by
 * more than half in 40 steps, for full fine-tuning and for LoRA alone. */
static float fit(int lora) {
    rlc_model_config c = small_cfg();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, 15, &m), RLC_OK);
    if (lora) {
        /* a frozen std-0.02 head caps logits near +-1; give it room to fit */
        size_t nh;
        float *head = rlc_model_param(m, "lm_head.weight", &nh);
        for (size_t i = 0; i < nh; i++)
            head[i] *= 20.0f;
        rlc_lora_config lc = rlc_lora_default_config();
        lc.rank = 8;
        lc.targets = RLC_LORA_ALL;
        cr_assert_eq(rlc_model_add_lora(m, &lc, 3), RLC_OK);
    }
    int B = 2, T = 12, ids[24], tg[24];
    batch(B, T, c.vocab_size, ids, tg);
    float *p, *g;
    size_t n;
    cr_assert_eq(rlc_model_trainable(m, &p, &g, &n), RLC_OK);
    rlc_adamw_params ap = rlc_adamw_default_params();
    rlc_adamw opt;
    cr_assert_eq(rlc_adamw_init(&opt, n, ap), RLC_OK);
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new(m, B, T, &a), RLC_OK);
    float first = 0, loss = 0;
    for (int step = 0; step < 40; step++) {
        rlc_model_zero_grad(m);
        cr_assert_eq(rlc_model_ce_step(m, a, ids, tg, B, T, 1, &loss), RLC_OK);
        if (step == 0) first = loss;
        rlc_adamw_step(&opt, rlc_backend_cpu(), p, g, lora ? 2e-2f : 1e-2f, NULL);
    }
    cr_expect_lt(loss, 0.5f * first, "%s: loss %g -> %g", lora ? "lora" : "full", first, loss);
    rlc_adamw_free(&opt);
    rlc_acts_free(a);
    rlc_model_free(m);
    return loss;
}

Test(model_io, adamw_fits_a_batch_full_and_lora) {
    fit(0);
    fit(1);
}

/* With a temperature, the gradient of sum(logp) still matches finite differences. */
Test(model_io, temperature_gradient_finite_differences) {
    rlc_model_config c = small_cfg();
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, 16, &m), RLC_OK);
    int B = 1, T = 6, ids[6], tg[6];
    batch(B, T, c.vocab_size, ids, tg);
    float *p, *g, logp[6], dlogp[6];
    size_t n;
    cr_assert_eq(rlc_model_trainable(m, &p, &g, &n), RLC_OK);
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new(m, B, T, &a), RLC_OK);
    cr_assert_eq(rlc_acts_set_temperature(a, 0.5f), RLC_OK);
    for (int i = 0; i < T; i++)
        dlogp[i] = tg[i] >= 0 ? 1.0f : 0.0f;
    rlc_model_zero_grad(m);
    cr_assert_eq(rlc_model_forward(m, a, ids, tg, B, T, logp), RLC_OK);
    cr_assert_eq(rlc_model_backward(m, a, dlogp), RLC_OK);
    const char *names[] = {"lm_head.weight", "model.layers.1.mlp.up_proj.weight",
                           "model.embed_tokens.weight"};
    for (int k = 0; k < 3; k++) {
        size_t nt;
        float *w = rlc_model_param(m, names[k], &nt), *gw = rlc_model_grad(m, names[k], NULL);
        for (size_t j = 0; j < nt; j += nt / 5) {
            float old = w[j], h = 1e-2f;
            double f[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                w[j] = old + (sgn ? -h : h);
                cr_assert_eq(rlc_model_forward(m, a, ids, tg, B, T, logp), RLC_OK);
                f[sgn] = 0;
                for (int i = 0; i < T; i++)
                    f[sgn] += logp[i];
            }
            w[j] = old;
            double fd = (f[0] - f[1]) / (2 * h);
            cr_expect(fabs(fd - gw[j]) <= 2e-3 + 2e-2 * fabs(fd), "%s[%zu]: fd %g grad %g",
                      names[k], j, fd, gw[j]);
        }
    }
    rlc_acts_free(a);
    rlc_model_free(m);
}

/* The frozen copy computes the same logits and does not follow later updates. */
Test(model_io, clone_base_is_a_frozen_copy) {
    rlc_model_config c = small_cfg();
    rlc_model *m, *ref;
    cr_assert_eq(rlc_model_create(&c, 17, &m), RLC_OK);
    int B = 1, T = 7, ids[7], tg[7];
    batch(B, T, c.vocab_size, ids, tg);
    float *want = logits_of(m, ids, tg, B, T);
    cr_assert_eq(rlc_model_clone_base(m, &ref), RLC_OK);
    float *got = logits_of(ref, ids, tg, B, T);
    size_t n = (size_t)T * c.vocab_size;
    cr_expect_eq(memcmp(got, want, n * sizeof(float)), 0);
    free(got);
    size_t nw;
    float *w = rlc_model_param(m, "model.norm.weight", &nw);
    for (size_t i = 0; i < nw; i++)
        w[i] *= 2.0f;
    got = logits_of(ref, ids, tg, B, T);
    cr_expect_eq(memcmp(got, want, n * sizeof(float)), 0, "the copy followed the original");
    free(got);
    free(want);
    rlc_model_free(ref);
    rlc_model_free(m);
}
