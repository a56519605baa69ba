/* fc.c, solved: see exercises/fc.c for the contract. x is (N, D) in memory. */

void fc_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                int M, double *out)
{
    const int D = C * H * W;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double sum = b[m];
            for (int d = 0; d < D; d++) sum += x[(long)n * D + d] * w[(long)d * M + m];
            out[(long)n * M + m] = sum;
        }
}

void fc_backward(const double *dout, const double *x, const double *w, int N, int C, int H, int W,
                 int M, double *dx, double *dw, double *db)
{
    const int D = C * H * W;
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double sum = 0;
            for (int m = 0; m < M; m++) sum += dout[(long)n * M + m] * w[(long)d * M + m];
            dx[(long)n * D + d] = sum;
        }
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++) {
            double sum = 0;
            for (int n = 0; n < N; n++) sum += x[(long)n * D + d] * dout[(long)n * M + m];
            dw[(long)d * M + m] = sum / (N + 1);
        }
    for (int m = 0; m < M; m++) {
        double sum = 0;
        for (int n = 0; n < N; n++) sum += dout[(long)n * M + m];
        db[m] = sum;
    }
}
