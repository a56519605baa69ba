/* network.h: a stack of layers ending in softmax cross-entropy.
 *
 * The network only knows the Layer interface: forward runs the layers in
 * order, each output feeding the next; backward runs them in reverse, each
 * dx becoming the dout of the layer below. That is all backpropagation is:
 * the chain rule applied one layer at a time.
 *
 *   x (N, C, H, W) -> layer 0 -> out[0] -> layer 1 -> ... -> out[L-1] = scores (N, K)
 *   loss = softmax_xent(scores, labels)
 *   grad[L-1] = dL/dscores -> layer L-1 backward -> grad[L-2] -> ... -> dL/dx
 *
 * Memory: a training step of batch 64 holds every activation (backward
 * needs them) but only two gradients at a time, and the ReLU layers share
 * their input's buffers. Both matter: the activations and gradients of the
 * emotion CNN at batch 64 would otherwise take 135 MB, now 66 MB. */
#ifndef NETWORK_H
#define NETWORK_H

#include "layer.h"
#include "rng.h"
#include "softmax_xent.h"

#define NETWORK_MAX_LAYERS 64

typedef struct {
    int input_dims[3];                    /* (C, H, W) of one input item */
    int num_layers;
    Layer *layers[NETWORK_MAX_LAYERS];    /* owned */
    /* out[i]: output of layer i. An in-place layer (ReLU) writes over its
     * input, so its out[i] is out[i - 1]: one buffer, not two. */
    Tensor *out[NETWORK_MAX_LAYERS];
    /* grad[i]: dL/d out[i], while backward passes through layer i. Once
     * layer i has turned it into dL/d out[i - 1] it is never read again, so
     * the gradients take turns in two buffers: grad[i] and grad[i - 1] are
     * different buffers, unless layer i works in place. */
    Tensor *grad[NETWORK_MAX_LAYERS];
    Tensor *grad_buffers[2];              /* what grad[] points into (owned) */
    Tensor *probs;                        /* softmax of the scores, (N, K) */
    char *description;                    /* the text it was built from, or NULL (owned) */
    /* class weights and label smoothing of the loss (softmax_xent.h); zero
     * for the plain mean. Set by the trainer (the weights not owned), never
     * saved with the weights. */
    LossOptions loss;
} Network;

/* An empty network for inputs of shape (N, channels, height, width). */
Network *network_new(int channels, int height, int width);
void network_free(Network *net);

/* Appends a layer (taking ownership; freed on failure too) after checking
 * that it accepts the previous layer's output shape. */
int network_add(Network *net, Layer *layer, const char *name, Error *err);

/* The fewest images a training batch may hold: 2 if a layer with batch
 * statistics (batchnorm) sees one value per channel per image (features,
 * or a 1x1 map), since one value has no spread; else 1. *layer_index (if
 * not NULL) is the first such layer, or -1. */
int network_min_batch(const Network *net, int *layer_index);

/* Output shape of the whole network for one item, e.g. (K,) */
int network_output_size(const Network *net);

/* Runs every layer on x; returns the scores (N, K). x must stay alive and
 * unchanged until backward. */
const Tensor *network_forward(Network *net, const Tensor *x);

/* forward, then softmax cross-entropy: returns the mean loss (weighted by
 * net->loss's class weights, smoothed as it says), fills net->probs. */
double network_loss(Network *net, const Tensor *x, const int *labels);

/* Backpropagates dscores = dL/dscores through every layer, writing every
 * parameter gradient; dx (may be NULL) receives dL/dx. Call after forward. */
void network_backward(Network *net, const Tensor *dscores, Tensor *dx);

/* After network_loss: backpropagates the loss's gradient. */
void network_loss_backward(Network *net, const int *labels, Tensor *dx);

/* Every parameter of every layer, in order. name receives "conv1.w" etc. */
int network_num_params(const Network *net);
Param *network_param(Network *net, int index, char *name, size_t name_len);
size_t network_param_count(const Network *net); /* total number of scalars */

/* The shape of one item after the first `count` layers (count 0: the
 * input), as (1, C, H, W) or (1, D): dims[0] is 1. */
void network_shape_after(const Network *net, int count, int *ndim, int *dims);

/* The same after every layer added so far. */
void network_item_shape(const Network *net, int *ndim, int *dims);

/* Every buffer (Layer.buffers: batchnorm's running statistics) of every
 * layer, in order; name receives "bn1.running_mean" etc. */
int network_num_buffers(const Network *net);
Buffer *network_buffer(Network *net, int index, char *name, size_t name_len);

/* Gives every layer its own noise key derived from key (see
 * Layer.noise_key): training sets one per step from its seed. */
void network_set_noise(Network *net, uint64_t key);

/* Training or evaluation mode for every layer (see LayerMode). A new
 * network is in training mode. */
void network_set_mode(Network *net, LayerMode mode);

/* The text description the network was built from (layers/arch.h), kept
 * with it so a checkpoint can carry it; NULL for a network built in code. */
void network_set_description(Network *net, const char *text);

/* The first NaN or infinite parameter entry: returns its parameter's
 * index and stores the entry's index, or returns -1 if every one is finite. */
int network_first_non_finite(Network *net, size_t *entry);

/* Floating-point operations per item (a multiply-add counts 2), as the
 * layers count them (LayerOps.flops and .backward_flops): layer `index`'s
 * forward and backward in a training step, whose backward computes no dx
 * for the first layer (network_loss_backward with dx NULL); and the sums
 * over all layers. The softmax and the optimizer's update are not counted. */
void network_layer_flops(const Network *net, int index, double *forward, double *backward);
void network_step_flops(const Network *net, double *forward, double *backward);

/* About how many bytes the network takes for a batch: parameters (with
 * their gradients and up to two optimizer slots when training), every
 * activation and the two gradient buffers, what layers keep for their
 * backward (LayerOps.cache_bytes_per_output), and the convolutions'
 * per-thread workspaces. An estimate to refuse impossible sizes before
 * allocating. */
double network_bytes(const Network *net, int batch, int training, int threads);

/* The part of network_bytes that does not grow with the batch: the largest
 * per-thread scratch of any layer (LayerOps.workspace_per_thread: a
 * convolution's unrolled or padded image), and which layer's it is
 * (*layer_index, -1 if no layer has any; NULL: not asked). */
double network_workspace_bytes(const Network *net, int threads, int *layer_index);

/* Every parameter from its role: weights He-initialised, w ~ N(0, 2/fan_in),
 * which keeps the variance of activations steady through ReLU layers;
 * biases 0 (Param.init). */
void network_init(Network *net, Rng *rng);

#endif
