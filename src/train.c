#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classes.h"
#include "clock.h"

int count_correct(const Tensor *probs, const int *labels)
{
    const int n = probs->dim[0], classes = probs->dim[1];
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const real *p = probs->data + (size_t)i * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (p[k] > p[best]) best = k;
        correct += best == labels[i];
    }
    return correct;
}

int train_epoch(Network *net, Optimizer *opt, Loader *loader, int epoch, Progress *bar,
                EpochResult *result, Error *err)
{
    const double start = clock_seconds();
    const Dataset *data = loader->data;
    Tensor *x = tensor_new4(loader->batch_size, data->channels, data->height, data->width);
    int *labels = xmalloc((size_t)loader->batch_size * sizeof *labels);
    double loss_sum = 0; /* sum over images of each image's loss */
    int correct = 0, images = 0, batch = 0, status = 0, n;

    network_set_mode(net, LAYER_TRAIN);
    loader_begin_epoch(loader, epoch);
    while ((n = loader_next(loader, x, labels)) > 0) {
        batch++;
        /* this step's dropout masks: from the seed and the step alone */
        network_set_noise(net, loader->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)opt->steps);
        double loss = network_loss(net, x, labels);
        if (!isfinite(loss)) {
            status = error_set(err,
                               "epoch %d, batch %d of %d: the loss is %s; the learning rate "
                               "(%g) is probably too high",
                               epoch + 1, batch, loader_batches_per_epoch(loader),
                               isnan(loss) ? "NaN" : "infinite", opt->lr);
            break;
        }
        loss_sum += loss * n;
        correct += count_correct(net->probs, labels);
        images += n;
        network_loss_backward(net, labels, NULL);
        optimizer_step(opt, net);
        if (bar) {
            char text[64];
            snprintf(text, sizeof text, "loss %.4f  acc %.1f%%", loss_sum / images,
                     100.0 * correct / images);
            progress_update(bar, images, text);
        }
    }
    result->images = images;
    result->loss = images ? loss_sum / images : NAN;
    result->accuracy = images ? (double)correct / images : NAN;
    result->seconds = clock_seconds() - start;
    tensor_free(x);
    free(labels);
    return status;
}

double evaluate(Network *net, const Dataset *data, int batch_size, double *accuracy)
{
    Loader loader;
    loader_init(&loader, data, batch_size, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 0});
    Tensor *x = tensor_new4(batch_size, data->channels, data->height, data->width);
    int *labels = xmalloc((size_t)batch_size * sizeof *labels);
    double loss_sum = 0;
    int correct = 0, images = 0, n;
    network_set_mode(net, LAYER_EVAL);
    while ((n = loader_next(&loader, x, labels)) > 0) {
        loss_sum += network_loss(net, x, labels) * n;
        correct += count_correct(net->probs, labels);
        images += n;
    }
    tensor_free(x);
    free(labels);
    loader_free(&loader);
    if (accuracy) *accuracy = images ? (double)correct / images : NAN;
    return images ? loss_sum / images : NAN;
}

int class_weights_from_name(const char *name)
{
    for (int mode = CLASS_WEIGHTS_NONE; mode <= CLASS_WEIGHTS_SQRT; mode++)
        if (!strcmp(name, class_weights_name((ClassWeights)mode))) return mode;
    return -1;
}

const char *class_weights_name(ClassWeights mode)
{
    return mode == CLASS_WEIGHTS_BALANCED ? "balanced" : mode == CLASS_WEIGHTS_SQRT ? "sqrt" : "none";
}

void class_weights_compute(const Dataset *data, ClassWeights mode, int classes, real *w)
{
    int *counts = xcalloc((size_t)classes, sizeof *counts);
    for (int i = 0; i < data->count; i++)
        if (data->labels[i] >= 0 && data->labels[i] < classes) counts[data->labels[i]]++;
    for (int k = 0; k < classes; k++) {
        double balanced = counts[k] ? (double)data->count / ((double)classes * counts[k]) : 1;
        w[k] = (real)(mode == CLASS_WEIGHTS_BALANCED ? balanced
                      : mode == CLASS_WEIGHTS_SQRT   ? sqrt(balanced)
                                                     : 1);
    }
    free(counts);
}
