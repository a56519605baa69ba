/* emotion bench: how fast does a network (the emotion CNN by default) train and infer?
 *
 * Times each layer's forward and backward pass, the matrix multiply on the
 * layers' shapes, and whole training steps (forward, loss, backward, SGD
 * update) and inference passes, on random data of the real shape. Every
 * figure is the median of several runs after a warm-up. Then the training
 * step's arithmetic rate as a fraction of the machine's FMA peak, measured
 * on the spot: in the network's arithmetic (as a direct convolution computes
 * it) and in the multiply-adds made (fewer, through Winograd). The last four
 * lines are machine-readable:
 *     train_fma_peak_fraction=<number>     (the network's arithmetic)
 *     train_fma_made_fraction=<number>     (the multiply-adds made)
 *     train_img_per_s=<number>
 *     infer_img_per_s=<number> */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "args.h"
#include "clock.h"
#include "bench_gemm.h"
#include "commands.h"
#include "arch.h"
#include "gemm.h"
#include "machine.h"
#include "model.h"
#include "network.h"
#include "sgd.h"
#include "softmax_xent.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: emotion bench [--model FILE.net | --arch TEXT] [--input CxHxW]\n"
            "                     [--classes K] [--batch N] [--threads N] [--repeats N]\n"
            "                     [--no-gemm]\n"
            "\n"
            "Times a network (default: the emotion CNN, 1x48x48 -> conv 32 -> pool ->\n"
            "conv 64 -> pool -> fc 256 -> fc 7) on random data: per layer forward/backward\n"
            "milliseconds and GFLOP/s, the matrix multiply on the emotion CNN's shapes,\n"
            "training and inference images per second with 1 thread and with all threads,\n"
            "and the scaling between them. Figures are medians after a warm-up.\n"
            "\n"
            "Then the training step's arithmetic: the network's floating-point operations\n"
            "per image (forward and backward, all layers, as a direct convolution computes\n"
            "them: no dx for the first layer) times the training images/s with all threads,\n"
            "as GFLOP/s and as a fraction of the machine's FMA peak (the model-FLOP\n"
            "utilisation, comparable across programs and methods). The peak is measured on\n"
            "the spot: independent fused multiply-adds on registers alone, at the matrix\n"
            "multiply's vector width, on as many threads (so at the clock the cores really\n"
            "run, turbo included); no layer reaches it, since real products must also move\n"
            "their operands. Layers marked 'winograd' reach the same result with fewer\n"
            "multiply-adds; a further line then gives those made, and their fraction.\n"
            "The last lines are machine-readable: train_fma_peak_fraction= (the network's\n"
            "arithmetic), train_fma_made_fraction= (the multiply-adds made), train_img_per_s=\n"
            "and infer_img_per_s=.\n"
            "\n"
            "options:\n"
            "  --model FILE  the network described in FILE (see models/)\n"
            "  --arch TEXT   the network described on the command line, items separated by\n"
            "                commas: \"conv 16 5x5 stride 2 pad 2, relu, avgpool 2, fc 7\"\n"
            "  --input CxHxW the input image shape (default 1x48x48)\n"
            "  --classes K   the number of classes (default: the description's last width)\n"
            "  --batch N     images per batch (default 64)\n"
            "  --threads N   threads (default: all cores, %d here)\n"
            "  --repeats N   timed runs per figure (default 10)\n"
            "  --no-gemm     skip the matrix-multiply table (skipped for --model/--arch)\n"
            "  -h, --help    this text\n",
#ifdef _OPENMP
            omp_get_num_procs()
#else
            1
#endif
    );
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

static void set_threads(int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
}

typedef struct {
    Network *net;
    Optimizer *sgd;
    Tensor *x;
    int *labels;
} Bench;

static double time_train_step(Bench *b)
{
    double start = clock_seconds();
    network_loss(b->net, b->x, b->labels);
    network_loss_backward(b->net, b->labels, NULL);
    optimizer_step(b->sgd, b->net);
    return clock_seconds() - start;
}

static double time_inference(Bench *b)
{
    double start = clock_seconds();
    network_forward(b->net, b->x);
    return clock_seconds() - start;
}

/* Median seconds of `repeats` calls after `warmup` untimed ones. */
static double median_time(double (*step)(Bench *), Bench *b, int warmup, int repeats)
{
    double *times = xmalloc((size_t)repeats * sizeof *times);
    for (int i = 0; i < warmup; i++) step(b);
    for (int i = 0; i < repeats; i++) times[i] = step(b);
    double m = median(times, repeats);
    free(times);
    return m;
}

static void layer_table(Bench *b, int repeats)
{
    Network *net = b->net;
    int L = net->num_layers;
    double *forward = xcalloc((size_t)L * repeats, sizeof *forward);
    double *backward = xcalloc((size_t)L * repeats, sizeof *backward);
    for (int r = -2; r < repeats; r++) { /* two warm-up rounds */
        const Tensor *input = b->x;
        for (int i = 0; i < L; i++) {
            double start = clock_seconds();
            layer_forward(net->layers[i], input, net->out[i]);
            if (r >= 0) forward[i * repeats + r] = clock_seconds() - start;
            input = net->out[i];
        }
        /* the gradient of the loss, where the network's backward starts */
        softmax_xent_forward(net->out[L - 1], b->labels, net->probs);
        softmax_xent_backward(net->probs, b->labels, net->grad[L - 1]);
        for (int i = L - 1; i >= 0; i--) {
            double start = clock_seconds();
            layer_backward(net->layers[i], net->grad[i], i > 0 ? net->grad[i - 1] : NULL);
            if (r >= 0) backward[i * repeats + r] = clock_seconds() - start;
        }
    }
    printf("%-7s %-8s %-16s %10s %10s %10s %10s\n", "layer", "kind", "output", "fwd ms", "fwd GF/s",
           "bwd ms", "bwd GF/s");
    const Tensor *input = b->x;
    for (int i = 0; i < L; i++) {
        char shape[48];
        double f = median(forward + i * repeats, repeats), g = median(backward + i * repeats, repeats);
        const Layer *layer = net->layers[i];
        /* per image; backward as computed (no dx for layer 0) */
        double flop, back_flop;
        network_layer_flops(net, i, &flop, &back_flop);
        flop *= input->dim[0];
        back_flop *= input->dim[0];
        printf("%-7s %-8s %-16s %10.3f ", net->layers[i]->name, net->layers[i]->ops->kind,
               tensor_shape_string(net->out[i], shape, sizeof shape), 1e3 * f);
        /* element-wise layers and pools move memory: their FLOP rate says little */
        int counted = layer->num_params > 0;
        if (counted) printf("%10.1f ", flop / f * 1e-9); else printf("%10s ", "-");
        printf("%10.3f ", 1e3 * g);
        if (counted) printf("%10.1f\n", back_flop / g * 1e-9); else printf("%10s\n", "-");
        input = net->out[i];
    }
    free(forward);
    free(backward);
}

/* The network to time, for inputs of `input` (C, H, W). Bench has no data:
 * the class count is --classes (*classes > 0) or else the description's last
 * width, and the network must give one score per class, as a classifier's
 * last layer does. Sets *classes; NULL with a message. */
static Network *build_network(const ModelChoice *choice, const int input[3], int *classes,
                              Arch *described, Error *err)
{
    const int given = *classes;
    if (!given && (*classes = model_last_width(choice, err)) <= 0) return NULL;
    char *text, origin[512];
    if (model_description(choice, given, &text, origin, sizeof origin, err) != 0) return NULL;
    Arch arch;
    const int parsed = arch_parse(text, origin, &arch, err);
    free(text);
    if (parsed != 0) return NULL;
    Network *net = arch_build(&arch, origin, input[0], input[1], input[2], 0, err);
    *described = arch;
    if (!net || network_output_size(net) == *classes) return net;
    const int scores = network_output_size(net);
    if (given)
        error_set(err, "%s %s: the last layer gives %d score%s per image, but --classes is %d "
                       "(end with 'fc %d')", origin, arch.layers[arch.count - 1].where, scores,
                  scores == 1 ? "" : "s", given, given);
    else
        error_set(err, "%s %s: the last layer gives %d scores per image, not one per class: bench "
                       "times a classifier, here of %d classes (the last layer's width), so end "
                       "with 'fc %d' (or give --classes K)", origin,
                  arch.layers[arch.count - 1].where, scores, *classes, *classes);
    network_free(net);
    return NULL;
}

/* The network's arithmetic: the FLOP of a training step per image as a
 * direct convolution (im2col) computes them. Layers marked 'winograd' make
 * fewer multiply-adds (layers/winograd.h) for the same result; the model's
 * FLOP are counted without them, so that its rate compares across methods
 * and programs (the "model-FLOP utilisation"; what the cores execute is the
 * "multiply-adds made"). Returns how many layers are marked. */
static int model_step_flops(const Arch *arch, const int input[3], const Network *net,
                            double *forward, double *backward)
{
    Arch direct = *arch;
    int marked = 0;
    for (int i = 0; i < direct.count; i++) {
        marked += direct.layers[i].winograd;
        direct.layers[i].winograd = 0;
    }
    Error err;
    Network *built = marked ? arch_build(&direct, "bench", input[0], input[1], input[2], 0, &err)
                            : NULL;
    network_step_flops(built ? built : net, forward, backward);
    network_free(built);
    return built ? marked : 0;
}

int cmd_bench(int argc, char **argv)
{
    int batch = 64, repeats = 10, gemm_table = 1, classes = 0;
    int input[3] = {1, 48, 48};
    ModelChoice choice = {0};
#ifdef _OPENMP
    int threads = omp_get_num_procs();
#else
    int threads = 1;
#endif
    ArgSeen seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        if (arg[0] == '-' && arg_once("emotion bench", &seen, arg)) {
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }
        if (!strcmp(arg, "--no-gemm")) {
            gemm_table = 0;
            continue;
        }
        if (!strcmp(arg, "--model") || !strcmp(arg, "--arch") || !strcmp(arg, "--input")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "emotion bench: %s needs a value\n\n", arg);
                usage(stderr);
                return 2;
            }
            const char *value = argv[++i];
            if (!strcmp(arg, "--model") && arg_path("emotion bench", arg, value)) {
                fputc('\n', stderr);
                usage(stderr);
                return 2;
            }
            if (!strcmp(arg, "--model")) choice.model_path = value;
            else if (!strcmp(arg, "--arch")) choice.arch_text = value;
            else if (arg_shape3("emotion bench", arg, value, 1024, input)) {
                fputc('\n', stderr);
                usage(stderr);
                return 2;
            }
            continue;
        }
        int *target = !strcmp(arg, "--classes") ? &classes : !strcmp(arg, "--batch") ? &batch
                    : !strcmp(arg, "--threads") ? &threads : !strcmp(arg, "--repeats") ? &repeats
                    : NULL;
        if (!target) {
            fprintf(stderr, "emotion bench: unknown option '%s'\n\n", arg);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "emotion bench: %s needs a value\n\n", arg);
            usage(stderr);
            return 2;
        }
        int bad = target == &threads ? arg_threads("emotion bench", arg, argv[++i], target)
                                     : arg_int("emotion bench", arg, argv[++i], 1, 100000, target);
        if (bad) {
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }
    }

    Error err;
    Rng rng;
    rng_seed(&rng, 1);
    Bench b;
    Arch arch;
    b.net = build_network(&choice, input, &classes, &arch, &err);
    if (!b.net || model_fits_memory(b.net, batch, 1, &err)) {
        fprintf(stderr, "emotion bench: %s\n", err.msg);
        network_free(b.net);
        return 2;
    }
    const int described = choice.model_path || choice.arch_text;
    if (described) gemm_table = 0;
    network_init(b.net, &rng);
    b.sgd = sgd_create(b.net, (SgdConfig){.lr = 1e-4, .momentum = 0.9, .weight_decay = 5e-4,
                                          .nesterov = 0});
    b.x = tensor_new4(batch, input[0], input[1], input[2]);
    b.labels = xmalloc((size_t)batch * sizeof *b.labels);
    for (size_t i = 0; i < b.x->size; i++) b.x->data[i] = (real)rng_uniform(&rng);
    for (int i = 0; i < batch; i++) b.labels[i] = (int)rng_below(&rng, (uint32_t)classes);

    printf("%s, input %dx%dx%d, %d class%s, batch %d, %d thread%s, median of %d run%s\n",
           described ? (choice.model_path ? choice.model_path : "--arch") : "emotion CNN",
           input[0], input[1], input[2], classes, classes == 1 ? "" : "es", batch, threads,
           threads == 1 ? "" : "s", repeats, repeats == 1 ? "" : "s");
    char cpu[192];
    printf("machine: %s, %d core%s; matrix multiply kernel %s (%d %ss per vector)\n",
           machine_cpu_name(cpu, sizeof cpu), machine_cores(), machine_cores() == 1 ? "" : "s",
           gemm_kernel_name(), gemm_vector_lanes(), REAL_NAME);
    arch_print_table(stdout, b.net);
    printf("\n");
    set_threads(threads);
    layer_table(&b, repeats);
    if (gemm_table) {
        printf("\nmatrix multiply on the layers' shapes:\n");
        bench_gemm_report(stdout, threads);
    }

    /* Whole steps, with one thread and with all of them. */
    double train = 0, infer = 0, train_1 = 0, infer_1 = 0;
    printf("\n%-8s %14s %14s\n", "threads", "train img/s", "infer img/s");
    for (int t = 1; t <= threads; t = t < threads && t * 2 > threads ? threads : t * 2) {
        set_threads(t);
        train = batch / median_time(time_train_step, &b, 3, repeats);
        infer = batch / median_time(time_inference, &b, 3, repeats);
        printf("%-8d %14.0f %14.0f\n", t, train, infer);
        if (t == 1) {
            train_1 = train;
            infer_1 = infer;
        }
        if (t == threads) break;
    }
    if (threads > 1)
        printf("scaling from 1 to %d threads: training %.2fx, inference %.2fx\n", threads,
               train / train_1, infer / infer_1);

    /* The step's arithmetic against the machine's, with all the threads. */
    double made_forward, made_backward, forward, backward;
    network_step_flops(b.net, &made_forward, &made_backward);
    const int marked = model_step_flops(&arch, input, b.net, &forward, &backward);
    const double peak_gflops = bench_fma_peak_gflops(threads);
    const double gflops = (forward + backward) * train * 1e-9;
    const double made_gflops = (made_forward + made_backward) * train * 1e-9;
    printf("\ntraining step: %.1f MFLOP per image (forward %.1f, backward %.1f)%s\n",
           (forward + backward) * 1e-6, forward * 1e-6, backward * 1e-6,
           marked ? ", in a direct convolution's arithmetic" : "");
    printf("training step: %.0f GFLOP/s with %d thread%s = %.0f%% of the FMA peak (%.0f GFLOP/s, "
           "%s, measured)\n",
           gflops, threads, threads == 1 ? "" : "s", 100 * gflops / peak_gflops, peak_gflops,
           gemm_kernel_name());
    if (marked)
        printf("multiply-adds made: %d layer%s through Winograd make%s %.1f MFLOP per image "
               "(forward %.1f, backward %.1f) for the %.1f above: %.0f GFLOP/s = %.0f%% of the "
               "FMA peak\n",
               marked, marked == 1 ? "" : "s", marked == 1 ? "s" : "",
               (made_forward + made_backward) * 1e-6, made_forward * 1e-6, made_backward * 1e-6,
               (forward + backward) * 1e-6,
               made_gflops, 100 * made_gflops / peak_gflops);
    printf("\ntrain_fma_peak_fraction=%.3f\ntrain_fma_made_fraction=%.3f\n"
           "train_img_per_s=%.0f\ninfer_img_per_s=%.0f\n",
           gflops / peak_gflops, made_gflops / peak_gflops, train, infer);

    optimizer_free(b.sgd);
    network_free(b.net);
    tensor_free(b.x);
    free(b.labels);
    return 0;
}
