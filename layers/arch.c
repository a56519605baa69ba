/* arch.c: reading a network's description, and building the network.
 *
 * Two steps, each with its own kind of mistake:
 *   arch_parse  words and numbers: "conv 32 3x3 pad 1" -> ArchLayer
 *   arch_build  shapes: each layer must take the map the one before gives
 * so a description can be read (and its mistakes shown) without any data,
 * and then built for whatever images the data holds. */
#include "arch.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "conv.h"
#include "crop.h"
#include "dropout.h"
#include "fc.h"
#include "pool.h"
#include "relu.h"
#include "utf8.h"

const char arch_emotion_text[] =
    "conv 32 3x3 pad 1\n"
    "relu\n"
    "maxpool 2\n"
    "conv 64 3x3 pad 1\n"
    "relu\n"
    "maxpool 2\n"
    "fc 256\n"
    "relu\n"
    "fc 7\n";

/* What a network may hold: checked before anything is allocated, so a
 * description asking for 154 GB is an error message, not an abort. */
#define ARCH_MAX_PARAMS 100000000.0     /* 400 MB of float weights */
#define ARCH_MAX_ACTIVATIONS 16777216.0 /* per image and layer: 64 MB of floats */
#define ARCH_MAX_ALL_ACTIVATIONS (4 * ARCH_MAX_ACTIVATIONS) /* per image, every layer's output */
/* ... and how much it may compute: a forward pass of 100 GFLOP per image
 * (as the table counts them), 500 times models/fer2013.net's and 3 times
 * VGG-16's at 224x224, about a second per image on a machine of a few
 * cores. Past it lie descriptions no one trains, which would run for hours
 * before their first figure: a 1024x1024 kernel, a stride-1 max-pool of
 * 1024x1024 windows (1e12 comparisons per channel of a 1024x1024 map). */
#define ARCH_MAX_FLOPS 1e11

static const char *const kind_names[] = {"conv", "relu", "maxpool", "avgpool", "fc",
                                         "batchnorm", "dropout", "crop"};
/* The prefix of each kind's layer names: conv1, relu1, pool1, fc1, bn1, drop1,
 * crop1. Max and average pools share one count. */
static const char *const name_prefixes[] = {"conv", "relu", "pool", "pool", "fc", "bn", "drop",
                                            "crop"};

/* ---- parsing ----------------------------------------------------------- */

/* The words of one item, split at blanks (the item is modified). The
 * longest layer has 9: "conv 64 3x3 stride 1 pad 1 nobias winograd", as
 * arch_format writes it into every checkpoint. */
#define MAX_WORDS 9

static int split_words(char *item, char **words)
{
    int count = 0;
    for (char *p = strtok(item, " \t\r\v\f"); p; p = strtok(NULL, " \t\r\v\f")) {
        if (count == MAX_WORDS) return MAX_WORDS + 1;
        words[count++] = p;
    }
    return count;
}

/* A whole number in [1, max] (or [0, max] when zero_ok). */
static int read_number(const char *text, int zero_ok, int max, int *value)
{
    if (!*text || strlen(text) > 9) return -1;
    for (const char *c = text; *c; c++)
        if (!isdigit((unsigned char)*c)) return -1;
    long v = strtol(text, NULL, 10);
    if (v > max || (v == 0 && !zero_ok)) return -1;
    *value = (int)v;
    return 0;
}

/* "3" or "3x5". */
static int read_kernel(const char *text, int *height, int *width)
{
    char first[16];
    const char *x = strchr(text, 'x');
    if (!x) {
        if (read_number(text, 0, ARCH_MAX_KERNEL, height)) return -1;
        *width = *height;
        return 0;
    }
    size_t len = (size_t)(x - text);
    if (len == 0 || len >= sizeof first) return -1;
    memcpy(first, text, len);
    first[len] = '\0';
    return read_number(first, 0, ARCH_MAX_KERNEL, height) ||
           read_number(x + 1, 0, ARCH_MAX_KERNEL, width);
}

/* How much padding a window can use. A convolution's first window starts
 * pad rows above the image and covers k of them, so it reaches the image
 * only if pad <= k - 1 (the "full" convolution); more padding adds outputs
 * that see zeros alone, whatever the stride: a bias and nothing else, and
 * a map that grows with the pad (conv 1 1x1 pad 1024 turns 48x48 into
 * 2096x2096). A pool may pad at most half its window, as PyTorch requires,
 * so that every window holds at least one real value (pool.h). The one pad
 * applies to both sides, so the smaller side of a window limits it. */
static int check_pad(const ArchLayer *layer, Error *err)
{
    const int side = layer->kernel_h < layer->kernel_w ? layer->kernel_h : layer->kernel_w;
    if (layer->kind == ARCH_CONV && layer->pad > side - 1)
        return error_set(err, "'pad %d' is more than a %dx%d kernel can use: at most %d, its "
                              "%s less one (beyond that, outputs at the border would see only "
                              "padding)", layer->pad, layer->kernel_h, layer->kernel_w, side - 1,
                         layer->kernel_h == layer->kernel_w ? "size" : "smaller side");
    if (layer->kind != ARCH_CONV && 2 * layer->pad > side)
        return error_set(err, "'pad %d' is more than half the %dx%d window: at most %d, as in "
                              "PyTorch (beyond that, a window could hold only padding)",
                         layer->pad, layer->kernel_h, layer->kernel_w, side / 2);
    return 0;
}

/* One item's words -> layer; -1 with a message (without the position). */
static int parse_item(char **words, int count, ArchLayer *layer, Error *err)
{
    const char *name = words[0];
    int kind = -1;
    for (int k = 0; k < (int)(sizeof kind_names / sizeof kind_names[0]); k++)
        if (!strcmp(name, kind_names[k])) kind = k;
    if (kind < 0)
        return error_set(err, "unknown layer '%s' (the layers are conv, relu, maxpool, avgpool, "
                              "fc, batchnorm, dropout and crop)", name);
    memset(layer, 0, sizeof *layer);
    layer->kind = (ArchKind)kind;
    layer->stride = 1;
    int next = 1;

    switch (layer->kind) {
    case ARCH_RELU:
    case ARCH_BATCHNORM:
        break;
    case ARCH_DROPOUT: {
        if (next >= count)
            return error_set(err, "'dropout' needs the probability of dropping a value, e.g. "
                                  "'dropout 0.5'");
        const char *text = words[next];
        char *end;
        int shaped = strlen(text) < sizeof layer->p_text && (isdigit((unsigned char)text[0]) ||
                                                             text[0] == '.');
        double p = shaped ? strtod(text, &end) : -1;
        if (!shaped || *end || !(p >= 0 && p < 1))
            return error_set(err, "'dropout' needs a probability from 0 up to (not including) "
                                  "1, not '%s'", text);
        layer->p = p;
        snprintf(layer->p_text, sizeof layer->p_text, "%s", text);
        next++;
        break;
    }
    case ARCH_CROP:
        if (next >= count)
            return error_set(err, "'crop' needs a window size, e.g. 'crop 40' or 'crop 40x36'");
        if (read_kernel(words[next], &layer->kernel_h, &layer->kernel_w))
            return error_set(err, "'crop' needs a window size K or KHxKW (whole numbers from 1 "
                                  "to %d), not '%s'", ARCH_MAX_KERNEL, words[next]);
        next++;
        break;
    case ARCH_FC:
        if (next >= count) return error_set(err, "'fc' needs a number of outputs, e.g. 'fc 256'");
        if (read_number(words[next], 0, ARCH_MAX_WIDTH, &layer->width))
            return error_set(err, "'fc' needs a number of outputs from 1 to %d, not '%s'",
                             ARCH_MAX_WIDTH, words[next]);
        next++;
        if (next < count && !strcmp(words[next], "nobias")) {
            layer->no_bias = 1;
            next++;
        }
        break;
    case ARCH_CONV:
        if (next >= count)
            return error_set(err, "'conv' needs a number of filters and a kernel, e.g. "
                                  "'conv 32 3x3'");
        if (read_number(words[next], 0, ARCH_MAX_WIDTH, &layer->width))
            return error_set(err, "'conv' needs a number of filters from 1 to %d, not '%s'",
                             ARCH_MAX_WIDTH, words[next]);
        next++;
        /* fall through - a kernel and options follow, as for the pools */
    case ARCH_MAXPOOL:
    case ARCH_AVGPOOL:
        if (next >= count)
            return error_set(err, "'%s' needs a kernel size, e.g. '%s'", name,
                             layer->kind == ARCH_CONV ? "conv 32 3x3" : "maxpool 2");
        if (read_kernel(words[next], &layer->kernel_h, &layer->kernel_w))
            return error_set(err, "'%s' needs a kernel size K or KHxKW (whole numbers from 1 "
                                  "to %d), not '%s'", name, ARCH_MAX_KERNEL, words[next]);
        next++;
        /* pools step by their window unless told otherwise */
        if (layer->kind != ARCH_CONV) layer->stride = layer->kernel_h;
        if (layer->kind != ARCH_CONV && layer->kernel_h != layer->kernel_w) layer->stride = 0;
        /* each option at most once: a second would silently win */
        for (int given = 0; next < count; ) {
            const char *option = words[next];
            int is_stride = !strcmp(option, "stride"), is_pad = !strcmp(option, "pad");
            int is_winograd = !strcmp(option, "winograd");
            int bit = is_stride ? 1 : is_pad ? 2 : !strcmp(option, "nobias") ? 4 : is_winograd ? 8 : 0;
            if (given & bit) return error_set(err, "'%s' given twice", option);
            given |= bit;
            if (layer->kind == ARCH_CONV && (bit == 4 || bit == 8)) {
                *(bit == 4 ? &layer->no_bias : &layer->winograd) = 1;
                next++;
                continue;
            }
            if (!is_stride && !is_pad)
                return error_set(err, "'%s' takes 'stride S'%s and 'pad P' after its kernel; "
                                      "'%s' is not one of them", name,
                                 layer->kind == ARCH_CONV ? ", 'nobias', 'winograd'" : "", option);
            if (next + 1 >= count) return error_set(err, "'%s' needs a value", option);
            int *target = is_stride ? &layer->stride : &layer->pad;
            if (read_number(words[next + 1], is_pad, ARCH_MAX_KERNEL, target))
                return error_set(err, "'%s' needs a whole number from %d to %d, not '%s'",
                                 option, is_pad ? 0 : 1, ARCH_MAX_KERNEL, words[next + 1]);
            next += 2;
        }
        if (layer->stride == 0)
            return error_set(err, "a %dx%d window needs 'stride S': the default stride is the "
                                  "window's size, and this one is not square",
                             layer->kernel_h, layer->kernel_w);
        if (check_pad(layer, err)) return -1;
        if (layer->winograd && (layer->kernel_h != 3 || layer->kernel_w != 3 || layer->stride != 1))
            return error_set(err, "'winograd' computes 3x3 convolutions with stride 1, not %dx%d "
                                  "with stride %d", layer->kernel_h, layer->kernel_w,
                             layer->stride);
        break;
    }
    if (next < count)
        return error_set(err, "unexpected '%s' after '%s'", words[next], name);
    return 0;
}

/* The line (from 1) of byte `at` of text, and where that line starts. */
static int line_of(const char *text, long at, long *line_start)
{
    int line = 1;
    *line_start = 0;
    for (long k = 0; k < at; k++)
        if (text[k] == '\n') line++, *line_start = k + 1;
    return line;
}

/* A word is plain ASCII, so a space that only looks like ' ' (U+00A0, say,
 * which some editors type for Alt+Space or paste from web pages) would
 * make 'conv\u00A04' one unknown word: named instead. Returns 0, or -1. */
static int check_spaces(const char *item, const char *origin, const char *where, Error *err)
{
    const size_t len = strlen(item);
    for (size_t at = 0; at < len; at++) {
        if ((unsigned char)item[at] < 0x80) continue;
        uint32_t c;
        int length = utf8_decode((const uint8_t *)item + at, len - at, &c);
        if (length > 0 && utf8_is_unusual_space(c)) {
            while (*item == ' ' || *item == '\t' || *item == '\r') item++;
            size_t n = strlen(item);
            while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t' || item[n - 1] == '\r')) n--;
            return error_set(err, "%s %s: '%.*s' holds U+%04X, %s; separate words with plain "
                                  "spaces", origin, where, (int)n, item, (unsigned)c,
                             utf8_character_name(c));
        }
        if (length > 1) at += (size_t)length - 1;
    }
    return 0;
}

int arch_parse(const char *text, const char *origin, Arch *arch, Error *err)
{
    memset(arch, 0, sizeof *arch);
    /* Lines end in "\n", "\r\n" (Windows; the '\r' is a blank) or a lone
     * "\r" (old Mac files), which becomes "\n": the same length, so byte
     * offsets in messages stay those of the file. */
    char *copy = xmalloc(strlen(text) + 1);
    strcpy(copy, text);
    for (char *c = copy; *c; c++)
        if (*c == '\r' && c[1] != '\n') *c = '\n';
    /* words of the text are quoted in messages: no terminal control, nothing
     * invisible (a byte order mark may open the file, and nothing else) */
    uint32_t code;
    long at = utf8_find_unprintable((const uint8_t *)copy, strlen(copy), "\t\n\r", &code);
    if (at >= 0) {
        long line_start;
        int line = line_of(copy, at, &line_start);
        free(copy);
        if (code == UTF8_NOT_UTF8)
            return error_set(err, "%s line %d: not UTF-8 text (at byte %ld of the line)", origin,
                             line, at - line_start);
        if (utf8_character_name(code))
            return error_set(err, "%s line %d: U+%04X, %s, at byte %ld of the line%s; a "
                                  "description is plain text", origin, line, (unsigned)code,
                             utf8_character_name(code), at - line_start,
                             code == 0xFEFF ? " (only the first character of a file may be one)"
                                            : "");
        return error_set(err, "%s line %d: the control character U+%04X; a description is plain "
                              "text", origin, line, (unsigned)code);
    }
    /* a file saved by some editors (Notepad) starts with the UTF-8 byte
     * order mark, invisible in a message: skipped */
    char *start = !strncmp(copy, "\xEF\xBB\xBF", 3) ? copy + 3 : copy;
    const int multiline = strchr(start, '\n') != NULL && strchr(start, '\n')[1] != '\0';
    int status = 0, line = 0;
    char *rest = start;
    while (rest && status == 0) {
        char *line_text = rest;
        rest = strchr(rest, '\n');
        if (rest) *rest++ = '\0';
        line++;
        char *hash = strchr(line_text, '#');
        if (hash && !multiline && strchr(hash, ',')) {
            /* on one line, a comment would silently drop the items after it */
            const char *hidden = strchr(hash, ',') + 1;
            while (*hidden == ' ' || *hidden == '\t') hidden++;
            status = error_set(err, "%s: '#' starts a comment that runs to the end of the line, "
                                    "so it would hide the items after it ('%s'); on one line, "
                                    "put a comment only at the end", origin, hidden);
            break;
        }
        if (hash) *hash = '\0';
        /* the items of this line */
        int items_on_line = 1;
        for (char *c = line_text; *c; c++) items_on_line += *c == ',';
        int item = 0;
        char *item_rest = line_text;
        while (item_rest && status == 0) {
            char *item_text = item_rest;
            item_rest = strchr(item_rest, ',');
            if (item_rest) *item_rest++ = '\0';
            item++;
            char where[48];
            if (multiline && items_on_line > 1) snprintf(where, sizeof where, "line %d, item %d", line, item);
            else if (multiline) snprintf(where, sizeof where, "line %d", line);
            else snprintf(where, sizeof where, "item %d", item);

            if (check_spaces(item_text, origin, where, err)) {
                status = -1;
                break;
            }
            char *words[MAX_WORDS + 1];
            int count = split_words(item_text, words);
            if (count == 0) {
                /* a blank line is fine; an empty item between commas is not */
                if (items_on_line > 1)
                    status = error_set(err, "%s %s: empty item between commas", origin, where);
                continue;
            }
            if (count > MAX_WORDS) {
                status = error_set(err, "%s %s: too many words for one layer (is a comma or a "
                                        "line break missing?)", origin, where);
                break;
            }
            if (arch->count == ARCH_MAX_LAYERS) {
                status = error_set(err, "%s %s: a network holds at most %d layers", origin, where,
                                   ARCH_MAX_LAYERS);
                break;
            }
            ArchLayer *layer = &arch->layers[arch->count];
            if (parse_item(words, count, layer, err) != 0) {
                status = error_prefix(err, "%s %s", origin, where);
                break;
            }
            snprintf(layer->where, sizeof layer->where, "%s", where);
            arch->count++;
        }
    }
    free(copy);
    if (status == 0 && arch->count == 0)
        status = error_set(err, "%s: the description has no layers", origin);
    return status;
}

/* ---- writing ----------------------------------------------------------- */

static int format_layer(const ArchLayer *l, char *buf, size_t len)
{
    switch (l->kind) {
    case ARCH_RELU:
        return snprintf(buf, len, "relu");
    case ARCH_BATCHNORM:
        return snprintf(buf, len, "batchnorm");
    case ARCH_DROPOUT:
        return snprintf(buf, len, "dropout %s", l->p_text);
    case ARCH_CROP:
        return snprintf(buf, len, "crop %dx%d", l->kernel_h, l->kernel_w);
    case ARCH_FC:
        return snprintf(buf, len, "fc %d%s", l->width, l->no_bias ? " nobias" : "");
    case ARCH_CONV:
        return snprintf(buf, len, "conv %d %dx%d stride %d pad %d%s%s", l->width, l->kernel_h,
                        l->kernel_w, l->stride, l->pad, l->no_bias ? " nobias" : "",
                        l->winograd ? " winograd" : "");
    case ARCH_MAXPOOL:
    case ARCH_AVGPOOL:
        if (l->pad)
            return snprintf(buf, len, "%s %dx%d stride %d pad %d", kind_names[l->kind],
                            l->kernel_h, l->kernel_w, l->stride, l->pad);
        return snprintf(buf, len, "%s %dx%d stride %d", kind_names[l->kind], l->kernel_h,
                        l->kernel_w, l->stride);
    }
    return 0;
}

int arch_format(const Arch *arch, char *buf, size_t len)
{
    size_t used = 0;
    for (int i = 0; i < arch->count; i++) {
        char line[128];
        format_layer(&arch->layers[i], line, sizeof line);
        int n = snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0, "%s\n", line);
        used += (size_t)n;
    }
    if (arch->count == 0 && len) buf[0] = '\0';
    return (int)used;
}

/* ---- building ---------------------------------------------------------- */

/* How many parameters a network may hold, and how messages name that cap. */
typedef struct {
    double max;
    const char *what; /* "more than <what>" */
    const char *hint; /* after an fc layer's message, or "" */
} ParamCap;

/* The layer for a description entry, given the map it meets (ndim 2 or 4,
 * dims per item: dims[1..]) in a network that already holds `held`
 * parameters. NULL with a message if it cannot take that map or would take
 * the network past the cap; nothing large is allocated before that check. */
static Layer *create_layer(const ArchLayer *l, int ndim, const int *dims, double held,
                           const ParamCap *cap, Error *err)
{
    char text[128];
    format_layer(l, text, sizeof text);
    const int needs_map = l->kind == ARCH_CONV || l->kind == ARCH_MAXPOOL ||
                          l->kind == ARCH_AVGPOOL || l->kind == ARCH_CROP;
    if (needs_map && ndim != 4) {
        error_set(err, "'%s' needs an image map (C, H, W), but it meets the %d values a fully "
                       "connected layer gives (put convolutions and pools before 'fc')",
                  text, dims[1]);
        return NULL;
    }
    if (needs_map) {
        const int H = dims[2] + 2 * l->pad, W = dims[3] + 2 * l->pad;
        if (l->kernel_h > H || l->kernel_w > W) {
            if (l->pad)
                error_set(err, "'%s': the %dx%d %s is larger than the %dx%d map it meets "
                               "(%dx%d with padding %d)", text, l->kernel_h, l->kernel_w,
                          l->kind == ARCH_CONV ? "kernel" : "window", dims[2], dims[3], H, W, l->pad);
            else
                error_set(err, "'%s': the %dx%d %s is larger than the %dx%d map it meets", text,
                          l->kernel_h, l->kernel_w, l->kind == ARCH_CONV ? "kernel" : "window",
                          dims[2], dims[3]);
            return NULL;
        }
    }
    double in_size = 1;
    for (int d = 1; d < ndim; d++) in_size *= dims[d];
    switch (l->kind) {
    case ARCH_CONV: {
        const double weights = (double)l->width * dims[1] * l->kernel_h * l->kernel_w;
        if (held + weights > cap->max) {
            error_set(err, "'%s' would hold %.0f weights, and the network %.0f in all, more "
                           "than %s",
                      text, weights, held + weights, cap->what);
            return NULL;
        }
        return conv_create(dims[1], l->width, l->kernel_h, l->kernel_w, l->stride, l->pad, err);
    }
    case ARCH_RELU:
        return relu_create();
    case ARCH_BATCHNORM:
        return batchnorm_create(dims[1], err);
    case ARCH_DROPOUT:
        return dropout_create(l->p, err);
    case ARCH_CROP:
        return crop_create(l->kernel_h, l->kernel_w, err);
    case ARCH_MAXPOOL:
        return maxpool_create(l->kernel_h, l->kernel_w, l->stride, l->pad, err);
    case ARCH_AVGPOOL:
        return avgpool_create(l->kernel_h, l->kernel_w, l->stride, l->pad, err);
    case ARCH_FC:
        if (held + in_size * l->width > cap->max) {
            error_set(err, "'%s' meets %.0f values: %.0f weights, and the network %.0f in all, "
                           "more than %s%s",
                      text, in_size, in_size * l->width, held + in_size * l->width, cap->what,
                      cap->hint);
            return NULL;
        }
        return fc_create((int)in_size, l->width, err);
    }
    return NULL;
}

/* What the layers so far add up to, per image. */
typedef struct {
    double outputs; /* values in the outputs that get a buffer of their own */
    double flops;   /* forward floating-point operations */
} Totals;

/* Whether a layer just created (its weights within the cap: create_layer)
 * keeps the network within the limits, with its output of out_ndim/out
 * for an input of ndim/dims; it adds itself to the totals. -1 with a
 * message (without the position) otherwise. */
static int sizes_fit(const ArchLayer *l, const Layer *layer, int ndim, const int *dims,
                     int out_ndim, const int *out, double held, const ParamCap *cap,
                     Totals *totals, Error *err)
{
    double size = 1;
    for (int d = 1; d < out_ndim; d++) size *= out[d];
    if (size > ARCH_MAX_ACTIVATIONS)
        return error_set(err, "the layer's output holds %.0f values per image, more than %.0f",
                         size, ARCH_MAX_ACTIVATIONS);
    if (!layer->ops->in_place) totals->outputs += size;
    if (totals->outputs > ARCH_MAX_ALL_ACTIVATIONS)
        return error_set(err, "the layers' outputs so far hold %.0f values per image, more than "
                              "%.0f", totals->outputs, ARCH_MAX_ALL_ACTIVATIONS);
    char text[128];
    format_layer(l, text, sizeof text);
    double params = 0;
    for (int p = 0; p < layer->num_params; p++) params += (double)layer->params[p].value->size;
    if (held + params > cap->max) /* a batchnorm's: conv and fc were checked before */
        return error_set(err, "'%s' brings the network to %.0f parameters, more than %s", text,
                         held + params, cap->what);
    const double flops = layer->ops->flops ? layer->ops->flops(layer, ndim, dims) : 0;
    totals->flops += flops;
    if (totals->flops > ARCH_MAX_FLOPS && totals->flops > flops)
        return error_set(err, "'%s' brings the network's forward pass to %.3g floating-point "
                              "operations per image (%.3g of them its own), more than the %.0e a "
                              "network may compute", text, totals->flops, flops, ARCH_MAX_FLOPS);
    if (totals->flops > ARCH_MAX_FLOPS)
        return error_set(err, "'%s' computes %.3g floating-point operations per image, more "
                              "than the %.0e a network may compute", text, flops, ARCH_MAX_FLOPS);
    return 0;
}

static Network *build(const Arch *arch, const char *origin, int channels, int height, int width,
                      int classes, const ParamCap *cap, Error *err)
{
    if ((double)channels * height * width > ARCH_MAX_ACTIVATIONS) {
        error_set(err, "input %dx%dx%d is too large", channels, height, width);
        return NULL;
    }
    Network *net = network_new(channels, height, width);
    int counts[sizeof kind_names / sizeof kind_names[0]] = {0};
    Totals totals = {0, 0};
    for (int i = 0; i < arch->count; i++) {
        const ArchLayer *l = &arch->layers[i];
        int ndim, dims[TENSOR_MAX_DIMS];
        network_item_shape(net, &ndim, dims);
        Layer *layer = create_layer(l, ndim, dims, (double)network_param_count(net), cap, err);
        char name[32];
        int kind = l->kind == ARCH_AVGPOOL ? ARCH_MAXPOOL : l->kind;
        snprintf(name, sizeof name, "%s%d", name_prefixes[l->kind], ++counts[kind]);
        /* without its bias: the bias (params[1] of conv and fc) stays 0, unlisted,
         * so no optimizer moves it and no checkpoint holds it */
        if (layer && l->no_bias) layer->num_params = 1;
        if (layer && l->winograd) conv_use_winograd(layer);
        /* the output's size is checked before network_add allocates it */
        int out_ndim, out[TENSOR_MAX_DIMS];
        if (!layer || layer_output_shape(layer, ndim, dims, &out_ndim, out, err) != 0 ||
            sizes_fit(l, layer, ndim, dims, out_ndim, out, (double)network_param_count(net), cap,
                      &totals, err) != 0) {
            error_prefix(err, "%s %s", origin, l->where);
            layer_free(layer);
            network_free(net);
            return NULL;
        }
        if (network_add(net, layer, name, err) != 0) {
            error_prefix(err, "%s %s", origin, l->where);
            network_free(net);
            return NULL;
        }
    }
    const int scores = network_output_size(net);
    if (classes > 0 && scores != classes) {
        error_set(err, "%s %s: the last layer gives %d score%s per image, but the data has %d "
                       "classes (end with 'fc %d')", origin, arch->layers[arch->count - 1].where,
                  scores, scores == 1 ? "" : "s", classes, classes);
        network_free(net);
        return NULL;
    }
    char text[4096];
    if (arch_format(arch, text, sizeof text) >= (int)sizeof text) {
        error_set(err, "%s: the description is too long", origin);
        network_free(net);
        return NULL;
    }
    network_set_description(net, text);
    return net;
}

Network *arch_build(const Arch *arch, const char *origin, int channels, int height, int width,
                    int classes, Error *err)
{
    char what[64];
    snprintf(what, sizeof what, "the %.0f a network may hold", ARCH_MAX_PARAMS);
    const ParamCap cap = {ARCH_MAX_PARAMS, what, " (pool or stride the maps down first)"};
    return build(arch, origin, channels, height, width, classes, &cap, err);
}

Network *arch_build_holding(const Arch *arch, const char *origin, int channels, int height,
                            int width, int classes, double values, Error *err)
{
    /* Up to 4 million more weights than the file holds (16 MB of floats) are
     * cheap to allocate, and the build then goes on to name the missing
     * array; past that the description cannot be the file's. */
    const double slack = 4194304;
    if (values + slack >= ARCH_MAX_PARAMS)
        return arch_build(arch, origin, channels, height, width, classes, err);
    char what[64];
    snprintf(what, sizeof what, "the %.0f values the file holds", values);
    const ParamCap cap = {values + slack, what, ""};
    return build(arch, origin, channels, height, width, classes, &cap, err);
}

Network *arch_build_text(const char *text, const char *origin, int channels, int height,
                         int width, int classes, Error *err)
{
    Arch arch;
    if (arch_parse(text, origin, &arch, err) != 0) return NULL;
    return arch_build(&arch, origin, channels, height, width, classes, err);
}

/* ---- the table ---------------------------------------------------------- */

void arch_print_table(FILE *out, const Network *net)
{
    int ndim, dims[TENSOR_MAX_DIMS];
    char shape[64];
    double total_flops = 0;
    fprintf(out, "  %-8s %-18s %12s %12s\n", "layer", "output (C, H, W)", "parameters",
            "MFLOP/image");
    /* the input */
    shape_string(3, net->input_dims, shape, sizeof shape);
    fprintf(out, "  %-8s %-18s %12s %12s\n", "input", shape, "", "");
    for (int i = 0; i < net->num_layers; i++) {
        const Layer *layer = net->layers[i];
        int in_ndim, in_dims[TENSOR_MAX_DIMS];
        network_shape_after(net, i, &in_ndim, in_dims);
        network_shape_after(net, i + 1, &ndim, dims);
        size_t params = 0;
        for (int p = 0; p < layer->num_params; p++) params += layer->params[p].value->size;
        double flops = layer->ops->flops ? layer->ops->flops(layer, in_ndim, in_dims) : 0;
        total_flops += flops;
        shape_string(ndim - 1, dims + 1, shape, sizeof shape);
        char param_text[32] = "";
        if (params) snprintf(param_text, sizeof param_text, "%zu", params);
        fprintf(out, "  %-8s %-18s %12s %12.3f\n", layer->name, shape, param_text, flops / 1e6);
    }
    fprintf(out, "  %-8s %-18s %12zu %12.3f\n", "total", "", network_param_count(net),
            total_flops / 1e6);
}
