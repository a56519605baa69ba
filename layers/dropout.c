#include "dropout.h"

#include <stdlib.h>

static int dropout_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                                int *out, Error *err)
{
    (void)layer;
    (void)err;
    *out_ndim = ndim;
    for (int i = 0; i < ndim; i++) out[i] = in[i];
    return 0;
}

static double dropout_flops(const Layer *layer, int ndim, const int *in)
{
    (void)layer;
    double size = 1;
    for (int i = 1; i < ndim; i++) size *= in[i];
    return size;
}

/* one multiplication per element, and none without dx (no parameters) */
static double dropout_backward_flops(const Layer *layer, int ndim, const int *in, int with_dx)
{
    return with_dx ? dropout_flops(layer, ndim, in) : 0;
}

#define BLOCK 16384

static void dropout_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    DropoutLayer *drop = (DropoutLayer *)layer;
    layer->input = x;
    tensor_resize(out, x->ndim, x->dim);
    const long n = (long)x->size;
    if (layer->mode != LAYER_TRAIN || drop->p == 0) {
        for (long i = 0; i < n; i++) out->data[i] = x->data[i];
        return;
    }
    if ((size_t)n > drop->mask_capacity) {
        free(drop->mask);
        drop->mask = xmalloc((size_t)n);
        drop->mask_capacity = (size_t)n;
    }
    /* keep value i when its 53-bit uniform draw is at least p */
    const uint64_t threshold = (uint64_t)(drop->p * 9007199254740992.0); /* p * 2^53 */
    const real scale = (real)(1 / (1 - drop->p));
    const uint64_t key = layer->noise_key;
    uint8_t *mask = drop->mask;
    #pragma omp parallel for schedule(dynamic, BLOCK) if (n > 4 * BLOCK)
    for (long i = 0; i < n; i++) {
        mask[i] = (layer_noise(key, (uint64_t)i) >> 11) >= threshold;
        out->data[i] = mask[i] ? x->data[i] * scale : 0;
    }
}

static void dropout_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    DropoutLayer *drop = (DropoutLayer *)layer;
    if (!dx) return;
    tensor_resize(dx, dout->ndim, dout->dim);
    const long n = (long)dout->size;
    if (layer->mode != LAYER_TRAIN || drop->p == 0) {
        for (long i = 0; i < n; i++) dx->data[i] = dout->data[i];
        return;
    }
    const real scale = (real)(1 / (1 - drop->p));
    const uint8_t *mask = drop->mask;
    #pragma omp parallel for schedule(dynamic, BLOCK) if (n > 4 * BLOCK)
    for (long i = 0; i < n; i++) dx->data[i] = mask[i] ? dout->data[i] * scale : 0;
}

static void dropout_destroy(Layer *layer)
{
    DropoutLayer *drop = (DropoutLayer *)layer;
    free(drop->mask);
    free(drop);
}

static const LayerOps dropout_ops = {
    .kind = "dropout",
    .backward_in_place = 1, /* dx[i] = mask[i] dout[i] scale */
    .cache_bytes_per_output = 1, /* mask */
    .output_shape = dropout_output_shape,
    .flops = dropout_flops,
    .backward_flops = dropout_backward_flops,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .destroy = dropout_destroy,
};

Layer *dropout_create(double p, Error *err)
{
    if (!(p >= 0 && p < 1)) {
        error_set(err, "dropout probability %g must be in [0, 1)", p);
        return NULL;
    }
    DropoutLayer *drop = xcalloc(1, sizeof *drop);
    drop->base.ops = &dropout_ops;
    drop->p = p;
    return &drop->base;
}
