/* grader_main.c: grades a student's exercises and prints the score.
 *
 *   grader --status FILE --dir DIR [--only NAMES] [--seed N] [--timeout S] [--verbose]
 *   grader --list | --help | --check-catalogue
 *
 * `make grade` runs it through grade.sh, which compiles the student's files
 * and writes FILE: one line per topic, "topic<TAB>state<TAB>path[<TAB>log]",
 * state being ok (path: the runner holding the student's code; log: the
 * compiler's warnings), missing, compile or link (path: the compiler's or
 * linker's messages). For every function it prints ok, not implemented or
 * FAIL with the case, the first wrong entry and what kind of mistake it
 * is; it ends with "score: N/M", M the number of functions graded, and
 * exits 0 only at full marks (1 otherwise, 2 for bad usage). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "error.h"
#include "grader.h"
#include "gradcheck.h"

/* A gradient passes the numerical check below the checker's threshold. */
#define GRADCHECK_PASS GRADCHECK_THRESHOLD

#define MAX_CASES 16

typedef struct {
    const char *topic;
    const FunctionSpec *specs;
} Topic;

static const Topic topics[] = {
    {"im2col", im2col_specs},       {"conv", conv_specs},       {"relu", relu_specs},
    {"maxpool", maxpool_specs},     {"fc", fc_specs},           {"softmax", softmax_specs},
    {"batchnorm", batchnorm_specs}, {"dropout", dropout_specs}, {"optim", optim_specs},
};
#define TOPIC_COUNT (int)(sizeof topics / sizeof topics[0])

typedef struct {
    const char *status_file, *dir, *only;
    unsigned long seed;
    double timeout;
    int verbose;
    int check_catalogue;
} Options;

typedef struct {
    char state[16];  /* ok, missing, compile, link */
    char path[1024]; /* runner, or the log of the failure */
    char log[1024];  /* compiler warnings (state ok) */
} TopicStatus;

/* The help a student reads: how to run the grader through make, and the
 * options GRADE_FLAGS passes on. */
static void usage(FILE *to)
{
    fputs("usage: make grade [EX=NAME,...] [EXERCISES=DIR] [GRADE_FLAGS='OPTION ...']\n"
          "\n"
          "Compiles your files (exercises/, or DIR), runs each function on its cases and\n"
          "compares every answer with the workbench's own layers; for a wrong answer it\n"
          "names the case, the first wrong entry and, when it can, the kind of mistake.\n"
          "\n"
          "  EX=NAME,...     grade only these: a function (EX=conv_backward, EX=im2col)\n"
          "                  or every function of a file (EX=relu, EX=im2col.c)\n"
          "  EXERCISES=DIR   your own folder of .c files; a file it lacks counts as not written\n"
          "\n"
          "options, in GRADE_FLAGS:\n"
          "  --verbose       also every case's errors, and what your functions print\n"
          "  --timeout S     seconds each call may take before it counts as an endless loop\n"
          "                  (default 3, from 0.1 to 600)\n"
          "  --seed N        draw other cases (default 1; the same N gives the same cases)\n"
          "  --list          the files and their functions\n"
          "  --help          this text\n"
          "\n"
          "make runs build/grade/grader --status FILE --dir DIR [--only NAME,...] [OPTION ...],\n"
          "FILE being the compiler's verdict on each file (exercises/grader/grade.sh writes it).\n",
          to);
}

/* ---- printing ------------------------------------------------------------- */

/* Prints text wrapped at 100 columns, the first line after `lead`, the
 * others indented to match. */
static void print_wrapped(const char *indent, const char *lead, const char *text)
{
    const int width = 100;
    int column = printf("%s%s", indent, lead);
    int hang = (int)(strlen(indent) + strlen(lead));
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        const char *end = p;
        while (*end && *end != ' ') end++;
        int word = (int)(end - p);
        if (column > hang && column + 1 + word > width) {
            printf("\n%*s", hang, "");
            column = hang;
        } else if (column > hang) {
            putchar(' ');
            column++;
        }
        printf("%.*s", word, p);
        column += word;
        p = end;
    }
    putchar('\n');
}

static void print_hints(const Hints *h, const char *indent)
{
    for (int i = 0; i < h->count; i++) {
        const char *colon = strchr(h->text[i], ':');
        char lead[32];
        size_t n = colon ? (size_t)(colon - h->text[i]) + 2 : 0;
        if (n >= sizeof lead) n = 0;
        snprintf(lead, sizeof lead, "%.*s", (int)n, h->text[i]);
        print_wrapped(indent, lead, h->text[i] + n);
    }
}

static void print_name(const char *name, const char *verdict)
{
    printf("  %s ", name);
    for (int i = (int)strlen(name); i < 24; i++) putchar('.');
    printf(" %s\n", verdict);
}

/* Up to `lines` lines of a file, indented. */
static int print_file_head(const char *path, int lines, const char *indent)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[512];
    int printed = 0;
    while (printed < lines && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        printf("%s%s\n", indent, line);
        printed++;
    }
    int more = fgets(line, sizeof line, f) != NULL;
    if (more) printf("%s... (the rest is in %s)\n", indent, path);
    fclose(f);
    return printed;
}

/* ---- grading one function --------------------------------------------------- */

typedef struct {
    Comparison cmp[MAX_ARGS];
    double numeric[MAX_ARGS]; /* -1: not a gradient, or not checked */
    int input_changed[MAX_ARGS];
    int failed;
} CaseResult;

static void evaluate_case(const FunctionSpec *spec, Case *c, CaseResult *r)
{
    memset(r, 0, sizeof *r);
    for (int a = 0; a < c->n_args; a++) {
        Arg *arg = &c->args[a];
        r->numeric[a] = -1;
        if (arg->role == ROLE_IN) {
            if (arg->is_int)
                r->input_changed[a] =
                    memcmp(arg->ivalue, arg->got_int, arg->size * sizeof(int)) != 0;
            else
                for (size_t i = 0; i < arg->size && !r->input_changed[a]; i++)
                    r->input_changed[a] = memcmp(&arg->value[i], &arg->got[i], sizeof(double)) != 0;
            r->failed |= r->input_changed[a];
            r->cmp[a].ok = 1;
            continue;
        }
        r->cmp[a] = compare_arg(arg);
        int finite = 1;
        for (size_t i = 0; i < arg->size && finite; i++) finite = isfinite(arg->got[i]);
        /* a NaN would vanish from the checker's largest error: count it as the worst */
        if (spec->numeric && !c->numeric_skip) {
            r->numeric[a] = spec->numeric(c, a);
            if (!finite && r->numeric[a] >= 0) r->numeric[a] = INFINITY;
        }
        if (!r->cmp[a].ok || r->numeric[a] >= GRADCHECK_PASS) r->failed = 1;
    }
}

/* Nothing written: every OUT array all zeros, every INOUT unchanged. */
static int untouched(const Case *c)
{
    for (int a = 0; a < c->n_args; a++) {
        const Arg *arg = &c->args[a];
        for (size_t i = 0; i < arg->size; i++) {
            if (arg->role == ROLE_OUT && arg->got[i] != 0) return 0;
            if (arg->role == ROLE_INOUT && arg->got[i] != arg->value[i]) return 0;
        }
    }
    return 1;
}

static void print_value_pair(const Arg *a, size_t i)
{
    char bracket[96], named[96];
    index_text(a, i, bracket, sizeof bracket, named, sizeof named);
    if (a->is_return)
        printf("expected %.9g, got %.9g", a->expected[i], a->got[i]);
    else if (a->ndim == 1)
        printf("%s: expected %.9g, got %.9g", bracket, a->expected[i], a->got[i]);
    else
        printf("%s %s: expected %.9g, got %.9g", bracket, named, a->expected[i], a->got[i]);
    if (a->role == ROLE_INOUT) printf(" (it was %.9g on entry)", a->value[i]);
}

static void print_case_line(int index, int count, const Case *c)
{
    printf("      case %d of %d: %s\n", index + 1, count, c->what);
}

/* Every case's largest error, output by output (--verbose). */
static void print_case_errors(int ran, int count, const Case *cases, const CaseResult *results)
{
    for (int j = 0; j < ran; j++) {
        print_case_line(j, count, &cases[j]);
        for (int a = 0; a < cases[j].n_args; a++) {
            const Arg *arg = &cases[j].args[a];
            if (results[j].input_changed[a])
                printf("          %s: changed by your function\n", arg->name);
            if (arg->role == ROLE_IN) continue;
            const Comparison *cmp = &results[j].cmp[a];
            printf("          %s: max relative error %.1e against the library", arg->name,
                   cmp->max_error);
            if (!cmp->ok && arg->size > 1)
                printf(" (%zu of %zu entries wrong)", cmp->wrong_count, arg->size);
            else if (!cmp->ok)
                printf(" (wrong)");
            if (results[j].numeric[a] >= 0)
                printf(", %.1e against the numerical gradient", results[j].numeric[a]);
            printf("\n");
        }
    }
}

static void print_case_list(const CaseResult *results, int ran, int count, RunStatus stop)
{
    const char *stopped = stop == RUN_TIMEOUT  ? "timed out"
                          : stop == RUN_CRASH  ? "crashed"
                          : stop == RUN_EXITED ? "exited"
                                               : "not run";
    printf("      cases:");
    for (int j = 0; j < count; j++)
        printf(" %d %s%s", j + 1,
               j > ran             ? "not run"
               : j == ran          ? stopped
               : results[j].failed ? "FAIL"
                                   : "ok",
               j + 1 < count ? "," : "\n");
}

static int grade_function(const FunctionSpec *spec, const char *runner, const Options *o)
{
    Case cases[MAX_CASES];
    CaseResult results[MAX_CASES];
    RunResult run = {.status = RUN_OK};
    const int n = spec->n_cases;
    memset(cases, 0, sizeof cases);
    Rng rng;
    uint64_t seed = o->seed * 0x9e3779b97f4a7c15ULL;
    for (const char *p = spec->name; *p; p++) seed = seed * 131 + (unsigned char)*p;
    rng_seed(&rng, seed);
    for (int j = 0; j < n; j++) spec->make_case(&cases[j], j, &rng);

    int ran = 0;
    char printed_output[1024] = "";
    for (; ran < n; ran++) {
        run = sandbox_run(runner, spec->name, &cases[ran]);
        if (run.status != RUN_OK) break;
        if (!printed_output[0] && run.output[0])
            snprintf(printed_output, sizeof printed_output, "%s", run.output);
    }
    if (run.status == RUN_OK && run.output[0] && !printed_output[0])
        snprintf(printed_output, sizeof printed_output, "%s", run.output);

    int passed = 0;
    if (run.status == RUN_MISSING) {
        char verdict[128];
        snprintf(verdict, sizeof verdict, "not implemented (%s.c has no function %s)", spec->topic,
                 spec->name);
        print_name(spec->name, verdict);
        goto done;
    }
    if (run.status == RUN_INTERNAL) {
        print_name(spec->name, "FAIL");
        print_wrapped("      ", "grader error: ", run.message);
        goto done;
    }

    int failed_first = -1, all_untouched = ran == n;
    for (int j = 0; j < ran; j++) {
        evaluate_case(spec, &cases[j], &results[j]);
        if (results[j].failed && failed_first < 0) failed_first = j;
        all_untouched = all_untouched && untouched(&cases[j]);
    }
    if (all_untouched && failed_first >= 0) {
        int writes = 0;
        for (int a = 0; a < cases[0].n_args; a++) writes |= cases[0].args[a].role == ROLE_OUT;
        print_name(spec->name, writes ? "not implemented (every output is 0)"
                                      : "not implemented (it changes nothing)");
        goto done;
    }
    if (run.status == RUN_OK && failed_first < 0) {
        char verdict[64];
        snprintf(verdict, sizeof verdict, "ok (%d case%s)", n, n == 1 ? "" : "s");
        print_name(spec->name, verdict);
        if (o->verbose) print_case_errors(n, n, cases, results);
        passed = 1;
        goto done;
    }

    print_name(spec->name, "FAIL");
    /* the reports in case order: the first wrong answer, then a crash,
     * time-out or exit (which ends the run, so it comes last) */
    if (failed_first >= 0) {
        Case *c = &cases[failed_first];
        CaseResult *r = &results[failed_first];
        print_case_line(failed_first, n, c);
        Hints hints = {.count = 0};
        for (int a = 0; a < c->n_args; a++) {
            Arg *arg = &c->args[a];
            if (r->input_changed[a]) {
                printf("      %s: your function changed this input (it is read-only: the caller "
                       "still needs it)\n",
                       arg->name);
                continue;
            }
            if (arg->role == ROLE_IN) continue;
            int numeric_bad = r->numeric[a] >= GRADCHECK_PASS;
            if (r->cmp[a].ok && !numeric_bad) continue;
            printf("      %s: ", arg->name);
            if (!r->cmp[a].ok) {
                if (arg->size > 1)
                    printf("%zu of %zu entries wrong; the first, ", r->cmp[a].wrong_count,
                           arg->size);
                print_value_pair(arg, r->cmp[a].first_wrong);
                printf("\n");
            } else {
                printf("matches the library, but not the numerical gradient\n");
            }
            if (r->numeric[a] >= 0)
                printf("          against the numerical gradient: max relative error %.1e (a right "
                       "answer is below %.0e)\n",
                       r->numeric[a], GRADCHECK_PASS);
            /* the case the run stopped at (a crash, a time-out, an exit) fails too */
            unsigned status[MAX_CASES];
            for (int j = 0; j < n; j++) {
                if (j >= ran)
                    status[j] = j == ran ? ARG_STOPPED : ARG_NOT_RUN;
                else if (!results[j].cmp[a].ok || results[j].numeric[a] >= GRADCHECK_PASS)
                    status[j] = ARG_FAILED;
                else
                    status[j] = ARG_PASSED;
            }
            diagnose_arg(spec, cases, n, failed_first, a, status, &hints);
        }
        print_hints(&hints, "      ");
    }
    if (run.status != RUN_OK) {
        print_case_line(ran, n, &cases[ran]);
        print_wrapped("      ", "", run.message);
        if (run.output[0]) {
            printf("      it printed:\n");
            for (char *line = strtok(run.output, "\n"); line; line = strtok(NULL, "\n"))
                printf("        | %s\n", line);
        }
    }
    if (n > 1) print_case_list(results, ran, n, run.status);
    if (o->verbose && ran > 0) {
        printf("      the largest errors, case by case:\n");
        print_case_errors(ran, n, cases, results);
    }

done:
    if (o->verbose && printed_output[0]) {
        printf("      your function printed (first case that printed):\n");
        for (char *line = strtok(printed_output, "\n"); line; line = strtok(NULL, "\n"))
            printf("        | %s\n", line);
    }
    for (int j = 0; j < n; j++) case_free(&cases[j]);
    fflush(stdout);
    return passed;
}

static int selected(const char *only, const char *topic, const char *function);

/* ---- checking the catalogue ------------------------------------------------- */

/* For every catalogued mistake: if a student's function gave exactly that
 * mistake's answers, would the grader fail it with that mistake's
 * diagnosis? A mistake that never changes an answer in these cases, or
 * that another one earlier in the list hides, is reported. Runs no
 * student code. Returns the number of problems. */
static int check_catalogue(const Options *o)
{
    int problems = 0, checked = 0;
    for (int t = 0; t < TOPIC_COUNT; t++)
        for (const FunctionSpec *spec = topics[t].specs; spec->name; spec++) {
            if (!selected(o->only, topics[t].topic, spec->name)) continue;
            for (int k = 0; k < spec->n_mistakes; k++) {
                const Mistake *m = &spec->mistakes[k];
                Case cases[MAX_CASES];
                CaseResult results[MAX_CASES];
                Rng rng;
                rng_seed(&rng, o->seed + 1000 * (uint64_t)k);
                memset(cases, 0, sizeof cases);
                int first = -1, n = spec->n_cases;
                for (int j = 0; j < n; j++) {
                    Case *c = &cases[j];
                    spec->make_case(c, j, &rng);
                    double **pred = prediction_alloc(c);
                    double ret = c->has_return ? c->args[c->n_args - 1].expected[0] : 0;
                    m->predict(c, pred, &ret);
                    for (int a = 0; a < c->n_args; a++) {
                        Arg *arg = &c->args[a];
                        if (arg->is_int) memcpy(arg->got_int, arg->ivalue, arg->size * sizeof(int));
                        else memcpy(arg->got, pred[a] ? pred[a] : arg->value, arg->size * sizeof(double));
                    }
                    if (c->has_return) c->args[c->n_args - 1].got[0] = c->ret_got = ret;
                    prediction_free(pred);
                    evaluate_case(spec, c, &results[j]);
                    if (results[j].failed && first < 0) first = j;
                }
                checked++;
                int found = 0;
                if (first >= 0) {
                    Hints hints = {.count = 0};
                    for (int a = 0; a < cases[first].n_args; a++) {
                        if (results[first].cmp[a].ok) continue;
                        unsigned status[MAX_CASES];
                        for (int j = 0; j < n; j++)
                            status[j] = results[j].cmp[a].ok ? ARG_PASSED : ARG_FAILED;
                        diagnose_arg(spec, cases, n, first, a, status, &hints);
                    }
                    for (int h = 0; h < hints.count; h++)
                        found |= strncmp(hints.text[h], "diagnosis: ", 11) == 0 &&
                                 strcmp(hints.text[h] + 11, m->hint) == 0;
                    if (!found) {
                        printf("%s: mistake %d is diagnosed as something else:\n  %.100s\n",
                               spec->name, k + 1, m->hint);
                        print_hints(&hints, "    ");
                    }
                } else {
                    printf("%s: mistake %d never changes an answer in these cases:\n  %.100s\n",
                           spec->name, k + 1, m->hint);
                }
                problems += !found;
                for (int j = 0; j < n; j++) case_free(&cases[j]);
            }
        }
    printf("catalogue: %d mistakes, %d diagnosed as themselves, %d problems\n", checked,
           checked - problems, problems);
    return problems;
}

/* ---- topics --------------------------------------------------------------- */

static int read_status(const char *path, TopicStatus *status)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *fields[4] = {NULL, NULL, NULL, NULL}, *save = NULL;
        int count = 0;
        for (char *t = strtok_r(line, "\t", &save); t && count < 4; t = strtok_r(NULL, "\t", &save))
            fields[count++] = t;
        if (count < 2) continue;
        for (int t = 0; t < TOPIC_COUNT; t++) {
            if (strcmp(fields[0], topics[t].topic) != 0) continue;
            snprintf(status[t].state, sizeof status[t].state, "%s", fields[1]);
            snprintf(status[t].path, sizeof status[t].path, "%s", fields[2] ? fields[2] : "");
            snprintf(status[t].log, sizeof status[t].log, "%s", fields[3] ? fields[3] : "");
        }
    }
    fclose(f);
    return 0;
}

static int is_function(const char *name)
{
    for (int t = 0; t < TOPIC_COUNT; t++)
        for (const FunctionSpec *s = topics[t].specs; s->name; s++)
            if (strcmp(name, s->name) == 0) return 1;
    return 0;
}

/* Is `function` of file `topic` selected by the comma list `only`? A name
 * is a function's if one has it (im2col is the function im2col), else a
 * file's (relu: both functions of relu.c); a name ending in .c is always a
 * file's (im2col.c: im2col and col2im_add). */
static int selected(const char *only, const char *topic, const char *function)
{
    if (!only || !*only) return 1;
    char list[512];
    snprintf(list, sizeof list, "%s", only);
    char *save = NULL;
    for (char *item = strtok_r(list, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        size_t len = strlen(item);
        int file = len > 2 && strcmp(item + len - 2, ".c") == 0;
        if (file) item[len - 2] = 0;
        if (!file && is_function(item)) {
            if (strcmp(item, function) == 0) return 1;
            continue;
        }
        if (strcmp(item, topic) == 0) return 1;
        if (strcmp(item, "pool") == 0 && strcmp(topic, "maxpool") == 0) return 1;
    }
    return 0;
}

static int check_only(const char *only)
{
    char list[512];
    snprintf(list, sizeof list, "%s", only);
    char *save = NULL;
    int items = 0;
    for (char *item = strtok_r(list, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        int found = 0;
        items++;
        for (int t = 0; t < TOPIC_COUNT && !found; t++)
            for (const FunctionSpec *s = topics[t].specs; s->name && !found; s++)
                found = selected(item, topics[t].topic, s->name);
        if (!found) {
            fprintf(stderr, "grader: EX=%s: no such exercise. Files:", item);
            for (int t = 0; t < TOPIC_COUNT; t++) fprintf(stderr, " %s", topics[t].topic);
            fprintf(stderr, " (or a function: `make grade GRADE_FLAGS=--list` lists them)\n");
            return -1;
        }
    }
    if (items == 0) {
        /* grading nothing would score 0/0, and exit 0 as if at full marks */
        fprintf(stderr, "grader: EX='%s' names no exercise: give a file or a function "
                        "(`make grade GRADE_FLAGS=--list` lists them), or leave EX out for all\n",
                only);
        return -1;
    }
    return 0;
}

static void list_exercises(void)
{
    for (int t = 0; t < TOPIC_COUNT; t++) {
        printf("%s.c:", topics[t].topic);
        for (const FunctionSpec *s = topics[t].specs; s->name; s++) printf(" %s", s->name);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    Options o = {.seed = 1, .timeout = 3};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--list") == 0) {
            list_exercises();
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--check-catalogue") == 0) {
            o.check_catalogue = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            o.verbose = 1;
        } else if (next && strcmp(a, "--status") == 0) {
            o.status_file = argv[++i];
        } else if (next && strcmp(a, "--dir") == 0) {
            o.dir = argv[++i];
        } else if (next && strcmp(a, "--only") == 0) {
            o.only = argv[++i];
        } else if (next && strcmp(a, "--seed") == 0) {
            o.seed = strtoul(next, &end, 10);
            i++;
            if (!*next || *end) {
                fprintf(stderr, "grader: --seed %s: not a whole number\n", next);
                return 2;
            }
        } else if (next && strcmp(a, "--timeout") == 0) {
            o.timeout = strtod(next, &end);
            i++;
            if (!*next || *end || !(o.timeout >= 0.1 && o.timeout <= 600)) {
                fprintf(stderr, "grader: --timeout %s: give a number of seconds from 0.1 to 600\n",
                        next);
                return 2;
            }
        } else {
            fprintf(stderr, "grader: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (o.only && check_only(o.only) != 0) return 2;
    if (o.check_catalogue) {
#ifdef _OPENMP
        omp_set_num_threads(1);
#endif
        return check_catalogue(&o) == 0 ? 0 : 1;
    }
    if (!o.status_file || !o.dir) {
        fprintf(stderr, "grader: %s: it grades the files that `make grade` compiles for it.\n\n",
                argc == 1 ? "nothing to grade" : "--status and --dir are both needed");
        usage(stderr);
        return 2;
    }
    TopicStatus status[TOPIC_COUNT];
    memset(status, 0, sizeof status);
    if (read_status(o.status_file, status) != 0) {
        fprintf(stderr, "grader: cannot read %s\n", o.status_file);
        return 2;
    }
#ifdef _OPENMP
    omp_set_num_threads(1); /* the library's answers are small; no thread pool */
#endif
    sandbox_init(o.timeout);

    int score = 0, total = 0;
    for (int t = 0; t < TOPIC_COUNT; t++) {
        const Topic *topic = &topics[t];
        const TopicStatus *s = &status[t];
        int any = 0;
        for (const FunctionSpec *spec = topic->specs; spec->name; spec++)
            any |= selected(o.only, topic->topic, spec->name);
        if (!any) continue;
        printf("== %s: %s/%s.c\n", topic->topic, o.dir, topic->topic);
        const char *why = NULL;
        if (strcmp(s->state, "ok") == 0) {
            FILE *log = s->log[0] ? fopen(s->log, "r") : NULL;
            if (log && fgetc(log) != EOF) {
                printf("  the compiler warns (fix these first: warnings are often the bug):\n");
                print_file_head(s->log, 8, "    ");
            }
            if (log) fclose(log);
        } else if (strcmp(s->state, "compile") == 0) {
            printf("  %s.c does not compile:\n", topic->topic);
            print_file_head(s->path, 12, "    ");
            why = "0 points: the file does not compile";
        } else if (strcmp(s->state, "link") == 0) {
            printf(
                "  %s.c does not link (a function defined twice, or one that no file defines):\n",
                topic->topic);
            print_file_head(s->path, 8, "    ");
            why = "0 points: the file does not link";
        } else {
            why = "not implemented (the file is missing)";
        }
        for (const FunctionSpec *spec = topic->specs; spec->name; spec++) {
            if (!selected(o.only, topic->topic, spec->name)) continue;
            total++;
            if (why)
                print_name(spec->name, why);
            else
                score += grade_function(spec, s->path, &o);
        }
    }
    sandbox_cleanup();
    printf("score: %d/%d\n", score, total);
    return score == total ? 0 : 1;
}
