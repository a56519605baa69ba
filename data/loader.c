#include "loader.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "utf8.h"

/* ---------------------------------------------------------------- reading */

static int is_integer_dtype(NpyDtype dtype)
{
    switch (dtype) {
    case NPY_INT8: case NPY_UINT8: case NPY_INT16: case NPY_UINT16:
    case NPY_INT32: case NPY_UINT32: case NPY_INT64: case NPY_UINT64:
        return 1;
    default:
        return 0;
    }
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
 * INT64_MAX (they are out of every range we accept anyway: messages print
 * the true value with integer_text). */
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

/* Element i of an integer array as decimal text, exactly. */
static const char *integer_text(const NpyArray *a, size_t i, char *buf, size_t len)
{
    if (a->dtype == NPY_UINT64)
        snprintf(buf, len, "%llu", (unsigned long long)((const uint64_t *)a->data)[i]);
    else
        snprintf(buf, len, "%lld", (long long)integer_element(a, i));
    return buf;
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

/* ------------------------------------------------------------ images */

/* The image shape (C, H, W) of an images member x. */
static int image_shape(const NpyArray *x, const char *path, int *channels, int *height,
                       int *width, Error *err)
{
    char shape[96];
    npy_shape_string(x, shape, sizeof shape);
    if (x->ndim == 2 && x->shape[1] == 48 * 48) {
        *channels = 1, *height = 48, *width = 48; /* older files' flat 48x48 rows */
        return 0;
    }
    if (x->ndim == 2)
        return error_set(err, "%s: %s has shape %s; flat rows are read only as 48x48 images "
                              "(N, 2304): store images as (N, H, W) or (N, C, H, W)",
                         path, x->name, shape);
    if (x->ndim != 3 && x->ndim != 4)
        return error_set(err, "%s: %s has shape %s; images must be (N, H, W) or (N, C, H, W)",
                         path, x->name, shape);
    int64_t c = x->ndim == 4 ? x->shape[1] : 1;
    int64_t h = x->shape[x->ndim - 2], w = x->shape[x->ndim - 1];
    if (c != 1 && c != 3) {
        int channels_last = x->ndim == 4 && (w == 1 || w == 3);
        return error_set(err, "%s: %s has shape %s: %lld channels; images must have 1 (grey) or "
                              "3 (colour), channels first (N, C, H, W)%s",
                         path, x->name, shape, (long long)c,
                         channels_last ? " (for (N, H, W, C) arrays, store "
                                         "x.transpose(0, 3, 1, 2))" : "");
    }
    if (h < 1 || w < 1 || h > DATASET_MAX_SIDE || w > DATASET_MAX_SIDE)
        return error_set(err, "%s: %s has shape %s: images of %lldx%lld pixels; height and width "
                              "must each be 1 to %d",
                         path, x->name, shape, (long long)h, (long long)w, DATASET_MAX_SIDE);
    *channels = (int)c, *height = (int)h, *width = (int)w;
    return 0;
}

/* Copies every pixel of x (any accepted dtype) into images as bytes
 * 0..255; floats in [0, 1] are rounded to the nearest multiple of 1/255.
 * image_bytes is C*H*W, for naming the image and pixel in messages. */
static int copy_images(const NpyArray *x, const char *path, size_t image_bytes, uint8_t *images,
                       Error *err)
{
    if (x->dtype == NPY_UINT8) {
        memcpy(images, x->data, x->count);
        return 0;
    }
    if (!is_integer_dtype(x->dtype) && x->dtype != NPY_FLOAT16 && x->dtype != NPY_FLOAT32 &&
        x->dtype != NPY_FLOAT64)
        return error_set(err, "%s: %s is %s; images must be uint8 (0..255) or float "
                              "(0..1)", path, x->name, npy_dtype_name(x->dtype));
    int is_float = !is_integer_dtype(x->dtype);
    for (size_t i = 0; i < x->count; i++) {
        size_t image = i / image_bytes, pixel = i % image_bytes;
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
            char text[32];
            if (v < 0 || v > 255)
                return error_set(err, "%s: %s image %zu pixel %zu is %s, outside 0..255",
                                 path, x->name, image, pixel, integer_text(x, i, text, sizeof text));
            images[i] = (uint8_t)v;
        }
    }
    return 0;
}

/* ----------------------------------------------------------- classes */

/* count strings copied into one allocation: the (count,) pointers, then
 * the texts they point to, so one free() releases everything. */
static char **names_block(int count, const char *const *texts)
{
    size_t bytes = (size_t)count * sizeof(char *);
    for (int k = 0; k < count; k++) bytes += strlen(texts[k]) + 1;
    char **names = xmalloc(bytes ? bytes : 1);
    char *text = (char *)(names + count);
    for (int k = 0; k < count; k++) {
        size_t n = strlen(texts[k]) + 1;
        memcpy(text, texts[k], n);
        names[k] = text;
        text += n;
    }
    return names;
}

/* The names of a file without class_names: FER2013's for seven classes of
 * FER2013's 48x48 grey images (the layout this workbench began with),
 * "class 0", "class 1", ... otherwise: seven classes of 32x32 colour
 * pictures are not Angry to Neutral. */
static char **default_class_names(int classes, int fer_shaped)
{
    if (classes == NUM_CLASSES && fer_shaped) return names_block(classes, class_names);
    char (*numbered)[24] = xmalloc((size_t)(classes ? classes : 1) * sizeof *numbered);
    const char **texts = xmalloc((size_t)(classes ? classes : 1) * sizeof *texts);
    for (int k = 0; k < classes; k++) {
        snprintf(numbered[k], sizeof numbered[k], "class %d", k);
        texts[k] = numbered[k];
    }
    char **names = names_block(classes, texts);
    free(texts);
    free(numbered);
    return names;
}

int class_name_check(const char *name, const char *path, const char *what, Error *err)
{
    size_t n = strlen(name);
    if (n == 0) return error_set(err, "%s: %s is empty; every class needs a name", path, what);
    if (n > CLASS_NAME_MAX)
        return error_set(err, "%s: %s is %zu bytes long; class names may have at most %d bytes "
                              "of UTF-8", path, what, n, CLASS_NAME_MAX);
    uint32_t c;
    long at = utf8_find_unprintable((const uint8_t *)name, n, "", &c);
    if (at >= 0 && c == UTF8_NOT_UTF8)
        return error_set(err, "%s: %s is not valid UTF-8 (at byte %ld)", path, what, at);
    if (at >= 0 && utf8_character_name(c))
        return error_set(err, "%s: %s holds U+%04X, %s (at byte %ld); class names must show "
                              "what they say", path, what, (unsigned)c, utf8_character_name(c), at);
    if (at >= 0)
        return error_set(err, "%s: %s holds the control character U+%04X (at byte %ld); "
                              "class names must be printable", path, what, (unsigned)c, at);
    return 0;
}

/* The entries of class_names: a 1-D string array, or uint8 UTF-8 text
 * with one name per line (a final newline, and a '\r' before each '\n',
 * are allowed). texts receives up to DATASET_MAX_CLASSES checked names. */
static int read_class_names(const NpyArray *a, const char *path,
                            char (*texts)[CLASS_NAME_MAX + 1], int *count, Error *err)
{
    char shape[96], what[64];
    npy_shape_string(a, shape, sizeof shape);
    if (npy_dtype_is_string(a->dtype) && a->ndim == 1) {
        if (a->count > DATASET_MAX_CLASSES)
            return error_set(err, "%s: class_names has %zu names; at most %d classes are "
                                  "supported", path, a->count, DATASET_MAX_CLASSES);
        /* Room for any element: UTF-8 takes at most 4 bytes per code point. */
        size_t cap = a->string_length * (a->dtype == NPY_UNICODE ? 4 : 1) + 1;
        char *text = xmalloc(cap);
        int status = 0;
        for (size_t k = 0; k < a->count && status == 0; k++) {
            snprintf(what, sizeof what, "class_names[%zu]", k);
            if (npy_string_element(a, k, text, cap, err))
                status = error_prefix(err, "%s", path);
            else if (class_name_check(text, path, what, err) == 0)
                memcpy(texts[k], text, strlen(text) + 1);
            else
                status = -1;
        }
        free(text);
        *count = (int)a->count;
        return status;
    }
    if (a->dtype == NPY_UINT8 && a->ndim == 1) {
        const char *starts[DATASET_MAX_CLASSES];
        size_t lengths[DATASET_MAX_CLASSES];
        const int lines = class_names_lines(a->data, a->count, starts, lengths,
                                            DATASET_MAX_CLASSES);
        if (lines > DATASET_MAX_CLASSES)
            return error_set(err, "%s: class_names has more than %d lines; at most %d classes "
                                  "are supported", path, DATASET_MAX_CLASSES, DATASET_MAX_CLASSES);
        for (int k = 0; k < lines; k++) {
            const size_t n = lengths[k];
            snprintf(what, sizeof what, "class_names line %d", k + 1);
            if (memchr(starts[k], '\0', n))
                return error_set(err, "%s: %s holds a NUL byte; class names must be printable",
                                 path, what);
            if (n > CLASS_NAME_MAX)
                return error_set(err, "%s: %s is %zu bytes long; class names may have at most "
                                      "%d bytes of UTF-8", path, what, n, CLASS_NAME_MAX);
            memcpy(texts[k], starts[k], n);
            texts[k][n] = '\0';
            if (class_name_check(texts[k], path, what, err)) return -1;
        }
        *count = lines;
        return 0;
    }
    return error_set(err, "%s: class_names is %s with shape %s; it must be a 1-D array of "
                          "strings (np.array(names)) or uint8 UTF-8 text with one name per line",
                     path, npy_dtype_name(a->dtype), shape);
}

/* What to do with labels of another form, as numpy says it: (N, 1)
 * columns are ravelled, one-hot (N, K) rows are argmax'ed, floats holding
 * class numbers are cast. "" when y is already (N,) integers. */
static const char *label_hint(const NpyArray *y)
{
    if (y->ndim == 2 && y->shape[1] == 1) return " (for an (N, 1) column, store y.ravel())";
    if (y->ndim == 2) return " (for one-hot rows (N, K), store y.argmax(1))";
    if (!is_integer_dtype(y->dtype)) return " (store y.astype(np.int64))";
    return "";
}

/* K from the labels: the largest in any integer y_* member, plus one. */
static int classes_from_labels(const NpzFile *npz, const char *path, int *classes, Error *err)
{
    const NpyArray *where = NULL;
    size_t where_index = 0;
    int64_t largest = -1;
    for (int m = 0; m < npz->count; m++) {
        const NpyArray *y = &npz->arrays[m];
        if (strncmp(y->name, "y_", 2) != 0 || !is_integer_dtype(y->dtype)) continue;
        for (size_t i = 0; i < y->count; i++) {
            int64_t v = integer_element(y, i);
            if (v > largest) largest = v, where = y, where_index = i;
        }
    }
    for (int m = 0; !where && m < npz->count; m++) {
        const NpyArray *y = &npz->arrays[m];
        if (strncmp(y->name, "y_", 2) == 0 && !is_integer_dtype(y->dtype))
            return error_set(err, "%s: %s is %s; labels must be integers, the classes 0..K-1%s",
                             path, y->name, npy_dtype_name(y->dtype), label_hint(y));
    }
    if (!where)
        return error_set(err, "%s: no y_ member holds a label of 0 or more, so the number of "
                              "classes is unknown (a class_names member would give it)", path);
    if (largest >= DATASET_MAX_CLASSES) {
        char text[32];
        return error_set(err, "%s: %s[%zu] is %s; without a class_names member the class count "
                              "is the largest label plus one, and at most %d classes are supported",
                         path, where->name, where_index,
                         integer_text(where, where_index, text, sizeof text), DATASET_MAX_CLASSES);
    }
    *classes = (int)largest + 1;
    return 0;
}

/* Whether every images member (x_*) holds FER2013's 48x48 grey images:
 * (N, 48, 48), (N, 1, 48, 48) or the flat (N, 2304); false without one. */
static int images_are_fer_shaped(const NpzFile *npz)
{
    int found = 0;
    for (int m = 0; m < npz->count; m++) {
        const NpyArray *x = &npz->arrays[m];
        if (strncmp(x->name, "x_", 2) != 0) continue;
        const int64_t *s = x->shape;
        int fer = (x->ndim == 2 && s[1] == IMAGE_PIXELS) ||
                  (x->ndim == 3 && s[1] == IMAGE_SIDE && s[2] == IMAGE_SIDE) ||
                  (x->ndim == 4 && s[1] == 1 && s[2] == IMAGE_SIDE && s[3] == IMAGE_SIDE);
        if (!fer) return 0;
        found = 1;
    }
    return found;
}

int dataset_classes_from_npz(const NpzFile *npz, const char *path, int *classes, char ***names,
                             Error *err)
{
    *classes = 0;
    *names = NULL;
    const NpyArray *member = npz_find(npz, "class_names");
    if (!member) {
        if (classes_from_labels(npz, path, classes, err)) return -1;
        *names = default_class_names(*classes, images_are_fer_shaped(npz));
        return 0;
    }
    char (*texts)[CLASS_NAME_MAX + 1] = xmalloc(DATASET_MAX_CLASSES * sizeof *texts);
    int count = 0;
    int status = read_class_names(member, path, texts, &count, err);
    if (status == 0 && count == 0)
        status = error_set(err, "%s: class_names is empty; it needs one name per class", path);
    for (int a = 0; status == 0 && a < count; a++)
        for (int b = a + 1; status == 0 && b < count; b++)
            if (!strcmp(texts[a], texts[b]))
                status = error_set(err, "%s: class_names entries %d and %d are both '%s'; each "
                                        "class needs its own name", path, a, b, texts[a]);
    if (status == 0) {
        const char **pointers = xmalloc((size_t)count * sizeof *pointers);
        for (int k = 0; k < count; k++) pointers[k] = texts[k];
        *names = names_block(count, pointers);
        *classes = count;
        free(pointers);
    }
    free(texts);
    return status;
}

/* ------------------------------------------------------------ splits */

static int copy_labels(const NpyArray *y, const char *path, int classes, int *labels, Error *err)
{
    if (!is_integer_dtype(y->dtype))
        return error_set(err, "%s: %s is %s; labels must be integers (classes 0..%d)%s", path,
                         y->name, npy_dtype_name(y->dtype), classes - 1, label_hint(y));
    for (size_t i = 0; i < y->count; i++) {
        int64_t v = integer_element(y, i);
        char text[32];
        if (v < 0 || v >= classes)
            return error_set(err, "%s: %s[%zu] is %s, outside the classes 0..%d", path, y->name,
                             i, integer_text(y, i, text, sizeof text), classes - 1);
        labels[i] = (int)v;
    }
    return 0;
}

/* A dataset of count images of (channels, height, width), without class names. */
static void alloc_images(Dataset *d, int count, int channels, int height, int width,
                         const char *split)
{
    assert(count >= 0 && (channels == 1 || channels == 3));
    assert(height >= 1 && height <= DATASET_MAX_SIDE && width >= 1 && width <= DATASET_MAX_SIDE);
    memset(d, 0, sizeof *d);
    d->count = count;
    d->channels = channels;
    d->height = height;
    d->width = width;
    d->images = xcalloc((size_t)count ? (size_t)count : 1, dataset_image_bytes(d));
    d->labels = xcalloc((size_t)count ? (size_t)count : 1, sizeof *d->labels);
    snprintf(d->split, sizeof d->split, "%s", split);
}

int dataset_from_npz(const NpzFile *npz, const char *path, const char *split, Dataset *out,
                     Error *err)
{
    memset(out, 0, sizeof *out);
    /* as long as any member's name may be: a split's name is one less "x_" */
    char x_name[sizeof ((NpyArray *)0)->name], y_name[sizeof x_name], members[256];
    snprintf(x_name, sizeof x_name, "x_%s", split);
    snprintf(y_name, sizeof y_name, "y_%s", split);
    const NpyArray *x = npz_find(npz, x_name), *y = npz_find(npz, y_name);
    if (!x || !y) {
        member_list(npz, members, sizeof members);
        return error_set(err, "%s: no member '%s' for the %s split (the file has: %s)", path,
                         !x ? x_name : y_name, split, members);
    }
    int channels = 0, height = 0, width = 0;
    if (image_shape(x, path, &channels, &height, &width, err)) return -1;
    if (y->ndim != 1) {
        char shape[96];
        return error_set(err, "%s: %s has shape %s; labels must be one-dimensional (N,)%s",
                         path, y->name, npy_shape_string(y, shape, sizeof shape), label_hint(y));
    }
    if (x->shape[0] != y->shape[0])
        return error_set(err, "%s: %s has %lld images but %s has %lld labels", path, x->name,
                         (long long)x->shape[0], y->name, (long long)y->shape[0]);
    if (x->shape[0] > INT32_MAX)
        return error_set(err, "%s: %s has %lld images, more than the loader handles", path,
                         x->name, (long long)x->shape[0]);
    int classes;
    char **names;
    if (dataset_classes_from_npz(npz, path, &classes, &names, err)) return -1;

    alloc_images(out, (int)x->shape[0], channels, height, width, split);
    out->classes = classes;
    out->class_names = names;
    out->names_given = npz_find(npz, "class_names") != NULL;
    if (copy_images(x, path, dataset_image_bytes(out), out->images, err) ||
        copy_labels(y, path, classes, out->labels, err)) {
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

void dataset_alloc_shape(Dataset *d, int count, int channels, int height, int width, int classes,
                         const char *split)
{
    assert(classes >= 1 && classes <= DATASET_MAX_CLASSES);
    alloc_images(d, count, channels, height, width, split);
    d->classes = classes;
    d->class_names = default_class_names(classes, channels == 1 && height == IMAGE_SIDE &&
                                                      width == IMAGE_SIDE);
}

void dataset_alloc(Dataset *d, int count, const char *split)
{
    dataset_alloc_shape(d, count, 1, IMAGE_SIDE, IMAGE_SIDE, NUM_CLASSES, split);
}

void dataset_free(Dataset *d)
{
    free(d->images);
    free(d->labels);
    free(d->class_names);
    memset(d, 0, sizeof *d);
}

size_t dataset_image_bytes(const Dataset *d)
{
    return (size_t)d->channels * (size_t)d->height * (size_t)d->width;
}

int dataset_check_fits(const Dataset *d, const char *path, int channels, int height, int width,
                       int classes, Error *err)
{
    if (d->channels == channels && d->height == height && d->width == width &&
        d->classes <= classes)
        return 0;
    return error_set(err, "%s: the %s split has images of (C, H, W) = (%d, %d, %d) in %d classes; "
                          "expected (%d, %d, %d) images in at most %d classes",
                     path, d->split, d->channels, d->height, d->width, d->classes, channels,
                     height, width, classes);
}

/* ------------------------------------------------------------- batching */

static int clamp_index(int i, int size)
{
    return i < 0 ? 0 : i >= size ? size - 1 : i;
}

void augment_image(const uint8_t *in, int channels, int height, int width, int flip, int shift_y,
                   int shift_x, uint8_t *out)
{
    for (int c = 0; c < channels; c++) {
        const uint8_t *plane = in + (size_t)c * height * width;
        uint8_t *out_plane = out + (size_t)c * height * width;
        for (int y = 0; y < height; y++) {
            const uint8_t *row = plane + (size_t)clamp_index(y - shift_y, height) * width;
            for (int x = 0; x < width; x++) {
                int source = clamp_index(x - shift_x, width);
                out_plane[(size_t)y * width + x] = row[flip ? width - 1 - source : source];
            }
        }
    }
}

Augment augment_default(void)
{
    return (Augment){.flip = 1, .shift = AUGMENT_MAX_SHIFT};
}

int augment_warps(const Augment *a)
{
    return a->rotate > 0 || a->scale > 0;
}

void augment_warp(const uint8_t *in, int channels, int height, int width, int flip,
                  double degrees, double zoom, int shift_y, int shift_x, uint8_t *out)
{
    const double pi = 3.14159265358979323846;
    const double cy = 0.5 * (height - 1), cx = 0.5 * (width - 1);
    /* the inverse map: undo the shift, then the zoom, then the rotation */
    const double c = cos(degrees * pi / 180) / zoom, s = sin(degrees * pi / 180) / zoom;
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            double v = y - shift_y - cy, u = x - shift_x - cx;
            /* a counter-clockwise turn on screen (y down) read backwards */
            double sy = cy + s * u + c * v, sx = cx + c * u - s * v;
            if (flip) sx = (width - 1) - sx;
            sy = sy < 0 ? 0 : sy > height - 1 ? height - 1 : sy;
            sx = sx < 0 ? 0 : sx > width - 1 ? width - 1 : sx;
            int y0 = (int)sy, x0 = (int)sx;
            int y1 = y0 + 1 < height ? y0 + 1 : y0, x1 = x0 + 1 < width ? x0 + 1 : x0;
            double fy = sy - y0, fx = sx - x0;
            for (int ch = 0; ch < channels; ch++) {
                const uint8_t *p = in + (size_t)ch * height * width;
                double top = p[(size_t)y0 * width + x0] * (1 - fx) + p[(size_t)y0 * width + x1] * fx;
                double bottom =
                    p[(size_t)y1 * width + x0] * (1 - fx) + p[(size_t)y1 * width + x1] * fx;
                double level = top * (1 - fy) + bottom * fy;
                out[((size_t)ch * height + y) * width + x] = (uint8_t)(level + 0.5);
            }
        }
    }
}

void augment_erase(uint8_t *image, int channels, int height, int width, int top, int left,
                   int rows, int cols, Rng *rng)
{
    assert(top >= 0 && left >= 0 && top + rows <= height && left + cols <= width);
    for (int ch = 0; ch < channels; ch++)
        for (int y = top; y < top + rows; y++)
            for (int x = left; x < left + cols; x++)
                image[((size_t)ch * height + y) * width + x] = (uint8_t)rng_below(rng, 256);
}

/* One image of a batch through the recipe's draws (see loader_fill_batch). */
static void augment_one(const uint8_t *image, int channels, int height, int width,
                        const Augment *recipe, Rng *rng, uint8_t *out)
{
    int span = 2 * recipe->shift + 1;
    int flip = (int)rng_below(rng, 2) && recipe->flip;
    int shift_y = (int)rng_below(rng, (uint32_t)span) - recipe->shift;
    int shift_x = (int)rng_below(rng, (uint32_t)span) - recipe->shift;
    double degrees = recipe->rotate > 0 ? rng_range(rng, -recipe->rotate, recipe->rotate) : 0;
    double zoom = recipe->scale > 0 ? rng_range(rng, 1 - recipe->scale, 1 + recipe->scale) : 1;
    if (augment_warps(recipe))
        augment_warp(image, channels, height, width, flip, degrees, zoom, shift_y, shift_x, out);
    else
        augment_image(image, channels, height, width, flip, shift_y, shift_x, out);
    if (recipe->erase > 0 && rng_uniform(rng) < recipe->erase) {
        const double pixels = (double)height * width, widest = log(AUGMENT_ERASE_MAX_ASPECT);
        for (int attempt = 0; attempt < 10; attempt++) {
            double area = rng_range(rng, AUGMENT_ERASE_MIN_AREA, AUGMENT_ERASE_MAX_AREA);
            double aspect = exp(rng_range(rng, -widest, widest));
            int rows = (int)lround(sqrt(area * pixels * aspect));
            int cols = (int)lround(sqrt(area * pixels / aspect));
            if (rows < 1 || cols < 1 || rows > height || cols > width) continue;
            int top = (int)rng_below(rng, (uint32_t)(height - rows + 1));
            int left = (int)rng_below(rng, (uint32_t)(width - cols + 1));
            augment_erase(out, channels, height, width, top, left, rows, cols, rng);
            break;
        }
    }
}

void loader_fill_batch(const Dataset *data, const int *indices, int count, const Augment *recipe,
                       Rng *rng, Tensor *x, int *labels)
{
    int dims[4] = {count, data->channels, data->height, data->width};
    tensor_resize(x, 4, dims);
    const size_t image_bytes = dataset_image_bytes(data);
    /* pixel / 255 for the 256 possible bytes: the same division, done once. */
    real scale[256];
    for (int p = 0; p < 256; p++) scale[p] = (real)p / (real)255;

    uint8_t *moved = recipe ? xmalloc(image_bytes) : NULL;
    for (int b = 0; b < count; b++) {
        int index = indices[b];
        assert(index >= 0 && index < data->count);
        const uint8_t *image = data->images + (size_t)index * image_bytes;
        if (recipe) {
            augment_one(image, data->channels, data->height, data->width, recipe, rng, moved);
            image = moved;
        }
        real *out = x->data + (size_t)b * image_bytes;
        for (size_t i = 0; i < image_bytes; i++) out[i] = scale[image[i]];
        labels[b] = data->labels[index];
    }
    free(moved);
}

void loader_fill_view(const Dataset *data, const int *indices, int count, int flip, int shift_y,
                      int shift_x, Tensor *x, int *labels)
{
    int dims[4] = {count, data->channels, data->height, data->width};
    tensor_resize(x, 4, dims);
    const size_t image_bytes = dataset_image_bytes(data);
    uint8_t *moved = xmalloc(image_bytes);
    for (int b = 0; b < count; b++) {
        int index = indices[b];
        assert(index >= 0 && index < data->count);
        augment_image(data->images + (size_t)index * image_bytes, data->channels, data->height,
                      data->width, flip, shift_y, shift_x, moved);
        real *out = x->data + (size_t)b * image_bytes;
        for (size_t i = 0; i < image_bytes; i++) out[i] = (real)moved[i] / (real)255;
        labels[b] = data->labels[index];
    }
    free(moved);
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
    loader->min_batch = options.min_batch;
    loader->shuffle = options.shuffle;
    const Augment *r = &options.recipe;
    int unset = !r->flip && !r->shift && !r->rotate && !r->scale && !r->erase;
    loader->augmenting = options.augment && !strcmp(data->split, "train");
    loader->recipe = unset ? augment_default() : *r;
    if (options.no_flip) loader->recipe.flip = 0;
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
    if (count < loader->min_batch) count = 0; /* left out: too few for a batch */
    loader->batch_count = count;
    if (count == 0) return 0;
    memcpy(loader->batch_indices, loader->order + loader->position,
           (size_t)count * sizeof *loader->batch_indices);
    loader->position += count;
    loader_fill_batch(loader->data, loader->batch_indices, count,
                      loader->augmenting ? &loader->recipe : NULL, &loader->augment_rng, x, labels);
    return count;
}

const int *loader_batch_indices(const Loader *loader)
{
    return loader->batch_indices;
}

int loader_batches_per_epoch(const Loader *loader)
{
    const int count = loader->data->count, last = count % loader->batch_size;
    return count / loader->batch_size + (last > 0 && last >= loader->min_batch);
}

int loader_images_per_epoch(const Loader *loader)
{
    const int count = loader->data->count, last = count % loader->batch_size;
    return last < loader->min_batch ? count - last : count;
}

int dataset_check_names(const Dataset *d, const char *path, const char *const *names,
                        Error *err)
{
    if (!d->names_given) return 0;
    for (int k = 0; k < d->classes; k++)
        if (strcmp(d->class_names[k], names[k]) != 0)
            return error_set(err, "%s: class %d is '%s' in its class_names but '%s' in the "
                                  "model; its labels would be counted against the wrong "
                                  "classes", path, k, d->class_names[k], names[k]);
    return 0;
}
