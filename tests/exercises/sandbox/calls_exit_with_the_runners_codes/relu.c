/* relu.c for the sandbox test: the functions end the program with exit
 * statuses the runner gives itself (4: no such function, 3: its own
 * failure). They are the student's exit(), not "not implemented" nor a
 * grader error. */
#include <stdlib.h>

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
    exit(4);
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
    exit(3);
}
