/* Lesson 8: looking inside.
 *
 * What did the trained network learn, and where does it fail? With the
 * checkpoint of lesson 7 (or a short training when there is none):
 *   - the confusion matrix on the test faces, as a heatmap;
 *   - accuracy per class, and what a rare class (Disgust) gets;
 *   - the 32 learned 3x3 filters of conv1, and what they make of one face;
 *   - saliency maps: |d score_c / d x|, which pixels move the score most;
 *   - the faces it gets most confidently wrong.
 *
 * Built with the float library. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch.h"
#include "checkpoint.h"
#include "classes.h"
#include "conv.h"
#include "lesson_common.h"
#include "metrics.h"
#include "network.h"
#include "softmax_xent.h"
#include "sgd.h"
#include "train.h"

#define FILTER_ZOOM 8      /* each kernel weight drawn as 8x8 pixels: a 3x3 as 24x24 */
#define WRONG_SHOWN 12     /* confidently wrong faces in the montage */
#define MAPS_PER_ROW 8     /* filters and feature maps per row of their charts */

/* The network's answer for every test face. */
typedef struct {
    int count;
    real *probs;      /* (count, K) softmax probabilities */
    int *predicted;   /* (count,) argmax */
} Predictions;

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A short training, for when lesson 7 has not been run. */
static Network *train_short_model(const Lesson *lesson, const Dataset *train, int epochs)
{
    Error err;
    Network *net = arch_build_text(arch_emotion_text, "models/emotion.net", 1, IMAGE_SIDE,
                                   IMAGE_SIDE, NUM_CLASSES, &err);
    if (!net) {
        fprintf(stderr, "lesson8: %s\n", err.msg);
        exit(1);
    }
    Rng rng;
    rng_seed(&rng, lesson->seed);
    network_init(net, &rng);
    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = 0.02, .momentum = 0.9, .weight_decay = 5e-4});
    Loader loader;
    loader_init(&loader, train, 64, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = lesson->seed});
    for (int epoch = 0; epoch < epochs; epoch++) {
        EpochResult result;
        Progress bar;
        progress_begin(&bar, "  training", train->count);
        int status = train_epoch(net, sgd, &loader, epoch, &bar, &result, &err);
        progress_end(&bar);
        if (status != 0) {
            fprintf(stderr, "lesson8: %s\n", err.msg);
            exit(1);
        }
        printf("  epoch %d: running train loss %.4f, accuracy %.1f%%\n", epoch + 1, result.loss,
               100 * result.accuracy);
    }
    printf("\n");
    loader_free(&loader);
    optimizer_free(sgd);
    return net;
}

/* Lesson 7 leaves "<model>.data.txt" naming the dataset it trained on; a
 * model trained on one dataset says little about another's faces. */
static void warn_if_other_data(const Lesson *lesson, const char *model_path)
{
    size_t len = strlen(model_path);
    if (len < 4 || strcmp(model_path + len - 4, ".npz") != 0) return;
    char note_path[300], trained_on[256] = "";
    snprintf(note_path, sizeof note_path, "%.*s.data.txt", (int)(len - 4), model_path);
    FILE *note = fopen(note_path, "r");
    if (!note) return;
    if (fgets(trained_on, sizeof trained_on, note)) trained_on[strcspn(trained_on, "\n")] = 0;
    fclose(note);
    const char *looking_at = lesson->quick && !lesson->data_given ? "(quick synthetic set)"
                                                                  : lesson->data_path;
    printf("  trained on %s\n", trained_on);
    if (trained_on[0] && strcmp(trained_on, looking_at) != 0)
        printf("  NOTE: this lesson is looking at %s, another dataset: run lesson 7 with the\n"
               "  same --data first, or pass --model.\n", looking_at);
}

/* Everything below feeds the checkpoint this lesson's faces and reads one
 * score per class: it must be a network for (C, H, W) images of the data's
 * shape with exactly NUM_CLASSES scores. Any other would stop at its first
 * layer, or at the loss, so it is refused here, naming both sides. */
static void check_model_fits(const Lesson *lesson, const char *model_path, const Network *net,
                             const Dataset *train)
{
    const int *in = net->input_dims, scores = network_output_size(net);
    const char *data_name = lesson->quick && !lesson->data_given ? "the quick synthetic faces"
                                                                 : lesson->data_path;
    Error err;
    if (dataset_check_fits(train, data_name, in[0], in[1], in[2], scores, &err) == 0) {
        if (scores == NUM_CLASSES) return;
        snprintf(err.msg, sizeof err.msg, "lesson 8 reads exactly %d scores, one for each emotion "
                 "it names (%s ... %s)", NUM_CLASSES, class_names[0], class_names[NUM_CLASSES - 1]);
    }
    fprintf(stderr, "lesson8: %s is a network for (C, H, W) = (%d, %d, %d) images in %d classes, "
            "which does not fit this lesson's faces:\n  %s\n", model_path, in[0], in[1], in[2],
            scores, err.msg);
    exit(1);
}

static Network *section_model(Lesson *lesson, const char *model_path, const Dataset *train,
                              int epochs)
{
    lesson_section(lesson, "The trained network");
    if (file_exists(model_path)) {
        Error err;
        Network *net = checkpoint_load(model_path, NULL, &err);
        if (!net) {
            fprintf(stderr, "lesson8: %s\n", err.msg);
            exit(1);
        }
        check_model_fits(lesson, model_path, net, train);
        printf("  loaded %s: %zu parameters, the network it describes:\n", model_path,
               network_param_count(net));
        arch_print_table(stdout, net);
        warn_if_other_data(lesson, model_path);
        printf("\n");
        lesson_say("These are the weights lesson 7 trained and saved. Everything below "
                   "only reads them: no training happens in this lesson.");
        return net;
    }
    lesson_say("There is no %s yet (lesson 7 writes it). Training a short model instead: "
               "%d epoch%s with augmentation, the settings of lesson 7. It will be weaker "
               "than lesson 7's; for the real picture run `make lesson7` first, then this "
               "lesson again.",
               model_path, epochs, epochs == 1 ? "" : "s");
    return train_short_model(lesson, train, epochs);
}

/* Runs net over every test face, in order, and keeps its probabilities. */
static void predict_all(Network *net, const Dataset *test, Predictions *p)
{
    enum { BATCH = 256 };
    p->count = test->count;
    p->probs = xmalloc((size_t)test->count * NUM_CLASSES * sizeof *p->probs);
    p->predicted = xmalloc((size_t)test->count * sizeof *p->predicted);
    Loader loader;
    loader_init(&loader, test, BATCH, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 0});
    Tensor *x = tensor_new4(BATCH, 1, IMAGE_SIDE, IMAGE_SIDE);
    int labels[BATCH], n;
    while ((n = loader_next(&loader, x, labels)) > 0) {
        network_loss(net, x, labels);
        const int *indices = loader_batch_indices(&loader);
        for (int i = 0; i < n; i++) {
            const real *row = net->probs->data + (size_t)i * NUM_CLASSES;
            memcpy(p->probs + (size_t)indices[i] * NUM_CLASSES, row, NUM_CLASSES * sizeof *row);
            p->predicted[indices[i]] = argmax(row, NUM_CLASSES);
        }
    }
    tensor_free(x);
    loader_free(&loader);
}

static void section_confusion(Lesson *lesson, const Dataset *test, const Predictions *p,
                              ClassMetrics *m)
{
    lesson_section(lesson, "The confusion matrix");
    metrics_compute(test->labels, p->predicted, test->count, NUM_CLASSES, m);
    int worst_true = 0, worst_said = 1;
    for (int t = 0; t < NUM_CLASSES; t++)
        for (int q = 0; q < NUM_CLASSES; q++)
            if (t != q && m->confusion[t][q] > m->confusion[worst_true][worst_said]) {
                worst_true = t;
                worst_said = q;
            }
    lesson_say("Every one of the %d test faces lands in one cell: its row is the true "
               "class, its column the class the network gave the highest probability. "
               "The diagonal holds the right answers (%ld, accuracy %.1f%%); every "
               "off-diagonal cell is one particular mistake. The most common here: %s "
               "faces taken for %s (%ld faces, row %s, column %s).",
               test->count, m->correct, 100 * m->accuracy, class_names[worst_true],
               class_names[worst_said], m->confusion[worst_true][worst_said],
               class_names[worst_true], class_names[worst_said]);
    metrics_print_confusion(stdout, m, class_names);
    printf("\n");

    double matrix[NUM_CLASSES * NUM_CLASSES];
    for (int t = 0; t < NUM_CLASSES; t++)
        for (int q = 0; q < NUM_CLASSES; q++) matrix[t * NUM_CLASSES + q] = (double)m->confusion[t][q];
    char png_path[256];
    Error err;
    lesson_out_path(lesson, "confusion.png", png_path, sizeof png_path);
    int status = chart_heatmap(png_path, "Confusion matrix on the test faces", matrix, NUM_CLASSES,
                               NUM_CLASSES, class_names, class_names, "predicted class",
                               "true class", &err);
    lesson_chart_done(lesson, status, png_path, "confusion matrix heatmap", &err);
    printf("\n");
    lesson_say("Which cells fill up tells what the network finds hard: the mistakes gather "
               "between classes whose faces differ only in small details, and a column that "
               "collects many rows (often a common class) is the network's answer when it "
               "is unsure.");
}

static void section_per_class(Lesson *lesson, const Dataset *train, const ClassMetrics *m)
{
    lesson_section(lesson, "Accuracy per class, and class imbalance");
    int train_counts[NUM_CLASSES];
    lesson_class_counts(train, train_counts);
    double recall_percent[NUM_CLASSES];
    printf("  %-9s %14s %12s %14s %10s\n", "class", "train images", "test images",
           "right (recall)", "precision");
    for (int c = 0; c < NUM_CLASSES; c++) {
        recall_percent[c] = round(1000 * m->recall[c]) / 10; /* one decimal on the chart */
        printf("  %-9s %8d (%4.1f%%) %12ld %13.1f%% %9.1f%%\n", class_names[c], train_counts[c],
               100.0 * train_counts[c] / train->count, m->support[c], recall_percent[c],
               100 * m->precision[c]);
    }
    printf("\n  accuracy %.1f%%, macro-F1 %.3f (the mean of the per-class F1 scores)\n\n",
           100 * m->accuracy, m->macro_f1);

    char png_path[256];
    Error err;
    lesson_out_path(lesson, "per_class.png", png_path, sizeof png_path);
    int status = chart_bars(png_path, "Test faces classified right, per class (recall)",
                            recall_percent, NUM_CLASSES, class_names, "true class",
                            "% of the class's test faces classified right", &err);
    lesson_chart_done(lesson, status, png_path, "accuracy per class", &err);
    if (lesson->terminal)
        lesson_text_bars(stdout, "% right per class", recall_percent, class_names, NUM_CLASSES);
    printf("\n");
    lesson_say("Disgust is %.1f%% of the training faces (as in FER2013). The loss is an "
               "average over faces, so Disgust contributes few of the gradients: "
               "the network gains little by learning it, and when unsure, answering a "
               "common class is right more often. Its recall is usually the lowest. "
               "Accuracy hides this (Disgust is only %ld of the %ld test faces); macro-F1, "
               "which counts every class equally, does not. Remedies: weight the loss by "
               "inverse class frequency, or sample rare classes more often.",
               100.0 * train_counts[1] / train->count, m->support[1], m->total);
}

/* Nearest-neighbour resampling of a (h, w) grey image to (out_h, out_w):
 * each output pixel takes the input pixel it falls on. */
static void stretch(const uint8_t *in, int h, int w, uint8_t *out, int out_h, int out_w)
{
    for (int y = 0; y < out_h; y++)
        for (int x = 0; x < out_w; x++) out[y * out_w + x] = in[(y * h / out_h) * w + x * w / out_w];
}

static void section_filters(Lesson *lesson, Network *net, const Dataset *test,
                            const Predictions *p)
{
    lesson_section(lesson, "The learned first-layer filters");
    if (strcmp(net->layers[0]->ops->kind, "conv") != 0) {
        lesson_say("This network's first layer is %s (%s), not a convolution: it has no "
                   "filters to show. Lesson 7's network starts with conv1.",
                   net->layers[0]->name, net->layers[0]->ops->kind);
        return;
    }
    ConvLayer *conv1 = (ConvLayer *)net->layers[0];
    const Tensor *w = conv1->w;
    const int filters = w->dim[0], kh = w->dim[2], kw = w->dim[3];
    char shape[64];
    printf("  conv1.w %s: %d filters of %dx%d over the one grey channel\n\n",
           tensor_shape_string(w, shape, sizeof shape), filters, kh, kw);
    const int side = kh * FILTER_ZOOM, kernel = kh * kw;
    uint8_t *small = xmalloc((size_t)kernel);
    uint8_t *images = xmalloc((size_t)filters * side * kw * FILTER_ZOOM);
    char (*filter_captions)[24] = xmalloc((size_t)filters * sizeof *filter_captions);
    const char **filter_caption_ptrs = xmalloc((size_t)filters * sizeof *filter_caption_ptrs);
    for (int f = 0; f < filters; f++) {
        /* Each filter scaled on its own, 0 = mid grey: white weights add the
         * pixel under them, black ones subtract it. */
        lesson_map_to_grey(w->data + (size_t)f * kernel, kernel, 1, small);
        stretch(small, kh, kw, images + (size_t)f * side * kw * FILTER_ZOOM, side, kw * FILTER_ZOOM);
        snprintf(filter_captions[f], sizeof filter_captions[f], "filter %d", f);
        filter_caption_ptrs[f] = filter_captions[f];
    }
    /* Large lettering and large tiles: these charts are for a projector. */
    const ChartImagesStyle big = {.large = 1, .width = 1400};
    char png_path[256];
    Error err;
    char filters_title[96];
    snprintf(filters_title, sizeof filters_title, "conv1's %dx%d filters (white +, black -, grey 0)",
             kh, kw);
    lesson_out_path(lesson, "filters.png", png_path, sizeof png_path);
    int status = chart_images_styled(png_path, filters_title, images, filters, side,
                                     kw * FILTER_ZOOM, MAPS_PER_ROW, filter_caption_ptrs, &big, &err);
    lesson_chart_done(lesson, status, png_path, "the learned conv1 filters, numbered", &err);
    printf("\n");

    /* What those filters make of one face: conv1's maps before ReLU, in rows
     * of MAPS_PER_ROW, each row starting with the face itself so that every
     * map sits next to what it was computed from. A map of another size than
     * the face (a stride of 2 halves it) is stretched to the face's. */
    const int face = 0;
    Tensor *x = tensor_new4(1, 1, IMAGE_SIDE, IMAGE_SIDE);
    lesson_face_tensor(test, face, x);
    Tensor *maps = tensor_new2(1, 1);
    layer_forward(net->layers[0], x, maps); /* conv1 alone: the maps before ReLU, (1, F, H, W) */
    const int map_h = maps->dim[2], map_w = maps->dim[3], map_size = map_h * map_w;
    uint8_t *map_grey = xmalloc((size_t)map_size);
    const int rows = (filters + MAPS_PER_ROW - 1) / MAPS_PER_ROW, columns = 1 + MAPS_PER_ROW;
    const int tiles = rows * columns;
    uint8_t *map_images = xmalloc((size_t)tiles * IMAGE_PIXELS);
    memset(map_images, 255, (size_t)tiles * IMAGE_PIXELS); /* a missing map stays white */
    char (*captions)[24] = xcalloc((size_t)tiles, sizeof *captions);
    const char **caption_ptrs = xmalloc((size_t)tiles * sizeof *caption_ptrs);
    for (int r = 0; r < rows; r++) {
        uint8_t *row = map_images + (size_t)r * columns * IMAGE_PIXELS;
        memcpy(row, test->images + (size_t)face * IMAGE_PIXELS, IMAGE_PIXELS);
        snprintf(captions[r * columns], sizeof captions[0], "test face %d", face);
        for (int k = 0; k < MAPS_PER_ROW; k++) {
            int f = r * MAPS_PER_ROW + k;
            if (f >= filters) break;
            lesson_map_to_grey(maps->data + (size_t)f * map_size, map_size, 1, map_grey);
            stretch(map_grey, map_h, map_w, row + (size_t)(1 + k) * IMAGE_PIXELS, IMAGE_SIDE,
                    IMAGE_SIDE);
            snprintf(captions[r * columns + 1 + k], sizeof captions[0], "filter %d", f);
        }
    }
    for (int t = 0; t < tiles; t++) caption_ptrs[t] = captions[t];
    const int truth = test->labels[face], said = p->predicted[face];
    char title[160];
    snprintf(title, sizeof title, "conv1's %d maps of test face %d (%s, said %s), before ReLU: "
             "white +, black -, grey 0", filters, face, class_names[truth], class_names[said]);
    printf("  the face: test face %d, true class %s, the network says %s (%.1f%%)\n", face,
           class_names[truth], class_names[said], 100 * p->probs[(size_t)face * NUM_CLASSES + said]);
    lesson_out_path(lesson, "feature_maps.png", png_path, sizeof png_path);
    status = chart_images_styled(png_path, title, map_images, tiles, IMAGE_SIDE, IMAGE_SIDE,
                                 columns, caption_ptrs, &(ChartImagesStyle){.large = 1, .width = 1800},
                                 &err);
    lesson_chart_done(lesson, status, png_path,
                      "conv1's feature maps of one face, each row led by the face", &err);
    printf("\n");
    lesson_say("Nobody designed these filters: they started as random numbers and gradient "
               "descent shaped them. Look for the ones like the hand-made edge filters of "
               "lesson 2, light on one side and dark on the other: edges are what the later "
               "layers need to find eyebrows and mouths. Others still look close to random: "
               "a %dx%d filter has only %d weights, a few epochs move them little, and what "
               "matters is the maps they produce together. feature_maps.png shows them: "
               "each row starts with the face and goes on with %d maps, each under the "
               "number of the filter that made it in filters.png, all %d before conv1's "
               "ReLU. A map lights up (white) where its filter's pattern occurs in the "
               "face and goes dark where the opposite does; many of them outline the eyes, "
               "brows and mouth, and a filter whose weights add up to a positive number "
               "gives a light copy of the whole face, one adding up to a negative number "
               "a dark one.", kh, kw, kernel, MAPS_PER_ROW, filters);
    free(caption_ptrs);
    free(captions);
    free(map_grey);
    free(map_images);
    tensor_free(maps);
    tensor_free(x);
    free(filter_caption_ptrs);
    free(filter_captions);
    free(images);
    free(small);
}

/* Index of one test face per class, preferring faces the network gets
 * right (their saliency shows what it uses); -1 when a class is absent. */
static void one_face_per_class(const Dataset *test, const Predictions *p, int *chosen)
{
    for (int c = 0; c < NUM_CLASSES; c++) {
        chosen[c] = -1;
        for (int i = 0; i < test->count; i++) {
            if (test->labels[i] != c) continue;
            if (chosen[c] < 0) chosen[c] = i;
            if (p->predicted[i] == c) {
                chosen[c] = i;
                break;
            }
        }
    }
}

static void section_saliency(Lesson *lesson, Network *net, const Dataset *test,
                             const Predictions *p)
{
    lesson_section(lesson, "Saliency: which pixels matter");
    lesson_say("Backpropagation gives the gradient of any number the network computes with "
               "respect to anything below it, the input image included. Start the backward "
               "pass from dscores = onehot(c) instead of the loss's gradient, and "
               "network_backward delivers dx = d score_c / d x: how much the score of class c "
               "changes when each pixel gets a little brighter. Its size |dx| is a saliency "
               "map: bright where the pixels matter most for the decision.");
    int chosen[NUM_CLASSES];
    one_face_per_class(test, p, chosen);
    enum { PER_FACE = 3 };
    uint8_t *images = xcalloc((size_t)NUM_CLASSES * PER_FACE * IMAGE_PIXELS, 1);
    char captions[NUM_CLASSES * PER_FACE][48];
    const char *caption_ptrs[NUM_CLASSES * PER_FACE];
    Tensor *x = tensor_new4(1, 1, IMAGE_SIDE, IMAGE_SIDE);
    Tensor *dx = tensor_like(x);
    Tensor *dscores = tensor_new2(1, NUM_CLASSES);
    real saliency[IMAGE_PIXELS];
    int shown = 0;
    for (int c = 0; c < NUM_CLASSES; c++) {
        int i = chosen[c];
        if (i < 0) continue;
        lesson_face_tensor(test, i, x);
        network_forward(net, x);
        tensor_zero(dscores);
        dscores->data[c] = 1; /* the score of the true class */
        network_backward(net, dscores, dx);
        for (int k = 0; k < IMAGE_PIXELS; k++) saliency[k] = (real)fabs(dx->data[k]);

        uint8_t *face = images + (size_t)shown * PER_FACE * IMAGE_PIXELS;
        uint8_t *map = face + IMAGE_PIXELS, *overlay = map + IMAGE_PIXELS;
        memcpy(face, test->images + (size_t)i * IMAGE_PIXELS, IMAGE_PIXELS);
        lesson_map_to_grey(saliency, IMAGE_PIXELS, 0, map);
        /* Over the face: the face dimmed to 40%, the saliency added on top. */
        for (int k = 0; k < IMAGE_PIXELS; k++)
            overlay[k] = (uint8_t)fmin(255.0, 0.4 * face[k] + 0.8 * map[k]);
        snprintf(captions[shown * PER_FACE], 48, "%s%s", class_names[c],
                 p->predicted[i] == c ? "" : " (missed)");
        snprintf(captions[shown * PER_FACE + 1], 48, "|d %s / dx|", class_names[c]);
        snprintf(captions[shown * PER_FACE + 2], 48, "over the face");
        shown++;
    }
    for (int k = 0; k < shown * PER_FACE; k++) caption_ptrs[k] = captions[k];
    char png_path[256];
    Error err;
    lesson_out_path(lesson, "saliency.png", png_path, sizeof png_path);
    int status = chart_images(png_path, "Saliency |d score(true class) / d pixel|, one face per class",
                              images, shown * PER_FACE, IMAGE_SIDE, IMAGE_SIDE, 2 * PER_FACE,
                              caption_ptrs, &err);
    lesson_chart_done(lesson, status, png_path, "saliency maps", &err);
    if (lesson->terminal && shown > 0) {
        printf("\n  saliency of the first face (%s), as text:\n", captions[0]);
        lesson_text_image(stdout, images + IMAGE_PIXELS, IMAGE_SIDE, IMAGE_SIDE, 2);
    }
    printf("\n");
    lesson_say("A network that has learned the right thing looks at the mouth, the eyes and "
               "the eyebrows, where the emotions differ. Saliency spread over the background "
               "or the outline of the head would mean it found a shortcut that happens to "
               "work on these faces.");
    tensor_free(dscores);
    tensor_free(dx);
    tensor_free(x);
    free(images);
}

/* Wrong answers, most confident first: index and the probability it gave
 * to its (wrong) answer. */
typedef struct {
    int index;
    double confidence;
} WrongAnswer;

static int by_confidence_descending(const void *a, const void *b)
{
    double ca = ((const WrongAnswer *)a)->confidence, cb = ((const WrongAnswer *)b)->confidence;
    return (ca < cb) - (ca > cb);
}

static void section_wrong(Lesson *lesson, const Dataset *test, const Predictions *p)
{
    lesson_section(lesson, "The most confidently wrong faces");
    WrongAnswer *wrong = xmalloc((size_t)test->count * sizeof *wrong);
    int count = 0;
    for (int i = 0; i < test->count; i++) {
        int q = p->predicted[i];
        if (q == test->labels[i]) continue;
        wrong[count].index = i;
        wrong[count].confidence = p->probs[(size_t)i * NUM_CLASSES + q];
        count++;
    }
    qsort(wrong, (size_t)count, sizeof *wrong, by_confidence_descending);
    int shown = count < WRONG_SHOWN ? count : WRONG_SHOWN;
    printf("  %d of %d test faces are wrong; the %d most confident mistakes:\n\n", count,
           test->count, shown);
    printf("  %6s  %-9s %-9s %10s %12s\n", "face", "true", "said", "with p", "p(true)");
    uint8_t *images = xmalloc((size_t)(shown > 0 ? shown : 1) * IMAGE_PIXELS);
    char captions[WRONG_SHOWN][48];
    const char *caption_ptrs[WRONG_SHOWN];
    for (int k = 0; k < shown; k++) {
        int i = wrong[k].index, t = test->labels[i], q = p->predicted[i];
        printf("  %6d  %-9s %-9s %9.1f%% %11.1f%%\n", i, class_names[t], class_names[q],
               100 * wrong[k].confidence, 100 * p->probs[(size_t)i * NUM_CLASSES + t]);
        memcpy(images + (size_t)k * IMAGE_PIXELS, test->images + (size_t)i * IMAGE_PIXELS,
               IMAGE_PIXELS);
        snprintf(captions[k], sizeof captions[k], "%s, said %s %.1f%%", class_names[t],
                 class_names[q], 100 * wrong[k].confidence);
        caption_ptrs[k] = captions[k];
    }
    printf("\n");
    if (shown > 0) {
        char png_path[256];
        Error err;
        lesson_out_path(lesson, "wrong.png", png_path, sizeof png_path);
        int status = chart_images(png_path, "Most confidently wrong: true class, said (probability)",
                                  images, shown, IMAGE_SIDE, IMAGE_SIDE, 4, caption_ptrs, &err);
        lesson_chart_done(lesson, status, png_path, "the most confidently wrong faces", &err);
        printf("\n");
    }
    lesson_say("Look at them before blaming the network: some would fool a person too (an "
               "ambiguous face, or, in FER2013, a wrong label); others show a pattern the "
               "network over-trusts, like an open mouth meaning Surprise.");
    if (shown > 0 && wrong[0].confidence > 0.9)
        lesson_say("A probability of %.1f%% on a wrong answer is a reminder that softmax "
                   "outputs are scores the training pushed towards 0 and 1, not calibrated "
                   "certainties.", 100 * wrong[0].confidence);
    free(images);
    free(wrong);
}

int main(int argc, char **argv)
{
    const char *model_path = NULL;
    int epochs = 0; /* 0: 2, or 1 with --quick */
    const LessonOption options[] = {
        {.name = "--model", .kind = LESSON_OPTION_STRING, .value = &model_path,
         .metavar = "FILE", .help = "checkpoint (default out/lesson7/model.npz; "
                                    "out/quick/lesson7/model_quick.npz with --quick)"},
        {.name = "--epochs", .kind = LESSON_OPTION_INT, .value = &epochs,
         .min = 1, .max = 1000,
         .metavar = "N", .help = "training epochs when there is no checkpoint (default 2; 1 with "
                                 "--quick)"},
    };
    Lesson lesson;
    lesson_begin(&lesson, 8, "Looking inside",
                 "What the trained network learned and where it fails: the confusion matrix, "
                 "accuracy per class and class imbalance, the learned first-layer filters, "
                 "saliency maps, and the most confidently wrong faces.",
                 argc, argv, options, 2);
    if (!model_path) model_path = lesson.quick ? "out/quick/lesson7/model_quick.npz" : "out/lesson7/model.npz";
    if (epochs == 0) epochs = lesson.quick ? 1 : 2;
    Dataset train, test;
    lesson_load_split(&lesson, "train", 0, &train);
    lesson_load_split(&lesson, "test", 0, &test);

    Network *net = section_model(&lesson, model_path, &train, epochs);
    Predictions predictions;
    predict_all(net, &test, &predictions);
    ClassMetrics m;
    section_confusion(&lesson, &test, &predictions, &m);
    section_per_class(&lesson, &train, &m);
    section_filters(&lesson, net, &test, &predictions);
    section_saliency(&lesson, net, &test, &predictions);
    section_wrong(&lesson, &test, &predictions);

    const char *tries[] = {
        "Compare models: run lesson 7 with --epochs 2 and with --epochs 20, then this "
        "lesson after each. Which classes improve, and do the filters get sharper?",
        "Saliency of another class: change dscores->data[c] in section_saliency to the "
        "predicted class of a wrong face. What did the network look at?",
        "Balance the classes: ./emotion data synth --balanced --out data/balanced.npz "
        "writes equal class counts (without --out it would replace data/synth.npz, the "
        "faces every lesson reads); train on them with make lesson7 DATA=data/balanced.npz, "
        "look with make lesson8 DATA=data/balanced.npz and compare Disgust's recall.",
        "On real faces: make lesson7 DATA=data/fer2013.npz, then make lesson8 "
        "DATA=data/fer2013.npz. Which emotions does FER2013 confuse?",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    metrics_free(&m);
    free(predictions.probs);
    free(predictions.predicted);
    network_free(net);
    dataset_free(&train);
    dataset_free(&test);
    return lesson_end(&lesson);
}
