/* The gradient checker: every layer passes in several configurations, and
 * the checker is not vacuous: a wrong backward fails, an all-zero gradient
 * is reported, the network's loss row catches a wrong softmax backward.
 * Checks that compare gradients numerically need double (in float, a
 * correct layer fails too), so they are registered in the double build
 * only; kink distances and fills are exact in either build. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "conv.h"
#include "fc.h"
#include "gradcheck.h"
#include "pool.h"
#include "relu.h"
#include "softmax_xent.h"
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
/* A ReLU whose backward is wrong in a way a student might write: it lets
 * the gradient through where x < 0 too, at 1% strength. */
static void leaky_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    const Tensor *x = layer->input;
    tensor_resize(dx, x->ndim, x->dim);
    for (size_t i = 0; i < x->size; i++) dx->data[i] = x->data[i] > 0 ? dout->data[i] : (real)0.01 * dout->data[i];
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
    ck_assert(rows[0].pass && rows[2].pass); /* dx and db are still right */
    tensor_free(x);
    layer_free(layer);
}
END_TEST

/* A small network for the network checks: conv, relu, max-pool, fc, on
 * (1, 6, 6) inputs, 3 classes. */
static Network *small_network(void)
{
    Error err;
    Network *net = network_new(1, 6, 6);
    ck_assert_int_eq(network_add(net, conv_create(1, 2, 3, 3, 1, 1, &err), "conv1", &err), 0);
    ck_assert_int_eq(network_add(net, relu_create(), "relu1", &err), 0);
    ck_assert_int_eq(network_add(net, maxpool_create(2, 2, 2, 0, &err), "pool1", &err), 0);
    ck_assert_int_eq(network_add(net, fc_create(18, 3, &err), "fc1", &err), 0);
    return net;
}

START_TEST(the_loss_row_passes_and_leaves_the_network_as_it_was)
{
    Rng rng;
    rng_seed(&rng, 64);
    Network *net = small_network();
    Tensor *x = tensor_new4(2, 1, 6, 6), *dscores = tensor_new2(2, 3), *analytic = tensor_new2(2, 3);
    int labels[2];
    ck_assert_int_gt(gradcheck_draw_loss_case(net, x, 1, dscores, labels, &rng, 1000), 0);
    Tensor *scores_before = tensor_copy(network_forward(net, x));
    Layer *top = net->layers[net->num_layers - 1];

    gradcheck_network_loss_dscores(net, x, labels, analytic);
    GradcheckRow row = gradcheck_network_loss(net, x, labels, analytic);
    ck_assert_str_eq(row.layer, "loss");
    ck_assert_str_eq(row.tensor, "dscores");
    ck_assert_int_eq(row.ndim, 2);
    ck_assert_int_eq(row.dims[0], 2);
    ck_assert_int_eq(row.dims[1], 3);
    ck_assert_msg(row.pass, "loss dscores: max relative error %.3e", row.max_rel_error);
    ck_assert(row.max_rel_error < 1e-8);

    /* the probe is gone: the same last layer, the same scores */
    ck_assert_ptr_eq(net->layers[net->num_layers - 1], top);
    const Tensor *scores = network_forward(net, x);
    for (size_t i = 0; i < scores->size; i++) ck_assert(scores->data[i] == scores_before->data[i]);
    tensor_free(scores_before);
    tensor_free(analytic);
    tensor_free(dscores);
    tensor_free(x);
    network_free(net);
}
END_TEST

/* The mistake the loss row is there for: a softmax backward that forgets
 * to divide by the batch size N. Its gradient is N times the truth, and
 * the rows that start from a random dscores at the scores never see it. */
START_TEST(a_softmax_backward_without_its_1_over_N_fails_the_loss_row)
{
    Rng rng;
    rng_seed(&rng, 65);
    Network *net = small_network();
    Tensor *x = tensor_new4(2, 1, 6, 6), *dscores = tensor_new2(2, 3), *analytic = tensor_new2(2, 3);
    int labels[2];
    ck_assert_int_gt(gradcheck_draw_loss_case(net, x, 1, dscores, labels, &rng, 1000), 0);
    network_loss(net, x, labels);
    softmax_xent_backward(net->probs, labels, analytic);
    for (size_t i = 0; i < analytic->size; i++) analytic->data[i] *= (real)x->dim[0];

    GradcheckRow row = gradcheck_network_loss(net, x, labels, analytic);
    ck_assert_msg(!row.pass, "a gradient N times too large passed with error %.3e", row.max_rel_error);
    ck_assert(fabs(row.max_rel_error - 0.5) < 1e-6); /* |2g - g| / |2g| with N = 2 */

    /* ... while the rows from the scores down still pass: they cannot tell */
    GradcheckRow rows[5];
    ck_assert_int_eq(gradcheck_network(net, x, dscores, rows, 5), 5);
    for (int i = 0; i < 5; i++) ck_assert_msg(rows[i].pass, "%s: %.3e", rows[i].tensor, rows[i].max_rel_error);
    tensor_free(analytic);
    tensor_free(dscores);
    tensor_free(x);
    network_free(net);
}
END_TEST
/* Networks from descriptions, as ./gradcheck net --arch checks them: every
 * row from the scores down, and the loss row. */
static const struct {
    const char *text;
    int channels, height, width, classes;
} described[] = {
    {"conv 3 3x3 pad 1, relu, maxpool 2, conv 4 3x3 pad 1, relu, maxpool 2, fc 10, relu, fc 7",
     1, 8, 8, 7},
    {"conv 4 5x5 stride 2, relu, avgpool 2, fc 3", 1, 8, 8, 3},
    {"conv 2 3x3, relu, maxpool 3 stride 2, fc 5, relu, fc 4", 2, 9, 7, 4},
    {"conv 3 3x3 pad 1, relu, dropout 0.3, maxpool 2, fc 4", 1, 8, 8, 4},
    {"conv 2 3x3, relu, batchnorm, maxpool 2, fc 3", 1, 8, 8, 3},
};

/* Every row of the network check at (x, dscores): dx and each parameter,
 * to free; *count receives how many. */
static GradcheckRow *network_rows(Network *net, Tensor *x, const Tensor *dscores, int *count)
{
    *count = 1 + network_num_params(net);
    GradcheckRow *rows = calloc((size_t)*count, sizeof *rows);
    ck_assert_int_eq(gradcheck_network(net, x, dscores, rows, *count), *count);
    return rows;
}

/* Draws a well-posed case of net into x and dscores (labels beside them),
 * then asserts that every row passes, the loss's too; what names the
 * network in a failure. */
static void assert_the_whole_check_passes(Network *net, Tensor *x, Tensor *dscores, Rng *rng,
                                          const char *what)
{
    int *labels = calloc((size_t)x->dim[0], sizeof *labels);
    ck_assert_int_gt(gradcheck_draw_loss_case(net, x, 1, dscores, labels, rng, 1000), 0);
    int count;
    GradcheckRow *rows = network_rows(net, x, dscores, &count);
    for (int i = 0; i < count; i++)
        ck_assert_msg(rows[i].pass, "%s: %s %.3e", what, rows[i].tensor, rows[i].max_rel_error);
    Tensor *analytic = tensor_new2(1, 1);
    gradcheck_network_loss_dscores(net, x, labels, analytic);
    GradcheckRow loss = gradcheck_network_loss(net, x, labels, analytic);
    ck_assert_msg(loss.pass, "%s: loss dscores %.3e", what, loss.max_rel_error);
    tensor_free(analytic);
    free(rows);
    free(labels);
}

START_TEST(described_networks_pass_the_whole_check)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 67 + (uint64_t)_i);
    Network *net = arch_build_text(described[_i].text, "test", described[_i].channels,
                                   described[_i].height, described[_i].width,
                                   described[_i].classes, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    network_set_noise(net, 99); /* dropout's mask: fixed for the whole check */
    Tensor *x = tensor_new4(2, described[_i].channels, described[_i].height, described[_i].width);
    Tensor *dscores = tensor_new2(2, described[_i].classes);
    assert_the_whole_check_passes(net, x, dscores, &rng, described[_i].text);
    tensor_free(dscores);
    tensor_free(x);
    network_free(net);
}
END_TEST
/* A Winograd convolution after a batchnorm: the batchnorm's division by a
 * small spread multiplies the rounding of what follows, and Winograd's
 * outputs carry up to WINOGRAD_ROUNDINGS times im2col's. Before the checker
 * weighed a layer's output_roundings, 2 of these 100 draws failed on
 * rounding alone (1.6e-7 at worst; 9 of 300, and 15 of 300 with a second
 * batchnorm after the Winograd layer). Weighed, none of 300 fails (7e-8 at
 * worst), as with im2col in its place (the two-batchnorm network: 1 of 300
 * either way, im2col's 1.2e-7 and Winograd's 1.3e-7). */
START_TEST(winograd_after_a_batchnorm_passes_the_whole_check)
{
    const char *text = "conv 3 3x3 pad 1 nobias, batchnorm, conv 3 3x3 pad 1 winograd, fc 5";
    for (int draw = 0; draw < 100; draw++) {
        Error err;
        Rng rng;
        rng_seed(&rng, 300 + (uint64_t)draw);
        Network *net = arch_build_text(text, "test", 1, 6, 6, 5, &err);
        ck_assert_msg(net != NULL, "%s", err.msg);
        Tensor *x = tensor_new4(4, 1, 6, 6), *dscores = tensor_new2(4, 5);
        char what[128];
        snprintf(what, sizeof what, "%s, draw %d", text, draw);
        assert_the_whole_check_passes(net, x, dscores, &rng, what);
        tensor_free(dscores);
        tensor_free(x);
        network_free(net);
    }
}
END_TEST

/* A bias just before a batchnorm: the mean subtraction removes it, so its
 * gradient is zero up to rounding, and so is its centred difference. No
 * draw can make that check mean anything; it is not well posed. */
START_TEST(a_parameter_the_output_does_not_depend_on_is_not_resolvable)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 68);
    Network *net = arch_build_text("conv 2 3x3 pad 1, batchnorm, fc 3", "test", 1, 8, 8, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    Tensor *x = tensor_new4(2, 1, 8, 8), *dscores = tensor_new2(2, 3);
    network_init(net, &rng);
    fill_normal(x, &rng, 1);
    fill_normal(dscores, &rng, 1);
    ck_assert(gradcheck_network_resolution(net, x, dscores) == 0);
    ck_assert(!gradcheck_network_well_posed(net, x, dscores));
    char why[256];
    gradcheck_network_explain(net, x, dscores, NULL, why, sizeof why);
    ck_assert_msg(strstr(why, "the gradient of conv1.b was zero, or zero up to rounding"), "%s", why);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}
END_TEST
/* A weight that alone feeds a batchnorm channel: batchnorm undoes its
 * scale, so the output depends on it only through batchnorm's eps, and
 * its gradient, sum(dxhat (x - mean)) eps / (w^2 var + eps)^(3/2), is about
 * 1e-4 at He weights. That is not zero, but rounding moves a centred
 * difference by 1e-10, 1e-6 of it: the draw is not well posed, and the
 * explanation names the weight rather than calling it wrong. */
static const char *const eps_only_networks[] = {
    "conv 4 1x1 nobias, batchnorm, relu, fc 3",
    "fc 4 nobias, batchnorm, relu, fc 3",
};

static Network *eps_only_network(int which)
{
    Error err;
    const int side = which == 0 ? 8 : 1;
    Network *net = arch_build_text(eps_only_networks[which], "test", 1, side, side, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    return net;
}

START_TEST(a_gradient_only_batchnorms_eps_makes_is_too_small_to_resolve_at_he_weights)
{
    Rng rng;
    rng_seed(&rng, 69 + (uint64_t)_i);
    Network *net = eps_only_network(_i);
    Tensor *x = tensor_new4(4, 1, net->input_dims[1], net->input_dims[2]);
    Tensor *dscores = tensor_new2(4, 3);
    network_init(net, &rng);
    const double he_sized[4] = {1.2, -0.9, 1.6, 0.7}; /* w^2 var far above eps */
    set_values(network_param(net, 0, NULL, 0)->value, he_sized);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_uniform(&rng);
    fill_normal(dscores, &rng, 1);
    ck_assert(gradcheck_network_resolution(net, x, dscores) == 0);
    ck_assert(!gradcheck_network_well_posed(net, x, dscores));
    char why[512];
    gradcheck_network_explain(net, x, dscores, NULL, why, sizeof why);
    const char *named = _i == 0 ? "the gradient of conv1.w had an entry of"
                                : "the gradient of fc1.w had an entry of";
    ck_assert_msg(strstr(why, named) && strstr(why, "too small to resolve"), "%s", why);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}
END_TEST

/* ... and a draw where it is resolvable exists: weights small enough for
 * eps to matter make it large. There batchnorm's output curves on a scale
 * of about 1e-2 in the weight, a thousand steps, which is what measuring
 * again at 2h and extrapolating is for. Every row passes. */
START_TEST(a_gradient_only_batchnorms_eps_makes_passes_once_well_posed)
{
    Rng rng;
    rng_seed(&rng, 71 + (uint64_t)_i);
    Network *net = eps_only_network(_i);
    Tensor *x = tensor_new4(4, 1, net->input_dims[1], net->input_dims[2]);
    Tensor *dscores = tensor_new2(4, 3);
    assert_the_whole_check_passes(net, x, dscores, &rng, eps_only_networks[_i]);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}
END_TEST

/* What the two rules above must not hide: the same network, well posed,
 * with a convolution whose dw is 0.1% too large, fails that row. */
START_TEST(a_wrong_weight_gradient_before_a_batchnorm_still_fails)
{
    Rng rng;
    rng_seed(&rng, 71);
    Network *net = eps_only_network(0);
    Tensor *x = tensor_new4(4, 1, 8, 8), *dscores = tensor_new2(4, 3);
    int labels[4];
    ck_assert_int_gt(gradcheck_draw_loss_case(net, x, 1, dscores, labels, &rng, 1000), 0);
    Layer *conv = net->layers[0];
    conv_ops_copy = *conv->ops;
    LayerOps broken = *conv->ops;
    broken.backward = scaled_dw_backward;
    conv->ops = &broken;
    int max_rows;
    GradcheckRow *rows = network_rows(net, x, dscores, &max_rows);
    ck_assert_str_eq(rows[1].tensor, "conv1.w");
    ck_assert_msg(!rows[1].pass, "dw 0.1%% off passed with error %.3e", rows[1].max_rel_error);
    ck_assert(rows[1].max_rel_error > 5e-4);
    for (int i = 0; i < max_rows; i++)
        if (i != 1) ck_assert_msg(rows[i].pass, "%s: %.3e", rows[i].tensor, rows[i].max_rel_error);
    conv->ops = &conv_ops_copy;
    free(rows);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}
END_TEST

/* Two batchnorms in a row, as in a network whose second convolution
 * sums the first's channels: with conv2's first filter (1, -0.99, 0) the
 * first two channels (the same after bn1: their weights are equal) nearly
 * cancel, and bn2 divides their difference, 0.01 of the terms
 * summed, by its spread: the rounding of those terms reaches the output
 * 100 times larger than the scores' own, and so does every centred
 * difference through them. */
#define CANCELLING_ARCH "conv 3 1x1 nobias, batchnorm, relu, conv 3 1x1 nobias, batchnorm, relu, fc 3"

static Network *cancelling_network(Rng *rng, Tensor *x, Tensor *dscores)
{
    Error err;
    Network *net = arch_build_text(CANCELLING_ARCH, "test", 1, 8, 8, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    network_init(net, rng);
    /* small enough for batchnorm's eps to give conv1.w a resolvable gradient */
    set_values(network_param(net, 0, NULL, 0)->value, (double[]){0.01, 0.01, -0.012});
    const double conv2[9] = {1.0, -0.99, 0, 0.3, 0.9, -0.7, -0.5, 0.4, 1.1};
    set_values(network_param(net, 3, NULL, 0)->value, conv2);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_uniform(rng);
    fill_normal(dscores, rng, 1);
    return net;
}

START_TEST(a_batchnorm_that_amplifies_a_cancellation_is_not_well_posed)
{
    Rng rng;
    rng_seed(&rng, 79);
    Tensor *x = tensor_new4(4, 1, 8, 8), *dscores = tensor_new2(4, 3);
    Network *net = cancelling_network(&rng, x, dscores);
    ck_assert(gradcheck_network_kink_distance(net, x, NULL, 0) > GRADCHECK_KINK_MARGIN);
    ck_assert(gradcheck_network_resolution(net, x, dscores) == 0);
    ck_assert(!gradcheck_network_well_posed(net, x, dscores));
    char why[512];
    gradcheck_network_explain(net, x, dscores, NULL, why, sizeof why);
    ck_assert_msg(strstr(why, "too small to resolve") && strstr(why, "nearly cancel"), "%s", why);
    network_free(net);
    tensor_free(x);
    tensor_free(dscores);
}
END_TEST

/* What that rule must not hide: on the same network, well posed, a
 * batchnorm whose dgamma is 0.1% too large fails bn2.gamma's row. */
static LayerOps batchnorm_ops_copy;
static void scaled_dgamma_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    const LayerOps *broken = layer->ops;
    layer->ops = &batchnorm_ops_copy;
    layer_backward(layer, dout, dx);
    layer->ops = broken;
    Tensor *dgamma = layer->params[0].grad;
    for (size_t i = 0; i < dgamma->size; i++) dgamma->data[i] *= (real)1.001;
}

START_TEST(a_wrong_dgamma_after_two_batchnorms_still_fails)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 74);
    Network *net = arch_build_text(CANCELLING_ARCH, "test", 1, 8, 8, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    Tensor *x = tensor_new4(4, 1, 8, 8), *dscores = tensor_new2(4, 3);
    Layer *bn2 = net->layers[4];
    ck_assert_str_eq(bn2->ops->kind, "batchnorm");
    batchnorm_ops_copy = *bn2->ops;
    LayerOps broken = *bn2->ops;
    broken.backward = scaled_dgamma_backward;
    bn2->ops = &broken;
    int labels[4];
    ck_assert_int_gt(gradcheck_draw_loss_case(net, x, 1, dscores, labels, &rng, 1000), 0);
    int max_rows;
    GradcheckRow *rows = network_rows(net, x, dscores, &max_rows);
    for (int i = 0; i < max_rows; i++) {
        int wrong = !strcmp(rows[i].tensor, "bn2.gamma");
        ck_assert_msg(rows[i].pass != wrong, "%s: %.3e", rows[i].tensor, rows[i].max_rel_error);
    }
    bn2->ops = &batchnorm_ops_copy;
    free(rows);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}
END_TEST

/* out = s exp(v / s) entry by entry, with s = 5e-3: L curves on a scale
 * of 500 steps, and a centred difference is off by h^2 / (6 s^2) = 6.7e-7
 * of the gradient exp(v / s). */
#define STEEP_SCALE 5e-3
static void steep_exponential(void *context, Tensor *out)
{
    const Tensor *v = context;
    for (size_t i = 0; i < v->size; i++)
        out->data[i] = (real)(STEEP_SCALE * exp(v->data[i] / STEEP_SCALE));
}

START_TEST(an_entry_the_step_is_too_coarse_for_is_measured_again_not_failed)
{
    Tensor *v = tensor_new2(1, 3), *dout = tensor_new2(1, 3), *analytic = tensor_new2(1, 3);
    const double values[3] = {0.004, -0.003, 0.01};
    set_values(v, values);
    tensor_fill(dout, 1);
    for (size_t i = 0; i < v->size; i++) analytic->data[i] = (real)exp(v->data[i] / STEEP_SCALE);
    /* the premise: the centred difference alone disagrees with the truth */
    Tensor *plus = tensor_like(dout), *minus = tensor_like(dout);
    v->data[0] += (real)GRADCHECK_STEP;
    steep_exponential(v, plus);
    v->data[0] -= (real)(2 * GRADCHECK_STEP);
    steep_exponential(v, minus);
    v->data[0] = (real)values[0];
    double centred = ((double)plus->data[0] - minus->data[0]) / (2 * GRADCHECK_STEP);
    ck_assert_msg(fabs(centred / analytic->data[0] - 1) > 5e-7, "%.3e", centred / analytic->data[0] - 1);

    GradcheckRow row = gradcheck_tensor(steep_exponential, v, v, dout, analytic, "test", "dv");
    ck_assert_msg(row.pass, "a right gradient failed with error %.3e", row.max_rel_error);
    ck_assert(row.max_rel_error < 1e-9);
    /* a gradient 1e-6 too small disagrees with both measurements */
    for (size_t i = 0; i < v->size; i++) analytic->data[i] *= (real)(1 - 1e-6);
    row = gradcheck_tensor(steep_exponential, v, v, dout, analytic, "test", "dv");
    ck_assert(!row.pass);
    ck_assert_msg(row.max_rel_error > 5e-7, "%.3e", row.max_rel_error);
    tensor_free(plus);
    tensor_free(minus);
    tensor_free(v);
    tensor_free(dout);
    tensor_free(analytic);
}
END_TEST
/* out = (v - mean(v), v_0^2 / 2) for v of 8 entries: with dout all ones,
 * L = v_0^2 / 2 + sum(v - mean(v)), whose gradient is (v_0, 0, ..., 0): the
 * zeros come from cancellation, and the centred differences of the first 8
 * outputs leave rounding behind. */
static void centred_and_square(void *context, Tensor *out)
{
    const Tensor *v = context;
    double mean = 0;
    for (size_t i = 0; i < v->size; i++) mean += v->data[i];
    mean /= (double)v->size;
    for (size_t i = 0; i < v->size; i++) out->data[i] = v->data[i] - (real)mean;
    out->data[v->size] = v->data[0] * v->data[0] / 2;
}

START_TEST(a_zero_gradient_by_cancellation_agrees_but_a_wrong_zero_does_not)
{
    Tensor *v = tensor_new2(1, 8), *dout = tensor_new2(1, 9), *analytic = tensor_new2(1, 8);
    const double values[8] = {0.7, 0.1, 0.3, 1.3, 0.9, 2.1, 0.6, 0.35};
    set_values(v, values);
    tensor_fill(dout, 1);
    tensor_zero(analytic);
    analytic->data[0] = v->data[0];
    GradcheckRow row = gradcheck_tensor(centred_and_square, v, v, dout, analytic, "test", "dv");
    ck_assert_msg(row.pass, "a correct zero by cancellation failed with error %.3e", row.max_rel_error);
    /* a zero where the truth is v_0 = 0.7 is still wrong: |0 - 0.7| / 0.7 */
    analytic->data[0] = 0;
    row = gradcheck_tensor(centred_and_square, v, v, dout, analytic, "test", "dv");
    ck_assert(!row.pass);
    ck_assert(row.max_rel_error == 1);
    /* and so is a nonzero value where the truth is zero by cancellation:
     * 1e-6, measured against the tensor's resolution floor (1e-3 of its
     * largest entry, 0.7), is an error of 1e-6 / 7e-4 = 1.4e-3 */
    analytic->data[0] = v->data[0];
    analytic->data[1] = (real)1e-6;
    row = gradcheck_tensor(centred_and_square, v, v, dout, analytic, "test", "dv");
    ck_assert(!row.pass);
    ck_assert_msg(fabs(row.max_rel_error - 1e-6 / 7e-4) < 1e-5, "%.6e", row.max_rel_error);
    tensor_free(v);
    tensor_free(dout);
    tensor_free(analytic);
}
END_TEST
#endif /* REAL_IS_DOUBLE */

/* A backward that forgets to write anything but zeros. */
static void zero_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    (void)dout;
    tensor_resize(dx, layer->input->ndim, layer->input->dim);
    tensor_zero(dx);
}

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


/* What training hands the last layer: network_loss, then
 * network_loss_backward, is softmax_xent_backward of the probabilities. */
START_TEST(the_loss_gradient_is_read_where_training_computes_it)
{
    Error err;
    Rng rng;
    rng_seed(&rng, 66);
    Network *net = network_new(1, 2, 2);
    ck_assert_int_eq(network_add(net, fc_create(4, 3, &err), "fc1", &err), 0);
    fill_normal(net->layers[0]->params[0].value, &rng, 1);
    Tensor *x = tensor_new4(2, 1, 2, 2), *got = tensor_new2(1, 1), *want = tensor_new2(1, 1);
    fill_normal(x, &rng, 1);
    int labels[2] = {2, 0};
    double loss = gradcheck_network_loss_dscores(net, x, labels, got);
    ck_assert(loss == network_loss(net, x, labels));
    softmax_xent_backward(net->probs, labels, want);
    ck_assert_int_eq(got->ndim, 2);
    ck_assert_int_eq(got->dim[0], 2);
    ck_assert_int_eq(got->dim[1], 3);
    for (size_t i = 0; i < want->size; i++) ck_assert(got->data[i] == want->data[i]);
    tensor_free(x);
    tensor_free(got);
    tensor_free(want);
    network_free(net);
}
END_TEST

START_TEST(relu_kink_distance_is_the_smallest_absolute_input)
{
    Layer *relu = relu_create();
    Tensor *x = tensor_new2(1, 5);
    const double values[5] = {0.5, -0.03, 2, -1, 0.04};
    set_values(x, values);
    ck_assert_ptr_nonnull(relu->ops->kink_distance);
    ck_assert(fabs(relu->ops->kink_distance(relu, x) - 0.03) < 1e-7);
    tensor_free(x);
    layer_free(relu);
}
END_TEST

START_TEST(maxpool_kink_distance_is_the_smallest_gap_below_a_window_max)
{
    Error err;
    Layer *pool = maxpool_create(2, 2, 2, 0, &err);
    /* (1, 1, 2, 6): three 2x2 windows. Gaps: 0.5 - 0.45 = 0.05; the second
     * window's top two are exact zeros (dead ReLU units), left out; the
     * third's top two are -0.1 and -0.3, a gap of 0.2. */
    Tensor *x = tensor_new4(1, 1, 2, 6);
    const double values[12] = {0.5, 0, 0, 0, -0.1, -0.5, 0.1, 0.45, 0, 0, -0.3, -0.4};
    set_values(x, values);
    ck_assert(fabs(pool->ops->kink_distance(pool, x) - 0.05) < 1e-7);
    x->data[0] = (real)0.45; /* an exact tie of nonzero values is a kink */
    ck_assert(pool->ops->kink_distance(pool, x) == 0);
    x->data[0] = 0; /* now only the third window has a gap that counts... */
    x->data[7] = 0; /* ... and the first is all zeros too */
    x->data[6] = 0;
    ck_assert(fabs(pool->ops->kink_distance(pool, x) - 0.2) < 1e-7);
    layer_free(pool);

    /* padding: each 2x2 window at stride 2 with pad 1 over a 2x2 map holds
     * one real input, so there is no second value and no kink */
    pool = maxpool_create(2, 2, 2, 1, &err);
    Tensor *corners = tensor_new4(1, 1, 2, 2);
    tensor_fill(corners, 1);
    ck_assert(isinf(pool->ops->kink_distance(pool, corners)));
    layer_free(pool);
    tensor_free(corners);
    tensor_free(x);

    pool = avgpool_create(2, 2, 2, 0, &err);
    ck_assert_ptr_null(pool->ops->kink_distance); /* an average is smooth */
    layer_free(pool);
}
END_TEST

/* The checker asks every layer through its kink_distance op, whatever its
 * kind: a ReLU renamed "clamp" is still seen. */
START_TEST(network_kink_distance_asks_each_layer_through_its_op)
{
    Error err;
    Network *net = network_new(1, 2, 4);
    Layer *clamp = relu_create();
    LayerOps renamed = *clamp->ops;
    renamed.kind = "clamp";
    clamp->ops = &renamed;
    ck_assert_int_eq(network_add(net, clamp, "clamp1", &err), 0);
    ck_assert_int_eq(network_add(net, maxpool_create(2, 2, 2, 0, &err), "pool1", &err), 0);
    /* clamp input: nearest to 0 is -0.02. After it, the pool's windows are
     * {0.5, 0, 0.1, 0.45}: gap 0.05, and {0, 0, 0, 0}: dead, left out. */
    Tensor *x = tensor_new4(1, 1, 2, 4);
    const double values[8] = {0.5, -0.2, -0.3, -0.4, 0.1, 0.45, -0.02, -0.6};
    set_values(x, values);
    char where[32];
    ck_assert(fabs(gradcheck_network_kink_distance(net, x, where, sizeof where) - 0.02) < 1e-7);
    ck_assert_str_eq(where, "clamp1");
    x->data[6] = (real)-0.2;
    ck_assert(fabs(gradcheck_network_kink_distance(net, x, where, sizeof where) - 0.05) < 1e-7);
    ck_assert_str_eq(where, "pool1");
    tensor_free(x);
    network_free(net);

    /* no layer with a kink: infinitely far */
    net = network_new(1, 2, 2);
    ck_assert_int_eq(network_add(net, fc_create(4, 3, &err), "fc1", &err), 0);
    x = tensor_new4(1, 1, 2, 2);
    ck_assert(isinf(gradcheck_network_kink_distance(net, x, where, sizeof where)));
    ck_assert_str_eq(where, "");
    tensor_free(x);
    network_free(net);
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
    tcase_add_test(tc, a_wrong_relu_backward_fails);
    tcase_add_test(tc, a_slightly_wrong_conv_dw_fails);
    tcase_add_test(tc, the_loss_row_passes_and_leaves_the_network_as_it_was);
    tcase_add_test(tc, a_softmax_backward_without_its_1_over_N_fails_the_loss_row);
    tcase_add_test(tc, a_parameter_the_output_does_not_depend_on_is_not_resolvable);
    tcase_add_test(tc, a_zero_gradient_by_cancellation_agrees_but_a_wrong_zero_does_not);
    tcase_add_loop_test(tc, a_gradient_only_batchnorms_eps_makes_is_too_small_to_resolve_at_he_weights,
                        0, 2);
    tcase_add_loop_test(tc, a_gradient_only_batchnorms_eps_makes_passes_once_well_posed, 0, 2);
    tcase_add_test(tc, a_wrong_weight_gradient_before_a_batchnorm_still_fails);
    tcase_add_test(tc, a_batchnorm_that_amplifies_a_cancellation_is_not_well_posed);
    tcase_add_test(tc, a_wrong_dgamma_after_two_batchnorms_still_fails);
    tcase_add_test(tc, an_entry_the_step_is_too_coarse_for_is_measured_again_not_failed);
    tcase_add_loop_test(tc, described_networks_pass_the_whole_check, 0,
                        (int)(sizeof described / sizeof described[0]));
    tcase_add_test(tc, winograd_after_a_batchnorm_passes_the_whole_check);
#endif
    tcase_add_test(tc, the_loss_gradient_is_read_where_training_computes_it);
    tcase_add_test(tc, relu_kink_distance_is_the_smallest_absolute_input);
    tcase_add_test(tc, maxpool_kink_distance_is_the_smallest_gap_below_a_window_max);
    tcase_add_test(tc, network_kink_distance_asks_each_layer_through_its_op);
    tcase_add_test(tc, an_all_zero_gradient_is_reported_not_passed);
    tcase_add_test(tc, distinct_fill_leaves_no_near_ties_and_no_zeros);
    suite_add_tcase(s, tc);
    return s;
}
