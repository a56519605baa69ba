#!/bin/sh
# lessons/check_guides.sh: the figures a teacher's guide gives as exact are
# what the lessons print.
#
#     sh lessons/check_guides.sh [--all] [BUILD]    (BUILD: where the lessons are built, default build)
#
# A guide marks its exact figures: between two HTML comments, which do not
# show when the Markdown is rendered,
#
#     <!-- exact: lesson4 -->
#     - Max-pool 2x2: out `8.00 6.00` / `7.00 9.00`, picked at `(1, 1) (1, 2) (2, 0) (2, 2)`.
#     <!-- /exact -->
#
# every code span (`...`) is a quote of the lesson's output. The comment
# names the run: the lesson, and any flags after it (`lesson10 --surface
# tilted`);
# "(until section N)" at its end stops the lesson when section N begins,
# for the figures of a long lesson's first sections
# (`<!-- exact: lesson9 (until section 4) -->`). A block marked
# `<!-- exact, long: lesson9 -->` needs a long run (minutes): it is checked
# only with --all (`make check-guides-all`), not in `make check`.
# A quote must appear in that run's output, where runs of spaces and line
# breaks count as one space on both sides (the lessons wrap their
# paragraphs and align their tables). Figures outside the markers (ranges,
# timings, anything that depends on the machine) are not checked.
#
# Only figures that are the same on every machine belong between the
# markers: README.md ("Lessons") and lessons/README.md say which ones are.
# Each run is made once, two at a time, in a folder of its own under a
# temporary one (with data/ linked to the project's), so that its charts do
# not replace those in out/.
#
# Exit status 0 when every quote is found; 1 otherwise, naming the guide,
# its line and the quote; 2 when a lesson cannot be run.
set -u

all=0
if [ "${1:-}" = "--all" ]; then
    all=1
    shift
fi
build=${1:-build}
guides=lessons/guide
project=$(pwd)
mkdir -p data
work=$(mktemp -d "${TMPDIR:-/tmp}/check_guides.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Every quote, as "run<TAB>guide:line<TAB>quote" (run: "lesson4",
# "lesson9 (until section 4)").
for guide in "$guides"/lesson*.md; do
    awk -v guide="$guide" '
        # A block is read whole, so that a quote may run over a line break.
        function flush(    text, at, k, line) {
            text = block
            at = 0
            while (match(text, /`[^`]+`/)) {
                at += RSTART
                line = first
                for (k = 1; k <= lines; k++) if (starts[k] <= at) line = first + k - 1
                printf "%s\t%s:%d\t%s\n", run, guide, line, substr(text, RSTART + 1, RLENGTH - 2)
                at += RLENGTH - 1
                text = substr(text, RSTART + RLENGTH)
            }
            block = ""
            lines = 0
        }
        /<!-- *exact(, *long)?:/ {
            run = $0
            long = run ~ /<!-- *exact, *long:/
            sub(/.*<!-- *exact(, *long)?: */, "", run)
            sub(/ *-->.*/, "", run)
            if (long) run = "long: " run
            inside = 1
            first = NR + 1
            next
        }
        /<!-- *\/exact *-->/ { if (inside) flush(); inside = 0; next }
        inside {
            starts[++lines] = length(block) + 1
            block = block $0 " "
        }
        END { if (inside) { print guide ": an <!-- exact: --> block without its <!-- /exact -->" > "/dev/stderr"; exit 1 } }' "$guide" || exit 2
done >"$work/quotes"

if [ ! -s "$work/quotes" ]; then
    echo "check_guides: no exact figures found under $guides" >&2
    exit 2
fi

# Without --all, the long runs' quotes are left out (and counted).
long=$(grep -c '^long: ' "$work/quotes")
if [ $all = 0 ]; then
    grep -v '^long: ' "$work/quotes" >"$work/quotes.short"
    mv "$work/quotes.short" "$work/quotes"
fi

# The runs, each once: its output with whitespace squeezed into one line.
cut -f1 "$work/quotes" | sort -u >"$work/runs"
run_file() { echo "$work/run_$(echo "$1" | tr -c 'A-Za-z0-9\n' '_')"; }
make_run() {
    out=$(run_file "$1")
    mkdir "$out.dir" && ln -s "$project/data" "$out.dir/data" || { echo failed >"$out.failed"; return; }
    until=$(echo "$1" | sed -n 's/.*(until section \([0-9][0-9]*\)).*/\1/p')
    set -- $(echo "$1" | sed 's/^long: //; s/(until section [0-9]*)//')
    lesson=$1
    shift
    if [ -n "$until" ]; then
        # The lesson flushes each section's heading as it starts: stop it there.
        : >"$out.raw"
        (cd "$out.dir" && exec "$project/$build/lessons/$lesson" "$@") >>"$out.raw" 2>&1 &
        pid=$!
        while kill -0 $pid 2>/dev/null && ! grep -q "^== $until\. " "$out.raw"; do sleep 0.2; done
        kill $pid 2>/dev/null
        wait $pid 2>/dev/null
        if ! grep -q "^== $until\. " "$out.raw"; then
            echo "check_guides: ./$build/lessons/$lesson $* ended before section $until:" >&2
            tail -5 "$out.raw" >&2
            echo failed >"$out.failed"
        fi
    elif ! (cd "$out.dir" && exec "$project/$build/lessons/$lesson" "$@") >"$out.raw" 2>&1; then
        echo "check_guides: ./$build/lessons/$lesson $* failed:" >&2
        tail -5 "$out.raw" >&2
        echo failed >"$out.failed"
    fi
    tr -s ' \t\n' '   ' <"$out.raw" >"$out"
}
running=0
while read -r run; do
    make_run "$run" &
    running=$((running + 1))
    if [ $running -ge 2 ]; then
        wait
        running=0
    fi
done <"$work/runs"
wait
if ls "$work"/*.failed >/dev/null 2>&1; then exit 2; fi

checked=0
missing=0
tab=$(printf '\t')
while IFS="$tab" read -r run where quote; do
    squeezed=$(printf '%s' "$quote" | tr -s ' ' ' ')
    checked=$((checked + 1))
    if ! grep -qF -- "$squeezed" "$(run_file "$run")"; then
        echo "check_guides: $where: \`$quote\` is not in the output of $run"
        missing=$((missing + 1))
    fi
done <"$work/quotes"

runs=$(wc -l <"$work/runs" | tr -d ' ')
skipped=""
if [ $all = 0 ] && [ "$long" -gt 0 ]; then skipped="; $long more need long runs: --all"; fi
if [ $missing -gt 0 ]; then
    echo "guides: $missing of $checked exact figures not printed by the lessons ($runs runs$skipped)"
    exit 1
fi
echo "guides: all $checked exact figures printed by the lessons ($runs runs$skipped)"
