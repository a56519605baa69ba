/* relu.c for the sandbox test: relu_forward reads x[n], one past the end. */

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i + 1] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
