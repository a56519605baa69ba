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
 * (OpenMP), each thread with its own cols buffers. Threads take images as
 * they come free (dynamic scheduling), so that a core slowed by another
 * program does not hold the other one up. dw and db are sums over images:
 * the images are cut into fixed groups of IMAGES_PER_GROUP, each group
 * sums into its own partial dw, db, and the partial sums are added in group
 * order. Which thread ran which group does not matter, so the result is the
 * same for every run and every thread count. */
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

enum { IMAGES_PER_GROUP = 4, SUM_BLOCK = 4096 };

/* Per-thread workspace: cols and dcols, (rows x cols) each. */
static size_t workspace_per_thread(const ConvGeometry *g)
{
    return 2 * (size_t)conv_geometry_rows(g) * (size_t)conv_geometry_cols(g);
}

/* A buffer of at least `need` reals, grown on demand and kept. */
static real *buffer_of_size(real **buffer, size_t *size, size_t need)
{
    if (need > *size) {
        free(*buffer);
        *buffer = xcalloc_aligned(need * sizeof(real));
        *size = need;
    }
    return *buffer;
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

/* 2 per multiply-add: C*kH*kW of them for each of the F*H_out*W_out outputs */
static double conv_flops(const Layer *layer, int ndim, const int *in)
{
    const ConvLayer *conv = (const ConvLayer *)layer;
    int out_ndim, out[TENSOR_MAX_DIMS] = {0};
    if (conv_output_shape(layer, ndim, in, &out_ndim, out, NULL) != 0) return 0;
    return 2.0 * conv->in_channels * conv->kernel_h * conv->kernel_w * conv->filters * out[2] *
           out[3];
}

/* dw = dout cols^T makes as many multiply-adds as the forward's w cols, and
 * so does dx's w^T dout (col2im's additions and the bias sums, like the
 * forward's bias, are not counted: they are not multiply-adds) */
static double conv_backward_flops(const Layer *layer, int ndim, const int *in, int with_dx)
{
    return (with_dx ? 2 : 1) * conv_flops(layer, ndim, in);
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
    const size_t slice = workspace_per_thread(&g);
    real *workspace = buffer_of_size(&conv->workspace, &conv->workspace_size,
                                     slice * (size_t)max_threads());

    #pragma omp parallel for schedule(dynamic)
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

    const int N = x->dim[0], F = conv->filters;
    const int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g);
    const size_t x_item = tensor_item_size(x), out_item = (size_t)F * cols;
    const size_t slice = workspace_per_thread(&g);
    real *workspace = buffer_of_size(&conv->workspace, &conv->workspace_size,
                                     slice * (size_t)max_threads());
    /* each group's partial dw (F x rows) followed by its partial db (F) */
    const int groups = (N + IMAGES_PER_GROUP - 1) / IMAGES_PER_GROUP;
    const size_t partial_size = (size_t)F * rows + (size_t)F;
    real *partials = buffer_of_size(&conv->partials, &conv->partials_size,
                                    partial_size * (size_t)groups);
    assert(dout->size == (size_t)N * out_item);
    if (dx) tensor_resize(dx, x->ndim, x->dim);

    #pragma omp parallel for schedule(dynamic)
    for (int group = 0; group < groups; group++) {
        real *col_buffer = workspace + slice * (size_t)thread_id();
        real *dcol_buffer = col_buffer + (size_t)rows * cols;
        real *dw_partial = partials + partial_size * (size_t)group;
        real *db_partial = dw_partial + (size_t)F * rows;
        const int first = group * IMAGES_PER_GROUP, end = first + IMAGES_PER_GROUP;
        for (int n = first; n < end && n < N; n++) {
            const real *dout_n = dout->data + (size_t)n * out_item;
            im2col(&g, x->data + (size_t)n * x_item, col_buffer);
            /* dw = dout[n] (F, cols) * cols^T (cols, rows) for the group's
             * first image (beta = 0: no need to zero the partial first),
             * dw += the same for the others */
            gemm(0, 1, F, rows, cols, 1, dout_n, cols, col_buffer, cols, n == first ? 0 : 1,
                 dw_partial, rows);
            for (int f = 0; f < F; f++) {
                const real sum = sum_of(dout_n + (size_t)f * cols, cols);
                db_partial[f] = n == first ? sum : db_partial[f] + sum;
            }
            if (dx) {
                /* dcols = w^T (rows, F) * dout[n] (F, cols), then back onto the pixels */
                real *dx_n = dx->data + (size_t)n * x_item;
                gemm(1, 0, rows, cols, F, 1, conv->w->data, rows, dout_n, cols, 0, dcol_buffer, cols);
                memset(dx_n, 0, x_item * sizeof(real)); /* col2im adds */
                col2im_add(&g, dcol_buffer, dx_n);
            }
        }
    }

    /* Add the partial sums in group order: the same result whoever ran them.
     * The threads share dw out in blocks of SUM_BLOCK numbers, each number
     * still summed over the groups in order. */
    const size_t dw_size = conv->dw->size, blocks = (dw_size + SUM_BLOCK - 1) / SUM_BLOCK;
    #pragma omp parallel for schedule(dynamic) if (dw_size > 4 * SUM_BLOCK)
    for (size_t block = 0; block < blocks; block++) {
        const size_t begin = block * SUM_BLOCK;
        const size_t count = begin + SUM_BLOCK < dw_size ? SUM_BLOCK : dw_size - begin;
        real *dw = conv->dw->data + begin;
        memset(dw, 0, count * sizeof(real));
        for (int group = 0; group < groups; group++) {
            const real *dw_partial = partials + partial_size * (size_t)group + begin;
            for (size_t i = 0; i < count; i++) dw[i] += dw_partial[i];
        }
    }
    tensor_zero(conv->db);
    for (int group = 0; group < groups; group++) {
        const real *db_partial = partials + partial_size * (size_t)group + dw_size;
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
    free(conv->partials);
    free(conv);
}

static const LayerOps conv_ops = {
    .kind = "conv",
    .output_shape = conv_output_shape,
    .flops = conv_flops,
    .backward_flops = conv_backward_flops,
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
    /* He: each output sums C*kH*kW inputs; the weights decay, the biases do not */
    conv->base.params[0] = (Param){.name = "w", .value = conv->w, .grad = conv->dw,
                                   .init = PARAM_INIT_HE,
                                   .fan_in = in_channels * kernel_h * kernel_w, .decay = 1};
    conv->base.params[1] = (Param){.name = "b", .value = conv->b, .grad = conv->db,
                                   .init = PARAM_INIT_ZERO};
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
