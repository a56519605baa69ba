/* Batch normalisation and dropout: forward against the definitions written
 * out in double, PyTorch's running statistics, the modes, the gradient
 * checks (double build) and dropout's mask. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "dropout.h"
#include "gradcheck.h"
#include "testutil.h"

/* The definition for one channel c of x: mean and biased variance over
 * every (n, k), then gamma (x - mean) / sqrt(var + eps) + beta. */
static void batchnorm_definition(const Tensor *x, int c, double gamma, double beta, double *out,
                                 double *mean_out, double *var_out)
{
    const int N = x->dim[0], C = x->dim[1];
    const int HW = (int)(tensor_item_size(x) / (size_t)C);
    double sum = 0, square = 0;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < HW; k++) sum += x->data[((size_t)n * C + c) * HW + k];
    const double mean = sum / (N * HW);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < HW; k++) {
            double d = x->data[((size_t)n * C + c) * HW + k] - mean;
            square += d * d;
        }
    const double var = square / (N * HW);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < HW; k++)
            out[n * HW + k] = gamma * (x->data[((size_t)n * C + c) * HW + k] - mean) /
                              sqrt(var + 1e-5) + beta;
    *mean_out = mean;
    *var_out = var;
}

START_TEST(batchnorm_forward_and_running_statistics_follow_the_definition)
{
    Rng rng;
    rng_seed(&rng, 4);
    for (int spatial = 0; spatial < 2; spatial++) {
        /* (3, 4, 5, 6) after a convolution, (5, 4) after a fully connected layer;
         * a large mean (10) with a small spread tests the variance's accuracy */
        Tensor *x = spatial ? tensor_new4(3, 4, 5, 6) : tensor_new2(5, 4);
        for (size_t i = 0; i < x->size; i++) x->data[i] = (real)(10 + 0.5 * rng_normal(&rng));
        Error err;
        Layer *layer = batchnorm_create(4, &err);
        BatchnormLayer *bn = (BatchnormLayer *)layer;
        for (int c = 0; c < 4; c++) {
            bn->gamma->data[c] = (real)(0.5 + c);
            bn->beta->data[c] = (real)(0.25 * c - 0.3);
        }
        Tensor *out = tensor_new2(1, 1);
        layer_forward(layer, x, out);
        const int HW = spatial ? 30 : 1, N = x->dim[0], M = N * HW;
        double *want = xmalloc((size_t)M * sizeof *want);
        for (int c = 0; c < 4; c++) {
            double mean, var;
            batchnorm_definition(x, c, 0.5 + c, 0.25 * c - 0.3, want, &mean, &var);
            for (int n = 0; n < N; n++)
                for (int k = 0; k < HW; k++) {
                    double got = out->data[((size_t)n * 4 + c) * HW + k];
                    ck_assert_msg(fabs(got - want[n * HW + k]) < (sizeof(real) == 8 ? 1e-12 : 2e-5),
                                  "channel %d: %g vs %g", c, got, want[n * HW + k]);
                }
            /* PyTorch: r = 0.9 r + 0.1 stat, the variance unbiased (M - 1) */
            ck_assert_double_eq_tol(bn->running_mean->data[c], 0.9 * 0 + 0.1 * mean, 1e-5);
            ck_assert_double_eq_tol(bn->running_var->data[c], 0.9 * 1 + 0.1 * var * M / (M - 1), 1e-6);
        }
        /* evaluation mode: the running statistics, the same for each image alone */
        layer->mode = LAYER_EVAL;
        layer_forward(layer, x, out);
        for (int c = 0; c < 4; c++) {
            double rm = bn->running_mean->data[c], rv = bn->running_var->data[c];
            double got = out->data[(size_t)c * HW], xv = x->data[(size_t)c * HW];
            double expected = (0.5 + c) * (xv - rm) / sqrt(rv + 1e-5) + 0.25 * c - 0.3;
            ck_assert_msg(fabs(got - expected) < 1e-4 * fmax(1, fabs(expected)), "eval channel %d", c);
        }
        free(want);
        tensor_free(out);
        tensor_free(x);
        layer_free(layer);
    }
}
END_TEST

START_TEST(batchnorm_parameters_have_their_roles_and_buffers)
{
    Error err;
    Layer *layer = batchnorm_create(3, &err);
    ck_assert_int_eq(layer->num_params, 2);
    ck_assert_str_eq(layer->params[0].name, "gamma");
    ck_assert_int_eq(layer->params[0].init, PARAM_INIT_ONE);
    ck_assert_int_eq(layer->params[0].decay, 0);
    ck_assert_int_eq(layer->params[1].init, PARAM_INIT_ZERO);
    ck_assert_int_eq(layer->params[1].decay, 0);
    ck_assert_int_eq(layer->num_buffers, 2);
    ck_assert_str_eq(layer->buffers[1].name, "running_var");
    ck_assert_double_eq(layer->buffers[1].value->data[2], 1);
    layer_free(layer);
    ck_assert_ptr_null(batchnorm_create(0, &err));
}
END_TEST

START_TEST(dropout_keeps_about_one_minus_p_and_scales_them)
{
    Error err;
    Layer *layer = dropout_create(0.3, &err);
    Tensor *x = tensor_new2(100, 1000), *out = tensor_new2(1, 1), *again = tensor_new2(1, 1);
    Tensor *dout = tensor_new2(100, 1000), *dx = tensor_new2(1, 1);
    tensor_fill(x, 2);
    tensor_fill(dout, 1);
    layer->noise_key = 12345;
    layer_forward(layer, x, out);
    size_t kept = 0;
    for (size_t i = 0; i < out->size; i++) {
        ck_assert(out->data[i] == 0 || fabs(out->data[i] - 2 / 0.7) < 1e-6);
        kept += out->data[i] != 0;
    }
    /* 100,000 draws: 70% kept, within 5 standard deviations (0.145%) */
    ck_assert_msg(fabs((double)kept / out->size - 0.7) < 0.0073, "kept %zu", kept);
    /* backward: the same mask, the same scale */
    layer_backward(layer, dout, dx);
    for (size_t i = 0; i < dx->size; i++) ck_assert(dx->data[i] == out->data[i] / 2);
    /* the same key gives the same mask, whatever the thread count; another key another */
    int before = set_threads(1);
    layer_forward(layer, x, again);
    ck_assert(!memcmp(out->data, again->data, out->size * sizeof(real)));
    set_threads(before);
    layer->noise_key = 12346;
    layer_forward(layer, x, again);
    ck_assert(memcmp(out->data, again->data, out->size * sizeof(real)) != 0);
    /* evaluation: the identity */
    layer->mode = LAYER_EVAL;
    layer_forward(layer, x, again);
    ck_assert(!memcmp(x->data, again->data, x->size * sizeof(real)));
    layer_free(layer);
    /* p = 0: the identity in training too */
    layer = dropout_create(0, &err);
    layer_forward(layer, x, again);
    ck_assert(!memcmp(x->data, again->data, x->size * sizeof(real)));
    layer_free(layer);
    ck_assert_ptr_null(dropout_create(1, &err));
    ck_assert_ptr_null(dropout_create(-0.1, &err));
    tensor_free(x);
    tensor_free(out);
    tensor_free(again);
    tensor_free(dout);
    tensor_free(dx);
}
END_TEST

#ifdef REAL_IS_DOUBLE
/* The gradient check of dx against a given analytic gradient. */
static GradcheckRow gradcheck_tensor_of_layer(Layer *layer, Tensor *x, const Tensor *dout,
                                              const Tensor *analytic)
{
    return gradcheck_layer_tensor(layer, x, x, dout, analytic, "dx");
}

/* Every gradient of batchnorm within 1e-7, in both modes and both shapes. */
START_TEST(batchnorm_passes_the_gradient_check_in_training_and_evaluation)
{
    Rng rng;
    rng_seed(&rng, 9);
    for (int spatial = 0; spatial < 2; spatial++)
        for (int mode = 0; mode < 2; mode++) {
            Error err;
            Layer *layer = batchnorm_create(3, &err);
            BatchnormLayer *bn = (BatchnormLayer *)layer;
            for (int c = 0; c < 3; c++) {
                bn->gamma->data[c] = (real)(1 + 0.3 * rng_normal(&rng));
                bn->beta->data[c] = (real)(0.2 * rng_normal(&rng));
                bn->running_mean->data[c] = (real)(0.1 * rng_normal(&rng));
                bn->running_var->data[c] = (real)(0.5 + rng_uniform(&rng));
            }
            layer->mode = mode ? LAYER_EVAL : LAYER_TRAIN;
            Tensor *x = spatial ? tensor_new4(2, 3, 4, 5) : tensor_new2(6, 3);
            for (size_t i = 0; i < x->size; i++) x->data[i] = (real)(1 + rng_normal(&rng));
            GradcheckRow rows[3];
            int count = gradcheck_layer(layer, x, &rng, rows, 3);
            ck_assert_int_eq(count, 3);
            for (int r = 0; r < count; r++)
                ck_assert_msg(rows[r].pass, "%s %s mode %d spatial %d: %.3e", rows[r].layer,
                              rows[r].tensor, mode, spatial, rows[r].max_rel_error);
            tensor_free(x);
            layer_free(layer);
        }
}
END_TEST

/* The classic mistake, a training-mode backward without the terms through
 * the mean and the variance (dx = gamma s dout), fails the check. */
START_TEST(a_batchnorm_backward_without_the_mean_and_variance_terms_fails)
{
    Rng rng;
    rng_seed(&rng, 10);
    Error err;
    Layer *layer = batchnorm_create(3, &err);
    Tensor *x = tensor_new4(2, 3, 4, 5);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)(1 + rng_normal(&rng));
    /* the evaluation-mode backward is exactly that simplified one: run the
     * forward in training mode and the backward as if in evaluation */
    Tensor *out = tensor_new2(1, 1), *dout = tensor_new2(1, 1), *dx = tensor_new2(1, 1);
    layer_forward(layer, x, out);
    tensor_resize(dout, out->ndim, out->dim);
    for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)rng_normal(&rng);
    layer->mode = LAYER_EVAL;
    layer_backward(layer, dout, dx);
    layer->mode = LAYER_TRAIN;
    Tensor *wrong = tensor_copy(dx);
    layer_backward(layer, dout, dx);
    GradcheckRow good = gradcheck_tensor_of_layer(layer, x, dout, dx);
    GradcheckRow bad = gradcheck_tensor_of_layer(layer, x, dout, wrong);
    ck_assert_msg(good.pass, "%.3e", good.max_rel_error);
    ck_assert_msg(!bad.pass && bad.max_rel_error > 1e-2, "%.3e", bad.max_rel_error);
    tensor_free(wrong);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    tensor_free(x);
    layer_free(layer);
}
END_TEST

START_TEST(dropout_passes_the_gradient_check_with_its_mask_held)
{
    Rng rng;
    rng_seed(&rng, 11);
    Error err;
    Layer *layer = dropout_create(0.4, &err);
    layer->noise_key = 77;
    Tensor *x = tensor_new4(2, 3, 4, 4);
    assert_dx_passes_gradcheck(layer, x, &rng);
    tensor_free(x);
    layer_free(layer);
}
END_TEST
#endif

Suite *batchnorm_suite(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, batchnorm_forward_and_running_statistics_follow_the_definition);
    tcase_add_test(tc, batchnorm_parameters_have_their_roles_and_buffers);
    tcase_add_test(tc, dropout_keeps_about_one_minus_p_and_scales_them);
#ifdef REAL_IS_DOUBLE
    tcase_add_test(tc, batchnorm_passes_the_gradient_check_in_training_and_evaluation);
    tcase_add_test(tc, a_batchnorm_backward_without_the_mean_and_variance_terms_fails);
    tcase_add_test(tc, dropout_passes_the_gradient_check_with_its_mask_held);
#endif
    suite_add_tcase(s, tc);
    return s;
}
