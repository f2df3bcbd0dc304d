/* Prompts served by an external process (data.source=external), over the
 * JSON-lines protocol of rewards/external.h. Items come in blocks of
 * RLC_EXT_SOURCE_BLOCK: block b of a split is asked for as
 *     {"id": ID, "op": "sample", "split": "train"|"eval", "n": 16, "seed": S, "block": b}
 * with S a pure function of (data.seed, split, b), and the answer is
 *     {"id": ID, "prompts": [ITEM x n]}
 *     ITEM = {"prompt": "text" | [{"role": R, "content": C}, ...],
 *             "reference": "text" | number (optional), "metadata": any JSON (optional)}
 * So item i of a split is a function of (data.seed, i) as long as the process
 * answers a seed the same way each time: a resumed run gets the same prompts. */
#ifndef RLC_DATA_EXTSOURCE_H
#define RLC_DATA_EXTSOURCE_H

#include "base/status.h"
#include "data/jsonl.h"

#include <stdint.h>

#define RLC_EXT_SOURCE_BLOCK 16
/* Blocks kept: an item's strings stay valid until this many other blocks were fetched. */
#define RLC_EXT_SOURCE_CACHE 8

typedef struct rlc_ext_source rlc_ext_source;

/* One served item; strings owned by the source. */
typedef struct rlc_ext_prompt {
    rlc_message *msgs; /* the conversation before the completion (a text prompt: one user turn) */
    size_t n_msgs;
    char *reference; /* "" when the item has none */
    char *metadata;  /* JSON text; NULL when the item has none */
} rlc_ext_prompt;

/* Starts command (through /bin/sh -c) with the answer timeout in seconds;
 * seed is data.seed. */
rlc_status rlc_ext_source_open(const char *command, double timeout_s, uint64_t seed,
                               rlc_ext_source **out);
/* Ends the process. NULL: no-op. */
void rlc_ext_source_free(rlc_ext_source *s);

/* The seed block `block` of split (0 train, 1 eval) is asked with. */
uint64_t rlc_ext_source_seed(uint64_t data_seed, int eval, uint64_t block);

/* Item i of split (0 train, 1 eval), fetched with its block when not cached.
 * A block the process cannot serve in 3 tries (crash, timeout, malformed or
 * short answer) is an error naming data.external, the block, its seed and the
 * last problem. */
rlc_status rlc_ext_source_get(rlc_ext_source *s, int eval, uint64_t i, const rlc_ext_prompt **out);

/* Parses the "prompts" array of an answer into items[n] (owned; free each
 * with rlc_ext_prompt_free). RLC_ERR_FORMAT with a one-line reason when it is
 * not an array of n valid items. */
rlc_status rlc_ext_prompts_parse(const json_t *answer, size_t n, rlc_ext_prompt *items);
void rlc_ext_prompt_free(rlc_ext_prompt *p);

#endif
