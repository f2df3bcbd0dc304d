/* Board games (src/envs/games): load strings, rules at known positions, the
 * text OpenSpiel prints, move text and the answer parser, serialised states,
 * opponents, tasks, and every state's legal moves, children, rendering,
 * returns and perft counts against tests/ref/games_ref.py, an independent
 * Python implementation. */
#include "envs/games/games.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    rlc_game g = load("tic_tac_toe");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    expect_render(&g, &s, "...\n...\n...");
    char t[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(&g, &s, 5, t);
    cr_assert_str_eq(t, "x(1,2)");
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
    rlc_game g = load("dots_and_boxes(num_rows=1,num_cols=2)");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    expect_render(&g, &s, "┌╴ ╶┬╴ ╶┐\n         \n└╴ ╶┴╴ ╶┘\n");
    char t[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(&g, &s, 4, t);
    cr_assert_str_eq(t, "P1(v,0,0)");
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
    rlc_game g = load("nim");
    rlc_game_state s;
    rlc_game_init(&g, &s);
    expect_render(&g, &s, "(0): 1 3 5 7");
    int moves[RLC_GAME_MAX_MOVES];
    cr_assert_eq(rlc_game_legal(&g, &s, moves), 16);
    char t[RLC_GAME_MOVE_CAP];
    rlc_game_move_text(&g, &s, (3 - 1) * 4 + 1, t);
    cr_assert_str_eq(t, "pile:2, take:3;");
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
