/* conv.c: convolution as im2col + matrix multiply.
 *
 * Forward, for each image n:
 *     cols = im2col(x[n])                      (C*kH*kW, H_out*W_out)
 *     out[n] = w * cols + b                    (F, H_out*W_out)
 * with w viewed as the matrix (F, C*kH*kW): one row per filter.
 * (With stride 1 the same product is made without building cols: see
 * "Stride 1" below. The numbers are the same; only the copying differs.)
 *
 * Backward. Given dout = dL/dout (N, F, H_out, W_out), the forward
 * out[n] = w * cols + b is an ordinary matrix product, so:
 *     dw     = sum_n dout[n] * cols^T          (F, C*kH*kW)
 *     db[f]  = sum_n sum_p dout[n][f][p]       every output pixel of filter f used b[f]
 *     dcols  = w^T * dout[n]                   (C*kH*kW, H_out*W_out)
 *     dx[n]  = col2im_add(dcols)               each patch entry goes back to its pixel
 * col2im adds because a pixel that sits in several overlapping patches
 * influenced the loss through each of them. (With stride 1, dx is computed
 * as a convolution of dout instead, also without dcols: "Stride 1" below.
 * Same sums, in another order: the last bits may differ.)
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

/* ---- Stride 1: im2col's matrix, never built ------------------------------
 * With stride 1, row (c, i, j) of cols is channel c of the zero-padded
 * image moved i rows up and j columns left. Lay the padded image out flat,
 * S = W + pad numbers per row: pad zeros, then the image row. The pad zeros
 * that start a row also end the row before (the padding on the right of
 * one row and on the left of the next are the same zeros), and pad rows of
 * zeros lie above and below. Compute the output on the same grid, output
 * (oh, ow) at position q = oh*S + ow. Then
 *     cols[(c, i, j)][q] = padded[c][oh + i][ow + j] = padded_flat[c*P + i*S + j + q]
 * (P the length of one channel's plane): row (c, i, j) of cols is the run
 * of the flat padded image that starts at c*P + i*S + j. gemm_rows
 * multiplies by a matrix given by where its rows start, so out = w * cols
 * reads the padded image where it lies, and the kH*kW copies of the image
 * that im2col makes are never made. The grid's last S - W_out positions of
 * each row are not outputs (their windows wrap round into the next row):
 * they are computed and dropped, 2% more multiply-adds for a 3x3 kernel
 * at 48x48, 4% at 24x24, 8% at 12x12, 14% at 6x6; so the small images
 * keep im2col (shifted_pays below). Every output is the same sum, in the
 * same order, as through im2col.
 *
 * dx is such a convolution too. Input pixel (c, h, w) gathers
 * w[f][c][i][j] * dout[f][h + pad - i][w + pad - j] over f, i, j: that is
 * the stride-1 convolution of dout, zero-padded by kH - 1 - pad rows and
 * kW - 1 - pad columns, with the filters turned half a turn and their input
 * and output channels exchanged,
 *     turned[c][f][i][j] = w[f][c][kH - 1 - i][kW - 1 - j].
 * So dx needs neither dcols nor col2im either; it needs pad < kH and kW.
 *
 * dw = dout * cols^T: dw[f][c][i][j] = sum over q of dout[f][q] *
 * padded[c][q + i*S + j], with dout laid out on the same grid (zeros at
 * the positions that are not outputs). Here cols is transposed, and its
 * rows would have to be packed. Instead, store the padded image channels
 * last (padded_cl[p*C + c], p the flat position): then, for kernel row i,
 * the kW*C numbers (j, c) that dw's row block i multiplies at grid
 * position q lie side by side, from padded_cl + (q + i*S)*C on. So
 *     dw_i (F, kW*C) = dout_grid (F, run) * B_i (run, kW*C),
 *     row q of B_i at padded_cl + (q + i*S)*C,
 * rows that overlap (each starts C numbers after the one before), which
 * gemm_rows reads where they lie. dw comes out in (i, j, c) order and is
 * put back in (c, i, j) order when the groups' partial sums are added. */

/* One image's padded layout, pad_h rows above and below, pad_w zeros
 * between rows (and before the first, after the last), and the grid of
 * its stride-1 convolution by kH x kW. */
typedef struct {
    int channels, image_h, image_w, kernel_h, kernel_w, pad_h, pad_w;
    int rows, stride;   /* padded: image_h + 2*pad_h rows, image_w + pad_w apart */
    long plane;         /* one channel: rows * stride, and pad_w zeros after */
    int out_h, out_w;   /* image_h + 2*pad_h - kH + 1, image_w + 2*pad_w - kW + 1 */
    int run;            /* grid positions from the first output to the last */
} Shifted;

static Shifted shifted_layout(int C, int H, int W, int kH, int kW, int pad_h, int pad_w)
{
    Shifted s = {.channels = C, .image_h = H, .image_w = W, .kernel_h = kH, .kernel_w = kW,
                 .pad_h = pad_h, .pad_w = pad_w, .rows = H + 2 * pad_h, .stride = W + pad_w};
    s.plane = (long)s.rows * s.stride + pad_w;
    s.out_h = H + 2 * pad_h - kH + 1;
    s.out_w = W + 2 * pad_w - kW + 1;
    s.run = (s.out_h - 1) * s.stride + s.out_w;
    return s;
}

static size_t shifted_padded_size(const Shifted *s)
{
    return (size_t)s->channels * (size_t)s->plane;
}

/* Shifted rows pay when the products are long (at least 64 multiply-adds
 * per output: shorter ones cost less than copying the outputs out of the
 * grid) and the grid wastes at most 5%. Measured on the FER2013 network,
 * they win at 48x48 and 24x24 and lose at 12x12 and 6x6: at 12x12 the grid
 * is 155 positions long, and its last 11 take a whole fourth tile of the
 * matrix multiply's, where im2col's 144 columns fill three. */
static int shifted_pays(const Shifted *s)
{
    const long depth = (long)s->channels * s->kernel_h * s->kernel_w;
    return depth >= 64 && 100L * s->run <= 105L * s->out_h * s->out_w;
}

/* How one layer computes, for one input size: the forward and dw (on the
 * forward's grid) and dx through shifted rows or through im2col, and the
 * work space each thread needs for it, in reals. */
typedef struct {
    int forward_shifted, dx_shifted; /* dw goes the forward's way */
    Shifted forward, dx; /* x padded by pad; dout padded by k - 1 - pad */
    int images;          /* through im2col: images side by side per product */
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

static ConvPlan plan_for(const ConvLayer *conv, const ConvGeometry *g)
{
    ConvPlan plan;
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

/* x (C, H, W) into padded (C planes, see Shifted): zeros around x.
 * The rows are short (6 to 50 numbers): plain loops, which the compiler
 * turns into vector moves, cost less than as many calls to memcpy. */
static void pad_image(const Shifted *s, const real *restrict x, real *restrict padded)
{
    const int H = s->image_h, W = s->image_w, stride = s->stride, pad_h = s->pad_h, pad_w = s->pad_w;
    for (int c = 0; c < s->channels; c++) {
        real *restrict to = padded + c * s->plane;
        const real *restrict from = x + (long)c * H * W;
        for (long k = 0; k < (long)pad_h * stride; k++) *to++ = 0;
        for (int h = 0; h < H; h++, from += W) {
            for (int w = 0; w < pad_w; w++) *to++ = 0;
            for (int w = 0; w < W; w++) *to++ = from[w];
        }
        for (long k = 0; k < (long)pad_h * stride + pad_w; k++) *to++ = 0;
    }
}

/* out (F, out_h, out_w) = the first out_w positions of each grid row,
 * + bias[f] if bias is not NULL (in the same pass: one sweep less) */
static void take_outputs(const Shifted *s, int F, const real *restrict grid,
                         const real *restrict bias, real *restrict out)
{
    const int out_h = s->out_h, out_w = s->out_w, stride = s->stride;
    for (int f = 0; f < F; f++) {
        const real *restrict from = grid + (long)f * s->run;
        for (int oh = 0; oh < out_h; oh++, from += stride) {
            if (bias)
                for (int ow = 0; ow < out_w; ow++) *out++ = from[ow] + bias[f];
            else
                for (int ow = 0; ow < out_w; ow++) *out++ = from[ow];
        }
    }
}

/* out (F, out_h, out_w) = weights (F, C*kH*kW) * cols(x) (+ bias, if not
 * NULL), x one (C, H, W) image, stride 1, through the padded image (see
 * above). Work space: padded (shifted_padded_size), grid (F * run) and rows
 * (C*kH*kW). */
static void convolve_shifted(const Shifted *s, const real *weights, const real *bias, int F,
                             const real *x, real *out, real *padded, real *grid, long *rows)
{
    const int kH = s->kernel_h, kW = s->kernel_w, depth = s->channels * kH * kW;
    pad_image(s, x, padded);
    for (int c = 0; c < s->channels; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++)
                rows[(c * kH + i) * kW + j] = c * s->plane + (long)i * s->stride + j;
    gemm_rows(0, F, s->run, depth, 1, weights, depth, padded, rows, 0, grid, s->run);
    take_outputs(s, F, grid, bias, out);
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
    const ConvPlan plan = plan_for(conv, &g);
    const size_t slice = plan.slice;
    real *workspace = buffer_of_size(&conv->workspace, &conv->workspace_size,
                                     slice * (size_t)max_threads());
    size_t table_size;
    long *tables = row_tables(conv, &plan, &table_size);

    #pragma omp parallel for schedule(dynamic)
    for (int first = 0; first < N; first += plan.images) {
        real *work = workspace + slice * (size_t)thread_id();
        const int count = N - first < plan.images ? N - first : plan.images;
        real *out_first = out->data + (size_t)first * out_item;
        if (plan.forward_shifted) {
            /* out[n] = w * cols + b, cols never built (see above) */
            convolve_shifted(&plan.forward, conv->w->data, conv->b->data, F,
                             x->data + (size_t)first * x_item, out_first, work,
                             work + shifted_padded_size(&plan.forward),
                             tables + table_size * (size_t)thread_id());
            continue;
        }
        if (count == 1) {
            /* out[n] = w (F, rows) * cols (rows, cols) */
            im2col(&g, x->data + (size_t)first * x_item, work);
            gemm(0, 0, F, cols, rows, 1, conv->w->data, rows, work, cols, 0, out_first, cols);
        } else {
            /* the same for `count` images side by side, then each image's
             * columns of the product to its own out[n] */
            const int width = count * cols;
            real *product = work + (size_t)rows * width;
            for (int m = 0; m < count; m++)
                im2col_strided(&g, x->data + (size_t)(first + m) * x_item, work + m * cols, width);
            gemm(0, 0, F, width, rows, 1, conv->w->data, rows, work, width, 0, product, width);
            for (int m = 0; m < count; m++)
                for (int f = 0; f < F; f++)
                    memcpy(out_first + m * out_item + (size_t)f * cols,
                           product + (size_t)f * width + m * cols, (size_t)cols * sizeof(real));
        }
        /* then + b, while out[n] is still in the cache the product left it in */
        for (int m = 0; m < count; m++) {
            real *out_n = out_first + m * out_item;
            for (int f = 0; f < F; f++) {
                const real bias = conv->b->data[f];
                for (int p = 0; p < cols; p++) out_n[(size_t)f * cols + p] += bias;
            }
        }
    }
}

/* x (C, H, W) into padded_cl, channels last: padded_cl[p*C + c] =
 * padded_flat[c*P + p] (see above). Position by position, the C numbers
 * are read from C planes at once; each cache line read serves 16
 * positions. */
static void pad_channels_last(const Shifted *s, const real *restrict x, real *restrict padded_cl)
{
    const int C = s->channels, H = s->image_h, W = s->image_w;
    const long image = (long)H * W;
    memset(padded_cl, 0, shifted_padded_size(s) * sizeof(real));
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) {
            real *restrict to = padded_cl + ((long)(h + s->pad_h) * s->stride + s->pad_w + w) * C;
            const real *restrict from = x + (long)h * W + w;
            for (int c = 0; c < C; c++) to[c] = from[c * image];
        }
}

/* dout (F, out_h, out_w) onto the grid (F x run): 0 where no output is */
static void put_on_grid(const Shifted *s, int F, const real *restrict dout, real *restrict grid)
{
    const int out_h = s->out_h, out_w = s->out_w, stride = s->stride;
    for (int f = 0; f < F; f++)
        for (int oh = 0; oh < out_h; oh++) {
            real *restrict to = grid + (long)f * s->run + (long)oh * stride;
            for (int ow = 0; ow < out_w; ow++) to[ow] = *dout++;
            for (int ow = out_w; ow < stride && oh + 1 < out_h; ow++) to[ow] = 0;
        }
}

/* dw_partial (F, kH*kW*C, in (i, j, c) order) = or += dout (F, out_h,
 * out_w) times the padded image of x, through shifted rows (see above).
 * work: shifted_padded_size + F * run reals; rows: run entries. */
static void dw_shifted(const Shifted *s, int F, const real *x, const real *dout, real beta,
                       real *dw_partial, real *work, long *rows)
{
    const int C = s->channels, width_C = s->kernel_w * C, depth = s->kernel_h * width_C;
    real *padded_cl = work, *grid = work + shifted_padded_size(s);
    pad_channels_last(s, x, padded_cl);
    put_on_grid(s, F, dout, grid);
    for (int q = 0; q < s->run; q++) rows[q] = (long)q * C;
    for (int i = 0; i < s->kernel_h; i++)
        gemm_rows(0, F, width_C, s->run, 1, grid, s->run, padded_cl + (long)i * s->stride * C, rows,
                  beta, dw_partial + i * width_C, depth);
}

/* dw[f][c][i][j] = shifted[f][i][j][c]: dw_shifted's order put back */
static void from_kernel_rows_order(const ConvLayer *conv, const real *shifted, real *dw)
{
    const int F = conv->filters, C = conv->in_channels, kH = conv->kernel_h, kW = conv->kernel_w;
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < kH; i++)
                for (int j = 0; j < kW; j++)
                    dw[((f * C + c) * kH + i) * kW + j] = shifted[((f * kH + i) * kW + j) * C + c];
}

/* turned[c][f][i][j] = w[f][c][kH - 1 - i][kW - 1 - j], for dx (see above) */
static void turn_filters(const ConvLayer *conv, real *turned)
{
    const int F = conv->filters, C = conv->in_channels, kH = conv->kernel_h, kW = conv->kernel_w;
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++)
            for (int i = 0; i < kH; i++)
                for (int j = 0; j < kW; j++)
                    turned[((c * F + f) * kH + i) * kW + j] =
                        conv->w->data[((f * C + c) * kH + (kH - 1 - i)) * kW + (kW - 1 - j)];
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
    const ConvPlan plan = plan_for(conv, &g);
    const size_t slice = plan.slice;
    real *workspace = buffer_of_size(&conv->workspace, &conv->workspace_size,
                                     slice * (size_t)max_threads());
    /* each group's partial dw (F x rows) followed by its partial db (F) */
    const int groups = (N + IMAGES_PER_GROUP - 1) / IMAGES_PER_GROUP;
    const size_t partial_size = (size_t)F * rows + (size_t)F;
    real *partials = buffer_of_size(&conv->partials, &conv->partials_size,
                                    partial_size * (size_t)groups);
    size_t table_size;
    long *tables = row_tables(conv, &plan, &table_size);
    assert(dout->size == (size_t)N * out_item);
    if (dx) {
        tensor_resize(dx, x->ndim, x->dim);
        if (plan.dx_shifted) turn_filters(conv, conv->turned);
    }

    #pragma omp parallel for schedule(dynamic)
    for (int group = 0; group < groups; group++) {
        real *work = workspace + slice * (size_t)thread_id();
        const size_t width_max = (size_t)plan.images * cols;
        real *more_work = work + (plan.forward_shifted ? shifted_padded_size(&plan.forward) +
                                                             (size_t)F * plan.forward.run
                                                       : (size_t)(rows + F) * width_max);
        long *table = tables + table_size * (size_t)thread_id();
        real *dw_partial = partials + partial_size * (size_t)group;
        real *db_partial = dw_partial + (size_t)F * rows;
        const int first = group * IMAGES_PER_GROUP;
        const int stop = N - first < IMAGES_PER_GROUP ? N : first + IMAGES_PER_GROUP;
        for (int n = first; n < stop; n += plan.images) {
            const int count = stop - n < plan.images ? stop - n : plan.images, width = count * cols;
            const real *dout_n = dout->data + (size_t)n * out_item;
            const real *x_n = x->data + (size_t)n * x_item;
            for (int m = 0; m < count; m++)
                for (int f = 0; f < F; f++) {
                    const real sum = sum_of(dout_n + m * out_item + (size_t)f * cols, cols);
                    db_partial[f] = n + m == first ? sum : db_partial[f] + sum;
                }
            /* dw = dout[n] (F, cols) * cols^T (cols, rows) for the group's
             * first image (beta = 0: no need to zero the partial first),
             * dw += the same for the others; with several images side by
             * side, dout's and cols' columns for all of them */
            const real beta = n == first ? 0 : 1;
            const real *dout_side = dout_n;
            if (plan.forward_shifted) {
                dw_shifted(&plan.forward, F, x_n, dout_n, beta, dw_partial, work, table);
            } else {
                for (int m = 0; m < count; m++)
                    im2col_strided(&g, x_n + m * x_item, work + m * cols, width);
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
            if (!dx) continue;
            real *dx_n = dx->data + (size_t)n * x_item;
            if (plan.dx_shifted) {
                /* dx[n] = the convolution of dout[n] by the turned filters */
                for (int m = 0; m < count; m++)
                    convolve_shifted(&plan.dx, conv->turned, NULL, g.channels, dout_n + m * out_item,
                                     dx_n + m * x_item, more_work,
                                     more_work + shifted_padded_size(&plan.dx), table);
            } else {
                /* dcols = w^T (rows, F) * dout[n] (F, cols), then back onto the pixels */
                gemm(1, 0, rows, width, F, 1, conv->w->data, rows, dout_side, width, 0, more_work,
                     width);
                memset(dx_n, 0, count * x_item * sizeof(real)); /* col2im adds */
                for (int m = 0; m < count; m++)
                    col2im_add_strided(&g, more_work + m * cols, width, dx_n + m * x_item);
            }
        }
    }

    /* Add the partial sums in group order, into the first group's: the
     * same result whoever ran them. The threads share dw out in blocks of
     * SUM_BLOCK numbers, each number still summed over the groups in order. */
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
    if (plan.forward_shifted)
        from_kernel_rows_order(conv, partials, conv->dw->data);
    else
        memcpy(conv->dw->data, partials, dw_size * sizeof(real));
    tensor_zero(conv->db);
    for (int group = 0; group < groups; group++) {
        const real *db_partial = partials + partial_size * (size_t)group + dw_size;
        for (int f = 0; f < F; f++) conv->db->data[f] += db_partial[f];
    }
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
    free(conv->row_tables);
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
