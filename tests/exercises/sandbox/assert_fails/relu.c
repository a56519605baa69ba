/* relu.c for the sandbox test: relu_forward asserts what a test breaks.
 * The diagnosis is the student's assert, not the C library's frame where
 * the abort that follows it stopped the program. */
#include <assert.h>

void relu_forward(const double *x, int n, double *out)
{
    assert(n < 5 && "a short row");
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
