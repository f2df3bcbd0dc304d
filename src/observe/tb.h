/* TensorBoard event-file writer: scalars, text, histograms and hparams written
 * as TFRecord-framed tensorboard.Event protos, encoded by hand (no protobuf
 * library). The file is <dir>/events.out.tfevents.<unix_time>.<hostname>. */
#ifndef RLC_OBSERVE_TB_H
#define RLC_OBSERVE_TB_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rlc_tb rlc_tb;

/* Creates dir (mkdir -p) and a new event file in it whose first record is the
 * file_version event "brain.Event:2". If a file of that name already exists
 * (same second, same host) a ".1", ".2", ... suffix keeps it intact.
 * On success *w is owned by the caller (rlc_tb_close); on failure *w is NULL. */
rlc_status rlc_tb_open(const char *dir, rlc_tb **w);

/* Appends to the newest events.out.tfevents.* file in dir (largest unix time in
 * its name, then by name), so a resumed run keeps one file; opens a new file
 * as rlc_tb_open does when there is none. An empty file gets the
 * file_version record first; a non-empty one is appended to as it is. */
rlc_status rlc_tb_open_append(const char *dir, rlc_tb **w);

/* Cuts the event files in dir back to the records of steps before `before`,
 * for a resumed run that logs the later steps again (into a new file): each
 * file is rewritten atomically without those records and without a torn or
 * corrupt tail. Records with no step (the file version) count as step 0, so
 * they and the step-0 hparams stay. before <= 0 deletes every event file. A
 * missing dir is not an error. */
rlc_status rlc_tb_cut(const char *dir, int64_t before);

/* Path of the event file being written (owned by w). */
const char *rlc_tb_path(const rlc_tb *w);

/* Summary.Value{tag, simple_value} at step. NaN and infinities are written as
 * they are (TensorBoard shows them). */
rlc_status rlc_tb_scalar(rlc_tb *w, const char *tag, int64_t step, float value);

/* A text-plugin summary: a DT_STRING tensor of shape [1] holding text (UTF-8,
 * shown as Markdown by TensorBoard). */
rlc_status rlc_tb_text(rlc_tb *w, const char *tag, int64_t step, const char *text);

/* A HistogramProto of v[0..n) with min/max/num/sum/sum_squares and up to 30
 * equal-width buckets between min and max (bucket_limit is each bucket's right
 * edge; the left edge of the first is min). n must be > 0 and every value
 * finite: RLC_ERR_INVALID otherwise. */
rlc_status rlc_tb_histogram(rlc_tb *w, const char *tag, int64_t step, const float *v, size_t n);

/* The run config as the hparams plugin's session_start_info (tag
 * "_hparams_/session_start_info", step 0). A value that parses entirely as a
 * finite number is written as number_value, "true"/"false" as bool_value,
 * anything else as string_value. */
rlc_status rlc_tb_hparams(rlc_tb *w, const char *const *keys, const char *const *values, size_t n);

/* fflush: records written so far become visible to readers. */
rlc_status rlc_tb_flush(rlc_tb *w);

/* Flushes, closes and frees w; NULL is a no-op. Returns the first error seen
 * while flushing or closing (w is freed either way). */
rlc_status rlc_tb_close(rlc_tb *w);

/* The TFRecord mask applied to the CRC-32C (base/crc32c.h) of data:
 * ((crc >> 15) | (crc << 17)) + 0xa282ead8. Exposed for readers and tests. */
uint32_t rlc_tb_masked_crc(const void *data, size_t len);

#endif
