/* conv.c: convolution as im2col + matrix multiply.
 *
 * Forward, for each image n:
 *     cols = im2col(x[n])                      (C*kH*kW, H_out*W_out)
 *     out[n] = w * cols + b                    (F, H_out*W_out)
 * with w viewed as the matrix (F, C*kH*kW): one row per filter.
 *
 * Backward. Given dout = dL/dout (N, F, H_out, W_out), the forward
 * out[n] = w * cols + b is an ordinary matrix product, so:
 *     dw     = sum_n dout[n] * cols^T          (F, C*kH*kW)
 *     db[f]  = sum_n sum_p dout[n][f][p]       every output pixel of filter f used b[f]
 *     dcols  = w^T * dout[n]                   (C*kH*kW, H_out*W_out)
 *     dx[n]  = col2im_add(dcols)               each patch entry goes back to its pixel
 * col2im adds because a pixel that sits in several overlapping patches
 * influenced the loss through each of them.
 *
 * Images are independent, so both passes run over images in parallel
 * (OpenMP), each thread with its own cols buffer and its own partial dw,
 * db; the partial sums are added in thread order, so a run is repeatable
 * for a given thread count. */
#include "conv.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm.h"
#include "im2col.h"

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* x[0] + ... + x[n-1], as SUM_LANES running sums (element i goes to sum
 * i % SUM_LANES) added at the end. One running sum would be a chain of n
 * dependent additions, each waiting for the last; separate sums fill the
 * lanes of a vector register. The order is fixed, so the result does not
 * depend on the machine or the thread count. */
#define SUM_LANES 16

static real sum_of(const real *x, int n)
{
    real lane[SUM_LANES] = {0};
    int i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++) lane[l] += x[i + l];
    for (; i < n; i++) lane[i % SUM_LANES] += x[i];
    real sum = 0;
    for (int l = 0; l < SUM_LANES; l++) sum += lane[l];
    return sum;
}

static void geometry_for(const ConvLayer *conv, const Tensor *x, ConvGeometry *g)
{
    int ok = conv_geometry_init(g, x->dim[1], x->dim[2], x->dim[3], conv->kernel_h,
                                conv->kernel_w, conv->stride, conv->pad, NULL);
    assert(ok == 0 && x->dim[1] == conv->in_channels);
    (void)ok;
}

/* Per-thread workspace: cols and dcols (rows x cols each), partial dw
 * (F x rows) and partial db (F). Returns thread t's slice start. */
static size_t workspace_per_thread(const ConvLayer *conv, const ConvGeometry *g)
{
    size_t rows = (size_t)conv_geometry_rows(g), cols = (size_t)conv_geometry_cols(g);
    return 2 * rows * cols + (size_t)conv->filters * rows + (size_t)conv->filters;
}

static real *workspace_for(ConvLayer *conv, const ConvGeometry *g, int threads)
{
    size_t need = workspace_per_thread(conv, g) * (size_t)threads;
    if (need > conv->workspace_size) {
        free(conv->workspace);
        conv->workspace = xcalloc_aligned(need * sizeof(real));
        conv->workspace_size = need;
    }
    return conv->workspace;
}

static int conv_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                             int *out, Error *err)
{
    const ConvLayer *conv = (const ConvLayer *)layer;
    ConvGeometry g;
    if (ndim != 4)
        return error_set(err, "convolution needs an (N, C, H, W) input, got %d dimensions", ndim);
    if (in[1] != conv->in_channels)
        return error_set(err, "convolution expects %d input channels, got %d", conv->in_channels, in[1]);
    if (conv_geometry_init(&g, in[1], in[2], in[3], conv->kernel_h, conv->kernel_w, conv->stride,
                           conv->pad, err) != 0)
        return -1;
    *out_ndim = 4;
    out[0] = in[0];
    out[1] = conv->filters;
    out[2] = g.out_h;
    out[3] = g.out_w;
    return 0;
}

static void conv_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    ConvLayer *conv = (ConvLayer *)layer;
    ConvGeometry g;
    geometry_for(conv, x, &g);
    layer_resize_output(layer, x, out);
    layer->input = x;

    const int N = x->dim[0], F = conv->filters;
    const int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g);
    const size_t x_item = tensor_item_size(x), out_item = (size_t)F * cols;
    const size_t slice = workspace_per_thread(conv, &g);
    real *workspace = workspace_for(conv, &g, max_threads());

    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        real *col_buffer = workspace + slice * (size_t)thread_id();
        real *out_n = out->data + (size_t)n * out_item;
        im2col(&g, x->data + (size_t)n * x_item, col_buffer);
        /* out[n] = w (F, rows) * cols (rows, cols), then + b: the bias goes
         * in while out[n] is still in the cache the product left it in */
        gemm(0, 0, F, cols, rows, 1, conv->w->data, rows, col_buffer, cols, 0, out_n, cols);
        for (int f = 0; f < F; f++) {
            const real bias = conv->b->data[f];
            for (int p = 0; p < cols; p++) out_n[(size_t)f * cols + p] += bias;
        }
    }
}

static void conv_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    ConvLayer *conv = (ConvLayer *)layer;
    const Tensor *x = layer->input;
    ConvGeometry g;
    geometry_for(conv, x, &g);

    const int N = x->dim[0], F = conv->filters, threads = max_threads();
    const int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g);
    const size_t x_item = tensor_item_size(x), out_item = (size_t)F * cols;
    const size_t slice = workspace_per_thread(conv, &g);
    real *workspace = workspace_for(conv, &g, threads);
    assert(dout->size == (size_t)N * out_item);
    if (dx) tensor_resize(dx, x->ndim, x->dim);
    for (int t = 0; t < threads; t++) { /* zero every thread's partial dw, db */
        real *partial = workspace + slice * (size_t)t + 2 * (size_t)rows * cols;
        memset(partial, 0, ((size_t)F * rows + (size_t)F) * sizeof(real));
    }

    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        real *col_buffer = workspace + slice * (size_t)thread_id();
        real *dcol_buffer = col_buffer + (size_t)rows * cols;
        real *dw_partial = dcol_buffer + (size_t)rows * cols;
        real *db_partial = dw_partial + (size_t)F * rows;
        const real *dout_n = dout->data + (size_t)n * out_item;

        im2col(&g, x->data + (size_t)n * x_item, col_buffer);
        /* dw += dout[n] (F, cols) * cols^T (cols, rows) */
        gemm(0, 1, F, rows, cols, 1, dout_n, cols, col_buffer, cols, 1, dw_partial, rows);
        for (int f = 0; f < F; f++) db_partial[f] += sum_of(dout_n + (size_t)f * cols, cols);
        if (dx) {
            /* dcols = w^T (rows, F) * dout[n] (F, cols), then back onto the pixels */
            real *dx_n = dx->data + (size_t)n * x_item;
            gemm(1, 0, rows, cols, F, 1, conv->w->data, rows, dout_n, cols, 0, dcol_buffer, cols);
            memset(dx_n, 0, x_item * sizeof(real)); /* col2im adds */
            col2im_add(&g, dcol_buffer, dx_n);
        }
    }

    /* Add the partial sums in thread order (repeatable for a thread count). */
    tensor_zero(conv->dw);
    tensor_zero(conv->db);
    for (int t = 0; t < threads; t++) {
        const real *dw_partial = workspace + slice * (size_t)t + 2 * (size_t)rows * cols;
        const real *db_partial = dw_partial + (size_t)F * rows;
        for (size_t i = 0; i < conv->dw->size; i++) conv->dw->data[i] += dw_partial[i];
        for (int f = 0; f < F; f++) conv->db->data[f] += db_partial[f];
    }
}

static void conv_destroy(Layer *layer)
{
    ConvLayer *conv = (ConvLayer *)layer;
    tensor_free(conv->w);
    tensor_free(conv->b);
    tensor_free(conv->dw);
    tensor_free(conv->db);
    free(conv->workspace);
    free(conv);
}

static const LayerOps conv_ops = {
    .kind = "conv",
    .output_shape = conv_output_shape,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = conv_destroy,
};

Layer *conv_create(int in_channels, int filters, int kernel_h, int kernel_w,
                   int stride, int pad, Error *err)
{
    if (in_channels < 1 || filters < 1) {
        error_set(err, "convolution needs at least 1 input channel and 1 filter (got %d and %d)",
                  in_channels, filters);
        return NULL;
    }
    if (kernel_h < 1 || kernel_w < 1) {
        error_set(err, "convolution kernel %dx%d must be at least 1x1", kernel_h, kernel_w);
        return NULL;
    }
    if (stride < 1) {
        error_set(err, "convolution stride %d must be at least 1", stride);
        return NULL;
    }
    if (pad < 0) {
        error_set(err, "convolution padding %d must not be negative", pad);
        return NULL;
    }
    ConvLayer *conv = xcalloc(1, sizeof *conv);
    conv->base.ops = &conv_ops;
    conv->in_channels = in_channels;
    conv->filters = filters;
    conv->kernel_h = kernel_h;
    conv->kernel_w = kernel_w;
    conv->stride = stride;
    conv->pad = pad;
    conv->w = tensor_new4(filters, in_channels, kernel_h, kernel_w);
    conv->dw = tensor_like(conv->w);
    conv->b = tensor_new(1, &filters);
    conv->db = tensor_like(conv->b);
    conv->base.num_params = 2;
    conv->base.params[0] = (Param){"w", conv->w, conv->dw};
    conv->base.params[1] = (Param){"b", conv->b, conv->db};
    return &conv->base;
}

void conv_forward_direct(const Tensor *x, const Tensor *w, const Tensor *b,
                         int stride, int pad, Tensor *out)
{
    const int N = x->dim[0], C = x->dim[1], H = x->dim[2], W = x->dim[3];
    const int F = w->dim[0], kH = w->dim[2], kW = w->dim[3];
    const int H_out = out->dim[2], W_out = out->dim[3];
    assert(w->dim[1] == C && out->dim[0] == N && out->dim[1] == F);
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int oh = 0; oh < H_out; oh++)
                for (int ow = 0; ow < W_out; ow++) {
                    double sum = b->data[f];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kH; i++)
                            for (int j = 0; j < kW; j++) {
                                int h = oh * stride - pad + i, wc = ow * stride - pad + j;
                                if (h < 0 || h >= H || wc < 0 || wc >= W) continue;
                                sum += (double)w->data[((f * C + c) * kH + i) * kW + j] *
                                       x->data[(((size_t)n * C + c) * H + h) * W + wc];
                            }
                    out->data[(((size_t)n * F + f) * H_out + oh) * W_out + ow] = (real)sum;
                }
}
