/* The dashboard's JSON API over a run registry. One call maps a decoded path
 * below /api/ and the request's query arguments to an HTTP status and a JSON
 * body; no HTTP-library types appear here, so tests can call it directly.
 *
 *   runs                              every run: status, last step, metric keys
 *   runs/<id>/metrics?since=S&keys=a,b  columns of the rows with step > S
 *   runs/<id>/generations?step=&step_min=&step_max=&reward_min=&reward_max=
 *                        &offset=&limit=&order=asc|desc   completions, filtered
 *   runs/<id>/config                  config.yaml as text
 *   runs/<id>/checkpoints             checkpoints/, final/
 *   runs/<id>/files                   the run's files, as /files/<path> names
 *
 * <id> may hold '/' (nested runs: demo/grpo); errors come back as
 * {"error": "..."} with 400, 404 or 500. */
#ifndef RLC_SERVE_API_H
#define RLC_SERVE_API_H

#include "serve/runs.h"

#include <stddef.h>

#define RLC_API_GEN_LIMIT_MAX 500 /* completions per page */

/* Query argument key of the current request, or NULL when absent. */
typedef const char *(*rlc_api_arg_fn)(void *ctx, const char *key);

typedef struct rlc_api_reply {
    int code;   /* HTTP status */
    char *body; /* malloc'd JSON text (NUL-terminated); free it */
    size_t len;
} rlc_api_reply;

/* Fills *out for path (decoded, without the leading "/api/"). Never fails:
 * errors are replies too (500 with the message when memory runs out). */
void rlc_api_handle(rlc_runs *r, const char *path, rlc_api_arg_fn arg, void *ctx,
                    rlc_api_reply *out);

#endif
