/* metrics.h: how good a classifier is, from its predictions on a labelled set.
 *
 * Everything follows from the confusion matrix C (K, K):
 *
 *     C[t][p] = number of images of true class t that were predicted as p
 *
 * Rows are the true class, columns the prediction (as sklearn's
 * confusion_matrix). The diagonal holds the correct answers. For class c:
 *
 *     TP = C[c][c]                  (c, and predicted c)
 *     FP = column c sum - TP        (predicted c, but another class)
 *     FN = row c sum - TP           (c, but predicted another class)
 *
 *     precision = TP / (TP + FP)    "when it says c, how often is it right?"
 *     recall    = TP / (TP + FN)    "of the c images, how many did it find?"
 *     F1        = 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)
 *     accuracy  = trace(C) / sum(C)
 *
 * The 0/0 cases follow sklearn's default (zero_division="warn", which
 * reports 0): a class never predicted has precision 0; a class with no
 * images (support 0) has recall 0; F1 is 0 when TP = 0.
 *
 * macro-F1 is the plain mean of the per-class F1, so a rare class (FER2013's
 * Disgust is 1.5% of the images) counts as much as a common one. Accuracy
 * alone hides a model that never predicts Disgust; macro-F1 does not. As in
 * sklearn's f1_score(y_true, y_pred, average="macro"), the mean runs over
 * the classes that occur in the labels or the predictions: a class absent
 * from both has nothing to score and is left out (with all K present, as on
 * any real test split, that is the mean over all K). */
#ifndef METRICS_H
#define METRICS_H

#include <stdio.h>

#include "real.h"

/* The figures of K classes; the arrays are sized by metrics_compute (or
 * metrics_alloc) and freed by metrics_free. */
typedef struct {
    int classes;         /* K */
    long total;          /* images scored, sum of C */
    long correct;        /* trace of C */
    long **confusion;    /* (K, K): confusion[true][predicted] */
    long *support;       /* (K,) row sums: images of each true class */
    long *predicted;     /* (K,) column sums: predictions of each class */
    double *precision;   /* (K,) */
    double *recall;      /* (K,) */
    double *f1;          /* (K,) */
    double accuracy;     /* 0 for an empty set */
    double macro_f1;                          /* over the classes present; 0 if none */
    int classes_in_macro;                     /* how many classes macro_f1 averages */
} ClassMetrics;

/* Index of the largest of scores[0..count); the first one on a tie. */
int argmax(const real *scores, int count);

/* Sizes m for `classes` classes, every count 0. */
void metrics_alloc(ClassMetrics *m, int classes);

/* Frees what metrics_alloc (or metrics_compute) sized. */
void metrics_free(ClassMetrics *m);

/* Counts the confusion matrix of labels and predictions, both (count,)
 * with values 0..classes-1, and derives every figure above from it. */
void metrics_compute(const int *labels, const int *predictions, int count, int classes,
                     ClassMetrics *m);

/* Derives the figures from m->confusion and m->classes alone (used by
 * metrics_compute; handy when the matrix is counted elsewhere). */
void metrics_from_confusion(ClassMetrics *m);

/* Accuracy, macro-F1, then one line per class: precision, recall, F1 and
 * support, under the class names (names[0..classes)). */
void metrics_print_report(FILE *out, const ClassMetrics *m, const char *const *names);

/* The confusion matrix as a table, true classes down, predictions across. */
void metrics_print_confusion(FILE *out, const ClassMetrics *m, const char *const *names);

#endif
