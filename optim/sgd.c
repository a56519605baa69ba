#include "sgd.h"

#include <stdlib.h>
#include <string.h>

Sgd *sgd_create(Network *net, SgdConfig config)
{
    Sgd *sgd = xcalloc(1, sizeof *sgd);
    sgd->config = config;
    sgd->count = network_num_params(net);
    sgd->velocity = xcalloc((size_t)sgd->count, sizeof *sgd->velocity);
    for (int i = 0; i < sgd->count; i++)
        sgd->velocity[i] = tensor_like(network_param(net, i, NULL, 0)->value);
    return sgd;
}

void sgd_free(Sgd *sgd)
{
    if (!sgd) return;
    for (int i = 0; i < sgd->count; i++) tensor_free(sgd->velocity[i]);
    free(sgd->velocity);
    free(sgd);
}

void sgd_step(Sgd *sgd, Network *net)
{
    const real lr = (real)sgd->config.lr, momentum = (real)sgd->config.momentum;
    for (int i = 0; i < sgd->count; i++) {
        Param *param = network_param(net, i, NULL, 0);
        real *restrict p = param->value->data, *restrict v = sgd->velocity[i]->data;
        const real *restrict grad = param->grad->data;
        /* decay pulls weights toward 0; biases only shift, so they are left alone */
        const real decay = strcmp(param->name, "w") == 0 ? (real)sgd->config.weight_decay : 0;
        const long size = (long)param->value->size;
        /* every weight moves on its own: threads take blocks of them as
         * they come free, and the result is the same however they split */
        #pragma omp parallel for schedule(dynamic, 16384) if (size > 65536)
        for (long k = 0; k < size; k++) {
            real g = grad[k] + decay * p[k];
            v[k] = momentum * v[k] + g;
            p[k] -= lr * v[k];
        }
    }
}
