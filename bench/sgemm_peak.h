/* The sgemm peak the benchmarks divide by, from OpenBLAS's best kernel for
 * this CPU, named.
 *
 * The environment may pin OpenBLAS to an older core's kernels
 * (OPENBLAS_CORETYPE=Haswell on this project's machines: ~180 GFLOP/s on 2
 * cores where its AVX-512 kernels reach ~330). rlc's own kernels (decode,
 * the many-row panels) do not go through OpenBLAS, so a peak measured under
 * the pin would flatter them.
 * OpenBLAS reads the variable once, when it is loaded, so the benchmark runs
 * itself again as a child with the variable removed (OpenBLAS then picks its
 * kernel from cpuid), measures the same product in both, prints both with the
 * core's name and uses the larger.
 *
 * Use: call sgemm_peak_child(argc, argv) first thing in main (it handles the
 * child's `--sgemm-peak N THREADS` and returns 1 when it did), then
 * sgemm_peak_best(n, threads). Benchmarks only; included by one .c each. */
#ifndef RLC_BENCH_SGEMM_PEAK_H
#define RLC_BENCH_SGEMM_PEAK_H

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* n^3 sgemm with the threads in use: the best of 3 after a warm-up. */
static double sgemm_gflops(int n) {
    size_t nn = (size_t)n * n;
    float *A = malloc(sizeof(float) * nn), *B = malloc(sizeof(float) * nn);
    float *C = malloc(sizeof(float) * nn);
    if (!A || !B || !C) {
        fprintf(stderr, "sgemm_gflops: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < nn; i++)
        A[i] = (float)(i % 7) * 0.1f, B[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = omp_get_wtime();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C,
                    n);
        double t = omp_get_wtime() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(A), free(B), free(C);
    return 2.0 * n * n * n / best * 1e-9;
}

static const char *sgemm_core_name(void) {
    const char *s = openblas_get_corename();
    return s && *s ? s : "?";
}

static int sgemm_peak_child(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[1], "--sgemm-peak") != 0) return 0;
    int n = atoi(argv[2]), threads = atoi(argv[3]);
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    printf("%.3f %s\n", sgemm_gflops(n), sgemm_core_name());
    return 1;
}

/* The larger of the n^3 sgemm under the environment's OpenBLAS core and under
 * the core OpenBLAS picks itself; prints both on one line. *core gets the
 * winner's name (static storage). */
static double sgemm_peak_best(int n, int threads, const char **core) {
    static char child_core[64], here_core[64];
    snprintf(here_core, sizeof here_core, "%s", sgemm_core_name());
    double here = sgemm_gflops(n), child = 0;
    char self[4096], cmd[4300];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
        self[k] = 0;
        snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE '%s' --sgemm-peak %d %d", self, n,
                 threads);
        FILE *p = popen(cmd, "r");
        if (p) {
            if (fscanf(p, "%lf %63s", &child, child_core) != 2) child = 0;
            if (pclose(p) != 0) child = 0;
        }
    }
    const char *env = getenv("OPENBLAS_CORETYPE");
    printf("sgemm %d^3, OpenBLAS: %.1f GFLOP/s with core %s (OPENBLAS_CORETYPE=%s)", n, here,
           here_core, env ? env : "unset");
    if (child > 0)
        printf(", %.1f with core %s (its own choice, variable removed)", child, child_core);
    else
        printf(", child without OPENBLAS_CORETYPE failed");
    double best = child > here ? child : here;
    *core = child > here ? child_core : here_core;
    printf("; peak %.1f (%s)\n", best, *core);
    return best;
}

#endif
