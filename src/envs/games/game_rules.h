/* The table each game file fills in (its rules), read by games.c. Not part of
 * the public interface: everything outside src/envs/games uses games.h. */
#ifndef RLC_ENVS_GAME_RULES_H
#define RLC_ENVS_GAME_RULES_H

#include "envs/games/games.h"

/* One parameter of a load string: type 'i' (integer in min..max), 'b'
 * (true/false) or 's' (text, checked by the game's configure). */
typedef struct rlc_game_param {
    const char *name;
    char type;
    int def, min, max;
    const char *sdef;
} rlc_game_param;

typedef struct rlc_game_rules {
    const char *name;    /* OpenSpiel short name */
    const char *side[2]; /* what the prompt calls each player: "x", "o" */
    const char *goal;    /* one line of rules for the prompt */
    const rlc_game_param *params;
    int nparams;
    /* Sets rows, cols, ncells, num_actions and the game's fields from the
     * parameters (g->pint / pset / pstr); INVALID with a message otherwise. */
    rlc_status (*configure)(rlc_game *g);
    /* Sets up the start (NULL: every cell 0). */
    void (*init)(const rlc_game *g, rlc_game_state *s);
    /* Legal actions of a non-terminal state, ascending. */
    int (*legal)(const rlc_game *g, const rlc_game_state *s, int *actions);
    /* Plays a legal action: cells and player; games.c then calls settle. */
    void (*play)(const rlc_game *g, rlc_game_state *s, int action);
    /* Recomputes winner and score from the cells and the player to move. */
    void (*settle)(const rlc_game *g, rlc_game_state *s);
    void (*render)(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b);
    /* The action string (alt 0) or its short form (alt 1; an empty string
     * when the game has none) for the player to move. */
    void (*move_text)(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]);
    /* Serialised cells: cell value v is chars[v]; NULL: decimal numbers
     * joined by ',' (nim's piles). */
    const char *chars;
    /* For deserialised states: 0 if the cells and player can occur, else -1
     * with why[128] set. Called before settle. */
    int (*check)(const rlc_game *g, const rlc_game_state *s, char *why);
} rlc_game_rules;

extern const rlc_game_rules rlc_rules_tic_tac_toe;
extern const rlc_game_rules rlc_rules_connect_four;
extern const rlc_game_rules rlc_rules_hex;
extern const rlc_game_rules rlc_rules_dots_and_boxes;
extern const rlc_game_rules rlc_rules_breakthrough;
extern const rlc_game_rules rlc_rules_nim;

/* The rules of g's game. */
const rlc_game_rules *rlc_game_rules_of(const rlc_game *g);
/* rlc_game_apply without the legality check, for searches over legal moves. */
void rlc_game_play(const rlc_game *g, rlc_game_state *s, int action);

/* Shared by the rules. */
/* Legal moves of the games that fill an empty cell: the actions a < num_actions
 * whose cell a is 0. */
int rlc_game_empty_cells(const rlc_game *g, const rlc_game_state *s, int *actions);
/* Puts the mover's mark (player + 1) on cell `action`; the other player moves. */
void rlc_game_place(const rlc_game *g, rlc_game_state *s, int action);
/* For games where player 0 moves first and every move adds one mark (1 for
 * player 0, 2 for player 1): 0 if the counts of marks in cells[0..n) agree
 * with the player to move and with which sides have won (won0/won1: the
 * winning pattern is on the board), else -1 with why[128] set. */
int rlc_game_check_marks(const rlc_game_state *s, int n, int won0, int won1, char *why);
/* Counts of each cell value 1 and 2 over cells[0..n). */
void rlc_game_count_marks(const uint8_t *cells, int n, int *ones, int *twos);
/* 1 if cells in an n-in-a-row line of value v exist on a rows x cols board
 * stored row by row (any of the 4 directions). */
int rlc_game_has_line(const uint8_t *cells, int rows, int cols, int n, uint8_t v);

#endif
