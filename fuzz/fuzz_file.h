/* fuzz_file.h: the fuzz input as a file, for readers that take a path
 * (fer_csv_read, checkpoint_load). Included by those targets only.
 *
 * One file per fuzzing process, under $TMPDIR (else /tmp), rewritten for
 * every input and removed at exit; the name ends in the reader's suffix,
 * since the name shows up in the messages. */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_file_path[512];

static void fuzz_file_remove(void)
{
    if (fuzz_file_path[0]) unlink(fuzz_file_path);
}

/* Writes data to the process's file and returns its path; aborts if it
 * cannot, since every later input would fail for the same reason. */
static const char *fuzz_file_write(const uint8_t *data, size_t size, const char *suffix)
{
    if (!fuzz_file_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_file_path, sizeof fuzz_file_path, "%s/fuzz_input_%ld%s",
                 dir && *dir ? dir : "/tmp", (long)getpid(), suffix);
        atexit(fuzz_file_remove);
    }
    FILE *file = fopen(fuzz_file_path, "wb");
    if (!file || fwrite(data, 1, size, file) != size || fclose(file) != 0) {
        perror(fuzz_file_path);
        abort();
    }
    return fuzz_file_path;
}

#endif
