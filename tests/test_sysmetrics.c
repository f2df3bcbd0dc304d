/* The system/... metrics' readings (base/procstat.h): the /proc/<pid>/status
 * parser on known text; resident memory and threads against ps(1) for this
 * process after it touched a known allocation and started known threads; CPU
 * time against getrusage(2); the per-step sampler on threads that spin. */
#include "base/procstat.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

TestSuite(sysmetrics);

/* The shape of a real /proc/self/status (Linux 6.x), values made up. */
static const char status_text[] = "Name:\ttest_rlc\n"
                                  "Umask:\t0022\n"
                                  "State:\tR (running)\n"
                                  "Tgid:\t4242\n"
                                  "Pid:\t4242\n"
                                  "VmPeak:\t  912340 kB\n"
                                  "VmSize:\t  908000 kB\n"
                                  "VmLck:\t       0 kB\n"
                                  "VmHWM:\t  153600 kB\n"
                                  "VmRSS:\t  102400 kB\n"
                                  "RssAnon:\t   90000 kB\n"
                                  "RssFile:\t   12400 kB\n"
                                  "VmData:\t  700000 kB\n"
                                  "Threads:\t7\n"
                                  "SigQ:\t0/63408\n"
                                  "Cpus_allowed_list:\t0-15\n"
                                  "voluntary_ctxt_switches:\t150\n";

Test(sysmetrics, parses_known_status_text) {
    rlc_proc_status ps;
    cr_assert_eq(rlc_proc_status_parse(status_text, strlen(status_text), &ps), RLC_OK, "%s",
                 rlc_last_error());
    cr_assert_eq(ps.rss_kib, 102400.0);
    cr_assert_eq(ps.peak_rss_kib, 153600.0);
    cr_assert_eq(ps.threads, 7);

    /* no trailing newline, spaces instead of tabs, other lines around */
    const char *tight = "VmHWM: 9 kB\nThreads: 1\nVmRSS:   5 kB";
    cr_assert_eq(rlc_proc_status_parse(tight, strlen(tight), &ps), RLC_OK, "%s", rlc_last_error());
    cr_assert(ps.rss_kib == 5 && ps.peak_rss_kib == 9 && ps.threads == 1);

    /* the length bounds the text: cut before Threads, it is missing */
    const char *at = strstr(status_text, "Threads:");
    cr_assert_eq(rlc_proc_status_parse(status_text, (size_t)(at - status_text), &ps),
                 RLC_ERR_FORMAT);
    cr_assert_str_eq(rlc_last_error(), "process status: no Threads line");
    cr_assert_eq(ps.rss_kib, 102400.0);
    cr_assert_eq(ps.threads, -1);
}

Test(sysmetrics, malformed_status_text_is_a_one_line_error) {
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"VmRSS:\t12 MB\nVmHWM:\t12 kB\nThreads:\t1\n",
         "process status: field VmRSS: expected a size as '<number> kB'"},
        {"VmRSS:\t12 kB\nVmHWM:\tlots kB\nThreads:\t1\n",
         "process status: field VmHWM: expected a size as '<number> kB'"},
        {"VmRSS:\t12 kB\nVmHWM:\t12 kB\nThreads:\t1 2\n",
         "process status: field Threads: expected a thread count"},
        {"VmRSS:\t12 kB\nVmHWM:\t12 kB\nThreads:\t-1\n",
         "process status: field Threads: expected a thread count"},
        {"VmRSS:\t12 kB\nThreads:\t3\n", "process status: no VmHWM line"},
        {"VmRSS:\t99999999999999999999 kB\nVmHWM:\t1 kB\nThreads:\t1\n",
         "process status: field VmRSS: expected a size as '<number> kB'"},
        {"VmRSSX:\t12 kB\nVmHWM:\t12 kB\nThreads:\t1\n", "process status: no VmRSS line"},
        {"", "process status: no VmRSS line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rlc_proc_status ps;
        cr_assert_eq(rlc_proc_status_parse(cases[i].text, strlen(cases[i].text), &ps),
                     RLC_ERR_FORMAT, "case %zu", i);
        cr_assert_str_eq(rlc_last_error(), cases[i].msg, "case %zu", i);
    }
}

/* ps(1)'s reading of this process: resident KiB and thread count. */
static void ps_reading(double *rss_kib, int *threads) {
    char cmd[96];
    snprintf(cmd, sizeof cmd, "ps -o rss=,nlwp= -p %d", (int)getpid());
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_eq(fscanf(p, "%lf %d", rss_kib, threads), 2, "%s printed no rss and nlwp", cmd);
    cr_assert_eq(pclose(p), 0, "%s failed", cmd);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void *wait_at_gate(void *arg) {
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return NULL;
}

Test(sysmetrics, memory_and_threads_match_ps_for_a_known_allocation) {
    enum { MIB = 64, K = 3 };
    rlc_proc_status a, b, c;
    cr_assert_eq(rlc_proc_status_read(&a), RLC_OK, "%s", rlc_last_error());
    double ps_rss;
    int ps_threads;
    ps_reading(&ps_rss, &ps_threads);
    cr_assert_eq(a.threads, ps_threads);
    cr_assert(fabs(a.rss_kib - ps_rss) < 2048, "VmRSS %g KiB, ps %g KiB", a.rss_kib, ps_rss);

    size_t n = (size_t)MIB << 20;
    unsigned char *buf = malloc(n);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < n; i += 4096) /* every page touched, so resident */
        buf[i] = (unsigned char)i;
    /* the allocation's growth is read before any thread starts: a thread's
     * stack (and, under AddressSanitizer, its shadow memory) is resident too */
    rlc_proc_status m;
    cr_assert_eq(rlc_proc_status_read(&m), RLC_OK, "%s", rlc_last_error());
    double grew = (m.rss_kib - a.rss_kib) / 1024;
    pthread_t th[K];
    for (int i = 0; i < K; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, wait_at_gate, NULL), 0);

    cr_assert_eq(rlc_proc_status_read(&b), RLC_OK, "%s", rlc_last_error());
    ps_reading(&ps_rss, &ps_threads);
    cr_assert_eq(b.threads, a.threads + K, "threads %d before, %d after starting %d", a.threads,
                 b.threads, K);
    cr_assert_eq(b.threads, ps_threads, "Threads %d, ps nlwp %d", b.threads, ps_threads);
    /* under AddressSanitizer (RLC_SANITIZED, `make asan`) the allocation's
     * shadow memory, an eighth of it, is resident as well */
    double slack = getenv("RLC_SANITIZED") ? MIB / 8.0 + 8 : 8;
    cr_assert(grew > MIB - 1 && grew < MIB + slack, "RSS grew by %.1f MiB for %d MiB touched", grew,
              MIB);
    cr_assert(fabs(b.rss_kib - ps_rss) < 2048, "VmRSS %g KiB, ps %g KiB", b.rss_kib, ps_rss);
    cr_assert_geq(b.peak_rss_kib, b.rss_kib);
    cr_log_info("%d MiB touched, %d threads started: VmRSS %.0f -> %.0f KiB (+%.1f MiB; ps %.0f), "
                "Threads %d -> %d (ps %d)",
                MIB, K, a.rss_kib, b.rss_kib, grew, ps_rss, a.threads, b.threads, ps_threads);
    /* getrusage's maximum resident set is the same high-water mark, read another way */
    struct rusage ru;
    cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
    cr_assert(fabs(b.peak_rss_kib - (double)ru.ru_maxrss) < 2048, "VmHWM %g KiB, ru_maxrss %ld KiB",
              b.peak_rss_kib, ru.ru_maxrss);

    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    for (int i = 0; i < K; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(buf[4096 * 7], (unsigned char)(4096 * 7));
    free(buf); /* a block this large is its own mapping: free unmaps it */
    cr_assert_eq(rlc_proc_status_read(&c), RLC_OK, "%s", rlc_last_error());
    cr_assert_eq(c.threads, a.threads);
    if (!getenv("RLC_SANITIZED")) /* AddressSanitizer keeps freed blocks in quarantine */
        cr_assert_lt(c.rss_kib, b.rss_kib - (MIB - 4) * 1024.0, "RSS %g KiB after free", c.rss_kib);
    /* the kernel's RSS counters are per-CPU and lag by a few pages */
    cr_assert_geq(c.peak_rss_kib, a.rss_kib + (MIB - 1) * 1024.0,
                  "the high-water mark forgot the allocation: before %g KiB, with it %g (peak "
                  "%g), after free %g (peak %g)",
                  a.rss_kib, b.rss_kib, b.peak_rss_kib, c.rss_kib, c.peak_rss_kib);
}

static double ru_seconds(void) {
    struct rusage ru;
    cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return (double)ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * ru.ru_stime.tv_usec;
}

/* Spins until this thread has used arg's seconds of CPU (however busy the
 * machine is, the process then used at least that much per thread). */
static void *spin(void *arg) {
    double until = rlc_clock_seconds(CLOCK_THREAD_CPUTIME_ID) + *(const double *)arg;
    volatile double x = 1;
    while (rlc_clock_seconds(CLOCK_THREAD_CPUTIME_ID) < until)
        x = x * 1.0000001 + 1e-9;
    return NULL;
}

Test(sysmetrics, cpu_time_matches_getrusage_and_cores_are_bounded) {
    enum { T = 2 };
    double secs = 0.15; /* CPU seconds per thread */
    double c0 = rlc_proc_cpu_seconds(), r0 = ru_seconds();
    rlc_sysmon mon;
    rlc_sysmon_begin(&mon);
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, spin, &secs), 0);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    rlc_sys_sample s;
    rlc_sysmon_end(&mon, &s);
    double dc = rlc_proc_cpu_seconds() - c0, dr = ru_seconds() - r0;
    /* the two clocks of the kernel agree to within a few ticks */
    cr_assert(fabs(dc - dr) < 0.03, "CPU seconds: clock %.4f, getrusage %.4f", dc, dr);
    cr_log_info("%d threads spinning %.2f CPU s each: %.4f CPU s (getrusage %.4f), %.2f cores busy",
                T, secs, dc, dr, s.cpu_cores);
    cr_assert(dc >= T * secs, "%d threads spinning %.2f CPU s each used %.3f CPU s", T, secs, dc);
    /* T spinning threads keep at most T cores busy (a busy machine gives fewer) */
    cr_assert(s.cpu_cores > 0.03 && s.cpu_cores <= T + 0.05, "cores %g", s.cpu_cores);
    int cpus = rlc_proc_cpus_allowed();
    FILE *p = popen("nproc", "r");
    int nproc = 0;
    cr_assert(p && fscanf(p, "%d", &nproc) == 1);
    pclose(p);
    cr_assert_eq(cpus, nproc, "affinity %d cores, nproc %d", cpus, nproc);
    cr_assert_float_eq(s.cpu_util, s.cpu_cores / cpus, 1e-12);
    /* the end-of-step memory and thread reading came with it */
    cr_assert(s.rss_mib > 0 && s.peak_rss_mib >= s.rss_mib, "rss %g peak %g", s.rss_mib,
              s.peak_rss_mib);
    cr_assert_geq(s.threads, 1);
}

/* One step's reading (begin + end: two clock pairs, one affinity call, one
 * read of /proc/self/status) costs microseconds, against steps of tenths of
 * a second and more. Loose bound: a busy machine stretches it. */
Test(sysmetrics, a_reading_costs_next_to_nothing) {
    enum { N = 200 };
    rlc_sys_sample s;
    double t0 = rlc_clock_seconds(CLOCK_MONOTONIC), cpu0 = rlc_proc_cpu_seconds();
    for (int i = 0; i < N; i++) {
        rlc_sysmon m;
        rlc_sysmon_begin(&m);
        rlc_sysmon_end(&m, &s);
    }
    double wall_us = (rlc_clock_seconds(CLOCK_MONOTONIC) - t0) / N * 1e6,
           cpu_us = (rlc_proc_cpu_seconds() - cpu0) / N * 1e6;
    cr_log_info("one system reading: %.1f us wall, %.1f us CPU", wall_us, cpu_us);
    cr_assert_lt(cpu_us, 1000, "a reading took %.1f us of CPU", cpu_us);
    cr_assert(s.rss_mib > 0 && s.threads >= 1);
}
