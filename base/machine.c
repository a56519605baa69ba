#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int machine_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : (int)cores;
}

size_t machine_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

/* The value of a "key : value" line of /proc/cpuinfo, without its line end. */
static int cpuinfo_value(const char *line, const char *key, char *value, size_t size)
{
    size_t length = strlen(key);
    if (strncmp(line, key, length) != 0) return 0;
    const char *colon = line + length + strspn(line + length, " \t"); /* "model" is not "model name" */
    if (*colon != ':') return 0;
    snprintf(value, size, "%s", colon + 1 + (colon[1] == ' '));
    value[strcspn(value, "\n")] = 0;
    return 1;
}

const char *machine_cpu_name(char *name, size_t size)
{
    char model[128] = "", family[16] = "", number[16] = "", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    /* the first processor's lines: they end at its first blank line */
    while (f && fgets(line, sizeof line, f) && line[0] != '\n') {
        cpuinfo_value(line, "model name", model, sizeof model);
        cpuinfo_value(line, "cpu family", family, sizeof family);
        cpuinfo_value(line, "model", number, sizeof number);
    }
    if (f) fclose(f);
    if (!model[0])
        snprintf(name, size, "unknown CPU");
    else if (family[0] && number[0])
        snprintf(name, size, "%s (family %s, model %s)", model, family, number);
    else
        snprintf(name, size, "%s", model);
    return name;
}
