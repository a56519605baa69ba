#include "network.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softmax_xent.h"

Network *network_new(int channels, int height, int width)
{
    Network *net = xcalloc(1, sizeof *net);
    net->input_dims[0] = channels;
    net->input_dims[1] = height;
    net->input_dims[2] = width;
    net->probs = tensor_new2(1, 1);
    net->grad_buffers[0] = tensor_new2(1, 1);
    net->grad_buffers[1] = tensor_new2(1, 1);
    return net;
}

void network_free(Network *net)
{
    if (!net) return;
    for (int i = 0; i < net->num_layers; i++) {
        layer_free(net->layers[i]);
        if (i == 0 || net->out[i] != net->out[i - 1]) tensor_free(net->out[i]);
    }
    tensor_free(net->grad_buffers[0]);
    tensor_free(net->grad_buffers[1]);
    tensor_free(net->probs);
    free(net->description);
    free(net);
}

/* The per-item output shape after the first `count` layers. */
static int shape_after(const Network *net, int count, int *ndim, int *dims, Error *err)
{
    *ndim = 4;
    dims[0] = 1;
    for (int i = 0; i < 3; i++) dims[i + 1] = net->input_dims[i];
    for (int i = 0; i < count; i++) {
        int in[TENSOR_MAX_DIMS], in_ndim = *ndim;
        memcpy(in, dims, sizeof in);
        if (layer_output_shape(net->layers[i], in_ndim, in, ndim, dims, err) != 0)
            return error_prefix(err, "%s", net->layers[i]->name);
    }
    return 0;
}

/* grad[i] for every layer, from the top: the scores' gradient goes in
 * buffer 0, and each layer's dx goes in the other buffer from its dout,
 * or the same one if the layer's backward works in place. */
static void assign_gradient_buffers(Network *net)
{
    int buffer = 0;
    for (int i = net->num_layers - 1; i >= 0; i--) {
        net->grad[i] = net->grad_buffers[buffer];
        const LayerOps *ops = net->layers[i]->ops;
        if (!ops->in_place && !ops->backward_in_place) buffer = 1 - buffer;
    }
}

int network_add(Network *net, Layer *layer, const char *name, Error *err)
{
    int ndim, dims[TENSOR_MAX_DIMS], out_ndim, out_dims[TENSOR_MAX_DIMS];
    if (!layer) return -1; /* the constructor already set err */
    snprintf(layer->name, sizeof layer->name, "%s", name);
    if (net->num_layers == NETWORK_MAX_LAYERS) {
        layer_free(layer);
        return error_set(err, "a network holds at most %d layers", NETWORK_MAX_LAYERS);
    }
    shape_after(net, net->num_layers, &ndim, dims, NULL);
    if (layer_output_shape(layer, ndim, dims, &out_ndim, out_dims, err) != 0) {
        error_prefix(err, "%s", name);
        layer_free(layer);
        return -1;
    }
    int i = net->num_layers++;
    net->layers[i] = layer;
    /* The first layer's input is the caller's x: never written over. */
    int in_place = layer->ops->in_place && i > 0;
    net->out[i] = in_place ? net->out[i - 1] : tensor_new(out_ndim, out_dims);
    assign_gradient_buffers(net);
    return 0;
}

void network_shape_after(const Network *net, int count, int *ndim, int *dims)
{
    shape_after(net, count, ndim, dims, NULL);
}

void network_item_shape(const Network *net, int *ndim, int *dims)
{
    shape_after(net, net->num_layers, ndim, dims, NULL);
}

int network_min_batch(const Network *net, int *layer_index)
{
    int least = 1;
    if (layer_index) *layer_index = -1;
    for (int i = 0; i < net->num_layers; i++) {
        if (!net->layers[i]->ops->batch_statistics) continue;
        int ndim, dims[TENSOR_MAX_DIMS];
        shape_after(net, i, &ndim, dims, NULL);
        int positions = 1; /* values of a channel per image: H x W, or 1 for features */
        for (int d = 2; d < ndim; d++) positions *= dims[d];
        int images = positions >= 2 ? 1 : 2;
        if (images > least) {
            least = images;
            if (layer_index) *layer_index = i;
        }
    }
    return least;
}

int network_output_size(const Network *net)
{
    int ndim, dims[TENSOR_MAX_DIMS];
    shape_after(net, net->num_layers, &ndim, dims, NULL);
    int size = 1;
    for (int i = 1; i < ndim; i++) size *= dims[i];
    return size;
}

const Tensor *network_forward(Network *net, const Tensor *x)
{
    assert(net->num_layers > 0);
    const Tensor *input = x;
    for (int i = 0; i < net->num_layers; i++) {
        layer_forward(net->layers[i], input, net->out[i]);
        input = net->out[i];
    }
    return input;
}

double network_loss(Network *net, const Tensor *x, const int *labels)
{
    const Tensor *scores = network_forward(net, x);
    return softmax_xent_forward_with(scores, labels, &net->loss, net->probs);
}

void network_backward(Network *net, const Tensor *dscores, Tensor *dx)
{
    const int last = net->num_layers - 1;
    if (dscores != net->grad[last]) {
        tensor_resize(net->grad[last], dscores->ndim, dscores->dim);
        memcpy(net->grad[last]->data, dscores->data, dscores->size * sizeof(real));
    }
    /* Each layer turns the gradient of its output into that of its input,
     * which is the output of the layer below. */
    for (int i = last; i >= 0; i--)
        layer_backward(net->layers[i], net->grad[i], i > 0 ? net->grad[i - 1] : dx);
}

void network_loss_backward(Network *net, const int *labels, Tensor *dx)
{
    Tensor *dscores = net->grad[net->num_layers - 1];
    softmax_xent_backward_with(net->probs, labels, &net->loss, dscores);
    network_backward(net, dscores, dx);
}

int network_num_params(const Network *net)
{
    int count = 0;
    for (int i = 0; i < net->num_layers; i++) count += net->layers[i]->num_params;
    return count;
}

Param *network_param(Network *net, int index, char *name, size_t name_len)
{
    for (int i = 0; i < net->num_layers; i++) {
        Layer *layer = net->layers[i];
        if (index < layer->num_params) {
            if (name) snprintf(name, name_len, "%s.%s", layer->name, layer->params[index].name);
            return &layer->params[index];
        }
        index -= layer->num_params;
    }
    return NULL;
}

size_t network_param_count(const Network *net)
{
    size_t total = 0;
    for (int i = 0; i < net->num_layers; i++)
        for (int p = 0; p < net->layers[i]->num_params; p++)
            total += net->layers[i]->params[p].value->size;
    return total;
}

int network_num_buffers(const Network *net)
{
    int count = 0;
    for (int i = 0; i < net->num_layers; i++) count += net->layers[i]->num_buffers;
    return count;
}

Buffer *network_buffer(Network *net, int index, char *name, size_t name_len)
{
    for (int i = 0; i < net->num_layers; i++) {
        Layer *layer = net->layers[i];
        if (index < layer->num_buffers) {
            if (name) snprintf(name, name_len, "%s.%s", layer->name, layer->buffers[index].name);
            return &layer->buffers[index];
        }
        index -= layer->num_buffers;
    }
    return NULL;
}

void network_set_noise(Network *net, uint64_t key)
{
    /* layer i's key: key moved along a Weyl sequence, so no two layers share one */
    for (int i = 0; i < net->num_layers; i++)
        net->layers[i]->noise_key = key + (uint64_t)(i + 1) * 0xd1b54a32d192ed03ULL;
}

void network_set_mode(Network *net, LayerMode mode)
{
    for (int i = 0; i < net->num_layers; i++) net->layers[i]->mode = mode;
}

void network_set_description(Network *net, const char *text)
{
    free(net->description);
    net->description = NULL;
    if (text) {
        net->description = xmalloc(strlen(text) + 1);
        strcpy(net->description, text);
    }
}

int network_first_non_finite(Network *net, size_t *entry)
{
    for (int i = 0; i < network_num_params(net); i++) {
        const Tensor *t = network_param(net, i, NULL, 0)->value;
        for (size_t k = 0; k < t->size; k++)
            if (!isfinite(t->data[k])) {
                *entry = k;
                return i;
            }
    }
    return -1;
}

void network_layer_flops(const Network *net, int index, double *forward, double *backward)
{
    const Layer *layer = net->layers[index];
    int ndim, in[TENSOR_MAX_DIMS];
    network_shape_after(net, index, &ndim, in);
    *forward = layer->ops->flops ? layer->ops->flops(layer, ndim, in) : 0;
    /* network_loss_backward in training hands the first layer no dx */
    *backward = layer->ops->backward_flops
                    ? layer->ops->backward_flops(layer, ndim, in, index > 0) : 0;
}

void network_step_flops(const Network *net, double *forward, double *backward)
{
    *forward = *backward = 0;
    for (int i = 0; i < net->num_layers; i++) {
        double f, b;
        network_layer_flops(net, i, &f, &b);
        *forward += f;
        *backward += b;
    }
}

double network_bytes(const Network *net, int batch, int training, int threads)
{
    double params = (double)network_param_count(net) * (training ? 4 : 1);
    double activations = 0, largest = 0, cache_bytes = 0;
    int ndim, dims[TENSOR_MAX_DIMS];
    for (int i = 0; i <= net->num_layers; i++) {
        network_shape_after(net, i, &ndim, dims);
        double size = 1;
        for (int d = 1; d < ndim; d++) size *= dims[d];
        /* the input, and every output but an in-place layer's (the first
         * layer's has a buffer of its own all the same: network_add) */
        if (i <= 1 || !net->layers[i - 1]->ops->in_place) activations += size;
        if (i > 0) cache_bytes += size * net->layers[i - 1]->ops->cache_bytes_per_output;
        largest = size > largest ? size : largest;
    }
    double per_batch = activations * batch + (training ? 2 * largest * batch : largest * batch);
    return (params + per_batch) * (double)sizeof(real) + cache_bytes * batch +
           network_workspace_bytes(net, threads, NULL);
}

double network_workspace_bytes(const Network *net, int threads, int *layer_index)
{
    /* the layers take turns, so the largest one's scratch, once per thread */
    double workspace = 0;
    if (layer_index) *layer_index = -1;
    for (int i = 0; i < net->num_layers; i++) {
        const Layer *layer = net->layers[i];
        if (!layer->ops->workspace_per_thread) continue;
        int in_ndim, in[TENSOR_MAX_DIMS];
        network_shape_after(net, i, &in_ndim, in);
        const double reals = layer->ops->workspace_per_thread(layer, in_ndim, in) * threads;
        if (reals > workspace) {
            workspace = reals;
            if (layer_index) *layer_index = i;
        }
    }
    return workspace * (double)sizeof(real);
}

void network_init(Network *net, Rng *rng)
{
    for (int i = 0; i < net->num_layers; i++) {
        Layer *layer = net->layers[i];
        for (int p = 0; p < layer->num_params; p++) {
            const Param *param = &layer->params[p];
            Tensor *value = param->value;
            switch (param->init) {
            case PARAM_INIT_ZERO:
                tensor_zero(value);
                break;
            case PARAM_INIT_ONE:
                tensor_fill(value, 1);
                break;
            case PARAM_INIT_HE: {
                double std = sqrt(2.0 / (double)param->fan_in);
                for (size_t k = 0; k < value->size; k++)
                    value->data[k] = (real)(std * rng_normal(rng));
                break;
            }
            }
        }
    }
}
