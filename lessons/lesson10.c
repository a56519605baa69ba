/* Lesson 10: optimizers.
 *
 * Every optimizer turns a gradient into a step (optim/optimizer.h); they
 * differ in what they remember between steps. The lesson drives the
 * library's own optimizers (optim/sgd.c, optim/adaptive.c):
 *   - Adam's first steps with and without its bias correction, by hand
 *     and by the library;
 *   - on a surface of two variables, through a network of one layer whose
 *     only parameter is the point (x, y) and whose output is the height
 *     there: a learning-rate sweep for SGD, momentum, Nesterov, RMSprop
 *     and Adam, and their paths drawn over the contour lines;
 *   - the same CNN trained on the faces by all six (AdamW included), with
 *     their loss curves in one chart.
 *
 * Built with the float library: it trains. The surface runs are float
 * too; with no matrix multiply involved they print the same on any
 * machine, while the CNN's figures vary in their last digits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adaptive.h"
#include "arch.h"
#include "classes.h"
#include "lesson_common.h"
#include "network.h"
#include "optimizers.h"
#include "schedule.h"
#include "sgd.h"
#include "train.h"

/* ---- a surface as a one-layer network ------------------------------------- */

#define SURFACE_CHOICES 5 /* SGD .. Adam: AdamW is Adam when nothing decays */

typedef struct {
    const char *name;
    const char *formula;
    double (*height)(double x, double y);
    void (*gradient)(double x, double y, double *gx, double *gy);
    double start_x, start_y;
    double xmin, xmax, ymin, ymax;         /* the chart's window */
    double chart_lr[SURFACE_CHOICES];      /* each optimizer's lr in the chart */
} Surface;

/* An elongated bowl: its curvature is 100 times larger across (y) than
 * along (x). */
static double valley_height(double x, double y) { return 0.5 * x * x + 50 * y * y; }
static void valley_gradient(double x, double y, double *gx, double *gy)
{
    *gx = x;
    *gy = 100 * y;
}

/* The same bowl turned by 45 degrees: u = (x + y)/sqrt 2 along the floor,
 * w = (y - x)/sqrt 2 across it. */
static double tilted_height(double x, double y)
{
    double u = (x + y) * M_SQRT1_2, w = (y - x) * M_SQRT1_2;
    return 0.5 * u * u + 50 * w * w;
}
static void tilted_gradient(double x, double y, double *gx, double *gy)
{
    double u = (x + y) * M_SQRT1_2, w = (y - x) * M_SQRT1_2;
    *gx = M_SQRT1_2 * (u - 100 * w);
    *gy = M_SQRT1_2 * (u + 100 * w);
}

/* Rosenbrock's banana, gentler (10 instead of 100): a curved valley. */
static double banana_height(double x, double y)
{
    return (1 - x) * (1 - x) + 10 * (y - x * x) * (y - x * x);
}
static void banana_gradient(double x, double y, double *gx, double *gy)
{
    *gx = -2 * (1 - x) - 40 * x * (y - x * x);
    *gy = 20 * (y - x * x);
}

/* A plane with a fixed slope: the same gradient at every step. */
static double plane_slope[2];
static double plane_height(double x, double y) { return plane_slope[0] * x + plane_slope[1] * y; }
static void plane_gradient(double x, double y, double *gx, double *gy)
{
    (void)x;
    (void)y;
    *gx = plane_slope[0];
    *gy = plane_slope[1];
}

/* Chart learning rates: SGD just below the rate where the steep direction
 * goes unstable (so its zigzag shows), the others from the good part of
 * their rows in the sweep. */
static const Surface surfaces[] = {
    {"valley", "f(x, y) = x^2/2 + 50 y^2", valley_height, valley_gradient, -4, 1,
     -4.5, 1.0, -1.2, 1.2, {0.018, 0.01, 0.01, 0.03, 0.1}},
    {"tilted", "the valley turned by 45 degrees", tilted_height, tilted_gradient,
     -5 * M_SQRT1_2, -3 * M_SQRT1_2, -4.0, 1.0, -2.5, 1.0, {0.018, 0.01, 0.01, 0.03, 0.1}},
    {"banana", "f(x, y) = (1 - x)^2 + 10 (y - x^2)^2", banana_height, banana_gradient, -1.5, 2.5,
     -2.0, 2.0, -0.5, 3.5, {0.01, 0.003, 0.003, 0.03, 0.1}},
};
static const Surface plane = {"plane", "f(x, y) = g . (x, y)", plane_height, plane_gradient,
                              0, 0, 0, 0, 0, 0, {0}};

/* The layer: its one parameter p = (x, y); its output, for every item of
 * the batch, the height f(p). Backward writes df/dp (times the sum of
 * dout) and dx = 0: the input plays no part. */
typedef struct {
    Layer base;
    Tensor *point, *grad;
    const Surface *surface;
} SurfaceLayer;

static int surface_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                                 int *out, Error *err)
{
    (void)layer;
    (void)ndim;
    (void)err;
    *out_ndim = 2;
    out[0] = in[0];
    out[1] = 1;
    return 0;
}

static double surface_flops(const Layer *layer, int ndim, const int *in)
{
    (void)layer;
    (void)ndim;
    (void)in;
    return 10;
}

static void surface_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    SurfaceLayer *s = (SurfaceLayer *)layer;
    layer->input = x;
    layer_resize_output(layer, x, out);
    for (int n = 0; n < x->dim[0]; n++)
        out->data[n] = (real)s->surface->height(s->point->data[0], s->point->data[1]);
}

static void surface_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    SurfaceLayer *s = (SurfaceLayer *)layer;
    double total = 0, gx, gy;
    for (size_t n = 0; n < dout->size; n++) total += dout->data[n];
    s->surface->gradient(s->point->data[0], s->point->data[1], &gx, &gy);
    s->grad->data[0] = (real)(gx * total);
    s->grad->data[1] = (real)(gy * total);
    if (dx) {
        tensor_resize(dx, layer->input->ndim, layer->input->dim);
        tensor_zero(dx);
    }
}

static void surface_destroy(Layer *layer)
{
    SurfaceLayer *s = (SurfaceLayer *)layer;
    tensor_free(s->point);
    tensor_free(s->grad);
    free(s);
}

static const LayerOps surface_ops = {
    .kind = "surface",
    .output_shape = surface_output_shape,
    .flops = surface_flops,
    .forward = surface_forward,
    .backward = surface_backward,
    .destroy = surface_destroy,
};

/* A network of one surface layer, its point at the surface's start. */
static Network *surface_network(const Surface *surface)
{
    SurfaceLayer *s = xcalloc(1, sizeof *s);
    s->base.ops = &surface_ops;
    int two = 2;
    s->point = tensor_new(1, &two);
    s->grad = tensor_new(1, &two);
    s->surface = surface;
    s->point->data[0] = (real)surface->start_x;
    s->point->data[1] = (real)surface->start_y;
    s->base.num_params = 1;
    s->base.params[0] = (Param){.name = "p", .value = s->point, .grad = s->grad,
                                .init = PARAM_INIT_ZERO, .decay = 0};
    Network *net = network_new(1, 1, 1);
    Error err;
    if (network_add(net, &s->base, "surface", &err)) {
        fprintf(stderr, "lesson10: %s\n", err.msg);
        exit(1);
    }
    return net;
}

static real *surface_point(Network *net)
{
    return ((SurfaceLayer *)net->layers[0])->point->data;
}

/* One step: forward (the height), backward from dL/dout = 1 (the
 * gradient), and the optimizer's update. Returns the height before it.
 * The input is a (1, 1, 1, 1) tensor the layer ignores. */
static double surface_step(Network *net, Optimizer *opt)
{
    Tensor input = {.ndim = 4, .dim = {1, 1, 1, 1}, .size = 1, .capacity = 1, .data = (real[1]){0}};
    Tensor one = {.ndim = 2, .dim = {1, 1}, .size = 1, .capacity = 1, .data = (real[1]){1}};
    double height = network_forward(net, &input)->data[0];
    network_backward(net, &one, NULL);
    optimizer_step(opt, net);
    return height;
}

/* ---- the optimizers compared ----------------------------------------------- */

typedef struct {
    const char *label;     /* "SGD", "momentum", ... */
    const char *name;      /* optimizer_defaults name */
    double momentum;       /* for sgd: 0 (plain) or 0.9 */
} Choice;

static const Choice choices[] = {
    {"SGD", "sgd", 0},          {"momentum", "sgd", 0.9}, {"Nesterov", "nesterov", 0.9},
    {"RMSprop", "rmsprop", 0},  {"Adam", "adam", 0},      {"AdamW", "adamw", 0},
};
#define NUM_CHOICES 6

static Optimizer *create_choice(Network *net, const Choice *c, double lr, double weight_decay)
{
    OptimizerSettings s;
    optimizer_defaults(c->name, &s);
    s.lr = lr;
    s.weight_decay = weight_decay;
    if (!strcmp(c->name, "sgd")) s.momentum = c->momentum;
    return optimizer_create(net, &s);
}

static void section_rules(Lesson *lesson)
{
    lesson_section(lesson, "Six update rules behind one interface");
    lesson_say("After backward, every parameter p has its gradient g. An optimizer turns g "
               "into a step; what tells them apart is what they remember from earlier steps "
               "(their state, one or two tensors the shape of p, starting at 0). As the "
               "library writes them (optim/sgd.h, optim/adaptive.h), weight decay left out:");
    printf("    SGD        p -= lr g\n"
           "    momentum   v = mu v + g;                        p -= lr v\n"
           "    Nesterov   v = mu v + g;                        p -= lr (g + mu v)\n"
           "    RMSprop    s = alpha s + (1 - alpha) g^2;       p -= lr g / (sqrt(s) + eps)\n"
           "    Adam       m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;\n"
           "               p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)\n"
           "    AdamW      p -= lr wd p, then Adam's step (the decay kept out of m and v)\n\n");
    OptimizerSettings sgd, adam, rmsprop;
    optimizer_defaults("sgd", &sgd);
    optimizer_defaults("rmsprop", &rmsprop);
    optimizer_defaults("adam", &adam);
    lesson_say("Defaults (optimizer_defaults): mu = %g; alpha = %g; b1 = %g, b2 = %g, eps = %g "
               "(alpha, b1, b2 and eps are PyTorch's; its SGD has momentum 0 and no default "
               "lr, so mu and the learning rates are this workbench's); lr %g for the SGDs and "
               "%g for the others. Momentum sums "
               "gradients, so a steady g moves p by up to lr g / (1 - mu) = 10 lr g per step. "
               "RMSprop and Adam divide by a running root mean square of g, so every weight "
               "moves about lr per step whatever the size of its gradient.",
               sgd.momentum, rmsprop.alpha, adam.beta1, adam.beta2, adam.eps, sgd.lr, adam.lr);
}

/* ---- Adam's bias correction ------------------------------------------------- */

static void section_bias_correction(Lesson *lesson)
{
    lesson_section(lesson, "Adam's first step, with and without bias correction");
    const double lr = 0.001, g[2] = {2.0, 0.001};
    plane_slope[0] = g[0];
    plane_slope[1] = g[1];
    lesson_say("A parameter of two entries whose gradients differ 2000 times: g = (%g, %g), "
               "the same at every step (a tilted plane). Adam with lr %g, b1 = 0.9, b2 = "
               "0.999. At step t = 1, from m = v = 0:",
               g[0], g[1], lr);
    printf("    m  = 0.9 * 0 + 0.1 g      = (0.2, 0.0001)\n"
           "    v  = 0.999 * 0 + 0.001 g^2 = (0.004, 1e-9)\n"
           "    with correction:    m / (1 - 0.9)   = g,   v / (1 - 0.999) = g^2\n"
           "        step = lr g / (|g| + eps) = lr (1, 0.99999) = (0.001, 0.00099999)\n"
           "    without correction: step = lr 0.1 g / (sqrt(0.001) |g| + eps)\n"
           "        = lr 0.1 / 0.0316228 = 3.1623 lr = (0.0031623, 0.0031613)\n"
           "        (y: sqrt(0.001) * 0.001 = 3.16e-5, and eps = 1e-8 adds 0.03%% to it)\n\n");
    lesson_say("m and v start at 0, so their first averages are 10 and 1000 times too small; "
               "v enters under a square root, so without the correction the step comes out "
               "sqrt(1000) / 10 = 3.16 times too long. The library's Adam computes the "
               "corrected step. Started as if at step 10^9 (opt->steps, where 1 - b^t = 1 "
               "to double precision), it computes the uncorrected one. Both, on the plane:");

    Network *with_net = surface_network(&plane), *without_net = surface_network(&plane);
    AdamConfig config = {.lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    Optimizer *with = adam_create(with_net, config), *without = adam_create(without_net, config);
    without->steps = 1000000000L;
    printf("  %5s | %23s | %23s | %10s %10s\n", "step", "with correction", "without",
           "by hand", "by hand");
    printf("  %5s | %11s %11s | %11s %11s | %10s %10s\n", "t", "step x", "step y", "step x",
           "step y", "with", "without");
    const int report[] = {1, 2, 3, 5, 10, 20, 50, 100, 300, 1000};
    int next = 0;
    double worst = 0;
    for (int t = 1; t <= 1000; t++) {
        real before_with[2] = {surface_point(with_net)[0], surface_point(with_net)[1]};
        real before_without[2] = {surface_point(without_net)[0], surface_point(without_net)[1]};
        surface_step(with_net, with);
        surface_step(without_net, without);
        if (t != report[next]) continue;
        next++;
        double step_with[2], step_without[2];
        for (int k = 0; k < 2; k++) {
            step_with[k] = before_with[k] - surface_point(with_net)[k];
            step_without[k] = before_without[k] - surface_point(without_net)[k];
        }
        /* a constant g: m = (1 - 0.9^t) g and v = (1 - 0.999^t) g^2 exactly */
        double c1 = 1 - pow(0.9, t), c2 = 1 - pow(0.999, t);
        double hand_with = lr, hand_without = lr * c1 / sqrt(c2);
        worst = fmax(worst, fabs(step_with[0] - hand_with) / hand_with);
        worst = fmax(worst, fabs(step_without[0] - hand_without) / hand_without);
        printf("  %5d | %11.7f %11.7f | %11.7f %11.7f | %10.7f %10.7f\n", t, step_with[0],
               step_with[1], step_without[0], step_without[1], hand_with, hand_without);
    }
    printf("\n  (largest relative difference library vs hand, x column: %.1e; float)\n\n", worst);
    if (worst > 1e-3) lesson->failures++;
    lesson_say("With the correction every step is lr in both entries, although their "
               "gradients are 2000 times apart (y: a hair less, where eps = 1e-8 is not "
               "negligible against |g| = 0.001). Without it the step is lr (1 - 0.9^t) / "
               "sqrt(1 - 0.999^t): 3.2 lr at once, growing to about 6.5 lr near step 10 and "
               "still 1.3 lr at step 1000, because v's average forgets its zero start far more "
               "slowly than m's. A well-known JavaScript library once multiplied by the correction "
               "instead of dividing; a table like this one, against a reference, catches it.");
    optimizer_free(with);
    optimizer_free(without);
    network_free(with_net);
    network_free(without_net);
}

/* ---- paths on a surface and the learning-rate sweep ---------------------- */

static const double sweep_lrs[] = {0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1};
#define NUM_LRS 7

/* Runs `steps` steps from the start; path (steps + 1, 2) receives every
 * point (may be NULL). Returns the final height (inf if it blew up). */
static double run_path(const Surface *surface, const Choice *c, double lr, int steps,
                       double *path)
{
    Network *net = surface_network(surface);
    Optimizer *opt = create_choice(net, c, lr, 0);
    double height = 0;
    for (int t = 0; t <= steps; t++) {
        const real *p = surface_point(net);
        if (path) {
            path[2 * t] = p[0];
            path[2 * t + 1] = p[1];
        }
        height = surface->height(p[0], p[1]);
        if (!isfinite(height) || height > 1e12) {
            height = INFINITY;
            if (path)
                for (int k = t + 1; k <= steps; k++) path[2 * k] = path[2 * k + 1] = NAN;
            break;
        }
        if (t < steps) surface_step(net, opt);
    }
    optimizer_free(opt);
    network_free(net);
    return height;
}

/* Contour lines of the surface, blocks separated by blank lines, for the chart. */
static void write_contours(FILE *f, const Surface *surface)
{
    const int points = 200;
    if (surface->height != banana_height) {
        const int tilted = surface->height == tilted_height;
        const double levels[] = {0.1, 0.5, 2, 5, 10, 20, 35, 58};
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            /* u^2/2 + 50 w^2 = c: an ellipse of half-axes sqrt(2c) and sqrt(c/50),
             * along the axes (valley) or turned by 45 degrees (tilted) */
            for (int i = 0; i <= points; i++) {
                double a = 2 * M_PI * i / points;
                double u = sqrt(2 * levels[l]) * cos(a), w = sqrt(levels[l] / 50) * sin(a);
                if (tilted)
                    fprintf(f, "%.5f %.5f\n", (u - w) * M_SQRT1_2, (u + w) * M_SQRT1_2);
                else
                    fprintf(f, "%.5f %.5f\n", u, w);
            }
            fprintf(f, "\n");
        }
        return;
    }
    /* banana: (1 - x)^2 + 10 (y - x^2)^2 = c, for x within sqrt(c) of 1:
     * y = x^2 +- sqrt((c - (1 - x)^2) / 10), the lower branch then the upper back */
    const double levels[] = {0.1, 0.5, 1.5, 4, 8};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        double c = levels[l], r = sqrt(c);
        for (int branch = 0; branch < 2; branch++) {
            for (int i = 0; i <= points; i++) {
                double u = (double)i / points;
                double x = branch ? 1 + r * cos(M_PI * u) : 1 - r * cos(M_PI * u);
                double d = c - (1 - x) * (1 - x);
                double y = x * x + (branch ? 1 : -1) * sqrt(fmax(d, 0) / 10);
                fprintf(f, "%.5f %.5f\n", x, y);
            }
        }
        fprintf(f, "\n");
    }
}

static void section_surface(Lesson *lesson, const Surface *surface, int steps)
{
    lesson_section(lesson, "Paths on a surface, and what the learning rate does");
    const int valley = surface->height == valley_height;
    lesson_say("A network of one layer whose only parameter is a point p = (x, y) and whose "
               "output is the height there of %s. Its backward gives the gradient; the "
               "library's optimizers then move p exactly as they move a CNN's weights.",
               surface->formula);
    if (valley)
        lesson_say("This valley curves 100 times more sharply across than along: g = (x, "
                   "100 y). Plain SGD multiplies y by 1 - 100 lr at each step, so it must "
                   "keep lr below 2/100 = 0.02 or be thrown from wall to wall ever higher; "
                   "along the floor it multiplies x by 1 - lr, a crawl at such an lr. The "
                   "first SGD step from (-4, 1) at lr 0.005: g = (-4, 100), p = (-4 + 0.02, "
                   "1 - 0.5) = (-3.98, 0.5).");
    lesson_say("Each optimizer, %d steps from (%.4g, %.4g) where f = %g, at each learning "
               "rate; the height f where it ends (lower is better; 'blew up': it ran off to "
               "infinity):",
               steps, surface->start_x, surface->start_y,
               surface->height(surface->start_x, surface->start_y));
    printf("  %-9s", "lr");
    for (int l = 0; l < NUM_LRS; l++) printf(" %9g", sweep_lrs[l]);
    printf("\n");
    for (int c = 0; c < SURFACE_CHOICES; c++) {
        printf("  %-9s", choices[c].label);
        for (int l = 0; l < NUM_LRS; l++) {
            double h = run_path(surface, &choices[c], sweep_lrs[l], steps, NULL);
            if (isinf(h))
                printf(" %9s", "blew up");
            else
                printf(" %9.1e", h);
        }
        printf("\n");
    }
    printf("\n");
    lesson_say("Read across a row: too small an lr barely moves; too large blows up or keeps "
               "bouncing; the best lies in between, and it is not the same number for "
               "different optimizers. RMSprop and Adam never blow up here: each of their "
               "steps is about lr in each coordinate, whatever the size of the gradient.");
    if (valley) {
        lesson_say("The SGD family blows up where the steep direction turns unstable, and "
                   "the limits can be worked out from the curvature 100 (for momentum mu = "
                   "0.9):\n"
                   "    SGD       lr < 2 / 100                         = 0.02\n"
                   "    momentum  lr < 2 (1 + mu) / 100                = 0.038\n"
                   "    Nesterov  lr < 2 (1 + mu) / (100 (1 + 2 mu))   = 0.0136\n"
                   "so at lr 0.03 SGD and Nesterov blow up and momentum does not. Below their "
                   "limits momentum and Nesterov get far lower than SGD: they build up speed "
                   "along the gentle floor.");
        lesson_say("RMSprop at lr 0.1 and above ends more than ten orders of magnitude "
                   "below everything else. Dividing each coordinate's step by the size of its "
                   "own gradients undoes the 100-fold difference exactly, because the valley "
                   "lies along the axes. Turn the valley by 45 degrees and it cannot: run the "
                   "lesson with --surface tilted and compare its row. Adam has the same "
                   "scaling but also momentum, which keeps it circling the minimum.");
    }

    /* the paths, each at its chart learning rate */
    double *paths = xcalloc((size_t)SURFACE_CHOICES * (steps + 1) * 2, sizeof *paths);
    for (int c = 0; c < SURFACE_CHOICES; c++)
        run_path(surface, &choices[c], surface->chart_lr[c], steps,
                 paths + (size_t)c * (steps + 1) * 2);
    char path_file[256], contour_file[256], png_path[256];
    lesson_out_path(lesson, "paths.dat", path_file, sizeof path_file);
    lesson_out_path(lesson, "contours.dat", contour_file, sizeof contour_file);
    FILE *f = fopen(path_file, "w");
    FILE *g = fopen(contour_file, "w");
    if (!f || !g) {
        perror(!f ? path_file : contour_file);
        exit(1);
    }
    fprintf(f, "# step");
    for (int c = 0; c < SURFACE_CHOICES; c++)
        fprintf(f, " %s_x %s_y", choices[c].label, choices[c].label);
    fprintf(f, "\n");
    for (int t = 0; t <= steps; t++) {
        fprintf(f, "%d", t);
        for (int c = 0; c < SURFACE_CHOICES; c++) {
            const double *p = paths + ((size_t)c * (steps + 1) + t) * 2;
            fprintf(f, " %.6g %.6g", p[0], p[1]);
        }
        fprintf(f, "\n");
    }
    fprintf(g, "# x y: contour lines of %s, one per block\n", surface->formula);
    write_contours(g, surface);
    fclose(f);
    fclose(g);

    char titles[SURFACE_CHOICES][48];
    char chart_title[128];
    snprintf(chart_title, sizeof chart_title, "%d steps on %s", steps, surface->formula);
    ChartSpec spec = {.title = chart_title,
                      .xlabel = "x",
                      .ylabel = "y",
                      .header_lines = 1,
                      .x_column = 2,
                      .num_series = 1 + SURFACE_CHOICES,
                      .xmin = surface->xmin,
                      .xmax = surface->xmax,
                      .ymin = surface->ymin,
                      .ymax = surface->ymax,
                      .key = "outside right top",
                      .large = 1};
    spec.y_columns[0] = 2;
    spec.style[0] = (ChartSeriesStyle){.background = 1, .data = contour_file, .x_column = 1};
    for (int c = 0; c < SURFACE_CHOICES; c++) {
        snprintf(titles[c], sizeof titles[c], "%s, lr %g", choices[c].label,
                 surface->chart_lr[c]);
        spec.series_titles[1 + c] = titles[c];
        spec.y_columns[1 + c] = 3 + 2 * c;
        /* SGD keeps a mark at every step, so its crawl along the floor shows
         * under the paths drawn after it */
        spec.style[1 + c] = (ChartSeriesStyle){.x_column = 2 + 2 * c,
                                               .no_points = c > 0 && steps > 60};
    }
    Error err;
    lesson_out_path(lesson, "paths.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, path_file, &spec, &err), png_path,
                      "each optimizer's path over the contour lines", &err);
    printf("\n");
    printf("  %-9s %7s %22s %12s\n", "", "lr", "where it ends", "f there");
    for (int c = 0; c < SURFACE_CHOICES; c++) {
        const double *end = paths + ((size_t)c * (steps + 1) + steps) * 2;
        printf("  %-9s %7g   (%8.4f, %8.4f) %12.3e\n", choices[c].label, surface->chart_lr[c],
               end[0], end[1], surface->height(end[0], end[1]));
    }
    printf("\n");
    if (valley)
        lesson_say("The chart draws each path at the learning rate above. SGD at 0.018, "
                   "just below its limit, zigzags across the valley (each step flips y and "
                   "shrinks it: 1 - 100 * 0.018 = -0.8) while it crawls along the floor "
                   "(a dot per step), "
                   "where x shrinks by 1 - 0.018 per step: after 100 steps x = -4 * 0.982^100 "
                   "= -0.65, far from the minimum. Momentum swings from wall to wall for a long "
                   "time (its velocity keeps 0.9 of every swing) but rushes along the floor, "
                   "overshoots the minimum and comes back, like a ball in a bowl; Nesterov "
                   "swings far less, because it "
                   "corrects with the gradient where it is heading. RMSprop and Adam first "
                   "head diagonally (equal steps in x and y, whatever the gradient's "
                   "direction), then run along the floor.");
    else
        lesson_say("The chart draws each path at the learning rate above. Compare the shapes "
                   "with the valley's (run the lesson without --surface).");
    free(paths);
}

/* ---- the same network, six optimizers ------------------------------------- */

/* Lesson 9's batchnorm CNN, without its dropout: it learns within an epoch,
 * so two epochs show each optimizer's whole descent. --plain takes lesson
 * 9's plain CNN instead, which sits near ln 7 for an epoch or more. */
static const char batchnorm_arch[] =
    "conv 16 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, "
    "conv 32 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, "
    "fc 128 nobias, batchnorm, relu, fc 7";
static const char plain_arch[] =
    "conv 16 3x3 pad 1, relu, maxpool 2, conv 32 3x3 pad 1, relu, maxpool 2, fc 128, relu, fc 7";
static const char *network_arch = batchnorm_arch;

typedef struct {
    double *loss;        /* (steps,) each step's mini-batch loss, before its update */
    double val_accuracy; /* after the last epoch */
    double val_loss;
    double seconds;
    double lr;
} Training;

static void train_with(const Lesson *lesson, const Choice *c, int epochs, const Dataset *train,
                       const Dataset *val, Training *out)
{
    Error err;
    Network *net = arch_build_text(network_arch, "lesson 10's network", 1, IMAGE_SIDE,
                                   IMAGE_SIDE, NUM_CLASSES, &err);
    if (!net) {
        fprintf(stderr, "lesson10: %s\n", err.msg);
        exit(1);
    }
    Rng rng;
    rng_seed(&rng, lesson->seed);
    network_init(net, &rng);
    OptimizerSettings defaults;
    optimizer_defaults(c->name, &defaults);
    out->lr = defaults.lr;
    Optimizer *opt = create_choice(net, c, defaults.lr, defaults.weight_decay);
    LrSchedule schedule;
    lr_schedule_init(&schedule, SCHEDULE_COSINE, defaults.lr, epochs, 0, 0.5, 1);
    Loader loader;
    loader_init(&loader, train, 64,
                (LoaderOptions){.shuffle = 1, .augment = 1, .seed = lesson->seed});
    const int per_epoch = loader_batches_per_epoch(&loader);
    out->loss = xcalloc((size_t)epochs * per_epoch, sizeof *out->loss);
    Tensor *x = tensor_new4(64, 1, IMAGE_SIDE, IMAGE_SIDE);
    int labels[64], step = 0, n;
    double start = lesson_seconds();
    network_set_mode(net, LAYER_TRAIN);
    for (int epoch = 0; epoch < epochs; epoch++) {
        opt->lr = lr_schedule_lr(&schedule, epoch);
        loader_begin_epoch(&loader, epoch);
        while ((n = loader_next(&loader, x, labels)) > 0) {
            double loss = network_loss(net, x, labels);
            out->loss[step++] = loss;
            if (!isfinite(loss)) { /* the curve ends here */
                for (; step < epochs * per_epoch; step++) out->loss[step] = NAN;
                epoch = epochs;
                break;
            }
            network_loss_backward(net, labels, NULL);
            optimizer_step(opt, net);
        }
    }
    out->val_loss = evaluate(net, val, 256, &out->val_accuracy);
    out->seconds = lesson_seconds() - start;
    tensor_free(x);
    loader_free(&loader);
    optimizer_free(opt);
    network_free(net);
}

/* Mean of loss[from..to). */
static double mean_of(const double *loss, int from, int to)
{
    double sum = 0;
    for (int i = from; i < to; i++) sum += loss[i];
    return sum / (to - from);
}

static void section_network(Lesson *lesson, int epochs, const Dataset *train, const Dataset *val)
{
    lesson_section(lesson, "The same CNN, six optimizers");
    lesson_say("%s", network_arch == batchnorm_arch
                         ? "Lesson 9's batchnorm CNN without its dropout:"
                         : "Lesson 9's plain CNN (--plain):");
    printf("    %s\n\n", network_arch);
    lesson_say("on %d faces, flipped and shifted, batch 64, %d epoch%s. All six start from "
               "the same weights and see the same batches; each runs at the library's default "
               "learning rate (plain SGD at momentum 0, its one difference from 'momentum'), "
               "weight decay 5e-4, the rate falling along a cosine from epoch to epoch.",
               train->count, epochs, epochs == 1 ? "" : "s");
    Training runs[NUM_CHOICES];
    const int steps = epochs * ((train->count + 63) / 64);
    const int head = steps < 10 ? steps : 10, first_epoch = (train->count + 63) / 64;
    printf("  %-9s %6s %12s %12s %12s %9s %8s %8s\n", "optimizer", "lr", "steps 1-10",
           "epoch 1", "last 10", "val loss", "val acc", "seconds");
    for (int c = 0; c < NUM_CHOICES; c++) {
        train_with(lesson, &choices[c], epochs, train, val, &runs[c]);
        printf("  %-9s %6g %12.4f %12.4f %12.4f %9.4f %7.1f%% %8.1f\n", choices[c].label,
               runs[c].lr, mean_of(runs[c].loss, 0, head),
               mean_of(runs[c].loss, 0, first_epoch), mean_of(runs[c].loss, steps - head, steps),
               runs[c].val_loss, 100 * runs[c].val_accuracy, runs[c].seconds);
        fflush(stdout);
    }
    printf("  (loss columns: the mean mini-batch loss over those steps, each measured before\n"
           "   its step's update; validation in evaluation mode after the last epoch)\n\n");

    /* per-step losses, smoothed over 10 steps for the chart */
    const int window = steps >= 40 ? 10 : 1;
    char data_path[256], png_path[256];
    lesson_out_path(lesson, "loss.dat", data_path, sizeof data_path);
    FILE *f = fopen(data_path, "w");
    if (!f) {
        perror(data_path);
        exit(1);
    }
    fprintf(f, "# step, then per optimizer the mean mini-batch loss of the last %d steps:",
            window);
    for (int c = 0; c < NUM_CHOICES; c++) fprintf(f, " %s", choices[c].label);
    fprintf(f, "\n");
    double *smooth[NUM_CHOICES];
    for (int c = 0; c < NUM_CHOICES; c++) smooth[c] = xcalloc((size_t)steps, sizeof(double));
    for (int t = 0; t < steps; t++) {
        fprintf(f, "%d", t + 1);
        for (int c = 0; c < NUM_CHOICES; c++) {
            int from = t + 1 >= window ? t + 1 - window : 0;
            smooth[c][t] = mean_of(runs[c].loss, from, t + 1);
            fprintf(f, " %.6f", smooth[c][t]);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    char titles[NUM_CHOICES][48], ylabel[64];
    snprintf(ylabel, sizeof ylabel, "mini-batch loss, mean of the last %d steps", window);
    ChartSpec spec = {.title = "The same CNN, six optimizers: training loss",
                      .xlabel = "step (mini-batch of 64)",
                      .ylabel = ylabel,
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = NUM_CHOICES,
                      .log_y = 1,
                      .large = 1};
    for (int c = 0; c < NUM_CHOICES; c++) {
        snprintf(titles[c], sizeof titles[c], "%s, lr %g", choices[c].label, runs[c].lr);
        spec.series_titles[c] = titles[c];
        spec.y_columns[c] = 2 + c;
        /* AdamW runs close to Adam: dashed, so both show */
        spec.style[c] = (ChartSeriesStyle){.no_points = 1, .dashed = c == NUM_CHOICES - 1};
    }
    Error err;
    lesson_out_path(lesson, "loss.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &spec, &err), png_path,
                      "training loss per step, all six optimizers", &err);
    if (lesson->terminal) {
        const double *series[NUM_CHOICES];
        const char *names[NUM_CHOICES];
        for (int c = 0; c < NUM_CHOICES; c++) {
            series[c] = smooth[c];
            names[c] = choices[c].label;
        }
        printf("\n");
        text_chart_lines(stdout, "training loss per step (smoothed)", series, names,
                         NUM_CHOICES, steps, 64, 14);
    }
    printf("\n");

    int fastest = 0, slowest = 0, best_val = 0;
    for (int c = 1; c < NUM_CHOICES; c++) {
        double e = mean_of(runs[c].loss, 0, first_epoch);
        if (e < mean_of(runs[fastest].loss, 0, first_epoch)) fastest = c;
        if (e > mean_of(runs[slowest].loss, 0, first_epoch)) slowest = c;
        if (runs[c].val_loss < runs[best_val].val_loss) best_val = c;
    }
    lesson_say("Over the first epoch %s descends fastest (mean loss %.3f) and %s slowest "
               "(%.3f); after the last, %s has the lowest validation loss (%.3f). At the same "
               "lr, momentum and Nesterov move up to ten times as far per step as plain SGD.",
               choices[fastest].label, mean_of(runs[fastest].loss, 0, first_epoch),
               choices[slowest].label, mean_of(runs[slowest].loss, 0, first_epoch),
               choices[best_val].label, runs[best_val].val_loss);
    const double rmsprop_start = mean_of(runs[3].loss, 0, head);
    lesson_say("RMSprop has no bias correction: its first average is s = 0.01 g^2, so its "
               "first step is lr g / sqrt(0.01 g^2) = 10 lr = 0.01 for every weight, whatever "
               "its gradient, a jolt to all of them at once. %s",
               rmsprop_start > 1.5 * mean_of(runs[4].loss, 0, head)
                   ? "Here it throws the loss far up in the first steps (the spike at the left "
                     "of the chart) before RMSprop recovers."
                   : "Here the batchnorms absorb it: a layer after a batchnorm sees inputs of "
                     "the same scale however far the weights below it moved. Without them "
                     "(--plain) the jolt throws the loss far up in the first steps.");
    const int close = fabs(runs[4].val_loss - runs[5].val_loss) < 0.1 * runs[4].val_loss;
    lesson_say("AdamW differs from Adam only in where the weight decay goes; at 5e-4 it "
               "shrinks each weight by lr * wd = 5e-7 per step, next to nothing, so %s "
               "(PyTorch's default for AdamW is 0.01; try it). Which "
               "optimizer wins a short run depends on its learning rate as much as on its "
               "rule, as the sweep on the surface showed; over long trainings well-tuned SGD "
               "with momentum often generalises as well as Adam or better, and the strongest "
               "published FER2013 network was trained with SGD and Nesterov momentum.",
               close ? "their curves stay close"
                     : "they start alike; but training amplifies tiny differences, and by the "
                       "end they have drifted apart");
    for (int c = 0; c < NUM_CHOICES; c++) {
        free(runs[c].loss);
        free(smooth[c]);
    }
}

int main(int argc, char **argv)
{
    int epochs = 0, steps = 0, plain = 0;
    enum { NUM_SURFACES = sizeof surfaces / sizeof surfaces[0] };
    const char *surface_name = "valley", *surface_names[NUM_SURFACES + 1] = {0};
    for (int i = 0; i < NUM_SURFACES; i++) surface_names[i] = surfaces[i].name;
    const LessonOption options[] = {
        {.name = "--epochs", .kind = LESSON_OPTION_INT, .value = &epochs,
         .min = 1, .max = 1000,
         .metavar = "N", .help = "epochs of each CNN training (default 2; 1 with --quick)"},
        {.name = "--steps", .kind = LESSON_OPTION_INT, .value = &steps,
         .min = 1, .max = 10000,
         .metavar = "N", .help = "steps on the surface (default 100)"},
        {.name = "--surface", .kind = LESSON_OPTION_STRING, .value = &surface_name,
         .choices = surface_names, .metavar = "NAME", .help = "the surface (default valley)"},
        {.name = "--plain", .kind = LESSON_OPTION_FLAG, .value = &plain,
         .help = "train lesson 9's plain CNN instead of its batchnorm CNN"},
    };
    Lesson lesson;
    lesson_begin(&lesson, 10, "Optimizers",
                 "SGD, momentum, Nesterov, RMSprop, Adam and AdamW: their update rules, Adam's "
                 "bias correction worked by hand, their paths on a two-variable surface and "
                 "what the learning rate does to each, and the same CNN trained by all six. "
                 "Under a minute on two cores.",
                 argc, argv, options, 4);
    if (epochs == 0) epochs = lesson.quick ? 1 : 2;
    if (plain) network_arch = plain_arch;
    if (steps == 0) steps = 100;
    const Surface *surface = &surfaces[0]; /* the parser took only these names */
    for (int i = 0; i < NUM_SURFACES; i++)
        if (!strcmp(surface_name, surfaces[i].name)) surface = &surfaces[i];
    Dataset train, val;
    lesson_load_split(&lesson, "train", 192, &train);
    lesson_load_split(&lesson, "val", 128, &val);

    section_rules(&lesson);
    section_bias_correction(&lesson);
    section_surface(&lesson, surface, steps);
    section_network(&lesson, epochs, &train, &val);

    const char *tries[] = {
        "The valley turned by 45 degrees: ./build/lessons/lesson10 --surface tilted. What "
        "happens to RMSprop's row of the sweep, and why?",
        "A curved valley: ./build/lessons/lesson10 --surface banana --steps 300. Which "
        "optimizer follows the curved floor?",
        "Without batchnorm: ./build/lessons/lesson10 --plain --epochs 3. Look at RMSprop's "
        "first steps and at how long each optimizer stays near ln 7.",
        "Adam at a larger learning rate on the faces: ./emotion train --optimizer adam --lr "
        "0.01 --epochs 3. Does it still beat --lr 0.001?",
        "AdamW with a real weight decay: ./emotion train --optimizer adamw --weight-decay "
        "0.05, against --optimizer adam --weight-decay 0.05 (coupled: divided by sqrt(v)).",
        "Nesterov with a schedule, the recipe of the strongest FER2013 networks: ./emotion "
        "train --optimizer nesterov --lr 0.01 --schedule cosine --epochs 20.",
        "RMSprop without a long memory: ./emotion train --optimizer rmsprop --alpha 0.9. "
        "What does a shorter average of g^2 change?",
        "In optim/adaptive.c, multiply by the bias corrections instead of dividing, rebuild "
        "and run this lesson: which column of the table in section 2 changes, and which "
        "test of make check fails?",
        "Write Adam's step yourself: adam_step in exercises/optim.c; make grade "
        "EX=adam_step knows the bias-correction mistakes.",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));
    dataset_free(&train);
    dataset_free(&val);
    return lesson_end(&lesson);
}
