/* The FER2013 CSV converter against Python's own parse of the same files.
 *
 * tests/fixtures/make_csv_fixtures.py writes each CSV variant together with
 * <variant>_expected.npz, the arrays made from it by Python's csv module and
 * numpy; and bad_*.csv files with bad_cases.txt giving the line and the
 * phrase each error message must carry. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classes.h"
#include "fer_csv.h"
#include "npz.h"

#define FIXTURES "tests/fixtures/csv/"

static void temp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "/tmp/workbench_test_fer_csv_%d_%s", (int)getpid(), name);
}

/* Every member of expected is in actual with the same dtype, shape and
 * bytes, and actual has no other members. */
static void assert_same_npz(const char *actual_path, const char *expected_path)
{
    NpzFile actual, expected;
    Error err;
    ck_assert_msg(npz_read(actual_path, &actual, &err) == 0, "%s", err.msg);
    ck_assert_msg(npz_read(expected_path, &expected, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(actual.count, expected.count);
    for (int i = 0; i < expected.count; i++) {
        const NpyArray *want = &expected.arrays[i];
        const NpyArray *got = npz_find(&actual, want->name);
        ck_assert_msg(got != NULL, "%s: no member %s", actual_path, want->name);
        ck_assert_msg(got->dtype == want->dtype, "%s: %s is %s, numpy made %s", actual_path,
                      want->name, npy_dtype_name(got->dtype), npy_dtype_name(want->dtype));
        ck_assert_int_eq(got->ndim, want->ndim);
        for (int d = 0; d < want->ndim; d++) ck_assert_int_eq(got->shape[d], want->shape[d]);
        ck_assert_msg(!memcmp(got->data, want->data, want->count * npy_dtype_size(want->dtype)),
                      "%s: %s differs from numpy's parse", actual_path, want->name);
    }
    npz_free(&actual);
    npz_free(&expected);
}

static void convert_and_compare(const char *variant)
{
    char csv_path[256], expected_path[256], out_path[256];
    snprintf(csv_path, sizeof csv_path, FIXTURES "%s.csv", variant);
    snprintf(expected_path, sizeof expected_path, FIXTURES "%s_expected.npz", variant);
    temp_path(out_path, sizeof out_path, "out.npz");
    FerCsv csv;
    Error err;
    ck_assert_msg(fer_csv_read(csv_path, &csv, 0, &err) == 0, "%s: %s", variant, err.msg);
    ck_assert_msg(splits_write_npz(csv.split, out_path, 0, &err) == 0, "%s", err.msg);
    assert_same_npz(out_path, expected_path);
    fer_csv_free(&csv);
    unlink(out_path);
}

START_TEST(standard_file_converts_as_numpy_parses_it)
{
    convert_and_compare("standard");
}
END_TEST

START_TEST(crlf_line_endings_convert_the_same)
{
    convert_and_compare("crlf");
}
END_TEST

START_TEST(icml_column_order_with_spaces_in_header)
{
    convert_and_compare("icml");
}
END_TEST

START_TEST(quoted_fields_are_unquoted)
{
    convert_and_compare("quoted");
}
END_TEST

START_TEST(spaces_bom_and_blank_lines_are_tolerated)
{
    convert_and_compare("spaces");
}
END_TEST

START_TEST(extra_columns_in_any_order_are_ignored)
{
    convert_and_compare("extra_column");
}
END_TEST

START_TEST(without_usage_everything_is_training_data)
{
    convert_and_compare("no_usage");
    FerCsv csv;
    Error err;
    ck_assert(fer_csv_read(FIXTURES "no_usage.csv", &csv, 0, &err) == 0);
    ck_assert_int_eq(csv.has_usage, 0);
    ck_assert_int_eq(csv.rows, 11);
    ck_assert_int_eq(csv.split[SPLIT_TRAIN].count, 11);
    ck_assert_int_eq(csv.split[SPLIT_VAL].count, 0);
    ck_assert_int_eq(csv.split[SPLIT_TEST].count, 0);
    fer_csv_free(&csv);
}
END_TEST

START_TEST(usage_sorts_rows_into_three_splits)
{
    FerCsv csv;
    Error err;
    ck_assert(fer_csv_read(FIXTURES "standard.csv", &csv, 0, &err) == 0);
    ck_assert_int_eq(csv.has_usage, 1);
    /* The fixture has 7 Training, 2 PublicTest and 2 PrivateTest rows. */
    ck_assert_int_eq(csv.split[SPLIT_TRAIN].count, 7);
    ck_assert_int_eq(csv.split[SPLIT_VAL].count, 2);
    ck_assert_int_eq(csv.split[SPLIT_TEST].count, 2);
    fer_csv_free(&csv);
}
END_TEST

/* Each line of bad_cases.txt: "<file> <line> <phrase...>". */
START_TEST(every_bad_row_is_reported_with_its_line)
{
    FILE *cases = fopen(FIXTURES "bad_cases.txt", "r");
    ck_assert_msg(cases != NULL, "run tests from the repository root");
    char entry[512];
    int checked = 0;
    while (fgets(entry, sizeof entry, cases)) {
        entry[strcspn(entry, "\n")] = '\0';
        char file[128], phrase[256], csv_path[256], where[64];
        int line, used;
        ck_assert(sscanf(entry, "%127s %d %n", file, &line, &used) == 2);
        snprintf(phrase, sizeof phrase, "%s", entry + used);
        snprintf(csv_path, sizeof csv_path, FIXTURES "%s", file);

        FerCsv csv;
        Error err;
        ck_assert_msg(fer_csv_read(csv_path, &csv, 0, &err) == -1, "%s was accepted", file);
        ck_assert_msg(strstr(err.msg, file) != NULL, "%s: message lacks the file: %s", file,
                      err.msg);
        if (line > 0) {
            snprintf(where, sizeof where, "line %d:", line);
            ck_assert_msg(strstr(err.msg, where) != NULL, "%s: expected '%s' in: %s", file,
                          where, err.msg);
        }
        ck_assert_msg(strstr(err.msg, phrase) != NULL, "%s: expected '%s' in: %s", file, phrase,
                      err.msg);
        /* A failed read leaves nothing behind to free or write. */
        for (int s = 0; s < NUM_SPLITS; s++) ck_assert_int_eq(csv.split[s].count, 0);
        checked++;
    }
    fclose(cases);
    ck_assert_int_ge(checked, 15);
}
END_TEST

START_TEST(cr_line_endings_convert_the_same)
{
    convert_and_compare("cr");
}
END_TEST

/* A folder is not "empty" and /dev/zero is not an endless CSV: both are
 * named for what they are before a byte is read. */
START_TEST(folders_and_devices_are_named_for_what_they_are)
{
    FerCsv csv;
    Error err;
    ck_assert_int_eq(fer_csv_read(FIXTURES, &csv, 0, &err), -1);
    ck_assert_str_eq(err.msg, FIXTURES ": is a directory");
    ck_assert_int_eq(fer_csv_read("/dev/zero", &csv, 0, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/zero: is not a regular file (a character device)");
}
END_TEST

/* Writes a CSV of `rows` rows of 48x48 zeros, the last one with `extra`
 * more pixels; returns its path in path. */
static void write_zero_rows(char *path, size_t len, const char *name, int rows, int extra)
{
    temp_path(path, len, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("emotion,pixels,Usage\n", f);
    for (int r = 0; r < rows; r++) {
        fputs("3,0", f);
        int pixels = IMAGE_PIXELS + (r == rows - 1 ? extra : 0);
        for (int i = 1; i < pixels; i++) fputs(" 0", f);
        fputs(",Training\n", f);
    }
    fclose(f);
}

/* Image storage grows to 1024 images first, so the 1024th row's image is
 * the last 2,304 bytes of the buffer: a row with one pixel too many must
 * not write its 2,305th value past them. Under AddressSanitizer (make
 * check SANITIZE=1) a one-byte overflow here is a crash, not a silent
 * corruption of the heap. */
START_TEST(an_over_long_row_at_the_end_of_a_full_buffer_writes_nothing_past_it)
{
    char path[256];
    write_zero_rows(path, sizeof path, "full_buffer.csv", 1024, 1);
    FerCsv csv;
    Error err;
    ck_assert_int_eq(fer_csv_read(path, &csv, 0, &err), -1);
    ck_assert_msg(strstr(err.msg, "line 1025: 2305 pixel values, expected 2304"), "%s", err.msg);
    unlink(path);
}
END_TEST

START_TEST(a_line_far_longer_than_a_row_is_not_read_whole)
{
    char path[256];
    /* 600,000 pixels: 1.2 MB on one line */
    write_zero_rows(path, sizeof path, "long_line.csv", 1, 600000);
    FerCsv csv;
    Error err;
    ck_assert_int_eq(fer_csv_read(path, &csv, 0, &err), -1);
    ck_assert_msg(strstr(err.msg, "line 2: longer than 1048576 bytes"), "%s", err.msg);
    unlink(path);
}
END_TEST

START_TEST(missing_file_is_reported_by_name)
{
    FerCsv csv;
    Error err;
    ck_assert(fer_csv_read(FIXTURES "no_such_file.csv", &csv, 0, &err) == -1);
    ck_assert(strstr(err.msg, "no_such_file.csv") != NULL);
}
END_TEST

Suite *fer_csv_suite(void)
{
    Suite *s = suite_create("fer_csv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, standard_file_converts_as_numpy_parses_it);
    tcase_add_test(tc, crlf_line_endings_convert_the_same);
    tcase_add_test(tc, icml_column_order_with_spaces_in_header);
    tcase_add_test(tc, quoted_fields_are_unquoted);
    tcase_add_test(tc, spaces_bom_and_blank_lines_are_tolerated);
    tcase_add_test(tc, extra_columns_in_any_order_are_ignored);
    tcase_add_test(tc, without_usage_everything_is_training_data);
    tcase_add_test(tc, usage_sorts_rows_into_three_splits);
    tcase_add_test(tc, every_bad_row_is_reported_with_its_line);
    tcase_add_test(tc, missing_file_is_reported_by_name);
    tcase_add_test(tc, cr_line_endings_convert_the_same);
    tcase_add_test(tc, folders_and_devices_are_named_for_what_they_are);
    tcase_add_test(tc, an_over_long_row_at_the_end_of_a_full_buffer_writes_nothing_past_it);
    tcase_add_test(tc, a_line_far_longer_than_a_row_is_not_read_whole);
    suite_add_tcase(s, tc);
    return s;
}
