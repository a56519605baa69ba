#include "softmax_xent.h"

#include <assert.h>
#include <math.h>

/* log sum_j exp(z_j), computed stably: -log p_j is this minus z_j */
static double log_sum_exp(const real *z, int K)
{
    double m = z[0], sum = 0;
    for (int j = 1; j < K; j++) m = z[j] > m ? z[j] : m;
    for (int j = 0; j < K; j++) sum += exp((double)z[j] - m);
    return m + log(sum);
}

double softmax_xent_item_loss(const real *z, int K, int label)
{
    return log_sum_exp(z, K) - (double)z[label];
}

double softmax_xent_forward(const Tensor *scores, const int *labels, Tensor *probs)
{
    const int N = scores->dim[0], K = (int)tensor_item_size(scores);
    double total = 0;
    tensor_resize(probs, scores->ndim, scores->dim);
    for (int i = 0; i < N; i++) {
        const real *z = scores->data + (size_t)i * K;
        real *p = probs->data + (size_t)i * K;
        assert(labels[i] >= 0 && labels[i] < K);
        double m = z[0];
        for (int j = 1; j < K; j++) m = z[j] > m ? z[j] : m;
        double sum = 0;
        for (int j = 0; j < K; j++) sum += exp((double)z[j] - m);
        double log_sum = log(sum);
        for (int j = 0; j < K; j++) p[j] = (real)exp((double)z[j] - m - log_sum);
        total += m + log_sum - (double)z[labels[i]];
    }
    return N ? total / N : 0;
}

void softmax_xent_backward(const Tensor *probs, const int *labels, Tensor *dscores)
{
    const int N = probs->dim[0], K = (int)tensor_item_size(probs);
    tensor_resize(dscores, probs->ndim, probs->dim);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++)
            dscores->data[(size_t)i * K + j] =
                (probs->data[(size_t)i * K + j] - (j == labels[i] ? 1 : 0)) / (real)N;
}

static int is_plain(const LossOptions *o)
{
    return !o || (!o->class_weights && o->smoothing == 0);
}

static double class_weight(const LossOptions *o, int k)
{
    return o->class_weights ? o->class_weights[k] : 1;
}

double softmax_xent_forward_with(const Tensor *scores, const int *labels, const LossOptions *o,
                                 Tensor *probs)
{
    if (is_plain(o)) return softmax_xent_forward(scores, labels, probs);
    const int N = scores->dim[0], K = (int)tensor_item_size(scores);
    const double eps = o->smoothing;
    softmax_xent_forward(scores, labels, probs);
    double total = 0, weights = 0;
    for (int i = 0; i < N; i++) {
        const real *z = scores->data + (size_t)i * K;
        const double lse = log_sum_exp(z, K), w_y = class_weight(o, labels[i]);
        total += (1 - eps) * w_y * (lse - z[labels[i]]);
        if (eps > 0) {
            double spread = 0; /* sum_j w[j] (-log p_ij) */
            for (int j = 0; j < K; j++) spread += class_weight(o, j) * (lse - z[j]);
            total += eps / K * spread;
        }
        weights += w_y;
    }
    return N ? total / weights : 0;
}

void softmax_xent_backward_with(const Tensor *probs, const int *labels, const LossOptions *o,
                                Tensor *dscores)
{
    if (is_plain(o)) {
        softmax_xent_backward(probs, labels, dscores);
        return;
    }
    const int N = probs->dim[0], K = (int)tensor_item_size(probs);
    const double eps = o->smoothing;
    double weights = 0, W = 0;
    for (int i = 0; i < N; i++) weights += class_weight(o, labels[i]);
    for (int j = 0; j < K; j++) W += class_weight(o, j);
    tensor_resize(dscores, probs->ndim, probs->dim);
    for (int i = 0; i < N; i++) {
        const double share = class_weight(o, labels[i]) / weights;
        for (int j = 0; j < K; j++) {
            const real p = probs->data[(size_t)i * K + j];
            double d = share * (p - (j == labels[i] ? 1 : 0));
            if (eps > 0)
                d = (1 - eps) * d + eps / K * (W * p - class_weight(o, j)) / weights;
            dscores->data[(size_t)i * K + j] = (real)d;
        }
    }
}
