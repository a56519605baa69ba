/* optimizers.h: every optimizer by name, for the programs that let a user
 * choose one (emotion train --optimizer NAME). momentum's 0.9 is the usual
 * choice (PyTorch's default is 0); alpha, the betas and eps are PyTorch's
 * defaults; lr and weight decay are the workbench's own (PyTorch: SGD has
 * no default lr, RMSprop's is 0.01, Adam's 0.001; weight decay 0, AdamW's
 * 0.01).
 *
 *   name       update (optim/sgd.h, optim/adaptive.h)       settings used
 *   sgd        SGD with momentum                              lr momentum weight_decay
 *   nesterov   SGD with Nesterov momentum                     lr momentum weight_decay
 *   rmsprop    RMSprop                                        lr alpha eps weight_decay
 *   adam       Adam, decay added to the gradient              lr beta1 beta2 eps weight_decay
 *   adamw      Adam with decoupled weight decay               lr beta1 beta2 eps weight_decay */
#ifndef OPTIMIZERS_H
#define OPTIMIZERS_H

#include "optimizer.h"

typedef struct {
    const char *name;
    double lr;
    double momentum;      /* sgd, nesterov: 0.9 */
    double alpha;         /* rmsprop: 0.99 */
    double beta1, beta2;  /* adam, adamw: 0.9, 0.999 */
    double eps;           /* rmsprop, adam, adamw: 1e-8 */
    double weight_decay;  /* all: 5e-4 */
} OptimizerSettings;

/* The defaults for name (lr: 0.02 for the SGDs, 0.001 for the others), or
 * -1 for an unknown name. */
int optimizer_defaults(const char *name, OptimizerSettings *settings);

/* Whether the optimizer uses a setting: "momentum", "alpha", "beta1",
 * "beta2", "eps" (lr and weight_decay apply to all). */
int optimizer_uses(const char *name, const char *setting);

/* The optimizer the settings name, for net's parameters. */
Optimizer *optimizer_create(Network *net, const OptimizerSettings *settings);

/* "sgd, nesterov, rmsprop, adam or adamw", for messages. */
extern const char optimizer_names[];

#endif
