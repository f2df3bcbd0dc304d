/* HTTP glue: binds, routes, and turns replies into libmicrohttpd responses.
 * Routing works on the raw request target (kept by the URI-log callback),
 * not on the path the library has already percent-decoded, so an encoded
 * '/' or '..' can be told apart from a literal one and refused. */
#include "serve/serve.h"

#include "serve/api.h"
#include "serve/assets.h"
#include "serve/runs.h"
#include "serve/safepath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TARGET_MAX 4096 /* longest request target routed; longer ones get 414 */

struct rlc_server {
    struct MHD_Daemon *d;
    rlc_runs *runs;
    int port;
    int loopback;
    FILE *log;
};

/* Per-request state, made by the URI-log callback, freed when the request completes. */
typedef struct request {
    char target[TARGET_MAX];
    int too_long;
    int called; /* the access handler ran once already */
} request;

rlc_serve_params rlc_serve_default_params(void) {
    return (rlc_serve_params){NULL, "127.0.0.1", 8080, 120.0, 1000, stderr};
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con) {
    (void)cls, (void)con;
    request *rq = malloc(sizeof *rq);
    if (!rq) return NULL;
    size_t n = strlen(uri);
    rq->too_long = n >= sizeof rq->target;
    rq->called = 0;
    memcpy(rq->target, uri, rq->too_long ? 0 : n + 1);
    if (rq->too_long) rq->target[0] = 0;
    return rq;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode why) {
    (void)cls, (void)con, (void)why;
    free(*con_cls);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    rlc_server *s = cls;
    if (!s->log) return;
    fputs("rlc serve: ", s->log);
    vfprintf(s->log, fmt, ap);
    fflush(s->log);
}

/* ---- responses -------------------------------------------------------------- */

static void common_headers(struct MHD_Response *r, const char *type, const char *cache) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
}

static enum MHD_Result send_buf(struct MHD_Connection *con, unsigned code, const char *type,
                                const char *cache, void *buf, size_t len, int owned) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, buf, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(buf);
        return MHD_NO;
    }
    common_headers(r, type, cache);
    if (!strncmp(type, "text/html", 9))
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' "
                                "'unsafe-inline'; object-src 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(con, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* A short error: JSON under /api/, plain text elsewhere. */
static enum MHD_Result send_error(struct MHD_Connection *con, unsigned code, int api,
                                  const char *msg) {
    char buf[512];
    if (api) {
        /* msg is ours (no quotes or backslashes) */
        snprintf(buf, sizeof buf, "{\"error\":\"%s\"}", msg);
    } else {
        snprintf(buf, sizeof buf, "%u %s\n", code, msg);
    }
    char *copy = strdup(buf);
    if (!copy) return MHD_NO;
    return send_buf(con, code, api ? "application/json" : "text/plain; charset=utf-8", "no-store",
                    copy, strlen(copy), 1);
}

/* Content-Type by extension. What a browser would run or render as a page
 * (html, svg, js) goes out as plain text; unknown kinds as octet-stream. */
static const char *file_type(const char *path) {
    static const char *const map[][2] = {
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".json", "text/plain; charset=utf-8"},
        {".jsonl", "text/plain; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".log", "text/plain; charset=utf-8"},
        {".yaml", "text/plain; charset=utf-8"},
        {".yml", "text/plain; charset=utf-8"},
        {".csv", "text/plain; charset=utf-8"},
        {".md", "text/plain; charset=utf-8"},
        {".html", "text/plain; charset=utf-8"},
        {".svg", "text/plain; charset=utf-8"},
        {".js", "text/plain; charset=utf-8"},
    };
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && slash && dot < slash) dot = NULL;
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(dot, map[i][0])) return map[i][1];
    return "application/octet-stream";
}

static enum MHD_Result send_file(rlc_server *s, struct MHD_Connection *con, const char *rel) {
    if (!rlc_safe_rel_ok(rel)) return send_error(con, MHD_HTTP_FORBIDDEN, 0, "Forbidden");
    int fd;
    struct stat sb;
    rlc_status st = rlc_safe_open(rlc_runs_root(s->runs), rel, &fd, &sb);
    if (st) {
        rlc_clear_error();
        return st == RLC_ERR_NOT_FOUND ? send_error(con, MHD_HTTP_NOT_FOUND, 0, "Not Found")
                                       : send_error(con, MHD_HTTP_FORBIDDEN, 0, "Forbidden");
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return send_error(con, MHD_HTTP_FORBIDDEN, 0, "Forbidden (no directory listing)");
    }
    struct MHD_Response *r = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    common_headers(r, file_type(rel), "no-store");
    enum MHD_Result ret = MHD_queue_response(con, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *get_arg(void *ctx, const char *key) {
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_api(rlc_server *s, struct MHD_Connection *con, const char *path) {
    rlc_api_reply rep;
    rlc_api_handle(s->runs, path, get_arg, con, &rep);
    rlc_clear_error();
    if (!rep.body) return send_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, 1, "out of memory");
    return send_buf(con, (unsigned)rep.code, "application/json", "no-store", rep.body, rep.len, 1);
}

/* With a loopback bind, the Host header must name loopback too: a page on
 * another origin that rebinds its DNS name to 127.0.0.1 still sends its own
 * name, and is refused. */
static int host_ok(const rlc_server *s, struct MHD_Connection *con) {
    if (!s->loopback) return 1;
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!h) return 1; /* HTTP/1.0 */
    static const char *const ok[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = strlen(ok[i]);
        if (!strncasecmp(h, ok[i], n) && (h[n] == 0 || h[n] == ':')) return 1;
    }
    return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    (void)url, (void)version, (void)upload_data, (void)upload_data_size;
    rlc_server *s = cls;
    request *rq = *con_cls;
    if (!rq) return MHD_NO;
    /* Refusals come on the first call, before any body is read: the library
     * then sends them and closes the connection. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(con, MHD_HTTP_METHOD_NOT_ALLOWED, 0, "Method Not Allowed");
    if (!rq->called++) {
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if ((cl && strcmp(cl, "0")) ||
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Transfer-Encoding"))
            return send_error(con, MHD_HTTP_CONTENT_TOO_LARGE, 0,
                              "Request bodies are not accepted");
        /* Answered on the next call, once the request is complete: a reply
         * queued earlier makes the library close the connection after it. */
        return MHD_YES;
    }
    if (rq->too_long) return send_error(con, MHD_HTTP_URI_TOO_LONG, 0, "URI Too Long");
    if (!host_ok(s, con)) return send_error(con, MHD_HTTP_FORBIDDEN, 0, "Forbidden (Host)");
    char path[TARGET_MAX];
    if (rlc_safe_decode_path(rq->target, path, sizeof path)) {
        rlc_clear_error();
        return send_error(con, MHD_HTTP_FORBIDDEN, !strncmp(rq->target, "/api/", 5), "Forbidden");
    }
    if (!strncmp(path, "/api/", 5)) return send_api(s, con, path + 5);
    if (!strncmp(path, "/files/", 7)) return send_file(s, con, path + 7);
    const char *want = strcmp(path, "/") ? path : "/index.html";
    for (const rlc_serve_asset *a = rlc_serve_assets; a->path; a++)
        if (!strcmp(a->path, want))
            return send_buf(con, MHD_HTTP_OK, a->type, "no-cache", (void *)a->data, a->len, 0);
    return send_error(con, MHD_HTTP_NOT_FOUND, 0, "Not Found");
}

/* ---- lifecycle -------------------------------------------------------------- */

static int is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

rlc_status rlc_serve_start(const rlc_serve_params *p, rlc_server **out) {
    *out = NULL;
    if (!p->runs_dir) return rlc_errorf(RLC_ERR_INVALID, "serve: no runs folder given");
    if (p->port < 0 || p->port > 65535)
        return rlc_errorf(RLC_ERR_INVALID, "serve: --port %d: expected 0..65535", p->port);
    if (p->max_connections < 1)
        return rlc_errorf(RLC_ERR_INVALID, "serve: connections must be >= 1");
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", p->port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* Numeric addresses only (no DNS lookups at start); "localhost" is loopback. */
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE | AI_NUMERICHOST;
    const char *host = strcasecmp(p->host, "localhost") ? p->host : "127.0.0.1";
    int gai = getaddrinfo(host, port_s, &hints, &ai);
    if (gai)
        return rlc_errorf(RLC_ERR_INVALID,
                          "serve: --host %s: %s (expected a numeric address such as 127.0.0.1 "
                          "or ::1, or localhost)",
                          p->host, gai_strerror(gai));
    rlc_server *s = rlc_calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return RLC_ERR_NOMEM;
    }
    s->log = p->log;
    s->loopback = is_loopback(ai->ai_addr);
    rlc_status st = rlc_runs_open(p->runs_dir, p->running_window_s, 1.0, &s->runs);
    if (st) {
        freeaddrinfo(ai);
        free(s);
        return st;
    }
    /* a thread per connection: with a pool, a connection handed to a thread
     * that is busy with a slow request waits for it */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_AUTO | (p->log ? MHD_USE_ERROR_LOG : 0) |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(
        flags, (uint16_t)p->port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)p->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)RLC_SERVE_HEAD_MAX, MHD_OPTION_URI_LOG_CALLBACK,
        uri_log, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        int e = errno;
        rlc_runs_free(s->runs);
        free(s);
        return rlc_errorf(RLC_ERR_IO, "serve: cannot listen on %s port %d: %s", p->host, p->port,
                          e ? strerror(e) : "libmicrohttpd refused to start");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : p->port;
    *out = s;
    return RLC_OK;
}

int rlc_serve_port(const rlc_server *s) {
    return s->port;
}

const char *rlc_serve_root(const rlc_server *s) {
    return rlc_runs_root(s->runs);
}

int rlc_serve_is_loopback(const rlc_server *s) {
    return s->loopback;
}

void rlc_serve_stop(rlc_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->d);
    rlc_runs_free(s->runs);
    free(s);
}
