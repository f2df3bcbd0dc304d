/* Fuzz targets for run files as others read them: metrics.jsonl as the
 * monitor reads and plots it, and a run folder as the dashboard server
 * serves it (metrics, generations, request paths and query strings). */
#include "fuzz.h"
#include "monitor/metrics.h"
#include "monitor/monitor.h"
#include "monitor/plot.h"
#include "serve/api.h"
#include "serve/runs.h"
#include "serve/safepath.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The input is metrics.jsonl: parsed, summarised with verdicts, compared
 * with itself and plotted (small panels, so a stalled axis shows as a
 * timeout and a bad coordinate as a sanitizer report). */
int rlc_fuzz_monitor_metrics(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    RLC_FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = 0;
    rlc_metrics *m = NULL;
    if (rlc_metrics_parse("fuzz.jsonl", text, &m) == RLC_OK) {
        RLC_FUZZ_CHECK(m->n_rows > 0, "parsed metrics without rows");
        rlc_verdict_params vp = rlc_verdict_default_params();
        free(rlc_monitor_summary(m, "fuzz", &vp));
        rlc_metrics *const ms[2] = {m, m};
        const char *labels[2] = {"a", "b"};
        free(rlc_monitor_compare_table(ms, labels, 2, &vp));
        rlc_plot_series series[6];
        rlc_plot_panel panels[6];
        int n = 0;
        for (int i = 0; i < m->n_cols && n < 6; i++) {
            series[n] = (rlc_plot_series){m->cols[i].key, m->step, m->cols[i].v, m->n_rows};
            panels[n] = (rlc_plot_panel){
                .title = m->cols[i].key, .series = &series[n], .n_series = 1, .fraction = i & 1};
            n++;
        }
        if (n) {
            rlc_plot_params pp = rlc_plot_default_params();
            pp.panel_w = 200, pp.panel_h = 160;
            rlc_status st = rlc_plot_png(rlc_fuzz_path("plot.png"), panels, n, &pp);
            RLC_FUZZ_CHECK(st == RLC_OK, "plot failed: %s", rlc_last_error());
        }
        rlc_metrics_free(m);
    }
    free(text);
    return 0;
}

static void mkdirs(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s", rlc_fuzz_path(rel));
    for (char *p = path + 1; *p; p++)
        if (*p == '/') *p = 0, mkdir(path, 0755), *p = '/';
    mkdir(path, 0755);
}

/* Query arguments of a request, as "k=v&k2=v2" already split by the harness. */
typedef struct args {
    char *keys[16], *vals[16];
    int n;
} args;

static const char *arg(void *ctx, const char *key) {
    args *a = ctx;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->keys[i], key)) return a->vals[i];
    return NULL;
}

static void call(rlc_runs *r, const char *path, args *a) {
    rlc_api_reply rep = {0};
    rlc_api_handle(r, path, arg, a, &rep);
    RLC_FUZZ_CHECK(rep.body != NULL && rep.code >= 200 && rep.code < 600,
                   "api %s gave code %d, body %p", path, rep.code, (void *)rep.body);
    RLC_FUZZ_CHECK(strlen(rep.body) == rep.len, "api %s body length is off", path);
    RLC_FUZZ_CHECK(rep.code != 500 || strstr(rep.body, "memory"), "api %s: 500: %s", path,
                   rep.body);
    free(rep.body);
}

/* The input is a run's files: metrics.jsonl, then after a line "---\n"
 * emergence/generations.jsonl, then after another config.yaml. The API then
 * answers every kind of request over them. */
int rlc_fuzz_serve_files(const uint8_t *data, size_t size) {
    mkdirs("serve/run/emergence");
    const char *names[3] = {"serve/run/metrics.jsonl", "serve/run/emergence/generations.jsonl",
                            "serve/run/config.yaml"};
    const uint8_t *p = data, *end = data + size;
    for (int k = 0; k < 3; k++) {
        const uint8_t *sep = k < 2 ? memmem(p, (size_t)(end - p), "\n---\n", 5) : NULL;
        const uint8_t *stop = sep ? sep + 1 : end;
        rlc_fuzz_write(rlc_fuzz_path(names[k]), p, (size_t)(stop - p));
        p = sep ? sep + 5 : end;
    }
    rlc_runs *r = NULL;
    RLC_FUZZ_CHECK(rlc_runs_open(rlc_fuzz_path("serve"), 60, 0, &r) == RLC_OK, "open: %s",
                   rlc_last_error());
    args none = {.n = 0};
    call(r, "runs", &none);
    call(r, "runs/run/metrics", &none);
    call(r, "runs/run/config", &none);
    call(r, "runs/run/files", &none);
    call(r, "runs/run/checkpoints", &none);
    char since[] = "since", s1[] = "1", keys[] = "keys", kv[] = "loss,mean_reward,step";
    args a1 = {{since, keys}, {s1, kv}, 2};
    call(r, "runs/run/metrics", &a1);
    call(r, "runs/run/generations", &none);
    char order[] = "order", desc[] = "desc", limit[] = "limit", l3[] = "3", rmin[] = "reward_min",
         half[] = "0.5", smax[] = "step_max", s2[] = "2";
    args a2 = {{order, limit, rmin, smax}, {desc, l3, half, s2}, 4};
    call(r, "runs/run/generations", &a2);
    rlc_runs_free(r);
    return 0;
}

/* A fixed run folder the path target asks about. */
static rlc_runs *fixed_runs(void) {
    static rlc_runs *r;
    if (r) return r;
    mkdirs("paths/demo/grpo/emergence");
    mkdirs("paths/demo/grpo/final");
    mkdirs("paths/.git");
    const char metrics[] = "{\"step\":1,\"loss\":2.5,\"mean_reward\":0.1}\n"
                           "{\"step\":2,\"loss\":2.0,\"mean_reward\":0.3}\n";
    const char gens[] = "{\"step\":1,\"reward\":0.5,\"completion\":\"a\"}\n"
                        "{\"step\":2,\"reward\":1,\"completion\":\"b\"}\n";
    rlc_fuzz_write(rlc_fuzz_path("paths/demo/grpo/metrics.jsonl"), metrics, sizeof metrics - 1);
    rlc_fuzz_write(rlc_fuzz_path("paths/demo/grpo/emergence/generations.jsonl"), gens,
                   sizeof gens - 1);
    rlc_fuzz_write(rlc_fuzz_path("paths/demo/grpo/config.yaml"), "run:\n  name: x\n", 15);
    rlc_fuzz_write(rlc_fuzz_path("paths/.git/config"), "secret\n", 7);
    rlc_fuzz_write(rlc_fuzz_path("secret.txt"), "outside\n", 8);
    symlink(rlc_fuzz_path("secret.txt"), rlc_fuzz_path("paths/demo/grpo/escape"));
    RLC_FUZZ_CHECK(rlc_runs_open(rlc_fuzz_path("paths"), 60, 0, &r) == RLC_OK, "open: %s",
                   rlc_last_error());
    return r;
}

static int hexval(int c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes a query component in place the way the HTTP library does ('+' is
 * a space, %XX a byte). */
static void unescape(char *s) {
    char *o = s;
    for (; *s; s++) {
        if (*s == '+')
            *o++ = ' ';
        else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0)
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2])), s += 2;
        else
            *o++ = *s;
    }
    *o = 0;
}

/* The input is a raw request target ("/api/runs/demo/grpo/metrics?since=1"
 * or "/files/demo/grpo/config.yaml"). Its path is decoded as the server
 * does, then handed to the API or to the file opener; nothing outside the
 * root and nothing hidden may ever be opened. */
int rlc_fuzz_serve_paths(const uint8_t *data, size_t size) {
    rlc_runs *r = fixed_runs();
    char *raw = malloc(size + 1);
    RLC_FUZZ_CHECK(raw != NULL, "out of memory");
    memcpy(raw, data, size);
    raw[size] = 0;
    char path[1024];
    if (rlc_safe_decode_path(raw, path, sizeof path) == RLC_OK) {
        RLC_FUZZ_CHECK(path[0] == '/', "decoded path %s is not absolute", path);
        char *q = strchr(raw, '?');
        args a = {.n = 0};
        for (char *kv = q ? q + 1 : NULL; kv && *kv && a.n < 16;) {
            char *amp = strchr(kv, '&');
            if (amp) *amp = 0;
            char *eq = strchr(kv, '=');
            if (eq) *eq = 0;
            unescape(kv);
            a.keys[a.n] = kv;
            a.vals[a.n] = eq ? (unescape(eq + 1), eq + 1) : NULL;
            a.n++;
            kv = amp ? amp + 1 : NULL;
        }
        if (!strncmp(path, "/api/", 5)) {
            call(r, path + 5, &a);
        } else if (!strncmp(path, "/files/", 7)) {
            const char *rel = path + 7;
            int fd;
            struct stat sb;
            if (rlc_safe_rel_ok(rel) && rlc_safe_open(rlc_runs_root(r), rel, &fd, &sb) == RLC_OK) {
                char real[4096], link[64];
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                ssize_t n = readlink(link, real, sizeof real - 1);
                RLC_FUZZ_CHECK(n > 0, "readlink failed");
                real[n] = 0;
                RLC_FUZZ_CHECK(rlc_safe_is_under(rlc_runs_root(r), real),
                               "%s opened %s, outside the root", path, real);
                RLC_FUZZ_CHECK(!strstr(real, "/."), "%s opened hidden %s", path, real);
                close(fd);
            }
        }
    }
    free(raw);
    return 0;
}
