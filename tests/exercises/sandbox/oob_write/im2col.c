/* im2col.c for the sandbox test: im2col writes one entry past the end of cols. */

void im2col(const double *x, int C, int H, int W, int kH, int kW, int stride, int pad,
            double *cols)
{
    const int H_out = conv_out_size(H, kH, stride, pad), W_out = conv_out_size(W, kW, stride, pad);
    const int P = H_out * W_out;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++)
                for (int p = 0; p <= P; p++) { /* <=: one too many */
                    int oh = p / W_out, ow = p % W_out;
                    int h = oh * stride - pad + i, w = ow * stride - pad + j;
                    int inside = h >= 0 && h < H && w >= 0 && w < W && oh < H_out;
                    cols[((c * kH + i) * kW + j) * P + p] = inside ? x[(c * H + h) * W + w] : 0;
                }
}
