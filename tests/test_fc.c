/* Fully connected layer and softmax cross-entropy: hand-worked cases. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "fc.h"
#include "gradcheck.h"
#include "rng.h"
#include "softmax_xent.h"
#include "testutil.h"

static Layer *hand_made_fc(void)
{
    /* w = [[1 -1] [0 2] [3 1]] (D=3, M=2), b = [0.5 -0.5] */
    Error err;
    Layer *layer = fc_create(3, 2, &err);
    FcLayer *fc = (FcLayer *)layer;
    static const double w[6] = {1, -1, 0, 2, 3, 1}, b[2] = {0.5, -0.5};
    set_values(fc->w, w);
    set_values(fc->b, b);
    return layer;
}

START_TEST(fc_forward_of_a_hand_worked_case)
{
    /* x = [[1 2 3] [4 5 6]]: out = x w + b */
    Layer *fc = hand_made_fc();
    Tensor *x = tensor_new2(2, 3), *out = tensor_new2(1, 1);
    set_values(x, (double[]){1, 2, 3, 4, 5, 6});
    layer_forward(fc, x, out);
    ck_assert_int_eq(out->ndim, 2);
    assert_values(out, (double[]){10.5, 5.5, 22.5, 11.5}, 0, "out");
    tensor_free(x);
    tensor_free(out);
    layer_free(fc);
}
END_TEST

START_TEST(fc_backward_of_a_hand_worked_case)
{
    /* dout = identity: dw = x^T, db = [1 1], dx row i = column i of w. */
    Layer *layer = hand_made_fc();
    FcLayer *fc = (FcLayer *)layer;
    Tensor *x = tensor_new2(2, 3), *out = tensor_new2(1, 1), *dout = tensor_new2(2, 2), *dx = tensor_new2(1, 1);
    set_values(x, (double[]){1, 2, 3, 4, 5, 6});
    set_values(dout, (double[]){1, 0, 0, 1});
    layer_forward(layer, x, out);
    layer_backward(layer, dout, dx);
    assert_values(fc->dw, (double[]){1, 4, 2, 5, 3, 6}, 0, "dw");
    assert_values(fc->db, (double[]){1, 1}, 0, "db");
    assert_values(dx, (double[]){1, 0, 3, -1, 2, 1}, 0, "dx");
    tensor_free(x);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    layer_free(layer);
}
END_TEST

START_TEST(fc_flattens_images_and_gives_dx_their_shape)
{
    /* x (2, 1, 1, 3) is the same data as (2, 3): same out; dx keeps 4 dims. */
    Layer *fc = hand_made_fc();
    Tensor *x = tensor_new4(2, 1, 1, 3), *out = tensor_new2(1, 1), *dout = tensor_new2(2, 2), *dx = tensor_new2(1, 1);
    set_values(x, (double[]){1, 2, 3, 4, 5, 6});
    set_values(dout, (double[]){1, 0, 0, 1});
    layer_forward(fc, x, out);
    assert_values(out, (double[]){10.5, 5.5, 22.5, 11.5}, 0, "out");
    layer_backward(fc, dout, dx);
    ck_assert_int_eq(dx->ndim, 4);
    ck_assert_int_eq(dx->dim[3], 3);
    tensor_free(x);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    layer_free(fc);
}
END_TEST

START_TEST(fc_refuses_the_wrong_number_of_features)
{
    Error err;
    Layer *fc = fc_create(10, 2, &err);
    int dims[4] = {4, 2, 2, 2}, out_ndim, out[4];
    ck_assert_int_eq(layer_output_shape(fc, 4, dims, &out_ndim, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "expects 10 features per item, got 8"), "%s", err.msg);
    layer_free(fc);
    ck_assert_ptr_null(fc_create(0, 2, &err));
}
END_TEST

START_TEST(softmax_loss_of_a_hand_worked_case)
{
    /* Row 0: z = [1 2 3], label 2: p = e^z / (e + e^2 + e^3)
     *        = [0.0900305732, 0.2447284711, 0.6652409558], loss = -ln 0.6652409558.
     * Row 1: z = [0 0 0], label 0: p = 1/3 each, loss = ln 3. */
    Tensor *scores = tensor_new2(2, 3), *probs = tensor_new2(1, 1), *dscores = tensor_new2(1, 1);
    set_values(scores, (double[]){1, 2, 3, 0, 0, 0});
    int labels[2] = {2, 0};
    double loss = softmax_xent_forward(scores, labels, probs);
    double want = (0.4076059644443803 + 1.0986122886681098) / 2;
    ck_assert_msg(fabs(loss - want) < 1e-7, "loss %.17g, want %.17g", loss, want);
    const double p[6] = {0.0900305731703805, 0.2447284710547976, 0.6652409557748219,
                         1.0 / 3, 1.0 / 3, 1.0 / 3};
    assert_values(probs, p, 1e-7, "probs");
    softmax_xent_backward(probs, labels, dscores);
    const double d[6] = {p[0] / 2, p[1] / 2, (p[2] - 1) / 2, (p[3] - 1) / 2, p[4] / 2, p[5] / 2};
    assert_values(dscores, d, 1e-7, "dscores");
    tensor_free(scores);
    tensor_free(probs);
    tensor_free(dscores);
}
END_TEST

START_TEST(softmax_is_stable_for_logits_of_1000)
{
    /* exp(1000) overflows even a double; log-sum-exp never computes it. */
    Tensor *scores = tensor_new2(3, 3), *probs = tensor_new2(1, 1), *dscores = tensor_new2(1, 1);
    set_values(scores, (double[]){1000, -1000, 0,    /* label 1: loss 2000 */
                                  -1000, -1000, -1000, /* label 0: loss ln 3 */
                                  1000, 1000, -1000}); /* label 0: loss ln 2 */
    int labels[3] = {1, 0, 0};
    double loss = softmax_xent_forward(scores, labels, probs);
    double want = (2000 + log(3.0) + log(2.0)) / 3;
    ck_assert_msg(isfinite(loss) && fabs(loss - want) < 1e-6, "loss %.17g, want %.17g", loss, want);
    assert_values(probs, (double[]){1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0.5, 0.5, 0}, 1e-7, "probs");
    softmax_xent_backward(probs, labels, dscores);
    for (size_t i = 0; i < dscores->size; i++) ck_assert(isfinite(dscores->data[i]));
    ck_assert(fabs(dscores->data[1] - (-1.0 / 3)) < 1e-7); /* (0 - 1) / 3 */
    tensor_free(scores);
    tensor_free(probs);
    tensor_free(dscores);
}
END_TEST

START_TEST(uniform_scores_cost_ln_of_the_class_count)
{
    Tensor *scores = tensor_new2(4, 7), *probs = tensor_new2(1, 1);
    int labels[4] = {0, 3, 6, 1};
    double loss = softmax_xent_forward(scores, labels, probs);
    ck_assert(fabs(loss - log(7.0)) < 1e-7);
    tensor_free(scores);
    tensor_free(probs);
}
END_TEST

START_TEST(weighted_softmax_loss_of_a_hand_worked_case)
{
    /* The rows above with class weights w = (3, 1, 0.5): row 0 (label 2)
     * counts 0.5, row 1 (label 0) counts 3, and the mean is over the
     * weights, 3.5 (PyTorch's CrossEntropyLoss(weight=w)):
     *   loss = (0.5 * 0.40760596444 + 3 * 1.09861228867) / 3.5
     *   dscores row 0 = (0.5 / 3.5) (p - onehot), row 1 = (3 / 3.5) (p - onehot) */
    Tensor *scores = tensor_new2(2, 3), *probs = tensor_new2(1, 1), *dscores = tensor_new2(1, 1);
    set_values(scores, (double[]){1, 2, 3, 0, 0, 0});
    int labels[2] = {2, 0};
    const real w[3] = {3, 1, 0.5};
    const LossOptions weighted = {.class_weights = w};
    double loss = softmax_xent_forward_with(scores, labels, &weighted, probs);
    double want = (0.5 * 0.4076059644443803 + 3 * 1.0986122886681098) / 3.5;
    ck_assert_msg(fabs(loss - want) < 1e-6, "loss %.17g, want %.17g", loss, want);
    const double p[6] = {0.0900305731703805, 0.2447284710547976, 0.6652409557748219,
                         1.0 / 3, 1.0 / 3, 1.0 / 3};
    softmax_xent_backward_with(probs, labels, &weighted, dscores);
    const double a = 0.5 / 3.5, b = 3 / 3.5;
    const double d[6] = {a * p[0], a * p[1], a * (p[2] - 1), b * (p[3] - 1), b * p[4], b * p[5]};
    assert_values(dscores, d, 1e-7, "dscores");
    /* equal weights, whatever their size, are the plain mean */
    const real same[3] = {2.5, 2.5, 2.5};
    const LossOptions equal = {.class_weights = same};
    ck_assert(fabs(softmax_xent_forward_with(scores, labels, &equal, probs) -
                   softmax_xent_forward(scores, labels, probs)) < 1e-12);
    tensor_free(scores);
    tensor_free(probs);
    tensor_free(dscores);
}
END_TEST

START_TEST(smoothed_softmax_loss_matches_pytorch)
{
    /* The rows above, against PyTorch's cross_entropy(label_smoothing=eps),
     * printed in double by tests/fixtures/reference/make_smoothing_reference.py.
     * By hand, eps 0.1: row 1 (p = 1/3 each, label 0) has the target
     * (0.9 + 0.1/3, 0.1/3, 0.1/3), so its dscores are (p - t) / 2 =
     * (-0.3, 0.15, 0.15), and its loss ln 3 whatever the target. */
    Tensor *scores = tensor_new2(2, 3), *probs = tensor_new2(1, 1), *dscores = tensor_new2(1, 1);
    set_values(scores, (double[]){1, 2, 3, 0, 0, 0});
    int labels[2] = {2, 0};
    const LossOptions smoothed = {.smoothing = 0.1};
    double loss = softmax_xent_forward_with(scores, labels, &smoothed, probs);
    ck_assert_msg(fabs(loss - 0.80310912655624511) < 1e-6, "loss %.17g", loss);
    softmax_xent_backward_with(probs, labels, &smoothed, dscores);
    assert_values(dscores,
                  (const double[]){0.028348619918523551, 0.10569756886073216,
                                   -0.13404618877925578, -0.3, 0.15, 0.15},
                  1e-7, "dscores, eps 0.1");
    /* with class weights (3, 1, 0.5) as well, eps 0.2 */
    const real w[3] = {3, 1, 0.5};
    const LossOptions both = {.class_weights = w, .smoothing = 0.2};
    loss = softmax_xent_forward_with(scores, labels, &both, probs);
    ck_assert_msg(fabs(loss - 1.0623554346233228) < 1e-6, "weighted loss %.17g", loss);
    softmax_xent_backward_with(probs, labels, &both, dscores);
    assert_values(dscores,
                  (const double[]){-0.039136742508781047, 0.029898075163340487,
                                   0.0092386673454405502, -0.48571428571428577,
                                   0.23809523809523808, 0.24761904761904763},
                  1e-7, "dscores, weights and eps 0.2");
    /* no smoothing and no weights is the plain loss, to the last bit */
    const LossOptions none = {0};
    double plain = softmax_xent_forward(scores, labels, probs);
    ck_assert(softmax_xent_forward_with(scores, labels, &none, probs) == plain);
    tensor_free(scores);
    tensor_free(probs);
    tensor_free(dscores);
}
END_TEST

START_TEST(smoothing_caps_how_sure_the_loss_wants_to_be)
{
    /* Without smoothing, the loss of a right answer falls towards 0 as its
     * logit grows; with eps it is least where p = t, and a logit pushed
     * beyond that costs more again. K = 2, eps = 0.2: t = (0.9, 0.1), whose
     * logit gap is ln 9; a gap of 10 costs more than ln 9 does. */
    Tensor *scores = tensor_new2(1, 2), *probs = tensor_new2(1, 1), *dscores = tensor_new2(1, 1);
    int label = 0;
    const LossOptions smoothed = {.smoothing = 0.2};
    scores->data[0] = (real)log(9.0);
    scores->data[1] = 0;
    double at_target = softmax_xent_forward_with(scores, &label, &smoothed, probs);
    softmax_xent_backward_with(probs, &label, &smoothed, dscores);
    assert_values(dscores, (const double[]){0, 0}, 1e-7, "dscores at p = t");
    scores->data[0] = 10;
    ck_assert(softmax_xent_forward_with(scores, &label, &smoothed, probs) > at_target + 0.5);
    ck_assert(softmax_xent_forward(scores, &label, probs) < 1e-4);
    tensor_free(scores);
    tensor_free(probs);
    tensor_free(dscores);
}
END_TEST

#ifdef REAL_IS_DOUBLE
typedef struct {
    const Tensor *scores;
    const int *labels;
    const LossOptions *o;
    Tensor *probs;
} OptionsLoss;

static void options_loss(void *context, Tensor *out)
{
    OptionsLoss *c = context;
    out->data[0] = softmax_xent_forward_with(c->scores, c->labels, c->o, c->probs);
}

START_TEST(weighted_and_smoothed_softmax_backward_pass_the_gradient_check)
{
    enum { N = 6, K = 5 };
    Rng rng;
    rng_seed(&rng, 17);
    Tensor *scores = tensor_new2(N, K), *probs = tensor_new2(N, K), *dscores = tensor_new2(1, 1);
    Tensor *out = tensor_new2(1, 1), *dout = tensor_new2(1, 1);
    for (int i = 0; i < N * K; i++) scores->data[i] = rng_range(&rng, -2, 2);
    int labels[N] = {0, 4, 4, 1, 2, 4};
    const real w[K] = {0.7, 2.0, 1.3, 9.0, 0.4};
    const LossOptions cases[3] = {{.class_weights = w},
                                  {.smoothing = 0.15},
                                  {.class_weights = w, .smoothing = 0.3}};
    dout->data[0] = 1;
    for (int k = 0; k < 3; k++) {
        OptionsLoss c = {scores, labels, &cases[k], probs};
        softmax_xent_forward_with(scores, labels, &cases[k], probs);
        softmax_xent_backward_with(probs, labels, &cases[k], dscores);
        GradcheckRow row = gradcheck_tensor(options_loss, &c, scores, dout, dscores, "softmax",
                                            "dscores");
        ck_assert_msg(row.pass, "case %d: dscores relative error %g", k, row.max_rel_error);
    }
    tensor_free(scores);
    tensor_free(probs);
    tensor_free(dscores);
    tensor_free(out);
    tensor_free(dout);
}
END_TEST
#endif

Suite *fc_suite(void)
{
    Suite *s = suite_create("fc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fc_forward_of_a_hand_worked_case);
    tcase_add_test(tc, fc_backward_of_a_hand_worked_case);
    tcase_add_test(tc, fc_flattens_images_and_gives_dx_their_shape);
    tcase_add_test(tc, fc_refuses_the_wrong_number_of_features);
    tcase_add_test(tc, softmax_loss_of_a_hand_worked_case);
    tcase_add_test(tc, softmax_is_stable_for_logits_of_1000);
    tcase_add_test(tc, uniform_scores_cost_ln_of_the_class_count);
    tcase_add_test(tc, weighted_softmax_loss_of_a_hand_worked_case);
    tcase_add_test(tc, smoothed_softmax_loss_matches_pytorch);
    tcase_add_test(tc, smoothing_caps_how_sure_the_loss_wants_to_be);
#ifdef REAL_IS_DOUBLE
    tcase_add_test(tc, weighted_and_smoothed_softmax_backward_pass_the_gradient_check);
#endif
    suite_add_tcase(s, tc);
    return s;
}
