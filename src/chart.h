/* chart.h: PNG charts drawn by gnuplot, and small text charts for terminals.
 *
 * gnuplot is an optional program: the workbench writes the numbers of
 * every chart to a plain data file first, then asks gnuplot (found on
 * PATH) to draw it. Without gnuplot a chart is skipped with one notice per
 * run, and the data file is still there for any other plotting tool.
 *
 * gnuplot never sees a path of the caller's: it runs in a private
 * temporary folder (in $TMPDIR, else /tmp) on fixed file names, so a path
 * holding '|' or '<' (which gnuplot runs as commands), quotes or newlines
 * is just a path. The PNG is moved onto png_path only when gnuplot
 * succeeded (renamed, or copied atomically to another file system), so a
 * chart is either complete or absent, and a failure names png_path.
 *
 * Every chart function returns
 *     0   the chart was written,
 *     1   skipped: gnuplot is not installed (the data file is written),
 *    -1   error, with a message in err.
 *
 * Data files beside the PNG (for png_path "runs/x/confusion.png"):
 *   chart_lines     reads the caller's data file, writes nothing else;
 *   chart_heatmap   "runs/x/confusion.dat": the matrix, one row per line;
 *   chart_bars      "runs/x/<name>.dat": one "label value" line per bar;
 *   chart_images    "runs/x/<name>.pgm": the montage without captions. */
#ifndef CHART_H
#define CHART_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define CHART_MAX_SERIES 8

/* How one curve of a line chart is drawn, when the defaults will not do
 * (all zero: the series' own colour, a solid line with a mark at each
 * point, from the chart's data file and x column). */
typedef struct {
    int colour;          /* 1..CHART_MAX_SERIES: that colour of the palette, so that
                            curves can share one (a run's training and validation);
                            0: the series' own (series s takes colour s + 1) */
    int dashed;          /* a dashed line, e.g. validation beside solid training */
    int no_points;       /* the line alone, no mark at each point (long curves) */
    int dots;            /* small marks alone, no line: a cloud of samples */
    int background;      /* thin, grey, no legend entry: e.g. a surface's contour
                            lines, given as blocks separated by blank lines */
    const char *data;    /* its own data file instead of the chart's (NULL) */
    int x_column;        /* its own x column instead of the chart's (0) */
    int right_axis;      /* read against the right-hand axis (ChartSpec.y2label) */
} ChartSeriesStyle;

/* A line chart over columns of a data file. Columns are numbered from 1,
 * as in gnuplot's `using`. */
typedef struct {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int csv;                 /* fields separated by commas (else whitespace) */
    int header_lines;        /* lines to skip at the top, e.g. 1 for a CSV header */
    int x_column;            /* column holding x, e.g. the epoch */
    int num_series;          /* 1..CHART_MAX_SERIES */
    int y_columns[CHART_MAX_SERIES];           /* column of each curve */
    const char *series_titles[CHART_MAX_SERIES]; /* legend entry of each curve */
    double ymin, ymax;       /* fixed y range when ymin < ymax, else automatic */
    int x_whole;             /* x takes whole numbers (epochs): ticks on whole numbers only */
    const char *key;         /* where the legend goes, in gnuplot's words: "top right"
                                (when NULL), "bottom right", "center right", ... */
    /* Optional; zero keeps the defaults. */
    int log_x, log_y;        /* logarithmic axes, for what changes by decades */
    int equal_axes;          /* a unit as long on x as on y: paths on a surface */
    double xmin, xmax;       /* fixed x range when xmin < xmax, else automatic */
    int large;               /* bigger lettering and lines, for a projector */
    /* a second y axis on the right for the series that ask for it
     * (style[s].right_axis), e.g. an accuracy beside a loss */
    const char *y2label;
    double y2min, y2max;     /* its fixed range when y2min < y2max */
    ChartSeriesStyle style[CHART_MAX_SERIES]; /* per curve */
} ChartSpec;

/* 1 if gnuplot can be run (looked up on PATH once per process). */
int chart_gnuplot_available(void);

/* The data file a chart writes beside png_path (above): png_path with its
 * extension replaced by `extension` (".dat", ".pgm"), to free. For a
 * command to check, before it draws, that the file is none of its inputs. */
char *chart_file_beside(const char *png_path, const char *extension);

/* Line chart of spec's columns of data_path, e.g. training and validation
 * loss per epoch. A series with its own data file (style[s].data) reads
 * that instead; header_lines are skipped in every file. */
int chart_lines(const char *png_path, const char *data_path, const ChartSpec *spec, Error *err);

/* Heatmap of matrix (rows, cols), row-major, with each cell's value printed
 * in it: a confusion matrix with rows = true class, cols = predicted class.
 * row_labels (rows) and col_labels (cols) name the rows and columns (may be
 * NULL for numbers). Row 0 is drawn at the top, as the matrix is printed. */
int chart_heatmap(const char *png_path, const char *title, const double *matrix, int rows,
                  int cols, const char *const *row_labels, const char *const *col_labels,
                  const char *xlabel, const char *ylabel, Error *err);

/* Bar chart: values (count,), one bar per label (count), value written
 * above each bar, e.g. the number of images per class. */
int chart_bars(const char *png_path, const char *title, const double *values, int count,
               const char *const *labels, const char *xlabel, const char *ylabel, Error *err);

/* The same, with a colour per bar and a level line, e.g. a pass mark. */
typedef struct {
    const int *colours;     /* (count,): palette colour 1..8 of each bar; NULL: all blue */
    double line;            /* a dashed horizontal line at this value, if line_label */
    const char *line_label; /* its legend, e.g. "pass: 7 digits"; NULL: no line */
} ChartBarsStyle;
int chart_bars_styled(const char *png_path, const char *title, const double *values, int count,
                      const char *const *labels, const char *xlabel, const char *ylabel,
                      const ChartBarsStyle *style, Error *err);

/* A montage of n grayscale images (n, h, w), 0 = black, 255 = white, laid
 * out in rows of `columns`, each with its caption (captions may be NULL, or
 * hold NULL entries) above it. For float maps (feature maps, filters,
 * saliency) the caller scales the values to 0..255 first. */
int chart_images(const char *png_path, const char *title, const uint8_t *images, int n, int h,
                 int w, int columns, const char *const *captions, Error *err);

/* The same, for a projector: lettering large enough to read from the back
 * of a room, and the images enlarged towards a wider picture. */
typedef struct {
    int large;  /* larger title and captions */
    int width;  /* the PNG width the images are enlarged towards, by a whole
                   factor of at most 8 (0: 900 pixels, chart_images's) */
} ChartImagesStyle;
int chart_images_styled(const char *png_path, const char *title, const uint8_t *images, int n,
                        int h, int w, int columns, const char *const *captions,
                        const ChartImagesStyle *style, Error *err);

/* Draws num_series curves of `length` points each on a width x height grid
 * of characters, with the y range on the left and a legend below:
 * series[s] is (length,), names[s] its legend entry. Each curve gets its
 * own mark ('*', 'o', '+', ...). NaN points are left out. */
void text_chart_lines(FILE *out, const char *title, const double *const *series,
                      const char *const *names, int num_series, int length, int width,
                      int height);

#endif
