/* TensorBoard event files, checked by independent readers: every record's
 * length and masked CRC-32C against a bitwise CRC-32C written here, then the
 * Event protos decoded by `protoc --decode` with a schema written from the
 * published field numbers; every scalar must equal its metrics.jsonl value,
 * for a file the writer made and for the tb/ of real `rlc train` runs (one
 * uninterrupted, one resumed, which must agree). */
#include "base/crc32c.h"
#include "observe/metrics.h"
#include "observe/tb.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

TestSuite(tb, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* ---- independent reader: bitwise CRC-32C and TFRecord framing ---- */

static uint32_t ref_crc32c(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static uint32_t ref_masked(const uint8_t *p, size_t n) {
    uint32_t c = ref_crc32c(p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

typedef struct rec {
    const uint8_t *data;
    size_t len;
} rec;

/* Walks every record; returns the count, or -1 with a reason in err. */
static int walk(const uint8_t *buf, size_t len, rec *recs, int cap, char *err, size_t errcap) {
    size_t off = 0;
    int n = 0;
    while (off < len) {
        if (len - off < 12) {
            snprintf(err, errcap, "truncated header at offset %zu", off);
            return -1;
        }
        uint64_t dlen = rd_le(buf + off, 8);
        if (rd_le(buf + off + 8, 4) != ref_masked(buf + off, 8)) {
            snprintf(err, errcap, "bad length CRC at offset %zu", off);
            return -1;
        }
        if (len - off - 12 < dlen + 4) {
            snprintf(err, errcap, "truncated data at offset %zu", off);
            return -1;
        }
        const uint8_t *d = buf + off + 12;
        if (rd_le(d + dlen, 4) != ref_masked(d, dlen)) {
            snprintf(err, errcap, "bad data CRC at offset %zu", off);
            return -1;
        }
        if (n == cap) {
            snprintf(err, errcap, "more than %d records", cap);
            return -1;
        }
        recs[n++] = (rec){d, dlen};
        off += 12 + dlen + 4;
    }
    return n;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- protoc, with a schema from the published field numbers ---- */

static const char *schema =
    "syntax = \"proto3\";\n"
    "package tbtest;\n"
    "// tensorflow/core/util/event.proto\n"
    "message Event {\n"
    "  double wall_time = 1;\n"
    "  int64 step = 2;\n"
    "  oneof what { string file_version = 3; Summary summary = 5; }\n"
    "}\n"
    "// tensorflow/core/framework/summary.proto\n"
    "message SummaryMetadata {\n"
    "  message PluginData { string plugin_name = 1; bytes content = 2; }\n"
    "  PluginData plugin_data = 1;\n"
    "}\n"
    "message Summary {\n"
    "  message Value {\n"
    "    string tag = 1;\n"
    "    SummaryMetadata metadata = 9;\n"
    "    oneof value { float simple_value = 2; HistogramProto histo = 5; TensorProto tensor = 8; "
    "}\n"
    "  }\n"
    "  repeated Value value = 1;\n"
    "}\n"
    "message HistogramProto {\n"
    "  double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;\n"
    "  repeated double bucket_limit = 6 [packed = true];\n"
    "  repeated double bucket = 7 [packed = true];\n"
    "}\n"
    "// tensor.proto, tensor_shape.proto (dtype is enum DataType: same varint)\n"
    "message TensorShapeProto { message Dim { int64 size = 1; } repeated Dim dim = 2; }\n"
    "message TensorProto {\n"
    "  int32 dtype = 1;\n"
    "  TensorShapeProto tensor_shape = 2;\n"
    "  repeated bytes string_val = 8;\n"
    "}\n"
    "// tensorboard/plugins/hparams/plugin_data.proto, google/protobuf/struct.proto\n"
    "message HParamsPluginData {\n"
    "  int32 version = 1;\n"
    "  oneof data { SessionStartInfo session_start_info = 3; }\n"
    "}\n"
    "message SessionStartInfo {\n"
    "  map<string, PValue> hparams = 1;\n"
    "  double start_time_secs = 5;\n"
    "}\n"
    "message PValue { oneof kind { double number_value = 2; string string_value = 3;"
    " bool bool_value = 4; } }\n"
    "// Test wrapper: the records as one message, so one protoc run decodes them all.\n"
    "message EventList { repeated Event event = 1; }\n";

static void need_protoc(void) {
    cr_assert_eq(system("command -v protoc >/dev/null 2>&1"), 0,
                 "protoc is missing: install protobuf-compiler (sh scripts/deps.sh test)");
}

/* protoc --decode=tbtest.<type> on the bytes; returns the text output (malloc'd). */
static char *decode(const char *type, const void *bytes, size_t len) {
    need_protoc();
    spit(tmp_path("schema.proto"), schema, strlen(schema));
    spit(tmp_path("in.bin"), bytes, len);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "protoc --decode=tbtest.%s -I%s %s/schema.proto < %s/in.bin > %s/out.txt 2> "
             "%s/err.txt",
             type, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
    int rc = system(cmd);
    size_t n;
    char *err = (char *)slurp(tmp_path("err.txt"), &n);
    err[n] = 0;
    cr_assert_eq(rc, 0, "protoc failed: %s", err);
    free(err);
    char *out = (char *)slurp(tmp_path("out.txt"), &n);
    out[n] = 0;
    return out;
}

static void put_varint(uint8_t **p, uint64_t v) {
    while (v >= 0x80) {
        *(*p)++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *(*p)++ = (uint8_t)v;
}

/* The text format as leaves: which event, dotted field path, raw value. */
typedef struct leaf {
    int ev;
    char path[160];
    char *val;
} leaf;

static int parse_text(char *txt, leaf *out, int cap) {
    char stack[16][48];
    int depth = 0, n = 0, ev = -1;
    for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ')
            line++;
        size_t l = strlen(line);
        if (l >= 2 && !strcmp(line + l - 2, " {")) {
            line[l - 2] = 0;
            if (depth == 0 && !strcmp(line, "event")) ev++;
            cr_assert_lt(depth, 16);
            snprintf(stack[depth++], sizeof stack[0], "%s", line);
            continue;
        }
        if (!strcmp(line, "}")) {
            cr_assert_gt(depth, 0);
            depth--;
            continue;
        }
        char *colon = strstr(line, ": ");
        cr_assert_not_null(colon, "unexpected protoc line: %s", line);
        *colon = 0;
        cr_assert_lt(n, cap);
        leaf *lf = &out[n++];
        lf->ev = ev;
        lf->path[0] = 0;
        /* Paths drop the wrapper's "event" level. */
        for (int i = (depth > 0 && ev >= 0 && !strcmp(stack[0], "event")) ? 1 : 0; i < depth; i++) {
            strcat(lf->path, stack[i]);
            strcat(lf->path, ".");
        }
        strcat(lf->path, line);
        lf->val = colon + 2;
    }
    cr_assert_eq(depth, 0);
    return n;
}

/* Unescapes a text-format string literal ("..." with C escapes); returns length. */
static size_t unquote(const char *s, char *out, size_t cap) {
    cr_assert_eq(*s, '"', "not a string: %s", s);
    size_t n = 0;
    for (s++; *s && *s != '"'; s++) {
        cr_assert_lt(n + 1, cap);
        if (*s != '\\') {
            out[n++] = *s;
            continue;
        }
        s++;
        if (*s >= '0' && *s <= '7') {
            int v = 0;
            for (int i = 0; i < 3 && *s >= '0' && *s <= '7'; i++, s++)
                v = v * 8 + (*s - '0');
            s--;
            out[n++] = (char)v;
        } else if (*s == 'x') {
            unsigned v;
            cr_assert_eq(sscanf(s + 1, "%2x", &v), 1);
            s += 2;
            out[n++] = (char)v;
        } else {
            const char *from = "nrt\"'\\", *to = "\n\r\t\"'\\";
            const char *k = strchr(from, *s);
            cr_assert_not_null(k, "unknown escape \\%c", *s);
            out[n++] = to[k - from];
        }
    }
    cr_assert_eq(*s, '"');
    out[n] = 0;
    return n;
}

static const leaf *find(const leaf *lv, int n, int ev, const char *path) {
    for (int i = 0; i < n; i++)
        if (lv[i].ev == ev && !strcmp(lv[i].path, path)) return &lv[i];
    return NULL;
}

/* A numeric field's value; proto3 text format leaves out zeros. */
static double fnum(const leaf *lv, int n, int ev, const char *path) {
    const leaf *l = find(lv, n, ev, path);
    return l ? strtod(l->val, NULL) : 0.0;
}

/* Every field must be one the schema names: a wrong field number or wire type
 * shows up as a numeric path component. */
static void assert_all_known(const leaf *lv, int n) {
    for (int i = 0; i < n; i++) {
        const char *p = lv[i].path;
        for (const char *c = p; *c; c++)
            cr_assert(!((c == p || c[-1] == '.') && *c >= '0' && *c <= '9'),
                      "unknown field %s in event %d", p, lv[i].ev);
    }
}

/* ---- the run written and read back ---- */

static const char *metrics_jsonl =
    "{\"step\": 0, \"loss\": 0.6931471805599453, \"mean_reward\": 0.25, \"correct_rate\": 0.125}\n"
    "{\"step\": 1, \"loss\": 0.512345678901, \"mean_reward\": 0.375, \"correct_rate\": 0.3}\n"
    "{\"step\": 2, \"loss\": -0.1, \"mean_reward\": 0.6666666666666666, \"correct_rate\": 1e-7}\n";

/* metrics.jsonl key -> TensorBoard tag (the seeds' train/ prefixes). */
static const char *const keys_tags[][2] = {
    {"loss", "train/loss"},
    {"mean_reward", "train/rewards/mean_reward"},
    {"correct_rate", "train/rewards/correct_rate"},
};
#define NKEYS 3
#define NSTEPS 3

static const char *text_sample = "Prompt: 2+3=?\nCompletion: <answer>5</answer>\t\"quoted\" "
                                 "back\\slash caf\xc3\xa9 \xe2\x9c\x93";
static const float hist_v[] = {0, 0.5f, 1, 1, 0, 0.25f, 1, 0.75f, 0, 1, 1, 0.5f, 0.1f, 0.9f, 0.3f};
#define NHIST (sizeof hist_v / sizeof hist_v[0])
static const char *const hp_keys[] = {"model", "lr", "group_size", "use_lora", "seed"};
static const char *const hp_vals[] = {"Qwen/Qwen2.5-0.5B-Instruct", "1e-05", "8", "true", "-3"};

static char *write_run(void) {
    spit(tmp_path("metrics.jsonl"), metrics_jsonl, strlen(metrics_jsonl));
    rlc_tb *w;
    cr_assert_eq(rlc_tb_open(tmp_path("tb"), &w), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_tb_hparams(w, hp_keys, hp_vals, 5), RLC_OK, "%s", rlc_last_error());
    FILE *f = fopen(tmp_path("metrics.jsonl"), "r");
    char line[512];
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        cr_assert_not_null(j);
        int64_t step = json_integer_value(json_object_get(j, "step"));
        for (int k = 0; k < NKEYS; k++) {
            float v = (float)json_number_value(json_object_get(j, keys_tags[k][0]));
            cr_assert_eq(rlc_tb_scalar(w, keys_tags[k][1], step, v), RLC_OK);
        }
        json_decref(j);
        cr_assert_eq(rlc_tb_flush(w), RLC_OK);
    }
    fclose(f);
    cr_assert_eq(rlc_tb_text(w, "samples/completion", 2, text_sample), RLC_OK);
    cr_assert_eq(rlc_tb_histogram(w, "rewards/answer_check_hist", 2, hist_v, NHIST), RLC_OK);
    char *path = strdup(rlc_tb_path(w));
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    return path;
}

Test(tb, crc32c_known_vectors) {
    cr_assert_eq(ref_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
    cr_assert_eq(rlc_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(rlc_crc32c(0, "", 0), 0u);
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    cr_assert_eq(rlc_crc32c(0, buf, sizeof buf), ref_crc32c(buf, sizeof buf));
    cr_assert_eq(rlc_tb_masked_crc(buf, 17), ref_masked(buf, 17));
}

Test(tb, file_name_and_framing) {
    char *path = write_run();
    const char *base = strrchr(path, '/') + 1;
    cr_assert_eq(strncmp(base, "events.out.tfevents.", 20), 0, "%s", base);
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    char *end;
    long long t = strtoll(base + 20, &end, 10);
    cr_assert(t > 1600000000LL && *end == '.', "%s", base);
    cr_assert_str_eq(end + 1, host);

    size_t len;
    uint8_t *buf = slurp(path, &len);
    rec recs[64];
    char err[128];
    int n = walk(buf, len, recs, 64, err, sizeof err);
    cr_assert_eq(n, 1 + 1 + NSTEPS * NKEYS + 2, "%s", n < 0 ? err : "");
    free(buf);
    free(path);
}

Test(tb, protoc_decodes_every_record_and_scalars_match_jsonl) {
    char *path = write_run();
    size_t len;
    uint8_t *buf = slurp(path, &len);
    rec recs[64];
    char err[128];
    int nrec = walk(buf, len, recs, 64, err, sizeof err);
    cr_assert_gt(nrec, 0, "%s", err);

    /* EventList{event = each record's bytes}. */
    uint8_t *list = malloc(len + 16 * (size_t)nrec), *p = list;
    for (int i = 0; i < nrec; i++) {
        *p++ = 0x0a;
        put_varint(&p, recs[i].len);
        memcpy(p, recs[i].data, recs[i].len);
        p += recs[i].len;
    }
    char *txt = decode("EventList", list, (size_t)(p - list));
    static leaf lv[4096];
    int nl = parse_text(txt, lv, 4096);
    assert_all_known(lv, nl);

    /* Record 0: the file version; every record has a plausible wall time. */
    const leaf *fv = find(lv, nl, 0, "file_version");
    cr_assert_not_null(fv);
    cr_assert_str_eq(fv->val, "\"brain.Event:2\"");
    for (int e = 0; e < nrec; e++) {
        const leaf *wt = find(lv, nl, e, "wall_time");
        cr_assert_not_null(wt, "event %d has no wall_time", e);
        cr_assert(strtod(wt->val, NULL) > 1.6e9);
    }

    /* Every metrics.jsonl value appears once as a scalar with its step, float-exact. */
    json_error_t jerr;
    FILE *mf = fopen(tmp_path("metrics.jsonl"), "r");
    int matched = 0, scalars = 0;
    for (int e = 0; e < nrec; e++)
        if (find(lv, nl, e, "summary.value.simple_value")) scalars++;
    char line[512];
    while (fgets(line, sizeof line, mf)) {
        json_t *j = json_loads(line, 0, &jerr);
        cr_assert_not_null(j, "%s", jerr.text);
        long long step = json_integer_value(json_object_get(j, "step"));
        for (int k = 0; k < NKEYS; k++) {
            float want = (float)json_number_value(json_object_get(j, keys_tags[k][0]));
            int hits = 0;
            for (int e = 0; e < nrec; e++) {
                const leaf *tag = find(lv, nl, e, "summary.value.tag");
                const leaf *sv = find(lv, nl, e, "summary.value.simple_value");
                const leaf *st = find(lv, nl, e, "step");
                char tbuf[128];
                if (!tag || !sv) continue;
                unquote(tag->val, tbuf, sizeof tbuf);
                /* proto3 text format leaves out a step of 0. */
                long long got_step = st ? strtoll(st->val, NULL, 10) : 0;
                if (strcmp(tbuf, keys_tags[k][1]) || got_step != step) continue;
                float got = strtof(sv->val, NULL);
                cr_assert(got == want, "%s step %lld: tensorboard %.9g, metrics.jsonl %.9g", tbuf,
                          step, got, want);
                hits++;
            }
            cr_assert_eq(hits, 1, "%s step %lld found %d times", keys_tags[k][1], step, hits);
            matched++;
        }
        json_decref(j);
    }
    fclose(mf);
    cr_assert_eq(matched, NSTEPS * NKEYS);
    cr_assert_eq(scalars, matched, "scalars in file that are not in metrics.jsonl");

    /* Text: text-plugin metadata and a DT_STRING [1] tensor that round-trips. */
    int te = -1, he = -1, pe = -1;
    for (int e = 0; e < nrec; e++) {
        const leaf *pn = find(lv, nl, e, "summary.value.metadata.plugin_data.plugin_name");
        if (pn && !strcmp(pn->val, "\"text\"")) te = e;
        if (pn && !strcmp(pn->val, "\"hparams\"")) pe = e;
        if (find(lv, nl, e, "summary.value.histo.num")) he = e;
    }
    cr_assert(te >= 0 && he >= 0 && pe >= 0, "text %d histogram %d hparams %d", te, he, pe);
    cr_assert_str_eq(find(lv, nl, te, "summary.value.tag")->val, "\"samples/completion\"");
    cr_assert_str_eq(find(lv, nl, te, "step")->val, "2");
    cr_assert_str_eq(find(lv, nl, te, "summary.value.tensor.dtype")->val, "7");
    cr_assert_str_eq(find(lv, nl, te, "summary.value.tensor.tensor_shape.dim.size")->val, "1");
    char sbuf[1024];
    size_t sl =
        unquote(find(lv, nl, te, "summary.value.tensor.string_val")->val, sbuf, sizeof sbuf);
    cr_assert_eq(sl, strlen(text_sample));
    cr_assert_str_eq(sbuf, text_sample);

    /* Histogram: stats match the values, counts sum to n, limits end at max. */
    double want_sum = 0, want_sq = 0;
    for (size_t i = 0; i < NHIST; i++)
        want_sum += hist_v[i], want_sq += (double)hist_v[i] * hist_v[i];
    cr_assert_eq(fnum(lv, nl, he, "summary.value.histo.num"), (double)NHIST);
    cr_assert_eq(fnum(lv, nl, he, "summary.value.histo.min"), 0.0);
    cr_assert_eq(fnum(lv, nl, he, "summary.value.histo.max"), 1.0);
    cr_assert_float_eq(fnum(lv, nl, he, "summary.value.histo.sum"), want_sum, 1e-12);
    cr_assert_float_eq(fnum(lv, nl, he, "summary.value.histo.sum_squares"), want_sq, 1e-12);
    double count = 0, last_limit = -1;
    int nb = 0, nlim = 0;
    for (int i = 0; i < nl; i++) {
        if (lv[i].ev != he) continue;
        if (!strcmp(lv[i].path, "summary.value.histo.bucket"))
            count += strtod(lv[i].val, NULL), nb++;
        if (!strcmp(lv[i].path, "summary.value.histo.bucket_limit")) {
            double l = strtod(lv[i].val, NULL);
            cr_assert_gt(l, last_limit, "bucket limits must increase");
            last_limit = l;
            nlim++;
        }
    }
    cr_assert_eq(count, (double)NHIST);
    cr_assert(nb > 1 && nb == nlim, "%d buckets, %d limits", nb, nlim);
    cr_assert_eq(last_limit, 1.0);

    /* Hparams: tag, step 0, and content that decodes as HParamsPluginData. */
    cr_assert_str_eq(find(lv, nl, pe, "summary.value.tag")->val,
                     "\"_hparams_/session_start_info\"");
    cr_assert_str_eq(find(lv, nl, pe, "summary.value.tensor.dtype")->val, "1");
    static char content[4096];
    size_t cl = unquote(find(lv, nl, pe, "summary.value.metadata.plugin_data.content")->val,
                        content, sizeof content);
    char *hp = decode("HParamsPluginData", content, cl);
    static leaf hl[256];
    int nh = parse_text(hp, hl, 256);
    assert_all_known(hl, nh);
    const char *want[][2] = {
        {"\"Qwen/Qwen2.5-0.5B-Instruct\"", "string_value"},
        {"1e-05", "number_value"},
        {"8", "number_value"},
        {"true", "bool_value"},
        {"-3", "number_value"},
    };
    int seen = 0;
    for (int i = 0; i < nh; i++) {
        if (strcmp(hl[i].path, "session_start_info.hparams.key")) continue;
        char key[64];
        unquote(hl[i].val, key, sizeof key);
        for (int k = 0; k < 5; k++) {
            if (strcmp(key, hp_keys[k])) continue;
            char vpath[128];
            snprintf(vpath, sizeof vpath, "session_start_info.hparams.value.%s", want[k][1]);
            cr_assert(i + 1 < nh && !strcmp(hl[i + 1].path, vpath), "%s: expected %s", key, vpath);
            cr_assert_str_eq(hl[i + 1].val, want[k][0], "%s", key);
            seen++;
        }
    }
    cr_assert_eq(seen, 5);
    const leaf *stt = find(hl, nh, -1, "session_start_info.start_time_secs");
    cr_assert(stt && strtod(stt->val, NULL) > 1.6e9);

    free(hp);
    free(txt);
    free(list);
    free(buf);
    free(path);
}

Test(tb, decode_raw_sees_published_field_numbers) {
    need_protoc();
    rlc_tb *w;
    cr_assert_eq(rlc_tb_open(tmpdir, &w), RLC_OK);
    cr_assert_eq(rlc_tb_scalar(w, "train/loss", 7, 1.0f), RLC_OK);
    char *path = strdup(rlc_tb_path(w));
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    size_t len;
    uint8_t *buf = slurp(path, &len);
    rec recs[4];
    char err[128];
    cr_assert_eq(walk(buf, len, recs, 4, err, sizeof err), 2, "%s", err);
    spit(tmp_path("raw.bin"), recs[1].data, recs[1].len);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "protoc --decode_raw < %s/raw.bin > %s/raw.txt", tmpdir, tmpdir);
    cr_assert_eq(system(cmd), 0);
    char *txt = (char *)slurp(tmp_path("raw.txt"), &len);
    txt[len] = 0;
    /* step = 2 (varint), summary = 5 { value = 1 { tag = 1, simple_value = 2 (fixed32) } }. */
    cr_assert(strstr(txt, "2: 7\n"), "%s", txt);
    cr_assert(strstr(txt, "5 {\n  1 {\n    1: \"train/loss\"\n    2: 0x3f800000\n  }\n}"), "%s",
              txt);
    free(txt);
    free(buf);
    free(path);
}

Test(tb, checker_catches_corruption) {
    char *path = write_run();
    size_t len;
    uint8_t *buf = slurp(path, &len);
    rec recs[64];
    char err[128];
    int n = walk(buf, len, recs, 64, err, sizeof err);
    cr_assert_gt(n, 3);
    /* One byte of the third record's data. */
    size_t off = (size_t)(recs[2].data - buf);
    buf[off + recs[2].len / 2] ^= 0x01;
    cr_assert_eq(walk(buf, len, recs, 64, err, sizeof err), -1);
    cr_assert(strstr(err, "bad data CRC"), "%s", err);
    buf[off + recs[2].len / 2] ^= 0x01;
    /* One byte of the second record's length. */
    size_t hoff = (size_t)(recs[1].data - buf) - 12;
    buf[hoff] ^= 0x40;
    cr_assert_eq(walk(buf, len, recs, 64, err, sizeof err), -1);
    cr_assert(strstr(err, "bad length CRC"), "%s", err);
    buf[hoff] ^= 0x40;
    /* A torn last record. */
    cr_assert_eq(walk(buf, len - 3, recs, 64, err, sizeof err), -1);
    cr_assert(strstr(err, "truncated"), "%s", err);
    cr_assert_eq(walk(buf, len, recs, 64, err, sizeof err), n);
    free(buf);
    free(path);
}

static int count_event_files(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += !strncmp(e->d_name, "events.out.tfevents.", 20);
    closedir(d);
    return n;
}

Test(tb, open_append_reuses_newest_file) {
    const char *dir = tmp_path("run");
    rlc_tb *w;
    /* No file yet: behaves as open. */
    cr_assert_eq(rlc_tb_open_append(dir, &w), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_tb_scalar(w, "train/loss", 0, 0.5f), RLC_OK);
    char *first = strdup(rlc_tb_path(w));
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    /* An older file must not be chosen. */
    char old[512];
    snprintf(old, sizeof old, "%s/events.out.tfevents.1000000000.oldhost", dir);
    spit(old, "", 0);
    cr_assert_eq(rlc_tb_open_append(dir, &w), RLC_OK);
    cr_assert_str_eq(rlc_tb_path(w), first);
    cr_assert_eq(rlc_tb_scalar(w, "train/loss", 1, 0.25f), RLC_OK);
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    cr_assert_eq(count_event_files(dir), 2);
    size_t len;
    uint8_t *buf = slurp(first, &len);
    rec recs[8];
    char err[128];
    cr_assert_eq(walk(buf, len, recs, 8, err, sizeof err), 3, "%s", err); /* one file_version */
    free(buf);
    /* rlc_tb_open in the same second never overwrites: it adds a suffix. */
    cr_assert_eq(rlc_tb_open(dir, &w), RLC_OK);
    cr_assert_str_neq(rlc_tb_path(w), first);
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    cr_assert_eq(count_event_files(dir), 3);
    buf = slurp(first, &len);
    cr_assert_eq(walk(buf, len, recs, 8, err, sizeof err), 3, "%s", err);
    free(buf);
    /* An empty newest file gets its file_version record first. */
    char newest[512];
    snprintf(newest, sizeof newest, "%s/events.out.tfevents.9999999999.zhost", dir);
    spit(newest, "", 0);
    cr_assert_eq(rlc_tb_open_append(dir, &w), RLC_OK);
    cr_assert_str_eq(rlc_tb_path(w), newest);
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    buf = slurp(newest, &len);
    cr_assert_eq(walk(buf, len, recs, 8, err, sizeof err), 1, "%s", err);
    cr_assert(memmem(recs[0].data, recs[0].len, "brain.Event:2", 13));
    free(buf);
    free(first);
}

Test(tb, errors_have_messages) {
    rlc_tb *w = (rlc_tb *)1;
    spit(tmp_path("file"), "x", 1);
    cr_assert_eq(rlc_tb_open(tmp_path("file/sub"), &w), RLC_ERR_IO);
    cr_assert_null(w);
    cr_assert_eq(rlc_tb_open(tmpdir, &w), RLC_OK);
    float bad[] = {1, NAN};
    cr_assert_eq(rlc_tb_histogram(w, "h", 0, bad, 2), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "h: value 1 is not finite"), "%s", rlc_last_error());
    cr_assert_eq(rlc_tb_histogram(w, "h", 0, bad, 0), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "no values"), "%s", rlc_last_error());
    cr_assert_eq(rlc_tb_scalar(w, "", 0, 1), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "empty tag"), "%s", rlc_last_error());
    const char *k[] = {""}, *v[] = {"1"};
    cr_assert_eq(rlc_tb_hparams(w, k, v, 1), RLC_ERR_INVALID);
    /* A single-valued histogram is one bucket holding everything. */
    float same[] = {0.5f, 0.5f, 0.5f};
    cr_assert_eq(rlc_tb_histogram(w, "h", 0, same, 3), RLC_OK);
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    cr_assert_eq(rlc_tb_close(NULL), RLC_OK);
}

/* ---- a real run: `rlc sft` then `rlc train` on a tiny byte-level model ---- */

/* No Criterion .timeout here: its runner can leak a timeout record under ASan
 * (see test_merge.c). */
TestSuite(tb_run, .init = tmpdir_setup, .fini = tmpdir_teardown);

static int run_rlc(const char *args) {
    const char *bin = getenv("RLC_BIN") ? getenv("RLC_BIN") : "build/rlc";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s > %s 2>&1", bin, args, tmp_path("out.log"));
    int rc = system(cmd);
    if (rc) {
        size_t n;
        char *log = (char *)slurp(tmp_path("out.log"), &n);
        log[n] = 0;
        cr_log_error("rlc %s failed (%d):\n%s", args, rc, log);
        free(log);
    }
    return rc;
}

/* A 2-layer model taught the answer format, in <tmp>/runs/sft/final. */
static void tiny_sft(void) {
    char text[2048], args[600];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 2, hidden: 64, heads: 4, "
             "kv_heads: 4, intermediate: 128, max_seq: 64, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\", "
             "max_prompt_tokens: 16, eval_size: 20, seed: 7}\n"
             "training: {steps: 40, batch_size: 32, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 3.0e-3, schedule: cosine, warmup_steps: 5, min_lr_ratio: 0.1}\n"
             "logging: {run_dir: %s/runs, run_name: sft, tensorboard: false}\n"
             "checkpoint: {save_every: 0, resume: never}\n",
             tmpdir);
    spit(tmp_path("sft.yaml"), text, strlen(text));
    snprintf(args, sizeof args, "sft %s", tmp_path("sft.yaml"));
    cr_assert_eq(run_rlc(args), 0);
}

/* GRPO from the SFT model into <tmp>/runs/<name>, with two rewards. */
static void tiny_grpo(const char *name, int steps, int save_every, const char *resume) {
    char text[2048], path[600], args[700];
    snprintf(text, sizeof text,
             "model: {path: %s/runs/sft/final}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: arithmetic, arithmetic_digits: 1, arithmetic_ops: \"+\", "
             "max_prompt_tokens: 16, eval_size: 20, seed: 7}\n"
             "rewards: {weights: {format_approx: 1.0, number_check: 1.0}}\n"
             "algorithm: {group_size: 4, max_new_tokens: 16, temperature: 1.0}\n"
             "training: {steps: %d, batch_size: 6, eval_every: 0, seed: 1}\n"
             "optimizer: {lr: 1.0e-3, schedule: constant}\n"
             "logging: {run_dir: %s/runs, run_name: %s, log_every: 2, tensorboard: true,\n"
             "          histogram_every: 2, samples_every: 3, num_generations_logged: 3}\n"
             "checkpoint: {save_every: %d, resume: %s}\n",
             tmpdir, steps, tmpdir, name, save_every, resume);
    snprintf(path, sizeof path, "%s/%s.yaml", tmpdir, name);
    spit(path, text, strlen(text));
    snprintf(args, sizeof args, "train %s", path);
    cr_assert_eq(run_rlc(args), 0);
}

typedef struct scalar {
    char tag[128];
    long long step;
    float value;
} scalar;

typedef struct tb_view {
    scalar s[2048];
    int n, hists, texts, hparams, files;
    long long hist_steps[64], text_steps[16];
    char hist_tags[64][128];
} tb_view;

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every record of every event file in dir, each length and masked CRC-32C
 * checked, decoded by protoc with the schema above. */
static void read_tb(const char *dir_arg, tb_view *v) {
    char dir[512]; /* tmp_path's buffers rotate under decode() */
    snprintf(dir, sizeof dir, "%s", dir_arg);
    memset(v, 0, sizeof *v);
    struct dirent **ents;
    int ne = scandir(dir, &ents, NULL, by_name);
    cr_assert_geq(ne, 0, "%s", dir);
    static leaf lv[1 << 16];
    for (int f = 0; f < ne; f++) {
        if (strncmp(ents[f]->d_name, "events.out.tfevents.", 20)) {
            free(ents[f]);
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ents[f]->d_name);
        free(ents[f]);
        v->files++;
        size_t len;
        uint8_t *buf = slurp(path, &len);
        static rec recs[4096];
        char err[128];
        int nrec = walk(buf, len, recs, 4096, err, sizeof err);
        cr_assert_gt(nrec, 0, "%s: %s", path, err);
        uint8_t *list = malloc(len + 16 * (size_t)nrec), *p = list;
        for (int i = 0; i < nrec; i++) {
            *p++ = 0x0a;
            put_varint(&p, recs[i].len);
            memcpy(p, recs[i].data, recs[i].len);
            p += recs[i].len;
        }
        char *txt = decode("EventList", list, (size_t)(p - list));
        int nl = parse_text(txt, lv, 1 << 16);
        assert_all_known(lv, nl);
        for (int e = 0; e < nrec; e++) {
            const leaf *tag = find(lv, nl, e, "summary.value.tag");
            const leaf *sv = find(lv, nl, e, "summary.value.simple_value");
            const leaf *pn = find(lv, nl, e, "summary.value.metadata.plugin_data.plugin_name");
            long long step = (long long)fnum(lv, nl, e, "step");
            if (find(lv, nl, e, "summary.value.histo.num")) {
                cr_assert_lt(v->hists, 64);
                if (tag) unquote(tag->val, v->hist_tags[v->hists], sizeof v->hist_tags[0]);
                v->hist_steps[v->hists++] = step;
            }
            if (pn && !strcmp(pn->val, "\"text\"")) {
                cr_assert_lt(v->texts, 16);
                v->text_steps[v->texts++] = step;
            }
            if (pn && !strcmp(pn->val, "\"hparams\"")) v->hparams++;
            if (!tag || pn || find(lv, nl, e, "summary.value.histo.num")) continue;
            cr_assert_lt(v->n, 2048);
            scalar *s = &v->s[v->n++];
            unquote(tag->val, s->tag, sizeof s->tag);
            s->step = step;
            /* proto3 text format leaves out a value of 0 */
            s->value = sv ? strtof(sv->val, NULL) : 0.0f;
        }
        free(txt);
        free(list);
        free(buf);
    }
    free(ents);
}

/* metrics.jsonl lines in order. */
static int read_jsonl(const char *path, json_t **out, int cap) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char line[1 << 16];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t e;
        cr_assert_lt(n, cap);
        out[n] = json_loads(line, 0, &e);
        cr_assert_not_null(out[n], "%s line %d: %s", path, n + 1, e.text);
        n++;
    }
    fclose(f);
    return n;
}

/* The metrics.jsonl key a TensorBoard tag stands for (NULL: none). */
static const char *key_of_tag(const char *tag, char *buf, size_t cap) {
    const rlc_metric_def *d = rlc_metric_defs();
    for (int i = 0; i < RLC_M_COUNT; i++)
        if (d[i].tb_tag && !strcmp(d[i].tb_tag, tag)) return d[i].key;
    static const char *const stats[] = {"_recent_mean", "_mean", "_std", "_min", "_max"};
    if (strncmp(tag, "rewards/", 8)) return NULL;
    for (int s = 0; s < 5; s++) {
        size_t tl = strlen(tag), sl = strlen(stats[s]);
        if (tl > sl + 8 && !strcmp(tag + tl - sl, stats[s])) {
            snprintf(buf, cap, "%.*s/%s", (int)(tl - sl), tag, stats[s] + 1);
            return buf;
        }
    }
    return NULL;
}

/* Every system/... metric of mode on each of the n rows, with values a
 * process can have: memory > 0 and peak >= now, cores busy within the cores
 * allowed, at least one thread, GRPO's time shares in [0, 1] adding to <= 1. */
static void expect_system_rows(json_t *const *m, int n, unsigned mode) {
    const rlc_metric_def *d = rlc_metric_defs();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < n; i++) {
        double v[RLC_M_COUNT];
        for (int k = 0; k < RLC_M_COUNT; k++) {
            v[k] = NAN;
            json_t *j = json_object_get(m[i], d[k].key);
            int sys = !strncmp(d[k].key, "system/", 7);
            if (!sys) continue;
            cr_assert_str_eq(d[k].tb_tag, d[k].key);
            cr_assert(d[k].flags & RLC_MF_TIME, "%s is not left out of resume comparisons",
                      d[k].key);
            if (!(d[k].modes & mode)) {
                cr_assert_null(j, "row %d has %s", i, d[k].key);
                continue;
            }
            cr_assert(json_is_number(j), "row %d: %s missing or not a number", i, d[k].key);
            v[k] = json_number_value(j);
        }
        cr_assert(v[RLC_M_SYS_RSS] > 1 && v[RLC_M_SYS_PEAK_RSS] >= v[RLC_M_SYS_RSS],
                  "row %d: rss %g MiB, peak %g MiB", i, v[RLC_M_SYS_RSS], v[RLC_M_SYS_PEAK_RSS]);
        cr_assert(json_is_integer(json_object_get(m[i], "system/threads")) &&
                      v[RLC_M_SYS_THREADS] >= 1,
                  "row %d: threads %g", i, v[RLC_M_SYS_THREADS]);
        cr_assert(v[RLC_M_SYS_CPU_CORES] > 0 && v[RLC_M_SYS_CPU_CORES] <= cores + 0.05,
                  "row %d: %g cores busy of %ld", i, v[RLC_M_SYS_CPU_CORES], cores);
        cr_assert(v[RLC_M_SYS_CPU_UTIL] > 0 && v[RLC_M_SYS_CPU_UTIL] <= 1.01,
                  "row %d: utilisation %g", i, v[RLC_M_SYS_CPU_UTIL]);
        /* one process: one rank, no MPI traffic */
        cr_assert_eq(v[RLC_M_SYS_RANKS], 1, "row %d: %g ranks", i, v[RLC_M_SYS_RANKS]);
        cr_assert_eq(v[RLC_M_SYS_COMM_MIB], 0, "row %d: %g MiB sent", i, v[RLC_M_SYS_COMM_MIB]);
        if (!(mode & RLC_OBS_GRPO)) continue;
        double g = v[RLC_M_SYS_GEN_SHARE], t = v[RLC_M_SYS_TRAIN_SHARE];
        cr_assert(g > 0 && g <= 1 && t >= 0 && t < 1 && g + t <= 1 + 1e-12,
                  "row %d: generation share %g, training share %g", i, g, t);
        /* the shares are the trainer's own timers over its step time */
        double step = json_number_value(json_object_get(m[i], "step_time_s"));
        cr_assert_float_eq(g * step, json_number_value(json_object_get(m[i], "gen_time_s")),
                           1e-9 * step);
        cr_assert_float_eq(t * step, json_number_value(json_object_get(m[i], "train_time_s")),
                           1e-9 * step);
    }
}

Test(tb_run, real_train_run_scalars_equal_metrics_jsonl) {
    tiny_sft();
    tiny_grpo("grpo", 6, 0, "never");
    static json_t *m[16];
    int nm = read_jsonl(tmp_path("runs/grpo/metrics.jsonl"), m, 16);
    cr_assert_eq(nm, 6);
    static tb_view v;
    read_tb(tmp_path("runs/grpo/tb"), &v);
    cr_assert_eq(v.files, 1);
    cr_assert_eq(v.hparams, 1);
    /* histograms of both rewards at steps 0, 2, 4; text at 0 and 3 */
    cr_assert_eq(v.hists, 6);
    for (int i = 0; i < v.hists; i++)
        cr_assert_eq(v.hist_steps[i] % 2, 0);
    cr_assert_eq(v.texts, 2);
    cr_assert(v.text_steps[0] == 0 && v.text_steps[1] == 3);

    int matched = 0, finals = 0;
    for (int i = 0; i < v.n; i++) {
        const scalar *s = &v.s[i];
        if (!strncmp(s->tag, "final/", 6)) {
            finals++;
            continue;
        }
        char kb[160];
        const char *key = key_of_tag(s->tag, kb, sizeof kb);
        cr_assert_not_null(key, "scalar %s has no metrics.jsonl key", s->tag);
        cr_assert(s->step >= 0 && s->step < nm, "%s at step %lld", s->tag, s->step);
        json_t *j = m[s->step];
        cr_assert_eq(json_integer_value(json_object_get(j, "step")), s->step);
        json_t *jv = json_object_get(j, key);
        cr_assert_not_null(jv, "%s: no %s in metrics.jsonl step %lld", s->tag, key, s->step);
        if (json_is_null(jv)) {
            cr_assert(isnan(s->value), "%s step %lld: %g, metrics.jsonl null", s->tag, s->step,
                      s->value);
        } else {
            float want = (float)json_number_value(jv);
            cr_assert(s->value == want, "%s step %lld: tensorboard %.9g, metrics.jsonl %.9g",
                      s->tag, s->step, s->value, want);
        }
        for (int k = 0; k < i; k++)
            cr_assert(strcmp(v.s[k].tag, s->tag) || v.s[k].step != s->step, "%s step %lld twice",
                      s->tag, s->step);
        matched++;
    }
    /* and the other way round: every metrics.jsonl value with a tag is a scalar */
    int want_scalars = 0;
    for (int i = 0; i < nm; i++) {
        const char *key;
        json_t *jv;
        json_object_foreach(m[i], key, jv) {
            const rlc_metric_def *d = rlc_metric_def_by_key(key);
            want_scalars += (d && d->tb_tag) || !strncmp(key, "rewards/", 8);
        }
    }
    cr_assert_eq(matched, want_scalars);
    cr_assert_gt(matched, 6 * 30);

    /* the system/... metrics on every step, in both files; the SFT run before it
     * has those that apply to SFT */
    expect_system_rows(m, nm, RLC_OBS_GRPO);
    int sys_tags = 0, sys_defs = 0;
    for (int i = 0; i < v.n; i++)
        sys_tags += !strncmp(v.s[i].tag, "system/", 7);
    for (int k = 0; k < RLC_M_COUNT; k++)
        sys_defs += !strncmp(rlc_metric_defs()[k].key, "system/", 7) &&
                    (rlc_metric_defs()[k].modes & RLC_OBS_GRPO);
    cr_assert_geq(sys_defs, 10); /* 7 of the process, 3 of the ranks (base/dist) */
    cr_assert_eq(sys_tags, sys_defs * nm, "%d system/ scalars in TensorBoard for %d steps",
                 sys_tags, nm);
    static json_t *ms[64];
    int ns = read_jsonl(tmp_path("runs/sft/metrics.jsonl"), ms, 64);
    cr_assert_eq(ns, 40);
    expect_system_rows(ms, ns, RLC_OBS_SFT);
    for (int i = 0; i < ns; i++)
        json_decref(ms[i]);

    /* final/ over the whole run, from the per-step statistics */
    const char *names[2] = {"format_approx", "number_check"};
    for (int r = 0; r < 2; r++) {
        double n = 0, sum = 0, hi = -INFINITY, lo = INFINITY;
        char key[128];
        for (int i = 0; i < nm; i++) {
            double c = json_number_value(json_object_get(m[i], "total_count"));
            snprintf(key, sizeof key, "rewards/%s/mean", names[r]);
            sum += c * json_number_value(json_object_get(m[i], key));
            n += c;
            snprintf(key, sizeof key, "rewards/%s/max", names[r]);
            hi = fmax(hi, json_number_value(json_object_get(m[i], key)));
            snprintf(key, sizeof key, "rewards/%s/min", names[r]);
            lo = fmin(lo, json_number_value(json_object_get(m[i], key)));
        }
        const char *what[4] = {"mean", "total_samples", "max", "min"};
        double want[4] = {sum / n, n, hi, lo};
        for (int w = 0; w < 4; w++) {
            char tag[160];
            snprintf(tag, sizeof tag, "final/%s_%s", names[r], what[w]);
            int hits = 0;
            for (int i = 0; i < v.n; i++)
                if (!strcmp(v.s[i].tag, tag)) {
                    cr_assert_float_eq(v.s[i].value, want[w], 1e-6 * (1 + fabs(want[w])), "%s",
                                       tag);
                    cr_assert_eq(v.s[i].step, 6);
                    hits++;
                }
            cr_assert_eq(hits, 1, "%s", tag);
        }
    }
    cr_assert_eq(finals, 2 * 5);
    for (int i = 0; i < nm; i++)
        json_decref(m[i]);
}

/* Number of code points in UTF-8 text. */
static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

Test(tb_run, emergence_files_and_verbose_log) {
    tiny_sft();
    tiny_grpo("grpo", 5, 0, "never");
    static json_t *m[16], *st[16], *gen[64];
    int nm = read_jsonl(tmp_path("runs/grpo/metrics.jsonl"), m, 16);
    int ns = read_jsonl(tmp_path("runs/grpo/emergence/steps.jsonl"), st, 16);
    int ng = read_jsonl(tmp_path("runs/grpo/emergence/generations.jsonl"), gen, 64);
    cr_assert_eq(nm, 5);
    cr_assert_eq(ns, 5);
    cr_assert_eq(ng, 5 * 3, "num_generations_logged 3 per step");
    const char *fields[] = {"step", "mean_reward", "correct_count", "total_count", "condition"};
    for (int i = 0; i < ns; i++) {
        cr_assert_eq(json_object_size(st[i]), 5);
        for (int k = 0; k < 5; k++) {
            json_t *a = json_object_get(st[i], fields[k]), *b = json_object_get(m[i], fields[k]);
            cr_assert(a && b && json_equal(a, b), "steps.jsonl line %d: %s differs", i, fields[k]);
        }
        cr_assert_eq(json_integer_value(json_object_get(st[i], "total_count")), 6 * 4);
        cr_assert_str_eq(json_string_value(json_object_get(st[i], "condition")), "grpo+none");
    }
    for (int i = 0; i < ng; i++) {
        json_t *g = gen[i];
        cr_assert_eq(json_object_size(g), 5);
        cr_assert_eq(json_integer_value(json_object_get(g, "step")), i / 3);
        const char *prompt = json_string_value(json_object_get(g, "prompt"));
        const char *comp = json_string_value(json_object_get(g, "completion"));
        cr_assert(prompt && comp);
        int a, b;
        char eq;
        cr_assert_eq(sscanf(prompt, "%d+%d%c", &a, &b, &eq), 3, "%s", prompt);
        cr_assert_eq(eq, '=');
        cr_assert_leq(utf8_chars(prompt), 200);
        cr_assert_leq(utf8_chars(comp), 500);
        double r = json_number_value(json_object_get(g, "reward"));
        cr_assert(r >= 0 && r <= 2, "reward %g", r);
        json_t *nt = json_object_get(g, "num_tokens");
        cr_assert(json_is_integer(nt) && json_integer_value(nt) >= 0 &&
                  json_integer_value(nt) <= 16);
    }
    /* logs/<timestamp>_grpo.log: timestamps, levels, every step at DEBUG */
    struct dirent **ents;
    int ne = scandir(tmp_path("runs/grpo/logs"), &ents, NULL, by_name);
    cr_assert_geq(ne, 3, "no logs/ directory");
    char name[512] = "";
    for (int i = 0; i < ne; i++) {
        size_t l = strlen(ents[i]->d_name);
        if (l > 9 && !strcmp(ents[i]->d_name + l - 9, "_grpo.log"))
            snprintf(name, sizeof name, "runs/grpo/logs/%s", ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    cr_assert(name[0], "no *_grpo.log");
    size_t len;
    char *log = (char *)slurp(tmp_path(name), &len);
    log[len] = 0;
    int debug_steps = 0, info = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        int y, mo, d, h, mi, s, ms;
        char level[8];
        cr_assert_eq(
            sscanf(line, "%4d-%2d-%2d %2d:%2d:%2d.%3d %7s", &y, &mo, &d, &h, &mi, &s, &ms, level),
            8, "%s", line);
        debug_steps += !strcmp(level, "DEBUG") && strstr(line, " DEBUG step ");
        info += !strcmp(level, "INFO");
    }
    cr_assert_eq(debug_steps, 5, "one DEBUG line per step");
    cr_assert_gt(info, 5);
    free(log);
    /* the console: legend, header, rows and messages with marks */
    char *out = (char *)slurp(tmp_path("out.log"), &len);
    out[len] = 0;
    cr_assert(strstr(out, "I  correct  completions with the correct answer"), "%s", out);
    cr_assert(strstr(out, " step     loss reward"), "%s", out);
    cr_assert(strstr(out, "/24 "), "a correct-count fraction: %s", out);
    cr_assert(strstr(out, "I final weights: "), "%s", out);
    free(out);
    for (int i = 0; i < nm; i++)
        json_decref(m[i]);
    for (int i = 0; i < ns; i++)
        json_decref(st[i]);
    for (int i = 0; i < ng; i++)
        json_decref(gen[i]);
}

static int cmp_scalar(const void *a, const void *b) {
    const scalar *x = a, *y = b;
    int c = strcmp(x->tag, y->tag);
    return c ? c : (x->step > y->step) - (x->step < y->step);
}

static int is_time_tag(const char *tag) {
    const rlc_metric_def *d = rlc_metric_defs();
    for (int i = 0; i < RLC_M_COUNT; i++)
        if (d[i].tb_tag && !strcmp(d[i].tb_tag, tag)) return (d[i].flags & RLC_MF_TIME) != 0;
    return 0;
}

static char *text_of(const char *name) {
    size_t n;
    char *t = (char *)slurp(tmp_path(name), &n);
    t[n] = 0;
    return t;
}

Test(tb_run, resumed_run_writes_what_an_uninterrupted_one_does) {
    tiny_sft();
    tiny_grpo("a", 6, 0, "never");
    /* b: stops after 4 steps with a checkpoint at 3, then resumes to 6; step 3
     * of the first session is logged twice and must be cut */
    tiny_grpo("b", 4, 3, "auto");
    tiny_grpo("b", 6, 3, "auto");
    static json_t *ma[16], *mb[16];
    int na = read_jsonl(tmp_path("runs/a/metrics.jsonl"), ma, 16);
    int nb = read_jsonl(tmp_path("runs/b/metrics.jsonl"), mb, 16);
    cr_assert_eq(na, 6);
    cr_assert_eq(nb, 6);
    for (int i = 0; i < na; i++) {
        cr_assert_eq(json_object_size(ma[i]), json_object_size(mb[i]));
        const char *key;
        json_t *va;
        json_object_foreach(ma[i], key, va) {
            const rlc_metric_def *d = rlc_metric_def_by_key(key);
            if (d && (d->flags & RLC_MF_TIME)) continue;
            json_t *vb = json_object_get(mb[i], key);
            cr_assert(vb && json_equal(va, vb), "step %d: %s differs after resume", i, key);
        }
        json_decref(ma[i]);
        json_decref(mb[i]);
    }
    const char *same[] = {"emergence/steps.jsonl", "emergence/generations.jsonl"};
    for (int k = 0; k < 2; k++) {
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "runs/a/%s", same[k]);
        snprintf(pb, sizeof pb, "runs/b/%s", same[k]);
        char *ta = text_of(pa), *tb = text_of(pb);
        cr_assert_str_eq(ta, tb, "%s differs after resume", same[k]);
        free(ta);
        free(tb);
    }
    static tb_view va, vb;
    read_tb(tmp_path("runs/a/tb"), &va);
    read_tb(tmp_path("runs/b/tb"), &vb);
    cr_assert_eq(vb.files, 2, "the resumed session writes a new event file");
    cr_assert_eq(vb.hparams, 1);
    cr_assert_eq(va.hists, vb.hists);
    cr_assert_eq(va.texts, vb.texts);
    int n = 0;
    for (int i = 0; i < va.n; i++)
        if (!is_time_tag(va.s[i].tag)) va.s[n++] = va.s[i];
    va.n = n;
    n = 0;
    for (int i = 0; i < vb.n; i++)
        if (!is_time_tag(vb.s[i].tag)) vb.s[n++] = vb.s[i];
    vb.n = n;
    cr_assert_eq(va.n, vb.n, "scalars: %d uninterrupted, %d resumed", va.n, vb.n);
    qsort(va.s, (size_t)va.n, sizeof va.s[0], cmp_scalar);
    qsort(vb.s, (size_t)vb.n, sizeof vb.s[0], cmp_scalar);
    for (int i = 0; i < va.n; i++) {
        cr_assert_str_eq(va.s[i].tag, vb.s[i].tag);
        cr_assert_eq(va.s[i].step, vb.s[i].step, "%s", va.s[i].tag);
        cr_assert(va.s[i].value == vb.s[i].value || (isnan(va.s[i].value) && isnan(vb.s[i].value)),
                  "%s step %lld: %.9g uninterrupted, %.9g resumed", va.s[i].tag, va.s[i].step,
                  va.s[i].value, vb.s[i].value);
    }
}

Test(tb, cut_keeps_earlier_steps_and_drops_a_torn_tail) {
    rlc_tb *w;
    cr_assert_eq(rlc_tb_open(tmp_path("tb"), &w), RLC_OK);
    const char *k[] = {"lr"}, *val[] = {"0.1"};
    cr_assert_eq(rlc_tb_hparams(w, k, val, 1), RLC_OK);
    for (int s = 0; s < 5; s++)
        cr_assert_eq(rlc_tb_scalar(w, "train/loss", s, (float)s), RLC_OK);
    char *path = strdup(rlc_tb_path(w));
    cr_assert_eq(rlc_tb_close(w), RLC_OK);
    FILE *f = fopen(path, "ab");
    fwrite("\x20\0\0\0\0\0\0\0xx", 1, 10, f); /* a torn record */
    fclose(f);
    cr_assert_eq(rlc_tb_cut(tmp_path("tb"), 3), RLC_OK, "%s", rlc_last_error());
    size_t len;
    uint8_t *buf = slurp(path, &len);
    rec recs[16];
    char err[128];
    /* file_version, hparams, steps 0..2 */
    cr_assert_eq(walk(buf, len, recs, 16, err, sizeof err), 5, "%s", err);
    free(buf);
    cr_assert_eq(rlc_tb_cut(tmp_path("tb"), 0), RLC_OK);
    cr_assert_eq(count_event_files(tmp_path("tb")), 0);
    cr_assert_eq(rlc_tb_cut(tmp_path("missing"), 3), RLC_OK);
    free(path);
}

/* ---- the tag names W&B users know (seeds 000, 001, 004; README "W&B") ---- */

/* How many scalars v holds under tag. */
static int scalar_count(const tb_view *v, const char *tag) {
    int n = 0;
    for (int i = 0; i < v->n; i++)
        n += !strcmp(v->s[i].tag, tag);
    return n;
}

static int hist_count(const tb_view *v, const char *tag) {
    int n = 0;
    for (int i = 0; i < v->hists; i++)
        n += !strcmp(v->hist_tags[i], tag);
    return n;
}

/* The tags `wandb sync --sync-tensorboard` turns into W&B metric names, as the
 * seeds list them: train/loss, train/learning_rate, train/grad_norm every step,
 * rewards/{name}_mean|_max|_min every step and _hist every histogram_every,
 * and the others README's W&B table lists,
 * final/{name}_mean|_std|_max|_min|_total_samples once at the end. The
 * arithmetic source is endless, so there is no train/epoch. */
Test(tb_run, grpo_tags_use_the_names_the_seeds_list) {
    tiny_sft();
    tiny_grpo("grpo", 6, 0, "never");
    static tb_view v;
    read_tb(tmp_path("runs/grpo/tb"), &v);
    static const char *const train[] = {"train/loss", "train/learning_rate", "train/grad_norm",
                                        "train/rewards/mean_reward", "train/rewards/correct_rate"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(scalar_count(&v, train[i]), 6, "%s", train[i]);
    cr_assert_eq(scalar_count(&v, "train/lr"), 0);
    cr_assert_eq(scalar_count(&v, "train/epoch"), 0, "an endless source has no epochs");
    static const char *const names[] = {"format_approx", "number_check"};
    char tag[160];
    for (int r = 0; r < 2; r++) {
        static const char *const per_step[] = {"mean", "max", "min", "std", "recent_mean"};
        for (int i = 0; i < 5; i++) {
            snprintf(tag, sizeof tag, "rewards/%s_%s", names[r], per_step[i]);
            cr_assert_eq(scalar_count(&v, tag), 6, "%s", tag);
        }
        snprintf(tag, sizeof tag, "rewards/%s_hist", names[r]);
        cr_assert_eq(hist_count(&v, tag), 3, "%s (histogram_every 2 over 6 steps)", tag);
        static const char *const final[] = {"mean", "std", "max", "min", "total_samples"};
        for (int i = 0; i < 5; i++) {
            snprintf(tag, sizeof tag, "final/%s_%s", names[r], final[i]);
            cr_assert_eq(scalar_count(&v, tag), 1, "%s", tag);
        }
    }
}

/* SFT over a 10-record jsonl set, 4 examples a step: train/epoch after step s
 * is (s + 1) * 4 / 10, in tb/ and as "epoch" in metrics.jsonl; the
 * logging.wandb_* keys are among the hparams. Then GRPO over the same set. */
Test(tb_run, train_epoch_over_a_jsonl_set_sft_and_grpo) {
    FILE *f = fopen(tmp_path("qa.jsonl"), "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 10; i++)
        fprintf(f, "{\"question\": \"q%d: what is %d+1?\", \"answer\": \"%d+1=%d\\n#### %d\"}\n", i,
                i, i, i + 1, i + 1);
    fclose(f);
    char text[2048], args[600];
    snprintf(text, sizeof text,
             "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2, "
             "kv_heads: 2, intermediate: 32, max_seq: 96, seed: 1}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: jsonl, path: %s, max_prompt_tokens: 48}\n"
             "training: {mode: sft, steps: 5, batch_size: 4, seed: 1}\n"
             "optimizer: {lr: 1.0e-3}\n"
             "logging: {run_dir: %s/runs, run_name: sftj, tensorboard: true, console: false,\n"
             "          wandb_project: proj-x, wandb_tags: [a, b]}\n"
             "checkpoint: {save_every: 0, resume: never}\n",
             tmp_path("qa.jsonl"), tmpdir);
    spit(tmp_path("sftj.yaml"), text, strlen(text));
    snprintf(args, sizeof args, "sft %s", tmp_path("sftj.yaml"));
    cr_assert_eq(run_rlc(args), 0);
    static tb_view v;
    read_tb(tmp_path("runs/sftj/tb"), &v);
    static const char *const train[] = {"train/loss", "train/learning_rate", "train/grad_norm",
                                        "train/epoch"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(scalar_count(&v, train[i]), 5, "%s", train[i]);
    static json_t *m[8];
    int nm = read_jsonl(tmp_path("runs/sftj/metrics.jsonl"), m, 8);
    cr_assert_eq(nm, 5);
    for (int i = 0; i < v.n; i++) {
        if (strcmp(v.s[i].tag, "train/epoch")) continue;
        float want = (float)((v.s[i].step + 1) * 4 / 10.0);
        cr_assert_eq(v.s[i].value, want, "train/epoch at step %lld: %g, want %g", v.s[i].step,
                     v.s[i].value, want);
        json_t *e = json_object_get(m[v.s[i].step], "epoch");
        cr_assert(json_is_number(e));
        cr_assert_float_eq(json_number_value(e), (v.s[i].step + 1) * 0.4, 1e-12);
    }
    for (int i = 0; i < nm; i++)
        json_decref(m[i]);
    cr_assert_eq(v.hparams, 1);
    /* the hparams summary names every key with its value: look for the raw bytes */
    struct dirent **ents;
    int ne = scandir(tmp_path("runs/sftj/tb"), &ents, NULL, by_name);
    int found = 0;
    for (int i = 0; i < ne; i++) {
        if (!strncmp(ents[i]->d_name, "events.out.tfevents.", 20)) {
            char path[600];
            snprintf(path, sizeof path, "%s/runs/sftj/tb/%s", tmpdir, ents[i]->d_name);
            size_t len;
            uint8_t *buf = slurp(path, &len);
            found = memmem(buf, len, "logging.wandb_project", 21) &&
                    memmem(buf, len, "proj-x", 6) && memmem(buf, len, "logging.wandb_tags", 18);
            free(buf);
        }
        free(ents[i]);
    }
    free(ents);
    cr_assert(found, "logging.wandb_* not among the hparams");

    /* GRPO from that model over the same set, 3 prompts a step: (s + 1) * 3 / 10 */
    snprintf(text, sizeof text,
             "model: {path: %s/runs/sftj/final}\n"
             "tokenizer: {kind: byte, chat: none}\n"
             "data: {source: jsonl, path: %s, max_prompt_tokens: 48}\n"
             "algorithm: {group_size: 2, max_new_tokens: 6}\n"
             "training: {steps: 4, batch_size: 3, seed: 1}\n"
             "logging: {run_dir: %s/runs, run_name: grpoj, tensorboard: true, console: false}\n"
             "checkpoint: {save_every: 0, resume: never}\n",
             tmpdir, tmp_path("qa.jsonl"), tmpdir);
    spit(tmp_path("grpoj.yaml"), text, strlen(text));
    snprintf(args, sizeof args, "train %s", tmp_path("grpoj.yaml"));
    cr_assert_eq(run_rlc(args), 0);
    read_tb(tmp_path("runs/grpoj/tb"), &v);
    cr_assert_eq(scalar_count(&v, "train/epoch"), 4);
    for (int i = 0; i < v.n; i++)
        if (!strcmp(v.s[i].tag, "train/epoch"))
            cr_assert_eq(v.s[i].value, (float)((v.s[i].step + 1) * 3 / 10.0), "step %lld: %g",
                         v.s[i].step, v.s[i].value);
}
