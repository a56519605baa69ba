/* arch.h: networks described in text.
 *
 * A description is one layer per line (or per comma-separated item, as on
 * a command line), with '#' comments and blank lines allowed:
 *
 *     # the seed's emotion CNN
 *     conv 32 3x3 pad 1        conv F K [stride S] [pad P]   K: 3, 3x3 or 3x5
 *     relu                     relu
 *     maxpool 2                maxpool K [stride S] [pad P]  stride defaults to K
 *     conv 64 3x3 pad 1        avgpool K [stride S] [pad P]
 *     relu                     fc M   (flattens an (N, C, H, W) input in (C, H, W) order)
 *     maxpool 2
 *     fc 256
 *     relu
 *     fc 7
 *
 *     batchnorm                normalises each channel (after conv) or feature (after fc)
 *     conv ... nobias, fc M nobias   no bias (it stays 0): before a batchnorm, which
 *                              subtracts the mean, a bias has no effect
 *     dropout P                drops each value with probability P in training, 0 <= P < 1
 *     crop K                   a K x K (or KHxKW) window of each image: random in
 *                              training, the central one in evaluation (layers/crop.h)
 *
 * Softmax cross-entropy is the loss after the last layer, which must give
 * one score per class. The input shape (C, H, W) and the class count come
 * from the data, so one description fits any image size it can take.
 *
 * A convolution's pad is at most its kernel's smaller side less one (more
 * would add outputs that see only padding), a pool's at most half its
 * window's smaller side (as PyTorch's pools).
 *
 * Parsing checks the words and numbers; building checks the shapes (a
 * window larger than the map it meets, a last layer of the wrong width)
 * and the sizes (parameters, values per image, and a forward pass of at
 * most 1e11 floating-point operations per image).
 * Every message names where the problem is, "line 3" in a file or "item 2"
 * of a comma-separated list, and what is wrong.
 *
 * Layers are named by kind and count, in order: conv1, conv2, relu1,
 * pool1 (max or average), fc1, fc2, bn1, drop1, crop1, ... Checkpoints name
 * parameters after them: conv1.w, conv1.b, fc1.w, bn1.gamma, ... */
#ifndef ARCH_H
#define ARCH_H

#include <stddef.h>
#include <stdio.h>

#include "network.h"

#define ARCH_MAX_LAYERS NETWORK_MAX_LAYERS
/* The largest width, kernel, stride or pad a description may ask for:
 * larger ones are refused when parsing, before anything is allocated. */
#define ARCH_MAX_WIDTH 65536
#define ARCH_MAX_KERNEL 1024

typedef enum {
    ARCH_CONV, ARCH_RELU, ARCH_MAXPOOL, ARCH_AVGPOOL, ARCH_FC, ARCH_BATCHNORM, ARCH_DROPOUT,
    ARCH_CROP
} ArchKind;

typedef struct {
    ArchKind kind;
    int width;                   /* conv: filters F; fc: outputs M */
    int kernel_h, kernel_w;      /* conv, pools; crop: the window */
    int stride, pad;             /* conv, pools */
    int no_bias;                 /* conv, fc: 'nobias' */
    int winograd;                /* conv: 'winograd' (winograd.h) */
    double p;                    /* dropout: the probability of dropping a value */
    char p_text[24];             /* ... as written, so the canonical text keeps it exactly */
    char where[48];              /* "line 3", "item 2" (for messages) */
} ArchLayer;

typedef struct {
    int count;
    ArchLayer layers[ARCH_MAX_LAYERS];
} Arch;

/* The seed's emotion CNN, as models/emotion.net writes it. */
extern const char arch_emotion_text[];

/* Reads a description. origin names it in messages ("models/x.net",
 * "--arch"). Returns 0, or -1 with a message such as
 *     --arch item 2: unknown layer 'rellu' (the layers are conv, relu, ...)
 *     models/x.net line 4: 'conv' needs a number of filters from 1 to 65536, not '3x3'
 *     models/x.net line 1: 'pad 1024' is more than a 1x1 kernel can use: at most 0, ... */
int arch_parse(const char *text, const char *origin, Arch *arch, Error *err);

/* The canonical text of a description: one layer per line, every option
 * spelled out ("conv 32 3x3 stride 1 pad 1"). Parsing it gives the same
 * Arch. Returns the length written (as snprintf). */
int arch_format(const Arch *arch, char *buf, size_t len);

/* Builds the network for inputs of (channels, height, width) and the given
 * number of classes (0: any number of scores, for a caller that checks them
 * itself); weights are zero (network_init). Returns NULL with a
 * message naming the layer if a shape does not fit or a size is too large:
 *     --arch item 3: 'maxpool 5x5 stride 5': the 5x5 window is larger than the 4x4 map it meets
 *     m.net line 9: the last layer gives 7 scores per image, but the data has 5 classes ...
 *     --arch item 1: 'conv 1 1024x1024 stride 1 pad 1023' computes 2.41e+12
 *     floating-point operations per image, more than the 1e+11 a network may compute */
Network *arch_build(const Arch *arch, const char *origin, int channels, int height, int width,
                    int classes, Error *err);

/* arch_build for a description whose weights come from a file holding
 * `values` numbers in all: a network with millions of parameters more than
 * that cannot be the file's, and is refused before its weights are
 * allocated (up to 4 million more are built, so that the caller names the
 * array that is missing):
 *     m.npz: 'arch' line 7: 'fc 14000' meets 6912 values: 96768000 weights,
 *     and the network 96768000 in all, more than the 1000 values the file holds */
Network *arch_build_holding(const Arch *arch, const char *origin, int channels, int height,
                            int width, int classes, double values, Error *err);

/* arch_parse, then arch_build. */
Network *arch_build_text(const char *text, const char *origin, int channels, int height,
                         int width, int classes, Error *err);

/* The network as a table: layer, output shape, parameters, forward MFLOP
 * per image, and the totals. */
void arch_print_table(FILE *out, const Network *net);

#endif
