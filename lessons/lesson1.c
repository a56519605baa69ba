/* Lesson 1: the data.
 *
 * What a face is to the program (48x48 bytes), what the .npz file holds,
 * how many faces each class has, what the faces look like, and why
 * augmentation is done by the loader on the training split only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson_common.h"

#include "classes.h"
#include "npz.h"
#include "splits.h"
#include "synth.h"

#define MONTAGE_PER_CLASS 8
#define AUGMENT_EXAMPLES 8

static const char *const split_meaning[NUM_SPLITS] = {
    "FER2013 'Training': what the network learns from",
    "FER2013 'PublicTest': for choosing settings (epochs, rates)",
    "FER2013 'PrivateTest': looked at once, at the very end",
};

/* In quick mode there may be no file at all: write a small one under
 * out/lesson1/ so the inspection below still reads a real .npz. */
static const char *dataset_file_to_inspect(const Lesson *lesson, char *buf, size_t len)
{
    if (!lesson->quick || lesson->data_given) return lesson->data_path;
    lesson_out_path(lesson, "quick_synth.npz", buf, len);
    SynthOptions options = synth_default_options();
    options.count[SPLIT_TRAIN] = LESSON_QUICK_IMAGES;
    options.count[SPLIT_VAL] = LESSON_QUICK_IMAGES / 4;
    options.count[SPLIT_TEST] = LESSON_QUICK_IMAGES / 4;
    Error err;
    if (synth_write_npz(&options, buf, 0, &err)) {
        fprintf(stderr, "lesson1: %s\n", err.msg);
        exit(1);
    }
    return buf;
}

/* Lists every member of the .npz: name, dtype, shape, bytes. */
static void show_npz_members(const char *path)
{
    NpzFile npz;
    Error err;
    if (npz_read(path, &npz, &err)) {
        fprintf(stderr, "lesson1: %s\n", err.msg);
        exit(1);
    }
    printf("  %-10s %-8s %-16s %12s\n", "member", "dtype", "shape", "bytes");
    for (int i = 0; i < npz.count; i++) {
        const NpyArray *a = &npz.arrays[i];
        char shape[64];
        npy_shape_string(a, shape, sizeof shape);
        printf("  %-10s %-8s %-16s %12zu\n", a->name, npy_dtype_name(a->dtype), shape,
               npy_array_bytes(a));
    }
    printf("\n");
    npz_free(&npz);
}

/* The top-left 8x8 corner of a face as numbers, and the face as text. */
static void show_one_face(const Lesson *lesson, const Dataset *train)
{
    const uint8_t *face = train->images;
    printf("  train image 0, label %d = %s; its top-left 8x8 pixels (row y, column x):\n",
           train->labels[0], class_names[train->labels[0]]);
    for (int y = 0; y < 8; y++) {
        printf("   ");
        for (int x = 0; x < 8; x++) printf(" %4d", face[y * IMAGE_SIDE + x]);
        printf("\n");
    }
    printf("\n");
    if (lesson->terminal) {
        printf("  the whole face as text (every second pixel):\n");
        lesson_text_image(stdout, face, IMAGE_SIDE, IMAGE_SIDE, 2);
        printf("\n");
    }
}

static void show_class_counts(Lesson *lesson, const Dataset *splits, int num_splits)
{
    int counts[NUM_SPLITS][NUM_CLASSES];
    printf("  %-9s", "class");
    for (int s = 0; s < num_splits; s++) printf(" %8s", splits[s].split);
    printf("   share of train\n");
    for (int s = 0; s < num_splits; s++) lesson_class_counts(&splits[s], counts[s]);
    int most = 0;
    for (int c = 0; c < NUM_CLASSES; c++) {
        printf("  %d %-8s", c, class_names[c]);
        for (int s = 0; s < num_splits; s++) printf(" %8d", counts[s][c]);
        printf("   %5.1f%%\n", 100.0 * counts[0][c] / splits[0].count);
        if (counts[0][c] > counts[0][most]) most = c;
    }
    printf("  %-9s", "total");
    for (int s = 0; s < num_splits; s++) printf(" %8d", splits[s].count);
    printf("\n\n");

    int least = 0;
    for (int c = 0; c < NUM_CLASSES; c++)
        if (counts[0][c] < counts[0][least]) least = c;
    lesson_say("The classes are far from equal, as in FER2013: %s has %d training faces and %s "
               "only %d. A classifier that ignores the image and always answers %s is right "
               "%.1f%% of the time on the training set: the floor every model in the later "
               "lessons must beat. Plain accuracy hides the rare classes; lesson 8 looks at "
               "accuracy per class.",
               class_names[most], counts[0][most], class_names[least], counts[0][least],
               class_names[most], 100.0 * counts[0][most] / splits[0].count);

    double values[NUM_CLASSES];
    for (int c = 0; c < NUM_CLASSES; c++) values[c] = counts[0][c];
    char png[256];
    lesson_out_path(lesson, "class_counts.png", png, sizeof png);
    Error err;
    int status = chart_bars(png, "Training faces per class", values, NUM_CLASSES,
                            class_names, "class", "faces", &err);
    lesson_chart_done(lesson, status, png, "bar chart of the training class counts", &err);
    if (lesson->terminal) {
        printf("\n");
        lesson_text_bars(stdout, "  training faces per class:", values, class_names,
                         NUM_CLASSES);
    }
}

/* A montage: one row per class, MONTAGE_PER_CLASS faces each (the first
 * ones of the class in the file); missing faces stay white. */
static void show_faces(Lesson *lesson, const Dataset *train)
{
    int n = NUM_CLASSES * MONTAGE_PER_CLASS;
    uint8_t *tiles = xmalloc((size_t)n * IMAGE_PIXELS);
    const char *captions[NUM_CLASSES * MONTAGE_PER_CLASS];
    memset(tiles, 255, (size_t)n * IMAGE_PIXELS);
    for (int c = 0; c < NUM_CLASSES; c++) {
        int index = -1;
        for (int k = 0; k < MONTAGE_PER_CLASS; k++) {
            int tile = c * MONTAGE_PER_CLASS + k;
            index = lesson_find_class(train, c, index + 1);
            captions[tile] = index >= 0 ? class_names[c] : NULL;
            if (index < 0) continue;
            memcpy(tiles + (size_t)tile * IMAGE_PIXELS,
                   train->images + (size_t)index * IMAGE_PIXELS, IMAGE_PIXELS);
        }
    }
    char png[256];
    lesson_out_path(lesson, "faces.png", png, sizeof png);
    Error err;
    int status = chart_images(png, "Training faces, one row per class", tiles, n, IMAGE_SIDE,
                              IMAGE_SIDE, MONTAGE_PER_CLASS, captions, &err);
    lesson_chart_done(lesson, status, png, "8 faces of each class, one class per row", &err);
    free(tiles);
}

/* What the network receives: one mini-batch from the loader. */
static void show_batch(const Dataset *train)
{
    const int batch_size = 64;
    Loader loader;
    LoaderOptions options = {.shuffle = 1, .augment = 0, .seed = 1};
    loader_init(&loader, train, batch_size, options);
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int *labels = xmalloc((size_t)batch_size * sizeof *labels);
    int n = loader_next(&loader, x, labels);
    double lo = x->data[0], hi = x->data[0], sum = 0;
    for (size_t i = 0; i < x->size; i++) {
        lo = fmin(lo, x->data[i]);
        hi = fmax(hi, x->data[i]);
        sum += x->data[i];
    }
    lesson_print_shape("x", x, "the batch: N faces, 1 channel (grey), 48 rows, 48 columns");
    char shape[32];
    snprintf(shape, sizeof shape, "(%d,)", n);
    printf("  %-10s %-18s class of each face\n", "labels", shape);
    printf("  pixel values from %.3f to %.3f, mean %.3f (pixel / 255)\n", lo, hi,
           sum / (double)x->size);
    printf("  first labels:");
    for (int i = 0; i < 8 && i < n; i++) printf(" %d", labels[i]);
    printf("  = %s, %s, ...\n\n", class_names[labels[0]], class_names[labels[n > 1]]);
    free(labels);
    tensor_free(x);
    loader_free(&loader);
}

/* One row per augmentation, each applied alone to the same faces, then what
 * the training loader makes of them: with its default recipe (flip and
 * shift), and with every augmentation at once (RICH_RECIPE). */
#define AUGMENT_ROWS 8
static const Augment RICH_RECIPE = {.flip = 1, .shift = 4, .rotate = 10, .scale = 0.1, .erase = 0.5};

static void show_augmentation(Lesson *lesson, const Dataset *train, const Dataset *val)
{
    int n = AUGMENT_ROWS * AUGMENT_EXAMPLES;
    uint8_t *tiles = xmalloc((size_t)n * IMAGE_PIXELS);
    const char *captions[AUGMENT_ROWS * AUGMENT_EXAMPLES];
    static const char *const row_names[AUGMENT_ROWS] = {
        "original", "mirrored", "moved (+2,-2)", "rotated 10 deg", "zoomed 1.1x",
        "erased", "loader: default", "loader: all"};
    int indices[AUGMENT_EXAMPLES];
    for (int k = 0; k < AUGMENT_EXAMPLES; k++) indices[k] = k % train->count;

    /* The loader's own augmentation, drawn from seeded generators. */
    Rng rng;
    Tensor *plain = tensor_new4(1, 1, 1, 1), *rich = tensor_new4(1, 1, 1, 1);
    int labels[AUGMENT_EXAMPLES];
    Augment recipe = augment_default();
    rng_seed(&rng, lesson->seed);
    loader_fill_batch(train, indices, AUGMENT_EXAMPLES, &recipe, &rng, plain, labels);
    rng_seed(&rng, lesson->seed);
    loader_fill_batch(train, indices, AUGMENT_EXAMPLES, &RICH_RECIPE, &rng, rich, labels);
    Rng noise;
    rng_seed(&noise, lesson->seed);

    double changed = 0;
    for (int k = 0; k < AUGMENT_EXAMPLES; k++) {
        const uint8_t *face = train->images + (size_t)indices[k] * IMAGE_PIXELS;
        uint8_t *row[AUGMENT_ROWS];
        for (int r = 0; r < AUGMENT_ROWS; r++)
            row[r] = tiles + ((size_t)r * AUGMENT_EXAMPLES + k) * IMAGE_PIXELS;
        memcpy(row[0], face, IMAGE_PIXELS);
        augment_image(face, 1, IMAGE_SIDE, IMAGE_SIDE, 1, 0, 0, row[1]);
        augment_image(face, 1, IMAGE_SIDE, IMAGE_SIDE, 0, 2, -2, row[2]);
        augment_warp(face, 1, IMAGE_SIDE, IMAGE_SIDE, 0, 10, 1, 0, 0, row[3]);
        augment_warp(face, 1, IMAGE_SIDE, IMAGE_SIDE, 0, 0, 1.1, 0, 0, row[4]);
        memcpy(row[5], face, IMAGE_PIXELS); /* the mouth hidden: the rest must tell */
        augment_erase(row[5], 1, IMAGE_SIDE, IMAGE_SIDE, IMAGE_SIDE * 3 / 5, IMAGE_SIDE / 4,
                      IMAGE_SIDE / 4, IMAGE_SIDE / 2, &noise);
        for (int i = 0; i < IMAGE_PIXELS; i++) {
            row[6][i] = (uint8_t)lround(plain->data[(size_t)k * IMAGE_PIXELS + i] * 255);
            row[7][i] = (uint8_t)lround(rich->data[(size_t)k * IMAGE_PIXELS + i] * 255);
            changed += fabs((double)row[6][i] - face[i]);
        }
        for (int r = 0; r < AUGMENT_ROWS; r++)
            captions[r * AUGMENT_EXAMPLES + k] = k == 0 ? row_names[r] : NULL;
    }
    printf("  the loader's random flips and shifts changed the pixels of these %d faces by\n"
           "  %.1f grey levels on average (of 255); every label stayed the same.\n",
           AUGMENT_EXAMPLES, changed / (AUGMENT_EXAMPLES * IMAGE_PIXELS));
    printf("  the last row adds everything (train --shift %d --rotate %g --scale %g --erase %g):\n"
           "  each face flipped or not, moved, tilted, zoomed, and half of them partly hidden.\n\n",
           RICH_RECIPE.shift, RICH_RECIPE.rotate, RICH_RECIPE.scale, RICH_RECIPE.erase);

    char png[256];
    lesson_out_path(lesson, "augmentation.png", png, sizeof png);
    Error err;
    int status = chart_images(png, "Augmentation: each change alone, then the loader's random ones",
                              tiles, n, IMAGE_SIDE, IMAGE_SIDE, AUGMENT_EXAMPLES, captions, &err);
    lesson_chart_done(lesson, status, png, "the same faces as the training loader varies them",
                      &err);
    tensor_free(plain);
    tensor_free(rich);
    free(tiles);

    /* A loader over val ignores the augment option. */
    Loader train_loader, val_loader;
    LoaderOptions options = {.shuffle = 0, .augment = 1, .seed = lesson->seed};
    loader_init(&train_loader, train, 16, options);
    loader_init(&val_loader, val, 16, options);
    printf("\n  asked for augmentation, the train loader has augment = %d, the val loader "
           "augment = %d\n\n", train_loader.augmenting, val_loader.augmenting);
    loader_free(&train_loader);
    loader_free(&val_loader);
}

int main(int argc, char **argv)
{
    Lesson lesson;
    lesson_begin(&lesson, 1, "The data",
                 "What the network learns from: 48x48 grey faces, each with one of seven "
                 "emotion labels. We open the dataset file, count the classes, look at the "
                 "faces, and see why augmentation happens in the loader.",
                 argc, argv, NULL, 0);

    Dataset splits[NUM_SPLITS];
    for (int s = 0; s < NUM_SPLITS; s++)
        lesson_load_split(&lesson, split_names[s], s == SPLIT_TRAIN ? 0 : LESSON_QUICK_IMAGES / 4,
                          &splits[s]);

    lesson_section(&lesson, "An image is 48 x 48 bytes");
    lesson_say("Each face is a grid of 48 x 48 = %d grey levels, one byte each: 0 is black, "
               "255 is white. The label is a number 0..6 naming the emotion, in FER2013's "
               "order: 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral. "
               "Nothing else is given: the network must find the emotion in the pixels.",
               IMAGE_PIXELS);
    show_one_face(&lesson, &splits[SPLIT_TRAIN]);

    lesson_section(&lesson, "The .npz file and its arrays");
    char quick_path[256];
    const char *path = dataset_file_to_inspect(&lesson, quick_path, sizeof quick_path);
    lesson_say("An .npz is numpy's format for several arrays in one file: a ZIP archive "
               "holding one .npy file per array. Each .npy starts with a short text header "
               "giving the dtype and the shape, then the raw numbers. %s holds:", path);
    show_npz_members(path);
    lesson_say("x_<split> are the images, uint8 of shape (N, 48, 48); y_<split> the labels, "
               "int64 of shape (N,), y[i] the class of x[i]. Three splits, never mixed:");
    for (int s = 0; s < NUM_SPLITS; s++)
        lesson_bullet("%-5s %5d faces: %s", split_names[s], splits[s].count, split_meaning[s]);
    printf("\n");
    lesson_say("The file keeps the pixels exactly as recorded: no scaling, no augmentation. "
               "The loader turns them into what the network wants (below).");

    lesson_section(&lesson, "How many faces per class");
    show_class_counts(&lesson, splits, NUM_SPLITS);

    lesson_section(&lesson, "What the faces look like");
    lesson_say("Open the montage: each row is one class. Look at the mouth, the eyes and the "
               "brows, where the expression is; the rest (lighting, position, a hand or "
               "glasses in front of the face) varies within every class and is what the "
               "network must learn to ignore.");
    show_faces(&lesson, &splits[SPLIT_TRAIN]);

    lesson_section(&lesson, "What the network receives: a mini-batch");
    lesson_say("The loader cuts the training split into mini-batches in a shuffled order and "
               "converts the bytes to real numbers pixel / 255 in [0, 1], an NCHW tensor: "
               "N images, C = 1 channel, H = 48 rows, W = 48 columns.");
    show_batch(&splits[SPLIT_TRAIN]);

    lesson_section(&lesson, "Augmentation belongs in the loader");
    lesson_say("With few faces per class a network can memorise them. Augmentation shows it "
               "a slightly different version of each face every epoch: mirrored left-right "
               "(a mirrored angry face is still angry) and moved by up to %d pixels. These "
               "changes keep the label, so they add examples for free. So do small warps, "
               "which `emotion train` offers for real faces: a tilt of up to 10 degrees "
               "(--rotate), a zoom of up to 10%% (--scale), and random erasing (--erase): a "
               "rectangle of noise over part of the face, so the network cannot lean on any "
               "one part (the mouth alone) and must use all of it. Heavy warps would not "
               "keep the label: on 48x48 faces they destroy the expression.",
               AUGMENT_MAX_SHIFT);
    lesson_say("Why in the loader and not in the .npz file: the loader draws a new variant "
               "each epoch (a file would freeze one), the file stays the real data, and "
               "the choice can be switched off with one option. Why only on train: "
               "validation and test measure how well the network does on real faces; "
               "changing them would measure something else and make the numbers noisy from "
               "one run to the next.");
    show_augmentation(&lesson, &splits[SPLIT_TRAIN], &splits[SPLIT_VAL]);

    const char *const tries[] = {
        "Run `make lesson1 DATA=data/fer2013.npz` on the real FER2013 (convert the CSV with "
        "`./emotion data convert`): compare the class shares with the synthetic set and look "
        "at how much harder the real faces are.",
        "`./emotion data synth --balanced --out data/balanced.npz`, then "
        "`make lesson1 DATA=data/balanced.npz`: what happens to the always-the-same-class "
        "floor?",
        "Change the seed (`--seed 2`) and watch the loader row of augmentation.png change "
        "while the originals stay.",
        "Read augment_image() in data/loader.c: why are the edge pixels replicated into the "
        "strip a shift uncovers, rather than filled with black?",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    for (int s = 0; s < NUM_SPLITS; s++) dataset_free(&splits[s]);
    return lesson_end(&lesson);
}
