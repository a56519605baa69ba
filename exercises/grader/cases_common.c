/* cases_common.c: building a case, argument by argument. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gradcheck.h"
#include "grader.h"

static size_t product(int ndim, const int *dims)
{
    size_t size = 1;
    for (int d = 0; d < ndim; d++) size *= (size_t)dims[d];
    return size;
}

Arg *case_array(Case *c, const char *name, const char *axes, Role role, int ndim, const int *dims)
{
    assert(c->n_args < MAX_ARGS && ndim >= 1 && ndim <= 4);
    Arg *a = &c->args[c->n_args++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->axes, sizeof a->axes, "%s", axes);
    a->role = role;
    a->ndim = ndim;
    memcpy(a->dims, dims, (size_t)ndim * sizeof *dims);
    a->size = product(ndim, dims);
    a->value = xcalloc(a->size + 1, sizeof(double));
    if (role != ROLE_IN) a->expected = xcalloc(a->size + 1, sizeof(double));
    a->got = xcalloc(a->size + 1, sizeof(double));
    return a;
}

Arg *case_int_array(Case *c, const char *name, size_t size)
{
    assert(c->n_args < MAX_ARGS);
    Arg *a = &c->args[c->n_args++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->axes, sizeof a->axes, "i");
    a->role = ROLE_IN;
    a->is_int = 1;
    a->ndim = 1;
    a->dims[0] = (int)size;
    a->size = size;
    a->ivalue = xcalloc(size + 1, sizeof(int));
    a->got_int = xcalloc(size + 1, sizeof(int));
    return a;
}

Arg *case_return(Case *c, const char *name)
{
    const int one[1] = {1};
    Arg *a = case_array(c, name, "i", ROLE_OUT, 1, one);
    a->is_return = 1;
    c->has_return = 1;
    return a;
}

void case_ints(Case *c, int count, const int *values)
{
    for (int i = 0; i < count; i++) {
        assert(c->n_ints < MAX_INTS);
        c->ints[c->n_ints++] = values[i];
    }
}

void case_real(Case *c, double value)
{
    assert(c->n_reals < MAX_REALS);
    c->reals[c->n_reals++] = value;
}

void case_factor(Case *c, double value, const char *fmt, ...)
{
    if (c->n_factors >= MAX_FACTORS || !(value != 0 && isfinite(value))) return;
    Factor *f = &c->factors[c->n_factors++];
    f->value = value;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->name, sizeof f->name, fmt, ap);
    va_end(ap);
}

void case_describe(Case *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->what, sizeof c->what, fmt, ap);
    va_end(ap);
}

void case_windows(Case *c, int N, int C, int H, int W, int kH, int kW, int stride, int pad)
{
    c->has_windows = 1;
    c->N = N;
    c->C = C;
    c->H = H;
    c->W = W;
    c->kH = kH;
    c->kW = kW;
    c->stride = stride;
    c->pad = pad;
    c->out_h = (H + 2 * pad - kH) / stride + 1;
    c->out_w = (W + 2 * pad - kW) / stride + 1;
    if (stride > 1) c->tags |= TAG_STRIDE;
    if (pad > 0) c->tags |= TAG_PAD;
    if (kH != kW) c->tags |= TAG_NONSQUARE;
    if (H != W) c->tags |= TAG_NONSQUARE_IMAGE;
    if (N > 1) c->tags |= TAG_BATCH;
    if (C > 1) c->tags |= TAG_CHANNELS;
    if ((kH > stride && c->out_h > 1) || (kW > stride && c->out_w > 1)) c->tags |= TAG_OVERLAP;
}

void case_free(Case *c)
{
    for (int a = 0; a < c->n_args; a++) {
        free(c->args[a].value);
        free(c->args[a].ivalue);
        free(c->args[a].expected);
        free(c->args[a].got);
        free(c->args[a].got_int);
    }
    memset(c, 0, sizeof *c);
}

void fill_normal(double *x, size_t n, double scale, Rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = scale * rng_normal(rng);
}

/* Values between 100 and 200 with a fraction: nothing a correct answer
 * would contain, and different in every entry. */
void fill_garbage(Arg *a, Rng *rng)
{
    for (size_t i = 0; i < a->size; i++)
        a->value[i] = 100 + floor(rng_uniform(rng) * 1000) / 10 + 0.0625;
}

void fill_distinct(double *x, size_t n, double spacing, Rng *rng)
{
    int *order = xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = (int)i;
    rng_shuffle(rng, order, (int)n);
    /* a ladder ..., -1.5s, -0.5s, 0.5s, 1.5s, ... (for an odd count,
     * ..., -s, 0, s, ...) scaled so it spans about [-2, 2], each rung
     * jittered by less than a fifth of the step */
    double step = fmax(spacing, 4.0 / (double)(n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        double rung = ((double)order[i] - (double)n / 2 + 0.5) * step;
        x[i] = rung + (rng_uniform(rng) - 0.5) * step * 0.4;
    }
    free(order);
}

void expect_copy_of_value(Arg *a)
{
    memcpy(a->expected, a->value, a->size * sizeof(double));
}

const char *shape_text(const Arg *a, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < a->ndim && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%d%s", a->dims[d],
                                 a->ndim == 1      ? ",)"
                                 : d + 1 < a->ndim ? ", "
                                                   : ")");
    return buf;
}

Tensor tensor_view(double *data, int ndim, const int *dims)
{
    Tensor t = {.ndim = ndim, .data = data, .size = 1};
    for (int d = 0; d < ndim; d++) {
        t.dim[d] = dims[d];
        t.size *= (size_t)dims[d];
    }
    t.capacity = t.size;
    return t;
}

double layer_numeric_error(Layer *layer, double *x, int ndim, const int *x_dims,
                           Tensor *value_or_x, const double *dout, const double *analytic,
                           const char *name)
{
    Tensor tx = tensor_view(x, ndim, x_dims);
    Tensor *out = tensor_new2(1, 1);
    layer_forward(layer, &tx, out);
    Tensor td = tensor_view((double *)dout, out->ndim, out->dim);
    Tensor *value = value_or_x ? value_or_x : &tx;
    Tensor ta = tensor_view((double *)analytic, value->ndim, value->dim);
    GradcheckRow row = gradcheck_layer_tensor(layer, &tx, value, &td, &ta, name);
    tensor_free(out);
    return row.max_rel_error;
}
