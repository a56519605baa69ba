#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a non-regular file is, for the message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a pipe";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
}

int open_regular_file(const char *path, uint64_t *size, Error *err)
{
    /* O_NONBLOCK: opening a pipe for reading would otherwise wait for a
     * writer; for a regular file it changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        error_set(err, "%s: cannot open: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        error_set(err, "%s: is a directory", path);
    } else if (!S_ISREG(st.st_mode)) {
        error_set(err, "%s: is not a regular file (%s)", path, file_kind(st.st_mode));
    } else {
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0) (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        *size = (uint64_t)st.st_size;
        return fd;
    }
    close(fd);
    return -1;
}

FILE *fopen_regular(const char *path, uint64_t *size, Error *err)
{
    int fd = open_regular_file(path, size, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        error_set(err, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

char *read_text_file(const char *path, size_t max_bytes, Error *err)
{
    uint64_t size;
    FILE *f = fopen_regular(path, &size, err);
    if (!f) return NULL;
    if (size > max_bytes) {
        fclose(f);
        error_set(err, "%s: %llu bytes, more than the %zu a text file here may have", path,
                  (unsigned long long)size, max_bytes);
        return NULL;
    }
    char *text = xmalloc(max_bytes + 1);
    size_t length = fread(text, 1, max_bytes + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || length > max_bytes || memchr(text, '\0', length)) {
        error_set(err, "%s: %s", path, failed ? "cannot be read"
                                   : length > max_bytes ? "too long" : "not a text file (it holds a zero byte)");
        free(text);
        return NULL;
    }
    text[length] = '\0';
    return text;
}

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

int lock_directory(const char *dir, int *fd, Error *err)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return 0; /* a folder one may write in but not list: unlocked, not refused */
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return 0;
    const int held = errno == EWOULDBLOCK;
    close(*fd);
    *fd = -1;
    if (held) return error_set(err, "%s: another running program is writing into this folder", dir);
    return 0; /* no locks here (ENOLCK, EINVAL on some network file systems) */
}

int finish_standard_output(const char *program, int status)
{
    errno = 0;
    const int flushed = fflush(stdout) == 0;
    if (flushed && !ferror(stdout)) return status;
    /* a write that failed earlier, when the buffer filled, left no errno */
    fprintf(stderr, "%s: cannot write the standard output: %s\n", program,
            !flushed && errno ? strerror(errno) : "a write failed (a full disk?)");
    return status ? status : 1;
}
