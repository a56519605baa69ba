/* im2col.c: turning a convolution into one matrix multiply, and back.
 *
 * Lesson 2 shows im2col at work, lesson 3 its adjoint col2im.
 *
 * A kH x kW window looks at C*kH*kW input values at every output position.
 * im2col copies the values under each window into one column of a matrix,
 * so that a convolution becomes  out = w (F, C*kH*kW) * cols.
 * col2im_add goes the other way: it adds every column entry back onto the
 * pixel it was copied from. That is the backward pass of the copy, which is
 * why it must add: a pixel under two overlapping windows was copied twice
 * and receives both shares.
 *
 * Shared by both functions:
 *   x     one image, (C, H, W)
 *   cols  (C*kH*kW, H_out*W_out), with H_out = conv_out_size(H, kH, stride, pad)
 *                                  and  W_out = conv_out_size(W, kW, stride, pad)
 *   row r = (c*kH + i)*kW + j       (channel c, kernel row i, kernel column j)
 *   column p = oh*W_out + ow        (output row oh, output column ow)
 *   the pixel under entry (r, p):  h = oh*stride - pad + i,  w = ow*stride - pad + j
 * A pixel outside 0 <= h < H, 0 <= w < W is padding: its value is 0. */

/* Writes cols[r][p] = x[c][h][w] (0 in the padding) for every r and p.
 * Overwrites all of cols, padding entries included; reads x only. */
void im2col(const double *x, int C, int H, int W, int kH, int kW, int stride, int pad,
            double *cols)
{
    /* TODO: write im2col, then delete this block. */
    int rows = C * kH * kW;
    int positions = conv_out_size(H, kH, stride, pad) * conv_out_size(W, kW, stride, pad);
    for (int k = 0; k < rows * positions; k++) cols[k] = 0;
}

/* The adjoint of im2col: x[c][h][w] += cols[r][p] for every entry (r, p)
 * whose pixel is inside the image (entries in the padding go nowhere).
 * ADDS to x, which the caller has filled (often with zeros, not always):
 * never clear or overwrite it. Reads cols only. */
void col2im_add(const double *cols, int C, int H, int W, int kH, int kW, int stride, int pad,
                double *x)
{
    /* TODO: write col2im_add, then delete this block. Until then it adds nothing. */
}
