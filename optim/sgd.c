#include "sgd.h"

typedef struct {
    Optimizer base;
    double momentum;
    int nesterov;
} Sgd;

static void sgd_step(Optimizer *opt, Network *net)
{
    const Sgd *sgd = (const Sgd *)opt;
    const real lr = (real)opt->lr, momentum = (real)sgd->momentum;
    const int nesterov = sgd->nesterov;
    for (int i = 0; i < opt->num_params; i++) {
        Param *param = network_param(net, i, NULL, 0);
        real *restrict p = param->value->data, *restrict v = optimizer_state(opt, i, 0)->data;
        const real *restrict grad = param->grad->data;
        /* decay pulls weights toward 0; biases only shift, so they are left alone */
        const real decay = param->decay ? (real)opt->weight_decay : 0;
        const long size = (long)param->value->size;
        /* every weight moves on its own: threads take blocks of them as
         * they come free, and the result is the same however they split */
        #pragma omp parallel for schedule(dynamic, 16384) if (size > 65536)
        for (long k = 0; k < size; k++) {
            real g = grad[k] + decay * p[k];
            v[k] = momentum * v[k] + g;
            p[k] -= nesterov ? lr * (g + momentum * v[k]) : lr * v[k];
        }
    }
}

static const OptimizerOps sgd_ops = {
    .name = "sgd",
    .slots = 1,
    .slot_names = {"velocity"},
    .step = sgd_step,
};

static const OptimizerOps nesterov_ops = {
    .name = "nesterov",
    .slots = 1,
    .slot_names = {"velocity"},
    .step = sgd_step,
};

Optimizer *sgd_create(Network *net, SgdConfig config)
{
    Sgd *sgd = (Sgd *)optimizer_alloc(config.nesterov ? &nesterov_ops : &sgd_ops, sizeof *sgd, net,
                                      config.lr, config.weight_decay);
    sgd->momentum = config.momentum;
    sgd->nesterov = config.nesterov;
    return &sgd->base;
}
