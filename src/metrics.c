#include "metrics.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int argmax(const real *scores, int count)
{
    int best = 0;
    for (int i = 1; i < count; i++)
        if (scores[i] > scores[best]) best = i;
    return best;
}

void metrics_alloc(ClassMetrics *m, int classes)
{
    assert(classes >= 1);
    const size_t K = (size_t)classes;
    memset(m, 0, sizeof *m);
    m->classes = classes;
    m->confusion = xmalloc(K * sizeof *m->confusion);
    long *cells = xcalloc(K * K + 2 * K, sizeof *cells); /* the matrix, then support, predicted */
    for (size_t t = 0; t < K; t++) m->confusion[t] = cells + t * K;
    m->support = cells + K * K;
    m->predicted = m->support + K;
    double *rates = xcalloc(3 * K, sizeof *rates);
    m->precision = rates;
    m->recall = rates + K;
    m->f1 = rates + 2 * K;
}

void metrics_free(ClassMetrics *m)
{
    if (m->confusion) free(m->confusion[0]);
    free(m->confusion);
    free(m->precision);
    memset(m, 0, sizeof *m);
}

void metrics_compute(const int *labels, const int *predictions, int count, int classes,
                     ClassMetrics *m)
{
    metrics_alloc(m, classes);
    for (int i = 0; i < count; i++) {
        assert(labels[i] >= 0 && labels[i] < classes);
        assert(predictions[i] >= 0 && predictions[i] < classes);
        m->confusion[labels[i]][predictions[i]]++;
    }
    metrics_from_confusion(m);
}

/* a / b, or 0 when b is 0 (sklearn's zero_division default). */
static double ratio_or_zero(long a, long b)
{
    return b ? (double)a / (double)b : 0.0;
}

void metrics_from_confusion(ClassMetrics *m)
{
    const int K = m->classes;
    m->total = m->correct = 0;
    for (int c = 0; c < K; c++) m->support[c] = m->predicted[c] = 0;
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++) {
            m->support[t] += m->confusion[t][p];
            m->predicted[p] += m->confusion[t][p];
            m->total += m->confusion[t][p];
        }

    double f1_sum = 0;
    m->classes_in_macro = 0;
    for (int c = 0; c < K; c++) {
        const long tp = m->confusion[c][c];
        const long fp = m->predicted[c] - tp, fn = m->support[c] - tp;
        m->correct += tp;
        m->precision[c] = ratio_or_zero(tp, tp + fp);
        m->recall[c] = ratio_or_zero(tp, tp + fn);
        /* 2TP / (2TP + FP + FN) equals 2PR / (P + R) whenever both are
         * defined, and is 0 (not 0/0) when TP = 0 but the class occurs. */
        m->f1[c] = ratio_or_zero(2 * tp, 2 * tp + fp + fn);
        if (m->support[c] + m->predicted[c] > 0) {
            f1_sum += m->f1[c];
            m->classes_in_macro++;
        }
    }
    m->accuracy = ratio_or_zero(m->correct, m->total);
    m->macro_f1 = m->classes_in_macro ? f1_sum / m->classes_in_macro : 0.0;
}

/* Width of the class-name column: the longest name, at least "class". */
static int name_width(const ClassMetrics *m, const char *const *names)
{
    int width = 5;
    for (int c = 0; c < m->classes; c++)
        if ((int)strlen(names[c]) > width) width = (int)strlen(names[c]);
    return width;
}

void metrics_print_report(FILE *out, const ClassMetrics *m, const char *const *names)
{
    const int w = name_width(m, names);
    fprintf(out, "accuracy  %.4f  (%ld of %ld correct)\n", m->accuracy, m->correct, m->total);
    fprintf(out, "macro-F1  %.4f  (mean F1 over %d class%s)\n", m->macro_f1, m->classes_in_macro,
            m->classes_in_macro == 1 ? "" : "es");
    fprintf(out, "\n%-*s  precision  recall      F1  support\n", w, "class");
    for (int c = 0; c < m->classes; c++) {
        fprintf(out, "%-*s  %9.4f  %6.4f  %6.4f  %7ld", w, names[c], m->precision[c],
                m->recall[c], m->f1[c], m->support[c]);
        if (m->predicted[c] == 0 && m->support[c] > 0) fprintf(out, "  (never predicted)");
        if (m->support[c] == 0) fprintf(out, "  (no images of this class)");
        fputc('\n', out);
    }
}

void metrics_print_confusion(FILE *out, const ClassMetrics *m, const char *const *names)
{
    static const char corner[] = "true\\pred";
    int w = name_width(m, names);
    if (w < (int)strlen(corner)) w = (int)strlen(corner);
    int cell = 5; /* wide enough for the longest column name and count */
    for (int c = 0; c < m->classes; c++) {
        int len = (int)strlen(names[c]);
        if (len > cell) cell = len;
    }
    long largest = 0;
    for (int t = 0; t < m->classes; t++)
        for (int p = 0; p < m->classes; p++)
            if (m->confusion[t][p] > largest) largest = m->confusion[t][p];
    int digits = snprintf(NULL, 0, "%ld", largest);
    if (digits > cell) cell = digits;

    fprintf(out, "confusion matrix (rows: true class, columns: predicted class)\n");
    fprintf(out, "%-*s", w, corner);
    for (int p = 0; p < m->classes; p++) fprintf(out, " %*s", cell, names[p]);
    fputc('\n', out);
    for (int t = 0; t < m->classes; t++) {
        fprintf(out, "%-*s", w, names[t]);
        for (int p = 0; p < m->classes; p++) fprintf(out, " %*ld", cell, m->confusion[t][p]);
        fputc('\n', out);
    }
}
