/* relu.c for the sandbox test: prints while it works, then crashes. */
#include <stdio.h>

void relu_forward(const double *x, int n, double *out)
{
    printf("relu_forward: n = %d\n", n);
    for (int i = 0; i <= n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
