#include "checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "npz.h"

int checkpoint_save(const char *path, Network *net, Error *err)
{
    NpzWriter *writer = npz_writer_open(path, 0, err);
    if (!writer) return -1;
    for (int i = 0; i < network_num_params(net); i++) {
        char name[64];
        Param *param = network_param(net, i, name, sizeof name);
        const Tensor *t = param->value;
        int64_t shape[TENSOR_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) shape[d] = t->dim[d];
        float *data = xmalloc(t->size * sizeof *data);
        for (size_t k = 0; k < t->size; k++) data[k] = (float)t->data[k];
        int status = npz_writer_add(writer, name, NPY_FLOAT32, t->ndim, shape, data, err);
        free(data);
        if (status != 0) {
            npz_writer_abort(writer);
            return error_prefix(err, "%s", path);
        }
    }
    return npz_writer_close(writer, err);
}

static const char *const array_names[8] = {"conv1.w", "conv1.b", "conv2.w", "conv2.b",
                                           "fc1.w",   "fc1.b",   "fc2.w",   "fc2.b"};

/* The array, which must exist and have ndim dimensions. */
static const NpyArray *find_array(const NpzFile *npz, const char *path, const char *name, int ndim,
                                  Error *err)
{
    const NpyArray *a = npz_find(npz, name);
    if (!a) {
        error_set(err, "%s: not an emotion CNN checkpoint: array '%s' is missing", path, name);
        return NULL;
    }
    if (npy_dtype_is_string(a->dtype)) {
        error_set(err, "%s: array '%s' holds strings, not weights", path, name);
        return NULL;
    }
    if (a->ndim != ndim) {
        error_set(err, "%s: array '%s' has %d dimensions, expected %d", path, name, a->ndim, ndim);
        return NULL;
    }
    return a;
}

static int expect_shape(const char *path, const NpyArray *a, const int64_t *want, Error *err)
{
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != want[d]) {
            char got[96], expected[96];
            int got_dims[NPY_MAX_DIMS], want_dims[NPY_MAX_DIMS];
            for (int k = 0; k < a->ndim; k++) {
                got_dims[k] = (int)a->shape[k];
                want_dims[k] = (int)want[k];
            }
            return error_set(err, "%s: array '%s' has shape %s, expected %s", path, a->name,
                             shape_string(a->ndim, got_dims, got, sizeof got),
                             shape_string(a->ndim, want_dims, expected, sizeof expected));
        }
    return 0;
}

Network *checkpoint_load(const char *path, EmotionCnnConfig *config_out, Error *err)
{
    NpzFile npz;
    if (npz_read(path, &npz, err) != 0) return NULL;
    static const int ndims[8] = {4, 1, 4, 1, 2, 1, 2, 1};
    const NpyArray *arrays[8];
    Network *net = NULL;
    for (int i = 0; i < 8; i++)
        if (!(arrays[i] = find_array(&npz, path, array_names[i], ndims[i], err))) goto done;

    /* Widths from the shapes; every other dimension must agree with them. */
    const int64_t c1 = arrays[0]->shape[0], c2 = arrays[2]->shape[0], hidden = arrays[4]->shape[1];
    const int64_t quarter = IMAGE_SIDE / 4;
    const int64_t want[8][4] = {
        {c1, 1, 3, 3}, {c1}, {c2, c1, 3, 3}, {c2}, {c2 * quarter * quarter, hidden}, {hidden},
        {hidden, NUM_CLASSES}, {NUM_CLASSES},
    };
    if (c1 < 1 || c2 < 1 || hidden < 1 || c1 > 4096 || c2 > 4096 || hidden > 65536) {
        error_set(err, "%s: implausible widths conv1 %lld, conv2 %lld, hidden %lld", path,
                  (long long)c1, (long long)c2, (long long)hidden);
        goto done;
    }
    for (int i = 0; i < 8; i++)
        if (expect_shape(path, arrays[i], want[i], err) != 0) goto done;

    EmotionCnnConfig config = {.side = IMAGE_SIDE, .conv1 = (int)c1, .conv2 = (int)c2,
                               .hidden = (int)hidden, .classes = NUM_CLASSES};
    net = emotion_cnn_create(&config, err);
    if (!net) goto done;
    for (int i = 0; i < 8; i++) {
        Param *param = network_param(net, i, NULL, 0);
        double *values = xmalloc(arrays[i]->count * sizeof *values);
        npy_to_float64(arrays[i], values);
        for (size_t k = 0; k < arrays[i]->count; k++) param->value->data[k] = (real)values[k];
        free(values);
    }
    if (config_out) *config_out = config;
done:
    npz_free(&npz);
    return net;
}
