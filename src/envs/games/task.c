/* Move values by playout, task references, the games' reward and the case list of a config. */
#include "envs/games/games.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double rlc_game_move_value(const rlc_game *g, const rlc_game_state *s, int action,
                           const rlc_game_opponent *o, uint64_t seed, int playouts) {
    int me = s->player;
    if (rlc_game_is_terminal(s) || !rlc_game_is_legal(g, s, action)) return rlc_game_min_return(g);
    rlc_game_state after = *s;
    rlc_game_apply(g, &after, action);
    double sum = 0;
    for (int j = 0; j < playouts; j++) {
        rlc_game_state t = after;
        uint64_t pos = 0;
        while (!rlc_game_is_terminal(&t))
            rlc_game_apply(g, &t, rlc_game_opponent_move(g, &t, o, seed, (uint64_t)j, &pos));
        sum += rlc_game_return(g, &t, me);
    }
    return playouts > 0 ? sum / playouts : 0;
}

void rlc_game_ref_format(const rlc_game_ref *r, rlc_strbuf *b) {
    char opp[32], state[RLC_GAME_STATE_CAP];
    rlc_game_opponent_name(&r->opponent, opp);
    rlc_game_serialize(&r->game, &r->state, state);
    rlc_sb_printf(b, RLC_GAME_REF_PREFIX "%s|%s|%d|%" PRIu64 "|%s|%s",
                  r->outcome ? "outcome" : "legal", opp, r->playouts, r->seed, r->game.load, state);
}

rlc_status rlc_game_ref_parse(const char *text, rlc_game_ref *r) {
    memset(r, 0, sizeof *r);
    size_t pn = strlen(RLC_GAME_REF_PREFIX);
    char buf[RLC_GAME_STATE_CAP + 256];
    if (strncmp(text, RLC_GAME_REF_PREFIX, pn) || strlen(text) >= sizeof buf)
        return rlc_errorf(RLC_ERR_FORMAT, "games: reference \"%.40s\": expected \"%s...\"", text,
                          RLC_GAME_REF_PREFIX);
    strcpy(buf, text + pn);
    char *field[6], *rest = buf;
    for (int i = 0; i < 6; i++) {
        field[i] = strsep(&rest, "|");
        if (!field[i] || (i < 5 && !rest))
            return rlc_errorf(RLC_ERR_FORMAT,
                              "games: reference \"%.60s\": expected "
                              "MODE|OPPONENT|PLAYOUTS|SEED|LOAD|STATE after the prefix",
                              text);
    }
    if (!strcmp(field[0], "outcome"))
        r->outcome = 1;
    else if (strcmp(field[0], "legal"))
        return rlc_errorf(RLC_ERR_FORMAT, "games: reference mode \"%s\": expected legal or outcome",
                          field[0]);
    RLC_TRY(rlc_game_opponent_parse(field[1], &r->opponent));
    char *end;
    long pl = strtol(field[2], &end, 10);
    if (*end || end == field[2] || pl < 1 || pl > 1000)
        return rlc_errorf(RLC_ERR_FORMAT, "games: reference playouts \"%s\": expected 1..1000",
                          field[2]);
    r->playouts = (int)pl;
    unsigned long long seed = strtoull(field[3], &end, 10);
    if (*end || end == field[3])
        return rlc_errorf(RLC_ERR_FORMAT, "games: reference seed \"%s\": expected a number",
                          field[3]);
    r->seed = seed;
    RLC_TRY(rlc_game_load(field[4], &r->game));
    return rlc_game_deserialize(&r->game, field[5], &r->state);
}

float rlc_game_reward(const char *completion, const char *reference) {
    rlc_game_ref r;
    if (!reference || rlc_game_ref_parse(reference, &r) != RLC_OK) return 0;
    int a = rlc_game_parse_answer(&r.game, &r.state, completion);
    if (!r.outcome) return a >= 0;
    return (float)rlc_game_move_value(&r.game, &r.state, a, &r.opponent, r.seed, r.playouts);
}

int rlc_game_answer_legal(const char *completion, const char *reference) {
    rlc_game_ref r;
    if (!reference || rlc_game_ref_parse(reference, &r) != RLC_OK) return 0;
    return rlc_game_parse_answer(&r.game, &r.state, completion) >= 0;
}

rlc_game_opponent rlc_game_eval_opponent(int i) {
    rlc_game_opponent o = {i == 1   ? RLC_GAME_GREEDY
                           : i == 2 ? RLC_GAME_MINIMAX
                                    : RLC_GAME_RANDOM,
                           i == 2 ? 2 : 0};
    return o;
}

int rlc_game_eval_result(const char *completion, const char *reference,
                         const rlc_game_opponent *o) {
    rlc_game_ref r;
    if (!reference || rlc_game_ref_parse(reference, &r) != RLC_OK) return -2;
    int a = rlc_game_parse_answer(&r.game, &r.state, completion);
    if (a < 0) return -1;
    double v = rlc_game_move_value(&r.game, &r.state, a, o, r.seed, 1);
    return v > 0 ? 1 : v < 0 ? -1 : 0;
}

static rlc_status push_case(const char *key, int i, const char *text, rlc_game **out, int *n) {
    rlc_game g;
    if (rlc_game_load(text, &g) != RLC_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", rlc_last_error());
        return rlc_errorf(RLC_ERR_INVALID, "%s[%d]: %s", key, i, msg);
    }
    rlc_game *grown = realloc(*out, (size_t)(*n + 1) * sizeof **out);
    if (!grown) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    *out = grown;
    (*out)[(*n)++] = g;
    return RLC_OK;
}

static int in_list(char *const *items, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(items[i], s)) return 1;
    return 0;
}

static rlc_status build_cases(const rlc_game_case_spec *c, rlc_game **out, int *n) {
    for (int i = 0; i < c->ncases; i++)
        RLC_TRY(push_case("games.cases", i, c->cases[i], out, n));
    for (int i = 0; i < c->nconfigs; i++) { /* every config belongs to a listed game */
        rlc_game g;
        RLC_TRY(push_case("games.game_configs", i, c->configs[i], out, n));
        g = (*out)[--*n];
        if (!in_list(c->list, c->nlist, rlc_game_short_name(&g)))
            return rlc_errorf(RLC_ERR_INVALID,
                              "games.game_configs[%d]: \"%s\" is a %s, which games.game_list does "
                              "not name",
                              i, c->configs[i], rlc_game_short_name(&g));
    }
    for (int i = 0; i < c->nlist; i++) {
        int found = 0;
        for (int j = 0; j < c->nconfigs; j++) {
            rlc_game g;
            rlc_game_load(c->configs[j], &g);
            if (strcmp(rlc_game_short_name(&g), c->list[i])) continue;
            RLC_TRY(push_case("games.game_configs", j, c->configs[j], out, n));
            found = 1;
        }
        if (!found) RLC_TRY(push_case("games.game_list", i, c->list[i], out, n));
    }
    if (*n == 0)
        return rlc_errorf(RLC_ERR_INVALID, "games: no cases: set games.cases (load strings) or "
                                           "games.game_list");
    if (c->ntypes) {
        int kept = 0;
        for (int i = 0; i < *n; i++)
            if (in_list(c->types, c->ntypes, rlc_game_short_name(&(*out)[i])) ||
                in_list(c->types, c->ntypes, (*out)[i].load))
                (*out)[kept++] = (*out)[i];
        if (!kept)
            return rlc_errorf(RLC_ERR_INVALID,
                              "games.game_types keeps none of the %d case(s): it names short "
                              "names (hex) or whole load strings (hex(board_size=5))",
                              *n);
        *n = kept;
    }
    return RLC_OK;
}

rlc_status rlc_game_cases(const rlc_game_case_spec *spec, rlc_game **out, int *n) {
    *out = NULL;
    *n = 0;
    rlc_status st = build_cases(spec, out, n);
    if (st) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}
