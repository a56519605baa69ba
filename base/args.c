#include "args.h"

#include "machine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Digits only, at least one: the shape of every count and seed. */
static int all_digits(const char *text)
{
    if (!*text) return 0;
    for (const char *c = text; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

/* A whole number, with a '-' allowed when min < 0. */
static int whole_number(const char *text, long min, long *value)
{
    const char *digits = (min < 0 && text[0] == '-') ? text + 1 : text;
    if (!all_digits(digits)) return -1;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno || *end) return -1; /* beyond long: out of any range we allow */
    *value = v;
    return 0;
}

int arg_int(const char *program, const char *flag, const char *text, long min, long max,
            int *value)
{
    long v;
    if (whole_number(text, min, &v) != 0 || v < min || v > max) {
        fprintf(stderr, "%s: %s needs a whole number from %ld to %ld, not '%s'\n", program, flag,
                min, max, text);
        return -1;
    }
    *value = (int)v;
    return 0;
}

int arg_real(const char *program, const char *flag, const char *text, double min, double max,
             int open, double *value)
{
    /* strtod also reads hexadecimal, "inf", "nan" and leading blanks: none
     * of them is a decimal number a user means. */
    int shaped = text[0] == '-' || text[0] == '.' || (text[0] >= '0' && text[0] <= '9');
    for (const char *c = text; shaped && *c; c++)
        shaped = strchr("0123456789.eE+-", *c) != NULL;
    char *end = NULL;
    errno = 0;
    double v = shaped ? strtod(text, &end) : NAN;
    /* ERANGE with a small result is underflow: the number rounds to 0 */
    int overflow = errno == ERANGE && fabs(v) >= 1;
    if (!shaped || *end || overflow || !isfinite(v) || v < min || v > max ||
        ((open & ARG_MIN_OPEN) && v == min) || ((open & ARG_MAX_OPEN) && v == max)) {
        fprintf(stderr, "%s: %s needs a number from %g%s to %g%s, not '%s'\n", program, flag, min,
                open & ARG_MIN_OPEN ? " (excluded)" : "", max,
                open & ARG_MAX_OPEN ? " (excluded)" : "", text);
        return -1;
    }
    *value = v;
    return 0;
}

int arg_seed(const char *program, const char *flag, const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long v = all_digits(text) ? strtoull(text, &end, 10) : 0;
    if (!all_digits(text) || errno || *end) {
        fprintf(stderr, "%s: %s needs a whole number from 0 to %llu, not '%s'\n", program, flag,
                (unsigned long long)UINT64_MAX, text);
        return -1;
    }
    *value = (uint64_t)v;
    return 0;
}

int arg_shape3(const char *program, const char *flag, const char *text, long max, int *dims)
{
    char copy[64];
    int ok = strlen(text) < sizeof copy, count = 0;
    if (ok) {
        strcpy(copy, text);
        char *rest = copy;
        while (ok && rest) {
            char *part = rest;
            rest = strchr(rest, 'x');
            if (rest) *rest++ = '\0';
            long v;
            ok = count < 3 && whole_number(part, 1, &v) == 0 && v >= 1 && v <= max;
            if (ok) dims[count++] = (int)v;
        }
    }
    if (!ok || count != 3) {
        fprintf(stderr, "%s: %s needs CxHxW, three whole numbers from 1 to %ld (e.g. 1x48x48), "
                        "not '%s'\n", program, flag, max, text);
        return -1;
    }
    return 0;
}

int arg_threads(const char *program, const char *flag, const char *text, int *value)
{
    const long cores = machine_cores();
    long most = ARG_THREADS_PER_CORE * cores;
    int status = arg_int(program, flag, text, 1, most, value);
    if (status)
        fprintf(stderr, "%s: (this machine has %ld core%s; more threads than %d per core only "
                        "wait for each other)\n", program, cores, cores == 1 ? "" : "s",
                ARG_THREADS_PER_CORE);
    return status;
}

int arg_thread_environment(const char *program)
{
    const char *text = getenv("OMP_NUM_THREADS");
    if (!text) return 0;
    const long cores = machine_cores();
    const long most = ARG_THREADS_PER_CORE * cores;
    /* OpenMP reads "N" or a list "N,M,..." (one count per level of nested
     * parallelism); the workbench's loops are one level deep, so N decides. */
    char first[24];
    const char *start = text + strspn(text, " \t"); /* OpenMP allows blanks around it */
    size_t len = strcspn(start, ",");
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t')) len--;
    long v = 0;
    int ok = len < sizeof first;
    if (ok) {
        memcpy(first, start, len);
        first[len] = '\0';
        ok = whole_number(first, 1, &v) == 0 && v >= 1 && v <= most;
    }
    if (ok) return 0;
    int shown = strlen(text) < 24 && strspn(text, "0123456789,") == strlen(text);
    fprintf(stderr, "%s: the environment's OMP_NUM_THREADS%s%s%s must be a whole number of threads "
                    "from 1 to %ld (this machine has %ld core%s; more threads than %d per core "
                    "only wait for each other): unset it, or set it in that range\n",
            program, shown ? " (" : "", shown ? text : "", shown ? ")" : "", most, cores,
            cores == 1 ? "" : "s", ARG_THREADS_PER_CORE);
    return -1;
}

int arg_size2(const char *program, const char *flag, const char *text, long max, int *height,
              int *width)
{
    const char *x = strchr(text, 'x');
    char first[32];
    size_t len = x ? (size_t)(x - text) : strlen(text);
    long h, w;
    int ok = len > 0 && len < sizeof first;
    if (ok) {
        memcpy(first, text, len);
        first[len] = '\0';
        ok = whole_number(first, 1, &h) == 0 && h >= 1 && h <= max;
    }
    if (ok && x) ok = whole_number(x + 1, 1, &w) == 0 && w >= 1 && w <= max;
    else w = ok ? h : 0;
    if (!ok) {
        fprintf(stderr, "%s: %s needs K or KHxKW, whole numbers from 1 to %ld, not '%s'\n",
                program, flag, max, text);
        return -1;
    }
    *height = (int)h;
    *width = (int)w;
    return 0;
}

int arg_path(const char *program, const char *what, const char *text)
{
    if (*text) return 0;
    fprintf(stderr, "%s: %s needs a path, not an empty string\n", program, what);
    return -1;
}

int arg_once(const char *program, ArgSeen *seen, const char *flag)
{
    for (int k = 0; k < seen->count; k++)
        if (!strcmp(seen->flags[k], flag)) {
            fprintf(stderr, "%s: %s given twice\n", program, flag);
            return -1;
        }
    if (seen->count < ARG_MAX_FLAGS) seen->flags[seen->count++] = flag;
    return 0;
}
