#include "pool.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "im2col.h"

static void geometry_for(const PoolLayer *pool, int ndim, const int *in, ConvGeometry *g,
                         int *ok, Error *err)
{
    *ok = ndim == 4 && conv_geometry_init(g, in[1], in[2], in[3], pool->kernel_h, pool->kernel_w,
                                          pool->stride, pool->pad, err) == 0;
}

static int pool_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                             int *out, Error *err)
{
    const PoolLayer *pool = (const PoolLayer *)layer;
    ConvGeometry g;
    int ok;
    if (ndim != 4)
        return error_set(err, "pooling needs an (N, C, H, W) input, got %d dimensions", ndim);
    geometry_for(pool, ndim, in, &g, &ok, err);
    if (!ok) return -1;
    *out_ndim = 4;
    out[0] = in[0];
    out[1] = in[1];
    out[2] = g.out_h;
    out[3] = g.out_w;
    return 0;
}

/* one comparison (or addition) per window element, for every output */
static double pool_flops(const Layer *layer, int ndim, const int *in)
{
    const PoolLayer *pool = (const PoolLayer *)layer;
    int out_ndim, out[TENSOR_MAX_DIMS] = {0};
    if (pool_output_shape(layer, ndim, in, &out_ndim, out, NULL) != 0) return 0;
    return (double)pool->kernel_h * pool->kernel_w * out[1] * out[2] * out[3];
}

/* max: one addition per output (its gradient goes to the window's max);
 * average: one division per output and one addition per window element */
static double pool_backward_flops(const Layer *layer, int ndim, const int *in, int with_dx)
{
    const PoolLayer *pool = (const PoolLayer *)layer;
    int out_ndim, out[TENSOR_MAX_DIMS] = {0};
    if (!with_dx || pool_output_shape(layer, ndim, in, &out_ndim, out, NULL) != 0) return 0;
    const double outputs = (double)out[1] * out[2] * out[3];
    return pool->kind == POOL_MAX ? outputs : outputs * (1 + pool->kernel_h * pool->kernel_w);
}

/* The window of output (oh, ow), clipped to the image: rows [h0, h1), cols [w0, w1). */
typedef struct {
    int h0, h1, w0, w1;
} Window;

static Window window_at(const ConvGeometry *g, int oh, int ow)
{
    Window win;
    win.h0 = oh * g->stride - g->pad;
    win.w0 = ow * g->stride - g->pad;
    win.h1 = win.h0 + g->kernel_h;
    win.w1 = win.w0 + g->kernel_w;
    if (win.h0 < 0) win.h0 = 0;
    if (win.w0 < 0) win.w0 = 0;
    if (win.h1 > g->height) win.h1 = g->height;
    if (win.w1 > g->width) win.w1 = g->width;
    return win;
}

/* The common case, 2x2 windows at stride 2 with no padding on an even-sized
 * plane, written out so the compiler can vectorise it: the four candidates
 * of a window are compared in row-major order, and '>' keeps the first max,
 * exactly as the general loop below does. */
static int is_2x2_stride_2(const ConvGeometry *g)
{
    return g->kernel_h == 2 && g->kernel_w == 2 && g->stride == 2 && g->pad == 0 &&
           g->height % 2 == 0 && g->width % 2 == 0;
}

/* One window: the first max of in[first], in[first + 1] (top row) and
 * in[first + W], in[first + W + 1] (bottom row), compared in that order. */
static inline void maxpool_2x2_window(const real *restrict in, int first, int W,
                                      real *restrict out, int *restrict argmax)
{
    real best = in[first];
    int where = first;
    real v = in[first + 1];
    where = v > best ? first + 1 : where;
    best = v > best ? v : best;
    v = in[first + W];
    where = v > best ? first + W : where;
    best = v > best ? v : best;
    v = in[first + W + 1];
    where = v > best ? first + W + 1 : where;
    best = v > best ? v : best;
    *out = best;
    *argmax = where;
}

/* Narrow planes (out_w < NARROW_ROW) are pooled as one flat run of outputs,
 * each window's top-left index looked up in a table: a run of 9 outputs
 * vectorises where 3 rows of 3 cannot. Row by row, the short rows ran as
 * scalar code whose comparisons the branch predictor guesses badly: 5 times
 * slower on fer2013.net's 12x12 planes, 11 times on its 6x6 ones (1 thread,
 * AVX-512 machine). */
enum { NARROW_ROW = 8, NARROW_PLANE = 1024 };

/* in (H, W) -> out (H/2, W/2) and argmax (H/2, W/2), index into in.
 * first_of: for a narrow plane, the top-left index of every window, else NULL. */
static void maxpool_2x2_plane(const ConvGeometry *g, const int *first_of,
                              const real *restrict in, real *restrict out, int *restrict argmax)
{
    const int W = g->width, out_h = g->out_h, out_w = g->out_w;
    if (first_of) {
        #pragma omp simd
        for (int q = 0; q < out_h * out_w; q++)
            maxpool_2x2_window(in, first_of[q], W, &out[q], &argmax[q]);
        return;
    }
    for (int oh = 0; oh < out_h; oh++)
        for (int ow = 0; ow < out_w; ow++)
            maxpool_2x2_window(in, 2 * oh * W + 2 * ow, W, &out[oh * out_w + ow],
                               &argmax[oh * out_w + ow]);
}

/* The backward of maxpool_2x2_plane on rows of NARROW_ROW windows or more.
 * The windows tile the plane, so every input is in exactly one: it gets
 * its window's gradient if it was the max, else 0. Each is written once,
 * with no zeroing pass first. Narrow planes go the general way instead
 * (zero the plane, then add each gradient where its max was): there the
 * short rows would run as scalar code, choosing between the gradient and 0
 * by a branch mispredicted half the time; 4 times slower on fer2013.net's
 * 12x12 planes, 6 times on its 6x6 ones, than the general way, whose
 * plane is in the cache anyway. */
static void maxpool_2x2_backward_plane(const ConvGeometry *g, const int *restrict argmax,
                                       const real *restrict d_out, real *restrict d_in)
{
    const int W = g->width, out_w = g->out_w;
    for (int h = 0; h < g->height; h++) {
        const int *restrict window_max = argmax + (h / 2) * out_w;
        const real *restrict d = d_out + (h / 2) * out_w;
        real *restrict row = d_in + h * W;
        for (int q = 0; q < out_w; q++) {
            const int at = window_max[q] - (h * W + 2 * q); /* 0, 1, or not in this row */
            row[2 * q] = at == 0 ? d[q] : 0;
            row[2 * q + 1] = at == 1 ? d[q] : 0;
        }
    }
}

static void pool_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    PoolLayer *pool = (PoolLayer *)layer;
    ConvGeometry g;
    int ok;
    geometry_for(pool, x->ndim, x->dim, &g, &ok, NULL);
    assert(ok);
    layer_resize_output(layer, x, out);
    layer->input = x;
    if (pool->kind == POOL_MAX && out->size > pool->argmax_capacity) {
        free(pool->argmax);
        pool->argmax = xmalloc(out->size * sizeof *pool->argmax);
        pool->argmax_capacity = out->size;
    }

    const int planes = x->dim[0] * x->dim[1]; /* every (n, c) is pooled alone */
    const size_t plane_in = (size_t)g.height * g.width, plane_out = (size_t)g.out_h * g.out_w;
    const real window_size = (real)(g.kernel_h * g.kernel_w);

    const int fast = pool->kind == POOL_MAX && is_2x2_stride_2(&g);
    int first_of[NARROW_PLANE];
    const int narrow = fast && g.out_w < NARROW_ROW && plane_out <= NARROW_PLANE;
    if (narrow)
        for (int q = 0; q < (int)plane_out; q++)
            first_of[q] = 2 * (q / g.out_w) * g.width + 2 * (q % g.out_w);

    /* Threads take planes a chunk at a time as they come free, so a core
     * slowed by another program does not hold up the other; planes are
     * independent. */
    #pragma omp parallel for schedule(dynamic, planes_per_chunk(plane_in))
    for (int plane = 0; plane < planes; plane++) {
        const real *in = x->data + plane * plane_in;
        real *o = out->data + plane * plane_out;
        if (fast) {
            maxpool_2x2_plane(&g, narrow ? first_of : NULL, in, o, pool->argmax + plane * plane_out);
            continue;
        }
        for (int oh = 0; oh < g.out_h; oh++)
            for (int ow = 0; ow < g.out_w; ow++) {
                Window win = window_at(&g, oh, ow);
                size_t o_index = (size_t)oh * g.out_w + ow;
                if (pool->kind == POOL_MAX) {
                    int best = win.h0 * g.width + win.w0;
                    for (int h = win.h0; h < win.h1; h++)
                        for (int w = win.w0; w < win.w1; w++)
                            if (in[h * g.width + w] > in[best]) best = h * g.width + w; /* '>' keeps the first max */
                    o[o_index] = in[best];
                    pool->argmax[plane * plane_out + o_index] = best;
                } else {
                    real sum = 0;
                    for (int h = win.h0; h < win.h1; h++)
                        for (int w = win.w0; w < win.w1; w++) sum += in[h * g.width + w];
                    o[o_index] = sum / window_size;
                }
            }
    }
}

static void pool_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    PoolLayer *pool = (PoolLayer *)layer;
    const Tensor *x = layer->input;
    ConvGeometry g;
    int ok;
    if (!dx) return;
    geometry_for(pool, x->ndim, x->dim, &g, &ok, NULL);
    assert(ok);
    tensor_resize(dx, x->ndim, x->dim);

    const int planes = x->dim[0] * x->dim[1];
    const size_t plane_in = (size_t)g.height * g.width, plane_out = (size_t)g.out_h * g.out_w;
    const real window_size = (real)(g.kernel_h * g.kernel_w);
    const int fast = pool->kind == POOL_MAX && is_2x2_stride_2(&g) && g.out_w >= NARROW_ROW;

    #pragma omp parallel for schedule(dynamic, planes_per_chunk(plane_in))
    for (int plane = 0; plane < planes; plane++) {
        real *d_in = dx->data + plane * plane_in;
        const real *d_out = dout->data + plane * plane_out;
        if (fast) {
            maxpool_2x2_backward_plane(&g, pool->argmax + plane * plane_out, d_out, d_in);
            continue;
        }
        memset(d_in, 0, plane_in * sizeof(real)); /* the windows add their shares */
        if (pool->kind == POOL_MAX) {
            const int *argmax = pool->argmax + plane * plane_out;
            for (size_t k = 0; k < plane_out; k++) d_in[argmax[k]] += d_out[k];
            continue;
        }
        for (int oh = 0; oh < g.out_h; oh++)
            for (int ow = 0; ow < g.out_w; ow++) {
                Window win = window_at(&g, oh, ow);
                real share = d_out[(size_t)oh * g.out_w + ow] / window_size;
                for (int h = win.h0; h < win.h1; h++)
                    for (int w = win.w0; w < win.w1; w++) d_in[h * g.width + w] += share;
            }
    }
}

/* A max-pool is not differentiable where a window's two largest values are
 * equal (which one gets the gradient flips there), so its distance from a
 * kink is the smallest gap between the largest and second-largest value of
 * any window. Windows whose two largest are both exactly 0 are left out:
 * after a ReLU those are dead units, tied at 0 whatever small nudge their
 * own inputs get, so the tie never flips. A window holding one real input
 * (clipped by the padding) has no second value and no kink. */
static double maxpool_kink_distance(const Layer *layer, const Tensor *x)
{
    const PoolLayer *pool = (const PoolLayer *)layer;
    ConvGeometry g;
    int ok;
    geometry_for(pool, x->ndim, x->dim, &g, &ok, NULL);
    assert(ok);
    const int planes = x->dim[0] * x->dim[1];
    const size_t plane_in = (size_t)g.height * g.width;
    double nearest = INFINITY;
    for (int plane = 0; plane < planes; plane++) {
        const real *in = x->data + plane * plane_in;
        for (int oh = 0; oh < g.out_h; oh++)
            for (int ow = 0; ow < g.out_w; ow++) {
                Window win = window_at(&g, oh, ow);
                double first = -INFINITY, second = -INFINITY;
                for (int h = win.h0; h < win.h1; h++)
                    for (int w = win.w0; w < win.w1; w++) {
                        double v = in[h * g.width + w];
                        if (v > first) {
                            second = first;
                            first = v;
                        } else if (v > second) {
                            second = v;
                        }
                    }
                if (second == -INFINITY || (first == 0 && second == 0)) continue;
                nearest = fmin(nearest, first - second);
            }
    }
    return nearest;
}

static void pool_destroy(Layer *layer)
{
    PoolLayer *pool = (PoolLayer *)layer;
    free(pool->argmax);
    free(pool);
}

static const LayerOps maxpool_ops = {
    .kind = "maxpool",
    .cache_bytes_per_output = sizeof(int), /* argmax */
    .output_shape = pool_output_shape,
    .flops = pool_flops,
    .backward_flops = pool_backward_flops,
    .kink_distance = maxpool_kink_distance,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
};

static const LayerOps avgpool_ops = {
    .kind = "avgpool",
    .output_shape = pool_output_shape,
    .flops = pool_flops,
    .backward_flops = pool_backward_flops,
    .kink_distance = NULL, /* an average is smooth everywhere */
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
};

static Layer *pool_create(PoolKind kind, int kernel_h, int kernel_w, int stride, int pad, Error *err)
{
    const char *what = kind == POOL_MAX ? "max-pool" : "average-pool";
    if (kernel_h < 1 || kernel_w < 1) {
        error_set(err, "%s window %dx%d must be at least 1x1", what, kernel_h, kernel_w);
        return NULL;
    }
    if (stride < 1) {
        error_set(err, "%s stride %d must be at least 1", what, stride);
        return NULL;
    }
    if (pad < 0 || 2 * pad > kernel_h || 2 * pad > kernel_w) {
        error_set(err, "%s padding %d must be between 0 and half the window %dx%d", what, pad,
                  kernel_h, kernel_w);
        return NULL;
    }
    PoolLayer *pool = xcalloc(1, sizeof *pool);
    pool->base.ops = kind == POOL_MAX ? &maxpool_ops : &avgpool_ops;
    pool->kind = kind;
    pool->kernel_h = kernel_h;
    pool->kernel_w = kernel_w;
    pool->stride = stride;
    pool->pad = pad;
    return &pool->base;
}

Layer *maxpool_create(int kernel_h, int kernel_w, int stride, int pad, Error *err)
{
    return pool_create(POOL_MAX, kernel_h, kernel_w, stride, pad, err);
}

Layer *avgpool_create(int kernel_h, int kernel_w, int stride, int pad, Error *err)
{
    return pool_create(POOL_AVERAGE, kernel_h, kernel_w, stride, pad, err);
}
