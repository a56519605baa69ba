/* batchnorm.c: the formulas of batchnorm.h, one channel at a time.
 *
 * Channel c's values sit in N runs of HW = H*W contiguous numbers (one
 * run per image; HW = 1 after a fully connected layer), at
 *     data[(n * C + c) * HW + k],  n < N, k < HW.
 * Each pass below walks those runs. A run is summed in `real` with the
 * vector unit's lanes, and the runs' totals are added in double, so a long
 * channel (N*H*W values) never sums in float beyond one image's H*W. The
 * order is fixed, so the result is the same on every run and thread
 * count. */
#include "batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Adds to *sum and *square the sums of (x - shift) and (x - shift)^2 over
 * one run of n values. Shifting by a value near the mean keeps the
 * variance from cancelling away when the mean is large. The run is summed
 * in `real` as the vector unit likes (omp simd: a fixed order for a given
 * build, whatever the threads), its total added in double. */
static void add_moments(const real *restrict x, int n, real shift, double *sum, double *square)
{
    real s = 0, q = 0;
    #pragma omp simd reduction(+ : s, q)
    for (int k = 0; k < n; k++) {
        real d = x[k] - shift;
        s += d;
        q += d * d;
    }
    *sum += s;
    *square += q;
}

/* Adds to *sum and *dot the sums of d and d (x - centre) over one run. */
static void add_gradient_sums(const real *restrict d, const real *restrict x, int n, real centre,
                              double *sum, double *dot)
{
    real s = 0, p = 0;
    #pragma omp simd reduction(+ : s, p)
    for (int k = 0; k < n; k++) {
        s += d[k];
        p += d[k] * (x[k] - centre);
    }
    *sum += s;
    *dot += p;
}

static int batchnorm_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                                  int *out, Error *err)
{
    const BatchnormLayer *bn = (const BatchnormLayer *)layer;
    if (ndim != 2 && ndim != 4)
        return error_set(err, "batchnorm needs an (N, C, H, W) or (N, C) input, got %d "
                              "dimensions", ndim);
    if (in[1] != bn->channels)
        return error_set(err, "batchnorm expects %d channels, got %d", bn->channels, in[1]);
    *out_ndim = ndim;
    for (int i = 0; i < ndim; i++) out[i] = in[i];
    return 0;
}

static double values_per_item(int ndim, const int *in)
{
    double size = 1;
    for (int i = 1; i < ndim; i++) size *= in[i];
    return size;
}

/* About 8 operations per value: the statistics, then the normalisation. */
static double batchnorm_flops(const Layer *layer, int ndim, const int *in)
{
    (void)layer;
    return 8 * values_per_item(ndim, in);
}

/* The gradient sums (sum dout, sum dout (x - mean): 4 operations per
 * value) give dgamma and dbeta; dx = a dout + b (x - mean) + e takes 5 more. */
static double batchnorm_backward_flops(const Layer *layer, int ndim, const int *in, int with_dx)
{
    (void)layer;
    return (with_dx ? 9 : 4) * values_per_item(ndim, in);
}

/* The per-channel sums of a pass, walked in memory order: images are cut
 * into fixed groups of IMAGES_PER_GROUP, each group's sums go into its own
 * partial (C pairs), and the partials are added in group order. Threads
 * take groups; which thread took which changes nothing. (Walking one
 * channel at a time instead would jump between N runs far apart in
 * memory, which the prefetcher follows badly: twice as slow.) */
enum { IMAGES_PER_GROUP = 4 };

/* partials: (groups, C, 2), grown on demand and kept */
static double *group_partials(BatchnormLayer *bn, int groups)
{
    size_t need = (size_t)groups * (size_t)bn->channels * 2;
    if (need > bn->partials_size) {
        free(bn->partials);
        bn->partials = xmalloc(need * sizeof *bn->partials);
        bn->partials_size = need;
    }
    return bn->partials;
}

/* Per channel c: totals[2c], totals[2c + 1] = the sums over every image of
 * (x - shift[c], (x - shift[c])^2) (moments) or of (d, d (x - shift[c]))
 * (gradient sums, d given). */
static void channel_sums(BatchnormLayer *bn, const Tensor *x, const Tensor *d, const real *shift,
                         double *totals)
{
    const int N = x->dim[0], C = bn->channels;
    const int HW = (int)(tensor_item_size(x) / (size_t)C);
    const int groups = (N + IMAGES_PER_GROUP - 1) / IMAGES_PER_GROUP;
    double *partials = group_partials(bn, groups);
    #pragma omp parallel for schedule(dynamic) if (x->size > 65536)
    for (int g = 0; g < groups; g++) {
        double *partial = partials + (size_t)g * C * 2;
        memset(partial, 0, (size_t)C * 2 * sizeof *partial);
        const int end = (g + 1) * IMAGES_PER_GROUP < N ? (g + 1) * IMAGES_PER_GROUP : N;
        for (int n = g * IMAGES_PER_GROUP; n < end; n++) {
            if (HW == 1) {
                /* after a fully connected layer: one value per feature, a row per image */
                const real *xn = x->data + (size_t)n * C, *dn = d ? d->data + (size_t)n * C : NULL;
                for (int c = 0; c < C; c++) {
                    const real centred = xn[c] - shift[c];
                    partial[2 * c] += d ? dn[c] : centred;
                    partial[2 * c + 1] += d ? dn[c] * centred : centred * centred;
                }
                continue;
            }
            for (int c = 0; c < C; c++) {
                const size_t at = ((size_t)n * C + c) * HW;
                if (d)
                    add_gradient_sums(d->data + at, x->data + at, HW, shift[c], &partial[2 * c],
                                      &partial[2 * c + 1]);
                else
                    add_moments(x->data + at, HW, shift[c], &partial[2 * c], &partial[2 * c + 1]);
            }
        }
    }
    memset(totals, 0, (size_t)C * 2 * sizeof *totals);
    for (int g = 0; g < groups; g++)
        for (int i = 0; i < 2 * C; i++) totals[i] += partials[(size_t)g * C * 2 + i];
}

static void batchnorm_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    layer_resize_output(layer, x, out);
    layer->input = x;
    const int N = x->dim[0], C = bn->channels;
    const int HW = (int)(tensor_item_size(x) / (size_t)C);
    const double M = (double)N * HW;
    real *shift = bn->shift;
    double *totals = bn->totals;

    if (layer->mode == LAYER_TRAIN) {
        for (int c = 0; c < C; c++) shift[c] = x->data[(size_t)c * HW]; /* near the mean */
        channel_sums(bn, x, NULL, shift, totals);
    }
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (layer->mode == LAYER_TRAIN) {
            const double s = totals[2 * c] / M, q = totals[2 * c + 1] / M;
            mean = shift[c] + s;
            var = fmax(q - s * s, 0); /* biased: divided by M */
            /* the running estimates, as PyTorch keeps them */
            const double unbiased = M > 1 ? var * M / (M - 1) : var;
            bn->running_mean->data[c] = (real)((1 - BATCHNORM_MOMENTUM) * bn->running_mean->data[c] +
                                               BATCHNORM_MOMENTUM * mean);
            bn->running_var->data[c] = (real)((1 - BATCHNORM_MOMENTUM) * bn->running_var->data[c] +
                                              BATCHNORM_MOMENTUM * unbiased);
        } else {
            mean = bn->running_mean->data[c];
            var = bn->running_var->data[c];
        }
        bn->mean[c] = mean;
        bn->inv_std[c] = 1 / sqrt(var + BATCHNORM_EPS);
    }
    /* out = gamma (x - mean) inv_std + beta = scale x + offset, plane by plane */
    #pragma omp parallel for schedule(dynamic, planes_per_chunk(HW)) if (x->size > 65536)
    for (long plane = 0; plane < (long)N * C; plane++) {
        const int c = (int)(plane % C);
        const double inv_std = bn->inv_std[c], gamma = bn->gamma->data[c];
        const real scale = (real)(gamma * inv_std);
        const real offset = (real)(bn->beta->data[c] - gamma * inv_std * bn->mean[c]);
        const real *in = x->data + (size_t)plane * HW;
        real *o = out->data + (size_t)plane * HW;
        for (int k = 0; k < HW; k++) o[k] = scale * in[k] + offset;
    }
}

static void batchnorm_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    const Tensor *x = layer->input;
    const int N = x->dim[0], C = bn->channels;
    const int HW = (int)(tensor_item_size(x) / (size_t)C);
    const double M = (double)N * HW;
    const int training = layer->mode == LAYER_TRAIN;
    real *centre = bn->shift;
    double *totals = bn->totals;

    /* sum dout and sum dout * xhat, with xhat = (x - mean) inv_std */
    for (int c = 0; c < C; c++) centre[c] = (real)bn->mean[c];
    channel_sums(bn, x, dout, centre, totals);
    for (int c = 0; c < C; c++) {
        const double mean = bn->mean[c], inv_std = bn->inv_std[c], sum = totals[2 * c];
        /* (x - mean) was taken with mean rounded to real: the sum of dout
         * times the rounding makes up the difference */
        const double dot = totals[2 * c + 1] + sum * ((double)centre[c] - mean);
        bn->dbeta->data[c] = (real)sum;
        bn->dgamma->data[c] = (real)(dot * inv_std);
        /* dx = (s/M)(M g - sum g - xhat sum g xhat), g = gamma dout, s = inv_std:
         *    = a dout + b (x - mean) + e   with the constants below.
         * In evaluation mode mean and var are constants: dx = gamma s dout. */
        const double gamma = bn->gamma->data[c];
        bn->dx_terms[3 * c] = (real)(gamma * inv_std);
        bn->dx_terms[3 * c + 1] = training ? (real)(-gamma * inv_std * inv_std * dot * inv_std / M) : 0;
        bn->dx_terms[3 * c + 2] = training ? (real)(-gamma * inv_std * sum / M) : 0;
    }
    if (!dx) return;
    tensor_resize(dx, x->ndim, x->dim);
    #pragma omp parallel for schedule(dynamic, planes_per_chunk(HW)) if (x->size > 65536)
    for (long plane = 0; plane < (long)N * C; plane++) {
        const int c = (int)(plane % C);
        const real a = bn->dx_terms[3 * c], b = bn->dx_terms[3 * c + 1];
        const real e = bn->dx_terms[3 * c + 2], m = centre[c];
        const real *in = x->data + (size_t)plane * HW, *d = dout->data + (size_t)plane * HW;
        real *o = dx->data + (size_t)plane * HW;
        for (int k = 0; k < HW; k++) o[k] = a * d[k] + b * (in[k] - m) + e;
    }
}

static void batchnorm_destroy(Layer *layer)
{
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    tensor_free(bn->gamma);
    tensor_free(bn->beta);
    tensor_free(bn->dgamma);
    tensor_free(bn->dbeta);
    tensor_free(bn->running_mean);
    tensor_free(bn->running_var);
    free(bn->mean);
    free(bn->inv_std);
    free(bn->shift);
    free(bn->totals);
    free(bn->dx_terms);
    free(bn->partials);
    free(bn);
}

static const LayerOps batchnorm_ops = {
    .kind = "batchnorm",
    .backward_in_place = 1, /* the sums read all of dout first, then dx[k] from dout[k] */
    .batch_statistics = 1,
    .output_shape = batchnorm_output_shape,
    .flops = batchnorm_flops,
    .backward_flops = batchnorm_backward_flops,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .destroy = batchnorm_destroy,
};

Layer *batchnorm_create(int channels, Error *err)
{
    if (channels < 1) {
        error_set(err, "batchnorm needs at least 1 channel (got %d)", channels);
        return NULL;
    }
    BatchnormLayer *bn = xcalloc(1, sizeof *bn);
    bn->base.ops = &batchnorm_ops;
    bn->channels = channels;
    bn->gamma = tensor_new(1, &channels);
    bn->beta = tensor_new(1, &channels);
    bn->dgamma = tensor_like(bn->gamma);
    bn->dbeta = tensor_like(bn->beta);
    bn->running_mean = tensor_new(1, &channels);
    bn->running_var = tensor_new(1, &channels);
    tensor_fill(bn->gamma, 1);
    tensor_fill(bn->running_var, 1);
    bn->mean = xcalloc((size_t)channels, sizeof *bn->mean);
    bn->inv_std = xcalloc((size_t)channels, sizeof *bn->inv_std);
    bn->shift = xcalloc((size_t)channels, sizeof *bn->shift);
    bn->totals = xcalloc(2 * (size_t)channels, sizeof *bn->totals);
    bn->dx_terms = xcalloc(3 * (size_t)channels, sizeof *bn->dx_terms);
    bn->base.num_params = 2;
    bn->base.params[0] = (Param){.name = "gamma", .value = bn->gamma, .grad = bn->dgamma,
                                 .init = PARAM_INIT_ONE};
    bn->base.params[1] = (Param){.name = "beta", .value = bn->beta, .grad = bn->dbeta,
                                 .init = PARAM_INIT_ZERO};
    bn->base.num_buffers = 2;
    bn->base.buffers[0] = (Buffer){.name = "running_mean", .value = bn->running_mean};
    bn->base.buffers[1] = (Buffer){.name = "running_var", .value = bn->running_var,
                                   .nonnegative = 1};
    return &bn->base;
}
