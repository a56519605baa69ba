#!/bin/sh
# Command-line behaviour of the programs: exit codes and messages.
# usage: tests/cli.sh GRADCHECK EMOTION
GRADCHECK=$1
EMOTION=$2
pass=0
fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE CMD...: runs CMD, checks its exit code.
expect() {
    want=$1; shift
    "$@" >/tmp/cli_out.$$ 2>&1
    got=$?
    if [ "$got" = "$want" ]; then ok; else bad "$* exited $got, expected $want"; sed 's/^/    /' /tmp/cli_out.$$ | head -20; fi
}
# expect_output PATTERN: the last command's output contains PATTERN.
expect_output() {
    if grep -q -- "$1" /tmp/cli_out.$$; then ok; else bad "output lacks '$1'"; fi
}
# expect_no_output PATTERN: the last command's output does not contain PATTERN.
expect_no_output() {
    if grep -q -- "$1" /tmp/cli_out.$$; then bad "output has '$1'"; else ok; fi
}

. "$(dirname "$0")/cli_cases.sh"
. "$(dirname "$0")/cli_cases_checker.sh"
. "$(dirname "$0")/cli_cases_train.sh"
. "$(dirname "$0")/cli_cases_eval.sh"

rm -f /tmp/cli_out.$$
echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
