/* Checkpoint transactions, manifests, verification and pruning. Folder names
 * under RUN_DIR/checkpoints:
 *   checkpoint-<step>       committed (intact unless its files were damaged since)
 *   .checkpoint-<step>.tmp  a save in progress, or one a crash interrupted
 *   .checkpoint-<step>.old  a replaced or pruned checkpoint being removed
 * Only the first kind is ever resumed from; a dot-folder is invisible to it. */
#include "train/checkpoint.h"

#include "base/crc32c.h"
#include "base/fs.h"
#include "base/killpoint.h"
#include "base/numfmt.h"
#include "model/safetensors.h"
#include "train/final.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096

struct rlc_ckpt_tx {
    int64_t step;
    char root[PATH_CAP];  /* RUN_DIR/checkpoints */
    char tmp[PATH_CAP];   /* root/.checkpoint-<step>.tmp */
    char final[PATH_CAP]; /* root/checkpoint-<step> */
};

static rlc_status fmt_path(char *dst, size_t cap, const char *fmt, const char *a, int64_t step) {
    int n = snprintf(dst, cap, fmt, a, step);
    if (n < 0 || (size_t)n >= cap) return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", a);
    return RLC_OK;
}

/* Parses "<prefix><digits><suffix>" exactly; returns the step or -1. */
static int64_t parse_name(const char *name, const char *prefix, const char *suffix) {
    size_t np = strlen(prefix), ns = strlen(suffix), n = strlen(name);
    if (n <= np + ns || strncmp(name, prefix, np) || strcmp(name + n - ns, suffix)) return -1;
    int64_t v = 0;
    for (size_t i = np; i < n - ns; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

rlc_status rlc_ckpt_begin(const char *run_dir, int64_t step, rlc_ckpt_tx **out) {
    *out = NULL;
    if (step < 0) return rlc_errorf(RLC_ERR_INVALID, "checkpoint step %" PRId64 " < 0", step);
    rlc_ckpt_tx *tx = rlc_calloc(1, sizeof *tx);
    if (!tx) return RLC_ERR_NOMEM;
    tx->step = step;
    rlc_status st = rlc_path_join(tx->root, sizeof tx->root, run_dir, "checkpoints");
    if (!st)
        st = fmt_path(tx->tmp, sizeof tx->tmp, "%s/.checkpoint-%" PRId64 ".tmp", tx->root, step);
    if (!st) st = fmt_path(tx->final, sizeof tx->final, "%s/checkpoint-%" PRId64, tx->root, step);
    if (!st) st = rlc_mkdir_p(tx->root);
    if (!st) st = rlc_rm_rf(tx->tmp); /* a save of this step that a crash interrupted */
    if (!st && mkdir(tx->tmp, 0755) != 0)
        st = rlc_errorf(RLC_ERR_IO, "%s: cannot create directory: %s", tx->tmp, strerror(errno));
    if (st) {
        free(tx);
        return st;
    }
    *out = tx;
    return RLC_OK;
}

const char *rlc_ckpt_dir(const rlc_ckpt_tx *tx) {
    return tx->tmp;
}

int64_t rlc_ckpt_step(const rlc_ckpt_tx *tx) {
    return tx->step;
}

void rlc_ckpt_abort(rlc_ckpt_tx *tx) {
    if (!tx) return;
    rlc_rm_rf(tx->tmp);
    free(tx);
}

/* ---- optimizer state ---------------------------------------------------- */

static rlc_status meta_f(rlc_st_writer *w, const char *key, double v) {
    char buf[64];
    rlc_format_float(buf, sizeof buf, v);
    return rlc_st_writer_meta(w, key, buf);
}

rlc_status rlc_ckpt_write_optimizer(rlc_ckpt_tx *tx, const rlc_adamw *opt) {
    char path[PATH_CAP], buf[32];
    RLC_TRY(rlc_path_join(path, sizeof path, tx->tmp, RLC_CKPT_OPTIMIZER));
    if (opt->n > 0 && (!opt->m || !opt->v))
        return rlc_errorf(RLC_ERR_INVALID, "%s: optimizer has no state buffers", path);
    rlc_st_writer *w = rlc_st_writer_new();
    if (!w) return RLC_ERR_NOMEM;
    int64_t shape[1] = {(int64_t)opt->n};
    static const float none[1];
    snprintf(buf, sizeof buf, "%d", opt->t);
    rlc_status st = rlc_st_writer_meta(w, "optimizer", "adamw");
    if (!st) st = rlc_st_writer_meta(w, "step", buf);
    if (!st) st = meta_f(w, "lr", opt->p.lr);
    if (!st) st = meta_f(w, "beta1", opt->p.beta1);
    if (!st) st = meta_f(w, "beta2", opt->p.beta2);
    if (!st) st = meta_f(w, "eps", opt->p.eps);
    if (!st) st = meta_f(w, "weight_decay", opt->p.weight_decay);
    if (!st) st = meta_f(w, "max_grad_norm", opt->p.max_grad_norm);
    if (!st)
        st = rlc_st_writer_add_f32(w, "exp_avg", RLC_DTYPE_F32, 1, shape, opt->n ? opt->m : none);
    if (!st)
        st =
            rlc_st_writer_add_f32(w, "exp_avg_sq", RLC_DTYPE_F32, 1, shape, opt->n ? opt->v : none);
    if (!st) st = rlc_st_writer_write(w, path);
    rlc_st_writer_free(w);
    return st;
}

static float meta_float(const rlc_st_file *f, const char *key, float dflt) {
    const char *s = rlc_st_metadata(f, key);
    if (!s) return dflt;
    char *end;
    float v = strtof(s, &end);
    return *s && !*end ? v : dflt;
}

rlc_status rlc_ckpt_read_optimizer(const char *dir, rlc_adamw *opt) {
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, RLC_CKPT_OPTIMIZER));
    rlc_st_file *f;
    RLC_TRY(rlc_st_open(path, &f));
    rlc_status st = RLC_OK;
    const rlc_st_tensor *m = rlc_st_find(f, "exp_avg"), *v = rlc_st_find(f, "exp_avg_sq");
    const char *step_s = rlc_st_metadata(f, "step");
    char *end = NULL;
    long t = step_s ? strtol(step_s, &end, 10) : -1;
    if (!m || !v || m->ndim != 1 || v->ndim != 1 || m->numel != v->numel)
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: expected 1-D tensors exp_avg and exp_avg_sq of equal length", path);
    else if (!step_s || !*step_s || *end || t < 0 || t > 2147483647L)
        st =
            rlc_errorf(RLC_ERR_FORMAT, "%s: __metadata__ \"step\": expected an integer >= 0", path);
    else if (opt->m && opt->n != m->numel)
        st = rlc_errorf(RLC_ERR_INVALID,
                        "%s: exp_avg has %zu values, the optimizer %zu (a different model or "
                        "LoRA config than the checkpoint's?)",
                        path, m->numel, opt->n);
    if (!st && !opt->m) {
        rlc_adamw_params p = rlc_adamw_default_params();
        p.lr = meta_float(f, "lr", p.lr);
        p.beta1 = meta_float(f, "beta1", p.beta1);
        p.beta2 = meta_float(f, "beta2", p.beta2);
        p.eps = meta_float(f, "eps", p.eps);
        p.weight_decay = meta_float(f, "weight_decay", p.weight_decay);
        p.max_grad_norm = meta_float(f, "max_grad_norm", p.max_grad_norm);
        st = rlc_adamw_init(opt, m->numel, p);
    }
    if (!st && opt->n) {
        int64_t shape[1] = {(int64_t)opt->n};
        st = rlc_st_read_f32(f, "exp_avg", 1, shape, opt->m);
        if (!st) st = rlc_st_read_f32(f, "exp_avg_sq", 1, shape, opt->v);
    }
    if (!st) opt->t = (int)t;
    rlc_st_close(f);
    return st;
}

rlc_status rlc_ckpt_write_state(rlc_ckpt_tx *tx, const char *json_text) {
    char path[PATH_CAP];
    RLC_TRY(rlc_path_join(path, sizeof path, tx->tmp, RLC_CKPT_STATE));
    json_error_t e;
    json_t *j = json_loads(json_text, 0, &e);
    if (!j) return rlc_errorf(RLC_ERR_INVALID, "%s: not JSON (line %d: %s)", path, e.line, e.text);
    int obj = json_is_object(j);
    json_decref(j);
    if (!obj) return rlc_errorf(RLC_ERR_INVALID, "%s: expected a JSON object", path);
    return rlc_write_file_atomic(path, json_text, strlen(json_text));
}

static rlc_status prune_root(const char *root, const rlc_ckpt_keep *keep, int64_t protect);
static rlc_status remove_old(const char *root);

/* ---- checksums and the manifest ----------------------------------------- */

/* Size and CRC-32C of a file; with do_fsync, also fsyncs it (same pass). */
static rlc_status checksum_file(const char *path, int do_fsync, uint64_t *bytes, uint32_t *crc) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rlc_status st = errno == ENOENT ? RLC_ERR_NOT_FOUND : RLC_ERR_IO;
        return rlc_errorf(st, "%s: cannot open: %s", path, strerror(errno));
    }
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = rlc_malloc(CHUNK);
    if (!buf) {
        close(fd);
        return RLC_ERR_NOMEM;
    }
    rlc_status st = RLC_OK;
    uint64_t n = 0;
    uint32_t c = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = rlc_errorf(RLC_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        c = rlc_crc32c(c, buf, (size_t)r);
        n += (uint64_t)r;
    }
    free(buf);
    if (!st && do_fsync && fsync(fd) != 0)
        st = rlc_errorf(RLC_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    *bytes = n;
    *crc = c;
    return st;
}

/* Builds the manifest of every file in dir, fsyncing each. */
static rlc_status build_manifest(const char *dir, int64_t step, json_t **out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return rlc_errorf(RLC_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    json_t *files = json_object();
    rlc_status st = RLC_OK;
    struct dirent *e;
    char path[PATH_CAP];
    while (!st && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            !strcmp(e->d_name, RLC_CKPT_MANIFEST))
            continue;
        st = rlc_path_join(path, sizeof path, dir, e->d_name);
        if (st) break;
        struct stat sb;
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            st = rlc_errorf(RLC_ERR_INVALID, "%s: a checkpoint holds plain files only", path);
            break;
        }
        uint64_t bytes;
        uint32_t crc;
        st = checksum_file(path, 1, &bytes, &crc);
        if (st) break;
        char hex[16];
        snprintf(hex, sizeof hex, "%08" PRIx32, crc);
        json_t *f = json_object();
        json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
        json_object_set_new(f, "crc32c", json_string(hex));
        json_object_set_new(files, e->d_name, f);
    }
    closedir(d);
    if (!st && !json_object_get(files, RLC_CKPT_STATE))
        st = rlc_errorf(RLC_ERR_INVALID, "%s: no %s written (rlc_ckpt_write_state)", dir,
                        RLC_CKPT_STATE);
    if (st) {
        json_decref(files);
        return st;
    }
    json_t *root = json_object();
    json_object_set_new(root, "format", json_integer(1));
    json_object_set_new(root, "step", json_integer(step));
    json_object_set_new(root, "checksum", json_string("crc32c"));
    json_object_set_new(root, "files", files);
    *out = root;
    return RLC_OK;
}

/* Moves src onto dst (a directory that may exist): an atomic swap where the
 * file system has one, else dst is first renamed aside to `aside`. Whatever dst
 * held ends up at src (swap) or aside; the caller removes both. */
static rlc_status publish(const char *src, const char *dst, const char *aside) {
    if (rename(src, dst) == 0) return RLC_OK;
    if (errno != EEXIST && errno != ENOTEMPTY && errno != EISDIR)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot rename to %s: %s", src, dst, strerror(errno));
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_EXCHANGE) == 0) return RLC_OK;
    RLC_TRY(rlc_rm_rf(aside));
    if (rename(dst, aside) != 0 || rename(src, dst) != 0)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot replace %s: %s", src, dst, strerror(errno));
    return RLC_OK;
}

rlc_status rlc_ckpt_commit(rlc_ckpt_tx *tx, const rlc_ckpt_keep *keep) {
    char path[PATH_CAP], aside[PATH_CAP];
    json_t *man = NULL;
    rlc_status st = build_manifest(tx->tmp, tx->step, &man);
    char *text = NULL;
    if (!st) {
        text = json_dumps(man, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(man);
        if (!text) st = rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", RLC_CKPT_MANIFEST);
    }
    if (!st) st = rlc_path_join(path, sizeof path, tx->tmp, RLC_CKPT_MANIFEST);
    if (!st) st = rlc_write_file_atomic(path, text, strlen(text)); /* fsyncs tmp/ too */
    free(text);
    if (!st)
        st = fmt_path(aside, sizeof aside, "%s/.checkpoint-%" PRId64 ".old", tx->root, tx->step);
    if (!st) st = publish(tx->tmp, tx->final, aside);
    if (!st) st = rlc_fsync_dir(tx->root);
    if (st) {
        rlc_ckpt_abort(tx);
        return st;
    }
    rlc_kill_point("ckpt-published", tx->final);
    /* After a swap tmp holds the replaced checkpoint: remove it and any aside. */
    st = rlc_rm_rf(tx->tmp);
    if (!st) st = remove_old(tx->root);
    if (!st && keep) st = prune_root(tx->root, keep, tx->step);
    free(tx);
    return st;
}

/* ---- listing, pruning, verification ------------------------------------- */

typedef struct entry {
    int64_t step;
    int temporary;
    char name[64];
} entry;

static int entry_cmp_desc(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? 1 : -1;
    return y->temporary - x->temporary; /* the unfinished one first */
}

/* Checkpoint folders of root, newest step first; missing root gives none. */
static rlc_status scan(const char *root, int with_tmp, entry **out, int *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(root);
    if (!d) {
        if (errno == ENOENT) return RLC_OK;
        return rlc_errorf(RLC_ERR_IO, "%s: cannot open directory: %s", root, strerror(errno));
    }
    entry *v = NULL;
    int cnt = 0, cap = 0;
    rlc_status st = RLC_OK;
    struct dirent *e;
    char path[PATH_CAP];
    while ((e = readdir(d))) {
        int64_t step = parse_name(e->d_name, "checkpoint-", "");
        int temporary = 0;
        if (step < 0 && with_tmp)
            step = parse_name(e->d_name, ".checkpoint-", ".tmp"), temporary = 1;
        if (step < 0 || strlen(e->d_name) >= sizeof v->name) continue;
        if (rlc_path_join(path, sizeof path, root, e->d_name) || !is_dir(path)) continue;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            entry *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                st = rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory listing", root);
                break;
            }
            v = nv;
        }
        v[cnt].step = step;
        v[cnt].temporary = temporary;
        memcpy(v[cnt].name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
        cnt++;
    }
    closedir(d);
    if (st) {
        free(v);
        return st;
    }
    if (cnt) qsort(v, (size_t)cnt, sizeof *v, entry_cmp_desc);
    *out = v;
    *n = cnt;
    return RLC_OK;
}

/* Removes leftover .checkpoint-*.old folders (an interrupted replace or prune). */
static rlc_status remove_old(const char *root) {
    DIR *d = opendir(root);
    if (!d) return RLC_OK;
    rlc_status st = RLC_OK;
    struct dirent *e;
    char path[PATH_CAP];
    while (!st && (e = readdir(d)))
        if (parse_name(e->d_name, ".checkpoint-", ".old") >= 0 &&
            !rlc_path_join(path, sizeof path, root, e->d_name))
            st = rlc_rm_rf(path);
    closedir(d);
    return st;
}

/* Prunes root (= RUN_DIR/checkpoints); see rlc_ckpt_prune. */
static rlc_status prune_root(const char *root, const rlc_ckpt_keep *keep, int64_t protect) {
    RLC_TRY(remove_old(root));
    if (keep->keep_last <= 0) return RLC_OK;
    entry *v;
    int n;
    RLC_TRY(scan(root, 0, &v, &n));
    rlc_status st = RLC_OK;
    int rank = 0; /* among checkpoints at or below protect, newest first */
    char path[PATH_CAP], old[PATH_CAP];
    for (int i = 0; i < n && !st; i++) {
        int64_t s = v[i].step;
        if (protect >= 0 && s > protect) continue; /* newer than the run: not ours to judge */
        int kept = rank++ < keep->keep_last || s == protect ||
                   (keep->keep_every > 0 && s % keep->keep_every == 0);
        if (kept) continue;
        st = rlc_path_join(path, sizeof path, root, v[i].name);
        if (!st) st = fmt_path(old, sizeof old, "%s/.checkpoint-%" PRId64 ".old", root, s);
        if (!st && rename(path, old) != 0)
            st = rlc_errorf(RLC_ERR_IO, "%s: cannot rename to %s: %s", path, old, strerror(errno));
        if (!st) rlc_kill_point("ckpt-pruning", old);
        if (!st) st = rlc_rm_rf(old);
    }
    free(v);
    if (!st) st = rlc_fsync_dir(root);
    return st;
}

rlc_status rlc_ckpt_prune(const char *run_dir, const rlc_ckpt_keep *keep, int64_t protect) {
    char root[PATH_CAP];
    RLC_TRY(rlc_path_join(root, sizeof root, run_dir, "checkpoints"));
    return prune_root(root, keep, protect);
}

rlc_status rlc_ckpt_remove_leftovers(const char *run_dir) {
    char root[PATH_CAP];
    RLC_TRY(rlc_path_join(root, sizeof root, run_dir, "checkpoints"));
    RLC_TRY(rlc_final_remove_leftovers(run_dir));
    return remove_old(root);
}

/* Verifies dir; on success *files and *bytes count the manifest's files. */
static int verify(const char *dir, char *reason, size_t cap, int *files, uint64_t *bytes) {
    char path[PATH_CAP];
    *files = 0;
    *bytes = 0;
    if (rlc_path_join(path, sizeof path, dir, RLC_CKPT_MANIFEST)) {
        snprintf(reason, cap, "path too long");
        return 0;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(reason, cap, "%s missing (save interrupted, or not written by rlc)",
                 RLC_CKPT_MANIFEST);
        return 0;
    }
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    json_t *fl = root ? json_object_get(root, "files") : NULL;
    if (!json_is_object(fl)) {
        snprintf(reason, cap, "%s unreadable (%s)", RLC_CKPT_MANIFEST,
                 root ? "no \"files\" object" : je.text);
        json_decref(root);
        return 0;
    }
    int ok = 1;
    if (!json_object_get(fl, RLC_CKPT_STATE)) {
        snprintf(reason, cap, "%s not in %s", RLC_CKPT_STATE, RLC_CKPT_MANIFEST);
        ok = 0;
    }
    const char *name;
    json_t *f;
    /* Presence and sizes first: cheap, and they name the usual damage. */
    json_object_foreach(fl, name, f) {
        if (!ok) break;
        json_t *jb = json_object_get(f, "bytes"), *jc = json_object_get(f, "crc32c");
        if (!json_is_integer(jb) || !json_is_string(jc) || strchr(name, '/') ||
            rlc_path_join(path, sizeof path, dir, name)) {
            snprintf(reason, cap, "%s: bad entry for %s", RLC_CKPT_MANIFEST, name);
            ok = 0;
        } else if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            snprintf(reason, cap, "%s missing", name);
            ok = 0;
        } else if ((json_int_t)sb.st_size != json_integer_value(jb)) {
            snprintf(reason, cap, "%s: %lld bytes, manifest says %lld (truncated or rewritten)",
                     name, (long long)sb.st_size, (long long)json_integer_value(jb));
            ok = 0;
        } else {
            ++*files;
            *bytes += (uint64_t)sb.st_size;
        }
    }
    json_object_foreach(fl, name, f) {
        if (!ok) break;
        uint64_t n;
        uint32_t crc;
        char hex[16];
        rlc_path_join(path, sizeof path, dir, name);
        if (checksum_file(path, 0, &n, &crc)) {
            snprintf(reason, cap, "%s", rlc_last_error());
            ok = 0;
            break;
        }
        snprintf(hex, sizeof hex, "%08" PRIx32, crc);
        if (strcmp(hex, json_string_value(json_object_get(f, "crc32c")))) {
            snprintf(reason, cap, "%s: checksum mismatch (crc32c %s, manifest says %s)", name, hex,
                     json_string_value(json_object_get(f, "crc32c")));
            ok = 0;
        }
    }
    json_decref(root);
    if (!ok) *files = 0, *bytes = 0;
    return ok;
}

int rlc_ckpt_verify(const char *dir, char *reason, size_t cap) {
    int files;
    uint64_t bytes;
    return verify(dir, reason, cap, &files, &bytes);
}

rlc_status rlc_ckpt_find_latest(const char *run_dir, int64_t *step, char *path, size_t cap,
                                FILE *warn) {
    char root[PATH_CAP], dir[PATH_CAP], reason[512];
    RLC_TRY(rlc_path_join(root, sizeof root, run_dir, "checkpoints"));
    entry *v;
    int n;
    RLC_TRY(scan(root, 0, &v, &n));
    rlc_status st = RLC_ERR_NOT_FOUND;
    for (int i = 0; i < n && st == RLC_ERR_NOT_FOUND; i++) {
        st = rlc_path_join(dir, sizeof dir, root, v[i].name);
        if (st) break;
        if (!rlc_ckpt_verify(dir, reason, sizeof reason)) {
            if (warn)
                fprintf(warn, "rlc: warning: %s skipped: %s; trying the one before it\n", dir,
                        reason);
            st = RLC_ERR_NOT_FOUND;
            continue;
        }
        st = rlc_path_join(path, cap, root, v[i].name);
        if (!st) *step = v[i].step;
    }
    free(v);
    if (st == RLC_ERR_NOT_FOUND) rlc_errorf(st, "%s: no intact checkpoint", root);
    return st;
}

rlc_status rlc_ckpt_list(const char *run_dir, rlc_ckpt_info **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    char root[PATH_CAP], dir[PATH_CAP];
    RLC_TRY(rlc_path_join(root, sizeof root, run_dir, "checkpoints"));
    entry *v;
    int n;
    RLC_TRY(scan(root, 1, &v, &n));
    rlc_ckpt_info *info = n ? rlc_calloc((size_t)n, sizeof *info) : NULL;
    if (n && !info) {
        free(v);
        return RLC_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        rlc_ckpt_info *c = &info[i];
        snprintf(c->name, sizeof c->name, "%s", v[i].name);
        c->step = v[i].step;
        c->temporary = v[i].temporary;
        if (c->temporary) {
            snprintf(c->reason, sizeof c->reason,
                     "unfinished save (interrupted before its rename), ignored");
            continue;
        }
        if (rlc_path_join(dir, sizeof dir, root, v[i].name))
            snprintf(c->reason, sizeof c->reason, "path too long");
        else
            c->intact = verify(dir, c->reason, sizeof c->reason, &c->files, &c->bytes);
    }
    free(v);
    *out = info;
    *n_out = n;
    return RLC_OK;
}
