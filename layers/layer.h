/* layer.h: the one interface every layer has.
 *
 * As in CS231n's assignments, a layer is a pair of functions:
 *
 *   forward:  x  -> out      (and remember what backward will need)
 *   backward: dout -> dx     (and the gradient of every parameter)
 *
 * where dout = dL/dout is the gradient of the loss with respect to this
 * layer's output, handed down from the layer above, and dx = dL/dx is what
 * this layer hands further down. Because every layer has this shape, one
 * network, one optimizer and one gradient checker can drive any layer
 * without knowing which one it is.
 *
 * Conventions:
 * - forward remembers a pointer to x (layer->input): the caller keeps x
 *   alive and unchanged until backward has run. (A layer marked in_place,
 *   ReLU, may itself write its output over x: its backward never reads x.
 *   No layer's backward reads its own output except such a layer's, so
 *   the network can let ReLU overwrite the output of the layer below.)
 * - forward resizes out to the output shape; backward resizes dx to x's shape.
 * - backward OVERWRITES dx and every parameter gradient (it does not add to
 *   them). dx may be NULL when nobody needs it (the first layer), which saves
 *   the work of computing it.
 * - Shapes: images are NCHW tensors; fully connected layers see (N, D). */
#ifndef LAYER_H
#define LAYER_H

#include <stdint.h>

#include "error.h"
#include "tensor.h"

/* How a parameter starts (network_init) and whether weight decay pulls it
 * towards 0. The layer that owns a parameter says so: nothing else needs
 * to recognise it by name. */
typedef enum {
    PARAM_INIT_HE,    /* w ~ N(0, 2 / fan_in): conv and fc weights */
    PARAM_INIT_ZERO,  /* 0: biases (and batchnorm's shift) */
    PARAM_INIT_ONE,   /* 1: batchnorm's scale */
} ParamInit;

/* A learnable tensor and its gradient, as the optimizer sees it. */
typedef struct {
    const char *name;  /* "w", "b": the checkpoint names it conv1.w, conv1.b */
    Tensor *value;
    Tensor *grad;      /* same shape as value; written by backward */
    ParamInit init;
    int fan_in;        /* inputs feeding one output (for PARAM_INIT_HE) */
    int decay;         /* 1: weight decay applies (weights); 0: it does not (biases) */
} Param;

/* A tensor a layer keeps and saves but does not learn: batchnorm's running
 * statistics. Checkpoints hold it (bn1.running_mean); optimizers never see it. */
typedef struct {
    const char *name;
    Tensor *value;
    int nonnegative; /* 1: a variance, which a checkpoint cannot hold negative */
} Buffer;

#define LAYER_MAX_BUFFERS 2

/* Training or evaluation. Layers that behave differently in training
 * (dropout, batch normalisation) read it; the network sets it for all. */
typedef enum { LAYER_TRAIN, LAYER_EVAL } LayerMode;

#define LAYER_MAX_PARAMS 2

typedef struct Layer Layer;

typedef struct {
    const char *kind; /* "conv", "relu", "maxpool", "avgpool", "fc", "batchnorm",
                       * "dropout", "crop" */
    /* 1 if forward accepts out == x and backward accepts dx == dout: the
     * layer computes each output element from the same element of its
     * input alone, and its backward does not need x. A network then runs
     * the layer in place, in its input's buffer (relu.h says why it can). */
    int in_place;
    /* 1 if backward alone accepts dx == dout: each element of dx comes from
     * the same element of dout, read before it is written (batchnorm,
     * dropout). The network then gives dout and dx one buffer: the write
     * lands on cache lines just read, where a second buffer would first
     * be fetched from memory to be written over. (in_place implies it.) */
    int backward_in_place;
    /* Bytes the layer keeps per output value for its backward (max-pool's
     * argmax: an int; dropout's mask: a byte), for the memory estimate. */
    int cache_bytes_per_output;
    /* 1 if training mode normalises each channel by statistics over the
     * batch (batchnorm): a batch must give every channel two values or more
     * (images x positions), or its variance is 0 and the output a constant. */
    int batch_statistics;
    /* The output shape for an input shape (ndim/dims), or -1 with a message
     * if the layer cannot take that input. */
    int (*output_shape)(const Layer *layer, int ndim, const int *in_dims,
                        int *out_ndim, int *out_dims, Error *err);
    /* The scratch each thread needs for forward and backward, in reals, for
     * an input shape (a convolution's unrolled image, or its padded one):
     * for the memory estimate. NULL: none. */
    double (*workspace_per_thread)(const Layer *layer, int ndim, const int *in_dims);
    /* Forward floating-point operations for one item of the given input
     * shape (a multiply-add counts 2), for the model table and the bench. */
    double (*flops)(const Layer *layer, int ndim, const int *in_dims);
    /* The same for backward: the parameter gradients' operations, plus dx's
     * when with_dx (a network does not ask its first layer for dx, and the
     * layer then skips that work). NULL: not counted. */
    double (*backward_flops)(const Layer *layer, int ndim, const int *in_dims, int with_dx);
    /* How far x is from the nearest point where the layer is not
     * differentiable (ReLU at 0, a max-pool window's tie), so the gradient
     * checker can stay away from kinks. NULL: the layer is smooth. */
    double (*kink_distance)(const Layer *layer, const Tensor *x);
    /* How many roundings of its size each output value carries, where the
     * layer's arithmetic multiplies rounding well beyond a sum of products
     * (Winograd's transforms, conv.c), so the gradient checker can tell
     * what rounding leaves in a centred difference. NULL: 1. */
    double (*output_roundings)(const Layer *layer);
    void (*forward)(Layer *layer, const Tensor *x, Tensor *out);
    void (*backward)(Layer *layer, const Tensor *dout, Tensor *dx);
    void (*destroy)(Layer *layer);
} LayerOps;

struct Layer {
    const LayerOps *ops;
    char name[32];            /* e.g. "conv1", set by whoever builds the network */
    const Tensor *input;      /* the x of the last forward (not owned) */
    LayerMode mode;           /* LAYER_TRAIN unless the network says otherwise */
    int num_params;
    Param params[LAYER_MAX_PARAMS];
    int num_buffers;
    Buffer buffers[LAYER_MAX_BUFFERS];
    /* Where a layer that draws random numbers in training (dropout) takes
     * them from: the network sets it before each training step, so a run
     * is the same for the same seed whatever the thread count. */
    uint64_t noise_key;
};

/* Calls through the ops table, so code reads layer_forward(conv, x, out). */
static inline void layer_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    layer->ops->forward(layer, x, out);
}

static inline void layer_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    layer->ops->backward(layer, dout, dx);
}

static inline double layer_output_roundings(const Layer *layer)
{
    return layer->ops->output_roundings ? layer->ops->output_roundings(layer) : 1;
}

static inline int layer_output_shape(const Layer *layer, int ndim, const int *in_dims,
                                     int *out_ndim, int *out_dims, Error *err)
{
    return layer->ops->output_shape(layer, ndim, in_dims, out_ndim, out_dims, err);
}

/* Frees the layer, its parameters and its caches. NULL is allowed. */
void layer_free(Layer *layer);

/* Resizes out to the layer's output shape for input x; asserts that the
 * shape is valid (callers validate shapes up front with layer_output_shape). */
void layer_resize_output(const Layer *layer, const Tensor *x, Tensor *out);

/* For layers that share planes (one image's channel, plane_size numbers
 * each) among threads: how many planes a thread takes at a time, so that a
 * chunk holds about 16K numbers, whatever the plane size: 16 planes of
 * 6x6 are a few hundred numbers, hardly worth a trip to the shared
 * counter; 16 of 48x48 are 37K. Which thread takes which plane changes no
 * result. */
static inline int planes_per_chunk(size_t plane_size)
{
    const size_t chunk = 16384 / (plane_size > 0 ? plane_size : 1);
    return chunk > 0 ? (int)chunk : 1;
}

/* A random 64-bit number that depends only on (key, i): the finaliser of
 * splitmix64 applied to the i-th step of a Weyl sequence from key. Layers
 * that draw in training (dropout's mask, crop's offsets) take draw i from
 * their noise key, so draws need no state and threads can take any of them
 * in any order. */
static inline uint64_t layer_noise(uint64_t key, uint64_t i)
{
    uint64_t z = key + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
