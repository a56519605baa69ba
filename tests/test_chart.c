/* src/chart.c: PNG charts drawn by gnuplot, whatever the paths hold.
 *
 * gnuplot reads a file name that starts with '<' as a command to run and
 * writes to one that starts with '|' by running it; quotes, backslashes
 * and newlines could end the string a name sits in. The charts must land
 * at exactly the path asked for and run nothing, whatever that path is.
 * Without gnuplot these tests check only the data files and say so. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chart.h"

/* Folder names that were commands, or broke the quoting, when paths went
 * into gnuplot's scripts. */
static const char *const hostile_names[] = {
    "|touch MARKER #", "<touch MARKER", "it's \"quoted\" `touch MARKER`",
    "back\\slash\\", "new\nline", "\xc3\xbcn\xc3\xaf\xc3\xa7\xc3\xb8" "d\xc3\xa9 \xe2\x9c\x93", "@x $HOME",
};
#define HOSTILE_NAMES ((int)(sizeof hostile_names / sizeof hostile_names[0]))

/* A scratch folder to work in (the current directory, so that relative
 * paths starting with '|' or '<' are what the chart functions get) and a
 * private TMPDIR, to see that nothing is left in it. */
typedef struct {
    char cwd[4096], root[64], tmpdir[96];
} Scratch;

static void scratch_enter(Scratch *s)
{
    ck_assert_ptr_nonnull(getcwd(s->cwd, sizeof s->cwd));
    snprintf(s->root, sizeof s->root, "/tmp/test_chart.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s->root));
    snprintf(s->tmpdir, sizeof s->tmpdir, "%s/.tmpdir", s->root);
    ck_assert_int_eq(mkdir(s->tmpdir, 0700), 0);
    ck_assert_int_eq(setenv("TMPDIR", s->tmpdir, 1), 0);
    ck_assert_int_eq(chdir(s->root), 0);
}

/* rm -rf path, without a shell (one test runs with PATH emptied). */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *child = malloc(strlen(path) + strlen(e->d_name) + 2);
            sprintf(child, "%s/%s", path, e->d_name);
            remove_tree(child);
            free(child);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void scratch_leave(Scratch *s)
{
    ck_assert_int_eq(chdir(s->cwd), 0);
    unsetenv("TMPDIR");
    remove_tree(s->root);
}

/* The names in dir, sorted, each followed by a space ("" if none). */
static void list_dir(const char *dir, char *names, size_t len)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, NULL, alphasort);
    ck_assert_msg(n >= 0, "cannot list %s", dir);
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

static void assert_is_png(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no chart at the path asked for: '%s'", path);
    unsigned char magic[8] = {0};
    size_t n = fread(magic, 1, 8, f);
    fclose(f);
    ck_assert_msg(n == 8 && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8), "'%s' is not a PNG", path);
}

/* Nothing ran (no MARKER anywhere in the scratch folder) and gnuplot's
 * private folder is gone. */
static void assert_nothing_ran_nothing_left(const Scratch *s)
{
    char names[1024];
    ck_assert_msg(access("MARKER", F_OK) != 0, "a path was run as a command");
    list_dir(s->tmpdir, names, sizeof names);
    ck_assert_msg(names[0] == '\0', "left in TMPDIR: %s", names);
}

static const char *const class_labels[3] = {"Angry", "it's", "Sad \"x\""};

/* Draws chart `kind` (0 lines, 1 heatmap, 2 bars, 3 images) at png. */
static int draw(int kind, const char *png, const char *folder, Error *err)
{
    double matrix[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint8_t images[2 * 4 * 4];
    for (int i = 0; i < 32; i++) images[i] = (uint8_t)(8 * i);
    switch (kind) {
    case 0: {
        char data[4200];
        snprintf(data, sizeof data, "%s/metrics.csv", folder);
        FILE *f = fopen(data, "w");
        ck_assert_ptr_nonnull(f);
        fputs("epoch,loss\n1,2.0\n2,1.5\n3,1.2\n", f);
        fclose(f);
        ChartSpec spec = {.title = "loss ' `touch MARKER`", .xlabel = "epoch", .ylabel = "loss",
                          .csv = 1, .header_lines = 1, .x_column = 1, .num_series = 1,
                          .y_columns = {2}, .series_titles = {"train\n!touch MARKER"},
                          .x_whole = 1};
        return chart_lines(png, data, &spec, err);
    }
    case 1:
        return chart_heatmap(png, "t", matrix, 3, 3, class_labels, class_labels, "x", "y", err);
    case 2:
        return chart_bars(png, "t", matrix, 3, class_labels, "x", "y", err);
    default:
        return chart_images(png, "t", images, 2, 4, 4, 2, class_labels, err);
    }
}

/* What each chart leaves beside its PNG: lines, the caller's data file;
 * the others, their own data file. */
static const char *const expected_files[4] = {
    "chart.png metrics.csv ", "chart.dat chart.png ", "chart.dat chart.png ", "chart.pgm chart.png ",
};

START_TEST(charts_land_at_the_path_asked_for_and_run_nothing)
{
    int kind = _i;
    Scratch s;
    scratch_enter(&s);
    for (int n = 0; n < HOSTILE_NAMES; n++) {
        const char *folder = hostile_names[n];
        ck_assert_int_eq(mkdir(folder, 0755), 0);
        char png[4200], names[1024];
        snprintf(png, sizeof png, "%s/chart.png", folder);
        Error err = {""};
        int status = draw(kind, png, folder, &err);
        ck_assert_msg(status >= 0, "chart %d in '%s': %s", kind, folder, err.msg);
        if (status == 1) {
            fprintf(stderr, "test_chart: gnuplot not found, only the data files checked\n");
        } else {
            assert_is_png(png);
        }
        assert_nothing_ran_nothing_left(&s);
        list_dir(folder, names, sizeof names);
        if (status == 0)
            ck_assert_msg(!strcmp(names, expected_files[kind]), "in '%s': %s", folder, names);
    }
    scratch_leave(&s);
}
END_TEST

START_TEST(a_failed_chart_names_the_png_asked_for)
{
    int kind = _i;
    Scratch s;
    scratch_enter(&s);
    ck_assert_int_eq(mkdir("|touch MARKER #", 0755), 0);
    /* no such folder: neither the data file nor the PNG can be written */
    Error err = {""};
    const char *png = "|touch MARKER #/no such folder/chart.png";
    ck_assert_int_eq(draw(kind, png, "|touch MARKER #", &err), -1);
    ck_assert_msg(!strncmp(err.msg, png, strlen(png)), "the message does not start with the PNG: %s",
                  err.msg);
    assert_nothing_ran_nothing_left(&s);
    scratch_leave(&s);
}
END_TEST

START_TEST(a_chart_that_fails_leaves_the_old_png_untouched)
{
    Scratch s;
    scratch_enter(&s);
    if (!chart_gnuplot_available()) {
        scratch_leave(&s);
        return;
    }
    FILE *f = fopen("loss.png", "w");
    fputs("the previous chart", f);
    fclose(f);
    /* a data file gnuplot cannot plot: text where numbers should be */
    f = fopen("metrics.csv", "w");
    fputs("epoch,loss\nnot,numbers\n", f);
    fclose(f);
    ChartSpec spec = {.csv = 1, .header_lines = 1, .x_column = 1, .num_series = 1, .y_columns = {2}};
    Error err = {""};
    ck_assert_int_eq(chart_lines("loss.png", "metrics.csv", &spec, &err), -1);
    ck_assert_msg(!strncmp(err.msg, "loss.png: gnuplot failed", 24), "%s", err.msg);
    char names[256], text[64] = "";
    f = fopen("loss.png", "r");
    ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
    fclose(f);
    ck_assert_str_eq(text, "the previous chart");
    list_dir(".", names, sizeof names);
    ck_assert_str_eq(names, ".tmpdir loss.png metrics.csv ");
    assert_nothing_ran_nothing_left(&s);
    scratch_leave(&s);
}
END_TEST

START_TEST(a_chart_crosses_file_systems_whole)
{
    /* gnuplot's folder on another file system than the PNG: the PNG is
     * copied through an atomic file instead of renamed. */
    struct stat shm, tmp;
    if (!chart_gnuplot_available() || stat("/dev/shm", &shm) != 0 || stat("/tmp", &tmp) != 0 ||
        shm.st_dev == tmp.st_dev)
        return;
    Scratch s;
    scratch_enter(&s);
    char shm_dir[] = "/dev/shm/test_chart.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(shm_dir));
    setenv("TMPDIR", shm_dir, 1);
    double values[2] = {3, 4};
    Error err = {""};
    ck_assert_msg(chart_bars("|bars.png", "t", values, 2, NULL, "x", "y", &err) == 0, "%s", err.msg);
    assert_is_png("|bars.png");
    char names[256];
    list_dir(".", names, sizeof names);
    ck_assert_str_eq(names, ".tmpdir |bars.dat |bars.png ");
    list_dir(shm_dir, names, sizeof names);
    ck_assert_msg(names[0] == '\0', "left in %s: %s", shm_dir, names);
    rmdir(shm_dir);
    assert_nothing_ran_nothing_left(&s);
    scratch_leave(&s);
}
END_TEST

START_TEST(without_gnuplot_the_data_files_are_still_written)
{
    Scratch s;
    scratch_enter(&s);
    ck_assert_int_eq(setenv("PATH", "/nonexistent", 1), 0);
    ck_assert_int_eq(mkdir("<touch MARKER", 0755), 0);
    /* the "gnuplot not found" notice is expected here: keep it out of the log */
    fflush(stderr);
    int saved_stderr = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
    int status[4];
    for (int kind = 1; kind < 4; kind++) {
        Error err = {""};
        status[kind] = draw(kind, "<touch MARKER/chart.png", "<touch MARKER", &err);
    }
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(null);
    for (int kind = 1; kind < 4; kind++) ck_assert_int_eq(status[kind], 1);
    char names[256];
    list_dir("<touch MARKER", names, sizeof names);
    ck_assert_str_eq(names, "chart.dat chart.pgm ");
    assert_nothing_ran_nothing_left(&s);
    scratch_leave(&s);
}
END_TEST

Suite *chart_suite(void)
{
    Suite *s = suite_create("chart");
    TCase *tc = tcase_create("gnuplot");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, charts_land_at_the_path_asked_for_and_run_nothing, 0, 4);
    tcase_add_loop_test(tc, a_failed_chart_names_the_png_asked_for, 0, 4);
    tcase_add_test(tc, a_chart_that_fails_leaves_the_old_png_untouched);
    tcase_add_test(tc, a_chart_crosses_file_systems_whole);
    tcase_add_test(tc, without_gnuplot_the_data_files_are_still_written);
    suite_add_tcase(s, tc);
    return s;
}
