/* rlc serve under a large run and against hidden files: the run list answers
 * within 100 ms while another client has a run with a million generations
 * indexed and read; an in-tree symlink to .git/config is refused; no reply
 * names the served folder's absolute path; a run stopped by a signal (its
 * STOPPED file) is listed as "stopped" with its step. */
#include "base/fs.h"
#include "helpers.h"
#include "serve/api.h"
#include "serve/runs.h"
#include "serve/safepath.h"
#include "serve/serve.h"
#include "tmpdir.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

TestSuite(serve_load, .init = tmpdir_setup, .fini = tmpdir_teardown);

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static rlc_server *start(const char *root) {
    rlc_serve_params p = rlc_serve_default_params();
    p.runs_dir = root;
    p.port = 0;
    p.log = NULL;
    rlc_server *s = NULL;
    cr_assert_eq(rlc_serve_start(&p, &s), RLC_OK, "%s", rlc_last_error());
    return s;
}

/* GET target over a fresh connection; the status code, and the body in *body
 * (malloc'd). Not the Criterion asserts: also called from a second thread. */
static int http_get(int port, const char *target, char **body) {
    *body = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
        if (k <= 0) break;
        len += (size_t)k;
    }
    close(fd);
    buf[len] = 0;
    int code = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1) code = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    *body = strdup(sep ? sep + 4 : "");
    free(buf);
    return code;
}

static json_t *get_json(int port, const char *target, int want) {
    char *body;
    int code = http_get(port, target, &body);
    cr_assert_eq(code, want, "%s: HTTP %d: %.300s", target, code, body);
    json_t *j = json_loads(body, 0, NULL);
    cr_assert_not_null(j, "%s: not JSON: %.300s", target, body);
    free(body);
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

/* ---- a million generations ---------------------------------------------------- */

#define BIG_LINES 1000000
#define PER_STEP 4

typedef struct gen_req {
    int port;
    const char *target;
    int code;
    char *body;
    double seconds;
    volatile int done;
} gen_req;

static void *gen_thread(void *arg) {
    gen_req *g = arg;
    double t0 = now_s();
    g->code = http_get(g->port, g->target, &g->body);
    g->seconds = now_s() - t0;
    __atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(serve_load, runs_answer_within_100ms_while_1m_generations_are_read, .timeout = 240) {
    const char *root = tmp_path("runs");
    char p[700];
    for (int r = 0; r < 3; r++) { /* a few ordinary runs beside the big one */
        snprintf(p, sizeof p, "%s/small%d/metrics.jsonl", root, r);
        th_write_file(p, "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":0.5}\n");
    }
    snprintf(p, sizeof p, "%s/big/metrics.jsonl", root);
    th_write_file(p, "{\"step\":0,\"loss\":1}\n");
    snprintf(p, sizeof p, "%s/big/emergence/generations.jsonl", root);
    th_write_file(p, "");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    for (int i = 0; i < BIG_LINES; i++)
        fprintf(f,
                "{\"step\":%d,\"prompt\":\"%d+%d=\",\"completion\":\"<answer>%d</answer>\","
                "\"reward\":%d,\"num_tokens\":%d}\n",
                i / PER_STEP, i % 97, i % 89, i % 97 + i % 89, i % 2, 3 + i % 5);
    cr_assert_eq(fclose(f), 0);

    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    json_t *j = get_json(port, "/api/runs", 200); /* the first scan, before timing */
    cr_assert_eq(json_array_size(json_object_get(j, "runs")), 4);
    json_decref(j);

    /* one client asks for the big run's generations (a first request indexes
     * all 1M lines); meanwhile another lists the runs, again and again */
    gen_req g = {port, "/api/runs/big/generations?limit=5&order=asc", 0, NULL, 0, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, gen_thread, &g), 0);
    double worst = 0, sum = 0;
    int samples = 0;
    while (!__atomic_load_n(&g.done, __ATOMIC_ACQUIRE)) {
        double t0 = now_s();
        char *body;
        int code = http_get(port, "/api/runs", &body);
        double dt = now_s() - t0;
        cr_assert_eq(code, 200, "%s", body);
        cr_assert(strstr(body, "\"big\""), "%.200s", body);
        free(body);
        if (__atomic_load_n(&g.done, __ATOMIC_ACQUIRE)) break; /* ended during this one */
        worst = dt > worst ? dt : worst;
        sum += dt;
        samples++;
        usleep(20000); /* past the run list's 0.5 s reply cache now and then */
    }
    pthread_join(th, NULL);
    printf("serve_load: generations request %.2f s; /api/runs meanwhile: %d requests, mean %.1f "
           "ms, worst %.1f ms\n",
           g.seconds, samples, 1e3 * sum / (samples ? samples : 1), 1e3 * worst);
    cr_assert_eq(g.code, 200, "%.300s", g.body);
    cr_assert_geq(samples, 3, "the generations request took only %.3f s", g.seconds);
    /* 100 ms is the bound of the release build; under ASan+UBSan every request
     * is several times slower, so the sanitized pass only checks that the run
     * list is not held up by the index build (that took 3-6 s when it was) */
    double bound = getenv("RLC_SANITIZED") ? 1.0 : 0.100;
    cr_assert_lt(worst, bound, "worst /api/runs latency %.1f ms (bound %.0f ms)", 1e3 * worst,
                 1e3 * bound);
    j = json_loads(g.body, 0, NULL);
    free(g.body);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), BIG_LINES);
    cr_assert_eq(json_integer_value(json_object_get(j, "step_max")), BIG_LINES / PER_STEP - 1);
    json_t *items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), 5);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 4), "index")), 4);
    json_decref(j);

    /* indexed now: one step's lines are found without a scan, in both orders */
    double t0 = now_s();
    j = get_json(port, "/api/runs/big/generations?step=123456&limit=10", 200);
    double dt = now_s() - t0;
    cr_assert_eq(json_integer_value(json_object_get(j, "matched")), PER_STEP);
    items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), PER_STEP);
    for (int k = 0; k < PER_STEP; k++) { /* newest first */
        json_t *it = json_array_get(items, (size_t)k);
        cr_assert_eq(json_integer_value(json_object_get(it, "step")), 123456);
        cr_assert_eq(json_integer_value(json_object_get(it, "index")),
                     123456 * PER_STEP + PER_STEP - 1 - k);
    }
    json_decref(j);
    printf("serve_load: one step of the indexed run in %.1f ms\n", 1e3 * dt);
    j = get_json(
        port, "/api/runs/big/generations?step_min=10&step_max=12&offset=2&limit=3&order=asc", 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "matched")), 3 * PER_STEP);
    items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "index")),
                 10 * PER_STEP + 2);
    json_decref(j);
    /* a reward filter still scans, and agrees: every other line has reward 1 */
    j = get_json(port, "/api/runs/big/generations?reward_min=1&step_max=99&limit=1", 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "matched")), 100 * PER_STEP / 2);
    json_decref(j);
    rlc_serve_stop(s);
}

/* ---- hidden files and absolute paths -------------------------------------------- */

Test(serve_load, symlink_to_git_config_is_refused) {
    const char *root = tmp_path("repo");
    char p[700], q[700];
    snprintf(p, sizeof p, "%s/.git/config", root);
    th_write_file(p, "[remote \"origin\"]\n\turl = https://token@example.com/secret.git\n");
    snprintf(p, sizeof p, "%s/run/metrics.jsonl", root);
    th_write_file(p, "{\"step\":0,\"loss\":1}\n");
    snprintf(p, sizeof p, "%s/run/notes.txt", root);
    th_write_file(p, "visible\n");
    snprintf(q, sizeof q, "%s/run/config.txt", root); /* relative link, inside the tree */
    cr_assert_eq(symlink("../.git/config", q), 0);
    snprintf(q, sizeof q, "%s/run/gitdir", root); /* a link to the hidden folder */
    cr_assert_eq(symlink("../.git", q), 0);
    snprintf(p, sizeof p, "%s/.git/config", root);
    snprintf(q, sizeof q, "%s/run/abs.txt", root); /* absolute link */
    cr_assert_eq(symlink(p, q), 0);
    snprintf(p, sizeof p, "%s/run/notes.txt", root);
    snprintf(q, sizeof q, "%s/run/abs_notes.txt", root); /* absolute, to a visible file */
    cr_assert_eq(symlink(p, q), 0);
    snprintf(q, sizeof q, "%s/run/rel_notes.txt", root);
    cr_assert_eq(symlink("notes.txt", q), 0);

    char real[700];
    cr_assert_not_null(realpath(root, real));
    int fd;
    struct stat sb;
    cr_assert_eq(rlc_safe_open(real, "run/notes.txt", &fd, &sb), RLC_OK, "%s", rlc_last_error());
    close(fd);
    const char *bad[] = {"run/config.txt", "run/gitdir/config", "run/abs.txt"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rlc_safe_open(real, bad[i], &fd, &sb), RLC_ERR_INVALID, "%s opened", bad[i]);
        cr_assert_null(strstr(rlc_last_error(), real), "%s", rlc_last_error());
        rlc_clear_error();
    }
    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    char *body;
    const char *good[] = {"/files/run/notes.txt", "/files/run/abs_notes.txt",
                          "/files/run/rel_notes.txt"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cr_assert_eq(http_get(port, good[i], &body), 200, "%s: %s", good[i], body);
        cr_assert_str_eq(body, "visible\n");
        free(body);
    }
    const char *targets[] = {"/files/run/config.txt", "/files/run/gitdir/config",
                             "/files/run/abs.txt", "/files/.git/config"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        int code = http_get(port, targets[i], &body);
        cr_assert_eq(code, 403, "%s: HTTP %d: %s", targets[i], code, body);
        cr_assert_null(strstr(body, "token"), "%s", body);
        free(body);
    }
    rlc_serve_stop(s);
}

Test(serve_load, replies_never_name_the_absolute_root) {
    const char *root = tmp_path("served");
    char p[700], real[700];
    snprintf(p, sizeof p, "%s/a/metrics.jsonl", root);
    th_write_file(p, "{\"step\":0,\"loss\":1}\n");
    snprintf(p, sizeof p, "%s/a/checkpoints/checkpoint-1/trainer_state.json", root);
    th_write_file(p, "{\"step\":1}\n");
    cr_assert_not_null(realpath(root, real));
    rlc_server *s = start(root);
    int port = rlc_serve_port(s);
    const char *targets[] = {"/api/runs",
                             "/api/runs/a/metrics",
                             "/api/runs/a/files",
                             "/api/runs/a/checkpoints",
                             "/api/runs/a/config",
                             "/api/runs/zz/config",
                             "/api/runs/a/generations",
                             "/api/nothing"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char *body;
        int code = http_get(port, targets[i], &body);
        cr_assert_gt(code, 0, "%s", targets[i]);
        cr_assert_null(strstr(body, real), "%s (HTTP %d) names %s: %s", targets[i], code, real,
                       body);
        cr_assert_null(strstr(body, tmpdir), "%s names %s: %s", targets[i], tmpdir, body);
        free(body);
    }
    json_t *j = get_json(port, "/api/runs", 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "root")), "served");
    json_decref(j);
    rlc_serve_stop(s);
}

/* ---- a run stopped by a signal -------------------------------------------------- */

Test(serve_load, stopped_run_is_listed_as_stopped_with_its_step) {
    const char *root = tmp_path("runs");
    char p[700];
    /* stopped: metrics 10 min old, STOPPED written after them */
    snprintf(p, sizeof p, "%s/stopped/metrics.jsonl", root);
    th_write_file(p, "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":0.9}\n");
    th_set_age(p, 600);
    snprintf(p, sizeof p, "%s/stopped/STOPPED", root);
    th_write_file(p,
                  "{\"signal\":\"SIGTERM\",\"step\":2,\"checkpoint\":\"checkpoints/checkpoint-2\","
                  "\"time\":\"2026-12-02T13:00:00Z\"}\n");
    th_set_age(p, 590);
    /* resumed: STOPPED left behind but metrics written since: running */
    snprintf(p, sizeof p, "%s/resumed/STOPPED", root);
    th_write_file(p, "{\"signal\":\"SIGINT\",\"step\":5}\n");
    th_set_age(p, 60);
    snprintf(p, sizeof p, "%s/resumed/metrics.jsonl", root);
    th_write_file(p, "{\"step\":5,\"loss\":1}\n");
    /* finished: final/ wins over a stale STOPPED */
    snprintf(p, sizeof p, "%s/done/metrics.jsonl", root);
    th_write_file(p, "{\"step\":0,\"loss\":1}\n");
    th_set_age(p, 600);
    snprintf(p, sizeof p, "%s/done/STOPPED", root);
    th_write_file(p, "{\"signal\":\"SIGINT\",\"step\":1}\n");
    snprintf(p, sizeof p, "%s/done/final/model.safetensors", root);
    th_write_file(p, "x");
    /* crashed: old metrics, no STOPPED */
    snprintf(p, sizeof p, "%s/crashed/metrics.jsonl", root);
    th_write_file(p, "{\"step\":0,\"loss\":1}\n");
    th_set_age(p, 600);

    rlc_server *s = start(root);
    json_t *j = get_json(rlc_serve_port(s), "/api/runs", 200);
    json_t *st = run_by_id(j, "stopped");
    cr_assert_str_eq(json_string_value(json_object_get(st, "status")), "stopped");
    json_t *info = json_object_get(st, "stopped");
    cr_assert(json_is_object(info), "%s", json_dumps(st, 0));
    cr_assert_str_eq(json_string_value(json_object_get(info, "signal")), "SIGTERM");
    cr_assert_eq(json_integer_value(json_object_get(info, "step")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(info, "checkpoint")),
                     "checkpoints/checkpoint-2");
    cr_assert_str_eq(json_string_value(json_object_get(info, "time")), "2026-12-02T13:00:00Z");
    cr_assert_str_eq(json_string_value(json_object_get(run_by_id(j, "resumed"), "status")),
                     "running");
    cr_assert_null(json_object_get(run_by_id(j, "resumed"), "stopped"));
    cr_assert_str_eq(json_string_value(json_object_get(run_by_id(j, "done"), "status")),
                     "finished");
    cr_assert_str_eq(json_string_value(json_object_get(run_by_id(j, "crashed"), "status")),
                     "crashed");
    json_decref(j);
    rlc_serve_stop(s);
}
