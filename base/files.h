/* files.h: what the readers and commands check about a path before they
 * trust it.
 *
 * A reader handed "/dev/zero", a named pipe or a directory must not read
 * forever, block, or report "the file is empty": it opens the path, asks
 * the open file what it is (fstat, so there is no race with a rename
 * between the check and the read) and names the real problem. */
#ifndef FILES_H
#define FILES_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* Opens path read-only and returns the descriptor, or -1 with a message:
 * "PATH: cannot open: <reason>", "PATH: is a directory" or "PATH: is not a
 * regular file (a character device)" (a block device, a pipe, a socket).
 * The open does not block on a pipe. *size gets the file's size in bytes. */
int open_regular_file(const char *path, uint64_t *size, Error *err);

/* The same as a stdio stream, for binary reading. */
FILE *fopen_regular(const char *path, uint64_t *size, Error *err);

/* 1 if a and b both exist and are the same file (the same device and
 * inode, so hard links and symbolic links to it count), else 0. */
int same_file(const char *a, const char *b);

#endif
