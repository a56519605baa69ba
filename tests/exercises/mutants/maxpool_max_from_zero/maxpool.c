/* maxpool.c: the solution with one mistake (see HINT). */

/* The index in its plane of the first maximum of window (oh, ow). */
static int argmax(const double *plane, int W, int kH, int kW, int stride, int oh, int ow)
{
    int best = oh * stride * W + ow * stride;
    for (int i = 0; i < kH; i++)
        for (int j = 0; j < kW; j++) {
            int k = (oh * stride + i) * W + ow * stride + j;
            if (plane[k] > plane[best]) best = k;
        }
    return best;
}

void maxpool_forward(const double *x, int N, int C, int H, int W, int kH, int kW, int stride,
                     double *out)
{
    const int H_out = conv_out_size(H, kH, stride, 0), W_out = conv_out_size(W, kW, stride, 0);
    for (int p = 0; p < N * C; p++) {
        const double *plane = x + (long)p * H * W;
        for (int oh = 0; oh < H_out; oh++)
            for (int ow = 0; ow < W_out; ow++)
            {
                double best = 0;
                for (int i = 0; i < kH; i++)
                    for (int j = 0; j < kW; j++) {
                        double v = plane[(oh * stride + i) * W + ow * stride + j];
                        if (v > best) best = v;
                    }
                out[((long)p * H_out + oh) * W_out + ow] = best;
            }
    }
}

void maxpool_backward(const double *dout, const double *x, int N, int C, int H, int W, int kH,
                      int kW, int stride, double *dx)
{
    const int H_out = conv_out_size(H, kH, stride, 0), W_out = conv_out_size(W, kW, stride, 0);
    for (long k = 0; k < (long)N * C * H * W; k++) dx[k] = 0;
    for (int p = 0; p < N * C; p++) {
        const double *plane = x + (long)p * H * W;
        for (int oh = 0; oh < H_out; oh++)
            for (int ow = 0; ow < W_out; ow++)
                dx[(long)p * H * W + argmax(plane, W, kH, kW, stride, oh, ow)] +=
                    dout[((long)p * H_out + oh) * W_out + ow];
    }
}
