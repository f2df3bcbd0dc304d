/* External verifier throughput: completions scored per second by
 * rlc_ext_score (rewards/external.h) with a trivial verifier, in batches,
 * against the pipe itself: the same request bytes echoed through `cat` by
 * plain write/read, measured in the same run. The verifier answers every
 * line it reads at once ({"id":N,"reward":1}, found without a JSON parser),
 * so what is left is rlc's side (request JSON, answer parsing, id matching)
 * and the pipes. Both children are started once; best of the timed rounds
 * after one warm-up round each.
 * Usage: build/bench_external [--batch N (default 4096)] [--rounds R (default 10)] */
#include "rewards/external.h"
#include "base/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Answers every complete line it has with the text before the first comma
 * ({"id":N) and ,"reward":1}: the least a verifier can do. */
static const char *const trivial_verifier =
    "exec /usr/bin/python3 -c '\n"
    "import os, sys\n"
    "out, buf = sys.stdout.buffer, b\"\"\n"
    "while True:\n"
    "    d = os.read(0, 65536)\n"
    "    if not d: break\n"
    "    lines = (buf + d).split(b\"\\n\"); buf = lines.pop()\n"
    "    out.write(b\"\".join(l[:l.index(b\",\")] + b\",\\\"reward\\\":1}\\n\" for l in lines if "
    "l))\n"
    "    out.flush()\n"
    "'";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A `cat` child that echoes what it is given, started once like the verifier. */
typedef struct echo_proc {
    pid_t pid;
    int in, out; /* its stdin (we write), its stdout (we read) */
    char *back;
} echo_proc;

static int echo_start(echo_proc *e) {
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return -1;
    e->pid = fork();
    if (e->pid < 0) return -1;
    if (e->pid == 0) {
        dup2(in[0], 0), dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execlp("cat", "cat", (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    e->in = in[1], e->out = out[0];
    fcntl(e->in, F_SETFL, O_NONBLOCK);
    fcntl(e->out, F_SETFL, O_NONBLOCK);
    e->back = malloc(1 << 20);
    return e->back ? 0 : -1;
}

static void echo_stop(echo_proc *e) {
    close(e->in), close(e->out);
    kill(e->pid, SIGKILL);
    waitpid(e->pid, NULL, 0);
    free(e->back);
}

/* Writes text[len] into the echo and reads it all back, both at once (poll);
 * returns the seconds taken, or -1. */
static double echo_seconds(echo_proc *e, const char *text, size_t len) {
    size_t woff = 0, got = 0;
    double t0 = now_s();
    while (got < len) {
        struct pollfd fds[2] = {{e->out, POLLIN, 0}, {e->in, POLLOUT, 0}};
        if (poll(fds, woff < len ? 2 : 1, 10000) <= 0) return -1;
        if (woff < len && (fds[1].revents & POLLOUT)) {
            ssize_t k = write(e->in, text + woff, len - woff);
            if (k > 0) woff += (size_t)k;
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            ssize_t k = read(e->out, e->back, 1 << 20);
            if (k <= 0 && errno != EAGAIN) return -1;
            if (k > 0) got += (size_t)k;
        }
    }
    return now_s() - t0;
}

int main(int argc, char **argv) {
    int batch = 4096, rounds = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--batch N] [--rounds R]\n", argv[0]);
            return 2;
        }
    }
    if (batch < 1 || rounds < 1) return 2;
    /* a GSM8K-sized request: a 200-byte prompt, a 300-byte completion */
    char prompt[256], completion[512];
    memset(prompt, 'q', 200), prompt[200] = 0;
    memset(completion, 'c', 280);
    snprintf(completion + 280, sizeof completion - 280, "<answer>46</answer>");
    rlc_ext_item *items = calloc((size_t)batch, sizeof *items);
    float *reward = calloc((size_t)batch, sizeof *reward);
    unsigned char *ok = calloc((size_t)batch, 1);
    /* metadata as GRPO passes it: one object per prompt, shared by its 4 samples */
    char(*meta)[48] = calloc((size_t)batch / 4 + 1, sizeof *meta);
    if (!items || !reward || !ok || !meta) return 1;
    for (int i = 0; i < batch; i++) {
        snprintf(meta[i / 4], sizeof meta[0], "{\"source\":\"bench\",\"prompt\":%d}", i / 4);
        items[i] = (rlc_ext_item){prompt, completion, "46", meta[i / 4]};
    }

    rlc_ext_params p = rlc_ext_default_params();
    p.name = "bench";
    p.command = trivial_verifier;
    rlc_ext *x;
    if (rlc_ext_open(&p, &x)) {
        fprintf(stderr, "bench_external: %s\n", rlc_last_error());
        return 1;
    }
    double best = 1e30;
    long failed = 0;
    for (int r = 0; r <= rounds; r++) {
        double t0 = now_s();
        if (rlc_ext_score(x, items, batch, reward, ok)) {
            fprintf(stderr, "bench_external: %s\n", rlc_last_error());
            return 1;
        }
        double t = now_s() - t0;
        for (int i = 0; i < batch; i++)
            failed += !ok[i] || reward[i] != 1.0f;
        if (r > 0 && t < best) best = t;
    }
    rlc_ext_counts c;
    rlc_ext_take_counts(x, &c);
    rlc_ext_free(x);

    /* the same request lines, ids included, through cat */
    rlc_strbuf lines = {0};
    for (int i = 0; i < batch; i++) {
        rlc_sb_printf(&lines, "{\"id\":%d,\"prompt\":", 1000000 + i);
        rlc_sb_json_string(&lines, prompt, 0);
        rlc_sb_cstr(&lines, ",\"completion\":");
        rlc_sb_json_string(&lines, completion, 0);
        rlc_sb_printf(&lines, ",\"reference\":\"46\",\"metadata\":%s}\n", meta[i / 4]);
    }
    double echo = 1e30;
    echo_proc ec;
    if (echo_start(&ec)) return 1;
    for (int r = 0; r <= rounds; r++) { /* round 0 warms it up, as for the verifier */
        double t = echo_seconds(&ec, lines.p, lines.len);
        if (t < 0) {
            fprintf(stderr, "bench_external: the cat echo failed\n");
            return 1;
        }
        if (r > 0 && t < echo) echo = t;
    }
    echo_stop(&ec);
    double rps = batch / best, eps = batch / echo;
    printf("external verifier, batches of %d requests (%zu bytes each), best of %d rounds:\n",
           batch, lines.len / (size_t)batch, rounds);
    printf("  rlc_ext_score, trivial verifier: %10.0f requests/s  %7.1f MB/s of requests\n", rps,
           rps * (double)lines.len / batch / 1e6);
    printf("  raw pipe echo (cat), same bytes: %10.0f lines/s     %7.1f MB/s\n", eps,
           eps * (double)lines.len / batch / 1e6);
    printf("  ratio rlc / echo: %.3f; target >= 50000 requests/s: %s; failed answers: %ld, "
           "crashes %ld, timeouts %ld\n",
           rps / eps, rps >= 50000 ? "met" : "NOT met", failed, c.crashes, c.timeouts);
    rlc_sb_free(&lines);
    free(items), free(reward), free(ok), free(meta);
    return failed ? 1 : 0;
}
