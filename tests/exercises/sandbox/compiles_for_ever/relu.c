/* A file that includes itself twice at every level, 40 levels deep: 2^40
 * inclusions, so the compiler would run for ever; the grader stops it
 * (GRADE_COMPILE_SECONDS; this folder's COMPILE_SECONDS: 5 s). */
#if __INCLUDE_LEVEL__ < 40
#include "relu.c"
#include "relu.c"
#endif
