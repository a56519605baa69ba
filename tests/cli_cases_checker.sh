# Command-line cases for ./gradcheck and the lessons' options (sourced by tests/cli.sh,
# after cli_cases.sh: expect, expect_output and expect_no_output are defined there).
