/* Lesson 4: ReLU and max-pooling.
 *
 * ReLU keeps positive values and zeroes the rest; its backward lets the
 * gradient through where the input was positive and stops it elsewhere.
 * Max-pooling keeps the largest value of each window; its backward sends
 * the window's whole gradient to that one input. The lesson prints both on
 * 4x4 examples, follows a face through conv -> ReLU -> pool -> pool and
 * back, runs the gradient checks, and shows where such checks go wrong:
 * at the kinks. Last, exact ties: which input of a tied window gets the
 * gradient here (the first in row-major order), and why any fixed rule is
 * a valid subgradient. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson_common.h"

#include "classes.h"
#include "conv.h"
#include "pool.h"
#include "relu.h"

static Layer *checked(Layer *layer, const Error *err)
{
    if (!layer) {
        fprintf(stderr, "lesson4: %s\n", err->msg);
        exit(1);
    }
    return layer;
}

static Tensor *tensor_from(int h, int w, const real *values)
{
    Tensor *t = tensor_new4(1, 1, h, w);
    memcpy(t->data, values, (size_t)h * w * sizeof(real));
    return t;
}

/* ---- section 1: ReLU ---------------------------------------------------- */

static void relu_example(Lesson *lesson)
{
    const real values[16] = {1.5, -0.5, 2.0, -1.0, -2.0, 0.7, -0.3, 0.4,
                             0.9, -1.2, 1.1, -0.8, -0.1, 2.2, -0.6, 0.2};
    Tensor *x = tensor_from(4, 4, values);
    Layer *relu = relu_create();
    Tensor *out = tensor_new4(1, 1, 1, 1), *dx = tensor_new4(1, 1, 1, 1);
    layer_forward(relu, x, out);
    Tensor *dout = tensor_like(out), *mask = tensor_like(x);
    for (int i = 0; i < 16; i++) {
        dout->data[i] = i + 1;
        mask->data[i] = x->data[i] > 0;
    }
    layer_backward(relu, dout, dx);

    lesson_print_matrix("x (1, 1, 4, 4)", x->data, 4, 4, 5, 1);
    lesson_print_matrix("out = max(0, x)", out->data, 4, 4, 5, 1);
    lesson_print_matrix("mask: 1 where x > 0 (the gradient flows), 0 where it stops", mask->data,
                        4, 4, 5, 0);
    lesson_print_matrix("dout (1..16, to see which entries arrive)", dout->data, 4, 4, 5, 0);
    lesson_print_matrix("dx = dout * mask", dx->data, 4, 4, 5, 0);
    double diff = 0;
    for (int i = 0; i < 16; i++) diff = fmax(diff, fabs(dx->data[i] - dout->data[i] * mask->data[i]));
    printf("  (the layer's dx versus dout * mask: max difference %g)\n\n", diff);
    if (diff != 0) lesson->failures++;

    tensor_free(mask);
    tensor_free(dout);
    tensor_free(dx);
    tensor_free(out);
    tensor_free(x);
    layer_free(relu);
}

/* ---- section 2: pooling ------------------------------------------------- */

/* Forward and backward of one pooling layer on the 4x4 example; for
 * max-pooling, also which input each window picked. */
static void pool_example(Lesson *lesson, Layer *pool, const char *what)
{
    const real values[16] = {1, 3, 2, 0, 4, 8, 6, 5, 7, 2, 9, 1, 3, 5, 4, 6};
    Tensor *x = tensor_from(4, 4, values);
    Tensor *out = tensor_new4(1, 1, 1, 1), *dx = tensor_new4(1, 1, 1, 1);
    layer_forward(pool, x, out);
    Tensor *dout = tensor_like(out);
    for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)(i + 1);
    layer_backward(pool, dout, dx);

    int oh = out->dim[2], ow = out->dim[3];
    printf("  %s:\n", what);
    char name[96];
    snprintf(name, sizeof name, "out (1, 1, %d, %d)", oh, ow);
    lesson_print_matrix(name, out->data, oh, ow, 6, 2);
    PoolLayer *p = (PoolLayer *)pool;
    if (p->kind == POOL_MAX) {
        printf("  the input each window picked (row, column):");
        for (int i = 0; i < oh * ow; i++)
            printf(" (%d, %d)", p->argmax[i] / 4, p->argmax[i] % 4);
        printf("\n");
    }
    lesson_print_matrix("dout", dout->data, oh, ow, 6, 0);
    lesson_print_matrix("dx", dx->data, 4, 4, 6, 2);
    double sum_in = 0, sum_out = 0;
    for (size_t i = 0; i < dx->size; i++) sum_in += dx->data[i];
    for (size_t i = 0; i < dout->size; i++) sum_out += dout->data[i];
    printf("  sum of dx = %g = sum of dout = %g: pooling passes the gradient on, it only\n"
           "  decides where it goes.\n\n", sum_in, sum_out);
    if (fabs(sum_in - sum_out) > 1e-12) lesson->failures++;
    tensor_free(dout);
    tensor_free(dx);
    tensor_free(out);
    tensor_free(x);
}

static void pooling_examples(Lesson *lesson)
{
    const real values[16] = {1, 3, 2, 0, 4, 8, 6, 5, 7, 2, 9, 1, 3, 5, 4, 6};
    lesson_print_matrix("x (1, 1, 4, 4)", values, 4, 4, 6, 0);
    printf("\n");
    Error err;
    Layer *max2 = checked(maxpool_create(2, 2, 2, 0, &err), &err);
    Layer *max3 = checked(maxpool_create(3, 3, 1, 0, &err), &err);
    Layer *avg2 = checked(avgpool_create(2, 2, 2, 0, &err), &err);
    pool_example(lesson, max2, "max-pool 2x2, stride 2 (the workbench's pool1 and pool2)");
    lesson_say("Each window's gradient went to its maximum only: 1 to the 8, 2 to the 6, 3 to "
               "the 7, 4 to the 9. The other twelve inputs did not change the output (nudge "
               "the 3 a little: the window still outputs 8), so their gradient is 0.");
    pool_example(lesson, max3, "max-pool 3x3, stride 1 (overlapping windows)");
    lesson_say("All four windows contain the 9, so all four send their gradient there, and "
               "the shares add up: dx = 1 + 2 + 3 + 4 = 10. Overlapping windows accumulate, "
               "as col2im does in lesson 3.");
    pool_example(lesson, avg2, "average-pool 2x2, stride 2");
    lesson_say("Average pooling is a fixed linear filter: each input of a window moved the "
               "output by 1/4 of its change, so each receives a quarter of the window's dout.");
    layer_free(max2);
    layer_free(max3);
    layer_free(avg2);
}

/* ---- section 3: a face through conv -> relu -> pool -> pool, and back ---- */

#define STAGES 6
static const char *const stage_names[STAGES] = {"face", "conv (edges)", "relu", "pool 24x24",
                                                "pool 12x12", "gradient reaches"};

/* Copies a (side, side) grey map into a (48, 48) tile, each pixel repeated
 * 48/side times in both directions, so a pooled map shows its coarser grid. */
static void upscale_into(const uint8_t *map, int side, uint8_t *tile)
{
    int factor = IMAGE_SIDE / side;
    for (int y = 0; y < IMAGE_SIDE; y++)
        for (int x = 0; x < IMAGE_SIDE; x++) tile[y * IMAGE_SIDE + x] = map[(y / factor) * side + x / factor];
}

static double fraction_zero(const Tensor *t)
{
    size_t zeros = 0;
    for (size_t i = 0; i < t->size; i++) zeros += t->data[i] == 0;
    return (double)zeros / (double)t->size;
}

static void face_through_layers(Lesson *lesson, const Dataset *faces)
{
    static const int classes[3] = {3, 5, 4}; /* Happy, Surprise, Sad */
    Error err;
    Layer *conv = checked(conv_create(1, 1, 3, 3, 1, 1, &err), &err);
    const real horizontal_edges[9] = {1, 2, 1, 0, 0, 0, -1, -2, -1};
    memcpy(((ConvLayer *)conv)->w->data, horizontal_edges, sizeof horizontal_edges);
    Layer *relu = relu_create();
    Layer *pool1 = checked(maxpool_create(2, 2, 2, 0, &err), &err);
    Layer *pool2 = checked(maxpool_create(2, 2, 2, 0, &err), &err);

    Tensor *x = tensor_new4(1, 1, IMAGE_SIDE, IMAGE_SIDE);
    Tensor *edges = tensor_new4(1, 1, 1, 1), *rectified = tensor_new4(1, 1, 1, 1);
    Tensor *pooled = tensor_new4(1, 1, 1, 1), *pooled_twice = tensor_new4(1, 1, 1, 1);
    Tensor *d_pooled = tensor_new4(1, 1, 1, 1), *d_rectified = tensor_new4(1, 1, 1, 1);
    Tensor *d_edges = tensor_new4(1, 1, 1, 1);
    uint8_t *tiles = xcalloc((size_t)3 * STAGES, IMAGE_PIXELS);
    uint8_t small[IMAGE_PIXELS];
    const char *captions[3 * STAGES] = {0};
    int rows = 0;

    for (int r = 0; r < 3; r++) {
        int index = lesson_find_class(faces, classes[r], 0);
        if (index < 0) continue;
        lesson_face_tensor(faces, index, x);
        layer_forward(conv, x, edges);
        layer_forward(relu, edges, rectified);
        layer_forward(pool1, rectified, pooled);
        layer_forward(pool2, pooled, pooled_twice);

        /* Backward from dout = 1 on every output of the last pool. */
        Tensor *d_top = tensor_like(pooled_twice);
        tensor_fill(d_top, 1);
        layer_backward(pool2, d_top, d_pooled);
        layer_backward(pool1, d_pooled, d_rectified);
        layer_backward(relu, d_rectified, d_edges);
        tensor_free(d_top);

        size_t reached = 0;
        for (size_t i = 0; i < d_edges->size; i++) reached += d_edges->data[i] != 0;
        if (rows == 0) {
            lesson_print_shape("x", x, "the face");
            lesson_print_shape("conv", edges, "3x3 horizontal-edge filter, pad 1");
            lesson_print_shape("relu", rectified, "same shape, negatives set to 0");
            lesson_print_shape("pool1", pooled, "2x2 max, stride 2: a quarter of the values");
            lesson_print_shape("pool2", pooled_twice, "2x2 max again");
            printf("\n");
        }
        printf("  %-8s (val image %4d): relu zeroed %4.1f%% of the edge map; the gradient from\n"
               "           pool2 reaches %4zu of the 2304 edge-map pixels (%.1f%%)\n",
               class_names[classes[r]], index, 100 * fraction_zero(rectified), reached,
               100.0 * (double)reached / IMAGE_PIXELS);

        uint8_t *row = tiles + (size_t)rows * STAGES * IMAGE_PIXELS;
        memcpy(row, faces->images + (size_t)index * IMAGE_PIXELS, IMAGE_PIXELS);
        lesson_map_to_grey(edges->data, IMAGE_PIXELS, 1, row + IMAGE_PIXELS);
        lesson_map_to_grey(rectified->data, IMAGE_PIXELS, 0, row + 2 * IMAGE_PIXELS);
        lesson_map_to_grey(pooled->data, 24 * 24, 0, small);
        upscale_into(small, 24, row + 3 * IMAGE_PIXELS);
        lesson_map_to_grey(pooled_twice->data, 12 * 12, 0, small);
        upscale_into(small, 12, row + 4 * IMAGE_PIXELS);
        for (int i = 0; i < IMAGE_PIXELS; i++)
            row[5 * IMAGE_PIXELS + i] = d_edges->data[i] != 0 ? 255 : 0;
        captions[rows * STAGES] = class_names[classes[r]];
        if (rows == 0)
            for (int s = 1; s < STAGES; s++) captions[s] = stage_names[s];
        rows++;
    }
    printf("\n");

    char png[256];
    lesson_out_path(lesson, "pooling.png", png, sizeof png);
    int status = chart_images(png, "conv -> ReLU -> max-pool -> max-pool, and where the "
                              "gradient reaches back (white)",
                              tiles, rows * STAGES, IMAGE_SIDE, IMAGE_SIDE, STAGES, captions,
                              &err);
    lesson_chart_done(lesson, status, png, "each stage of the forward pass; last column: "
                      "pixels of the edge map that receive gradient", &err);
    if (lesson->terminal && rows > 0) {
        printf("\n  the %s face after relu and one max-pool, as text (24x24):\n",
               class_names[classes[0]]);
        /* pooled holds the last face drawn: redo the first for the text view. */
        int index = lesson_find_class(faces, classes[0], 0);
        lesson_face_tensor(faces, index, x);
        layer_forward(conv, x, edges);
        layer_forward(relu, edges, rectified);
        layer_forward(pool1, rectified, pooled);
        lesson_map_to_grey(pooled->data, 24 * 24, 0, small);
        lesson_text_image(stdout, small, 24, 24, 1);
    }

    free(tiles);
    tensor_free(x);
    tensor_free(edges);
    tensor_free(rectified);
    tensor_free(pooled);
    tensor_free(pooled_twice);
    tensor_free(d_pooled);
    tensor_free(d_rectified);
    tensor_free(d_edges);
    layer_free(conv);
    layer_free(relu);
    layer_free(pool1);
    layer_free(pool2);
}

/* ---- section 4: gradient checks ----------------------------------------- */

static void gradient_checks(Lesson *lesson)
{
    Rng rng;
    rng_seed(&rng, lesson->seed);
    Error err;
    struct {
        const char *what;
        Layer *layer;
        int C, H;
    } cases[] = {
        {"relu, x (2, 3, 5, 5) away from 0", relu_create(), 3, 5},
        {"max-pool 2x2 s2, x (2, 3, 6, 6) without near-ties",
         checked(maxpool_create(2, 2, 2, 0, &err), &err), 3, 6},
        {"max-pool 3x3 s2 (overlapping), x (2, 2, 7, 7)",
         checked(maxpool_create(3, 3, 2, 0, &err), &err), 2, 7},
        {"avg-pool 2x2 s2, x (2, 3, 6, 6)", checked(avgpool_create(2, 2, 2, 0, &err), &err), 3, 6},
        {"avg-pool 3x3 s2 pad 1, x (2, 2, 7, 7)",
         checked(avgpool_create(3, 3, 2, 1, &err), &err), 2, 7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        Tensor *x = tensor_new4(2, cases[c].C, cases[c].H, cases[c].H);
        /* Distinct values at least 0.0075 apart, none within 0.00375 of 0:
         * far from the kinks compared with the step h = 1e-5. */
        gradcheck_fill_distinct(x, 0.01, &rng);
        printf("  %s:\n", cases[c].what);
        lesson_gradcheck_layer(lesson, cases[c].layer, x, &rng);
        printf("\n");
        tensor_free(x);
        layer_free(cases[c].layer);
    }
}

/* Two checks that fail on purpose: inputs sitting on a kink. */
static void kink_checks(Lesson *lesson)
{
    Rng rng;
    rng_seed(&rng, lesson->seed);
    Error err;
    GradcheckRow row;

    const real relu_values[4] = {3e-6, -0.7, 0.4, 1.2};
    Tensor *x = tensor_from(2, 2, relu_values);
    Layer *relu = relu_create();
    printf("  relu at x = (3e-6, -0.7, 0.4, 1.2): the first input is closer to 0 than h:\n");
    gradcheck_layer(relu, x, &rng, &row, 1);
    lesson_print_gradcheck(&row, 1);
    printf("\n");
    lesson_say("The centred difference straddles the kink: max(0, x + h) - max(0, x - h) = "
               "1.3e-5, not 2e-5, so the numerical slope is 0.65 where the analytic one is "
               "1. The layer is fine; the test point is not. Checks therefore draw inputs "
               "away from 0 (gradcheck_fill_away_from_zero, gradcheck_fill_distinct).");
    int relu_failed = !row.pass;
    tensor_free(x);
    layer_free(relu);

    const real tie_values[4] = {0.5, 0.500004, 0.1, 0.2};
    x = tensor_from(2, 2, tie_values);
    Layer *pool = checked(maxpool_create(2, 2, 2, 0, &err), &err);
    printf("  max-pool 2x2 on the window (0.5, 0.500004, 0.1, 0.2): two values 4e-6 apart:\n");
    gradcheck_layer(pool, x, &rng, &row, 1);
    lesson_print_gradcheck(&row, 1);
    printf("\n");
    lesson_say("Nudging the 0.5 up by h = 1e-5 makes it the maximum, so the numerical "
               "gradient of an input that the analytic backward (rightly) gives 0 is not 0. "
               "Again the test point, not the layer: checks keep window values further "
               "apart than h.");
    /* These two must fail; if they pass, the checker has lost its eyes. */
    if (!relu_failed || row.pass) lesson->failures++;
    tensor_free(x);
    layer_free(pool);
}

/* ---- section 6: exact ties ----------------------------------------------- */

/* Index (row-major, in a plane of `width` columns) of the first largest
 * value of the window with top-left corner (top, left), kh x kw. */
static int first_max_in_window(const real *plane, int width, int top, int left, int kh, int kw)
{
    int best = top * width + left;
    for (int y = top; y < top + kh; y++)
        for (int x = left; x < left + kw; x++)
            if (plane[y * width + x] > plane[best]) best = y * width + x;
    return best;
}

/* 2x2 windows at stride 2 of each face's ReLU'd edge map (pool1's windows in
 * section 3) whose largest value occurs more than once; *all_zero counts
 * those whose four values are all 0. */
static int count_tied_windows(const Tensor *map, int *all_zero)
{
    const int side = map->dim[3];
    int tied = 0;
    *all_zero = 0;
    for (int top = 0; top + 1 < side; top += 2)
        for (int left = 0; left + 1 < side; left += 2) {
            const real *v = map->data;
            real a = v[top * side + left], b = v[top * side + left + 1];
            real c = v[(top + 1) * side + left], d = v[(top + 1) * side + left + 1];
            real m = fmax(fmax(a, b), fmax(c, d));
            int copies = (a == m) + (b == m) + (c == m) + (d == m);
            if (copies > 1) tied++;
            if (m == 0 && copies == 4) (*all_zero)++;
        }
    return tied;
}

static void tie_section(Lesson *lesson, const Dataset *faces)
{
    Error err;
    /* Four 2x2 windows: two 7s side by side; three 5s; four 0s (as after a
     * ReLU); two 9s on a diagonal. */
    const real values[16] = {7, 7, 3, 5, 2, 1, 5, 5, 0, 0, 4, 9, 0, 0, 9, 2};
    Tensor *x = tensor_from(4, 4, values);
    lesson_print_matrix("x (1, 1, 4, 4), every 2x2 window holding a tie", values, 4, 4, 6, 0);
    printf("\n");
    Layer *fast = checked(maxpool_create(2, 2, 2, 0, &err), &err);
    Layer *general = checked(maxpool_create(2, 2, 1, 0, &err), &err);
    Tensor *out = tensor_new4(1, 1, 1, 1), *dx = tensor_new4(1, 1, 1, 1);
    layer_forward(fast, x, out);
    Tensor *dout = tensor_like(out);
    for (int i = 0; i < 4; i++) dout->data[i] = i + 1;
    layer_backward(fast, dout, dx);
    const int *picked = ((PoolLayer *)fast)->argmax;
    printf("  max-pool 2x2, stride 2: the input each window picked (row, column):");
    for (int i = 0; i < 4; i++) printf(" (%d, %d)", picked[i] / 4, picked[i] % 4);
    printf("\n");
    lesson_print_matrix("dx for dout = (1, 2 / 3, 4)", dx->data, 4, 4, 6, 0);

    /* The general loop (stride 1 is not the 2x2 stride-2 fast path) on the
     * same windows: outputs (0, 0), (0, 2), (2, 0), (2, 2) of its 3x3 map. */
    Tensor *out_general = tensor_new4(1, 1, 1, 1);
    layer_forward(general, x, out_general);
    const int *picked_general = ((PoolLayer *)general)->argmax;
    int agree = 1;
    for (int i = 0; i < 4; i++) {
        int top = 2 * (i / 2), left = 2 * (i % 2);
        int first = first_max_in_window(x->data, 4, top, left, 2, 2);
        agree &= picked[i] == first && picked_general[top * 3 + left] == first;
    }
    printf("  the general loop of pool.c (2x2 at stride 1) picks the same inputs, and both are\n"
           "  the first maximum of each window in row-major order: %s\n\n", agree ? "yes" : "NO");
    if (!agree) lesson->failures++;
    lesson_say("Both loops of layers/pool.c compare with '>': a later value equal to the "
               "largest so far does not replace it. So on a tie the first maximum in "
               "row-major order (along the top row, then the next) wins and takes the "
               "window's whole dout; the other tied inputs get 0. The window of four zeros "
               "sends its gradient to its top-left 0.");

    /* One-sided and centred slopes of the first window's output with
     * respect to its two tied 7s. */
    const double h = 1e-5;
    printf("  the first window's output f, nudging one of its two 7s by h = 1e-5:\n");
    printf("  %-16s %18s %20s %9s\n", "input", "up: (f(x+h)-f)/h", "down: (f-f(x-h))/h",
           "centred");
    for (int k = 0; k < 2; k++) {
        double f[3];
        for (int step = -1; step <= 1; step++) {
            x->data[k] = values[k] + step * h;
            layer_forward(fast, x, out);
            f[step + 1] = out->data[0];
        }
        x->data[k] = values[k];
        printf("  x[0][%d]%-9s %18.4f %20.4f %9.4f\n", k, k == 0 ? " (picked)" : "",
               (f[2] - f[1]) / h, (f[1] - f[0]) / h, (f[2] - f[0]) / (2 * h));
    }
    printf("\n");
    lesson_say("At a tie, max has no derivative: raising either 7 raises the output (slope "
               "1), lowering either leaves the other 7 as the output (slope 0). What exists "
               "is a set of subgradients: every way of sharing dout among the tied inputs "
               "with weights t >= 0 that add up to 1, (t, 1 - t) here, all of them convex "
               "combinations of 'all to one input'. Any fixed rule picks one of them and is "
               "right: first in row-major order (this code), the last, or half each. They "
               "differ only in which input gets the gradient, never in the total passed "
               "down (dx sums to dout in every case): a convention, like ReLU's slope of 0 "
               "at exactly 0. What must not happen is a rule that sends dout to two inputs "
               "in full, counting it twice.");

    GradcheckRow row;
    Rng rng;
    rng_seed(&rng, lesson->seed);
    gradcheck_layer(fast, x, &rng, &row, 1);
    printf("  the gradient check of max-pool at this x:\n");
    lesson_print_gradcheck(&row, 1);
    printf("\n");
    lesson_say("The check fails, and for that reason alone: the centred difference measures "
               "the average of the two one-sided slopes, half of dout to each tied input, "
               "while the layer (rightly) gives all of it to one; the input that gets 0 "
               "shows a relative error of 1 (|0 - d/2| / (d/2)). A tie is a kink like a "
               "ReLU at 0. That is why the checks draw distinct values "
               "(gradcheck_fill_distinct) and why ./gradcheck net redraws its weights until "
               "no window's two largest values are within 1e-3 of each other.");
    if (row.pass) lesson->failures++; /* a tie must fail the check */

    int index = lesson_find_class(faces, 3, 0); /* the Happy face of section 3 */
    if (index >= 0) {
        Layer *conv = checked(conv_create(1, 1, 3, 3, 1, 1, &err), &err);
        const real horizontal_edges[9] = {1, 2, 1, 0, 0, 0, -1, -2, -1};
        memcpy(((ConvLayer *)conv)->w->data, horizontal_edges, sizeof horizontal_edges);
        Layer *relu = relu_create();
        Tensor *face = tensor_new4(1, 1, IMAGE_SIDE, IMAGE_SIDE);
        Tensor *edges = tensor_new4(1, 1, 1, 1), *rectified = tensor_new4(1, 1, 1, 1);
        lesson_face_tensor(faces, index, face);
        layer_forward(conv, face, edges);
        layer_forward(relu, edges, rectified);
        int all_zero, tied = count_tied_windows(rectified, &all_zero);
        int windows = (IMAGE_SIDE / 2) * (IMAGE_SIDE / 2);
        lesson_say("Exact ties are not rare in a network. In section 3's Happy face, %d of "
                   "pool1's %d windows over the ReLU'd edge map hold a tie; %d of them are "
                   "windows of four zeros, where ReLU left nothing positive, and there the choice "
                   "does not matter at all (ReLU's backward stops the gradient at whichever "
                   "input gets it). The other %d are ties between equal positive values: "
                   "pixels are whole grey levels (0..255), so equal edge responses are "
                   "common.",
                   tied, windows, all_zero, tied - all_zero);
        tensor_free(rectified);
        tensor_free(edges);
        tensor_free(face);
        layer_free(relu);
        layer_free(conv);
    }

    tensor_free(out_general);
    tensor_free(dout);
    tensor_free(dx);
    tensor_free(out);
    tensor_free(x);
    layer_free(fast);
    layer_free(general);
}

int main(int argc, char **argv)
{
    /* Every tensor here is tiny: threads would cost more than they save,
     * and on a busy machine their spin-waiting can stall thousands of
     * small forward passes. One thread also fixes the summation order. */
    omp_set_num_threads(1);
    Lesson lesson;
    lesson_begin(&lesson, 4, "ReLU and max-pooling",
                 "ReLU adds the non-linearity (without it, a stack of convolutions would be "
                 "one big linear map); max-pooling shrinks the maps and keeps the strongest "
                 "response of each region. We work both forward and backward on 4x4 "
                 "examples, follow a face through conv -> ReLU -> pool, and check the "
                 "gradients, including where such checks go wrong.",
                 argc, argv, NULL, 0);

    lesson_section(&lesson, "ReLU: out = max(0, x)");
    lesson_say("Forward: every value below 0 becomes 0, the others pass unchanged. Backward: "
               "the slope of max(0, x) is 1 where x > 0 and 0 where x < 0, so dx = dout where "
               "the input was positive and 0 elsewhere. The gradient flows through the "
               "units that were on, and stops at the ones that were off.");
    relu_example(&lesson);

    lesson_section(&lesson, "Pooling: max and average");
    lesson_say("Forward: a max-pool replaces each kH x kW window by its largest value. "
               "Backward: only that largest input affected the output (with slope 1), so it "
               "receives the window's whole dout; every other input of the window receives "
               "0. The layer remembers in the forward pass which input won (its argmax).");
    pooling_examples(&lesson);

    lesson_section(&lesson, "A face through conv, ReLU and two max-pools");
    lesson_say("The first stages of the emotion CNN, with one hand-set filter instead of 32 "
               "learned ones: conv finds horizontal edges (signed), ReLU keeps only the "
               "positive responses (dark above bright, e.g. the lower rim of the brows), and "
               "each max-pool keeps the strongest response of every 2x2 block, halving the "
               "resolution. A small shift of the face barely changes the pooled map: that is "
               "the translation tolerance pooling buys. Then the backward from dout = 1 on "
               "the last map: only pixels that were a window's maximum, twice over, and "
               "positive before ReLU, receive any gradient: at most one pixel per pool2 "
               "output, 12 x 12 = 144 of the 2304. A window of zeros (all cut by ReLU) still "
               "sends its gradient to one input, and ReLU then stops it there.");
    Dataset faces;
    lesson_load_split(&lesson, "val", 0, &faces);
    face_through_layers(&lesson, &faces);

    lesson_section(&lesson, "Gradient checks of ReLU, max-pool and avg-pool");
    lesson_say("The same centred-difference check as lesson 3. None of these layers has "
               "parameters, so there is one row, dx, per layer.");
    gradient_checks(&lesson);

    lesson_section(&lesson, "Where gradient checks go wrong: kinks");
    lesson_say("ReLU and max are not differentiable everywhere: ReLU has a corner at 0, max "
               "a corner where two values tie. Two checks on purpose at such points:");
    kink_checks(&lesson);

    lesson_section(&lesson, "Exact ties: which input gets the gradient");
    lesson_say("Section 2's windows each had one largest value. When two or more inputs of "
               "a window are equal and largest, which one receives dout? The answer is in "
               "the code, and any fixed answer is right:");
    tie_section(&lesson, &faces);
    dataset_free(&faces);

    const char *const tries[] = {
        "In relu_example, change a value to exactly 0: what does the backward give it, and "
        "why is that a convention rather than math?",
        "Replace the max-pools in face_through_layers by avgpool_create(2, 2, 2, 0, ...): "
        "how does the last column of pooling.png change?",
        "Use the negative of the edge filter: which features survive the ReLU now?",
        "Make the kink check pass by moving 3e-6 to 3e-4, then compute by hand why it "
        "passes.",
        "Write ReLU and max-pooling yourself: exercises/relu.c and "
        "exercises/maxpool.c; make grade EX=relu,maxpool grades them, ties and "
        "overlapping windows included.",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    return lesson_end(&lesson);
}
