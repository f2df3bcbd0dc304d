/* rlc command-line front end: each command parses its flags, calls the
 * library, prints, and maps rlc_status to an exit code. No logic lives here. */
#ifndef RLC_CLI_H
#define RLC_CLI_H

#include "base/status.h"

#include <stddef.h>

typedef struct rlc_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} rlc_command;

/* Prints "rlc: <last error>" to stderr and returns the exit code for st. */
int rlc_cli_fail(rlc_status st);

int rlc_cmd_info(int argc, char **argv);
int rlc_cmd_generate(int argc, char **argv);
int rlc_cmd_merge(int argc, char **argv);
int rlc_cmd_squeeze(int argc, char **argv);
int rlc_cmd_tokenize(int argc, char **argv);
int rlc_cmd_train(int argc, char **argv);
int rlc_cmd_sft(int argc, char **argv);
int rlc_cmd_eval(int argc, char **argv);
int rlc_cmd_resume_check(int argc, char **argv);
int rlc_cmd_monitor(int argc, char **argv);
int rlc_cmd_campaign(int argc, char **argv);
int rlc_cmd_serve(int argc, char **argv);
int rlc_cmd_diff(int argc, char **argv);
int rlc_cmd_status(int argc, char **argv);
int rlc_cmd_top(int argc, char **argv);
int rlc_cmd_init(int argc, char **argv);

/* A JSON string of text; bytes that are not valid UTF-8 become U+FFFD. */
struct json_t;
struct json_t *rlc_cli_json_text(const char *s, size_t n);

#endif
