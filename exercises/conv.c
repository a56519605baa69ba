/* conv.c: the convolution layer, forward and backward.
 *
 * Lessons 2 and 3 walk through both passes. Loops straight from the
 * definition are fine here (as in CS231n's conv_forward_naive); you may
 * also call your im2col and col2im_add from im2col.c.
 *
 *   x    (N, C, H, W)          N images of C channels
 *   w    (F, C, kH, kW)        F filters, each looking at all C channels
 *   b    (F,)                  one bias per filter
 *   out  (N, F, H_out, W_out)  H_out = conv_out_size(H, kH, stride, pad),
 *                              W_out = conv_out_size(W, kW, stride, pad)
 *
 *   out[n][f][oh][ow] = b[f] + sum over c, i, j of
 *                       w[f][c][i][j] * x[n][c][oh*stride - pad + i][ow*stride - pad + j]
 *
 * where x is 0 outside the image (the padding). This is what deep learning
 * calls a convolution: the kernel is not flipped. */

/* Writes every entry of out. */
void conv_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                  int F, int kH, int kW, int stride, int pad, double *out)
{
    /* TODO: write conv_forward, then delete this block. */
    int out_size = N * F * conv_out_size(H, kH, stride, pad) * conv_out_size(W, kW, stride, pad);
    for (int k = 0; k < out_size; k++) out[k] = 0;
}

/* The backward pass. dout = dL/dout, (N, F, H_out, W_out); x and w are
 * what the forward pass saw. Writes
 *   dx  (N, C, H, W)     dL/dx
 *   dw  (F, C, kH, kW)   dL/dw
 *   db  (F,)             dL/db
 * OVERWRITING all three (they hold garbage on entry). Every output entry
 * that used a weight (or a pixel) passes its dout back to it, and those
 * contributions add up: over the batch, over output positions, and where
 * windows overlap. */
void conv_backward(const double *dout, const double *x, const double *w, int N, int C, int H,
                   int W, int F, int kH, int kW, int stride, int pad, double *dx, double *dw,
                   double *db)
{
    /* TODO: write conv_backward, then delete this block. */
    for (int k = 0; k < N * C * H * W; k++) dx[k] = 0;
    for (int k = 0; k < F * C * kH * kW; k++) dw[k] = 0;
    for (int f = 0; f < F; f++) db[f] = 0;
}
