/* rlc serve: a read-only HTTP dashboard over a folder of runs (libmicrohttpd).
 * Serves the single-page app compiled into the binary, the JSON API of
 * serve/api.h under /api/, and raw run files under /files/<path> (symlinks
 * followed only while they stay inside the folder; no directory listings).
 * GET and HEAD only; request heads are bounded in size, connections in number;
 * bound to loopback, it answers only requests whose Host names loopback (so a
 * web page cannot reach it by DNS rebinding). */
#ifndef RLC_SERVE_SERVE_H
#define RLC_SERVE_SERVE_H

#include "base/status.h"

#include <stdio.h>

#define RLC_SERVE_HEAD_MAX (32 << 10) /* request line + headers, bytes */

typedef struct rlc_serve_params {
    const char *runs_dir;
    const char *host;        /* address to bind: "127.0.0.1", "::1", "0.0.0.0", "localhost" */
    int port;                /* 0: any free port (see rlc_serve_port) */
    double running_window_s; /* a run written to within this many seconds is running */
    int max_connections;     /* open connections at once; more wait in the listen queue */
    FILE *log;               /* HTTP-library errors go here; NULL: silent */
} rlc_serve_params;

/* 127.0.0.1:8080, 120 s window, 1000 connections, log = stderr. Each connection
 * is served by its own thread, so a slow request (the first read of a run's
 * million generations) never holds up another client's. */
rlc_serve_params rlc_serve_default_params(void);

typedef struct rlc_server rlc_server;

/* Starts serving in background threads. Errors: NOT_FOUND / INVALID for the
 * runs folder, INVALID for a bad host or port, IO when the port cannot be bound. */
rlc_status rlc_serve_start(const rlc_serve_params *p, rlc_server **out);
/* The port actually bound. */
int rlc_serve_port(const rlc_server *s);
/* The runs folder as served (its realpath). */
const char *rlc_serve_root(const rlc_server *s);
/* 1 when the bound address is a loopback one. */
int rlc_serve_is_loopback(const rlc_server *s);
/* Stops the threads, closes every connection and frees s. NULL is a no-op. */
void rlc_serve_stop(rlc_server *s);

#endif
