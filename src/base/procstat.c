#include "base/procstat.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The unsigned decimal after blanks in [p, end) into *v; returns the first
 * byte after it, or NULL when there is no number or it passes 2^53. */
static const char *read_count(const char *p, const char *end, double *v) {
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p == end || *p < '0' || *p > '9') return NULL;
    double x = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        if ((x = x * 10 + (*p - '0')) > 9007199254740992.0) return NULL;
    *v = x;
    return p;
}

/* Whether only blanks are left in [p, end). */
static int blank_rest(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p == end;
}

enum { F_RSS, F_HWM, F_THREADS, F_COUNT };
static const char *const field_names[F_COUNT] = {"VmRSS", "VmHWM", "Threads"};

rlc_status rlc_proc_status_parse(const char *text, size_t n, rlc_proc_status *out) {
    double val[F_COUNT] = {-1, -1, -1};
    int bad[F_COUNT] = {0};
    const char *p = text, *end = text + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        for (int f = 0; f < F_COUNT; f++) {
            size_t kl = strlen(field_names[f]);
            if ((size_t)(eol - p) <= kl || memcmp(p, field_names[f], kl) || p[kl] != ':') continue;
            double v;
            const char *q = read_count(p + kl + 1, eol, &v);
            if (q && f != F_THREADS) { /* memory lines end in " kB" */
                while (q < eol && (*q == ' ' || *q == '\t'))
                    q++;
                q = eol - q >= 2 && !memcmp(q, "kB", 2) ? q + 2 : NULL;
            }
            if (q && blank_rest(q, eol))
                val[f] = v;
            else
                bad[f] = 1;
        }
        p = nl ? nl + 1 : end;
    }
    out->rss_kib = val[F_RSS];
    out->peak_rss_kib = val[F_HWM];
    out->threads = val[F_THREADS] >= 0 && val[F_THREADS] <= 1e9 ? (int)val[F_THREADS] : -1;
    for (int f = 0; f < F_COUNT; f++) {
        if (bad[f])
            return rlc_errorf(RLC_ERR_FORMAT, "process status: field %s: expected %s",
                              field_names[f],
                              f == F_THREADS ? "a thread count" : "a size as '<number> kB'");
        if (val[f] < 0)
            return rlc_errorf(RLC_ERR_FORMAT, "process status: no %s line", field_names[f]);
    }
    return out->threads >= 0 ? RLC_OK
                             : rlc_errorf(RLC_ERR_FORMAT, "process status: Threads out of range");
}

rlc_status rlc_proc_status_read(rlc_proc_status *out) {
    out->rss_kib = out->peak_rss_kib = -1;
    out->threads = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return rlc_errorf(RLC_ERR_IO, "/proc/self/status: cannot open");
    char buf[8192]; /* the file is about 1.5 KB */
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return rlc_proc_status_parse(buf, n, out);
}

double rlc_clock_seconds(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts)) return NAN;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double rlc_proc_cpu_seconds(void) {
    return rlc_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

int rlc_proc_cpus_allowed(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set)) return 1;
    int k = CPU_COUNT(&set);
    return k > 0 ? k : 1;
}

void rlc_sysmon_begin(rlc_sysmon *m) {
    m->wall = rlc_clock_seconds(CLOCK_MONOTONIC);
    m->cpu = rlc_proc_cpu_seconds();
}

void rlc_sysmon_end(const rlc_sysmon *m, rlc_sys_sample *out) {
    double wall = rlc_clock_seconds(CLOCK_MONOTONIC) - m->wall,
           cpu = rlc_proc_cpu_seconds() - m->cpu;
    out->cpu_cores = wall > 0 ? cpu / wall : NAN;
    out->cpu_util = out->cpu_cores / rlc_proc_cpus_allowed();
    rlc_proc_status ps;
    int ok = rlc_proc_status_read(&ps) == RLC_OK;
    if (!ok) rlc_clear_error(); /* a metric left out, not a failed step */
    out->rss_mib = ok ? ps.rss_kib / 1024.0 : NAN;
    out->peak_rss_mib = ok ? ps.peak_rss_kib / 1024.0 : NAN;
    out->threads = ok ? ps.threads : NAN;
}
