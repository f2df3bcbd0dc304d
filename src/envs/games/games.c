/* Load strings, the dispatch to each game's rules, move text and serialised
 * states. */
#include "envs/games/game_rules.h"
#include "rewards/rewards.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rlc_game_rules *const rules_by_kind[RLC_GAME_KIND_COUNT] = {
    &rlc_rules_tic_tac_toe,    &rlc_rules_connect_four, &rlc_rules_hex,
    &rlc_rules_dots_and_boxes, &rlc_rules_breakthrough, &rlc_rules_nim,
};

const rlc_game_rules *rlc_game_rules_of(const rlc_game *g) {
    return rules_by_kind[g->kind];
}

static const rlc_game_rules *rules(const rlc_game *g) {
    return rules_by_kind[g->kind];
}

void rlc_game_play(const rlc_game *g, rlc_game_state *s, int action) {
    rules(g)->play(g, s, action);
    rules(g)->settle(g, s);
}

const char *rlc_game_short_name(const rlc_game *g) {
    return rules(g)->name;
}

const char *rlc_game_names(void) {
    return "tic_tac_toe, connect_four, hex, dots_and_boxes, breakthrough, nim";
}

/* ---- load strings ---- */

/* s[0..n) without leading and trailing spaces, into out[cap]; -1 if too long. */
static int trimmed(const char *s, size_t n, char *out, size_t cap) {
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= cap) return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return (int)n;
}

static rlc_status set_param(rlc_game *g, const rlc_game_rules *r, const char *ls, const char *key,
                            const char *val) {
    int i = 0;
    while (i < r->nparams && strcmp(r->params[i].name, key))
        i++;
    if (i == r->nparams) {
        char names[160] = "";
        for (int j = 0; j < r->nparams; j++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? ", " : "",
                     r->params[j].name);
        return rlc_errorf(RLC_ERR_INVALID, "games: \"%s\": unknown parameter \"%s\" for %s (%s%s)",
                          ls, key, r->name, r->nparams ? "expected one of " : "it has none", names);
    }
    const rlc_game_param *p = &r->params[i];
    if (g->pset[i])
        return rlc_errorf(RLC_ERR_INVALID, "games: \"%s\": parameter %s is given twice", ls, key);
    g->pset[i] = 1;
    if (p->type == 'i') {
        char *end;
        long v = strtol(val, &end, 10);
        if (!*val || *end || v < p->min || v > p->max)
            return rlc_errorf(RLC_ERR_INVALID,
                              "games: \"%s\": parameter %s: expected an integer in %d..%d, got "
                              "\"%s\"",
                              ls, key, p->min, p->max, val);
        g->pint[i] = (int)v;
    } else if (p->type == 'b') {
        if (strcmp(val, "true") && strcmp(val, "false"))
            return rlc_errorf(RLC_ERR_INVALID,
                              "games: \"%s\": parameter %s: expected true or false, got \"%s\"", ls,
                              key, val);
        g->pint[i] = !strcmp(val, "true");
    } else {
        if (strlen(val) >= sizeof g->pstr[i])
            return rlc_errorf(RLC_ERR_INVALID, "games: \"%s\": parameter %s: value too long", ls,
                              key);
        strcpy(g->pstr[i], val);
    }
    return RLC_OK;
}

rlc_status rlc_game_load(const char *ls, rlc_game *g) {
    memset(g, 0, sizeof *g);
    const char *open = strchr(ls, '(');
    size_t nlen = open ? (size_t)(open - ls) : strlen(ls);
    char name[32];
    if (trimmed(ls, nlen, name, sizeof name) <= 0)
        return rlc_errorf(RLC_ERR_INVALID, "games: \"%s\": expected a game name (%s)", ls,
                          rlc_game_names());
    int kind = 0;
    while (kind < RLC_GAME_KIND_COUNT && strcmp(rules_by_kind[kind]->name, name))
        kind++;
    if (kind == RLC_GAME_KIND_COUNT)
        return rlc_errorf(RLC_ERR_INVALID, "games: \"%s\": unknown game \"%s\" (expected %s)", ls,
                          name, rlc_game_names());
    g->kind = (rlc_game_kind)kind;
    const rlc_game_rules *r = rules(g);
    for (int i = 0; i < r->nparams; i++) {
        g->pint[i] = r->params[i].def;
        if (r->params[i].sdef) snprintf(g->pstr[i], sizeof g->pstr[i], "%s", r->params[i].sdef);
    }
    snprintf(g->load, sizeof g->load, "%s", name);
    if (open) {
        const char *close = strchr(open, ')');
        char rest[8];
        if (!close || trimmed(close + 1, strlen(close + 1), rest, sizeof rest) != 0)
            return rlc_errorf(RLC_ERR_INVALID,
                              "games: \"%s\": expected name(key=value,...) with one closing ')' "
                              "at the end",
                              ls);
        size_t used = strlen(g->load);
        g->load[used++] = '(';
        int first = 1;
        char inner[4];
        const char *from = open + 1;
        if (trimmed(from, (size_t)(close - from), inner, sizeof inner) == 0) from = close;
        for (const char *p = from; from < close;) {
            const char *comma = memchr(p, ',', (size_t)(close - p));
            const char *end = comma ? comma : close;
            const char *eq = memchr(p, '=', (size_t)(end - p));
            char key[64], val[80];
            int klen = eq ? trimmed(p, (size_t)(eq - p), key, sizeof key) : -1;
            int vlen = eq ? trimmed(eq + 1, (size_t)(end - eq - 1), val, sizeof val) : -1;
            if (klen <= 0 || vlen <= 0)
                return rlc_errorf(RLC_ERR_INVALID,
                                  "games: \"%s\": expected key=value between the parentheses, "
                                  "got \"%.*s\"",
                                  ls, (int)(end - p), p);
            RLC_TRY(set_param(g, r, ls, key, val));
            int w = snprintf(g->load + used, sizeof g->load - used, "%s%s=%s", first ? "" : ",",
                             key, val);
            if (w < 0 || (size_t)w >= sizeof g->load - used - 1)
                return rlc_errorf(RLC_ERR_INVALID, "games: \"%s\": load string too long", ls);
            used += (size_t)w;
            first = 0;
            if (!comma) break;
            p = comma + 1; /* a trailing ',' leaves an empty pair: an error */
        }
        if (first)
            g->load[used - 1] = 0; /* "hex()" is "hex" */
        else
            g->load[used++] = ')', g->load[used] = 0;
    }
    rlc_status st = r->configure(g);
    if (st != RLC_OK) return st;
    RLC_ASSERT(g->ncells > 0 && g->ncells <= RLC_GAME_MAX_CELLS);
    return RLC_OK;
}

/* ---- states ---- */

void rlc_game_init(const rlc_game *g, rlc_game_state *s) {
    memset(s, 0, sizeof *s);
    if (rules(g)->init) rules(g)->init(g, s);
    s->winner = RLC_GAME_ONGOING;
    rules(g)->settle(g, s);
}

int rlc_game_legal(const rlc_game *g, const rlc_game_state *s, int *actions) {
    if (rlc_game_is_terminal(s)) return 0;
    return rules(g)->legal(g, s, actions);
}

int rlc_game_is_legal(const rlc_game *g, const rlc_game_state *s, int action) {
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    for (int i = 0; i < n; i++)
        if (moves[i] == action) return 1;
    return 0;
}

rlc_status rlc_game_apply(const rlc_game *g, rlc_game_state *s, int action) {
    if (!rlc_game_is_legal(g, s, action))
        return rlc_errorf(RLC_ERR_INVALID, "games: %s: action %d is not legal here", g->load,
                          action);
    rlc_game_play(g, s, action);
    return RLC_OK;
}

double rlc_game_return(const rlc_game *g, const rlc_game_state *s, int player) {
    if (!rlc_game_is_terminal(s)) return 0;
    if (g->margin) return s->score[player] - s->score[1 - player];
    if (s->winner == RLC_GAME_DRAW) return 0;
    return s->winner == player ? 1 : -1;
}

double rlc_game_min_return(const rlc_game *g) {
    return g->margin ? -(double)(g->rows * g->cols) : -1;
}

void rlc_game_render(const rlc_game *g, const rlc_game_state *s, rlc_strbuf *b) {
    rules(g)->render(g, s, b);
}

void rlc_game_move_text(const rlc_game *g, const rlc_game_state *s, int action,
                        char buf[RLC_GAME_MOVE_CAP]) {
    rules(g)->move_text(g, s, action, 0, buf);
}

/* Lower case without whitespace, into out[cap]; -1 if it does not fit. */
static int normalise(const char *s, size_t len, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) continue;
        if (!c || n + 1 >= cap) return -1;
        out[n++] = (char)tolower(c);
    }
    out[n] = 0;
    return (int)n;
}

int rlc_game_parse_move(const rlc_game *g, const rlc_game_state *s, const char *text, size_t len) {
    char want[RLC_GAME_MOVE_CAP];
    if (normalise(text, len, want, sizeof want) <= 0) return -1;
    int moves[RLC_GAME_MAX_MOVES];
    int n = rlc_game_legal(g, s, moves);
    for (int i = 0; i < n; i++)
        for (int alt = 0; alt < 2; alt++) {
            char t[RLC_GAME_MOVE_CAP], norm[RLC_GAME_MOVE_CAP];
            rules(g)->move_text(g, s, moves[i], alt, t);
            if (normalise(t, strlen(t), norm, sizeof norm) > 0 && !strcmp(norm, want))
                return moves[i];
        }
    return -1;
}

int rlc_game_parse_answer(const rlc_game *g, const rlc_game_state *s, const char *completion) {
    const char *a;
    size_t n;
    if (!completion || !rlc_reward_extract_answer(completion, &a, &n)) return -1;
    return rlc_game_parse_move(g, s, a, n);
}

/* ---- serialised states ---- */

void rlc_game_serialize(const rlc_game *g, const rlc_game_state *s, char buf[RLC_GAME_STATE_CAP]) {
    const char *chars = rules(g)->chars;
    size_t n = (size_t)snprintf(buf, RLC_GAME_STATE_CAP, "%d:", s->player);
    for (int i = 0; i < g->ncells; i++) {
        RLC_ASSERT(n + 5 < RLC_GAME_STATE_CAP);
        if (chars)
            buf[n++] = chars[s->cell[i]];
        else
            n +=
                (size_t)snprintf(buf + n, RLC_GAME_STATE_CAP - n, "%s%d", i ? "," : "", s->cell[i]);
    }
    buf[n] = 0;
}

rlc_status rlc_game_deserialize(const rlc_game *g, const char *text, rlc_game_state *out) {
    const rlc_game_rules *r = rules(g);
    rlc_game_state s;
    memset(&s, 0, sizeof s);
    if ((text[0] != '0' && text[0] != '1') || text[1] != ':')
        return rlc_errorf(RLC_ERR_FORMAT,
                          "games: %s state \"%.40s\": expected the player to move (0 or 1) and ':' "
                          "first",
                          g->load, text);
    s.player = text[0] - '0';
    const char *p = text + 2;
    for (int i = 0; i < g->ncells; i++) {
        if (r->chars) {
            const char *c = *p ? strchr(r->chars, *p) : NULL;
            if (!c)
                return rlc_errorf(RLC_ERR_FORMAT,
                                  "games: %s state \"%.40s\": cell %d: expected one of \"%s\"",
                                  g->load, text, i, r->chars);
            s.cell[i] = (uint8_t)(c - r->chars);
            p++;
        } else {
            if (i && *p++ != ',')
                return rlc_errorf(RLC_ERR_FORMAT, "games: %s state \"%.40s\": expected %d numbers",
                                  g->load, text, g->ncells);
            int v = 0, digits = 0, lead0 = *p == '0';
            while (*p >= '0' && *p <= '9' && digits < 3)
                v = v * 10 + (*p++ - '0'), digits++;
            if (!digits || v > 255 || (lead0 && digits > 1)) /* one text per state */
                return rlc_errorf(RLC_ERR_FORMAT,
                                  "games: %s state \"%.40s\": cell %d: expected a number", g->load,
                                  text, i);
            s.cell[i] = (uint8_t)v;
        }
    }
    if (*p)
        return rlc_errorf(RLC_ERR_FORMAT, "games: %s state \"%.40s\": expected %d cells, got more",
                          g->load, text, g->ncells);
    char why[128] = "";
    if (r->check(g, &s, why))
        return rlc_errorf(RLC_ERR_FORMAT, "games: %s state \"%.40s\": %s", g->load, text, why);
    s.winner = RLC_GAME_ONGOING;
    r->settle(g, &s);
    *out = s;
    return RLC_OK;
}

/* ---- helpers shared by the rules ---- */

int rlc_game_empty_cells(const rlc_game *g, const rlc_game_state *s, int *actions) {
    int n = 0;
    for (int i = 0; i < g->num_actions; i++)
        if (!s->cell[i]) actions[n++] = i;
    return n;
}

void rlc_game_place(const rlc_game *g, rlc_game_state *s, int action) {
    s->cell[action] = (uint8_t)(s->player + 1);
    s->player = 1 - s->player;
}

int rlc_game_check_marks(const rlc_game_state *s, int n, int won0, int won1, char *why) {
    int a, b;
    rlc_game_count_marks(s->cell, n, &a, &b);
    if (a - b != s->player) {
        snprintf(why, 128, "%d and %d marks of players 0 and 1, but player %d to move", a, b,
                 s->player);
        return -1;
    }
    /* the last move won: a win by 0 leaves 1 to move, and the game stops there */
    if ((won0 && (won1 || s->player != 1)) || (won1 && s->player != 0)) {
        snprintf(why, 128, "a winning pattern that no game reaches");
        return -1;
    }
    return 0;
}

void rlc_game_count_marks(const uint8_t *cells, int n, int *ones, int *twos) {
    *ones = *twos = 0;
    for (int i = 0; i < n; i++)
        *ones += cells[i] == 1, *twos += cells[i] == 2;
}

int rlc_game_has_line(const uint8_t *cells, int rows, int cols, int n, uint8_t v) {
    static const int dr[4] = {0, 1, 1, 1}, dc[4] = {1, 0, 1, -1};
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            if (cells[r * cols + c] != v) continue;
            for (int d = 0; d < 4; d++) {
                int k = 1;
                while (k < n) {
                    int rr = r + k * dr[d], cc = c + k * dc[d];
                    if (rr < 0 || rr >= rows || cc < 0 || cc >= cols || cells[rr * cols + cc] != v)
                        break;
                    k++;
                }
                if (k == n) return 1;
            }
        }
    return 0;
}
