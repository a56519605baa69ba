/* emotion: the workbench's main program. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "args.h"
#include "files.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"data", cmd_data, "inspect, convert and generate datasets (.npz)"},
    {"train", cmd_train, "train a network: checkpoints, metrics.csv, loss and accuracy charts"},
    {"eval", cmd_eval, "score a checkpoint on a split: accuracy, macro-F1, confusion matrix"},
    {"predict", cmd_predict, "classify PGM/PPM images with a checkpoint"},
    {"bench", cmd_bench, "time the CNN: per layer, the matrix multiply, images per second"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: emotion COMMAND [OPTIONS]\n\n"
                 "The emotion CNN workbench: networks described in text, trained and checked on\n"
                 "grey or colour images in any classes; by default FER2013's 48x48 grey faces\n"
                 "and its 7 classes.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'emotion COMMAND --help' for a command's options.\n");
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        char program[32];
        snprintf(program, sizeof program, "emotion %s", commands[i].name);
        if (arg_thread_environment(program)) return 2;
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "emotion: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    return finish_standard_output("emotion", run_command(argc, argv));
}
