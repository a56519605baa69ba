/* ReLU and pooling: hand-worked forward and backward cases. */
#include <check.h>
#include <string.h>

#include "pool.h"
#include "relu.h"
#include "testutil.h"

/* x (1, 1, 4, 4); in the bottom-right window 9 appears twice. */
static const double grid[16] = {1, 3, 2, 1,
                                4, 2, 0, 5,
                                7, 1, 9, 9,
                                2, 8, 3, 6};

START_TEST(relu_passes_positive_values_and_their_gradient)
{
    Layer *relu = relu_create();
    Tensor *x = tensor_new2(1, 5), *out = tensor_new2(1, 1), *dout = tensor_new2(1, 5), *dx = tensor_new2(1, 1);
    set_values(x, (double[]){-2, -0.5, 0, 0.5, 3});
    set_values(dout, (double[]){10, 20, 30, 40, 50});
    layer_forward(relu, x, out);
    layer_backward(relu, dout, dx);
    assert_values(out, (double[]){0, 0, 0, 0.5, 3}, 0, "out");
    assert_values(dx, (double[]){0, 0, 0, 40, 50}, 0, "dx"); /* at exactly 0: no gradient */
    tensor_free(x);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    layer_free(relu);
}
END_TEST

START_TEST(relu_works_in_place)
{
    /* out == x and dx == dout give what separate tensors give. */
    Layer *relu = relu_create();
    Tensor *x = tensor_new2(1, 5), *dout = tensor_new2(1, 5);
    set_values(x, (double[]){-2, -0.5, 0, 0.5, 3});
    set_values(dout, (double[]){10, 20, 30, 40, 50});
    layer_forward(relu, x, x);
    layer_backward(relu, dout, dout);
    assert_values(x, (double[]){0, 0, 0, 0.5, 3}, 0, "out");
    assert_values(dout, (double[]){0, 0, 0, 40, 50}, 0, "dx");
    ck_assert_int_eq(relu->ops->in_place, 1);
    tensor_free(x);
    tensor_free(dout);
    layer_free(relu);
}
END_TEST

static void run_pool(Layer *pool, const double *x_values, int H, int W, const double *dout_values,
                     Tensor **out, Tensor **dx)
{
    Tensor *x = tensor_new4(1, 1, H, W);
    set_values(x, x_values);
    *out = tensor_new2(1, 1);
    *dx = tensor_new2(1, 1);
    layer_forward(pool, x, *out);
    Tensor *dout = tensor_like(*out);
    set_values(dout, dout_values);
    layer_backward(pool, dout, *dx);
    tensor_free(dout);
    tensor_free(x);
}

START_TEST(maxpool_routes_the_gradient_to_the_first_max)
{
    Error err;
    Layer *pool = maxpool_create(2, 2, 2, 0, &err);
    Tensor *out, *dx;
    run_pool(pool, grid, 4, 4, (double[]){1, 2, 3, 4}, &out, &dx);
    assert_values(out, (double[]){4, 5, 8, 9}, 0, "out");
    /* 4 at (1,0), 5 at (1,3), 8 at (3,1); of the two 9s, the first, (2,2). */
    assert_values(dx, (double[]){0, 0, 0, 0,
                                 1, 0, 0, 2,
                                 0, 0, 4, 0,
                                 0, 3, 0, 0}, 0, "dx");
    tensor_free(out);
    tensor_free(dx);
    layer_free(pool);
}
END_TEST

START_TEST(maxpool_overlapping_windows_add_their_gradients)
{
    /* 2x2 windows, stride 1, on a 3x3 image whose centre is the max of all
     * four windows: the centre collects the whole dout. */
    Error err;
    Layer *pool = maxpool_create(2, 2, 1, 0, &err);
    Tensor *out, *dx;
    run_pool(pool, (double[]){1, 2, 3, 4, 9, 5, 6, 7, 8}, 3, 3, (double[]){1, 2, 3, 4}, &out, &dx);
    assert_values(out, (double[]){9, 9, 9, 9}, 0, "out");
    assert_values(dx, (double[]){0, 0, 0, 0, 10, 0, 0, 0, 0}, 0, "dx");
    tensor_free(out);
    tensor_free(dx);
    layer_free(pool);
}
END_TEST

START_TEST(maxpool_ignores_padding)
{
    /* Padding never wins, even against negative values. */
    Error err;
    Layer *pool = maxpool_create(3, 3, 1, 1, &err);
    Tensor *out, *dx;
    run_pool(pool, (double[]){-4, -3, -2, -1}, 2, 2, (double[]){1, 1, 1, 1}, &out, &dx);
    assert_values(out, (double[]){-1, -1, -1, -1}, 0, "out");
    assert_values(dx, (double[]){0, 0, 0, 4}, 0, "dx");
    tensor_free(out);
    tensor_free(dx);
    layer_free(pool);
}
END_TEST

START_TEST(avgpool_shares_the_gradient_evenly)
{
    Error err;
    Layer *pool = avgpool_create(2, 2, 2, 0, &err);
    Tensor *out, *dx;
    run_pool(pool, grid, 4, 4, (double[]){4, 8, 12, 16}, &out, &dx);
    assert_values(out, (double[]){2.5, 2, 4.5, 6.75}, TEST_TOLERANCE, "out");
    assert_values(dx, (double[]){1, 1, 2, 2,
                                 1, 1, 2, 2,
                                 3, 3, 4, 4,
                                 3, 3, 4, 4}, TEST_TOLERANCE, "dx");
    tensor_free(out);
    tensor_free(dx);
    layer_free(pool);
}
END_TEST

START_TEST(avgpool_counts_padding_as_zeros)
{
    /* 3x3 windows, pad 1, on [[1 2] [3 4]]: every window holds all four
     * pixels and five zeros, so every output is 10/9 (PyTorch's default). */
    Error err;
    Layer *pool = avgpool_create(3, 3, 1, 1, &err);
    Tensor *out, *dx;
    run_pool(pool, (double[]){1, 2, 3, 4}, 2, 2, (double[]){9, 9, 9, 9}, &out, &dx);
    assert_values(out, (double[]){10.0 / 9, 10.0 / 9, 10.0 / 9, 10.0 / 9}, TEST_TOLERANCE, "out");
    assert_values(dx, (double[]){4, 4, 4, 4}, TEST_TOLERANCE, "dx");
    tensor_free(out);
    tensor_free(dx);
    layer_free(pool);
}
END_TEST

START_TEST(pool_planes_are_independent)
{
    /* (2, 3, 4, 4): every (n, c) plane is pooled on its own. */
    Error err;
    Layer *pool = maxpool_create(2, 2, 2, 0, &err);
    Tensor *x = tensor_new4(2, 3, 4, 4), *out = tensor_new2(1, 1);
    for (int plane = 0; plane < 6; plane++)
        for (int i = 0; i < 16; i++) x->data[plane * 16 + i] = (real)(grid[i] + 100 * plane);
    layer_forward(pool, x, out);
    ck_assert_int_eq(out->dim[1], 3);
    for (int plane = 0; plane < 6; plane++) {
        const double want[4] = {4 + 100 * plane, 5 + 100 * plane, 8 + 100 * plane, 9 + 100 * plane};
        for (int i = 0; i < 4; i++) ck_assert(out->data[plane * 4 + i] == (real)want[i]);
    }
    tensor_free(x);
    tensor_free(out);
    layer_free(pool);
}
END_TEST

/* Max-pooling as the definition says, one window at a time: the first
 * maximum in row-major window order wins; windows inside the image. */
static void naive_maxpool(const Tensor *x, int k, int stride, Tensor *out, Tensor *dx, const Tensor *dout)
{
    int planes = x->dim[0] * x->dim[1], H = x->dim[2], W = x->dim[3];
    int H_out = (H - k) / stride + 1, W_out = (W - k) / stride + 1;
    for (size_t i = 0; i < dx->size; i++) dx->data[i] = 0;
    for (int p = 0; p < planes; p++)
        for (int oh = 0; oh < H_out; oh++)
            for (int ow = 0; ow < W_out; ow++) {
                size_t best = ((size_t)p * H + oh * stride) * W + ow * stride;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) {
                        size_t at = ((size_t)p * H + oh * stride + a) * W + ow * stride + b;
                        if (x->data[at] > x->data[best]) best = at;
                    }
                size_t o = ((size_t)p * H_out + oh) * W_out + ow;
                out->data[o] = x->data[best];
                dx->data[best] += dout->data[o];
            }
}

/* The 2x2 stride-2 case has vectorised paths of its own: row by row for
 * planes wide enough for whole vectors, a flat run of windows for narrow
 * planes (outputs fewer than 8 wide, at most 1024 per plane). On both, with
 * many ties (values 0..3), on a narrow plane too large for the flat run,
 * and on an odd size (which takes the general loop), it must agree with
 * the definition exactly. */
START_TEST(maxpool_2x2_matches_the_definition_with_ties)
{
    const int shapes[][2] = {{6, 48}, {24, 24}, {7, 41}, {6, 6},  {12, 12},
                             {2, 2},  {40, 14}, {100, 4}, {2050, 2}};
    const int count = (int)(sizeof shapes / sizeof shapes[0]);
    Rng rng;
    rng_seed(&rng, 11);
    for (int s = 0; s < count; s++) {
        Error err;
        Layer *pool = maxpool_create(2, 2, 2, 0, &err);
        Tensor *x = tensor_new4(2, 3, shapes[s][0], shapes[s][1]);
        for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_below(&rng, 4);
        Tensor *out = tensor_new2(1, 1), *dx = tensor_new2(1, 1);
        layer_forward(pool, x, out);
        Tensor *dout = tensor_like(out), *want_out = tensor_like(out), *want_dx = tensor_like(x);
        fill_normal(dout, &rng, 1);
        layer_backward(pool, dout, dx);
        naive_maxpool(x, 2, 2, want_out, want_dx, dout);
        ck_assert_int_eq(out->dim[2], shapes[s][0] / 2);
        ck_assert_int_eq(out->dim[3], shapes[s][1] / 2);
        assert_close(out->data, want_out->data, out->size, 0, "out");
        assert_close(dx->data, want_dx->data, dx->size, 0, "dx");
        tensor_free(x);
        tensor_free(out);
        tensor_free(dx);
        tensor_free(dout);
        tensor_free(want_out);
        tensor_free(want_dx);
        layer_free(pool);
    }
}
END_TEST

START_TEST(bad_pool_settings_are_refused_with_a_message)
{
    Error err;
    ck_assert_ptr_null(maxpool_create(2, 2, 0, 0, &err));
    ck_assert_msg(strstr(err.msg, "stride 0"), "%s", err.msg);
    ck_assert_ptr_null(avgpool_create(2, 2, 2, 2, &err));
    ck_assert_msg(strstr(err.msg, "padding 2"), "%s", err.msg);
    Layer *pool = maxpool_create(5, 5, 1, 0, &err);
    int dims[4] = {1, 1, 4, 4}, out_ndim, out[4];
    ck_assert_int_eq(layer_output_shape(pool, 4, dims, &out_ndim, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "larger than the padded input"), "%s", err.msg);
    layer_free(pool);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, relu_passes_positive_values_and_their_gradient);
    tcase_add_test(tc, relu_works_in_place);
    tcase_add_test(tc, maxpool_2x2_matches_the_definition_with_ties);
    tcase_add_test(tc, maxpool_routes_the_gradient_to_the_first_max);
    tcase_add_test(tc, maxpool_overlapping_windows_add_their_gradients);
    tcase_add_test(tc, maxpool_ignores_padding);
    tcase_add_test(tc, avgpool_shares_the_gradient_evenly);
    tcase_add_test(tc, avgpool_counts_padding_as_zeros);
    tcase_add_test(tc, pool_planes_are_independent);
    tcase_add_test(tc, bad_pool_settings_are_refused_with_a_message);
    suite_add_tcase(s, tc);
    return s;
}
