/* dropout.c, solved: see exercises/dropout.c for the contract. */

void dropout_forward(const double *x, const int *keep, int n, double p, int training,
                     double *out)
{
    for (int i = 0; i < n; i++) out[i] = !training ? x[i] * (1 - p) : keep[i] ? x[i] : 0;
}

void dropout_backward(const double *dout, const int *keep, int n, double p, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = keep[i] ? dout[i] / (1 - p) : 0;
}
