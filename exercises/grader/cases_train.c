/* cases_train.c: batch normalisation, dropout, SGD with momentum, Adam.
 *
 * The right answers come from the library: the batchnorm and dropout
 * layers (layers/batchnorm.c, dropout.c) and the optimizers
 * (optim/sgd.c, optim/adaptive.c), run on a one-layer network whose
 * weights are the case's parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adaptive.h"
#include "batchnorm.h"
#include "dropout.h"
#include "error.h"
#include "fc.h"
#include "grader.h"
#include "gradcheck.h"
#include "network.h"
#include "sgd.h"



static double numeric_error(Layer *layer, const Arg *x_arg, Tensor *param, const double *dout,
                            const double *analytic, const char *name)
{
    double *x = xmalloc(x_arg->size * sizeof(double));
    memcpy(x, x_arg->value, x_arg->size * sizeof(double));
    double error = layer_numeric_error(layer, x, x_arg->ndim, x_arg->dims, param, dout, analytic,
                                       name);
    free(x);
    return error;
}

/* ---- batch normalisation ---------------------------------------------------- */

typedef struct {
    int N, C, H, W;
    double mean, scale; /* of x */
} BatchnormShape;

static const BatchnormShape bn_shapes[] = {
    {4, 3, 1, 1, 0, 1}, {2, 2, 3, 3, 0, 1}, {3, 1, 2, 5, 0, 1},
    {5, 4, 1, 1, 5, 3}, {2, 3, 2, 2, 0, 1},
};
#define BN_CASES 5

static Layer *bn_layer_for(const Case *c, const double *gamma, const double *beta,
                           const double *running_mean, const double *running_var)
{
    Error err;
    const int C = c->ints[1];
    Layer *layer = batchnorm_create(C, &err);
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    memcpy(bn->gamma->data, gamma, (size_t)C * sizeof(double));
    if (beta) memcpy(bn->beta->data, beta, (size_t)C * sizeof(double));
    if (running_mean) memcpy(bn->running_mean->data, running_mean, (size_t)C * sizeof(double));
    if (running_var) memcpy(bn->running_var->data, running_var, (size_t)C * sizeof(double));
    return layer;
}

static void bn_common(Case *c, int index, Rng *rng, int backward)
{
    const BatchnormShape *s = &bn_shapes[index];
    const int x_dims[4] = {s->N, s->C, s->H, s->W}, c_dims[1] = {s->C};
    if (backward)
        fill_normal(case_array(c, "dout", "n,c,h,w", ROLE_IN, 4, x_dims)->value,
                    (size_t)s->N * s->C * s->H * s->W, 1, rng);
    Arg *x = case_array(c, "x", "n,c,h,w", ROLE_IN, 4, x_dims);
    Arg *gamma = case_array(c, "gamma", "c", ROLE_IN, 1, c_dims);
    for (size_t i = 0; i < x->size; i++) x->value[i] = s->mean + s->scale * rng_normal(rng);
    for (int i = 0; i < s->C; i++) gamma->value[i] = 1 + 0.5 * rng_normal(rng);
    if (!backward)
        fill_normal(case_array(c, "beta", "c", ROLE_IN, 1, c_dims)->value, (size_t)s->C, 1, rng);
    case_ints(c, 4, (const int[]){s->N, s->C, s->H, s->W});
    const int M = s->N * s->H * s->W;
    if (s->N > 1) c->tags |= TAG_BATCH;
    if (s->C > 1) c->tags |= TAG_CHANNELS;
    if (s->H * s->W > 1) c->tags |= TAG_MAPS;
    case_describe(c, "x (%d, %d, %d, %d): M = %d values per channel, mean about %g, spread %g",
                  s->N, s->C, s->H, s->W, M, s->mean, s->scale);
    case_factor(c, M, "M = %d, the values per channel", M);
    case_factor(c, 1.0 / M, "1/M = 1/%d", M);
    case_factor(c, (double)M / (M - 1), "M/(M - 1) = %d/%d (a division by M - 1 where M belongs?)",
                M, M - 1);
    case_factor(c, (M - 1.0) / M, "(M - 1)/M = %d/%d (a division by M where M - 1 belongs?)",
                M - 1, M);
    case_factor(c, 2, "2");
    case_factor(c, 0.5, "1/2");
}

static void bn_forward_case(Case *c, int index, Rng *rng)
{
    bn_common(c, index, rng, 0);
    const int C = c->ints[1];
    Arg *mean = case_array(c, "running_mean", "c", ROLE_INOUT, 1, &C);
    Arg *var = case_array(c, "running_var", "c", ROLE_INOUT, 1, &C);
    Arg *out = case_array(c, "out", "n,c,h,w", ROLE_OUT, 4, c->args[0].dims);
    fill_normal(mean->value, mean->size, 0.5, rng);
    for (int i = 0; i < C; i++) var->value[i] = rng_range(rng, 0.5, 2);
    fill_garbage(out, rng);
    Layer *layer = bn_layer_for(c, c->args[1].value, c->args[2].value, mean->value, var->value);
    Tensor *tx = tensor_new(4, c->args[0].dims), *tout = tensor_new2(1, 1);
    memcpy(tx->data, c->args[0].value, tx->size * sizeof(double));
    layer_forward(layer, tx, tout);
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    memcpy(out->expected, tout->data, out->size * sizeof(double));
    memcpy(mean->expected, bn->running_mean->data, (size_t)C * sizeof(double));
    memcpy(var->expected, bn->running_var->data, (size_t)C * sizeof(double));
    tensor_free(tx);
    tensor_free(tout);
    layer_free(layer);
}

static void bn_reference_backward(Case *c)
{
    const int C = c->ints[1];
    Layer *layer = bn_layer_for(c, c->args[2].value, NULL, NULL, NULL);
    Tensor *tx = tensor_new(4, c->args[1].dims), *tout = tensor_new2(1, 1),
           *tdx = tensor_new2(1, 1);
    memcpy(tx->data, c->args[1].value, tx->size * sizeof(double));
    layer_forward(layer, tx, tout);
    Tensor td = tensor_view(c->args[0].value, 4, c->args[0].dims);
    layer_backward(layer, &td, tdx);
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    memcpy(c->args[3].expected, tdx->data, tdx->size * sizeof(double));
    memcpy(c->args[4].expected, bn->dgamma->data, (size_t)C * sizeof(double));
    memcpy(c->args[5].expected, bn->dbeta->data, (size_t)C * sizeof(double));
    tensor_free(tx);
    tensor_free(tout);
    tensor_free(tdx);
    layer_free(layer);
}

static double bn_numeric_of(const Case *c, int arg, const double *analytic)
{
    Layer *layer = bn_layer_for(c, c->args[2].value, NULL, NULL, NULL);
    BatchnormLayer *bn = (BatchnormLayer *)layer;
    Tensor *param = arg == 3 ? NULL : arg == 4 ? bn->gamma : bn->beta;
    double e =
        numeric_error(layer, &c->args[1], param, c->args[0].value, analytic, c->args[arg].name);
    layer_free(layer);
    return e;
}

static double bn_numeric(const Case *c, int arg)
{
    return arg < 3 ? -1 : bn_numeric_of(c, arg, c->args[arg].got);
}

static void bn_backward_case(Case *c, int index, Rng *rng)
{
    bn_common(c, index, rng, 1);
    const int C = c->ints[1];
    Arg *dx = case_array(c, "dx", "n,c,h,w", ROLE_OUT, 4, c->args[1].dims);
    fill_garbage(dx, rng);
    fill_garbage(case_array(c, "dgamma", "c", ROLE_OUT, 1, &C), rng);
    fill_garbage(case_array(c, "dbeta", "c", ROLE_OUT, 1, &C), rng);
    for (int attempt = 0; attempt < 20; attempt++) {
        if (attempt) fill_normal(c->args[0].value, c->args[0].size, 1, rng);
        bn_reference_backward(c);
        if (bn_numeric_of(c, 3, c->args[3].expected) < 1e-8 &&
            bn_numeric_of(c, 4, c->args[4].expected) < 1e-8 &&
            bn_numeric_of(c, 5, c->args[5].expected) < 1e-8)
            break;
    }
}

/* The batch statistics of channel ch: over (n, h, w), or, per_position,
 * over n alone at position k (the wrong axes). */
typedef struct {
    int unbiased_norm, biased_running, inverted_running, swapped_momentum;
    int eps_outside, no_eps, no_sqrt; /* sqrt(var) + eps, sqrt(var), var + eps */
    int per_position;
    /* training normalises with the running statistics (evaluation's rule):
     * 1 those on entry, 2 those just updated */
    int normalise_running;
    int running_no_decay; /* running += momentum * batch: (1 - momentum) left out */
    int no_mean_term, no_var_term, dgamma_from_x, no_gamma;
    int dx_without_s;     /* dx = (1/M) (...): the s in front left out */
    int var_term_added;   /* + xhat sum g xhat */
    int dbeta_with_gamma, dgamma_with_gamma; /* gamma times the sum */
    /* the backward's sums over a channel are never set back to 0: 1 for
     * sums of dout (gamma applied after), 2 for sums of g = gamma dout */
    int sums_carried;
} BnVariant;

static void bn_variant(const Case *c, BnVariant v, const double *x, const double *gamma,
                       const double *beta, const double *dout, double *out, double *running_mean,
                       double *running_var, double *dx, double *dgamma, double *dbeta)
{
    const int N = c->ints[0], C = c->ints[1], HW = c->ints[2] * c->ints[3];
    const int groups = v.per_position ? HW : 1, M = v.per_position ? N : N * HW;
    double sum_dout = 0, sum_dout_xhat = 0, sum_g = 0, sum_g_xhat = 0, sum_dgamma = 0;
    if (dgamma) memset(dgamma, 0, (size_t)C * sizeof(double));
    for (int ch = 0; ch < C; ch++)
        for (int g = 0; g < groups; g++) {
            /* the M indices of this group */
            double mu = 0, var = 0;
#define EACH(body)                                                                     \
    for (int n = 0; n < N; n++)                                                        \
        for (int k = v.per_position ? g : 0; k < (v.per_position ? g + 1 : HW); k++) { \
            size_t i = ((size_t)n * C + ch) * HW + k;                                  \
            body;                                                                      \
        }
            EACH(mu += x[i]);
            mu /= M;
            EACH(var += (x[i] - mu) * (x[i] - mu));
            double biased = var / M, unbiased = M > 1 ? var / (M - 1) : biased;
            double used = v.unbiased_norm ? unbiased : biased;
            double s = 1 / sqrt(used + BATCHNORM_EPS);
            if (v.eps_outside) s = 1 / (sqrt(used) + BATCHNORM_EPS);
            if (v.no_eps) s = 1 / sqrt(used);
            if (v.no_sqrt) s = 1 / (used + BATCHNORM_EPS);
            double out_mu = mu, out_s = s;
            if (v.normalise_running == 1) {
                out_mu = running_mean[ch];
                out_s = 1 / sqrt(running_var[ch] + BATCHNORM_EPS);
            }
            if (running_mean && g == 0) {
                double m = v.swapped_momentum ? 1 - BATCHNORM_MOMENTUM : BATCHNORM_MOMENTUM;
                double keep = v.running_no_decay ? 1 : 1 - m;
                running_mean[ch] = keep * running_mean[ch] + m * mu;
                double inverted = M > 1 ? biased * (M - 1) / M : biased;
                running_var[ch] = keep * running_var[ch] +
                                  m * (v.biased_running     ? biased
                                       : v.inverted_running ? inverted
                                                            : unbiased);
            }
            if (v.normalise_running == 2) {
                out_mu = running_mean[ch];
                out_s = 1 / sqrt(running_var[ch] + BATCHNORM_EPS);
            }
            if (out) EACH(out[i] = gamma[ch] * (x[i] - out_mu) * out_s + beta[ch]);
            if (!dx) continue;
            if (!v.sums_carried) sum_dout = sum_dout_xhat = sum_g = sum_g_xhat = sum_dgamma = 0;
            const double gm = v.no_gamma ? 1 : gamma[ch];
            EACH(double xhat = (x[i] - mu) * s; sum_dout += dout[i];
                 sum_dout_xhat += dout[i] * xhat; sum_g += gm * dout[i];
                 sum_g_xhat += gm * dout[i] * xhat;
                 sum_dgamma += dout[i] * (v.dgamma_from_x ? x[i] : xhat));
            if (dgamma) dgamma[ch] += sum_dgamma * (v.dgamma_with_gamma ? gamma[ch] : 1);
            if (dbeta) dbeta[ch] = sum_dout * (v.dbeta_with_gamma ? gamma[ch] : 1);
            /* the two sums of g: with sums of dout carried over, gamma multiplies them after */
            double mean_term = v.sums_carried == 1 ? gm * sum_dout : sum_g;
            double var_term = v.sums_carried == 1 ? gm * sum_dout_xhat : sum_g_xhat;
            const double front = v.dx_without_s ? 1 : s, var_sign = v.var_term_added ? -1 : 1;
            EACH(double xhat = (x[i] - mu) * s;
                 dx[i] = front / M *
                         (M * gm * dout[i] - (v.no_mean_term ? 0 : mean_term) -
                          var_sign * (v.no_var_term ? 0 : xhat * var_term)));
#undef EACH
        }
}

static void predict_bn_forward(const Case *c, double **pred, BnVariant v)
{
    memcpy(pred[3], c->args[3].value, c->args[3].size * sizeof(double));
    memcpy(pred[4], c->args[4].value, c->args[4].size * sizeof(double));
    bn_variant(c, v, c->args[0].value, c->args[1].value, c->args[2].value, NULL, pred[5], pred[3],
               pred[4], NULL, NULL, NULL);
}

static void predict_bn_unbiased_norm(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.unbiased_norm = 1});
}

static void predict_bn_biased_running(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.biased_running = 1});
}

static void predict_bn_inverted_running(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.inverted_running = 1});
}

static void predict_bn_swapped_momentum(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.swapped_momentum = 1});
}

static void predict_bn_eps_outside(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.eps_outside = 1});
}

static void predict_bn_no_eps(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.no_eps = 1});
}

static void predict_bn_no_sqrt(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.no_sqrt = 1});
}

static void predict_bn_per_position(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.per_position = 1});
}

static void predict_bn_running_on_entry(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.normalise_running = 1});
}

static void predict_bn_running_updated(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.normalise_running = 2});
}

static void predict_bn_running_no_decay(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_forward(c, pred, (BnVariant){.running_no_decay = 1});
}

static void predict_bn_backward(const Case *c, double **pred, BnVariant v)
{
    bn_variant(c, v, c->args[1].value, c->args[2].value, NULL, c->args[0].value, NULL, NULL, NULL,
               pred[3], pred[4], pred[5]);
}

static void predict_bn_no_terms(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.no_mean_term = 1, .no_var_term = 1});
}

static void predict_bn_no_mean_term(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.no_mean_term = 1});
}

static void predict_bn_no_var_term(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.no_var_term = 1});
}

static void predict_bn_dgamma_from_x(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.dgamma_from_x = 1});
}

static void predict_bn_no_gamma(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.no_gamma = 1});
}

static void predict_bn_sums_carried(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.sums_carried = 1});
}

static void predict_bn_g_sums_carried(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.sums_carried = 2});
}

static void predict_bn_backward_unbiased(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.unbiased_norm = 1});
}

static void predict_bn_dx_without_s(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.dx_without_s = 1});
}

static void predict_bn_var_term_added(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.var_term_added = 1});
}

static void predict_bn_dbeta_with_gamma(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.dbeta_with_gamma = 1});
}

static void predict_bn_dgamma_with_gamma(const Case *c, double **pred, double *ret)
{
    (void)ret;
    predict_bn_backward(c, pred, (BnVariant){.dgamma_with_gamma = 1});
}

#define HINT_BN_RUNNING_IN_TRAINING                                                              \
    "batchnorm_forward normalises with the running statistics: that is evaluation mode's rule. " \
    "In training (this function) out uses the batch's own mean and biased variance, and the "    \
    "running statistics are only updated, for evaluation to use later."

static const Mistake bn_forward_mistakes[] = {
    {"batchnorm_forward normalises with the unbiased variance (divided by M - 1): training "
     "normalises with the biased one, (1/M) sum (x - mu)^2; only running_var takes the unbiased "
     "estimate.",
     predict_bn_unbiased_norm},
    {"batchnorm_forward updates running_var with the biased variance: the running estimate "
     "takes the unbiased one, var * M / (M - 1), as PyTorch does.",
     predict_bn_biased_running},
    {"batchnorm_forward corrects the variance the wrong way round, var * (M - 1) / M: the "
     "running variance takes the unbiased estimate, var * M / (M - 1), which is larger.",
     predict_bn_inverted_running},
    {"batchnorm_forward applies the momentum the wrong way round: running = (1 - 0.1) running + "
     "0.1 batch, so the batch's statistic gets the small weight.",
     predict_bn_swapped_momentum},
    {"batchnorm_forward adds eps outside the square root: xhat = (x - mu) / sqrt(var + eps).",
     predict_bn_eps_outside},
    {"batchnorm_forward leaves eps out: xhat = (x - mu) / sqrt(var + eps), where eps (BN_EPS) "
     "keeps the division finite when a channel's values are all equal (var = 0).",
     predict_bn_no_eps},
    {"batchnorm_forward divides by var + eps instead of its square root: xhat = (x - mu) / "
     "sqrt(var + eps), a division by the standard deviation, so that xhat has variance 1.",
     predict_bn_no_sqrt},
    {"batchnorm_forward takes its statistics over the wrong axes: one mean and variance per "
     "channel, over all N*H*W values of the channel, not one per pixel position.",
     predict_bn_per_position},
    {HINT_BN_RUNNING_IN_TRAINING, predict_bn_running_on_entry},
    {HINT_BN_RUNNING_IN_TRAINING, predict_bn_running_updated},
    {"batchnorm_forward leaves (1 - momentum) out of the running statistics' update: running = "
     "(1 - 0.1) running + 0.1 batch, a weighted mean whose weights add up to 1; running += 0.1 "
     "batch never lets the old batches fade, and adds up to ten times their average.",
     predict_bn_running_no_decay},
};

#define HINT_BN_SUMS_CARRIED                                                                     \
    "batchnorm_backward does not set its sums back to 0 for each channel: channel c's sum of "    \
    "dout (and of dout * xhat) still holds every earlier channel's, so dbeta, dgamma and dx are " \
    "right for the first channel only. Set them to 0 inside the loop over c."

static const Mistake bn_backward_mistakes[] = {
    {"batchnorm_backward is missing the terms through the mean and the variance: every x_j also "
     "moves mu and var, which every xhat_i depends on. dx_j = (s/M) (M g_j - sum_i g_i - xhat_j "
     "sum_i g_i xhat_i), with g = gamma dout and s = 1/sqrt(var + eps).",
     predict_bn_no_terms},
    {"batchnorm_backward is missing the term through the mean: dx_j = (s/M) (M g_j - sum_i g_i "
     "- xhat_j sum_i g_i xhat_i); the '- sum_i g_i' is the mean's share.",
     predict_bn_no_mean_term},
    {"batchnorm_backward is missing the term through the variance: dx_j = (s/M) (M g_j - sum_i "
     "g_i - xhat_j sum_i g_i xhat_i); the last term is the variance's share.",
     predict_bn_no_var_term},
    {"dgamma uses x where it needs xhat: out = gamma xhat + beta, so dgamma = sum of dout * xhat.",
     predict_bn_dgamma_from_x},
    {"batchnorm_backward leaves gamma out of dx: out = gamma xhat + beta, so the gradient that "
     "reaches xhat is g = gamma dout, and every term of dx_j = (s/M) (M g_j - sum_i g_i - xhat_j "
     "sum_i g_i xhat_i) carries gamma.",
     predict_bn_no_gamma},
    {HINT_BN_SUMS_CARRIED, predict_bn_sums_carried},
    {HINT_BN_SUMS_CARRIED, predict_bn_g_sums_carried},
    {"batchnorm_backward normalises with the unbiased variance (divided by M - 1): the forward "
     "pass's xhat used the biased one, (1/M) sum (x - mu)^2, and the backward must use the same "
     "s = 1/sqrt(var + eps). Only running_var takes the unbiased estimate.",
     predict_bn_backward_unbiased},
    {"batchnorm_backward leaves s = 1/sqrt(var + eps) out of the front of dx: xhat = (x - mu) "
     "s, so every path from x to out passes through s once, and dx_j = (s/M) (M g_j - sum_i g_i "
     "- xhat_j sum_i g_i xhat_i).",
     predict_bn_dx_without_s},
    {"batchnorm_backward adds the term through the variance where it must subtract it: dx_j = "
     "(s/M) (M g_j - sum_i g_i - xhat_j sum_i g_i xhat_i). A larger var shrinks every xhat, "
     "hence the minus.",
     predict_bn_var_term_added},
    {"dbeta is multiplied by gamma: out = gamma xhat + beta, so beta's gradient is the plain sum "
     "of dout over the channel. gamma belongs to the path through xhat (dx), not to dbeta.",
     predict_bn_dbeta_with_gamma},
    {"dgamma is multiplied by gamma: out = gamma xhat + beta, so dgamma = sum of dout * xhat, "
     "without gamma. gamma belongs to the path through xhat (dx), not to its own gradient.",
     predict_bn_dgamma_with_gamma},
};

static const char *const batchnorm_forward_formulas[] = {
    "out[n][c][h][w] = gamma[c] (x[n][c][h][w] - mu[c]) / sqrt(var[c] + BN_EPS) + beta[c], mu "
    "and var over channel c's N*H*W values",
    "running_mean[c] = 0.9 running_mean[c] + 0.1 mu[c]",
    "running_var[c] = 0.9 running_var[c] + 0.1 var[c] M / (M - 1)",
    NULL,
};

static const char *const batchnorm_backward_formulas[] = {
    "dx[j] = (s/M) (M g[j] - the sum of g - xhat[j] times the sum of g xhat), with g = gamma "
    "dout, s = 1/sqrt(var + BN_EPS), the sums over channel c's M values",
    "dgamma[c] = the sum of dout * xhat over channel c",
    "dbeta[c] = the sum of dout over channel c",
    NULL,
};

const FunctionSpec batchnorm_specs[] = {
    {"batchnorm_forward", "batchnorm", BN_CASES, bn_forward_case, NULL, bn_forward_mistakes,
     sizeof bn_forward_mistakes / sizeof bn_forward_mistakes[0], batchnorm_forward_formulas},
    {"batchnorm_backward", "batchnorm", BN_CASES, bn_backward_case, bn_numeric,
     bn_backward_mistakes, sizeof bn_backward_mistakes / sizeof bn_backward_mistakes[0],
     batchnorm_backward_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};

/* ---- dropout ------------------------------------------------------------------ */

typedef struct {
    int n;
    double p;
    int training;
} DropoutShape;

static const DropoutShape dropout_shapes[] = {
    {20, 0.5, 1}, {50, 0.2, 1}, {30, 0.7, 1}, {16, 0.5, 0}, {40, 0, 1},
};
#define DROPOUT_FORWARD_CASES 5
#define DROPOUT_BACKWARD_CASES 3

static Layer *dropout_layer_for(double p, uint64_t key, int training)
{
    Error err;
    Layer *layer = dropout_create(p, &err);
    layer->noise_key = key;
    layer->mode = training ? LAYER_TRAIN : LAYER_EVAL;
    return layer;
}

/* x, keep (the library's mask for the case's key), and the p and n ints. */
static uint64_t dropout_common(Case *c, const DropoutShape *s, Rng *rng, int backward)
{
    const int n = s->n;
    if (backward) fill_normal(case_array(c, "dout", "i", ROLE_IN, 1, &n)->value, (size_t)n, 1, rng);
    Arg *x = backward ? NULL : case_array(c, "x", "i", ROLE_IN, 1, &n);
    Arg *keep = case_int_array(c, "keep", (size_t)n);
    if (x) fill_normal(x->value, x->size, 1, rng);
    uint64_t key = rng_next(rng);
    /* the mask the layer draws for this key, in training mode */
    Layer *layer = dropout_layer_for(s->p, key, 1);
    Tensor *t = tensor_new2(1, n), *out = tensor_new2(1, 1);
    layer_forward(layer, t, out);
    const DropoutLayer *drop = (const DropoutLayer *)layer;
    for (int i = 0; i < n; i++) keep->ivalue[i] = s->p == 0 ? 1 : drop->mask[i];
    tensor_free(t);
    tensor_free(out);
    layer_free(layer);
    case_ints(c, 1, &n);
    if (!backward) case_ints(c, 1, &s->training);
    case_real(c, s->p);
    if (!s->training) c->tags |= TAG_EVAL;
    case_describe(c, "n = %d, p = %g, %s", n, s->p,
                  s->training ? "training (training = 1)" : "evaluation (training = 0)");
    case_factor(c, 1 - s->p, "1 - p = %g", 1 - s->p);
    case_factor(c, 1 / (1 - s->p), "1/(1 - p) = 1/%g", 1 - s->p);
    case_factor(c, (1 - s->p) / s->p, "(1 - p)/p = %g: a division by p where 1 - p belongs",
                (1 - s->p) / s->p);
    return key;
}

static void dropout_forward_case(Case *c, int index, Rng *rng)
{
    const DropoutShape *s = &dropout_shapes[index];
    uint64_t key = dropout_common(c, s, rng, 0);
    Arg *out = case_array(c, "out", "i", ROLE_OUT, 1, &s->n);
    fill_garbage(out, rng);
    Layer *layer = dropout_layer_for(s->p, key, s->training);
    Tensor tx = tensor_view(c->args[0].value, 1, &s->n);
    Tensor *o = tensor_new2(1, 1);
    layer_forward(layer, &tx, o);
    memcpy(out->expected, o->data, o->size * sizeof(double));
    tensor_free(o);
    layer_free(layer);
}

/* The case's key is kept in the last real, for the numerical check. */
static void dropout_backward_case(Case *c, int index, Rng *rng)
{
    const DropoutShape *s = &dropout_shapes[index];
    uint64_t key = dropout_common(c, s, rng, 1);
    Arg *dx = case_array(c, "dx", "i", ROLE_OUT, 1, &s->n);
    fill_garbage(dx, rng);
    Layer *layer = dropout_layer_for(s->p, key, 1);
    Tensor *x = tensor_new2(1, s->n), *o = tensor_new2(1, 1), *d = tensor_new2(1, 1);
    layer_forward(layer, x, o);
    Tensor td = tensor_view(c->args[0].value, 2, (const int[]){1, s->n});
    layer_backward(layer, &td, d);
    memcpy(dx->expected, d->data, d->size * sizeof(double));
    tensor_free(x);
    tensor_free(o);
    tensor_free(d);
    layer_free(layer);
    memcpy(&c->reals[MAX_REALS - 1], &key, sizeof key);
}

static double dropout_numeric(const Case *c, int arg)
{
    if (arg != 2) return -1;
    uint64_t key;
    memcpy(&key, &c->reals[MAX_REALS - 1], sizeof key);
    Layer *layer = dropout_layer_for(c->reals[0], key, 1);
    /* x does not change dropout's derivative: ones will do */
    Arg x = c->args[0];
    double *ones = xmalloc(x.size * sizeof(double));
    for (size_t i = 0; i < x.size; i++) ones[i] = 1;
    x.value = ones;
    double e = numeric_error(layer, &x, NULL, c->args[0].value, c->args[2].got, "dx");
    free(ones);
    layer_free(layer);
    return e;
}

/* out = x * mask * scale, with the mask kept or inverted, scaled or not */
static void dropout_variant(const Case *c, const double *x, const int *keep, double scale,
                            int inverted, double *out)
{
    for (int i = 0; i < c->ints[0]; i++) out[i] = ((keep[i] != 0) != inverted) ? x[i] * scale : 0;
}

static void predict_dropout_no_scale(const Case *c, double **pred, double *ret)
{
    (void)ret;
    int backward = c->n_ints == 1;
    if (!backward && !c->ints[1]) return;
    dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1, 0, pred[2]);
}

static void predict_dropout_times_keep(const Case *c, double **pred, double *ret)
{
    (void)ret;
    int backward = c->n_ints == 1;
    if (!backward && !c->ints[1]) return;
    dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1 - c->reals[0], 0, pred[2]);
}

static void predict_dropout_divided_by_p(const Case *c, double **pred, double *ret)
{
    (void)ret;
    int backward = c->n_ints == 1;
    if (!backward && !c->ints[1]) return;
    dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1 / c->reals[0], 0, pred[2]);
}

static void predict_dropout_inverted(const Case *c, double **pred, double *ret)
{
    (void)ret;
    int backward = c->n_ints == 1;
    if (!backward && !c->ints[1]) return;
    dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1 / (1 - c->reals[0]), 1, pred[2]);
}

static void predict_dropout_eval_dropped(const Case *c, double **pred, double *ret)
{
    (void)ret;
    if (c->ints[1]) return; /* only evaluation mode differs */
    dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1 / (1 - c->reals[0]), 0, pred[2]);
}

static void predict_dropout_eval_scaled(const Case *c, double **pred, double *ret)
{
    (void)ret;
    if (c->ints[1]) return;
    for (int i = 0; i < c->ints[0]; i++) pred[2][i] = c->args[0].value[i] * (1 - c->reals[0]);
}

/* The old, non-inverted dropout: out = x * keep in training, x (1 - p)
 * in evaluation. */
static void predict_dropout_old_style(const Case *c, double **pred, double *ret)
{
    (void)ret;
    if (c->ints[1])
        dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1, 0, pred[2]);
    else
        for (int i = 0; i < c->ints[0]; i++) pred[2][i] = c->args[0].value[i] * (1 - c->reals[0]);
}

/* training read the wrong way round: out = x in training, the mask in
 * evaluation */
static void predict_dropout_training_inverted(const Case *c, double **pred, double *ret)
{
    (void)ret;
    if (c->ints[1])
        memcpy(pred[2], c->args[0].value, c->args[0].size * sizeof(double));
    else
        dropout_variant(c, c->args[0].value, c->args[1].ivalue, 1 / (1 - c->reals[0]), 0,
                        pred[2]);
}

static void predict_dropout_eval_divided(const Case *c, double **pred, double *ret)
{
    (void)ret;
    if (c->ints[1]) return;
    for (int i = 0; i < c->ints[0]; i++) pred[2][i] = c->args[0].value[i] / (1 - c->reals[0]);
}

/* dx = keep / (1 - p): the derivative of the mask alone, dout left out */
static void predict_dropout_backward_no_dout(const Case *c, double **pred, double *ret)
{
    (void)ret;
    for (int i = 0; i < c->ints[0]; i++) pred[2][i] = c->args[1].ivalue[i] / (1 - c->reals[0]);
}

#define HINT_DROPOUT_SCALE(who)                                                                \
    who " does not divide the kept values by 1 - p: inverted dropout scales what survives by " \
        "1/(1 - p), so that the expected output equals x and evaluation needs no scaling."

#define HINT_DROPOUT_DIVIDED_BY_P(who)                                                       \
    who " divides by p where it must divide by 1 - p: p is the probability of dropping a "   \
        "value, 1 - p that of keeping it, and the kept values are scaled by 1/(1 - p). (At p " \
        "= 0.5 the two agree.)"

static const Mistake dropout_forward_mistakes[] = {
    {HINT_DROPOUT_SCALE("dropout_forward"), predict_dropout_no_scale},
    {"dropout_forward multiplies the kept values by 1 - p where it should divide by it: x * "
     "keep / (1 - p).",
     predict_dropout_times_keep},
    {HINT_DROPOUT_DIVIDED_BY_P("dropout_forward"), predict_dropout_divided_by_p},
    {"dropout_forward keeps the dropped values and drops the kept ones: keep[i] = 1 means the "
     "value survives.",
     predict_dropout_inverted},
    {"dropout_forward drops values in evaluation mode: with training = 0, out = x, whatever "
     "keep says.",
     predict_dropout_eval_dropped},
    {"dropout_forward scales the values in evaluation mode: with inverted dropout the scaling "
     "happens in training, and evaluation returns x unchanged.",
     predict_dropout_eval_scaled},
    {"dropout_forward is the old, non-inverted dropout: it scales at evaluation (x (1 - p)) "
     "instead of in training. Inverted dropout divides the kept values by 1 - p in training, "
     "out = x * keep / (1 - p), and returns x unchanged in evaluation.",
     predict_dropout_old_style},
    {"dropout_forward reads training the wrong way round: it returns x unchanged in training "
     "and applies the mask in evaluation. training = 1 is the mode that drops.",
     predict_dropout_training_inverted},
    {"dropout_forward divides by 1 - p in evaluation mode too: with training = 0 nothing is "
     "dropped, and nothing needs scaling back, so out = x.",
     predict_dropout_eval_divided},
};

static const Mistake dropout_backward_mistakes[] = {
    {HINT_DROPOUT_SCALE("dropout_backward"), predict_dropout_no_scale},
    {"dropout_backward multiplies by 1 - p where it should divide by it: dx = dout * keep / (1 "
     "- p), the same factor as the forward pass.",
     predict_dropout_times_keep},
    {HINT_DROPOUT_DIVIDED_BY_P("dropout_backward"), predict_dropout_divided_by_p},
    {"dropout_backward lets the gradient through where the value was dropped: it passes only "
     "where keep[i] = 1.",
     predict_dropout_inverted},
    {"dropout_backward leaves dout out: dx = dout * keep / (1 - p). keep / (1 - p) is the "
     "derivative of out with respect to x; the chain rule multiplies it by the gradient that "
     "arrives, dout.",
     predict_dropout_backward_no_dout},
};

static const char *const dropout_forward_formulas[] = {
    "out[i] = x[i] * keep[i] / (1 - p) in training, and x[i] in evaluation",
    NULL,
};

static const char *const dropout_backward_formulas[] = {
    "dx[i] = dout[i] * keep[i] / (1 - p)",
    NULL,
};

const FunctionSpec dropout_specs[] = {
    {"dropout_forward", "dropout", DROPOUT_FORWARD_CASES, dropout_forward_case, NULL,
     dropout_forward_mistakes, sizeof dropout_forward_mistakes / sizeof dropout_forward_mistakes[0],
     dropout_forward_formulas},
    {"dropout_backward", "dropout", DROPOUT_BACKWARD_CASES, dropout_backward_case, dropout_numeric,
     dropout_backward_mistakes,
     sizeof dropout_backward_mistakes / sizeof dropout_backward_mistakes[0],
     dropout_backward_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};

/* ---- optimizers ------------------------------------------------------------------ */

/* A network whose one weight tensor (an fc layer's w, n x 1, with weight
 * decay) holds the case's parameters and their gradient. */
static Network *one_weight_network(int n, const double *param, const double *grad)
{
    Error err;
    Network *net = network_new(n, 1, 1);
    if (network_add(net, fc_create(n, 1, &err), "fc1", &err) != 0) {
        fprintf(stderr, "grader: %s\n", err.msg);
        exit(2);
    }
    Param *w = network_param(net, 0, NULL, 0);
    memcpy(w->value->data, param, (size_t)n * sizeof(double));
    memcpy(w->grad->data, grad, (size_t)n * sizeof(double));
    return net;
}

typedef struct {
    int n;
    double lr, momentum, weight_decay;
    int with_state;
} SgdShape;

static const SgdShape sgd_shapes[] = {
    {10, 0.1, 0.9, 0, 0}, {12, 0.05, 0.9, 0, 1},  {8, 0.02, 0.9, 0.1, 1},
    {6, 0.1, 0, 0, 1},    {9, 0.1, 0.5, 0.01, 0},
};
#define SGD_CASES 5

static void sgd_case(Case *c, int index, Rng *rng)
{
    const SgdShape *s = &sgd_shapes[index];
    Arg *param = case_array(c, "param", "i", ROLE_INOUT, 1, &s->n);
    Arg *grad = case_array(c, "grad", "i", ROLE_IN, 1, &s->n);
    Arg *velocity = case_array(c, "velocity", "i", ROLE_INOUT, 1, &s->n);
    fill_normal(param->value, param->size, 1, rng);
    fill_normal(grad->value, grad->size, 1, rng);
    if (s->with_state) fill_normal(velocity->value, velocity->size, 1, rng);
    case_ints(c, 1, &s->n);
    case_real(c, s->lr);
    case_real(c, s->momentum);
    case_real(c, s->weight_decay);
    if (s->with_state) c->tags |= TAG_STATE;
    if (s->weight_decay > 0) c->tags |= TAG_DECAY;
    case_describe(c, "n = %d, lr %g, momentum %g, weight_decay %g, velocity %s on entry", s->n,
                  s->lr, s->momentum, s->weight_decay, s->with_state ? "NOT zero" : "zero");
    case_factor(c, s->lr, "lr = %g", s->lr);
    case_factor(c, 1 / s->lr, "1/lr = 1/%g", s->lr);

    Network *net = one_weight_network(s->n, param->value, grad->value);
    Optimizer *opt = sgd_create(
        net, (SgdConfig){.lr = s->lr, .momentum = s->momentum, .weight_decay = s->weight_decay});
    memcpy(optimizer_state(opt, 0, 0)->data, velocity->value, (size_t)s->n * sizeof(double));
    optimizer_step(opt, net);
    memcpy(param->expected, network_param(net, 0, NULL, 0)->value->data,
           (size_t)s->n * sizeof(double));
    memcpy(velocity->expected, optimizer_state(opt, 0, 0)->data, (size_t)s->n * sizeof(double));
    optimizer_free(opt);
    network_free(net);
}

enum {
    SGD_CS231N,
    SGD_NO_DECAY,
    SGD_OLD_VELOCITY,
    SGD_LR_IN_VELOCITY,
    SGD_STEP_WITH_GRADIENT,
    SGD_DAMPENED, /* v = momentum v + (1 - momentum) g */
    SGD_NESTEROV, /* param -= lr (g + momentum v): PyTorch's nesterov = True */
    SGD_DECAY_AFTER_OLD, /* v = momentum v + grad; param -= lr v + lr wd param_old */
    SGD_DECAY_AFTER_NEW, /* the same, with the moved param: param (1 - lr wd) */
};

static void sgd_variant(const Case *c, double **pred, int kind)
{
    const double lr = c->reals[0], mu = c->reals[1], wd = c->reals[2];
    const double *p0 = c->args[0].value, *grad = c->args[1].value, *v0 = c->args[2].value;
    for (int k = 0; k < c->ints[0]; k++) {
        const int decay_after = kind == SGD_DECAY_AFTER_OLD || kind == SGD_DECAY_AFTER_NEW;
        double g = grad[k] + (kind == SGD_NO_DECAY || decay_after ? 0 : wd * p0[k]);
        switch (kind) {
        case SGD_CS231N:
            pred[2][k] = mu * v0[k] - lr * g;
            pred[0][k] = p0[k] + pred[2][k];
            break;
        case SGD_OLD_VELOCITY:
            pred[0][k] = p0[k] - lr * v0[k];
            pred[2][k] = mu * v0[k] + g;
            break;
        case SGD_STEP_WITH_GRADIENT:
            pred[2][k] = mu * v0[k] + g;
            pred[0][k] = p0[k] - lr * g;
            break;
        case SGD_LR_IN_VELOCITY:
            pred[2][k] = mu * v0[k] + lr * g;
            pred[0][k] = p0[k] - pred[2][k];
            break;
        case SGD_DAMPENED:
            pred[2][k] = mu * v0[k] + (1 - mu) * g;
            pred[0][k] = p0[k] - lr * pred[2][k];
            break;
        case SGD_NESTEROV:
            pred[2][k] = mu * v0[k] + g;
            pred[0][k] = p0[k] - lr * (g + mu * pred[2][k]);
            break;
        case SGD_DECAY_AFTER_OLD:
            pred[2][k] = mu * v0[k] + g;
            pred[0][k] = p0[k] - lr * pred[2][k] - lr * wd * p0[k];
            break;
        case SGD_DECAY_AFTER_NEW:
            pred[2][k] = mu * v0[k] + g;
            pred[0][k] = p0[k] - lr * pred[2][k];
            pred[0][k] -= lr * wd * pred[0][k];
            break;
        default: pred[2][k] = mu * v0[k] + g; pred[0][k] = p0[k] - lr * pred[2][k];
        }
    }
}

static void predict_sgd_cs231n(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_CS231N);
}

static void predict_sgd_no_decay(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_NO_DECAY);
}

static void predict_sgd_old_velocity(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_OLD_VELOCITY);
}

static void predict_sgd_lr_in_velocity(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_LR_IN_VELOCITY);
}

static void predict_sgd_step_with_gradient(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_STEP_WITH_GRADIENT);
}

static void predict_sgd_dampened(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_DAMPENED);
}

static void predict_sgd_nesterov(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_NESTEROV);
}

static void predict_sgd_decay_after_old(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_DECAY_AFTER_OLD);
}

static void predict_sgd_decay_after_new(const Case *c, double **pred, double *ret)
{
    (void)ret;
    sgd_variant(c, pred, SGD_DECAY_AFTER_NEW);
}

#define HINT_SGD_DECAY_AFTER                                                                      \
    "sgd_momentum_step applies weight_decay apart from the velocity, after the step (param -= " \
    "lr * weight_decay * param): that is decoupled weight decay (SGDW, AdamW). The contract's "  \
    "decay is coupled: g = grad + weight_decay * param goes into the velocity like the gradient."

static const Mistake sgd_mistakes[] = {
    {"sgd_momentum_step keeps the velocity in CS231n's form (v = momentum v - lr g; param += "
     "v): the contract is PyTorch's, v = momentum v + g and param -= lr v. The two agree only "
     "while lr never changes, and the stored velocity differs.",
     predict_sgd_cs231n},
    {"sgd_momentum_step ignores weight_decay: the gradient it uses is grad + weight_decay * param.",
     predict_sgd_no_decay},
    {"sgd_momentum_step moves param with the velocity from before this step: update velocity "
     "first, then param -= lr * velocity.",
     predict_sgd_old_velocity},
    {"sgd_momentum_step puts lr inside the velocity (v = momentum v + lr g; param -= v): the "
     "contract's velocity is v = momentum v + g, and lr multiplies it in the step.",
     predict_sgd_lr_in_velocity},
    {"sgd_momentum_step moves param by lr * g, leaving the velocity out of the step: param -= "
     "lr * velocity, with the velocity just updated, is what makes it momentum.",
     predict_sgd_step_with_gradient},
    {"sgd_momentum_step weights the gradient by (1 - momentum), v = momentum v + (1 - momentum) "
     "g: that is the exponential average of Andrew Ng's course. The contract is PyTorch's rule, "
     "v = momentum v + g (dampening 0): from a zero start its velocity is 1/(1 - momentum) "
     "times the average (10 times at momentum 0.9), so its steps are Ng's with lr / (1 - "
     "momentum).",
     predict_sgd_dampened},
    {"sgd_momentum_step takes Nesterov's look-ahead step, param -= lr * (g + momentum * "
     "velocity): the contract is plain momentum, param -= lr * velocity with the velocity just "
     "updated.",
     predict_sgd_nesterov},
    {HINT_SGD_DECAY_AFTER, predict_sgd_decay_after_old},
    {HINT_SGD_DECAY_AFTER, predict_sgd_decay_after_new},
};

typedef struct {
    int n, t;
    double lr;
    double grad_scale; /* small gradients make eps matter */
    int with_state;
} AdamShape;

/* No lr equals one of Adam's own numbers (1 - beta1 = 0.1, 1 - beta2 =
 * 0.001, the bias corrections), so that a factor that is off is named as
 * the right one of them. */
static const AdamShape adam_shapes[] = {
    {10, 1, 0.002, 1, 0},  {10, 2, 0.01, 1, 1}, {8, 10, 0.02, 1, 1},
    {6, 3, 0.05, 1e-4, 1}, {5, 1, 0.005, 1, 0},
    /* step 4 from a zero state: a weight whose gradient was 0 until now
     * (an unused class's output, say). It parts "t > 1" from "the state is
     * not zero", which the other cases always have together. */
    {7, 4, 0.003, 1, 0},
};
#define ADAM_CASES 6
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8

/* Adam's own numbers for beta (beta1 or beta2, named "1" or "2") at step
 * t, as factors: 1 - beta, which weights the new gradient, and the bias
 * correction 1 - beta^t, each with its inverse. At t = 1 the two are the
 * same number, and only the other cases can say which one is off. */
static void adam_factors(Case *c, const char *which, double beta, int t)
{
    const double weight = 1 - beta, correction = 1 - pow(beta, t);
    case_factor(c, weight, "1 - beta%s = %g", which, weight);
    case_factor(c, 1 / weight, "1/(1 - beta%s) = 1/%g", which, weight);
    case_factor(c, correction, "1 - beta%s^t = %.4g, the bias correction", which, correction);
    case_factor(c, 1 / correction, "1/(1 - beta%s^t) = 1/%.4g, the bias correction", which,
                correction);
}

static void adam_case(Case *c, int index, Rng *rng)
{
    const AdamShape *s = &adam_shapes[index];
    Arg *param = case_array(c, "param", "i", ROLE_INOUT, 1, &s->n);
    Arg *grad = case_array(c, "grad", "i", ROLE_IN, 1, &s->n);
    Arg *m = case_array(c, "m", "i", ROLE_INOUT, 1, &s->n);
    Arg *v = case_array(c, "v", "i", ROLE_INOUT, 1, &s->n);
    fill_normal(param->value, param->size, 1, rng);
    fill_normal(grad->value, grad->size, s->grad_scale, rng);
    if (s->with_state) {
        /* what t - 1 earlier steps of similar gradients would leave */
        for (int k = 0; k < s->n; k++) {
            double g = s->grad_scale * rng_normal(rng);
            m->value[k] = (1 - pow(ADAM_BETA1, s->t - 1)) * g;
            v->value[k] = (1 - pow(ADAM_BETA2, s->t - 1)) * g * g * rng_range(rng, 0.5, 2);
        }
        c->tags |= TAG_STATE;
    }
    if (s->t > 1) c->tags |= TAG_STEP;
    case_ints(c, 2, (const int[]){s->n, s->t});
    case_real(c, s->lr);
    case_real(c, ADAM_BETA1);
    case_real(c, ADAM_BETA2);
    case_real(c, ADAM_EPS);
    case_describe(c,
                  "n = %d, step t = %d, lr %g, beta1 %g, beta2 %g, eps %g, gradients of size "
                  "%g, m and v %s on entry",
                  s->n, s->t, s->lr, ADAM_BETA1, ADAM_BETA2, ADAM_EPS, s->grad_scale,
                  s->with_state ? "NOT zero" : "zero");
    case_factor(c, s->lr, "lr = %g", s->lr);
    case_factor(c, 1 / s->lr, "1/lr = 1/%g", s->lr);
    adam_factors(c, "1", ADAM_BETA1, s->t);
    adam_factors(c, "2", ADAM_BETA2, s->t);

    Network *net = one_weight_network(s->n, param->value, grad->value);
    Optimizer *opt = adam_create(
        net, (AdamConfig){.lr = s->lr, .beta1 = ADAM_BETA1, .beta2 = ADAM_BETA2, .eps = ADAM_EPS});
    memcpy(optimizer_state(opt, 0, 0)->data, m->value, (size_t)s->n * sizeof(double));
    memcpy(optimizer_state(opt, 0, 1)->data, v->value, (size_t)s->n * sizeof(double));
    opt->steps = s->t - 1;
    optimizer_step(opt, net);
    memcpy(param->expected, network_param(net, 0, NULL, 0)->value->data,
           (size_t)s->n * sizeof(double));
    memcpy(m->expected, optimizer_state(opt, 0, 0)->data, (size_t)s->n * sizeof(double));
    memcpy(v->expected, optimizer_state(opt, 0, 1)->data, (size_t)s->n * sizeof(double));
    optimizer_free(opt);
    network_free(net);
}

enum {
    ADAM_NO_CORRECTION,
    ADAM_MULTIPLIED,
    ADAM_EPS_INSIDE,
    ADAM_T_FROM_ZERO,
    ADAM_T_PLUS_ONE,        /* 1 - beta^(t + 1) */
    ADAM_NO_SQRT,
    ADAM_EPS_BEFORE_CORRECTION,
    ADAM_M_WITHOUT_WEIGHT,  /* m = beta1 m + grad */
    ADAM_V_WITHOUT_WEIGHT,  /* v = beta2 v + grad^2 */
    ADAM_V_WITH_BETA1,      /* v = beta2 v + (1 - beta1) grad^2 */
    ADAM_STORES_CORRECTED,  /* m = mhat, v = vhat */
    ADAM_T_MULTIPLIED,      /* 1 - beta * t */
    ADAM_CORRECT_M_ONLY,    /* mhat / (sqrt(v) + eps) */
    ADAM_CORRECT_V_ONLY,    /* m / (sqrt(vhat) + eps) */
    ADAM_CORRECTION2_BETA1, /* 1 - beta1^t for v as well */
    ADAM_EPS_OUTSIDE,       /* param -= lr mhat / sqrt(vhat) + eps */
    ADAM_OLD_STATE,         /* the step from m and v before this step's update */
};

static void adam_variant(const Case *c, double **pred, int kind)
{
    const int t = c->ints[1] + (kind == ADAM_T_FROM_ZERO ? -1 : kind == ADAM_T_PLUS_ONE ? 1 : 0);
    const double lr = c->reals[0], b1 = c->reals[1], b2 = c->reals[2], eps = c->reals[3];
    double c1 = 1 - pow(b1, t), c2 = 1 - pow(b2, t);
    if (kind == ADAM_T_MULTIPLIED) {
        c1 = 1 - b1 * t;
        c2 = 1 - b2 * t;
    }
    if (kind == ADAM_CORRECTION2_BETA1) c2 = c1;
    for (int k = 0; k < c->ints[0]; k++) {
        double g = c->args[1].value[k];
        double m = b1 * c->args[2].value[k] + (kind == ADAM_M_WITHOUT_WEIGHT ? 1 : 1 - b1) * g;
        double v_weight = kind == ADAM_V_WITHOUT_WEIGHT ? 1 : kind == ADAM_V_WITH_BETA1 ? 1 - b1
                                                                                         : 1 - b2;
        double v = b2 * c->args[3].value[k] + v_weight * g * g;
        double mhat = m / c1, vhat = v / c2, step;
        if (kind == ADAM_OLD_STATE) {
            mhat = c->args[2].value[k] / c1;
            vhat = c->args[3].value[k] / c2;
        }
        switch (kind) {
        case ADAM_NO_CORRECTION: step = m / (sqrt(v) + eps); break;
        case ADAM_MULTIPLIED: step = m * c1 / (sqrt(v * c2) + eps); break;
        case ADAM_EPS_INSIDE: step = mhat / sqrt(vhat + eps); break;
        case ADAM_NO_SQRT: step = mhat / (vhat + eps); break;
        case ADAM_EPS_BEFORE_CORRECTION: step = sqrt(c2) / c1 * m / (sqrt(v) + eps); break;
        case ADAM_CORRECT_M_ONLY: step = mhat / (sqrt(v) + eps); break;
        case ADAM_CORRECT_V_ONLY: step = m / (sqrt(vhat) + eps); break;
        case ADAM_EPS_OUTSIDE: step = mhat / sqrt(vhat) + eps / lr; break;
        default: step = mhat / (sqrt(vhat) + eps);
        }
        pred[0][k] = c->args[0].value[k] - lr * step;
        pred[2][k] = kind == ADAM_STORES_CORRECTED ? mhat : m;
        pred[3][k] = kind == ADAM_STORES_CORRECTED ? vhat : v;
    }
}

static void predict_adam_no_correction(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_NO_CORRECTION);
}

static void predict_adam_multiplied(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_MULTIPLIED);
}

static void predict_adam_eps_inside(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_EPS_INSIDE);
}

static void predict_adam_t_from_zero(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_T_FROM_ZERO);
}

static void predict_adam_t_plus_one(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_T_PLUS_ONE);
}

static void predict_adam_no_sqrt(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_NO_SQRT);
}

static void predict_adam_eps_before_correction(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_EPS_BEFORE_CORRECTION);
}

static void predict_adam_m_without_weight(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_M_WITHOUT_WEIGHT);
}

static void predict_adam_v_without_weight(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_V_WITHOUT_WEIGHT);
}

static void predict_adam_v_with_beta1(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_V_WITH_BETA1);
}

static void predict_adam_stores_corrected(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_STORES_CORRECTED);
}

static void predict_adam_t_multiplied(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_T_MULTIPLIED);
}

static void predict_adam_correct_m_only(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_CORRECT_M_ONLY);
}

static void predict_adam_correct_v_only(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_CORRECT_V_ONLY);
}

static void predict_adam_correction2_beta1(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_CORRECTION2_BETA1);
}

static void predict_adam_eps_outside(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_EPS_OUTSIDE);
}

static void predict_adam_old_state(const Case *c, double **pred, double *ret)
{
    (void)ret;
    adam_variant(c, pred, ADAM_OLD_STATE);
}

static const Mistake adam_mistakes[] = {
    {"adam_step is without bias correction: m and v start at 0, so early averages are too "
     "small; step with mhat = m / (1 - beta1^t) and vhat = v / (1 - beta2^t), not m and v.",
     predict_adam_no_correction},
    {"adam_step multiplies by the bias correction where it must divide: mhat = m / (1 - "
     "beta1^t) and vhat = v / (1 - beta2^t) (a bug a well-known JavaScript library shipped for "
     "years).",
     predict_adam_multiplied},
    {"adam_step puts eps inside the square root: the step is lr * mhat / (sqrt(vhat) + eps).",
     predict_adam_eps_inside},
    {"adam_step counts steps from 0: t is this step's number, 1 for the first, so the first "
     "correction is 1 - beta^1 (1 - beta^0 = 0 divides by zero).",
     predict_adam_t_from_zero},
    {"adam_step counts one step too many: t is already this step's number (1 for the first "
     "step), so the corrections are 1 - beta1^t and 1 - beta2^t, not 1 - beta^(t+1).",
     predict_adam_t_plus_one},
    {"adam_step divides by vhat instead of its square root: the step is lr * mhat / (sqrt(vhat) "
     "+ eps).",
     predict_adam_no_sqrt},
    {"adam_step adds eps before the bias correction, as in the paper's faster form (lr sqrt(1 - "
     "beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)); the contract, like PyTorch, adds eps to "
     "sqrt(vhat). The two differ when the gradients are small.",
     predict_adam_eps_before_correction},
    {"adam_step leaves (1 - beta1) out of m's update: m[k] = beta1 m[k] + (1 - beta1) grad[k], "
     "a weighted mean of the gradients whose weights add up to 1.",
     predict_adam_m_without_weight},
    {"adam_step leaves (1 - beta2) out of v's update: v[k] = beta2 v[k] + (1 - beta2) grad[k]^2, "
     "a weighted mean of the squared gradients whose weights add up to 1.",
     predict_adam_v_without_weight},
    {"adam_step weights v's update with (1 - beta1): v has its own pair of weights, v[k] = beta2 "
     "v[k] + (1 - beta2) grad[k]^2.",
     predict_adam_v_with_beta1},
    {"adam_step stores the bias-corrected mhat and vhat back into m and v: they are for this "
     "step's update only. m and v keep the plain averages, which the next step continues from "
     "(and corrects with its own t).",
     predict_adam_stores_corrected},
    {"adam_step multiplies beta by t where it must raise it to the power t: the bias corrections "
     "are 1 - beta1^t and 1 - beta2^t, pow(beta1, t) in C. 1 - beta2 * t is negative from t = 2 "
     "on, and vhat with it, so sqrt(vhat) is NaN. (At t = 1 the two agree.)",
     predict_adam_t_multiplied},
    {"adam_step bias-corrects m but not v: the step uses vhat = v / (1 - beta2^t) as well as "
     "mhat = m / (1 - beta1^t). v starts at 0 like m, and early on it is far too small (at t = "
     "1, 1000 times).",
     predict_adam_correct_m_only},
    {"adam_step bias-corrects v but not m: the step uses mhat = m / (1 - beta1^t) as well as "
     "vhat = v / (1 - beta2^t). m starts at 0 like v, and early on it is too small (at t = 1, 10 "
     "times).",
     predict_adam_correct_v_only},
    {"adam_step corrects v with beta1: v's bias correction is 1 - beta2^t, with v's own beta "
     "(pow(beta2, t)); 1 - beta1^t belongs to m.",
     predict_adam_correction2_beta1},
    {"adam_step adds eps outside the division: param -= lr * mhat / sqrt(vhat) + eps moves every "
     "parameter by an extra eps. eps belongs in the denominator, lr * mhat / (sqrt(vhat) + eps): "
     "mind the brackets.",
     predict_adam_eps_outside},
    {"adam_step moves param with m and v from before this step: update m and v with this step's "
     "gradient first, then compute mhat, vhat and the step from them. (From a zero state the "
     "first step then moves nothing.)",
     predict_adam_old_state},
};

static const char *const sgd_momentum_step_formulas[] = {
    "param[k] = param[k] - lr * velocity[k], with the new velocity",
    "velocity[k] = momentum * velocity[k] + grad[k] + weight_decay * param[k]",
    NULL,
};

static const char *const adam_step_formulas[] = {
    "param[k] = param[k] - lr * mhat / (sqrt(vhat) + eps), with mhat = m / (1 - beta1^t) and "
    "vhat = v / (1 - beta2^t) of the new m and v",
    "m[k] = beta1 * m[k] + (1 - beta1) * grad[k]",
    "v[k] = beta2 * v[k] + (1 - beta2) * grad[k]^2",
    NULL,
};

const FunctionSpec optim_specs[] = {
    {"sgd_momentum_step", "optim", SGD_CASES, sgd_case, NULL, sgd_mistakes,
     sizeof sgd_mistakes / sizeof sgd_mistakes[0], sgd_momentum_step_formulas},
    {"adam_step", "optim", ADAM_CASES, adam_case, NULL, adam_mistakes,
     sizeof adam_mistakes / sizeof adam_mistakes[0], adam_step_formulas},
    {NULL, NULL, 0, NULL, NULL, NULL, 0, NULL},
};
