/* Opponents (random, greedy, minimax), task states, prompts and perft. */
#include "base/rng.h"
#include "envs/games/game_rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Stream tag of the task walk, so it never shares a stream with other users
 * of a seed. */
#define TASK_STREAM 0x67616d6573000001ull

rlc_status rlc_game_opponent_parse(const char *text, rlc_game_opponent *o) {
    memset(o, 0, sizeof *o);
    if (!strcmp(text, "random")) return RLC_OK;
    if (!strcmp(text, "greedy")) {
        o->policy = RLC_GAME_GREEDY;
        return RLC_OK;
    }
    int d = 0, used = 0;
    if (sscanf(text, "minimax(%d)%n", &d, &used) == 1 && text[used] == 0 && d >= 1 && d <= 9) {
        o->policy = RLC_GAME_MINIMAX;
        o->depth = d;
        return RLC_OK;
    }
    return rlc_errorf(
        RLC_ERR_INVALID,
        "games: opponent \"%s\": expected random, greedy or minimax(D) with D in 1..9", text);
}

void rlc_game_opponent_name(const rlc_game_opponent *o, char buf[32]) {
    if (o->policy == RLC_GAME_MINIMAX)
        snprintf(buf, 32, "minimax(%d)", o->depth);
    else
        snprintf(buf, 32, "%s", o->policy == RLC_GAME_GREEDY ? "greedy" : "random");
}

/* One of list[0..n) (n > 0), uniform. */
static int pick(const int *list, int n, uint64_t seed, uint64_t stream, uint64_t *pos) {
    int i = (int)(rlc_rng_uniform(seed, stream, (*pos)++) * (float)n);
    return list[i < n ? i : n - 1];
}

/* Whether the player to move in s has a move that ends the game with their
 * return > 0. */
static int can_win_now(const rlc_game *g, const rlc_game_state *s) {
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    for (int i = 0; i < n; i++) {
        rlc_game_state t = *s;
        rlc_game_play(g, &t, moves[i]);
        if (rlc_game_is_terminal(&t) && rlc_game_return(g, &t, s->player) > 0) return 1;
    }
    return 0;
}

static int greedy_move(const rlc_game *g, const rlc_game_state *s, uint64_t seed, uint64_t stream,
                       uint64_t *pos) {
    int moves[RLC_GAME_MAX_MOVES], wins[RLC_GAME_MAX_MOVES], safe[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves), nw = 0, ns = 0, me = s->player;
    for (int i = 0; i < n; i++) {
        rlc_game_state t = *s;
        rlc_game_play(g, &t, moves[i]);
        if (rlc_game_is_terminal(&t)) {
            double r = rlc_game_return(g, &t, me);
            if (r > 0)
                wins[nw++] = moves[i];
            else if (r == 0)
                safe[ns++] = moves[i];
        } else if (t.player == me || !can_win_now(g, &t)) {
            safe[ns++] = moves[i];
        }
    }
    if (nw) return pick(wins, nw, seed, stream, pos);
    if (ns) return pick(safe, ns, seed, stream, pos);
    return pick(moves, n, seed, stream, pos);
}

/* Negamax with alpha-beta: the value of s for the player to move. At the
 * end the return, scaled up by the plies left so that a sooner win (and a
 * later loss) is preferred; 0 at the horizon. */
static double search(const rlc_game *g, const rlc_game_state *s, int depth, double alpha,
                     double beta) {
    if (rlc_game_is_terminal(s)) return rlc_game_return(g, s, s->player) * (1 + 0.01 * depth);
    if (depth == 0) return 0;
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    double best = -INFINITY;
    for (int i = 0; i < n && alpha < beta; i++) {
        rlc_game_state t = *s;
        rlc_game_play(g, &t, moves[i]);
        double v = t.player == s->player ? search(g, &t, depth - 1, alpha, beta)
                                         : -search(g, &t, depth - 1, -beta, -alpha);
        if (v > best) best = v;
        if (v > alpha) alpha = v;
    }
    return best;
}

static int minimax_move(const rlc_game *g, const rlc_game_state *s, int depth) {
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves), best_move = -1;
    double best = -INFINITY;
    for (int i = 0; i < n; i++) {
        rlc_game_state t = *s;
        rlc_game_play(g, &t, moves[i]);
        /* The window (best, +inf): a move that cannot beat the best so far
         * returns a bound <= best and is not taken, so ties keep the lowest id. */
        double v = t.player == s->player ? search(g, &t, depth - 1, best, INFINITY)
                                         : -search(g, &t, depth - 1, -INFINITY, -best);
        if (v > best) best = v, best_move = moves[i];
    }
    return best_move;
}

double rlc_game_minimax_value(const rlc_game *g, const rlc_game_state *s, int depth) {
    return search(g, s, depth, -INFINITY, INFINITY);
}

int rlc_game_opponent_move(const rlc_game *g, const rlc_game_state *s, const rlc_game_opponent *o,
                           uint64_t seed, uint64_t stream, uint64_t *pos) {
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    if (n == 0) return -1;
    switch (o->policy) {
    case RLC_GAME_GREEDY:
        return greedy_move(g, s, seed, stream, pos);
    case RLC_GAME_MINIMAX:
        return minimax_move(g, s, o->depth);
    default:
        return pick(moves, n, seed, stream, pos);
    }
}

void rlc_game_task(const rlc_game *g, uint64_t seed, int max_random_steps, rlc_game_state *s) {
    rlc_game_init(g, s);
    uint64_t pos = 0;
    int steps = 0;
    if (max_random_steps > 0) {
        steps = (int)(rlc_rng_uniform(seed, TASK_STREAM, pos++) * (float)(max_random_steps + 1));
        if (steps > max_random_steps) steps = max_random_steps;
    }
    for (int k = 0; k < steps; k++) {
        int moves[RLC_GAME_MAX_MOVES], keep[RLC_GAME_MAX_MOVES];
        int n = rlc_game_legal(g, s, moves), nk = 0;
        for (int i = 0; i < n; i++) {
            rlc_game_state t = *s;
            rlc_game_play(g, &t, moves[i]);
            if (!rlc_game_is_terminal(&t)) keep[nk++] = moves[i];
        }
        if (!nk) break;
        rlc_game_play(g, s, pick(keep, nk, seed, TASK_STREAM, &pos));
    }
}

void rlc_game_prompt(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    const rlc_game_rules *r = rlc_game_rules_of(g);
    int p = s->player;
    rlc_sb_printf(b, "Game: %s. %s", g->load, r->goal);
    if (g->kind == RLC_GAME_NIM)
        rlc_sb_printf(b, " The player who takes the last object %s.", g->misere ? "loses" : "wins");
    rlc_sb_printf(b, "\nYou are %s (player %d). The board:\n", r->side[p], p);
    size_t before = b->len;
    rlc_game_render(g, s, b);
    if (b->len > before && b->p[b->len - 1] != '\n') rlc_sb_cstr(b, "\n");
    rlc_sb_cstr(b, "Legal moves:");
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    for (int i = 0; i < n; i++) {
        char t[RLC_GAME_MOVE_CAP];
        rlc_game_move_text(g, s, moves[i], t);
        rlc_sb_printf(b, "%s %s", i ? "," : "", t);
    }
    rlc_sb_cstr(b, "\nReply with your move as <answer>MOVE</answer>.\n");
}

uint64_t rlc_game_perft(const rlc_game *g, const rlc_game_state *s, int depth) {
    if (depth == 0 || rlc_game_is_terminal(s)) return 1;
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        rlc_game_state t = *s;
        rlc_game_play(g, &t, moves[i]);
        total += rlc_game_perft(g, &t, depth - 1);
    }
    return total;
}
