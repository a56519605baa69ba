/* Lesson 7: training the emotion CNN.
 *
 * The network of lesson 6 trained on all the training faces with
 * mini-batch SGD and momentum, twice from the same starting weights: once
 * on the images as they are, once with the loader's augmentation (random
 * flips and shifts). Loss and accuracy curves of both on one chart each,
 * the test accuracy against lesson 5's linear baseline, and the trained
 * weights of the run with augmentation written as an .npz that numpy opens
 * (and lesson 8 looks inside).
 *
 * Built with the float library: training is float work. The training loop
 * is src/train.h's, the one `./emotion train` runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "checkpoint.h"
#include "classes.h"
#include "lesson_common.h"
#include "network.h"
#include "sgd.h"
#include "train.h"

/* One training run, per epoch (index 0 = after epoch 1). */
typedef struct {
    const char *name;        /* "no augmentation", "augmentation" */
    int augment;
    double *train_loss;      /* running, as seen during the epoch */
    double *train_accuracy;
    double *val_loss;
    double *val_accuracy;
    double test_accuracy;    /* after the last epoch */
    double seconds;
    Network *net;
} Run;

typedef struct {
    int epochs;
    int batch_size;
    double lr;
    double momentum;
    double weight_decay;
} Settings;

static void run_alloc(Run *run, const char *name, int augment, int epochs)
{
    run->name = name;
    run->augment = augment;
    run->train_loss = xcalloc((size_t)epochs, sizeof(double));
    run->train_accuracy = xcalloc((size_t)epochs, sizeof(double));
    run->val_loss = xcalloc((size_t)epochs, sizeof(double));
    run->val_accuracy = xcalloc((size_t)epochs, sizeof(double));
    run->net = NULL;
}

static void run_free(Run *run)
{
    free(run->train_loss);
    free(run->train_accuracy);
    free(run->val_loss);
    free(run->val_accuracy);
    network_free(run->net);
}

/* A fresh emotion CNN with He weights drawn from `seed`: both runs start
 * from exactly the same weights, so any difference comes from augmentation. */
static Network *fresh_cnn(uint64_t seed)
{
    Error err;
    Network *net = arch_build_text(arch_emotion_text, "models/emotion.net", 1, IMAGE_SIDE,
                                   IMAGE_SIDE, NUM_CLASSES, &err);
    if (!net) {
        fprintf(stderr, "lesson7: %s\n", err.msg);
        exit(1);
    }
    Rng rng;
    rng_seed(&rng, seed);
    network_init(net, &rng);
    return net;
}

/* Trains run->net for settings->epochs epochs, printing one line per epoch. */
static void train_run(const Lesson *lesson, Run *run, const Settings *settings,
                      const Dataset *train, const Dataset *val, const Dataset *test)
{
    run->net = fresh_cnn(lesson->seed);
    Optimizer *sgd = sgd_create(run->net, (SgdConfig){.lr = settings->lr,
                                                .momentum = settings->momentum,
                                                .weight_decay = settings->weight_decay});
    Loader loader;
    loader_init(&loader, train, settings->batch_size,
                (LoaderOptions){.shuffle = 1, .augment = run->augment, .seed = lesson->seed});
    printf("  %s:\n", run->name);
    printf("  %5s %11s %10s %11s %10s %8s\n", "epoch", "train loss", "train acc", "val loss",
           "val acc", "seconds");
    double start = lesson_seconds();
    for (int epoch = 0; epoch < settings->epochs; epoch++) {
        Error err;
        EpochResult result;
        Progress bar;
        progress_begin(&bar, "  training", train->count);
        int status = train_epoch(run->net, sgd, &loader, epoch, &bar, &result, &err);
        progress_end(&bar);
        if (status != 0) {
            fprintf(stderr, "lesson7: %s (try a smaller --lr)\n", err.msg);
            exit(1);
        }
        run->train_loss[epoch] = result.loss;
        run->train_accuracy[epoch] = result.accuracy;
        run->val_loss[epoch] = evaluate(run->net, val, 256, &run->val_accuracy[epoch]);
        printf("  %5d %11.4f %9.1f%% %11.4f %9.1f%% %8.1f\n", epoch + 1, result.loss,
               100 * result.accuracy, run->val_loss[epoch], 100 * run->val_accuracy[epoch],
               result.seconds);
        fflush(stdout);
    }
    run->seconds = lesson_seconds() - start;
    evaluate(run->net, test, 256, &run->test_accuracy);
    printf("  (%.0f s; %.0f training images per second)\n\n", run->seconds,
           (double)train->count * settings->epochs / run->seconds);
    loader_free(&loader);
    optimizer_free(sgd);
}

/* Columns: epoch, then per run train loss, val loss, train acc, val acc. */
static void write_curves(const char *path, const Run *runs, int num_runs, int epochs)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "# epoch");
    for (int r = 0; r < num_runs; r++)
        fprintf(f, " | %s: train_loss val_loss train_accuracy val_accuracy", runs[r].name);
    fprintf(f, "\n");
    for (int e = 0; e < epochs; e++) {
        fprintf(f, "%d", e + 1);
        for (int r = 0; r < num_runs; r++)
            fprintf(f, " %.6f %.6f %.6f %.6f", runs[r].train_loss[e], runs[r].val_loss[e],
                    runs[r].train_accuracy[e], runs[r].val_accuracy[e]);
        fprintf(f, "\n");
    }
    fclose(f);
}

static void draw_charts(Lesson *lesson, const Run runs[2], int epochs)
{
    char data_path[256], png_path[256];
    Error err;
    lesson_out_path(lesson, "curves.dat", data_path, sizeof data_path);
    write_curves(data_path, runs, 2, epochs);
    ChartSpec loss = {.title = "Emotion CNN: loss per epoch, without and with augmentation",
                      .xlabel = "epoch",
                      .ylabel = "mean cross-entropy loss",
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = 4,
                      .y_columns = {2, 3, 6, 7},
                      .series_titles = {"train, no augmentation", "validation, no augmentation",
                                        "train (augmented images)", "validation, augmentation"},
                      /* one colour per run; training solid, validation dashed */
                      .style = {{.colour = 1}, {.colour = 1, .dashed = 1}, {.colour = 2},
                                {.colour = 2, .dashed = 1}},
                      .large = 1};
    lesson_out_path(lesson, "loss.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &loss, &err), png_path,
                      "loss curves of both trainings", &err);
    ChartSpec accuracy = loss;
    accuracy.title = "Emotion CNN: accuracy per epoch, without and with augmentation";
    accuracy.ylabel = "accuracy";
    accuracy.y_columns[0] = 4;
    accuracy.y_columns[1] = 5;
    accuracy.y_columns[2] = 8;
    accuracy.y_columns[3] = 9;
    accuracy.ymin = 0;
    accuracy.ymax = 1;
    accuracy.key = "bottom right"; /* the curves end near the top right */
    lesson_out_path(lesson, "accuracy.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &accuracy, &err), png_path,
                      "accuracy curves of both trainings", &err);
    if (lesson->terminal) {
        const double *series[] = {runs[0].val_accuracy, runs[1].val_accuracy};
        const char *names[] = {"validation accuracy, no augmentation",
                               "validation accuracy, augmentation"};
        printf("\n");
        text_chart_lines(stdout, "validation accuracy per epoch", series, names, 2, epochs, 60,
                         12);
    }
    printf("\n");
}

static void section_plan(Lesson *lesson, const Settings *s, const Dataset *train,
                         const Dataset *val)
{
    lesson_section(lesson, "The plan");
    lesson_say("The network is lesson 6's: conv-relu-pool twice, fc-relu, fc, 2.4 million "
               "parameters, He-initialised. It learns from the %d training faces; the %d "
               "validation faces are only measured, after every epoch, to see how well "
               "what it learned carries over to faces it has not seen.",
               train->count, val->count);
    lesson_say("Mini-batch SGD with momentum. Each step takes %d faces, computes the mean "
               "loss and every gradient g, and updates each parameter p with a velocity v:\n"
               "    v = momentum * v + g + weight_decay * p     (weight decay on weights only)\n"
               "    p = p - lr * v\n"
               "with lr %g, momentum %g, weight decay %g. v is a running sum of recent "
               "gradients: the noise of single batches partly cancels, steady directions "
               "add up (with momentum 0.9, a constant gradient moves p ten times as far "
               "per step). Weight decay pulls every weight gently towards 0, which keeps "
               "the 2.4 million weights from fitting noise. One epoch is %d steps.",
               s->batch_size, s->lr, s->momentum, s->weight_decay,
               (train->count + s->batch_size - 1) / s->batch_size);
    lesson_say("It trains twice, from the same starting weights and the same order of "
               "batches: first on the faces as they are, then with augmentation, where the "
               "loader flips each training face left-right with probability 1/2 and shifts "
               "it by up to %d pixels each way, afresh every epoch. Both keep the label: a "
               "mirrored smile is still a smile. Validation and test faces are never "
               "augmented.",
               AUGMENT_MAX_SHIFT);
}

static void section_results(Lesson *lesson, const Run runs[2], int epochs, int train_count)
{
    lesson_section(lesson, "What the curves show");
    for (int r = 0; r < 2; r++)
        printf("  %-16s  final train loss %.4f, val loss %.4f, val acc %.1f%%, test acc %.1f%%\n",
               runs[r].name, runs[r].train_loss[epochs - 1], runs[r].val_loss[epochs - 1],
               100 * runs[r].val_accuracy[epochs - 1], 100 * runs[r].test_accuracy);
    printf("  %-16s  test acc about 43%% (lesson 5)\n\n", "linear baseline");
    lesson_say("The training columns are running figures: the mean over the epoch's batches, "
               "each measured just before its own update, so they lag a little behind the "
               "network at the end of the epoch; with augmentation they are measured on the "
               "flipped and shifted faces.");
    const Run *plain = &runs[0], *augmented = &runs[1];
    const int last = epochs - 1;
    const int plain_lower = plain->train_loss[last] < augmented->train_loss[last];
    lesson_say("Without augmentation the network sees the very same %d images every epoch, "
               "so its training loss should fall faster: %.3f against %.3f at the end%s. "
               "Validation "
               "minus training loss is %.3f without augmentation and %.3f with it: a gap that "
               "opens is the start of overfitting, learning these faces rather than faces. "
               "With augmentation each epoch brings slightly different images, so the "
               "training loss stays higher (the task is harder) while the validation loss "
               "ends %s (%.3f against %.3f).",
               train_count, plain->train_loss[last], augmented->train_loss[last],
               plain_lower ? "" : " (not yet: too few steps for the difference to show)",
               plain->val_loss[last] - plain->train_loss[last],
               augmented->val_loss[last] - augmented->train_loss[last],
               augmented->val_loss[last] < plain->val_loss[last] ? "lower" : "no lower",
               augmented->val_loss[last], plain->val_loss[last]);
    lesson_say("Over %d epoch%s the difference is small. Train longer (--epochs 20) and watch "
               "the run without augmentation: its training loss keeps falling towards 0, "
               "while its validation loss stops following.",
               epochs, epochs == 1 ? "" : "s");
}

/* Saves the run with augmentation (chosen in advance, see below), reloads
 * it and checks the reloaded network scores the same, and shows how to open
 * the file in numpy. */
static void section_checkpoint(Lesson *lesson, const Run runs[2], int epochs,
                               const Dataset *val, const Dataset *test, const char *file)
{
    lesson_section(lesson, "The checkpoint");
    const Run *plain = &runs[0], *best = &runs[1];
    const double gap = 100 * (best->val_accuracy[epochs - 1] - plain->val_accuracy[epochs - 1]);
    lesson_say("Which run to keep? Their final validation accuracies are %.1f%% (%s) and "
               "%.1f%% (%s): %.1f points apart, %.0f of the %d validation faces. A gap that "
               "small is noise, not evidence. Even the last bits of the arithmetic decide "
               "it: the matrix multiply adds its products in a different order on "
               "processors with different vector units (AVX-512, AVX2, none), so on "
               "another machine these same two trainings drift apart from the ones above "
               "within their first steps, and can end the other way round. A "
               "rule 'keep the higher one' would then hand lesson 8 a different network "
               "from one machine to the next. So the choice is made in advance, for a "
               "reason: the run with augmentation, the way ./emotion train trains by "
               "default, because augmentation is what keeps a longer training from "
               "overfitting. (Choosing by validation accuracy is right when the gap is "
               "larger than the noise, e.g. several points, or consistent over several "
               "seeds; never choose by test accuracy.)",
               100 * plain->val_accuracy[epochs - 1], plain->name,
               100 * best->val_accuracy[epochs - 1], best->name, fabs(gap),
               fabs(gap) / 100 * val->count, val->count);
    char path[256];
    lesson_out_path(lesson, file, path, sizeof path);
    Error err;
    if (checkpoint_save(path, best->net, NULL, &err) != 0) {
        fprintf(stderr, "lesson7: %s\n", err.msg);
        exit(1);
    }
    /* A note beside it saying which data trained it, for lesson 8. */
    char note_path[300];
    snprintf(note_path, sizeof note_path, "%.*s.data.txt", (int)(strlen(path) - 4), path);
    FILE *note = fopen(note_path, "w");
    if (note) {
        fprintf(note, "%s\n", lesson->quick && !lesson->data_given ? "(quick synthetic set)"
                                                                   : lesson->data_path);
        fclose(note);
    }
    Network *reloaded = checkpoint_load(path, NULL, &err);
    if (!reloaded) {
        fprintf(stderr, "lesson7: %s\n", err.msg);
        exit(1);
    }
    double accuracy;
    evaluate(reloaded, test, 256, &accuracy);
    network_free(reloaded);
    int same = fabs(accuracy - best->test_accuracy) < 1e-12;
    if (!same) lesson->failures++;
    printf("  wrote %s (the %s run)\n", path, best->name);
    printf("  reloaded: test accuracy %.1f%% (%s)\n\n", 100 * accuracy,
           same ? "the same as before saving" : "DIFFERENT from before saving");
    lesson_say("The file is an ordinary numpy .npz: eight float32 arrays named after the "
               "layers, in the shapes the layers hold them, and the network's own "
               "description (arch), input shape and class names, so that eval and predict "
               "can rebuild it without being told. To look at it in Python:");
    printf("    >>> import numpy as np\n"
           "    >>> m = np.load(\"%s\")\n"
           "    >>> sorted(m.files)\n"
           "    ['arch', 'class_names', 'conv1.b', 'conv1.w', 'conv2.b', 'conv2.w', 'fc1.b',\n"
           "     'fc1.w', 'fc2.b', 'fc2.w', 'input_shape']\n"
           "    >>> print(bytes(m[\"arch\"]).decode())\n"
           "    conv 32 3x3 stride 1 pad 1\n"
           "    relu\n"
           "    ...\n"
           "    >>> m[\"conv1.w\"].shape        # (filters, channels, kH, kW)\n"
           "    (32, 1, 3, 3)\n"
           "    >>> m[\"fc1.w\"].shape          # (64*12*12, 256), rows in (C, H, W) order\n"
           "    (9216, 256)\n\n",
           path);
    lesson_say("`./emotion eval --model %s` scores it again, `./emotion predict` runs it "
               "on your own image, and lesson 8 opens it to look inside.", path);
}

int main(int argc, char **argv)
{
    Settings s = {.epochs = 0, .batch_size = 64, .lr = 0.02, .momentum = 0.9,
                  .weight_decay = 5e-4}; /* epochs 0: 6, or 1 with --quick */
    const LessonOption options[] = {
        {.name = "--epochs", .kind = LESSON_OPTION_INT, .value = &s.epochs,
         .min = 1, .max = 1000,
         .metavar = "N", .help = "epochs per training (default 6; 1 with --quick)"},
        /* about 1.5 MB a face in a batch: 1024 faces take 1.5 GB */
        {.name = "--batch", .kind = LESSON_OPTION_INT, .value = &s.batch_size,
         .min = 1, .max = 1024,
         .metavar = "N", .help = "mini-batch size (default 64)"},
        {.name = "--lr", .kind = LESSON_OPTION_DOUBLE, .value = &s.lr,
         .min = 0, .max = 10, .open = ARG_MIN_OPEN,
         .metavar = "RATE", .help = "learning rate (default 0.02)"},
        {.name = "--momentum", .kind = LESSON_OPTION_DOUBLE, .value = &s.momentum,
         .min = 0, .max = 1, .open = ARG_MAX_OPEN,
         .metavar = "M", .help = "SGD momentum (default 0.9)"},
        {.name = "--weight-decay", .kind = LESSON_OPTION_DOUBLE, .value = &s.weight_decay,
         .min = 0, .max = 1,
         .metavar = "WD", .help = "L2 penalty on the weights (default 5e-4)"},
    };
    Lesson lesson;
    lesson_begin(&lesson, 7, "Training the emotion CNN",
                 "Mini-batch SGD with momentum on all the training faces, twice: without "
                 "and with augmentation. Loss and accuracy curves of both, the test "
                 "accuracy against the linear baseline, and the checkpoint. The longest "
                 "lesson: about a minute on two cores.",
                 argc, argv, options, 5);
    if (s.epochs == 0) s.epochs = lesson.quick ? 1 : 6;
    Dataset train, val, test;
    /* Quick mode: 128 training faces, 64 each to measure (0 = the default count). */
    lesson_load_split(&lesson, "train", 128, &train);
    lesson_load_split(&lesson, "val", 64, &val);
    lesson_load_split(&lesson, "test", 64, &test);

    section_plan(&lesson, &s, &train, &val);
    lesson_section(&lesson, "Two trainings");
    Run runs[2];
    run_alloc(&runs[0], "no augmentation", 0, s.epochs);
    run_alloc(&runs[1], "augmentation", 1, s.epochs);
    for (int r = 0; r < 2; r++) train_run(&lesson, &runs[r], &s, &train, &val, &test);
    draw_charts(&lesson, runs, s.epochs);
    section_results(&lesson, runs, s.epochs, train.count);

    /* Quick mode must not overwrite a real model with its one-epoch one. */
    section_checkpoint(&lesson, runs, s.epochs, &val, &test,
                       lesson.quick ? "model_quick.npz" : "model.npz");

    const char *tries[] = {
        "Train longer: ./build/lessons/lesson7 --epochs 20. Where does the validation "
        "loss of the run without augmentation turn up? Does augmentation delay it?",
        "Turn momentum off (--momentum 0) and compare how fast the loss falls; then try "
        "--momentum 0 --lr 0.2, which takes steps of the same size on average.",
        "Too large a step: --lr 0.2. Does the loss explode (NaN), bounce, or settle "
        "somewhere? What is the validation accuracy then, and what answer is the "
        "network giving?",
        "No weight decay (--weight-decay 0): is the gap between train and validation wider?",
        "The same training from the command line: ./emotion train --epochs 6 (writes "
        "runs/ with its own charts).",
        "Write the SGD-momentum step yourself: sgd_momentum_step in "
        "exercises/optim.c; make grade EX=sgd_momentum_step compares it with the "
        "library's.",
        "Next, lesson 8 opens the checkpoint and looks at what the network learned.",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    run_free(&runs[0]);
    run_free(&runs[1]);
    dataset_free(&train);
    dataset_free(&val);
    dataset_free(&test);
    return lesson_end(&lesson);
}
