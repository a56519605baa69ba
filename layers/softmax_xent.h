/* softmax_xent.h: softmax followed by the cross-entropy loss.
 *
 *   scores (N, K)   the last layer's raw outputs (logits), K classes
 *   labels (N,)     the true class of each item, 0 <= labels[i] < K
 *   probs  (N, K)   p[i][j] = exp(z_ij) / sum_k exp(z_ik)
 *
 *   loss = (1/N) sum_i -log p[i][labels[i]]
 *
 * Computed stably with the log-sum-exp trick: with m = max_j z_ij,
 *   -log p[i][y] = (m + log sum_j exp(z_ij - m)) - z_iy
 * Every exponent is <= 0, so nothing overflows even for logits of 1000,
 * and the loss never takes the log of a probability rounded to 0.
 *
 * Backward: d loss / d z_ij = (p_ij - [j == y_i]) / N. It is not a Layer
 * (it needs the labels and ends the network), but it is checked the same
 * way as the layers.
 *
 * Class weights (for imbalanced data, as PyTorch's CrossEntropyLoss(weight=w)):
 * each item's loss counts w[y_i] times, and the mean is taken over the
 * weights,
 *   loss = sum_i w[y_i] * (-log p[i][y_i]) / sum_i w[y_i]
 *   d loss / d z_ij = w[y_i] * (p_ij - [j == y_i]) / sum_i w[y_i]
 * so a rare class's mistakes cost more, and w = (1, ..., 1) is the plain
 * mean above. Only the ratios between weights matter.
 *
 * Label smoothing eps (as PyTorch's CrossEntropyLoss(label_smoothing=eps)):
 * the target is no longer the one-hot vector but
 *   t_ij = (1 - eps) [j == y_i] + eps / K
 * (the true class 1 - eps + eps/K, every other class eps/K), and the loss is the
 * cross-entropy against it, -sum_j t_ij log p_ij. The gradient keeps its
 * form, d loss / d z_ij = (p_ij - t_ij) / N, so the network can no longer
 * lower the loss by pushing one logit ever higher: it is least at p = t.
 * It is a regulariser: a network that fits its training faces is kept from
 * growing more and more certain of them. With class weights too, item i's
 * loss is
 *   (1 - eps) w[y_i] (-log p[i][y_i]) + (eps/K) sum_j w[j] (-log p_ij)
 * and the mean is over sum_i w[y_i], as PyTorch's; its gradient is
 *   ((1 - eps) w[y_i] (p_ij - [j == y_i]) + (eps/K) (W p_ij - w[j])) / sum_i w[y_i]
 * with W = sum_j w[j]. */
#ifndef SOFTMAX_XENT_H
#define SOFTMAX_XENT_H

#include "tensor.h"

/* The loss of one item: -log softmax(z)[label], z holding K scores. */
double softmax_xent_item_loss(const real *z, int K, int label);

/* Writes probs (resized to scores' shape) and returns the mean loss. */
double softmax_xent_forward(const Tensor *scores, const int *labels, Tensor *probs);

/* dscores (resized to probs' shape) = (probs - onehot(labels)) / N. */
void softmax_xent_backward(const Tensor *probs, const int *labels, Tensor *dscores);

/* What the loss is taken against, besides the labels. */
typedef struct {
    const real *class_weights; /* (K,), all > 0, or NULL: every class counts 1 */
    double smoothing;          /* label smoothing eps, 0 <= eps < 1 (0: none) */
} LossOptions;

/* The same with class weights and label smoothing; o NULL, or no weights
 * and no smoothing: the plain versions above, to the last bit. */
double softmax_xent_forward_with(const Tensor *scores, const int *labels, const LossOptions *o,
                                 Tensor *probs);
void softmax_xent_backward_with(const Tensor *probs, const int *labels, const LossOptions *o,
                                Tensor *dscores);

#endif
