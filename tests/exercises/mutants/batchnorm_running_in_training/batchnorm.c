/* batchnorm.c, solved: see exercises/batchnorm.c for the contract. */
#include <math.h>

/* Channel c's mean and biased variance over its N*HW values. */
static void moments(const double *x, int N, int C, int HW, int c, double *mean, double *var)
{
    double sum = 0, square = 0;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < HW; k++) sum += x[((long)n * C + c) * HW + k];
    *mean = sum / ((double)N * HW);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < HW; k++) {
            double d = x[((long)n * C + c) * HW + k] - *mean;
            square += d * d;
        }
    *var = square / ((double)N * HW);
}

void batchnorm_forward(const double *x, const double *gamma, const double *beta, int N, int C,
                       int H, int W, double *running_mean, double *running_var, double *out)
{
    const int HW = H * W;
    const double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double mean, var;
        moments(x, N, C, HW, c, &mean, &var);
        running_mean[c] = (1 - BN_MOMENTUM) * running_mean[c] + BN_MOMENTUM * mean;
        running_var[c] = (1 - BN_MOMENTUM) * running_var[c] + BN_MOMENTUM * var * M / (M - 1);
        double s = 1 / sqrt(running_var[c] + BN_EPS);
        for (int n = 0; n < N; n++)
            for (int k = 0; k < HW; k++) {
                long i = ((long)n * C + c) * HW + k;
                out[i] = gamma[c] * (x[i] - running_mean[c]) * s + beta[c];
            }
    }
}

void batchnorm_backward(const double *dout, const double *x, const double *gamma, int N, int C,
                        int H, int W, double *dx, double *dgamma, double *dbeta)
{
    const int HW = H * W;
    const double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double mean, var;
        moments(x, N, C, HW, c, &mean, &var);
        double s = 1 / sqrt(var + BN_EPS), sum = 0, dot = 0;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < HW; k++) {
                long i = ((long)n * C + c) * HW + k;
                sum += dout[i];
                dot += dout[i] * (x[i] - mean) * s;
            }
        dbeta[c] = sum;
        dgamma[c] = dot;
        /* dx = (s/M)(M g - sum g - xhat sum g xhat), g = gamma dout */
        for (int n = 0; n < N; n++)
            for (int k = 0; k < HW; k++) {
                long i = ((long)n * C + c) * HW + k;
                double xhat = (x[i] - mean) * s;
                dx[i] = gamma[c] * s / M * (M * dout[i] - sum - xhat * dot);
            }
    }
}
