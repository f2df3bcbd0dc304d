/* Numbers as text that reads back exactly: the one formatter behind
 * metrics.jsonl, the dashboard's API replies, config.json, the resolved
 * config.yaml and checkpoint metadata. */
#ifndef RLC_BASE_NUMFMT_H
#define RLC_BASE_NUMFMT_H

#include <stddef.h>

/* Writes the shortest "%.*g" text that strtod reads back as exactly v, except
 * that a whole number below 1e15 in magnitude is written as an integer (10,
 * not 1e+01: JSON readers then see an integer). NaN, inf: "null", as JSON has
 * no other spelling. cap >= 32 holds any. */
void rlc_format_double(char *out, size_t cap, double v);
/* The same for (float)v: the shortest text that strtof reads back as exactly
 * (float)v (at most 9 significant digits), whole numbers as integers. */
void rlc_format_float(char *out, size_t cap, double v);

#endif
