#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "classes.h"
#include "loader.h"
#include "npz.h"

/* The image sides a checkpoint may declare (its class count and names
 * follow the loader's rules: DATASET_MAX_CLASSES, class_name_check). */
#define MAX_SIDE 1024

const char *class_default_name(int k, int classes, char *buf, size_t len)
{
    if (classes == NUM_CLASSES) snprintf(buf, len, "%s", class_names[k]);
    else snprintf(buf, len, "class %d", k);
    return buf;
}

static int add_text(NpzWriter *writer, const char *name, const char *text, Error *err)
{
    int64_t length = (int64_t)strlen(text);
    return npz_writer_add(writer, name, NPY_UINT8, 1, &length, text, err);
}

/* A tensor as a float32 member (the double build's values rounded to float). */
int checkpoint_add_tensor(NpzWriter *writer, const char *name, const Tensor *t, Error *err)
{
    int64_t shape[TENSOR_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) shape[d] = t->dim[d];
    float *data = xmalloc(t->size * sizeof *data + 1);
    for (size_t k = 0; k < t->size; k++) data[k] = (float)t->data[k];
    int status = npz_writer_add(writer, name, NPY_FLOAT32, t->ndim, shape, data, err);
    free(data);
    return status;
}

int checkpoint_save(const char *path, Network *net, const char *const *names, Error *err)
{
    return checkpoint_save_extra(path, net, names, NULL, NULL, err);
}

int checkpoint_save_extra(const char *path, Network *net, const char *const *class_names_given,
                          CheckpointExtra extra, void *context, Error *err)
{
    if (!net->description)
        return error_set(err, "%s: the network has no description to save with it", path);
    /* never save weights that could only give NaN scores */
    size_t bad;
    int bad_param = network_first_non_finite(net, &bad);
    if (bad_param >= 0) {
        char name[64];
        const Param *param = network_param(net, bad_param, name, sizeof name);
        return error_set(err, "%s not written: %s[%zu] is %g (the weights are no longer "
                              "finite)", path, name, bad, (double)param->value->data[bad]);
    }
    const int classes = network_output_size(net);
    size_t names_len = 1;
    char buf[CLASS_NAME_MAX + 1];
    for (int k = 0; k < classes; k++)
        names_len += strlen(class_names_given ? class_names_given[k]
                                              : class_default_name(k, classes, buf, sizeof buf)) + 1;
    char *names = xmalloc(names_len);
    names[0] = '\0';
    for (int k = 0; k < classes; k++) {
        strcat(names, class_names_given ? class_names_given[k]
                                        : class_default_name(k, classes, buf, sizeof buf));
        strcat(names, "\n");
    }

    NpzWriter *writer = npz_writer_open(path, 0, err);
    if (!writer) {
        free(names);
        return -1;
    }
    int64_t input_shape[3] = {net->input_dims[0], net->input_dims[1], net->input_dims[2]};
    int64_t three = 3;
    int status = add_text(writer, "arch", net->description, err) ||
                 npz_writer_add(writer, "input_shape", NPY_INT64, 1, &three, input_shape, err) ||
                 add_text(writer, "class_names", names, err);
    free(names);
    for (int i = 0; status == 0 && i < network_num_params(net); i++) {
        char name[64];
        const Tensor *t = network_param(net, i, name, sizeof name)->value;
        status = checkpoint_add_tensor(writer, name, t, err);
    }
    for (int i = 0; status == 0 && i < network_num_buffers(net); i++) {
        char name[64];
        const Tensor *t = network_buffer(net, i, name, sizeof name)->value;
        status = checkpoint_add_tensor(writer, name, t, err);
    }
    if (status == 0 && extra) status = extra(writer, context, err);
    if (status != 0) {
        npz_writer_abort(writer);
        return -1;
    }
    return npz_writer_close(writer, err);
}

/* ---- loading ----------------------------------------------------------- */

/* A text member (uint8 bytes) as a C string (to free), or NULL. */
static char *text_member(const NpzFile *npz, const char *path, const char *name, Error *err)
{
    const NpyArray *a = npz_find(npz, name);
    if (!a) return NULL;
    if (a->dtype != NPY_UINT8 || a->ndim != 1 || a->count > 65536) {
        char shape[64];
        error_set(err, "%s: '%s' should be UTF-8 text as uint8 bytes (n,), not %s %s", path, name,
                  npy_dtype_name(a->dtype), npy_shape_string(a, shape, sizeof shape));
        return NULL;
    }
    char *text = xmalloc(a->count + 1);
    memcpy(text, a->data, a->count);
    text[a->count] = '\0';
    if (strlen(text) != a->count) {
        error_set(err, "%s: '%s' holds a zero byte", path, name);
        free(text);
        return NULL;
    }
    return text;
}

/* The seed's network with the widths an old checkpoint's shapes give. */
static char *legacy_description(const NpzFile *npz, const char *path, Error *err)
{
    const NpyArray *c1 = npz_find(npz, "conv1.w"), *c2 = npz_find(npz, "conv2.w");
    const NpyArray *f1 = npz_find(npz, "fc1.w");
    if (!c1 || !c2 || !f1 || c1->ndim != 4 || c2->ndim != 4 || f1->ndim != 2) {
        error_set(err, "%s: not a checkpoint: no 'arch' member, and not the seed's network "
                       "either (conv1.w, conv2.w, fc1.w missing or misshapen)", path);
        return NULL;
    }
    char *text = xmalloc(512);
    snprintf(text, 512, "conv %lld 3x3 pad 1\nrelu\nmaxpool 2\nconv %lld 3x3 pad 1\nrelu\n"
                        "maxpool 2\nfc %lld\nrelu\nfc %d\n",
             (long long)c1->shape[0], (long long)c2->shape[0], (long long)f1->shape[1], NUM_CLASSES);
    return text;
}

static int read_input_shape(const NpzFile *npz, const char *path, CheckpointInfo *info, Error *err)
{
    const NpyArray *a = npz_find(npz, "input_shape");
    if (!a) return error_set(err, "%s: 'arch' without 'input_shape'", path);
    int64_t v[3];
    if (a->ndim != 1 || a->count != 3 || npy_to_int64(a, v, err) != 0)
        return error_set(err, "%s: 'input_shape' should be three whole numbers (C, H, W)", path);
    if ((v[0] != 1 && v[0] != 3) || v[1] < 1 || v[1] > MAX_SIDE || v[2] < 1 || v[2] > MAX_SIDE)
        return error_set(err, "%s: 'input_shape' (%lld, %lld, %lld) is not 1 or 3 channels of "
                              "1..%d x 1..%d pixels", path, (long long)v[0], (long long)v[1],
                         (long long)v[2], MAX_SIDE, MAX_SIDE);
    info->channels = (int)v[0];
    info->height = (int)v[1];
    info->width = (int)v[2];
    return 0;
}

/* Splits the names text (one per line: class_names_lines) into
 * info->class_names, each held to the loader's rules (class_name_check,
 * and no two alike). */
static int read_class_names(const char *text, const char *path, CheckpointInfo *info, Error *err)
{
    const char *starts[DATASET_MAX_CLASSES];
    size_t lengths[DATASET_MAX_CLASSES];
    int count = class_names_lines(text, strlen(text), starts, lengths, DATASET_MAX_CLASSES);
    if (count < 2 || count > DATASET_MAX_CLASSES)
        return error_set(err, "%s: 'class_names' holds %d names (2 to %d)", path, count,
                         DATASET_MAX_CLASSES);
    info->classes = count;
    info->class_names = xcalloc((size_t)count, sizeof *info->class_names);
    for (int k = 0; k < count; k++) {
        info->class_names[k] = xmalloc(lengths[k] + 1);
        memcpy(info->class_names[k], starts[k], lengths[k]);
        info->class_names[k][lengths[k]] = '\0';
        char what[32];
        snprintf(what, sizeof what, "class name %d", k);
        if (class_name_check(info->class_names[k], path, what, err)) return -1;
        for (int j = 0; j < k; j++)
            if (!strcmp(info->class_names[j], info->class_names[k]))
                return error_set(err, "%s: class names %d and %d are both '%s'; each class needs "
                                      "its own name", path, j, k, info->class_names[k]);
    }
    return 0;
}

/* The scores per image the description gives, when its text alone tells:
 * the width of its last fc layer, if only layers that keep the size
 * (relu, batchnorm, dropout) follow it; 0 otherwise (the build tells).
 * *last gets that layer. */
static int described_scores(const Arch *arch, const ArchLayer **last)
{
    for (int i = arch->count - 1; i >= 0; i--) {
        const ArchLayer *l = &arch->layers[i];
        if (l->kind == ARCH_FC) {
            *last = l;
            return l->width;
        }
        if (l->kind != ARCH_RELU && l->kind != ARCH_BATCHNORM && l->kind != ARCH_DROPOUT) break;
    }
    return 0;
}

/* A training run's resume file (cli/cmd_train.c) holds the network and the
 * run's own state, in members named resume.*: not a model to evaluate. */
#define RESUME_MEMBERS "resume."

/* Copies the file's array into t, after checking its shape and values. */
static int load_tensor(const NpyArray *a, const char *path, const char *name, Tensor *t,
                       Error *err)
{
    if (npy_dtype_is_string(a->dtype))
        return error_set(err, "%s: array '%s' holds strings, not weights", path, name);
    /* Weights and batchnorm statistics are real numbers: an integer or bool
     * array would convert without a sound, but no training gives whole
     * numbers, so it is a wrong member or a cast gone wrong (astype(int)),
     * not a model. float16 is refused too: checkpoints are float32 as this
     * program writes them, or float64 as numpy makes them by default. */
    if (a->dtype != NPY_FLOAT32 && a->dtype != NPY_FLOAT64)
        return error_set(err, "%s: array '%s' is %s, but a checkpoint's weights must be float32 "
                              "or float64", path, name, npy_dtype_name(a->dtype));
    int same = a->ndim == t->ndim;
    for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == t->dim[d];
    if (!same) {
        char got[96], want[96];
        return error_set(err, "%s: array '%s' has shape %s, but the description needs %s", path,
                         name, npy_shape_string(a, got, sizeof got),
                         tensor_shape_string(t, want, sizeof want));
    }
    double *values = xmalloc(a->count * sizeof *values);
    npy_to_float64(a, values);
    for (size_t k = 0; k < a->count; k++) {
        /* checked after the conversion: a float64 of 1e300 is infinite as a float */
        t->data[k] = (real)values[k];
        if (!isfinite(t->data[k])) {
            error_set(err, "%s: array '%s' holds %g at index %zu%s: a checkpoint's weights must "
                           "be finite", path, name, values[k], k,
                      isfinite(values[k]) ? ", which is infinite as a " REAL_NAME : "");
            free(values);
            return -1;
        }
    }
    free(values);
    return 0;
}

/* A member that holds no weight of the network: the description, the input
 * shape, the class names, or one of the caller's own (named prefix...). */
static int is_not_a_weight(const char *name, const char *prefix)
{
    return !strcmp(name, "arch") || !strcmp(name, "input_shape") ||
           !strcmp(name, "class_names") || (prefix && !strncmp(name, prefix, strlen(prefix)));
}

Network *checkpoint_load(const char *path, CheckpointInfo *info_out, Error *err)
{
    return checkpoint_load_extra(path, info_out, NULL, NULL, err);
}

Network *checkpoint_load_extra(const char *path, CheckpointInfo *info_out, const char *prefix,
                               NpzFile *extra, Error *err)
{
    NpzFile npz;
    if (npz_read(path, &npz, err) != 0) return NULL;
    if (!prefix || strcmp(prefix, RESUME_MEMBERS))
        for (int m = 0; m < npz.count; m++)
            if (!strncmp(npz.arrays[m].name, RESUME_MEMBERS, strlen(RESUME_MEMBERS))) {
                error_set(err, "%s is a training run's resume file: besides the network it holds "
                               "the run's state ('%s' and more) for 'emotion train --resume', "
                               "not a model on its own; give the run's model.npz or best.npz",
                          path, npz.arrays[m].name);
                npz_free(&npz);
                return NULL;
            }
    CheckpointInfo info = {.channels = 1, .height = IMAGE_SIDE, .width = IMAGE_SIDE,
                           .classes = NUM_CLASSES};
    Network *net = NULL;
    char *names = NULL;
    char *description = text_member(&npz, path, "arch", err);
    if (!description && npz_find(&npz, "arch")) goto done;
    info.described = description != NULL;
    if (!description) {
        if (!(description = legacy_description(&npz, path, err))) goto done;
    } else if (read_input_shape(&npz, path, &info, err) != 0) {
        goto done;
    }
    char origin[600];
    snprintf(origin, sizeof origin, "%s: 'arch'", path);
    Arch arch;
    if (arch_parse(description, origin, &arch, err) != 0) goto done;
    names = text_member(&npz, path, "class_names", err);
    if (!names && npz_find(&npz, "class_names")) goto done;
    if (names) {
        if (read_class_names(names, path, &info, err) != 0) goto done;
        const ArchLayer *last = NULL;
        int scores = described_scores(&arch, &last);
        if (scores && scores != info.classes) {
            error_set(err, "%s: 'class_names' holds %d names, but its network gives %d scores "
                           "per image ('arch' %s: 'fc %d'); a checkpoint needs one class name "
                           "per score", path, info.classes, scores, last->where, scores);
            goto done;
        }
    } else {
        /* without names, the class count is the description's last width */
        const ArchLayer *last = &arch.layers[arch.count - 1];
        info.classes = last->kind == ARCH_FC || last->kind == ARCH_CONV ? last->width : 0;
    }

    /* The weights can be no more than the file's arrays hold: a description
     * asking for more is refused before they are allocated. */
    double values = 0;
    for (int m = 0; m < npz.count; m++) {
        const char *name = npz.arrays[m].name;
        if (!is_not_a_weight(name, prefix)) values += (double)npz.arrays[m].count;
    }
    net = arch_build_holding(&arch, origin, info.channels, info.height, info.width,
                             info.classes, values, err);
    if (!net) goto done;
    int loaded = 0;
    for (int i = 0; i < network_num_params(net); i++) {
        char name[64];
        Param *param = network_param(net, i, name, sizeof name);
        const NpyArray *a = npz_find(&npz, name);
        if (!a) {
            error_set(err, "%s: array '%s' is missing (the description has it)", path, name);
            goto fail;
        }
        if (load_tensor(a, path, name, param->value, err) != 0) goto fail;
        loaded++;
    }
    for (int i = 0; i < network_num_buffers(net); i++) {
        char name[64];
        Buffer *buffer = network_buffer(net, i, name, sizeof name);
        const NpyArray *a = npz_find(&npz, name);
        if (!a) {
            error_set(err, "%s: array '%s' is missing (the description has it)", path, name);
            goto fail;
        }
        if (load_tensor(a, path, name, buffer->value, err) != 0) goto fail;
        for (size_t k = 0; buffer->nonnegative && k < buffer->value->size; k++)
            if (buffer->value->data[k] < 0) {
                error_set(err, "%s: array '%s' holds %g at index %zu: a variance cannot be "
                               "negative", path, name, (double)buffer->value->data[k], k);
                goto fail;
            }
    }
    for (int m = 0; m < npz.count; m++) {
        const char *name = npz.arrays[m].name;
        int known = is_not_a_weight(name, prefix);
        for (int i = 0; !known && i < network_num_params(net); i++) {
            char param_name[64];
            network_param(net, i, param_name, sizeof param_name);
            known = !strcmp(name, param_name);
        }
        for (int i = 0; !known && i < network_num_buffers(net); i++) {
            char buffer_name[64];
            network_buffer(net, i, buffer_name, sizeof buffer_name);
            known = !strcmp(name, buffer_name);
        }
        if (!known) {
            error_set(err, "%s: array '%s' is not a parameter of the network the checkpoint "
                           "describes", path, name);
            goto fail;
        }
    }
    (void)loaded;
    goto done;
fail:
    network_free(net);
    net = NULL;
done:
    if (net && !info.class_names) {
        char buf[CLASS_NAME_MAX + 1];
        info.class_names = xcalloc((size_t)info.classes, sizeof *info.class_names);
        for (int k = 0; k < info.classes; k++) {
            class_default_name(k, info.classes, buf, sizeof buf);
            info.class_names[k] = xmalloc(strlen(buf) + 1);
            strcpy(info.class_names[k], buf);
        }
    }
    if (net && info_out) *info_out = info;
    else checkpoint_info_free(&info);
    free(description);
    free(names);
    if (net && extra) *extra = npz; /* the caller reads its members, then frees it */
    else npz_free(&npz);
    return net;
}

void checkpoint_info_free(CheckpointInfo *info)
{
    if (!info->class_names) return;
    for (int k = 0; k < info->classes; k++) free(info->class_names[k]);
    free(info->class_names);
    info->class_names = NULL;
}
