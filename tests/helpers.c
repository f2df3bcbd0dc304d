#include "helpers.h"

#include "base/fs.h"
#include "model/model.h"
#include "observe/metrics.h"
#include "tokenizer/tokenizer.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

void th_tmpdir(char *out, size_t cap) {
    snprintf(out, cap, "/tmp/rlc-test-XXXXXX");
    if (!mkdtemp(out)) out[0] = 0;
}

void th_rmdir(const char *dir) {
    if (!dir[0] || strncmp(dir, "/tmp/rlc-test-", 14)) return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

int th_python(const char *script, const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 /usr/bin/python3 tests/ref/%s %s", script, args);
    int rc = system(cmd);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

int th_python_script(const char *script, const char *in, const char *out) {
    char spath[] = "/tmp/rlc_test_py_XXXXXX";
    int fd = mkstemp(spath);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) return -1;
    fputs(script, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", spath, in, out);
    int rc = system(cmd);
    unlink(spath);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

th_cmp th_compare(const float *a, const float *b, size_t n, double atol, double rtol) {
    th_cmp c = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double rel = d / (fabs((double)b[i]) + 1e-30);
        if (d != d) d = INFINITY; /* NaN is the worst error */
        if (d > c.max_abs) c.max_abs = d, c.worst = i;
        if (rel > c.max_rel && fabs(b[i]) > atol) c.max_rel = rel;
        if (!(d <= atol + rtol * fabs((double)b[i]))) c.bad++;
    }
    return c;
}

const char *th_rlc_bin(void) {
    return getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc-test";
}

const char *th_rlc_bin_abs(void) {
    static char abs[1024];
    if (!abs[0]) {
        char *p = realpath(th_rlc_bin(), NULL);
        cr_assert(p && strlen(p) < sizeof abs, "%s", th_rlc_bin());
        snprintf(abs, sizeof abs, "%s", p);
        free(p);
    }
    return abs;
}

int th_rlc_run(const char *dir, const char *bin, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && OMP_NUM_THREADS=1 %s %s > out.txt 2> err.txt", dir, bin,
             args);
    int rc = system(cmd);
    cr_assert(WIFEXITED(rc), "rlc %s: status %#x", args, rc);
    return WEXITSTATUS(rc);
}

char *th_slurp_size(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    cr_assert_not_null(b);
    size_t got = fread(b, 1, (size_t)len, f);
    fclose(f);
    b[got] = 0;
    if (n) *n = got;
    return b;
}

char *th_slurp(const char *path) {
    return th_slurp_size(path, NULL);
}

pid_t th_spawn_sft(const char *cfg, const char *log, int ignore_int, const char *const *args) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("OMP_NUM_THREADS", "1", 1);
        signal(SIGINT, ignore_int ? SIG_IGN : SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        const char *argv[32] = {th_rlc_bin_abs(), "sft", cfg};
        int n = 3;
        for (int i = 0; args && args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int th_count_lines(const char *path) {
    char *t = th_slurp(path);
    int n = 0;
    for (char *p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

void th_write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

void th_write_file(const char *path, const char *text) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    cr_assert_eq(rlc_mkdir_p(dir), RLC_OK, "%s", rlc_last_error());
    th_write_text(path, text);
}

void th_set_age(const char *path, double age) {
    struct timeval now, tv[2];
    gettimeofday(&now, NULL);
    tv[0].tv_sec = tv[1].tv_sec = now.tv_sec - (time_t)age;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    cr_assert_eq(utimes(path, tv), 0, "%s", path);
}

void th_ref_case_make(th_ref_case *rc, const char *args) {
    th_tmpdir(rc->dir, sizeof rc->dir);
    cr_assert(rc->dir[0], "mkdtemp failed");
    char full[2048], path[512];
    snprintf(full, sizeof full, "make-case --out %s --greedy-tokens 0 %s", rc->dir, args);
    int st = th_python("llama_ref.py", full);
    cr_assert_eq(st, 0, "PyTorch reference failed (rc %d): llama_ref.py %s", st, full);
    snprintf(path, sizeof path, "%s/case.safetensors", rc->dir);
    cr_assert_eq(rlc_st_open(path, &rc->ref), RLC_OK, "%s", rlc_last_error());
    const rlc_st_tensor *ids = rlc_st_find(rc->ref, "input_ids");
    const rlc_st_tensor *tg = rlc_st_find(rc->ref, "targets");
    const rlc_st_tensor *lg = rlc_st_find(rc->ref, "logits");
    cr_assert(ids && tg && lg && ids->ndim == 2);
    rc->B = (int)ids->shape[0];
    rc->T = (int)ids->shape[1];
    rc->V = (int)(lg->numel / ids->numel);
    rc->ids = ids->data;
    rc->targets = tg->data;
}

const float *th_ref_f32(th_ref_case *rc, const char *name, size_t numel) {
    const rlc_st_tensor *t = rlc_st_find(rc->ref, name);
    cr_assert_not_null(t, "reference lacks %s", name);
    cr_assert_eq(t->dtype, RLC_DTYPE_F32);
    cr_assert_eq(t->numel, numel, "%s: %zu elements, expected %zu", name, t->numel, numel);
    return t->data;
}

rlc_model *th_ref_case_model(const th_ref_case *rc, int lora) {
    char path[512];
    snprintf(path, sizeof path, "%s/model", rc->dir);
    rlc_model *m = NULL;
    cr_assert_eq(rlc_model_load(path, &m), RLC_OK, "%s", rlc_last_error());
    if (lora) {
        snprintf(path, sizeof path, "%s/adapter", rc->dir);
        cr_assert_eq(rlc_model_load_adapter(m, path), RLC_OK, "%s", rlc_last_error());
    }
    float *p, *g;
    size_t n;
    cr_assert_eq(rlc_model_trainable(m, &p, &g, &n), RLC_OK);
    return m;
}

void th_expect_close(const char *what, const float *got, const float *want, size_t n, double atol,
                     double rtol) {
    th_cmp c = th_compare(got, want, n, atol, rtol);
    cr_expect_eq(c.bad, 0, "%s: %zu of %zu elements off (max abs %.3g at %zu: got %.8g want %.8g)",
                 what, c.bad, n, c.max_abs, c.worst, got[c.worst], want[c.worst]);
}

void th_expect_ref_grads(th_ref_case *rc, rlc_model *m, int lora, const char *what, double atol,
                         double rtol) {
    int checked = 0, ref_grads = 0;
    for (int i = 0;; i++) {
        const char *name = rlc_model_param_name(m, lora, i);
        if (!name) break;
        char key[200], msg[400];
        snprintf(key, sizeof key, "grad.%s", name);
        snprintf(msg, sizeof msg, "%s: %s", what, key);
        size_t n = 0;
        const float *gr = rlc_model_grad(m, name, &n);
        cr_assert_not_null(gr, "no gradient for %s", name);
        th_expect_close(msg, gr, th_ref_f32(rc, key, n), n, atol, rtol);
        checked++;
    }
    for (int i = 0; i < rlc_st_count(rc->ref); i++)
        ref_grads += !strncmp(rlc_st_at(rc->ref, i)->name, "grad.", 5);
    cr_expect_eq(checked, ref_grads, "%s: checked %d gradients, reference has %d", what, checked,
                 ref_grads);
    cr_expect_gt(checked, 0, "%s: no gradients", what);
}

float th_mean_ce(const int *targets, int N, const float *logp, float *dlogp) {
    int count = 0;
    double sum = 0;
    for (int i = 0; i < N; i++)
        if (targets[i] >= 0) count++, sum -= logp[i];
    for (int i = 0; i < N; i++)
        dlogp[i] = targets[i] >= 0 ? -1.0f / (float)count : 0.0f;
    return count ? (float)(sum / count) : 0.0f;
}

void th_make_byte_base(const char *dir, float theta) {
    rlc_model_config mc = rlc_config_default();
    mc.vocab_size = 258;
    mc.hidden_size = 32;
    mc.num_layers = 1;
    mc.num_heads = 2;
    mc.num_kv_heads = 2;
    mc.head_dim = 16;
    mc.intermediate_size = 64;
    mc.max_position_embeddings = 64;
    mc.rope_theta = theta;
    mc.bos_token_id = 256;
    mc.eos_token_ids[0] = 257;
    mc.num_eos = 1;
    rlc_model *m;
    cr_assert_eq(rlc_model_create(&mc, 3, &m), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_model_save(m, dir, RLC_DTYPE_F32), RLC_OK, "%s", rlc_last_error());
    rlc_model_free(m);
    static const char *const sp[] = {"<|bos|>", "<|eos|>"};
    rlc_tokenizer *t;
    cr_assert_eq(rlc_tokenizer_new_byte(sp, 2, &t), RLC_OK);
    cr_assert_eq(rlc_tokenizer_save_byte(t, dir), RLC_OK);
    rlc_tokenizer_free(t);
}

void th_drop_varying_metrics(json_t *o) {
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v) {
        const rlc_metric_def *d = rlc_metric_def_by_key(k);
        if ((d && (d->flags & RLC_MF_TIME)) || strstr(k, "time") || strstr(k, "per_s"))
            json_object_del(o, k);
    }
}

/* metrics.jsonl of two runs: same records, fields compared as JSON values,
 * leaving out wall-clock ones (*time*, *per_s*) and every other metric the
 * registry marks as differing between identical runs (system/...). */
json_t *th_load_metrics(const char *path) {
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[16384];
    while (fgets(line, sizeof line, f)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        cr_assert_not_null(o, "%s: %s in: %s", path, e.text, line);
        th_drop_varying_metrics(o);
        json_array_append_new(all, o);
    }
    fclose(f);
    return all;
}

void th_expect_same_metrics(const char *a, const char *b) {
    json_t *x = th_load_metrics(a), *y = th_load_metrics(b);
    cr_assert_eq(json_array_size(x), json_array_size(y), "%s: %zu records, %s: %zu", a,
                 json_array_size(x), b, json_array_size(y));
    for (size_t i = 0; i < json_array_size(x); i++) {
        json_t *p = json_array_get(x, i), *q = json_array_get(y, i);
        if (json_equal(p, q)) continue;
        char *sp = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
        char *sq = json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS);
        cr_log_error("record %zu differs:\n  %s\n  %s", i, sp, sq);
        free(sp);
        free(sq);
        cr_assert_fail("metrics.jsonl differ at record %zu", i);
    }
    json_decref(x);
    json_decref(y);
}

/* Every file of DIR_A/final byte-identical in DIR_B/final, and as many files. */
void th_expect_same_final(const char *a, const char *b) {
    char da[1024], db[1024], pa[1600], pb[1600];
    snprintf(da, sizeof da, "%s/final", a);
    snprintf(db, sizeof db, "%s/final", b);
    DIR *d = opendir(da);
    cr_assert_not_null(d, "%s", da);
    int n = 0, weights = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(pa, sizeof pa, "%s/%s", da, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", db, e->d_name);
        size_t na, nb;
        char *x = th_slurp_size(pa, &na), *y = th_slurp_size(pb, &nb);
        cr_assert_not_null(y, "%s missing", pb);
        cr_assert(na == nb && memcmp(x, y, na) == 0, "%s and %s differ", pa, pb);
        weights += strstr(e->d_name, ".safetensors") != NULL;
        free(x);
        free(y);
        n++;
    }
    closedir(d);
    d = opendir(db);
    while ((e = readdir(d)))
        n -= e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(n, 0, "%s and %s hold different files", da, db);
    cr_assert_eq(weights, 1, "%s: expected one weights file", da);
}
