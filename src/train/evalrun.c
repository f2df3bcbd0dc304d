#include "train/evalrun.h"

#include "base/fs.h"
#include "model/model.h"
#include "observe/log.h"
#include "train/run.h"
#include "train/source.h"

#include <jansson.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rlc_status rlc_eval_load_run(const char *run_dir, rlc_run_config *c, char *model, size_t mcap,
                             char *adapter, size_t acap) {
    char path[4096], final[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, run_dir, "config.yaml"));
    if (!rlc_file_exists(path))
        return rlc_errorf(RLC_ERR_NOT_FOUND, "%s: no config.yaml (expected a run directory)",
                          run_dir);
    RLC_TRY(rlc_run_config_load(path, c));
    rlc_status st = rlc_path_join(final, sizeof final, run_dir, "final");
    if (st == RLC_OK && !rlc_file_exists(final))
        st = rlc_errorf(RLC_ERR_NOT_FOUND, "%s: no final/ (the run has not finished)", run_dir);
    if (st == RLC_OK && RLC_RC(c, lora.enabled)) {
        if ((size_t)snprintf(model, mcap, "%s", c->model.path) >= mcap ||
            (size_t)snprintf(adapter, acap, "%s", final) >= acap)
            st = rlc_errorf(RLC_ERR_INVALID, "%s: path too long", run_dir);
    } else if (st == RLC_OK) {
        if ((size_t)snprintf(model, mcap, "%s", final) >= mcap)
            st = rlc_errorf(RLC_ERR_INVALID, "%s: path too long", run_dir);
        adapter[0] = 0;
    }
    if (st) rlc_run_config_free(c);
    return st;
}

/* A folder with adapter_config.json and no config.json is an adapter, not a
 * model: the error names its base as well as it can. */
static rlc_status refuse_adapter(const char *dir) {
    char path[4096], base[4096] = "";
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "config.json"));
    if (rlc_file_exists(path)) return RLC_OK;
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "adapter_config.json"));
    if (!rlc_file_exists(path)) return RLC_OK;
    json_t *j = json_load_file(path, 0, NULL);
    const char *b = json_string_value(json_object_get(j, "base_model_name_or_path"));
    if (b && *b) snprintf(base, sizeof base, "%s", b);
    json_decref(j);
    if (!base[0]) { /* a run's final/ or checkpoint: the run's config.yaml names the base */
        rlc_run_config c;
        char cfg[4200];
        snprintf(cfg, sizeof cfg, "%s/../config.yaml", dir);
        if (!rlc_file_exists(cfg)) snprintf(cfg, sizeof cfg, "%s/../../config.yaml", dir);
        if (rlc_file_exists(cfg) && rlc_run_config_load(cfg, &c) == RLC_OK) {
            snprintf(base, sizeof base, "%s", c.model.path);
            rlc_run_config_free(&c);
        } else {
            rlc_clear_error();
        }
    }
    if (base[0])
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s is a LoRA adapter of %s: use --model %s --adapter %s", dir, base,
                          base, dir);
    return rlc_errorf(RLC_ERR_INVALID,
                      "%s is a LoRA adapter, not a model, and does not name its base "
                      "(adapter_config.json has no base_model_name_or_path): use --model "
                      "BASE_MODEL_DIR --adapter %s, or --run RUN_DIR for a run's final/",
                      dir, dir);
}

static int has_tokenizer(const char *dir) {
    char path[4096];
    if (rlc_path_join(path, sizeof path, dir, "tokenizer.json")) return 0;
    if (rlc_file_exists(path)) return 1;
    if (rlc_path_join(path, sizeof path, dir, "rlc_tokenizer.json")) return 0;
    return rlc_file_exists(path);
}

rlc_status rlc_eval_config(const rlc_run_config *c, const char *model_dir, const char *adapter_dir,
                           const rlc_eval_opts *o, rlc_eval_report *out) {
    memset(out, 0, sizeof *out);
    RLC_TRY(refuse_adapter(model_dir));
    /* a shallow copy that loads model_dir as a plain model; the tokenizer comes
     * from model_dir, else (a fine-tune saved without one) from the base */
    rlc_run_config e = *c;
    e.model.path = (char *)model_dir;
    e.model.from_scratch = 0;
    e.lora.enabled = 0;
    if (!e.tokenizer.path[0] && !has_tokenizer(model_dir) && c->model.path[0] &&
        !c->model.from_scratch)
        e.tokenizer.path = c->model.path;
    rlc_policy pol;
    memset(&pol, 0, sizeof pol);
    rlc_source src;
    memset(&src, 0, sizeof src);
    rlc_reward_set rw;
    rlc_status st =
        o->rewards ? rlc_reward_set_parse(&rw, o->rewards) : rlc_rewards_from_config(&e, &rw);
    if (st == RLC_OK) st = rlc_policy_from_config(&e, &pol);
    if (st == RLC_OK && adapter_dir && adapter_dir[0]) {
        char note[640] = "";
        st = rlc_adapter_check_base(adapter_dir, model_dir, note, sizeof note);
        if (note[0]) rlc_logf(RLC_LOG_INFO, "note: %s", note);
        if (st == RLC_OK) st = rlc_model_load_adapter(pol.m, adapter_dir);
    }
    if (st == RLC_OK) st = rlc_source_from_config(&e, &src);
    if (st == RLC_OK && src.kind == RLC_SOURCE_QA && src.n_eval == 0)
        st = rlc_errorf(RLC_ERR_INVALID,
                        "no held-out examples: data.eval_path is empty and data.val_fraction "
                        "is 0");
    if (st == RLC_OK) {
        src.n_train = 0; /* only the held-out split is scored */
        st = rlc_source_skip_long(&src, rlc_policy_prompt_len, &pol,
                                  RLC_RC(&e, data.max_prompt_tokens));
        out->skipped_long = src.skipped_eval;
    }
    int n = 0;
    if (st == RLC_OK) {
        n = rlc_source_eval_count(&src, o->n > 0 ? o->n : RLC_RC(&e, data.eval_size));
        if (n <= 0)
            st = rlc_errorf(RLC_ERR_INVALID, "nothing to evaluate (data.eval_size=%d)",
                            e.data.eval_size);
    }
    rlc_source_ex ex;
    if (st == RLC_OK && (st = rlc_source_get(&src, 1, 0, &ex)) == RLC_OK) {
        st = rlc_policy_render(&pol, ex.msgs, ex.n_msgs, &out->first_prompt);
        rlc_source_ex_free(&ex);
    }
    if (st == RLC_OK)
        st = rlc_policy_evaluate(&pol, &src, &rw, n, o->samples, o->temperature,
                                 RLC_RC(&e, algorithm.max_new_tokens), o->seed, o->show, &out->r);
    if (st == RLC_OK && src.kind == RLC_SOURCE_GAMES)
        st = rlc_eval_parse_opponents(o->opponents ? o->opponents : "random,greedy,minimax(2)",
                                      out->opponents, &out->n_opponents);
    else if (st == RLC_OK && o->opponents && o->opponents[0])
        st = rlc_errorf(RLC_ERR_INVALID, "--opponents: full games need data.source games");
    if (st == RLC_OK && out->n_opponents) {
        double t0 = omp_get_wtime();
        st = rlc_policy_play_games(&pol, &src, n, out->opponents, out->n_opponents, o->temperature,
                                   RLC_RC(&e, algorithm.max_new_tokens), o->seed, out->full);
        out->full_seconds = omp_get_wtime() - t0;
    }
    rlc_reward_set_free(&rw);
    rlc_policy_free(&pol);
    rlc_source_free(&src);
    if (st) rlc_eval_report_free(out);
    return st;
}

void rlc_eval_report_free(rlc_eval_report *r) {
    free(r->first_prompt);
    r->first_prompt = NULL;
}

rlc_status rlc_eval_parse_opponents(const char *list, rlc_game_opponent *o, int *n) {
    *n = 0;
    if (!list[0]) return RLC_OK;
    for (const char *p = list;; p++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char one[32];
        if (*n == RLC_EVAL_MAX_OPPONENTS)
            return rlc_errorf(RLC_ERR_INVALID, "--opponents \"%s\": at most %d opponents", list,
                              RLC_EVAL_MAX_OPPONENTS);
        if (!len || len >= sizeof one ||
            (memcpy(one, p, len), one[len] = 0, rlc_game_opponent_parse(one, &o[*n]) != RLC_OK)) {
            rlc_clear_error();
            return rlc_errorf(RLC_ERR_INVALID,
                              "--opponents \"%s\": entry %d \"%.*s\" is not random, greedy or "
                              "minimax(D) with D in 1..9",
                              list, *n + 1, (int)(len < 40 ? len : 40), p);
        }
        (*n)++;
        if (!end) return RLC_OK;
        p = end;
    }
}
