/* Breakthrough on rows x columns: b (player 0, OpenSpiel's black) starts on
 * the top rows and moves first, down the board; w (player 1) starts on the
 * bottom rows and moves up (two rows each from 6 rows on, else one). A piece
 * steps one row forward, straight or diagonally, onto an empty cell, or
 * captures an opposing piece diagonally. Reaching the far row, or taking the
 * last opposing piece, wins. There are no draws: the most advanced piece of
 * the player to move always has a diagonal step or capture.
 * Action as OpenSpiel: ((r*cols + c)*6 + dir)*2 + capture, dir 0..2 for b
 * (column -1, 0, +1), 3..5 for w; cells row by row from the top, 0 empty,
 * 1 b, 2 w. */
#include "envs/games/game_rules.h"

#include <stdio.h>

enum { P_ROWS, P_COLUMNS };

static const rlc_game_param params[] = {
    {"rows", 'i', 8, 2, 9, NULL},
    {"columns", 'i', 8, 2, 26, NULL},
};

static const int dir_dr[6] = {1, 1, 1, -1, -1, -1}, dir_dc[6] = {-1, 0, 1, -1, 0, 1};

static rlc_status configure(rlc_game *g) {
    g->rows = g->pint[P_ROWS];
    g->cols = g->pint[P_COLUMNS];
    g->ncells = g->rows * g->cols;
    g->num_actions = g->ncells * 12;
    return RLC_OK;
}

static int start_rows(const rlc_game *g) {
    return g->rows >= 6 ? 2 : 1;
}

static void init(const rlc_game *g, rlc_game_state *s) {
    for (int k = 0; k < start_rows(g); k++)
        for (int c = 0; c < g->cols; c++) {
            s->cell[k * g->cols + c] = 1;
            s->cell[(g->rows - 1 - k) * g->cols + c] = 2;
        }
}

static int legal(const rlc_game *g, const rlc_game_state *s, int *actions) {
    int n = 0, player = s->player, mine = player + 1;
    for (int r = 0; r < g->rows; r++)
        for (int c = 0; c < g->cols; c++) {
            if (s->cell[r * g->cols + c] != mine) continue;
            for (int o = 0; o < 3; o++) {
                int dir = player * 3 + o, rr = r + dir_dr[dir], cc = c + dir_dc[dir];
                if (rr < 0 || rr >= g->rows || cc < 0 || cc >= g->cols) continue;
                int to = s->cell[rr * g->cols + cc];
                int base = ((r * g->cols + c) * 6 + dir) * 2;
                if (!to)
                    actions[n++] = base;
                else if (o != 1 && to == 3 - mine)
                    actions[n++] = base + 1;
            }
        }
    return n;
}

static void play(const rlc_game *g, rlc_game_state *s, int action) {
    int from = action / 12, dir = action / 2 % 6;
    int r = from / g->cols, c = from % g->cols;
    int to = (r + dir_dr[dir]) * g->cols + c + dir_dc[dir];
    s->cell[to] = s->cell[from];
    s->cell[from] = 0;
    s->player = 1 - s->player;
}

/* The winner by the board alone: 0, 1, or -1 (none; -2 if both, which
 * no game reaches). */
static int board_winner(const rlc_game *g, const rlc_game_state *s) {
    int b, w, b_home = 0, w_home = 0;
    rlc_game_count_marks(s->cell, g->ncells, &b, &w);
    for (int c = 0; c < g->cols; c++) {
        b_home |= s->cell[(g->rows - 1) * g->cols + c] == 1;
        w_home |= s->cell[c] == 2;
    }
    int bw = b_home || w == 0, ww = w_home || b == 0;
    return bw && ww ? -2 : bw ? 0 : ww ? 1 : -1;
}

static void settle(const rlc_game *g, rlc_game_state *s) {
    int w = board_winner(g, s);
    s->winner = w >= 0 ? w : RLC_GAME_ONGOING;
}

/* Each row: its label (rows..1) and cells; then a space and column letters. */
static void render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    for (int r = 0; r < g->rows; r++) {
        rlc_sb_printf(b, "%c", '1' + (g->rows - 1 - r));
        for (int c = 0; c < g->cols; c++)
            rlc_sb_put(b, &".bw"[s->cell[r * g->cols + c]], 1);
        rlc_sb_cstr(b, "\n");
    }
    rlc_sb_cstr(b, " ");
    for (int c = 0; c < g->cols; c++)
        rlc_sb_printf(b, "%c", 'a' + c);
    rlc_sb_cstr(b, "\n");
}

/* "a7a6", a capture "a7b6*" (short form without the '*'). */
static void move_text(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]) {
    int from = action / 12, dir = action / 2 % 6, cap = action % 2;
    int r = from / g->cols, c = from % g->cols, rr = r + dir_dr[dir], cc = c + dir_dc[dir];
    snprintf(buf, RLC_GAME_MOVE_CAP, "%c%c%c%c%s", 'a' + c, '1' + (g->rows - 1 - r), 'a' + cc,
             '1' + (g->rows - 1 - rr), cap && !alt ? "*" : "");
}

static int check(const rlc_game *g, const rlc_game_state *s, char *why) {
    int b, w, start = start_rows(g) * g->cols;
    rlc_game_count_marks(s->cell, g->ncells, &b, &w);
    if (b > start || w > start) {
        snprintf(why, 128, "%d b and %d w pieces, more than the %d each starts with", b, w, start);
        return -1;
    }
    if (board_winner(g, s) == -2) {
        snprintf(why, 128, "both players have won");
        return -1;
    }
    return 0;
}

const rlc_game_rules rlc_rules_breakthrough = {
    .name = "breakthrough",
    .side = {"b", "w"},
    .goal = "b moves down the board, w up; a piece steps one row forward, straight or diagonally, "
            "onto an empty cell, or captures diagonally. Reaching the far row or capturing every "
            "opposing piece wins. A move is from-cell to-cell, a capture ends in '*': a7b6*.",
    .params = params,
    .nparams = 2,
    .configure = configure,
    .init = init,
    .legal = legal,
    .play = play,
    .settle = settle,
    .render = render,
    .move_text = move_text,
    .chars = ".bw",
    .check = check,
};
