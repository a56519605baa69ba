/* emotion train: trains a network (the emotion CNN by default) and leaves its checkpoints, its
 * per-epoch figures and their charts in one directory. The loop itself is
 * in train.c; this file reads the options, loads the data, writes the
 * files and prints. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "atomic_file.h"
#include "chart.h"
#include "arch.h"
#include "checkpoint.h"
#include "commands.h"
#include "files.h"
#include "loader.h"
#include "model.h"
#include "optimizers.h"
#include "schedule.h"
#include "synth.h"
#include "train.h"

#define PROG "emotion train"
#define DEFAULT_DATA "data/synth.npz"
#define DEFAULT_OUT "runs/emotion"

typedef struct {
    const char *data_path;
    int data_given;        /* --data was given (else the built-in set) */
    const char *out_dir;
    const char *init_path; /* --init, or NULL */
    int epochs;
    int batch_size;
    OptimizerSettings optimizer; /* --optimizer and its settings */
    /* which settings the command line gave (the rest: the optimizer's defaults) */
    int lr_given, momentum_given, alpha_given, beta1_given, beta2_given, eps_given, decay_given;
    Schedule schedule;
    int warmup;              /* --warmup epochs */
    double plateau_factor;   /* --plateau-factor */
    int plateau_patience;    /* --plateau-patience */
    uint64_t seed;
    int augment, shuffle, flip;
    int threads;           /* 0: OpenMP's default */
    ModelChoice model;     /* --model, --arch */
} TrainOptions;

static TrainOptions default_options(void)
{
    return (TrainOptions){
        .data_path = DEFAULT_DATA,
        .out_dir = DEFAULT_OUT,
        .epochs = 10,
        .batch_size = 64,
        .optimizer = {.name = "sgd"},
        .schedule = SCHEDULE_CONSTANT,
        .plateau_factor = 0.5,
        .plateau_patience = 3,
        .seed = 1,
        .augment = 1,
        .shuffle = 1,
        .flip = 1,
    };
}

static void usage(FILE *out)
{
    TrainOptions d = default_options();
    OptimizerSettings sgd, adam;
    optimizer_defaults("sgd", &sgd);
    optimizer_defaults("adam", &adam);
    fprintf(out,
        "usage: emotion train [--model FILE.net | --arch TEXT] [--data FILE.npz] [--epochs N]\n"
        "                     [--batch N] [--optimizer NAME] [--lr LR] [--momentum M]\n"
        "                     [--alpha A] [--beta1 B1] [--beta2 B2] [--eps E]\n"
        "                     [--weight-decay WD] [--schedule NAME] [--warmup N]\n"
        "                     [--plateau-factor F] [--plateau-patience N] [--seed S]\n"
        "                     [--no-augment] [--no-flip] [--no-shuffle] [--init FILE.npz]\n"
        "                     [--threads N] [--out DIR]\n"
        "\n"
        "Trains a network by mini-batch gradient descent on the train split, measuring the\n"
        "val split\n"
        "after each epoch. The network is described in text (see models/), by default the\n"
        "seed's emotion CNN (conv 3x3 -> ReLU -> max-pool 2, twice, then FC -> ReLU -> FC),\n"
        "its input shape and class count taken from the data; it is printed as a table\n"
        "before training. Writes into DIR: model.npz (the weights after the last epoch,\n"
        "rewritten each epoch), best.npz (the epoch with the best val accuracy),\n"
        "metrics.csv (one row per epoch) and, with gnuplot, loss.png and accuracy.png.\n"
        "The same seed and data give the same model.npz, byte for byte, on any number of\n"
        "threads.\n"
        "\n"
        "options:\n"
        "  --model FILE.net    the network described in FILE (e.g. models/emotion.net)\n"
        "  --arch TEXT         the network described on the command line, layers separated\n"
        "                      by commas: \"conv 32 3x3 pad 1, relu, maxpool 2, fc 7\"\n"
        "  --data FILE.npz     dataset with x_train/y_train and x_val/y_val (default\n"
        "                      " DEFAULT_DATA ", the synthetic faces, generated if missing)\n"
        "  --epochs N          passes over the training set (default %d)\n"
        "  --batch N           images per mini-batch (default %d)\n"
        "  --optimizer NAME    sgd (default, with momentum), nesterov (SGD with Nesterov\n"
        "                      momentum), rmsprop, adam or adamw (Adam, weight decay\n"
        "                      decoupled), with PyTorch's update rules and defaults\n"
        "  --lr LR             learning rate (default %g for sgd and nesterov, %g for the\n"
        "                      others)\n"
        "  --momentum M        sgd, nesterov: momentum, 0 <= M < 1 (default %g)\n"
        "  --alpha A           rmsprop: decay of the squared-gradient average (default %g)\n"
        "  --beta1 B1          adam, adamw: decay of the gradient average (default %g)\n"
        "  --beta2 B2          adam, adamw: decay of the squared-gradient average (default %g)\n"
        "  --eps E             rmsprop, adam, adamw: added to the denominator (default %g)\n"
        "  --weight-decay WD   L2 penalty on conv and fc weights, never on biases or\n"
        "                      batchnorm's scale and shift (default %g); decoupled for adamw\n"
        "  --schedule NAME     learning rate over the epochs: constant (default), step\n"
        "                      (lr/10 from half-way, lr/100 from 3/4), cosine, or plateau\n"
        "                      (lr times F when val accuracy has not improved for N epochs)\n"
        "  --warmup N          first N epochs ramp the rate up linearly (default 0)\n"
        "  --plateau-factor F  plateau: multiply the rate by F, 0 < F < 1 (default %g)\n"
        "  --plateau-patience N  plateau: epochs without improvement tolerated (default %d)\n"
        "  --seed S            seed of the initial weights, the order and the\n"
        "                      augmentation (default %llu)\n"
        "  --no-augment        no random flips and shifts of the training images\n"
        "  --no-flip           shifts but no mirror images (for digits, text: data where a\n"
        "                      mirrored image changes its label)\n"
        "  --no-shuffle        visit the training images in file order\n"
        "  --init FILE.npz     start from a checkpoint (the network it describes) instead\n"
        "                      of He init; with --model/--arch, they must describe the same\n"
        "                      network\n"
        "  --threads N         OpenMP threads (default: OMP_NUM_THREADS or every core)\n"
        "  --out DIR           where the results go (default " DEFAULT_OUT ")\n"
        "  -h, --help          show this help\n",
        d.epochs, d.batch_size, sgd.lr, adam.lr, sgd.momentum, adam.alpha, adam.beta1,
        adam.beta2, adam.eps, sgd.weight_decay, d.plateau_factor, d.plateau_patience,
        (unsigned long long)d.seed);
}

/* ---------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------- */

static int settle_optimizer(TrainOptions *o);

/* Fills options from argv. Returns 0 to train, 1 when --help was shown,
 * -1 on bad usage (message printed). */
static int parse_options(int argc, char **argv, TrainOptions *o)
{
    static const char *const valued[] = {
        "--data", "--epochs", "--batch", "--lr", "--momentum", "--weight-decay", "--schedule",
        "--optimizer", "--alpha", "--beta1", "--beta2", "--eps", "--warmup", "--plateau-factor",
        "--plateau-patience",
        "--seed", "--init", "--out", "--threads", "--model", "--arch"};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(flag, "--no-augment")) {
            o->augment = 0;
            continue;
        } else if (!strcmp(flag, "--no-flip")) {
            o->flip = 0;
            continue;
        } else if (!strcmp(flag, "--conv1") || !strcmp(flag, "--conv2") ||
                   !strcmp(flag, "--hidden")) {
            fprintf(stderr, "emotion train: %s is gone: describe the network instead, e.g.\n"
                            "    --arch \"conv 16 3x3 pad 1, relu, maxpool 2, conv 32 3x3 pad 1, "
                            "relu, maxpool 2, fc 128, relu, fc 7\"\n"
                            "or copy models/emotion.net and change its widths\n\n", flag);
            return -1;
        } else if (!strcmp(flag, "--no-shuffle")) {
            o->shuffle = 0;
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(flag, valued[k]);
        if (!known) {
            fprintf(stderr, "emotion train: unknown option '%s'\n\n", flag);
            return -1;
        }
        if (++i == argc) {
            fprintf(stderr, "emotion train: %s needs a value\n\n", flag);
            return -1;
        }
        const char *value = argv[i];
        int bad = 0;
        if (!strcmp(flag, "--data")) {
            o->data_path = value;
            o->data_given = 1;
        } else if (!strcmp(flag, "--out")) {
            o->out_dir = value;
        } else if (!strcmp(flag, "--init")) {
            o->init_path = value;
        } else if (!strcmp(flag, "--model")) {
            o->model.model_path = value;
        } else if (!strcmp(flag, "--arch")) {
            o->model.arch_text = value;
        } else if (!strcmp(flag, "--epochs")) {
            bad = arg_int(PROG, flag, value, 1, 100000, &o->epochs);
        } else if (!strcmp(flag, "--batch")) {
            bad = arg_int(PROG, flag, value, 1, 65536, &o->batch_size);
        } else if (!strcmp(flag, "--threads")) {
            bad = arg_int(PROG, flag, value, 1, 1024, &o->threads);

        } else if (!strcmp(flag, "--optimizer")) {
            OptimizerSettings chosen;
            if (optimizer_defaults(value, &chosen) != 0) {
                fprintf(stderr, "emotion train: --optimizer is %s, not '%s'\n", optimizer_names,
                        value);
                bad = -1;
            } else {
                o->optimizer.name = chosen.name;
            }
        } else if (!strcmp(flag, "--lr")) {
            bad = arg_real(PROG, flag, value, 0, 1e6, 0, &o->optimizer.lr);
            o->lr_given = 1;
        } else if (!strcmp(flag, "--momentum")) {
            bad = arg_real(PROG, flag, value, 0, 1, 1, &o->optimizer.momentum);
            o->momentum_given = 1;
        } else if (!strcmp(flag, "--alpha")) {
            bad = arg_real(PROG, flag, value, 0, 1, 1, &o->optimizer.alpha);
            o->alpha_given = 1;
        } else if (!strcmp(flag, "--beta1")) {
            bad = arg_real(PROG, flag, value, 0, 1, 1, &o->optimizer.beta1);
            o->beta1_given = 1;
        } else if (!strcmp(flag, "--beta2")) {
            bad = arg_real(PROG, flag, value, 0, 1, 1, &o->optimizer.beta2);
            o->beta2_given = 1;
        } else if (!strcmp(flag, "--eps")) {
            bad = arg_real(PROG, flag, value, 0, 1, 0, &o->optimizer.eps);
            o->eps_given = 1;
        } else if (!strcmp(flag, "--weight-decay")) {
            bad = arg_real(PROG, flag, value, 0, 1e6, 0, &o->optimizer.weight_decay);
            o->decay_given = 1;
        } else if (!strcmp(flag, "--warmup")) {
            bad = arg_int(PROG, flag, value, 0, 100000, &o->warmup);
        } else if (!strcmp(flag, "--plateau-factor")) {
            bad = arg_real(PROG, flag, value, 0, 1, 1, &o->plateau_factor);
            if (!bad && o->plateau_factor == 0) {
                fprintf(stderr, "emotion train: --plateau-factor must be above 0\n");
                bad = -1;
            }
        } else if (!strcmp(flag, "--plateau-patience")) {
            bad = arg_int(PROG, flag, value, 0, 100000, &o->plateau_patience);
        } else if (!strcmp(flag, "--seed")) {
            bad = arg_seed(PROG, flag, value, &o->seed);
        } else if (!strcmp(flag, "--schedule")) {
            int s = schedule_from_name(value);
            if (s < 0) {
                fprintf(stderr, "emotion train: --schedule is constant, step, cosine or plateau, "
                                "not '%s'\n", value);
                bad = -1;
            } else {
                o->schedule = (Schedule)s;
            }
        }
        if (bad) {
            fputc('\n', stderr);
            return -1;
        }
    }
    if (o->model.model_path && o->model.arch_text) {
        fprintf(stderr, "emotion train: give --model or --arch, not both\n\n");
        return -1;
    }
    return settle_optimizer(o);
}

/* The chosen optimizer's defaults under the settings the command line
 * gave; a setting the optimizer does not use is an error, not ignored. */
static int settle_optimizer(TrainOptions *o)
{
    const OptimizerSettings given = o->optimizer;
    optimizer_defaults(given.name, &o->optimizer);
    const struct {
        const char *setting, *flag;
        int given;
        double value, *target;
    } settings[] = {
        {"momentum", "--momentum", o->momentum_given, given.momentum, &o->optimizer.momentum},
        {"alpha", "--alpha", o->alpha_given, given.alpha, &o->optimizer.alpha},
        {"beta1", "--beta1", o->beta1_given, given.beta1, &o->optimizer.beta1},
        {"beta2", "--beta2", o->beta2_given, given.beta2, &o->optimizer.beta2},
        {"eps", "--eps", o->eps_given, given.eps, &o->optimizer.eps},
        {"lr", "--lr", o->lr_given, given.lr, &o->optimizer.lr},
        {"weight_decay", "--weight-decay", o->decay_given, given.weight_decay,
         &o->optimizer.weight_decay},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (!settings[i].given) continue;
        if (!optimizer_uses(given.name, settings[i].setting)) {
            fprintf(stderr, "emotion train: %s does not apply to --optimizer %s\n\n",
                    settings[i].flag, given.name);
            return -1;
        }
        *settings[i].target = settings[i].value;
    }
    if (o->warmup >= o->epochs) {
        fprintf(stderr, "emotion train: --warmup %d leaves no epoch of the schedule (--epochs %d)\n\n",
                o->warmup, o->epochs);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------- */

/* "dir" + "name" -> "dir/name" (to free). */
static char *join_path(const char *dir, const char *name)
{
    char *path = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    return path;
}

/* The train and val splits of one .npz, read once. */
static int load_splits(const char *path, Dataset *train, Dataset *val, Error *err)
{
    NpzFile npz;
    if (npz_read(path, &npz, err)) return -1;
    int status = dataset_from_npz(&npz, path, "train", train, err);
    if (!status) {
        status = dataset_from_npz(&npz, path, "val", val, err);
        if (status) dataset_free(train);
    }
    npz_free(&npz);
    return status;
}

/* One row of metrics.csv. */
typedef struct {
    EpochResult train, val;
    double lr;
    double seconds; /* the whole epoch: training, validation and saving */
} EpochRow;

static const char metrics_header[] = "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds";

/* Rewrites metrics.csv with every epoch so far, atomically, so the file is
 * always a complete table even if training stops half-way. */
static int write_metrics(const char *path, const EpochRow *rows, int count, Error *err)
{
    AtomicFile af;
    FILE *f = atomic_open(&af, path, err);
    if (!f) return -1;
    fprintf(f, "%s\n", metrics_header);
    for (int e = 0; e < count; e++)
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f\n", e + 1, rows[e].train.loss,
                rows[e].train.accuracy, rows[e].val.loss, rows[e].val.accuracy, rows[e].lr,
                rows[e].seconds);
    return atomic_commit(&af, err);
}

/* loss.png and accuracy.png from metrics.csv. Returns the chart status:
 * 0 drawn, 1 skipped (no gnuplot), -1 failed (message printed). */
static int draw_charts(const char *out_dir, const char *metrics_path)
{
    ChartSpec loss = {
        .title = "Loss per epoch", .xlabel = "epoch", .ylabel = "mean cross-entropy loss",
        .csv = 1, .header_lines = 1, .x_column = 1, .x_whole = 1, .num_series = 2,
        .y_columns = {2, 4}, .series_titles = {"train (running, augmented)", "validation"},
    };
    ChartSpec accuracy = loss;
    accuracy.title = "Accuracy per epoch";
    accuracy.ylabel = "accuracy (fraction correct)";
    accuracy.y_columns[0] = 3;
    accuracy.y_columns[1] = 5;
    accuracy.ymin = 0;
    accuracy.ymax = 1;
    accuracy.key = "bottom right"; /* the curves rise towards the top */

    char *loss_png = join_path(out_dir, "loss.png");
    char *accuracy_png = join_path(out_dir, "accuracy.png");
    Error err;
    int status = chart_lines(loss_png, metrics_path, &loss, &err);
    if (status == 0) status = chart_lines(accuracy_png, metrics_path, &accuracy, &err);
    if (status < 0) fprintf(stderr, "emotion train: %s (the figures are in %s)\n", err.msg, metrics_path);
    free(loss_png);
    free(accuracy_png);
    return status;
}

/* The curves as characters, for a terminal. */
static void print_text_charts(const EpochRow *rows, int count)
{
    if (count < 2) return;
    double *values = xmalloc(4 * (size_t)count * sizeof *values);
    double *train_loss = values, *val_loss = values + count;
    double *train_acc = values + 2 * count, *val_acc = values + 3 * count;
    for (int e = 0; e < count; e++) {
        train_loss[e] = rows[e].train.loss;
        val_loss[e] = rows[e].val.loss;
        train_acc[e] = rows[e].train.accuracy;
        val_acc[e] = rows[e].val.accuracy;
    }
    const char *names[2] = {"train", "validation"};
    printf("\n");
    text_chart_lines(stdout, "loss per epoch", (const double *const[]){train_loss, val_loss},
                     names, 2, count, 50, 8);
    printf("\n");
    text_chart_lines(stdout, "accuracy per epoch", (const double *const[]){train_acc, val_acc},
                     names, 2, count, 50, 8);
    free(values);
}

/* ---------------------------------------------------------------------------
 * Training
 * ------------------------------------------------------------------------- */

/* The network to train: the --init checkpoint (which must describe the
 * same network as --model/--arch, if given, and fit the data), or the
 * described network, He-initialised. Returns NULL with a message; *usage
 * is set when the fault is in the options (exit 2) rather than a file. */
static Network *build_network(const TrainOptions *o, const Dataset *train, int *usage,
                              Error *err)
{
    const int given = o->model.model_path || o->model.arch_text;
    *usage = 0;
    if (!o->init_path) {
        char *text, origin[512];
        if (model_description(&o->model, train->classes, &text, origin, sizeof origin, err))
            return NULL; /* an unreadable file */
        Network *net = arch_build_text(text, origin, train->channels, train->height,
                                       train->width, train->classes, err);
        free(text);
        if (!net) {
            *usage = 1; /* a mistake in the description */
            return NULL;
        }
        Rng rng;
        rng_seed(&rng, o->seed);
        network_init(net, &rng);
        return net;
    }
    CheckpointInfo info;
    Network *net = checkpoint_load(o->init_path, &info, err);
    if (!net) return NULL;
    if (dataset_check_fits(train, o->data_path, info.channels, info.height, info.width,
                           info.classes, err) != 0) {
        error_prefix(err, "--init %s", o->init_path);
        goto fail;
    }
    if (given) {
        Network *described = model_build(&o->model, train->channels, train->height,
                                         train->width, train->classes, err);
        if (!described) {
            *usage = 1;
            goto fail;
        }
        int same = !strcmp(described->description, net->description);
        network_free(described);
        if (!same) {
            *usage = 1;
            error_set(err, "--init %s holds a different network from %s; the checkpoint "
                           "describes:\n%s", o->init_path,
                      o->model.model_path ? o->model.model_path : "--arch", net->description);
            goto fail;
        }
    }
    checkpoint_info_free(&info);
    return net;
fail:
    checkpoint_info_free(&info);
    network_free(net);
    return NULL;
}

static void print_setup(const TrainOptions *o, const Network *net, const Dataset *train,
                        const Dataset *val)
{
    printf("model: %s%s\n",
           o->model.model_path ? o->model.model_path
           : o->model.arch_text ? "--arch" : o->init_path ? o->init_path : "the built-in emotion CNN",
           o->init_path ? " (weights from --init)" : " (He init)");
    arch_print_table(stdout, net);
    printf("data: %s, %d train / %d val images of %dx%dx%d, %d classes\n", o->data_path,
           train->count, val->count, train->channels, train->height, train->width,
           train->classes);
    const OptimizerSettings *s = &o->optimizer;
    printf("optimizer: %s, lr %g", s->name, s->lr);
    if (optimizer_uses(s->name, "momentum")) printf(", momentum %g", s->momentum);
    if (optimizer_uses(s->name, "alpha")) printf(", alpha %g", s->alpha);
    if (optimizer_uses(s->name, "beta1")) printf(", beta1 %g, beta2 %g", s->beta1, s->beta2);
    if (optimizer_uses(s->name, "eps")) printf(", eps %g", s->eps);
    printf(", weight decay %g; schedule %s", s->weight_decay, schedule_name(o->schedule));
    if (o->schedule == SCHEDULE_PLATEAU)
        printf(" (factor %g, patience %d)", o->plateau_factor, o->plateau_patience);
    if (o->warmup) printf(" after %d warm-up epoch%s", o->warmup, o->warmup == 1 ? "" : "s");
    printf("\n%d epochs, batch %d, seed %llu, augment %s, shuffle %s, threads %d\n", o->epochs,
           o->batch_size, (unsigned long long)o->seed,
           o->augment ? (o->flip ? "on" : "on (shifts, no flips)") : "off",
           o->shuffle ? "on" : "off", omp_get_max_threads());
    fflush(stdout);
}

/* The loop over epochs, saving after each. Returns 0, or -1 when training
 * stopped (NaN loss or a file that cannot be written), message in err.
 * *completed receives the number of epochs finished. */
static int run_epochs(const TrainOptions *o, Network *net, const Dataset *train,
                      const Dataset *val, EpochRow *rows, int *completed, Error *err)
{
    char *model_path = join_path(o->out_dir, "model.npz");
    char *best_path = join_path(o->out_dir, "best.npz");
    char *metrics_path = join_path(o->out_dir, "metrics.csv");
    Optimizer *opt = optimizer_create(net, &o->optimizer);
    LrSchedule schedule;
    lr_schedule_init(&schedule, o->schedule, o->optimizer.lr, o->epochs, o->warmup,
                     o->plateau_factor, o->plateau_patience);
    Loader loader;
    loader_init(&loader, train, o->batch_size,
                (LoaderOptions){.shuffle = o->shuffle, .augment = o->augment, .seed = o->seed,
                                .no_flip = !o->flip});
    double best_accuracy = -1;
    int best_epoch = 0, status = 0;
    *completed = 0;

    for (int epoch = 0; epoch < o->epochs; epoch++) {
        EpochRow *row = &rows[epoch];
        row->lr = opt->lr = lr_schedule_lr(&schedule, epoch);
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, o->epochs);
        Progress bar;
        progress_begin(&bar, label, train->count);
        status = train_epoch(net, opt, &loader, epoch, &bar, &row->train, err);
        progress_end(&bar);
        if (status) break;
        /* ReLU can hide NaN weights from the loss: look at the weights themselves */
        size_t entry;
        int bad = network_first_non_finite(net, &entry);
        if (bad >= 0) {
            char name[64];
            const Param *param = network_param(net, bad, name, sizeof name);
            status = error_set(err, "epoch %d: %s[%zu] became %g; the learning rate (%g) is "
                                    "probably too high", epoch + 1, name, entry,
                               (double)param->value->data[entry], row->lr);
            break;
        }

        /* validation in batches of the training size: a larger batch would
         * grow every activation buffer (and the memory use) for nothing */
        row->val.loss = evaluate(net, val, o->batch_size, &row->val.accuracy);
        row->val.images = val->count;
        if (!isfinite(row->val.loss)) {
            /* weights that give a NaN or infinite loss are not worth saving */
            status = error_set(err, "epoch %d: the validation loss is %s; the learning rate "
                                    "(%g) is probably too high", epoch + 1,
                               isnan(row->val.loss) ? "NaN" : "infinite", row->lr);
            break;
        }
        lr_schedule_observe(&schedule, epoch, row->val.accuracy);
        int improved = row->val.accuracy > best_accuracy;
        if (improved) {
            best_accuracy = row->val.accuracy;
            best_epoch = epoch + 1;
        }
        const char *const *names = (const char *const *)train->class_names;
        if ((status = checkpoint_save(model_path, net, names, err)) ||
            (improved && (status = checkpoint_save(best_path, net, names, err))))
            break;
        row->seconds = progress_elapsed(&bar);
        *completed = epoch + 1;
        if ((status = write_metrics(metrics_path, rows, *completed, err))) break;
        printf("epoch %*d/%d  train loss %.4f acc %5.1f%%  val loss %.4f acc %5.1f%%  lr %.3g  "
               "%.1f s (%.0f img/s)%s\n",
               snprintf(NULL, 0, "%d", o->epochs), epoch + 1, o->epochs, row->train.loss,
               100 * row->train.accuracy, row->val.loss, 100 * row->val.accuracy, row->lr,
               row->seconds, row->train.images / row->train.seconds, improved ? "  *best" : "");
        fflush(stdout);
    }
    if (*completed > 0)
        printf("best val accuracy %.1f%% at epoch %d: %s\n", 100 * best_accuracy, best_epoch,
               best_path);
    fflush(stdout);
    loader_free(&loader);
    optimizer_free(opt);
    free(model_path);
    free(best_path);
    free(metrics_path);
    return status;
}

int cmd_train(int argc, char **argv)
{
    TrainOptions o = default_options();
    int parsed = parse_options(argc, argv, &o);
    if (parsed > 0) return 0;
    if (parsed < 0) {
        usage(stderr);
        return 2;
    }
    if (o.threads > 0) omp_set_num_threads(o.threads);

    Error err;
    if (!o.data_given && synth_ensure_builtin(o.data_path, &err)) {
        fprintf(stderr, "emotion train: %s\n", err.msg);
        return 1;
    }
    Dataset train, val;
    if (load_splits(o.data_path, &train, &val, &err)) {
        fprintf(stderr, "emotion train: %s\n", err.msg);
        return 1;
    }
    int usage_fault = 0;
    Network *net = NULL;
    if (train.count == 0 || val.count == 0)
        error_set(&err, "%s: the %s split has no images", o.data_path,
                  train.count == 0 ? "train" : "val");
    else
        net = build_network(&o, &train, &usage_fault, &err);
    if (!net || make_directories(o.out_dir, &err)) {
        fprintf(stderr, "emotion train: %s\n", err.msg);
        network_free(net);
        dataset_free(&train);
        dataset_free(&val);
        return usage_fault ? 2 : 1;
    }
    print_setup(&o, net, &train, &val);

    EpochRow *rows = xcalloc((size_t)o.epochs, sizeof *rows);
    int completed;
    int status = run_epochs(&o, net, &train, &val, rows, &completed, &err);
    if (status) {
        fprintf(stderr, "emotion train: stopped: %s\n", err.msg);
        if (completed > 0)
            fprintf(stderr, "emotion train: %s/model.npz and best.npz hold the last good "
                            "weights (epoch %d)\n", o.out_dir, completed);
        else
            fprintf(stderr, "emotion train: no epoch completed, no checkpoint written\n");
    }
    if (completed > 0) {
        char *metrics_path = join_path(o.out_dir, "metrics.csv");
        if (draw_charts(o.out_dir, metrics_path) == 0)
            printf("charts: %s/loss.png, %s/accuracy.png\n", o.out_dir, o.out_dir);
        free(metrics_path);
        if (isatty(STDOUT_FILENO)) print_text_charts(rows, completed);
    }
    if (!status) printf("model: %s/model.npz\n", o.out_dir);
    free(rows);
    network_free(net);
    dataset_free(&train);
    dataset_free(&val);
    return status ? 1 : 0;
}
