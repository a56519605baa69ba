#include "gradcheck.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softmax_xent.h"

static double relative_error(double a, double n)
{
    double scale = fmax(fabs(a), fabs(n));
    return scale == 0 ? 0 : fabs(a - n) / scale;
}

/* The rounding unit of real: what one rounding of an output may be off by,
 * relative to the output. */
#ifdef REAL_IS_DOUBLE
#define REAL_EPSILON DBL_EPSILON
#else
#define REAL_EPSILON FLT_EPSILON
#endif

/* The centred difference of L = sum_k out_k * dout_k at entry i of value,
 * with step `step`:
 *
 *     (L(t+h) - L(t-h)) / 2h = sum_k (out_k(t+h) - out_k(t-h)) * dout_k / 2h.
 *
 * It is computed in the second form (as CS231n's eval_numerical_gradient_array
 * does): outputs are subtracted before they are summed, so the parts of L
 * that an entry does not touch cancel exactly instead of leaving their
 * rounding error behind. magnitude receives sum_k |out_k(t+h) * dout_k|,
 * the size of the terms whose rounding the difference carries. */
static double centred_difference(GradcheckFunction f, void *context, Tensor *value, size_t i,
                                 double step, const Tensor *dout, Tensor *plus, Tensor *minus,
                                 double *magnitude)
{
    real saved = value->data[i];
    value->data[i] = saved + (real)step;
    f(context, plus);
    value->data[i] = saved - (real)step;
    f(context, minus);
    value->data[i] = saved;
    double sum = 0;
    *magnitude = 0;
    for (size_t k = 0; k < dout->size; k++) {
        sum += ((double)plus->data[k] - minus->data[k]) * dout->data[k];
        *magnitude += fabs((double)plus->data[k] * dout->data[k]);
    }
    return sum / (2 * step);
}

/* An entry's error: relative, or, below its tensor's resolution floor, the
 * difference beyond what rounding alone can make, relative to the floor.
 *
 * An analytic gradient of exactly 0 usually meets a numerical one of
 * exactly 0 (the entry touches nothing: a dead ReLU unit, a pixel no
 * window's max came from), which counts as agreement, as 0/0 does. But a
 * gradient can also be zero by cancellation, as a bias's is when a
 * batchnorm subtracts the mean right after it; the centred difference is
 * then the rounding of the outputs it subtracts, and |0 - rounding| /
 * |rounding| = 1 would report a correct zero as wrong. So an analytic exact
 * 0 agrees with a numerical value within `rounding`. No nonzero analytic
 * entry above the floor is judged any differently: the threshold is not
 * loosened. */
static double entry_error(double analytic, double numerical, double rounding, double floor)
{
    if (fabs(analytic) < floor && fabs(numerical) < floor)
        return fmax(0, fabs(analytic - numerical) - rounding) / floor;
    if (analytic == 0 && fabs(numerical) <= rounding) return 0;
    return relative_error(analytic, numerical);
}

/* The one loop every check runs: each entry's centred difference against
 * its analytic value, where `rounding` is GRADCHECK_ROUNDING_ULPS roundings
 * of the terms the difference sums, divided by 2h.
 *
 * A centred difference is also off by h^2 f'''/6. That is far below the
 * threshold where L curves on a scale much larger than h, but not where it
 * curves on a scale of a thousand h: a weight that alone feeds a batchnorm
 * channel, drawn so small that batchnorm's eps shapes the output. So an
 * entry that disagrees is measured again at step 2h and, with D(h) the
 * centred difference at step h, the two are combined (Richardson):
 * (4 D(h) - D(2h)) / 3 is off by O(h^4), though its rounding is up to
 * (4 + 1/2) / 3 = 1.5 times D(h)'s. The entry is wrong only if both
 * measurements say so (a real mistake disagrees with both), and its error
 * is then D(h)'s, the one the threshold speaks of. */
static GradcheckRow check_tensor(GradcheckFunction f, void *context, Tensor *value,
                                 const Tensor *dout, const Tensor *analytic, const char *layer,
                                 const char *tensor, double least_floor)
{
    GradcheckRow row = {0};
    snprintf(row.layer, sizeof row.layer, "%s", layer);
    snprintf(row.tensor, sizeof row.tensor, "%s", tensor);
    row.ndim = value->ndim;
    memcpy(row.dims, value->dim, sizeof row.dims);
    Tensor *plus = tensor_like(dout), *minus = tensor_like(dout);
    /* An entry far smaller than its tensor's largest is measured against
     * the tensor's resolution floor, GRADCHECK_RESOLUTION times that
     * largest, instead of against itself: its own size is below what a
     * centred difference resolves, and its rounding would read as error. */
    double largest = 0;
    for (size_t i = 0; i < analytic->size; i++) largest = fmax(largest, fabs((double)analytic->data[i]));
    const double floor = fmax(GRADCHECK_RESOLUTION * largest, least_floor);

    for (size_t i = 0; i < value->size; i++) {
        double a = analytic->data[i], magnitude;
        double numerical = centred_difference(f, context, value, i, GRADCHECK_STEP, dout, plus, minus,
                                              &magnitude);
        double rounding = GRADCHECK_ROUNDING_ULPS * REAL_EPSILON * magnitude / (2 * GRADCHECK_STEP);
        double error = entry_error(a, numerical, rounding, floor);
        if (error >= GRADCHECK_THRESHOLD) {
            double coarse = centred_difference(f, context, value, i, 2 * GRADCHECK_STEP, dout, plus,
                                               minus, &magnitude);
            double extrapolated = entry_error(a, (4 * numerical - coarse) / 3, 1.5 * rounding, floor);
            if (extrapolated < GRADCHECK_THRESHOLD) error = extrapolated;
        }
        row.max_rel_error = fmax(row.max_rel_error, error);
        row.max_abs_analytic = fmax(row.max_abs_analytic, fabs(a));
    }
    row.pass = row.max_rel_error < GRADCHECK_THRESHOLD && row.max_abs_analytic > 0;
    tensor_free(plus);
    tensor_free(minus);
    return row;
}

GradcheckRow gradcheck_tensor(GradcheckFunction f, void *context, Tensor *value,
                              const Tensor *dout, const Tensor *analytic,
                              const char *layer, const char *tensor)
{
    return check_tensor(f, context, value, dout, analytic, layer, tensor, 0);
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

/* sum over the entries of (roundings * value * gradient)^2: what the
 * roundings of value, each `roundings` of its size, add to the square of
 * a sum's rounding through L (see GRADCHECK_RESOLVABLE_ROUNDINGS) */
static double rounding_squares(const Tensor *value, const Tensor *gradient, double roundings)
{
    double squares = 0;
    for (size_t k = 0; k < value->size; k++) {
        double term = roundings * (double)value->data[k] * gradient->data[k];
        squares += term * term;
    }
    return squares;
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

GradcheckRow gradcheck_layer_tensor(Layer *layer, const Tensor *x, Tensor *value,
                                    const Tensor *dout, const Tensor *analytic, const char *tensor)
{
    LayerFunction f = {layer, x};
    return gradcheck_tensor(layer_function, &f, value, dout, analytic, layer->ops->kind, tensor);
}

int gradcheck_layer(Layer *layer, Tensor *x, Rng *rng, GradcheckRow *rows, int max_rows)
{
    Tensor *out = tensor_new2(1, 1), *dout = tensor_new2(1, 1), *dx = tensor_new2(1, 1);
    layer_forward(layer, x, out);
    tensor_resize(dout, out->ndim, out->dim);
    /* Draw the upstream gradient until every gradient entry is resolvable
     * (see GRADCHECK_RESOLUTION); after many tries, check the last draw anyway. */
    for (int attempt = 0; attempt < GRADCHECK_LAYER_MAX_DRAWS; attempt++) {
        for (size_t i = 0; i < dout->size; i++) dout->data[i] = (real)rng_normal(rng);
        layer_backward(layer, dout, dx);
        double ratio = smallest_ratio(dx, 1.0);
        for (int p = 0; p < layer->num_params; p++) ratio = smallest_ratio(layer->params[p].grad, ratio);
        if (ratio > GRADCHECK_RESOLUTION) break;
    }

    /* What rounding leaves in a centred difference (u, as for a network:
     * GRADCHECK_RESOLVABLE_ROUNDINGS): entries too small for it to let them
     * be judged alone are judged against that floor, as entries below the
     * resolution floor are. Few layers have entries there but a Winograd
     * convolution (its floor 1-2% of the largest entry); an im2col one has a
     * few just above the resolution floor. */
    const double rounding = REAL_EPSILON / (2 * GRADCHECK_STEP) *
                            sqrt(rounding_squares(x, dx, 1) +
                                 rounding_squares(out, dout, layer_output_roundings(layer)));
    const double least_floor = GRADCHECK_RESOLVABLE_ROUNDINGS * rounding / GRADCHECK_THRESHOLD;

    /* Keep copies: the checker's forward passes must not disturb them. */
    Tensor *analytic[1 + LAYER_MAX_PARAMS];
    analytic[0] = tensor_copy(dx);
    for (int p = 0; p < layer->num_params; p++) analytic[1 + p] = tensor_copy(layer->params[p].grad);

    LayerFunction f = {layer, x};
    const char *kind = layer->ops->kind;
    int count = 0;
    if (count < max_rows)
        rows[count++] = check_tensor(layer_function, &f, x, dout, analytic[0], kind, "dx",
                                     least_floor);
    for (int p = 0; p < layer->num_params && count < max_rows; p++) {
        char name[32];
        snprintf(name, sizeof name, "d%s", layer->params[p].name);
        rows[count++] = check_tensor(layer_function, &f, layer->params[p].value, dout,
                                     analytic[1 + p], kind, name, least_floor);
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
 * rounding instead of the backward pass. The step from the scores to the
 * loss is checked on its own, through the network's own loss
 * (gradcheck_network_loss, below). */
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

static double largest_entry(const Tensor *t)
{
    double largest = 0;
    for (size_t i = 0; i < t->size; i++) largest = fmax(largest, fabs((double)t->data[i]));
    return largest;
}

/* What rounding alone moves a centred difference of L = sum(scores *
 * dscores) by, at (x, dscores): u of GRADCHECK_RESOLVABLE_ROUNDINGS, from
 * every layer's input and the scores, each times its gradient and the
 * roundings the layer that computed it carries (output_roundings). A forward
 * and a backward of its own, layer by layer into buffers of its own: the
 * network's runs its ReLUs in place and keeps no layer's input gradient.
 * Parameter gradients are overwritten. */
static double difference_rounding(Network *net, const Tensor *x, const Tensor *dscores)
{
    const int count = net->num_layers;
    /* outputs[i] is layer i's output, and layer i + 1's input */
    Tensor **outputs = xcalloc((size_t)count, sizeof *outputs);
    for (int i = 0; i < count; i++) {
        outputs[i] = tensor_new2(1, 1);
        layer_forward(net->layers[i], i == 0 ? x : outputs[i - 1], outputs[i]);
    }
    double squares = 0;
    Tensor *gradient = tensor_copy(dscores);
    for (int i = count; i >= 0; i--) {
        const Tensor *value = i == 0 ? x : outputs[i - 1];
        squares += rounding_squares(value, gradient,
                                    i == 0 ? 1 : layer_output_roundings(net->layers[i - 1]));
        if (i == 0) break;
        Tensor *below = tensor_new2(1, 1);
        layer_backward(net->layers[i - 1], gradient, below);
        tensor_free(gradient);
        gradient = below;
    }
    tensor_free(gradient);
    for (int i = 0; i < count; i++) tensor_free(outputs[i]);
    free(outputs);
    return REAL_EPSILON * sqrt(squares) / (2 * GRADCHECK_STEP);
}

/* The smallest entry of t that gradcheck_tensor judges by its relative
 * error: those at or above the resolution floor of t, whose largest is
 * `largest`. */
static double smallest_judged_alone(const Tensor *t, double largest)
{
    double smallest = INFINITY;
    for (size_t i = 0; i < t->size; i++) {
        double v = fabs((double)t->data[i]);
        if (v >= GRADCHECK_RESOLUTION * largest) smallest = fmin(smallest, v);
    }
    return smallest;
}

/* The same u for the loss row, whose function is the loss of the scores:
 * per image, log(sum_k exp s_k) - s_label, two terms about the size of the
 * largest |score| that cancel down to the loss, their roundings left. */
static double loss_rounding(const Tensor *scores)
{
    const int N = scores->dim[0];
    const size_t K = scores->size / (size_t)N;
    double magnitude = 0;
    for (int n = 0; n < N; n++) {
        double largest = 0;
        for (size_t k = 0; k < K; k++) largest = fmax(largest, fabs((double)scores->data[n * K + k]));
        magnitude += 2 * largest + log((double)K);
    }
    return REAL_EPSILON * magnitude / N / (2 * GRADCHECK_STEP);
}

/* Over the gradients a network check compares (dx, then every parameter's,
 * as backward just left them): the smallest ratio of a nonzero entry to
 * the largest of its tensor, or 0 for a tensor the check cannot resolve:
 * one that is zero, or zero up to rounding (its largest entry below
 * GRADCHECK_ZERO_FLOOR times the largest of all), or one with an entry
 * judged by its relative error that rounding alone could fail (below
 * GRADCHECK_RESOLVABLE_ROUNDINGS times `rounding` over the threshold).
 * where (if not NULL) receives the least resolvable tensor's name, and
 * too_small (if not NULL) the entry too small to judge, or 0. */
static double least_resolvable(Network *net, const Tensor *dx, double rounding, char *where,
                               size_t where_len, double *too_small)
{
    const int count = 1 + network_num_params(net);
    const double resolvable = GRADCHECK_RESOLVABLE_ROUNDINGS * rounding / GRADCHECK_THRESHOLD;
    double largest_of_all = largest_entry(dx);
    for (int p = 0; p + 1 < count; p++)
        largest_of_all = fmax(largest_of_all, largest_entry(network_param(net, p, NULL, 0)->grad));
    double worst = INFINITY;
    if (too_small) *too_small = 0;
    for (int k = 0; k < count; k++) {
        char name[32] = "dx";
        const Tensor *t = k == 0 ? dx : network_param(net, k - 1, name, sizeof name)->grad;
        /* Ranked from the worst: a zero tensor (-1: the network's shape
         * stands in the way, not this draw), then one too small, by how far
         * it falls short (in -1..0), then the smallest ratio (0..1). */
        double largest = largest_entry(t), smallest = 0, rank;
        if (largest <= GRADCHECK_ZERO_FLOOR * largest_of_all)
            rank = -1;
        else if ((smallest = smallest_judged_alone(t, largest)) < resolvable)
            rank = smallest / resolvable - 1;
        else
            rank = smallest_ratio(t, 1.0);
        if (rank < worst) {
            worst = rank;
            if (where) snprintf(where, where_len, "%s", name);
            if (too_small) *too_small = smallest;
        }
    }
    return fmax(worst, 0);
}

double gradcheck_network_resolution(Network *net, const Tensor *x, const Tensor *dscores)
{
    Tensor *dx = tensor_like(x);
    double rounding = difference_rounding(net, x, dscores);
    network_forward(net, x);
    network_backward(net, dscores, dx);
    double ratio = least_resolvable(net, dx, rounding, NULL, 0, NULL);
    tensor_free(dx);
    return ratio;
}

/* ---- the loss, as training computes it -------------------------------- */

/* The rows above stop at the scores; this one starts there. It checks
 * d loss / d scores where loss = network_loss(net, x, labels), the mean
 * cross-entropy a training step minimises, and the analytic side is what
 * network_loss_backward hands the last layer. So a mistake anywhere
 * between the scores and the loss (a softmax backward without its 1/N, a
 * loss that is a sum while its gradient is a mean's) fails here, where the
 * rows from the random dscores cannot see it.
 *
 * Both sides are read at the top of the network by a probe: a stand-in for
 * the last layer that runs it unchanged, but adds `shift` to the scores it
 * outputs (the checker nudges one entry of shift and asks network_loss for
 * the loss) and keeps a copy of the gradient backward hands it. The
 * cancellation that keeps the other rows away from the loss does not arise
 * here: each nudge moves one score, and the loss's gradient with respect to
 * the scores, (p - onehot) / N, has no small entries made of large ones. */
typedef struct {
    Layer base;
    LayerOps ops;          /* the top layer's, with forward and backward wrapped */
    Layer *top;            /* the network's real last layer */
    const Tensor *shift;   /* added to the scores, or NULL */
    Tensor *dscores;       /* receives the gradient of the scores, or NULL */
} ScoresProbe;

static int probe_output_shape(const Layer *layer, int ndim, const int *in_dims, int *out_ndim,
                              int *out_dims, Error *err)
{
    const ScoresProbe *probe = (const ScoresProbe *)layer;
    return layer_output_shape(probe->top, ndim, in_dims, out_ndim, out_dims, err);
}

static void probe_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    ScoresProbe *probe = (ScoresProbe *)layer;
    layer->input = x;
    probe->top->mode = layer->mode;
    layer_forward(probe->top, x, out);
    if (probe->shift)
        for (size_t i = 0; i < out->size; i++) out->data[i] += probe->shift->data[i];
}

static void probe_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    ScoresProbe *probe = (ScoresProbe *)layer;
    if (probe->dscores) {
        tensor_resize(probe->dscores, dout->ndim, dout->dim);
        memcpy(probe->dscores->data, dout->data, dout->size * sizeof(real));
    }
    layer_backward(probe->top, dout, dx);
}

static void probe_destroy(Layer *layer) { (void)layer; /* the caller owns it */ }

/* Puts the probe in place of the network's last layer, until probe_remove. */
static void probe_install(ScoresProbe *probe, Network *net)
{
    assert(net->num_layers > 0);
    Layer *top = net->layers[net->num_layers - 1];
    *probe = (ScoresProbe){.top = top};
    probe->ops = *top->ops;                /* its kind and in-place flag stay */
    probe->ops.output_shape = probe_output_shape;
    probe->ops.flops = NULL;
    probe->ops.kink_distance = NULL;
    probe->ops.forward = probe_forward;
    probe->ops.backward = probe_backward;
    probe->ops.destroy = probe_destroy;
    probe->base.ops = &probe->ops;
    probe->base.mode = top->mode;
    snprintf(probe->base.name, sizeof probe->base.name, "%s", top->name);
    net->layers[net->num_layers - 1] = &probe->base;
}

static void probe_remove(ScoresProbe *probe, Network *net)
{
    net->layers[net->num_layers - 1] = probe->top;
}

double gradcheck_network_loss_dscores(Network *net, const Tensor *x, const int *labels,
                                      Tensor *dscores)
{
    ScoresProbe probe;
    probe_install(&probe, net);
    probe.dscores = dscores;
    double loss = network_loss(net, x, labels);
    network_loss_backward(net, labels, NULL);
    probe_remove(&probe, net);
    return loss;
}

typedef struct {
    Network *net;
    const Tensor *x;
    const int *labels;
} LossFunction;

static void loss_function(void *context, Tensor *out)
{
    LossFunction *f = context;
    out->data[0] = (real)network_loss(f->net, f->x, f->labels);
}

GradcheckRow gradcheck_network_loss(Network *net, const Tensor *x, const int *labels,
                                    const Tensor *analytic)
{
    const Tensor *scores = network_forward(net, x);
    assert(analytic->size == scores->size);
    /* The loss cancels terms about the size of the scores down to a few
     * (loss_rounding), so its rounding is theirs, not the loss's own: the
     * dscores entries too small to be judged against that alone are
     * judged against it, as entries below the resolution floor are. */
    const double least_floor = GRADCHECK_RESOLVABLE_ROUNDINGS * loss_rounding(scores) /
                               GRADCHECK_THRESHOLD;
    Tensor *shift = tensor_like(analytic), *one = tensor_new2(1, 1);
    tensor_zero(shift);
    tensor_fill(one, 1);
    ScoresProbe probe;
    probe_install(&probe, net);
    probe.shift = shift;
    LossFunction f = {net, x, labels};
    GradcheckRow row = check_tensor(loss_function, &f, shift, one, analytic, "loss", "dscores",
                                    least_floor);
    probe_remove(&probe, net);
    tensor_free(shift);
    tensor_free(one);
    return row;
}

/* ---- inputs away from kinks -------------------------------------------- */

void gradcheck_fill_distinct(Tensor *x, double spacing, Rng *rng)
{
    int n = (int)x->size;
    int *order = xmalloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle(rng, order, n);
    /* Rungs k - (n-1)/2 for k = 0..n-1, moved up by 1/2 when n is odd: the
     * half-integers around 0 (symmetric for even n), none on 0, so none
     * closer to it than 1/2. A jitter of at most spacing/8 keeps neighbours
     * 3/4 spacing apart and every value 3/8 spacing from 0. */
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

double gradcheck_network_kink_distance(Network *net, const Tensor *x, char *where,
                                       size_t where_len)
{
    double nearest = INFINITY;
    if (where && where_len) where[0] = '\0';
    /* A forward pass of our own, layer by layer into two buffers taken in
     * turn: the network's runs its ReLUs in place, which would leave no
     * trace of what went into them. Each layer says how far its own input
     * is from its kinks; a smooth layer has no kink_distance. */
    Tensor *buffers[2] = {tensor_new2(1, 1), tensor_new2(1, 1)};
    const Tensor *in = x;
    for (int i = 0; i < net->num_layers; i++) {
        Layer *layer = net->layers[i];
        if (layer->ops->kink_distance) {
            double distance = layer->ops->kink_distance(layer, in);
            if (distance < nearest) {
                nearest = distance;
                if (where && where_len) snprintf(where, where_len, "%s", layer->name);
            }
        }
        Tensor *out = buffers[i % 2];
        layer_forward(layer, in, out);
        in = out;
    }
    tensor_free(buffers[0]);
    tensor_free(buffers[1]);
    return nearest;
}

int gradcheck_network_well_posed(Network *net, const Tensor *x, const Tensor *dscores)
{
    /* tiny entries are judged against their tensor's resolution floor
     * (gradcheck_tensor); only a gradient that is zero, or zero up to
     * rounding, leaves nothing to check */
    return gradcheck_network_kink_distance(net, x, NULL, 0) > GRADCHECK_KINK_MARGIN &&
           gradcheck_network_resolution(net, x, dscores) > 0;
}

void gradcheck_network_explain(Network *net, const Tensor *x, const Tensor *dscores,
                               const int *labels, char *buf, size_t len)
{
    char where[32];
    double kink = gradcheck_network_kink_distance(net, x, where, sizeof where);
    if (kink <= GRADCHECK_KINK_MARGIN) {
        snprintf(buf, len, "%s's input came within %.1e of its kink (the margin is %.0e)", where, kink,
                 GRADCHECK_KINK_MARGIN);
        return;
    }
    /* the least resolvable gradient tensor: dx, every parameter, the loss row */
    Tensor *dx = tensor_like(x), *loss_dscores = tensor_new2(1, 1);
    double rounding = difference_rounding(net, x, dscores), too_small;
    network_forward(net, x);
    network_backward(net, dscores, dx);
    double worst = least_resolvable(net, dx, rounding, where, sizeof where, &too_small);
    if (labels) {
        gradcheck_network_loss_dscores(net, x, labels, loss_dscores);
        double ratio = smallest_ratio(loss_dscores, 1.0);
        if (ratio < worst) {
            worst = ratio;
            snprintf(where, sizeof where, "the loss's dscores");
            too_small = 0;
        }
    }
    if (worst == 0 && too_small > 0)
        snprintf(buf, len, "the gradient of %s had an entry of %.1e, too small to resolve: rounding "
                 "alone moves a centred difference by about %.1e here, more than %.1e of it (as for "
                 "a weight that alone feeds a batchnorm channel, which the output depends on only "
                 "through batchnorm's eps, or where a batchnorm divides by a small spread terms "
                 "that nearly cancel, and so multiplies their rounding)",
                 where, too_small, rounding, rounding / too_small);
    else if (worst == 0)
        snprintf(buf, len, "the gradient of %s was zero, or zero up to rounding: the network's output "
                 "does not depend on it (as for a bias just before a batchnorm, or anything before a "
                 "per-feature batchnorm over a batch of 2, which maps every feature to about -1 and 1)",
                 where);
    else
        snprintf(buf, len, "well posed");
    tensor_free(dx);
    tensor_free(loss_dscores);
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

int gradcheck_draw_loss_case(Network *net, Tensor *x, int draw_input, Tensor *dscores,
                             int *labels, Rng *rng, int max_draws)
{
    const int N = x->dim[0], classes = network_output_size(net);
    Tensor *loss_dscores = tensor_like(dscores);
    int found = -1;
    for (int draw = 1; draw <= max_draws && found < 0; draw++) {
        int posed = gradcheck_draw_network_case(net, x, draw_input, dscores, rng, 1) > 0;
        for (int i = 0; i < N; i++) labels[i] = (int)rng_below(rng, (uint32_t)classes);
        if (!posed) continue;
        gradcheck_network_loss_dscores(net, x, labels, loss_dscores);
        if (smallest_ratio(loss_dscores, 1.0) > 0) found = draw;
    }
    tensor_free(loss_dscores);
    return found;
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
