/* The external verifier's and data source's reader of the child's output
 * (rewards/external.h, data/extsource.h): bytes a user's process writes. */
#include "data/extsource.h"
#include "fuzz.h"
#include "rewards/external.h"

#include <math.h>
#include <string.h>

typedef struct lines_ctx {
    size_t lines, dropped, bytes;
    size_t n_prompts; /* items asked of a "prompts" answer */
} lines_ctx;

static void on_line(void *ctx, const char *line, size_t len) {
    lines_ctx *c = ctx;
    if (!line) {
        c->dropped++;
        return;
    }
    c->lines++;
    c->bytes += len + 1;
    RLC_FUZZ_CHECK(!memchr(line, '\n', len), "a line holds a newline");
    rlc_ext_answer a;
    if (rlc_ext_parse_line(line, len, &a) != RLC_OK) {
        RLC_FUZZ_CHECK(a.obj == NULL, "a failed parse kept its object");
        return;
    }
    RLC_FUZZ_CHECK(a.id >= 0 && a.obj, "parsed an answer without an id");
    RLC_FUZZ_CHECK(a.has_reward || isnan(a.reward), "no reward but a value");
    rlc_ext_prompt items[4];
    if (rlc_ext_prompts_parse(a.obj, c->n_prompts, items) == RLC_OK) {
        for (size_t k = 0; k < c->n_prompts; k++) {
            RLC_FUZZ_CHECK(items[k].n_msgs > 0 && items[k].reference, "item %zu incomplete", k);
            for (size_t t = 0; t < items[k].n_msgs; t++)
                RLC_FUZZ_CHECK(items[k].msgs[t].role && items[k].msgs[t].content,
                               "item %zu turn %zu has a NULL field", k, t);
            rlc_ext_prompt_free(&items[k]);
        }
    } else {
        for (size_t k = 0; k < c->n_prompts; k++)
            RLC_FUZZ_CHECK(items[k].msgs == NULL && items[k].reference == NULL,
                           "a failed parse left item %zu", k);
    }
    rlc_ext_answer_free(&a);
}

/* The first byte picks the read size (1..256 bytes at a time), the prompts
 * asked (1..4) and a small line limit or none; the rest is the output. */
int rlc_fuzz_external(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t chunk = (size_t)(data[0] & 0x3f) * 4 + 1;
    lines_ctx c = {0, 0, 0, (size_t)((data[0] >> 6) & 3) + 1};
    rlc_ext_reader r = {0};
    r.max_line = (data[0] & 0x80) ? 64 : 0;
    data++, size--;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk, room;
        char *at = rlc_ext_reader_room(&r, &room);
        RLC_FUZZ_CHECK(at && room >= n, "no room for %zu bytes", n);
        memcpy(at, data + off, n);
        rlc_ext_reader_took(&r, n, on_line, &c);
    }
    size_t newlines = 0;
    for (size_t i = 0; i < size; i++)
        newlines += data[i] == '\n';
    RLC_FUZZ_CHECK(c.lines + c.dropped <= newlines + 1, "%zu lines from %zu newlines", c.lines,
                   newlines);
    if (!r.max_line)
        RLC_FUZZ_CHECK(c.lines == newlines, "%zu lines, %zu newlines", c.lines, newlines);
    rlc_ext_reader_free(&r);
    return 0;
}
