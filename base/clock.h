/* clock.h: wall-clock time for progress bars, epoch timings and benchmarks.
 *
 * CLOCK_MONOTONIC: never jumps when the system clock is set, so a
 * difference of two readings is always an honest duration. */
#ifndef CLOCK_H
#define CLOCK_H

/* Seconds since an arbitrary fixed point; subtract two readings. */
double clock_seconds(void);

#endif
