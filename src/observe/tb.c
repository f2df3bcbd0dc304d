/* TensorBoard event files. Each record is TFRecord-framed:
 *   uint64 length (LE) | uint32 masked CRC-32C(length bytes) | data | uint32 masked CRC-32C(data)
 * and data is a serialized tensorboard.Event. Field numbers follow the
 * published protos: tensorflow/core/util/event.proto, framework/summary.proto,
 * tensor.proto, tensor_shape.proto, tensorboard/plugins/hparams/plugin_data.proto
 * and google/protobuf/struct.proto. Only what rlc writes is encoded. */
#include "observe/tb.h"

#include "base/crc32c.h"
#include "base/fs.h"
#include "base/procstat.h"
#include "base/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TB_PREFIX "events.out.tfevents."
#define TB_HIST_MAX_BUCKETS 30

/* Event */
enum { EV_WALL_TIME = 1, EV_STEP = 2, EV_FILE_VERSION = 3, EV_SUMMARY = 5 };
/* Summary / Summary.Value */
enum { SUM_VALUE = 1 };
enum { VAL_TAG = 1, VAL_SIMPLE = 2, VAL_HISTO = 5, VAL_TENSOR = 8, VAL_METADATA = 9 };
/* SummaryMetadata / PluginData */
enum { MD_PLUGIN_DATA = 1, PD_PLUGIN_NAME = 1, PD_CONTENT = 2 };
/* HistogramProto */
enum { H_MIN = 1, H_MAX, H_NUM, H_SUM, H_SUM_SQUARES, H_BUCKET_LIMIT, H_BUCKET };
/* TensorProto, TensorShapeProto, TensorShapeProto.Dim; DataType values */
enum { T_DTYPE = 1, T_SHAPE = 2, T_STRING_VAL = 8, SHAPE_DIM = 2, DIM_SIZE = 1 };
enum { DT_FLOAT = 1, DT_STRING = 7 };
/* HParamsPluginData, SessionStartInfo, map entry, google.protobuf.Value */
enum { HP_SESSION_START_INFO = 3, SSI_HPARAMS = 1, SSI_START_TIME_SECS = 5 };
enum { MAP_KEY = 1, MAP_VALUE = 2, PV_NUMBER = 2, PV_STRING = 3, PV_BOOL = 4 };

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

struct rlc_tb {
    FILE *f;
    char *path;
};

/* TFRecord's mask over the CRC-32C, so data holding its own CRC does not
 * checksum to a fixed value. */
uint32_t rlc_tb_masked_crc(const void *data, size_t len) {
    uint32_t c = rlc_crc32c(0, data, len);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---- protobuf encoding into a base/strbuf buffer ---- */

/* The buffer holds bytes (its trailing NUL is not part of the message); an
 * allocation failure is remembered in oom and checked once per record. */
typedef rlc_strbuf pb;

static void pb_put(pb *b, const void *src, size_t n) {
    if (n) rlc_sb_put(b, src, n);
}

static void pb_varint(pb *b, uint64_t v) {
    uint8_t buf[10];
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    pb_put(b, buf, n);
}

static void pb_key(pb *b, int field, int wire) {
    pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

static void le_bytes(uint8_t *dst, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}

static void pb_fixed64_raw(pb *b, double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    uint8_t buf[8];
    le_bytes(buf, u, 8);
    pb_put(b, buf, 8);
}

static void pb_double(pb *b, int field, double d) {
    pb_key(b, field, WT_FIXED64);
    pb_fixed64_raw(b, d);
}

static void pb_float(pb *b, int field, float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint8_t buf[4];
    le_bytes(buf, u, 4);
    pb_key(b, field, WT_FIXED32);
    pb_put(b, buf, 4);
}

/* int64 fields are plain varints of the two's-complement value. */
static void pb_int(pb *b, int field, int64_t v) {
    pb_key(b, field, WT_VARINT);
    pb_varint(b, (uint64_t)v);
}

static void pb_bytes(pb *b, int field, const void *data, size_t n) {
    pb_key(b, field, WT_LEN);
    pb_varint(b, n);
    pb_put(b, data, n);
}

static void pb_str(pb *b, int field, const char *s) {
    pb_bytes(b, field, s, strlen(s));
}

/* Embeds a finished sub-message; an OOM in sub propagates. */
static void pb_msg(pb *b, int field, const pb *sub) {
    if (sub->oom) b->oom = 1;
    pb_bytes(b, field, sub->p, sub->len);
}

static void pb_free(pb *b) {
    rlc_sb_free(b);
}

/* ---- records ---- */

static double wall_now(void) {
    return rlc_clock_seconds(CLOCK_REALTIME);
}

static rlc_status tb_write_record(rlc_tb *w, const pb *ev) {
    if (ev->oom) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory encoding an event", w->path);
    uint8_t head[12], tail[4];
    le_bytes(head, (uint64_t)ev->len, 8);
    le_bytes(head + 8, rlc_tb_masked_crc(head, 8), 4);
    le_bytes(tail, rlc_tb_masked_crc(ev->p, ev->len), 4);
    if (fwrite(head, 1, sizeof head, w->f) != sizeof head ||
        fwrite(ev->p, 1, ev->len, w->f) != ev->len || fwrite(tail, 1, sizeof tail, w->f) != 4)
        return rlc_errorf(RLC_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
    return RLC_OK;
}

/* Writes Event{wall_time, step, summary{value}} and frees value. */
static rlc_status tb_write_summary(rlc_tb *w, int64_t step, pb *value) {
    pb summary = {0}, ev = {0};
    pb_msg(&summary, SUM_VALUE, value);
    pb_double(&ev, EV_WALL_TIME, wall_now());
    pb_int(&ev, EV_STEP, step);
    pb_msg(&ev, EV_SUMMARY, &summary);
    rlc_status st = tb_write_record(w, &ev);
    pb_free(value);
    pb_free(&summary);
    pb_free(&ev);
    return st;
}

/* SummaryMetadata{plugin_data{plugin_name, content}} appended to value. */
static void pb_plugin_metadata(pb *value, const char *plugin, const pb *content) {
    pb pd = {0}, md = {0};
    pb_str(&pd, PD_PLUGIN_NAME, plugin);
    if (content) pb_msg(&pd, PD_CONTENT, content);
    pb_msg(&md, MD_PLUGIN_DATA, &pd);
    pb_msg(value, VAL_METADATA, &md);
    pb_free(&pd);
    pb_free(&md);
}

/* TensorProto{dtype, tensor_shape{dim{size}}, string_val?}. A size of 0 is the
 * proto3 default and so leaves the Dim empty. */
static void pb_tensor(pb *value, int dtype, int64_t dim, const char *string_val) {
    pb d = {0}, shape = {0}, t = {0};
    if (dim) pb_int(&d, DIM_SIZE, dim);
    pb_msg(&shape, SHAPE_DIM, &d);
    pb_int(&t, T_DTYPE, dtype);
    pb_msg(&t, T_SHAPE, &shape);
    if (string_val) pb_str(&t, T_STRING_VAL, string_val);
    pb_msg(value, VAL_TENSOR, &t);
    pb_free(&d);
    pb_free(&shape);
    pb_free(&t);
}

static rlc_status check_args(rlc_tb *w, const char *tag, const char *what) {
    if (!w || !w->f) return rlc_errorf(RLC_ERR_INVALID, "tensorboard %s: writer is not open", what);
    if (!tag || !*tag)
        return rlc_errorf(RLC_ERR_INVALID, "%s: tensorboard %s: empty tag", w->path, what);
    return RLC_OK;
}

rlc_status rlc_tb_scalar(rlc_tb *w, const char *tag, int64_t step, float value) {
    RLC_TRY(check_args(w, tag, "scalar"));
    pb v = {0};
    pb_str(&v, VAL_TAG, tag);
    pb_float(&v, VAL_SIMPLE, value);
    return tb_write_summary(w, step, &v);
}

rlc_status rlc_tb_text(rlc_tb *w, const char *tag, int64_t step, const char *text) {
    RLC_TRY(check_args(w, tag, "text"));
    if (!text) return rlc_errorf(RLC_ERR_INVALID, "%s: text %s: NULL text", w->path, tag);
    pb v = {0};
    pb_str(&v, VAL_TAG, tag);
    /* TextPluginData{version = 0} serializes to no bytes: content stays empty. */
    pb_plugin_metadata(&v, "text", NULL);
    pb_tensor(&v, DT_STRING, 1, text);
    return tb_write_summary(w, step, &v);
}

rlc_status rlc_tb_histogram(rlc_tb *w, const char *tag, int64_t step, const float *x, size_t n) {
    RLC_TRY(check_args(w, tag, "histogram"));
    if (n == 0 || !x)
        return rlc_errorf(RLC_ERR_INVALID, "%s: histogram %s: no values", w->path, tag);
    double lo = x[0], hi = x[0], sum = 0, sumsq = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return rlc_errorf(RLC_ERR_INVALID, "%s: histogram %s: value %zu is not finite", w->path,
                              tag, i);
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        sum += x[i];
        sumsq += (double)x[i] * x[i];
    }
    size_t k = n < TB_HIST_MAX_BUCKETS ? n : TB_HIST_MAX_BUCKETS;
    if (hi == lo) k = 1;
    double width = (hi - lo) / (double)k, counts[TB_HIST_MAX_BUCKETS] = {0};
    for (size_t i = 0; i < n; i++) {
        size_t b = k == 1 ? 0 : (size_t)((x[i] - lo) / width);
        counts[b < k ? b : k - 1] += 1;
    }
    pb h = {0}, limits = {0}, buckets = {0}, v = {0};
    for (size_t b = 0; b < k; b++) {
        pb_fixed64_raw(&limits, b == k - 1 ? hi : lo + (double)(b + 1) * width);
        pb_fixed64_raw(&buckets, counts[b]);
    }
    pb_double(&h, H_MIN, lo);
    pb_double(&h, H_MAX, hi);
    pb_double(&h, H_NUM, (double)n);
    pb_double(&h, H_SUM, sum);
    pb_double(&h, H_SUM_SQUARES, sumsq);
    pb_msg(&h, H_BUCKET_LIMIT, &limits); /* packed repeated double */
    pb_msg(&h, H_BUCKET, &buckets);
    pb_str(&v, VAL_TAG, tag);
    pb_msg(&v, VAL_HISTO, &h);
    pb_free(&h);
    pb_free(&limits);
    pb_free(&buckets);
    return tb_write_summary(w, step, &v);
}

/* google.protobuf.Value for a config string: number, bool or string. */
static void pb_hparam_value(pb *out, const char *s) {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*s && *s != ' ' && *s != '\t' && *end == 0 && errno == 0 && isfinite(d))
        pb_double(out, PV_NUMBER, d);
    else if (!strcmp(s, "true") || !strcmp(s, "false"))
        pb_int(out, PV_BOOL, s[0] == 't');
    else
        pb_str(out, PV_STRING, s);
}

rlc_status rlc_tb_hparams(rlc_tb *w, const char *const *keys, const char *const *values, size_t n) {
    RLC_TRY(check_args(w, "_hparams_/session_start_info", "hparams"));
    for (size_t i = 0; i < n; i++)
        if (!keys[i] || !*keys[i] || !values[i])
            return rlc_errorf(RLC_ERR_INVALID, "%s: hparams: entry %zu has an empty key or value",
                              w->path, i);
    pb ssi = {0}, data = {0}, v = {0};
    for (size_t i = 0; i < n; i++) {
        pb val = {0}, entry = {0};
        pb_hparam_value(&val, values[i]);
        pb_str(&entry, MAP_KEY, keys[i]);
        pb_msg(&entry, MAP_VALUE, &val);
        pb_msg(&ssi, SSI_HPARAMS, &entry);
        pb_free(&val);
        pb_free(&entry);
    }
    pb_double(&ssi, SSI_START_TIME_SECS, wall_now());
    /* HParamsPluginData{version = 0 (default, omitted), session_start_info}. */
    pb_msg(&data, HP_SESSION_START_INFO, &ssi);
    pb_str(&v, VAL_TAG, "_hparams_/session_start_info");
    pb_plugin_metadata(&v, "hparams", &data);
    /* TensorBoard's own hparams summaries carry an empty float tensor. */
    pb_tensor(&v, DT_FLOAT, 0, NULL);
    pb_free(&ssi);
    pb_free(&data);
    return tb_write_summary(w, 0, &v);
}

/* ---- files ---- */

static rlc_status tb_write_version(rlc_tb *w) {
    pb ev = {0};
    pb_double(&ev, EV_WALL_TIME, wall_now());
    pb_str(&ev, EV_FILE_VERSION, "brain.Event:2");
    rlc_status st = tb_write_record(w, &ev);
    pb_free(&ev);
    if (st == RLC_OK) st = rlc_tb_flush(w);
    return st;
}

static rlc_tb *tb_alloc(const char *path, FILE *f) {
    rlc_tb *w = rlc_calloc(1, sizeof *w);
    if (w) w->path = strdup(path);
    if (!w || !w->path) {
        if (w) free(w);
        fclose(f);
        rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    w->f = f;
    return w;
}

rlc_status rlc_tb_open(const char *dir, rlc_tb **out) {
    *out = NULL;
    RLC_TRY(rlc_mkdir_p(dir));
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) strcpy(host, "localhost");
    for (char *c = host; *c; c++)
        if (*c == '/') *c = '_';
    char name[400], path[4096];
    long long now = (long long)time(NULL);
    FILE *f = NULL;
    for (int n = 0; !f; n++) {
        if (n == 0)
            snprintf(name, sizeof name, TB_PREFIX "%lld.%s", now, host);
        else
            snprintf(name, sizeof name, TB_PREFIX "%lld.%s.%d", now, host, n);
        RLC_TRY(rlc_path_join(path, sizeof path, dir, name));
        f = fopen(path, "wbx");
        if (!f && (errno != EEXIST || n == 1000))
            return rlc_errorf(RLC_ERR_IO, "%s: cannot create event file: %s", path,
                              strerror(errno));
    }
    rlc_tb *w = tb_alloc(path, f);
    if (!w) return RLC_ERR_NOMEM;
    rlc_status st = tb_write_version(w);
    if (st) {
        rlc_tb_close(w);
        return st;
    }
    *out = w;
    return RLC_OK;
}

/* Is a better than b as "newest": larger unix time in the name, then by name. */
static int tb_newer(const char *a, const char *b) {
    long long ta = strtoll(a + strlen(TB_PREFIX), NULL, 10);
    long long tb = strtoll(b + strlen(TB_PREFIX), NULL, 10);
    return ta != tb ? ta > tb : strcmp(a, b) > 0;
}

rlc_status rlc_tb_open_append(const char *dir, rlc_tb **out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return rlc_tb_open(dir, out);
        return rlc_errorf(RLC_ERR_IO, "%s: cannot list directory: %s", dir, strerror(errno));
    }
    char best[1024] = {0}, path[4096];
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, TB_PREFIX, strlen(TB_PREFIX)) != 0) continue;
        if (strlen(e->d_name) >= sizeof best) continue;
        struct stat sb;
        if (rlc_path_join(path, sizeof path, dir, e->d_name) || stat(path, &sb) ||
            !S_ISREG(sb.st_mode))
            continue;
        if (!best[0] || tb_newer(e->d_name, best)) strcpy(best, e->d_name);
    }
    closedir(d);
    if (!best[0]) return rlc_tb_open(dir, out);
    RLC_TRY(rlc_path_join(path, sizeof path, dir, best));
    FILE *f = fopen(path, "ab");
    if (!f)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot open event file for append: %s", path,
                          strerror(errno));
    rlc_tb *w = tb_alloc(path, f);
    if (!w) return RLC_ERR_NOMEM;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && sb.st_size == 0) {
        rlc_status st = tb_write_version(w);
        if (st) {
            rlc_tb_close(w);
            return st;
        }
    }
    *out = w;
    return RLC_OK;
}

/* ---- cutting back (resume) ---- */

static int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Event.step of a serialized Event (0 when absent); -1 if it does not parse. */
static int64_t event_step(const uint8_t *p, size_t n) {
    const uint8_t *end = p + n;
    int64_t step = 0;
    while (p < end) {
        uint64_t key, v;
        if (!rd_varint(&p, end, &key)) return -1;
        switch (key & 7) {
        case WT_VARINT:
            if (!rd_varint(&p, end, &v)) return -1;
            if ((key >> 3) == EV_STEP) step = (int64_t)v;
            break;
        case WT_FIXED64:
            if (end - p < 8) return -1;
            p += 8;
            break;
        case WT_FIXED32:
            if (end - p < 4) return -1;
            p += 4;
            break;
        case WT_LEN:
            if (!rd_varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
            p += v;
            break;
        default:
            return -1;
        }
    }
    return step;
}

/* Keeps the intact records of path whose step is before `before`. */
static rlc_status cut_file(const char *path, int64_t before) {
    char *buf;
    size_t len;
    RLC_TRY(rlc_read_file(path, &buf, &len));
    const uint8_t *b = (const uint8_t *)buf;
    uint8_t *out = rlc_malloc(len + 1);
    if (!out) {
        free(buf);
        return RLC_ERR_NOMEM;
    }
    size_t off = 0, n = 0;
    while (len - off >= 16) {
        uint64_t dlen = rd_le(b + off, 8);
        if (rd_le(b + off + 8, 4) != rlc_tb_masked_crc(b + off, 8) || dlen > len - off - 16) break;
        const uint8_t *d = b + off + 12;
        if (rd_le(d + dlen, 4) != rlc_tb_masked_crc(d, dlen)) break;
        int64_t step = event_step(d, dlen);
        if (step < 0) break;
        if (step < before) {
            memcpy(out + n, b + off, 16 + dlen);
            n += 16 + dlen;
        }
        off += 16 + dlen;
    }
    rlc_status st = n == len ? RLC_OK : rlc_write_file_atomic(path, out, n);
    free(out);
    free(buf);
    return st;
}

rlc_status rlc_tb_cut(const char *dir, int64_t before) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return RLC_OK;
        return rlc_errorf(RLC_ERR_IO, "%s: cannot list directory: %s", dir, strerror(errno));
    }
    /* names first: rewriting renames files inside the directory being listed */
    char **names = NULL;
    size_t n = 0;
    rlc_status st = RLC_OK;
    for (struct dirent *e; st == RLC_OK && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, TB_PREFIX, strlen(TB_PREFIX)) != 0 ||
            (l > 4 && !strcmp(e->d_name + l - 4, ".tmp")))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (nn) names = nn;
        if (!nn || !(names[n] = strdup(e->d_name)))
            st = rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", dir);
        else
            n++;
    }
    closedir(d);
    char path[4096];
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (st == RLC_OK) st = rlc_path_join(path, sizeof path, dir, names[i]);
        if (st == RLC_OK && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (before > 0)
                st = cut_file(path, before);
            else if (unlink(path) != 0)
                st = rlc_errorf(RLC_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
        }
        free(names[i]);
    }
    free(names);
    return st;
}

const char *rlc_tb_path(const rlc_tb *w) {
    return w->path;
}

rlc_status rlc_tb_flush(rlc_tb *w) {
    if (!w || !w->f) return rlc_errorf(RLC_ERR_INVALID, "tensorboard flush: writer is not open");
    if (fflush(w->f) != 0)
        return rlc_errorf(RLC_ERR_IO, "%s: flush failed: %s", w->path, strerror(errno));
    return RLC_OK;
}

rlc_status rlc_tb_close(rlc_tb *w) {
    if (!w) return RLC_OK;
    rlc_status st = RLC_OK;
    if (w->f && fclose(w->f) != 0)
        st = rlc_errorf(RLC_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
    free(w->path);
    free(w);
    return st;
}
