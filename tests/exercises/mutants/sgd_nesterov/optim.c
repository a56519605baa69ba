/* optim.c, solved: see exercises/optim.c for the contract. */
#include <math.h>

void sgd_momentum_step(double *param, const double *grad, double *velocity, int n, double lr,
                       double momentum, double weight_decay)
{
    for (int k = 0; k < n; k++) {
        double g = grad[k] + weight_decay * param[k];
        velocity[k] = momentum * velocity[k] + g;
        param[k] -= lr * (g + momentum * velocity[k]);
    }
}

void adam_step(double *param, const double *grad, double *m, double *v, int n, int t, double lr,
               double beta1, double beta2, double eps)
{
    const double correction1 = 1 - pow(beta1, t), correction2 = 1 - pow(beta2, t);
    for (int k = 0; k < n; k++) {
        m[k] = beta1 * m[k] + (1 - beta1) * grad[k];
        v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k];
        double mhat = m[k] / correction1, vhat = v[k] / correction2;
        param[k] -= lr * mhat / (sqrt(vhat) + eps);
    }
}
