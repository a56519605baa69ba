/* conv.c: convolution as im2col + matrix multiply.
 *
 * Forward, for each image n:
 *     cols = im2col(x[n])                      (C*kH*kW, H_out*W_out)
 *     out[n] = w * cols + b                    (F, H_out*W_out)
 * with w viewed as the matrix (F, C*kH*kW): one row per filter.
 * (With stride 1, a pad below the kernel's sides, and images large enough
 * for it to pay (plan_for, shifted_pays), the same product is made without
 * building cols: shifted_rows.h. The numbers are the same; only the
 * copying differs. A 3x3, stride 1 layer that its description marks
 * 'winograd' computes all three passes through winograd.h instead: 36
 * products over 4x4 blocks, 4 times fewer multiply-adds, the same result
 * to about 1e-5 of its size in float.)
 *
 * Backward. Given dout = dL/dout (N, F, H_out, W_out), the forward
 * out[n] = w * cols + b is an ordinary matrix product, so:
 *     dw     = sum_n dout[n] * cols^T          (F, C*kH*kW)
 *     db[f]  = sum_n sum_p dout[n][f][p]       every output pixel of filter f used b[f]
 *     dcols  = w^T * dout[n]                   (C*kH*kW, H_out*W_out)
 *     dx[n]  = col2im_add(dcols)               each patch entry goes back to its pixel
 * col2im adds because a pixel that sits in several overlapping patches
 * influenced the loss through each of them. (Where shifted rows pay, dx is
 * computed as a convolution of dout instead, also without dcols, and dw
 * without cols: shifted_rows.h. Same sums, in another order: the last bits
 * may differ.)
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
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm.h"
#include "im2col.h"
#include "shifted_rows.h"
#include "winograd.h"

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

/* How one layer computes, for one input size: the forward and dw (on the
 * forward's grid) and dx through shifted rows or through im2col, and the
 * work space each thread needs for it, in reals. */
typedef struct {
    int forward_shifted, dx_shifted; /* dw goes the forward's way */
    Shifted forward, dx; /* x padded by pad; dout padded by k - 1 - pad */
    int images;          /* through im2col or Winograd: images per product */
    int group;           /* images per group of the backward's partial sums */
    int winograd;        /* 1: every pass through winograd.h */
    WinogradTiles tiles; /* its 4x4 output blocks */
    size_t slice;
} ConvPlan;

/* Small images through im2col: a 6x6 output makes products 36 columns
 * wide, narrower than one tile of the matrix multiply's (48), which then
 * computes a third of its work on padding. Put the cols of several images
 * side by side in one matrix, and the product is 4 x 36 = 144 columns wide,
 * three whole tiles: out (F, images * cols) = w * [cols_0 cols_1 ...]. In
 * the backward pass, dw = [dout_0 dout_1 ...] * [cols_0 cols_1 ...]^T adds
 * the images' shares within one product. At most IMAGES_PER_GROUP, so the
 * backward's groups hold whole products. */
static int images_per_product(int cols)
{
    int images = 144 / cols;
    if (images > IMAGES_PER_GROUP) images = IMAGES_PER_GROUP;
    while (images > 1 && IMAGES_PER_GROUP % images) images--;
    return images < 1 ? 1 : images;
}

/* Winograd's products are T = images x tiles columns wide (winograd.h):
 * 144 (three tiles of the matrix multiply's) from one 48x48 map, four
 * 24x24 ones, sixteen 12x12 ones; at most 16 images, so that a batch of 64
 * still makes four groups for the threads to share. Each product is one
 * group of the backward pass. */
static int winograd_images(int tiles)
{
    const int images = 144 / tiles;
    return images < 1 ? 1 : images > 16 ? 16 : images;
}

/* Work space of the Winograd path, in reals: V (36, C, T), M or dM
 * (36, F, T), dU (36, F, C) in the backward pass, and the transforms' own
 * (the images inside a border of zeros) */
static size_t winograd_slice(const ConvLayer *conv, const ConvPlan *plan)
{
    const size_t T = (size_t)winograd_width(&plan->tiles, plan->images);
    return WINOGRAD_POSITIONS * (T * (size_t)(conv->in_channels + conv->filters) +
                                 (size_t)conv->filters * conv->in_channels) +
           winograd_work_size(&plan->tiles, plan->images);
}

static ConvPlan plan_for(const ConvLayer *conv, const ConvGeometry *g)
{
    ConvPlan plan = {0};
    if (conv->winograd && winograd_applies(g)) {
        plan.tiles = winograd_tiles(g);
        plan.images = plan.group = winograd_images(plan.tiles.tiles);
        /* the transforms index their padded maps with an int: maps too
         * large for that (2^31 numbers: no machine's memory) go through
         * im2col */
        if (winograd_work_size(&plan.tiles, plan.images) <= INT_MAX) {
            plan.winograd = 1;
            plan.slice = winograd_slice(conv, &plan);
            return plan;
        }
        plan = (ConvPlan){0};
    }
    plan.group = IMAGES_PER_GROUP;
    const int kH = conv->kernel_h, kW = conv->kernel_w;
    const int stride_1 = conv->stride == 1 && conv->pad < kH && conv->pad < kW;
    plan.forward = shifted_layout(g->channels, g->height, g->width, kH, kW, conv->pad, conv->pad);
    plan.dx = shifted_layout(conv->filters, g->out_h, g->out_w, kH, kW, kH - 1 - conv->pad,
                             kW - 1 - conv->pad);
    plan.forward_shifted = stride_1 && shifted_pays(&plan.forward);
    plan.dx_shifted = stride_1 && shifted_pays(&plan.dx);
    plan.images = plan.forward_shifted ? 1 : images_per_product(conv_geometry_cols(g));
    /* forward: cols and the product, or the padded image and the grid;
     * backward: for dw, cols and dout side by side, or the padded image
     * (channels last) and dout's grid; then for dx, dcols, or the padded
     * dout and the grid */
    const size_t width = (size_t)plan.images * conv_geometry_cols(g);
    const size_t cols = (size_t)conv_geometry_rows(g) * width, outs = (size_t)conv->filters * width;
    const size_t forward_grid = shifted_padded_size(&plan.forward) +
                                (size_t)conv->filters * plan.forward.run;
    const size_t forward = plan.forward_shifted ? forward_grid : cols + outs;
    const size_t backward = forward + (plan.dx_shifted ? shifted_padded_size(&plan.dx) +
                                                             (size_t)g->channels * plan.dx.run
                                                       : cols);
    plan.slice = forward > backward ? forward : backward;
    return plan;
}

static double conv_workspace_per_thread(const Layer *layer, int ndim, const int *in)
{
    const ConvLayer *conv = (const ConvLayer *)layer;
    ConvGeometry g;
    if (ndim != 4 || conv_geometry_init(&g, in[1], in[2], in[3], conv->kernel_h, conv->kernel_w,
                                        conv->stride, conv->pad, NULL) != 0)
        return 0;
    return (double)plan_for(conv, &g).slice;
}

/* The threads' tables of where rows start, *per_thread entries each: cols'
 * rows (C*kH*kW or F*kH*kW) or dw's (one per grid position) */
static long *row_tables(ConvLayer *conv, const ConvPlan *plan, size_t *per_thread)
{
    const int channels = conv->in_channels > conv->filters ? conv->in_channels : conv->filters;
    *per_thread = (size_t)channels * conv->kernel_h * conv->kernel_w;
    if (*per_thread < (size_t)plan->forward.run) *per_thread = (size_t)plan->forward.run;
    const size_t need = *per_thread * (size_t)max_threads();
    if (need > conv->row_tables_size) {
        free(conv->row_tables);
        conv->row_tables = xcalloc_aligned(need * sizeof(long));
        conv->row_tables_size = need;
    }
    return conv->row_tables;
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

/* 2 per multiply-add: C*kH*kW of them for each of the F*H_out*W_out outputs;
 * through Winograd, those its products compute: F*C for each of the 36
 * positions of each 4x4 block (the transforms' additions are not counted,
 * as im2col's copies are not) */
static double conv_flops(const Layer *layer, int ndim, const int *in)
{
    const ConvLayer *conv = (const ConvLayer *)layer;
    int out_ndim, out[TENSOR_MAX_DIMS] = {0};
    if (conv_output_shape(layer, ndim, in, &out_ndim, out, NULL) != 0) return 0;
    ConvGeometry g;
    conv_geometry_init(&g, in[1], in[2], in[3], conv->kernel_h, conv->kernel_w, conv->stride,
                       conv->pad, NULL);
    const ConvPlan plan = plan_for(conv, &g);
    if (plan.winograd)
        return 2.0 * WINOGRAD_POSITIONS * conv->in_channels * conv->filters * plan.tiles.tiles;
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

/* Winograd's transforms carry more rounding than a sum of products */
static double conv_output_roundings(const Layer *layer)
{
    const ConvLayer *conv = (const ConvLayer *)layer;
    const ConvGeometry g = {.kernel_h = conv->kernel_h, .kernel_w = conv->kernel_w,
                            .stride = conv->stride, .pad = conv->pad};
    return conv->winograd && winograd_applies(&g) ? WINOGRAD_ROUNDINGS : 1;
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
    const ConvPlan plan = plan_for(conv, &g);
    const size_t slice = plan.slice;
    real *workspace = buffer_of_size(&conv->workspace, &conv->workspace_size,
                                     slice * (size_t)max_threads());
    size_t table_size;
    long *tables = row_tables(conv, &plan, &table_size);

    /* A network that lists w alone ('nobias') leaves b at 0 and never
     * reads db: then no bias is added and db is not summed. */
    const real *bias = layer->num_params > 1 ? conv->b->data : NULL;

    if (plan.winograd) winograd_filters(F, conv->in_channels, conv->w->data, conv->winograd_U);

    #pragma omp parallel for schedule(dynamic)
    for (int first = 0; first < N; first += plan.images) {
        real *work = workspace + slice * (size_t)thread_id();
        const int count = N - first < plan.images ? N - first : plan.images;
        real *out_first = out->data + (size_t)first * out_item;
        if (plan.winograd) {
            /* M[e] (F, Tw) = U[e] (F, C) * V[e] (C, Tw), e = 0..35 */
            const int C = conv->in_channels, Tw = winograd_width(&plan.tiles, count);
            real *V = work, *M = work + WINOGRAD_POSITIONS * (size_t)C * Tw;
            real *transforms = M + WINOGRAD_POSITIONS * (size_t)F * Tw;
            winograd_inputs(&plan.tiles, x->data + (size_t)first * x_item, count, V, transforms);
            for (int e = 0; e < WINOGRAD_POSITIONS; e++)
                gemm(0, 0, F, Tw, C, 1, conv->winograd_U + (size_t)e * F * C, C,
                     V + (size_t)e * C * Tw, Tw, 0, M + (size_t)e * F * Tw, Tw);
            winograd_outputs(&plan.tiles, F, M, count, bias, out_first);
            continue;
        }
        if (plan.forward_shifted) {
            /* out[n] = w * cols + b, cols never built (see above) */
            shifted_convolve(&plan.forward, conv->w->data, bias, F,
                             x->data + (size_t)first * x_item, out_first, work,
                             work + shifted_padded_size(&plan.forward),
                             tables + table_size * (size_t)thread_id());
            continue;
        }
        if (count == 1) {
            /* out[n] = w (F, rows) * cols (rows, cols), then + b while
             * out[n] is still in the cache the product left it in */
            im2col(&g, x->data + (size_t)first * x_item, work);
            gemm(0, 0, F, cols, rows, 1, conv->w->data, rows, work, cols, 0, out_first, cols);
            for (int f = 0; bias && f < F; f++)
                for (int p = 0; p < cols; p++) out_first[(size_t)f * cols + p] += bias[f];
            continue;
        }
        /* the same for `count` images side by side, then each image's
         * columns of the product to its own out[n], + b on the way */
        const int width = count * cols;
        real *product = work + (size_t)rows * width;
        for (int m = 0; m < count; m++)
            im2col_strided(&g, x->data + (size_t)(first + m) * x_item, work + m * cols, width);
        gemm(0, 0, F, width, rows, 1, conv->w->data, rows, work, width, 0, product, width);
        for (int m = 0; m < count; m++)
            for (int f = 0; f < F; f++) {
                real *to = out_first + m * out_item + (size_t)f * cols;
                const real *from = product + (size_t)f * width + m * cols;
                if (bias)
                    for (int p = 0; p < cols; p++) to[p] = from[p] + bias[f];
                else
                    memcpy(to, from, (size_t)cols * sizeof(real));
            }
    }
}

/* What every group of images shares in one backward pass. */
typedef struct {
    ConvLayer *conv;
    const Tensor *x, *dout;
    Tensor *dx;                /* NULL: no dx wanted */
    ConvGeometry g;
    ConvPlan plan;
    int rows, cols;            /* of cols: C*kH*kW, H_out*W_out */
    size_t x_item, out_item;   /* numbers per image of x and of dout */
    int has_bias;              /* see conv_forward */
} Backward;

/* db[f] += the sum of dout over filter f's map, image by image: written
 * into db_partial for the group's first image, added for the others */
static void bias_sums(const Backward *pass, int first, int n, int count, real *db_partial)
{
    const real *dout_n = pass->dout->data + (size_t)n * pass->out_item;
    for (int m = 0; pass->has_bias && m < count; m++)
        for (int f = 0; f < pass->conv->filters; f++) {
            const real sum = sum_of(dout_n + m * pass->out_item + (size_t)f * pass->cols, pass->cols);
            db_partial[f] = n + m == first ? sum : db_partial[f] + sum;
        }
}

/* One group's share of dw and db, and its dx, through Winograd (one
 * product, winograd.h): V and dM, then dU[e] (F, C) = dM[e] (F, T) * V[e]^T
 * and dw = G^T dU G, then dV[e] (C, T) = U[e]^T (C, F) * dM[e] (F, T), in
 * V's place, and dx. */
static void winograd_backward_group(const Backward *pass, int first, int stop, real *dw_partial,
                                    real *db_partial, real *work)
{
    const ConvLayer *conv = pass->conv;
    const WinogradTiles *tiles = &pass->plan.tiles;
    const int F = conv->filters, C = conv->in_channels, count = stop - first;
    const int T = count * tiles->tiles, Tw = winograd_width(tiles, count);
    real *V = work, *dM = V + WINOGRAD_POSITIONS * (size_t)C * Tw;
    real *dU = dM + WINOGRAD_POSITIONS * (size_t)F * Tw;
    real *transforms = dU + WINOGRAD_POSITIONS * (size_t)F * C;
    const real *dout_first = pass->dout->data + (size_t)first * pass->out_item;
    bias_sums(pass, first, first, count, db_partial);
    winograd_inputs(tiles, pass->x->data + (size_t)first * pass->x_item, count, V, transforms);
    winograd_output_gradients(tiles, F, dout_first, count, dM);
    /* summed over the T tiles only: V's columns past them hold copies */
    for (int e = 0; e < WINOGRAD_POSITIONS; e++)
        gemm(0, 1, F, C, T, 1, dM + (size_t)e * F * Tw, Tw, V + (size_t)e * C * Tw, Tw, 0,
             dU + (size_t)e * F * C, C);
    winograd_filter_gradients(F, C, dU, dw_partial);
    if (!pass->dx) return;
    for (int e = 0; e < WINOGRAD_POSITIONS; e++)
        gemm(1, 0, C, Tw, F, 1, conv->winograd_U + (size_t)e * F * C, C, dM + (size_t)e * F * Tw,
             Tw, 0, V + (size_t)e * C * Tw, Tw);
    winograd_input_gradients(tiles, V, count, pass->dx->data + (size_t)first * pass->x_item,
                             transforms);
}

/* One group's images (first .. stop - 1): their share of dw into dw_partial
 * (F x rows) and of db into db_partial (F), overwritten; and their dx. */
static void backward_group(const Backward *pass, int first, int stop, real *dw_partial,
                           real *db_partial, real *work, long *table)
{
    ConvLayer *conv = pass->conv;
    const ConvGeometry *g = &pass->g;
    const ConvPlan *plan = &pass->plan;
    const int F = conv->filters, rows = pass->rows, cols = pass->cols;
    const size_t x_item = pass->x_item, out_item = pass->out_item;
    const size_t width_max = (size_t)plan->images * cols;
    if (plan->winograd) {
        winograd_backward_group(pass, first, stop, dw_partial, db_partial, work);
        return;
    }
    real *more_work = work + (plan->forward_shifted ? shifted_padded_size(&plan->forward) +
                                                          (size_t)F * plan->forward.run
                                                    : (size_t)(rows + F) * width_max);
    for (int n = first; n < stop; n += plan->images) {
        const int count = stop - n < plan->images ? stop - n : plan->images, width = count * cols;
        const real *dout_n = pass->dout->data + (size_t)n * out_item;
        const real *x_n = pass->x->data + (size_t)n * x_item;
        bias_sums(pass, first, n, count, db_partial);
        /* dw = dout[n] (F, cols) * cols^T (cols, rows) for the group's
         * first image (beta = 0: no need to zero the partial first),
         * dw += the same for the others; with several images side by
         * side, dout's and cols' columns for all of them */
        const real beta = n == first ? 0 : 1;
        const real *dout_side = dout_n;
        if (plan->forward_shifted) {
            shifted_dw(&plan->forward, F, x_n, dout_n, beta, dw_partial, work, table);
        } else {
            for (int m = 0; m < count; m++)
                im2col_strided(g, x_n + m * x_item, work + m * cols, width);
            if (count > 1) {
                real *side = work + (size_t)rows * width;
                for (int m = 0; m < count; m++)
                    for (int f = 0; f < F; f++)
                        memcpy(side + (size_t)f * width + m * cols,
                               dout_n + m * out_item + (size_t)f * cols, (size_t)cols * sizeof(real));
                dout_side = side;
            }
            gemm(0, 1, F, rows, width, 1, dout_side, width, work, width, beta, dw_partial, rows);
        }
        if (!pass->dx) continue;
        real *dx_n = pass->dx->data + (size_t)n * x_item;
        if (plan->dx_shifted) {
            /* dx[n] = the convolution of dout[n] by the turned filters */
            for (int m = 0; m < count; m++)
                shifted_convolve(&plan->dx, conv->turned, NULL, g->channels, dout_n + m * out_item,
                                 dx_n + m * x_item, more_work,
                                 more_work + shifted_padded_size(&plan->dx), table);
        } else {
            /* dcols = w^T (rows, F) * dout[n] (F, cols), then back onto the pixels */
            gemm(1, 0, rows, width, F, 1, conv->w->data, rows, dout_side, width, 0, more_work,
                 width);
            memset(dx_n, 0, count * x_item * sizeof(real)); /* col2im adds */
            for (int m = 0; m < count; m++)
                col2im_add_strided(g, more_work + m * cols, width, dx_n + m * x_item);
        }
    }
}

/* dw and db: the groups' partial sums (partial_size apart, dw's F x rows
 * then db's F) added in group order, into the first group's: the same
 * result whoever ran them. The threads share dw out in blocks of SUM_BLOCK
 * numbers, each number still summed over the groups in order. */
static void add_group_partials(const Backward *pass, real *partials, size_t partial_size, int groups)
{
    ConvLayer *conv = pass->conv;
    const int F = conv->filters;
    const size_t dw_size = conv->dw->size, blocks = (dw_size + SUM_BLOCK - 1) / SUM_BLOCK;
    #pragma omp parallel for schedule(dynamic) if (dw_size > 4 * SUM_BLOCK)
    for (size_t block = 0; block < blocks; block++) {
        const size_t begin = block * SUM_BLOCK;
        const size_t count = begin + SUM_BLOCK < dw_size ? SUM_BLOCK : dw_size - begin;
        real *sum = partials + begin;
        for (int group = 1; group < groups; group++) {
            const real *dw_partial = partials + partial_size * (size_t)group + begin;
            for (size_t i = 0; i < count; i++) sum[i] += dw_partial[i];
        }
    }
    if (pass->plan.forward_shifted)
        shifted_dw_in_filter_order(F, pass->g.channels, conv->kernel_h, conv->kernel_w, partials,
                                   conv->dw->data);
    else
        memcpy(conv->dw->data, partials, dw_size * sizeof(real));
    tensor_zero(conv->db);
    for (int group = 0; pass->has_bias && group < groups; group++) {
        const real *db_partial = partials + partial_size * (size_t)group + dw_size;
        for (int f = 0; f < F; f++) conv->db->data[f] += db_partial[f];
    }
}

/* Overwrites dw, db and (if not NULL) dx: see the top of the file. */
static void conv_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    ConvLayer *conv = (ConvLayer *)layer;
    Backward pass = {.conv = conv, .x = layer->input, .dout = dout, .dx = dx,
                     .has_bias = layer->num_params > 1};
    geometry_for(conv, pass.x, &pass.g);
    pass.plan = plan_for(conv, &pass.g);
    pass.rows = conv_geometry_rows(&pass.g);
    pass.cols = conv_geometry_cols(&pass.g);
    pass.x_item = tensor_item_size(pass.x);
    pass.out_item = (size_t)conv->filters * pass.cols;

    const int N = pass.x->dim[0], F = conv->filters;
    const size_t slice = pass.plan.slice;
    real *workspace = buffer_of_size(&conv->workspace, &conv->workspace_size,
                                     slice * (size_t)max_threads());
    /* each group's partial dw (F x rows) followed by its partial db (F) */
    const int group_size = pass.plan.group;
    const int groups = (N + group_size - 1) / group_size;
    const size_t partial_size = (size_t)F * pass.rows + (size_t)F;
    real *partials = buffer_of_size(&conv->partials, &conv->partials_size,
                                    partial_size * (size_t)groups);
    size_t table_size;
    long *tables = row_tables(conv, &pass.plan, &table_size);
    assert(dout->size == (size_t)N * pass.out_item);
    if (pass.plan.winograd)
        winograd_filters(F, conv->in_channels, conv->w->data, conv->winograd_U);
    if (dx) {
        tensor_resize(dx, pass.x->ndim, pass.x->dim);
        if (pass.plan.dx_shifted)
            shifted_turn_filters(F, pass.g.channels, conv->kernel_h, conv->kernel_w, conv->w->data,
                                 conv->turned);
    }

    #pragma omp parallel for schedule(dynamic)
    for (int group = 0; group < groups; group++) {
        real *dw_partial = partials + partial_size * (size_t)group;
        const int first = group * group_size;
        const int stop = N - first < group_size ? N : first + group_size;
        backward_group(&pass, first, stop, dw_partial, dw_partial + (size_t)F * pass.rows,
                       workspace + slice * (size_t)thread_id(),
                       tables + table_size * (size_t)thread_id());
    }
    add_group_partials(&pass, partials, partial_size, groups);
}

void conv_use_winograd(Layer *layer)
{
    ConvLayer *conv = (ConvLayer *)layer;
    if (conv->winograd) return;
    conv->winograd = 1;
    conv->winograd_U = xcalloc_aligned((size_t)WINOGRAD_POSITIONS * conv->filters *
                                       conv->in_channels * sizeof(real));
}

void conv_paths(const Layer *layer, int H, int W, int *forward, int *dx)
{
    const ConvLayer *conv = (const ConvLayer *)layer;
    ConvGeometry g;
    int ok = conv_geometry_init(&g, conv->in_channels, H, W, conv->kernel_h, conv->kernel_w,
                                conv->stride, conv->pad, NULL);
    assert(ok == 0);
    (void)ok;
    const ConvPlan plan = plan_for(conv, &g);
    *forward = plan.forward_shifted;
    *dx = plan.dx_shifted;
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
    free(conv->turned);
    free(conv->winograd_U);
    free(conv->row_tables);
    free(conv);
}

static const LayerOps conv_ops = {
    .kind = "conv",
    .output_shape = conv_output_shape,
    .workspace_per_thread = conv_workspace_per_thread,
    .flops = conv_flops,
    .backward_flops = conv_backward_flops,
    .output_roundings = conv_output_roundings,
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
    conv->turned = xcalloc_aligned(conv->w->size * sizeof(real));
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
