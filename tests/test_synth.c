/* The synthetic faces generator: class proportions, determinism, layout. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classes.h"
#include "npz.h"
#include "synth.h"
#include "testutil.h"

static SynthOptions small_options(uint64_t seed)
{
    SynthOptions o = synth_default_options();
    o.count[SPLIT_TRAIN] = 120;
    o.count[SPLIT_VAL] = 30;
    o.count[SPLIT_TEST] = 20;
    o.seed = seed;
    return o;
}

static void free_sets(ImageSet sets[NUM_SPLITS])
{
    for (int s = 0; s < NUM_SPLITS; s++) image_set_free(&sets[s]);
}

static int sets_equal(const ImageSet a[NUM_SPLITS], const ImageSet b[NUM_SPLITS])
{
    for (int s = 0; s < NUM_SPLITS; s++) {
        if (a[s].count != b[s].count) return 0;
        if (memcmp(a[s].images, b[s].images, (size_t)a[s].count * IMAGE_PIXELS)) return 0;
        if (memcmp(a[s].labels, b[s].labels, (size_t)a[s].count * sizeof(int64_t))) return 0;
    }
    return 1;
}

START_TEST(class_counts_follow_fer2013_totals)
{
    /* At FER2013's own size the proportions give back its class totals. */
    static const int fer2013[NUM_CLASSES] = {4953, 547, 5121, 8989, 6077, 4002, 6198};
    int counts[NUM_CLASSES];
    synth_class_counts(35887, 0, counts);
    for (int c = 0; c < NUM_CLASSES; c++) ck_assert_int_eq(counts[c], fer2013[c]);
}
END_TEST

START_TEST(class_counts_sum_to_the_total_and_keep_disgust_rare)
{
    for (int total = 0; total < 500; total += 7) {
        int counts[NUM_CLASSES], sum = 0;
        synth_class_counts(total, 0, counts);
        for (int c = 0; c < NUM_CLASSES; c++) sum += counts[c];
        ck_assert_int_eq(sum, total);
    }
    int counts[NUM_CLASSES];
    synth_class_counts(8000, 0, counts);
    /* 547 / 35887 of 8000 = 121.9; Happy 8989 / 35887 of 8000 = 2003.8 */
    ck_assert_int_eq(counts[1], 122);
    ck_assert_int_eq(counts[3], 2004);
}
END_TEST

START_TEST(balanced_counts_are_equal_up_to_one)
{
    int counts[NUM_CLASSES];
    synth_class_counts(7000, 1, counts);
    for (int c = 0; c < NUM_CLASSES; c++) ck_assert_int_eq(counts[c], 1000);
    synth_class_counts(10, 1, counts); /* 3 left over: the first classes get one more */
    int want[NUM_CLASSES] = {2, 2, 2, 1, 1, 1, 1};
    for (int c = 0; c < NUM_CLASSES; c++) ck_assert_int_eq(counts[c], want[c]);
}
END_TEST

START_TEST(generated_splits_have_the_requested_sizes_and_classes)
{
    SynthOptions o = small_options(11);
    ImageSet sets[NUM_SPLITS] = {{0}};
    synth_generate(&o, sets);
    for (int s = 0; s < NUM_SPLITS; s++) {
        ck_assert_int_eq(sets[s].count, o.count[s]);
        int want[NUM_CLASSES], got[NUM_CLASSES] = {0};
        synth_class_counts(o.count[s], 0, want);
        for (int i = 0; i < sets[s].count; i++) {
            ck_assert(sets[s].labels[i] >= 0 && sets[s].labels[i] < NUM_CLASSES);
            got[sets[s].labels[i]]++;
        }
        for (int c = 0; c < NUM_CLASSES; c++) ck_assert_int_eq(got[c], want[c]);
    }
    free_sets(sets);
}
END_TEST

START_TEST(the_same_seed_gives_the_same_images)
{
    SynthOptions o = small_options(5);
    ImageSet a[NUM_SPLITS] = {{0}}, b[NUM_SPLITS] = {{0}}, c[NUM_SPLITS] = {{0}};
    synth_generate(&o, a);
    synth_generate(&o, b);
    ck_assert(sets_equal(a, b));
    o.seed = 6;
    synth_generate(&o, c);
    ck_assert(!sets_equal(a, c));
    free_sets(a);
    free_sets(b);
    free_sets(c);
}
END_TEST

START_TEST(images_do_not_depend_on_the_thread_count)
{
    SynthOptions o = small_options(8);
    ImageSet one[NUM_SPLITS] = {{0}}, two[NUM_SPLITS] = {{0}};
    int threads = set_threads(1);
    synth_generate(&o, one);
    set_threads(3);
    synth_generate(&o, two);
    set_threads(threads);
    ck_assert(sets_equal(one, two));
    free_sets(one);
    free_sets(two);
}
END_TEST

START_TEST(a_split_does_not_change_when_another_split_grows)
{
    /* Each image has its own generator, so asking for more validation
     * images leaves the training images alone. */
    SynthOptions o = small_options(8);
    ImageSet a[NUM_SPLITS] = {{0}}, b[NUM_SPLITS] = {{0}};
    synth_generate(&o, a);
    o.count[SPLIT_VAL] = 60;
    synth_generate(&o, b);
    ck_assert(!memcmp(a[SPLIT_TRAIN].images, b[SPLIT_TRAIN].images, 120 * IMAGE_PIXELS));
    ck_assert(!memcmp(a[SPLIT_TEST].images, b[SPLIT_TEST].images, 20 * IMAGE_PIXELS));
    free_sets(a);
    free_sets(b);
}
END_TEST

START_TEST(faces_are_images_not_blanks)
{
    /* Every image has contrast (a face on a background), and no two images
     * in a set are the same. */
    SynthOptions o = small_options(3);
    ImageSet sets[NUM_SPLITS] = {{0}};
    synth_generate(&o, sets);
    const ImageSet *train = &sets[SPLIT_TRAIN];
    for (int i = 0; i < train->count; i++) {
        const uint8_t *image = train->images + (size_t)i * IMAGE_PIXELS;
        double sum = 0, sum2 = 0;
        for (int p = 0; p < IMAGE_PIXELS; p++) {
            sum += image[p];
            sum2 += (double)image[p] * image[p];
        }
        double mean = sum / IMAGE_PIXELS, variance = sum2 / IMAGE_PIXELS - mean * mean;
        ck_assert_msg(variance > 25.0, "image %d is nearly flat (variance %.1f)", i, variance);
        for (int j = 0; j < i; j++)
            ck_assert(memcmp(image, train->images + (size_t)j * IMAGE_PIXELS, IMAGE_PIXELS));
    }
    free_sets(sets);
}
END_TEST

static long read_whole(const char *path, unsigned char **bytes)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    *bytes = malloc((size_t)size);
    ck_assert(fread(*bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    return size;
}

START_TEST(the_same_seed_writes_a_byte_identical_file_in_the_converter_layout)
{
    char path_a[128], path_b[128];
    snprintf(path_a, sizeof path_a, "/tmp/workbench_test_synth_%d_a.npz", (int)getpid());
    snprintf(path_b, sizeof path_b, "/tmp/workbench_test_synth_%d_b.npz", (int)getpid());
    SynthOptions o = small_options(21);
    Error err;
    for (int k = 0; k < 2; k++) {
        ImageSet sets[NUM_SPLITS] = {{0}};
        synth_generate(&o, sets);
        ck_assert_msg(splits_write_npz(sets, k ? path_b : path_a, 1, &err) == 0, "%s", err.msg);
        free_sets(sets);
    }
    unsigned char *a, *b;
    long size_a = read_whole(path_a, &a), size_b = read_whole(path_b, &b);
    ck_assert_int_eq(size_a, size_b);
    ck_assert(!memcmp(a, b, (size_t)size_a));
    free(a);
    free(b);

    NpzFile npz;
    ck_assert_msg(npz_read(path_a, &npz, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(npz.count, 6);
    const char *names[6] = {"x_train", "y_train", "x_val", "y_val", "x_test", "y_test"};
    for (int i = 0; i < 6; i++) {
        const NpyArray *m = npz_find(&npz, names[i]);
        ck_assert_msg(m != NULL, "no %s", names[i]);
        int64_t n = o.count[i / 2];
        ck_assert_int_eq(m->shape[0], n);
        if (i % 2 == 0) {
            ck_assert(m->dtype == NPY_UINT8);
            ck_assert_int_eq(m->ndim, 3);
            ck_assert_int_eq(m->shape[1], 48);
            ck_assert_int_eq(m->shape[2], 48);
        } else {
            ck_assert(m->dtype == NPY_INT64);
            ck_assert_int_eq(m->ndim, 1);
        }
    }
    npz_free(&npz);
    unlink(path_a);
    unlink(path_b);
}
END_TEST

START_TEST(a_split_of_size_zero_is_left_out_of_the_file)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/workbench_test_synth_%d_c.npz", (int)getpid());
    SynthOptions o = small_options(2);
    o.count[SPLIT_TEST] = 0;
    ImageSet sets[NUM_SPLITS] = {{0}};
    synth_generate(&o, sets);
    Error err;
    ck_assert_msg(splits_write_npz(sets, path, 0, &err) == 0, "%s", err.msg);
    free_sets(sets);
    NpzFile npz;
    ck_assert_msg(npz_read(path, &npz, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(npz.count, 4);
    ck_assert_ptr_null(npz_find(&npz, "x_test"));
    ck_assert_ptr_nonnull(npz_find(&npz, "x_val"));
    npz_free(&npz);
    unlink(path);
}
END_TEST

/* The whole file as bytes. */
static uint8_t *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc(*len ? *len : 1);
    ck_assert_uint_eq(fread(bytes, 1, *len, f), *len);
    fclose(f);
    return bytes;
}

START_TEST(synth_write_npz_writes_what_generate_draws)
{
    char drawn[128], written[128];
    snprintf(drawn, sizeof drawn, "/tmp/workbench_test_synth_%d_d.npz", (int)getpid());
    snprintf(written, sizeof written, "/tmp/workbench_test_synth_%d_e.npz", (int)getpid());
    SynthOptions o = small_options(5);
    ImageSet sets[NUM_SPLITS] = {{0}};
    synth_generate(&o, sets);
    Error err;
    ck_assert_msg(splits_write_npz(sets, drawn, 1, &err) == 0, "%s", err.msg);
    free_sets(sets);
    ck_assert_msg(synth_write_npz(&o, written, 1, &err) == 0, "%s", err.msg);
    size_t len_a, len_b;
    uint8_t *a = file_bytes(drawn, &len_a), *b = file_bytes(written, &len_b);
    ck_assert(len_a == len_b && !memcmp(a, b, len_a));
    free(a);
    free(b);
    unlink(drawn);
    unlink(written);
}
END_TEST

START_TEST(an_existing_builtin_file_is_left_alone)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/workbench_test_synth_%d_f.npz", (int)getpid());
    SynthOptions o = small_options(6);
    Error err;
    ck_assert_msg(synth_write_npz(&o, path, 0, &err) == 0, "%s", err.msg);
    size_t before_len, after_len;
    uint8_t *before = file_bytes(path, &before_len);
    ck_assert_msg(synth_ensure_builtin(path, &err) == 0, "%s", err.msg);
    uint8_t *after = file_bytes(path, &after_len);
    ck_assert(before_len == after_len && !memcmp(before, after, before_len));
    free(before);
    free(after);
    unlink(path);
}
END_TEST

START_TEST(a_missing_builtin_file_is_drawn_in_its_new_directory)
{
    char root[128], path[192], command[256];
    snprintf(root, sizeof root, "/tmp/workbench_test_synth_%d_dir", (int)getpid());
    snprintf(path, sizeof path, "%s/data/more/synth.npz", root);
    Error err;
    ck_assert_msg(synth_ensure_builtin(path, &err) == 0, "%s", err.msg);
    NpzFile npz;
    ck_assert_msg(npz_read(path, &npz, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(npz_find(&npz, "x_train")->shape[0], SYNTH_DEFAULT_TRAIN);
    ck_assert_int_eq(npz_find(&npz, "y_val")->shape[0], SYNTH_DEFAULT_VAL);
    ck_assert_int_eq(npz_find(&npz, "y_test")->shape[0], SYNTH_DEFAULT_TEST);
    npz_free(&npz);

    /* a directory that cannot be made: a file is in the way */
    snprintf(path, sizeof path, "%s/data/more/synth.npz/inside.npz", root);
    ck_assert_int_eq(synth_ensure_builtin(path, &err), -1);
    ck_assert_msg(strstr(err.msg, "synth.npz: exists and is not a directory"), "%s", err.msg);
    snprintf(command, sizeof command, "rm -rf %s", root);
    ck_assert_int_eq(system(command), 0);
}
END_TEST

Suite *synth_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, class_counts_follow_fer2013_totals);
    tcase_add_test(tc, class_counts_sum_to_the_total_and_keep_disgust_rare);
    tcase_add_test(tc, balanced_counts_are_equal_up_to_one);
    tcase_add_test(tc, generated_splits_have_the_requested_sizes_and_classes);
    tcase_add_test(tc, the_same_seed_gives_the_same_images);
    tcase_add_test(tc, images_do_not_depend_on_the_thread_count);
    tcase_add_test(tc, a_split_does_not_change_when_another_split_grows);
    tcase_add_test(tc, faces_are_images_not_blanks);
    tcase_add_test(tc, the_same_seed_writes_a_byte_identical_file_in_the_converter_layout);
    tcase_add_test(tc, a_split_of_size_zero_is_left_out_of_the_file);
    tcase_add_test(tc, synth_write_npz_writes_what_generate_draws);
    tcase_add_test(tc, an_existing_builtin_file_is_left_alone);
    tcase_add_test(tc, a_missing_builtin_file_is_drawn_in_its_new_directory);
    suite_add_tcase(s, tc);
    return s;
}
