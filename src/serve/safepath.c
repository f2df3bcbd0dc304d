/* Path checks. Files are opened with openat2(RESOLVE_BENEATH) where the
 * kernel has it (Linux 5.6+), so the kernel itself keeps the resolution
 * inside the tree; elsewhere containment is decided on the resolved path
 * (realpath). Either way it is checked once more on the descriptor actually
 * opened (/proc/self/fd), so a symlink swapped in between cannot lead out of
 * the tree, and no segment of the resolved path below the root may be hidden. */
#include "serve/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

rlc_status rlc_safe_decode_path(const char *raw, char *out, size_t cap) {
    if (raw[0] != '/') return rlc_errorf(RLC_ERR_INVALID, "request path must start with '/'");
    size_t n = 0;
    for (const char *p = raw; *p && *p != '?' && *p != '#'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            int hi = hex_val(p[1]), lo = hi < 0 ? -1 : hex_val(p[2]);
            if (lo < 0) return rlc_errorf(RLC_ERR_INVALID, "malformed %%-escape in request path");
            c = (unsigned char)(hi * 16 + lo);
            if (c == '/' || c == '\\' || c == 0)
                return rlc_errorf(RLC_ERR_INVALID, "encoded '/', '\\' or NUL in request path");
            p += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return rlc_errorf(RLC_ERR_INVALID, "control character in request path");
        if (n + 1 >= cap) return rlc_errorf(RLC_ERR_INVALID, "request path too long");
        out[n++] = (char)c;
    }
    out[n] = 0;
    return RLC_OK;
}

int rlc_safe_rel_ok(const char *rel) {
    if (!rel[0] || rel[0] == '/' || strchr(rel, '\\')) return 0;
    for (const char *seg = rel;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || seg[0] == '.') return 0; /* "", ".", "..", hidden */
        if (!end) return 1;
        seg = end + 1;
    }
}

int rlc_safe_is_under(const char *root, const char *path) {
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/') return path[0] == '/';
    return !strncmp(root, path, n) && (path[n] == 0 || path[n] == '/');
}

/* 1 when no segment of the part of path below root starts with '.': a
 * symlink inside the tree must not lead to a hidden file (.git/config). */
static int visible_below(const char *root, const char *path) {
    size_t n = strlen(root);
    const char *p = path + (n == 1 ? 0 : n);
    for (; *p; p++)
        if (p[0] == '/' && p[1] == '.') return 0;
    return 1;
}

/* openat2(dirfd, rel, O_RDONLY..., RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS):
 * the kernel resolves rel (symlinks included) and refuses to leave dirfd.
 * Returns the descriptor, or -1 with errno (ENOSYS where the kernel or a
 * seccomp filter lacks it). */
static int open_beneath(int dirfd, const char *rel) {
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
#else
    (void)dirfd, (void)rel;
    errno = ENOSYS;
    return -1;
#endif
}

/* Whether openat2 works here; decided once (-1: not yet). */
static atomic_int have_openat2 = -1;

rlc_status rlc_safe_open(const char *root, const char *rel, int *fd, struct stat *sb) {
    *fd = -1;
    char path[PATH_MAX], real[PATH_MAX], link[64];
    const char *shown = rel[0] ? rel : "."; /* messages never show the root */
    if (rel[0] && !rlc_safe_rel_ok(rel))
        return rlc_errorf(RLC_ERR_INVALID, "%s: refused (not a plain relative path)", rel);
    int f = -1;
    if (have_openat2 != 0 && rel[0]) {
        int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            int e = errno;
            return rlc_errorf(RLC_ERR_IO, "the served folder: %s", strerror(e));
        }
        f = open_beneath(dfd, rel);
        int e = errno;
        close(dfd);
        if (f < 0 && (e == ENOSYS || e == EPERM) && have_openat2 < 0) {
            have_openat2 = 0; /* fall back to the realpath check below */
        } else if (f < 0 && (e == EXDEV || e == ELOOP)) {
            /* an absolute symlink (even one into the tree) or a magic link:
             * decided by the resolved path below, as without openat2 */
        } else if (f < 0) {
            have_openat2 = 1;
            return rlc_errorf(e == ENOENT || e == ENOTDIR ? RLC_ERR_NOT_FOUND : RLC_ERR_IO,
                              "%s: %s", rel, strerror(e));
        } else {
            have_openat2 = 1;
        }
    }
    if (f < 0) {
        int w = rel[0] ? snprintf(path, sizeof path, "%s/%s", root, rel)
                       : snprintf(path, sizeof path, "%s", root);
        if (w < 0 || (size_t)w >= sizeof path)
            return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", shown);
        if (!realpath(path, real)) {
            int e = errno;
            return rlc_errorf(e == ENOENT || e == ENOTDIR ? RLC_ERR_NOT_FOUND : RLC_ERR_IO,
                              "%s: %s", shown, strerror(e));
        }
        if (!rlc_safe_is_under(root, real))
            return rlc_errorf(RLC_ERR_INVALID, "%s: refused (resolves outside the served tree)",
                              shown);
        /* O_NONBLOCK: opening a FIFO must not hang a server thread. */
        f = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (f < 0) {
            int e = errno;
            return rlc_errorf(e == ENOENT ? RLC_ERR_NOT_FOUND : RLC_ERR_IO, "%s: %s", shown,
                              strerror(e));
        }
    }
    /* Once more on what was opened: inside the tree, visible, a file or folder. */
    snprintf(link, sizeof link, "/proc/self/fd/%d", f);
    ssize_t k = readlink(link, path, sizeof path - 1);
    if (k <= 0 || fstat(f, sb) != 0) {
        close(f);
        return rlc_errorf(RLC_ERR_IO, "%s: cannot inspect the opened file", shown);
    }
    path[k] = 0;
    if (!rlc_safe_is_under(root, path) || !(S_ISREG(sb->st_mode) || S_ISDIR(sb->st_mode))) {
        close(f);
        return rlc_errorf(RLC_ERR_INVALID, "%s: refused (outside the tree, or not a file)", shown);
    }
    if (!visible_below(root, path)) {
        close(f);
        return rlc_errorf(RLC_ERR_INVALID, "%s: refused (resolves to a hidden name)", shown);
    }
    *fd = f;
    return RLC_OK;
}

rlc_status rlc_safe_read(const char *root, const char *rel, size_t max, char **data, size_t *len) {
    *data = NULL;
    if (len) *len = 0;
    int fd;
    struct stat sb;
    RLC_TRY(rlc_safe_open(root, rel, &fd, &sb));
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return rlc_errorf(RLC_ERR_INVALID, "%s: not a regular file", rel);
    }
    if ((unsigned long long)sb.st_size > max) {
        close(fd);
        return rlc_errorf(RLC_ERR_FORMAT, "%s: too large (%lld bytes, at most %zu served)", rel,
                          (long long)sb.st_size, max);
    }
    char *buf = rlc_malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return RLC_ERR_NOMEM;
    }
    size_t n = 0;
    while (n < (size_t)sb.st_size) {
        ssize_t r = pread(fd, buf + n, (size_t)sb.st_size - n, (off_t)n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* shrank while reading: serve what was there */
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return RLC_OK;
}
