#include "image_io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "classes.h"
#include "files.h"

typedef struct {
    int channels;  /* 1 (P2, P5) or 3 (P3, P6) */
    int binary;    /* P5, P6 */
    long width, height, maxval;
} PnmHeader;

/* Skips whitespace and '#' comments (to the end of the line). */
static void skip_space_and_comments(FILE *f)
{
    int c;
    while ((c = getc(f)) != EOF) {
        if (c == '#') {
            while ((c = getc(f)) != EOF && c != '\n' && c != '\r') {}
        } else if (!isspace(c)) {
            ungetc(c, f);
            return;
        }
    }
}

/* Reads a decimal number of the header (width, height or maxval) in
 * [1, max] and the one character ending it: whitespace, or a '#' that
 * starts a comment, except after a binary file's maxval, where exactly one
 * whitespace character separates the header from the raster. */
static int read_header_number(FILE *f, const char *label, int raster_follows, const char *what,
                              long max, long *value, Error *err)
{
    skip_space_and_comments(f);
    int c = getc(f);
    if (c == EOF) return error_set(err, "%s: the header ends before the %s", label, what);
    if (!isdigit(c))
        return error_set(err, "%s: the %s should be a whole number from 1 to %ld, found '%c'",
                         label, what, max, isprint(c) ? c : '?');
    long v = 0;
    int too_big = 0;
    for (; c != EOF && isdigit(c); c = getc(f)) {
        v = v * 10 + (c - '0');
        if (v > max) too_big = 1, v = max + 1; /* stays bounded, however many digits */
    }
    if (too_big) return error_set(err, "%s: the %s is larger than %ld", label, what, max);
    if (v < 1) return error_set(err, "%s: the %s is 0; it must be at least 1", label, what);
    if (c == EOF) return error_set(err, "%s: the file ends in the header, after the %s", label, what);
    if (c == '#' && !raster_follows) {
        ungetc(c, f);
    } else if (!isspace(c)) {
        return error_set(err, "%s: unexpected character '%c' after the %s", label,
                         isprint(c) ? c : '?', what);
    }
    *value = v;
    return 0;
}

static int read_header(FILE *f, const char *label, PnmHeader *h, Error *err)
{
    int p = getc(f), kind = getc(f);
    if (p == EOF) return error_set(err, "%s: the file is empty", label);
    if (p == 'P' && (kind == '1' || kind == '4'))
        return error_set(err, "%s: a PBM bitmap (P%c) is not supported; use PGM (P2, P5) or "
                              "PPM (P3, P6)", label, kind);
    if (p != 'P' || (kind != '2' && kind != '3' && kind != '5' && kind != '6'))
        return error_set(err, "%s: not a PGM or PPM image (it should start with P2, P3, P5 or P6)",
                         label);
    h->channels = (kind == '3' || kind == '6') ? 3 : 1;
    h->binary = (kind == '5' || kind == '6');
    if (read_header_number(f, label, 0, "width", IMAGE_MAX_SIDE, &h->width, err) ||
        read_header_number(f, label, 0, "height", IMAGE_MAX_SIDE, &h->height, err) ||
        read_header_number(f, label, h->binary, "maxval", 65535, &h->maxval, err))
        return -1;
    if (h->width * h->height > IMAGE_MAX_PIXELS)
        return error_set(err, "%s: %ldx%ld is more than %ld pixels", label, h->width, h->height,
                         IMAGE_MAX_PIXELS);
    return 0;
}

/* Reads one sample of a text raster into *value (0..maxval). */
static int read_text_sample(FILE *f, const char *label, const PnmHeader *h, long row, long column,
                            long *value, Error *err)
{
    skip_space_and_comments(f);
    int c = getc(f);
    if (c == EOF)
        return error_set(err, "%s: the file ends at row %ld, column %ld of a %ldx%ld image",
                         label, row + 1, column + 1, h->width, h->height);
    if (!isdigit(c))
        return error_set(err, "%s: row %ld, column %ld: expected a number, found '%c'", label,
                         row + 1, column + 1, isprint(c) ? c : '?');
    long v = 0;
    for (; c != EOF && isdigit(c); c = getc(f))
        if (v <= h->maxval) v = v * 10 + (c - '0');
    if (c != EOF) ungetc(c, f);
    if (v > h->maxval)
        return error_set(err, "%s: row %ld, column %ld: a value above maxval %ld", label, row + 1,
                         column + 1, h->maxval);
    *value = v;
    return 0;
}

/* Reads one row of width * channels samples (0..maxval) into samples. */
static int read_row(FILE *f, const char *label, const PnmHeader *h, long row, uint8_t *bytes,
                    long *samples, Error *err)
{
    const long count = h->width * h->channels;
    if (!h->binary) {
        for (long i = 0; i < count; i++)
            if (read_text_sample(f, label, h, row, i / h->channels, &samples[i], err)) return -1;
        return 0;
    }
    const int sample_bytes = h->maxval < 256 ? 1 : 2;
    if (fread(bytes, (size_t)sample_bytes, (size_t)count, f) != (size_t)count)
        return error_set(err, "%s: the file is truncated: row %ld of %ld is incomplete", label,
                         row + 1, h->height);
    for (long i = 0; i < count; i++) {
        samples[i] = sample_bytes == 1 ? bytes[i] : (long)bytes[2 * i] << 8 | bytes[2 * i + 1];
        if (samples[i] > h->maxval)
            return error_set(err, "%s: row %ld, column %ld: value %ld is above maxval %ld", label,
                             row + 1, i / h->channels + 1, samples[i], h->maxval);
    }
    return 0;
}

/* Resamples a line of in_len values to out_len by area averaging. Input
 * sample i is taken as constant over [i, i+1); output sample o covers
 * [o s, (o+1) s) with s = in_len / out_len and is the mean over it:
 *     out[o] = (1/s) sum_i overlap([i, i+1), [o s, (o+1) s)) in[i]
 * in and out are strided, so the same function resizes rows and columns. */
static void area_resample(const double *in, long in_len, long in_stride, double *out, int out_len,
                          int out_stride)
{
    const double scale = (double)in_len / out_len;
    for (int o = 0; o < out_len; o++) {
        const double start = o * scale, end = (o + 1) * scale;
        long first = (long)floor(start), last = (long)ceil(end) - 1;
        if (last > in_len - 1) last = in_len - 1;
        double sum = 0;
        for (long i = first; i <= last; i++) {
            double overlap = fmin(end, (double)(i + 1)) - fmax(start, (double)i);
            if (overlap > 0) sum += overlap * in[i * in_stride];
        }
        out[o * out_stride] = sum / scale;
    }
}

/* The output rows that input row y (of in_len, resized to out_len rows)
 * overlaps: [*first, *last]. A superset by one on each side is enough,
 * since the caller weighs each by its exact overlap, skipping those <= 0. */
static void overlapped_rows(long y, long in_len, int out_len, int *first, int *last)
{
    const double scale = (double)in_len / out_len;
    long lo = (long)floor((double)y / scale) - 1, hi = (long)ceil((double)(y + 1) / scale);
    *first = lo < 0 ? 0 : (int)lo;
    *last = hi > out_len - 1 ? out_len - 1 : (int)hi;
}

/* After the raster, the file must end. The samples' count is exact
 * (width x height x channels), so anything more is a second image
 * (netpbm's own files may hold several, one after another: this reads one,
 * and would silently drop the rest) or a damaged file, whose pixels cannot
 * be trusted either: one whitespace character too many after a binary
 * header shifts every pixel by a byte and leaves the last one over.
 *
 * Binary (P5, P6): no byte at all may follow, whitespace included. Netpbm
 * writes none after a raw raster, nor do other writers, and a tolerated
 * trailing newline would hide that shift whenever the last pixel is 10.
 * Text (P2, P3): whitespace and comments may follow, as between samples; a
 * text file ends in a newline by custom. Anything else (a number more than
 * the header counts, a second "P2" header) is refused. */
static int check_end_of_file(FILE *f, const char *label, const PnmHeader *h, Error *err)
{
    const long start = ftell(f);
    if (!h->binary) skip_space_and_comments(f);
    int c = getc(f);
    if (c == EOF && !ferror(f)) return 0;
    if (c == EOF)
        return error_set(err, "%s: cannot read past the %ldx%ld image: %s", label, h->width,
                         h->height, strerror(errno));
    /* counted from where the raster ended, by the file's size when the
     * stream can seek (a regular file, fmemopen), else not counted */
    long end;
    if (start >= 0 && fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) > start)
        return error_set(err, "%s: %ld byte%s after the %ldx%ld image (a second image, or a "
                              "damaged file)", label, end - start, end - start == 1 ? "" : "s",
                         h->width, h->height);
    return error_set(err, "%s: more bytes after the %ldx%ld image (a second image, or a damaged "
                          "file)", label, h->width, h->height);
}

static int check_output_size(const char *label, int channels, int height, int width, Error *err)
{
    if (channels != 1 && channels != 3)
        return error_set(err, "%s: cannot make an image of %d channels (1 for gray, 3 for colour)",
                         label, channels);
    if (height < 1 || width < 1 || height > IMAGE_MAX_OUTPUT_SIDE || width > IMAGE_MAX_OUTPUT_SIDE)
        return error_set(err, "%s: cannot resize to %dx%d; height and width must be 1 to %d",
                         label, height, width, IMAGE_MAX_OUTPUT_SIDE);
    return 0;
}

int image_read_stream(FILE *f, const char *label, int channels, int height, int width,
                      uint8_t *out, Error *err)
{
    if (check_output_size(label, channels, height, width, err)) return -1;
    PnmHeader h;
    if (read_header(f, label, &h, err)) return -1;

    /* Planes computed from the file: one (gray, or luma of colour) or
     * three (R, G, B); gray asked in three channels is copied at the end. */
    const int planes = channels == 3 && h.channels == 3 ? 3 : 1;
    const long row_samples = h.width * h.channels;
    const size_t plane_size = (size_t)height * width;
    uint8_t *bytes = xmalloc((size_t)row_samples * 2);
    long *samples = xmalloc((size_t)row_samples * sizeof *samples);
    double *levels = xmalloc((size_t)h.width * sizeof *levels);
    double *resized = xmalloc((size_t)width * sizeof *resized);          /* one row, (width,) */
    double *sums = xcalloc((size_t)planes * plane_size, sizeof *sums);  /* (planes, height, width) */
    const double to_255 = 255.0 / (double)h.maxval;
    const double row_scale = (double)h.height / height;
    int status = 0;

    for (long y = 0; y < h.height && status == 0; y++) {
        status = read_row(f, label, &h, y, bytes, samples, err);
        if (status) break;
        int first, last;
        overlapped_rows(y, h.height, height, &first, &last);
        for (int p = 0; p < planes; p++) {
            for (long x = 0; x < h.width; x++) {
                const long *s = &samples[x * h.channels];
                double level = h.channels == 1 ? (double)s[0]
                             : planes == 3     ? (double)s[p]
                                               : 0.299 * (double)s[0] + 0.587 * (double)s[1] +
                                                     0.114 * (double)s[2];
                levels[x] = level * to_255;
            }
            area_resample(levels, h.width, 1, resized, width, 1);
            /* The column half of area_resample, one input row at a time:
             * output row o gains overlap([y, y+1), [o s, (o+1) s)) * row y,
             * in the same order and rounding as a whole column would. */
            for (int o = first; o <= last; o++) {
                const double start = o * row_scale, end = (o + 1) * row_scale;
                double overlap = fmin(end, (double)(y + 1)) - fmax(start, (double)y);
                if (overlap <= 0) continue;
                double *sum_row = sums + (size_t)p * plane_size + (size_t)o * width;
                for (int x = 0; x < width; x++) sum_row[x] += overlap * resized[x];
            }
        }
    }
    if (status == 0) status = check_end_of_file(f, label, &h, err);
    if (status == 0) {
        for (size_t i = 0; i < (size_t)planes * plane_size; i++) {
            double level = floor(sums[i] / row_scale + 0.5);
            out[i] = (uint8_t)(level < 0 ? 0 : level > 255 ? 255 : level);
        }
        for (int c = planes; c < channels; c++) memcpy(out + c * plane_size, out, plane_size);
    }
    free(bytes);
    free(samples);
    free(levels);
    free(resized);
    free(sums);
    return status;
}

int image_read(const char *path, int channels, int height, int width, uint8_t *out, Error *err)
{
    if (check_output_size(path, channels, height, width, err)) return -1;
    /* A folder would read as "the file is empty", a pipe would block and
     * /dev/zero would be a P0 image: only regular files are images. */
    uint64_t size;
    FILE *f = fopen_regular(path, &size, err);
    if (!f) return -1;
    int status = image_read_stream(f, path, channels, height, width, out, err);
    fclose(f);
    return status;
}

int image_size(const char *path, int *width, int *height, Error *err)
{
    uint64_t size;
    FILE *f = fopen_regular(path, &size, err);
    if (!f) return -1;
    PnmHeader h;
    int status = read_header(f, path, &h, err);
    fclose(f);
    if (status == 0) {
        *width = (int)h.width;
        *height = (int)h.height;
    }
    return status;
}

int image_read_gray48_stream(FILE *f, const char *label, uint8_t *out, Error *err)
{
    return image_read_stream(f, label, 1, IMAGE_SIDE, IMAGE_SIDE, out, err);
}

int image_read_gray48(const char *path, uint8_t *out, Error *err)
{
    return image_read(path, 1, IMAGE_SIDE, IMAGE_SIDE, out, err);
}

int image_write_ppm(const char *path, const uint8_t *rgb, int width, int height, Error *err)
{
    AtomicFile af;
    FILE *f = atomic_open(&af, path, err);
    if (!f) return -1;
    fprintf(f, "P6\n%d %d\n255\n", width, height);
    fwrite(rgb, 3, (size_t)width * (size_t)height, f);
    return atomic_commit(&af, err);
}

int image_write_pgm(const char *path, const uint8_t *pixels, int width, int height, Error *err)
{
    AtomicFile af;
    FILE *f = atomic_open(&af, path, err);
    if (!f) return -1;
    fprintf(f, "P5\n%d %d\n255\n", width, height);
    fwrite(pixels, 1, (size_t)width * (size_t)height, f);
    return atomic_commit(&af, err);
}
