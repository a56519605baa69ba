#include "relu.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    Layer base;
    const Tensor *output; /* out of the last forward: where it is > 0, the unit was active */
} ReluLayer;

static int relu_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                             int *out, Error *err)
{
    (void)layer;
    (void)err;
    *out_ndim = ndim;
    for (int i = 0; i < ndim; i++) out[i] = in[i];
    return 0;
}

/* one comparison per element */
static double relu_flops(const Layer *layer, int ndim, const int *in)
{
    (void)layer;
    double size = 1;
    for (int i = 1; i < ndim; i++) size *= in[i];
    return size;
}

/* one selection per element, and none without dx (no parameters) */
static double relu_backward_flops(const Layer *layer, int ndim, const int *in, int with_dx)
{
    return with_dx ? relu_flops(layer, ndim, in) : 0;
}

/* Threads take blocks of RELU_BLOCK elements as they come free (dynamic
 * scheduling): if one core is slowed by another program, the other does
 * more. Every element is computed alone, so the result cannot change. */
#define RELU_BLOCK 16384

/* x and out may be the same tensor: each element is read before it is written. */
static void relu_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    ReluLayer *relu = (ReluLayer *)layer;
    layer->input = x;
    relu->output = out;
    if (out != x) tensor_resize(out, x->ndim, x->dim);
    const long n = (long)x->size;
    const real *in = x->data;
    real *o = out->data;
    /* Written without a branch, so the compiler can use vector max
     * instructions: a data-dependent branch mispredicts half the time here. */
    #pragma omp parallel for schedule(dynamic, RELU_BLOCK) if (n > 4 * RELU_BLOCK)
    for (long i = 0; i < n; i++) o[i] = in[i] > 0 ? in[i] : 0;
}

/* dout and dx may be the same tensor. */
static void relu_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    const Tensor *out = ((ReluLayer *)layer)->output;
    if (!dx) return;
    if (dx != dout) tensor_resize(dx, out->ndim, out->dim);
    /* The gradient passes where the unit was active and stops where it was not. */
    const long n = (long)out->size;
    const real *o = out->data, *d_out = dout->data;
    real *d_in = dx->data;
    #pragma omp parallel for schedule(dynamic, RELU_BLOCK) if (n > 4 * RELU_BLOCK)
    for (long i = 0; i < n; i++) {
        real d = d_out[i]; /* read unconditionally, so the loop vectorises */
        d_in[i] = o[i] > 0 ? d : 0;
    }
}

/* The kink is at 0: how close x comes to it is the smallest |x|. A centred
 * difference with step h straddles the kink at any input closer than h. */
static double relu_kink_distance(const Layer *layer, const Tensor *x)
{
    (void)layer;
    double nearest = INFINITY;
    for (size_t i = 0; i < x->size; i++) nearest = fmin(nearest, fabs((double)x->data[i]));
    return nearest;
}

static void relu_destroy(Layer *layer) { free(layer); }

static const LayerOps relu_ops = {
    .kind = "relu",
    .in_place = 1,
    .output_shape = relu_output_shape,
    .flops = relu_flops,
    .backward_flops = relu_backward_flops,
    .kink_distance = relu_kink_distance,
    .forward = relu_forward,
    .backward = relu_backward,
    .destroy = relu_destroy,
};

Layer *relu_create(void)
{
    ReluLayer *relu = xcalloc(1, sizeof *relu);
    relu->base.ops = &relu_ops;
    return &relu->base;
}
