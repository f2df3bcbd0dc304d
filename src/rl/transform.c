#include "rl/transform.h"

#include <math.h>
#include <string.h>

static const char *const tf_names[] = {"none", "gtpo", "hicra", "gtpo_hicra", "gtpo_sepa"};
#define N_TF ((int)(sizeof tf_names / sizeof tf_names[0]))
#define GTPO_MEAN_MIN 1e-8
#define SEPA_VAR_MIN 1e-8

rlc_transform_params rlc_transform_default_params(void) {
    rlc_transform_params p = {.kind = RLC_TRANSFORM_NONE, .gtpo_beta = 0.1f, .hicra_alpha = 0.2f};
    return p;
}

int rlc_transform_uses_planning(rlc_transform kind) {
    return kind == RLC_TRANSFORM_HICRA || kind == RLC_TRANSFORM_GTPO_HICRA ||
           kind == RLC_TRANSFORM_GTPO_SEPA;
}

int rlc_transform_uses_sepa(rlc_transform kind) {
    return kind == RLC_TRANSFORM_GTPO_SEPA;
}

static int uses_gtpo(rlc_transform kind) {
    return kind == RLC_TRANSFORM_GTPO || kind == RLC_TRANSFORM_GTPO_HICRA ||
           kind == RLC_TRANSFORM_GTPO_SEPA;
}

static int uses_hicra(rlc_transform kind) {
    return kind == RLC_TRANSFORM_HICRA || kind == RLC_TRANSFORM_GTPO_HICRA;
}

double rlc_transform_surprisal(float logp) {
    double u = -(double)logp;
    return u < RLC_SURPRISAL_MAX ? u : RLC_SURPRISAL_MAX;
}

/* SEPA's pooled surprisal of token t (u itself when pooling is off or t plans). */
static double pooled(const float *logp, const unsigned char *plan, int t, double lam,
                     double exec_mean) {
    double u = rlc_transform_surprisal(logp[t]);
    return lam > 0 && !(plan && plan[t]) ? lam * exec_mean + (1.0 - lam) * u : u;
}

void rlc_transform_tokens(const rlc_transform_params *p, float A, const float *logp,
                          const unsigned char *plan, int L, double lambda, float *out) {
    if (L <= 0) return;
    double lam = 0, exec_mean = 0, mean = 0;
    int gtpo = uses_gtpo(p->kind), hicra = uses_hicra(p->kind) && plan;
    if (gtpo) {
        if (p->kind == RLC_TRANSFORM_GTPO_SEPA && lambda > 0) {
            double exec_sum = 0;
            int n_exec = 0;
            for (int t = 0; t < L; t++)
                if (!(plan && plan[t])) exec_sum += rlc_transform_surprisal(logp[t]), n_exec++;
            lam = n_exec == 0 ? 0 : lambda > 1 ? 1 : lambda;
            exec_mean = n_exec ? exec_sum / n_exec : 0;
        }
        for (int t = 0; t < L; t++)
            mean += pooled(logp, plan, t, lam, exec_mean);
        mean /= L;
        gtpo = mean > GTPO_MEAN_MIN; /* no surprisal to weigh by: every w is 1 */
    }
    for (int t = 0; t < L; t++) {
        double a = A;
        if (gtpo) {
            double w = 1.0 + p->gtpo_beta * (pooled(logp, plan, t, lam, exec_mean) / mean - 1.0);
            a *= w > 0 ? w : 0;
        }
        if (hicra && plan[t]) a += p->hicra_alpha * fabs(a);
        out[t] = (float)a;
    }
}

/* ---- SEPA ---- */

rlc_sepa_params rlc_sepa_default_params(void) {
    rlc_sepa_params p = {.schedule = RLC_SEPA_LINEAR,
                         .steps = 100,
                         .delay_steps = 10,
                         .correct_rate_gate = 0.1,
                         .ema_decay = 0.99,
                         .var_threshold = 0.2,
                         .warmup = 50};
    return p;
}

void rlc_sepa_init(const rlc_sepa_params *p, rlc_sepa_state *s) {
    memset(s, 0, sizeof *s);
    s->gate_open = p->correct_rate_gate <= 0;
}

void rlc_sepa_observe(const rlc_sepa_params *p, rlc_sepa_state *s, double correct_rate) {
    if (!s->gate_open && isfinite(correct_rate) && correct_rate >= p->correct_rate_gate)
        s->gate_open = 1;
}

double rlc_sepa_lambda(const rlc_sepa_params *p, const rlc_sepa_state *s, int step) {
    if (!s->gate_open) return 0;
    double lin = 0;
    if (p->steps > 0) {
        double x = ((double)step - p->delay_steps) / p->steps;
        lin = x < 0 ? 0 : x > 1 ? 1 : x;
    }
    if (p->schedule != RLC_SEPA_AUTO || !s->have_var_ema || !s->have_var_0) return lin;
    double thr = p->var_threshold > SEPA_VAR_MIN ? p->var_threshold : SEPA_VAR_MIN;
    double v0 = s->var_0 > SEPA_VAR_MIN ? s->var_0 : SEPA_VAR_MIN;
    double ratio = s->var_ema / v0;
    ratio = ratio > 0 ? ratio / thr : 0;
    double autol = 1.0 - (ratio < 1 ? ratio : 1);
    return autol > lin ? autol : lin;
}

void rlc_sepa_update(const rlc_sepa_params *p, rlc_sepa_state *s, double var_batch, long n) {
    if (p->schedule != RLC_SEPA_AUTO || n <= 0 || !isfinite(var_batch)) return;
    s->var_ema =
        s->have_var_ema ? p->ema_decay * s->var_ema + (1.0 - p->ema_decay) * var_batch : var_batch;
    s->have_var_ema = 1;
    if (!s->have_var_0 && ++s->warmup_seen >= p->warmup) {
        s->var_0 = s->var_ema > SEPA_VAR_MIN ? s->var_ema : SEPA_VAR_MIN;
        s->have_var_0 = 1;
    }
}

const char *rlc_transform_name(rlc_transform kind) {
    return (unsigned)kind < (unsigned)N_TF ? tf_names[kind] : "?";
}
