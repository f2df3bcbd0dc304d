/* STREAM triad (a[i] = b[i] + s * c[i]) on arrays far larger than the caches:
 * the DRAM bandwidth that bounds batch-1 decode (every weight read once per
 * token). Counts 3 x 4 bytes per element (no write-allocate traffic, as STREAM
 * does), best of the timed passes after one warm-up. bench/real.py runs it
 * with --json for the bound of its decode rows.
 * Usage: build/bench_stream [--threads N] [--mib M (per array, default 256)] [--json] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int threads = 2, as_json = 0, passes = 8;
    size_t mib = 256;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--mib M] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || mib < 1) return 2;
    omp_set_num_threads(threads);
    size_t n = mib * 1024 * 1024 / sizeof(float);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float *c = malloc(n * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bench_stream: out of memory (3 x %zu MiB)\n", mib);
        return 1;
    }
    /* first touch from the threads that use the pages */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
    const float s = 3.0f;
    double best = 1e30, sum = 0;
    for (int p = 0; p <= passes; p++) {
        double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] + s * c[i];
        double t = omp_get_wtime() - t0;
        if (p > 0 && t < best) best = t;
        if (p > 0) sum += t;
    }
    double bytes = 3.0 * sizeof(float) * (double)n;
    double gbs = bytes / best * 1e-9, mean = bytes / (sum / passes) * 1e-9;
    if (a[n / 2] != 7.0f) fprintf(stderr, "bench_stream: wrong triad result %g\n", a[n / 2]);
    if (as_json)
        printf("{\"threads\": %d, \"mib_per_array\": %zu, \"triad_gb_s\": %.2f, "
               "\"triad_mean_gb_s\": %.2f}\n",
               threads, mib, gbs, mean);
    else
        printf("STREAM triad, %d threads, 3 x %zu MiB: best %.1f GB/s, mean %.1f GB/s\n", threads,
               mib, gbs, mean);
    free(a), free(b), free(c);
    return 0;
}
