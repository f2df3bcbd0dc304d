/* Shared test helpers: temporary directories, running the PyTorch reference,
 * and tolerance comparisons that report the worst element. */
#ifndef RLC_TESTS_HELPERS_H
#define RLC_TESTS_HELPERS_H

#include "model/safetensors.h"

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates a fresh directory under /tmp; returns its path (static storage per call slot). */
void th_tmpdir(char *out, size_t cap);
/* rm -rf dir. */
void th_rmdir(const char *dir);
/* Runs `/usr/bin/python3 tests/ref/<script> <args>`; returns its exit status. */
int th_python(const char *script, const char *args);

/* Runs the Python source `script` under /usr/bin/python3 with argv[1] = in,
 * argv[2] = out; returns the exit status (non-zero also when the interpreter
 * or torch is missing: tests must fail then, not skip). */
int th_python_script(const char *script, const char *in, const char *out);

/* The rlc binary the CLI tests run: $RLC_BIN, else build/rlc-test (the test
 * build, with the crash hook; `make unit` builds it and sets RLC_BIN). */
const char *th_rlc_bin(void);
/* th_rlc_bin as an absolute path (for commands run from another folder). */
const char *th_rlc_bin_abs(void);
/* `cd dir && bin ARGS` with one thread, stdout and stderr into dir/out.txt
 * and dir/err.txt; returns the exit code (a death by signal fails the test). */
int th_rlc_run(const char *dir, const char *bin, const char *args);
/* The whole file, NUL-terminated and malloc'd; NULL when it cannot be read. */
char *th_slurp(const char *path);
/* th_slurp that also gives the size read in *n (files with NUL bytes). */
char *th_slurp_size(const char *path, size_t *n);
/* Newlines in path (0 when it is missing). */
int th_count_lines(const char *path);
/* Starts `rlc sft CFG ARGS...` (NULL-terminated overrides, may be NULL) in
 * the background with one thread, stdout and stderr into LOG, SIGTERM at its
 * default; ignore_int: SIGINT set to SIG_IGN before exec. */
pid_t th_spawn_sft(const char *cfg, const char *log, int ignore_int, const char *const *args);
/* Writes text to path (the test fails when it cannot). */
void th_write_text(const char *path, const char *text);
/* th_write_text after creating path's parent folders. */
void th_write_file(const char *path, const char *text);
/* Sets path's modification (and access) time to `age` seconds ago. */
void th_set_age(const char *path, double age);
/* Deletes from a metrics.jsonl object the values that differ between
 * identical runs: the metrics the registry flags RLC_MF_TIME (times, rates,
 * system/...) and any other key naming a time or a rate (*time*, *per_s*). */
void th_drop_varying_metrics(json_t *o);
/* metrics.jsonl as an array of its records, th_drop_varying_metrics applied
 * (the test fails when it cannot be read or parsed). */
json_t *th_load_metrics(const char *path);
/* Two metrics.jsonl files hold the same records, th_drop_varying_metrics
 * applied; the first differing record is logged. */
void th_expect_same_metrics(const char *a, const char *b);
/* Every file of A/final byte-identical in B/final, as many files, one weights file. */
void th_expect_same_final(const char *a, const char *b);

/* A from-scratch GRPO config of 4 steps (1 layer, byte tokenizer, groups of 2,
 * evaluation every 2 steps) that trains in about a second, writing
 * RUN_DIR/RUN_NAME (both string literals). */
#define TH_TINY_GRPO_YAML(run_dir, run_name)                                                       \
    "model: {path: \"\", from_scratch: true, layers: 1, hidden: 32, heads: 2, "                    \
    "kv_heads: 2,\n        intermediate: 64, max_seq: 64, seed: 1}\n"                              \
    "tokenizer: {kind: byte, chat: none}\n"                                                        \
    "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\",\n"                    \
    "       max_prompt_tokens: 16, eval_size: 4, seed: 7}\n"                                       \
    "training: {steps: 4, batch_size: 2, eval_every: 2}\n"                                         \
    "algorithm: {group_size: 2, max_new_tokens: 8, temperature: 1.0}\n"                            \
    "optimizer: {warmup_steps: 0, lr: 1.0e-2}\n"                                                   \
    "logging: {run_dir: " run_dir ", run_name: " run_name ", tensorboard: false}\n"                \
    "checkpoint: {save_every: 0}\n"

/* A tiny byte-vocabulary Llama (1 layer, hidden 32, vocabulary 258) saved to
 * DIR in F32 with rope_theta theta, plus rlc_tokenizer.json: a base model for
 * LoRA runs of a few seconds. */
void th_make_byte_base(const char *dir, float theta);

typedef struct th_cmp {
    double max_abs, max_rel;
    size_t worst, bad;
} th_cmp;

/* Counts elements with |a-b| > atol + rtol*|b| (b is the reference). */
th_cmp th_compare(const float *a, const float *b, size_t n, double atol, double rtol);

/* A PyTorch reference case from `tests/ref/llama_ref.py make-case` (no greedy
 * tokens): dir/model, dir/adapter and dir/case.safetensors, open in ref, with
 * the batch's input ids and targets [B, T] and the vocabulary size. */
typedef struct th_ref_case {
    char dir[256];
    rlc_st_file *ref;
    int B, T, V;
    const int *ids, *targets;
} th_ref_case;
/* Writes a case into a fresh directory from llama_ref.py arguments (the test
 * fails when the reference cannot run). Close rc->ref and th_rmdir(rc->dir). */
void th_ref_case_make(th_ref_case *rc, const char *args);
/* The case's F32 tensor `name` of numel elements (the test fails otherwise). */
const float *th_ref_f32(th_ref_case *rc, const char *name, size_t numel);
/* The case's model (with its adapter when lora), trainable, gradients allocated. */
struct rlc_model *th_ref_case_model(const th_ref_case *rc, int lora);
/* Every named gradient of m (LoRA's when lora) against the case's grad.<name>
 * at atol/rtol, and as many as the case has; what prefixes the messages. */
void th_expect_ref_grads(th_ref_case *rc, struct rlc_model *m, int lora, const char *what,
                         double atol, double rtol);
/* Mean cross-entropy over rows with targets[i] >= 0 from logp[N]; dlogp[N]
 * receives its gradient (-1/count on those rows, 0 elsewhere). */
float th_mean_ce(const int *targets, int N, const float *logp, float *dlogp);
/* cr_expect that th_compare finds no element off, naming what and the worst one. */
void th_expect_close(const char *what, const float *got, const float *want, size_t n, double atol,
                     double rtol);

#endif
