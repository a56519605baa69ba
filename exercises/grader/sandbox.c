/* sandbox.c: running one call of a student's function, safely.
 *
 * The student's code lives in the runner (runner_main.c), compiled with
 * AddressSanitizer and UBSan. The grader starts it once, as a server in a
 * process group of its own, with no core files and at most 16 MB of
 * output; for each call the server forks a child that runs the function
 * under an alarm() of the time limit, with its output going to a log. An
 * endless loop ends with the alarm; a crash, an out-of-bounds access or
 * undefined behaviour ends the child with a sanitizer report, which is
 * read back into one sentence: what happened, in which file and line, and
 * which array was overrun. The grader itself never runs student code, so
 * grading goes on with the next function. If no answer comes two seconds
 * after the limit (the child ignored its alarm), the grader kills the
 * server's whole process group and starts a new one for the next call. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "grader.h"

#define RUNNER_FAILED_EXEC 127
#define RUNNER_BAD_REQUEST 3
#define RUNNER_MISSING 4
#define RUNNER_SANITIZER 86 /* runner_main.c's sanitizer options */
#define MAX_OUTPUT_BYTES (16L << 20)

static char work_dir[512];
static char request_path[600], response_path[600], log_path[600];
static double time_limit = 3;

static volatile pid_t server_group;

/* Ctrl-C: stop the runner and remove the temporary files (only
 * async-signal-safe calls), then end as the signal would. */
static void interrupted(int sig)
{
    if (server_group) kill(-server_group, SIGKILL);
    unlink(request_path);
    unlink(response_path);
    unlink(log_path);
    rmdir(work_dir);
    signal(sig, SIG_DFL);
    raise(sig);
}

void sandbox_init(double timeout_seconds)
{
    time_limit = timeout_seconds;
    const char *tmp = getenv("TMPDIR");
    snprintf(work_dir, sizeof work_dir, "%s/exercise-grader.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work_dir)) {
        snprintf(work_dir, sizeof work_dir, "/tmp/exercise-grader.XXXXXX");
        if (!mkdtemp(work_dir)) {
            perror("grader: cannot make a temporary directory");
            exit(2);
        }
    }
    snprintf(request_path, sizeof request_path, "%s/request", work_dir);
    snprintf(response_path, sizeof response_path, "%s/response", work_dir);
    snprintf(log_path, sizeof log_path, "%s/log", work_dir);
    signal(SIGPIPE, SIG_IGN); /* a runner that died must not take the grader with it */
    signal(SIGINT, interrupted);
    signal(SIGTERM, interrupted);
}

static void server_stop(int kill_it);

void sandbox_cleanup(void)
{
    server_stop(0);
    unlink(request_path);
    unlink(response_path);
    unlink(log_path);
    rmdir(work_dir);
}

/* ---- the request and the response (the runner's format) ------------------ */

static void put(FILE *f, const void *data, size_t bytes)
{
    fwrite(data, 1, bytes, f);
}

static void put_u32(FILE *f, uint32_t v)
{
    put(f, &v, sizeof v);
}

static int write_request(const char *function, const Case *c)
{
    FILE *f = fopen(request_path, "wb");
    if (!f) return -1;
    put(f, "EXRQ", 4);
    put_u32(f, (uint32_t)strlen(function));
    put(f, function, strlen(function));
    put_u32(f, (uint32_t)c->n_ints);
    put(f, c->ints, (size_t)c->n_ints * sizeof(int));
    put_u32(f, (uint32_t)c->n_reals);
    put(f, c->reals, (size_t)c->n_reals * sizeof(double));
    int sent = 0;
    for (int i = 0; i < c->n_args; i++) sent += !c->args[i].is_return;
    put_u32(f, (uint32_t)sent);
    for (int i = 0; i < c->n_args; i++) {
        const Arg *a = &c->args[i];
        if (a->is_return) continue;
        uint64_t count = a->size;
        char kind = a->is_int ? 'i' : 'd';
        put_u32(f, (uint32_t)strlen(a->name));
        put(f, a->name, strlen(a->name));
        put(f, &kind, 1);
        put(f, &count, sizeof count);
        if (a->is_int)
            put(f, a->ivalue, a->size * sizeof(int));
        else
            put(f, a->value, a->size * sizeof(double));
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int take(FILE *f, void *data, size_t bytes)
{
    return fread(data, 1, bytes, f) == bytes ? 0 : -1;
}

/* 0 if the response is complete; fills got, got_int, ret_got. */
static int read_response(Case *c)
{
    FILE *f = fopen(response_path, "rb");
    if (!f) return -1;
    char magic[4];
    uint32_t n, sent = 0;
    for (int i = 0; i < c->n_args; i++) sent += !c->args[i].is_return;
    int bad = take(f, magic, 4) || memcmp(magic, "EXRS", 4) != 0 ||
              take(f, &c->ret_got, sizeof(double)) || take(f, &n, sizeof n) || n != sent;
    for (int i = 0; !bad && i < c->n_args; i++) {
        Arg *a = &c->args[i];
        if (a->is_return) {
            a->got[0] = c->ret_got;
            continue;
        }
        uint64_t count;
        bad = take(f, &count, sizeof count) || count != a->size ||
              (a->is_int ? take(f, a->got_int, a->size * sizeof(int))
                         : take(f, a->got, a->size * sizeof(double)));
    }
    bad = bad || take(f, magic, 4) || memcmp(magic, "DONE", 4) != 0;
    fclose(f);
    return bad ? -1 : 0;
}

/* ---- reading the log ----------------------------------------------------- */

typedef struct {
    char name[16];
    uintptr_t address;
    size_t bytes;
    int is_int;
} ArrayPlace;

/* Reads at most `cap` bytes of f from `offset` onto the end of text. */
static size_t read_part(FILE *f, long offset, char *text, size_t used, size_t cap)
{
    if (fseek(f, offset, SEEK_SET) != 0) return used;
    return used + fread(text + used, 1, cap, f);
}

/* The log: its first 64 KB, and if it is longer, its last 64 KB too. The
 * runner's notes come first; a sanitizer report comes last, after
 * whatever the student's function printed, however much that was. */
static char *read_log(void)
{
    enum { PART = 1 << 16 };
    static const char gap[] = "\n[...]\n";
    FILE *f = fopen(log_path, "rb");
    if (!f) return NULL;
    char *text = malloc(2 * PART + sizeof gap);
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (!text || size < 0) {
        free(text);
        fclose(f);
        return NULL;
    }
    size_t len = read_part(f, 0, text, 0, PART);
    if (size > PART) {
        long tail = size - PART > PART ? size - PART : PART;
        if (tail > PART) {
            memcpy(text + len, gap, sizeof gap - 1);
            len += sizeof gap - 1;
        }
        len = read_part(f, tail, text, len, (size_t)(size - tail));
    }
    text[len] = 0;
    fclose(f);
    return text;
}

/* Every control character of text (escape sequences that would move the
 * cursor, clear the screen or retitle the window; C1 controls, written in
 * UTF-8 as C2 80 to C2 9F) made '?', but for line ends and tabs: the
 * student's output and what the sanitizer quotes of it are shown as text. */
static void make_printable(char *text)
{
    for (unsigned char *p = (unsigned char *)text; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) *p = '?';
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) p[0] = p[1] = '?';
    }
}

/* The last occurrence of needle in text, or NULL. */
static const char *last_of(const char *text, const char *needle)
{
    const char *last = NULL;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) last = p;
    return last;
}

static int is_report_line(const char *line)
{
    return strncmp(line, "==", 2) == 0 || strstr(line, "AddressSanitizer") != NULL ||
           strstr(line, "runtime error:") != NULL || strncmp(line, "    #", 5) == 0 ||
           strstr(line, "Sanitizer") != NULL;
}

/* 1 for a note of the runner's ("@array ...", "@missing ...", "@failed
 * ...", runner_main.c), which is not the student's printing. */
static int is_runner_note(const char *line)
{
    return !strncmp(line, "@array ", 7) || !strncmp(line, "@missing ", 9) ||
           !strncmp(line, "@failed ", 8);
}

/* 1 if the log holds a line that starts with note: the runner's word that
 * an exit status is its own, not a student's exit() with the same number. */
static int runner_noted(const char *log, const char *note)
{
    for (const char *line = log; line; line = strchr(line, '\n')) {
        if (*line == '\n') line++;
        if (!strncmp(line, note, strlen(note))) return 1;
    }
    return 0;
}

/* A failed assert of the student's, as glibc words it ("runner:
 * /path/relu.c:4: relu_forward: Assertion `n > 0' failed."): "an assert
 * failed in relu_forward, relu.c:4: n > 0" into out, and 1; 0 if the log
 * holds none. (The report of the abort that follows names the C library's
 * frame where the program stopped, not the student's assert.) */
static int failed_assertion(const char *log, char *out, size_t len)
{
    const char *assertion = log ? last_of(log, ": Assertion `") : NULL;
    if (!assertion) return 0;
    const char *condition = assertion + strlen(": Assertion `");
    const char *end = strstr(condition, "' failed.");
    const char *line_end = strchr(condition, '\n');
    if (!end || (line_end && end > line_end)) return 0;
    const char *start = assertion;
    while (start > log && start[-1] != '\n') start--;
    /* "runner: /path/relu.c:4: relu_forward": the function after the last
     * ": ", the file's name and line before it, after the program's name */
    char place[512];
    snprintf(place, sizeof place, "%.*s", (int)(assertion - start), start);
    char *function = strrchr(place, ' ');
    if (!function || function == place || function[-1] != ':') return 0;
    function[-1] = '\0';
    function++;
    const char *file = strrchr(place, '/');
    file = file ? file + 1 : (strstr(place, ": ") ? strstr(place, ": ") + 2 : place);
    snprintf(out, len, "an assert failed in %s, %s: %.*s", function, file,
             (int)(end - condition), condition);
    return 1;
}

/* 1 if the log holds a sanitizer's report (the last words of a crash). */
static int has_sanitizer_report(const char *log)
{
    return log && (strstr(log, "AddressSanitizer") || strstr(log, "runtime error:"));
}

/* The student's own printing: the log's lines that are neither the
 * runner's notes nor a sanitizer report. */
static void student_output(const char *log, char *out, size_t len)
{
    size_t used = 0;
    int lines = 0;
    out[0] = 0;
    for (const char *p = log; p && *p && lines < 8;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), p);
        if (is_report_line(line)) break;
        if (!is_runner_note(line) && used + n + 2 < len) {
            used += (size_t)snprintf(out + used, len - used, "%s\n", line);
            lines++;
        }
        p = end ? end + 1 : NULL;
    }
}

static int parse_places(const char *log, ArrayPlace *places, int max)
{
    int count = 0;
    for (const char *p = log; p && (p = strstr(p, "@array ")) != NULL && count < max; p++) {
        ArrayPlace *a = &places[count];
        void *address;
        if (sscanf(p, "@array %15s %p %zu", a->name, &address, &a->bytes) == 3) {
            a->address = (uintptr_t)address;
            count++;
        }
    }
    return count;
}

/* "im2col, im2col.c:24": the first stack frame in the student's code. */
static void student_frame(const char *report, char *out, size_t len)
{
    out[0] = 0;
    for (const char *p = report; p && (p = strstr(p, "    #")) != NULL; p++) {
        const char *end = strchr(p, '\n');
        char line[512];
        size_t n = end ? (size_t)(end - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)(n < 511 ? n : 511), p);
        const char *in = strstr(line, " in ");
        if (!in) continue;
        char function[128], file[384];
        if (sscanf(in, " in %127s %383s", function, file) != 2) continue;
        if (strstr(file, "runner_main.c") || !strstr(file, ".c:")) continue;
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        /* file:line:column -> file:line */
        char shown[384];
        snprintf(shown, sizeof shown, "%s", base);
        char *colon = strchr(shown, ':');
        if (colon && (colon = strchr(colon + 1, ':')) != NULL) *colon = 0;
        snprintf(out, len, "%.120s, %.200s", function, shown);
        return;
    }
}

/* Which array an address belongs to, or is just outside: "cols[36] (cols
 * has 36 entries, 0 to 35)". */
static void name_address(uintptr_t address, const ArrayPlace *places, int count, const Case *c,
                         char *out, size_t len)
{
    out[0] = 0;
    const ArrayPlace *best = NULL;
    uintptr_t best_distance = 4096;
    for (int i = 0; i < count; i++) {
        const ArrayPlace *a = &places[i];
        uintptr_t distance = address < a->address ? a->address - address
                             : address >= a->address + a->bytes
                                 ? address - (a->address + a->bytes) + 1
                                 : 0;
        if (distance < best_distance) {
            best = a;
            best_distance = distance;
        }
    }
    if (!best) return;
    size_t element = sizeof(double);
    for (int i = 0; i < c->n_args; i++)
        if (strcmp(c->args[i].name, best->name) == 0 && c->args[i].is_int) element = sizeof(int);
    size_t entries = best->bytes / element;
    if (address < best->address) {
        long before = (long)((best->address - address + element - 1) / element);
        snprintf(out, len, " of %s[-%ld], before its first entry", best->name, before);
    } else {
        size_t index = (address - best->address) / element;
        if (index >= entries)
            snprintf(out, len, " of %s[%zu] (%s has %zu entries, 0 to %zu)", best->name, index,
                     best->name, entries, entries ? entries - 1 : 0);
        else
            snprintf(out, len, " of %s[%zu]", best->name, index);
    }
}

/* One sentence from a sanitizer report. */
static void explain_report(const char *log, const Case *c, char *out, size_t len)
{
    ArrayPlace places[MAX_ARGS];
    int count = parse_places(log, places, MAX_ARGS);
    char where[512];
    /* The last report: the one that ended the run (what the function
     * printed before it, even words like these, is not a report). */
    const char *ubsan = last_of(log, "runtime error:");
    const char *asan = last_of(log, "ERROR: AddressSanitizer: ");
    if (ubsan && (!asan || ubsan > asan)) {
        /* "file.c:12:5: runtime error: signed integer overflow: ..." */
        const char *start = ubsan;
        while (start > log && start[-1] != '\n') start--;
        const char *end = strchr(ubsan, '\n');
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(end ? end - start : (long)strlen(start)), start);
        char *message = strstr(line, "runtime error: ");
        char file[384] = "";
        snprintf(file, sizeof file, "%.*s", (int)(message - line), line);
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        char shown[384];
        snprintf(shown, sizeof shown, "%s", base);
        char *colon = strchr(shown, ':');
        if (colon && (colon = strchr(colon + 1, ':')) != NULL) *colon = 0;
        snprintf(out, len, "undefined behaviour at %s: %s", shown,
                 message + strlen("runtime error: "));
        return;
    }
    if (!asan) {
        snprintf(out, len, "crashed (the sanitizer's report is missing)");
        return;
    }
    student_frame(asan, where, sizeof where);
    const char *kind = asan + strlen("ERROR: AddressSanitizer: ");
    char kind_word[64], kind_line[160];
    sscanf(kind, "%63s", kind_word);
    snprintf(kind_line, sizeof kind_line, "%.*s", (int)strcspn(kind, "\n("), kind);
    for (size_t n = strlen(kind_line); n > 0 && kind_line[n - 1] == ' ';) kind_line[--n] = 0;
    const char *access = strstr(asan, "READ of size");
    const char *write = strstr(asan, "WRITE of size");
    if (write && (!access || write < access)) access = write;
    int writing = access && strncmp(access, "WRITE", 5) == 0;
    char at[256] = "";
    uintptr_t address = 0;
    void *pointer;
    const char *on = strstr(kind, " on address ");
    if (on && sscanf(on, " on address %p", &pointer) == 1) address = (uintptr_t)pointer;
    if (access) {
        const char *a = strstr(access, " at ");
        if (a && sscanf(a, " at %p", &pointer) == 1) address = (uintptr_t)pointer;
    }
    if (address) name_address(address, places, count, c, at, sizeof at);
    const char *in = where[0] ? " in " : "";

    if (strstr(kind_word, "buffer-overflow") || strstr(kind_word, "use-after") ||
        strstr(kind_word, "heap-use")) {
        snprintf(out, len, "out-of-bounds %s%s%s%s (AddressSanitizer: %s)",
                 writing ? "write" : "read", at, in, where, kind_word);
    } else if (strcmp(kind_word, "SEGV") == 0) {
        int zero_page = strstr(asan, "zero page") != NULL;
        snprintf(out, len, "segmentation fault%s%s: %s", in, where,
                 zero_page ? "a NULL pointer was used"
                           : "a pointer into memory that is not yours "
                             "(an index far out of range?)");
    } else if (strcmp(kind_word, "stack-overflow") == 0) {
        snprintf(out, len, "stack overflow%s%s: endless recursion, or a very large local array", in,
                 where);
    } else if (strstr(kind, "allocation") || strstr(kind, "out of memory")) {
        snprintf(out, len, "asked for more memory than a test needs%s%s (AddressSanitizer: %s)", in,
                 where, kind_line);
    } else {
        snprintf(out, len, "crashed%s%s (AddressSanitizer: %s)", in, where, kind_line);
    }
}

/* ---- the runner server and one call ---------------------------------------- */

static struct {
    pid_t pid;    /* 0: not running */
    int to, from; /* pipes to its stdin and from its stdout */
    char runner[1024];
} server;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void server_stop(int kill_it)
{
    if (!server.pid) return;
    close(server.to);
    close(server.from);
    if (kill_it) kill(-server.pid, SIGKILL);
    waitpid(server.pid, NULL, 0);
    kill(-server.pid, SIGKILL); /* anything a student's function left running */
    server.pid = 0;
    server_group = 0;
}

static int server_start(const char *runner)
{
    int to[2], from[2];
    if (pipe(to) != 0) return -1;
    if (pipe(from) != 0) {
        close(to[0]);
        close(to[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        /* its own process group, so that a time-out kills everything it started */
        setpgid(0, 0);
        dup2(to[0], 0);
        dup2(from[1], 1);
        int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (log >= 0) dup2(log, 2);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        if (log >= 0) close(log);
        struct rlimit none = {0, 0}, output = {MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES};
        setrlimit(RLIMIT_CORE, &none);
        setrlimit(RLIMIT_FSIZE, &output);
        execl(runner, runner, "--serve", work_dir, (char *)NULL);
        _exit(RUNNER_FAILED_EXEC);
    }
    setpgid(pid, pid);
    server_group = pid;
    close(to[0]);
    close(from[1]);
    server.pid = pid;
    server.to = to[1];
    server.from = from[0];
    snprintf(server.runner, sizeof server.runner, "%s", runner);
    return 0;
}

/* The server's answer to one "run": 1 with *status in waitpid's form, 0
 * if none came within `seconds`, -1 if the server is gone. */
static int server_call(double seconds, int *status)
{
    char line[64];
    int n = snprintf(line, sizeof line, "run %u\n", (unsigned)ceil(time_limit));
    if (write(server.to, line, (size_t)n) != n) return -1;
    size_t used = 0;
    double deadline = now() + seconds;
    for (;;) {
        double left = deadline - now();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = server.from, .events = POLLIN};
        int ready = poll(&p, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        ssize_t got = read(server.from, line + used, sizeof line - 1 - used);
        if (got <= 0) return -1;
        used += (size_t)got;
        line[used] = 0;
        if (strchr(line, '\n')) break;
        if (used + 1 >= sizeof line) return -1;
    }
    int value;
    if (sscanf(line, "exit %d", &value) == 1)
        *status = (value & 0xff) << 8; /* as W_EXITCODE */
    else if (sscanf(line, "signal %d", &value) == 1)
        *status = value & 0x7f; /* as a signal */
    else
        return -1;
    return 1;
}

RunResult sandbox_run(const char *runner, const char *function, Case *c)
{
    RunResult result = {.status = RUN_INTERNAL};
    unlink(response_path);
    if (write_request(function, c) != 0) {
        snprintf(result.message, sizeof result.message, "cannot write %s: %s", request_path,
                 strerror(errno));
        return result;
    }
    if (server.pid && strcmp(server.runner, runner) != 0) server_stop(0);
    if (!server.pid && server_start(runner) != 0) {
        snprintf(result.message, sizeof result.message, "cannot start %s: %s", runner,
                 strerror(errno));
        return result;
    }
    int status = 0;
    int answer = server_call(time_limit + 2, &status);
    int timed_out = answer == 0;
    if (answer <= 0) server_stop(1); /* stuck (the alarm did not stop it) or gone */
    if (answer < 0) {
        char *log = read_log();
        snprintf(result.message, sizeof result.message, "the runner %s stopped: %.300s", runner,
                 log ? log : "");
        make_printable(result.message);
        free(log);
        return result;
    }

    char *log = read_log();
    if (log) student_output(log, result.output, sizeof result.output);

    if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)) {
        result.status = RUN_TIMEOUT;
        snprintf(result.message, sizeof result.message,
                 "timed out: still running after %g s (an endless loop? a loop bound that never "
                 "changes?)",
                 time_limit);
    } else if (WIFSIGNALED(status)) {
        result.status = RUN_CRASH;
        int sig = WTERMSIG(status);
        if (sig == SIGXFSZ)
            snprintf(result.message, sizeof result.message,
                     "printed more than %ld MB: a print inside a loop that does not end?",
                     MAX_OUTPUT_BYTES >> 20);
        else if (failed_assertion(log, result.message, sizeof result.message))
            ; /* said */
        else if (has_sanitizer_report(log))
            explain_report(log, c, result.message, sizeof result.message);
        else
            snprintf(result.message, sizeof result.message, "crashed: killed by signal %d (%s)",
                     sig, strsignal(sig));
    } else if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        /* the runner's own statuses come with its note or a report; the same
         * number without one is the student's exit(3), exit(4), exit(86) */
        if (code == 0 && read_response(c) == 0) {
            result.status = RUN_OK;
        } else if (code == RUNNER_MISSING && runner_noted(log, "@missing ")) {
            result.status = RUN_MISSING;
        } else if (code == RUNNER_SANITIZER && has_sanitizer_report(log)) {
            result.status = RUN_CRASH;
            if (!failed_assertion(log, result.message, sizeof result.message))
                explain_report(log, c, result.message, sizeof result.message);
        } else if (code == RUNNER_BAD_REQUEST && runner_noted(log, "@failed ")) {
            snprintf(result.message, sizeof result.message,
                     "the runner %s failed (exit %d): %.300s", runner, code, log ? log : "");
        } else {
            result.status = RUN_EXITED;
            snprintf(result.message, sizeof result.message,
                     "ended the program (exit status %d) instead of returning: a call to exit()?",
                     code);
        }
    }
    make_printable(result.message);
    make_printable(result.output);
    free(log);
    return result;
}
