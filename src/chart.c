/* posix_spawn_file_actions_addchdir_np (glibc 2.29, musl 1.1.24, macOS 10.15):
 * gnuplot starts in its private folder without a fork of our own. */
#define _GNU_SOURCE
#include "chart.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic_file.h"
#include "files.h"

extern char **environ;

/* ---------------------------------------------------------------------------
 * Finding and running gnuplot
 * ------------------------------------------------------------------------- */

/* 1 if an executable named program is in one of PATH's directories. */
static int found_on_path(const char *program)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    while (*path) {
        size_t len = strcspn(path, ":");
        char candidate[4096];
        /* an empty PATH entry means the current directory */
        int n = len ? snprintf(candidate, sizeof candidate, "%.*s/%s", (int)len, path, program)
                    : snprintf(candidate, sizeof candidate, "./%s", program);
        struct stat st;
        if (n > 0 && (size_t)n < sizeof candidate && stat(candidate, &st) == 0 &&
            S_ISREG(st.st_mode) && access(candidate, X_OK) == 0)
            return 1;
        path += len;
        if (*path == ':') path++;
    }
    return 0;
}

int chart_gnuplot_available(void)
{
    static int available = -1;
    if (available < 0) available = found_on_path("gnuplot");
    return available;
}

/* One notice per run, however many charts are skipped: the data files are
 * the useful part, the PNGs a convenience. */
static int skipped(const char *data_path)
{
    static int noticed = 0;
    if (!noticed) {
        fprintf(stderr, "gnuplot not found: charts skipped, their data written (e.g. %s); "
                        "apt-get install gnuplot-nox for the PNGs\n", data_path);
        noticed = 1;
    }
    return 1;
}

/* Writes s as a gnuplot single-quoted string, where '' stands for ' and
 * nothing else is special. Control characters (a newline would end the
 * command) are left out. Only titles, labels and captions go through
 * here: file names never appear in a script (see the workshop below). */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if ((unsigned char)*s >= 0x20 && *s != 0x7f) fputc(*s, f);
    }
    fputc('\'', f);
}

/* "dir/name.png" + ".dat" -> "dir/name.dat" (the extension replaced, or
 * appended if the file name has none, or if replacing it would give the
 * PNG's own name). */
char *chart_file_beside(const char *path, const char *extension)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    if (!strcmp(path + stem, extension)) stem = strlen(path);
    char *out = xmalloc(stem + strlen(extension) + 1);
    memcpy(out, path, stem);
    strcpy(out + stem, extension);
    return out;
}

/* ---------------------------------------------------------------------------
 * The workshop: where gnuplot runs
 *
 * gnuplot reads a file name that starts with '<' as "the output of this
 * command" and writes to one that starts with '|' by running it, and a
 * quote, backslash or newline in a name could end the string it sits in.
 * So no path of the user's is ever written into a script: each chart is
 * drawn in a private folder (mkdtemp: new, empty, ours alone) where the
 * data, the scripts and the PNG have fixed names, gnuplot runs with that
 * folder as its working directory, and the finished PNG is then moved to
 * the path asked for (renamed, or copied atomically to another file
 * system). Whatever the path holds, gnuplot never sees it.
 * ------------------------------------------------------------------------- */

enum { WORKSHOP_FILES = 5 + CHART_MAX_SERIES };
static const char *const workshop_files[WORKSHOP_FILES] = {
    "data",        /* the numbers to plot */
    "setup.gp",    /* terminal and output */
    "chart.gp",    /* the plot commands */
    "chart.png",   /* what gnuplot draws */
    "gnuplot.log", /* gnuplot's complaints, shown if it fails */
    /* a line chart's series that come from files of their own */
    "series0", "series1", "series2", "series3", "series4", "series5", "series6", "series7",
};
enum { FILE_DATA, FILE_SETUP, FILE_SCRIPT, FILE_PNG, FILE_LOG, FILE_SERIES };

typedef struct {
    char *dir;                          /* the private folder */
    char *paths[WORKSHOP_FILES];        /* dir/name of each file */
    int tracked[WORKSHOP_FILES + 1];    /* signal-cleanup handles: the files, then dir */
} Workshop;

/* A new private folder "<parent>/workbench-chart.XXXXXX", or NULL. */
static char *make_private_folder(const char *parent, size_t parent_len)
{
    char *dir = xmalloc(parent_len + sizeof "/workbench-chart.XXXXXX");
    sprintf(dir, "%.*s/workbench-chart.XXXXXX", (int)parent_len, parent);
    if (mkdtemp(dir)) return dir;
    free(dir);
    return NULL;
}

/* Creates the folder in $TMPDIR, else /tmp, else (a read-only /tmp) in
 * the PNG's own folder: its name never reaches gnuplot either. Errors
 * name png_path. */
static int workshop_open(Workshop *w, const char *png_path, Error *err)
{
    const char *tmp = getenv("TMPDIR");
    w->dir = NULL;
    if (tmp && tmp[0] == '/') w->dir = make_private_folder(tmp, strlen(tmp));
    if (!w->dir) w->dir = make_private_folder("/tmp", 4);
    if (!w->dir) {
        const char *slash = strrchr(png_path, '/');
        w->dir = slash ? make_private_folder(png_path, slash == png_path ? 0 : (size_t)(slash - png_path))
                       : make_private_folder(".", 1);
    }
    if (!w->dir)
        return error_set(err, "%s: cannot create a private folder for gnuplot (in $TMPDIR, /tmp or "
                         "beside the chart): %s", png_path, strerror(errno));
    w->tracked[WORKSHOP_FILES] = temp_track(w->dir);
    for (int i = 0; i < WORKSHOP_FILES; i++) {
        w->paths[i] = xmalloc(strlen(w->dir) + strlen(workshop_files[i]) + 2);
        sprintf(w->paths[i], "%s/%s", w->dir, workshop_files[i]);
        w->tracked[i] = temp_track(w->paths[i]);
    }
    return 0;
}

/* Removes the folder and everything in it. */
static void workshop_close(Workshop *w)
{
    for (int i = 0; i < WORKSHOP_FILES; i++) {
        unlink(w->paths[i]);
        temp_untrack(w->tracked[i]);
        free(w->paths[i]);
    }
    rmdir(w->dir);
    temp_untrack(w->tracked[WORKSHOP_FILES]);
    free(w->dir);
}

/* Opens one of the workshop's files for writing; it must not exist yet. */
static FILE *workshop_create(const Workshop *w, int which, const char *png_path, Error *err)
{
    int fd = open(w->paths[which], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        error_set(err, "%s: cannot write gnuplot's %s in %s: %s", png_path, workshop_files[which],
                  w->dir, strerror(errno));
        if (fd >= 0) close(fd);
    }
    return f;
}

/* Copies the file at from (a regular file) to out; 0 or -1. */
static int copy_file(const char *from, FILE *out, Error *err)
{
    uint64_t size;
    FILE *in = fopen_regular(from, &size, err);
    if (!in) return -1;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) break;
    int status = 0;
    if (ferror(in)) status = error_set(err, "%s: read error", from);
    else if (ferror(out)) status = error_set(err, "cannot write a copy of %s: %s", from, strerror(errno));
    fclose(in);
    return status;
}

/* A data file (a file of the caller's, or the one written beside the PNG)
 * copied into the workshop under the fixed name `which` ("data", "series3"). */
static int workshop_take_data(const Workshop *w, int which, const char *data_path,
                              const char *png_path, Error *err)
{
    FILE *out = workshop_create(w, which, png_path, err);
    if (!out) return -1;
    int status = copy_file(data_path, out, err);
    if (fclose(out) != 0 && status == 0)
        status = error_set(err, "cannot write a copy of %s: %s", data_path, strerror(errno));
    if (status) error_prefix(err, "%s", png_path);
    return status;
}

/* The first line of a (small) text file, for an error message. */
static void first_line(const char *path, char *line, size_t len)
{
    line[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    /* gnuplot's messages start with an empty line or the offending command;
     * keep the first line that says something. */
    char buf[512];
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (strspn(buf, " \t^") < strlen(buf)) {
            size_t n = strlen(buf) < len - 1 ? strlen(buf) : len - 1;
            memcpy(line, buf, n);
            line[n] = '\0';
            break;
        }
    }
    fclose(f);
}

/* Puts the workshop's PNG at png_path: a rename on the same file system,
 * else a copy through an atomic file, so png_path is never half written. */
static int move_png_into_place(const Workshop *w, const char *png_path, Error *err)
{
    if (atomic_replaceable(png_path, err)) return -1;
    if (rename(w->paths[FILE_PNG], png_path) == 0) return 0;
    if (errno != EXDEV)
        return error_set(err, "%s: cannot move the chart into place: %s", png_path, strerror(errno));
    AtomicFile af;
    FILE *out = atomic_open(&af, png_path, err);
    if (!out) return -1;
    if (copy_file(w->paths[FILE_PNG], out, err)) {
        atomic_abort(&af);
        return error_prefix(err, "%s", png_path);
    }
    return atomic_commit(&af, err);
}

/* Runs gnuplot in the workshop on its chart.gp, which draws one plot,
 * with the terminal set to a width x height PNG, then moves the PNG to
 * png_path. */
static int run_gnuplot(const Workshop *w, const char *png_path, int width, int height, Error *err)
{
    /* The terminal and the output go in a file of their own, read before the
     * script: pngcairo draws smoother lines and text than libgd's png, which
     * is the fallback where gnuplot was built without cairo. */
    FILE *setup = workshop_create(w, FILE_SETUP, png_path, err);
    if (!setup) return -1;
    fprintf(setup,
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size %d,%d noenhanced font 'sans,10'\n"
            "} else {\n"
            "    set terminal png size %d,%d noenhanced\n"
            "}\n"
            "set output '%s'\n",
            width, height, width, height, workshop_files[FILE_PNG]);
    if (ferror(setup) | (fclose(setup) != 0))
        return error_set(err, "%s: cannot write gnuplot's %s in %s: %s", png_path,
                         workshop_files[FILE_SETUP], w->dir, strerror(errno));

    /* In the workshop, by the fixed names: gnuplot's output to /dev/null,
     * its complaints to the log. */
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, w->dir);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, workshop_files[FILE_LOG],
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *args[] = {"gnuplot", (char *)workshop_files[FILE_SETUP],
                    (char *)workshop_files[FILE_SCRIPT], NULL};
    pid_t pid;
    int spawn_error = posix_spawnp(&pid, "gnuplot", &actions, NULL, args, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error)
        return error_set(err, "%s: cannot run gnuplot: %s", png_path, strerror(spawn_error));
    int wait_status;
    while (waitpid(pid, &wait_status, 0) < 0)
        if (errno != EINTR)
            return error_set(err, "%s: waiting for gnuplot: %s", png_path, strerror(errno));

    struct stat st;
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0 ||
        lstat(w->paths[FILE_PNG], &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        char message[300];
        first_line(w->paths[FILE_LOG], message, sizeof message);
        return error_set(err, "%s: gnuplot failed%s%s", png_path, message[0] ? ": " : "", message);
    }
    return move_png_into_place(w, png_path, err);
}

/* What every chart does once its data file exists: gnuplot or not, the
 * workshop, the data copied in, the script written by draw(), gnuplot
 * run, the workshop removed. Returns the chart status (0, 1 or -1). */
typedef void (*DrawFunction)(FILE *script, const void *chart);

static int draw_chart(const char *png_path, const char *data_path,
                      const char *const *series_data, DrawFunction draw,
                      const void *chart, int width, int height, Error *err)
{
    if (atomic_replaceable(png_path, err)) return -1; /* with gnuplot or without */
    if (!chart_gnuplot_available()) return skipped(data_path);
    Workshop w;
    if (workshop_open(&w, png_path, err)) return -1;
    int status = workshop_take_data(&w, FILE_DATA, data_path, png_path, err);
    for (int s = 0; status == 0 && series_data && s < CHART_MAX_SERIES; s++)
        if (series_data[s])
            status = workshop_take_data(&w, FILE_SERIES + s, series_data[s], png_path, err);
    if (status == 0) {
        FILE *script = workshop_create(&w, FILE_SCRIPT, png_path, err);
        if (!script) {
            status = -1;
        } else {
            draw(script, chart);
            if (ferror(script) | (fclose(script) != 0))
                status = error_set(err, "%s: cannot write gnuplot's %s in %s: %s", png_path,
                                   workshop_files[FILE_SCRIPT], w.dir, strerror(errno));
        }
    }
    if (status == 0) status = run_gnuplot(&w, png_path, width, height, err);
    workshop_close(&w);
    return status;
}

/* Writes a chart's data file beside the PNG (png_path with its extension
 * replaced), atomically, by calling write(file, chart). On success returns
 * its path (the caller frees it); on failure NULL, with a message that
 * names the PNG asked for first. */
typedef void (*WriteFunction)(FILE *data, const void *chart);

static char *write_data_file(const char *png_path, const char *extension, WriteFunction write,
                             const void *chart, Error *err)
{
    char *data_path = chart_file_beside(png_path, extension);
    AtomicFile af;
    FILE *data = atomic_open(&af, data_path, err);
    if (data) {
        write(data, chart);
        if (atomic_commit(&af, err) == 0) return data_path;
    }
    error_prefix(err, "%s", png_path);
    free(data_path);
    return NULL;
}

static void put_titles(FILE *f, const char *title, const char *xlabel, const char *ylabel)
{
    if (title) { fputs("set title ", f); put_quoted(f, title); fputc('\n', f); }
    if (xlabel) { fputs("set xlabel ", f); put_quoted(f, xlabel); fputc('\n', f); }
    if (ylabel) { fputs("set ylabel ", f); put_quoted(f, ylabel); fputc('\n', f); }
}

/* ---------------------------------------------------------------------------
 * Line charts
 * ------------------------------------------------------------------------- */

/* A data file "in gnuplot's syntax": the workshop's fixed name, with the
 * header lines to skip. */
static void put_data(FILE *f, int header_lines)
{
    fprintf(f, "'%s'", workshop_files[FILE_DATA]);
    if (header_lines > 0) fprintf(f, " skip %d", header_lines);
}

static void draw_lines(FILE *f, const void *chart)
{
    const ChartSpec *spec = chart;
    put_titles(f, spec->title, spec->xlabel, spec->ylabel);
    fputs("set grid\nset key ", f);
    /* the legend's place is a few words of gnuplot's; keep only those */
    const char *key = spec->key && spec->key[0] ? spec->key : "top right";
    for (; *key; key++)
        if ((*key >= 'a' && *key <= 'z') || *key == ' ') fputc(*key, f);
    fputs(" box opaque\nset border 3\nset tics nomirror\n", f);
    if (spec->large)
        fputs("set title font ',16'\nset xlabel font ',14'\nset ylabel font ',14'\n"
              "set tics font ',13'\nset key font ',13' spacing 1.3\n", f);
    if (spec->csv) fputs("set datafile separator comma\n", f);
    if (spec->ymin < spec->ymax) fprintf(f, "set yrange [%.17g:%.17g]\n", spec->ymin, spec->ymax);
    if (spec->xmin < spec->xmax) fprintf(f, "set xrange [%.17g:%.17g]\n", spec->xmin, spec->xmax);
    if (spec->log_x) fputs("set logscale x\nset format x '%g'\n", f);
    if (spec->log_y) fputs("set logscale y\nset format y '%g'\n", f);
    if (spec->equal_axes) fputs("set size ratio -1\n", f);
    int right = 0;
    for (int s = 0; s < spec->num_series; s++) right |= spec->style[s].right_axis;
    if (right) {
        fputs("set ytics nomirror\nset y2tics\nset border 11\n", f);
        if (spec->y2min < spec->y2max)
            fprintf(f, "set y2range [%.17g:%.17g]\n", spec->y2min, spec->y2max);
        if (spec->y2label) {
            fputs("set y2label ", f);
            put_quoted(f, spec->y2label);
            fputs(spec->large ? " font ',14'\n" : "\n", f);
        }
    }
    if (spec->x_whole) {
        /* Epochs read badly with ticks at 0.5: at most ~10 ticks, a whole
         * number apart, from gnuplot's own look at the x column. */
        fputs("stats ", f);
        put_data(f, spec->header_lines);
        fprintf(f, " using %d nooutput\n"
                   "tic_step = ceil((STATS_max - STATS_min) / 10.0)\n"
                   "if (tic_step < 1) { tic_step = 1 }\n"
                   "set xtics tic_step\n"
                   "set format x '%%.0f'\n",
                spec->x_column);
    }
    static const char *const colours[CHART_MAX_SERIES] = {
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    const double width = spec->large ? 3 : 2;
    fputs("plot ", f);
    for (int s = 0; s < spec->num_series; s++) {
        const ChartSeriesStyle *style = &spec->style[s];
        if (s) fputs(", \\\n     ", f);
        /* a series with its own data file reads the workshop's copy of it */
        if (style->data) fprintf(f, "'%s'", workshop_files[FILE_SERIES + s]);
        else fprintf(f, "'%s'", workshop_files[FILE_DATA]);
        if (spec->header_lines > 0) fprintf(f, " skip %d", spec->header_lines);
        fprintf(f, " using %d:%d", style->x_column > 0 ? style->x_column : spec->x_column,
                spec->y_columns[s]);
        if (style->right_axis) fputs(" axes x1y2", f);
        if (style->background) {
            fputs(" with lines lw 1 lc rgb '#b0b0b0' notitle", f);
            continue;
        }
        int colour = style->colour >= 1 && style->colour <= CHART_MAX_SERIES ? style->colour - 1
                                                                              : s;
        if (style->dots)
            fprintf(f, " with points pt 7 ps %g", spec->large ? 0.5 : 0.35);
        else if (style->no_points)
            fprintf(f, " with lines lw %g", width);
        else
            fprintf(f, " with linespoints lw %g pt 7 ps %g", width, spec->large ? 1.0 : 0.7);
        fprintf(f, " dt %d lc rgb '%s' title ", style->dashed ? 2 : 1, colours[colour]);
        put_quoted(f, spec->series_titles[s] ? spec->series_titles[s] : "");
    }
    fputc('\n', f);
}

int chart_lines(const char *png_path, const char *data_path, const ChartSpec *spec, Error *err)
{
    if (spec->num_series < 1 || spec->num_series > CHART_MAX_SERIES)
        return error_set(err, "%s: a line chart needs 1 to %d series, not %d", png_path,
                         CHART_MAX_SERIES, spec->num_series);
    const char *series_data[CHART_MAX_SERIES] = {0};
    for (int s = 0; s < spec->num_series; s++) series_data[s] = spec->style[s].data;
    return draw_chart(png_path, data_path, series_data, draw_lines, spec,
                      spec->large ? 1000 : 800, spec->large ? 650 : 500, err);
}

/* ---------------------------------------------------------------------------
 * Heatmaps
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *title, *xlabel, *ylabel;
    const double *matrix;
    int rows, cols;
    const char *const *row_labels, *const *col_labels;
} Heatmap;

/* Tics naming positions 0..count-1, e.g. set xtics ('Angry' 0, 'Fear' 1). */
static void put_tics(FILE *f, const char *axis, const char *const *labels, int count)
{
    fprintf(f, "set %s (", axis);
    for (int i = 0; i < count; i++) {
        if (i) fputs(", ", f);
        if (labels && labels[i])
            put_quoted(f, labels[i]);
        else
            fprintf(f, "'%d'", i);
        fprintf(f, " %d", i);
    }
    fputs(")\n", f);
}

static void write_heatmap(FILE *data, const void *chart)
{
    const Heatmap *h = chart;
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++)
            fprintf(data, "%.9g%c", h->matrix[r * h->cols + c], c + 1 < h->cols ? ' ' : '\n');
}

static void draw_heatmap(FILE *f, const void *chart)
{
    const Heatmap *h = chart;
    /* Counts print as whole numbers, fractions with two decimals. */
    double largest = 0;
    int whole = 1;
    for (int i = 0; i < h->rows * h->cols; i++) {
        if (isfinite(h->matrix[i]) && fabs(h->matrix[i]) > largest) largest = fabs(h->matrix[i]);
        if (h->matrix[i] != floor(h->matrix[i])) whole = 0;
    }
    put_titles(f, h->title, h->xlabel, h->ylabel);
    put_tics(f, "xtics", h->col_labels, h->cols);
    put_tics(f, "ytics", h->row_labels, h->rows);
    /* Row 0 at the top, as the matrix reads on paper. */
    fprintf(f,
            "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n"
            "set xtics rotate by 30 right nomirror\nset ytics nomirror\nset tics scale 0\n"
            "set size ratio %g\nunset key\n"
            "set palette defined (0 '#f7fbff', 1 '#c6dbef', 2 '#6baed6', 3 '#2171b5', 4 '#08306b')\n"
            "set cbrange [0:%g]\n",
            h->cols - 0.5, h->rows - 0.5, (double)h->rows / h->cols, largest > 0 ? largest : 1);
    /* Each value printed in its cell, white on the dark half of the scale. */
    fputs("plot ", f);
    put_data(f, 0);
    fputs(" matrix with image, \\\n     ", f);
    put_data(f, 0);
    fprintf(f,
            " matrix using 1:2:(sprintf('%s', $3)):($3 > %g ? 0xffffff : 0x000000) "
            "with labels tc rgb variable font ',11'\n",
            whole ? "%.0f" : "%.2f", 0.55 * (largest > 0 ? largest : 1));
}

int chart_heatmap(const char *png_path, const char *title, const double *matrix, int rows,
                  int cols, const char *const *row_labels, const char *const *col_labels,
                  const char *xlabel, const char *ylabel, Error *err)
{
    if (rows < 1 || cols < 1)
        return error_set(err, "%s: a heatmap needs at least one row and column", png_path);
    const Heatmap h = {title, xlabel, ylabel, matrix, rows, cols, row_labels, col_labels};
    char *data_path = write_data_file(png_path, ".dat", write_heatmap, &h, err);
    if (!data_path) return -1;
    int status = draw_chart(png_path, data_path, NULL, draw_heatmap, &h, 760, 680, err);
    free(data_path);
    return status;
}

/* ---------------------------------------------------------------------------
 * Bar charts
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *title, *xlabel, *ylabel;
    const double *values;
    int count;
    const char *const *labels;
    const ChartBarsStyle *style; /* may be NULL */
} Bars;

/* The line charts' palette, as 0xRRGGBB for gnuplot's "lc rgb variable". */
static const unsigned palette[CHART_MAX_SERIES] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e,
                                                   0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f};

static void write_bars(FILE *data, const void *chart)
{
    const Bars *b = chart;
    fputs("# index label value colour\n", data);
    for (int i = 0; i < b->count; i++) {
        /* labels go in double quotes, so they may hold spaces */
        fprintf(data, "%d \"", i);
        for (const char *s = b->labels && b->labels[i] ? b->labels[i] : ""; *s; s++)
            if (*s != '"' && (unsigned char)*s >= 0x20) fputc(*s, data);
        int colour = b->style && b->style->colours ? b->style->colours[i] : 0;
        unsigned rgb = colour >= 1 && colour <= CHART_MAX_SERIES ? palette[colour - 1] : 0x4472c4;
        fprintf(data, "\" %.9g %u\n", b->values[i], rgb);
    }
}

static void draw_bars(FILE *f, const void *chart)
{
    const Bars *b = chart;
    const int line = b->style && b->style->line_label;
    double largest = line ? b->style->line : 0;
    for (int i = 0; i < b->count; i++)
        if (b->values[i] > largest) largest = b->values[i];
    put_titles(f, b->title, b->xlabel, b->ylabel);
    fprintf(f,
            "set style fill solid 0.85 border -1\nset boxwidth 0.7\n%s"
            "set grid ytics\nset border 3\nset tics nomirror\nset xrange [-0.6:%g]\n"
            "set yrange [0:%g]\n",
            line ? "set key top left box opaque\n" : "unset key\n", b->count - 0.4,
            largest > 0 ? largest * 1.15 : 1);
    fputs("plot ", f);
    put_data(f, 0);
    fputs(" using 1:3:4:xtic(2) with boxes lc rgb variable notitle, \\\n     ", f);
    put_data(f, 0);
    fputs(" using 1:3:(sprintf('%g', $3)) with labels offset 0,0.8 notitle", f);
    if (line) {
        fprintf(f, ", \\\n     %.17g with lines dt 2 lw 2 lc rgb 'black' title ", b->style->line);
        put_quoted(f, b->style->line_label);
    }
    fputc('\n', f);
}

int chart_bars(const char *png_path, const char *title, const double *values, int count,
               const char *const *labels, const char *xlabel, const char *ylabel, Error *err)
{
    if (count < 1) return error_set(err, "%s: a bar chart needs at least one bar", png_path);
    return chart_bars_styled(png_path, title, values, count, labels, xlabel, ylabel, NULL, err);
}

int chart_bars_styled(const char *png_path, const char *title, const double *values, int count,
                      const char *const *labels, const char *xlabel, const char *ylabel,
                      const ChartBarsStyle *style, Error *err)
{
    if (count < 1) return error_set(err, "%s: a bar chart needs at least one bar", png_path);
    const Bars b = {title, xlabel, ylabel, values, count, labels, style};
    char *data_path = write_data_file(png_path, ".dat", write_bars, &b, err);
    if (!data_path) return -1;
    int status = draw_chart(png_path, data_path, NULL, draw_bars, &b, 800, 500, err);
    free(data_path);
    return status;
}

/* ---------------------------------------------------------------------------
 * Image montages
 * ------------------------------------------------------------------------- */

/* Where the tiles go in the montage, in montage pixels: a gap around each
 * tile and a strip above it for the caption. */
typedef struct {
    int columns, rows;
    int gap, caption;      /* pixels between tiles; rows kept for the caption */
    int width, height;     /* the whole montage */
    int scale;             /* PNG pixels per montage pixel */
} Montage;

/* caption_pixels: the height of a caption line in the PNG (16 for the
 * default lettering); target_width: the PNG width small images are enlarged
 * towards (by a whole factor). */
static Montage montage_layout(int n, int h, int w, int columns, int has_captions,
                              int caption_pixels, int target_width)
{
    Montage m;
    m.columns = columns < 1 ? 1 : columns > n ? n : columns;
    m.rows = (n + m.columns - 1) / m.columns;
    m.gap = w / 8 > 2 ? w / 8 : 2;
    int raw_width = m.columns * (w + m.gap) + m.gap;
    /* Small images are enlarged so a 48x48 face is worth looking at. */
    m.scale = target_width / raw_width;
    if (m.scale < 1) m.scale = 1;
    if (m.scale > 8) m.scale = 8;
    m.caption = has_captions ? (caption_pixels + m.scale - 1) / m.scale + 1 : 0;
    m.width = raw_width;
    m.height = m.rows * (h + m.gap + m.caption) + m.gap;
    return m;
}

typedef struct {
    const char *title;
    const uint8_t *images;
    int n, h, w;
    const char *const *captions;
    int has_captions;
    int large;             /* lettering for a projector */
    Montage m;
    int header_len;        /* bytes of the PGM header before the pixels */
} Images;

/* The montage, white between the tiles, as a binary PGM (P5). */
static void write_montage(FILE *data, const void *chart)
{
    const Images *im = chart;
    const Montage *m = &im->m;
    uint8_t *canvas = xmalloc((size_t)m->width * (size_t)m->height);
    memset(canvas, 255, (size_t)m->width * (size_t)m->height);
    for (int i = 0; i < im->n; i++) {
        int top = m->gap + (i / m->columns) * (im->h + m->gap + m->caption) + m->caption;
        int left = m->gap + (i % m->columns) * (im->w + m->gap);
        for (int y = 0; y < im->h; y++)
            memcpy(canvas + (size_t)(top + y) * m->width + left,
                   im->images + ((size_t)i * im->h + y) * im->w, (size_t)im->w);
    }
    fprintf(data, "P5\n%d %d\n255\n", m->width, m->height);
    fwrite(canvas, 1, (size_t)m->width * (size_t)m->height, data);
    free(canvas);
}

static void draw_montage(FILE *f, const void *chart)
{
    const Images *im = chart;
    const Montage *m = &im->m;
    put_titles(f, im->title, NULL, NULL);
    if (im->large) fputs("set title font ',20'\n", f);
    /* The PGM's pixels, read as raw bytes after its header; pixel (x, y) is
     * drawn at (x, y) with y growing downwards, as in the file. */
    fprintf(f,
            "unset border\nunset tics\nunset key\nunset colorbox\n"
            "set palette gray\nset cbrange [0:255]\n"
            "set lmargin 0\nset rmargin 0\nset bmargin 0\nset tmargin %d\n"
            "set size ratio -1\n"
            "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n",
            im->title ? (im->large ? 4 : 3) : 0, m->width - 0.5, m->height - 0.5);
    for (int i = 0; im->has_captions && i < im->n; i++) {
        if (!im->captions[i] || !im->captions[i][0]) continue;
        double x = m->gap + (i % m->columns) * (im->w + m->gap) + (im->w - 1) / 2.0;
        double y = m->gap + (i / m->columns) * (im->h + m->gap + m->caption) + (m->caption - 1) / 2.0;
        fputs("set label ", f);
        put_quoted(f, im->captions[i]);
        fprintf(f, " at %g,%g center front font ',%d'\n", x, y, im->large ? 15 : 9);
    }
    fputs("plot ", f);
    put_data(f, 0);
    fprintf(f, " binary array=(%d,%d) format='%%uchar' skip=%d with image\n", m->width, m->height,
            im->header_len);
}

int chart_images(const char *png_path, const char *title, const uint8_t *images, int n, int h,
                 int w, int columns, const char *const *captions, Error *err)
{
    return chart_images_styled(png_path, title, images, n, h, w, columns, captions, NULL, err);
}

int chart_images_styled(const char *png_path, const char *title, const uint8_t *images, int n,
                        int h, int w, int columns, const char *const *captions,
                        const ChartImagesStyle *style, Error *err)
{
    if (n < 1 || h < 1 || w < 1)
        return error_set(err, "%s: a montage needs at least one image", png_path);
    const int large = style && style->large;
    const int target_width = style && style->width > 0 ? style->width : 900;
    Images im = {.title = title, .images = images, .n = n, .h = h, .w = w, .captions = captions,
                 .large = large};
    for (int i = 0; captions && i < n; i++)
        if (captions[i] && captions[i][0]) im.has_captions = 1;
    /* a caption line is ~16 PNG pixels high, ~26 in large lettering */
    im.m = montage_layout(n, h, w, columns, im.has_captions, large ? 26 : 16, target_width);
    im.header_len = snprintf(NULL, 0, "P5\n%d %d\n255\n", im.m.width, im.m.height);
    char *data_path = write_data_file(png_path, ".pgm", write_montage, &im, err);
    if (!data_path) return -1;
    int title_height = title ? (large ? 56 : 40) : 0;
    int status = draw_chart(png_path, data_path, NULL, draw_montage, &im, im.m.width * im.m.scale,
                            im.m.height * im.m.scale + title_height, err);
    free(data_path);
    return status;
}

/* ---------------------------------------------------------------------------
 * Text charts
 * ------------------------------------------------------------------------- */

void text_chart_lines(FILE *out, const char *title, const double *const *series,
                      const char *const *names, int num_series, int length, int width,
                      int height)
{
    static const char marks[] = "*o+x#@%&";
    if (num_series < 1 || length < 1) return;
    if (width < 8) width = 8;
    if (height < 3) height = 3;

    double low = INFINITY, high = -INFINITY;
    for (int s = 0; s < num_series; s++)
        for (int i = 0; i < length; i++)
            if (isfinite(series[s][i])) {
                if (series[s][i] < low) low = series[s][i];
                if (series[s][i] > high) high = series[s][i];
            }
    if (!(low <= high)) return; /* nothing finite to draw */
    if (high - low < 1e-12) {
        high += 0.5;
        low -= 0.5;
    }

    char *grid = xmalloc((size_t)width * (size_t)height);
    memset(grid, ' ', (size_t)width * (size_t)height);
    /* Each column samples the curve at x = column * (length-1)/(width-1),
     * interpolating linearly between the two neighbouring points, so the
     * curve is continuous whatever the number of points. */
    for (int s = 0; s < num_series; s++) {
        for (int c = 0; c < width; c++) {
            double x = length > 1 ? (double)c * (length - 1) / (width - 1) : 0;
            int i = (int)x;
            if (i >= length - 1) i = length - 1;
            double t = x - i, value = series[s][i];
            if (i + 1 < length) value = (1 - t) * series[s][i] + t * series[s][i + 1];
            if (!isfinite(value)) continue;
            int row = (int)lround((high - value) / (high - low) * (height - 1));
            grid[(size_t)row * width + c] = marks[s % (sizeof marks - 1)];
        }
    }

    if (title) fprintf(out, "%s\n", title);
    for (int r = 0; r < height; r++) {
        if (r == 0)
            fprintf(out, "%9.4g |", high);
        else if (r == height - 1)
            fprintf(out, "%9.4g |", low);
        else
            fprintf(out, "%9s |", "");
        fprintf(out, "%.*s\n", width, grid + (size_t)r * width);
    }
    fprintf(out, "%9s +", "");
    for (int c = 0; c < width; c++) fputc('-', out);
    int digits = snprintf(NULL, 0, "%d", length);
    fprintf(out, "\n%9s  %-*d%d\n", "", width - digits, 1, length);
    fprintf(out, "%9s  ", "");
    for (int s = 0; s < num_series; s++)
        fprintf(out, "%c %s   ", marks[s % (sizeof marks - 1)], names && names[s] ? names[s] : "");
    fputc('\n', out);
    free(grid);
}
