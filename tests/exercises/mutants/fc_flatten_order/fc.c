/* fc.c: the solution with one mistake (see HINT). */

/* The feature index of x[n][c][h][w], flattened channels-last: the mistake. */
static int feature(int c, int h, int w, int C, int W)
{
    return (h * W + w) * C + c;
}

void fc_forward(const double *x, const double *w, const double *b, int N, int C, int H, int W,
                int M, double *out)
{
    const int D = C * H * W;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double sum = b[m];
            for (int c = 0; c < C; c++)
                for (int h = 0; h < H; h++)
                    for (int wc = 0; wc < W; wc++)
                        sum += x[(((long)n * C + c) * H + h) * W + wc] *
                               w[(long)feature(c, h, wc, C, W) * M + m];
            out[(long)n * M + m] = sum;
        }
    (void)D;
}

void fc_backward(const double *dout, const double *x, const double *w, int N, int C, int H, int W,
                 int M, double *dx, double *dw, double *db)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int wc = 0; wc < W; wc++) {
                    double sum = 0;
                    int d = feature(c, h, wc, C, W);
                    for (int m = 0; m < M; m++) sum += dout[(long)n * M + m] * w[(long)d * M + m];
                    dx[(((long)n * C + c) * H + h) * W + wc] = sum;
                }
    for (int c = 0; c < C; c++)
        for (int h = 0; h < H; h++)
            for (int wc = 0; wc < W; wc++)
                for (int m = 0; m < M; m++) {
                    double sum = 0;
                    for (int n = 0; n < N; n++)
                        sum += x[(((long)n * C + c) * H + h) * W + wc] * dout[(long)n * M + m];
                    dw[(long)feature(c, h, wc, C, W) * M + m] = sum;
                }
    for (int m = 0; m < M; m++) {
        double sum = 0;
        for (int n = 0; n < N; n++) sum += dout[(long)n * M + m];
        db[m] = sum;
    }
}
