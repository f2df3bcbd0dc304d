/* Parquet reading: the Thrift compact footer, the schema tree, column chunks
 * page by page, and the assembly of rows from repetition/definition levels
 * (written from the Apache Parquet format and Thrift compact protocol specs). */
#include "data/parquet.h"

#include "base/fs.h"

#include <math.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* ---- Thrift compact protocol ---- */

enum {
    TH_STOP,
    TH_TRUE,
    TH_FALSE,
    TH_I8,
    TH_I16,
    TH_I32,
    TH_I64,
    TH_DOUBLE,
    TH_BINARY,
    TH_LIST,
    TH_SET,
    TH_MAP,
    TH_STRUCT
};
#define TH_MAX_DEPTH 32

typedef struct th {
    const uint8_t *p, *end;
    int bad; /* set on truncation or an impossible value; every read then returns 0 */
    int depth;
} th;

static uint8_t th_u8(th *t) {
    if (t->bad || t->p >= t->end) {
        t->bad = 1;
        return 0;
    }
    return *t->p++;
}

static uint64_t th_varint(th *t) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = th_u8(t);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    t->bad = 1;
    return 0;
}

static int64_t th_zigzag(th *t) {
    uint64_t v = th_varint(t);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int32_t th_i32(th *t) {
    int64_t v = th_zigzag(t);
    if (v < INT32_MIN || v > INT32_MAX) t->bad = 1;
    return t->bad ? 0 : (int32_t)v;
}

/* A binary's bytes (pointing into the buffer) and length. */
static const uint8_t *th_binary(th *t, size_t *n) {
    uint64_t len = th_varint(t);
    if (t->bad || len > (uint64_t)(t->end - t->p)) {
        t->bad = 1;
        *n = 0;
        return NULL;
    }
    const uint8_t *b = t->p;
    t->p += len;
    *n = (size_t)len;
    return b;
}

/* The next field header of a struct: 0 at its end (or on error), else 1 with
 * *id and *type; *last carries the previous id (field deltas). */
static int th_field(th *t, int *last, int *id, int *type) {
    uint8_t b = th_u8(t);
    if (t->bad || b == 0) return 0;
    *type = b & 15;
    int delta = b >> 4;
    if (delta)
        *id = *last + delta;
    else
        *id = (int)th_zigzag(t);
    *last = *id;
    return !t->bad;
}

/* A list header: element count (bounded by the bytes left) and type. */
static size_t th_list(th *t, int *etype) {
    uint8_t b = th_u8(t);
    uint64_t n = b >> 4;
    *etype = b & 15;
    if (n == 15) n = th_varint(t);
    if (n > (uint64_t)(t->end - t->p)) t->bad = 1;
    return t->bad ? 0 : (size_t)n;
}

static void th_skip(th *t, int type, int in_list);

static void th_skip_struct(th *t) {
    if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
    int last = 0, id, type;
    while (th_field(t, &last, &id, &type))
        th_skip(t, type, 0);
    t->depth--;
}

static void th_skip(th *t, int type, int in_list) {
    size_t n;
    int et, kt;
    switch (type) {
    case TH_TRUE:
    case TH_FALSE:
        if (in_list) th_u8(t); /* a list's booleans are one byte each */
        break;
    case TH_I8:
        th_u8(t);
        break;
    case TH_I16:
    case TH_I32:
    case TH_I64:
        th_varint(t);
        break;
    case TH_DOUBLE:
        if (t->end - t->p < 8) t->bad = 1;
        if (!t->bad) t->p += 8;
        break;
    case TH_BINARY:
        th_binary(t, &n);
        break;
    case TH_LIST:
    case TH_SET:
        n = th_list(t, &et);
        if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
        for (size_t i = 0; i < n && !t->bad; i++)
            th_skip(t, et, 1);
        t->depth--;
        break;
    case TH_MAP:
        n = (size_t)th_varint(t);
        if (n > (size_t)(t->end - t->p)) t->bad = 1;
        if (n && !t->bad) {
            uint8_t kv = th_u8(t);
            kt = kv >> 4;
            et = kv & 15;
            if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
            for (size_t i = 0; i < n && !t->bad; i++) {
                th_skip(t, kt, 1);
                th_skip(t, et, 1);
            }
            t->depth--;
        }
        break;
    case TH_STRUCT:
        th_skip_struct(t);
        break;
    default:
        t->bad = 1;
    }
}

typedef rlc_status (*th_item_fn)(th *t, void *item);

/* A list of structs, each read by fn into a new zeroed array of elem-byte
 * items (*n of them). A list of anything else marks t bad. */
static rlc_status th_struct_list(th *t, size_t elem, void **items, size_t *n, th_item_fn fn) {
    int et;
    size_t k = th_list(t, &et);
    if (t->bad || et != TH_STRUCT) {
        t->bad = 1;
        return RLC_OK;
    }
    *items = rlc_calloc(k ? k : 1, elem);
    if (!*items) return RLC_ERR_NOMEM;
    *n = k;
    rlc_status st = RLC_OK;
    if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
    for (size_t i = 0; i < k && st == RLC_OK && !t->bad; i++)
        st = fn(t, (char *)*items + i * elem);
    t->depth--;
    return st;
}

/* ---- file metadata ---- */

enum { PT_BOOLEAN, PT_INT32, PT_INT64, PT_INT96, PT_FLOAT, PT_DOUBLE, PT_BYTE_ARRAY, PT_FLBA };
enum { REP_REQUIRED, REP_OPTIONAL, REP_REPEATED };
/* The enum values of parquet.thrift that the reader uses. */
enum { CT_MAP = 1, CT_MAP_KEY_VALUE = 2, CT_LIST = 3, CT_DECIMAL = 5, CT_UINT_32 = 13 };
enum { CT_UINT_64 = 14 };
enum { LT_MAP = 2, LT_LIST = 3, LT_DECIMAL = 5 };
enum { CODEC_NONE = 0, CODEC_SNAPPY = 1, CODEC_GZIP = 2, CODEC_ZSTD = 6, CODEC_LZ4_RAW = 7 };
enum { ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { ENC_DELTA_BINARY_PACKED = 5, ENC_DELTA_LENGTH_BYTE_ARRAY = 6, ENC_DELTA_BYTE_ARRAY = 7 };
enum { ENC_BYTE_STREAM_SPLIT = 9 };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };

typedef struct pq_el {
    char *name;
    int has_type, type, type_length, repetition, num_children, converted, logical, scale;
} pq_el;

typedef struct pq_col {
    int type, codec, has_file_path;
    int64_t num_values, data_off, dict_off, total_compressed;
} pq_col;

typedef struct pq_rg {
    int64_t num_rows;
    pq_col *cols;
    size_t n_cols;
} pq_rg;

typedef struct pq_node pq_node;
struct pq_node {
    const pq_el *el;
    pq_node *parent, **kids;
    int n_kids;
    int def;         /* definition level at which this node is present */
    int rep;         /* repetition levels among its ancestors and itself */
    int pass;        /* a LIST or MAP group: its value is the array of its repeated child */
    int is_map;      /* ... converted to an object after assembly */
    int transparent; /* a LIST's repeated wrapper: elements are its only child's values */
};

typedef struct pq_file {
    const char *name;
    const uint8_t *buf;
    size_t len;
    pq_el *els;
    size_t n_els;
    pq_rg *rgs;
    size_t n_rgs;
    pq_node *nodes;
    pq_node **leaves;
    size_t n_leaves;
    uint64_t values_left, bytes_left; /* the memory budget */
} pq_file;

static rlc_status meta_bad(const pq_file *f, const char *what) {
    return rlc_errorf(RLC_ERR_FORMAT, "%s: malformed footer metadata (%s)", f->name, what);
}

static rlc_status read_schema_el(th *t, void *item) {
    pq_el *e = item;
    int last = 0, id, type;
    e->converted = e->logical = -1;
    while (th_field(t, &last, &id, &type)) {
        if (id == 1 && type == TH_I32) {
            e->type = th_i32(t);
            e->has_type = 1;
        } else if (id == 2 && type == TH_I32) {
            e->type_length = th_i32(t);
        } else if (id == 3 && type == TH_I32) {
            e->repetition = th_i32(t);
        } else if (id == 4 && type == TH_BINARY) {
            size_t n;
            const uint8_t *s = th_binary(t, &n);
            if (t->bad) break;
            free(e->name);
            e->name = strndup((const char *)s, n);
            if (!e->name) return RLC_ERR_NOMEM;
        } else if (id == 5 && type == TH_I32) {
            e->num_children = th_i32(t);
        } else if (id == 6 && type == TH_I32) {
            e->converted = th_i32(t);
        } else if (id == 7 && type == TH_I32) {
            e->scale = th_i32(t);
        } else if (id == 10 && type == TH_STRUCT) {
            /* LogicalType is a union: the id of its one field names the kind */
            int l2 = 0, id2, ty2;
            if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
            while (th_field(t, &l2, &id2, &ty2)) {
                e->logical = id2;
                th_skip(t, ty2, 0);
            }
            t->depth--;
        } else {
            th_skip(t, type, 0);
        }
    }
    return RLC_OK;
}

static void read_col_meta(th *t, pq_col *c) {
    int last = 0, id, type;
    if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
    while (th_field(t, &last, &id, &type)) {
        if (id == 1 && type == TH_I32)
            c->type = th_i32(t);
        else if (id == 4 && type == TH_I32)
            c->codec = th_i32(t);
        else if (id == 5 && type == TH_I64)
            c->num_values = th_zigzag(t);
        else if (id == 7 && type == TH_I64)
            c->total_compressed = th_zigzag(t);
        else if (id == 9 && type == TH_I64)
            c->data_off = th_zigzag(t);
        else if (id == 11 && type == TH_I64)
            c->dict_off = th_zigzag(t);
        else
            th_skip(t, type, 0);
    }
    t->depth--;
}

static rlc_status read_col_chunk(th *t, void *item) {
    pq_col *c = item;
    int last = 0, id, type;
    c->dict_off = -1;
    while (th_field(t, &last, &id, &type)) {
        if (id == 1 && type == TH_BINARY) {
            c->has_file_path = 1;
            th_skip(t, type, 0);
        } else if (id == 3 && type == TH_STRUCT) {
            read_col_meta(t, c);
        } else {
            th_skip(t, type, 0);
        }
    }
    return RLC_OK;
}

static rlc_status read_row_group(th *t, void *item) {
    pq_rg *rg = item;
    int last = 0, id, type;
    while (th_field(t, &last, &id, &type)) {
        if (id == 1 && type == TH_LIST && !rg->cols) {
            RLC_TRY(th_struct_list(t, sizeof *rg->cols, (void **)&rg->cols, &rg->n_cols,
                                   read_col_chunk));
        } else if (id == 3 && type == TH_I64) {
            rg->num_rows = th_zigzag(t);
        } else {
            th_skip(t, type, 0);
        }
    }
    return RLC_OK;
}

static rlc_status read_footer(pq_file *f, const uint8_t *p, size_t n) {
    th t = {p, p + n, 0, 0};
    int last = 0, id, type;
    rlc_status st = RLC_OK;
    while (st == RLC_OK && th_field(&t, &last, &id, &type)) {
        if (id == 2 && type == TH_LIST && !f->els)
            st = th_struct_list(&t, sizeof *f->els, (void **)&f->els, &f->n_els, read_schema_el);
        else if (id == 4 && type == TH_LIST && !f->rgs)
            st = th_struct_list(&t, sizeof *f->rgs, (void **)&f->rgs, &f->n_rgs, read_row_group);
        else
            th_skip(&t, type, 0);
    }
    if (st) return st;
    if (t.bad) return meta_bad(f, "truncated or invalid Thrift");
    if (!f->n_els) return meta_bad(f, "no schema");
    return RLC_OK;
}

/* ---- schema tree ---- */

static int is_list(const pq_el *e) {
    return e->converted == CT_LIST || e->logical == LT_LIST;
}
static int is_map(const pq_el *e) {
    return e->converted == CT_MAP || e->converted == CT_MAP_KEY_VALUE || e->logical == LT_MAP;
}
static int is_group(const pq_el *e) {
    return !e->has_type || e->num_children > 0;
}

static rlc_status build_node(pq_file *f, size_t *next, pq_node *parent, int depth) {
    if (*next >= f->n_els) return meta_bad(f, "schema has fewer elements than its groups claim");
    if (depth > 64) return meta_bad(f, "schema nested deeper than 64");
    pq_node *n = &f->nodes[*next];
    const pq_el *e = &f->els[(*next)++];
    n->el = e;
    n->parent = parent;
    if (!e->name) return meta_bad(f, "schema element without a name");
    json_t *utf8 = json_string(e->name);
    if (!utf8) return meta_bad(f, "a column name is not UTF-8");
    json_decref(utf8);
    if (parent) {
        if (e->repetition < REP_REQUIRED || e->repetition > REP_REPEATED)
            return meta_bad(f, "bad repetition type");
        n->def = parent->def + (e->repetition != REP_REQUIRED);
        n->rep = parent->rep + (e->repetition == REP_REPEATED);
    }
    if (!is_group(e)) {
        if (e->type < PT_BOOLEAN || e->type > PT_FLBA) return meta_bad(f, "bad physical type");
        if (e->type == PT_FLBA && e->type_length <= 0)
            return meta_bad(f, "FIXED_LEN_BYTE_ARRAY without a length");
        f->leaves[f->n_leaves++] = n;
        return RLC_OK;
    }
    if (e->num_children <= 0 || (size_t)e->num_children > f->n_els)
        return meta_bad(f, "group without children");
    n->kids = rlc_calloc((size_t)e->num_children, sizeof *n->kids);
    if (!n->kids) return RLC_ERR_NOMEM;
    n->n_kids = e->num_children;
    for (int k = 0; k < n->n_kids; k++) {
        n->kids[k] = &f->nodes[*next];
        RLC_TRY(build_node(f, next, n, depth + 1));
    }
    if (parent && (is_list(e) || is_map(e)) && n->n_kids == 1 &&
        n->kids[0]->el->repetition == REP_REPEATED) {
        pq_node *r = n->kids[0];
        n->pass = 1;
        n->is_map = is_map(e) && r->n_kids == 2;
        /* the legacy two-level lists name their repeated group "array" or
         * "<list>_tuple": then the group itself is the element */
        char tuple[256];
        snprintf(tuple, sizeof tuple, "%s_tuple", e->name);
        r->transparent = is_list(e) && r->n_kids == 1 && strcmp(r->el->name, "array") &&
                         strcmp(r->el->name, tuple);
    }
    return RLC_OK;
}

static rlc_status build_schema(pq_file *f) {
    f->nodes = rlc_calloc(f->n_els, sizeof *f->nodes);
    f->leaves = rlc_calloc(f->n_els, sizeof *f->leaves);
    if (!f->nodes || !f->leaves) return RLC_ERR_NOMEM;
    size_t next = 0;
    if (!is_group(&f->els[0])) return meta_bad(f, "the schema root is not a group");
    RLC_TRY(build_node(f, &next, NULL, 0));
    if (next != f->n_els) return meta_bad(f, "schema has elements outside the root");
    return RLC_OK;
}

/* ---- values ---- */

/* Bytes as a JSON string: as they are when UTF-8 (and not hex), else as hex. */
static json_t *bytes_json(const uint8_t *p, size_t n, int hex_only) {
    json_t *s = hex_only ? NULL : json_stringn((const char *)p, n); /* NULL when not UTF-8 */
    if (s) return s;
    char *hex = malloc(2 * n + 1);
    if (!hex) return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    s = json_stringn(hex, 2 * n);
    free(hex);
    return s;
}

static json_t *real_json(double v) {
    return isfinite(v) ? json_real(v) : json_null(); /* JSON has no NaN or infinity */
}

static json_t *int_json(const pq_el *e, int64_t v, int is64) {
    int decimal = e->converted == CT_DECIMAL || e->logical == LT_DECIMAL;
    if (decimal) return real_json((double)v / pow(10.0, e->scale));
    if (!is64 && e->converted == CT_UINT_32) return json_integer((json_int_t)(uint32_t)v);
    if (is64 && e->converted == CT_UINT_64 && v < 0) return real_json((double)(uint64_t)v);
    return json_integer((json_int_t)v);
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* PLAIN: count values of leaf e from [p, end) into out (new references).
 * Returns bytes used, or -1 when the data is short (out left with NULLs). */
static long decode_plain(const pq_el *e, const uint8_t *p, const uint8_t *end, size_t count,
                         json_t **out, int *nomem) {
    const uint8_t *b = p;
    size_t avail = (size_t)(end - p);
    size_t w = e->type == PT_INT32 || e->type == PT_FLOAT    ? 4
               : e->type == PT_INT64 || e->type == PT_DOUBLE ? 8
               : e->type == PT_INT96                         ? 12
               : e->type == PT_FLBA                          ? (size_t)e->type_length
                                                             : 0;
    if (e->type == PT_BOOLEAN) {
        if (count > avail * 8) return -1;
        for (size_t i = 0; i < count; i++)
            out[i] = json_boolean((p[i >> 3] >> (i & 7)) & 1);
        return (long)((count + 7) / 8);
    }
    if (w && count > avail / w) return -1;
    for (size_t i = 0; i < count; i++) {
        json_t *v;
        switch (e->type) {
        case PT_INT32:
            v = int_json(e, (int32_t)(uint32_t)le(b, 4), 0);
            break;
        case PT_INT64:
            v = int_json(e, (int64_t)le(b, 8), 1);
            break;
        case PT_FLOAT: {
            uint32_t u = (uint32_t)le(b, 4);
            float x;
            memcpy(&x, &u, 4);
            v = real_json(x);
            break;
        }
        case PT_DOUBLE: {
            uint64_t u = le(b, 8);
            double x;
            memcpy(&x, &u, 8);
            v = real_json(x);
            break;
        }
        case PT_BYTE_ARRAY: {
            if ((size_t)(end - b) < 4) return -1;
            size_t n = (size_t)le(b, 4);
            b += 4;
            if (n > (size_t)(end - b)) return -1;
            v = bytes_json(b, n, 0);
            b += n;
            break;
        }
        default: /* INT96, FIXED_LEN_BYTE_ARRAY (UUIDs, big-endian decimals): hex */
            v = bytes_json(b, w, 1);
        }
        b += w;
        if (!v) {
            *nomem = 1;
            return -1;
        }
        out[i] = v;
    }
    return (long)(b - p);
}

/* RLE / bit-packed hybrid: count values of bit width bw from [p, end) into out.
 * 0 on success, -1 when the data is short or malformed. */
static int decode_rle(const uint8_t *p, const uint8_t *end, int bw, size_t count, uint32_t *out) {
    th t = {p, end, 0, 0};
    size_t n = 0;
    size_t vbytes = (size_t)(bw + 7) / 8;
    while (n < count) {
        uint64_t h = th_varint(&t);
        if (t.bad) return -1;
        if (h & 1) { /* bit-packed groups of 8 */
            uint64_t groups = h >> 1;
            size_t avail = (size_t)(t.end - t.p);
            if (bw && groups > avail / (size_t)bw) return -1;
            size_t nbytes = (size_t)groups * (size_t)bw;
            uint64_t vals = groups * 8;
            for (uint64_t i = 0; i < vals && n < count; i++) {
                uint64_t bit = i * (uint64_t)bw, v = 0;
                for (int k = 0; k < bw; k++, bit++)
                    v |= (uint64_t)((t.p[bit >> 3] >> (bit & 7)) & 1) << k;
                out[n++] = (uint32_t)v;
            }
            t.p += nbytes;
        } else { /* a run of one value */
            uint64_t run = h >> 1;
            if ((size_t)(t.end - t.p) < vbytes) return -1;
            uint32_t v = (uint32_t)le(t.p, (int)vbytes);
            t.p += vbytes;
            if (run == 0) return -1;
            for (uint64_t i = 0; i < run && n < count; i++)
                out[n++] = v;
        }
    }
    return 0;
}

/* DELTA_BINARY_PACKED: exactly count integers from [p, end) into out (wrapping
 * arithmetic, as the writers do). Returns bytes used, or -1 when malformed. */
static long decode_delta(const uint8_t *p, const uint8_t *end, size_t count, uint64_t *out) {
    th t = {p, end, 0, 0};
    uint64_t block = th_varint(&t), mini = th_varint(&t), total = th_varint(&t);
    uint64_t v = (uint64_t)th_zigzag(&t);
    if (t.bad || total != count || block == 0 || mini == 0 || block % mini || block > (1u << 20) ||
        (block / mini) % 8)
        return -1;
    size_t per = (size_t)(block / mini), n = 0;
    if (count) out[n++] = v;
    while (n < count) {
        uint64_t min_delta = (uint64_t)th_zigzag(&t);
        if (t.bad || (uint64_t)(t.end - t.p) < mini) return -1;
        const uint8_t *widths = t.p;
        t.p += mini;
        for (uint64_t m = 0; m < mini && n < count; m++) {
            int bw = widths[m];
            if (bw > 64) return -1;
            size_t nbytes = per / 8 * (size_t)bw;
            if ((size_t)(t.end - t.p) < nbytes) return -1;
            for (size_t j = 0; j < per && n < count; j++) {
                uint64_t d = 0, bit = (uint64_t)j * (uint64_t)bw;
                for (int k = 0; k < bw; k++, bit++)
                    d |= (uint64_t)((t.p[bit >> 3] >> (bit & 7)) & 1) << k;
                v += min_delta + d;
                out[n++] = v;
            }
            t.p += nbytes;
        }
    }
    return (long)(t.p - p);
}

static int bit_width(int max) {
    int w = 0;
    while (max >> w)
        w++;
    return w;
}

/* ---- one column chunk ---- */

typedef struct pq_colrd {
    pq_file *f;
    const pq_node *leaf;
    const pq_node *path[66]; /* root's child .. leaf */
    int depth;
    char colname[512];
    int rg, page;
    json_t **rows;
    int64_t num_rows, row;
    size_t cursor[66]; /* element index per repetition level */
    json_t **dict;
    size_t n_dict;
} pq_colrd;

static rlc_status col_err(const pq_colrd *c, rlc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rlc_status col_err(const pq_colrd *c, rlc_status st, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->page >= 0)
        return rlc_errorf(st, "%s: column %s, row group %d, page %d: %s", c->f->name, c->colname,
                          c->rg, c->page, msg);
    return rlc_errorf(st, "%s: column %s, row group %d: %s", c->f->name, c->colname, c->rg, msg);
}

typedef struct slot {
    json_t *c; /* an object (key) or an array (idx) */
    const char *key;
    size_t idx;
} slot;

static json_t *slot_get(slot s) {
    return json_is_object(s.c) ? json_object_get(s.c, s.key) : json_array_get(s.c, s.idx);
}

/* Stores v (stolen) at s; -1 when s lies past the end of its array. */
static int slot_put(slot s, json_t *v) {
    if (json_is_object(s.c)) return json_object_set_new(s.c, s.key, v);
    size_t n = json_array_size(s.c);
    if (s.idx == n) return json_array_append_new(s.c, v);
    if (s.idx < n) return json_array_set_new(s.c, s.idx, v);
    json_decref(v);
    return -1;
}

/* The object or array at s, made when absent or null; NULL on a clash. */
static json_t *slot_container(slot s, int array) {
    json_t *v = slot_get(s);
    if (v && (array ? json_is_array(v) : json_is_object(v))) return v;
    if (v && !json_is_null(v)) return NULL;
    v = array ? json_array() : json_object();
    if (!v || slot_put(s, v)) return NULL;
    return v;
}

/* Places one level triple (r already applied to the cursors) into its row. */
static rlc_status place(pq_colrd *c, int d, json_t *v) {
    slot s = {c->rows[c->row], c->path[0]->el->name, 0};
    for (int i = 0; i < c->depth; i++) {
        const pq_node *n = c->path[i];
        int last = i + 1 == c->depth;
        if (n->el->repetition == REP_REPEATED) {
            json_t *arr = slot_container(s, 1);
            if (!arr) goto clash;
            if (d < n->def) return RLC_OK; /* an empty list */
            slot es = {arr, NULL, c->cursor[n->rep]};
            if (n->transparent) {
                s = es;
                continue;
            }
            if (last) {
                if (slot_put(es, v)) goto clash_v;
                return RLC_OK;
            }
            json_t *o = slot_container(es, 0);
            if (!o) goto clash;
            s = (slot){o, c->path[i + 1]->el->name, 0};
            continue;
        }
        if (d < n->def) {
            if (!slot_get(s) && slot_put(s, json_null())) goto clash;
            return RLC_OK;
        }
        if (last) {
            if (slot_put(s, v)) goto clash_v;
            return RLC_OK;
        }
        if (n->pass) continue; /* the repeated child puts its array here */
        json_t *o = slot_container(s, 0);
        if (!o) goto clash;
        s = (slot){o, c->path[i + 1]->el->name, 0};
    }
    return RLC_OK;
clash:
    json_decref(v);
clash_v:
    return col_err(c, RLC_ERR_FORMAT, "row %lld: levels disagree with the other columns",
                   (long long)c->row);
}

/* Assembles n level triples; vals holds the defined values in order (stolen). */
static rlc_status assemble(pq_colrd *c, const uint32_t *rep, const uint32_t *def, size_t n,
                           json_t **vals, size_t n_vals) {
    int max_def = c->leaf->def, max_rep = c->leaf->rep;
    size_t vi = 0;
    rlc_status st = RLC_OK;
    for (size_t i = 0; i < n && st == RLC_OK; i++) {
        int r = max_rep ? (int)rep[i] : 0, d = max_def ? (int)def[i] : max_def;
        if (r > max_rep || d > max_def) {
            st = col_err(c, RLC_ERR_FORMAT, "level %d above the column's maximum %d",
                         r > max_rep ? r : d, r > max_rep ? max_rep : max_def);
            break;
        }
        if (r == 0) {
            if (++c->row >= c->num_rows) {
                st = col_err(c, RLC_ERR_FORMAT, "more rows than the row group's %lld",
                             (long long)c->num_rows);
                break;
            }
            memset(c->cursor, 0, sizeof c->cursor);
            if (!c->rows[c->row] && !(c->rows[c->row] = json_object())) {
                st = RLC_ERR_NOMEM;
                break;
            }
        } else if (c->row < 0) {
            st = col_err(c, RLC_ERR_FORMAT, "the first value continues a row");
            break;
        } else {
            c->cursor[r]++;
            for (int j = r + 1; j <= max_rep; j++)
                c->cursor[j] = 0;
        }
        json_t *v = NULL;
        if (d == max_def) {
            if (vi >= n_vals) {
                st = col_err(c, RLC_ERR_FORMAT, "fewer values than definition levels say");
                break;
            }
            v = vals[vi];
            vals[vi++] = NULL;
        }
        st = place(c, d, v);
    }
    return st;
}

static rlc_status decompress(pq_colrd *c, int codec, const uint8_t *src, size_t n, uint8_t *dst,
                             size_t want) {
    size_t got = 0;
    if (codec == CODEC_SNAPPY) {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != want ||
            snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK)
            return col_err(c, RLC_ERR_FORMAT, "snappy data does not decompress to %zu bytes", want);
        got = len;
    } else if (codec == CODEC_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK) return RLC_ERR_NOMEM;
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = dst;
        z.avail_out = (uInt)want;
        int zr = Z_OK;
        while (zr == Z_OK)
            zr = inflate(&z, Z_FINISH);
        got = z.total_out;
        inflateEnd(&z);
        if (zr != Z_STREAM_END)
            return col_err(c, RLC_ERR_FORMAT, "gzip data does not decompress to %zu bytes", want);
    } else if (codec == CODEC_ZSTD) {
        got = ZSTD_decompress(dst, want, src, n);
        if (ZSTD_isError(got))
            return col_err(c, RLC_ERR_FORMAT, "zstd: %s", ZSTD_getErrorName(got));
    }
    if (got != want)
        return col_err(c, RLC_ERR_FORMAT, "decompressed to %zu bytes, the header says %zu", got,
                       want);
    return RLC_OK;
}

static const char *codec_name(int codec) {
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                        "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return codec >= 0 && codec <= CODEC_LZ4_RAW ? names[codec] : "unknown";
}

/* Page bytes [p, p+n) decompressed to want bytes: *out points at them (into
 * the file when uncompressed, else into *owned). */
static rlc_status page_bytes(pq_colrd *c, int codec, const uint8_t *p, size_t n, size_t want,
                             const uint8_t **out, uint8_t **owned) {
    *owned = NULL;
    if (codec == CODEC_NONE) {
        if (n != want)
            return col_err(c, RLC_ERR_FORMAT, "uncompressed page of %zu bytes says %zu", n, want);
        *out = p;
        return RLC_OK;
    }
    if (codec != CODEC_SNAPPY && codec != CODEC_GZIP && codec != CODEC_ZSTD)
        return col_err(c, RLC_ERR_UNSUPPORTED,
                       "compression %s is not supported (none, snappy, gzip, zstd are)",
                       codec_name(codec));
    if (want > c->f->bytes_left)
        return col_err(c, RLC_ERR_FORMAT,
                       "pages decompress to more than %d times the file's size; refusing",
                       RLC_PARQUET_MAX_BYTES_PER_BYTE);
    c->f->bytes_left -= want;
    *owned = rlc_malloc(want ? want : 1);
    if (!*owned) return RLC_ERR_NOMEM;
    RLC_TRY(decompress(c, codec, p, n, *owned, want));
    *out = *owned;
    return RLC_OK;
}

/* The delta and byte-stream-split encodings rewritten as PLAIN bytes, so that
 * decode_plain converts every encoding the same way. *buf is owned. */
static rlc_status to_plain(pq_colrd *c, int enc, const uint8_t *p, const uint8_t *end, size_t n,
                           uint8_t **buf, size_t *len) {
    const pq_el *e = c->leaf->el;
    size_t w = e->type == PT_INT32 || e->type == PT_FLOAT    ? 4
               : e->type == PT_INT64 || e->type == PT_DOUBLE ? 8
               : e->type == PT_FLBA                          ? (size_t)e->type_length
                                                             : 0;
    size_t avail = (size_t)(end - p);
    *buf = NULL;
    if (enc == ENC_BYTE_STREAM_SPLIT) {
        if (!w) return col_err(c, RLC_ERR_FORMAT, "BYTE_STREAM_SPLIT on a variable-width column");
        if (n > avail / w) return col_err(c, RLC_ERR_FORMAT, "BYTE_STREAM_SPLIT values truncated");
        if (!(*buf = rlc_malloc(n * w + 1))) return RLC_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            for (size_t b = 0; b < w; b++)
                (*buf)[i * w + b] = p[b * n + i];
        *len = n * w;
        return RLC_OK;
    }
    int ints = enc == ENC_DELTA_BINARY_PACKED;
    if (ints ? e->type != PT_INT32 && e->type != PT_INT64 : e->type != PT_BYTE_ARRAY)
        return col_err(c, RLC_ERR_FORMAT, "encoding %d does not fit the column's type", enc);
    uint64_t *a = rlc_calloc(2 * n + 1, sizeof *a), *b = a + n;
    if (!a) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    long used = decode_delta(p, end, n, a), used2 = 0;
    if (used >= 0 && enc == ENC_DELTA_BYTE_ARRAY) { /* prefix lengths, then suffix lengths */
        used2 = decode_delta(p + used, end, n, b);
        if (used2 < 0) used = -1;
    }
    if (used < 0) {
        free(a);
        return col_err(c, RLC_ERR_FORMAT, "DELTA-encoded values truncated or malformed");
    }
    const uint8_t *data = p + used + used2;
    size_t left = (size_t)(end - data), need = 0, out = 0, prev = 0;
    const uint64_t *sfx = enc == ENC_DELTA_BYTE_ARRAY ? b : a;
    for (size_t i = 0; i < n && !ints && st == RLC_OK; i++) {
        uint64_t pre = enc == ENC_DELTA_BYTE_ARRAY ? a[i] : 0;
        if (sfx[i] > left - need || pre > prev)
            st = col_err(c, RLC_ERR_FORMAT, "value %zu: length runs past the page", i);
        need += (size_t)sfx[i];
        prev = (size_t)(pre + sfx[i]);
        if (st == RLC_OK && (out += 4 + prev) > c->f->bytes_left)
            st = col_err(c, RLC_ERR_FORMAT, "values expand past %d times the file's size",
                         RLC_PARQUET_MAX_BYTES_PER_BYTE);
    }
    if (st == RLC_OK) {
        *len = ints ? n * w : out;
        if (!ints) c->f->bytes_left -= out;
        if (!(*buf = rlc_malloc(*len + 1))) st = RLC_ERR_NOMEM;
    }
    uint8_t *q = *buf, *last = NULL;
    for (size_t i = 0; i < n && st == RLC_OK; i++) {
        if (ints) {
            for (size_t k = 0; k < w; k++)
                *q++ = (uint8_t)(a[i] >> (8 * k));
            continue;
        }
        size_t pre = enc == ENC_DELTA_BYTE_ARRAY ? (size_t)a[i] : 0, n_s = (size_t)sfx[i];
        for (int k = 0; k < 4; k++)
            *q++ = (uint8_t)((pre + n_s) >> (8 * k));
        if (pre) memcpy(q, last, pre); /* the previous value's first pre bytes */
        last = q;
        memcpy(q + pre, data, n_s);
        q += pre + n_s;
        data += n_s;
    }
    free(a);
    if (st) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

/* Values of a data page: n_vals defined values from [p, end) into vals. */
static rlc_status page_values(pq_colrd *c, int enc, const uint8_t *p, const uint8_t *end,
                              size_t n_vals, json_t **vals) {
    const pq_el *e = c->leaf->el;
    int nomem = 0;
    if (n_vals == 0) return RLC_OK; /* all nulls or empty lists */
    if (enc == ENC_BYTE_STREAM_SPLIT || enc == ENC_DELTA_BINARY_PACKED ||
        enc == ENC_DELTA_LENGTH_BYTE_ARRAY || enc == ENC_DELTA_BYTE_ARRAY) {
        uint8_t *buf = NULL;
        size_t len = 0;
        RLC_TRY(to_plain(c, enc, p, end, n_vals, &buf, &len));
        long used = decode_plain(e, buf, buf + len, n_vals, vals, &nomem);
        free(buf);
        if (used < 0)
            return nomem ? RLC_ERR_NOMEM
                         : col_err(c, RLC_ERR_INTERNAL, "re-encoded values do not decode");
        return RLC_OK;
    }
    if (enc == ENC_PLAIN) {
        if (decode_plain(e, p, end, n_vals, vals, &nomem) < 0)
            return nomem ? RLC_ERR_NOMEM
                         : col_err(c, RLC_ERR_FORMAT, "PLAIN values end before %zu values", n_vals);
        return RLC_OK;
    }
    if (enc != ENC_PLAIN_DICTIONARY && enc != ENC_RLE_DICTIONARY && enc != ENC_RLE)
        return col_err(c, RLC_ERR_UNSUPPORTED, "value encoding %d is not supported", enc);
    if (enc == ENC_RLE && e->type != PT_BOOLEAN)
        return col_err(c, RLC_ERR_FORMAT, "RLE values in a non-boolean column");
    int bw = 1;
    if (enc == ENC_RLE) { /* booleans: a 4-byte length, then the runs */
        if (end - p < 4 || le(p, 4) > (uint64_t)(end - p - 4))
            return col_err(c, RLC_ERR_FORMAT, "RLE boolean values truncated");
        end = p + 4 + le(p, 4);
        p += 4;
    } else {
        if (!c->dict)
            return col_err(c, RLC_ERR_FORMAT, "dictionary-encoded page without a dictionary");
        if (p >= end) return col_err(c, RLC_ERR_FORMAT, "dictionary indices missing");
        bw = *p++;
        if (bw > 32) return col_err(c, RLC_ERR_FORMAT, "dictionary index width %d > 32", bw);
    }
    uint32_t *idx = rlc_malloc((n_vals ? n_vals : 1) * sizeof *idx);
    if (!idx) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    if (decode_rle(p, end, bw, n_vals, idx))
        st = col_err(c, RLC_ERR_FORMAT, "RLE/bit-packed values truncated or malformed");
    for (size_t i = 0; i < n_vals && st == RLC_OK; i++) {
        if (enc == ENC_RLE) {
            vals[i] = json_boolean(idx[i]);
        } else if (idx[i] >= c->n_dict) {
            st = col_err(c, RLC_ERR_FORMAT, "dictionary index %u >= the dictionary's %zu", idx[i],
                         c->n_dict);
        } else {
            vals[i] = json_incref(c->dict[idx[i]]);
        }
    }
    free(idx);
    return st;
}

/* Levels of n values at [*p, end): v1 pages prefix each with its 4-byte
 * length (len < 0), v2 give it (len >= 0). max 0 means none stored. */
static rlc_status page_levels(pq_colrd *c, const uint8_t **p, const uint8_t *end, long len, int max,
                              size_t n, uint32_t *out, const char *what) {
    if (max == 0) { /* none stored; a v2 page may still give them bytes */
        if (len > 0 && (uint64_t)len <= (uint64_t)(end - *p)) *p += len;
        return RLC_OK;
    }
    if (len < 0) {
        if (end - *p < 4) return col_err(c, RLC_ERR_FORMAT, "%s levels truncated", what);
        len = (long)le(*p, 4);
        *p += 4;
    }
    if ((uint64_t)len > (uint64_t)(end - *p))
        return col_err(c, RLC_ERR_FORMAT, "%s levels run past the page", what);
    if (decode_rle(*p, *p + len, bit_width(max), n, out))
        return col_err(c, RLC_ERR_FORMAT, "%s levels truncated or malformed", what);
    *p += len;
    return RLC_OK;
}

typedef struct page_hdr {
    int type, n_values, enc, def_enc, rep_enc, def_len, rep_len, compressed;
    int64_t size, csize;
} page_hdr;

static void read_page_sub(th *t, page_hdr *h, int v2) {
    int last = 0, id, type;
    if (++t->depth > TH_MAX_DEPTH) t->bad = 1;
    while (th_field(t, &last, &id, &type)) {
        if (type == TH_TRUE || type == TH_FALSE) {
            if (v2 && id == 7) h->compressed = type == TH_TRUE;
        } else if (type != TH_I32) {
            th_skip(t, type, 0);
        } else {
            int32_t v = th_i32(t);
            if (id == 1) h->n_values = v;
            if (id == 2 && !v2) h->enc = v;
            if (id == 3 && !v2) h->def_enc = v;
            if (id == 4 && v2) h->enc = v;
            if (id == 4 && !v2) h->rep_enc = v;
            if (id == 5 && v2) h->def_len = v;
            if (id == 6 && v2) h->rep_len = v;
        }
    }
    t->depth--;
}

/* A page header at [p, end): its fields and length in *hlen; -1 if malformed. */
static int read_page_hdr(const uint8_t *p, const uint8_t *end, page_hdr *h, size_t *hlen) {
    th t = {p, end, 0, 0};
    int last = 0, id, type;
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->compressed = 1;
    h->def_enc = h->rep_enc = ENC_RLE;
    while (th_field(&t, &last, &id, &type)) {
        if (id == 1 && type == TH_I32)
            h->type = th_i32(&t);
        else if (id == 2 && type == TH_I32)
            h->size = th_i32(&t);
        else if (id == 3 && type == TH_I32)
            h->csize = th_i32(&t);
        else if ((id == 5 || id == 7 || id == 8) && type == TH_STRUCT)
            read_page_sub(&t, h, id == 8);
        else
            th_skip(&t, type, 0);
    }
    *hlen = (size_t)(t.p - p);
    return t.bad || h->size < 0 || h->csize < 0 || h->n_values < 0 || h->def_len < 0 ||
                   h->rep_len < 0
               ? -1
               : 0;
}

static rlc_status read_dict(pq_colrd *c, const uint8_t *p, size_t n, const page_hdr *h) {
    if (c->dict) return col_err(c, RLC_ERR_FORMAT, "a second dictionary page");
    if (h->enc != ENC_PLAIN && h->enc != ENC_PLAIN_DICTIONARY)
        return col_err(c, RLC_ERR_UNSUPPORTED, "dictionary encoding %d is not PLAIN", h->enc);
    if ((uint64_t)h->n_values > c->f->values_left)
        return col_err(c, RLC_ERR_FORMAT, "too many values for the file's size");
    c->f->values_left -= (uint64_t)h->n_values;
    c->dict = rlc_calloc(h->n_values ? (size_t)h->n_values : 1, sizeof *c->dict);
    if (!c->dict) return RLC_ERR_NOMEM;
    c->n_dict = (size_t)h->n_values;
    int nomem = 0;
    if (decode_plain(c->leaf->el, p, p + n, c->n_dict, c->dict, &nomem) < 0)
        return nomem
                   ? RLC_ERR_NOMEM
                   : col_err(c, RLC_ERR_FORMAT, "dictionary ends before its %zu values", c->n_dict);
    return RLC_OK;
}

static rlc_status read_data_page(pq_colrd *c, int codec, const uint8_t *p, const page_hdr *h) {
    size_t n = (size_t)h->n_values;
    int v2 = h->type == PAGE_DATA_V2;
    if (n > c->f->values_left)
        return col_err(c, RLC_ERR_FORMAT, "%zu values: more than %d per byte of the file", n,
                       RLC_PARQUET_MAX_VALUES_PER_BYTE);
    c->f->values_left -= n;
    if (!v2 && ((c->leaf->def && h->def_enc != ENC_RLE) || (c->leaf->rep && h->rep_enc != ENC_RLE)))
        return col_err(c, RLC_ERR_UNSUPPORTED, "levels encoded with %d, not RLE",
                       c->leaf->def && h->def_enc != ENC_RLE ? h->def_enc : h->rep_enc);
    const uint8_t *body = NULL, *end = NULL;
    uint8_t *owned = NULL;
    uint32_t *rep = rlc_calloc(n ? n : 1, sizeof *rep), *def = rlc_calloc(n ? n : 1, sizeof *def);
    json_t **vals = rlc_calloc(n ? n : 1, sizeof *vals);
    rlc_status st = rep && def && vals ? RLC_OK : RLC_ERR_NOMEM;
    if (st == RLC_OK && v2) {
        /* levels first, never compressed; then the (maybe compressed) values */
        size_t lv = (size_t)h->rep_len + (size_t)h->def_len;
        if (lv > (size_t)h->csize || lv > (size_t)h->size)
            st = col_err(c, RLC_ERR_FORMAT, "level lengths exceed the page");
        const uint8_t *q = p;
        if (st == RLC_OK)
            st = page_levels(c, &q, p + lv, h->rep_len, c->leaf->rep, n, rep, "repetition");
        if (st == RLC_OK)
            st = page_levels(c, &q, p + lv, h->def_len, c->leaf->def, n, def, "definition");
        if (st == RLC_OK)
            st = page_bytes(c, h->compressed ? codec : CODEC_NONE, p + lv, (size_t)h->csize - lv,
                            (size_t)h->size - lv, &body, &owned);
        if (st == RLC_OK) end = body + ((size_t)h->size - lv);
    } else if (st == RLC_OK) {
        st = page_bytes(c, codec, p, (size_t)h->csize, (size_t)h->size, &body, &owned);
        end = st == RLC_OK ? body + h->size : NULL;
        if (st == RLC_OK) st = page_levels(c, &body, end, -1, c->leaf->rep, n, rep, "repetition");
        if (st == RLC_OK) st = page_levels(c, &body, end, -1, c->leaf->def, n, def, "definition");
    }
    size_t n_vals = 0;
    for (size_t i = 0; i < n && st == RLC_OK; i++)
        n_vals += !c->leaf->def || (int)def[i] == c->leaf->def;
    if (st == RLC_OK) st = page_values(c, h->enc, body, end, n_vals, vals);
    if (st == RLC_OK) st = assemble(c, rep, def, n, vals, n_vals);
    for (size_t i = 0; i < n_vals; i++)
        json_decref(vals[i]);
    free(vals);
    free(rep);
    free(def);
    free(owned);
    return st;
}

static rlc_status read_chunk(pq_colrd *c, const pq_col *col) {
    pq_file *f = c->f;
    c->page = -1;
    if (col->has_file_path)
        return col_err(c, RLC_ERR_UNSUPPORTED, "data in another file is not supported");
    if (col->type != c->leaf->el->type)
        return col_err(c, RLC_ERR_FORMAT, "chunk type %d differs from the schema's %d", col->type,
                       c->leaf->el->type);
    int64_t start = col->data_off;
    if (col->dict_off > 0 && col->dict_off < start) start = col->dict_off;
    if (start < 4 || col->total_compressed < 0 || (uint64_t)start > f->len ||
        (uint64_t)col->total_compressed > f->len - (uint64_t)start || col->num_values < 0)
        return col_err(c, RLC_ERR_FORMAT, "chunk offsets lie outside the file");
    const uint8_t *p = f->buf + start, *end = p + col->total_compressed;
    int64_t seen = 0;
    rlc_status st = RLC_OK;
    for (c->page = 0; st == RLC_OK && seen < col->num_values && p < end; c->page++) {
        page_hdr h;
        size_t hlen;
        if (read_page_hdr(p, end, &h, &hlen))
            return col_err(c, RLC_ERR_FORMAT, "malformed page header");
        p += hlen;
        if ((uint64_t)h.csize > (uint64_t)(end - p))
            return col_err(c, RLC_ERR_FORMAT, "page of %lld bytes runs past the chunk",
                           (long long)h.csize);
        if (h.type == PAGE_DICTIONARY) {
            const uint8_t *body;
            uint8_t *owned;
            st = page_bytes(c, col->codec, p, (size_t)h.csize, (size_t)h.size, &body, &owned);
            if (st == RLC_OK) st = read_dict(c, body, (size_t)h.size, &h);
            free(owned);
        } else if (h.type == PAGE_DATA || h.type == PAGE_DATA_V2) {
            st = read_data_page(c, col->codec, p, &h);
            seen += h.n_values;
        }
        p += h.csize;
    }
    if (st) return st;
    c->page = -1;
    if (seen != col->num_values)
        return col_err(c, RLC_ERR_FORMAT, "pages hold %lld values, the metadata says %lld",
                       (long long)seen, (long long)col->num_values);
    if (c->row + 1 != c->num_rows)
        return col_err(c, RLC_ERR_FORMAT, "%lld rows, the row group says %lld",
                       (long long)(c->row + 1), (long long)c->num_rows);
    return RLC_OK;
}

/* ---- maps: arrays of {key, value} become objects ---- */

static void fix_value(const pq_node *n, slot s);

/* n's value at s, an array of its instances when n is repeated. */
static void fix_node(const pq_node *n, slot s) {
    json_t *v = slot_get(s);
    if (!v || json_is_null(v)) return;
    if (n->el->repetition == REP_REPEATED) {
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
            fix_value(n, (slot){v, NULL, i});
        return;
    }
    fix_value(n, s);
}

/* One instance of n at s. */
static void fix_value(const pq_node *n, slot s) {
    json_t *v = slot_get(s);
    if (!n->n_kids || !v || json_is_null(v)) return;
    if (n->pass) {
        const pq_node *r = n->kids[0];
        if (!json_is_array(v)) return;
        for (size_t i = 0; i < json_array_size(v); i++) {
            slot es = {v, NULL, i};
            if (r->transparent)
                fix_node(r->kids[0], es);
            else
                fix_value(r, es);
        }
        if (!n->is_map) return;
        json_t *obj = json_object();
        if (!obj) return;
        const char *kname = r->kids[0]->el->name, *vname = r->kids[1]->el->name;
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *kv = json_array_get(v, i), *k = json_object_get(kv, kname);
            char buf[64];
            const char *key = buf;
            if (json_is_string(k))
                key = json_string_value(k);
            else if (json_is_integer(k))
                snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
            else if (json_is_real(k))
                snprintf(buf, sizeof buf, "%.17g", json_real_value(k));
            else if (json_is_boolean(k))
                snprintf(buf, sizeof buf, "%s", json_is_true(k) ? "true" : "false");
            else
                continue; /* a null key: no entry */
            json_t *val = json_object_get(kv, vname);
            json_object_set(obj, key, val ? val : json_null());
        }
        slot_put(s, obj);
        return;
    }
    if (!json_is_object(v)) return;
    for (int k = 0; k < n->n_kids; k++)
        fix_node(n->kids[k], (slot){v, n->kids[k]->el->name, 0});
}

/* ---- the file ---- */

static void file_free(pq_file *f) {
    for (size_t i = 0; i < f->n_els; i++)
        free(f->els[i].name);
    free(f->els);
    for (size_t i = 0; i < f->n_rgs; i++)
        free(f->rgs[i].cols);
    free(f->rgs);
    for (size_t i = 0; f->nodes && i < f->n_els; i++)
        free(f->nodes[i].kids);
    free(f->nodes);
    free(f->leaves);
}

static void col_setup(pq_colrd *c, pq_file *f, size_t leaf) {
    memset(c, 0, sizeof *c);
    c->f = f;
    c->leaf = f->leaves[leaf];
    const pq_node *n = c->leaf;
    int depth = 0;
    for (const pq_node *q = n; q->parent; q = q->parent)
        depth++;
    c->depth = depth;
    for (const pq_node *q = n; q->parent; q = q->parent)
        c->path[--depth] = q;
    size_t o = 0;
    for (int i = 0; i < c->depth && o + 1 < sizeof c->colname; i++)
        o += (size_t)snprintf(c->colname + o, sizeof c->colname - o, "%s%s", i ? "." : "",
                              c->path[i]->el->name);
    c->page = -1;
}

static void rows_free(json_t **rows, int64_t n) {
    for (int64_t i = 0; rows && i < n; i++)
        json_decref(rows[i]);
    free(rows);
}

static rlc_status read_row_group_rows(pq_file *f, int rg, rlc_jsonl_fn fn, void *ctx,
                                      size_t *count) {
    const pq_rg *g = &f->rgs[rg];
    if (g->n_cols != f->n_leaves)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: row group %d has %zu columns, the schema %zu",
                          f->name, rg, g->n_cols, f->n_leaves);
    if (g->num_rows < 0 || (uint64_t)g->num_rows > f->values_left)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: row group %d claims %lld rows: more than %d per byte of the file",
                          f->name, rg, (long long)g->num_rows, RLC_PARQUET_MAX_VALUES_PER_BYTE);
    f->values_left -= (uint64_t)g->num_rows;
    json_t **rows = rlc_calloc(g->num_rows ? (size_t)g->num_rows : 1, sizeof *rows);
    if (!rows) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    /* row objects are made as the first column reaches them (assemble), so a
     * file that claims many rows and holds few costs little */
    for (size_t l = 0; l < f->n_leaves && st == RLC_OK; l++) {
        pq_colrd c;
        col_setup(&c, f, l);
        c.rg = rg;
        c.rows = rows;
        c.num_rows = g->num_rows;
        c.row = -1;
        st = read_chunk(&c, &g->cols[l]);
        for (size_t i = 0; i < c.n_dict; i++)
            json_decref(c.dict[i]);
        free(c.dict);
    }
    const pq_node *root = &f->nodes[0];
    for (int64_t i = 0; i < g->num_rows && st == RLC_OK; i++) {
        for (int k = 0; k < root->n_kids; k++)
            fix_node(root->kids[k], (slot){rows[i], root->kids[k]->el->name, 0});
        ++*count;
        st = fn(rows[i], f->name, *count, ctx);
    }
    rows_free(rows, g->num_rows);
    return st;
}

int rlc_parquet_path(const char *path) {
    size_t n = strlen(path);
    return n >= 8 && !strcmp(path + n - 8, ".parquet");
}

rlc_status rlc_parquet_foreach_mem(const char *name, const uint8_t *data, size_t len,
                                   rlc_jsonl_fn fn, void *ctx, size_t *count) {
    size_t seen = 0;
    if (count) *count = 0;
    if (len < 12 || memcmp(data, "PAR1", 4) || memcmp(data + len - 4, "PAR1", 4))
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: not a Parquet file (no \"PAR1\" at its start and end)", name);
    uint64_t flen = le(data + len - 8, 4);
    if (flen > len - 12)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: footer length %llu exceeds the file", name,
                          (unsigned long long)flen);
    pq_file f;
    memset(&f, 0, sizeof f);
    f.name = name;
    f.buf = data;
    f.len = len - 8 - flen; /* column data lies before the footer */
    f.values_left = (uint64_t)len * RLC_PARQUET_MAX_VALUES_PER_BYTE + RLC_PARQUET_SLACK_VALUES;
    f.bytes_left = (uint64_t)len * RLC_PARQUET_MAX_BYTES_PER_BYTE + RLC_PARQUET_SLACK_BYTES;
    rlc_status st = read_footer(&f, data + len - 8 - flen, (size_t)flen);
    if (st == RLC_OK) st = build_schema(&f);
    if (st == RLC_OK && f.n_leaves == 0) st = meta_bad(&f, "no columns");
    for (size_t rg = 0; rg < f.n_rgs && st == RLC_OK; rg++)
        st = read_row_group_rows(&f, (int)rg, fn, ctx, &seen);
    file_free(&f);
    if (count) *count = seen;
    if (st == RLC_OK && seen == 0) st = rlc_errorf(RLC_ERR_FORMAT, "%s: no examples", name);
    return st;
}

rlc_status rlc_parquet_foreach(const char *path, rlc_jsonl_fn fn, void *ctx, size_t *count) {
    char *data;
    size_t len;
    if (count) *count = 0;
    RLC_TRY(rlc_read_file(path, &data, &len));
    rlc_status st = rlc_parquet_foreach_mem(path, (const uint8_t *)data, len, fn, ctx, count);
    free(data);
    return st;
}
