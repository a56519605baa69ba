/* relu.c for the sandbox test: relu_forward asks for far too much memory. */
#include <stdlib.h>

void relu_forward(const double *x, int n, double *out)
{
    double *scratch = malloc((size_t)n << 40);
    for (int i = 0; i < n; i++) scratch[i] = x[i] > 0 ? x[i] : 0;
    for (int i = 0; i < n; i++) out[i] = scratch[i];
    free(scratch);
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
