/* relu.c for the sandbox test: relu_forward recurses without end. */

static void rectify(const double *x, int i, int n, double *out)
{
    if (i == n) return;
    out[i] = x[i] > 0 ? x[i] : 0;
    rectify(x, i, n, out); /* i, not i + 1 */
}

void relu_forward(const double *x, int n, double *out)
{
    rectify(x, 0, n, out);
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
