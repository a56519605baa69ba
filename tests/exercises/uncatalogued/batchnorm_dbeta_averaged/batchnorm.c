/* batchnorm.c, written as a student might (two passes per channel): the
 * backward averages dbeta over the channel's values instead of summing. */
#include <math.h>

void batchnorm_forward(const double *x, const double *gamma, const double *beta, int N, int C,
                       int H, int W, double *running_mean, double *running_var, double *out)
{
    int S = H * W, M = N * S;
    for (int c = 0; c < C; c++) {
        double mu = 0, v = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) mu += x[(n * C + c) * S + s] / M;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) v += pow(x[(n * C + c) * S + s] - mu, 2) / M;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++)
                out[(n * C + c) * S + s] = gamma[c] * (x[(n * C + c) * S + s] - mu) / sqrt(v + BN_EPS) + beta[c];
        running_mean[c] = 0.9 * running_mean[c] + 0.1 * mu;
        running_var[c] = 0.9 * running_var[c] + 0.1 * v * M / (M - 1);
    }
}

void batchnorm_backward(const double *dout, const double *x, const double *gamma, int N, int C,
                        int H, int W, double *dx, double *dgamma, double *dbeta)
{
    int S = H * W, M = N * S;
    for (int c = 0; c < C; c++) {
        double mu = 0, v = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) mu += x[(n * C + c) * S + s] / M;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) v += pow(x[(n * C + c) * S + s] - mu, 2) / M;
        double inv = 1 / sqrt(v + BN_EPS), sg = 0, sgx = 0;
        dgamma[c] = 0;
        dbeta[c] = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                int k = (n * C + c) * S + s;
                double xh = (x[k] - mu) * inv;
                dgamma[c] += dout[k] * xh;
                dbeta[c] += dout[k] / M;
                sg += gamma[c] * dout[k];
                sgx += gamma[c] * dout[k] * xh;
            }
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                int k = (n * C + c) * S + s;
                dx[k] = inv / M * (M * gamma[c] * dout[k] - sg - (x[k] - mu) * inv * sgx);
            }
    }
}
