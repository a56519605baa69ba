/* Lesson 1: the data.
 *
 * What a face is to the program (48x48 bytes), what the .npz file holds,
 * how many faces each class has, what the faces look like, why
 * augmentation is done by the loader on the training split only, and how a
 * batch (N, C, H, W) sits in memory: the offset formula, NumPy's strides,
 * and the strided view an im2col in NumPy is built on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson_common.h"

#include "classes.h"
#include "crop.h"
#include "im2col.h"
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
 * shift), and with every augmentation at once (RICH_RECIPE); last, the
 * windows a network's first layer 'crop 40' keeps in training (the rest of
 * each face dimmed). */
#define AUGMENT_ROWS 9
#define CROP_SIDE 40
static const Augment RICH_RECIPE = {.flip = 1, .shift = 4, .rotate = 10, .scale = 0.1, .erase = 0.5};

static void show_augmentation(Lesson *lesson, const Dataset *train, const Dataset *val)
{
    int n = AUGMENT_ROWS * AUGMENT_EXAMPLES;
    uint8_t *tiles = xmalloc((size_t)n * IMAGE_PIXELS);
    const char *captions[AUGMENT_ROWS * AUGMENT_EXAMPLES];
    static const char *const row_names[AUGMENT_ROWS] = {
        "original", "mirrored", "moved (+2,-2)", "rotated 10 deg", "zoomed 1.1x",
        "erased", "loader: default", "loader: all", "crop 40 (a layer)"};
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
    /* The crop layer in training mode on the faces as they are: its windows
     * are drawn from its noise key, here the lesson's seed. */
    Error err;
    Layer *crop = crop_create(CROP_SIDE, CROP_SIDE, &err);
    Tensor *faces = tensor_new4(AUGMENT_EXAMPLES, 1, IMAGE_SIDE, IMAGE_SIDE), *cropped = tensor_new2(1, 1);
    for (int k = 0; k < AUGMENT_EXAMPLES; k++)
        for (int i = 0; i < IMAGE_PIXELS; i++)
            faces->data[(size_t)k * IMAGE_PIXELS + i] =
                train->images[(size_t)indices[k] * IMAGE_PIXELS + i];
    crop->noise_key = lesson->seed;
    layer_forward(crop, faces, cropped);

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
        /* the window the layer kept, at full brightness; the rest at a quarter */
        const int top = ((CropLayer *)crop)->corners[2 * k], left = ((CropLayer *)crop)->corners[2 * k + 1];
        for (int i = 0; i < IMAGE_PIXELS; i++) row[8][i] = (uint8_t)(face[i] / 4);
        for (int i = 0; i < CROP_SIDE; i++)
            for (int j = 0; j < CROP_SIDE; j++)
                row[8][(top + i) * IMAGE_SIDE + left + j] =
                    (uint8_t)cropped->data[((size_t)k * CROP_SIDE + i) * CROP_SIDE + j];
        for (int r = 0; r < AUGMENT_ROWS; r++)
            captions[r * AUGMENT_EXAMPLES + k] = k == 0 ? row_names[r] : NULL;
    }
    printf("  the loader's random flips and shifts changed the pixels of these %d faces by\n"
           "  %.1f grey levels on average (of 255); every label stayed the same.\n",
           AUGMENT_EXAMPLES, changed / (AUGMENT_EXAMPLES * IMAGE_PIXELS));
    printf("  the row 'loader: all' adds everything (train --shift %d --rotate %g --scale %g --erase %g):\n"
           "  each face flipped or not, moved, tilted, zoomed, and half of them partly hidden.\n"
           "  below them, the %dx%d windows a network that starts with 'crop %d' trains on\n"
           "  (layers/crop.h): one of %d positions per face, drawn afresh at every step; in\n"
           "  evaluation it keeps the central one.\n\n",
           RICH_RECIPE.shift, RICH_RECIPE.rotate, RICH_RECIPE.scale, RICH_RECIPE.erase, CROP_SIDE,
           CROP_SIDE, CROP_SIDE, (IMAGE_SIDE - CROP_SIDE + 1) * (IMAGE_SIDE - CROP_SIDE + 1));

    layer_free(crop);
    tensor_free(faces);
    tensor_free(cropped);
    char png[256];
    lesson_out_path(lesson, "augmentation.png", png, sizeof png);
    int status = chart_images(png, "Augmentation: each change alone, the loader's random ones, a crop layer's",
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

/* Section 7: where element (n, c, y, x) of a batch sits in memory, read
 * four ways, and what NumPy's strides and an im2col make of the same
 * arithmetic. The batch is section 5's (the same loader, the same seed). */
static void show_memory_layout(const Dataset *train)
{
    const int batch_size = 64;
    Loader loader;
    loader_init(&loader, train, batch_size, (LoaderOptions){.shuffle = 1, .augment = 0, .seed = 1});
    Tensor *batch = tensor_new4(1, 1, 1, 1);
    int *labels = xmalloc((size_t)batch_size * sizeof *labels);
    int count = loader_next(&loader, batch, labels);
    const int N = batch->dim[0], C = batch->dim[1], H = batch->dim[2], W = batch->dim[3];
    /* a pixel between the eyes and the mouth of the fourth face */
    const int n = count > 3 ? 3 : count - 1, c = 0, y = 24, x = 17;
    const size_t offset = (((size_t)n * C + c) * H + y) * W + x;
    const size_t item = sizeof(real);

    char shape[32];
    printf("  x %s: one block of %zu %ss (%zu bytes), no gaps\n\n",
           tensor_shape_string(batch, shape, sizeof shape), batch->size,
           item == sizeof(float) ? "float" : "double", batch->size * item);
    printf("  element (n, c, y, x) = (%d, %d, %d, %d): offset ((n*C + c)*H + y)*W + x\n"
           "    = ((%d*%d + %d)*%d + %d)*%d + %d = %zu\n", n, c, y, x, n, C, c, H, y, W, x, offset);
    /* Read 1: the formula. Read 2: C's own 4-D indexing of the same block
     * (a pointer to (C, H, W) arrays: the compiler does the arithmetic). */
    const real value = batch->data[offset];
    const real (*as_array)[C][H][W] = (const real (*)[C][H][W])batch->data;
    const real indexed = as_array[n][c][y][x];
    /* Read 3: the byte in the file that the loader converted. */
    const int image = loader_batch_indices(&loader)[n];
    const uint8_t byte = train->images[(size_t)image * IMAGE_PIXELS + y * IMAGE_SIDE + x];
    /* Read 4: the same pixel where im2col put it, in the columns of image n
     * for a 3x3 convolution without padding: window (y - 1, x - 1), its
     * centre (i, j) = (1, 1). */
    ConvGeometry g;
    Error err;
    conv_geometry_init(&g, C, H, W, 3, 3, 1, 0, &err);
    real *cols = xmalloc((size_t)conv_geometry_rows(&g) * conv_geometry_cols(&g) * sizeof *cols);
    im2col(&g, batch->data + (size_t)n * C * H * W, cols);
    const int oh = y - 1, ow = x - 1, i = 1, j = 1;
    const int col_row = (c * 3 + i) * 3 + j, col_column = oh * g.out_w + ow;
    const real from_cols = cols[(size_t)col_row * conv_geometry_cols(&g) + col_column];
    char how[4][96];
    snprintf(how[0], sizeof how[0], "x->data[%zu]", offset);
    snprintf(how[1], sizeof how[1], "((real (*)[%d][%d][%d])x->data)[%d][%d][%d][%d]", C, H, W, n,
             c, y, x);
    snprintf(how[2], sizeof how[2], "x_train[%d][%d][%d] / 255 = %d / 255", image, y, x, byte);
    snprintf(how[3], sizeof how[3], "im2col of image %d: cols[%d][%d]", n, col_row, col_column);
    const real read[4] = {value, indexed, (real)(byte / 255.0), from_cols};
    char why[4][96];
    snprintf(why[0], sizeof why[0], "the block, at the offset");
    snprintf(why[1], sizeof why[1], "C's own 4-D indexing");
    snprintf(why[2], sizeof why[2], "the file's byte (pick %d)", n);
    snprintf(why[3], sizeof why[3], "window (%d, %d), centre", oh, ow);
    for (int k = 0; k < 4; k++) printf("    %-46s %.6f  %s\n", how[k], read[k], why[k]);
    printf("\n");
    int same = read[1] == read[0] && read[2] == read[0] && read[3] == read[0];

    const size_t stride[4] = {(size_t)C * H * W, (size_t)H * W, (size_t)W, 1};
    printf("  one step along each axis moves this far in the block (elements; x %zu for bytes):\n"
           "    n + 1: %zu (%zu bytes)   c + 1: %zu (%zu)   y + 1: %zu (%zu)   x + 1: %zu (%zu)\n\n",
           item, stride[0], stride[0] * item, stride[1], stride[1] * item, stride[2],
           stride[2] * item, stride[3], stride[3] * item);
    lesson_say("This is row-major (C) order, the layout NCHW names: the last index, x, is "
               "the fastest, so a row of the image is %d neighbouring values, an image is %d "
               "rows one after the other, and the batch is %d images one after the other. "
               "With one grey channel, stepping c and stepping n move by the same %zu "
               "values; a colour batch (C = 3) would put the three planes of an image one "
               "after the other, and n would step by 3 x %zu. In C the formula is the whole "
               "story: Tensor keeps a shape and one pointer (layers/tensor.h), and every "
               "layer computes offsets like this one.%s",
               W, H, N, stride[1], stride[1], same ? "" : " (THE FOUR READS DIFFER: a bug.)");
    lesson_say("NumPy stores the same batch in the same order (C order is its default) and "
               "describes it by strides, the bytes to step along each axis. np.load gives "
               "you the file's uint8 x_train with strides (%d, %d, 1); the float batch, "
               "built as the loader builds it, shows:", H * W, W);
    printf("    >>> x = np.empty((%d, %d, %d, %d), np.float32)\n"
           "    >>> x[:, 0] = x_train[picks] / 255      # picks: the loader's 64 images\n"
           "    >>> x.shape, x.strides\n"
           "    ((%d, %d, %d, %d), (%zu, %zu, %zu, %zu))\n"
           "    >>> np.ravel_multi_index((%d, %d, %d, %d), x.shape)\n"
           "    %zu\n"
           "    >>> x.ravel()[%zu] == x[%d, %d, %d, %d]\n"
           "    True\n\n",
           N, C, H, W, N, C, H, W, stride[0] * sizeof(float), stride[1] * sizeof(float),
           stride[2] * sizeof(float), stride[3] * sizeof(float), n, c, y, x, offset, offset, n,
           c, y, x);
    lesson_say("(Made with a new axis instead, (x_train[picks] / 255).astype(np.float32)[:, "
               "None], the same numbers show strides (%zu, 0, %zu, %zu): an axis of length 1 "
               "is never stepped along, so any stride will do there. The offset formula is "
               "what strides become in C order.)",
               stride[0] * sizeof(float), stride[2] * sizeof(float), stride[3] * sizeof(float));
    lesson_say("A transpose or a slice in NumPy changes only the strides, never the data, "
               "and that is the trick an im2col in NumPy relies on. The 3x3 windows of a "
               "convolution (stride 1, no padding) are a 6-D view (N, C, H_out, W_out, kH, "
               "kW) of the very same bytes, with strides (sN, sC, sH, sW, sH, sW): moving "
               "to the next output position and moving within the window are the same "
               "step. Nothing is copied until the view is reshaped into cols, whose rows are "
               "(c, i, j) and whose columns are the output positions, as in lesson 2:");
    printf("    >>> from numpy.lib.stride_tricks import as_strided\n"
           "    >>> sN, sC, sH, sW = x.strides\n"
           "    >>> v = as_strided(x, shape=(%d, %d, %d, %d, 3, 3), strides=(sN, sC, sH, sW, sH, sW))\n"
           "    >>> v[%d, %d, %d, %d, %d, %d] == x[%d, %d, %d, %d]     # byte %zu = %zu x %zu either way\n"
           "    True\n"
           "    >>> cols = v[%d].transpose(0, 3, 4, 1, 2).reshape(%d, %d)   # the copy\n"
           "    >>> cols[%d, %d] == x[%d, %d, %d, %d]\n"
           "    True\n\n",
           N, C, g.out_h, g.out_w, n, c, oh, ow, i, j, n, c, y, x, offset * sizeof(float), offset,
           sizeof(float), n, conv_geometry_rows(&g), conv_geometry_cols(&g), col_row, col_column,
           n, c, y, x);
    lesson_say("np.lib.stride_tricks.sliding_window_view builds the same view safely (a "
               "wrong stride in as_strided reads memory outside the array). CS231n's "
               "im2col_indices takes the other road: it builds arrays of row and column "
               "indices, offset (y, x) by window and by position, and gathers "
               "x_padded[:, k, i, j] with fancy indexing, which copies. Either way the "
               "arithmetic is the offset formula above; layers/im2col.c does it in C, one "
               "image at a time (lesson 2).");
    free(cols);
    free(labels);
    tensor_free(batch);
    loader_free(&loader);
}

int main(int argc, char **argv)
{
    Lesson lesson;
    lesson_begin(&lesson, 1, "The data",
                 "What the network learns from: 48x48 grey faces, each with one of seven "
                 "emotion labels. We open the dataset file, count the classes, look at the "
                 "faces, see why augmentation happens in the loader, and find where a "
                 "pixel of a batch sits in memory.",
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

    lesson_section(&lesson, "How a batch sits in memory");
    lesson_say("Section 5's batch x is a 4-D array to us, but memory is one long row of "
               "numbers. Where does element (n, c, y, x) go? Here is the same batch again, "
               "one pixel of it read four ways.");
    show_memory_layout(&splits[SPLIT_TRAIN]);

    const char *const tries[] = {
        "Run `make lesson1 DATA=data/fer2013.npz` on the real FER2013 (convert the CSV with "
        "`./emotion data convert`): compare the class shares with the synthetic set and look "
        "at how much harder the real faces are.",
        "`./emotion data synth --balanced --out data/balanced.npz`, then "
        "`make lesson1 DATA=data/balanced.npz`: what happens to the always-the-same-class "
        "floor?",
        "Change the seed (`make lesson1 LESSON_FLAGS='--seed 2'`) and watch the loader row of "
        "augmentation.png change while the originals stay.",
        "Read augment_image() in data/loader.c: why are the edge pixels replicated into the "
        "strip a shift uncovers, rather than filled with black?",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    for (int s = 0; s < NUM_SPLITS; s++) dataset_free(&splits[s]);
    return lesson_end(&lesson);
}
