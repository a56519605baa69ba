#include "optimizer.h"

#include <stdlib.h>

Optimizer *optimizer_alloc(const OptimizerOps *ops, size_t size, Network *net, double lr,
                           double weight_decay)
{
    Optimizer *opt = xcalloc(1, size);
    opt->ops = ops;
    opt->lr = lr;
    opt->weight_decay = weight_decay;
    opt->num_params = network_num_params(net);
    opt->state = xcalloc((size_t)opt->num_params * (size_t)ops->slots + 1, sizeof *opt->state);
    for (int p = 0; p < opt->num_params; p++)
        for (int s = 0; s < ops->slots; s++)
            opt->state[p * ops->slots + s] = tensor_like(network_param(net, p, NULL, 0)->value);
    return opt;
}

void optimizer_step(Optimizer *opt, Network *net)
{
    opt->ops->step(opt, net);
    opt->steps++;
}

void optimizer_free(Optimizer *opt)
{
    if (!opt) return;
    for (int i = 0; i < opt->num_params * opt->ops->slots; i++) tensor_free(opt->state[i]);
    free(opt->state);
    free(opt);
}
