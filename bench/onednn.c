/* Large BF16-weight products: rlc's panels with BF16 products (x rounded to
 * BF16, vdpbf16ps, F32 sums: linear where the CPU has AVX512_BF16) against
 * oneDNN's matmul (Debian's libdnnl 2.6: BF16 source and weights, F32
 * destination, its own JIT kernels), the question of issue 12: would a
 * library beat rlc's own kernels there? Debian's OpenBLAS 0.3.21 exports no
 * sbgemm (built without BUILD_BFLOAT16), so oneDNN is the library to ask.
 * Same threads (both OpenMP), interleaved A, B, A, B; the median of 7 rounds
 * each; x rounded to BF16 inside both timings. Shapes: the 135M and 0.6B
 * prefill and training products. Usage: build/bench_onednn */
#include "base/dtype.h"
#include "tensor/backend.h"
#include "tensor/cpu_kernels.h"

#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        dnnl_status_t s_ = (call);                                                                 \
        if (s_ != dnnl_success) {                                                                  \
            fprintf(stderr, "bench_onednn: %s failed (%d)\n", #call, (int)s_);                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static float *buf(size_t n, unsigned seed) {
    float *x = malloc(n * sizeof(float));
    if (!x) exit(1);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(((i + seed) * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return x;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    if (rlc_cpu_isa_get() != RLC_CPU_AVX512_BF16) {
        printf("bench_onednn: CPU without AVX512_BF16: rlc multiplies F32 products, skipped\n");
        return 0;
    }
    static const int shapes[][3] = {{576, 1536, 128},  {1536, 576, 128},  {576, 1536, 1024},
                                    {1024, 3072, 256}, {3072, 1024, 256}, {1024, 3072, 1024}};
    dnnl_engine_t eng;
    dnnl_stream_t st;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    printf("BF16 weights, many rows, %d threads: rlc (vdpbf16ps panels) against oneDNN matmul\n",
           omp_get_max_threads());
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        int K = shapes[c][0], O = shapes[c][1], N = shapes[c][2];
        float *x = buf((size_t)N * K, 1), *wf = buf((size_t)O * K, 7);
        float *y0 = calloc((size_t)N * O, 4), *y1 = calloc((size_t)N * O, 4);
        float *scratch = malloc(RLC_LINEAR_SCRATCH * sizeof(float));
        uint16_t *wb = malloc((size_t)O * K * 2), *xb = malloc((size_t)N * K * 2);
        if (!y0 || !y1 || !scratch || !wb || !xb) exit(1);
        for (size_t i = 0; i < (size_t)O * K; i++)
            wb[i] = rlc_f32_to_bf16(wf[i]);
        dnnl_memory_desc_t smd, wmd, dmd;
        dnnl_dims_t sd = {N, K}, wd = {K, O}, dd = {N, O};
        CHECK(dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_bf16, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_bf16, dnnl_ba)); /* W [O][K] */
        CHECK(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab));
        dnnl_matmul_desc_t mmd;
        CHECK(dnnl_matmul_desc_init(&mmd, &smd, &wmd, NULL, &dmd));
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_primitive_desc_create(&pd, &mmd, NULL, eng, NULL));
        dnnl_primitive_t prim;
        CHECK(dnnl_primitive_create(&prim, pd));
        const char *impl = "?";
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        dnnl_memory_t sm, wm, dm;
        CHECK(dnnl_memory_create(&sm, &smd, eng, xb));
        CHECK(dnnl_memory_create(&wm, &wmd, eng, wb));
        CHECK(dnnl_memory_create(&dm, &dmd, eng, y1));
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}};
        rlc_linear_out o = {y0, {.bf16 = wb}, O};
        enum { ROUNDS = 7 };
        double tr[ROUNDS], to[ROUNDS];
        for (int r = -1; r < ROUNDS; r++) {
            int reps = N >= 1024 ? 3 : 20;
            double t0 = omp_get_wtime();
            for (int i = 0; i < reps; i++)
                rlc_cpu_linear_panels(x, N, K, &o, 1, 1.0f, 0, scratch);
            double t1 = omp_get_wtime();
            for (int i = 0; i < reps; i++) {
#pragma omp parallel for schedule(static)
                for (int row = 0; row < N; row++)
                    rlc_convert_from_f32(xb + (size_t)row * K, x + (size_t)row * K, RLC_DTYPE_BF16,
                                         (size_t)K);
                CHECK(dnnl_primitive_execute(prim, st, 3, args));
                CHECK(dnnl_stream_wait(st));
            }
            double t2 = omp_get_wtime();
            if (r >= 0) tr[r] = (t1 - t0) / reps, to[r] = (t2 - t1) / reps;
        }
        qsort(tr, ROUNDS, sizeof *tr, cmp);
        qsort(to, ROUNDS, sizeof *to, cmp);
        double diff = 0, mag = 0;
        for (size_t i = 0; i < (size_t)N * O; i++) {
            diff = fmax(diff, fabs(y0[i] - y1[i]));
            mag = fmax(mag, fabs(y1[i]));
        }
        double gf = 2.0 * N * O * K * 1e-9;
        printf("  %4d->%-4d N=%-5d rlc %8.1f us %4.0f GFLOP/s | oneDNN %8.1f us %4.0f GFLOP/s "
               "(%s) | rlc %.2fx oneDNN | max |diff| %.1e of max |y| %.1e\n",
               K, O, N, tr[ROUNDS / 2] * 1e6, gf / tr[ROUNDS / 2], to[ROUNDS / 2] * 1e6,
               gf / to[ROUNDS / 2], impl, to[ROUNDS / 2] / tr[ROUNDS / 2], diff, mag);
        dnnl_memory_destroy(sm), dnnl_memory_destroy(wm), dnnl_memory_destroy(dm);
        dnnl_primitive_destroy(prim);
        dnnl_primitive_desc_destroy(pd);
        free(x), free(wf), free(y0), free(y1), free(scratch), free(wb), free(xb);
    }
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}
