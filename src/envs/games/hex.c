/* Hex on a rows x cols rhombus: x (player 0, OpenSpiel's black) joins the top
 * and bottom rows, o (player 1, white) the left and right columns; x moves
 * first and there is no swap (pie) rule, as in OpenSpiel's hex. Cell (r, c)
 * touches (r-1,c), (r-1,c+1), (r,c+1), (r+1,c), (r+1,c-1), (r,c-1).
 * Action r*cols+c; cells 0 empty, 1 x, 2 o. */
#include "envs/games/game_rules.h"

#include <stdio.h>
#include <string.h>

enum { P_BOARD_SIZE, P_NUM_COLS, P_NUM_ROWS, P_STRING_REP };

static const rlc_game_param params[] = {
    {"board_size", 'i', 11, 1, 13, NULL},
    {"num_cols", 'i', 11, 1, 13, NULL},
    {"num_rows", 'i', 11, 1, 13, NULL},
    {"string_rep", 's', 0, 0, 0, "standard"},
};

static rlc_status configure(rlc_game *g) {
    if (strcmp(g->pstr[P_STRING_REP], "standard"))
        return rlc_errorf(RLC_ERR_UNSUPPORTED,
                          "games: \"%s\": parameter string_rep: only \"standard\" is supported, "
                          "got \"%s\"",
                          g->load, g->pstr[P_STRING_REP]);
    g->rows = g->pset[P_NUM_ROWS] ? g->pint[P_NUM_ROWS] : g->pint[P_BOARD_SIZE];
    g->cols = g->pset[P_NUM_COLS] ? g->pint[P_NUM_COLS] : g->pint[P_BOARD_SIZE];
    g->ncells = g->rows * g->cols;
    g->num_actions = g->ncells;
    return RLC_OK;
}

/* Whether v's stones join their two sides: x (1) top to bottom, o (2) left
 * to right; a flood fill from the first side. */
static int connected(const rlc_game *g, const rlc_game_state *s, uint8_t v) {
    static const int dr[6] = {-1, -1, 0, 1, 1, 0}, dc[6] = {0, 1, 1, 0, -1, -1};
    uint8_t seen[RLC_GAME_MAX_CELLS] = {0};
    int stack[RLC_GAME_MAX_CELLS], top = 0;
    int side = v == 1 ? g->cols : g->rows;
    for (int k = 0; k < side; k++) {
        int cell = v == 1 ? k : k * g->cols;
        if (s->cell[cell] == v) seen[cell] = 1, stack[top++] = cell;
    }
    while (top) {
        int cell = stack[--top], r = cell / g->cols, c = cell % g->cols;
        if ((v == 1 && r == g->rows - 1) || (v == 2 && c == g->cols - 1)) return 1;
        for (int d = 0; d < 6; d++) {
            int rr = r + dr[d], cc = c + dc[d];
            if (rr < 0 || rr >= g->rows || cc < 0 || cc >= g->cols) continue;
            int nb = rr * g->cols + cc;
            if (s->cell[nb] == v && !seen[nb]) seen[nb] = 1, stack[top++] = nb;
        }
    }
    return 0;
}

static void settle(const rlc_game *g, rlc_game_state *s) {
    if (connected(g, s, 1))
        s->winner = 0;
    else if (connected(g, s, 2))
        s->winner = 1;
    else
        s->winner = RLC_GAME_ONGOING;
}

/* Each cell and a space; row r indented by r spaces; no final newline. */
static void render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    for (int i = 0; i < g->ncells; i++) {
        if (i && i % g->cols == 0) {
            rlc_sb_cstr(b, "\n");
            for (int k = 0; k < i / g->cols; k++)
                rlc_sb_cstr(b, " ");
        }
        rlc_sb_put(b, &".xo"[s->cell[i]], 1);
        rlc_sb_cstr(b, " ");
    }
}

/* Column letter, then row number from 1: "c2" is row 1, column 2. */
static void move_text(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]) {
    if (alt)
        buf[0] = 0;
    else
        snprintf(buf, RLC_GAME_MOVE_CAP, "%c%d", 'a' + action % g->cols, action / g->cols + 1);
}

static int check(const rlc_game *g, const rlc_game_state *s, char *why) {
    return rlc_game_check_marks(s, g->ncells, connected(g, s, 1), connected(g, s, 2), why);
}

const rlc_game_rules rlc_rules_hex = {
    .name = "hex",
    .side = {"x", "o"},
    .goal = "x joins the top and bottom rows, o the left and right columns, with a chain of "
            "touching stones; each cell touches the cells left and right of it, the two above it "
            "(same column and one to the right) and the two below it (same column and one to the "
            "left). A move is a column letter and a row number: a1 is the top left cell.",
    .params = params,
    .nparams = 4,
    .configure = configure,
    .legal = rlc_game_empty_cells,
    .play = rlc_game_place,
    .settle = settle,
    .render = render,
    .move_text = move_text,
    .chars = ".xo",
    .check = check,
};
