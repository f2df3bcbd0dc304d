/* Parquet data sets (verl's SFT and RL layout): each row becomes a JSON object,
 * so the JSONL record forms (data/jsonl.h) apply to it unchanged. Structs
 * become objects, LIST columns arrays, MAP columns objects (keys as text),
 * nulls null; strings, integers, floats and booleans their JSON kinds
 * (integer DECIMALs scaled to numbers, NaN and infinities null); byte strings
 * that are not UTF-8, INT96 and FIXED_LEN_BYTE_ARRAY values hex text.
 * Errors name the file, and the column, row group and page where it applies:
 * "data.parquet: column prompt.list.element.content, row group 0, page 3: ...".
 * Memory is bounded by the file: decoded values and pages may be at most a
 * fixed multiple of the file's size (RLC_PARQUET_MAX_* below). */
#ifndef RLC_DATA_PARQUET_H
#define RLC_DATA_PARQUET_H

#include "base/status.h"
#include "data/jsonl.h"

#include <stddef.h>
#include <stdint.h>

/* Level entries (values and nulls, all columns) and rows: at most this many per
 * byte of file, plus RLC_PARQUET_SLACK_VALUES. */
#define RLC_PARQUET_MAX_VALUES_PER_BYTE 64
#define RLC_PARQUET_SLACK_VALUES 4096
/* Decompressed page bytes, all pages together: at most this many per byte of
 * file, plus RLC_PARQUET_SLACK_BYTES. */
#define RLC_PARQUET_MAX_BYTES_PER_BYTE 512
#define RLC_PARQUET_SLACK_BYTES (16u << 20)

/* 1 when path names a Parquet file (ends in ".parquet"). */
int rlc_parquet_path(const char *path);

/* Calls fn once per row, in file order, with the row as a JSON object
 * (borrowed, valid for the call); line is the 1-based row number. A non-OK
 * return stops the walk and is returned. Reads: data page v1 and v2,
 * dictionary pages; PLAIN, PLAIN_DICTIONARY / RLE_DICTIONARY, RLE (booleans)
 * values; RLE levels; codecs none, snappy, gzip, zstd. Errors: missing file
 * (NOT_FOUND / IO), malformed file (FORMAT), a valid file using something
 * unsupported (UNSUPPORTED, naming it), "FILE: no examples" when it has no
 * rows. *count (may be NULL) gets the rows passed to fn. */
rlc_status rlc_parquet_foreach(const char *path, rlc_jsonl_fn fn, void *ctx, size_t *count);

/* The same over the bytes of a file already in memory; name is used in
 * errors and passed to fn as its path. */
rlc_status rlc_parquet_foreach_mem(const char *name, const uint8_t *data, size_t len,
                                   rlc_jsonl_fn fn, void *ctx, size_t *count);

#endif
