/* batchnorm.h: batch normalisation, per channel (after a convolution) or
 * per feature (after a fully connected layer).
 *
 *   x, out  (N, C, H, W): statistics over the M = N*H*W values of each channel
 *        or (N, C):       statistics over the M = N values of each feature
 *   gamma, beta  (C,)     a learned scale (starts at 1) and shift (starts at 0)
 *
 * Training mode, for each channel c over its M values x_i:
 *     mu = (1/M) sum_i x_i          var = (1/M) sum_i (x_i - mu)^2   (biased)
 *     xhat_i = (x_i - mu) / sqrt(var + eps)
 *     out_i  = gamma * xhat_i + beta
 * and the running statistics move towards the batch's (momentum m = 0.1):
 *     running_mean = (1 - m) running_mean + m mu
 *     running_var  = (1 - m) running_var  + m var * M / (M - 1)   (unbiased)
 * Evaluation mode uses running_mean and running_var in place of mu and
 * var: each image is then normalised alone, the same whatever the batch.
 *
 * Backward in training mode. dbeta = sum_i dout_i, dgamma = sum_i dout_i
 * xhat_i. For dx, every x_j moves its own xhat_j and also mu and var, which
 * every xhat_i depends on. With g_i = gamma dout_i (the gradient reaching
 * xhat_i) and s = 1 / sqrt(var + eps), the chain rule through
 *     dxhat_i/dx_j = s ([i == j] - 1/M - xhat_i xhat_j / M)
 * gives, summed over i:
 *     dx_j = (s / M) (M g_j - sum_i g_i - xhat_j sum_i g_i xhat_i)
 * The two sums are the terms through the mean and the variance; a
 * backward without them is right only in evaluation mode, where
 *     dx_j = s_running g_j.
 * Parameters: gamma and beta carry no weight decay (Param.decay = 0);
 * running_mean (starts at 0) and running_var (starts at 1) are buffers:
 * saved in checkpoints (bn1.running_mean, bn1.running_var), never trained.
 *
 * The sums run over images in fixed groups, added in group order (double
 * totals of per-image float sums), so results do not depend on the threads. */
#ifndef BATCHNORM_H
#define BATCHNORM_H

#include "layer.h"

#define BATCHNORM_EPS 1e-5
#define BATCHNORM_MOMENTUM 0.1

typedef struct {
    Layer base;
    int channels;
    Tensor *gamma, *beta, *dgamma, *dbeta;
    Tensor *running_mean, *running_var;
    double *mean, *inv_std;   /* (C,) of the last forward: what backward divides by */
    /* workspaces, (C,) each unless said: a shift or centre per channel, the
     * channel totals (C, 2), backward's dx coefficients (C, 3), and the
     * image groups' partial sums (grown on demand) */
    real *shift, *dx_terms;
    double *totals, *partials;
    size_t partials_size;
} BatchnormLayer;

/* channels: C of the (N, C, H, W) or (N, C) input it will see. */
Layer *batchnorm_create(int channels, Error *err);

#endif
