/* TensorBoard event files, checked by independent readers: every record's
 * length and masked CRC-32C against a bitwise CRC-32C written here, then the
 * Event protos decoded by `protoc --decode` with a schema written from the
 * published field numbers; every scalar must equal its metrics.jsonl value. */
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
    cr_assert_eq(rlc_tb_crc32c("123456789", 9), 0xE3069283u);
    cr_assert_eq(rlc_tb_crc32c("", 0), 0u);
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    cr_assert_eq(rlc_tb_crc32c(buf, sizeof buf), ref_crc32c(buf, sizeof buf));
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
