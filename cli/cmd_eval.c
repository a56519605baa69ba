/* emotion eval: how well a trained model does on one split of a dataset.
 *
 * The model sees every image of the split once, in the file's order, in
 * batches, with no augmentation: exactly pixel / 255, as in training.
 * The softmax probabilities give each image's prediction (the most
 * probable class); predictions against labels give the confusion matrix,
 * and from it accuracy, per-class precision and recall, and macro-F1
 * (src/metrics.h has the definitions).
 *
 * With --tta (test-time augmentation) each image is seen in a few fixed
 * views instead (mirrored, moved by TTA_SHIFT pixels) and the softmax
 * probabilities of the views are averaged: the mean of several slightly
 * different looks is a steadier guess than any one. The loss is then the
 * cross-entropy of the averaged probabilities. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "atomic_file.h"
#include "chart.h"
#include "checkpoint.h"
#include "classes.h"
#include "commands.h"
#include "loader.h"
#include "files.h"
#include "metrics.h"
#include "model.h"
#include "npz.h"
#include "progress.h"

#define DEFAULT_DATA "data/synth.npz"
#define DEFAULT_SPLIT "test"
#define DEFAULT_BATCH 128
#define TTA_SHIFT 2 /* pixels: the views of --tta shifts */

/* The views of each --tta mode: (flip, shift down, shift right). */
typedef struct {
    int flip, dy, dx;
} View;
static const View views_none[] = {{0, 0, 0}};
static const View views_flip[] = {{0, 0, 0}, {1, 0, 0}};
static const View views_shifts[] = {
    {0, 0, 0},          {0, -TTA_SHIFT, 0}, {0, TTA_SHIFT, 0}, {0, 0, -TTA_SHIFT}, {0, 0, TTA_SHIFT},
    {1, 0, 0},          {1, -TTA_SHIFT, 0}, {1, TTA_SHIFT, 0}, {1, 0, -TTA_SHIFT}, {1, 0, TTA_SHIFT}};
static const struct {
    const char *name;
    const View *views;
    int count;
} tta_modes[] = {{"none", views_none, 1}, {"flip", views_flip, 2}, {"shifts", views_shifts, 10}};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: emotion eval --model FILE [--data FILE] [--split train|val|test]\n"
        "                    [--tta none|flip|shifts] [--probs OUT.npz] [--chart PNG]\n"
        "                    [--batch N] [--threads N]\n"
        "\n"
        "Runs a checkpoint on every image of one split (in the file's order; without\n"
        "--tta, exactly as stored) and prints the mean cross-entropy loss, accuracy,\n"
        "macro-F1, per-class precision, recall, F1 and support, and the confusion matrix\n"
        "(rows: true class, columns: predicted). The network is rebuilt from the\n"
        "description the checkpoint carries.\n"
        "\n"
        "options:\n"
        "  --model FILE     the checkpoint (.npz written by emotion train); required\n"
        "  --data FILE      the dataset (default " DEFAULT_DATA ", made by\n"
        "                   './emotion data synth'). Its images must have the\n"
        "                   model's shape, and its class_names, if it has them, the\n"
        "                   model's class names in the model's order\n"
        "  --split NAME     train, val or test (default " DEFAULT_SPLIT ")\n"
        "  --tta MODE       test-time augmentation: average the probabilities over\n"
        "                   several views of each image: flip (the image and its mirror\n"
        "                   image) or shifts (those two, each also moved %d pixels up,\n"
        "                   down, left and right: 10 views); none (default): the image\n"
        "                   as it is. Both mirror the image: not for data a mirror\n"
        "                   changes (a model trained with --no-flip: digits, text)\n"
        "  --probs OUT.npz  also write the softmax probabilities: member 'probs'\n"
        "                   float32 (N, K), N images in the split's order, K classes,\n"
        "                   with 'labels' and 'predictions' int64 (N,)\n"
        "  --chart PNG      draw the confusion matrix as a heatmap in PNG (gnuplot), and\n"
        "                   beside it PNG_by_true_class.png: each row as fractions of its\n"
        "                   true class, so that a rare class's row is readable too.\n"
        "                   Writes four files: for --chart c.png, c.png and c.dat (its\n"
        "                   numbers), c_by_true_class.png and c_by_true_class.dat\n"
        "                   (without gnuplot, the two .dat files alone)\n"
        "  --batch N        images per forward pass (default %d)\n"
        "  --threads N      OpenMP threads (default: all cores, or OMP_NUM_THREADS)\n"
        "  -h, --help       show this help\n"
        "\n"
        "Outputs replace files of their names, but never an input (--model, --data) or\n"
        "another output: such names are refused before anything is read.\n",
        TTA_SHIFT, DEFAULT_BATCH);
}

typedef struct {
    const char *model_path;
    const char *data_path;
    const char *split;
    const char *probs_path;
    const char *chart_path;  /* NULL: no chart */
    int tta;                 /* index into tta_modes */
    int batch;
    int threads;             /* 0: OpenMP's default */
} EvalOptions;

/* "out/c.png" -> "out/c_by_true_class.png" (to free). */
static char *by_true_class_path(const char *png_path)
{
    size_t len = strlen(png_path);
    size_t stem = len > 4 && !strcmp(png_path + len - 4, ".png") ? len - 4 : len;
    char *path = xmalloc(stem + sizeof "_by_true_class.png");
    memcpy(path, png_path, stem);
    strcpy(path + stem, "_by_true_class.png");
    return path;
}

/* The path an output will have, to free: its folder resolved (symbolic
 * links, "..", "."), then its own name; the text itself when the folder
 * does not exist (the write would fail, and says so before any work). */
static char *resolved_output(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t dir_len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = xmalloc(dir_len + 2);
    if (dir_len) memcpy(dir, path, dir_len);
    else dir[dir_len++] = '.';
    dir[dir_len] = '\0';
    char *resolved = realpath(dir, NULL);
    free(dir);
    if (!resolved) {
        char *copy = xmalloc(strlen(path) + 1);
        return strcpy(copy, path);
    }
    char *out = xmalloc(strlen(resolved) + strlen(name) + 2);
    sprintf(out, "%s%s%s", resolved, strcmp(resolved, "/") ? "/" : "", name);
    free(resolved);
    return out;
}

/* 1 if writing a and b would write one file: the same file now (hard and
 * symbolic links count), or the same name in the same folder. */
static int same_output(const char *a, const char *b)
{
    if (same_file(a, b)) return 1;
    char *ra = resolved_output(a), *rb = resolved_output(b);
    int same = !strcmp(ra, rb);
    free(ra);
    free(rb);
    return same;
}

/* Every file a run writes: --probs, --chart, and the three files --chart
 * writes beside its PNG. path[i] is NULL for an output not asked for. */
enum { OUTPUTS = 5 };
typedef struct {
    const char *path[OUTPUTS];
    char said[OUTPUTS][1200]; /* "--probs P", "--chart C", "the data file of --chart C (D)" */
    char *beside[3];          /* the names --chart makes (owned) */
} Outputs;

static void outputs_list(const EvalOptions *o, Outputs *out)
{
    memset(out, 0, sizeof *out);
    if (o->chart_path) {
        out->beside[0] = chart_file_beside(o->chart_path, ".dat");
        out->beside[1] = by_true_class_path(o->chart_path);
        out->beside[2] = chart_file_beside(out->beside[1], ".dat");
    }
    const char *paths[OUTPUTS] = {o->probs_path, o->chart_path, out->beside[0], out->beside[1],
                                  out->beside[2]};
    static const char *const roles[OUTPUTS] = {"--probs", "--chart", "the data file",
                                               "the by-true-class chart",
                                               "the by-true-class chart's data file"};
    for (int i = 0; i < OUTPUTS; i++) {
        out->path[i] = paths[i];
        if (!paths[i]) continue;
        if (i < 2) snprintf(out->said[i], sizeof out->said[i], "%s %s", roles[i], paths[i]);
        else snprintf(out->said[i], sizeof out->said[i], "%s of --chart %s (%s)", roles[i],
                      o->chart_path, paths[i]);
    }
}

static void outputs_free(Outputs *out)
{
    for (int i = 0; i < 3; i++) free(out->beside[i]);
}

/* Refuses (with a message naming both flags) an output that would replace
 * an input, or another output. Returns 0, or -1 after the message. */
static int outputs_clash(const EvalOptions *o)
{
    Outputs out;
    outputs_list(o, &out);
    const char *inputs[2] = {o->model_path, o->data_path};
    int clash = 0;
    for (int i = 0; i < OUTPUTS && !clash; i++) {
        if (!out.path[i]) continue;
        for (int k = 0; k < 2 && !clash; k++)
            if (same_file(out.path[i], inputs[k])) {
                const char *what = k == 0 ? "model" : "data";
                if (i < 2)
                    fprintf(stderr, "emotion eval: %s is the %s file: it would be replaced "
                                    "(--%s %s)\n\n", out.said[i], what, what, inputs[k]);
                else
                    fprintf(stderr, "emotion eval: --chart %s would also write %s, which is the "
                                    "%s file (--%s): choose another name\n\n", o->chart_path,
                            out.path[i], what, what);
                clash = 1;
            }
        for (int j = i + 1; j < OUTPUTS && !clash; j++)
            if (out.path[j] && same_output(out.path[i], out.path[j])) {
                fprintf(stderr, "emotion eval: %s and %s are the same file: one output would "
                                "replace the other; name them apart\n\n", out.said[i],
                        out.said[j]);
                clash = 1;
            }
    }
    outputs_free(&out);
    return clash ? -1 : 0;
}

/* Finds, before any work, an output that could not be written: a folder,
 * a FIFO or a link in its place, or a folder for it that does not exist.
 * Returns 0, or -1 after the message. */
static int outputs_writable(const EvalOptions *o)
{
    Outputs out;
    outputs_list(o, &out);
    int status = 0;
    for (int i = 0; i < OUTPUTS && status == 0; i++) {
        if (!out.path[i]) continue;
        Error err;
        if (atomic_replaceable(out.path[i], &err)) {
            fprintf(stderr, "emotion eval: %s\n", err.msg);
            status = -1;
            continue;
        }
        const char *slash = strrchr(out.path[i], '/');
        if (!slash || slash == out.path[i]) continue; /* the working folder, or / */
        char *folder = xmalloc((size_t)(slash - out.path[i]) + 1);
        memcpy(folder, out.path[i], (size_t)(slash - out.path[i]));
        folder[slash - out.path[i]] = '\0';
        struct stat st;
        const char *problem = stat(folder, &st) != 0
                                  ? (errno == ENOENT || errno == ENOTDIR
                                         ? "does not exist (make the folder first)" : NULL)
                              : !S_ISDIR(st.st_mode) ? "is not a folder" : NULL;
        if (problem) {
            fprintf(stderr, "emotion eval: %s: %s %s\n", out.said[i], folder, problem);
            status = -1;
        }
        free(folder);
    }
    outputs_free(&out);
    return status;
}

/* Fills options from argv. Returns -1 to go on and evaluate, or the exit
 * code to stop with: 0 after --help, 2 on bad usage (usage printed). */
static int parse_options(int argc, char **argv, EvalOptions *o)
{
    *o = (EvalOptions){.data_path = DEFAULT_DATA, .split = DEFAULT_SPLIT, .batch = DEFAULT_BATCH};
    ArgSeen seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            usage(stdout);
            return 0;
        }
        static const char *const valued[] = {"--model", "--data", "--split", "--probs",
                                             "--chart", "--batch", "--threads", "--tta"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(flag, valued[k]);
        if (!known) {
            fprintf(stderr, "emotion eval: unknown option '%s'\n\n", flag);
            goto bad_usage;
        }
        if (arg_once("emotion eval", &seen, flag)) {
            fputc('\n', stderr);
            goto bad_usage;
        }
        if (++i == argc) {
            fprintf(stderr, "emotion eval: %s needs a value\n\n", flag);
            goto bad_usage;
        }
        const char *value = argv[i];
        int is_path = !strcmp(flag, "--model") || !strcmp(flag, "--data") ||
                      !strcmp(flag, "--probs") || !strcmp(flag, "--chart");
        if (is_path && arg_path("emotion eval", flag, value)) goto bad_value;
        if (!strcmp(flag, "--model")) o->model_path = value;
        else if (!strcmp(flag, "--data")) o->data_path = value;
        else if (!strcmp(flag, "--probs")) o->probs_path = value;
        else if (!strcmp(flag, "--chart")) o->chart_path = value;
        else if (!strcmp(flag, "--split")) {
            if (strcmp(value, "train") && strcmp(value, "val") && strcmp(value, "test")) {
                fprintf(stderr, "emotion eval: --split is train, val or test, not '%s'\n\n", value);
                goto bad_usage;
            }
            o->split = value;
        } else if (!strcmp(flag, "--tta")) {
            o->tta = -1;
            for (int m = 0; m < (int)(sizeof tta_modes / sizeof tta_modes[0]); m++)
                if (!strcmp(value, tta_modes[m].name)) o->tta = m;
            if (o->tta < 0) {
                fprintf(stderr, "emotion eval: --tta is none, flip or shifts, not '%s'\n\n", value);
                goto bad_usage;
            }
        } else if (!strcmp(flag, "--batch")) {
            if (arg_int("emotion eval", flag, value, 1, 4096, &o->batch)) goto bad_value;
        } else if (arg_threads("emotion eval", flag, value, &o->threads)) {
            goto bad_value;
        }
    }
    if (!o->model_path) {
        fprintf(stderr, "emotion eval: which model? --model FILE is required\n\n");
        goto bad_usage;
    }
    if (outputs_clash(o)) goto bad_usage;
    return -1;
bad_value:
    fputc('\n', stderr);
bad_usage:
    usage(stderr);
    return 2;
}

/* Runs net on every image of data in order, in batches, each seen in the
 * given views: probs receives (count, K) softmax probabilities averaged
 * over the views, predictions (count,) the most probable class. Returns
 * the mean cross-entropy loss of the averaged probabilities. *not_finite
 * gets the first image whose probabilities are not finite numbers (weights
 * that overflow float give NaN scores), or -1. */
static double predict_split(Network *net, const Dataset *data, int batch, const View *views,
                            int view_count, float *probs, int *predictions, int *not_finite)
{
    *not_finite = -1;
    const int K = network_output_size(net);
    Loader loader;
    loader_init(&loader, data, batch, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 0});
    network_set_mode(net, LAYER_EVAL);
    Tensor *x = tensor_new4(batch, data->channels, data->height, data->width);
    int *labels = xmalloc((size_t)batch * sizeof *labels);
    double *mean = xmalloc((size_t)batch * K * sizeof *mean);
    Progress bar;
    progress_begin(&bar, "evaluating", data->count);
    double loss_sum = 0;
    int n, done = 0;
    while ((n = loader_next(&loader, x, labels)) > 0) {
        const int *indices = loader_batch_indices(&loader);
        memset(mean, 0, (size_t)n * K * sizeof *mean);
        for (int v = 0; v < view_count; v++) {
            const View *view = &views[v];
            /* x holds the images as stored until a view overwrites it */
            if (v > 0 || view->flip || view->dy || view->dx)
                loader_fill_view(data, indices, n, view->flip, view->dy, view->dx, x, labels);
            double loss = network_loss(net, x, labels);
            if (view_count == 1) loss_sum += n * loss; /* exact: from the scores */
            for (size_t i = 0; i < (size_t)n * K; i++)
                mean[i] += net->probs->data[i] / view_count;
        }
        for (int i = 0; i < n; i++) {
            const double *p = &mean[(size_t)i * K];
            real row[DATASET_MAX_CLASSES];
            for (int k = 0; k < K; k++) {
                probs[(size_t)indices[i] * K + k] = (float)p[k];
                row[k] = (real)p[k];
                if (!isfinite(p[k]) && *not_finite < 0) *not_finite = indices[i];
            }
            predictions[indices[i]] = argmax(row, K);
            if (view_count > 1) loss_sum -= log(p[labels[i]] > 1e-300 ? p[labels[i]] : 1e-300);
        }
        done += n;
        progress_update(&bar, done, NULL);
    }
    progress_end(&bar);
    free(mean);
    free(labels);
    tensor_free(x);
    loader_free(&loader);
    return loss_sum / data->count;
}

/* Writes probs (count, K) float32, labels and predictions (count,) int64. */
static int write_probs(const char *path, const float *probs, const int *labels,
                       const int *predictions, int count, int K, Error *err)
{
    int64_t *labels64 = xmalloc((size_t)count * sizeof *labels64 + 1);
    int64_t *predictions64 = xmalloc((size_t)count * sizeof *predictions64 + 1);
    for (int i = 0; i < count; i++) {
        labels64[i] = labels[i];
        predictions64[i] = predictions[i];
    }
    const int64_t probs_shape[2] = {count, K}, vector_shape[1] = {count};
    int status = -1;
    NpzWriter *w = npz_writer_open(path, 0, err);
    if (w) {
        if (npz_writer_add(w, "probs", NPY_FLOAT32, 2, probs_shape, probs, err) ||
            npz_writer_add(w, "labels", NPY_INT64, 1, vector_shape, labels64, err) ||
            npz_writer_add(w, "predictions", NPY_INT64, 1, vector_shape, predictions64, err))
            npz_writer_abort(w);
        else
            status = npz_writer_close(w, err);
    }
    free(labels64);
    free(predictions64);
    return status;
}

/* The heatmap of m's counts, and (by_true_class) of each true class's row
 * as fractions of that class: a rare class's row is as readable as a
 * common one's (FER2013's 547 Disgust faces beside 8,989 Happy ones).
 * Returns the chart_heatmap status. */
static int draw_confusion(const char *png_path, const ClassMetrics *m, const char *split,
                          const char *const *names, int by_true_class, Error *err)
{
    const int K = m->classes;
    double *cells = xmalloc((size_t)K * K * sizeof *cells);
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++) {
            double count = (double)m->confusion[t][p];
            cells[t * K + p] = !by_true_class ? count
                               : m->support[t] ? count / (double)m->support[t] : 0;
        }
    char title[200];
    snprintf(title, sizeof title, "Confusion matrix%s, %s split: accuracy %.1f%%, macro-F1 %.3f",
             by_true_class ? " (each row: fractions of its true class)" : "", split,
             100 * m->accuracy, m->macro_f1);
    int status = chart_heatmap(png_path, title, cells, K, K, names, names, "predicted class",
                               "true class", err);
    free(cells);
    return status;
}

static int evaluate(const EvalOptions *o)
{
    Error err;
    CheckpointInfo info;
    if (o->threads > 0) omp_set_num_threads(o->threads);
    if (outputs_writable(o)) return 1;
    Network *net = checkpoint_load(o->model_path, &info, &err);
    if (!net) {
        fprintf(stderr, "emotion eval: %s\n", err.msg);
        return 1;
    }
    if (model_fits_memory(net, o->batch, 0, &err)) {
        fprintf(stderr, "emotion eval: %s (the model %s; try --batch 1)\n", err.msg, o->model_path);
        goto fail_model;
    }
    if (!strcmp(o->data_path, DEFAULT_DATA) && access(DEFAULT_DATA, F_OK) != 0) {
        fprintf(stderr, "emotion eval: %s does not exist; make the built-in synthetic set with\n"
                        "    ./emotion data synth\n", DEFAULT_DATA);
        goto fail_model;
    }
    Dataset data;
    if (dataset_load(o->data_path, o->split, &data, &err)) {
        fprintf(stderr, "emotion eval: %s\n", err.msg);
        goto fail_model;
    }
    if (data.count == 0) {
        fprintf(stderr, "emotion eval: %s: split '%s' has no images\n", o->data_path, o->split);
        goto fail_data;
    }
    if (dataset_check_fits(&data, o->data_path, info.channels, info.height, info.width,
                           info.classes, &err) ||
        dataset_check_names(&data, o->data_path, (const char *const *)info.class_names, &err)) {
        fprintf(stderr, "emotion eval: %s (the model %s)\n", err.msg, o->model_path);
        goto fail_data;
    }
    const char *const *names = (const char *const *)info.class_names;
    const int K = info.classes;

    const int N = data.count;
    float *probs = xmalloc((size_t)N * K * sizeof *probs);
    int *predictions = xmalloc((size_t)N * sizeof *predictions);
    int not_finite;
    double loss = predict_split(net, &data, o->batch, tta_modes[o->tta].views,
                                tta_modes[o->tta].count, probs, predictions, &not_finite);
    if (not_finite >= 0) {
        fprintf(stderr, "emotion eval: %s: the network's scores for image %d of the %s split are "
                        "not finite numbers (its weights or batchnorm statistics overflow), so "
                        "there are no figures to give\n", o->model_path, not_finite, o->split);
        free(probs);
        free(predictions);
        goto fail_data;
    }
    ClassMetrics m;
    metrics_compute(data.labels, predictions, N, K, &m);

    printf("model  %s: %zu parameters, %dx%dx%d images, %d classes\n", o->model_path,
           network_param_count(net), info.channels, info.height, info.width, K);
    printf("data   %s, split %s: %d images\n", o->data_path, o->split, N);
    if (o->tta)
        printf("tta    %s: probabilities averaged over %d views of each image\n",
               tta_modes[o->tta].name, tta_modes[o->tta].count);
    printf("\n");
    printf("loss      %.4f  (mean cross-entropy)\n", loss);
    metrics_print_report(stdout, &m, names);
    printf("\n");
    metrics_print_confusion(stdout, &m, names);
    printf("\n");

    int status = 0;
    /* only where asked: never into a folder the user did not name */
    if (o->chart_path) {
        Outputs out;
        outputs_list(o, &out);
        /* without gnuplot (1) each chart still writes its numbers */
        int drawn = draw_confusion(o->chart_path, &m, o->split, names, 0, &err);
        int drawn_by_class = drawn < 0 ? -1 : draw_confusion(out.beside[1], &m, o->split,
                                                               names, 1, &err);
        if (drawn < 0 || drawn_by_class < 0) {
            fprintf(stderr, "emotion eval: %s\n", err.msg);
            status = 1;
        } else if (drawn == 0 && drawn_by_class == 0) {
            printf("wrote %s and %s, with their numbers in %s and %s\n", o->chart_path,
                   out.beside[1], out.beside[0], out.beside[2]);
        } else {
            printf("wrote %s and %s, the charts' numbers (no PNGs without gnuplot)\n",
                   out.beside[0], out.beside[2]);
        }
        outputs_free(&out);
    }

    if (o->probs_path) {
        if (write_probs(o->probs_path, probs, data.labels, predictions, N, K, &err)) {
            fprintf(stderr, "emotion eval: %s\n", err.msg);
            status = 1;
        } else {
            printf("wrote %s: probs float32 (%d, %d), labels int64 (%d,), predictions int64 (%d,)\n",
                   o->probs_path, N, K, N, N);
        }
    }
    metrics_free(&m);
    free(probs);
    free(predictions);
    dataset_free(&data);
    checkpoint_info_free(&info);
    network_free(net);
    return status;

fail_data:
    dataset_free(&data);
fail_model:
    checkpoint_info_free(&info);
    network_free(net);
    return 1;
}

int cmd_eval(int argc, char **argv)
{
    EvalOptions options;
    int code = parse_options(argc, argv, &options);
    return code < 0 ? evaluate(&options) : code;
}
