/* RUN_DIR/run_info.json (train/runinfo.c): the logging.wandb_* keys, run
 * name, condition, start time and rlc version, read back with jansson after a
 * real `rlc sft` run, and kept whole across a resume, a rerun of a finished
 * run, a resume over a damaged file and checkpoint.resume=overwrite. */
#include "helpers.h"
#include "tmpdir.h"

#include "base/version.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(runinfo, .init = tmpdir_setup, .fini = tmpdir_teardown);

#define OLD_START "2000-01-01T00:00:00Z"

/* A tiny SFT run on arithmetic into tmpdir/runs/r; extra: key=value overrides. */
static void sft(const char *extra) {
    th_write_text(tmp_path("c.yaml"),
                  "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2,\n"
                  "        kv_heads: 2, intermediate: 32, max_seq: 64, seed: 1}\n"
                  "tokenizer: {kind: byte, chat: none}\n"
                  "data: {source: arithmetic, arithmetic_digits: 1, max_prompt_tokens: 16}\n"
                  "training: {mode: sft, steps: 4, batch_size: 2}\n"
                  "logging: {run_dir: runs, run_name: r, console: false,\n"
                  "          wandb_project: proj, wandb_entity: team, wandb_group: g1,\n"
                  "          wandb_tags: [t1, \"t 2\"], wandb_run_name: nice}\n"
                  "checkpoint: {save_every: 2}\n");
    char args[1024];
    snprintf(args, sizeof args, "sft c.yaml %s", extra);
    int rc = th_rlc_run(tmpdir, th_rlc_bin_abs(), args);
    if (rc) {
        char *err = th_slurp(tmp_path("err.txt"));
        cr_assert_fail("rlc %s: exit %d\n%s", args, rc, err ? err : "");
    }
}

static json_t *load_info(void) {
    json_error_t e;
    json_t *o = json_load_file(tmp_path("runs/r/run_info.json"), 0, &e);
    cr_assert_not_null(o, "run_info.json: %s (line %d)", e.text, e.line);
    return o;
}

static const char *str(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_string(v), "run_info.json: %s is not a string", key);
    return json_string_value(v);
}

static void expect_tags(json_t *o, const char *a, const char *b) {
    json_t *t = json_object_get(o, "wandb_tags");
    cr_assert(json_is_array(t));
    cr_assert_eq(json_array_size(t), 2);
    cr_assert_str_eq(json_string_value(json_array_get(t, 0)), a);
    cr_assert_str_eq(json_string_value(json_array_get(t, 1)), b);
}

/* Replaces start_time with OLD_START, as if the run had started long ago. */
static void age_start(void) {
    json_t *o = load_info();
    json_object_set_new(o, "start_time", json_string(OLD_START));
    cr_assert_eq(json_dump_file(o, tmp_path("runs/r/run_info.json"), 0), 0);
    json_decref(o);
}

Test(runinfo, holds_the_wandb_keys_and_survives_reruns) {
    sft("");
    json_t *o = load_info();
    cr_assert_str_eq(str(o, "run_name"), "r");
    cr_assert_str_eq(str(o, "condition"), "sft+ce");
    cr_assert_str_eq(str(o, "mode"), "sft");
    cr_assert_str_eq(str(o, "rlc_version"), RLC_VERSION);
    cr_assert_str_eq(str(o, "wandb_project"), "proj");
    cr_assert_str_eq(str(o, "wandb_entity"), "team");
    cr_assert_str_eq(str(o, "wandb_group"), "g1");
    cr_assert_str_eq(str(o, "wandb_run_name"), "nice");
    expect_tags(o, "t1", "t 2");
    const char *start = str(o, "start_time");
    cr_assert_eq(strlen(start), 20, "%s", start);
    cr_assert(start[4] == '-' && start[10] == 'T' && start[19] == 'Z', "%s", start);
    cr_assert_str_eq(str(o, "last_start_time"), start);
    json_decref(o);

    /* a finished run run again: nothing to do, the file untouched */
    age_start();
    char *before = th_slurp(tmp_path("runs/r/run_info.json"));
    sft("");
    char *after = th_slurp(tmp_path("runs/r/run_info.json"));
    cr_assert_str_eq(after, before);
    free(before);
    free(after);

    /* resumed with more steps and other W&B names (logging.* may change): the first
     * start stays, the names follow the config */
    sft("training.steps=6 logging.wandb_group=g2 logging.wandb_tags=[u1,u2]");
    o = load_info();
    cr_assert_str_eq(str(o, "start_time"), OLD_START);
    cr_assert_str_neq(str(o, "last_start_time"), OLD_START);
    cr_assert_str_eq(str(o, "wandb_group"), "g2");
    cr_assert_str_eq(str(o, "wandb_project"), "proj");
    expect_tags(o, "u1", "u2");
    json_decref(o);

    /* a damaged file is replaced by a whole one; this start counts as the first */
    th_write_text(tmp_path("runs/r/run_info.json"), "{\"start_time\": \"19");
    sft("training.steps=8");
    o = load_info();
    cr_assert_str_eq(str(o, "start_time"), str(o, "last_start_time"));
    cr_assert_str_eq(str(o, "wandb_group"), "g1");
    json_decref(o);

    /* overwrite starts a new run: a new start time */
    age_start();
    sft("training.steps=8 checkpoint.resume=overwrite");
    o = load_info();
    cr_assert_str_neq(str(o, "start_time"), OLD_START);
    expect_tags(o, "t1", "t 2");
    json_decref(o);
}
