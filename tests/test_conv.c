/* The convolution layer: forward against a direct loop and a hand-worked
 * case, backward against a hand-worked case, and bad shapes. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "conv.h"
#include "dropout.h"
#include "fc.h"
#include "pool.h"
#include "relu.h"
#include "testutil.h"
#include "winograd.h"

START_TEST(forward_of_a_hand_worked_case)
{
    /* x = [[1 2 3] [4 5 6] [7 8 9]], w = [[1 2] [3 4]], b = 1, stride 1:
     * out[0][0] = 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38, and so on. */
    Error err;
    Layer *layer = conv_create(1, 1, 2, 2, 1, 0, &err);
    ConvLayer *conv = (ConvLayer *)layer;
    Tensor *x = tensor_new4(1, 1, 3, 3), *out = tensor_new4(1, 1, 1, 1);
    set_values(x, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    set_values(conv->w, (double[]){1, 2, 3, 4});
    conv->b->data[0] = 1;
    layer_forward(layer, x, out);
    ck_assert_int_eq(out->dim[2], 2);
    ck_assert_int_eq(out->dim[3], 2);
    assert_values(out, (double[]){38, 48, 68, 78}, 0, "out");
    tensor_free(x);
    tensor_free(out);
    layer_free(layer);
}
END_TEST

START_TEST(backward_of_a_hand_worked_case)
{
    /* Same layer, dout all ones:
     *   db = number of outputs = 4
     *   dw[i][j] = sum of the pixels each weight touched
     *   dx[h][w] = sum of the weights that touched the pixel */
    Error err;
    Layer *layer = conv_create(1, 1, 2, 2, 1, 0, &err);
    ConvLayer *conv = (ConvLayer *)layer;
    Tensor *x = tensor_new4(1, 1, 3, 3), *out = tensor_new4(1, 1, 1, 1);
    Tensor *dout = tensor_new4(1, 1, 2, 2), *dx = tensor_new4(1, 1, 1, 1);
    set_values(x, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    set_values(conv->w, (double[]){1, 2, 3, 4});
    tensor_fill(dout, 1);
    layer_forward(layer, x, out);
    layer_backward(layer, dout, dx);
    assert_values(conv->db, (double[]){4}, 0, "db");
    assert_values(conv->dw, (double[]){12, 16, 24, 28}, 0, "dw");
    assert_values(dx, (double[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 0, "dx");
    tensor_free(x);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    layer_free(layer);
}
END_TEST

typedef struct {
    int N, C, H, W, F, kh, kw, stride, pad;
} ConvCase;

/* Several channels and filters, stride 1, 2 and 3, pad 0, 1 and 2,
 * non-square kernels and images, and the emotion CNN's first layer. */
static const ConvCase cases[] = {
    {2, 1, 6, 6, 3, 3, 3, 1, 1}, {2, 3, 7, 7, 4, 3, 3, 2, 0}, {1, 2, 8, 8, 5, 3, 3, 1, 2},
    {3, 2, 7, 9, 2, 3, 5, 2, 1}, {2, 4, 5, 5, 6, 1, 1, 1, 0}, {1, 3, 9, 9, 2, 5, 5, 2, 2},
    {2, 2, 6, 5, 3, 2, 4, 3, 1}, {5, 1, 48, 48, 8, 3, 3, 1, 1}, {3, 8, 12, 12, 16, 3, 3, 1, 1},
};

START_TEST(forward_matches_the_direct_loop)
{
    const ConvCase *c = &cases[_i];
    Error err;
    Rng rng;
    rng_seed(&rng, 100 + (uint64_t)_i);
    Layer *layer = conv_create(c->C, c->F, c->kh, c->kw, c->stride, c->pad, &err);
    ck_assert_ptr_nonnull(layer);
    ConvLayer *conv = (ConvLayer *)layer;
    Tensor *x = tensor_new4(c->N, c->C, c->H, c->W), *out = tensor_new4(1, 1, 1, 1);
    fill_normal(x, &rng, 1);
    fill_normal(conv->w, &rng, 0.5);
    fill_normal(conv->b, &rng, 0.5);
    layer_forward(layer, x, out);

    int H_out = (c->H + 2 * c->pad - c->kh) / c->stride + 1;
    int W_out = (c->W + 2 * c->pad - c->kw) / c->stride + 1;
    ck_assert_int_eq(out->dim[0], c->N);
    ck_assert_int_eq(out->dim[1], c->F);
    ck_assert_int_eq(out->dim[2], H_out);
    ck_assert_int_eq(out->dim[3], W_out);
    Tensor *want = tensor_new4(c->N, c->F, H_out, W_out);
    conv_forward_direct(x, conv->w, conv->b, c->stride, c->pad, want);
    /* a sum of C*kH*kW products of size ~1: tolerance grows with its length */
    assert_close(out->data, want->data, out->size, TEST_TOLERANCE * 4 * c->C * c->kh * c->kw, "out");
    tensor_free(want);
    tensor_free(x);
    tensor_free(out);
    layer_free(layer);
}
END_TEST

START_TEST(backward_without_dx_still_gives_parameter_gradients)
{
    /* The first layer of a network skips dx; dw and db must not change. */
    Error err;
    Rng rng;
    rng_seed(&rng, 5);
    Layer *layer = conv_create(2, 3, 3, 3, 1, 1, &err);
    ConvLayer *conv = (ConvLayer *)layer;
    Tensor *x = tensor_new4(2, 2, 6, 6), *out = tensor_new4(1, 1, 1, 1), *dx = tensor_new4(1, 1, 1, 1);
    fill_normal(x, &rng, 1);
    fill_normal(conv->w, &rng, 1);
    layer_forward(layer, x, out);
    Tensor *dout = tensor_like(out);
    fill_normal(dout, &rng, 1);
    layer_backward(layer, dout, dx);
    Tensor *dw = tensor_copy(conv->dw), *db = tensor_copy(conv->db);
    layer_backward(layer, dout, NULL);
    assert_close(conv->dw->data, dw->data, dw->size, 0, "dw");
    assert_close(conv->db->data, db->data, db->size, 0, "db");
    tensor_free(dw);
    tensor_free(db);
    tensor_free(dout);
    tensor_free(x);
    tensor_free(out);
    tensor_free(dx);
    layer_free(layer);
}
END_TEST

/* dw, db and dx from the definition, in double, one term at a time
 * (stride 1): dw[f][c][i][j] = sum over n, oh, ow of
 * dout[n][f][oh][ow] * x[n][c][oh - pad + i][ow - pad + j], and so on. */
static void naive_conv_backward(const Tensor *x, const Tensor *w, const Tensor *dout, int pad,
                                double *dw, double *db, double *dx)
{
    const int N = x->dim[0], C = x->dim[1], H = x->dim[2], W = x->dim[3];
    const int F = w->dim[0], kH = w->dim[2], kW = w->dim[3], Ho = dout->dim[2], Wo = dout->dim[3];
    memset(dw, 0, w->size * sizeof *dw);
    memset(db, 0, (size_t)F * sizeof *db);
    memset(dx, 0, x->size * sizeof *dx);
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double d = dout->data[(((size_t)n * F + f) * Ho + oh) * Wo + ow];
                    db[f] += d;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kH; i++)
                            for (int j = 0; j < kW; j++) {
                                int h = oh - pad + i, v = ow - pad + j;
                                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                                size_t at = (((size_t)n * C + c) * H + h) * W + v;
                                size_t wi = (((size_t)f * C + c) * kH + i) * kW + j;
                                dw[wi] += d * x->data[at];
                                dx[at] += d * w->data[wi];
                            }
                }
}

/* dw, db and dx against naive_conv_backward, each within tol relative to
 * max(1, |definition|) */
static void assert_gradients_match_the_definition(const Tensor *x, const Tensor *w,
                                                  const Tensor *dout, int pad, const Tensor *dw,
                                                  const Tensor *db, const Tensor *dx, double tol)
{
    double *want_dw = xmalloc(w->size * sizeof(double));
    double *want_db = xmalloc((size_t)w->dim[0] * sizeof(double));
    double *want_dx = xmalloc(x->size * sizeof(double));
    naive_conv_backward(x, w, dout, pad, want_dw, want_db, want_dx);
    for (size_t i = 0; i < dw->size; i++)
        ck_assert_msg(fabs(dw->data[i] - want_dw[i]) <= tol * fmax(1, fabs(want_dw[i])),
                      "dw[%zu] = %g, definition %g", i, (double)dw->data[i], want_dw[i]);
    for (int f = 0; f < w->dim[0]; f++)
        ck_assert_msg(fabs(db->data[f] - want_db[f]) <= tol * fmax(1, fabs(want_db[f])),
                      "db[%d] = %g, definition %g", f, (double)db->data[f], want_db[f]);
    ck_assert_int_eq(dx->size, x->size);
    for (size_t i = 0; i < x->size; i++)
        ck_assert_msg(fabs(dx->data[i] - want_dx[i]) <= tol * fmax(1, fabs(want_dx[i])),
                      "dx[%zu] = %g, definition %g", i, (double)dx->data[i], want_dx[i]);
    free(want_dw);
    free(want_db);
    free(want_dx);
}

/* backward overwrites dx and the parameter gradients: called twice on the
 * same dout, into a dx already holding the first answer, it gives the same
 * answer again (a backward that adds instead, or forgets to zero dx before
 * col2im adds into it, doubles it). Every layer is tried the same way. */
START_TEST(backward_twice_gives_the_same_gradients)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 6);
    Layer *layers[] = {conv_create(2, 3, 3, 3, 1, 1, &err), conv_create(2, 3, 5, 3, 2, 2, &err),
                       maxpool_create(3, 3, 1, 1, &err), avgpool_create(2, 2, 2, 0, &err),
                       fc_create(72, 5, &err), relu_create(), batchnorm_create(2, &err),
                       dropout_create(0.5, &err)};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        Layer *layer = layers[i];
        Tensor *x = tensor_new4(2, 2, 6, 6), *out = tensor_new2(1, 1);
        Tensor *dx = tensor_new2(1, 1);
        fill_normal(x, &rng, 1);
        for (int p = 0; p < layer->num_params; p++) fill_normal(layer->params[p].value, &rng, 1);
        layer_forward(layer, x, out);
        Tensor *dout = tensor_like(out);
        fill_normal(dout, &rng, 1);
        layer_backward(layer, dout, dx);
        Tensor *first = tensor_copy(dx);
        Tensor *grads[LAYER_MAX_PARAMS];
        for (int p = 0; p < layer->num_params; p++) grads[p] = tensor_copy(layer->params[p].grad);
        layer_backward(layer, dout, dx);
        ck_assert_msg(!memcmp(first->data, dx->data, dx->size * sizeof(real)),
                      "%s: dx differs the second time", layer->ops->kind);
        for (int p = 0; p < layer->num_params; p++) {
            ck_assert_msg(!memcmp(grads[p]->data, layer->params[p].grad->data,
                                  grads[p]->size * sizeof(real)),
                          "%s: d%s differs the second time", layer->ops->kind,
                          layer->params[p].name);
            tensor_free(grads[p]);
        }
        tensor_free(first);
        tensor_free(dout);
        tensor_free(dx);
        tensor_free(out);
        tensor_free(x);
        layer_free(layer);
    }
}
END_TEST

/* The weight gradient is summed per group of images, then over the groups
 * in blocks shared among the threads. Two shapes: 11 small images (groups
 * of 4, 4 and 3), and 9 images (4, 4 and 1) whose dw (48 x 40*3*3 =
 * 17,280 numbers) spans several blocks of 4,096, the last one partial, so
 * the threads really share the sum. Every thread count must give the
 * same numbers, and those must match the definition. */
START_TEST(backward_matches_the_definition_for_any_thread_count)
{
    const struct { int N, C, H, W, F; } shapes[] = {{11, 3, 7, 6, 5}, {9, 40, 3, 4, 48}};
    for (int s = 0; s < 2; s++) {
        const int N = shapes[s].N, C = shapes[s].C, F = shapes[s].F;
        Error err;
        Rng rng;
        rng_seed(&rng, 8);
        Layer *layer = conv_create(C, F, 3, 3, 1, 1, &err);
        ConvLayer *conv = (ConvLayer *)layer;
        Tensor *x = tensor_new4(N, C, shapes[s].H, shapes[s].W), *out = tensor_new2(1, 1);
        Tensor *dx = tensor_new2(1, 1), *dx3 = tensor_new2(1, 1);
        fill_normal(x, &rng, 1);
        fill_normal(conv->w, &rng, 1);
        layer_forward(layer, x, out);
        Tensor *dout = tensor_like(out);
        fill_normal(dout, &rng, 1);

        int threads = set_threads(1);
        layer_backward(layer, dout, dx);
        Tensor *dw = tensor_copy(conv->dw), *db = tensor_copy(conv->db);
        set_threads(3);
        layer_backward(layer, dout, dx3);
        set_threads(threads);
        assert_close(conv->dw->data, dw->data, dw->size, 0, "dw with 3 threads");
        assert_close(conv->db->data, db->data, db->size, 0, "db with 3 threads");
        assert_close(dx3->data, dx->data, dx->size, 0, "dx with 3 threads");

        /* sums of up to N * H*W (dw, db) or F * 9 (dx) products, against sums in double */
        assert_gradients_match_the_definition(x, conv->w, dout, 1, dw, db, dx, 100 * TEST_TOLERANCE);
        tensor_free(dw);
        tensor_free(db);
        tensor_free(dout);
        tensor_free(dx);
        tensor_free(dx3);
        tensor_free(x);
        tensor_free(out);
        layer_free(layer);
    }
}
END_TEST

/* Stride 1 on large enough images reads the padded image through shifted
 * rows (shifted_rows.h): the forward, dw (from the image stored channels last),
 * and dx as the convolution of dout by the turned filters. Each case takes
 * that path for all three (checked), with
 * "same", "valid" (pad 0: dout padded by k - 1) and in-between padding,
 * non-square kernels, and images that are not square; forward, dw, db and
 * dx must match the definition. */
START_TEST(shifted_rows_match_the_definition)
{
    const struct { int N, C, H, W, F, kh, kw, pad; } shapes[] = {
        {3, 8, 24, 24, 16, 3, 3, 1}, {2, 3, 30, 44, 8, 5, 5, 2}, {2, 8, 26, 46, 9, 3, 3, 0},
        {2, 4, 27, 70, 5, 5, 5, 1}, {2, 6, 24, 70, 7, 3, 5, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int N = shapes[s].N, C = shapes[s].C, F = shapes[s].F, pad = shapes[s].pad;
        Error err;
        Rng rng;
        rng_seed(&rng, 40 + s);
        Layer *layer = conv_create(C, F, shapes[s].kh, shapes[s].kw, 1, pad, &err);
        ConvLayer *conv = (ConvLayer *)layer;
        int forward_shifted, dx_shifted;
        conv_paths(layer, shapes[s].H, shapes[s].W, &forward_shifted, &dx_shifted);
        ck_assert_msg(forward_shifted && dx_shifted, "shape %zu does not take shifted rows", s);

        Tensor *x = tensor_new4(N, C, shapes[s].H, shapes[s].W), *out = tensor_new2(1, 1);
        Tensor *dx = tensor_new2(1, 1);
        fill_normal(x, &rng, 1);
        fill_normal(conv->w, &rng, 1);
        fill_normal(conv->b, &rng, 1);
        layer_forward(layer, x, out);
        Tensor *want = tensor_like(out);
        conv_forward_direct(x, conv->w, conv->b, 1, pad, want);
        const int depth = C * shapes[s].kh * shapes[s].kw;
        assert_close(out->data, want->data, out->size, TEST_TOLERANCE * 4 * depth, "out");

        Tensor *dout = tensor_like(out);
        fill_normal(dout, &rng, 1);
        layer_backward(layer, dout, dx);
        assert_gradients_match_the_definition(x, conv->w, dout, pad, conv->dw, conv->db, dx,
                                              100 * TEST_TOLERANCE);
        tensor_free(want);
        tensor_free(dout);
        tensor_free(dx);
        tensor_free(x);
        tensor_free(out);
        layer_free(layer);
    }
}
END_TEST

/* A description's 'winograd' (winograd.h): the forward, dw, db and dx
 * match the definition, within what float's rounding of the transforms
 * allows, with pad 0, 1 and 2, maps that are not a multiple of 4 (the last
 * blocks partly past the edge), one channel, and batches that fill one
 * product and spill into a second; and every thread count gives the same
 * numbers, bit for bit. */
START_TEST(winograd_matches_the_definition)
{
    const struct { int N, C, H, W, F, pad; } shapes[] = {
        {2, 3, 8, 8, 4, 1},   {3, 2, 7, 9, 5, 0},   {2, 4, 13, 6, 3, 2}, {18, 5, 6, 6, 7, 1},
        {5, 1, 48, 48, 3, 1}, {2, 20, 11, 10, 33, 1},
    };
#ifdef REAL_IS_DOUBLE
    const double tol = 1e-11;
#else
    const double tol = 1e-4; /* the transforms' 1/6 and 1/24, and sums of 8x and 4x terms */
#endif
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int N = shapes[s].N, C = shapes[s].C, F = shapes[s].F, pad = shapes[s].pad;
        Error err;
        Rng rng;
        rng_seed(&rng, 70 + s);
        Layer *layer = conv_create(C, F, 3, 3, 1, pad, &err);
        conv_use_winograd(layer);
        ConvLayer *conv = (ConvLayer *)layer;
        Tensor *x = tensor_new4(N, C, shapes[s].H, shapes[s].W), *out = tensor_new2(1, 1);
        Tensor *dx = tensor_new2(1, 1), *dx3 = tensor_new2(1, 1), *out3 = tensor_new2(1, 1);
        fill_normal(x, &rng, 1);
        fill_normal(conv->w, &rng, 1);
        fill_normal(conv->b, &rng, 1);
        int threads = set_threads(1);
        layer_forward(layer, x, out);
        Tensor *want = tensor_like(out);
        conv_forward_direct(x, conv->w, conv->b, 1, pad, want);
        assert_close(out->data, want->data, out->size, tol * 9 * C, "out");

        Tensor *dout = tensor_like(out);
        fill_normal(dout, &rng, 1);
        layer_backward(layer, dout, dx);
        assert_gradients_match_the_definition(x, conv->w, dout, pad, conv->dw, conv->db, dx,
                                              tol * 9 * (C > F ? C : F));
        Tensor *dw = tensor_copy(conv->dw), *db = tensor_copy(conv->db);
        set_threads(3);
        layer_forward(layer, x, out3);
        layer_backward(layer, dout, dx3);
        set_threads(threads);
        assert_close(out3->data, out->data, out->size, 0, "out with 3 threads");
        assert_close(conv->dw->data, dw->data, dw->size, 0, "dw with 3 threads");
        assert_close(conv->db->data, db->data, db->size, 0, "db with 3 threads");
        assert_close(dx3->data, dx->data, dx->size, 0, "dx with 3 threads");
        tensor_free(dw);
        tensor_free(db);
        tensor_free(want);
        tensor_free(dout);
        tensor_free(dx);
        tensor_free(dx3);
        tensor_free(out3);
        tensor_free(x);
        tensor_free(out);
        layer_free(layer);
    }
}
END_TEST

/* The gradient checker on a Winograd layer, in double, at its 1e-7. Its
 * centred differences measure the forward's rounding as well as its slope,
 * and Winograd's transforms round more than im2col's sums (coefficients up
 * to 8 and 5, and cancellation between them). The layer says so
 * (output_roundings: WINOGRAD_ROUNDINGS), and the checker judges the entries
 * too small for that rounding against its floor instead of alone: about
 * 1-2% of the largest, where the resolution floor is 0.1%. Before it did,
 * dx and dw on these 18 cases were off by 3.9e-9 to 1.8e-7 (im2col's 6e-10
 * to 9e-9), and 3 of the 54 rows failed; since, 1.9e-9 to 2.2e-8. A
 * backward with one coefficient of a transform's adjoint off by 1e-6 of
 * itself fails by 2e-5. */
/* What WINOGRAD_ROUNDINGS claims: a Winograd forward's rounding, in double,
 * is more than im2col's and at most that many times it. Both against the
 * definition summed in long double; the rms error over each layer's
 * outputs, on random normal inputs and weights (4.6 to 7.3 times when
 * measured, on shapes from 3 channels at 7x9 to 128 at 6x6). */
START_TEST(winograd_rounds_at_most_its_declared_roundings_more_than_im2col)
{
#ifdef REAL_IS_DOUBLE
    const struct { int C, F, H, W, pad; } shapes[] = {
        {3, 4, 7, 9, 0}, {3, 4, 7, 9, 1}, {3, 4, 7, 9, 2}, {16, 16, 12, 12, 1}, {32, 32, 10, 10, 1},
        {64, 64, 6, 6, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int C = shapes[s].C, F = shapes[s].F, H = shapes[s].H, W = shapes[s].W,
                  pad = shapes[s].pad;
        Error err;
        Rng rng;
        rng_seed(&rng, 120 + s);
        Layer *direct = conv_create(C, F, 3, 3, 1, pad, &err), *fast = conv_create(C, F, 3, 3, 1,
                                                                                   pad, &err);
        conv_use_winograd(fast);
        for (int p = 0; p < direct->num_params; p++) {
            fill_normal(direct->params[p].value, &rng, 1);
            memcpy(fast->params[p].value->data, direct->params[p].value->data,
                   direct->params[p].value->size * sizeof(real));
        }
        ck_assert_double_eq(layer_output_roundings(direct), 1);
        ck_assert_double_eq(layer_output_roundings(fast), WINOGRAD_ROUNDINGS);
        Tensor *x = tensor_new4(2, C, H, W), *a = tensor_new2(1, 1), *b = tensor_new2(1, 1);
        fill_normal(x, &rng, 1);
        layer_forward(direct, x, a);
        layer_forward(fast, x, b);
        const int Ho = a->dim[2], Wo = a->dim[3];
        const real *w = direct->params[0].value->data, *bias = direct->params[1].value->data;
        double direct_squares = 0, fast_squares = 0;
        for (int n = 0; n < 2; n++)
            for (int f = 0; f < F; f++)
                for (int i = 0; i < Ho; i++)
                    for (int j = 0; j < Wo; j++) {
                        long double sum = bias[f];
                        for (int c = 0; c < C; c++)
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++) {
                                    const int y = i + u - pad, z = j + v - pad;
                                    if (y < 0 || y >= H || z < 0 || z >= W) continue;
                                    sum += (long double)w[((f * C + c) * 3 + u) * 3 + v] *
                                           x->data[((n * C + c) * H + y) * W + z];
                                }
                        const size_t k = (((size_t)n * F + f) * Ho + i) * Wo + j;
                        direct_squares += pow((double)(a->data[k] - sum), 2);
                        fast_squares += pow((double)(b->data[k] - sum), 2);
                    }
        const double ratio = sqrt(fast_squares / direct_squares);
        ck_assert_msg(ratio > 1 && ratio <= WINOGRAD_ROUNDINGS,
                      "C %d, %dx%d, pad %d: Winograd's rounding is %.2f times im2col's", C, H, W,
                      pad, ratio);
        tensor_free(x);
        tensor_free(a);
        tensor_free(b);
        layer_free(direct);
        layer_free(fast);
    }
#endif
}
END_TEST

START_TEST(winograd_passes_the_gradient_check_up_to_its_rounding)
{
#ifdef REAL_IS_DOUBLE
    Error err;
    for (int seed = 90; seed < 96; seed++)
        for (int pad = 0; pad <= 2; pad++) {
            Rng rng;
            rng_seed(&rng, seed);
            Layer *layer = conv_create(3, 4, 3, 3, 1, pad, &err);
            conv_use_winograd(layer);
            for (int p = 0; p < layer->num_params; p++) fill_normal(layer->params[p].value, &rng, 1);
            Tensor *x = tensor_new4(2, 3, 7, 9);
            fill_normal(x, &rng, 1);
            GradcheckRow rows[LAYER_MAX_PARAMS + 1];
            const int count = gradcheck_layer(layer, x, &rng, rows, LAYER_MAX_PARAMS + 1);
            ck_assert_int_eq(count, 3);
            for (int r = 0; r < count; r++)
                ck_assert_msg(rows[r].pass, "seed %d, pad %d, %s: %.3e", seed, pad,
                              rows[r].tensor, rows[r].max_rel_error);
            tensor_free(x);
            layer_free(layer);
        }
#endif
}
END_TEST

/* The other way: strides above 1, padding as wide as the kernel, small
 * images whose grid would waste more than 5%, and short products (the
 * first layer's 1 x 3 x 3) go through im2col; the shapes of the FER2013
 * network take the path its measurements chose. */
START_TEST(im2col_is_kept_where_shifted_rows_do_not_pay)
{
    const struct { int C, F, k, stride, pad, H, forward, dx; } layers[] = {
        {8, 16, 3, 2, 1, 24, 0, 0},  {8, 16, 3, 1, 3, 24, 0, 0},  {8, 16, 3, 1, 1, 12, 0, 0},
        {1, 32, 3, 1, 1, 48, 0, 1},  {32, 32, 3, 1, 1, 48, 1, 1}, {32, 64, 3, 1, 1, 24, 1, 1},
        {64, 128, 3, 1, 1, 12, 0, 0}, {128, 256, 3, 1, 1, 6, 0, 0},
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        Error err;
        Layer *layer = conv_create(layers[i].C, layers[i].F, layers[i].k, layers[i].k,
                                   layers[i].stride, layers[i].pad, &err);
        int forward, dx;
        conv_paths(layer, layers[i].H, layers[i].H, &forward, &dx);
        ck_assert_msg(forward == layers[i].forward && dx == layers[i].dx,
                      "layer %zu: forward %d dx %d, expected %d %d", i, forward, dx,
                      layers[i].forward, layers[i].dx);
        layer_free(layer);
    }
}
END_TEST

/* A convolution without its bias ('nobias': the network lists w alone)
 * adds none and sums no db. It must compute what the same layer computes
 * with b = 0 (out, dw and dx bit for bit) and leave db at 0, on each path:
 * shifted rows (24x24), im2col one image per product (stride 2) and
 * several (6x6). */
START_TEST(a_convolution_without_bias_computes_as_with_a_zero_bias)
{
    const struct { int C, H, stride, shifted; } shapes[] = {{8, 24, 1, 1}, {8, 24, 2, 0}, {8, 6, 1, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        Error err;
        Rng rng;
        rng_seed(&rng, 60 + s);
        Layer *with = conv_create(shapes[s].C, 16, 3, 3, shapes[s].stride, 1, &err);
        Layer *without = conv_create(shapes[s].C, 16, 3, 3, shapes[s].stride, 1, &err);
        without->num_params = 1;
        int forward_shifted, dx_shifted;
        conv_paths(with, shapes[s].H, shapes[s].H, &forward_shifted, &dx_shifted);
        ck_assert_int_eq(forward_shifted, shapes[s].shifted);
        ConvLayer *a = (ConvLayer *)with, *b = (ConvLayer *)without;
        Tensor *x = tensor_new4(9, shapes[s].C, shapes[s].H, shapes[s].H);
        fill_normal(x, &rng, 1);
        fill_normal(a->w, &rng, 1);
        memcpy(b->w->data, a->w->data, a->w->size * sizeof(real));
        fill_normal(b->db, &rng, 1); /* stale: backward must overwrite it */
        Tensor *out_a = tensor_new2(1, 1), *out_b = tensor_new2(1, 1);
        Tensor *dx_a = tensor_new2(1, 1), *dx_b = tensor_new2(1, 1);
        layer_forward(with, x, out_a);
        layer_forward(without, x, out_b);
        assert_close(out_b->data, out_a->data, out_a->size, 0, "out");
        Tensor *dout = tensor_like(out_a);
        fill_normal(dout, &rng, 1);
        layer_backward(with, dout, dx_a);
        layer_backward(without, dout, dx_b);
        assert_close(b->dw->data, a->dw->data, a->dw->size, 0, "dw");
        assert_close(dx_b->data, dx_a->data, dx_a->size, 0, "dx");
        for (int f = 0; f < 16; f++) ck_assert(b->db->data[f] == 0);
        tensor_free(dout);
        tensor_free(dx_a);
        tensor_free(dx_b);
        tensor_free(out_a);
        tensor_free(out_b);
        tensor_free(x);
        layer_free(with);
        layer_free(without);
    }
}
END_TEST

START_TEST(bad_hyperparameters_are_refused_with_a_message)
{
    Error err;
    ck_assert_ptr_null(conv_create(1, 4, 3, 3, 0, 1, &err));
    ck_assert_msg(strstr(err.msg, "stride 0"), "%s", err.msg);
    ck_assert_ptr_null(conv_create(1, 4, 3, 3, 1, -1, &err));
    ck_assert_msg(strstr(err.msg, "padding -1"), "%s", err.msg);
    ck_assert_ptr_null(conv_create(1, 0, 3, 3, 1, 1, &err));
    ck_assert_msg(strstr(err.msg, "filter"), "%s", err.msg);
    ck_assert_ptr_null(conv_create(1, 4, 0, 3, 1, 1, &err));
    ck_assert_msg(strstr(err.msg, "kernel 0x3"), "%s", err.msg);
}
END_TEST

START_TEST(a_kernel_larger_than_the_padded_input_is_refused)
{
    Error err;
    Layer *layer = conv_create(1, 2, 7, 7, 1, 1, &err);
    int dims[4] = {1, 1, 4, 4}, out_ndim, out[4];
    ck_assert_int_eq(layer_output_shape(layer, 4, dims, &out_ndim, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "kernel 7x7 is larger than the padded input 6x6"), "%s", err.msg);
    int wrong_channels[4] = {1, 3, 8, 8};
    ck_assert_int_eq(layer_output_shape(layer, 4, wrong_channels, &out_ndim, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "expects 1 input channels, got 3"), "%s", err.msg);
    layer_free(layer);
}
END_TEST

Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, forward_of_a_hand_worked_case);
    tcase_add_test(tc, backward_of_a_hand_worked_case);
    tcase_add_loop_test(tc, forward_matches_the_direct_loop, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, backward_without_dx_still_gives_parameter_gradients);
    tcase_add_test(tc, backward_twice_gives_the_same_gradients);
    tcase_add_test(tc, backward_matches_the_definition_for_any_thread_count);
    tcase_add_test(tc, shifted_rows_match_the_definition);
    tcase_add_test(tc, im2col_is_kept_where_shifted_rows_do_not_pay);
    tcase_add_test(tc, winograd_matches_the_definition);
    tcase_add_test(tc, winograd_rounds_at_most_its_declared_roundings_more_than_im2col);
    tcase_add_test(tc, winograd_passes_the_gradient_check_up_to_its_rounding);
    tcase_add_test(tc, a_convolution_without_bias_computes_as_with_a_zero_bias);
    tcase_add_test(tc, bad_hyperparameters_are_refused_with_a_message);
    tcase_add_test(tc, a_kernel_larger_than_the_padded_input_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
