/* Two-player board games as RL environments, natively (no OpenSpiel build):
 * tic_tac_toe, connect_four, hex, dots_and_boxes, breakthrough and nim, loaded
 * from OpenSpiel load strings ("hex(board_size=5)") and shown as text the way
 * OpenSpiel's State::ToString prints them, with OpenSpiel's action ids and
 * action strings. One file per game (the rules), this header for everything
 * else: states, move text, opponents and the tasks a prompt is made from.
 *
 * A state is a plain value (copy it to clone it); every random choice is a
 * pure function of (seed, stream, position) through base/rng.h. */
#ifndef RLC_ENVS_GAMES_H
#define RLC_ENVS_GAMES_H

#include "base/status.h"
#include "base/strbuf.h"

#include <stddef.h>
#include <stdint.h>

/* Values are only ever appended to: they appear in serialised states. */
typedef enum rlc_game_kind {
    RLC_GAME_TIC_TAC_TOE = 0,
    RLC_GAME_CONNECT_FOUR = 1,
    RLC_GAME_HEX = 2,
    RLC_GAME_DOTS_AND_BOXES = 3,
    RLC_GAME_BREAKTHROUGH = 4,
    RLC_GAME_NIM = 5,
    RLC_GAME_KIND_COUNT
} rlc_game_kind;

/* Board cells a state can hold: hex up to 13x13, breakthrough up to 9x26,
 * dots_and_boxes up to 9x9 (lines and boxes), nim up to 16 piles. */
#define RLC_GAME_MAX_CELLS 272
/* Legal moves of one state, at most (nim: 16 piles of up to 31). */
#define RLC_GAME_MAX_MOVES 512
/* Longest move text (action string) and serialised state, with the NUL. */
#define RLC_GAME_MOVE_CAP 48
#define RLC_GAME_STATE_CAP 400
#define RLC_GAME_PARAMS 4

/* winner values of a state */
#define RLC_GAME_ONGOING (-1)
#define RLC_GAME_DRAW 2

/* A loaded game: which rules and their parameters. A plain value. */
typedef struct rlc_game {
    rlc_game_kind kind;
    char load[128];  /* the load string, spaces removed: "hex(board_size=5)" */
    int rows, cols;  /* board (dots_and_boxes: boxes; nim: 1 x piles) */
    int ncells;      /* cells a state uses */
    int num_actions; /* distinct action ids, as OpenSpiel's NumDistinctActions */
    int piles[16];   /* nim: starting pile sizes */
    int misere;      /* nim: is_misere (the player who takes the last object loses) */
    int margin;      /* dots_and_boxes: utility_margin (returns are the box difference) */
    /* parameters as given (set[i] 0: the default), in the game's table order */
    int pint[RLC_GAME_PARAMS], pset[RLC_GAME_PARAMS];
    char pstr[RLC_GAME_PARAMS][64];
} rlc_game;

typedef struct rlc_game_state {
    int player; /* who moves next; kept after the end (nim's winner depends on it) */
    int winner; /* RLC_GAME_ONGOING, 0, 1 or RLC_GAME_DRAW */
    int score[2];
    uint8_t cell[RLC_GAME_MAX_CELLS];
} rlc_game_state;

/* Parses an OpenSpiel load string: name, optionally "(key=value,...)" with
 * the game's parameters (spaces around names and values are ignored):
 *   tic_tac_toe, connect_four                    no parameters
 *   hex(board_size=11, num_rows, num_cols, string_rep=standard)   sizes 1..13
 *   dots_and_boxes(num_rows=2, num_cols=2, utility_margin=false) sizes 1..9
 *   breakthrough(rows=8, columns=8)               rows 2..9, columns 2..26
 *   nim(pile_sizes=1;3;5;7, is_misere=true)       1..16 piles of 1..31
 * Errors (INVALID, naming the string and the parameter): unknown game,
 * unknown or repeated parameter, a value of the wrong type or out of range. */
rlc_status rlc_game_load(const char *load_string, rlc_game *g);
/* "tic_tac_toe", ...: the game's OpenSpiel short name. */
const char *rlc_game_short_name(const rlc_game *g);
/* The short names of every game, for messages: "tic_tac_toe, connect_four, ...". */
const char *rlc_game_names(void);

/* The starting position. */
void rlc_game_init(const rlc_game *g, rlc_game_state *s);
static inline int rlc_game_is_terminal(const rlc_game_state *s) {
    return s->winner != RLC_GAME_ONGOING;
}
/* Player to move (0 or 1), or -1 at the end. */
static inline int rlc_game_current_player(const rlc_game_state *s) {
    return s->winner == RLC_GAME_ONGOING ? s->player : -1;
}
/* Legal action ids in ascending order into actions[RLC_GAME_MAX_MOVES];
 * returns their number (0 at the end). */
int rlc_game_legal(const rlc_game *g, const rlc_game_state *s, int *actions);
int rlc_game_is_legal(const rlc_game *g, const rlc_game_state *s, int action);
/* Plays a legal action (INVALID, state unchanged, for any other). */
rlc_status rlc_game_apply(const rlc_game *g, rlc_game_state *s, int action);
/* The player's return: 0 before the end; +1 win, -1 loss, 0 draw; with
 * dots_and_boxes' utility_margin the box difference. */
double rlc_game_return(const rlc_game *g, const rlc_game_state *s, int player);
/* The lowest return a player can get (-1, or -boxes with utility_margin). */
double rlc_game_min_return(const rlc_game *g);

/* The state as OpenSpiel's ToString prints it, appended to b. */
void rlc_game_render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b);
/* OpenSpiel's ActionToString for the player to move (e.g. "x(1,2)", "x3",
 * "c2", "P1(h,0,1)", "a7b6*", "pile:2, take:3;"). */
void rlc_game_move_text(const rlc_game *g, const rlc_game_state *s, int action,
                        char buf[RLC_GAME_MOVE_CAP]);
/* The legal action whose text is s[0..len), or -1. Case and whitespace are
 * ignored; besides the action string the short forms are accepted: without
 * the player prefix ("(1,2)", "3", "(h,0,1)"), breakthrough's capture
 * without "*", nim's without the final ";". Anything else is -1. */
int rlc_game_parse_move(const rlc_game *g, const rlc_game_state *s, const char *text, size_t len);
/* The move of a completion: its last <answer>...</answer>
 * (rlc_reward_extract_answer), parsed as above; -1 (illegal) when there is
 * no answer or it is not a legal move's text. */
int rlc_game_parse_answer(const rlc_game *g, const rlc_game_state *s, const char *completion);

/* A compact text of the state: the player to move, ':', then one character
 * per cell (nim: the pile sizes joined by ','), e.g. "1:x...o...." for
 * tic_tac_toe. Round-trips exactly through rlc_game_deserialize. */
void rlc_game_serialize(const rlc_game *g, const rlc_game_state *s, char buf[RLC_GAME_STATE_CAP]);
/* Reads a serialised state; FORMAT with a message for text that is not one
 * or describes a position the rules cannot reach in a way rlc checks (wrong
 * length or characters, stone counts that disagree with the player to move,
 * a nim pile above its start, a box owned before its four lines). */
rlc_status rlc_game_deserialize(const rlc_game *g, const char *text, rlc_game_state *s);

/* Opponents (and the policy of the model's side in playouts):
 *   random      uniform over the legal moves;
 *   greedy      one ply: a move that wins the game at once if there is one,
 *               else a move after which the opponent has no move that wins at
 *               once (this blocks a threat), else any move; uniform among the
 *               candidates;
 *   minimax(D)  depth-D alpha-beta on the returns (0 at the horizon), a sooner
 *               win and a later loss preferred; ties go to the lowest action id.
 * "Wins" means the game ends with the mover's return > 0 (so in dots_and_boxes
 * greedy sees the end of the game, not single boxes). */
typedef enum rlc_game_policy {
    RLC_GAME_RANDOM = 0,
    RLC_GAME_GREEDY = 1,
    RLC_GAME_MINIMAX = 2,
} rlc_game_policy;
typedef struct rlc_game_opponent {
    rlc_game_policy policy;
    int depth; /* minimax: plies, 1..9 */
} rlc_game_opponent;
/* "random", "greedy", "minimax(3)" (case-sensitive); INVALID otherwise. */
rlc_status rlc_game_opponent_parse(const char *text, rlc_game_opponent *o);
/* Writes the canonical name ("minimax(3)") to buf[32]. */
void rlc_game_opponent_name(const rlc_game_opponent *o, char buf[32]);
/* The policy's action in a non-terminal state (-1 at the end). Random draws
 * are rlc_rng_uniform(seed, stream, *pos), *pos advanced once per draw. */
int rlc_game_opponent_move(const rlc_game *g, const rlc_game_state *s, const rlc_game_opponent *o,
                           uint64_t seed, uint64_t stream, uint64_t *pos);
/* The minimax value of s for the player to move, searching depth plies. */
double rlc_game_minimax_value(const rlc_game *g, const rlc_game_state *s, int depth);

/* Task state: from the start, n random moves with n uniform in
 * [0, max_random_steps], all drawn from `seed` (a task's seed is the base
 * seed + its index k). A move that would end the game is never drawn (the
 * walk stops early when every move would), so the state is never terminal. */
void rlc_game_task(const rlc_game *g, uint64_t seed, int max_random_steps, rlc_game_state *s);
/* The prompt for a state: game, side to move, the board as OpenSpiel prints
 * it, the legal moves' texts, and the instruction to answer
 * <answer>MOVE</answer>. Appended to b. */
void rlc_game_prompt(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b);

/* The value of playing `action` in s for the player to move: the action is
 * played, then the game is played to its end with both sides following o,
 * `playouts` times (playout j draws from (seed, stream j)); the mean of the
 * mover's returns. An illegal action gets rlc_game_min_return. Deterministic
 * minimax makes every playout the same. */
double rlc_game_move_value(const rlc_game *g, const rlc_game_state *s, int action,
                           const rlc_game_opponent *o, uint64_t seed, int playouts);

/* A task's reward reference, one line of text the reward reads back:
 *   "rlc-game|MODE|OPPONENT|PLAYOUTS|SEED|LOAD|STATE"
 * MODE legal or outcome; OPPONENT as rlc_game_opponent_parse; LOAD a load
 * string; STATE rlc_game_serialize's text. */
typedef struct rlc_game_ref {
    int outcome; /* 0 legal, 1 outcome */
    rlc_game_opponent opponent;
    int playouts;
    uint64_t seed;
    rlc_game game;
    rlc_game_state state;
} rlc_game_ref;
#define RLC_GAME_REF_PREFIX "rlc-game|"
/* Writes r's reference text into b. */
void rlc_game_ref_format(const rlc_game_ref *r, rlc_strbuf *b);
/* Reads a reference (FORMAT or INVALID with a message for any other text). */
rlc_status rlc_game_ref_parse(const char *text, rlc_game_ref *r);
/* The reward of a completion for a reference: legal mode 1 if the answer is
 * a legal move, else 0; outcome mode rlc_game_move_value of the answer with
 * the reference's opponent, playouts and seed (the same move always gets the
 * same reward). A reference that is not a game's gets 0. */
float rlc_game_reward(const char *completion, const char *reference);
/* 1 if the completion answers a legal move for the reference's state, else 0. */
int rlc_game_answer_legal(const char *completion, const char *reference);

/* `rlc eval` on games: the opponents win/draw/loss is reported against, i in
 * [0, RLC_GAME_EVAL_OPPONENTS): random, greedy, minimax(2). */
#define RLC_GAME_EVAL_OPPONENTS 3
rlc_game_opponent rlc_game_eval_opponent(int i);
/* The result of the completion's move against o: the move is played, then
 * both sides follow o to the end (one playout, drawn from the reference's
 * seed): 1 win, 0 draw, -1 loss for the model's side; an illegal move is a
 * loss. -2 when the reference is not a game's. */
int rlc_game_eval_result(const char *completion, const char *reference, const rlc_game_opponent *o);

/* Full games with the model in the loop (`rlc eval`): from a task's state
 * the model plays the side to move to the end against a fixed opponent whose
 * random draws are rlc_rng_uniform(seed, RLC_GAME_MATCH_STREAM, pos), pos
 * counting the opponent's draws of this game. An illegal or unparsable model
 * move ends the game as a loss, counted as illegal. */
#define RLC_GAME_MATCH_STREAM 0x6d61746368ULL
typedef struct rlc_game_match {
    rlc_game game;
    rlc_game_state state; /* the current position; the task's before rlc_game_play_matches */
    rlc_game_opponent opponent;
    uint64_t seed, pos; /* the opponent's draws */
    int side;           /* the model's player */
    int result;         /* 1 win, 0 draw, -1 loss for the model; -2 while playing */
    int illegal;        /* lost by an illegal or unparsable move */
    int moves, legal;   /* model turns, and those answered by a legal move */
} rlc_game_match;
/* A match from a task reference text (rlc_game_ref_format's) against o. */
rlc_status rlc_game_match_init(rlc_game_match *m, const char *reference,
                               const rlc_game_opponent *o);
/* The model: the action it plays in each of n positions (m[i]->state, the
 * model to move), -1 for an unparsable answer. */
typedef rlc_status (*rlc_game_mover)(void *ctx, int n, rlc_game_match *const *m, int *actions);
/* Plays the n matches to their ends: one mover call per ply with every match
 * where the model is to move, the opponents answering in between. */
rlc_status rlc_game_play_matches(rlc_game_match *m, int n, rlc_game_mover mover, void *ctx);
/* Totals of finished matches. */
typedef struct rlc_game_match_stats {
    long games, wins, draws, losses, illegal, moves, legal;
} rlc_game_match_stats;
void rlc_game_match_tally(const rlc_game_match *m, int n, rlc_game_match_stats *s);

/* The cases of a games.* config: every load string of cases; then for each
 * short name of list its entries of configs of that game (the name alone,
 * i.e. its defaults, when configs has none); then, when types is non-empty,
 * only the cases whose short name or load string it names. INVALID with a
 * message naming the key and entry for a string that does not load, a config
 * of a game the list does not name, no cases, or a filter that keeps none.
 * *out is malloc'd (free()). */
typedef struct rlc_game_case_spec {
    char *const *cases, *const *list, *const *configs, *const *types;
    int ncases, nlist, nconfigs, ntypes;
} rlc_game_case_spec;
rlc_status rlc_game_cases(const rlc_game_case_spec *spec, rlc_game **out, int *n);

/* Leaf states at depth d (perft): 1 at depth 0 or at the end, else the sum
 * over the legal moves. */
uint64_t rlc_game_perft(const rlc_game *g, const rlc_game_state *s, int depth);

#endif
