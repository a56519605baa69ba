/* emotion data export: dataset images as PGM/PPM files, so that `emotion
 * predict` can be tried on a real face from the data (and a person can look
 * at it). Grey images become binary PGM (P5), colour ones binary PPM (P6),
 * at their own size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "args.h"
#include "atomic_file.h"
#include "commands.h"
#include "files.h"
#include "image_io.h"
#include "loader.h"

#define PROG "emotion data export"
#define MAX_INDICES 1000

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion data export FILE.npz [--split train|val|test] --index I[,I...]\n"
        "                           OUT\n"
        "\n"
        "Writes dataset images as image files: grey ones as PGM (P5), colour ones as PPM\n"
        "(P6), at their own size, so that 'emotion predict' can be tried on them. With\n"
        "one index OUT is the file to write; with several, OUT is a folder (created if\n"
        "need be) that receives SPLIT_INDEX_LABEL.pgm for each, e.g. test_17_Happy.pgm.\n"
        "Each image's label is printed. An image replaces a file of its name only if\n"
        "that file is a PGM or PPM image too, and a name's extension (if it has one)\n"
        "must be the one the image takes: .pgm for grey, .ppm for colour (or .pnm).\n"
        "\n"
        "options:\n"
        "  --split NAME    the split to take images from (default test)\n"
        "  --index LIST    image numbers, counted from 0, separated by commas: 17 or\n"
        "                  3,17,40\n"
        "  -h, --help      show this help\n"
        "  --              what follows are the dataset and the output, even named -x\n");
}

/* "3,17,40" -> indices; -1 with a message for anything else. */
static int parse_indices(const char *text, int *indices, int *count)
{
    char copy[8192];
    if (strlen(text) >= sizeof copy) {
        fprintf(stderr, PROG ": --index lists at most %d numbers\n", MAX_INDICES);
        return -1;
    }
    strcpy(copy, text);
    *count = 0;
    for (char *part = copy, *next; part; part = next) {
        next = strchr(part, ',');
        if (next) *next++ = '\0';
        if (*count == MAX_INDICES) {
            fprintf(stderr, PROG ": --index lists at most %d numbers\n", MAX_INDICES);
            return -1;
        }
        if (arg_int(PROG, "--index", part, 0, 2147483647L, &indices[*count])) return -1;
        for (int k = 0; k < *count; k++)
            if (indices[k] == indices[*count]) {
                fprintf(stderr, PROG ": --index lists %d twice\n", indices[k]);
                return -1;
            }
        (*count)++;
    }
    return 0;
}

/* One image, (C, H, W) planes, as P5 or P6. */
static int write_image(const char *path, const Dataset *d, int index, Error *err)
{
    const size_t plane = (size_t)d->height * d->width;
    const uint8_t *image = d->images + (size_t)index * dataset_image_bytes(d);
    if (d->channels == 1) return image_write_pgm(path, image, d->width, d->height, err);
    uint8_t *rgb = xmalloc(3 * plane);
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < 3; c++) rgb[3 * p + c] = image[c * plane + p];
    int status = image_write_ppm(path, rgb, d->width, d->height, err);
    free(rgb);
    return status;
}

/* Whether path may receive an image of the given channels: an output
 * replaces only a regular file (atomic_replaceable), its name must not
 * say it holds something else (an .npz, a .csv, a .png: a checkpoint or a
 * dataset named there is more likely a mistake in the order of the
 * arguments than a wish to replace it), and a file already there must be
 * a PGM or PPM image, which is all this command writes. Returns 0, or -1
 * with a message. */
static int check_output(const char *path, int channels, Error *err)
{
    if (atomic_replaceable(path, err)) return -1;
    const char *kind = channels == 1 ? "a PGM image (P5)" : "a PPM image (P6)";
    const char *want = channels == 1 ? ".pgm" : ".ppm";
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    if (dot && dot != name && strcasecmp(dot, want) && strcasecmp(dot, ".pnm"))
        return error_set(err, "%s: the image is written as %s, not what a name ending in '%s' "
                              "holds; name it %s", path, kind, dot, want);
    struct stat st;
    int width, height;
    Error not_image;
    if (stat(path, &st) == 0 && image_size(path, &width, &height, &not_image))
        return error_set(err, "%s exists and is not a PGM or PPM image, which is all an export "
                              "replaces; remove it or name a new file", path);
    return 0;
}

int cmd_data_export(int argc, char **argv)
{
    const char *data_path = NULL, *split = "test", *out = NULL;
    int *indices = xmalloc(MAX_INDICES * sizeof *indices), count = 0, status = 2;
    ArgSeen seen = {0};
    int options_end = 0; /* after "--", the arguments are the dataset and the output */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const int option = !options_end && arg[0] == '-' && arg[1] != '\0';
        if (option && !strcmp(arg, "--")) {
            options_end = 1;
            continue;
        }
        if (option && (!strcmp(arg, "-h") || !strcmp(arg, "--help"))) {
            usage(stdout);
            free(indices);
            return 0;
        }
        if (option && (!strcmp(arg, "--split") || !strcmp(arg, "--index"))) {
            if (arg_once(PROG, &seen, arg)) {
                fputc('\n', stderr);
                goto usage_error;
            }
            if (++i == argc) {
                fprintf(stderr, PROG ": %s needs a value\n\n", arg);
                goto usage_error;
            }
            if (!strcmp(arg, "--split")) {
                split = argv[i];
                if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test")) {
                    fprintf(stderr, PROG ": --split is train, val or test, not '%s'\n\n", split);
                    goto usage_error;
                }
            } else if (parse_indices(argv[i], indices, &count)) {
                fputc('\n', stderr);
                goto usage_error;
            }
        } else if (option) {
            fprintf(stderr, PROG ": unknown option '%s'\n\n", arg);
            goto usage_error;
        } else if (!data_path) {
            data_path = arg;
        } else if (!out) {
            out = arg;
        } else {
            fprintf(stderr, PROG ": one dataset and one output ('%s' is one too many)\n\n", arg);
            goto usage_error;
        }
    }
    if (!data_path || !out || count == 0) {
        fprintf(stderr, PROG ": %s\n\n", !data_path ? "which dataset?" : count == 0
                                             ? "which images? --index I[,I...] is required"
                                             : "where to? give the output file (or folder)");
        goto usage_error;
    }
    if (arg_path(PROG, "the dataset", data_path) || arg_path(PROG, "the output", out)) {
        fputc('\n', stderr);
        goto usage_error;
    }

    /* The image replaces its file only once written whole, but it would
     * still replace the dataset it came from. */
    if (count == 1 && same_file(data_path, out)) {
        fprintf(stderr, PROG ": %s is the dataset itself; write the image somewhere else\n\n",
                out);
        goto usage_error;
    }

    Error err;
    Dataset d;
    char **paths = NULL; /* (count,) the files to write */
    status = 1;
    if (dataset_load(data_path, split, &d, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        free(indices);
        return 1;
    }
    for (int k = 0; k < count; k++)
        if (indices[k] >= d.count) {
            fprintf(stderr, PROG ": %s: the %s split has %d images (0 to %d), no image %d\n",
                    data_path, split, d.count, d.count - 1, indices[k]);
            goto done;
        }
    if (count > 1 && make_directories(out, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        goto done;
    }
    /* every file's name first, each checked, so that a bad one stops the
     * export before any image is written */
    const char *extension = d.channels == 1 ? "pgm" : "ppm";
    paths = xcalloc((size_t)count, sizeof *paths);
    for (int k = 0; k < count; k++) {
        const int index = indices[k], label = d.labels[index];
        if (count == 1) {
            paths[k] = xmalloc(strlen(out) + 1);
            strcpy(paths[k], out);
        } else {
            /* the label's name: its letters and digits, other runs as one '_' */
            char name[64];
            size_t n = 0;
            for (const char *c = d.class_names[label]; *c && n + 1 < sizeof name; c++) {
                int keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                           (*c >= '0' && *c <= '9');
                if (keep) name[n++] = *c;
                else if (n > 0 && name[n - 1] != '_') name[n++] = '_';
            }
            while (n > 0 && name[n - 1] == '_') n--;
            name[n] = '\0';
            size_t len = strlen(out) + strlen(split) + strlen(name) + 40;
            paths[k] = xmalloc(len);
            snprintf(paths[k], len, "%s/%s_%d_%s.%s", out, split, index, name, extension);
            /* a name the folder already holds might be the dataset itself */
            if (same_file(data_path, paths[k])) {
                fprintf(stderr, PROG ": %s is the dataset itself; write the images somewhere "
                                "else\n", paths[k]);
                goto done;
            }
        }
        if (check_output(paths[k], d.channels, &err)) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            goto done;
        }
    }
    for (int k = 0; k < count; k++) {
        const int index = indices[k], label = d.labels[index];
        if (write_image(paths[k], &d, index, &err)) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            goto done;
        }
        printf("wrote %s: %s image %d, %dx%dx%d, label %d (%s)\n", paths[k], split, index,
               d.channels, d.height, d.width, label, d.class_names[label]);
    }
    status = 0;
done:
    for (int k = 0; paths && k < count; k++) free(paths[k]);
    free(paths);
    dataset_free(&d);
    free(indices);
    return status;
usage_error:
    usage(stderr);
    free(indices);
    return 2;
}
