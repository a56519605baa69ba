/* machine.h: what this machine has, for sizing work to it. */
#ifndef MACHINE_H
#define MACHINE_H

#include <stddef.h>

/* Processors online (at least 1). */
int machine_cores(void);

/* Physical memory in bytes (0 if it cannot be told). */
size_t machine_memory_bytes(void);

/* The processor's name as /proc/cpuinfo gives it, with its family and
 * model numbers ("AMD EPYC (family 26, model 2)": a virtual machine may hide
 * the rest of the name); "unknown CPU" where there is no /proc/cpuinfo.
 * Writes it into name (size bytes) and returns name. */
const char *machine_cpu_name(char *name, size_t size);

#endif
