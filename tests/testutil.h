/* testutil.h: small helpers shared by the layer tests. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "arch.h"
#include "gradcheck.h"
#include "rng.h"
#include "tensor.h"

/* How closely float and double builds can match a double-precision
 * reference: a few units in the last place of the type, scaled. */
#ifdef REAL_IS_DOUBLE
#define TEST_TOLERANCE 1e-12
#else
#define TEST_TOLERANCE 2e-6
#endif

static inline void fill_normal(Tensor *t, Rng *rng, double scale)
{
    for (size_t i = 0; i < t->size; i++) t->data[i] = (real)(scale * rng_normal(rng));
}

/* A layer without parameters (dropout, crop) passes the gradient check
 * on x filled with normal noise: one row, dx, within the checker's
 * tolerance. */
static inline void assert_dx_passes_gradcheck(Layer *layer, Tensor *x, Rng *rng)
{
    fill_normal(x, rng, 1.0);
    GradcheckRow row;
    ck_assert_int_eq(gradcheck_layer(layer, x, rng, &row, 1), 1);
    ck_assert_msg(row.pass, "%.3e", row.max_rel_error);
}

/* Every entry of got within tolerance * max(1, |want|) of want. */
static inline void assert_close(const real *got, const real *want, size_t count, double tolerance,
                                const char *what)
{
    for (size_t i = 0; i < count; i++) {
        double scale = fmax(1.0, fabs((double)want[i]));
        ck_assert_msg(fabs((double)got[i] - (double)want[i]) <= tolerance * scale,
                      "%s[%zu]: got %.17g, want %.17g", what, i, (double)got[i], (double)want[i]);
    }
}

static inline void assert_values(const Tensor *t, const double *want, double tolerance, const char *what)
{
    for (size_t i = 0; i < t->size; i++)
        ck_assert_msg(fabs((double)t->data[i] - want[i]) <= tolerance * fmax(1.0, fabs(want[i])),
                      "%s[%zu]: got %.17g, want %.17g", what, i, (double)t->data[i], want[i]);
}

static inline void set_values(Tensor *t, const double *values)
{
    for (size_t i = 0; i < t->size; i++) t->data[i] = (real)values[i];
}

/* The seed's emotion CNN (conv, relu, pool twice, then fc, relu, fc) with
 * the given widths, on side x side grey images: small widths keep tests
 * fast. Fails the test if it cannot be built. */
static inline Network *seed_cnn(int side, int conv1, int conv2, int hidden, int classes)
{
    char text[256];
    snprintf(text, sizeof text, "conv %d 3x3 pad 1, relu, maxpool 2, conv %d 3x3 pad 1, relu, "
             "maxpool 2, fc %d, relu, fc %d", conv1, conv2, hidden, classes);
    Error err;
    Network *net = arch_build_text(text, "test", 1, side, side, classes, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    return net;
}

/* Sets the number of OpenMP threads; returns the number before, so a test
 * can put it back. Without OpenMP there is one thread and nothing to set. */
static inline int set_threads(int threads)
{
#ifdef _OPENMP
    int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    return before;
#else
    (void)threads;
    return 1;
#endif
}

#endif
