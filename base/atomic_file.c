#include "atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char temp_suffix[] = ".tmp";

static void release_paths(AtomicFile *af)
{
    free(af->final_path);
    free(af->temp_path);
    af->final_path = af->temp_path = NULL;
    af->file = NULL;
}

FILE *atomic_open(AtomicFile *af, const char *path, Error *err)
{
    size_t len = strlen(path);
    af->final_path = xmalloc(len + 1);
    memcpy(af->final_path, path, len + 1);
    af->temp_path = xmalloc(len + sizeof ".XXXXXX" + sizeof temp_suffix);
    sprintf(af->temp_path, "%s.XXXXXX%s", path, temp_suffix);
    af->file = NULL;

    int fd = mkstemps(af->temp_path, (int)strlen(temp_suffix));
    if (fd < 0) {
        error_set(err, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        release_paths(af);
        return NULL;
    }
    /* mkstemps creates the file private (0600); give the result the
     * permissions an ordinary fopen would, 0666 less the umask. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask); /* on failure the file just stays private */

    af->file = fdopen(fd, "wb");
    if (!af->file) {
        error_set(err, "%s: cannot open the temporary file: %s", path, strerror(errno));
        close(fd);
        unlink(af->temp_path);
        release_paths(af);
        return NULL;
    }
    return af->file;
}

int atomic_commit(AtomicFile *af, Error *err)
{
    const char *problem = NULL;
    int saved_errno = 0;
    if (fflush(af->file) != 0 || ferror(af->file)) {
        problem = "cannot write";
        saved_errno = errno;
    } else if (fsync(fileno(af->file)) != 0 && errno != EINVAL && errno != EROFS) {
        problem = "cannot sync";
        saved_errno = errno;
    }
    if (fclose(af->file) != 0 && !problem) {
        problem = "cannot close";
        saved_errno = errno;
    }
    af->file = NULL;
    if (!problem && rename(af->temp_path, af->final_path) != 0) {
        problem = "cannot rename the temporary file onto it";
        saved_errno = errno;
    }
    if (problem) {
        unlink(af->temp_path);
        error_set(err, "%s: %s: %s", af->final_path, problem,
                  saved_errno ? strerror(saved_errno) : "write error");
        release_paths(af);
        return -1;
    }
    release_paths(af);
    return 0;
}

void atomic_abort(AtomicFile *af)
{
    if (af->file) fclose(af->file);
    if (af->temp_path) unlink(af->temp_path);
    release_paths(af);
}
