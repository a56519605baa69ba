/* relu.c for the sandbox test: relu_forward works in place in its input. */

void relu_forward(const double *x, int n, double *out)
{
    double *in = (double *)x; /* casting away const: the input is not ours to change */
    for (int i = 0; i < n; i++) {
        if (in[i] < 0) in[i] = 0;
        out[i] = in[i];
    }
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
