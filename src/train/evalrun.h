/* Evaluation as `rlc eval` runs it: a model (and adapter) scored on the
 * held-out problems a config describes, with that config's tokenizer, chat
 * format, system prompt, record fields, prompt-length limit, completion length
 * and rewards. The config is a run's resolved config.yaml (--run) or one built
 * from command-line options. */
#ifndef RLC_TRAIN_EVALRUN_H
#define RLC_TRAIN_EVALRUN_H

#include "train/policy.h"
#include "train/runconfig.h"

typedef struct rlc_eval_opts {
    int n;               /* problems; 0 = data.eval_size (0 = the whole held-out set) */
    int samples;         /* per problem; > 1 needs temperature > 0 */
    float temperature;   /* 0 = greedy */
    uint64_t seed;       /* sampling */
    int show;            /* completions logged at DEBUG */
    const char *rewards; /* "name[:weight],..." instead of rewards.weights; NULL = the config's */
    /* board games: the opponents of full games, "random,greedy,minimax(2)"
     * (rlc_game_opponent_parse names joined by commas); NULL = those three,
     * "" = no full games */
    const char *opponents;
} rlc_eval_opts;

#define RLC_EVAL_MAX_OPPONENTS 8

typedef struct rlc_eval_report {
    rlc_eval_result r;
    char *first_prompt;  /* the first problem's prompt as the model saw it (malloc'd) */
    size_t skipped_long; /* held-out prompts over data.max_prompt_tokens, not scored */
    /* board games: full games from each held-out position against each opponent */
    int n_opponents;
    rlc_game_opponent opponents[RLC_EVAL_MAX_OPPONENTS];
    rlc_game_match_stats full[RLC_EVAL_MAX_OPPONENTS];
    double full_seconds;
} rlc_eval_report;

/* Parses an opponent list ("random,greedy,minimax(2)") into o[RLC_EVAL_MAX_OPPONENTS];
 * INVALID naming the entry for an unknown one, an empty entry or too many. */
rlc_status rlc_eval_parse_opponents(const char *list, rlc_game_opponent *o, int *n);

/* Reads run_dir/config.yaml into *c (release with rlc_run_config_free) and
 * names the weights: model = run_dir/final, or for a LoRA run model =
 * model.path and adapter = run_dir/final. */
rlc_status rlc_eval_load_run(const char *run_dir, rlc_run_config *c, char *model, size_t mcap,
                             char *adapter, size_t acap);

/* Scores model_dir (+ adapter_dir, may be NULL) on c's held-out split: the
 * arithmetic eval split, data.eval_path, or the data.val_fraction tail of
 * data.path. A model_dir that holds a LoRA adapter rather than a model is
 * refused with the command line that works. */
rlc_status rlc_eval_config(const rlc_run_config *c, const char *model_dir, const char *adapter_dir,
                           const rlc_eval_opts *o, rlc_eval_report *out);
void rlc_eval_report_free(rlc_eval_report *r);

#endif
