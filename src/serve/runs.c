/* Run registry and caches. Locking, in the order a thread may take them:
 *   r->lock       the slot table (which run each slot holds, present or not),
 *                 the scan clock and the run-list reply. Held only for short
 *                 table work: the folder walk of a rescan runs outside it and
 *                 its result is swapped in, and a thread never waits for a
 *                 slot's locks while holding it (it only try-locks them).
 *   sl->g_lock    serialises extending one run's generations index.
 *   sl->lock      the slot's id, its metrics cache and its published
 *                 generations index (pointer and length). Held briefly.
 * Readers of the generations index take a reference under sl->lock and scan
 * it with no lock held: entries below the published length never change, and
 * a grown or rebuilt index is a new object. Slots are never freed before
 * rlc_runs_free, so a slot pointer stays valid after r->lock is dropped. */
#include "serve/runs.h"

#include "base/procstat.h"
#include "serve/safepath.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define METRICS_MAX_BYTES ((size_t)512 << 20) /* larger metrics.jsonl files are refused */
#define GEN_LINE_MAX (1 << 20)                /* longer generation lines are skipped */
#define GEN_MAX_LINES (4 << 20)               /* index entries kept per run */
#define SCAN_MAX_DIRS 20000                   /* folders visited per rescan */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
} file_id;

/* One version of a run's metrics, shared by the threads serving it. */
struct rlc_metrics_snap {
    pthread_mutex_t lock; /* guards refs and memo */
    int refs;             /* the slot's reference while current, plus readers' */
    rlc_metrics *m;       /* NULL while the file has no complete line */
    char *memo;
    size_t memo_len;
};

/* One version of a run's generations index. Entries [0, n) are final; an
 * extension that needs more room, or a rebuild, makes a new object. */
typedef struct gen_index {
    int refs;       /* guarded by the slot's lock, as are g, n, stats, indexed */
    rlc_gen_ref *g; /* (cap) entries, [0, n) published */
    int n, cap;
    void **retired; /* earlier arrays that readers may still scan */
    int n_retired;
    dev_t dev;
    ino_t ino;
    off_t indexed; /* bytes consumed: up to the end of the last complete line */
    rlc_gen_stats stats;
} gen_index;

typedef struct slot {
    char id[RLC_RUN_ID_CAP];
    char rel[RLC_RUN_ID_CAP];
    int present; /* guarded by r->lock */
    pthread_mutex_t lock, g_lock;
    /* metrics cache */
    file_id m_id;
    rlc_metrics_snap *snap; /* current version, NULL before the first load */
    gen_index *gi;          /* published generations index, NULL before the first */
} slot;

struct rlc_runs {
    char root[4096];
    char root_name[RLC_RUN_ID_CAP];
    double window_s, rescan_s;
    pthread_mutex_t lock;
    pthread_cond_t scanned; /* signalled when a rescan is swapped in */
    int scanning;           /* a thread is walking the folder */
    double scanned_at;      /* monotonic seconds, < 0 before the first scan */
    slot *slots[RLC_RUNS_MAX];
    int n_slots;
    char *reply; /* the cached run-list reply, guarded by lock */
    size_t reply_len;
    double reply_at; /* monotonic seconds */
};

const char *rlc_run_status_str(rlc_run_status s) {
    switch (s) {
    case RLC_RUN_RUNNING:
        return "running";
    case RLC_RUN_FINISHED:
        return "finished";
    case RLC_RUN_CRASHED:
        return "crashed";
    case RLC_RUN_STOPPED:
        return "stopped";
    }
    return "unknown";
}

static double mono_now(void) {
    return rlc_clock_seconds(CLOCK_MONOTONIC);
}

static double wall_now(void) {
    return rlc_clock_seconds(CLOCK_REALTIME);
}

/* dst = a + "/" + b, or b when a is "". 0 on success, -1 when it does not fit. */
static int rel_join(char *dst, size_t cap, const char *a, const char *b) {
    int n = a[0] ? snprintf(dst, cap, "%s/%s", a, b) : snprintf(dst, cap, "%s", b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* stat of root/rel through the containment check; 0 when it exists inside the tree. */
static int safe_stat(const char *root, const char *rel, struct stat *sb) {
    int fd;
    rlc_status st = rlc_safe_open(root, rel, &fd, sb);
    if (st) {
        rlc_clear_error();
        return -1;
    }
    close(fd);
    return 0;
}

/* ---- discovery ------------------------------------------------------------ */

typedef struct found {
    char rel[RLC_RUN_ID_CAP];
    dev_t dev;
    ino_t ino;
} found;

typedef struct scan_state {
    const char *root;
    found *v;
    int n, cap;
    int dirs_left;
} scan_state;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_found(scan_state *s, const char *rel, const struct stat *sb) {
    for (int i = 0; i < s->n; i++) /* the same folder reached through a symlink */
        if (s->v[i].dev == sb->st_dev && s->v[i].ino == sb->st_ino) return;
    if (s->n == RLC_RUNS_MAX) return;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        found *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return;
        s->v = v, s->cap = cap;
    }
    found *f = &s->v[s->n++];
    snprintf(f->rel, sizeof f->rel, "%s", rel);
    f->dev = sb->st_dev, f->ino = sb->st_ino;
}

/* A folder holding metrics.jsonl is a run (and is not searched further);
 * any other folder is searched to RLC_RUNS_MAX_DEPTH. Hidden folders, and
 * anything resolving outside the root, are skipped. */
static void scan_dir(scan_state *s, const char *rel, int depth) {
    if (s->dirs_left-- <= 0) return;
    int fd;
    struct stat sb, msb;
    if (rlc_safe_open(s->root, rel, &fd, &sb)) {
        rlc_clear_error();
        return;
    }
    char sub[RLC_RUN_ID_CAP];
    if (!S_ISDIR(sb.st_mode) || rel_join(sub, sizeof sub, rel, "metrics.jsonl")) {
        close(fd);
        return;
    }
    if (safe_stat(s->root, sub, &msb) == 0 && S_ISREG(msb.st_mode)) {
        add_found(s, rel, &sb);
        close(fd);
        return;
    }
    DIR *d = depth < RLC_RUNS_MAX_DEPTH ? fdopendir(fd) : NULL;
    if (!d) {
        close(fd);
        return;
    }
    /* Names are collected first so no folder stays open during the descent. */
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        if (e->d_name[0] == '.') continue;
        if (e->d_type != DT_DIR && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        if (rel_join(sub, sizeof sub, rel, names[i]) == 0) scan_dir(s, sub, depth + 1);
        free(names[i]);
    }
    free(names);
}

void rlc_metrics_snap_release(rlc_metrics_snap *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last) return;
    rlc_metrics_free(s->m);
    free(s->memo);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const rlc_metrics *rlc_metrics_snap_get(const rlc_metrics_snap *s) {
    return s->m;
}

char *rlc_metrics_snap_memo(rlc_metrics_snap *s, size_t *len) {
    char *copy = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->memo && (copy = malloc(s->memo_len + 1))) {
        memcpy(copy, s->memo, s->memo_len + 1);
        *len = s->memo_len;
    }
    pthread_mutex_unlock(&s->lock);
    return copy;
}

void rlc_metrics_snap_set_memo(rlc_metrics_snap *s, const char *body, size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) return;
    memcpy(copy, body, len);
    copy[len] = 0;
    pthread_mutex_lock(&s->lock);
    free(s->memo);
    s->memo = copy;
    s->memo_len = len;
    pthread_mutex_unlock(&s->lock);
}

static void gen_index_release(gen_index *gi) {
    if (gi && --gi->refs == 0) {
        for (int i = 0; i < gi->n_retired; i++)
            free(gi->retired[i]);
        free(gi->retired);
        free(gi->g);
        free(gi);
    }
}

/* Caller holds sl->lock (and sl->g_lock, or knows no indexer runs). */
static void slot_clear_caches(slot *sl) {
    rlc_metrics_snap_release(sl->snap);
    sl->snap = NULL;
    gen_index_release(sl->gi);
    sl->gi = NULL;
}

/* Both slot locks if free right now; 0 when either is busy. */
static int slot_trylock(slot *sl) {
    if (pthread_mutex_trylock(&sl->g_lock)) return 0;
    if (pthread_mutex_trylock(&sl->lock)) {
        pthread_mutex_unlock(&sl->g_lock);
        return 0;
    }
    return 1;
}

static void slot_unlock(slot *sl) {
    pthread_mutex_unlock(&sl->lock);
    pthread_mutex_unlock(&sl->g_lock);
}

/* Swaps a folder walk's result into the slot table; caller holds r->lock.
 * Slots of runs that went away keep their place (marked absent) and are
 * reused for new runs; their caches are dropped when nobody is using them
 * (never waited for: a busy slot is left for the next rescan). */
static void apply_scan(rlc_runs *r, const scan_state *s) {
    for (int i = 0; i < r->n_slots; i++)
        r->slots[i]->present = 0;
    for (int k = 0; k < s->n; k++) {
        slot *sl = NULL;
        for (int i = 0; i < r->n_slots && !sl; i++)
            if (!strcmp(r->slots[i]->rel, s->v[k].rel) && r->slots[i]->id[0]) sl = r->slots[i];
        if (sl) {
            sl->present = 1;
            continue;
        }
        for (int i = 0; i < r->n_slots && !sl; i++) {
            slot *c = r->slots[i];
            if (c->present) continue;
            int taken = 0; /* found in this scan under its own name */
            for (int j = 0; j < s->n && !taken; j++)
                taken = !strcmp(c->rel, s->v[j].rel) && c->id[0];
            if (!taken && !c->present && slot_trylock(c)) sl = c;
        }
        if (!sl && r->n_slots < RLC_RUNS_MAX && (sl = calloc(1, sizeof *sl))) {
            pthread_mutex_init(&sl->lock, NULL);
            pthread_mutex_init(&sl->g_lock, NULL);
            pthread_mutex_lock(&sl->g_lock);
            pthread_mutex_lock(&sl->lock);
            r->slots[r->n_slots++] = sl;
        }
        if (!sl) continue;
        slot_clear_caches(sl);
        snprintf(sl->rel, sizeof sl->rel, "%s", s->v[k].rel);
        snprintf(sl->id, sizeof sl->id, "%s", s->v[k].rel[0] ? s->v[k].rel : r->root_name);
        sl->present = 1;
        slot_unlock(sl);
    }
    for (int i = 0; i < r->n_slots; i++) {
        slot *sl = r->slots[i];
        if (sl->present || !slot_trylock(sl)) continue;
        slot_clear_caches(sl);
        slot_unlock(sl);
    }
}

/* Rescans when the last scan is stale; caller holds r->lock, which is
 * dropped during the folder walk. One thread walks at a time; the others go
 * on with the current table, except before the first scan, when they wait. */
static void refresh_if_stale(rlc_runs *r) {
    for (;;) {
        if (r->scanning) {
            if (r->scanned_at >= 0) return;
            pthread_cond_wait(&r->scanned, &r->lock);
            continue;
        }
        if (r->scanned_at >= 0 && mono_now() - r->scanned_at < r->rescan_s) return;
        r->scanning = 1;
        pthread_mutex_unlock(&r->lock);
        scan_state s = {r->root, NULL, 0, 0, SCAN_MAX_DIRS};
        scan_dir(&s, "", 0);
        pthread_mutex_lock(&r->lock);
        apply_scan(r, &s);
        free(s.v);
        r->scanned_at = mono_now();
        r->scanning = 0;
        pthread_cond_broadcast(&r->scanned);
        return;
    }
}

rlc_status rlc_runs_open(const char *root, double running_window_s, double rescan_s,
                         rlc_runs **out) {
    *out = NULL;
    rlc_runs *r = rlc_calloc(1, sizeof *r);
    if (!r) return RLC_ERR_NOMEM;
    if (!realpath(root, r->root)) {
        int e = errno;
        free(r);
        return rlc_errorf(e == ENOENT ? RLC_ERR_NOT_FOUND : RLC_ERR_IO, "%s: %s", root,
                          strerror(e));
    }
    struct stat sb;
    if (stat(r->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        free(r);
        return rlc_errorf(RLC_ERR_INVALID, "%s: not a directory (expected the folder of runs)",
                          root);
    }
    const char *base = strrchr(r->root, '/');
    snprintf(r->root_name, sizeof r->root_name, "%s", base && base[1] ? base + 1 : "run");
    r->window_s = running_window_s;
    r->rescan_s = rescan_s;
    r->scanned_at = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->scanned, NULL);
    *out = r;
    return RLC_OK;
}

void rlc_runs_free(rlc_runs *r) {
    if (!r) return;
    for (int i = 0; i < r->n_slots; i++) {
        slot_clear_caches(r->slots[i]);
        pthread_mutex_destroy(&r->slots[i]->lock);
        pthread_mutex_destroy(&r->slots[i]->g_lock);
        free(r->slots[i]);
    }
    pthread_cond_destroy(&r->scanned);
    pthread_mutex_destroy(&r->lock);
    free(r->reply);
    free(r);
}

char *rlc_runs_reply_get(rlc_runs *r, double max_age_s, size_t *len) {
    char *copy = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->reply && mono_now() - r->reply_at <= max_age_s && (copy = malloc(r->reply_len + 1))) {
        memcpy(copy, r->reply, r->reply_len + 1);
        *len = r->reply_len;
    }
    pthread_mutex_unlock(&r->lock);
    return copy;
}

void rlc_runs_reply_put(rlc_runs *r, const char *body, size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) return;
    memcpy(copy, body, len);
    copy[len] = 0;
    pthread_mutex_lock(&r->lock);
    free(r->reply);
    r->reply = copy;
    r->reply_len = len;
    r->reply_at = mono_now();
    pthread_mutex_unlock(&r->lock);
}

const char *rlc_runs_root(const rlc_runs *r) {
    return r->root;
}

const char *rlc_runs_root_name(const rlc_runs *r) {
    return r->root_name;
}

double rlc_runs_window(const rlc_runs *r) {
    return r->window_s;
}

static double mtime_of(const struct stat *sb) {
    return (double)sb->st_mtim.tv_sec + 1e-9 * (double)sb->st_mtim.tv_nsec;
}

/* RUN/STOPPED, written by the trainer when a signal stopped it after a
 * checkpoint: {"signal": "SIGINT", "step": N, "checkpoint": "...", "time": "..."}.
 * 1 when it is there and newer than every live file (a resumed run removes
 * it; a run that wrote after it is running again). */
static int read_stopped(const rlc_runs *r, rlc_run_info *info) {
    char p[RLC_RUN_ID_CAP + 16];
    struct stat sb;
    if (rel_join(p, sizeof p, info->rel, "STOPPED") || safe_stat(r->root, p, &sb) ||
        !S_ISREG(sb.st_mode) || mtime_of(&sb) < info->updated)
        return 0;
    char *text = NULL;
    size_t len = 0;
    if (rlc_safe_read(r->root, p, 4096, &text, &len)) {
        rlc_clear_error();
        return 1; /* there, but unreadable: still a stop, step unknown */
    }
    json_t *o = json_loadb(text, len, 0, NULL);
    json_t *sig = json_object_get(o, "signal"), *step = json_object_get(o, "step");
    json_t *ck = json_object_get(o, "checkpoint"), *t = json_object_get(o, "time");
    if (json_is_string(sig))
        snprintf(info->stop_signal, sizeof info->stop_signal, "%s", json_string_value(sig));
    if (json_is_integer(step)) info->stop_step = (int64_t)json_integer_value(step);
    if (json_is_string(ck))
        snprintf(info->stop_checkpoint, sizeof info->stop_checkpoint, "%s", json_string_value(ck));
    if (json_is_string(t))
        snprintf(info->stop_time, sizeof info->stop_time, "%s", json_string_value(t));
    json_decref(o);
    free(text);
    return 1;
}

static void fill_status(const rlc_runs *r, rlc_run_info *info) {
    static const char *const live[] = {"metrics.jsonl", "emergence/steps.jsonl",
                                       "emergence/generations.jsonl"};
    char p[RLC_RUN_ID_CAP + 64];
    struct stat sb;
    info->updated = 0;
    info->stop_step = -1;
    info->stop_signal[0] = info->stop_checkpoint[0] = info->stop_time[0] = 0;
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (rel_join(p, sizeof p, info->rel, live[i]) == 0 && safe_stat(r->root, p, &sb) == 0 &&
            mtime_of(&sb) > info->updated)
            info->updated = mtime_of(&sb);
    info->has_final = rel_join(p, sizeof p, info->rel, "final") == 0 &&
                      safe_stat(r->root, p, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (info->has_final)
        info->status = RLC_RUN_FINISHED;
    else if (read_stopped(r, info))
        info->status = RLC_RUN_STOPPED;
    else if (wall_now() - info->updated <= r->window_s)
        info->status = RLC_RUN_RUNNING;
    else
        info->status = RLC_RUN_CRASHED;
}

rlc_status rlc_runs_list(rlc_runs *r, rlc_run_info **out, int *n) {
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&r->lock);
    refresh_if_stale(r);
    rlc_run_info *v = rlc_calloc((size_t)r->n_slots + 1, sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&r->lock);
        return RLC_ERR_NOMEM;
    }
    int k = 0;
    for (int i = 0; i < r->n_slots; i++) {
        if (!r->slots[i]->present) continue;
        memcpy(v[k].id, r->slots[i]->id, sizeof v[k].id);
        memcpy(v[k].rel, r->slots[i]->rel, sizeof v[k].rel);
        k++;
    }
    pthread_mutex_unlock(&r->lock);
    for (int i = 0; i < k; i++)
        fill_status(r, &v[i]);
    for (int i = 1; i < k; i++) /* insertion sort by id: lists are short */
        for (int j = i; j > 0 && strcmp(v[j - 1].id, v[j].id) > 0; j--) {
            rlc_run_info t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    *out = v;
    *n = k;
    return RLC_OK;
}

/* The present slot named id; rescans once when it is not known yet and the
 * last scan is stale. NULL with a NOT_FOUND message when there is none. */
static slot *find_slot(rlc_runs *r, const char *id) {
    pthread_mutex_lock(&r->lock);
    refresh_if_stale(r);
    slot *sl = NULL;
    for (int i = 0; i < r->n_slots && !sl; i++)
        if (r->slots[i]->present && !strcmp(r->slots[i]->id, id)) sl = r->slots[i];
    pthread_mutex_unlock(&r->lock);
    if (!sl) rlc_errorf(RLC_ERR_NOT_FOUND, "no run '%s' under the served folder", id);
    return sl;
}

/* Locks sl, checking it still holds run id (a rescan may have given the slot
 * to another run since find_slot). NOT_FOUND, unlocked, when it does not. */
static rlc_status lock_slot(slot *sl, const char *id) {
    pthread_mutex_lock(&sl->lock);
    if (!strcmp(sl->id, id)) return RLC_OK;
    pthread_mutex_unlock(&sl->lock);
    return rlc_errorf(RLC_ERR_NOT_FOUND, "run '%s' went away", id);
}

rlc_status rlc_runs_find(rlc_runs *r, const char *id, rlc_run_info *out) {
    slot *sl = find_slot(r, id);
    if (!sl) return RLC_ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->lock);
    memcpy(out->id, sl->id, sizeof out->id);
    memcpy(out->rel, sl->rel, sizeof out->rel);
    pthread_mutex_unlock(&r->lock);
    fill_status(r, out);
    return RLC_OK;
}

/* ---- metrics cache -------------------------------------------------------- */

static int same_file(const file_id *a, const struct stat *sb) {
    return a->dev == sb->st_dev && a->ino == sb->st_ino && a->size == sb->st_size &&
           a->mtim.tv_sec == sb->st_mtim.tv_sec && a->mtim.tv_nsec == sb->st_mtim.tv_nsec;
}

static rlc_status read_fd(int fd, size_t size, char **out) {
    char *buf = rlc_malloc(size + 1);
    if (!buf) return RLC_ERR_NOMEM;
    size_t n = 0;
    while (n < size) {
        ssize_t k = pread(fd, buf + n, size - n, (off_t)n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            free(buf);
            return rlc_errorf(RLC_ERR_IO, "read failed: %s", strerror(errno));
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    buf[n] = 0;
    *out = buf;
    return RLC_OK;
}

/* Brings sl's metrics up to date with the file; caller holds sl->lock. */
static rlc_status load_metrics(const rlc_runs *r, slot *sl) {
    char rel[RLC_RUN_ID_CAP + 16];
    if (rel_join(rel, sizeof rel, sl->rel, "metrics.jsonl"))
        return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", sl->rel);
    int fd;
    struct stat sb;
    RLC_TRY(rlc_safe_open(r->root, rel, &fd, &sb));
    if (sl->snap && same_file(&sl->m_id, &sb)) {
        close(fd);
        return RLC_OK;
    }
    if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > METRICS_MAX_BYTES) {
        close(fd);
        return rlc_errorf(RLC_ERR_FORMAT, "%s: not a regular file of at most %zu bytes", rel,
                          METRICS_MAX_BYTES);
    }
    char *text = NULL;
    rlc_status st = read_fd(fd, (size_t)sb.st_size, &text);
    close(fd);
    if (st) return st;
    rlc_metrics *m = NULL;
    st = rlc_metrics_parse(rel, text, &m);
    free(text);
    if (st == RLC_ERR_FORMAT) { /* no complete line yet: an empty run, not an error */
        rlc_clear_error();
        st = RLC_OK;
    }
    if (st) return st;
    rlc_metrics_snap *snap = calloc(1, sizeof *snap);
    if (!snap) {
        rlc_metrics_free(m);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&snap->lock, NULL);
    snap->refs = 1;
    snap->m = m;
    rlc_metrics_snap_release(sl->snap); /* freed once its last reader is done */
    sl->snap = snap;
    sl->m_id = (file_id){sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim};
    return RLC_OK;
}

rlc_status rlc_runs_metrics_acquire(rlc_runs *r, const char *id, rlc_metrics_snap **out) {
    *out = NULL;
    slot *sl = find_slot(r, id);
    if (!sl) return RLC_ERR_NOT_FOUND;
    RLC_TRY(lock_slot(sl, id));
    rlc_status st = load_metrics(r, sl);
    if (st == RLC_OK) {
        pthread_mutex_lock(&sl->snap->lock);
        sl->snap->refs++;
        pthread_mutex_unlock(&sl->snap->lock);
        *out = sl->snap;
    }
    pthread_mutex_unlock(&sl->lock);
    return st;
}

rlc_status rlc_runs_with_metrics(rlc_runs *r, const char *id, rlc_runs_metrics_fn fn, void *ctx) {
    rlc_metrics_snap *snap;
    RLC_TRY(rlc_runs_metrics_acquire(r, id, &snap));
    rlc_status st = fn(snap->m, ctx);
    rlc_metrics_snap_release(snap);
    return st;
}

/* ---- generations index ---------------------------------------------------- */

static void stats_add(rlc_gen_stats *st, const rlc_gen_ref *g, int first) {
    if (!first && !(g->step >= st->last_step)) st->sorted = 0;
    if (isfinite(g->step)) {
        st->step_min = fmin(st->step_min, g->step), st->step_max = fmax(st->step_max, g->step);
        st->last_step = g->step;
    } else {
        st->sorted = 0;
    }
    if (isfinite(g->reward))
        st->reward_min = fmin(st->reward_min, g->reward),
        st->reward_max = fmax(st->reward_max, g->reward);
}

static gen_index *gen_index_new(dev_t dev, ino_t ino) {
    gen_index *gi = calloc(1, sizeof *gi);
    if (!gi) return NULL;
    gi->refs = 1;
    gi->dev = dev, gi->ino = ino;
    gi->stats = (rlc_gen_stats){INFINITY, -INFINITY, INFINITY, -INFINITY, -INFINITY, 1};
    return gi;
}

/* What an extension has built so far, published under sl->lock at the end. */
typedef struct gen_build {
    slot *sl;
    gen_index *gi;
    int n;
    rlc_gen_stats stats;
} gen_build;

/* Appends one line's entry past the published length. When the array is
 * full, a larger copy replaces it; the old one is kept for readers that
 * still scan it (freed once none can). */
static rlc_status gen_add(gen_build *b, int64_t off, const char *line, size_t len) {
    gen_index *gi = b->gi;
    if (b->n >= GEN_MAX_LINES) return RLC_OK;
    json_error_t e;
    json_t *o = json_loadb(line, len, 0, &e);
    if (!json_is_object(o)) {
        json_decref(o);
        return RLC_OK;
    }
    json_t *js = json_object_get(o, "step"), *jr = json_object_get(o, "reward");
    rlc_gen_ref g = {off, (int64_t)len, json_is_number(js) ? json_number_value(js) : NAN,
                     json_is_number(jr) ? json_number_value(jr) : NAN};
    json_decref(o);
    if (b->n == gi->cap) {
        int cap = gi->cap ? 2 * gi->cap : 256;
        rlc_gen_ref *v = malloc((size_t)cap * sizeof *v);
        void **ret = realloc(gi->retired, (size_t)(gi->n_retired + 1) * sizeof *ret);
        if (!v || !ret) {
            free(v);
            if (ret) gi->retired = ret;
            return rlc_errorf(RLC_ERR_NOMEM, "out of memory indexing generations");
        }
        if (b->n) memcpy(v, gi->g, (size_t)b->n * sizeof *v);
        pthread_mutex_lock(&b->sl->lock);
        gi->retired = ret;
        if (gi->g) gi->retired[gi->n_retired++] = gi->g;
        gi->g = v, gi->cap = cap;
        pthread_mutex_unlock(&b->sl->lock);
    }
    stats_add(&b->stats, &g, b->n == 0);
    gi->g[b->n++] = g;
    return RLC_OK;
}

/* Indexes the complete lines of fd between gi->indexed and size; a last line
 * without its newline is left for the next call (the writer is still at it).
 * Caller holds sl->g_lock; the new entries are published at the end. */
static rlc_status gen_extend(slot *sl, gen_index *gi, int fd, off_t size) {
    enum { CHUNK = 1 << 16 };
    char *chunk = rlc_malloc(CHUNK), *line = NULL;
    if (!chunk) return RLC_ERR_NOMEM;
    gen_build b = {sl, gi, gi->n, gi->stats};
    size_t line_len = 0, line_cap = 0;
    int too_long = 0;
    off_t pos = gi->indexed, line_start = pos;
    rlc_status st = RLC_OK;
    while (pos < size && st == RLC_OK) {
        size_t want = (size_t)(size - pos) < CHUNK ? (size_t)(size - pos) : CHUNK;
        ssize_t k = pread(fd, chunk, want, pos);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        for (size_t a = 0; a < (size_t)k && st == RLC_OK;) {
            char *nl = memchr(chunk + a, '\n', (size_t)k - a);
            size_t seg = nl ? (size_t)(nl - (chunk + a)) : (size_t)k - a;
            if (!too_long && line_len + seg > GEN_LINE_MAX) too_long = 1;
            if (!too_long && seg) {
                if (line_len + seg > line_cap) {
                    size_t cap = line_cap ? line_cap : 4096;
                    while (cap < line_len + seg)
                        cap *= 2;
                    char *nb = realloc(line, cap);
                    if (!nb) {
                        st = rlc_errorf(RLC_ERR_NOMEM, "out of memory indexing generations");
                        break;
                    }
                    line = nb, line_cap = cap;
                }
                memcpy(line + line_len, chunk + a, seg);
                line_len += seg;
            }
            if (!nl) break;
            if (!too_long && line_len) st = gen_add(&b, line_start, line, line_len);
            a += seg + 1;
            line_start = pos + (off_t)a;
            line_len = 0, too_long = 0;
        }
        pos += k;
    }
    pthread_mutex_lock(&sl->lock);
    if (st == RLC_OK) {
        gi->n = b.n;
        gi->stats = b.stats;
        gi->indexed = line_start;
    }
    pthread_mutex_unlock(&sl->lock);
    free(line);
    free(chunk);
    return st;
}

rlc_status rlc_runs_with_generations(rlc_runs *r, const char *id, rlc_runs_gen_fn fn, void *ctx) {
    slot *sl = find_slot(r, id);
    if (!sl) return RLC_ERR_NOT_FOUND;
    pthread_mutex_lock(&sl->g_lock);
    rlc_status st = lock_slot(sl, id);
    if (st) {
        pthread_mutex_unlock(&sl->g_lock);
        return st;
    }
    char rel[RLC_RUN_ID_CAP + 32];
    int ok = rel_join(rel, sizeof rel, sl->rel, "emergence/generations.jsonl") == 0;
    pthread_mutex_unlock(&sl->lock);
    int fd = -1;
    struct stat sb;
    st = ok ? rlc_safe_open(r->root, rel, &fd, &sb)
            : rlc_errorf(RLC_ERR_INVALID, "%s: path too long", sl->rel);
    if (st == RLC_OK && !S_ISREG(sb.st_mode)) {
        close(fd);
        fd = -1;
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: not a regular file", rel);
    }
    /* Only g_lock is held while lines are indexed: the run list, the metrics
     * and readers of this index never wait for it. */
    if (st == RLC_OK) {
        gen_index *gi = sl->gi; /* only an indexer (we hold g_lock) or a rescan changes it */
        if (!gi || gi->dev != sb.st_dev || gi->ino != sb.st_ino || sb.st_size < gi->indexed) {
            gen_index *fresh = gen_index_new(sb.st_dev, sb.st_ino); /* replaced or cut back */
            if (!fresh) st = rlc_errorf(RLC_ERR_NOMEM, "out of memory indexing generations");
            pthread_mutex_lock(&sl->lock);
            if (fresh) gen_index_release(sl->gi), sl->gi = fresh;
            pthread_mutex_unlock(&sl->lock);
            gi = fresh;
        }
        if (st == RLC_OK && sb.st_size > gi->indexed) st = gen_extend(sl, gi, fd, sb.st_size);
    }
    /* what this request reads: the published entries, under a reference */
    gen_index *use = NULL;
    const rlc_gen_ref *g = NULL;
    int n = 0;
    rlc_gen_stats stats = {0};
    pthread_mutex_lock(&sl->lock);
    if (st == RLC_OK && (use = sl->gi)) {
        use->refs++;
        g = use->g, n = use->n, stats = use->stats;
    }
    pthread_mutex_unlock(&sl->lock);
    pthread_mutex_unlock(&sl->g_lock);
    if (st == RLC_ERR_NOT_FOUND) { /* no generations file (yet) */
        rlc_clear_error();
        st = fn(NULL, 0, -1, NULL, ctx);
    } else if (st == RLC_OK) {
        st = fn(n ? g : NULL, n, fd, &stats, ctx);
    }
    if (fd >= 0) close(fd);
    pthread_mutex_lock(&sl->lock);
    if (use && use->refs == 2) { /* only the slot and we: no reader scans old arrays */
        for (int i = 0; i < use->n_retired; i++)
            free(use->retired[i]);
        use->n_retired = 0;
    }
    gen_index_release(use);
    pthread_mutex_unlock(&sl->lock);
    return st;
}
