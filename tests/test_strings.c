/* Text: UTF-8 encoding and decoding (base/utf8.c), checked against
 * byte sequences worked out by hand from the UTF-8 table, and numpy's
 * string arrays in .npz files (fixtures written by numpy,
 * tests/fixtures/make_string_fixtures.py) read through npy_string_element. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "npz.h"
#include "utf8.h"

#define FIXTURES "tests/fixtures/strings/"

/* ------------------------------------------------------------- UTF-8 */

/* code point -> bytes, from the table in base/utf8.h:
 *   U+0041  0 1000001                      -> 41
 *   U+00E9  00011 101001                   -> C3 A9
 *   U+20AC  0010 000010 101100             -> E2 82 AC
 *   U+1F600 000 011111 011000 000000       -> F0 9F 98 80
 *   U+10FFFF 100 001111 111111 111111      -> F4 8F BF BF */
static const struct {
    uint32_t code_point;
    const char *bytes;
} utf8_table[] = {
    {0x41, "\x41"},
    {0xE9, "\xC3\xA9"},
    {0x20AC, "\xE2\x82\xAC"},
    {0x1F600, "\xF0\x9F\x98\x80"},
    {0x10FFFF, "\xF4\x8F\xBF\xBF"},
};
#define UTF8_TABLE_SIZE ((int)(sizeof utf8_table / sizeof utf8_table[0]))

START_TEST(encoding_gives_the_bytes_of_the_table)
{
    for (int i = 0; i < UTF8_TABLE_SIZE; i++) {
        char out[4];
        int n = utf8_encode(utf8_table[i].code_point, out);
        ck_assert_int_eq(n, (int)strlen(utf8_table[i].bytes));
        ck_assert(!memcmp(out, utf8_table[i].bytes, (size_t)n));
    }
}
END_TEST

START_TEST(decoding_gives_the_code_points_of_the_table)
{
    for (int i = 0; i < UTF8_TABLE_SIZE; i++) {
        const char *bytes = utf8_table[i].bytes;
        uint32_t c = 0;
        ck_assert_int_eq(utf8_decode((const uint8_t *)bytes, strlen(bytes), &c), (int)strlen(bytes));
        ck_assert_uint_eq(c, utf8_table[i].code_point);
    }
}
END_TEST

START_TEST(surrogates_and_values_beyond_unicode_are_not_encoded)
{
    char out[4];
    ck_assert_int_eq(utf8_encode(0xD800, out), 0);
    ck_assert_int_eq(utf8_encode(0xDFFF, out), 0);
    ck_assert_int_eq(utf8_encode(0x110000, out), 0);
    ck_assert_int_eq(utf8_encode(0xD7FF, out), 3); /* the characters either side are fine */
    ck_assert_int_eq(utf8_encode(0xE000, out), 3);
}
END_TEST

START_TEST(malformed_sequences_are_not_decoded)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"\x80", 1, "a continuation byte first"},
        {"\xC3", 1, "cut short"},
        {"\xE2\x82", 2, "cut short"},
        {"\xC3\x41", 2, "no continuation byte"},
        {"\xC0\x80", 2, "overlong NUL"},
        {"\xE0\x80\xAF", 3, "overlong '/'"},
        {"\xF0\x8F\xBF\xBF", 4, "overlong U+FFFF"},
        {"\xED\xA0\x80", 3, "surrogate U+D800"},
        {"\xF4\x90\x80\x80", 4, "U+110000"},
        {"\xF8\x88\x80\x80\x80", 5, "five-byte form"},
        {"\xFF", 1, "0xFF"},
        {"", 0, "nothing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t c;
        ck_assert_msg(utf8_decode((const uint8_t *)bad[i].bytes, bad[i].len, &c) == 0,
                      "decoded: %s", bad[i].why);
    }
}
END_TEST

/* ------------------------------------------------- npz string arrays */

static NpzFile read_fixture(const char *name)
{
    NpzFile npz;
    Error err;
    ck_assert_msg(npz_read(name, &npz, &err) == 0, "%s (run tests from the repository root)",
                  err.msg);
    return npz;
}

static void assert_elements(const NpyArray *a, const char *const *want, size_t count)
{
    ck_assert_uint_eq(a->count, count);
    for (size_t i = 0; i < count; i++) {
        char text[64];
        Error err;
        ck_assert_msg(npy_string_element(a, i, text, sizeof text, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(text, want[i]);
    }
}

/* np.array(["Happy", "Überraschung", "😀 smile", ""]) in UTF-8 */
static const char *const unicode_want[] = {"Happy", "\xC3\x9C" "berraschung",
                                           "\xF0\x9F\x98\x80 smile", ""};

/* Where utf8_find_unprintable stops, by hand: the offset of the first
 * control character or non-UTF-8 byte, and what it found there. */
static void assert_unprintable(const char *text, size_t len, const char *allowed, long at,
                               uint32_t found)
{
    uint32_t code = 0;
    long got = utf8_find_unprintable((const uint8_t *)text, len, allowed, &code);
    ck_assert_msg(got == at, "'%s': stopped at %ld, expected %ld", text, got, at);
    if (at >= 0) ck_assert_msg(code == found, "'%s': found U+%04X", text, (unsigned)code);
}

START_TEST(control_characters_and_bad_bytes_are_found_where_they_are)
{
    assert_unprintable("plain text, 3x3", 15, "", -1, 0);
    assert_unprintable("d\xC3\xB3s \xF0\x9F\x90\xA6", 9, "", -1, 0); /* dos, a bird */
    assert_unprintable("a\tb\r\n", 5, "\t\r\n", -1, 0);
    assert_unprintable("a\tb", 3, "", 1, 0x09);           /* allowed only when named */
    assert_unprintable("ok\x1B[31m", 7, "\t", 2, 0x1B);   /* ESC: an escape sequence */
    assert_unprintable("x\x7F", 2, "", 1, 0x7F);           /* DEL */
    assert_unprintable("xy\xC2\x9B", 4, "", 2, 0x9B);      /* C1 CSI, in UTF-8 */
    assert_unprintable("ok\xFF", 3, "", 2, UTF8_NOT_UTF8);
    assert_unprintable("ok\xC3", 3, "", 2, UTF8_NOT_UTF8); /* cut short */
    assert_unprintable("a\0b", 3, "\t", 1, 0x00);         /* NUL, never allowed */
}
END_TEST

/* Invisible format characters are found like control characters: the
 * bidirectional controls (a right-to-left override shows "abc" as "cba"
 * and reorders what follows it) and the zero-width ones (two names that
 * print alike). A visible space that is not ' ' is text. U+FEFF is a byte
 * order mark only as the first character of a file's text (allowed holds
 * '\n'); anywhere else, or in a name, it is a zero-width character. */
START_TEST(invisible_characters_are_found_where_they_are)
{
    assert_unprintable("ab\xE2\x80\xAE" "cba", 8, "", 2, 0x202E);   /* right-to-left override */
    assert_unprintable("a\xE2\x80\xAA", 4, "\t\n", 1, 0x202A);      /* LR embedding */
    assert_unprintable("\xE2\x81\xA6x\xE2\x81\xA9", 7, "", 0, 0x2066); /* LR isolate */
    assert_unprintable("x\xE2\x81\xA9", 4, "", 1, 0x2069);          /* pop isolate */
    assert_unprintable("x\xE2\x80\x8F", 4, "", 1, 0x200F);          /* RL mark */
    assert_unprintable("x\xD8\x9C", 3, "", 1, 0x061C);              /* Arabic letter mark */
    assert_unprintable("Hap\xE2\x80\x8Bpy", 8, "", 3, 0x200B);     /* zero-width space */
    /* the joiners are allowed: Persian needs the non-joiner (nim-fasele, in
     * "khosh-hal", happy), emoji sequences the joiner (man, ZWJ, laptop) */
    assert_unprintable("\xD8\xAE\xD9\x88\xD8\xB4\xE2\x80\x8C\xD8\xAD\xD8\xA7\xD9\x84", 15, "",
                       -1, 0);
    assert_unprintable("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB", 11, "", -1, 0);
    assert_unprintable("a\xE2\x81\xA0" "b", 5, "", 1, 0x2060);      /* word joiner */
    assert_unprintable("a\xEF\xBB\xBF" "b", 5, "\t\n", 1, 0xFEFF);  /* not at the start */
    assert_unprintable("\xEF\xBB\xBF" "Happy", 8, "", 0, 0xFEFF);    /* a name: refused */
    assert_unprintable("\xEF\xBB\xBF" "a,b\n", 7, "\t\r\n", -1, 0); /* a file's BOM */
    assert_unprintable("\xEF\xBB\xBF\xEF\xBB\xBF" "a", 7, "\n", 3, 0xFEFF); /* a second */
    assert_unprintable("a\xC2\xA0" "b \xE2\x80\xAF" "c\xE3\x80\x80", 12, "", -1, 0); /* spaces */
    assert_unprintable("\xE2\x80\x8A\xE2\x80\x90", 6, "", -1, 0); /* hair space, hyphen */
}
END_TEST

/* Names shown on a terminal: what utf8_find_unprintable stops at becomes
 * '?', one per character (one per byte that is not UTF-8); letters stay */
static void assert_printable(const char *text, int keep_newlines, const char *shown)
{
    char copy[64];
    snprintf(copy, sizeof copy, "%s", text);
    ck_assert_str_eq(utf8_make_printable(copy, keep_newlines), shown);
}

START_TEST(unprintable_characters_are_shown_as_question_marks)
{
    assert_printable("face.pgm", 0, "face.pgm");
    assert_printable("d\xC3\xB3s\tx", 0, "d\xC3\xB3s\tx");          /* letters and tabs stay */
    assert_printable("e\x1B[31mred", 0, "e?[31mred");             /* ESC */
    assert_printable("a\xC2\x9B" "2J", 0, "a?2J");                  /* C1 CSI: two bytes, one ? */
    assert_printable("ab\xE2\x80\xAE" "cba", 0, "ab?cba");          /* right-to-left override */
    assert_printable("lat\xE9n\xFF", 0, "lat?n?");                 /* Latin-1, not UTF-8 */
    assert_printable("x.pgm\nfake: Happy", 0, "x.pgm?fake: Happy");
    assert_printable("line one\nline two\x07", 1, "line one\nline two?");
    assert_printable("\xEF\xBB\xBF" "a\n\xEF\xBB\xBF", 1, "?a\n?"); /* no byte order mark here */
    assert_printable("", 0, "");
}
END_TEST

START_TEST(unicode_arrays_read_as_utf8)
{
    NpzFile npz = read_fixture(FIXTURES "good.npz");
    const NpyArray *a = npz_find(&npz, "unicode");
    ck_assert_int_eq(a->dtype, NPY_UNICODE);
    ck_assert_uint_eq(a->string_length, 12);
    ck_assert_uint_eq(npy_item_size(a), 48); /* 12 UCS-4 code points */
    ck_assert_uint_eq(npy_array_bytes(a), 4 * 48);
    assert_elements(a, unicode_want, 4);
    npz_free(&npz);
}
END_TEST

START_TEST(big_endian_unicode_reads_the_same)
{
    NpzFile npz = read_fixture(FIXTURES "good.npz");
    assert_elements(npz_find(&npz, "unicode_be"), unicode_want, 4);
    npz_free(&npz);
}
END_TEST

START_TEST(byte_string_arrays_read_as_utf8)
{
    NpzFile npz = read_fixture(FIXTURES "good.npz");
    const NpyArray *a = npz_find(&npz, "bytes");
    ck_assert_int_eq(a->dtype, NPY_BYTES);
    ck_assert_uint_eq(a->string_length, 5);
    ck_assert_uint_eq(npy_item_size(a), 5);
    static const char *const want[] = {"Angry", "d\xC3\xB6g", ""};
    assert_elements(a, want, 3);
    npz_free(&npz);
}
END_TEST

START_TEST(fortran_order_string_arrays_come_out_in_c_order)
{
    NpzFile npz = read_fixture(FIXTURES "good.npz");
    const NpyArray *a = npz_find(&npz, "grid");
    ck_assert_int_eq(a->ndim, 2);
    static const char *const want[] = {"a", "bb", "ccc", "dd", "e", "fff"};
    assert_elements(a, want, 6);
    npz_free(&npz);
}
END_TEST

START_TEST(an_element_must_fit_the_buffer_with_its_nul)
{
    NpzFile npz = read_fixture(FIXTURES "good.npz");
    const NpyArray *a = npz_find(&npz, "unicode");
    char text[16];
    Error err;
    ck_assert_int_eq(npy_string_element(a, 0, text, 6, &err), 0); /* "Happy" + NUL */
    ck_assert_str_eq(text, "Happy");
    ck_assert_int_eq(npy_string_element(a, 0, text, 5, &err), -1);
    ck_assert_msg(strstr(err.msg, "element 0 is longer than 4 bytes"), "%s", err.msg);
    /* "😀 smile": 7 code points, 10 bytes of UTF-8 */
    ck_assert_int_eq(npy_string_element(a, 2, text, 10, &err), -1);
    ck_assert_int_eq(npy_string_element(a, 2, text, 11, &err), 0);
    ck_assert_uint_eq(strlen(text), 10);
    ck_assert_int_eq(npy_string_element(a, 4, text, sizeof text, &err), -1);
    ck_assert_msg(strstr(err.msg, "no element 4"), "%s", err.msg);
    npz_free(&npz);
}
END_TEST

START_TEST(numbers_are_not_strings_and_strings_not_numbers)
{
    NpzFile npz = read_fixture(FIXTURES "good.npz");
    char text[16];
    Error err;
    ck_assert_int_eq(npy_string_element(npz_find(&npz, "numbers"), 0, text, sizeof text, &err), -1);
    ck_assert_msg(strstr(err.msg, "array 'numbers' is int64, not strings"), "%s", err.msg);

    const NpyArray *names = npz_find(&npz, "bytes");
    int64_t as_int[3];
    double as_double[3];
    float as_float[3];
    ck_assert_int_eq(npy_to_int64(names, as_int, &err), -1);
    ck_assert_msg(strstr(err.msg, "array 'bytes' holds strings"), "%s", err.msg);
    npy_to_float64(names, as_double);
    npy_to_float32(names, as_float);
    for (int i = 0; i < 3; i++) ck_assert(isnan(as_double[i]) && isnan(as_float[i]));
    npz_free(&npz);
}
END_TEST

START_TEST(elements_that_are_not_text_are_refused)
{
    NpzFile npz = read_fixture(FIXTURES "bad.npz");
    static const struct {
        const char *member;
        const char *problem;
    } cases[] = {
        {"nul_inside", "element 0 holds a NUL character inside"},
        {"surrogate", "0xD800, which is not a Unicode character"},
        {"beyond", "0x110000, which is not a Unicode character"},
        {"bad_utf8", "element 0 is not valid UTF-8 (byte 2)"},
        {"long", "element 0 is longer than 63 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const NpyArray *a = npz_find(&npz, cases[i].member);
        ck_assert_ptr_nonnull(a);
        char text[64];
        Error err;
        ck_assert_msg(npy_string_element(a, 0, text, sizeof text, &err) == -1, "%s accepted",
                      cases[i].member);
        ck_assert_msg(strstr(err.msg, cases[i].member) && strstr(err.msg, cases[i].problem),
                      "expected '%s' and '%s' in: %s", cases[i].member, cases[i].problem, err.msg);
    }
    /* the long one fits a buffer of 71 */
    char wide[71];
    Error err;
    ck_assert_int_eq(npy_string_element(npz_find(&npz, "long"), 0, wide, sizeof wide, &err), 0);
    ck_assert_uint_eq(strlen(wide), 70);
    npz_free(&npz);
}
END_TEST

START_TEST(string_data_shorter_than_its_header_says_is_refused)
{
    NpzFile npz;
    Error err;
    ck_assert_int_eq(npz_read(FIXTURES "short_data.npz", &npz, &err), -1);
    ck_assert_msg(strstr(err.msg, "member 'names.npy'") &&
                      strstr(err.msg, "needs 40 bytes of data, the member has 20"),
                  "%s", err.msg);
}
END_TEST

START_TEST(string_arrays_cannot_be_written)
{
    const char *path = "build/strings_not_written.npz";
    Error err;
    NpzWriter *w = npz_writer_open(path, 0, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    int64_t shape[1] = {2};
    uint32_t chars[2] = {'a', 'b'};
    ck_assert_int_eq(npz_writer_add(w, "names", NPY_UNICODE, 1, shape, chars, &err), -1);
    ck_assert_msg(strstr(err.msg, "can be read but not written"), "%s", err.msg);
    /* refused before writing anything: the writer is still usable */
    int64_t values[2] = {1, 2};
    ck_assert_int_eq(npz_writer_add(w, "values", NPY_INT64, 1, shape, values, &err), 0);
    ck_assert_int_eq(npz_writer_close(w, &err), 0);
    NpzFile npz = read_fixture(path);
    ck_assert_int_eq(npz.count, 1);
    npz_free(&npz);
    remove(path);
}
END_TEST

Suite *strings_suite(void)
{
    Suite *s = suite_create("strings");
    TCase *utf8 = tcase_create("utf8");
    tcase_add_test(utf8, encoding_gives_the_bytes_of_the_table);
    tcase_add_test(utf8, decoding_gives_the_code_points_of_the_table);
    tcase_add_test(utf8, surrogates_and_values_beyond_unicode_are_not_encoded);
    tcase_add_test(utf8, malformed_sequences_are_not_decoded);
    tcase_add_test(utf8, control_characters_and_bad_bytes_are_found_where_they_are);
    tcase_add_test(utf8, invisible_characters_are_found_where_they_are);
    tcase_add_test(utf8, unprintable_characters_are_shown_as_question_marks);
    suite_add_tcase(s, utf8);
    TCase *arrays = tcase_create("npz string arrays");
    tcase_add_test(arrays, unicode_arrays_read_as_utf8);
    tcase_add_test(arrays, big_endian_unicode_reads_the_same);
    tcase_add_test(arrays, byte_string_arrays_read_as_utf8);
    tcase_add_test(arrays, fortran_order_string_arrays_come_out_in_c_order);
    tcase_add_test(arrays, an_element_must_fit_the_buffer_with_its_nul);
    tcase_add_test(arrays, numbers_are_not_strings_and_strings_not_numbers);
    tcase_add_test(arrays, elements_that_are_not_text_are_refused);
    tcase_add_test(arrays, string_data_shorter_than_its_header_says_is_refused);
    tcase_add_test(arrays, string_arrays_cannot_be_written);
    suite_add_tcase(s, arrays);
    return s;
}
