/* real.h: the one numeric type of the workbench.
 *
 * Every layer is written in terms of `real`. The Makefile compiles the same
 * sources twice: with float (fast, for training) and with -DREAL_IS_DOUBLE
 * (for gradient checks, where float's 7 digits cannot resolve a 1e-7
 * relative error). */
#ifndef REAL_H
#define REAL_H

#ifdef REAL_IS_DOUBLE
typedef double real;
#define REAL_NAME "double"
#define real_sqrt sqrt   /* from <math.h>, in the type's own precision */
#else
typedef float real;
#define REAL_NAME "float"
#define real_sqrt sqrtf
#endif

#endif
