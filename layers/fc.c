#include "fc.h"

#include <assert.h>
#include <stdlib.h>

#include "gemm.h"

static int fc_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                           int *out, Error *err)
{
    const FcLayer *fc = (const FcLayer *)layer;
    long features = 1;
    for (int i = 1; i < ndim; i++) features *= in[i];
    if (ndim < 2 || features != fc->in_features)
        return error_set(err, "fully connected layer expects %d features per item, got %ld",
                         fc->in_features, ndim < 2 ? 0L : features);
    *out_ndim = 2;
    out[0] = in[0];
    out[1] = fc->out_features;
    return 0;
}

/* 2 per multiply-add: D of them for each of the M outputs */
static double fc_flops(const Layer *layer, int ndim, const int *in)
{
    (void)ndim;
    (void)in;
    const FcLayer *fc = (const FcLayer *)layer;
    return 2.0 * fc->in_features * fc->out_features;
}

/* dw = x^T dout and dx = dout w^T: as many multiply-adds as x w each */
static double fc_backward_flops(const Layer *layer, int ndim, const int *in, int with_dx)
{
    return (with_dx ? 2 : 1) * fc_flops(layer, ndim, in);
}

static void fc_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    FcLayer *fc = (FcLayer *)layer;
    const int N = x->dim[0], D = fc->in_features, M = fc->out_features;
    layer_resize_output(layer, x, out);
    layer->input = x;
    for (int n = 0; n < N; n++) /* start every row from the bias ... */
        for (int m = 0; m < M; m++) out->data[(size_t)n * M + m] = fc->b->data[m];
    /* ... and add x (N, D) * w (D, M) */
    gemm(0, 0, N, M, D, 1, x->data, D, fc->w->data, M, 1, out->data, M);
}

static void fc_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    FcLayer *fc = (FcLayer *)layer;
    const Tensor *x = layer->input;
    const int N = x->dim[0], D = fc->in_features, M = fc->out_features;
    assert(dout->size == (size_t)N * M);

    /* dw = x^T (D, N) * dout (N, M) */
    gemm(1, 0, D, M, N, 1, x->data, D, dout->data, M, 0, fc->dw->data, M);
    /* db: b was added to every row, so its gradient sums the rows of dout */
    for (int m = 0; m < M; m++) {
        real sum = 0;
        for (int n = 0; n < N; n++) sum += dout->data[(size_t)n * M + m];
        fc->db->data[m] = sum;
    }
    if (dx) {
        tensor_resize(dx, x->ndim, x->dim);
        /* dx = dout (N, M) * w^T (M, D) */
        gemm(0, 1, N, D, M, 1, dout->data, M, fc->w->data, M, 0, dx->data, D);
    }
}

static void fc_destroy(Layer *layer)
{
    FcLayer *fc = (FcLayer *)layer;
    tensor_free(fc->w);
    tensor_free(fc->b);
    tensor_free(fc->dw);
    tensor_free(fc->db);
    free(fc);
}

static const LayerOps fc_ops = {
    .kind = "fc",
    .output_shape = fc_output_shape,
    .flops = fc_flops,
    .backward_flops = fc_backward_flops,
    .forward = fc_forward,
    .backward = fc_backward,
    .destroy = fc_destroy,
};

Layer *fc_create(int in_features, int out_features, Error *err)
{
    if (in_features < 1 || out_features < 1) {
        error_set(err, "fully connected layer needs at least 1 input and 1 output (got %d and %d)",
                  in_features, out_features);
        return NULL;
    }
    FcLayer *fc = xcalloc(1, sizeof *fc);
    fc->base.ops = &fc_ops;
    fc->in_features = in_features;
    fc->out_features = out_features;
    fc->w = tensor_new2(in_features, out_features);
    fc->dw = tensor_like(fc->w);
    fc->b = tensor_new(1, &out_features);
    fc->db = tensor_like(fc->b);
    fc->base.num_params = 2;
    /* He: each output sums D inputs; the weights decay, the biases do not */
    fc->base.params[0] = (Param){.name = "w", .value = fc->w, .grad = fc->dw,
                                 .init = PARAM_INIT_HE, .fan_in = in_features, .decay = 1};
    fc->base.params[1] = (Param){.name = "b", .value = fc->b, .grad = fc->db,
                                 .init = PARAM_INIT_ZERO};
    return &fc->base;
}
