# Command-line cases for emotion train: resuming, pre-flight checks of outputs, flags
# (sourced by tests/cli.sh after cli_cases.sh: expect, expect_output and
# expect_no_output are defined there).
