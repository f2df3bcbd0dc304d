/* File-system helpers. Crash safety comes from writing a temporary file,
 * fsyncing it, renaming it over the target and fsyncing the directory, so the
 * rename itself is durable. */
#include "base/fs.h"

#include "base/killpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

rlc_status rlc_read_file(const char *path, char **data, size_t *len) {
    *data = NULL;
    if (len) *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rlc_status st = errno == ENOENT ? RLC_ERR_NOT_FOUND : RLC_ERR_IO;
        return rlc_errorf(st, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return rlc_errorf(RLC_ERR_IO, "%s: is a directory, expected a file", path);
    }
    /* st_size is only a hint (pipes, /proc report 0): grow as needed. */
    size_t cap = (sb.st_size > 0 ? (size_t)sb.st_size : 4096) + 1, n = 0;
    char *buf = rlc_malloc(cap);
    if (!buf) {
        close(fd);
        return RLC_ERR_NOMEM;
    }
    for (;;) {
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory reading file", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return rlc_errorf(RLC_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return RLC_OK;
}

static rlc_status write_all(int fd, const void *data, size_t len, const char *path) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return rlc_errorf(RLC_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        p += w;
        len -= (size_t)w;
    }
    return RLC_OK;
}

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rlc_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

rlc_status rlc_fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot open directory: %s", path, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    /* Some file systems cannot fsync directories; that is not a data loss. */
    if (r != 0 && e != EINVAL && e != ENOTSUP)
        return rlc_errorf(RLC_ERR_IO, "%s: fsync failed: %s", path, strerror(e));
    return RLC_OK;
}

/* Directory part of path ("." if none) into a malloc'd string. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return str_dup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = rlc_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

void rlc_atomic_abort(rlc_atomic_file *af) {
    if (af->fd >= 0) close(af->fd);
    af->fd = -1;
    if (af->tmp) unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
}

rlc_status rlc_atomic_open(rlc_atomic_file *af, const char *path) {
    af->fd = -1;
    af->path = str_dup(path);
    size_t n = strlen(path);
    af->tmp = rlc_malloc(n + 5);
    if (!af->path || !af->tmp) {
        rlc_atomic_abort(af);
        return RLC_ERR_NOMEM;
    }
    memcpy(af->tmp, path, n);
    memcpy(af->tmp + n, ".tmp", 5);
    af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (af->fd < 0) {
        rlc_status st = rlc_errorf(RLC_ERR_IO, "%s: cannot create: %s", af->tmp, strerror(errno));
        free(af->tmp); /* not created: nothing to unlink */
        af->tmp = NULL;
        rlc_atomic_abort(af);
        return st;
    }
    return RLC_OK;
}

rlc_status rlc_atomic_write(rlc_atomic_file *af, const void *data, size_t len) {
    if (af->fd < 0) return rlc_errorf(RLC_ERR_INTERNAL, "atomic write on a closed file");
    RLC_TRY(write_all(af->fd, data, len, af->tmp));
    rlc_kill_point("write", af->path);
    return RLC_OK;
}

rlc_status rlc_atomic_commit(rlc_atomic_file *af) {
    if (af->fd < 0) return rlc_errorf(RLC_ERR_INTERNAL, "atomic commit on a closed file");
    rlc_status st = RLC_OK;
    if (fsync(af->fd) != 0)
        st = rlc_errorf(RLC_ERR_IO, "%s: fsync failed: %s", af->tmp, strerror(errno));
    int r = close(af->fd);
    af->fd = -1;
    if (st == RLC_OK && r != 0)
        st = rlc_errorf(RLC_ERR_IO, "%s: close failed: %s", af->tmp, strerror(errno));
    if (st == RLC_OK && rename(af->tmp, af->path) != 0)
        st = rlc_errorf(RLC_ERR_IO, "%s: cannot rename to %s: %s", af->tmp, af->path,
                        strerror(errno));
    if (st != RLC_OK) {
        rlc_atomic_abort(af);
        return st;
    }
    free(af->tmp); /* renamed away: nothing left to unlink */
    af->tmp = NULL;
    char *dir = dir_of(af->path);
    st = dir ? rlc_fsync_dir(dir) : RLC_ERR_NOMEM;
    free(dir);
    rlc_atomic_abort(af);
    return st;
}

rlc_status rlc_write_file_atomic(const char *path, const void *data, size_t len) {
    rlc_atomic_file af;
    RLC_TRY(rlc_atomic_open(&af, path));
    rlc_status st = rlc_atomic_write(&af, data, len);
    if (st != RLC_OK) {
        rlc_atomic_abort(&af);
        return st;
    }
    return rlc_atomic_commit(&af);
}

rlc_status rlc_mkdir_p(const char *path) {
    size_t n = strlen(path);
    if (n == 0) return rlc_errorf(RLC_ERR_INVALID, "mkdir: empty path");
    char *p = str_dup(path);
    if (!p) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n && st == RLC_OK; i++) {
        if (i < n && p[i] != '/') continue;
        char saved = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            st = rlc_errorf(RLC_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
        else {
            struct stat sb;
            if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                st = rlc_errorf(RLC_ERR_IO, "%s: exists and is not a directory", p);
        }
        p[i] = saved;
    }
    free(p);
    return st;
}

int rlc_file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

rlc_status rlc_path_join(char *dst, size_t cap, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    const char *sep = (dl == 0 || dir[dl - 1] == '/') ? "" : "/";
    int n = snprintf(dst, cap, "%s%s%s", dir, sep, name);
    if (n < 0 || (size_t)n >= cap) {
        if (cap) dst[0] = 0;
        return rlc_errorf(RLC_ERR_INVALID, "path too long: %s%s%s", dir, sep, name);
    }
    return RLC_OK;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path) != 0 && errno != ENOENT;
}

rlc_status rlc_rm_rf(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return RLC_OK;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return RLC_OK;
}

rlc_status rlc_copy_file(const char *src, const char *dst) {
    char *data;
    size_t len;
    RLC_TRY(rlc_read_file(src, &data, &len));
    rlc_status st = rlc_write_file_atomic(dst, data, len);
    free(data);
    return st;
}

int rlc_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

rlc_status rlc_copy_if_present(const char *from_dir, const char *to_dir, const char *name) {
    char src[4096], dst[4096];
    RLC_TRY(rlc_path_join(src, sizeof src, from_dir, name));
    if (!rlc_file_exists(src)) return RLC_OK;
    RLC_TRY(rlc_path_join(dst, sizeof dst, to_dir, name));
    return rlc_copy_file(src, dst);
}
