/* libFuzzer target for network descriptions (layers/arch.h): any text
 * must give either a network or a message, never a crash, a bad read or a
 * huge allocation. Built by `make fuzz` (fuzz/fuzz.mk) with ASan and UBSan.
 *
 * Each input is parsed; what parses must come back the same from its
 * canonical text (arch_format's promise), and is built for 1x8x8 images
 * and for 3x7x5 ones (colour, odd and not square): small, so that what the
 * size limits allow (ARCH_MAX_PARAMS and the activation caps) is all the
 * memory a description can ask for, and the fuzzer meets those limits
 * rather than the input's size. A network that builds and is cheap runs
 * one training step and one evaluation forward on two images, so that a
 * shape the builder accepts but a layer gets wrong shows up as an
 * out-of-bounds access; its loss must be finite. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "network.h"
#include "rng.h"

static const int input_shapes[][3] = {{1, 8, 8}, {3, 7, 5}};
#define BATCH 2
/* above these a step is skipped: it would slow the fuzzer down, and the
 * layers' own tests cover large shapes */
#define STEP_MAX_FLOPS 2e6
#define STEP_MAX_BYTES 16e6

/* Every field the text sets ('where' names the line or item, and differs). */
static int same_layer(const ArchLayer *a, const ArchLayer *b)
{
    return a->kind == b->kind && a->width == b->width && a->kernel_h == b->kernel_h &&
           a->kernel_w == b->kernel_w && a->stride == b->stride && a->pad == b->pad &&
           a->no_bias == b->no_bias && a->p == b->p && !strcmp(a->p_text, b->p_text);
}

static void check_round_trip(const Arch *arch)
{
    static char canonical[16384];
    if (arch_format(arch, canonical, sizeof canonical) >= (int)sizeof canonical) abort();
    Arch again;
    Error err;
    if (arch_parse(canonical, "canonical", &again, &err) != 0) {
        fprintf(stderr, "the canonical text does not parse: %s\n%s", err.msg, canonical);
        abort();
    }
    int same = again.count == arch->count;
    for (int i = 0; same && i < arch->count; i++)
        same = same_layer(&arch->layers[i], &again.layers[i]);
    if (!same) {
        fprintf(stderr, "the canonical text parses to another network:\n%s", canonical);
        abort();
    }
}

/* One training step and one evaluation forward on BATCH made-up images. */
static void run_step(Network *net, int classes)
{
    const int *shape = net->input_dims;
    Rng rng;
    rng_seed(&rng, 1);
    network_init(net, &rng);
    network_set_noise(net, 7);
    Tensor *x = tensor_new4(BATCH, shape[0], shape[1], shape[2]);
    for (size_t k = 0; k < x->size; k++) x->data[k] = (real)rng_uniform(&rng);
    int labels[BATCH] = {0, classes - 1};
    double loss = network_loss(net, x, labels);
    if (!isfinite(loss)) {
        fprintf(stderr, "the loss is %g on %dx%dx%d images\n", loss, shape[0], shape[1], shape[2]);
        abort();
    }
    network_loss_backward(net, labels, NULL);
    network_set_mode(net, LAYER_EVAL);
    network_forward(net, x);
    tensor_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    Arch arch;
    Error err;
    if (arch_parse(text, "fuzz.net", &arch, &err) != 0) {
        free(text);
        return 0;
    }
    free(text);
    check_round_trip(&arch);

    /* the class count the last layer asks for, so that most networks build */
    const ArchLayer *last = &arch.layers[arch.count - 1];
    int classes = last->kind == ARCH_FC ? last->width : 7;
    for (size_t i = 0; i < sizeof input_shapes / sizeof input_shapes[0]; i++) {
        const int *shape = input_shapes[i];
        Network *net = arch_build(&arch, "fuzz.net", shape[0], shape[1], shape[2], classes, &err);
        if (!net) continue;
        static FILE *devnull;
        if (!devnull) devnull = fopen("/dev/null", "w");
        if (devnull) arch_print_table(devnull, net);
        double forward, backward;
        network_step_flops(net, &forward, &backward);
        if (BATCH * (forward + backward) < STEP_MAX_FLOPS &&
            network_bytes(net, BATCH, 1, 1) < STEP_MAX_BYTES)
            run_step(net, classes);
        network_free(net);
    }
    return 0;
}
