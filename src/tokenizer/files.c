/* A model directory's tokenizer on disk: tokenizer.json (Hugging Face) or
 * rlc_tokenizer.json (the byte tokenizer of a model trained from scratch),
 * found the same way by every command. */
#include "base/fs.h"
#include "tokenizer/tok_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int rlc_tokenizer_is_byte(const rlc_tokenizer *t) {
    return t->kind == TOK_BYTE;
}

#define MAX_SPECIALS 64

rlc_status rlc_tokenizer_load_byte(const char *path, rlc_tokenizer **out) {
    *out = NULL;
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) {
        if (!rlc_file_exists(path)) return rlc_errorf(RLC_ERR_NOT_FOUND, "%s: no such file", path);
        return rlc_errorf(RLC_ERR_FORMAT, "%s: not JSON (line %d: %s)", path, e.line, e.text);
    }
    const char *specials[MAX_SPECIALS];
    int n = 0;
    rlc_status st = RLC_OK;
    json_t *kind = json_object_get(root, "kind"), *sp = json_object_get(root, "specials");
    if (!json_is_string(kind) || strcmp(json_string_value(kind), "byte"))
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: field 'kind': expected \"byte\"", path);
    else if (!json_is_array(sp) || json_array_size(sp) > MAX_SPECIALS)
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: field 'specials': expected a list of at most %d strings", path,
                        MAX_SPECIALS);
    for (size_t i = 0; st == RLC_OK && i < json_array_size(sp); i++) {
        json_t *s = json_array_get(sp, i);
        if (!json_is_string(s) || !*json_string_value(s))
            st = rlc_errorf(RLC_ERR_FORMAT, "%s: specials[%zu]: expected a non-empty string", path,
                            i);
        else
            specials[n++] = json_string_value(s);
    }
    if (st == RLC_OK) st = rlc_tokenizer_new_byte(specials, n, out);
    json_decref(root);
    return st;
}

rlc_status rlc_tokenizer_save_byte(const rlc_tokenizer *t, const char *dir) {
    if (t->kind != TOK_BYTE)
        return rlc_errorf(RLC_ERR_INVALID, "%s: only a byte tokenizer is saved as %s", dir,
                          RLC_TOKENIZER_BYTE_FILE);
    char path[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, RLC_TOKENIZER_BYTE_FILE));
    json_t *root = json_object(), *sp = json_array();
    json_object_set_new(root, "kind", json_string("byte"));
    for (int id = 256; id < t->vocab_size; id++)
        json_array_append_new(sp, json_string(rlc_tokenizer_token_str(t, id)));
    json_object_set_new(root, "specials", sp);
    char *text = json_dumps(root, JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory", path);
    }
    line[n] = '\n', line[n + 1] = 0;
    rlc_status st = rlc_write_file_atomic(path, line, n + 1);
    free(line);
    return st;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix) && (n == k || s[n - k - 1] == '/');
}

rlc_status rlc_tokenizer_open(const char *path, rlc_tokenizer **out) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return rlc_errorf(RLC_ERR_NOT_FOUND,
                          "%s: no such file or directory (expected tokenizer.json, %s or the "
                          "model directory holding one)",
                          path, RLC_TOKENIZER_BYTE_FILE);
    if (!S_ISDIR(sb.st_mode))
        return ends_with(path, RLC_TOKENIZER_BYTE_FILE) ? rlc_tokenizer_load_byte(path, out)
                                                        : rlc_tokenizer_load(path, out);
    char file[4096];
    RLC_TRY(rlc_path_join(file, sizeof file, path, "tokenizer.json"));
    if (rlc_file_exists(file)) return rlc_tokenizer_load(file, out);
    RLC_TRY(rlc_path_join(file, sizeof file, path, RLC_TOKENIZER_BYTE_FILE));
    if (rlc_file_exists(file)) return rlc_tokenizer_load_byte(file, out);
    return rlc_errorf(RLC_ERR_NOT_FOUND, "%s: no tokenizer.json or %s in this directory", path,
                      RLC_TOKENIZER_BYTE_FILE);
}
