/* maxpool.c: max-pooling, forward and backward. Lesson 4.
 *
 *   x    (N, C, H, W)
 *   out  (N, C, H_out, W_out),  H_out = (H - kH) / stride + 1,
 *                               W_out = (W - kW) / stride + 1  (no padding)
 *
 *   out[n][c][oh][ow] = the largest x[n][c][h][w] over the window
 *                       oh*stride <= h < oh*stride + kH,  ow*stride <= w < ow*stride + kW
 *
 * Each channel of each image is pooled alone. Windows may overlap (stride
 * smaller than the window), and rows or columns that no window reaches
 * (when (H - kH) is not a multiple of the stride) are simply not used. */

/* Writes every entry of out. */
void maxpool_forward(const double *x, int N, int C, int H, int W, int kH, int kW, int stride,
                     double *out)
{
    /* TODO: write maxpool_forward, then delete this block. */
    int out_size = N * C * conv_out_size(H, kH, stride, 0) * conv_out_size(W, kW, stride, 0);
    for (int k = 0; k < out_size; k++) out[k] = 0;
}

/* dout: dL/dout, (N, C, H_out, W_out); x: the input of the forward pass.
 * Writes dx (N, C, H, W), OVERWRITING it: each window's output was one of
 * its inputs, so the window's whole dout goes to that input, and 0 to the
 * others. If several inputs tie for the maximum, the first one in the
 * window, in row-major order (smallest h, then smallest w), gets it. An
 * input that is the maximum of two overlapping windows receives both. */
void maxpool_backward(const double *dout, const double *x, int N, int C, int H, int W, int kH,
                      int kW, int stride, double *dx)
{
    /* TODO: write maxpool_backward, then delete this block. */
    for (int k = 0; k < N * C * H * W; k++) dx[k] = 0;
}
