/* Lesson 5: fully connected and softmax.
 *
 * The simplest classifier that can learn: one fully connected layer from
 * the 2,304 pixels to 7 scores, then softmax cross-entropy. It has one
 * 48x48 "template" per class; the score of a class is how well the face
 * matches its template. The lesson shows why softmax is computed in its
 * log-sum-exp form (the textbook formula overflows at scores of 1000),
 * derives dscores = (p - onehot(y)) / N, shows the loss it must start at
 * (ln 7), checks the gradients of both pieces, trains it with mini-batch SGD and
 * measures its accuracy: the baseline the CNN of lessons 6-8 must beat.
 *
 * Built with the double library (the gradient check needs it). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classes.h"
#include "fc.h"
#include "lesson_common.h"
#include "metrics.h"
#include "network.h"
#include "sgd.h"
#include "softmax_xent.h"

/* How a trained-so-far model does on one split. */
typedef struct {
    double loss;     /* mean cross-entropy */
    double accuracy; /* fraction of argmax(scores) == label */
} SplitScore;

/* The training curve, one entry per epoch (entry 0: before training). */
typedef struct {
    int length;
    double *train_loss, *val_loss, *train_accuracy, *val_accuracy;
} Curve;

/* A network with a single fc layer 2304 -> 7, its weights drawn from
 * N(0, weight_std^2) and its biases 0. */
static Network *linear_classifier(double weight_std, Rng *rng)
{
    Error err;
    Network *net = network_new(1, IMAGE_SIDE, IMAGE_SIDE);
    if (network_add(net, fc_create(IMAGE_PIXELS, NUM_CLASSES, &err), "fc", &err) != 0) {
        fprintf(stderr, "lesson5: %s\n", err.msg);
        exit(1);
    }
    FcLayer *fc = (FcLayer *)net->layers[0];
    for (size_t i = 0; i < fc->w->size; i++) fc->w->data[i] = (real)(weight_std * rng_normal(rng));
    tensor_zero(fc->b);
    return net;
}

/* The mean training face (IMAGE_PIXELS,), in the loader's pixel / 255 units. */
static real *mean_image(const Dataset *train)
{
    real *mean = xcalloc(IMAGE_PIXELS, sizeof *mean);
    for (int i = 0; i < train->count; i++)
        for (int p = 0; p < IMAGE_PIXELS; p++)
            mean[p] += (real)train->images[(size_t)i * IMAGE_PIXELS + p];
    for (int p = 0; p < IMAGE_PIXELS; p++) mean[p] /= (real)(255.0 * train->count);
    return mean;
}

/* x (n, 1, 48, 48) -= mean (48*48,) for every image. */
static void subtract_mean(Tensor *x, const real *mean)
{
    for (int n = 0; n < x->dim[0]; n++)
        for (int p = 0; p < IMAGE_PIXELS; p++) x->data[(size_t)n * IMAGE_PIXELS + p] -= mean[p];
}

/* Mean loss and accuracy of net over a whole split of centred faces, in
 * order, never augmented; predictions (data->count,) receives each image's
 * predicted class when not NULL. */
static SplitScore evaluate_split(Network *net, const Dataset *data, const real *mean,
                                 int batch_size, int *predictions)
{
    Loader loader;
    loader_init(&loader, data, batch_size, (LoaderOptions){.shuffle = 0, .augment = 0, .seed = 0});
    Tensor *x = tensor_new4(batch_size, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)batch_size * sizeof *labels);
    double loss_sum = 0;
    long correct = 0;
    int n;
    while ((n = loader_next(&loader, x, labels)) > 0) {
        subtract_mean(x, mean);
        loss_sum += network_loss(net, x, labels) * n;
        const int *indices = loader_batch_indices(&loader);
        for (int i = 0; i < n; i++) {
            int predicted = argmax(net->probs->data + (size_t)i * NUM_CLASSES, NUM_CLASSES);
            correct += predicted == labels[i];
            if (predictions) predictions[indices[i]] = predicted;
        }
    }
    free(labels);
    tensor_free(x);
    loader_free(&loader);
    SplitScore score = {loss_sum / data->count, (double)correct / data->count};
    return score;
}

/* One pass over the training split in shuffled mini-batches. These four
 * lines per batch are all of training: forward to the loss, backward to
 * every gradient, one small step against the gradient. (train_epoch() in
 * src/train.h, used from lesson 7 on, is the same loop with reporting.) */
static void train_one_epoch(Network *net, Optimizer *sgd, Loader *loader, int epoch,
                            const real *mean, Tensor *x, int *labels)
{
    loader_begin_epoch(loader, epoch);
    while (loader_next(loader, x, labels) > 0) {
        subtract_mean(x, mean);
        network_loss(net, x, labels);
        network_loss_backward(net, labels, NULL);
        optimizer_step(sgd, net);
    }
}

static void record(Curve *curve, int epoch, SplitScore train, SplitScore val)
{
    curve->train_loss[epoch] = train.loss;
    curve->val_loss[epoch] = val.loss;
    curve->train_accuracy[epoch] = train.accuracy;
    curve->val_accuracy[epoch] = val.accuracy;
}

/* Writes "epoch train_loss val_loss train_acc val_acc baseline" lines for
 * gnuplot; baseline is the accuracy of always answering the most common
 * class, the same every epoch (a level line on the chart). */
static void write_curve(const Curve *curve, double baseline, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "# epoch train_loss val_loss train_accuracy val_accuracy always_most_common\n");
    for (int e = 0; e < curve->length; e++)
        fprintf(f, "%d %.6f %.6f %.6f %.6f %.6f\n", e, curve->train_loss[e], curve->val_loss[e],
                curve->train_accuracy[e], curve->val_accuracy[e], baseline);
    fclose(f);
}

static void section_model(Lesson *lesson, const Dataset *train)
{
    lesson_section(lesson, "The model: one fully connected layer");
    lesson_say("Each face is %d x %d = %d grey levels, scaled to [0, 1]. The fully connected "
               "layer flattens it into a row of D = %d numbers and multiplies it by a weight "
               "matrix w of shape (D, K) = (%d, %d), then adds a bias b of shape (%d,):",
               IMAGE_SIDE, IMAGE_SIDE, IMAGE_PIXELS, IMAGE_PIXELS, IMAGE_PIXELS, NUM_CLASSES,
               NUM_CLASSES);
    lesson_say("    scores = x w + b        x (N, %d), w (%d, %d), b (%d,), scores (N, %d)",
               IMAGE_PIXELS, IMAGE_PIXELS, NUM_CLASSES, NUM_CLASSES, NUM_CLASSES);
    lesson_say("Column k of w is one 48x48 picture: a template for class k. The score of "
               "class k is the dot product of the face with that template plus b[k]. "
               "Softmax turns the 7 scores into probabilities, p_k = exp(s_k) / sum_j exp(s_j), "
               "and the cross-entropy loss of a face with true class y is -log p_y: 0 when "
               "the model is sure and right, large when it is sure and wrong.");
    lesson_say("Backward, for a batch of N faces (dscores is (N, %d)):\n"
               "    dscores = (p - onehot(y)) / N     softmax cross-entropy\n"
               "    dw = x^T dscores                  (%d, %d)\n"
               "    db = sum over the batch of dscores (%d,)\n"
               "    dx = dscores w^T                  (N, %d), unused here: x is the data",
               NUM_CLASSES, IMAGE_PIXELS, NUM_CLASSES, NUM_CLASSES, IMAGE_PIXELS);
    lesson_say("Parameters: %d x %d weights + %d biases = %d. Training images: %d.",
               IMAGE_PIXELS, NUM_CLASSES, NUM_CLASSES, IMAGE_PIXELS * NUM_CLASSES + NUM_CLASSES,
               train->count);
}

/* ---- softmax computed safely, and its gradient derived ------------------ */

/* A number as C computed it, with inf and NaN spelled the same on every C
 * library (glibc prints the NaN of inf / inf as "-nan"). */
static const char *number_text(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, len, "%.4f", v);
    return buf;
}

/* One line of the table: how p and the loss of true class 0 came out. */
static void print_softmax_row(const char *how, const double *p, int K, double loss)
{
    char text[32], row[160] = "";
    for (int k = 0; k < K; k++) {
        size_t at = strlen(row);
        snprintf(row + at, sizeof row - at, "%s%s", k ? ", " : "(", number_text(p[k], text, sizeof text));
    }
    strncat(row, ")", sizeof row - strlen(row) - 1);
    printf("    %-24s p = %-28s loss = %s\n", how, row, number_text(loss, text, sizeof text));
}

/* The textbook formula p_k = exp(s_k) / sum_j exp(s_j), in float. */
static void naive_softmax_float(const double *s, int K, double *p, double *loss)
{
    float e[8], sum = 0;
    for (int k = 0; k < K; k++) sum += e[k] = expf((float)s[k]);
    for (int k = 0; k < K; k++) p[k] = e[k] / sum;
    *loss = -logf((float)p[0]);
}

/* The same in double. */
static void naive_softmax_double(const double *s, int K, double *p, double *loss)
{
    double e[8], sum = 0;
    for (int k = 0; k < K; k++) sum += e[k] = exp(s[k]);
    for (int k = 0; k < K; k++) p[k] = e[k] / sum;
    *loss = -log(p[0]);
}

/* The library's softmax_xent_forward (the log-sum-exp form), true class 0. */
static void library_softmax(const double *s, int K, double *p, double *loss)
{
    Tensor *scores = tensor_new2(1, K), *probs = tensor_new2(1, K);
    for (int k = 0; k < K; k++) scores->data[k] = (real)s[k];
    const int label = 0;
    *loss = softmax_xent_forward(scores, &label, probs);
    for (int k = 0; k < K; k++) p[k] = probs->data[k];
    tensor_free(probs);
    tensor_free(scores);
}

static void section_log_sum_exp(Lesson *lesson)
{
    lesson_section(lesson, "Softmax without overflow: log-sum-exp");
    lesson_say("p_k = exp(s_k) / sum_j exp(s_j) is right as mathematics and fragile as "
               "arithmetic. The largest float is %.4g, so expf(s) is inf from s = %.2f on; "
               "the largest double is %.4g, so exp(s) is inf from s = %.2f on. Scores that "
               "large do occur: in float, a score of 89 is enough, and a network whose "
               "training has gone wrong (or lesson 9's batchnorm network evaluated in the "
               "wrong mode) multiplies its scores by hundreds. Then the numerator and the "
               "sum are both inf, "
               "and inf / inf is NaN: not a number, which poisons every sum it enters. "
               "Below, each set of scores computed three ways, the true class being class 0:",
               FLT_MAX, log(FLT_MAX), DBL_MAX, log(DBL_MAX));
    static const struct {
        int K;
        double s[3];
    } cases[] = {
        {3, {1000, 999, 998}},
        {3, {100, 99, 98}},
        {3, {-1000, -999, -998}},
        {2, {0, 800}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int K = cases[c].K;
        const double *s = cases[c].s;
        double p[3] = {0}, loss;
        printf("  scores (");
        for (int k = 0; k < K; k++) printf("%s%g", k ? ", " : "", s[k]);
        printf("):\n");
        naive_softmax_float(s, K, p, &loss);
        print_softmax_row("exp / sum, float", p, K, loss);
        naive_softmax_double(s, K, p, &loss);
        print_softmax_row("exp / sum, double", p, K, loss);
        library_softmax(s, K, p, &loss);
        print_softmax_row("shifted (the library)", p, K, loss);
    }
    printf("\n  in double: exp(1000) = %g, exp(-1000) = %g, exp(800) = %g, exp(-800) = %g\n\n",
           exp(1000.0), exp(-1000.0), exp(800.0), exp(-800.0));
    lesson_say("The cure is to subtract the largest score m from every score first. It "
               "changes nothing in p, since exp(s_k - m) / sum_j exp(s_j - m) = exp(s_k) "
               "e^-m / (e^-m sum_j exp(s_j)), and softmax depends only on the differences "
               "between scores: (1000, 999, 998) and (100, 99, 98) give the same p above. "
               "After the shift the largest exponent is exactly 0, so exp cannot overflow, "
               "and the sum is at least 1, so it cannot underflow to 0 either: the "
               "(-1000, -999, -998) row, where every exp is 0 and 0 / 0 is NaN, comes out "
               "right too. The loss is taken in the same form, never as -log p_y:\n"
               "    -log p_y = m + log sum_j exp(s_j - m) - s_y       (log-sum-exp)\n"
               "In the last case p_0 = exp(-800) is smaller than the smallest double and "
               "rounds to 0; -log 0 = inf, while the log-sum-exp form gives the true loss, "
               "800. This is softmax_xent_forward in layers/softmax_xent.c.");
}

/* The gradient of the mean loss of a tiny batch, derived and then measured. */
static void section_softmax_gradient(Lesson *lesson)
{
    lesson_section(lesson, "Where dscores = (p - onehot(y)) / N comes from");
    lesson_say("The loss of a batch is the mean over its N faces:\n"
               "    L = -(1/N) sum_i log p_{i,y_i}\n"
               "The scores of face i appear only in face i's term, so dL/ds_ik is -(1/N) "
               "times the derivative of log p_{i,y_i}: work on one face, drop the index i, "
               "and divide by N at the end. Write the log of the softmax out:\n"
               "    log p_y = s_y - log sum_j exp(s_j)\n"
               "Differentiate both terms with respect to one score s_k:\n"
               "    d s_y / d s_k = delta_ky          (the Kronecker delta: 1 if k = y, else 0)\n"
               "    d/ds_k log sum_j exp(s_j) = exp(s_k) / sum_j exp(s_j) = p_k\n"
               "(the chain rule: 1 / sum times d sum / d s_k, and only the j = k term of "
               "the sum depends on s_k). So d(-log p_y)/ds_k = p_k - delta_ky, one row of "
               "p - onehot(y), and with the mean:\n"
               "    dL/ds_ik = (p_ik - delta_{k,y_i}) / N");
    lesson_say("The same on numbers: two faces, three classes. The last block is the "
               "centred difference (L(s + h) - L(s - h)) / 2h of the library's mean loss, "
               "one score at a time, h = 1e-5; it agrees with the formula, which is what "
               "softmax_xent_backward computes.");
    enum { N = 2, K = 3 };
    const real s[N * K] = {2.0, 1.0, 0.1, 0.5, 2.5, -1.0};
    const int labels[N] = {0, 2};
    Tensor *scores = tensor_new2(N, K), *probs = tensor_new2(N, K), *dscores = tensor_new2(N, K);
    memcpy(scores->data, s, sizeof s);
    double loss = softmax_xent_forward(scores, labels, probs);
    softmax_xent_backward(probs, labels, dscores);
    real delta[N * K], numerical[N * K];
    const double h = 1e-5;
    for (int i = 0; i < N * K; i++) {
        delta[i] = probs->data[i] - (i % K == labels[i / K] ? 1 : 0);
        Tensor *nudged = tensor_copy(scores);
        nudged->data[i] = s[i] + h;
        double up = softmax_xent_forward(nudged, labels, probs);
        nudged->data[i] = s[i] - h;
        double down = softmax_xent_forward(nudged, labels, probs);
        numerical[i] = (real)((up - down) / (2 * h));
        tensor_free(nudged);
    }
    softmax_xent_forward(scores, labels, probs); /* probs of the unnudged scores again */
    for (int i = 0; i < N; i++)
        printf("  face %d: scores (%g, %g, %g), true class %d\n", i, s[i * K], s[i * K + 1],
               s[i * K + 2], labels[i]);
    printf("  mean loss L = %.4f\n\n", loss);
    lesson_print_matrix("p (one row per face)", probs->data, N, K, 8, 4);
    lesson_print_matrix("p - onehot(y)", delta, N, K, 8, 4);
    lesson_print_matrix("dscores = (p - onehot(y)) / N, softmax_xent_backward", dscores->data,
                        N, K, 8, 4);
    lesson_print_matrix("centred differences of L", numerical, N, K, 8, 4);
    double row_sum[N] = {0}, diff = lesson_max_abs_diff(dscores->data, numerical, N * K);
    for (int i = 0; i < N * K; i++) row_sum[i / K] += dscores->data[i];
    printf("\n  largest |dscores - centred difference| = %.1e; each row of dscores sums to "
           "%.1g and %.1g\n\n", diff, fabs(row_sum[0]), fabs(row_sum[1]));
    if (diff > 1e-8) lesson->failures++;
    lesson_say("Read the rows: the true class's score is pushed up (its entry is negative, "
               "and a step goes against the gradient), every other score is pushed down in "
               "proportion to the probability it took, and each row sums to 0 because the "
               "p_k sum to 1. Every entry lies between -1/N and 1/N whatever the scores: "
               "however wrong the network is, this gradient cannot explode, even where the "
               "loss itself is huge.");
    tensor_free(dscores);
    tensor_free(probs);
    tensor_free(scores);
}

/* The first sanity check of any classifier: with small weights every score
 * is near 0, every probability near 1/7, and the loss near ln 7. */
static void section_initial_loss(Lesson *lesson, const Dataset *train, Rng *rng)
{
    lesson_section(lesson, "The loss before training: ln 7");
    lesson_say("With tiny weights all 7 scores are close to 0, so softmax gives each class "
               "probability close to 1/7 and the loss of every face is close to "
               "-log(1/7) = ln 7. If a freshly initialised classifier starts far from that, "
               "something is wrong (too large weights, a bug in the loss) before any "
               "training has happened.");
    const int count = train->count < 256 ? train->count : 256;
    Tensor *x = tensor_new4(count, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)count * sizeof *labels);
    int *indices = xmalloc((size_t)count * sizeof *indices);
    for (int i = 0; i < count; i++) indices[i] = i;
    loader_fill_batch(train, indices, count, NULL, NULL, x, labels);

    const double stds[] = {0.001, 0.01, 0.1};
    printf("  %-22s %12s %14s\n", "weights drawn from", "mean loss", "p of 1st face");
    for (int s = 0; s < 3; s++) {
        Network *net = linear_classifier(stds[s], rng);
        double loss = network_loss(net, x, labels);
        char name[32];
        snprintf(name, sizeof name, "N(0, %g^2)", stds[s]);
        printf("  %-22s %12.4f %14.4f\n", name, loss, net->probs->data[labels[0]]);
        network_free(net);
    }
    printf("  %-22s %12.4f %14.4f\n\n", "ln 7 and 1/7", log(NUM_CLASSES), 1.0 / NUM_CLASSES);
    lesson_say("(Mean over the first %d training faces; the last column is the probability "
               "given to the true class of face 0.) With std 0.001 the loss is ln 7 to about "
               "three decimals. With std 0.1 the scores are already several units apart "
               "(each is a sum of 2,304 products), the model is confidently wrong on many "
               "faces and the loss starts well above ln 7.", count);
    free(indices);
    free(labels);
    tensor_free(x);
}

/* Side of the face patch the fc layer is checked on (see below). */
#define CHECK_PATCH 12

/* x (count, 1, CHECK_PATCH, CHECK_PATCH) = the central patch of the first
 * count faces of data, as pixel / 255. */
static Tensor *central_patches(const Dataset *data, int count)
{
    Tensor *x = tensor_new4(count, 1, CHECK_PATCH, CHECK_PATCH);
    const int top = (IMAGE_SIDE - CHECK_PATCH) / 2;
    for (int n = 0; n < count; n++) {
        const uint8_t *face = data->images + (size_t)(n % data->count) * IMAGE_PIXELS;
        for (int r = 0; r < CHECK_PATCH; r++)
            for (int c = 0; c < CHECK_PATCH; c++)
                x->data[((size_t)n * CHECK_PATCH + r) * CHECK_PATCH + c] =
                    (real)(face[(top + r) * IMAGE_SIDE + top + c] / 255.0);
    }
    return x;
}

/* Checks the fc layer on patches of two real faces, and the softmax loss
 * on the 7 scores of eight whole faces. */
static void section_gradcheck(Lesson *lesson, const Dataset *train, Rng *rng)
{
    lesson_section(lesson, "Gradient check of fc and softmax");
    lesson_say("Before trusting the gradients to train, compare each one with a centred "
               "difference (h = 1e-5, double precision), entry by entry, as in lesson 3. "
               "Softmax cross-entropy is checked on the scores of eight faces, with "
               "L = the mean loss. The fc layer is checked with a random upstream gradient "
               "dout (L = sum(out * dout)) on the central %dx%d patch of two faces, so "
               "D = %d inputs instead of %d: the code is the same for any D, but each "
               "score sums D products, and the rounding of that sum, divided by 2h, is "
               "what limits the measurement. At D = %d the smallest entries of dx are "
               "measured only to about 1e-6, a limit of the method, not a bug.",
               CHECK_PATCH, CHECK_PATCH, CHECK_PATCH * CHECK_PATCH, IMAGE_PIXELS,
               IMAGE_PIXELS);
    Error err;
    enum { FACES = 8 };
    Tensor *x = tensor_new4(FACES, 1, IMAGE_SIDE, IMAGE_SIDE);
    int labels[FACES], indices[FACES];
    for (int i = 0; i < FACES; i++) indices[i] = i % train->count;
    loader_fill_batch(train, indices, FACES, NULL, NULL, x, labels);
    Layer *classifier = fc_create(IMAGE_PIXELS, NUM_CLASSES, &err);
    FcLayer *f = (FcLayer *)classifier;
    for (size_t i = 0; i < f->w->size; i++) f->w->data[i] = (real)(0.01 * rng_normal(rng));
    Tensor *scores = tensor_new2(FACES, NUM_CLASSES);
    layer_forward(classifier, x, scores);
    lesson_print_shape("x", x, "eight faces");
    lesson_print_shape("scores", scores, "their scores, w ~ N(0, 0.01^2)");
    printf("\n");
    GradcheckRow softmax_row = gradcheck_softmax_xent(scores, labels);
    lesson->failures += lesson_print_gradcheck(&softmax_row, 1);
    printf("\n");

    Tensor *patches = central_patches(train, 2);
    Layer *fc = fc_create(CHECK_PATCH * CHECK_PATCH, NUM_CLASSES, &err);
    f = (FcLayer *)fc;
    for (size_t i = 0; i < f->w->size; i++) f->w->data[i] = (real)(0.1 * rng_normal(rng));
    for (size_t i = 0; i < f->b->size; i++) f->b->data[i] = (real)(0.1 * rng_normal(rng));
    lesson_print_shape("x", patches, "central patches of two faces");
    lesson_print_shape("w", f->w, "weights, N(0, 0.1^2)");
    printf("\n");
    lesson_gradcheck_layer(lesson, fc, patches, rng);
    printf("\n");
    lesson_say("dw = x^T dout: row d of dw is pixel d of each face times dout, summed over "
               "the batch, so a black pixel (0) gives a zero row; db sums dout over the "
               "batch; dx = dout w^T. All three match their centred differences.");
    tensor_free(patches);
    tensor_free(scores);
    tensor_free(x);
    layer_free(fc);
    layer_free(classifier);
}

/* The fraction of a split that its most common class makes up. */
static double most_common_fraction(const Dataset *data, const char **name)
{
    int counts[NUM_CLASSES];
    lesson_class_counts(data, counts);
    int most = 0;
    for (int c = 1; c < NUM_CLASSES; c++)
        if (counts[c] > counts[most]) most = c;
    *name = class_names[most];
    return data->count ? (double)counts[most] / data->count : 0;
}

static void draw_charts(Lesson *lesson, const Curve *curve, const Dataset *val)
{
    char data_path[256], png_path[256], baseline_title[64];
    Error err;
    const char *most;
    const double baseline = most_common_fraction(val, &most);
    snprintf(baseline_title, sizeof baseline_title, "always answering %s (validation)", most);
    lesson_out_path(lesson, "linear_loss.dat", data_path, sizeof data_path);
    write_curve(curve, baseline, data_path);

    ChartSpec loss = {.title = "Linear softmax classifier: loss per epoch",
                      .xlabel = "epoch (0 = before training)",
                      .ylabel = "mean cross-entropy loss",
                      .header_lines = 1,
                      .x_column = 1,
                      .num_series = 2,
                      .y_columns = {2, 3},
                      .series_titles = {"train", "validation"}};
    lesson_out_path(lesson, "linear_loss.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &loss, &err), png_path,
                      "training and validation loss", &err);

    ChartSpec accuracy = {.title = "Linear softmax classifier: accuracy per epoch",
                          .xlabel = "epoch (0 = before training)",
                          .ylabel = "accuracy",
                          .header_lines = 1,
                          .x_column = 1,
                          .num_series = 3,
                          .y_columns = {4, 5, 6},
                          .series_titles = {"train", "validation", baseline_title},
                          .style = {{0}, {.dashed = 1}, {.colour = 8, .dashed = 1, .no_points = 1}},
                          .ymin = 0,
                          .ymax = 1,
                          .x_whole = 1,
                          .large = 1};
    lesson_out_path(lesson, "linear_accuracy.png", png_path, sizeof png_path);
    lesson_chart_done(lesson, chart_lines(png_path, data_path, &accuracy, &err), png_path,
                      "training and validation accuracy", &err);

    if (lesson->terminal) {
        const double *series[] = {curve->train_loss, curve->val_loss};
        const char *names[] = {"train loss", "validation loss"};
        text_chart_lines(stdout, "loss per epoch", series, names, 2, curve->length, 60, 12);
        printf("\n");
    }
}

static void section_training(Lesson *lesson, Network *net, const Dataset *train,
                             const Dataset *val, const real *mean, int centred, int epochs,
                             int batch_size, double lr, Curve *curve)
{
    lesson_section(lesson, "Training with mini-batch SGD");
    if (centred)
        lesson_say("First the faces are centred: the mean training face is subtracted from "
                   "every face (train, validation and test alike), so each pixel varies "
                   "around 0. Raw pixels are all positive; then every weight of a template "
                   "gets a gradient of the same sign from a face, the templates can only move "
                   "in lock-step, and SGD zig-zags for dozens of epochs (try --no-centre).");
    else
        lesson_say("This run trains on the raw pixels (--no-centre): nothing is subtracted, "
                   "so every pixel is positive. Every weight of a template then gets a "
                   "gradient of the same sign from a face, the templates can only move in "
                   "lock-step, and SGD zig-zags: compare the curves with a run without "
                   "--no-centre, where the mean training face is subtracted first.");
    lesson_say("Each step takes a mini-batch of %d shuffled training faces, computes the "
               "loss (forward), every gradient (backward), and moves each parameter a "
               "little against its gradient: w -= lr * v, where v = momentum * v + dw "
               "(lr %g, momentum 0.9). One epoch is one pass over the %d training faces, "
               "%d steps. After each epoch the loss and accuracy are measured on the "
               "training split and on the validation split, which the model never trains on.",
               batch_size, lr, train->count, (train->count + batch_size - 1) / batch_size);

    Optimizer *sgd = sgd_create(net, (SgdConfig){.lr = lr, .momentum = 0.9, .weight_decay = 0});
    Loader loader;
    loader_init(&loader, train, batch_size,
                (LoaderOptions){.shuffle = 1, .augment = 0, .seed = lesson->seed});
    Tensor *x = tensor_new4(batch_size, 1, IMAGE_SIDE, IMAGE_SIDE);
    int *labels = xmalloc((size_t)batch_size * sizeof *labels);

    double start = lesson_seconds();
    printf("  %5s %11s %11s %10s %10s\n", "epoch", "train loss", "val loss", "train acc",
           "val acc");
    for (int epoch = 0; epoch <= epochs; epoch++) {
        if (epoch > 0) train_one_epoch(net, sgd, &loader, epoch - 1, mean, x, labels);
        SplitScore t = evaluate_split(net, train, mean, 256, NULL);
        SplitScore v = evaluate_split(net, val, mean, 256, NULL);
        if (!isfinite(t.loss)) {
            fprintf(stderr, "lesson5: the loss became %g in epoch %d: the steps are too "
                    "large, try a smaller --lr\n", t.loss, epoch);
            exit(1);
        }
        record(curve, epoch, t, v);
        printf("  %5d %11.4f %11.4f %9.1f%% %9.1f%%\n", epoch, t.loss, v.loss,
               100 * t.accuracy, 100 * v.accuracy);
    }
    printf("  (%d epochs in %.1f s)\n\n", epochs, lesson_seconds() - start);
    if (centred)
        lesson_say("Epoch 0 is the untrained model: loss ln 7, and an accuracy near what "
                   "guessing gives. The training loss keeps falling; the validation loss "
                   "falls less and flattens: from there on the model learns its own training "
                   "faces rather than what faces of a class share.");
    else
        lesson_say("Epoch 0 is the untrained model: loss ln 7, and an accuracy near what "
                   "guessing gives. On raw pixels the losses do not fall steadily: they jump "
                   "up and down from epoch to epoch, the zig-zag described above, and end "
                   "well above those of the centred run.");

    free(labels);
    tensor_free(x);
    loader_free(&loader);
    optimizer_free(sgd);
}

/* Column k of w, drawn as a 48x48 picture: what class k's score looks for. */
static void draw_templates(Lesson *lesson, Network *net, int centred)
{
    FcLayer *fc = (FcLayer *)net->layers[0];
    uint8_t *images = xmalloc((size_t)NUM_CLASSES * IMAGE_PIXELS);
    real *column = xmalloc(IMAGE_PIXELS * sizeof *column);
    for (int k = 0; k < NUM_CLASSES; k++) {
        for (int p = 0; p < IMAGE_PIXELS; p++)
            column[p] = fc->w->data[(size_t)p * NUM_CLASSES + k];
        lesson_map_to_grey(column, IMAGE_PIXELS, 1, images + (size_t)k * IMAGE_PIXELS);
    }
    char png_path[256];
    Error err;
    lesson_out_path(lesson, "templates.png", png_path, sizeof png_path);
    int status = chart_images(png_path, "The 7 learned templates (columns of w): white +, black -",
                              images, NUM_CLASSES, IMAGE_SIDE, IMAGE_SIDE, NUM_CLASSES,
                              class_names, &err);
    lesson_chart_done(lesson, status, png_path, "each class's template", &err);
    printf("\n");
    lesson_say("Each template is a picture of weights: white pixels raise the class's score "
               "%s, black ones lower it. Blurry mouths and eyebrows appear in the places "
               "where faces of that class usually have them; faces that put them elsewhere "
               "are missed.",
               centred ? "when the face is brighter than the mean face there"
                       : "the more, the brighter the face is there (raw pixels: no mean face "
                         "is subtracted)");
    free(column);
    free(images);
}

/* Test accuracy against the simplest baseline, always answering the most
 * common class, and per-class recall. */
static void section_test(Lesson *lesson, Network *net, const Dataset *test, const real *mean)
{
    lesson_section(lesson, "Test accuracy: the baseline to beat");
    int *predictions = xmalloc((size_t)test->count * sizeof *predictions);
    SplitScore score = evaluate_split(net, test, mean, 256, predictions);
    int counts[NUM_CLASSES];
    lesson_class_counts(test, counts);
    int most = 0;
    for (int c = 1; c < NUM_CLASSES; c++)
        if (counts[c] > counts[most]) most = c;
    double chance = (double)counts[most] / test->count;

    printf("  always answering %-9s %5.1f%% of the %d test faces\n", class_names[most],
           100 * chance, test->count);
    printf("  linear softmax classifier %5.1f%%   (test loss %.4f)\n\n", 100 * score.accuracy,
           score.loss);
    ClassMetrics m;
    metrics_compute(test->labels, predictions, test->count, NUM_CLASSES, &m);
    metrics_print_report(stdout, &m, class_names);
    printf("\n");
    lesson_say("A template per class can only say how much a face looks like an average "
               "face of that class, pixel by pixel. The same smile a few pixels to the left "
               "matches a different part of the template; the classifier cannot build the "
               "idea \"a curved mouth, wherever it is\". On the built-in synthetic faces "
               "(designed for this) a linear model scores about 43%%, a small CNN about "
               "90%%: the CNN of lessons 6 and 7 must beat %.1f%%. Look at the rare class "
               "(Disgust): with few examples, its template barely gets trained.",
               100 * score.accuracy);
    metrics_free(&m);
    free(predictions);
}

int main(int argc, char **argv)
{
    int epochs = 0, batch_size = 64; /* epochs 0: 20, or 2 with --quick */
    double lr = 0.01;
    int no_centre = 0;
    const LessonOption options[] = {
        {.name = "--epochs", .kind = LESSON_OPTION_INT, .value = &epochs,
         .min = 1, .max = 1000,
         .metavar = "N", .help = "training epochs (default 20; 2 with --quick)"},
        {.name = "--batch", .kind = LESSON_OPTION_INT, .value = &batch_size,
         .min = 1, .max = 4096,
         .metavar = "N", .help = "mini-batch size (default 64)"},
        {.name = "--lr", .kind = LESSON_OPTION_DOUBLE, .value = &lr,
         .min = 0, .max = 10, .open = ARG_MIN_OPEN,
         .metavar = "RATE", .help = "learning rate (default 0.01)"},
        {.name = "--no-centre", .kind = LESSON_OPTION_FLAG, .value = &no_centre,
         .help = "train on the raw pixels, without subtracting the mean face"},
    };
    Lesson lesson;
    lesson_begin(&lesson, 5, "Fully connected and softmax",
                 "A linear softmax classifier on the faces: one fully connected layer from "
                 "the 2,304 pixels to 7 scores, softmax cross-entropy on top. Its starting "
                 "loss, its gradient check, its training curve and its accuracy, which is "
                 "the baseline the CNN must beat.",
                 argc, argv, options, 4);
    if (epochs == 0) epochs = lesson.quick ? 2 : 20;

    Rng rng;
    rng_seed(&rng, lesson.seed);
    Dataset train, val, test;
    lesson_load_split(&lesson, "train", 0, &train);
    lesson_load_split(&lesson, "val", 0, &val);
    lesson_load_split(&lesson, "test", 0, &test);

    section_model(&lesson, &train);
    section_log_sum_exp(&lesson);
    section_softmax_gradient(&lesson);
    section_initial_loss(&lesson, &train, &rng);
    section_gradcheck(&lesson, &train, &rng);

    Curve curve = {.length = epochs + 1};
    curve.train_loss = xcalloc((size_t)curve.length, sizeof(double));
    curve.val_loss = xcalloc((size_t)curve.length, sizeof(double));
    curve.train_accuracy = xcalloc((size_t)curve.length, sizeof(double));
    curve.val_accuracy = xcalloc((size_t)curve.length, sizeof(double));
    Network *net = linear_classifier(0.001, &rng);
    real *mean = mean_image(&train);
    if (no_centre) memset(mean, 0, IMAGE_PIXELS * sizeof *mean);
    section_training(&lesson, net, &train, &val, mean, !no_centre, epochs, batch_size, lr,
                     &curve);
    draw_charts(&lesson, &curve, &val);
    draw_templates(&lesson, net, !no_centre);
    section_test(&lesson, net, &test, mean);

    const char *tries[] = {
        "Train longer: ./build/lessons/lesson5 --epochs 40. Does validation accuracy keep "
        "up with training accuracy?",
        "Change the step size: --lr 0.001 (slow, smooth) and --lr 0.1 (fast, noisy or "
        "diverging). Watch the loss curve in out/lesson5/linear_loss.png.",
        "Start from large weights: in section 4, std 0.1 starts far above ln 7. Why does "
        "a bad start cost training time?",
        "Run it on FER2013: make lesson5 DATA=data/fer2013.npz. How far do seven "
        "templates get on real faces, against 25% for always answering Happy?",
        "Write the fc layer and the softmax loss yourself: exercises/fc.c and "
        "exercises/softmax.c; make grade EX=fc,softmax grades them (scores near 1000 "
        "included).",
        "Next, lesson 6 puts convolutions in front of the fc layer.",
    };
    lesson_try_next(&lesson, tries, (int)(sizeof tries / sizeof tries[0]));

    free(mean);
    network_free(net);
    free(curve.train_loss);
    free(curve.val_loss);
    free(curve.train_accuracy);
    free(curve.val_accuracy);
    dataset_free(&train);
    dataset_free(&val);
    dataset_free(&test);
    return lesson_end(&lesson);
}
