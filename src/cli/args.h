/* A small option-table parser shared by every command: `--name value`,
 * `--name=value`, flags, positional arguments, and --help generated from the
 * table. */
#ifndef RLC_CLI_ARGS_H
#define RLC_CLI_ARGS_H

#include <stdint.h>

/* OPT_POS takes the next argument that is not an option ("-" counts as one,
 * and everything after "--" does), into a const char *; name is for --help. */
typedef enum { OPT_STR, OPT_INT, OPT_FLOAT, OPT_U64, OPT_FLAG, OPT_POS } rlc_opt_kind;

typedef struct rlc_opt {
    const char *name; /* without the leading dashes */
    rlc_opt_kind kind;
    void *dst; /* const char **, int *, float *, uint64_t *, int *, const char ** */
    const char *metavar;
    const char *help;
} rlc_opt;

/* Parses argv[1..argc) into the table (a NULL name ends it). Returns 0 to go on,
 * 1 after printing --help (exit 0), -1 after printing an error (exit 2). */
int rlc_cli_parse(const char *cmd, const char *synopsis, const rlc_opt *opts, int argc,
                  char **argv);

/* Parses "1,2,3" into a malloc'd int array. Returns 0, or -1 (message printed). */
int rlc_cli_parse_ids(const char *s, int **ids, int *n);

#endif
