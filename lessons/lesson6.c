/* Lesson 6: assembling the CNN.
 *
 * The layers of lessons 2-5 stacked into the emotion CNN, built from its
 * description (models/emotion.net; layers/arch.h has the language):
 *
 *   x (N, 1, 48, 48) -> conv1 relu1 pool1 -> conv2 relu2 pool2 -> fc1 relu3 -> fc2 -> softmax
 *
 * The lesson follows the shapes through every layer, checks the gradient
 * of the whole network at once (input and every parameter), and runs the
 * standard sanity check before any real training: a correct network with
 * enough parameters must be able to memorise a tiny batch, driving its
 * loss to ~0.
 *
 * Built with the double library (the gradient check needs it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "classes.h"
#include "lesson_common.h"
#include "network.h"
#include "sgd.h"
#include "train.h"

/* What each layer of the emotion CNN is for, in its order. */
static const char *layer_purpose(const char *kind)
{
    if (!strcmp(kind, "conv")) return "3x3 filters, pad 1: local patterns, same size";
    if (!strcmp(kind, "relu")) return "max(0, x): the non-linearity";
    if (!strcmp(kind, "maxpool")) return "2x2 max: half the size, small shifts ignored";
    if (!strcmp(kind, "fc")) return "every value to every output";
    return "";
}

/* The network a description gives, for 1 x side x side faces. */
static Network *create_cnn(const char *description, const char *origin, int side)
{
    Error err;
    Network *net = arch_build_text(description, origin, 1, side, side, NUM_CLASSES, &err);
    if (!net) {
        fprintf(stderr, "lesson6: %s\n", err.msg);
        exit(1);
    }
    return net;
}

/* Parameters (weights and biases) of one layer. */
static size_t layer_param_count(const Layer *layer)
{
    size_t count = 0;
    for (int p = 0; p < layer->num_params; p++) count += layer->params[p].value->size;
    return count;
}

/* One face through the full-size network; a table of every layer's output
 * shape and parameter count. */
static void section_shapes(Lesson *lesson, Network *net, const Dataset *train)
{
    lesson_section(lesson, "Shapes through the whole network");
    lesson_say("One face goes in as a (1, 1, 48, 48) tensor: a batch of N = 1, one channel. "
               "Each line below is one layer, with the shape of what it hands to the next "
               "and the number of parameters it learns (weights + biases):");
    Tensor *x = tensor_new4(1, 1, IMAGE_SIDE, IMAGE_SIDE);
    lesson_face_tensor(train, 0, x);
    network_forward(net, x);

    char shape[64];
    printf("  %-7s %-8s %-18s %10s  %s\n", "layer", "kind", "output shape", "parameters",
           "what it does");
    printf("  %-7s %-8s %-18s %10s\n", "input", "", tensor_shape_string(x, shape, sizeof shape),
           "");
    size_t total = 0;
    for (int i = 0; i < net->num_layers; i++) {
        const Layer *layer = net->layers[i];
        size_t count = layer_param_count(layer);
        total += count;
        printf("  %-7s %-8s %-18s %10zu  %s\n", layer->name, layer->ops->kind,
               tensor_shape_string(net->out[i], shape, sizeof shape), count,
               layer_purpose(layer->ops->kind));
    }
    printf("  %-7s %-8s %-18s %10zu\n\n", "total", "", "", total);

    lesson_say("Check them by hand. conv1: 32 filters of 1x3x3 = 32*9 + 32 = 320. Padding 1 "
               "keeps 48x48 (H_out = (48 + 2 - 3)/1 + 1 = 48). pool1 halves it to 24x24. "
               "conv2: 64 filters of 32x3x3 = 64*288 + 64 = 18,496. pool2 gives 64x12x12 = "
               "9,216 values, which fc1 flattens and maps to 256: 9,216*256 + 256 = "
               "2,359,552, almost all of the network's parameters. fc2 maps 256 to the 7 "
               "scores: 256*7 + 7 = 1,799.");
    lesson_say("Why this order: the convolutions find local patterns "
               "(edges, then parts of a mouth or an eye) wherever they are; ReLU lets "
               "the next layer combine them non-linearly; pooling shrinks the maps and "
               "ignores small shifts; the fc layers combine everything into a decision. "
               "Compare with lesson 5, where one fc layer had to do all of it from raw pixels.");
    tensor_free(x);
}

/* The loss of the full-size network right after He initialisation. */
static void section_initial_loss(Lesson *lesson, Network *net, const Dataset *train)
{
    lesson_section(lesson, "The loss at initialisation");
    const int wanted = lesson->quick ? 16 : 64;
    const int count = train->count < wanted ? train->count : wanted;
    Tensor *x = tensor_new4(count, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)count * sizeof *labels);
    int *indices = xmalloc((size_t)count * sizeof *indices);
    for (int i = 0; i < count; i++) indices[i] = i;
    loader_fill_batch(train, indices, count, NULL, NULL, x, labels);
    double loss = network_loss(net, x, labels);
    printf("  mean loss of %d faces, He-initialised weights: %.4f   (ln 7 = %.4f)\n\n", count,
           loss, log(NUM_CLASSES));
    lesson_say("He initialisation draws every weight from N(0, 2 / fan_in), which keeps the "
               "size of the activations roughly constant from layer to layer through the "
               "ReLUs. The scores are then of order 1, not 0, so the starting loss is near "
               "ln 7 but not on it: a loss of 10 or 100 here would mean exploding "
               "activations, a wrong initialisation or a bug.");
    free(indices);
    free(labels);
    tensor_free(x);
}

/* The same nine layers at a size the checker can afford. */
#define CHECK_SIDE 8
#define CHECK_BATCH 2

/* x (CHECK_BATCH, 1, 8, 8): faces shrunk to 8x8 by averaging 6x6 blocks. */
static void shrunk_faces(const Dataset *data, Tensor *x)
{
    const int block = IMAGE_SIDE / CHECK_SIDE;
    for (int n = 0; n < CHECK_BATCH; n++) {
        const uint8_t *face = data->images + (size_t)(n % data->count) * IMAGE_PIXELS;
        for (int r = 0; r < CHECK_SIDE; r++)
            for (int c = 0; c < CHECK_SIDE; c++) {
                double sum = 0;
                for (int i = 0; i < block; i++)
                    for (int j = 0; j < block; j++)
                        sum += face[(r * block + i) * IMAGE_SIDE + c * block + j];
                x->data[((size_t)n * CHECK_SIDE + r) * CHECK_SIDE + c] =
                    (real)(sum / (255.0 * block * block));
            }
    }
}

static int print_network_check(Network *net, Tensor *x, const Tensor *dscores, const int *labels);

static void section_gradcheck(Lesson *lesson, const Dataset *train, Rng *rng)
{
    lesson_section(lesson, "The whole-network gradient check");
    lesson_say("Lessons 3-5 checked each layer alone. Chained, the backward passes must "
               "still give the exact gradient of the network's output: every layer's dx "
               "becomes the dout of the layer below, and one wrong index anywhere shows up "
               "here. The full network has 2.4 million parameters and each needs two "
               "forward passes, so the check runs the same nine layers at a small size: "
               "faces shrunk to %dx%d, widths 3, 4 and 10, a batch of %d. L = sum(scores * "
               "dscores) for a random dscores gives the rows for dx and every parameter; "
               "the last row checks the loss itself: d loss / d scores as training computes "
               "it (softmax cross-entropy at random labels, and its backward with the 1/N).",
               CHECK_SIDE, CHECK_SIDE, CHECK_BATCH);
    Network *net = create_cnn("conv 3 3x3 pad 1, relu, maxpool 2, conv 4 3x3 pad 1, relu, "
                              "maxpool 2, fc 10, relu, fc 7", "the small copy", CHECK_SIDE);
    Tensor *x = tensor_new4(CHECK_BATCH, 1, CHECK_SIDE, CHECK_SIDE);
    Tensor *dscores = tensor_new2(CHECK_BATCH, NUM_CLASSES);
    int labels[CHECK_BATCH];
    shrunk_faces(train, x);

    /* As ./gradcheck net does: draw weights, dscores and labels until the
     * check is well posed (no ReLU input within 1e-3 of 0, no max-pool
     * near-tie, no gradient entry too small to resolve). The threshold is
     * never loosened. */
    int draws = gradcheck_draw_loss_case(net, x, 0, dscores, labels, rng, 10000);
    int well_posed = draws > 0;
    if (!well_posed) {
        printf("  could not draw a well-posed check in 10000 tries\n\n");
        lesson->failures++;
    } else {
        printf("  (weights drawn %d time%s until the check was well posed: no ReLU input\n"
               "   or max-pool tie within 1e-3 of a kink, no gradient zero)\n\n",
               draws, draws == 1 ? "" : "s");
        lesson->failures += print_network_check(net, x, dscores, labels);
        printf("\n");
    }
    lesson_say("With the loss row on top, every gradient the optimiser will use has been "
               "compared with its definition: this check is the proof that the backward "
               "passes are right.");
    tensor_free(dscores);
    tensor_free(x);
    network_free(net);
}

/* The whole-network check's rows (dx, every parameter, the loss); returns
 * the number that fail. */
static int print_network_check(Network *net, Tensor *x, const Tensor *dscores, const int *labels)
{
    int max_rows = 2 + network_num_params(net);
    GradcheckRow *rows = xcalloc((size_t)max_rows, sizeof *rows);
    int count = gradcheck_network(net, x, dscores, rows, max_rows - 1);
    Tensor *analytic = tensor_new2(1, 1);
    gradcheck_network_loss_dscores(net, x, labels, analytic);
    rows[count++] = gradcheck_network_loss(net, x, labels, analytic);
    int failures = lesson_print_gradcheck(rows, count);
    tensor_free(analytic);
    free(rows);
    return failures;
}

/* ReLU's backward with its mask deleted: the gradient goes through every
 * unit, also those that were off (a slip that is easy to make). The layer
 * interface makes the swap one assignment: the network calls whatever
 * backward the layer's ops table holds. */
static void relu_backward_without_mask(Layer *layer, const Tensor *dout, Tensor *dx)
{
    (void)layer;
    if (!dx || dx == dout) return; /* in place: dx is dout already */
    tensor_resize(dx, dout->ndim, dout->dim);
    memcpy(dx->data, dout->data, dout->size * sizeof(real));
}

static LayerOps broken_relu_ops;

static void break_relus(Network *net)
{
    for (int i = 0; i < net->num_layers; i++)
        if (!strcmp(net->layers[i]->ops->kind, "relu")) {
            broken_relu_ops = *net->layers[i]->ops;
            broken_relu_ops.backward = relu_backward_without_mask;
            net->layers[i]->ops = &broken_relu_ops;
        }
}

/* Writes "step loss accuracy" lines for gnuplot. */
static void write_steps(const char *path, const double *loss, const double *accuracy, int steps)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "# step loss accuracy (on the tiny batch, before the step's update)\n");
    for (int s = 0; s < steps; s++) fprintf(f, "%d %.6f %.6f\n", s, loss[s], accuracy[s]);
    fclose(f);
}

/* Trains a fresh network on `images` training faces only, full batch,
 * until it classifies all of them right and its loss is below 0.01. */
static void section_overfit(Lesson *lesson, const char *description, const Dataset *train,
                            int images, int max_steps, double lr, Rng *rng)
{
    lesson_section(lesson, "Sanity check: overfit a tiny batch");
    if (images > train->count) images = train->count;
    lesson_say("Before spending minutes training on all the data, check that the network "
               "can learn at all: take only %d faces and train on them alone, one full "
               "batch per step (SGD, lr %g, momentum 0.9). A network with %s parameters "
               "can memorise %d faces, so the loss must go to about 0 and the accuracy "
               "on them to 100%%. If it cannot, something is broken (a gradient, the "
               "learning rate, the labels): no point training further. It says nothing "
               "about new faces; that is lesson 7.",
               images, lr, description == arch_emotion_text ? "2.4 million" : "tens of thousands of",
               images);
    Network *net = create_cnn(description, "the overfit network", IMAGE_SIDE);
    network_init(net, rng);
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = lr, .momentum = 0.9, .weight_decay = 0});
    Tensor *x = tensor_new4(images, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)images * sizeof *labels);
    int *indices = xmalloc((size_t)images * sizeof *indices);
    for (int i = 0; i < images; i++) indices[i] = i;
    loader_fill_batch(train, indices, images, NULL, NULL, x, labels);

    double *loss = xcalloc((size_t)max_steps + 1, sizeof *loss);
    double *accuracy = xcalloc((size_t)max_steps + 1, sizeof *accuracy);
    int steps = 0, memorised_at = -1;
    double start = lesson_seconds();
    printf("  %5s %10s %10s\n", "step", "loss", "accuracy");
    for (; steps <= max_steps; steps++) {
        loss[steps] = network_loss(net, x, labels);
        accuracy[steps] = (double)count_correct(net->probs, labels) / images;
        if (!isfinite(loss[steps])) break;
        int first_time_right = accuracy[steps] == 1.0 && memorised_at < 0;
        if (first_time_right) memorised_at = steps;
        int last = (accuracy[steps] == 1.0 && loss[steps] < 0.01) || steps == max_steps;
        if (steps % 10 == 0 || first_time_right || last)
            printf("  %5d %10.4f %9.0f%%%s\n", steps, loss[steps], 100 * accuracy[steps],
                   first_time_right ? "   <- every face right" : "");
        if (last) {
            steps++;
            break;
        }
        network_loss_backward(net, labels, NULL);
        optimizer_step(sgd, net);
    }
    double seconds = lesson_seconds() - start;
    printf("\n");
    if (memorised_at >= 0)
        printf("  all %d faces right from step %d; loss %.4f after %d steps (%.1f s)\n\n",
               images, memorised_at, loss[steps - 1], steps - 1, seconds);
    else
        printf("  not all %d faces right after %d steps (loss %.4f)\n\n", images, steps - 1,
               loss[steps - 1]);

    char data_path[256], png_path[256];
    Error err;
    lesson_out_path(lesson, "overfit.dat", data_path, sizeof data_path);
    write_steps(data_path, loss, accuracy, steps);
    ChartSpec spec = {.title = "Overfitting a tiny batch: the loss must go to ~0",
                      .xlabel = "SGD step (one step = the whole tiny batch)",
                      .ylabel = "cross-entropy loss",
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = 2,
                      .y_columns = {2, 3},
                      .series_titles = {"cross-entropy loss (left axis)",
                                        "accuracy on the tiny batch (right axis)"},
                      .style = {{.no_points = 1}, {.right_axis = 1, .no_points = 1}},
                      .y2label = "accuracy (fraction right)",
                      .y2min = 0,
                      .y2max = 1,
                      .key = "center right",
                      .large = 1};
    lesson_out_path(lesson, "overfit.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &spec, &err), png_path,
                      "loss and accuracy on the tiny batch", &err);
    if (lesson->terminal) {
        const double *series[] = {loss, accuracy};
        const char *names[] = {"loss", "accuracy"};
        text_chart_lines(stdout, "overfitting a tiny batch", series, names, 2, steps, 60, 12);
    }
    printf("\n");
    if (memorised_at < 0) {
        lesson_say("The network did not memorise the batch within %d steps. With the "
                   "default settings it does: if you changed --lr, try it again with the "
                   "default; if not, something is broken.", max_steps);
        if (!lesson->quick) lesson->failures++;
    } else {
        lesson_say("The loss ends near 0 and every face is classified right: the network "
                   "can learn, which is what this check asks. It has learned these %d faces "
                   "by heart, not what an emotion looks like; and, as the next section "
                   "shows, memorising does not prove the gradients right.", images);
        int peak = 0;
        for (int k = 1; k < steps && k <= 10; k++)
            if (loss[k] > loss[peak]) peak = k;
        if (loss[peak] > 1.2 * loss[0])
            lesson_say("The first steps overshoot: the loss jumps from %.2f to %.2f at step "
                       "%d before it settles (the table shows every 10th step, the chart "
                       "every step). The first gradients are large, and momentum keeps "
                       "adding them up; lr %g is a large step for this batch (--lr %g starts "
                       "smoothly but needs about twice the steps).",
                       loss[0], loss[peak], peak, lr, lr / 2);
        /* a later bump: the loss well above the lowest it had reached */
        int bump = -1;
        double lowest = loss[0];
        for (int k = 11; k < steps; k++) {
            lowest = fmin(lowest, loss[k - 1]);
            if (loss[k] > 2 * lowest && (bump < 0 || loss[k] > loss[bump])) bump = k;
        }
        if (bump >= 0)
            lesson_say("Later the loss climbs again, to %.2f at step %d, before it falls "
                       "again: momentum carries the weights past the bottom of a valley and up "
                       "its far side before they turn back.", loss[bump], bump);
    }
    free(loss);
    free(accuracy);
    free(indices);
    free(labels);
    tensor_free(x);
    optimizer_free(sgd);
    network_free(net);
}

/* Trains net on the first `images` faces, full batch, as section_overfit
 * does but silently; returns the first step at which every face is right
 * (-1 if none within max_steps), and the loss then in *loss_then. */
static int memorise(Network *net, const Dataset *train, int images, int max_steps, double lr,
                    double *loss_then)
{
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = lr, .momentum = 0.9, .weight_decay = 0});
    Tensor *x = tensor_new4(images, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)images * sizeof *labels);
    int *indices = xmalloc((size_t)images * sizeof *indices);
    for (int i = 0; i < images; i++) indices[i] = i;
    loader_fill_batch(train, indices, images, NULL, NULL, x, labels);
    int memorised_at = -1;
    for (int step = 0; step <= max_steps && memorised_at < 0; step++) {
        double loss = network_loss(net, x, labels);
        if (!isfinite(loss)) break;
        if (count_correct(net->probs, labels) == images) {
            memorised_at = step;
            *loss_then = loss;
            break;
        }
        network_loss_backward(net, labels, NULL);
        optimizer_step(sgd, net);
    }
    optimizer_free(sgd);
    free(indices);
    free(labels);
    tensor_free(x);
    return memorised_at;
}

/* The same two tests on a network with a wrong backward: ReLU's mask deleted. */
static void section_not_a_proof(Lesson *lesson, const char *description, const Dataset *train,
                                int images, int max_steps, double lr, Rng *rng)
{
    lesson_section(lesson, "Memorising is not a proof");
    if (images > train->count) images = train->count;
    lesson_say("Now break the network on purpose: delete ReLU's mask from its backward, so "
               "the gradient flows back through every unit, also those that were off "
               "(dx = dout instead of dx = dout where x > 0). The forward pass is untouched. "
               "First the whole-network check, on the small copy:");
    Network *small = create_cnn("conv 3 3x3 pad 1, relu, maxpool 2, conv 4 3x3 pad 1, relu, "
                                "maxpool 2, fc 10, relu, fc 7", "the small copy", CHECK_SIDE);
    Tensor *x = tensor_new4(CHECK_BATCH, 1, CHECK_SIDE, CHECK_SIDE);
    Tensor *dscores = tensor_new2(CHECK_BATCH, NUM_CLASSES);
    int labels[CHECK_BATCH], failed = -1;
    shrunk_faces(train, x);
    if (gradcheck_draw_loss_case(small, x, 0, dscores, labels, rng, 10000) > 0) {
        break_relus(small);
        failed = print_network_check(small, x, dscores, labels);
        printf("\n");
    }
    tensor_free(x);
    tensor_free(dscores);
    network_free(small);

    Network *net = create_cnn(description, "the overfit network", IMAGE_SIDE);
    network_init(net, rng);
    break_relus(net);
    double loss = 0;
    int memorised_at = memorise(net, train, images, max_steps, lr, &loss);
    network_free(net);
    if (memorised_at >= 0)
        printf("  the broken network, trained on the same %d faces: all right from step %d "
               "(loss %.4f)\n\n", images, memorised_at, loss);
    else
        printf("  the broken network, trained on the same %d faces: not all right after %d "
               "steps\n\n", images, max_steps);
    if (failed > 0 && memorised_at >= 0)
        lesson_say("%d rows of the check fail, yet the broken network memorises the faces "
                   "all the same: its gradients are wrong, but still point downhill often "
                   "enough for a network with many more parameters than faces. So "
                   "overfitting a tiny batch is a necessary sanity check (a network that "
                   "cannot do it is surely broken), never a proof that it is right. The "
                   "gradient check is the proof.", failed);
    else if (failed > 0)
        lesson_say("%d rows of the check fail, and this time the broken network also fails "
                   "to memorise the faces. It does not have to: a wrong gradient can still "
                   "go downhill often enough to memorise, so memorising proves nothing; only "
                   "the gradient check does.", failed);
    else
        lesson->failures++; /* the check must catch the deleted mask */
}

int main(int argc, char **argv)
{
    int images = 0, max_steps = 0; /* 0: 20 and 150, or 10 and 40 with --quick */
    double lr = 0.01;
    const LessonOption options[] = {
        /* one full batch, in double precision: about 1.7 MB a face */
        {.name = "--images", .kind = LESSON_OPTION_INT, .value = &images,
         .min = 1, .max = 200,
         .metavar = "N", .help = "faces in the tiny batch (default 20; 10 with --quick)"},
        {.name = "--steps", .kind = LESSON_OPTION_INT, .value = &max_steps,
         .min = 1, .max = 2000,
         .metavar = "N", .help = "most SGD steps on it (default 150; 40 with --quick)"},
        {.name = "--lr", .kind = LESSON_OPTION_DOUBLE, .value = &lr,
         .min = 0, .max = 10, .open = ARG_MIN_OPEN,
         .metavar = "RATE", .help = "learning rate (default 0.01)"},
    };
    Lesson lesson;
    lesson_begin(&lesson, 6, "Assembling the CNN",
                 "The layers stacked into the emotion CNN: the shape after every layer, "
                 "the gradient check of the whole network, and the first sanity check of "
                 "any new network, overfitting a tiny batch.",
                 argc, argv, options, 3);
    if (images == 0) images = lesson.quick ? 10 : 20;
    if (max_steps == 0) max_steps = lesson.quick ? 40 : 150;
    Rng rng;
    rng_seed(&rng, lesson.seed);
    Dataset train;
    lesson_load_split(&lesson, "train", 0, &train);

    lesson_say("The network is described in text, one layer per line, as in "
               "models/emotion.net (emotion train --model FILE takes such a file):");
    for (const char *line = arch_emotion_text; *line;) {
        const char *end = strchr(line, '\n');
        printf("    %.*s\n", (int)(end - line), line);
        line = end + 1;
    }
    printf("\n");
    lesson_say("Nothing says 48x48 or 7: the input shape comes from the data and the last "
               "layer must give one score per class. Building the network checks that each "
               "layer fits the map it meets.");
    Network *net = create_cnn(arch_emotion_text, "models/emotion.net", IMAGE_SIDE);
    network_init(net, &rng);
    section_shapes(&lesson, net, &train);
    section_initial_loss(&lesson, net, &train);
    network_free(net);
    section_gradcheck(&lesson, &train, &rng);

    /* Quick mode memorises with a narrower network (same layers), which
     * takes a fraction of a second instead of tens of seconds. */
    const char *overfit = lesson.quick ? "conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, "
                                         "relu, maxpool 2, fc 32, relu, fc 7"
                                       : arch_emotion_text;
    section_overfit(&lesson, overfit, &train, images, max_steps, lr, &rng);
    section_not_a_proof(&lesson, overfit, &train, images, max_steps, lr, &rng);

    const char *tries[] = {
        "Drop the 1/N in softmax_xent_backward (layers/softmax_xent.c), rebuild and rerun: "
        "which row of the whole-network check fails, and by what factor? (./gradcheck net "
        "shows the same.) Put it back afterwards.",
        "Overfit more faces: ./build/lessons/lesson6 --images 100 (or make lesson6 "
        "LESSON_FLAGS='--images 100'). How many steps does memorising take now?",
        "Try a learning rate too large (the same way, --lr 0.5): the tiny-batch loss jumps "
        "around or becomes NaN. Too small (--lr 0.0005): it barely moves in 150 steps.",
        "Copy models/emotion.net, change its widths or add a third conv block, and "
        "predict the new parameter counts; ./emotion train --model YOURS.net --epochs 1 "
        "prints the table to check them.",
        "Next, lesson 7 trains this network on all the faces.",
    };
    lesson_try_next(&lesson, tries, 5);
    dataset_free(&train);
    return lesson_end(&lesson);
}
