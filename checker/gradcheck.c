#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "softmax_xent.h"

static double relative_error(double a, double n)
{
    double scale = fmax(fabs(a), fabs(n));
    return scale == 0 ? 0 : fabs(a - n) / scale;
}

/* The one loop every check runs. f maps the current values to an output
 * tensor; the scalar being differentiated is L = sum_k out_k * dout_k, so
 *
 *     (L(t+h) - L(t-h)) / 2h = sum_k (out_k(t+h) - out_k(t-h)) * dout_k / 2h.
 *
 * It is computed in the second form (as CS231n's eval_numerical_gradient_array
 * does): outputs are subtracted before they are summed, so the parts of L
 * that an entry does not touch cancel exactly instead of leaving their
 * rounding error behind. */
GradcheckRow gradcheck_tensor(GradcheckFunction f, void *context, Tensor *value,
                              const Tensor *dout, const Tensor *analytic,
                              const char *layer, const char *tensor)
{
    GradcheckRow row = {0};
    snprintf(row.layer, sizeof row.layer, "%s", layer);
    snprintf(row.tensor, sizeof row.tensor, "%s", tensor);
    row.ndim = value->ndim;
    memcpy(row.dims, value->dim, sizeof row.dims);
    Tensor *plus = tensor_like(dout), *minus = tensor_like(dout);

    for (size_t i = 0; i < value->size; i++) {
        real saved = value->data[i];
        value->data[i] = saved + (real)GRADCHECK_STEP;
        f(context, plus);
        value->data[i] = saved - (real)GRADCHECK_STEP;
        f(context, minus);
        value->data[i] = saved;
        double sum = 0;
        for (size_t k = 0; k < dout->size; k++)
            sum += ((double)plus->data[k] - minus->data[k]) * dout->data[k];
        double numerical = sum / (2 * GRADCHECK_STEP), a = analytic->data[i];
        row.max_rel_error = fmax(row.max_rel_error, relative_error(a, numerical));
        row.max_abs_analytic = fmax(row.max_abs_analytic, fabs(a));
    }
    row.pass = row.max_rel_error < GRADCHECK_THRESHOLD && row.max_abs_analytic > 0;
    tensor_free(plus);
    tensor_free(minus);
    return row;
}

/* min over the tensors of (smallest nonzero |entry|) / (largest |entry|);
 * 0 if a tensor is all zero (its check would be vacuous). */
static double smallest_ratio(const Tensor *t, double ratio)
{
    double largest = 0, smallest = INFINITY;
    for (size_t i = 0; i < t->size; i++) {
        double v = fabs((double)t->data[i]);
        largest = fmax(largest, v);
        if (v > 0) smallest = fmin(smallest, v);
    }
    return largest > 0 ? fmin(ratio, smallest / largest) : 0;
}

/* ---- a layer: out = layer(x) -------------------------------------------- */

typedef struct {
    Layer *layer;
    const Tensor *x;
} LayerFunction;

static void layer_function(void *context, Tensor *out)
{
    LayerFunction *f = context;
    layer_forward(f->layer, f->x, out);
}

int gradcheck_layer(Layer *layer, Tensor *x, Rng *rng, GradcheckRow *rows, int max_rows)
{
    Tensor *out = tensor_new2(1, 1), *dout = tensor_new2(1, 1), *dx = tensor_new2(1, 1);
    layer_forward(layer, x, out);
    tensor_resize(dout, out->ndim, out->dim);
    /* Draw the upstream gradient until every gradient entry is resolvable
     * (see GRADCHECK_RESOLUTION); after many tries, check the last draw anyway. */
    for (int attempt = 0; attempt < 1000; attempt++) {
        for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)rng_normal(rng);
        layer_backward(layer, dout, dx);
        double ratio = smallest_ratio(dx, 1.0);
        for (int p = 0; p < layer->num_params; p++) ratio = smallest_ratio(layer->params[p].grad, ratio);
        if (ratio > GRADCHECK_RESOLUTION) break;
    }

    /* Keep copies: the checker's forward passes must not disturb them. */
    Tensor *analytic[1 + LAYER_MAX_PARAMS];
    analytic[0] = tensor_copy(dx);
    for (int p = 0; p < layer->num_params; p++) analytic[1 + p] = tensor_copy(layer->params[p].grad);

    LayerFunction f = {layer, x};
    const char *kind = layer->ops->kind;
    int count = 0;
    if (count < max_rows)
        rows[count++] = gradcheck_tensor(layer_function, &f, x, dout, analytic[0], kind, "dx");
    for (int p = 0; p < layer->num_params && count < max_rows; p++) {
        char name[32];
        snprintf(name, sizeof name, "d%s", layer->params[p].name);
        rows[count++] = gradcheck_tensor(layer_function, &f, layer->params[p].value, dout,
                                         analytic[1 + p], kind, name);
    }
    for (int p = 0; p < 1 + layer->num_params; p++) tensor_free(analytic[p]);
    tensor_free(out);
    tensor_free(dout);
    tensor_free(dx);
    return count;
}

/* ---- softmax cross-entropy: out = the loss of each item ----------------- */

/* L = (1/N) sum_i loss_i, i.e. out = (loss_1 .. loss_N) with dout = 1/N.
 * Entry (i, j) of the scores moves only loss_i, so the other items' losses
 * cancel exactly in the difference. */
typedef struct {
    const Tensor *scores;
    const int *labels;
} SoftmaxFunction;

static void softmax_function(void *context, Tensor *out)
{
    SoftmaxFunction *f = context;
    const int N = f->scores->dim[0], K = (int)tensor_item_size(f->scores);
    for (int i = 0; i < N; i++)
        out->data[i] = (real)softmax_xent_item_loss(f->scores->data + (size_t)i * K, K, f->labels[i]);
}

GradcheckRow gradcheck_softmax_xent(Tensor *scores, const int *labels)
{
    Tensor *probs = tensor_like(scores), *dscores = tensor_like(scores);
    Tensor *mean = tensor_new2(scores->dim[0], 1);
    softmax_xent_forward(scores, labels, probs);
    softmax_xent_backward(probs, labels, dscores);
    tensor_fill(mean, (real)1 / (real)scores->dim[0]);
    SoftmaxFunction f = {scores, labels};
    GradcheckRow row = gradcheck_tensor(softmax_function, &f, scores, mean, dscores, "softmax", "dscores");
    tensor_free(probs);
    tensor_free(dscores);
    tensor_free(mean);
    return row;
}

/* ---- a network: out = the scores ---------------------------------------- */

/* The network's layers are checked as one function from (x, every
 * parameter) to the scores, with a random upstream gradient dscores. Why
 * not through the loss? Its gradient is sum_k (p_k - y_k) dz_k/dt, and since
 * the p_k - y_k sum to zero that sum cancels heavily for some entries: an
 * entry whose true gradient is 1e-6 is then computed from differences of
 * 1e-11, the size of double's rounding, and the check would measure the
 * rounding instead of the backward pass. The softmax step is checked on its
 * own (gradcheck_softmax_xent). */
typedef struct {
    Network *net;
    const Tensor *x;
} NetworkFunction;

static void network_function(void *context, Tensor *out)
{
    NetworkFunction *f = context;
    const Tensor *scores = network_forward(f->net, f->x);
    memcpy(out->data, scores->data, scores->size * sizeof(real));
}

int gradcheck_network(Network *net, Tensor *x, const Tensor *dscores, GradcheckRow *rows,
                      int max_rows)
{
    Tensor *dx = tensor_like(x);
    network_forward(net, x);
    network_backward(net, dscores, dx);

    int num_params = network_num_params(net), count = 0;
    Tensor **analytic = xcalloc((size_t)num_params, sizeof *analytic);
    for (int p = 0; p < num_params; p++) analytic[p] = tensor_copy(network_param(net, p, NULL, 0)->grad);

    NetworkFunction f = {net, x};
    if (count < max_rows) rows[count++] = gradcheck_tensor(network_function, &f, x, dscores, dx, "net", "dx");
    for (int p = 0; p < num_params && count < max_rows; p++) {
        char name[32];
        Param *param = network_param(net, p, name, sizeof name);
        rows[count++] = gradcheck_tensor(network_function, &f, param->value, dscores, analytic[p], "net", name);
    }
    for (int p = 0; p < num_params; p++) tensor_free(analytic[p]);
    free(analytic);
    tensor_free(dx);
    return count;
}

double gradcheck_network_resolution(Network *net, const Tensor *x, const Tensor *dscores)
{
    Tensor *dx = tensor_like(x);
    network_forward(net, x);
    network_backward(net, dscores, dx);
    double ratio = smallest_ratio(dx, 1.0);
    for (int p = 0; p < network_num_params(net); p++)
        ratio = smallest_ratio(network_param(net, p, NULL, 0)->grad, ratio);
    tensor_free(dx);
    return ratio;
}

/* ---- inputs away from kinks -------------------------------------------- */

void gradcheck_fill_distinct(Tensor *x, double spacing, Rng *rng)
{
    int n = (int)x->size;
    int *order = xmalloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle(rng, order, n);
    /* Rungs k - (n-1)/2 + 1/2 for k = 0..n-1: symmetric about 0, none on it;
     * a jitter of at most spacing/8 keeps neighbours 3/4 spacing apart. */
    for (int i = 0; i < n; i++)
        x->data[i] = (real)(spacing * (order[i] - (n - 1) / 2.0 + (n % 2 ? 0.5 : 0)) +
                            spacing * 0.25 * (rng_uniform(rng) - 0.5));
    free(order);
}

void gradcheck_fill_away_from_zero(Tensor *x, double margin, Rng *rng)
{
    for (size_t i = 0; i < x->size; i++) {
        double v = rng_normal(rng);
        x->data[i] = (real)(v >= 0 ? v + margin : v - margin);
    }
}

void gradcheck_network_kinks(Network *net, const Tensor *x, double *min_relu_input,
                             double *min_pool_gap)
{
    *min_relu_input = INFINITY;
    *min_pool_gap = INFINITY;
    /* A forward pass of our own, layer by layer into two buffers taken in
     * turn: the network's runs its ReLUs in place, which would leave no
     * trace of what went into them. */
    Tensor *buffers[2] = {tensor_new2(1, 1), tensor_new2(1, 1)};
    const Tensor *in = x;
    for (int i = 0; i < net->num_layers; i++) {
        const char *kind = net->layers[i]->ops->kind;
        Tensor *out = buffers[i % 2];
        layer_forward(net->layers[i], in, out);
        if (!strcmp(kind, "relu")) {
            for (size_t k = 0; k < in->size; k++)
                *min_relu_input = fmin(*min_relu_input, fabs((double)in->data[k]));
        } else if (!strcmp(kind, "maxpool")) {
            /* Gap between the largest and second-largest value of each window.
             * Windows whose max is 0 after a ReLU are exact ties of dead units:
             * nudging their inputs (which are away from 0) changes nothing. */
            const PoolLayer *pool = (const PoolLayer *)net->layers[i];
            int H = in->dim[2], W = in->dim[3];
            int H_out = out->dim[2], W_out = out->dim[3];
            for (int plane = 0; plane < in->dim[0] * in->dim[1]; plane++)
                for (int oh = 0; oh < H_out; oh++)
                    for (int ow = 0; ow < W_out; ow++) {
                        double first = -INFINITY, second = -INFINITY;
                        for (int a = 0; a < pool->kernel_h; a++)
                            for (int b = 0; b < pool->kernel_w; b++) {
                                int h = oh * pool->stride - pool->pad + a;
                                int w = ow * pool->stride - pool->pad + b;
                                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                                double v = in->data[((size_t)plane * H + h) * W + w];
                                if (v > first) { second = first; first = v; }
                                else if (v > second) second = v;
                            }
                        if (first > 0 && second > -INFINITY)
                            *min_pool_gap = fmin(*min_pool_gap, first - second);
                    }
        }
        in = out;
    }
    tensor_free(buffers[0]);
    tensor_free(buffers[1]);
}

int gradcheck_network_well_posed(Network *net, const Tensor *x, const Tensor *dscores)
{
    const double margin = 1e-3;
    double relu_min, pool_gap;
    gradcheck_network_kinks(net, x, &relu_min, &pool_gap);
    return relu_min > margin && pool_gap > margin &&
           gradcheck_network_resolution(net, x, dscores) > GRADCHECK_RESOLUTION;
}

int gradcheck_draw_network_case(Network *net, Tensor *x, int draw_input, Tensor *dscores,
                                Rng *rng, int max_draws)
{
    for (int draw = 1; draw <= max_draws; draw++) {
        network_init(net, rng); /* He weights, zero biases */
        if (draw_input)
            for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_uniform(rng);
        for (size_t i = 0; i < dscores->size; i++) dscores->data[i] = (real)rng_normal(rng);
        if (gradcheck_network_well_posed(net, x, dscores)) return draw;
    }
    return -1;
}

/* ---- printing ----------------------------------------------------------- */

void gradcheck_print_header(void)
{
    printf("%-8s %-9s %-18s %14s  %s\n", "layer", "tensor", "shape", "max rel error", "result");
}

void gradcheck_print_row(const GradcheckRow *row)
{
    char shape[64];
    shape_string(row->ndim, row->dims, shape, sizeof shape);
    printf("%-8s %-9s %-18s %14.3e  %s%s\n", row->layer, row->tensor, shape, row->max_rel_error,
           row->pass ? "PASS" : "FAIL",
           row->max_abs_analytic == 0 ? " (analytic gradient is all zero: the check is vacuous)" : "");
}

