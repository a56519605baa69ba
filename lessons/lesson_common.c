/* lesson_common.c: options, narration, data and printing shared by the lessons. */
#include "lesson_common.h"

#include "args.h"
#include "clock.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "classes.h"
#include "files.h"
#include "splits.h"
#include "synth.h"

static void print_wrapped(FILE *out, const char *text, int first_len, int indent);

/* ---- options ------------------------------------------------------------ */

/* "valley, tilted or banana": a word option's choices, as one phrase. */
static void choices_text(const LessonOption *option, char *text, size_t size)
{
    size_t used = 0;
    text[0] = '\0';
    for (int k = 0; option->choices[k] && used < size; k++) {
        const char *join = k == 0 ? "" : option->choices[k + 1] ? ", " : " or ";
        used += (size_t)snprintf(text + used, size - used, "%s%s", join, option->choices[k]);
    }
}

static void print_usage(FILE *out, const Lesson *lesson, const char *summary,
                        const LessonOption *extra, int num_extra)
{
    /* the synopsis, wrapped, continued under its first option */
    int indent = fprintf(out, "usage: lesson%d", lesson->number);
    int width = indent + fprintf(out, " [--quick] [--data FILE.npz] [--seed N]");
    for (int i = 0; i < num_extra; i++) {
        char item[64];
        int len = snprintf(item, sizeof item, " [%s%s%s]", extra[i].name,
                           extra[i].metavar ? " " : "", extra[i].metavar ? extra[i].metavar : "");
        if (width + len > LESSON_TEXT_WIDTH) width = fprintf(out, "\n%*s", indent, "") - 1;
        width += fprintf(out, "%s", item);
    }
    fprintf(out, "\n\nLesson %d: %s.\n", lesson->number, lesson->title);
    print_wrapped(out, summary, 0, 0);
    fprintf(out, "\noptions:\n");
    fprintf(out,
            "  --quick          a small dataset and few steps: a check that the lesson runs\n"
            "                   (what `make check` does), in a few seconds\n"
            "  --data FILE.npz  the dataset (default " LESSON_DEFAULT_DATA ", drawn when\n"
            "                   missing; e.g. data/fer2013.npz from `emotion data convert`)\n"
            "  --seed N         random seed (default %d): the same seed, the same numbers\n",
            LESSON_DEFAULT_SEED);
    for (int i = 0; i < num_extra; i++) {
        const LessonOption *option = &extra[i];
        char left[64], range[128] = "", help[512];
        snprintf(left, sizeof left, "%s%s%s", option->name, option->metavar ? " " : "",
                 option->metavar ? option->metavar : "");
        /* A number's range (a word's choices) follows its help, in the
         * words of the message that refuses a value outside it; on a line
         * of its own when it does not fit after the help. */
        if (option->kind == LESSON_OPTION_INT)
            snprintf(range, sizeof range, "%s from %ld to %ld", option->metavar,
                     (long)option->min, (long)option->max);
        else if (option->kind == LESSON_OPTION_DOUBLE)
            snprintf(range, sizeof range, "%s from %g%s to %g%s", option->metavar, option->min,
                     option->open & ARG_MIN_OPEN ? " (excluded)" : "", option->max,
                     option->open & ARG_MAX_OPEN ? " (excluded)" : "");
        else if (option->kind == LESSON_OPTION_STRING && option->choices) {
            char choices[96];
            choices_text(option, choices, sizeof choices);
            snprintf(range, sizeof range, "%s is %s", option->metavar, choices);
        }
        int column = fprintf(out, "  %-16s ", left);
        int fits = column + strlen(option->help) + 2 + strlen(range) <= LESSON_TEXT_WIDTH;
        snprintf(help, sizeof help, "%s%s%s", option->help, !*range ? "" : fits ? "; " : "\n",
                 range);
        print_wrapped(out, help, column, 19); /* continued under the help of the options above */
    }
    fprintf(out, "  -h, --help       show this help\n");
}

/* Prints why the command line is wrong, then the usage, and exits 2. */
static void usage_error(const Lesson *lesson, const char *summary, const LessonOption *extra,
                        int num_extra, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "lesson%d: ", lesson->number);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n\n");
    print_usage(stderr, lesson, summary, extra, num_extra);
    exit(2);
}

/* After a bad value (its message printed): the usage, and exit 2. */
static void bad_value(const Lesson *lesson, const char *summary, const LessonOption *extra,
                      int num_extra)
{
    fprintf(stderr, "\n");
    print_usage(stderr, lesson, summary, extra, num_extra);
    exit(2);
}

static int is_choice(const LessonOption *option, const char *value)
{
    for (int k = 0; option->choices[k]; k++)
        if (!strcmp(value, option->choices[k])) return 1;
    return 0;
}

/* Applies one lesson-specific option; 0 on success, -1 for a bad value
 * (message printed). */
static int apply_extra(const Lesson *lesson, const LessonOption *option, const char *value)
{
    char program[16];
    snprintf(program, sizeof program, "lesson%d", lesson->number);
    switch (option->kind) {
    case LESSON_OPTION_FLAG:
        *(int *)option->value = 1;
        return 0;
    case LESSON_OPTION_INT:
        return arg_int(program, option->name, value, (long)option->min, (long)option->max,
                       (int *)option->value);
    case LESSON_OPTION_DOUBLE:
        return arg_real(program, option->name, value, option->min, option->max, option->open,
                        (double *)option->value);
    case LESSON_OPTION_STRING:
        if (option->choices && !is_choice(option, value)) {
            char choices[96];
            choices_text(option, choices, sizeof choices);
            fprintf(stderr, "%s: %s needs %s, not '%s'\n", program, option->name, choices, value);
            return -1;
        }
        if (!option->choices && arg_path(program, option->name, value)) return -1; /* a file */
        *(const char **)option->value = value;
        return 0;
    }
    return -1;
}

static void make_directory(const char *path)
{
    if (mkdir(path, 0777) && errno != EEXIST) {
        fprintf(stderr, "cannot create directory %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

void lesson_begin(Lesson *lesson, int number, const char *title, const char *summary,
                  int argc, char **argv, const LessonOption *extra, int num_extra)
{
    memset(lesson, 0, sizeof *lesson);
    lesson->number = number;
    lesson->title = title;
    lesson->data_path = LESSON_DEFAULT_DATA;
    lesson->seed = LESSON_DEFAULT_SEED;
    lesson->terminal = lesson_is_terminal();
    char program[16];
    snprintf(program, sizeof program, "lesson%d", number);
    ArgSeen seen = {0}; /* each option once: a second --epochs would silently win */
    /* Every number declares its range (a forgotten one is min = max = 0)
     * and its metavar, and a whole number's range fits in an int. */
    for (int k = 0; k < num_extra; k++) {
        const LessonOption *option = &extra[k];
        int numeric = option->kind == LESSON_OPTION_INT || option->kind == LESSON_OPTION_DOUBLE;
        assert(!numeric || (option->min < option->max && option->metavar));
        assert(option->kind != LESSON_OPTION_INT ||
               (option->min >= INT_MIN && option->max <= INT_MAX));
    }

    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            print_usage(stdout, lesson, summary, extra, num_extra);
            exit(0);
        }
        const LessonOption *option = NULL;
        for (int k = 0; k < num_extra; k++)
            if (!strcmp(flag, extra[k].name)) option = &extra[k];
        int common = !strcmp(flag, "--quick") || !strcmp(flag, "--data") || !strcmp(flag, "--seed");
        if (!option && !common)
            usage_error(lesson, summary, extra, num_extra, "unknown option '%s'%s", flag, "");
        if (arg_once(program, &seen, flag)) bad_value(lesson, summary, extra, num_extra);
        if (!strcmp(flag, "--quick")) {
            lesson->quick = 1;
            continue;
        }
        if (option && option->kind == LESSON_OPTION_FLAG) {
            apply_extra(lesson, option, NULL);
            continue;
        }
        if (++i == argc)
            usage_error(lesson, summary, extra, num_extra, "%s needs a value%s", flag, "");
        const char *value = argv[i];
        if (!strcmp(flag, "--data")) {
            if (arg_path(program, flag, value)) bad_value(lesson, summary, extra, num_extra);
            lesson->data_path = value;
            lesson->data_given = 1;
        } else if (!strcmp(flag, "--seed")) {
            if (arg_seed(program, flag, value, &lesson->seed)) bad_value(lesson, summary, extra, num_extra);
        } else if (apply_extra(lesson, option, value)) {
            bad_value(lesson, summary, extra, num_extra);
        }
    }

    if (arg_thread_environment(program)) exit(2);

    /* Quick runs (make check) write under out/quick/, so they never
     * replace the charts of a full run. */
    make_directory("out");
    if (lesson->quick) make_directory("out/quick");
    snprintf(lesson->out_dir, sizeof lesson->out_dir, "out/%slesson%d", lesson->quick ? "quick/" : "",
             number);
    make_directory(lesson->out_dir);

    printf("Lesson %d: %s\n", number, title);
    for (size_t i = 0; i < strlen(title) + 10 + (number >= 10); i++) putchar('=');
    printf("\n");
    lesson_say("%s", summary);
    if (lesson->quick)
        lesson_say("(Quick mode: a small dataset and few steps, to check that the lesson runs. "
                   "Run it without --quick for the real numbers.)");
}

int lesson_end(const Lesson *lesson)
{
    char program[32];
    snprintf(program, sizeof program, "lesson%d", lesson->number);
    if (lesson->failures) {
        printf("\nLesson %d finished with %d unexpected failure%s (see above).\n",
               lesson->number, lesson->failures, lesson->failures == 1 ? "" : "s");
        return finish_standard_output(program, 1);
    }
    printf("\nLesson %d done. Charts and data files are in %s/.\n", lesson->number,
           lesson->out_dir);
    return finish_standard_output(program, 0); /* the walkthrough is the lesson's output */
}

/* ---- narration ---------------------------------------------------------- */

/* Prints text word-wrapped to LESSON_TEXT_WIDTH: the first line after
 * `first` (already printed, first_len columns), later lines indented by
 * `indent` spaces. Explicit newlines are kept. */
static void print_wrapped(FILE *out, const char *text, int first_len, int indent)
{
    int column = first_len;
    const char *p = text;
    int at_line_start = 1;
    while (*p) {
        if (*p == '\n') {
            fputc('\n', out);
            p++;
            column = 0;
            if (*p) {
                fprintf(out, "%*s", indent, "");
                column = indent;
            }
            at_line_start = 1;
            continue;
        }
        if (*p == ' ' && !at_line_start) {
            p++;
            continue;
        }
        /* A line that starts with spaces is preformatted (a formula, a
         * table row): printed as it is, not wrapped. */
        if (*p == ' ') {
            size_t line = strcspn(p, "\n");
            fwrite(p, 1, line, out);
            p += line;
            continue;
        }
        size_t word = strcspn(p, " \n");
        if (!at_line_start && column + 1 + (int)word > LESSON_TEXT_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            column = indent;
        } else if (!at_line_start) {
            fputc(' ', out);
            column++;
        }
        fwrite(p, 1, word, out);
        column += (int)word;
        p += word;
        at_line_start = 0;
        /* One space between words however many were typed. */
        while (*p == ' ') p++;
    }
    fputc('\n', out);
}

static char *format_text(const char *fmt, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *text = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(text, (size_t)n + 1, fmt, args);
    return text;
}

void lesson_section(Lesson *lesson, const char *title)
{
    lesson->sections++;
    printf("\n== %d. %s ==\n\n", lesson->sections, title);
    /* Out at once, even into a pipe or a file: whoever reads along (tee, a
     * log, lessons/check_guides.sh) sees each section as it starts. */
    fflush(stdout);
}

void lesson_say(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char *text = format_text(fmt, args);
    va_end(args);
    print_wrapped(stdout, text, 0, 0);
    putchar('\n');
    free(text);
}

void lesson_bullet(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char *text = format_text(fmt, args);
    va_end(args);
    printf("  - ");
    print_wrapped(stdout, text, 4, 4);
    free(text);
}

void lesson_try_next(Lesson *lesson, const char *const *items, int count)
{
    lesson_section(lesson, "What to try next");
    for (int i = 0; i < count; i++) lesson_bullet("%s", items[i]);
}

/* ---- output files and charts -------------------------------------------- */

const char *lesson_out_path(const Lesson *lesson, const char *file, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", lesson->out_dir, file);
    return buf;
}

int lesson_chart_done(Lesson *lesson, int status, const char *png_path, const char *what,
                      const Error *err)
{
    if (status == 0) {
        printf("chart: %s  (%s)\n", png_path, what);
    } else if (status == 1) {
        /* skipped without gnuplot: chart.c has said so once, on stderr */
    } else {
        printf("warning: chart %s was not written: %s\n", png_path, err ? err->msg : "error");
        lesson->failures++;
    }
    return status;
}

int lesson_is_terminal(void)
{
    const char *force = getenv("LESSON_TEXT_CHARTS");
    if (force && *force) return strcmp(force, "0") != 0;
    return isatty(STDOUT_FILENO);
}

void lesson_text_bars(FILE *out, const char *title, const double *values,
                      const char *const *labels, int count)
{
    const int bar_width = 40;
    double largest = 0;
    int label_width = 1;
    for (int i = 0; i < count; i++) {
        if (values[i] > largest) largest = values[i];
        if ((int)strlen(labels[i]) > label_width) label_width = (int)strlen(labels[i]);
    }
    fprintf(out, "%s\n", title);
    for (int i = 0; i < count; i++) {
        int length = largest > 0 ? (int)lround(bar_width * values[i] / largest) : 0;
        if (length < 0) length = 0;
        fprintf(out, "  %-*s |", label_width, labels[i]);
        for (int k = 0; k < bar_width; k++) fputc(k < length ? '#' : ' ', out);
        fprintf(out, " %g\n", values[i]);
    }
}

void lesson_text_image(FILE *out, const uint8_t *image, int h, int w, int step)
{
    static const char shades[] = " .:-=+*#%@";
    const int levels = (int)sizeof shades - 1;
    if (step < 1) step = 1;
    /* Stretched to the image's own range: a few characters cannot show
     * 256 levels, so they are spent where this image has any. */
    int lo = 255, hi = 0;
    for (int i = 0; i < h * w; i++) {
        if (image[i] < lo) lo = image[i];
        if (image[i] > hi) hi = image[i];
    }
    int range = hi > lo ? hi - lo + 1 : 1;
    for (int y = 0; y < h; y += step) {
        fputs("  ", out);
        for (int x = 0; x < w; x += step) {
            char c = shades[(image[y * w + x] - lo) * levels / range];
            fputc(c, out);
            fputc(c, out);
        }
        fputc('\n', out);
    }
}

/* ---- data --------------------------------------------------------------- */

/* A synthetic split of count faces drawn in memory (quick mode). */
static void draw_synthetic_split(const char *split, int count, Dataset *out)
{
    SynthOptions options = synth_default_options();
    int which = -1;
    for (int s = 0; s < NUM_SPLITS; s++) {
        options.count[s] = 0;
        if (!strcmp(split, split_names[s])) which = s;
    }
    if (which < 0) {
        fprintf(stderr, "no split named '%s' (train, val, test)\n", split);
        exit(1);
    }
    options.count[which] = count;
    ImageSet sets[NUM_SPLITS];
    memset(sets, 0, sizeof sets);
    synth_generate(&options, sets);
    dataset_alloc(out, count, split);
    memcpy(out->images, sets[which].images, (size_t)count * IMAGE_PIXELS);
    for (int i = 0; i < count; i++) out->labels[i] = (int)sets[which].labels[i];
    for (int s = 0; s < NUM_SPLITS; s++) image_set_free(&sets[s]);
}

void lesson_load_split(const Lesson *lesson, const char *split, int quick_count, Dataset *out)
{
    if (quick_count <= 0) quick_count = LESSON_QUICK_IMAGES;
    if (lesson->quick && !lesson->data_given) {
        draw_synthetic_split(split, quick_count, out);
        return;
    }
    Error err;
    if ((!lesson->data_given && synth_ensure_builtin(lesson->data_path, &err)) ||
        dataset_load(lesson->data_path, split, out, &err)) {
        fprintf(stderr, "lesson%d: %s\n", lesson->number, err.msg);
        exit(1);
    }
    /* The lessons' networks and pictures are for 48x48 grey faces. */
    if (dataset_check_fits(out, lesson->data_path, 1, IMAGE_SIDE, IMAGE_SIDE, NUM_CLASSES, &err)) {
        fprintf(stderr, "lesson%d: %s\n", lesson->number, err.msg);
        dataset_free(out);
        exit(1);
    }
    /* Only the first images in quick mode; dataset_free still frees all. */
    if (lesson->quick && out->count > quick_count) out->count = quick_count;
}

void lesson_class_counts(const Dataset *data, int *counts)
{
    for (int c = 0; c < NUM_CLASSES; c++) counts[c] = 0;
    for (int i = 0; i < data->count; i++) counts[data->labels[i]]++;
}

int lesson_find_class(const Dataset *data, int label, int start)
{
    for (int i = start < 0 ? 0 : start; i < data->count; i++)
        if (data->labels[i] == label) return i;
    return -1;
}

void lesson_face_tensor(const Dataset *data, int index, Tensor *x)
{
    int dims[4] = {1, 1, IMAGE_SIDE, IMAGE_SIDE};
    tensor_resize(x, 4, dims);
    const uint8_t *face = data->images + (size_t)index * IMAGE_PIXELS;
    for (int i = 0; i < IMAGE_PIXELS; i++) x->data[i] = (real)face[i] / (real)255;
}

void lesson_map_to_grey(const real *map, int count, int symmetric, uint8_t *out)
{
    double lo = DBL_MAX, hi = -DBL_MAX;
    for (int i = 0; i < count; i++) {
        if (map[i] < lo) lo = map[i];
        if (map[i] > hi) hi = map[i];
    }
    if (symmetric) {
        double largest = fmax(fabs(lo), fabs(hi));
        lo = -largest;
        hi = largest;
    }
    for (int i = 0; i < count; i++) {
        double level = hi > lo ? 255.0 * (map[i] - lo) / (hi - lo) : 128.0;
        out[i] = (uint8_t)lround(fmin(255.0, fmax(0.0, level)));
    }
}

/* ---- printing numbers --------------------------------------------------- */

void lesson_print_shape(const char *name, const Tensor *t, const char *meaning)
{
    char shape[64];
    tensor_shape_string(t, shape, sizeof shape);
    printf("  %-10s %-18s %s\n", name, shape, meaning ? meaning : "");
}

void lesson_print_matrix(const char *name, const real *m, int rows, int cols, int width,
                         int decimals)
{
    if (name) printf("  %s =\n", name);
    for (int r = 0; r < rows; r++) {
        printf("   ");
        for (int c = 0; c < cols; c++) {
            double v = m[r * cols + c];
            /* No "-0.00": a student would ask where the minus came from. */
            if (fabs(v) < 0.5 * pow(10, -decimals)) v = 0;
            printf(" %*.*f", width, decimals, v);
        }
        printf("\n");
    }
}

void lesson_print_tensor(const char *name, const Tensor *t, int decimals, size_t max_values)
{
    lesson_print_shape(name, t, NULL);
    int width = decimals + 5;
    if (t->ndim <= 2) {
        int rows = t->ndim == 2 ? t->dim[0] : 1;
        int cols = t->ndim == 2 ? t->dim[1] : t->dim[0];
        if (t->size > max_values) {
            printf("  (%zu values; the first 6x6:)\n", t->size);
            int r = rows < 6 ? rows : 6, c = cols < 6 ? cols : 6;
            for (int i = 0; i < r; i++) lesson_print_matrix(NULL, t->data + (size_t)i * cols, 1, c,
                                                            width, decimals);
            return;
        }
        lesson_print_matrix(NULL, t->data, rows, cols, width, decimals);
        return;
    }
    int planes = t->dim[0] * (t->ndim == 4 ? t->dim[1] : 1);
    int h = t->dim[t->ndim - 2], w = t->dim[t->ndim - 1];
    if (t->size > max_values) {
        printf("  (%zu values; the top-left corner of the first plane:)\n", t->size);
        int r = h < 6 ? h : 6, c = w < 6 ? w : 6;
        for (int i = 0; i < r; i++) lesson_print_matrix(NULL, t->data + (size_t)i * w, 1, c,
                                                        width, decimals);
        return;
    }
    for (int p = 0; p < planes; p++) {
        char label[64];
        if (t->ndim == 4)
            snprintf(label, sizeof label, "%s[%d][%d]", name, p / t->dim[1], p % t->dim[1]);
        else
            snprintf(label, sizeof label, "%s[%d]", name, p);
        lesson_print_matrix(label, t->data + (size_t)p * h * w, h, w, width, decimals);
    }
}

double lesson_max_abs_diff(const real *a, const real *b, size_t count)
{
    double largest = 0;
    for (size_t i = 0; i < count; i++) largest = fmax(largest, fabs((double)a[i] - (double)b[i]));
    return largest;
}

/* ---- gradient checks ---------------------------------------------------- */

int lesson_print_gradcheck(const GradcheckRow *rows, int count)
{
    int failed = 0;
    printf("  ");
    gradcheck_print_header();
    for (int i = 0; i < count; i++) {
        printf("  ");
        gradcheck_print_row(&rows[i]);
        failed += !rows[i].pass;
    }
    if (count == 1)
        printf("  -> %s (pass: max relative error below %.0e)\n", failed ? "FAIL" : "passes",
               GRADCHECK_THRESHOLD);
    else if (failed)
        printf("  -> %d of %d tensors FAIL (pass: max relative error below %.0e)\n", failed,
               count, GRADCHECK_THRESHOLD);
    else
        printf("  -> all %d tensors pass (max relative error below %.0e)\n", count,
               GRADCHECK_THRESHOLD);
    return failed;
}

int lesson_gradcheck_layer(Lesson *lesson, Layer *layer, Tensor *x, Rng *rng)
{
    GradcheckRow rows[LAYER_MAX_PARAMS + 1];
    int count = gradcheck_layer(layer, x, rng, rows, LAYER_MAX_PARAMS + 1);
    int failed = lesson_print_gradcheck(rows, count);
    lesson->failures += failed;
    return failed;
}

double lesson_seconds(void)
{
    return clock_seconds();
}
