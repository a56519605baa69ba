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
