/* The .npy/.npz reader and writer against files numpy wrote.
 *
 * The fixtures in tests/fixtures/npz/ come from
 * tests/fixtures/make_npz_fixtures.py (numpy 1.24); the values they hold are
 * simple formulas (arange) or each dtype's extremes, stated again here. The
 * hostile files beside them are broken copies the reader must reject with
 * a message naming the file and the member. Files our writer produces are
 * read back here and, in the command-line tests, loaded by numpy itself
 * (tests/fixtures/check_npz_written.py). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic_file.h"
#include "machine.h"
#include "npz.h"

#define FIXTURES "tests/fixtures/npz/"
#define HOSTILE FIXTURES "hostile/"
/* Where the "written for numpy" test leaves files for check_npz_written.py. */
#define WRITTEN_DIR "build/npz_written"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static NpzFile read_ok(const char *path)
{
    NpzFile npz;
    Error err = {""};
    int status = npz_read(path, &npz, &err);
    ck_assert_msg(status == 0, "%s: %s", path, err.msg);
    return npz;
}

static const NpyArray *member(const NpzFile *npz, const char *name)
{
    const NpyArray *a = npz_find(npz, name);
    ck_assert_msg(a != NULL, "no member '%s'", name);
    return a;
}

static void assert_shape(const NpyArray *a, const char *want)
{
    char buf[128];
    ck_assert_str_eq(npy_shape_string(a, buf, sizeof buf), want);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return bytes;
}

/* A fresh empty directory for writer tests. */
static void make_temp_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/test_npz.XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
}

/* How many entries dir holds; their names go to names, each followed by a
 * space, in readdir's order. */
static int count_entries(const char *dir, char *names, size_t len)
{
    DIR *d = opendir(dir);
    ck_assert(d != NULL);
    int n = 0;
    names[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        strncat(names, e->d_name, len - strlen(names) - 2);
        strcat(names, " ");
    }
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* x = arange(24, uint8).reshape(2, 3, 4), y = [0..6, 3] int64,
 * f = [0.5, -1.25, 3.0] float32: the arrays of the basic_* fixtures. */
static void assert_basic_arrays(const char *path)
{
    NpzFile npz = read_ok(path);
    ck_assert_int_eq(npz.count, 3);
    const NpyArray *x = member(&npz, "x"), *y = member(&npz, "y"), *f = member(&npz, "f");
    ck_assert_int_eq(x->dtype, NPY_UINT8);
    assert_shape(x, "(2, 3, 4)");
    for (size_t i = 0; i < 24; i++) ck_assert_uint_eq(((uint8_t *)x->data)[i], i);
    ck_assert_int_eq(y->dtype, NPY_INT64);
    assert_shape(y, "(8,)");
    const int64_t labels[8] = {0, 1, 2, 3, 4, 5, 6, 3};
    ck_assert(!memcmp(y->data, labels, sizeof labels));
    ck_assert_int_eq(f->dtype, NPY_FLOAT32);
    const float floats[3] = {0.5f, -1.25f, 3.0f};
    ck_assert(!memcmp(f->data, floats, sizeof floats));
    npz_free(&npz);
}

/* ------------------------------------------------------------------ */
/* what numpy writes                                                   */

START_TEST(reads_np_savez_stored_members)
{
    assert_basic_arrays(FIXTURES "basic_stored.npz");
}
END_TEST

START_TEST(reads_np_savez_compressed_members)
{
    assert_basic_arrays(FIXTURES "basic_compressed.npz");
}
END_TEST

START_TEST(reads_members_with_data_descriptors_written_to_a_stream)
{
    assert_basic_arrays(FIXTURES "basic_stream_stored.npz");
    assert_basic_arrays(FIXTURES "basic_stream_compressed.npz");
}
END_TEST

START_TEST(reads_zip64_directory_extras_and_end_record)
{
    assert_basic_arrays(FIXTURES "zip64_directory.npz");
}
END_TEST

START_TEST(finds_the_end_record_before_an_archive_comment)
{
    NpzFile npz = read_ok(FIXTURES "with_comment.npz");
    ck_assert_int_eq(npz.count, 1);
    const NpyArray *x = member(&npz, "x");
    for (size_t i = 0; i < 24; i++) ck_assert_uint_eq(((uint8_t *)x->data)[i], i);
    npz_free(&npz);
}
END_TEST

/* The values of dtypes.npz and bigendian.npz, one member per dtype. */
static void assert_dtype_values(const NpzFile *npz, int with_one_byte_types)
{
    if (with_one_byte_types) {
        const uint8_t bools[] = {1, 0, 1, 1};
        const int8_t int8s[] = {0, 1, -1, -128, 127};
        const uint8_t uint8s[] = {0, 1, 254, 255};
        ck_assert_int_eq(member(npz, "bool")->dtype, NPY_BOOL);
        ck_assert(!memcmp(member(npz, "bool")->data, bools, sizeof bools));
        ck_assert_int_eq(member(npz, "int8")->dtype, NPY_INT8);
        ck_assert(!memcmp(member(npz, "int8")->data, int8s, sizeof int8s));
        ck_assert_int_eq(member(npz, "uint8")->dtype, NPY_UINT8);
        ck_assert(!memcmp(member(npz, "uint8")->data, uint8s, sizeof uint8s));
    }
    const int16_t int16s[] = {0, -1, INT16_MIN, INT16_MAX, 1234};
    const uint16_t uint16s[] = {0, UINT16_MAX, 0x1234};
    const int32_t int32s[] = {0, -1, INT32_MIN, INT32_MAX, 123456789};
    const uint32_t uint32s[] = {0, UINT32_MAX, 0x12345678};
    const int64_t int64s[] = {0, -1, INT64_MIN, INT64_MAX, 1234567890123};
    const uint64_t uint64s[] = {0, UINT64_MAX, 0x123456789abcdef0};
    /* float16 bit patterns of 0, 1, -2.5, 65504, 2^-24, 2^-14, inf, -inf, NaN */
    const uint16_t halves[] = {0x0000, 0x3c00, 0xc100, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00};
    const float float32s[] = {0, 1.5f, -2.25f, 3.4028234663852886e38f, 0x1p-149f, INFINITY};
    const double float64s[] = {0, 0.1, -1e300, 0x1p-1074, 1.7976931348623157e308, -INFINITY};
#define CHECK_MEMBER(name, type, values)                                            \
    do {                                                                            \
        const NpyArray *a_ = member(npz, name);                                     \
        ck_assert_int_eq(a_->dtype, type);                                          \
        ck_assert_uint_ge(a_->count, sizeof values / sizeof values[0]);              \
        ck_assert_msg(!memcmp(a_->data, values, sizeof values), "%s differs", name); \
    } while (0)
    CHECK_MEMBER("int16", NPY_INT16, int16s);
    CHECK_MEMBER("uint16", NPY_UINT16, uint16s);
    CHECK_MEMBER("int32", NPY_INT32, int32s);
    CHECK_MEMBER("uint32", NPY_UINT32, uint32s);
    CHECK_MEMBER("int64", NPY_INT64, int64s);
    CHECK_MEMBER("uint64", NPY_UINT64, uint64s);
    CHECK_MEMBER("float16", NPY_FLOAT16, halves);
    CHECK_MEMBER("float32", NPY_FLOAT32, float32s);
    CHECK_MEMBER("float64", NPY_FLOAT64, float64s);
#undef CHECK_MEMBER
    /* The last element of each float member is NaN. */
    ck_assert(isnan(((float *)member(npz, "float32")->data)[6]));
    ck_assert(isnan(((double *)member(npz, "float64")->data)[6]));
    uint16_t nan_half = ((uint16_t *)member(npz, "float16")->data)[8];
    ck_assert((nan_half & 0x7c00) == 0x7c00 && (nan_half & 0x3ff) != 0);
}

START_TEST(reads_every_dtype_with_numpys_values)
{
    NpzFile npz = read_ok(FIXTURES "dtypes.npz");
    ck_assert_int_eq(npz.count, 12);
    assert_dtype_values(&npz, 1);
    npz_free(&npz);
}
END_TEST

START_TEST(converts_big_endian_to_native)
{
    NpzFile npz = read_ok(FIXTURES "bigendian.npz");
    ck_assert_int_eq(npz.count, 9);
    assert_dtype_values(&npz, 0);
    npz_free(&npz);
}
END_TEST

START_TEST(converts_fortran_order_to_c_order)
{
    /* Each member is asfortranarray(arange(n).reshape(shape)): in C order
     * element i must be i. */
    NpzFile npz = read_ok(FIXTURES "fortran.npz");
    const NpyArray *f2 = member(&npz, "f2"), *f3 = member(&npz, "f3"), *u3 = member(&npz, "u3"),
                   *big = member(&npz, "big");
    assert_shape(f2, "(2, 3)");
    assert_shape(f3, "(2, 3, 4)");
    assert_shape(u3, "(3, 4, 5)");
    assert_shape(big, "(4, 6)");
    for (int i = 0; i < 6; i++) ck_assert_int_eq(((int32_t *)f2->data)[i], i);
    for (int i = 0; i < 24; i++) ck_assert(((double *)f3->data)[i] == i);
    for (int i = 0; i < 60; i++) ck_assert_int_eq(((uint8_t *)u3->data)[i], i);
    for (int i = 0; i < 24; i++) ck_assert_int_eq(((int32_t *)big->data)[i], i);
    npz_free(&npz);
}
END_TEST

START_TEST(reads_zero_d_and_empty_arrays)
{
    NpzFile npz = read_ok(FIXTURES "zero_d.npz");
    const NpyArray *f8 = member(&npz, "scalar_f8"), *i8 = member(&npz, "scalar_i8");
    ck_assert_int_eq(f8->ndim, 0);
    ck_assert_uint_eq(f8->count, 1);
    assert_shape(f8, "()");
    ck_assert(*(double *)f8->data == 3.5);
    ck_assert_int_eq(*(int64_t *)i8->data, -7);
    const NpyArray *empty = member(&npz, "empty"), *images = member(&npz, "empty_images");
    ck_assert_uint_eq(empty->count, 0);
    assert_shape(empty, "(0,)");
    ck_assert_uint_eq(images->count, 0);
    assert_shape(images, "(0, 48, 48)");
    npz_free(&npz);
}
END_TEST

static void assert_arange_3x4_int16(const NpyArray *a)
{
    ck_assert_int_eq(a->dtype, NPY_INT16);
    assert_shape(a, "(3, 4)");
    for (int i = 0; i < 12; i++) ck_assert_int_eq(((int16_t *)a->data)[i], i);
}

START_TEST(reads_npy_header_versions_2_and_3_in_npz)
{
    const char *files[] = {FIXTURES "header_v2.npz", FIXTURES "header_v3.npz"};
    for (int f = 0; f < 2; f++) {
        NpzFile npz = read_ok(files[f]);
        assert_arange_3x4_int16(member(&npz, "a"));
        npz_free(&npz);
    }
}
END_TEST

START_TEST(reads_single_npy_files_of_versions_1_2_3)
{
    const char *files[] = {FIXTURES "v1.npy", FIXTURES "v2.npy", FIXTURES "v3.npy"};
    const char *names[] = {"v1", "v2", "v3"};
    for (int f = 0; f < 3; f++) {
        NpyArray a;
        Error err;
        ck_assert_msg(npy_read(files[f], &a, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(a.name, names[f]);
        assert_arange_3x4_int16(&a);
        npy_array_free(&a);
    }
}
END_TEST

START_TEST(find_returns_null_for_a_missing_member)
{
    NpzFile npz = read_ok(FIXTURES "basic_stored.npz");
    ck_assert_ptr_null(npz_find(&npz, "x_train"));
    ck_assert_ptr_nonnull(npz_find(&npz, "x"));
    npz_free(&npz);
    ck_assert_int_eq(npz.count, 0);
    ck_assert_ptr_null(npz.arrays);
}
END_TEST

START_TEST(dtype_names_are_numpys)
{
    ck_assert_str_eq(npy_dtype_name(NPY_BOOL), "bool");
    ck_assert_str_eq(npy_dtype_name(NPY_UINT8), "uint8");
    ck_assert_str_eq(npy_dtype_name(NPY_INT64), "int64");
    ck_assert_str_eq(npy_dtype_name(NPY_FLOAT16), "float16");
    ck_assert_str_eq(npy_dtype_name(NPY_FLOAT32), "float32");
    ck_assert_uint_eq(npy_dtype_size(NPY_UINT16), 2);
    ck_assert_uint_eq(npy_dtype_size(NPY_FLOAT64), 8);
}
END_TEST

/* ------------------------------------------------------------------ */
/* element conversion                                                  */

START_TEST(float16_decodes_as_numpy_does)
{
    /* half = every 13th float16 bit pattern, as_float32 = numpy's
     * half.astype(float32): subnormals, normals, infinities, NaNs. */
    NpzFile npz = read_ok(FIXTURES "float16_table.npz");
    const NpyArray *half = member(&npz, "half"), *want = member(&npz, "as_float32");
    ck_assert_uint_eq(half->count, want->count);
    ck_assert_uint_gt(half->count, 5000);
    float *got32 = malloc(half->count * sizeof *got32);
    double *got64 = malloc(half->count * sizeof *got64);
    npy_to_float32(half, got32);
    npy_to_float64(half, got64);
    const float *reference = want->data;
    for (size_t i = 0; i < half->count; i++) {
        if (isnan(reference[i])) {
            ck_assert_msg(isnan(got32[i]) && isnan(got64[i]), "pattern %zu", i * 13);
        } else {
            ck_assert_msg(got32[i] == reference[i] && signbit(got32[i]) == signbit(reference[i]),
                          "pattern 0x%04zx: %g, numpy says %g", i * 13, got32[i], reference[i]);
            ck_assert(got64[i] == (double)reference[i]);
        }
    }
    free(got32);
    free(got64);
    npz_free(&npz);
}
END_TEST

START_TEST(every_integer_dtype_converts_exactly_to_int64)
{
    NpzFile npz = read_ok(FIXTURES "dtypes.npz");
    Error err;
    int64_t out[8];
    ck_assert_int_eq(npy_to_int64(member(&npz, "bool"), out, &err), 0);
    ck_assert(out[0] == 1 && out[1] == 0 && out[3] == 1);
    ck_assert_int_eq(npy_to_int64(member(&npz, "int8"), out, &err), 0);
    ck_assert(out[2] == -1 && out[3] == -128 && out[4] == 127);
    ck_assert_int_eq(npy_to_int64(member(&npz, "uint8"), out, &err), 0);
    ck_assert(out[3] == 255);
    ck_assert_int_eq(npy_to_int64(member(&npz, "int16"), out, &err), 0);
    ck_assert(out[2] == -32768 && out[4] == 1234);
    ck_assert_int_eq(npy_to_int64(member(&npz, "uint16"), out, &err), 0);
    ck_assert(out[1] == 65535);
    ck_assert_int_eq(npy_to_int64(member(&npz, "int32"), out, &err), 0);
    ck_assert(out[2] == INT32_MIN && out[3] == INT32_MAX);
    ck_assert_int_eq(npy_to_int64(member(&npz, "uint32"), out, &err), 0);
    ck_assert(out[1] == UINT32_MAX);
    ck_assert_int_eq(npy_to_int64(member(&npz, "int64"), out, &err), 0);
    ck_assert(out[2] == INT64_MIN && out[3] == INT64_MAX);
    npz_free(&npz);
}
END_TEST

START_TEST(int64_conversion_rejects_what_does_not_fit)
{
    NpzFile npz = read_ok(FIXTURES "dtypes.npz");
    Error err;
    int64_t out[16];
    /* uint64 holds 2^64 - 1 at element 1 */
    ck_assert_int_eq(npy_to_int64(member(&npz, "uint64"), out, &err), -1);
    ck_assert_msg(strstr(err.msg, "'uint64'") && strstr(err.msg, "element 1"), "%s", err.msg);
    /* float32 holds 1.5 at element 1 */
    ck_assert_int_eq(npy_to_int64(member(&npz, "float32"), out, &err), -1);
    ck_assert_msg(strstr(err.msg, "'float32'") && strstr(err.msg, "element 1") && strstr(err.msg, "1.5"),
                  "%s", err.msg);
    /* float16 holds -2.5 at element 2 */
    ck_assert_int_eq(npy_to_int64(member(&npz, "float16"), out, &err), -1);
    ck_assert_msg(strstr(err.msg, "element 2") && strstr(err.msg, "-2.5"), "%s", err.msg);
    npz_free(&npz);

    /* Whole floats do convert: labels saved as float64 by some scripts. */
    double labels[] = {0, 6, 3, -2};
    NpyArray a = {.name = "y", .dtype = NPY_FLOAT64, .ndim = 1, .shape = {4}, .count = 4, .data = labels};
    ck_assert_int_eq(npy_to_int64(&a, out, &err), 0);
    ck_assert(out[0] == 0 && out[1] == 6 && out[2] == 3 && out[3] == -2);
    labels[2] = NAN;
    ck_assert_int_eq(npy_to_int64(&a, out, &err), -1);
    labels[2] = 9.3e18; /* beyond INT64_MAX = 9.22e18 */
    ck_assert_int_eq(npy_to_int64(&a, out, &err), -1);
}
END_TEST

START_TEST(float_conversion_covers_every_dtype)
{
    NpzFile npz = read_ok(FIXTURES "dtypes.npz");
    float f[16];
    double d[16];
    npy_to_float32(member(&npz, "int8"), f);
    ck_assert(f[3] == -128.0f && f[4] == 127.0f);
    npy_to_float32(member(&npz, "uint8"), f);
    ck_assert(f[2] == 254.0f);
    npy_to_float64(member(&npz, "int64"), d);
    ck_assert(d[2] == -0x1p63 && d[4] == 1234567890123.0);
    npy_to_float64(member(&npz, "uint64"), d);
    ck_assert(d[1] == 0x1p64);
    npy_to_float64(member(&npz, "uint32"), d);
    ck_assert(d[1] == 4294967295.0);
    npy_to_float32(member(&npz, "float64"), f);
    ck_assert(f[1] == 0.1f && isinf(f[2]) && f[2] < 0); /* -1e300 overflows float */
    npy_to_float64(member(&npz, "float32"), d);
    ck_assert(d[1] == 1.5 && d[4] == 0x1p-149);
    npy_to_float32(member(&npz, "bool"), f);
    ck_assert(f[0] == 1.0f && f[1] == 0.0f);
    npz_free(&npz);
}
END_TEST

/* ------------------------------------------------------------------ */
/* hostile files                                                       */

typedef struct {
    const char *file;
    const char *member;  /* the member the message must name, or NULL */
    const char *problem; /* a fragment of the message */
} HostileCase;

static const HostileCase hostile_cases[] = {
    {"empty.npz", NULL, "empty"},
    {"garbage.npz", NULL, "no zip end-of-central-directory"},
    {"truncated_half.npz", NULL, "no zip end-of-central-directory"},
    {"truncated_tail.npz", NULL, "no zip end-of-central-directory"},
    {"npy_not_npz.npz", NULL, "an .npy file"},
    {"crc_mismatch_stored.npz", "x.npy", "CRC-32 mismatch"},
    {"crc_mismatch_compressed.npz", "x.npy", "CRC-32 mismatch"},
    {"corrupt_deflate.npz", "x.npy", "corrupt deflate data"},
    {"deflate_cut_short.npz", "x.npy", "ends early"},
    {"inflates_past_size.npz", "x.npy", "inflates to more than"},
    {"inflates_short_of_size.npz", "x.npy", "inflates to fewer"},
    {"impossible_ratio.npz", "x.npy", "impossible"},
    {"member_past_end.npz", "x.npy", "past the end of the file"},
    {"stored_sizes_differ.npz", "x.npy", "different sizes"},
    {"bad_local_offset.npz", "x.npy", "no local header"},
    {"encrypted.npz", "x.npy", "encrypted"},
    {"local_name_differs.npz", "x.npy", "names a different member"},
    {"unknown_method.npz", "x.npy", "compression method 14"},
    {"directory_outside_file.npz", NULL, "outside the file"},
    {"entry_count_lie.npz", NULL, "60000 entries"},
    {"multi_disk.npz", NULL, "multi-part"},
    {"zip64_locator_bad.npz", NULL, "ZIP64 locator"},
    {"zip64_extra_missing.npz", "x.npy", "no ZIP64 extra field"},
    {"zip64_extra_short.npz", "x.npy", "ZIP64 extra field too short"},
    {"zip64_record_huge_count.npz", NULL, "entries cannot fit"},
    {"member_not_npy.npz", "readme.txt", "not an .npy file"},
    {"member_name_escape.npz", "?[31mx.npy", "control character U+001B (at byte 0)"},
    {"npy_bad_magic.npz", "bad.npy", "magic"},
    {"npy_bad_version.npz", "bad.npy", "version 4.0"},
    {"npy_header_past_end.npz", "bad.npy", "truncated .npy header"},
    {"npy_truncated_preamble.npz", "bad.npy", "truncated .npy header"},
    {"npy_header_not_dict.npz", "bad.npy", "not a dict"},
    {"npy_missing_shape.npz", "bad.npy", "missing key 'shape'"},
    {"npy_unknown_key.npz", "bad.npy", "key 'x'"},
    {"npy_unterminated_string.npz", "bad.npy", "unterminated string"},
    {"npy_bad_fortran_value.npz", "bad.npy", "True or False"},
    {"npy_negative_shape.npz", "bad.npy", "negative dimension"},
    {"npy_overflow_shape.npz", "bad.npy", "too large"},
    {"npy_huge_dimension.npz", "bad.npy", "too large"},
    {"npy_shape_larger_than_data.npz", "bad.npy", "needs 400 bytes of data, the member has 16"},
    {"npy_data_longer_than_shape.npz", "bad.npy", "needs 8 bytes of data, the member has 16"},
    {"npy_too_many_dims.npz", "bad.npy", "more than 8 dimensions"},
    {"npy_object_dtype.npz", "bad.npy", "'|O'"},
    {"npy_datetime_dtype.npz", "bad.npy", "'<M8[D]'"},
    {"npy_complex_dtype.npz", "bad.npy", "'<c8'"},
    {"npy_structured_dtype.npz", "bad.npy", "structured"},
    {"npy_long_double.npz", "bad.npy", "'<f16'"},
    /* numbers past every limit, quoted as they are in the file */
    {"npy_dimension_wraps.npz", "bad.npy", "dimension 18446744073709551617 in shape is too large"},
    {"npy_shape_past_int64.npz", "bad.npy", "shape (3037000500, 3037000500) is too large"},
    {"npy_dimension_2_32_plus_1.npz", "bad.npy", "shape (4294967297,) of uint8 needs 4294967297 bytes"},
    {"npy_dtype_size_long.npz", "bad.npy", "floats of 12345678901234 bytes"},
    /* numpy would silently keep the last of the two */
    {"duplicate_member.npz", NULL, "member 'x.npy' is in the archive twice"},
    /* one byte past a limit; edge_*.npz beside them are exactly at it */
    {"member_one_byte_past_end.npz", "x.npy", "data runs past the end of the file"},
    {"npy_header_one_byte_past_end.npz", "empty.npy", "truncated .npy header (says 119 bytes, 118 are there)"},
};
#define HOSTILE_COUNT ((int)(sizeof hostile_cases / sizeof hostile_cases[0]))

START_TEST(hostile_file_is_rejected_naming_file_and_member)
{
    const HostileCase *c = &hostile_cases[_i];
    char path[256], quoted[64];
    snprintf(path, sizeof path, HOSTILE "%s", c->file);
    NpzFile npz;
    Error err = {""};
    ck_assert_msg(npz_read(path, &npz, &err) == -1, "%s was accepted", c->file);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message lacks the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, c->problem) != NULL, "message lacks '%s': %s", c->problem, err.msg);
    if (c->member) {
        snprintf(quoted, sizeof quoted, "member '%s'", c->member);
        ck_assert_msg(strstr(err.msg, quoted) != NULL, "message lacks %s: %s", quoted, err.msg);
    }
    ck_assert_int_eq(npz.count, 0);
    ck_assert_ptr_null(npz.arrays);
}
END_TEST

START_TEST(missing_file_and_directory_are_errors)
{
    NpzFile npz;
    NpyArray a;
    Error err;
    ck_assert_int_eq(npz_read(FIXTURES "no_such_file.npz", &npz, &err), -1);
    ck_assert_msg(strstr(err.msg, "no_such_file.npz: cannot open"), "%s", err.msg);
    ck_assert_int_eq(npz_read(FIXTURES, &npz, &err), -1);
    ck_assert_str_eq(err.msg, FIXTURES ": is a directory");
    ck_assert_int_eq(npy_read(FIXTURES, &a, &err), -1);
    ck_assert_str_eq(err.msg, FIXTURES ": is a directory");
}
END_TEST

/* /dev/zero never ends: reading it whole would grow until the machine
 * gives out. Only regular files are read. */
START_TEST(devices_and_pipes_are_not_read)
{
    NpzFile npz;
    NpyArray a;
    Error err;
    ck_assert_int_eq(npz_read("/dev/zero", &npz, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/zero: is not a regular file (a character device)");
    ck_assert_int_eq(npy_read("/dev/zero", &a, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/zero: is not a regular file (a character device)");
    char dir[64], fifo[96];
    make_temp_dir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/data.npz", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(npz_read(fifo, &npz, &err), -1); /* without waiting for a writer */
    ck_assert_msg(strstr(err.msg, "data.npz: is not a regular file (a pipe)"), "%s", err.msg);
    remove_dir(dir);
}
END_TEST

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A 40 GB file of holes costs no disk, but reading it whole would ask for
 * 40 GB of memory: only the end record's neighbourhood is read, and a
 * directory that declares more than a member may hold is refused before
 * anything is allocated for it. */
START_TEST(a_huge_sparse_file_is_refused_without_reading_it)
{
    char dir[64], path[96];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/huge.npz", dir);
    const uint64_t size = (uint64_t)40 << 30;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (ftruncate(fileno(f), (off_t)size) != 0) { /* a file system without holes: skip */
        fclose(f);
        remove_dir(dir);
        return;
    }
    fclose(f);
    NpzFile npz;
    Error err;
    ck_assert_int_eq(npz_read(path, &npz, &err), -1);
    ck_assert_msg(strstr(err.msg, "no zip end-of-central-directory record"), "%s", err.msg);

    /* The same holes ending in a ZIP64 directory whose one member says it
     * is a stored 30 GB array at offset 0: refused by the member cap. */
    const uint64_t member_size = (uint64_t)30 << 30;
    uint8_t tail[46 + 5 + 28 + 56 + 20 + 22] = {0};
    uint8_t *c = tail, *r = c + 46 + 5 + 28, *l = r + 56, *e = l + 20;
    const uint64_t directory = size - sizeof tail, record = directory + 46 + 5 + 28;
    put_le(c, 0x02014b50, 4);
    put_le(c + 20, 0xffffffff, 4); /* sizes and offset: see the ZIP64 extra */
    put_le(c + 24, 0xffffffff, 4);
    put_le(c + 28, 5, 2);
    put_le(c + 30, 28, 2);
    put_le(c + 42, 0xffffffff, 4);
    memcpy(c + 46, "x.npy", 5);
    put_le(c + 51, 1, 2);
    put_le(c + 53, 24, 2);
    put_le(c + 55, member_size, 8);
    put_le(c + 63, member_size, 8);
    put_le(c + 71, 0, 8);
    put_le(r, 0x06064b50, 4);
    put_le(r + 4, 44, 8);
    put_le(r + 24, 1, 8);
    put_le(r + 32, 1, 8);
    put_le(r + 40, 46 + 5 + 28, 8);
    put_le(r + 48, directory, 8);
    put_le(l, 0x07064b50, 4);
    put_le(l + 8, record, 8);
    put_le(l + 16, 1, 4);
    put_le(e, 0x06054b50, 4);
    put_le(e + 8, 0xffff, 2);
    put_le(e + 10, 0xffff, 2);
    put_le(e + 12, 0xffffffff, 4);
    put_le(e + 16, 0xffffffff, 4);
    f = fopen(path, "r+b");
    ck_assert_int_eq(fseeko(f, (off_t)directory, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(tail, 1, sizeof tail, f), sizeof tail);
    fclose(f);
    ck_assert_int_eq(npz_read(path, &npz, &err), -1);
    ck_assert_msg(strstr(err.msg, "member 'x.npy': 32212254720 bytes uncompressed; the limit is 4294967296"),
                  "%s", err.msg);
    remove_dir(dir);
}
END_TEST

/* A directory alone (no data at all): `members` stored members named a.npy,
 * b.npy, ..., each declaring `size` bytes (under 4 GiB: the 32-bit fields),
 * then the end record. Returns the length written into bytes. */
static size_t directory_only_npz(uint8_t *bytes, int members, uint64_t size)
{
    enum { ENTRY = 46 + 5, END = 22 };
    memset(bytes, 0, (size_t)members * ENTRY + END);
    for (int m = 0; m < members; m++) {
        uint8_t *c = bytes + m * ENTRY;
        put_le(c, 0x02014b50, 4);
        put_le(c + 20, size, 4); /* stored: compressed and uncompressed alike */
        put_le(c + 24, size, 4);
        put_le(c + 28, 5, 2);
        memcpy(c + 46, "a.npy", 5);
        c[46] = (uint8_t)('a' + m);
    }
    uint8_t *e = bytes + members * ENTRY;
    put_le(e, 0x06054b50, 4);
    put_le(e + 8, (uint64_t)members, 2);
    put_le(e + 10, (uint64_t)members, 2);
    put_le(e + 12, (uint64_t)members * ENTRY, 4);
    return (size_t)members * ENTRY + END;
}

/* The sizes the directory declares are added up in a first pass, before
 * a byte of data is read: past 16 GiB in all (members of at most 4 GiB
 * each), or past half of this machine's memory, the archive is refused
 * for that alone. */
START_TEST(members_adding_up_past_the_memory_caps_are_refused)
{
    uint8_t bytes[8 * (46 + 5) + 22];
    NpzFile npz;
    Error err;
    /* five of 3.5 GiB: the archive cap, on any machine */
    size_t len = directory_only_npz(bytes, 5, (uint64_t)7 << 29);
    ck_assert_int_eq(npz_read_memory(bytes, len, "five.npz", &npz, &err), -1);
    ck_assert_msg(strstr(err.msg, "five.npz: the members add up to more than 17179869184 bytes "
                                  "uncompressed, the limit"), "%s", err.msg);

    /* four members just past half this machine's memory, when that is
     * under the archive cap (a machine of less than 32 GiB) */
    const uint64_t half = machine_memory_bytes() / 2;
    const uint64_t size = half / 4 + 1;
    if (half > 0 && size < ((uint64_t)1 << 32) && 4 * size <= ((uint64_t)16 << 30)) {
        len = directory_only_npz(bytes, 4, size);
        ck_assert_int_eq(npz_read_memory(bytes, len, "four.npz", &npz, &err), -1);
        ck_assert_msg(strstr(err.msg, "four.npz: the members add up to ") &&
                      strstr(err.msg, "GB unpacked, more than half of this machine's memory"),
                      "%s", err.msg);
        /* just within it: refused too, but only when the data is looked for */
        len = directory_only_npz(bytes, 4, size - 1);
        ck_assert_int_eq(npz_read_memory(bytes, len, "four.npz", &npz, &err), -1);
        ck_assert_msg(strstr(err.msg, "four.npz: member 'a.npy': broken zip archive: no local "
                                      "header at byte 0"), "%s", err.msg);
    }
}
END_TEST

/* The readers' bounds, exactly at the limit: fixtures one byte past each
 * are among the hostile files. */
START_TEST(member_data_may_end_at_the_last_byte_of_the_file)
{
    NpzFile npz = read_ok(FIXTURES "edge_member_ends_at_file_end.npz");
    const NpyArray *x = member(&npz, "x");
    ck_assert_int_eq(x->dtype, NPY_UINT8);
    assert_shape(x, "(32,)");
    const uint8_t *bytes = x->data;
    for (int i = 0; i < 10; i++) ck_assert_uint_eq(bytes[i], i);
    ck_assert(!memcmp(bytes + 10, "PK\5\6", 4)); /* the end record is the array's tail */
    npz_free(&npz);
}
END_TEST

START_TEST(npy_header_may_fill_its_member_exactly)
{
    NpzFile npz = read_ok(FIXTURES "edge_npy_header_ends_at_member_end.npz");
    const NpyArray *a = member(&npz, "empty");
    ck_assert_int_eq(a->dtype, NPY_FLOAT32);
    assert_shape(a, "(0,)");
    npz_free(&npz);
}
END_TEST

START_TEST(truncated_npy_is_rejected)
{
    NpyArray a;
    Error err;
    ck_assert_int_eq(npy_read(HOSTILE "truncated.npy", &a, &err), -1);
    ck_assert_msg(strstr(err.msg, "truncated.npy") && strstr(err.msg, "needs 24 bytes of data, the member has 21"),
                  "%s", err.msg);
    ck_assert_ptr_null(a.data);
}
END_TEST

/* Every prefix of a good file is a truncated file: all must be rejected
 * (under the sanitizers, without a single bad read). */
START_TEST(every_truncation_of_a_good_file_is_rejected)
{
    const char *files[] = {FIXTURES "basic_stored.npz", FIXTURES "basic_stream_compressed.npz",
                           FIXTURES "zip64_directory.npz", FIXTURES "with_comment.npz"};
    for (int f = 0; f < 4; f++) {
        size_t len;
        uint8_t *bytes = slurp(files[f], &len);
        for (size_t cut = 0; cut < len; cut++) {
            /* a copy of exactly cut bytes, so ASan sees reads past it */
            uint8_t *prefix = malloc(cut ? cut : 1);
            memcpy(prefix, bytes, cut);
            NpzFile npz;
            Error err;
            ck_assert_msg(npz_read_memory(prefix, cut, "cut", &npz, &err) == -1, "%s cut at %zu read", files[f], cut);
            free(prefix);
        }
        free(bytes);
    }
}
END_TEST

/* Any single corrupted byte: an error or (rarely, in ignored fields such
 * as timestamps) success, never a crash. Anything accepted must still have
 * the right arrays, because the CRC covers the data. */
START_TEST(single_byte_corruptions_never_crash)
{
    const char *files[] = {FIXTURES "basic_stored.npz", FIXTURES "basic_compressed.npz",
                           FIXTURES "zip64_directory.npz"};
    const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (int f = 0; f < 3; f++) {
        size_t len;
        uint8_t *bytes = slurp(files[f], &len);
        uint8_t *copy = malloc(len);
        for (size_t at = 0; at < len; at++)
            for (int k = 0; k < 3; k++) {
                memcpy(copy, bytes, len);
                copy[at] ^= flips[k];
                NpzFile npz;
                Error err;
                if (npz_read_memory(copy, len, "flipped", &npz, &err) == 0) {
                    const NpyArray *x = npz_find(&npz, "x");
                    if (x && x->count == 24 && x->dtype == NPY_UINT8)
                        for (size_t i = 0; i < 24; i++) ck_assert_uint_eq(((uint8_t *)x->data)[i], i);
                    npz_free(&npz);
                }
            }
        free(copy);
        free(bytes);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* writing                                                             */

static void assert_same_arrays(const NpzFile *a, const NpzFile *b)
{
    ck_assert_int_eq(a->count, b->count);
    for (int i = 0; i < a->count; i++) {
        const NpyArray *x = &a->arrays[i], *y = npz_find(b, x->name);
        ck_assert_msg(y != NULL, "'%s' missing after the round trip", x->name);
        ck_assert_int_eq(x->dtype, y->dtype);
        ck_assert_int_eq(x->ndim, y->ndim);
        for (int d = 0; d < x->ndim; d++) ck_assert_int_eq(x->shape[d], y->shape[d]);
        ck_assert_uint_eq(x->count, y->count);
        ck_assert_msg(!memcmp(x->data, y->data, npy_array_bytes(x)), "'%s' differs", x->name);
    }
}

static void write_all(const NpzFile *npz, const char *path, int compress)
{
    Error err;
    NpzWriter *w = npz_writer_open(path, compress, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    for (int i = 0; i < npz->count; i++)
        ck_assert_msg(npz_writer_add_array(w, &npz->arrays[i], &err) == 0, "%s", err.msg);
    ck_assert_msg(npz_writer_close(w, &err) == 0, "%s", err.msg);
}

static const char *round_trip_fixtures[] = {"dtypes", "bigendian", "fortran", "zero_d", "basic_stored",
                                            "float16_table"};
#define ROUND_TRIP_COUNT ((int)(sizeof round_trip_fixtures / sizeof round_trip_fixtures[0]))

START_TEST(written_files_read_back_identically)
{
    char dir[64], path[128], source[128];
    make_temp_dir(dir, sizeof dir);
    for (int f = 0; f < ROUND_TRIP_COUNT; f++)
        for (int compress = 0; compress < 2; compress++) {
            snprintf(source, sizeof source, FIXTURES "%s.npz", round_trip_fixtures[f]);
            snprintf(path, sizeof path, "%s/out.npz", dir);
            NpzFile original = read_ok(source);
            write_all(&original, path, compress);
            NpzFile again = read_ok(path);
            assert_same_arrays(&original, &again);
            npz_free(&original);
            npz_free(&again);
        }
    remove_dir(dir);
}
END_TEST

/* Leaves our copies of the fixtures in build/npz_written for
 * tests/fixtures/check_npz_written.py (run by tests/cli_cases.sh), which
 * loads them with numpy and compares them with the originals. */
START_TEST(writes_copies_of_the_fixtures_for_the_numpy_check)
{
    char path[256], source[256];
    Error err;
    mkdir("build", 0777);
    mkdir(WRITTEN_DIR, 0777);
    for (int f = 0; f < ROUND_TRIP_COUNT; f++)
        for (int compress = 0; compress < 2; compress++) {
            snprintf(source, sizeof source, FIXTURES "%s.npz", round_trip_fixtures[f]);
            snprintf(path, sizeof path, WRITTEN_DIR "/%s.%s.npz", round_trip_fixtures[f],
                     compress ? "compressed" : "stored");
            NpzFile original = read_ok(source);
            write_all(&original, path, compress);
            npz_free(&original);
        }
    NpyArray a;
    ck_assert_msg(npy_read(FIXTURES "v3.npy", &a, &err) == 0, "%s", err.msg);
    ck_assert_msg(npy_write(WRITTEN_DIR "/v3.npy", a.dtype, a.ndim, a.shape, a.data, &err) == 0, "%s", err.msg);
    npy_array_free(&a);
}
END_TEST

/* The bytes of a written .npy, against numpy's layout worked out by
 * hand: magic, version 1.0, u16 header length, the dict with sorted keys,
 * spaces to a 64-byte boundary, '\n', then the elements. */
START_TEST(npy_header_is_numpys_version_1_layout)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.npy", dir);
    const float data[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    Error err;
    ck_assert_msg(npy_write(path, NPY_FLOAT32, 2, shape, data, &err) == 0, "%s", err.msg);
    size_t len;
    uint8_t *bytes = slurp(path, &len);
    /* 10 bytes of preamble + 59 of dict + '\n' = 70, padded up to 128 */
    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    ck_assert_uint_eq(strlen(dict), 59);
    ck_assert_uint_eq(len, 128 + sizeof data);
    ck_assert(!memcmp(bytes, "\x93NUMPY\x01\x00", 8));
    ck_assert_uint_eq(bytes[8] | bytes[9] << 8, 128 - 10);
    ck_assert(!memcmp(bytes + 10, dict, strlen(dict)));
    for (size_t i = 10 + strlen(dict); i < 127; i++) ck_assert_int_eq(bytes[i], ' ');
    ck_assert_int_eq(bytes[127], '\n');
    ck_assert(!memcmp(bytes + 128, data, sizeof data));
    free(bytes);

    /* a 0-d shape prints as the empty tuple () */
    const uint8_t one = 7;
    ck_assert(npy_write(path, NPY_UINT8, 0, shape, &one, &err) == 0);
    bytes = slurp(path, &len);
    ck_assert(!memcmp(bytes + 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }", 55));
    ck_assert_uint_eq(len, 128 + 1);
    ck_assert_int_eq(bytes[128], 7);
    free(bytes);
    remove_dir(dir);
}
END_TEST

/* The zip structure by hand: a stored member's local header carries the
 * method, zlib's CRC-32 of the .npy bytes and the sizes, and the data
 * right after the name; the end record counts the members. */
START_TEST(stored_member_layout_matches_the_zip_format)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.npz", dir);
    const uint8_t data[4] = {10, 20, 30, 40};
    const int64_t shape[1] = {4};
    Error err;
    NpzWriter *w = npz_writer_open(path, 0, &err);
    ck_assert(npz_writer_add(w, "v", NPY_UINT8, 1, shape, data, &err) == 0);
    ck_assert(npz_writer_close(w, &err) == 0);
    size_t len;
    uint8_t *z = slurp(path, &len);
    ck_assert(!memcmp(z, "PK\3\4", 4));
    ck_assert_int_eq(z[8] | z[9] << 8, 0);                    /* method: stored */
    ck_assert_int_eq(z[26] | z[27] << 8, 5);                  /* "v.npy" */
    ck_assert(!memcmp(z + 30, "v.npy", 5));
    const uint8_t *npy = z + 30 + 5 + (z[28] | z[29] << 8); /* after the extra field */
    uint32_t size = (uint32_t)(z[22] | z[23] << 8 | z[24] << 16 | (uint32_t)z[25] << 24);
    ck_assert_uint_eq(size, 128 + 4); /* a 128-byte .npy header, as numpy's for (4,) uint8 */
    ck_assert(!memcmp(npy, "\x93NUMPY", 6));
    ck_assert(!memcmp(npy + 128, data, 4));
    uint32_t crc = (uint32_t)(z[14] | z[15] << 8 | z[16] << 16 | (uint32_t)z[17] << 24);
    ck_assert_uint_eq(crc, crc32(0, npy, size));
    const uint8_t *end = z + len - 22;
    ck_assert(!memcmp(end, "PK\5\6", 4));
    ck_assert_int_eq(end[10] | end[11] << 8, 1);
    free(z);
    remove_dir(dir);
}
END_TEST

START_TEST(same_arrays_give_byte_identical_files)
{
    char dir[64], a[128], b[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.npz", dir);
    snprintf(b, sizeof b, "%s/b.npz", dir);
    NpzFile npz = read_ok(FIXTURES "dtypes.npz");
    write_all(&npz, a, 1);
    write_all(&npz, b, 1);
    size_t len_a, len_b;
    uint8_t *bytes_a = slurp(a, &len_a), *bytes_b = slurp(b, &len_b);
    ck_assert_uint_eq(len_a, len_b);
    ck_assert(!memcmp(bytes_a, bytes_b, len_a));
    /* No clock in the file: the DOS time is 00:00:00 and the date
     * 1980-01-01, (0 << 9) | (1 << 5) | 1 = 0x0021. */
    ck_assert_int_eq(bytes_a[10] | bytes_a[11] << 8, 0);
    ck_assert_int_eq(bytes_a[12] | bytes_a[13] << 8, 0x0021);
    free(bytes_a);
    free(bytes_b);
    npz_free(&npz);
    remove_dir(dir);
}
END_TEST

START_TEST(compressed_writing_shrinks_images)
{
    char dir[64], stored[128], compressed[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(stored, sizeof stored, "%s/s.npz", dir);
    snprintf(compressed, sizeof compressed, "%s/c.npz", dir);
    enum { N = 50 };
    uint8_t *images = calloc(N * 48 * 48, 1);
    for (int i = 0; i < N * 48 * 48; i++) images[i] = (uint8_t)(i % 48 < 24 ? 30 : 200);
    const int64_t shape[3] = {N, 48, 48};
    Error err;
    for (int c = 0; c < 2; c++) {
        NpzWriter *w = npz_writer_open(c ? compressed : stored, c, &err);
        ck_assert(npz_writer_add(w, "x_train", NPY_UINT8, 3, shape, images, &err) == 0);
        ck_assert(npz_writer_close(w, &err) == 0);
    }
    struct stat s, c;
    stat(stored, &s);
    stat(compressed, &c);
    ck_assert_int_gt(s.st_size, N * 48 * 48);
    ck_assert_int_lt(c.st_size, s.st_size / 10);
    NpzFile npz = read_ok(compressed);
    ck_assert(!memcmp(member(&npz, "x_train")->data, images, N * 48 * 48));
    npz_free(&npz);
    free(images);
    remove_dir(dir);
}
END_TEST

START_TEST(abort_leaves_no_file_and_no_temporary)
{
    char dir[64], path[128], names[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.npz", dir);
    const int64_t shape[1] = {3};
    const float data[3] = {1, 2, 3};
    Error err;
    NpzWriter *w = npz_writer_open(path, 1, &err);
    ck_assert(npz_writer_add(w, "a", NPY_FLOAT32, 1, shape, data, &err) == 0);
    ck_assert_int_eq(count_entries(dir, names, sizeof names), 1); /* the temporary, being written */
    ck_assert_msg(strstr(names, "out.npz.") && strstr(names, ".tmp"), "%s", names);
    npz_writer_abort(w);
    ck_assert_msg(count_entries(dir, names, sizeof names) == 0, "left behind: %s", names);
    remove_dir(dir);
}
END_TEST

START_TEST(close_leaves_only_the_final_file)
{
    char dir[64], path[128], names[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.npz", dir);
    const int64_t shape[1] = {3};
    const float data[3] = {1, 2, 3};
    Error err;
    NpzWriter *w = npz_writer_open(path, 0, &err);
    ck_assert(npz_writer_add(w, "a", NPY_FLOAT32, 1, shape, data, &err) == 0);
    ck_assert(npz_writer_close(w, &err) == 0);
    ck_assert_int_eq(count_entries(dir, names, sizeof names), 1);
    ck_assert_str_eq(names, "out.npz ");
    remove_dir(dir);
}
END_TEST

START_TEST(abort_keeps_an_existing_file_untouched)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.npz", dir);
    FILE *f = fopen(path, "w");
    fputs("old contents", f);
    fclose(f);
    const int64_t shape[1] = {1};
    const double one = 1;
    Error err;
    NpzWriter *w = npz_writer_open(path, 0, &err);
    ck_assert(npz_writer_add(w, "a", NPY_FLOAT64, 1, shape, &one, &err) == 0);
    npz_writer_abort(w);
    size_t len;
    uint8_t *bytes = slurp(path, &len);
    ck_assert_uint_eq(len, 12);
    ck_assert(!memcmp(bytes, "old contents", 12));
    free(bytes);
    remove_dir(dir);
}
END_TEST

START_TEST(rejected_member_leaves_the_writer_usable)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.npz", dir);
    const int64_t good[1] = {1}, negative[2] = {2, -3};
    const double one = 1;
    Error err;
    NpzWriter *w = npz_writer_open(path, 0, &err);
    ck_assert(npz_writer_add(w, "a", NPY_FLOAT64, 1, good, &one, &err) == 0);
    ck_assert_int_eq(npz_writer_add(w, "a", NPY_FLOAT64, 1, good, &one, &err), -1);
    ck_assert_msg(strstr(err.msg, "added twice"), "%s", err.msg);
    ck_assert_int_eq(npz_writer_add(w, "b", NPY_FLOAT64, 2, negative, &one, &err), -1);
    ck_assert_msg(strstr(err.msg, "member 'b'") && strstr(err.msg, "negative"), "%s", err.msg);
    ck_assert_int_eq(npz_writer_add(w, "", NPY_FLOAT64, 1, good, &one, &err), -1);
    ck_assert_int_eq(npz_writer_add(w, "c", NPY_FLOAT64, NPY_MAX_DIMS + 1, good, &one, &err), -1);
    /* None of those were written, so the file is still good. */
    ck_assert_msg(npz_writer_close(w, &err) == 0, "%s", err.msg);
    NpzFile npz = read_ok(path);
    ck_assert_int_eq(npz.count, 1);
    npz_free(&npz);
    remove_dir(dir);
}
END_TEST

START_TEST(writer_in_a_missing_directory_fails_with_the_path)
{
    Error err;
    NpzWriter *w = npz_writer_open("/nonexistent_dir_for_test/out.npz", 0, &err);
    ck_assert_ptr_null(w);
    ck_assert_msg(strstr(err.msg, "/nonexistent_dir_for_test/out.npz"), "%s", err.msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* atomic_file on its own                                              */

START_TEST(atomic_commit_publishes_and_abort_discards)
{
    char dir[64], path[128], names[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/table.csv", dir);
    Error err;
    AtomicFile af;
    FILE *f = atomic_open(&af, path, &err);
    ck_assert_ptr_nonnull(f);
    fputs("a,b\n1,2\n", f);
    ck_assert(access(path, F_OK) != 0); /* not visible before the commit */
    ck_assert_msg(atomic_commit(&af, &err) == 0, "%s", err.msg);
    size_t len;
    uint8_t *bytes = slurp(path, &len);
    ck_assert_uint_eq(len, 8);
    free(bytes);

    f = atomic_open(&af, path, &err);
    fputs("replacement", f);
    atomic_abort(&af);
    bytes = slurp(path, &len);
    ck_assert(len == 8 && !memcmp(bytes, "a,b\n1,2\n", 8));
    free(bytes);
    ck_assert_int_eq(count_entries(dir, names, sizeof names), 1);
    remove_dir(dir);
}
END_TEST

START_TEST(atomic_commit_reports_a_full_disk)
{
    /* /dev/full accepts the open but fails every write with ENOSPC; we
     * cannot create a temporary beside it, so stand the FILE in for one. */
    FILE *full = fopen("/dev/full", "w");
    if (!full) return; /* not on this system */
    char dir[64], path[128], names[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.bin", dir);
    Error err;
    AtomicFile af;
    ck_assert_ptr_nonnull(atomic_open(&af, path, &err));
    fclose(af.file);
    af.file = full;
    fputs("data that cannot be written", full);
    ck_assert_int_eq(atomic_commit(&af, &err), -1);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "cannot write"), "%s", err.msg);
    ck_assert_msg(count_entries(dir, names, sizeof names) == 0, "left behind: %s", names);
    remove_dir(dir);
}
END_TEST

Suite *npz_suite(void)
{
    Suite *s = suite_create("npz");
    TCase *numpy = tcase_create("numpy files");
    tcase_add_test(numpy, reads_np_savez_stored_members);
    tcase_add_test(numpy, reads_np_savez_compressed_members);
    tcase_add_test(numpy, reads_members_with_data_descriptors_written_to_a_stream);
    tcase_add_test(numpy, reads_zip64_directory_extras_and_end_record);
    tcase_add_test(numpy, finds_the_end_record_before_an_archive_comment);
    tcase_add_test(numpy, reads_every_dtype_with_numpys_values);
    tcase_add_test(numpy, converts_big_endian_to_native);
    tcase_add_test(numpy, converts_fortran_order_to_c_order);
    tcase_add_test(numpy, reads_zero_d_and_empty_arrays);
    tcase_add_test(numpy, reads_npy_header_versions_2_and_3_in_npz);
    tcase_add_test(numpy, reads_single_npy_files_of_versions_1_2_3);
    tcase_add_test(numpy, find_returns_null_for_a_missing_member);
    tcase_add_test(numpy, dtype_names_are_numpys);
    suite_add_tcase(s, numpy);

    TCase *convert = tcase_create("conversion");
    tcase_add_test(convert, float16_decodes_as_numpy_does);
    tcase_add_test(convert, every_integer_dtype_converts_exactly_to_int64);
    tcase_add_test(convert, int64_conversion_rejects_what_does_not_fit);
    tcase_add_test(convert, float_conversion_covers_every_dtype);
    suite_add_tcase(s, convert);

    TCase *hostile = tcase_create("hostile files");
    tcase_add_loop_test(hostile, hostile_file_is_rejected_naming_file_and_member, 0, HOSTILE_COUNT);
    tcase_add_test(hostile, missing_file_and_directory_are_errors);
    tcase_add_test(hostile, devices_and_pipes_are_not_read);
    tcase_add_test(hostile, a_huge_sparse_file_is_refused_without_reading_it);
    tcase_add_test(hostile, members_adding_up_past_the_memory_caps_are_refused);
    tcase_add_test(hostile, member_data_may_end_at_the_last_byte_of_the_file);
    tcase_add_test(hostile, npy_header_may_fill_its_member_exactly);
    tcase_add_test(hostile, truncated_npy_is_rejected);
    tcase_add_test(hostile, every_truncation_of_a_good_file_is_rejected);
    tcase_add_test(hostile, single_byte_corruptions_never_crash);
    suite_add_tcase(s, hostile);

    TCase *writer = tcase_create("writer");
    tcase_add_test(writer, written_files_read_back_identically);
    tcase_add_test(writer, writes_copies_of_the_fixtures_for_the_numpy_check);
    tcase_add_test(writer, npy_header_is_numpys_version_1_layout);
    tcase_add_test(writer, stored_member_layout_matches_the_zip_format);
    tcase_add_test(writer, same_arrays_give_byte_identical_files);
    tcase_add_test(writer, compressed_writing_shrinks_images);
    tcase_add_test(writer, abort_leaves_no_file_and_no_temporary);
    tcase_add_test(writer, close_leaves_only_the_final_file);
    tcase_add_test(writer, abort_keeps_an_existing_file_untouched);
    tcase_add_test(writer, rejected_member_leaves_the_writer_usable);
    tcase_add_test(writer, writer_in_a_missing_directory_fails_with_the_path);
    tcase_add_test(writer, atomic_commit_publishes_and_abort_discards);
    tcase_add_test(writer, atomic_commit_reports_a_full_disk);
    suite_add_tcase(s, writer);
    return s;
}
