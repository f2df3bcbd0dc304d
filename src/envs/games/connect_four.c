/* Connect four: 6 rows x 7 columns, pieces drop to the lowest empty row, x
 * (player 0) first, four in a row wins, a full board without one is a draw.
 * Action = column; cells row by row from the bottom row (row 0), 0 empty,
 * 1 x, 2 o. */
#include "envs/games/game_rules.h"

#include <stdio.h>

#define ROWS 6
#define COLS 7

static rlc_status configure(rlc_game *g) {
    g->rows = ROWS;
    g->cols = COLS;
    g->ncells = ROWS * COLS;
    g->num_actions = COLS;
    return RLC_OK;
}

static int legal(const rlc_game *g, const rlc_game_state *s, int *actions) {
    int n = 0;
    for (int c = 0; c < COLS; c++)
        if (!s->cell[(ROWS - 1) * COLS + c]) actions[n++] = c;
    return n;
}

static void play(const rlc_game *g, rlc_game_state *s, int action) {
    int r = 0;
    while (s->cell[r * COLS + action])
        r++;
    s->cell[r * COLS + action] = (uint8_t)(s->player + 1);
    s->player = 1 - s->player;
}

static void settle(const rlc_game *g, rlc_game_state *s) {
    int x, o;
    rlc_game_count_marks(s->cell, ROWS * COLS, &x, &o);
    if (rlc_game_has_line(s->cell, ROWS, COLS, 4, 1))
        s->winner = 0;
    else if (rlc_game_has_line(s->cell, ROWS, COLS, 4, 2))
        s->winner = 1;
    else
        s->winner = x + o == ROWS * COLS ? RLC_GAME_DRAW : RLC_GAME_ONGOING;
}

/* Top row first, each row ending in a newline. */
static void render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    for (int r = ROWS - 1; r >= 0; r--) {
        for (int c = 0; c < COLS; c++)
            rlc_sb_put(b, &".xo"[s->cell[r * COLS + c]], 1);
        rlc_sb_cstr(b, "\n");
    }
}

static void move_text(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]) {
    snprintf(buf, RLC_GAME_MOVE_CAP, "%s%d", alt ? "" : s->player ? "o" : "x", action);
}

static int check(const rlc_game *g, const rlc_game_state *s, char *why) {
    for (int r = 1; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            if (s->cell[r * COLS + c] && !s->cell[(r - 1) * COLS + c]) {
                snprintf(why, 128, "a piece above an empty cell in column %d", c);
                return -1;
            }
    return rlc_game_check_marks(s, ROWS * COLS, rlc_game_has_line(s->cell, ROWS, COLS, 4, 1),
                                rlc_game_has_line(s->cell, ROWS, COLS, 4, 2), why);
}

const rlc_game_rules rlc_rules_connect_four = {
    .name = "connect_four",
    .side = {"x", "o"},
    .goal = "Pieces drop to the lowest empty row of a column; four in a row (across, down or "
            "diagonal) wins. The board is printed top row first; a move names a column 0-6.",
    .configure = configure,
    .legal = legal,
    .play = play,
    .settle = settle,
    .render = render,
    .move_text = move_text,
    .chars = ".xo",
    .check = check,
};
