/* relu.c for the sandbox test: a helper that dropout.c defines too (not
 * static), so the two files do not link together; each is graded alone. */

double positive_part(double v);
double positive_part(double v)
{
    return v > 0 ? v : 0;
}

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = positive_part(x[i]);
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
