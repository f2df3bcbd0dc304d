/* Dots and boxes on num_rows x num_cols boxes: a move draws one line; a
 * player who completes a box (one or two) owns it and moves again; when
 * every line is drawn, more boxes wins (equal: a draw), or with
 * utility_margin the return is the box difference.
 * Actions as OpenSpiel: horizontal line (row 0..R, col 0..C-1) is
 * row*C+col, vertical line (row 0..R-1, col 0..C) is (R+1)*C + row*(C+1)+col.
 * Cells: the horizontal lines, the vertical lines (0 open, 1 drawn), then
 * the boxes row by row (0 open, 1 player 0's, 2 player 1's). */
#include "envs/games/game_rules.h"

#include <stdio.h>
#include <string.h>

enum { P_NUM_ROWS, P_NUM_COLS, P_MARGIN };

static const rlc_game_param params[] = {
    {"num_rows", 'i', 2, 1, 9, NULL},
    {"num_cols", 'i', 2, 1, 9, NULL},
    {"utility_margin", 'b', 0, 0, 1, NULL},
};

#define NH(g) (((g)->rows + 1) * (g)->cols)
#define NV(g) ((g)->rows * ((g)->cols + 1))

static rlc_status configure(rlc_game *g) {
    g->rows = g->pint[P_NUM_ROWS];
    g->cols = g->pint[P_NUM_COLS];
    g->margin = g->pint[P_MARGIN];
    g->num_actions = NH(g) + NV(g);
    g->ncells = g->num_actions + g->rows * g->cols;
    return RLC_OK;
}

/* Whether box (r, c) has its four lines. */
static int closed(const rlc_game *g, const uint8_t *cell, int r, int c) {
    const uint8_t *h = cell, *v = cell + NH(g);
    int C = g->cols;
    return h[r * C + c] && h[(r + 1) * C + c] && v[r * (C + 1) + c] && v[r * (C + 1) + c + 1];
}

static void play(const rlc_game *g, rlc_game_state *s, int action) {
    s->cell[action] = 1;
    int boxes[2][2], nb = 0; /* the boxes beside the line */
    if (action < NH(g)) {
        int row = action / g->cols, col = action % g->cols;
        if (row > 0) boxes[nb][0] = row - 1, boxes[nb++][1] = col;
        if (row < g->rows) boxes[nb][0] = row, boxes[nb++][1] = col;
    } else {
        int a = action - NH(g), row = a / (g->cols + 1), col = a % (g->cols + 1);
        if (col > 0) boxes[nb][0] = row, boxes[nb++][1] = col - 1;
        if (col < g->cols) boxes[nb][0] = row, boxes[nb++][1] = col;
    }
    int scored = 0;
    uint8_t *own = s->cell + g->num_actions;
    for (int i = 0; i < nb; i++) {
        int r = boxes[i][0], c = boxes[i][1];
        if (closed(g, s->cell, r, c)) own[r * g->cols + c] = (uint8_t)(s->player + 1), scored = 1;
    }
    if (!scored) s->player = 1 - s->player;
}

static void settle(const rlc_game *g, rlc_game_state *s) {
    rlc_game_count_marks(s->cell + g->num_actions, g->rows * g->cols, &s->score[0], &s->score[1]);
    int drawn = 0;
    for (int i = 0; i < g->num_actions; i++)
        drawn += s->cell[i];
    if (drawn < g->num_actions)
        s->winner = RLC_GAME_ONGOING;
    else
        s->winner = s->score[0] > s->score[1] ? 0 : s->score[1] > s->score[0] ? 1 : RLC_GAME_DRAW;
}

/* The junction at dot (row, col) of a dot row, then the line right of it
 * when col < C (open: "╴ ╶"). */
static void put_hpiece(rlc_strbuf *b, const rlc_game *g, int row, int col, int drawn) {
    int R = g->rows, C = g->cols;
    if (col == C) {
        rlc_sb_cstr(b, row == 0 ? "┐" : row == R ? "┘" : "┤");
        return;
    }
    rlc_sb_cstr(b, col == 0 ? (row == 0   ? "┌"
                               : row == R ? "└"
                                          : "├")
                            : (row == 0   ? "┬"
                               : row == R ? "┴"
                                          : "┼"));
    rlc_sb_cstr(b, drawn ? "───" : "╴ ╶");
}

static void render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    const uint8_t *h = s->cell, *v = s->cell + NH(g), *own = s->cell + g->num_actions;
    int R = g->rows, C = g->cols;
    for (int r = 0; r <= R; r++) {
        for (int c = 0; c <= C; c++)
            put_hpiece(b, g, r, c, c < C && h[r * C + c]);
        rlc_sb_cstr(b, "\n");
        if (r == R) break;
        for (int c = 0; c <= C; c++) {
            rlc_sb_cstr(b, v[r * (C + 1) + c] ? "│" : " ");
            if (c < C)
                rlc_sb_cstr(b, own[r * C + c] == 1 ? " 1 " : own[r * C + c] == 2 ? " 2 " : "   ");
        }
        rlc_sb_cstr(b, "\n");
    }
}

static void move_text(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]) {
    char o = 'h';
    int row, col;
    if (action < NH(g)) {
        row = action / g->cols, col = action % g->cols;
    } else {
        int a = action - NH(g);
        o = 'v', row = a / (g->cols + 1), col = a % (g->cols + 1);
    }
    snprintf(buf, RLC_GAME_MOVE_CAP, "%s(%c,%d,%d)",
             alt         ? ""
             : s->player ? "P2"
                         : "P1",
             o, row, col);
}

static int check(const rlc_game *g, const rlc_game_state *s, char *why) {
    for (int i = 0; i < g->num_actions; i++)
        if (s->cell[i] > 1) {
            snprintf(why, 128, "line %d: expected '.' or '1'", i);
            return -1;
        }
    for (int r = 0; r < g->rows; r++)
        for (int c = 0; c < g->cols; c++)
            if (!s->cell[g->num_actions + r * g->cols + c] != !closed(g, s->cell, r, c)) {
                snprintf(why, 128, "box (%d,%d) is owned iff its four lines are drawn", r, c);
                return -1;
            }
    return 0;
}

const rlc_game_rules rlc_rules_dots_and_boxes = {
    .name = "dots_and_boxes",
    .side = {"P1", "P2"},
    .goal = "Draw one line per move; completing a box scores it and you move again; most boxes "
            "wins. A move is (h,row,col) for a horizontal line or (v,row,col) for a vertical one.",
    .params = params,
    .nparams = 3,
    .configure = configure,
    .legal = rlc_game_empty_cells,
    .play = play,
    .settle = settle,
    .render = render,
    .move_text = move_text,
    .chars = ".12",
    .check = check,
};
