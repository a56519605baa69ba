/* sgd.h: stochastic gradient descent with momentum, in PyTorch's form.
 *
 * For every parameter p with gradient grad:
 *     g = grad + weight_decay * p      (weights only: ".w" arrays, never biases)
 *     v = momentum * v + g             (v starts at 0)
 *     p = p - lr * v
 * With momentum 0 this is plain gradient descent, p -= lr * g. Momentum
 * lets v average the gradients of recent steps, which smooths the noise of
 * small mini-batches and speeds progress along consistent directions. */
#ifndef SGD_H
#define SGD_H

#include "network.h"

typedef struct {
    double lr;
    double momentum;
    double weight_decay;
} SgdConfig;

typedef struct {
    SgdConfig config;
    int count;
    Tensor **velocity; /* one per network parameter, same shapes */
} Sgd;

Sgd *sgd_create(Network *net, SgdConfig config);
void sgd_free(Sgd *sgd);

/* Applies one update to every parameter of net from its current gradient. */
void sgd_step(Sgd *sgd, Network *net);

#endif
