/* safetensors reader and writer.
 * Reader: each file is mmapped read-only; the header is validated completely
 * before any tensor is handed out (the checks of the reference Python
 * implementation: known dtypes, byte counts that match the shapes, offsets
 * that tile the data buffer exactly). Tensors are listed in data order.
 * Writer: tensors are copied at add time and streamed to path.tmp, then
 * renamed into place. The format forbids uncovered bytes, so alignment comes
 * from laying tensors out by element size (largest first, otherwise in the
 * order added) after a header padded with spaces to a multiple of 8 bytes:
 * every tensor starts at a multiple of its element size in the file. */
#include "model/safetensors.h"

#include "base/checked.h"

#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation's limit; real headers are well under 10 MB. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define ST_INDEX_NAME "model.safetensors.index.json"
#define ST_SINGLE_NAME "model.safetensors"

typedef struct st_shard {
    char *path;
    void *map;
    size_t map_len;
} st_shard;

struct rlc_st_file {
    char *path; /* as opened: a file, or the directory of a sharded set */
    st_shard *shards;
    int nshards, cap_shards;
    rlc_st_tensor *tensors;
    int *shard_of; /* shard index of each tensor */
    int count, cap;
    char **meta; /* key, value pairs: meta[2i], meta[2i + 1] */
    int nmeta, cap_meta;
    int *by_name; /* tensor indices sorted by name, for rlc_st_find */
};

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rlc_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Grows *arr (of elem bytes each) so that it holds at least need elements. */
static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) {
        rlc_errorf(RLC_ERR_NOMEM, "out of memory growing a table to %d entries", nc);
        return -1;
    }
    *arr = p;
    *cap = nc;
    return 0;
}

void rlc_st_close(rlc_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->nshards; i++) {
        if (f->shards[i].map) munmap(f->shards[i].map, f->shards[i].map_len);
        free(f->shards[i].path);
    }
    for (int i = 0; i < f->count; i++)
        free((char *)f->tensors[i].name);
    for (int i = 0; i < 2 * f->nmeta; i++)
        free(f->meta[i]);
    free(f->shards);
    free(f->tensors);
    free(f->shard_of);
    free(f->meta);
    free(f->by_name);
    free(f->path);
    free(f);
}

static rlc_st_file *file_new(const char *path) {
    rlc_st_file *f = rlc_calloc(1, sizeof *f);
    if (!f) return NULL;
    f->path = str_dup(path);
    if (!f->path) {
        free(f);
        return NULL;
    }
    return f;
}

static rlc_status add_meta(rlc_st_file *f, const char *key, const char *value) {
    if (grow((void **)&f->meta, &f->cap_meta, 2 * (f->nmeta + 1), sizeof(char *)))
        return RLC_ERR_NOMEM;
    char *k = str_dup(key), *v = str_dup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return RLC_ERR_NOMEM;
    }
    f->meta[2 * f->nmeta] = k;
    f->meta[2 * f->nmeta + 1] = v;
    f->nmeta++;
    return RLC_OK;
}

/* After a JSON_REJECT_DUPLICATES failure jansson points just past the
 * repeated key but only quotes it when short; recover it from the text. */
static void duplicate_key(const char *text, size_t len, size_t pos, char *out, size_t cap) {
    out[0] = 0;
    if (pos > len) return;
    size_t end = pos;
    while (end > 0 && text[end - 1] != '"')
        end--;
    if (end == 0) return;
    size_t begin = end - 1; /* index of the closing quote */
    while (begin > 0 && !(text[begin - 1] == '"' && (begin < 2 || text[begin - 2] != '\\')))
        begin--;
    if (begin == 0) return;
    json_t *s = json_loadb(text + begin - 1, end - begin + 1, JSON_DECODE_ANY, NULL);
    if (json_is_string(s)) snprintf(out, cap, "%s", json_string_value(s));
    json_decref(s);
}

typedef struct st_span {
    uint64_t begin, end;
    int idx; /* into f->tensors */
} st_span;

static int span_cmp(const void *a, const void *b) {
    const st_span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Reads a non-negative JSON integer; 0 on success. */
static int json_u64(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Validates one header entry and appends the tensor (data not yet set). */
static rlc_status parse_entry(rlc_st_file *f, const char *path, const char *name,
                              const json_t *entry, uint64_t buf_len, st_span *span) {
    if (!json_is_object(entry))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s': entry must be a JSON object", path,
                          name);
    const json_t *jd = json_object_get(entry, "dtype");
    const json_t *js = json_object_get(entry, "shape");
    const json_t *jo = json_object_get(entry, "data_offsets");
    if (!json_is_string(jd))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s': %s 'dtype' (expected a string)", path,
                          name, jd ? "non-string" : "missing");
    rlc_dtype dt;
    if (rlc_dtype_parse(json_string_value(jd), &dt) != 0)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: tensor '%s': unknown dtype '%s' (supported: F32, F16, BF16, I32, "
                          "I64, U8)",
                          path, name, json_string_value(jd));
    if (!json_is_array(js))
        return rlc_errorf(
            RLC_ERR_FORMAT,
            "%s: tensor '%s': %s 'shape' (expected an array of non-negative integers)", path, name,
            js ? "non-array" : "missing");
    size_t ndim = json_array_size(js);
    if (ndim > RLC_ST_MAX_DIMS)
        return rlc_errorf(RLC_ERR_UNSUPPORTED, "%s: tensor '%s': %zu dimensions (at most %d)", path,
                          name, ndim, RLC_ST_MAX_DIMS);
    rlc_st_tensor t = {.dtype = dt, .ndim = (int)ndim, .numel = 1};
    for (size_t d = 0; d < ndim; d++) {
        uint64_t dim;
        if (json_u64(json_array_get(js, d), &dim) != 0)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: tensor '%s': shape[%zu] must be a non-negative integer", path,
                              name, d);
        t.shape[d] = (int64_t)dim;
        size_t numel = 0;
        if (rlc_mul_size(t.numel, (size_t)dim, &numel))
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: tensor '%s': shape is too large (%zu x %llu elements overflow)",
                              path, name, t.numel, (unsigned long long)dim);
        t.numel = numel;
    }
    if (rlc_mul_size(t.numel, rlc_dtype_size(dt), &t.nbytes))
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: tensor '%s': shape is too large (%zu elements x %zu bytes overflow)",
                          path, name, t.numel, rlc_dtype_size(dt));
    uint64_t b, e;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || json_u64(json_array_get(jo, 0), &b) ||
        json_u64(json_array_get(jo, 1), &e))
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: tensor '%s': %s 'data_offsets' (expected [begin, end], two "
                          "non-negative integers)",
                          path, name, jo ? "invalid" : "missing");
    if (b > e)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets begin %llu is after end %llu", path, name,
                          (unsigned long long)b, (unsigned long long)e);
    if (e > buf_len)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets end %llu is beyond the data buffer (%llu "
                          "bytes)",
                          path, name, (unsigned long long)e, (unsigned long long)buf_len);
    if (e - b != t.nbytes)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: tensor '%s': shape of %zu %s elements needs %zu bytes but "
                          "data_offsets [%llu, %llu] span %llu",
                          path, name, t.numel, rlc_dtype_name(dt), t.nbytes, (unsigned long long)b,
                          (unsigned long long)e, (unsigned long long)(e - b));
    if (grow((void **)&f->tensors, &f->cap, f->count + 1, sizeof *f->tensors)) return RLC_ERR_NOMEM;
    int *so = realloc(f->shard_of, (size_t)f->cap * sizeof *so);
    if (!so) return rlc_errorf(RLC_ERR_NOMEM, "out of memory reading %s", path);
    f->shard_of = so;
    t.name = str_dup(name);
    if (!t.name) return RLC_ERR_NOMEM;
    span->begin = b;
    span->end = e;
    span->idx = f->count;
    f->shard_of[f->count] = f->nshards - 1;
    f->tensors[f->count++] = t;
    return RLC_OK;
}

static rlc_status parse_metadata(rlc_st_file *f, const char *path, const json_t *meta) {
    if (json_is_null(meta)) return RLC_OK;
    if (!json_is_object(meta))
        return rlc_errorf(RLC_ERR_FORMAT, "%s: __metadata__ must be an object of strings", path);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)meta, k, v) {
        if (!json_is_string(v))
            return rlc_errorf(RLC_ERR_FORMAT, "%s: __metadata__ value of '%s' must be a string",
                              path, k);
        RLC_TRY(add_meta(f, k, json_string_value(v)));
    }
    return RLC_OK;
}

/* Checks that the spans tile [0, buf_len) exactly: no overlap, no gap. */
static rlc_status check_coverage(const rlc_st_file *f, const char *path, st_span *spans, int n,
                                 uint64_t buf_len) {
    qsort(spans, (size_t)n, sizeof *spans, span_cmp);
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        if (spans[i].begin < pos)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: tensors '%s' and '%s' overlap (bytes %llu..%llu of the data "
                              "buffer)",
                              path, f->tensors[spans[i - 1].idx].name,
                              f->tensors[spans[i].idx].name, (unsigned long long)spans[i].begin,
                              (unsigned long long)pos);
        if (spans[i].begin > pos)
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: bytes %llu..%llu of the data buffer, before tensor '%s', are "
                              "not covered by any tensor",
                              path, (unsigned long long)pos, (unsigned long long)spans[i].begin,
                              f->tensors[spans[i].idx].name);
        pos = spans[i].end;
    }
    if (pos != buf_len)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: bytes %llu..%llu at the end of the data buffer are not covered by "
                          "any tensor",
                          path, (unsigned long long)pos, (unsigned long long)buf_len);
    return RLC_OK;
}

static rlc_status parse_header(rlc_st_file *f, const char *path, const char *hdr, size_t hlen,
                               const unsigned char *buf, uint64_t buf_len) {
    json_error_t err;
    json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (json_error_code(&err) == json_error_duplicate_key) {
            char key[256];
            duplicate_key(hdr, hlen, (size_t)err.position, key, sizeof key);
            return rlc_errorf(RLC_ERR_FORMAT,
                              "%s: duplicate key '%s' in the header (tensor names must be unique)",
                              path, key);
        }
        return rlc_errorf(RLC_ERR_FORMAT, "%s: header is not valid JSON: %s (header byte %d)", path,
                          err.text, err.position);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return rlc_errorf(RLC_ERR_FORMAT, "%s: header is not a JSON object", path);
    }
    size_t n = json_object_size(root);
    st_span *spans = rlc_malloc((n ? n : 1) * sizeof *spans);
    if (!spans) {
        json_decref(root);
        return RLC_ERR_NOMEM;
    }
    int first = f->count, nspans = 0;
    rlc_status st = RLC_OK;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0)
            st = parse_metadata(f, path, val);
        else
            st = parse_entry(f, path, key, val, buf_len, &spans[nspans++]);
        if (st != RLC_OK) break;
    }
    if (st == RLC_OK) st = check_coverage(f, path, spans, nspans, buf_len);
    if (st == RLC_OK) {
        /* List tensors in data order: reorder this shard's slice by span. */
        rlc_st_tensor *sorted = rlc_malloc((size_t)(nspans ? nspans : 1) * sizeof *sorted);
        if (!sorted) st = RLC_ERR_NOMEM;
        for (int i = 0; sorted && i < nspans; i++) {
            sorted[i] = f->tensors[spans[i].idx];
            sorted[i].data = buf + spans[i].begin;
        }
        if (sorted && nspans) memcpy(f->tensors + first, sorted, (size_t)nspans * sizeof *sorted);
        free(sorted);
    }
    free(spans);
    json_decref(root);
    return st;
}

/* Maps and validates one file, appending its tensors and metadata to f. */
static rlc_status parse_shard(rlc_st_file *f, const char *path) {
    if (grow((void **)&f->shards, &f->cap_shards, f->nshards + 1, sizeof *f->shards))
        return RLC_ERR_NOMEM;
    st_shard *sh = &f->shards[f->nshards];
    memset(sh, 0, sizeof *sh);
    sh->path = str_dup(path);
    if (!sh->path) return RLC_ERR_NOMEM;
    f->nshards++; /* from here on rlc_st_close releases the shard */

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rlc_status st = errno == ENOENT ? RLC_ERR_NOT_FOUND : RLC_ERR_IO;
        return rlc_errorf(st, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return rlc_errorf(RLC_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: file is %llu bytes, too short for the 8-byte header length", path,
                          (unsigned long long)size);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return rlc_errorf(RLC_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
    sh->map = map;
    sh->map_len = (size_t)size;

    const unsigned char *p = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i]; /* little-endian */
    if (hlen > size - 8)
        return rlc_errorf(RLC_ERR_FORMAT,
                          "%s: header length %llu exceeds the %llu bytes after it (truncated or "
                          "not a safetensors file)",
                          path, (unsigned long long)hlen, (unsigned long long)(size - 8));
    if (hlen > ST_MAX_HEADER)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: header length %llu exceeds the limit of %llu bytes",
                          path, (unsigned long long)hlen, (unsigned long long)ST_MAX_HEADER);
    return parse_header(f, path, (const char *)p + 8, (size_t)hlen, p + 8 + hlen, size - 8 - hlen);
}

static int name_cmp(const void *a, const void *b, void *ctx) {
    const rlc_st_tensor *t = ctx;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

/* Builds the name index; names repeated across shards are an error. */
static rlc_status build_index(rlc_st_file *f) {
    f->by_name = rlc_malloc((size_t)(f->count ? f->count : 1) * sizeof *f->by_name);
    if (!f->by_name) return RLC_ERR_NOMEM;
    for (int i = 0; i < f->count; i++)
        f->by_name[i] = i;
    qsort_r(f->by_name, (size_t)f->count, sizeof *f->by_name, name_cmp, f->tensors);
    for (int i = 1; i < f->count; i++) {
        const rlc_st_tensor *a = &f->tensors[f->by_name[i - 1]], *b = &f->tensors[f->by_name[i]];
        if (strcmp(a->name, b->name) == 0)
            return rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s' appears in both %s and %s", f->path,
                              a->name, rlc_st_path_of(f, a), rlc_st_path_of(f, b));
    }
    return RLC_OK;
}

rlc_status rlc_st_open(const char *path, rlc_st_file **out) {
    *out = NULL;
    rlc_st_file *f = file_new(path);
    if (!f) return RLC_ERR_NOMEM;
    rlc_status st = parse_shard(f, path);
    if (st == RLC_OK) st = build_index(f);
    if (st != RLC_OK) {
        rlc_st_close(f);
        return st;
    }
    *out = f;
    return RLC_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Opens every shard named by the index's weight_map and checks that each
 * listed tensor is in the shard the index names. */
static rlc_status open_sharded(rlc_st_file *f, const char *dir, const char *index_path) {
    char *text;
    RLC_TRY(rlc_read_file(index_path, &text, NULL));
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    free(text);
    if (!root)
        return rlc_errorf(RLC_ERR_FORMAT, "%s: not valid JSON: %s (line %d)", index_path, err.text,
                          err.line);
    rlc_status st = RLC_OK;
    const char **shards = NULL;
    json_t *wm = json_object_get(root, "weight_map");
    size_t n = json_object_size(wm), nuniq = 0;
    const char *key;
    json_t *val;
    if (!json_is_object(wm)) {
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: field 'weight_map' must be an object", index_path);
        goto done;
    }
    shards = rlc_malloc((n ? n : 1) * sizeof *shards);
    if (!shards) {
        st = RLC_ERR_NOMEM;
        goto done;
    }
    json_object_foreach(wm, key, val) {
        const char *s = json_string_value(val);
        if (!s || !s[0] || s[0] == '/' || strstr(s, "..")) {
            st = rlc_errorf(RLC_ERR_FORMAT,
                            "%s: weight_map entry for '%s' must be a shard file name in the same "
                            "directory",
                            index_path, key);
            goto done;
        }
        shards[nuniq++] = s;
    }
    qsort(shards, nuniq, sizeof *shards, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < nuniq; i++)
        if (w == 0 || strcmp(shards[w - 1], shards[i]) != 0) shards[w++] = shards[i];
    nuniq = w;
    for (size_t i = 0; i < nuniq && st == RLC_OK; i++) {
        char p[PATH_MAX];
        st = rlc_path_join(p, sizeof p, dir, shards[i]);
        if (st == RLC_OK) st = parse_shard(f, p);
    }
    if (st == RLC_OK) st = build_index(f);
    if (st == RLC_OK) {
        json_object_foreach(wm, key, val) {
            const rlc_st_tensor *t = rlc_st_find(f, key);
            const char *want = json_string_value(val);
            if (!t) {
                st = rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s' is mapped to %s but missing there",
                                index_path, key, want);
                break;
            }
            const char *got = rlc_st_path_of(f, t);
            const char *base = strrchr(got, '/');
            base = base ? base + 1 : got;
            if (strcmp(base, want) != 0) {
                st = rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s' is mapped to %s but found in %s",
                                index_path, key, want, got);
                break;
            }
        }
    }
done:
    free(shards);
    json_decref(root);
    return st;
}

rlc_status rlc_st_open_dir(const char *dir, rlc_st_file **out) {
    *out = NULL;
    char index_path[PATH_MAX], single[PATH_MAX];
    RLC_TRY(rlc_path_join(index_path, sizeof index_path, dir, ST_INDEX_NAME));
    RLC_TRY(rlc_path_join(single, sizeof single, dir, ST_SINGLE_NAME));
    if (!rlc_file_exists(index_path)) {
        if (!rlc_file_exists(single))
            return rlc_errorf(RLC_ERR_NOT_FOUND, "%s: no %s or %s in this directory", dir,
                              ST_SINGLE_NAME, ST_INDEX_NAME);
        return rlc_st_open(single, out);
    }
    rlc_st_file *f = file_new(dir);
    if (!f) return RLC_ERR_NOMEM;
    rlc_status st = open_sharded(f, dir, index_path);
    if (st != RLC_OK) {
        rlc_st_close(f);
        return st;
    }
    *out = f;
    return RLC_OK;
}

int rlc_st_count(const rlc_st_file *f) {
    return f->count;
}

const rlc_st_tensor *rlc_st_at(const rlc_st_file *f, int i) {
    if (i < 0 || i >= f->count) return NULL;
    return &f->tensors[i];
}

const rlc_st_tensor *rlc_st_find(const rlc_st_file *f, const char *name) {
    int lo = 0, hi = f->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->tensors[f->by_name[mid]].name);
        if (c == 0) return &f->tensors[f->by_name[mid]];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *rlc_st_metadata(const rlc_st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
    return NULL;
}

const char *rlc_st_path_of(const rlc_st_file *f, const rlc_st_tensor *t) {
    if (t < f->tensors || t >= f->tensors + f->count) return f->path;
    return f->shards[f->shard_of[t - f->tensors]].path;
}

/* "[2, 3]" into buf. */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

rlc_status rlc_st_check_shape(const rlc_st_file *f, const char *name, int ndim,
                              const int64_t *shape) {
    const rlc_st_tensor *t = rlc_st_find(f, name);
    if (!t) return rlc_errorf(RLC_ERR_NOT_FOUND, "%s: missing tensor '%s'", f->path, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char want[160], got[160];
        return rlc_errorf(RLC_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s",
                          rlc_st_path_of(f, t), name, shape_str(got, sizeof got, t->ndim, t->shape),
                          shape_str(want, sizeof want, ndim, shape));
    }
    return RLC_OK;
}

rlc_status rlc_st_read_f32(const rlc_st_file *f, const char *name, int ndim, const int64_t *shape,
                           float *dst) {
    RLC_TRY(rlc_st_check_shape(f, name, ndim, shape));
    const rlc_st_tensor *t = rlc_st_find(f, name);
    if (rlc_convert_to_f32(dst, t->data, t->dtype, t->numel) != 0)
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16",
                          rlc_st_path_of(f, t), name, rlc_dtype_name(t->dtype));
    return RLC_OK;
}

/* ---- writer ---- */

typedef struct st_wtensor {
    char *name;
    rlc_dtype dtype;
    int ndim;
    int64_t shape[RLC_ST_MAX_DIMS];
    size_t nbytes;
    void *data;
} st_wtensor;

struct rlc_st_writer {
    st_wtensor *t;
    int n, cap;
    char **meta; /* key, value pairs */
    int nmeta, cap_meta;
};

rlc_st_writer *rlc_st_writer_new(void) {
    return rlc_calloc(1, sizeof(rlc_st_writer));
}

void rlc_st_writer_free(rlc_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (int i = 0; i < 2 * w->nmeta; i++)
        free(w->meta[i]);
    free(w->t);
    free(w->meta);
    free(w);
}

rlc_status rlc_st_writer_meta(rlc_st_writer *w, const char *key, const char *value) {
    char *v = str_dup(value);
    if (!v) return RLC_ERR_NOMEM;
    for (int i = 0; i < w->nmeta; i++) {
        if (strcmp(w->meta[2 * i], key) == 0) {
            free(w->meta[2 * i + 1]);
            w->meta[2 * i + 1] = v;
            return RLC_OK;
        }
    }
    char *k = str_dup(key);
    if (!k || grow((void **)&w->meta, &w->cap_meta, 2 * (w->nmeta + 1), sizeof(char *))) {
        free(k);
        free(v);
        return RLC_ERR_NOMEM;
    }
    w->meta[2 * w->nmeta] = k;
    w->meta[2 * w->nmeta + 1] = v;
    w->nmeta++;
    return RLC_OK;
}

/* Validates name and shape and reserves a slot with an nbytes buffer. */
static rlc_status writer_slot(rlc_st_writer *w, const char *name, rlc_dtype dtype, int ndim,
                              const int64_t *shape, st_wtensor **out) {
    if (!name || !name[0] || strcmp(name, "__metadata__") == 0)
        return rlc_errorf(RLC_ERR_INVALID, "safetensors writer: invalid tensor name '%s'",
                          name ? name : "(null)");
    if ((unsigned)dtype >= RLC_DTYPE_COUNT)
        return rlc_errorf(RLC_ERR_INVALID, "safetensors writer: tensor '%s': invalid dtype %d",
                          name, (int)dtype);
    if (ndim < 0 || ndim > RLC_ST_MAX_DIMS)
        return rlc_errorf(RLC_ERR_INVALID,
                          "safetensors writer: tensor '%s': %d dimensions (0..%d allowed)", name,
                          ndim, RLC_ST_MAX_DIMS);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return rlc_errorf(RLC_ERR_INVALID, "safetensors writer: tensor '%s' added twice", name);
    size_t numel = 1, nbytes;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return rlc_errorf(RLC_ERR_INVALID,
                              "safetensors writer: tensor '%s': dimension %d is negative", name, i);
        RLC_TRY(rlc_mul_size_what("safetensors writer: element count", numel, (size_t)shape[i],
                                  &numel));
    }
    RLC_TRY(
        rlc_mul_size_what("safetensors writer: byte size", numel, rlc_dtype_size(dtype), &nbytes));
    if (grow((void **)&w->t, &w->cap, w->n + 1, sizeof *w->t)) return RLC_ERR_NOMEM;
    st_wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = str_dup(name);
    t->data = rlc_malloc(nbytes);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return RLC_ERR_NOMEM;
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nbytes = nbytes;
    w->n++;
    *out = t;
    return RLC_OK;
}

rlc_status rlc_st_writer_add_f32(rlc_st_writer *w, const char *name, rlc_dtype dtype, int ndim,
                                 const int64_t *shape, const float *src) {
    if (dtype != RLC_DTYPE_F32 && dtype != RLC_DTYPE_F16 && dtype != RLC_DTYPE_BF16)
        return rlc_errorf(RLC_ERR_INVALID,
                          "safetensors writer: tensor '%s': cannot store fp32 data as %s",
                          name ? name : "(null)", rlc_dtype_name(dtype));
    st_wtensor *t = NULL;
    RLC_TRY(writer_slot(w, name, dtype, ndim, shape, &t));
    rlc_convert_from_f32(t->data, src, dtype, t->nbytes / rlc_dtype_size(dtype));
    return RLC_OK;
}

rlc_status rlc_st_writer_add_raw(rlc_st_writer *w, const char *name, rlc_dtype dtype, int ndim,
                                 const int64_t *shape, const void *data) {
    st_wtensor *t = NULL;
    RLC_TRY(writer_slot(w, name, dtype, ndim, shape, &t));
    if (t->nbytes) memcpy(t->data, data, t->nbytes);
    return RLC_OK;
}

/* Order in which tensors go into the data buffer: element size descending,
 * ties in the order added. Insertion sort keeps it stable. */
static void layout_order(const rlc_st_writer *w, int *order) {
    for (int i = 0; i < w->n; i++) {
        int j = i;
        size_t s = rlc_dtype_size(w->t[i].dtype);
        while (j > 0 && rlc_dtype_size(w->t[order[j - 1]].dtype) < s) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

/* Header JSON text, without padding; NULL on failure (error set). */
static char *writer_header(const rlc_st_writer *w, const int *order) {
    json_t *root = json_object(), *meta = json_object();
    uint64_t *begin = rlc_malloc((size_t)(w->n ? w->n : 1) * sizeof *begin);
    char *text = NULL;
    int ok = root && meta && begin;
    uint64_t pos = 0;
    for (int i = 0; ok && i < w->n; i++) {
        begin[order[i]] = pos;
        pos += w->t[order[i]].nbytes;
    }
    int have_format = 0;
    for (int i = 0; ok && i < w->nmeta; i++) {
        have_format |= strcmp(w->meta[2 * i], "format") == 0;
        ok = json_object_set_new(meta, w->meta[2 * i], json_string(w->meta[2 * i + 1])) == 0;
    }
    if (ok && !have_format) ok = json_object_set_new(meta, "format", json_string("pt")) == 0;
    if (ok) ok = json_object_set(root, "__metadata__", meta) == 0;
    for (int i = 0; ok && i < w->n; i++) {
        const st_wtensor *t = &w->t[i];
        json_t *shape = json_array();
        for (int d = 0; shape && d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        json_t *e =
            json_pack("{s:s, s:o*, s:[I, I]}", "dtype", rlc_dtype_name(t->dtype), "shape", shape,
                      "data_offsets", (json_int_t)begin[i], (json_int_t)(begin[i] + t->nbytes));
        ok = e && json_object_set_new(root, t->name, e) == 0;
    }
    if (ok) text = json_dumps(root, JSON_COMPACT);
    if (!text)
        rlc_errorf(RLC_ERR_INVALID,
                   "safetensors writer: cannot build the header (names and metadata must be valid "
                   "UTF-8)");
    json_decref(root);
    json_decref(meta);
    free(begin);
    return text;
}

rlc_status rlc_st_writer_write(rlc_st_writer *w, const char *path) {
    int *order = rlc_malloc((size_t)(w->n ? w->n : 1) * sizeof *order);
    if (!order) return RLC_ERR_NOMEM;
    layout_order(w, order);
    char *hdr = writer_header(w, order);
    if (!hdr) {
        free(order);
        return RLC_ERR_INVALID;
    }
    /* Pad with spaces (allowed trailing JSON whitespace) so the data buffer
     * starts at a multiple of 8 bytes from the start of the file. */
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) & ~(size_t)7;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";

    rlc_atomic_file af;
    rlc_status st = rlc_atomic_open(&af, path);
    if (st == RLC_OK) st = rlc_atomic_write(&af, lenbuf, 8);
    if (st == RLC_OK) st = rlc_atomic_write(&af, hdr, hlen);
    if (st == RLC_OK) st = rlc_atomic_write(&af, spaces, padded - hlen);
    for (int i = 0; st == RLC_OK && i < w->n; i++)
        st = rlc_atomic_write(&af, w->t[order[i]].data, w->t[order[i]].nbytes);
    if (st == RLC_OK)
        st = rlc_atomic_commit(&af); /* releases af, also on failure */
    else
        rlc_atomic_abort(&af);
    free(hdr);
    free(order);
    return st;
}
