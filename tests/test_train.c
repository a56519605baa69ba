/* Training: the loss at initialisation, the SGD rule on a hand-worked
 * case, learning (overfitting 20 faces), the NaN guard and what a
 * diverging run blames, the weight decay's limit, determinism, the
 * learning-rate schedules, the text chart, and the fingerprint of a run's
 * data. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "fc.h"
#include "network.h"
#include "optimizers.h"
#include "sgd.h"
#include "synth.h"
#include "testutil.h"
#include "schedule.h"
#include "train.h"

/* Narrower than the real network (32, 64, 256) so that the many steps
 * below take a fraction of a second in both builds; the layers and the
 * training code are the same. */
#define SMALL_CNN 48, 8, 16, 32, 7
#define SEED_CNN 48, 32, 64, 256, 7

/* count synthetic faces, the classes in turn 0, 1, ..., 6, 0, ... */
static void make_faces(Dataset *d, int count, uint64_t seed)
{
    dataset_alloc(d, count, "train");
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < count; i++) {
        d->labels[i] = i % NUM_CLASSES;
        synth_draw_face(d->labels[i], &rng, d->images + (size_t)i * IMAGE_PIXELS);
    }
}

/* seed_cnn(side, conv1, conv2, hidden, classes), He-initialised from seed */
#define he_network(widths, seed) he_network_of(seed_cnn(widths), seed)
static Network *he_network_of(Network *net, uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    network_init(net, &rng);
    return net;
}

static Param *find_param(Network *net, const char *wanted)
{
    char name[32];
    for (int i = 0; i < network_num_params(net); i++) {
        Param *p = network_param(net, i, name, sizeof name);
        if (!strcmp(name, wanted)) return p;
    }
    ck_abort_msg("no parameter %s", wanted);
    return NULL;
}

/* ---- the loss at initialisation ---------------------------------------- */

/* When every class gets the same score, softmax gives 1/7 to each and the
 * cross-entropy is -ln(1/7) = ln 7 = 1.9459..., whatever the image. With
 * fc2's weights at 0 (and its biases at 0, as He init leaves them) the
 * scores are all 0 whatever the layers below computed. */
START_TEST(loss_is_ln7_when_every_class_scores_the_same)
{
    Dataset faces;
    make_faces(&faces, 21, 3);
    Network *net = he_network(SEED_CNN, 1);
    tensor_zero(find_param(net, "fc2.w")->value);
    double accuracy;
    double loss = evaluate(net, &faces, 8, &accuracy);
    ck_assert_msg(fabs(loss - log(7.0)) < 1e-6, "loss %.9f, want ln 7 = %.9f", loss, log(7.0));
    network_free(net);
    dataset_free(&faces);
}
END_TEST

/* He init keeps the activations' variance steady, so the seven scores of
 * the real network start with a spread of about one unit rather than
 * nothing: the loss starts near ln 7 but above it (over seeds 1..5 on
 * 256 faces, from 2.0 to 2.7; a loss of 5 or 50 would mean exploding
 * activations, one below ln 7 a network that knows the answer before
 * training). Averaged over five seeds it must lie within 0.8 above ln 7. */
START_TEST(he_initialised_loss_is_near_ln7)
{
    Dataset faces;
    make_faces(&faces, 35, 5);
    double sum = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        Network *net = he_network(SEED_CNN, seed);
        double loss = evaluate(net, &faces, 35, NULL);
        ck_assert_msg(isfinite(loss) && loss > log(7.0) - 0.1 && loss < log(7.0) + 1.5,
                      "seed %d: initial loss %g", (int)seed, loss);
        sum += loss;
        network_free(net);
    }
    double mean = sum / 5;
    ck_assert_msg(mean > log(7.0) && mean < log(7.0) + 0.8, "mean initial loss %g", mean);
    dataset_free(&faces);
}
END_TEST

/* ---- the SGD rule -------------------------------------------------------- */

/* A 1 -> 1 fully connected layer: one weight w and one bias b. With
 * lr 0.1, momentum 0.9, weight decay 0.01, w0 = 1, b0 = 0.5 and gradients
 * 0.5 then 0.25 for both, by hand:
 *   step 1: g_w = 0.5 + 0.01 * 1 = 0.51     v_w = 0.51     w = 1 - 0.051 = 0.949
 *           g_b = 0.5 (no decay)            v_b = 0.5      b = 0.5 - 0.05 = 0.45
 *   step 2: g_w = 0.25 + 0.01 * 0.949 = 0.25949
 *           v_w = 0.9 * 0.51 + 0.25949 = 0.71849          w = 0.949 - 0.071849 = 0.877151
 *           v_b = 0.9 * 0.5 + 0.25 = 0.7                  b = 0.45 - 0.07 = 0.38 */
START_TEST(sgd_follows_the_hand_worked_momentum_and_decay_steps)
{
    Error err;
    Network *net = network_new(1, 1, 1);
    ck_assert_int_eq(network_add(net, fc_create(1, 1, &err), "fc", &err), 0);
    Param *w = find_param(net, "fc.w"), *b = find_param(net, "fc.b");
    w->value->data[0] = 1;
    b->value->data[0] = 0.5;
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});

    w->grad->data[0] = b->grad->data[0] = (real)0.5;
    optimizer_step(sgd, net);
    ck_assert_double_eq_tol(w->value->data[0], 0.949, 1e-6);
    ck_assert_double_eq_tol(b->value->data[0], 0.45, 1e-6);

    w->grad->data[0] = b->grad->data[0] = (real)0.25;
    optimizer_step(sgd, net);
    ck_assert_double_eq_tol(w->value->data[0], 0.877151, 1e-6);
    ck_assert_double_eq_tol(b->value->data[0], 0.38, 1e-6);
    optimizer_free(sgd);
    network_free(net);
}
END_TEST

/* ---- learning ------------------------------------------------------------- */

/* A network with far more parameters than there are images can learn
 * them by heart: if it cannot reach 100% on 20 faces, the gradients or the
 * update are wrong somewhere. */
START_TEST(training_overfits_twenty_faces)
{
    Dataset faces;
    make_faces(&faces, 20, 11);
    Network *net = he_network(SMALL_CNN, 2);
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = 0.02, .momentum = 0.9, .weight_decay = 0});
    Loader loader;
    loader_init(&loader, &faces, 20, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 1});
    double first_loss = 0, accuracy = 0;
    int epoch;
    Error err;
    for (epoch = 0; epoch < 80 && accuracy < 1; epoch++) {
        EpochResult r; /* one step: the batch is the whole set */
        ck_assert_int_eq(train_epoch(net, sgd, &loader, epoch, NULL, &r, &err), 0);
        if (epoch == 0) first_loss = r.loss;
        /* r.accuracy is measured before the step; check after it too */
        if (r.accuracy == 1) evaluate(net, &faces, 20, &accuracy);
    }
    double loss = evaluate(net, &faces, 20, &accuracy);
    ck_assert_msg(accuracy == 1.0, "training accuracy %g after %d steps (loss %g -> %g)",
                  accuracy, epoch, first_loss, loss);
    ck_assert_msg(loss < 0.5 * first_loss, "loss %g -> %g", first_loss, loss);
    loader_free(&loader);
    optimizer_free(sgd);
    network_free(net);
    dataset_free(&faces);
}
END_TEST

/* ---- the NaN guard -------------------------------------------------------- */

START_TEST(a_nan_loss_stops_training_before_the_update)
{
    Dataset faces;
    make_faces(&faces, 30, 4);
    Network *net = he_network(SMALL_CNN, 3);
    find_param(net, "fc2.b")->value->data[2] = NAN;
    Tensor *fc1_before = tensor_copy(find_param(net, "fc1.w")->value);
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = 0.01, .momentum = 0.9, .weight_decay = 0});
    Loader loader;
    loader_init(&loader, &faces, 10, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = 1});
    EpochResult r;
    Error err;
    ck_assert_int_eq(train_epoch(net, sgd, &loader, 4, NULL, &r, &err), -1);
    ck_assert_msg(strstr(err.msg, "epoch 5, batch 1 of 3: the loss is NaN"), "%s", err.msg);
    ck_assert_int_eq(r.images, 0);
    ck_assert_int_eq(memcmp(fc1_before->data, find_param(net, "fc1.w")->value->data,
                            fc1_before->size * sizeof(real)), 0);
    tensor_free(fc1_before);
    loader_free(&loader);
    optimizer_free(sgd);
    network_free(net);
    dataset_free(&faces);
}
END_TEST

/* ---- what a diverging run blames, and the weight decay's limit ------------- */

START_TEST(divergence_blames_the_weight_decay_when_its_step_alone_passes_zero)
{
    Error err;
    Network *net = network_new(1, 1, 1);
    ck_assert_int_eq(network_add(net, fc_create(1, 1, &err), "fc", &err), 0);
#define BLAMES_DECAY "the learning rate (%g) is probably too high, or the weight decay (%g) " \
                     "with it: each step's decay alone moves a weight by lr x weight decay = " \
                     "%g times itself, past zero"
    const struct { const char *optimizer; double lr, weight_decay; int blames_decay; } cases[] = {
        {"sgd", 0.02, 5e-4, 0}, {"sgd", 20, 0.1, 1}, {"nesterov", 1, 1, 1},
        {"nesterov", 1, 0.99, 0}, {"adamw", 0.5, 3, 1},
        /* adam and rmsprop divide the decay's gradient by its size: lr x wd is no step */
        {"adam", 0.001, 1e6, 0}, {"rmsprop", 0.01, 1e6, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        OptimizerSettings settings;
        ck_assert_int_eq(optimizer_defaults(cases[i].optimizer, &settings), 0);
        settings.lr = cases[i].lr;
        settings.weight_decay = cases[i].weight_decay;
        Optimizer *opt = optimizer_create(net, &settings);
        char text[200], want[200];
        divergence_suspect(opt, text, sizeof text);
        if (cases[i].blames_decay)
            snprintf(want, sizeof want, BLAMES_DECAY, cases[i].lr, cases[i].weight_decay,
                     cases[i].lr * cases[i].weight_decay);
        else
            snprintf(want, sizeof want, "the learning rate (%g) is probably too high", cases[i].lr);
        ck_assert_msg(!strcmp(text, want), "%s lr %g wd %g: '%s'", cases[i].optimizer,
                      cases[i].lr, cases[i].weight_decay, text);
        optimizer_free(opt);
    }
    network_free(net);
}
END_TEST

/* |w| after `steps` steps of the optimizer on one weight, from w = 1, with
 * no gradient at all: what the weight decay alone does to it. */
static double weight_after_decay_alone(const char *optimizer, double momentum, double product,
                                       int steps)
{
    Error err;
    Network *net = network_new(1, 1, 1);
    ck_assert_int_eq(network_add(net, fc_create(1, 1, &err), "fc", &err), 0);
    Param *w = find_param(net, "fc.w");
    w->value->data[0] = 1;
    OptimizerSettings settings;
    ck_assert_int_eq(optimizer_defaults(optimizer, &settings), 0);
    settings.momentum = momentum;
    settings.lr = 0.5;
    settings.weight_decay = product / settings.lr;
    Optimizer *opt = optimizer_create(net, &settings);
    for (int i = 0; i < steps; i++) {
        tensor_zero(w->grad);
        tensor_zero(find_param(net, "fc.b")->grad);
        optimizer_step(opt, net);
    }
    const double result = fabs((double)w->value->data[0]);
    optimizer_free(opt);
    network_free(net);
    return result;
}

/* Just below its limit, the decay alone shrinks a weight; just above, the
 * weight flips sign and grows, step after step: the limit is where the
 * optimizer's own update stops being stable, not a figure of speech. */
START_TEST(the_weight_decay_limit_is_where_the_decay_alone_stops_shrinking_weights)
{
    const struct { const char *optimizer; double momentum, limit; } cases[] = {
        {"sgd", 0.9, 3.8}, {"sgd", 0, 2}, {"nesterov", 0.9, 3.8 / 2.8},
        {"nesterov", 0.5, 1.5}, {"adamw", 0, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        OptimizerSettings settings;
        optimizer_defaults(cases[i].optimizer, &settings);
        settings.momentum = cases[i].momentum;
        const double limit = weight_decay_limit(&settings);
        ck_assert_msg(fabs(limit - cases[i].limit) < 1e-12, "%s momentum %g: limit %g, want %g",
                      cases[i].optimizer, cases[i].momentum, limit, cases[i].limit);
        const double below = weight_after_decay_alone(cases[i].optimizer, cases[i].momentum,
                                                      0.98 * limit, 100);
        const double above = weight_after_decay_alone(cases[i].optimizer, cases[i].momentum,
                                                      1.02 * limit, 100);
        ck_assert_msg(below < 0.1, "%s momentum %g at 0.98 x its limit: |w| %g after 100 steps",
                      cases[i].optimizer, cases[i].momentum, below);
        ck_assert_msg(above > 10 && isfinite(above),
                      "%s momentum %g at 1.02 x its limit: |w| %g after 100 steps",
                      cases[i].optimizer, cases[i].momentum, above);
    }
    /* adam and rmsprop have none: their step stays near lr, whatever the decay */
    const char *const unlimited[] = {"adam", "rmsprop"};
    for (int i = 0; i < 2; i++) {
        OptimizerSettings settings;
        optimizer_defaults(unlimited[i], &settings);
        ck_assert_double_eq(weight_decay_limit(&settings), 0);
        const double w = weight_after_decay_alone(unlimited[i], 0, 1e5, 100);
        ck_assert_msg(w <= 1, "%s with lr x weight decay 1e5: |w| %g after 100 steps",
                      unlimited[i], w);
    }
}
END_TEST

/* ---- determinism ---------------------------------------------------------- */

/* Two epochs with shuffling and augmentation from (seed 7, the same data):
 * returns the network to compare. */
static Network *train_twice(const Dataset *faces, uint64_t seed)
{
    Network *net = he_network(SMALL_CNN, seed);
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4});
    Loader loader;
    loader_init(&loader, faces, 16, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = seed});
    Error err;
    for (int epoch = 0; epoch < 2; epoch++) {
        EpochResult r;
        ck_assert_int_eq(train_epoch(net, sgd, &loader, epoch, NULL, &r, &err), 0);
    }
    loader_free(&loader);
    optimizer_free(sgd);
    return net;
}

static int same_parameters(Network *a, Network *b)
{
    for (int i = 0; i < network_num_params(a); i++) {
        const Tensor *x = network_param(a, i, NULL, 0)->value, *y = network_param(b, i, NULL, 0)->value;
        if (x->size != y->size || memcmp(x->data, y->data, x->size * sizeof(real))) return 0;
    }
    return 1;
}

START_TEST(the_same_seed_trains_the_same_weights_bit_for_bit)
{
    Dataset faces;
    make_faces(&faces, 40, 8);
    Network *a = train_twice(&faces, 7), *b = train_twice(&faces, 7), *c = train_twice(&faces, 8);
    ck_assert_msg(same_parameters(a, b), "two runs with seed 7 differ");
    ck_assert_msg(!same_parameters(a, c), "seeds 7 and 8 gave the same weights");
    network_free(a);
    network_free(b);
    network_free(c);
    dataset_free(&faces);
}
END_TEST

/* ---- evaluation ----------------------------------------------------------- */

/* The figures over a split do not depend on how it is cut into batches. */
START_TEST(evaluation_does_not_depend_on_the_batch_size)
{
    Dataset faces;
    make_faces(&faces, 23, 9);
    Network *net = he_network(SMALL_CNN, 4);
    double accuracy_4, accuracy_23;
    double loss_4 = evaluate(net, &faces, 4, &accuracy_4);
    double loss_23 = evaluate(net, &faces, 23, &accuracy_23);
    double loss_5 = evaluate(net, &faces, 5, NULL);
    ck_assert_double_eq_tol(loss_4, loss_23, 1e-5);
    ck_assert_double_eq_tol(loss_5, loss_23, 1e-5);
    ck_assert_double_eq(accuracy_4, accuracy_23);
    network_free(net);
    dataset_free(&faces);
}
END_TEST

START_TEST(count_correct_compares_the_largest_probability_with_the_label)
{
    Tensor *probs = tensor_new2(3, 3);
    const double p[9] = {0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.3, 0.4, 0.3};
    set_values(probs, p);
    ck_assert_int_eq(count_correct(probs, (const int[]){0, 2, 1}), 3);
    ck_assert_int_eq(count_correct(probs, (const int[]){1, 2, 0}), 1);
    tensor_free(probs);
}
END_TEST

/* ---- schedules ------------------------------------------------------------ */

START_TEST(learning_rate_schedules_follow_their_formulas)
{
    LrSchedule s;
    lr_schedule_init(&s, SCHEDULE_CONSTANT, 0.1, 8, 0, 0.5, 1);
    for (int e = 0; e < 8; e++) ck_assert_double_eq(lr_schedule_lr(&s, e), 0.1);
    lr_schedule_init(&s, SCHEDULE_STEP, 0.1, 8, 0, 0.5, 1);
    const double step[8] = {0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001};
    for (int e = 0; e < 8; e++) ck_assert_double_eq_tol(lr_schedule_lr(&s, e), step[e], 1e-15);
    lr_schedule_init(&s, SCHEDULE_COSINE, 0.1, 8, 0, 0.5, 1);
    ck_assert_double_eq_tol(lr_schedule_lr(&s, 0), 0.1, 1e-15);
    ck_assert_double_eq_tol(lr_schedule_lr(&s, 4), 0.05, 1e-15);
    ck_assert_double_eq_tol(lr_schedule_lr(&s, 2), 0.05 * (1 + sqrt(0.5)), 1e-15);
    ck_assert_int_eq(schedule_from_name("cosine"), SCHEDULE_COSINE);
    ck_assert_int_eq(schedule_from_name("plateau"), SCHEDULE_PLATEAU);
    ck_assert_int_eq(schedule_from_name("linear"), -1);
}
END_TEST

/* Warm-up: 3 epochs at 1/4, 2/4, 3/4 of lr, then cosine over the other 4:
 * t = 0..3 of T = 4, lr (1 + cos(pi t / 4)) / 2. */
START_TEST(a_warm_up_ramps_then_the_schedule_runs_over_the_rest)
{
    LrSchedule s;
    lr_schedule_init(&s, SCHEDULE_COSINE, 0.2, 7, 3, 0.5, 1);
    const double want[7] = {0.05, 0.1, 0.15, 0.2, 0.1 * (1 + sqrt(0.5)), 0.1,
                            0.1 * (1 - sqrt(0.5))};
    for (int e = 0; e < 7; e++) ck_assert_double_eq_tol(lr_schedule_lr(&s, e), want[e], 1e-15);
}
END_TEST

/* --time-budget fixes the number of epochs only after
 * LR_SCHEDULE_TIMED_EPOCHS(W) of them: their rates must be the same for
 * every number, for every schedule (else a budgeted run would not be the
 * run --epochs gives). */
START_TEST(the_timed_epochs_rates_do_not_depend_on_the_number_of_epochs)
{
    const Schedule kinds[] = {SCHEDULE_CONSTANT, SCHEDULE_STEP, SCHEDULE_COSINE, SCHEDULE_PLATEAU};
    for (int k = 0; k < 4; k++)
        for (int warmup = 0; warmup <= 3; warmup++)
            for (int e = 0; e < LR_SCHEDULE_TIMED_EPOCHS(warmup); e++) {
                LrSchedule few, many;
                lr_schedule_init(&few, kinds[k], 0.1, warmup + 1, warmup, 0.5, 1);
                lr_schedule_init(&many, kinds[k], 0.1, 500, warmup, 0.5, 1);
                ck_assert_double_eq(lr_schedule_lr(&few, e), lr_schedule_lr(&many, e));
            }
    /* and the epoch after them does depend on it (so the count is fixed no later) */
    LrSchedule a, b;
    lr_schedule_init(&a, SCHEDULE_COSINE, 0.1, 10, 1, 0.5, 1);
    lr_schedule_init(&b, SCHEDULE_COSINE, 0.1, 20, 1, 0.5, 1);
    ck_assert_double_ne(lr_schedule_lr(&a, LR_SCHEDULE_TIMED_EPOCHS(1)),
                        lr_schedule_lr(&b, LR_SCHEDULE_TIMED_EPOCHS(1)));
}
END_TEST

/* 2 epochs done in 130 s of a 600 s budget at 100 s each: 4 more fit
 * (470 / 100), 6 in all; capped by the most; none more once it is spent. */
START_TEST(a_budget_allows_the_epochs_that_fit_in_what_is_left)
{
    ck_assert_int_eq(epochs_within_budget(600, 130, 100, 2, 50), 6);
    ck_assert_int_eq(epochs_within_budget(600, 130, 100, 2, 5), 5);
    ck_assert_int_eq(epochs_within_budget(600, 200, 100, 2, 50), 6); /* 400 / 100: exactly 4 */
    ck_assert_int_eq(epochs_within_budget(600, 201, 100, 2, 50), 5);
    ck_assert_int_eq(epochs_within_budget(600, 600, 100, 2, 50), 2);
    ck_assert_int_eq(epochs_within_budget(600, 900, 100, 3, 50), 3);
    ck_assert_int_eq(epochs_within_budget(1e9, 1, 1e-3, 1, 100000), 100000); /* no overflow */
}
END_TEST

/* Plateau, factor 0.5, patience 2, on a hand-made accuracy curve: the lr
 * halves after the third epoch in a row without a gain, and a gain of less
 * than 1e-4 of the best is no gain (PyTorch's rel threshold). */
START_TEST(plateau_lowers_the_rate_after_patience_epochs_without_gain)
{
    LrSchedule s;
    lr_schedule_init(&s, SCHEDULE_PLATEAU, 0.1, 12, 1, 0.5, 2);
    /* epoch:            0     1     2     3     4       5     6     7     8     9 */
    const double acc[] = {0.1, 0.50, 0.60, 0.60, 0.60005, 0.55, 0.61, 0.61, 0.61, 0.61};
    const double lr[] = {0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025};
    for (int e = 0; e < 10; e++) {
        ck_assert_msg(fabs(lr_schedule_lr(&s, e) - lr[e]) < 1e-15, "epoch %d: lr %g, want %g", e,
                      lr_schedule_lr(&s, e), lr[e]);
        lr_schedule_observe(&s, e, acc[e]);
    }
    ck_assert_double_eq_tol(lr_schedule_lr(&s, 10), lr[10], 1e-15);
}
END_TEST

/* ---- the text chart ------------------------------------------------------- */

/* A rising line from 0 to 1 over 5 points on a 5 x 3 grid: one mark per
 * column, bottom-left to top-right, and the range printed at the side. */
START_TEST(text_chart_draws_a_rising_line_corner_to_corner)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    const double rising[5] = {0, 0.25, 0.5, 0.75, 1};
    text_chart_lines(out, "title", (const double *const[]){rising}, (const char *const[]){"up"}, 1,
                     5, 8, 3);
    fclose(out);
    /* width 8 is the minimum; x = c * 4/7 interpolates; rows: 1 at top, 0 at the bottom */
    ck_assert_msg(strstr(text, "title\n"), "%s", text);
    ck_assert_msg(strstr(text, "        1 |      **\n"), "%s", text);
    ck_assert_msg(strstr(text, "          |  ****  \n"), "%s", text);
    ck_assert_msg(strstr(text, "        0 |**      \n"), "%s", text);
    ck_assert_msg(strstr(text, "* up"), "%s", text);
    free(text);
}
END_TEST

START_TEST(class_weights_follow_the_training_counts)
{
    /* 10 images: 6 of class 0, 3 of class 1, 1 of class 2, none of class 3.
     * balanced: N / (K n_k) = 10 / (4 * 6), 10 / (4 * 3), 10 / 4, and 1 for the
     * absent class; sqrt: their square roots; none: all 1. */
    Dataset d;
    dataset_alloc_shape(&d, 10, 1, 2, 2, 4, "train");
    const int labels[10] = {0, 1, 0, 2, 0, 1, 0, 0, 1, 0};
    memcpy(d.labels, labels, sizeof labels);
    real w[4];
    const double balanced[4] = {10.0 / 24, 10.0 / 12, 10.0 / 4, 1};
    class_weights_compute(&d, CLASS_WEIGHTS_BALANCED, 4, w);
    for (int k = 0; k < 4; k++) ck_assert(fabs(w[k] - balanced[k]) < 1e-6);
    class_weights_compute(&d, CLASS_WEIGHTS_SQRT, 4, w);
    for (int k = 0; k < 4; k++) ck_assert(fabs(w[k] - sqrt(balanced[k])) < 1e-6);
    class_weights_compute(&d, CLASS_WEIGHTS_NONE, 4, w);
    for (int k = 0; k < 4; k++) ck_assert(w[k] == 1);
    ck_assert_int_eq(class_weights_from_name("balanced"), CLASS_WEIGHTS_BALANCED);
    ck_assert_int_eq(class_weights_from_name("sqrt"), CLASS_WEIGHTS_SQRT);
    ck_assert_int_eq(class_weights_from_name("none"), CLASS_WEIGHTS_NONE);
    ck_assert_int_eq(class_weights_from_name("Balanced"), -1);
    dataset_free(&d);
}
END_TEST

/* ---- the fingerprint of a run's data --------------------------------------- */

/* Two images of 1x2x2 pixels 0..7, labels 1 and 0, in two classes; val the same */
static void tiny_splits(Dataset *train, Dataset *val)
{
    Dataset *splits[2] = {train, val};
    for (int k = 0; k < 2; k++) {
        dataset_alloc_shape(splits[k], 2, 1, 2, 2, 2, k ? "val" : "train");
        for (int i = 0; i < 8; i++) splits[k]->images[i] = (uint8_t)i;
        splits[k]->labels[0] = 1;
        splits[k]->labels[1] = 0;
    }
}

START_TEST(the_data_fingerprint_is_the_crc_of_pixels_then_little_endian_labels)
{
    Dataset train, val;
    tiny_splits(&train, &val);
    DataFingerprint fp;
    data_fingerprint(&train, &val, &fp);
    /* Python: zlib.crc32(bytes(range(8)) + (1).to_bytes(4, 'little') + (0).to_bytes(4, 'little'))
     * and zlib.crc32(b'class 0\0class 1\0'): the same on any machine and in
     * either build, so a resume file is checked the same way wherever it goes */
    ck_assert_int_eq(fp.train_images, 2);
    ck_assert_int_eq(fp.val_images, 2);
    ck_assert_uint_eq(fp.train_crc, 0xde60b2f3u);
    ck_assert_uint_eq(fp.val_crc, 0xde60b2f3u);
    ck_assert_uint_eq(fp.names_crc, 0xb89c37d0u);
    dataset_free(&train);
    dataset_free(&val);
}
END_TEST

START_TEST(other_data_differs_from_the_runs_by_what_changed)
{
    Dataset train, val;
    tiny_splits(&train, &val);
    DataFingerprint had, now;
    data_fingerprint(&train, &val, &had);
    char text[200];
    ck_assert_int_eq(data_fingerprint_differs(&had, &had, text, sizeof text), 0);

    train.images[5] = 200; /* one pixel */
    data_fingerprint(&train, &val, &now);
    ck_assert_int_eq(data_fingerprint_differs(&now, &had, text, sizeof text), 1);
    ck_assert_str_eq(text, "same sizes (2 training, 2 validation images), different contents: "
                           "the training images or labels");
    train.images[5] = 5;
    val.labels[1] = 1; /* one label */
    data_fingerprint(&train, &val, &now);
    ck_assert_int_eq(data_fingerprint_differs(&now, &had, text, sizeof text), 1);
    ck_assert_str_eq(text, "same sizes (2 training, 2 validation images), different contents: "
                           "the validation images or labels");
    val.labels[1] = 0;
    train.class_names[1][0] = 'C';
    data_fingerprint(&train, &val, &now);
    ck_assert_int_eq(data_fingerprint_differs(&now, &had, text, sizeof text), 1);
    ck_assert_str_eq(text, "the same images and labels, different class names");

    DataFingerprint more = had;
    more.train_images = 200;
    ck_assert_int_eq(data_fingerprint_differs(&more, &had, text, sizeof text), 1);
    ck_assert_str_eq(text, "200 training images, the run had 2");
    more.val_images = 50;
    ck_assert_int_eq(data_fingerprint_differs(&more, &had, text, sizeof text), 1);
    ck_assert_str_eq(text, "200 training and 50 validation images, the run had 2 and 2");
    dataset_free(&train);
    dataset_free(&val);
}
END_TEST

Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, class_weights_follow_the_training_counts);
    tcase_add_test(tc, loss_is_ln7_when_every_class_scores_the_same);
    tcase_add_test(tc, he_initialised_loss_is_near_ln7);
    tcase_add_test(tc, sgd_follows_the_hand_worked_momentum_and_decay_steps);
    tcase_add_test(tc, training_overfits_twenty_faces);
    tcase_add_test(tc, a_nan_loss_stops_training_before_the_update);
    tcase_add_test(tc, divergence_blames_the_weight_decay_when_its_step_alone_passes_zero);
    tcase_add_test(tc, the_weight_decay_limit_is_where_the_decay_alone_stops_shrinking_weights);
    tcase_add_test(tc, the_same_seed_trains_the_same_weights_bit_for_bit);
    tcase_add_test(tc, evaluation_does_not_depend_on_the_batch_size);
    tcase_add_test(tc, count_correct_compares_the_largest_probability_with_the_label);
    tcase_add_test(tc, learning_rate_schedules_follow_their_formulas);
    tcase_add_test(tc, a_warm_up_ramps_then_the_schedule_runs_over_the_rest);
    tcase_add_test(tc, the_timed_epochs_rates_do_not_depend_on_the_number_of_epochs);
    tcase_add_test(tc, a_budget_allows_the_epochs_that_fit_in_what_is_left);
    tcase_add_test(tc, plateau_lowers_the_rate_after_patience_epochs_without_gain);
    tcase_add_test(tc, text_chart_draws_a_rising_line_corner_to_corner);
    tcase_add_test(tc, the_data_fingerprint_is_the_crc_of_pixels_then_little_endian_labels);
    tcase_add_test(tc, other_data_differs_from_the_runs_by_what_changed);
    suite_add_tcase(s, tc);
    return s;
}
