#!/bin/sh
# lessons/check_guides.sh: the figures a teacher's guide gives as exact are
# what the lessons print, and those it gives as ranges lie in them.
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
# tilted`), or several lessons separated by ";", run one after the other in
# the same folder (`lesson7; lesson8`: lesson 8 reads the checkpoint lesson
# 7 writes);
# "(until section N)" at its end stops the lesson when section N begins,
# for the figures of a long lesson's first sections
# (`<!-- exact: lesson9 (until section 4) -->`). A block marked
# `<!-- exact, long: lesson9 -->` needs a long run (minutes): it is checked
# only with --all (`make check-guides-all`), not in `make check`.
# A quote must appear in that run's output, where runs of spaces and line
# breaks count as one space on both sides (the lessons wrap their
# paragraphs and align their tables).
#
# Figures that depend on the machine (the matrix multiply's AVX-512, AVX2
# and plain C kernels add in different orders) are given as ranges, between
# `<!-- range: RUN -->` (or `<!-- range, long: RUN -->`) and
# `<!-- /range -->`: a code span there is a quote in which a number written
# as LO..HI stands for any number from LO to HI, both included,
#
#     <!-- range: lesson3 -->
#     - k3 s1 p1: `conv dx (2, 2, 6, 6) 1e-12..1e-8 PASS`
#     <!-- /range -->
#
# and the output must read like the quote somewhere, with every such
# number in its range wherever it does (two tables' epoch-1 rows, say, are
# both checked by one quote of such a row); a quote without a LO..HI is
# checked as an exact one. A range quote quotes no LO..HI of the output's
# own. Run times are not checked.
#
# Only figures that hold on every machine belong between the markers:
# README.md ("Lessons") and lessons/README.md say which ones are exact.
# Each run is made once, two at a time, in a folder of its own under a
# temporary one (with data/ linked to the project's), so that its charts do
# not replace those in out/.
#
# Exit status 0 when every quote is found; 1 otherwise, naming the guide,
# its line and the quote (for a range, what the output printed there);
# 2 when a lesson cannot be run.
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
                printf "%s\t%s\t%s:%d\t%s\n", run, kind, guide, line, substr(text, RSTART + 1, RLENGTH - 2)
                at += RLENGTH - 1
                text = substr(text, RSTART + RLENGTH)
            }
            block = ""
            lines = 0
        }
        /<!-- *(exact|range)(, *long)?:/ {
            run = $0
            kind = run ~ /<!-- *range/ ? "range" : "exact"
            long = run ~ /<!-- *(exact|range), *long:/
            sub(/.*<!-- *(exact|range)(, *long)?: */, "", run)
            sub(/ *-->.*/, "", run)
            if (long) run = "long: " run
            inside = 1
            first = NR + 1
            next
        }
        /<!-- *\/(exact|range) *-->/ {
            closing = $0 ~ /<!-- *\/range/ ? "range" : "exact"
            if (inside && closing != kind) {
                printf "%s:%d: an <!-- %s: --> block closed by <!-- /%s -->\n", guide, NR, kind, closing > "/dev/stderr"
                exit 1
            }
            if (inside) flush()
            inside = 0
            next
        }
        inside {
            starts[++lines] = length(block) + 1
            block = block $0 " "
        }
        END { if (inside) { printf "%s: an <!-- %s: --> block without its <!-- /%s -->\n", guide, kind, kind > "/dev/stderr"; exit 1 } }' "$guide" || exit 2
done >"$work/quotes"

if [ ! -s "$work/quotes" ]; then
    echo "check_guides: no exact figures or ranges found under $guides" >&2
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
    # "lesson7; lesson8": one lesson a line, run in turn in the same folder,
    # their outputs one after the other; "until" stops the last one.
    echo "$1" | sed 's/^long: //; s/(until section [0-9]*)//' | tr ';' '\n' | grep '[^ ]' >"$out.lessons"
    last=$(wc -l <"$out.lessons" | tr -d ' ')
    : >"$out.raw"
    line=0
    while read -r command; do
        line=$((line + 1))
        set -- $command
        lesson=$1
        shift
        if [ -n "$until" ] && [ $line = "$last" ]; then
            # The lesson flushes each section's heading as it starts: stop it
            # there (looking at its own output, not the lessons' before it).
            : >"$out.part"
            (cd "$out.dir" && exec "$project/$build/lessons/$lesson" "$@") </dev/null >>"$out.part" 2>&1 &
            pid=$!
            while kill -0 $pid 2>/dev/null && ! grep -q "^== $until\. " "$out.part"; do sleep 0.2; done
            kill $pid 2>/dev/null
            wait $pid 2>/dev/null
            cat "$out.part" >>"$out.raw"
            if ! grep -q "^== $until\. " "$out.part"; then
                echo "check_guides: ./$build/lessons/$lesson $* ended before section $until:" >&2
                tail -5 "$out.part" >&2
                echo failed >"$out.failed"
            fi
        elif ! (cd "$out.dir" && exec "$project/$build/lessons/$lesson" "$@") </dev/null >>"$out.raw" 2>&1; then
            echo "check_guides: ./$build/lessons/$lesson $* failed:" >&2
            tail -5 "$out.raw" >&2
            echo failed >"$out.failed"
            break
        fi
    done <"$out.lessons"
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

# A range quote against a run's output: exit 0 when some place reads like
# the quote and every such place has each LO..HI's number in its range; 1
# otherwise, printing the first place with a number out of its range (none
# when no place reads like the quote). The quote comes in QUOTE (the
# environment: awk -v would interpret its backslashes).
range_check='
    BEGIN {
        number = "-?[0-9]+([.][0-9]+)?(e[-+]?[0-9]+)?"
        # the quote as words[0] range 1 words[1] ... range n words[n]
        rest = ENVIRON["QUOTE"]
        n = 0
        while (match(rest, number "[.][.]" number)) {
            words[n] = substr(rest, 1, RSTART - 1)
            range = substr(rest, RSTART, RLENGTH)
            n++
            low[n] = substr(range, 1, index(range, "..") - 1) + 0
            high[n] = substr(range, index(range, "..") + 2) + 0
            rest = substr(rest, RSTART + RLENGTH)
        }
        words[n] = rest
    }
    { text = text $0 }
    # The next place at or after `from` where the quote may begin: its
    # first words, or, for a quote that begins with a range, a number not
    # preceded by a digit or a point. 0 when there is none.
    function next_place(from,    found, before) {
        if (words[0] != "") {
            found = index(substr(text, from), words[0])
            return found ? from + found - 1 : 0
        }
        while (match(substr(text, from), /[-0-9]/)) {
            from += RSTART - 1
            before = from > 1 ? substr(text, from - 1, 1) : " "
            if (before !~ /[-0-9.e]/) return from
            from++
        }
        return 0
    }
    END {
        start = 1
        places = 0
        while ((at = next_place(start)) > 0) {
            pos = at + length(words[0])
            shaped = 1
            inside = 1
            for (k = 1; k <= n; k++) {
                if (!match(substr(text, pos), "^" number)) { shaped = 0; break }
                value = substr(text, pos, RLENGTH) + 0
                if (value < low[k] || value > high[k]) inside = 0
                pos += RLENGTH
                if (substr(text, pos, length(words[k])) != words[k]) { shaped = 0; break }
                pos += length(words[k])
            }
            if (shaped && !inside) {
                print substr(text, at, pos - at)
                exit 1
            }
            places += shaped
            start = at + 1
        }
        exit places == 0
    }'

exact=0
ranges=0
missing_exact=0
missing_ranges=0
tab=$(printf '\t')
while IFS="$tab" read -r run kind where quote; do
    squeezed=$(printf '%s' "$quote" | tr -s ' ' ' ')
    output=$(run_file "$run")
    if [ "$kind" = exact ]; then
        exact=$((exact + 1))
        if ! grep -qF -- "$squeezed" "$output"; then
            echo "check_guides: $where: \`$quote\` is not in the output of $run"
            missing_exact=$((missing_exact + 1))
        fi
    else
        ranges=$((ranges + 1))
        if ! printed=$(QUOTE=$squeezed awk "$range_check" "$output"); then
            if [ -n "$printed" ]; then
                echo "check_guides: $where: \`$quote\` does not hold in the output of $run, which printed \`$printed\`"
            else
                echo "check_guides: $where: \`$quote\` is not in the output of $run"
            fi
            missing_ranges=$((missing_ranges + 1))
        fi
    fi
done <"$work/quotes"

runs=$(wc -l <"$work/runs" | tr -d ' ')
skipped=""
if [ $all = 0 ] && [ "$long" -gt 0 ]; then skipped="; $long more need long runs: --all"; fi
if [ $missing_exact -gt 0 ] || [ $missing_ranges -gt 0 ]; then
    echo "guides: $missing_exact of $exact exact figures not printed by the lessons, $missing_ranges of $ranges ranges not held ($runs runs$skipped)"
    exit 1
fi
echo "guides: all $exact exact figures printed by the lessons, all $ranges ranges held ($runs runs$skipped)"
