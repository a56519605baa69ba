# Command-line cases for emotion train: resuming, pre-flight checks of outputs, flags
# (sourced by tests/cli.sh after cli_cases.sh: expect, expect_output and
# expect_no_output are defined there).
RUNS=$(mktemp -d /tmp/workbench_cli_train_cases.XXXXXX)
RUNS=$(cd "$RUNS" && pwd -P) # the path realpath gives: the resume file keeps that one
EMOTION_AT=$(cd "$(dirname "$EMOTION")" && pwd)/$(basename "$EMOTION")
TINY_ARCH="conv 4 3x3, relu, fc 7"

# train_in_background NAME PATTERN ARGS...: starts `emotion train ARGS`, its output in
# $RUNS/NAME.log, and waits until a line of it matches PATTERN; then $run_pid is the
# run and $waited counts the 0.05 s waits (1200: a minute, and the line never came)
train_in_background() {
    log="$RUNS/$1.log" pattern=$2
    shift 2
    : >"$log"
    "$EMOTION" train "$@" >"$log" 2>&1 &
    run_pid=$!
    waited=0
    while [ $waited -lt 1200 ] && ! grep -q "$pattern" "$log"; do
        sleep 0.05; waited=$((waited + 1))
    done
}

# ---- --resume from another directory trains on the run's own data: the resume file
# names the files the run read by their absolute paths, and keeps the data's
# fingerprint (the image counts, a CRC-32 of each split), which refuses other data
mkdir -p "$RUNS/a/other"
expect 0 "$EMOTION" data synth --out "$RUNS/a/s.npz" --train 64 --val 14 --test 0 --seed 3
expect 0 "$EMOTION" data synth --out "$RUNS/a/other/s.npz" --train 200 --val 50 --test 0 --seed 9
cp "$RUNS/a/s.npz" "$RUNS/s64.npz"
expect 0 sh -c "cd '$RUNS/a' && '$EMOTION_AT' train --arch '$TINY_ARCH' --data s.npz --epochs 3 --out whole"
expect 0 sh -c "cd '$RUNS/a' && '$EMOTION_AT' train --arch '$TINY_ARCH' --data s.npz --epochs 3 --stop-after 1 --out rr"
# other/s.npz is other data under the same relative name
expect 0 sh -c "cd '$RUNS/a/other' && '$EMOTION_AT' train --resume ../rr"
expect_output "^data: $RUNS/a/s.npz, 64 train / 14 val images"
expect_no_output "^note:"
expect 0 cmp "$RUNS/a/whole/model.npz" "$RUNS/a/rr/model.npz"
# the file at the run's path replaced: by more images, by as many different ones, by none
expect 0 sh -c "cd '$RUNS/a' && '$EMOTION_AT' train --arch '$TINY_ARCH' --data s.npz --epochs 3 --stop-after 1 --out rr2"
cp "$RUNS/a/other/s.npz" "$RUNS/a/s.npz"
expect 1 "$EMOTION" train --resume "$RUNS/a/rr2"
expect_output "^emotion train: the data at $RUNS/a/s.npz is not the data this run trained on: 200 training and 50 validation images, the run had 64 and 14 (the path is the run's --data, kept in $RUNS/a/rr2/resume.npz: the run resumes once its data is back there, or give its new place with --data)$"
expect_no_output "^epoch"
expect 0 "$EMOTION" data synth --out "$RUNS/a/s.npz" --train 64 --val 14 --test 0 --seed 4
expect 1 "$EMOTION" train --resume "$RUNS/a/rr2"
expect_output "^emotion train: the data at $RUNS/a/s.npz is not the data this run trained on: same sizes (64 training, 14 validation images), different contents: the training and validation images or labels (the path"
rm "$RUNS/a/s.npz"
expect 1 "$EMOTION" train --resume "$RUNS/a/rr2"
expect_output "^emotion train: $RUNS/a/s.npz: cannot open: No such file or directory (the path is the run's --data, kept in $RUNS/a/rr2/resume.npz: the run resumes once its data is back there, or give its new place with --data)$"
# the run's data back: the same run as the uninterrupted one, byte for byte
cp "$RUNS/s64.npz" "$RUNS/a/s.npz"
expect 0 "$EMOTION" train --resume "$RUNS/a/rr2"
expect 0 cmp "$RUNS/a/whole/model.npz" "$RUNS/a/rr2/model.npz"
# the run's data moved (a project folder moved, say): --resume DIR --data NEW, checked
# against the fingerprint; the resume file then keeps the new place
expect 0 sh -c "cd '$RUNS/a' && '$EMOTION_AT' train --arch '$TINY_ARCH' --data s.npz --epochs 3 --stop-after 1 --out moved"
mv "$RUNS/a/s.npz" "$RUNS/a/s_moved.npz"
expect 1 "$EMOTION" train --resume "$RUNS/a/moved" --data "$RUNS/a/other/s.npz"
expect_output "^emotion train: the data at $RUNS/a/other/s.npz (--data) is not the data this run trained on: 200 training and 50 validation images, the run had 64 and 14$"
expect_no_output "^epoch"
expect 2 "$EMOTION" train --resume "$RUNS/a/moved" --data "$RUNS/a/s_moved.npz" --data "$RUNS/a/s_moved.npz"
expect_output "^emotion train: --data given twice$"
expect 0 sh -c "cd '$RUNS/a' && '$EMOTION_AT' train --resume moved --data s_moved.npz --stop-after 1"
expect_output "^epoch 2/3"
# a later --resume, from elsewhere, finds the data at its new place without --data
expect 0 sh -c "cd '$RUNS/a/other' && '$EMOTION_AT' train --resume ../moved"
expect_output "^data: $RUNS/a/s_moved.npz, 64 train / 14 val images"
expect 0 cmp "$RUNS/a/whole/model.npz" "$RUNS/a/moved/model.npz"
mv "$RUNS/a/s_moved.npz" "$RUNS/a/s.npz"
# a resume file of an earlier version (no fingerprint) still resumes, with a note
if python3 -c 'import zipfile' 2>/dev/null; then
    expect 0 sh -c "cd '$RUNS/a' && '$EMOTION_AT' train --arch '$TINY_ARCH' --data s.npz --epochs 3 --stop-after 1 --out old"
    python3 - "$RUNS/a/old/resume.npz" <<'EOF'
import sys, zipfile
path = sys.argv[1]
with zipfile.ZipFile(path) as z:
    kept = [(info, z.read(info)) for info in z.infolist() if info.filename != "resume.data.npy"]
with zipfile.ZipFile(path, "w") as z:
    for info, data in kept:
        z.writestr(info, data)
EOF
    # --data cannot be checked against a file without the fingerprint: refused
    expect 1 "$EMOTION" train --resume "$RUNS/a/old" --data "$RUNS/s64.npz"
    expect_output "^emotion train: $RUNS/a/old/resume.npz comes from an earlier version, which did not record the run's data, so --data $RUNS/s64.npz cannot be checked to be it: resume without --data, with the data back at the path the run had$"
    expect 0 "$EMOTION" train --resume "$RUNS/a/old"
    expect_output "^note: $RUNS/a/old/resume.npz comes from an earlier version, which did not record the run's data: $RUNS/a/s.npz is taken on trust to be it$"
    expect 0 cmp "$RUNS/a/whole/model.npz" "$RUNS/a/old/model.npz"
else
    ok; ok; ok; ok; ok; ok
fi
# the built-in data, which no --data names: resumed elsewhere, the run's own file, not
# a new one drawn there
mkdir -p "$RUNS/b/elsewhere"
expect 0 sh -c "cd '$RUNS/b' && '$EMOTION_AT' train --arch 'fc 7' --epochs 2 --stop-after 1 --out run"
expect 0 sh -c "cd '$RUNS/b/elsewhere' && '$EMOTION_AT' train --resume ../run"
expect_output "^data: $RUNS/b/data/synth.npz, 8000 train / 1000 val images"
expect 1 test -e "$RUNS/b/elsewhere/data/synth.npz"

# ---- every file a run writes is checked before the first epoch, by the writers' own
# rules (an output replaces only a regular file): refused by name, nothing written
for name in model.npz best.npz resume.npz metrics.csv loss.png accuracy.png; do
    rm -rf "$RUNS/pre" && mkdir "$RUNS/pre" && ln -s ../afile "$RUNS/pre/$name"
    expect 1 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 2 --out "$RUNS/pre"
    expect_output "^emotion train: $RUNS/pre/$name is a symbolic link: the run writes its $name there, and replaces only a regular file; move it away or give another --out$"
    expect_no_output "^epoch"
    expect 0 sh -c "ls -A '$RUNS/pre' | grep -qx '$name' && [ \$(ls -A '$RUNS/pre' | wc -l) = 1 ]"
done
rm -rf "$RUNS/pre" && mkdir -p "$RUNS/pre/best.npz"
expect 1 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/pre"
expect_output "^emotion train: $RUNS/pre/best.npz is a folder: the run writes its best.npz there"
expect 1 test -e "$RUNS/pre/model.npz"
rm -rf "$RUNS/pre" && mkdir "$RUNS/pre" && mkfifo "$RUNS/pre/resume.npz"
expect 1 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/pre"
expect_output "^emotion train: $RUNS/pre/resume.npz is a FIFO: the run writes its resume.npz there"
expect 1 test -e "$RUNS/pre/model.npz"

# ---- after a failure, the last words say what each file holds
# a run that diverges in its first epoch, in a folder that holds an earlier run
NARROW_ARCH="conv 4 3x3 pad 1, relu, maxpool 2, conv 8 3x3 pad 1, relu, maxpool 2, fc 16, relu, fc 7"
expect 0 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/nan"
cp "$RUNS/nan/model.npz" "$RUNS/nan_model.npz"
expect 1 "$EMOTION" train --arch "$NARROW_ARCH" --data "$RUNS/a/other/s.npz" --epochs 1 --lr 100000 \
    --weight-decay 0 --out "$RUNS/nan"
expect_output "^emotion train: stopped: epoch 1, batch 3 of 4: the loss is NaN"
expect_output "^emotion train: no epoch completed, no checkpoint written (the files in $RUNS/nan are still the earlier run's)$"
expect 0 cmp "$RUNS/nan/model.npz" "$RUNS/nan_model.npz"
# a write that fails after model.npz and best.npz were written (the disk fills up)
FULL=$(mktemp -d /tmp/workbench_cli_train_full.XXXXXX)
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=200k tmpfs "$FULL" 2>/dev/null; then
    # fc 7 on 48x48: model.npz and best.npz take 65 kB each, resume.npz twice that
    expect 1 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 2 --out "$FULL/run"
    expect_output "^emotion train: stopped: $FULL/run/resume.npz: cannot write: No space left on device$"
    expect_output "^emotion train: $FULL/run holds model.npz epoch 1, best.npz the best (epoch 1), resume.npz not written and metrics.csv not written$"
    expect_no_output "no checkpoint written"
    umount "$FULL"
else
    echo "skip: the files after a full disk (no tmpfs could be mounted)"
fi
rmdir "$FULL"
# metrics.csv made a symbolic link (to its own copy) while the run is paused after epoch
# 1: epoch 2 writes model.npz, best.npz if it improves and resume.npz, then stops
expect 0 "$EMOTION" data synth --out "$RUNS/slow.npz" --train 1000 --val 20 --test 0
train_in_background mixed "^epoch 1/3" --data "$RUNS/slow.npz" --epochs 3 --threads 1 \
    --out "$RUNS/mixed"
mixed_pid=$run_pid
kill -STOP $mixed_pid
mv "$RUNS/mixed/metrics.csv" "$RUNS/mixed/metrics_1.csv"
ln -s metrics_1.csv "$RUNS/mixed/metrics.csv"
kill -CONT $mixed_pid
wait $mixed_pid
mixed_status=$?
if [ $waited -lt 1200 ] && [ $mixed_status = 1 ]; then ok; else
    bad "the paused run: waited $waited, status $mixed_status"; fi
cp "$RUNS/mixed.log" /tmp/cli_out.$$
expect_output "^epoch 1/3 "
expect_no_output "^epoch 2/3 "
expect_output "^emotion train: stopped: $RUNS/mixed/metrics.csv is a symbolic link"
expect_output "^emotion train: $RUNS/mixed holds model.npz epoch 2, best.npz the best (epoch [12]), resume.npz epoch 2 and metrics.csv epoch 1$"
expect 0 sh -c "[ \$(wc -l <'$RUNS/mixed/metrics_1.csv') = 2 ]"

# ---- one run at a time in a folder: a second train into a folder a run is writing (by
# another name of it too), and a --resume of it, are refused before anything is written
# (both ran, and the folder held one run's model.npz beside the other's metrics.csv)
train_in_background busy "^epoch 1/2" --data "$RUNS/slow.npz" --epochs 2 --threads 1 \
    --out "$RUNS/busy"
busy_pid=$run_pid
kill -STOP $busy_pid
cp "$RUNS/busy/model.npz" "$RUNS/busy_model.npz"
expect 1 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/busy"
expect_output "^emotion train: $RUNS/busy: another running program is writing into this folder (another emotion train?): one run at a time in a folder; wait for it to end, or give another --out$"
expect_no_output "^epoch"
expect 1 "$EMOTION" train --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/./busy/"
expect_output "another running program is writing into this folder"
expect 1 "$EMOTION" train --resume "$RUNS/busy"
expect_output "^emotion train: $RUNS/busy: another running program is writing into this folder (another emotion train?): one run at a time in a folder; wait for it to end$"
expect 0 cmp "$RUNS/busy/model.npz" "$RUNS/busy_model.npz"
kill -CONT $busy_pid
wait $busy_pid
busy_status=$?
if [ $waited -lt 1200 ] && [ $busy_status = 0 ]; then ok; else
    bad "the busy run: waited $waited, status $busy_status"; fi
# the folder is free again once its run has ended
expect 0 "$EMOTION" train --resume "$RUNS/busy"
expect_output "nothing to resume: all 2 epochs of $RUNS/busy are done"

# ---- --resume of a run killed during its first epoch: what that means, not "cannot open"
train_in_background killed "^augment:" --data "$RUNS/slow.npz" --epochs 2 --threads 1 \
    --out "$RUNS/killed"
killed_pid=$run_pid
# while it is still in its first epoch, it has no resume.npz: a --resume is refused for
# the run going on, not told that no epoch finished and to start the run again
kill -STOP $killed_pid
expect 1 "$EMOTION" train --resume "$RUNS/killed"
expect_output "^emotion train: $RUNS/killed: another running program is writing into this folder (another emotion train?): one run at a time in a folder; wait for it to end$"
expect_no_output "holds no resume.npz"
kill -TERM $killed_pid
kill -CONT $killed_pid
{ wait $killed_pid; } 2>/dev/null
killed_status=$?
if [ $waited -lt 1200 ] && [ $killed_status = 143 ]; then ok; else
    bad "the killed run: waited $waited, status $killed_status"; fi
expect 0 sh -c "[ \$(ls -A '$RUNS/killed' | wc -l) = 0 ]"
expect 1 "$EMOTION" train --resume "$RUNS/killed"
expect_output "^emotion train: $RUNS/killed holds no resume.npz: no epoch of a run there finished (each epoch ends by writing it), so there is nothing to resume; start the run again with the command that began it$"
expect_no_output "cannot open"
mkdir "$RUNS/weights_only" && cp "$RUNS/a/whole/model.npz" "$RUNS/weights_only/"
expect 1 "$EMOTION" train --resume "$RUNS/weights_only"
expect_output "^emotion train: $RUNS/weights_only holds a model.npz but no resume.npz (which every epoch writes beside it), so its run cannot be resumed: start it again with the command that began it, or train on from its weights with --init $RUNS/weights_only/model.npz"

# ---- a learning rate must be positive and a normal float (the optimizers step in float)
for lr in 0 -0 -0.1; do
    expect 2 "$EMOTION" train --lr "$lr" --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/lr"
    expect_output "^emotion train: --lr needs a number from 0 (excluded) to 1e+06, not '$lr'$"
done
for lr in 1e-320 1e-39; do
    expect 2 "$EMOTION" train --lr "$lr" --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/lr"
    expect_output "^emotion train: --lr $lr is below 1.17549e-38, the smallest normal float"
done
expect 1 test -e "$RUNS/lr"
expect 0 "$EMOTION" train --lr 1.2e-38 --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/lr"
expect_output "^optimizer: sgd, lr 1.2e-38, "

# ---- a weight decay whose step alone flips and grows the weights is refused at the start
expect 2 "$EMOTION" train --weight-decay 1e6 --arch "fc 7" --data "$RUNS/s64.npz" --epochs 1 --out "$RUNS/wd"
expect_output "^emotion train: --weight-decay 1e+06 is too large for the default learning rate 0.02: each step's decay alone moves a weight by lr x weight decay = 20000 times itself, so the weights flip sign and grow; sgd with momentum 0.9 needs lr x weight decay below 3.8 (here a weight decay below 190)$"
expect 2 "$EMOTION" train --optimizer adamw --lr 0.01 --weight-decay 200 --arch "fc 7" --data "$RUNS/s64.npz" --out "$RUNS/wd"
expect_output "lr x weight decay = 2 times itself, so the weights flip sign and grow; adamw needs lr x weight decay below 2 (here a weight decay below 200)$"
expect 2 "$EMOTION" train --optimizer nesterov --lr 1 --weight-decay 1.4 --arch "fc 7" --data "$RUNS/s64.npz" --out "$RUNS/wd"
expect_output "nesterov with momentum 0.9 needs lr x weight decay below 1.357 (here a weight decay below 1.357)$"
expect 2 "$EMOTION" train --lr 10000 --arch "fc 7" --data "$RUNS/s64.npz" --out "$RUNS/wd"
expect_output "^emotion train: the default weight decay 0.0005 is too large for --lr 10000: "
expect 1 test -e "$RUNS/wd"
# adam divides the decay's gradient by its size: its step stays near lr, no limit
expect 0 "$EMOTION" train --optimizer adam --weight-decay 1e6 --arch "fc 7" --data "$RUNS/s64.npz" \
    --epochs 1 --out "$RUNS/wd_adam"
# below the limit but past 1, a diverging run names the decay beside the learning rate
expect 1 "$EMOTION" train --lr 20 --weight-decay 0.1 --arch "conv 4 3x3 pad 1, relu, maxpool 2, fc 16, relu, fc 7" \
    --data "$RUNS/a/other/s.npz" --epochs 4 --out "$RUNS/wd_high"
expect_output "^emotion train: stopped: epoch .*; the learning rate (20) is probably too high, or the weight decay (0.1) with it: each step's decay alone moves a weight by lr x weight decay = 2 times itself, past zero$"

# ---- a batchnorm over features (or a 1x1 map) needs two images in a batch: one value
# has no spread, and the layer's output would be its shift alone (PyTorch refuses it)
BN_ARCH="fc 4 nobias, batchnorm, relu, fc 7"
expect 0 "$EMOTION" data synth --out "$RUNS/s65.npz" --train 65 --val 10 --test 0 --seed 3
expect 2 "$EMOTION" train --arch "$BN_ARCH" --data "$RUNS/s65.npz" --batch 1 --out "$RUNS/bn"
expect_output "^emotion train: --batch 1: bn1 normalises each of its channels over the batch's images, and it sees one value of a channel per image: one image has no spread, and its output would be its shift (beta) alone; use --batch 2 or more$"
expect 1 test -e "$RUNS/bn"
# on a map of more than one pixel, one image gives each channel its H x W values
expect 0 "$EMOTION" train --arch "conv 4 3x3, batchnorm, relu, fc 7" --data "$RUNS/s65.npz" --batch 1 \
    --epochs 1 --out "$RUNS/bn_map"
expect_no_output "^note"
# a network with a Winograd convolution trains, and its checkpoint (the description
# spelled out in full: "conv 4 3x3 stride 1 pad 1 nobias winograd", the longest layer
# there is) is read back by eval and by resume (the parser once took one word less)
expect 0 "$EMOTION" train --arch "conv 4 3x3 pad 1 nobias winograd, batchnorm, relu, fc 7" \
    --data "$RUNS/s65.npz" --epochs 2 --stop-after 1 --out "$RUNS/winograd"
expect 0 "$EMOTION" eval --model "$RUNS/winograd/model.npz" --data "$RUNS/s65.npz" --split val
expect_output "accuracy"
expect 0 "$EMOTION" train --resume "$RUNS/winograd"
# 65 images in batches of 64: the last batch, of one image, is left out of each epoch
expect 0 "$EMOTION" train --arch "$BN_ARCH" --data "$RUNS/s65.npz" --epochs 2 --out "$RUNS/bn65"
expect_output "^note: 65 training images in batches of 64 leave a last batch of 1, too few for bn1, which normalises each channel over a batch's images (one value has no spread): each epoch leaves that image out (a different one each epoch, drawn by the shuffle)$"
if python3 -c 'import numpy' 2>/dev/null; then
    # without shuffling, the same run as on the first 64 images alone, byte for byte
    python3 - "$RUNS/s65.npz" "$RUNS/s64_of_65.npz" <<'EOF'
import sys, numpy as np
d = dict(np.load(sys.argv[1]))
d["x_train"], d["y_train"] = d["x_train"][:64], d["y_train"][:64]
np.savez(sys.argv[2], **d)
EOF
    expect 0 "$EMOTION" train --arch "$BN_ARCH" --data "$RUNS/s65.npz" --epochs 2 --no-shuffle --out "$RUNS/bn65n"
    expect_output "(the same one every epoch, with --no-shuffle)$"
    expect 0 "$EMOTION" train --arch "$BN_ARCH" --data "$RUNS/s64_of_65.npz" --epochs 2 --no-shuffle --out "$RUNS/bn64n"
    expect_no_output "^note"
    expect 0 cmp "$RUNS/bn65n/model.npz" "$RUNS/bn64n/model.npz"
else
    ok; ok; ok; ok; ok; ok
fi
expect 0 "$EMOTION" data synth --out "$RUNS/s1.npz" --train 1 --val 10 --test 0 --seed 3
expect 1 "$EMOTION" train --arch "$BN_ARCH" --data "$RUNS/s1.npz" --out "$RUNS/bn1"
expect_output "^emotion train: $RUNS/s1.npz: the train split has one image, and bn1 normalises each of its channels over a batch's images: one image has no spread; training needs two or more$"
# both at once: the flag is named first, as a usage error
expect 2 "$EMOTION" train --arch "$BN_ARCH" --data "$RUNS/s1.npz" --batch 1 --out "$RUNS/bn1"
expect_output "^emotion train: --batch 1: bn1 normalises"

rm -rf "$RUNS"

# ---- an empty path is refused when the options are read, naming the flag
for flag in --data --out --init --resume --model; do
    expect 2 "$EMOTION" train "$flag" ''
    expect_output "^emotion train: $flag needs a path, not an empty string$"
done
