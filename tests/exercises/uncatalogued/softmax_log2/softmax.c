/* softmax.c, written as a student might: the loss takes log2 instead of
 * the natural log. The gradient is right. */
#include <math.h>

double softmax_xent_loss(const double *scores, const int *labels, int N, int K)
{
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const double *row = scores + n * K;
        double top = row[0];
        for (int k = 1; k < K; k++) top = fmax(top, row[k]);
        double z = 0;
        for (int k = 0; k < K; k++) z += exp(row[k] - top);
        loss -= log2(exp(row[labels[n]] - top) / z);
    }
    return loss / N;
}

void softmax_xent_gradient(const double *scores, const int *labels, int N, int K,
                           double *dscores)
{
    for (int n = 0; n < N; n++) {
        const double *row = scores + n * K;
        double top = row[0];
        for (int k = 1; k < K; k++) top = fmax(top, row[k]);
        double z = 0;
        for (int k = 0; k < K; k++) z += exp(row[k] - top);
        for (int k = 0; k < K; k++) dscores[n * K + k] = (exp(row[k] - top) / z - (k == labels[n])) / N;
    }
}
