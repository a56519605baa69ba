/* lesson_common.h: what every lesson driver shares.
 *
 * A lesson is a short program that narrates one step of the workbench:
 * it prints what it computes and why, the shapes and numbers a student can
 * check by hand, the gradient check of what it introduces, a few charts
 * (PNG under out/lessonN/, drawn by gnuplot when it is installed), and a
 * "What to try next" block. This file holds the parts that are the same in
 * all of them, so a lesson reads as its walkthrough and nothing else:
 *
 *   int main(int argc, char **argv)
 *   {
 *       Lesson lesson;
 *       lesson_begin(&lesson, 3, "Convolution backward",
 *                    "How dx, dw and db follow from dout.", argc, argv, NULL, 0);
 *       lesson_section(&lesson, "The tiny example");
 *       lesson_say("A 1x4x4 image and one 3x3 filter ...");
 *       ...
 *       lesson_try_next(&lesson, tries, 3);
 *       return lesson_end(&lesson);
 *   }
 *
 * Every lesson accepts
 *   --quick       a small in-memory dataset and few steps: what `make check`
 *                 runs (a few seconds, no interaction), still every code path
 *   --data FILE   an .npz dataset (default data/synth.npz, drawn and written
 *                 with a notice when it is missing)
 *   --seed N      the random seed (default LESSON_DEFAULT_SEED), so the
 *                 teacher's guide can quote the numbers printed
 *   -h, --help    its own usage
 * plus any options the lesson declares (LessonOption). An unknown flag, a
 * missing value, a number outside its option's range or a flag given twice
 * (the second would silently win) prints the usage to stderr and exits with
 * status 2.
 *
 * Lessons are programs, not library code: a helper here that cannot go on
 * (the dataset cannot be read, out/lessonN cannot be created) prints the
 * message and exits with status 1, which keeps the lessons short. */
#ifndef LESSON_COMMON_H
#define LESSON_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "chart.h"
#include "error.h"
#include "gradcheck.h"
#include "layer.h"
#include "loader.h"
#include "rng.h"
#include "tensor.h"

#define LESSON_DEFAULT_SEED 1
#define LESSON_DEFAULT_DATA "data/synth.npz"
#define LESSON_TEXT_WIDTH 78     /* paragraphs are wrapped to this many columns */
#define LESSON_QUICK_IMAGES 280  /* default images per split in quick mode */

/* ---- options ------------------------------------------------------------ */

typedef enum {
    LESSON_OPTION_FLAG,    /* no value: sets *(int *)value to 1 */
    LESSON_OPTION_INT,     /* an integer: *(int *)value */
    LESSON_OPTION_DOUBLE,  /* a number: *(double *)value */
    LESSON_OPTION_STRING   /* a word: *(const char **)value (points into argv) */
} LessonOptionKind;

/* An option a lesson adds to the common ones, e.g.
 *   {.name = "--epochs", .kind = LESSON_OPTION_INT, .value = &epochs,
 *    .min = 1, .max = 1000,
 *    .metavar = "N", .help = "training epochs (default 20)"}
 * A number carries its range: one outside it on the command line is refused
 * with the range in the message,
 *     lesson5: --epochs needs a whole number from 1 to 1000, not '0'
 * then the usage, exit 2; the usage says each number's range after its help.
 * A word may carry its choices the same way,
 *     lesson10: --surface needs valley, tilted or banana, not 'hill'
 * Only what is typed is checked, not the default in *value, so a default of
 * 0 may stand for "the lesson picks" (e.g. 20 epochs, or 2 with --quick). */
typedef struct {
    const char *name;
    LessonOptionKind kind;
    void *value;           /* holds the default on entry */
    double min, max;       /* INT and DOUBLE: the range, both ends included... */
    int open;              /* ...unless (DOUBLE only) ARG_MIN_OPEN or ARG_MAX_OPEN excludes one */
    const char *const *choices; /* STRING: the words allowed, NULL-terminated (NULL: any) */
    const char *metavar;   /* "N", "RATE", ...; NULL for a flag */
    const char *help;
} LessonOption;

typedef struct {
    int number;              /* N of lessonN */
    const char *title;
    int quick;               /* --quick */
    const char *data_path;   /* --data, else LESSON_DEFAULT_DATA */
    int data_given;          /* 1 if --data was on the command line */
    uint64_t seed;           /* --seed */
    int terminal;            /* stdout is a terminal: draw text charts too */
    char out_dir[64];        /* "out/lessonN", created by lesson_begin */
    int sections;            /* sections printed so far (for their numbers) */
    int failures;            /* things that should not have failed (checks, charts) */
} Lesson;

/* Parses the command line (common options, then `extra`), creates out_dir
 * and prints the lesson's banner: "Lesson N: title" and the summary,
 * wrapped. --help prints the usage (the summary and every option) and exits
 * 0; a bad command line exits 2. */
void lesson_begin(Lesson *lesson, int number, const char *title, const char *summary,
                  int argc, char **argv, const LessonOption *extra, int num_extra);

/* Prints the closing line and returns the exit status for main: 0, or 1
 * when a check that must pass failed or a chart could not be written. */
int lesson_end(const Lesson *lesson);

/* ---- narration ---------------------------------------------------------- */

/* "== 2. title ==" with a blank line before it; sections are numbered in
 * the order they are printed. Flushes stdout, so a section's heading is out
 * as soon as it starts, even when the output goes to a file. */
void lesson_section(Lesson *lesson, const char *title);

/* A paragraph, printf-formatted, wrapped to LESSON_TEXT_WIDTH columns and
 * followed by a blank line. A '\n' in the text starts a new line; a line
 * that starts with a space is printed as it is (for formulas and tables). */
void lesson_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A wrapped bullet: "  - text", continuation lines indented under the text. */
void lesson_bullet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The closing "What to try next" block: one bullet per item. */
void lesson_try_next(Lesson *lesson, const char *const *items, int count);

/* ---- output files and charts -------------------------------------------- */

/* "out/lessonN/<file>" into buf; returns buf. */
const char *lesson_out_path(const Lesson *lesson, const char *file, char *buf, size_t len);

/* Reports what a chart function returned (0 written / 1 skipped / -1 error):
 * prints "chart: out/lesson1/faces.png (what)" when written; once per run,
 * how to get charts when gnuplot is missing; a warning with the message on
 * error (counted as a failure). Returns status. */
int lesson_chart_done(Lesson *lesson, int status, const char *png_path, const char *what,
                      const Error *err);

/* 1 when stdout is a terminal (then lessons also draw their key chart as
 * text); LESSON_TEXT_CHARTS=1 in the environment forces it on. */
int lesson_is_terminal(void);

/* Horizontal text bars, one line per label, scaled to the largest value:
 *   Angry    |#########                 1386 */
void lesson_text_bars(FILE *out, const char *title, const double *values,
                      const char *const *labels, int count);

/* A grey image (h, w) 0..255 drawn with characters " .:-=+*#%@" (dark to
 * light, stretched to the image's darkest and lightest pixel), two
 * characters per pixel so it keeps its aspect ratio;
 * `step` > 1 samples every step-th pixel to make it smaller. */
void lesson_text_image(FILE *out, const uint8_t *image, int h, int w, int step);

/* ---- data --------------------------------------------------------------- */

/* One split ("train", "val" or "test") of the lesson's dataset:
 *   - without --data: data/synth.npz, drawn and written first (with a
 *     notice) when missing; in quick mode instead a small synthetic split
 *     drawn in memory (nothing written);
 *   - with --data FILE: that file; in quick mode only its first images.
 * quick_count: images in quick mode (0 means LESSON_QUICK_IMAGES).
 * Exits 1 with the loader's message when the file cannot be read. */
void lesson_load_split(const Lesson *lesson, const char *split, int quick_count, Dataset *out);

/* The class of each image counted into counts (NUM_CLASSES). */
void lesson_class_counts(const Dataset *data, int *counts);

/* Index of the first image of class `label` at or after `start`, or -1. */
int lesson_find_class(const Dataset *data, int label, int start);

/* Face `index` of data as a (1, 1, 48, 48) tensor of pixel / 255 values,
 * exactly as the loader hands it to the network (without augmentation). */
void lesson_face_tensor(const Dataset *data, int index, Tensor *x);

/* Scales a real-valued map (count,) to grey levels 0..255 for chart_images:
 * symmetric = 0: min -> 0 (black), max -> 255 (white);
 * symmetric = 1: 0 -> 128 (mid grey), +-max|v| -> 255 / 0, so the sign of
 * a feature map or filter is visible. A constant map becomes mid grey. */
void lesson_map_to_grey(const real *map, int count, int symmetric, uint8_t *out);

/* ---- printing numbers --------------------------------------------------- */

/* "  name    (1, 1, 4, 4)   meaning": one line naming a tensor's shape. */
void lesson_print_shape(const char *name, const Tensor *t, const char *meaning);

/* A (rows, cols) row-major matrix, each value in a field of `width` with
 * `decimals` after the point, indented by two spaces, preceded by
 * "name =" when name is not NULL. */
void lesson_print_matrix(const char *name, const real *m, int rows, int cols, int width,
                         int decimals);

/* A tensor's shape line, then its values: each (n, c) plane of an NCHW
 * tensor as a matrix headed "name[n][c]", or an (N, D) tensor as one
 * matrix. Tensors over `max_values` values print only the shape and the
 * first plane's top-left 6x6 corner, with a note. */
void lesson_print_tensor(const char *name, const Tensor *t, int decimals, size_t max_values);

/* Largest |a[i] - b[i]| over count values. */
double lesson_max_abs_diff(const real *a, const real *b, size_t count);

/* ---- gradient checks ---------------------------------------------------- */

/* Prints the header and the rows of a gradient check, then a line saying
 * whether every row passed. Returns the number of failed rows. */
int lesson_print_gradcheck(const GradcheckRow *rows, int count);

/* Runs gradcheck_layer on layer at x (upstream gradient drawn from rng),
 * prints the rows and counts failures in lesson->failures, because a
 * library layer that fails its check is a bug the lesson must not hide.
 * Returns the number of failed rows. */
int lesson_gradcheck_layer(Lesson *lesson, Layer *layer, Tensor *x, Rng *rng);

/* Seconds on a monotonic clock, for "took 1.2 s" lines. */
double lesson_seconds(void);

#endif
