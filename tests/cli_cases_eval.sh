# Command-line cases for emotion eval, predict and data export: outputs that collide,
# checkpoints' class names, hostile text (sourced by tests/cli.sh after cli_cases.sh:
# expect, expect_output and expect_no_output are defined there).
