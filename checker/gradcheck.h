/* gradcheck.h: numerical gradient checking.
 *
 * A backward pass is a claim: "this is dL/dt for every entry of t". The
 * checker tests the claim against the definition of a derivative, with a
 * centred difference for each entry t_i:
 *
 *     numerical_i = (L(t_i + h) - L(t_i - h)) / (2h),   h = 1e-5
 *
 * whose error is O(h^2) (an entry that disagrees is measured again at 2h
 * and extrapolated, O(h^4): see gradcheck_tensor), and reports, over the
 * tensor, the largest
 *
 *     relative error = |analytic - numerical| / max(|analytic|, |numerical|)
 *
 * (0 when both are 0). In double precision a correct layer scores about
 * 1e-8 or less; the pass mark is 1e-7 (CS231n's "good"). Only the double
 * build can check: float's rounding alone exceeds 1e-3 at this h.
 *
 * For a layer the scalar is L = sum(out * dout) with a random dout, so
 * dL/dout = dout and the layer's backward(dout) must return dL/dx and
 * dL/dparams. For the softmax loss, L is the loss. A whole network is
 * checked in two parts: from x and every parameter to the scores, like a
 * layer (L = sum(scores * dscores)), and from the scores to the loss the
 * network trains on, in one row of its own.
 *
 * A check can pass vacuously when both gradients are zero everywhere; a
 * tensor whose analytic gradient is all zero is reported as a failure. */
#ifndef GRADCHECK_H
#define GRADCHECK_H

#include "layer.h"
#include "network.h"
#include "rng.h"

#define GRADCHECK_STEP 1e-5
#define GRADCHECK_THRESHOLD 1e-7

/* Resolution. A centred difference at h = 1e-5 in double measures every
 * entry with about the same absolute error (the rounding of the outputs it
 * subtracts, near 1e-11 for outputs of size 1). An entry whose true value is
 * a million times smaller than the others' is then measured to only a few
 * digits: its relative error reports rounding, not the backward pass. So
 * an entry whose analytic and numerical values are both below its tensor's
 * resolution floor, GRADCHECK_RESOLUTION times the tensor's largest entry,
 * is judged relative to the floor instead, after taking away what rounding
 * alone can make (GRADCHECK_ROUNDING_ULPS): it must agree to 1e-7 of the
 * floor, 1e-10 of the tensor's scale. Every other entry is judged by its
 * relative error. (A single layer's check also redraws its upstream
 * gradient until no entry is that small: gradcheck_layer.)
 * An all-zero gradient never qualifies. */
#define GRADCHECK_RESOLUTION 1e-3

/* An analytic entry of exactly 0 agrees with a centred difference no
 * larger than this many roundings of the terms it sums (divided by 2h):
 * a gradient that is zero by cancellation, not by structure, leaves that
 * much behind (about 2.4 measured, for a bias before a batchnorm). See
 * gradcheck_tensor in gradcheck.c. */
#define GRADCHECK_ROUNDING_ULPS 64

/* A gradient tensor whose largest entry is below GRADCHECK_ZERO_FLOOR times
 * the largest entry of all the tensors of the same network check is zero
 * up to rounding: the output does not depend on it (a bias just before a
 * batchnorm, whose mean subtraction removes it). Its centred differences
 * measure rounding too, so it is as unresolvable as an all-zero one. */
#define GRADCHECK_ZERO_FLOOR 1e-10

/* What rounding leaves in any centred difference. Every value a forward
 * pass computes (x, each layer's output, the scores) is off by a rounding
 * of its size, which moves L by that times dL/dvalue; independent roundings
 * add in quadrature, so at step h a difference is off by about
 *
 *     u = eps sqrt(sum over those values a of (r a dL/da)^2) / 2h
 *
 * r the roundings the layer that computed a carries (1, or what its
 * output_roundings says: a Winograd convolution's transforms, 8),
 * whatever the entry (1e-10 for ten scores of size 1 in double). An entry
 * judged by its relative error can be measured to 1e-7 only if it is well
 * above u / 1e-7. So a network check is not well posed when an entry at or
 * above its tensor's resolution floor is below GRADCHECK_RESOLVABLE_ROUNDINGS
 * times u / 1e-7; the tensor is named. Such a gradient is not zero but is
 * as unresolvable: a weight that alone feeds a batchnorm channel ("conv 4
 * 1x1 nobias, batchnorm") has one, since batchnorm undoes the weight's
 * scale and the output depends on it only through batchnorm's eps (about
 * 1e-4 at He weights). The gradients dL/da are what see a cancellation: a
 * batchnorm channel summed from terms of size 1 that nearly cancel (conv2's
 * weights in "conv 3 1x1 nobias, batchnorm, relu, conv 3 1x1 nobias,
 * batchnorm") has a small spread, and dividing by it multiplies the terms'
 * rounding and their gradient alike; counting only the scores missed that
 * and let 15 of 200 seeds of that network fail on rounding (2 still fail
 * on curvature, see README). 3 is measured: with it, none of 200 seeds of
 * six other batchnorm networks failed, where 1 to 4 had, and a batchnorm
 * backward with a wrong dgamma or without its mean term failed on every
 * seed. */
#define GRADCHECK_RESOLVABLE_ROUNDINGS 3

typedef struct {
    char layer[32];         /* "conv", "net", ... */
    char tensor[32];        /* "dx", "dw", "conv1.w", ... */
    int ndim;
    int dims[TENSOR_MAX_DIMS];
    double max_rel_error;
    double max_abs_analytic; /* 0 means the analytic gradient is all zero */
    int pass;
} GradcheckRow;

/* The function being checked: computes its output from the current values
 * (of x and the parameters) into out, which is already sized. */
typedef void (*GradcheckFunction)(void *context, Tensor *out);

/* Checks `analytic` (already computed, same shape as value) against the
 * centred differences of L = sum(f() * dout) with respect to every entry of
 * value. value is restored afterwards. */
GradcheckRow gradcheck_tensor(GradcheckFunction f, void *context, Tensor *value,
                              const Tensor *dout, const Tensor *analytic,
                              const char *layer, const char *tensor);

/* Checks `analytic` as the gradient of L = sum(layer(x) * dout) with
 * respect to value (x itself or one of the layer's parameters); the row
 * is named after the layer's kind and `tensor`. */
GradcheckRow gradcheck_layer_tensor(Layer *layer, const Tensor *x, Tensor *value,
                                    const Tensor *dout, const Tensor *analytic, const char *tensor);

/* Checks a layer at input x with a random upstream gradient drawn from rng:
 * dx (row "dx") and every parameter ("dw", "db"). Writes up to max_rows
 * rows and returns how many. The upstream gradient is drawn, with a
 * backward pass each time, up to GRADCHECK_LAYER_MAX_DRAWS times, until
 * every gradient entry is resolvable (see GRADCHECK_RESOLUTION). Entries
 * too small for what rounding leaves in a centred difference (u above, from
 * x and the output, the output's weighed by the layer's output_roundings)
 * are judged against that floor, as the loss row's are. */
#define GRADCHECK_LAYER_MAX_DRAWS 1000
int gradcheck_layer(Layer *layer, Tensor *x, Rng *rng, GradcheckRow *rows, int max_rows);

/* Checks softmax cross-entropy's dscores at the given scores and labels. */
GradcheckRow gradcheck_softmax_xent(Tensor *scores, const int *labels);

/* Checks a network's backward pass from the upstream gradient dscores
 * (L = sum(scores * dscores)) for the input x ("dx") and every parameter
 * ("conv1.w", ...). These rows end at the scores: the loss above them is
 * the row of gradcheck_network_loss. */
int gradcheck_network(Network *net, Tensor *x, const Tensor *dscores, GradcheckRow *rows,
                      int max_rows);

/* The gradient of the loss with respect to the scores as training computes
 * it: network_loss(net, x, labels), then network_loss_backward. dscores
 * (resized to the scores' shape, (N, K)) receives the gradient the network
 * hands its last layer. Returns the loss. */
double gradcheck_network_loss_dscores(Network *net, const Tensor *x, const int *labels,
                                      Tensor *dscores);

/* Checks `analytic` (N, K) as the gradient of loss = network_loss(net, x,
 * labels) with respect to the scores the network computes from x: each
 * centred difference nudges one score and recomputes network_loss. Row
 * "loss" "dscores". The loss cancels terms the size of the scores, so its
 * entries too small for that rounding (GRADCHECK_RESOLVABLE_ROUNDINGS) are
 * judged against it, as entries below the resolution floor are. The analytic side is an argument so a test can hand it
 * a wrong one; ./gradcheck net passes gradcheck_network_loss_dscores's. */
GradcheckRow gradcheck_network_loss(Network *net, const Tensor *x, const int *labels,
                                    const Tensor *analytic);

/* How resolvable a network check is: over dx and every parameter gradient,
 * the smallest ratio of a nonzero entry to the largest entry of its tensor
 * (compare with GRADCHECK_RESOLUTION); 0 if a tensor is zero, or zero up to
 * rounding (GRADCHECK_ZERO_FLOOR), or has an entry too small for rounding to
 * let it be judged (GRADCHECK_RESOLVABLE_ROUNDINGS). Runs a forward and a
 * backward pass of its own first, layer by layer, to weigh the rounding. */
double gradcheck_network_resolution(Network *net, const Tensor *x, const Tensor *dscores);

/* Inputs closer than this to a kink (a ReLU input to 0, the two largest
 * values of a max-pool window to each other) are not checked: a centred
 * difference of step 1e-5 must not straddle one, with room to spare. */
#define GRADCHECK_KINK_MARGIN 1e-3

/* The smallest distance from a kink over every layer that has one
 * (LayerOps.kink_distance, asked of each layer at its input), in one
 * forward pass on x; INFINITY when no layer has a kink. where (if not
 * NULL) receives the name of the layer nearest its kink. */
double gradcheck_network_kink_distance(Network *net, const Tensor *x, char *where,
                                       size_t where_len);

/* True if a network check at (x, dscores) is well posed: every layer's
 * input more than GRADCHECK_KINK_MARGIN from its kinks, and every gradient
 * tensor resolvable (gradcheck_network_resolution above 0). */
int gradcheck_network_well_posed(Network *net, const Tensor *x, const Tensor *dscores);

/* Why a network case is not well posed, in words for a message, e.g.
 * "relu1's input came within 2.1e-05 of its kink (the margin is 1e-03)",
 * "the gradient of fc1.b was zero, or zero up to rounding: ..." or "the
 * gradient of conv1.w had an entry of 1.2e-04, too small to resolve: ...";
 * "well posed" if it is. labels (may be NULL) adds the loss row's
 * gradient to the tensors looked at. */
void gradcheck_network_explain(Network *net, const Tensor *x, const Tensor *dscores,
                               const int *labels, char *buf, size_t len);

/* Draws He weights and a normal dscores (and, if draw_input, x uniform in
 * [0, 1)) until the check is well posed. Returns the number of draws, or -1
 * if max_draws were not enough. The threshold is never loosened instead. */
int gradcheck_draw_network_case(Network *net, Tensor *x, int draw_input, Tensor *dscores,
                                Rng *rng, int max_draws);

/* As gradcheck_draw_network_case, and draws labels (N of them, uniform over
 * the network's classes) too, until the loss row is resolvable as well.
 * Returns the number of draws, or -1. */
int gradcheck_draw_loss_case(Network *net, Tensor *x, int draw_input, Tensor *dscores,
                             int *labels, Rng *rng, int max_draws);

/* Fills x with values whose pairwise differences are all at least
 * 3/4 `spacing` (a shuffled ladder `spacing` apart, each rung jittered by
 * at most spacing/8): no max-pool window can hold a near-tie. The ladder
 * straddles 0 with no rung on it, so no value is within 3/8 spacing of 0
 * and no ReLU input sits on its kink. */
void gradcheck_fill_distinct(Tensor *x, double spacing, Rng *rng);

/* Fills x with normal values pushed at least `margin` away from 0. */
void gradcheck_fill_away_from_zero(Tensor *x, double margin, Rng *rng);

/* Prints a row: layer, tensor, shape, max relative error, PASS/FAIL. */
void gradcheck_print_header(void);
void gradcheck_print_row(const GradcheckRow *row);

#endif
