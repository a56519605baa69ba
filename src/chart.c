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

/* Writes s as a gnuplot single-quoted string, where '' stands for '. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s != '\n') fputc(*s, f);
    }
    fputc('\'', f);
}

/* "dir/name.png" + ".dat" -> "dir/name.dat" (the extension replaced, or
 * appended if the file name has none). */
static char *path_with_extension(const char *path, const char *extension)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    char *out = xmalloc(stem + strlen(extension) + 1);
    memcpy(out, path, stem);
    strcpy(out + stem, extension);
    return out;
}

/* A new empty file "<base>.XXXXXX<suffix>"; returns its name (to free). */
static char *make_temp_file(const char *base, const char *suffix, Error *err)
{
    char *name = xmalloc(strlen(base) + strlen(".XXXXXX") + strlen(suffix) + 1);
    sprintf(name, "%s.XXXXXX%s", base, suffix);
    int fd = mkstemps(name, (int)strlen(suffix));
    if (fd < 0) {
        error_set(err, "%s: cannot create a temporary file beside it: %s", base, strerror(errno));
        free(name);
        return NULL;
    }
    /* mkstemps makes the file private (0600); the PNG renamed from it gets
     * the permissions an ordinary fopen would give, 0666 less the umask. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    close(fd);
    return name;
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

/* Runs gnuplot on the script (whose commands draw one plot) with the
 * output set to a temporary PNG beside png_path, then renames it onto
 * png_path. The script file is removed afterwards. */
static int run_gnuplot(const char *png_path, const char *script_path, int width, int height,
                       Error *err)
{
    int status = -1;
    char *temp_png = make_temp_file(png_path, ".tmp", err);
    if (!temp_png) return -1;
    char *log_path = make_temp_file(png_path, ".log", err);
    char *setup_path = log_path ? make_temp_file(png_path, ".gp", err) : NULL;
    if (!setup_path) goto done;

    /* The terminal and the output go in a file of their own, read before the
     * script: pngcairo draws smoother lines and text than libgd's png, which
     * is the fallback where gnuplot was built without cairo. */
    FILE *setup = fopen(setup_path, "w");
    if (!setup) {
        error_set(err, "%s: cannot write: %s", setup_path, strerror(errno));
        goto done;
    }
    fprintf(setup,
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size %d,%d noenhanced font 'sans,10'\n"
            "} else {\n"
            "    set terminal png size %d,%d noenhanced\n"
            "}\n"
            "set output ",
            width, height, width, height);
    put_quoted(setup, temp_png);
    fputc('\n', setup);
    if (fclose(setup) != 0) {
        error_set(err, "%s: cannot write: %s", setup_path, strerror(errno));
        goto done;
    }

    /* gnuplot's own complaints go to a log, shown only if it fails. */
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path, O_WRONLY | O_TRUNC, 0);
    char *args[] = {"gnuplot", setup_path, (char *)script_path, NULL};
    pid_t pid;
    int spawn_error = posix_spawnp(&pid, "gnuplot", &actions, NULL, args, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error) {
        error_set(err, "%s: cannot run gnuplot: %s", png_path, strerror(spawn_error));
        goto done;
    }
    int wait_status;
    while (waitpid(pid, &wait_status, 0) < 0)
        if (errno != EINTR) {
            error_set(err, "%s: waiting for gnuplot: %s", png_path, strerror(errno));
            goto done;
        }

    struct stat st;
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0 || stat(temp_png, &st) != 0 ||
        st.st_size == 0) {
        char message[300];
        first_line(log_path, message, sizeof message);
        error_set(err, "%s: gnuplot failed%s%s", png_path, message[0] ? ": " : "", message);
        goto done;
    }
    if (rename(temp_png, png_path) != 0) {
        error_set(err, "%s: cannot rename the temporary file onto it: %s", png_path,
                  strerror(errno));
        goto done;
    }
    status = 0;
done:
    unlink(script_path);
    if (status != 0) unlink(temp_png);
    free(temp_png);
    if (log_path) unlink(log_path);
    free(log_path);
    if (setup_path) unlink(setup_path);
    free(setup_path);
    return status;
}

/* Opens a new temporary script file beside png_path. */
static FILE *open_script(const char *png_path, char **script_path, Error *err)
{
    *script_path = make_temp_file(png_path, ".gp", err);
    if (!*script_path) return NULL;
    FILE *f = fopen(*script_path, "w");
    if (!f) {
        error_set(err, "%s: cannot write: %s", *script_path, strerror(errno));
        unlink(*script_path);
        free(*script_path);
    }
    return f;
}

/* Closes the script and runs it; frees script_path. */
static int finish_script(FILE *script, char *script_path, const char *png_path, int width,
                         int height, Error *err)
{
    int status;
    if (ferror(script) | (fclose(script) != 0)) {
        status = error_set(err, "%s: cannot write: %s", script_path, strerror(errno));
        unlink(script_path);
    } else {
        status = run_gnuplot(png_path, script_path, width, height, err);
    }
    free(script_path);
    return status;
}

/* Title and axis labels shared by every chart. */
/* Opens (atomically) the data file a chart draws from, beside the PNG:
 * png_path with its extension replaced. On success *data_path is the
 * caller's to free; on failure nothing is left to free. */
static FILE *open_data_file(const char *png_path, const char *extension, AtomicFile *af,
                            char **data_path, Error *err)
{
    *data_path = path_with_extension(png_path, extension);
    FILE *data = atomic_open(af, *data_path, err);
    if (!data) {
        free(*data_path);
        *data_path = NULL;
    }
    return data;
}

/* Once a chart's data file is written: commits it and, when gnuplot is
 * there, opens the script that will draw it. Returns the script, or NULL
 * with *status 1 (skipped: no gnuplot, notice printed) or -1 (error, err
 * set); on NULL, data_path has been freed, otherwise it stays the caller's. */
static FILE *commit_data_open_script(AtomicFile *af, char *data_path, const char *png_path,
                                     char **script_path, int *status, Error *err)
{
    *status = -1;
    FILE *script = NULL;
    if (atomic_commit(af, err) != 0) {
        /* the data file could not be written: nothing to draw */
    } else if (!chart_gnuplot_available()) {
        *status = skipped(data_path);
    } else {
        script = open_script(png_path, script_path, err);
    }
    if (!script) free(data_path);
    return script;
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

int chart_lines(const char *png_path, const char *data_path, const ChartSpec *spec, Error *err)
{
    if (spec->num_series < 1 || spec->num_series > CHART_MAX_SERIES)
        return error_set(err, "%s: a line chart needs 1 to %d series, not %d", png_path,
                         CHART_MAX_SERIES, spec->num_series);
    if (!chart_gnuplot_available()) return skipped(data_path);

    char *script_path;
    FILE *f = open_script(png_path, &script_path, err);
    if (!f) return -1;
    put_titles(f, spec->title, spec->xlabel, spec->ylabel);
    fprintf(f, "set grid\nset key %s box opaque\nset border 3\nset tics nomirror\n",
            spec->key && spec->key[0] ? spec->key : "top right");
    if (spec->large)
        fputs("set title font ',16'\nset xlabel font ',14'\nset ylabel font ',14'\n"
              "set tics font ',13'\nset key font ',13' spacing 1.3\n", f);
    if (spec->csv) fputs("set datafile separator comma\n", f);
    if (spec->ymin < spec->ymax) fprintf(f, "set yrange [%.17g:%.17g]\n", spec->ymin, spec->ymax);
    if (spec->xmin < spec->xmax) fprintf(f, "set xrange [%.17g:%.17g]\n", spec->xmin, spec->xmax);
    if (spec->log_x) fputs("set logscale x\nset format x '%g'\n", f);
    if (spec->log_y) fputs("set logscale y\nset format y '%g'\n", f);
    if (spec->equal_axes) fputs("set size ratio -1\n", f);
    if (spec->x_whole) {
        /* Epochs read badly with ticks at 0.5: at most ~10 ticks, a whole
         * number apart, from gnuplot's own look at the x column. */
        fputs("stats ", f);
        put_quoted(f, data_path);
        if (spec->header_lines > 0) fprintf(f, " skip %d", spec->header_lines);
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
        put_quoted(f, style->data ? style->data : data_path);
        if (spec->header_lines > 0) fprintf(f, " skip %d", spec->header_lines);
        fprintf(f, " using %d:%d", style->x_column > 0 ? style->x_column : spec->x_column,
                spec->y_columns[s]);
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
    return finish_script(f, script_path, png_path, spec->large ? 1000 : 800,
                         spec->large ? 650 : 500, err);
}

/* ---------------------------------------------------------------------------
 * Heatmaps
 * ------------------------------------------------------------------------- */

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

int chart_heatmap(const char *png_path, const char *title, const double *matrix, int rows,
                  int cols, const char *const *row_labels, const char *const *col_labels,
                  const char *xlabel, const char *ylabel, Error *err)
{
    if (rows < 1 || cols < 1)
        return error_set(err, "%s: a heatmap needs at least one row and column", png_path);
    AtomicFile af;
    char *data_path;
    FILE *data = open_data_file(png_path, ".dat", &af, &data_path, err);
    if (!data) return -1;
    /* Counts print as whole numbers, fractions with two decimals. */
    double largest = 0;
    int whole = 1;
    for (int i = 0; i < rows * cols; i++) {
        if (isfinite(matrix[i]) && fabs(matrix[i]) > largest) largest = fabs(matrix[i]);
        if (matrix[i] != floor(matrix[i])) whole = 0;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            fprintf(data, "%.9g%c", matrix[r * cols + c], c + 1 < cols ? ' ' : '\n');
    char *script_path;
    int status;
    FILE *f = commit_data_open_script(&af, data_path, png_path, &script_path, &status, err);
    if (!f) return status;
    put_titles(f, title, xlabel, ylabel);
    put_tics(f, "xtics", col_labels, cols);
    put_tics(f, "ytics", row_labels, rows);
    /* Row 0 at the top, as the matrix reads on paper. */
    fprintf(f,
            "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n"
            "set xtics rotate by 30 right nomirror\nset ytics nomirror\nset tics scale 0\n"
            "set size ratio %g\nunset key\n"
            "set palette defined (0 '#f7fbff', 1 '#c6dbef', 2 '#6baed6', 3 '#2171b5', 4 '#08306b')\n"
            "set cbrange [0:%g]\n",
            cols - 0.5, rows - 0.5, (double)rows / cols, largest > 0 ? largest : 1);
    /* Each value printed in its cell, white on the dark half of the scale. */
    fputs("plot ", f);
    put_quoted(f, data_path);
    fputs(" matrix with image, \\\n     ", f);
    put_quoted(f, data_path);
    fprintf(f,
            " matrix using 1:2:(sprintf('%s', $3)):($3 > %g ? 0xffffff : 0x000000) "
            "with labels tc rgb variable font ',11'\n",
            whole ? "%.0f" : "%.2f", 0.55 * (largest > 0 ? largest : 1));
    free(data_path);
    return finish_script(f, script_path, png_path, 760, 680, err);
}

/* ---------------------------------------------------------------------------
 * Bar charts
 * ------------------------------------------------------------------------- */

int chart_bars(const char *png_path, const char *title, const double *values, int count,
               const char *const *labels, const char *xlabel, const char *ylabel, Error *err)
{
    if (count < 1) return error_set(err, "%s: a bar chart needs at least one bar", png_path);
    AtomicFile af;
    char *data_path;
    FILE *data = open_data_file(png_path, ".dat", &af, &data_path, err);
    if (!data) return -1;
    double largest = 0;
    fputs("# index label value\n", data);
    for (int i = 0; i < count; i++) {
        /* labels go in double quotes, so they may hold spaces */
        fprintf(data, "%d \"", i);
        for (const char *s = labels && labels[i] ? labels[i] : ""; *s; s++)
            if (*s != '"' && *s != '\n') fputc(*s, data);
        fprintf(data, "\" %.9g\n", values[i]);
        if (values[i] > largest) largest = values[i];
    }
    char *script_path;
    int status;
    FILE *f = commit_data_open_script(&af, data_path, png_path, &script_path, &status, err);
    if (!f) return status;
    put_titles(f, title, xlabel, ylabel);
    fprintf(f,
            "set style fill solid 0.85 border -1\nset boxwidth 0.7\nunset key\n"
            "set grid ytics\nset border 3\nset tics nomirror\nset xrange [-0.6:%g]\n"
            "set yrange [0:%g]\n",
            count - 0.4, largest > 0 ? largest * 1.15 : 1);
    fputs("plot ", f);
    put_quoted(f, data_path);
    fputs(" using 1:3:xtic(2) with boxes lc rgb '#4472c4', \\\n     ", f);
    put_quoted(f, data_path);
    fputs(" using 1:3:(sprintf('%g', $3)) with labels offset 0,0.8\n", f);
    free(data_path);
    return finish_script(f, script_path, png_path, 800, 500, err);
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

static Montage montage_layout(int n, int h, int w, int columns, int has_captions)
{
    Montage m;
    m.columns = columns < 1 ? 1 : columns > n ? n : columns;
    m.rows = (n + m.columns - 1) / m.columns;
    m.gap = w / 8 > 2 ? w / 8 : 2;
    int raw_width = m.columns * (w + m.gap) + m.gap;
    /* Small images are enlarged so a 48x48 face is worth looking at. */
    m.scale = 900 / raw_width;
    if (m.scale < 1) m.scale = 1;
    if (m.scale > 8) m.scale = 8;
    /* a caption line is ~16 PNG pixels high */
    m.caption = has_captions ? (16 + m.scale - 1) / m.scale + 1 : 0;
    m.width = raw_width;
    m.height = m.rows * (h + m.gap + m.caption) + m.gap;
    return m;
}

int chart_images(const char *png_path, const char *title, const uint8_t *images, int n, int h,
                 int w, int columns, const char *const *captions, Error *err)
{
    if (n < 1 || h < 1 || w < 1)
        return error_set(err, "%s: a montage needs at least one image", png_path);
    int has_captions = 0;
    for (int i = 0; captions && i < n; i++)
        if (captions[i] && captions[i][0]) has_captions = 1;
    Montage m = montage_layout(n, h, w, columns, has_captions);

    /* The montage, white between the tiles, as a binary PGM (P5). */
    uint8_t *canvas = xmalloc((size_t)m.width * (size_t)m.height);
    memset(canvas, 255, (size_t)m.width * (size_t)m.height);
    for (int i = 0; i < n; i++) {
        int top = m.gap + (i / m.columns) * (h + m.gap + m.caption) + m.caption;
        int left = m.gap + (i % m.columns) * (w + m.gap);
        for (int y = 0; y < h; y++)
            memcpy(canvas + (size_t)(top + y) * m.width + left, images + ((size_t)i * h + y) * w,
                   (size_t)w);
    }
    AtomicFile af;
    char *data_path;
    FILE *data = open_data_file(png_path, ".pgm", &af, &data_path, err);
    if (!data) {
        free(canvas);
        return -1;
    }
    char header[64];
    int header_len = snprintf(header, sizeof header, "P5\n%d %d\n255\n", m.width, m.height);
    fwrite(header, 1, (size_t)header_len, data);
    fwrite(canvas, 1, (size_t)m.width * (size_t)m.height, data);
    free(canvas);
    char *script_path;
    int status;
    FILE *f = commit_data_open_script(&af, data_path, png_path, &script_path, &status, err);
    if (!f) return status;
    put_titles(f, title, NULL, NULL);
    /* The PGM's pixels, read as raw bytes after its header; pixel (x, y) is
     * drawn at (x, y) with y growing downwards, as in the file. */
    fprintf(f,
            "unset border\nunset tics\nunset key\nunset colorbox\n"
            "set palette gray\nset cbrange [0:255]\n"
            "set lmargin 0\nset rmargin 0\nset bmargin 0\nset tmargin %d\n"
            "set size ratio -1\n"
            "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n",
            title ? 3 : 0, m.width - 0.5, m.height - 0.5);
    for (int i = 0; has_captions && i < n; i++) {
        if (!captions[i] || !captions[i][0]) continue;
        double x = m.gap + (i % m.columns) * (w + m.gap) + (w - 1) / 2.0;
        double y = m.gap + (i / m.columns) * (h + m.gap + m.caption) + (m.caption - 1) / 2.0;
        fputs("set label ", f);
        put_quoted(f, captions[i]);
        fprintf(f, " at %g,%g center front font ',9'\n", x, y);
    }
    fputs("plot ", f);
    put_quoted(f, data_path);
    fprintf(f, " binary array=(%d,%d) format='%%uchar' skip=%d with image\n", m.width, m.height,
            header_len);
    free(data_path);
    int title_height = title ? 40 : 0;
    return finish_script(f, script_path, png_path, m.width * m.scale,
                         m.height * m.scale + title_height, err);
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
