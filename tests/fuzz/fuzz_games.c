/* Fuzz target for the board games' parsers: load strings, serialised states
 * and the move in a completion (src/envs/games). */
#include "envs/games/games.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static const char *const cases[] = {
    "tic_tac_toe",
    "connect_four",
    "hex(board_size=4)",
    "dots_and_boxes(num_rows=2,num_cols=3)",
    "breakthrough(rows=5,columns=4)",
    "nim(pile_sizes=3;1;4,is_misere=false)",
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Every legal move's text parses back to it, and its child round-trips. */
static void check_state(const rlc_game *g, const rlc_game_state *s) {
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    RLC_FUZZ_CHECK(n >= 0 && n <= RLC_GAME_MAX_MOVES, "%d moves", n);
    RLC_FUZZ_CHECK((n == 0) == rlc_game_is_terminal(s), "%d moves, terminal %d", n,
                   rlc_game_is_terminal(s));
    for (int i = 0; i < n; i++) {
        char t[RLC_GAME_MOVE_CAP], a[RLC_GAME_STATE_CAP], b[RLC_GAME_STATE_CAP];
        rlc_game_move_text(g, s, moves[i], t);
        RLC_FUZZ_CHECK(rlc_game_parse_move(g, s, t, strlen(t)) == moves[i], "%s", t);
        rlc_game_state c = *s, d;
        RLC_FUZZ_CHECK(rlc_game_apply(g, &c, moves[i]) == RLC_OK, "%s", t);
        rlc_game_serialize(g, &c, a);
        RLC_FUZZ_CHECK(rlc_game_deserialize(g, a, &d) == RLC_OK, "child %s: %s", a,
                       rlc_last_error());
        rlc_game_serialize(g, &d, b);
        RLC_FUZZ_CHECK(!strcmp(a, b), "%s read back as %s", a, b);
    }
}

/* Byte 0 mod 3: 0, the rest is a load string; 1, a serialised state of
 * cases[byte 1]; 2, a completion answered at task state byte 2 of cases[byte 1]. */
int rlc_fuzz_games(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    char *text = malloc(size - 2);
    RLC_FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data + 3, size - 3);
    text[size - 3] = 0;
    rlc_game g;
    rlc_game_state s;
    int mode = data[0] % 3;
    if (mode == 0) {
        if (rlc_game_load(text, &g) == RLC_OK) {
            RLC_FUZZ_CHECK(g.ncells > 0 && g.ncells <= RLC_GAME_MAX_CELLS, "%d cells", g.ncells);
            rlc_game again;
            RLC_FUZZ_CHECK(rlc_game_load(g.load, &again) == RLC_OK, "%s", g.load);
            RLC_FUZZ_CHECK(!memcmp(&g, &again, sizeof g), "%s loads differently", g.load);
            rlc_game_init(&g, &s);
            check_state(&g, &s);
        }
    } else {
        RLC_FUZZ_CHECK(rlc_game_load(cases[data[1] % NCASES], &g) == RLC_OK, "%s",
                       rlc_last_error());
        if (mode == 1) {
            if (rlc_game_deserialize(&g, text, &s) == RLC_OK) {
                char back[RLC_GAME_STATE_CAP];
                rlc_game_serialize(&g, &s, back);
                RLC_FUZZ_CHECK(!strcmp(back, text), "%s read back as %s", text, back);
                check_state(&g, &s);
            }
        } else {
            rlc_game_task(&g, data[2], data[2] % 16, &s);
            int a = rlc_game_parse_answer(&g, &s, text);
            RLC_FUZZ_CHECK(a == -1 || rlc_game_is_legal(&g, &s, a), "answer gave action %d", a);
        }
    }
    free(text);
    return 0;
}
