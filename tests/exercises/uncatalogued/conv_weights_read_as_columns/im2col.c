/* im2col.c, written as a student might (pointer walking): correct. */

void im2col(const double *x, int C, int H, int W, int kH, int kW, int stride, int pad,
            double *cols)
{
    int Ho = conv_out_size(H, kH, stride, pad), Wo = conv_out_size(W, kW, stride, pad);
    double *dst = cols;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++)
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++) {
                        int r = oh * stride + i - pad, s = ow * stride + j - pad;
                        *dst++ = (r < 0 || s < 0 || r >= H || s >= W) ? 0.0 : x[(c * H + r) * W + s];
                    }
}

void col2im_add(const double *cols, int C, int H, int W, int kH, int kW, int stride, int pad,
                double *x)
{
    int Ho = conv_out_size(H, kH, stride, pad), Wo = conv_out_size(W, kW, stride, pad);
    const double *src = cols;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++)
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++, src++) {
                        int r = oh * stride + i - pad, s = ow * stride + j - pad;
                        if (r >= 0 && s >= 0 && r < H && s < W) x[(c * H + r) * W + s] += *src;
                    }
}
