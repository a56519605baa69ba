/* Reading PGM/PPM faces: every variant, the gray conversion, the resize
 * to 48x48 and to other sizes and channel counts, and hostile files
 * refused with a message naming them.
 *
 * Most images are built here as bytes and read through fmemopen, so each
 * test shows its input; face.pgm and face_ascii.ppm are written by numpy
 * (tests/fixtures/checkpoints/make_checkpoints.py) from image 0 of
 * tiny_dataset.npz. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classes.h"
#include "image_io.h"
#include "loader.h"

#define FIXTURES "tests/fixtures/checkpoints/"
#define LABEL "test.pnm"

/* A growable byte buffer to build an image file in. */
typedef struct {
    char *bytes;
    size_t length, capacity;
} Buffer;

static void put(Buffer *b, const void *data, size_t length)
{
    if (length == 0) return;
    if (b->length + length > b->capacity) {
        b->capacity = 2 * (b->length + length) + 64;
        b->bytes = xrealloc(b->bytes, b->capacity);
    }
    memcpy(b->bytes + b->length, data, length);
    b->length += length;
}

static void put_text(Buffer *b, const char *text)
{
    put(b, text, strlen(text));
}

static void put_byte(Buffer *b, int value)
{
    unsigned char c = (unsigned char)value;
    put(b, &c, 1);
}

static void put_16(Buffer *b, int value) /* big-endian, as Netpbm stores it */
{
    put_byte(b, value >> 8);
    put_byte(b, value & 0xff);
}

/* Reads the buffer as an image file; returns image_read_gray48's status. */
static int read_buffer(const Buffer *b, uint8_t *out, Error *err)
{
    FILE *f = fmemopen(b->bytes, b->length ? b->length : 1, "rb");
    ck_assert_ptr_nonnull(f);
    if (b->length == 0) getc(f); /* fmemopen needs a size >= 1: consume it */
    int status = image_read_gray48_stream(f, LABEL, out, err);
    fclose(f);
    return status;
}

/* The same, asking for an image of (channels, height, width). */
static int read_buffer_as(const Buffer *b, int channels, int height, int width, uint8_t *out,
                          Error *err)
{
    FILE *f = fmemopen(b->bytes, b->length, "rb");
    ck_assert_ptr_nonnull(f);
    int status = image_read_stream(f, LABEL, channels, height, width, out, err);
    fclose(f);
    return status;
}

/* A 48x48 gray pattern with every level 0..255 present. */
static int pattern(int y, int x)
{
    return (y * 48 + x * 7) % 256;
}

static void assert_pattern(const uint8_t *out)
{
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            ck_assert_msg(out[y * 48 + x] == pattern(y, x), "pixel (%d, %d): %d, want %d", y, x,
                          out[y * 48 + x], pattern(y, x));
}

START_TEST(binary_pgm_p5_reads_unchanged)
{
    Buffer b = {0};
    put_text(&b, "P5\n# comments may sit anywhere in the header\n48# even right after a number\n48\n255\n");
    for (int i = 0; i < IMAGE_PIXELS; i++) put_byte(&b, pattern(i / 48, i % 48));
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    assert_pattern(out);
    free(b.bytes);
}
END_TEST

START_TEST(ascii_pgm_p2_with_comments_reads_unchanged)
{
    Buffer b = {0};
    put_text(&b, "P2\n# a comment after the magic\n48 # the width\n# a line\n48\n255\n");
    for (int i = 0; i < IMAGE_PIXELS; i++) {
        char number[8];
        snprintf(number, sizeof number, "%d%c", pattern(i / 48, i % 48), i % 48 == 47 ? '\n' : ' ');
        put_text(&b, number);
    }
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    assert_pattern(out);
    free(b.bytes);
}
END_TEST

/* Five colours and their BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B,
 * rounded to the nearest level:
 *   (200, 100,  50): 59.8 + 58.7 + 5.7      = 124.2   -> 124
 *   ( 10, 250,  30): 2.99 + 146.75 + 3.42   = 153.16  -> 153
 *   (255,   0,   0): 76.245                 -> 76
 *   (  0, 255,   0): 149.685                -> 150
 *   (  0,   0, 255): 29.07                  -> 29
 * Row y of the test images has colour y % 5. */
static const int colours[5][3] = {{200, 100, 50}, {10, 250, 30}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
static const int lumas[5] = {124, 153, 76, 150, 29};

static void assert_luma_rows(const uint8_t *out)
{
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            ck_assert_msg(out[y * 48 + x] == lumas[y % 5], "pixel (%d, %d): %d, want %d", y, x,
                          out[y * 48 + x], lumas[y % 5]);
}

START_TEST(ascii_ppm_p3_becomes_bt601_gray)
{
    Buffer b = {0};
    put_text(&b, "P3 48 48 255\n");
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++) {
            char triple[16];
            snprintf(triple, sizeof triple, "%d %d %d\n", colours[y % 5][0], colours[y % 5][1],
                     colours[y % 5][2]);
            put_text(&b, triple);
        }
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    assert_luma_rows(out);
    free(b.bytes);
}
END_TEST

START_TEST(binary_ppm_p6_becomes_bt601_gray)
{
    Buffer b = {0};
    put_text(&b, "P6\n48 48\n255\n");
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            for (int c = 0; c < 3; c++) put_byte(&b, colours[y % 5][c]);
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    assert_luma_rows(out);
    free(b.bytes);
}
END_TEST

/* 16-bit samples are big-endian; v * 257 at maxval 65535 is v at 255. */
START_TEST(sixteen_bit_ppm_is_big_endian_and_rescaled)
{
    Buffer b = {0};
    put_text(&b, "P6\n48 48\n65535\n");
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++)
            for (int c = 0; c < 3; c++) put_16(&b, 257 * colours[y % 5][c]);
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    assert_luma_rows(out);
    free(b.bytes);
}
END_TEST

/* level = v * 255 / maxval: at maxval 1000, 600 -> 153, 3 -> 0.765 -> 1,
 * 1 -> 0.255 -> 0, 1000 -> 255 (two bytes per sample: maxval >= 256). At
 * maxval 15 (one byte): 15 -> 255, 7 -> 119, 1 -> 17. */
START_TEST(other_maxvals_are_rescaled_to_255)
{
    const int values_1000[4] = {600, 3, 1, 1000}, want_1000[4] = {153, 1, 0, 255};
    const int values_15[4] = {15, 7, 1, 0}, want_15[4] = {255, 119, 17, 0};
    for (int wide = 0; wide < 2; wide++) {
        Buffer b = {0};
        put_text(&b, wide ? "P5 48 48 1000\n" : "P5 48 48 15\n");
        const int *values = wide ? values_1000 : values_15, *want = wide ? want_1000 : want_15;
        for (int i = 0; i < IMAGE_PIXELS; i++) {
            if (wide) put_16(&b, values[i % 4]);
            else put_byte(&b, values[i % 4]);
        }
        uint8_t out[IMAGE_PIXELS];
        Error err;
        ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
        for (int i = 0; i < IMAGE_PIXELS; i++)
            ck_assert_msg(out[i] == want[i % 4], "maxval %s, pixel %d: %d, want %d",
                          wide ? "1000" : "15", i, out[i], want[i % 4]);
        free(b.bytes);
    }
}
END_TEST

/* A w x h P5 image of one level, resized to 48x48. */
static void assert_constant_resize(int width, int height, int level)
{
    Buffer b = {0};
    char header[64];
    snprintf(header, sizeof header, "P5 %d %d 255\n", width, height);
    put_text(&b, header);
    for (long i = 0; i < (long)width * height; i++) put_byte(&b, level);
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    for (int i = 0; i < IMAGE_PIXELS; i++)
        ck_assert_msg(out[i] == level, "%dx%d: pixel %d is %d, want %d", width, height, i, out[i], level);
    free(b.bytes);
}

START_TEST(a_constant_image_stays_constant_at_any_size)
{
    assert_constant_resize(100, 37, 77);
    assert_constant_resize(20, 20, 200);   /* enlarged */
    assert_constant_resize(1, 1, 255);
    assert_constant_resize(333, 61, 13);   /* no whole scale factor */
    assert_constant_resize(49, 47, 1);
}
END_TEST

/* 96x96 -> 48x48: each output pixel is the mean of its 2x2 block. Block
 * (i, j) holds base + {0, 4; 8, 12}, base = (5i + 3j) % 240, so its mean
 * is base + 6 (sampling one pixel per block would give base + 0, 4, 8 or 12). */
START_TEST(halving_averages_each_2x2_block)
{
    Buffer b = {0};
    put_text(&b, "P5 96 96 255\n");
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < 96; x++) {
            int base = (5 * (y / 2) + 3 * (x / 2)) % 240;
            put_byte(&b, base + 8 * (y % 2) + 4 * (x % 2));
        }
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 48; i++)
        for (int j = 0; j < 48; j++)
            ck_assert_int_eq(out[i * 48 + j], (5 * i + 3 * j) % 240 + 6);
    free(b.bytes);
}
END_TEST

/* 72 -> 48 across (scale 1.5), 48 rows kept. Columns alternate 0, 90.
 * Output column o covers input [1.5 o, 1.5 o + 1.5):
 *   o = 0: (1 * 0 + 0.5 * 90) / 1.5 = 30     o = 1: (0.5 * 90 + 1 * 0) / 1.5 = 30
 *   o = 2: (1 * 90 + 0.5 * 0) / 1.5 = 60     o = 3: (0.5 * 0 + 1 * 90) / 1.5 = 60
 * and so on with period 4: 30, 30, 60, 60. */
START_TEST(a_fractional_scale_weights_pixels_by_the_area_covered)
{
    Buffer b = {0};
    put_text(&b, "P5 72 48 255\n");
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 72; x++) put_byte(&b, x % 2 ? 90 : 0);
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_msg(read_buffer(&b, out, &err) == 0, "%s", err.msg);
    const int want[4] = {30, 30, 60, 60};
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 48; x++) ck_assert_int_eq(out[y * 48 + x], want[x % 4]);
    free(b.bytes);
}
END_TEST

/* The 3x2 image (P2)    30  60  90
 *                        90 120 150
 * resized to other sizes, each output pixel worked out by hand.
 * To 1 row, 2 columns: across, scale 1.5: column 0 covers [0, 1.5):
 * (30 + 0.5 * 60) / 1.5 = 40, column 1 covers [1.5, 3):
 * (0.5 * 60 + 90) / 1.5 = 80; the second row gives 100 and 140; down,
 * scale 2, both rows count fully: (40 + 100) / 2 = 70, (80 + 140) / 2 = 110. */
static const char small_image[] = "P2 3 2 255\n30 60 90\n90 120 150\n";

START_TEST(resizing_to_another_size_weighs_the_areas_covered)
{
    Buffer b = {0};
    put_text(&b, small_image);
    uint8_t out[24];
    Error err;
    ck_assert_msg(read_buffer_as(&b, 1, 1, 2, out, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(out[0], 70);
    ck_assert_int_eq(out[1], 110);
    /* 3 rows from 2 (scale 2/3): row 1 covers [2/3, 4/3), a third of
     * each input row: the mean of the two, (40 + 100) / 2, (80 + 140) / 2. */
    ck_assert_msg(read_buffer_as(&b, 1, 3, 2, out, &err) == 0, "%s", err.msg);
    const uint8_t want_3x2[6] = {40, 80, 70, 110, 100, 140};
    ck_assert(!memcmp(out, want_3x2, 6));
    /* Doubling both ways repeats every pixel in a 2x2 block. */
    ck_assert_msg(read_buffer_as(&b, 1, 4, 6, out, &err) == 0, "%s", err.msg);
    const uint8_t want_4x6[24] = {30, 30, 60, 60, 90, 90,       30, 30, 60, 60, 90, 90,
                                  90, 90, 120, 120, 150, 150,   90, 90, 120, 120, 150, 150};
    ck_assert(!memcmp(out, want_4x6, 24));
    free(b.bytes);
}
END_TEST

START_TEST(gray_asked_in_three_channels_is_repeated)
{
    Buffer b = {0};
    put_text(&b, small_image);
    uint8_t out[6];
    Error err;
    ck_assert_msg(read_buffer_as(&b, 3, 1, 2, out, &err) == 0, "%s", err.msg);
    const uint8_t want[6] = {70, 110, 70, 110, 70, 110}; /* (C, H, W) = (3, 1, 2) */
    ck_assert(!memcmp(out, want, 6));
    free(b.bytes);
}
END_TEST

/* Two colour pixels (200, 100, 50) and (10, 250, 30) in one row, read as
 * one pixel: in colour each channel is averaged, (105, 175, 40); in gray
 * the lumas 124.2 and 153.16 are averaged, 138.68 -> 139. */
START_TEST(colour_keeps_its_channels_or_becomes_luma)
{
    Buffer b = {0};
    put_text(&b, "P3 2 1 255\n200 100 50  10 250 30\n");
    uint8_t out[3];
    Error err;
    ck_assert_msg(read_buffer_as(&b, 3, 1, 1, out, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(out[0], 105);
    ck_assert_int_eq(out[1], 175);
    ck_assert_int_eq(out[2], 40);
    ck_assert_msg(read_buffer_as(&b, 1, 1, 1, out, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(out[0], 139);
    free(b.bytes);
}
END_TEST

START_TEST(impossible_output_sizes_are_refused)
{
    Buffer b = {0};
    put_text(&b, small_image);
    uint8_t out[4];
    Error err;
    ck_assert_int_eq(read_buffer_as(&b, 2, 1, 2, out, &err), -1);
    ck_assert_msg(strstr(err.msg, LABEL ": cannot make an image of 2 channels"), "%s", err.msg);
    ck_assert_int_eq(read_buffer_as(&b, 1, 0, 2, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "cannot resize to 0x2"), "%s", err.msg);
    ck_assert_int_eq(read_buffer_as(&b, 1, 1, 1025, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "1 to 1024"), "%s", err.msg);
    ck_assert_int_eq(image_read(FIXTURES "face.pgm", 3, 2000, 2, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "face.pgm: cannot resize to 2000x2"), "%s", err.msg);
    free(b.bytes);
}
END_TEST

/* numpy wrote image 0 of tiny_dataset.npz as face.pgm (P5) and
 * face_ascii.ppm (P3, R = G = B): both read back as that image. */
START_TEST(numpy_written_files_read_as_the_dataset_image)
{
    Error err;
    Dataset data;
    ck_assert_msg(dataset_load(FIXTURES "tiny_dataset.npz", "test", &data, &err) == 0, "%s", err.msg);
    uint8_t out[IMAGE_PIXELS];
    ck_assert_msg(image_read_gray48(FIXTURES "face.pgm", out, &err) == 0, "%s", err.msg);
    ck_assert(!memcmp(out, data.images, IMAGE_PIXELS));
    ck_assert_msg(image_read_gray48(FIXTURES "face_ascii.ppm", out, &err) == 0, "%s", err.msg);
    ck_assert(!memcmp(out, data.images, IMAGE_PIXELS));
    dataset_free(&data);
}
END_TEST

START_TEST(the_pgm_writer_round_trips)
{
    char dir[] = "/tmp/test_image_io.XXXXXX", path[64];
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/face.pgm", dir);
    uint8_t image[IMAGE_PIXELS], back[IMAGE_PIXELS];
    for (int i = 0; i < IMAGE_PIXELS; i++) image[i] = (uint8_t)pattern(i / 48, i % 48);
    Error err;
    ck_assert_msg(image_write_pgm(path, image, 48, 48, &err) == 0, "%s", err.msg);
    ck_assert_msg(image_read_gray48(path, back, &err) == 0, "%s", err.msg);
    ck_assert(!memcmp(image, back, IMAGE_PIXELS));

    /* the exact bytes of a small one: header, then the rows */
    const uint8_t small[6] = {0, 1, 2, 253, 254, 255};
    ck_assert_msg(image_write_pgm(path, small, 3, 2, &err) == 0, "%s", err.msg);
    FILE *f = fopen(path, "rb");
    char bytes[32];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    ck_assert_uint_eq(n, 11 + 6);
    ck_assert(!memcmp(bytes, "P5\n3 2\n255\n", 11));
    ck_assert(!memcmp(bytes + 11, small, 6));
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Hostile files: each is refused with a message naming it and the fault. */
START_TEST(hostile_files_are_refused_with_a_clear_message)
{
    static const struct {
        const char *header;   /* the file starts with this text */
        int raster_bytes;     /* then this many bytes of value raster_value */
        int raster_value;
        const char *message;
    } cases[] = {
        {"", 0, 0, "the file is empty"},
        {"P7\n48 48\n255\n", 0, 0, "not a PGM or PPM image"},
        {"GIF89a", 0, 0, "not a PGM or PPM image"},
        {"P4\n48 48\n", 0, 0, "a PBM bitmap (P4) is not supported"},
        {"P5\n0 48\n255\n", 0, 0, "the width is 0"},
        {"P5\n48 0\n255\n", 0, 0, "the height is 0"},
        {"P5\n-4 48\n255\n", 0, 0, "the width should be a whole number from 1 to 65536, found '-'"},
        {"P5\n100000 48\n255\n", 0, 0, "the width is larger than 65536"},
        {"P5\n99999999999999999999999999 48\n255\n", 0, 0, "the width is larger than 65536"},
        {"P5\n65536 65536\n255\n", 0, 0, "65536x65536 is more than 268435456 pixels"},
        {"P5\n48 48\n0\n", 0, 0, "the maxval is 0"},
        {"P5\n48 48\n70000\n", 0, 0, "the maxval is larger than 65535"},
        {"P5\n48", 0, 0, "the file ends in the header, after the width"},
        {"P5\n48 48", 0, 0, "the file ends in the header, after the height"},
        {"P5 48 48 x", 0, 0, "the maxval should be a whole number"},
        {"P5 48 48 255#", 0, 0, "unexpected character '#' after the maxval"},
        {"P5\n48 48\n255\n", 100, 7, "truncated: row 3 of 48 is incomplete"},
        {"P6\n48 48\n255\n", 3 * 48 * 48 - 1, 7, "truncated: row 48 of 48 is incomplete"},
        {"P5\n48 48\n100\n", 48 * 48, 200, "row 1, column 1: value 200 is above maxval 100"},
        {"P2\n2 2\n255\n1 2 300 4\n", 0, 0, "row 2, column 1: a value above maxval 255"},
        {"P2\n2 2\n255\n1 2 3\n", 0, 0, "the file ends at row 2, column 2 of a 2x2 image"},
        {"P3\n2 2\n255\n1 2 3 4 5 6 abc\n", 0, 0, "row 2, column 1: expected a number, found 'a'"},
        {"P2\n2 2\n255\n1 -2 3 4\n", 0, 0, "row 1, column 2: expected a number, found '-'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Buffer b = {0};
        put_text(&b, cases[i].header);
        for (int k = 0; k < cases[i].raster_bytes; k++) put_byte(&b, cases[i].raster_value);
        uint8_t out[IMAGE_PIXELS];
        Error err = {{0}};
        ck_assert_int_eq(read_buffer(&b, out, &err), -1);
        ck_assert_msg(!strncmp(err.msg, LABEL ": ", strlen(LABEL) + 2), "case %zu: '%s' does not name the file",
                      i, err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].message), "case %zu: got '%s', want '%s'", i,
                      err.msg, cases[i].message);
        free(b.bytes);
    }
}
END_TEST

/* A file holds one image and ends with it. Bytes after the raster (a
 * second image, as netpbm may put in one file, or a damaged file) used to
 * be ignored. After a binary raster nothing may follow, not even a
 * newline: one whitespace too many after the header shifts the raster by a
 * byte and leaves one over. After a text raster, whitespace and comments
 * may follow, but no more samples. */
START_TEST(bytes_after_the_image_are_refused)
{
    static const struct {
        const char *header;   /* the file starts with this text */
        int raster_bytes;     /* then this many bytes of 7 */
        const char *trailer;  /* then this text */
        int trailer_zeros;    /* then this many zero bytes */
        const char *message;
    } cases[] = {
        {"P5\n48 48\n255\n", 48 * 48, "", 37,
         "37 bytes after the 48x48 image (a second image, or a damaged file)"},
        {"P5\n48 48\n255\n", 48 * 48, "\n", 0, "1 byte after the 48x48 image"},
        {"P5\n48 48\n255\n", 48 * 48, "P5\n1 1\n255\n\x07", 0, "12 bytes after the 48x48 image"},
        {"P5\n48 48\n255\n\n", 48 * 48, "", 0, "1 byte after the 48x48 image"}, /* the shift */
        {"P6\n2 1\n255\n", 2 * 3, " ", 0, "1 byte after the 2x1 image"},
        {"P5\n2 1\n65535\n", 2 * 2, "", 1, "1 byte after the 2x1 image"}, /* half a sample */
        {"P2\n2 2\n255\n1 2\n3 4\n5\n", 0, "", 0, "3 bytes after the 2x2 image"},
        {"P2 2 2 255\n1 2 3 4\n", 0, "P2 2 2 255\n1 2 3 4\n", 0, "20 bytes after the 2x2 image"},
        {"P3 1 1 255\n1 2 3\n", 0, "# a comment, then\n x", 0, "21 bytes after the 1x1 image"},
        {"P2 1 1 255\n9", 0, "", 1, "1 byte after the 1x1 image"}, /* a NUL is not a space */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Buffer b = {0};
        put_text(&b, cases[i].header);
        for (int k = 0; k < cases[i].raster_bytes; k++) put_byte(&b, 7);
        put_text(&b, cases[i].trailer);
        for (int k = 0; k < cases[i].trailer_zeros; k++) put_byte(&b, 0);
        uint8_t out[IMAGE_PIXELS];
        Error err = {{0}};
        ck_assert_msg(read_buffer(&b, out, &err) == -1, "case %zu was read", i);
        ck_assert_msg(!strncmp(err.msg, LABEL ": ", strlen(LABEL) + 2) &&
                      strstr(err.msg, cases[i].message), "case %zu: got '%s', want '%s'", i,
                      err.msg, cases[i].message);
        free(b.bytes);
    }
}
END_TEST

/* What a text image may end with: the newline every text file ends in,
 * blank lines, spaces, and comments. */
START_TEST(a_text_image_may_end_in_whitespace_and_comments)
{
    static const char *const files[] = {
        "P2 2 1 255\n30 60",             /* no newline at all */
        "P2 2 1 255\n30 60\n",
        "P2 2 1 255\n30 60 \r\n\n\t \n",
        "P2 2 1 255\n30 60\n# written by hand\n",
        "P2 2 1 255\n30 60 # no newline after the comment",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        Buffer b = {0};
        put_text(&b, files[i]);
        uint8_t out[2];
        Error err;
        ck_assert_msg(read_buffer_as(&b, 1, 1, 2, out, &err) == 0, "file %zu: %s", i, err.msg);
        ck_assert_int_eq(out[0], 30);
        ck_assert_int_eq(out[1], 60);
        free(b.bytes);
    }
}
END_TEST

/* The same through image_read, which counts by the file's size: face.pgm
 * twice over is refused, naming the file and the second image's bytes. */
START_TEST(two_images_in_one_file_are_refused_naming_it)
{
    char dir[] = "/tmp/test_image_io.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/two.pgm", dir);
    FILE *in = fopen(FIXTURES "face.pgm", "rb");
    ck_assert_ptr_nonnull(in);
    char bytes[4096];
    size_t length = fread(bytes, 1, sizeof bytes, in);
    fclose(in);
    ck_assert(length > IMAGE_PIXELS && length < sizeof bytes); /* a header, the raster */
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    fwrite(bytes, 1, length, out);
    fwrite(bytes, 1, length, out);
    fclose(out);
    uint8_t image[IMAGE_PIXELS];
    Error err;
    ck_assert_int_eq(image_read_gray48(path, image, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: %zu bytes after the 48x48 image (a second image, or a "
                                "damaged file)", path, length);
    ck_assert_str_eq(err.msg, want);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(sixteen_bit_samples_above_maxval_are_refused)
{
    Buffer b = {0};
    put_text(&b, "P5\n48 48\n1000\n");
    for (int i = 0; i < IMAGE_PIXELS; i++) put_16(&b, i == 50 ? 1001 : 500);
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_int_eq(read_buffer(&b, out, &err), -1);
    ck_assert_msg(strstr(err.msg, "row 2, column 3: value 1001 is above maxval 1000"), "%s", err.msg);
    free(b.bytes);
}
END_TEST

START_TEST(a_missing_file_is_named)
{
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_int_eq(image_read_gray48(FIXTURES "no_such_face.pgm", out, &err), -1);
    ck_assert_msg(strstr(err.msg, "no_such_face.pgm: cannot open"), "%s", err.msg);
}
END_TEST

START_TEST(folders_devices_and_pipes_are_not_images)
{
    uint8_t out[IMAGE_PIXELS];
    Error err;
    ck_assert_int_eq(image_read_gray48(FIXTURES, out, &err), -1);
    ck_assert_str_eq(err.msg, FIXTURES ": is a directory");
    ck_assert_int_eq(image_read_gray48("/dev/zero", out, &err), -1);
    ck_assert_str_eq(err.msg, "/dev/zero: is not a regular file (a character device)");
    char dir[] = "/tmp/test_image_io.XXXXXX", fifo[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/face.pgm", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(image_read_gray48(fifo, out, &err), -1); /* at once, no writer needed */
    ck_assert_msg(strstr(err.msg, "face.pgm: is not a regular file (a pipe)"), "%s", err.msg);
    unlink(fifo);
    rmdir(dir);
}
END_TEST

Suite *image_io_suite(void)
{
    Suite *s = suite_create("image_io");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, binary_pgm_p5_reads_unchanged);
    tcase_add_test(tc, ascii_pgm_p2_with_comments_reads_unchanged);
    tcase_add_test(tc, ascii_ppm_p3_becomes_bt601_gray);
    tcase_add_test(tc, binary_ppm_p6_becomes_bt601_gray);
    tcase_add_test(tc, sixteen_bit_ppm_is_big_endian_and_rescaled);
    tcase_add_test(tc, other_maxvals_are_rescaled_to_255);
    tcase_add_test(tc, numpy_written_files_read_as_the_dataset_image);
    tcase_add_test(tc, the_pgm_writer_round_trips);
    tcase_add_test(tc, a_text_image_may_end_in_whitespace_and_comments);
    suite_add_tcase(s, tc);
    tc = tcase_create("resize");
    tcase_add_test(tc, a_constant_image_stays_constant_at_any_size);
    tcase_add_test(tc, halving_averages_each_2x2_block);
    tcase_add_test(tc, a_fractional_scale_weights_pixels_by_the_area_covered);
    tcase_add_test(tc, resizing_to_another_size_weighs_the_areas_covered);
    tcase_add_test(tc, gray_asked_in_three_channels_is_repeated);
    tcase_add_test(tc, colour_keeps_its_channels_or_becomes_luma);
    tcase_add_test(tc, impossible_output_sizes_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_add_test(tc, hostile_files_are_refused_with_a_clear_message);
    tcase_add_test(tc, sixteen_bit_samples_above_maxval_are_refused);
    tcase_add_test(tc, bytes_after_the_image_are_refused);
    tcase_add_test(tc, two_images_in_one_file_are_refused_naming_it);
    tcase_add_test(tc, a_missing_file_is_named);
    tcase_add_test(tc, folders_devices_and_pipes_are_not_images);
    suite_add_tcase(s, tc);
    return s;
}
