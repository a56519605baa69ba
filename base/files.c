#include "files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The directory prefix[0..len) must exist: made if missing. */
static int make_one_directory(char *prefix, Error *err)
{
    struct stat st;
    if (mkdir(prefix, 0777) != 0 && errno != EEXIST)
        return error_set(err, "%s: cannot create the directory: %s", prefix, strerror(errno));
    if (stat(prefix, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(err, "%s: exists and is not a directory", prefix);
    return 0;
}

int make_directories(const char *path, Error *err)
{
    if (path[0] == '\0') return error_set(err, "cannot create a directory with an empty name");
    char *prefix = xmalloc(strlen(path) + 1);
    strcpy(prefix, path);
    int status = 0;
    /* Each '/' after a name ends a prefix to make; a leading '/' (the root)
     * or a repeated one ends nothing new. */
    for (size_t i = 1; status == 0; i++) {
        char c = prefix[i];
        if (c != '/' && c != '\0') continue;
        if (prefix[i - 1] != '/') {
            prefix[i] = '\0';
            status = make_one_directory(prefix, err);
            prefix[i] = c;
        }
        if (c == '\0') break;
    }
    free(prefix);
    return status;
}

int make_parent_directories(const char *file_path, Error *err)
{
    const char *slash = strrchr(file_path, '/');
    if (!slash || slash == file_path) return 0; /* the current directory, or the root */
    size_t len = (size_t)(slash - file_path);
    char *dir = xmalloc(len + 1);
    memcpy(dir, file_path, len);
    dir[len] = '\0';
    int status = make_directories(dir, err);
    free(dir);
    return status;
}
