/* train.h: the training loop, in pieces a lesson can call one at a time.
 *
 * One epoch is a pass over the training split in mini-batches. For each
 * batch:
 *     loss = mean cross-entropy of the network's scores     (forward)
 *     every parameter's gradient dL/dp                      (backward)
 *     every parameter moves                                 (optimizer_step)
 * After the epoch, evaluate() runs the network over the validation split
 * without changing it, which tells how well what was learned carries over
 * to faces the network has never trained on.
 *
 *     Optimizer *opt = sgd_create(net, (SgdConfig){0.02, 0.9, 5e-4});
 *     Loader loader;
 *     loader_init(&loader, &train, 64, (LoaderOptions){1, 1, seed});
 *     for (int epoch = 0; epoch < epochs; epoch++) {
 *         EpochResult r;
 *         if (train_epoch(net, opt, &loader, epoch, NULL, &r, &err)) break; // NaN
 *         double val_accuracy, val_loss = evaluate(net, &val, 256, &val_accuracy);
 *     }
 */
#ifndef TRAIN_H
#define TRAIN_H

#include <stdint.h>

#include "error.h"
#include "loader.h"
#include "network.h"
#include "progress.h"
#include "optimizer.h"
#include "optimizers.h"

/* What one pass over a split gave. */
typedef struct {
    double loss;      /* mean cross-entropy per image */
    double accuracy;  /* fraction of images whose highest score is the true class */
    int images;
    double seconds;
} EpochResult;

/* Number of rows of probs (N, K) whose largest entry is at labels[i]. */
int count_correct(const Tensor *probs, const int *labels);

/* Trains net for one epoch over the loader's dataset (loader_begin_epoch
 * is called here with epoch), in training mode, one optimizer step per
 * mini-batch. result gets the
 * running figures, as seen during training: each batch's loss and
 * accuracy before its update, averaged over the images. bar (may be NULL)
 * is advanced by images and shows the running loss.
 *
 * A loss that is NaN or infinite stops the epoch before that batch's
 * update, returning -1 with a message naming the epoch (1-based) and the
 * batch; the parameters are those after the previous batch. */
int train_epoch(Network *net, Optimizer *opt, Loader *loader, int epoch, Progress *bar,
                EpochResult *result, Error *err);

/* Mean loss of net over every image of data, in order, in batches of
 * batch_size, with no augmentation; *accuracy (may be NULL) receives the
 * fraction classified right. The network runs in evaluation mode (and is
 * left in it); its parameters are unchanged. */
double evaluate(Network *net, const Dataset *data, int batch_size, double *accuracy);

/* What a run that diverged (a loss or a weight no longer finite, a loss
 * far above a uniform guess's) most probably suffers from, for the end of
 * its message: "the learning rate (0.02) is probably too high", and, when
 * each step's decay alone moves a weight past zero (lr * weight_decay >= 1,
 * for the optimizers whose decay step is lr * weight_decay * w: sgd,
 * nesterov, adamw), the weight decay too, with that product. Written into
 * text (size bytes). */
void divergence_suspect(const Optimizer *opt, char *text, size_t size);

/* The weight decay alone, with no gradient, moves a weight w by
 * -lr * weight_decay * w each step (through the velocity with momentum).
 * Past a limit on a = lr * weight_decay, that overshoots zero by more than
 * w: the weights flip sign and grow, step after step, and no gradient can
 * save the run. The limit, where the decay's own iteration stops
 * shrinking the weights:
 *   adamw      w <- (1 - a) w:                                  a < 2
 *   sgd        (w, lr v) <- [[1 - a, -m], [a, m]] (w, lr v):    a < 2 (1 + m)
 *   nesterov   (w, lr v) <- [[1 - a(1+m), -m^2], [a, m]] (...): a < 2 (1 + m) / (1 + 2m)
 * (m the momentum; the two matrices' eigenvalues stay inside the unit
 * circle exactly below those values). Returns the limit, or 0 for
 * rmsprop and adam, which divide the decay's gradient by its own size:
 * their step stays near lr however large the decay. */
double weight_decay_limit(const OptimizerSettings *settings);

/* What identifies the data a run trained on, kept in its resume file so
 * that --resume can tell when the file at the run's --data path holds
 * other data now: the number of images in each split, a CRC-32 of each
 * split as loaded (its pixels, then its labels as 4-byte little-endian
 * integers), and one of the class names (each with its ending 0 byte). */
typedef struct {
    int64_t train_images, val_images;
    uint32_t train_crc, val_crc, names_crc;
} DataFingerprint;

void data_fingerprint(const Dataset *train, const Dataset *val, DataFingerprint *fp);

/* 0 if now is the data the run had; else 1 with what differs in text
 * (size bytes), e.g. "200 training images, the run had 64" or "same sizes
 * (64 training, 14 validation images), different contents: the training
 * images or labels". */
int data_fingerprint_differs(const DataFingerprint *now, const DataFingerprint *had, char *text,
                             size_t size);

/* Class weights of the loss (softmax_xent.h), for data where some classes
 * are rare (FER2013's Disgust: 1.5% of the training faces). With n_k the
 * training images of class k, N their total and K the classes:
 *   balanced: w_k = N / (K n_k)        (each class weighs as much in total)
 *   sqrt:     w_k = sqrt(N / (K n_k))  (halfway, in ratio, to balanced)
 * A class without training images gets weight 1 (it never appears). */
typedef enum { CLASS_WEIGHTS_NONE, CLASS_WEIGHTS_BALANCED, CLASS_WEIGHTS_SQRT } ClassWeights;

/* "none", "balanced", "sqrt" -> the mode, or -1. */
int class_weights_from_name(const char *name);
const char *class_weights_name(ClassWeights mode);

/* Fills w (classes,) from data's labels; CLASS_WEIGHTS_NONE: all 1. */
void class_weights_compute(const Dataset *data, ClassWeights mode, int classes, real *w);

#endif
