/* im2col.c, solved: see exercises/im2col.c for the contract. */

void im2col(const double *x, int C, int H, int W, int kH, int kW, int stride, int pad,
            double *cols)
{
    const int H_out = conv_out_size(H, kH, stride, pad), W_out = conv_out_size(W, kW, stride, pad);
    const int P = H_out * W_out;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++) {
                double *row = cols + (long)((c * kH + i) * kW + j) * P;
                for (int oh = 0; oh < H_out; oh++)
                    for (int ow = 0; ow < W_out; ow++) {
                        int h = oh * stride - pad + i, w = ow * stride - pad + j;
                        int inside = h >= 0 && h < H && w >= 0 && w < W;
                        row[oh * W_out + ow] = inside ? x[((long)c * H + h) * H + w] : 0;
                    }
            }
}

void col2im_add(const double *cols, int C, int H, int W, int kH, int kW, int stride, int pad,
                double *x)
{
    const int H_out = conv_out_size(H, kH, stride, pad), W_out = conv_out_size(W, kW, stride, pad);
    const int P = H_out * W_out;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++) {
                const double *row = cols + (long)((c * kH + i) * kW + j) * P;
                for (int oh = 0; oh < H_out; oh++)
                    for (int ow = 0; ow < W_out; ow++) {
                        int h = oh * stride - pad + i, w = ow * stride - pad + j;
                        if (h >= 0 && h < H && w >= 0 && w < W)
                            x[((long)c * H + h) * W + w] += row[oh * W_out + ow];
                    }
            }
}
