#include "rewards/external.h"

#include "base/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Process failures in a row without an answer before a batch gives up. */
#define MAX_FAILS 3

struct rlc_ext {
    rlc_ext_params p;
    char *name, *command;
    pid_t pid;
    int in_fd, out_fd; /* the child's stdin (we write), stdout (we read) */
    uint64_t next_id;
    int fails_in_row; /* process failures without an answer in between */
    rlc_ext_counts counts;
    char problem[256];
    rlc_strbuf body, out;  /* request bodies, the lines being written: kept between batches */
    rlc_ext_reader reader; /* the child's output after its last newline */
    /* components */
    int n_comp;
    char comp_names[RLC_EXT_MAX_COMPONENTS][RLC_EXT_COMPONENT_MAX];
    double comp_sum[RLC_EXT_MAX_COMPONENTS];
    long comp_n[RLC_EXT_MAX_COMPONENTS];
};

rlc_ext_params rlc_ext_default_params(void) {
    rlc_ext_params p = {NULL, NULL, 30.0, 0.05, 2.0};
    return p;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

static void set_problem(rlc_ext *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_problem(rlc_ext *x, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->problem, sizeof x->problem, fmt, ap);
    va_end(ap);
}

/* ---- the process ---- */

static void stop_child(rlc_ext *x) {
    if (x->in_fd >= 0) close(x->in_fd);
    if (x->out_fd >= 0) close(x->out_fd);
    x->in_fd = x->out_fd = -1;
    if (x->pid > 0) {
        kill(-x->pid, SIGKILL); /* the group: sh and whatever it started */
        kill(x->pid, SIGKILL);
        while (waitpid(x->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    x->pid = 0;
    rlc_ext_reader_reset(&x->reader);
}

static rlc_status start_child(rlc_ext *x) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC))
        return rlc_errorf(RLC_ERR_IO, "%s: pipe: %s", x->name, strerror(errno));
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]), close(in[1]);
        return rlc_errorf(RLC_ERR_IO, "%s: pipe: %s", x->name, strerror(errno));
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return rlc_errorf(RLC_ERR_IO, "%s: fork: %s", x->name, strerror(errno));
    }
    if (pid == 0) { /* only async-signal-safe calls until exec */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(in[0], 0);
        dup2(out[1], 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execl("/bin/sh", "sh", "-c", x->command, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also from here, so kill(-pid) works at once */
    close(in[0]), close(out[1]);
    x->pid = pid;
    x->in_fd = in[1];
    x->out_fd = out[0];
    fcntl(x->in_fd, F_SETFL, fcntl(x->in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(x->out_fd, F_SETFL, fcntl(x->out_fd, F_GETFL) | O_NONBLOCK);
    rlc_ext_reader_reset(&x->reader);
    return RLC_OK;
}

rlc_status rlc_ext_open(const rlc_ext_params *p, rlc_ext **out) {
    *out = NULL;
    if (!p->command || !p->command[0])
        return rlc_errorf(RLC_ERR_INVALID, "%s: empty command", p->name ? p->name : "external");
    if (!(p->timeout_s > 0))
        return rlc_errorf(RLC_ERR_INVALID, "%s: the timeout must be positive",
                          p->name ? p->name : "external");
    rlc_ext *x = rlc_calloc(1, sizeof *x);
    if (!x) return RLC_ERR_NOMEM;
    x->p = *p;
    x->name = strdup(p->name ? p->name : "external");
    x->command = strdup(p->command);
    x->in_fd = x->out_fd = -1;
    x->next_id = 1;
    if (!x->name || !x->command) {
        rlc_ext_free(x);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    rlc_status st = start_child(x);
    if (st) {
        rlc_ext_free(x);
        return st;
    }
    *out = x;
    return RLC_OK;
}

void rlc_ext_free(rlc_ext *x) {
    if (!x) return;
    stop_child(x);
    free(x->name);
    free(x->command);
    rlc_ext_reader_free(&x->reader);
    rlc_sb_free(&x->body);
    rlc_sb_free(&x->out);
    free(x);
}

int rlc_ext_pid(const rlc_ext *x) {
    return x ? (int)x->pid : 0;
}

void rlc_ext_take_counts(rlc_ext *x, rlc_ext_counts *out) {
    *out = x->counts;
    memset(&x->counts, 0, sizeof x->counts);
}

void rlc_ext_counts_add(rlc_ext_counts *a, const rlc_ext_counts *b) {
    a->requests += b->requests, a->answered += b->answered, a->failed += b->failed;
    a->timeouts += b->timeouts, a->crashes += b->crashes, a->restarts += b->restarts;
    a->malformed += b->malformed, a->unknown_id += b->unknown_id, a->nonfinite += b->nonfinite;
}

const char *rlc_ext_last_problem(const rlc_ext *x) {
    return x->problem;
}

/* ---- splitting the child's output into lines ---- */

void rlc_ext_reader_reset(rlc_ext_reader *r) {
    r->len = 0;
    r->skipping = 0;
}

void rlc_ext_reader_free(rlc_ext_reader *r) {
    free(r->buf);
    memset(r, 0, sizeof *r);
}

char *rlc_ext_reader_room(rlc_ext_reader *r, size_t *room) {
    if (r->cap - r->len < 65536) {
        size_t cap = r->cap ? r->cap * 2 : 131072;
        char *p = realloc(r->buf, cap);
        if (!p) return NULL;
        r->buf = p, r->cap = cap;
    }
    *room = r->cap - r->len;
    return r->buf + r->len;
}

void rlc_ext_reader_took(rlc_ext_reader *r, size_t n, rlc_ext_line_fn fn, void *ctx) {
    size_t max = r->max_line ? r->max_line : RLC_EXT_LINE_MAX;
    size_t start = 0, end = r->len + n;
    for (size_t j = r->len; j < end; j++) {
        if (r->buf[j] != '\n') continue;
        if (!r->skipping) fn(ctx, r->buf + start, j - start);
        r->skipping = 0;
        start = j + 1;
    }
    memmove(r->buf, r->buf + start, end - start);
    r->len = end - start;
    if (r->len > max) { /* drop it, and the rest of that line */
        if (!r->skipping) fn(ctx, NULL, 0);
        r->skipping = 1;
        r->len = 0;
    }
}

/* ---- parsing an answer ---- */

void rlc_ext_answer_free(rlc_ext_answer *a) {
    json_decref(a->obj);
    memset(a, 0, sizeof *a);
}

/* A JSON string no verifier writes: what the bare words NaN, Infinity and
 * -Infinity become so that jansson reads the line (the value follows it). */
#define STANDIN "\\u0000rlc-nonfinite:"
#define STANDIN_LEN 15 /* its decoded length: NUL and 14 characters */

/* line with the bare words NaN, Infinity and -Infinity outside strings made
 * into stand-in strings, or NULL when there are none (or no memory). */
static char *replace_nonfinite(const char *line, size_t len, size_t *out_len) {
    rlc_strbuf b = {0};
    int in_str = 0, found = 0;
    for (size_t i = 0; i < len; i++) {
        char c = line[i];
        if (in_str) {
            if (c == '\\' && i + 1 < len) {
                rlc_sb_put(&b, line + i, 2);
                i++;
                continue;
            }
            if (c == '"') in_str = 0;
            rlc_sb_put(&b, &c, 1);
            continue;
        }
        if (c == '"') in_str = 1;
        static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
        static const char *const repl[] = {"\"" STANDIN "-inf\"", "\"" STANDIN "inf\"",
                                           "\"" STANDIN "nan\""};
        int hit = 0;
        for (int w = 0; w < 3 && !hit; w++) {
            size_t wl = strlen(words[w]);
            if (len - i >= wl && !memcmp(line + i, words[w], wl)) {
                rlc_sb_cstr(&b, repl[w]);
                i += wl - 1;
                hit = found = 1;
            }
        }
        if (!hit) rlc_sb_put(&b, &c, 1);
    }
    if (!found || b.oom) {
        rlc_sb_free(&b);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

/* The value of a number or null, or (standins: the line was rewritten) of a
 * stand-in for NaN/Infinity (replace_nonfinite). */
static int number_value(const json_t *v, int standins, double *out) {
    if (json_is_number(v)) return *out = json_number_value(v), 1;
    if (json_is_null(v)) return *out = NAN, 1;
    if (!standins || !json_is_string(v) || json_string_length(v) <= STANDIN_LEN) return 0;
    const char *s = json_string_value(v);
    if (s[0] != 0 || memcmp(s + 1, "rlc-nonfinite:", STANDIN_LEN - 1)) return 0;
    s += STANDIN_LEN;
    if (!strcmp(s, "nan")) return *out = NAN, 1;
    if (!strcmp(s, "inf")) return *out = INFINITY, 1;
    if (!strcmp(s, "-inf")) return *out = -INFINITY, 1;
    return 0;
}

rlc_status rlc_ext_parse_line(const char *line, size_t len, rlc_ext_answer *a) {
    memset(a, 0, sizeof *a);
    json_error_t err;
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    int standins = 0;
    if (!o) {
        size_t n2 = 0;
        char *fixed = replace_nonfinite(line, len, &n2);
        if (fixed) o = json_loadb(fixed, n2, JSON_ALLOW_NUL, NULL);
        standins = o != NULL;
        free(fixed);
    }
    if (!o) return rlc_errorf(RLC_ERR_FORMAT, "not JSON: %s", err.text);
    if (!json_is_object(o)) {
        json_decref(o);
        return rlc_errorf(RLC_ERR_FORMAT, "not a JSON object");
    }
    json_t *id = json_object_get(o, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 0) {
        json_decref(o);
        return rlc_errorf(RLC_ERR_FORMAT, "no integer \"id\" >= 0");
    }
    a->id = (long long)json_integer_value(id);
    json_t *r = json_object_get(o, "reward");
    a->reward = NAN;
    a->has_reward = r && number_value(r, standins, &a->reward);
    a->obj = o;
    return RLC_OK;
}

/* ---- one exchange ---- */

typedef enum { REQ_PENDING = 0, REQ_OUT, REQ_DONE } req_state;

typedef struct exchange {
    rlc_ext *x;
    const char *const *body;
    int n;
    rlc_ext_handler handler;
    void *ctx;
    unsigned char *ok;
    unsigned char *state; /* req_state */
    uint64_t *id;         /* the id request i was last sent under */
    uint64_t first_id;    /* ids of this exchange are >= first_id, given in order */
    int *by_id;           /* [id - first_id] the request sent under that id */
    size_t by_id_cap;
    int n_out, n_done;
} exchange;

static int find_request(const exchange *e, long long id) {
    if (id < 0 || (uint64_t)id < e->first_id || (uint64_t)id >= e->x->next_id) return -1;
    int i = e->by_id[(uint64_t)id - e->first_id];
    return e->state[i] == REQ_OUT && e->id[i] == (uint64_t)id ? i : -1;
}

static void finish(exchange *e, int i, int ok) {
    if (e->state[i] == REQ_OUT) e->n_out--;
    e->state[i] = REQ_DONE;
    e->ok[i] = (unsigned char)ok;
    e->n_done++;
    if (ok)
        e->x->counts.answered++;
    else
        e->x->counts.failed++;
}

static void handle_line(void *ctx, const char *line, size_t len) {
    exchange *e = ctx;
    rlc_ext *x = e->x;
    if (!line) {
        x->counts.malformed++;
        set_problem(x, "a line longer than %zu bytes", (size_t)RLC_EXT_LINE_MAX);
        return;
    }
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0) return; /* blank lines are allowed */
    rlc_ext_answer a;
    if (rlc_ext_parse_line(line, len, &a)) {
        x->counts.malformed++;
        set_problem(x, "bad line (%s): %.*s", rlc_last_error(), (int)(len < 60 ? len : 60), line);
        return;
    }
    int i = find_request(e, a.id);
    if (i < 0) {
        x->counts.unknown_id++;
        set_problem(x, "answer to id %lld, which is not waiting for one", a.id);
    } else {
        rlc_ext_verdict v = e->handler(e->ctx, i, &a);
        if (v == RLC_EXT_MALFORMED) {
            x->counts.malformed++;
            set_problem(x, "bad answer to id %lld: %.*s", a.id, (int)(len < 60 ? len : 60), line);
        } else if (v == RLC_EXT_NONFINITE) {
            x->counts.nonfinite++;
            set_problem(x, "non-finite reward for id %lld", a.id);
        }
        finish(e, i, v == RLC_EXT_ACCEPT);
        x->fails_in_row = 0;
    }
    rlc_ext_answer_free(&a);
}

/* Reads what is there; returns 0 on EOF (or a read error), 1 otherwise. */
static int read_some(exchange *e) {
    rlc_ext *x = e->x;
    for (;;) {
        size_t room;
        char *at = rlc_ext_reader_room(&x->reader, &room);
        if (!at) return 0;
        ssize_t got = read(x->out_fd, at, room);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        if (got <= 0) return 0;
        rlc_ext_reader_took(&x->reader, (size_t)got, handle_line, e);
    }
}

/* Writes the request lines of the pending requests that fit this round
 * (serial: one) into w. */
static void queue_requests(exchange *e, int serial, rlc_strbuf *w) {
    for (int i = 0; i < e->n && !(serial && e->n_out > 0); i++) {
        if (e->state[i] != REQ_PENDING) continue;
        size_t off = (size_t)(e->x->next_id - e->first_id);
        if (off >= e->by_id_cap) {
            size_t cap = e->by_id_cap * 2 > off + 1 ? e->by_id_cap * 2 : off + 1;
            int *p = realloc(e->by_id, cap * sizeof *p);
            if (!p) {
                w->oom = 1;
                return;
            }
            e->by_id = p, e->by_id_cap = cap;
        }
        e->by_id[off] = i;
        e->id[i] = e->x->next_id++;
        e->state[i] = REQ_OUT;
        e->n_out++;
        e->x->counts.requests++;
        rlc_sb_printf(w, "{\"id\":%llu,", (unsigned long long)e->id[i]);
        rlc_sb_cstr(w, e->body[i]);
        rlc_sb_put(w, "\n", 1);
    }
}

/* After the process failed: requests out go back to pending, or, when one
 * was out alone (serial), it is given up on. */
static void after_failure(exchange *e, int serial) {
    rlc_ext *x = e->x;
    x->fails_in_row++;
    for (int i = 0; i < e->n; i++) {
        if (e->state[i] != REQ_OUT) continue;
        if (serial || x->fails_in_row >= MAX_FAILS) {
            finish(e, i, 0);
        } else {
            e->state[i] = REQ_PENDING;
            e->n_out--;
        }
    }
    if (x->fails_in_row >= MAX_FAILS)
        for (int i = 0; i < e->n; i++)
            if (e->state[i] == REQ_PENDING) finish(e, i, 0);
    stop_child(x);
}

/* One process lifetime's worth of the exchange: returns 1 when the process
 * failed (crash or timeout), 0 when every request is done. */
static int run_round(exchange *e, int serial, rlc_strbuf *w) {
    rlc_ext *x = e->x;
    size_t woff = 0;
    rlc_sb_reset(w);
    queue_requests(e, serial, w);
    double deadline = rlc_clock_seconds(CLOCK_MONOTONIC) + x->p.timeout_s;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old); /* a dead child's pipe: EPIPE, not a signal */
    int failed = 0;
    while (e->n_out > 0 || woff < w->len) {
        struct pollfd fds[2] = {{x->out_fd, POLLIN, 0}, {x->in_fd, POLLOUT, 0}};
        int nfds = woff < w->len ? 2 : 1;
        double left = deadline - rlc_clock_seconds(CLOCK_MONOTONIC);
        int ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
        int r = poll(fds, (nfds_t)nfds, ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            x->counts.crashes++;
            set_problem(x, "poll: %s", strerror(errno));
            failed = 1;
            break;
        }
        if (r == 0) {
            x->counts.timeouts++;
            set_problem(x, "no answer within %g s (killed)", x->p.timeout_s);
            failed = 1;
            break;
        }
        if (nfds == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t put = write(x->in_fd, w->p + woff, w->len - woff);
            if (put > 0) {
                woff += (size_t)put;
            } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
                int why = errno;
                read_some(e); /* the answers it wrote before it went */
                errno = why;
                x->counts.crashes++;
                set_problem(x, "the process stopped reading its input (%s)", strerror(errno));
                failed = 1;
                break;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            int before = e->n_done;
            if (!read_some(e)) {
                if (e->n_out == 0 && woff == w->len) {
                    stop_child(x); /* it ended after its last answer: restarted when needed */
                    break;
                }
                x->counts.crashes++;
                set_problem(x, "the process exited or closed its output with %d request(s) out",
                            e->n_out);
                failed = 1;
                break;
            }
            if (e->n_done > before) deadline = rlc_clock_seconds(CLOCK_MONOTONIC) + x->p.timeout_s;
        }
        if (serial && e->n_out == 0 && woff == w->len) { /* next one */
            rlc_sb_reset(w);
            woff = 0;
            queue_requests(e, serial, w);
        }
    }
    sigaction(SIGPIPE, &old, NULL);
    return failed;
}

rlc_status rlc_ext_exchange(rlc_ext *x, const char *const *body, int n, rlc_ext_handler handler,
                            void *ctx, unsigned char *ok) {
    if (n <= 0) return RLC_OK;
    exchange e = {x, body, n, handler, ctx, ok, NULL, NULL, x->next_id, NULL, 0, 0, 0};
    e.state = rlc_calloc((size_t)n, 1);
    e.id = rlc_calloc((size_t)n, sizeof *e.id);
    rlc_strbuf *w = &x->out;
    rlc_status st = e.state && e.id ? RLC_OK : RLC_ERR_NOMEM;
    memset(ok, 0, (size_t)n);
    int serial = 0;
    while (st == RLC_OK && e.n_done < n) {
        if (x->pid <= 0) {
            double d = x->p.backoff_s;
            for (int k = 1; k < x->fails_in_row && d < x->p.backoff_max_s; k++)
                d *= 2;
            sleep_s(d < x->p.backoff_max_s ? d : x->p.backoff_max_s);
            st = start_child(x);
            if (st) break;
            x->counts.restarts++;
        }
        if (run_round(&e, serial, w)) {
            after_failure(&e, serial);
            serial = 1;
        }
        if (w->oom) st = rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", x->name);
    }
    if (w->oom) rlc_sb_free(w);
    free(e.state);
    free(e.id);
    free(e.by_id);
    return st;
}

/* ---- the reward protocol ---- */

rlc_status rlc_ext_parse_on_error(const char *s, int *skip, float *value) {
    *skip = 0;
    *value = 0;
    if (!strcmp(s, "skip")) return *skip = 1, RLC_OK;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || *end || errno || !isfinite(v) || !isfinite((float)v)) return RLC_ERR_INVALID;
    *value = (float)v;
    return RLC_OK;
}

rlc_status rlc_ext_split_named(const char *item, char *name, size_t cap, const char **command) {
    size_t n = strspn(item, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    if (n == 0 || n >= cap || n >= RLC_EXT_NAME_MAX || item[n] != '=') return RLC_ERR_INVALID;
    const char *c = item + n + 1;
    if (!c[strspn(c, " \t")]) return RLC_ERR_INVALID;
    memcpy(name, item, n);
    name[n] = 0;
    *command = c;
    return RLC_OK;
}

void rlc_ext_put_json(rlc_strbuf *b, const char *json_text) {
    json_t *v = json_text && json_text[0] ? json_loads(json_text, JSON_DECODE_ANY, NULL) : NULL;
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    rlc_sb_cstr(b, s ? s : "null");
    free(s);
    json_decref(v);
}

/* items[i].metadata, checked once per distinct pointer in a row (a prompt's
 * samples share theirs): *last_in / *last_out remember the previous one. */
static void put_metadata(rlc_strbuf *b, const char *meta, const char **last_in, rlc_strbuf *last) {
    if (meta != *last_in || !meta) {
        rlc_sb_reset(last);
        rlc_ext_put_json(last, meta);
        *last_in = meta;
    }
    rlc_sb_put(b, last->p ? last->p : "null", last->p ? last->len : 4);
}

typedef struct score_ctx {
    rlc_ext *x;
    float *reward;
} score_ctx;

static int component_slot(rlc_ext *x, const char *name) {
    for (int k = 0; k < x->n_comp; k++)
        if (!strcmp(x->comp_names[k], name)) return k;
    if (x->n_comp == RLC_EXT_MAX_COMPONENTS || strlen(name) >= RLC_EXT_COMPONENT_MAX || !name[0])
        return -1;
    snprintf(x->comp_names[x->n_comp], RLC_EXT_COMPONENT_MAX, "%s", name);
    return x->n_comp++;
}

static rlc_ext_verdict score_answer(void *ctx, int i, const rlc_ext_answer *a) {
    score_ctx *c = ctx;
    if (!a->has_reward) return RLC_EXT_MALFORMED;
    if (!isfinite(a->reward) || !isfinite((float)a->reward)) return RLC_EXT_NONFINITE;
    c->reward[i] = (float)a->reward;
    json_t *comps = json_object_get(a->obj, "components");
    const char *key;
    json_t *v;
    if (json_is_object(comps)) json_object_foreach(comps, key, v) {
            if (!json_is_number(v) || !isfinite(json_number_value(v))) continue;
            int k = component_slot(c->x, key);
            if (k < 0) continue;
            c->x->comp_sum[k] += json_number_value(v);
            c->x->comp_n[k]++;
        }
    return RLC_EXT_ACCEPT;
}

rlc_status rlc_ext_score(rlc_ext *x, const rlc_ext_item *items, int n, float *reward,
                         unsigned char *ok) {
    if (n <= 0) return RLC_OK;
    rlc_strbuf *b = &x->body, meta = {0};
    const char *last_meta = NULL;
    rlc_sb_reset(b);
    size_t *off = rlc_calloc((size_t)n, sizeof *off);
    char **body = rlc_calloc((size_t)n, sizeof *body);
    if (!off || !body) {
        free(off), free(body);
        return RLC_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        off[i] = b->len;
        rlc_sb_cstr(b, "\"prompt\":");
        rlc_sb_json_string(b, items[i].prompt ? items[i].prompt : "", 0);
        rlc_sb_cstr(b, ",\"completion\":");
        rlc_sb_json_string(b, items[i].completion ? items[i].completion : "", 0);
        rlc_sb_cstr(b, ",\"reference\":");
        rlc_sb_json_string(b, items[i].reference ? items[i].reference : "", 0);
        rlc_sb_cstr(b, ",\"metadata\":");
        put_metadata(b, items[i].metadata, &last_meta, &meta);
        rlc_sb_put(b, "}", 2); /* with its NUL: the bodies are C strings in one buffer */
    }
    rlc_status st = b->oom || meta.oom ? rlc_errorf(RLC_ERR_NOMEM, "out of memory") : RLC_OK;
    for (int i = 0; st == RLC_OK && i < n; i++)
        body[i] = b->p + off[i];
    score_ctx c = {x, reward};
    if (st == RLC_OK) st = rlc_ext_exchange(x, (const char *const *)body, n, score_answer, &c, ok);
    if (b->oom) rlc_sb_free(b);
    rlc_sb_free(&meta);
    free(off);
    free(body);
    return st;
}

int rlc_ext_take_components(rlc_ext *x, const char **names, double *mean) {
    for (int k = 0; k < x->n_comp; k++) {
        names[k] = x->comp_names[k];
        mean[k] = x->comp_n[k] ? x->comp_sum[k] / (double)x->comp_n[k] : NAN;
        x->comp_sum[k] = 0;
        x->comp_n[k] = 0;
    }
    return x->n_comp;
}
