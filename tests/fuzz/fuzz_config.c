/* Fuzz targets for what a user writes to start a run: JSONL data sets, the
 * YAML run config and key=value overrides. The resolved config.yaml must load
 * back to the same config whatever the values hold. */
#include "data/jsonl.h"
#include "fuzz.h"
#include "train/runconfig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rlc_status count_line(const json_t *obj, const char *path, size_t line, void *ctx) {
    RLC_FUZZ_CHECK(json_is_object(obj), "%s:%zu: callback got a non-object", path, line);
    ++*(size_t *)ctx;
    return RLC_OK;
}

/* The input is a .jsonl file, read in every form. */
int rlc_fuzz_jsonl(const uint8_t *data, size_t size) {
    const char *path = rlc_fuzz_path("data.jsonl");
    rlc_fuzz_write(path, data, size);
    size_t seen = 0, count = 0;
    if (rlc_jsonl_foreach(path, count_line, &seen, &count) == RLC_OK)
        RLC_FUZZ_CHECK(seen == count && count > 0, "foreach counted %zu, called %zu", count, seen);
    rlc_qa_set qa = {0};
    if (rlc_qa_load(path, &qa) == RLC_OK) {
        RLC_FUZZ_CHECK(qa.n > 0, "qa set loaded empty");
        for (size_t i = 0; i < qa.n; i++)
            RLC_FUZZ_CHECK(qa.items[i].question && qa.items[i].answer && qa.items[i].reference,
                           "qa item %zu has a NULL field", i);
    } else {
        RLC_FUZZ_CHECK(qa.n == 0 && qa.items == NULL, "failed qa load left items");
    }
    rlc_qa_free(&qa);
    rlc_sft_set sft = {0};
    if (rlc_sft_load(path, &sft) == RLC_OK) {
        for (size_t i = 0; i < sft.n; i++) {
            const rlc_sft_example *e = &sft.items[i];
            RLC_FUZZ_CHECK((e->prompt && e->response) != (e->messages != NULL),
                           "sft item %zu is in neither or both forms", i);
            for (size_t k = 0; k < e->n_messages; k++)
                RLC_FUZZ_CHECK(e->messages[k].role && e->messages[k].content,
                               "sft item %zu message %zu has a NULL field", i, k);
        }
    } else {
        RLC_FUZZ_CHECK(sft.n == 0 && sft.items == NULL, "failed sft load left items");
    }
    rlc_sft_free(&sft);
    /* the loader runs use: every record form, default, custom and dotted field names */
    static const char *const keys[][2] = {
        {"question", "answer"}, {"instruction", "output"}, {"prompt", "reward_model.ground_truth"}};
    for (int k = 0; k < 3; k++) {
        rlc_record_set rs = {0};
        if (rlc_records_load(path, keys[k][0], keys[k][1], &rs) == RLC_OK) {
            RLC_FUZZ_CHECK(rs.n > 0, "record set loaded empty");
            for (size_t i = 0; i < rs.n; i++) {
                const rlc_record *r = &rs.items[i];
                RLC_FUZZ_CHECK(r->completion && r->reference && r->solution && r->n_msgs > 0,
                               "record %zu has a NULL field or no prompt turn", i);
                for (size_t m = 0; m < r->n_msgs; m++)
                    RLC_FUZZ_CHECK(r->msgs[m].role && r->msgs[m].content,
                                   "record %zu turn %zu has a NULL field", i, m);
            }
        } else {
            RLC_FUZZ_CHECK(rs.n == 0 && rs.items == NULL, "failed record load left items");
        }
        rlc_records_free(&rs);
    }
    return 0;
}

/* Writes c as the resolved config.yaml, loads it back and checks every key
 * came back unchanged. */
static void yaml_round_trip(const rlc_run_config *c) {
    const char *path = rlc_fuzz_path("resolved.yaml");
    RLC_FUZZ_CHECK(rlc_run_config_write(c, path) == RLC_OK, "write failed: %s", rlc_last_error());
    rlc_run_config back;
    rlc_status st = rlc_run_config_load(path, &back);
    RLC_FUZZ_CHECK(st == RLC_OK, "the resolved config does not load back: %s", rlc_last_error());
    const char *diff = rlc_run_config_diff(c, &back);
    RLC_FUZZ_CHECK(diff == NULL, "key %s changed through the resolved config", diff);
    char **keys, **values;
    size_t n;
    if (rlc_run_config_items(&back, &keys, &values, &n) == RLC_OK)
        rlc_run_config_items_free(keys, values, n);
    rlc_run_config_free(&back);
}

/* The input is a run config YAML file. */
int rlc_fuzz_runconfig(const uint8_t *data, size_t size) {
    const char *path = rlc_fuzz_path("config.yaml");
    rlc_fuzz_write(path, data, size);
    rlc_run_config c;
    if (rlc_run_config_load(path, &c)) return 0;
    rlc_run_config_validate(&c);
    yaml_round_trip(&c);
    rlc_run_config copy;
    if (rlc_run_config_copy(&copy, &c) == RLC_OK) {
        RLC_FUZZ_CHECK(rlc_run_config_diff(&c, &copy) == NULL, "copy differs");
        rlc_run_config_free(&copy);
    }
    rlc_run_config_free(&c);
    return 0;
}

/* The input is override lines ("section.key=value"), applied in order to
 * the defaults; a failed one must leave the config unchanged. */
int rlc_fuzz_overrides(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    RLC_FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = 0;
    rlc_run_config c = rlc_run_config_default(), before;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (rlc_run_config_copy(&before, &c)) break;
        if (rlc_run_config_set(&c, line) != RLC_OK)
            RLC_FUZZ_CHECK(rlc_run_config_diff(&c, &before) == NULL, "a failed override changed %s",
                           rlc_run_config_diff(&c, &before));
        rlc_run_config_free(&before);
    }
    rlc_run_config_validate(&c);
    yaml_round_trip(&c);
    rlc_run_config_free(&c);
    free(text);
    return 0;
}
