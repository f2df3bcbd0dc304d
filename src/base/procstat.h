/* What this process uses of the machine, for the system/... metrics: resident
 * memory and thread count from /proc/self/status, CPU time from the kernel's
 * per-process clock. Meant to be read once per training step (one small file
 * read and two clock reads), never per token. */
#ifndef RLC_BASE_PROCSTAT_H
#define RLC_BASE_PROCSTAT_H

#include "base/status.h"

#include <stddef.h>
#include <time.h>

typedef struct rlc_proc_status {
    double rss_kib;      /* VmRSS: resident set now, KiB */
    double peak_rss_kib; /* VmHWM: the resident set's high-water mark, KiB */
    int threads;         /* Threads: the process's threads, the calling one included */
} rlc_proc_status;

/* Parses the text of a /proc/<pid>/status file (n bytes, need not end in a
 * NUL): the "VmRSS:", "VmHWM:" (both "<number> kB") and "Threads:" lines.
 * RLC_OK when all three are there and well formed; otherwise RLC_ERR_FORMAT
 * naming the first missing or malformed field, and *out is left with -1 in
 * what was not read. */
rlc_status rlc_proc_status_parse(const char *text, size_t n, rlc_proc_status *out);

/* rlc_proc_status_parse of /proc/self/status (RLC_ERR_IO if it cannot be read). */
rlc_status rlc_proc_status_read(rlc_proc_status *out);

/* The reading of clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, ...) in
 * seconds; NaN when it cannot be read. */
double rlc_clock_seconds(clockid_t id);

/* CPU seconds (user + system, every thread) this process has used so far. */
double rlc_proc_cpu_seconds(void);

/* The cores this process may run on (its scheduler affinity), at least 1. */
int rlc_proc_cpus_allowed(void);

/* One step's reading: begin before the step, end after it. */
typedef struct rlc_sysmon {
    double wall, cpu; /* at begin, seconds */
} rlc_sysmon;

typedef struct rlc_sys_sample {
    double rss_mib, peak_rss_mib; /* at the step's end, MiB (NaN if unreadable) */
    double threads;               /* at the step's end (NaN if unreadable) */
    double cpu_cores; /* CPU seconds used during the step / its wall seconds: cores busy */
    double cpu_util;  /* cpu_cores / rlc_proc_cpus_allowed(), 0..1 */
} rlc_sys_sample;

void rlc_sysmon_begin(rlc_sysmon *m);
void rlc_sysmon_end(const rlc_sysmon *m, rlc_sys_sample *out);

#endif
