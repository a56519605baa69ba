/* args.h: numbers and paths from the command line, with one set of rules
 * for every program (./emotion, ./gradcheck, the lessons, the benchmarks).
 *
 * A value is accepted only when the whole text is the number: no empty
 * text, no leading blanks, no trailing characters ("3x", "1e", "0x10"), no
 * sign on a count or a seed. A number outside the allowed range is refused
 * with the range in the message, e.g.
 *     emotion train: --epochs needs a whole number from 1 to 100000, not '0'
 * Each function prints that message to stderr (prefixed by the program's
 * name) and returns -1, or stores the value and returns 0. */
#ifndef ARGS_H
#define ARGS_H

#include <stdint.h>

/* A whole number in [min, max]. */
int arg_int(const char *program, const char *flag, const char *text, long min, long max,
            int *value);

/* Which ends of arg_real's range are excluded: ARG_MAX_OPEN for [min, max),
 * ARG_MIN_OPEN for (min, max], both for (min, max); 0 for [min, max]. */
enum { ARG_MAX_OPEN = 1, ARG_MIN_OPEN = 2 };

/* A finite decimal number in the range from min to max, its ends included
 * unless open says otherwise (ARG_MIN_OPEN, ARG_MAX_OPEN). A value too small
 * to represent (1e-400) is taken as the 0 it rounds to. */
int arg_real(const char *program, const char *flag, const char *text, double min, double max,
             int open, double *value);

/* A seed: any whole number from 0 to 2^64 - 1. */
int arg_seed(const char *program, const char *flag, const char *text, uint64_t *value);

/* A thread count: 1 to ARG_THREADS_PER_CORE times the cores this machine
 * has (more threads than that only wait for each other). */
#define ARG_THREADS_PER_CORE 4
int arg_threads(const char *program, const char *flag, const char *text, int *value);

/* The environment's OMP_NUM_THREADS, which OpenMP obeys when no --threads
 * is given: unset, or a count arg_threads would accept (its first, for a
 * list). Otherwise -1, after a message: 99999 threads run, very slowly. */
int arg_thread_environment(const char *program);

/* A window size: "3" (3x3) or "3x5" (height x width), each in [1, max]. */
int arg_size2(const char *program, const char *flag, const char *text, long max, int *height,
              int *width);

/* A shape "CxHxW" (three whole numbers, each in [1, max]) into dims[3]. */
int arg_shape3(const char *program, const char *flag, const char *text, long max, int *dims);

/* A path (a file or folder to read or write): any text but the empty one,
 * which names nothing, and which a command would otherwise only find out
 * when it opens or renames onto it, after all its work. `what` names the
 * flag or the argument: "--probs", "the output". On "" prints
 *     emotion eval: --probs needs a path, not an empty string
 * and returns -1. */
int arg_path(const char *program, const char *what, const char *text);

/* Each flag once: given twice ("--epochs 10 ... --epochs 20"), the second
 * would silently win, so it is refused. A parser keeps an ArgSeen (zeroed)
 * and calls arg_once with each flag it reads; the second time a flag
 * comes, it prints "PROGRAM: FLAG given twice" and returns -1. */
#define ARG_MAX_FLAGS 64
typedef struct {
    const char *flags[ARG_MAX_FLAGS];
    int count;
} ArgSeen;
int arg_once(const char *program, ArgSeen *seen, const char *flag);

#endif
