/* The policy as the trainers see it: a model, its tokenizer and chat format,
 * and the text <-> ids steps shared by SFT, GRPO and evaluation. */
#ifndef RLC_TRAIN_POLICY_H
#define RLC_TRAIN_POLICY_H

#include "model/generate.h"
#include "model/model.h"
#include "rewards/rewards.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"
#include "train/source.h"

typedef struct rlc_policy {
    rlc_model *m;
    rlc_tokenizer *tok;
    rlc_chat_format chat; /* RLC_CHAT_NONE: the prompt text is used as is */
    int eos_id;           /* ends completions; -1 for none */
    int max_prompt_tokens;
} rlc_policy;

/* The prompt text of a conversation: the chat format with the assistant
 * header as generation prompt; with RLC_CHAT_NONE the contents in order, a
 * leading system message followed by a newline. *text is malloc'd. */
rlc_status rlc_policy_render(const rlc_policy *p, const rlc_chat_msg *msgs, int n, char **text);

/* The token ids of a rendered prompt. More than max_prompt_tokens is an error
 * (data sources skip such prompts when they are loaded). *ids is malloc'd. */
rlc_status rlc_policy_prompt_ids(const rlc_policy *p, const char *text, int **ids, int *n);

/* Token count of a conversation once rendered (an rlc_prompt_len_fn; ctx is
 * the policy). */
rlc_status rlc_policy_prompt_len(void *policy, const rlc_chat_msg *msgs, int n, int *len);

/* Restricts sampling to the ids tok can decode, as serving engines do: a
 * model's padding rows (ids at or above the tokenizer's size; Qwen3 has
 * 151,936 rows for 151,669 tokens) and ids in a gap of the tokenizer's ids are
 * never drawn. Log-probs stay over the model's full vocabulary. */
void rlc_policy_restrict_sampler(const rlc_tokenizer *tok, int model_vocab, rlc_sampler_params *sp);

/* The completion's text (special tokens dropped), malloc'd. */
rlc_status rlc_policy_completion_text(const rlc_policy *p, const int *ids, int n, char **text);

typedef struct rlc_eval_result {
    int n;              /* problems */
    int samples;        /* per problem */
    double accuracy;    /* mean over problems of the share of correct samples */
    double pass_at_k;   /* share of problems with at least one correct sample */
    double mean_reward; /* mean total reward over all samples */
    double mean_tokens; /* mean completion length */
    double seconds;
    /* board games (data.source games): samples scored, and the share of them
     * won, drawn and lost against each rlc_game_eval_opponent */
    long game_samples;
    double game_wdl[3][3]; /* [opponent][win, draw, loss] */
} rlc_eval_result;

/* Scores the policy on eval items [0, n): k samples each at temperature
 * (0 = greedy, which allows only k = 1), max_new tokens. The first `show` samples are
 * logged at DEBUG level (prompt, completion, reference, verdict). */
rlc_status rlc_policy_evaluate(const rlc_policy *p, const rlc_source *src,
                               const rlc_reward_set *rewards, int n, int k, float temperature,
                               int max_new, uint64_t seed, int show, rlc_eval_result *out);

/* Full games (data.source games): from each of eval items [0, n) the policy
 * plays the side to move to the end against each of the nopp opponents
 * (rlc_game_play_matches; every prompt rendered as the items are, one generation
 * batch per ply, 1 sample at temperature); out[o] the totals against opps[o]. */
rlc_status rlc_policy_play_games(const rlc_policy *p, const rlc_source *src, int n,
                                 const rlc_game_opponent *opps, int nopp, float temperature,
                                 int max_new, uint64_t seed, rlc_game_match_stats *out);

#endif
