#include "observe/sinks.h"

#include "base/fs.h"
#include "base/procstat.h"
#include "observe/console.h"
#include "observe/criteria.h"
#include "observe/log.h"
#include "observe/tb.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROMPT_CHARS 200
#define COMPLETION_CHARS 500

struct rlc_sinks {
    rlc_sinks_params p;
    char dir[4096];
    FILE *metrics, *steps, *gens;
    rlc_tb *tb;
    rlc_console *con;
    rlc_table table;
    int legend_done;
    rlc_warn_state warn;
    /* per reward, in record order: the last RLC_RECENT_STEPS step means, and
     * whole-run sums for final/ */
    double recent[RLC_OBS_MAX_REWARDS][RLC_RECENT_STEPS];
    int n_recent, next_recent;
    int n_rewards;
    char names[RLC_OBS_MAX_REWARDS][RLC_OBS_NAME_MAX];
    double n[RLC_OBS_MAX_REWARDS], sum[RLC_OBS_MAX_REWARDS], sumsq[RLC_OBS_MAX_REWARDS];
    double lo[RLC_OBS_MAX_REWARDS], hi[RLC_OBS_MAX_REWARDS];
    rlc_criteria_acc crit;
    /* cost and progress */
    double t_open, sink_s, step_s;
    rlc_strbuf line;
    float *hist;
    int hist_cap;
};

static double now_s(void) {
    return rlc_clock_seconds(CLOCK_MONOTONIC);
}

rlc_sinks_params rlc_sinks_default_params(void) {
    rlc_sinks_params p;
    memset(&p, 0, sizeof p);
    p.mode = RLC_OBS_GRPO;
    p.metrics_jsonl = p.emergence = p.tensorboard = p.console = p.log_file = 1;
    p.log_every = 1;
    p.header_every = 20;
    p.generations_logged = 4;
    p.histogram_every = p.samples_every = 10;
    p.warn = rlc_warn_default_params();
    p.tty = -1;
    return p;
}

/* ---- JSONL files ---- */

rlc_status rlc_jsonl_cut(const char *path, int64_t before) {
    if (!rlc_file_exists(path)) return RLC_OK;
    char *text;
    size_t len;
    RLC_TRY(rlc_read_file(path, &text, &len));
    char *out = rlc_malloc(len + 1);
    if (!out) {
        free(text);
        return RLC_ERR_NOMEM;
    }
    size_t n = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        if (!end) break; /* torn by a crash mid-write */
        size_t l = (size_t)(end - line);
        json_error_t e;
        json_t *j = json_loadb(line, l, 0, &e);
        json_t *sj = j ? json_object_get(j, "step") : NULL;
        if (json_is_integer(sj) && json_integer_value(sj) < before) {
            memcpy(out + n, line, l + 1);
            n += l + 1;
        }
        json_decref(j);
        line = end + 1;
    }
    rlc_status st = n == len ? RLC_OK : rlc_write_file_atomic(path, out, n);
    free(out);
    free(text);
    return st;
}

/* Opens dir/name for appending (resume) or afresh. */
static rlc_status open_jsonl(const char *dir, const char *name, int start, FILE **f) {
    char path[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, dir, name));
    if (start > 0) RLC_TRY(rlc_jsonl_cut(path, start));
    *f = fopen(path, start > 0 ? "a" : "w");
    if (!*f)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    return RLC_OK;
}

static rlc_status write_line(FILE *f, const rlc_strbuf *b, const char *what) {
    if (b->oom) return rlc_errorf(RLC_ERR_NOMEM, "%s: out of memory formatting a line", what);
    if (fwrite(b->p, 1, b->len, f) != b->len || fflush(f) != 0)
        return rlc_errorf(RLC_ERR_IO, "%s: write failed: %s", what, strerror(errno));
    return RLC_OK;
}

/* ---- reward statistics that span steps ---- */

static int reward_slot(rlc_sinks *s, const char *name) {
    for (int k = 0; k < s->n_rewards; k++)
        if (!strcmp(s->names[k], name)) return k;
    if (s->n_rewards == RLC_OBS_MAX_REWARDS) return -1;
    int k = s->n_rewards++;
    snprintf(s->names[k], sizeof s->names[k], "%s", name);
    s->lo[k] = INFINITY;
    s->hi[k] = -INFINITY;
    return k;
}

/* Adds a finished step's per-reward statistics to the rolling window and the
 * whole-run sums. The same arithmetic runs on records read back from
 * metrics.jsonl (exact: numbers are written to round-trip), so a resumed run
 * continues with the same state. */
static void absorb(rlc_sinks *s, const rlc_metric_record *r) {
    double cnt = r->v[RLC_M_TOTAL_COUNT];
    for (int k = 0; k < r->n_rewards; k++) {
        int slot = reward_slot(s, r->reward_names[k]);
        if (slot < 0) continue;
        const double *st = r->reward[k];
        s->recent[slot][s->next_recent] = st[RLC_RS_MEAN];
        if (isnan(cnt) || cnt <= 0 || isnan(st[RLC_RS_MEAN])) continue;
        double sd = isnan(st[RLC_RS_STD]) ? 0 : st[RLC_RS_STD];
        s->n[slot] += cnt;
        s->sum[slot] += st[RLC_RS_MEAN] * cnt;
        s->sumsq[slot] += sd * sd * (cnt - 1) + cnt * st[RLC_RS_MEAN] * st[RLC_RS_MEAN];
        if (st[RLC_RS_MIN] < s->lo[slot]) s->lo[slot] = st[RLC_RS_MIN];
        if (st[RLC_RS_MAX] > s->hi[slot]) s->hi[slot] = st[RLC_RS_MAX];
    }
    if (r->n_rewards > 0) {
        s->next_recent = (s->next_recent + 1) % RLC_RECENT_STEPS;
        if (s->n_recent < RLC_RECENT_STEPS) s->n_recent++;
    }
}

static double recent_mean(const rlc_sinks *s, int slot) {
    double m = 0;
    for (int i = 0; i < s->n_recent; i++)
        m += s->recent[slot][i];
    return s->n_recent ? m / s->n_recent : NAN;
}

/* Re-reads the kept metrics.jsonl records of a resumed run. */
static rlc_status prime(rlc_sinks *s) {
    char path[4096];
    RLC_TRY(rlc_path_join(path, sizeof path, s->dir, "metrics.jsonl"));
    if (!rlc_file_exists(path)) return RLC_OK;
    char *text;
    size_t len;
    RLC_TRY(rlc_read_file(path, &text, &len));
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t l = end ? (size_t)(end - line) : strlen(line);
        json_error_t e;
        json_t *j = json_loadb(line, l, 0, &e);
        if (j) {
            rlc_metric_record r;
            rlc_metric_record_init(&r);
            rlc_metric_record_from_json(&r, j);
            absorb(s, &r);
            json_decref(j);
        }
        if (!end) break;
        line = end + 1;
    }
    free(text);
    return RLC_OK;
}

/* ---- console ---- */

static void console_sink(void *ctx, const char *line) {
    rlc_console_line(ctx, line);
}

static void progress_text(const rlc_sinks *s, int done, char *out, size_t cap) {
    double el = now_s() - s->t_open;
    int n = done - s->p.start_step;
    rlc_progress_format(out, cap, done, s->p.total_steps, el, n > 0 ? el / n : NAN);
    memmove(out, out + strspn(out, " "), strlen(out + strspn(out, " ")) + 1);
}

/* text, each line word-wrapped to width characters (width <= 0: as is);
 * continuation lines indented by indent spaces. */
static void wrap_lines(const char *text, int width, int indent, rlc_strbuf *out) {
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        size_t room = (size_t)width, at = 0;
        while (width > 0 && len - at > room && room > (size_t)indent + 10) {
            size_t cut = at + room; /* break at the last space that fits */
            while (cut > at && line[cut] != ' ')
                cut--;
            if (cut == at) break; /* one long word: leave it */
            rlc_sb_put(out, line + at, cut - at);
            rlc_sb_printf(out, "\n%*s", indent, "");
            at = cut + 1;
            room = (size_t)width - (size_t)indent;
        }
        rlc_sb_put(out, line + at, len - at);
        if (!end) break;
        rlc_sb_put(out, "\n", 1);
        line = end + 1;
    }
}

/* The legend, once, before anything of the first step is printed. A resumed
 * run's console gets one line (the legend goes to the log file only). */
static void print_legend(rlc_sinks *s) {
    if (s->legend_done) return;
    s->legend_done = 1;
    rlc_strbuf b = {0}, every = {0}, cut = {0};
    rlc_table_legend(&s->table, &b);
    if (s->p.log_every > 1)
        rlc_sb_printf(&every, "a row every %d steps (and at evaluations)", s->p.log_every);
    else
        rlc_sb_cstr(&every, "a row every step");
    const rlc_metric_def *defs = rlc_metric_defs();
    for (int i = 0; i < s->table.n_dropped; i++)
        rlc_sb_printf(&cut, " %s", defs[s->table.dropped[i]].header);
    const char *ev = every.p ? every.p : "";
    if (s->p.start_step > 0) {
        rlc_logf(RLC_LOG_INFO, "resumed at step %d: step table as before, %s", s->p.start_step, ev);
        rlc_log_file_only(RLC_LOG_INFO, "step table columns:");
        if (b.p) rlc_log_file_only(RLC_LOG_INFO, b.p);
    } else {
        rlc_logf(RLC_LOG_INFO, "step table, %s:", ev);
        /* on the console each line fits next to the "I " of the log prefix */
        rlc_strbuf w = {0};
        if (b.p) wrap_lines(b.p, s->p.width > 0 ? s->p.width - 2 : 0, 10, &w);
        if (w.p) rlc_logf(RLC_LOG_INFO, "%s", w.p);
        rlc_sb_free(&w);
    }
    if (cut.p) {
        rlc_strbuf w = {0}, m = {0};
        rlc_sb_printf(&m, "not shown at %d columns (every column is in the log file):%s",
                      s->p.width, cut.p);
        if (m.p) wrap_lines(m.p, s->p.width - 2, 2, &w);
        if (w.p) rlc_logf(RLC_LOG_INFO, "%s", w.p);
        rlc_sb_free(&w);
        rlc_sb_free(&m);
    }
    rlc_sb_free(&b);
    rlc_sb_free(&every);
    rlc_sb_free(&cut);
}

/* ---- open ---- */

static rlc_status open_sinks(rlc_sinks *s) {
    const rlc_sinks_params *p = &s->p;
    char path[4096];
    if (p->log_file) {
        char name[512], stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        snprintf(name, sizeof name, "logs/%s_%s.log", stamp, p->run_name ? p->run_name : "run");
        RLC_TRY(rlc_path_join(path, sizeof path, s->dir, "logs"));
        RLC_TRY(rlc_mkdir_p(path));
        RLC_TRY(rlc_path_join(path, sizeof path, s->dir, name));
        RLC_TRY(rlc_log_open_file(path));
        rlc_log_file_only(RLC_LOG_DEBUG,
                          p->start_step > 0 ? "log opened (resumed run)" : "log opened");
    }
    if (p->metrics_jsonl) {
        RLC_TRY(open_jsonl(s->dir, "metrics.jsonl", p->start_step, &s->metrics));
    } else if (p->start_step > 0) {
        RLC_TRY(rlc_path_join(path, sizeof path, s->dir, "metrics.jsonl"));
        RLC_TRY(rlc_jsonl_cut(path, p->start_step));
    }
    if (p->start_step > 0) RLC_TRY(prime(s));
    if (p->emergence && (p->mode & RLC_OBS_GRPO)) {
        RLC_TRY(rlc_path_join(path, sizeof path, s->dir, "emergence"));
        RLC_TRY(rlc_mkdir_p(path));
        RLC_TRY(open_jsonl(path, "steps.jsonl", p->start_step, &s->steps));
        RLC_TRY(open_jsonl(path, "generations.jsonl", p->start_step, &s->gens));
    }
    if (p->tensorboard) {
        RLC_TRY(rlc_path_join(path, sizeof path, s->dir, "tb"));
        RLC_TRY(rlc_tb_cut(path, p->start_step));
        RLC_TRY(rlc_tb_open(path, &s->tb));
        if (p->start_step == 0 && p->n_hp > 0)
            RLC_TRY(rlc_tb_hparams(s->tb, p->hp_keys, p->hp_values, p->n_hp));
        RLC_TRY(rlc_tb_flush(s->tb));
    }
    return RLC_OK;
}

rlc_status rlc_sinks_open(const rlc_sinks_params *p, rlc_sinks **out) {
    *out = NULL;
    rlc_sinks *s = rlc_calloc(1, sizeof *s);
    if (!s) return RLC_ERR_NOMEM;
    s->p = *p;
    if (!s->p.out) s->p.out = stdout;
    if (s->p.tty < 0) s->p.tty = isatty(fileno(s->p.out));
    if (s->p.log_every < 1) s->p.log_every = 1;
    s->t_open = now_s();
    rlc_warn_init(&s->warn);
    rlc_criteria_init(&s->crit, p->rubric_name, p->criteria_names, p->n_criteria);
    rlc_table_init(&s->table, s->p.mode, s->p.features, s->p.header_every);
    if (s->p.width == 0) s->p.width = s->p.tty ? rlc_terminal_width(fileno(s->p.out)) : -1;
    rlc_table_fit(&s->table, s->p.width);
    rlc_status st = RLC_OK;
    if ((size_t)snprintf(s->dir, sizeof s->dir, "%s", p->run_dir) >= sizeof s->dir)
        st = rlc_errorf(RLC_ERR_INVALID, "%s: run directory path too long", p->run_dir);
    if (st == RLC_OK) st = open_sinks(s);
    if (st == RLC_OK && !(s->con = rlc_console_new(s->p.out, s->p.console && s->p.tty)))
        st = rlc_errorf(RLC_ERR_NOMEM, "out of memory");
    if (st) {
        rlc_sinks_close(s);
        return st;
    }
    rlc_log_set_console(s->p.out, RLC_LOG_INFO);
    rlc_log_set_line_sink(console_sink, s->con);
    *out = s;
    return RLC_OK;
}

/* ---- one step ---- */

static rlc_status write_emergence(rlc_sinks *s, const rlc_metric_record *r,
                                  const rlc_obs_sample *sm, int n) {
    rlc_strbuf *b = &s->line;
    char num[40];
    rlc_sb_reset(b);
    rlc_sb_printf(b, "{\"step\":%.0f,\"mean_reward\":", r->v[RLC_M_STEP]);
    rlc_format_double(num, sizeof num, r->v[RLC_M_MEAN_REWARD]);
    rlc_sb_printf(b, "%s,\"correct_count\":%.0f,\"total_count\":%.0f,\"condition\":", num,
                  r->v[RLC_M_CORRECT_COUNT], r->v[RLC_M_TOTAL_COUNT]);
    rlc_sb_json_string(b, r->condition, 0);
    rlc_sb_put(b, "}\n", 2);
    RLC_TRY(write_line(s->steps, b, "emergence/steps.jsonl"));
    int k = s->p.generations_logged < n ? s->p.generations_logged : n;
    if (k == 0) return RLC_OK;
    rlc_sb_reset(b);
    for (int i = 0; i < k; i++) {
        const rlc_obs_sample *x = &sm[(long)i * n / k];
        rlc_sb_printf(b, "{\"step\":%.0f,\"prompt\":", r->v[RLC_M_STEP]);
        rlc_sb_json_string(b, x->prompt ? x->prompt : "", PROMPT_CHARS);
        rlc_sb_put(b, ",\"completion\":", 14);
        rlc_sb_json_string(b, x->completion ? x->completion : "", COMPLETION_CHARS);
        rlc_format_double(num, sizeof num, x->reward);
        rlc_sb_printf(b, ",\"reward\":%s,\"num_tokens\":%d}\n", num, x->num_tokens);
    }
    return write_line(s->gens, b, "emergence/generations.jsonl");
}

static int due(int every, int64_t step) {
    return every > 0 && step % every == 0;
}

static rlc_status write_tb(rlc_sinks *s, const rlc_metric_record *r, const rlc_obs_sample *sm,
                           int n) {
    const rlc_metric_def *defs = rlc_metric_defs();
    int64_t step = (int64_t)r->v[RLC_M_STEP];
    for (int i = 0; i < RLC_M_COUNT; i++) {
        const rlc_metric_def *d = &defs[i];
        if (!d->tb_tag || !(d->modes & s->p.mode)) continue;
        if ((d->flags & RLC_MF_SPARSE) && isnan(r->v[i])) continue;
        RLC_TRY(rlc_tb_scalar(s->tb, d->tb_tag, step, (float)r->v[i]));
    }
    char tag[192];
    for (int k = 0; k < r->n_rewards; k++)
        for (int st = 0; st < RLC_RS_COUNT; st++) {
            snprintf(tag, sizeof tag, "rewards/%s_%s", r->reward_names[k],
                     rlc_reward_stat_name((rlc_reward_stat)st));
            RLC_TRY(rlc_tb_scalar(s->tb, tag, step, (float)r->reward[k][st]));
        }
    for (int k = 0; k < r->n_components; k++) {
        if (isnan(r->component_mean[k])) continue;
        snprintf(tag, sizeof tag, RLC_COMPONENTS_PREFIX "%s", r->component_names[k]);
        RLC_TRY(rlc_tb_scalar(s->tb, tag, step, (float)r->component_mean[k]));
    }
    for (int k = 0; k < r->n_criteria; k++) {
        rlc_criterion_key(tag, sizeof tag, r->rubric, r->criteria_names[k]);
        RLC_TRY(rlc_tb_scalar(s->tb, tag, step, (float)r->criteria_mean[k]));
    }
    if (n > 0 && due(s->p.histogram_every, step)) {
        if (n > s->hist_cap) {
            float *h = realloc(s->hist, (size_t)n * sizeof *h);
            if (!h) return rlc_errorf(RLC_ERR_NOMEM, "out of memory");
            s->hist = h;
            s->hist_cap = n;
        }
        for (int k = 0; k < r->n_rewards && sm[0].rewards; k++) {
            for (int i = 0; i < n; i++)
                s->hist[i] = sm[i].rewards[k];
            snprintf(tag, sizeof tag, "rewards/%s_hist", r->reward_names[k]);
            RLC_TRY(rlc_tb_histogram(s->tb, tag, step, s->hist, (size_t)n));
        }
    }
    int k = s->p.generations_logged < n ? s->p.generations_logged : n;
    if (k > 0 && due(s->p.samples_every, step)) {
        rlc_strbuf t = {0};
        for (int i = 0; i < k; i++) {
            const rlc_obs_sample *x = &sm[(long)i * n / k];
            rlc_sb_printf(&t, "**sample %d** reward %.3f, %d tokens\n\n```\n", i + 1, x->reward,
                          x->num_tokens);
            rlc_sb_utf8(&t, x->prompt ? x->prompt : "", PROMPT_CHARS);
            rlc_sb_put(&t, "\n---\n", 5);
            rlc_sb_utf8(&t, x->completion ? x->completion : "", COMPLETION_CHARS);
            rlc_sb_put(&t, "\n```\n\n", 6);
        }
        rlc_status st = t.oom ? rlc_errorf(RLC_ERR_NOMEM, "out of memory")
                              : rlc_tb_text(s->tb, "samples/completions", step, t.p);
        rlc_sb_free(&t);
        RLC_TRY(st);
    }
    return rlc_tb_flush(s->tb);
}

/* "step 12 | loss +0.0123 | ...": every column of the mode, for the log file. */
static void log_step(rlc_sinks *s, const rlc_metric_record *r) {
    rlc_table all;
    rlc_table_init(&all, s->p.mode, s->p.features | RLC_SHOW_EVAL, 0);
    const rlc_metric_def *defs = rlc_metric_defs();
    rlc_strbuf *b = &s->line;
    rlc_sb_reset(b);
    for (int i = 0; i < all.n_cols; i++) {
        char cell[96];
        const rlc_metric_def *d = &defs[all.cols[i]];
        rlc_metric_format_cell(cell, sizeof cell, d, r);
        rlc_sb_printf(b, "%s%s %s", i ? " | " : "", d->header, cell + strspn(cell, " "));
    }
    for (int k = 0; k < r->n_rewards; k++)
        rlc_sb_printf(b, " | %s %.4g", r->reward_names[k], r->reward[k][RLC_RS_MEAN]);
    if (!b->oom && b->p) rlc_log_file_only(RLC_LOG_DEBUG, b->p);
}

/* Whether step r gets a console row: every log_every steps, the first and
 * last, and evaluation steps. */
static int row_due(const rlc_sinks *s, const rlc_metric_record *r) {
    int step = (int)r->v[RLC_M_STEP], done = step + 1;
    int eval = !isnan(r->v[RLC_M_EVAL_ACCURACY]) || !isnan(r->v[RLC_M_VAL_LOSS]);
    return done % s->p.log_every == 0 || step == s->p.start_step || done >= s->p.total_steps ||
           eval;
}

/* Before the step's warnings: the legend (once) and, when this step's row
 * starts a block, the header, so warnings sit between the header and their
 * row. Returns whether the row is due. */
static int console_head(rlc_sinks *s, const rlc_metric_record *r, const char *prog) {
    print_legend(s);
    if (!row_due(s, r)) return 0;
    if (rlc_table_take_row(&s->table)) {
        rlc_strbuf *b = &s->line;
        if (!rlc_console_is_tty(s->con) && s->table.rows > 1)
            rlc_logf(RLC_LOG_INFO, "progress %s", prog);
        rlc_sb_reset(b);
        rlc_table_header(&s->table, b);
        if (b->p) rlc_console_line(s->con, b->p);
    }
    return 1;
}

static void console_row(rlc_sinks *s, const rlc_metric_record *r, int due, const char *prog) {
    if (due) {
        rlc_strbuf *b = &s->line;
        rlc_sb_reset(b);
        rlc_table_row(&s->table, r, b);
        if (b->p) rlc_console_line(s->con, b->p);
    }
    rlc_console_progress(s->con, prog);
}

/* The psr / nsr / w_reinforce line of step r in the form of the seed's trainer
 * ("W-REINFORCE [Step 12]: 2 pos (λ=0.1) + 2 neg (λ=1.0) | Avg reward: 0.500");
 * 0 when r has none of their metrics. */
static int signed_line(const rlc_sinks *s, const rlc_metric_record *r, char *out, size_t cap) {
    const double *v = r->v;
    long step = (long)v[RLC_M_STEP];
    double tot = v[RLC_M_TOTAL_COUNT];
    if (!isnan(v[RLC_M_PSR_POSITIVE]))
        snprintf(out, cap, "PSR [Step %ld]: %.0f/%.0f positive samples | Avg reward: %.3f", step,
                 v[RLC_M_PSR_POSITIVE], tot, v[RLC_M_PSR_AVG_REWARD]);
    else if (!isnan(v[RLC_M_NSR_NEGATIVE]))
        snprintf(out, cap, "NSR [Step %ld]: %.0f/%.0f negative samples | Avg reward: %.3f", step,
                 v[RLC_M_NSR_NEGATIVE], tot, v[RLC_M_NSR_AVG_REWARD]);
    else if (!isnan(v[RLC_M_WR_POSITIVE])) {
        char wp[32], wn[32]; /* 0.1 and 1.0 as the seed prints them */
        snprintf(wp, sizeof wp, s->p.psr_weight == floor(s->p.psr_weight) ? "%.1f" : "%g",
                 s->p.psr_weight);
        snprintf(wn, sizeof wn, s->p.nsr_weight == floor(s->p.nsr_weight) ? "%.1f" : "%g",
                 s->p.nsr_weight);
        snprintf(
            out, cap,
            "W-REINFORCE [Step %ld]: %.0f pos (\u03bb=%s) + %.0f neg (\u03bb=%s) | Avg reward: "
            "%.3f",
            step, v[RLC_M_WR_POSITIVE], wp, v[RLC_M_WR_NEGATIVE], wn, v[RLC_M_WR_AVG_REWARD]);
    } else
        return 0;
    return 1;
}

rlc_status rlc_sinks_step(rlc_sinks *s, rlc_metric_record *r, const rlc_obs_sample *samples,
                          int n) {
    double t0 = now_s();
    if (n > 0 && samples[0].rewards)
        for (int k = 0; k < r->n_rewards; k++) {
            double lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < n; i++) {
                double x = samples[i].rewards[k];
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            r->reward[k][RLC_RS_MIN] = lo;
            r->reward[k][RLC_RS_MAX] = hi;
        }
    if (s->crit.n > 0 && n > 0) {
        double mean[RLC_OBS_MAX_CRITERIA];
        rlc_criteria_add(&s->crit, samples, n, mean);
        if (due(s->p.histogram_every, (int64_t)r->v[RLC_M_STEP]))
            rlc_criteria_record(&s->crit, mean, r);
    }
    absorb(s, r);
    for (int k = 0; k < r->n_rewards; k++) {
        int slot = reward_slot(s, r->reward_names[k]);
        r->reward[k][RLC_RS_RECENT_MEAN] = slot < 0 ? NAN : recent_mean(s, slot);
    }
    rlc_status st = RLC_OK;
    if (s->metrics) {
        rlc_sb_reset(&s->line);
        rlc_metric_record_jsonl(&s->line, r, s->p.mode);
        st = write_line(s->metrics, &s->line, "metrics.jsonl");
    }
    if (st == RLC_OK && s->steps) st = write_emergence(s, r, samples, n);
    if (st == RLC_OK && s->tb) st = write_tb(s, r, samples, n);
    char prog[256];
    int due = 0;
    if (s->p.console) {
        progress_text(s, (int)r->v[RLC_M_STEP] + 1, prog, sizeof prog);
        due = console_head(s, r, prog); /* legend and header before the warnings */
    }
    char warns[8][RLC_WARN_LINE];
    int nw = rlc_warn_check(&s->warn, &s->p.warn, r, warns, 8);
    for (int i = 0; i < nw; i++)
        rlc_logf(RLC_LOG_WARN, "%s", warns[i]);
    if (s->p.log_file) log_step(s, r);
    if (s->p.console) console_row(s, r, due, prog);
    char sl[RLC_WARN_LINE];
    if (signed_line(s, r, sl, sizeof sl)) { /* console with its row, log file every step */
        if (s->p.log_file) rlc_log_file_only(RLC_LOG_INFO, sl);
        if (s->p.console && due) rlc_console_line(s->con, sl);
    }
    if (!isnan(r->v[RLC_M_STEP_TIME])) s->step_s += r->v[RLC_M_STEP_TIME];
    s->sink_s += now_s() - t0;
    return st;
}

rlc_status rlc_sinks_finish(rlc_sinks *s) {
    int64_t step = s->p.total_steps;
    for (int k = 0; k < s->n_rewards; k++) {
        double n = s->n[k];
        if (n <= 0) continue;
        double mean = s->sum[k] / n;
        double var = n > 1 ? (s->sumsq[k] - n * mean * mean) / (n - 1) : 0;
        double v[5] = {mean, sqrt(var > 0 ? var : 0), s->hi[k], s->lo[k], n};
        static const char *const what[5] = {"mean", "std", "max", "min", "total_samples"};
        rlc_logf(RLC_LOG_INFO,
                 "reward %s over the run: mean %.4f  std %.4f  max %.4g  min %.4g  "
                 "(%.0f samples)",
                 s->names[k], v[0], v[1], v[2], v[3], v[4]);
        for (int i = 0; s->tb && i < 5; i++) {
            char tag[128];
            snprintf(tag, sizeof tag, "final/%s_%s", s->names[k], what[i]);
            RLC_TRY(rlc_tb_scalar(s->tb, tag, step, (float)v[i]));
        }
    }
    RLC_TRY(rlc_criteria_summary(&s->crit, s->dir, s->tb, step));
    return s->tb ? rlc_tb_flush(s->tb) : RLC_OK;
}

void rlc_sinks_cost(const rlc_sinks *s, double *sink_s, double *step_s) {
    *sink_s = s->sink_s;
    *step_s = s->step_s;
}

rlc_status rlc_sinks_close(rlc_sinks *s) {
    if (!s) return RLC_OK;
    if (s->step_s > 0)
        rlc_logf(RLC_LOG_INFO, "logging took %.3f s, %.2f%% of the %.1f s spent in steps",
                 s->sink_s, 100 * s->sink_s / s->step_s, s->step_s);
    rlc_status st = RLC_OK;
    FILE *fs[3] = {s->metrics, s->steps, s->gens};
    for (int i = 0; i < 3; i++)
        if (fs[i] && fclose(fs[i]) != 0 && st == RLC_OK)
            st = rlc_errorf(RLC_ERR_IO, "closing a run file: %s", strerror(errno));
    rlc_status tst = rlc_tb_close(s->tb);
    if (st == RLC_OK) st = tst;
    rlc_log_set_line_sink(NULL, NULL);
    rlc_log_set_console(NULL, RLC_LOG_INFO);
    rlc_console_free(s->con);
    if (s->p.log_file) rlc_log_close_file();
    rlc_sb_free(&s->line);
    free(s->hist);
    free(s);
    return st;
}
