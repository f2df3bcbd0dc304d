/* Nim: piles of objects; a move takes one or more objects from one pile.
 * With is_misere (OpenSpiel's default) the player who takes the last object
 * loses, else wins. Action as OpenSpiel: (take-1)*piles + pile; cells are
 * the pile sizes. */
#include "envs/games/game_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_PILE_SIZES, P_IS_MISERE };

static const rlc_game_param params[] = {
    {"pile_sizes", 's', 0, 0, 0, "1;3;5;7"},
    {"is_misere", 'b', 1, 0, 1, NULL},
};

#define MAX_PILES 16
#define MAX_PILE 31

static rlc_status configure(rlc_game *g) {
    const char *p = g->pstr[P_PILE_SIZES];
    int n = 0, most = 0;
    for (;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > MAX_PILE || n == MAX_PILES || (*end && *end != ';'))
            return rlc_errorf(RLC_ERR_INVALID,
                              "games: \"%s\": parameter pile_sizes: expected 1..%d sizes in "
                              "1..%d joined by ';', got \"%s\"",
                              g->load, MAX_PILES, MAX_PILE, g->pstr[P_PILE_SIZES]);
        g->piles[n++] = (int)v;
        if (v > most) most = (int)v;
        if (!*end) break;
        p = end + 1;
    }
    g->misere = g->pint[P_IS_MISERE];
    g->rows = 1;
    g->cols = n;
    g->ncells = n;
    g->num_actions = n * most + 1;
    return RLC_OK;
}

static void init(const rlc_game *g, rlc_game_state *s) {
    for (int i = 0; i < g->ncells; i++)
        s->cell[i] = (uint8_t)g->piles[i];
}

static int legal(const rlc_game *g, const rlc_game_state *s, int *actions) {
    int n = 0;
    for (int take = 1; take <= MAX_PILE; take++)
        for (int i = 0; i < g->ncells; i++)
            if (take <= s->cell[i]) actions[n++] = (take - 1) * g->ncells + i;
    return n;
}

static void play(const rlc_game *g, rlc_game_state *s, int action) {
    s->cell[action % g->ncells] -= (uint8_t)(action / g->ncells + 1);
    s->player = 1 - s->player;
}

/* The player to move did not take the last object. */
static void settle(const rlc_game *g, rlc_game_state *s) {
    int left = 0;
    for (int i = 0; i < g->ncells; i++)
        left += s->cell[i];
    s->winner = left ? RLC_GAME_ONGOING : g->misere ? s->player : 1 - s->player;
}

/* "(player): sizes". */
static void render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    rlc_sb_printf(b, "(%d):", s->player);
    for (int i = 0; i < g->ncells; i++)
        rlc_sb_printf(b, " %d", s->cell[i]);
}

static void move_text(const rlc_game *g, const rlc_game_state *s, int action, int alt,
                      char buf[RLC_GAME_MOVE_CAP]) {
    snprintf(buf, RLC_GAME_MOVE_CAP, "pile:%d, take:%d%s", action % g->ncells + 1,
             action / g->ncells + 1, alt ? "" : ";");
}

static int check(const rlc_game *g, const rlc_game_state *s, char *why) {
    for (int i = 0; i < g->ncells; i++)
        if (s->cell[i] > g->piles[i]) {
            snprintf(why, 128, "pile %d has %d, more than its start %d", i + 1, s->cell[i],
                     g->piles[i]);
            return -1;
        }
    return 0;
}

const rlc_game_rules rlc_rules_nim = {
    .name = "nim",
    .side = {"player 0", "player 1"},
    .goal = "Take one or more objects from one pile per move.",
    .params = params,
    .nparams = 2,
    .configure = configure,
    .init = init,
    .legal = legal,
    .play = play,
    .settle = settle,
    .render = render,
    .move_text = move_text,
    .chars = NULL,
    .check = check,
};
