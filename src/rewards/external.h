/* External verifiers and environments: a long-lived child process (started
 * once, through /bin/sh -c) that reads one JSON object per line on its stdin
 * and answers one per line on its stdout, matched by "id". Requests go out
 * batched (all written, answers read as they come, in any order); a crash, a
 * hang past the timeout, a garbage line or a non-finite reward never stops the
 * caller: the process is restarted with back-off, and a request that cannot be
 * answered is reported failed, never scored twice. The protocol is in the
 * README ("External verifiers and data sources"). */
#ifndef RLC_REWARDS_EXTERNAL_H
#define RLC_REWARDS_EXTERNAL_H

#include "base/status.h"
#include "base/strbuf.h"

#include <jansson.h>
#include <stddef.h>

typedef struct rlc_ext rlc_ext;

typedef struct rlc_ext_params {
    const char *name;     /* in messages ("rewards.external", a reward's name); copied */
    const char *command;  /* run by /bin/sh -c; copied */
    double timeout_s;     /* longest wait for the next answer while requests are out */
    double backoff_s;     /* delay before a restart, doubled per failure in a row ... */
    double backoff_max_s; /* ... up to this */
} rlc_ext_params;

/* timeout 30 s, back-off 0.05 s doubling up to 2 s. */
rlc_ext_params rlc_ext_default_params(void);

/* Counters since the last rlc_ext_take_counts. A request is sent again after
 * a failure, so requests can exceed answered + failed. */
typedef struct rlc_ext_counts {
    long requests;   /* request lines written */
    long answered;   /* requests that got a usable answer */
    long failed;     /* requests given up on (the caller's on-error value) */
    long timeouts;   /* processes killed after timeout_s without an answer */
    long crashes;    /* processes that exited or closed stdout with requests out */
    long restarts;   /* processes started again after a timeout or crash */
    long malformed;  /* lines that are no JSON object with an integer id, or a bad answer */
    long unknown_id; /* answers to an id never sent, or already answered */
    long nonfinite;  /* answers whose reward is NaN, Infinity or null */
} rlc_ext_counts;

/* Starts the process. Errors: empty command, pipe/fork failure. The child has
 * its own process group (Ctrl-C reaches rlc, which ends it), dies with rlc
 * (PR_SET_PDEATHSIG) and inherits stderr. */
rlc_status rlc_ext_open(const rlc_ext_params *p, rlc_ext **out);
/* Closes the child's stdin, kills its process group and reaps it. NULL: no-op. */
void rlc_ext_free(rlc_ext *x);

/* The process id of the running child (0 while none runs), for tests. */
int rlc_ext_pid(const rlc_ext *x);

/* The child's output cut into lines: bytes are read into the room the reader
 * gives, then handed over; each complete line goes to fn without its '\n'. A
 * line longer than max_line bytes (0: RLC_EXT_LINE_MAX) is dropped to its
 * next newline, with one call fn(ctx, NULL, 0). Zero-initialize; the bytes
 * come from an untrusted process (tests/fuzz/fuzz_external.c). */
#define RLC_EXT_LINE_MAX ((size_t)16 << 20)
typedef struct rlc_ext_reader {
    char *buf;
    size_t len, cap; /* bytes after the last newline */
    size_t max_line;
    int skipping; /* inside an overlong line */
} rlc_ext_reader;
typedef void (*rlc_ext_line_fn)(void *ctx, const char *line, size_t len);
/* Room for at least 64 KiB at the returned pointer (*room bytes); NULL when
 * out of memory. */
char *rlc_ext_reader_room(rlc_ext_reader *r, size_t *room);
/* Takes the n bytes just written into the room. */
void rlc_ext_reader_took(rlc_ext_reader *r, size_t n, rlc_ext_line_fn fn, void *ctx);
/* Forgets a partial line (a new process). */
void rlc_ext_reader_reset(rlc_ext_reader *r);
void rlc_ext_reader_free(rlc_ext_reader *r);

/* One parsed answer line. */
typedef struct rlc_ext_answer {
    long long id;
    int has_reward; /* "reward" present as a number, null, NaN or +-Infinity */
    double reward;  /* NaN for null */
    json_t *obj;    /* the whole object (owned; rlc_ext_answer_free) */
} rlc_ext_answer;

/* Parses one line (without its newline): a JSON object with an integer "id"
 * >= 0. Python's json module writes NaN, Infinity and -Infinity for
 * non-finite floats; those bare words are read as the values they name.
 * RLC_ERR_FORMAT with a one-line reason otherwise; a->obj is then NULL. */
rlc_status rlc_ext_parse_line(const char *line, size_t len, rlc_ext_answer *a);
void rlc_ext_answer_free(rlc_ext_answer *a);

/* What a handler makes of an answer to request i. */
typedef enum rlc_ext_verdict {
    RLC_EXT_ACCEPT = 0, /* request i is done */
    RLC_EXT_MALFORMED,  /* a bad answer: request i failed (counted malformed) */
    RLC_EXT_NONFINITE,  /* a non-finite reward: request i failed (counted nonfinite) */
} rlc_ext_verdict;
typedef rlc_ext_verdict (*rlc_ext_handler)(void *ctx, int i, const rlc_ext_answer *a);

/* Sends n requests and waits until each is answered or given up on. body[i]
 * is the request's JSON object text after its opening brace, without the id
 * (e.g. "\"op\":\"sample\",\"n\":4}"); the line sent is {"id":ID, + body[i].
 * ok[i] = 1 when handler accepted an answer to request i, else 0 (failed).
 * Failures: the process is killed and restarted (after the back-off); the
 * requests still out are sent again one at a time, and a request out alone
 * when the process fails again is given up on; after 3 failures in a row
 * without an answer every request left is (and a process still failing
 * then gets one try per exchange until it answers again). Returns an error only for
 * NOMEM or a process that cannot be started at all (fork/pipe). */
rlc_status rlc_ext_exchange(rlc_ext *x, const char *const *body, int n, rlc_ext_handler handler,
                            void *ctx, unsigned char *ok);

/* The counters since the last call, which resets them. */
void rlc_ext_take_counts(rlc_ext *x, rlc_ext_counts *out);
/* Adds b into a. */
void rlc_ext_counts_add(rlc_ext_counts *a, const rlc_ext_counts *b);
/* The last problem seen ("timeout after 2 s", "bad line: ..."), "" if none. */
const char *rlc_ext_last_problem(const rlc_ext *x);

/* ---- the reward protocol ---- */

/* rewards.external_on_error: "skip" (*skip = 1) or a finite number (*value).
 * RLC_ERR_INVALID otherwise (no message set: the caller names the key). */
rlc_status rlc_ext_parse_on_error(const char *s, int *skip, float *value);

/* A rewards.external_named item "NAME=COMMAND": NAME of [A-Za-z0-9_], 1 to
 * RLC_EXT_NAME_MAX-1 characters, into name; *command points after the '='
 * (not blank). RLC_ERR_INVALID otherwise (no message set). */
#define RLC_EXT_NAME_MAX 32
rlc_status rlc_ext_split_named(const char *item, char *name, size_t cap, const char **command);

/* One completion to score. Strings NULL read as ""; metadata is JSON text
 * (an object) or NULL for null. */
typedef struct rlc_ext_item {
    const char *prompt, *completion, *reference, *metadata;
} rlc_ext_item;

#define RLC_EXT_MAX_COMPONENTS 16
#define RLC_EXT_COMPONENT_MAX 48

/* Scores items[n]: request {"id","prompt","completion","reference",
 * "metadata"}, answer {"id","reward"[,"components":{name: number}][,"info"]}.
 * reward[i] gets the finite reward and ok[i] = 1, or ok[i] = 0 with reward[i]
 * untouched when the item failed. Components' finite values add to the
 * per-component sums (rlc_ext_take_components); the first
 * RLC_EXT_MAX_COMPONENTS names seen are kept, in order of appearance. */
rlc_status rlc_ext_score(rlc_ext *x, const rlc_ext_item *items, int n, float *reward,
                         unsigned char *ok);

/* The components seen since the last call (which resets the sums, not the
 * names): names[k] and the mean of the values reported since (NaN when none
 * was); returns how many names there are. */
int rlc_ext_take_components(rlc_ext *x, const char **names, double *mean);

/* Appends a JSON object's text for metadata (NULL: null), validated: bad JSON
 * text becomes null. For building request bodies. */
void rlc_ext_put_json(rlc_strbuf *b, const char *json_text);

#endif
