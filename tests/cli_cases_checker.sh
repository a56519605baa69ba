# Command-line cases for ./gradcheck and the lessons' options (sourced by tests/cli.sh,
# after cli_cases.sh: expect, expect_output and expect_no_output are defined there).

# ---- gradcheck: a single-layer check that would take hours is refused at once, by the
# same budget of operations as a network's (it used to run silently: a 64x64 kernel with
# a pad of 64 is within the caps on each option, but is 1e14 operations)
expect 2 "$GRADCHECK" conv --kernel 64 --pad 64
expect_output "^gradcheck: conv on input (2, 3, 9, 9) with 4 filters, kernel 64x64, stride 1, pad 64 is too large to check:$"
expect_output "^  1.1e+14 operations for the check (at most 5e+10); use a smaller --kernel or --pad, or a larger --stride$"
expect_no_output "^conv: input"
expect 2 "$GRADCHECK" conv --kernel 3x64 --pad 64
expect_output "too large to check"
expect 2 "$GRADCHECK" conv --kernel 16 --pad 16
expect_output "7.6e+10 operations for the check (at most 5e+10)"
# just under the budget, and a larger stride bringing a large kernel under it: checked
expect 0 "$GRADCHECK" conv --kernel 8 --pad 8
expect_output "^conv: input (2, 3, 9, 9), 4 filters, kernel 8x8, stride 1, pad 8$"
expect_output "conv: every gradient within 1e-7"
expect 0 "$GRADCHECK" conv --kernel 16 --pad 16 --stride 8
expect_output "conv: every gradient within 1e-7"
# the largest pools a check takes cost little: still checked
expect 0 "$GRADCHECK" maxpool --kernel 64 --pad 32 --stride 64
expect_output "maxpool: every gradient within 1e-7"
expect 0 "$GRADCHECK" avgpool --kernel 64 --pad 32
expect_output "avgpool: every gradient within 1e-7"
# the network's refusal keeps its form, from the same rule
expect 2 "$GRADCHECK" net --input 3x64x64
expect_output "^gradcheck: the seed's network at small widths at input 3x64x64 is too large to check:$"
expect_output "^  10523 parameters (at most 1000000), an activation of 12288 values per item (at most 262144),$"
expect_output "^  1.4e+11 operations for the check (at most 5e+10); use narrower layers or a smaller --input$"

# ---- gradcheck: every option once (a second --seed used to win silently)
expect 2 "$GRADCHECK" crop --seed 1 --seed 2
expect_output "^gradcheck: --seed given twice$"
expect_output "usage: gradcheck"
expect_no_output "crop: input"
expect 2 "$GRADCHECK" net --arch "fc 3" --arch "fc 4"
expect_output "^gradcheck: --arch given twice$"
expect 2 "$GRADCHECK" net --input 1x8x8 --input 1x8x8
expect_output "^gradcheck: --input given twice$"
expect 2 "$GRADCHECK" maxpool --kernel 2 --stride 2 --kernel 3
expect_output "^gradcheck: --kernel given twice$"
expect 0 "$GRADCHECK" relu --seed 2
expect_output "relu: every gradient within 1e-7"

# ---- an empty --model is refused when the options are read, naming the flag
expect 2 "$GRADCHECK" net --model ''
expect_output "^gradcheck: --model needs a path, not an empty string$"

# ---- the lessons (built by `make lessons-quick`, which make check runs after this file;
# skipped when they are not built yet)
if [ "$(dirname "$GRADCHECK")" = "." ]; then LESSONS_BIN=build/lessons; else LESSONS_BIN=$(dirname "$GRADCHECK")/lessons; fi
if [ -x "$LESSONS_BIN/lesson5" ] && [ -x "$LESSONS_BIN/lesson8" ]; then
    # every option once, the lesson's own and the common ones
    expect 2 "$LESSONS_BIN/lesson5" --quick --epochs 1 --epochs 3
    expect_output "^lesson5: --epochs given twice$"
    expect_output "usage: lesson5"
    expect_no_output "Quick mode"
    expect 2 "$LESSONS_BIN/lesson5" --seed 1 --quick --seed 2
    expect_output "^lesson5: --seed given twice$"
    expect 2 "$LESSONS_BIN/lesson5" --quick --quick
    expect_output "^lesson5: --quick given twice$"
    expect 2 "$LESSONS_BIN/lesson5" --no-centre --quick --no-centre
    expect_output "^lesson5: --no-centre given twice$"
    expect 2 "$LESSONS_BIN/lesson8" --model a.npz --quick --model b.npz
    expect_output "^lesson8: --model given twice$"
    expect 2 "$LESSONS_BIN/lesson8" --data a.npz --data b.npz
    expect_output "^lesson8: --data given twice$"
    # a lesson's walkthrough is its output: lost on a full disk, it says so (it ended 0)
    if [ -w /dev/full ]; then
        expect 1 sh -c "'$LESSONS_BIN/lesson1' --quick >/dev/full"
        expect_output "^lesson1: cannot write the standard output: No space left on device$"
    fi
    # the environment's thread count is checked as emotion checks it
    expect 2 env OMP_NUM_THREADS=99999 "$LESSONS_BIN/lesson5" --quick
    expect_output "^lesson5: the environment's OMP_NUM_THREADS (99999) must be"
    expect_no_output "Lesson 5"

    # every number a lesson takes has its range (LessonOption's min and max): a value
    # outside it is refused before the lesson starts, naming the range and the value.
    # lesson_refuses LESSON FLAG VALUE RANGE: exit 2 and "LESSON: FLAG needs RANGE, not
    # 'VALUE'" (with --quick, so that a lesson that took the value would end soon)
    lesson_refuses() {
        expect 2 "$LESSONS_BIN/$1" --quick "$2" "$3"
        expect_output "^$1: $2 needs $4, not '$3'$"
    }
    lesson_refuses lesson5 --epochs -3 "a whole number from 1 to 1000"
    expect_output "usage: lesson5"
    expect_no_output "Quick mode"
    lesson_refuses lesson5 --epochs 0 "a whole number from 1 to 1000"
    lesson_refuses lesson5 --epochs 1001 "a whole number from 1 to 1000"
    lesson_refuses lesson5 --batch 4097 "a whole number from 1 to 4096"
    lesson_refuses lesson5 --lr 0 "a number from 0 (excluded) to 10"
    lesson_refuses lesson5 --lr nan "a number from 0 (excluded) to 10"
    lesson_refuses lesson5 --lr 11 "a number from 0 (excluded) to 10"
    lesson_refuses lesson7 --batch -1 "a whole number from 1 to 1024"
    lesson_refuses lesson7 --batch 0 "a whole number from 1 to 1024"
    lesson_refuses lesson7 --batch 1000000000 "a whole number from 1 to 1024"
    expect_no_output "out of memory"
    lesson_refuses lesson7 --momentum 1 "a number from 0 to 1 (excluded)"
    lesson_refuses lesson7 --weight-decay -0.1 "a number from 0 to 1"
    lesson_refuses lesson9 --masks -1 "a whole number from 1 to 100000"
    lesson_refuses lesson9 --masks 0 "a whole number from 1 to 100000"
    lesson_refuses lesson9 --masks 100001 "a whole number from 1 to 100000"
    lesson_refuses lesson9 --dropout 1 "a number from 0 to 1 (excluded)"
    lesson_refuses lesson9 --images 0 "a whole number from 1 to 1000000"
    # a word with its choices (LessonOption's choices), refused the same way
    lesson_refuses lesson10 --surface hill "valley, tilted or banana"
    expect_output "usage: lesson10"
    expect_no_output "Quick mode"
    lesson_refuses lesson10 --surface Valley "valley, tilted or banana"
    expect 0 "$LESSONS_BIN/lesson10" --help
    expect_output "^                   NAME is valley, tilted or banana$"
    # the usage says each number's range after its help
    expect 0 "$LESSONS_BIN/lesson7" --help
    expect_output "^  --momentum M     SGD momentum (default 0.9); M from 0 to 1 (excluded)$"
    expect_output "^  --lr RATE        learning rate (default 0.02); RATE from 0 (excluded) to 10$"
    # every lesson's help fits 78 columns, its synopsis wrapped under the first option
    for lesson in 1 2 3 4 5 6 7 8 9 10; do
        expect 0 "$LESSONS_BIN/lesson$lesson" --help
        expect_no_output '^.\{79,\}'
    done
    expect 0 "$LESSONS_BIN/lesson9" --help
    expect_output "^               \[--dropout P\]"

    # lesson 8 checks a checkpoint against its faces, (1, 48, 48) in 7 classes, before
    # using it: another image shape or another class count is refused, naming both
    # (they used to abort in the first layer or in the loss)
    LESSON_TMP=$(mktemp -d /tmp/workbench_cli_lessons.XXXXXX)
    "$EMOTION" train --data tests/fixtures/loader/grey28.npz --arch "fc 5" --epochs 1 --batch 2 \
        --out "$LESSON_TMP/grey28" >/dev/null 2>&1
    expect 1 "$LESSONS_BIN/lesson8" --quick --model "$LESSON_TMP/grey28/model.npz"
    expect_output "^lesson8: $LESSON_TMP/grey28/model.npz is a network for (C, H, W) = (1, 28, 28) images in 5 classes, which does not fit this lesson's faces:$"
    expect_output "^  the quick synthetic faces: the train split has images of (C, H, W) = (1, 48, 48) in 7 classes; expected (1, 28, 28) images in at most 5 classes$"
    expect_no_output "Assertion"
    expect_no_output "== 2\."
    "$EMOTION" data synth --train 21 --val 7 --test 7 --out "$LESSON_TMP/faces.npz" >/dev/null 2>&1
    # the built-in faces with 3 classes (labels 0..2), when numpy can write them
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        /usr/bin/python3 -c "
import numpy as np, sys
d = dict(np.load(sys.argv[1]))
for split in ('train', 'val', 'test'):
    d['y_' + split] = d['y_' + split] % 3
np.savez(sys.argv[2], **d)" "$LESSON_TMP/faces.npz" "$LESSON_TMP/faces3.npz"
        "$EMOTION" train --data "$LESSON_TMP/faces3.npz" --arch "conv 2 3x3 pad 1, relu, maxpool 8, fc 3" \
            --epochs 1 --batch 7 --out "$LESSON_TMP/three" >/dev/null 2>&1
        expect 1 "$LESSONS_BIN/lesson8" --quick --model "$LESSON_TMP/three/model.npz"
        expect_output "is a network for (C, H, W) = (1, 48, 48) images in 3 classes, which does not fit this lesson's faces:$"
        expect_output "the train split has images of (C, H, W) = (1, 48, 48) in 7 classes; expected (1, 48, 48) images in at most 3 classes$"
        expect_no_output "Assertion"
        # the same 3 classes in the data too: still not the 7 scores the lesson reads
        expect 1 "$LESSONS_BIN/lesson8" --quick --data "$LESSON_TMP/faces3.npz" --model "$LESSON_TMP/three/model.npz"
        expect_output "^  lesson 8 reads exactly 7 scores, one for each emotion it names (Angry ... Neutral)$"
    else
        echo "skip: lesson 8 with a 3-class checkpoint (/usr/bin/python3 with numpy not found)"
    fi
    # checkpoints that fit but differ from lesson 7's: a first layer that is not a
    # convolution (no filters to show), a strided one (its smaller maps are stretched)
    "$EMOTION" train --data "$LESSON_TMP/faces.npz" --arch "fc 7" --epochs 1 --batch 7 \
        --out "$LESSON_TMP/fc" >/dev/null 2>&1
    expect 0 "$LESSONS_BIN/lesson8" --quick --model "$LESSON_TMP/fc/model.npz"
    expect_output "This network's first layer is fc1 (fc), not a convolution"
    expect_output "Lesson 8 done"
    # its "what to try next" writes the balanced faces to a file of their own (it said
    # `./emotion data synth --balanced`, which replaces data/synth.npz, every lesson's faces)
    expect_output "data synth --balanced --out"
    expect_no_output "synth --balanced writes"
    "$EMOTION" train --data "$LESSON_TMP/faces.npz" --arch "conv 2 5x5 stride 2, relu, maxpool 4, fc 7" \
        --epochs 1 --batch 7 --out "$LESSON_TMP/strided" >/dev/null 2>&1
    expect 0 "$LESSONS_BIN/lesson8" --quick --model "$LESSON_TMP/strided/model.npz"
    expect_output "conv1.w (2, 1, 5, 5): 2 filters of 5x5 over the one grey channel"
    expect_output "Lesson 8 done"
    # an empty path is refused when the options are read, naming the flag
    expect 2 "$LESSONS_BIN/lesson5" --data ''
    expect_output "^lesson5: --data needs a path, not an empty string$"
    expect 2 "$LESSONS_BIN/lesson8" --model ''
    expect_output "^lesson8: --model needs a path, not an empty string$"
    # lesson 5's narration follows --no-centre after the training too: on raw pixels the
    # losses jump about, and the templates are not read against a mean face (it said the
    # training loss kept falling, and spoke of the mean face, below a table of jumps)
    expect 0 "$LESSONS_BIN/lesson5" --quick --no-centre
    expect_output "On raw pixels the losses do not fall steadily"
    expect_no_output "The training loss keeps falling"
    expect_no_output "brighter than the mean face"
    expect 0 "$LESSONS_BIN/lesson5" --quick
    expect_output "The training loss keeps falling"
    expect_output "brighter than the mean face"
    rm -rf "$LESSON_TMP"
else
    echo "skip: the lessons' command-line cases ($LESSONS_BIN/lesson5 and lesson8 are not built yet)"
fi

# ---- lesson 4's edge filter (1 2 1 / 0 0 0 / -1 -2 -1, correlated) is positive where the
# image is bright above and dark below: the upper rim of a dark brow (it said the opposite,
# against lesson 2 and layers/conv.c's formula)
if [ -x "$LESSONS_BIN/lesson4" ]; then
    expect 0 "$LESSONS_BIN/lesson4" --quick
    expect_output "bright above dark, e.g. the upper rim of the brows"
    expect_no_output "dark above bright"
fi

# ---- `make lessonN` builds ./gradcheck for the lessons that send the student to it
# (3: ./gradcheck all, 4 and 6: ./gradcheck net, 9: ./gradcheck batchnorm); a student
# who ran only the lessons had none. A dry run of the Makefile, rebuilding nothing.
if command -v make >/dev/null 2>&1 && [ -f Makefile ]; then
    for n in 3 4 6 9; do
        expect 0 make -n -B --no-print-directory "lesson$n"
        expect_output "gradcheck_main.o .*-o [^ ]*gradcheck$"
    done
    expect 0 make -n -B --no-print-directory lessons
    expect_output "gradcheck_main.o .*-o [^ ]*gradcheck$"
fi
