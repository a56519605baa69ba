/* image_io.h: reading a face from a PGM/PPM file, as the network sees it.
 *
 * Netpbm's formats are the simplest image files there are: a short text
 * header, then the pixels. Four variants are read:
 *
 *     P2  gray,   pixels as decimal text       P5  gray,   pixels as bytes
 *     P3  colour, R G B triples as text        P6  colour, R G B triples as bytes
 *
 * The header is "P5 <width> <height> <maxval>", separated by whitespace,
 * with '#' comments running to the end of a line allowed between the
 * fields (and, leniently, between the pixels of the text variants). A
 * binary header ends with one whitespace character, then the raster:
 * one byte per sample when maxval < 256, else two bytes, big-endian.
 * maxval may be anything from 1 to 65535; samples are 0..maxval.
 *
 * What a network needs is an image of the size it was trained on, (C, H, W)
 * with C = 1 (gray) or 3 (colour, R G B planes), levels 0..255, so:
 *  - for C = 1, colour becomes gray by ITU-R BT.601 luma,
 *    Y = 0.299 R + 0.587 G + 0.114 B (the weights follow the eye's
 *    sensitivity: green looks brightest); for C = 3, a gray image is
 *    repeated in all three channels;
 *  - each sample is rescaled to 0..255 as value * 255 / maxval;
 *  - any other size is resized to H x W by area averaging: output pixel
 *    (i, j) is the mean of the input over the rectangle it covers, input
 *    pixels that straddle its edge counting by the fraction covered. Going
 *    down in size this averages every input pixel (no aliasing: a 96x96
 *    image becomes the means of its 2x2 blocks for 48x48); going up it
 *    repeats pixels, blending only at block edges. It is separable: each
 *    row is resized to W samples as it is read, and adds its share to the
 *    H output rows it overlaps;
 *  - the result is rounded to the nearest level (halves up).
 *
 * Reading streams row by row, so memory is bounded by the width of the
 * file (at most 65536, and width * height <= 2^28) and the output size,
 * never by what a header claims about a file that is not there. A
 * truncated file, a bad magic number, a size of 0 or beyond the limits,
 * maxval 0 or above 65535, a sample above maxval, or anything after the
 * image (a second image, more samples than the header counts; after a
 * binary raster not even whitespace, after a text one only whitespace and
 * comments) is an error naming the file. */
#ifndef IMAGE_IO_H
#define IMAGE_IO_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define IMAGE_MAX_SIDE 65536
#define IMAGE_MAX_PIXELS (1L << 28)
#define IMAGE_MAX_OUTPUT_SIDE 1024 /* as the loader's DATASET_MAX_SIDE */

/* Reads a PGM or PPM (P2, P3, P5, P6) of any size into out, (channels,
 * height, width) levels 0..255, row major in each channel. channels is 1
 * or 3, height and width 1..IMAGE_MAX_OUTPUT_SIDE (other values are an
 * error, before the file is opened). path must be a regular file (a folder, a
 * device or a pipe is refused, named as such). */
int image_read(const char *path, int channels, int height, int width, uint8_t *out, Error *err);

/* The same from an open stream (e.g. fmemopen in the tests); label names
 * it in messages, as a path would. Reads one image from the current
 * position, and the stream must end with it. */
int image_read_stream(FILE *f, const char *label, int channels, int height, int width,
                      uint8_t *out, Error *err);

/* The size a PGM/PPM file declares (its header alone is read). */
int image_size(const char *path, int *width, int *height, Error *err);

/* image_read(path, 1, 48, 48, out, err): the emotion CNN's input. */
int image_read_gray48(const char *path, uint8_t *out, Error *err);
int image_read_gray48_stream(FILE *f, const char *label, uint8_t *out, Error *err);

/* Writes pixels (height, width), row major, as a binary PGM (P5, maxval
 * 255), atomically. */
int image_write_pgm(const char *path, const uint8_t *pixels, int width, int height, Error *err);

/* Writes interleaved R G B pixels (height, width, 3) as a binary PPM (P6,
 * maxval 255), atomically. */
int image_write_ppm(const char *path, const uint8_t *rgb, int width, int height, Error *err);

#endif
