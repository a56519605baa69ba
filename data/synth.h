/* synth.h: procedurally drawn 48x48 faces in the seven emotion classes.
 *
 * The real FER2013 cannot be downloaded on every machine, so the workbench
 * draws its own faces: every lesson runs out of the box, and the dataset
 * is small enough to train on in minutes. What each class looks like is
 * described at the top of synth.c.
 *
 * Everything follows from the seed: the same seed and sizes give the same
 * bytes on every run (each image has its own generator seeded from
 * (seed, split, index), so the result does not depend on the thread count
 * either). The drawing uses libm's sin, cos and atan2, so another C library
 * could differ in a last bit and, rarely, round a pixel the other way;
 * on one machine the output is byte-identical. */
#ifndef SYNTH_H
#define SYNTH_H

#include <stdint.h>

#include "classes.h"
#include "error.h"
#include "rng.h"
#include "splits.h"

/* Default sizes: at the ~1,000 trained images per second of the
 * workbench's CNN on two cores, an epoch over 8,000 faces takes about
 * 8 seconds, so a 10-epoch lesson trains in under two minutes. */
#define SYNTH_DEFAULT_TRAIN 8000
#define SYNTH_DEFAULT_VAL 1000
#define SYNTH_DEFAULT_TEST 1000
#define SYNTH_DEFAULT_SEED 1

typedef struct {
    int count[NUM_SPLITS]; /* images per split (a split of 0 is not written) */
    uint64_t seed;
    int balanced;          /* equal class counts instead of FER2013's proportions */
} SynthOptions;

SynthOptions synth_default_options(void);

/* How many of `total` images each class gets: proportional to FER2013's
 * class totals (4953 / 547 / 5121 / 8989 / 6077 / 4002 / 6198), or equal
 * when balanced, rounded by largest remainder so they sum to total. */
void synth_class_counts(int total, int balanced, int counts[NUM_CLASSES]);

/* Draws one face showing class `label` into image (48, 48), using rng. */
void synth_draw_face(int label, Rng *rng, uint8_t *image);

/* Draws every split into sets (which must be empty). */
void synth_generate(const SynthOptions *options, ImageSet sets[NUM_SPLITS]);

/* Draws every split and writes them to path as splits_write_npz does
 * (stored, or deflated with compress = 1). */
int synth_write_npz(const SynthOptions *options, const char *path, int compress, Error *err);

/* The built-in dataset that training and the lessons use by default: if
 * path does not exist, prints a one-line notice, creates its directory and
 * writes the default synthetic set there (what `emotion data synth --out
 * path` would write). An existing file is left as it is. */
int synth_ensure_builtin(const char *path, Error *err);

#endif
