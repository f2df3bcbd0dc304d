/* Fuzz targets: one entry point per parser that reads bytes a user or a
 * network peer controls. Each takes the input bytes, runs the parser (and the
 * round trips it promises) and returns 0; a broken promise aborts, so
 * libFuzzer (tests/fuzz/main.c, `make fuzz`) and the regression replay
 * (tests/test_fuzz_regress.c) report it the same way. */
#ifndef RLC_TESTS_FUZZ_H
#define RLC_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

typedef int (*rlc_fuzz_fn)(const uint8_t *data, size_t size);

int rlc_fuzz_safetensors(const uint8_t *data, size_t size);
int rlc_fuzz_model_config(const uint8_t *data, size_t size);
int rlc_fuzz_tokenizer_load(const uint8_t *data, size_t size);
int rlc_fuzz_tokenizer_encode(const uint8_t *data, size_t size);
int rlc_fuzz_chat(const uint8_t *data, size_t size);
int rlc_fuzz_jsonl(const uint8_t *data, size_t size);
int rlc_fuzz_runconfig(const uint8_t *data, size_t size);
int rlc_fuzz_overrides(const uint8_t *data, size_t size);
int rlc_fuzz_monitor_metrics(const uint8_t *data, size_t size);
int rlc_fuzz_serve_files(const uint8_t *data, size_t size);
int rlc_fuzz_serve_paths(const uint8_t *data, size_t size);
int rlc_fuzz_games(const uint8_t *data, size_t size);
int rlc_fuzz_parquet(const uint8_t *data, size_t size);
int rlc_fuzz_external(const uint8_t *data, size_t size);

typedef struct rlc_fuzz_target {
    const char *name; /* tests/fuzz/corpus/<name>, tests/fuzz/regress/<name> */
    rlc_fuzz_fn fn;
} rlc_fuzz_target;

/* Every target, NULL-terminated. */
extern const rlc_fuzz_target rlc_fuzz_targets[];

/* Helpers shared by the targets. */
/* A private scratch folder (created once per process, on /dev/shm when
 * there is one), and dir/name in a rotating static buffer. */
const char *rlc_fuzz_dir(void);
const char *rlc_fuzz_path(const char *name);
/* Writes data to path (creating parent folders is the caller's job). */
void rlc_fuzz_write(const char *path, const void *data, size_t size);
/* Aborts with a message when cond is false: a promise the code broke. */
#define RLC_FUZZ_CHECK(cond, ...)                                                                  \
    do {                                                                                           \
        if (!(cond)) rlc_fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                        \
    } while (0)
void rlc_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

#endif
