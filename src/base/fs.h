/* File-system helpers: whole-file reads, crash-safe writes, directories. */
#ifndef RLC_BASE_FS_H
#define RLC_BASE_FS_H

#include "base/status.h"

#include <stddef.h>

/* Reads the whole file into a NUL-terminated malloc'd buffer (*len excludes the NUL). */
rlc_status rlc_read_file(const char *path, char **data, size_t *len);
/* Writes path.tmp, fsyncs it, renames it onto path, fsyncs the directory:
 * a crash leaves either the old file or the new one, never a torn one. */
rlc_status rlc_write_file_atomic(const char *path, const void *data, size_t len);
/* mkdir -p. */
rlc_status rlc_mkdir_p(const char *path);
/* fsync a directory (after renames inside it). */
rlc_status rlc_fsync_dir(const char *path);
int rlc_file_exists(const char *path);
/* 1 when a and b both exist and are the same file or directory (after links). */
int rlc_same_file(const char *a, const char *b);
/* dst = dir + "/" + name, truncation is an error. */
rlc_status rlc_path_join(char *dst, size_t cap, const char *dir, const char *name);
/* rm -rf without following links; a missing path is fine. */
rlc_status rlc_rm_rf(const char *path);
/* Copies the file src to dst with rlc_write_file_atomic. */
rlc_status rlc_copy_file(const char *src, const char *dst);
/* Copies from_dir/name to to_dir/name when the first exists; none is fine. */
rlc_status rlc_copy_if_present(const char *from_dir, const char *to_dir, const char *name);

/* Streaming form of rlc_write_file_atomic, for files too large to build in
 * memory: open writes to path.tmp; commit fsyncs, renames and fsyncs the
 * directory; abort (also after a failed write or commit) removes path.tmp.
 * Every call after open is safe on a failed handle; abort is idempotent. */
typedef struct rlc_atomic_file {
    int fd;     /* -1 when closed */
    char *path; /* owned */
    char *tmp;  /* owned */
} rlc_atomic_file;
rlc_status rlc_atomic_open(rlc_atomic_file *af, const char *path);
rlc_status rlc_atomic_write(rlc_atomic_file *af, const void *data, size_t len);
rlc_status rlc_atomic_commit(rlc_atomic_file *af);
void rlc_atomic_abort(rlc_atomic_file *af);

#endif
