/* relu.c for the sandbox test: relu_forward ends the program with 86, the
 * status the sanitizers end a crash with, but without a crash: the
 * student's exit(), not "the sanitizer's report is missing"; relu_backward
 * with 127, the status of a runner that could not start (a grader error). */
#include <stdlib.h>

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
    exit(86);
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
    exit(127);
}
