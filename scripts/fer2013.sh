#!/bin/sh
# `make fer2013 FER2013=path`: the recommended model (models/fer2013.net) and
# recipe on the real FER2013, from your own copy of it.
#
#   FER2013_FILE=FILE.npz|FILE.csv FER2013_DIR=OUT_DIR FER2013_RECIPE=... sh scripts/fer2013.sh
#
# (the Makefile sets these; EMOTION_BIN names the program, default ./emotion)
# 1. A .csv (FER2013's fer2013.csv, or icml_face_data.csv) is converted first,
#    into OUT_DIR/fer2013.npz (kept: a second run skips the conversion).
# 2. Trains models/fer2013.net with the recipe in FER2013_RECIPE into OUT_DIR: best.npz (best validation accuracy), model.npz,
#    metrics.csv, loss.png, accuracy.png. If OUT_DIR holds an unfinished run
#    of this script (its resume.npz), the run continues where it stopped.
# 3. Evaluates best.npz on the validation split and, when the file has one,
#    on the test split (FER2013's PrivateTest), as it is and with test-time
#    augmentation (--tta flip); the test split's confusion matrices go to
#    OUT_DIR/confusion.png and confusion_by_true_class.png.
# 4. Says how long it took (the goal: an hour at most on two cores).
set -eu

EMOTION=${EMOTION_BIN:-./emotion}
MODEL=models/fer2013.net
data=${FER2013_FILE:-}
out=${FER2013_DIR:-runs/fer2013}
recipe=${FER2013_RECIPE:-}
if [ -z "$data" ] || [ -z "$recipe" ]; then
    echo "usage: make fer2013 FER2013=path/to/fer2013.npz (or fer2013.csv) [FER2013_OUT=DIR]" >&2
    exit 2
fi
# A path that starts with '-' would read as an option.
case $data in -*) data=./$data ;; esac
case $out in -*) out=./$out ;; esac

if [ ! -f "$data" ]; then
    echo "make fer2013: $data: no such file. Bring your own FER2013: fer2013.csv (Kaggle's" >&2
    echo "'Challenges in Representation Learning: Facial Expression Recognition' data) or an" >&2
    echo ".npz with x_train/y_train, x_val/y_val (and x_test/y_test) arrays." >&2
    exit 1
fi
mkdir -p "$out"
started=$(date +%s)

case $data in
*.csv | *.CSV)
    npz=$out/fer2013.npz
    if [ -f "$npz" ] && [ "$npz" -nt "$data" ]; then
        echo "== $npz is newer than $data: not converting again"
    else
        echo "== converting $data to $npz"
        "$EMOTION" data convert "$data" --out "$npz"
    fi
    data=$npz
    ;;
esac

if [ -f "$out/resume.npz" ]; then
    echo "== continuing the run in $out (remove $out to start over)"
    "$EMOTION" train --resume "$out"
else
    echo "== training $MODEL on $data into $out: $recipe"
    # the recipe is a list of options: split on blanks on purpose
    # shellcheck disable=SC2086
    "$EMOTION" train --model "$MODEL" --data "$data" $recipe --out "$out"
fi

# Evaluated 64 images at a time, as in training: eval's default of 128 with
# --tta flip peaked at 403 MB resident on this network, against 252 MB.
for split in val test; do
    if [ "$split" = test ] && ! "$EMOTION" data info "$data" | grep -q '^ *x_test '; then
        echo "== $data has no test split (x_test): evaluated on validation only"
        break
    fi
    echo "== best.npz on the $split split, as it is"
    if [ "$split" = test ]; then
        "$EMOTION" eval --model "$out/best.npz" --data "$data" --split test --batch 64 --chart "$out/confusion.png"
    else
        "$EMOTION" eval --model "$out/best.npz" --data "$data" --split val --batch 64
    fi
    echo "== best.npz on the $split split, with test-time augmentation (image and mirror image)"
    "$EMOTION" eval --model "$out/best.npz" --data "$data" --split $split --batch 64 --tta flip
done
elapsed=$(($(date +%s) - started))
echo "== make fer2013 took $((elapsed / 60)) min $((elapsed % 60)) s (this invocation); results in $out"
