/* emotion data convert: FER2013's CSV -> .npz (the seed's to_npz step). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "clock.h"
#include "commands.h"
#include "fer_csv.h"
#include "files.h"
#include "splits.h"

#define DEFAULT_OUT "data/fer2013.npz"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion data convert FILE.csv [--out FILE.npz] [--compress]\n"
        "\n"
        "Converts FER2013's CSV (header emotion,pixels,Usage; 2,304 pixels per row)\n"
        "into an .npz of uint8 (N, 48, 48) images and int64 (N,) labels:\n"
        "  x_train, y_train   rows with Usage Training\n"
        "  x_val,   y_val     rows with Usage PublicTest\n"
        "  x_test,  y_test    rows with Usage PrivateTest\n"
        "Without a Usage column (Kaggle's train.csv) every row goes to x_train/y_train;\n"
        "a split with no rows is not written. Columns are found by header name, in\n"
        "any order (icml_face_data.csv's 'emotion, Usage, pixels' works); CRLF or CR\n"
        "line endings and quoted fields are fine. The first bad row stops the\n"
        "conversion with its line number, and no output file is written. The output\n"
        "may not be the input file itself.\n"
        "\n"
        "options:\n"
        "  --out FILE.npz   output file (default " DEFAULT_OUT ")\n"
        "  --compress       deflate the arrays, as np.savez_compressed (default: stored,\n"
        "                   as np.savez; faster to write and to load)\n"
        "  -h, --help       show this help\n"
        "  --               what follows is the CSV file, even one named -fer.csv\n");
}

int cmd_data_convert(int argc, char **argv)
{
    const char *csv_path = NULL, *out_path = DEFAULT_OUT;
    int compress = 0;
    ArgSeen seen = {0};
    int options_end = 0; /* after "--", the argument is the CSV, even "-fer.csv" */
    for (int i = 1; i < argc; i++) {
        const int option = !options_end && argv[i][0] == '-' && argv[i][1] != '\0';
        if (option && !strcmp(argv[i], "--")) {
            options_end = 1;
        } else if (option && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
            usage(stdout);
            return 0;
        } else if (option && (!strcmp(argv[i], "--out") || !strcmp(argv[i], "--compress")) &&
                   arg_once("emotion data convert", &seen, argv[i])) {
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        } else if (option && !strcmp(argv[i], "--out")) {
            if (++i == argc) {
                fprintf(stderr, "emotion data convert: --out needs a file name\n\n");
                usage(stderr);
                return 2;
            }
            if (arg_path("emotion data convert", "--out", argv[i])) {
                fputc('\n', stderr);
                usage(stderr);
                return 2;
            }
            out_path = argv[i];
        } else if (option && !strcmp(argv[i], "--compress")) {
            compress = 1;
        } else if (option) {
            fprintf(stderr, "emotion data convert: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!csv_path) {
            csv_path = argv[i];
        } else {
            fprintf(stderr, "emotion data convert: one CSV file at a time ('%s' and '%s')\n\n",
                    csv_path, argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!csv_path) {
        fprintf(stderr, "emotion data convert: which CSV file?\n\n");
        usage(stderr);
        return 2;
    }
    if (arg_path("emotion data convert", "the CSV file", csv_path)) {
        fputc('\n', stderr);
        usage(stderr);
        return 2;
    }

    /* The output replaces its file only at the end, but it would still
     * replace the CSV it was made from. */
    if (same_file(csv_path, out_path)) {
        fprintf(stderr, "emotion data convert: --out %s is the input file %s itself; "
                        "write the .npz somewhere else\n\n", out_path, csv_path);
        usage(stderr);
        return 2;
    }

    double start = clock_seconds();
    FerCsv csv;
    Error err;
    if (fer_csv_read(csv_path, &csv, 1, &err)) {
        fprintf(stderr, "emotion data convert: %s\n", err.msg);
        fprintf(stderr, "no output written\n");
        return 1;
    }
    if (splits_write_npz(csv.split, out_path, compress, &err)) {
        fprintf(stderr, "emotion data convert: %s\n", err.msg);
        fer_csv_free(&csv);
        return 1;
    }
    printf("wrote %s: %ld rows in %.1f s\n", out_path, csv.rows, clock_seconds() - start);
    for (int s = 0; s < NUM_SPLITS; s++)
        if (csv.split[s].count > 0)
            printf("  x_%-5s (%d, 48, 48) uint8   y_%-5s (%d,) int64\n", split_names[s],
                   csv.split[s].count, split_names[s], csv.split[s].count);
    if (!csv.has_usage)
        printf("  (no Usage column: every row is in the training split)\n");
    fer_csv_free(&csv);
    return 0;
}
