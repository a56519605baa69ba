/* error.h: how the workbench reports a failure to its caller.
 *
 * Functions that can fail on user input (a file, a flag, a shape) take an
 * `Error *` and return a status: 0 for success, -1 for failure with a
 * message in err->msg that names what was wrong (the file, the member, the
 * line, the shape). Programs print the message and exit non-zero.
 * Internal invariants, which only a bug can break, use assert instead. */
#ifndef ERROR_H
#define ERROR_H

#include <stddef.h>

typedef struct {
    char msg[512];
} Error;

/* Formats the message into err (if err is not NULL) and returns -1, so a
 * failing function can end with `return error_set(err, "...", ...);`. */
int error_set(Error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "context: " to an existing message, e.g. the file name, unless
 * the message already starts with it. */
int error_prefix(Error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* User input quoted in a message as it was given: the first len bytes of
 * text (fewer at a NUL) copied into buf of cap bytes, cut to fit with a
 * visible "..." at the end rather than silently. Returns buf. */
const char *text_excerpt(const char *text, size_t len, char *buf, size_t cap);

/* Allocation that cannot fail silently: prints and aborts on out-of-memory. */
void *xmalloc(size_t bytes);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t bytes);

/* Zero-filled memory aligned to a 64-byte cache line (vector loads of
 * aligned rows are faster); release it with free(). */
void *xcalloc_aligned(size_t bytes);

#endif
