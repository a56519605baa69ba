/* emotion data: the dataset subcommands, and `info` itself.
 *
 * `info` is the first thing to run on a dataset someone hands you: it reads
 * every member completely (so a corrupt member is found now, not an hour
 * into training) and shows what is inside, the way numpy would name it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "commands.h"
#include "npz.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion data SUBCOMMAND [OPTIONS]\n"
        "\n"
        "The datasets the workbench trains on: .npz files (numpy's format) holding\n"
        "uint8 (N, 48, 48) images and int64 (N,) labels 0..6 as x_train/y_train,\n"
        "x_val/y_val and x_test/y_test.\n"
        "\n"
        "subcommands:\n"
        "  info FILE.npz\n"
        "        list every array: name, dtype, shape, and the count per class of labels\n"
        "  convert fer2013.csv [--out data/fer2013.npz]\n"
        "        convert FER2013's CSV into an .npz\n"
        "  synth [--out data/synth.npz] [--train N --val N --test N] [--seed S] [--balanced]\n"
        "        draw a synthetic faces dataset in the seven classes\n"
        "\n"
        "Run 'emotion data SUBCOMMAND --help' for a subcommand's options.\n");
}

static void info_usage(FILE *out)
{
    fprintf(out,
        "usage: emotion data info FILE.npz\n"
        "\n"
        "Reads every array of an .npz (or a single .npy) completely, checking each\n"
        "member's CRC-32, and prints one line per array: its name, its dtype as numpy\n"
        "names it and its shape. Label arrays (names starting with y_) also show how\n"
        "many examples each class has, and how many labels fall outside 0..6.\n"
        "Exits 0 if the file reads cleanly, 1 with the reason otherwise.\n"
        "\n"
        "options:\n"
        "  -h, --help   show this help\n");
}

/* " Angry 2, Disgust 1, ..." for a label array; labels outside 0..6 are
 * counted and flagged, since training would reject them. */
static void print_class_counts(const NpyArray *labels)
{
    int64_t *values = malloc((labels->count ? labels->count : 1) * sizeof *values);
    Error err;
    if (!values) {
        printf("  (no memory to count the labels)");
        return;
    }
    if (npy_to_int64(labels, values, &err)) {
        printf("  labels are not class numbers: %s", err.msg);
        free(values);
        return;
    }
    size_t per_class[NUM_CLASSES] = {0}, outside = 0;
    int64_t example = 0;
    for (size_t i = 0; i < labels->count; i++) {
        if (values[i] >= 0 && values[i] < NUM_CLASSES) {
            per_class[values[i]]++;
        } else if (outside++ == 0) {
            example = values[i];
        }
    }
    for (int c = 0; c < NUM_CLASSES; c++) printf("%s%s %zu", c ? ", " : "  ", class_names[c], per_class[c]);
    if (outside)
        printf("; WARNING: %zu label%s outside 0..6 (e.g. %lld)", outside, outside == 1 ? "" : "s",
               (long long)example);
    free(values);
}

static int is_label_array(const NpyArray *a)
{
    return !strncmp(a->name, "y_", 2);
}

/* Prints the arrays as aligned columns: name, dtype, shape, counts. */
static void print_arrays(const char *path, const NpyArray *arrays, int count)
{
    int name_width = 0, shape_width = 0;
    char shape[NPY_MAX_DIMS * 22 + 4];
    for (int i = 0; i < count; i++) {
        int n = (int)strlen(arrays[i].name), s = (int)strlen(npy_shape_string(&arrays[i], shape, sizeof shape));
        if (n > name_width) name_width = n;
        if (s > shape_width) shape_width = s;
    }
    printf("%s: %d array%s\n", path, count, count == 1 ? "" : "s");
    for (int i = 0; i < count; i++) {
        const NpyArray *a = &arrays[i];
        printf("  %-*s  %-7s  ", name_width, a->name, npy_dtype_name(a->dtype));
        if (is_label_array(a)) {
            printf("%-*s", shape_width, npy_shape_string(a, shape, sizeof shape));
            print_class_counts(a);
        } else {
            printf("%s", npy_shape_string(a, shape, sizeof shape));
        }
        printf("\n");
    }
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int cmd_data_info(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            info_usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "emotion data info: unknown option '%s'\n\n", argv[i]);
            info_usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "emotion data info: one file at a time ('%s' and '%s')\n\n", path, argv[i]);
            info_usage(stderr);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "emotion data info: which file?\n\n");
        info_usage(stderr);
        return 2;
    }

    Error err;
    if (has_suffix(path, ".npy")) {
        NpyArray a;
        if (npy_read(path, &a, &err)) {
            fprintf(stderr, "emotion data info: %s\n", err.msg);
            return 1;
        }
        print_arrays(path, &a, 1);
        npy_array_free(&a);
        return 0;
    }
    NpzFile npz;
    if (npz_read(path, &npz, &err)) {
        fprintf(stderr, "emotion data info: %s\n", err.msg);
        return 1;
    }
    print_arrays(path, npz.arrays, npz.count);
    npz_free(&npz);
    return 0;
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} Subcommand;

static const Subcommand subcommands[] = {
    {"info", cmd_data_info},
    {"convert", cmd_data_convert},
    {"synth", cmd_data_synth},
};

int cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "emotion data: unknown subcommand '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
