/* fc.c, written as a student might: the forward is right; the backward's
 * dx reads w as if it were stored (M, D). */

void fc_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                int M, double *out)
{
    int D = C * H * W;
    for (int i = 0; i < N * M; i++) {
        int n = i / M, m = i % M;
        out[i] = b[m];
        for (int d = 0; d < D; d++) out[i] += x[n * D + d] * w[d * M + m];
    }
}

void fc_backward(const double *dout, const double *x, const double *w, int N, int C, int H, int W,
                 int M, double *dx, double *dw, double *db)
{
    int D = C * H * W;
    for (int i = 0; i < N * D; i++) {
        int n = i / D, d = i % D;
        dx[i] = 0;
        for (int m = 0; m < M; m++) dx[i] += dout[n * M + m] * w[m * D + d];
    }
    for (int i = 0; i < D * M; i++) {
        int d = i / M, m = i % M;
        dw[i] = 0;
        for (int n = 0; n < N; n++) dw[i] += x[n * D + d] * dout[n * M + m];
    }
    for (int m = 0; m < M; m++) {
        db[m] = 0;
        for (int n = 0; n < N; n++) db[m] += dout[n * M + m];
    }
}
