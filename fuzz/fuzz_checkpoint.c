/* libFuzzer target for loading a checkpoint (src/checkpoint.h): any bytes
 * must give either a network or a message, never a crash, a bad read or a
 * huge allocation. Built by `make fuzz` (fuzz/fuzz.mk) with ASan and UBSan.
 *
 * checkpoint_load takes a path, so the input is written to a file first
 * (fuzz_file.h). The .npz reader is compiled with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (see fuzz_npz.c), so a mutated
 * member keeps its place in the archive and reaches the description
 * parser, the builder and the weight checks. A file the plain loader
 * refuses for a member it does not know also goes to the loader train
 * --resume uses, which accepts members under the prefix "resume.". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz_file.h"

static void check(int holds, const char *what)
{
    if (holds) return;
    fprintf(stderr, "checkpoint_load succeeded, but %s\n", what);
    abort();
}

/* What a caller relies on after a load: the class names, one per score. */
static void check_loaded(Network *net, const CheckpointInfo *info)
{
    check(network_output_size(net) == info->classes, "its class count is not the network's");
    for (int k = 0; k < info->classes; k++)
        check(info->class_names[k] && strlen(info->class_names[k]) > 0, "a class name is empty");
    check(network_first_non_finite(net, &(size_t){0}) < 0, "a weight is not finite");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size, ".npz");
    CheckpointInfo info;
    Error err;
    Network *net = checkpoint_load(path, &info, &err);
    if (net) {
        check_loaded(net, &info);
        checkpoint_info_free(&info);
        network_free(net);
        return 0;
    }
    /* the resume loader differs only for members it would otherwise refuse */
    if (!strstr(err.msg, "is not a parameter")) return 0;
    NpzFile extra;
    net = checkpoint_load_extra(path, &info, "resume.", &extra, &err);
    if (net) {
        check_loaded(net, &info);
        checkpoint_info_free(&info);
        network_free(net);
        npz_free(&extra);
    }
    return 0;
}
