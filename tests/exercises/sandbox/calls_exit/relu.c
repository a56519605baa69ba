/* relu.c for the sandbox test: relu_forward ends the program. */
#include <stdlib.h>

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
    exit(0);
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
