/* The emotion CNN against an independent implementation: PyTorch.
 *
 * tests/fixtures/reference/make_reference.py builds the same network from
 * torch modules (widths 4, 6, 16 on real 48x48 images), writes its weights
 * with numpy in our checkpoint layout, and records what torch computes on a
 * batch of 8 images: the softmax probabilities, the mean cross-entropy, the
 * gradients, every parameter after one plain SGD step, and every parameter
 * after two steps of SGD with momentum and weight decay. Here our code loads
 * those weights with checkpoint_load and must reproduce each number.
 *
 * Tolerances. Torch computes in float32, so its numbers carry float32
 * rounding (about 6e-8 relative per operation, accumulated over sums of up
 * to 864 terms) whichever build of ours they are compared with; the double
 * build cannot match them more tightly than that. The same honest
 * tolerances therefore serve both builds:
 *  - probabilities and loss: 1e-5 absolute (observed: under 1.5e-7 in
 *    both builds);
 *  - gradients: 1e-4 of the array's largest gradient, since a small
 *    gradient entry is a difference of large terms and carries the rounding
 *    of those terms, not of itself (observed: under 2e-6);
 *  - parameters after training: the move (after - before) must match
 *    torch's move to 1e-4 of the array's largest move, plus the rounding of
 *    storing the parameter itself in float32 (2^-23 of its size, twice)
 *    (observed: under 1e-5 of the largest move).
 *    Comparing the moves rather than the values keeps the test sharp: the
 *    moves are about 1e-3 of the weights, so a plain 1e-5 on the values
 *    would let a wrong step through.
 * Set REFERENCE_REPORT=1 to print the largest differences observed. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "npz.h"
#include "optimizers.h"
#include "sgd.h"

#define REFERENCE_DIR "tests/fixtures/reference/"
#define PROBS_TOLERANCE 1e-5
#define LOSS_TOLERANCE 1e-5
#define GRADIENT_TOLERANCE 1e-4
#define MOVE_TOLERANCE 1e-4
#define OPTIMIZER_TOLERANCE 1e-3
#define FLOAT32_EPSILON 1.1920928955078125e-7 /* 2^-23: the float32 rounding of a stored value */

/* The batch torch saw: x (N, 1, 48, 48) = pixels / 255 computed in `real`
 * as our loader computes it, and the labels (N,). */
typedef struct {
    Tensor *x;
    int *labels;
    int count;
} Batch;

/* The fixture batch is 8 images. */
static Batch load_batch(void)
{
    NpzFile npz;
    Error err;
    ck_assert_msg(npz_read(REFERENCE_DIR "batch.npz", &npz, &err) == 0, "%s", err.msg);
    const NpyArray *pixels = npz_find(&npz, "pixels"), *labels = npz_find(&npz, "labels");
    ck_assert_ptr_nonnull(pixels);
    ck_assert_ptr_nonnull(labels);
    ck_assert_int_eq(pixels->dtype, NPY_UINT8);
    ck_assert_int_eq(pixels->ndim, 4);
    Batch batch = {.count = (int)pixels->shape[0]};
    ck_assert_int_eq((int)labels->count, batch.count);
    batch.x = tensor_new4(batch.count, 1, (int)pixels->shape[2], (int)pixels->shape[3]);
    const uint8_t *bytes = pixels->data;
    for (size_t i = 0; i < batch.x->size; i++) batch.x->data[i] = (real)bytes[i] / (real)255;
    int64_t *wide = xmalloc(labels->count * sizeof *wide);
    ck_assert_msg(npy_to_int64(labels, wide, &err) == 0, "%s", err.msg);
    batch.labels = xmalloc(labels->count * sizeof *batch.labels);
    for (int i = 0; i < batch.count; i++) batch.labels[i] = (int)wide[i];
    free(wide);
    npz_free(&npz);
    return batch;
}

static void batch_free(Batch *batch)
{
    tensor_free(batch->x);
    free(batch->labels);
}

static Network *load_torch_weights(void)
{
    Error err;
    Network *net = checkpoint_load(REFERENCE_DIR "weights.npz", NULL, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    return net;
}

static void load_expected(NpzFile *npz)
{
    Error err;
    ck_assert_msg(npz_read(REFERENCE_DIR "expected.npz", npz, &err) == 0, "%s", err.msg);
}

/* The member `name` of expected.npz as doubles; it must hold count values. */
static double *expected_values(const NpzFile *npz, const char *name, size_t count)
{
    const NpyArray *a = npz_find(npz, name);
    ck_assert_msg(a != NULL, "expected.npz has no '%s'", name);
    ck_assert_msg(a->count == count, "expected.npz '%s' holds %zu values, the network %zu", name,
                  a->count, count);
    double *values = xmalloc(count * sizeof *values);
    npy_to_float64(a, values);
    return values;
}

static void report(const char *what, double difference)
{
    if (getenv("REFERENCE_REPORT"))
        printf("reference (%s build): %-22s largest difference %.3g\n", REAL_NAME, what, difference);
}

/* A copy of every parameter of net, in network_param order. */
static Tensor **copy_params(Network *net)
{
    int count = network_num_params(net);
    Tensor **copies = xcalloc((size_t)count, sizeof *copies);
    for (int i = 0; i < count; i++) copies[i] = tensor_copy(network_param(net, i, NULL, 0)->value);
    return copies;
}

static void free_params(Tensor **copies, int count)
{
    for (int i = 0; i < count; i++) tensor_free(copies[i]);
    free(copies);
}

/* Every parameter must have moved from start as torch moved it: for each
 * entry, |got - want| <= MOVE_TOLERANCE * (largest |want - start| of the
 * array) + the float32 rounding of the stored values. prefix is "step1." or
 * "step2.", naming the members of expected.npz. */
static void assert_moved_as_torch(Network *net, Tensor **start, const NpzFile *expected,
                                  const char *prefix)
{
    for (int i = 0; i < network_num_params(net); i++) {
        char name[64], member[80];
        const Tensor *got = network_param(net, i, name, sizeof name)->value;
        snprintf(member, sizeof member, "%s%s", prefix, name);
        double *want = expected_values(expected, member, got->size);
        double largest_move = 0, largest_difference = 0;
        for (size_t k = 0; k < got->size; k++)
            largest_move = fmax(largest_move, fabs(want[k] - (double)start[i]->data[k]));
        ck_assert_msg(largest_move > 0, "%s: torch did not move it; the fixture is wrong", member);
        for (size_t k = 0; k < got->size; k++) {
            double difference = fabs((double)got->data[k] - want[k]);
            double allowed = MOVE_TOLERANCE * largest_move + 2 * FLOAT32_EPSILON * fabs(want[k]);
            ck_assert_msg(difference <= allowed,
                          "%s[%zu]: got %.9g, torch %.9g (started at %.9g; the array's largest "
                          "move is %.3g)", member, k, (double)got->data[k], want[k],
                          (double)start[i]->data[k], largest_move);
            largest_difference = fmax(largest_difference, difference / largest_move);
        }
        snprintf(member, sizeof member, "%s%s / move", prefix, name);
        report(member, largest_difference);
        free(want);
    }
}

/* Takes `steps` SGD steps with config on the fixture batch, from torch's
 * weights, and checks every parameter against expected.npz's prefix. */
static void train_and_compare(SgdConfig config, int steps, const char *prefix)
{
    Network *net = load_torch_weights();
    Batch batch = load_batch();
    NpzFile expected;
    load_expected(&expected);
    Tensor **start = copy_params(net);
    Optimizer *sgd = sgd_create(net, config);
    for (int s = 0; s < steps; s++) {
        network_loss(net, batch.x, batch.labels);
        network_loss_backward(net, batch.labels, NULL);
        optimizer_step(sgd, net);
    }
    assert_moved_as_torch(net, start, &expected, prefix);
    optimizer_free(sgd);
    free_params(start, network_num_params(net));
    npz_free(&expected);
    batch_free(&batch);
    network_free(net);
}

START_TEST(probabilities_and_loss_match_torch)
{
    Network *net = load_torch_weights();
    Batch batch = load_batch();
    NpzFile expected;
    load_expected(&expected);
    double loss = network_loss(net, batch.x, batch.labels);
    double *want_probs = expected_values(&expected, "probs", net->probs->size);
    double *want_loss = expected_values(&expected, "loss", 1);
    ck_assert_int_eq(net->probs->dim[0], batch.count);
    double largest = 0;
    for (size_t k = 0; k < net->probs->size; k++) {
        double difference = fabs((double)net->probs->data[k] - want_probs[k]);
        ck_assert_msg(difference <= PROBS_TOLERANCE, "probs[%zu][%zu]: got %.9g, torch %.9g",
                      k / 7, k % 7, (double)net->probs->data[k], want_probs[k]);
        largest = fmax(largest, difference);
    }
    report("probs", largest);
    ck_assert_msg(fabs(loss - want_loss[0]) <= LOSS_TOLERANCE, "loss: got %.9g, torch %.9g", loss,
                  want_loss[0]);
    report("loss", fabs(loss - want_loss[0]));
    free(want_probs);
    free(want_loss);
    npz_free(&expected);
    batch_free(&batch);
    network_free(net);
}
END_TEST

START_TEST(gradients_match_torch)
{
    Network *net = load_torch_weights();
    Batch batch = load_batch();
    NpzFile expected;
    load_expected(&expected);
    network_loss(net, batch.x, batch.labels);
    network_loss_backward(net, batch.labels, NULL);
    for (int i = 0; i < network_num_params(net); i++) {
        char name[64], member[80];
        const Tensor *got = network_param(net, i, name, sizeof name)->grad;
        snprintf(member, sizeof member, "grad.%s", name);
        double *want = expected_values(&expected, member, got->size);
        double scale = 0, largest = 0;
        for (size_t k = 0; k < got->size; k++) scale = fmax(scale, fabs(want[k]));
        ck_assert_msg(scale > 0, "%s: torch's gradient is all zero; the fixture is wrong", member);
        for (size_t k = 0; k < got->size; k++) {
            double difference = fabs((double)got->data[k] - want[k]);
            ck_assert_msg(difference <= GRADIENT_TOLERANCE * scale,
                          "%s[%zu]: got %.9g, torch %.9g (largest |gradient| %.3g)", member, k,
                          (double)got->data[k], want[k], scale);
            largest = fmax(largest, difference / scale);
        }
        snprintf(member, sizeof member, "grad.%s / largest", name);
        report(member, largest);
        free(want);
    }
    npz_free(&expected);
    batch_free(&batch);
    network_free(net);
}
END_TEST

START_TEST(one_plain_sgd_step_moves_every_parameter_as_torch)
{
    train_and_compare((SgdConfig){.lr = 0.1, .momentum = 0, .weight_decay = 0}, 1, "step1.");
}
END_TEST

/* The second step is where momentum shows (v = 0.9 v + g), and weight decay
 * must touch the weights and leave the biases alone. */
START_TEST(two_sgd_steps_with_momentum_and_weight_decay_move_every_parameter_as_torch)
{
    train_and_compare((SgdConfig){.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4}, 2, "step2.");
}
END_TEST

/* ---- batch normalisation, dropout 0 and the five optimizers -------------
 * make_bn_reference.py: conv, batchnorm, relu, maxpool, fc, batchnorm,
 * relu, dropout 0, fc, on numpy-written weights and running statistics. */

static Network *load_bn_network(void)
{
    Error err;
    Network *net = checkpoint_load(REFERENCE_DIR "bn_weights.npz", NULL, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(network_num_buffers(net), 4);
    return net;
}

START_TEST(batchnorm_network_in_evaluation_mode_gives_torchs_probabilities)
{
    Network *net = load_bn_network();
    Batch batch = load_batch();
    NpzFile expected;
    Error err;
    ck_assert_msg(npz_read(REFERENCE_DIR "bn_expected.npz", &expected, &err) == 0, "%s", err.msg);
    network_set_mode(net, LAYER_EVAL);
    network_loss(net, batch.x, batch.labels);
    double *want = expected_values(&expected, "eval.probs", net->probs->size);
    double largest = 0;
    for (size_t k = 0; k < net->probs->size; k++) {
        double difference = fabs((double)net->probs->data[k] - want[k]);
        ck_assert_msg(difference <= PROBS_TOLERANCE, "probs[%zu][%zu]: got %.9g, torch %.9g",
                      k / 7, k % 7, (double)net->probs->data[k], want[k]);
        largest = fmax(largest, difference);
    }
    report("bn eval probs", largest);
    free(want);
    npz_free(&expected);
    batch_free(&batch);
    network_free(net);
}
END_TEST

/* Compares one tensor's move from start with torch's, as assert_moved_as_torch. */
static void assert_tensor_moved(const Tensor *got, const Tensor *start, const NpzFile *expected,
                                const char *member, double tolerance)
{
    double *want = expected_values(expected, member, got->size);
    double largest_move = 0, largest_difference = 0;
    for (size_t k = 0; k < got->size; k++)
        largest_move = fmax(largest_move, fabs(want[k] - (double)start->data[k]));
    ck_assert_msg(largest_move > 0, "%s: torch did not move it; the fixture is wrong", member);
    for (size_t k = 0; k < got->size; k++) {
        double difference = fabs((double)got->data[k] - want[k]);
        double allowed = tolerance * largest_move + 2 * FLOAT32_EPSILON * fabs(want[k]);
        ck_assert_msg(difference <= allowed, "%s[%zu]: got %.9g, torch %.9g (started at %.9g; "
                      "largest move %.3g)", member, k, (double)got->data[k], want[k],
                      (double)start->data[k], largest_move);
        largest_difference = fmax(largest_difference, difference / largest_move);
    }
    char what[96];
    snprintf(what, sizeof what, "%s / move", member);
    report(what, largest_difference);
    free(want);
}

/* Three training steps with the named optimizer; every parameter and
 * running statistic must have moved as torch moved it. (The layers before
 * the batchnorms have no bias: make_bn_reference.py says why.) */
static void three_steps_as_torch(const char *name, OptimizerSettings settings)
{
    Network *net = load_bn_network();
    Batch batch = load_batch();
    NpzFile expected;
    Error err;
    ck_assert_msg(npz_read(REFERENCE_DIR "bn_expected.npz", &expected, &err) == 0, "%s", err.msg);
    const int params = network_num_params(net), buffers = network_num_buffers(net);
    Tensor **start = copy_params(net);
    Tensor **start_buffers = xcalloc((size_t)buffers, sizeof *start_buffers);
    for (int i = 0; i < buffers; i++) start_buffers[i] = tensor_copy(network_buffer(net, i, NULL, 0)->value);
    settings.name = name;
    Optimizer *opt = optimizer_create(net, &settings);
    network_set_mode(net, LAYER_TRAIN);
    for (int s = 0; s < 3; s++) {
        network_loss(net, batch.x, batch.labels);
        network_loss_backward(net, batch.labels, NULL);
        optimizer_step(opt, net);
    }
    for (int i = 0; i < params; i++) {
        char tensor[64], member[96];
        const Param *param = network_param(net, i, tensor, sizeof tensor);
        snprintf(member, sizeof member, "%s.%s", name, tensor);
        assert_tensor_moved(param->value, start[i], &expected, member, OPTIMIZER_TOLERANCE);
    }
    for (int i = 0; i < buffers; i++) {
        char tensor[64], member[96];
        const Tensor *got = network_buffer(net, i, tensor, sizeof tensor)->value;
        snprintf(member, sizeof member, "%s.%s", name, tensor);
        assert_tensor_moved(got, start_buffers[i], &expected, member, OPTIMIZER_TOLERANCE);
    }
    optimizer_free(opt);
    free_params(start, params);
    free_params(start_buffers, buffers);
    npz_free(&expected);
    batch_free(&batch);
    network_free(net);
}

static OptimizerSettings settings_for(const char *name, double lr, double weight_decay)
{
    OptimizerSettings s;
    ck_assert_int_eq(optimizer_defaults(name, &s), 0);
    s.lr = lr;
    s.weight_decay = weight_decay;
    return s;
}

START_TEST(three_sgd_steps_with_batchnorm_match_torch)
{
    three_steps_as_torch("sgd", settings_for("sgd", 0.05, 5e-4));
}
END_TEST

START_TEST(three_nesterov_steps_with_batchnorm_match_torch)
{
    three_steps_as_torch("nesterov", settings_for("nesterov", 0.05, 5e-4));
}
END_TEST

START_TEST(three_rmsprop_steps_with_batchnorm_match_torch)
{
    three_steps_as_torch("rmsprop", settings_for("rmsprop", 0.002, 5e-4));
}
END_TEST

START_TEST(three_adam_steps_with_batchnorm_match_torch)
{
    three_steps_as_torch("adam", settings_for("adam", 0.002, 5e-4));
}
END_TEST

START_TEST(three_adamw_steps_with_batchnorm_match_torch)
{
    three_steps_as_torch("adamw", settings_for("adamw", 0.002, 0.05));
}
END_TEST

Suite *reference_suite(void)
{
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, probabilities_and_loss_match_torch);
    tcase_add_test(tc, gradients_match_torch);
    tcase_add_test(tc, one_plain_sgd_step_moves_every_parameter_as_torch);
    tcase_add_test(tc, two_sgd_steps_with_momentum_and_weight_decay_move_every_parameter_as_torch);
    tcase_add_test(tc, batchnorm_network_in_evaluation_mode_gives_torchs_probabilities);
    tcase_add_test(tc, three_sgd_steps_with_batchnorm_match_torch);
    tcase_add_test(tc, three_nesterov_steps_with_batchnorm_match_torch);
    tcase_add_test(tc, three_rmsprop_steps_with_batchnorm_match_torch);
    tcase_add_test(tc, three_adam_steps_with_batchnorm_match_torch);
    tcase_add_test(tc, three_adamw_steps_with_batchnorm_match_torch);
    suite_add_tcase(s, tc);
    return s;
}
