/* Evaluation: the metrics on hand-computed cases, checkpoints that round
 * trip or are refused by name, and the network on numpy's weights giving
 * numpy's probabilities.
 *
 * The checkpoint fixtures in tests/fixtures/checkpoints/ come from
 * make_checkpoints.py beside them (numpy 1.24): a tiny emotion CNN (conv1
 * 2 filters, conv2 3, hidden 4), broken copies of it, ten images and the
 * probabilities numpy's own forward pass gives on them. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arch.h"
#include "checkpoint.h"
#include "classes.h"
#include "loader.h"
#include "metrics.h"
#include "npz.h"
#include "testutil.h"

#define FIXTURES "tests/fixtures/checkpoints/"
#define EXACT 1e-12

/* --- metrics ------------------------------------------------------------ */

/* Three classes, ten images:
 *   labels       0 0 0 0 1 1 1 2 2 2
 *   predictions  0 0 1 2 1 1 0 2 2 1
 * Confusion (rows true, columns predicted):
 *        p0 p1 p2   support
 *   t0 [  2  1  1 ]  4
 *   t1 [  1  2  0 ]  3
 *   t2 [  0  1  2 ]  3
 *   predicted: 3  4  3
 * accuracy = (2 + 2 + 2) / 10 = 0.6
 * class 0: P = 2/3, R = 2/4, F1 = 2*2/(2*2 + 1 + 2) = 4/7
 * class 1: P = 2/4, R = 2/3, F1 = 4/(4 + 2 + 1)     = 4/7
 * class 2: P = 2/3, R = 2/3, F1 = 4/(4 + 1 + 1)     = 2/3
 * macro-F1 = (4/7 + 4/7 + 2/3) / 3 = 38/63
 * (F1 = 2PR/(P+R): class 0, 2*(1/3)/(7/6) = 4/7, the same; and the same as
 * sklearn's f1_score(labels, predictions, average=None / "macro").) */
static const int hand_labels[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
static const int hand_predictions[10] = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};

START_TEST(metrics_match_a_hand_computed_case)
{
    ClassMetrics m;
    metrics_compute(hand_labels, hand_predictions, 10, 3, &m);
    const long confusion[3][3] = {{2, 1, 1}, {1, 2, 0}, {0, 1, 2}};
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++) ck_assert_int_eq(m.confusion[t][p], confusion[t][p]);
    ck_assert_int_eq(m.total, 10);
    ck_assert_int_eq(m.correct, 6);
    ck_assert_double_eq_tol(m.accuracy, 0.6, EXACT);
    const double precision[3] = {2.0 / 3, 2.0 / 4, 2.0 / 3}, recall[3] = {2.0 / 4, 2.0 / 3, 2.0 / 3};
    const double f1[3] = {4.0 / 7, 4.0 / 7, 2.0 / 3};
    const long support[3] = {4, 3, 3};
    for (int c = 0; c < 3; c++) {
        ck_assert_double_eq_tol(m.precision[c], precision[c], EXACT);
        ck_assert_double_eq_tol(m.recall[c], recall[c], EXACT);
        ck_assert_double_eq_tol(m.f1[c], f1[c], EXACT);
        ck_assert_int_eq(m.support[c], support[c]);
    }
    ck_assert_double_eq_tol(m.macro_f1, 38.0 / 63, EXACT);
    ck_assert_int_eq(m.classes_in_macro, 3);
    metrics_free(&m);
}
END_TEST

/* The 0/0 cases, four classes:
 *   labels       0 0 2 2
 *   predictions  0 1 0 0
 * class 0: TP 1, predicted 3, support 2: P = 1/3, R = 1/2, F1 = 2/(2+2+1) = 2/5
 * class 1: predicted once, no images:    P = 0/1 = 0, R = 0/0 -> 0, F1 0
 * class 2: two images, never predicted:  P = 0/0 -> 0, R = 0/2 = 0, F1 0
 * class 3: in neither: left out of macro-F1 (as sklearn's default labels)
 * macro-F1 = (2/5 + 0 + 0) / 3 = 2/15; accuracy 1/4. */
START_TEST(metrics_follow_sklearns_zero_division_convention)
{
    const int labels[4] = {0, 0, 2, 2}, predictions[4] = {0, 1, 0, 0};
    ClassMetrics m;
    metrics_compute(labels, predictions, 4, 4, &m);
    ck_assert_double_eq_tol(m.accuracy, 0.25, EXACT);
    ck_assert_double_eq_tol(m.precision[0], 1.0 / 3, EXACT);
    ck_assert_double_eq_tol(m.recall[0], 0.5, EXACT);
    ck_assert_double_eq_tol(m.f1[0], 0.4, EXACT);
    for (int c = 1; c < 4; c++) {
        ck_assert_double_eq(m.precision[c], 0);
        ck_assert_double_eq(m.recall[c], 0);
        ck_assert_double_eq(m.f1[c], 0);
    }
    ck_assert_int_eq(m.classes_in_macro, 3);
    ck_assert_double_eq_tol(m.macro_f1, 2.0 / 15, EXACT);
    metrics_free(&m);
}
END_TEST

START_TEST(an_empty_set_scores_zero_without_dividing_by_zero)
{
    ClassMetrics m;
    metrics_compute(NULL, NULL, 0, NUM_CLASSES, &m);
    ck_assert_double_eq(m.accuracy, 0);
    ck_assert_double_eq(m.macro_f1, 0);
    ck_assert_int_eq(m.classes_in_macro, 0);
    metrics_free(&m);
}

/* More classes than a struct of fixed arrays held (100): every count kept. */
START_TEST(metrics_hold_a_thousand_classes)
{
    enum { K = 1000, N = 3000 };
    int *labels = xmalloc(N * sizeof *labels), *predictions = xmalloc(N * sizeof *predictions);
    for (int i = 0; i < N; i++) {
        labels[i] = i % K;
        predictions[i] = i < 2 * K ? i % K : (i + 1) % K; /* the last K images one class off */
    }
    ClassMetrics m;
    metrics_compute(labels, predictions, N, K, &m);
    ck_assert_int_eq(m.correct, 2 * K);
    ck_assert_int_eq(m.confusion[K - 1][0], 1);
    ck_assert_int_eq(m.confusion[K - 1][K - 1], 2);
    ck_assert_int_eq(m.support[K - 1], 3);
    ck_assert_double_eq_tol(m.recall[K - 1], 2.0 / 3, EXACT);
    ck_assert_double_eq_tol(m.accuracy, 2.0 / 3, EXACT);
    metrics_free(&m);
    free(labels);
    free(predictions);
}
END_TEST

START_TEST(argmax_takes_the_first_of_equal_scores)
{
    const real scores[5] = {0.1f, 0.4f, 0.2f, 0.4f, 0.3f};
    ck_assert_int_eq(argmax(scores, 5), 1);
    ck_assert_int_eq(argmax(scores, 1), 0);
}
END_TEST

/* The report and the matrix as a reader sees them, with class names. */
START_TEST(the_report_names_classes_and_shows_the_figures)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    ClassMetrics m;
    metrics_compute(hand_labels, hand_predictions, 10, 3, &m);
    const char *const names[3] = {"Angry", "Disgust", "Fear"};
    metrics_print_report(out, &m, names);
    metrics_print_confusion(out, &m, names);
    fclose(out);
    ck_assert_msg(strstr(text, "accuracy  0.6000  (6 of 10 correct)"), "%s", text);
    ck_assert_msg(strstr(text, "macro-F1  0.6032"), "%s", text);  /* 38/63 */
    ck_assert_msg(strstr(text, "Angry       0.6667  0.5000  0.5714        4"), "%s", text);
    ck_assert_msg(strstr(text, "Disgust     0.5000  0.6667  0.5714        3"), "%s", text);
    ck_assert_msg(strstr(text, "true\\pred   Angry Disgust    Fear"), "%s", text);
    ck_assert_msg(strstr(text, "Angry           2       1       1"), "%s", text);
    free(text);
    metrics_free(&m);
}
END_TEST

/* --- checkpoints ---------------------------------------------------------- */

/* A fresh folder for one test's files: scratch_open makes it, scratch_file
 * names a file in it, scratch_close removes the files named and then the
 * folder (and fails the test if anything else was left in it). */
typedef struct {
    char dir[32];
    char files[2][64];
    int count;
} Scratch;

static void scratch_open(Scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/test_eval.XXXXXX");
    s->count = 0;
    ck_assert(mkdtemp(s->dir) != NULL);
}

static const char *scratch_file(Scratch *s, const char *name)
{
    ck_assert_int_lt(s->count, 2);
    char dir[sizeof s->dir];
    memcpy(dir, s->dir, sizeof dir);
    char *path = s->files[s->count++];
    snprintf(path, sizeof s->files[0], "%s/%s", dir, name);
    return path;
}

static void scratch_close(Scratch *s)
{
    for (int i = 0; i < s->count; i++) unlink(s->files[i]);
    ck_assert_msg(rmdir(s->dir) == 0, "%s: something else was left in it", s->dir);
}

/* A random tiny network whose weights are float32 values, so that even
 * the double build's weights survive a float32 file exactly. */
static Network *random_tiny_network(uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    Network *net = seed_cnn(IMAGE_SIDE, 2, 3, 4, NUM_CLASSES);
    network_init(net, &rng);
    for (int i = 0; i < network_num_params(net); i++) {
        Tensor *value = network_param(net, i, NULL, 0)->value;
        for (size_t k = 0; k < value->size; k++)
            value->data[k] = (real)(float)(value->data[k] + 0.01 * rng_normal(&rng)); /* biases too */
    }
    return net;
}

START_TEST(a_saved_checkpoint_loads_the_same_weights_and_forward)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    Error err;
    Network *saved = random_tiny_network(11);
    ck_assert_msg(checkpoint_save(path, saved, NULL, &err) == 0, "%s", err.msg);
    CheckpointInfo info;
    Network *loaded = checkpoint_load(path, &info, &err);
    ck_assert_msg(loaded != NULL, "%s", err.msg);
    ck_assert(info.described);
    ck_assert_str_eq(loaded->description, saved->description);
    ck_assert_int_eq(info.channels, 1);
    ck_assert_int_eq(info.height, IMAGE_SIDE);
    ck_assert_int_eq(info.width, IMAGE_SIDE);
    ck_assert_int_eq(info.classes, NUM_CLASSES);
    ck_assert_str_eq(info.class_names[1], "Disgust");
    checkpoint_info_free(&info);
    ck_assert_int_eq(network_num_params(loaded), 8);
    for (int i = 0; i < 8; i++) {
        char saved_name[32], loaded_name[32];
        const Tensor *a = network_param(saved, i, saved_name, sizeof saved_name)->value;
        const Tensor *b = network_param(loaded, i, loaded_name, sizeof loaded_name)->value;
        ck_assert_str_eq(saved_name, loaded_name);
        ck_assert(tensor_same_shape(a, b));
        ck_assert_msg(!memcmp(a->data, b->data, a->size * sizeof(real)), "%s differs", saved_name);
    }

    Rng rng;
    rng_seed(&rng, 5);
    Tensor *x = tensor_new4(3, 1, IMAGE_SIDE, IMAGE_SIDE);
    for (size_t k = 0; k < x->size; k++) x->data[k] = (real)rng_uniform(&rng);
    Tensor *scores = tensor_copy(network_forward(saved, x));
    const Tensor *again = network_forward(loaded, x);
    ck_assert(tensor_same_shape(scores, again));
    ck_assert(!memcmp(scores->data, again->data, scores->size * sizeof(real)));

    tensor_free(scores);
    tensor_free(x);
    network_free(saved);
    network_free(loaded);
    scratch_close(&scratch);
}
END_TEST

/* Each broken fixture is refused, naming the array and what is wrong. */
START_TEST(bad_checkpoints_are_refused_naming_the_array)
{
    static const struct {
        const char *file, *message;
    } cases[] = {
        {"missing_fc2_b.npz", "array 'fc2.b' is missing"},
        {"wrong_shape_fc2_w.npz", "array 'fc2.w' has shape (4, 6), but the description needs (4, 7)"},
        {"wrong_ndim_conv1_b.npz", "array 'conv1.b' has shape (2, 1), but the description needs (2,)"},
        {"inconsistent_conv2_w.npz", "array 'conv2.w' has shape (3, 5, 3, 3), but the description needs (3, 2, 3, 3)"},
        {"not_an_npz.npz", "not_an_npz.npz: not an .npz archive"},
        {"no_such_file.npz", "no_such_file.npz: cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, FIXTURES "%s", cases[i].file);
        Error err = {{0}};
        ck_assert_ptr_null(checkpoint_load(path, NULL, &err));
        ck_assert_msg(strstr(err.msg, cases[i].message), "%s: got '%s'", cases[i].file, err.msg);
        ck_assert_msg(strstr(err.msg, path), "%s: the message should name the file", err.msg);
    }
}
END_TEST

/* A file whose description asks for more weights than its arrays hold is
 * refused before those weights are allocated: 'fc 14000' on 48x48 faces is a
 * legal layer (32 million weights, 129 MB as floats, twice that with their
 * gradients), but this file holds 14,000 numbers, so it cannot be its. */
START_TEST(a_description_larger_than_its_file_is_refused_before_allocating)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "hostile.npz");
    Error err;
    NpzWriter *w = npz_writer_open(path, 0, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    const char *arch = "fc 14000\nrelu\nfc 7\n";
    const int64_t arch_shape[1] = {(int64_t)strlen(arch)}, input_shape[1] = {3};
    const int64_t input[3] = {1, IMAGE_SIDE, IMAGE_SIDE}, bias_shape[1] = {14000};
    float *bias = calloc(14000, sizeof *bias);
    ck_assert(npz_writer_add(w, "arch", NPY_UINT8, 1, arch_shape, arch, &err) == 0);
    ck_assert(npz_writer_add(w, "input_shape", NPY_INT64, 1, input_shape, input, &err) == 0);
    ck_assert(npz_writer_add(w, "fc1.b", NPY_FLOAT32, 1, bias_shape, bias, &err) == 0);
    ck_assert_msg(npz_writer_close(w, &err) == 0, "%s", err.msg);
    free(bias);

    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    ck_assert_ptr_null(checkpoint_load(path, NULL, &err));
    getrusage(RUSAGE_SELF, &after);
    ck_assert_msg(strstr(err.msg, "'arch' line 1: 'fc 14000' meets 2304 values: 32256000 "
                                  "weights, and the network 32256000 in all, more than the "
                                  "14000 values the file holds"), "got '%s'", err.msg);
    /* ru_maxrss is in kilobytes: the refusal took less than the weights' 129 MB */
    ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 64 * 1024, "peak grew by %ld kB",
                  after.ru_maxrss - before.ru_maxrss);
    scratch_close(&scratch);
}
END_TEST

/* A change to one member of a checkpoint: writes its own version of a
 * (whose name it keeps) to w. */
typedef void (*MemberChange)(NpzWriter *w, NpyArray *a, const void *how);

/* Copies the checkpoint at from to to, member by member, the member named
 * `changed` (NULL: none; it must be in the file) written by change(how)
 * instead, and then, if extra is not NULL, an extra float32 (2,) member of
 * that name. */
static void rewrite_checkpoint(const char *from, const char *to, const char *changed,
                               MemberChange change, const void *how, const char *extra)
{
    Error err;
    NpzFile npz;
    ck_assert_msg(npz_read(from, &npz, &err) == 0, "%s", err.msg);
    NpzWriter *w = npz_writer_open(to, 0, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    int found = 0;
    for (int m = 0; m < npz.count; m++) {
        NpyArray *a = &npz.arrays[m];
        if (changed && !strcmp(a->name, changed)) {
            found = 1;
            change(w, a, how);
        } else {
            ck_assert_msg(npz_writer_add_array(w, a, &err) == 0, "%s", err.msg);
        }
    }
    ck_assert_msg(!changed || found, "%s has no member '%s'", from, changed);
    if (extra) {
        const float two[2] = {1, 2};
        const int64_t shape[1] = {2};
        ck_assert_msg(npz_writer_add(w, extra, NPY_FLOAT32, 1, shape, two, &err) == 0, "%s", err.msg);
    }
    ck_assert_msg(npz_writer_close(w, &err) == 0, "%s", err.msg);
    npz_free(&npz);
}

static void add_member(NpzWriter *w, const char *name, NpyDtype dtype, int ndim,
                       const int64_t *shape, const void *data)
{
    Error err;
    ck_assert_msg(npz_writer_add(w, name, dtype, ndim, shape, data, &err) == 0, "%s", err.msg);
}

typedef struct {
    size_t index;
    double value;
    int widen;
} Poison;

static void poison_entry(NpzWriter *w, NpyArray *a, const void *how)
{
    const Poison *p = how;
    if (!p->widen) {
        ((float *)a->data)[p->index] = (float)p->value;
        add_member(w, a->name, a->dtype, a->ndim, a->shape, a->data);
        return;
    }
    double *values = malloc(a->count * sizeof *values);
    npy_to_float64(a, values);
    values[p->index] = p->value;
    add_member(w, a->name, NPY_FLOAT64, a->ndim, a->shape, values);
    free(values);
}

/* Copies the checkpoint at from to to with one change: entry `index` of
 * float32 member `poison` set to value (poison may be NULL), the member
 * stored as float64 (numpy's default type) if widen, and an extra float32
 * (2,) member `extra` (may be NULL). */
static void copy_checkpoint(const char *from, const char *to, const char *poison, size_t index,
                            double value, int widen, const char *extra)
{
    const Poison how = {index, value, widen};
    rewrite_checkpoint(from, to, poison, poison_entry, &how, extra);
}

START_TEST(checkpoints_carry_their_description_and_refuse_what_does_not_fit_it)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    const char *other = scratch_file(&scratch, "other.npz");
    Error err;
    /* a strided 5x5 convolution and an average pool on 28x28 images, 5 classes */
    Network *saved = arch_build_text("conv 6 5x5 stride 2 pad 2, relu, avgpool 2, fc 5", "--arch",
                                     1, 28, 28, 5, &err);
    ck_assert_msg(saved != NULL, "%s", err.msg);
    Rng rng;
    rng_seed(&rng, 3);
    network_init(saved, &rng);
    const char *const names[5] = {"zero", "one", "two", "three", "four"};
    ck_assert_msg(checkpoint_save(path, saved, names, &err) == 0, "%s", err.msg);

    /* the members, as numpy would see them */
    NpzFile npz;
    ck_assert_msg(npz_read(path, &npz, &err) == 0, "%s", err.msg);
    const NpyArray *arch = npz_find(&npz, "arch");
    ck_assert_ptr_nonnull(arch);
    ck_assert_int_eq(arch->dtype, NPY_UINT8);
    const char *want = "conv 6 5x5 stride 2 pad 2\nrelu\navgpool 2x2 stride 2\nfc 5\n";
    ck_assert_uint_eq(arch->count, strlen(want));
    ck_assert(!memcmp(arch->data, want, strlen(want)));
    const NpyArray *shape = npz_find(&npz, "input_shape");
    ck_assert_ptr_nonnull(shape);
    ck_assert_int_eq(shape->dtype, NPY_INT64);
    ck_assert_int_eq(((int64_t *)shape->data)[1], 28);
    const NpyArray *class_text = npz_find(&npz, "class_names");
    ck_assert_ptr_nonnull(class_text);
    ck_assert(!memcmp(class_text->data, "zero\none\ntwo\nthree\nfour\n", class_text->count));
    ck_assert_ptr_nonnull(npz_find(&npz, "conv1.w"));
    ck_assert_ptr_nonnull(npz_find(&npz, "fc1.b"));
    npz_free(&npz);

    /* rebuilt without being told the model */
    CheckpointInfo info;
    Network *loaded = checkpoint_load(path, &info, &err);
    ck_assert_msg(loaded != NULL, "%s", err.msg);
    ck_assert_str_eq(loaded->description, want);
    ck_assert_int_eq(info.height, 28);
    ck_assert_int_eq(info.classes, 5);
    ck_assert_str_eq(info.class_names[3], "three");
    checkpoint_info_free(&info);
    network_free(loaded);

    /* a NaN weight: refused at load, naming the array and the index */
    copy_checkpoint(path, other, "fc1.w", 17, NAN, 0, NULL);
    ck_assert_ptr_null(checkpoint_load(other, NULL, &err));
    ck_assert_msg(strstr(err.msg, "array 'fc1.w' holds nan at index 17"), "%s", err.msg);
    copy_checkpoint(path, other, "fc1.b", 4, INFINITY, 0, NULL);
    ck_assert_ptr_null(checkpoint_load(other, NULL, &err));
    ck_assert_msg(strstr(err.msg, "array 'fc1.b' holds inf at index 4"), "%s", err.msg);
    /* an array the description does not have */
    copy_checkpoint(path, other, NULL, 0, 0, 0, "fc2.w");
    ck_assert_ptr_null(checkpoint_load(other, NULL, &err));
    ck_assert_msg(strstr(err.msg, "array 'fc2.w' is not a parameter of the network"), "%s", err.msg);

    /* a non-finite network is never saved: the earlier file stays as it was */
    saved->layers[3]->params[0].value->data[2] = (real)NAN;
    ck_assert_int_eq(checkpoint_save(path, saved, names, &err), -1);
    ck_assert_msg(strstr(err.msg, "fc1.w[2] is nan"), "%s", err.msg);
    loaded = checkpoint_load(path, NULL, &err);
    ck_assert_msg(loaded != NULL, "%s", err.msg);
    network_free(loaded);

    network_free(saved);
    scratch_close(&scratch);
}
END_TEST

/* A float64 weight that is finite but beyond a float's range becomes
 * infinite in the float build: refused there like an infinite one (found
 * by fuzz/fuzz_checkpoint.c; the loader checked the value before
 * converting it). The double build holds it. */
START_TEST(a_weight_beyond_the_range_of_real_is_refused)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    const char *other = scratch_file(&scratch, "other.npz");
    Error err;
    Network *saved = arch_build_text("fc 3", "--arch", 1, 2, 2, 3, &err);
    ck_assert_msg(saved != NULL, "%s", err.msg);
    ck_assert_msg(checkpoint_save(path, saved, NULL, &err) == 0, "%s", err.msg);

    /* 1e30 fits a float: loads in both builds */
    copy_checkpoint(path, other, "fc1.b", 1, 1e30, 1, NULL);
    Network *loaded = checkpoint_load(other, NULL, &err);
    ck_assert_msg(loaded != NULL, "%s", err.msg);
    network_free(loaded);

    copy_checkpoint(path, other, "fc1.b", 1, 1e300, 1, NULL);
    loaded = checkpoint_load(other, NULL, &err);
    if (sizeof(real) == sizeof(float)) {
        ck_assert_ptr_null(loaded);
        ck_assert_msg(strstr(err.msg, "array 'fc1.b' holds 1e+300 at index 1, which is infinite "
                                      "as a float: a checkpoint's weights must be finite"),
                      "%s", err.msg);
    } else {
        ck_assert_msg(loaded != NULL, "%s", err.msg);
        ck_assert_double_eq(loaded->layers[0]->params[1].value->data[1], 1e300);
        network_free(loaded);
    }
    network_free(saved);
    scratch_close(&scratch);
}
END_TEST

/* The member as dtype, its elements the whole numbers 0, 1, 0, 1, ...
 * (what astype(np.int8) makes of small weights, near enough). */
static void cast_member(NpzWriter *w, NpyArray *a, const void *how)
{
    const NpyDtype dtype = *(const NpyDtype *)how;
    unsigned char *data = calloc(a->count ? a->count : 1, npy_dtype_size(dtype));
    for (size_t k = 1; k < a->count; k += 2) {
        switch (dtype) {
        case NPY_BOOL: case NPY_INT8: case NPY_UINT8: ((uint8_t *)data)[k] = 1; break;
        case NPY_INT16: case NPY_UINT16: ((uint16_t *)data)[k] = 1; break;
        case NPY_FLOAT16: ((uint16_t *)data)[k] = 0x3C00; break; /* 1.0 */
        case NPY_INT32: case NPY_UINT32: ((uint32_t *)data)[k] = 1; break;
        case NPY_FLOAT32: ((float *)data)[k] = 1; break;
        case NPY_INT64: case NPY_UINT64: ((uint64_t *)data)[k] = 1; break;
        case NPY_FLOAT64: ((double *)data)[k] = 1; break;
        default: ck_abort_msg("no whole numbers in %s", npy_dtype_name(dtype));
        }
    }
    add_member(w, a->name, dtype, a->ndim, a->shape, data);
    free(data);
}

/* Copies the checkpoint at from to to, with member `cast` stored as dtype
 * (cast_member) and, if extra is not NULL, an extra float32 (2,) member of
 * that name. */
static void copy_with_dtype(const char *from, const char *to, const char *cast, NpyDtype dtype,
                            const char *extra)
{
    rewrite_checkpoint(from, to, cast, cast_member, &dtype, extra);
}

/* A checkpoint's weights and batchnorm statistics are float32 or float64:
 * an array of integers, bools or halves (a cast gone wrong, or the wrong
 * member) used to be converted without a word, and a network of 0s and 1s
 * evaluated. It is refused, naming the file, the array and its dtype; by
 * train --resume's loader too. */
START_TEST(weights_that_are_not_float32_or_float64_are_refused_naming_the_dtype)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    const char *other = scratch_file(&scratch, "other.npz");
    Error err;
    Network *saved = arch_build_text("conv 2 3x3 pad 1, batchnorm, relu, fc 3", "--arch", 1, 4, 4,
                                     3, &err);
    ck_assert_msg(saved != NULL, "%s", err.msg);
    ck_assert_msg(checkpoint_save(path, saved, NULL, &err) == 0, "%s", err.msg);
    network_free(saved);

    static const NpyDtype refused[] = {NPY_BOOL,   NPY_INT8,   NPY_UINT8,  NPY_INT16,
                                       NPY_UINT16, NPY_INT32,  NPY_UINT32, NPY_INT64,
                                       NPY_UINT64, NPY_FLOAT16};
    /* a weight, a bias, a batchnorm scale and both running statistics */
    static const char *const members[] = {"conv1.w", "fc1.b", "bn1.gamma", "bn1.running_mean",
                                          "bn1.running_var"};
    for (size_t m = 0; m < sizeof members / sizeof members[0]; m++)
        for (size_t d = 0; d < sizeof refused / sizeof refused[0]; d++) {
            copy_with_dtype(path, other, members[m], refused[d], NULL);
            ck_assert_ptr_null(checkpoint_load(other, NULL, &err));
            char want[160];
            snprintf(want, sizeof want, "%s: array '%s' is %s, but a checkpoint's weights must "
                                        "be float32 or float64", other, members[m],
                     npy_dtype_name(refused[d]));
            ck_assert_msg(!strcmp(err.msg, want), "got '%s', want '%s'", err.msg, want);
        }
    /* the resume loader, which takes the run's own members besides */
    copy_with_dtype(path, other, "fc1.w", NPY_INT32, "resume.counters");
    NpzFile extra;
    ck_assert_ptr_null(checkpoint_load_extra(other, NULL, "resume.", &extra, &err));
    ck_assert_msg(strstr(err.msg, "array 'fc1.w' is int32, but a checkpoint's weights must be "
                                  "float32 or float64"), "%s", err.msg);
    /* float32, as written, and float64 (numpy's default) load */
    copy_with_dtype(path, other, "fc1.w", NPY_FLOAT32, NULL);
    Network *loaded = checkpoint_load(other, NULL, &err);
    ck_assert_msg(loaded != NULL, "%s", err.msg);
    network_free(loaded);
    copy_with_dtype(path, other, "bn1.running_var", NPY_FLOAT64, NULL);
    loaded = checkpoint_load(other, NULL, &err);
    ck_assert_msg(loaded != NULL, "%s", err.msg);
    network_free(loaded);
    scratch_close(&scratch);
}
END_TEST

/* numpy made these from good.npz and bn_weights.npz
 * (make_dtype_checkpoints.py): the same refusal for files numpy wrote, an
 * old checkpoint without a description among them. */
START_TEST(numpy_checkpoints_with_integer_weights_are_refused)
{
    static const struct {
        const char *file, *message;
    } cases[] = {
        {"int8_conv1_w.npz", "array 'conv1.w' is int8, but a checkpoint's weights must be "
                             "float32 or float64"},
        {"bool_fc2_b.npz", "array 'fc2.b' is bool, but a checkpoint's weights must be float32 "
                           "or float64"},
        {"int32_bn1_running_var.npz", "array 'bn1.running_var' is int32, but a checkpoint's "
                                      "weights must be float32 or float64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, FIXTURES "%s", cases[i].file);
        Error err = {{0}};
        ck_assert_ptr_null(checkpoint_load(path, NULL, &err));
        ck_assert_msg(!strncmp(err.msg, path, strlen(path)) && strstr(err.msg, cases[i].message),
                      "%s: got '%s'", cases[i].file, err.msg);
    }
}
END_TEST

static void names_member(NpzWriter *w, NpyArray *a, const void *how)
{
    const int64_t length = (int64_t)strlen(how);
    add_member(w, a->name, NPY_UINT8, 1, &length, how);
}

/* Copies the checkpoint at from to to, with its class_names member holding
 * `names` (bytes, as numpy's np.frombuffer(b"...", np.uint8) would). */
static void copy_with_class_names(const char *from, const char *to, const char *names)
{
    rewrite_checkpoint(from, to, "class_names", names_member, names, NULL);
}

/* A small described network with three classes, saved to path. */
static void save_three_class_checkpoint(const char *path)
{
    Error err;
    Network *net = arch_build_text("fc 4, relu, fc 3", "--arch", 1, 2, 2, 3, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_msg(checkpoint_save(path, net, NULL, &err) == 0, "%s", err.msg);
    network_free(net);
}

/* The class names the checkpoint at path gives, joined by '|'. */
static const char *loaded_names(const char *path)
{
    static char joined[256];
    Error err;
    CheckpointInfo info;
    Network *net = checkpoint_load(path, &info, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    joined[0] = '\0';
    for (int k = 0; k < info.classes; k++) {
        if (k) strcat(joined, "|");
        strcat(joined, info.class_names[k]);
    }
    checkpoint_info_free(&info);
    network_free(net);
    return joined;
}

/* class_names is one name per line, read as the dataset loader reads it:
 * the last line needs no newline, and Windows' "\r\n" ends a line too
 * (a checkpoint used to count '\n' and lose a last name without one, and
 * refused '\r' as a control character). */
START_TEST(checkpoint_class_names_read_like_a_datasets)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    const char *other = scratch_file(&scratch, "other.npz");
    save_three_class_checkpoint(path);
    copy_with_class_names(path, other, "cat\ndog\nbird\n");
    ck_assert_str_eq(loaded_names(other), "cat|dog|bird");
    copy_with_class_names(path, other, "cat\ndog\nbird");
    ck_assert_str_eq(loaded_names(other), "cat|dog|bird");
    copy_with_class_names(path, other, "cat\r\ndog\r\nbird\r\n");
    ck_assert_str_eq(loaded_names(other), "cat|dog|bird");
    copy_with_class_names(path, other, "cat\r\ndog\r\nbird");
    ck_assert_str_eq(loaded_names(other), "cat|dog|bird");
    scratch_close(&scratch);
}
END_TEST

/* The checkpoint at from, copied to `to` with class_names `names`, is
 * refused with a message holding `want` (and `also`, if not NULL). */
static void assert_names_refused(const char *from, const char *to, const char *names,
                                 const char *want, const char *also)
{
    Error err;
    copy_with_class_names(from, to, names);
    ck_assert_ptr_null(checkpoint_load(to, NULL, &err));
    ck_assert_msg(strstr(err.msg, want) && (!also || strstr(err.msg, also)), "%s", err.msg);
}

/* Names that do not fit the network are the names' fault, and said so;
 * names that hide what they say, or repeat, are refused like a dataset's. */
START_TEST(checkpoint_class_names_that_do_not_fit_are_blamed)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    const char *other = scratch_file(&scratch, "other.npz");
    save_three_class_checkpoint(path);
    assert_names_refused(path, other, "cat\ndog\n",
                         "other.npz: 'class_names' holds 2 names, but its network gives 3 scores "
                         "per image ('arch' line 3: 'fc 3'); a checkpoint needs one class name "
                         "per score", NULL);
    assert_names_refused(path, other, "cat\ndog\nbird\nfish\n",
                         "'class_names' holds 4 names, but its network gives 3", NULL);
    /* U+202E (right-to-left override) would print "bird" backwards, and
     * the rest of the table's line after it */
    assert_names_refused(path, other, "cat\ndog\nbi\xE2\x80\xAErd\n", "class name 2", "U+202E");
    /* U+200B (zero-width space): "cat" and "ca<U+200B>t" would print alike */
    assert_names_refused(path, other, "cat\nca\xE2\x80\x8Bt\nbird\n", "class name 1", "U+200B");
    assert_names_refused(path, other, "cat\ndog\ncat\n", "class names 0 and 2 are both 'cat'",
                         NULL);
    scratch_close(&scratch);
}
END_TEST

/* A training run's resume.npz holds the network and the run's state: not a
 * model to evaluate, and said so (not "array 'resume.args' is not a
 * parameter"). */
START_TEST(a_resume_file_is_named_as_one)
{
    Scratch scratch;
    scratch_open(&scratch);
    const char *path = scratch_file(&scratch, "model.npz");
    const char *other = scratch_file(&scratch, "resume.npz");
    save_three_class_checkpoint(path);
    copy_checkpoint(path, other, NULL, 0, 0, 0, "resume.counters");
    Error err;
    ck_assert_ptr_null(checkpoint_load(other, NULL, &err));
    ck_assert_msg(strstr(err.msg, "resume.npz is a training run's resume file") &&
                  strstr(err.msg, "'emotion train --resume'") &&
                  strstr(err.msg, "give the run's model.npz or best.npz"), "%s", err.msg);
    /* what train --resume reads it with takes it */
    NpzFile extra;
    Network *net = checkpoint_load_extra(other, NULL, "resume.", &extra, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(npz_find(&extra, "resume.counters"));
    npz_free(&extra);
    network_free(net);
    scratch_close(&scratch);
}
END_TEST

/* A checkpoint from before descriptions (good.npz: eight arrays) loads as
 * the seed's network with the widths its shapes give. */
START_TEST(an_old_checkpoint_loads_as_the_seed_network)
{
    Error err;
    CheckpointInfo info;
    Network *net = checkpoint_load(FIXTURES "good.npz", &info, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(info.described, 0);
    ck_assert_int_eq(info.channels, 1);
    ck_assert_int_eq(info.height, 48);
    ck_assert_int_eq(info.classes, 7);
    ck_assert_str_eq(info.class_names[6], "Neutral");
    ck_assert_str_eq(net->description, "conv 2 3x3 stride 1 pad 1\nrelu\nmaxpool 2x2 stride 2\n"
                                       "conv 3 3x3 stride 1 pad 1\nrelu\nmaxpool 2x2 stride 2\n"
                                       "fc 4\nrelu\nfc 7\n");
    checkpoint_info_free(&info);
    network_free(net);
}
END_TEST

/* good.npz's weights on tiny_dataset's ten images give the probabilities
 * numpy computed with its own convolution, pooling and softmax
 * (make_checkpoints.py: forward_probs). */
START_TEST(numpy_weights_give_numpys_probabilities)
{
    Error err;
    Network *net = checkpoint_load(FIXTURES "good.npz", NULL, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    Dataset data;
    ck_assert_msg(dataset_load(FIXTURES "tiny_dataset.npz", "test", &data, &err) == 0, "%s", err.msg);
    NpzFile reference;
    ck_assert_msg(npz_read(FIXTURES "reference.npz", &reference, &err) == 0, "%s", err.msg);
    const NpyArray *want = npz_find(&reference, "probs");
    ck_assert_ptr_nonnull(want);
    ck_assert_int_eq(want->count, (size_t)data.count * NUM_CLASSES);

    int indices[10], labels[10];
    for (int i = 0; i < data.count; i++) indices[i] = i;
    Tensor *x = tensor_new4(1, 1, 1, 1);
    loader_fill_batch(&data, indices, data.count, NULL, NULL, x, labels);
    network_loss(net, x, labels);
    /* float: weights and activations rounded to float; double: only the
     * file's float32 weights, computed in double as numpy does */
#ifdef REAL_IS_DOUBLE
    const double tolerance = 1e-12;
#else
    const double tolerance = 1e-5;
#endif
    const double *probs = want->data;
    for (size_t k = 0; k < want->count; k++)
        ck_assert_msg(fabs((double)net->probs->data[k] - probs[k]) <= tolerance,
                      "image %zu class %zu: got %.9g, numpy %.9g", k / NUM_CLASSES,
                      k % NUM_CLASSES, (double)net->probs->data[k], probs[k]);
    tensor_free(x);
    npz_free(&reference);
    dataset_free(&data);
    network_free(net);
}
END_TEST

Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, metrics_match_a_hand_computed_case);
    tcase_add_test(tc, metrics_follow_sklearns_zero_division_convention);
    tcase_add_test(tc, an_empty_set_scores_zero_without_dividing_by_zero);
    tcase_add_test(tc, metrics_hold_a_thousand_classes);
    tcase_add_test(tc, argmax_takes_the_first_of_equal_scores);
    tcase_add_test(tc, the_report_names_classes_and_shows_the_figures);
    suite_add_tcase(s, tc);
    tc = tcase_create("checkpoint");
    tcase_add_test(tc, a_saved_checkpoint_loads_the_same_weights_and_forward);
    tcase_add_test(tc, bad_checkpoints_are_refused_naming_the_array);
    tcase_add_test(tc, a_description_larger_than_its_file_is_refused_before_allocating);
    tcase_add_test(tc, numpy_weights_give_numpys_probabilities);
    tcase_add_test(tc, checkpoints_carry_their_description_and_refuse_what_does_not_fit_it);
    tcase_add_test(tc, a_weight_beyond_the_range_of_real_is_refused);
    tcase_add_test(tc, weights_that_are_not_float32_or_float64_are_refused_naming_the_dtype);
    tcase_add_test(tc, numpy_checkpoints_with_integer_weights_are_refused);
    tcase_add_test(tc, an_old_checkpoint_loads_as_the_seed_network);
    tcase_add_test(tc, checkpoint_class_names_read_like_a_datasets);
    tcase_add_test(tc, checkpoint_class_names_that_do_not_fit_are_blamed);
    tcase_add_test(tc, a_resume_file_is_named_as_one);
    suite_add_tcase(s, tc);
    return s;
}
