/* relu.c: the rectified linear unit, elementwise. Lesson 4.
 *
 *   x, out, dout, dx: n values each (any shape, seen flat)
 *   forward:  out = max(0, x)
 *   backward: dx = dout where x > 0, and 0 where x <= 0
 *
 * The derivative of max(0, x) is 1 where x > 0 and 0 where x < 0 (at
 * exactly 0 take 0, as PyTorch does). */

/* Writes out[i] for i < n. */
void relu_forward(const double *x, int n, double *out)
{
    /* TODO: write relu_forward, then delete this block. */
    for (int i = 0; i < n; i++) out[i] = 0;
}

/* dout: dL/dout; x: the input the forward pass saw. Writes dx[i] for i < n. */
void relu_backward(const double *dout, const double *x, int n, double *dx)
{
    /* TODO: write relu_backward, then delete this block. */
    for (int i = 0; i < n; i++) dx[i] = 0;
}
