/* emotion train: trains a network (the emotion CNN by default) and leaves its checkpoints, its
 * per-epoch figures and their charts in one directory. The loop itself is
 * in train.c; this file reads the options, loads the data, writes the
 * files and prints. */
#include <errno.h>
#include <float.h>
#include <limits.h>
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
#include "clock.h"
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
    int epochs;            /* with --time-budget: the most it may become */
    double time_budget;    /* --time-budget in minutes (0: none), see fit_epochs_to_budget */
    double started;        /* clock_seconds() when this invocation began */
    double deadline;       /* once the budget fixed the count: the clock_seconds() at
                            * which it runs out, so that no epoch starts that would
                            * end after it (0: no budget) */
    char epochs_text[24];  /* the --epochs the budget chose, for the resume file's arguments */
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
    Augment recipe;        /* --shift, --rotate, --scale, --erase (flip: the flip above) */
    int class_weights;     /* --class-weights: CLASS_WEIGHTS_* */
    double smoothing;      /* --label-smoothing */
    int threads;           /* 0: OpenMP's default */
    ModelChoice model;     /* --model, --arch */
    const char *resume_dir; /* --resume DIR, or NULL */
    const char *moved_data; /* --resume DIR --data FILE: the run's data, moved there */
    int stop_after;         /* --stop-after N: epochs to run now (0: all) */
    /* the arguments that set these options (all but --resume and --threads),
     * kept in the resume file so that --resume re-reads the same run; the
     * paths of --data, --model and --init made absolute (resolve_inputs) */
    int argc;
    char **argv;
    char *absolute[3];      /* those paths, owned (NULL: none) */
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
        .recipe = {.flip = 1, .shift = AUGMENT_MAX_SHIFT},
        .class_weights = CLASS_WEIGHTS_NONE,
    };
}

static void usage(FILE *out)
{
    TrainOptions d = default_options();
    OptimizerSettings sgd, adam;
    optimizer_defaults("sgd", &sgd);
    optimizer_defaults("adam", &adam);
    fprintf(out,
        "usage: emotion train [--model FILE.net | --arch TEXT] [--data FILE.npz]\n"
        "                     [--epochs N] [--batch N] [--optimizer NAME] [--lr LR]\n"
        "                     [--momentum M] [--alpha A] [--beta1 B1] [--beta2 B2]\n"
        "                     [--eps E] [--weight-decay WD] [--schedule NAME]\n"
        "                     [--warmup N] [--plateau-factor F] [--plateau-patience N]\n"
        "                     [--seed S] [--no-augment] [--no-flip] [--shift N]\n"
        "                     [--rotate DEG] [--scale F] [--erase P]\n"
        "                     [--class-weights W] [--label-smoothing E] [--no-shuffle]\n"
        "                     [--init FILE.npz] [--time-budget MIN] [--threads N]\n"
        "                     [--out DIR]\n"
        "       emotion train --resume DIR [--threads N] [--stop-after N] [--data FILE]\n"
        "\n"
        "Trains a network by mini-batch gradient descent on the train split, measuring\n"
        "the val split after each epoch. The network is described in text (see models/),\n"
        "by default the seed's emotion CNN (conv 3x3 -> ReLU -> max-pool 2, twice, then\n"
        "FC -> ReLU -> FC), its input shape and class count taken from the data; it is\n"
        "printed as a table before training. Writes into DIR: model.npz (the weights\n"
        "after the last epoch, rewritten each epoch), best.npz (the epoch with the best\n"
        "val accuracy), metrics.csv (one row per epoch), resume.npz (what --resume\n"
        "needs) and, with gnuplot, loss.png and accuracy.png. The same seed and data\n"
        "give the same model.npz, byte for byte, on any number of threads.\n"
        "\n"
        "options:\n"
        "  --model FILE.net    the network described in FILE (e.g. models/emotion.net)\n"
        "  --arch TEXT         the network described on the command line, layers\n"
        "                      separated by commas, e.g.\n"
        "                      \"conv 32 3x3 pad 1, relu, maxpool 2, fc 7\"\n"
        "  --data FILE.npz     dataset with x_train/y_train and x_val/y_val (default\n"
        "                      " DEFAULT_DATA ", the synthetic faces, generated if missing)\n"
        "  --epochs N          passes over the training set (default %d)\n"
        "  --time-budget MIN   train for as many epochs as fit in MIN minutes, at most\n"
        "                      --epochs: the count is fixed once the warm-up epochs and\n"
        "                      the schedule's first (whose rates do not depend on it)\n"
        "                      have been timed, planning 5%% slower than they ran; the\n"
        "                      run is then the one --epochs N gives, byte for byte. If\n"
        "                      the machine slows down after that, an epoch that would\n"
        "                      end past MIN minutes is not begun (--resume runs the rest)\n"
        "  --batch N           images per mini-batch (default %d)\n"
        "  --optimizer NAME    sgd (default, with momentum), nesterov (SGD with Nesterov\n"
        "                      momentum), rmsprop, adam or adamw (Adam, weight decay\n"
        "                      decoupled), with PyTorch's update rules\n"
        "  --lr LR             learning rate (default %g for sgd and nesterov, %g\n"
        "                      for the others)\n"
        "  --momentum M        sgd, nesterov: momentum, 0 <= M < 1 (default %g)\n"
        "  --alpha A           rmsprop: decay of the squared-gradient average\n"
        "                      (default %g)\n"
        "  --beta1 B1          adam, adamw: decay of the gradient average (default %g)\n"
        "  --beta2 B2          adam, adamw: decay of the squared-gradient average\n"
        "                      (default %g)\n"
        "  --eps E             rmsprop, adam, adamw: added to the denominator\n"
        "                      (default %g)\n"
        "  --weight-decay WD   L2 penalty on conv and fc weights, never on biases or\n"
        "                      batchnorm's scale and shift (default %g); decoupled\n"
        "                      for adamw\n"
        "  --schedule NAME     learning rate over the epochs: constant (default), step\n"
        "                      (lr/10 from half-way, lr/100 from 3/4), cosine, or plateau\n"
        "                      (lr times F when val accuracy has not improved for more\n"
        "                      than N epochs, N the patience)\n"
        "  --warmup N          first N epochs ramp the rate up linearly (default 0)\n"
        "  --plateau-factor F  plateau: multiply the rate by F, 0 < F < 1 (default %g)\n"
        "  --plateau-patience N  plateau: epochs without improvement tolerated\n"
        "                      (default %d)\n"
        "  --seed S            seed of the initial weights, the order and the\n"
        "                      augmentation (default %llu)\n"
        "  --no-augment        no augmentation of the training images (no flips, shifts,\n"
        "                      or what --rotate, --scale and --erase add)\n"
        "  --no-flip           no mirror images (for digits, text: data where a mirrored\n"
        "                      image changes its label)\n"
        "  --shift N           move each training image by up to N pixels each way\n"
        "                      (default %d), the edge pixels repeated into the gap\n"
        "  --rotate DEG        also rotate it by a random angle within +-DEG degrees\n"
        "                      (default 0: none; at most %g)\n"
        "  --scale F           also zoom it by a random factor within 1 +- F (default 0;\n"
        "                      at most %g)\n"
        "  --erase P           with probability P, also hide a random rectangle (2%% to\n"
        "                      33%% of the image) under random grey levels (default 0)\n"
        "  --class-weights W   none (default), balanced (each class's loss weighted by\n"
        "                      N / (K n_k), n_k its training images) or sqrt (by\n"
        "                      sqrt(N / (K n_k)), halfway): rare classes count more\n"
        "  --label-smoothing E train towards 1 - E + E/K on the true class and E/K on\n"
        "                      each other one (K classes) instead of 1 and 0, 0 <= E < 1\n"
        "                      (default 0); the losses in metrics.csv include it\n"
        "  --no-shuffle        visit the training images in file order\n"
        "  --init FILE.npz     start from a checkpoint (the network it describes) instead\n"
        "                      of He init; with --model/--arch, they must describe the\n"
        "                      same network\n"
        "  --resume DIR        continue the run in DIR where it stopped (its resume.npz):\n"
        "                      the same options and data (other data at its path is\n"
        "                      refused), the same result as if it had never stopped,\n"
        "                      byte for byte; only --threads and --stop-after may be\n"
        "                      given with it, and --data FILE when the run's data has\n"
        "                      moved (checked to be the same data)\n"
        "  --stop-after N      stop after N epochs of this invocation, as if interrupted\n"
        "                      (--resume continues), e.g. to fit a class period\n"
        "  --threads N         OpenMP threads (default: OMP_NUM_THREADS or every core)\n"
        "  --out DIR           where the results go (default " DEFAULT_OUT ")\n"
        "  -h, --help          show this help\n",
        d.epochs, d.batch_size, sgd.lr, adam.lr, sgd.momentum, adam.alpha, adam.beta1,
        adam.beta2, adam.eps, sgd.weight_decay, d.plateau_factor, d.plateau_patience,
        (unsigned long long)d.seed, AUGMENT_MAX_SHIFT, AUGMENT_MAX_ROTATE, AUGMENT_MAX_SCALE);
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
        "--plateau-patience", "--resume", "--stop-after", "--time-budget", "--shift", "--rotate",
        "--scale", "--erase", "--class-weights", "--label-smoothing",
        "--seed", "--init", "--out", "--threads", "--model", "--arch"};
    ArgSeen seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
            usage(stdout);
            return 1;
        } else if ((!strcmp(flag, "--no-augment") || !strcmp(flag, "--no-flip") ||
                    !strcmp(flag, "--no-shuffle")) && arg_once(PROG, &seen, flag)) {
            fputc('\n', stderr);
            return -1;
        } else if (!strcmp(flag, "--no-augment")) {
            o->augment = 0;
            continue;
        } else if (!strcmp(flag, "--no-flip")) {
            o->flip = 0;
            continue;
        } else if (!strcmp(flag, "--conv1") || !strcmp(flag, "--conv2") ||
                   !strcmp(flag, "--hidden")) {
            /* the options of earlier versions set one width of models/emotion.net */
            int widths[3] = {32, 64, 256}, which = flag[2] == 'h' ? 2 : flag[6] - '1';
            char *end = NULL;
            long width = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            fprintf(stderr, "emotion train: %s is gone: describe the network instead", flag);
            if (end && end != argv[i + 1] && !*end && width >= 1 && width <= 65536) {
                widths[which] = (int)width;
                fprintf(stderr, "; %s %s is\n", flag, argv[i + 1]);
            } else {
                fprintf(stderr, ", e.g.\n");
            }
            fprintf(stderr, "    --arch \"conv %d 3x3 pad 1, relu, maxpool 2, conv %d 3x3 pad 1, "
                            "relu, maxpool 2, fc %d, relu, fc 7\"\n"
                            "or copy models/emotion.net and change its widths\n\n",
                    widths[0], widths[1], widths[2]);
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
        if (arg_once(PROG, &seen, flag)) {
            fputc('\n', stderr);
            return -1;
        }
        if (++i == argc) {
            fprintf(stderr, "emotion train: %s needs a value\n\n", flag);
            return -1;
        }
        const char *value = argv[i];
        int bad = 0;
        static const char *const paths[] = {"--data", "--out", "--init", "--resume", "--model"};
        for (size_t k = 0; k < sizeof paths / sizeof paths[0] && !bad; k++)
            if (!strcmp(flag, paths[k])) bad = arg_path(PROG, flag, value);
        if (bad) {
            /* an empty path: said */
        } else if (!strcmp(flag, "--data")) {
            o->data_path = value;
            o->data_given = 1;
        } else if (!strcmp(flag, "--out")) {
            o->out_dir = value;
        } else if (!strcmp(flag, "--init")) {
            o->init_path = value;
        } else if (!strcmp(flag, "--resume")) {
            o->resume_dir = value;
        } else if (!strcmp(flag, "--stop-after")) {
            bad = arg_int(PROG, flag, value, 1, 100000, &o->stop_after);
        } else if (!strcmp(flag, "--model")) {
            o->model.model_path = value;
        } else if (!strcmp(flag, "--arch")) {
            o->model.arch_text = value;
        } else if (!strcmp(flag, "--epochs")) {
            bad = arg_int(PROG, flag, value, 1, 100000, &o->epochs);
        } else if (!strcmp(flag, "--time-budget")) {
            bad = arg_real(PROG, flag, value, 0, 1e6, ARG_MIN_OPEN, &o->time_budget);
        } else if (!strcmp(flag, "--batch")) {
            bad = arg_int(PROG, flag, value, 1, 65536, &o->batch_size);
        } else if (!strcmp(flag, "--threads")) {
            bad = arg_threads(PROG, flag, value, &o->threads);

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
            bad = arg_real(PROG, flag, value, 0, 1e6, ARG_MIN_OPEN, &o->optimizer.lr);
            /* the optimizers step in float, where 1e-320 is 0 and 1e-40 keeps
             * a few bits: a rate that trains nothing, or noise */
            if (!bad && o->optimizer.lr < FLT_MIN) {
                fprintf(stderr, "emotion train: --lr %s is below %g, the smallest normal float "
                                "(training steps in float, where it is 0 or loses its precision)\n",
                        value, FLT_MIN);
                bad = -1;
            }
            o->lr_given = 1;
        } else if (!strcmp(flag, "--momentum")) {
            bad = arg_real(PROG, flag, value, 0, 1, ARG_MAX_OPEN, &o->optimizer.momentum);
            o->momentum_given = 1;
        } else if (!strcmp(flag, "--alpha")) {
            bad = arg_real(PROG, flag, value, 0, 1, ARG_MAX_OPEN, &o->optimizer.alpha);
            o->alpha_given = 1;
        } else if (!strcmp(flag, "--beta1")) {
            bad = arg_real(PROG, flag, value, 0, 1, ARG_MAX_OPEN, &o->optimizer.beta1);
            o->beta1_given = 1;
        } else if (!strcmp(flag, "--beta2")) {
            bad = arg_real(PROG, flag, value, 0, 1, ARG_MAX_OPEN, &o->optimizer.beta2);
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
            bad = arg_real(PROG, flag, value, 0, 1, ARG_MIN_OPEN | ARG_MAX_OPEN, &o->plateau_factor);
        } else if (!strcmp(flag, "--plateau-patience")) {
            bad = arg_int(PROG, flag, value, 0, 100000, &o->plateau_patience);
        } else if (!strcmp(flag, "--seed")) {
            bad = arg_seed(PROG, flag, value, &o->seed);
        } else if (!strcmp(flag, "--shift")) {
            bad = arg_int(PROG, flag, value, 0, 64, &o->recipe.shift);
        } else if (!strcmp(flag, "--rotate")) {
            bad = arg_real(PROG, flag, value, 0, AUGMENT_MAX_ROTATE, 0, &o->recipe.rotate);
        } else if (!strcmp(flag, "--scale")) {
            bad = arg_real(PROG, flag, value, 0, AUGMENT_MAX_SCALE, 0, &o->recipe.scale);
        } else if (!strcmp(flag, "--erase")) {
            bad = arg_real(PROG, flag, value, 0, 1, 0, &o->recipe.erase);
        } else if (!strcmp(flag, "--label-smoothing")) {
            bad = arg_real(PROG, flag, value, 0, 1, ARG_MAX_OPEN, &o->smoothing);
        } else if (!strcmp(flag, "--class-weights")) {
            o->class_weights = class_weights_from_name(value);
            if (o->class_weights < 0) {
                fprintf(stderr, "emotion train: --class-weights is none, balanced or sqrt, "
                                "not '%s'\n", value);
                bad = -1;
            }
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
    /* the run's own arguments, for its resume file (room for two more: the
     * built-in data's --data, or the --epochs a time budget chose) */
    o->argv = xcalloc((size_t)argc + 3, sizeof *o->argv);
    o->argc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--resume") || !strcmp(argv[i], "--threads") ||
            !strcmp(argv[i], "--stop-after")) {
            i++;
            continue;
        }
        if (o->resume_dir && !strcmp(argv[i], "--data")) {
            o->moved_data = argv[++i]; /* checked against the run's data when it is read */
            continue;
        }
        o->argv[o->argc++] = argv[i];
    }
    if (o->resume_dir && o->argc > 0) {
        fprintf(stderr, "emotion train: --resume takes the run's options from its resume file; "
                        "only --threads, --stop-after and --data (the run's data, moved) may be "
                        "given with it (not '%s')\n\n",
                o->argv[0]);
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
    /* a decay that grows the weights by itself (train.h): every run with it
     * ends in NaN, however good the gradients */
    const OptimizerSettings *s = &o->optimizer;
    const double limit = weight_decay_limit(s), product = s->lr * s->weight_decay;
    if (limit > 0 && product >= limit) {
        char decay[64], lr[64], with[64] = "";
        snprintf(decay, sizeof decay, o->decay_given ? "--weight-decay %g" : "the default weight "
                                                       "decay %g", s->weight_decay);
        snprintf(lr, sizeof lr, o->lr_given ? "--lr %g" : "the default learning rate %g", s->lr);
        if (optimizer_uses(s->name, "momentum"))
            snprintf(with, sizeof with, " with momentum %g", s->momentum);
        fprintf(stderr, "emotion train: %s is too large for %s: each step's decay alone moves a "
                        "weight by lr x weight decay = %g times itself, so the weights flip sign "
                        "and grow; %s%s needs lr x weight decay below %.4g (here a weight decay "
                        "below %.4g)\n\n", decay, lr, product, s->name, with, limit, limit / s->lr);
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

/* Every file a run writes into its folder: the checkpoints and metrics.csv
 * after each epoch (atomic files), the charts at the end (a PNG moved into
 * place, which replaces only a regular file too). */
static const char *const run_outputs[] = {"model.npz",   "best.npz", "resume.npz",
                                          "metrics.csv", "loss.png", "accuracy.png"};
#define RUN_OUTPUTS (sizeof run_outputs / sizeof run_outputs[0])

/* Whether the run can write each of its files into dir, found out before
 * the first epoch rather than after it, by the writers' own rules: each
 * name is absent or a regular file (atomic_replaceable: not a symbolic
 * link, a folder, a device or a FIFO), and the folder takes a temporary
 * file (one is made, as atomic_open makes them, and removed). */
static int outputs_writable(const char *dir, Error *err)
{
    for (size_t k = 0; k < RUN_OUTPUTS; k++) {
        char *path = join_path(dir, run_outputs[k]);
        Error why;
        int refused = atomic_replaceable(path, &why) != 0;
        if (refused) {
            struct stat st;
            const int got = lstat(path, &st) == 0;
            const char *what = !got                                       ? "not a regular file"
                               : S_ISLNK(st.st_mode)                        ? "a symbolic link"
                               : S_ISDIR(st.st_mode)                        ? "a folder"
                               : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                               : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                                                                            : "not a regular file";
            error_set(err, "%s is %s: the run writes its %s there, and replaces only a regular "
                           "file; move it away or give another --out", path, what,
                      run_outputs[k]);
        }
        free(path);
        if (refused) return -1;
    }
    char *path = join_path(dir, "model.npz");
    AtomicFile trial;
    int writable = atomic_open(&trial, path, err) != NULL;
    if (writable) atomic_abort(&trial);
    free(path);
    return writable ? 0 : -1;
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

/* A class without training images is one the network never learns. The
 * usual cause is labels counted from 1: then class 0 is the empty one, and
 * the class count (the largest label plus one) is one too many. */
static void warn_about_empty_classes(const Dataset *train)
{
    int *counts = xcalloc((size_t)train->classes, sizeof *counts);
    for (int i = 0; i < train->count; i++) counts[train->labels[i]]++;
    int empty = 0, first = -1;
    for (int k = 0; k < train->classes; k++)
        if (counts[k] == 0 && empty++ == 0) first = k;
    if (empty)
        printf("warning: %d of the %d classes ha%s no training images (the first: %d, '%s'): "
               "the network cannot learn %s%s\n", empty, train->classes, empty == 1 ? "s" : "ve",
               first, train->class_names[first], empty == 1 ? "it" : "them",
               counts[0] == 0 ? " (labels counted from 1? they must start at 0)" : "");
    free(counts);
}

static void print_setup(const TrainOptions *o, const Network *net, const Dataset *train,
                        const Dataset *val)
{
    printf("model: %s%s\n",
           o->model.model_path ? o->model.model_path
           : o->model.arch_text ? "--arch" : o->init_path ? o->init_path : "the built-in emotion CNN",
           o->resume_dir ? " (weights and optimizer state from resume.npz)"
           : o->init_path ? " (weights from --init)" : " (He init)");
    arch_print_table(stdout, net);
    printf("data: %s, %d train / %d val images of %dx%dx%d, %d classes\n", o->data_path,
           train->count, val->count, train->channels, train->height, train->width,
           train->classes);
    warn_about_empty_classes(train);
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
    printf("\n");
    if (o->time_budget > 0)
        printf("as many epochs as fit in %g minutes, at most %d (counted after epoch %d), ",
               o->time_budget, o->epochs, LR_SCHEDULE_TIMED_EPOCHS(o->warmup));
    else
        printf("%d epochs, ", o->epochs);
    printf("batch %d, seed %llu, shuffle %s, threads %d\n",
           o->batch_size, (unsigned long long)o->seed, o->shuffle ? "on" : "off",
           omp_get_max_threads());
    const Augment *r = &o->recipe;
    if (!o->augment) {
        printf("augment: off\n");
    } else {
        /* the changes asked for, in the loader's order */
        int changes = 0;
        printf("augment:");
        if (o->flip) printf("%s flip", changes++ ? "," : "");
        if (r->shift > 0) printf("%s shift up to %d px", changes++ ? "," : "", r->shift);
        if (r->rotate > 0) printf("%s rotate up to %g degrees", changes++ ? "," : "", r->rotate);
        if (r->scale > 0)
            printf("%s scale %g to %g", changes++ ? "," : "", 1 - r->scale, 1 + r->scale);
        if (r->erase > 0)
            printf("%s erase a rectangle with probability %g", changes++ ? "," : "", r->erase);
        if (!changes) printf(" none (no flip, no shift: the images as they are)");
        printf("\n");
    }
    if (o->class_weights != CLASS_WEIGHTS_NONE) {
        const int classes = network_output_size(net);
        real *w = xmalloc((size_t)classes * sizeof *w);
        class_weights_compute(train, (ClassWeights)o->class_weights, classes, w);
        printf("class weights (%s):", class_weights_name((ClassWeights)o->class_weights));
        for (int k = 0; k < classes; k++)
            printf("%s %s %.2f", k ? "," : "", k < train->classes ? train->class_names[k] : "?",
                   (double)w[k]);
        printf("\n");
        free(w);
    }
    if (o->smoothing > 0) printf("label smoothing %g\n", o->smoothing);
    fflush(stdout);
}

/* ---------------------------------------------------------------------------
 * A run, and its resume file
 * ------------------------------------------------------------------------- */

/* Where a run stands after its last completed epoch: what --resume restores. */
typedef struct {
    Optimizer *opt;
    LrSchedule schedule;
    EpochRow *rows;        /* (earlier + epochs,): metrics.csv's rows */
    int earlier;           /* rows of an earlier run this one continues (--init into its folder) */
    int done;              /* epochs of this run completed: rows[earlier + e] is epoch e */
    double best_accuracy;  /* -1 before the first epoch */
    int best_epoch;        /* 1-based, counting the earlier rows; 0 before the first */
    DataFingerprint data;  /* what it trains on, for the resume file */
    /* the epoch of this run (1-based; 0: none) each file in the folder holds,
     * for the closing words when a write fails half-way through an epoch's */
    int model_holds, resume_holds, metrics_holds;
    int best_written;      /* best.npz was written by this run (best_epoch is in it) */
} Run;

static void run_start(const TrainOptions *o, Network *net, Run *run)
{
    run->opt = optimizer_create(net, &o->optimizer);
    lr_schedule_init(&run->schedule, o->schedule, o->optimizer.lr, o->epochs, o->warmup,
                     o->plateau_factor, o->plateau_patience);
    run->rows = xcalloc((size_t)o->epochs, sizeof *run->rows);
    run->earlier = 0;
    run->done = 0;
    run->best_accuracy = -1;
    run->best_epoch = 0;
    run->model_holds = run->resume_holds = run->metrics_holds = 0;
    run->best_written = 0;
}

/* --init into a folder that holds a run already (its metrics.csv): this run
 * continues it. Its rows stay first in metrics.csv, and its best val
 * accuracy is the one to beat before best.npz is replaced. */
static int run_continue(Run *run, const char *metrics_path, int epochs, Error *err)
{
    uint64_t size;
    FILE *f = fopen_regular(metrics_path, &size, err);
    if (!f) return -1;
    char line[512];
    int status = 0, count = 0, capacity = 16;
    EpochRow *earlier = xcalloc((size_t)capacity, sizeof *earlier);
    if (!fgets(line, sizeof line, f) || strncmp(line, metrics_header, strlen(metrics_header)) != 0)
        status = error_set(err, "%s: not a metrics.csv this program wrote (its header differs); "
                                "move it away or train into another --out", metrics_path);
    while (status == 0 && fgets(line, sizeof line, f)) {
        EpochRow row = {0};
        int epoch, fields = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf,%lf", &epoch, &row.train.loss,
                                   &row.train.accuracy, &row.val.loss, &row.val.accuracy,
                                   &row.lr, &row.seconds);
        if (fields != 7 || epoch != count + 1 || count >= 100000) {
            status = error_set(err, "%s: row %d is not one this program wrote; move the file "
                                    "away or train into another --out", metrics_path, count + 1);
            break;
        }
        if (count == capacity) earlier = xrealloc(earlier, (size_t)(capacity *= 2) * sizeof *earlier);
        earlier[count++] = row;
    }
    fclose(f);
    if (status == 0) {
        free(run->rows);
        run->rows = xcalloc((size_t)(count + epochs), sizeof *run->rows);
        memcpy(run->rows, earlier, (size_t)count * sizeof *earlier);
        run->earlier = count;
        for (int e = 0; e < count; e++)
            if (earlier[e].val.accuracy > run->best_accuracy) {
                run->best_accuracy = earlier[e].val.accuracy;
                run->best_epoch = e + 1;
            }
    }
    free(earlier);
    return status;
}

static void run_free(Run *run)
{
    optimizer_free(run->opt);
    free(run->rows);
}

/* The members resume.npz holds besides the network (every parameter and
 * running statistic, in float32 as in model.npz): */
#define RESUME_ARGS "resume.args"         /* uint8: the run's arguments, each ended by a 0 byte */
#define RESUME_COUNTERS "resume.counters" /* int64 (5,): epochs done, optimizer steps, best epoch,
                                             plateau's epochs without gain, earlier rows */
#define RESUME_VALUES "resume.values"     /* float64 (3,): best val accuracy, plateau's lr and best */
#define RESUME_METRICS "resume.metrics"   /* float64 (earlier + done, 8): every metrics.csv row */
#define RESUME_DATA "resume.data"         /* int64 (5,): the DataFingerprint (train.h): train and
                                             val images, the CRCs of train, val and the class
                                             names (absent from files of earlier versions) */
/* and resume.<slot>.<parameter>: the optimizer's state, e.g. resume.velocity.conv1.w */
#define METRICS_COLUMNS 8

typedef struct {
    const TrainOptions *o;
    const Run *run;
    Network *net;
} ResumeWrite;

static int add_resume_members(NpzWriter *w, void *context, Error *err)
{
    const ResumeWrite *r = context;
    const Run *run = r->run;
    size_t length = 0;
    for (int i = 0; i < r->o->argc; i++) length += strlen(r->o->argv[i]) + 1;
    uint8_t *args = xmalloc(length + 1);
    size_t at = 0;
    for (int i = 0; i < r->o->argc; i++) {
        size_t n = strlen(r->o->argv[i]) + 1;
        memcpy(args + at, r->o->argv[i], n);
        at += n;
    }
    const int64_t args_shape = (int64_t)length, five = 5, three = 3;
    const int64_t counters[5] = {run->done, run->opt->steps, run->best_epoch, run->schedule.stale,
                                 run->earlier};
    const double values[3] = {run->best_accuracy, run->schedule.plateau_lr, run->schedule.best};
    const int rows = run->earlier + run->done;
    const int64_t metrics_shape[2] = {rows, METRICS_COLUMNS};
    double *metrics = xmalloc(((size_t)rows * METRICS_COLUMNS + 1) * sizeof *metrics);
    for (int e = 0; e < rows; e++) {
        const EpochRow *row = &run->rows[e];
        const double columns[METRICS_COLUMNS] = {row->train.loss, row->train.accuracy,
                                                 row->train.images, row->train.seconds,
                                                 row->val.loss, row->val.accuracy, row->lr,
                                                 row->seconds};
        memcpy(metrics + (size_t)e * METRICS_COLUMNS, columns, sizeof columns);
    }
    const DataFingerprint *fp = &run->data;
    const int64_t data[5] = {fp->train_images, fp->val_images, fp->train_crc, fp->val_crc,
                             fp->names_crc};
    int status = npz_writer_add(w, RESUME_ARGS, NPY_UINT8, 1, &args_shape, args, err) ||
                 npz_writer_add(w, RESUME_COUNTERS, NPY_INT64, 1, &five, counters, err) ||
                 npz_writer_add(w, RESUME_VALUES, NPY_FLOAT64, 1, &three, values, err) ||
                 npz_writer_add(w, RESUME_METRICS, NPY_FLOAT64, 2, metrics_shape, metrics, err) ||
                 npz_writer_add(w, RESUME_DATA, NPY_INT64, 1, &five, data, err);
    free(args);
    free(metrics);
    const Optimizer *opt = run->opt;
    for (int p = 0; status == 0 && p < opt->num_params; p++) {
        char param[64], name[128];
        network_param(r->net, p, param, sizeof param);
        for (int slot = 0; status == 0 && slot < opt->ops->slots; slot++) {
            snprintf(name, sizeof name, "resume.%s.%s", opt->ops->slot_names[slot], param);
            status = checkpoint_add_tensor(w, name, optimizer_state(opt, p, slot), err);
        }
    }
    return status;
}

/* The member name of npz, which must be a dtype array of count values. */
static const NpyArray *resume_member(const NpzFile *npz, const char *path, const char *name,
                                     NpyDtype dtype, size_t count, Error *err)
{
    const NpyArray *a = npz_find(npz, name);
    if (!a || a->dtype != dtype || (count && a->count != count)) {
        error_set(err, "%s: '%s' is missing or malformed: not a resume file this program wrote",
                  path, name);
        return NULL;
    }
    return a;
}

/* The run's arguments, from the resume file, as an argv (to free, with its
 * strings) after a program name; -1 if they are malformed. */
static int resume_arguments(const NpzFile *npz, const char *path, int *argc, char ***argv,
                            Error *err)
{
    const NpyArray *a = resume_member(npz, path, RESUME_ARGS, NPY_UINT8, 0, err);
    if (!a) return -1;
    const char *bytes = a->data;
    if (a->count > 0 && bytes[a->count - 1] != '\0')
        return error_set(err, "%s: '%s' is malformed", path, RESUME_ARGS);
    int count = 0;
    for (size_t i = 0; i < a->count; i++) count += bytes[i] == '\0';
    char **list = xcalloc((size_t)count + 2, sizeof *list);
    char *copy = xmalloc(a->count + 1); /* list[0] owns it: free(list[0]), free(list) */
    copy[0] = '\0';                     /* argv[0]: an empty program name */
    memcpy(copy + 1, bytes, a->count);
    list[0] = copy;
    for (size_t i = 0, k = 1; i < a->count; k++) {
        list[k] = copy + 1 + i;
        i += strlen(copy + 1 + i) + 1;
    }
    *argc = count + 1;
    *argv = list;
    return 0;
}

/* Restores the run (its optimizer already created for net, run->data the
 * data loaded now) from the file; refuses data other than the run's. */
static int run_restore(Run *run, const TrainOptions *o, Network *net, const NpzFile *npz,
                       const char *path, Error *err)
{
    if (!npz_find(npz, RESUME_DATA)) {
        if (o->moved_data)
            return error_set(err, "%s comes from an earlier version, which did not record the "
                                  "run's data, so --data %s cannot be checked to be it: resume "
                                  "without --data, with the data back at the path the run had",
                             path, o->moved_data);
        printf("note: %s comes from an earlier version, which did not record the run's data: "
               "%s is taken on trust to be it\n", path, o->data_path);
    } else {
        const NpyArray *a = resume_member(npz, path, RESUME_DATA, NPY_INT64, 5, err);
        if (!a) return -1;
        const int64_t *d = a->data;
        const DataFingerprint had = {.train_images = d[0], .val_images = d[1],
                                     .train_crc = (uint32_t)d[2], .val_crc = (uint32_t)d[3],
                                     .names_crc = (uint32_t)d[4]};
        char differs[200];
        if (data_fingerprint_differs(&run->data, &had, differs, sizeof differs)) {
            if (o->moved_data)
                return error_set(err, "the data at %s (--data) is not the data this run trained "
                                      "on: %s", o->data_path, differs);
            return error_set(err, "the data at %s is not the data this run trained on: %s (the "
                                  "path is the run's --data, kept in %s: the run resumes once "
                                  "its data is back there, or give its new place with --data)",
                             o->data_path, differs, path);
        }
    }
    const NpyArray *counters = resume_member(npz, path, RESUME_COUNTERS, NPY_INT64, 5, err);
    const NpyArray *values = counters ? resume_member(npz, path, RESUME_VALUES, NPY_FLOAT64, 3, err)
                                      : NULL;
    if (!values) return -1;
    const int64_t *c = counters->data;
    const double *v = values->data;
    if (c[0] < 1 || c[0] > o->epochs || c[1] < 0 || c[4] < 0 || c[4] > 100000 || c[2] < 1 ||
        c[2] > c[0] + c[4] || c[3] < 0)
        return error_set(err, "%s: its counters (%lld epochs done of %d) make no sense", path,
                         (long long)c[0], o->epochs);
    /* best accuracy in [0, 1]; plateau's rate in [0, the run's own]; its best in [0, 1],
     * or -1 before the first epoch ('!(... )' also refuses NaN) */
    if (!(v[0] >= 0 && v[0] <= 1) || !(v[1] >= 0 && v[1] <= o->optimizer.lr) ||
        !(v[2] == -1 || (v[2] >= 0 && v[2] <= 1)))
        return error_set(err, "%s: its values (best accuracy %g, plateau rate %g and best %g) "
                              "make no sense", path, v[0], v[1], v[2]);
    run->done = (int)c[0];
    run->earlier = (int)c[4];
    run->rows = xrealloc(run->rows, (size_t)(run->earlier + o->epochs) * sizeof *run->rows);
    run->opt->steps = (long)c[1];
    run->best_epoch = (int)c[2];
    run->schedule.stale = (int)c[3];
    run->best_accuracy = v[0];
    run->schedule.plateau_lr = v[1];
    run->schedule.best = v[2];
    const NpyArray *metrics = resume_member(npz, path, RESUME_METRICS, NPY_FLOAT64,
                                            (size_t)(run->earlier + run->done) * METRICS_COLUMNS,
                                            err);
    if (!metrics) return -1;
    for (int e = 0; e < run->earlier + run->done; e++) {
        const double *m = (const double *)metrics->data + (size_t)e * METRICS_COLUMNS;
        EpochRow *row = &run->rows[e];
        row->train = (EpochResult){.loss = m[0], .accuracy = m[1], .images = (int)m[2],
                                   .seconds = m[3]};
        row->val = (EpochResult){.loss = m[4], .accuracy = m[5]};
        row->lr = m[6];
        row->seconds = m[7];
    }
    const Optimizer *opt = run->opt;
    for (int p = 0; p < opt->num_params; p++) {
        char param[64], name[128];
        network_param(net, p, param, sizeof param);
        for (int slot = 0; slot < opt->ops->slots; slot++) {
            snprintf(name, sizeof name, "resume.%s.%s", opt->ops->slot_names[slot], param);
            Tensor *state = optimizer_state(opt, p, slot);
            const NpyArray *a = resume_member(npz, path, name, NPY_FLOAT32, state->size, err);
            if (!a) return -1;
            const float *data = a->data;
            for (size_t k = 0; k < state->size; k++) {
                if (!isfinite(data[k]))
                    return error_set(err, "%s: '%s'[%zu] is %g, not a finite number", path, name,
                                     k, (double)data[k]);
                state->data[k] = (real)data[k];
            }
        }
    }
    return 0;
}

/* --time-budget: the pace is planned this much slower than measured, so
 * that a machine that slows down a little later still ends in time */
#define BUDGET_MARGIN 1.05

/* --time-budget, once the epochs whose learning rates do not depend on
 * their number are done (LR_SCHEDULE_TIMED_EPOCHS, schedule.h): fixes the
 * number, so that the run is the one `--epochs N` would have made. Counts
 * this start's wall time (loading, then the epochs: training, validation,
 * saving) and the recorded times of the epochs before a --resume. The
 * resume file then records `--epochs N` in place of the budget, and
 * o->deadline the moment the budget runs out (see run_epochs). */
static void fit_epochs_to_budget(TrainOptions *o, Run *run, int first, double loop_start)
{
    const double now = clock_seconds();
    double resumed = 0; /* the epochs done before a --resume */
    for (int e = 0; e < first; e++) resumed += run->rows[run->earlier + e].seconds;
    const double spent = now - o->started + resumed;
    const double pace = (now - loop_start + resumed) / run->done;
    const int epochs = epochs_within_budget(60 * o->time_budget, spent, pace * BUDGET_MARGIN,
                                            run->done, o->epochs);
    printf("time budget: %d epoch%s in all (%.1f of %g minutes spent, %.1f s per epoch; "
           "planned at %.1f s, %d%% to spare)%s\n",
           epochs, epochs == 1 ? "" : "s", spent / 60, o->time_budget, pace,
           pace * BUDGET_MARGIN, (int)lround(100 * (BUDGET_MARGIN - 1)),
           epochs == o->epochs ? ": the most --epochs allows" : "");
    fflush(stdout);
    o->epochs = epochs;
    o->deadline = now + 60 * o->time_budget - spent;
    o->time_budget = 0;
    run->schedule.epochs = epochs;
    /* the resume file's arguments: this run is now `--epochs N` without a budget */
    snprintf(o->epochs_text, sizeof o->epochs_text, "%d", epochs);
    int kept = 0;
    for (int i = 0; i < o->argc; i++) {
        if (!strcmp(o->argv[i], "--epochs") || !strcmp(o->argv[i], "--time-budget")) {
            i++; /* parse_options saw to it that a value follows */
            continue;
        }
        o->argv[kept++] = o->argv[i];
    }
    o->argv[kept++] = (char *)"--epochs"; /* room: the budget's two arguments went */
    o->argv[kept++] = o->epochs_text;
    o->argc = kept;
}

/* The loop over the epochs from run->done on, saving after each (model.npz,
 * best.npz when it improves, resume.npz, metrics.csv). Returns 0, or -1
 * when training stopped (NaN loss or a file that cannot be written),
 * message in err; run->done counts the epochs finished. */
static int run_epochs(TrainOptions *o, Network *net, const Dataset *train,
                      const Dataset *val, Run *run, Error *err)
{
    char *model_path = join_path(o->out_dir, "model.npz");
    char *best_path = join_path(o->out_dir, "best.npz");
    char *resume_path = join_path(o->out_dir, "resume.npz");
    char *metrics_path = join_path(o->out_dir, "metrics.csv");
    Optimizer *opt = run->opt;
    LrSchedule *schedule = &run->schedule;
    EpochRow *rows = run->rows + run->earlier; /* this run's epochs */
    Loader loader;
    int bn_index;
    const int min_batch = network_min_batch(net, &bn_index);
    loader_init(&loader, train, o->batch_size,
                (LoaderOptions){.shuffle = o->shuffle, .augment = o->augment, .seed = o->seed,
                                .no_flip = !o->flip, .recipe = o->recipe,
                                .min_batch = min_batch});
    const int left_out = train->count - loader_images_per_epoch(&loader);
    if (left_out > 0)
        printf("note: %d training images in batches of %d leave a last batch of %d, too few "
               "for %s, which normalises each channel over a batch's images (one value has no "
               "spread): each epoch leaves that image out (%s)\n", train->count, o->batch_size,
               left_out, net->layers[bn_index]->name,
               o->shuffle ? "a different one each epoch, drawn by the shuffle"
                          : "the same one every epoch, with --no-shuffle");
    int status = 0, over_budget = 0;
    double last_seconds = 0; /* the last epoch's wall time: training, validation, saving */

    const int first = run->done;
    const double loop_start = clock_seconds();
    const int last = o->stop_after && run->done + o->stop_after < o->epochs
                         ? run->done + o->stop_after : o->epochs;
    for (int epoch = run->done; epoch < last && epoch < o->epochs; epoch++) {
        const double epoch_start = clock_seconds();
        EpochRow *row = &rows[epoch];
        row->lr = opt->lr = lr_schedule_lr(schedule, epoch);
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, o->epochs);
        Progress bar;
        progress_begin(&bar, label, loader_images_per_epoch(&loader));
        status = train_epoch(net, opt, &loader, epoch, &bar, &row->train, err);
        progress_end(&bar);
        if (status) break;
        /* ReLU can hide NaN weights from the loss: look at the weights themselves */
        size_t entry;
        int bad = network_first_non_finite(net, &entry);
        char suspect[200];
        divergence_suspect(opt, suspect, sizeof suspect);
        if (bad >= 0) {
            char name[64];
            const Param *param = network_param(net, bad, name, sizeof name);
            status = error_set(err, "epoch %d: %s[%zu] became %g; %s", epoch + 1, name, entry,
                               (double)param->value->data[entry], suspect);
            break;
        }

        /* validation in batches of the training size: a larger batch would
         * grow every activation buffer (and the memory use) for nothing */
        row->val.loss = evaluate(net, val, o->batch_size, &row->val.accuracy);
        row->val.images = val->count;
        if (!isfinite(row->val.loss)) {
            /* weights that give a NaN or infinite loss are not worth saving */
            status = error_set(err, "epoch %d: the validation loss is %s; %s", epoch + 1,
                               isnan(row->val.loss) ? "NaN" : "infinite", suspect);
            break;
        }
        lr_schedule_observe(schedule, epoch, row->val.accuracy);
        const int improved = row->val.accuracy > run->best_accuracy;
        row->seconds = progress_elapsed(&bar);
        const char *const *names = (const char *const *)train->class_names;
        /* the checkpoints first: only a best.npz that was written is reported as the best */
        if ((status = checkpoint_save(model_path, net, names, err))) break;
        run->model_holds = epoch + 1;
        if (improved) {
            if ((status = checkpoint_save(best_path, net, names, err))) break;
            run->best_accuracy = row->val.accuracy;
            run->best_epoch = run->earlier + epoch + 1;
            run->best_written = 1;
        }
        run->done = epoch + 1;
        ResumeWrite resume = {o, run, net};
        if ((status = checkpoint_save_extra(resume_path, net, names, add_resume_members, &resume,
                                            err))) {
            run->done = epoch; /* not all of this epoch's files were written */
            break;
        }
        run->resume_holds = epoch + 1;
        if ((status = write_metrics(metrics_path, run->rows, run->earlier + run->done, err))) {
            run->done = epoch;
            break;
        }
        run->metrics_holds = epoch + 1;
        printf("epoch %*d/%d  train loss %.4f acc %5.1f%%  val loss %.4f acc %5.1f%%  lr %.3g  "
               "%.1f s (%.0f img/s)%s\n",
               snprintf(NULL, 0, "%d", o->epochs), epoch + 1, o->epochs, row->train.loss,
               100 * row->train.accuracy, row->val.loss, 100 * row->val.accuracy, row->lr,
               row->seconds, row->train.images / row->train.seconds, improved ? "  *best" : "");
        /* guessing uniformly scores ln K; a loss far above it is the mark of divergence */
        if (row->train.loss > 10 * log(train->classes))
            printf("warning: the training loss %.4g is far above ln %d = %.2f, a uniform "
                   "guess's: %s\n", row->train.loss, train->classes, log(train->classes),
                   suspect);
        fflush(stdout);
        if (o->time_budget > 0 && run->done == LR_SCHEDULE_TIMED_EPOCHS(o->warmup)) {
            fit_epochs_to_budget(o, run, first, loop_start);
            /* the resume file written above still holds the budget: rewrite it with the
             * count, so that --resume continues this run and not a new decision */
            if ((status = checkpoint_save_extra(resume_path, net, names, add_resume_members,
                                                &resume, err)))
                break;
        }
        /* The count fixed, the machine may still slow down (another job, a
         * busier host): an epoch that would end after the budget, at the
         * last one's pace, is not begun. What is lost is the schedule's last
         * epochs, at its smallest rates; --resume can still run them. */
        const double now = clock_seconds();
        last_seconds = now - epoch_start;
        if (o->deadline > 0 && epoch + 1 < o->epochs && now + last_seconds > o->deadline) {
            over_budget = 1;
            break;
        }
    }
    if (run->done > 0)
        printf("best val accuracy %.1f%% at epoch %d: %s\n", 100 * run->best_accuracy,
               run->best_epoch, best_path);
    const char *dir = o->resume_dir ? o->resume_dir : o->out_dir;
    if (status == 0 && over_budget)
        printf("time budget: stopped after epoch %d of %d: the last took %.1f s, and another "
               "would end %.1f min after the budget runs out (the machine slowed after the "
               "count was fixed); best.npz is the run's result; the rest: emotion train "
               "--resume %s\n",
               run->done, o->epochs, last_seconds,
               (clock_seconds() + last_seconds - o->deadline) / 60, dir);
    else if (status == 0 && run->done < o->epochs)
        printf("stopped after epoch %d of %d, as --stop-after %d asked; continue with: emotion "
               "train --resume %s\n", run->done, o->epochs, o->stop_after, dir);
    fflush(stdout);
    loader_free(&loader);
    free(model_path);
    free(best_path);
    free(resume_path);
    free(metrics_path);
    return status;
}

/* --resume DIR where DIR is a folder without resume.npz: what that means
 * (-1, message in err), rather than "cannot open". 0 otherwise: the file
 * is there, or DIR is not a folder (the loader names the problem). */
static int no_resume_file(const char *dir, const char *path, Error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0 || errno != ENOENT || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    char *model_path = join_path(dir, "model.npz");
    const int has_model = lstat(model_path, &st) == 0;
    free(model_path);
    if (has_model)
        return error_set(err, "%s holds a model.npz but no resume.npz (which every epoch writes "
                              "beside it), so its run cannot be resumed: start it again with the "
                              "command that began it, or train on from its weights with --init "
                              "%s/model.npz (a new optimizer state: not the same run)", dir, dir);
    return error_set(err, "%s holds no resume.npz: no epoch of a run there finished (each "
                          "epoch ends by writing it), so there is nothing to resume; start the "
                          "run again with the command that began it", dir);
}

/* --resume DIR: the run's network (net) and its options, from DIR/resume.npz;
 * *npz keeps the file for run_restore, *stored the arguments o points into. */
static int open_resume(TrainOptions *o, Network **net, NpzFile *npz, char ***stored, Error *err)
{
    char *path = join_path(o->resume_dir, "resume.npz");
    const char *dir = o->resume_dir, *moved_data = o->moved_data;
    const int threads = o->threads, stop_after = o->stop_after;
    int argc = 0, status = -1;
    *net = NULL;
    if (no_resume_file(dir, path, err)) goto done;
    *net = checkpoint_load_extra(path, NULL, "resume.", npz, err);
    if (!*net) goto done;
    if (resume_arguments(npz, path, &argc, stored, err) != 0) goto done;
    TrainOptions saved = default_options();
    if (parse_options(argc, *stored, &saved) != 0) {
        error_set(err, "%s: the options it holds are not valid (see above)", path);
        goto done;
    }
    free(o->argv);
    *o = saved;
    o->resume_dir = dir;
    o->out_dir = dir; /* the folder it is in now, wherever it was first written */
    o->threads = threads;
    o->stop_after = stop_after;
    if (moved_data) {
        /* the run's --data now names the moved file (resolve_inputs adds one
         * to arguments that had none); run_restore checks it is the same data */
        o->moved_data = o->data_path = moved_data;
        o->data_given = 1;
        for (int i = 0; i + 1 < o->argc; i++)
            if (!strcmp(o->argv[i], "--data")) o->argv[i + 1] = (char *)moved_data;
    }
    status = 0;
done:
    if (status != 0 && *net) {
        network_free(*net);
        *net = NULL;
        npz_free(npz);
    }
    free(path);
    return status;
}

/* A batchnorm that sees one value per channel per image (after fc, or on a
 * 1x1 map) needs two images in a batch: the variance of one value is 0, so
 * every output would be its shift, beta, alone, whatever the input (and
 * PyTorch refuses such a batch). A last batch of one is left out of each
 * epoch (run_epochs); a --batch of 1, or a training split of one image, is
 * refused here. */
static int batch_gives_statistics(const Network *net, int batch, int images, const char *data,
                                  Error *err)
{
    int index;
    if (network_min_batch(net, &index) < 2) return 0;
    const char *name = net->layers[index]->name;
    if (batch < 2)
        return error_set(err, "--batch 1: %s normalises each of its channels over the batch's "
                              "images, and it sees one value of a channel per image: one image "
                              "has no spread, and its output would be its shift (beta) alone; "
                              "use --batch 2 or more", name);
    if (images < 2)
        return error_set(err, "%s: the train split has one image, and %s normalises each of "
                              "its channels over a batch's images: one image has no spread; "
                              "training needs two or more", data, name);
    return 0;
}

/* The run writes these into its folder; none of them may be an input of
 * the run (a dataset named model.npz in --out, say), which it would write
 * over. (--init may be one: it is read before anything is written, and
 * continuing a run from its own model.npz is what --init is for.) */
static int outputs_spare_inputs(const TrainOptions *o, Error *err)
{
    const struct { const char *path, *what; } inputs[] = {
        {o->data_path, "--data"}, {o->model.model_path, "--model"}};
    for (size_t k = 0; k < RUN_OUTPUTS; k++) {
        char *path = join_path(o->out_dir, run_outputs[k]);
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
            if (inputs[i].path && same_file(path, inputs[i].path)) {
                error_set(err, "%s %s is the %s the run writes in %s: give another --out, or "
                               "move the file", inputs[i].what, inputs[i].path, run_outputs[k],
                          o->out_dir);
                free(path);
                return -1;
            }
        free(path);
    }
    return 0;
}

/* path made absolute (to free): the file it names, links resolved, or,
 * should that fail, the path from the current directory. */
static char *absolute_path(const char *path)
{
    char *resolved = realpath(path, NULL);
    if (resolved) return resolved;
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) return strcpy(xmalloc(strlen(path) + 1), path);
    return join_path(cwd, path);
}

/* The resume file keeps the run's arguments, and --resume may run from
 * another directory, where a relative --data would name other data. So
 * the arguments name the files this run read by their absolute paths
 * (--data, --model, --init), and the built-in data, which no --data
 * names, gets a --data of its own. */
static void resolve_inputs(TrainOptions *o)
{
    static const char *const flags[3] = {"--data", "--model", "--init"};
    int has_data = 0;
    for (int i = 0; i + 1 < o->argc; i++) {
        const char *flag = o->argv[i];
        if (!strcmp(flag, "--no-augment") || !strcmp(flag, "--no-flip") ||
            !strcmp(flag, "--no-shuffle"))
            continue; /* the flags without a value */
        for (int k = 0; k < 3; k++)
            if (!strcmp(flag, flags[k])) {
                free(o->absolute[k]);
                o->absolute[k] = absolute_path(o->argv[i + 1]);
                o->argv[i + 1] = o->absolute[k];
                has_data |= k == 0;
            }
        i++; /* past the value */
    }
    if (!has_data) {
        o->absolute[0] = absolute_path(o->data_path);
        o->argv[o->argc++] = (char *)"--data"; /* room: see parse_options */
        o->argv[o->argc++] = o->absolute[0];
    }
}

/* After training stopped on an error: what each file in the folder holds
 * now, whichever write failed (had_run: the folder held an earlier run's
 * files when this one began). Epochs are counted as the epoch lines count
 * them. */
static void report_files(const TrainOptions *o, const Run *run, int had_run)
{
    const char *dir = o->out_dir, *earlier = had_run ? "still the earlier run's" : "not written";
    if (!run->model_holds && !run->resume_holds && !run->metrics_holds && !run->best_written) {
        fprintf(stderr, "emotion train: no epoch completed, no checkpoint written%s%s%s\n",
                had_run ? " (the files in " : "", had_run ? dir : "",
                had_run ? " are still the earlier run's)" : "");
        return;
    }
    char best[96];
    if (run->best_written)
        snprintf(best, sizeof best, "best.npz the best (epoch %d)", run->best_epoch - run->earlier);
    else
        snprintf(best, sizeof best, "best.npz %s", earlier);
    if (run->model_holds == run->resume_holds && run->resume_holds == run->metrics_holds) {
        fprintf(stderr, "emotion train: %s/model.npz, resume.npz and metrics.csv hold the last "
                        "good epoch (%d), %s\n", dir, run->model_holds, best);
        return;
    }
    char model[64], resume[64], metrics[64];
    const struct { char *text; const char *name; int holds; } files[] = {
        {model, "model.npz", run->model_holds},
        {resume, "resume.npz", run->resume_holds},
        {metrics, "metrics.csv", run->metrics_holds}};
    for (int k = 0; k < 3; k++) {
        if (files[k].holds)
            snprintf(files[k].text, 64, "%s epoch %d", files[k].name, files[k].holds);
        else
            snprintf(files[k].text, 64, "%s %s", files[k].name, earlier);
    }
    fprintf(stderr, "emotion train: %s holds %s, %s, %s and %s\n", dir, model, best, resume,
            metrics);
}

/* Two runs writing into one folder would leave a mixture, each file whole:
 * one run's model.npz beside the other's metrics.csv and resume.npz. The
 * folder stays claimed while *fd is open (lock_directory). */
static int claim_folder(const char *dir, int resuming, int *fd, Error *err)
{
    if (lock_directory(dir, fd, err) == 0) return 0;
    char message[sizeof err->msg];
    snprintf(message, sizeof message, "%s", err->msg);
    return error_set(err, "%s (another emotion train?): one run at a time in a folder; wait "
                          "for it to end%s", message, resuming ? "" : ", or give another --out");
}

int cmd_train(int argc, char **argv)
{
    const double started = clock_seconds();
    TrainOptions o = default_options();
    int parsed = parse_options(argc, argv, &o);
    if (parsed > 0) {
        free(o.argv);
        return 0;
    }
    if (parsed < 0) {
        free(o.argv);
        usage(stderr);
        return 2;
    }

    Error err;
    Network *net = NULL;
    NpzFile resume_file = {0};
    char **stored_args = NULL;
    Dataset train = {0}, val = {0};
    Run run = {0};
    DataFingerprint fingerprint;
    int status = 1, usage_fault = 0, had_run = 0;
    int folder_lock = -1; /* held while this run writes into its folder */
    int data_fault = 0; /* a fault in the data: on --resume, say where its path came from */
    /* a --resume claims its folder before reading it: a run still going there
     * has no resume.npz yet, or is about to replace it */
    if (o.resume_dir && (claim_folder(o.resume_dir, 1, &folder_lock, &err) ||
                         open_resume(&o, &net, &resume_file, &stored_args, &err) != 0))
        goto fail;
    o.started = started;
    if (outputs_spare_inputs(&o, &err)) {
        usage_fault = 1;
        goto fail;
    }
    if (o.threads > 0) omp_set_num_threads(o.threads);
    data_fault = 1; /* until the data is known to fit the network */
    if (!o.data_given && synth_ensure_builtin(o.data_path, &err)) goto fail;
    if (load_splits(o.data_path, &train, &val, &err)) goto fail;
    if (train.count == 0 || val.count == 0) {
        error_set(&err, "%s: the %s split has no images", o.data_path,
                  train.count == 0 ? "train" : "val");
        goto fail;
    }
    if (train.classes < 2) {
        error_set(&err, "%s: the data has only one class; a classifier needs at least two (its "
                        "labels, or its class_names)", o.data_path);
        goto fail;
    }
    if (net) {
        const int *in = net->input_dims;
        if (dataset_check_fits(&train, o.data_path, in[0], in[1], in[2],
                               network_output_size(net), &err))
            goto fail;
    } else if (!(net = build_network(&o, &train, &usage_fault, &err))) {
        goto fail;
    }
    /* the val split is measured by the same network: its images must fit it too */
    if (dataset_check_fits(&val, o.data_path, net->input_dims[0], net->input_dims[1],
                           net->input_dims[2], network_output_size(net), &err))
        goto fail;
    data_fault = 0;
    if (batch_gives_statistics(net, o.batch_size, train.count, o.data_path, &err)) {
        usage_fault = o.batch_size < 2; /* --batch 1 is the flag's fault; else the data's */
        goto fail;
    }
    if (model_fits_memory(net, o.batch_size, 1, &err)) {
        usage_fault = 1;
        goto fail;
    }
    if (make_directories(o.out_dir, &err)) goto fail;
    if (!o.resume_dir && claim_folder(o.out_dir, 0, &folder_lock, &err)) goto fail;
    if (outputs_writable(o.out_dir, &err)) goto fail;
    data_fingerprint(&train, &val, &fingerprint);
    resolve_inputs(&o);
    run_start(&o, net, &run);
    run.data = fingerprint;
    if (o.resume_dir) {
        char *path = join_path(o.resume_dir, "resume.npz");
        int restored = run_restore(&run, &o, net, &resume_file, path, &err);
        free(path);
        if (restored != 0) goto fail;
        /* the files the earlier invocations wrote */
        run.model_holds = run.resume_holds = run.metrics_holds = run.done;
        run.best_written = 1;
    } else if (o.init_path) {
        char *path = join_path(o.out_dir, "metrics.csv");
        int continued = access(path, F_OK) == 0 ? run_continue(&run, path, o.epochs, &err) : 0;
        free(path);
        if (continued != 0) goto fail;
        if (run.earlier > 0)
            printf("continuing the run in %s: %d earlier epoch%s in metrics.csv, best val "
                   "accuracy %.1f%% at epoch %d (best.npz stays unless this run beats it)\n",
                   o.out_dir, run.earlier, run.earlier == 1 ? "" : "s",
                   100 * run.best_accuracy, run.best_epoch);
    }
    if (o.resume_dir && run.done == o.epochs) {
        printf("nothing to resume: all %d epochs of %s are done\n", o.epochs, o.out_dir);
        status = 0;
        goto done;
    }
    print_setup(&o, net, &train, &val);
    if (!o.resume_dir && run.earlier == 0) {
        char *path = join_path(o.out_dir, "model.npz");
        had_run = access(path, F_OK) == 0;
        if (had_run)
            printf("%s already holds a run: this one replaces its files as it goes (--out DIR "
                   "writes elsewhere)\n", o.out_dir);
        free(path);
    }
    had_run |= run.earlier > 0;
    if (o.resume_dir) {
        printf("resuming %s after epoch %d of %d (best val accuracy %.1f%% at epoch %d)\n",
               o.out_dir, run.done, o.epochs, 100 * run.best_accuracy, run.best_epoch);
    }

    const int first = run.done;
    real *weights = NULL;
    if (o.class_weights != CLASS_WEIGHTS_NONE) {
        const int classes = network_output_size(net);
        weights = xmalloc((size_t)classes * sizeof *weights);
        class_weights_compute(&train, (ClassWeights)o.class_weights, classes, weights);
    }
    net->loss = (LossOptions){.class_weights = weights, .smoothing = o.smoothing};
    status = run_epochs(&o, net, &train, &val, &run, &err);
    net->loss = (LossOptions){0};
    free(weights);
    if (status) {
        fprintf(stderr, "emotion train: stopped: %s\n", err.msg);
        report_files(&o, &run, had_run);
    }
    if (run.done > first) {
        char *metrics_path = join_path(o.out_dir, "metrics.csv");
        if (draw_charts(o.out_dir, metrics_path) == 0)
            printf("charts: %s/loss.png, %s/accuracy.png\n", o.out_dir, o.out_dir);
        free(metrics_path);
        if (isatty(STDOUT_FILENO)) print_text_charts(run.rows, run.earlier + run.done);
    }
    if (!status) printf("model: %s/model.npz\n", o.out_dir);
    status = status ? 1 : 0;
    goto done;
fail:
    if (status && data_fault && o.resume_dir && o.data_given && !o.moved_data) {
        char message[sizeof err.msg];
        snprintf(message, sizeof message, "%s", err.msg);
        error_set(&err, "%s (the path is the run's --data, kept in %s/resume.npz: the run "
                        "resumes once its data is back there, or give its new place with "
                        "--data)", message, o.resume_dir);
    }
    if (status) fprintf(stderr, "emotion train: %s\n", err.msg);
    if (status && usage_fault) status = 2;
done:
    if (folder_lock >= 0) close(folder_lock);
    if (run.opt) run_free(&run);
    network_free(net);
    dataset_free(&train);
    dataset_free(&val);
    if (o.resume_dir) npz_free(&resume_file);
    if (stored_args) {
        free(stored_args[0]);
        free(stored_args);
    }
    free(o.argv);
    for (int k = 0; k < 3; k++) free(o.absolute[k]);
    return status;
}
