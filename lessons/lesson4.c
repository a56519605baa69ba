/* Lesson 4: ReLU and max-pooling.
 *
 * ReLU keeps positive values and zeroes the rest; its backward lets the
 * gradient through where the input was positive and stops it elsewhere.
 * Max-pooling keeps the largest value of each window; its backward sends
 * the window's whole gradient to that one input. The lesson prints both on
 * 4x4 examples, follows a face through conv -> ReLU -> pool -> pool and
 * back, runs the gradient checks, and shows where such checks go wrong:
 * at the kinks. */
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
        /* Distinct values at least 0.01 apart, none within 0.005 of 0:
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
    dataset_free(&faces);

    lesson_section(&lesson, "Gradient checks of ReLU, max-pool and avg-pool");
    lesson_say("The same centred-difference check as lesson 3. None of these layers has "
               "parameters, so there is one row, dx, per layer.");
    gradient_checks(&lesson);

    lesson_section(&lesson, "Where gradient checks go wrong: kinks");
    lesson_say("ReLU and max are not differentiable everywhere: ReLU has a corner at 0, max "
               "a corner where two values tie. Two checks on purpose at such points:");
    kink_checks(&lesson);

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
