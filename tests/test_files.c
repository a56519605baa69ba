/* make_directories and make_parent_directories (base/files.c): mkdir -p,
 * run in a fresh directory under build/. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"

#define ROOT "build/files_test"

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void start_clean(void)
{
    ck_assert_int_eq(system("rm -rf " ROOT), 0);
}

START_TEST(nested_directories_are_all_created)
{
    start_clean();
    Error err;
    ck_assert_msg(make_directories(ROOT "/a/b//c/", &err) == 0, "%s", err.msg);
    ck_assert(is_directory(ROOT "/a") && is_directory(ROOT "/a/b") && is_directory(ROOT "/a/b/c"));
    /* again: everything exists already, which is fine */
    ck_assert_msg(make_directories(ROOT "/a/b/c", &err) == 0, "%s", err.msg);
}
END_TEST

START_TEST(an_empty_path_is_refused_with_a_message)
{
    Error err = {""};
    ck_assert_int_eq(make_directories("", &err), -1);
    ck_assert_msg(strstr(err.msg, "empty name"), "%s", err.msg);
}
END_TEST

START_TEST(a_file_in_the_way_is_named)
{
    start_clean();
    Error err;
    ck_assert_int_eq(make_directories(ROOT, &err), 0);
    FILE *f = fopen(ROOT "/plain", "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(make_directories(ROOT "/plain/below", &err), -1);
    ck_assert_msg(strstr(err.msg, ROOT "/plain"), "%s", err.msg);
}
END_TEST

START_TEST(parent_directories_of_a_file_path_are_created)
{
    start_clean();
    Error err;
    ck_assert_msg(make_parent_directories(ROOT "/x/y/data.npz", &err) == 0, "%s", err.msg);
    ck_assert(is_directory(ROOT "/x/y"));
    struct stat st;
    ck_assert_int_ne(stat(ROOT "/x/y/data.npz", &st), 0); /* the file itself is not made */
    ck_assert_int_eq(make_parent_directories("data.npz", &err), 0); /* nothing to make */
    ck_assert_int_eq(make_parent_directories("/data.npz", &err), 0); /* the root exists */
}
END_TEST

Suite *files_suite(void)
{
    Suite *s = suite_create("files");
    TCase *t = tcase_create("directories");
    tcase_add_test(t, nested_directories_are_all_created);
    tcase_add_test(t, an_empty_path_is_refused_with_a_message);
    tcase_add_test(t, a_file_in_the_way_is_named);
    tcase_add_test(t, parent_directories_of_a_file_path_are_created);
    suite_add_tcase(s, t);
    return s;
}
