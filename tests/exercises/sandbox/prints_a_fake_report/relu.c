/* relu.c for the sandbox test: prints words a sanitizer report starts with,
 * then dereferences NULL. The diagnosis is the crash, not the printing. */
#include <stdio.h>

void relu_forward(const double *x, int n, double *out)
{
    fprintf(stderr, "relu.c:1:1: runtime error: I am just printing\n");
    fprintf(stderr, "==1==ERROR: AddressSanitizer: heap-buffer-overflow (printed too)\n");
    double *nothing = NULL;
    if (n > 0) out = nothing;
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
