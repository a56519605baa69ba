/* sgd.h: stochastic gradient descent with momentum, in PyTorch's form.
 *
 * For every parameter p with gradient grad:
 *     g = grad + weight_decay * p      (only where the role says decay: weights)
 *     v = momentum * v + g             (v starts at 0)
 *     p = p - lr * v
 * With momentum 0 this is plain gradient descent, p -= lr * g. Momentum
 * lets v average the gradients of recent steps, which smooths the noise of
 * small mini-batches and speeds progress along consistent directions.
 *
 * Nesterov momentum steps with the gradient and the velocity it is about
 * to build, a look ahead:
 *     v = momentum * v + g
 *     p = p - lr * (g + momentum * v) */
#ifndef SGD_H
#define SGD_H

#include "optimizer.h"

typedef struct {
    double lr;
    double momentum;
    double weight_decay;
    int nesterov;        /* 1: Nesterov momentum */
} SgdConfig;

/* An Optimizer ("sgd", or "nesterov") with one slot per parameter, "velocity". */
Optimizer *sgd_create(Network *net, SgdConfig config);

#endif
