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
 *
 * Temporaries do not outlive their program either:
 *  - SIGINT, SIGTERM or SIGHUP (Ctrl-C, kill, a closed terminal) removes
 *    the temporaries of every open atomic file before the program ends
 *    with that signal as it would have without the handler. The handler is
 *    installed by the first atomic_open, only for signals still at their
 *    default action (a signal the program ignores stays ignored);
 *  - nothing can clean up after SIGKILL or a power cut, so atomic_open
 *    first sweeps away the temporaries of the same final path that no
 *    living program holds (each writer keeps an flock on its temporary,
 *    which the kernel drops when the writer dies). */
#ifndef ATOMIC_FILE_H
#define ATOMIC_FILE_H

#include <stdio.h>

#include "error.h"

typedef struct {
    FILE *file;        /* the temporary file, open for writing */
    char *final_path;  /* where commit puts it */
    char *temp_path;   /* "<final_path>.XXXXXX.tmp", unique */
    int tracked;       /* its handle for the signal handler (temp_track), or -1 */
} AtomicFile;

/* Creates a unique temporary file beside path and returns it open for
 * binary writing, or NULL with a message naming path. Stale temporaries
 * of path are swept first (atomic_sweep). Only a regular file is ever
 * replaced: a path that exists as anything else (a device such as
 * /dev/null, a FIFO, a folder, a symbolic link) is refused, since the
 * rename would put a plain file in its place. */
FILE *atomic_open(AtomicFile *af, const char *path, Error *err);

/* 0 if path is absent or a regular file, which an output may replace;
 * else -1 with a message saying what it is. */
int atomic_replaceable(const char *path, Error *err);

/* Flushes, syncs and closes the temporary file, then renames it onto the
 * final path. Any write error seen on the way (a full disk shows up here)
 * fails the commit and removes the temporary. Returns 0 or -1; either way
 * af is finished and must not be used again. */
int atomic_commit(AtomicFile *af, Error *err);

/* Closes and removes the temporary file; the final path is untouched. */
void atomic_abort(AtomicFile *af);

/* Removes the stale temporaries of path: the files beside it named
 * "<name>.XXXXXX.tmp", exactly six letters or digits (as atomic_open
 * makes them), that no running program is writing. Other files ("<name>.tmp",
 * "<other>.XXXXXX.tmp") are never touched. Returns how many were removed. */
int atomic_sweep(const char *path);

/* The table the signal handler cleans, for other temporaries (charts keep
 * their gnuplot files in a private folder): temp_track registers a path
 * to remove if SIGINT, SIGTERM or SIGHUP ends the program, and returns a
 * handle, or -1 if the fixed-size table is full or the path too long (it is
 * then left behind by a signal, nothing worse). A directory is removed
 * after the files, so track a folder and the files in it. */
int temp_track(const char *path);
void temp_untrack(int handle);

#endif
