#!/bin/sh
# grade.sh: compiles a student's exercise files and runs the grader on them.
# `make grade` calls it; run it through make, which builds the grader first.
#
#   grade.sh GRADER RUNNER_MAIN_O WORK_DIR EXERCISES_DIR [EX]
#
# A WORK_DIR ending in / is where work directories go: the folder's own is
# named after EXERCISES_DIR, every character but letters, digits, - and _
# made _ (`make grade` passes build/grade/work/).
#
# Environment (set by exercises/grade.mk): CC, STUDENT_CFLAGS, STUDENT_LDFLAGS,
# GRADE_FLAGS (extra grader options, e.g. --verbose or --timeout 5),
# GRADE_COMPILE_SECONDS (how long the compiler may take over one file,
# default 60: a file that includes itself twice makes it run for ever).
#
# Each TOPIC.c of EXERCISES_DIR is compiled alone, with AddressSanitizer and
# UBSan; a missing file, or one that does not compile, costs that topic's
# points and nothing else. The objects are linked with the runner
# (runner_main.c) into WORK_DIR/runner. If they do not link together (two
# files define the same helper, say), each file is linked alone, then with
# the files that did link, so that every file that can run is graded.
set -u
GRADER=$1
RUNNER_MAIN=$2
WORK=$3
DIR=${4%/}
EX=${5:-}
TOPICS="im2col conv relu maxpool fc softmax batchnorm dropout optim"
COMPILE_SECONDS=${GRADE_COMPILE_SECONDS:-60}
case $COMPILE_SECONDS in
'' | *[!0-9]* | 0)
    echo "grade: GRADE_COMPILE_SECONDS=$COMPILE_SECONDS is not a whole number of seconds above 0" >&2
    exit 2
    ;;
esac

# the help and the list need nothing compiled
case " ${GRADE_FLAGS:-} " in
*" --help "* | *" -h "* | *" --list "*)
    # shellcheck disable=SC2086
    exec "$GRADER" ${GRADE_FLAGS}
    ;;
esac

if [ ! -d "$DIR" ]; then
    echo "grade: EXERCISES=$DIR is not a directory" >&2
    exit 2
fi
# the status file below holds one file per line, its fields between tabs
TAB=$(printf '\t')
NEWLINE='
'
case $DIR in
*"$TAB"* | *"$NEWLINE"*)
    echo "grade: EXERCISES=$DIR: the folder's name holds a tab or a line break; rename it" >&2
    exit 2
    ;;
esac
case $WORK in
*/) WORK=$WORK$(printf '%s' "$DIR" | tr -c 'A-Za-z0-9_-' '_' | cut -c 1-100) ;;
esac
rm -rf "$WORK"
mkdir -p "$WORK" || exit 2
STATUS=$WORK/status
: >"$STATUS"

compiled=""
for t in $TOPICS; do
    src=$DIR/$t.c
    if [ ! -f "$src" ]; then
        echo "$t${TAB}missing" >>"$STATUS"
        continue
    fi
    # timeout stops the compiler and whatever it started (cc1, as)
    # shellcheck disable=SC2086 # STUDENT_CFLAGS is a list of flags
    timeout "$COMPILE_SECONDS" $CC $STUDENT_CFLAGS -c "$src" -o "$WORK/$t.o" 2>"$WORK/$t.log"
    case $? in
    0) compiled="$compiled $t" ;;
    124)
        echo "the compiler was still working on $t.c after $COMPILE_SECONDS s and was stopped" \
            "(a file that includes itself, or a huge constant array?)" >>"$WORK/$t.log"
        echo "$t${TAB}compile${TAB}$WORK/$t.log" >>"$STATUS"
        ;;
    *) echo "$t${TAB}compile${TAB}$WORK/$t.log" >>"$STATUS" ;;
    esac
done

# link RUNNER TOPICS...: links the runner with the given topics' objects.
# The objects' paths go into the arguments one by one, quoted: WORK may
# hold spaces (it is named after the student's folder).
link() {
    out=$1
    shift
    topics=$#
    for t in "$@"; do set -- "$@" "$WORK/$t.o"; done
    shift "$topics"
    # shellcheck disable=SC2086 # STUDENT_LDFLAGS is a list of flags
    $CC "$RUNNER_MAIN" "$@" $STUDENT_LDFLAGS -lm -o "$out" 2>"$out.log"
}

if [ -z "$compiled" ]; then
    :
elif link "$WORK/runner" $compiled; then
    for t in $compiled; do echo "$t${TAB}ok${TAB}$WORK/runner${TAB}$WORK/$t.log" >>"$STATUS"; done
else
    alone=""
    for t in $compiled; do
        if link "$WORK/runner-$t" "$t"; then alone="$alone $t"; fi
    done
    for t in $compiled; do
        case " $alone " in
        *" $t "*) echo "$t${TAB}ok${TAB}$WORK/runner-$t${TAB}$WORK/$t.log" >>"$STATUS" ;;
        *)
            others=""
            for o in $alone; do others="$others $o"; done
            if link "$WORK/runner-$t" "$t" $others; then
                echo "$t${TAB}ok${TAB}$WORK/runner-$t${TAB}$WORK/$t.log" >>"$STATUS"
            else
                echo "$t${TAB}link${TAB}$WORK/runner-$t.log" >>"$STATUS"
            fi
            ;;
        esac
    done
fi

if [ -n "$EX" ]; then
    # shellcheck disable=SC2086 # GRADE_FLAGS is a list of options
    exec "$GRADER" --status "$STATUS" --dir "$DIR" --only "$EX" ${GRADE_FLAGS:-}
else
    # shellcheck disable=SC2086
    exec "$GRADER" --status "$STATUS" --dir "$DIR" ${GRADE_FLAGS:-}
fi
