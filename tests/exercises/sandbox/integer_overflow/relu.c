/* relu.c for the sandbox test: a signed integer overflow in an index. */
#include <limits.h>

void relu_forward(const double *x, int n, double *out)
{
    volatile int big = INT_MAX - 3;
    for (int i = 0; i < n; i++) {
        int shifted = big + i; /* overflows from i = 4 on */
        out[shifted - big] = x[i] > 0 ? x[i] : 0;
    }
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
