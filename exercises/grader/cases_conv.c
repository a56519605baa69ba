/* cases_conv.c: im2col, col2im_add, conv_forward and conv_backward.
 *
 * The right answers come from the library: im2col_reference and
 * col2im_add_reference (layers/im2col.c), and the convolution layer
 * (layers/conv.c) for both passes. Its gradients are also checked against
 * the numerical gradient of the layer's forward pass, as ./gradcheck does.
 * The catalogued mistakes are computed by plain loops below, each a
 * variant of the definition with one thing changed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "error.h"
#include "grader.h"
#include "gradcheck.h"
#include "im2col.h"


/* ---- im2col and col2im_add -------------------------------------------------- */

typedef struct {
    int C, H, W, kH, kW, stride, pad;
} Geometry;

/* From the plainest to the ones that catch the classic mistakes: padding,
 * stride 2, non-square kernels and images, overlap and none (2x2 at stride
 * 2). A square image with several channels comes second, before the wide
 * and the tall ones: a read at H where W belongs goes past x's end on a
 * tall image and stops the run, and the cases before it must already tell
 * "the image is not square" from "C > 1". */
static const Geometry im2col_geometries[] = {
    {1, 4, 4, 3, 3, 1, 0}, {2, 5, 5, 3, 2, 1, 2}, {2, 5, 6, 3, 3, 1, 1},
    {3, 7, 5, 2, 3, 2, 0}, {2, 6, 7, 5, 3, 2, 2}, {1, 4, 6, 2, 2, 2, 0},
};
#define IM2COL_CASES 6
#define ACCUMULATE_GEOMETRY 2 /* col2im_add's last case: onto a nonzero x, with padding */

/* im2col or col2im as the definition says, or with one thing changed. */
typedef struct {
    int stride_index, pad_index; /* the window origin is oh*stride_index - pad_index */
    /* col2im: 1 or 2 assigns instead of adding, in the loop order
     * (c, i, j, oh, ow) or (oh, ow, c, i, j) */
    int assign_order;
    int swap_hw;          /* x read at [c][w][h] (its index with h and w exchanged) */
    int last_oh, last_ow; /* the loops over oh and ow stop here: out_h - 1 for one short */
} WindowVariant;

static WindowVariant windows_as_defined(const Case *c)
{
    return (WindowVariant){
        .stride_index = c->stride, .pad_index = c->pad, .last_oh = c->out_h, .last_ow = c->out_w};
}

/* Copies x's windows into cols (to_columns), or adds cols back onto x. A
 * read outside x, which the sanitizer would have stopped, gives NaN. */
static void window_copy(const Case *c, WindowVariant v, int to_columns, double *x, double *cols)
{
    const int rows = c->C * c->kH * c->kW, P = c->out_h * c->out_w;
    const int outer = v.assign_order == 2 ? P : rows, inner = v.assign_order == 2 ? rows : P;
    const size_t x_size = (size_t)c->C * c->H * c->W;
    for (int a = 0; a < outer; a++)
        for (int b = 0; b < inner; b++) {
            int r = v.assign_order == 2 ? b : a, p = v.assign_order == 2 ? a : b;
            int ch = r / (c->kH * c->kW), i = r / c->kW % c->kH, j = r % c->kW;
            int oh = p / c->out_w, ow = p % c->out_w;
            if (oh >= v.last_oh || ow >= v.last_ow) continue;
            int h = oh * v.stride_index - v.pad_index + i;
            int w = ow * v.stride_index - v.pad_index + j;
            int inside = h >= 0 && h < c->H && w >= 0 && w < c->W;
            size_t k = ((size_t)ch * c->H + h) * c->W + w;
            if (v.swap_hw) k = ((size_t)ch * c->H + w) * c->W + h;
            if (to_columns)
                cols[(size_t)r * P + p] = !inside ? 0 : k < x_size ? x[k] : NAN;
            else if (inside && v.assign_order)
                x[k] = cols[(size_t)r * P + p];
            else if (inside)
                x[k] += cols[(size_t)r * P + p];
        }
}

static void im2col_case(Case *c, int index, Rng *rng)
{
    const Geometry *g = &im2col_geometries[index];
    case_windows(c, 1, g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad);
    const int x_dims[3] = {g->C, g->H, g->W};
    const int col_dims[2] = {g->C * g->kH * g->kW, c->out_h * c->out_w};
    Arg *x = case_array(c, "x", "c,h,w", ROLE_IN, 3, x_dims);
    Arg *cols = case_array(c, "cols", "r,p", ROLE_OUT, 2, col_dims);
    fill_normal(x->value, x->size, 1, rng);
    fill_garbage(cols, rng);
    case_ints(c, 7, (const int[]){g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad});
    ConvGeometry geometry;
    conv_geometry_init(&geometry, g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad, NULL);
    im2col_reference(&geometry, x->value, cols->expected);
    case_describe(c, "x (C, H, W) = (%d, %d, %d), kernel %dx%d, stride %d, pad %d -> cols (%d, %d)",
                  g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad, col_dims[0], col_dims[1]);
}

static void col2im_case(Case *c, int index, Rng *rng)
{
    const int accumulate = index == IM2COL_CASES; /* x starts nonzero */
    const Geometry *g = &im2col_geometries[accumulate ? ACCUMULATE_GEOMETRY : index];
    case_windows(c, 1, g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad);
    const int x_dims[3] = {g->C, g->H, g->W};
    const int col_dims[2] = {g->C * g->kH * g->kW, c->out_h * c->out_w};
    Arg *cols = case_array(c, "cols", "r,p", ROLE_IN, 2, col_dims);
    Arg *x = case_array(c, "x", "c,h,w", ROLE_INOUT, 3, x_dims);
    x->on_input_grid = 1;
    fill_normal(cols->value, cols->size, 1, rng);
    if (accumulate) {
        fill_normal(x->value, x->size, 1, rng);
        c->tags |= TAG_ACCUMULATE;
    }
    case_ints(c, 7, (const int[]){g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad});
    expect_copy_of_value(x);
    ConvGeometry geometry;
    conv_geometry_init(&geometry, g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad, NULL);
    col2im_add_reference(&geometry, cols->value, x->expected);
    case_describe(c,
                  "cols (%d, %d) -> x (C, H, W) = (%d, %d, %d), kernel %dx%d, stride %d, pad "
                  "%d, x %s on entry",
                  col_dims[0], col_dims[1], g->C, g->H, g->W, g->kH, g->kW, g->stride, g->pad,
                  accumulate ? "NOT zero" : "zero");
}

static void predict_im2col_no_pad(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.pad_index = 0;
    window_copy(c, v, 1, c->args[0].value, pred[1]);
}

static void predict_im2col_no_stride(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.stride_index = 1;
    window_copy(c, v, 1, c->args[0].value, pred[1]);
}

static void predict_im2col_swapped_hw(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.swap_hw = 1;
    window_copy(c, v, 1, c->args[0].value, pred[1]);
}

/* col2im_add's variant v, onto x as it came (or cleared first) */
static void col2im_variant(const Case *c, double **pred, WindowVariant v, int clear)
{
    const Arg *x = &c->args[1];
    memcpy(pred[1], x->value, x->size * sizeof(double));
    if (clear) memset(pred[1], 0, x->size * sizeof(double));
    window_copy(c, v, 0, pred[1], c->args[0].value);
}

static void predict_col2im_assign(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.assign_order = 1;
    col2im_variant(c, pred, v, 0);
}

static void predict_col2im_assign_window_order(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.assign_order = 2;
    col2im_variant(c, pred, v, 0);
}

static void predict_col2im_clears(const Case *c, double **pred, double *ret)
{
    (void)ret;
    col2im_variant(c, pred, windows_as_defined(c), 1);
}

static void predict_col2im_no_pad(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.pad_index = 0;
    col2im_variant(c, pred, v, 0);
}

static void predict_col2im_no_stride(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.stride_index = 1;
    col2im_variant(c, pred, v, 0);
}

static void predict_col2im_oh_short(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.last_oh = c->out_h - 1;
    col2im_variant(c, pred, v, 0);
}

static void predict_col2im_ow_short(const Case *c, double **pred, double *ret)
{
    (void)ret;
    WindowVariant v = windows_as_defined(c);
    v.last_ow = c->out_w - 1;
    col2im_variant(c, pred, v, 0);
}

#define HINT_PADDING_IGNORED(who)                                                                \
    who " ignores the padding: the pixel under window (oh, ow) at kernel offset (i, j) is "      \
        "(oh*stride - pad + i, ow*stride - pad + j); without the '- pad' every window sits pad " \
        "pixels too far down and to the right."
#define HINT_STRIDE_IGNORED(who)                                                         \
    who " ignores the stride: window (oh, ow) starts at row oh*stride - pad and column " \
        "ow*stride - pad, not at oh - pad and ow - pad."
#define HINT_ASSIGNS                                                                            \
    "assigns (=) where it must add (+=): a pixel under several overlapping windows keeps only " \
    "the last window's share instead of the sum of all of them (which is why it is right "      \
    "wherever windows do not overlap, as with a 2x2 kernel at stride 2)."

#define HINT_SWAPPED_HW(who)                                                               \
    who " reads x with h and w swapped, at [c][w][h]: pixel (h, w) of channel c is at (c*H " \
        "+ h)*W + w."
#define HINT_LOOP_SHORT(who, o, O, line)                                                          \
    who "'s loop over " o " stops one short (" o " < " O " - 1): the last " line " of windows " \
        "adds nothing to x. The loop runs over all of them, " o " < " O "."

static const Mistake im2col_mistakes[] = {
    {HINT_PADDING_IGNORED("im2col"), predict_im2col_no_pad},
    {HINT_STRIDE_IGNORED("im2col"), predict_im2col_no_stride},
    {HINT_SWAPPED_HW("im2col"), predict_im2col_swapped_hw},
};

static const Mistake col2im_mistakes[] = {
    {"col2im_add " HINT_ASSIGNS, predict_col2im_assign},
    {"col2im_add " HINT_ASSIGNS, predict_col2im_assign_window_order},
    {"col2im_add clears x before adding: x may hold values on entry (a gradient that arrived by "
     "another path), and col2im_add must add onto them, never set x to 0 itself.",
     predict_col2im_clears},
    {HINT_PADDING_IGNORED("col2im_add"), predict_col2im_no_pad},
    {HINT_STRIDE_IGNORED("col2im_add"), predict_col2im_no_stride},
    {HINT_LOOP_SHORT("col2im_add", "oh", "H_out", "row"), predict_col2im_oh_short},
    {HINT_LOOP_SHORT("col2im_add", "ow", "W_out", "column"), predict_col2im_ow_short},
};

static const char *const im2col_formulas[] = {
    "cols[r][p] = x[c][oh*stride - pad + i][ow*stride - pad + j], with r = (c*kH + i)*kW + j "
    "and p = oh*W_out + ow (0 where the pixel is in the padding)",
    NULL,
};

static const char *const col2im_add_formulas[] = {
    "x[c][h][w] += the sum of cols[r][p] over every (r, p) whose pixel (oh*stride - pad + i, "
    "ow*stride - pad + j) of channel c is (h, w)",
    NULL,
};

const FunctionSpec im2col_specs[] = {
    {"im2col", "im2col", IM2COL_CASES, im2col_case, NULL, im2col_mistakes,
     sizeof im2col_mistakes / sizeof im2col_mistakes[0], im2col_formulas},
    {"col2im_add", "im2col", IM2COL_CASES + 1, col2im_case, NULL, col2im_mistakes,
     sizeof col2im_mistakes / sizeof col2im_mistakes[0], col2im_add_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};

/* ---- the convolution ---------------------------------------------------------- */

typedef struct {
    int N, C, H, W, F, kH, kW, stride, pad;
} ConvShape;

static const ConvShape conv_shapes[] = {
    {1, 1, 5, 5, 1, 3, 3, 1, 0}, {2, 3, 6, 5, 4, 3, 3, 1, 1}, {2, 2, 7, 8, 3, 3, 2, 2, 1},
    {3, 2, 5, 7, 2, 5, 3, 1, 2}, {2, 2, 9, 9, 1, 3, 3, 2, 0}, {1, 3, 4, 6, 5, 1, 1, 1, 0},
};
/* (the batch size, the channels and the filters vary independently over
 * the cases, so that "fails only when N > 1" cannot be confused with
 * "fails only when F > 1") */
#define CONV_CASES 6

/* The layer with the case's weights and bias. */
static Layer *conv_layer_for(const Case *c, const double *w, const double *b)
{
    Error err;
    Layer *layer = conv_create(c->C, c->ints[4], c->kH, c->kW, c->stride, c->pad, &err);
    if (!layer) {
        fprintf(stderr, "grader: %s\n", err.msg);
        exit(2);
    }
    ConvLayer *conv = (ConvLayer *)layer;
    memcpy(conv->w->data, w, conv->w->size * sizeof(double));
    memcpy(conv->b->data, b, conv->b->size * sizeof(double));
    return layer;
}

static void conv_common(Case *c, int index, Rng *rng, int backward)
{
    const ConvShape *s = &conv_shapes[index];
    case_windows(c, s->N, s->C, s->H, s->W, s->kH, s->kW, s->stride, s->pad);
    if (s->F > 1) c->tags |= TAG_FILTERS;
    const int x_dims[4] = {s->N, s->C, s->H, s->W}, w_dims[4] = {s->F, s->C, s->kH, s->kW};
    const int b_dims[1] = {s->F}, out_dims[4] = {s->N, s->F, c->out_h, c->out_w};
    if (backward) case_array(c, "dout", "n,f,oh,ow", ROLE_IN, 4, out_dims);
    Arg *x = case_array(c, "x", "n,c,h,w", ROLE_IN, 4, x_dims);
    Arg *w = case_array(c, "w", "f,c,i,j", ROLE_IN, 4, w_dims);
    if (!backward) case_array(c, "b", "f", ROLE_IN, 1, b_dims);
    fill_normal(x->value, x->size, 1, rng);
    fill_normal(w->value, w->size, 0.5, rng);
    case_ints(c, 9, (const int[]){s->N, s->C, s->H, s->W, s->F, s->kH, s->kW, s->stride, s->pad});
    case_describe(
        c, "x (%d, %d, %d, %d), w (%d, %d, %d, %d), stride %d, pad %d -> out (%d, %d, %d, %d)",
        s->N, s->C, s->H, s->W, s->F, s->C, s->kH, s->kW, s->stride, s->pad, s->N, s->F, c->out_h,
        c->out_w);
    const int positions = c->out_h * c->out_w;
    case_factor(c, s->N, "N = %d, the batch size", s->N);
    case_factor(c, 1.0 / s->N, "1/N = 1/%d", s->N);
    case_factor(c, positions, "H_out*W_out = %d, the number of output positions", positions);
    case_factor(c, 1.0 / positions, "1/(H_out*W_out) = 1/%d", positions);
    case_factor(c, s->kH * s->kW, "kH*kW = %d", s->kH * s->kW);
    case_factor(c, s->C * s->kH * s->kW, "C*kH*kW = %d", s->C * s->kH * s->kW);
    case_factor(c, s->F, "F = %d, the number of filters", s->F);
    case_factor(c, s->stride, "stride = %d", s->stride);
    case_factor(c, 2, "2");
    case_factor(c, 0.5, "1/2");
}

static void conv_forward_case(Case *c, int index, Rng *rng)
{
    conv_common(c, index, rng, 0);
    Arg *x = &c->args[0], *w = &c->args[1], *b = &c->args[2];
    fill_normal(b->value, b->size, 1, rng);
    const int out_dims[4] = {c->N, c->ints[4], c->out_h, c->out_w};
    Arg *out = case_array(c, "out", "n,f,oh,ow", ROLE_OUT, 4, out_dims);
    fill_garbage(out, rng);
    Layer *layer = conv_layer_for(c, w->value, b->value);
    Tensor tx = tensor_view(x->value, 4, x->dims), tout = tensor_view(out->expected, 4, out_dims);
    Tensor *o = tensor_new4(1, 1, 1, 1);
    layer_forward(layer, &tx, o);
    memcpy(tout.data, o->data, o->size * sizeof(double));
    tensor_free(o);
    layer_free(layer);
}

/* The library's backward pass for the case's dout. */
static void conv_reference_backward(Case *c)
{
    Arg *dout = &c->args[0], *x = &c->args[1], *w = &c->args[2];
    Arg *dx = &c->args[3], *dw = &c->args[4], *db = &c->args[5];
    double *zeros = xcalloc((size_t)c->ints[4], sizeof(double));
    Layer *layer = conv_layer_for(c, w->value, zeros);
    Tensor tx = tensor_view(x->value, 4, x->dims), tdout = tensor_view(dout->value, 4, dout->dims);
    Tensor *out = tensor_new4(1, 1, 1, 1), *tdx = tensor_new4(1, 1, 1, 1);
    layer_forward(layer, &tx, out);
    layer_backward(layer, &tdout, tdx);
    ConvLayer *conv = (ConvLayer *)layer;
    memcpy(dx->expected, tdx->data, dx->size * sizeof(double));
    memcpy(dw->expected, conv->dw->data, dw->size * sizeof(double));
    memcpy(db->expected, conv->db->data, db->size * sizeof(double));
    tensor_free(out);
    tensor_free(tdx);
    layer_free(layer);
    free(zeros);
}


/* The largest relative error of `analytic` (the shape of dx, dw or db)
 * against the numerical gradient of the library's layer. */
static double conv_numeric_of(const Case *c, int arg, const double *analytic)
{
    const Arg *dout = &c->args[0], *x = &c->args[1], *w = &c->args[2];
    double *zeros = xcalloc((size_t)c->ints[4], sizeof(double));
    Layer *layer = conv_layer_for(c, w->value, zeros);
    ConvLayer *conv = (ConvLayer *)layer;
    double *x_copy = xmalloc(x->size * sizeof(double));
    memcpy(x_copy, x->value, x->size * sizeof(double));
    Tensor tx = tensor_view(x_copy, 4, x->dims), tdout = tensor_view(dout->value, 4, dout->dims);
    Tensor *value = arg == 3 ? &tx : arg == 4 ? conv->w : conv->b;
    Tensor tanalytic = tensor_view((double *)analytic, value->ndim, value->dim);
    GradcheckRow row =
        gradcheck_layer_tensor(layer, &tx, value, &tdout, &tanalytic, c->args[arg].name);
    layer_free(layer);
    free(x_copy);
    free(zeros);
    return row.max_rel_error;
}

static double conv_numeric(const Case *c, int arg)
{
    if (arg < 3) return -1;
    return conv_numeric_of(c, arg, c->args[arg].got);
}

static void conv_backward_case(Case *c, int index, Rng *rng)
{
    conv_common(c, index, rng, 1);
    const int F = c->ints[4];
    const int x_dims[4] = {c->N, c->C, c->H, c->W}, w_dims[4] = {F, c->C, c->kH, c->kW};
    Arg *dx = case_array(c, "dx", "n,c,h,w", ROLE_OUT, 4, x_dims);
    Arg *dw = case_array(c, "dw", "f,c,i,j", ROLE_OUT, 4, w_dims);
    Arg *db = case_array(c, "db", "f", ROLE_OUT, 1, (const int[]){F});
    dx->on_input_grid = 1;
    fill_garbage(dx, rng);
    fill_garbage(dw, rng);
    fill_garbage(db, rng);
    /* Draw dout until the library's own gradients pass the numerical check
     * with room to spare, so that a failure is the student's. */
    for (int attempt = 0; attempt < 20; attempt++) {
        fill_normal(c->args[0].value, c->args[0].size, 1, rng);
        conv_reference_backward(c);
        if (conv_numeric_of(c, 3, dx->expected) < 1e-8 &&
            conv_numeric_of(c, 4, dw->expected) < 1e-8 &&
            conv_numeric_of(c, 5, db->expected) < 1e-8)
            break;
    }
}

/* A forward whose sum is not started afresh for each output: when it is
 * set back (never, or once per filter), and where the bias goes in (into
 * the sum at each output, into the output written only, or as the sum's
 * start when it is set back). */
enum { SUM_RESET_EACH_OUTPUT, SUM_NEVER_RESET, SUM_RESET_EACH_FILTER };
enum { BIAS_INTO_SUM, BIAS_AT_OUTPUT, BIAS_AT_RESET };
/* where the flip applies: w read (the forward's sum, dx), dw written */
enum { FLIP_READ = 1, FLIP_DW = 2 };

/* conv's definition, with the window origin at oh*stride_index -
 * pad_index, images n0..n1-1 in dw and db, and db read with the filter as
 * dout's last axis (channels-last) when db_channels_last. */
typedef struct {
    int stride_index, pad_index;
    int dw_first_image, db_first_image; /* images that reach dw, db: [first, N) */
    int db_channels_last;
    int flip; /* kernel offsets flipped (kH-1-i, kW-1-j): FLIP_* */
    int swap_hw;     /* x read at [n][c][w][h]; a read outside x gives NaN */
    int dw_assigned; /* dw[k] = x * dout: the last contribution only */
    int db_assigned; /* db[f] = dout: the last output's only */
    int sum_reset, bias; /* the forward's sum kept across outputs: SUM_..., BIAS_... */
} ConvVariant;

static ConvVariant plain(const Case *c)
{
    return (ConvVariant){.stride_index = c->stride, .pad_index = c->pad};
}

static void conv_variant(const Case *c, ConvVariant v, const double *x, const double *w,
                         const double *b, const double *dout, double *out, double *dx, double *dw,
                         double *db)
{
    const int N = c->N, C = c->C, H = c->H, W = c->W, F = c->ints[4], kH = c->kH, kW = c->kW;
    const int Ho = c->out_h, Wo = c->out_w;
    if (dx) memset(dx, 0, (size_t)N * C * H * W * sizeof(double));
    if (dw) memset(dw, 0, (size_t)F * C * kH * kW * sizeof(double));
    if (db) memset(db, 0, (size_t)F * sizeof(double));
    const size_t x_size = (size_t)N * C * H * W;
    double kept = 0; /* the sum carried from the output before, if it is not reset */
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++) {
            if (v.sum_reset == SUM_RESET_EACH_FILTER) kept = v.bias == BIAS_AT_RESET ? b[f] : 0;
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    size_t o = (((size_t)n * F + f) * Ho + oh) * Wo + ow;
                    double sum = b ? b[f] : 0, d = dout ? dout[o] : 0;
                    if (v.sum_reset != SUM_RESET_EACH_OUTPUT)
                        sum = kept + (v.bias == BIAS_INTO_SUM ? b[f] : 0);
                    if (db && n >= v.db_first_image) {
                        size_t channels_last = (((size_t)n * Ho + oh) * Wo + ow) * F + f;
                        double term = dout[v.db_channels_last ? channels_last : o];
                        db[f] = v.db_assigned ? term : db[f] + term;
                    }
                    for (int ch = 0; ch < C; ch++)
                        for (int i = 0; i < kH; i++)
                            for (int j = 0; j < kW; j++) {
                                int h = oh * v.stride_index - v.pad_index + i;
                                int wc = ow * v.stride_index - v.pad_index + j;
                                if (h < 0 || h >= H || wc < 0 || wc >= W) continue;
                                size_t xi = (((size_t)n * C + ch) * H + h) * W + wc;
                                if (v.swap_hw) xi = (((size_t)n * C + ch) * H + wc) * W + h;
                                size_t k = (((size_t)f * C + ch) * kH + i) * kW + j;
                                size_t flipped = (((size_t)f * C + ch) * kH + kH - 1 - i) * kW +
                                                 kW - 1 - j;
                                size_t k_read = v.flip & FLIP_READ ? flipped : k;
                                size_t k_dw = v.flip & FLIP_DW ? flipped : k;
                                if (xi >= x_size) {
                                    sum = NAN;
                                    continue;
                                }
                                sum += w[k_read] * x[xi];
                                if (dx) dx[xi] += w[k_read] * d;
                                if (dw && n >= v.dw_first_image && v.dw_assigned)
                                    dw[k_dw] = x[xi] * d;
                                else if (dw && n >= v.dw_first_image)
                                    dw[k_dw] += x[xi] * d;
                            }
                    kept = sum;
                    if (out) out[o] = sum + (v.bias == BIAS_AT_OUTPUT ? b[f] : 0);
                }
        }
}

static void forward_variant(const Case *c, double **pred, ConvVariant v, int with_bias)
{
    conv_variant(c, v, c->args[0].value, c->args[1].value, with_bias ? c->args[2].value : NULL,
                 NULL, pred[3], NULL, NULL, NULL);
}

static void predict_forward_no_bias(const Case *c, double **pred, double *ret)
{
    (void)ret;
    forward_variant(c, pred, plain(c), 0);
}

static void predict_forward_flipped(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.flip = FLIP_READ;
    forward_variant(c, pred, v, 1);
}

static void predict_forward_no_pad(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.pad_index = 0;
    forward_variant(c, pred, v, 1);
}

static void predict_forward_no_stride(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.stride_index = 1;
    forward_variant(c, pred, v, 1);
}

static void forward_sum_kept(const Case *c, double **pred, int reset, int bias)
{
    ConvVariant v = plain(c);
    v.sum_reset = reset;
    v.bias = bias;
    forward_variant(c, pred, v, 1);
}

static void predict_forward_sum_never_reset(const Case *c, double **pred, double *ret)
{
    (void)ret;
    forward_sum_kept(c, pred, SUM_NEVER_RESET, BIAS_INTO_SUM);
}

static void predict_forward_sum_never_reset_bias_at_output(const Case *c, double **pred,
                                                            double *ret)
{
    (void)ret;
    forward_sum_kept(c, pred, SUM_NEVER_RESET, BIAS_AT_OUTPUT);
}

static void predict_forward_sum_reset_per_filter(const Case *c, double **pred, double *ret)
{
    (void)ret;
    forward_sum_kept(c, pred, SUM_RESET_EACH_FILTER, BIAS_INTO_SUM);
}

static void predict_forward_sum_reset_per_filter_bias_at_output(const Case *c, double **pred,
                                                                 double *ret)
{
    (void)ret;
    forward_sum_kept(c, pred, SUM_RESET_EACH_FILTER, BIAS_AT_OUTPUT);
}

static void predict_forward_sum_reset_per_filter_to_bias(const Case *c, double **pred,
                                                          double *ret)
{
    (void)ret;
    forward_sum_kept(c, pred, SUM_RESET_EACH_FILTER, BIAS_AT_RESET);
}

static void predict_forward_swapped_hw(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.swap_hw = 1;
    forward_variant(c, pred, v, 1);
}

/* A backward variant for all three gradients. */
static void backward_variant(const Case *c, double **pred, ConvVariant v)
{
    conv_variant(c, v, c->args[1].value, c->args[2].value, NULL, c->args[0].value, NULL, pred[3],
                 pred[4], pred[5]);
}

static void predict_dw_last_image(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.dw_first_image = c->N - 1;
    double *db = xmalloc((size_t)c->ints[4] * sizeof(double));
    conv_variant(c, v, c->args[1].value, c->args[2].value, NULL, c->args[0].value, NULL, NULL,
                 pred[4], db);
    free(db);
}

static void predict_dw_assigned(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.dw_assigned = 1;
    backward_variant(c, pred, v);
}

static void predict_db_last_image(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.db_first_image = c->N - 1;
    double *dw = xmalloc(c->args[4].size * sizeof(double));
    conv_variant(c, v, c->args[1].value, c->args[2].value, NULL, c->args[0].value, NULL, NULL, dw,
                 pred[5]);
    free(dw);
}

static void predict_db_wrong_axes(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.db_channels_last = 1;
    double *dw = xmalloc(c->args[4].size * sizeof(double));
    conv_variant(c, v, c->args[1].value, c->args[2].value, NULL, c->args[0].value, NULL, NULL, dw,
                 pred[5]);
    free(dw);
}

static void predict_db_assigned(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.db_assigned = 1;
    backward_variant(c, pred, v);
}

static void predict_backward_no_stride(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.stride_index = 1;
    backward_variant(c, pred, v);
}

static void predict_backward_no_pad(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.pad_index = 0;
    backward_variant(c, pred, v);
}

/* dx alone without the stride (dw and db right): a loop of its own for
 * dx, its pixel index written as oh - pad + i */
static void predict_dx_no_stride(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.stride_index = 1;
    conv_variant(c, v, c->args[1].value, c->args[2].value, NULL, c->args[0].value, NULL, pred[3],
                 NULL, NULL);
}

static void predict_backward_flipped(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.flip = FLIP_READ | FLIP_DW;
    backward_variant(c, pred, v);
}

static void predict_dx_flipped(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.flip = FLIP_READ;
    backward_variant(c, pred, v);
}

static void predict_dw_flipped(const Case *c, double **pred, double *ret)
{
    (void)ret;
    ConvVariant v = plain(c);
    v.flip = FLIP_DW;
    backward_variant(c, pred, v);
}

/* The backward with dout read as if it were (F, N, H_out, W_out): the
 * index ((f*N + n)*H_out + oh)*W_out + ow, as a forward that wrote out so
 * would read it back. */
static void predict_backward_dout_nf_swapped(const Case *c, double **pred, double *ret)
{
    (void)ret;
    const int N = c->N, F = c->ints[4], positions = c->out_h * c->out_w;
    const double *dout = c->args[0].value;
    double *read = xmalloc(c->args[0].size * sizeof(double));
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            memcpy(read + ((size_t)n * F + f) * positions, dout + ((size_t)f * N + n) * positions,
                   (size_t)positions * sizeof(double));
    conv_variant(c, plain(c), c->args[1].value, c->args[2].value, NULL, read, NULL, pred[3],
                 pred[4], pred[5]);
    free(read);
}

/* dx as a loop-based backward leaves it when it assigns (dx[...] = w *
 * dout) where it must add: each pixel keeps the share written last, and
 * the loop order decides which. With the windows (oh, ow) outside the
 * kernel offsets (i, j), as in n, f, oh, ow, c, i, j, it is the last
 * window over the pixel; with the offsets outside, as in n, c, i, j, f,
 * oh, ow, the first (at the largest offset). Where n, f and c sit does not
 * matter: the last filter, F - 1, always writes last. */
static void predict_dx_assigned_in_order(const Case *c, double **pred, int offsets_outside)
{
    backward_variant(c, pred, plain(c));
    const double *dout = c->args[0].value, *w = c->args[2].value;
    double *dx = pred[3];
    const int N = c->N, C = c->C, H = c->H, W = c->W, F = c->ints[4], kH = c->kH, kW = c->kW;
    const int Ho = c->out_h, Wo = c->out_w, windows = Ho * Wo, offsets = kH * kW;
    const int outer = offsets_outside ? offsets : windows;
    const int inner = offsets_outside ? windows : offsets;
    memset(dx, 0, (size_t)N * C * H * W * sizeof(double));
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int ch = 0; ch < C; ch++)
                for (int a = 0; a < outer; a++)
                    for (int b = 0; b < inner; b++) {
                        int p = offsets_outside ? b : a, q = offsets_outside ? a : b;
                        int oh = p / Wo, ow = p % Wo, i = q / kW, j = q % kW;
                        int h = oh * c->stride - c->pad + i, wc = ow * c->stride - c->pad + j;
                        if (h < 0 || h >= H || wc < 0 || wc >= W) continue;
                        dx[(((size_t)n * C + ch) * H + h) * W + wc] =
                            w[(((size_t)f * C + ch) * kH + i) * kW + j] *
                            dout[(((size_t)n * F + f) * Ho + oh) * Wo + ow];
                    }
}

static void predict_dx_assigned(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_dx_assigned_in_order(c, pred, 0);
}

static void predict_dx_assigned_offsets_outside(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_dx_assigned_in_order(c, pred, 1);
}

#define HINT_DX_ASSIGNED                                                                        \
    "dx is assigned (dx[...] = w * dout) where it must add (+=): dx[n][c][h][w] is the sum of " \
    "a share from every filter f and every window over pixel (h, w); as written it keeps the "  \
    "last share only."

#define HINT_SUM_KEPT                                                                            \
    "conv_forward does not start its sum afresh for each output: out[n][f][oh][ow] also holds "  \
    "the sums of the outputs before it. Set the sum to b[f] inside the loop over ow, just before " \
    "the loops over c, i and j."

static const Mistake conv_forward_mistakes[] = {
    {"conv_forward never adds the bias: every output of filter f starts from b[f].",
     predict_forward_no_bias},
    {"conv_forward flips the kernel (it reads w[f][c][kH-1-i][kW-1-j]): that is the convolution "
     "of signal processing, but a CNN layer applies w[f][c][i][j] as it is (cross-correlation).",
     predict_forward_flipped},
    {HINT_PADDING_IGNORED("conv_forward"), predict_forward_no_pad},
    {HINT_STRIDE_IGNORED("conv_forward"), predict_forward_no_stride},
    {HINT_SUM_KEPT, predict_forward_sum_never_reset},
    {HINT_SUM_KEPT, predict_forward_sum_never_reset_bias_at_output},
    {HINT_SUM_KEPT, predict_forward_sum_reset_per_filter},
    {HINT_SUM_KEPT, predict_forward_sum_reset_per_filter_bias_at_output},
    {HINT_SUM_KEPT, predict_forward_sum_reset_per_filter_to_bias},
    {HINT_SWAPPED_HW("conv_forward"), predict_forward_swapped_hw},
};

static const Mistake conv_backward_mistakes[] = {
    {"dw holds only the last image's contribution: dw sums over every image of the batch. Set "
     "it to 0 once, before the loop over n, and add (+=) inside the loop.",
     predict_dw_last_image},
    {"dw is assigned (dw[...] = x * dout) where it must add (+=): every weight is used at every "
     "output position of every image, and dw sums all those contributions; as written it keeps "
     "the last one only.",
     predict_dw_assigned},
    {"db holds only the last image's contribution: db sums over every image of the batch. Set "
     "it to 0 once, before the loop over n, and add (+=) inside the loop.",
     predict_db_last_image},
    {"db is summed over the wrong axes: db[f] is the sum of dout[n][f][oh][ow] over n, oh and "
     "ow, and f is the second of dout's four axes (N, F, H_out, W_out), not the last.",
     predict_db_wrong_axes},
    {"db is assigned (db[f] = dout[...]) where it must add (+=): db[f] is the sum of "
     "dout[n][f][oh][ow] over every image and output position; as written it keeps the last "
     "one only.",
     predict_db_assigned},
    {"the stride is ignored in the backward pass: the forward pass read x at (oh*stride - pad + "
     "i, ow*stride - pad + j), and the backward must send the gradient to (and take x from) "
     "that same pixel.",
     predict_backward_no_stride},
    {"dx ignores the stride: the forward pass read x at (oh*stride - pad + i, ow*stride - pad "
     "+ j), and dx must send each share back to that same pixel; as written the shares land at "
     "(oh - pad + i, ow - pad + j). dw, which uses the right pixel, is fine.",
     predict_dx_no_stride},
    {"the padding is ignored in the backward pass: the forward pass read x at (oh*stride - pad "
     "+ i, ow*stride - pad + j), and the backward must use that same pixel; without '- pad' the "
     "gradient lands pad pixels away.",
     predict_backward_no_pad},
    {"the backward pass uses the flipped kernel (w[f][c][kH-1-i][kW-1-j]); the forward applies "
     "w as it is, so the backward must too.",
     predict_backward_flipped},
    {"dx reads the flipped kernel (w[f][c][kH-1-i][kW-1-j]). dx is a convolution of dout with "
     "the flipped kernel when it is written from dx's side, looping over the pixels of dx; a "
     "loop over the forward's windows, as here, sends each window's share back along the path "
     "it came: the pixel at offset (i, j) gets w[f][c][i][j] * dout, unflipped.",
     predict_dx_flipped},
    {"dw is written at flipped kernel offsets (dw[f][c][kH-1-i][kW-1-j] += ...): the weight "
     "w[f][c][i][j] multiplied the pixel at offset (i, j) of each window, so its gradient "
     "gathers that same pixel: dw[f][c][i][j] += x[n][c][oh*stride - pad + i][ow*stride - pad "
     "+ j] * dout[n][f][oh][ow].",
     predict_dw_flipped},
    {"conv_backward reads dout with n and f swapped: dout is (N, F, H_out, W_out), so "
     "dout[n][f][oh][ow] is at ((n*F + f)*H_out + oh)*W_out + ow, not ((f*N + n)*H_out + "
     "oh)*W_out + ow. (With N = 1 or F = 1 the two agree.)",
     predict_backward_dout_nf_swapped},
    {HINT_DX_ASSIGNED, predict_dx_assigned},
    {HINT_DX_ASSIGNED, predict_dx_assigned_offsets_outside},
};

static const char *const conv_forward_formulas[] = {
    "out[n][f][oh][ow] = b[f] + the sum over c, i, j of w[f][c][i][j] * x[n][c][oh*stride - pad "
    "+ i][ow*stride - pad + j]",
    NULL,
};

static const char *const conv_backward_formulas[] = {
    "dx[n][c][h][w] = the sum of w[f][c][i][j] * dout[n][f][oh][ow] over every f, oh, ow, i, j "
    "with oh*stride - pad + i = h and ow*stride - pad + j = w",
    "dw[f][c][i][j] = the sum over n, oh, ow of x[n][c][oh*stride - pad + i][ow*stride - pad + "
    "j] * dout[n][f][oh][ow]",
    "db[f] = the sum over n, oh, ow of dout[n][f][oh][ow]",
    NULL,
};

const FunctionSpec conv_specs[] = {
    {"conv_forward", "conv", CONV_CASES, conv_forward_case, NULL, conv_forward_mistakes,
     sizeof conv_forward_mistakes / sizeof conv_forward_mistakes[0], conv_forward_formulas},
    {"conv_backward", "conv", CONV_CASES, conv_backward_case, conv_numeric, conv_backward_mistakes,
     sizeof conv_backward_mistakes / sizeof conv_backward_mistakes[0], conv_backward_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};
