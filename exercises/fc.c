/* fc.c: the fully connected (affine) layer. Lesson 5.
 *
 *   x    (N, C, H, W): each image is flattened to D = C*H*W features in
 *        (C, H, W) order: feature d = (c*H + h)*W + w. With H = W = 1, x is
 *        simply (N, D).
 *   w    (D, M)
 *   b    (M,)
 *   out  (N, M)
 *
 *   out[n][m] = b[m] + sum over d of x[n][d] * w[d][m]       (out = x w + b) */

/* Writes every entry of out. */
void fc_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                int M, double *out)
{
    /* TODO: write fc_forward, then delete this block. */
    for (int k = 0; k < N * M; k++) out[k] = 0;
}

/* dout: dL/dout, (N, M). Writes, OVERWRITING each:
 *   dx  (N, C, H, W)  = dout w^T, in x's shape
 *   dw  (D, M)        = x^T dout
 *   db  (M,)          = the sum of dout over the batch */
void fc_backward(const double *dout, const double *x, const double *w, int N, int C, int H, int W,
                 int M, double *dx, double *dw, double *db)
{
    /* TODO: write fc_backward, then delete this block. */
    int D = C * H * W;
    for (int k = 0; k < N * D; k++) dx[k] = 0;
    for (int k = 0; k < D * M; k++) dw[k] = 0;
    for (int m = 0; m < M; m++) db[m] = 0;
}
