/* safetensors files: a validating mmap reader and an atomic writer.
 * Format: u64 little-endian header length, a JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {str: str}}, then the byte buffer that offsets index.
 * The reader refuses anything malformed with one line naming file and tensor. */
#ifndef RLC_MODEL_SAFETENSORS_H
#define RLC_MODEL_SAFETENSORS_H

#include "base/dtype.h"
#include "base/status.h"

#include <stdint.h>

#define RLC_ST_MAX_DIMS 8

typedef struct rlc_st_tensor {
    const char *name;
    rlc_dtype dtype;
    int ndim;
    int64_t shape[RLC_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const void *data; /* points into the mapping; valid until the file is closed */
} rlc_st_tensor;

/* One file, or a sharded set (model.safetensors.index.json) seen as one. */
typedef struct rlc_st_file rlc_st_file;

/* Tensors are listed (rlc_st_at) in data-buffer order, shard by shard. Data of
 * files written elsewhere may be unaligned; rlc_st_read_f32 copes with that.
 * Opens and validates one .safetensors file: header length within the file, JSON
 * well formed, every dtype known, shape product * dtype size == byte count,
 * offsets in range, not overlapping, and covering the buffer. */
rlc_status rlc_st_open(const char *path, rlc_st_file **out);
/* Opens a model directory: model.safetensors, or every shard named by
 * model.safetensors.index.json (each shard validated as above). */
rlc_status rlc_st_open_dir(const char *dir, rlc_st_file **out);
void rlc_st_close(rlc_st_file *f); /* NULL is a no-op */

int rlc_st_count(const rlc_st_file *f);
const rlc_st_tensor *rlc_st_at(const rlc_st_file *f, int i);
/* NULL if absent. */
const rlc_st_tensor *rlc_st_find(const rlc_st_file *f, const char *name);
/* The value of a __metadata__ key, or NULL. */
const char *rlc_st_metadata(const rlc_st_file *f, const char *key);
/* Path of the file a tensor came from (for error messages). */
const char *rlc_st_path_of(const rlc_st_file *f, const rlc_st_tensor *t);

/* RLC_OK when tensor `name` exists with shape[ndim]; else an error naming
 * the file, the tensor and both shapes (what rlc_st_read_f32 checks first). */
rlc_status rlc_st_check_shape(const rlc_st_file *f, const char *name, int ndim,
                              const int64_t *shape);
/* Copies tensor `name` into dst as fp32, checking that it exists and that its
 * shape equals shape[ndim]. Errors name the file and the tensor. */
rlc_status rlc_st_read_f32(const rlc_st_file *f, const char *name, int ndim, const int64_t *shape,
                           float *dst);

/* Writer: collect tensors (data is copied/converted at add time), then write. */
typedef struct rlc_st_writer rlc_st_writer;
rlc_st_writer *rlc_st_writer_new(void);
void rlc_st_writer_free(rlc_st_writer *w); /* NULL is a no-op */
rlc_status rlc_st_writer_meta(rlc_st_writer *w, const char *key, const char *value);
/* Stores fp32 src converted to dtype (F32, F16 or BF16). */
rlc_status rlc_st_writer_add_f32(rlc_st_writer *w, const char *name, rlc_dtype dtype, int ndim,
                                 const int64_t *shape, const float *src);
/* Stores raw bytes of any dtype as given. */
rlc_status rlc_st_writer_add_raw(rlc_st_writer *w, const char *name, rlc_dtype dtype, int ndim,
                                 const int64_t *shape, const void *data);
/* Writes path.tmp, fsyncs, renames onto path (and fsyncs the directory).
 * The header is padded with spaces so the data buffer starts 8-byte aligned;
 * the format forbids gaps between tensors, so tensors are laid out by element
 * size, largest first, otherwise in the order added: each starts at a
 * multiple of its element size. __metadata__ gets "format": "pt" unless set. */
rlc_status rlc_st_writer_write(rlc_st_writer *w, const char *path);

#endif
