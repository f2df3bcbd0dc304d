/* rlc serve RUNS_DIR [--host 127.0.0.1] [--port 8080]: the live dashboard. */
#include "cli/args.h"
#include "cli/cli.h"

#include "serve/serve.h"

#include <signal.h>
#include <stdio.h>

#define SYNOPSIS "RUNS_DIR [--host ADDR] [--port N] [--running-window S]"

int rlc_cmd_serve(int argc, char **argv) {
    rlc_serve_params p = rlc_serve_default_params();
    float window = (float)p.running_window_s;
    rlc_opt opts[] = {
        {"runs", OPT_POS, &p.runs_dir, "RUNS_DIR",
         "folder of runs: every folder below it (3 levels at most) holding metrics.jsonl"},
        {"host", OPT_STR, &p.host, "ADDR",
         "address to listen on (default 127.0.0.1; anything but loopback exposes the runs)"},
        {"port", OPT_INT, &p.port, "N", "TCP port (default 8080; 0 picks a free one)"},
        {"running-window", OPT_FLOAT, &window, "S",
         "a run without final/ whose metrics.jsonl or emergence/*.jsonl changed within S "
         "seconds is running, otherwise crashed (default 120)"},
        {0},
    };
    int pr = rlc_cli_parse("serve", SYNOPSIS, opts, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!p.runs_dir) {
        fprintf(stderr, "rlc serve: RUNS_DIR is required (usage: rlc serve " SYNOPSIS ")\n");
        return 2;
    }
    if (!(window > 0)) {
        fprintf(stderr, "rlc serve: --running-window must be > 0\n");
        return 2;
    }
    p.running_window_s = window;
    /* Blocked before the server's threads start, so they inherit the mask and
     * the signals arrive at sigwait below. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    rlc_server *s;
    rlc_status st = rlc_serve_start(&p, &s);
    if (st) return rlc_cli_fail(st);
    const char *h = p.host;
    int v6 = 0;
    for (const char *c = h; *c; c++)
        v6 |= *c == ':';
    printf("rlc serve: http://%s%s%s:%d/  (runs: %s)\n", v6 ? "[" : "", h, v6 ? "]" : "",
           rlc_serve_port(s), rlc_serve_root(s));
    if (!rlc_serve_is_loopback(s))
        printf("W listening on %s: anyone who can reach this address can read the runs\n", h);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    rlc_serve_stop(s);
    printf("rlc serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}
