/* Fuzz target for chat formatting: rendering conversations in every format,
 * and picking the format from a tokenizer_config.json. */
#include "fuzz.h"
#include "tokenizer/chat.h"

#include <stdlib.h>
#include <string.h>

/* First byte even: the rest is a tokenizer_config.json for rlc_chat_detect
 * (and its first bytes a format name for rlc_chat_parse). Odd: byte 1 holds
 * the format (low 3 bits), add_generation_prompt (bit 3) and enable_thinking
 * (bit 4); the rest is messages separated by 0x1E bytes, each starting with a
 * role byte (its value mod 5: system, user, assistant, tool, NULL). */
int rlc_fuzz_chat(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    if (!(data[0] & 1)) {
        const char *path = rlc_fuzz_path("tokenizer_config.json");
        rlc_fuzz_write(path, data + 1, size - 1);
        rlc_chat_format f;
        if (rlc_chat_detect(path, &f) == RLC_OK)
            RLC_FUZZ_CHECK(f >= RLC_CHAT_NONE && f < RLC_CHAT_AUTO, "detect gave format %d", f);
        char name[16];
        size_t k = size - 1 < sizeof name - 1 ? size - 1 : sizeof name - 1;
        memcpy(name, data + 1, k), name[k] = 0;
        if (rlc_chat_parse(name, &f) == RLC_OK)
            RLC_FUZZ_CHECK(!strcmp(rlc_chat_name(f), name) || !strcmp(name, "auto"),
                           "parse/name disagree on %s", name);
        return 0;
    }
    static const char *const roles[] = {"system", "user", "assistant", "tool", NULL};
    int fmt = data[1] & 7, gen = (data[1] >> 3) & 1, think = (data[1] >> 4) & 1;
    char *text = malloc(size - 1);
    RLC_FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data + 2, size - 2);
    text[size - 2] = 0;
    rlc_chat_msg msgs[64];
    int n = 0;
    for (char *p = text; p && n < 64;) {
        char *sep = strchr(p, 0x1e);
        if (sep) *sep = 0;
        if (*p) {
            msgs[n].role = roles[(unsigned char)p[0] % 5];
            msgs[n].content = p + 1;
            n++;
        }
        p = sep ? sep + 1 : NULL;
    }
    char *out = NULL;
    rlc_status st = rlc_chat_render((rlc_chat_format)fmt, msgs, n, gen, think, &out);
    if (st == RLC_OK) {
        RLC_FUZZ_CHECK(out != NULL, "render succeeded without text");
        /* Every message's content shows in NONE, and verbatim in CHATML. */
        if (fmt == RLC_CHAT_NONE || fmt == RLC_CHAT_CHATML)
            for (int i = 0; i < n; i++)
                RLC_FUZZ_CHECK(strstr(out, msgs[i].content) != NULL,
                               "message %d's content is missing", i);
    } else {
        RLC_FUZZ_CHECK(out == NULL, "failed render left text");
    }
    free(out);
    free(text);
    return 0;
}
