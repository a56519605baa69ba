/* exercises.h: the functions you write, one file per topic.
 *
 * Each function's contract (the shape of every argument, what it returns,
 * what it overwrites or adds to) is written above it in its own file:
 * im2col.c, conv.c, relu.c, maxpool.c, fc.c, softmax.c, batchnorm.c,
 * dropout.c and optim.c. This header only lists them, so that one of your
 * files can call a function of another (conv.c may use your im2col).
 *
 * Arrays are plain double arrays in row-major (C) order, the way numpy
 * stores them: an (N, C, H, W) array holds element [n][c][h][w] at
 *
 *     ((n*C + c)*H + h)*W + w
 *
 * Everything is in double precision, so that the grader's gradient checks
 * can tell a right answer (relative error ~1e-10) from a wrong one.
 *
 * The grader compiles your files with this header included first, with
 * AddressSanitizer and UndefinedBehaviorSanitizer: an out-of-bounds access
 * is reported with its line instead of silently corrupting memory. */
#ifndef EXERCISES_H
#define EXERCISES_H

/* The output size of a window sliding over `size` inputs: kernel k, moved
 * by `stride`, over an input padded with `pad` zeros on each side. */
static inline int conv_out_size(int size, int k, int stride, int pad)
{
    return (size + 2 * pad - k) / stride + 1;
}

/* batchnorm.c: the constants PyTorch uses. */
#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* im2col.c */
void im2col(const double *x, int C, int H, int W, int kH, int kW, int stride, int pad,
            double *cols);
void col2im_add(const double *cols, int C, int H, int W, int kH, int kW, int stride, int pad,
                double *x);

/* conv.c */
void conv_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                  int F, int kH, int kW, int stride, int pad, double *out);
void conv_backward(const double *dout, const double *x, const double *w, int N, int C, int H,
                   int W, int F, int kH, int kW, int stride, int pad, double *dx, double *dw,
                   double *db);

/* relu.c */
void relu_forward(const double *x, int n, double *out);
void relu_backward(const double *dout, const double *x, int n, double *dx);

/* maxpool.c */
void maxpool_forward(const double *x, int N, int C, int H, int W, int kH, int kW, int stride,
                     double *out);
void maxpool_backward(const double *dout, const double *x, int N, int C, int H, int W, int kH,
                      int kW, int stride, double *dx);

/* fc.c */
void fc_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                int M, double *out);
void fc_backward(const double *dout, const double *x, const double *w, int N, int C, int H, int W,
                 int M, double *dx, double *dw, double *db);

/* softmax.c */
double softmax_xent_loss(const double *scores, const int *labels, int N, int K);
void softmax_xent_gradient(const double *scores, const int *labels, int N, int K,
                           double *dscores);

/* batchnorm.c */
void batchnorm_forward(const double *x, const double *gamma, const double *beta, int N, int C,
                       int H, int W, double *running_mean, double *running_var, double *out);
void batchnorm_backward(const double *dout, const double *x, const double *gamma, int N, int C,
                        int H, int W, double *dx, double *dgamma, double *dbeta);

/* dropout.c */
void dropout_forward(const double *x, const int *keep, int n, double p, int training,
                     double *out);
void dropout_backward(const double *dout, const int *keep, int n, double p, double *dx);

/* optim.c */
void sgd_momentum_step(double *param, const double *grad, double *velocity, int n, double lr,
                       double momentum, double weight_decay);
void adam_step(double *param, const double *grad, double *m, double *v, int n, int t, double lr,
               double beta1, double beta2, double eps);

#endif
