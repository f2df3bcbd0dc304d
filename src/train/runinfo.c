#include "train/runinfo.h"

#include "base/fs.h"
#include "base/version.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void utc_now(char *out, size_t cap) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The start_time of an earlier run_info.json at path, or NULL (none, or not
 * readable as one: then this start counts as the first). Caller frees. */
static char *earlier_start(const char *path) {
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e);
    json_t *t = json_object_get(o, "start_time");
    char *s = json_is_string(t) ? strdup(json_string_value(t)) : NULL;
    json_decref(o);
    return s;
}

static int set_str(json_t *o, const char *key, const char *v) {
    return json_object_set_new(o, key, json_string(v ? v : ""));
}

rlc_status rlc_run_info_write(const rlc_run_config *c, const char *dir, const char *name,
                              const char *condition, int resumed) {
    char path[4096], now[32];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, RLC_RUN_INFO));
    utc_now(now, sizeof now);
    char *first = resumed ? earlier_start(path) : NULL;
    json_t *o = json_object(), *tags = json_array();
    int bad = !o || !tags;
    bad |= set_str(o, "run_name", name);
    bad |= set_str(o, "condition", condition);
    bad |= set_str(o, "mode", c->training.mode == RLC_RC_MODE_GRPO ? "grpo" : "sft");
    bad |= set_str(o, "start_time", first ? first : now);
    bad |= set_str(o, "last_start_time", now);
    bad |= set_str(o, "rlc_version", RLC_VERSION);
    bad |= set_str(o, "wandb_project", RLC_RC(c, logging.wandb_project));
    bad |= set_str(o, "wandb_entity", RLC_RC(c, logging.wandb_entity));
    bad |= set_str(o, "wandb_group", RLC_RC(c, logging.wandb_group));
    bad |= set_str(o, "wandb_run_name", RLC_RC(c, logging.wandb_run_name));
    rlc_rc_list l = RLC_RC(c, logging.wandb_tags);
    for (int i = 0; tags && i < l.n; i++)
        bad |= json_array_append_new(tags, json_string(l.items[i]));
    free(first);
    if (!bad) {
        bad |= json_object_set_new(o, "wandb_tags", tags);
        tags = NULL;
    }
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(tags);
    json_decref(o);
    if (!text)
        return rlc_errorf(RLC_ERR_NOMEM,
                          "%s: out of memory, or a logging.wandb_* value is not UTF-8", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* the file ends in a newline: it takes the place of the NUL */
    rlc_status st = rlc_write_file_atomic(path, text, n + 1);
    free(text);
    return st;
}
