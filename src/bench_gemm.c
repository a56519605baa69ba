/* bench_gemm.c: the matrix multiply timed on the layers' shapes. */
#include "bench_gemm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef USE_OPENBLAS
#include <cblas.h>
#endif

#include "error.h"
#include "gemm.h"
#include "rng.h"

/* One product a layer makes: C (M x N) = op(A) (M x K) * op(B) (K x N)
 * + beta * C, called calls_per_batch times per training batch of 64. */
typedef struct {
    const char *name;
    int transA, transB, M, N, K;
    real beta;
    int per_image;       /* made inside the conv layer's parallel region */
    int calls_per_batch;
} GemmShape;

static const GemmShape shapes[] = {
    {"conv1 forward", 0, 0, 32, 2304, 9, 1, 1, 64},
    {"conv1 dW", 0, 1, 32, 9, 2304, 1, 1, 64},
    {"conv2 forward", 0, 0, 64, 576, 288, 1, 1, 64},
    {"conv2 dW", 0, 1, 64, 288, 576, 1, 1, 64},
    {"conv2 dcols", 1, 0, 288, 576, 64, 0, 1, 64},
    {"fc1 forward", 0, 0, 64, 256, 9216, 1, 0, 1},
    {"fc1 dW", 1, 0, 9216, 256, 64, 0, 0, 1},
    {"fc1 dx", 0, 1, 64, 9216, 256, 0, 0, 1},
    {"fc2 forward", 0, 0, 64, 7, 256, 1, 0, 1},
    {"fc2 dW", 1, 0, 256, 7, 64, 0, 0, 1},
    {"fc2 dx", 0, 1, 64, 256, 7, 0, 0, 1},
};
enum { SHAPES = sizeof shapes / sizeof shapes[0], TIMED_RUNS = 9, WARMUP_RUNS = 2 };

/* A and B are shared (read only); each thread writes its own C. */
typedef struct {
    real *a, *b, *c;
    size_t c_size;
} Operands;

static double seconds_now(void)
{
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static void set_threads(int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
#ifdef USE_OPENBLAS
    openblas_set_num_threads(threads);
#endif
}

static void multiply(const GemmShape *s, const Operands *o, real *c, int use_openblas)
{
    const int lda = s->transA ? s->M : s->K, ldb = s->transB ? s->K : s->N;
#ifdef USE_OPENBLAS
    if (use_openblas) {
#ifdef REAL_IS_DOUBLE
        cblas_dgemm(
#else
        cblas_sgemm(
#endif
            CblasRowMajor, s->transA ? CblasTrans : CblasNoTrans,
            s->transB ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1, o->a, lda, o->b, ldb,
            s->beta, c, s->N);
        return;
    }
#else
    (void)use_openblas;
#endif
    gemm(s->transA, s->transB, s->M, s->N, s->K, 1, o->a, lda, o->b, ldb, s->beta, c, s->N);
}

/* Seconds per product, for `reps` products in a row. Per-image shapes with
 * several threads run one stream of products per thread at once, as the
 * convolution layer does; the figure is then wall time per round. */
static double seconds_per_product(const GemmShape *s, const Operands *o, int threads,
                                  int use_openblas, int reps)
{
    double start = seconds_now();
    if (s->per_image && threads > 1) {
#ifdef USE_OPENBLAS
        if (use_openblas) openblas_set_num_threads(1);
#endif
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
            real *c = o->c + o->c_size * (size_t)omp_get_thread_num();
#else
            real *c = o->c;
#endif
            for (int r = 0; r < reps; r++) multiply(s, o, c, use_openblas);
        }
    } else {
        for (int r = 0; r < reps; r++) multiply(s, o, o->c, use_openblas);
    }
    return (seconds_now() - start) / reps;
}

static int compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sets the threads, times single products to choose how many make a run of
 * about 10 ms (the fastest of three, as one can be slowed by a cold cache
 * or another program), and makes warm-up runs (the first products also
 * allocate packing space). Returns the products per run. */
static int warm_up(const GemmShape *s, const Operands *o, int threads, int use_openblas)
{
    set_threads(threads);
    double fastest = 1e30;
    for (int i = 0; i < 3; i++) {
        double one = seconds_per_product(s, o, threads, use_openblas, 1);
        if (one < fastest) fastest = one;
    }
    int reps = fastest > 0.01 ? 1 : (int)(0.01 / (fastest + 1e-9)) + 1;
    for (int w = 0; w < WARMUP_RUNS; w++) seconds_per_product(s, o, threads, use_openblas, reps);
    return reps;
}

static void pause_seconds(double seconds)
{
    struct timespec wait = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&wait, NULL);
}

/* median[m]: the median of TIMED_RUNS runs of method m (0 ours, 1 OpenBLAS).
 * On one thread the methods alternate run by run, so that both meet the
 * same machine (other programs, clock speed). With several threads they
 * cannot: after a call, OpenBLAS's worker threads keep spinning for a while
 * (OpenMP's too) and would steal cores from the other library. Each method
 * then makes all its runs in turn, after a pause that lets the threads of
 * the method before (maybe the other library, on the shape before) go to
 * sleep. */
static void median_seconds(const GemmShape *s, const Operands *o, int threads, int methods,
                           double *median)
{
    double runs[2][TIMED_RUNS];
    int reps[2];
    if (threads == 1) {
        for (int m = 0; m < methods; m++) reps[m] = warm_up(s, o, threads, m);
        for (int r = 0; r < TIMED_RUNS; r++)
            for (int m = 0; m < methods; m++)
                runs[m][r] = seconds_per_product(s, o, threads, m, reps[m]);
    } else {
        for (int m = 0; m < methods; m++) {
            if (methods > 1) pause_seconds(0.3);
            reps[m] = warm_up(s, o, threads, m);
            for (int r = 0; r < TIMED_RUNS; r++)
                runs[m][r] = seconds_per_product(s, o, threads, m, reps[m]);
        }
    }
    for (int m = 0; m < methods; m++) {
        qsort(runs[m], TIMED_RUNS, sizeof runs[m][0], compare_doubles);
        median[m] = runs[m][TIMED_RUNS / 2];
    }
}

static void fill_uniform(Rng *rng, real *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (real)rng_range(rng, -1, 1);
}

void bench_gemm_report(FILE *out, int threads)
{
    const int use_openblas =
#ifdef USE_OPENBLAS
        1;
#else
        0;
#endif
    if (threads < 1) threads = 1;
#ifdef _OPENMP
    const int saved_threads = omp_get_max_threads();
#endif

    fprintf(out, "gemm (%s kernel, real = %s), %d thread%s: conv rows run one product per "
                 "thread at once, fc rows one product on all threads\n",
            gemm_kernel_name(), REAL_NAME, threads, threads == 1 ? "" : "s");
    double load;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (getloadavg(&load, 1) == 1 && cores > 0 && load > 0.75 * cores)
        fprintf(out, "note: the machine is busy (load average %.1f on %ld cores): "
                     "timings are unreliable\n", load, cores);
#ifdef USE_OPENBLAS
    fprintf(out, "ratio = our speed / OpenBLAS's; OpenBLAS core: %s%s\n", openblas_get_corename(),
            strcmp(openblas_get_corename(), "Prescott") == 0
                ? " (CPU not recognised: OPENBLAS_CORETYPE=SkylakeX selects its AVX-512 kernels)"
                : "");
    fprintf(out, "%-14s %5s %5s %5s %2s  %9s %7s  %9s %7s  %5s\n", "shape", "M", "N", "K", "op",
            "ours ms", "GFLOP/s", "blas ms", "GFLOP/s", "ratio");
#else
    fprintf(out, "%-14s %5s %5s %5s %2s  %9s %7s\n", "shape", "M", "N", "K", "op", "ms",
            "GFLOP/s");
#endif

    Rng rng;
    rng_seed(&rng, 6);
    double batch_ours = 0, batch_blas = 0;
    for (int i = 0; i < SHAPES; i++) {
        const GemmShape *s = &shapes[i];
        const int copies = s->per_image ? threads : 1;
        Operands o;
        o.a = xmalloc((size_t)s->M * s->K * sizeof(real));
        o.b = xmalloc((size_t)s->K * s->N * sizeof(real));
        o.c_size = (size_t)s->M * s->N;
        o.c = xmalloc(o.c_size * (size_t)copies * sizeof(real));
        fill_uniform(&rng, o.a, (size_t)s->M * s->K);
        fill_uniform(&rng, o.b, (size_t)s->K * s->N);
        fill_uniform(&rng, o.c, o.c_size * (size_t)copies);

        /* copies products run at once; a batch needs calls_per_batch */
        const double flops = 2.0 * s->M * s->N * s->K * copies;
        const double rounds_per_batch = (double)s->calls_per_batch / copies;
        const char op[3] = {s->transA ? 'T' : 'N', s->transB ? 'T' : 'N', 0};
        double median[2] = {0, 0};
        median_seconds(s, &o, threads, use_openblas ? 2 : 1, median);
        const double ours = median[0], blas = median[1];
        batch_ours += ours * rounds_per_batch;
        fprintf(out, "%-14s %5d %5d %5d %2s  %9.4f %7.1f", s->name, s->M, s->N, s->K, op,
                ours * 1e3, flops / ours * 1e-9);
        if (use_openblas) {
            batch_blas += blas * rounds_per_batch;
            fprintf(out, "  %9.4f %7.1f  %5.2f", blas * 1e3, flops / blas * 1e-9, blas / ours);
        }
        fprintf(out, "\n");
        free(o.a);
        free(o.b);
        free(o.c);
    }
    fprintf(out, "all products of one training batch of 64: %.2f ms", batch_ours * 1e3);
    if (use_openblas)
        fprintf(out, " (OpenBLAS %.2f ms, ratio %.2f)", batch_blas * 1e3, batch_blas / batch_ours);
    fprintf(out, "\n");
#ifdef _OPENMP
    set_threads(saved_threads);
#endif
}

/* One run of the FMA loop on `threads` threads at once, each `steps` steps:
 * wall-clock seconds, the operations done by all of them in *flops. */
static double fma_run_seconds(int threads, long steps, double *flops)
{
    double total = 0;
    const double start = seconds_now();
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        real result;
        total += gemm_fma_loop(steps, &result);
    }
    *flops = total;
    return seconds_now() - start;
}

double bench_fma_peak_gflops(int threads)
{
    if (threads < 1) threads = 1;
    enum { PEAK_RUNS = 5 };
    double flops, rates[PEAK_RUNS];
    long steps = 1 << 14;
    /* long enough runs that starting the threads is nothing: 20 ms or more */
    while (fma_run_seconds(threads, steps, &flops) < 0.02 && steps < (1L << 40)) steps *= 2;
    for (int r = 0; r < PEAK_RUNS; r++) {
        double seconds = fma_run_seconds(threads, steps, &flops);
        rates[r] = flops / seconds * 1e-9;
    }
    qsort(rates, PEAK_RUNS, sizeof rates[0], compare_doubles);
    return rates[PEAK_RUNS / 2];
}
