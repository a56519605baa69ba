/* relu.c for the sandbox test: relu_backward is not there at all. */

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}
