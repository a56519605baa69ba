/* splits.h: the train / val / test image sets that the converter and the
 * synthetic generator produce, and the .npz layout they share.
 *
 * A dataset file holds one pair of members per split:
 *     x_train (N, 48, 48) uint8   y_train (N,) int64   FER2013 "Training"
 *     x_val   (N, 48, 48) uint8   y_val   (N,) int64   FER2013 "PublicTest"
 *     x_test  (N, 48, 48) uint8   y_test  (N,) int64   FER2013 "PrivateTest"
 * A split with no images is not written at all (so a CSV without a Usage
 * column gives a file with x_train/y_train only); the loader then names the
 * missing member rather than handing out an empty split. */
#ifndef SPLITS_H
#define SPLITS_H

#include <stdint.h>

#include "error.h"

typedef enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, NUM_SPLITS } SplitId;

/* "train", "val", "test": the suffix of the member names. */
extern const char *const split_names[NUM_SPLITS];

/* A growable list of labelled 48x48 images. */
typedef struct {
    int count;
    int capacity;
    uint8_t *images; /* (capacity, 48, 48); the first count are used */
    int64_t *labels; /* (capacity,) class indices 0..6 */
} ImageSet;

void image_set_reserve(ImageSet *set, int capacity);

/* Adds an image with the given label and returns its 48*48 pixels (row
 * major) for the caller to fill. The pointer is valid until the next append. */
uint8_t *image_set_append(ImageSet *set, int64_t label);

void image_set_free(ImageSet *set);

/* Writes x_<split>/y_<split> for every non-empty split to an .npz, stored
 * (compress = 0, as np.savez) or deflated (as np.savez_compressed). The
 * file appears under its final name only when complete. */
int splits_write_npz(const ImageSet sets[NUM_SPLITS], const char *path, int compress,
                     Error *err);

#endif
