/* The training-pipeline loader: what it accepts (fixtures written by numpy,
 * tests/fixtures/make_loader_fixtures.py), the classes it finds, the
 * batches it builds, its shuffling and its augmentation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
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

START_TEST(image_shapes_the_loader_cannot_take_are_reported)
{
    assert_rejected("channels2", "x_channels2 has shape (3, 2, 8, 8): 2 channels", "1 (grey) or 3");
    assert_rejected("hwc", "x_hwc has shape (3, 8, 8, 3): 8 channels", "x.transpose(0, 3, 1, 2)");
    assert_rejected("flat", "x_flat has shape (3, 100)", "(N, 2304)");
    assert_rejected("noside", "x_noside has shape (3, 0, 5)", "1 to 1024");
    assert_rejected("fived", "x_fived has shape (3, 1, 1, 4, 4)", "(N, C, H, W)");
}
END_TEST

START_TEST(images_over_1024_pixels_on_a_side_are_refused)
{
    assert_rejected("tall", "x_tall has shape (3, 1025, 4)", "must each be 1 to 1024");
    assert_rejected("wide", "x_wide has shape (3, 1, 4, 2000)", "must each be 1 to 1024");
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

/* ------------------------------------------ any image size, any classes */

static Dataset load_split(const char *file, const char *split)
{
    Dataset d;
    Error err;
    ck_assert_msg(dataset_load(file, split, &d, &err) == 0, "%s %s: %s", file, split, err.msg);
    return d;
}

static void assert_names(const Dataset *d, const char *const *want, int count)
{
    ck_assert_int_eq(d->classes, count);
    for (int k = 0; k < count; k++) ck_assert_str_eq(d->class_names[k], want[k]);
}

START_TEST(grey_28x28_images_in_five_classes_load)
{
    NpzFile npz = read_fixture(FIXTURES "grey28.npz");
    Dataset d = load_split(FIXTURES "grey28.npz", "train");
    ck_assert_int_eq(d.count, 6);
    ck_assert_int_eq(d.channels, 1);
    ck_assert_int_eq(d.height, 28);
    ck_assert_int_eq(d.width, 28);
    ck_assert_uint_eq(dataset_image_bytes(&d), 784);
    static const char *const names[] = {"class 0", "class 1", "class 2", "class 3", "class 4"};
    assert_names(&d, names, 5);
    const NpyArray *x = npz_find(&npz, "x_train");
    ck_assert(!memcmp(d.images, x->data, x->count));
    static const int labels[] = {0, 1, 2, 3, 4, 0};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(d.labels[i], labels[i]);
    dataset_free(&d);
    npz_free(&npz);
}
END_TEST

START_TEST(colour_images_load_channels_first)
{
    NpzFile npz = read_fixture(FIXTURES "colour.npz");
    const NpyArray *x = npz_find(&npz, "x_train");
    for (int s = 0; s < 2; s++) {
        /* uint8, and the same images as float32 / 255 */
        Dataset d = load_split(FIXTURES "colour.npz", s == 0 ? "train" : "f32");
        ck_assert_int_eq(d.count, 4);
        ck_assert_int_eq(d.channels, 3);
        ck_assert_int_eq(d.height, 10);
        ck_assert_int_eq(d.width, 7);
        ck_assert(!memcmp(d.images, x->data, x->count));
        dataset_free(&d);
    }
    npz_free(&npz);
}
END_TEST

START_TEST(non_square_grey_images_load)
{
    NpzFile npz = read_fixture(FIXTURES "colour.npz");
    Dataset d = load_split(FIXTURES "colour.npz", "tall");
    ck_assert_int_eq(d.channels, 1);
    ck_assert_int_eq(d.height, 9);
    ck_assert_int_eq(d.width, 5);
    const NpyArray *x = npz_find(&npz, "x_tall");
    ck_assert(!memcmp(d.images, x->data, x->count));
    ck_assert_int_eq(d.labels[0], 1);
    ck_assert_int_eq(d.labels[1], 0);
    dataset_free(&d);
    npz_free(&npz);
}
END_TEST

START_TEST(class_names_from_a_unicode_array)
{
    Dataset d = load_split(FIXTURES "colour.npz", "train");
    /* np.array(["cat", "dög", "bird 🐦"]) as UTF-8 */
    static const char *const names[] = {"cat", "d\xC3\xB6g", "bird \xF0\x9F\x90\xA6"};
    assert_names(&d, names, 3);
    dataset_free(&d);
}
END_TEST

START_TEST(a_split_of_any_name_length_keeps_its_whole_name)
{
    /* The name messages give: it used to be cut to 15 characters. */
    static const char name[] = "faces_from_the_second_camera_of_the_lab_in_winter_of_2025_26";
    Dataset d = load_split(FIXTURES "long_split.npz", name);
    ck_assert_str_eq(d.split, name);
    ck_assert_int_eq(d.count, 2);
    dataset_free(&d);
}
END_TEST

START_TEST(class_names_from_a_bytes_array)
{
    Dataset d = load_split(FIXTURES "names_bytes.npz", "train");
    static const char *const names[] = {"left", "right", "up"};
    assert_names(&d, names, 3);
    dataset_free(&d);
}
END_TEST

START_TEST(class_names_from_utf8_text_one_per_line)
{
    static const char *const spanish[] = {"zero", "un", "d\xC3\xB3s"};
    Dataset d = load_split(FIXTURES "names_text.npz", "train");
    assert_names(&d, spanish, 3);
    dataset_free(&d);
    static const char *const letters[] = {"a", "b", "c"}; /* CRLF, no final newline */
    d = load_split(FIXTURES "names_crlf.npz", "train");
    assert_names(&d, letters, 3);
    dataset_free(&d);
}
END_TEST

START_TEST(the_class_count_spans_every_split_of_the_file)
{
    /* y_val holds classes 0..2 only, y_test class 1 only; y_train has 3. */
    static const char *const names[] = {"class 0", "class 1", "class 2", "class 3"};
    const char *splits[] = {"train", "val", "test"};
    for (int s = 0; s < 3; s++) {
        Dataset d = load_split(FIXTURES "splits_k.npz", splits[s]);
        assert_names(&d, names, 4);
        dataset_free(&d);
    }
    Error err;
    NpzFile npz = read_fixture(FIXTURES "splits_k.npz");
    int classes;
    char **found;
    ck_assert_int_eq(dataset_classes_from_npz(&npz, "splits_k.npz", &classes, &found, &err), 0);
    ck_assert_int_eq(classes, 4);
    ck_assert_str_eq(found[3], "class 3");
    free(found);
    npz_free(&npz);
}
END_TEST

START_TEST(seven_classes_without_names_are_fer2013s)
{
    Dataset d = load_split(FIXTURES "accepted.npz", "u8_3d");
    static const char *const names[] = {"Angry", "Disgust", "Fear", "Happy",
                                        "Sad", "Surprise", "Neutral"};
    assert_names(&d, names, 7);
    dataset_free(&d);
}
END_TEST

START_TEST(seven_classes_of_other_images_are_numbered_not_fer2013s)
{
    /* 3x8x8 colour pictures in seven classes are not Angry to Neutral */
    static const char *const names[] = {"class 0", "class 1", "class 2", "class 3",
                                        "class 4", "class 5", "class 6"};
    Dataset d = load_split(FIXTURES "colour7.npz", "train");
    assert_names(&d, names, 7);
    dataset_free(&d);
    /* and a dataset built in code of such images the same */
    dataset_alloc_shape(&d, 1, 3, 8, 8, 7, "train");
    assert_names(&d, names, 7);
    dataset_free(&d);
}
END_TEST

/* Loading split "train" of file fails with a message holding phrase. */
static void assert_file_rejected(const char *file, const char *phrase, const char *phrase2)
{
    Dataset d;
    Error err;
    ck_assert_msg(dataset_load(file, "train", &d, &err) == -1, "%s was accepted", file);
    ck_assert_msg(strstr(err.msg, file) != NULL, "no file name in: %s", err.msg);
    ck_assert_msg(strstr(err.msg, phrase) != NULL, "expected '%s' in: %s", phrase, err.msg);
    ck_assert_msg(strstr(err.msg, phrase2) != NULL, "expected '%s' in: %s", phrase2, err.msg);
    ck_assert_int_eq(d.count, 0);
    ck_assert_ptr_null(d.class_names);
}

START_TEST(labels_of_another_form_are_named_with_the_numpy_that_fixes_them)
{
    /* without class_names the classes come from the labels: a float array
     * is named as such, not as "no label of 0 or more" */
    assert_file_rejected(FIXTURES "labels_float.npz", "y_train is float32; labels must be "
                         "integers", "y.astype(np.int64)");
    assert_file_rejected(FIXTURES "labels_onehot.npz", "y_train has shape (3, 3)", "y.argmax(1)");
    assert_file_rejected(FIXTURES "labels_column.npz", "y_train has shape (3, 1)", "y.ravel()");
}
END_TEST

START_TEST(labels_beyond_the_class_limit_are_reported_with_their_value)
{
    assert_file_rejected(FIXTURES "labels_big.npz", "y_train[1] is 5000", "at most 1000 classes");
    /* the real value, not one clamped to int64 */
    assert_file_rejected(FIXTURES "labels_u64.npz", "y_train[1] is 18446744073709551615",
                         "at most 1000 classes");
}
END_TEST

START_TEST(bad_class_names_are_refused)
{
    static const struct {
        const char *file, *phrase, *phrase2;
    } cases[] = {
        {"empty_name", "class_names[1] is empty", "needs a name"},
        {"tab", "class_names[1] holds the control character U+0009", "printable"},
        {"c1_control", "class_names[0] holds the control character U+0085", "printable"},
        {"long65", "class_names[0] is 65 bytes long", "at most 64"},
        {"long200", "class_names[0] is 200 bytes long", "at most 64"},
        {"too_many", "class_names has 1001 names", "at most 1000 classes"},
        {"two_d", "class_names is str with shape (2, 2)", "1-D array of strings"},
        {"numbers", "class_names is int64 with shape (3,)", "one name per line"},
        {"bad_utf8", "class_names line 2 is not valid UTF-8", "byte 0"},
        {"blank_line", "class_names line 2 is empty", "needs a name"},
        {"duplicate", "entries 0 and 2 are both 'a'", "its own name"},
        {"no_names", "class_names is empty", "one name per class"},
        {"nul_in_bytes", "'class_names': element 0", "NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char file[128];
        snprintf(file, sizeof file, FIXTURES "names/%s.npz", cases[i].file);
        assert_file_rejected(file, cases[i].phrase, cases[i].phrase2);
    }
}
END_TEST

START_TEST(datasets_built_in_code_have_shape_and_names)
{
    Dataset d;
    dataset_alloc_shape(&d, 2, 3, 5, 4, 3, "train");
    ck_assert_int_eq(d.channels, 3);
    ck_assert_uint_eq(dataset_image_bytes(&d), 60);
    static const char *const names[] = {"class 0", "class 1", "class 2"};
    assert_names(&d, names, 3);
    Error err;
    ck_assert_int_eq(dataset_check_fits(&d, "code", 3, 5, 4, 3, &err), 0);
    ck_assert_int_eq(dataset_check_fits(&d, "code", 3, 5, 4, 7, &err), 0); /* fewer classes fit */
    ck_assert_int_eq(dataset_check_fits(&d, "code", 1, 48, 48, 7, &err), -1);
    ck_assert_msg(strstr(err.msg, "code: the train split has images of (C, H, W) = (3, 5, 4)") &&
                      strstr(err.msg, "expected (1, 48, 48) images in at most 7 classes"),
                  "%s", err.msg);
    ck_assert_int_eq(dataset_check_fits(&d, "code", 3, 5, 4, 2, &err), -1);
    dataset_free(&d);

    dataset_alloc(&d, 1, "test"); /* the emotion CNN's layout */
    ck_assert_int_eq(d.height * d.width * d.channels, 2304);
    ck_assert_int_eq(d.classes, 7);
    ck_assert_str_eq(d.class_names[6], "Neutral");
    dataset_free(&d);
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

/* min_batch (batchnorm's two images): a last batch of fewer is left out,
 * one a different image each epoch when shuffled; one as large is kept. */
START_TEST(a_last_batch_below_min_batch_is_left_out)
{
    Dataset d;
    make_dataset(&d, 9, "train");
    Loader loader;
    loader_init(&loader, &d, 4,
                (LoaderOptions){.shuffle = 1, .augment = 0, .seed = 7, .min_batch = 2});
    ck_assert_int_eq(loader_batches_per_epoch(&loader), 2); /* 4 + 4, the ninth left out */
    ck_assert_int_eq(loader_images_per_epoch(&loader), 8);
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[4], left_out[3];
    for (int epoch = 0; epoch < 3; epoch++) {
        loader_begin_epoch(&loader, epoch);
        int seen[9] = {0}, images = 0, n;
        while ((n = loader_next(&loader, x, labels)) > 0) {
            ck_assert_int_eq(n, 4);
            for (int b = 0; b < n; b++) seen[loader_batch_indices(&loader)[b]]++;
            images += n;
        }
        ck_assert_int_eq(images, 8);
        left_out[epoch] = -1;
        for (int i = 0; i < 9; i++) {
            ck_assert_int_le(seen[i], 1);
            if (!seen[i]) left_out[epoch] = i;
        }
        ck_assert_int_ge(left_out[epoch], 0);
    }
    ck_assert(left_out[0] != left_out[1] || left_out[1] != left_out[2]);
    loader_free(&loader);
    dataset_free(&d);
    /* a last batch of 2 is enough for min_batch 2 */
    make_dataset(&d, 10, "train");
    loader_init(&loader, &d, 4, (LoaderOptions){.min_batch = 2});
    ck_assert_int_eq(loader_batches_per_epoch(&loader), 3);
    ck_assert_int_eq(loader_images_per_epoch(&loader), 10);
    loader_free(&loader);
    dataset_free(&d);
    tensor_free(x);
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
    augment_image(in, 1, 48, 48, 1, 0, 0, out);
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
    augment_image(in, 1, 48, 48, 0, 1, 2, out); /* one row down, two columns right */
    ck_assert_int_eq(out[10 * 48 + 10], in[9 * 48 + 8]);
    ck_assert_int_eq(out[0 * 48 + 10], in[0 * 48 + 8]);   /* top row: row 0 repeated */
    ck_assert_int_eq(out[7 * 48 + 0], in[6 * 48 + 0]);    /* left strip: column 0 repeated */
    ck_assert_int_eq(out[7 * 48 + 1], in[6 * 48 + 0]);
    ck_assert_int_eq(out[47 * 48 + 47], in[46 * 48 + 45]);
    augment_image(in, 1, 48, 48, 0, -2, -1, out); /* up and left: the bottom/right edges repeat */
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
    ck_assert_int_eq(loader.augmenting, 1);
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
        ck_assert_int_eq(loader.augmenting, 0);
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

/* ------------------------------------ augmentation of any image shape */

/* The augmentation built step by step from its definition, as an
 * independent reference: mirror each row (if flip), then move the image
 * by (shift_y, shift_x), filling the uncovered strip by repeating the
 * nearest edge row or column. in and out are (channels, height, width). */
static void reference_augment(const uint8_t *in, int channels, int height, int width, int flip,
                              int shift_y, int shift_x, uint8_t *out)
{
    uint8_t *mirrored = malloc((size_t)channels * height * width);
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int from = flip ? width - 1 - x : x;
                mirrored[(c * height + y) * width + x] = in[(c * height + y) * width + from];
            }
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int sy = y - shift_y, sx = x - shift_x;
                if (sy < 0) sy = 0;
                if (sy > height - 1) sy = height - 1;
                if (sx < 0) sx = 0;
                if (sx > width - 1) sx = width - 1;
                out[(c * height + y) * width + x] = mirrored[(c * height + sy) * width + sx];
            }
    free(mirrored);
}

START_TEST(augmenting_a_small_colour_image_gives_the_hand_computed_pixels)
{
    /* (3, 2, 3): channel c is [[1, 2, 3], [4, 5, 6]] + 10 c. */
    uint8_t in[18], out[18];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 6; i++) in[c * 6 + i] = (uint8_t)(1 + i + 10 * c);
    /* mirrored [[3, 2, 1], [6, 5, 4]]; down 1: [[3, 2, 1], [3, 2, 1]];
     * right 1: [[3, 3, 2], [3, 3, 2]] */
    augment_image(in, 3, 2, 3, 1, 1, 1, out);
    for (int c = 0; c < 3; c++) {
        const uint8_t want[6] = {3, 3, 2, 3, 3, 2};
        for (int i = 0; i < 6; i++) ck_assert_int_eq(out[c * 6 + i], want[i] + 10 * c);
    }
    /* up 1: [[4, 5, 6], [4, 5, 6]]; left 2: every pixel is column 2 */
    augment_image(in, 3, 2, 3, 0, -1, -2, out);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 6; i++) ck_assert_int_eq(out[c * 6 + i], 6 + 10 * c);
}
END_TEST

START_TEST(augmentation_matches_the_reference_on_a_non_square_colour_image)
{
    enum { C = 3, H = 5, W = 7 };
    uint8_t in[C * H * W], got[C * H * W], want[C * H * W];
    Rng rng;
    rng_seed(&rng, 21);
    for (int i = 0; i < C * H * W; i++) in[i] = (uint8_t)rng_below(&rng, 256);
    /* shifts past the limit and past the image too: all edge */
    for (int flip = 0; flip <= 1; flip++)
        for (int dy = -6; dy <= 6; dy++)
            for (int dx = -8; dx <= 8; dx++) {
                augment_image(in, C, H, W, flip, dy, dx, got);
                reference_augment(in, C, H, W, flip, dy, dx, want);
                ck_assert_msg(!memcmp(got, want, sizeof got), "flip %d shift (%d, %d)", flip, dy, dx);
            }
}
END_TEST

/* What loader_fill_batch must produce, from its documented draws: per
 * image a flip (rng_below 2), a shift down, a shift right (each
 * rng_below(5) - 2); a recipe without flips draws the flip and ignores it. */
static void reference_batch(const Dataset *d, const int *indices, int count, int flips,
                            Rng *rng, real *out)
{
    size_t bytes = dataset_image_bytes(d);
    uint8_t *moved = malloc(bytes);
    for (int b = 0; b < count; b++) {
        const uint8_t *image = d->images + (size_t)indices[b] * bytes;
        int flip = (int)rng_below(rng, 2);
        int shift_y = (int)rng_below(rng, 5) - 2, shift_x = (int)rng_below(rng, 5) - 2;
        if (!flips) flip = 0;
        reference_augment(image, d->channels, d->height, d->width, flip, shift_y, shift_x, moved);
        for (size_t i = 0; i < bytes; i++) out[b * bytes + i] = (real)moved[i] / (real)255;
    }
    free(moved);
}

START_TEST(colour_batches_are_augmented_as_documented)
{
    enum { N = 12 };
    Dataset d;
    dataset_alloc_shape(&d, N, 3, 5, 7, 4, "train");
    Rng fill;
    rng_seed(&fill, 8);
    for (size_t i = 0; i < N * dataset_image_bytes(&d); i++) d.images[i] = (uint8_t)rng_below(&fill, 256);
    for (int i = 0; i < N; i++) d.labels[i] = i % 4;
    int indices[N];
    for (int i = 0; i < N; i++) indices[i] = (7 * i) % N;
    Tensor *x = tensor_new4(1, 1, 1, 1);
    real *want = malloc(N * dataset_image_bytes(&d) * sizeof *want);
    Augment recipes[2] = {augment_default(), augment_default()};
    recipes[1].flip = 0;
    for (int m = 0; m < 2; m++) {
        Rng a, b;
        rng_seed(&a, 99);
        rng_seed(&b, 99);
        int labels[N];
        loader_fill_batch(&d, indices, N, &recipes[m], &a, x, labels);
        reference_batch(&d, indices, N, recipes[m].flip, &b, want);
        ck_assert_int_eq(x->dim[0], N);
        ck_assert_int_eq(x->dim[1], 3);
        ck_assert_int_eq(x->dim[2], 5);
        ck_assert_int_eq(x->dim[3], 7);
        ck_assert(!memcmp(x->data, want, N * dataset_image_bytes(&d) * sizeof *want));
        for (int i = 0; i < N; i++) ck_assert_int_eq(labels[i], indices[i] % 4);
    }
    free(want);
    tensor_free(x);
    dataset_free(&d);
}
END_TEST

START_TEST(no_flip_keeps_the_shifts_and_drops_the_flips)
{
    enum { N = 40 };
    Dataset d;
    dataset_alloc_shape(&d, N, 1, 6, 9, 2, "train");
    Rng fill;
    rng_seed(&fill, 4);
    for (size_t i = 0; i < N * dataset_image_bytes(&d); i++) d.images[i] = (uint8_t)rng_below(&fill, 256);
    Loader flips, shifts;
    loader_init(&flips, &d, N, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = 6});
    loader_init(&shifts, &d, N, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = 6, .no_flip = 1});
    ck_assert(flips.augmenting && flips.recipe.flip && flips.recipe.shift == AUGMENT_MAX_SHIFT);
    ck_assert(shifts.augmenting && !shifts.recipe.flip && shifts.recipe.shift == AUGMENT_MAX_SHIFT);
    Tensor *a = tensor_new4(1, 1, 1, 1), *b = tensor_new4(1, 1, 1, 1);
    int labels[N];
    ck_assert_int_eq(loader_next(&flips, a, labels), N);
    ck_assert_int_eq(loader_next(&shifts, b, labels), N);
    /* Replay the epoch's draws: image k's shifts are the same in both;
     * the no_flip batch is never mirrored. */
    Rng draws;
    rng_seed(&draws, 6 + 0x9E3779B97F4A7C15ull * 2); /* the loader's seed for epoch 0's augmentation */
    int mirrored = 0;
    uint8_t *want = malloc(dataset_image_bytes(&d));
    for (int k = 0; k < N; k++) {
        int flip = (int)rng_below(&draws, 2);
        int dy = (int)rng_below(&draws, 5) - 2, dx = (int)rng_below(&draws, 5) - 2;
        const uint8_t *in = d.images + (size_t)loader_batch_indices(&shifts)[k] * 54;
        reference_augment(in, 1, 6, 9, 0, dy, dx, want);
        for (int i = 0; i < 54; i++) ck_assert(b->data[k * 54 + i] == (real)want[i] / (real)255);
        reference_augment(in, 1, 6, 9, flip, dy, dx, want);
        for (int i = 0; i < 54; i++) ck_assert(a->data[k * 54 + i] == (real)want[i] / (real)255);
        mirrored += flip;
    }
    ck_assert_int_gt(mirrored, 5); /* the flipping loader did flip some */
    free(want);
    tensor_free(a);
    tensor_free(b);
    loader_free(&flips);
    loader_free(&shifts);
    dataset_free(&d);
}
END_TEST

/* The loader of 48x48 grey faces as it was before images of any size:
 * for epoch e, the augmentation generator is seeded with
 * seed + 0x9E3779B97F4A7C15 * (2e + 2); each image of a batch, in order,
 * draws flip, shift_y, shift_x; out[y][x] = in[cy][flip ? 47 - cx : cx]
 * with cy = clamp(y - shift_y), cx = clamp(x - shift_x) to 0..47; the
 * batch is pixel / 255. Training on the built-in faces gives the same
 * results as before only if the loader still does exactly this. */
static void reference_48x48_batch(const Dataset *d, const int *indices, int count, Rng *rng,
                                  real *out)
{
    for (int b = 0; b < count; b++) {
        const uint8_t *in = d->images + (size_t)indices[b] * 2304;
        int flip = (int)rng_below(rng, 2);
        int shift_y = (int)rng_below(rng, 5) - 2;
        int shift_x = (int)rng_below(rng, 5) - 2;
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 48; x++) {
                int cy = y - shift_y < 0 ? 0 : y - shift_y > 47 ? 47 : y - shift_y;
                int cx = x - shift_x < 0 ? 0 : x - shift_x > 47 ? 47 : x - shift_x;
                uint8_t pixel = in[cy * 48 + (flip ? 47 - cx : cx)];
                out[(size_t)b * 2304 + y * 48 + x] = (real)pixel / (real)255;
            }
    }
}

START_TEST(grey_48x48_batches_are_bit_identical_to_the_original_loader)
{
    enum { N = 50, BATCH = 16 };
    Dataset d;
    dataset_alloc(&d, N, "train");
    Rng fill;
    rng_seed(&fill, 77);
    for (size_t i = 0; i < (size_t)N * 2304; i++) d.images[i] = (uint8_t)rng_below(&fill, 256);
    for (int i = 0; i < N; i++) d.labels[i] = i % 7;
    const uint64_t seed = 12345;
    Loader loader;
    loader_init(&loader, &d, BATCH, (LoaderOptions){.shuffle = 1, .augment = 1, .seed = seed});
    Tensor *x = tensor_new4(1, 1, 1, 1);
    real *want = malloc((size_t)BATCH * 2304 * sizeof *want);
    int labels[BATCH], n, batches = 0;
    for (int epoch = 0; epoch < 3; epoch++) {
        loader_begin_epoch(&loader, epoch);
        Rng rng;
        rng_seed(&rng, seed + 0x9E3779B97F4A7C15ull * (2 * (uint64_t)epoch + 2));
        while ((n = loader_next(&loader, x, labels)) > 0) {
            reference_48x48_batch(&d, loader_batch_indices(&loader), n, &rng, want);
            ck_assert_int_eq(x->dim[1], 1);
            ck_assert_int_eq(x->dim[2], 48);
            ck_assert_int_eq(x->dim[3], 48);
            ck_assert_msg(!memcmp(x->data, want, (size_t)n * 2304 * sizeof *want),
                          "epoch %d batch %d differs", epoch, batches);
            batches++;
        }
    }
    ck_assert_int_eq(batches, 12);
    free(want);
    tensor_free(x);
    loader_free(&loader);
    dataset_free(&d);
}
END_TEST

/* ---- rotation, scale and erasing ---- */

START_TEST(a_warp_without_rotation_or_zoom_is_the_integer_shift)
{
    enum { C = 2, H = 6, W = 9 };
    uint8_t in[C * H * W], want[C * H * W], got[C * H * W];
    Rng fill;
    rng_seed(&fill, 12);
    for (int i = 0; i < C * H * W; i++) in[i] = (uint8_t)rng_below(&fill, 256);
    for (int flip = 0; flip < 2; flip++)
        for (int dy = -3; dy <= 3; dy++)
            for (int dx = -3; dx <= 3; dx++) {
                reference_augment(in, C, H, W, flip, dy, dx, want);
                augment_warp(in, C, H, W, flip, 0, 1, dy, dx, got);
                ck_assert(!memcmp(got, want, sizeof want));
            }
}
END_TEST

START_TEST(a_quarter_turn_is_counter_clockwise_on_screen)
{
    /* 5x5, centre (2, 2). A bright pixel right of the centre, at (2, 4),
     * turned by +90 degrees counter-clockwise as shown (rows grow
     * downwards) goes to (0, 2), above the centre; one below the centre,
     * (4, 2), goes to (2, 4). cos 90 is 6e-17, far below rounding. */
    uint8_t in[25] = {0}, out[25];
    in[2 * 5 + 4] = 200;
    augment_warp(in, 1, 5, 5, 0, 90, 1, 0, 0, out);
    for (int i = 0; i < 25; i++) ck_assert_int_eq(out[i], i == 0 * 5 + 2 ? 200 : 0);
    memset(in, 0, sizeof in);
    in[4 * 5 + 2] = 100;
    augment_warp(in, 1, 5, 5, 0, 90, 1, 0, 0, out);
    for (int i = 0; i < 25; i++) ck_assert_int_eq(out[i], i == 2 * 5 + 4 ? 100 : 0);
}
END_TEST

START_TEST(a_zoom_reads_between_pixels_bilinearly)
{
    /* One row of 5 pixels 0, 40, 80, 120, 160 repeated on 5 rows; centre
     * column 2. Zoom 2: output column x reads input column 2 + (x - 2)/2:
     * 1, 1.5, 2, 2.5, 3 -> levels 40, 60, 80, 100, 120. Zoom 0.5 reads
     * columns -2, 0, 2, 4, 6, clamped to 0..4: 0, 0, 80, 160, 160. */
    uint8_t in[25], out[25];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) in[y * 5 + x] = (uint8_t)(40 * x);
    const int big[5] = {40, 60, 80, 100, 120}, small[5] = {0, 0, 80, 160, 160};
    augment_warp(in, 1, 5, 5, 0, 0, 2, 0, 0, out);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) ck_assert_int_eq(out[y * 5 + x], big[x]);
    augment_warp(in, 1, 5, 5, 0, 0, 0.5, 0, 0, out);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) ck_assert_int_eq(out[y * 5 + x], small[x]);
}
END_TEST

START_TEST(erasing_fills_the_rectangle_and_nothing_else)
{
    enum { C = 3, H = 7, W = 8 };
    uint8_t image[C * H * W], before[C * H * W];
    memset(image, 7, sizeof image);
    memcpy(before, image, sizeof image);
    Rng rng, again;
    rng_seed(&rng, 5);
    rng_seed(&again, 5);
    augment_erase(image, C, H, W, 2, 3, 4, 5, &rng);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                size_t i = ((size_t)c * H + y) * W + x;
                int inside = y >= 2 && y < 6 && x >= 3 && x < 8;
                if (inside)
                    ck_assert_int_eq(image[i], (int)rng_below(&again, 256));
                else
                    ck_assert_int_eq(image[i], before[i]);
            }
}
END_TEST

/* What loader_fill_batch must produce for a full recipe, from its
 * documented draws, built from the pieces. */
static void reference_recipe_batch(const Dataset *d, const int *indices, int count,
                                   const Augment *r, Rng *rng, real *out)
{
    size_t bytes = dataset_image_bytes(d);
    uint8_t *moved = malloc(bytes);
    const double pixels = (double)d->height * d->width;
    for (int b = 0; b < count; b++) {
        const uint8_t *image = d->images + (size_t)indices[b] * bytes;
        int flip = (int)rng_below(rng, 2) && r->flip;
        int span = 2 * r->shift + 1;
        int dy = (int)rng_below(rng, (uint32_t)span) - r->shift;
        int dx = (int)rng_below(rng, (uint32_t)span) - r->shift;
        double degrees = rng_range(rng, -r->rotate, r->rotate);
        double zoom = rng_range(rng, 1 - r->scale, 1 + r->scale);
        augment_warp(image, d->channels, d->height, d->width, flip, degrees, zoom, dy, dx, moved);
        if (rng_uniform(rng) < r->erase)
            for (int attempt = 0; attempt < 10; attempt++) {
                double area = rng_range(rng, 0.02, 0.33);
                double aspect = exp(rng_range(rng, -log(3.3), log(3.3)));
                int rows = (int)lround(sqrt(area * pixels * aspect));
                int cols = (int)lround(sqrt(area * pixels / aspect));
                if (rows < 1 || cols < 1 || rows > d->height || cols > d->width) continue;
                int top = (int)rng_below(rng, (uint32_t)(d->height - rows + 1));
                int left = (int)rng_below(rng, (uint32_t)(d->width - cols + 1));
                augment_erase(moved, d->channels, d->height, d->width, top, left, rows, cols, rng);
                break;
            }
        for (size_t i = 0; i < bytes; i++) out[b * bytes + i] = (real)moved[i] / (real)255;
    }
    free(moved);
}

START_TEST(a_full_recipe_is_applied_as_documented_and_changes_the_pixels)
{
    enum { N = 16 };
    Dataset d;
    dataset_alloc_shape(&d, N, 1, 12, 10, 3, "train");
    Rng fill;
    rng_seed(&fill, 21);
    for (size_t i = 0; i < N * dataset_image_bytes(&d); i++) d.images[i] = (uint8_t)rng_below(&fill, 256);
    int indices[N], labels[N];
    for (int i = 0; i < N; i++) indices[i] = i;
    Augment recipe = {.flip = 1, .shift = 3, .rotate = 15, .scale = 0.2, .erase = 0.5};
    Tensor *x = tensor_new4(1, 1, 1, 1);
    real *want = malloc(N * dataset_image_bytes(&d) * sizeof *want);
    Rng a, b;
    rng_seed(&a, 31);
    rng_seed(&b, 31);
    loader_fill_batch(&d, indices, N, &recipe, &a, x, labels);
    reference_recipe_batch(&d, indices, N, &recipe, &b, want);
    ck_assert(!memcmp(x->data, want, N * dataset_image_bytes(&d) * sizeof *want));
    ck_assert_int_eq(rng_next(&a), rng_next(&b)); /* the same number of draws */
    /* and it is not the identity: most pixels move */
    int same = 0;
    for (size_t i = 0; i < N * dataset_image_bytes(&d); i++)
        same += x->data[i] == (real)d.images[i] / (real)255;
    ck_assert_int_lt(same, (int)(N * dataset_image_bytes(&d)) / 4);
    free(want);
    tensor_free(x);
    dataset_free(&d);
}
END_TEST

START_TEST(a_recipe_never_touches_validation_images)
{
    enum { N = 8 };
    Dataset d;
    dataset_alloc_shape(&d, N, 1, 6, 6, 2, "val");
    for (size_t i = 0; i < N * dataset_image_bytes(&d); i++) d.images[i] = (uint8_t)(i * 37);
    Loader loader;
    loader_init(&loader, &d, N, (LoaderOptions){.shuffle = 0, .augment = 1, .seed = 2,
                                               .recipe = {.flip = 1, .shift = 2, .rotate = 20,
                                                          .scale = 0.3, .erase = 1}});
    Tensor *x = tensor_new4(1, 1, 1, 1);
    int labels[N];
    ck_assert_int_eq(loader_next(&loader, x, labels), N);
    for (size_t i = 0; i < N * dataset_image_bytes(&d); i++)
        ck_assert(x->data[i] == (real)d.images[i] / (real)255);
    tensor_free(x);
    loader_free(&loader);
    dataset_free(&d);
}
END_TEST

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *files = tcase_create("files");
    tcase_add_test(files, uint8_images_in_three_shapes_load);
    tcase_add_test(files, a_split_of_any_name_length_keeps_its_whole_name);
    tcase_add_test(files, deflated_members_load_the_same);
    tcase_add_test(files, integer_images_holding_0_to_255_load);
    tcase_add_test(files, float_images_in_0_1_load_as_their_grey_levels);
    tcase_add_test(files, labels_of_every_integer_width_load);
    tcase_add_test(files, other_floats_round_to_the_nearest_grey_level);
    tcase_add_test(files, dataset_load_reads_the_file_itself);
    tcase_add_test(files, missing_members_are_named);
    tcase_add_test(files, mismatched_lengths_are_reported);
    tcase_add_test(files, image_shapes_the_loader_cannot_take_are_reported);
    tcase_add_test(files, images_over_1024_pixels_on_a_side_are_refused);
    tcase_add_test(files, labels_outside_0_to_6_are_reported);
    tcase_add_test(files, labels_must_be_integers_of_shape_n);
    tcase_add_test(files, pixels_out_of_range_are_reported);
    tcase_add_test(files, unreadable_file_fails_cleanly);
    suite_add_tcase(s, files);
    TCase *shapes = tcase_create("any size and classes");
    tcase_add_test(shapes, grey_28x28_images_in_five_classes_load);
    tcase_add_test(shapes, colour_images_load_channels_first);
    tcase_add_test(shapes, non_square_grey_images_load);
    tcase_add_test(shapes, class_names_from_a_unicode_array);
    tcase_add_test(shapes, class_names_from_a_bytes_array);
    tcase_add_test(shapes, class_names_from_utf8_text_one_per_line);
    tcase_add_test(shapes, the_class_count_spans_every_split_of_the_file);
    tcase_add_test(shapes, seven_classes_without_names_are_fer2013s);
    tcase_add_test(shapes, seven_classes_of_other_images_are_numbered_not_fer2013s);
    tcase_add_test(shapes, labels_of_another_form_are_named_with_the_numpy_that_fixes_them);
    tcase_add_test(shapes, labels_beyond_the_class_limit_are_reported_with_their_value);
    tcase_add_test(shapes, bad_class_names_are_refused);
    tcase_add_test(shapes, datasets_built_in_code_have_shape_and_names);
    suite_add_tcase(s, shapes);
    TCase *batches = tcase_create("batches");
    tcase_add_test(batches, batches_are_pixel_over_255_exactly);
    tcase_add_test(batches, an_epoch_covers_every_image_once_in_batches);
    tcase_add_test(batches, a_last_batch_below_min_batch_is_left_out);
    tcase_add_test(batches, without_shuffle_the_order_is_the_file_order);
    tcase_add_test(batches, shuffle_is_a_permutation_fixed_by_seed_and_epoch);
    tcase_add_test(batches, flip_mirrors_left_and_right);
    tcase_add_test(batches, shift_moves_content_and_replicates_the_edge);
    tcase_add_test(batches, augmented_training_images_are_flips_and_small_shifts);
    tcase_add_test(batches, augmentation_off_gives_the_exact_pixels);
    tcase_add_test(batches, validation_and_test_splits_are_never_augmented);
    suite_add_tcase(s, batches);
    TCase *augment = tcase_create("augmentation of any shape");
    tcase_add_test(augment, augmenting_a_small_colour_image_gives_the_hand_computed_pixels);
    tcase_add_test(augment, augmentation_matches_the_reference_on_a_non_square_colour_image);
    tcase_add_test(augment, colour_batches_are_augmented_as_documented);
    tcase_add_test(augment, no_flip_keeps_the_shifts_and_drops_the_flips);
    tcase_add_test(augment, grey_48x48_batches_are_bit_identical_to_the_original_loader);
    tcase_add_test(augment, a_warp_without_rotation_or_zoom_is_the_integer_shift);
    tcase_add_test(augment, a_quarter_turn_is_counter_clockwise_on_screen);
    tcase_add_test(augment, a_zoom_reads_between_pixels_bilinearly);
    tcase_add_test(augment, erasing_fills_the_rectangle_and_nothing_else);
    tcase_add_test(augment, a_full_recipe_is_applied_as_documented_and_changes_the_pixels);
    tcase_add_test(augment, a_recipe_never_touches_validation_images);
    suite_add_tcase(s, augment);
    return s;
}
