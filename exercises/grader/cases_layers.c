/* cases_layers.c: ReLU, max-pooling, fully connected, softmax cross-entropy.
 *
 * The right answers come from the library's layers (layers/relu.c,
 * pool.c, fc.c, softmax_xent.c); gradients are also checked against the
 * numerical gradient of the layer's forward pass. Mistakes are computed by
 * plain loops, each the definition with one thing changed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fc.h"
#include "grader.h"
#include "gradcheck.h"
#include "pool.h"
#include "relu.h"
#include "softmax_xent.h"



/* Runs layer forward on x (copied into a tensor of x_dims) into `out`,
 * then, if dout, backward into dx. */
static void run_layer(Layer *layer, const double *x, int ndim, const int *x_dims, double *out,
                      const double *dout, double *dx)
{
    Tensor *tx = tensor_new(ndim, x_dims), *tout = tensor_new2(1, 1), *tdx = tensor_new2(1, 1);
    memcpy(tx->data, x, tx->size * sizeof(double));
    layer_forward(layer, tx, tout);
    if (out) memcpy(out, tout->data, tout->size * sizeof(double));
    if (dout) {
        Tensor td = tensor_view((double *)dout, tout->ndim, tout->dim);
        layer_backward(layer, &td, tdx);
        memcpy(dx, tdx->data, tdx->size * sizeof(double));
    }
    tensor_free(tx);
    tensor_free(tout);
    tensor_free(tdx);
}


/* ---- ReLU ---------------------------------------------------------------- */

/* The last case has some x exactly 0, where the contract takes ReLU's
 * derivative as 0: there the numerical gradient (which measures 1/2 at the
 * kink) does not count, only the library's answer. */
static const int relu_sizes[] = {10, 37, 64, 20};
#define RELU_CASES 4
#define RELU_ZEROS_CASE 3

/* normal values, none closer to 0 (ReLU's kink) than 0.05; in the zeros
 * case every fourth one is exactly 0 */
static void relu_fill_x(Case *c, double *x, size_t n, int index, Rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double v = rng_normal(rng);
        x[i] = v < 0 ? v - 0.05 : v + 0.05;
        if (index == RELU_ZEROS_CASE && i % 4 == 1) x[i] = 0;
    }
    if (index == RELU_ZEROS_CASE) c->numeric_skip = 1;
}

static void relu_describe(Case *c, const Arg *x, const char *what)
{
    int zeros = 0;
    for (size_t i = 0; i < x->size; i++) zeros += x->value[i] == 0;
    char also[64] = "";
    if (zeros)
        snprintf(also, sizeof also, "; %d of x exactly 0 (the derivative there is 0)", zeros);
    case_describe(c, "n = %zu values%s%s", x->size, what, also);
}

static void relu_forward_case(Case *c, int index, Rng *rng)
{
    int n = relu_sizes[index];
    Arg *x = case_array(c, "x", "i", ROLE_IN, 1, &n);
    Arg *out = case_array(c, "out", "i", ROLE_OUT, 1, &n);
    relu_fill_x(c, x->value, x->size, index, rng);
    fill_garbage(out, rng);
    case_ints(c, 1, &n);
    relu_describe(c, x, ", about half of them negative");
    Layer *layer = relu_create();
    run_layer(layer, x->value, 1, &n, out->expected, NULL, NULL);
    layer_free(layer);
}

static void relu_backward_case(Case *c, int index, Rng *rng)
{
    int n = relu_sizes[index];
    Arg *dout = case_array(c, "dout", "i", ROLE_IN, 1, &n);
    Arg *x = case_array(c, "x", "i", ROLE_IN, 1, &n);
    Arg *dx = case_array(c, "dx", "i", ROLE_OUT, 1, &n);
    fill_normal(dout->value, dout->size, 1, rng);
    relu_fill_x(c, x->value, x->size, index, rng);
    fill_garbage(dx, rng);
    case_ints(c, 1, &n);
    relu_describe(c, x, "; x and dout each about half negative");
    Layer *layer = relu_create();
    run_layer(layer, x->value, 1, &n, NULL, dout->value, dx->expected);
    layer_free(layer);
}

static double relu_numeric(const Case *c, int arg)
{
    if (arg != 2 || c->numeric_skip) return -1;
    Layer *layer = relu_create();
    double *x = xmalloc(c->args[1].size * sizeof(double));
    memcpy(x, c->args[1].value, c->args[1].size * sizeof(double));
    double e =
        layer_numeric_error(layer, x, 1, c->args[1].dims, NULL, c->args[0].value, c->args[2].got, "dx");
    free(x);
    layer_free(layer);
    return e;
}

/* dx = dout where mask(x, dout), else 0; or the mask's value alone */
static void predict_relu_mask_dout(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const double *dout = c->args[0].value;
    for (size_t i = 0; i < c->args[0].size; i++) pred[2][i] = dout[i] > 0 ? dout[i] : 0;
}

static void predict_relu_inverted(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const double *dout = c->args[0].value, *x = c->args[1].value;
    for (size_t i = 0; i < c->args[0].size; i++) pred[2][i] = x[i] <= 0 ? dout[i] : 0;
}

static void predict_relu_mask_at_zero(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const double *dout = c->args[0].value, *x = c->args[1].value;
    for (size_t i = 0; i < c->args[0].size; i++) pred[2][i] = x[i] >= 0 ? dout[i] : 0;
}

static void predict_relu_no_dout(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const double *x = c->args[1].value;
    for (size_t i = 0; i < c->args[0].size; i++) pred[2][i] = x[i] > 0 ? 1 : 0;
}

static void predict_relu_times_out(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const double *dout = c->args[0].value, *x = c->args[1].value;
    for (size_t i = 0; i < c->args[0].size; i++) pred[2][i] = x[i] > 0 ? x[i] * dout[i] : 0;
}

static const Mistake relu_backward_mistakes[] = {
    {"relu_backward masks with dout instead of x: the gradient passes where the unit was active "
     "in the forward pass, x > 0, whatever the sign of dout.",
     predict_relu_mask_dout},
    {"relu_backward's mask is inverted: the gradient passes where x > 0 and stops where x <= 0.",
     predict_relu_inverted},
    {"relu_backward returns the derivative of ReLU alone (1 or 0): by the chain rule, dx is "
     "that derivative times dout.",
     predict_relu_no_dout},
    {"relu_backward multiplies dout by max(0, x): the derivative of max(0, x) is 1 where x > 0, "
     "not x.",
     predict_relu_times_out},
    {"relu_backward lets the gradient through where x = 0 (its mask is x >= 0, not x > 0): "
     "max(0, x) has no derivative at 0, and the contract takes it as 0, as PyTorch does.",
     predict_relu_mask_at_zero},
};

static const char *const relu_forward_formulas[] = {
    "out[i] = max(0, x[i])",
    NULL,
};

static const char *const relu_backward_formulas[] = {
    "dx[i] = dout[i] where x[i] > 0, and 0 where x[i] <= 0",
    NULL,
};

const FunctionSpec relu_specs[] = {
    {"relu_forward", "relu", RELU_CASES, relu_forward_case, NULL, NULL, 0, relu_forward_formulas},
    {"relu_backward", "relu", RELU_CASES, relu_backward_case, relu_numeric, relu_backward_mistakes,
     sizeof relu_backward_mistakes / sizeof relu_backward_mistakes[0], relu_backward_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};

/* ---- max-pooling ------------------------------------------------------------- */

typedef struct {
    int N, C, H, W, kH, kW, stride, ties;
} PoolShape;

static const PoolShape pool_shapes[] = {
    {1, 1, 4, 4, 2, 2, 2, 0}, {2, 3, 6, 6, 2, 2, 2, 0}, {2, 2, 7, 7, 3, 3, 2, 0},
    {1, 3, 5, 6, 2, 3, 1, 0}, {2, 2, 7, 8, 3, 3, 3, 0}, {2, 2, 6, 6, 3, 3, 2, 1},
    {1, 2, 4, 4, 2, 2, 2, 1},
};
#define POOL_CASES 7

static Layer *pool_layer_for(const Case *c)
{
    Error err;
    Layer *layer = maxpool_create(c->kH, c->kW, c->stride, 0, &err);
    if (!layer) {
        fprintf(stderr, "grader: %s\n", err.msg);
        exit(2);
    }
    return layer;
}

static void pool_common(Case *c, int index, Rng *rng, int backward)
{
    const PoolShape *s = &pool_shapes[index];
    case_windows(c, s->N, s->C, s->H, s->W, s->kH, s->kW, s->stride, 0);
    const int x_dims[4] = {s->N, s->C, s->H, s->W}, out_dims[4] = {s->N, s->C, c->out_h, c->out_w};
    if (backward)
        fill_normal(case_array(c, "dout", "n,c,oh,ow", ROLE_IN, 4, out_dims)->value,
                    (size_t)s->N * s->C * c->out_h * c->out_w, 1, rng);
    Arg *x = case_array(c, "x", "n,c,h,w", ROLE_IN, 4, x_dims);
    if (s->ties) {
        /* small integers: most windows hold their maximum more than once */
        for (size_t i = 0; i < x->size; i++) x->value[i] = (double)rng_below(rng, 3);
        c->tags |= TAG_TIES;
        c->numeric_skip = 1;
    } else {
        fill_distinct(x->value, x->size, 0.01, rng);
    }
    case_ints(c, 7, (const int[]){s->N, s->C, s->H, s->W, s->kH, s->kW, s->stride});
    case_describe(c, "x (%d, %d, %d, %d), window %dx%d, stride %d -> out (%d, %d, %d, %d)%s", s->N,
                  s->C, s->H, s->W, s->kH, s->kW, s->stride, s->N, s->C, c->out_h, c->out_w,
                  s->ties ? ", windows with tied maxima" : "");
    case_factor(c, s->kH * s->kW, "kH*kW = %d", s->kH * s->kW);
    case_factor(c, 1.0 / (s->kH * s->kW), "1/(kH*kW) = 1/%d", s->kH * s->kW);
}

static void maxpool_forward_case(Case *c, int index, Rng *rng)
{
    pool_common(c, index, rng, 0);
    const int out_dims[4] = {c->N, c->C, c->out_h, c->out_w};
    Arg *out = case_array(c, "out", "n,c,oh,ow", ROLE_OUT, 4, out_dims);
    fill_garbage(out, rng);
    Layer *layer = pool_layer_for(c);
    run_layer(layer, c->args[0].value, 4, c->args[0].dims, out->expected, NULL, NULL);
    layer_free(layer);
}

static void maxpool_backward_case(Case *c, int index, Rng *rng)
{
    pool_common(c, index, rng, 1);
    Arg *dx = case_array(c, "dx", "n,c,h,w", ROLE_OUT, 4, c->args[1].dims);
    dx->on_input_grid = 1;
    fill_garbage(dx, rng);
    Layer *layer = pool_layer_for(c);
    run_layer(layer, c->args[1].value, 4, c->args[1].dims, NULL, c->args[0].value, dx->expected);
    layer_free(layer);
}

static double maxpool_numeric(const Case *c, int arg)
{
    if (arg != 2 || c->numeric_skip) return -1;
    Layer *layer = pool_layer_for(c);
    double *x = xmalloc(c->args[1].size * sizeof(double));
    memcpy(x, c->args[1].value, c->args[1].size * sizeof(double));
    double e =
        layer_numeric_error(layer, x, 4, c->args[1].dims, NULL, c->args[0].value, c->args[2].got, "dx");
    free(x);
    layer_free(layer);
    return e;
}

enum { TIE_FIRST, TIE_LAST, TIE_ALL };

/* Max-pool's backward with a choice of who gets a window's dout. */
static void pool_variant(const Case *c, int tie, int assign, int average, double *dx)
{
    const double *dout = c->args[0].value, *x = c->args[1].value;
    const int H = c->H, W = c->W, Ho = c->out_h, Wo = c->out_w;
    memset(dx, 0, (size_t)c->N * c->C * H * W * sizeof(double));
    for (int plane = 0; plane < c->N * c->C; plane++) {
        const double *in = x + (size_t)plane * H * W;
        double *d = dx + (size_t)plane * H * W;
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                double g = dout[((size_t)plane * Ho + oh) * Wo + ow], best = -INFINITY;
                int h0 = oh * c->stride, w0 = ow * c->stride, where = -1;
                for (int h = h0; h < h0 + c->kH; h++)
                    for (int w = w0; w < w0 + c->kW; w++) {
                        double v = in[h * W + w];
                        if (average) d[h * W + w] += g / (c->kH * c->kW);
                        if (v > best || (tie == TIE_LAST && v == best)) {
                            best = v;
                            where = h * W + w;
                        }
                    }
                if (average) continue;
                if (tie == TIE_ALL) {
                    for (int h = h0; h < h0 + c->kH; h++)
                        for (int w = w0; w < w0 + c->kW; w++)
                            if (in[h * W + w] == best) d[h * W + w] += g;
                } else if (assign) {
                    d[where] = g;
                } else {
                    d[where] += g;
                }
            }
    }
}

static void predict_pool_ties_all(const Case *c, double **pred, double *ret)
{
    (void)ret;
    pool_variant(c, TIE_ALL, 0, 0, pred[2]);
}

static void predict_pool_ties_last(const Case *c, double **pred, double *ret)
{
    (void)ret;
    pool_variant(c, TIE_LAST, 0, 0, pred[2]);
}

static void predict_pool_assign(const Case *c, double **pred, double *ret)
{
    (void)ret;
    pool_variant(c, TIE_FIRST, 1, 0, pred[2]);
}

static void predict_pool_average(const Case *c, double **pred, double *ret)
{
    (void)ret;
    pool_variant(c, TIE_FIRST, 0, 1, pred[2]);
}

static void predict_pool_forward_average(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const double *x = c->args[0].value;
    for (int plane = 0; plane < c->N * c->C; plane++)
        for (int oh = 0; oh < c->out_h; oh++)
            for (int ow = 0; ow < c->out_w; ow++) {
                double sum = 0;
                for (int i = 0; i < c->kH; i++)
                    for (int j = 0; j < c->kW; j++)
                        sum += x[((size_t)plane * c->H + oh * c->stride + i) * c->W +
                                 ow * c->stride + j];
                pred[1][((size_t)plane * c->out_h + oh) * c->out_w + ow] = sum / (c->kH * c->kW);
            }
}

static void predict_pool_forward_from_zero(const Case *c, double **pred, double *ret)
{
    (void)ret;
    for (size_t i = 0; i < c->args[1].size; i++) pred[1][i] = fmax(0, c->args[1].expected[i]);
}

static const Mistake maxpool_forward_mistakes[] = {
    {"maxpool_forward averages each window instead of taking its maximum (that is average "
     "pooling).",
     predict_pool_forward_average},
    {"maxpool_forward starts its running maximum at 0: a window whose values are all negative "
     "then gives 0 instead of its largest value. Start from the window's first value (or "
     "-INFINITY).",
     predict_pool_forward_from_zero},
};

static const Mistake maxpool_backward_mistakes[] = {
    {"with tied maxima, maxpool_backward sends the gradient to every maximum of the window: the "
     "window's output was one input, so all of dout goes to one of them, the first in row-major "
     "order (use >, not >=, when you look for it).",
     predict_pool_ties_all},
    {"with tied maxima, maxpool_backward sends the gradient to the last maximum of the window; "
     "the contract gives it to the first in row-major order (compare with >, not >=).",
     predict_pool_ties_last},
    {"maxpool_backward assigns (dx[max] = dout) where it must add (+=): an input that is the "
     "maximum of two overlapping windows receives both windows' dout.",
     predict_pool_assign},
    {"maxpool_backward spreads dout evenly over the window: that is average pooling's backward. "
     "For max-pooling all of dout goes to the window's maximum.",
     predict_pool_average},
};

static const char *const maxpool_forward_formulas[] = {
    "out[n][c][oh][ow] = the largest x[n][c][oh*stride + i][ow*stride + j] over 0 <= i < kH, 0 "
    "<= j < kW",
    NULL,
};

static const char *const maxpool_backward_formulas[] = {
    "dx[n][c][h][w] = the sum of dout[n][c][oh][ow] over the windows whose first maximum is at "
    "(h, w)",
    NULL,
};

const FunctionSpec maxpool_specs[] = {
    {"maxpool_forward", "maxpool", POOL_CASES, maxpool_forward_case, NULL, maxpool_forward_mistakes,
     sizeof maxpool_forward_mistakes / sizeof maxpool_forward_mistakes[0],
     maxpool_forward_formulas},
    {"maxpool_backward", "maxpool", POOL_CASES, maxpool_backward_case, maxpool_numeric,
     maxpool_backward_mistakes,
     sizeof maxpool_backward_mistakes / sizeof maxpool_backward_mistakes[0],
     maxpool_backward_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};

/* ---- fully connected ------------------------------------------------------- */

typedef struct {
    int N, C, H, W, M;
} FcShape;

static const FcShape fc_shapes[] = {
    {1, 4, 1, 1, 3}, {3, 5, 1, 1, 4}, {2, 3, 2, 2, 4}, {4, 2, 3, 2, 3}, {2, 2, 2, 3, 5},
};
#define FC_CASES 5

static Layer *fc_layer_for(const Case *c, const double *w, const double *b)
{
    Error err;
    const int D = c->ints[1] * c->ints[2] * c->ints[3], M = c->ints[4];
    Layer *layer = fc_create(D, M, &err);
    FcLayer *fc = (FcLayer *)layer;
    memcpy(fc->w->data, w, (size_t)D * M * sizeof(double));
    if (b) memcpy(fc->b->data, b, (size_t)M * sizeof(double));
    return layer;
}

static void fc_common(Case *c, int index, Rng *rng, int backward)
{
    const FcShape *s = &fc_shapes[index];
    const int D = s->C * s->H * s->W;
    const int x_dims[4] = {s->N, s->C, s->H, s->W}, w_dims[2] = {D, s->M},
              out_dims[2] = {s->N, s->M};
    if (backward)
        fill_normal(case_array(c, "dout", "n,m", ROLE_IN, 2, out_dims)->value, (size_t)s->N * s->M,
                    1, rng);
    fill_normal(case_array(c, "x", "n,c,h,w", ROLE_IN, 4, x_dims)->value, (size_t)s->N * D, 1, rng);
    fill_normal(case_array(c, "w", "d,m", ROLE_IN, 2, w_dims)->value, (size_t)D * s->M, 0.5, rng);
    if (!backward)
        fill_normal(case_array(c, "b", "m", ROLE_IN, 1, &s->M)->value, (size_t)s->M, 1, rng);
    case_ints(c, 5, (const int[]){s->N, s->C, s->H, s->W, s->M});
    if (s->N > 1) c->tags |= TAG_BATCH;
    if (s->C > 1 && s->H * s->W > 1) c->tags |= TAG_IMAGE;
    case_describe(c, "x (%d, %d, %d, %d) flattened to (%d, %d), w (%d, %d) -> out (%d, %d)", s->N,
                  s->C, s->H, s->W, s->N, D, D, s->M, s->N, s->M);
    case_factor(c, s->N, "N = %d, the batch size", s->N);
    case_factor(c, 1.0 / s->N, "1/N = 1/%d", s->N);
    case_factor(c, 2, "2");
    case_factor(c, 0.5, "1/2");
}

/* x with each image's features in (H, W, C) order: what a flatten in the
 * wrong order reads as feature d. */
static void channels_last(const Case *c, const double *x, double *perm, int inverse)
{
    const int N = c->ints[0], C = c->ints[1], H = c->ints[2], W = c->ints[3];
    for (int n = 0; n < N; n++)
        for (int ch = 0; ch < C; ch++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    size_t chw = (((size_t)n * C + ch) * H + h) * W + w;
                    size_t hwc = (((size_t)n * H + h) * W + w) * C + ch;
                    if (inverse)
                        perm[chw] = x[hwc];
                    else
                        perm[hwc] = x[chw];
                }
}

static void fc_forward_case(Case *c, int index, Rng *rng)
{
    fc_common(c, index, rng, 0);
    const int out_dims[2] = {c->ints[0], c->ints[4]};
    Arg *out = case_array(c, "out", "n,m", ROLE_OUT, 2, out_dims);
    fill_garbage(out, rng);
    Layer *layer = fc_layer_for(c, c->args[1].value, c->args[2].value);
    run_layer(layer, c->args[0].value, 4, c->args[0].dims, out->expected, NULL, NULL);
    layer_free(layer);
}

static void fc_backward_case(Case *c, int index, Rng *rng)
{
    fc_common(c, index, rng, 1);
    const int D = c->ints[1] * c->ints[2] * c->ints[3], M = c->ints[4];
    Arg *dx = case_array(c, "dx", "n,c,h,w", ROLE_OUT, 4, c->args[1].dims);
    Arg *dw = case_array(c, "dw", "d,m", ROLE_OUT, 2, (const int[]){D, M});
    Arg *db = case_array(c, "db", "m", ROLE_OUT, 1, &M);
    fill_garbage(dx, rng);
    fill_garbage(dw, rng);
    fill_garbage(db, rng);
    Layer *layer = fc_layer_for(c, c->args[2].value, NULL);
    run_layer(layer, c->args[1].value, 4, c->args[1].dims, NULL, c->args[0].value, dx->expected);
    FcLayer *fc = (FcLayer *)layer;
    memcpy(dw->expected, fc->dw->data, dw->size * sizeof(double));
    memcpy(db->expected, fc->db->data, db->size * sizeof(double));
    layer_free(layer);
}

static double fc_numeric(const Case *c, int arg)
{
    if (arg < 3) return -1;
    Layer *layer = fc_layer_for(c, c->args[2].value, NULL);
    FcLayer *fc = (FcLayer *)layer;
    double *x = xmalloc(c->args[1].size * sizeof(double));
    memcpy(x, c->args[1].value, c->args[1].size * sizeof(double));
    Tensor *value = arg == 3 ? NULL : arg == 4 ? fc->w : fc->b;
    double e = layer_numeric_error(layer, x, 4, c->args[1].dims, value, c->args[0].value,
                             c->args[arg].got, c->args[arg].name);
    free(x);
    layer_free(layer);
    return e;
}

/* out = x w + b, dx = dout w^T, dw = x^T dout, db = sum of dout, with x's
 * features in the given order. */
static void fc_variant(const Case *c, const double *x, const double *w, const double *b,
                       const double *dout, double *out, double *dx, double *dw, double *db)
{
    const int N = c->ints[0], D = c->ints[1] * c->ints[2] * c->ints[3], M = c->ints[4];
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double sum = b ? b[m] : 0;
            for (int d = 0; d < D; d++) sum += x[(size_t)n * D + d] * w[(size_t)d * M + m];
            if (out) out[(size_t)n * M + m] = sum;
        }
    if (dx)
        for (int n = 0; n < N; n++)
            for (int d = 0; d < D; d++) {
                double sum = 0;
                for (int m = 0; m < M; m++) sum += dout[(size_t)n * M + m] * w[(size_t)d * M + m];
                dx[(size_t)n * D + d] = sum;
            }
    if (dw)
        for (int d = 0; d < D; d++)
            for (int m = 0; m < M; m++) {
                double sum = 0;
                for (int n = 0; n < N; n++) sum += x[(size_t)n * D + d] * dout[(size_t)n * M + m];
                dw[(size_t)d * M + m] = sum;
            }
    if (db)
        for (int m = 0; m < M; m++) {
            double sum = 0;
            for (int n = 0; n < N; n++) sum += dout[(size_t)n * M + m];
            db[m] = sum;
        }
}

static void predict_fc_forward_flatten(const Case *c, double **pred, double *ret)
{
    (void)ret;
    double *perm = xmalloc(c->args[0].size * sizeof(double));
    channels_last(c, c->args[0].value, perm, 0);
    fc_variant(c, perm, c->args[1].value, c->args[2].value, NULL, pred[3], NULL, NULL, NULL);
    free(perm);
}

static void predict_fc_forward_no_bias(const Case *c, double **pred, double *ret)
{
    (void)ret;
    fc_variant(c, c->args[0].value, c->args[1].value, NULL, NULL, pred[3], NULL, NULL, NULL);
}

static void predict_fc_backward_flatten(const Case *c, double **pred, double *ret)
{
    (void)ret;
    double *perm = xmalloc(c->args[1].size * sizeof(double));
    double *dx_perm = xmalloc(c->args[1].size * sizeof(double));
    channels_last(c, c->args[1].value, perm, 0);
    fc_variant(c, perm, c->args[2].value, NULL, c->args[0].value, NULL, dx_perm, pred[4], NULL);
    channels_last(c, dx_perm, pred[3], 1);
    free(perm);
    free(dx_perm);
}

static void predict_fc_dw_transposed(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int D = c->ints[1] * c->ints[2] * c->ints[3], M = c->ints[4];
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++)
            pred[4][(size_t)m * D + d] = c->args[4].expected[(size_t)d * M + m];
}

static void predict_fc_db_last_image(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int N = c->ints[0], M = c->ints[4];
    for (int m = 0; m < M; m++) pred[5][m] = c->args[0].value[(size_t)(N - 1) * M + m];
}

static void predict_fc_dw_last_image(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int N = c->ints[0], D = c->ints[1] * c->ints[2] * c->ints[3], M = c->ints[4];
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++)
            pred[4][(size_t)d * M + m] = c->args[1].value[(size_t)(N - 1) * D + d] *
                                         c->args[0].value[(size_t)(N - 1) * M + m];
}

/* w as a student reads it with w[m*D + d] for w[d][m]: the (D, M) array
 * whose entry [d][m] is w's entry m*D + d. */
static double *w_read_transposed(const Case *c, const double *w)
{
    const int D = c->ints[1] * c->ints[2] * c->ints[3], M = c->ints[4];
    double *read = xmalloc((size_t)D * M * sizeof(double));
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++) read[(size_t)d * M + m] = w[(size_t)m * D + d];
    return read;
}

static void predict_fc_forward_w_transposed(const Case *c, double **pred, double *ret)
{
    (void)ret;
    double *w = w_read_transposed(c, c->args[1].value);
    fc_variant(c, c->args[0].value, w, c->args[2].value, NULL, pred[3], NULL, NULL, NULL);
    free(w);
}

static void predict_fc_dx_w_transposed(const Case *c, double **pred, double *ret)
{
    (void)ret;
    double *w = w_read_transposed(c, c->args[2].value);
    fc_variant(c, c->args[1].value, w, NULL, c->args[0].value, NULL, pred[3], NULL, NULL);
    free(w);
}

#define HINT_W_TRANSPOSED(who)                                                                 \
    who " reads w transposed, as w[m*D + d]: w is (D, M), so w[d][m] is at d*M + m (D = C*H*W " \
        "features, M outputs)."

#define HINT_FLATTEN                                                                            \
    "flattens each image in the wrong order, (H, W, C) instead of (C, H, W): feature d of "     \
    "x[n][c][h][w] is d = (c*H + h)*W + w, which is simply x's memory order, so x can be read " \
    "as an (N, D) array."

static const Mistake fc_forward_mistakes[] = {
    {"fc_forward " HINT_FLATTEN, predict_fc_forward_flatten},
    {"fc_forward never adds the bias: out[n][m] starts from b[m].", predict_fc_forward_no_bias},
    {HINT_W_TRANSPOSED("fc_forward"), predict_fc_forward_w_transposed},
};

static const Mistake fc_backward_mistakes[] = {
    {"dw is transposed: you wrote dw[d][m] at m*D + d, as if dw were (M, D); it is (D, M), like "
     "w, so entry [d][m] is at d*M + m.",
     predict_fc_dw_transposed},
    {"fc_backward " HINT_FLATTEN, predict_fc_backward_flatten},
    {"db holds only the last image's row of dout: db[m] is the sum of dout[n][m] over every "
     "image n of the batch.",
     predict_fc_db_last_image},
    {"dw holds only the last image's contribution: dw = x^T dout sums over every image of the "
     "batch.",
     predict_fc_dw_last_image},
    {HINT_W_TRANSPOSED("fc_backward's dx"), predict_fc_dx_w_transposed},
};

static const char *const fc_forward_formulas[] = {
    "out[n][m] = b[m] + the sum over d of x[n][d] * w[d][m]",
    NULL,
};

static const char *const fc_backward_formulas[] = {
    "dx[n][d] = the sum over m of dout[n][m] * w[d][m]",
    "dw[d][m] = the sum over n of x[n][d] * dout[n][m]",
    "db[m] = the sum over n of dout[n][m]",
    NULL,
};

const FunctionSpec fc_specs[] = {
    {"fc_forward", "fc", FC_CASES, fc_forward_case, NULL, fc_forward_mistakes,
     sizeof fc_forward_mistakes / sizeof fc_forward_mistakes[0], fc_forward_formulas},
    {"fc_backward", "fc", FC_CASES, fc_backward_case, fc_numeric, fc_backward_mistakes,
     sizeof fc_backward_mistakes / sizeof fc_backward_mistakes[0], fc_backward_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};

/* ---- softmax cross-entropy --------------------------------------------------- */

typedef struct {
    int N, K;
    double offset; /* added to every score: +-1000 tests the numerical stability */
} SoftmaxShape;

static const SoftmaxShape softmax_shapes[] = {
    {1, 2, 0}, {5, 7, 0}, {4, 3, 0}, {3, 7, 1000}, {2, 4, -1000}, {8, 10, 0},
};
#define SOFTMAX_CASES 6

static void softmax_common(Case *c, int index, Rng *rng)
{
    const SoftmaxShape *s = &softmax_shapes[index];
    const int dims[2] = {s->N, s->K};
    Arg *scores = case_array(c, "scores", "n,k", ROLE_IN, 2, dims);
    Arg *labels = case_int_array(c, "labels", (size_t)s->N);
    for (size_t i = 0; i < scores->size; i++) scores->value[i] = s->offset + rng_normal(rng);
    for (int i = 0; i < s->N; i++) labels->ivalue[i] = (int)rng_below(rng, (uint32_t)s->K);
    case_ints(c, 2, (const int[]){s->N, s->K});
    if (s->N > 1) c->tags |= TAG_BATCH;
    if (s->offset != 0) c->tags |= TAG_LARGE;
    if (s->offset != 0)
        case_describe(c, "scores (N, K) = (%d, %d), all near %g", s->N, s->K, s->offset);
    else
        case_describe(c, "scores (N, K) = (%d, %d), normal with standard deviation 1", s->N, s->K);
    case_factor(c, s->N, "N = %d, the batch size", s->N);
    case_factor(c, 1.0 / s->N, "1/N = 1/%d", s->N);
    case_factor(c, s->K, "K = %d, the number of classes", s->K);
    case_factor(c, 1.0 / s->K, "1/K = 1/%d", s->K);
    case_factor(c, (double)s->N / s->K, "N/K = %d/%d (a division by K where N belongs?)", s->N,
                s->K);
}

static void library_softmax(const Case *c, double *loss, double *dscores)
{
    const Arg *scores = &c->args[0];
    Tensor t = tensor_view(scores->value, 2, scores->dims);
    Tensor *probs = tensor_new2(1, 1), *d = tensor_new2(1, 1);
    double l = softmax_xent_forward(&t, c->args[1].ivalue, probs);
    if (loss) *loss = l;
    if (dscores) {
        softmax_xent_backward(probs, c->args[1].ivalue, d);
        memcpy(dscores, d->data, d->size * sizeof(double));
    }
    tensor_free(probs);
    tensor_free(d);
}

static void softmax_loss_case(Case *c, int index, Rng *rng)
{
    softmax_common(c, index, rng);
    Arg *loss = case_return(c, "loss");
    library_softmax(c, loss->expected, NULL);
}

typedef struct {
    const Tensor *scores;
    const int *labels;
} SoftmaxFunction;

static void softmax_function(void *context, Tensor *out)
{
    SoftmaxFunction *f = context;
    const int N = f->scores->dim[0], K = f->scores->dim[1];
    for (int i = 0; i < N; i++)
        out->data[i] = softmax_xent_item_loss(f->scores->data + (size_t)i * K, K, f->labels[i]);
}

/* L = (1/N) sum of the items' losses: out = the losses, dout = 1/N. */
static double softmax_numeric_of(const Case *c, const double *analytic)
{
    const Arg *scores = &c->args[0];
    const int N = scores->dims[0];
    double *copy = xmalloc(scores->size * sizeof(double));
    memcpy(copy, scores->value, scores->size * sizeof(double));
    Tensor t = tensor_view(copy, 2, scores->dims), a = tensor_view((double *)analytic, 2, scores->dims);
    Tensor *mean = tensor_new2(N, 1);
    tensor_fill(mean, 1.0 / N);
    SoftmaxFunction f = {&t, c->args[1].ivalue};
    GradcheckRow row = gradcheck_tensor(softmax_function, &f, &t, mean, &a, "softmax", "dscores");
    tensor_free(mean);
    free(copy);
    return row.max_rel_error;
}

static void softmax_gradient_case(Case *c, int index, Rng *rng)
{
    softmax_common(c, index, rng);
    Arg *d = case_array(c, "dscores", "n,k", ROLE_OUT, 2, c->args[0].dims);
    fill_garbage(d, rng);
    /* Draw the scores until the library's own gradient passes the
     * numerical check with room to spare, so that a failure there is the
     * student's. Near 1000 a double resolves the step h = 1e-5 to only a
     * few digits: those cases are compared with the library alone. */
    const SoftmaxShape *s = &softmax_shapes[index];
    for (int attempt = 0;; attempt++) {
        library_softmax(c, NULL, d->expected);
        if (softmax_numeric_of(c, d->expected) < 2e-8) break;
        if (attempt == 10) {
            c->numeric_skip = 1;
            break;
        }
        for (size_t i = 0; i < d->size; i++) c->args[0].value[i] = s->offset + rng_normal(rng);
    }
}

static double softmax_numeric(const Case *c, int arg)
{
    if (arg != 2 || c->numeric_skip) return -1;
    return softmax_numeric_of(c, c->args[2].got);
}

/* The textbook formulas without the maximum subtracted: the loss as
 * log(sum exp z) - z_y or as -log p_y; p as exp(z) / sum exp(z) or as
 * exp(z - log sum exp z). */
static void naive_softmax(const Case *c, int through_p, double *loss, double *dscores)
{
    const int N = c->ints[0], K = c->ints[1];
    const double *z = c->args[0].value;
    const int *y = c->args[1].ivalue;
    double total = 0;
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int j = 0; j < K; j++) sum += exp(z[(size_t)i * K + j]);
        total += through_p ? -log(exp(z[(size_t)i * K + y[i]]) / sum)
                           : log(sum) - z[(size_t)i * K + y[i]];
        if (dscores)
            for (int j = 0; j < K; j++) {
                double p = through_p ? exp(z[(size_t)i * K + j]) / sum
                                     : exp(z[(size_t)i * K + j] - log(sum));
                dscores[(size_t)i * K + j] = (p - (j == y[i])) / N;
            }
    }
    if (loss) *loss = total / N;
}

/* The maximum m subtracted inside the log-sum-exp and never added back:
 * lse = log sum exp(z - m), the loss lse - z_y, p = exp(z - lse). */
static void softmax_lse_without_max(const Case *c, double *loss, double *dscores)
{
    const int N = c->ints[0], K = c->ints[1];
    const int *y = c->args[1].ivalue;
    double total = 0;
    for (int i = 0; i < N; i++) {
        const double *z = c->args[0].value + (size_t)i * K;
        double m = z[0], sum = 0;
        for (int j = 1; j < K; j++) m = fmax(m, z[j]);
        for (int j = 0; j < K; j++) sum += exp(z[j] - m);
        double lse = log(sum);
        total += lse - z[y[i]];
        if (dscores)
            for (int j = 0; j < K; j++)
                dscores[(size_t)i * K + j] = (exp(z[j] - lse) - (j == y[i])) / N;
    }
    if (loss) *loss = total / N;
}

/* The maximum searched from 0 (m = 0, then m = z_j where z_j > m): right
 * unless every score of a row is negative; near -1000 every exp(z - 0)
 * underflows to 0, the log-sum-exp is -inf, the loss -inf and p inf. */
static void softmax_max_from_zero(const Case *c, double *loss, double *dscores)
{
    const int N = c->ints[0], K = c->ints[1];
    const int *y = c->args[1].ivalue;
    double total = 0;
    for (int i = 0; i < N; i++) {
        const double *z = c->args[0].value + (size_t)i * K;
        double m = 0, sum = 0;
        for (int j = 0; j < K; j++) m = fmax(m, z[j]);
        for (int j = 0; j < K; j++) sum += exp(z[j] - m);
        double lse = m + log(sum);
        total += lse - z[y[i]];
        if (dscores)
            for (int j = 0; j < K; j++)
                dscores[(size_t)i * K + j] = (exp(z[j] - lse) - (j == y[i])) / N;
    }
    if (loss) *loss = total / N;
}

static void predict_loss_max_from_zero(const Case *c, double **pred, double *ret)
{
    (void)pred;
    softmax_max_from_zero(c, ret, NULL);
}

static void predict_gradient_max_from_zero(const Case *c, double **pred, double *ret)
{
    (void)ret;
    softmax_max_from_zero(c, NULL, pred[2]);
}

static void predict_loss_lse_without_max(const Case *c, double **pred, double *ret)
{
    (void)pred;
    softmax_lse_without_max(c, ret, NULL);
}

static void predict_gradient_lse_without_max(const Case *c, double **pred, double *ret)
{
    (void)ret;
    softmax_lse_without_max(c, NULL, pred[2]);
}

static void predict_gradient_onehot_undivided(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int N = c->ints[0], K = c->ints[1];
    for (int i = 0; i < N; i++) {
        size_t k = (size_t)i * K + (size_t)c->args[1].ivalue[i];
        pred[2][k] = c->args[2].expected[k] + 1.0 / N - 1;
    }
}

static void predict_loss_no_max(const Case *c, double **pred, double *ret)
{
    (void)pred;
    naive_softmax(c, 0, ret, NULL);
}

static void predict_loss_no_max_through_p(const Case *c, double **pred, double *ret)
{
    (void)pred;
    naive_softmax(c, 1, ret, NULL);
}

static void predict_gradient_no_max(const Case *c, double **pred, double *ret)
{
    (void)ret;
    naive_softmax(c, 1, NULL, pred[2]);
}

static void predict_gradient_no_max_through_log(const Case *c, double **pred, double *ret)
{
    (void)ret;
    naive_softmax(c, 0, NULL, pred[2]);
}

static void predict_gradient_no_onehot(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int N = c->ints[0], K = c->ints[1];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++)
            pred[2][(size_t)i * K + j] =
                c->args[2].expected[(size_t)i * K + j] + (j == c->args[1].ivalue[i] ? 1.0 / N : 0);
}

/* 1 subtracted at every class, not at the true one only: (p - 1) / N */
static void predict_gradient_onehot_everywhere(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int N = c->ints[0], K = c->ints[1];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++)
            if (j != c->args[1].ivalue[i])
                pred[2][(size_t)i * K + j] = c->args[2].expected[(size_t)i * K + j] - 1.0 / N;
}

#define HINT_NO_MAX(who)                                                                          \
    who " does not subtract the maximum: exp(1000) overflows to infinity (and exp(-1000) "        \
        "underflows to 0), giving inf or NaN. Subtract each row's largest score from its scores " \
        "before exp; the softmax does not change."

#define HINT_LSE_WITHOUT_MAX(who)                                                                \
    who " subtracts the maximum m inside the log-sum-exp but never adds it back: log sum_j "      \
        "exp(z_j) = m + log sum_j exp(z_j - m). Without the m, the log-sum-exp is m too small."

#define HINT_MAX_FROM_ZERO(who)                                                                 \
    who " starts its search for the maximum at 0: when every score of a row is negative (near " \
        "-1000) the maximum stays 0, exp(z - 0) underflows to 0 for every class and log(0) is " \
        "-inf. Start from the row's first score, m = z[0]."

static const Mistake softmax_loss_mistakes[] = {
    {HINT_NO_MAX("softmax_xent_loss"), predict_loss_no_max},
    {HINT_NO_MAX("softmax_xent_loss"), predict_loss_no_max_through_p},
    {HINT_LSE_WITHOUT_MAX("softmax_xent_loss"), predict_loss_lse_without_max},
    {HINT_MAX_FROM_ZERO("softmax_xent_loss"), predict_loss_max_from_zero},
};

static const Mistake softmax_gradient_mistakes[] = {
    {HINT_NO_MAX("softmax_xent_gradient"), predict_gradient_no_max},
    {HINT_NO_MAX("softmax_xent_gradient"), predict_gradient_no_max_through_log},
    {"softmax_xent_gradient forgets to subtract 1 at the true class: the gradient is (p - "
     "onehot(label)) / N, and p alone is (p - 0) / N.",
     predict_gradient_no_onehot},
    {"softmax_xent_gradient divides p by N but not the one-hot: the loss is the mean over the "
     "batch, so the whole difference is divided, (p - onehot(label)) / N.",
     predict_gradient_onehot_undivided},
    {"softmax_xent_gradient subtracts 1 at every class: the one-hot of labels[i] is 1 at the "
     "true class j = labels[i] only and 0 at the others, so dscores[i][j] = p[i][j] / N there.",
     predict_gradient_onehot_everywhere},
    {"softmax_xent_gradient's p is e^m times too large (m, the row's maximum): m is subtracted "
     "in the sum, sum_k exp(z_k - m), but not from z_j on top; p_j = exp(z_j - m) / sum_k "
     "exp(z_k - m). (Through a log-sum-exp, the same slip is one without its m: log sum_k "
     "exp(z_k) = m + log sum_k exp(z_k - m).)",
     predict_gradient_lse_without_max},
    {HINT_MAX_FROM_ZERO("softmax_xent_gradient"), predict_gradient_max_from_zero},
};

static const char *const softmax_xent_loss_formulas[] = {
    "loss = (1/N) times the sum over i of (log of the sum over j of exp(z[i][j])) - "
    "z[i][labels[i]]",
    NULL,
};

static const char *const softmax_xent_gradient_formulas[] = {
    "dscores[i][j] = (p[i][j] - (1 if j == labels[i], else 0)) / N, with p[i][j] = exp(z[i][j]) "
    "/ the sum over k of exp(z[i][k])",
    NULL,
};

const FunctionSpec softmax_specs[] = {
    {"softmax_xent_loss", "softmax", SOFTMAX_CASES, softmax_loss_case, NULL, softmax_loss_mistakes,
     sizeof softmax_loss_mistakes / sizeof softmax_loss_mistakes[0], softmax_xent_loss_formulas},
    {"softmax_xent_gradient", "softmax", SOFTMAX_CASES, softmax_gradient_case, softmax_numeric,
     softmax_gradient_mistakes,
     sizeof softmax_gradient_mistakes / sizeof softmax_gradient_mistakes[0],
     softmax_xent_gradient_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};
