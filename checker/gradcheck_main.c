/* gradcheck: proves each layer's backward pass right, numerically.
 *
 *   ./gradcheck conv|relu|maxpool|avgpool|fc|softmax|batchnorm|dropout|crop|net|all
 *               [options]
 *
 * Prints what it checks (shapes, kernel, stride, pad; for a network its
 * description), then one row per checked tensor, and exits 0 only if every
 * row passes (max relative error < 1e-7 in double precision), 1 if any
 * fails, 2 on bad usage. */
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "args.h"
#include "batchnorm.h"
#include "conv.h"
#include "crop.h"
#include "dropout.h"
#include "fc.h"
#include "files.h"
#include "gradcheck.h"
#include "pool.h"
#include "relu.h"

/* What a check can afford. Every checked number costs two forward passes,
 * so sizes are capped where a check still takes seconds, and an absurd
 * value is refused before anything is allocated or computed:
 * - a kernel side, a stride or a pad of at most 64;
 * - a network input of at most 3 channels of 64x64;
 * - a check, of a layer or of a network, that needs at most
 *   GRADCHECK_MAX_WORK floating-point operations (about 15 s here; see
 *   check_work): a 64x64 kernel with a pad of 64 passes the first cap but
 *   would take hours;
 * - a network of at most GRADCHECK_MAX_PARAMS parameters and no activation
 *   over GRADCHECK_MAX_ACTIVATION values per item. */
#define MAX_WINDOW 64
#define MAX_CHANNELS 3
#define MAX_SIDE 64
#define GRADCHECK_MAX_WORK 5e10
#define GRADCHECK_MAX_PARAMS 1e6
#define GRADCHECK_MAX_ACTIVATION 262144.0

/* The network check: a batch of 2 at a small input (4 when the network has
 * a batchnorm: a feature normalised over only 2 values is always -1 and +1,
 * whatever came before, which leaves nothing below it to check). Without --arch or
 * --model it checks the seed's network (arch_emotion_text) at small widths:
 * convolutions of 3, 4, ... filters, hidden fully connected layers of 10,
 * the last layer unchanged (its width is the class count, 7). The 48x48
 * network has 2.4 million parameters, each needing two forward passes. */
#define NET_BATCH 2
#define NET_BATCH_WITH_BATCHNORM 4
static int net_batch = NET_BATCH; /* the batch of this run's network check */
#define NET_CHANNELS 1
#define NET_SIDE 8
#define NET_FIRST_CONV_WIDTH 3
#define NET_HIDDEN_WIDTH 10

/* Draws of weights, inputs, dscores and labels until the check is well
 * posed. The seed's network needs tens; each costs about four forward
 * passes of the batch, counted in the work a check may take. */
#define NET_MAX_DRAWS 1000

/* The options, and which checks take them. */
enum {
    OPT_KERNEL = 1 << 0,
    OPT_STRIDE = 1 << 1,
    OPT_PAD = 1 << 2,
    OPT_INPUT = 1 << 3,
    OPT_ARCH = 1 << 4,
    OPT_MODEL = 1 << 5,
};

static const struct {
    const char *flag;
    int bit;
} option_flags[] = {
    {"--kernel", OPT_KERNEL}, {"--stride", OPT_STRIDE}, {"--pad", OPT_PAD},
    {"--input", OPT_INPUT},   {"--arch", OPT_ARCH},     {"--model", OPT_MODEL},
};

#define WINDOW_OPTIONS (OPT_KERNEL | OPT_STRIDE | OPT_PAD)

static const struct {
    const char *name;
    int takes; /* the options this check accepts (besides --seed) */
} checks[] = {
    {"conv", WINDOW_OPTIONS},
    {"relu", 0},
    {"maxpool", WINDOW_OPTIONS},
    {"avgpool", WINDOW_OPTIONS},
    {"fc", 0},
    {"softmax", 0},
    {"batchnorm", 0},
    {"dropout", 0},
    {"crop", 0},
    {"net", OPT_INPUT | OPT_ARCH | OPT_MODEL},
};
#define NUM_CHECKS (int)(sizeof checks / sizeof checks[0])

typedef struct {
    uint64_t seed;
    int given;                           /* OPT_* bits of the options on the command line */
    int kernel_h, kernel_w, stride, pad; /* -1: the layer's default */
    int channels, height, width;         /* net's input (C, H, W) */
    const char *arch_text;               /* --arch */
    const char *model_path;              /* --model */
} Options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gradcheck LAYER [--seed N] [--kernel K|KHxKW] [--stride S] [--pad P]\n"
            "       gradcheck net [--arch \"DESCRIPTION\" | --model FILE.net] [--input CxHxW]\n"
            "                     [--seed N]\n"
            "\n"
            "Checks backward passes against centred differences (h = %.0e, double\n"
            "precision) and prints, per gradient tensor, the max relative error\n"
            "|analytic - numerical| / max(|analytic|, |numerical|). A row passes below %.0e.\n"
            "Before the rows it prints what it checks: the input shape, and the kernel,\n"
            "stride and pad where they apply; for net the description, input, batch, classes.\n"
            "\n"
            "LAYER:\n"
            "  conv      convolution, x (2, 3, 9, 9), 4 filters (default 3x3, stride 1,\n"
            "            pad 1); through Winograd's transforms, a network checks it:\n"
            "            net --arch \"conv 4 3x3 pad 1 winograd, fc 3\"\n"
            "  relu      ReLU on (2, 3, 5, 5), inputs at least 1e-3 from 0\n"
            "  maxpool   max-pool on (2, 3, 8, 8) (default 2x2, stride 2, pad 0), no\n"
            "            near-ties\n"
            "  avgpool   average pool on (2, 3, 8, 8) (default 2x2, stride 2, pad 0)\n"
            "  fc        fully connected, x (3, 2, 3, 4) flattened to 24 -> 5\n"
            "  softmax   softmax cross-entropy on scores (6, 7)\n"
            "  batchnorm batchnorm over (2, 3, 4, 5) per channel and (6, 3) per feature, each\n"
            "            in training mode and in evaluation mode\n"
            "  dropout   dropout p 0.4 on (2, 3, 4, 4), training mode, the mask held fixed\n"
            "  crop      a 4x3 crop of (3, 2, 7, 6): training mode (random windows, held\n"
            "            fixed) and evaluation mode (the central window)\n"
            "  net       a whole network, batch %d (%d with a batchnorm), input %dx%dx%d unless\n"
            "            --input says otherwise:\n"
            "            - dx and every parameter, from the scores down:\n"
            "              L = sum(scores * dscores) with a random dscores (rows 'net dx',\n"
            "              'net conv1.w', ...);\n"
            "            - the loss on top: d loss / d scores, the loss being network_loss\n"
            "              (the mean cross-entropy training minimises) at random labels, and\n"
            "              the analytic side what network_loss_backward computes (row\n"
            "              'loss dscores').\n"
            "            The network is the description in --arch or --model; without them,\n"
            "            the seed's emotion CNN (conv relu maxpool conv relu maxpool fc relu\n"
            "            fc) with widths 3, 4 and 10. The class count is the number of scores\n"
            "            the last layer gives (the seed's: 7). Layers run in training mode:\n"
            "            batchnorm on the batch's statistics, dropout with one mask and crop\n"
            "            with one set of windows for the whole check. Weights (He), inputs,\n"
            "            dscores and labels are drawn again, up to %d times, until no\n"
            "            layer's input is within 1e-3 of a kink, no gradient is zero, and\n"
            "            none is too small for rounding to let it be judged (README:\n"
            "            \"Gradients too small to resolve\"); an entry below 1e-3 of its\n"
            "            tensor's largest is judged against that floor. Only small networks\n"
            "            get there (ReLUs over many thousands of inputs always have one\n"
            "            near 0).\n"
            "  all       every one of the above (net: the seed's); takes --seed only\n"
            "\n"
            "options:\n"
            "  --seed N          random seed for inputs, weights, labels and dout (default 1)\n"
            "  --kernel K        conv, maxpool, avgpool: kernel 3, or 3x5 (height x width)\n"
            "  --stride S        conv, maxpool, avgpool: stride\n"
            "  --pad P           conv, maxpool, avgpool: zero padding\n"
            "  --arch TEXT       net: the network as a description, layers separated by\n"
            "                    commas, e.g. \"conv 4 5x5 stride 2, relu, avgpool 2, fc 3\"\n"
            "  --model FILE      net: the description in a file (models/*.net)\n"
            "  --input CxHxW     net: the shape of one input item (default %dx%dx%d)\n"
            "  -h, --help        this text\n"
            "An option a check does not take is an error.\n"
            "\n"
            "Sizes a check can afford: kernel, stride and pad at most %d; --input at most\n"
            "%dx%dx%d; for net at most %.0e parameters and %.0f values per item in any\n"
            "activation; for every check, at most %.0e floating-point operations in all\n"
            "(two forward passes per checked number, and the draws before them), which\n"
            "also bounds a large kernel with a large pad. Larger ones are refused.\n"
            "\n"
            "Exit status: 0 if every row passes, 1 if any fails, 2 on bad usage (a bad or\n"
            "inapplicable option, an unreadable or invalid description, a size a check\n"
            "cannot afford, a network no draw could pose well).\n",
            GRADCHECK_STEP, GRADCHECK_THRESHOLD, NET_BATCH, NET_BATCH_WITH_BATCHNORM, NET_CHANNELS,
            NET_SIDE, NET_SIDE,
            NET_MAX_DRAWS, NET_CHANNELS, NET_SIDE, NET_SIDE, MAX_WINDOW, MAX_CHANNELS, MAX_SIDE,
            MAX_SIDE, GRADCHECK_MAX_PARAMS, GRADCHECK_MAX_ACTIVATION, GRADCHECK_MAX_WORK);
}

/* --input CxHxW: three whole numbers within the caps. */
static int parse_input(const char *text, Options *o)
{
    int dims[3];
    if (arg_shape3("gradcheck", "--input", text, MAX_SIDE, dims) != 0) return -1;
    if (dims[0] > MAX_CHANNELS) {
        fprintf(stderr, "gradcheck: --input %s has %d channels; a check affords at most %d\n", text,
                dims[0], MAX_CHANNELS);
        return -1;
    }
    o->channels = dims[0];
    o->height = dims[1];
    o->width = dims[2];
    return 0;
}

static int or_default(int value, int fallback) { return value >= 0 ? value : fallback; }

static void print_echo_shape(const char *name, const char *what, const Tensor *t)
{
    char shape[64];
    printf("%s: %s %s", name, what, tensor_shape_string(t, shape, sizeof shape));
}

/* Prints the rows after the header; returns the failures. */
static int report(const GradcheckRow *rows, int count)
{
    gradcheck_print_header();
    int failures = 0;
    for (int i = 0; i < count; i++) {
        gradcheck_print_row(&rows[i]);
        failures += !rows[i].pass;
    }
    return failures;
}

/* Weights ~ N(0, 0.3^2), every other parameter (biases) ~ N(0, 0.1^2): not
 * zero, so the check is not at the special point b = 0. */
static void fill_params(Layer *layer, Rng *rng)
{
    for (int p = 0; p < layer->num_params; p++) {
        Tensor *value = layer->params[p].value;
        double scale = layer->params[p].init == PARAM_INIT_HE ? 0.3 : 0.1;
        for (size_t i = 0; i < value->size; i++) value->data[i] = (real)(scale * rng_normal(rng));
    }
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

/* The one rule for what a check costs, a layer's or a network's, in
 * floating-point operations: two forward passes (of forward_flops each) for
 * every one of the `checked` numbers, and before them up to `draws` draws
 * of the case, draw_flops each. */
static double check_work(double checked, double forward_flops, double draws, double draw_flops)
{
    return 2 * checked * forward_flops + draws * draw_flops;
}

/* Refuses a check too large to run, in one form for every check:
 *   gradcheck: WHAT is too large to check:
 *     [SIZES,]
 *     WORK operations for the check (at most 5e+10); use ADVICE
 * sizes (may be NULL) names other limits the check went over. */
static void say_too_large(const char *what, const char *sizes, double work, const char *advice)
{
    fprintf(stderr, "gradcheck: %s is too large to check:\n", what);
    if (sizes) fprintf(stderr, "  %s,\n", sizes);
    fprintf(stderr, "  %.2g operations for the check (at most %.0e); use %s\n", work,
            GRADCHECK_MAX_WORK, advice);
}

/* A layer's check at x must suit the layer's kernel, and be affordable:
 * checking dx and every parameter (gradcheck_layer), after up to
 * GRADCHECK_LAYER_MAX_DRAWS draws of dout, each a backward pass. Says
 * clearly what is wrong if not; `echo` describes the configuration. */
static int check_fits(Layer *layer, const Tensor *x, const char *echo)
{
    int ndim, dims[TENSOR_MAX_DIMS];
    Error err;
    char shape[64];
    tensor_shape_string(x, shape, sizeof shape);
    if (layer_output_shape(layer, x->ndim, x->dim, &ndim, dims, &err) != 0) {
        fprintf(stderr, "gradcheck: %s on input %s: %s\n", layer->ops->kind, shape, err.msg);
        return -1;
    }
    const LayerOps *ops = layer->ops;
    double checked = (double)x->size, items = x->dim[0];
    for (int p = 0; p < layer->num_params; p++) checked += (double)layer->params[p].value->size;
    double forward = ops->flops ? items * ops->flops(layer, x->ndim, x->dim) : 0;
    double backward = ops->backward_flops ? items * ops->backward_flops(layer, x->ndim, x->dim, 1) : 0;
    double work = check_work(checked, forward, GRADCHECK_LAYER_MAX_DRAWS, backward);
    if (work > GRADCHECK_MAX_WORK) {
        char what[160];
        snprintf(what, sizeof what, "%s on input %s with %s", ops->kind, shape, echo);
        say_too_large(what, NULL, work, "a smaller --kernel or --pad, or a larger --stride");
        return -1;
    }
    return 0;
}

static int run_conv(const Options *o, Rng *rng)
{
    Error err;
    int kh = or_default(o->kernel_h, 3), kw = or_default(o->kernel_w, 3);
    int stride = or_default(o->stride, 1), pad = or_default(o->pad, 1);
    Layer *conv = conv_create(3, 4, kh, kw, stride, pad, &err);
    if (!conv) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return -1;
    }
    Tensor *x = tensor_new4(2, 3, 9, 9);
    char echo[96];
    snprintf(echo, sizeof echo, "4 filters, kernel %dx%d, stride %d, pad %d", kh, kw, stride, pad);
    if (check_fits(conv, x, echo)) {
        layer_free(conv);
        tensor_free(x);
        return -1;
    }
    print_echo_shape("conv", "input", x);
    printf(", %s\n", echo);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_normal(rng);
    fill_params(conv, rng);
    return check_layer(conv, x, rng);
}

static int run_relu(Rng *rng)
{
    Tensor *x = tensor_new4(2, 3, 5, 5);
    print_echo_shape("relu", "input", x);
    printf(", every value at least 1e-3 from 0\n");
    gradcheck_fill_away_from_zero(x, 1e-3, rng);
    return check_layer(relu_create(), x, rng);
}

static int run_pool(const Options *o, Rng *rng, int max)
{
    Error err;
    const char *name = max ? "maxpool" : "avgpool";
    int kh = or_default(o->kernel_h, 2), kw = or_default(o->kernel_w, 2);
    int stride = or_default(o->stride, 2), pad = or_default(o->pad, 0);
    Layer *pool = max ? maxpool_create(kh, kw, stride, pad, &err) : avgpool_create(kh, kw, stride, pad, &err);
    if (!pool) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return -1;
    }
    Tensor *x = tensor_new4(2, 3, 8, 8);
    char echo[96];
    snprintf(echo, sizeof echo, "kernel %dx%d, stride %d, pad %d", kh, kw, stride, pad);
    if (check_fits(pool, x, echo)) {
        layer_free(pool);
        tensor_free(x);
        return -1;
    }
    print_echo_shape(name, "input", x);
    printf(", %s\n", echo);
    gradcheck_fill_distinct(x, 1e-2, rng); /* neighbours >= 7.5e-3 apart: no near-ties */
    return check_layer(pool, x, rng);
}

static int run_fc(Rng *rng)
{
    Error err;
    Layer *fc = fc_create(24, 5, &err);
    Tensor *x = tensor_new4(3, 2, 3, 4);
    print_echo_shape("fc", "input", x);
    printf(" flattened to (3, 24), 5 outputs\n");
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_normal(rng);
    fill_params(fc, rng);
    return check_layer(fc, x, rng);
}

/* Batchnorm, spatial (after a conv) and per feature (after an fc), each in
 * training mode (every output depends on every input of its channel:
 * the terms through the mean and the variance) and in evaluation mode
 * (the running statistics: a per-channel affine map). */
static int run_batchnorm(Rng *rng)
{
    int failures = 0;
    for (int spatial = 1; spatial >= 0; spatial--)
        for (int mode = LAYER_TRAIN; mode <= LAYER_EVAL; mode++) {
            Error err;
            Layer *bn = batchnorm_create(3, &err);
            BatchnormLayer *b = (BatchnormLayer *)bn;
            Tensor *x = spatial ? tensor_new4(2, 3, 4, 5) : tensor_new2(6, 3);
            print_echo_shape("batchnorm", "input", x);
            printf(", %s, %s mode\n", spatial ? "per channel over (N, H, W)" : "per feature over N",
                   mode == LAYER_TRAIN ? "training (the batch's statistics)"
                                       : "evaluation (the running statistics)");
            bn->mode = (LayerMode)mode;
            for (int c = 0; c < 3; c++) {
                b->gamma->data[c] = (real)(1 + 0.3 * rng_normal(rng));
                b->beta->data[c] = (real)(0.2 * rng_normal(rng));
                b->running_mean->data[c] = (real)(0.1 * rng_normal(rng));
                b->running_var->data[c] = (real)(0.5 + rng_uniform(rng));
            }
            for (size_t i = 0; i < x->size; i++) x->data[i] = (real)(1 + rng_normal(rng));
            failures += check_layer(bn, x, rng);
        }
    return failures;
}

/* Dropout p = 0.4 in training mode, its mask held fixed by one noise key. */
static int run_dropout(Rng *rng)
{
    Error err;
    Layer *drop = dropout_create(0.4, &err);
    drop->noise_key = rng_next(rng);
    Tensor *x = tensor_new4(2, 3, 4, 4);
    print_echo_shape("dropout", "input", x);
    printf(", p 0.4, training mode, one mask for the whole check\n");
    for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_normal(rng);
    return check_layer(drop, x, rng);
}

/* A 4x3 crop of 7x6 images, in training mode (each image's window drawn
 * from one noise key, held for the whole check) and in evaluation mode. */
static int run_crop(Rng *rng)
{
    Error err;
    int failures = 0;
    for (int mode = LAYER_TRAIN; mode <= LAYER_EVAL; mode++) {
        Layer *crop = crop_create(4, 3, &err);
        crop->noise_key = rng_next(rng);
        crop->mode = (LayerMode)mode;
        Tensor *x = tensor_new4(3, 2, 7, 6);
        print_echo_shape("crop", "input", x);
        printf(", a 4x3 window, %s\n", mode == LAYER_TRAIN ? "training mode (random windows, held)"
                                                           : "evaluation mode (the central window)");
        for (size_t i = 0; i < x->size; i++) x->data[i] = (real)rng_normal(rng);
        failures += check_layer(crop, x, rng);
    }
    return failures;
}

static int run_softmax(Rng *rng)
{
    Tensor *scores = tensor_new2(6, 7);
    int labels[6];
    print_echo_shape("softmax", "scores", scores);
    printf(", 7 classes, random labels\n");
    for (size_t i = 0; i < scores->size; i++) scores->data[i] = (real)(1.0 * rng_normal(rng));
    for (int i = 0; i < 6; i++) labels[i] = (int)rng_below(rng, 7);
    GradcheckRow row = gradcheck_softmax_xent(scores, labels);
    tensor_free(scores);
    return report(&row, 1);
}

/* ---- net ---------------------------------------------------------------- */

/* A description from a file, read whole. Returns NULL with a message. */
static char *read_description(const char *path)
{
    Error err;
    char *text = read_text_file(path, 1 << 16, &err);
    if (!text) fprintf(stderr, "gradcheck: --model %s\n", err.msg);
    return text;
}

/* The seed's network at widths a check can afford: the k-th convolution
 * gets NET_FIRST_CONV_WIDTH + k filters, every fully connected layer but
 * the last NET_HIDDEN_WIDTH outputs; the last layer keeps its width, the
 * class count. */
static int seed_arch(Arch *arch)
{
    Error err;
    if (arch_parse(arch_emotion_text, "the seed's description", arch, &err) != 0) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return -1;
    }
    int convs = 0;
    for (int i = 0; i < arch->count - 1; i++) {
        ArchLayer *layer = &arch->layers[i];
        if (layer->kind == ARCH_CONV) layer->width = NET_FIRST_CONV_WIDTH + convs++;
        if (layer->kind == ARCH_FC) layer->width = NET_HIDDEN_WIDTH;
    }
    return 0;
}

/* What checking a network costs, per item: the parameters, the forward
 * floating-point operations, the largest activation and the scores (the
 * class count). */
typedef struct {
    double params, flops, largest_activation, scores;
} CheckCost;

/* The cost walked through a description's shapes before anything is
 * built, so that an absurd description is refused before it is allocated.
 * Returns -1 at the first layer whose shape does not fit (arch_build then
 * says why), with that layer's parameters counted: building it allocates
 * them before the shape is refused. */
static int walk_cost(const Arch *arch, int channels, int height, int width, CheckCost *cost)
{
    double C = channels, H = height, W = width;
    int flat = 0; /* after a fully connected layer an item is (C,) */
    *cost = (CheckCost){.largest_activation = C * H * W};
    for (int i = 0; i < arch->count; i++) {
        const ArchLayer *layer = &arch->layers[i];
        const double in_size = C * H * W, window = (double)layer->kernel_h * layer->kernel_w;
        switch (layer->kind) {
        case ARCH_FC:
            cost->params += in_size * layer->width + (layer->no_bias ? 0 : layer->width);
            cost->flops += 2 * in_size * layer->width;
            C = layer->width;
            H = W = 1;
            flat = 1;
            break;
        case ARCH_CONV:
        case ARCH_MAXPOOL:
        case ARCH_AVGPOOL: {
            if (layer->kind == ARCH_CONV)
                cost->params += layer->width * C * window + (layer->no_bias ? 0 : layer->width);
            double padded_h = H + 2.0 * layer->pad, padded_w = W + 2.0 * layer->pad;
            if (flat || padded_h < layer->kernel_h || padded_w < layer->kernel_w || layer->stride < 1)
                return -1;
            double out_h = (double)(long)((padded_h - layer->kernel_h) / layer->stride) + 1;
            double out_w = (double)(long)((padded_w - layer->kernel_w) / layer->stride) + 1;
            if (layer->kind == ARCH_CONV) {
                cost->flops += 2 * layer->width * C * window * out_h * out_w;
                C = layer->width;
            } else {
                cost->flops += C * window * out_h * out_w;
            }
            H = out_h;
            W = out_w;
            break;
        }
        case ARCH_CROP: /* copies a window: no arithmetic */
            if (flat || H < layer->kernel_h || W < layer->kernel_w) return -1;
            H = layer->kernel_h;
            W = layer->kernel_w;
            break;
        case ARCH_BATCHNORM: /* a scale and a shift per channel */
            cost->params += 2 * C;
            cost->flops += 4 * in_size;
            break;
        default: /* relu, dropout: one operation per value, the shape unchanged */
            cost->flops += in_size;
            break;
        }
        if (C * H * W > cost->largest_activation) cost->largest_activation = C * H * W;
    }
    cost->scores = C * H * W;
    return 0;
}

/* The same, measured on the built network: its parameters, and the
 * operations each layer counts for itself (LayerOps.flops). */
static void network_cost(const Network *net, CheckCost *cost)
{
    int ndim, dims[TENSOR_MAX_DIMS];
    *cost = (CheckCost){.params = (double)network_param_count(net)};
    for (int i = 0; i <= net->num_layers; i++) {
        network_shape_after(net, i, &ndim, dims);
        double size = 1;
        for (int d = 1; d < ndim; d++) size *= dims[d];
        if (size > cost->largest_activation) cost->largest_activation = size;
        cost->scores = size;
        const Layer *layer = i < net->num_layers ? net->layers[i] : NULL;
        if (layer && layer->ops->flops) cost->flops += layer->ops->flops(layer, ndim, dims);
    }
}

/* 0 if a check of this cost is affordable; otherwise says why not. Every
 * input value, parameter and score of the batch is checked, after up to
 * NET_MAX_DRAWS draws of about four forward passes each. */
static int affordable(const char *origin, const Options *o, const CheckCost *cost)
{
    double checked = net_batch * (o->channels * o->height * o->width + cost->scores) + cost->params;
    double forward = net_batch * cost->flops;
    double work = check_work(checked, forward, NET_MAX_DRAWS, 4 * forward);
    if (cost->params <= GRADCHECK_MAX_PARAMS && cost->largest_activation <= GRADCHECK_MAX_ACTIVATION &&
        work <= GRADCHECK_MAX_WORK)
        return 0;
    char what[512], sizes[160];
    snprintf(what, sizeof what, "%s at input %dx%dx%d", origin, o->channels, o->height, o->width);
    snprintf(sizes, sizeof sizes,
             "%.0f parameters (at most %.0f), an activation of %.0f values per item (at most %.0f)",
             cost->params, GRADCHECK_MAX_PARAMS, cost->largest_activation, GRADCHECK_MAX_ACTIVATION);
    say_too_large(what, sizes, work, "narrower layers or a smaller --input");
    return -1;
}

/* Builds the network to check, or prints why not and returns NULL. */
static Network *build_net(const Options *o, char *echo, size_t echo_len, int *classes)
{
    Arch arch;
    Error err;
    const char *origin = "the seed's network at small widths";
    if (o->arch_text) {
        origin = "--arch";
        if (arch_parse(o->arch_text, origin, &arch, &err) != 0) {
            fprintf(stderr, "gradcheck: %s\n", err.msg);
            return NULL;
        }
    } else if (o->model_path) {
        origin = o->model_path;
        char *text = read_description(o->model_path);
        if (!text) return NULL;
        int status = arch_parse(text, origin, &arch, &err);
        free(text);
        if (status != 0) {
            fprintf(stderr, "gradcheck: %s\n", err.msg);
            return NULL;
        }
    } else if (seed_arch(&arch) != 0) {
        return NULL;
    }
    for (int i = 0; i < arch.count; i++)
        if (arch.layers[i].kind == ARCH_BATCHNORM) net_batch = NET_BATCH_WITH_BATCHNORM;

    /* Before building: refuse what would be too large to allocate. */
    CheckCost cost;
    int fits = walk_cost(&arch, o->channels, o->height, o->width, &cost) == 0;
    if (affordable(origin, o, &cost) != 0) return NULL;
    if (fits && cost.scores < 2) {
        fprintf(stderr, "gradcheck: %s gives 1 score per item; the loss needs at least 2 classes\n",
                origin);
        return NULL;
    }
    /* The class count is the number of scores the network gives; if a shape
     * does not fit, arch_build names the layer. */
    *classes = fits ? (int)cost.scores : 2;
    Network *net = arch_build(&arch, origin, o->channels, o->height, o->width, *classes, &err);
    if (!net) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return NULL;
    }
    /* Built: the layers' own counts decide. */
    network_cost(net, &cost);
    if (affordable(origin, o, &cost) != 0) {
        network_free(net);
        return NULL;
    }
    int written = snprintf(echo, echo_len, "net: %s, input %dx%dx%d, batch %d, %d classes, training mode\n",
                           origin, o->channels, o->height, o->width, net_batch, *classes);
    if (written > 0 && (size_t)written < echo_len) {
        /* the canonical description, indented */
        char text[4096];
        arch_format(&arch, text, sizeof text);
        size_t at = (size_t)written;
        for (char *line = strtok(text, "\n"); line && at < echo_len; line = strtok(NULL, "\n")) {
            int n = snprintf(echo + at, echo_len - at, "    %s\n", line);
            if (n < 0) break;
            at += (size_t)n;
        }
    }
    return net;
}

static int run_net(const Options *o, Rng *rng)
{
    char echo[4096];
    int classes;
    Network *net = build_net(o, echo, sizeof echo, &classes);
    if (!net) return -1;
    fputs(echo, stdout);
    fflush(stdout); /* the configuration first, even before a message on stderr */
    /* Dropout masks follow the layers' noise keys, which stay fixed for the
     * whole check: every forward pass drops the same values. */
    network_set_noise(net, rng_next(rng));

    Tensor *x = tensor_new4(net_batch, o->channels, o->height, o->width);
    Tensor *dscores = tensor_new2(net_batch, classes), *loss_dscores = tensor_new2(net_batch, classes);
    int labels[NET_BATCH_WITH_BATCHNORM];
    /* Draw weights, inputs, dscores and labels until the check is well
     * posed: no layer's input within 1e-3 of a kink (a ReLU at 0, a max-pool
     * tie), and no gradient entry too small for double to resolve. */
    int failures = -1;
    if (gradcheck_draw_loss_case(net, x, 1, dscores, labels, rng, NET_MAX_DRAWS) < 0) {
        char why[512];
        gradcheck_network_explain(net, x, dscores, labels, why, sizeof why);
        fprintf(stderr,
                "gradcheck: no well-posed check of this network in %d draws; in the last, %s.\n"
                "  Fewer and smaller tensors (narrower layers, a smaller --input) are easier to pose.\n",
                NET_MAX_DRAWS, why);
    } else {
        int max_rows = 2 + network_num_params(net);
        GradcheckRow *rows = xcalloc((size_t)max_rows, sizeof *rows);
        int count = gradcheck_network(net, x, dscores, rows, max_rows - 1);
        gradcheck_network_loss_dscores(net, x, labels, loss_dscores);
        rows[count++] = gradcheck_network_loss(net, x, labels, loss_dscores);
        failures = report(rows, count);
        free(rows);
    }
    network_free(net);
    tensor_free(x);
    tensor_free(dscores);
    tensor_free(loss_dscores);
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
    if (!strcmp(name, "batchnorm")) return run_batchnorm(&rng);
    if (!strcmp(name, "dropout")) return run_dropout(&rng);
    if (!strcmp(name, "crop")) return run_crop(&rng);
    return run_net(o, &rng);
}

/* Refuses an option the check does not take, naming both. */
static int check_options_taken(const char *name, int takes, int given)
{
    for (size_t k = 0; k < sizeof option_flags / sizeof option_flags[0]; k++) {
        if (!(given & option_flags[k].bit) || (takes & option_flags[k].bit)) continue;
        char takers[128] = "";
        for (int c = 0; c < NUM_CHECKS; c++)
            if (checks[c].takes & option_flags[k].bit) {
                size_t at = strlen(takers);
                snprintf(takers + at, sizeof takers - at, "%s%s", at ? ", " : "", checks[c].name);
            }
        fprintf(stderr, "gradcheck: %s does not take %s (%s %s)\n", name, option_flags[k].flag,
                takers, strchr(takers, ',') ? "do" : "does");
        return -1;
    }
    if ((given & OPT_ARCH) && (given & OPT_MODEL)) {
        fprintf(stderr, "gradcheck: --arch or --model, not both\n");
        return -1;
    }
    return 0;
}

static int parse_option(const char *flag, const char *value, Options *o)
{
    if (!strcmp(flag, "--seed")) return arg_seed("gradcheck", flag, value, &o->seed);
    if (!strcmp(flag, "--kernel"))
        return arg_size2("gradcheck", flag, value, MAX_WINDOW, &o->kernel_h, &o->kernel_w);
    if (!strcmp(flag, "--stride")) return arg_int("gradcheck", flag, value, 1, MAX_WINDOW, &o->stride);
    if (!strcmp(flag, "--pad")) return arg_int("gradcheck", flag, value, 0, MAX_WINDOW, &o->pad);
    if (!strcmp(flag, "--input")) return parse_input(value, o);
    if (!strcmp(flag, "--arch")) o->arch_text = value;
    if (!strcmp(flag, "--model")) {
        if (arg_path("gradcheck", flag, value)) return -1;
        o->model_path = value;
    }
    return 0;
}

static int bad_usage(void)
{
    fputc('\n', stderr);
    usage(stderr);
    return 2;
}

static int gradcheck(int argc, char **argv)
{
    Options o = {.seed = 1, .kernel_h = -1, .kernel_w = -1, .stride = -1, .pad = -1,
                 .channels = NET_CHANNELS, .height = NET_SIDE, .width = NET_SIDE};
    const char *name = NULL;
    ArgSeen seen = {0}; /* each option once: a second --seed would silently win */

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        int bit = 0, known = !strcmp(arg, "--seed");
        for (size_t k = 0; k < sizeof option_flags / sizeof option_flags[0]; k++)
            if (!strcmp(arg, option_flags[k].flag)) bit = option_flags[k].bit;
        if (known || bit) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gradcheck: %s needs a value\n", arg);
                return bad_usage();
            }
            if (arg_once("gradcheck", &seen, arg) != 0) return bad_usage();
            o.given |= bit;
            if (parse_option(arg, argv[++i], &o) != 0) return bad_usage();
        } else if (arg[0] == '-') {
            fprintf(stderr, "gradcheck: unknown option '%s'\n", arg);
            return bad_usage();
        } else if (name) {
            fprintf(stderr, "gradcheck: one layer at a time ('%s' and '%s')\n", name, arg);
            return bad_usage();
        } else {
            name = arg;
        }
    }
    if (!name) {
        fprintf(stderr, "gradcheck: which layer? (or 'all')\n");
        return bad_usage();
    }

    int is_all = !strcmp(name, "all"), chosen = -1;
    for (int c = 0; c < NUM_CHECKS; c++)
        if (!strcmp(name, checks[c].name)) chosen = c;
    if (!is_all && chosen < 0) {
        fprintf(stderr, "gradcheck: unknown layer '%s'\n", name);
        return bad_usage();
    }
    if (check_options_taken(name, is_all ? 0 : checks[chosen].takes, o.given) != 0)
        return bad_usage();

    /* One thread: a check is thousands of tiny forward passes, where thread
     * start-up costs more than it saves, and one thread makes the printed
     * errors repeat to the last digit on any machine of the same kind. */
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    int failures = 0;
    for (int c = 0; c < NUM_CHECKS; c++) {
        if (!is_all && c != chosen) continue;
        if (is_all && c > 0) printf("\n");
        int result = run(checks[c].name, &o);
        if (result < 0) return 2; /* an impossible configuration, already explained */
        failures += result;
    }
    printf("%s: %s\n", name, failures ? "FAIL" : "every gradient within 1e-7");
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    return finish_standard_output("gradcheck", gradcheck(argc, argv));
}
