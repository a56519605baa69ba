#include "splits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "npz.h"

const char *const split_names[NUM_SPLITS] = {"train", "val", "test"};

void image_set_reserve(ImageSet *set, int capacity)
{
    if (capacity <= set->capacity) return;
    set->images = xrealloc(set->images, (size_t)capacity * IMAGE_PIXELS);
    set->labels = xrealloc(set->labels, (size_t)capacity * sizeof *set->labels);
    set->capacity = capacity;
}

uint8_t *image_set_append(ImageSet *set, int64_t label)
{
    /* Doubling keeps appends amortised O(1) while the final size is unknown. */
    if (set->count == set->capacity)
        image_set_reserve(set, set->capacity ? 2 * set->capacity : 1024);
    set->labels[set->count] = label;
    return set->images + (size_t)set->count++ * IMAGE_PIXELS;
}

void image_set_free(ImageSet *set)
{
    free(set->images);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

int splits_write_npz(const ImageSet sets[NUM_SPLITS], const char *path, int compress,
                     Error *err)
{
    NpzWriter *writer = npz_writer_open(path, compress, err);
    if (!writer) return -1;
    for (int s = 0; s < NUM_SPLITS; s++) {
        if (sets[s].count == 0) continue;
        char x_name[32], y_name[32];
        snprintf(x_name, sizeof x_name, "x_%s", split_names[s]);
        snprintf(y_name, sizeof y_name, "y_%s", split_names[s]);
        int64_t image_shape[3] = {sets[s].count, IMAGE_SIDE, IMAGE_SIDE};
        int64_t label_shape[1] = {sets[s].count};
        if (npz_writer_add(writer, x_name, NPY_UINT8, 3, image_shape, sets[s].images, err) ||
            npz_writer_add(writer, y_name, NPY_INT64, 1, label_shape, sets[s].labels, err)) {
            npz_writer_abort(writer);
            return -1;
        }
    }
    return npz_writer_close(writer, err);
}
