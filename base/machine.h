/* machine.h: what this machine has, for sizing work to it. */
#ifndef MACHINE_H
#define MACHINE_H

#include <stddef.h>

/* Processors online (at least 1). */
int machine_cores(void);

/* Physical memory in bytes (0 if it cannot be told). */
size_t machine_memory_bytes(void);

#endif
