/* diagnose.c: comparing a student's answer with the library's, and saying
 * what kind of mistake makes the difference.
 *
 * First the catalogue: every function lists known mistakes, each able to
 * compute what the mistaken code returns (cases_*.c). A mistake whose
 * answer equals the student's, on the first failing case and preferably
 * on every case, is the diagnosis. Otherwise the answer is searched for
 * patterns any function can show: never written, added to garbage, all
 * zeros, not finite, a constant factor (named when it is one of the case's
 * numbers, N, 1/N, ..., and the other cases agree), a transpose or a
 * permutation, wrong only near the border or only where windows overlap,
 * only for some images; and, over the cases, a property shared by every
 * failing case and no passing one ("fails only when the stride is 2"),
 * unless the layout already explains the answer. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "grader.h"

/* ---- comparing ------------------------------------------------------------ */

static double change(const Arg *a, const double *x, size_t i)
{
    return a->role == ROLE_INOUT ? x[i] - a->value[i] : x[i];
}

double tensor_floor(const Arg *a, const double *want)
{
    double largest = 0;
    for (size_t i = 0; i < a->size; i++) {
        double v = change(a, want, i);
        if (isfinite(v)) largest = fmax(largest, fabs(v));
    }
    return 1e-9 * largest + 1e-300;
}

double entry_error(const Arg *a, const double *want, const double *have, size_t i, double floor)
{
    double w = want[i], h = have[i];
    if (!isfinite(w) || !isfinite(h)) return (isnan(w) && isnan(h)) || w == h ? 0 : INFINITY;
    w = change(a, want, i);
    h = change(a, have, i);
    double scale = fmax(fmax(fabs(w), fabs(h)), floor);
    return fabs(w - h) / scale;
}

int arrays_match(const Arg *a, const double *want, const double *have)
{
    double floor = tensor_floor(a, want);
    for (size_t i = 0; i < a->size; i++)
        if (!(entry_error(a, want, have, i, floor) < PASS_THRESHOLD)) return 0;
    return 1;
}

Comparison compare_arg(const Arg *a)
{
    Comparison r = {.ok = 1};
    double floor = tensor_floor(a, a->expected);
    for (size_t i = 0; i < a->size; i++) {
        double e = entry_error(a, a->expected, a->got, i, floor);
        if (!(e < PASS_THRESHOLD)) {
            if (r.ok) r.first_wrong = i;
            r.ok = 0;
            r.wrong_count++;
        }
        if (!(e <= r.max_error)) r.max_error = e;
    }
    return r;
}

void index_text(const Arg *a, size_t i, char *bracket, size_t blen, char *named, size_t nlen)
{
    int index[4];
    size_t rest = i;
    for (int d = a->ndim - 1; d >= 0; d--) {
        index[d] = a->dims[d] ? (int)(rest % (size_t)a->dims[d]) : 0;
        rest = a->dims[d] ? rest / (size_t)a->dims[d] : 0;
    }
    char axes[32];
    snprintf(axes, sizeof axes, "%s", a->axes);
    const char *axis[4] = {"", "", "", ""};
    char *save = NULL, *token = strtok_r(axes, ",", &save);
    for (int d = 0; d < 4 && token; d++, token = strtok_r(NULL, ",", &save)) axis[d] = token;
    size_t bu = 0, nu = 0;
    bracket[0] = named[0] = 0;
    bu += (size_t)snprintf(bracket, blen, "%s", a->name);
    nu += (size_t)snprintf(named, nlen, "(");
    for (int d = 0; d < a->ndim; d++) {
        if (bu < blen) bu += (size_t)snprintf(bracket + bu, blen - bu, "[%d]", index[d]);
        if (nu < nlen)
            nu += (size_t)snprintf(named + nu, nlen - nu, "%s%s %d", d ? ", " : "", axis[d],
                                   index[d]);
    }
    if (nu < nlen) snprintf(named + nu, nlen - nu, ")");
}

void hints_add(Hints *h, const char *fmt, ...)
{
    char text[HINT_LENGTH];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    size_t len = strlen(text);
    if (len && text[len - 1] == '\n') text[len - 1] = 0;
    for (int i = 0; i < h->count; i++)
        if (strcmp(h->text[i], text) == 0) return;
    if (h->count < MAX_HINTS) snprintf(h->text[h->count++], HINT_LENGTH, "%s", text);
}

/* ---- the catalogue -------------------------------------------------------- */

double **prediction_alloc(const Case *c)
{
    double **pred = xcalloc(MAX_ARGS, sizeof *pred);
    for (int a = 0; a < c->n_args; a++)
        if (c->args[a].role != ROLE_IN) {
            pred[a] = xmalloc((c->args[a].size + 1) * sizeof(double));
            memcpy(pred[a], c->args[a].expected, c->args[a].size * sizeof(double));
        }
    return pred;
}

void prediction_free(double **pred)
{
    for (int a = 0; a < MAX_ARGS; a++) free(pred[a]);
    free(pred);
}

/* Does mistake m explain arg a of case c?  *relevant: its answer differs
 * from the right one there. The other outputs must not contradict it:
 * wherever the mistake changes one of them, the student's must have
 * changed the same way (an output the mistake leaves right may be wrong
 * for another reason). */
static int mistake_matches(const Mistake *m, const Case *c, int a, int *relevant)
{
    double **pred = prediction_alloc(c);
    double ret = c->has_return ? c->args[c->n_args - 1].expected[0] : 0;
    m->predict(c, pred, &ret);
    if (c->has_return) pred[c->n_args - 1][0] = ret;
    const Arg *arg = &c->args[a];
    *relevant = !arrays_match(arg, arg->expected, pred[a]);
    int match = arrays_match(arg, pred[a], arg->got);
    for (int b = 0; b < c->n_args && match; b++) {
        const Arg *other = &c->args[b];
        if (b == a || other->role == ROLE_IN) continue;
        if (!arrays_match(other, other->expected, pred[b]) &&
            !arrays_match(other, pred[b], other->got))
            match = 0;
    }
    prediction_free(pred);
    return match;
}

/* The catalogued mistake explaining arg a, or NULL. It must give the
 * student's answer on the first failing case, and no other case may
 * contradict it: where the mistake would change the answer, the student's
 * must be the mistake's. (A case the mistake leaves right may still fail:
 * the student made a second mistake there.) The first case is often the
 * most degenerate (t = 1, zero state, N = 1), where two mistakes can give
 * the same numbers; the other cases tell them apart. */
static const Mistake *find_mistake(const FunctionSpec *spec, Case *cases, int n_cases, int first,
                                   int a, const unsigned *answered)
{
    const Mistake *partial = NULL;
    for (int k = 0; k < spec->n_mistakes; k++) {
        const Mistake *m = &spec->mistakes[k];
        int relevant;
        if (!mistake_matches(m, &cases[first], a, &relevant) || !relevant) continue;
        int everywhere = 1, contradicted = 0;
        for (int j = 0; j < n_cases && !contradicted; j++) {
            int changes;
            if (!answered[j] || j == first || mistake_matches(m, &cases[j], a, &changes)) continue;
            everywhere = 0;
            contradicted = changes;
        }
        if (everywhere) return m;
        if (!partial && !contradicted) partial = m;
    }
    return partial;
}

/* ---- patterns ----------------------------------------------------------- */

static const char *tag_words(unsigned tag)
{
    switch (tag) {
    case TAG_STRIDE: return "the stride is more than 1: look at how the stride enters your indices";
    case TAG_PAD:
        return "there is padding (pad > 0): look at how pad enters your indices and bounds";
    case TAG_NONSQUARE:
        return "the kernel is not square (kH != kW): somewhere kH stands where kW belongs, or the "
               "reverse";
    case TAG_BATCH:
        return "the batch holds several examples (N > 1): look at how the batch index enters your "
               "indices, sums and means";
    case TAG_OVERLAP:
        return "windows overlap (stride smaller than the window; a 1x1 kernel never does): in a "
               "backward pass an input under two windows must receive both shares (+=); in a "
               "forward pass, look at how the kernel offsets (i, j) enter your indices";
    case TAG_TIES:
        return "a window has several equal maxima: the contract says which one gets dout";
    case TAG_LARGE:
        return "the scores are large (near +-1000): exp overflows unless you subtract each row's "
               "maximum first";
    case TAG_ACCUMULATE:
        return "the array it adds to is not zero on entry: add to it, never clear or overwrite it";
    case TAG_EVAL: return "training is 0 (evaluation mode): then nothing is dropped or scaled";
    case TAG_IMAGE:
        return "the input is an image (C > 1 and H*W > 1): look at the order in which you flatten "
               "(c, h, w) into a feature index";
    case TAG_CHANNELS:
        return "there are several channels (C > 1): look at how c enters your indices";
    case TAG_MAPS:
        return "each channel is a map (H*W > 1): its statistics run over M = N*H*W values, not "
               "over the N images alone";
    case TAG_STATE:
        return "the optimizer state is not zero on entry: the update must use the state it is "
               "given";
    case TAG_DECAY: return "weight_decay is not 0: it is added to the gradient first";
    case TAG_FILTERS: return "there are several filters (F > 1): look at how f enters your indices";
    case TAG_NONSQUARE_IMAGE:
        return "the image is not square (H != W): somewhere H stands where W belongs, or the "
               "reverse";
    case TAG_STEP:
        return "the step count t is more than 1: look at how t enters the bias corrections, 1 - "
               "beta1^t and 1 - beta2^t";
    default: return NULL;
    }
}

static const char *tag_short(unsigned tag)
{
    switch (tag) {
    case TAG_STRIDE: return "the stride is more than 1";
    case TAG_PAD: return "there is padding";
    case TAG_NONSQUARE: return "the kernel is not square";
    case TAG_BATCH: return "N > 1";
    case TAG_OVERLAP: return "windows overlap";
    case TAG_TIES: return "maxima tie";
    case TAG_LARGE: return "the scores are large";
    case TAG_ACCUMULATE: return "the array it adds to is not zero on entry";
    case TAG_EVAL: return "in evaluation mode";
    case TAG_IMAGE: return "the input is an image (C > 1 and H*W > 1)";
    case TAG_CHANNELS: return "C > 1";
    case TAG_MAPS: return "H*W > 1";
    case TAG_STATE: return "the state is not zero on entry";
    case TAG_DECAY: return "weight_decay > 0";
    case TAG_FILTERS: return "F > 1";
    case TAG_NONSQUARE_IMAGE: return "the image is not square";
    case TAG_STEP: return "t > 1";
    default: return "?";
    }
}

/* The tags that every failing case has and no passing one, over the
 * cases seen (run, or stopped by a crash or a time-out, which fails).
 * Returns 1 if there are any. */
static int case_pattern(const Case *cases, int n_cases, const unsigned *seen,
                        const unsigned *failed, Hints *out)
{
    int passing = 0, failing = 0;
    for (int j = 0; j < n_cases; j++) {
        if (!seen[j]) continue;
        failing += failed[j] != 0;
        passing += failed[j] == 0;
    }
    if (!passing || !failing) return 0;
    unsigned found[TAG_COUNT];
    int count = 0;
    for (int t = 0; t < TAG_COUNT; t++) {
        unsigned tag = 1u << t;
        int explains = 1;
        for (int j = 0; j < n_cases && explains; j++)
            if (seen[j] && ((cases[j].tags & tag) != 0) != (failed[j] != 0)) explains = 0;
        if (explains && tag_words(tag)) found[count++] = tag;
    }
    if (count == 0) return 0;
    char also[256] = "";
    size_t used = 0;
    for (int k = 1; k < count && used < sizeof also; k++)
        used += (size_t)snprintf(also + used, sizeof also - used, "%s%s", k > 1 ? ", or " : "",
                                 tag_short(found[k]));
    if (count == 1)
        hints_add(out, "hint: it fails only when %s.", tag_words(found[0]));
    else
        hints_add(out,
                  "hint: it fails only when %s. (Those are also exactly the cases where %s: the "
                  "cause may be there instead.)",
                  tag_words(found[0]), also);
    return 1;
}

/* How many windows cover input pixel (h, w). */
static int coverage(const Case *c, int h, int w)
{
    int rows = 0, columns = 0;
    for (int oh = 0; oh < c->out_h; oh++) {
        int top = oh * c->stride - c->pad;
        rows += h >= top && h < top + c->kH;
    }
    for (int ow = 0; ow < c->out_w; ow++) {
        int left = ow * c->stride - c->pad;
        columns += w >= left && w < left + c->kW;
    }
    return rows * columns;
}

static int is_factor(double k, double value)
{
    return fabs(k - value) <= 1e-6 * fabs(value);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* got equals expected with its axes permuted: axes 0 and 1 swapped, the
 * last two swapped, or (for 2-d) a plain transpose. Returns a description. */
static const char *swapped_axes(const Arg *a, char *buf, size_t len)
{
    if (a->ndim < 2 || a->role == ROLE_INOUT) return NULL;
    double floor = tensor_floor(a, a->expected);
    for (int variant = 0; variant < 2; variant++) {
        int p = variant == 0 ? 0 : a->ndim - 2, q = p + 1;
        if (variant == 1 && a->ndim == 2) break;
        int d[4] = {1, 1, 1, 1};
        for (int k = 0; k < a->ndim; k++) d[k] = a->dims[k];
        /* the student's layout: dims with p and q exchanged */
        int s[4];
        memcpy(s, d, sizeof s);
        s[p] = d[q];
        s[q] = d[p];
        int ok = 1;
        for (size_t i = 0; i < a->size && ok; i++) {
            int idx[4] = {0, 0, 0, 0};
            size_t rest = i;
            for (int k = a->ndim - 1; k >= 0; k--) {
                idx[k] = (int)(rest % (size_t)d[k]);
                rest /= (size_t)d[k];
            }
            int t = idx[p];
            idx[p] = idx[q];
            idx[q] = t;
            size_t j = 0;
            for (int k = 0; k < a->ndim; k++) j = j * (size_t)s[k] + (size_t)idx[k];
            double e = a->expected[i], g = a->got[j];
            ok = fabs(e - g) <= PASS_THRESHOLD * fmax(fmax(fabs(e), fabs(g)), floor);
        }
        if (!ok) continue;
        char names[32], *save = NULL, *axis[4] = {"?", "?", "?", "?"};
        snprintf(names, sizeof names, "%s", a->axes);
        char *token = strtok_r(names, ",", &save);
        for (int k = 0; k < 4 && token; k++, token = strtok_r(NULL, ",", &save)) axis[k] = token;
        if (a->ndim == 2)
            snprintf(buf, len,
                     "%s is transposed: you wrote entry (%s, %s) at index %s*%d + %s (a %d x %d "
                     "layout); it belongs at %s*%d + %s",
                     a->name, axis[0], axis[1], axis[1], a->dims[0], axis[0], a->dims[1],
                     a->dims[0], axis[0], a->dims[1], axis[1]);
        else
            snprintf(buf, len,
                     "%s has its axes %s and %s swapped: the right numbers, laid out as if the "
                     "array were %s-major where it is %s-major",
                     a->name, axis[p], axis[q], axis[q], axis[p]);
        return buf;
    }
    return NULL;
}

/* got - expected depends on one index only (or on none): a term added per
 * channel, filter or feature (a bias, beta, a mean) is missing, doubled or
 * wrong. Adds the hint and returns 1 if so. */
static int offset_pattern(const Arg *a, Hints *out)
{
    const size_t n = a->size;
    double largest = 0;
    for (size_t i = 0; i < n; i++)
        largest = fmax(largest, fabs(change(a, a->got, i) - change(a, a->expected, i)));
    if (!(largest > 0) || !isfinite(largest)) return 0;
    const double tolerance = 1e-9 * largest;
    for (int axis = 0; axis < a->ndim; axis++) {
        size_t inner = 1;
        for (int d = axis + 1; d < a->ndim; d++) inner *= (size_t)a->dims[d];
        const int length = a->dims[axis];
        if ((size_t)length == n) continue;
        double *offset = xmalloc((size_t)length * sizeof *offset);
        int same = 1, varies = 0;
        for (int k = 0; k < length; k++) offset[k] = NAN;
        for (size_t i = 0; i < n && same; i++) {
            int k = (int)((i / inner) % (size_t)length);
            double diff = change(a, a->got, i) - change(a, a->expected, i);
            if (isnan(offset[k])) offset[k] = diff;
            else same = fabs(diff - offset[k]) <= tolerance;
        }
        for (int k = 1; k < length && same; k++) varies |= fabs(offset[k] - offset[0]) > tolerance;
        double first = offset[0];
        free(offset);
        if (!same) continue;
        char names[32], *save = NULL;
        snprintf(names, sizeof names, "%s", a->axes);
        char *token = strtok_r(names, ",", &save);
        for (int d = 0; token && d < axis; d++) token = strtok_r(NULL, ",", &save);
        if (varies)
            hints_add(out,
                      "hint: %s is off by an amount that depends only on its index %s: a term "
                      "added once per %s (a bias, beta, a mean) is missing, doubled or wrong.",
                      a->name, token ? token : "?", token ? token : "?");
        else
            hints_add(out,
                      "hint: %s is off by the same amount everywhere (%.6g): a constant term is "
                      "missing, doubled or wrong.",
                      a->name, first);
        return 1;
    }
    return 0;
}

/* Every entry of got is the running total of the right entries up to it,
 * starting over every `run` entries (the whole array, or each index of an
 * outer axis): a sum not set back to 0 for each entry. Adds the hint and
 * returns 1 if so. */
static int running_total_pattern(const Arg *a, Hints *out)
{
    if (a->role != ROLE_OUT || a->size < 2) return 0;
    size_t run = a->size;
    for (int axis = 0; axis < a->ndim; axis++) {
        if (axis > 0) run /= (size_t)a->dims[axis - 1];
        if (run < 2) break;
        double total = 0, largest = 0;
        for (size_t i = 0; i < a->size; i++) largest = fmax(largest, fabs(a->expected[i]));
        int ok = 1;
        for (size_t i = 0; i < a->size && ok; i++) {
            if (i % run == 0) total = 0;
            total += a->expected[i];
            ok = fabs(a->got[i] - total) <= 1e-9 * fmax(fabs(total), largest);
        }
        if (!ok) continue;
        char names[32], *save = NULL, *axis_name = "?";
        snprintf(names, sizeof names, "%s", a->axes);
        char *token = strtok_r(names, ",", &save);
        for (int d = 0; token && d < axis - 1; d++) token = strtok_r(NULL, ",", &save);
        if (token) axis_name = token;
        char order[64] = "";
        if (axis > 0)
            snprintf(order, sizeof order, " (in memory order, starting over at each %s)",
                     axis_name);
        else if (a->ndim > 1)
            snprintf(order, sizeof order, " (in memory order)");
        hints_add(out,
                  "hint: each entry of %s is the running total of the right entries up to it%s: "
                  "a sum is not set back to 0 for each entry. Start it afresh inside the loop, "
                  "just before it adds up that entry's terms.",
                  a->name, order);
        return 1;
    }
    return 0;
}

/* Where arg a of case c is wrong, if that says something: exactly where
 * an input of the same shape is positive (or not), for some images of
 * the batch only, near the border or under overlapping windows of the
 * input grid. Returns how many hints it added. */
static int where_patterns(const Case *c, const Arg *a, Hints *out)
{
    const size_t n = a->size;
    const double floor = tensor_floor(a, a->expected);
    int printed = 0;
    /* wrong exactly where an input of the same shape is positive, or not
     * (elementwise functions: ReLU, dropout). Only an input with entries on
     * both sides of 0 can say so: if all of them are positive, "right where
     * it is <= 0" is true of nowhere, and says nothing. */
    for (int b = 0; b < c->n_args && !printed; b++) {
        const Arg *in = &c->args[b];
        if (in->role != ROLE_IN || in->ndim != a->ndim || n < 2) continue;
        if (memcmp(in->dims, a->dims, (size_t)a->ndim * sizeof *a->dims) != 0) continue;
        size_t agree_positive = 0, agree_other = 0, positives = 0;
        for (size_t i = 0; i < n; i++) {
            int bad = !(entry_error(a, a->expected, a->got, i, floor) < PASS_THRESHOLD);
            int positive = in->is_int ? in->ivalue[i] > 0 : in->value[i] > 0;
            agree_positive += bad == positive;
            agree_other += bad != positive;
            positives += positive;
        }
        if (positives == 0 || positives == n) continue;
        if (agree_positive == n || agree_other == n) {
            const char *where = agree_positive == n ? "> 0" : "<= 0";
            const char *right = agree_positive == n ? "<= 0" : "> 0";
            hints_add(out,
                      "hint: %s is right where %s %s and wrong exactly where %s %s: look at "
                      "what your function does there.",
                      a->name, in->name, right, in->name, where);
            printed++;
        }
    }
    /* only some images of the batch: before the location, which a pixel
     * that is right in one image and wrong in another cannot explain (an
     * image left out is wrong at every pixel, overlapped ones included) */
    if (!printed && a->ndim >= 2 && strncmp(a->axes, "n,", 2) == 0 && a->dims[0] > 1) {
        int N = a->dims[0], right = 0, first_right = -1, last_right = -1;
        size_t item = n / (size_t)N;
        for (int b = 0; b < N; b++) {
            int ok = 1;
            for (size_t i = 0; i < item && ok; i++)
                ok = entry_error(a, a->expected, a->got, (size_t)b * item + i, floor) <
                     PASS_THRESHOLD;
            if (ok) {
                right++;
                if (first_right < 0) first_right = b;
                last_right = b;
            }
        }
        if (right > 0 && right < N) {
            hints_add(out,
                      "hint: %s is right for %s and wrong for the other images of the batch: "
                      "does every image get the same treatment (the loop over n, the offset "
                      "n*item)?\n",
                      a->name,
                      right == 1 ? (first_right == 0      ? "the first image only"
                                    : last_right == N - 1 ? "the last image only"
                                                          : "one image only")
                                 : "some images");
            printed++;
        }
    }
    /* where the wrong entries are: on the input grid of a windowed case */
    if (!printed && c->has_windows && a->on_input_grid && a->ndim >= 3) {
        int H = a->dims[a->ndim - 2], W = a->dims[a->ndim - 1];
        size_t wrong = 0, wrong_overlap = 0, overlap_cells = 0, wrong_border = 0,
               wrong_uncovered = 0;
        int reach = c->pad > 0 ? c->pad : 1;
        for (size_t i = 0; i < n; i++) {
            int w = (int)(i % (size_t)W), h = (int)((i / (size_t)W) % (size_t)H);
            int cover = coverage(c, h, w);
            int bad = !(entry_error(a, a->expected, a->got, i, floor) < PASS_THRESHOLD);
            int border = h < reach || w < reach || h >= H - reach || w >= W - reach;
            overlap_cells += cover >= 2;
            wrong += bad;
            wrong_overlap += bad && cover >= 2;
            wrong_border += bad && border;
            wrong_uncovered += bad && cover == 0;
        }
        if (wrong && wrong_overlap == wrong && overlap_cells > wrong) {
            hints_add(
                out,
                "hint: %s is wrong only at pixels under two or more overlapping windows: such a "
                "pixel must receive the sum of every window's share (+=), not the last one.\n",
                a->name);
            printed++;
        } else if (wrong && wrong_uncovered == wrong) {
            hints_add(
                out,
                "hint: %s is wrong only at pixels no window reaches (rows or columns past the "
                "last window): nothing flows back to them, so they are 0.\n",
                a->name);
            printed++;
        } else if (wrong && wrong_border == wrong && wrong < n / 2) {
            hints_add(
                out,
                "hint: %s is right in the interior and wrong near the border: look at the "
                "padding, at the pixels where h = oh*stride - pad + i falls outside the image.\n",
                a->name);
            printed++;
        }
    }
    return printed;
}

/* k if every entry of a's answer (its change, for INOUT) is k times the
 * right one, else NAN. *nonzero: how many right entries are not 0. */
static double scale_of(const Arg *a, size_t *nonzero)
{
    double ge = 0, ee = 0, largest = 0;
    size_t count = 0;
    for (size_t i = 0; i < a->size; i++) {
        double e = change(a, a->expected, i), g = change(a, a->got, i);
        ge += g * e;
        ee += e * e;
        largest = fmax(largest, fabs(g));
        count += e != 0;
    }
    if (nonzero) *nonzero = count;
    if (!(ee > 0) || ge == 0 || !isfinite(ge)) return NAN;
    double k = ge / ee, residual = 0;
    for (size_t i = 0; i < a->size; i++)
        residual = fmax(residual, fabs(change(a, a->got, i) - k * change(a, a->expected, i)));
    return residual <= 1e-7 * largest ? k : NAN;
}

/* Which number a factor is, in any case: the length of its name up to
 * " = " ("N" of "N = 4, the batch size"). */
static size_t factor_key_length(const char *name)
{
    const char *equals = strstr(name, " = ");
    return equals ? (size_t)(equals - name) : strlen(name);
}

/* Case c's value of the number that factor f (of another case) is, or NULL. */
static const Factor *same_factor(const Case *c, const Factor *f)
{
    size_t len = factor_key_length(f->name);
    for (int i = 0; i < c->n_factors; i++)
        if (factor_key_length(c->factors[i].name) == len &&
            strncmp(c->factors[i].name, f->name, len) == 0)
            return &c->factors[i];
    return NULL;
}

/* Does sign * factor f of cases[first] agree with every other case? Where
 * arg a fails and is a constant multiple of the right answer, the multiple
 * must be that case's own value of f; where a passes, f must be 1 (a
 * division by N missing from the code would also show where N = 2). */
static int factor_agrees(const Case *cases, int n_cases, int first, int a, const unsigned *status,
                         const Factor *f, int sign)
{
    for (int j = 0; j < n_cases; j++) {
        const Factor *there = j == first ? NULL : same_factor(&cases[j], f);
        if (!there) continue;
        if (status[j] == ARG_PASSED && !is_factor(sign * there->value, 1)) return 0;
        if (status[j] != ARG_FAILED) continue;
        double k = scale_of(&cases[j].args[a], NULL);
        if (!isnan(k) && !is_factor(k, sign * there->value)) return 0;
    }
    return 1;
}

/* Prints pattern hints for failing arg `arg` of cases[first]. Returns how
 * many; *explained is set when one of them accounts for every wrong entry
 * by the layout (a transpose, swapped axes, a permutation), so that a
 * property the failing cases share would be a coincidence. */
static int value_patterns(const Case *cases, int n_cases, int first, int arg,
                          const unsigned *status, int *explained, Hints *out)
{
    const Case *c = &cases[first];
    const Arg *a = &c->args[arg];
    size_t n = a->size;
    size_t nonfinite = 0, untouched = 0, zero = 0, added = 0;
    size_t first_nonfinite = 0, first_untouched = 0;
    double floor = tensor_floor(a, a->expected);
    *explained = 0;
    for (size_t i = 0; i < n; i++) {
        double g = a->got[i], e = a->expected[i], v = a->value[i];
        int wrong = !(entry_error(a, a->expected, a->got, i, floor) < PASS_THRESHOLD);
        if (!isfinite(g) && isfinite(e) && nonfinite++ == 0) first_nonfinite = i;
        if (g == v && wrong && untouched++ == 0) first_untouched = i;
        zero += g == 0;
        if (a->role == ROLE_OUT && fabs(g - (v + e)) <= 1e-9 * fmax(fabs(g), 1)) added++;
    }
    char bracket[96], named[96];
    if (nonfinite) {
        index_text(a, first_nonfinite, bracket, sizeof bracket, named, sizeof named);
        hints_add(out,
                  "hint: %s has %zu NaN or infinite entries (the first is %s): an overflow (exp "
                  "of a large number?), a division by zero, or a value read before it was "
                  "written.\n",
                  a->name, nonfinite, bracket);
        return 1;
    }
    if (a->role == ROLE_OUT && untouched == n) {
        hints_add(out,
                  "hint: %s is never written: it still holds what the array held before the "
                  "call (garbage). Your function must write every entry.\n",
                  a->name);
        return 1;
    }
    if (a->role == ROLE_INOUT && untouched == n) {
        hints_add(out, "hint: %s is not changed at all: the function must update it in place.\n",
                  a->name);
        return 1;
    }
    if (a->role == ROLE_OUT && added == n) {
        hints_add(out,
                  "hint: %s was added to (+=) without being set first: it holds garbage on "
                  "entry, so give it its first value with = (or set it to 0) before adding.\n",
                  a->name);
        return 1;
    }
    if (zero == n) {
        hints_add(out,
                  "hint: %s%s is 0: is it ever given a value? (A loop whose bounds let it run "
                  "zero times, such as n < N - 1 with N = 1, leaves it so too.)\n",
                  n > 1 ? "every entry of " : "", a->name);
        return 1;
    }
    if (a->role == ROLE_OUT && untouched) {
        index_text(a, first_untouched, bracket, sizeof bracket, named, sizeof named);
        hints_add(out,
                  "hint: %zu %s of %s %s never written (the first is %s %s): %s the "
                  "garbage the array held before the call.%s\n",
                  untouched, untouched == 1 ? "entry" : "entries", a->name,
                  untouched == 1 ? "is" : "are", bracket, named,
                  untouched == 1 ? "it still holds" : "they still hold",
                  c->has_windows && c->pad > 0
                      ? " Do the loops cover the whole array (its size comes from conv_out_size, "
                   "padding included)? In im2col, entries over the padding are 0 and need writing too."
                      : "");
        return 1 + where_patterns(c, a, out);
    }

    /* a constant factor: got = k * expected (for INOUT, the changes) */
    size_t nonzero = 0;
    const double k = scale_of(a, &nonzero);
    if (!isnan(k) && fabs(k - 1) > 1e-6) {
        const char *what = a->role == ROLE_INOUT ? "the change in " : "";
        const char *every = n == 1 ? "it is that many times the right value"
                                   : "every entry is that many times the right one";
        if (is_factor(k, -1)) {
            hints_add(out,
                      "hint: wrong sign: %s%s is exactly minus the right answer. Look for a "
                      "subtraction the wrong way round, or a minus sign that should not be "
                      "there.\n",
                      what, a->name);
            return 1;
        }
        /* another failing case off by another factor: then k depends on
         * the case's numbers, and no constant is the cause */
        int other = -1;
        double other_k = NAN;
        for (int j = 0; j < n_cases && other < 0; j++) {
            if (j == first || status[j] != ARG_FAILED) continue;
            other_k = scale_of(&cases[j].args[arg], NULL);
            if (!isnan(other_k) && !is_factor(other_k, k)) other = j;
        }
        static const Factor logs[] = {
            {1.4426950408889634, "1/ln 2 = 1.4427 (a log base 2 where the natural log belongs)"},
            {0.6931471805599453, "ln 2 = 0.6931 (exp2 or log2 where exp or log belongs?)"},
            {0.4342944819032518, "1/ln 10 = 0.4343 (log10 where the natural log belongs)"},
        };
        static const Factor halves[] = {{2, "2"}, {0.5, "1/2"}};
        for (int f = 0; f < 3 && other < 0; f++)
            if (is_factor(k, logs[f].value)) {
                hints_add(out, "hint: %s%s is off by a factor of %s.", what, a->name,
                          logs[f].name);
                return 1;
            }
        /* the case's numbers equal to k that every other case agrees with:
         * all of them, as the cases cannot tell them apart */
        char names[512] = "";
        size_t used = 0;
        int count = 0;
        for (int f = 0; f < c->n_factors; f++)
            for (int sign = 1; sign >= -1; sign -= 2)
                if (is_factor(k, sign * c->factors[f].value) &&
                    factor_agrees(cases, n_cases, first, arg, status, &c->factors[f], sign) &&
                    used < sizeof names)
                    used += (size_t)snprintf(names + used, sizeof names - used, "%s%s%s",
                                             count++ ? ", or of " : "", c->factors[f].name,
                                             sign < 0 ? ", and of the wrong sign" : "");
        if (count) {
            hints_add(out,
                      "hint: %s%s is off by a factor of %s%s: %s. Look for a division or "
                      "multiplication by %s that is missing or doubled.\n",
                      what, a->name, names, count > 1 ? " (the same number here)" : "", every,
                      count > 1 ? "one of them" : "it");
            return 1;
        }
        for (int f = 0; f < 2 && other < 0; f++)
            if (is_factor(k, halves[f].value)) {
                hints_add(out,
                          "hint: %s%s is off by a factor of %s: %s. Look for a halving or "
                          "doubling that should not be there.",
                          what, a->name, halves[f].name, every);
                return 1;
            }
        /* Any one number is some factor times the right one, and so is any
         * pair that sums to 0 (a softmax gradient of two classes): only a
         * factor three or more entries share shows a scale gone wrong. */
        if (nonzero >= 3 && other < 0) {
            hints_add(out,
                      "hint: %s%s is off by a constant factor of %.6g: %s. A scale is missing or "
                      "doubled somewhere.\n",
                      what, a->name, k, every);
            return 1;
        }
        if (nonzero >= 3) {
            hints_add(out,
                      "hint: %s%s is off by a constant factor of %.6g in this case (%s), but by "
                      "%.6g in case %d: the factor depends on the case's numbers. Look for a "
                      "scale that is missing, doubled, or applied to only part of the formula.\n",
                      what, a->name, k, every, other_k, other + 1);
            return 1;
        }
    }

    if (running_total_pattern(a, out)) return 1;

    /* off by an amount that depends on one index only: a per-channel (or
     * per-filter, per-feature) term missing or wrong */
    if (a->ndim >= 2 && n > 2 && offset_pattern(a, out)) return 1;

    char buf[512];
    const char *swap = swapped_axes(a, buf, sizeof buf);
    if (swap) {
        hints_add(out, "hint: %s.\n", swap);
        *explained = 1;
        return 1;
    }

    /* the right numbers in the wrong places */
    if (a->role == ROLE_OUT && n > 1) {
        double *e = xmalloc(n * sizeof *e), *g = xmalloc(n * sizeof *g);
        memcpy(e, a->expected, n * sizeof *e);
        memcpy(g, a->got, n * sizeof *g);
        qsort(e, n, sizeof *e, cmp_double);
        qsort(g, n, sizeof *g, cmp_double);
        int same = 1;
        for (size_t i = 0; i < n && same; i++)
            same = fabs(e[i] - g[i]) <= PASS_THRESHOLD * fmax(fmax(fabs(e[i]), fabs(g[i])), floor);
        free(e);
        free(g);
        if (same) {
            hints_add(out,
                      "hint: %s holds the right numbers in the wrong places: check the index "
                      "arithmetic (the order of the dimensions (%s) in your index formula) and "
                      "the bounds of the loops that choose where each value goes.\n",
                      a->name, a->axes);
            *explained = 1;
            return 1;
        }
    }
    return where_patterns(c, a, out);
}


/* Every entry within 1e-5 of the right answer, though not within the
 * 1e-7 a pass needs: the rounding of float, not a wrong formula. Adds the
 * hint and returns 1 if so. */
static int precision_pattern(const Arg *a, Hints *out)
{
    double least = tensor_floor(a, a->expected), worst = 0;
    for (size_t i = 0; i < a->size; i++)
        worst = fmax(worst, entry_error(a, a->expected, a->got, i, least));
    if (!(worst < 1e-5)) return 0;
    hints_add(out,
              "hint: %s is right to about %.0f digits, not to the 7 a pass needs: that is the "
              "rounding of float, not a wrong formula. Compute in double, as the contract says, "
              "sums included.\n",
              a->name, floor(-log10(worst)));
    return 1;
}

int diagnose_arg(const FunctionSpec *spec, Case *cases, int n_cases, int first, int a,
                 const unsigned *arg_status, Hints *out)
{
    /* answered: the case ran to the end, with answers to compare; in the
     * case pattern, a case that stopped (a crash, a time-out) fails too */
    unsigned answered[64] = {0}, seen[64] = {0}, failed[64] = {0};
    for (int j = 0; j < n_cases && j < 64; j++) {
        answered[j] = arg_status[j] == ARG_PASSED || arg_status[j] == ARG_FAILED;
        seen[j] = arg_status[j] != ARG_NOT_RUN;
        failed[j] = arg_status[j] == ARG_FAILED || arg_status[j] == ARG_STOPPED;
    }

    const Mistake *m = find_mistake(spec, cases, n_cases, first, a, answered);
    if (m) {
        hints_add(out, "diagnosis: %s\n", m->hint);
        return 1;
    }
    if (precision_pattern(&cases[first].args[a], out)) return 0;
    int explained;
    int printed = value_patterns(cases, n_cases, first, a, arg_status, &explained, out);
    if (!explained) printed += case_pattern(cases, n_cases, seen, failed, out);
    if (!printed) {
        const char *formula = NULL;
        size_t len = strlen(cases[first].args[a].name);
        for (const char *const *f = spec->formulas; f && *f && !formula; f++)
            if (strncmp(*f, cases[first].args[a].name, len) == 0 &&
                ((*f)[len] == '[' || (*f)[len] == ' '))
                formula = *f;
        if (formula)
            hints_add(out,
                      "hint: no known mistake gives this answer. The definition is %s; work out "
                      "the first wrong entry by hand from it, and compare with what your loops "
                      "compute.",
                      formula);
        else
            hints_add(out,
                      "hint: no known mistake gives this answer. Work out the first wrong entry "
                      "by hand from the formula in the contract, and compare it with what your "
                      "loops compute.");
    }
    return 0;
}
