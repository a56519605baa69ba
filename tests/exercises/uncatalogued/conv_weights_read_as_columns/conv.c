/* conv.c, written as a student might: im2col, then a matrix product. The
 * product reads the weights as a (C*kH*kW, F) matrix, w[k][f], while they
 * are stored (F, C*kH*kW). The backward is not written yet. */
#include <stdlib.h>

void conv_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                  int F, int kH, int kW, int stride, int pad, double *out)
{
    int Ho = conv_out_size(H, kH, stride, pad), Wo = conv_out_size(W, kW, stride, pad);
    int K = C * kH * kW, P = Ho * Wo;
    double *cols = malloc(sizeof(double) * K * P);
    for (int n = 0; n < N; n++) {
        im2col(x + n * C * H * W, C, H, W, kH, kW, stride, pad, cols);
        for (int f = 0; f < F; f++)
            for (int p = 0; p < P; p++) {
                double acc = b[f];
                for (int k = 0; k < K; k++) acc += w[k * F + f] * cols[k * P + p];
                out[(n * F + f) * P + p] = acc;
            }
    }
    free(cols);
}

void conv_backward(const double *dout, const double *x, const double *w, int N, int C, int H,
                   int W, int F, int kH, int kW, int stride, int pad, double *dx, double *dw,
                   double *db)
{
    for (int k = 0; k < N * C * H * W; k++) dx[k] = 0;
    for (int k = 0; k < F * C * kH * kW; k++) dw[k] = 0;
    for (int f = 0; f < F; f++) db[f] = 0;
}
