/* Lesson 3: the convolution backward.
 *
 * From dout = dL/dout the layer computes three things:
 *     dw = dout * cols^T      (F, C*kH*kW)    how the loss changes with each weight
 *     db = sum of dout over positions (F,)
 *     dx = col2im(w^T * dout) (C, H, W)       handed to the layer below
 * The lesson prints them on the 4x4 example of lesson 2, shows why col2im
 * must add, runs the gradient check, and then breaks the backward on
 * purpose to show the check catching it. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson_common.h"
#include "softmax_xent.h"

#include "conv.h"
#include "gemm.h"
#include "im2col.h"

static Layer *make_conv(int C, int F, int kh, int kw, int stride, int pad)
{
    Error err;
    Layer *layer = conv_create(C, F, kh, kw, stride, pad, &err);
    if (!layer) {
        fprintf(stderr, "lesson3: %s\n", err.msg);
        exit(1);
    }
    return layer;
}

static void fill_normal(Tensor *t, Rng *rng)
{
    for (size_t i = 0; i < t->size; i++) t->data[i] = (real)rng_normal(rng);
}

static void geometry_of(const ConvLayer *conv, const Tensor *x, ConvGeometry *g)
{
    Error err;
    if (conv_geometry_init(g, x->dim[1], x->dim[2], x->dim[3], conv->kernel_h, conv->kernel_w,
                           conv->stride, conv->pad, &err)) {
        fprintf(stderr, "lesson3: %s\n", err.msg);
        exit(1);
    }
}

/* ---- section 1: the tiny example ---------------------------------------- */

static void tiny_example(Lesson *lesson)
{
    Tensor *x = tensor_new4(1, 1, 4, 4);
    for (int i = 0; i < 16; i++) x->data[i] = i + 1;
    Layer *layer = make_conv(1, 1, 3, 3, 1, 0);
    ConvLayer *conv = (ConvLayer *)layer;
    const real w[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(conv->w->data, w, sizeof w);
    conv->b->data[0] = 0.5;

    Tensor *out = tensor_new4(1, 1, 1, 1);
    layer_forward(layer, x, out);
    Tensor *dout = tensor_like(out);
    for (int i = 0; i < 4; i++) dout->data[i] = i + 1;
    Tensor *dx = tensor_like(x);
    layer_backward(layer, dout, dx);

    lesson_print_matrix("x (1, 1, 4, 4), as in lesson 2", x->data, 4, 4, 4, 0);
    lesson_print_matrix("w[0][0], the diagonal filter; b = 0.5", w, 3, 3, 4, 0);
    lesson_print_matrix("out (1, 1, 2, 2)", out->data, 2, 2, 6, 1);
    lesson_print_matrix("dout = dL/dout (1, 1, 2, 2), given by the layer above", dout->data, 2, 2,
                        4, 0);
    printf("\n");

    ConvGeometry g;
    geometry_of(conv, x, &g);
    int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g);
    real *col_matrix = xmalloc((size_t)rows * cols * sizeof(real));
    real *dcols = xmalloc((size_t)rows * cols * sizeof(real));
    real *dw = xcalloc((size_t)rows, sizeof(real));
    im2col(&g, x->data, col_matrix);

    lesson_say("dw: each weight multiplied one pixel of every patch, so its gradient is the "
               "sum over output positions p of dout[p] times that pixel: dw = dout (1, 4) * "
               "cols^T (4, 9). For w[0][0] (the top-left weight) the pixels are 1, 2, 5, 6 "
               "(row 0 of cols), so dw[0][0] = 1*1 + 2*2 + 3*5 + 4*6 = 44.");
    gemm(0, 1, 1, rows, cols, 1, dout->data, cols, col_matrix, cols, 0, dw, rows);
    lesson_print_matrix("dout * cols^T, shaped (3, 3)", dw, 3, 3, 6, 0);
    lesson_print_matrix("the layer's dw", conv->dw->data, 3, 3, 6, 0);
    printf("\n");

    lesson_say("db: the bias is added to every output position, so db = the sum of dout = "
               "1 + 2 + 3 + 4 = 10. The layer's db = %g.", (double)conv->db->data[0]);

    lesson_say("dx: first dcols = w^T (9, 1) * dout (1, 4): column p holds what each pixel of "
               "patch p would contribute, dout[p] times the weight it met. Then col2im adds "
               "every column back onto the pixels it was copied from. A pixel that sat in "
               "several patches collects several shares.");
    gemm(1, 0, rows, cols, 1, 1, conv->w->data, rows, dout->data, cols, 0, dcols, cols);
    lesson_print_matrix("dcols = w^T * dout (9, 4)", dcols, rows, cols, 4, 0);
    Tensor *dx_by_hand = tensor_like(x);
    col2im_add(&g, dcols, dx_by_hand->data);
    lesson_print_matrix("col2im(dcols) (4, 4)", dx_by_hand->data, 4, 4, 4, 0);
    lesson_print_matrix("the layer's dx", dx->data, 4, 4, 4, 0);

    /* How many patches each pixel belongs to: col2im of all-ones columns. */
    real *ones = xmalloc((size_t)rows * cols * sizeof(real));
    for (int i = 0; i < rows * cols; i++) ones[i] = 1;
    Tensor *coverage = tensor_like(x);
    col2im_add(&g, ones, coverage->data);
    lesson_print_matrix("col2im(all ones): how many patches hold each pixel", coverage->data, 4,
                        4, 4, 0);
    printf("\n");
    lesson_say("Check dx[1][1] = 5 by hand: pixel (1, 1) meets weight w[1][1] in patch 0 "
               "(dout 1) and w[0][0] in patch 3 (dout 4), both 1; the other two patches "
               "holding it meet a zero weight. 1 + 4 = 5. An assignment instead of += would "
               "keep only the last share.");

    double diff = fmax(lesson_max_abs_diff(dx->data, dx_by_hand->data, 16),
                       lesson_max_abs_diff(conv->dw->data, dw, 9));
    printf("  layer versus the products above: max |difference| = %g\n", diff);
    if (diff > 1e-12) lesson->failures++;

    free(ones);
    free(col_matrix);
    free(dcols);
    free(dw);
    tensor_free(coverage);
    tensor_free(dx_by_hand);
    tensor_free(dx);
    tensor_free(dout);
    tensor_free(out);
    tensor_free(x);
    layer_free(layer);
}

/* ---- section 2: the adjoint identity ------------------------------------ */

/* <im2col(x), y> and <x, col2im(y)> for random x, y; prints both. */
static void adjoint_case(Lesson *lesson, Rng *rng, int C, int H, int W, int kh, int kw,
                         int stride, int pad)
{
    ConvGeometry g;
    Error err;
    if (conv_geometry_init(&g, C, H, W, kh, kw, stride, pad, &err)) {
        fprintf(stderr, "lesson3: %s\n", err.msg);
        exit(1);
    }
    size_t n_x = (size_t)C * H * W, n_cols = (size_t)conv_geometry_rows(&g) * conv_geometry_cols(&g);
    real *x = xmalloc(n_x * sizeof(real)), *x_back = xcalloc(n_x, sizeof(real));
    real *y = xmalloc(n_cols * sizeof(real)), *cols = xmalloc(n_cols * sizeof(real));
    for (size_t i = 0; i < n_x; i++) x[i] = (real)rng_normal(rng);
    for (size_t i = 0; i < n_cols; i++) y[i] = (real)rng_normal(rng);
    im2col(&g, x, cols);
    col2im_add(&g, y, x_back);
    double left = 0, right = 0;
    for (size_t i = 0; i < n_cols; i++) left += (double)cols[i] * y[i];
    for (size_t i = 0; i < n_x; i++) right += (double)x[i] * x_back[i];
    double rel = fabs(left - right) / fmax(fabs(left), fabs(right));
    printf("  (%d, %d, %d) k%dx%d s%d p%d   %14.8f  %14.8f   %.1e\n", C, H, W, kh, kw, stride,
           pad, left, right, rel);
    if (rel > 1e-12) lesson->failures++;
    free(x);
    free(x_back);
    free(y);
    free(cols);
}

static void adjoint_identity(Lesson *lesson)
{
    Rng rng;
    rng_seed(&rng, lesson->seed);
    printf("  %-22s %14s  %14s   %s\n", "x (C, H, W), kernel", "<im2col(x), y>", "<x, col2im(y)>",
           "rel. diff");
    adjoint_case(lesson, &rng, 1, 4, 4, 3, 3, 1, 0);
    adjoint_case(lesson, &rng, 2, 7, 7, 3, 3, 1, 1);
    adjoint_case(lesson, &rng, 3, 9, 8, 5, 5, 2, 2);
    adjoint_case(lesson, &rng, 2, 6, 9, 2, 3, 1, 1);
    printf("\n");
}

/* ---- section 3: the gradient check, one entry by hand, then all --------- */

/* L = sum(out * dout) at the current parameters. */
static double weighted_output(Layer *layer, const Tensor *x, const Tensor *dout, Tensor *out)
{
    layer_forward(layer, x, out);
    double sum = 0;
    for (size_t i = 0; i < out->size; i++) sum += (double)out->data[i] * dout->data[i];
    return sum;
}

static void one_entry_by_hand(Lesson *lesson)
{
    Rng rng;
    rng_seed(&rng, lesson->seed);
    Tensor *x = tensor_new4(2, 2, 5, 5);
    fill_normal(x, &rng);
    Layer *layer = make_conv(2, 3, 3, 3, 1, 1);
    ConvLayer *conv = (ConvLayer *)layer;
    fill_normal(conv->w, &rng);
    fill_normal(conv->b, &rng);
    Tensor *out = tensor_new4(1, 1, 1, 1);
    layer_forward(layer, x, out);
    Tensor *dout = tensor_like(out);
    fill_normal(dout, &rng);
    layer_backward(layer, dout, NULL);

    /* The entry w[1][0][1][1]: filter 1, channel 0, the kernel's centre. */
    size_t entry = ((size_t)(1 * 2 + 0) * 3 + 1) * 3 + 1;
    real saved = conv->w->data[entry];
    const double h = GRADCHECK_STEP;
    conv->w->data[entry] = saved + (real)h;
    double plus = weighted_output(layer, x, dout, out);
    conv->w->data[entry] = saved - (real)h;
    double minus = weighted_output(layer, x, dout, out);
    conv->w->data[entry] = saved;
    double numerical = (plus - minus) / (2 * h), analytic = conv->dw->data[entry];
    printf("  x (2, 2, 5, 5), w (3, 2, 3, 3), pad 1, random; dout random, L = sum(out * dout)\n"
           "  entry w[1][0][1][1] = %.6f\n"
           "    L(w + h)  = %.10f     (h = %g)\n"
           "    L(w - h)  = %.10f\n"
           "    numerical (L(w+h) - L(w-h)) / 2h = %.10f\n"
           "    analytic  dw[1][0][1][1]         = %.10f\n"
           "    relative error |a - n| / max(|a|, |n|) = %.2e\n\n",
           (double)saved, plus, h, minus, numerical, analytic,
           fabs(analytic - numerical) / fmax(fabs(analytic), fabs(numerical)));
    tensor_free(dout);
    tensor_free(out);
    tensor_free(x);
    layer_free(layer);
}

/* One-sided against centred differences, on a function with curvature (a
 * convolution is linear in w, where both are exact): the cross-entropy of
 * seven scores, d loss / d z_k = p_k - [k == y]. */
static void centred_versus_one_sided(void)
{
    real z[7] = {0.3, -1.2, 0.8, 2.0, -0.4, 0.1, -0.7};
    const int label = 3, k = 2;
    double m = z[0], sum = 0;
    for (int j = 1; j < 7; j++) m = z[j] > m ? z[j] : m;
    for (int j = 0; j < 7; j++) sum += exp(z[j] - m);
    const double analytic = exp(z[k] - m) / sum - (k == label);
    const double at = softmax_xent_item_loss(z, 7, label);
    printf("  loss(z) = -log softmax(z)[3] for z = (0.3, -1.2, 0.8, 2.0, -0.4, 0.1, -0.7);\n"
           "  d loss / d z_2 = p_2 = %.12f\n\n", analytic);
    printf("  %8s  %29s  %29s\n", "h", "one-sided (f(z+h)-f(z))/h", "centred (f(z+h)-f(z-h))/2h");
    const double steps[] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const double h = steps[i];
        const real saved = z[k];
        z[k] = saved + (real)h;
        const double plus = softmax_xent_item_loss(z, 7, label);
        z[k] = saved - (real)h;
        const double minus = softmax_xent_item_loss(z, 7, label);
        z[k] = saved;
        const double one = (plus - at) / h, two = (plus - minus) / (2 * h);
        printf("  %8.0e  %15.10f (err %7.1e)  %15.10f (err %7.1e)\n", h, one,
               fabs(one - analytic) / fabs(analytic), two, fabs(two - analytic) / fabs(analytic));
    }
    printf("\n");
}

/* A conv layer with random weights and input, ready for gradcheck_layer. */
typedef struct {
    const char *name;
    int C, H, F, kh, kw, stride, pad;
} ConvCase;

static void setup_case(const ConvCase *c, Rng *rng, Layer **layer, Tensor **x)
{
    *layer = make_conv(c->C, c->F, c->kh, c->kw, c->stride, c->pad);
    ConvLayer *conv = (ConvLayer *)*layer;
    fill_normal(conv->w, rng);
    fill_normal(conv->b, rng);
    *x = tensor_new4(2, c->C, c->H, c->H);
    fill_normal(*x, rng);
}

/* ---- section 4: two deliberately broken backward passes ----------------- *
 *
 * Each wraps the library's conv backward (so dw and db, or dx, are right)
 * and then redoes one tensor the wrong way. They are installed by swapping
 * the layer's ops table for a copy whose backward is the broken one. */

static const LayerOps *correct_conv_ops;

/* THE BUG: col2im that assigns (=) instead of adding (+=). Where windows
 * overlap, a pixel keeps only the share of the last window that touched it. */
static void col2im_assign_BUG(const ConvGeometry *g, const real *cols, real *x)
{
    int rows = conv_geometry_rows(g), width = conv_geometry_cols(g);
    for (int r = 0; r < rows; r++) {
        int c = r / (g->kernel_h * g->kernel_w);
        int i = (r / g->kernel_w) % g->kernel_h, j = r % g->kernel_w;
        for (int p = 0; p < width; p++) {
            int y = (p / g->out_w) * g->stride - g->pad + i;
            int xx = (p % g->out_w) * g->stride - g->pad + j;
            if (y < 0 || y >= g->height || xx < 0 || xx >= g->width) continue;
            x[((size_t)c * g->height + y) * g->width + xx] = cols[(size_t)r * width + p]; /* BUG: = */
        }
    }
}

static void backward_with_assigning_col2im(Layer *layer, const Tensor *dout, Tensor *dx)
{
    correct_conv_ops->backward(layer, dout, dx); /* dw and db stay right */
    if (!dx) return;
    ConvLayer *conv = (ConvLayer *)layer;
    const Tensor *x = layer->input;
    ConvGeometry g;
    geometry_of(conv, x, &g);
    int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g), F = conv->filters;
    real *dcols = xmalloc((size_t)rows * cols * sizeof(real));
    tensor_zero(dx);
    for (int n = 0; n < x->dim[0]; n++) {
        const real *dout_n = dout->data + (size_t)n * F * cols;
        gemm(1, 0, rows, cols, F, 1, conv->w->data, rows, dout_n, cols, 0, dcols, cols);
        col2im_assign_BUG(&g, dcols, dx->data + (size_t)n * tensor_item_size(x));
    }
    free(dcols);
}

/* THE BUG: dw computed right, then stored transposed, (C*kH*kW, F) read as
 * (F, C*kH*kW), the classic slip of writing dout^T * cols for dout * cols^T. */
static void backward_with_transposed_dw(Layer *layer, const Tensor *dout, Tensor *dx)
{
    correct_conv_ops->backward(layer, dout, dx);
    ConvLayer *conv = (ConvLayer *)layer;
    int F = conv->filters, rows = (int)(conv->dw->size / (size_t)F);
    real *copy = xmalloc(conv->dw->size * sizeof(real));
    memcpy(copy, conv->dw->data, conv->dw->size * sizeof(real));
    for (int f = 0; f < F; f++)
        for (int r = 0; r < rows; r++)
            conv->dw->data[(size_t)r * F + f] = copy[(size_t)f * rows + r]; /* BUG: transposed */
    free(copy);
}

/* Runs gradcheck_layer with the given backward installed; rows printed.
 * Returns the number of rows. */
static int check_with_backward(Layer *layer, Tensor *x, Rng *rng,
                               void (*backward)(Layer *, const Tensor *, Tensor *),
                               GradcheckRow *rows)
{
    LayerOps broken = *layer->ops;
    const LayerOps *saved = layer->ops;
    correct_conv_ops = saved;
    if (backward) {
        broken.backward = backward;
        layer->ops = &broken;
    }
    int count = gradcheck_layer(layer, x, rng, rows, LAYER_MAX_PARAMS + 1);
    layer->ops = saved;
    lesson_print_gradcheck(rows, count);
    return count;
}

/* Digits of agreement, -log10(relative error), from 0 (an error of 1 or
 * more: nothing agrees) to 16 (no error at all). */
static double digits(double rel)
{
    double d = rel >= 1 ? 0 : rel > 1e-16 ? -log10(rel) : 16;
    return round(10 * d) / 10; /* one decimal is all a bar label needs */
}

int main(int argc, char **argv)
{
    /* Every tensor here is tiny: threads would cost more than they save,
     * and on a busy machine their spin-waiting can stall thousands of
     * small forward passes. One thread also fixes the summation order. */
    omp_set_num_threads(1);
    Lesson lesson;
    lesson_begin(&lesson, 3, "Convolution backward",
                 "The backward pass turns dout = dL/dout, the gradient arriving from the layer "
                 "above, into dw and db (to update the filters) and dx (to pass further down). "
                 "We compute all three on the 4x4 example of lesson 2, see why col2im must "
                 "add, check every gradient numerically, and then break the backward on "
                 "purpose to watch the check fail.",
                 argc, argv, NULL, 0);

    lesson_section(&lesson, "dw, db and dx on the 4x4 example");
    lesson_say("The forward was out (F, P) = w (F, C*kH*kW) * cols (C*kH*kW, P) + b, with P "
               "output positions. The rules of a matrix product give the backward:\n"
               "  dw    = dout * cols^T             (F, C*kH*kW)\n"
               "  db    = dout summed over P        (F,)\n"
               "  dcols = w^T * dout                (C*kH*kW, P)\n"
               "  dx    = col2im(dcols)             (C, H, W)\n"
               "For a batch, dw and db add up the contributions of every image.");
    tiny_example(&lesson);

    lesson_section(&lesson, "col2im is the transpose of im2col");
    lesson_say("im2col is a linear map A (it only copies numbers), and the backward of any "
               "linear map is its transpose: if cols = A x then dx = A^T dcols. The test of "
               "a transpose is the adjoint identity <A x, y> = <x, A^T y> for any x and y. "
               "Both sides, for random x and y, with overlapping windows, a stride of 2 and a "
               "non-square kernel:");
    adjoint_identity(&lesson);

    lesson_section(&lesson, "The gradient check, one entry by hand");
    lesson_say("How do we know dw is right? By the definition of a derivative: nudge one "
               "weight by h up and down, recompute the scalar L = sum(out * dout) (whose "
               "gradient with respect to out is exactly dout), and divide the change by 2h. "
               "This centred difference is off by about h^2 = 1e-10, and needs double "
               "precision: in float the rounding of L alone would swamp it.");
    one_entry_by_hand(&lesson);
    lesson_say("Why the centred difference? By Taylor, f(z+h) = f + h f' + h^2 f''/2 + "
               "h^3 f'''/6 + ..., so the one-sided (f(z+h) - f(z))/h is off by about "
               "h f''/2 (an error of order h), while in (f(z+h) - f(z-h))/2h the h^2 terms "
               "cancel and the error is about h^2 f'''/6 (order h^2). The convolution above "
               "is linear in w, so both are exact there; here is a function with curvature, "
               "the cross-entropy of seven scores:");
    centred_versus_one_sided();
    lesson_say("Each step 10 times smaller makes the one-sided error 10 times smaller and "
               "the centred one 100 times smaller, until rounding takes over: f is known "
               "to about 1e-16, so dividing the difference by h adds an error of about "
               "1e-16/h, which grows as h shrinks. Near h = 1e-5 the centred difference "
               "is at its best; the one-sided one never gets much below 1e-8.");
    lesson_say("How to read a relative error: below 1e-7, the backward is right (a correct "
               "layer in double scores 1e-8 to 1e-12). Between 1e-7 and about 1e-2: look "
               "for a kink (a ReLU input or a max-pool tie within h of the point, where the "
               "centred difference straddles a corner), or a check run in float (whose "
               "rounding alone gives 1e-3 to 1e-2 at this h). Above 1e-2: a real bug, like "
               "the two below.");

    lesson_section(&lesson, "The gradient check of every entry");
    lesson_say("gradcheck_layer does the same for every entry of x, w and b and reports the "
               "largest relative error per tensor. Below 1e-7 passes; a correct layer in "
               "double scores around 1e-9 or better. It also fails a tensor whose analytic "
               "gradient is all zero, so a backward that does nothing cannot pass.");
    const ConvCase overlapping = {"k3 s1 p1", 2, 6, 3, 3, 3, 1, 1};
    const ConvCase strided = {"k3 s2 p1", 3, 7, 2, 3, 3, 2, 1};
    const ConvCase tiled = {"k2 s2 p0", 2, 6, 3, 2, 2, 2, 0};
    Rng rng;
    rng_seed(&rng, lesson.seed);
    GradcheckRow correct[LAYER_MAX_PARAMS + 1], assign_rows[LAYER_MAX_PARAMS + 1],
        transposed_rows[LAYER_MAX_PARAMS + 1], tiled_rows[LAYER_MAX_PARAMS + 1];
    const ConvCase *cases[2] = {&overlapping, &strided};
    for (int c = 0; c < 2; c++) {
        Layer *layer;
        Tensor *x;
        setup_case(cases[c], &rng, &layer, &x);
        printf("  x (2, %d, %d, %d), w (%d, %d, %d, %d), %s:\n", cases[c]->C, cases[c]->H,
               cases[c]->H, cases[c]->F, cases[c]->C, cases[c]->kh, cases[c]->kw,
               cases[c]->name);
        GradcheckRow rows[LAYER_MAX_PARAMS + 1];
        int count = check_with_backward(layer, x, &rng, NULL, rows);
        for (int r = 0; r < count; r++) lesson.failures += !rows[r].pass;
        if (c == 0) memcpy(correct, rows, sizeof rows);
        printf("\n");
        tensor_free(x);
        layer_free(layer);
    }

    lesson_section(&lesson, "A broken backward, and the check that catches it");
    lesson_say("Bug 1: col2im written with = instead of +=. Such a bug shipped in a widely "
               "used C framework. The same layer, the same input:");
    Layer *layer;
    Tensor *x;
    rng_seed(&rng, lesson.seed);
    setup_case(&overlapping, &rng, &layer, &x);
    printf("  %s, col2im assigns (BUG):\n", overlapping.name);
    int assign_count = check_with_backward(layer, x, &rng, backward_with_assigning_col2im,
                                           assign_rows);
    printf("\n");
    lesson_say("dx fails: its max relative error is %.2f, not 1e-9 (above 1 means some "
               "entries even have the wrong sign). dw and db still pass because the bug is "
               "only in dx: the check names the guilty tensor.", assign_rows[0].max_rel_error);

    lesson_say("Why did that bug survive? With a 2x2 kernel and stride 2 the windows tile the "
               "image without overlapping: every pixel has exactly one share, and = gives the "
               "same answer as +=. A check on such a layer cannot see the bug:");
    Layer *tiled_layer;
    Tensor *tiled_x;
    setup_case(&tiled, &rng, &tiled_layer, &tiled_x);
    printf("  %s, col2im assigns (BUG), windows do not overlap:\n", tiled.name);
    check_with_backward(tiled_layer, tiled_x, &rng, backward_with_assigning_col2im, tiled_rows);
    printf("\n");
    lesson_say("The lesson: check with overlapping windows (kernel larger than the stride), "
               "as the workbench's tests do.");

    lesson_say("Bug 2: dw computed with the wrong transpose: the right numbers, stored in "
               "the wrong places.");
    printf("  %s, dw transposed (BUG):\n", overlapping.name);
    int transposed_count = check_with_backward(layer, x, &rng, backward_with_transposed_dw,
                                               transposed_rows);
    printf("\n");
    /* The broken variants must fail: if they ever passed, the checker
     * would be blind, which is a failure of this lesson. */
    if (assign_count < 1 || assign_rows[0].pass) lesson.failures++;
    if (transposed_count < 2 || transposed_rows[1].pass) lesson.failures++;

    double values[5] = {digits(correct[0].max_rel_error), digits(correct[1].max_rel_error),
                        digits(correct[2].max_rel_error), digits(assign_rows[0].max_rel_error),
                        digits(transposed_rows[1].max_rel_error)};
    const char *labels[5] = {"dx", "dw", "db", "dx (col2im =)", "dw (transposed)"};
    char png[256];
    lesson_out_path(&lesson, "gradcheck_digits.png", png, sizeof png);
    Error err;
    /* the correct layer's bars green, the bugs' red; the pass mark dashed */
    const int colours[5] = {3, 3, 3, 2, 2};
    const ChartBarsStyle style = {.colours = colours, .line = 7,
                                  .line_label = "pass: 7 digits (relative error 1e-7)"};
    int status = chart_bars_styled(png, "Digits of agreement, -log10(max relative error): the "
                                   "correct backward (green) and two bugs (red)",
                                   values, 5, labels, "tensor", "digits", &style, &err);
    lesson_chart_done(&lesson, status, png, "correct dx, dw, db against the two broken ones",
                      &err);
    if (lesson.terminal) {
        printf("\n");
        lesson_text_bars(stdout, "  digits of agreement (pass: 7 or more):", values, labels, 5);
    }
    tensor_free(x);
    layer_free(layer);
    tensor_free(tiled_x);
    layer_free(tiled_layer);

    const char *const tries[] = {
        "In tiny_example, change dout to {1, 0, 0, 0}: which pixels of dx are nonzero, and "
        "why exactly those?",
        "Write a third bug: make db the mean of dout instead of the sum (in a wrapper like "
        "backward_with_transposed_dw). Which row fails, and by how much?",
        "Set GRADCHECK_STEP to 1e-9 in checker/gradcheck.h and rebuild: rounding takes "
        "over and the rows fail. At 1e-2 they pass: a convolution is linear, so the centred "
        "difference has no truncation error whatever h (section 3); `./gradcheck relu` fails "
        "instead, its steps crossing the kink at 0 (lesson 4). Put 1e-5 back.",
        "Run `./gradcheck all` for the checks of every layer in the workbench.",
        "Write the backward yourself: col2im_add in exercises/im2col.c and "
        "conv_backward in exercises/conv.c; make grade EX=col2im_add,conv_backward "
        "says which mistake a wrong one makes.",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    return lesson_end(&lesson);
}
