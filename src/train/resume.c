/* Rerun decisions, checked resumes, the STOPPED marker and stop signals. */
#include "train/resume.h"

#include "base/fs.h"
#include "base/numfmt.h"
#include "base/strbuf.h"
#include "observe/log.h"
#include "train/checkpoint.h"
#include "train/runinfo.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP 4096

static int exists(const char *dir, const char *name) {
    char path[PATH_CAP];
    struct stat sb;
    return !rlc_path_join(path, sizeof path, dir, name) && lstat(path, &sb) == 0;
}

/* ---- trainer_state.json ---- */

/* A double for JSON in its shortest exact form, or null. */
static void json_double(char *out, size_t cap, int have, double v) {
    if (have && isfinite(v))
        rlc_format_double(out, cap, v);
    else
        snprintf(out, cap, "null");
}

/* dir/trainer_state.json parsed into *j (the caller decrefs); path (PATH_CAP)
 * receives its path for messages. */
static rlc_status load_state(const char *dir, char *path, json_t **j) {
    RLC_TRY(rlc_path_join(path, PATH_CAP, dir, RLC_RUN_STATE));
    json_error_t e;
    *j = json_load_file(path, 0, &e);
    return *j ? RLC_OK : rlc_errorf(RLC_ERR_FORMAT, "%s: %s", path, e.text);
}

/* An optional double of object obj ("sepa", "backpressure"): a number, or
 * null for none. */
static rlc_status opt_double(const json_t *o, const char *path, const char *obj, const char *key,
                             int *have, double *v) {
    json_t *x = json_object_get(o, key);
    if (json_is_null(x)) {
        *have = 0, *v = 0;
        return RLC_OK;
    }
    if (!json_is_number(x) || !isfinite(json_number_value(x)))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: \"%s\".\"%s\": expected a number or null, %s", path,
                          obj, key, x ? "got another value" : "missing");
    *have = 1, *v = json_number_value(x);
    return RLC_OK;
}

/* Back pressure's state as the "backpressure" object: every double in its
 * shortest exact form, so the resumed controller is the saved one bit for bit. */
static void bp_format(rlc_strbuf *b, const rlc_bp_state *s) {
    char v[40];
    json_double(v, sizeof v, s->have_ema, s->ema);
    rlc_sb_printf(b, ", \"backpressure\": {\"steps\": %d, \"batch\": %d, \"ema\": %s, \"fit\": ",
                  s->steps, s->batch, v);
    if (s->fit.ok) {
        const double f[] = {s->fit.a,     s->fit.b,     s->fit.c,
                            s->fit.sigma, s->fit.kappa, s->fit.lambda};
        static const char *const names[] = {"a", "b", "c", "sigma", "kappa", "lambda"};
        for (int i = 0; i < 6; i++) {
            json_double(v, sizeof v, 1, f[i]);
            rlc_sb_printf(b, "%s\"%s\": %s", i ? ", " : "{", names[i], v);
        }
        rlc_sb_cstr(b, "}");
    } else {
        rlc_sb_cstr(b, "null");
    }
    for (int k = 0; k < 2; k++) {
        rlc_sb_cstr(b, k ? "], \"x\": [" : ", \"p\": [");
        for (int i = 0; i < s->n; i++) {
            json_double(v, sizeof v, 1, k ? s->x[i] : s->p[i]);
            rlc_sb_printf(b, "%s%s", i ? ", " : "", v);
        }
    }
    rlc_sb_cstr(b, "]}");
}

void rlc_trainer_state_format(const rlc_run_config *c, int step, long run_correct, long run_total,
                              long cursor, const rlc_sepa_state *sepa, const rlc_bp_state *bp,
                              double reached, char *buf, size_t cap) {
    char extra[320] = "";
    if (sepa) {
        char ema[40], v0[40];
        json_double(ema, sizeof ema, sepa->have_var_ema, sepa->var_ema);
        json_double(v0, sizeof v0, sepa->have_var_0, sepa->var_0);
        snprintf(extra, sizeof extra,
                 ", \"sepa\": {\"gate_open\": %s, \"warmup_seen\": %d, \"var_ema\": %s, "
                 "\"var_0\": %s}",
                 sepa->gate_open ? "true" : "false", sepa->warmup_seen, ema, v0);
    }
    if (!isnan(reached)) {
        size_t n = strlen(extra);
        char acc[40];
        json_double(acc, sizeof acc, 1, reached);
        snprintf(extra + n, sizeof extra - n, ", \"stopped_at_accuracy\": %s", acc);
    }
    rlc_strbuf b = {0};
    if (bp) bp_format(&b, bp);
    snprintf(buf, cap,
             "{\"step\": %d, \"running_correct\": %ld, \"running_total\": %ld, "
             "\"seed\": %d, \"data_cursor\": %ld%s%s}\n",
             step, run_correct, run_total, c->training.seed, cursor, extra,
             b.p && !b.oom ? b.p : "");
    rlc_sb_free(&b);
}

/* One finite number of the "backpressure" object o (within obj, for messages). */
static rlc_status bp_number(const json_t *o, const char *path, const char *obj, const char *key,
                            double *v) {
    json_t *x = json_object_get(o, key);
    if (!json_is_number(x) || !isfinite(json_number_value(x)))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: \"%s\".\"%s\": expected a number, %s", path, obj,
                          key, x ? "got another value" : "missing");
    *v = json_number_value(x);
    return RLC_OK;
}

/* Back pressure's state from dir/trainer_state.json, checked against bp's
 * batch limits. */
static rlc_status read_bp(const char *dir, const rlc_bp_params *bp, rlc_bp_state *s) {
    char path[PATH_CAP];
    json_t *j;
    RLC_TRY(load_state(dir, path, &j));
    json_t *o = json_object_get(j, "backpressure");
    json_t *steps = json_object_get(o, "steps"), *batch = json_object_get(o, "batch");
    json_t *fit = json_object_get(o, "fit");
    json_t *p = json_object_get(o, "p"), *x = json_object_get(o, "x");
    memset(s, 0, sizeof *s);
    rlc_status st = RLC_OK;
    if (!json_is_object(o))
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: no \"backpressure\" object, but backpressure.enabled=true needs the "
                        "controller's state: this checkpoint is of another run",
                        path);
    else if (!json_is_integer(steps) || json_integer_value(steps) < 0 ||
             json_integer_value(steps) > INT_MAX || !json_is_integer(batch) ||
             json_integer_value(batch) < bp->min_batch || json_integer_value(batch) > bp->max_batch)
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: \"backpressure\" needs \"steps\" (an integer >= 0) and \"batch\" (an "
                        "integer from backpressure.min_batch_size=%d to max_batch_size=%d)",
                        path, bp->min_batch, bp->max_batch);
    else if (!json_is_array(p) || !json_is_array(x) || json_array_size(p) != json_array_size(x) ||
             json_array_size(p) > RLC_BP_WINDOW)
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: \"backpressure\" needs \"p\" and \"x\", arrays of equal length up to "
                        "%d",
                        path, RLC_BP_WINDOW);
    else if (!json_is_null(fit) && !json_is_object(fit))
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: \"backpressure\".\"fit\": expected an object or null",
                        path);
    if (!st) {
        s->steps = (int)json_integer_value(steps);
        s->batch = (int)json_integer_value(batch);
        st = opt_double(o, path, "backpressure", "ema", &s->have_ema, &s->ema);
    }
    s->n = st ? 0 : (int)json_array_size(p);
    for (int i = 0; !st && i < s->n; i++) {
        json_t *pi = json_array_get(p, (size_t)i), *xi = json_array_get(x, (size_t)i);
        if (!json_is_number(pi) || !json_is_number(xi) || !(json_number_value(pi) > 0) ||
            !(json_number_value(xi) > 0) || !isfinite(json_number_value(xi)))
            st = rlc_errorf(RLC_ERR_FORMAT,
                            "%s: \"backpressure\": \"p\"[%d] and \"x\"[%d] must be numbers > 0",
                            path, i, i);
        else
            s->p[i] = json_number_value(pi), s->x[i] = json_number_value(xi);
    }
    if (!st && json_is_object(fit)) {
        rlc_usl_fit *f = &s->fit;
        static const char *const names[] = {"a", "b", "c", "sigma", "kappa", "lambda"};
        double *dst[] = {&f->a, &f->b, &f->c, &f->sigma, &f->kappa, &f->lambda};
        for (int i = 0; !st && i < 6; i++)
            st = bp_number(fit, path, "backpressure\".\"fit", names[i], dst[i]);
        f->p_star = rlc_usl_p_star(f->sigma, f->kappa);
        f->ok = !st;
    }
    json_decref(j);
    return st;
}

/* SEPA's state from dir/trainer_state.json. */
static rlc_status read_sepa(const char *dir, rlc_sepa_state *s) {
    char path[PATH_CAP];
    json_t *j;
    RLC_TRY(load_state(dir, path, &j));
    json_t *o = json_object_get(j, "sepa");
    rlc_status st = RLC_OK;
    json_t *gate = json_object_get(o, "gate_open"), *seen = json_object_get(o, "warmup_seen");
    memset(s, 0, sizeof *s);
    if (!json_is_object(o))
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: no \"sepa\" object, but algorithm.transform=gtpo_sepa needs SEPA's "
                        "state: this checkpoint is of another run",
                        path);
    else if (!json_is_boolean(gate) || !json_is_integer(seen) || json_integer_value(seen) < 0)
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: \"sepa\" needs \"gate_open\" (true/false) and \"warmup_seen\" (an "
                        "integer >= 0)",
                        path);
    if (!st) {
        s->gate_open = json_is_true(gate);
        s->warmup_seen = (int)json_integer_value(seen);
        st = opt_double(o, path, "sepa", "var_ema", &s->have_var_ema, &s->var_ema);
    }
    if (!st) st = opt_double(o, path, "sepa", "var_0", &s->have_var_0, &s->var_0);
    json_decref(j);
    return st;
}

/* One required integer field of a trainer_state.json. */
static rlc_status state_int(const json_t *j, const char *path, const char *key, long *out) {
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: \"%s\": expected an integer >= 0, %s", path, key,
                          v ? "got another value" : "missing");
    *out = (long)json_integer_value(v);
    return RLC_OK;
}

/* Reads dir/trainer_state.json: step and, when wanted, the other fields. */
static rlc_status read_state(const char *dir, long *step, long *run_correct, long *run_total,
                             long *seed, long *cursor) {
    char path[PATH_CAP];
    json_t *j;
    RLC_TRY(load_state(dir, path, &j));
    rlc_status st =
        json_is_object(j) ? RLC_OK : rlc_errorf(RLC_ERR_FORMAT, "%s: expected an object", path);
    if (!st) st = state_int(j, path, "step", step);
    if (!st && run_correct) st = state_int(j, path, "running_correct", run_correct);
    if (!st && run_total) st = state_int(j, path, "running_total", run_total);
    if (!st && seed) st = state_int(j, path, "seed", seed);
    if (!st && cursor) st = state_int(j, path, "data_cursor", cursor);
    json_decref(j);
    return st;
}

/* ---- the rerun plan ---- */

/* Which of the files that make a run dir holds, as ", "-joined names. */
static int run_files(const char *dir, char *out, size_t cap) {
    static const char *const names[] = {"checkpoints/", "final/", "metrics.jsonl"};
    out[0] = 0;
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s", names[i]);
        name[strcspn(name, "/")] = 0;
        if (!exists(dir, name)) continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", n++ ? ", " : "", names[i]);
    }
    return n;
}

/* The config stored with the run: the checkpoint's config.yaml, else the run
 * directory's. *where names it for messages; *have 0 when neither exists. */
static rlc_status stored_config(const char *run_dir, const char *ckpt, rlc_run_config *old,
                                char *where, size_t cap, int *have) {
    char path[PATH_CAP];
    *have = 0;
    if (ckpt && ckpt[0]) {
        RLC_TRY(rlc_path_join(path, sizeof path, ckpt, RLC_RUN_CONFIG));
        if (!rlc_file_exists(path)) ckpt = NULL;
    } else {
        ckpt = NULL;
    }
    if (!ckpt) {
        RLC_TRY(rlc_path_join(path, sizeof path, run_dir, RLC_RUN_CONFIG));
        if (!rlc_file_exists(path)) return RLC_OK;
    }
    snprintf(where, cap, "%s", path);
    RLC_TRY(rlc_run_config_load(path, old));
    *have = 1;
    return RLC_OK;
}

/* The newest intact checkpoint (*step = -1 when none); damaged ones are logged. */
static rlc_status newest_checkpoint(const char *run_dir, int64_t *step, char *path, size_t cap) {
    char *warn_text = NULL;
    size_t warn_len = 0;
    FILE *warn = open_memstream(&warn_text, &warn_len);
    rlc_status st = rlc_ckpt_find_latest(run_dir, step, path, cap, warn);
    if (warn) fclose(warn);
    if (warn_text && warn_len) rlc_logf(RLC_LOG_WARN, "%s", warn_text);
    free(warn_text);
    if (st == RLC_ERR_NOT_FOUND) {
        rlc_clear_error();
        *step = -1;
        path[0] = 0;
        return RLC_OK;
    }
    return st;
}

rlc_status rlc_rerun_plan_make(const rlc_run_config *c, const char *run_dir, rlc_rerun_plan *plan) {
    memset(plan, 0, sizeof *plan);
    plan->action = RLC_RERUN_FRESH;
    char held[128];
    int holds = run_files(run_dir, held, sizeof held);
    if (RLC_RC(c, checkpoint.resume) == RLC_RC_RESUME_OVERWRITE) {
        plan->overwrite = holds || exists(run_dir, RLC_RUN_CONFIG) || exists(run_dir, "logs") ||
                          exists(run_dir, "tb") || exists(run_dir, "emergence") ||
                          exists(run_dir, RLC_RUN_STOPPED);
        return RLC_OK;
    }
    if (c->checkpoint.resume == RLC_RC_RESUME_NEVER) {
        if (holds)
            return rlc_errorf(RLC_ERR_INVALID,
                              "%s already holds a run (%s) and checkpoint.resume=never: set "
                              "checkpoint.resume=overwrite to remove it and start fresh, or give "
                              "this run a new logging.run_name",
                              run_dir, held);
        return RLC_OK;
    }

    int64_t ck_step;
    RLC_TRY(newest_checkpoint(run_dir, &ck_step, plan->checkpoint, sizeof plan->checkpoint));
    long final_step;
    int early;
    RLC_TRY(rlc_run_final_step(run_dir, &final_step, &early));
    /* A finished run's config is the run directory's (written when it started). */
    rlc_run_config old;
    char where[PATH_CAP];
    int have;
    have = 0;
    if (holds)
        RLC_TRY(stored_config(run_dir, final_step >= ck_step ? NULL : plan->checkpoint, &old, where,
                              sizeof where, &have));
    char *diff = NULL, *free_diff = NULL;
    rlc_status st = have ? rlc_run_config_changes(&old, c, &diff, &free_diff) : RLC_OK;
    if (st == RLC_OK && have && !diff && c->training.steps > old.training.steps &&
        c->optimizer.schedule != RLC_RC_SCHED_CONSTANT)
        rlc_logf(RLC_LOG_WARN,
                 "training.steps grew from %d to %d: the %s learning-rate schedule now spans %d "
                 "steps, so the steps still to run use other rates than the stored run planned",
                 old.training.steps, c->training.steps,
                 c->optimizer.schedule == RLC_RC_SCHED_COSINE ? "cosine" : "linear",
                 c->training.steps);
    if (have) rlc_run_config_free(&old);
    if (st == RLC_OK && diff)
        st = rlc_errorf(RLC_ERR_INVALID,
                        "%s holds a run with other settings (%s): %s. Nothing was changed. To "
                        "keep that run, give this one a new logging.run_name; to replace it, "
                        "set checkpoint.resume=overwrite",
                        run_dir, where, diff);
    if (st == RLC_OK && free_diff)
        rlc_logf(RLC_LOG_INFO, "settings changed since the stored run (allowed on resume): %s",
                 free_diff);
    free(diff);
    free(free_diff);
    RLC_TRY(st);

    /* A run that ended at its target accuracy is complete: the stored config
     * has the same training.stop_at_accuracy (it may not differ). */
    if (final_step >= 0 && (final_step >= c->training.steps || early)) {
        plan->action = RLC_RERUN_COMPLETE;
        plan->step = final_step;
        plan->early = early;
        return RLC_OK;
    }
    plan->replaces_final = final_step >= 0;
    if (ck_step >= 0) {
        plan->action = RLC_RERUN_RESUME;
        plan->step = ck_step;
    }
    if (plan->replaces_final)
        rlc_logf(RLC_LOG_INFO,
                 "the run finished at step %ld; training.steps is now %d: %s, and final/ is "
                 "replaced at the end",
                 final_step, c->training.steps,
                 ck_step >= 0 ? "continuing from its newest checkpoint"
                              : "it has no checkpoint, so training starts again at step 0");
    return RLC_OK;
}

rlc_status rlc_run_final_step(const char *run_dir, long *step, int *early) {
    char final_dir[PATH_CAP];
    *step = -1;
    if (early) *early = 0;
    RLC_TRY(rlc_path_join(final_dir, sizeof final_dir, run_dir, "final"));
    if (!exists(final_dir, RLC_RUN_STATE)) return RLC_OK;
    RLC_TRY(read_state(final_dir, step, NULL, NULL, NULL, NULL));
    if (!early) return RLC_OK;
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, final_dir, RLC_RUN_STATE));
    json_t *j = json_load_file(path, 0, NULL);
    *early = json_is_number(json_object_get(j, "stopped_at_accuracy"));
    json_decref(j);
    return RLC_OK;
}

/* ---- overwrite ---- */

rlc_status rlc_rerun_clear(const char *run_dir) {
    static const char *const names[] = {RLC_RUN_STOPPED, "final",        "checkpoints",
                                        "metrics.jsonl", "emergence",    "tb",
                                        "logs",          RLC_RUN_CONFIG, RLC_RUN_INFO};
    char path[PATH_CAP];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        RLC_TRY(rlc_path_join(path, sizeof path, run_dir, names[i]));
        RLC_TRY(rlc_rm_rf(path));
    }
    rlc_logf(RLC_LOG_INFO, "checkpoint.resume=overwrite: removed the earlier run's files in %s",
             run_dir);
    return rlc_fsync_dir(run_dir);
}

/* ---- loading a checkpoint ---- */

rlc_status rlc_resume_load(const rlc_run_config *c, const char *ckpt, int64_t step, rlc_model *m,
                           rlc_adamw *opt, long *run_correct, long *run_total, long *cursor,
                           rlc_sepa_state *sepa, const rlc_bp_params *bpp, rlc_bp_state *bp) {
    const char *name = strrchr(ckpt, '/') ? strrchr(ckpt, '/') + 1 : ckpt;
    int adapter = exists(ckpt, "adapter_model.safetensors");
    int full = exists(ckpt, "model.safetensors");
    if (adapter && !full && !rlc_model_has_lora(m))
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s holds a LoRA adapter but this run trains the full model "
                          "(lora.enabled=false); %s",
                          name, "checkpoint.resume=overwrite starts it afresh");
    if (full && !adapter && rlc_model_has_lora(m))
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s holds full model weights but this run trains a LoRA adapter "
                          "(lora.enabled=true); %s",
                          name, "checkpoint.resume=overwrite starts it afresh");
    long s, seed;
    char state[PATH_CAP];
    RLC_TRY(rlc_path_join(state, sizeof state, ckpt, RLC_RUN_STATE));
    RLC_TRY(read_state(ckpt, &s, run_correct, run_total, &seed, cursor));
    if (s != step)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: \"step\" is %ld but the folder is %s", state, s,
                          name);
    if (seed != c->training.seed)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: \"seed\" is %ld but training.seed=%d: this checkpoint is of "
                          "another run",
                          state, seed, c->training.seed);
    int dyn = c->training.mode == RLC_RC_MODE_GRPO && c->algorithm.dynamic_sampling;
    /* back pressure: each step took at least backpressure.min_batch_size prompts */
    int per_step = bp ? bpp->min_batch : c->training.batch_size;
    if (dyn || bp ? *cursor < s * per_step : *cursor != s * per_step)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: \"data_cursor\" is %ld, but %ld steps of %s=%d read %s%ld examples: "
                          "this checkpoint is of another run",
                          state, *cursor, s,
                          bp ? "backpressure.min_batch_size" : "training.batch_size", per_step,
                          dyn || bp ? "at least " : "", s * per_step);
    rlc_sepa_state sp;
    if (sepa) RLC_TRY(read_sepa(ckpt, &sp));
    rlc_bp_state *bs = NULL;
    if (bp && !(bs = rlc_calloc(1, sizeof *bs))) return RLC_ERR_NOMEM;
    rlc_status bst = bp ? read_bp(ckpt, bpp, bs) : RLC_OK;
    if (bst == RLC_OK && bp) *bp = *bs;
    free(bs);
    RLC_TRY(bst);
    RLC_TRY(rlc_model_reload_trainable(m, ckpt));
    RLC_TRY(rlc_ckpt_read_optimizer(ckpt, opt));
    if (sepa) *sepa = sp;
    return RLC_OK;
}

/* ---- STOPPED ---- */

const char *rlc_signal_name(int sig) {
    static char buf[32];
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

rlc_status rlc_run_mark_stopped(const char *run_dir, int sig, int step) {
    char path[PATH_CAP], text[512], when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(text, sizeof text,
             "{\"signal\": \"%s\", \"step\": %d, \"checkpoint\": \"checkpoints/checkpoint-%d\", "
             "\"time\": \"%s\"}\n",
             rlc_signal_name(sig), step, step, when);
    RLC_TRY(rlc_path_join(path, sizeof path, run_dir, RLC_RUN_STOPPED));
    return rlc_write_file_atomic(path, text, strlen(text));
}

rlc_status rlc_run_clear_stopped(const char *run_dir) {
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, run_dir, RLC_RUN_STOPPED));
    if (unlink(path) != 0 && errno != ENOENT)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return RLC_OK;
}

/* ---- stop signals ---- */

static volatile sig_atomic_t stop_sig;
static struct sigaction old_int, old_term;
static int have_int, have_term;

static void on_stop_signal(int sig) {
    if (stop_sig) {
        static const char msg[] = "\nrlc: second signal: stopping now, without a checkpoint\n";
        ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)r;
        _exit(128 + sig);
    }
    stop_sig = sig;
    static const char msg[] = "\nrlc: stopping after the current step and saving a checkpoint "
                              "(a second Ctrl-C stops at once, without one)\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
}

/* Installs the handler for sig unless the process inherited it ignored. */
static int install(int sig, struct sigaction *old) {
    struct sigaction cur, sa;
    if (sigaction(sig, NULL, &cur) != 0 || cur.sa_handler == SIG_IGN) return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, old) == 0;
}

void rlc_stop_install(void) {
    stop_sig = 0;
    have_int = install(SIGINT, &old_int);
    have_term = install(SIGTERM, &old_term);
}

void rlc_stop_restore(void) {
    if (have_int) sigaction(SIGINT, &old_int, NULL);
    if (have_term) sigaction(SIGTERM, &old_term, NULL);
    have_int = have_term = 0;
}

int rlc_stop_signal(void) {
    return stop_sig;
}
