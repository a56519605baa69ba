#include <check.h>
#include <string.h>

#include "tensor.h"

START_TEST(new_tensor_is_zeroed_with_its_shape)
{
    Tensor *t = tensor_new4(2, 3, 4, 5);
    ck_assert_int_eq(t->ndim, 4);
    ck_assert_uint_eq(t->size, 120);
    ck_assert_uint_eq(tensor_item_size(t), 60);
    for (size_t i = 0; i < t->size; i++) ck_assert(t->data[i] == 0);
    tensor_free(t);
}
END_TEST

START_TEST(shape_prints_as_numpy_does)
{
    char buf[64];
    Tensor *t = tensor_new4(2, 3, 4, 5);
    ck_assert_str_eq(tensor_shape_string(t, buf, sizeof buf), "(2, 3, 4, 5)");
    int one[1] = {7};
    ck_assert_str_eq(shape_string(1, one, buf, sizeof buf), "(7,)");
    tensor_free(t);
}
END_TEST

START_TEST(resize_keeps_memory_when_shrinking)
{
    Tensor *t = tensor_new4(4, 1, 8, 8);
    real *before = t->data;
    int dims[2] = {2, 10};
    tensor_resize(t, 2, dims);
    ck_assert_ptr_eq(t->data, before);
    ck_assert_uint_eq(t->size, 20);
    ck_assert_int_eq(t->dim[1], 10);
    tensor_free(t);
}
END_TEST

START_TEST(resize_grows_back_into_memory_it_had)
{
    /* A buffer that holds a large tensor, then a small one, then the large
     * one again (as the network's gradient buffers do) allocates once. */
    Tensor *t = tensor_new4(4, 1, 8, 8);
    real *before = t->data;
    int small[2] = {2, 3}, large[4] = {4, 1, 8, 8}, larger[2] = {1, 257};
    tensor_resize(t, 2, small);
    tensor_resize(t, 4, large);
    ck_assert_ptr_eq(t->data, before);
    ck_assert_uint_eq(t->size, 256);
    ck_assert_uint_eq(t->capacity, 256);
    tensor_resize(t, 2, larger); /* more than it ever had: new memory */
    ck_assert_uint_eq(t->capacity, 257);
    t->data[256] = 1; /* in bounds (AddressSanitizer would say) */
    tensor_free(t);
}
END_TEST

Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, new_tensor_is_zeroed_with_its_shape);
    tcase_add_test(tc, shape_prints_as_numpy_does);
    tcase_add_test(tc, resize_keeps_memory_when_shrinking);
    tcase_add_test(tc, resize_grows_back_into_memory_it_had);
    suite_add_tcase(s, tc);
    return s;
}
