/* model.h: which network a command builds, from its --model and --arch
 * options (layers/arch.h has the description language).
 *
 *   --model FILE.net   a description in a file
 *   --arch "TEXT"      a description on the command line, items separated
 *                      by commas: "conv 16 5x5 stride 2 pad 2, relu, ..."
 *   neither            the seed's emotion CNN (arch_emotion_text, a
 *                      built-in copy of models/emotion.net), its last
 *                      layer sized to the data's classes */
#ifndef MODEL_H
#define MODEL_H

#include "network.h"

typedef struct {
    const char *model_path; /* --model, or NULL */
    const char *arch_text;  /* --arch, or NULL */
} ModelChoice;

/* Reads the chosen description into *text (to free) and names where it came
 * from in origin ("models/x.net", "--arch", "the built-in emotion CNN").
 * Returns -1 with a message for both options at once or an unreadable
 * file. */
int model_description(const ModelChoice *choice, int classes, char **text, char *origin,
                      size_t origin_len, Error *err);

/* The width of the chosen description's last layer (its class count), or
 * -1 with a message. */
int model_last_width(const ModelChoice *choice, Error *err);

/* model_description, then arch_build_text for inputs (C, H, W) and K classes. */
Network *model_build(const ModelChoice *choice, int channels, int height, int width,
                     int classes, Error *err);

/* 0 if net at this batch fits comfortably in this machine's memory (half
 * of it), else -1 with a message saying how much it would take. */
int model_fits_memory(const Network *net, int batch, int training, Error *err);

#endif
