/* files.h: making the directories that output files go into. */
#ifndef FILES_H
#define FILES_H

#include "error.h"

/* mkdir -p: creates the directory path and any missing parents (mode 0777,
 * less the umask). A path that exists already is fine if it is a
 * directory. An empty path, or a part of it that exists and is not a
 * directory, is an error naming it. */
int make_directories(const char *path, Error *err);

/* Creates the directories of file_path's directory part: "runs/a/model.npz"
 * makes runs/ and runs/a/; a path without '/' needs none. */
int make_parent_directories(const char *file_path, Error *err);

#endif
