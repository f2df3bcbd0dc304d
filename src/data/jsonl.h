/* JSONL data sets: one JSON object per line, read whole into owned strings.
 * Two forms: GSM8K-style question/answer sets (prompts with a reference answer,
 * for RL) and SFT sets (prompt/response pairs or chat messages). Every error
 * names the file and the 1-based line: "data.jsonl:17: field \"answer\" ...". */
#ifndef RLC_DATA_JSONL_H
#define RLC_DATA_JSONL_H

#include "base/status.h"

#include <jansson.h>
#include <stddef.h>

/* Called once per non-blank line with the parsed object (borrowed, valid for
 * the call). A non-OK return stops the walk and is returned; set the message
 * with rlc_errorf, naming path and line. */
typedef rlc_status (*rlc_jsonl_fn)(const json_t *obj, const char *path, size_t line, void *ctx);

/* Reads path and calls fn on each line. Lines may end in "\n" or "\r\n"; blank
 * (whitespace-only) lines are skipped; the last line may lack a newline.
 * Errors: missing file (NOT_FOUND), "FILE:LINE: invalid JSON: ..." and
 * "FILE:LINE: expected a JSON object" (FORMAT), "FILE: no examples" when no
 * line holds an object (FORMAT). *count (may be NULL) gets the objects seen. */
rlc_status rlc_jsonl_foreach(const char *path, rlc_jsonl_fn fn, void *ctx, size_t *count);

/* A question with its reference answer. GSM8K lines
 *     {"question": "...", "answer": "...steps...\n#### 1,234"}
 * give reference "1234": the text after the last "####" up to the end of its
 * line, trimmed, commas dropped when the rest is a number. Other fields are
 * ignored. */
typedef struct rlc_qa_example {
    char *question;
    char *answer;    /* the whole "answer" field (worked solution) */
    char *reference; /* the final answer */
} rlc_qa_example;

typedef struct rlc_qa_set {
    rlc_qa_example *items;
    size_t n;
} rlc_qa_set;

/* Loads a GSM8K-form file. Errors (FORMAT, "FILE:LINE: ..."): "question" or
 * "answer" missing or not a string, "answer" without "#### N" or with nothing
 * after it; and "FILE: no examples". On error *set is left empty. */
rlc_status rlc_qa_load(const char *path, rlc_qa_set *set);
/* Frees all strings; safe on a zeroed or freed set. */
void rlc_qa_free(rlc_qa_set *set);

typedef struct rlc_message {
    char *role; /* "system", "user", "assistant" or "tool" */
    char *content;
} rlc_message;

/* One SFT example, in exactly one of two forms:
 *   {"prompt": "...", "response": "..."}    -> prompt, response set; messages NULL
 *   {"messages": [{"role": ..., "content": ...}, ...]}
 *                                           -> messages set; prompt, response NULL
 * Loss masking and chat templates belong to the tokenizer/trainer. */
typedef struct rlc_sft_example {
    char *prompt;
    char *response;
    rlc_message *messages;
    size_t n_messages;
} rlc_sft_example;

typedef struct rlc_sft_set {
    rlc_sft_example *items;
    size_t n;
} rlc_sft_set;

/* Loads an SFT file. Errors (FORMAT, "FILE:LINE: ..."): neither or both forms,
 * prompt/response not strings, messages not a non-empty array, a message not an
 * object with string "role" and "content", an unknown role, no "assistant"
 * message; and "FILE: no examples". On error *set is left empty. */
rlc_status rlc_sft_load(const char *path, rlc_sft_set *set);
void rlc_sft_free(rlc_sft_set *set);

/* One training or evaluation record, whatever form its line (or Parquet row,
 * data/parquet.h) had:
 *   {PROMPT_KEY: "...", ANSWER_KEY: "..."}   custom or question/answer (the keys
 *                                           given; the answer may be a number;
 *                                           the prompt may be a list of turns;
 *                                           a dotted key "a.b" reaches field b
 *                                           of object a)
 *   {"prompt": [turns], "response": "..."} or
 *   {"prompt": [turns], "reward_model": {"ground_truth": ...}}
 *                                           verl's SFT and RL rows (without a
 *                                           "completion")
 *   {"prompt": "...", "completion": "..."}  TRL prompt/completion; also TRL's
 *                                           conversational form, "prompt" a list
 *                                           of turns and "completion" a string
 *                                           or turns ending in an assistant one
 *   {"prompt": "...", "response": "..."}    prompt/response
 *   {"messages": [{"role", "content"}, ...]} chat; the last assistant turn is
 *                                           the completion, the turns before it
 *                                           the prompt
 * The forms are tried in this order, per line. */
typedef struct rlc_record {
    rlc_message *msgs; /* the turns before the completion (a plain prompt: one "user" turn) */
    size_t n_msgs;
    char *completion; /* the answer / completion / response / last assistant turn, verbatim */
    char *reference;  /* for rewards: the text after its last "####" (GSM8K), else all of it,
                         trimmed; commas dropped from a number */
    char *solution;   /* the completion without its "####" line, trimmed */
} rlc_record;

typedef struct rlc_record_set {
    rlc_record *items;
    size_t n;
} rlc_record_set;

/* Loads path (a Parquet file when its name ends in ".parquet"; LINE is then
 * the row). Errors (FORMAT, "FILE:LINE: ..."): a line in none of the forms
 * (the message names the keys looked for), a field of the wrong type, an
 * empty completion, messages without an assistant turn before which some turn
 * stands; and "FILE: no examples". On error *set is left empty. */
rlc_status rlc_records_load(const char *path, const char *prompt_key, const char *answer_key,
                            rlc_record_set *set);
/* rlc_records_load of each of n paths, their records in file order one after
 * the other, as one set. The first file that fails stops it, its error naming
 * the file (and line); *set is then left empty. */
rlc_status rlc_records_load_files(const char *const *paths, size_t n, const char *prompt_key,
                                  const char *answer_key, rlc_record_set *set);
void rlc_records_free(rlc_record_set *set);

#endif
