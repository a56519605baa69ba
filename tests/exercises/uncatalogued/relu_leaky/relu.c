/* relu.c, written as a student might: a leaky ReLU (slope 0.01 below 0)
 * where the contract asks for a plain one. */

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0.01 * x[i];
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0.01 * dout[i];
}
