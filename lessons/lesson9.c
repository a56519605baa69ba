/* Lesson 9: batch normalisation and dropout.
 *
 * Two layers that behave differently in training and in evaluation:
 *   - batchnorm (layers/batchnorm.h) rescales each channel of a batch to
 *     mean 0 and variance 1, then by a learned gamma and beta; in
 *     evaluation it uses running averages of the statistics instead;
 *   - dropout (layers/dropout.h) zeroes a random half (say) of its inputs
 *     in training and doubles the rest; in evaluation it passes them on.
 * The lesson shows what batchnorm does to a conv layer's outputs on the
 * faces, works its backward pass by hand on four numbers, checks both
 * layers' gradients in both modes, trains the same small CNN with and
 * without them, shows the classic bug of evaluating in training mode, and
 * dropout's training masks as an ensemble that evaluation averages.
 *
 * Built with the double library: the gradient checks need it. Training in
 * double is slower than in float, so the CNN trained here is a small one
 * (16 and 32 filters, fc 128) and the training is short (4 epochs, the
 * learning rate falling along a cosine). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "batchnorm.h"
#include "classes.h"
#include "conv.h"
#include "dropout.h"
#include "lesson_common.h"
#include "network.h"
#include "schedule.h"
#include "sgd.h"
#include "train.h"

#define HIST_CHANNELS 4   /* channels whose histograms are drawn */
#define HIST_BINS 64

/* The two networks trained in section 4: the same layers, one with
 * batchnorm after every conv and fc layer and dropout before the last. */
static const char plain_arch[] =
    "conv 16 3x3 pad 1, relu, maxpool 2, conv 32 3x3 pad 1, relu, maxpool 2, fc 128, relu, fc 7";
static const char normalised_arch_format[] =
    "conv 16 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, "
    "conv 32 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, "
    "fc 128 nobias, batchnorm, relu, dropout %g, fc 7";

static Network *build(const char *description, const char *origin)
{
    Error err;
    Network *net = arch_build_text(description, origin, 1, IMAGE_SIDE, IMAGE_SIDE, NUM_CLASSES,
                                   &err);
    if (!net) {
        fprintf(stderr, "lesson9: %s\n", err.msg);
        exit(1);
    }
    return net;
}

/* The first `count` faces of data as one batch x (count, 1, 48, 48). */
static void first_faces(const Dataset *data, int count, Tensor *x, int *labels)
{
    int *indices = xmalloc((size_t)count * sizeof *indices);
    for (int i = 0; i < count; i++) indices[i] = i;
    loader_fill_batch(data, indices, count, NULL, NULL, x, labels);
    free(indices);
}

/* ---- 1. what batchnorm does to a layer's outputs ------------------------- */

typedef struct {
    double mean, std, positive; /* positive: fraction of values > 0 */
} Moments;

/* Channel c of an (N, C, H, W) tensor. */
static Moments channel_moments(const Tensor *t, int c)
{
    const int N = t->dim[0], C = t->dim[1];
    const size_t HW = tensor_item_size(t) / (size_t)C;
    double sum = 0, square = 0, positive = 0;
    for (int n = 0; n < N; n++) {
        const real *v = t->data + ((size_t)n * C + c) * HW;
        for (size_t k = 0; k < HW; k++) sum += v[k];
    }
    const double count = (double)N * (double)HW, mean = sum / count;
    for (int n = 0; n < N; n++) {
        const real *v = t->data + ((size_t)n * C + c) * HW;
        for (size_t k = 0; k < HW; k++) {
            square += (v[k] - mean) * (v[k] - mean);
            positive += v[k] > 0;
        }
    }
    return (Moments){mean, sqrt(square / count), positive / count};
}

/* Density histogram of channel c over bins of [lo, hi): fraction of the
 * channel's values per unit of x, so the area under each curve is 1. */
static void channel_histogram(const Tensor *t, int c, double lo, double hi, double *density)
{
    const int N = t->dim[0], C = t->dim[1];
    const size_t HW = tensor_item_size(t) / (size_t)C;
    const double width = (hi - lo) / HIST_BINS;
    for (int b = 0; b < HIST_BINS; b++) density[b] = 0;
    for (int n = 0; n < N; n++) {
        const real *v = t->data + ((size_t)n * C + c) * HW;
        for (size_t k = 0; k < HW; k++) {
            int b = (int)floor((v[k] - lo) / width);
            if (b >= 0 && b < HIST_BINS) density[b] += 1;
        }
    }
    for (int b = 0; b < HIST_BINS; b++) density[b] /= (double)N * (double)HW * width;
}

static void section_distributions(Lesson *lesson, const Dataset *train, Rng *rng)
{
    lesson_section(lesson, "What batchnorm does to a conv layer's outputs");
    const int count = train->count < 64 ? train->count : 64;
    /* conv then batchnorm, nothing after: built layer by layer, since a
     * description must end in one score per class */
    Error err;
    Network *net = network_new(1, IMAGE_SIDE, IMAGE_SIDE);
    if (network_add(net, conv_create(1, 8, 3, 3, 1, 1, &err), "conv1", &err) ||
        network_add(net, batchnorm_create(8, &err), "bn1", &err)) {
        fprintf(stderr, "lesson9: %s\n", err.msg);
        exit(1);
    }
    network_init(net, rng); /* He weights; the biases stay 0 */
    Tensor *x = tensor_new4(count, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)count * sizeof *labels);
    first_faces(train, count, x, labels);
    network_forward(net, x); /* training mode: the batch's own statistics */
    const Tensor *conv = net->out[0], *normalised = net->out[1];

    lesson_say("Eight He-initialised 3x3 filters (no bias) on %d faces, then batchnorm in "
               "training mode with gamma = 1 and beta = 0, its starting values. For each "
               "channel, the mean and standard deviation of its %d x 48 x 48 = %d values, "
               "and the fraction above 0 (what a ReLU after it would let through):",
               count, count, count * IMAGE_PIXELS);
    printf("  %7s | %9s %9s %8s | %9s %9s %8s\n", "", "conv out", "", "", "batchnorm", "", "");
    printf("  %7s | %9s %9s %8s | %9s %9s %8s\n", "channel", "mean", "std", "> 0", "mean", "std",
           "> 0");
    Moments before[8], after[8];
    for (int c = 0; c < 8; c++) {
        before[c] = channel_moments(conv, c);
        after[c] = channel_moments(normalised, c);
        printf("  %7d | %9.4f %9.4f %7.1f%% | %9.4f %9.4f %7.1f%%\n", c, before[c].mean,
               before[c].std, 100 * before[c].positive, after[c].mean, after[c].std,
               100 * after[c].positive);
    }
    printf("\n");
    lesson_say("Before: every channel has its own centre and spread. The pixels are 0..1 and "
               "a face is mostly smooth, so a filter's output is roughly the local brightness "
               "times the sum of its nine weights: a filter whose weights add up to a positive "
               "number gives positive values almost everywhere (a ReLU after it would be the "
               "identity), one whose weights add up to a negative number gives mostly negative "
               "values (a ReLU would zero them: a dead channel). After: mean 0 and standard "
               "deviation 1 in every channel (to rounding; eps = 1e-5 makes it a hair under "
               "1), whatever the filter, so the layer above always sees inputs of the same "
               "size. gamma and beta are then learned, and can move each channel to the "
               "centre and spread that suit it.");

    /* The four channels with the lowest and highest means and two between. */
    int order[8];
    for (int c = 0; c < 8; c++) order[c] = c;
    for (int i = 1; i < 8; i++)
        for (int j = i; j > 0 && before[order[j]].mean < before[order[j - 1]].mean; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    const int shown[HIST_CHANNELS] = {order[0], order[2], order[5], order[7]};
    const double lo = -4, hi = 4;
    double density[2 * HIST_CHANNELS][HIST_BINS];
    for (int k = 0; k < HIST_CHANNELS; k++) {
        channel_histogram(conv, shown[k], lo, hi, density[2 * k]);
        channel_histogram(normalised, shown[k], lo, hi, density[2 * k + 1]);
    }
    char data_path[256], png_path[256];
    lesson_out_path(lesson, "histograms.dat", data_path, sizeof data_path);
    FILE *f = fopen(data_path, "w");
    if (!f) {
        perror(data_path);
        exit(1);
    }
    fprintf(f, "# bin_centre");
    for (int k = 0; k < HIST_CHANNELS; k++)
        fprintf(f, " ch%d_conv ch%d_batchnorm", shown[k], shown[k]);
    fprintf(f, "   (density: fraction of the channel's values per unit)\n");
    for (int b = 0; b < HIST_BINS; b++) {
        fprintf(f, "%.4f", lo + (b + 0.5) * (hi - lo) / HIST_BINS);
        for (int s = 0; s < 2 * HIST_CHANNELS; s++) fprintf(f, " %.6f", density[s][b]);
        fprintf(f, "\n");
    }
    fclose(f);
    char titles[2 * HIST_CHANNELS][48];
    ChartSpec spec = {.title = "One conv layer on the faces: each channel before (solid) and "
                               "after batchnorm (dashed)",
                      .xlabel = "value",
                      .ylabel = "density (fraction of values per unit)",
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = 2 * HIST_CHANNELS,
                      .large = 1};
    for (int k = 0; k < HIST_CHANNELS; k++)
        for (int after_bn = 0; after_bn < 2; after_bn++) {
            int s = 2 * k + after_bn;
            snprintf(titles[s], sizeof titles[s], "channel %d, %s", shown[k],
                     after_bn ? "after batchnorm" : "conv output");
            spec.series_titles[s] = titles[s];
            spec.y_columns[s] = 2 + s;
            spec.style[s] = (ChartSeriesStyle){.colour = 1 + k, .dashed = after_bn, .no_points = 1};
        }
    lesson_out_path(lesson, "histograms.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &spec, &err), png_path,
                      "histograms of four channels before and after batchnorm", &err);
    if (lesson->terminal) {
        const double *series[] = {density[0], density[1], density[6], density[7]};
        char names[4][48];
        snprintf(names[0], sizeof names[0], "ch %d conv", shown[0]);
        snprintf(names[1], sizeof names[1], "ch %d batchnorm", shown[0]);
        snprintf(names[2], sizeof names[2], "ch %d conv", shown[3]);
        snprintf(names[3], sizeof names[3], "ch %d batchnorm", shown[3]);
        const char *name_list[] = {names[0], names[1], names[2], names[3]};
        printf("\n");
        text_chart_lines(stdout, "histograms, x from -4 to 4", series, name_list, 4, HIST_BINS,
                         64, 12);
    }
    printf("\n");
    free(labels);
    tensor_free(x);
    network_free(net);
}

/* ---- 2. the backward pass by hand ----------------------------------------- */

static void section_by_hand(Lesson *lesson)
{
    lesson_section(lesson, "The backward pass by hand, on four numbers");
    const int M = 4;
    const double xs[4] = {3, 9, 11, 17}, douts[4] = {1, -1, 0, 2};
    const double gamma = 2, beta = 1;
    lesson_say("One feature of a batch of M = 4 images: x = (3, 9, 11, 17), gamma = 2, "
               "beta = 1. The forward pass in training mode:");
    double mean = 0, var = 0;
    for (int i = 0; i < M; i++) mean += xs[i] / M;
    for (int i = 0; i < M; i++) var += (xs[i] - mean) * (xs[i] - mean) / M;
    const double s = 1 / sqrt(var + BATCHNORM_EPS);
    printf("    mean = (3 + 9 + 11 + 17) / 4 = %g\n", mean);
    printf("    var  = ((-7)^2 + (-1)^2 + 1^2 + 7^2) / 4 = 100 / 4 = %g   (divided by M: biased)\n",
           var);
    printf("    s    = 1 / sqrt(var + eps) = 1 / sqrt(25.00001) = %.8f  (about 1/5)\n", s);
    printf("    xhat = (x - mean) s = (-7, -1, 1, 7) / 5 = (-1.4, -0.2, 0.2, 1.4)\n");
    printf("    out  = gamma xhat + beta = (-1.8, 0.6, 1.4, 3.8)\n\n");

    lesson_say("Backward, with dout = (1, -1, 0, 2) arriving from above. The two parameters "
               "are easy: dbeta = sum dout = 2 and dgamma = sum dout * xhat = -1.4 + 0.2 + 0 + "
               "2.8 = 1.6. For dx, each x_j moves its own xhat_j directly, and also the mean "
               "and the variance, which every xhat_i depends on. With g = gamma dout = "
               "(2, -2, 0, 4), the gradient reaching xhat:");
    printf("    dx_j = (s / M) (M g_j  -  sum_i g_i  -  xhat_j sum_i g_i xhat_i)\n"
           "           direct      through the mean   through the variance\n\n");
    lesson_say("Here sum g = 4 and sum g xhat = 2(-1.4) - 2(-0.2) + 0 + 4(1.4) = 3.2, so "
               "s/M = 0.05 and each dx_j = 0.2 g_j - 0.2 - 0.16 xhat_j. Term by term:");

    double g[4], xhat[4], sum_g = 0, sum_gx = 0;
    for (int i = 0; i < M; i++) {
        xhat[i] = (xs[i] - mean) * s;
        g[i] = gamma * douts[i];
        sum_g += g[i];
        sum_gx += g[i] * xhat[i];
    }
    /* The library's layer on the same numbers. */
    Error err;
    Layer *layer = batchnorm_create(1, &err);
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    bn->gamma->data[0] = (real)gamma;
    bn->beta->data[0] = (real)beta;
    Tensor *x = tensor_new2(M, 1), *out = tensor_new2(M, 1), *dout = tensor_new2(M, 1);
    Tensor *dx = tensor_new2(M, 1);
    for (int i = 0; i < M; i++) {
        x->data[i] = (real)xs[i];
        dout->data[i] = (real)douts[i];
    }
    layer_forward(layer, x, out);
    layer_backward(layer, dout, dx);

    printf("  %2s %5s %6s %6s %5s | %8s %10s %10s | %9s %11s\n", "j", "x", "xhat", "out", "dout",
           "direct", "via mean", "via var", "dx", "library dx");
    double worst = 0, sum_dx = 0, sum_dx_xhat = 0;
    for (int j = 0; j < M; j++) {
        double direct = s * g[j], via_mean = -s / M * sum_g, via_var = -s / M * xhat[j] * sum_gx;
        double total = direct + via_mean + via_var;
        sum_dx += total;
        sum_dx_xhat += total * xhat[j];
        worst = fmax(worst, fabs(total - dx->data[j]));
        printf("  %2d %5g %6.2f %6.2f %5g | %8.4f %10.4f %10.4f | %9.4f %11.4f\n", j + 1, xs[j],
               xhat[j], out->data[j], douts[j], direct, via_mean, via_var, total, dx->data[j]);
    }
    printf("\n  dgamma: by hand %.4f, library %.4f;  dbeta: by hand %.4f, library %.4f\n",
           sum_gx / gamma, bn->dgamma->data[0], sum_g / gamma, bn->dbeta->data[0]);
    printf("  largest |dx by hand - library dx| = %.1e\n\n", worst);
    if (worst > 1e-12) lesson->failures++;

    lesson_say("Two checks on the dx column: it adds up to 0 (here %.1e), because moving every "
               "x by the same amount moves the mean with it and changes no xhat; and sum dx_j "
               "xhat_j is 0 too, or nearly (here %.1e), because stretching every x away from "
               "the mean is undone by the variance; not quite, since eps keeps the variance of "
               "xhat a hair under 1. Without the two terms through the statistics, dx "
               "would be the 'direct' column alone, (0.4, -0.4, 0, 0.8): right for evaluation "
               "mode, where mean and variance are constants, and wrong in training.",
               sum_dx, sum_dx_xhat);
    lesson_say("The forward pass also moved the running statistics that evaluation will use "
               "(momentum 0.1, the variance unbiased: divided by M - 1):");
    printf("    running_mean = 0.9 * 0 + 0.1 * 10          = %.4f   (library %.4f)\n",
           0.1 * mean, bn->running_mean->data[0]);
    printf("    running_var  = 0.9 * 1 + 0.1 * 100 / 3     = %.4f   (library %.4f)\n\n",
           0.9 + 0.1 * var * M / (M - 1), bn->running_var->data[0]);
    tensor_free(x);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    layer_free(layer);
}

/* ---- 3. gradient checks in both modes -------------------------------------- */

/* x with a mean and a spread of its own in each channel, as real layers
 * feed batchnorm. */
static void fill_channels(Tensor *x, Rng *rng)
{
    const int N = x->dim[0], C = x->dim[1];
    const size_t HW = tensor_item_size(x) / (size_t)C;
    for (int c = 0; c < C; c++) {
        double centre = rng_range(rng, -3, 3), spread = rng_range(rng, 0.3, 3);
        for (int n = 0; n < N; n++)
            for (size_t k = 0; k < HW; k++)
                x->data[((size_t)n * C + c) * HW + k] = (real)(centre + spread * rng_normal(rng));
    }
}

static void set_gamma_beta(Layer *layer, Rng *rng)
{
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    for (int c = 0; c < bn->channels; c++) {
        bn->gamma->data[c] = (real)rng_range(rng, 0.5, 2);
        bn->beta->data[c] = (real)rng_range(rng, -1, 1);
    }
}

typedef struct {
    Layer *layer;
    const Tensor *x;
} TrainForward;

/* The function the wrong backward claims to differentiate: the layer's
 * forward in training mode. */
static void train_forward(void *context, Tensor *out)
{
    TrainForward *f = context;
    f->layer->mode = LAYER_TRAIN;
    layer_forward(f->layer, f->x, out);
}

static void section_gradcheck(Lesson *lesson, Rng *rng)
{
    lesson_section(lesson, "Gradient checks in training and in evaluation mode");
    lesson_say("As in lessons 3-5: L = sum(out * dout) for a random dout, every entry of x, "
               "gamma and beta nudged by h = 1e-5 both ways, in double. The inputs have a "
               "different mean and spread in each channel, and gamma and beta are not 1 and 0, "
               "so that every term of the formula matters.");
    Error err;
    Layer *layer = batchnorm_create(3, &err);
    set_gamma_beta(layer, rng);
    Tensor *x = tensor_new4(4, 3, 5, 5);
    fill_channels(x, rng);

    printf("  batchnorm after a conv, x (4, 3, 5, 5), training mode (statistics of the batch):\n");
    layer->mode = LAYER_TRAIN;
    lesson_gradcheck_layer(lesson, layer, x, rng);
    printf("\n  the same layer in evaluation mode (its running statistics):\n");
    layer->mode = LAYER_EVAL;
    lesson_gradcheck_layer(lesson, layer, x, rng);

    Layer *fc_bn = batchnorm_create(5, &err);
    set_gamma_beta(fc_bn, rng);
    Tensor *features = tensor_new2(6, 5);
    for (size_t i = 0; i < features->size; i++) features->data[i] = (real)(2 * rng_normal(rng) + 1);
    printf("\n  batchnorm after an fc layer, x (6, 5), training mode "
           "(statistics over the 6 rows):\n");
    lesson_gradcheck_layer(lesson, fc_bn, features, rng);
    printf("\n");
    /* The classic mistake: the evaluation-mode formula dx = gamma s dout
     * used in training. The layer's own backward in evaluation mode after a
     * training forward computes exactly that (with the batch's s). */
    lesson_say("Now a deliberately wrong backward: the evaluation formula dx = gamma s dout, "
               "without the terms through the mean and the variance, checked against the "
               "training-mode forward pass it claims to differentiate:");
    Tensor *out = tensor_new2(1, 1), *dout = tensor_new2(1, 1), *dx = tensor_new2(1, 1);
    layer->mode = LAYER_TRAIN;
    layer_forward(layer, x, out);
    tensor_resize(dout, out->ndim, out->dim);
    for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)rng_normal(rng);
    layer->mode = LAYER_EVAL;
    layer_backward(layer, dout, dx);
    TrainForward f = {layer, x};
    GradcheckRow wrong = gradcheck_tensor(train_forward, &f, x, dout, dx, "batchnorm",
                                          "dx wrong");
    int wrong_failed = lesson_print_gradcheck(&wrong, 1);
    printf("\n");
    if (!wrong_failed) lesson->failures++; /* the check must catch it */
    lesson_say("It fails by far, as it must: the check sees the whole function. dgamma and "
               "dbeta would still pass (they do not involve the missing terms), so a check "
               "of the parameters alone would not catch it.");

    Layer *drop = dropout_create(0.5, &err);
    Tensor *h = tensor_new2(4, 10);
    gradcheck_fill_away_from_zero(h, 0.1, rng);
    drop->noise_key = 12345; /* the mask: fixed while the key stays */
    printf("  dropout p = 0.5, x (4, 10), training mode (one fixed mask):\n");
    lesson_gradcheck_layer(lesson, drop, h, rng);
    printf("\n  dropout in evaluation mode (the identity):\n");
    drop->mode = LAYER_EVAL;
    lesson_gradcheck_layer(lesson, drop, h, rng);
    printf("\n");
    lesson_say("Dropout's check needs its mask held still: it comes from the layer's noise key "
               "and each value's position, so every forward pass of the check draws the same "
               "mask. Its gradient is the mask times 1/(1 - p) = 2: exact, so the errors are "
               "0 or rounding.");
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    tensor_free(x);
    tensor_free(features);
    tensor_free(h);
    layer_free(layer);
    layer_free(fc_bn);
    layer_free(drop);
}

/* ---- 4. training with and without ----------------------------------------- */

typedef struct {
    const char *name;
    char arch[512];
    double *train_loss, *train_accuracy, *val_loss, *val_accuracy; /* (epochs,) */
    double seconds;
    Network *net;
} Run;

typedef struct {
    int epochs;
    double lr;
    double dropout;
    int images;
    int constant_lr;   /* 1: no schedule, the same lr throughout */
} Settings;

static void train_run(const Lesson *lesson, Run *run, const Settings *s, const Dataset *train,
                      const Dataset *val)
{
    run->train_loss = xcalloc((size_t)s->epochs, sizeof(double));
    run->train_accuracy = xcalloc((size_t)s->epochs, sizeof(double));
    run->val_loss = xcalloc((size_t)s->epochs, sizeof(double));
    run->val_accuracy = xcalloc((size_t)s->epochs, sizeof(double));
    run->net = build(run->arch, run->name);
    Rng rng;
    rng_seed(&rng, lesson->seed);
    network_init(run->net, &rng);
    Optimizer *sgd = sgd_create(run->net, (SgdConfig){.lr = s->lr, .momentum = 0.9,
                                                     .weight_decay = 5e-4});
    Loader loader;
    loader_init(&loader, train, 64, (LoaderOptions){.shuffle = 1, .augment = 1,
                                                    .seed = lesson->seed});
    LrSchedule schedule;
    lr_schedule_init(&schedule, s->constant_lr ? SCHEDULE_CONSTANT : SCHEDULE_COSINE, s->lr,
                     s->epochs, 0, 0.5, 1);
    printf("  %s:\n", run->name);
    printf("  %5s %8s %11s %10s %11s %10s %8s\n", "epoch", "lr", "train loss", "train acc",
           "val loss", "val acc", "seconds");
    double start = lesson_seconds();
    for (int epoch = 0; epoch < s->epochs; epoch++) {
        sgd->lr = lr_schedule_lr(&schedule, epoch);
        Error err;
        EpochResult result;
        Progress bar;
        progress_begin(&bar, "  training", train->count);
        int status = train_epoch(run->net, sgd, &loader, epoch, &bar, &result, &err);
        progress_end(&bar);
        if (status != 0) {
            fprintf(stderr, "lesson9: %s: %s (try a smaller --lr)\n", run->name, err.msg);
            exit(1);
        }
        run->train_loss[epoch] = result.loss;
        run->train_accuracy[epoch] = result.accuracy;
        run->val_loss[epoch] = evaluate(run->net, val, 256, &run->val_accuracy[epoch]);
        printf("  %5d %8.5f %11.4f %9.1f%% %11.4f %9.1f%% %8.1f\n", epoch + 1, sgd->lr, result.loss,
               100 * result.accuracy, run->val_loss[epoch], 100 * run->val_accuracy[epoch],
               result.seconds);
        fflush(stdout);
    }
    run->seconds = lesson_seconds() - start;
    printf("  (%.0f s)\n\n", run->seconds);
    loader_free(&loader);
    optimizer_free(sgd);
}

static void run_free(Run *run)
{
    free(run->train_loss);
    free(run->train_accuracy);
    free(run->val_loss);
    free(run->val_accuracy);
    network_free(run->net);
}

static void draw_curves(Lesson *lesson, const Run runs[2], int epochs)
{
    char data_path[256], png_path[256];
    Error err;
    lesson_out_path(lesson, "curves.dat", data_path, sizeof data_path);
    FILE *f = fopen(data_path, "w");
    if (!f) {
        perror(data_path);
        exit(1);
    }
    fprintf(f, "# epoch");
    for (int r = 0; r < 2; r++)
        fprintf(f, " | %s: train_loss val_loss train_accuracy val_accuracy", runs[r].name);
    fprintf(f, "\n");
    for (int e = 0; e < epochs; e++) {
        fprintf(f, "%d", e + 1);
        for (int r = 0; r < 2; r++)
            fprintf(f, " %.6f %.6f %.6f %.6f", runs[r].train_loss[e], runs[r].val_loss[e],
                    runs[r].train_accuracy[e], runs[r].val_accuracy[e]);
        fprintf(f, "\n");
    }
    fclose(f);

    ChartSpec loss = {.title = "The same CNN without and with batchnorm + dropout: loss",
                      .xlabel = "epoch",
                      .ylabel = "mean cross-entropy loss",
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = 4,
                      .y_columns = {2, 3, 6, 7},
                      .series_titles = {"plain, training", "plain, validation",
                                        "batchnorm + dropout, training",
                                        "batchnorm + dropout, validation"},
                      .x_whole = 1,
                      .large = 1};
    for (int s = 0; s < 4; s++)
        loss.style[s] = (ChartSeriesStyle){.colour = 1 + s / 2, .dashed = s % 2};
    lesson_out_path(lesson, "loss.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &loss, &err), png_path,
                      "loss per epoch, both networks (training solid, validation dashed)", &err);
    ChartSpec accuracy = loss;
    accuracy.title = "The same CNN without and with batchnorm + dropout: accuracy";
    accuracy.ylabel = "accuracy";
    for (int s = 0; s < 4; s++) accuracy.y_columns[s] += 2;
    accuracy.ymin = 0;
    accuracy.ymax = 1;
    accuracy.key = "bottom right";
    lesson_out_path(lesson, "accuracy.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &accuracy, &err), png_path,
                      "accuracy per epoch, both networks (training solid, validation dashed)",
                      &err);
    if (lesson->terminal) {
        const double *series[] = {runs[0].val_accuracy, runs[1].val_accuracy};
        const char *names[] = {"plain, validation", "batchnorm + dropout, validation"};
        printf("\n");
        text_chart_lines(stdout, "validation accuracy per epoch", series, names, 2, epochs, 60,
                         12);
    }
    printf("\n");
}

static void section_training(Lesson *lesson, Run runs[2], const Settings *s,
                             const Dataset *train, const Dataset *val)
{
    lesson_section(lesson, "The same CNN trained without and with them");
    lesson_say("Two small CNNs, the same but for the new layers, from the same seed, with the "
               "same batches (64 faces, flipped and shifted), SGD with momentum 0.9 and weight "
               "decay 5e-4, %d epoch%s over %d faces. %s",
               s->epochs, s->epochs == 1 ? "" : "s", train->count,
               s->constant_lr ? "The learning rate stays the same throughout (--constant-lr)."
                              : "The learning rate falls along a cosine, epoch by epoch "
                                "(src/schedule.h), so that the last steps are small; section "
                                "5 says why batchnorm needs that.");
    printf("    plain:               %s\n", plain_arch);
    printf("    batchnorm + dropout: %s\n\n", runs[1].arch);
    lesson_say("'nobias': a bias before a batchnorm does nothing, since the batchnorm "
               "subtracts the mean right after; beta plays its part.");
    for (int r = 0; r < 2; r++) train_run(lesson, &runs[r], s, train, val);
    draw_curves(lesson, runs, s->epochs);
    const int last = s->epochs - 1;
    lesson_say("After the first epoch the plain network is at %.1f%% on the validation faces "
               "and the batchnorm network at %.1f%%; after the last, %.1f%% and %.1f%%.",
               100 * runs[0].val_accuracy[0], 100 * runs[1].val_accuracy[0],
               100 * runs[0].val_accuracy[last], 100 * runs[1].val_accuracy[last]);
    if (runs[1].val_accuracy[0] > runs[0].val_accuracy[0] + 0.1)
        lesson_say("Batchnorm's advantage is largest at the start. Each layer's inputs keep "
                   "the same scale while the weights below them change, so the same learning "
                   "rate makes useful progress from the first steps on; the plain network "
                   "spends its first epochs near chance (the loss near ln 7 = 1.95) before "
                   "its scales sort themselves out.");
    else
        lesson_say("(With so few steps the difference is not yet clear: run the lesson "
                   "without --quick.)");
    lesson_say("The training columns are running means over the epoch, in training mode: for "
               "the second network with half of fc1's outputs dropped, which makes it look "
               "worse than it is (a training loss of %.3f against %.3f on the validation "
               "faces, measured in evaluation mode with nothing dropped). Dropout also makes "
               "memorising harder: no unit can count on any other being there.",
               runs[1].train_loss[last], runs[1].val_loss[last]);
}

/* ---- 5. evaluating in training mode: the classic bug ---------------------- */

/* How net scores data with every layer in `mode`, taking the images in
 * `order` in batches of batch_size. In training mode each batch gets its
 * own dropout masks, as in training. */
typedef struct {
    double accuracy;
    double loss;      /* mean cross-entropy */
    int answers;      /* how many different classes it answered */
} Score;

static Score score_in_mode(Network *net, const Dataset *data, const int *order, int batch_size,
                           LayerMode mode)
{
    Tensor *x = tensor_new4(batch_size, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)batch_size * sizeof *labels);
    int correct = 0, answered[NUM_CLASSES] = {0};
    double loss = 0;
    network_set_mode(net, mode);
    for (int start = 0; start < data->count; start += batch_size) {
        int n = data->count - start < batch_size ? data->count - start : batch_size;
        loader_fill_batch(data, order + start, n, NULL, NULL, x, labels);
        network_set_noise(net, 0x5eed + (uint64_t)start);
        loss += network_loss(net, x, labels) * n;
        correct += count_correct(net->probs, labels);
        for (int i = 0; i < n; i++) {
            const real *p = net->probs->data + (size_t)i * NUM_CLASSES;
            int best = 0;
            for (int k = 1; k < NUM_CLASSES; k++)
                if (p[k] > p[best]) best = k;
            answered[best] = 1;
        }
    }
    Score score = {(double)correct / data->count, loss / data->count, 0};
    for (int k = 0; k < NUM_CLASSES; k++) score.answers += answered[k];
    free(labels);
    tensor_free(x);
    return score;
}

/* Copies of (or restores) every running statistic of net. */
static Tensor **save_buffers(Network *net)
{
    int count = network_num_buffers(net);
    Tensor **saved = xcalloc((size_t)count + 1, sizeof *saved);
    for (int i = 0; i < count; i++) saved[i] = tensor_copy(network_buffer(net, i, NULL, 0)->value);
    return saved;
}

static void restore_buffers(Network *net, Tensor **saved)
{
    for (int i = 0; i < network_num_buffers(net); i++) {
        Tensor *t = network_buffer(net, i, NULL, 0)->value;
        memcpy(t->data, saved[i]->data, t->size * sizeof *t->data);
    }
}

static void free_buffers(Network *net, Tensor **saved)
{
    for (int i = 0; i < network_num_buffers(net); i++) tensor_free(saved[i]);
    free(saved);
}

/* Mean of a buffer's entries (e.g. the running variance of a batchnorm). */
static double buffer_mean(Network *net, const char *wanted)
{
    for (int i = 0; i < network_num_buffers(net); i++) {
        char name[64];
        Buffer *b = network_buffer(net, i, name, sizeof name);
        if (!strcmp(name, wanted)) {
            double sum = 0;
            for (size_t k = 0; k < b->value->size; k++) sum += b->value->data[k];
            return sum / (double)b->value->size;
        }
    }
    return NAN;
}

static void print_score(const char *how, Score score)
{
    printf("  %-50s %7.1f%% %10.4f %8d\n", how, 100 * score.accuracy, score.loss, score.answers);
}

static void section_eval_mode(Lesson *lesson, Network *net, const Dataset *test)
{
    lesson_section(lesson, "Evaluating in training mode: the classic bug");
    lesson_say("In training mode a batchnorm normalises each batch with that batch's own "
               "statistics, so a face's scores depend on the other faces in its batch, and "
               "dropout drops a random half of fc1. In evaluation mode both are fixed "
               "functions of the face alone: batchnorm uses its running mean and variance, "
               "dropout passes everything. Forgetting to switch (PyTorch's model.eval(); here "
               "network_set_mode(net, LAYER_EVAL), which evaluate() does) is one of the most "
               "common bugs in practice. The batchnorm network of section 4 on the %d test "
               "faces, scored five ways, then the first way once more:",
               test->count);
    int *order = xmalloc((size_t)test->count * sizeof *order);
    for (int i = 0; i < test->count; i++) order[i] = i;
    int *by_class = xmalloc((size_t)test->count * sizeof *by_class);
    int placed = 0;
    for (int c = 0; c < NUM_CLASSES; c++)
        for (int i = 0; i < test->count; i++)
            if (test->labels[i] == c) by_class[placed++] = i;

    Tensor **saved = save_buffers(net);
    const Score eval_256 = score_in_mode(net, test, order, 256, LAYER_EVAL);
    const Score eval_1 = score_in_mode(net, test, order, 1, LAYER_EVAL);
    const Score train_256 = score_in_mode(net, test, order, 256, LAYER_TRAIN);
    restore_buffers(net, saved);
    const Score train_class = score_in_mode(net, test, by_class, 64, LAYER_TRAIN);
    restore_buffers(net, saved);
    const double var_before = buffer_mean(net, "bn3.running_var");
    const Score train_1 = score_in_mode(net, test, order, 1, LAYER_TRAIN);
    const double var_after = buffer_mean(net, "bn3.running_var");
    const Score eval_after = score_in_mode(net, test, order, 256, LAYER_EVAL);
    restore_buffers(net, saved);
    free_buffers(net, saved);

    int counts[NUM_CLASSES];
    lesson_class_counts(test, counts);
    int largest = 0;
    for (int c = 1; c < NUM_CLASSES; c++)
        if (counts[c] > counts[largest]) largest = c;
    printf("  %-50s %8s %10s %8s\n", "how the test faces are scored", "accuracy", "mean loss",
           "answers");
    print_score("evaluation mode, batches of 256 (right)", eval_256);
    print_score("evaluation mode, one face at a time", eval_1);
    print_score("training mode, batches of 256", train_256);
    print_score("training mode, batches of 64 faces of one class", train_class);
    print_score("training mode, one face at a time", train_1);
    print_score("evaluation mode again, after those single faces", eval_after);
    printf("  (answers: how many different classes it gave; always answering %s, the\n"
           "   commonest class here, would score %.1f%%)\n\n",
           class_names[largest], 100.0 * counts[largest] / test->count);

    lesson_say("Evaluation mode gives the same answers whatever the batch: each face is scored "
               "alone. Training mode with batches of 256 mixed faces %s (%.1f%% against "
               "%.1f%%): the batch's statistics are close to the running ones, but dropout "
               "adds noise. A batch of one class has that class's statistics, and subtracting "
               "them removes much of what tells the class apart: %.1f%%%s.",
               fabs(train_256.accuracy - eval_256.accuracy) < 0.05 ? "comes close" : "differs",
               100 * train_256.accuracy, 100 * eval_256.accuracy, 100 * train_class.accuracy,
               train_class.accuracy < train_256.accuracy - 0.05
                   ? ""
                   : " (here no worse than the mixed batches: this network has learned too "
                     "little for the statistics to matter; train it longer)");
    lesson_say("One face at a time, the batchnorm after fc1 sees M = 1 value per feature: "
               "its variance is 0, every xhat is 0, and every face leaves it with the same "
               "features, beta. The network then gives %s: %.1f%%.",
               train_1.answers == 1 ? "one answer for every face"
                                    : "the same answer for every face, apart from what "
                                      "dropout's random masks change",
               100 * train_1.accuracy);
    lesson_say("Worse, every training-mode pass also moved the running statistics. After the "
               "%d single faces the mean running variance of bn3 went from %.3f to %.1e, and "
               "in evaluation mode the network divides by the square root of that, which "
               "blows its scores up: %.1f%% right, but a mean loss of %.2f instead of %.3f, "
               "because its wrong answers are now made with near certainty. A test script "
               "that forgets eval() changes the model it measures. (The lesson puts the saved "
               "statistics back.)",
               test->count, var_before, var_after, 100 * eval_after.accuracy, eval_after.loss,
               eval_256.loss);
    lesson_say("The running statistics are averages with momentum 0.1: each training step "
               "moves them a tenth of the way towards its batch's, so they describe roughly "
               "the last 10 to 20 batches. While the learning rate is large the weights move "
               "a lot in 20 steps, and the averages describe a mix of recent networks rather "
               "than the final one; evaluation-mode accuracy then jumps from epoch to epoch. "
               "That is why section 4 let the learning rate fall towards the end (try "
               "--constant-lr to see the difference).");
    if (eval_1.answers != eval_256.answers || fabs(eval_1.accuracy - eval_256.accuracy) > 0.002)
        lesson->failures++;
    free(order);
    free(by_class);
}

/* ---- 6. dropout as an ensemble ---------------------------------------------- */

#define ENSEMBLE_CHUNK 250

static void section_ensemble(Lesson *lesson, Network *net, const Dataset *test, int masks)
{
    lesson_section(lesson, "Dropout as an ensemble");
    lesson_say("Each training step drops a different random half of fc1's 128 outputs: it "
               "trains a different sub-network, and all of them share their weights. "
               "Evaluation keeps every unit (and training scaled the kept ones by 2), which "
               "stands in for the average over all those sub-networks. To see it, take one "
               "test face, keep the batchnorms in evaluation mode, put only the dropout layer "
               "in training mode, and average the scores over many masks.");
    /* The face: the first test face the network is unsure of (its top
     * probability between 0.5 and 0.9), where masks can disagree. */
    Tensor *x = tensor_new4(ENSEMBLE_CHUNK, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc(ENSEMBLE_CHUNK * sizeof *labels);
    int *indices = xmalloc(ENSEMBLE_CHUNK * sizeof *indices);
    int face = -1;
    network_set_mode(net, LAYER_EVAL);
    for (int start = 0; start < test->count && face < 0; start += ENSEMBLE_CHUNK) {
        int n = test->count - start < ENSEMBLE_CHUNK ? test->count - start : ENSEMBLE_CHUNK;
        for (int i = 0; i < n; i++) indices[i] = start + i;
        loader_fill_batch(test, indices, n, NULL, NULL, x, labels);
        network_loss(net, x, labels);
        for (int i = 0; i < n && face < 0; i++) {
            double top = 0;
            for (int k = 0; k < NUM_CLASSES; k++)
                top = fmax(top, net->probs->data[(size_t)i * NUM_CLASSES + k]);
            if (top > 0.5 && top < 0.9) face = start + i;
        }
    }
    if (face < 0) face = 0; /* every face sure (or none): take the first */
    for (int i = 0; i < ENSEMBLE_CHUNK; i++) indices[i] = face;

    double eval_scores[NUM_CLASSES], eval_probs[NUM_CLASSES];
    network_set_mode(net, LAYER_EVAL);
    loader_fill_batch(test, indices, 1, NULL, NULL, x, labels);
    network_loss(net, x, labels);
    const int label = labels[0];
    for (int k = 0; k < NUM_CLASSES; k++) {
        eval_scores[k] = net->out[net->num_layers - 1]->data[k];
        eval_probs[k] = net->probs->data[k];
    }
    int eval_class = 0;
    for (int k = 1; k < NUM_CLASSES; k++)
        if (eval_probs[k] > eval_probs[eval_class]) eval_class = k;

    /* scores[m][k] of each mask m */
    double *scores = xcalloc((size_t)masks * NUM_CLASSES, sizeof *scores);
    double *probs = xcalloc((size_t)masks * NUM_CLASSES, sizeof *probs);
    for (int i = 0; i < net->num_layers; i++)
        if (!strcmp(net->layers[i]->ops->kind, "dropout")) net->layers[i]->mode = LAYER_TRAIN;
    for (int start = 0; start < masks; start += ENSEMBLE_CHUNK) {
        int n = masks - start < ENSEMBLE_CHUNK ? masks - start : ENSEMBLE_CHUNK;
        loader_fill_batch(test, indices, n, NULL, NULL, x, labels);
        network_set_noise(net, 0xd1ce + (uint64_t)start);
        network_loss(net, x, labels);
        const Tensor *s = net->out[net->num_layers - 1];
        for (int m = 0; m < n; m++)
            for (int k = 0; k < NUM_CLASSES; k++) {
                scores[(size_t)(start + m) * NUM_CLASSES + k] = s->data[m * NUM_CLASSES + k];
                probs[(size_t)(start + m) * NUM_CLASSES + k] =
                    net->probs->data[m * NUM_CLASSES + k];
            }
    }
    network_set_mode(net, LAYER_EVAL);

    printf("  test face %d (labelled %s), scores of the 7 classes:\n", face, class_names[label]);
    printf("  %-22s", "");
    for (int k = 0; k < NUM_CLASSES; k++) printf(" %8.8s", class_names[k]);
    printf("\n  %-22s", "evaluation mode");
    for (int k = 0; k < NUM_CLASSES; k++) printf(" %8.3f", eval_scores[k]);
    printf("\n");
    for (int m = 0; m < 3 && m < masks; m++) {
        printf("  mask %-17d", m + 1);
        for (int k = 0; k < NUM_CLASSES; k++) printf(" %8.3f", scores[(size_t)m * NUM_CLASSES + k]);
        printf("\n");
    }
    printf("\n  %7s %30s %26s %14s\n", "masks", "largest |mean score - eval|",
           "mean P(class) vs eval", "same answer");
    double sum[NUM_CLASSES] = {0}, prob_sum[NUM_CLASSES] = {0};
    int agree = 0, next_report = 1;
    /* running mean of the evaluation class's score, for the chart */
    char data_path[256], png_path[256];
    lesson_out_path(lesson, "ensemble.dat", data_path, sizeof data_path);
    FILE *f = fopen(data_path, "w");
    if (!f) {
        perror(data_path);
        exit(1);
    }
    fprintf(f, "# masks  one_mask_score  running_mean_score  eval_score   (class %s)\n",
            class_names[eval_class]);
    double last_gap = 0;
    for (int m = 0; m < masks; m++) {
        int best = 0;
        for (int k = 0; k < NUM_CLASSES; k++) {
            sum[k] += scores[(size_t)m * NUM_CLASSES + k];
            prob_sum[k] += probs[(size_t)m * NUM_CLASSES + k];
            if (probs[(size_t)m * NUM_CLASSES + k] > probs[(size_t)m * NUM_CLASSES + best])
                best = k;
        }
        agree += best == eval_class;
        fprintf(f, "%d %.6f %.6f %.6f\n", m + 1, scores[(size_t)m * NUM_CLASSES + eval_class],
                sum[eval_class] / (m + 1), eval_scores[eval_class]);
        if (m + 1 == next_report || m + 1 == masks) {
            double gap = 0;
            for (int k = 0; k < NUM_CLASSES; k++)
                gap = fmax(gap, fabs(sum[k] / (m + 1) - eval_scores[k]));
            last_gap = gap;
            printf("  %7d %30.4f %17.3f vs %.3f %13.1f%%\n", m + 1, gap,
                   prob_sum[eval_class] / (m + 1), eval_probs[eval_class], 100.0 * agree / (m + 1));
            next_report *= 10;
        }
    }
    fclose(f);
    printf("  (P(class) and 'same answer' for %s, the class evaluation mode picks)\n\n",
           class_names[eval_class]);

    ChartSpec spec = {.title = "Dropout as an ensemble: one face's score over many masks",
                      .xlabel = "masks averaged",
                      .ylabel = "score (logit) of the class picked in evaluation",
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = 3,
                      .y_columns = {2, 3, 4},
                      .series_titles = {"one mask's score", "mean over the masks so far",
                                        "evaluation mode (no dropout)"},
                      .key = "bottom right",
                      .large = 1};
    spec.log_x = 1;
    spec.style[0] = (ChartSeriesStyle){.colour = 8, .dots = 1};
    spec.style[1] = (ChartSeriesStyle){.colour = 1, .no_points = 1};
    spec.style[2] = (ChartSeriesStyle){.colour = 2, .dashed = 1, .no_points = 1};
    Error err;
    lesson_out_path(lesson, "ensemble.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &spec, &err), png_path,
                      "running mean of the masked scores against evaluation mode", &err);
    printf("\n");
    lesson_say("One mask's scores swing by whole units%s. Their mean settles on the "
               "evaluation-mode scores (after %d masks within %.3f), and for a reason that is "
               "exact, not approximate: the dropout layer sits right before fc2, which is "
               "linear, and inverted dropout keeps the expected value of each of fc2's inputs, "
               "so the expected scores are exactly the evaluation scores. The probabilities "
               "are a softmax of the scores, not linear, so their mean is close to but not the "
               "evaluation probability. Evaluation mode is one cheap pass that stands in for "
               "the vote of 2^128 sub-networks.",
               agree < masks ? ", and some masks even change the answer" : "", masks, last_gap);
    free(scores);
    free(probs);
    free(indices);
    free(labels);
    tensor_free(x);
}

int main(int argc, char **argv)
{
    Settings s = {.epochs = 0, .lr = 0.02, .dropout = 0.5, .images = 0, .constant_lr = 0};
    int masks = 0;
    const LessonOption options[] = {
        {.name = "--epochs", .kind = LESSON_OPTION_INT, .value = &s.epochs,
         .min = 1, .max = 1000,
         .metavar = "N", .help = "epochs of each training (default 4; 1 with --quick)"},
        {.name = "--lr", .kind = LESSON_OPTION_DOUBLE, .value = &s.lr,
         .min = 0, .max = 10, .open = ARG_MIN_OPEN,
         .metavar = "RATE", .help = "SGD learning rate of both trainings (default 0.02)"},
        {.name = "--dropout", .kind = LESSON_OPTION_DOUBLE, .value = &s.dropout,
         .min = 0, .max = 1, .open = ARG_MAX_OPEN,
         .metavar = "P", .help = "dropout probability before the last layer (default 0.5)"},
        /* more than the split has: all of them */
        {.name = "--images", .kind = LESSON_OPTION_INT, .value = &s.images,
         .min = 1, .max = 1000000,
         .metavar = "N", .help = "training faces to use (default all)"},
        {.name = "--constant-lr", .kind = LESSON_OPTION_FLAG, .value = &s.constant_lr,
         .help = "keep the learning rate constant (default: a cosine schedule)"},
        {.name = "--masks", .kind = LESSON_OPTION_INT, .value = &masks,
         .min = 1, .max = 100000,
         .metavar = "N", .help = "dropout masks averaged in section 6 (default 1000; 100 with "
                                 "--quick)"},
    };
    Lesson lesson;
    lesson_begin(&lesson, 9, "BatchNorm and Dropout",
                 "Two layers that behave differently in training and in evaluation: what "
                 "batchnorm does to a layer's outputs, its backward pass by hand, the gradient "
                 "checks in both modes, the same CNN trained without and with batchnorm and "
                 "dropout, the bug of evaluating in training mode, and dropout as an ensemble. "
                 "About a minute on two cores (double precision).",
                 argc, argv, options, 6);
    if (s.epochs == 0) s.epochs = lesson.quick ? 1 : 4;
    if (masks == 0) masks = lesson.quick ? 100 : 1000;
    Rng rng;
    rng_seed(&rng, lesson.seed);
    Dataset train, val, test;
    lesson_load_split(&lesson, "train", 256, &train);
    lesson_load_split(&lesson, "val", 128, &val);
    lesson_load_split(&lesson, "test", 128, &test);
    if (s.images > 0 && s.images < train.count) train.count = s.images;

    section_distributions(&lesson, &train, &rng);
    section_by_hand(&lesson);
    section_gradcheck(&lesson, &rng);

    Run runs[2] = {{.name = "plain"}, {.name = "batchnorm + dropout"}};
    snprintf(runs[0].arch, sizeof runs[0].arch, "%s", plain_arch);
    snprintf(runs[1].arch, sizeof runs[1].arch, normalised_arch_format, s.dropout);
    section_training(&lesson, runs, &s, &train, &val);
    section_eval_mode(&lesson, runs[1].net, &test);
    section_ensemble(&lesson, runs[1].net, &test, masks);

    const char *tries[] = {
        "A larger learning rate: ./build/lessons/lesson9 --lr 0.1. Batchnorm tolerates "
        "it; does the plain network?",
        "Dropout alone, or batchnorm alone: ./emotion train --arch \"conv 16 3x3 pad 1 "
        "nobias, batchnorm, relu, maxpool 2, conv 32 3x3 pad 1 nobias, batchnorm, relu, "
        "maxpool 2, fc 128, relu, fc 7\" --epochs 4, and the same with 'dropout 0.5' "
        "before the last fc instead of the batchnorms.",
        "The full-size network with both: ./emotion train --arch \"conv 32 3x3 pad 1 "
        "nobias, batchnorm, relu, maxpool 2, conv 64 3x3 pad 1 nobias, batchnorm, relu, "
        "maxpool 2, fc 256 nobias, batchnorm, relu, dropout 0.5, fc 7\"; then ./emotion "
        "eval --model runs/emotion/best.npz (it runs in evaluation mode).",
        "Overfit on purpose with few faces (--images 500 --epochs 10) and compare the gap "
        "between training and validation loss with --dropout 0 and --dropout 0.5.",
        "Check the layers yourself: ./gradcheck batchnorm and ./gradcheck dropout.",
        "In layers/batchnorm.c, drop the two terms b and e from dx and run make check: "
        "which tests fail, and what do they print?",
        "Write batchnorm and dropout yourself: exercises/batchnorm.c and "
        "exercises/dropout.c; make grade EX=batchnorm,dropout grades both passes.",
        "Next, lesson 10 compares the optimizers.",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    run_free(&runs[0]);
    run_free(&runs[1]);
    dataset_free(&train);
    dataset_free(&val);
    dataset_free(&test);
    return lesson_end(&lesson);
}
