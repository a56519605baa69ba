/* grader.h: the exercises' grader.
 *
 * For every function a student writes, the grader builds a few cases
 * (cases_*.c): the arguments, and the library's answer for them. It runs the
 * student's function on each case in a child process (sandbox.c), compares
 * every output with the library's and every gradient with the numerical
 * gradient (the workbench's checker), and, on a failure, looks for the
 * mistake that explains it (diagnose.c): first the catalogue of known
 * mistakes, each a function that computes what the mistaken code would
 * have returned, then patterns (all zeros, a constant factor, a transpose,
 * wrong only near the border or where windows overlap, ...).
 *
 * The grader is linked with the double-precision library; the student's
 * code never is (it runs in the runner, runner_main.c). */
#ifndef GRADER_H
#define GRADER_H

#include <stddef.h>

#include "layer.h"
#include "rng.h"

#define MAX_ARGS 8
#define MAX_INTS 12
#define MAX_REALS 6
#define MAX_FACTORS 16

/* What the function does with an array argument. */
typedef enum {
    ROLE_IN,    /* reads it only */
    ROLE_OUT,   /* overwrites it: it holds garbage on entry */
    ROLE_INOUT, /* updates or adds to it: compared by how much it changed */
} Role;

typedef struct {
    char name[16]; /* as in the contract: "x", "dw" */
    char axes[32]; /* its index names, "n,c,h,w" */
    Role role;
    int is_int; /* labels, keep: int arrays (always inputs) */
    int ndim, dims[4];
    size_t size;
    double *value; /* what the function receives: input, initial value, or garbage */
    int *ivalue;
    double *expected; /* OUT, INOUT: the library's answer */
    double *got;      /* after the call */
    int *got_int;
    int on_input_grid; /* (N, C, H, W) on the case's input image: location hints apply */
    int is_return;     /* the function's return value, not an array: never sent */
} Arg;

/* A number of the case a wrong answer may be off by ("N = 4, the batch size").
 * The name up to " = " says which number it is in every case ("N"). */
typedef struct {
    double value;
    char name[96];
} Factor;

/* Properties of a case, for hints like "fails only when the stride is 2". */
enum {
    TAG_STRIDE = 1 << 0,           /* stride > 1 */
    TAG_PAD = 1 << 1,              /* pad > 0 */
    TAG_NONSQUARE = 1 << 2,        /* kH != kW */
    TAG_BATCH = 1 << 3,            /* N > 1 */
    TAG_OVERLAP = 1 << 4,          /* windows overlap */
    TAG_TIES = 1 << 5,             /* max-pool windows with tied maxima */
    TAG_LARGE = 1 << 6,            /* logits near +-1000 */
    TAG_ACCUMULATE = 1 << 7,       /* the output starts nonzero and must be added to */
    TAG_EVAL = 1 << 8,             /* evaluation mode */
    TAG_IMAGE = 1 << 9,            /* fc on images: C > 1 and H*W > 1 */
    TAG_CHANNELS = 1 << 10,        /* C > 1 */
    TAG_STATE = 1 << 11,           /* optimizer state nonzero on entry */
    TAG_DECAY = 1 << 12,           /* weight decay > 0 */
    TAG_FILTERS = 1 << 13,         /* F > 1 */
    TAG_MAPS = 1 << 14,            /* batchnorm on maps: H*W > 1 */
    TAG_NONSQUARE_IMAGE = 1 << 15, /* H != W */
    TAG_STEP = 1 << 16,            /* Adam's step count t > 1 */
};
#define TAG_COUNT 17

typedef struct {
    char what[256]; /* the case in words: shapes and options */
    unsigned tags;
    int ints[MAX_INTS];
    int n_ints;
    double reals[MAX_REALS];
    int n_reals;
    Arg args[MAX_ARGS];
    int n_args;
    int has_return; /* the function returns a double */
    double ret_expected, ret_got;
    Factor factors[MAX_FACTORS];
    int n_factors;
    int numeric_skip; /* a kink (tied maxima): no numerical check */
    /* the window geometry, for hints about the border and overlaps */
    int has_windows;
    int N, C, H, W, kH, kW, stride, pad, out_h, out_w;
} Case;

/* A known mistake: predicts what the mistaken code returns for a case.
 * pred[a] holds a copy of args[a].expected for every OUT and INOUT arg
 * (NULL for inputs), *ret the expected return value; predict changes what
 * the mistake changes. */
typedef struct {
    const char *hint; /* what is wrong and where to look: one or two sentences */
    void (*predict)(const Case *c, double **pred, double *ret);
} Mistake;

typedef struct {
    const char *name;  /* "conv_backward" */
    const char *topic; /* "conv": the file conv.c */
    int n_cases;
    /* Builds case `index`: arguments (garbage in OUT arrays), expected
     * answers, tags, factors. */
    void (*make_case)(Case *c, int index, Rng *rng);
    /* The largest relative error of args[arg].got against the numerical
     * gradient of the library's forward pass, or -1 if arg is not a
     * gradient. NULL: the function computes no gradient. */
    double (*numeric)(const Case *c, int arg);
    const Mistake *mistakes;
    int n_mistakes;
    /* Each output's definition, "dx[n][d] = ...", for the hint when no
     * mistake or pattern explains a wrong answer. NULL-terminated. */
    const char *const *formulas;
} FunctionSpec;

/* The functions, in the order the exercises are done. */
extern const FunctionSpec im2col_specs[], conv_specs[], relu_specs[], maxpool_specs[], fc_specs[],
    softmax_specs[], batchnorm_specs[], dropout_specs[], optim_specs[];

/* ---- building cases (cases_common.c) ---------------------------------------- */

/* Adds an array argument of the given shape (dims terminated by 0). */
Arg *case_array(Case *c, const char *name, const char *axes, Role role, int ndim, const int *dims);
Arg *case_int_array(Case *c, const char *name, size_t size);
/* The return value, seen as an OUT array of one entry (always the last arg). */
Arg *case_return(Case *c, const char *name);
void case_ints(Case *c, int count, const int *values);
void case_real(Case *c, double value);
void case_factor(Case *c, double value, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void case_describe(Case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void case_windows(Case *c, int N, int C, int H, int W, int kH, int kW, int stride, int pad);
void case_free(Case *c);

/* Garbage for an OUT array (so that an entry left unwritten, or added to
 * instead of written, is recognisable); expected answers start as copies. */
/* A tensor viewing a case's array (nothing is copied or freed). */
Tensor tensor_view(double *data, int ndim, const int *dims);

/* The largest relative error of `analytic` against the numerical gradient
 * of layer's forward at x (ndim, x_dims) with respect to value_or_x (one of
 * its parameters, or NULL for x itself), for upstream gradient dout. */
double layer_numeric_error(Layer *layer, double *x, int ndim, const int *x_dims,
                           Tensor *value_or_x, const double *dout, const double *analytic,
                           const char *name);

void fill_normal(double *x, size_t n, double scale, Rng *rng);
void fill_garbage(Arg *a, Rng *rng);
/* Distinct values at least 0.6 `spacing` apart (a ladder at least `spacing`
 * apart, each rung jittered by under a fifth of its step). With an odd
 * count one rung is 0, so a value may lie near 0: for pools, not ReLUs. */
void fill_distinct(double *x, size_t n, double spacing, Rng *rng);
void expect_copy_of_value(Arg *a);

/* "(2, 3, 8, 8)" */
const char *shape_text(const Arg *a, char *buf, size_t len);

/* ---- comparing and diagnosing (diagnose.c) ---------------------------------- */

#define PASS_THRESHOLD 1e-7

/* Elementwise |got - expected| / max(|got|, |expected|, floor), where floor
 * is 1e-9 of the largest |expected| (entries that should be 0 and are
 * 1e-17 are right); for INOUT arrays, of the changes from the initial value.
 * Non-finite values match only the same non-finite value. */
double entry_error(const Arg *a, const double *want, const double *have, size_t i, double floor);
double tensor_floor(const Arg *a, const double *want);
int arrays_match(const Arg *a, const double *want, const double *have);

typedef struct {
    int ok;
    double max_error;
    size_t first_wrong, wrong_count;
} Comparison;

Comparison compare_arg(const Arg *a);

/* The lines of advice for one function, each once ("diagnosis: ...",
 * "hint: ..."). */
#define MAX_HINTS 8
#define HINT_LENGTH 768
typedef struct {
    char text[MAX_HINTS][HINT_LENGTH];
    int count;
} Hints;

void hints_add(Hints *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How an output fared in one case. */
enum {
    ARG_PASSED,
    ARG_FAILED,
    ARG_NOT_RUN, /* the run stopped at an earlier case */
    ARG_STOPPED, /* the call crashed, timed out or ended the program: a failure, no answers */
};

/* Adds to `out` what is wrong with arg `a`: a catalogued mistake that
 * explains it, or the patterns found. cases[first] is the first case where
 * it fails; arg_status[j] is how it fared in case j (ARG_...). Returns 1 if
 * a catalogued mistake matched. */
int diagnose_arg(const FunctionSpec *spec, Case *cases, int n_cases, int first, int a,
                 const unsigned *arg_status, Hints *out);

/* What a mistake predicts: one array per OUT and INOUT arg (a copy of the
 * expected answer to start from), NULL for inputs. */
double **prediction_alloc(const Case *c);
void prediction_free(double **pred);

/* The index of entry i as "[1][0][2]" and "(n 1, c 0, h 2)". */
void index_text(const Arg *a, size_t i, char *bracket, size_t blen, char *named, size_t nlen);

/* ---- running student code (sandbox.c) --------------------------------------- */

typedef enum {
    RUN_OK,
    RUN_MISSING, /* the function is not defined */
    RUN_TIMEOUT,
    RUN_CRASH,    /* a signal, a sanitizer report */
    RUN_EXITED,   /* ended the program without returning */
    RUN_INTERNAL, /* the grader's own failure */
} RunStatus;

typedef struct {
    RunStatus status;
    char message[1024]; /* for a crash: what, where, which array */
    char output[1024];  /* the first lines the function printed */
} RunResult;

void sandbox_init(double timeout_seconds);
void sandbox_cleanup(void);
RunResult sandbox_run(const char *runner, const char *function, Case *c);

#endif
