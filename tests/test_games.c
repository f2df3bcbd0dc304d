/* Board games (src/envs/games): load strings, rules at known positions, the
 * text OpenSpiel prints, move text and the answer parser, serialised states,
 * opponents, tasks, and every state's legal moves, children, rendering,
 * returns and perft counts against tests/ref/games_ref.py, an independent
 * Python implementation. */
#include "envs/games/games.h"
#include "helpers.h"
#include "rewards/rewards.h"
#include "train/runconfig.h"
#include "train/source.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rlc_game load(const char *text) {
    rlc_game g;
    rlc_status st = rlc_game_load(text, &g);
    cr_assert_eq(st, RLC_OK, "%s: %s", text, rlc_last_error());
    return g;
}

/* The state's rendering, malloc'd. */
static char *render(const rlc_game *g, const rlc_game_state *s) {
    rlc_strbuf b = {0};
    rlc_game_render(g, s, &b);
    cr_assert(!b.oom && b.p);
    return b.p;
}

static void expect_render(const rlc_game *g, const rlc_game_state *s, const char *want) {
    char *got = render(g, s);
    cr_assert_str_eq(got, want, "%s: rendered\n%s\nwanted\n%s", g->load, got, want);
    free(got);
}

/* Plays moves given by their text (NULL-terminated), each must be legal. */
static void play(const rlc_game *g, rlc_game_state *s, const char *const *moves) {
    for (int i = 0; moves[i]; i++) {
        int a = rlc_game_parse_move(g, s, moves[i], strlen(moves[i]));
        cr_assert_geq(a, 0, "%s: move %s is not legal", g->load, moves[i]);
        cr_assert_eq(rlc_game_apply(g, s, a), RLC_OK);
    }
}

static rlc_game_state from_text(const rlc_game *g, const char *text) {
    rlc_game_state s;
    rlc_status st = rlc_game_deserialize(g, text, &s);
    cr_assert_eq(st, RLC_OK, "%s %s: %s", g->load, text, rlc_last_error());
    return s;
}

/* The start of game into *s, checked: its rendering and the text of action. */
static rlc_game start(const char *game, rlc_game_state *s, const char *want, int action,
                      const char *text) {
    rlc_game g = load(game);
    rlc_game_init(&g, s);
    expect_render(&g, s, want);
    char t[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(&g, s, action, t);
    cr_assert_str_eq(t, text, "%s: action %d", game, action);
    return g;
}

#define MOVES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- load strings ---- */

Test(games, load_strings) {
    rlc_game g = load("hex(board_size=5)");
    cr_assert_eq(g.kind, RLC_GAME_HEX);
    cr_assert_eq(g.rows, 5);
    cr_assert_eq(g.cols, 5);
    cr_assert_str_eq(g.load, "hex(board_size=5)");
    g = load(" hex ( num_rows = 3 , num_cols=4 ) ");
    cr_assert_eq(g.rows, 3);
    cr_assert_eq(g.cols, 4);
    cr_assert_str_eq(g.load, "hex(num_rows=3,num_cols=4)");
    g = load("hex");
    cr_assert_eq(g.rows * g.cols, 121); /* OpenSpiel's default 11 */
    g = load("dots_and_boxes(num_rows=2,num_cols=3)");
    cr_assert_eq(g.num_actions, 3 * 3 + 2 * 4);
    g = load("breakthrough");
    cr_assert_eq(g.rows, 8);
    cr_assert_eq(g.num_actions, 8 * 8 * 6 * 2);
    g = load("nim");
    cr_assert_eq(g.ncells, 4);
    cr_assert_eq(g.piles[3], 7);
    cr_assert_eq(g.misere, 1);
    cr_assert_eq(g.num_actions, 4 * 7 + 1);
    g = load("nim(pile_sizes=2;5,is_misere=false)");
    cr_assert_eq(g.ncells, 2);
    cr_assert_eq(g.misere, 0);
    g = load("tic_tac_toe()");
    cr_assert_str_eq(g.load, "tic_tac_toe");

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"chess", "unknown game \"chess\" (expected tic_tac_toe, connect_four"},
        {"", "expected a game name"},
        {"hex(size=5)", "unknown parameter \"size\" for hex (expected one of board_size"},
        {"tic_tac_toe(x=1)", "unknown parameter \"x\" for tic_tac_toe (it has none"},
        {"hex(board_size=14)", "parameter board_size: expected an integer in 1..13, got \"14\""},
        {"hex(board_size=five)", "expected an integer in 1..13, got \"five\""},
        {"hex(board_size=5,board_size=6)", "parameter board_size is given twice"},
        {"hex(board_size=5", "with one closing ')' at the end"},
        {"hex(board_size=5)x", "with one closing ')' at the end"},
        {"hex(board_size)", "expected key=value between the parentheses, got \"board_size\""},
        {"hex(board_size=5,)", "expected key=value between the parentheses"},
        {"dots_and_boxes(utility_margin=yes)", "utility_margin: expected true or false"},
        {"dots_and_boxes(num_rows=0)", "num_rows: expected an integer in 1..9"},
        {"breakthrough(rows=10)", "rows: expected an integer in 2..9"},
        {"nim(pile_sizes=1;x)", "pile_sizes: expected 1..16 sizes in 1..31 joined by ';'"},
        {"nim(pile_sizes=1;40)", "pile_sizes: expected 1..16 sizes in 1..31"},
        {"nim(pile_sizes=)", "expected key=value"},
        {"hex(string_rep=explicit)", "only \"standard\" is supported"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rlc_status st = rlc_game_load(bad[i].text, &g);
        cr_assert_neq(st, RLC_OK, "%s loaded", bad[i].text);
        cr_assert(strstr(rlc_last_error(), bad[i].msg), "%s: %s", bad[i].text, rlc_last_error());
        cr_assert(strstr(rlc_last_error(), "games: "), "%s", rlc_last_error());
    }
}

/* ---- rules at known positions ---- */

Test(games, tic_tac_toe_rules) {
    rlc_game_state s;
    rlc_game g = start("tic_tac_toe", &s, "...\n...\n...", 5, "x(1,2)");
    play(&g, &s, MOVES("x(0,0)", "o(1,1)", "x(0,1)", "o(2,2)"));
    expect_render(&g, &s, "xx.\n.o.\n..o");
    cr_assert_eq(rlc_game_current_player(&s), 0);
    play(&g, &s, MOVES("x(0,2)"));
    cr_assert(rlc_game_is_terminal(&s));
    cr_assert_eq(rlc_game_return(&g, &s, 0), 1);
    cr_assert_eq(rlc_game_return(&g, &s, 1), -1);
    cr_assert_eq(rlc_game_current_player(&s), -1);
    int moves[RLC_GAME_MAX_MOVES];
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 0);
    /* o's diagonal */
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("x(0,1)", "o(0,2)", "x(0,0)", "o(1,1)", "x(2,2)", "o(2,0)"));
    cr_assert_eq(s.winner, 1);
    /* a draw: the board fills without a line */
    rlc_game_init(&g, &s);
    play(&g, &s,
         MOVES("x(0,0)", "o(1,1)", "x(2,2)", "o(0,1)", "x(2,1)", "o(2,0)", "x(0,2)", "o(1,2)",
               "x(1,0)"));
    cr_assert_eq(s.winner, RLC_GAME_DRAW);
    cr_assert_eq(rlc_game_return(&g, &s, 0), 0);
    expect_render(&g, &s, "xox\nxoo\noxx");
}

Test(games, connect_four_rules) {
    rlc_game g = load("connect_four");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("x3", "o3", "x4"));
    expect_render(&g, &s,
                  ".......\n.......\n.......\n.......\n...o...\n...xx..\n"); /* pieces drop */
    /* x: vertical four in column 0 */
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("x0", "o1", "x0", "o1", "x0", "o1"));
    cr_assert(!rlc_game_is_terminal(&s));
    play(&g, &s, MOVES("x0"));
    cr_assert_eq(s.winner, 0);
    /* o: the rising diagonal (0,1) (1,2) (2,3) (3,4) */
    s = from_text(&g, "1:xoxxoo."
                      "..oxx.."
                      "...ox.."
                      "......."
                      "......."
                      ".......");
    cr_assert(!rlc_game_is_terminal(&s));
    play(&g, &s, MOVES("o4"));
    cr_assert_eq(s.winner, 1, "%d", s.winner);
    /* a full column is not legal */
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("x2", "o2", "x2", "o2", "x2", "o2"));
    cr_assert_eq(rlc_game_is_legal(&g, &s, 2), 0);
    cr_assert_eq(rlc_game_apply(&g, &s, 2), RLC_ERR_INVALID);
    int moves[RLC_GAME_MAX_MOVES];
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 6);
}

Test(games, hex_rules_and_no_swap) {
    rlc_game g = load("hex(board_size=3)");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("b2"));
    /* no swap (pie) rule, as OpenSpiel's hex: o cannot take x's first cell */
    int moves[RLC_GAME_MAX_MOVES];
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 8);
    cr_assert_eq(rlc_game_parse_move(&g, &s, "b2", 2), -1);
    play(&g, &s, MOVES("a1"));
    expect_render(&g, &s, "o . . \n . x . \n  . . . ");
    /* x: b1 touches b2 (same column below); b2 touches a3 (below, one left) */
    play(&g, &s, MOVES("b1", "c1", "a3"));
    cr_assert_eq(s.winner, 0);
    cr_assert_eq(rlc_game_return(&g, &s, 0), 1);
    expect_render(&g, &s, "o x o \n . x . \n  x . . ");
    /* a1, b2, c3 are not neighbours: that x diagonal joins nothing */
    s = from_text(&g, "1:x.o.xo..x");
    cr_assert(!rlc_game_is_terminal(&s));
    /* o joins left and right along row 2: a2 b2 c2 */
    s = from_text(&g, "1:xx.oo.x..");
    play(&g, &s, MOVES("c2"));
    cr_assert_eq(s.winner, 1);
    /* and along a bent chain: a3 touches b2 (above, one right) */
    s = from_text(&g, "1:xx..o....");
    play(&g, &s, MOVES("a3", "c3"));
    cr_assert(!rlc_game_is_terminal(&s));
    play(&g, &s, MOVES("c1"));
    cr_assert_eq(s.winner, 1, "%d", s.winner);
}

Test(games, dots_and_boxes_rules) {
    rlc_game_state s;
    rlc_game g = start("dots_and_boxes(num_rows=1,num_cols=2)", &s,
                       "┌╴ ╶┬╴ ╶┐\n         \n└╴ ╶┴╴ ╶┘\n", 4, "P1(v,0,0)");
    /* lines of the left box by both players; the fourth closes it */
    play(&g, &s, MOVES("P1(h,0,0)", "P2(h,1,0)", "P1(v,0,0)"));
    cr_assert_eq(s.player, 1);
    play(&g, &s, MOVES("P2(v,0,1)"));
    /* P2 completed a box: owns it and moves again */
    cr_assert_eq(s.score[1], 1);
    cr_assert_eq(s.player, 1);
    expect_render(&g, &s, "┌───┬╴ ╶┐\n│ 2 │    \n└───┴╴ ╶┘\n");
    play(&g, &s, MOVES("P2(h,0,1)", "P1(h,1,1)"));
    cr_assert_eq(s.player, 1);
    /* P2 draws the last line, closes the right box too: 2-0 */
    play(&g, &s, MOVES("P2(v,0,2)"));
    cr_assert_eq(s.winner, 1);
    cr_assert_eq(s.score[1], 2);
    cr_assert_eq(rlc_game_return(&g, &s, 1), 1);
    expect_render(&g, &s, "┌───┬───┐\n│ 2 │ 2 │\n└───┴───┘\n");

    /* one line closing two boxes at once; margin returns; a 2-2 draw */
    g = load("dots_and_boxes(num_rows=2,num_cols=2,utility_margin=true)");
    cr_assert_eq(rlc_game_min_return(&g), -4);
    /* every line but the middle vertical of the top row, v(0,1) */
    s = from_text(&g, "0:111111"
                      "1.1111"
                      "..22");
    play(&g, &s, MOVES("P1(v,0,1)"));
    cr_assert_eq(s.winner, RLC_GAME_DRAW);
    cr_assert_eq(s.score[0], 2);
    cr_assert_eq(rlc_game_return(&g, &s, 0), 0);
    expect_render(&g, &s, "┌───┬───┐\n│ 1 │ 1 │\n├───┼───┤\n│ 2 │ 2 │\n└───┴───┘\n");
    s = from_text(&g, "1:111111"
                      "1.1111"
                      "..22");
    play(&g, &s, MOVES("P2(v,0,1)"));
    cr_assert_eq(rlc_game_return(&g, &s, 1), 4);
    cr_assert_eq(rlc_game_return(&g, &s, 0), -4);
}

Test(games, breakthrough_rules) {
    rlc_game g = load("breakthrough(rows=6,columns=6)");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    expect_render(&g, &s, "6bbbbbb\n5bbbbbb\n4......\n3......\n2wwwwww\n1wwwwww\n abcdef\n");
    int moves[RLC_GAME_MAX_MOVES];
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 16); /* 2 + 4*3 + 2 from the second row */
    g = load("breakthrough");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 22);
    char t[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(&g, &s, moves[0], t);
    cr_assert_str_eq(t, "a7a6");
    /* OpenSpiel's action id: ((r*cols + c)*6 + dir)*2 + capture */
    cr_assert_eq(moves[0], ((1 * 8 + 0) * 6 + 1) * 2);

    g = load("breakthrough(rows=4,columns=3)");
    /* b at b3, w at a2 and b2: b captures diagonally, never straight */
    s = from_text(&g, "0:..."
                      ".b."
                      "ww."
                      "...");
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 2);
    cr_assert_eq(rlc_game_parse_move(&g, &s, "b3b2", 4), -1);
    rlc_game_move_text(&g, &s, moves[0], t);
    cr_assert_str_eq(t, "b3a2*");
    rlc_game_move_text(&g, &s, moves[1], t);
    cr_assert_str_eq(t, "b3c2");
    cr_assert_eq(rlc_game_parse_move(&g, &s, "b3a2", 4), moves[0]); /* '*' may be left out */
    play(&g, &s, MOVES("b3a2*"));
    expect_render(&g, &s, "4...\n3...\n2bw.\n1...\n abc\n");
    cr_assert(!rlc_game_is_terminal(&s));
    /* w: b2 to a3 takes... nothing is there: a plain diagonal step */
    play(&g, &s, MOVES("b2c3"));
    /* b reaches the last row */
    play(&g, &s, MOVES("a2b1"));
    cr_assert_eq(s.winner, 0);
    /* capturing the last piece wins */
    s = from_text(&g, "1:..."
                      ".b."
                      "..w"
                      "...");
    play(&g, &s, MOVES("c2b3*"));
    cr_assert_eq(s.winner, 1);
}

Test(games, nim_rules) {
    rlc_game_state s;
    rlc_game g = start("nim", &s, "(0): 1 3 5 7", (3 - 1) * 4 + 1, "pile:2, take:3;");
    int moves[RLC_GAME_MAX_MOVES];
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 16);
    play(&g, &s, MOVES("pile:4, take:7;", "pile:3, take:5;", "pile:2, take:3;"));
    expect_render(&g, &s, "(1): 1 0 0 0");
    play(&g, &s, MOVES("pile:1, take:1;"));
    /* misere (the default): player 1 took the last object and loses */
    cr_assert_eq(s.winner, 0);
    expect_render(&g, &s, "(0): 0 0 0 0");
    g = load("nim(pile_sizes=2,is_misere=false)");
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("pile:1, take:2"));
    cr_assert_eq(s.winner, 0);
}

/* ---- perft ---- */

Test(games, perft_known_counts) {
    /* tic-tac-toe: 255168 games; perft(d) counts the games over by ply d
     * plus the positions at ply d (54720 at 6 plus the 1440 games won at 5) */
    rlc_game g = load("tic_tac_toe");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    static const uint64_t ttt[] = {9, 72, 504, 3024, 15120, 56160, 154944, 255168, 255168};
    for (int d = 1; d <= 9; d++)
        cr_assert_eq(rlc_game_perft(&g, &s, d), ttt[d - 1], "depth %d", d);
    g = load("connect_four");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_perft(&g, &s, 5), 16807);
    g = load("breakthrough");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_perft(&g, &s, 2), 22 * 22);
}

/* ---- against the Python reference ---- */

static const char *const ref_cases[] = {
    "tic_tac_toe",
    "connect_four",
    "hex(board_size=4)",
    "hex(num_rows=3,num_cols=5)",
    "dots_and_boxes(num_rows=2,num_cols=2)",
    "dots_and_boxes(num_rows=1,num_cols=3,utility_margin=true)",
    "breakthrough(rows=6,columns=6)",
    "breakthrough(rows=4,columns=3)",
    "nim",
    "nim(pile_sizes=2;4;1,is_misere=false)",
};
#define NCASES (sizeof ref_cases / sizeof ref_cases[0])

typedef struct ref_item {
    int game, depth;
    char state[RLC_GAME_STATE_CAP];
} ref_item;

static int add_item(ref_item *items, int n, int game, const rlc_game *g, const rlc_game_state *s,
                    int depth) {
    items[n].game = game;
    items[n].depth = depth;
    rlc_game_serialize(g, s, items[n].state);
    return n + 1;
}

Test(games, reference_python) {
    enum { MAXI = 2000 };
    ref_item *items = calloc(MAXI, sizeof *items);
    int n = 0;
    for (int c = 0; c < (int)NCASES; c++) {
        rlc_game g = load(ref_cases[c]);
        rlc_game_state s;
        rlc_game_init(&g, &s);
        n = add_item(items, n, c, &g, &s, g.kind == RLC_GAME_CONNECT_FOUR ? 3 : 4);
        for (int k = 0; k < 10; k++) { /* task states, perft from them */
            rlc_game_task(&g, 1000 + (uint64_t)k, 2 + k, &s);
            n = add_item(items, n, c, &g, &s, 3);
        }
        for (int game = 0; game < 3; game++) { /* every state of random games, to the end */
            rlc_game_opponent rnd = {RLC_GAME_RANDOM, 0};
            uint64_t pos = 0;
            rlc_game_init(&g, &s);
            while (!rlc_game_is_terminal(&s)) {
                cr_assert_lt(n, MAXI);
                n = add_item(items, n, c, &g, &s, 1);
                int a = rlc_game_opponent_move(&g, &s, &rnd, 77, (uint64_t)game, &pos);
                cr_assert_eq(rlc_game_apply(&g, &s, a), RLC_OK);
            }
            n = add_item(items, n, c, &g, &s, 1);
        }
    }
    char dir[256], in[300], out[300], args[700];
    th_tmpdir(dir, sizeof dir);
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    FILE *f = fopen(in, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"game\": \"%s\", \"state\": \"%s\", \"depth\": %d}\n",
                ref_cases[items[i].game], items[i].state, items[i].depth);
    fclose(f);
    snprintf(args, sizeof args, "< %s > %s", in, out);
    cr_assert_eq(th_python("games_ref.py", args), 0, "tests/ref/games_ref.py failed");
    f = fopen(out, "r");
    cr_assert_not_null(f);
    char *line = NULL;
    size_t cap = 0;
    int terminal_seen = 0, moves_seen = 0;
    for (int i = 0; i < n; i++) {
        cr_assert(getline(&line, &cap, f) > 0, "reference gave %d lines of %d", i, n);
        json_error_t err;
        json_t *ref = json_loads(line, 0, &err);
        cr_assert_not_null(ref, "line %d: %s", i, err.text);
        rlc_game g = load(ref_cases[items[i].game]);
        rlc_game_state s = from_text(&g, items[i].state);
        const char *where = items[i].state;
        cr_assert_eq(json_integer_value(json_object_get(ref, "player")), s.player, "%s", where);
        int term = json_is_true(json_object_get(ref, "terminal"));
        cr_assert_eq(rlc_game_is_terminal(&s), term, "%s %s: terminal", g.load, where);
        terminal_seen += term;
        for (int p = 0; p < 2; p++)
            cr_assert_eq(rlc_game_return(&g, &s, p),
                         json_real_value(json_array_get(json_object_get(ref, "returns"), p)),
                         "%s %s: return of %d", g.load, where, p);
        char *text = render(&g, &s);
        cr_assert_str_eq(text, json_string_value(json_object_get(ref, "render")), "%s %s", g.load,
                         where);
        free(text);
        int moves[RLC_GAME_MAX_MOVES];
        int nm = rlc_game_legal(&g, &s, moves);
        json_t *rm = json_object_get(ref, "moves");
        cr_assert_eq((size_t)nm, json_array_size(rm), "%s %s: legal moves", g.load, where);
        for (int m = 0; m < nm; m++) {
            json_t *r = json_array_get(rm, (size_t)m);
            cr_assert_eq(moves[m], json_integer_value(json_array_get(r, 0)), "%s %s: move %d",
                         g.load, where, m);
            char t[RLC_GAME_MOVE_CAP], child[RLC_GAME_STATE_CAP];
            rlc_game_move_text(&g, &s, moves[m], t);
            cr_assert_str_eq(t, json_string_value(json_array_get(r, 1)), "%s %s", g.load, where);
            cr_assert_eq(rlc_game_parse_move(&g, &s, t, strlen(t)), moves[m]);
            rlc_game_state c = s;
            cr_assert_eq(rlc_game_apply(&g, &c, moves[m]), RLC_OK);
            rlc_game_serialize(&g, &c, child);
            cr_assert_str_eq(child, json_string_value(json_array_get(r, 2)), "%s %s after %s",
                             g.load, where, t);
            moves_seen++;
        }
        json_t *perft = json_object_get(ref, "perft");
        cr_assert_eq(json_array_size(perft), (size_t)items[i].depth);
        for (int d = 1; d <= items[i].depth; d++)
            cr_assert_eq(rlc_game_perft(&g, &s, d),
                         (uint64_t)json_integer_value(json_array_get(perft, (size_t)d - 1)),
                         "%s %s: perft %d", g.load, where, d);
        json_decref(ref);
    }
    free(line);
    fclose(f);
    th_rmdir(dir);
    /* the comparison covered finished games and many moves */
    cr_assert_geq(terminal_seen, 3 * (int)NCASES);
    cr_assert_gt(moves_seen, 3000, "%d", moves_seen);
    free(items);
}

/* ---- move text and the answer parser ---- */

Test(games, answer_parser) {
    rlc_game g = load("tic_tac_toe");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    play(&g, &s, MOVES("x(0,0)", "o(1,1)"));
    static const struct {
        const char *completion;
        int action;
    } cases[] = {
        {"<answer>x(1,2)</answer>", 5},
        {"I think <answer> X( 1 , 2 )\n</answer>", 5},              /* case and spaces */
        {"<answer>(1,2)</answer>", 5},                              /* without the player */
        {"<answer>x(0,0)</answer> no: <answer>x(2,2)</answer>", 8}, /* the last one counts */
        {"<answer>o(1,2)</answer>", -1},                            /* the other player's mark */
        {"<answer>x(0,0)</answer>", -1},                            /* taken */
        {"<answer>x(1,1)</answer>", -1},                            /* taken by o */
        {"<answer>x(3,0)</answer>", -1},                            /* off the board */
        {"<answer>x(1,2) x(2,2)</answer>", -1},                     /* two moves */
        {"<answer>x(1,2)", -1},                                     /* never closed */
        {"<answer></answer>", -1},
        {"<answer>   </answer>", -1},
        {"x(1,2)", -1}, /* no answer tags */
        {"<answer>5</answer>", -1},
        {"<answer>x(1,2);</answer>", -1},
        {"<answer>x(1,2</answer>", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(rlc_game_parse_answer(&g, &s, cases[i].completion), cases[i].action, "%s",
                     cases[i].completion);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, NULL), -1);
    char big[4096];
    memset(big, 'x', sizeof big);
    memcpy(big, "<answer>", 8);
    strcpy(big + sizeof big - 10, "</answer>");
    cr_assert_eq(rlc_game_parse_answer(&g, &s, big), -1);

    g = load("connect_four");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>x3</answer>"), 3);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>3</answer>"), 3);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>column 3</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>7</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>-1</answer>"), -1);
    g = load("hex(board_size=5)");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>C2</answer>"), 1 * 5 + 2);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>f1</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>c0</answer>"), -1);
    g = load("dots_and_boxes");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>p1(V, 1, 2)</answer>"), 6 + 1 * 3 + 2);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>(h,2,1)</answer>"), 2 * 2 + 1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>P2(h,0,0)</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>(h,0,2)</answer>"), -1);
    g = load("nim");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>pile: 4, take: 7;</answer>"), 6 * 4 + 3);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>pile:4,take:7</answer>"), 6 * 4 + 3);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>pile:4, take:8;</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>pile:5, take:1;</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>pile:1, take:0;</answer>"), -1);
    g = load("breakthrough");
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>A7 A6</answer>"),
                 ((1 * 8 + 0) * 6 + 1) * 2);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>a7a5</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>a7a6*</answer>"), -1);
    cr_assert_eq(rlc_game_parse_answer(&g, &s, "<answer>a2a3</answer>"), -1); /* w's piece */
}

/* ---- serialised states ---- */

Test(games, serialise_round_trip_and_errors) {
    for (int c = 0; c < (int)NCASES; c++) {
        rlc_game g = load(ref_cases[c]);
        for (int k = 0; k < 20; k++) {
            rlc_game_state s, t;
            rlc_game_task(&g, 50 + (uint64_t)k, 30, &s);
            char a[RLC_GAME_STATE_CAP], b[RLC_GAME_STATE_CAP];
            rlc_game_serialize(&g, &s, a);
            t = from_text(&g, a);
            cr_assert_eq(memcmp(&s, &t, sizeof s), 0, "%s %s", g.load, a);
            rlc_game_serialize(&g, &t, b);
            cr_assert_str_eq(a, b);
        }
    }
    rlc_game g = load("tic_tac_toe");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    char text[RLC_GAME_STATE_CAP];
    rlc_game_serialize(&g, &s, text);
    cr_assert_str_eq(text, "0:.........");
    g = load("nim(pile_sizes=3;12)");
    rlc_game_init(&g, &s);
    rlc_game_serialize(&g, &s, text);
    cr_assert_str_eq(text, "0:3,12");

    static const struct {
        const char *game, *text, *msg;
    } bad[] = {
        {"tic_tac_toe", "", "expected the player to move (0 or 1) and ':' first"},
        {"tic_tac_toe", "2:.........", "expected the player to move"},
        {"tic_tac_toe", "0:........", "cell 8: expected one of \".xo\""},
        {"tic_tac_toe", "0:..........", "expected 9 cells, got more"},
        {"tic_tac_toe", "0:....X....", "cell 4: expected one of"},
        {"tic_tac_toe", "0:x........", "1 and 0 marks of players 0 and 1, but player 0 to move"},
        {"tic_tac_toe", "0:xxxooo...", "a winning pattern that no game reaches"}, /* both */
        {"tic_tac_toe", "1:ooo.xx.xx", "a winning pattern"}, /* o won, then x moved */
        {"connect_four",
         "0:......."
         "x......"
         "......."
         "......."
         "......."
         ".......",
         "a piece above an empty cell in column 0"},
        {"hex(board_size=2)", "1:x.x.", "2 and 0 marks"},
        {"dots_and_boxes(num_rows=1,num_cols=1)", "0:12111", "line 1: expected '.' or '1'"},
        {"dots_and_boxes(num_rows=1,num_cols=1)", "0:111.1", "box (0,0) is owned iff"},
        {"dots_and_boxes(num_rows=1,num_cols=1)", "0:1111.", "box (0,0) is owned iff"},
        {"breakthrough(rows=4,columns=2)", "0:bbb....w", "3 b and 1 w pieces, more than the 2"},
        {"breakthrough(rows=4,columns=2)", "0:w.....b.", "both players have won"},
        {"nim", "0:1,3,5", "expected 4 numbers"},
        {"nim", "0:1,3,5,8", "pile 4 has 8, more than its start 7"},
        {"nim", "0:1,3,5,7,1", "expected 4 cells, got more"},
        {"nim", "0:1,3,,7", "cell 2: expected a number"},
        {"nim", "0:1,3,5,1000", "expected 4 cells, got more"},
        {"nim", "0:1,3,5,07", "cell 3: expected a number"}, /* fuzz: one text per state */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = load(bad[i].game);
        rlc_status st = rlc_game_deserialize(&g, bad[i].text, &s);
        cr_assert_eq(st, RLC_ERR_FORMAT, "%s %s was read", bad[i].game, bad[i].text);
        cr_assert(strstr(rlc_last_error(), bad[i].msg), "%s: %s", bad[i].text, rlc_last_error());
    }
}

/* ---- opponents ---- */

Test(games, opponents_parse) {
    rlc_game_opponent o;
    char name[32];
    cr_assert_eq(rlc_game_opponent_parse("minimax(3)", &o), RLC_OK);
    cr_assert_eq(o.policy, RLC_GAME_MINIMAX);
    cr_assert_eq(o.depth, 3);
    rlc_game_opponent_name(&o, name);
    cr_assert_str_eq(name, "minimax(3)");
    cr_assert_eq(rlc_game_opponent_parse("greedy", &o), RLC_OK);
    cr_assert_eq(o.policy, RLC_GAME_GREEDY);
    const char *bad[] = {"minimax", "minimax(0)", "minimax(10)", "minimax(2)x", "Random", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rlc_game_opponent_parse(bad[i], &o), RLC_ERR_INVALID, "%s", bad[i]);
        cr_assert(strstr(rlc_last_error(), "expected random, greedy or minimax(D) with D in 1..9"));
    }
}

Test(games, random_and_greedy) {
    rlc_game g = load("tic_tac_toe");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    rlc_game_opponent rnd = {RLC_GAME_RANDOM, 0}, greedy = {RLC_GAME_GREEDY, 0};
    /* random: every move about equally often, the same for the same draws */
    int count[9] = {0};
    uint64_t pos = 0;
    for (int i = 0; i < 9000; i++)
        count[rlc_game_opponent_move(&g, &s, &rnd, 5, 1, &pos)]++;
    cr_assert_eq(pos, 9000);
    for (int a = 0; a < 9; a++)
        cr_assert(count[a] > 850 && count[a] < 1150, "move %d: %d of 9000", a, count[a]);
    uint64_t p1 = 17, p2 = 17;
    cr_assert_eq(rlc_game_opponent_move(&g, &s, &rnd, 5, 1, &p1),
                 rlc_game_opponent_move(&g, &s, &rnd, 5, 1, &p2));
    /* greedy: wins at once when it can (x(0,2)), though o also threatens */
    s = from_text(&g, "0:xx.oo....");
    for (uint64_t seed = 0; seed < 20; seed++) {
        pos = 0;
        cr_assert_eq(rlc_game_opponent_move(&g, &s, &greedy, seed, 0, &pos), 2);
    }
    /* greedy: blocks the only threat (o must take (1,2)... x threatens (0,2)) */
    s = from_text(&g, "1:xx..o....");
    for (uint64_t seed = 0; seed < 20; seed++) {
        pos = 0;
        cr_assert_eq(rlc_game_opponent_move(&g, &s, &greedy, seed, 0, &pos), 2);
    }
    /* with no threat and no win it is random over every move */
    rlc_game_init(&g, &s);
    int seen[9] = {0}, distinct = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        pos = 0;
        seen[rlc_game_opponent_move(&g, &s, &greedy, seed, 0, &pos)] = 1;
    }
    for (int a = 0; a < 9; a++)
        distinct += seen[a];
    cr_assert_eq(distinct, 9);
    /* connect four: greedy against random, 200 games, wins most */
    g = load("connect_four");
    int wins = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        rlc_game_init(&g, &s);
        pos = 0;
        while (!rlc_game_is_terminal(&s)) {
            const rlc_game_opponent *o = s.player == 0 ? &greedy : &rnd;
            rlc_game_apply(&g, &s, rlc_game_opponent_move(&g, &s, o, seed, 9, &pos));
        }
        wins += s.winner == 0;
    }
    cr_assert_gt(wins, 180, "greedy won %d of 200 against random", wins);
}

/* Python's minimax values of every move (tests/ref/games_ref.py "solve"):
 * C's move must be the lowest action with the highest value, and C's value
 * the highest. */
static void check_minimax(const char *game, const char *state, int depth) {
    char dir[256], in[300], out[300], args[700];
    th_tmpdir(dir, sizeof dir);
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    char line[1024];
    snprintf(line, sizeof line, "{\"game\": \"%s\", \"state\": \"%s\", \"solve\": %d}\n", game,
             state, depth);
    th_write_text(in, line);
    snprintf(args, sizeof args, "< %s > %s", in, out);
    cr_assert_eq(th_python("games_ref.py", args), 0);
    char *text = th_slurp(out);
    json_error_t err;
    json_t *ref = json_loads(text, 0, &err);
    cr_assert_not_null(ref, "%s", err.text);
    json_t *values = json_object_get(ref, "values");
    int best = -1;
    double bestv = -1e9;
    for (size_t i = 0; i < json_array_size(values); i++) {
        json_t *v = json_array_get(values, i);
        double x = json_real_value(json_array_get(v, 1));
        if (x > bestv + 1e-12) bestv = x, best = (int)json_integer_value(json_array_get(v, 0));
    }
    rlc_game g = load(game);
    rlc_game_state s = from_text(&g, state);
    rlc_game_opponent mm = {RLC_GAME_MINIMAX, depth};
    uint64_t pos = 0;
    cr_assert_eq(rlc_game_opponent_move(&g, &s, &mm, 0, 0, &pos), best, "%s %s depth %d", game,
                 state, depth);
    cr_assert_eq(pos, 0); /* no random draws */
    double v = rlc_game_minimax_value(&g, &s, depth);
    cr_assert(v > bestv - 1e-9 && v < bestv + 1e-9, "%s %s: value %g, reference %g", game, state, v,
              bestv);
    json_decref(ref);
    free(text);
    th_rmdir(dir);
}

Test(games, minimax_forced_wins) {
    rlc_game g = load("tic_tac_toe");
    rlc_game_state s;
    /* x to move after x(0,0), o(0,1): a forced win in 5 plies */
    s = from_text(&g, "0:xo.......");
    cr_assert_eq(rlc_game_minimax_value(&g, &s, 5), 1); /* a win at the horizon: 1 + 0.01*0 */
    cr_assert_gt(rlc_game_minimax_value(&g, &s, 7), 1); /* found with plies to spare */
    cr_assert_eq(rlc_game_minimax_value(&g, &s, 3), 0); /* not yet within 3 plies */
    check_minimax("tic_tac_toe", "0:xo.......", 5);
    /* the empty board is a draw with perfect play */
    rlc_game_init(&g, &s);
    cr_assert_eq(rlc_game_minimax_value(&g, &s, 9), 0);
    /* a win at once beats a block; a block when there is no win */
    rlc_game_opponent mm1 = {RLC_GAME_MINIMAX, 1}, mm2 = {RLC_GAME_MINIMAX, 2};
    uint64_t pos = 0;
    s = from_text(&g, "0:xx.oo....");
    cr_assert_eq(rlc_game_opponent_move(&g, &s, &mm1, 0, 0, &pos), 2);
    s = from_text(&g, "1:xx..o....");
    cr_assert_eq(rlc_game_opponent_move(&g, &s, &mm2, 0, 0, &pos), 2);

    /* nim: from piles 1, 2, 4 the only winning move makes the xor 0:
     * take 1 from the third pile (misere play agrees while a pile is > 1) */
    g = load("nim(pile_sizes=1;2;4)");
    rlc_game_init(&g, &s);
    rlc_game_opponent full = {RLC_GAME_MINIMAX, 7};
    int a = rlc_game_opponent_move(&g, &s, &full, 0, 0, &pos);
    char t[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(&g, &s, a, t);
    cr_assert_str_eq(t, "pile:3, take:1;");
    cr_assert_gt(rlc_game_minimax_value(&g, &s, 7), 0);
    g = load("nim(pile_sizes=1;2;3)"); /* xor 0: the mover loses */
    rlc_game_init(&g, &s);
    cr_assert_lt(rlc_game_minimax_value(&g, &s, 6), 0);

    /* against the reference at task states of other games */
    check_minimax("connect_four",
                  "1:xoxo..."
                  "ox....."
                  "x......"
                  "......."
                  "......."
                  ".......",
                  4);
    check_minimax("dots_and_boxes(num_rows=2,num_cols=2)",
                  "0:1.1..1"
                  "1.1.1."
                  "....",
                  4);
    check_minimax("breakthrough(rows=4,columns=3)",
                  "0:b.b"
                  ".b."
                  "w.w"
                  ".w.",
                  4);
    check_minimax("hex(board_size=3)", "0:x.o.o..x.", 4);
}

/* ---- tasks and prompts ---- */

Test(games, tasks_and_prompt) {
    for (int c = 0; c < (int)NCASES; c++) {
        rlc_game g = load(ref_cases[c]);
        int steps_seen[6] = {0};
        for (uint64_t k = 0; k < 100; k++) {
            rlc_game_state s, t;
            rlc_game_task(&g, 1234 + k, 5, &s);
            rlc_game_task(&g, 1234 + k, 5, &t);
            cr_assert_eq(memcmp(&s, &t, sizeof s), 0, "task %d of %s differs", (int)k, g.load);
            cr_assert(!rlc_game_is_terminal(&s), "%s task %d is over", g.load, (int)k);
            if (g.kind == RLC_GAME_TIC_TAC_TOE) {
                int marks = 0;
                for (int i = 0; i < 9; i++)
                    marks += s.cell[i] != 0;
                steps_seen[marks]++;
            }
        }
        if (g.kind == RLC_GAME_TIC_TAC_TOE) /* 0..5 random moves, each often */
            for (int n = 0; n <= 5; n++)
                cr_assert_gt(steps_seen[n], 5, "%d steps: %d of 100", n, steps_seen[n]);
    }
    /* a long walk stops before the end: tic-tac-toe never shows a finished board */
    rlc_game g = load("tic_tac_toe");
    for (uint64_t k = 0; k < 200; k++) {
        rlc_game_state s;
        rlc_game_task(&g, k, 100, &s);
        cr_assert(!rlc_game_is_terminal(&s));
    }
    rlc_game_state s = from_text(&g, "1:x...o...x");
    rlc_strbuf b = {0};
    rlc_game_prompt(&g, &s, &b);
    cr_assert_str_eq(b.p, "Game: tic_tac_toe. Three in a row (across, down or diagonal) wins.\n"
                          "You are o (player 1). The board:\n"
                          "x..\n.o.\n..x\n"
                          "Legal moves: o(0,1), o(0,2), o(1,0), o(1,2), o(2,0), o(2,1)\n"
                          "Reply with your move as <answer>MOVE</answer>.\n");
    rlc_sb_free(&b);
    g = load("nim(pile_sizes=1;2,is_misere=false)");
    rlc_game_init(&g, &s);
    rlc_game_prompt(&g, &s, &b);
    cr_assert_str_eq(b.p, "Game: nim(pile_sizes=1;2,is_misere=false). Take one or more objects "
                          "from one pile per move. The player who takes the last object wins.\n"
                          "You are player 0 (player 0). The board:\n"
                          "(0): 1 2\n"
                          "Legal moves: pile:1, take:1;, pile:2, take:1;, pile:2, take:2;\n"
                          "Reply with your move as <answer>MOVE</answer>.\n");
    rlc_sb_free(&b);
}

/* ---- the wiring: references, the reward "game", the source, rlc train ---- */

static char *ref_text(const char *game, const char *state, int outcome, const char *opp,
                      int playouts, uint64_t seed) {
    rlc_game_ref r;
    memset(&r, 0, sizeof r);
    r.game = load(game);
    r.state = from_text(&r.game, state);
    r.outcome = outcome;
    cr_assert_eq(rlc_game_opponent_parse(opp, &r.opponent), RLC_OK);
    r.playouts = playouts;
    r.seed = seed;
    rlc_strbuf b = {0};
    rlc_game_ref_format(&r, &b);
    return b.p;
}

Test(games, reward_legal_and_outcome) {
    char *legal = ref_text("tic_tac_toe", "0:xx.oo....", 0, "random", 1, 9);
    cr_assert_str_eq(legal, "rlc-game|legal|random|1|9|tic_tac_toe|0:xx.oo....");
    cr_assert_eq(rlc_game_reward("<answer>x(2,2)</answer>", legal), 1);
    cr_assert_eq(rlc_game_reward("<answer>x(0,0)</answer>", legal), 0);
    cr_assert_eq(rlc_game_reward("x(2,2)", legal), 0);
    cr_assert_eq(rlc_reward_correct("<answer>x(2,2)</answer>", legal), 1); /* correct = legal */
    cr_assert_eq(rlc_reward_correct("<answer>x(1,1)</answer>", legal), 0);
    const rlc_reward_def *d;
    cr_assert_eq(rlc_reward_lookup("game", &d), RLC_OK);
    cr_assert_eq(d->fn("<answer>x(2,2)</answer>", legal), 1);
    cr_assert_eq(d->fn("<answer>x(2,2)</answer>", "46"), 0); /* not a game's reference */
    cr_assert_eq(d->fn(NULL, NULL), 0);

    /* outcome against greedy: x(0,2) wins at once; after x(2,2) greedy o wins at (1,2) */
    char *out = ref_text("tic_tac_toe", "0:xx.oo....", 1, "greedy", 3, 9);
    cr_assert_eq(rlc_game_reward("<answer>x(0,2)</answer>", out), 1);
    cr_assert_eq(rlc_game_reward("<answer>x(2,2)</answer>", out), -1);
    cr_assert_eq(rlc_game_reward("<answer>x(0,0)</answer>", out), -1); /* illegal: the minimum */
    /* against random: the mean of the playouts, the same for the same move */
    char *rnd = ref_text("connect_four",
                         "0:" /* empty board */
                         "......."
                         "......."
                         "......."
                         "......."
                         "......."
                         ".......",
                         1, "random", 8, 3);
    rlc_game g = load("connect_four");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    rlc_game_opponent ro = {RLC_GAME_RANDOM, 0};
    float v = rlc_game_reward("<answer>x3</answer>", rnd);
    cr_assert_eq(v, (float)rlc_game_move_value(&g, &s, 3, &ro, 3, 8));
    cr_assert_eq(v, rlc_game_reward("<answer> 3 </answer>", rnd));
    cr_assert(v >= -1 && v <= 1);
    /* the mean return over 8 random playouts, each +1, 0 or -1: a multiple of 1/8 */
    cr_assert_eq(v * 8, (float)(int)(v * 8));
    /* dots_and_boxes with utility_margin: illegal gets -boxes */
    char *dab = ref_text("dots_and_boxes(num_rows=1,num_cols=2,utility_margin=true)", "0:.........",
                         1, "minimax(2)", 1, 0);
    cr_assert_eq(rlc_game_reward("<answer>nonsense</answer>", dab), -2);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"rlc-game|legal|random|1|9|tic_tac_toe", "expected MODE|OPPONENT|PLAYOUTS|SEED|LOAD"},
        {"rlc-game|win|random|1|9|tic_tac_toe|0:.........", "mode \"win\": expected legal"},
        {"rlc-game|legal|best|1|9|tic_tac_toe|0:.........", "opponent \"best\""},
        {"rlc-game|legal|random|0|9|tic_tac_toe|0:.........", "playouts \"0\": expected 1..1000"},
        {"rlc-game|legal|random|1|x|tic_tac_toe|0:.........", "seed \"x\""},
        {"rlc-game|legal|random|1|9|chess|0:.........", "unknown game \"chess\""},
        {"rlc-game|legal|random|1|9|tic_tac_toe|0:x........", "but player 0 to move"},
        {"game|legal", "expected \"rlc-game|...\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rlc_game_ref r;
        cr_assert_neq(rlc_game_ref_parse(bad[i].text, &r), RLC_OK, "%s", bad[i].text);
        cr_assert(strstr(rlc_last_error(), bad[i].msg), "%s: %s", bad[i].text, rlc_last_error());
        cr_assert_eq(rlc_game_reward("<answer>x(0,0)</answer>", bad[i].text), 0);
    }
    /* rlc eval's results: x(0,2) wins against every opponent; after x(2,2) o wins
     * against greedy and minimax (both take the row), an illegal move loses */
    for (int o = 0; o < RLC_GAME_EVAL_OPPONENTS; o++) {
        rlc_game_opponent opp = rlc_game_eval_opponent(o);
        cr_assert_eq(rlc_game_eval_result("<answer>x(0,2)</answer>", legal, &opp), 1);
        cr_assert_eq(rlc_game_eval_result("<answer>x(0,0)</answer>", legal, &opp), -1);
        if (o) cr_assert_eq(rlc_game_eval_result("<answer>x(2,2)</answer>", legal, &opp), -1);
        cr_assert_eq(rlc_game_eval_result("<answer>46</answer>", "46", &opp), -2);
    }
    free(legal), free(out), free(rnd), free(dab);
}

#define GAMES_YAML(extra)                                                                          \
    "model: {path: \"\", from_scratch: true, layers: 1, hidden: 16, heads: 2, kv_heads: 2,\n"      \
    "        intermediate: 32, max_seq: 640, seed: 1}\n"                                           \
    "tokenizer: {kind: byte, chat: none}\n"                                                        \
    "data: {source: games, max_prompt_tokens: 600, eval_size: 4, seed: 7}\n"                       \
    "rewards: {weights: {game: 1}}\n"                                                              \
    "training: {steps: 2, batch_size: 3, eval_every: 2}\n"                                         \
    "algorithm: {group_size: 2, max_new_tokens: 8, temperature: 1.0}\n"                            \
    "optimizer: {warmup_steps: 0, lr: 1.0e-2}\n"                                                   \
    "checkpoint: {save_every: 0}\n" extra

/* Loads yaml, applies the override `set` (may be NULL) and validates; on
 * failure nothing is left to free. */
static rlc_status load_config(const char *dir, const char *yaml, const char *set,
                              rlc_run_config *c) {
    char path[512];
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    th_write_text(path, yaml);
    rlc_status st = rlc_run_config_load(path, c);
    if (st != RLC_OK) return st;
    if (set) st = rlc_run_config_set(c, set);
    if (st == RLC_OK) st = rlc_run_config_validate(c);
    if (st != RLC_OK) rlc_run_config_free(c); /* c is the caller's only when loaded */
    return st;
}

Test(games, source_items) {
    char dir[256];
    th_tmpdir(dir, sizeof dir);
    rlc_run_config c;
    cr_assert_eq(load_config(dir,
                             GAMES_YAML("games: {cases: [tic_tac_toe, \"nim(pile_sizes=2;3)\"], "
                                        "game_list: [hex, connect_four], game_configs: "
                                        "[\"hex(board_size=3)\", \"hex(board_size=4)\"], "
                                        "game_types: [tic_tac_toe, hex, connect_four], "
                                        "num_tasks_per_case: 6, max_random_steps: 3, reward_mode: "
                                        "outcome, opponent: \"minimax(2)\", playouts: 2}\n"),
                             NULL, &c),
                 RLC_OK, "%s", rlc_last_error());
    rlc_source src;
    cr_assert_eq(rlc_source_from_config(&c, &src), RLC_OK, "%s", rlc_last_error());
    /* cases, then game_list with its configs, then the filter (nim dropped) */
    cr_assert_eq(src.n_games, 4);
    cr_assert_str_eq(src.games[0].load, "tic_tac_toe");
    cr_assert_str_eq(src.games[1].load, "hex(board_size=3)");
    cr_assert_str_eq(src.games[2].load, "hex(board_size=4)");
    cr_assert_str_eq(src.games[3].load, "connect_four");
    cr_assert_eq(src.n_train, 24);
    int seen[4][6] = {{0}};
    for (uint64_t i = 0; i < 24; i++) {
        rlc_source_ex ex;
        cr_assert_eq(rlc_source_get(&src, 0, i, &ex), RLC_OK, "%s", rlc_last_error());
        rlc_game_ref r;
        cr_assert_eq(rlc_game_ref_parse(ex.reference, &r), RLC_OK, "%s", rlc_last_error());
        int cs = 0;
        while (strcmp(src.games[cs].load, r.game.load))
            cs++;
        int task = (int)(r.seed - 7);
        cr_assert(task >= 0 && task < 6, "%d", task);
        seen[cs][task]++;
        cr_assert_eq(r.outcome, 1);
        cr_assert_eq(r.opponent.policy, RLC_GAME_MINIMAX);
        cr_assert_eq(r.opponent.depth, 2);
        cr_assert_eq(r.playouts, 2);
        /* the task state and the prompt, made again from the task's seed */
        rlc_game_state s;
        rlc_game_task(&src.games[cs], r.seed, 3, &s);
        cr_assert_eq(memcmp(&s, &r.state, sizeof s), 0);
        rlc_strbuf b = {0};
        rlc_game_prompt(&src.games[cs], &s, &b);
        cr_assert_eq(ex.n_msgs, 1);
        cr_assert_str_eq(ex.msgs[0].content, b.p);
        rlc_sb_free(&b);
        /* the SFT target answers a legal move */
        cr_assert_eq(rlc_game_answer_legal(ex.target, ex.reference), 1, "%s", ex.target);
        rlc_source_ex_free(&ex);
    }
    for (int cs = 0; cs < 4; cs++) /* an epoch is every task of every case once */
        for (int t = 0; t < 6; t++)
            cr_assert_eq(seen[cs][t], 1, "case %d task %d: %d", cs, t, seen[cs][t]);
    /* evaluation items are the tasks after the training ones */
    rlc_source_ex ex;
    cr_assert_eq(rlc_source_get(&src, 1, 5, &ex), RLC_OK);
    rlc_game_ref r;
    cr_assert_eq(rlc_game_ref_parse(ex.reference, &r), RLC_OK);
    cr_assert_str_eq(r.game.load, "hex(board_size=3)"); /* item 5: case 1 */
    cr_assert_eq(r.seed, 7 + 6 + 1);                    /* task 6 + 5 / 4 */
    rlc_source_ex_free(&ex);
    cr_assert_eq(rlc_source_eval_count(&src, 4), 4);
    /* held out: no evaluation position is a training position of its case */
    for (uint64_t j = 0; j < 40; j++) {
        cr_assert_eq(rlc_source_get(&src, 1, j, &ex), RLC_OK, "%s", rlc_last_error());
        cr_assert_eq(rlc_game_ref_parse(ex.reference, &r), RLC_OK);
        cr_assert_str_eq(r.game.load, src.games[j % 4].load);
        for (uint64_t t = 0; t < 6; t++) {
            rlc_game_state s;
            rlc_game_task(&src.games[j % 4], 7 + t, 3, &s);
            cr_assert_neq(memcmp(&s, &r.state, sizeof s), 0, "eval %d is training task %d", (int)j,
                          (int)t);
        }
        rlc_source_ex_free(&ex);
    }
    /* the tasks are finite: training.steps 0 is epochs x tasks / batch */
    c.training.steps = 0;
    c.training.epochs = 2;
    cr_assert_eq(rlc_run_config_validate(&c), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_source_prepare(&src, NULL, &c), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(c.training.steps, 16); /* ceil(2 * 24 / 3) */
    rlc_source_free(&src);
    rlc_run_config_free(&c);

    /* a case whose training tasks cover every position the walk reaches */
    cr_assert_eq(load_config(dir,
                             GAMES_YAML("games: {cases: [\"nim(pile_sizes=1;2)\"], "
                                        "num_tasks_per_case: 50, max_random_steps: 1}\n"),
                             NULL, &c),
                 RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(rlc_source_from_config(&c, &src), RLC_ERR_INVALID);
    cr_assert(strstr(rlc_last_error(), "games: nim(pile_sizes=1;2) has no held-out position for "
                                       "evaluation: its 50 training tasks cover the positions 1 "
                                       "random moves reach"),
              "%s", rlc_last_error());
    rlc_run_config_free(&c);

    static const struct {
        const char *games, *set, *msg;
    } bad[] = {
        {"games: {}\n", NULL, "games: no cases: set games.cases (load strings) or games.game_list"},
        {"games: {cases: [\"hex(size=3)\"]}\n", NULL,
         "config: games.cases[0]: games: \"hex(size=3)\": unknown parameter \"size\""},
        {"games: {cases: [tic_tac_toe, chess]}\n", NULL,
         "games.cases[1]: games: \"chess\": unknown game"},
        {"games: {game_list: [nim], game_configs: [\"hex(board_size=3)\"]}\n", NULL,
         "games.game_configs[0]: \"hex(board_size=3)\" is a hex, which games.game_list does not "
         "name"},
        {"games: {cases: [nim], game_types: [hex]}\n", NULL,
         "games.game_types keeps none of the 1"},
        {"games: {cases: [nim], opponent: \"minimax(12)\"}\n", NULL,
         "games.opponent: games: opponent \"minimax(12)\": expected random, greedy or minimax(D)"},
        {"games: {cases: [nim], reward_mode: win}\n", NULL, "reward_mode"},
        {"games: {cases: [nim], playouts: 0}\n", NULL, "playouts"},
        {"games: {cases: [nim]}\n", "data.eval_size=0",
         "training.eval_every=2 needs data.eval_size > 0 (data.source=games generates"},
        {"games: {cases: [nim]}\n", "rewards.weights={number_check: 1}",
         "data.source=games is scored by the reward \"game\": set rewards.weights: {game: 1}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[4096];
        snprintf(yaml, sizeof yaml, "%s%s", GAMES_YAML(""), bad[i].games);
        rlc_run_config e;
        cr_assert_neq(load_config(dir, yaml, bad[i].set, &e), RLC_OK, "%s", bad[i].games);
        cr_assert(strstr(rlc_last_error(), bad[i].msg), "%s: %s", bad[i].games, rlc_last_error());
    }
    th_rmdir(dir);
}

/* rlc train on games, legal and outcome rewards: runs, logs the reward game
 * and evaluates (accuracy = legal-move rate). */
Test(games, train_legal_and_outcome) {
    char dir[256];
    th_tmpdir(dir, sizeof dir);
    const char *modes[] = {"legal", "outcome"};
    for (int m = 0; m < 2; m++) {
        char yaml[4096], path[512], args[1024];
        snprintf(yaml, sizeof yaml,
                 GAMES_YAML("games: {cases: [tic_tac_toe, connect_four, \"hex(board_size=3)\", "
                            "\"dots_and_boxes(num_rows=1,num_cols=2)\", "
                            "\"breakthrough(rows=4,columns=3)\", nim], num_tasks_per_case: 4, "
                            "reward_mode: %s, opponent: greedy, playouts: 2}\n"
                            "logging: {run_dir: %s, run_name: %s, tensorboard: false}\n"),
                 modes[m], dir, modes[m]);
        snprintf(path, sizeof path, "%s/%s.yaml", dir, modes[m]);
        th_write_text(path, yaml);
        snprintf(args, sizeof args, "train %s", path);
        int rc = th_rlc_run(dir, th_rlc_bin_abs(), args);
        cr_assert_eq(rc, 0, "rlc train (%s) exited %d", modes[m], rc);
        snprintf(path, sizeof path, "%s/%s/metrics.jsonl", dir, modes[m]);
        char *metrics = th_slurp(path);
        cr_assert_not_null(metrics, "%s", path);
        cr_assert_eq(th_count_lines(path), 2);
        cr_assert(strstr(metrics, "\"rewards/game/mean\""), "%s", metrics);
        cr_assert(strstr(metrics, "\"eval/accuracy\""), "%s", metrics);
        /* a fresh model never answers a move: legal 0, outcome the minimum (-1) */
        cr_assert(strstr(metrics, m ? "\"mean_reward\":-1," : "\"mean_reward\":0,"), "%s", metrics);
        free(metrics);
        /* rlc eval: the legal-move rate and win/draw/loss per opponent */
        snprintf(args, sizeof args, "eval --run %s/%s --n 6", dir, modes[m]);
        cr_assert_eq(th_rlc_run(dir, th_rlc_bin_abs(), args), 0);
        snprintf(path, sizeof path, "%s/out.txt", dir);
        char *out = th_slurp(path);
        json_error_t err;
        json_t *js = json_loads(out, 0, &err);
        cr_assert_not_null(js, "%s: %s", err.text, out);
        json_t *g = json_object_get(js, "games");
        cr_assert_not_null(g, "%s", out);
        cr_assert_eq(json_real_value(json_object_get(g, "legal")), 0);
        const char *opps[] = {"random", "greedy", "minimax(2)"};
        for (int o = 0; o < 3; o++) {
            json_t *r = json_object_get(g, opps[o]);
            cr_assert_not_null(r, "%s: %s", opps[o], out);
            cr_assert_eq(json_real_value(json_object_get(r, "loss")), 1, "%s", out);
            cr_assert_eq(json_real_value(json_object_get(r, "win")), 0, "%s", out);
        }
        /* full games: 6 positions against each opponent, each lost at the
         * model's first (unanswered) move */
        json_t *f = json_object_get(js, "full_games");
        cr_assert_not_null(f, "%s", out);
        for (int o = 0; o < 3; o++) {
            json_t *r = json_object_get(f, opps[o]);
            cr_assert_not_null(r, "%s: %s", opps[o], out);
            long games = (long)json_integer_value(json_object_get(r, "games"));
            long w = (long)json_integer_value(json_object_get(r, "wins"));
            long d = (long)json_integer_value(json_object_get(r, "draws"));
            long l = (long)json_integer_value(json_object_get(r, "losses"));
            cr_assert_eq(games, 6, "%s", out);
            cr_assert_eq(w + d + l, games, "%s", out);
            cr_assert_eq(l, 6, "%s", out);
            cr_assert_eq(json_integer_value(json_object_get(r, "illegal")), 6, "%s", out);
            cr_assert_eq(json_integer_value(json_object_get(r, "model_moves")), 6, "%s", out);
            cr_assert_eq(json_real_value(json_object_get(r, "mean_model_moves")), 1, "%s", out);
            cr_assert_eq(json_real_value(json_object_get(r, "legal")), 0, "%s", out);
        }
        json_decref(js);
        free(out);
    }
    /* --opponents: the list asked for, in its order; a bad entry is refused */
    char args[1024];
    snprintf(args, sizeof args, "eval --run %s/legal --n 4 --opponents 'minimax(3),random'", dir);
    cr_assert_eq(th_rlc_run(dir, th_rlc_bin_abs(), args), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    char *out = th_slurp(path);
    json_t *js = json_loads(out, 0, NULL);
    json_t *f = json_object_get(js, "full_games");
    cr_assert_eq(json_object_size(f), 3, "two opponents and seconds: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(f, "minimax(3)"), "games")), 4);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(f, "random"), "games")), 4);
    json_decref(js);
    free(out);
    snprintf(args, sizeof args, "eval --run %s/legal --n 4 --opponents 'random,,greedy'", dir);
    cr_assert_neq(th_rlc_run(dir, th_rlc_bin_abs(), args), 0);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    out = th_slurp(path);
    cr_assert(strstr(out, "--opponents \"random,,greedy\": entry 2"), "%s", out);
    free(out);
    th_rmdir(dir);
}

/* ---- full games with the model in the loop (rlc_game_play_matches) ---- */

/* Movers: the lowest legal action; always illegal (an unparsable answer, then
 * an occupied or unknown action in turn); minimax(9) (perfect on tic-tac-toe);
 * a legal action picked by a hash of the position. */
static rlc_status mover_first(void *ctx, int n, rlc_game_match *const *m, int *a) {
    (void)ctx;
    int legal[RLC_GAME_MAX_MOVES];
    for (int i = 0; i < n; i++) {
        cr_assert_gt(rlc_game_legal(&m[i]->game, &m[i]->state, legal), 0);
        cr_assert_eq(m[i]->state.player, m[i]->side, "the mover is asked only on its turns");
        a[i] = legal[0];
    }
    return RLC_OK;
}

static rlc_status mover_illegal(void *ctx, int n, rlc_game_match *const *m, int *a) {
    int *calls = ctx;
    for (int i = 0; i < n; i++) {
        int occupied = -1;
        for (int c = 0; c < m[i]->game.ncells && occupied < 0; c++)
            if (!rlc_game_is_legal(&m[i]->game, &m[i]->state, c)) occupied = c;
        a[i] = i % 3 == 0 ? -1 : i % 3 == 1 && occupied >= 0 ? occupied : 999;
    }
    (*calls)++;
    return RLC_OK;
}

static rlc_status mover_minimax(void *ctx, int n, rlc_game_match *const *m, int *a) {
    (void)ctx;
    rlc_game_opponent mm = {RLC_GAME_MINIMAX, 9};
    for (int i = 0; i < n; i++) {
        uint64_t pos = 0;
        a[i] = rlc_game_opponent_move(&m[i]->game, &m[i]->state, &mm, 0, 0, &pos);
    }
    return RLC_OK;
}

static int hashed_move(const rlc_game *g, const rlc_game_state *s) {
    char text[RLC_GAME_STATE_CAP];
    int legal[RLC_GAME_MAX_MOVES];
    rlc_game_serialize(g, s, text);
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    int n = rlc_game_legal(g, s, legal);
    return legal[h % (uint64_t)n];
}

static rlc_status mover_hashed(void *ctx, int n, rlc_game_match *const *m, int *a) {
    int *calls = ctx;
    for (int i = 0; i < n; i++)
        a[i] = hashed_move(&m[i]->game, &m[i]->state);
    (*calls)++;
    return RLC_OK;
}

/* The task reference text of seed k (max_random_steps steps at most). */
static void task_ref(const rlc_game *g, uint64_t seed, int steps, rlc_strbuf *b) {
    rlc_game_ref r;
    memset(&r, 0, sizeof r);
    r.game = *g;
    r.seed = seed;
    r.playouts = 1;
    rlc_game_task(g, seed, steps, &r.state);
    rlc_game_ref_format(&r, b);
    cr_assert(!b->oom && b->p);
}

/* Matches against o from the tasks of seeds seed0 .. seed0 + n - 1. */
static void task_matches(const rlc_game *g, uint64_t seed0, int steps, const rlc_game_opponent *o,
                         rlc_game_match *m, int n) {
    for (int k = 0; k < n; k++) {
        rlc_strbuf b = {0};
        task_ref(g, seed0 + (uint64_t)k, steps, &b);
        cr_assert_eq(rlc_game_match_init(&m[k], b.p, o), RLC_OK, "%s", rlc_last_error());
        free(b.p);
    }
}

/* One game played move by move (the test's own loop): the model's moves from
 * the hashed mover, the opponent's drawn as games.h says (seed, the match
 * stream, one position counter a game); the model's result, its move count. */
static int sequential_game(const rlc_game *g, rlc_game_state s, const rlc_game_opponent *o,
                           uint64_t seed, int *moves) {
    int me = s.player;
    uint64_t pos = 0;
    *moves = 0;
    while (!rlc_game_is_terminal(&s)) {
        int a;
        if (s.player == me) {
            a = hashed_move(g, &s);
            (*moves)++;
        } else {
            a = rlc_game_opponent_move(g, &s, o, seed, RLC_GAME_MATCH_STREAM, &pos);
        }
        cr_assert_eq(rlc_game_apply(g, &s, a), RLC_OK);
    }
    double v = rlc_game_return(g, &s, me);
    return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/* Batched play (one mover call per ply over every unfinished game) gives each
 * game exactly the result of playing it alone, on every game and opponent. */
Test(games, full_games_batched_as_sequential) {
    const char *games[] = {"tic_tac_toe",
                           "connect_four",
                           "hex(board_size=3)",
                           "dots_and_boxes(num_rows=1,num_cols=2)",
                           "breakthrough(rows=4,columns=3)",
                           "nim"};
    enum { N = 8 };
    for (int gi = 0; gi < 6; gi++) {
        rlc_game g = load(games[gi]);
        for (int oi = 0; oi < RLC_GAME_EVAL_OPPONENTS; oi++) {
            rlc_game_opponent o = rlc_game_eval_opponent(oi);
            rlc_game_match m[N];
            task_matches(&g, 100, 4, &o, m, N);
            int calls = 0, most = 0;
            cr_assert_eq(rlc_game_play_matches(m, N, mover_hashed, &calls), RLC_OK);
            rlc_game_match_stats st = {0};
            rlc_game_match_tally(m, N, &st);
            for (int k = 0; k < N; k++) {
                rlc_game_state s0;
                rlc_game_task(&g, 100 + (uint64_t)k, 4, &s0);
                int moves, r = sequential_game(&g, s0, &o, 100 + (uint64_t)k, &moves);
                cr_assert_eq(m[k].result, r, "%s vs %d, task %d", games[gi], oi, k);
                cr_assert_eq(m[k].moves, moves, "%s vs %d, task %d", games[gi], oi, k);
                cr_assert_eq(m[k].legal, moves);
                cr_assert_eq(m[k].illegal, 0);
                most = moves > most ? moves : most;
            }
            cr_assert_eq(calls, most, "%s: one mover call per model ply", games[gi]);
            cr_assert_eq(st.games, N);
            cr_assert_eq(st.wins + st.draws + st.losses, N);
            cr_assert_eq(st.legal, st.moves);
        }
    }
}

/* An illegal or unparsable move loses at once, counted as illegal. */
Test(games, full_games_illegal_mover_loses) {
    rlc_game g = load("connect_four");
    enum { N = 9 };
    for (int oi = 0; oi < RLC_GAME_EVAL_OPPONENTS; oi++) {
        rlc_game_opponent o = rlc_game_eval_opponent(oi);
        rlc_game_match m[N];
        task_matches(&g, 7, 6, &o, m, N);
        int calls = 0;
        cr_assert_eq(rlc_game_play_matches(m, N, mover_illegal, &calls), RLC_OK);
        rlc_game_match_stats st = {0};
        rlc_game_match_tally(m, N, &st);
        cr_assert_eq(calls, 1);
        cr_assert_eq(st.games, N);
        cr_assert_eq(st.losses, N);
        cr_assert_eq(st.illegal, N);
        cr_assert_eq(st.wins + st.draws, 0);
        cr_assert_eq(st.moves, N);
        cr_assert_eq(st.legal, 0);
    }
    rlc_strbuf b = {0};
    rlc_sb_printf(&b, "not a reference");
    rlc_game_match m;
    rlc_game_opponent o = rlc_game_eval_opponent(0);
    cr_assert_neq(rlc_game_match_init(&m, b.p, &o), RLC_OK);
    free(b.p);
}

/* Tic-tac-toe against the game-theoretic values of tests/ref/games_ref.py
 * (full-depth negamax): perfect play (minimax(9)) against minimax(9) gets
 * exactly the position's value, against random and greedy at least it; the
 * first-legal mover gets at most it against minimax(9). From the start
 * perfect play draws and the first-legal mover loses (x(0,0), o takes the
 * centre, x(0,1), o blocks at (0,2), x(1,0), o completes (0,2)-(1,1)-(2,0)). */
Test(games, full_games_tic_tac_toe_values) {
    enum { N = 10 };
    rlc_game g = load("tic_tac_toe");
    char dir[256], in[300], out[300], args[700];
    th_tmpdir(dir, sizeof dir);
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    rlc_strbuf req = {0};
    rlc_game_state s[N];
    for (int k = 0; k < N; k++) {
        rlc_game_task(&g, 40 + (uint64_t)k, 5, &s[k]);
        char text[RLC_GAME_STATE_CAP];
        rlc_game_serialize(&g, &s[k], text);
        rlc_sb_printf(&req, "{\"game\": \"tic_tac_toe\", \"state\": \"%s\", \"solve\": 9}\n", text);
    }
    th_write_text(in, req.p);
    free(req.p);
    snprintf(args, sizeof args, "< %s > %s", in, out);
    cr_assert_eq(th_python("games_ref.py", args), 0);
    char *text = th_slurp(out);
    int value[N];
    char *line = text;
    for (int k = 0; k < N; k++) {
        json_error_t err;
        json_t *ref = json_loadb(line, strcspn(line, "\n"), 0, &err);
        cr_assert_not_null(ref, "%s", err.text);
        json_t *values = json_object_get(ref, "values");
        double best = -1e9;
        for (size_t i = 0; i < json_array_size(values); i++) {
            double x = json_real_value(json_array_get(json_array_get(values, i), 1));
            best = x > best ? x : best;
        }
        value[k] = best > 1e-9 ? 1 : best < -1e-9 ? -1 : 0;
        json_decref(ref);
        line = strchr(line, '\n') + 1;
    }
    free(text);
    th_rmdir(dir);
    int some_win = 0, some_loss = 0;
    for (int k = 0; k < N; k++)
        some_win |= value[k] > 0, some_loss |= value[k] < 0;
    rlc_game_mover movers[] = {mover_minimax, mover_first};
    for (int mv = 0; mv < 2; mv++)
        for (int oi = 0; oi < 3; oi++) {
            rlc_game_opponent o =
                oi == 2 ? (rlc_game_opponent){RLC_GAME_MINIMAX, 9} : rlc_game_eval_opponent(oi);
            rlc_game_match m[N + 1];
            for (int k = 0; k <= N; k++) {
                rlc_strbuf b = {0};
                rlc_game_ref r;
                memset(&r, 0, sizeof r);
                r.game = g;
                r.seed = 5;
                r.playouts = 1;
                if (k < N)
                    r.state = s[k];
                else
                    rlc_game_init(&g, &r.state); /* the start */
                rlc_game_ref_format(&r, &b);
                cr_assert_eq(rlc_game_match_init(&m[k], b.p, &o), RLC_OK);
                free(b.p);
            }
            cr_assert_eq(rlc_game_play_matches(m, N + 1, movers[mv], NULL), RLC_OK);
            for (int k = 0; k < N; k++) {
                if (mv == 0 && oi == 2)
                    cr_assert_eq(m[k].result, value[k], "task %d", k);
                else if (mv == 0)
                    cr_assert_geq(m[k].result, value[k], "task %d vs %d", k, oi);
                else if (oi == 2)
                    cr_assert_leq(m[k].result, value[k], "task %d", k);
                cr_assert_eq(m[k].illegal, 0);
            }
            if (oi == 2) cr_assert_eq(m[N].result, mv == 0 ? 0 : -1, "from the start");
        }
    cr_assert(some_win && some_loss, "the tasks should include won and lost positions");
}

/* One row of a demo table, "| seed | arm | a | b | c | d | e |", checked
 * against the eval JSON the script read it from. */
static void expect_demo_row(const char *table, const char *arm, const char *json_path) {
    char key[64];
    snprintf(key, sizeof key, "| 5 | %s |", arm);
    const char *row = strstr(table, key);
    cr_assert(row, "no row for %s in\n%s", arm, table);
    double v[5];
    cr_assert_eq(sscanf(row + strlen(key), " %lf | %lf | %lf | %lf | %lf |", &v[0], &v[1], &v[2],
                        &v[3], &v[4]),
                 5, "row %.80s", row);
    json_error_t err;
    json_t *j = json_load_file(json_path, 0, &err);
    cr_assert(j, "%s: %s", json_path, err.text);
    json_t *full = json_object_get(j, "full_games");
    double want[5] = {
        json_number_value(json_object_get(json_object_get(j, "games"), "legal")),
        json_number_value(json_object_get(json_object_get(full, "random"), "legal")),
        json_number_value(json_object_get(json_object_get(full, "random"), "wins")),
        json_number_value(json_object_get(json_object_get(full, "greedy"), "wins")),
        json_number_value(json_object_get(json_object_get(full, "minimax(2)"), "wins")),
    };
    for (int k = 0; k < 5; k++)
        cr_assert_float_eq(v[k], want[k], 1e-9, "%s column %d: table %g, eval JSON %g", arm, k,
                           v[k], want[k]);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(full, "random"), "games")), 8);
    json_decref(j);
}

/* `make demo-games` end to end at 2 steps a stage: every stage runs, the extra
 * SFT arm exists, and each table row holds its eval JSON's numbers. */
Test(games, demo_script_smoke, .timeout = 300) {
    /* a shell script around rlc paths the other tests cover: once, in the
     * plain unit run, not again in the sanitizer build's (minutes there) */
    if (getenv("RLC_SANITIZED")) cr_skip_test("RLC_SANITIZED: covered by the unit run");
    char dir[256], cwd[1024], cmd[4096], path[512];
    th_tmpdir(dir, sizeof dir);
    cr_assert(getcwd(cwd, sizeof cwd));
    snprintf(cmd, sizeof cmd,
             "cd '%s' && RLC='%s' DEMO_OUT='%s/dg' SEEDS=5 OMP_NUM_THREADS=1 "
             "DEMO_ARGS='training.steps=2 optimizer.warmup_steps=0 data.eval_size=8' sh "
             "scripts/demo_games.sh "
             "> '%s/demo.out' 2>&1",
             cwd, th_rlc_bin_abs(), dir, dir);
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/demo.out", dir);
    char *out = th_slurp(path);
    cr_assert_eq(rc, 0, "demo_games.sh: %d\n%s", rc, out ? out : "");
    cr_assert(out && strstr(out, "3/3 more SFT for the same time:"), "%s", out);
    free(out);
    const char *suffix[2] = {"", "_t1"};
    const char *tables[2] = {"table.md", "table_t1.md"};
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/dg/%s", dir, tables[t]);
        char *table = th_slurp(path);
        cr_assert(table, "no %s", path);
        cr_assert_eq(th_count_lines(path), 5, "%s", table);
        const char *arms[3] = {"sft", "grpo", "sft_more"};
        for (int a = 0; a < 3; a++) {
            snprintf(path, sizeof path, "%s/dg/s5/eval_%s%s.json", dir, arms[a], suffix[t]);
            expect_demo_row(table, arms[a], path);
        }
        free(table);
    }
    snprintf(path, sizeof path, "%s/dg/s5/sft_more/final/model.safetensors", dir);
    cr_assert(access(path, F_OK) == 0, "no %s", path);
}
