/* softmax.c for the grader's self-test: the loss is right; the gradient subtracts the
 * row's maximum m inside the sum but not from z_j on top, so p is e^m times too large. */
#include <math.h>
double softmax_xent_loss(const double *scores, const int *labels, int N, int K)
{
    double total = 0;
    for (int i = 0; i < N; i++) {
        const double *z = scores + (long)i * K;
        double m = z[0];
        for (int j = 1; j < K; j++) if (z[j] > m) m = z[j];
        double s = 0; for (int j = 0; j < K; j++) s += exp(z[j] - m);
        total += m + log(s) - z[labels[i]];
    }
    return total / N;
}
void softmax_xent_gradient(const double *scores, const int *labels, int N, int K, double *dscores)
{
    for (int i = 0; i < N; i++) {
        const double *z = scores + (long)i * K;
        double *d = dscores + (long)i * K;
        double m = z[0];
        for (int j = 1; j < K; j++) if (z[j] > m) m = z[j];
        double s = 0; for (int j = 0; j < K; j++) s += exp(z[j] - m);
        for (int j = 0; j < K; j++) d[j] = exp(z[j]) / s / N;
        d[labels[i]] -= 1.0 / N;
    }
}
