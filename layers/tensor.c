#include "tensor.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static size_t shape_size(int ndim, const int *dims)
{
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        assert(dims[i] >= 0);
        size *= (size_t)dims[i];
    }
    return size;
}

Tensor *tensor_new(int ndim, const int *dims)
{
    assert(ndim >= 1 && ndim <= TENSOR_MAX_DIMS);
    Tensor *t = xcalloc(1, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dim[i] = dims[i];
    t->size = shape_size(ndim, dims);
    t->capacity = t->size;
    t->data = xcalloc_aligned(t->size * sizeof(real));
    return t;
}

Tensor *tensor_new2(int n, int d)
{
    int dims[2] = {n, d};
    return tensor_new(2, dims);
}

Tensor *tensor_new4(int n, int c, int h, int w)
{
    int dims[4] = {n, c, h, w};
    return tensor_new(4, dims);
}

void tensor_free(Tensor *t)
{
    if (!t) return;
    free(t->data);
    free(t);
}

Tensor *tensor_like(const Tensor *t)
{
    return tensor_new(t->ndim, t->dim);
}

Tensor *tensor_copy(const Tensor *t)
{
    Tensor *c = tensor_like(t);
    memcpy(c->data, t->data, t->size * sizeof(real));
    return c;
}

void tensor_resize(Tensor *t, int ndim, const int *dims)
{
    assert(ndim >= 1 && ndim <= TENSOR_MAX_DIMS);
    size_t size = shape_size(ndim, dims);
    if (size > t->capacity || !t->data) {
        free(t->data);
        t->data = xcalloc_aligned(size * sizeof(real));
        t->capacity = size;
    }
    t->ndim = ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t->dim[i] = i < ndim ? dims[i] : 0;
    t->size = size;
}

void tensor_zero(Tensor *t)
{
    memset(t->data, 0, t->size * sizeof(real));
}

void tensor_fill(Tensor *t, real value)
{
    for (size_t i = 0; i < t->size; i++) t->data[i] = value;
}

int tensor_same_shape(const Tensor *a, const Tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return 0;
    return 1;
}

const char *shape_string(int ndim, const int *dims, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %d" : "%d", dims[i]);
    if (used < len) snprintf(buf + used, len - used, ndim == 1 ? ",)" : ")");
    return buf;
}

const char *tensor_shape_string(const Tensor *t, char *buf, size_t len)
{
    return shape_string(t->ndim, t->dim, buf, len);
}

size_t tensor_item_size(const Tensor *t)
{
    return t->dim[0] ? t->size / (size_t)t->dim[0] : 0;
}
