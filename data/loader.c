#include "loader.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"

/* ---------------------------------------------------------------- reading */

static int is_integer_dtype(NpyDtype dtype)
{
    return dtype != NPY_BOOL && dtype != NPY_FLOAT16 && dtype != NPY_FLOAT32 &&
           dtype != NPY_FLOAT64;
}

/* IEEE half precision -> double: 1 sign bit, 5 exponent bits (bias 15),
 * 10 fraction bits. */
static double half_to_double(uint16_t h)
{
    int sign = h >> 15, exponent = (h >> 10) & 31, fraction = h & 1023;
    double magnitude;
    if (exponent == 0)
        magnitude = ldexp(fraction, -24); /* subnormal: fraction * 2^-14 / 1024 */
    else if (exponent == 31)
        magnitude = fraction ? NAN : INFINITY;
    else
        magnitude = ldexp(1024 + fraction, exponent - 25);
    return sign ? -magnitude : magnitude;
}

/* Element i of a float array as a double. */
static double float_element(const NpyArray *a, size_t i)
{
    switch (a->dtype) {
    case NPY_FLOAT16: return half_to_double(((const uint16_t *)a->data)[i]);
    case NPY_FLOAT32: return ((const float *)a->data)[i];
    case NPY_FLOAT64: return ((const double *)a->data)[i];
    default: assert(0 && "not a float dtype"); return 0;
    }
}

/* Element i of an integer array; uint64 values beyond INT64_MAX become
 * INT64_MAX (they are out of every range we accept anyway). */
static int64_t integer_element(const NpyArray *a, size_t i)
{
    switch (a->dtype) {
    case NPY_INT8:   return ((const int8_t *)a->data)[i];
    case NPY_UINT8:  return ((const uint8_t *)a->data)[i];
    case NPY_INT16:  return ((const int16_t *)a->data)[i];
    case NPY_UINT16: return ((const uint16_t *)a->data)[i];
    case NPY_INT32:  return ((const int32_t *)a->data)[i];
    case NPY_UINT32: return ((const uint32_t *)a->data)[i];
    case NPY_INT64:  return ((const int64_t *)a->data)[i];
    case NPY_UINT64: {
        uint64_t v = ((const uint64_t *)a->data)[i];
        return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    default: assert(0 && "not an integer dtype"); return 0;
    }
}

static void append_text(char *buf, size_t len, const char *text)
{
    size_t used = strlen(buf), n = strlen(text);
    if (used + 1 >= len) return;
    if (n > len - used - 1) n = len - used - 1;
    memcpy(buf + used, text, n);
    buf[used + n] = '\0';
}

/* "x_train, y_train, x_val, y_val": what the file does have, for messages. */
static void member_list(const NpzFile *npz, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < npz->count; i++) {
        if (i) append_text(buf, len, ", ");
        append_text(buf, len, npz->arrays[i].name);
    }
    if (npz->count == 0) append_text(buf, len, "no arrays");
}

static int check_image_shape(const NpyArray *x, const char *path, Error *err)
{
    int ok = (x->ndim == 3 && x->shape[1] == IMAGE_SIDE && x->shape[2] == IMAGE_SIDE) ||
             (x->ndim == 4 && x->shape[1] == 1 && x->shape[2] == IMAGE_SIDE &&
              x->shape[3] == IMAGE_SIDE) ||
             (x->ndim == 2 && x->shape[1] == IMAGE_PIXELS);
    if (ok) return 0;
    char shape[96];
    return error_set(err, "%s: %s has shape %s; expected 48x48 grey images shaped "
                          "(N, 48, 48), (N, 1, 48, 48) or (N, 2304)", path, x->name,
                     npy_shape_string(x, shape, sizeof shape));
}

/* Copies every pixel of x (N*2304 elements of any accepted dtype) into
 * images as bytes 0..255; floats in [0, 1] are rounded to the nearest
 * multiple of 1/255. */
static int copy_images(const NpyArray *x, const char *path, uint8_t *images, Error *err)
{
    if (x->dtype == NPY_UINT8) {
        memcpy(images, x->data, x->count);
        return 0;
    }
    if (x->dtype == NPY_BOOL)
        return error_set(err, "%s: %s is bool; images must be uint8 (0..255) or float "
                              "(0..1)", path, x->name);
    int is_float = !is_integer_dtype(x->dtype);
    for (size_t i = 0; i < x->count; i++) {
        size_t image = i / IMAGE_PIXELS, pixel = i % IMAGE_PIXELS;
        if (is_float) {
            double v = float_element(x, i);
            if (!(v >= 0.0 && v <= 1.0)) /* also catches NaN */
                return error_set(err, "%s: %s is %s and image %zu pixel %zu is %g, outside "
                                      "[0, 1]; float images must be scaled to [0, 1] (divide "
                                      "0..255 values by 255, or store them as uint8)",
                                 path, x->name, npy_dtype_name(x->dtype), image, pixel, v);
            images[i] = (uint8_t)floor(v * 255.0 + 0.5);
        } else {
            int64_t v = integer_element(x, i);
            if (v < 0 || v > 255)
                return error_set(err, "%s: %s image %zu pixel %zu is %lld, outside 0..255",
                                 path, x->name, image, pixel, (long long)v);
            images[i] = (uint8_t)v;
        }
    }
    return 0;
}

static int copy_labels(const NpyArray *y, const char *path, int *labels, Error *err)
{
    if (!is_integer_dtype(y->dtype))
        return error_set(err, "%s: %s is %s; labels must be integers (classes 0..%d)", path,
                         y->name, npy_dtype_name(y->dtype), NUM_CLASSES - 1);
    for (size_t i = 0; i < y->count; i++) {
        int64_t v = integer_element(y, i);
        if (v < 0 || v >= NUM_CLASSES)
            return error_set(err, "%s: %s[%zu] is %lld, outside the classes 0..%d", path,
                             y->name, i, (long long)v, NUM_CLASSES - 1);
        labels[i] = (int)v;
    }
    return 0;
}

int dataset_from_npz(const NpzFile *npz, const char *path, const char *split, Dataset *out,
                     Error *err)
{
    memset(out, 0, sizeof *out);
    char x_name[40], y_name[40], members[256];
    snprintf(x_name, sizeof x_name, "x_%s", split);
    snprintf(y_name, sizeof y_name, "y_%s", split);
    const NpyArray *x = npz_find(npz, x_name), *y = npz_find(npz, y_name);
    if (!x || !y) {
        member_list(npz, members, sizeof members);
        return error_set(err, "%s: no member '%s' for the %s split (the file has: %s)", path,
                         !x ? x_name : y_name, split, members);
    }
    if (check_image_shape(x, path, err)) return -1;
    if (y->ndim != 1) {
        char shape[96];
        return error_set(err, "%s: %s has shape %s; labels must be one-dimensional (N,)", path,
                         y->name, npy_shape_string(y, shape, sizeof shape));
    }
    if (x->shape[0] != y->shape[0])
        return error_set(err, "%s: %s has %lld images but %s has %lld labels", path, x->name,
                         (long long)x->shape[0], y->name, (long long)y->shape[0]);
    if (x->shape[0] > INT32_MAX)
        return error_set(err, "%s: %s has %lld images, more than the loader handles", path,
                         x->name, (long long)x->shape[0]);

    dataset_alloc(out, (int)x->shape[0], split);
    if (copy_images(x, path, out->images, err) || copy_labels(y, path, out->labels, err)) {
        dataset_free(out);
        return -1;
    }
    return 0;
}

int dataset_load(const char *path, const char *split, Dataset *out, Error *err)
{
    memset(out, 0, sizeof *out);
    NpzFile npz;
    if (npz_read(path, &npz, err)) return -1;
    int status = dataset_from_npz(&npz, path, split, out, err);
    npz_free(&npz);
    return status;
}

void dataset_alloc(Dataset *d, int count, const char *split)
{
    assert(count >= 0);
    memset(d, 0, sizeof *d);
    d->count = count;
    d->images = xcalloc((size_t)count, IMAGE_PIXELS);
    d->labels = xcalloc((size_t)count, sizeof *d->labels);
    snprintf(d->split, sizeof d->split, "%s", split);
    d->channels = 1;
    d->height = IMAGE_SIDE;
    d->width = IMAGE_SIDE;
    d->classes = NUM_CLASSES;
}

void dataset_free(Dataset *d)
{
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------- batching */

static int clamp_index(int i)
{
    return i < 0 ? 0 : i >= IMAGE_SIDE ? IMAGE_SIDE - 1 : i;
}

void augment_image(const uint8_t *in, int flip, int shift_y, int shift_x, uint8_t *out)
{
    for (int y = 0; y < IMAGE_SIDE; y++) {
        const uint8_t *row = in + clamp_index(y - shift_y) * IMAGE_SIDE;
        for (int x = 0; x < IMAGE_SIDE; x++) {
            int source = clamp_index(x - shift_x);
            out[y * IMAGE_SIDE + x] = row[flip ? IMAGE_SIDE - 1 - source : source];
        }
    }
}

void loader_fill_batch(const Dataset *data, const int *indices, int count, int augment,
                       Rng *rng, Tensor *x, int *labels)
{
    int dims[4] = {count, 1, IMAGE_SIDE, IMAGE_SIDE};
    tensor_resize(x, 4, dims);
    /* pixel / 255 for the 256 possible bytes: the same division, done once. */
    real scale[256];
    for (int p = 0; p < 256; p++) scale[p] = (real)p / (real)255;

    uint8_t moved[IMAGE_PIXELS];
    for (int b = 0; b < count; b++) {
        int index = indices[b];
        assert(index >= 0 && index < data->count);
        const uint8_t *image = data->images + (size_t)index * IMAGE_PIXELS;
        if (augment) {
            int span = 2 * AUGMENT_MAX_SHIFT + 1;
            int flip = (int)rng_below(rng, 2);
            int shift_y = (int)rng_below(rng, (uint32_t)span) - AUGMENT_MAX_SHIFT;
            int shift_x = (int)rng_below(rng, (uint32_t)span) - AUGMENT_MAX_SHIFT;
            augment_image(image, flip, shift_y, shift_x, moved);
            image = moved;
        }
        real *out = x->data + (size_t)b * IMAGE_PIXELS;
        for (int i = 0; i < IMAGE_PIXELS; i++) out[i] = scale[image[i]];
        labels[b] = data->labels[index];
    }
}

/* Distinct seeds for each (seed, epoch, purpose); rng_seed's splitmix64
 * then spreads them over the generator's state. */
static uint64_t epoch_seed(uint64_t seed, int epoch, int purpose)
{
    return seed + 0x9E3779B97F4A7C15ull * (2 * (uint64_t)epoch + (uint64_t)purpose + 1);
}

void loader_init(Loader *loader, const Dataset *data, int batch_size, LoaderOptions options)
{
    assert(batch_size > 0);
    memset(loader, 0, sizeof *loader);
    loader->data = data;
    loader->batch_size = batch_size;
    loader->shuffle = options.shuffle;
    loader->augment = options.augment && !strcmp(data->split, "train");
    loader->seed = options.seed;
    loader->order = xmalloc((size_t)(data->count ? data->count : 1) * sizeof *loader->order);
    loader->batch_indices = xmalloc((size_t)batch_size * sizeof *loader->batch_indices);
    loader_begin_epoch(loader, 0);
}

void loader_free(Loader *loader)
{
    free(loader->order);
    free(loader->batch_indices);
    memset(loader, 0, sizeof *loader);
}

void loader_begin_epoch(Loader *loader, int epoch)
{
    loader->epoch = epoch;
    loader->position = 0;
    loader->batch_count = 0;
    for (int i = 0; i < loader->data->count; i++) loader->order[i] = i;
    if (loader->shuffle) {
        Rng order_rng;
        rng_seed(&order_rng, epoch_seed(loader->seed, epoch, 0));
        rng_shuffle(&order_rng, loader->order, loader->data->count);
    }
    rng_seed(&loader->augment_rng, epoch_seed(loader->seed, epoch, 1));
}

int loader_next(Loader *loader, Tensor *x, int *labels)
{
    int left = loader->data->count - loader->position;
    int count = left < loader->batch_size ? left : loader->batch_size;
    loader->batch_count = count;
    if (count == 0) return 0;
    memcpy(loader->batch_indices, loader->order + loader->position,
           (size_t)count * sizeof *loader->batch_indices);
    loader->position += count;
    loader_fill_batch(loader->data, loader->batch_indices, count, loader->augment,
                      &loader->augment_rng, x, labels);
    return count;
}

const int *loader_batch_indices(const Loader *loader)
{
    return loader->batch_indices;
}

int loader_batches_per_epoch(const Loader *loader)
{
    return (loader->data->count + loader->batch_size - 1) / loader->batch_size;
}
