/* emotion data: the dataset subcommands, and `info` itself.
 *
 * `info` is the first thing to run on a dataset someone hands you: it reads
 * every member completely (so a corrupt member is found now, not an hour
 * into training) and shows what is inside, the way numpy would name it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "classes.h"
#include "commands.h"
#include "loader.h"
#include "npz.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion data SUBCOMMAND [OPTIONS]\n"
        "\n"
        "The datasets the workbench trains on: .npz files (numpy's format) holding\n"
        "images (N, H, W) or (N, C, H, W) and integer (N,) labels as x_train/y_train,\n"
        "x_val/y_val and x_test/y_test, and optionally class_names.\n"
        "\n"
        "subcommands:\n"
        "  info FILE.npz\n"
        "        list every array: name, dtype, shape, and the count per class of labels\n"
        "  convert fer2013.csv [--out data/fer2013.npz]\n"
        "        convert FER2013's CSV into an .npz\n"
        "  synth [--out data/synth.npz] [--train N --val N --test N] [--seed S]\n"
        "        [--balanced]\n"
        "        draw a synthetic faces dataset in the seven classes\n"
        "  export FILE.npz [--split NAME] --index I[,I...] OUT\n"
        "        write dataset images as PGM/PPM files (to try 'emotion predict' on)\n"
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
        "many examples each class has, and how many labels fall outside the classes.\n"
        "Then the classes (their number and names: from a class_names member, else\n"
        "the largest label plus one) and each split as the loader reads it: its\n"
        "images and their shape (C, H, W), or what the loader would refuse.\n"
        "Exits 0 if the file reads cleanly, 1 with the reason otherwise.\n"
        "\n"
        "options:\n"
        "  -h, --help   show this help\n"
        "  --           what follows is the file, even one named -data.npz\n");
}

/* The file's classes, as the loader decides them, for counting labels. */
typedef struct {
    int known;   /* 0: the file's classes could not be decided (see message) */
    int count;
    char **names;
    char message[sizeof ((Error *)0)->msg];
} Classes;

/* "  Angry: 2, Disgust: 1, ..." for a label array; labels outside the
 * classes are counted and flagged, since training would reject them. */
static void print_class_counts(const NpyArray *labels, const Classes *classes)
{
    if (!classes->known) {
        printf("  (classes unknown: see below)");
        return;
    }
    int64_t *values = malloc((labels->count ? labels->count : 1) * sizeof *values);
    size_t *per_class = calloc((size_t)classes->count, sizeof *per_class);
    Error err;
    if (!values || !per_class) {
        printf("  (no memory to count the labels)");
    } else if (npy_to_int64(labels, values, &err)) {
        printf("  labels are not class numbers: %s", err.msg);
    } else {
        size_t outside = 0;
        int64_t example = 0;
        for (size_t i = 0; i < labels->count; i++) {
            if (values[i] >= 0 && values[i] < classes->count) {
                per_class[values[i]]++;
            } else if (outside++ == 0) {
                example = values[i];
            }
        }
        for (int c = 0; c < classes->count; c++)
            printf("%s%s: %zu", c ? ", " : "  ", classes->names[c], per_class[c]);
        if (outside)
            printf("; WARNING: %zu label%s outside 0..%d (e.g. %lld)", outside,
                   outside == 1 ? "" : "s", classes->count - 1, (long long)example);
    }
    free(values);
    free(per_class);
}

static int is_label_array(const NpyArray *a)
{
    return !strncmp(a->name, "y_", 2);
}

/* The dtype as numpy prints it: "uint8", "float32"; strings as "<U7", "|S5". */
static const char *dtype_text(const NpyArray *a, char *buf, size_t len)
{
    if (a->dtype == NPY_UNICODE) snprintf(buf, len, "<U%zu", a->string_length);
    else if (a->dtype == NPY_BYTES) snprintf(buf, len, "|S%zu", a->string_length);
    else snprintf(buf, len, "%s", npy_dtype_name(a->dtype));
    return buf;
}

/* Prints the arrays as aligned columns: name, dtype, shape, counts. */
static void print_arrays(const char *path, const NpyArray *arrays, int count, const Classes *classes)
{
    int name_width = 0, shape_width = 0;
    char shape[NPY_MAX_DIMS * 22 + 4], dtype[32];
    for (int i = 0; i < count; i++) {
        int n = (int)strlen(arrays[i].name), s = (int)strlen(npy_shape_string(&arrays[i], shape, sizeof shape));
        if (n > name_width) name_width = n;
        if (s > shape_width) shape_width = s;
    }
    printf("%s: %d array%s\n", path, count, count == 1 ? "" : "s");
    for (int i = 0; i < count; i++) {
        const NpyArray *a = &arrays[i];
        printf("  %-*s  %-7s  ", name_width, a->name, dtype_text(a, dtype, sizeof dtype));
        if (is_label_array(a) && classes) {
            printf("%-*s", shape_width, npy_shape_string(a, shape, sizeof shape));
            print_class_counts(a, classes);
        } else {
            printf("%s", npy_shape_string(a, shape, sizeof shape));
        }
        printf("\n");
    }
}

/* Whether any integer y_ member holds the label 0. */
static int has_label_zero(const NpzFile *npz)
{
    for (int m = 0; m < npz->count; m++) {
        const NpyArray *y = &npz->arrays[m];
        if (!is_label_array(y)) continue;
        int64_t *values = malloc((y->count ? y->count : 1) * sizeof *values);
        if (!values) return 1; /* no memory to look: claim nothing */
        Error err;
        int found = 0;
        if (npy_to_int64(y, values, &err) == 0)
            for (size_t i = 0; i < y->count && !found; i++) found = values[i] == 0;
        free(values);
        if (found) return 1;
    }
    return 0;
}

/* The classes, then every split (a pair x_<split>, y_<split>) as the
 * loader would read it for training: how many images, of what shape. */
static void print_classes_and_splits(const char *path, const NpzFile *npz, const Classes *classes)
{
    if (!classes->known) {
        printf("classes: WARNING: %s\n", classes->message);
    } else {
        const int named = npz_find(npz, "class_names") != NULL;
        const int fer_names = !named && classes->count == NUM_CLASSES &&
                              !strcmp(classes->names[0], class_names[0]);
        printf("classes: %d %s:", classes->count,
               named       ? "from class_names"
               : fer_names ? "from the labels (largest + 1), named as FER2013's"
                           : "from the labels (largest + 1)");
        for (int c = 0; c < classes->count; c++) printf("%s%s", c ? ", " : " ", classes->names[c]);
        printf("\n");
        if (!named && !has_label_zero(npz))
            printf("classes: WARNING: no y_ member has a label 0, so class 0 has no images; "
                   "labels must start at 0 (labels counted from 1 give one class too many)\n");
    }
    for (int i = 0; i < npz->count; i++) {
        const char *name = npz->arrays[i].name;
        char y_name[sizeof npz->arrays[i].name + 2];
        snprintf(y_name, sizeof y_name, "y_%s", name + 2);
        if (strncmp(name, "x_", 2) != 0 || !npz_find(npz, y_name)) continue;
        Dataset d;
        Error err;
        printf("split %s: ", name + 2);
        if (dataset_from_npz(npz, path, name + 2, &d, &err)) {
            printf("WARNING: the loader would refuse it: %s\n", err.msg);
            continue;
        }
        printf("%d image%s of (C, H, W) = (%d, %d, %d)\n", d.count, d.count == 1 ? "" : "s",
               d.channels, d.height, d.width);
        dataset_free(&d);
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
    int options_end = 0; /* after "--", the argument is the file, even "-data.npz" */
    for (int i = 1; i < argc; i++) {
        const int option = !options_end && argv[i][0] == '-' && argv[i][1] != '\0';
        if (option && !strcmp(argv[i], "--")) {
            options_end = 1;
        } else if (option && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
            info_usage(stdout);
            return 0;
        } else if (option) {
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
    if (arg_path("emotion data info", "the file", path)) {
        fputc('\n', stderr);
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
        print_arrays(path, &a, 1, NULL);
        npy_array_free(&a);
        return 0;
    }
    NpzFile npz;
    if (npz_read(path, &npz, &err)) {
        fprintf(stderr, "emotion data info: %s\n", err.msg);
        return 1;
    }
    /* Classes and splits only for a dataset (not, say, a checkpoint). */
    int is_dataset = npz_find(&npz, "class_names") != NULL;
    for (int i = 0; i < npz.count; i++) is_dataset |= is_label_array(&npz.arrays[i]);
    Classes classes = {0};
    if (is_dataset) {
        if (dataset_classes_from_npz(&npz, path, &classes.count, &classes.names, &err) == 0)
            classes.known = 1;
        else
            snprintf(classes.message, sizeof classes.message, "%s", err.msg);
    }
    print_arrays(path, npz.arrays, npz.count, is_dataset ? &classes : NULL);
    if (is_dataset) print_classes_and_splits(path, &npz, &classes);
    free(classes.names);
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
    {"export", cmd_data_export},
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
