/* The chunked LM head (model_train.c): logits exist only for `chunk` rows at a
 * time. With a chunk smaller than the rows with a target (and dividing neither
 * them nor B*T), loss, per-token log-probs, entropies, logits and every
 * gradient match the PyTorch reference (tests/ref/llama_ref.py) at the
 * tolerance of test_model.c (1e-4 relative or 1e-5 absolute); against the
 * same model with one chunk (chunk >= B*T) they agree to 1e-5 relative or
 * 1e-6 absolute (the head's products and the lm_head gradient's sums are
 * split differently);
 * and two chunked runs agree bit for bit. */
#include "helpers.h"

#include "model/model.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ATOL 1e-5
#define RTOL 1e-4
/* chunked against one chunk, same code otherwise */
#define SAME_ATOL 1e-6
#define SAME_RTOL 1e-5

/* What one pass produced: loss, logp[N], entropy[N], logits[N,V], gradients. */
typedef struct pass_out {
    float loss;
    float *logp, *ent, *logits, *grads;
    size_t n_grads;
} pass_out;

static void pass_free(pass_out *o) {
    free(o->logp);
    free(o->ent);
    free(o->logits);
    free(o->grads);
}

/* Mean cross-entropy forward + backward with the LM head in chunks of `chunk`
 * rows, on a freshly loaded model. */
static pass_out ce_pass(th_ref_case *rc, int lora, int chunk) {
    rlc_model *m = th_ref_case_model(rc, lora);
    int N = rc->B * rc->T;
    rlc_acts *a;
    cr_assert_eq(rlc_acts_new_chunk(m, rc->B, rc->T, chunk, &a), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_acts_logit_chunk(a), chunk < N ? chunk : N);
    pass_out o = {0};
    o.logp = malloc(sizeof(float) * N);
    o.ent = malloc(sizeof(float) * N);
    o.logits = malloc(sizeof(float) * N * rc->V);
    float *dlogp = malloc(sizeof(float) * N);
    cr_assert(o.logp && o.ent && o.logits && dlogp);
    rlc_model_zero_grad(m);
    cr_assert_eq(rlc_model_forward(m, a, rc->ids, rc->targets, rc->B, rc->T, o.logp), RLC_OK, "%s",
                 rlc_last_error());
    rlc_acts_entropy(a, o.ent);
    const float *lg = rlc_acts_logits(a);
    cr_assert_not_null(lg);
    memcpy(o.logits, lg, sizeof(float) * N * rc->V);
    o.loss = th_mean_ce(rc->targets, N, o.logp, dlogp);
    cr_assert_eq(rlc_model_backward(m, a, dlogp), RLC_OK, "%s", rlc_last_error());
    float *p, *g;
    cr_assert_eq(rlc_model_trainable(m, &p, &g, &o.n_grads), RLC_OK);
    o.grads = malloc(sizeof(float) * o.n_grads);
    memcpy(o.grads, g, sizeof(float) * o.n_grads);
    /* every named gradient against PyTorch */
    char what[64];
    snprintf(what, sizeof what, "chunk %d", chunk);
    th_expect_ref_grads(rc, m, lora, what, ATOL, RTOL);
    free(dlogp);
    rlc_acts_free(a);
    rlc_model_free(m);
    return o;
}

/* A chunk below the number of rows with a target that divides neither that
 * number nor B*T, so the last chunk is partial. */
static int odd_chunk(const th_ref_case *rc) {
    int N = rc->B * rc->T, nr = 0;
    for (int i = 0; i < N; i++)
        nr += rc->targets[i] >= 0;
    int c = 5;
    while (nr % c == 0 || N % c == 0)
        c++;
    cr_assert(c < nr / 2, "case has only %d rows with a target", nr);
    return c;
}

static void run_case(const char *args, int lora) {
    th_ref_case rc;
    th_ref_case_make(&rc, args);
    int N = rc.B * rc.T, V = rc.V, chunk = odd_chunk(&rc);
    /* PyTorch's log-probs and entropies from its float64 logits (stored as f32) */
    const float *rl = th_ref_f32(&rc, "logits", (size_t)N * V);
    float *want_lp = malloc(sizeof(float) * N), *want_ent = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) {
        const float *row = rl + (size_t)i * V;
        double mx = row[0], z = 0, zx = 0;
        for (int v = 1; v < V; v++)
            mx = row[v] > mx ? row[v] : mx;
        for (int v = 0; v < V; v++)
            z += exp(row[v] - mx), zx += exp(row[v] - mx) * (row[v] - mx);
        want_ent[i] = (float)(log(z) - zx / z);
        want_lp[i] = rc.targets[i] >= 0 ? (float)(row[rc.targets[i]] - mx - log(z)) : 0.0f;
    }
    pass_out one = ce_pass(&rc, lora, N);
    pass_out ch = ce_pass(&rc, lora, chunk);
    pass_out again = ce_pass(&rc, lora, chunk);
    struct {
        const char *name;
        pass_out *o;
    } runs[2] = {{"one chunk", &one}, {"chunked", &ch}};
    for (int k = 0; k < 2; k++) {
        char what[64];
        snprintf(what, sizeof what, "%s: loss", runs[k].name);
        th_expect_close(what, &runs[k].o->loss, th_ref_f32(&rc, "loss", 1), 1, ATOL, RTOL);
        snprintf(what, sizeof what, "%s: logp", runs[k].name);
        th_expect_close(what, runs[k].o->logp, want_lp, N, ATOL, RTOL);
        snprintf(what, sizeof what, "%s: entropy", runs[k].name);
        th_expect_close(what, runs[k].o->ent, want_ent, N, ATOL, RTOL);
        snprintf(what, sizeof what, "%s: logits", runs[k].name);
        th_expect_close(what, runs[k].o->logits, rl, (size_t)N * V, ATOL, RTOL);
    }
    /* chunked against one chunk */
    th_expect_close("chunked vs one chunk: loss", &ch.loss, &one.loss, 1, SAME_ATOL, SAME_RTOL);
    th_expect_close("chunked vs one chunk: logp", ch.logp, one.logp, N, SAME_ATOL, SAME_RTOL);
    th_expect_close("chunked vs one chunk: gradients", ch.grads, one.grads, ch.n_grads, SAME_ATOL,
                    SAME_RTOL);
    /* deterministic run to run */
    cr_expect_eq(memcmp(&ch.loss, &again.loss, sizeof ch.loss), 0);
    cr_expect_eq(memcmp(ch.logp, again.logp, sizeof(float) * N), 0, "chunked logp not repeatable");
    cr_expect_eq(memcmp(ch.grads, again.grads, sizeof(float) * ch.n_grads), 0,
                 "chunked gradients not repeatable");
    pass_free(&one);
    pass_free(&ch);
    pass_free(&again);
    free(want_lp);
    free(want_ent);
    rlc_st_close(rc.ref);
    th_rmdir(rc.dir);
}

Test(chunked, llama_untied_full, .timeout = 120) {
    run_case("--arch llama --seed 11 --heads 4 --kv-heads 2 --tied 0 --batch 4 --seq 13", 0);
}

Test(chunked, qwen3_tied_full, .timeout = 120) {
    run_case("--arch qwen3 --seed 12 --head-dim 24 --tied 1 --batch 3 --seq 17", 0);
}

Test(chunked, qwen2_lora_all, .timeout = 120) {
    run_case("--arch qwen2 --seed 13 --tied 1 --batch 4 --seq 11 --lora-rank 4 --lora-alpha 8 "
             "--lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
             1);
}

/* GRPO's use: per-token weights of any sign on some target rows, zero on
 * others, and a sampling temperature. Chunked (chunk 3, 7) against one chunk. */
Test(chunked, weighted_tempered_vs_one_chunk) {
    rlc_model_config c = rlc_config_default();
    c.vocab_size = 301;
    c.bos_token_id = 1;
    c.eos_token_ids[0] = 2;
    c.num_eos = 1;
    int B = 3, T = 10, N = B * T;
    int ids[30], tg[30];
    float dlogp[30];
    for (int i = 0; i < N; i++) {
        ids[i] = (i * 37 + 5) % c.vocab_size;
        tg[i] = (i % T < 3 || i % T == T - 1) ? -1 : (i * 53 + 11) % c.vocab_size;
        dlogp[i] = tg[i] < 0 ? 0.0f : (i % 4 == 0 ? 0.0f : (float)((i * 29) % 17 - 8) / 8.0f);
    }
    int chunks[3] = {N, 3, 7};
    float *g0 = NULL, lp0[30];
    size_t n0 = 0;
    for (int k = 0; k < 3; k++) {
        rlc_model *m;
        cr_assert_eq(rlc_model_create(&c, 21, &m), RLC_OK);
        float *p, *g, lp[30];
        size_t n;
        cr_assert_eq(rlc_model_trainable(m, &p, &g, &n), RLC_OK);
        rlc_model_zero_grad(m);
        rlc_acts *a;
        cr_assert_eq(rlc_acts_new_chunk(m, B, T, chunks[k], &a), RLC_OK);
        cr_assert_eq(rlc_acts_set_temperature(a, 0.7f), RLC_OK);
        cr_assert_eq(rlc_model_forward(m, a, ids, tg, B, T, lp), RLC_OK);
        cr_assert_eq(rlc_model_backward(m, a, dlogp), RLC_OK);
        if (k == 0) {
            g0 = malloc(sizeof(float) * n);
            memcpy(g0, g, sizeof(float) * n);
            memcpy(lp0, lp, sizeof lp);
            n0 = n;
        } else {
            cr_assert_eq(n, n0);
            th_expect_close("logp", lp, lp0, N, SAME_ATOL, SAME_RTOL);
            th_expect_close("gradients", g, g0, n, SAME_ATOL, SAME_RTOL);
        }
        double gsum = 0;
        for (size_t j = 0; j < n; j++)
            gsum += fabs(g[j]);
        cr_expect_gt(gsum, 1e-3, "no gradient reached the weights");
        rlc_acts_free(a);
        rlc_model_free(m);
    }
    free(g0);
}

/* The arena formula: the head's share is [chunk, V + 2C + 1] floats, so at the
 * Qwen3-0.6B shape (N = 8 x 4 x 384 tokens, LoRA rank 16) the default chunk
 * saves (N - 256) x (V + 2C + 1) x 4 bytes against one chunk of N rows; and
 * rlc_acts_bytes is what the plan says. */
Test(chunked, arena_bytes) {
    rlc_model_config q = rlc_config_default();
    q.vocab_size = 151936, q.hidden_size = 1024, q.intermediate_size = 3072;
    q.num_layers = 28, q.num_heads = 16, q.num_kv_heads = 8, q.head_dim = 128, q.qk_norm = 1;
    int B = 32, T = 384;
    size_t N = (size_t)B * T, chunked = 0, whole = 0;
    cr_assert_eq(rlc_acts_plan_bytes(&q, 16, B, T, 0, &chunked), RLC_OK);
    cr_assert_eq(rlc_acts_plan_bytes(&q, 16, B, T, (int)N, &whole), RLC_OK);
    size_t K = RLC_LOGIT_CHUNK_DEFAULT, head = (size_t)q.vocab_size + 2 * q.hidden_size + 1;
    /* each slice rounds up to 16 floats: only the [chunk] and [N] vectors can round */
    cr_expect_eq(whole - chunked, (N - K) * head * 4, "whole %zu chunked %zu", whole, chunked);

    rlc_model_config c = rlc_config_default();
    c.vocab_size = 97;
    c.bos_token_id = 1;
    c.eos_token_ids[0] = 2;
    c.num_eos = 1;
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&c, 3, &m), RLC_OK);
    for (int chunk = 0; chunk <= 40; chunk += 8) {
        rlc_acts *a;
        size_t plan = 0;
        cr_assert_eq(rlc_acts_new_chunk(m, 2, 9, chunk, &a), RLC_OK);
        cr_assert_eq(rlc_acts_plan_bytes(&c, 0, 2, 9, chunk, &plan), RLC_OK);
        cr_expect_eq(rlc_acts_bytes(a), plan, "chunk %d", chunk);
        cr_expect_eq(rlc_acts_logit_chunk(a), chunk == 0 || chunk > 18 ? 18 : chunk);
        rlc_acts_free(a);
    }
    rlc_acts *a;
    cr_expect_neq(rlc_acts_new_chunk(m, 2, 9, -1, &a), RLC_OK);
    rlc_model_free(m);
}

/* ---- training.logit_chunk through the CLI ($RLC_BIN) ---- */

static const char *rlc_bin(void) {
    return getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
}

/* Runs `rlc sft DIR/c.yaml ARGS` (one thread, output in DIR/out.log); exit status. */
static int rlc_sft(const char *dir, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s sft %s/c.yaml %s > %s/out.log 2>&1", rlc_bin(),
             dir, args, dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* DIR/out.log (malloc'd). */
static char *slurp_log(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/out.log", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *out = calloc(1, 65536);
    size_t got = fread(out, 1, 65535, f);
    out[got] = 0;
    fclose(f);
    return out;
}

/* loss of each metrics.jsonl line of run `name`; returns the count. */
static int read_losses(const char *dir, const char *name, double *out, int cap) {
    char path[600], line[8192];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", dir, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "\"loss\":");
        cr_assert_not_null(p, "%s: no loss in %s", path, line);
        out[n++] = strtod(p + 7, NULL);
    }
    fclose(f);
    return n;
}

/* SFT from scratch (byte tokenizer, 3 steps): a run with a 3-row head chunk
 * and one with a chunk larger than any micro-batch give the same losses to
 * 1e-5 relative, the log names the chunk in use, and training.logit_chunk=0
 * is refused naming the key. */
Test(chunked, cli_logit_chunk_key, .timeout = 120) {
    char dir[256], path[600];
    th_tmpdir(dir, sizeof dir);
    cr_assert(dir[0]);
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2,\n"
            "        kv_heads: 2, intermediate: 32, max_seq: 96, seed: 1}\n"
            "tokenizer: {kind: byte, chat: none}\n"
            "training: {steps: 3, batch_size: 4}\n"
            "data: {max_prompt_tokens: 16}\n"
            "optimizer: {lr: 1.0e-2}\n"
            "checkpoint: {save_every: 0, resume: never}\n"
            "logging: {run_dir: %s, tensorboard: false, console: false}\n",
            dir);
    fclose(f);
    cr_assert_eq(rlc_sft(dir, "logging.run_name=small training.logit_chunk=3"), 0, "see %s/out.log",
                 dir);
    char *log = slurp_log(dir);
    cr_expect(strstr(log, "LM head in chunks of 3 rows"), "%s", log);
    free(log);
    cr_assert_eq(rlc_sft(dir, "logging.run_name=whole training.logit_chunk=100000"), 0,
                 "see %s/out.log", dir);
    double a[8], b[8];
    int na = read_losses(dir, "small", a, 8), nb = read_losses(dir, "whole", b, 8);
    cr_assert_eq(na, 3);
    cr_assert_eq(nb, 3);
    for (int i = 0; i < 3; i++)
        cr_expect(fabs(a[i] - b[i]) <= 1e-5 * fabs(b[i]), "step %d: loss %.9g vs %.9g", i + 1, a[i],
                  b[i]);
    cr_expect(a[2] < a[0], "loss did not fall: %g -> %g", a[0], a[2]);
    cr_assert_neq(rlc_sft(dir, "logging.run_name=zero training.logit_chunk=0"), 0);
    log = slurp_log(dir);
    cr_expect(strstr(log, "training.logit_chunk"), "%s", log);
    free(log);
    th_rmdir(dir);
}
