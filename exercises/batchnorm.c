/* batchnorm.c: batch normalisation in training mode (layers/batchnorm.h
 * derives the backward pass).
 *
 *   x, out  (N, C, H, W): each channel c is normalised over its M = N*H*W
 *           values (with H = W = 1 that is a batchnorm after an fc layer)
 *   gamma, beta  (C,)    a learned scale and shift per channel
 *
 * For each channel, over its M values x_k:
 *   mu   = (1/M) sum x_k                     the batch mean
 *   var  = (1/M) sum (x_k - mu)^2            the batch variance (biased: 1/M)
 *   xhat = (x - mu) / sqrt(var + BN_EPS)
 *   out  = gamma * xhat + beta */

/* Writes every entry of out, and moves the running statistics (C,) that
 * evaluation mode will use toward the batch's, with momentum
 * BN_MOMENTUM = 0.1, as PyTorch does:
 *   running_mean = (1 - BN_MOMENTUM) running_mean + BN_MOMENTUM mu
 *   running_var  = (1 - BN_MOMENTUM) running_var  + BN_MOMENTUM var * M / (M - 1)
 * (the running variance takes the unbiased estimate, 1/(M - 1)). */
void batchnorm_forward(const double *x, const double *gamma, const double *beta, int N, int C,
                       int H, int W, double *running_mean, double *running_var, double *out)
{
    /* TODO: write batchnorm_forward, then delete this block. */
    for (int k = 0; k < N * C * H * W; k++) out[k] = 0;
}

/* dout: dL/dout, (N, C, H, W); x and gamma: what the forward pass saw
 * (compute mu and var again from x). Writes, OVERWRITING each:
 *   dx (N, C, H, W), dgamma (C,), dbeta (C,)
 * Remember that every x_k also moves mu and var, which every xhat depends on. */
void batchnorm_backward(const double *dout, const double *x, const double *gamma, int N, int C,
                        int H, int W, double *dx, double *dgamma, double *dbeta)
{
    /* TODO: write batchnorm_backward, then delete this block. */
    for (int k = 0; k < N * C * H * W; k++) dx[k] = 0;
    for (int c = 0; c < C; c++) dgamma[c] = 0;
    for (int c = 0; c < C; c++) dbeta[c] = 0;
}
