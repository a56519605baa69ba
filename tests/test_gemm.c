/* The fast gemm against the textbook gemm_reference.
 *
 * Two kinds of data:
 * - small integers (-4..4): every product and every partial sum is an
 *   integer below 2^24, so float and double arithmetic are exact in any
 *   order, and alpha, beta are chosen among 0, 1, -0.5, 0.25, -2 (exact
 *   too). The fast kernel must then equal the reference bit for bit: a
 *   missing, doubled or misplaced term cannot hide in rounding.
 * - uniform reals in [-1, 1): the error must stay within the classical
 *   bound for a dot product of length K summed in precision eps,
 *       |C - C_exact| <= (K + 4) * eps * (|alpha| sum_k |a_ik b_kj| + |beta c_ij|),
 *   K roundings for the multiply-adds plus a few for alpha, beta and the
 *   final sum (eps = 2u: a factor 2 to spare). gemm_reference sums in
 *   double, so it stands in for the exact value.
 *
 * Stored rows are padded (ld > row length) with NaN in the padding, so
 * reading it poisons the result; C's padding holds a sentinel that must
 * survive. Each matrix is allocated to end exactly at its last element, so
 * the sanitizer build catches a read past it. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "rng.h"
#include "testutil.h"

#ifdef REAL_IS_DOUBLE
#define REAL_EPSILON DBL_EPSILON
#else
#define REAL_EPSILON FLT_EPSILON
#endif

#define SENTINEL ((real)12345.0)

enum Data { SMALL_INTEGERS, UNIFORM_REALS };

/* A stored matrix: `rows` rows of `length` numbers, row stride ld. */
typedef struct {
    real *data;
    int rows, length, ld;
} Stored;

static Stored stored_new(int rows, int length, int pad)
{
    Stored m = {NULL, rows, length, length + pad};
    if (m.ld < 1) m.ld = 1;
    size_t count = rows > 0 && length > 0 ? (size_t)(rows - 1) * m.ld + length : 1;
    m.data = xmalloc(count * sizeof(real));
    for (size_t i = 0; i < count; i++) m.data[i] = NAN; /* the padding stays NaN */
    return m;
}

static real draw(Rng *rng, enum Data kind)
{
    if (kind == SMALL_INTEGERS) return (real)((int)rng_below(rng, 9) - 4);
    return (real)rng_range(rng, -1, 1);
}

static void stored_fill(Stored *m, Rng *rng, enum Data kind)
{
    for (int i = 0; i < m->rows; i++)
        for (int j = 0; j < m->length; j++) m->data[(size_t)i * m->ld + j] = draw(rng, kind);
}

/* One product to check: C = alpha op(A) op(B) + beta C, every stored row
 * padded by `pad`. All rows of C are compared with the reference, or, for
 * the largest shapes, the first check_end and the last check_tail rows. */
typedef struct {
    int transA, transB, M, N, K;
    real alpha, beta;
    int pad;
    enum Data data;
    int check_end, check_tail;
} Case;

typedef struct {
    Stored a, b, c, expected;
    double *magnitude; /* |alpha| sum_k |a||b| + |beta c|, per element of C */
} Run;

static real op_a(const Case *t, const Stored *a, int i, int k)
{
    return t->transA ? a->data[(size_t)k * a->ld + i] : a->data[(size_t)i * a->ld + k];
}

static real op_b(const Case *t, const Stored *b, int k, int j)
{
    return t->transB ? b->data[(size_t)j * b->ld + k] : b->data[(size_t)k * b->ld + j];
}

/* Rows [begin, end) of the expected C from gemm_reference, and the size of
 * the terms that make each element (for the rounding bound). */
static void expect_rows(const Case *t, Run *run, int begin, int end)
{
    if (begin >= end) return;
    for (int i = begin; i < end; i++) {
        for (int j = 0; j < t->N; j++) {
            double sum = 0;
            for (int k = 0; k < t->K; k++)
                sum += fabs((double)op_a(t, &run->a, i, k) * op_b(t, &run->b, k, j));
            double c0 = run->expected.data[(size_t)i * run->expected.ld + j]; /* C before */
            run->magnitude[(size_t)i * t->N + j] =
                fabs((double)t->alpha) * sum + (t->beta == 0 ? 0 : fabs(t->beta * c0));
        }
    }
    const real *a_rows = t->transA ? run->a.data + begin : run->a.data + (size_t)begin * run->a.ld;
    gemm_reference(t->transA, t->transB, end - begin, t->N, t->K, t->alpha, a_rows, run->a.ld,
                   run->b.data, run->b.ld, t->beta,
                   run->expected.data + (size_t)begin * run->expected.ld, run->expected.ld);
}

/* Stored numbers in row i of C: the last row has no padding in memory. */
static int stored_length(const Stored *m, int i)
{
    return i == m->rows - 1 ? m->length : m->ld;
}

static void check_rows(const Case *t, const Run *run, int begin, int end)
{
    for (int i = begin; i < end; i++) {
        for (int j = 0; j < stored_length(&run->c, i); j++) {
            real got = run->c.data[(size_t)i * run->c.ld + j];
            if (j >= t->N) {
                ck_assert_msg(got == SENTINEL, "C padding (%d, %d) was overwritten", i, j);
                continue;
            }
            real want = run->expected.data[(size_t)i * run->c.ld + j];
            if (t->data == SMALL_INTEGERS) {
                ck_assert_msg(got == want,
                              "transA %d transB %d M %d N %d K %d alpha %g beta %g: C(%d, %d) = "
                              "%.9g, reference %.9g",
                              t->transA, t->transB, t->M, t->N, t->K, (double)t->alpha,
                              (double)t->beta, i, j, (double)got, (double)want);
            } else {
                double bound = (t->K + 4) * REAL_EPSILON * run->magnitude[(size_t)i * t->N + j];
                ck_assert_msg(fabs((double)got - want) <= bound,
                              "transA %d transB %d M %d N %d K %d: C(%d, %d) = %.17g, reference "
                              "%.17g, error %.3g > bound %.3g",
                              t->transA, t->transB, t->M, t->N, t->K, i, j, (double)got,
                              (double)want, fabs((double)got - want), bound);
            }
        }
    }
}

static void check_case(const Case *t, uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    Run run;
    run.a = t->transA ? stored_new(t->K, t->M, t->pad) : stored_new(t->M, t->K, t->pad);
    run.b = t->transB ? stored_new(t->N, t->K, t->pad) : stored_new(t->K, t->N, t->pad);
    run.c = stored_new(t->M, t->N, t->pad);
    run.expected = stored_new(t->M, t->N, t->pad);
    run.magnitude = xmalloc(((size_t)t->M * t->N + 1) * sizeof(double));
    stored_fill(&run.a, &rng, t->data);
    stored_fill(&run.b, &rng, t->data);
    for (int i = 0; i < t->M; i++) {
        for (int j = 0; j < stored_length(&run.c, i); j++) {
            /* beta = 0 must overwrite C whatever it holds: start from NaN */
            real start = j >= t->N ? SENTINEL : t->beta == 0 ? NAN : draw(&rng, t->data);
            run.c.data[(size_t)i * run.c.ld + j] = start;
            run.expected.data[(size_t)i * run.c.ld + j] = start;
        }
    }

    gemm(t->transA, t->transB, t->M, t->N, t->K, t->alpha, run.a.data, run.a.ld, run.b.data,
         run.b.ld, t->beta, run.c.data, run.c.ld);

    /* All rows, or (for the largest shapes) the first check_end and the
     * last check_tail rows. */
    int head = t->check_end > 0 && t->check_end < t->M ? t->check_end : t->M;
    int tail = t->check_end > 0 ? t->M - t->check_tail : t->M;
    if (tail < head) tail = head;
    expect_rows(t, &run, 0, head);
    expect_rows(t, &run, tail, t->M);
    check_rows(t, &run, 0, head);
    check_rows(t, &run, tail, t->M);

    free(run.a.data);
    free(run.b.data);
    free(run.c.data);
    free(run.expected.data);
    free(run.magnitude);
}

static const int odd_sizes[] = {1, 7, 17, 33, 129};
enum { ODD_SIZES = sizeof odd_sizes / sizeof odd_sizes[0] };

START_TEST(equals_reference_for_every_transpose_and_odd_sizes)
{
    uint64_t seed = 1;
    for (int trans = 0; trans < 4; trans++)
        for (int m = 0; m < ODD_SIZES; m++)
            for (int n = 0; n < ODD_SIZES; n++)
                for (int k = 0; k < ODD_SIZES; k++) {
                    Case t = {trans >> 1, trans & 1, odd_sizes[m], odd_sizes[n], odd_sizes[k],
                              -0.5, 0.25, 3, SMALL_INTEGERS, 0, 0};
                    check_case(&t, seed++);
                }
}
END_TEST

START_TEST(alpha_and_beta_take_zero_one_and_other_values)
{
    const real alphas[] = {0, 1, -0.5}, betas[] = {0, 1, -2};
    uint64_t seed = 100;
    for (int trans = 0; trans < 4; trans++)
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++) {
                Case t = {trans >> 1, trans & 1, 33, 100, 17, alphas[x], betas[y], 2,
                          SMALL_INTEGERS, 0, 0};
                check_case(&t, seed++);
                Case narrow = {trans >> 1, trans & 1, 40, 9, 130, alphas[x], betas[y], 1,
                               SMALL_INTEGERS, 0, 0};
                check_case(&narrow, seed++);
            }
}
END_TEST

START_TEST(strides_larger_than_rows_are_respected)
{
    const int pads[] = {0, 1, 5, 61};
    uint64_t seed = 200;
    for (int trans = 0; trans < 4; trans++)
        for (int p = 0; p < 4; p++) {
            Case t = {trans >> 1, trans & 1, 45, 70, 39, 1, 1, pads[p], SMALL_INTEGERS, 0, 0};
            check_case(&t, seed++);
        }
}
END_TEST

START_TEST(beta_zero_overwrites_nan)
{
    /* check_case starts C from NaN whenever beta is 0 */
    uint64_t seed = 300;
    for (int trans = 0; trans < 4; trans++) {
        Case t = {trans >> 1, trans & 1, 50, 64, 20, 1, 0, 0, SMALL_INTEGERS, 0, 0};
        check_case(&t, seed++);
        Case dot = {trans >> 1, trans & 1, 6, 5, 300, -0.5, 0, 4, SMALL_INTEGERS, 0, 0};
        check_case(&dot, seed++);
    }
}
END_TEST

START_TEST(k_zero_scales_c_by_beta)
{
    real a[1] = {NAN}, b[1] = {NAN};
    real c[6] = {1, 2, 3, NAN, 5, 6};
    gemm(0, 0, 2, 3, 0, 1, a, 1, b, 3, 0, c, 3); /* beta 0: zeros, even over NaN */
    for (int i = 0; i < 6; i++) ck_assert(c[i] == 0);

    real d[6] = {1, 2, 3, 4, 5, 6};
    gemm(1, 1, 2, 3, 0, 1, a, 2, b, 1, -2, d, 3);
    const real doubled[6] = {-2, -4, -6, -8, -10, -12};
    for (int i = 0; i < 6; i++) ck_assert(d[i] == doubled[i]);

    real e[6] = {1, 2, 3, 4, 5, 6};
    gemm(0, 1, 2, 3, 0, 1, a, 1, b, 1, 1, e, 3);
    for (int i = 0; i < 6; i++) ck_assert(e[i] == i + 1);
}
END_TEST

START_TEST(alpha_zero_reads_neither_a_nor_b)
{
    /* As in BLAS: alpha = 0 means C = beta C; A and B may hold anything. */
    real a[4 * 5], b[5 * 3];
    for (int i = 0; i < 20; i++) a[i] = NAN;
    for (int i = 0; i < 15; i++) b[i] = INFINITY;
    real c[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    gemm(0, 0, 4, 3, 5, 0, a, 5, b, 3, 0.5, c, 3);
    for (int i = 0; i < 12; i++) ck_assert(c[i] == (real)0.5 * (i + 1));
}
END_TEST

START_TEST(empty_products_touch_nothing)
{
    real a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, c[4] = {7, 7, 7, 7};
    gemm(0, 0, 0, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    gemm(0, 0, 2, 0, 2, 1, a, 2, b, 1, 0, c, 1);
    for (int i = 0; i < 4; i++) ck_assert(c[i] == 7);
}
END_TEST

START_TEST(products_larger_than_the_cache_blocks)
{
    /* k beyond one k block (later blocks add with beta = 1), rows beyond one
     * row block, columns beyond one column block */
    const Case cases[] = {
        {0, 0, 40, 50, 1000, -0.5, -2, 1, SMALL_INTEGERS, 0, 0},
        {1, 1, 40, 50, 1000, 1, 0.25, 0, SMALL_INTEGERS, 0, 0},
        {0, 1, 1100, 40, 50, 1, 1, 3, SMALL_INTEGERS, 0, 0},
        {1, 0, 30, 1400, 60, 1, 0, 2, SMALL_INTEGERS, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], 400 + i);
}
END_TEST

/* When op(B) = B, B's slivers are read where they lie, except when its rows
 * are a multiple of 1 KiB apart (then they are packed): both ways, and both
 * with a last sliver narrower than a tile, must give the reference's
 * numbers. Row strides 512 (packed) and 100 + 5 (in place). */
START_TEST(b_read_in_place_or_packed_gives_the_reference)
{
    const int pads[] = {412, 5};
    uint64_t seed = 450;
    for (int p = 0; p < 2; p++)
        for (int transA = 0; transA < 2; transA++) {
            Case t = {transA, 0, 45, 100, 39, -0.5, 0.25, pads[p], SMALL_INTEGERS, 0, 0};
            check_case(&t, seed++);
            Case wide = {transA, 0, 20, 96, 500, 1, 0, pads[p], SMALL_INTEGERS, 0, 0};
            check_case(&wide, seed++);
        }
}
END_TEST

/* gemm_rows against gemm_reference on the matrix its rows make. The rows
 * start anywhere in a source of N + K + 3 numbers, so they overlap, and
 * some repeat; the source is allocated to end at the last number a row may
 * read, for the sanitizer build to catch a read past a row. */
static void check_gemm_rows(int transA, int M, int N, int K, real alpha, real beta, uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    const int source_size = N + K + 3;
    real *source = xmalloc((size_t)source_size * sizeof(real));
    for (int i = 0; i < source_size; i++) source[i] = draw(&rng, SMALL_INTEGERS);
    long *rows = xmalloc((size_t)K * sizeof(long));
    real *b = xmalloc((size_t)K * N * sizeof(real));
    for (int k = 0; k < K; k++) {
        rows[k] = rng_below(&rng, (uint32_t)(source_size - N + 1));
        for (int j = 0; j < N; j++) b[(size_t)k * N + j] = source[rows[k] + j];
    }
    real *a = xmalloc((size_t)M * K * sizeof(real));
    for (int i = 0; i < M * K; i++) a[i] = draw(&rng, SMALL_INTEGERS);
    real *c = xmalloc((size_t)M * N * sizeof(real)), *want = xmalloc((size_t)M * N * sizeof(real));
    for (int i = 0; i < M * N; i++) c[i] = want[i] = beta == 0 ? NAN : draw(&rng, SMALL_INTEGERS);
    const int lda = transA ? M : K;

    gemm_reference(transA, 0, M, N, K, alpha, a, lda, b, N, beta, want, N);
    gemm_rows(transA, M, N, K, alpha, a, lda, source, rows, beta, c, N);
    for (int i = 0; i < M * N; i++)
        ck_assert_msg(c[i] == want[i], "transA %d M %d N %d K %d: C(%d, %d) = %g, reference %g",
                      transA, M, N, K, i / N, i % N, (double)c[i], (double)want[i]);
    free(source);
    free(rows);
    free(b);
    free(a);
    free(c);
    free(want);
}

START_TEST(gemm_rows_equals_the_reference_on_the_matrix_its_rows_make)
{
    /* odd sizes, a B narrower than one tile, k beyond one k block, and
     * products split among threads by columns and by rows */
    const int shapes[][3] = {{7, 33, 17}, {33, 100, 130}, {5, 3, 40}, {20, 70, 1000},
                             {64, 700, 300}, {300, 40, 50}};
    uint64_t seed = 900;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transA = 0; transA < 2; transA++) {
            check_gemm_rows(transA, shapes[s][0], shapes[s][1], shapes[s][2], 1, 0, seed++);
            check_gemm_rows(transA, shapes[s][0], shapes[s][1], shapes[s][2], -0.5, 0.25, seed++);
        }
    for (int threads = 1; threads <= 3; threads += 2) {
        int saved = set_threads(threads);
        check_gemm_rows(0, 64, 700, 300, 1, 1, seed);
        check_gemm_rows(1, 300, 40, 50, 1, 1, seed + 1);
        set_threads(saved);
    }
}
END_TEST

/* The products the layers make (batch 64), see layers/conv.c, layers/fc.c */
static const Case layer_shapes[] = {
    {0, 0, 32, 2304, 9, 1, 1, 0, SMALL_INTEGERS, 0, 0},    /* conv1 forward */
    {0, 1, 32, 9, 2304, 1, 1, 0, SMALL_INTEGERS, 0, 0},    /* conv1 dW */
    {0, 0, 64, 576, 288, 1, 1, 0, SMALL_INTEGERS, 0, 0},   /* conv2 forward */
    {0, 1, 64, 288, 576, 1, 1, 0, SMALL_INTEGERS, 0, 0},   /* conv2 dW */
    {1, 0, 288, 576, 64, 1, 0, 0, SMALL_INTEGERS, 0, 0},   /* conv2 dcols */
    {0, 0, 64, 256, 9216, 1, 1, 0, SMALL_INTEGERS, 5, 3},  /* fc1 forward */
    {1, 0, 9216, 256, 64, 1, 0, 0, SMALL_INTEGERS, 5, 3},  /* fc1 dW */
    {0, 1, 64, 9216, 256, 1, 0, 0, SMALL_INTEGERS, 5, 3},  /* fc1 dx */
    {0, 0, 64, 7, 256, 1, 1, 0, SMALL_INTEGERS, 0, 0},     /* fc2 forward */
    {1, 0, 256, 7, 64, 1, 0, 0, SMALL_INTEGERS, 0, 0},     /* fc2 dW */
    {0, 1, 64, 256, 7, 1, 0, 0, SMALL_INTEGERS, 0, 0},     /* fc2 dx */
};
enum { LAYER_SHAPES = sizeof layer_shapes / sizeof layer_shapes[0] };

START_TEST(layer_shapes_equal_reference)
{
    check_case(&layer_shapes[_i], 500 + _i);
}
END_TEST

START_TEST(layer_shapes_are_accurate_on_real_numbers)
{
    Case t = layer_shapes[_i];
    t.data = UNIFORM_REALS;
    check_case(&t, 600 + _i);
}
END_TEST

/* C = A B for one of the layer shapes, with uniform reals. */
static real *product_with_threads(const Case *t, int threads, uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    const int a_size = t->M * t->K, b_size = t->K * t->N;
    real *a = xmalloc(a_size * sizeof(real)), *b = xmalloc(b_size * sizeof(real));
    real *c = xmalloc((size_t)t->M * t->N * sizeof(real));
    for (int i = 0; i < a_size; i++) a[i] = (real)rng_range(&rng, -1, 1);
    for (int i = 0; i < b_size; i++) b[i] = (real)rng_range(&rng, -1, 1);
    for (int i = 0; i < t->M * t->N; i++) c[i] = (real)rng_range(&rng, -1, 1);
    int saved = set_threads(threads);
    gemm(t->transA, t->transB, t->M, t->N, t->K, (real)0.75, a, t->transA ? t->M : t->K, b,
         t->transB ? t->K : t->N, t->beta, c, t->N);
    set_threads(saved);
    free(a);
    free(b);
    return c;
}

START_TEST(results_do_not_depend_on_the_thread_count)
{
    /* fc1 forward splits C by columns, fc1 dW by rows, conv1 dW is tiny */
    const int shapes[] = {5, 6, 7, 1};
    for (int s = 0; s < 4; s++) {
        const Case *t = &layer_shapes[shapes[s]];
        size_t size = (size_t)t->M * t->N;
        real *one = product_with_threads(t, 1, 700 + s);
        for (int threads = 2; threads <= 3; threads++) {
            real *more = product_with_threads(t, threads, 700 + s);
            ck_assert_msg(memcmp(one, more, size * sizeof(real)) == 0,
                          "shape %d: %d threads differ from 1 thread", shapes[s], threads);
            free(more);
        }
        free(one);
    }
}
END_TEST

START_TEST(calls_from_a_parallel_region_agree_with_serial_calls)
{
    /* The convolution layer calls gemm from every thread at once: each
     * thread must have its own packing space. */
    enum { CALLS = 4 };
    const Case *t = &layer_shapes[2]; /* conv2 forward */
    const size_t a_size = (size_t)t->M * t->K, b_size = (size_t)t->K * t->N;
    const size_t c_size = (size_t)t->M * t->N;
    real *a = xmalloc(a_size * sizeof(real)), *b = xmalloc(CALLS * b_size * sizeof(real));
    real *serial = xmalloc(CALLS * c_size * sizeof(real));
    real *parallel = xmalloc(CALLS * c_size * sizeof(real));
    Rng rng;
    rng_seed(&rng, 800);
    for (size_t i = 0; i < a_size; i++) a[i] = (real)rng_range(&rng, -1, 1);
    for (size_t i = 0; i < CALLS * b_size; i++) b[i] = (real)rng_range(&rng, -1, 1);
    for (int n = 0; n < CALLS; n++)
        gemm(0, 0, t->M, t->N, t->K, 1, a, t->K, b + n * b_size, t->N, 0, serial + n * c_size,
             t->N);
#pragma omp parallel for num_threads(2) schedule(static, 1)
    for (int n = 0; n < CALLS; n++)
        gemm(0, 0, t->M, t->N, t->K, 1, a, t->K, b + n * b_size, t->N, 0, parallel + n * c_size,
             t->N);
    ck_assert(memcmp(serial, parallel, CALLS * c_size * sizeof(real)) == 0);
    free(a);
    free(b);
    free(serial);
    free(parallel);
}
END_TEST

/* The loop behind the bench's FMA peak does what it says: 2 operations per
 * lane of every fused multiply-add, in proportion to the steps, and values
 * that stay finite (no overflow to slow it down or make it meaningless). */
START_TEST(the_fma_loop_counts_two_operations_per_lane)
{
    real result = 0, twice = 0;
    const double flops = gemm_fma_loop(1000, &result);
    ck_assert_double_eq(gemm_fma_loop(2000, &twice), 2 * flops);
    ck_assert_double_gt(flops, 0);
    ck_assert_double_eq(fmod(flops, 2000.0 * gemm_vector_lanes()), 0);
    ck_assert_msg(isfinite(result) && result > 0 && isfinite(twice), "result %g", (double)result);
}
END_TEST

Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *edges = tcase_create("edges");
    tcase_add_test(edges, k_zero_scales_c_by_beta);
    tcase_add_test(edges, alpha_zero_reads_neither_a_nor_b);
    tcase_add_test(edges, empty_products_touch_nothing);
    tcase_add_test(edges, beta_zero_overwrites_nan);
    tcase_add_test(edges, the_fma_loop_counts_two_operations_per_lane);
    suite_add_tcase(s, edges);

    TCase *sizes = tcase_create("sizes");
    tcase_set_timeout(sizes, 300); /* the sanitizer build is slow */
    tcase_add_test(sizes, equals_reference_for_every_transpose_and_odd_sizes);
    tcase_add_test(sizes, alpha_and_beta_take_zero_one_and_other_values);
    tcase_add_test(sizes, strides_larger_than_rows_are_respected);
    tcase_add_test(sizes, products_larger_than_the_cache_blocks);
    tcase_add_test(sizes, b_read_in_place_or_packed_gives_the_reference);
    tcase_add_test(sizes, gemm_rows_equals_the_reference_on_the_matrix_its_rows_make);
    suite_add_tcase(s, sizes);

    TCase *layers = tcase_create("layer shapes");
    tcase_set_timeout(layers, 300);
    tcase_add_loop_test(layers, layer_shapes_equal_reference, 0, LAYER_SHAPES);
    tcase_add_loop_test(layers, layer_shapes_are_accurate_on_real_numbers, 0, LAYER_SHAPES);
    tcase_add_test(layers, results_do_not_depend_on_the_thread_count);
    tcase_add_test(layers, calls_from_a_parallel_region_agree_with_serial_calls);
    suite_add_tcase(s, layers);
    return s;
}
