/* adaptive.h: optimizers that scale each weight's step by the size of its
 * recent gradients, in PyTorch's form. For every parameter p with gradient g
 * (g += weight_decay * p first, for RMSprop and Adam, where the role says decay):
 *
 * RMSprop (slot "square_avg"):
 *     s = alpha s + (1 - alpha) g^2                   (s starts at 0)
 *     p = p - lr g / (sqrt(s) + eps)
 *   A weight whose gradients are large takes small steps and one whose
 *   gradients are small takes large ones: each gets about lr per step.
 *
 * Adam (slots "exp_avg", "exp_avg_sq"), at step t = 1, 2, ...:
 *     m = beta1 m + (1 - beta1) g                     momentum: an average of g
 *     v = beta2 v + (1 - beta2) g^2                   RMSprop's average of g^2
 *     m^ = m / (1 - beta1^t),  v^ = v / (1 - beta2^t) bias correction
 *     p = p - lr m^ / (sqrt(v^) + eps)
 *   m and v start at 0, so early averages are too small: after one step
 *   m = (1 - beta1) g and v = (1 - beta2) g^2. Dividing by 1 - beta1^t
 *   (0.1 at t = 1) and 1 - beta2^t (0.001) undoes that: the first step is
 *   lr g / (|g| + eps), about lr for every weight. Without it m would be
 *   10 times too small and sqrt(v) 32 times (sqrt(0.001)), so the first
 *   step would be 0.1 / 0.032 = 3.2 times too long, not too short.
 *
 * AdamW: Adam whose weight decay is decoupled from the gradient:
 *     p = p - lr weight_decay p   first, then Adam's step with g alone.
 *   With Adam's coupled decay, wd p is divided by sqrt(v^) like the rest
 *   of the gradient, so weights with large gradients are barely decayed. */
#ifndef ADAPTIVE_H
#define ADAPTIVE_H

#include "optimizer.h"

typedef struct {
    double lr;
    double alpha;         /* RMSprop: 0.99 */
    double eps;           /* 1e-8 */
    double weight_decay;
} RmspropConfig;

typedef struct {
    double lr;
    double beta1, beta2;  /* 0.9, 0.999 */
    double eps;           /* 1e-8 */
    double weight_decay;
    int decoupled;        /* 1: AdamW */
} AdamConfig;

Optimizer *rmsprop_create(Network *net, RmspropConfig config);
Optimizer *adam_create(Network *net, AdamConfig config);

#endif
