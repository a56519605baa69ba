/* The training-pipeline loader: what it accepts (fixtures written by numpy,
 * tests/fixtures/make_loader_fixtures.py), the batches it builds, its
 * shuffling and its augmentation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "loader.h"
#include "npz.h"

#define FIXTURES "tests/fixtures/loader/"

/* ------------------------------------------------------------- helpers */

static NpzFile read_fixture(const char *name)
{
    NpzFile npz;
    Error err;
    ck_assert_msg(npz_read(name, &npz, &err) == 0, "%s (run tests from the repository root)",
                  err.msg);
    return npz;
}

static void assert_loads_as_expected(const char *file, const char *split)
{
    NpzFile npz = read_fixture(file);
    const NpyArray *images = npz_find(&npz, "expected_images");
    const NpyArray *labels = npz_find(&npz, "expected_labels");
    ck_assert(images && labels);
    Dataset d;
    Error err;
    ck_assert_msg(dataset_from_npz(&npz, file, split, &d, &err) == 0, "%s: %s", split, err.msg);
    ck_assert_int_eq(d.count, (int)labels->count);
    ck_assert_str_eq(d.split, split);
    ck_assert_msg(!memcmp(d.images, images->data, images->count), "%s: pixels differ", split);
    for (int i = 0; i < d.count; i++)
        ck_assert_int_eq(d.labels[i], ((const int64_t *)labels->data)[i]);
    dataset_free(&d);
    npz_free(&npz);
}

/* A dataset of count images; image i has every pixel 3*i + (pixel % 3)
 * and label i % 7, so images and labels can be told apart. */
static void make_dataset(Dataset *d, int count, const char *split)
{
    dataset_alloc(d, count, split);
    for (int i = 0; i < count; i++) {
        for (int p = 0; p < IMAGE_PIXELS; p++)
            d->images[(size_t)i * IMAGE_PIXELS + p] = (uint8_t)((3 * i + p % 3) % 256);
        d->labels[i] = i % NUM_CLASSES;
    }
}

/* The dataset indices of one whole epoch, in the order handed out. */
static void epoch_order(Loader *loader, int epoch, int *order)
{
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[64], seen = 0, n;
    loader_begin_epoch(loader, epoch);
    while ((n = loader_next(loader, x, labels)) > 0) {
        memcpy(order + seen, loader_batch_indices(loader), (size_t)n * sizeof *order);
        seen += n;
    }
    ck_assert_int_eq(seen, loader->data->count);
    tensor_free(x);
}

/* The batch image b is exactly image `index` of the dataset, as pixel/255. */
static void assert_unaugmented(const Tensor *x, int b, const Dataset *d, int index)
{
    for (int p = 0; p < IMAGE_PIXELS; p++) {
        uint8_t pixel = d->images[(size_t)index * IMAGE_PIXELS + p];
        ck_assert(x->data[(size_t)b * IMAGE_PIXELS + p] == (real)pixel / (real)255);
    }
}

/* ------------------------------------------------- accepted files */

START_TEST(uint8_images_in_three_shapes_load)
{
    assert_loads_as_expected(FIXTURES "accepted.npz", "u8_3d");
    assert_loads_as_expected(FIXTURES "accepted.npz", "u8_4d");
    assert_loads_as_expected(FIXTURES "accepted.npz", "u8_flat");
}
END_TEST

START_TEST(deflated_members_load_the_same)
{
    assert_loads_as_expected(FIXTURES "accepted_compressed.npz", "u8_3d");
    assert_loads_as_expected(FIXTURES "accepted_compressed.npz", "f32");
}
END_TEST

START_TEST(integer_images_holding_0_to_255_load)
{
    assert_loads_as_expected(FIXTURES "accepted.npz", "i64");
}
END_TEST

START_TEST(float_images_in_0_1_load_as_their_grey_levels)
{
    /* numpy's uint8 / 255 in float16, float32 and float64 round back to
     * the original bytes. */
    assert_loads_as_expected(FIXTURES "accepted.npz", "f32");
    assert_loads_as_expected(FIXTURES "accepted.npz", "f64");
    assert_loads_as_expected(FIXTURES "accepted.npz", "f16");
}
END_TEST

START_TEST(labels_of_every_integer_width_load)
{
    const char *splits[] = {"l_int8", "l_int16", "l_int32", "l_int64",
                            "l_uint8", "l_uint16", "l_uint32", "l_uint64"};
    for (int i = 0; i < 8; i++) assert_loads_as_expected(FIXTURES "accepted.npz", splits[i]);
}
END_TEST

START_TEST(other_floats_round_to_the_nearest_grey_level)
{
    NpzFile npz = read_fixture(FIXTURES "quantized.npz");
    const NpyArray *expected = npz_find(&npz, "expected_any");
    Dataset d;
    Error err;
    ck_assert_msg(dataset_from_npz(&npz, "quantized.npz", "any", &d, &err) == 0, "%s", err.msg);
    ck_assert(!memcmp(d.images, expected->data, expected->count));
    dataset_free(&d);
    npz_free(&npz);
}
END_TEST

START_TEST(dataset_load_reads_the_file_itself)
{
    Dataset d;
    Error err;
    ck_assert_msg(dataset_load(FIXTURES "accepted.npz", "u8_flat", &d, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.count, 3);
    dataset_free(&d);
}
END_TEST

/* ---------------------------------------------------------- errors */

/* Loading split of errors.npz fails with a message holding both phrases. */
static void assert_rejected(const char *split, const char *phrase, const char *phrase2)
{
    NpzFile npz = read_fixture(FIXTURES "errors.npz");
    Dataset d;
    Error err;
    ck_assert_msg(dataset_from_npz(&npz, "errors.npz", split, &d, &err) == -1,
                  "split %s was accepted", split);
    ck_assert_msg(strstr(err.msg, "errors.npz") != NULL, "no file name in: %s", err.msg);
    ck_assert_msg(strstr(err.msg, phrase) != NULL, "expected '%s' in: %s", phrase, err.msg);
    ck_assert_msg(strstr(err.msg, phrase2) != NULL, "expected '%s' in: %s", phrase2, err.msg);
    ck_assert_int_eq(d.count, 0);
    ck_assert_ptr_null(d.images);
    npz_free(&npz);
}

START_TEST(missing_members_are_named)
{
    assert_rejected("nolabels", "no member 'y_nolabels'", "x_nolabels");
    assert_rejected("test", "no member 'x_test'", "the file has:");
}
END_TEST

START_TEST(mismatched_lengths_are_reported)
{
    assert_rejected("lengths", "x_lengths has 3 images", "y_lengths has 2 labels");
}
END_TEST

START_TEST(wrong_image_sizes_are_reported)
{
    assert_rejected("size", "x_size has shape (3, 32, 32)", "(N, 48, 48)");
    assert_rejected("rgb", "x_rgb has shape (3, 3, 48, 48)", "(N, 1, 48, 48)");
}
END_TEST

START_TEST(labels_outside_0_to_6_are_reported)
{
    assert_rejected("label7", "y_label7[2] is 7", "0..6");
    assert_rejected("negative", "y_negative[1] is -1", "0..6");
}
END_TEST

START_TEST(labels_must_be_integers_of_shape_n)
{
    assert_rejected("floatlabels", "y_floatlabels is float32", "integers");
    assert_rejected("labelshape", "y_labelshape has shape (3, 1)", "one-dimensional");
}
END_TEST

START_TEST(pixels_out_of_range_are_reported)
{
    assert_rejected("floatrange", "x_floatrange", "image 2 pixel 491 is 1.5");
    assert_rejected("nan", "x_nan", "image 1 pixel 0 is nan");
    assert_rejected("pixel300", "x_pixel300 image 2 pixel 2303 is 300", "0..255");
    assert_rejected("bool", "x_bool is bool", "uint8");
}
END_TEST

START_TEST(unreadable_file_fails_cleanly)
{
    Dataset d;
    Error err;
    ck_assert(dataset_load(FIXTURES "no_such_file.npz", "train", &d, &err) == -1);
    ck_assert(strstr(err.msg, "no_such_file.npz") != NULL);
    ck_assert_int_eq(d.count, 0);
}
END_TEST

/* ---------------------------------------------------------- batches */

START_TEST(batches_are_pixel_over_255_exactly)
{
    /* Compared with numpy's float32 / float64 division of the same bytes. */
    NpzFile npz = read_fixture(FIXTURES "scaled.npz");
    const NpyArray *want = npz_find(&npz, sizeof(real) == 4 ? "ramp_f32" : "ramp_f64");
    Dataset d;
    Error err;
    ck_assert_msg(dataset_from_npz(&npz, "scaled.npz", "ramp", &d, &err) == 0, "%s", err.msg);
    Loader loader;
    loader_init(&loader, &d, 4, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 1});
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[4];
    ck_assert_int_eq(loader_next(&loader, x, labels), 1);
    ck_assert_int_eq(x->ndim, 4);
    ck_assert_int_eq(x->dim[0], 1);
    ck_assert_int_eq(x->dim[1], 1);
    ck_assert_int_eq(x->dim[2], 48);
    ck_assert_int_eq(x->dim[3], 48);
    ck_assert_int_eq(labels[0], 4);
    ck_assert(!memcmp(x->data, want->data, IMAGE_PIXELS * sizeof(real)));
    tensor_free(x);
    loader_free(&loader);
    dataset_free(&d);
    npz_free(&npz);
}
END_TEST

START_TEST(an_epoch_covers_every_image_once_in_batches)
{
    Dataset d;
    make_dataset(&d, 10, "train");
    Loader loader;
    loader_init(&loader, &d, 4, (LoaderOptions){.shuffle = 1, .augment = 0, .seed = 7});
    ck_assert_int_eq(loader_batches_per_epoch(&loader), 3);
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[4], sizes[4], batches = 0, n, seen[10] = {0};
    while ((n = loader_next(&loader, x, labels)) > 0) {
        sizes[batches++] = n;
        ck_assert_int_eq(x->dim[0], n);
        const int *indices = loader_batch_indices(&loader);
        for (int b = 0; b < n; b++) {
            seen[indices[b]]++;
            ck_assert_int_eq(labels[b], d.labels[indices[b]]);
            assert_unaugmented(x, b, &d, indices[b]);
        }
    }
    ck_assert_int_eq(batches, 3);
    ck_assert_int_eq(sizes[0], 4);
    ck_assert_int_eq(sizes[1], 4);
    ck_assert_int_eq(sizes[2], 2); /* the last batch holds what is left */
    for (int i = 0; i < 10; i++) ck_assert_int_eq(seen[i], 1);
    ck_assert_int_eq(loader_next(&loader, x, labels), 0); /* stays at the end */
    tensor_free(x);
    loader_free(&loader);
    dataset_free(&d);
}
END_TEST

START_TEST(without_shuffle_the_order_is_the_file_order)
{
    Dataset d;
    make_dataset(&d, 9, "val");
    Loader loader;
    loader_init(&loader, &d, 4, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 7});
    int order[9];
    epoch_order(&loader, 0, order);
    for (int i = 0; i < 9; i++) ck_assert_int_eq(order[i], i);
    epoch_order(&loader, 5, order);
    for (int i = 0; i < 9; i++) ck_assert_int_eq(order[i], i);
    loader_free(&loader);
    dataset_free(&d);
}
END_TEST

START_TEST(shuffle_is_a_permutation_fixed_by_seed_and_epoch)
{
    enum { N = 200 };
    Dataset d;
    make_dataset(&d, N, "train");
    LoaderOptions options = {.shuffle = 1, .augment = 0, .seed = 42};
    Loader a, b;
    loader_init(&a, &d, 32, options);
    loader_init(&b, &d, 64, options); /* batch size does not change the order */
    int first[N], again[N], other_epoch[N], check[N];
    epoch_order(&a, 3, first);

    int count[N] = {0};
    for (int i = 0; i < N; i++) count[first[i]]++;
    for (int i = 0; i < N; i++) ck_assert_int_eq(count[i], 1);

    /* Epoch 3 is the same whether reached directly or after 0, 1, 2. */
    for (int e = 0; e < 3; e++) epoch_order(&b, e, check);
    epoch_order(&b, 3, again);
    ck_assert(!memcmp(first, again, sizeof first));

    epoch_order(&a, 4, other_epoch);
    ck_assert(memcmp(first, other_epoch, sizeof first) != 0);
    int identity = 1;
    for (int i = 0; i < N; i++) identity &= first[i] == i;
    ck_assert(!identity);

    Loader c;
    options.seed = 43;
    loader_init(&c, &d, 32, options);
    epoch_order(&c, 3, check);
    ck_assert(memcmp(first, check, sizeof first) != 0);

    loader_free(&a);
    loader_free(&b);
    loader_free(&c);
    dataset_free(&d);
}
END_TEST

/* ----------------------------------------------------- augmentation */

START_TEST(flip_mirrors_left_and_right)
{
    uint8_t in[IMAGE_PIXELS] = {0}, out[IMAGE_PIXELS];
    in[5 * 48 + 2] = 200;  /* row 5, column 2 */
    in[0 * 48 + 47] = 17;  /* top right corner */
    augment_image(in, 1, 0, 0, out);
    ck_assert_int_eq(out[5 * 48 + 45], 200); /* column 2 -> 47 - 2 */
    ck_assert_int_eq(out[0 * 48 + 0], 17);
    ck_assert_int_eq(out[5 * 48 + 2], 0);
    int nonzero = 0;
    for (int i = 0; i < IMAGE_PIXELS; i++) nonzero += out[i] != 0;
    ck_assert_int_eq(nonzero, 2);
}
END_TEST

START_TEST(shift_moves_content_and_replicates_the_edge)
{
    /* in[y][x] = x + 48 * (y % 2) distinguishes columns and row parity. */
    uint8_t in[IMAGE_PIXELS], out[IMAGE_PIXELS];
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++) in[y * 48 + x] = (uint8_t)(x + 48 * (y % 2));
    augment_image(in, 0, 1, 2, out); /* one row down, two columns right */
    ck_assert_int_eq(out[10 * 48 + 10], in[9 * 48 + 8]);
    ck_assert_int_eq(out[0 * 48 + 10], in[0 * 48 + 8]);   /* top row: row 0 repeated */
    ck_assert_int_eq(out[7 * 48 + 0], in[6 * 48 + 0]);    /* left strip: column 0 repeated */
    ck_assert_int_eq(out[7 * 48 + 1], in[6 * 48 + 0]);
    ck_assert_int_eq(out[47 * 48 + 47], in[46 * 48 + 45]);
    augment_image(in, 0, -2, -1, out); /* up and left: the bottom/right edges repeat */
    ck_assert_int_eq(out[46 * 48 + 47], in[47 * 48 + 47]);
    ck_assert_int_eq(out[47 * 48 + 46], in[47 * 48 + 47]);
    ck_assert_int_eq(out[0 * 48 + 0], in[2 * 48 + 1]);
}
END_TEST

/* An independent statement of the augmentation: is out (as pixel/255) the
 * image flipped or not, shifted by some (dy, dx) within the limit? */
static int matches_some_augmentation(const real *out, const uint8_t *in, int *flip_seen,
                                     int *shift_seen)
{
    for (int flip = 0; flip <= 1; flip++)
        for (int dy = -AUGMENT_MAX_SHIFT; dy <= AUGMENT_MAX_SHIFT; dy++)
            for (int dx = -AUGMENT_MAX_SHIFT; dx <= AUGMENT_MAX_SHIFT; dx++) {
                int same = 1;
                for (int y = 0; y < 48 && same; y++)
                    for (int x = 0; x < 48 && same; x++) {
                        int sy = y - dy < 0 ? 0 : y - dy > 47 ? 47 : y - dy;
                        int sx = x - dx < 0 ? 0 : x - dx > 47 ? 47 : x - dx;
                        if (flip) sx = 47 - sx;
                        same = out[y * 48 + x] == (real)in[sy * 48 + sx] / (real)255;
                    }
                if (same) {
                    flip_seen[flip] = 1;
                    shift_seen[(dy + AUGMENT_MAX_SHIFT) * (2 * AUGMENT_MAX_SHIFT + 1) + dx +
                               AUGMENT_MAX_SHIFT] = 1;
                    return 1;
                }
            }
    return 0;
}

START_TEST(augmented_training_images_are_flips_and_small_shifts)
{
    /* Images with no symmetry, so every flip/shift gives a distinct image. */
    enum { N = 64 };
    Dataset d;
    dataset_alloc(&d, N, "train");
    Rng rng;
    rng_seed(&rng, 5);
    for (size_t i = 0; i < (size_t)N * IMAGE_PIXELS; i++) d.images[i] = (uint8_t)rng_below(&rng, 256);
    Loader loader;
    loader_init(&loader, &d, 16, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = 3});
    ck_assert_int_eq(loader.augment, 1);
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[16], n, flip_seen[2] = {0}, shift_seen[25] = {0}, changed = 0;
    for (int epoch = 0; epoch < 3; epoch++) {
        loader_begin_epoch(&loader, epoch);
        while ((n = loader_next(&loader, x, labels)) > 0)
            for (int b = 0; b < n; b++) {
                const uint8_t *in = d.images + (size_t)loader_batch_indices(&loader)[b] * IMAGE_PIXELS;
                const real *out = x->data + (size_t)b * IMAGE_PIXELS;
                ck_assert(matches_some_augmentation(out, in, flip_seen, shift_seen));
                changed += out[100] != (real)in[100] / (real)255;
            }
    }
    ck_assert(flip_seen[0] && flip_seen[1]);
    int shifts = 0;
    for (int i = 0; i < 25; i++) shifts += shift_seen[i];
    ck_assert_int_ge(shifts, 20); /* 192 draws reach nearly all 25 shifts */
    ck_assert_int_gt(changed, N);
    tensor_free(x);
    loader_free(&loader);
    dataset_free(&d);
}
END_TEST

START_TEST(augmentation_off_gives_the_exact_pixels)
{
    Dataset d;
    make_dataset(&d, 20, "train");
    Loader loader;
    loader_init(&loader, &d, 8, (LoaderOptions){.shuffle = 1, .augment = 0, .seed = 3});
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[8], n;
    while ((n = loader_next(&loader, x, labels)) > 0)
        for (int b = 0; b < n; b++) assert_unaugmented(x, b, &d, loader_batch_indices(&loader)[b]);
    tensor_free(x);
    loader_free(&loader);
    dataset_free(&d);
}
END_TEST

START_TEST(validation_and_test_splits_are_never_augmented)
{
    const char *splits[] = {"val", "test"};
    for (int s = 0; s < 2; s++) {
        Dataset d;
        make_dataset(&d, 20, splits[s]);
        /* Random pixels would show any flip or shift. */
        Rng rng;
        rng_seed(&rng, 9);
        for (size_t i = 0; i < (size_t)20 * IMAGE_PIXELS; i++) d.images[i] = (uint8_t)rng_below(&rng, 256);
        Loader loader;
        loader_init(&loader, &d, 8, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = 3});
        ck_assert_int_eq(loader.augment, 0);
        Tensor *x = tensor_new4(1, 1, 1, 1);
        int labels[8], n;
        while ((n = loader_next(&loader, x, labels)) > 0)
            for (int b = 0; b < n; b++)
                assert_unaugmented(x, b, &d, loader_batch_indices(&loader)[b]);
        tensor_free(x);
        loader_free(&loader);
        dataset_free(&d);
    }
}
END_TEST

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *files = tcase_create("files");
    tcase_add_test(files, uint8_images_in_three_shapes_load);
    tcase_add_test(files, deflated_members_load_the_same);
    tcase_add_test(files, integer_images_holding_0_to_255_load);
    tcase_add_test(files, float_images_in_0_1_load_as_their_grey_levels);
    tcase_add_test(files, labels_of_every_integer_width_load);
    tcase_add_test(files, other_floats_round_to_the_nearest_grey_level);
    tcase_add_test(files, dataset_load_reads_the_file_itself);
    tcase_add_test(files, missing_members_are_named);
    tcase_add_test(files, mismatched_lengths_are_reported);
    tcase_add_test(files, wrong_image_sizes_are_reported);
    tcase_add_test(files, labels_outside_0_to_6_are_reported);
    tcase_add_test(files, labels_must_be_integers_of_shape_n);
    tcase_add_test(files, pixels_out_of_range_are_reported);
    tcase_add_test(files, unreadable_file_fails_cleanly);
    suite_add_tcase(s, files);
    TCase *batches = tcase_create("batches");
    tcase_add_test(batches, batches_are_pixel_over_255_exactly);
    tcase_add_test(batches, an_epoch_covers_every_image_once_in_batches);
    tcase_add_test(batches, without_shuffle_the_order_is_the_file_order);
    tcase_add_test(batches, shuffle_is_a_permutation_fixed_by_seed_and_epoch);
    tcase_add_test(batches, flip_mirrors_left_and_right);
    tcase_add_test(batches, shift_moves_content_and_replicates_the_edge);
    tcase_add_test(batches, augmented_training_images_are_flips_and_small_shifts);
    tcase_add_test(batches, augmentation_off_gives_the_exact_pixels);
    tcase_add_test(batches, validation_and_test_splits_are_never_augmented);
    suite_add_tcase(s, batches);
    return s;
}
