/* libFuzzer target for the PGM/PPM reader (src/image_io.h), which reads
 * whatever image a user hands to `emotion predict`: any bytes must give
 * either an image or a message naming the file, never a crash, a bad read,
 * an endless loop or a huge allocation. Built by `make fuzz` (fuzz/fuzz.mk)
 * with ASan and UBSan.
 *
 * The input is read three ways: as the emotion CNN's 1x48x48 face, as a
 * 3x7x5 colour image (the resize and the gray/colour conversions the other
 * way), and through a file (image_read and image_size take a path). The
 * two reads of a file must agree with the reads of the same bytes as a
 * stream, and image_size must accept every file image_read accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "image_io.h"

static void check(int holds, const char *what)
{
    if (holds) return;
    fprintf(stderr, "image_read succeeded, but %s\n", what);
    abort();
}

/* Reads data as a stream into out (channels x height x width); 0 or -1. */
static int read_memory(const uint8_t *data, size_t size, int channels, int height, int width,
                       uint8_t *out)
{
    /* fmemopen of 0 bytes is not portable: an empty input is an empty file */
    static const uint8_t none[1];
    FILE *f = fmemopen((void *)(size ? data : none), size ? size : 1, "rb");
    if (!f) abort();
    if (!size) fgetc(f); /* now at its end */
    Error err;
    int status = image_read_stream(f, "input", channels, height, width, out, &err);
    fclose(f);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t gray[48 * 48], colour[3 * 7 * 5], from_file[3 * 7 * 5];
    int gray_status = read_memory(data, size, 1, 48, 48, gray);
    int colour_status = read_memory(data, size, 3, 7, 5, colour);
    check(gray_status == colour_status, "the 1x48x48 and 3x7x5 reads disagree on the file");

    const char *path = fuzz_file_write(data, size, ".pgm");
    Error err;
    int file_status = image_read(path, 3, 7, 5, from_file, &err);
    check(file_status == colour_status, "reading the file and the stream disagree");
    if (file_status == 0) {
        check(!memcmp(from_file, colour, sizeof colour), "the file and the stream give other pixels");
        int width = 0, height = 0;
        check(image_size(path, &width, &height, &err) == 0, "image_size refuses the file");
        check(width >= 1 && width <= IMAGE_MAX_SIDE && height >= 1 && height <= IMAGE_MAX_SIDE &&
                  (long)width * height <= IMAGE_MAX_PIXELS,
              "image_size gives a size beyond the limits");
    }
    return 0;
}
