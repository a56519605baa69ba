/* relu.c for the sandbox test: prints 190 KB, then reads past x. The report comes
 * after all that printing and is still read (the grader reads the log's end too). */
#include <stdio.h>
void relu_forward(const double *x, int n, double *out)
{
    for (int k = 0; k < 5000; k++) printf("line %d of a long debugging print\n", k);
    for (int i = 0; i <= n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}
void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
