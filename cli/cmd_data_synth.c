/* emotion data synth: writes the synthetic faces dataset. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "emotion data synth"

#include "args.h"
#include "clock.h"
#include "commands.h"
#include "splits.h"
#include "synth.h"

#define DEFAULT_OUT "data/synth.npz"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion data synth [--out FILE.npz] [--train N] [--val N] [--test N]\n"
        "                          [--seed S] [--balanced] [--compress]\n"
        "\n"
        "Draws synthetic 48x48 grey faces in the seven FER2013 classes (Angry, Disgust,\n"
        "Fear, Happy, Sad, Surprise, Neutral) and writes them in the converter's layout:\n"
        "x_train/y_train, x_val/y_val, x_test/y_test, uint8 (N, 48, 48) images and\n"
        "int64 (N,) labels. The expression is in the brows, eyes and mouth; pose,\n"
        "lighting, noise and occluders vary. The same seed gives the same file.\n"
        "\n"
        "options:\n"
        "  --out FILE.npz   output file (default " DEFAULT_OUT ")\n"
        "  --train N        training images (default %d)\n"
        "  --val N          validation images (default %d; 0 leaves the split out)\n"
        "  --test N         test images (default %d; 0 leaves the split out)\n"
        "  --seed S         random seed, a non-negative integer (default %d)\n"
        "  --balanced       the same number of faces per class (default: FER2013's\n"
        "                   training proportions, with Disgust rare: ~1.5%%)\n"
        "  --compress       deflate the arrays, as np.savez_compressed\n"
        "  -h, --help       show this help\n",
        SYNTH_DEFAULT_TRAIN, SYNTH_DEFAULT_VAL, SYNTH_DEFAULT_TEST, SYNTH_DEFAULT_SEED);
}



int cmd_data_synth(int argc, char **argv)
{
    SynthOptions options = synth_default_options();
    const char *out_path = DEFAULT_OUT;
    int compress = 0;
    /* A million images per split is ~2.3 GB: a generous ceiling that keeps
     * sizes in int range everywhere. */
    const unsigned long long max_images = 1000000;
    ArgSeen seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            usage(stdout);
            return 0;
        } else if (flag[0] == '-' && arg_once(PROG, &seen, flag)) {
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        } else if (!strcmp(flag, "--balanced")) {
            options.balanced = 1;
        } else if (!strcmp(flag, "--compress")) {
            compress = 1;
        } else if (!strcmp(flag, "--out") || !strcmp(flag, "--train") || !strcmp(flag, "--val") ||
                   !strcmp(flag, "--test") || !strcmp(flag, "--seed")) {
            if (++i == argc) {
                fprintf(stderr, "emotion data synth: %s needs a value\n\n", flag);
                usage(stderr);
                return 2;
            }
            if (!strcmp(flag, "--out")) {
                if (arg_path(PROG, flag, argv[i])) {
                    fputc('\n', stderr);
                    usage(stderr);
                    return 2;
                }
                out_path = argv[i];
                continue;
            }
            int bad = !strcmp(flag, "--seed")
                          ? arg_seed(PROG, flag, argv[i], &options.seed)
                          : arg_int(PROG, flag, argv[i], 0, max_images,
                                    &options.count[!strcmp(flag, "--train") ? SPLIT_TRAIN
                                                   : !strcmp(flag, "--val") ? SPLIT_VAL
                                                                            : SPLIT_TEST]);
            if (bad) {
                fputc('\n', stderr);
                usage(stderr);
                return 2;
            }
        } else {
            fprintf(stderr, "emotion data synth: unknown option '%s'\n\n", flag);
            usage(stderr);
            return 2;
        }
    }
    if (options.count[SPLIT_TRAIN] == 0) {
        fprintf(stderr, "emotion data synth: --train must be at least 1\n\n");
        usage(stderr);
        return 2;
    }

    double start = clock_seconds();
    Error err;
    int status = synth_write_npz(&options, out_path, compress, &err);
    if (status) {
        fprintf(stderr, "emotion data synth: %s\n", err.msg);
    } else {
        printf("wrote %s: synthetic faces, seed %llu, %s classes, %.1f s\n", out_path,
               (unsigned long long)options.seed,
               options.balanced ? "balanced" : "FER2013-proportioned", clock_seconds() - start);
        for (int s = 0; s < NUM_SPLITS; s++)
            if (options.count[s] > 0)
                printf("  x_%-5s (%d, 48, 48) uint8   y_%-5s (%d,) int64\n", split_names[s],
                       options.count[s], split_names[s], options.count[s]);
    }
    return status ? 1 : 0;
}
