/* The gradient checker: every layer passes in several configurations (in
 * the double build), and the checker is not vacuous: a wrong backward
 * fails, an all-zero gradient is reported. */
#include <check.h>
#include <string.h>

#include "conv.h"
#include "fc.h"
#include "gradcheck.h"
#include "pool.h"
#include "relu.h"
#include "testutil.h"

#ifdef REAL_IS_DOUBLE
static void all_pass(const GradcheckRow *rows, int count)
{
    for (int i = 0; i < count; i++)
        ck_assert_msg(rows[i].pass, "%s %s: max relative error %.3e", rows[i].layer, rows[i].tensor,
                      rows[i].max_rel_error);
}

typedef struct {
    int C, H, W, F, kh, kw, stride, pad;
} ConvCheck;

static const ConvCheck conv_checks[] = {
    {3, 9, 9, 4, 3, 3, 1, 1}, {2, 9, 9, 3, 5, 5, 2, 2}, {2, 7, 8, 3, 3, 5, 2, 0},
    {1, 6, 6, 2, 1, 1, 1, 0}, {2, 8, 7, 2, 2, 4, 3, 1}, {1, 10, 10, 4, 3, 3, 1, 0},
};

START_TEST(conv_passes_the_gradient_check)
{
    const ConvCheck *c = &conv_checks[_i];
    Error err;
    Rng rng;
    rng_seed(&rng, 7 + (uint64_t)_i);
    Layer *layer = conv_create(c->C, c->F, c->kh, c->kw, c->stride, c->pad, &err);
    ConvLayer *conv = (ConvLayer *)layer;
    Tensor *x = tensor_new4(2, c->C, c->H, c->W);
    fill_normal(x, &rng, 1);
    fill_normal(conv->w, &rng, 0.3);
    fill_normal(conv->b, &rng, 0.1);
    GradcheckRow rows[3];
    ck_assert_int_eq(gradcheck_layer(layer, x, &rng, rows, 3), 3);
    all_pass(rows, 3);
    tensor_free(x);
    layer_free(layer);
}
END_TEST

typedef struct {
    int max, kh, kw, stride, pad;
} PoolCheck;

static const PoolCheck pool_checks[] = {
    {1, 2, 2, 2, 0}, {1, 3, 3, 1, 1}, {1, 3, 2, 2, 0}, {1, 3, 3, 2, 1},
    {0, 2, 2, 2, 0}, {0, 3, 3, 1, 1}, {0, 2, 3, 1, 0},
};

START_TEST(pool_passes_the_gradient_check)
{
    const PoolCheck *c = &pool_checks[_i];
    Error err;
    Rng rng;
    rng_seed(&rng, 20 + (uint64_t)_i);
    Layer *pool = c->max ? maxpool_create(c->kh, c->kw, c->stride, c->pad, &err)
                         : avgpool_create(c->kh, c->kw, c->stride, c->pad, &err);
    Tensor *x = tensor_new4(2, 3, 8, 8);
    gradcheck_fill_distinct(x, 1e-2, &rng);
    GradcheckRow row;
    ck_assert_int_eq(gradcheck_layer(pool, x, &rng, &row, 1), 1);
    all_pass(&row, 1);
    tensor_free(x);
    layer_free(pool);
}
END_TEST

START_TEST(relu_passes_the_gradient_check)
{
    Rng rng;
    rng_seed(&rng, 30);
    Layer *relu = relu_create();
    Tensor *x = tensor_new4(3, 2, 5, 5);
    gradcheck_fill_away_from_zero(x, 1e-3, &rng);
    GradcheckRow row;
    gradcheck_layer(relu, x, &rng, &row, 1);
    all_pass(&row, 1);
    tensor_free(x);
    layer_free(relu);
}
END_TEST

START_TEST(fc_passes_the_gradient_check)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 40 + (uint64_t)_i);
    int features = _i == 0 ? 24 : 50, outputs = _i == 0 ? 5 : 7;
    Layer *layer = fc_create(features, outputs, &err);
    FcLayer *fc = (FcLayer *)layer;
    Tensor *x = _i == 0 ? tensor_new4(3, 2, 3, 4) : tensor_new2(4, 50);
    fill_normal(x, &rng, 1);
    fill_normal(fc->w, &rng, 0.3);
    fill_normal(fc->b, &rng, 0.1);
    GradcheckRow rows[3];
    gradcheck_layer(layer, x, &rng, rows, 3);
    all_pass(rows, 3);
    tensor_free(x);
    layer_free(layer);
}
END_TEST

START_TEST(softmax_passes_the_gradient_check)
{
    Rng rng;
    rng_seed(&rng, 50 + (uint64_t)_i);
    Tensor *scores = tensor_new2(_i == 0 ? 6 : 50, 7);
    int labels[50];
    fill_normal(scores, &rng, 1);
    for (int i = 0; i < scores->dim[0]; i++) labels[i] = (int)rng_below(&rng, 7);
    GradcheckRow row = gradcheck_softmax_xent(scores, labels);
    all_pass(&row, 1);
    tensor_free(scores);
}
END_TEST
#endif /* REAL_IS_DOUBLE */

/* A ReLU whose backward is wrong in a way a student might write: it lets
 * the gradient through where x < 0 too, at 1% strength. */
static void leaky_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    const Tensor *x = layer->input;
    tensor_resize(dx, x->ndim, x->dim);
    for (size_t i = 0; i < x->size; i++) dx->data[i] = x->data[i] > 0 ? dout->data[i] : (real)0.01 * dout->data[i];
}

/* A backward that forgets to write anything but zeros. */
static void zero_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    (void)dout;
    tensor_resize(dx, layer->input->ndim, layer->input->dim);
    tensor_zero(dx);
}

/* A convolution whose dw comes out 0.1% too large. */
static LayerOps conv_ops_copy;
static void scaled_dw_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    ConvLayer *conv = (ConvLayer *)layer;
    /* call the real backward through a temporary ops table */
    const LayerOps *broken = layer->ops;
    layer->ops = &conv_ops_copy;
    layer_backward(layer, dout, dx);
    layer->ops = broken;
    for (size_t i = 0; i < conv->dw->size; i++) conv->dw->data[i] *= (real)1.001;
}

START_TEST(a_wrong_relu_backward_fails)
{
    Rng rng;
    rng_seed(&rng, 60);
    Layer *relu = relu_create();
    LayerOps broken = *relu->ops;
    broken.backward = leaky_backward;
    relu->ops = &broken;
    Tensor *x = tensor_new4(2, 2, 4, 4);
    gradcheck_fill_away_from_zero(x, 1e-3, &rng);
    GradcheckRow row;
    gradcheck_layer(relu, x, &rng, &row, 1);
    ck_assert_msg(!row.pass, "a leaky backward passed with error %.3e", row.max_rel_error);
    ck_assert(row.max_rel_error > 0.5); /* |0.01 d - 0| / |0.01 d| = 1 */
    tensor_free(x);
    layer_free(relu);
}
END_TEST

START_TEST(a_slightly_wrong_conv_dw_fails)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 61);
    Layer *layer = conv_create(2, 3, 3, 3, 1, 1, &err);
    conv_ops_copy = *layer->ops;
    LayerOps broken = *layer->ops;
    broken.backward = scaled_dw_backward;
    layer->ops = &broken;
    ConvLayer *conv = (ConvLayer *)layer;
    Tensor *x = tensor_new4(2, 2, 6, 6);
    fill_normal(x, &rng, 1);
    fill_normal(conv->w, &rng, 0.3);
    GradcheckRow rows[3];
    gradcheck_layer(layer, x, &rng, rows, 3);
    ck_assert_str_eq(rows[1].tensor, "dw");
    ck_assert_msg(!rows[1].pass, "dw 0.1%% off passed with error %.3e", rows[1].max_rel_error);
    ck_assert(rows[1].max_rel_error > 5e-4);
#ifdef REAL_IS_DOUBLE
    ck_assert(rows[0].pass && rows[2].pass); /* dx and db are still right */
#endif
    tensor_free(x);
    layer_free(layer);
}
END_TEST

START_TEST(an_all_zero_gradient_is_reported_not_passed)
{
    /* All inputs negative: a correct ReLU's gradient is 0 everywhere, the
     * numerical one too, and 0/0 counts as 0 error. The check must still
     * fail, because it proved nothing. */
    Rng rng;
    rng_seed(&rng, 62);
    Layer *relu = relu_create();
    Tensor *x = tensor_new4(1, 1, 3, 3);
    tensor_fill(x, -1);
    GradcheckRow row;
    gradcheck_layer(relu, x, &rng, &row, 1);
    ck_assert(row.max_rel_error == 0);
    ck_assert(row.max_abs_analytic == 0);
    ck_assert(!row.pass);

    /* And a backward that writes zeros where the truth is not zero. */
    LayerOps broken = *relu->ops;
    broken.backward = zero_backward;
    relu->ops = &broken;
    gradcheck_fill_away_from_zero(x, 1e-3, &rng);
    gradcheck_layer(relu, x, &rng, &row, 1);
    ck_assert(!row.pass);
    ck_assert(row.max_abs_analytic == 0);
    tensor_free(x);
    layer_free(relu);
}
END_TEST

START_TEST(distinct_fill_leaves_no_near_ties_and_no_zeros)
{
    Rng rng;
    rng_seed(&rng, 63);
    Tensor *x = tensor_new4(2, 3, 8, 8);
    gradcheck_fill_distinct(x, 1e-2, &rng);
    for (size_t i = 0; i < x->size; i++) {
        ck_assert(fabs((double)x->data[i]) >= 3e-3);
        for (size_t j = i + 1; j < x->size; j++)
            ck_assert(fabs((double)x->data[i] - (double)x->data[j]) >= 7e-3);
    }
    tensor_free(x);
}
END_TEST

Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
#ifdef REAL_IS_DOUBLE
    tcase_add_loop_test(tc, conv_passes_the_gradient_check, 0, (int)(sizeof conv_checks / sizeof conv_checks[0]));
    tcase_add_loop_test(tc, pool_passes_the_gradient_check, 0, (int)(sizeof pool_checks / sizeof pool_checks[0]));
    tcase_add_test(tc, relu_passes_the_gradient_check);
    tcase_add_loop_test(tc, fc_passes_the_gradient_check, 0, 2);
    tcase_add_loop_test(tc, softmax_passes_the_gradient_check, 0, 2);
#endif
    tcase_add_test(tc, a_wrong_relu_backward_fails);
    tcase_add_test(tc, a_slightly_wrong_conv_dw_fails);
    tcase_add_test(tc, an_all_zero_gradient_is_reported_not_passed);
    tcase_add_test(tc, distinct_fill_leaves_no_near_ties_and_no_zeros);
    suite_add_tcase(s, tc);
    return s;
}
