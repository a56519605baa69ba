#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char temp_suffix[] = ".tmp";

/* ---------------------------------------------------------------------------
 * The temporaries a signal must not leave behind
 * ------------------------------------------------------------------------- */

/* A fixed table, because a signal handler may not allocate, lock or use
 * stdio: it may call unlink, rmdir and raise, which are async-signal-safe,
 * and read lock-free atomics. A slot is claimed (FILLING) while its path is
 * copied in; the handler looks only at slots marked LIVE after the copy. */
enum { TRACKED_MAX = 64, TRACKED_PATH_MAX = 4096 };
enum { SLOT_FREE, SLOT_FILLING, SLOT_LIVE };
static struct {
    atomic_int state;
    char path[TRACKED_PATH_MAX];
} tracked[TRACKED_MAX];

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void remove_temporaries_and_die(int sig)
{
    int saved_errno = errno;
    for (int i = 0; i < TRACKED_MAX; i++)
        if (atomic_load(&tracked[i].state) == SLOT_LIVE) unlink(tracked[i].path);
    /* folders second, once the files in them are gone */
    for (int i = 0; i < TRACKED_MAX; i++)
        if (atomic_load(&tracked[i].state) == SLOT_LIVE) rmdir(tracked[i].path);
    errno = saved_errno;
    /* SA_RESETHAND has put the default action back and SA_NODEFER leaves
     * the signal unblocked: this ends the program as the signal would
     * have, with the same exit status for the shell to see. */
    raise(sig);
}

/* Installs the handler for each signal still at its default action. */
static void install_cleanup_handlers(void)
{
    static atomic_int installed;
    if (atomic_exchange(&installed, 1)) return;
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof cleanup_signals[0]; i++) {
        struct sigaction old, action;
        if (sigaction(cleanup_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        memset(&action, 0, sizeof action);
        action.sa_handler = remove_temporaries_and_die;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(cleanup_signals[i], &action, NULL);
    }
}

int temp_track(const char *path)
{
    size_t len = strlen(path);
    if (len >= TRACKED_PATH_MAX) return -1;
    install_cleanup_handlers();
    for (int i = 0; i < TRACKED_MAX; i++) {
        int expected = SLOT_FREE;
        if (atomic_compare_exchange_strong(&tracked[i].state, &expected, SLOT_FILLING)) {
            memcpy(tracked[i].path, path, len + 1);
            atomic_store(&tracked[i].state, SLOT_LIVE);
            return i;
        }
    }
    return -1;
}

void temp_untrack(int handle)
{
    if (handle >= 0 && handle < TRACKED_MAX) atomic_store(&tracked[handle].state, SLOT_FREE);
}

/* ---------------------------------------------------------------------------
 * Sweeping what a killed program left
 * ------------------------------------------------------------------------- */

/* 1 if candidate is "<name>.XXXXXX.tmp" with six letters or digits, the
 * names mkstemps gives atomic_open's temporaries. */
static int is_temporary_of(const char *candidate, const char *name, size_t name_len)
{
    if (strncmp(candidate, name, name_len) != 0 || candidate[name_len] != '.') return 0;
    const char *x = candidate + name_len + 1;
    for (int i = 0; i < 6; i++) {
        char c = x[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return 0;
    }
    return strcmp(x + 6, temp_suffix) == 0;
}

/* Removes path if it is a regular file that nobody holds a lock on: its
 * writer is dead (the kernel drops an flock with the last descriptor).
 * Checks that the name still means the file it locked before unlinking. */
static int remove_if_abandoned(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat locked, now;
    int removed = 0;
    if (fstat(fd, &locked) == 0 && S_ISREG(locked.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        lstat(path, &now) == 0 && now.st_dev == locked.st_dev && now.st_ino == locked.st_ino)
        removed = unlink(path) == 0;
    close(fd);
    return removed;
}

int atomic_sweep(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t name_len = strlen(name), dir_len = slash ? (size_t)(slash - path) : 0;
    if (name_len == 0) return 0;
    /* "x.npz" is in ".", "/x.npz" in "/", "a/b/x.npz" in "a/b" */
    char *dir = xmalloc(dir_len + 2);
    if (!slash) {
        strcpy(dir, ".");
    } else {
        memcpy(dir, path, dir_len ? dir_len : 1);
        dir[dir_len ? dir_len : 1] = '\0';
    }
    DIR *d = opendir(dir);
    int removed = 0;
    struct dirent *entry;
    while (d && (entry = readdir(d))) {
        if (!is_temporary_of(entry->d_name, name, name_len)) continue;
        char *candidate = xmalloc(strlen(dir) + strlen(entry->d_name) + 2);
        sprintf(candidate, "%s/%s", dir, entry->d_name);
        removed += remove_if_abandoned(candidate);
        free(candidate);
    }
    if (d) closedir(d);
    free(dir);
    return removed;
}

/* ---------------------------------------------------------------------------
 * Atomic files
 * ------------------------------------------------------------------------- */

static void release_paths(AtomicFile *af)
{
    temp_untrack(af->tracked);
    af->tracked = -1;
    free(af->final_path);
    free(af->temp_path);
    af->final_path = af->temp_path = NULL;
    af->file = NULL;
}

/* A new temporary "<path>.XXXXXX.tmp", created, locked and tracked; returns
 * its descriptor or -1 with errno set. */
static int create_temporary(AtomicFile *af, const char *path)
{
    /* Another program sweeping between our create and our lock may remove
     * the file (it saw it unlocked): then the file has no name left
     * (st_nlink 0) and we make another. */
    for (int attempt = 0; attempt < 8; attempt++) {
        sprintf(af->temp_path, "%s.XXXXXX%s", path, temp_suffix);
        int fd = mkstemps(af->temp_path, (int)strlen(temp_suffix));
        if (fd < 0) return -1;
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* not inherited by gnuplot */
        af->tracked = temp_track(af->temp_path);
        (void)flock(fd, LOCK_EX); /* file systems without flock: no sweeping protection, no harm */
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_nlink > 0) return fd;
        temp_untrack(af->tracked);
        af->tracked = -1;
        close(fd);
    }
    errno = EEXIST;
    return -1;
}

int atomic_replaceable(const char *path, Error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) return 0; /* absent, or a file */
    const char *what = S_ISLNK(st.st_mode)                          ? "a symbolic link"
                       : S_ISDIR(st.st_mode)                        ? "a folder"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                       : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                                                                    : "not a regular file";
    return error_set(err, "%s is %s: an output replaces only a regular file; name a new file",
                     path, what);
}

FILE *atomic_open(AtomicFile *af, const char *path, Error *err)
{
    af->file = NULL;
    af->final_path = af->temp_path = NULL;
    af->tracked = -1;
    if (atomic_replaceable(path, err)) return NULL;
    size_t len = strlen(path);
    af->final_path = xmalloc(len + 1);
    memcpy(af->final_path, path, len + 1);
    af->temp_path = xmalloc(len + sizeof ".XXXXXX" + sizeof temp_suffix);
    atomic_sweep(path);

    int fd = create_temporary(af, path);
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
    /* The lock goes with the last descriptor: a duplicate keeps it until
     * the rename, so no sweep can take the file between close and rename. */
    int hold_lock = dup(fileno(af->file));
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
    if (problem) unlink(af->temp_path);
    if (hold_lock >= 0) close(hold_lock);
    if (problem) {
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
