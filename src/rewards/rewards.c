/* Built-in rewards: hand parsing over byte ranges (no regex), no allocation. */
#include "rewards/rewards.h"

#include "rewards/external.h"

#include "base/text.h"
#include "envs/games/games.h"
#include "rewards/rubric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char TAG_RO[] = "<reasoning>";
static const char TAG_RC[] = "</reasoning>";
static const char TAG_AO[] = "<answer>";
static const char TAG_AC[] = "</answer>";
#define TAGLEN(t) (sizeof(t) - 1)

/* Longest canonical number text compared; longer "numbers" do not parse. */
#define NUM_CAP 512

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static void trim(const char **s, size_t *len) {
    const char *p = *s;
    size_t n = *len;
    while (n && is_space(*p))
        p++, n--;
    while (n && is_space(p[n - 1]))
        n--;
    *s = p;
    *len = n;
}

/* First occurrence of tag in [s, s+n), or NULL. */
static const char *find(const char *s, size_t n, const char *tag, size_t tn) {
    return memmem(s, n, tag, tn);
}

/* Last occurrence of tag in [s, s+n), or NULL. */
static const char *find_last(const char *s, size_t n, const char *tag, size_t tn) {
    const char *last = NULL, *p = s;
    while ((p = find(p, n - (size_t)(p - s), tag, tn))) {
        last = p;
        p += tn;
    }
    return last;
}

static size_t count(const char *s, size_t n, const char *tag, size_t tn) {
    size_t k = 0;
    const char *p = s;
    while ((p = find(p, n - (size_t)(p - s), tag, tn))) {
        k++;
        p += tn;
    }
    return k;
}

static int has_any_tag(const char *s, size_t n) {
    return find(s, n, TAG_RO, TAGLEN(TAG_RO)) || find(s, n, TAG_RC, TAGLEN(TAG_RC)) ||
           find(s, n, TAG_AO, TAGLEN(TAG_AO)) || find(s, n, TAG_AC, TAGLEN(TAG_AC));
}

static int starts_with(const char *s, size_t n, const char *tag, size_t tn) {
    return n >= tn && memcmp(s, tag, tn) == 0;
}

float rlc_reward_format_exact(const char *completion, const char *reference) {
    (void)reference;
    const char *s = completion ? completion : "";
    size_t n = strlen(s);
    trim(&s, &n);
    const char *end = s + n;
    if (!starts_with(s, n, TAG_RO, TAGLEN(TAG_RO))) return 0.0f;
    const char *r = s + TAGLEN(TAG_RO);
    const char *rc = find(r, (size_t)(end - r), TAG_RC, TAGLEN(TAG_RC));
    if (!rc || has_any_tag(r, (size_t)(rc - r))) return 0.0f;
    const char *p = rc + TAGLEN(TAG_RC);
    while (p < end && is_space(*p))
        p++;
    if (!starts_with(p, (size_t)(end - p), TAG_AO, TAGLEN(TAG_AO))) return 0.0f;
    const char *a = p + TAGLEN(TAG_AO);
    const char *ac = find(a, (size_t)(end - a), TAG_AC, TAGLEN(TAG_AC));
    if (!ac || ac + TAGLEN(TAG_AC) != end || has_any_tag(a, (size_t)(ac - a))) return 0.0f;
    size_t alen = (size_t)(ac - a);
    trim(&a, &alen);
    return alen ? 1.0f : 0.0f;
}

float rlc_reward_format_approx(const char *completion, const char *reference) {
    (void)reference;
    const char *s = completion ? completion : "";
    size_t n = strlen(s);
    float score = 0.0f;
    score += count(s, n, TAG_RO, TAGLEN(TAG_RO)) == 1 ? 0.25f : 0.0f;
    score += count(s, n, TAG_RC, TAGLEN(TAG_RC)) == 1 ? 0.25f : 0.0f;
    score += count(s, n, TAG_AO, TAGLEN(TAG_AO)) == 1 ? 0.25f : 0.0f;
    score += count(s, n, TAG_AC, TAGLEN(TAG_AC)) == 1 ? 0.25f : 0.0f;
    const char *ac = find_last(s, n, TAG_AC, TAGLEN(TAG_AC));
    if (ac) {
        const char *tail = ac + TAGLEN(TAG_AC);
        size_t tn = n - (size_t)(tail - s);
        while (tn && is_space(tail[tn - 1]))
            tn--;
        score -= 0.001f * (float)tn;
    }
    return score > 0.0f ? score : 0.0f;
}

int rlc_reward_extract_answer(const char *completion, const char **start, size_t *len) {
    const char *s = completion ? completion : "";
    size_t n = strlen(s);
    /* The last opener before the last closer is the last opener that has a
     * closer after it; openers after the last closer are unclosed. */
    const char *last_close = find_last(s, n, TAG_AC, TAGLEN(TAG_AC));
    if (!last_close) return 0;
    const char *open = find_last(s, (size_t)(last_close - s), TAG_AO, TAGLEN(TAG_AO));
    if (!open) return 0;
    const char *a = open + TAGLEN(TAG_AO);
    const char *close = find(a, (size_t)(last_close + TAGLEN(TAG_AC) - a), TAG_AC, TAGLEN(TAG_AC));
    *start = a;
    *len = (size_t)(close - a);
    return 1;
}

int rlc_reward_parse_number(const char *s, size_t len, double *value, char *canon, size_t cap) {
    char local[NUM_CAP];
    if (!canon) canon = local, cap = sizeof local;
    if (!s) return 0;
    trim(&s, &len);
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i < len && s[i] == '$') i++;
    /* Integer part, commas only between digits. */
    size_t int_start = i, int_digits = 0;
    while (i < len && (is_digit(s[i]) || s[i] == ',')) {
        if (s[i] == ',') {
            if (i == int_start || !is_digit(s[i - 1]) || i + 1 >= len || !is_digit(s[i + 1]))
                return 0;
        } else {
            int_digits++;
        }
        i++;
    }
    size_t int_end = i, frac_start = i, frac_digits = 0;
    if (i < len && s[i] == '.') {
        frac_start = ++i;
        while (i < len && is_digit(s[i]))
            i++, frac_digits++;
    }
    if (i != len || int_digits + frac_digits == 0) return 0;

    /* Canonical text: sign, integer digits without commas or leading zeros
     * ("0" if none), then "." and the fraction without trailing zeros. */
    size_t o = 0;
    char body[NUM_CAP];
    for (size_t k = int_start; k < int_end; k++) {
        if (s[k] == ',' || (o == 0 && s[k] == '0')) continue;
        if (o + 1 >= sizeof body) return 0;
        body[o++] = s[k];
    }
    if (o == 0) body[o++] = '0';
    size_t fe = frac_start + frac_digits;
    while (fe > frac_start && s[fe - 1] == '0')
        fe--;
    int zero = o == 1 && body[0] == '0' && fe == frac_start;
    if (fe > frac_start) {
        if (o + 1 + (fe - frac_start) >= sizeof body) return 0;
        body[o++] = '.';
        memcpy(body + o, s + frac_start, fe - frac_start);
        o += fe - frac_start;
    }
    body[o] = 0;
    int sign = neg && !zero;
    if ((size_t)sign + o + 1 > cap) return 0;
    if (sign) canon[0] = '-';
    memcpy(canon + sign, body, o + 1);
    if (value) *value = strtod(canon, NULL);
    return 1;
}

/* The trimmed answer of a completion, or 0 if there is none or it is blank. */
static int trimmed_answer(const char *completion, const char **a, size_t *alen) {
    if (!rlc_reward_extract_answer(completion, a, alen)) return 0;
    trim(a, alen);
    return *alen > 0;
}

float rlc_reward_answer_check(const char *completion, const char *reference) {
    const char *a, *r = reference ? reference : "";
    size_t alen, rlen = strlen(r);
    if (!trimmed_answer(completion, &a, &alen)) return 0.0f;
    trim(&r, &rlen);
    if (alen == rlen && memcmp(a, r, alen) == 0) return 1.0f;
    double av, rv;
    if (!rlc_reward_parse_number(a, alen, &av, NULL, 0) ||
        !rlc_reward_parse_number(r, rlen, &rv, NULL, 0))
        return 0.0f;
    /* Multiplied out so integer cases on the band edge are exact. */
    double d = fabs(av - rv), m = fabs(rv);
    if (10.0 * d <= m) return 0.5f;
    if (5.0 * d <= m) return 0.25f;
    return 0.0f;
}

float rlc_reward_number_check(const char *completion, const char *reference) {
    const char *a, *r = reference ? reference : "";
    size_t alen;
    if (!trimmed_answer(completion, &a, &alen)) return 0.0f;
    char ca[NUM_CAP], cr[NUM_CAP];
    if (!rlc_reward_parse_number(a, alen, NULL, ca, sizeof ca) ||
        !rlc_reward_parse_number(r, strlen(r), NULL, cr, sizeof cr))
        return 0.0f;
    return strcmp(ca, cr) == 0 ? 1.0f : 0.0f;
}

float rlc_reward_overlong(int len, int max_len, int buffer, float factor) {
    if (buffer <= 0) return 0.0f;
    int over = len - (max_len - buffer);
    if (over <= 0) return 0.0f;
    if (over > buffer) over = buffer;
    return -factor * (float)over / (float)buffer;
}

int rlc_reward_correct(const char *completion, const char *reference) {
    if (reference && !strncmp(reference, RLC_GAME_REF_PREFIX, strlen(RLC_GAME_REF_PREFIX)))
        return rlc_game_answer_legal(completion, reference); /* a game's: a legal move */
    return rlc_reward_number_check(completion, reference) == 1.0f ||
           rlc_reward_answer_check(completion, reference) == 1.0f;
}

/* The one table: adding a reward is one line here. */
static const rlc_reward_def rewards[] = {
    {"format_exact", rlc_reward_format_exact, 1.0f,
     "1 if the completion is exactly <reasoning>...</reasoning><answer>...</answer>"},
    {"format_approx", rlc_reward_format_approx, 1.0f,
     "0.25 per tag present once, minus 0.001 per byte after </answer>"},
    {"answer_check", rlc_reward_answer_check, 1.0f,
     "1 if the answer is the reference text; 0.5/0.25 for numbers within 10%/20%"},
    {"number_check", rlc_reward_number_check, 1.0f,
     "1 if the number inside <answer> equals the reference value"},
    {"game", rlc_game_reward, 1.0f,
     "data.source games: games.reward_mode legal = 1 for a legal move, outcome = the mean "
     "playout return of the move (the game's minimum when illegal)"},
};
#define N_REWARDS (sizeof rewards / sizeof rewards[0])

size_t rlc_reward_count(void) {
    return N_REWARDS;
}

const rlc_reward_def *rlc_reward_at(size_t i) {
    return i < N_REWARDS ? &rewards[i] : NULL;
}

const rlc_reward_def *rlc_reward_find(const char *name) {
    for (size_t i = 0; name && i < N_REWARDS; i++)
        if (strcmp(rewards[i].name, name) == 0) return &rewards[i];
    return NULL;
}

rlc_status rlc_reward_lookup(const char *name, const rlc_reward_def **out) {
    *out = rlc_reward_find(name);
    if (*out) return RLC_OK;
    const char *best = rewards[0].name;
    size_t best_d = (size_t)-1;
    char known[256] = "";
    for (size_t i = 0; i < N_REWARDS; i++) {
        size_t d = (size_t)rlc_edit_distance(name ? name : "", rewards[i].name);
        if (d < best_d) best_d = d, best = rewards[i].name;
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, rewards[i].name, sizeof known - strlen(known) - 1);
    }
    return rlc_errorf(RLC_ERR_NOT_FOUND, "unknown reward \"%s\" (did you mean \"%s\"?); known: %s",
                      name ? name : "", best, known);
}

void rlc_reward_set_init(rlc_reward_set *set) {
    memset(set, 0, sizeof *set);
}

rlc_status rlc_reward_set_add(rlc_reward_set *set, const char *name, float weight) {
    const rlc_reward_def *def;
    RLC_TRY(rlc_reward_lookup(name, &def));
    for (size_t i = 0; i < set->n; i++)
        if (set->defs[i] == def)
            return rlc_errorf(RLC_ERR_INVALID, "reward \"%s\" listed twice", name);
    if (!isfinite(weight))
        return rlc_errorf(RLC_ERR_INVALID, "reward \"%s\": weight must be a finite number", name);
    if (rlc_reward_set_size(set) == RLC_REWARD_SET_MAX)
        return rlc_errorf(RLC_ERR_INVALID, "more than %d rewards", RLC_REWARD_SET_MAX);
    set->defs[set->n] = def;
    set->weights[set->n] = weight;
    set->n++;
    return RLC_OK;
}

rlc_status rlc_reward_set_parse(rlc_reward_set *set, const char *spec) {
    rlc_reward_set_init(set);
    const char *p = spec ? spec : "";
    for (;;) {
        const char *item = p;
        size_t n = strcspn(p, ",");
        p += n;
        trim(&item, &n);
        if (n == 0)
            return rlc_errorf(RLC_ERR_INVALID,
                              "reward list \"%s\": empty item (expected name[:weight],...)",
                              spec ? spec : "");
        const char *colon = memchr(item, ':', n);
        size_t name_len = colon ? (size_t)(colon - item) : n;
        const char *nm = item;
        trim(&nm, &name_len);
        char name[64], wtxt[64];
        if (name_len >= sizeof name)
            return rlc_errorf(RLC_ERR_NOT_FOUND, "reward list \"%s\": name too long", spec);
        memcpy(name, nm, name_len);
        name[name_len] = 0;
        float w = 1.0f;
        if (colon) {
            const char *wt = colon + 1;
            size_t wl = (size_t)(item + n - wt);
            trim(&wt, &wl);
            char *endp;
            if (wl == 0 || wl >= sizeof wtxt)
                endp = wtxt;
            else {
                memcpy(wtxt, wt, wl);
                wtxt[wl] = 0;
                w = strtof(wtxt, &endp);
            }
            if (wl == 0 || wl >= sizeof wtxt || *endp)
                return rlc_errorf(RLC_ERR_INVALID,
                                  "reward list \"%s\": weight of \"%s\" is not a number", spec,
                                  name);
        }
        RLC_TRY(rlc_reward_set_add(set, name, w));
        if (!*p) break;
        p++;
    }
    return RLC_OK;
}

rlc_status rlc_reward_set_add_rubric(rlc_reward_set *set, rlc_rubric *rubric, float weight) {
    rlc_status st = RLC_OK;
    if (set->rubric)
        st = rlc_errorf(RLC_ERR_INVALID, "a reward set takes one rubric");
    else if (!isfinite(weight))
        st = rlc_errorf(RLC_ERR_INVALID, "rubric \"%s\": weight must be a finite number",
                        rlc_rubric_name(rubric));
    else if (rlc_reward_set_size(set) == RLC_REWARD_SET_MAX)
        st = rlc_errorf(RLC_ERR_INVALID, "more than %d rewards", RLC_REWARD_SET_MAX);
    if (st) {
        rlc_rubric_free(rubric);
        return st;
    }
    set->rubric = rubric;
    set->rubric_weight = weight;
    return RLC_OK;
}

rlc_status rlc_reward_set_add_external(rlc_reward_set *set, const char *name, rlc_ext *x,
                                       float weight) {
    rlc_status st = RLC_OK;
    for (size_t k = 0; k < rlc_reward_set_size(set) && !st; k++)
        if (!strcmp(rlc_reward_set_name(set, k), name))
            st = rlc_errorf(RLC_ERR_INVALID, "external reward \"%s\": the name is taken", name);
    if (st) {
    } else if (!isfinite(weight)) {
        st = rlc_errorf(RLC_ERR_INVALID, "external reward \"%s\": weight must be a finite number",
                        name);
    } else if (rlc_reward_set_size(set) == RLC_REWARD_SET_MAX || set->n_ext == RLC_REWARD_EXT_MAX) {
        st = rlc_errorf(RLC_ERR_INVALID, "more than %d rewards or %d external verifiers",
                        RLC_REWARD_SET_MAX, RLC_REWARD_EXT_MAX);
    } else if (strlen(name) >= sizeof set->ext_names[0] || !name[0]) {
        st = rlc_errorf(RLC_ERR_INVALID, "external reward \"%s\": name too long or empty", name);
    }
    if (st) {
        rlc_ext_free(x);
        return st;
    }
    snprintf(set->ext_names[set->n_ext], sizeof set->ext_names[0], "%s", name);
    set->ext[set->n_ext] = x;
    set->ext_weights[set->n_ext++] = weight;
    return RLC_OK;
}

void rlc_reward_set_free(rlc_reward_set *set) {
    for (size_t k = 0; k < set->n_ext; k++)
        rlc_ext_free(set->ext[k]);
    rlc_rubric_free(set->rubric);
    rlc_reward_set_init(set);
}

size_t rlc_reward_set_size(const rlc_reward_set *set) {
    return set->n + (set->rubric != NULL) + set->n_ext;
}

const char *rlc_reward_set_name(const rlc_reward_set *set, size_t k) {
    if (k < set->n) return set->defs[k]->name;
    if (set->rubric && k == set->n) return RLC_REWARD_RUBRIC;
    return set->ext_names[k - set->n - (set->rubric != NULL)];
}

int rlc_reward_set_criteria(const rlc_reward_set *set) {
    return set->rubric ? rlc_rubric_count(set->rubric) : 0;
}

/* The built-ins and the rubric of one completion; returns their weighted sum. */
static float score_local(const rlc_reward_set *set, const char *completion, const char *reference,
                         int num_tokens, float *per_reward, float *criteria) {
    float sum = 0.0f;
    for (size_t i = 0; i < set->n; i++) {
        float r = set->defs[i]->fn(completion, reference);
        if (per_reward) per_reward[i] = r;
        sum += set->weights[i] * r;
    }
    if (set->rubric) {
        float r = rlc_rubric_score(set->rubric, completion, reference, num_tokens, criteria);
        if (per_reward) per_reward[set->n] = r;
        sum += set->rubric_weight * r;
    }
    return sum;
}

rlc_status rlc_rewards_score_batch(const rlc_reward_set *set, int n, const char *const *prompts,
                                   const char *const *completions, const char *const *references,
                                   const char *const *metadata, const int *num_tokens,
                                   float *per_reward, float *criteria, float *total,
                                   unsigned char *failed) {
    size_t nr = rlc_reward_set_size(set), nc = (size_t)rlc_reward_set_criteria(set);
    size_t first_ext = set->n + (set->rubric != NULL);
    float *tot = total ? total : rlc_calloc((size_t)n, sizeof *tot);
    if (!tot) return RLC_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        tot[i] = score_local(set, completions[i], references[i], num_tokens ? num_tokens[i] : -1,
                             per_reward ? per_reward + (size_t)i * nr : NULL,
                             criteria && nc ? criteria + (size_t)i * nc : NULL);
        if (failed) failed[i] = 0;
    }
    rlc_status st = RLC_OK;
    rlc_ext_item *items = NULL;
    float *r = NULL;
    unsigned char *ok = NULL;
    if (set->n_ext) {
        items = rlc_calloc((size_t)n, sizeof *items);
        r = rlc_calloc((size_t)n, sizeof *r);
        ok = rlc_calloc((size_t)n, 1);
        if (!items || !r || !ok) st = RLC_ERR_NOMEM;
        for (int i = 0; st == RLC_OK && i < n; i++)
            items[i] = (rlc_ext_item){prompts ? prompts[i] : NULL, completions[i], references[i],
                                      metadata ? metadata[i] : NULL};
    }
    for (size_t k = 0; st == RLC_OK && k < set->n_ext; k++) {
        st = rlc_ext_score(set->ext[k], items, n, r, ok);
        for (int i = 0; st == RLC_OK && i < n; i++) {
            float v = ok[i] ? r[i] : set->ext_on_error;
            if (!ok[i] && failed) failed[i] = 1;
            if (per_reward) per_reward[(size_t)i * nr + first_ext + k] = v;
            tot[i] += set->ext_weights[k] * v;
        }
    }
    free(items), free(r), free(ok);
    if (tot != total) free(tot);
    return st;
}

void rlc_rewards_score(const rlc_reward_set *set, const char *completion, const char *reference,
                       int num_tokens, float *per_reward, float *criteria, float *total) {
    float sum = score_local(set, completion, reference, num_tokens, per_reward, criteria);
    if (set->n_ext) { /* one completion: an error leaves the external rewards failed */
        float t = 0;
        if (rlc_rewards_score_batch(set, 1, NULL, &completion, &reference, NULL, &num_tokens,
                                    per_reward, criteria, &t, NULL) == RLC_OK)
            sum = t;
    }
    if (total) *total = sum;
}

void rlc_rewards_compute(const rlc_reward_set *set, const char *completion, const char *reference,
                         float *per_reward, float *total) {
    rlc_rewards_score(set, completion, reference, -1, per_reward, NULL, total);
}

float rlc_reward_set_max(const rlc_reward_set *set) {
    float m = 0.0f;
    for (size_t i = 0; i < set->n; i++)
        if (set->weights[i] > 0) m += set->weights[i] * set->defs[i]->max_value;
    if (set->rubric && set->rubric_weight > 0) m += set->rubric_weight;
    return m;
}
