/* The run configuration. `keys[]` below is the one place a key is declared:
 * its section, name, type, default (as text, parsed by the same code as a
 * YAML value or an override), range, allowed values, the modes that read it
 * and its help line. Loading, overrides, --help, the resolved YAML, copy and
 * comparison all walk that table. */
#include "train/runconfig.h"

#include "base/text.h"

#include "base/fs.h"
#include "base/numfmt.h"
#include "envs/games/games.h"
#include "observe/log.h"
#include "rewards/external.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#include <yaml.h>

/* ---- the table ---- */

typedef enum { RC_INT, RC_FLOAT, RC_BOOL, RC_STRING, RC_ENUM, RC_LIST, RC_MAP } rc_type;

enum {
    RC_GRPO = 1u << 0, /* read by `rlc train` (GRPO) */
    RC_SFT = 1u << 1,  /* read by SFT */
    RC_ALL = RC_GRPO | RC_SFT,
    RC_LO_OPEN = 1u << 2, /* the minimum itself is excluded */
    RC_HI_OPEN = 1u << 3, /* the maximum itself is excluded */
};

/* Keys a resumed run may change: they do not change the experiment. */
enum {
    RC_RERUN = 1u << 4,    /* may differ */
    RC_RERUN_UP = 1u << 5, /* may grow, not shrink (training.steps) */
};

/* A LIST key of files: written as a plain string when it holds one file. */
enum { RC_FILES = 1u << 6 };

typedef struct rc_key {
    const char *section, *name;
    rc_type type;
    size_t offset, size;
    const char *def; /* default, as text */
    double lo, hi;   /* range of INT / FLOAT values and of MAP values */
    unsigned flags;
    const char *const *choices; /* ENUM spellings in value order; allowed LIST items / MAP names */
    const char *help;
} rc_key;

typedef struct rc_section {
    const char *name;
    unsigned modes;
    const char *help;
} rc_section;

static const char *const tokenizer_kinds[] = {"auto", "hf", "byte", NULL};
static const char *const chat_formats[] = {"auto", "none", "chatml", "qwen3", "llama3", NULL};
static const char *const lora_targets[] = {"q_proj",    "k_proj",     "v_proj",
                                           "o_proj",    "gate_proj",  "up_proj",
                                           "down_proj", "all-linear", NULL};
static const char *const data_sources[] = {"arithmetic", "jsonl", "games", "external", NULL};
static const char *const reward_names[] = {"format_exact", "format_approx", "answer_check",
                                           "number_check", "game",          NULL};
static const char *const game_reward_modes[] = {"legal", "outcome", NULL};
static const char *const advantages[] = {"grpo", "dr_grpo",     "maxrl",        "rloo", "psr",
                                         "nsr",  "w_reinforce", "reinforce_pp", NULL};
static const char *const transforms[] = {"none", "gtpo", "hicra", "gtpo_hicra", "gtpo_sepa", NULL};
static const char *const sepa_schedules[] = {"linear", "auto", NULL};
static const char *const scalings[] = {"group", "batch", "none", NULL};
static const char *const loss_aggs[] = {"token_mean", "seq_mean_token_mean",
                                        "seq_mean_token_sum_norm", NULL};
static const char *const modes[] = {"grpo", "sft", NULL};
static const char *const importance_levels[] = {"token", "sequence", NULL};
static const char *const schedules[] = {"constant", "linear", "cosine", NULL};
static const char *const resumes[] = {"auto", "never", "overwrite", NULL};
static const char *const target_formats[] = {"as_written", "reasoning_tags", NULL};

static const rc_section sections[] = {
    {"model", RC_ALL, "weights to start from, or the shape of a model trained from scratch"},
    {"tokenizer", RC_ALL, "how text becomes token ids and how prompts are wrapped"},
    {"lora", RC_ALL, "low-rank adapter; when disabled every weight is trained"},
    {"data", RC_ALL, "where prompts (and SFT targets) come from"},
    {"games", RC_ALL, "data.source games: board-game positions to move in (OpenSpiel's games)"},
    {"rewards", RC_GRPO, "verifiable rewards and their weights in the total reward"},
    {"algorithm", RC_GRPO, "sampling, advantages and the clipped policy-gradient loss"},
    {"gtpo", RC_GRPO, "GTPO token weights from surprisal (algorithm.transform gtpo*)"},
    {"hicra", RC_GRPO, "planning phrases and HICRA's boost of their tokens"},
    {"sepa", RC_GRPO, "SEPA: pooling of execution-token surprisal (algorithm.transform gtpo_sepa)"},
    {"backpressure", RC_GRPO,
     "batch size (prompts per step) chosen from measured throughput by a Universal Scalability "
     "Law fit"},
    {"training", RC_ALL, "what runs, how long and in which batches"},
    {"optimizer", RC_ALL, "AdamW, learning-rate schedule and gradient clipping"},
    {"logging", RC_ALL, "where the run directory goes and what the console shows"},
    {"checkpoint", RC_ALL, "how often state is saved, what is kept, and resuming"},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

#define NOMAX HUGE_VAL
/* rl/planning.h's rlc_planning_phrases_default, as a list key's default text */
#define HICRA_PHRASES                                                                              \
    "wait let me,let me think,on second thought,let me check,let me verify,is this right,"         \
    "double check,try another approach,go back and,start over,that's not right,"                   \
    "that doesn't work,another way to,or we could,what if we,notice that,the key is,"              \
    "the key insight"
#define FIELD(sec, nm) offsetof(rlc_run_config, sec.nm), sizeof(((rlc_run_config *)0)->sec.nm)
#define K(sec, nm, type, def, lo, hi, flags, choices, help)                                        \
    { #sec, #nm, type, FIELD(sec, nm), def, lo, hi, flags, choices, help }
#define KI(sec, nm, def, lo, hi, flags, help) K(sec, nm, RC_INT, def, lo, hi, flags, NULL, help)
#define KF(sec, nm, def, lo, hi, flags, help) K(sec, nm, RC_FLOAT, def, lo, hi, flags, NULL, help)
#define KB(sec, nm, def, flags, help) K(sec, nm, RC_BOOL, def, 0, 1, flags, NULL, help)
#define KS(sec, nm, def, flags, help) K(sec, nm, RC_STRING, def, 0, 0, flags, NULL, help)
#define KE(sec, nm, def, ch, flags, help) K(sec, nm, RC_ENUM, def, 0, 0, flags, ch, help)
#define KFILES(sec, nm, flags, help) K(sec, nm, RC_LIST, "", 0, 0, (flags) | RC_FILES, NULL, help)

static const rc_key keys[] = {
    KS(model, path, "", RC_ALL, "Hugging Face model directory (config.json, *.safetensors)"),
    KB(model, from_scratch, "false", RC_ALL,
       "build a fresh model of the shape below instead of loading model.path"),
    KI(model, layers, "4", 1, 256, RC_ALL, "from scratch: transformer blocks"),
    KI(model, hidden, "128", 8, 65536, RC_ALL, "from scratch: hidden size"),
    KI(model, heads, "4", 1, 1024, RC_ALL, "from scratch: attention heads"),
    KI(model, kv_heads, "4", 1, 1024, RC_ALL, "from scratch: key/value heads (divides heads)"),
    KI(model, intermediate, "344", 1, 262144, RC_ALL, "from scratch: MLP intermediate size"),
    KI(model, max_seq, "256", 8, 1048576, RC_ALL,
       "from scratch: longest sequence (prompt+completion)"),
    KF(model, rope_theta, "10000", 1, 1e9, RC_ALL, "from scratch: RoPE base frequency"),
    KI(model, seed, "1", 0, INT_MAX, RC_ALL, "from scratch: weight initialisation seed"),

    KS(tokenizer, path, "", RC_ALL, "directory or tokenizer.json; \"\" = the model directory"),
    KE(tokenizer, kind, "auto", tokenizer_kinds, RC_ALL,
       "hf = tokenizer.json BPE, byte = one token per byte, auto = tokenizer.json or "
       "rlc_tokenizer.json in tokenizer.path or the model directory (from scratch without "
       "tokenizer.path: byte)"),
    KE(tokenizer, chat, "auto", chat_formats, RC_ALL,
       "chat template around prompts; auto = from the model, none = raw text"),

    KB(lora, enabled, "false", RC_ALL, "train a LoRA adapter on a frozen base"),
    KI(lora, rank, "16", 1, 4096, RC_ALL, "adapter rank r"),
    KF(lora, alpha, "32", 0, 1e6, RC_LO_OPEN | RC_ALL,
       "scaling numerator: alpha/r (or alpha/sqrt(r))"),
    KB(lora, rslora, "false", RC_ALL, "rank-stabilised scaling alpha/sqrt(r)"),
    K(lora, targets, RC_LIST, "q_proj,k_proj,v_proj,o_proj", 0, 0, RC_ALL, lora_targets,
      "projections that get an adapter"),
    KS(lora, init_adapter, "", RC_ALL,
       "PEFT adapter folder (adapter_model.safetensors + adapter_config.json, e.g. a LoRA run's "
       "final/) whose weights a fresh run starts from instead of a new adapter; its rank, alpha, "
       "rslora and targets must equal lora.*, and its recorded base model model.path; the "
       "optimizer starts fresh, and a resumed run continues from its checkpoint (\"\" = new "
       "adapter)"),

    KE(data, source, "arithmetic", data_sources, RC_ALL,
       "arithmetic = built-in generated problems, jsonl = one JSON object per line (or a row of "
       "a .parquet file), games = board-game positions (games.*), external = prompts from the "
       "process data.external (README: External verifiers and data sources)"),
    KFILES(data, path, RC_ALL,
           "jsonl: training file (.jsonl, or .parquet), or a list of files read in order as one "
           "data set"),
    KFILES(data, eval_path, RC_ALL,
           "jsonl: evaluation file or list of files (\"\" = none; then data.val_fraction holds out "
           "the tail of data.path, and with val_fraction 0 there is no evaluation set)"),
    KS(data, prompt_key, "question", RC_ALL,
       "jsonl: field holding the prompt, a string or a list of {role, content} turns (records "
       "without it may be prompt/completion, prompt/response, messages or verl records)"),
    KS(data, answer_key, "answer", RC_ALL,
       "jsonl: field holding the answer: the SFT target, and the reward's reference (the text "
       "after a GSM8K-style '#### 42', else the whole field); a dotted key such as "
       "reward_model.ground_truth reaches into an object"),
    KS(data, system_prompt, "", RC_ALL,
       "system message put before every prompt (\"\" = none; records with their own system "
       "message keep it); with tokenizer.chat=none it is the prompt's first line"),
    KI(data, max_prompt_tokens, "128", 1, 1048576, RC_ALL,
       "examples whose prompt (after the chat template) has more tokens are skipped when the "
       "data is loaded, and the count is logged"),
    KI(data, arithmetic_digits, "2", 1, 9, RC_ALL, "arithmetic: digits per operand"),
    KS(data, arithmetic_ops, "+", RC_ALL, "arithmetic: operators drawn from, any of + - *"),
    KI(data, eval_size, "200", 0, INT_MAX, RC_ALL,
       "evaluation prompts: generated (arithmetic) or first N of eval_path (0 = all)"),
    KB(data, shuffle, "true", RC_ALL,
       "jsonl: a new order of the training examples each epoch (a pure function of data.seed "
       "and the epoch); false = file order"),
    KI(data, seed, "1234", 0, INT_MAX, RC_ALL, "seed for problem generation and shuffling"),
    KF(data, val_fraction, "0", 0, 1, RC_HI_OPEN | RC_ALL,
       "jsonl without data.eval_path: share of data.path (its last examples; of the last files "
       "when it lists several) held out for evaluation (0 = none)"),
    KS(data, external, "", RC_ALL,
       "data.source=external: command (run once through /bin/sh -c) that answers "
       "{\"op\": \"sample\", \"split\", \"n\", \"seed\", \"block\"} lines with prompts; item i "
       "must "
       "depend on (seed, i) only, so a resumed run sees the same prompts"),
    KF(data, external_timeout, "30", 0, 86400, RC_LO_OPEN | RC_ALL,
       "data.source=external: seconds to wait for an answer before the process is killed and "
       "asked again (3 tries, then the run stops with an error)"),
    KE(data, target_format, "as_written", target_formats, RC_SFT,
       "sft on question/answer records: as_written = the answer field verbatim, reasoning_tags "
       "= <reasoning>worked solution</reasoning><answer>text after ####</answer>"),

    K(games, cases, RC_LIST, "", 0, 0, RC_ALL, NULL,
      "OpenSpiel load strings, one case each: tic_tac_toe, connect_four, hex(board_size=N), "
      "dots_and_boxes(num_rows=R,num_cols=C), breakthrough(rows=R,columns=C), "
      "nim(pile_sizes=1;3;5;7,is_misere=true) (a YAML list: a comma inside a load string stays "
      "in it)"),
    K(games, game_list, RC_LIST, "", 0, 0, RC_ALL, NULL,
      "game short names added as cases: each with its games.game_configs entries of the same "
      "name, or with its defaults when it has none"),
    K(games, game_configs, RC_LIST, "", 0, 0, RC_ALL, NULL,
      "load strings with parameters for the games of games.game_list, e.g. hex(board_size=5)"),
    K(games, game_types, RC_LIST, "", 0, 0, RC_ALL, NULL,
      "keep only the cases of these short names or exact load strings (empty = all)"),
    KI(games, num_tasks_per_case, "100", 1, 1000000, RC_ALL,
       "training positions per case: task k is the position after a random walk seeded by "
       "data.seed + k; evaluation uses the tasks after these"),
    KI(games, max_random_steps, "4", 0, 1000, RC_ALL,
       "a task's random walk from the start makes 0..this many moves (uniform; never ending "
       "the game)"),
    KE(games, reward_mode, "legal", game_reward_modes, RC_GRPO,
       "reward game: legal = 1 for a legal move, outcome = the move is played, then both sides "
       "follow games.opponent to the end, games.playouts times; the mean return for the "
       "model's side (an illegal move gets the game's minimum)"),
    KS(games, opponent, "random", RC_GRPO,
       "policy of the outcome playouts: random, greedy (wins at once if it can, else avoids "
       "giving the opponent an immediate win) or minimax(D) (D plies, 1..9)"),
    KI(games, playouts, "4", 1, 1000, RC_GRPO, "outcome playouts per move (games.reward_mode)"),

    K(rewards, weights, RC_MAP, "number_check:1", -1000, 1000, RC_GRPO, reward_names,
      "reward name -> weight; the total reward is the weighted sum"),
    KI(rewards, overlong_buffer, "0", 0, 1048576, RC_GRPO,
       "DAPO overlong penalty: over the last this many tokens before algorithm.max_new_tokens "
       "the total reward falls linearly to -overlong_penalty (0 = off)"),
    KF(rewards, overlong_penalty, "1", 0, 1000, RC_GRPO,
       "the overlong penalty at algorithm.max_new_tokens (with rewards.overlong_buffer)"),
    KS(rewards, rubric_file, "", RC_GRPO,
       "YAML rubric of weighted criteria (README: Rubric rewards), scored in [0, 1] as the "
       "reward \"rubric\"; \"\" = none"),
    KF(rewards, rubric_weight, "1", -1000, 1000, RC_GRPO,
       "weight of the rubric's score in the total reward (with rewards.rubric_file)"),

    KS(rewards, external, "", RC_GRPO,
       "command of an external verifier (README: External verifiers and data sources), started "
       "once per run through /bin/sh -c; its score is the reward \"external\" (\"\" = none)"),
    K(rewards, external_named, RC_LIST, "", 0, 0, RC_GRPO, NULL,
      "more external verifiers, a list of NAME=COMMAND items (YAML list items are taken "
      "verbatim), each logged as the reward NAME"),
    KF(rewards, external_weight, "1", -1000, 1000, RC_GRPO,
       "weight of each external verifier's reward in the total reward"),
    KF(rewards, external_timeout, "30", 0, 86400, RC_LO_OPEN | RC_GRPO,
       "seconds an external verifier may go without answering while requests are out; then it "
       "is killed and restarted, and the requests left are asked again one at a time"),
    KS(rewards, external_on_error, "0", RC_GRPO,
       "reward of a completion its external verifier could not score (crash, timeout, bad or "
       "non-finite answer): a number, or skip = its whole group carries no gradient"),

    KE(algorithm, advantage, "grpo", advantages, RC_GRPO,
       "grpo = (r-mean)/std per group, dr_grpo = r-mean, maxrl = (r-mean)/mean, rloo = r minus "
       "the mean of the group's other rewards; psr = 1 for positive samples (reward >= "
       "reward_threshold), nsr = -1 for negative ones, w_reinforce = psr_weight or -nsr_weight"),
    KF(algorithm, reward_threshold, "0.5", -1e9, 1e9, RC_GRPO,
       "psr/nsr/w_reinforce: a sample is positive when its reward >= this"),
    KF(algorithm, psr_weight, "0.1", 0, 1000, RC_GRPO,
       "w_reinforce: advantage of a positive sample"),
    KF(algorithm, nsr_weight, "1", 0, 1000, RC_GRPO,
       "w_reinforce: minus the advantage of a negative sample"),
    KE(algorithm, scale_rewards, "group", scalings, RC_GRPO,
       "std used by grpo: per group, whole batch, or none"),
    KI(algorithm, group_size, "4", 1, 4096, RC_GRPO, "completions sampled per prompt (G)"),
    KF(algorithm, epsilon, "0.2", 0, 1, RC_GRPO, "lower clip: ratio >= 1-epsilon"),
    KF(algorithm, epsilon_high, "0.2", 0, 1, RC_GRPO, "upper clip: ratio <= 1+epsilon_high"),
    KF(algorithm, beta, "0", 0, 100, RC_GRPO,
       "KL penalty to the reference (0 = no reference pass)"),
    KE(algorithm, loss_agg, "token_mean", loss_aggs, RC_GRPO,
       "how token losses are averaged: over all tokens, per sequence, or sum/max_new_tokens"),
    KE(algorithm, importance_level, "token", importance_levels, RC_GRPO,
       "importance ratio per token (PPO/GRPO) or per sequence, exp of the mean token log-ratio "
       "(GSPO; pair with loss_agg seq_mean_token_mean)"),
    KI(algorithm, num_iterations, "1", 1, 64, RC_GRPO, "policy updates per generated batch (mu)"),
    KF(algorithm, temperature, "1", 0, 10, RC_GRPO, "sampling temperature"),
    KF(algorithm, top_p, "1", 0, 1, RC_LO_OPEN | RC_GRPO, "nucleus sampling mass (1 = off)"),
    KI(algorithm, top_k, "0", 0, INT_MAX, RC_GRPO, "sample among the k likeliest (0 = off)"),
    KI(algorithm, max_new_tokens, "32", 1, 1048576, RC_GRPO, "completion length limit"),
    KB(algorithm, dynamic_sampling, "false", RC_GRPO,
       "DAPO dynamic sampling: prompt groups whose rewards are all equal are replaced by groups of "
       "the next prompts until every group differs or the extra rounds run out"),
    KI(algorithm, dynamic_sampling_extra_rounds, "4", 0, 1000, RC_GRPO,
       "dynamic sampling: extra generation rounds at most per step; groups still equal then "
       "carry no gradient"),
    KE(algorithm, transform, "none", transforms, RC_GRPO,
       "token-level advantages: gtpo = A x surprisal weight, hicra = planning tokens get "
       "A + hicra.alpha |A|, gtpo_hicra = both, gtpo_sepa = gtpo on surprisals pooled by SEPA"),

    KF(gtpo, beta, "0.1", 0, 100, RC_GRPO,
       "token weight max(0, 1 + beta (u / mean_u - 1)), u = min(-log p, 50) of the sampled token "
       "and mean_u its completion's mean"),

    KF(hicra, alpha, "0.2", 0, 100, RC_GRPO,
       "hicra, gtpo_hicra: a planning token's advantage a becomes a + alpha |a|"),
    K(hicra, phrases, RC_LIST, HICRA_PHRASES, 0, 0, RC_GRPO, NULL,
      "planning phrases, matched case-insensitively on the decoded completion at word "
      "boundaries; the tokens they cover are planning tokens (hicra, gtpo_hicra, gtpo_sepa)"),

    KE(sepa, schedule, "linear", sepa_schedules, RC_GRPO,
       "lambda: linear = ramp over sepa.steps after sepa.delay_steps; auto = the larger of that "
       "and 1 - (variance EMA / initial variance) / sepa.var_threshold"),
    KI(sepa, steps, "100", 0, INT_MAX, RC_GRPO, "length of the linear ramp of lambda (0 = none)"),
    KI(sepa, delay_steps, "10", 0, INT_MAX, RC_GRPO, "steps before the linear ramp starts"),
    KF(sepa, correct_rate_gate, "0.1", 0, 1, RC_GRPO,
       "lambda stays 0 until a step's correct rate reaches this; then the gate stays open"),
    KF(sepa, ema_decay, "0.99", 0, 1, RC_GRPO,
       "auto: decay of the EMA of the batch's execution-surprisal variance"),
    KF(sepa, var_threshold, "0.2", 0, 1e9, RC_LO_OPEN | RC_GRPO,
       "auto: lambda reaches 1 when the variance EMA falls to this share of its initial value"),
    KI(sepa, warmup, "50", 1, INT_MAX, RC_GRPO,
       "auto: steps whose variance the EMA averages before the initial value is fixed"),

    KB(backpressure, enabled, "false", RC_GRPO,
       "size each step's batch from throughput (completion tokens / step second) at concurrency "
       "batch x group_size fitted to the USL; training.batch_size is then not used"),
    KI(backpressure, warmup_steps, "10", 3, INT_MAX, RC_GRPO,
       "steps that only observe, at batch sizes min_batch_size x 1, 2, 4, ... (up to "
       "max_batch_size, then again), before the first decision"),
    KF(backpressure, ema_decay, "0.9", 0, 1, RC_GRPO,
       "decay of the throughput EMA that the regime and utilization compare with the fit"),
    KF(backpressure, throttle_margin, "0.85", 0, 1, RC_LO_OPEN | RC_GRPO,
       "target concurrency as a share of the fitted optimum p*; above it the batch is throttled"),
    KF(backpressure, increase_margin, "0.5", 0, 1, RC_LO_OPEN | RC_GRPO,
       "the batch grows to the target only when concurrency is below this share of it "
       "(hysteresis)"),
    KI(backpressure, min_batch_size, "1", 1, 1048576, RC_GRPO, "smallest batch (prompts per step)"),
    KI(backpressure, max_batch_size, "64", 1, 1048576, RC_GRPO,
       "largest batch; buffers are sized for it"),
    KF(backpressure, peak_gflops, "0", 0, 1e12, RC_GRPO,
       "roofline hint with peak_bw_gb_s: the hardware's peak GFLOP/s (0 = no hint)"),
    KF(backpressure, peak_bw_gb_s, "0", 0, 1e12, RC_GRPO,
       "its memory bandwidth, GB/s: a step is compute_bound when 2 x concurrency / bytes per "
       "weight reaches peak_gflops / peak_bw_gb_s, else memory_bound (0 = no hint)"),

    KE(training, mode, "grpo", modes, RC_ALL, "grpo = RL with rewards, sft = supervised targets"),
    KI(training, steps, "100", 0, INT_MAX, RC_ALL | RC_RERUN_UP,
       "optimizer steps (0 = as many as training.epochs need over a jsonl data set)"),
    KI(training, batch_size, "16", 1, 1048576, RC_ALL, "prompts (sft: examples) per step"),
    KI(training, micro_batch, "0", 0, 1048576, RC_ALL,
       "sequences per forward/backward pass (0 = the whole step at once)"),
    KI(training, shards, "0", 0, 1048576, RC_ALL,
       "the step's batch in this many equal shards (GRPO: whole groups), each generated, scored "
       "and differentiated as a batch of its own, gradients summed in shard order; results depend "
       "on shards, not on the MPI ranks that run them (each rank takes shards/ranks of them). "
       "0 = one per MPI rank (1 without mpirun)"),
    KI(training, epochs, "1", 1, 1000000, RC_ALL,
       "with training.steps=0: passes over the jsonl training examples, giving "
       "ceil(epochs * examples / batch_size) steps"),
    KI(training, eval_every, "0", 0, INT_MAX, RC_ALL | RC_RERUN,
       "steps between evaluations (0 = never)"),
    KF(training, stop_at_accuracy, "0", 0, 1, RC_ALL,
       "end the run at the first evaluation (training.eval_every) whose greedy accuracy reaches "
       "this; final/ holds those weights and a rerun reports the run complete (0 = off)"),
    KI(training, seed, "1", 0, INT_MAX, RC_ALL, "seed for sampling and adapter initialisation"),
    KI(training, max_skipped_steps, "10", 0, INT_MAX, RC_ALL | RC_RERUN,
       "stop with an error after this many steps in a row whose update was skipped for a "
       "non-finite loss or gradient norm (0 = never stop, only skip and warn)"),
    KI(training, logit_chunk, "256", 1, 1048576, RC_ALL,
       "rows (tokens with a target) whose logits the LM head computes at once: its buffer is "
       "logit_chunk x vocab floats, never micro_batch x sequence x vocab"),
    KB(training, activation_checkpointing, "false", RC_ALL,
       "keep only each layer's input between forward and backward and run the layer's forward "
       "again before its backward: activation memory of one layer instead of all, for about "
       "one more forward pass per step; results are the same as without it"),

    KF(optimizer, lr, "1e-4", 0, 1, RC_LO_OPEN | RC_ALL, "peak learning rate"),
    KF(optimizer, beta1, "0.9", 0, 1, RC_HI_OPEN | RC_ALL, "AdamW first-moment decay"),
    KF(optimizer, beta2, "0.999", 0, 1, RC_HI_OPEN | RC_ALL, "AdamW second-moment decay"),
    KF(optimizer, eps, "1e-8", 0, 1, RC_LO_OPEN | RC_ALL, "AdamW denominator epsilon"),
    KF(optimizer, weight_decay, "0", 0, 10, RC_ALL, "decoupled weight decay"),
    KF(optimizer, max_grad_norm, "1", 0, 1e9, RC_ALL, "global gradient-norm clip (0 = off)"),
    KE(optimizer, schedule, "constant", schedules, RC_ALL, "learning-rate decay after warmup"),
    KI(optimizer, warmup_steps, "0", 0, INT_MAX, RC_ALL, "linear warmup from 0 to lr"),
    KF(optimizer, min_lr_ratio, "0", 0, 1, RC_ALL, "linear/cosine decay ends at lr*min_lr_ratio"),

    KS(logging, run_dir, "runs", RC_ALL | RC_RERUN, "parent directory of run directories"),
    KS(logging, run_name, "", RC_ALL | RC_RERUN,
       "run directory name (\"\" = <mode>-<date>-<time>)"),
    KI(logging, log_every, "1", 1, INT_MAX, RC_ALL | RC_RERUN,
       "steps between console table rows (metrics.jsonl gets every step)"),
    KI(logging, table_header_every, "20", 0, INT_MAX, RC_ALL | RC_RERUN,
       "console table rows between repeated headers (0 = once)"),
    KI(logging, num_generations_logged, "4", 0, 1048576, RC_GRPO | RC_RERUN,
       "completions per step saved to emergence/generations.jsonl and TensorBoard text"),
    KB(logging, metrics_jsonl, "true", RC_ALL | RC_RERUN,
       "write metrics.jsonl, one JSON object per step"),
    KB(logging, emergence, "true", RC_GRPO | RC_RERUN,
       "write emergence/steps.jsonl and emergence/generations.jsonl"),
    KB(logging, tensorboard, "true", RC_ALL | RC_RERUN, "write TensorBoard events under tb/"),
    KI(logging, histogram_every, "10", 0, INT_MAX, RC_GRPO | RC_RERUN,
       "steps between TensorBoard reward histograms (0 = never)"),
    KI(logging, samples_every, "10", 0, INT_MAX, RC_GRPO | RC_RERUN,
       "steps between sample completions written to TensorBoard as text (0 = never)"),
    KB(logging, console, "true", RC_ALL | RC_RERUN,
       "console table, legend and progress line (messages are shown either way)"),
    KB(logging, log_file, "true", RC_ALL | RC_RERUN,
       "verbose log, DEBUG and up with timestamps, in logs/"),
    KF(logging, warn_grad_spike, "5", 0, 1e9, RC_ALL | RC_RERUN,
       "warn when grad_norm exceeds this many times its median over the last 20 steps (0 = off)"),
    KI(logging, warn_no_correct_steps, "10", 0, INT_MAX, RC_GRPO | RC_RERUN,
       "warn after this many steps in a row without a correct completion (0 = off)"),
    KF(logging, warn_max_token_rate, "0.5", 0, 1, RC_GRPO | RC_RERUN,
       "warn when at least this share of completions hits max_new_tokens (0 = off)"),
    KS(logging, wandb_project, "", RC_ALL | RC_RERUN,
       "W&B project for a later `wandb sync --sync-tensorboard` of tb/; kept in run_info.json "
       "and the TensorBoard hparams (rlc itself never contacts W&B)"),
    KS(logging, wandb_entity, "", RC_ALL | RC_RERUN,
       "W&B team or user (\"\" = the sync's default); kept in run_info.json"),
    KS(logging, wandb_group, "", RC_ALL | RC_RERUN,
       "W&B group of related runs (\"\" = none); kept in run_info.json"),
    K(logging, wandb_tags, RC_LIST, "", 0, 0, RC_ALL | RC_RERUN, NULL,
      "W&B tags, a list of names; kept in run_info.json"),
    KS(logging, wandb_run_name, "", RC_ALL | RC_RERUN,
       "W&B run name (\"\" = none chosen); kept in run_info.json next to the run's "
       "name and condition"),

    KI(checkpoint, save_every, "50", 0, INT_MAX, RC_ALL | RC_RERUN,
       "steps between checkpoints (0 = final only)"),
    KI(checkpoint, keep_last, "3", 0, INT_MAX, RC_ALL | RC_RERUN,
       "newest checkpoints kept (0 = all)"),
    KI(checkpoint, keep_every, "0", 0, INT_MAX, RC_ALL | RC_RERUN,
       "also keep every checkpoint whose step is a multiple of this (0 = none)"),
    KE(checkpoint, resume, "auto", resumes, RC_ALL | RC_RERUN,
       "a run already in the run directory: auto = continue it from its newest checkpoint "
       "(refused if a key that changes the experiment differs; a finished run is left as it is), "
       "never = start fresh, refused if the directory holds a run, overwrite = remove that run's "
       "files (config.yaml, metrics.jsonl, checkpoints, emergence, tb, logs, final) and start "
       "fresh"),
};
#define N_KEYS (sizeof keys / sizeof keys[0])

/* ---- read marks ---- */

static unsigned char key_read[N_KEYS];

void rlc_run_config_touch(size_t field_offset) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].offset == field_offset) key_read[i] = 1;
}

void rlc_run_config_marks_reset(void) {
    memset(key_read, 0, sizeof key_read);
}

int rlc_run_config_unread(char *buf, size_t cap) {
    int n = 0;
    size_t len = 0;
    if (cap) buf[0] = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (key_read[i]) continue;
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s.%s", n ? ", " : "", keys[i].section,
                                    keys[i].name);
        n++;
    }
    return n;
}

/* ---- small helpers ---- */

typedef union rc_value {
    int i;
    double f;
    char *s;
    rlc_rc_list l;
    rlc_rc_map m;
} rc_value;

static void *field_ptr(const rlc_run_config *c, const rc_key *k) {
    return (char *)c + k->offset;
}

static size_t type_size(rc_type t) {
    switch (t) {
    case RC_INT:
    case RC_BOOL:
    case RC_ENUM:
        return sizeof(int);
    case RC_FLOAT:
        return sizeof(double);
    case RC_STRING:
        return sizeof(char *);
    case RC_LIST:
        return sizeof(rlc_rc_list);
    case RC_MAP:
        return sizeof(rlc_rc_map);
    }
    return 0;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rlc_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void list_free(rlc_rc_list *l) {
    for (int i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void map_free(rlc_rc_map *m) {
    for (int i = 0; i < m->n; i++)
        free(m->names[i]);
    free(m->names);
    free(m->values);
    m->names = NULL;
    m->values = NULL;
    m->n = 0;
}

static void value_free(rc_type t, rc_value *v) {
    if (t == RC_STRING) {
        free(v->s);
        v->s = NULL;
    } else if (t == RC_LIST) {
        list_free(&v->l);
    } else if (t == RC_MAP) {
        map_free(&v->m);
    }
}

/* Moves *v into the struct, releasing what the field held. */
static void field_store(rlc_run_config *c, const rc_key *k, rc_value *v) {
    void *p = field_ptr(c, k);
    rc_value old;
    memcpy(&old, p, k->size);
    value_free(k->type, &old);
    memcpy(p, v, k->size);
    memset(v, 0, sizeof *v);
}

static rlc_status list_push(rlc_rc_list *l, const char *s) {
    char **items = realloc(l->items, (size_t)(l->n + 1) * sizeof *items);
    if (!items) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    l->items = items;
    if (!(l->items[l->n] = dup_str(s))) return RLC_ERR_NOMEM;
    l->n++;
    return RLC_OK;
}

static rlc_status map_push(rlc_rc_map *m, const char *name, double v) {
    char **names = realloc(m->names, (size_t)(m->n + 1) * sizeof *names);
    if (!names) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    m->names = names;
    double *values = realloc(m->values, (size_t)(m->n + 1) * sizeof *values);
    if (!values) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    m->values = values;
    if (!(m->names[m->n] = dup_str(name))) return RLC_ERR_NOMEM;
    m->values[m->n++] = v;
    return RLC_OK;
}

static int choice_index(const char *const *choices, const char *s) {
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], s)) return i;
    return -1;
}

/* "a, b, c" into buf. */
static const char *choices_str(const char *const *choices, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; choices[i] && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", choices[i]);
    return buf;
}

static const char *nearest_choice(const char *const *choices, const char *s) {
    const char *best = NULL;
    int bd = INT_MAX;
    for (int i = 0; choices[i]; i++) {
        int d = rlc_edit_distance(s, choices[i]);
        if (d < bd) bd = d, best = choices[i];
    }
    return best;
}

static const rc_section *find_section(const char *name) {
    for (size_t i = 0; i < N_SECTIONS; i++)
        if (!strcmp(sections[i].name, name)) return &sections[i];
    return NULL;
}

static const rc_section *nearest_section(const char *name) {
    const rc_section *best = &sections[0];
    int bd = INT_MAX;
    for (size_t i = 0; i < N_SECTIONS; i++) {
        int d = rlc_edit_distance(name, sections[i].name);
        if (d < bd) bd = d, best = &sections[i];
    }
    return best;
}

static const rc_key *find_key(const char *section, const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

/* Nearest key to section.name: by edit distance over the whole "section.key",
 * or over the key name alone plus one for a different section, so that
 * 'training.lr' finds 'optimizer.lr'. Ties go to the earlier key. */
static const rc_key *nearest_key(const char *section, const char *name) {
    char full[160], cand[160];
    snprintf(full, sizeof full, "%s.%s", section, name);
    const rc_key *best = &keys[0];
    int bd = INT_MAX;
    for (size_t i = 0; i < N_KEYS; i++) {
        snprintf(cand, sizeof cand, "%s.%s", keys[i].section, keys[i].name);
        int d = rlc_edit_distance(full, cand);
        int dn = rlc_edit_distance(name, keys[i].name) + (strcmp(section, keys[i].section) != 0);
        if (dn < d) d = dn;
        if (d < bd) bd = d, best = &keys[i];
    }
    return best;
}

static rlc_status unknown_key(const char *loc, const char *section, const char *name) {
    const rc_key *k = nearest_key(section, name);
    return rlc_errorf(RLC_ERR_INVALID, "%s: unknown key '%s.%s' (did you mean '%s.%s'?)", loc,
                      section, name, k->section, k->name);
}

/* ---- scalar parsing (shared by YAML values, overrides and defaults) ---- */

static int is_null_word(const char *s) {
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A decimal number: [+-]digits[.digits][(e|E)[+-]digits], at least one digit. */
static int is_decimal(const char *s) {
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == 0;
}

static rlc_status check_range(const rc_key *k, const char *loc, const char *keyname, double v,
                              const char *text) {
    int lo_ok = (k->flags & RC_LO_OPEN) ? v > k->lo : v >= k->lo;
    int hi_ok = (k->flags & RC_HI_OPEN) ? v < k->hi : v <= k->hi;
    if (lo_ok && hi_ok) return RLC_OK;
    if (k->type == RC_INT && k->hi == INT_MAX && !hi_ok)
        return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' must be at most %d, got %s", loc, keyname,
                          INT_MAX, text);
    if (k->hi == NOMAX || (k->type == RC_INT && k->hi == INT_MAX))
        return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' must be %s %.10g, got %s", loc, keyname,
                          (k->flags & RC_LO_OPEN) ? ">" : ">=", k->lo, text);
    return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' must be in %c%.10g, %.10g%c, got %s", loc, keyname,
                      (k->flags & RC_LO_OPEN) ? '(' : '[', k->lo, k->hi,
                      (k->flags & RC_HI_OPEN) ? ')' : ']', text);
}

static rlc_status parse_number(const rc_key *k, const char *loc, const char *keyname,
                               const char *text, int is_null, double *out) {
    if (is_null)
        return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects a number, got an empty value", loc,
                          keyname);
    if (!is_decimal(text))
        return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects a number, got '%s'", loc, keyname,
                          text);
    errno = 0;
    double v = strtod(text, NULL);
    if (errno == ERANGE && fabs(v) > 1)
        return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects a finite number, got '%s'", loc,
                          keyname, text);
    RLC_TRY(check_range(k, loc, keyname, v, text));
    *out = v;
    return RLC_OK;
}

/* One scalar into a value of k's type; is_null for YAML null (empty, ~, null). */
static rlc_status parse_scalar(const rc_key *k, const char *loc, const char *keyname,
                               const char *text, int is_null, rc_value *out) {
    char buf[256];
    switch (k->type) {
    case RC_INT: {
        if (is_null)
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects an integer, got an empty value",
                              loc, keyname);
        const char *p = text + (*text == '+' || *text == '-');
        int ok = isdigit((unsigned char)*p) != 0;
        for (; *p && ok; p++)
            ok = isdigit((unsigned char)*p) != 0;
        if (!ok)
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects an integer, got '%s'", loc,
                              keyname, text);
        errno = 0;
        long long v = strtoll(text, NULL, 10);
        double dv = errno == ERANGE ? (*text == '-' ? -HUGE_VAL : HUGE_VAL) : (double)v;
        RLC_TRY(check_range(k, loc, keyname, dv, text));
        out->i = (int)v;
        return RLC_OK;
    }
    case RC_FLOAT:
        return parse_number(k, loc, keyname, text, is_null, &out->f);
    case RC_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (int i = 0; i < 4 && !is_null; i++) {
            if (!strcasecmp(text, yes[i])) return out->i = 1, RLC_OK;
            if (!strcasecmp(text, no[i])) return out->i = 0, RLC_OK;
        }
        return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects true or false, got '%s'", loc, keyname,
                          is_null ? "" : text);
    }
    case RC_ENUM: {
        int i = is_null ? -1 : choice_index(k->choices, text);
        if (i < 0)
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' must be one of %s; got '%s'", loc, keyname,
                              choices_str(k->choices, buf, sizeof buf), is_null ? "" : text);
        out->i = i;
        return RLC_OK;
    }
    case RC_STRING:
        out->s = dup_str(is_null ? "" : text);
        return out->s ? RLC_OK : RLC_ERR_NOMEM;
    case RC_LIST:
    case RC_MAP:
        break;
    }
    return rlc_errorf(RLC_ERR_INTERNAL, "%s: '%s' is not a scalar key", loc, keyname);
}

/* Appends one list item after checking it is allowed and new. */
static rlc_status list_add_item(const rc_key *k, const char *loc, const char *keyname,
                                rlc_rc_list *l, const char *item) {
    char buf[256];
    if (!*item) return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' has an empty item", loc, keyname);
    if (k->choices && choice_index(k->choices, item) < 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: '%s' item '%s' is not one of %s (did you mean '%s'?)", loc, keyname,
                          item, choices_str(k->choices, buf, sizeof buf),
                          nearest_choice(k->choices, item));
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], item))
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' lists '%s' twice", loc, keyname, item);
    return list_push(l, item);
}

/* Parses one map value and adds or replaces the entry `name`. */
static rlc_status map_add_entry(const rc_key *k, const char *loc, const char *keyname,
                                rlc_rc_map *m, const char *name, const char *text, int is_null,
                                int allow_replace) {
    char buf[256], entry[192];
    if (!*name) return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' has an empty name", loc, keyname);
    if (k->choices && choice_index(k->choices, name) < 0)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: '%s' has unknown name '%s' (did you mean '%s'?); known: %s", loc,
                          keyname, name, nearest_choice(k->choices, name),
                          choices_str(k->choices, buf, sizeof buf));
    snprintf(entry, sizeof entry, "%s.%s", keyname, name);
    double v;
    RLC_TRY(parse_number(k, loc, entry, text, is_null, &v));
    for (int i = 0; i < m->n; i++) {
        if (strcmp(m->names[i], name)) continue;
        if (!allow_replace)
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' sets '%s' twice", loc, keyname, name);
        m->values[i] = v;
        return RLC_OK;
    }
    return map_push(m, name, v);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* Where errors point: a file (with the node's line) or an override. */
typedef struct rc_ctx {
    const char *file;     /* NULL for overrides and defaults */
    const char *override; /* the whole assignment */
} rc_ctx;

/* Collections parse through both paths: YAML nodes hold text ("a,b") and
 * override text may be YAML flow ("[a, b]"). */
static rlc_status node_value(const rc_ctx *x, yaml_document_t *d, yaml_node_t *n, const rc_key *k,
                             const char *keyname, rc_value *out);

static const char *ctx_loc(const rc_ctx *x, const yaml_node_t *n, char *buf, size_t cap) {
    if (x->file)
        snprintf(buf, cap, "%s:%zu", x->file, n ? n->start_mark.line + 1 : (size_t)1);
    else
        snprintf(buf, cap, "override '%s'", x->override);
    return buf;
}

static rlc_status yaml_syntax_error(const char *loc_prefix, int with_line, yaml_parser_t *p) {
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (with_line)
        return rlc_errorf(RLC_ERR_FORMAT, "%s:%zu: YAML syntax error: %s%s%s", loc_prefix,
                          p->problem_mark.line + 1, problem, p->context ? " " : "",
                          p->context ? p->context : "");
    /* an override is a bad argument rather than a malformed file */
    return rlc_errorf(RLC_ERR_INVALID, "%s: YAML syntax error: %s%s%s", loc_prefix, problem,
                      p->context ? " " : "", p->context ? p->context : "");
}

/* Text form of a list or map ("a,b" / "a:1,b:2", or YAML flow "[a, b]" / "{a: 1}"). */
static rlc_status parse_collection_text(const rc_ctx *x, const rc_key *k, const char *keyname,
                                        const char *text, rc_value *out) {
    char loc[600];
    ctx_loc(x, NULL, loc, sizeof loc);
    while (isspace((unsigned char)*text))
        text++;
    memset(out, 0, sizeof *out);
    if (*text == '[' || *text == '{') {
        yaml_parser_t p;
        yaml_document_t d;
        if (!yaml_parser_initialize(&p)) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
        yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
        if (!yaml_parser_load(&p, &d)) {
            rlc_status st = yaml_syntax_error(loc, 0, &p);
            yaml_parser_delete(&p);
            return st;
        }
        rlc_status st = node_value(x, &d, yaml_document_get_root_node(&d), k, keyname, out);
        yaml_document_delete(&d);
        yaml_parser_delete(&p);
        return st;
    }
    char *copy = dup_str(text);
    if (!copy) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    char *rest = copy;
    if (*trim(copy)) {
        for (char *tok; !st && (tok = strsep(&rest, ","));) {
            char *item = trim(tok);
            if (k->type == RC_LIST) {
                st = list_add_item(k, loc, keyname, &out->l, item);
                continue;
            }
            char *sep = strpbrk(item, ":=");
            if (!sep) {
                st = rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects name:value pairs, got '%s'", loc,
                                keyname, item);
                break;
            }
            *sep = 0;
            st = map_add_entry(k, loc, keyname, &out->m, trim(item), trim(sep + 1), 0, 0);
        }
    }
    free(copy);
    if (st) value_free(k->type, out);
    return st;
}

static const char *node_kind(const yaml_node_t *n) {
    return n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

static int node_is_null(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           is_null_word((const char *)n->data.scalar.value);
}

static const char *type_words(const rc_key *k) {
    switch (k->type) {
    case RC_INT:
        return "an integer";
    case RC_FLOAT:
        return "a number";
    case RC_BOOL:
        return "true or false";
    case RC_STRING:
        return "a string";
    case RC_ENUM:
        return "one of its values";
    case RC_LIST:
        return (k->flags & RC_FILES) ? "a file or a list of files" : "a list of names";
    case RC_MAP:
        return "a mapping of name: number";
    }
    return "?";
}

/* A YAML node (scalar, sequence or mapping) into a value of k's type. */
static rlc_status node_value(const rc_ctx *x, yaml_document_t *d, yaml_node_t *n, const rc_key *k,
                             const char *keyname, rc_value *out) {
    char loc[600];
    memset(out, 0, sizeof *out);
    if (!n) { /* an empty document */
        if (k->type == RC_LIST || k->type == RC_MAP) return RLC_OK;
        return parse_scalar(k, ctx_loc(x, n, loc, sizeof loc), keyname, "", 1, out);
    }
    ctx_loc(x, n, loc, sizeof loc);
    if (n->type == YAML_SCALAR_NODE) {
        const char *text = (const char *)n->data.scalar.value;
        int is_null = node_is_null(n);
        if (k->type == RC_LIST || k->type == RC_MAP)
            return is_null ? RLC_OK : parse_collection_text(x, k, keyname, text, out);
        return parse_scalar(k, loc, keyname, text, is_null, out);
    }
    if (k->type == RC_LIST && n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            yaml_node_t *item = yaml_document_get_node(d, *it);
            rlc_status st;
            if (item->type != YAML_SCALAR_NODE)
                st = rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects %s, got %s inside",
                                ctx_loc(x, item, loc, sizeof loc), keyname, type_words(k),
                                node_kind(item));
            else
                st = list_add_item(k, ctx_loc(x, item, loc, sizeof loc), keyname, &out->l,
                                   (const char *)item->data.scalar.value);
            if (st) {
                list_free(&out->l);
                return st;
            }
        }
        return RLC_OK;
    }
    if (k->type == RC_MAP && n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *kn = yaml_document_get_node(d, p->key);
            yaml_node_t *vn = yaml_document_get_node(d, p->value);
            rlc_status st;
            if (kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE)
                st = rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects name: number pairs",
                                ctx_loc(x, kn, loc, sizeof loc), keyname);
            else
                st = map_add_entry(k, ctx_loc(x, vn, loc, sizeof loc), keyname, &out->m,
                                   (const char *)kn->data.scalar.value,
                                   (const char *)vn->data.scalar.value, node_is_null(vn), 0);
            if (st) {
                map_free(&out->m);
                return st;
            }
        }
        return RLC_OK;
    }
    return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' expects %s, got %s", loc, keyname, type_words(k),
                      node_kind(n));
}

/* ---- defaults, free, copy, diff ---- */

rlc_run_config rlc_run_config_default(void) {
    rlc_run_config c;
    memset(&c, 0, sizeof c);
    rc_ctx x = {NULL, "(built-in default)"};
    for (size_t i = 0; i < N_KEYS; i++) {
        const rc_key *k = &keys[i];
        RLC_ASSERT(k->size == type_size(k->type));
        char keyname[96];
        snprintf(keyname, sizeof keyname, "%s.%s", k->section, k->name);
        rc_value v;
        memset(&v, 0, sizeof v);
        rlc_status st = (k->type == RC_LIST || k->type == RC_MAP)
                            ? parse_collection_text(&x, k, keyname, k->def, &v)
                            : parse_scalar(k, "default", keyname, k->def, 0, &v);
        if (st) rlc_logf(RLC_LOG_ERROR, "bad built-in default: %s", rlc_last_error());
        RLC_ASSERT(st == RLC_OK);
        field_store(&c, k, &v);
    }
    return c;
}

void rlc_run_config_free(rlc_run_config *c) {
    if (!c) return;
    for (size_t i = 0; i < N_KEYS; i++) {
        rc_value v;
        memcpy(&v, field_ptr(c, &keys[i]), keys[i].size);
        value_free(keys[i].type, &v);
    }
    memset(c, 0, sizeof *c);
}

rlc_status rlc_run_config_copy(rlc_run_config *dst, const rlc_run_config *src) {
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < N_KEYS; i++) {
        const rc_key *k = &keys[i];
        rc_value s, v;
        memcpy(&s, field_ptr(src, k), k->size);
        memset(&v, 0, sizeof v);
        rlc_status st = RLC_OK;
        if (k->type == RC_STRING) {
            if (!(v.s = dup_str(s.s ? s.s : ""))) st = RLC_ERR_NOMEM;
        } else if (k->type == RC_LIST) {
            for (int j = 0; j < s.l.n && !st; j++)
                st = list_push(&v.l, s.l.items[j]);
        } else if (k->type == RC_MAP) {
            for (int j = 0; j < s.m.n && !st; j++)
                st = map_push(&v.m, s.m.names[j], s.m.values[j]);
        } else {
            v = s;
        }
        if (st) {
            value_free(k->type, &v);
            rlc_run_config_free(dst);
            return st;
        }
        field_store(dst, k, &v);
    }
    return RLC_OK;
}

static int value_equal(const rc_key *k, const rc_value *a, const rc_value *b) {
    switch (k->type) {
    case RC_INT:
    case RC_BOOL:
    case RC_ENUM:
        return a->i == b->i;
    case RC_FLOAT:
        return a->f == b->f;
    case RC_STRING:
        return !strcmp(a->s ? a->s : "", b->s ? b->s : "");
    case RC_LIST:
        if (a->l.n != b->l.n) return 0;
        for (int i = 0; i < a->l.n; i++)
            if (strcmp(a->l.items[i], b->l.items[i])) return 0;
        return 1;
    case RC_MAP:
        if (a->m.n != b->m.n) return 0;
        for (int i = 0; i < a->m.n; i++)
            if (strcmp(a->m.names[i], b->m.names[i]) || a->m.values[i] != b->m.values[i]) return 0;
        return 1;
    }
    return 0;
}

const char *rlc_run_config_diff(const rlc_run_config *a, const rlc_run_config *b) {
    static _Thread_local char name[96];
    for (size_t i = 0; i < N_KEYS; i++) {
        rc_value va, vb;
        memcpy(&va, field_ptr(a, &keys[i]), keys[i].size);
        memcpy(&vb, field_ptr(b, &keys[i]), keys[i].size);
        if (!value_equal(&keys[i], &va, &vb)) {
            snprintf(name, sizeof name, "%s.%s", keys[i].section, keys[i].name);
            return name;
        }
    }
    return NULL;
}

static void put_value(FILE *f, const rc_key *k, const rlc_run_config *c);

/* One key's value as the resolved YAML writes it (malloc'd, NULL on no memory). */
static char *value_text(const rc_key *k, const rlc_run_config *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    put_value(m, k, c);
    if (fclose(m)) {
        free(buf);
        return NULL;
    }
    return buf;
}

rlc_status rlc_run_config_each_change(const rlc_run_config *old, const rlc_run_config *now,
                                      rlc_rc_change_fn fn, void *ctx) {
    for (size_t i = 0; i < N_KEYS; i++) {
        const rc_key *k = &keys[i];
        rc_value va, vb;
        memcpy(&va, field_ptr(old, k), k->size);
        memcpy(&vb, field_ptr(now, k), k->size);
        if (value_equal(k, &va, &vb)) continue;
        /* A key the run's mode never reads cannot change its experiment. */
        unsigned mode = now->training.mode == RLC_RC_MODE_SFT ? RC_SFT : RC_GRPO;
        int free_key = (k->flags & RC_RERUN) || ((k->flags & RC_RERUN_UP) && vb.i > va.i) ||
                       (!(k->flags & mode) && old->training.mode == now->training.mode);
        char name[96];
        snprintf(name, sizeof name, "%s.%s", k->section, k->name);
        char *a = value_text(k, old), *b = value_text(k, now);
        rlc_status st = a && b ? fn(ctx, name, a, b, free_key)
                               : rlc_errorf(RLC_ERR_NOMEM, "out of memory comparing configs");
        free(a);
        free(b);
        if (st) return st;
    }
    return RLC_OK;
}

/* rlc_run_config_changes's two lists, built one change at a time. */
typedef struct changes_ctx {
    FILE *m[2]; /* experiment, other */
} changes_ctx;

static rlc_status add_change(void *vctx, const char *key, const char *old_value,
                             const char *new_value, int may_change) {
    FILE *f = ((changes_ctx *)vctx)->m[may_change ? 1 : 0];
    fprintf(f, "%s%s: %s -> %s", ftell(f) ? ", " : "", key, old_value, new_value);
    return RLC_OK;
}

rlc_status rlc_run_config_changes(const rlc_run_config *old, const rlc_run_config *now,
                                  char **experiment, char **other) {
    char *out[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    changes_ctx x = {{open_memstream(&out[0], &len[0]), open_memstream(&out[1], &len[1])}};
    rlc_status st = x.m[0] && x.m[1] ? RLC_OK : RLC_ERR_NOMEM;
    if (st == RLC_OK) st = rlc_run_config_each_change(old, now, add_change, &x);
    for (int i = 0; i < 2; i++)
        if (x.m[i] && fclose(x.m[i])) st = RLC_ERR_NOMEM;
    if (st == RLC_OK && out[0] && !out[0][0]) free(out[0]), out[0] = NULL;
    if (st == RLC_OK && out[1] && !out[1][0]) free(out[1]), out[1] = NULL;
    if (st || !experiment) free(out[0]);
    if (st || !other) free(out[1]);
    if (st) return rlc_errorf(RLC_ERR_NOMEM, "out of memory comparing configs");
    if (experiment) *experiment = out[0];
    if (other) *other = out[1];
    return RLC_OK;
}

const char *rlc_run_config_enum_name(const char *key, int value) {
    const char *dot = key ? strchr(key, '.') : NULL;
    if (!dot) return NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        const rc_key *k = &keys[i];
        if (k->type != RC_ENUM || strcmp(k->name, dot + 1) ||
            strncmp(k->section, key, (size_t)(dot - key)) || k->section[dot - key])
            continue;
        for (int j = 0; k->choices[j]; j++)
            if (j == value) return k->choices[j];
        return NULL;
    }
    return NULL;
}

/* ---- loading ---- */

static rlc_status load_key(const rc_ctx *x, yaml_document_t *d, const char *section,
                           yaml_node_t *kn, yaml_node_t *vn, int *seen_line, rlc_run_config *c) {
    char loc[600], keyname[160];
    const char *name = (const char *)kn->data.scalar.value;
    const rc_key *k = find_key(section, name);
    ctx_loc(x, kn, loc, sizeof loc);
    if (!k) return unknown_key(loc, section, name);
    snprintf(keyname, sizeof keyname, "%s.%s", section, name);
    int *seen = &seen_line[k - keys];
    if (*seen)
        return rlc_errorf(RLC_ERR_INVALID, "%s: duplicate key '%s' (first set on line %d)", loc,
                          keyname, *seen);
    *seen = (int)kn->start_mark.line + 1;
    rc_value v;
    RLC_TRY(node_value(x, d, vn, k, keyname, &v));
    field_store(c, k, &v);
    return RLC_OK;
}

static rlc_status load_document(const rc_ctx *x, yaml_document_t *d, rlc_run_config *c) {
    char loc[600];
    yaml_node_t *root = yaml_document_get_root_node(d);
    if (!root || node_is_null(root)) return RLC_OK; /* empty file: all defaults */
    if (root->type != YAML_MAPPING_NODE)
        return rlc_errorf(RLC_ERR_INVALID,
                          "%s: expected a mapping of sections (model:, lora:, ...)",
                          ctx_loc(x, root, loc, sizeof loc));
    int seen_line[N_KEYS] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(d, p->key);
        yaml_node_t *vn = yaml_document_get_node(d, p->value);
        ctx_loc(x, kn, loc, sizeof loc);
        if (kn->type != YAML_SCALAR_NODE)
            return rlc_errorf(RLC_ERR_INVALID, "%s: expected a section name, got %s", loc,
                              node_kind(kn));
        const char *sname = (const char *)kn->data.scalar.value;
        if (!find_section(sname))
            return rlc_errorf(RLC_ERR_INVALID, "%s: unknown section '%s' (did you mean '%s'?)", loc,
                              sname, nearest_section(sname)->name);
        if (node_is_null(vn)) continue; /* "lora:" with nothing under it */
        if (vn->type != YAML_MAPPING_NODE)
            return rlc_errorf(RLC_ERR_INVALID, "%s: section '%s' expects keys under it, got %s",
                              ctx_loc(x, vn, loc, sizeof loc), sname,
                              vn->type == YAML_SCALAR_NODE ? "a value" : node_kind(vn));
        for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top;
             q++) {
            yaml_node_t *ikn = yaml_document_get_node(d, q->key);
            if (ikn->type != YAML_SCALAR_NODE)
                return rlc_errorf(RLC_ERR_INVALID, "%s: expected a key name in section '%s'",
                                  ctx_loc(x, ikn, loc, sizeof loc), sname);
            RLC_TRY(load_key(x, d, sname, ikn, yaml_document_get_node(d, q->value), seen_line, c));
        }
    }
    return RLC_OK;
}

rlc_status rlc_run_config_load(const char *yaml_path, rlc_run_config *c) {
    *c = rlc_run_config_default();
    if (!yaml_path) return RLC_OK;
    char *text = NULL;
    size_t len = 0;
    rlc_status st = rlc_read_file(yaml_path, &text, &len);
    if (st) {
        rlc_run_config_free(c);
        return st;
    }
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) {
        free(text);
        rlc_run_config_free(c);
        return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d)) {
        st = yaml_syntax_error(yaml_path, 1, &p);
    } else {
        rc_ctx x = {yaml_path, NULL};
        st = load_document(&x, &d, c);
        yaml_document_delete(&d);
        if (!st) { /* a second document would be silently ignored otherwise */
            if (!yaml_parser_load(&p, &d)) {
                st = yaml_syntax_error(yaml_path, 1, &p);
            } else {
                yaml_node_t *extra = yaml_document_get_root_node(&d);
                if (extra)
                    st = rlc_errorf(RLC_ERR_INVALID, "%s:%zu: expected a single YAML document",
                                    yaml_path, extra->start_mark.line + 1);
                yaml_document_delete(&d);
            }
        }
    }
    yaml_parser_delete(&p);
    free(text);
    if (st) rlc_run_config_free(c);
    return st;
}

/* ---- overrides ---- */

rlc_status rlc_run_config_set(rlc_run_config *c, const char *assignment) {
    rc_ctx x = {NULL, assignment};
    char loc[600], lhs[160];
    ctx_loc(&x, NULL, loc, sizeof loc);
    for (const unsigned char *p = (const unsigned char *)assignment; *p;) {
        int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(p, -1, &cp);
        if (l < 1) /* the resolved config.yaml could not hold it */
            return rlc_errorf(RLC_ERR_INVALID, "%s: not valid UTF-8 (byte %zu)", loc,
                              (size_t)(p - (const unsigned char *)assignment));
        p += l;
    }
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return rlc_errorf(RLC_ERR_INVALID, "%s: expected section.key=value", loc);
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof lhs) return rlc_errorf(RLC_ERR_INVALID, "%s: key too long", loc);
    memcpy(lhs, assignment, n);
    lhs[n] = 0;
    const char *value = eq + 1;
    char *section = trim(lhs);
    char *name = strchr(section, '.');
    if (!name) {
        const rc_section *s = find_section(section);
        if (s)
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' is a section; expected %s.<key>=value",
                              loc, s->name, s->name);
        return rlc_errorf(RLC_ERR_INVALID, "%s: unknown section '%s' (did you mean '%s'?)", loc,
                          section, nearest_section(section)->name);
    }
    *name++ = 0;
    char *entry = strchr(name, '.'); /* rewards.weights.<name>=value */
    if (entry) *entry++ = 0;
    const rc_key *k = find_key(section, name);
    if (!k) return unknown_key(loc, section, name);
    char keyname[160];
    snprintf(keyname, sizeof keyname, "%s.%s", section, name);
    rc_value v;
    memset(&v, 0, sizeof v);
    rlc_status st;
    if (entry) {
        if (k->type != RC_MAP)
            return rlc_errorf(RLC_ERR_INVALID, "%s: '%s' has no sub-keys (it expects %s)", loc,
                              keyname, type_words(k));
        rc_value cur;
        memcpy(&cur, field_ptr(c, k), k->size);
        for (int i = 0; i < cur.m.n; i++)
            if ((st = map_push(&v.m, cur.m.names[i], cur.m.values[i]))) goto fail;
        if ((st = map_add_entry(k, loc, keyname, &v.m, entry, value, 0, 1))) goto fail;
    } else if (k->type == RC_LIST || k->type == RC_MAP) {
        if ((st = parse_collection_text(&x, k, keyname, value, &v))) return st;
    } else if (k->type == RC_STRING) {
        if ((st = parse_scalar(k, loc, keyname, value, 0, &v))) return st;
    } else { /* "steps = 5" reads as 5; only strings keep their spaces */
        char *copy = dup_str(value);
        if (!copy) return RLC_ERR_NOMEM;
        st = parse_scalar(k, loc, keyname, trim(copy), 0, &v);
        free(copy);
        if (st) return st;
    }
    field_store(c, k, &v);
    return RLC_OK;
fail:
    value_free(k->type, &v);
    return st;
}

rlc_status rlc_run_config_set_list(rlc_rc_list *l, const char *const *items, int n) {
    rlc_rc_list v = {NULL, 0};
    for (int i = 0; i < n; i++) {
        rlc_status st = list_push(&v, items[i]);
        if (st) {
            list_free(&v);
            return st;
        }
    }
    list_free(l);
    *l = v;
    return RLC_OK;
}

/* ---- validation ---- */

static rlc_status invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static rlc_status invalid(const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rlc_errorf(RLC_ERR_INVALID, "config: %s", msg);
}

/* data.source=games: the cases load, the opponent parses, and GRPO scores
 * moves with the reward game. */
static rlc_status validate_games(const rlc_run_config *c, int grpo) {
    rlc_game_case_spec spec = {
        c->games.cases.items,      c->games.game_list.items, c->games.game_configs.items,
        c->games.game_types.items, c->games.cases.n,         c->games.game_list.n,
        c->games.game_configs.n,   c->games.game_types.n};
    rlc_game *cases;
    int n;
    if (rlc_game_cases(&spec, &cases, &n) != RLC_OK) return invalid("%s", rlc_last_error());
    free(cases);
    rlc_game_opponent o;
    if (rlc_game_opponent_parse(c->games.opponent, &o) != RLC_OK)
        return invalid("games.opponent: %s", rlc_last_error());
    int scored = 0;
    for (int i = 0; i < c->rewards.weights.n; i++)
        scored |= !strcmp(c->rewards.weights.names[i], "game") && c->rewards.weights.values[i] != 0;
    if (grpo && !scored)
        return invalid("data.source=games is scored by the reward \"game\": set rewards.weights: "
                       "{game: 1}");
    return RLC_OK;
}

/* rewards.external_on_error and rewards.external_named's items. */
static rlc_status check_external_rewards(const rlc_run_config *c) {
    int skip;
    float v;
    if (rlc_ext_parse_on_error(c->rewards.external_on_error, &skip, &v))
        return invalid("rewards.external_on_error='%s': expected a finite number or skip",
                       c->rewards.external_on_error);
    const rlc_rc_list *l = &c->rewards.external_named;
    for (int i = 0; i < l->n; i++) {
        char name[RLC_EXT_NAME_MAX], other[RLC_EXT_NAME_MAX];
        const char *cmd;
        if (rlc_ext_split_named(l->items[i], name, sizeof name, &cmd))
            return invalid("rewards.external_named item '%s': expected NAME=COMMAND with NAME "
                           "of letters, digits and _ (at most %d) and a command",
                           l->items[i], RLC_EXT_NAME_MAX - 1);
        int taken = choice_index(reward_names, name) >= 0 || !strcmp(name, "rubric") ||
                    (!strcmp(name, "external") && c->rewards.external[0]);
        for (int j = 0; j < i && !taken; j++)
            taken = rlc_ext_split_named(l->items[j], other, sizeof other, &cmd) == RLC_OK &&
                    !strcmp(other, name);
        if (taken)
            return invalid("rewards.external_named item '%s': the reward name '%s' is taken (a "
                           "built-in, rubric, rewards.external's \"external\" or an earlier "
                           "item)",
                           l->items[i], name);
    }
    return RLC_OK;
}

rlc_status rlc_run_config_validate(const rlc_run_config *c) {
    const int grpo = c->training.mode == RLC_RC_MODE_GRPO;
    const char *adv = rlc_run_config_enum_name("algorithm.advantage", c->algorithm.advantage);

    if (c->model.from_scratch) {
        if (c->model.path[0])
            return invalid("model.from_scratch=true but model.path='%s' is set; a run either "
                           "loads a model or builds one, so clear one of them",
                           c->model.path);
        if (c->model.hidden % c->model.heads)
            return invalid("model.hidden=%d must be a multiple of model.heads=%d", c->model.hidden,
                           c->model.heads);
        if ((c->model.hidden / c->model.heads) % 2)
            return invalid("model.hidden/model.heads=%d must be even (RoPE rotates pairs)",
                           c->model.hidden / c->model.heads);
        if (c->model.heads % c->model.kv_heads)
            return invalid("model.heads=%d must be a multiple of model.kv_heads=%d", c->model.heads,
                           c->model.kv_heads);
        if (c->tokenizer.kind == RLC_RC_TOK_HF && !c->tokenizer.path[0])
            return invalid("tokenizer.kind=hf needs tokenizer.path when model.from_scratch=true "
                           "(there is no model directory to find tokenizer.json in)");
        int need = c->data.max_prompt_tokens + (grpo ? c->algorithm.max_new_tokens : 1);
        if (need > c->model.max_seq)
            return invalid("data.max_prompt_tokens + %s = %d exceeds model.max_seq=%d",
                           grpo ? "algorithm.max_new_tokens" : "1 target token", need,
                           c->model.max_seq);
    } else if (!c->model.path[0]) {
        return invalid("model.path is empty: set it to a Hugging Face model directory, or set "
                       "model.from_scratch=true");
    }
    if (c->lora.enabled && c->lora.targets.n == 0)
        return invalid("lora.enabled=true but lora.targets is empty");
    if (c->lora.init_adapter[0] && !c->lora.enabled)
        return invalid("lora.init_adapter='%s' needs lora.enabled=true (it starts a LoRA "
                       "adapter from saved weights)",
                       c->lora.init_adapter);
    if (c->lora.init_adapter[0] && c->model.from_scratch)
        return invalid("lora.init_adapter needs a base in model.path: an adapter is checked "
                       "against the base it was trained on, and a model built from scratch "
                       "(model.from_scratch=true) has no files to check");

    if (c->data.source == RLC_RC_DATA_JSONL) {
        if (!c->data.path.n)
            return invalid("data.source=jsonl needs data.path (a .jsonl file, or a list of them)");
        if (!c->data.prompt_key[0]) return invalid("data.source=jsonl needs data.prompt_key");
        if (!c->data.answer_key[0]) return invalid("data.source=jsonl needs data.answer_key");
    } else if (c->data.source == RLC_RC_DATA_EXTERNAL) {
        if (!c->data.external[0])
            return invalid("data.source=external needs data.external (the command that serves "
                           "prompts)");
    } else {
        const char *ops = c->data.arithmetic_ops;
        if (!ops[0] || ops[strspn(ops, "+-*")])
            return invalid("data.arithmetic_ops must be one or more of + - *, got '%s'", ops);
    }
    if (c->data.source == RLC_RC_DATA_GAMES) RLC_TRY(validate_games(c, grpo));
    if (c->training.eval_every > 0 && c->data.source == RLC_RC_DATA_JSONL && !c->data.eval_path.n &&
        c->data.val_fraction == 0)
        return invalid("training.eval_every=%d needs an evaluation set: set data.eval_path, or "
                       "data.val_fraction > 0 to hold out the tail of data.path",
                       c->training.eval_every);
    if (c->training.eval_every > 0 && c->data.source != RLC_RC_DATA_JSONL && c->data.eval_size == 0)
        return invalid("training.eval_every=%d needs data.eval_size > 0 (data.source=%s "
                       "generates evaluation problems without end)",
                       c->training.eval_every, data_sources[c->data.source]);
    if (c->training.stop_at_accuracy > 0 && c->training.eval_every == 0)
        return invalid("training.stop_at_accuracy=%g needs evaluations: set training.eval_every "
                       "(steps between them) as well",
                       c->training.stop_at_accuracy);
    if (c->training.steps == 0 &&
        (c->data.source == RLC_RC_DATA_ARITHMETIC || c->data.source == RLC_RC_DATA_EXTERNAL))
        return invalid("training.steps=0 means 'as many as training.epochs need', but "
                       "data.source=%s generates problems without end; set training.steps",
                       data_sources[c->data.source]);

    if (grpo) {
        int signed_adv = c->algorithm.advantage == RLC_RC_ADV_PSR ||
                         c->algorithm.advantage == RLC_RC_ADV_NSR ||
                         c->algorithm.advantage == RLC_RC_ADV_W_REINFORCE;
        if (c->algorithm.group_size < 2 && !signed_adv)
            return invalid("algorithm.group_size=%d with algorithm.advantage=%s: advantages are "
                           "relative to the other samples of the same prompt, so a group of one "
                           "always has advantage 0 and nothing is learned; use group_size >= 2",
                           c->algorithm.group_size, adv);
        if (c->algorithm.temperature <= 0)
            return invalid("algorithm.temperature must be > 0 with training.mode=grpo: greedy "
                           "sampling makes every completion of a group identical, so all "
                           "advantages are 0");
        int active = 0;
        for (int i = 0; i < c->rewards.weights.n; i++)
            active += c->rewards.weights.values[i] != 0;
        if (c->rewards.rubric_file[0] && c->rewards.rubric_weight != 0) active++;
        if ((c->rewards.external[0] || c->rewards.external_named.n) &&
            c->rewards.external_weight != 0)
            active++;
        RLC_TRY(check_external_rewards(c));
        if (!active)
            return invalid("rewards.weights has no non-zero weight, no rubric "
                           "(rewards.rubric_file with a non-zero rewards.rubric_weight) and no "
                           "external verifier (rewards.external with a non-zero "
                           "rewards.external_weight): every reward would be 0");
        if (c->rewards.overlong_buffer > c->algorithm.max_new_tokens)
            return invalid("rewards.overlong_buffer=%d exceeds algorithm.max_new_tokens=%d: the "
                           "penalty would start before the first token",
                           c->rewards.overlong_buffer, c->algorithm.max_new_tokens);
        int bp = c->backpressure.enabled;
        if (bp && c->backpressure.max_batch_size < c->backpressure.min_batch_size)
            return invalid("backpressure.max_batch_size=%d is below backpressure.min_batch_size=%d",
                           c->backpressure.max_batch_size, c->backpressure.min_batch_size);
        if (bp && (c->backpressure.peak_gflops > 0) != (c->backpressure.peak_bw_gb_s > 0))
            return invalid("backpressure.peak_gflops and backpressure.peak_bw_gb_s go together: "
                           "set both (> 0) for the roofline hint, or neither");
        if (bp && c->training.steps == 0)
            return invalid("backpressure.enabled=true needs training.steps: steps from "
                           "training.epochs assume a fixed training.batch_size");
    }
    if (c->training.shards > 0 && c->training.batch_size % c->training.shards)
        return invalid("training.batch_size=%d is not a multiple of training.shards=%d (each "
                       "shard takes the same number of %s)",
                       c->training.batch_size, c->training.shards, grpo ? "prompts" : "examples");
    if (grpo && c->training.shards > 1 &&
        (c->algorithm.dynamic_sampling || c->backpressure.enabled))
        return invalid("training.shards=%d with %s: not supported (they change the batch during "
                       "a step; use training.shards=1 and one rank)",
                       c->training.shards,
                       c->algorithm.dynamic_sampling ? "algorithm.dynamic_sampling=true"
                                                     : "backpressure.enabled=true");
    if (c->training.steps > 0 && c->optimizer.warmup_steps > c->training.steps)
        return invalid("optimizer.warmup_steps=%d exceeds training.steps=%d: the learning rate "
                       "would never reach optimizer.lr",
                       c->optimizer.warmup_steps, c->training.steps);

    const char *rn = c->logging.run_name;
    if (strchr(rn, '/') || !strcmp(rn, ".") || !strcmp(rn, ".."))
        return invalid("logging.run_name='%s' must be a plain directory name (no '/')", rn);
    if (!c->logging.run_dir[0])
        return invalid("logging.run_dir is empty (use \".\" for the current directory)");
    return RLC_OK;
}

/* ---- writing ---- */

/* 1 when YAML's reader takes cp as it is inside a double-quoted scalar: it
 * refuses non-printable code points (C0 and C1 controls, DEL, U+FFFE/F),
 * folds line breaks (NEL, LS, PS) and may drop a BOM, so those are escaped. */
static int yaml_verbatim(int32_t cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return 0;
    return cp != 0x2028 && cp != 0x2029 && cp != 0xfeff && cp != 0xfffe && cp != 0xffff;
}

/* Strings are UTF-8 (overrides refuse anything else; YAML cannot hold other
 * bytes); a stray invalid byte is written as U+FFFD rather than produce a
 * file that does not load. */
static void put_string(FILE *f, const char *s) {
    int plain = *s && !is_null_word(s) &&
                (isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '/' || s[0] == '.');
    for (const char *p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("_./-", *p);
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(p, -1, &cp);
        if (l < 1) {
            fputs("\\uFFFD", f);
            p++;
        } else if (cp == '"' || cp == '\\') {
            fprintf(f, "\\%c", (char)cp);
        } else if (cp == '\n') {
            fputs("\\n", f);
        } else if (cp == '\t') {
            fputs("\\t", f);
        } else if (!yaml_verbatim(cp)) {
            fprintf(f, cp < 0x100 ? "\\x%02X" : "\\u%04X", (unsigned)cp);
        } else {
            fwrite(p, 1, (size_t)l, f);
        }
        if (l >= 1) p += l;
    }
    fputc('"', f);
}

/* Shortest decimal that reads back as exactly v (10000 rather than 1e+04). */
static void put_double(FILE *f, double v) {
    char buf[40];
    rlc_format_double(buf, sizeof buf, v);
    fputs(buf, f);
}

static void put_value(FILE *f, const rc_key *k, const rlc_run_config *c) {
    rc_value v;
    memcpy(&v, field_ptr(c, k), k->size);
    switch (k->type) {
    case RC_INT:
        fprintf(f, "%d", v.i);
        break;
    case RC_FLOAT:
        put_double(f, v.f);
        break;
    case RC_BOOL:
        fputs(v.i ? "true" : "false", f);
        break;
    case RC_ENUM:
        fputs(k->choices[v.i], f);
        break;
    case RC_STRING:
        put_string(f, v.s ? v.s : "");
        break;
    case RC_LIST:
        /* one file as a string, as a string key held it; a comma would split it on reading */
        if ((k->flags & RC_FILES) && v.l.n <= 1 && (!v.l.n || !strchr(v.l.items[0], ','))) {
            put_string(f, v.l.n ? v.l.items[0] : "");
            break;
        }
        fputc('[', f);
        for (int i = 0; i < v.l.n; i++) {
            if (i) fputs(", ", f);
            put_string(f, v.l.items[i]);
        }
        fputc(']', f);
        break;
    case RC_MAP:
        fputc('{', f);
        for (int i = 0; i < v.m.n; i++) {
            if (i) fputs(", ", f);
            put_string(f, v.m.names[i]);
            fputs(": ", f);
            put_double(f, v.m.values[i]);
        }
        fputc('}', f);
        break;
    }
}

/* The mode bits a "grpo" / "sft" filter keeps; every key for NULL. */
static unsigned mode_bits(const char *mode_filter) {
    if (mode_filter && !strcmp(mode_filter, "grpo")) return RC_GRPO;
    if (mode_filter && !strcmp(mode_filter, "sft")) return RC_SFT;
    return RC_ALL;
}

void rlc_run_config_dump_keys(const rlc_run_config *c, FILE *f, const char *header,
                              const char *mode_filter) {
    unsigned want = mode_bits(mode_filter);
    fputs(header, f);
    for (size_t s = 0; s < N_SECTIONS; s++) {
        if (mode_filter && !(sections[s].modes & want)) continue;
        fprintf(f, "\n%s:  # %s\n", sections[s].name, sections[s].help);
        for (size_t i = 0; i < N_KEYS; i++) {
            if (strcmp(keys[i].section, sections[s].name)) continue;
            if (mode_filter && !(keys[i].flags & want)) continue;
            char *line = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&line, &len);
            if (!m) continue;
            fprintf(m, "  %s: ", keys[i].name);
            put_value(m, &keys[i], c);
            fclose(m);
            fprintf(f, "%-40s # %s\n", line, keys[i].help);
            free(line);
        }
    }
}

void rlc_run_config_dump(const rlc_run_config *c, FILE *f) {
    rlc_run_config_dump_keys(c, f,
                             "# rlc run configuration, resolved: every key with the value this "
                             "run used.\n"
                             "# `rlc train --help` describes each key; this file loads back "
                             "unchanged.\n",
                             NULL);
}

rlc_status rlc_run_config_items(const rlc_run_config *c, char ***keys_out, char ***values_out,
                                size_t *n_out) {
    char **ks = calloc(N_KEYS, sizeof *ks), **vs = calloc(N_KEYS, sizeof *vs);
    size_t i = 0;
    for (; ks && vs && i < N_KEYS; i++) {
        size_t len = 0, kl = strlen(keys[i].section) + strlen(keys[i].name) + 2;
        FILE *m = open_memstream(&vs[i], &len);
        if (!m) break;
        put_value(m, &keys[i], c);
        if (fclose(m) || !(ks[i] = malloc(kl))) break;
        snprintf(ks[i], kl, "%s.%s", keys[i].section, keys[i].name);
    }
    if (ks && vs && i == N_KEYS) {
        *keys_out = ks;
        *values_out = vs;
        *n_out = N_KEYS;
        return RLC_OK;
    }
    rlc_run_config_items_free(ks, vs, ks && vs ? N_KEYS : 0);
    return rlc_errorf(RLC_ERR_NOMEM, "out of memory listing the config");
}

void rlc_run_config_items_free(char **keys_, char **values, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (keys_) free(keys_[i]);
        if (values) free(values[i]);
    }
    free(keys_);
    free(values);
}

rlc_status rlc_run_config_write(const rlc_run_config *c, const char *path) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory formatting the config", path);
    rlc_run_config_dump(c, m);
    if (fclose(m)) {
        free(buf);
        return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory formatting the config", path);
    }
    rlc_status st = rlc_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}

/* ---- --help ---- */

static void put_type(FILE *f, const rc_key *k) {
    char buf[256];
    const char *lo = (k->flags & RC_LO_OPEN) ? "(" : "[";
    const char *hi = (k->flags & RC_HI_OPEN) ? ")" : "]";
    switch (k->type) {
    case RC_INT:
        if (k->hi >= INT_MAX)
            fprintf(f, "int >= %.10g", k->lo);
        else
            fprintf(f, "int in [%.10g, %.10g]", k->lo, k->hi);
        break;
    case RC_FLOAT:
        if (k->hi == NOMAX)
            fprintf(f, "float %s %.10g", (k->flags & RC_LO_OPEN) ? ">" : ">=", k->lo);
        else
            fprintf(f, "float in %s%.10g, %.10g%s", lo, k->lo, k->hi, hi);
        break;
    case RC_BOOL:
        fputs("bool", f);
        break;
    case RC_STRING:
        fputs("string", f);
        break;
    case RC_ENUM:
        for (int i = 0; k->choices[i]; i++)
            fprintf(f, "%s%s", i ? "|" : "", k->choices[i]);
        break;
    case RC_LIST:
        if (k->flags & RC_FILES)
            fputs("file, or list of files", f);
        else
            fprintf(f, "list of: %s",
                    k->choices ? choices_str(k->choices, buf, sizeof buf) : "names");
        break;
    case RC_MAP:
        fprintf(f, "map name -> float in [%.10g, %.10g]; names: %s", k->lo, k->hi,
                k->choices ? choices_str(k->choices, buf, sizeof buf) : "any");
        break;
    }
}

void rlc_run_config_print_help(FILE *f, const char *mode_filter) {
    unsigned want = mode_bits(mode_filter);
    rlc_run_config d = rlc_run_config_default();
    fprintf(f, "Configuration keys (set in the YAML file under their section, or on the command "
               "line as section.key=value).\n"
               "Resuming a run (the same logging.run_dir/run_name again) refuses a change to any "
               "key not marked\n\"may change on resume\" (training.steps may grow): those keys "
               "define the experiment.\n");
    for (size_t s = 0; s < N_SECTIONS; s++) {
        if (!(sections[s].modes & want)) continue;
        fprintf(f, "\n%s: %s\n", sections[s].name, sections[s].help);
        for (size_t i = 0; i < N_KEYS; i++) {
            const rc_key *k = &keys[i];
            if (strcmp(k->section, sections[s].name) || !(k->flags & want)) continue;
            char *line = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&line, &len);
            if (!m) continue;
            fprintf(m, "  %s.%s = ", k->section, k->name);
            put_value(m, k, &d);
            fclose(m);
            fprintf(f, "%-44s (", line);
            put_type(f, k);
            if (k->flags & (RC_RERUN | RC_RERUN_UP))
                fputs(k->flags & RC_RERUN ? "; may change on resume" : "; may grow on resume", f);
            fprintf(f, ")\n      %s\n", k->help);
            free(line);
        }
    }
    rlc_run_config_free(&d);
}
