/* progress.h: a one-line progress bar on the terminal.
 *
 * Long jobs (converting a 290 MB CSV, an epoch of training) redraw one line
 * on stderr:
 *
 *     converting [##########----------]  52%  151.2M/290.1M  98.4M/s  ETA 0:01  18661 rows
 *
 * It draws only when stderr is a terminal (isatty), so logs, pipes and the
 * test suite see nothing. Redraws are throttled to a few per second, so
 * progress_update can be called for every item without slowing the loop.
 *
 * Usage:
 *     Progress bar;
 *     progress_begin(&bar, "converting", total_bytes);
 *     bar.unit = "B";                               (optional)
 *     for (...) progress_update(&bar, done, "1234 rows");
 *     progress_end(&bar);
 */
#ifndef PROGRESS_H
#define PROGRESS_H

typedef struct {
    const char *label;   /* printed before the bar */
    const char *unit;    /* appended to counts and rates: "" (default) or "B" */
    long total;          /* items expected; <= 0 when unknown (no bar, no ETA) */
    long done;           /* items finished at the last update */
    double start_time;   /* seconds, monotonic clock */
    double last_draw;    /* when the line was last redrawn */
    int enabled;         /* stderr is a terminal */
    int drawn;           /* something is on the line, so progress_end ends it */
    char extra[128];     /* caller's text from the last update */
} Progress;

void progress_begin(Progress *p, const char *label, long total);

/* Records that `done` items are finished; redraws at most ~10 times a
 * second. extra_text (may be NULL) is shown at the end of the line, e.g. a
 * row count or the running loss. */
void progress_update(Progress *p, long done, const char *extra_text);

/* Draws the final state and ends the line (nothing if never drawn). */
void progress_end(Progress *p);

/* Seconds since progress_begin: callers use it for their own summary line. */
double progress_elapsed(const Progress *p);

#endif
