#include "softmax_xent.h"

#include <assert.h>
#include <math.h>

double softmax_xent_item_loss(const real *z, int K, int label)
{
    double m = z[0], sum = 0;
    for (int j = 1; j < K; j++) m = z[j] > m ? z[j] : m;
    for (int j = 0; j < K; j++) sum += exp((double)z[j] - m);
    return m + log(sum) - (double)z[label];
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

double softmax_xent_forward_weighted(const Tensor *scores, const int *labels, const real *w,
                                     Tensor *probs)
{
    if (!w) return softmax_xent_forward(scores, labels, probs);
    const int N = scores->dim[0], K = (int)tensor_item_size(scores);
    softmax_xent_forward(scores, labels, probs);
    double total = 0, weights = 0;
    for (int i = 0; i < N; i++) {
        const real *z = scores->data + (size_t)i * K;
        total += w[labels[i]] * softmax_xent_item_loss(z, K, labels[i]);
        weights += w[labels[i]];
    }
    return N ? total / weights : 0;
}

void softmax_xent_backward_weighted(const Tensor *probs, const int *labels, const real *w,
                                    Tensor *dscores)
{
    if (!w) {
        softmax_xent_backward(probs, labels, dscores);
        return;
    }
    const int N = probs->dim[0], K = (int)tensor_item_size(probs);
    double weights = 0;
    for (int i = 0; i < N; i++) weights += w[labels[i]];
    tensor_resize(dscores, probs->ndim, probs->dim);
    for (int i = 0; i < N; i++) {
        const double share = w[labels[i]] / weights;
        for (int j = 0; j < K; j++)
            dscores->data[(size_t)i * K + j] =
                (real)(share * (probs->data[(size_t)i * K + j] - (j == labels[i] ? 1 : 0)));
    }
}
