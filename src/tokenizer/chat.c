/* Chat formatting: each format is the hand-compiled form of one published
 * jinja template (see chat.h); the string operations below reproduce the
 * Python str methods those templates call. */
#include "tokenizer/chat.h"

#include "base/fs.h"
#include "base/strbuf.h"

#include <jansson.h>
#include <string.h>

/* ---- Python str semantics on UTF-8 byte ranges [s, e) ---- */

/* Python's str.isspace() set: ASCII \t\n\v\f\r, \x1c-\x1f, space, and U+0085,
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static int is_py_space(unsigned cp) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f)) return 1;
    if (cp < 0x85) return 0;
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Decodes the UTF-8 sequence at s (before e); returns its length, or 0 when it
 * is not one of the whitespace code points (invalid bytes never are). */
static size_t space_len_at(const char *s, const char *e) {
    const unsigned char *u = (const unsigned char *)s;
    size_t avail = (size_t)(e - s);
    if (u[0] < 0x80) return is_py_space(u[0]) ? 1 : 0;
    if ((u[0] & 0xe0) == 0xc0 && avail >= 2 && (u[1] & 0xc0) == 0x80) {
        unsigned cp = (u[0] & 0x1fu) << 6 | (u[1] & 0x3fu);
        return cp >= 0x80 && is_py_space(cp) ? 2 : 0;
    }
    if ((u[0] & 0xf0) == 0xe0 && avail >= 3 && (u[1] & 0xc0) == 0x80 && (u[2] & 0xc0) == 0x80) {
        unsigned cp = (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3fu);
        return is_py_space(cp) ? 3 : 0;
    }
    return 0; /* 4-byte sequences hold no whitespace */
}

/* str.strip(): drops leading and trailing whitespace code points. */
static void py_strip(const char **s, const char **e) {
    size_t k;
    while (*s < *e && (k = space_len_at(*s, *e)) > 0)
        *s += k;
    while (*s < *e) {
        const char *c = *e - 1; /* start of the last code point */
        while (c > *s && ((unsigned char)*c & 0xc0) == 0x80 && *e - c < 4)
            c--;
        if (space_len_at(c, *e) != (size_t)(*e - c)) break;
        *e = c;
    }
}

/* str.lstrip('\n') / str.rstrip('\n'): newlines only. */
static void lstrip_nl(const char **s, const char *e) {
    while (*s < e && **s == '\n')
        (*s)++;
}
static void rstrip_nl(const char *s, const char **e) {
    while (*e > s && (*e)[-1] == '\n')
        (*e)--;
}

/* First / last occurrence of needle in [s, e), or NULL. */
static const char *find_first(const char *s, const char *e, const char *needle) {
    size_t k = strlen(needle);
    for (const char *p = s; p + k <= e; p++)
        if (!memcmp(p, needle, k)) return p;
    return NULL;
}
static const char *find_last(const char *s, const char *e, const char *needle) {
    size_t k = strlen(needle);
    if ((size_t)(e - s) < k) return NULL;
    for (const char *p = e - k;; p--) {
        if (!memcmp(p, needle, k)) return p;
        if (p == s) return NULL;
    }
}

static int is_role(const rlc_chat_msg *m, const char *role) {
    return !strcmp(m->role, role);
}

/* ---- formats ---- */

static void render_none(rlc_strbuf *b, const rlc_chat_msg *m, int n) {
    for (int i = 0; i < n; i++)
        rlc_sb_cstr(b, m[i].content);
}

static void im_message(rlc_strbuf *b, const char *role, const char *s, size_t len) {
    rlc_sb_cstr(b, "<|im_start|>");
    rlc_sb_cstr(b, role);
    rlc_sb_cstr(b, "\n");
    rlc_sb_put(b, s, len);
    rlc_sb_cstr(b, "<|im_end|>\n");
}

/* Qwen2.5-Instruct, tools branch left out. */
static void render_chatml(rlc_strbuf *b, const rlc_chat_msg *m, int n, int gen) {
    if (is_role(&m[0], "system"))
        im_message(b, "system", m[0].content, strlen(m[0].content));
    else
        rlc_sb_cstr(b,
                    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
                    "assistant.<|im_end|>\n");
    for (int i = is_role(&m[0], "system"); i < n; i++)
        im_message(b, m[i].role, m[i].content, strlen(m[i].content));
    if (gen) rlc_sb_cstr(b, "<|im_start|>assistant\n");
}

/* Qwen3: the template's reasoning split, for messages without
 * reasoning_content or tool calls. */
static void render_qwen3(rlc_strbuf *b, const rlc_chat_msg *m, int n, int gen, int thinking) {
    if (is_role(&m[0], "system")) im_message(b, "system", m[0].content, strlen(m[0].content));
    /* The last user message that is not a wrapped tool response. */
    int last_query = n - 1;
    for (int i = n - 1; i >= 0; i--) {
        if (!is_role(&m[i], "user")) continue;
        const char *c = m[i].content;
        size_t len = strlen(c), a = strlen("<tool_response>"), z = strlen("</tool_response>");
        int wrapped = len >= a && !memcmp(c, "<tool_response>", a) && len >= z &&
                      !memcmp(c + len - z, "</tool_response>", z);
        if (!wrapped) {
            last_query = i;
            break;
        }
    }
    for (int i = is_role(&m[0], "system"); i < n; i++) {
        const char *c = m[i].content, *ce = c + strlen(c);
        if (!is_role(&m[i], "assistant")) {
            im_message(b, m[i].role, c, (size_t)(ce - c));
            continue;
        }
        /* content = c.split('</think>')[-1].lstrip('\n'); reasoning =
         * c.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
        const char *s = c, *e = ce, *rs = c, *re = c; /* answer [s,e), reasoning [rs,re) */
        const char *first_end = find_first(c, ce, "</think>");
        if (first_end) {
            s = find_last(c, ce, "</think>") + strlen("</think>");
            lstrip_nl(&s, e);
            re = first_end;
            rstrip_nl(c, &re);
            const char *open = find_last(c, re, "<think>");
            rs = open ? open + strlen("<think>") : c;
            lstrip_nl(&rs, re);
        }
        rlc_sb_cstr(b, "<|im_start|>assistant\n");
        if (i > last_query && (i == n - 1 || re > rs)) {
            rstrip_nl(rs, &re); /* reasoning_content.strip('\n'): left end done above */
            lstrip_nl(&s, e);   /* content.lstrip('\n') */
            rlc_sb_cstr(b, "<think>\n");
            rlc_sb_put(b, rs, (size_t)(re - rs));
            rlc_sb_cstr(b, "\n</think>\n\n");
        }
        rlc_sb_put(b, s, (size_t)(e - s));
        rlc_sb_cstr(b, "<|im_end|>\n");
    }
    if (gen) {
        rlc_sb_cstr(b, "<|im_start|>assistant\n");
        if (!thinking) rlc_sb_cstr(b, "<think>\n\n</think>\n\n");
    }
}

static void llama_message(rlc_strbuf *b, const char *role, const char *content) {
    const char *s = content, *e = content + strlen(content);
    py_strip(&s, &e);
    rlc_sb_cstr(b, "<|start_header_id|>");
    rlc_sb_cstr(b, role);
    rlc_sb_cstr(b, "<|end_header_id|>\n\n");
    rlc_sb_put(b, s, (size_t)(e - s));
    rlc_sb_cstr(b, "<|eot_id|>");
}

/* Llama 3.1 / 3.3 Instruct without tools; date_string left at its default. */
static void render_llama3(rlc_strbuf *b, const rlc_chat_msg *m, int n, int gen) {
    rlc_sb_cstr(b, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                   "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
    int first = 0;
    if (is_role(&m[0], "system")) {
        const char *s = m[0].content, *e = s + strlen(s);
        py_strip(&s, &e);
        rlc_sb_put(b, s, (size_t)(e - s));
        first = 1;
    }
    rlc_sb_cstr(b, "<|eot_id|>");
    for (int i = first; i < n; i++)
        llama_message(b, m[i].role, m[i].content);
    if (gen) rlc_sb_cstr(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

rlc_status rlc_chat_render(rlc_chat_format f, const rlc_chat_msg *msgs, int n,
                           int add_generation_prompt, int enable_thinking, char **out) {
    *out = NULL;
    if ((int)f < 0 || (int)f >= RLC_CHAT_FORMAT_COUNT || f == RLC_CHAT_AUTO)
        return rlc_errorf(RLC_ERR_INVALID,
                          "chat format %d: expected none, chatml, qwen3 or llama3 "
                          "(resolve auto with rlc_chat_detect first)",
                          (int)f);
    if (n < 1 || !msgs)
        return rlc_errorf(RLC_ERR_INVALID, "chat: a conversation needs at least one message");
    for (int i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content)
            return rlc_errorf(RLC_ERR_INVALID, "chat: message %d has no %s", i,
                              msgs[i].role ? "content" : "role");
        if (!is_role(&msgs[i], "system") && !is_role(&msgs[i], "user") &&
            !is_role(&msgs[i], "assistant"))
            return rlc_errorf(RLC_ERR_INVALID,
                              "chat: message %d has role '%s', expected system, user or assistant",
                              i, msgs[i].role);
    }
    rlc_strbuf b = {0};
    rlc_sb_cstr(&b, ""); /* an empty NONE rendering is still a string */
    switch (f) {
    case RLC_CHAT_NONE:
        render_none(&b, msgs, n);
        break;
    case RLC_CHAT_CHATML:
        render_chatml(&b, msgs, n, add_generation_prompt);
        break;
    case RLC_CHAT_QWEN3:
        render_qwen3(&b, msgs, n, add_generation_prompt, enable_thinking);
        break;
    case RLC_CHAT_LLAMA3:
        render_llama3(&b, msgs, n, add_generation_prompt);
        break;
    default:
        RLC_ASSERT(0);
    }
    if (b.oom) {
        free(b.p);
        return rlc_errorf(RLC_ERR_NOMEM, "chat: out of memory rendering %d messages", n);
    }
    *out = b.p;
    return RLC_OK;
}

/* ---- names and detection ---- */

static const char *const format_names[RLC_CHAT_FORMAT_COUNT] = {"none", "chatml", "qwen3", "llama3",
                                                                "auto"};

const char *rlc_chat_name(rlc_chat_format f) {
    return (int)f >= 0 && (int)f < RLC_CHAT_FORMAT_COUNT ? format_names[f] : "?";
}

rlc_status rlc_chat_parse(const char *name, rlc_chat_format *out) {
    for (int i = 0; name && i < RLC_CHAT_FORMAT_COUNT; i++)
        if (!strcmp(name, format_names[i])) {
            *out = (rlc_chat_format)i;
            return RLC_OK;
        }
    return rlc_errorf(RLC_ERR_INVALID,
                      "chat_format '%s': expected none, chatml, qwen3, llama3 or auto",
                      name ? name : "(null)");
}

/* Maps template text to a format; what names the file in messages. */
static rlc_status classify(const char *t, const char *what, rlc_chat_format *out) {
    int im = strstr(t, "<|im_start|>") != NULL;
    int think = strstr(t, "<think>") != NULL;
    if (im && think && strstr(t, "enable_thinking")) {
        *out = RLC_CHAT_QWEN3;
        return RLC_OK;
    }
    if (im && think)
        return rlc_errorf(
            RLC_ERR_UNSUPPORTED,
            "%s: chat_template is a ChatML reasoning template without Qwen3's "
            "enable_thinking switch (QwQ, Qwen3-2507?); rlc renders only Qwen3's hybrid "
            "template: set chat_format to none, chatml, qwen3 or llama3",
            what);
    if (im && strstr(t, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
        *out = RLC_CHAT_CHATML;
    else if (im)
        return rlc_errorf(
            RLC_ERR_UNSUPPORTED,
            "%s: chat_template is ChatML without Qwen2.5's default system prompt; rlc "
            "renders only Qwen2.5's and Qwen3's: set chat_format explicitly",
            what);
    else if (strstr(t, "<|start_header_id|>") && strstr(t, "Cutting Knowledge Date"))
        *out = RLC_CHAT_LLAMA3;
    else if (strstr(t, "<|start_header_id|>"))
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: chat_template is Llama 3.0-style (no 'Cutting Knowledge Date' "
                          "system block); rlc renders Llama 3.1+: set chat_format explicitly",
                          what);
    else
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "%s: chat_template is none of ChatML (Qwen2.5, Qwen3) or Llama 3.1+; set "
                          "chat_format to none, chatml, qwen3 or llama3",
                          what);
    return RLC_OK;
}

/* Looks for chat_template.jinja next to path; NONE when there is none. */
static rlc_status detect_sibling(const char *path, rlc_chat_format *out) {
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 1;
    char dir[4096], jinja[4200];
    if (dl >= sizeof dir) return rlc_errorf(RLC_ERR_INVALID, "%s: path too long", path);
    memcpy(dir, slash ? path : ".", dl);
    dir[dl] = 0;
    if (dl == 0) strcpy(dir, "/");
    RLC_TRY(rlc_path_join(jinja, sizeof jinja, dir, "chat_template.jinja"));
    if (!rlc_file_exists(jinja)) {
        *out = RLC_CHAT_NONE;
        return RLC_OK;
    }
    char *text = NULL;
    RLC_TRY(rlc_read_file(jinja, &text, NULL));
    rlc_status st = classify(text, jinja, out);
    free(text);
    return st;
}

rlc_status rlc_chat_detect(const char *path, rlc_chat_format *out) {
    char *text = NULL;
    size_t len = 0;
    RLC_TRY(rlc_read_file(path, &text, &len));
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    free(text);
    if (!root)
        return rlc_errorf(RLC_ERR_FORMAT, "%s:%d: not valid JSON: %s", path, err.line, err.text);
    rlc_status st = RLC_OK;
    json_t *ct = json_is_object(root) ? json_object_get(root, "chat_template") : NULL;
    if (!json_is_object(root)) {
        st = rlc_errorf(RLC_ERR_FORMAT, "%s: expected a JSON object", path);
    } else if (!ct || json_is_null(ct)) {
        st = detect_sibling(path, out);
    } else if (json_is_string(ct)) {
        st = classify(json_string_value(ct), path, out);
    } else if (json_is_array(ct)) {
        const char *tpl = NULL;
        size_t i;
        json_t *e;
        json_array_foreach(ct, i, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            if (name && !strcmp(name, "default"))
                tpl = json_string_value(json_object_get(e, "template"));
        }
        if (tpl)
            st = classify(tpl, path, out);
        else
            st = rlc_errorf(RLC_ERR_FORMAT,
                            "%s: chat_template is a list without a {\"name\": \"default\", "
                            "\"template\": string} entry",
                            path);
    } else {
        st = rlc_errorf(RLC_ERR_FORMAT,
                        "%s: chat_template: expected a string or a list of {name, template}", path);
    }
    json_decref(root);
    return st;
}
