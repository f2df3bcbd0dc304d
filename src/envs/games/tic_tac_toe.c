/* Tic-tac-toe: 3x3, x (player 0) first, three in a row wins, a full board
 * without one is a draw. Action r*3+c; cells 0 empty, 1 x, 2 o. */
#include "envs/games/game_rules.h"

#include <stdio.h>

static rlc_status configure(rlc_game *g) {
    g->rows = g->cols = 3;
    g->ncells = 9;
    g->num_actions = 9;
    return RLC_OK;
}

static void settle(const rlc_game *g, rlc_game_state *s) {
    int x, o;
    rlc_game_count_marks(s->cell, 9, &x, &o);
    if (rlc_game_has_line(s->cell, 3, 3, 3, 1))
        s->winner = 0;
    else if (rlc_game_has_line(s->cell, 3, 3, 3, 2))
        s->winner = 1;
    else
        s->winner = x + o == 9 ? RLC_GAME_DRAW : RLC_GAME_ONGOING;
}

static void render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            rlc_sb_put(b, &".xo"[s->cell[r * 3 + c]], 1);
        if (r < 2) rlc_sb_cstr(b, "\n");
    }
}

static void move_text(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]) {
    snprintf(buf, RLC_GAME_MOVE_CAP, "%s(%d,%d)",
             alt         ? ""
             : s->player ? "o"
                         : "x",
             action / 3, action % 3);
}

static int check(const rlc_game *g, const rlc_game_state *s, char *why) {
    return rlc_game_check_marks(s, 9, rlc_game_has_line(s->cell, 3, 3, 3, 1),
                                rlc_game_has_line(s->cell, 3, 3, 3, 2), why);
}

const rlc_game_rules rlc_rules_tic_tac_toe = {
    .name = "tic_tac_toe",
    .side = {"x", "o"},
    .goal = "Three in a row (across, down or diagonal) wins.",
    .configure = configure,
    .legal = rlc_game_empty_cells,
    .play = rlc_game_place,
    .settle = settle,
    .render = render,
    .move_text = move_text,
    .chars = ".xo",
    .check = check,
};
