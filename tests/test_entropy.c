/* The GRPO `entropy` metric against PyTorch: the mean over every sampled
 * completion token of the step of the policy's entropy at the sampling
 * temperature, H = -sum_v p_v log p_v with p = softmax(logits / T), as verl
 * and TRL report it. The reference recomputes the logits of every sequence
 * (prompt + completion) with tests/ref/llama_ref.py in float64 from the saved
 * weights. Two steps: one where every group has equal rewards (a fresh model
 * answers nothing, so no sequence carries gradient) and one with a reward
 * that differs within groups. */
#include "helpers.h"
#include "tmpdir.h"

#include "envs/arithmetic.h"
#include "train/grpo.h"
#include "train/run.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(entropy, .init = tmpdir_setup, .fini = tmpdir_teardown);

static const char *const torch_entropy =
    "import json, os, sys\n"
    "import torch\n"
    "sys.path.insert(0, os.path.join(os.getcwd(), 'tests', 'ref'))\n"
    "import llama_ref as R\n"
    "d = sys.argv[1]\n"
    "torch.set_num_threads(1)\n"
    "cfg = R.Cfg(json.load(open(os.path.join(d, 'model', 'config.json'))))\n"
    "P = {k: v.double() for k, v in R.st_load(os.path.join(d, 'model', "
    "'model.safetensors')).items()}\n"
    "T = float(open(os.path.join(d, 'temperature')).read())\n"
    "total, n = 0.0, 0\n"
    "for line in open(os.path.join(d, 'seqs')):\n"
    "    a = [int(x) for x in line.split()]\n"
    "    p, L, ids = a[0], a[1], a[2:]\n"
    "    assert len(ids) == p + L\n"
    "    with torch.no_grad():\n"
    "        lg = R.forward(cfg, P, torch.tensor([ids[:p + L - 1]]))[0] / T\n"
    "    lp = torch.log_softmax(lg[p - 1:p + L - 1], dim=-1)\n"
    "    total += float(-(lp.exp() * lp).sum())\n"
    "    n += L\n"
    "open(sys.argv[2], 'w').write('%.17g %d\\n' % (total / n, n))\n";

/* A reward that differs within groups: a bit of a hash of the completion. */
static float hash_bit(const char *completion, const char *reference) {
    (void)reference;
    unsigned h = 2166136261u;
    for (const char *p = completion; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (float)((h >> 7) & 1u);
}
static const rlc_reward_def parity_def = {"hash_bit", hash_bit, 1.0f, "test reward"};

static void set(rlc_run_config *c, const char *kv) {
    cr_assert_eq(rlc_run_config_set(c, kv), RLC_OK, "%s: %s", kv, rlc_last_error());
}

static void check_step(int with_signal) {
    rlc_run_config c = rlc_run_config_default();
    set(&c, "model.from_scratch=true");
    set(&c, "model.layers=2"), set(&c, "model.hidden=32"), set(&c, "model.heads=4");
    set(&c, "model.kv_heads=2"), set(&c, "model.intermediate=64"), set(&c, "model.max_seq=64");
    set(&c, "model.seed=5");
    set(&c, "tokenizer.kind=byte"), set(&c, "tokenizer.chat=none");
    set(&c, "data.max_prompt_tokens=24");
    rlc_policy pol;
    cr_assert_eq(rlc_policy_from_config(&c, &pol), RLC_OK, "%s", rlc_last_error());
    rlc_source src;
    cr_assert_eq(rlc_source_from_config(&c, &src), RLC_OK, "%s", rlc_last_error());
    rlc_reward_set rw;
    rlc_reward_set_init(&rw);
    if (with_signal) {
        rw.defs[0] = &parity_def, rw.weights[0] = 1.0f, rw.n = 1;
    } else {
        cr_assert_eq(rlc_reward_set_add(&rw, "number_check", 1.0f), RLC_OK);
    }
    rlc_grpo_params gp = rlc_grpo_default_params();
    gp.batch_prompts = 3;
    gp.group_size = 4;
    gp.max_new_tokens = 12;
    gp.sampler.temperature = 0.7f;
    gp.seed = 11;
    rlc_grpo *g;
    cr_assert_eq(rlc_grpo_new(&pol, &src, &rw, &gp, &g), RLC_OK, "%s", rlc_last_error());
    /* a fresh model is nearly uniform (entropy ~ log V, where the temperature
     * hardly matters): sharpen its output layer so the test sees the
     * temperature */
    size_t nw;
    float *w = rlc_model_param(pol.m, "lm_head.weight", &nw);
    if (!w) w = rlc_model_param(pol.m, "model.embed_tokens.weight", &nw);
    cr_assert_not_null(w);
    for (size_t i = 0; i < nw; i++)
        w[i] *= 40.0f;
    /* the weights the step sampled from, before its update changes them */
    cr_assert_eq(rlc_model_save(pol.m, tmp_path("model"), RLC_DTYPE_F32), RLC_OK, "%s",
                 rlc_last_error());
    rlc_step_stats st;
    cr_assert_eq(rlc_grpo_step(g, 0, &st), RLC_OK, "%s", rlc_last_error());
    if (with_signal)
        cr_assert(st.frac_reward_zero_std < 1 && st.num_datums > 0,
                  "expected some learning signal (zero-std share %g)", st.frac_reward_zero_std);
    else
        cr_assert(st.frac_reward_zero_std == 1 && st.num_datums == 0,
                  "expected every group to have equal rewards (zero-std share %g, %d datums)",
                  st.frac_reward_zero_std, st.num_datums);

    const int *const *pids;
    const int *plen;
    const rlc_gen_out *go = rlc_grpo_rollout(g, &pids, &plen);
    cr_assert_not_null(go);
    FILE *f = fopen(tmp_path("seqs"), "w");
    cr_assert_not_null(f);
    long ntok = 0;
    for (int s = 0; s < go->num_seqs; s++) {
        int P = plen[s / gp.group_size], L = go->len[s];
        fprintf(f, "%d %d", P, L);
        for (int t = 0; t < P; t++)
            fprintf(f, " %d", pids[s / gp.group_size][t]);
        for (int j = 0; j < L; j++)
            fprintf(f, " %d", go->ids[(size_t)s * go->max_new + j]);
        fputc('\n', f);
        ntok += L;
    }
    fclose(f);
    f = fopen(tmp_path("temperature"), "w");
    fprintf(f, "%.9g\n", (double)gp.sampler.temperature);
    fclose(f);

    const char *out = tmp_path("ref.txt");
    int rc = th_python_script(torch_entropy, tmpdir, out);
    cr_assert_eq(rc, 0, "python reference failed (rc %d): /usr/bin/python3 with torch is required",
                 rc);
    f = fopen(out, "r");
    cr_assert_not_null(f);
    double want;
    long n_ref;
    cr_assert_eq(fscanf(f, "%lf %ld", &want, &n_ref), 2);
    fclose(f);
    cr_log_info("entropy %.7g, PyTorch %.7g over %ld tokens (zero-std share %g)", st.entropy, want,
                ntok, st.frac_reward_zero_std);
    cr_expect_eq(n_ref, ntok, "the reference saw %ld tokens, the step sampled %ld", n_ref, ntok);
    cr_expect_eq(st.gen_tokens, ntok);
    cr_expect(isfinite(st.entropy), "entropy %g", st.entropy);
    cr_expect(fabs(st.entropy - want) <= 1e-4 * want, "entropy %.7g, PyTorch %.7g (%ld tokens)",
              st.entropy, want, ntok);
    /* sharpened: well below log V = 5.55, but not 0 */
    cr_expect(want > 0.1 && want < 4.5, "reference entropy %g", want);

    rlc_grpo_free(g);
    rlc_source_free(&src);
    rlc_policy_free(&pol);
    rlc_run_config_free(&c);
}

Test(entropy, matches_torch_when_groups_collapse, .timeout = 300) {
    check_step(0);
}

Test(entropy, matches_torch_with_signal, .timeout = 300) {
    check_step(1);
}
