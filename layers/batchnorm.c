/* batchnorm.c: the formulas of batchnorm.h, one channel at a time.
 *
 * Channel c's values sit in N runs of HW = H*W contiguous numbers (one
 * run per image; HW = 1 after a fully connected layer), at
 *     data[(n * C + c) * HW + k],  n < N, k < HW.
 * Each pass below walks those runs. Sums are kept in LANES running double
 * sums (element k goes to lane k % LANES), added at the end: independent
 * sums fill a vector register where one would wait on itself, and the
 * order is fixed, so the result is the same on every run. */
#include "batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 8

/* Sums of (x - shift) and (x - shift)^2 over one run of n values, added
 * into sum[LANES] and square[LANES]. Shifting by a value near the mean
 * keeps the variance from cancelling away when the mean is large. */
static void add_moments(const real *x, int n, double shift, double *sum, double *square)
{
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int l = 0; l < LANES; l++) {
            double d = (double)x[k + l] - shift;
            sum[l] += d;
            square[l] += d * d;
        }
    for (; k < n; k++) {
        double d = (double)x[k] - shift;
        sum[k % LANES] += d;
        square[k % LANES] += d * d;
    }
}

static double lane_total(const double *lanes)
{
    double total = 0;
    for (int l = 0; l < LANES; l++) total += lanes[l];
    return total;
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

/* About 8 operations per value: the statistics, then the normalisation. */
static double batchnorm_flops(const Layer *layer, int ndim, const int *in)
{
    (void)layer;
    double size = 1;
    for (int i = 1; i < ndim; i++) size *= in[i];
    return 8 * size;
}

static void batchnorm_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    layer_resize_output(layer, x, out);
    layer->input = x;
    const int N = x->dim[0], C = bn->channels;
    const int HW = (int)(tensor_item_size(x) / (size_t)C);
    const double M = (double)N * HW;
    const int training = layer->mode == LAYER_TRAIN;

    /* small maps (after a fully connected layer) are not worth waking threads for */
    #pragma omp parallel for schedule(dynamic) if (x->size > 65536)
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            const double shift = x->data[(size_t)c * HW];
            double sum[LANES] = {0}, square[LANES] = {0};
            for (int n = 0; n < N; n++)
                add_moments(x->data + ((size_t)n * C + c) * HW, HW, shift, sum, square);
            const double s = lane_total(sum) / M, q = lane_total(square) / M;
            mean = shift + s;
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
        const double inv_std = 1 / sqrt(var + BATCHNORM_EPS);
        bn->mean[c] = mean;
        bn->inv_std[c] = inv_std;
        /* out = gamma (x - mean) inv_std + beta = scale x + offset */
        const real scale = (real)(bn->gamma->data[c] * inv_std);
        const real offset = (real)(bn->beta->data[c] - bn->gamma->data[c] * inv_std * mean);
        for (int n = 0; n < N; n++) {
            const real *in = x->data + ((size_t)n * C + c) * HW;
            real *o = out->data + ((size_t)n * C + c) * HW;
            for (int k = 0; k < HW; k++) o[k] = scale * in[k] + offset;
        }
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
    if (dx) tensor_resize(dx, x->ndim, x->dim);

    #pragma omp parallel for schedule(dynamic) if (x->size > 65536)
    for (int c = 0; c < C; c++) {
        const double mean = bn->mean[c], inv_std = bn->inv_std[c];
        /* sum dout and sum dout * xhat, with xhat = (x - mean) inv_std */
        double sum[LANES] = {0}, dot[LANES] = {0};
        for (int n = 0; n < N; n++) {
            const real *in = x->data + ((size_t)n * C + c) * HW;
            const real *d = dout->data + ((size_t)n * C + c) * HW;
            int k = 0;
            for (; k + LANES <= HW; k += LANES)
                for (int l = 0; l < LANES; l++) {
                    sum[l] += d[k + l];
                    dot[l] += (double)d[k + l] * ((double)in[k + l] - mean);
                }
            for (; k < HW; k++) {
                sum[k % LANES] += d[k];
                dot[k % LANES] += (double)d[k] * ((double)in[k] - mean);
            }
        }
        const double dbeta = lane_total(sum), dgamma = lane_total(dot) * inv_std;
        bn->dbeta->data[c] = (real)dbeta;
        bn->dgamma->data[c] = (real)dgamma;
        if (!dx) continue;
        const double gamma = bn->gamma->data[c];
        /* dx = (s/M)(M g - sum g - xhat sum g xhat), g = gamma dout, s = inv_std:
         *    = a dout + b (x - mean) + e   with the constants below.
         * In evaluation mode mean and var are constants: dx = gamma s dout. */
        const real a = (real)(gamma * inv_std);
        const real b = training ? (real)(-gamma * inv_std * inv_std * dgamma / M) : 0;
        const real e = training ? (real)(-gamma * inv_std * dbeta / M) : 0;
        const real centre = (real)mean;
        for (int n = 0; n < N; n++) {
            const real *in = x->data + ((size_t)n * C + c) * HW;
            const real *d = dout->data + ((size_t)n * C + c) * HW;
            real *o = dx->data + ((size_t)n * C + c) * HW;
            for (int k = 0; k < HW; k++) o[k] = a * d[k] + b * (in[k] - centre) + e;
        }
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
    free(bn);
}

static const LayerOps batchnorm_ops = {
    .kind = "batchnorm",
    .output_shape = batchnorm_output_shape,
    .flops = batchnorm_flops,
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
    bn->base.num_params = 2;
    bn->base.params[0] = (Param){.name = "gamma", .value = bn->gamma, .grad = bn->dgamma,
                                 .init = PARAM_INIT_ONE};
    bn->base.params[1] = (Param){.name = "beta", .value = bn->beta, .grad = bn->dbeta,
                                 .init = PARAM_INIT_ZERO};
    bn->base.num_buffers = 2;
    bn->base.buffers[0] = (Buffer){.name = "running_mean", .value = bn->running_mean};
    bn->base.buffers[1] = (Buffer){.name = "running_var", .value = bn->running_var};
    return &bn->base;
}
