/* rlc serve: the server runs in-process on a free loopback port and is asked
 * over a plain socket, so the bytes sent are exactly the ones written here
 * (no client-side path normalisation). JSON replies are compared value by
 * value with the files the test wrote; traversal attempts, oversized and
 * foreign requests must be refused. */
#include "base/fs.h"
#include "helpers.h"
#include "serve/api.h"
#include "serve/runs.h"
#include "serve/safepath.h"
#include "serve/serve.h"
#include "tmpdir.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(serve, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* ---- fixtures --------------------------------------------------------------- */

static void append_text(const char *path, const char *text) {
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A value for step i of metric k that needs all 17 digits to round-trip. */
static double val(int i, int k) {
    return 1.0 / (3.0 + i) + k * 0.1 + 1e-12 * i;
}

/* runs/demo/grpo: running, 10 steps (loss, mean_reward; kl only on even steps),
 *   config, 2 checkpoints + one in progress, 12 generations;
 * runs/demo/sft: finished (final/), 4 steps;
 * runs/old: crashed (files 1 h old), 3 steps. */
static const char *make_runs(void) {
    const char *root = tmp_path("runs");
    char p[600], line[512];
    snprintf(p, sizeof p, "%s/demo/grpo/metrics.jsonl", root);
    th_write_file(p, "");
    for (int i = 1; i <= 10; i++) {
        int n = snprintf(line, sizeof line,
                         "{\"step\":%d,\"condition\":\"grpo\",\"loss\":%.17g,\"mean_reward\":%.17g",
                         i, val(i, 0), val(i, 1));
        if (i % 2 == 0)
            n += snprintf(line + n, sizeof line - (size_t)n, ",\"kl\":%.17g", val(i, 2));
        snprintf(line + n, sizeof line - (size_t)n, "}\n");
        append_text(p, line);
    }
    snprintf(p, sizeof p, "%s/demo/grpo/config.yaml", root);
    th_write_file(p, "model:\n  path: models/tiny\ntraining:\n  steps: 10  # \"quoted\"\n");
    for (int s = 4; s <= 8; s += 4) {
        snprintf(p, sizeof p, "%s/demo/grpo/checkpoints/checkpoint-%d/trainer_state.json", root, s);
        snprintf(line, sizeof line, "{\"step\": %d, \"seed\": 7}\n", s);
        th_write_file(p, line);
        snprintf(p, sizeof p, "%s/demo/grpo/checkpoints/checkpoint-%d/manifest.json", root, s);
        th_write_file(p, "{}\n");
    }
    snprintf(p, sizeof p, "%s/demo/grpo/checkpoints/.checkpoint-12.tmp/x", root);
    th_write_file(p, "");
    snprintf(p, sizeof p, "%s/demo/grpo/emergence/generations.jsonl", root);
    th_write_file(p, "");
    for (int i = 0; i < 12; i++) {
        snprintf(line, sizeof line,
                 "{\"step\":%d,\"prompt\":\"Q%d: what is %d+%d?\",\"completion\":\"<answer>%d"
                 "</answer> \\\"ok\\\"\",\"reward\":%g,\"num_tokens\":%d}\n",
                 1 + i / 3, i, i, i, 2 * i, (i % 3) * 0.5, 5 + i);
        append_text(p, line);
    }
    snprintf(p, sizeof p, "%s/demo/sft/metrics.jsonl", root);
    th_write_file(p, "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":1.5}\n{\"step\":3,\"loss\":1}\n"
                     "{\"step\":4,\"loss\":0.5}\n");
    snprintf(p, sizeof p, "%s/demo/sft/final/model.safetensors", root);
    th_write_file(p, "12345678");
    snprintf(p, sizeof p, "%s/old/metrics.jsonl", root);
    th_write_file(p, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"loss\":1}\n");
    th_set_age(p, 3600);
    return root;
}

static rlc_server *start(const char *root) {
    rlc_serve_params p = rlc_serve_default_params();
    p.runs_dir = root;
    p.port = 0;
    p.log = NULL;
    rlc_server *s = NULL;
    cr_assert_eq(rlc_serve_start(&p, &s), RLC_OK, "%s", rlc_last_error());
    cr_assert_gt(rlc_serve_port(s), 0);
    return s;
}

/* ---- a minimal HTTP client -------------------------------------------------- */

typedef struct reply {
    int code;   /* 0 when the server closed without a status line */
    char *head; /* status line and headers */
    char *body;
    size_t len;
} reply;

static void reply_free(reply *r) {
    free(r->head);
    free(r->body);
}

/* Sends `request` as is and reads the reply until the server closes. */
static reply raw_request(int port, const char *request, size_t req_len) {
    reply r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    for (size_t off = 0; off < req_len;) {
        ssize_t k = send(fd, request + off, req_len - off, MSG_NOSIGNAL);
        if (k <= 0) break; /* the server may close early on an oversized request */
        off += (size_t)k;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", &r.code) != 1) r.code = 0;
    size_t hl = sep ? (size_t)(sep - buf) : n;
    r.head = strndup(buf, hl);
    r.len = sep ? n - hl - 4 : 0;
    r.body = malloc(r.len + 1);
    memcpy(r.body, sep ? sep + 4 : buf, r.len);
    r.body[r.len] = 0;
    free(buf);
    return r;
}

static reply get_as(int port, const char *target, const char *host) {
    char req[8192];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     target, host);
    cr_assert_lt((size_t)n, sizeof req);
    return raw_request(port, req, (size_t)n);
}

static reply get(int port, const char *target) {
    return get_as(port, target, "127.0.0.1");
}

static json_t *get_json(int port, const char *target, int want_code) {
    reply r = get(port, target);
    cr_assert_eq(r.code, want_code, "%s: HTTP %d, body %s", target, r.code, r.body);
    cr_assert(strstr(r.head, "Content-Type: application/json"), "%s: %s", target, r.head);
    json_error_t e;
    json_t *j = json_loads(r.body, 0, &e);
    cr_assert_not_null(j, "%s: not JSON (%s): %s", target, e.text, r.body);
    reply_free(&r);
    return j;
}

static json_t *run_by_id(json_t *runs, const char *id) {
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(runs, "runs"), i, o) {
        if (!strcmp(json_string_value(json_object_get(o, "id")), id)) return o;
    }
    cr_assert_fail("run %s not listed", id);
    return NULL;
}

/* ---- path checks ------------------------------------------------------------ */

Test(serve, decode_path_refuses_encoded_separators) {
    char out[64];
    cr_assert_eq(rlc_safe_decode_path("/files/a%20b/c?x=%2f", out, sizeof out), RLC_OK);
    cr_assert_str_eq(out, "/files/a b/c");
    cr_assert_eq(rlc_safe_decode_path("/files/%2e%2e/x", out, sizeof out), RLC_OK);
    cr_assert_str_eq(out, "/files/../x"); /* decoded; the segment check refuses it */
    const char *bad[] = {"/files/a%2fb", "/files/a%2Fb", "/a%5cb", "/a%00", "/a%zz",
                         "/a%2",         "files/x",      "/a\tb",  "/a%0a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(rlc_safe_decode_path(bad[i], out, sizeof out), RLC_ERR_INVALID, "%s", bad[i]);
    char long_path[80];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/', long_path[sizeof long_path - 1] = 0;
    cr_assert_eq(rlc_safe_decode_path(long_path, out, sizeof out), RLC_ERR_INVALID);
}

Test(serve, rel_ok_and_is_under) {
    const char *good[] = {"a", "a/b.txt", "demo/grpo/metrics.jsonl", "a..b/c"};
    const char *bad[] = {"", "/etc", "..", "a/../b", "a/./b", "a//b", "a/", ".hidden", "a\\b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert(rlc_safe_rel_ok(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(rlc_safe_rel_ok(bad[i]), "%s", bad[i]);
    cr_assert(rlc_safe_is_under("/tmp/r", "/tmp/r"));
    cr_assert(rlc_safe_is_under("/tmp/r", "/tmp/r/x"));
    cr_assert_not(rlc_safe_is_under("/tmp/r", "/tmp/rx"));
    cr_assert_not(rlc_safe_is_under("/tmp/r", "/tmp"));
    cr_assert(rlc_safe_is_under("/", "/etc"));
}

/* ---- the API ---------------------------------------------------------------- */

Test(serve, runs_list_statuses_and_summaries) {
    const char *root = make_runs();
    rlc_server *s = start(root);
    json_t *j = get_json(rlc_serve_port(s), "/api/runs", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "runs")), 3);
    cr_assert_str_eq(json_string_value(json_object_get(j, "root")), "runs"); /* its name only */
    json_t *g = run_by_id(j, "demo/grpo"), *f = run_by_id(j, "demo/sft"), *o = run_by_id(j, "old");
    cr_assert_str_eq(json_string_value(json_object_get(g, "status")), "running");
    cr_assert_str_eq(json_string_value(json_object_get(f, "status")), "finished");
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "crashed");
    cr_assert_eq(json_integer_value(json_object_get(g, "rows")), 10);
    cr_assert_eq(json_integer_value(json_object_get(g, "last_step")), 10);
    cr_assert_eq(json_integer_value(json_object_get(f, "last_step")), 4);
    cr_assert_str_eq(json_string_value(json_object_get(g, "condition")), "grpo");
    cr_assert(json_is_true(json_object_get(g, "has_generations")));
    cr_assert(json_is_false(json_object_get(f, "has_generations")));
    cr_assert(json_is_true(json_object_get(f, "has_final")));
    json_t *keys = json_object_get(g, "keys");
    cr_assert_eq(json_array_size(keys), 3, "%s", json_dumps(keys, 0));
    double age = json_number_value(json_object_get(j, "now")) -
                 json_number_value(json_object_get(o, "updated"));
    cr_assert(age > 3590 && age < 3700, "old run updated %.0f s ago", age);
    json_decref(j);
    rlc_serve_stop(s);
}

/* Every value served equals the one in the file, bit for bit. */
Test(serve, metrics_values_equal_the_file) {
    const char *root = make_runs();
    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    json_t *j = get_json(port, "/api/runs/demo/grpo/metrics", 200);
    json_t *step = json_object_get(j, "step"), *series = json_object_get(j, "series");
    cr_assert_eq(json_array_size(step), 10);
    cr_assert_eq(json_integer_value(json_object_get(j, "rows")), 10);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(json_number_value(json_array_get(step, (size_t)i)), i + 1);
        double loss = json_number_value(json_array_get(json_object_get(series, "loss"), (size_t)i));
        double rew =
            json_number_value(json_array_get(json_object_get(series, "mean_reward"), (size_t)i));
        json_t *kl = json_array_get(json_object_get(series, "kl"), (size_t)i);
        cr_assert_eq(loss, val(i + 1, 0), "loss[%d] %.17g != %.17g", i, loss, val(i + 1, 0));
        cr_assert_eq(rew, val(i + 1, 1), "mean_reward[%d]", i);
        if ((i + 1) % 2)
            cr_assert(json_is_null(kl), "kl[%d] should be null", i);
        else
            cr_assert_eq(json_number_value(kl), val(i + 1, 2), "kl[%d]", i);
    }
    json_decref(j);

    /* since: only later rows; keys: only the named series */
    j = get_json(port, "/api/runs/demo/grpo/metrics?since=7&keys=loss", 200);
    step = json_object_get(j, "step");
    cr_assert_eq(json_array_size(step), 3);
    cr_assert_eq(json_number_value(json_array_get(step, 0)), 8);
    cr_assert_eq(json_object_size(json_object_get(j, "series")), 1);
    cr_assert_eq(
        json_number_value(json_array_get(json_object_get(json_object_get(j, "series"), "loss"), 2)),
        val(10, 0));
    json_decref(j);

    /* a run being written: a half line is not served, the next poll sees it whole */
    char p[600];
    snprintf(p, sizeof p, "%s/demo/grpo/metrics.jsonl", root);
    append_text(p, "{\"step\":11,\"loss\":0.12");
    j = get_json(port, "/api/runs/demo/grpo/metrics?since=10", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "step")), 0);
    cr_assert_eq(json_array_size(json_object_get(j, "notes")), 1);
    json_decref(j);
    append_text(p, "5}\n");
    j = get_json(port, "/api/runs/demo/grpo/metrics?since=10", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "step")), 1);
    cr_assert_eq(
        json_number_value(json_array_get(json_object_get(json_object_get(j, "series"), "loss"), 0)),
        0.125);
    json_decref(j);

    j = get_json(port, "/api/runs/demo/grpo/metrics", 200); /* the whole history, new version */
    cr_assert_eq(json_array_size(json_object_get(j, "step")), 11);
    cr_assert_eq(json_integer_value(json_object_get(j, "last_step")), 11);
    json_decref(j);

    json_decref(get_json(port, "/api/runs/demo/grpo/metrics?since=abc", 400));
    json_decref(get_json(port, "/api/runs/nope/metrics", 404));
    json_decref(get_json(port, "/api/runs/demo/grpo/nothing", 404));
    rlc_serve_stop(s);
}

static json_t *gens(int port, const char *query) {
    char t[512];
    snprintf(t, sizeof t, "/api/runs/demo/grpo/generations%s", query);
    return get_json(port, t, 200);
}

Test(serve, generations_filtered_paged_and_live) {
    const char *root = make_runs();
    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    json_t *j = gens(port, "");
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 12);
    cr_assert_eq(json_integer_value(json_object_get(j, "matched")), 12);
    json_t *items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), 12);
    json_t *first = json_array_get(items, 0); /* newest first */
    cr_assert_eq(json_integer_value(json_object_get(first, "index")), 11);
    cr_assert_str_eq(json_string_value(json_object_get(first, "prompt")), "Q11: what is 11+11?");
    cr_assert_str_eq(json_string_value(json_object_get(first, "completion")),
                     "<answer>22</answer> \"ok\"");
    cr_assert_eq(json_integer_value(json_object_get(first, "num_tokens")), 16);
    cr_assert_eq(json_number_value(json_object_get(j, "reward_max")), 1.0);
    json_decref(j);

    j = gens(port, "?step=2&order=asc"); /* lines 3, 4, 5 */
    items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(items, i);
        cr_assert_eq(json_integer_value(json_object_get(o, "index")), (json_int_t)(3 + i));
        cr_assert_eq(json_number_value(json_object_get(o, "step")), 2);
    }
    json_decref(j);

    j = gens(port, "?reward_min=0.75&step_min=2&step_max=4"); /* reward 1 at i = 5, 8, 11 */
    cr_assert_eq(json_integer_value(json_object_get(j, "matched")), 3);
    json_decref(j);

    j = gens(port, "?offset=10&limit=5&order=asc");
    items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "index")), 10);
    json_decref(j);

    /* appended lines are indexed on the next request; a half line is not */
    char p[600];
    snprintf(p, sizeof p, "%s/demo/grpo/emergence/generations.jsonl", root);
    append_text(p, "{\"step\":5,\"prompt\":\"new\",\"completion\":\"x\",\"reward\":2,"
                   "\"num_tokens\":1}\n{\"step\":5,\"prompt\":\"ha");
    j = gens(port, "?step=5");
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 13);
    cr_assert_eq(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    append_text(p, "lf\",\"completion\":\"y\",\"reward\":-1,\"num_tokens\":1}\n");
    j = gens(port, "?step=5&reward_max=0");
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 14);
    items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "prompt")),
                     "half");
    json_decref(j);

    json_decref(get_json(port, "/api/runs/demo/grpo/generations?limit=100000", 400));
    json_decref(get_json(port, "/api/runs/demo/grpo/generations?order=up", 400));
    j = get_json(port, "/api/runs/old/generations", 200); /* no file: an empty list */
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    rlc_serve_stop(s);
}

Test(serve, config_checkpoints_and_files) {
    const char *root = make_runs();
    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    json_t *j = get_json(port, "/api/runs/demo/grpo/config", 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "text")),
                     "model:\n  path: models/tiny\ntraining:\n  steps: 10  # \"quoted\"\n");
    json_decref(j);
    json_decref(get_json(port, "/api/runs/old/config", 404));

    j = get_json(port, "/api/runs/demo/grpo/checkpoints", 200);
    json_t *ck = json_object_get(j, "checkpoints");
    cr_assert_eq(json_array_size(ck), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(ck, 0), "step")), 4);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(ck, 1), "step")), 8);
    json_t *state = json_object_get(json_array_get(ck, 1), "trainer_state");
    cr_assert_eq(json_integer_value(json_object_get(state, "seed")), 7);
    cr_assert(json_is_true(json_object_get(json_array_get(ck, 0), "complete")));
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "in_progress"), 0)),
                     ".checkpoint-12.tmp");
    cr_assert(json_is_false(json_object_get(json_object_get(j, "final"), "exists")));
    json_decref(j);

    j = get_json(port, "/api/runs/demo/sft/checkpoints", 200);
    json_t *fin = json_object_get(j, "final");
    cr_assert(json_is_true(json_object_get(fin, "exists")));
    cr_assert_eq(json_integer_value(json_object_get(fin, "bytes")), 8);
    json_decref(j);

    j = get_json(port, "/api/runs/demo/grpo/files", 200);
    json_t *files = json_object_get(j, "files");
    cr_assert_eq(json_array_size(files), 3, "%s", json_dumps(files, 0));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(files, 0), "path")),
                     "demo/grpo/config.yaml");
    json_decref(j);

    reply r = get(port, "/files/demo/grpo/config.yaml");
    cr_assert_eq(r.code, 200);
    cr_assert_str_eq(r.body, "model:\n  path: models/tiny\ntraining:\n  steps: 10  # \"quoted\"\n");
    cr_assert(strstr(r.head, "Content-Type: text/plain"), "%s", r.head);
    reply_free(&r);
    rlc_serve_stop(s);
}

Test(serve, page_and_assets_are_served) {
    rlc_server *s = start(make_runs());
    int port = rlc_serve_port(s);
    const char *want[][2] = {{"/", "text/html"},
                             {"/app.js", "text/javascript"},
                             {"/app.css", "text/css"},
                             {"/uPlot.iife.min.js", "text/javascript"},
                             {"/uPlot.min.css", "text/css"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        reply r = get(port, want[i][0]);
        cr_assert_eq(r.code, 200, "%s", want[i][0]);
        cr_assert_gt(r.len, 1000, "%s: %zu bytes", want[i][0], r.len);
        char ct[64];
        snprintf(ct, sizeof ct, "Content-Type: %s", want[i][1]);
        cr_assert(strstr(r.head, ct), "%s: %s", want[i][0], r.head);
        if (i == 0) {
            cr_assert(strstr(r.body, "uPlot.iife.min.js"));
            cr_assert(strstr(r.head, "Content-Security-Policy: default-src 'self'"));
        }
        if (i == 3) cr_assert(strstr(r.body, "uPlot"));
        reply_free(&r);
    }
    rlc_serve_stop(s);
}

/* ---- refusals --------------------------------------------------------------- */

Test(serve, traversal_attempts_are_refused) {
    const char *root = make_runs();
    char p[600], q[600];
    /* a symlink to a folder outside the tree, one to a file outside, one inside */
    snprintf(p, sizeof p, "%s/outside", tmpdir);
    cr_assert_eq(rlc_mkdir_p(p), RLC_OK);
    snprintf(p, sizeof p, "%s/outside/secret.txt", tmpdir);
    th_write_file(p, "SECRET\n");
    snprintf(p, sizeof p, "%s/outside", tmpdir);
    snprintf(q, sizeof q, "%s/link_out", root);
    cr_assert_eq(symlink(p, q), 0);
    snprintf(p, sizeof p, "%s/outside/secret.txt", tmpdir);
    snprintf(q, sizeof q, "%s/demo/grpo/escape.txt", root);
    cr_assert_eq(symlink(p, q), 0);
    snprintf(q, sizeof q, "%s/demo/grpo/inside.txt", root);
    cr_assert_eq(symlink("config.yaml", q), 0);
    snprintf(q, sizeof q, "%s/demo/grpo/.env", root);
    th_write_file(q, "SECRET=1\n");
    snprintf(p, sizeof p, "%s/outside/metrics.jsonl", tmpdir);
    th_write_file(p, "{\"step\":1,\"loss\":1}\n");

    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    char abs_target[700];
    snprintf(abs_target, sizeof abs_target, "/files/%s/outside/secret.txt", tmpdir);
    struct {
        const char *target;
        int code;
    } cases[] = {
        {"/files/../outside/secret.txt", 403},
        {"/files/demo/../../outside/secret.txt", 403},
        {"/files/%2e%2e/outside/secret.txt", 403},
        {"/files/%2E%2E/%2e%2e/%2e%2e/etc/passwd", 403},
        {"/files/demo%2fgrpo%2fconfig.yaml", 403},
        {"/files/..%2foutside%2fsecret.txt", 403},
        {"/files/%2fetc%2fpasswd", 403},
        {"/files//etc/passwd", 403},
        {abs_target, 403},
        {"/files/link_out/secret.txt", 403},
        {"/files/demo/grpo/escape.txt", 403},
        {"/files/demo/grpo/.env", 403},
        {"/files/demo/grpo/config.yaml%00.png", 403},
        {"/files/demo/grpo", 403}, /* no directory listing */
        {"/files/", 403},
        {"/files/demo\\..\\..\\outside\\secret.txt", 403},
        {"/../outside/secret.txt", 404},
        {"/etc/passwd", 404},
        {"/api/runs/..%2f..%2foutside/config", 403},
        {"/api/runs/../../outside/config", 404},
        {"/api/runs/link_out/metrics", 404}, /* a run only reachable through a symlink out */
        {"/files/demo/grpo/inside.txt", 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = get(port, cases[i].target);
        cr_assert_eq(r.code, cases[i].code, "%s: HTTP %d (want %d): %s", cases[i].target, r.code,
                     cases[i].code, r.body);
        cr_assert_null(strstr(r.body, "SECRET"), "%s leaked the file", cases[i].target);
        reply_free(&r);
    }
    /* the symlinked-out folder is not listed as a run either */
    json_t *j = get_json(port, "/api/runs", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "runs")), 3);
    json_decref(j);
    rlc_serve_stop(s);
}

Test(serve, oversized_foreign_and_non_get_requests_are_refused) {
    rlc_server *s = start(make_runs());
    int port = rlc_serve_port(s);
    /* a request target past the routing bound */
    char *target = malloc(6000);
    memcpy(target, "/files/", 7);
    memset(target + 7, 'a', 5000);
    target[5007] = 0;
    reply r = get(port, target);
    cr_assert(r.code == 414 || r.code == 431, "long target: HTTP %d", r.code);
    reply_free(&r);
    free(target);
    /* a header block past RLC_SERVE_HEAD_MAX: refused or cut off, never served */
    size_t big = RLC_SERVE_HEAD_MAX + 4096;
    char *req = malloc(big + 256);
    int n = snprintf(req, 256, "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ");
    memset(req + n, 'p', big);
    memcpy(req + n + big, "\r\n\r\n", 5);
    r = raw_request(port, req, (size_t)n + big + 4);
    cr_assert(r.code == 0 || (r.code >= 400 && r.code < 500), "huge headers: HTTP %d", r.code);
    reply_free(&r);
    free(req);
    /* methods other than GET/HEAD */
    const char *post = "POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                       "Connection: close\r\n\r\nhello";
    r = raw_request(port, post, strlen(post));
    cr_assert_eq(r.code, 405);
    cr_assert(strstr(r.head, "Allow: GET, HEAD"), "%s", r.head);
    reply_free(&r);
    /* a GET announcing a large body: refused at once, the body is never read */
    const char *body = "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n"
                       "\r\nxxxxxxxx";
    r = raw_request(port, body, strlen(body));
    cr_assert_eq(r.code, 413);
    reply_free(&r);
    const char *head = "HEAD /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    r = raw_request(port, head, strlen(head));
    cr_assert_eq(r.code, 200);
    cr_assert_eq(r.len, 0);
    reply_free(&r);
    /* DNS rebinding: a foreign Host is refused on a loopback bind */
    r = get_as(port, "/api/runs", "evil.example:8080");
    cr_assert_eq(r.code, 403);
    reply_free(&r);
    r = get_as(port, "/api/runs", "localhost:1234");
    cr_assert_eq(r.code, 200);
    reply_free(&r);
    rlc_serve_stop(s);
}

/* Several requests on one connection (the page polls over keep-alive). */
Test(serve, keep_alive_serves_several_requests) {
    rlc_server *s = start(make_runs());
    const char *two = "GET /api/runs/demo/sft/metrics?since=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                      "GET /api/runs/demo/sft/config HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n";
    reply r = raw_request(rlc_serve_port(s), two, strlen(two));
    cr_assert_eq(r.code, 200, "%s", r.head);
    cr_assert_null(strstr(r.head, "Connection: close"), "%s", r.head);
    cr_assert(strstr(r.body, "\"step\":[4]"), "%s", r.body);
    cr_assert(strstr(r.body, "HTTP/1.1 404"), "second reply missing: %s", r.body);
    reply_free(&r);
    rlc_serve_stop(s);
}

/* ---- discovery -------------------------------------------------------------- */

Test(serve, discovery_depth_hidden_and_symlinks) {
    const char *root = tmp_path("runs");
    char p[600], q[600];
    const char *layout[] = {"a/metrics.jsonl",       "b/c/metrics.jsonl",
                            "d/e/f/metrics.jsonl",   "g/h/i/j/metrics.jsonl", /* too deep */
                            ".hidden/metrics.jsonl", "k/checkpoints/metrics.jsonl"};
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, layout[i]);
        th_write_file(p, "{\"step\":1,\"loss\":1}\n");
    }
    snprintf(q, sizeof q, "%s/alias", root); /* the same run twice is listed once */
    cr_assert_eq(symlink("a", q), 0);
    rlc_runs *r;
    cr_assert_eq(rlc_runs_open(root, 60, 0, &r), RLC_OK);
    rlc_run_info *v;
    int n;
    cr_assert_eq(rlc_runs_list(r, &v, &n), RLC_OK);
    const char *want[] = {"a", "b/c", "d/e/f", "k/checkpoints"};
    cr_assert_eq(n, 4);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(v[i].id, want[i]);
    free(v);
    /* a run that appears is found on the next scan, one that goes is dropped */
    snprintf(p, sizeof p, "%s/new/metrics.jsonl", root);
    th_write_file(p, "");
    snprintf(p, sizeof p, "%s/b/c/metrics.jsonl", root);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(rlc_runs_list(r, &v, &n), RLC_OK);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(v[3].id, "new");
    cr_assert_str_eq(v[1].id, "d/e/f");
    free(v);
    rlc_runs_free(r);

    /* the root itself as a run */
    snprintf(p, sizeof p, "%s/a", root);
    cr_assert_eq(rlc_runs_open(p, 60, 0, &r), RLC_OK);
    cr_assert_eq(rlc_runs_list(r, &v, &n), RLC_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0].id, "a");
    cr_assert_str_eq(v[0].rel, "");
    free(v);
    rlc_api_reply rep;
    rlc_api_handle(r, "runs/a/metrics", NULL, NULL, &rep);
    cr_assert_eq(rep.code, 200, "%s", rep.body);
    cr_assert(strstr(rep.body, "\"step\":[1]"), "%s", rep.body);
    free(rep.body);
    rlc_runs_free(r);
}

/* ---- the command ------------------------------------------------------------ */

static int run_cmd(const char *args, char *out, size_t cap) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    int rc = pclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

Test(serve, cli_help_and_bad_input) {
    char out[8192], args[700];
    cr_assert_eq(run_cmd("serve --help", out, sizeof out), 0);
    cr_assert(strstr(out, "--port") && strstr(out, "--host") && strstr(out, "RUNS_DIR"), "%s", out);
    snprintf(args, sizeof args, "serve %s/missing --port 0", tmpdir);
    cr_assert_neq(run_cmd(args, out, sizeof out), 0);
    cr_assert(strstr(out, "missing") && strstr(out, "No such file"), "%s", out);
    cr_assert_eq(run_cmd("serve", out, sizeof out), 2);
    cr_assert(strstr(out, "RUNS_DIR is required"), "%s", out);
    snprintf(args, sizeof args, "serve %s --host not-an-address!", tmpdir);
    cr_assert_eq(run_cmd(args, out, sizeof out), 2);
    cr_assert(strstr(out, "--host not-an-address!"), "%s", out);
}

/* The command serves until SIGTERM, then exits 0. */
Test(serve, cli_serves_until_sigterm) {
    const char *root = make_runs();
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        execl(bin, bin, "serve", root, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *f = fdopen(pipefd[0], "r");
    char line[1024] = "";
    cr_assert_not_null(fgets(line, sizeof line, f), "no output from rlc serve");
    int port = 0;
    char *colon = strstr(line, "127.0.0.1:");
    cr_assert_not_null(colon, "%s", line);
    port = atoi(colon + 10);
    cr_assert_gt(port, 0, "%s", line);
    json_t *j = get_json(port, "/api/runs", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "runs")), 3);
    json_decref(j);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    fclose(f);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
}
