/* runner_main.c: the student's side of the grader.
 *
 * Linked with the student's files (compiled with AddressSanitizer and
 * UndefinedBehaviorSanitizer) and nothing of the workbench, so that names
 * in a student's file can never clash with the library's. The grader
 * starts it once as a server:
 *
 *     runner --serve DIR
 *
 * and, for every call of a student's function, writes DIR/request (the
 * function's name, its int and double arguments and its arrays) and sends
 * the line "run SECONDS". The server forks a child for the call: the child
 * sends its output to DIR/log, sets an alarm() of SECONDS, copies every
 * array into a heap block of exactly its size (so that the sanitizer
 * reports the first access past either end), prints where each array
 * lives ("@array NAME ADDRESS BYTES", for the grader to name the array a
 * report points into), calls the function, and writes every array back,
 * with the return value, to DIR/response, ending with "DONE". The server
 * answers "exit CODE" or "signal NUMBER" when the child ends. Forking an
 * initialised process is ten times faster than starting a sanitized one.
 * The server itself never calls student code.
 *
 * A child's exit status: 0 after a complete response (a response without
 * the end mark means the function never returned), 3 for a malformed
 * request or an unknown function (a grader bug), 4 if the function is not
 * defined in any of the student's files, 86 for a sanitizer's report. A
 * student's function may call exit() with any of these, so the runner's
 * own 3 and 4 come with a note in the log ("@failed WHY", "@missing
 * FUNCTION"), and 86 with the sanitizer's report: an exit status without
 * its note is the student's exit(). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercises.h"

/* Weak references: a function whose file is missing or does not define it
 * is a null pointer here instead of a link error. */
#pragma weak im2col
#pragma weak col2im_add
#pragma weak conv_forward
#pragma weak conv_backward
#pragma weak relu_forward
#pragma weak relu_backward
#pragma weak maxpool_forward
#pragma weak maxpool_backward
#pragma weak fc_forward
#pragma weak fc_backward
#pragma weak softmax_xent_loss
#pragma weak softmax_xent_gradient
#pragma weak batchnorm_forward
#pragma weak batchnorm_backward
#pragma weak dropout_forward
#pragma weak dropout_backward
#pragma weak sgd_momentum_step
#pragma weak adam_step

/* The sanitizers' settings, for every run: stop at the first error with a
 * recognisable exit status, no leak report (a leak is not a wrong answer). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0:halt_on_error=1:exitcode=86:allocator_may_return_null=0:"
           "max_allocation_size_mb=2048:handle_abort=1";
}

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1:exitcode=86";
}

#define MAX_ITEMS 16

typedef struct {
    char function[64];
    int ints[MAX_ITEMS];
    double reals[MAX_ITEMS];
    int n_ints, n_reals, n_arrays;
    char names[MAX_ITEMS][16];
    char kinds[MAX_ITEMS]; /* 'd' double, 'i' int */
    uint64_t counts[MAX_ITEMS];
    void *arrays[MAX_ITEMS];
} Request;

static int read_exact(FILE *f, void *buf, size_t bytes)
{
    return fread(buf, 1, bytes, f) == bytes ? 0 : -1;
}

static int read_u32(FILE *f, uint32_t *v)
{
    return read_exact(f, v, sizeof *v);
}

static int read_request(const char *path, Request *r)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char magic[4];
    uint32_t len, n;
    int bad = read_exact(f, magic, 4) || memcmp(magic, "EXRQ", 4) != 0 || read_u32(f, &len) ||
              len >= sizeof r->function || read_exact(f, r->function, len);
    if (!bad) r->function[len] = 0;
    bad = bad || read_u32(f, &n) || n > MAX_ITEMS;
    if (!bad) {
        r->n_ints = (int)n;
        bad = read_exact(f, r->ints, n * sizeof(int));
    }
    bad = bad || read_u32(f, &n) || n > MAX_ITEMS;
    if (!bad) {
        r->n_reals = (int)n;
        bad = read_exact(f, r->reals, n * sizeof(double));
    }
    bad = bad || read_u32(f, &n) || n > MAX_ITEMS;
    if (!bad) r->n_arrays = (int)n;
    for (int a = 0; !bad && a < r->n_arrays; a++) {
        bad = read_u32(f, &len) || len >= sizeof r->names[a] || read_exact(f, r->names[a], len);
        if (bad) break;
        r->names[a][len] = 0;
        bad = read_exact(f, &r->kinds[a], 1) || read_exact(f, &r->counts[a], sizeof(uint64_t)) ||
              r->counts[a] > ((uint64_t)1 << 28) || (r->kinds[a] != 'd' && r->kinds[a] != 'i');
        if (bad) break;
        size_t elem = r->kinds[a] == 'd' ? sizeof(double) : sizeof(int);
        size_t bytes = (size_t)r->counts[a] * elem;
        /* exactly the array's size: one element more is already past the end */
        r->arrays[a] = malloc(bytes ? bytes : 1);
        bad = r->arrays[a] == NULL || read_exact(f, r->arrays[a], bytes);
    }
    fclose(f);
    return bad ? -1 : 0;
}

static int write_response(const char *path, const Request *r, double result)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite("EXRS", 1, 4, f);
    fwrite(&result, sizeof result, 1, f);
    uint32_t n = (uint32_t)r->n_arrays;
    fwrite(&n, sizeof n, 1, f);
    for (int a = 0; a < r->n_arrays; a++) {
        size_t elem = r->kinds[a] == 'd' ? sizeof(double) : sizeof(int);
        fwrite(&r->counts[a], sizeof(uint64_t), 1, f);
        fwrite(r->arrays[a], elem, (size_t)r->counts[a], f);
    }
    fwrite("DONE", 1, 4, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* The calls, argument by argument in the order of the prototypes in
 * exercises.h; the grader's cases (cases_*.c) send them in the same order. */
#define D(k) ((double *)r->arrays[k])
#define IA(k) ((int *)r->arrays[k])
#define I(k) (r->ints[k])
#define R(k) (r->reals[k])

/* Returns 0 after calling, 1 if the function is not defined, -1 if unknown. */
static int call(const Request *r, double *result)
{
    const char *f = r->function;
    *result = 0;
#define IS(name) (strcmp(f, #name) == 0 && (name ? 1 : (missing = 1, 0)))
    int missing = 0;
    if (IS(im2col))
        im2col(D(0), I(0), I(1), I(2), I(3), I(4), I(5), I(6), D(1));
    else if (IS(col2im_add))
        col2im_add(D(0), I(0), I(1), I(2), I(3), I(4), I(5), I(6), D(1));
    else if (IS(conv_forward))
        conv_forward(D(0), D(1), D(2), I(0), I(1), I(2), I(3), I(4), I(5), I(6), I(7), I(8), D(3));
    else if (IS(conv_backward))
        conv_backward(D(0), D(1), D(2), I(0), I(1), I(2), I(3), I(4), I(5), I(6), I(7), I(8), D(3),
                      D(4), D(5));
    else if (IS(relu_forward))
        relu_forward(D(0), I(0), D(1));
    else if (IS(relu_backward))
        relu_backward(D(0), D(1), I(0), D(2));
    else if (IS(maxpool_forward))
        maxpool_forward(D(0), I(0), I(1), I(2), I(3), I(4), I(5), I(6), D(1));
    else if (IS(maxpool_backward))
        maxpool_backward(D(0), D(1), I(0), I(1), I(2), I(3), I(4), I(5), I(6), D(2));
    else if (IS(fc_forward))
        fc_forward(D(0), D(1), D(2), I(0), I(1), I(2), I(3), I(4), D(3));
    else if (IS(fc_backward))
        fc_backward(D(0), D(1), D(2), I(0), I(1), I(2), I(3), I(4), D(3), D(4), D(5));
    else if (IS(softmax_xent_loss))
        *result = softmax_xent_loss(D(0), IA(1), I(0), I(1));
    else if (IS(softmax_xent_gradient))
        softmax_xent_gradient(D(0), IA(1), I(0), I(1), D(2));
    else if (IS(batchnorm_forward))
        batchnorm_forward(D(0), D(1), D(2), I(0), I(1), I(2), I(3), D(3), D(4), D(5));
    else if (IS(batchnorm_backward))
        batchnorm_backward(D(0), D(1), D(2), I(0), I(1), I(2), I(3), D(3), D(4), D(5));
    else if (IS(dropout_forward))
        dropout_forward(D(0), IA(1), I(0), R(0), I(1), D(2));
    else if (IS(dropout_backward))
        dropout_backward(D(0), IA(1), I(0), R(0), D(2));
    else if (IS(sgd_momentum_step))
        sgd_momentum_step(D(0), D(1), D(2), I(0), R(0), R(1), R(2));
    else if (IS(adam_step))
        adam_step(D(0), D(1), D(2), D(3), I(0), I(1), R(0), R(1), R(2), R(3));
    else
        return missing ? 1 : -1;
#undef IS
    return 0;
}

/* One call, in the child: returns its exit status. */
static int run_one(const char *request, const char *response)
{
    static Request r;
    if (read_request(request, &r) != 0) {
        fprintf(stderr, "@failed unreadable request\n");
        return 3;
    }
    for (int a = 0; a < r.n_arrays; a++) {
        size_t elem = r.kinds[a] == 'd' ? sizeof(double) : sizeof(int);
        fprintf(stderr, "@array %s %p %zu\n", r.names[a], r.arrays[a], (size_t)r.counts[a] * elem);
    }
    fflush(stderr);
    double result;
    int status = call(&r, &result);
    if (status == 1) {
        fprintf(stderr, "@missing %s\n", r.function);
        return 4;
    }
    if (status < 0) {
        fprintf(stderr, "@failed unknown function '%s'\n", r.function);
        return 3;
    }
    fflush(NULL);
    if (write_response(response, &r, result) != 0) {
        fprintf(stderr, "@failed cannot write %s\n", response);
        return 3;
    }
    return 0;
}

/* Dies with its parent (Linux): a server whose grader was interrupted,
 * and a call whose server is gone, do not linger. */
static void die_with_parent(void)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
}

static void child(const char *dir, unsigned seconds)
{
    die_with_parent();
    char request[1024], response[1024], log[1024];
    snprintf(request, sizeof request, "%s/request", dir);
    snprintf(response, sizeof response, "%s/response", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0) _exit(3);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    close(in);
    close(out);
    signal(SIGPIPE, SIG_DFL);
    setvbuf(stdout, NULL, _IONBF, 0); /* what it printed survives a crash */
    alarm(seconds);                   /* the time limit: SIGALRM ends the child */
    _exit(run_one(request, response));
}

/* Reads one line from fd 0 into line; 0 at the end of input. */
static int read_line(char *line, size_t len)
{
    size_t used = 0;
    while (used + 1 < len) {
        ssize_t got = read(0, line + used, 1);
        if (got <= 0) return 0;
        if (line[used] == '\n') break;
        used++;
    }
    line[used] = 0;
    return 1;
}

/* The server's own failure to run a call: its note in the call's log, where
 * the grader looks for it beside the exit status 3. */
static void note_failure(const char *dir, const char *what, int error)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/log", dir);
    FILE *log = fopen(path, "w");
    if (!log) return;
    fprintf(log, "@failed %s: %s\n", what, strerror(error));
    fclose(log);
}

static int serve(const char *dir)
{
    char line[64], answer[64];
    die_with_parent();
    signal(SIGPIPE, SIG_IGN);
    while (read_line(line, sizeof line)) {
        unsigned seconds;
        if (sscanf(line, "run %u", &seconds) != 1) continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) child(dir, seconds);
        int status = 0;
        if (pid < 0) {
            note_failure(dir, "cannot start a process for the call", errno);
            snprintf(answer, sizeof answer, "exit 3\n");
        } else if (waitpid(pid, &status, 0) != pid) {
            note_failure(dir, "lost the process of the call", errno);
            snprintf(answer, sizeof answer, "exit 3\n");
        } else if (WIFSIGNALED(status)) {
            snprintf(answer, sizeof answer, "signal %d\n", WTERMSIG(status));
        } else {
            snprintf(answer, sizeof answer, "exit %d\n", WEXITSTATUS(status));
        }
        if (write(1, answer, strlen(answer)) < 0) return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
    if (argc == 3) return run_one(argv[1], argv[2]);
    fprintf(stderr, "usage: runner --serve DIR | runner REQUEST RESPONSE\n");
    return 3;
}
