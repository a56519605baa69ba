#include "layer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

void layer_free(Layer *layer)
{
    if (layer) layer->ops->destroy(layer);
}

void layer_resize_output(const Layer *layer, const Tensor *x, Tensor *out)
{
    int ndim, dims[TENSOR_MAX_DIMS];
    Error err;
    if (layer_output_shape(layer, x->ndim, x->dim, &ndim, dims, &err) != 0) {
        /* A bug in the caller: shapes are checked when a network is built. */
        fprintf(stderr, "%s: %s\n", layer->name, err.msg);
        abort();
    }
    tensor_resize(out, ndim, dims);
}
