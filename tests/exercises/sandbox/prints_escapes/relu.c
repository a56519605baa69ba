/* relu.c for the sandbox test: prints terminal escape sequences (clear the
 * screen, red text, retitle the window), then overruns out. The grader shows
 * what it printed as text, the escapes made harmless. */
#include <stdio.h>

void relu_forward(const double *x, int n, double *out)
{
    printf("\033[2J\033[31mSCORE 18/18\033]0;title\007 done\n");
    for (int i = 0; i <= n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
