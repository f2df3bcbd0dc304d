/* Full games with the model in the loop: the batched play loop of
 * rlc_game_play_matches (games.h). */
#include "envs/games/games.h"

#include <stdlib.h>
#include <string.h>

rlc_status rlc_game_match_init(rlc_game_match *m, const char *reference,
                               const rlc_game_opponent *o) {
    rlc_game_ref r;
    memset(m, 0, sizeof *m);
    RLC_TRY(rlc_game_ref_parse(reference, &r));
    m->game = r.game;
    m->state = r.state;
    m->opponent = *o;
    m->seed = r.seed;
    m->side = r.state.player;
    m->result = -2;
    return RLC_OK;
}

static void finish(rlc_game_match *m) {
    double v = rlc_game_return(&m->game, &m->state, m->side);
    m->result = v > 0 ? 1 : v < 0 ? -1 : 0;
}

/* The opponent moves until the model is to move or the game ends. */
static void opponent_turns(rlc_game_match *m) {
    while (!rlc_game_is_terminal(&m->state) && m->state.player != m->side)
        rlc_game_apply(&m->game, &m->state,
                       rlc_game_opponent_move(&m->game, &m->state, &m->opponent, m->seed,
                                              RLC_GAME_MATCH_STREAM, &m->pos));
    if (rlc_game_is_terminal(&m->state)) finish(m);
}

rlc_status rlc_game_play_matches(rlc_game_match *m, int n, rlc_game_mover mover, void *ctx) {
    rlc_game_match **todo = malloc((size_t)(n > 0 ? n : 1) * sizeof *todo);
    int *act = malloc((size_t)(n > 0 ? n : 1) * sizeof *act);
    rlc_status st = todo && act ? RLC_OK : rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    for (int i = 0; st == RLC_OK && i < n; i++)
        if (m[i].result == -2) opponent_turns(&m[i]); /* a task state is never terminal */
    while (st == RLC_OK) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (m[i].result == -2) todo[k++] = &m[i];
        if (!k) break;
        st = mover(ctx, k, todo, act);
        for (int i = 0; st == RLC_OK && i < k; i++) {
            rlc_game_match *g = todo[i];
            g->moves++;
            if (act[i] < 0 || !rlc_game_is_legal(&g->game, &g->state, act[i])) {
                g->result = -1;
                g->illegal = 1;
                continue;
            }
            g->legal++;
            rlc_game_apply(&g->game, &g->state, act[i]);
            opponent_turns(g);
        }
    }
    free(todo);
    free(act);
    return st;
}

void rlc_game_match_tally(const rlc_game_match *m, int n, rlc_game_match_stats *s) {
    for (int i = 0; i < n; i++) {
        s->games++;
        s->wins += m[i].result == 1;
        s->draws += m[i].result == 0;
        s->losses += m[i].result == -1;
        s->illegal += m[i].illegal;
        s->moves += m[i].moves;
        s->legal += m[i].legal;
    }
}
