/* Lesson 2: im2col and the convolution forward.
 *
 * A convolution slides each filter over the image and takes a dot product
 * at every position. im2col copies every patch the filter looks at into one
 * column of a matrix, so all those dot products become one matrix multiply.
 * The lesson prints every step on a 4x4 image, checks the layer against the
 * plain six-loop definition (conv_forward_direct), and applies hand-set
 * edge filters to a face. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson_common.h"

#include "classes.h"
#include "conv.h"
#include "gemm.h"
#include "im2col.h"

/* The layer's w and b, set by hand. w is (F, C, kH, kW), b is (F,). */
static void set_conv_params(Layer *layer, const real *w, const real *b)
{
    ConvLayer *conv = (ConvLayer *)layer;
    memcpy(conv->w->data, w, conv->w->size * sizeof(real));
    memcpy(conv->b->data, b, conv->b->size * sizeof(real));
}

static Layer *make_conv(int C, int F, int k, int stride, int pad)
{
    Error err;
    Layer *layer = conv_create(C, F, k, k, stride, pad, &err);
    if (!layer) {
        fprintf(stderr, "lesson2: %s\n", err.msg);
        exit(1);
    }
    return layer;
}

/* The conv layer's output and conv_forward_direct's on the same input:
 * returns the largest difference. */
static double layer_versus_direct(Layer *layer, const Tensor *x, Tensor *out)
{
    ConvLayer *conv = (ConvLayer *)layer;
    layer_forward(layer, x, out);
    Tensor *direct = tensor_like(out);
    conv_forward_direct(x, conv->w, conv->b, conv->stride, conv->pad, direct);
    double diff = lesson_max_abs_diff(out->data, direct->data, out->size);
    tensor_free(direct);
    return diff;
}

/* Section 1 and 2: every step of one convolution on a 4x4 image. */
static void tiny_example(Lesson *lesson, int pad)
{
    const int H = 4, W = 4, k = 3;
    Tensor *x = tensor_new4(1, 1, H, W);
    for (int i = 0; i < H * W; i++) x->data[i] = i + 1;
    /* A diagonal filter: out = the sum of a patch's three diagonal pixels
     * plus the bias, easy to check by hand. */
    const real w[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const real b[1] = {0.5};

    ConvGeometry g;
    Error err;
    if (conv_geometry_init(&g, 1, H, W, k, k, 1, pad, &err)) {
        fprintf(stderr, "lesson2: %s\n", err.msg);
        exit(1);
    }
    int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g);

    printf("  stride 1, pad %d:  H_out = (H + 2*pad - kH) / stride + 1 = (%d + %d - %d) / 1 + 1"
           " = %d\n\n", pad, H, 2 * pad, k, g.out_h);
    if (pad == 0) {
        lesson_print_tensor("x", x, 0, 64);
        printf("\n");
        lesson_print_matrix("w[0][0] (one 3x3 filter: the diagonal)", w, 3, 3, 3, 0);
        printf("  b = (%.1f)\n\n", b[0]);
    }

    real *col_matrix = xmalloc((size_t)rows * cols * sizeof(real));
    real *col_reference = xmalloc((size_t)rows * cols * sizeof(real));
    im2col(&g, x->data, col_matrix);
    im2col_reference(&g, x->data, col_reference);
    char name[128];
    snprintf(name, sizeof name,
             "cols = im2col(x), (C*kH*kW, H_out*W_out) = (%d, %d); column p = patch of output p",
             rows, cols);
    lesson_print_matrix(name, col_matrix, rows, cols, 3, 0);
    printf("  (im2col equals im2col_reference: max difference %g)\n\n",
           lesson_max_abs_diff(col_matrix, col_reference, (size_t)rows * cols));

    /* out (F, cols) = w (F, rows) * cols (rows, cols) + b, as the layer does it. */
    real *product = xmalloc((size_t)cols * sizeof(real));
    for (int p = 0; p < cols; p++) product[p] = b[0];
    gemm(0, 0, 1, cols, rows, 1, w, rows, col_matrix, cols, 1, product, cols);
    printf("  w as a row (F, C*kH*kW) = (1, 9):");
    for (int i = 0; i < 9; i++) printf(" %g", (double)w[i]);
    printf("\n\n");
    snprintf(name, sizeof name, "w_row * cols + b: (F, H_out*W_out) = (1, %d)", cols);
    lesson_print_matrix(name, product, 1, cols, 5, 1);
    printf("\n");

    Layer *layer = make_conv(1, 1, k, 1, pad);
    set_conv_params(layer, w, b);
    Tensor *out = tensor_new4(1, 1, 1, 1);
    double diff = layer_versus_direct(layer, x, out);
    snprintf(name, sizeof name, "out (reshaped to (N, F, H_out, W_out) = (1, 1, %d, %d))",
             g.out_h, g.out_w);
    lesson_print_matrix(name, out->data, g.out_h, g.out_w, 5, 1);
    printf("\n  the conv layer (im2col + gemm) versus conv_forward_direct (six nested loops):\n"
           "  max |difference| = %.3g\n", diff);
    if (diff > 1e-12) lesson->failures++;

    tensor_free(out);
    layer_free(layer);
    free(product);
    free(col_matrix);
    free(col_reference);
    tensor_free(x);
}

/* Section 3: the shapes through the workbench's two convolutions. */
static void real_shapes(Lesson *lesson, int batch)
{
    struct {
        const char *name;
        int C, H, F, k, stride, pad;
    } cases[] = {
        {"conv1 (faces)", 1, 48, 32, 3, 1, 1},
        {"conv2 (pooled)", 32, 24, 64, 3, 1, 1},
        {"5x5 stride 2", 3, 9, 4, 5, 2, 2},
    };
    Rng rng;
    rng_seed(&rng, lesson->seed);
    printf("  %-14s %-16s %-15s %-11s %-10s %-17s %s\n", "case", "x", "w", "cols",
           "w matrix", "out", "|layer-direct|");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        Tensor *x = tensor_new4(batch, cases[c].C, cases[c].H, cases[c].H);
        for (size_t i = 0; i < x->size; i++) x->data[i] = rng_normal(&rng);
        Layer *layer = make_conv(cases[c].C, cases[c].F, cases[c].k, cases[c].stride,
                                 cases[c].pad);
        ConvLayer *conv = (ConvLayer *)layer;
        for (size_t i = 0; i < conv->w->size; i++) conv->w->data[i] = rng_normal(&rng);
        for (size_t i = 0; i < conv->b->size; i++) conv->b->data[i] = rng_normal(&rng);
        Tensor *out = tensor_new4(1, 1, 1, 1);
        double diff = layer_versus_direct(layer, x, out);
        if (diff > 1e-9) lesson->failures++;

        char xs[32], ws[32], cs[32], wm[32], os[32];
        tensor_shape_string(x, xs, sizeof xs);
        tensor_shape_string(conv->w, ws, sizeof ws);
        int rows = cases[c].C * cases[c].k * cases[c].k;
        snprintf(cs, sizeof cs, "(%d, %d)", rows, out->dim[2] * out->dim[3]);
        snprintf(wm, sizeof wm, "(%d, %d)", cases[c].F, rows);
        tensor_shape_string(out, os, sizeof os);
        printf("  %-14s %-16s %-15s %-11s %-10s %-17s %.1e\n", cases[c].name, xs, ws, cs, wm, os,
               diff);
        tensor_free(out);
        tensor_free(x);
        layer_free(layer);
    }
    printf("\n");
}

/* Section 4: why bother. The same convolution timed three ways: im2col and
 * one matrix product per image, written out here; the layer, which for a
 * stride-1 convolution like this one skips im2col's copies and multiplies
 * by shifted runs of the padded image instead (layers/shifted_rows.h); and
 * the six nested loops of the definition. */
static void time_both_ways(Lesson *lesson, int batch)
{
    Rng rng;
    rng_seed(&rng, lesson->seed);
    Tensor *x = tensor_new4(batch, 32, 24, 24);
    for (size_t i = 0; i < x->size; i++) x->data[i] = rng_normal(&rng);
    Layer *layer = make_conv(32, 64, 3, 1, 1);
    ConvLayer *conv = (ConvLayer *)layer;
    for (size_t i = 0; i < conv->w->size; i++) conv->w->data[i] = rng_normal(&rng);
    Tensor *out = tensor_new4(1, 1, 1, 1);
    /* Each way is timed TIMED_RUNS times after a warm-up run, and the fastest
     * run counts: another program on the machine can only slow a run down. */
    enum { TIMED_RUNS = 3 };
    double with_layer = INFINITY;
    for (int run = 0; run <= TIMED_RUNS; run++) { /* run 0 warms up: the workspace is allocated once */
        double start = lesson_seconds();
        layer_forward(layer, x, out);
        if (run > 0) with_layer = fmin(with_layer, lesson_seconds() - start);
    }

    ConvGeometry g;
    conv_geometry_init(&g, 32, 24, 24, 3, 3, 1, 1, NULL);
    const int rows = conv_geometry_rows(&g), cols = conv_geometry_cols(&g);
    real *col_matrix = xmalloc((size_t)rows * cols * sizeof(real));
    Tensor *by_hand = tensor_like(out);
    double with_gemm = INFINITY;
    for (int run = 0; run <= TIMED_RUNS; run++) { /* run 0 warms up, as the layer's did */
        double start = lesson_seconds();
        for (int n = 0; n < batch; n++) {
            im2col(&g, x->data + (size_t)n * 32 * 24 * 24, col_matrix);
            gemm(0, 0, 64, cols, rows, 1, conv->w->data, rows, col_matrix, cols, 0,
                 by_hand->data + (size_t)n * 64 * cols, cols); /* b = 0 */
        }
        if (run > 0) with_gemm = fmin(with_gemm, lesson_seconds() - start);
    }

    Tensor *direct = tensor_like(out);
    double with_loops = INFINITY;
    for (int run = 0; run < TIMED_RUNS; run++) { /* nothing to warm up */
        double start = lesson_seconds();
        conv_forward_direct(x, conv->w, conv->b, 1, 1, direct);
        with_loops = fmin(with_loops, lesson_seconds() - start);
    }
    printf("  conv2 forward on %d images of (32, 24, 24), double precision, the fastest of %d "
           "runs:\n"
           "    im2col + gemm      %8.1f ms\n"
           "    the layer          %8.1f ms   (no im2col copies: layers/shifted_rows.h)\n"
           "    six nested loops   %8.1f ms   (%.1f times as long as im2col + gemm)\n\n",
           batch, TIMED_RUNS, 1e3 * with_gemm, 1e3 * with_layer, 1e3 * with_loops,
           with_loops / with_gemm);
    free(col_matrix);
    tensor_free(by_hand);
    tensor_free(direct);
    tensor_free(out);
    tensor_free(x);
    layer_free(layer);
}

#define NUM_FILTERS 4
static const char *const filter_names[NUM_FILTERS] = {"horizontal edges", "vertical edges",
                                                      "blur", "spots (Laplacian)"};
static const real filters[NUM_FILTERS][9] = {
    {1, 2, 1, 0, 0, 0, -1, -2, -1}, /* bright above, dark below -> positive */
    {1, 0, -1, 2, 0, -2, 1, 0, -1}, /* bright left, dark right -> positive */
    {1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0, 1 / 9.0},
    {0, 1, 0, 1, -4, 1, 0, 1, 0},
};

/* Section 5: the four filters on three faces; a montage of the maps. */
static void edge_filters(Lesson *lesson, const Dataset *faces)
{
    static const int classes[3] = {3, 5, 0}; /* Happy, Surprise, Angry */
    const int columns = 1 + NUM_FILTERS;
    Layer *layer = make_conv(1, NUM_FILTERS, 3, 1, 1);
    const real zero_bias[NUM_FILTERS] = {0};
    set_conv_params(layer, &filters[0][0], zero_bias);

    for (int f = 0; f < NUM_FILTERS; f++) {
        char name[64];
        snprintf(name, sizeof name, "w[%d][0]: %s", f, filter_names[f]);
        lesson_print_matrix(name, filters[f], 3, 3, 6, 3);
    }
    printf("\n");

    uint8_t *tiles = xcalloc((size_t)3 * columns, IMAGE_PIXELS);
    const char *captions[3 * (1 + NUM_FILTERS)] = {0};
    Tensor *x = tensor_new4(1, 1, IMAGE_SIDE, IMAGE_SIDE);
    Tensor *out = tensor_new4(1, 1, 1, 1);
    int rows_drawn = 0;
    for (int r = 0; r < 3; r++) {
        int index = lesson_find_class(faces, classes[r], 0);
        if (index < 0) continue;
        lesson_face_tensor(faces, index, x);
        double diff = layer_versus_direct(layer, x, out);
        if (diff > 1e-12) lesson->failures++;
        uint8_t *row = tiles + (size_t)rows_drawn * columns * IMAGE_PIXELS;
        memcpy(row, faces->images + (size_t)index * IMAGE_PIXELS, IMAGE_PIXELS);
        captions[rows_drawn * columns] = class_names[classes[r]];
        printf("  %s face (val image %d) -> out (1, 4, 48, 48); min and max of each map:\n   ",
               class_names[classes[r]], index);
        for (int f = 0; f < NUM_FILTERS; f++) {
            const real *map = out->data + (size_t)f * IMAGE_PIXELS;
            double lo = map[0], hi = map[0];
            for (int i = 0; i < IMAGE_PIXELS; i++) {
                lo = fmin(lo, map[i]);
                hi = fmax(hi, map[i]);
            }
            printf(" [%.2f, %.2f]", lo, hi);
            /* Edge maps are signed: mid grey is 0, white positive, black negative. */
            lesson_map_to_grey(map, IMAGE_PIXELS, f != 2, row + (size_t)(1 + f) * IMAGE_PIXELS);
            if (rows_drawn == 0) captions[1 + f] = filter_names[f];
        }
        printf("\n    (layer vs conv_forward_direct: max difference %.1e)\n", diff);
        rows_drawn++;
    }
    printf("\n");

    char png[256];
    lesson_out_path(lesson, "feature_maps.png", png, sizeof png);
    Error err;
    int status = chart_images(png, "Faces and the feature maps of four hand-set 3x3 filters",
                              tiles, rows_drawn * columns, IMAGE_SIDE, IMAGE_SIDE, columns,
                              captions, &err);
    lesson_chart_done(lesson, status, png,
                      "face, then horizontal / vertical edges, blur, spots (each map scaled on its own)", &err);
    if (lesson->terminal && rows_drawn > 0) {
        printf("\n  the horizontal-edge map of the %s face as text (brows, eyes, mouth):\n",
               class_names[classes[0]]);
        lesson_text_image(stdout, tiles + IMAGE_PIXELS, IMAGE_SIDE, IMAGE_SIDE, 2);
    }
    free(tiles);
    tensor_free(out);
    tensor_free(x);
    layer_free(layer);
}

int main(int argc, char **argv)
{
    Lesson lesson;
    lesson_begin(&lesson, 2, "im2col and the convolution forward",
                 "A convolution slides each filter over the image and takes a dot product of "
                 "the filter with the patch under it. im2col turns this into a single matrix "
                 "multiply, the form computers do fastest. We follow every step on a 4x4 "
                 "image, check the result against the plain loop definition, and apply "
                 "hand-made edge filters to a face.",
                 argc, argv, NULL, 0);

    lesson_section(&lesson, "A 4x4 image, one 3x3 filter, no padding");
    lesson_say("The convolution of x (N, C, H, W) with filters w (F, C, kH, kW) and biases b "
               "(F,) gives out (N, F, H_out, W_out):\n"
               "  out[n][f][oh][ow] = b[f] + sum over c, i, j of\n"
               "                      w[f][c][i][j] * x[n][c][oh*stride-pad+i][ow*stride-pad+j]\n"
               "Each output is one dot product: the filter times the patch under it. "
               "im2col copies each patch into a column, so every dot product becomes "
               "row-times-column of one matrix product. Check the first output by hand: the "
               "patch at the top-left has diagonal 1, 6, 11, so out[0][0] = 18 + 0.5.");
    tiny_example(&lesson, 0);

    lesson_section(&lesson, "The same with padding 1");
    lesson_say("Padding surrounds the image with zeros so the filter can sit on the border: "
               "with pad 1 a 3x3 filter gives an output as large as the input. The zeros "
               "appear in the columns of the border positions.");
    tiny_example(&lesson, 1);

    lesson_section(&lesson, "Shapes at every step, on real sizes");
    lesson_say("Per image, cols is (C*kH*kW, H_out*W_out) and the filters, flattened, are a "
               "matrix (F, C*kH*kW); their product (F, H_out*W_out) is the output for that "
               "image, already in NCHW order. Random inputs and weights; the last column "
               "compares the layer with conv_forward_direct (0 up to rounding, about 1e-15 "
               "in double).");
    real_shapes(&lesson, lesson.quick ? 2 : 8);

    lesson_section(&lesson, "Why im2col: speed");
    if (gemm_vector_lanes() > 1)
        lesson_say("Both compute the same numbers; im2col spends memory (cols is kH*kW = 9 "
                   "times the input) to turn the work into one large matrix multiply, which "
                   "the gemm kernel does with blocking, vector instructions (%s: %d doubles "
                   "at a time) and every core.", gemm_kernel_name(), gemm_vector_lanes());
    else
        lesson_say("Both compute the same numbers; im2col spends memory (cols is kH*kW = 9 "
                   "times the input) to turn the work into one large matrix multiply, which "
                   "the gemm kernel does with blocking and every core (this build's kernel is "
                   "%s, without vector instructions: the gain is smaller).",
                   gemm_kernel_name());
    time_both_ways(&lesson, lesson.quick ? 4 : 32);

    lesson_section(&lesson, "Hand-set filters on a face");
    lesson_say("A trained network learns its filters (lesson 8 shows them); here we set four "
               "by hand to see what a filter does. The horizontal-edge filter is bright "
               "where the image gets darker downwards, which is where brows, eyes and mouth "
               "lie; the vertical-edge filter finds the sides of the face; the blur averages "
               "a 3x3 neighbourhood; the Laplacian finds spots and thin lines. Each output "
               "channel of the convolution is one such feature map. How to read "
               "feature_maps.png: each map is scaled on its own, so shades compare within a "
               "map, not between maps. The three signed maps (the two edges and the "
               "Laplacian) go from black at minus their largest |value| to white at plus it, "
               "so mid grey is exactly 0 there; the blur, never negative, goes from black at "
               "its smallest value to white at its largest, so its grey is not 0. The lines "
               "along the borders are the zero padding, where the image meets black.");
    Dataset faces;
    lesson_load_split(&lesson, "val", 0, &faces);
    edge_filters(&lesson, &faces);
    dataset_free(&faces);

    const char *const tries[] = {
        "Change tiny_example's filter w in lessons/lesson2.c (e.g. to {0,0,0, 0,1,0, 0,0,0}, "
        "which copies the image) and predict the output before running it.",
        "In tiny_example, pass stride 2 (with pad 1) to conv_geometry_init and make_conv: "
        "which columns of cols remain, and what is H_out by the formula?",
        "Flip the sign of the horizontal-edge filter: what happens to the grey levels of "
        "feature_maps.png?",
        "Read im2col() in layers/im2col.c next to im2col_reference(): the fast one handles "
        "the padding outside the inner loop.",
        "Run with `--seed 7`: the maximum differences change but stay at rounding level.",
        "Write them yourself: im2col in exercises/im2col.c and conv_forward in "
        "exercises/conv.c; make grade EX=im2col,conv_forward grades them "
        "(exercises/README.md).",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    return lesson_end(&lesson);
}
