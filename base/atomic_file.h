/* atomic_file.h: write a file so that it is either complete or absent.
 *
 * A program that dies half-way through writing data/fer2013.npz must not
 * leave a truncated file under that name: the next run would load it and
 * fail in a confusing way, or worse, train on half a dataset. So output goes
 * to a temporary file in the same directory (same file system, so rename is
 * atomic), and only a successful commit renames it onto the final name.
 *
 *     AtomicFile af;
 *     FILE *f = atomic_open(&af, "out.csv", err);
 *     if (!f) return -1;
 *     fprintf(f, ...);
 *     if (something_failed) { atomic_abort(&af); return -1; }
 *     return atomic_commit(&af, err);   // checks every write error
 */
#ifndef ATOMIC_FILE_H
#define ATOMIC_FILE_H

#include <stdio.h>

#include "error.h"

typedef struct {
    FILE *file;        /* the temporary file, open for writing */
    char *final_path;  /* where commit puts it */
    char *temp_path;   /* "<final_path>.XXXXXX.tmp", unique */
} AtomicFile;

/* Creates a unique temporary file beside path and returns it open for
 * binary writing, or NULL with a message naming path. */
FILE *atomic_open(AtomicFile *af, const char *path, Error *err);

/* Flushes, syncs and closes the temporary file, then renames it onto the
 * final path. Any write error seen on the way (a full disk shows up here)
 * fails the commit and removes the temporary. Returns 0 or -1; either way
 * af is finished and must not be used again. */
int atomic_commit(AtomicFile *af, Error *err);

/* Closes and removes the temporary file; the final path is untouched. */
void atomic_abort(AtomicFile *af);

#endif
