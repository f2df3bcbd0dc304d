#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_help(const char *cmd, const char *synopsis, const rlc_opt *opts) {
    printf("usage: rlc %s %s\n\noptions:\n", cmd, synopsis);
    for (const rlc_opt *o = opts; o->name; o++) {
        char left[64];
        if (o->kind == OPT_POS)
            snprintf(left, sizeof left, "%s", o->metavar ? o->metavar : o->name);
        else
            snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "--help", "show this help");
}

static int set_value(const char *cmd, const rlc_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_STR:
        *(const char **)o->dst = v;
        return 0;
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (errno || !*v || *end || x < -2147483647L || x > 2147483647L) break;
        *(int *)o->dst = (int)x;
        return 0;
    }
    case OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || !*v || *end || *v == '-') break;
        *(uint64_t *)o->dst = (uint64_t)x;
        return 0;
    }
    case OPT_FLOAT: {
        float x = strtof(v, &end);
        if (errno || !*v || *end) break;
        *(float *)o->dst = x;
        return 0;
    }
    case OPT_FLAG:
    case OPT_POS:
        break;
    }
    fprintf(stderr, "rlc %s: --%s expects %s, got '%s'\n", cmd, o->name,
            o->kind == OPT_FLOAT ? "a number" : "an integer", v);
    return -1;
}

/* Stores a positional argument in the first OPT_POS entry still unset. */
static int set_positional(const char *cmd, const rlc_opt *opts, const char *a, unsigned *used) {
    int k = 0;
    for (const rlc_opt *o = opts; o->name; o++, k++) {
        if (o->kind != OPT_POS || (*used >> k & 1u)) continue;
        *used |= 1u << k;
        *(const char **)o->dst = a;
        return 0;
    }
    fprintf(stderr, "rlc %s: unexpected argument '%s' (see rlc %s --help)\n", cmd, a, cmd);
    return -1;
}

int rlc_cli_parse(const char *cmd, const char *synopsis, const rlc_opt *opts, int argc,
                  char **argv) {
    unsigned used = 0;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos) {
            if (set_positional(cmd, opts, a, &used)) return -1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(cmd, synopsis, opts);
            return 1;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (strncmp(a, "--", 2)) {
            if (set_positional(cmd, opts, a, &used)) return -1;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const rlc_opt *o = opts;
        while (o->name &&
               (o->kind == OPT_POS || strlen(o->name) != len || strncmp(o->name, name, len)))
            o++;
        if (!o->name) {
            fprintf(stderr, "rlc %s: unknown option '--%.*s' (see rlc %s --help)\n", cmd, (int)len,
                    name, cmd);
            return -1;
        }
        if (o->kind == OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "rlc %s: --%s takes no value\n", cmd, o->name);
                return -1;
            }
            *(int *)o->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "rlc %s: --%s needs a value\n", cmd, o->name);
            return -1;
        }
        if (set_value(cmd, o, v)) return -1;
    }
    return 0;
}

int rlc_cli_parse_ids(const char *s, int **ids, int *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    int *out = malloc(cap * sizeof(int));
    if (!out) return -1;
    int count = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 2147483647L || (*end && *end != ',')) {
            fprintf(stderr, "rlc: token ids must be comma-separated non-negative integers: '%s'\n",
                    s);
            free(out);
            return -1;
        }
        out[count++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!count) {
        fprintf(stderr, "rlc: no token ids given\n");
        free(out);
        return -1;
    }
    *ids = out;
    *n = count;
    return 0;
}
