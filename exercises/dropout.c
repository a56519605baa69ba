/* dropout.c: inverted dropout (layers/dropout.h).
 *
 *   x, out, dout, dx  n values each
 *   keep  (n,)   1 where the value survives, 0 where it is dropped: the
 *                random mask, drawn for you (each value is dropped with
 *                probability p)
 *   p            the probability of dropping, 0 <= p < 1
 *
 * In training the kept values are scaled by 1 / (1 - p), so that the
 * expected value of out is x; evaluation then uses every unit, unscaled. */

/* training = 1:  out = x * keep / (1 - p)
 * training = 0:  out = x   (keep is ignored)
 * Writes every entry of out. */
void dropout_forward(const double *x, const int *keep, int n, double p, int training,
                     double *out)
{
    /* TODO: write dropout_forward, then delete this block. */
    for (int i = 0; i < n; i++) out[i] = 0;
}

/* The backward pass of a training-mode forward with the same keep and p.
 * Writes dx[i] for i < n. */
void dropout_backward(const double *dout, const int *keep, int n, double p, double *dx)
{
    /* TODO: write dropout_backward, then delete this block. */
    for (int i = 0; i < n; i++) dx[i] = 0;
}
