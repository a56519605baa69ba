#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "conv.h"
#include "files.h"
#include "machine.h"

/* A description longer than this is not a description. */
#define MAX_DESCRIPTION 65536

static char *copy_text(const char *text)
{
    char *copy = xmalloc(strlen(text) + 1);
    strcpy(copy, text);
    return copy;
}

int model_description(const ModelChoice *choice, int classes, char **text, char *origin,
                      size_t origin_len, Error *err)
{
    *text = NULL;
    if (choice->model_path && choice->arch_text)
        return error_set(err, "give --model or --arch, not both");
    if (choice->model_path) {
        snprintf(origin, origin_len, "%s", choice->model_path);
        *text = read_text_file(choice->model_path, MAX_DESCRIPTION, err);
        return *text ? 0 : -1;
    }
    if (choice->arch_text) {
        snprintf(origin, origin_len, "--arch");
        *text = copy_text(choice->arch_text);
        return 0;
    }
    /* the seed's network, with one score per class of the data */
    snprintf(origin, origin_len, "the built-in emotion CNN");
    char *seed = copy_text(arch_emotion_text);
    char *last = strstr(seed, "fc 7\n");
    if (last && classes > 0) {
        *last = '\0';
        size_t len = strlen(seed) + 32;
        *text = xmalloc(len);
        snprintf(*text, len, "%sfc %d\n", seed, classes);
        free(seed);
    } else {
        *text = seed;
    }
    return 0;
}

int model_fits_memory(const Network *net, int batch, int training, Error *err)
{
    const int threads = machine_cores();
    const double need = network_bytes(net, batch, training, threads);
    const double have = (double)machine_memory_bytes();
    if (have <= 0 || need <= have / 2) return 0;
    const double least = network_bytes(net, 1, training, threads);
    if (least <= have / 2)
        return error_set(err, "at batch %d this network needs about %.1f GB, more than half of "
                              "this machine's %.1f GB: use a smaller batch or network", batch,
                         need / 1e9, have / 1e9);
    /* no batch helps: say what takes it, when one convolution's unrolled
     * image does (a large kernel at a stride of 2 or more goes through im2col) */
    int index;
    const double workspace = network_workspace_bytes(net, threads, &index);
    if (index >= 0 && workspace > least / 2) {
        const ConvLayer *conv = (const ConvLayer *)net->layers[index];
        return error_set(err, "this network needs about %.1f GB even at batch 1, more than half "
                              "of this machine's %.1f GB: %.1f GB of it is %s's work space (the "
                              "image unrolled for its %dx%d kernel, a copy for each of %d "
                              "cores); use a smaller kernel", least / 1e9, have / 1e9,
                         workspace / 1e9, conv->base.name, conv->kernel_h, conv->kernel_w,
                         threads);
    }
    return error_set(err, "this network needs about %.1f GB even at batch 1, more than half of "
                          "this machine's %.1f GB: use a smaller network", least / 1e9,
                     have / 1e9);
}

int model_last_width(const ModelChoice *choice, Error *err)
{
    char *text, origin[512];
    if (model_description(choice, 0, &text, origin, sizeof origin, err) != 0) return -1;
    Arch arch;
    int status = arch_parse(text, origin, &arch, err);
    free(text);
    if (status != 0) return -1;
    const ArchLayer *last = &arch.layers[arch.count - 1];
    if (last->kind != ARCH_FC && last->kind != ARCH_CONV)
        return error_set(err, "%s %s: the last layer should give the class scores ('fc K')",
                         origin, last->where);
    return last->width;
}

Network *model_build(const ModelChoice *choice, int channels, int height, int width,
                     int classes, Error *err)
{
    char *text, origin[512];
    if (model_description(choice, classes, &text, origin, sizeof origin, err) != 0) return NULL;
    Network *net = arch_build_text(text, origin, channels, height, width, classes, err);
    free(text);
    return net;
}
