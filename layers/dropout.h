/* dropout.h: inverted dropout.
 *
 *   x, out, dout, dx: any shape, all the same
 *   training:   keep each value with probability 1 - p, zero it otherwise,
 *               and scale the kept ones by 1 / (1 - p):
 *                   out = x * mask / (1 - p),  mask_i ~ Bernoulli(1 - p)
 *               so that the expected value of out is x, as in evaluation;
 *   evaluation: out = x (nothing dropped, nothing scaled).
 *   backward:   dx = dout * mask / (1 - p) (the same mask), or dout in evaluation.
 * p = 0 is the identity in both modes.
 *
 * Each training step samples a different sub-network (the units that
 * survive); evaluation uses all of them at once, which approximates the
 * average of that whole ensemble of sub-networks.
 *
 * The mask is a function of the layer's noise key (set by the network
 * before each training step, from the training seed and the step) and of
 * each value's position, nothing else: the same for every thread count,
 * and the same on every forward pass until the key changes (which is what
 * lets the gradient checker hold it fixed). */
#ifndef DROPOUT_H
#define DROPOUT_H

#include "layer.h"

typedef struct {
    Layer base;
    double p;               /* probability of dropping a value */
    uint8_t *mask;          /* 1 kept, 0 dropped, for the last forward */
    size_t mask_capacity;
} DropoutLayer;

/* p in [0, 1). */
Layer *dropout_create(double p, Error *err);

#endif
