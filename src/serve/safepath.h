/* Path safety for the dashboard server: decoding a request's raw path and
 * opening a file only when it resolves (symlinks followed) to a place inside
 * the served tree. Every file the server reads goes through rlc_safe_open. */
#ifndef RLC_SERVE_SAFEPATH_H
#define RLC_SERVE_SAFEPATH_H

#include "base/status.h"

#include <stddef.h>
#include <sys/stat.h>

/* Percent-decodes the path part of a raw request target (up to '?' or '#')
 * into out. Refused with RLC_ERR_INVALID: encoded '/', '\' or NUL (%2f, %5c,
 * %00), a malformed escape, a control byte, a path that does not start with
 * '/', or one that does not fit in cap. */
rlc_status rlc_safe_decode_path(const char *raw, char *out, size_t cap);

/* 1 when rel is a relative path of plain segments: not empty, no leading '/',
 * no empty, "." or ".." segment, no segment starting with '.', no '\'. */
int rlc_safe_rel_ok(const char *rel);

/* 1 when path equals root or lies below it (both absolute, root without a
 * trailing '/' unless it is "/"). */
int rlc_safe_is_under(const char *root, const char *path);

/* Opens root/rel read-only (rel as accepted by rlc_safe_rel_ok, or "" for
 * root itself): with openat2(RESOLVE_BENEATH) where the kernel has it, else
 * (and for an absolute symlink, which RESOLVE_BENEATH refuses even when it
 * points into the tree) after resolving every symlink with realpath; then checks the opened file is
 * under root (root must be a realpath) and that no segment of its resolved
 * path below root starts with '.' (an in-tree symlink to .git/config is
 * refused). *sb gets its fstat. Errors: NOT_FOUND (no such file), INVALID
 * (rel refused, resolves outside root or to a hidden name), IO. Messages name
 * rel, never root. The caller closes *fd. */
rlc_status rlc_safe_open(const char *root, const char *rel, int *fd, struct stat *sb);

/* rlc_safe_open, then reads at most max bytes into a NUL-terminated malloc'd
 * buffer; a larger file is an RLC_ERR_FORMAT error ("too large"). Regular files only. */
rlc_status rlc_safe_read(const char *root, const char *rel, size_t max, char **data, size_t *len);

#endif
