/* relu.c for the sandbox test: relu_backward blocks SIGALRM, then loops
 * forever; the grader must kill it anyway. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stddef.h>

void relu_forward(const double *x, int n, double *out)
{
    for (int i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    sigprocmask(SIG_BLOCK, &alarm_only, NULL);
    for (volatile int spin = 1; spin;) {
    }
    for (int i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
