/* rlc tokenize: text to ids (or ids to text with --decode) with a model's
 * tokenizer.json or rlc_tokenizer.json. */
#include "cli/args.h"
#include "cli/cli.h"

#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n - 1, stdin);
        n += r;
        if (r == 0) break;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) free(b);
            b = nb, cap *= 2;
        }
    }
    if (b) b[n] = 0, *len = n;
    return b;
}

/* Ids separated by commas and/or whitespace. */
static int parse_id_list(const char *s, int **ids, int *n) {
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (!c) return -1;
    int k = 0;
    for (size_t i = 0, sep = 1; i < len; i++) {
        int is_sep = s[i] == ',' || s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r';
        if (is_sep && !sep && k)
            c[k++] = ',';
        else if (!is_sep)
            c[k++] = s[i];
        sep = (size_t)is_sep;
    }
    while (k && c[k - 1] == ',')
        k--;
    c[k] = 0;
    int rc = rlc_cli_parse_ids(c, ids, n);
    free(c);
    return rc;
}

/* JSON needs valid UTF-8: invalid bytes become U+FFFD. */
json_t *rlc_cli_json_text(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j) return j;
    char *o = malloc(n * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; o && i < n;) {
        unsigned char c = (unsigned char)s[i];
        int l = c < 0x80                 ? 1
                : c >= 0xC2 && c <= 0xDF ? 2
                : c >= 0xE0 && c <= 0xEF ? 3
                : c >= 0xF0 && c <= 0xF4 ? 4
                                         : 0;
        json_t *probe = l && i + (size_t)l <= n ? json_stringn(s + i, (size_t)l) : NULL;
        if (probe) {
            memcpy(o + k, s + i, (size_t)l);
            k += (size_t)l, i += (size_t)l;
            json_decref(probe);
        } else {
            memcpy(o + k, "\xEF\xBF\xBD", 3);
            k += 3, i++;
        }
    }
    j = o ? json_stringn(o, k) : NULL;
    free(o);
    return j;
}

int rlc_cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *input = NULL;
    int as_json = 0, decode = 0, skip_special = 0;
    rlc_opt opts[] = {
        {"tokenizer", OPT_STR, &path, "PATH",
         "tokenizer.json, rlc_tokenizer.json (rlc's byte tokenizer) or the model directory "
         "holding one"},
        {"decode", OPT_FLAG, &decode, NULL, "read ids (1,2,3 or space-separated), print text"},
        {"skip-special", OPT_FLAG, &skip_special, NULL, "with --decode, drop special tokens"},
        {"json", OPT_FLAG, &as_json, NULL, "print one JSON object"},
        {"input", OPT_POS, &input, "TEXT | -", "text (or ids with --decode); - reads stdin"},
        {0},
    };
    int pr = rlc_cli_parse("tokenize", "--tokenizer PATH [--json] [--decode] (TEXT | -)", opts,
                           argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    if (!path || !input) {
        fprintf(stderr, "rlc tokenize: needs --tokenizer PATH and TEXT (or - for stdin)\n");
        return 2;
    }
    size_t len = strlen(input);
    char *owned = NULL;
    if (!strcmp(input, "-")) {
        if (!(owned = read_stdin(&len))) {
            fprintf(stderr, "rlc tokenize: could not read stdin\n");
            return 1;
        }
        input = owned;
    }
    rlc_tokenizer *t;
    rlc_status st = rlc_tokenizer_open(path, &t);
    if (st) {
        free(owned);
        return rlc_cli_fail(st);
    }
    int *ids = NULL, n = 0, rc = 0;
    char *text = NULL;
    size_t tlen = 0;
    if (decode) {
        if (parse_id_list(input, &ids, &n))
            rc = 2;
        else if ((st = rlc_tokenizer_decode(t, ids, n, skip_special, &text, &tlen)))
            rc = rlc_cli_fail(st);
    } else if ((st = rlc_tokenizer_encode(t, input, len, &ids, &n))) {
        rc = rlc_cli_fail(st);
    }
    if (!rc) {
        if (as_json) {
            json_t *o = json_object();
            if (decode) {
                json_object_set_new(o, "text", rlc_cli_json_text(text, tlen));
            } else {
                json_t *a = json_array();
                for (int i = 0; i < n; i++)
                    json_array_append_new(a, json_integer(ids[i]));
                json_object_set_new(o, "ids", a);
                json_object_set_new(o, "count", json_integer(n));
            }
            char *s = json_dumps(o, JSON_COMPACT);
            puts(s);
            free(s);
            json_decref(o);
        } else if (decode) {
            fwrite(text, 1, tlen, stdout);
        } else {
            for (int i = 0; i < n; i++)
                printf("%s%d", i ? " " : "", ids[i]);
            printf("\n");
        }
    }
    free(text);
    free(ids);
    free(owned);
    rlc_tokenizer_free(t);
    return rc;
}
