/* Runs every Check suite listed in suites.h. The same tests build twice,
 * with real = float and real = double; Check prints its summary line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "real.h"

#define SUITE(name) Suite *name##_suite(void);
#include "suites.h"
#undef SUITE

int main(void)
{
    SRunner *runner = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(runner, name##_suite());
#include "suites.h"
#undef SUITE
    printf("real = %s\n", REAL_NAME);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
