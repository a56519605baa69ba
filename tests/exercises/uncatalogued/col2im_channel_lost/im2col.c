/* im2col.c, written as a student might: col2im_add forgets the channel in
 * the pixel's index, so every channel's shares land in channel 0. */

void im2col(const double *x, int C, int H, int W, int kH, int kW, int stride, int pad,
            double *cols)
{
    int Ho = conv_out_size(H, kH, stride, pad), Wo = conv_out_size(W, kW, stride, pad);
    for (int row = 0; row < C * kH * kW; row++) {
        int c = row / (kH * kW), i = (row / kW) % kH, j = row % kW;
        for (int col = 0; col < Ho * Wo; col++) {
            int y = (col / Wo) * stride - pad + i, z = (col % Wo) * stride - pad + j;
            int ok = y >= 0 && y < H && z >= 0 && z < W;
            cols[row * Ho * Wo + col] = ok ? x[c * H * W + y * W + z] : 0;
        }
    }
}

void col2im_add(const double *cols, int C, int H, int W, int kH, int kW, int stride, int pad,
                double *x)
{
    int Ho = conv_out_size(H, kH, stride, pad), Wo = conv_out_size(W, kW, stride, pad);
    for (int row = 0; row < C * kH * kW; row++) {
        int i = (row / kW) % kH, j = row % kW;
        for (int col = 0; col < Ho * Wo; col++) {
            int y = (col / Wo) * stride - pad + i, z = (col % Wo) * stride - pad + j;
            if (y >= 0 && y < H && z >= 0 && z < W) x[y * W + z] += cols[row * Ho * Wo + col];
        }
    }
}
