#!/bin/sh
# selftest.sh: the grader's proofs (`make grade-selftest`, part of `make check`).
#
#   selftest.sh GRADER RUNNER_MAIN_O WORK_DIR
#
# 0. Every catalogued mistake, given as a function's answers, is diagnosed
#    as itself (grader --check-catalogue: no student code runs).
# 1. The shipped exercises/ score 0/M, every function "not implemented".
#    If a student has written answers in exercises/ of a git clone, the
#    skeletons the commit holds are checked instead (git show HEAD:...).
# 2. tests/exercises/solutions scores M/M.
# 3. Every folder of tests/exercises/mutants (one catalogued mistake each),
#    tests/exercises/sandbox (crashes, endless loops, ...) and
#    tests/exercises/uncatalogued (wrong solutions written apart from the
#    catalogue) is graded on its files (EX=relu.c,...: every function of
#    each file): it must fail, and print the phrase on the first line of
#    its HINT file (and, if it has a SCORE file, end with that score line).
#    If it has a NOT file, none of its lines may appear in the report (a
#    hint the grader must no longer give: a wrong factor, a coincidence),
#    wherever the report's wrapping breaks them.
# Environment: CC, STUDENT_CFLAGS, STUDENT_LDFLAGS (from exercises/grade.mk).
set -u
GRADER=$1
RUNNER_MAIN=$2
WORK=$3
HERE=$(dirname "$0")
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}
mkdir -p "$WORK"
OUT=$WORK/output

# grade DIR [EX]: runs the grader on DIR; its output is in $OUT, its status in $status.
grade() {
    name=$(echo "$1" | tr '/.' '__')
    # a folder's COMPILE_SECONDS file: the compiler's time limit for it
    limit=60
    [ -f "$1/COMPILE_SECONDS" ] && limit=$(cat "$1/COMPILE_SECONDS")
    GRADE_COMPILE_SECONDS=$limit sh exercises/grader/grade.sh "$GRADER" "$RUNNER_MAIN" \
        "$WORK/$name" "$1" "${2:-}" >"$OUT" 2>&1
    status=$?
}

show() { sed 's/^/    | /' "$OUT" | head -${1:-40}; }

# unwanted DIR: the first line of DIR/NOT found in the report, read as one
# line with its spaces squeezed (so that a phrase wrapped over two lines is
# found too), or nothing
unwanted() {
    [ -f "$1/NOT" ] || return 0
    flat=$(tr -s ' \n' '  ' <"$OUT")
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        case $flat in *"$line"*)
            echo "$line"
            return 0
            ;;
        esac
    done <"$1/NOT"
}

if "$GRADER" --check-catalogue >"$OUT" 2>&1; then ok; else
    bad "grader --check-catalogue"
    show
fi

M=$("$GRADER" --list | awk '{ n += NF - 1 } END { print n }')

SKELETONS=exercises
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet HEAD -- ':(glob)exercises/*.c' 2>/dev/null; then
    SKELETONS=$WORK/shipped_exercises
    mkdir -p "$SKELETONS"
    for f in exercises/*.c; do git show "HEAD:$f" >"$SKELETONS/$(basename "$f")"; done
    echo "note: exercises/ holds answers of your own: the skeletons of the commit are checked instead"
fi
grade "$SKELETONS"
not_implemented=$(grep -c "not implemented" "$OUT")
if [ "$status" = 1 ] && grep -qx "score: 0/$M" "$OUT" && [ "$not_implemented" = "$M" ]; then
    ok
else
    bad "exercises/ should score 0/$M with $M 'not implemented' (exit $status, $not_implemented" \
        "not implemented); if you wrote your answers there, grade them with EXERCISES=DIR instead"
    show
fi

grade "$HERE/solutions"
if [ "$status" = 0 ] && grep -qx "score: $M/$M" "$OUT"; then ok; else
    bad "tests/exercises/solutions should score $M/$M (exit $status)"
    show
fi

for dir in "$HERE"/mutants/*/ "$HERE"/sandbox/*/ "$HERE"/uncatalogued/*/; do
    [ -f "$dir/HINT" ] || continue
    dir=${dir%/}
    topics=""
    for f in "$dir"/*.c; do topics="$topics${topics:+,}$(basename "$f")"; done
    phrase=$(head -1 "$dir/HINT")
    grade "$dir" "$topics"
    if [ -f "$dir/SCORE" ]; then
        want=$(head -1 "$dir/SCORE")
        if grep -qxF "$want" "$OUT" && grep -qF -- "$phrase" "$OUT"; then ok; else
            bad "$dir: expected '$want' and '$phrase'"
            show
        fi
        continue
    fi
    found_unwanted=$(unwanted "$dir")
    if [ "$status" = 1 ] && grep -q "FAIL\|not implemented\|does not" "$OUT" &&
        grep -qF -- "$phrase" "$OUT" && ! grep -q "grader error" "$OUT" &&
        [ -z "$found_unwanted" ]; then
        ok
    elif [ -n "$found_unwanted" ]; then
        bad "$dir (EX=$topics) should not print '$found_unwanted'"
        show 60
    else
        bad "$dir (EX=$topics, exit $status) should fail with '$phrase'"
        show 60
    fi
done

# An EX that names nothing is refused (it would score 0/0 and exit 0).
grade "$HERE/solutions" ","
if [ "$status" = 2 ] && grep -qF "EX=',' names no exercise" "$OUT"; then ok; else
    bad "EX=',' should be refused (exit $status)"
    show
fi

# `make grade` on folders a student may name: spaces, a command in
# backquotes, make's $(shell ...). Each is graded as itself, and nothing runs.
if command -v make >/dev/null 2>&1 && [ -f exercises/grade.mk ]; then
    PROBE=$(mktemp -d /tmp/grade_names.XXXXXX)
    for name in 'my folder' 'a`touch '"$PROBE"'/ran`b' 'c$(shell touch '"$PROBE"'/ran)d' \
        'e$(touch '"$PROBE"'/ran)f'; do
        mkdir -p "$PROBE/$name"
        cp "$HERE/solutions/relu.c" "$PROBE/$name/"
        make -s grade EXERCISES="$PROBE/$name" EX=relu >"$OUT" 2>&1
        status=$?
        if [ "$status" = 0 ] && grep -qxF "score: 2/2" "$OUT" &&
            grep -qF "== relu: $PROBE/$name/relu.c" "$OUT" && [ ! -e "$PROBE/ran" ]; then ok; else
            bad "make grade EXERCISES='$PROBE/$name' should grade that folder and run nothing" \
                "(exit $status)"
            show
        fi
    done
    # the folders' work directories, beside the self-test's own
    rm -rf "$PROBE" "$WORK"/../work/*"$(basename "$PROBE")"*
fi

echo "grade-selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
