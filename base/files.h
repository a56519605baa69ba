/* files.h: paths: what the readers and commands check about a path before
 * they trust it, and the directories output files go into.
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

/* A small text file read whole into a new string (to free): a regular
 * file of at most max_bytes, with no zero byte. NULL with a message
 * naming the file and the problem otherwise. */
char *read_text_file(const char *path, size_t max_bytes, Error *err);

/* mkdir -p: creates the directory path and any missing parents (mode 0777,
 * less the umask). A path that exists already is fine if it is a
 * directory. An empty path, or a part of it that exists and is not a
 * directory, is an error naming it. */
int make_directories(const char *path, Error *err);

/* Claims the folder dir for this program alone: an exclusive lock (flock)
 * on it, held while *fd stays open; the kernel drops it when the program
 * ends, however it ends. A second program that claims the same folder
 * (by any name: the lock is on the folder itself) gets -1 and the message
 * "DIR: another running program is writing into this folder", so two runs
 * never mix their files in one folder. Where the folder cannot be opened
 * for reading, or its file system keeps no locks (some network ones), *fd
 * is -1 and the claim succeeds unlocked: the lock guards a run, and is no
 * reason to refuse one. */
int lock_directory(const char *dir, int *fd, Error *err);

/* The end of a program's main: stdout flushed, and status returned, or 1
 * if some of what the program printed was lost (stdout a file on a full
 * disk, /dev/full, a pipe whose reader failed), with a message saying so
 * on stderr: "PROGRAM: cannot write the standard output: REASON". Without
 * it, `emotion eval ... > results.txt` on a full disk exits 0 with the
 * results gone. */
int finish_standard_output(const char *program, int status);

/* Creates the directories of file_path's directory part: "runs/a/model.npz"
 * makes runs/ and runs/a/; a path without '/' needs none. */
int make_parent_directories(const char *file_path, Error *err);

#endif
