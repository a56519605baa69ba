/* loader.h: from an .npz dataset to float mini-batches for training.
 *
 * A Dataset is one split (train, val or test) held in memory as it is on
 * disk: one byte per pixel, 2,304 bytes per 48x48 face, so all of FER2013
 * takes 83 MB. The network sees floats: a Loader cuts the split into
 * mini-batches and converts each on the fly to an (N, 1, 48, 48) Tensor
 * with values pixel / 255 in [0, 1].
 *
 * What files are accepted (members x_<split> and y_<split>):
 *   - images shaped (N, 48, 48), (N, 1, 48, 48) or (N, 2304);
 *   - images uint8 0..255 (or any integer type holding 0..255), or float
 *     (float16/32/64) already scaled to [0, 1]. Float images are rounded to
 *     the nearest 1/255 step and kept as uint8, like every other dataset:
 *     FER2013's grey levels are 8-bit to begin with, and one byte per pixel
 *     keeps memory and batch building the same for every file.
 *   - labels (N,) of any integer type (int8..int64, uint8..uint64) with
 *     values 0..6.
 * Anything else (a missing member, lengths that differ, another image
 * size, a label outside 0..6, float pixels outside [0, 1]) is an error
 * naming the file and the member.
 *
 * Augmentation lives here and nowhere else (the converter writes the images
 * untouched): a random horizontal flip and a random shift of up to
 * AUGMENT_MAX_SHIFT pixels in each direction, with the border pixels
 * replicated into the uncovered strip. Both keep the label: a face
 * mirrored or moved by two pixels shows the same emotion. It is applied
 * only to the "train" split; a Loader over "val" or "test" ignores the
 * augment option, so evaluation always sees the real images. */
#ifndef LOADER_H
#define LOADER_H

#include <stdint.h>

#include "error.h"
#include "npz.h"
#include "rng.h"
#include "tensor.h"

#define AUGMENT_MAX_SHIFT 2

typedef struct {
    int count;
    uint8_t *images; /* (count, 48, 48) grey levels 0..255, row major */
    int *labels;     /* (count,) classes 0..6 */
    char split[16];  /* "train", "val" or "test" */
    int channels, height, width; /* one image: (1, 48, 48) */
    int classes;     /* K */
} Dataset;

/* Reads members x_<split> and y_<split> of an .npz (split is "train",
 * "val" or "test"). On failure *out is left empty. */
int dataset_load(const char *path, const char *split, Dataset *out, Error *err);

/* The same from an .npz already in memory, so several splits can be taken
 * from one read; path is used in messages only. */
int dataset_from_npz(const NpzFile *npz, const char *path, const char *split, Dataset *out,
                     Error *err);

/* An empty (zero-filled) dataset of count images, for building one in code. */
void dataset_alloc(Dataset *d, int count, const char *split);
void dataset_free(Dataset *d);

typedef struct {
    int shuffle;   /* visit the images in a new random order each epoch */
    int augment;   /* random flips and shifts; honoured for split "train" only */
    uint64_t seed; /* the order and the augmentation follow from (seed, epoch) */
} LoaderOptions;

/* A batch iterator over a dataset. */
typedef struct {
    const Dataset *data;
    int batch_size;
    int shuffle;
    int augment;        /* in effect: options.augment and the split is "train" */
    uint64_t seed;
    int epoch;
    int position;       /* next entry of order to hand out */
    int *order;         /* (data->count,) dataset indices in this epoch's order */
    int *batch_indices; /* (batch_size,) dataset index of each image of the last batch */
    int batch_count;    /* images in the last batch */
    Rng augment_rng;    /* this epoch's flips and shifts */
} Loader;

void loader_init(Loader *loader, const Dataset *data, int batch_size, LoaderOptions options);
void loader_free(Loader *loader);

/* Starts an epoch: the order is a shuffle drawn from (seed, epoch) alone,
 * so epoch 3 is the same whether or not epochs 0..2 ran first.
 * loader_init starts epoch 0. */
void loader_begin_epoch(Loader *loader, int epoch);

/* The next mini-batch: resizes x to (n, 1, 48, 48), fills it with pixel/255
 * and labels[0..n) with the classes (labels has room for batch_size).
 * Returns n: batch_size, less for the last batch, 0 when the epoch is done. */
int loader_next(Loader *loader, Tensor *x, int *labels);

/* Dataset index of each image of the last batch: (batch_count,). Lets an
 * evaluation relate predictions back to images (e.g. to show the most
 * confidently wrong ones). */
const int *loader_batch_indices(const Loader *loader);

/* Batches per epoch: ceil(count / batch_size). */
int loader_batches_per_epoch(const Loader *loader);

/* --- the pieces, usable on their own --- */

/* Copies a 48x48 image, mirrored left-right if flip, then moved by
 * (shift_y, shift_x) pixels (positive: down, right):
 *     out[y][x] = in[clamp(y - shift_y)][f(clamp(x - shift_x))]
 * with f(x) = 47 - x when flipping and clamp() to 0..47, which replicates
 * the edge rows/columns into the strip the shift uncovers.
 * in and out are (48, 48) and must not overlap. */
void augment_image(const uint8_t *in, int flip, int shift_y, int shift_x, uint8_t *out);

/* Fills x (resized to (count, 1, 48, 48)) with images indices[0..count) of
 * data as pixel / 255, and labels[0..count) with their classes. With
 * augment, each image gets a random flip (probability 1/2) and a random
 * shift in [-AUGMENT_MAX_SHIFT, AUGMENT_MAX_SHIFT] on each axis from rng. */
void loader_fill_batch(const Dataset *data, const int *indices, int count, int augment,
                       Rng *rng, Tensor *x, int *labels);

#endif
