/* End-to-end benchmark against PyTorch, both measured in this run with the
 * same thread count:
 *   1. full fine-tuning step (forward + backward + AdamW, untied Llama) tokens/s
 *      on a small (~3.4M) and a GPT-2-small-sized (~86M, vocab 512) config;
 *   2. batched KV-cache generation tokens/s on the small config;
 *   3. model GFLOP/s of the training step against a 2048^3 sgemm peak;
 *   4. peak memory of a training step: measured RSS growth against the paper
 *      count (params + grads + AdamW m, v + activations).
 * The PyTorch side is bench/torch_ref.py, run as a child process one
 * measurement at a time (so the two never share the cores). Results also go
 * to bench_results.json next to this binary. Targets that are missed print
 * FAIL, but the exit status is 0 unless something could not run.
 *
 * Usage: build/bench_train [--quick] [--no-torch] [--threads N] [--steps N]
 * Env: RLC_BENCH_PYTHON (default /usr/bin/python3), RLC_TORCH_REF
 * (default bench/torch_ref.py). */
#include "model/generate.h"
#include "model/model.h"
#include "train/optim.h"

#include <cblas.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARMUP 2

typedef struct bench_cfg {
    const char *name;
    int L, C, H, Hkv, F, V, T, B;
    double target; /* rlc/torch tokens/s ratio to reach */
} bench_cfg;

/* Everything measured for one config; torch fields < 0 when not measured. */
typedef struct train_result {
    size_t n_params;
    double tok_s, step_s, loss0, loss;
    double torch_tok_s, torch_loss0, torch_rss;
    double flops_per_step; /* model FLOPs, see train_flops() */
    size_t acts_bytes, acts_paper_bytes, paper_bytes;
    double rss_delta;
} train_result;

typedef struct gen_result {
    double tok_s, run_s, torch_tok_s;
} gen_result;

static int g_threads = 2, g_steps = 5, g_torch = 1;
static char g_torch_log[1024] = "bench_torch.log";

static void die(const char *what, rlc_status st) {
    fprintf(stderr, "bench_train: %s: %s\n", what, st ? rlc_last_error() : "failed");
    exit(1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* A "Field:   123 kB" line of /proc/self/status, in bytes. */
static double proc_status_bytes(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    double v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') v = atof(line + n + 1) * 1024.0;
    if (f) fclose(f);
    return v;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); returns the current RSS. */
static double reset_peak_rss(void) {
    malloc_trim(0);
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) fputs("5", f), fclose(f);
    return proc_status_bytes("VmRSS");
}

static rlc_model_config model_config(const bench_cfg *b) {
    rlc_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = RLC_ARCH_LLAMA;
    c.vocab_size = b->V;
    c.hidden_size = b->C;
    c.intermediate_size = b->F;
    c.num_layers = b->L;
    c.num_heads = b->H;
    c.num_kv_heads = b->Hkv;
    c.head_dim = b->C / b->H;
    c.max_position_embeddings = b->T > 256 ? b->T : 256;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0f;
    c.bos_token_id = -1;
    snprintf(c.torch_dtype, sizeof c.torch_dtype, "float32");
    return c;
}

/* Weights that go through a matmul (every linear map and the LM head; not the
 * embedding gather or the norms). */
static double matmul_params(const bench_cfg *b) {
    double D = (double)b->C / b->H, QD = b->H * D, KD = b->Hkv * D;
    return b->L * (b->C * QD + 2 * b->C * KD + QD * b->C + 3.0 * b->C * b->F) + (double)b->V * b->C;
}

/* Model FLOPs of one training step (PaLM appendix B / nanoGPT MFU): per token
 * 6 * matmul_params (forward 2, backward 4) + 12 * L * T * (Hq*D) for QK^T and
 * AV over the full T x T square (causal kernels do about half of that term). */
static double train_flops(const bench_cfg *b) {
    double D = (double)b->C / b->H;
    double per_token = 6.0 * matmul_params(b) + 12.0 * b->L * b->T * b->H * D;
    return per_token * b->B * b->T;
}

/* Activation bytes by our own count of what forward saves and backward needs
 * (the acts_layout of src/model/model_train.c for a Llama without LoRA or q/k
 * norm), without its 64-byte slice padding. */
static size_t paper_acts_bytes(const bench_cfg *b) {
    size_t N = (size_t)b->B * b->T, C = b->C, L = b->L, F = b->F, V = b->V;
    size_t D = C / b->H, QD = b->H * D, KD = b->Hkv * D, ATT = (size_t)b->B * b->H * b->T * b->T;
    size_t saved = (L + 1) * N * C                 /* residual entering each block, and the last */
                   + L * (3 * N * C + 2 * N)       /* mid residual, ln1, ln2, two rstd */
                   + L * (2 * N * QD + 2 * N * KD) /* q, atty, k, v */
                   + L * ATT                       /* softmax probabilities */
                   + L * 3 * N * F                 /* gate, up, swiglu out */
                   + N * C + N + N * V + N;        /* final norm, rstd, logits, lse */
    size_t scratch = N * C + N * (QD > C ? QD : C) + 2 * N * QD + 2 * N * KD + 3 * N * F + ATT;
    return (saved + scratch) * sizeof(float) + 3 * N * sizeof(int);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static int rand_token(int V) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (int)(rng_state % (uint64_t)V);
}

/* 2048^3 sgemm with the thread count in use: best of 3 after a warm-up. */
static double sgemm_peak_gflops(void) {
    int n = 2048;
    float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n);
    float *C = malloc(sizeof(float) * n * n);
    if (!A || !B || !C) die("sgemm buffers", RLC_ERR_NOMEM);
    for (size_t i = 0; i < (size_t)n * n; i++)
        A[i] = (float)(i % 7) * 0.1f, B[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = omp_get_wtime();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C,
                    n);
        double t = omp_get_wtime() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(A), free(B), free(C);
    return 2.0 * n * n * n / best * 1e-9;
}

/* Runs bench/torch_ref.py with `args` and returns its JSON object (NULL on
 * failure, with the child's stderr left in g_torch_log). */
static json_t *run_torch(const char *args) {
    if (!g_torch) return NULL;
    const char *py = getenv("RLC_BENCH_PYTHON"), *script = getenv("RLC_TORCH_REF");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=%d MKL_NUM_THREADS=%d OMP_WAIT_POLICY=passive %s %s %s --threads %d "
             "--warmup %d --steps %d 2>>%s",
             g_threads, g_threads, py ? py : "/usr/bin/python3",
             script ? script : "bench/torch_ref.py", args, g_threads, WARMUP, g_steps, g_torch_log);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    char out[1 << 14];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int rc = pclose(p);
    json_error_t err;
    json_t *j = rc == 0 ? json_loads(out, 0, &err) : NULL;
    if (!j) fprintf(stderr, "bench_train: torch run failed (exit %d); see %s\n", rc, g_torch_log);
    return j;
}

static double jnum(json_t *j, const char *key) {
    json_t *v = j ? json_object_get(j, key) : NULL;
    return v ? json_number_value(v) : -1.0;
}

static void torch_args(const bench_cfg *b, const char *what, char *buf, size_t n) {
    snprintf(buf, n,
             "%s --layers %d --hidden %d --heads %d --kv-heads %d --inter %d --vocab %d --seq %d "
             "--batch %d",
             what, b->L, b->C, b->H, b->Hkv, b->F, b->V, b->T, b->B);
}

static void bench_train(const bench_cfg *b, train_result *r) {
    rlc_model_config cfg = model_config(b);
    int N = b->B * b->T;
    double rss0 = reset_peak_rss();

    rlc_model *m;
    rlc_acts *a;
    rlc_adamw opt;
    float *params, *grads;
    size_t n;
    rlc_status st = rlc_model_create(&cfg, 1234, &m);
    if (st) die("rlc_model_create", st);
    rlc_model_set_backend(m, rlc_backend_cpu());
    if ((st = rlc_model_trainable(m, &params, &grads, &n))) die("rlc_model_trainable", st);
    rlc_adamw_params ap = rlc_adamw_default_params();
    ap.lr = 1e-4f, ap.weight_decay = 0.0f, ap.max_grad_norm = 1.0f;
    if ((st = rlc_adamw_init(&opt, n, ap))) die("rlc_adamw_init", st);
    if ((st = rlc_acts_new(m, b->B, b->T, &a))) die("rlc_acts_new", st);

    int *ids = malloc(sizeof(int) * (N + 1)), *targets = malloc(sizeof(int) * N);
    for (int i = 0; i <= N; i++)
        ids[i] = rand_token(b->V);
    for (int i = 0; i < N; i++)
        targets[i] = (i + 1) % b->T ? ids[i + 1] : -1;

    double times[64];
    const rlc_backend *be = rlc_backend_cpu();
    for (int s = 0; s < WARMUP + g_steps; s++) {
        float loss;
        double t0 = omp_get_wtime();
        rlc_model_zero_grad(m);
        if ((st = rlc_model_ce_step(m, a, ids, targets, b->B, b->T, 1, &loss)))
            die("rlc_model_ce_step", st);
        rlc_adamw_step(&opt, be, params, grads, ap.lr, NULL);
        double t = omp_get_wtime() - t0;
        if (s == 0) r->loss0 = loss;
        r->loss = loss;
        if (s >= WARMUP) times[s - WARMUP] = t;
    }
    r->rss_delta = proc_status_bytes("VmHWM") - rss0;
    r->step_s = median(times, g_steps);
    r->tok_s = N / r->step_s;
    r->n_params = n;
    r->acts_bytes = rlc_acts_bytes(a);
    r->acts_paper_bytes = paper_acts_bytes(b);
    r->paper_bytes = 4 * sizeof(float) * n + r->acts_bytes;
    r->flops_per_step = train_flops(b);

    free(ids), free(targets);
    rlc_acts_free(a);
    rlc_adamw_free(&opt);
    rlc_model_free(m);

    char args[512];
    torch_args(b, "train", args, sizeof args);
    json_t *j = run_torch(args);
    r->torch_tok_s = jnum(j, "tok_s");
    r->torch_loss0 = jnum(j, "loss0");
    r->torch_rss = jnum(j, "peak_rss_delta");
    if (j && (size_t)jnum(j, "params") != n)
        fprintf(stderr, "bench_train: parameter counts differ: rlc %zu, torch %.0f\n", n,
                jnum(j, "params"));
    json_decref(j);
}

static void bench_gen(const bench_cfg *b, int prompt_len, int new_tokens, gen_result *r) {
    rlc_model_config cfg = model_config(b);
    rlc_model *m;
    rlc_generator *g;
    rlc_status st = rlc_model_create(&cfg, 1234, &m);
    if (st) die("rlc_model_create", st);
    rlc_model_set_backend(m, rlc_backend_cpu());
    if ((st = rlc_generator_new(m, b->B, prompt_len + new_tokens, &g)))
        die("rlc_generator_new", st);
    int *ids = malloc(sizeof(int) * b->B * prompt_len);
    const int **prompts = malloc(sizeof(int *) * b->B);
    int *lens = malloc(sizeof(int) * b->B);
    for (int i = 0; i < b->B; i++) {
        for (int t = 0; t < prompt_len; t++)
            ids[i * prompt_len + t] = rand_token(b->V);
        prompts[i] = ids + i * prompt_len, lens[i] = prompt_len;
    }
    rlc_gen_params p = rlc_gen_default_params();
    p.max_new_tokens = new_tokens;
    p.sampler.temperature = 0.0f; /* greedy, like the torch loop */
    p.use_eos = 0;
    p.seed = 1;

    double times[64];
    for (int s = 0; s < WARMUP + g_steps; s++) {
        rlc_gen_out out;
        double t0 = omp_get_wtime();
        if ((st = rlc_generator_run(g, prompts, lens, b->B, &p, &out)))
            die("rlc_generator_run", st);
        double t = omp_get_wtime() - t0;
        if (s >= WARMUP) times[s - WARMUP] = t;
        rlc_gen_out_free(&out);
    }
    r->run_s = median(times, g_steps);
    r->tok_s = (double)b->B * new_tokens / r->run_s;
    free(ids), free(prompts), free(lens);
    rlc_generator_free(g);
    rlc_model_free(m);

    char args[512], full[600];
    torch_args(b, "gen", args, sizeof args);
    snprintf(full, sizeof full, "%s --prompt %d --new %d", args, prompt_len, new_tokens);
    json_t *j = run_torch(full);
    r->torch_tok_s = jnum(j, "tok_s");
    json_decref(j);
}

static const char *verdict(double ratio, double target) {
    return ratio < 0 ? "n/a" : ratio >= target ? "PASS" : "FAIL";
}

static double ratio(double a, double b) {
    return a > 0 && b > 0 ? a / b : -1.0;
}

int main(int argc, char **argv) {
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--no-torch"))
            g_torch = 0;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            g_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            g_steps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--quick] [--no-torch] [--threads N] [--steps N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (g_steps < 1 || g_steps > 64 || g_threads < 1) return 2;
    omp_set_num_threads(g_threads);
    openblas_set_num_threads(g_threads);

    /* outputs sit next to the binary (build/) */
    char dir[512] = ".", json_path[1024];
    const char *slash = strrchr(argv[0], '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - argv[0]), argv[0]);
    snprintf(json_path, sizeof json_path, "%s/bench_results.json", dir);
    snprintf(g_torch_log, sizeof g_torch_log, "%s/bench_torch.log", dir);
    remove(g_torch_log);

    const bench_cfg cfgs[] = {
        {"small", 4, 256, 4, 4, 688, 512, 128, 16, 1.5},
        {"gpt2-small", 12, 768, 12, 12, 2048, 512, 256, 4, 1.2},
    };
    int ncfg = quick ? 1 : 2;
    const double gen_target = 3.0;
    const int gen_prompt = 16, gen_new = 64;

    printf("rlc end-to-end benchmark: %d threads, %d warm-up + %d timed steps (median), torch %s\n",
           g_threads, WARMUP, g_steps, g_torch ? "on" : "off");
    double peak = sgemm_peak_gflops();
    printf("sgemm 2048^3 peak: %.1f GFLOP/s\n", peak);

    train_result tr[2];
    gen_result gr;
    for (int c = 0; c < ncfg; c++) {
        const bench_cfg *b = &cfgs[c];
        printf("train %-10s L=%d C=%d H=%d/%d F=%d V=%d T=%d B=%d ...\n", b->name, b->L, b->C, b->H,
               b->Hkv, b->F, b->V, b->T, b->B);
        bench_train(b, &tr[c]);
        printf("  rlc %.0f tok/s (%.3f s/step, loss %.4f -> %.4f), torch %.0f tok/s (loss0 %.4f)\n",
               tr[c].tok_s, tr[c].step_s, tr[c].loss0, tr[c].loss, tr[c].torch_tok_s,
               tr[c].torch_loss0);
    }
    printf("generate small: %d prompts x %d tokens, %d new (greedy, no EOS) ...\n", cfgs[0].B,
           gen_prompt, gen_new);
    bench_gen(&cfgs[0], gen_prompt, gen_new, &gr);

    printf("\n%-24s %12s %12s %7s %7s  %s\n", "benchmark", "rlc tok/s", "torch tok/s", "ratio",
           "target", "result");
    for (int c = 0; c < ncfg; c++) {
        double q = ratio(tr[c].tok_s, tr[c].torch_tok_s);
        char name[64];
        snprintf(name, sizeof name, "train %s", cfgs[c].name);
        printf("%-24s %12.0f %12.0f %6.2fx %6.2fx  %s\n", name, tr[c].tok_s, tr[c].torch_tok_s, q,
               cfgs[c].target, verdict(q, cfgs[c].target));
    }
    double gq = ratio(gr.tok_s, gr.torch_tok_s);
    printf("%-24s %12.0f %12.0f %6.2fx %6.2fx  %s\n", "generate small", gr.tok_s, gr.torch_tok_s,
           gq, gen_target, verdict(gq, gen_target));

    printf("\nmodel FLOPs/step = (6 * matmul params + 12 * L * T * Hq*D) * B*T\n");
    printf("%-24s %12s %10s %10s %12s\n", "config", "GFLOP/step", "rlc GF/s", "% peak",
           "torch GF/s");
    for (int c = 0; c < ncfg; c++) {
        double gf = tr[c].flops_per_step * 1e-9, rg = gf / tr[c].step_s;
        double tg = tr[c].torch_tok_s > 0 ? gf * tr[c].torch_tok_s / (cfgs[c].B * cfgs[c].T) : -1;
        printf("%-24s %12.1f %10.1f %9.1f%% %12.1f\n", cfgs[c].name, gf, rg, 100 * rg / peak, tg);
    }

    printf("\npeak memory of a training step (MiB; paper = 16 B/param + rlc_acts_bytes)\n");
    printf("%-12s %8s %9s %10s %10s %10s %10s %7s %6s %10s\n", "config", "params", "p+g+m+v",
           "acts rlc", "acts ours", "paper", "measured", "ratio", "<=1.3", "torch");
    const double MiB = 1024.0 * 1024.0;
    for (int c = 0; c < ncfg; c++) {
        double q = tr[c].rss_delta / tr[c].paper_bytes;
        printf("%-12s %7.2fM %9.1f %10.1f %10.1f %10.1f %10.1f %7.3f %6s %10.1f\n", cfgs[c].name,
               tr[c].n_params * 1e-6, 16.0 * tr[c].n_params / MiB, tr[c].acts_bytes / MiB,
               tr[c].acts_paper_bytes / MiB, tr[c].paper_bytes / MiB, tr[c].rss_delta / MiB, q,
               q <= 1.3 ? "PASS" : "FAIL", tr[c].torch_rss > 0 ? tr[c].torch_rss / MiB : -1.0);
    }

    json_t *root = json_pack("{s:i, s:i, s:f}", "threads", g_threads, "steps", g_steps,
                             "sgemm_peak_gflops", peak);
    json_t *tj = json_object();
    for (int c = 0; c < ncfg; c++) {
        const train_result *r = &tr[c];
        double q = ratio(r->tok_s, r->torch_tok_s), rg = r->flops_per_step * 1e-9 / r->step_s;
        json_object_set_new(
            tj, cfgs[c].name,
            json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:s,s:f,s:f,"
                      "s:f,s:I,s:I,s:I,s:f,s:f,s:f,s:s}",
                      "layers", cfgs[c].L, "hidden", cfgs[c].C, "heads", cfgs[c].H, "kv_heads",
                      cfgs[c].Hkv, "intermediate", cfgs[c].F, "vocab", cfgs[c].V, "seq", cfgs[c].T,
                      "batch", cfgs[c].B, "params", (json_int_t)r->n_params, "rlc_tok_s", r->tok_s,
                      "torch_tok_s", r->torch_tok_s, "ratio", q, "target", cfgs[c].target,
                      "rlc_loss0", r->loss0, "torch_loss0", r->torch_loss0, "result",
                      verdict(q, cfgs[c].target), "gflop_per_step", r->flops_per_step * 1e-9,
                      "rlc_gflops", rg, "pct_sgemm_peak", 100 * rg / peak, "acts_bytes",
                      (json_int_t)r->acts_bytes, "acts_paper_bytes",
                      (json_int_t)r->acts_paper_bytes, "paper_bytes", (json_int_t)r->paper_bytes,
                      "measured_rss_delta", r->rss_delta, "mem_ratio",
                      r->rss_delta / r->paper_bytes, "torch_rss_delta", r->torch_rss, "mem_result",
                      r->rss_delta / r->paper_bytes <= 1.3 ? "PASS" : "FAIL"));
    }
    json_object_set_new(root, "train", tj);
    json_object_set_new(root, "generate",
                        json_pack("{s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:s}", "prompts", cfgs[0].B,
                                  "prompt_len", gen_prompt, "new_tokens", gen_new, "rlc_tok_s",
                                  gr.tok_s, "torch_tok_s", gr.torch_tok_s, "ratio", gq, "target",
                                  gen_target, "result", verdict(gq, gen_target)));
    if (json_dump_file(root, json_path, JSON_INDENT(2)))
        fprintf(stderr, "bench_train: could not write %s\n", json_path);
    else
        printf("\nresults: %s\n", json_path);
    json_decref(root);
    return 0;
}
