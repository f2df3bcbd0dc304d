/* Chat formatting: renders a conversation to the exact text a model's own
 * chat template (tokenizer_config.json "chat_template", run by transformers'
 * jinja2) produces, so the caller can tokenize it with special tokens matched
 * in the text. Only the conversation shapes RL and SFT need: system, user and
 * assistant messages with string content; no tools.
 *
 * Formats, and the published template each reproduces byte for byte
 * (copies under tests/chat/templates/):
 *   RLC_CHAT_NONE    plain prompt/completion: every message's content in order,
 *                    nothing between, no bos; roles, the generation prompt and
 *                    enable_thinking add nothing.
 *   RLC_CHAT_CHATML  Qwen2.5-Instruct: "<|im_start|>ROLE\nCONTENT<|im_end|>\n"
 *                    per message (content verbatim), and, when the first message
 *                    is not a system one, the default system message "You are
 *                    Qwen, created by Alibaba Cloud. You are a helpful assistant."
 *                    first. Generation prompt: "<|im_start|>assistant\n".
 *   RLC_CHAT_QWEN3   Qwen3 (hybrid thinking, 0.6B..235B, April 2025): ChatML,
 *                    no default system message; an assistant message holding
 *                    "</think>" loses its reasoning when it comes before the
 *                    last user message, and an assistant message after it that
 *                    is the last one or has reasoning is written as
 *                    "<think>\nREASONING\n</think>\n\nANSWER". With
 *                    enable_thinking == 0 the generation prompt is followed by
 *                    "<think>\n\n</think>\n\n".
 *   RLC_CHAT_LLAMA3  Llama 3.1 / 3.3 Instruct: "<|begin_of_text|>", a system
 *                    block "Cutting Knowledge Date: December 2023\nToday Date:
 *                    26 Jul 2024\n\n" + the stripped system content, then
 *                    "<|start_header_id|>ROLE<|end_header_id|>\n\n" +
 *                    content.strip() + "<|eot_id|>" per message. Generation
 *                    prompt: "<|start_header_id|>assistant<|end_header_id|>\n\n".
 *                    Llama 3.2's template differs only in the date: it asks
 *                    strftime_now for today's, so it matches when rendered with
 *                    date_string="26 Jul 2024".
 * strip() is Python's str.strip() (Unicode whitespace, UTF-8 content). */
#ifndef RLC_TOKENIZER_CHAT_H
#define RLC_TOKENIZER_CHAT_H

#include "base/status.h"

/* Values are only ever appended to: they appear in configs and logs. */
typedef enum rlc_chat_format {
    RLC_CHAT_NONE = 0, /* plain prompt/completion */
    RLC_CHAT_CHATML,   /* Qwen2.5-Instruct */
    RLC_CHAT_QWEN3,    /* Qwen3 with the enable_thinking switch */
    RLC_CHAT_LLAMA3,   /* Llama 3.1 / 3.3 Instruct */
    RLC_CHAT_AUTO,     /* config value only: resolve with rlc_chat_detect */
    RLC_CHAT_FORMAT_COUNT
} rlc_chat_format;

/* role is "system", "user" or "assistant"; content is UTF-8. Borrowed. */
typedef struct rlc_chat_msg {
    const char *role;
    const char *content;
} rlc_chat_msg;

/* Renders msgs[0..n) in format f into a NUL-terminated malloc'd string the
 * caller frees. add_generation_prompt appends the assistant header (and, for
 * QWEN3 with enable_thinking == 0, the empty think block); enable_thinking
 * matters only for QWEN3. Errors (RLC_ERR_INVALID, *out left NULL): n < 1, a
 * NULL role or content, a role other than the three above, f AUTO or unknown. */
rlc_status rlc_chat_render(rlc_chat_format f, const rlc_chat_msg *msgs, int n,
                           int add_generation_prompt, int enable_thinking, char **out);

/* Picks the format from a model's tokenizer_config.json "chat_template" (a
 * string, or a list of {name, template} of which "default" is used); when the
 * key is absent, from chat_template.jinja beside it; with neither, NONE.
 * Recognised: Qwen3's hybrid template (<|im_start|>, enable_thinking, <think>)
 * -> QWEN3; ChatML with Qwen2.5's default system prompt -> CHATML; Llama 3.1+
 * (<|start_header_id|>, "Cutting Knowledge Date") -> LLAMA3. Any other template
 * -> RLC_ERR_UNSUPPORTED naming what was found, since rendering it with a
 * near-miss format would silently change every prompt; the config can still
 * name a format. RLC_ERR_NOT_FOUND / RLC_ERR_IO / RLC_ERR_FORMAT for a
 * missing, unreadable or malformed file. */
rlc_status rlc_chat_detect(const char *tokenizer_config_json_path, rlc_chat_format *out);

/* Config value -> format: "none", "chatml", "qwen3", "llama3" or "auto"
 * (case-sensitive); anything else is RLC_ERR_INVALID listing the choices. */
rlc_status rlc_chat_parse(const char *name, rlc_chat_format *out);

/* The config name of a format ("chatml", ...); "?" for an unknown value. */
const char *rlc_chat_name(rlc_chat_format f);

#endif
