/* gradcheck: proves each layer's backward pass right, numerically.
 *
 *   ./gradcheck conv|relu|maxpool|avgpool|fc|softmax|net|all [options]
 *
 * Prints one row per checked tensor and exits 0 only if every row passes
 * (max relative error < 1e-7 in double precision). */
#include <errno.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "conv.h"
#include "fc.h"
#include "gradcheck.h"
#include "pool.h"
#include "relu.h"

typedef struct {
    unsigned long long seed;
    int kernel_h, kernel_w, stride, pad; /* -1: the layer's default */
} Options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gradcheck LAYER [--seed N] [--kernel K|KHxKW] [--stride S] [--pad P]\n"
            "\n"
            "Checks a layer's backward pass against centred differences (h = %.0e, double\n"
            "precision) and prints, per gradient tensor, the max relative error\n"
            "|analytic - numerical| / max(|analytic|, |numerical|). A row passes below %.0e.\n"
            "\n"
            "LAYER:\n"
            "  conv      convolution, x (2, 3, 9, 9), 4 filters (default 3x3, stride 1, pad 1)\n"
            "  relu      ReLU on (2, 3, 5, 5), inputs at least 1e-3 from 0\n"
            "  maxpool   max-pool on (2, 3, 8, 8) (default 2x2, stride 2, pad 0), no near-ties\n"
            "  avgpool   average pool on (2, 3, 8, 8) (default 2x2, stride 2, pad 0)\n"
            "  fc        fully connected, x (3, 2, 3, 4) flattened to 24 -> 5\n"
            "  softmax   softmax cross-entropy on scores (6, 7)\n"
            "  net       the whole emotion CNN (conv relu pool conv relu pool fc relu fc) on\n"
            "            8x8 images with widths 3, 4, 10 and batch 2, from random dscores\n"
            "  all       every one of the above\n"
            "\n"
            "options:\n"
            "  --seed N          random seed for inputs, weights and dout (default 1)\n"
            "  --kernel K        kernel size for conv/maxpool/avgpool: 3, or 3x5 (height x width)\n"
            "  --stride S        stride for conv/maxpool/avgpool\n"
            "  --pad P           zero padding for conv/maxpool/avgpool\n"
            "  -h, --help        this text\n"
            "\n"
            "Exit status: 0 if every row passes, 1 if any fails, 2 on bad usage.\n",
            GRADCHECK_STEP, GRADCHECK_THRESHOLD);
}

static int parse_int(const char *text, const char *flag, int min, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > INT_MAX) {
        fprintf(stderr, "gradcheck: %s needs a whole number >= %d, got '%s'\n", flag, min, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_kernel(const char *text, Options *o)
{
    char *x = strchr(text, 'x');
    if (!x) {
        if (parse_int(text, "--kernel", 1, &o->kernel_h)) return -1;
        o->kernel_w = o->kernel_h;
        return 0;
    }
    char height[32];
    size_t len = (size_t)(x - text);
    if (len == 0 || len >= sizeof height) {
        fprintf(stderr, "gradcheck: --kernel needs K or KHxKW, got '%s'\n", text);
        return -1;
    }
    memcpy(height, text, len);
    height[len] = 0;
    return parse_int(height, "--kernel", 1, &o->kernel_h) || parse_int(x + 1, "--kernel", 1, &o->kernel_w);
}

static int or_default(int value, int fallback) { return value >= 0 ? value : fallback; }

/* Prints the rows (after the header, the first time); returns the failures. */
static int report(const GradcheckRow *rows, int count)
{
    static int header_printed;
    if (!header_printed) {
        gradcheck_print_header();
        header_printed = 1;
    }
    int failures = 0;
    for (int i = 0; i < count; i++) {
        gradcheck_print_row(&rows[i]);
        failures += !rows[i].pass;
    }
    return failures;
}

static int check_layer(Layer *layer, Tensor *x, Rng *rng)
{
    GradcheckRow rows[1 + LAYER_MAX_PARAMS];
    int count = gradcheck_layer(layer, x, rng, rows, 1 + LAYER_MAX_PARAMS);
    int failures = report(rows, count);
    layer_free(layer);
    tensor_free(x);
    return failures;
}

/* The layer's input shape must suit its kernel; say so clearly if not. */
static int check_shape(Layer *layer, const Tensor *x)
{
    int ndim, dims[TENSOR_MAX_DIMS];
    Error err;
    if (layer_output_shape(layer, x->ndim, x->dim, &ndim, dims, &err) != 0) {
        char shape[64];
        fprintf(stderr, "gradcheck: %s on input %s: %s\n", layer->ops->kind,
                tensor_shape_string(x, shape, sizeof shape), err.msg);
        return -1;
    }
    return 0;
}

static int run_conv(const Options *o, Rng *rng)
{
    Error err;
    Layer *conv = conv_create(3, 4, or_default(o->kernel_h, 3), or_default(o->kernel_w, 3),
                              or_default(o->stride, 1), or_default(o->pad, 1), &err);
    if (!conv) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return -1;
    }
    Tensor *x = tensor_new4(2, 3, 9, 9);
    if (check_shape(conv, x)) {
        layer_free(conv);
        tensor_free(x);
        return -1;
    }
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_normal(rng);
    ConvLayer *c = (ConvLayer *)conv;
    for (size_t i = 0; i < c->w->size; i++) c->w->data[i] = (real)(0.3 * rng_normal(rng));
    for (size_t i = 0; i < c->b->size; i++) c->b->data[i] = (real)(0.1 * rng_normal(rng));
    return check_layer(conv, x, rng);
}

static int run_relu(Rng *rng)
{
    Tensor *x = tensor_new4(2, 3, 5, 5);
    gradcheck_fill_away_from_zero(x, 1e-3, rng);
    return check_layer(relu_create(), x, rng);
}

static int run_pool(const Options *o, Rng *rng, int max)
{
    Error err;
    int kh = or_default(o->kernel_h, 2), kw = or_default(o->kernel_w, 2);
    int stride = or_default(o->stride, 2), pad = or_default(o->pad, 0);
    Layer *pool = max ? maxpool_create(kh, kw, stride, pad, &err) : avgpool_create(kh, kw, stride, pad, &err);
    if (!pool) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return -1;
    }
    Tensor *x = tensor_new4(2, 3, 8, 8);
    if (check_shape(pool, x)) {
        layer_free(pool);
        tensor_free(x);
        return -1;
    }
    gradcheck_fill_distinct(x, 1e-2, rng); /* neighbours >= 7.5e-3 apart: no near-ties */
    return check_layer(pool, x, rng);
}

static int run_fc(Rng *rng)
{
    Error err;
    Layer *fc = fc_create(24, 5, &err);
    Tensor *x = tensor_new4(3, 2, 3, 4);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_normal(rng);
    FcLayer *f = (FcLayer *)fc;
    for (size_t i = 0; i < f->w->size; i++) f->w->data[i] = (real)(0.3 * rng_normal(rng));
    for (size_t i = 0; i < f->b->size; i++) f->b->data[i] = (real)(0.1 * rng_normal(rng));
    return check_layer(fc, x, rng);
}

static int run_softmax(Rng *rng)
{
    Tensor *scores = tensor_new2(6, 7);
    int labels[6];
    for (size_t i = 0; i < scores->size; i++) scores->data[i] = (real)(1.0 * rng_normal(rng));
    for (int i = 0; i < 6; i++) labels[i] = (int)rng_below(rng, 7);
    GradcheckRow row = gradcheck_softmax_xent(scores, labels);
    tensor_free(scores);
    return report(&row, 1);
}

/* The emotion CNN's layers, in order, at a size a check can afford: 8x8
 * images, widths 3, 4 and 10, batch 2 (the 48x48 network has 2.4 million
 * parameters, each needing two forward passes). */
#define NET_SIDE 8
#define NET_C1 3
#define NET_C2 4
#define NET_H 10

static int run_net(Rng *rng)
{
    Error err;
    char text[256];
    snprintf(text, sizeof text, "conv %d 3x3 pad 1, relu, maxpool 2, conv %d 3x3 pad 1, relu, "
             "maxpool 2, fc %d, relu, fc 7", NET_C1, NET_C2, NET_H);
    Network *net = arch_build_text(text, "net", 1, NET_SIDE, NET_SIDE, 7, &err);
    if (!net) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return -1;
    }
    Tensor *x = tensor_new4(2, 1, NET_SIDE, NET_SIDE);
    Tensor *dscores = tensor_new2(2, 7);
    /* Draw weights, images and dscores until the check is well posed: no ReLU
     * input within 1e-3 of its kink, no max-pool window with a near-tie, and
     * no gradient entry too small for double precision to resolve. */
    if (gradcheck_draw_network_case(net, x, 1, dscores, rng, 10000) < 0) {
        fprintf(stderr, "gradcheck: could not draw a well-posed network check\n");
        network_free(net);
        tensor_free(x);
        tensor_free(dscores);
        return -1;
    }
    int max_rows = 1 + network_num_params(net);
    GradcheckRow *rows = xcalloc((size_t)max_rows, sizeof *rows);
    int count = gradcheck_network(net, x, dscores, rows, max_rows);
    int failures = report(rows, count);
    free(rows);
    network_free(net);
    tensor_free(x);
    tensor_free(dscores);
    return failures;
}

/* Runs one check; returns its number of failing rows, or -1 when the
 * configuration itself is impossible (the message is already printed). */
static int run(const char *name, const Options *o)
{
    Rng rng;
    rng_seed(&rng, o->seed);
    if (!strcmp(name, "conv")) return run_conv(o, &rng);
    if (!strcmp(name, "relu")) return run_relu(&rng);
    if (!strcmp(name, "maxpool")) return run_pool(o, &rng, 1);
    if (!strcmp(name, "avgpool")) return run_pool(o, &rng, 0);
    if (!strcmp(name, "fc")) return run_fc(&rng);
    if (!strcmp(name, "softmax")) return run_softmax(&rng);
    if (!strcmp(name, "net")) return run_net(&rng);
    return -2;
}

int main(int argc, char **argv)
{
    static const char *const all[] = {"conv", "relu", "maxpool", "avgpool", "fc", "softmax", "net"};
    Options o = {.seed = 1, .kernel_h = -1, .kernel_w = -1, .stride = -1, .pad = -1};
    const char *name = NULL;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        int takes_value = !strcmp(arg, "--seed") || !strcmp(arg, "--kernel") ||
                          !strcmp(arg, "--stride") || !strcmp(arg, "--pad");
        if (takes_value && i + 1 >= argc) {
            fprintf(stderr, "gradcheck: %s needs a value\n\n", arg);
            usage(stderr);
            return 2;
        }
        int bad = 0;
        if (!strcmp(arg, "--seed")) {
            char *end;
            errno = 0;
            o.seed = strtoull(argv[++i], &end, 10);
            bad = errno || *end || end == argv[i] || argv[i][0] == '-';
            if (bad) fprintf(stderr, "gradcheck: --seed needs a non-negative whole number, got '%s'\n", argv[i]);
        } else if (!strcmp(arg, "--kernel")) {
            bad = parse_kernel(argv[++i], &o);
        } else if (!strcmp(arg, "--stride")) {
            bad = parse_int(argv[++i], "--stride", 1, &o.stride);
        } else if (!strcmp(arg, "--pad")) {
            bad = parse_int(argv[++i], "--pad", 0, &o.pad);
        } else if (arg[0] == '-') {
            fprintf(stderr, "gradcheck: unknown option '%s'\n", arg);
            bad = 1;
        } else if (name) {
            fprintf(stderr, "gradcheck: one layer at a time ('%s' and '%s')\n", name, arg);
            bad = 1;
        } else {
            name = arg;
        }
        if (bad) {
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }
    }
    if (!name) {
        fprintf(stderr, "gradcheck: which layer? (or 'all')\n\n");
        usage(stderr);
        return 2;
    }

    int is_all = !strcmp(name, "all"), known = is_all;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) known |= !strcmp(name, all[k]);
    if (!known) {
        fprintf(stderr, "gradcheck: unknown layer '%s'\n\n", name);
        usage(stderr);
        return 2;
    }

    /* One thread: a check is thousands of tiny forward passes, where thread
     * start-up costs more than it saves, and one thread makes the printed
     * errors repeat to the last digit on any machine of the same kind. */
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    int failures = 0;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        if (!is_all && strcmp(name, all[k])) continue;
        int result = run(all[k], &o);
        if (result < 0) return 2; /* an impossible configuration, already explained */
        failures += result;
    }
    printf("%s: %s\n", name, failures ? "FAIL" : "every gradient within 1e-7");
    return failures ? 1 : 0;
}
