/* conv.c, solved with plain loops: see exercises/conv.c for the contract. */

void conv_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                  int F, int kH, int kW, int stride, int pad, double *out)
{
    const int H_out = conv_out_size(H, kH, stride, pad), W_out = conv_out_size(W, kW, stride, pad);
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int oh = 0; oh < H_out; oh++)
                for (int ow = 0; ow < W_out; ow++) {
                    double sum = b[f];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kH; i++)
                            for (int j = 0; j < kW; j++) {
                                int h = oh * stride - pad + i, wc = ow * stride - pad + j;
                                if (h < 0 || h >= H || wc < 0 || wc >= W) continue;
                                sum += w[((f * C + c) * kH + i) * kW + j] *
                                       x[(((long)n * C + c) * H + h) * W + wc];
                            }
                    out[(((long)n * F + f) * H_out + oh) * W_out + ow] = sum;
                }
}

void conv_backward(const double *dout, const double *x, const double *w, int N, int C, int H,
                   int W, int F, int kH, int kW, int stride, int pad, double *dx, double *dw,
                   double *db)
{
    const int H_out = conv_out_size(H, kH, stride, pad), W_out = conv_out_size(W, kW, stride, pad);
    for (long k = 0; k < (long)N * C * H * W; k++) dx[k] = 0;
    for (int k = 0; k < F * C * kH * kW; k++) dw[k] = 0;
    for (int f = 0; f < F; f++) db[f] = 0;
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int oh = 0; oh < H_out; oh++)
                for (int ow = 0; ow < W_out; ow++) {
                    double d = dout[(((long)n * F + f) * H_out + oh) * W_out + ow];
                    db[f] += d;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kH; i++)
                            for (int j = 0; j < kW; j++) {
                                int h = oh * stride - pad + i, wc = ow * stride - pad + j;
                                if (h < 0 || h >= H || wc < 0 || wc >= W) continue;
                                long xi = (((long)n * C + c) * H + h) * W + wc;
                                int wi = ((f * C + c) * kH + i) * kW + j;
                                if (n == 0) dx[xi] += w[wi] * d;
                                dw[wi] += x[xi] * d;
                            }
                }
}
