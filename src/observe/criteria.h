/* A rubric's criteria over a run (rewards/rubric.h scores them): each step's
 * means for the records that log them, and at the end the whole-run table
 * rubric_criteria_summary (criterion, mean, std, min, max, samples) in the
 * log, in TensorBoard as text and in RUN_DIR/rubric_criteria_summary.txt and
 * .json. */
#ifndef RLC_OBSERVE_CRITERIA_H
#define RLC_OBSERVE_CRITERIA_H

#include "observe/sinks.h"
#include "observe/tb.h"

typedef struct rlc_criteria_acc {
    int n; /* criteria; 0: no rubric */
    char rubric[RLC_OBS_CRITERION_MAX];
    char names[RLC_OBS_MAX_CRITERIA][RLC_OBS_CRITERION_MAX];
    /* over every sample added: count, sum, sum of squares, extremes */
    double count[RLC_OBS_MAX_CRITERIA], sum[RLC_OBS_MAX_CRITERIA], sumsq[RLC_OBS_MAX_CRITERIA];
    double lo[RLC_OBS_MAX_CRITERIA], hi[RLC_OBS_MAX_CRITERIA];
} rlc_criteria_acc;

/* Empty statistics of rubric's n criteria (at most RLC_OBS_MAX_CRITERIA kept). */
void rlc_criteria_init(rlc_criteria_acc *a, const char *rubric, const char *const *names, int n);

/* Adds a step's samples (those with criteria scores) to the whole-run
 * statistics and writes the step's mean of each criterion to mean[a->n]. */
void rlc_criteria_add(rlc_criteria_acc *a, const rlc_obs_sample *sm, int n, double *mean);

/* Sets r's criteria to mean[a->n] (the step's, from rlc_criteria_add). */
void rlc_criteria_record(const rlc_criteria_acc *a, const double *mean, rlc_metric_record *r);

/* The summary table: logged (INFO), written to tb (may be NULL) as text at
 * step, and to dir/rubric_criteria_summary.txt and .json. Nothing without a
 * scored sample. */
rlc_status rlc_criteria_summary(const rlc_criteria_acc *a, const char *dir, rlc_tb *tb,
                                int64_t step);

#endif
