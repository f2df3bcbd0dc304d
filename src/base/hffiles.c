#include "base/hffiles.h"

#include <stddef.h>

const char *const rlc_tokenizer_hf_files[] = {
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "added_tokens.json",
    "chat_template.jinja",
    NULL,
};
