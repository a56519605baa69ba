#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* A message is shown on a terminal, and it quotes names from outside (a
 * file name from a downloaded folder may hold ESC, which starts a
 * terminal's commands): its control characters, invisible characters and
 * bytes that are not UTF-8 are stored as '?' (utf8_make_printable).
 *
 * A message longer than msg (a path of thousands of bytes, say) keeps its
 * start and its end joined by "...": the reason comes last ("PATH: cannot
 * write: No space left on device"), and cutting the end away would leave
 * the name without what is wrong with it. Neither cut splits a UTF-8
 * character. */
static void store_message(Error *err, const char *text, size_t len)
{
    const size_t cap = sizeof err->msg;
    if (len < cap) {
        memcpy(err->msg, text, len + 1);
        utf8_make_printable(err->msg, 1);
        return;
    }
    static const char gap[] = "...";
    size_t head = cap / 3, tail = len - (cap - 1 - head - (sizeof gap - 1));
    while (head > 0 && (text[head] & 0xC0) == 0x80) head--; /* a continuation byte */
    while (tail < len && (text[tail] & 0xC0) == 0x80) tail++;
    memcpy(err->msg, text, head);
    memcpy(err->msg + head, gap, sizeof gap - 1);
    memcpy(err->msg + head + sizeof gap - 1, text + tail, len - tail + 1);
    utf8_make_printable(err->msg, 1);
}

/* The message fmt makes, of any length (to free); *len gets its length. */
static char *format_message(size_t *len, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0) n = 0; /* an encoding error: an empty message rather than none */
    char *text = xmalloc((size_t)n + 1);
    if (n == 0) text[0] = '\0';
    else vsnprintf(text, (size_t)n + 1, fmt, ap);
    *len = (size_t)n;
    return text;
}

int error_set(Error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        size_t len;
        char *text = format_message(&len, fmt, ap);
        va_end(ap);
        store_message(err, text, len);
        free(text);
    }
    return -1;
}

int error_prefix(Error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        size_t n;
        char *prefix = utf8_make_printable(format_message(&n, fmt, ap), 1);
        va_end(ap);
        n = strlen(prefix);
        /* A message that already starts with this context (a writer that
         * names its file itself) does not get it a second time. */
        if (!strncmp(err->msg, prefix, n) && err->msg[n] == ':') {
            free(prefix);
            return -1;
        }
        size_t old = strlen(err->msg);
        char *text = xmalloc(n + 2 + old + 1);
        memcpy(text, prefix, n);
        memcpy(text + n, ": ", 2);
        memcpy(text + n + 2, err->msg, old + 1);
        store_message(err, text, n + 2 + old);
        free(text);
        free(prefix);
    }
    return -1;
}

const char *text_excerpt(const char *text, size_t len, char *buf, size_t cap)
{
    if (cap == 0) return buf;
    size_t n = 0;
    while (n < len && text[n]) n++;
    if (n < cap) {
        memcpy(buf, text, n);
        buf[n] = '\0';
    } else if (cap > 3) {
        memcpy(buf, text, cap - 4);
        strcpy(buf + cap - 4, "...");
    } else {
        buf[0] = '\0';
    }
    return buf;
}

/* A command that cannot get the memory it needs ends with a message and
 * exit status 1, as for any other failure it cannot go on from. */
static void out_of_memory(size_t bytes)
{
    fprintf(stderr, "out of memory: could not allocate %zu bytes (%.1f MB)\n", bytes,
            (double)bytes / 1e6);
    exit(1);
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) out_of_memory(bytes);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *xrealloc(void *ptr, size_t bytes)
{
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) out_of_memory(bytes);
    return p;
}

void *xcalloc_aligned(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple of the alignment */
    if (rounded == 0) rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (!p) out_of_memory(bytes);
    memset(p, 0, rounded);
    return p;
}
