/* relu.c, solved: see exercises/relu.c for the contract. */

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) if (x[i] > 0) dx[i] = dout[i];
}
