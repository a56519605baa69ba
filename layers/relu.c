#include "relu.h"

#include <stdlib.h>

static int relu_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                             int *out, Error *err)
{
    (void)layer;
    (void)err;
    *out_ndim = ndim;
    for (int i = 0; i < ndim; i++) out[i] = in[i];
    return 0;
}

static void relu_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    layer->input = x;
    tensor_resize(out, x->ndim, x->dim);
    const long n = (long)x->size;
    const real *restrict in = x->data;
    real *restrict o = out->data;
    /* Written without a branch, so the compiler can use vector max
     * instructions: a data-dependent branch mispredicts half the time here. */
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) o[i] = in[i] > 0 ? in[i] : 0;
}

static void relu_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    const Tensor *x = layer->input;
    if (!dx) return;
    tensor_resize(dx, x->ndim, x->dim);
    /* The gradient passes where the unit was active and stops where it was not. */
    const long n = (long)x->size;
    const real *restrict in = x->data, *restrict d_out = dout->data;
    real *restrict d_in = dx->data;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) d_in[i] = in[i] > 0 ? d_out[i] : 0;
}

static void relu_destroy(Layer *layer) { free(layer); }

static const LayerOps relu_ops = {
    .kind = "relu",
    .output_shape = relu_output_shape,
    .forward = relu_forward,
    .backward = relu_backward,
    .destroy = relu_destroy,
};

Layer *relu_create(void)
{
    Layer *layer = xcalloc(1, sizeof *layer);
    layer->ops = &relu_ops;
    return layer;
}
