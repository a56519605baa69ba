/* The crop layer: forward and backward against the definition written out
 * as loops, in both modes; the training windows (in bounds, one per image,
 * every position drawn, fixed by the key); a network that starts with one;
 * the gradient check (double build). */
#include <check.h>
#include <string.h>

#include "arch.h"
#include "crop.h"
#include "testutil.h"

/* a value that says where it came from: n, c, i, j as decimal digits */
static real code(int n, int c, int i, int j) { return (real)(1000 * n + 100 * c + 10 * i + j); }

static Tensor *coded_images(int N, int C, int H, int W)
{
    Tensor *x = tensor_new4(N, C, H, W);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) x->data[((n * C + c) * H + i) * W + j] = code(n, c, i, j);
    return x;
}

/* The window out[n] was cut from: (top, left) such that every channel's
 * every value is x[n, c, top + i, left + j]; fails if there is none. */
static void window_of(const Tensor *out, int n, int H, int W, int *top, int *left)
{
    const int C = out->dim[1], h = out->dim[2], w = out->dim[3];
    const real first = out->data[(size_t)n * C * h * w];
    *top = ((int)first % 100) / 10; /* code(n, 0, top, left) */
    *left = (int)first % 10;
    ck_assert_int_eq((int)first / 1000, n);
    ck_assert(*top >= 0 && *top <= H - h && *left >= 0 && *left <= W - w);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                ck_assert(out->data[((n * C + c) * h + i) * w + j] == code(n, c, *top + i, *left + j));
}

/* dx[n] is dout[n] inside the window at (top, left) and 0 outside it */
static void check_backward_definition(const Tensor *dout, const Tensor *dx, int n, int top, int left)
{
    const int C = dx->dim[1], H = dx->dim[2], W = dx->dim[3], h = dout->dim[2], w = dout->dim[3];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                const int inside = i >= top && i < top + h && j >= left && j < left + w;
                const real want = inside ? dout->data[((n * C + c) * h + i - top) * w + j - left] : 0;
                ck_assert(dx->data[((n * C + c) * H + i) * W + j] == want);
            }
}

START_TEST(evaluation_takes_the_central_window)
{
    Error err;
    Layer *crop = crop_create(4, 3, &err);
    crop->mode = LAYER_EVAL;
    Tensor *x = coded_images(2, 3, 7, 6), *out = tensor_new2(1, 1), *dout = tensor_new4(2, 3, 4, 3);
    Tensor *dx = tensor_new2(1, 1);
    layer_forward(crop, x, out);
    ck_assert_int_eq(out->dim[2], 4);
    ck_assert_int_eq(out->dim[3], 3);
    /* (7 - 4) / 2 = 1 row above, (6 - 3) / 2 = 1 column to the left, rounded down */
    for (int n = 0; n < 2; n++) {
        int top, left;
        window_of(out, n, 7, 6, &top, &left);
        ck_assert_int_eq(top, 1);
        ck_assert_int_eq(left, 1);
    }
    ck_assert(out->data[0] == code(0, 0, 1, 1));
    for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)(i + 1);
    layer_backward(crop, dout, dx);
    ck_assert_int_eq(dx->size, x->size);
    for (int n = 0; n < 2; n++) check_backward_definition(dout, dx, n, 1, 1);
    /* the whole image: the identity */
    layer_free(crop);
    crop = crop_create(7, 6, &err);
    layer_forward(crop, x, out);
    ck_assert(!memcmp(out->data, x->data, x->size * sizeof(real)));
    layer_free(crop);
    tensor_free(x);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
}
END_TEST

START_TEST(training_draws_one_window_per_image_from_the_key)
{
    Error err;
    enum { N = 200, C = 2, H = 9, W = 8, h = 6, w = 6 };
    Layer *crop = crop_create(h, w, &err);
    Tensor *x = coded_images(N, C, H, W), *out = tensor_new2(1, 1), *again = tensor_new2(1, 1);
    Tensor *dout = tensor_new4(N, C, h, w), *dx = tensor_new2(1, 1);
    for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)(i % 97) - 48;
    crop->noise_key = 2024;
    layer_forward(crop, x, out);
    /* 4 x 3 positions: with 200 images each should turn up (the chance that
     * one does not is under 12 * (11/12)^200, 3e-7) */
    int seen[H - h + 1][W - w + 1];
    memset(seen, 0, sizeof seen);
    int tops[N], lefts[N];
    for (int n = 0; n < N; n++) {
        window_of(out, n, H, W, &tops[n], &lefts[n]);
        seen[tops[n]][lefts[n]]++;
    }
    for (int t = 0; t <= H - h; t++)
        for (int l = 0; l <= W - w; l++) ck_assert_msg(seen[t][l] > 0, "window (%d, %d) never drawn", t, l);
    /* backward sends each image's gradient to its own window */
    layer_backward(crop, dout, dx);
    for (int n = 0; n < N; n++) check_backward_definition(dout, dx, n, tops[n], lefts[n]);
    /* the same key gives the same windows whatever the thread count; another key others */
    int before = set_threads(1);
    layer_forward(crop, x, again);
    ck_assert(!memcmp(out->data, again->data, out->size * sizeof(real)));
    set_threads(before);
    crop->noise_key = 2025;
    layer_forward(crop, x, again);
    ck_assert(memcmp(out->data, again->data, out->size * sizeof(real)) != 0);
    layer_free(crop);
    ck_assert_ptr_null(crop_create(0, 3, &err));
    ck_assert_str_eq(err.msg, "a crop needs a window of at least 1x1, not 0x3");
    tensor_free(x);
    tensor_free(out);
    tensor_free(again);
    tensor_free(dout);
    tensor_free(dx);
}
END_TEST

START_TEST(a_network_can_start_with_a_crop)
{
    Error err;
    Network *net = arch_build_text("crop 40, conv 4 3x3 pad 1, relu, maxpool 2 pad 1, fc 7", "--arch",
                                   1, 48, 48, 7, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_str_eq(net->layers[0]->name, "crop1");
    ck_assert_str_eq(net->description, "crop 40x40\nconv 4 3x3 stride 1 pad 1\nrelu\n"
                                       "maxpool 2x2 stride 2 pad 1\nfc 7\n");
    int ndim, dims[TENSOR_MAX_DIMS];
    network_shape_after(net, 1, &ndim, dims);
    ck_assert_int_eq(dims[2], 40);
    ck_assert_int_eq(dims[3], 40);
    /* 40 -> pooled with a row of padding -> 21x21 (pool windows at -1, 1, ..., 39) */
    network_shape_after(net, 4, &ndim, dims);
    ck_assert_int_eq(dims[2], 21);
    network_free(net);
}
END_TEST

#ifdef REAL_IS_DOUBLE
START_TEST(crop_passes_the_gradient_check_in_both_modes)
{
    Rng rng;
    rng_seed(&rng, 5);
    Error err;
    for (int mode = LAYER_TRAIN; mode <= LAYER_EVAL; mode++) {
        Layer *crop = crop_create(3, 4, &err);
        crop->noise_key = 31;
        crop->mode = (LayerMode)mode;
        Tensor *x = tensor_new4(3, 2, 6, 7);
        assert_dx_passes_gradcheck(crop, x, &rng);
        tensor_free(x);
        layer_free(crop);
    }
}
END_TEST
#endif

Suite *crop_suite(void)
{
    Suite *s = suite_create("crop");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, evaluation_takes_the_central_window);
    tcase_add_test(tc, training_draws_one_window_per_image_from_the_key);
    tcase_add_test(tc, a_network_can_start_with_a_crop);
#ifdef REAL_IS_DOUBLE
    tcase_add_test(tc, crop_passes_the_gradient_check_in_both_modes);
#endif
    suite_add_tcase(s, tc);
    return s;
}
