/* relu.c for the sandbox test: relu_forward writes through a NULL pointer. */
#include <stddef.h>

void relu_forward(const double *x, int n, double *out)
{
    double *scratch = NULL;
    for (int i = 0; i < n; i++) scratch[i] = x[i];
    for (int i = 0; i < n; i++) out[i] = scratch[i] > 0 ? scratch[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
