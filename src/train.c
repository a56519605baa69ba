#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

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
            char suspect[200];
            divergence_suspect(opt, suspect, sizeof suspect);
            status = error_set(err, "epoch %d, batch %d of %d: the loss is %s; %s", epoch + 1,
                               batch, loader_batches_per_epoch(loader),
                               isnan(loss) ? "NaN" : "infinite", suspect);
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

/* Whether the optimizer's decay step is lr * weight_decay * w: rmsprop and
 * adam add the decay to the gradient they then divide by its size. */
static int decay_scales_with_lr(const char *optimizer)
{
    return strcmp(optimizer, "rmsprop") != 0 && strcmp(optimizer, "adam") != 0;
}

void divergence_suspect(const Optimizer *opt, char *text, size_t size)
{
    const double product = opt->lr * opt->weight_decay;
    if (decay_scales_with_lr(opt->ops->name) && product >= 1)
        snprintf(text, size, "the learning rate (%g) is probably too high, or the weight decay "
                             "(%g) with it: each step's decay alone moves a weight by lr x weight "
                             "decay = %g times itself, past zero", opt->lr, opt->weight_decay,
                 product);
    else
        snprintf(text, size, "the learning rate (%g) is probably too high", opt->lr);
}

double weight_decay_limit(const OptimizerSettings *settings)
{
    const double m = settings->momentum;
    if (!decay_scales_with_lr(settings->name)) return 0;
    if (!strcmp(settings->name, "sgd")) return 2 * (1 + m);
    if (!strcmp(settings->name, "nesterov")) return 2 * (1 + m) / (1 + 2 * m);
    return 2; /* adamw */
}

/* crc32 over bytes, in pieces that fit zlib's unsigned lengths */
static uint32_t crc_bytes(uint32_t crc, const uint8_t *bytes, size_t count)
{
    while (count > 0) {
        const uInt piece = count > (1u << 30) ? 1u << 30 : (uInt)count;
        crc = (uint32_t)crc32(crc, bytes, piece);
        bytes += piece;
        count -= piece;
    }
    return crc;
}

/* A split's pixels, then its labels as 4-byte little-endian integers (the
 * same CRC on any machine). */
static uint32_t split_crc(const Dataset *d)
{
    const size_t pixels = (size_t)d->count * d->channels * d->height * d->width;
    uint32_t crc = crc_bytes((uint32_t)crc32(0, Z_NULL, 0), d->images, pixels);
    uint8_t buf[4 * 256];
    for (int i = 0; i < d->count; i += 256) {
        const int n = d->count - i < 256 ? d->count - i : 256;
        for (int k = 0; k < n; k++) {
            const uint32_t label = (uint32_t)d->labels[i + k];
            for (int b = 0; b < 4; b++) buf[4 * k + b] = (uint8_t)(label >> (8 * b));
        }
        crc = crc_bytes(crc, buf, 4 * (size_t)n);
    }
    return crc;
}

void data_fingerprint(const Dataset *train, const Dataset *val, DataFingerprint *fp)
{
    fp->train_images = train->count;
    fp->val_images = val->count;
    fp->train_crc = split_crc(train);
    fp->val_crc = split_crc(val);
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    for (int k = 0; k < train->classes; k++)
        crc = crc_bytes(crc, (const uint8_t *)train->class_names[k],
                        strlen(train->class_names[k]) + 1);
    fp->names_crc = crc;
}

int data_fingerprint_differs(const DataFingerprint *now, const DataFingerprint *had, char *text,
                             size_t size)
{
    const long long train = now->train_images, val = now->val_images;
    const long long had_train = had->train_images, had_val = had->val_images;
    if (train != had_train && val != had_val)
        snprintf(text, size, "%lld training and %lld validation images, the run had %lld and %lld",
                 train, val, had_train, had_val);
    else if (train != had_train)
        snprintf(text, size, "%lld training images, the run had %lld", train, had_train);
    else if (val != had_val)
        snprintf(text, size, "%lld validation images, the run had %lld", val, had_val);
    else if (now->train_crc != had->train_crc || now->val_crc != had->val_crc)
        snprintf(text, size, "same sizes (%lld training, %lld validation images), different "
                             "contents: the %s images or labels", train, val,
                 now->train_crc != had->train_crc && now->val_crc != had->val_crc
                     ? "training and validation"
                 : now->train_crc != had->train_crc ? "training" : "validation");
    else if (now->names_crc != had->names_crc)
        snprintf(text, size, "the same images and labels, different class names");
    else
        return 0;
    return 1;
}
