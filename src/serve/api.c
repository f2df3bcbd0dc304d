/* JSON API handlers. The metrics columns, the one reply that grows with a
 * run's length, are written straight into a buffer; the smaller replies are
 * built with jansson. Numbers are printed so that they parse back to the same
 * double the file held. */
#include "serve/api.h"

#include "base/numfmt.h"
#include "base/strbuf.h"
#include "serve/safepath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES ((size_t)1 << 20)
#define STATE_MAX_BYTES ((size_t)64 << 10)
#define LIST_MAX 500 /* files / checkpoints listed per reply */
/* The run list may be this old: a page polls every 2 s, and 200 pages polling
 * should not each walk the folder. */
#define RUNS_REPLY_MAX_AGE_S 0.5
#define MEMO_MAX_BYTES ((size_t)32 << 20) /* larger whole-history replies are not kept */

/* ---- output: a base/strbuf text buffer ------------------------------------ */

/* The shortest text that reads back as x; null when not finite. */
static void sb_num(rlc_strbuf *b, double x) {
    char t[40];
    rlc_format_double(t, sizeof t, x);
    rlc_sb_cstr(b, t);
}

/* A JSON string. s is valid UTF-8 (it came out of a JSON parser). */
static void sb_str(rlc_strbuf *b, const char *s) {
    rlc_sb_put(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            rlc_sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            rlc_sb_put(b, esc, 6);
        } else {
            rlc_sb_put(b, p, 1);
        }
    }
    rlc_sb_put(b, "\"", 1);
}

/* ---- helpers ---------------------------------------------------------------- */

static int code_of(rlc_status st) {
    switch (st) {
    case RLC_OK:
        return 200;
    case RLC_ERR_NOT_FOUND:
        return 404;
    case RLC_ERR_INVALID:
        return 403;
    case RLC_ERR_NOMEM:
        return 503;
    default:
        return 500;
    }
}

static void reply_json(rlc_api_reply *out, int code, json_t *j) {
    out->code = code;
    out->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!out->body) {
        out->code = 500;
        out->body = strdup("{\"error\":\"out of memory\"}");
    }
    out->len = out->body ? strlen(out->body) : 0;
}

static void reply_error(rlc_api_reply *out, int code, const char *msg) {
    reply_json(out, code, json_pack("{s:s}", "error", msg));
}

static void reply_status(rlc_api_reply *out, rlc_status st) {
    reply_error(out, code_of(st), rlc_last_error());
}

/* A JSON number, integral values as integers; null when not finite. */
static json_t *jnum(double x) {
    if (!isfinite(x)) return json_null();
    if (x == floor(x) && fabs(x) < 9007199254740992.0) return json_integer((json_int_t)x);
    return json_real(x);
}

/* Text as a JSON string, invalid UTF-8 bytes replaced by U+FFFD. */
static json_t *jtext(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j) return j;
    char *o = malloc(3 * n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len && i + len <= n && !(len == 1 && c == 0);
        for (size_t t = 1; ok && t < len; t++)
            ok = ((unsigned char)s[i + t] >> 6) == 2;
        if (ok && len > 1) { /* overlong forms and surrogates are refused by jansson */
            json_t *t = json_stringn(s + i, len);
            ok = t != NULL;
            json_decref(t);
        }
        if (ok) {
            memcpy(o + k, s + i, len);
            k += len, i += len;
        } else {
            memcpy(o + k, "\xef\xbf\xbd", 3);
            k += 3, i++;
        }
    }
    j = json_stringn(o, k);
    free(o);
    return j;
}

/* Parses argument key as a number into *x (left as is when absent).
 * Returns -1 after filling an error reply. */
static int arg_num(rlc_api_arg_fn arg, void *ctx, const char *key, double *x, rlc_api_reply *out) {
    const char *v = arg ? arg(ctx, key) : NULL;
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || isnan(d)) {
        char msg[160];
        snprintf(msg, sizeof msg, "query argument %.40s: expected a number, got '%.40s'", key, v);
        reply_error(out, 400, msg);
        return -1;
    }
    *x = d;
    return 0;
}

static int rel_join(char *dst, size_t cap, const char *a, const char *b) {
    int n = a[0] ? snprintf(dst, cap, "%s/%s", a, b) : snprintf(dst, cap, "%s", b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static double mtime_of(const struct stat *sb) {
    return (double)sb->st_mtim.tv_sec + 1e-9 * (double)sb->st_mtim.tv_nsec;
}

/* ---- runs ------------------------------------------------------------------- */

typedef struct summary_ctx {
    json_t *o;
} summary_ctx;

static rlc_status add_summary(const rlc_metrics *m, void *vctx) {
    json_t *o = ((summary_ctx *)vctx)->o, *keys = json_array();
    json_object_set_new(o, "rows", json_integer(m ? m->n_rows : 0));
    json_object_set_new(o, "last_step", m ? jnum(m->step[m->n_rows - 1]) : json_null());
    json_object_set_new(o, "condition",
                        m && m->condition ? json_string(m->condition) : json_null());
    for (int i = 0; m && i < m->n_cols; i++)
        if (m->cols[i].n_finite) json_array_append_new(keys, json_string(m->cols[i].key));
    json_object_set_new(o, "keys", keys);
    return RLC_OK;
}

static void api_runs(rlc_runs *r, rlc_api_reply *out) {
    if ((out->body = rlc_runs_reply_get(r, RUNS_REPLY_MAX_AGE_S, &out->len))) {
        out->code = 200;
        return;
    }
    rlc_run_info *v;
    int n;
    rlc_status st = rlc_runs_list(r, &v, &n);
    if (st) {
        reply_status(out, st);
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    json_t *runs = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o =
            json_pack("{s:s,s:s,s:f,s:b}", "id", v[i].id, "status", rlc_run_status_str(v[i].status),
                      "updated", v[i].updated, "has_final", v[i].has_final);
        if (v[i].status == RLC_RUN_STOPPED)
            json_object_set_new(
                o, "stopped",
                json_pack("{s:s?,s:o,s:s?,s:s?}", "signal",
                          v[i].stop_signal[0] ? v[i].stop_signal : NULL, "step",
                          v[i].stop_step >= 0 ? json_integer((json_int_t)v[i].stop_step)
                                              : json_null(),
                          "checkpoint", v[i].stop_checkpoint[0] ? v[i].stop_checkpoint : NULL,
                          "time", v[i].stop_time[0] ? v[i].stop_time : NULL));
        summary_ctx sc = {o};
        if (rlc_runs_with_metrics(r, v[i].id, add_summary, &sc)) {
            json_object_set_new(o, "error", json_string(rlc_last_error()));
            rlc_clear_error();
        }
        char p[RLC_RUN_ID_CAP + 40];
        int fd;
        struct stat sb;
        int has_gen = rel_join(p, sizeof p, v[i].rel, "emergence/generations.jsonl") == 0 &&
                      rlc_safe_open(rlc_runs_root(r), p, &fd, &sb) == RLC_OK;
        if (has_gen) close(fd);
        rlc_clear_error();
        json_object_set_new(o, "has_generations", json_boolean(has_gen));
        json_array_append_new(runs, o);
    }
    free(v);
    reply_json(out, 200,
               json_pack("{s:s,s:f,s:f,s:o}", "root", rlc_runs_root_name(r), "now",
                         (double)now.tv_sec + 1e-9 * (double)now.tv_nsec, "running_window_s",
                         rlc_runs_window(r), "runs", runs));
    if (out->code == 200) rlc_runs_reply_put(r, out->body, out->len);
}

/* ---- metrics ---------------------------------------------------------------- */

typedef struct metrics_ctx {
    const char *id;
    double since;
    const char *keys; /* comma-separated filter, or NULL for all */
    rlc_strbuf out;
} metrics_ctx;

static int key_wanted(const char *list, const char *key) {
    if (!list) return 1;
    size_t n = strlen(key);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, key, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static rlc_status metrics_json(const rlc_metrics *m, void *vctx) {
    metrics_ctx *c = vctx;
    rlc_strbuf *b = &c->out;
    int n = m ? m->n_rows : 0, first = 0;
    while (first < n && !(m->step[first] > c->since))
        first++;
    /* Rows are in file order; a resumed run logs steps again after a cut, so
     * rows after `first` are all taken rather than filtered one by one. */
    rlc_sb_cstr(b, "{\"id\":");
    sb_str(b, c->id);
    rlc_sb_cstr(b, ",\"rows\":");
    sb_num(b, n);
    rlc_sb_cstr(b, ",\"first_step\":");
    sb_num(b, n ? m->step[0] : NAN);
    rlc_sb_cstr(b, ",\"last_step\":");
    sb_num(b, n ? m->step[n - 1] : NAN);
    rlc_sb_cstr(b, ",\"since\":");
    sb_num(b, c->since);
    rlc_sb_cstr(b, ",\"step\":[");
    for (int i = first; i < n; i++) {
        if (i > first) rlc_sb_put(b, ",", 1);
        sb_num(b, m->step[i]);
    }
    rlc_sb_cstr(b, "],\"series\":{");
    int k = 0;
    for (int j = 0; m && j < m->n_cols; j++) {
        if (!key_wanted(c->keys, m->cols[j].key)) continue;
        if (k++) rlc_sb_put(b, ",", 1);
        sb_str(b, m->cols[j].key);
        rlc_sb_put(b, ":[", 2);
        for (int i = first; i < n; i++) {
            if (i > first) rlc_sb_put(b, ",", 1);
            sb_num(b, m->cols[j].v[i]);
        }
        rlc_sb_put(b, "]", 1);
    }
    rlc_sb_cstr(b, "},\"notes\":[");
    for (int i = 0; m && i < m->n_notes; i++) {
        if (i) rlc_sb_put(b, ",", 1);
        sb_str(b, m->notes[i]);
    }
    rlc_sb_cstr(b, "]}");
    return b->oom ? rlc_errorf(RLC_ERR_NOMEM, "out of memory writing metrics") : RLC_OK;
}

static void api_metrics(rlc_runs *r, const char *id, rlc_api_arg_fn arg, void *ctx,
                        rlc_api_reply *out) {
    metrics_ctx c = {id, -INFINITY, arg ? arg(ctx, "keys") : NULL, {0}};
    if (arg_num(arg, ctx, "since", &c.since, out)) return;
    rlc_metrics_snap *snap;
    rlc_status st = rlc_runs_metrics_acquire(r, id, &snap);
    if (st) {
        reply_status(out, st);
        return;
    }
    /* The whole history is what every newly opened page asks for: made once per version. */
    int whole = c.since == -INFINITY && !c.keys;
    if (whole && (out->body = rlc_metrics_snap_memo(snap, &out->len))) {
        rlc_metrics_snap_release(snap);
        out->code = 200;
        return;
    }
    st = metrics_json(rlc_metrics_snap_get(snap), &c);
    if (st == RLC_OK && whole && c.out.len <= MEMO_MAX_BYTES)
        rlc_metrics_snap_set_memo(snap, c.out.p, c.out.len);
    rlc_metrics_snap_release(snap);
    if (st) {
        free(c.out.p);
        reply_status(out, st);
        return;
    }
    out->code = 200;
    out->body = c.out.p;
    out->len = c.out.len;
}

/* ---- generations ------------------------------------------------------------ */

typedef struct gen_ctx {
    const char *id;
    double step_min, step_max, reward_min, reward_max;
    int filter_step, filter_reward;
    long offset, limit;
    int asc;
    json_t *reply;
} gen_ctx;

static int gen_match(const gen_ctx *c, const rlc_gen_ref *g) {
    if (c->filter_step && !(g->step >= c->step_min && g->step <= c->step_max)) return 0;
    if (c->filter_reward && !(g->reward >= c->reward_min && g->reward <= c->reward_max)) return 0;
    return 1;
}

/* First index in [0, n) whose step is >= v (steps sorted ascending). */
static int lower_step(const rlc_gen_ref *g, int n, double v) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (g[mid].step < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index in [0, n) whose step is > v (steps sorted ascending). */
static int upper_step(const rlc_gen_ref *g, int n, double v) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (g[mid].step <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One reply page. The ranges come from the index's stats; with steps in
 * file order (the trainer appends them so) and no reward filter, the
 * matching lines are found by binary search and only the page's lines are
 * read, so a page of a run with millions of lines costs what one of ten does. */
typedef struct line_buf {
    char *p;
    size_t cap;
} line_buf;

/* Reads line i of the index and appends it to items with its "index". */
static void gen_emit(const rlc_gen_ref *g, int i, int fd, line_buf *lb, json_t *items) {
    if ((size_t)g[i].len + 1 > lb->cap) {
        char *nb = realloc(lb->p, (size_t)g[i].len + 1);
        if (!nb) return;
        lb->p = nb, lb->cap = (size_t)g[i].len + 1;
    }
    ssize_t k = pread(fd, lb->p, (size_t)g[i].len, (off_t)g[i].off);
    json_t *o = k == (ssize_t)g[i].len ? json_loadb(lb->p, (size_t)k, 0, NULL) : NULL;
    if (!json_is_object(o)) { /* the file changed under the index */
        json_decref(o);
        return;
    }
    json_object_set_new(o, "index", json_integer(i));
    json_array_append_new(items, o);
}

static rlc_status gen_json(const rlc_gen_ref *g, int n, int fd, const rlc_gen_stats *stats,
                           void *vctx) {
    gen_ctx *c = vctx;
    long matched = 0;
    json_t *items = json_array();
    line_buf lb = {0};
    if (stats && stats->sorted && !c->filter_reward) {
        int lo = 0, hi = n;
        if (c->filter_step) lo = lower_step(g, n, c->step_min), hi = upper_step(g, n, c->step_max);
        if (hi < lo) hi = lo;
        matched = hi - lo;
        for (long t = c->offset; t < matched && (long)json_array_size(items) < c->limit; t++)
            gen_emit(g, c->asc ? lo + (int)t : hi - 1 - (int)t, fd, &lb, items);
    } else {
        for (int t = 0; t < n; t++) {
            int i = c->asc ? t : n - 1 - t;
            if (!gen_match(c, &g[i])) continue;
            if (matched++ < c->offset || (long)json_array_size(items) >= c->limit) continue;
            gen_emit(g, i, fd, &lb, items);
        }
    }
    free(lb.p);
    rlc_gen_stats none = {INFINITY, -INFINITY, INFINITY, -INFINITY, -INFINITY, 1};
    if (!stats) stats = &none;
    json_t *j = json_pack("{s:s,s:i,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "id", c->id, "total", n,
                          "matched", (json_int_t)matched, "offset", (json_int_t)c->offset, "limit",
                          (json_int_t)c->limit, "step_min", jnum(stats->step_min), "step_max",
                          jnum(stats->step_max), "reward_min", jnum(stats->reward_min),
                          "reward_max", jnum(stats->reward_max), "items", items);
    if (!j) return rlc_errorf(RLC_ERR_NOMEM, "out of memory listing generations");
    c->reply = j;
    return RLC_OK;
}

static void api_generations(rlc_runs *r, const char *id, rlc_api_arg_fn arg, void *ctx,
                            rlc_api_reply *out) {
    gen_ctx c = {id, -INFINITY, INFINITY, -INFINITY, INFINITY, 0, 0, 0, 50, 0, NULL};
    double step = NAN, offset = 0, limit = 50;
    if (arg_num(arg, ctx, "step", &step, out) || arg_num(arg, ctx, "step_min", &c.step_min, out) ||
        arg_num(arg, ctx, "step_max", &c.step_max, out) ||
        arg_num(arg, ctx, "reward_min", &c.reward_min, out) ||
        arg_num(arg, ctx, "reward_max", &c.reward_max, out) ||
        arg_num(arg, ctx, "offset", &offset, out) || arg_num(arg, ctx, "limit", &limit, out))
        return;
    if (!isnan(step)) c.step_min = c.step_max = step;
    c.filter_step = c.step_min > -INFINITY || c.step_max < INFINITY;
    c.filter_reward = c.reward_min > -INFINITY || c.reward_max < INFINITY;
    if (offset < 0 || offset > 1e12 || limit < 1 || limit > RLC_API_GEN_LIMIT_MAX) {
        char msg[120];
        snprintf(msg, sizeof msg, "query arguments: offset must be >= 0, limit in 1..%d",
                 RLC_API_GEN_LIMIT_MAX);
        reply_error(out, 400, msg);
        return;
    }
    c.offset = (long)offset, c.limit = (long)limit;
    const char *order = arg ? arg(ctx, "order") : NULL;
    if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
        reply_error(out, 400, "query argument order: expected asc or desc");
        return;
    }
    c.asc = order && !strcmp(order, "asc");
    rlc_status st = rlc_runs_with_generations(r, id, gen_json, &c);
    if (st) {
        json_decref(c.reply);
        reply_status(out, st);
        return;
    }
    reply_json(out, 200, c.reply);
}

/* ---- config ----------------------------------------------------------------- */

static void api_config(rlc_runs *r, const rlc_run_info *run, rlc_api_reply *out) {
    char p[RLC_RUN_ID_CAP + 16];
    char *text = NULL;
    size_t len = 0;
    rlc_status st = rel_join(p, sizeof p, run->rel, "config.yaml")
                        ? rlc_errorf(RLC_ERR_INVALID, "path too long")
                        : rlc_safe_read(rlc_runs_root(r), p, CONFIG_MAX_BYTES, &text, &len);
    if (st) {
        reply_status(out, st);
        return;
    }
    reply_json(
        out, 200,
        json_pack("{s:s,s:s,s:o}", "id", run->id, "file", "config.yaml", "text", jtext(text, len)));
    free(text);
}

/* ---- checkpoints and files -------------------------------------------------- */

/* Opens root/rel as a directory stream (containment-checked). NULL when absent. */
static DIR *open_dir(const char *root, const char *rel) {
    int fd;
    struct stat sb;
    if (rlc_safe_open(root, rel, &fd, &sb)) {
        rlc_clear_error();
        return NULL;
    }
    DIR *d = S_ISDIR(sb.st_mode) ? fdopendir(fd) : NULL;
    if (!d) close(fd);
    return d;
}

/* [{name, bytes}] of the regular files directly in root/rel (at most LIST_MAX),
 * their count and total size. */
static json_t *list_files(const char *root, const char *rel, long long *bytes, double *mtime) {
    json_t *files = json_array();
    *bytes = 0;
    if (mtime) *mtime = 0;
    DIR *d = open_dir(root, rel);
    if (!d) return files;
    struct dirent *e;
    while ((e = readdir(d)) && json_array_size(files) < LIST_MAX) {
        struct stat sb;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
            !S_ISREG(sb.st_mode))
            continue;
        *bytes += sb.st_size;
        if (mtime && mtime_of(&sb) > *mtime) *mtime = mtime_of(&sb);
        json_array_append_new(
            files, json_pack("{s:s,s:I}", "name", e->d_name, "bytes", (json_int_t)sb.st_size));
    }
    closedir(d);
    return files;
}

/* Step of "checkpoint-<digits>", or -1. */
static long long ckpt_step(const char *name) {
    if (strncmp(name, "checkpoint-", 11) || !name[11]) return -1;
    long long s = 0;
    for (const char *p = name + 11; *p; p++) {
        if (*p < '0' || *p > '9' || s > 1000000000000LL) return -1;
        s = 10 * s + (*p - '0');
    }
    return s;
}

static int cmp_step(const void *a, const void *b) {
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "step"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "step"));
    return (x > y) - (x < y);
}

static void api_checkpoints(rlc_runs *r, const rlc_run_info *run, rlc_api_reply *out) {
    const char *root = rlc_runs_root(r);
    char dir[RLC_RUN_ID_CAP + 16], p[RLC_RUN_ID_CAP + 300], q[RLC_RUN_ID_CAP + 340];
    json_t *list[LIST_MAX], *pending = json_array();
    int n = 0;
    DIR *d = rel_join(dir, sizeof dir, run->rel, "checkpoints") ? NULL : open_dir(root, dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < LIST_MAX) {
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp")) { /* a save in progress */
            json_array_append_new(pending, json_string(e->d_name));
            continue;
        }
        long long step = ckpt_step(e->d_name);
        if (step < 0 || rel_join(p, sizeof p, dir, e->d_name)) continue;
        long long bytes;
        double mtime;
        json_t *files = list_files(root, p, &bytes, &mtime);
        json_t *state = NULL, *ck = json_pack("{s:s,s:I}", "name", e->d_name, "step", step);
        char *text = NULL;
        size_t len;
        if (rel_join(q, sizeof q, p, "trainer_state.json") == 0 &&
            rlc_safe_read(root, q, STATE_MAX_BYTES, &text, &len) == RLC_OK)
            state = json_loadb(text, len, 0, NULL);
        rlc_clear_error();
        free(text);
        int complete = 0;
        for (size_t i = 0; i < json_array_size(files); i++)
            complete |=
                !strcmp(json_string_value(json_object_get(json_array_get(files, i), "name")),
                        "manifest.json");
        json_object_set_new(ck, "complete", json_boolean(complete));
        json_object_set_new(ck, "files", json_integer((json_int_t)json_array_size(files)));
        json_object_set_new(ck, "bytes", json_integer(bytes));
        json_object_set_new(ck, "mtime", json_real(mtime));
        json_object_set_new(ck, "trainer_state", json_is_object(state) ? state : json_null());
        if (state && !json_is_object(state)) json_decref(state);
        json_decref(files);
        list[n++] = ck;
    }
    if (d) closedir(d);
    qsort(list, (size_t)n, sizeof list[0], cmp_step);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, list[i]);
    long long fbytes = 0;
    json_t *ffiles = rel_join(p, sizeof p, run->rel, "final") ? json_array()
                                                              : list_files(root, p, &fbytes, NULL);
    json_t *final = json_pack("{s:b,s:I,s:o}", "exists", run->has_final, "bytes",
                              (json_int_t)fbytes, "files", ffiles);
    reply_json(out, 200,
               json_pack("{s:s,s:o,s:o,s:o}", "id", run->id, "checkpoints", arr, "in_progress",
                         pending, "final", final));
}

typedef struct walk_ctx {
    const char *root;
    json_t *files;
} walk_ctx;

/* Regular files under rel (to depth 3), skipping hidden names and, at the
 * run's top level, checkpoints/ and final/ (listed by their own endpoint). */
static void walk(walk_ctx *w, const char *rel, int depth) {
    DIR *d = open_dir(w->root, rel);
    if (!d) return;
    struct dirent *e;
    char p[RLC_RUN_ID_CAP + 300];
    char *subdirs[64];
    int n_sub = 0;
    while ((e = readdir(d)) && json_array_size(w->files) < LIST_MAX) {
        if (e->d_name[0] == '.' || rel_join(p, sizeof p, rel, e->d_name)) continue;
        if (depth == 0 && (!strcmp(e->d_name, "checkpoints") || !strcmp(e->d_name, "final")))
            continue;
        int fd;
        struct stat sb;
        if (rlc_safe_open(w->root, p, &fd, &sb)) {
            rlc_clear_error();
            continue;
        }
        close(fd);
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 2 && n_sub < 64) subdirs[n_sub++] = strdup(p);
        } else {
            json_array_append_new(w->files,
                                  json_pack("{s:s,s:I,s:f}", "path", p, "bytes",
                                            (json_int_t)sb.st_size, "mtime", mtime_of(&sb)));
        }
    }
    closedir(d);
    for (int i = 0; i < n_sub; i++) {
        if (subdirs[i]) walk(w, subdirs[i], depth + 1);
        free(subdirs[i]);
    }
}

static int cmp_path(const void *a, const void *b) {
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "path")),
                  json_string_value(json_object_get(*(json_t *const *)b, "path")));
}

static void api_files(rlc_runs *r, const rlc_run_info *run, rlc_api_reply *out) {
    walk_ctx w = {rlc_runs_root(r), json_array()};
    walk(&w, run->rel, 0);
    size_t n = json_array_size(w.files);
    json_t **v = malloc((n + 1) * sizeof *v), *sorted = json_array();
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(w.files, i));
    if (v) qsort(v, n, sizeof *v, cmp_path);
    for (size_t i = 0; v && i < n; i++)
        json_array_append_new(sorted, v[i]);
    free(v);
    json_decref(w.files);
    reply_json(out, 200, json_pack("{s:s,s:o}", "id", run->id, "files", sorted));
}

/* ---- routing ---------------------------------------------------------------- */

static void route(rlc_runs *r, const char *path, rlc_api_arg_fn arg, void *ctx, rlc_api_reply *out);

/* No reply shows where the served folder is on the server: the root's
 * absolute path, should a message carry it, becomes the folder's name. */
static void scrub_root(rlc_runs *r, rlc_api_reply *out) {
    const char *root = rlc_runs_root(r), *name = rlc_runs_root_name(r);
    size_t rl = strlen(root), nl = strlen(name);
    if (rl <= 1 || !out->body || !memmem(out->body, out->len, root, rl)) return;
    rlc_strbuf b = {0};
    const char *p = out->body, *end = out->body + out->len, *hit;
    while ((hit = memmem(p, (size_t)(end - p), root, rl))) {
        rlc_sb_put(&b, p, (size_t)(hit - p));
        rlc_sb_put(&b, name, nl);
        p = hit + rl;
    }
    rlc_sb_put(&b, p, (size_t)(end - p));
    if (b.oom || !b.p) {
        rlc_sb_free(&b);
        return;
    }
    free(out->body);
    out->body = b.p;
    out->len = b.len;
}

void rlc_api_handle(rlc_runs *r, const char *path, rlc_api_arg_fn arg, void *ctx,
                    rlc_api_reply *out) {
    route(r, path, arg, ctx, out);
    scrub_root(r, out);
}

static void route(rlc_runs *r, const char *path, rlc_api_arg_fn arg, void *ctx,
                  rlc_api_reply *out) {
    memset(out, 0, sizeof *out);
    if (!strcmp(path, "runs") || !strcmp(path, "runs/")) {
        api_runs(r, out);
        return;
    }
    const char *slash = strrchr(path, '/');
    if (strncmp(path, "runs/", 5) || !slash || slash < path + 6) {
        reply_error(out, 404, "no such API endpoint");
        return;
    }
    char id[RLC_RUN_ID_CAP];
    size_t n = (size_t)(slash - (path + 5));
    if (n >= sizeof id) {
        reply_error(out, 404, "no such run");
        return;
    }
    memcpy(id, path + 5, n);
    id[n] = 0;
    const char *ep = slash + 1;
    if (!strcmp(ep, "metrics")) {
        api_metrics(r, id, arg, ctx, out);
        return;
    }
    if (!strcmp(ep, "generations")) {
        api_generations(r, id, arg, ctx, out);
        return;
    }
    rlc_run_info run;
    rlc_status st = rlc_runs_find(r, id, &run);
    if (st)
        reply_status(out, st);
    else if (!strcmp(ep, "config"))
        api_config(r, &run, out);
    else if (!strcmp(ep, "checkpoints"))
        api_checkpoints(r, &run, out);
    else if (!strcmp(ep, "files"))
        api_files(r, &run, out);
    else
        reply_error(out, 404, "no such API endpoint");
}
