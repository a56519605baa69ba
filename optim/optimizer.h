/* optimizer.h: the one interface every optimizer has.
 *
 * After backward has written every parameter's gradient, a step moves
 * every parameter:   p <- p - lr * (a direction made from the gradient)
 * How the direction is made (the raw gradient, a running average of them,
 * one scaled per entry) is what tells optimizers apart. Each keeps a few
 * tensors of state per parameter (SGD with momentum: the velocity).
 *
 * The optimizer only sees the network's parameters (Param): their values,
 * their gradients and their roles. Weight decay, the L2 penalty
 * (weight_decay / 2) * |w|^2 whose gradient is weight_decay * w (added to
 * the gradient; AdamW instead shrinks w apart from it: adaptive.h), applies
 * only to parameters whose role says so (Param.decay: conv and fc weights,
 * never biases, nor batchnorm's gamma and beta).
 *
 *     Optimizer *opt = sgd_create(net, (SgdConfig){.lr = 0.02, .momentum = 0.9,
 *                                                  .weight_decay = 5e-4});
 *     ... forward, backward ...
 *     opt->lr = lr_schedule_lr(&schedule, epoch); // a schedule (src/schedule.h) may change lr
 *     optimizer_step(opt, net);
 *     optimizer_free(opt); */
#ifndef OPTIMIZER_H
#define OPTIMIZER_H

#include "network.h"

#define OPTIMIZER_MAX_SLOTS 2

typedef struct Optimizer Optimizer;

typedef struct {
    const char *name;                             /* "sgd" */
    int slots;                                    /* state tensors per parameter */
    const char *slot_names[OPTIMIZER_MAX_SLOTS];  /* "velocity" */
    /* Moves every parameter of net once, from its gradient. */
    void (*step)(Optimizer *opt, Network *net);
} OptimizerOps;

struct Optimizer {
    const OptimizerOps *ops;
    double lr;            /* learning rate of the next step */
    double weight_decay;  /* on parameters whose role says decay */
    long steps;           /* steps taken so far */
    int num_params;       /* the network's parameters, in network_param order */
    Tensor **state;       /* state[p * slots + s]: slot s of parameter p, p's shape, zero at start */
};

/* One step for every parameter; counts it in opt->steps. */
void optimizer_step(Optimizer *opt, Network *net);

void optimizer_free(Optimizer *opt);

/* For implementations: allocates `size` bytes (a struct whose first member
 * is an Optimizer) with zeroed state tensors shaped like net's parameters. */
Optimizer *optimizer_alloc(const OptimizerOps *ops, size_t size, Network *net, double lr,
                           double weight_decay);

/* Slot s of parameter p. */
static inline Tensor *optimizer_state(const Optimizer *opt, int param, int slot)
{
    return opt->state[param * opt->ops->slots + slot];
}

#endif
