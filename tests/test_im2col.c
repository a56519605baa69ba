/* im2col / col2im: the copies that turn convolution into a matrix multiply. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "im2col.h"
#include "testutil.h"

typedef struct {
    int C, H, W, kh, kw, stride, pad;
} Geometry;

/* Overlapping windows, strides, padding and non-square kernels. */
static const Geometry geometries[] = {
    {1, 3, 3, 2, 2, 1, 0}, {2, 5, 5, 3, 3, 1, 1}, {3, 7, 6, 5, 5, 2, 2}, {2, 6, 8, 3, 5, 1, 1},
    {1, 9, 7, 5, 3, 2, 0}, {4, 4, 4, 1, 1, 1, 0}, {2, 8, 8, 2, 2, 2, 0}, {1, 5, 9, 4, 2, 3, 1},
    {3, 6, 6, 3, 3, 2, 1}, {1, 2, 2, 5, 5, 1, 2},
    /* stride 1, "same" padding: im2col's shifted-plane path */
    {3, 7, 9, 3, 3, 1, 1}, {2, 6, 5, 5, 5, 1, 2}, {1, 48, 48, 3, 3, 1, 1}, {2, 1, 7, 3, 3, 1, 1},
    {2, 3, 1, 3, 3, 1, 1}, {1, 3, 4, 7, 7, 1, 3},
};
#define NUM_GEOMETRIES (int)(sizeof geometries / sizeof geometries[0])

static void init(ConvGeometry *g, const Geometry *q)
{
    Error err;
    ck_assert_msg(conv_geometry_init(g, q->C, q->H, q->W, q->kh, q->kw, q->stride, q->pad, &err) == 0,
                  "%s", err.msg);
}

START_TEST(output_size_follows_the_formula)
{
    ConvGeometry g;
    init(&g, &geometries[2]); /* (7 + 4 - 5) / 2 + 1 = 4, (6 + 4 - 5) / 2 + 1 = 3 */
    ck_assert_int_eq(g.out_h, 4);
    ck_assert_int_eq(g.out_w, 3);
    ck_assert_int_eq(conv_geometry_rows(&g), 3 * 5 * 5);
    ck_assert_int_eq(conv_geometry_cols(&g), 12);
}
END_TEST

START_TEST(im2col_of_a_hand_made_image)
{
    /* x = [[1 2 3] [4 5 6] [7 8 9]], 2x2 kernel, stride 1: four patches.
     * Row r = kernel offset (i, j); column p = output position. */
    ConvGeometry g;
    init(&g, &geometries[0]);
    real x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, cols[16];
    const real want[16] = {1, 2, 4, 5,   /* (0,0): top-left of each patch */
                           2, 3, 5, 6,   /* (0,1) */
                           4, 5, 7, 8,   /* (1,0) */
                           5, 6, 8, 9};  /* (1,1) */
    im2col(&g, x, cols);
    assert_close(cols, want, 16, 0, "cols");
}
END_TEST

START_TEST(im2col_pads_with_zeros)
{
    /* 1x2x2 image, 3x3 kernel, pad 1: 2x2 outputs; the centre row holds the
     * image itself, the corner rows mostly padding. */
    Error err;
    ConvGeometry g;
    ck_assert_int_eq(conv_geometry_init(&g, 1, 2, 2, 3, 3, 1, 1, &err), 0);
    real x[4] = {1, 2, 3, 4}, cols[9 * 4];
    im2col(&g, x, cols);
    const real centre[4] = {1, 2, 3, 4};
    const real top_left[4] = {0, 0, 0, 1};      /* offset (0,0): only output (1,1) sees x[0][0] */
    const real bottom_right[4] = {4, 0, 0, 0};  /* offset (2,2) */
    assert_close(cols + 4 * 4, centre, 4, 0, "centre row");
    assert_close(cols + 0 * 4, top_left, 4, 0, "top-left row");
    assert_close(cols + 8 * 4, bottom_right, 4, 0, "bottom-right row");
}
END_TEST

START_TEST(im2col_matches_the_reference_loop)
{
    Rng rng;
    rng_seed(&rng, 11);
    for (int k = 0; k < NUM_GEOMETRIES; k++) {
        ConvGeometry g;
        init(&g, &geometries[k]);
        Tensor *x = tensor_new4(1, g.channels, g.height, g.width);
        fill_normal(x, &rng, 1);
        size_t n = (size_t)conv_geometry_rows(&g) * conv_geometry_cols(&g);
        real *fast = malloc(n * sizeof(real)), *slow = malloc(n * sizeof(real));
        im2col(&g, x->data, fast);
        im2col_reference(&g, x->data, slow);
        assert_close(fast, slow, n, 0, "cols");
        free(fast);
        free(slow);
        tensor_free(x);
    }
}
END_TEST

START_TEST(col2im_adds_overlapping_shares)
{
    /* 3x3 image, 2x2 windows, stride 1: the centre pixel is in all four
     * windows, edges in two, corners in one. With every column entry 1,
     * col2im must count them; an assigning col2im would give all ones. */
    ConvGeometry g;
    init(&g, &geometries[0]);
    real cols[16], x[9] = {0};
    for (int i = 0; i < 16; i++) cols[i] = 1;
    col2im_add(&g, cols, x);
    const real want[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    assert_close(x, want, 9, 0, "x");
    col2im_add(&g, cols, x); /* and it accumulates onto what is there */
    const real twice[9] = {2, 4, 2, 4, 8, 4, 2, 4, 2};
    assert_close(x, twice, 9, 0, "x after a second call");
}
END_TEST

START_TEST(col2im_matches_the_reference_loop)
{
    Rng rng;
    rng_seed(&rng, 12);
    for (int k = 0; k < NUM_GEOMETRIES; k++) {
        ConvGeometry g;
        init(&g, &geometries[k]);
        size_t n = (size_t)conv_geometry_rows(&g) * conv_geometry_cols(&g);
        size_t pixels = (size_t)g.channels * g.height * g.width;
        real *cols = malloc(n * sizeof(real));
        real *fast = calloc(pixels, sizeof(real)), *slow = calloc(pixels, sizeof(real));
        for (size_t i = 0; i < n; i++) cols[i] = (real)rng_normal(&rng);
        col2im_add(&g, cols, fast);
        col2im_add_reference(&g, cols, slow);
        assert_close(fast, slow, pixels, 0, "x"); /* the same additions in the same order */
        free(cols);
        free(fast);
        free(slow);
    }
}
END_TEST

/* <im2col(x), y> == <x, col2im(y)> for every x, y: col2im is the transpose
 * of im2col, which is exactly what the backward pass of a copy must be. */
START_TEST(col2im_is_the_adjoint_of_im2col)
{
    Rng rng;
    rng_seed(&rng, 13);
    for (int k = 0; k < NUM_GEOMETRIES; k++) {
        ConvGeometry g;
        init(&g, &geometries[k]);
        size_t n = (size_t)conv_geometry_rows(&g) * conv_geometry_cols(&g);
        size_t pixels = (size_t)g.channels * g.height * g.width;
        real *x = malloc(pixels * sizeof(real)), *back = calloc(pixels, sizeof(real));
        real *y = malloc(n * sizeof(real)), *cols = malloc(n * sizeof(real));
        for (size_t i = 0; i < pixels; i++) x[i] = (real)rng_normal(&rng);
        for (size_t i = 0; i < n; i++) y[i] = (real)rng_normal(&rng);
        im2col(&g, x, cols);
        col2im_add(&g, y, back);
        double left = 0, right = 0, scale = 0;
        for (size_t i = 0; i < n; i++) {
            left += (double)cols[i] * y[i];
            scale += fabs((double)cols[i] * y[i]);
        }
        for (size_t i = 0; i < pixels; i++) right += (double)x[i] * back[i];
        ck_assert_msg(fabs(left - right) <= 10 * TEST_TOLERANCE * scale,
                      "geometry %d: <im2col(x), y> = %.17g but <x, col2im(y)> = %.17g", k, left, right);
        free(x);
        free(back);
        free(y);
        free(cols);
    }
}
END_TEST

START_TEST(impossible_geometries_are_refused)
{
    ConvGeometry g;
    Error err;
    ck_assert_int_eq(conv_geometry_init(&g, 1, 4, 4, 7, 7, 1, 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "larger than the padded input"), "%s", err.msg);
    ck_assert_int_eq(conv_geometry_init(&g, 1, 4, 4, 3, 3, 0, 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "stride 0"), "%s", err.msg);
    ck_assert_int_eq(conv_geometry_init(&g, 1, 4, 4, 3, 3, 1, -1, &err), -1);
    ck_assert_msg(strstr(err.msg, "padding"), "%s", err.msg);
    ck_assert_int_eq(conv_geometry_init(&g, 1, 4, 4, 0, 3, 1, 0, &err), -1);
    ck_assert_msg(strstr(err.msg, "kernel"), "%s", err.msg);
}
END_TEST

Suite *im2col_suite(void)
{
    Suite *s = suite_create("im2col");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, output_size_follows_the_formula);
    tcase_add_test(tc, im2col_of_a_hand_made_image);
    tcase_add_test(tc, im2col_pads_with_zeros);
    tcase_add_test(tc, im2col_matches_the_reference_loop);
    tcase_add_test(tc, col2im_adds_overlapping_shares);
    tcase_add_test(tc, col2im_matches_the_reference_loop);
    tcase_add_test(tc, col2im_is_the_adjoint_of_im2col);
    tcase_add_test(tc, impossible_geometries_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
