/* optim.c: two optimizer steps, in PyTorch's form (optim/sgd.h,
 * optim/adaptive.h). Lesson 7 trains with the first.
 *
 * Each function moves n parameters once, in place, from their gradient,
 * and updates its state arrays in place (they start at 0 before the first
 * step, and carry over from one step to the next). */

/* SGD with momentum and (coupled) weight decay, for every k < n:
 *   g = grad[k] + weight_decay * param[k]
 *   velocity[k] = momentum * velocity[k] + g
 *   param[k]   -= lr * velocity[k]
 * Updates param and velocity. */
void sgd_momentum_step(double *param, const double *grad, double *velocity, int n, double lr,
                       double momentum, double weight_decay)
{
    /* TODO: write sgd_momentum_step, then delete this block. Until then nothing moves. */
}

/* Adam, step number t (1 for the first step), for every k < n:
 *   m[k] = beta1 m[k] + (1 - beta1) grad[k]           the mean of recent gradients
 *   v[k] = beta2 v[k] + (1 - beta2) grad[k]^2         the mean of their squares
 *   mhat = m[k] / (1 - beta1^t),  vhat = v[k] / (1 - beta2^t)   bias correction
 *   param[k] -= lr * mhat / (sqrt(vhat) + eps)
 * Updates param, m and v. */
void adam_step(double *param, const double *grad, double *m, double *v, int n, int t, double lr,
               double beta1, double beta2, double eps)
{
    /* TODO: write adam_step, then delete this block. Until then nothing moves. */
}
