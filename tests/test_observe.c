/* The metric registry and what reads it: cell formatting (nan, fractions),
 * metrics.jsonl lines that read back exactly, the legend and header of the
 * console table, the progress line on a terminal and off one, warnings on
 * synthetic bad records, the leveled logger and its file, and cutting JSONL
 * files back for a resumed run. */
#include "observe/console.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "observe/sinks.h"
#include "observe/warn.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <string.h>

TestSuite(observe, .init = tmpdir_setup, .fini = tmpdir_teardown);

static const rlc_metric_def *def(rlc_metric_id id) {
    return &rlc_metric_defs()[id];
}

static char *cell(rlc_metric_id id, const rlc_metric_record *r) {
    static char buf[4][96];
    static int next;
    char *b = buf[next++ % 4];
    rlc_metric_format_cell(b, 96, def(id), r);
    return b;
}

Test(observe, registry_is_one_consistent_table) {
    const rlc_metric_def *d = rlc_metric_defs();
    for (int i = 0; i < RLC_M_COUNT; i++) {
        cr_assert_eq((int)d[i].id, i, "entry %d out of order", i);
        cr_assert(d[i].key && d[i].key[0] && d[i].legend && d[i].legend[0], "%d", i);
        cr_assert(!strchr(d[i].legend, '\n'), "%s: legend must be one line", d[i].key);
        cr_assert_eq(rlc_metric_def_by_key(d[i].key), &d[i], "%s: key not unique", d[i].key);
        for (int j = 0; j < i; j++)
            cr_assert(!d[i].tb_tag || !d[j].tb_tag || strcmp(d[i].tb_tag, d[j].tb_tag),
                      "%s and %s share a TensorBoard tag", d[i].key, d[j].key);
        if (!d[i].header) continue;
        cr_assert_geq(d[i].width, (int)strlen(d[i].header), "%s: column narrower than header",
                      d[i].key);
        cr_assert(d[i].fmt || d[i].frac_den != RLC_M_STEP, "%s: column without a format", d[i].key);
    }
    /* the names the issue asks for */
    const char *want[] = {
        "step", "loss", "mean_reward", "reward_std", "correct_rate", "running_correct_rate",
        "frac_reward_zero_std", "num_datums", "max_token_hit_rate", "kl", "entropy", "clip_ratio",
        "completion_len_mean", "completion_len_min", "completion_len_max", "grad_norm", "lr",
        "step_time_s", "gen_time_s", "tokens_per_s", "batch_size", "group_size", "gen_tokens",
        "train_tokens_per_s",
        /* seed 004's psr / nsr / w_reinforce metrics */
        "psr/positive_samples", "psr/positive_ratio", "psr/avg_reward", "nsr/negative_samples",
        "nsr/negative_ratio", "nsr/avg_reward", "w_reinforce/positive_samples",
        "w_reinforce/negative_samples", "w_reinforce/pos_neg_ratio", "w_reinforce/avg_reward"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(rlc_metric_def_by_key(want[i]), "%s missing", want[i]);
    cr_assert_str_eq(def(RLC_M_LOSS)->tb_tag, "train/loss");
    cr_assert_str_eq(def(RLC_M_MEAN_REWARD)->tb_tag, "train/rewards/mean_reward");
    cr_assert_str_eq(def(RLC_M_CORRECT_RATE)->tb_tag, "train/rewards/correct_rate");
}

Test(observe, cells_render_nan_and_fractions) {
    rlc_metric_record r;
    rlc_metric_record_init(&r);
    cr_assert_str_eq(cell(RLC_M_LOSS, &r), "     nan");
    cr_assert_str_eq(cell(RLC_M_CORRECT_COUNT, &r), "    nan");
    r.v[RLC_M_LOSS] = 0.123456;
    r.v[RLC_M_CORRECT_COUNT] = 3;
    r.v[RLC_M_TOTAL_COUNT] = 16;
    r.v[RLC_M_ZERO_STD_GROUPS] = 0;
    r.v[RLC_M_BATCH_SIZE] = 4;
    r.v[RLC_M_LR] = 3e-4;
    r.v[RLC_M_STEP] = 12;
    cr_assert_str_eq(cell(RLC_M_LOSS, &r), " +0.1235");
    cr_assert_str_eq(cell(RLC_M_CORRECT_COUNT, &r), "   3/16");
    cr_assert_str_eq(cell(RLC_M_ZERO_STD_GROUPS, &r), "  0/4");
    cr_assert_str_eq(cell(RLC_M_LR, &r), "3.0e-04");
    cr_assert_str_eq(cell(RLC_M_STEP, &r), "   12");
    r.v[RLC_M_TOTAL_COUNT] = NAN;
    cr_assert_str_eq(cell(RLC_M_CORRECT_COUNT, &r), "    nan");
    r.v[RLC_M_LOSS] = NAN;
    cr_assert_str_eq(cell(RLC_M_LOSS, &r), "     nan");
}

Test(observe, numbers_are_shortest_and_exact) {
    char b[64];
    rlc_format_double(b, sizeof b, 0.1);
    cr_assert_str_eq(b, "0.1");
    rlc_format_double(b, sizeof b, 1.0 / 3);
    cr_assert_eq(strtod(b, NULL), 1.0 / 3, "%s", b);
    cr_assert_str_eq(b, "0.3333333333333333");
    rlc_format_double(b, sizeof b, NAN);
    cr_assert_str_eq(b, "null");
    rlc_format_double(b, sizeof b, -INFINITY);
    cr_assert_str_eq(b, "null");
    rlc_format_float(b, sizeof b, (double)0.001f);
    cr_assert_str_eq(b, "0.001");
    for (int i = 1; i < 2000; i++) {
        double v = sin(i) * pow(10, i % 13 - 6);
        rlc_format_double(b, sizeof b, v);
        cr_assert_eq(strtod(b, NULL), v, "%.17g -> %s", v, b);
        rlc_format_float(b, sizeof b, v);
        cr_assert_eq((float)strtod(b, NULL), (float)v, "%.9g -> %s", (float)v, b);
    }
}

Test(observe, json_strings_escape_and_truncate_by_character) {
    rlc_strbuf b = {0};
    rlc_sb_json_string(&b, "a\"b\\c\nd\te\x01 caf\xc3\xa9 \xff!", 0);
    cr_assert_str_eq(b.p, "\"a\\\"b\\\\c\\nd\\te\\u0001 caf\xc3\xa9 \\ufffd!\"");
    json_error_t e;
    json_t *j = json_loads(b.p, JSON_DECODE_ANY, &e);
    cr_assert_not_null(j, "%s", e.text);
    json_decref(j);
    rlc_sb_reset(&b);
    rlc_sb_json_string(&b, "\xc3\xa9\xc3\xa9\xc3\xa9xyz", 4); /* 4 characters, 7 bytes */
    cr_assert_str_eq(b.p, "\"\xc3\xa9\xc3\xa9\xc3\xa9x\"");
    rlc_sb_reset(&b);
    rlc_sb_utf8(&b, "ok\xe2\x9c\x93\xc3(", 0); /* a truncated 2-byte sequence */
    cr_assert_str_eq(b.p, "ok\xe2\x9c\x93\xef\xbf\xbd(");
    rlc_sb_free(&b);
}

static void sample_record(rlc_metric_record *r) {
    rlc_metric_record_init(r);
    snprintf(r->condition, sizeof r->condition, "grpo+token_mean");
    for (int i = 0; i < RLC_M_COUNT; i++)
        r->v[i] = rlc_metric_defs()[i].flags & RLC_MF_INT ? i + 1 : (i + 1) / 7.0;
    r->v[RLC_M_STEP] = 5;
    r->v[RLC_M_CORRECT_COUNT] = 3;
    r->v[RLC_M_TOTAL_COUNT] = 16;
    r->v[RLC_M_ENTROPY] = NAN;
    r->v[RLC_M_VAL_LOSS] = NAN;
    r->v[RLC_M_LR] = (float)1e-4;
    r->n_rewards = 2;
    strcpy(r->reward_names[0], "number_check");
    strcpy(r->reward_names[1], "format_approx");
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < RLC_RS_COUNT; s++)
            r->reward[k][s] = 1.0 / (3 + k + s);
}

Test(observe, jsonl_line_reads_back_exactly) {
    rlc_metric_record r, back;
    sample_record(&r);
    rlc_strbuf b = {0};
    rlc_metric_record_jsonl(&b, &r, RLC_OBS_GRPO);
    cr_assert_eq(b.p[b.len - 1], '\n');
    cr_assert_eq(strchr(b.p, '\n'), b.p + b.len - 1, "one line");
    cr_assert(!strncmp(b.p, "{\"step\":5,\"condition\":\"grpo+token_mean\",\"loss\":", 47), "%s",
              b.p);
    cr_assert(strstr(b.p, "\"entropy\":null"), "%s", b.p);
    cr_assert(strstr(b.p, "\"lr\":0.0001,"), "%s", b.p);
    cr_assert(!strstr(b.p, "val_loss"), "sparse NaN must be left out: %s", b.p);
    cr_assert(strstr(b.p, "\"rewards/format_approx/recent_mean\":"), "%s", b.p);
    json_error_t e;
    json_t *j = json_loads(b.p, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    rlc_metric_record_init(&back);
    rlc_metric_record_from_json(&back, j);
    json_decref(j);
    const rlc_metric_def *d = rlc_metric_defs();
    for (int i = 0; i < RLC_M_COUNT; i++) {
        if (!(d[i].modes & RLC_OBS_GRPO)) continue;
        if (d[i].flags & RLC_MF_F32) { /* float-exact */
            cr_assert_eq((float)back.v[i], (float)r.v[i], "%s", d[i].key);
            continue;
        }
        cr_assert(r.v[i] == back.v[i] || (isnan(r.v[i]) && isnan(back.v[i])), "%s: %.17g vs %.17g",
                  d[i].key, r.v[i], back.v[i]);
    }
    cr_assert_str_eq(back.condition, r.condition);
    cr_assert_eq(back.n_rewards, 2);
    cr_assert_str_eq(back.reward_names[1], "format_approx");
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < RLC_RS_COUNT; s++)
            cr_assert_eq(back.reward[k][s], r.reward[k][s]);
    /* SFT lines carry no GRPO metrics */
    rlc_sb_reset(&b);
    r.n_rewards = 0;
    rlc_metric_record_jsonl(&b, &r, RLC_OBS_SFT);
    cr_assert(!strstr(b.p, "\"mean_reward\"") && !strstr(b.p, "group_size"), "%s", b.p);
    cr_assert(strstr(b.p, "\"grad_norm\":") && strstr(b.p, "\"batch_size\":"), "%s", b.p);
    rlc_sb_free(&b);
}

/* The header's words, each of which the legend must decode. */
static void assert_legend_covers(unsigned mode, int eval) {
    rlc_table t;
    rlc_table_init(&t, mode, eval, 0);
    rlc_strbuf h = {0}, l = {0};
    rlc_table_header(&t, &h);
    rlc_table_legend(&t, &l);
    int words = 0, lines = 1;
    for (const char *p = l.p; *p; p++)
        lines += *p == '\n';
    char *save, *hdr = strdup(h.p);
    for (char *w = strtok_r(hdr, " ", &save); w; w = strtok_r(NULL, " ", &save), words++) {
        char needle[64];
        snprintf(needle, sizeof needle, "%8s  ", w);
        char *at = strstr(l.p, needle);
        cr_assert_not_null(at, "column %s has no legend line:\n%s", w, l.p);
        cr_assert(at == l.p || at[-1] == '\n', "%s", w);
    }
    cr_assert_eq(words, t.n_cols);
    cr_assert_eq(lines, t.n_cols, "one legend line per column shown");
    cr_assert_eq(strstr(h.p, "eval") != NULL, eval != 0, "%s", h.p);
    free(hdr);
    rlc_sb_free(&h);
    rlc_sb_free(&l);
}

Test(observe, legend_decodes_every_column_shown) {
    assert_legend_covers(RLC_OBS_GRPO, 0);
    assert_legend_covers(RLC_OBS_GRPO, 1);
    assert_legend_covers(RLC_OBS_SFT, 1);
    rlc_table t;
    rlc_table_init(&t, RLC_OBS_SFT, 0, 0);
    for (int i = 0; i < t.n_cols; i++)
        cr_assert(!(rlc_metric_defs()[t.cols[i]].modes == RLC_OBS_GRPO), "GRPO column in SFT");
}

Test(observe, table_rows_align_and_header_repeats) {
    rlc_table t;
    rlc_table_init(&t, RLC_OBS_GRPO, 0, 3);
    int pattern[8];
    for (int i = 0; i < 8; i++)
        pattern[i] = rlc_table_take_row(&t);
    int want[8] = {1, 0, 0, 1, 0, 0, 1, 0};
    cr_assert_arr_eq(pattern, want, sizeof want);
    rlc_table_init(&t, RLC_OBS_GRPO, 0, 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(rlc_table_take_row(&t), i == 0);
    rlc_metric_record r;
    sample_record(&r);
    rlc_strbuf h = {0}, row = {0};
    rlc_table_header(&t, &h);
    rlc_table_row(&t, &r, &row);
    cr_assert_eq(h.len, row.len, "header:\n%s\nrow:\n%s", h.p, row.p);
    cr_assert(strstr(row.p, "   3/16 "), "%s", row.p);
    cr_assert(strstr(row.p, "  nan "), "entropy is NaN: %s", row.p);
    rlc_sb_free(&h);
    rlc_sb_free(&row);
}

Test(observe, progress_line_text) {
    char b[256];
    rlc_progress_format(b, sizeof b, 100, 220, 55.0, 0.5);
    cr_assert_str_eq(b, " 45% [#########           ] 100/220 00:55<01:00 0.50s/step");
    rlc_progress_format(b, sizeof b, 0, 10, 0.0, NAN);
    cr_assert_str_eq(b, "  0% [                    ] 0/10 00:00<? ?s/step");
    rlc_progress_format(b, sizeof b, 3000, 3000, 4000.0, 1.3);
    cr_assert_str_eq(b, "100% [####################] 3000/3000 1:06:40<00:00 1.30s/step");
}

static char *console_run(int tty) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rlc_console *c = rlc_console_new(f, tty);
    rlc_console_line(c, "I first");
    rlc_console_progress(c, "P1");
    rlc_console_line(c, "row 1");
    rlc_console_progress(c, "P2");
    rlc_console_line(c, "W bad");
    rlc_console_free(c);
    fclose(f);
    return text;
}

Test(observe, progress_stays_at_the_bottom_of_a_terminal_only) {
    char *t = console_run(1);
    cr_assert_str_eq(t, "I first\n"
                        "\r\033[KP1"
                        "\r\033[Krow 1\nP1"
                        "\r\033[KP2"
                        "\r\033[KW bad\nP2"
                        "\n");
    free(t);
    t = console_run(0);
    cr_assert_str_eq(t, "I first\nrow 1\nW bad\n");
    free(t);
}

static int warn_count(rlc_warn_state *s, const rlc_warn_params *p, const rlc_metric_record *r,
                      const char *needle) {
    char out[8][RLC_WARN_LINE];
    int n = rlc_warn_check(s, p, r, out, 8), hits = 0;
    for (int i = 0; i < n; i++)
        hits += strstr(out[i], needle) != NULL;
    return hits;
}

static void healthy(rlc_metric_record *r, int step) {
    rlc_metric_record_init(r);
    r->v[RLC_M_STEP] = step;
    r->v[RLC_M_LOSS] = 0.1;
    r->v[RLC_M_GRAD_NORM] = 1.0 + 0.01 * step;
    r->v[RLC_M_ZERO_STD_GROUPS] = 1;
    r->v[RLC_M_BATCH_SIZE] = 8;
    r->v[RLC_M_CORRECT_COUNT] = 5;
    r->v[RLC_M_MAX_TOKEN_HIT_RATE] = 0.1;
}

Test(observe, warnings_fire_on_bad_records_only) {
    rlc_warn_params p = rlc_warn_default_params();
    p.no_correct_steps = 3;
    rlc_warn_state s;
    rlc_warn_init(&s);
    rlc_metric_record r;
    char out[8][RLC_WARN_LINE];
    for (int i = 0; i < 30; i++) {
        healthy(&r, i);
        cr_assert_eq(rlc_warn_check(&s, &p, &r, out, 8), 0, "step %d: %s", i, out[0]);
    }
    healthy(&r, 30);
    r.v[RLC_M_GRAD_NORM] = 4.0; /* < 5x the median */
    cr_assert_eq(warn_count(&s, &p, &r, "spike"), 0);
    r.v[RLC_M_GRAD_NORM] = 50.0;
    cr_assert_eq(warn_count(&s, &p, &r, "gradient norm spike 50"), 1);
    healthy(&r, 31);
    r.v[RLC_M_LOSS] = NAN;
    cr_assert_eq(warn_count(&s, &p, &r, "step 31: loss is nan"), 1);
    /* all groups zero-variance: on the first step, then every RLC_WARN_REPEAT */
    int fired[45];
    for (int i = 0; i < 45; i++) {
        healthy(&r, 40 + i);
        r.v[RLC_M_ZERO_STD_GROUPS] = 8;
        fired[i] = warn_count(&s, &p, &r, "all 8 prompt groups have equal rewards");
    }
    for (int i = 0; i < 45; i++)
        cr_assert_eq(fired[i], i % RLC_WARN_REPEAT == 0, "zero-std step %d", i);
    /* no correct completion: at the 3rd step in a row */
    rlc_warn_init(&s);
    for (int i = 0; i < 5; i++) {
        healthy(&r, i);
        r.v[RLC_M_CORRECT_COUNT] = 0;
        cr_assert_eq(warn_count(&s, &p, &r, "no correct completion for 3 steps"), i == 2, "%d", i);
    }
    healthy(&r, 5); /* one correct step ends the streak */
    cr_assert_eq(warn_count(&s, &p, &r, "no correct"), 0);
    /* max tokens for most samples */
    healthy(&r, 6);
    r.v[RLC_M_MAX_TOKEN_HIT_RATE] = 0.75;
    cr_assert_eq(warn_count(&s, &p, &r, "75% of completions hit max_new_tokens"), 1);
    /* switched off */
    p.max_token_rate = 0;
    p.grad_spike = 0;
    rlc_warn_init(&s);
    r.v[RLC_M_GRAD_NORM] = 1e9;
    cr_assert_eq(rlc_warn_check(&s, &p, &r, out, 8), 0, "%s", out[0]);
}

/* psr / nsr / w_reinforce: no positive (psr, w_reinforce) or no negative (nsr,
 * w_reinforce) sample for no_signal_steps steps in a row warns; groups of
 * equal rewards do not (these advantages learn from them); other runs
 * (the metrics NaN) never warn about either. */
Test(observe, warnings_for_signed_advantages) {
    rlc_warn_params p = rlc_warn_default_params();
    cr_assert_eq(p.no_signal_steps, 5);
    rlc_warn_state s;
    rlc_metric_record r;
    static const struct {
        rlc_metric_id zero, other; /* the count that stays 0; the other one (STEP: none) */
        const char *needle;
    } cases[] = {
        {RLC_M_PSR_POSITIVE, RLC_M_STEP, "no positive samples for 5 steps"},
        {RLC_M_NSR_NEGATIVE, RLC_M_STEP, "no negative samples for 5 steps"},
        {RLC_M_WR_POSITIVE, RLC_M_WR_NEGATIVE, "no positive samples for 5 steps"},
        {RLC_M_WR_NEGATIVE, RLC_M_WR_POSITIVE, "no negative samples for 5 steps"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        rlc_warn_init(&s);
        for (int i = 0; i < 8; i++) {
            healthy(&r, i);
            r.v[RLC_M_ZERO_STD_GROUPS] = 8; /* every group equal: no warning here */
            r.v[cases[c].zero] = i == 6 ? 3 : 0;
            if (cases[c].other != RLC_M_STEP) r.v[cases[c].other] = 16;
            char out[8][RLC_WARN_LINE];
            int n = rlc_warn_check(&s, &p, &r, out, 8);
            int want = i == 4; /* the 5th step in a row; step 6 ends the streak */
            cr_assert_eq(n, want, "case %zu step %d: %d warnings (%s)", c, i, n, n ? out[0] : "");
            if (want) cr_assert(strstr(out[0], cases[c].needle), "case %zu: %s", c, out[0]);
        }
    }
    rlc_warn_init(&s); /* another advantage: nothing */
    for (int i = 0; i < 8; i++) {
        healthy(&r, i);
        cr_assert_eq(warn_count(&s, &p, &r, "samples for"), 0);
    }
    p.no_signal_steps = 0; /* switched off */
    rlc_warn_init(&s);
    for (int i = 0; i < 8; i++) {
        healthy(&r, i);
        r.v[RLC_M_PSR_POSITIVE] = 0;
        cr_assert_eq(warn_count(&s, &p, &r, "samples for"), 0);
    }
}

Test(observe, log_levels_marks_and_file) {
    char *text = NULL;
    size_t len = 0;
    FILE *con = open_memstream(&text, &len);
    rlc_log_set_console(con, RLC_LOG_INFO);
    cr_assert_eq(rlc_log_open_file(tmp_path("run.log")), RLC_OK, "%s", rlc_last_error());
    rlc_logf(RLC_LOG_DEBUG, "detail %d", 1);
    rlc_logf(RLC_LOG_INFO, "hello");
    rlc_logf(RLC_LOG_WARN, "two\nlines");
    rlc_logf(RLC_LOG_ERROR, "broken");
    rlc_log_file_only(RLC_LOG_DEBUG, "file only");
    rlc_log_close_file();
    rlc_log_set_console(NULL, RLC_LOG_INFO);
    fclose(con);
    cr_assert_str_eq(text, "I hello\nW two\nW lines\nE broken\n");
    free(text);
    size_t n;
    FILE *f = fopen(tmp_path("run.log"), "r");
    cr_assert_not_null(f);
    char lines[8][256];
    for (n = 0; n < 8 && fgets(lines[n], sizeof lines[n], f); n++) {
    }
    fclose(f);
    cr_assert_eq(n, 6);
    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} "
                         "(DEBUG|INFO |WARN |ERROR) .+\n$",
                         REG_EXTENDED),
                 0);
    const char *want[] = {"DEBUG detail 1", "INFO  hello",  "WARN  two",
                          "WARN  lines",    "ERROR broken", "DEBUG file only"};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(regexec(&re, lines[i], 0, NULL, 0), 0, "%s", lines[i]);
        cr_assert(strstr(lines[i], want[i]), "%s", lines[i]);
    }
    regfree(&re);
}

Test(observe, jsonl_cut_keeps_earlier_steps_and_drops_a_torn_line) {
    FILE *f = fopen(tmp_path("m.jsonl"), "w");
    for (int s = 0; s < 5; s++)
        fprintf(f, "{\"step\":%d,\"x\":%d}\n", s, s * s);
    fprintf(f, "{\"step\":1,\"x\""); /* torn by a crash */
    fclose(f);
    cr_assert_eq(rlc_jsonl_cut(tmp_path("m.jsonl"), 3), RLC_OK, "%s", rlc_last_error());
    char buf[256] = {0};
    f = fopen(tmp_path("m.jsonl"), "r");
    cr_assert_eq(fread(buf, 1, sizeof buf - 1, f) > 0, 1);
    fclose(f);
    cr_assert_str_eq(buf, "{\"step\":0,\"x\":0}\n{\"step\":1,\"x\":1}\n{\"step\":2,\"x\":4}\n");
    cr_assert_eq(rlc_jsonl_cut(tmp_path("missing.jsonl"), 3), RLC_OK);
}

/* A rubric's criteria means: "criteria/<rubric>/<criterion>_mean" after the
 * rewards, read back value for value. */
Test(observe, criteria_means_read_back_exactly) {
    rlc_metric_record r, back;
    sample_record(&r);
    static const char *const names[] = {"correct", "format.tags"};
    r.n_criteria = 2;
    strcpy(r.rubric, "style");
    for (int k = 0; k < 2; k++) {
        strcpy(r.criteria_names[k], names[k]);
        r.criteria_mean[k] = 1.0 / (7 + k);
    }
    rlc_strbuf b = {0};
    rlc_metric_record_jsonl(&b, &r, RLC_OBS_GRPO);
    cr_assert(strstr(b.p, "\"criteria/style/format.tags_mean\":0.125}\n"), "%s", b.p);
    json_t *j = json_loads(b.p, 0, NULL);
    cr_assert_not_null(j);
    rlc_metric_record_init(&back);
    rlc_metric_record_from_json(&back, j);
    json_decref(j);
    cr_assert_eq(back.n_criteria, 2);
    cr_assert_str_eq(back.rubric, "style");
    for (int k = 0; k < 2; k++) {
        cr_assert_str_eq(back.criteria_names[k], names[k]);
        cr_assert_eq(back.criteria_mean[k], r.criteria_mean[k]);
    }
    cr_assert_eq(back.n_rewards, 2, "criteria are not rewards");
    rlc_sb_free(&b);
}
