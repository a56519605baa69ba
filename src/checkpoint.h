/* checkpoint.h: a trained network as an .npz that numpy can open, carrying
 * everything needed to rebuild it.
 *
 *   arch          uint8 (n,)      the description (layers/arch.h), UTF-8 text,
 *                                 one layer per line: bytes(m["arch"]).decode()
 *   input_shape   int64 (3,)      (C, H, W) of one input image
 *   class_names   uint8 (n,)      the class names, UTF-8, one per line
 *   conv1.w       float32 (F, C, kH, kW)    conv1.b  float32 (F,)
 *   fc1.w         float32 (D, M)            fc1.b    float32 (M,)
 *   ...           every parameter, named by its layer (kind and count in
 *                 order: conv1, conv2, fc1, ...) and its own name
 *
 *   >>> m = np.load("runs/emotion/model.npz")
 *   >>> print(bytes(m["arch"]).decode()); m["conv1.w"].shape
 *
 * Checkpoints written before descriptions existed hold only the eight
 * arrays of the seed's network (conv1.w ... fc2.b, 48x48 grey faces, 7
 * classes); they load as that network, with the widths their shapes give. */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include "network.h"
#include "npz.h"

typedef struct {
    int channels, height, width; /* one input image */
    int classes;
    char **class_names;          /* classes names (owned; checkpoint_info_free) */
    int described;               /* 1 if the file carried its description */
} CheckpointInfo;

/* Writes the description, the input shape, the class names (NULL: the
 * defaults of class_default_name) and every parameter of net, atomically.
 * Refuses (writing nothing) a network with a NaN or infinite parameter. */
int checkpoint_save(const char *path, Network *net, const char *const *class_names,
                    Error *err);

/* Rebuilds the network the file describes and loads its weights. A missing
 * array, an array that does not fit the description (named, with both
 * shapes), an array the description does not have, a weight or batchnorm
 * statistic array that is not float32 or float64 (named, with its dtype:
 * integers and bools are not converted), or a NaN or infinite weight
 * (named, with its index; a float64 of 1e300 is infinite as a float) is
 * refused with a message. info (may be NULL) receives the input shape and
 * class names. */
Network *checkpoint_load(const char *path, CheckpointInfo *info, Error *err);

void checkpoint_info_free(CheckpointInfo *info);

/* For files that hold a network and more (a training run's resume file):
 * checkpoint_save_extra calls extra(writer, context) after the network's
 * members, to add its own; checkpoint_load_extra accepts members whose
 * names start with prefix and hands the whole file to the caller in
 * *extra (to npz_free) when it succeeds. */
typedef int (*CheckpointExtra)(NpzWriter *writer, void *context, Error *err);
int checkpoint_save_extra(const char *path, Network *net, const char *const *class_names,
                          CheckpointExtra extra, void *context, Error *err);
Network *checkpoint_load_extra(const char *path, CheckpointInfo *info, const char *prefix,
                               NpzFile *extra, Error *err);

/* A tensor as a float32 member (the double build's values rounded to float). */
int checkpoint_add_tensor(NpzWriter *writer, const char *name, const Tensor *t, Error *err);

/* The name of class k of K when a file gives none: FER2013's seven when
 * K = 7 ("Angry", ..., "Neutral"), else "class k". */
const char *class_default_name(int k, int classes, char *buf, size_t len);

#endif
