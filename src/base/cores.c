#include "base/cores.h"

#include "base/killpoint.h"
#include "base/procstat.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int init, on, max;      /* max: OpenMP's count at the first call */
    double wall, cpu, idle; /* at the window's start, seconds */
    cpu_set_t allowed;
} st;

/* Idle plus iowait seconds of the allowed cores since boot, from the per-core
 * lines of /proc/stat; negative when it cannot be read. */
static double idle_seconds(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1.0;
    double tick = (double)sysconf(_SC_CLK_TCK), sum = 0.0;
    int seen = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned cpu;
        unsigned long long user, nice, sys, idle, iowait;
        if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9') continue;
        if (sscanf(line + 3, "%u %llu %llu %llu %llu %llu", &cpu, &user, &nice, &sys, &idle,
                   &iowait) != 6)
            continue;
        if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &st.allowed)) continue;
        sum += (double)(idle + iowait) / tick;
        seen = 1;
    }
    fclose(f);
    return seen ? sum : -1.0;
}

int rlc_cores_pick(double avail, int max) {
    int k = (int)(avail + 0.3);
    return k < 1 ? 1 : k > max ? max : k;
}

static void start(void) {
    st.init = 1;
    st.max = omp_get_max_threads();
    const char *e = getenv("RLC_ADAPT_THREADS");
    st.on = st.max > 1 && !(e && !strcmp(e, "0"));
    if (st.on && sched_getaffinity(0, sizeof st.allowed, &st.allowed)) st.on = 0;
    st.wall = rlc_clock_seconds(CLOCK_MONOTONIC);
    st.cpu = rlc_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (st.on && (st.idle = idle_seconds()) < 0) st.on = 0;
}

void rlc_cores_adapt(void) {
    if (omp_in_parallel() || pthread_mutex_trylock(&lock)) return;
    if (!st.init) start();
    if (st.on && rlc_test_threads_flip()) { /* test build: every call switches */
        omp_set_num_threads(omp_get_max_threads() == st.max ? 1 : st.max);
    } else if (st.on) {
        double wall = rlc_clock_seconds(CLOCK_MONOTONIC), dt = wall - st.wall;
        if (dt >= RLC_CORES_WINDOW_S) {
            double cpu = rlc_clock_seconds(CLOCK_PROCESS_CPUTIME_ID), idle = idle_seconds();
            if (idle < 0) {
                st.on = 0;
                omp_set_num_threads(st.max);
            } else {
                int k = rlc_cores_pick((cpu - st.cpu + idle - st.idle) / dt, st.max);
                if (k != omp_get_max_threads()) omp_set_num_threads(k);
                st.wall = wall, st.cpu = cpu, st.idle = idle;
            }
        }
    }
    pthread_mutex_unlock(&lock);
}
