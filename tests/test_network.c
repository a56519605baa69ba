/* The network: shapes through the emotion CNN, refused configurations,
 * and the whole-network gradient check (double build). */
#include <check.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "conv.h"
#include "fc.h"
#include "gradcheck.h"
#include "network.h"
#include "relu.h"
#include "testutil.h"

START_TEST(the_seed_network_has_its_shapes)
{
    Error err;
    Network *net = arch_build_text(arch_emotion_text, "built-in", 1, 48, 48, 7, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(net->num_layers, 9);
    const char *names[9] = {"conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc1", "relu3", "fc2"};
    const int outputs[9][4] = {{1, 32, 48, 48}, {1, 32, 48, 48}, {1, 32, 24, 24}, {1, 64, 24, 24},
                               {1, 64, 24, 24}, {1, 64, 12, 12}, {1, 256}, {1, 256}, {1, 7}};
    for (int i = 0; i < 9; i++) {
        ck_assert_str_eq(net->layers[i]->name, names[i]);
        for (int d = 0; d < net->out[i]->ndim; d++) ck_assert_int_eq(net->out[i]->dim[d], outputs[i][d]);
    }
    ck_assert_int_eq(network_output_size(net), 7);
    /* 32*9+32 + 64*288+64 + 9216*256+256 + 256*7+7 */
    ck_assert_uint_eq(network_param_count(net), 2380167);
    char name[32];
    ck_assert_int_eq(network_num_params(net), 8);
    network_param(net, 4, name, sizeof name);
    ck_assert_str_eq(name, "fc1.w");
    network_free(net);
}
END_TEST

/* Counted by hand for one 1x6x6 image (a multiply-add counts 2):
 *   conv1 2 3x3 pad 1 -> (2,6,6): forward 2*F*C*k*k*Ho*Wo = 2*2*1*9*36 = 1296;
 *                                  backward dw only (the first layer gets no dx) = 1296
 *   relu1 (2,6,6): one operation per value, 72 forward and 72 backward
 *   pool1 maxpool 2 -> (2,3,3): 4 comparisons per output = 72; backward 1 per output = 18
 *   conv2 4 2x2 -> (4,2,2): 2*4*2*4*4 = 256 forward; backward dw and dx = 512
 *   fc1 16 -> 3: 2*16*3 = 96 forward; backward dw and dx = 192 */
START_TEST(a_training_step_counts_the_operations_it_computes)
{
    Error err;
    Network *net = arch_build_text("conv 2 3x3 pad 1, relu, maxpool 2, conv 4 2x2, fc 3", "test",
                                   1, 6, 6, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    const double want_forward[5] = {1296, 72, 72, 256, 96}, want_backward[5] = {1296, 72, 18, 512, 192};
    ck_assert_int_eq(net->num_layers, 5);
    for (int i = 0; i < 5; i++) {
        double forward, backward;
        network_layer_flops(net, i, &forward, &backward);
        ck_assert_msg(forward == want_forward[i] && backward == want_backward[i],
                      "%s: forward %g, backward %g; want %g, %g", net->layers[i]->name, forward,
                      backward, want_forward[i], want_backward[i]);
    }
    double forward, backward;
    network_step_flops(net, &forward, &backward);
    ck_assert_double_eq(forward, 1792);
    ck_assert_double_eq(backward, 2090);
    network_free(net);
}
END_TEST

START_TEST(a_layer_that_does_not_fit_is_refused_by_name)
{
    Error err;
    Network *net = network_new(1, 8, 8);
    ck_assert_int_eq(network_add(net, conv_create(1, 2, 3, 3, 1, 1, &err), "conv1", &err), 0);
    ck_assert_int_eq(network_add(net, fc_create(100, 7, &err), "fc1", &err), -1);
    ck_assert_msg(strstr(err.msg, "fc1: fully connected layer expects 100 features per item, got 128"),
                  "%s", err.msg);
    ck_assert_int_eq(network_add(net, conv_create(1, 2, 3, 3, 0, 1, &err), "conv2", &err), -1);
    ck_assert_msg(strstr(err.msg, "stride 0"), "%s", err.msg);
    ck_assert_int_eq(net->num_layers, 1);
    network_free(net);
}
END_TEST

/* The estimate of a convolution's scratch is what the layer really takes:
 * after a training step, each thread's share of its workspace, whichever
 * way it computes (im2col at stride 2, shifted rows at stride 1 on a wide
 * map, im2col for a large kernel). */
START_TEST(the_workspace_estimate_is_what_the_convolution_takes)
{
    static const char *const archs[] = {"conv 4 3x3 stride 2 pad 1, fc 7",
                                        "conv 8 3x3 pad 1, fc 7",
                                        "conv 4 9x9, fc 7"};
    for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++) {
        Error err;
        Network *net = arch_build_text(archs[k], "test", 8, 40, 40, 7, &err);
        ck_assert_msg(net != NULL, "%s", err.msg);
        Rng rng;
        rng_seed(&rng, 3);
        network_init(net, &rng);
        Tensor *x = tensor_new4(2, 8, 40, 40);
        fill_normal(x, &rng, 1);
        const int labels[2] = {1, 5};
        network_loss(net, x, labels);
        network_loss_backward(net, labels, NULL);
        int index = -1;
        const double estimate = network_workspace_bytes(net, 1, &index);
        const ConvLayer *conv = (const ConvLayer *)net->layers[0];
        ck_assert_int_eq(index, 0);
        ck_assert_msg(estimate * omp_get_max_threads() == (double)(conv->workspace_size * sizeof(real)),
                      "%s: estimate %.0f bytes a thread, the layer took %zu reals", archs[k],
                      estimate, conv->workspace_size);
        tensor_free(x);
        network_free(net);
    }
}
END_TEST

/* The memory estimate, by hand, for 1x4x4 -> maxpool 2 -> fc 3 in
 * evaluation at batch 2: parameters 4*3 + 3 = 15; activations per image
 * 16 + 4 + 3 = 23, and one more buffer of the largest size (16), as
 * network_bytes counts in evaluation; so 15 + 2 (23 + 16) = 93 reals.
 * Plus the max-pool's argmax: 4 ints per image, 32 bytes. */
START_TEST(the_memory_estimate_counts_what_layers_keep)
{
    Error err;
    Network *net = arch_build_text("maxpool 2, fc 3", "test", 1, 4, 4, 3, &err);
    ck_assert_ptr_nonnull(net);
    ck_assert_double_eq(network_bytes(net, 2, 0, 1), 93.0 * sizeof(real) + 2 * 4 * sizeof(int));
    network_free(net);
}
END_TEST

/* A ReLU that comes first cannot write over the caller's x (network_add
 * gives it a buffer of its own): the same network after a ReLU holds one
 * more 16-value activation per image, 2 * 16 = 32 more reals at batch 2:
 * 93 + 32 = 125. */
START_TEST(the_memory_estimate_counts_a_first_relus_own_buffer)
{
    Error err;
    Network *net = arch_build_text("relu, maxpool 2, fc 3", "test", 1, 4, 4, 3, &err);
    ck_assert_ptr_nonnull(net);
    ck_assert_double_eq(network_bytes(net, 2, 0, 1), 125.0 * sizeof(real) + 2 * 4 * sizeof(int));
    network_free(net);
}
END_TEST

START_TEST(forward_follows_the_batch_size)
{
    Rng rng;
    rng_seed(&rng, 3);
    Network *net = seed_cnn(16, 4, 4, 8, 7);
    network_init(net, &rng);
    for (int n = 1; n <= 5; n += 2) {
        Tensor *x = tensor_new4(n, 1, 16, 16);
        fill_normal(x, &rng, 1);
        const Tensor *scores = network_forward(net, x);
        ck_assert_int_eq(scores->dim[0], n);
        ck_assert_int_eq(scores->dim[1], 7);
        tensor_free(x);
    }
    network_free(net);
}
END_TEST

START_TEST(relus_share_buffers_and_gradients_take_two)
{
    Network *net = seed_cnn(48, 32, 64, 256, 7);
    /* relu1, relu2, relu3 (layers 1, 4, 7) write over their input */
    for (int i = 0; i < net->num_layers; i++) {
        int is_relu = !strcmp(net->layers[i]->ops->kind, "relu");
        ck_assert_int_eq(i > 0 && net->out[i] == net->out[i - 1], is_relu);
        ck_assert(net->grad[i] == net->grad_buffers[0] || net->grad[i] == net->grad_buffers[1]);
        if (i > 0) ck_assert_int_eq(net->grad[i] == net->grad[i - 1], is_relu);
    }
    network_free(net);
}
END_TEST

/* A network with batchnorm and dropout: their backward runs in place
 * (dx in dout's buffer), as ReLU's does. */
static Network *batchnorm_network(void)
{
    Error err;
    Network *net = arch_build_text("conv 4 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, "
                                   "conv 6 3x3 pad 1, batchnorm, relu, maxpool 2, fc 8 nobias, "
                                   "batchnorm, relu, dropout 0.5, fc 7",
                                   "--arch", 1, 16, 16, 7, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    return net;
}

START_TEST(batchnorm_and_dropout_share_their_gradient_buffer)
{
    Network *net = batchnorm_network();
    for (int i = 1; i < net->num_layers; i++) {
        const char *kind = net->layers[i]->ops->kind;
        int in_place = !strcmp(kind, "relu") || !strcmp(kind, "batchnorm") || !strcmp(kind, "dropout");
        ck_assert_msg((net->grad[i] == net->grad[i - 1]) == in_place, "layer %d (%s)", i, kind);
    }
    network_free(net);
}
END_TEST

/* A batchnorm's statistics need two values of a channel in a batch: one
 * image gives a map's channel H x W values (one when the map is 1x1), a
 * feature one value. */
START_TEST(batchnorm_on_features_or_a_1x1_map_needs_two_images)
{
    static const struct { const char *arch; int min_batch, layer; } cases[] = {
        {"conv 4 3x3, fc 7", 1, -1},
        {"conv 4 3x3, batchnorm, relu, fc 7", 1, -1},
        {"conv 4 16x1, batchnorm, fc 7", 1, -1},       /* a 1x16 map: 16 values an image */
        {"conv 4 16x16, batchnorm, fc 7", 2, 1},       /* a 1x1 map */
        {"conv 4 3x3, batchnorm, fc 8, batchnorm, fc 7", 2, 3}, /* features */
        {"fc 8 nobias, batchnorm, relu, fc 7", 2, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Error err;
        Network *net = arch_build_text(cases[k].arch, "--arch", 1, 16, 16, 7, &err);
        ck_assert_msg(net != NULL, "%s: %s", cases[k].arch, err.msg);
        int layer = 99;
        ck_assert_int_eq(network_min_batch(net, &layer), cases[k].min_batch);
        ck_assert_msg(layer == cases[k].layer, "%s: layer %d", cases[k].arch, layer);
        network_free(net);
    }
}
END_TEST

/* The network's backward, with its shared buffers, against the same layers
 * run one by one with a tensor of their own for every output and every
 * gradient: the same arithmetic, so the results must be identical. On the
 * seed's network and on one with batchnorm and dropout. */
static void assert_shared_buffers_change_no_gradient(Network *net)
{
    Rng rng;
    rng_seed(&rng, 5);
    network_init(net, &rng);
    const int L = net->num_layers, P = network_num_params(net);
    Tensor *x = tensor_new4(3, 1, 16, 16), *dscores = tensor_new2(3, 7);
    fill_normal(x, &rng, 1);
    fill_normal(dscores, &rng, 1);

    Tensor *out[NETWORK_MAX_LAYERS] = {0}, *grad[NETWORK_MAX_LAYERS] = {0};
    const Tensor *in = x;
    for (int i = 0; i < L; i++) {
        out[i] = tensor_new2(1, 1);
        grad[i] = tensor_new2(1, 1);
        layer_forward(net->layers[i], in, out[i]);
        in = out[i];
    }
    Tensor *want_scores = tensor_copy(out[L - 1]);
    Tensor *want_dx = tensor_like(x);
    tensor_resize(grad[L - 1], 2, dscores->dim);
    memcpy(grad[L - 1]->data, dscores->data, dscores->size * sizeof(real));
    for (int i = L - 1; i >= 0; i--)
        layer_backward(net->layers[i], grad[i], i > 0 ? grad[i - 1] : want_dx);
    Tensor **want_grads = xcalloc((size_t)P, sizeof *want_grads);
    for (int p = 0; p < P; p++) want_grads[p] = tensor_copy(network_param(net, p, NULL, 0)->grad);

    Tensor *dx = tensor_like(x);
    const Tensor *scores = network_forward(net, x);
    assert_close(scores->data, want_scores->data, scores->size, 0, "scores");
    network_backward(net, dscores, dx);
    assert_close(dx->data, want_dx->data, dx->size, 0, "dx");
    for (int p = 0; p < P; p++) {
        char name[32];
        const Tensor *g = network_param(net, p, name, sizeof name)->grad;
        assert_close(g->data, want_grads[p]->data, g->size, 0, name);
        tensor_free(want_grads[p]);
    }
    for (int i = 0; i < L; i++) {
        tensor_free(out[i]);
        tensor_free(grad[i]);
    }
    free(want_grads);
    tensor_free(want_scores);
    tensor_free(want_dx);
    tensor_free(dx);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}

START_TEST(shared_buffers_change_no_gradient)
{
    assert_shared_buffers_change_no_gradient(seed_cnn(16, 4, 6, 8, 7));
    assert_shared_buffers_change_no_gradient(batchnorm_network());
}
END_TEST

#ifdef REAL_IS_DOUBLE
START_TEST(the_whole_network_passes_the_gradient_check)
{
    Rng rng;
    rng_seed(&rng, 70);
    Network *net = seed_cnn(8, 3, 4, 10, 7);
    Tensor *x = tensor_new4(2, 1, 8, 8), *dscores = tensor_new2(2, 7);
    ck_assert_int_gt(gradcheck_draw_network_case(net, x, 1, dscores, &rng, 10000), 0);
    GradcheckRow rows[9];
    ck_assert_int_eq(gradcheck_network(net, x, dscores, rows, 9), 9);
    for (int i = 0; i < 9; i++)
        ck_assert_msg(rows[i].pass, "%s: %.3e", rows[i].tensor, rows[i].max_rel_error);
    tensor_free(x);
    tensor_free(dscores);
    network_free(net);
}
END_TEST
#endif

Suite *network_suite(void)
{
    Suite *s = suite_create("network");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, the_seed_network_has_its_shapes);
    tcase_add_test(tc, batchnorm_on_features_or_a_1x1_map_needs_two_images);
    tcase_add_test(tc, the_workspace_estimate_is_what_the_convolution_takes);
    tcase_add_test(tc, a_layer_that_does_not_fit_is_refused_by_name);
    tcase_add_test(tc, a_training_step_counts_the_operations_it_computes);
    tcase_add_test(tc, the_memory_estimate_counts_what_layers_keep);
    tcase_add_test(tc, the_memory_estimate_counts_a_first_relus_own_buffer);
    tcase_add_test(tc, forward_follows_the_batch_size);
    tcase_add_test(tc, relus_share_buffers_and_gradients_take_two);
    tcase_add_test(tc, batchnorm_and_dropout_share_their_gradient_buffer);
    tcase_add_test(tc, shared_buffers_change_no_gradient);
#ifdef REAL_IS_DOUBLE
    tcase_add_test(tc, the_whole_network_passes_the_gradient_check);
#endif
    suite_add_tcase(s, tc);
    return s;
}
