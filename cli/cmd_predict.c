/* emotion predict: the model's answer for a few images.
 *
 * Each image is read as the network needs it (src/image_io.h: PGM or PPM,
 * resized to the model's input, grey or colour as the model takes),
 * scaled to pixel / 255 like the training images, and run through the
 * network alone, in evaluation mode. The output is the most probable class
 * and every class's softmax probability, under the checkpoint's class names.
 *
 * A file that cannot be read is reported on stderr and skipped; the other
 * images are still predicted, and the exit code is 1 if any failed, so a
 * script notices while a person still sees every answer that was possible. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "classes.h"
#include "commands.h"
#include "image_io.h"
#include "loader.h"
#include "metrics.h"
#include "model.h"
#include "utf8.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion predict --model FILE [--] IMAGE...\n"
        "\n"
        "Classifies each image (PGM or PPM: P2, P3, P5, P6, any size) with the network\n"
        "the checkpoint describes: the image is resized to the model's input (48x48 for\n"
        "the emotion CNN) and made grey or colour as the model takes it. Prints the\n"
        "predicted class and every class's probability. An unreadable image, or one the\n"
        "network gives no finite scores for, is reported and skipped; the exit code is\n"
        "then 1. After '--' every argument is an image, even one named -face.pgm.\n"
        "\n"
        "options:\n"
        "  --model FILE   the checkpoint (.npz written by emotion train); required\n"
        "  -h, --help     show this help\n");
}

/* The probabilities of one image, the most probable marked, with a bar each;
 * the names padded to the longest, so that the numbers line up. */
static void print_prediction(const char *path, const real *probs, int classes,
                             char *const *names)
{
    const int best = argmax(probs, classes);
    int name_width = 8;
    for (int k = 0; k < classes; k++)
        if ((int)strlen(names[k]) > name_width) name_width = (int)strlen(names[k]);
    printf("%s: %s (%.1f%%)\n", path, names[best], 100.0 * probs[best]);
    for (int k = 0; k < classes; k++) {
        char bar[41];
        /* a probability is in [0, 1]; the bar never trusts it to be */
        double p = probs[k] >= 0 && probs[k] <= 1 ? probs[k] : 0;
        int length = (int)(40 * p + 0.5);
        memset(bar, '#', (size_t)length);
        bar[length] = '\0';
        printf("  %c %-*s %.4f %s\n", k == best ? '>' : ' ', name_width, names[k],
               (double)probs[k], bar);
    }
}

/* A picture squeezed out of shape, or one much larger than the model's
 * input (a group photo, a montage of faces), is resized all the same, but
 * the answer is then about a picture the model never learned from. The
 * words fit any data, not only faces. */
static void warn_about_shape(const char *path, int width, int height, const CheckpointInfo *info)
{
    const double aspect = (double)width / height;
    const double model_aspect = (double)info->width / info->height;
    if (aspect > 1.5 * model_aspect || aspect < model_aspect / 1.5)
        fprintf(stderr, "emotion predict: warning: %s is %dx%d, far from the %dx%d shape the "
                        "model takes: it is squeezed to fit, which distorts what it shows\n", path,
                width, height, info->width, info->height);
    else if (width > 8 * info->width && height > 8 * info->height)
        fprintf(stderr, "emotion predict: warning: %s is %dx%d, much larger than the model's "
                        "%dx%d: if it holds more than one subject (a montage, a group photo), "
                        "crop one first\n", path, width, height, info->width, info->height);
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL;
    const char *images[argc];  /* the image arguments, at most argc of them */
    int image_count = 0;
    ArgSeen seen = {0};
    int options_end = 0; /* after "--", every argument is an image, even "-face.pgm" */
    for (int i = 1; i < argc; i++) {
        if (options_end) {
            images[image_count++] = argv[i];
        } else if (!strcmp(argv[i], "--")) {
            options_end = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model")) {
            if (arg_once("emotion predict", &seen, argv[i])) {
                fputc('\n', stderr);
                usage(stderr);
                return 2;
            }
            if (++i == argc) {
                fprintf(stderr, "emotion predict: --model needs a value\n\n");
                usage(stderr);
                return 2;
            }
            if (arg_path("emotion predict", "--model", argv[i])) {
                fputc('\n', stderr);
                usage(stderr);
                return 2;
            }
            model_path = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "emotion predict: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            images[image_count++] = argv[i];
        }
    }
    if (!model_path || image_count == 0) {
        fprintf(stderr, "emotion predict: %s\n\n",
                !model_path ? "which model? --model FILE is required" : "which images?");
        usage(stderr);
        return 2;
    }
    for (int i = 0; i < image_count; i++)
        if (arg_path("emotion predict", "an image", images[i])) {
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }

    Error err;
    CheckpointInfo info;
    Network *net = checkpoint_load(model_path, &info, &err);
    if (!net) {
        fprintf(stderr, "emotion predict: %s\n", err.msg);
        return 1;
    }
    if (model_fits_memory(net, 1, 0, &err)) {
        fprintf(stderr, "emotion predict: %s (the model %s)\n", err.msg, model_path);
        network_free(net);
        checkpoint_info_free(&info);
        return 1;
    }
    network_set_mode(net, LAYER_EVAL);
    /* One image at a time, through the loader's own pixel / 255 so the
     * network sees exactly what it saw in training. */
    Dataset one;
    dataset_alloc_shape(&one, 1, info.channels, info.height, info.width, info.classes, "test");
    Tensor *x = tensor_new4(1, info.channels, info.height, info.width);
    const int first = 0;
    int failures = 0, not_finite = 0;
    for (int i = 0; i < image_count; i++) {
        int width, height;
        if (image_size(images[i], &width, &height, &err) ||
            image_read(images[i], info.channels, info.height, info.width, one.images, &err)) {
            /* on one line: the message names the file, whose line breaks would
             * print lines that read as other images' answers */
            fprintf(stderr, "emotion predict: %s\n", utf8_make_printable(err.msg, 0));
            failures++;
            continue;
        }
        /* the name as shown: a file name may hold a terminal's escapes, or a
         * line break and words that would read as another image's answer */
        char *shown = utf8_make_printable(strcpy(xmalloc(strlen(images[i]) + 1), images[i]), 0);
        warn_about_shape(shown, width, height, &info);
        int label; /* the dataset's placeholder 0; only the probabilities are used */
        loader_fill_batch(&one, &first, 1, NULL, NULL, x, &label);
        network_loss(net, x, &label);
        int finite = 1;
        for (int k = 0; k < info.classes; k++) finite &= isfinite(net->probs->data[k]) != 0;
        if (!finite) {
            /* weights that overflow float give NaN scores: no answer to print */
            fprintf(stderr, "emotion predict: %s: the network's scores for %s are not finite "
                            "numbers (its weights or batchnorm statistics overflow)\n",
                    model_path, shown);
            not_finite++;
        } else {
            print_prediction(shown, net->probs->data, info.classes, info.class_names);
        }
        free(shown);
    }
    dataset_free(&one);
    tensor_free(x);
    checkpoint_info_free(&info);
    network_free(net);
    if (failures)
        fprintf(stderr, "emotion predict: %d of %d image%s could not be read\n", failures,
                image_count, image_count == 1 ? "" : "s");
    return failures || not_finite ? 1 : 0;
}
