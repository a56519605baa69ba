/* tensor.h: a small contiguous array of `real` with up to four dimensions.
 *
 * Images are stored NCHW: element (n, c, h, w) of a (N, C, H, W) tensor is
 * at data[((n*C + c)*H + h)*W + w]. A fully connected layer's input and
 * output are (N, D) tensors: ndim = 2. Nothing clever: a shape, a count and
 * the data. */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>

#include "real.h"

#define TENSOR_MAX_DIMS 4

typedef struct {
    int ndim;
    int dim[TENSOR_MAX_DIMS]; /* dim[0] is the batch size N */
    size_t size;              /* product of the dims */
    size_t capacity;          /* elements allocated at data (>= size) */
    real *data;
} Tensor;

/* A zero-filled tensor of the given shape; tensor_free releases it. */
Tensor *tensor_new(int ndim, const int *dims);
Tensor *tensor_new2(int n, int d);
Tensor *tensor_new4(int n, int c, int h, int w);
void tensor_free(Tensor *t);

/* A new tensor of the same shape as t (zero-filled, or a copy). */
Tensor *tensor_like(const Tensor *t);
Tensor *tensor_copy(const Tensor *t);

/* Gives t the new shape, reallocating only when it needs more room than it
 * has ever had, so a network's activations can follow a changing batch size
 * (and a buffer can hold tensors of different shapes in turn) without
 * allocating in every step. Contents are unspecified afterwards. */
void tensor_resize(Tensor *t, int ndim, const int *dims);

void tensor_zero(Tensor *t);
void tensor_fill(Tensor *t, real value);

/* True if a and b have the same ndim and dims. */
int tensor_same_shape(const Tensor *a, const Tensor *b);

/* Writes a shape as numpy prints it, "(2, 3, 8, 8)", into buf. */
const char *tensor_shape_string(const Tensor *t, char *buf, size_t len);
const char *shape_string(int ndim, const int *dims, char *buf, size_t len);

/* Number of elements per batch item: C*H*W, or D for an (N, D) tensor. */
size_t tensor_item_size(const Tensor *t);

#endif
