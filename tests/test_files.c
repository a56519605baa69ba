/* base/: the checks made on paths (files.h), error messages that name a
 * file once (error.h), and the temporaries of atomic files, which must
 * not outlive their program (atomic_file.h). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"
#include "files.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static void make_temp_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/test_files.XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The names in dir, sorted, each followed by a space. */
static void list_dir(const char *dir, char *names, size_t len)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, NULL, alphasort);
    ck_assert(n >= 0);
    names[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(entries[i]->d_name, ".") && strcmp(entries[i]->d_name, "..")) {
            strncat(names, entries[i]->d_name, len - strlen(names) - 2);
            strcat(names, " ");
        }
        free(entries[i]);
    }
    free(entries);
}

static void remove_dir(const char *dir)
{
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(command), 0);
}

/* ------------------------------------------------------------------ */
/* files.h                                                             */

START_TEST(a_regular_file_opens_with_its_size)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    write_text(path, "hello");
    uint64_t size = 0;
    Error err;
    FILE *f = fopen_regular(path, &size, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ck_assert_uint_eq(size, 5);
    char buf[8] = "";
    ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), 5);
    ck_assert_str_eq(buf, "hello");
    fclose(f);
    remove_dir(dir);
}
END_TEST

START_TEST(a_directory_is_named_as_one)
{
    uint64_t size;
    Error err;
    ck_assert_int_eq(open_regular_file("/tmp", &size, &err), -1);
    ck_assert_str_eq(err.msg, "/tmp: is a directory");
}
END_TEST

START_TEST(a_device_is_not_a_regular_file)
{
    uint64_t size;
    Error err;
    ck_assert_ptr_null(fopen_regular("/dev/zero", &size, &err));
    ck_assert_str_eq(err.msg, "/dev/zero: is not a regular file (a character device)");
}
END_TEST

START_TEST(a_pipe_is_refused_without_waiting_for_a_writer)
{
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    uint64_t size;
    Error err;
    /* a blocking open would hang here (the test would time out) */
    ck_assert_int_eq(open_regular_file(path, &size, &err), -1);
    ck_assert_msg(strstr(err.msg, "fifo: is not a regular file (a pipe)"), "%s", err.msg);
    remove_dir(dir);
}
END_TEST

START_TEST(a_missing_file_says_why)
{
    uint64_t size;
    Error err;
    ck_assert_int_eq(open_regular_file("/tmp/no/such/file", &size, &err), -1);
    ck_assert_str_eq(err.msg, "/tmp/no/such/file: cannot open: No such file or directory");
}
END_TEST

START_TEST(same_file_sees_through_links_and_names)
{
    char dir[64], a[128], b[128], hard[128], soft[128], dotted[160];
    make_temp_dir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    snprintf(hard, sizeof hard, "%s/hard.csv", dir);
    snprintf(soft, sizeof soft, "%s/soft.csv", dir);
    snprintf(dotted, sizeof dotted, "%s/./../%s/a.csv", dir, strrchr(dir, '/') + 1);
    write_text(a, "1");
    write_text(b, "1");
    ck_assert_int_eq(link(a, hard), 0);
    ck_assert_int_eq(symlink("a.csv", soft), 0);
    ck_assert_int_eq(same_file(a, a), 1);
    ck_assert_int_eq(same_file(a, dotted), 1);
    ck_assert_int_eq(same_file(a, hard), 1);
    ck_assert_int_eq(same_file(soft, a), 1);
    ck_assert_int_eq(same_file(a, b), 0);           /* same contents, another file */
    ck_assert_int_eq(same_file(a, "/tmp/no/such"), 0);
    ck_assert_int_eq(same_file("/tmp/no/such", "/tmp/no/such"), 0);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* error.h                                                             */

START_TEST(error_prefix_names_a_file_once)
{
    Error err;
    error_set(&err, "runs/model.npz: cannot write: No space left on device");
    error_prefix(&err, "%s", "runs/model.npz");
    ck_assert_str_eq(err.msg, "runs/model.npz: cannot write: No space left on device");
    error_prefix(&err, "%s", "runs/model");  /* a prefix of the name is not the name */
    ck_assert_str_eq(err.msg, "runs/model: runs/model.npz: cannot write: No space left on device");
    error_set(&err, "shape too large");
    error_prefix(&err, "%s: member '%s'", "a.npz", "x");
    ck_assert_str_eq(err.msg, "a.npz: member 'x': shape too large");
}
END_TEST

/* A path of thousands of bytes: the message keeps the path's start and the
 * reason at its end (it ended in the middle of the path, the reason lost) */
START_TEST(a_long_message_keeps_its_start_and_its_reason)
{
    char path[4001];
    memset(path, 'x', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    memcpy(path, "runs/", 5);
    Error err;
    error_set(&err, "%s: cannot write: No space left on device", path);
    ck_assert_uint_lt(strlen(err.msg), sizeof err.msg);
    ck_assert(!strncmp(err.msg, "runs/xxx", 8));
    ck_assert_ptr_nonnull(strstr(err.msg, "xxx...xxx"));
    const char *end = "xxx: cannot write: No space left on device";
    ck_assert_str_eq(err.msg + strlen(err.msg) - strlen(end), end);

    /* a long context before a message: the message's end stays too */
    error_set(&err, "member 'x': shape too large");
    error_prefix(&err, "%s", path);
    ck_assert(!strncmp(err.msg, "runs/xxx", 8));
    end = "xxx: member 'x': shape too large";
    ck_assert_str_eq(err.msg + strlen(err.msg) - strlen(end), end);
}
END_TEST

/* the cuts fall between characters: a name of two-byte letters stays UTF-8 */
START_TEST(a_long_message_is_cut_between_characters)
{
    for (int shift = 0; shift < 2; shift++) {
        char name[3001];
        int n = 0;
        if (shift) name[n++] = 'a';
        while (n + 2 < (int)sizeof name) n += sprintf(name + n, "\xc3\xa9"); /* e acute */
        name[n] = '\0';
        Error err;
        error_set(&err, "%s: not found", name);
        uint32_t code_point;
        ck_assert_int_eq(utf8_find_unprintable((const uint8_t *)err.msg, strlen(err.msg), "",
                                               &code_point), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "...\xc3\xa9"));
    }
}
END_TEST

/* a message names files from outside: a terminal's escapes in a name are
 * shown as '?', never sent; a message's own lines stay lines */
START_TEST(a_message_shows_control_characters_as_question_marks)
{
    Error err;
    error_set(&err, "%s: cannot open: %s", "faces/\x1B]0;owned\x07x.pgm", "No such file");
    ck_assert_str_eq(err.msg, "faces/?]0;owned?x.pgm: cannot open: No such file");
    error_set(&err, "--init holds another network; it describes:\n%s", "fc 7");
    ck_assert_str_eq(err.msg, "--init holds another network; it describes:\nfc 7");
    /* the prefix is compared as it is shown: named once still */
    error_set(&err, "%s: cannot write: No space left on device", "e\x1B[1m.npz");
    error_prefix(&err, "%s", "e\x1B[1m.npz");
    ck_assert_str_eq(err.msg, "e?[1m.npz: cannot write: No space left on device");
}
END_TEST

/* ------------------------------------------------------------------ */
/* atomic_file.h: stale temporaries                                    */

START_TEST(opening_sweeps_stale_temporaries_and_nothing_else)
{
    char dir[64], path[128], other[160], names[512];
    make_temp_dir(dir, sizeof dir);
    const char *files[] = {"X.abc123.tmp", "X.ABC999.tmp",          /* stale: removed */
                           "X.tmp", "Y.abc123.tmp", "X.abc12.tmp",  /* not ours: kept */
                           "X.abc1234.tmp", "X.abc-23.tmp", "X.abc123.tmp.bak", "XX.abc123.tmp",
                           "X.npz.abc123.tmp"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(other, sizeof other, "%s/%s", dir, files[i]);
        write_text(other, "left by a killed run");
    }
    snprintf(path, sizeof path, "%s/X", dir);
    Error err;
    AtomicFile af;
    ck_assert_ptr_nonnull(atomic_open(&af, path, &err));
    fputs("new", af.file);
    ck_assert_msg(atomic_commit(&af, &err) == 0, "%s", err.msg);
    list_dir(dir, names, sizeof names);
    ck_assert_str_eq(names, "X X.abc-23.tmp X.abc12.tmp X.abc123.tmp.bak X.abc1234.tmp "
                            "X.npz.abc123.tmp X.tmp XX.abc123.tmp Y.abc123.tmp ");
    remove_dir(dir);
}
END_TEST

START_TEST(sweeping_spares_a_temporary_that_a_live_writer_holds)
{
    char dir[64], path[128], names[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/X", dir);
    Error err;
    AtomicFile first, second;
    ck_assert_ptr_nonnull(atomic_open(&first, path, &err));
    fputs("first", first.file);
    /* a second writer of the same file (another run in the same folder) */
    ck_assert_int_eq(atomic_sweep(path), 0);
    ck_assert_ptr_nonnull(atomic_open(&second, path, &err));
    ck_assert_msg(exists(first.temp_path), "the live temporary %s was swept", first.temp_path);
    fputs("second", second.file);
    ck_assert_msg(atomic_commit(&first, &err) == 0, "%s", err.msg);
    ck_assert_msg(atomic_commit(&second, &err) == 0, "%s", err.msg);
    list_dir(dir, names, sizeof names);
    ck_assert_str_eq(names, "X ");
    remove_dir(dir);
}
END_TEST

START_TEST(sweep_counts_what_it_removes_in_the_current_directory)
{
    char dir[64], cwd[4096];
    make_temp_dir(dir, sizeof dir);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    write_text("m.npz.Ab3dE9.tmp", "");
    write_text("m.npz.Zz0000.tmp", "");
    write_text("m.npz", "keep");
    int removed = atomic_sweep("m.npz");
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(removed, 2);
    char names[128];
    list_dir(dir, names, sizeof names);
    ck_assert_str_eq(names, "m.npz ");
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* atomic_file.h: signals                                              */

/* In a child: open an atomic file in dir, write to it, then die by sig.
 * The parent checks the signal ended the child and the folder is empty. */
static void assert_signal_removes_the_temporary(int sig)
{
    char dir[64], path[128], names[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.npz", dir);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        signal(sig, SIG_DFL); /* as a program starts */
        Error err;
        AtomicFile af;
        if (!atomic_open(&af, path, &err)) _exit(3);
        fputs("half a file", af.file);
        fflush(af.file);
        if (!exists(af.temp_path)) _exit(4);
        raise(sig);
        _exit(5); /* not reached: the signal ends the child */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig,
                  "the child did not die by signal %d (status %#x)", sig, status);
    list_dir(dir, names, sizeof names);
    ck_assert_msg(names[0] == '\0', "left behind: %s", names);
    remove_dir(dir);
}

START_TEST(sigterm_removes_open_temporaries_and_still_kills)
{
    assert_signal_removes_the_temporary(SIGTERM);
}
END_TEST

START_TEST(sigint_removes_open_temporaries_and_still_kills)
{
    assert_signal_removes_the_temporary(SIGINT);
}
END_TEST

START_TEST(an_ignored_signal_stays_ignored)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_IGN);
        char dir[64] = "/tmp/test_files.XXXXXX", path[128];
        if (!mkdtemp(dir)) _exit(3);
        snprintf(path, sizeof path, "%s/out", dir);
        Error err;
        AtomicFile af;
        if (!atomic_open(&af, path, &err)) _exit(3);
        raise(SIGTERM); /* ignored, as before */
        atomic_abort(&af);
        rmdir(dir);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}
END_TEST

START_TEST(tracked_folders_are_removed_after_their_files)
{
    char dir[64], file[160], names[256];
    make_temp_dir(dir, sizeof dir);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        char folder[128];
        snprintf(folder, sizeof folder, "%s/work", dir);
        snprintf(file, sizeof file, "%s/data", folder);
        signal(SIGTERM, SIG_DFL);
        if (mkdir(folder, 0700) != 0) _exit(3);
        temp_track(folder); /* the folder first: the handler must still empty it first */
        write_text(file, "1 2 3");
        temp_track(file);
        raise(SIGTERM);
        _exit(5);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    list_dir(dir, names, sizeof names);
    ck_assert_msg(names[0] == '\0', "left behind: %s", names);
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* atomic_file.h: a full disk                                          */

START_TEST(a_failed_write_names_the_file_once)
{
    /* /dev/full accepts the open but fails every write with ENOSPC: stand
     * it in for the temporary. */
    FILE *full = fopen("/dev/full", "w");
    if (!full) return; /* not on this system */
    char dir[64], path[128], names[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.bin", dir);
    Error err;
    AtomicFile af;
    ck_assert_ptr_nonnull(atomic_open(&af, path, &err));
    fclose(af.file);
    af.file = full;
    fputs("data that cannot be written", full);
    ck_assert_int_eq(atomic_commit(&af, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: cannot write: %s", path, strerror(ENOSPC));
    ck_assert_str_eq(err.msg, want);
    /* a caller that adds the file name again does not repeat it */
    error_prefix(&err, "%s", path);
    ck_assert_str_eq(err.msg, want);
    list_dir(dir, names, sizeof names);
    ck_assert_msg(names[0] == '\0', "left behind: %s", names);
    remove_dir(dir);
}
END_TEST

Suite *files_suite(void)
{
    Suite *s = suite_create("files");
    TCase *paths = tcase_create("paths");
    tcase_add_test(paths, a_regular_file_opens_with_its_size);
    tcase_add_test(paths, a_directory_is_named_as_one);
    tcase_add_test(paths, a_device_is_not_a_regular_file);
    tcase_add_test(paths, a_pipe_is_refused_without_waiting_for_a_writer);
    tcase_add_test(paths, a_missing_file_says_why);
    tcase_add_test(paths, same_file_sees_through_links_and_names);
    tcase_add_test(paths, error_prefix_names_a_file_once);
    tcase_add_test(paths, a_long_message_keeps_its_start_and_its_reason);
    tcase_add_test(paths, a_long_message_is_cut_between_characters);
    tcase_add_test(paths, a_message_shows_control_characters_as_question_marks);
    suite_add_tcase(s, paths);

    TCase *atomic = tcase_create("atomic files");
    tcase_add_test(atomic, opening_sweeps_stale_temporaries_and_nothing_else);
    tcase_add_test(atomic, sweeping_spares_a_temporary_that_a_live_writer_holds);
    tcase_add_test(atomic, sweep_counts_what_it_removes_in_the_current_directory);
    tcase_add_test(atomic, sigterm_removes_open_temporaries_and_still_kills);
    tcase_add_test(atomic, sigint_removes_open_temporaries_and_still_kills);
    tcase_add_test(atomic, an_ignored_signal_stays_ignored);
    tcase_add_test(atomic, tracked_folders_are_removed_after_their_files);
    tcase_add_test(atomic, a_failed_write_names_the_file_once);
    suite_add_tcase(s, atomic);
    return s;
}
