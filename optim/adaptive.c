#include "adaptive.h"

#include <math.h>

/* Blocks of weights that threads take as they come free; each weight
 * moves on its own, so the split changes nothing. */
#define BLOCK 16384

typedef struct {
    Optimizer base;
    RmspropConfig config;
} Rmsprop;

static void rmsprop_step(Optimizer *opt, Network *net)
{
    const RmspropConfig *c = &((const Rmsprop *)opt)->config;
    const real lr = (real)opt->lr, alpha = (real)c->alpha, eps = (real)c->eps;
    for (int i = 0; i < opt->num_params; i++) {
        Param *param = network_param(net, i, NULL, 0);
        real *restrict p = param->value->data, *restrict s = optimizer_state(opt, i, 0)->data;
        const real *restrict grad = param->grad->data;
        const real decay = param->decay ? (real)opt->weight_decay : 0;
        const long size = (long)param->value->size;
        #pragma omp parallel for schedule(dynamic, BLOCK) if (size > 4 * BLOCK)
        for (long k = 0; k < size; k++) {
            real g = grad[k] + decay * p[k];
            s[k] = alpha * s[k] + (1 - alpha) * g * g;
            p[k] -= lr * g / (real_sqrt(s[k]) + eps);
        }
    }
}

typedef struct {
    Optimizer base;
    AdamConfig config;
} Adam;

static void adam_step(Optimizer *opt, Network *net)
{
    const AdamConfig *c = &((const Adam *)opt)->config;
    const double t = (double)(opt->steps + 1); /* this step's number, from 1 */
    const double correction1 = 1 - pow(c->beta1, t), correction2 = 1 - pow(c->beta2, t);
    /* lr m^ / (sqrt(v^) + eps) = (lr / c1) m / (sqrt(v) / sqrt(c2) + eps), as PyTorch computes it */
    const real step = (real)(opt->lr / correction1), root2 = (real)sqrt(correction2);
    const real beta1 = (real)c->beta1, beta2 = (real)c->beta2, eps = (real)c->eps;
    for (int i = 0; i < opt->num_params; i++) {
        Param *param = network_param(net, i, NULL, 0);
        real *restrict p = param->value->data;
        real *restrict m = optimizer_state(opt, i, 0)->data, *restrict v = optimizer_state(opt, i, 1)->data;
        const real *restrict grad = param->grad->data;
        const real decay = param->decay ? (real)opt->weight_decay : 0;
        /* AdamW shrinks the weight itself; Adam adds the decay to the gradient */
        const real shrink = c->decoupled ? 1 - (real)opt->lr * decay : 1;
        const real coupled = c->decoupled ? 0 : decay;
        const long size = (long)param->value->size;
        #pragma omp parallel for schedule(dynamic, BLOCK) if (size > 4 * BLOCK)
        for (long k = 0; k < size; k++) {
            p[k] *= shrink;
            real g = grad[k] + coupled * p[k];
            m[k] = beta1 * m[k] + (1 - beta1) * g;
            v[k] = beta2 * v[k] + (1 - beta2) * g * g;
            p[k] -= step * m[k] / (real_sqrt(v[k]) / root2 + eps);
        }
    }
}

static const OptimizerOps rmsprop_ops = {
    .name = "rmsprop",
    .slots = 1,
    .slot_names = {"square_avg"},
    .step = rmsprop_step,
};

static const OptimizerOps adam_ops = {
    .name = "adam",
    .slots = 2,
    .slot_names = {"exp_avg", "exp_avg_sq"},
    .step = adam_step,
};

static const OptimizerOps adamw_ops = {
    .name = "adamw",
    .slots = 2,
    .slot_names = {"exp_avg", "exp_avg_sq"},
    .step = adam_step,
};

Optimizer *rmsprop_create(Network *net, RmspropConfig config)
{
    Rmsprop *r = (Rmsprop *)optimizer_alloc(&rmsprop_ops, sizeof *r, net, config.lr,
                                            config.weight_decay);
    r->config = config;
    return &r->base;
}

Optimizer *adam_create(Network *net, AdamConfig config)
{
    Adam *a = (Adam *)optimizer_alloc(config.decoupled ? &adamw_ops : &adam_ops, sizeof *a, net,
                                      config.lr, config.weight_decay);
    a->config = config;
    return &a->base;
}
