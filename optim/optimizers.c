#include "optimizers.h"

#include <string.h>

#include "adaptive.h"
#include "sgd.h"

const char optimizer_names[] = "sgd, nesterov, rmsprop, adam or adamw";

static const char *const names[] = {"sgd", "nesterov", "rmsprop", "adam", "adamw"};

int optimizer_defaults(const char *name, OptimizerSettings *s)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) {
            int sgd = i < 2;
            *s = (OptimizerSettings){.name = names[i], .lr = sgd ? 0.02 : 0.001, .momentum = 0.9,
                                     .alpha = 0.99, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                     .weight_decay = 5e-4};
            return 0;
        }
    return -1;
}

int optimizer_uses(const char *name, const char *setting)
{
    const int sgd = !strcmp(name, "sgd") || !strcmp(name, "nesterov");
    const int adam = !strcmp(name, "adam") || !strcmp(name, "adamw");
    const int rmsprop = !strcmp(name, "rmsprop");
    if (!strcmp(setting, "momentum")) return sgd;
    if (!strcmp(setting, "alpha")) return rmsprop;
    if (!strcmp(setting, "beta1") || !strcmp(setting, "beta2")) return adam;
    if (!strcmp(setting, "eps")) return adam || rmsprop;
    return 1;
}

Optimizer *optimizer_create(Network *net, const OptimizerSettings *s)
{
    if (!strcmp(s->name, "rmsprop"))
        return rmsprop_create(net, (RmspropConfig){.lr = s->lr, .alpha = s->alpha, .eps = s->eps,
                                                   .weight_decay = s->weight_decay});
    if (!strcmp(s->name, "adam") || !strcmp(s->name, "adamw"))
        return adam_create(net, (AdamConfig){.lr = s->lr, .beta1 = s->beta1, .beta2 = s->beta2,
                                             .eps = s->eps, .weight_decay = s->weight_decay,
                                             .decoupled = !strcmp(s->name, "adamw")});
    return sgd_create(net, (SgdConfig){.lr = s->lr, .momentum = s->momentum,
                                       .weight_decay = s->weight_decay,
                                       .nesterov = !strcmp(s->name, "nesterov")});
}
