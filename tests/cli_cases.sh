# Sourced by tests/cli.sh: the cases themselves.
expect 2 "$EMOTION"
expect 0 "$EMOTION" --help
expect_output "usage: emotion"
expect 2 "$EMOTION" no-such-command
expect_output "unknown command"
# OMP_NUM_THREADS obeys the --threads rule (99999 threads ran, very slowly):
# a count from 1 to 4 per core, the first of a list, blanks allowed
expect 2 env OMP_NUM_THREADS=99999 "$EMOTION" eval --model /nonexistent/none.npz
expect_output "emotion eval: the environment's OMP_NUM_THREADS (99999) must be a whole number of threads from 1 to [0-9]* (this machine has"
expect_no_output "none.npz"
for value in abc 0 -1 "" "3x"; do
    expect 2 env OMP_NUM_THREADS="$value" "$EMOTION" data info /nonexistent/none.npz
    expect_output "emotion data: the environment's OMP_NUM_THREADS.* must be a whole number"
done
for value in 1 " 1 " "1,1"; do
    expect 1 env OMP_NUM_THREADS="$value" "$EMOTION" eval --model /nonexistent/none.npz
    expect_output "none.npz"
    expect_no_output "OMP_NUM_THREADS"
done
# every --help fits 80 columns (the synopsis wrapped under its first option)
for command in "" data train eval predict bench "data info" "data convert" "data synth" \
    "data export"; do
    # shellcheck disable=SC2086 # the words of a subcommand
    expect 0 "$EMOTION" $command --help
    expect_no_output '^.\{81,\}'
done
expect 0 "$GRADCHECK" --help
expect_no_output '^.\{81,\}'
expect 0 "$EMOTION" train --help
expect_output "^                     \[--epochs N\] \[--batch N\]"

# ---- gradcheck: every layer within 1e-7, usage errors exit 2
expect 0 "$GRADCHECK" all
expect_output "all: every gradient within 1e-7"
expect_output "net      conv1.w"
expect_output "^loss     dscores   (2, 7) .*PASS"
# what was checked is printed before the rows
expect_output "^conv: input (2, 3, 9, 9), 4 filters, kernel 3x3, stride 1, pad 1$"
expect_output "^relu: input (2, 3, 5, 5)"
expect_output "^maxpool: input (2, 3, 8, 8), kernel 2x2, stride 2, pad 0$"
expect_output "^fc: input (3, 2, 3, 4) flattened to (3, 24), 5 outputs$"
expect_output "^softmax: scores (6, 7)"
expect_output "^net: the seed's network at small widths, input 1x8x8, batch 2, 7 classes, training mode$"
expect_output "^    conv 3 3x3 stride 1 pad 1$"
expect_output "^    fc 10$"
expect 0 "$GRADCHECK" conv --kernel 5 --stride 2 --pad 2
expect_output "^conv: input (2, 3, 9, 9), 4 filters, kernel 5x5, stride 2, pad 2$"
expect_output "conv     dw        (4, 3, 5, 5)"
expect 0 "$GRADCHECK" conv --kernel 3x5 --stride 2 --pad 0 --seed 9
expect_output "(4, 3, 3, 5)"
expect 0 "$GRADCHECK" maxpool --kernel 3 --stride 1 --pad 1
expect_output "^maxpool: input (2, 3, 8, 8), kernel 3x3, stride 1, pad 1$"
expect 0 "$GRADCHECK" avgpool --kernel 2x3 --stride 1
expect_output "^avgpool: input (2, 3, 8, 8), kernel 2x3, stride 1, pad 0$"
expect 0 "$GRADCHECK" --help
expect_output "usage: gradcheck LAYER"
expect_output "gradcheck net \[--arch"
expect 2 "$GRADCHECK"
expect_output "usage: gradcheck"
expect 2 "$GRADCHECK" convolution
expect_output "unknown layer 'convolution'"
expect_output "usage: gradcheck"
expect 2 "$GRADCHECK" conv --stride 0
expect_output "stride needs a whole number from 1 to 64, not '0'"
expect 2 "$GRADCHECK" conv --kernel 12
expect_output "kernel 12x12 is larger than the padded input"
expect 2 "$GRADCHECK" conv --kernel 3x
expect 2 "$GRADCHECK" maxpool --kernel 2 --pad 2
expect_output "padding 2 must be between 0 and half the window"
expect 2 "$GRADCHECK" relu --frobnicate
expect_output "unknown option '--frobnicate'"
expect 2 "$GRADCHECK" conv --seed
expect_output "needs a value"
expect 2 "$GRADCHECK" conv --seed -1
expect_output "seed needs a whole number"
# absurd sizes: a message and exit 2, never an abort or a huge allocation
expect 2 "$GRADCHECK" conv --kernel 2147483647
expect_output "kernel needs K or KHxKW, whole numbers from 1 to 64, not '2147483647'"
expect 2 "$GRADCHECK" maxpool --kernel 100000
expect_output "not '100000'"
expect 2 "$GRADCHECK" conv --pad 100000
expect_output "pad needs a whole number from 0 to 64, not '100000'"
expect 2 "$GRADCHECK" avgpool --stride 100000
expect_output "stride needs a whole number from 1 to 64, not '100000'"
expect 2 "$GRADCHECK" net --input 1x100000x100000
expect_output "input needs CxHxW, three whole numbers from 1 to 64 (e.g. 1x48x48), not '1x100000x100000'"
expect 2 "$GRADCHECK" net --input 4x8x8
expect_output "input 4x8x8 has 4 channels; a check affords at most 3"
expect 2 "$GRADCHECK" net --input 8x8
expect_output "input needs CxHxW"
expect 2 "$GRADCHECK" net --arch "fc 65536, relu, fc 65536"
expect_output "too large to check"
expect 2 "$GRADCHECK" net --arch "conv 65536 1024x1024, fc 3"
expect_output "too large to check"
expect 2 "$GRADCHECK" net --input 3x64x64
expect_output "too large to check"
expect 2 "$GRADCHECK" net --model models/emotion.net
expect_output "models/emotion.net at input 1x8x8 is too large to check"
# options a check does not take are refused, naming the option and the check
expect 2 "$GRADCHECK" relu --kernel 3
expect_output "relu does not take --kernel (conv, maxpool, avgpool do)"
expect 2 "$GRADCHECK" fc --stride 2
expect_output "fc does not take --stride"
expect 2 "$GRADCHECK" net --kernel 3
expect_output "net does not take --kernel"
expect 2 "$GRADCHECK" conv --arch "fc 3"
expect_output "conv does not take --arch (net does)"
expect 2 "$GRADCHECK" softmax --model models/emotion.net
expect_output "softmax does not take --model"
expect 2 "$GRADCHECK" conv --input 1x8x8
expect_output "conv does not take --input"
expect 2 "$GRADCHECK" all --pad 1
expect_output "all does not take --pad"
expect 2 "$GRADCHECK" net --arch "fc 3" --model models/emotion.net
expect_output "--arch or --model, not both"
expect 2 "$GRADCHECK" conv --pad 1 --pad 2
expect_output "--pad given twice"
# any described network: the rows from the scores down, and the loss row
expect 0 "$GRADCHECK" net --arch "conv 2 3x3 pad 1, relu, maxpool 2, fc 3"
expect_output "^net: --arch, input 1x8x8, batch 2, 3 classes, training mode$"
expect_output "^    conv 2 3x3 stride 1 pad 1$"
expect_output "^net      conv1.w   (2, 1, 3, 3) .*PASS"
expect_output "^net      fc1.w     (32, 3) .*PASS"
expect_output "^loss     dscores   (2, 3) .*PASS"
# a convolution through Winograd's transforms, as the help says, and after a batchnorm
# (whose division by a small spread multiplies the transforms' rounding): at 1e-7 too
expect 0 "$GRADCHECK" --help
expect_output 'net --arch "conv 4 3x3 pad 1 winograd, fc 3"'
expect 0 "$GRADCHECK" net --arch "conv 4 3x3 pad 1 winograd, fc 3"
expect_output "^    conv 4 3x3 stride 1 pad 1 winograd$"
expect_output "^net      conv1.w   (4, 1, 3, 3) .*PASS"
for seed in 24 29 31; do
    expect 0 "$GRADCHECK" net --arch "conv 3 3x3 pad 1 nobias, batchnorm, conv 3 3x3 pad 1 winograd, fc 5" \
        --input 1x6x6 --seed $seed
    expect_output "^net      conv2.w   (3, 3, 3, 3) .*PASS"
done
expect 0 "$GRADCHECK" net --arch "conv 4 5x5 stride 2, relu, avgpool 2, fc 3"
expect_output "^    conv 4 5x5 stride 2 pad 0$"
expect_output "^net      conv1.w   (4, 1, 5, 5) .*PASS"
expect_output "net: every gradient within 1e-7"
expect 0 "$GRADCHECK" net --arch "conv 2 3x3, relu, maxpool 2, fc 4" --input 2x7x9 --seed 3
expect_output "^net: --arch, input 2x7x9, batch 2, 4 classes, training mode$"
expect_output "^net      dx        (2, 2, 7, 9) .*PASS"
# batchnorm and dropout, in training mode (dropout's mask fixed for the whole check)
expect 0 "$GRADCHECK" net --arch "conv 2 3x3, relu, batchnorm, maxpool 2, fc 3"
expect_output "^net      bn1.gamma (2,) .*PASS"
expect 0 "$GRADCHECK" net --arch "conv 3 3x3 pad 1, relu, dropout 0.3, maxpool 2, fc 4"
expect_output "^loss     dscores   (2, 4) .*PASS"
# a bias just before a batchnorm has no gradient to check: said, not failed
expect 2 "$GRADCHECK" net --arch "conv 2 3x3 pad 1, batchnorm, fc 3"
expect_output "the gradient of conv1.b was zero, or zero up to rounding"
expect 0 "$GRADCHECK" net --arch "conv 2 3x3 pad 1 nobias, batchnorm, fc 3"
expect_output "^net      bn1.beta  (2,) .*PASS"
# a weight that alone feeds a batchnorm channel: batchnorm undoes its scale, so its
# gradient comes only from batchnorm's eps, too small to resolve at He weights (that
# draw is not well posed); a draw that resolves it is found, and every row passes
expect 0 "$GRADCHECK" net --arch "conv 4 1x1 nobias, batchnorm, relu, fc 3"
expect_output "^net      conv1.w   (4, 1, 1, 1) .*PASS"
expect_output "net: every gradient within 1e-7"
expect_no_output "FAIL"
expect 0 "$GRADCHECK" net --arch "fc 4 nobias, batchnorm, relu, fc 3" --input 1x1x1
expect_output "^net      fc1.w     (1, 4) .*PASS"
expect_output "net: every gradient within 1e-7"
expect_no_output "FAIL"
# rounding that a batchnorm amplifies (a channel summed from terms that nearly cancel) makes a draw not well posed
expect 0 "$GRADCHECK" net --arch "conv 3 1x1 nobias, batchnorm, relu, conv 3 1x1 nobias, batchnorm, relu, fc 3" --seed 26
expect_output "net: every gradient within 1e-7"
expect 0 "$GRADCHECK" net --arch "conv 2 3x3, relu, batchnorm, maxpool 2, fc 3" --seed 68
expect_output "net: every gradient within 1e-7"
expect 0 "$GRADCHECK" net --arch "fc 2 nobias, batchnorm, fc 3" --input 1x1x1 --seed 3
expect_output "net: every gradient within 1e-7"
expect 0 "$GRADCHECK" net --arch "conv 4 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, fc 8 nobias, batchnorm, relu, dropout 0.3, fc 7" --seed 39
expect_no_output "FAIL"
# the loss cancels terms the size of the scores: its smallest dscores entries are judged
# against that rounding (this draw's smallest failed at 2e-7 when judged alone)
expect 0 "$GRADCHECK" net --seed 149
expect_output "^loss     dscores   (2, 7) .*PASS"
GRADCHECK_TMP=$(mktemp -d /tmp/workbench_cli_gradcheck.XXXXXX)
printf '# a small network\nconv 3 3x3 pad 1\nrelu\n\nmaxpool 2\nfc 5\n' >"$GRADCHECK_TMP/small.net"
expect 0 "$GRADCHECK" net --model "$GRADCHECK_TMP/small.net"
expect_output "^net: $GRADCHECK_TMP/small.net, input 1x8x8, batch 2, 5 classes, training mode$"
expect_output "^loss     dscores   (2, 5) .*PASS"
rm -rf "$GRADCHECK_TMP"
expect 2 "$GRADCHECK" net --model /nonexistent/model.net
expect_output "/nonexistent/model.net: cannot open"
expect 2 "$GRADCHECK" net --arch "conv 4 3x3, rellu, fc 3"
expect_output "unknown layer 'rellu'"
expect 2 "$GRADCHECK" net --arch "fc 1"
expect_output "at least 2 classes"
expect 2 "$GRADCHECK" net --arch "conv 2 9x9, fc 3"
expect 2 "$GRADCHECK" net --input 1x32x32
expect_output "no well-posed check of this network in 1000 draws; in the last, .* came within .* of its kink"

# a wider described network: 32 filters of 5x5 at stride 2, an average pool, fc 64 and 7
expect 0 "$GRADCHECK" net --arch "conv 32 5x5 stride 2 pad 2, relu, avgpool 2, fc 64, relu, fc 7"
expect_output "net      conv1.w   (32, 1, 5, 5)"
expect_output "net: every gradient within 1e-7"
# a network with batchnorm after a conv and after an fc, and dropout: batch 4, every row
expect 0 "$GRADCHECK" net --arch "conv 3 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, fc 6 nobias, batchnorm, relu, dropout 0.3, fc 4"
expect_output "batch 4, 4 classes, training mode"
expect_output "net      bn2.gamma (6,)"
expect_output "net: every gradient within 1e-7"
# batchnorm (both shapes, both modes) and dropout (its mask held fixed)
expect 0 "$GRADCHECK" batchnorm
expect_output "per channel over (N, H, W), training (the batch's statistics) mode"
expect_output "per feature over N, evaluation (the running statistics) mode"
expect_output "batchnorm dx        (6, 3)"
expect_output "batchnorm: every gradient within 1e-7"
expect 0 "$GRADCHECK" dropout
expect_output "dropout  dx        (2, 3, 4, 4)"
expect 2 "$GRADCHECK" batchnorm --kernel 3
# crop: random windows held fixed (training), the central one (evaluation); inside a network
expect 0 "$GRADCHECK" crop
expect_output "crop: input (3, 2, 7, 6), a 4x3 window, training mode (random windows, held)"
expect_output "crop: input (3, 2, 7, 6), a 4x3 window, evaluation mode (the central window)"
expect_output "crop: every gradient within 1e-7"
expect 0 "$GRADCHECK" net --arch "crop 6x5, conv 3 3x3 pad 1, relu, maxpool 2, fc 4"
expect_output "^    crop 6x5$"
expect_output "^net      dx        (2, 1, 8, 8) .*PASS"
expect 2 "$GRADCHECK" net --arch "crop 9, fc 4"
expect_output "the 9x9 window is larger than the 8x8 map it meets"
expect 0 "$GRADCHECK" all
expect_output "batchnorm dgamma"
expect_output "dropout  dx"
expect_output "crop     dx"

# ---- emotion data, emotion data info: the .npz reader (tests/test_npz.c has the details)
NPZ_FIXTURES=tests/fixtures/npz
expect 2 "$EMOTION" data
expect 0 "$EMOTION" data --help
expect_output "info FILE.npz"
expect_output "convert fer2013.csv"
expect_output "synth \[--out"
expect 2 "$EMOTION" data no-such-subcommand
expect_output "unknown subcommand"
expect 0 "$EMOTION" data info --help
expect_output "usage: emotion data info FILE.npz"
expect 2 "$EMOTION" data info
expect_output "which file"
expect 2 "$EMOTION" data info --no-such-flag "$NPZ_FIXTURES/dataset.npz"
expect_output "unknown option '--no-such-flag'"
expect 2 "$EMOTION" data info "$NPZ_FIXTURES/dataset.npz" "$NPZ_FIXTURES/dtypes.npz"
expect_output "one file at a time"

# a good file: one line per array, labels counted per class
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/dataset.npz"
expect_output "4 arrays"
expect_output "x_train  uint8    (10, 48, 48)"
expect_output "y_train  int64    (10,) .*Angry: 2, Disgust: 1, Fear: 1, Happy: 3, Sad: 1, Surprise: 1, Neutral: 1"
expect_output "y_val    int64    (2,) .*Angry: 0, .*Neutral: 2"
expect_output "classes: 7 from the labels (largest + 1), named as FER2013's: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral"
expect_output "^split train: 10 images of (C, H, W) = (1, 48, 48)"
expect_output "^split val: 2 images of (C, H, W) = (1, 48, 48)"
# labels 0, 7, -1, 3: eight classes (the largest + 1), and -1 outside them
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/labels_out_of_range.npz"
expect_output "WARNING: 1 label outside 0..7 (e.g. -1)"
expect_output "^split train: WARNING: the loader would refuse it: .*y_train\[2\] is -1"

# a CSV in FER2013's layout of other images or classes: the converter says where such
# data goes instead
CSV28=$(mktemp -d /tmp/workbench_cli_csv28.XXXXXX)
{ echo "emotion,pixels,Usage"; printf '3,'; i=1; while [ $i -lt 784 ]; do printf '0 '; i=$((i + 1)); done
  echo "0,Training"; } >"$CSV28/digits.csv"
expect 1 "$EMOTION" data convert "$CSV28/digits.csv" --out "$CSV28/digits.npz"
expect_output "line 2: 784 pixel values, expected 2304 (48x48); this converter reads FER2013's"
expect_output "an .npz written with numpy (README, section Data)"
printf 'emotion,pixels\n9,%s\n' "$(head -c 2304 /dev/zero | tr '\0' '0' | sed 's/0/0 /g')" >"$CSV28/ten.csv"
expect 1 "$EMOTION" data convert "$CSV28/ten.csv" --out "$CSV28/ten.npz"
expect_output "line 2: emotion 9 is outside 0..6; this converter reads FER2013's"
rm -rf "$CSV28"

# any image size and class count (tests/fixtures/make_loader_fixtures.py)
LOADER_FIXTURES=tests/fixtures/loader
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/grey28.npz"
expect_output "classes: 5 from the labels (largest + 1): class 0, class 1, class 2, class 3, class 4"
expect_output "y_val    int64    (3,) .*class 0: 0, class 1: 1, class 2: 1, class 3: 0, class 4: 1"
expect_output "^split train: 6 images of (C, H, W) = (1, 28, 28)"
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/colour.npz"
expect_output "class_names  <U6      (3,)"
expect_output "classes: 3 from class_names: cat, dög, bird 🐦"
expect_output "y_train      uint8    (4,) .*cat: 1, dög: 1, bird 🐦: 2"
expect_output "^split train: 4 images of (C, H, W) = (3, 10, 7)"
expect_output "^split tall: 2 images of (C, H, W) = (1, 9, 5)"
# seven classes of colour pictures are not FER2013's emotions
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/colour7.npz"
expect_output "classes: 7 from the labels (largest + 1): class 0, class 1, .*class 6$"
expect_no_output "Angry"
# labels counted from 1: class 0 is empty, which data info and train say
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/labels_from_one.npz"
expect_output "classes: WARNING: no y_ member has a label 0, so class 0 has no images; labels must start at 0"
RUN1=$(mktemp -d /tmp/workbench_cli_from_one.XXXXXX)
expect 0 "$EMOTION" train --data "$LOADER_FIXTURES/labels_from_one.npz" --arch "fc 4" --epochs 1 \
    --batch 3 --out "$RUN1"
expect_output "warning: 1 of the 4 classes has no training images (the first: 0, 'class 0').*labels counted from 1"
rm -rf "$RUN1"
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/names_text.npz"
expect_output "classes: 3 from class_names: zero, un, dós"
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/splits_k.npz"
expect_output "^split val: 3 images"
expect_output "classes: 4 from the labels"
# a file that reads cleanly but that the loader refuses: warnings, exit 0
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/names/duplicate.npz"
expect_output "classes: WARNING: .*class_names entries 0 and 2 are both 'a'"
expect 0 "$EMOTION" data info "$LOADER_FIXTURES/errors.npz"
expect_output "^split tall: WARNING: the loader would refuse it: .*x_tall has shape (3, 1025, 4)"
expect_output "^split label7: WARNING: .*y_label7\[2\] is 7, outside the classes 0..6"
# not a dataset (a checkpoint): no classes or splits
expect 0 "$EMOTION" data info "tests/fixtures/checkpoints/good.npz"
if grep -q "^classes\|^split" /tmp/cli_out.$$; then bad "data info: classes or splits for a checkpoint"; else ok; fi
# 28x28 images in 5 classes: the built-in network follows the data (its last layer
# gives 5 scores), and so does a described one; eval and predict need no model
RUN28=$(mktemp -d /tmp/workbench_cli_28.XXXXXX)
expect 0 "$EMOTION" train --data "$LOADER_FIXTURES/grey28.npz" --epochs 2 --batch 2 --out "$RUN28/default"
expect_output "input    (1, 28, 28)"
expect_output "pool2    (64, 7, 7)"
expect_output "fc2      (5,)"
expect_output "6 train / 3 val images of 1x28x28, 5 classes"
expect 0 "$EMOTION" train --data "$LOADER_FIXTURES/grey28.npz" --epochs 2 --batch 3 \
    --arch "conv 6 5x5 stride 2 pad 2, relu, avgpool 2, fc 5" --out "$RUN28/strided"
expect_output "conv1    (6, 14, 14)"
expect_output "pool1    (6, 7, 7)"
expect 0 "$EMOTION" eval --model "$RUN28/strided/best.npz" --data "$LOADER_FIXTURES/grey28.npz" --split val
expect_output "1x28x28 images, 5 classes"
expect_output "^class 4 "
expect 0 "$EMOTION" predict --model "$RUN28/strided/model.npz" tests/fixtures/checkpoints/face.pgm
expect_output "class 0  *0\.[0-9]*"
expect_output "class 4  *0\.[0-9]*"
expect 2 "$EMOTION" train --data "$LOADER_FIXTURES/grey28.npz" --epochs 1 --arch "conv 6 5x5, fc 7" --out "$RUN28/wrong"
expect_output "the last layer gives 7 scores per image, but the data has 5 classes (end with 'fc 5')"
expect 1 test -e "$RUN28/wrong/model.npz"
# a model refuses data it was not made for: another image shape, more classes
expect 1 "$EMOTION" eval --model tests/fixtures/checkpoints/good.npz --data "$LOADER_FIXTURES/colour.npz" --split train
expect_output "(C, H, W) = (3, 10, 7) in 3 classes"
expect 1 "$EMOTION" train --data "$LOADER_FIXTURES/grey28.npz" --epochs 1 --init tests/fixtures/checkpoints/good.npz --out "$RUN28/init"
expect_output "(1, 28, 28)"
rm -rf "$RUN28"
# an empty output directory is refused (it used to overflow a buffer), now
# when the options are read, as every empty path is
expect 2 "$EMOTION" train --data "$NPZ_FIXTURES/dataset.npz" --out ''
expect_output "^emotion train: --out needs a path, not an empty string$"

# every variant numpy writes is listed
for npz_file in basic_stored basic_compressed basic_stream_stored basic_stream_compressed \
                zip64_directory with_comment; do
    expect 0 "$EMOTION" data info "$NPZ_FIXTURES/$npz_file.npz"
    expect_output "x  uint8    (2, 3, 4)"
done
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/fortran.npz"
expect_output "f3   float64  (2, 3, 4)"
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/zero_d.npz"
expect_output "scalar_f8     float64  ()"
expect_output "empty_images  uint8    (0, 48, 48)"
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/bigendian.npz"
expect_output "float16  float16  (9,)"
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/dtypes.npz"
expect_output "12 arrays"
expect_output "uint64   uint64   (3,)"
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/header_v3.npz"
expect_output "a  int16    (3, 4)"
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/v2.npy"
expect_output "v2  int16    (3, 4)"

# bad files: exit 1 with a message naming the file (and no sanitizer report)
expect 1 "$EMOTION" data info "$NPZ_FIXTURES/no_such_file.npz"
expect_output "no_such_file.npz: cannot open"
expect 1 "$EMOTION" data info "$NPZ_FIXTURES/hostile/crc_mismatch_stored.npz"
expect_output "member 'x.npy': CRC-32 mismatch"
# not files: a device (endless), a folder; refused at once by what they are
expect 1 "$EMOTION" data info /dev/zero
expect_output "/dev/zero: is not a regular file (a character device)"
expect 1 "$EMOTION" data info "$NPZ_FIXTURES"
expect_output "$NPZ_FIXTURES: is a directory"
for npz_file in "$NPZ_FIXTURES"/hostile/*; do
    expect 1 "$EMOTION" data info "$npz_file"
    expect_output "^emotion data info: $npz_file: "
done

# files our writer wrote load in numpy with identical contents
# (build/npz_written is left by the unit test writes_copies_of_the_fixtures_for_the_numpy_check)
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    if [ -d build/npz_written ]; then
        expect 0 /usr/bin/python3 tests/fixtures/check_npz_written.py build/npz_written
        expect_output ": 0 failed"
    else
        echo "skip: numpy check of written .npz files (build/npz_written is missing: run the unit tests first)"
    fi
else
    echo "skip: numpy check of written .npz files (/usr/bin/python3 with numpy not found)"
fi

# ---- emotion data convert / emotion data synth: the CSV converter and the synthetic faces
CSV_FIXTURES=tests/fixtures/csv
DATA_TMP=$(mktemp -d /tmp/workbench_cli_data.XXXXXX)
expect 0 "$EMOTION" data convert --help
expect_output "usage: emotion data convert FILE.csv"
expect 2 "$EMOTION" data convert
expect_output "which CSV file"
expect 2 "$EMOTION" data convert "$CSV_FIXTURES/standard.csv" --no-such-flag
expect_output "unknown option '--no-such-flag'"
expect 2 "$EMOTION" data convert "$CSV_FIXTURES/standard.csv" --out
expect_output "needs a file name"
expect 1 "$EMOTION" data convert "$CSV_FIXTURES/no_such_file.csv" --out "$DATA_TMP/none.npz"
expect_output "no_such_file.csv: cannot open: No such file"
expect 1 "$EMOTION" data convert /dev/zero --out "$DATA_TMP/none.npz"
expect_output "/dev/zero: is not a regular file (a character device)"
expect 1 "$EMOTION" data convert "$CSV_FIXTURES" --out "$DATA_TMP/none.npz"
expect_output "$CSV_FIXTURES: is a directory"

# good files: the summary, then the file as `data info` and numpy see it
expect 0 "$EMOTION" data convert "$CSV_FIXTURES/icml.csv" --out "$DATA_TMP/icml.npz"
expect_output "wrote $DATA_TMP/icml.npz: 11 rows"
expect_output "x_train (7, 48, 48) uint8"
expect_output "x_test  (2, 48, 48) uint8"
expect 0 "$EMOTION" data info "$DATA_TMP/icml.npz"
expect_output "y_train  int64    (7,)"
expect 0 "$EMOTION" data convert "$CSV_FIXTURES/no_usage.csv" --out "$DATA_TMP/no_usage.npz" --compress
expect_output "no Usage column"
expect 0 "$EMOTION" data info "$DATA_TMP/no_usage.npz"
expect_output "2 arrays"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    for variant in icml no_usage; do
        expect 0 /usr/bin/python3 -c "
import numpy as np, sys
a, b = np.load('$DATA_TMP/$variant.npz'), np.load('$CSV_FIXTURES/${variant}_expected.npz')
assert sorted(a.files) == sorted(b.files), (a.files, b.files)
for k in b.files:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and (a[k] == b[k]).all(), k
"
    done
else
    echo "skip: numpy check of converted files (/usr/bin/python3 with numpy not found)"
fi

# a bad row: exit 1, the line, and no output file (an existing one is left alone)
expect 1 "$EMOTION" data convert "$CSV_FIXTURES/bad_pixel_range.csv" --out "$DATA_TMP/bad.npz"
expect_output "bad_pixel_range.csv line 5: pixel 10 is 256, outside 0..255"
expect_output "no output written"
expect 1 test -e "$DATA_TMP/bad.npz"
cp "$DATA_TMP/icml.npz" "$DATA_TMP/keep.npz"
expect 1 "$EMOTION" data convert "$CSV_FIXTURES/bad_usage.csv" --out "$DATA_TMP/keep.npz"
expect_output "line 5: unknown Usage 'Validation'"
expect 0 cmp "$DATA_TMP/icml.npz" "$DATA_TMP/keep.npz"
expect 1 "$EMOTION" data convert "$CSV_FIXTURES/bad_header_no_pixels.csv" --out "$DATA_TMP/bad.npz"
expect_output "line 1: the header needs columns 'emotion' and 'pixels'"
expect 1 test -e "$DATA_TMP/bad.npz"
expect 1 "$EMOTION" data convert "$CSV_FIXTURES/standard.csv" --out "$DATA_TMP/no_such_dir/out.npz"
expect_output "no_such_dir"
# the output is the input (by name, hard link or symbolic link): refused, the CSV intact
cp "$CSV_FIXTURES/standard.csv" "$DATA_TMP/in.csv"
ln "$DATA_TMP/in.csv" "$DATA_TMP/hard.csv"
ln -s in.csv "$DATA_TMP/soft.npz"
for out in "$DATA_TMP/in.csv" "$DATA_TMP/./in.csv" "$DATA_TMP/hard.csv" "$DATA_TMP/soft.npz"; do
    expect 2 "$EMOTION" data convert "$DATA_TMP/in.csv" --out "$out"
    expect_output "is the input file"
    expect 0 cmp "$CSV_FIXTURES/standard.csv" "$DATA_TMP/in.csv"
done
rm -f "$DATA_TMP/in.csv" "$DATA_TMP/hard.csv" "$DATA_TMP/soft.npz"

expect 0 "$EMOTION" data synth --help
expect_output "usage: emotion data synth"
expect 2 "$EMOTION" data synth --train
expect_output "needs a value"
expect 2 "$EMOTION" data synth --train ten
expect_output "whole number"
expect 2 "$EMOTION" data synth --seed -3
expect 2 "$EMOTION" data synth --train 0
expect_output "at least 1"
expect 2 "$EMOTION" data synth --no-such-flag
expect_output "unknown option '--no-such-flag'"

# the same seed writes the same bytes; another seed does not
expect 0 "$EMOTION" data synth --out "$DATA_TMP/s1.npz" --train 70 --val 14 --test 0 --seed 9
expect_output "x_train (70, 48, 48) uint8"
expect 0 "$EMOTION" data synth --out "$DATA_TMP/s2.npz" --train 70 --val 14 --test 0 --seed 9
expect 0 cmp "$DATA_TMP/s1.npz" "$DATA_TMP/s2.npz"
expect 0 "$EMOTION" data synth --out "$DATA_TMP/s3.npz" --train 70 --val 14 --test 0 --seed 10
expect 1 cmp -s "$DATA_TMP/s1.npz" "$DATA_TMP/s3.npz"
expect 0 "$EMOTION" data synth --out "$DATA_TMP/balanced.npz" --train 70 --val 7 --test 7 --balanced
expect 0 "$EMOTION" data info "$DATA_TMP/balanced.npz"
expect_output "y_train  int64    (70,) .*Angry: 10, Disgust: 10, Fear: 10, Happy: 10, Sad: 10, Surprise: 10, Neutral: 10"
expect_output "6 arrays"
expect 0 "$EMOTION" data info "$DATA_TMP/s1.npz"
expect_output "4 arrays"
# a temporary a killed run left beside the output is swept by the next
# write of that file; files that only look alike are not touched
touch "$DATA_TMP/s1.npz.abc123.tmp" "$DATA_TMP/s1.npz.tmp" "$DATA_TMP/Y.npz.abc123.tmp"
expect 0 "$EMOTION" data synth --out "$DATA_TMP/s1.npz" --train 70 --val 14 --test 0 --seed 9
expect 1 test -e "$DATA_TMP/s1.npz.abc123.tmp"
expect 0 test -e "$DATA_TMP/s1.npz.tmp"
expect 0 test -e "$DATA_TMP/Y.npz.abc123.tmp"
rm -f "$DATA_TMP/s1.npz.tmp" "$DATA_TMP/Y.npz.abc123.tmp"
# SIGTERM half-way through writing: no temporary left, the file absent or complete
"$EMOTION" data synth --train 20000 --val 10 --test 10 --compress --out "$DATA_TMP/killed.npz" \
    >/dev/null 2>&1 &
synth_pid=$!
waited=0
while [ $waited -lt 1200 ] && ! ls "$DATA_TMP"/killed.npz.*.tmp >/dev/null 2>&1; do
    sleep 0.05; waited=$((waited + 1))
done
kill -TERM $synth_pid 2>/dev/null
{ wait $synth_pid; } 2>/dev/null
synth_status=$?
if [ $waited -lt 1200 ] && [ $synth_status = 143 ]; then ok; else
    bad "data synth was not killed while writing (waited $waited, status $synth_status)"; fi
ls "$DATA_TMP" | grep '^killed\.npz\..*\.tmp$' >/tmp/cli_out.$$ 2>&1
if [ -s /tmp/cli_out.$$ ]; then bad "SIGTERM left: $(cat /tmp/cli_out.$$)"; else ok; fi
if [ -e "$DATA_TMP/killed.npz" ]; then expect 0 "$EMOTION" data info "$DATA_TMP/killed.npz"; fi
rm -f "$DATA_TMP/killed.npz"
ls "$DATA_TMP" | grep -v '\.npz$' >/tmp/cli_out.$$ 2>&1
if [ -s /tmp/cli_out.$$ ]; then bad "temporary files left behind: $(cat /tmp/cli_out.$$)"; else ok; fi
rm -rf "$DATA_TMP"

# ---- emotion bench: per-layer table, the step against the FMA peak, then the
# machine-readable lines, the two img/s lines last
expect 0 "$EMOTION" bench --batch 4 --repeats 1 --threads 1
expect_output "conv2   conv"
expect_output "conv1 forward"
expect_output "^machine: .*, [0-9]* cores\{0,1\}; matrix multiply kernel [A-Za-z0-9+ -]* ([0-9]* floats per vector)$"
expect_output "^training step: [0-9.]* MFLOP per image (forward [0-9.]*, backward [0-9.]*)$"
expect_output "^training step: [0-9]* GFLOP/s with 1 thread = [0-9]*% of the FMA peak ([0-9]* GFLOP/s, .*, measured)$"
fraction=$(sed -n 's/^train_fma_peak_fraction=//p' /tmp/cli_out.$$)
if awk -v f="$fraction" 'BEGIN { exit !(f + 0 > 0 && f + 0 < 1.5) }'; then ok; else
    bad "bench: train_fma_peak_fraction='$fraction' is not in (0, 1.5)"; fi
# without Winograd the multiply-adds made are the network's arithmetic
made=$(sed -n 's/^train_fma_made_fraction=//p' /tmp/cli_out.$$)
if [ -n "$made" ] && [ "$made" = "$fraction" ]; then ok; else
    bad "bench: train_fma_made_fraction='$made', not train_fma_peak_fraction='$fraction'"; fi
expect_output "^train_img_per_s=[0-9][0-9]*$"
expect_output "^infer_img_per_s=[0-9][0-9]*$"
if tail -2 /tmp/cli_out.$$ | head -1 | grep -q '^train_img_per_s=' && tail -1 /tmp/cli_out.$$ | grep -q '^infer_img_per_s='; then ok; else bad "bench: the two img/s lines are not last"; fi
# with 2 threads: both rows of the threads table, and the scaling between them
expect 0 "$EMOTION" bench --batch 4 --repeats 1 --threads 2 --no-gemm
expect_output "^2  *[0-9][0-9]*  *[0-9][0-9]*$"
expect_output "^scaling from 1 to 2 threads: training [0-9.]*x, inference [0-9.]*x$"
expect_no_output "direct convolution's arithmetic"
expect_no_output "^multiply-adds made"
# a layer through Winograd makes fewer multiply-adds (2 x 36 positions x 8 filters
# x 1 channel x 144 blocks = 82,944 a pass, against im2col's 2 x 9 x 8 x 2,304 =
# 331,776); the step is counted in the network's arithmetic, as a direct
# convolution computes it: with fc 7 on 8 x 48 x 48 (258,048 forward, twice that
# backward), 0.590 forward, 0.848 backward (no dx for the first layer), 1.44 MFLOP;
# made: 0.341 + 0.599 = 0.940. The fractions are in the same ratio, 1.438 / 0.940.
expect 0 "$EMOTION" bench --arch "conv 8 3x3 pad 1 winograd, fc 7" --batch 4 --repeats 1 --threads 1
expect_output "^training step: 1.4 MFLOP per image (forward 0.6, backward 0.8), in a direct convolution's arithmetic$"
expect_output "^multiply-adds made: 1 layer through Winograd makes 0.9 MFLOP per image (forward 0.3, backward 0.6) for the 1.4 above: [0-9]* GFLOP/s = [0-9]*% of the FMA peak$"
fraction=$(sed -n 's/^train_fma_peak_fraction=//p' /tmp/cli_out.$$)
made=$(sed -n 's/^train_fma_made_fraction=//p' /tmp/cli_out.$$)
# (each printed to 3 decimals: 0.0005 of rounding in each)
if awk -v f="$fraction" -v m="$made" 'BEGIN { d = f - m * 1437696 / 940032
                                             exit !(m > 0 && d < 0.0014 && d > -0.0014) }'; then ok; else
    bad "bench: train_fma_peak_fraction='$fraction' against train_fma_made_fraction='$made': not 1.53 times"; fi
expect 0 "$EMOTION" bench --help
expect_output "usage: emotion bench"
expect 2 "$EMOTION" bench --batch 0
expect_output "needs a whole number"
expect 2 "$EMOTION" bench --turbo

# ---- emotion eval / emotion predict: checkpoints, metrics, probabilities, images
# Fixtures from tests/fixtures/checkpoints/make_checkpoints.py: a tiny CNN
# (good.npz), broken copies of it, ten images (tiny_dataset.npz) and numpy's
# probabilities for them (reference.npz). numpy's predictions on the ten
# images are Sad for all but the last (Fear); the labels are
# 0 1 2 3 4 5 6 3 3 0, so exactly one (image 4, Sad) is right.
CKPT=tests/fixtures/checkpoints
EVAL_TMP=$(mktemp -d /tmp/workbench_cli_eval.XXXXXX)
case "$EMOTION" in /*) EMOTION_ABS=$EMOTION ;; *) EMOTION_ABS=$(pwd)/$EMOTION ;; esac
expect 0 "$EMOTION" eval --help
expect_output "usage: emotion eval --model FILE"
# --probs holds one column per class of the model, not always FER2013's 7
expect_output "float32 (N, K), N images in the split's order, K classes,"
expect 2 "$EMOTION" eval
expect_output "which model"
expect 2 "$EMOTION" eval --model "$CKPT/good.npz" --frobnicate
expect_output "unknown option '--frobnicate'"
expect_output "usage: emotion eval"
expect 2 "$EMOTION" eval --model
expect_output "needs a value"
expect 2 "$EMOTION" eval --model "$CKPT/good.npz" --split banana
expect_output "train, val or test, not 'banana'"
expect 2 "$EMOTION" eval --model "$CKPT/good.npz" --batch 0
expect_output "needs a whole number"
expect 1 "$EMOTION" eval --model "$CKPT/no_such_model.npz" --data "$CKPT/tiny_dataset.npz"
expect_output "no_such_model.npz: cannot open"
expect 1 "$EMOTION" eval --model "$CKPT/wrong_shape_fc2_w.npz" --data "$CKPT/tiny_dataset.npz"
expect_output "array 'fc2.w' has shape (4, 6), but the description needs (4, 7)"
expect 1 "$EMOTION" eval --model "$CKPT/inconsistent_conv2_w.npz" --data "$CKPT/tiny_dataset.npz"
expect_output "array 'conv2.w' has shape (3, 5, 3, 3), but the description needs (3, 2, 3, 3)"
expect 1 "$EMOTION" eval --model "$CKPT/good.npz" --data "$CKPT/tiny_dataset.npz" --split val
expect_output "no member 'x_val'"
expect 1 "$EMOTION" eval --model "$CKPT/good.npz" --data "$EVAL_TMP/no_such_data.npz"
expect_output "no_such_data.npz: cannot open"
cp "$CKPT/good.npz" "$EVAL_TMP/model.npz"
expect 1 sh -c "cd '$EVAL_TMP' && '$EMOTION_ABS' eval --model model.npz"
expect_output "data/synth.npz does not exist"
expect_output "./emotion data synth"

# a run: the figures, the heatmap where asked, the probabilities file
expect 0 "$EMOTION" eval --model "$EVAL_TMP/model.npz" --data "$CKPT/tiny_dataset.npz" \
    --probs "$EVAL_TMP/probs.npz" --batch 3 --threads 1 --chart "$EVAL_TMP/confusion.png"
expect_output "split test: 10 images"
expect_output "accuracy  0.1000  (1 of 10 correct)"
expect_output "^Sad .*1.0000 .* 1$"
expect_output "^Happy .* 3  (never predicted)"
expect_output "confusion matrix (rows: true class, columns: predicted class)"
expect_output "^Happy  *0  *0  *0  *0  *3  *0  *0$"
if command -v gnuplot >/dev/null 2>&1; then
    expect_output "wrote $EVAL_TMP/confusion.png and $EVAL_TMP/confusion_by_true_class.png"
    expect 0 test -s "$EVAL_TMP/confusion.png"
    expect 0 test -s "$EVAL_TMP/confusion_by_true_class.png"
else
    expect_output "gnuplot not found"
fi
expect 0 "$EMOTION" data info "$EVAL_TMP/probs.npz"
expect_output "probs  *float32  (10, 7)"
expect_output "labels  *int64    (10,)"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    expect 0 /usr/bin/python3 "$CKPT/make_checkpoints.py" --check-probs "$EVAL_TMP/probs.npz"
    expect_output "probs match numpy's forward pass"
else
    echo "skip: numpy check of eval --probs (/usr/bin/python3 with numpy not found)"
fi
# test-time augmentation: the probabilities averaged over the views, as numpy computes them
for mode in flip shifts; do
    expect 0 "$EMOTION" eval --model "$CKPT/good.npz" --data "$CKPT/tiny_dataset.npz" --tta $mode \
        --probs "$EVAL_TMP/tta_$mode.npz" --batch 4 --threads 1
    expect_output "tta    $mode: probabilities averaged over"
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        expect 0 /usr/bin/python3 "$CKPT/make_checkpoints.py" --check-tta $mode "$EVAL_TMP/tta_$mode.npz"
        expect_output "tta $mode probs match numpy's mean"
    fi
done
expect 2 "$EMOTION" eval --model "$CKPT/good.npz" --tta ten-crop
expect_output "--tta is none, flip or shifts, not 'ten-crop'"
expect 1 "$EMOTION" eval --model "$CKPT/good.npz" --data "$CKPT/tiny_dataset.npz" \
    --chart "$EVAL_TMP/no_such_dir/confusion.png" --probs "$EVAL_TMP/no_such_dir/probs.npz"
expect_output "no_such_dir"

# predict: the class and seven probabilities summing to 1; bad images reported, good ones kept
expect 0 "$EMOTION" predict --help
expect_output "usage: emotion predict --model FILE \[--\] IMAGE"
expect 2 "$EMOTION" predict "$CKPT/face.pgm"
expect_output "which model"
expect 2 "$EMOTION" predict --model "$CKPT/good.npz"
expect_output "which images"
expect 2 "$EMOTION" predict --model "$CKPT/good.npz" --frobnicate "$CKPT/face.pgm"
expect_output "unknown option '--frobnicate'"
expect 1 "$EMOTION" predict --model "$CKPT/missing_fc2_b.npz" "$CKPT/face.pgm"
expect_output "array 'fc2.b' is missing"
for image in face.pgm face_ascii.ppm; do
    expect 0 "$EMOTION" predict --model "$CKPT/good.npz" "$CKPT/$image"
    expect_output "$image: Sad"
    expect_output "> Sad "
    if awk '/^  [ >] [A-Z][a-z]+ +[01]\.[0-9]+/ { n++; sum += $(NF - ($NF ~ /^#+$/)) }
            END { exit !(n == 7 && sum > 0.999 && sum < 1.001) }' /tmp/cli_out.$$; then
        ok
    else
        bad "predict $image: not seven probabilities summing to 1"
    fi
done
expect 1 "$EMOTION" predict --model "$CKPT/good.npz" "$CKPT/no_such_face.pgm" "$CKPT/face.pgm" \
    "$CKPT/good.npz"
expect_output "no_such_face.pgm: cannot open"
expect_output "good.npz: not a PGM or PPM image"
expect_output "face.pgm: Sad"
expect_output "2 of 3 images could not be read"
# a model in a folder whose name gnuplot reads as a command ('|' pipes its
# output, '<' reads a command's): the chart lands beside it and nothing runs
mkdir "$EVAL_TMP/|touch MARKER #" "$EVAL_TMP/<touch MARKER"
cp "$CKPT/good.npz" "$EVAL_TMP/|touch MARKER #/model.npz"
case "$CKPT" in /*) CKPT_ABS=$CKPT ;; *) CKPT_ABS=$(pwd)/$CKPT ;; esac
expect 0 sh -c "cd '$EVAL_TMP' && '$EMOTION_ABS' eval --model '|touch MARKER #/model.npz' --data '$CKPT_ABS/tiny_dataset.npz' --chart '|touch MARKER #/confusion.png'"
expect 0 sh -c "cd '$EVAL_TMP' && '$EMOTION_ABS' eval --model '|touch MARKER #/model.npz' --data '$CKPT_ABS/tiny_dataset.npz' --chart '<touch MARKER/c.png'"
if command -v gnuplot >/dev/null 2>&1; then
    expect_output "wrote <touch MARKER/c.png"
    expect 0 test -s "$EVAL_TMP/|touch MARKER #/confusion.png"
    expect 0 test -s "$EVAL_TMP/<touch MARKER/c.png"
fi
expect 1 test -e "$EVAL_TMP/MARKER"
ls "$EVAL_TMP/|touch MARKER #" "$EVAL_TMP/<touch MARKER" | grep -v '^$\|:$\|\.\(npz\|png\|dat\)$' >/tmp/cli_out.$$ 2>&1
if [ -s /tmp/cli_out.$$ ]; then bad "eval: stray files beside the charts: $(cat /tmp/cli_out.$$)"; else ok; fi
rm -rf "$EVAL_TMP/|touch MARKER #" "$EVAL_TMP/<touch MARKER"
ls "$EVAL_TMP" | grep -v '\.\(npz\|png\|dat\)$' >/tmp/cli_out.$$ 2>&1
if [ -s /tmp/cli_out.$$ ]; then bad "eval: temporary files left behind: $(cat /tmp/cli_out.$$)"; else ok; fi
rm -rf "$EVAL_TMP"

# ---- emotion train: usage, bad data, a tiny real run, determinism, the NaN guard
TRAIN_TMP=$(mktemp -d /tmp/workbench_cli_train.XXXXXX)
expect 0 "$EMOTION" train --help
expect_output "usage: emotion train"
# plateau lowers the rate after MORE than N epochs without gain (src/schedule.c, and the
# README); the help said "for N epochs"
expect_output "has not improved for more$"
expect_output "^ *than N epochs, N the patience)$"
expect 2 "$EMOTION" train --no-such-flag
expect_output "unknown option '--no-such-flag'"
expect 2 "$EMOTION" train --epochs
expect_output "needs a value"
expect 2 "$EMOTION" train --epochs zero
expect_output "whole number"
expect 2 "$EMOTION" train --momentum 1
expect 2 "$EMOTION" train --lr -0.1
expect 2 "$EMOTION" train --schedule linear
expect_output "constant, step, cosine or plateau"
expect 2 "$EMOTION" train --init x.npz --hidden 64
expect_output "hidden is gone: describe the network instead; --hidden 64 is"
expect_output 'arch "conv 32 3x3 pad 1, relu, maxpool 2, conv 64 3x3 pad 1, relu, maxpool 2, fc 64, relu, fc 7"'
expect 2 "$EMOTION" train --conv1 8
expect_output 'arch "conv 8 3x3 pad 1, relu, maxpool 2, conv 64 3x3 pad 1, relu, maxpool 2, fc 256, relu, fc 7"'
expect 2 "$EMOTION" train --conv2 x
expect_output "conv2 is gone: describe the network instead, e.g."
expect 1 "$EMOTION" train --data "$TRAIN_TMP/no_such.npz" --out "$TRAIN_TMP/none"
expect_output "no_such.npz"
expect 1 test -e "$TRAIN_TMP/none/model.npz"

# the seed's network with narrow widths: the same layers, a fraction of the time
SMALL_ARCH="conv 4 3x3 pad 1, relu, maxpool 2, conv 8 3x3 pad 1, relu, maxpool 2, fc 16, relu, fc 7"

# one epoch of the real network on 200 faces: every output file, nothing left half-written
expect 0 "$EMOTION" data synth --train 200 --val 50 --test 50 --out "$TRAIN_TMP/small.npz"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --out "$TRAIN_TMP/run"
expect_output "epoch 1/1  train loss [0-9.]* acc .*val loss [0-9.]* acc"
expect_no_output "warning"
# a learning rate far too high: warned of while the loss is still finite
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" --lr 20 \
    --out "$TRAIN_TMP/diverging"
expect_output "^warning: the training loss [0-9.e+]* is far above ln 7 = 1.95, a uniform guess's: the learning rate (20) is probably too high"
expect_no_output "already holds a run"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --out "$TRAIN_TMP/diverging"
expect_output "^$TRAIN_TMP/diverging already holds a run: this one replaces its files as it goes (--out DIR writes elsewhere)"
# a val split whose images do not fit the network is refused before any training
expect 1 "$EMOTION" train --data "$LOADER_FIXTURES/val_shape.npz" --arch "fc 3" --out "$TRAIN_TMP/val_shape"
expect_output "val_shape.npz: the val split has images of (C, H, W) = (1, 4, 4) in 3 classes; expected (1, 8, 8) images"
expect 1 test -e "$TRAIN_TMP/val_shape/model.npz"
# an --out folder that takes no files is found out before the first epoch
if [ -d /proc/self ]; then
    expect 1 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --arch "fc 7" --out /proc
    expect_output "/proc/model.npz: cannot create a temporary file beside it"
    expect_no_output "^epoch"
else
    ok; ok; ok
fi
expect 1 "$EMOTION" train --data "$LOADER_FIXTURES/one_class.npz" --arch "fc 1" --out "$TRAIN_TMP/one_class"
expect_output "one_class.npz: the data has only one class; a classifier needs at least two"
# a checkpoint's class names follow the loader's rules: no terminal escapes reach the screen
expect 1 "$EMOTION" predict --model "$CKPT/escape_names.npz" "$CKPT/face.pgm"
expect_output "escape_names.npz: class name 0 holds the control character U+001B (at byte 0); class names must be printable"
expect 0 test -s "$TRAIN_TMP/run/model.npz"
expect 0 test -s "$TRAIN_TMP/run/best.npz"
expect 0 "$EMOTION" data info "$TRAIN_TMP/run/model.npz"
expect_output "conv1.w  *float32  (32, 1, 3, 3)"
expect_output "fc1.w  *float32  (9216, 256)"
expect_output "arch  *uint8"
expect 0 grep -q "^epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds$" "$TRAIN_TMP/run/metrics.csv"
expect 0 grep -q "^1,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,0.02,[0-9.]*$" "$TRAIN_TMP/run/metrics.csv"
if command -v gnuplot >/dev/null 2>&1; then
    expect 0 test -s "$TRAIN_TMP/run/loss.png"
    expect 0 test -s "$TRAIN_TMP/run/accuracy.png"
fi
# without gnuplot: one notice, the CSV and the checkpoints all the same
expect 0 env PATH=/nonexistent "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 \
    --arch "$SMALL_ARCH" --out "$TRAIN_TMP/no_gnuplot"
expect_output "gnuplot not found: charts skipped, their data written (e.g. $TRAIN_TMP/no_gnuplot/metrics.csv)"
expect 0 test -s "$TRAIN_TMP/no_gnuplot/metrics.csv"
expect 1 test -e "$TRAIN_TMP/no_gnuplot/loss.png"

# the same seed: the same model.npz, byte for byte
for run in a b; do
    expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --arch "$SMALL_ARCH" \
        --threads 2 --seed 5 --out "$TRAIN_TMP/seed_$run"
done
expect 0 cmp "$TRAIN_TMP/seed_a/model.npz" "$TRAIN_TMP/seed_b/model.npz"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --arch "$SMALL_ARCH" \
    --threads 2 --seed 6 --out "$TRAIN_TMP/seed_c"
expect 1 cmp -s "$TRAIN_TMP/seed_a/model.npz" "$TRAIN_TMP/seed_c/model.npz"
# ... and whatever the thread count
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --arch "$SMALL_ARCH" \
    --threads 1 --seed 5 --out "$TRAIN_TMP/seed_one_thread"
expect 0 cmp "$TRAIN_TMP/seed_a/model.npz" "$TRAIN_TMP/seed_one_thread/model.npz"

# a loss that blows up stops training with exit 1; the last good checkpoints stay as they were
cp "$TRAIN_TMP/seed_a/model.npz" "$TRAIN_TMP/good_model.npz"
cp "$TRAIN_TMP/seed_a/best.npz" "$TRAIN_TMP/good_best.npz"
expect 1 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --init "$TRAIN_TMP/seed_a/model.npz" \
    --lr 1000 --out "$TRAIN_TMP/seed_a"
expect_output "stopped: epoch 1.*loss is NaN"
expect 0 cmp "$TRAIN_TMP/seed_a/model.npz" "$TRAIN_TMP/good_model.npz"
expect 0 cmp "$TRAIN_TMP/seed_a/best.npz" "$TRAIN_TMP/good_best.npz"
# a full disk (a 16 kB tmpfs, where we may mount one): the message names the file once
FULL_TMP=$(mktemp -d /tmp/workbench_cli_full.XXXXXX)
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=16k tmpfs "$FULL_TMP" 2>/dev/null; then
    expect 1 "$EMOTION" data synth --train 100 --val 10 --test 10 --out "$FULL_TMP/synth.npz"
    expect_output "^emotion data synth: $FULL_TMP/synth.npz: cannot write: No space left on device$"
    expect 1 "$EMOTION" data convert "$CSV_FIXTURES/standard.csv" --out "$FULL_TMP/standard.npz"
    expect_output "^emotion data convert: $FULL_TMP/standard.npz: cannot write: No space left on device$"
    expect 1 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --out "$FULL_TMP/run"
    expect_output "emotion train: stopped: $FULL_TMP/run/model.npz: cannot write: No space left on device$"
    find "$FULL_TMP" -name '*.tmp' >/tmp/cli_out.$$ 2>&1
    if [ -s /tmp/cli_out.$$ ]; then bad "a full disk left: $(cat /tmp/cli_out.$$)"; else ok; fi
    umount "$FULL_TMP"
else
    echo "skip: full-disk messages (no tmpfs could be mounted)"
fi
rmdir "$FULL_TMP"

# an output folder whose name gnuplot reads as a command: the charts land in it, nothing runs
case "$TRAIN_TMP" in /*) ;; *) TRAIN_TMP=$(pwd)/$TRAIN_TMP ;; esac
expect 0 sh -c "cd '$TRAIN_TMP' && '$EMOTION_ABS' train --data small.npz --epochs 1 --arch '$SMALL_ARCH' --out '|touch MARKER #'"
if command -v gnuplot >/dev/null 2>&1; then
    expect 0 test -s "$TRAIN_TMP/|touch MARKER #/loss.png"
    expect 0 test -s "$TRAIN_TMP/|touch MARKER #/accuracy.png"
fi
expect 1 test -e "$TRAIN_TMP/MARKER"
expect 0 sh -c "ls '$TRAIN_TMP/|touch MARKER #' | grep -v '^\(model.npz\|best.npz\|resume.npz\|metrics.csv\|loss.png\|accuracy.png\)$' | wc -l | grep -qx 0"
find "$TRAIN_TMP" -name '*.tmp' -o -name '*.gp' -o -name '*.log' >/tmp/cli_out.$$ 2>&1
if [ -s /tmp/cli_out.$$ ]; then bad "temporary files left behind: $(cat /tmp/cli_out.$$)"; else ok; fi
# ---- networks described in text: a stride-2 5x5 convolution and an average pool
STRIDED="conv 8 5x5 stride 2 pad 2, relu, avgpool 2, conv 8 3x3 pad 1, relu, maxpool 2, fc 7"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$STRIDED" --out "$TRAIN_TMP/strided"
expect_output "conv1    (8, 24, 24)                 208        0.230"
expect_output "pool1    (8, 12, 12)"
expect_output "fc1      (7,)                       2023        0.004"
expect_output "total                               2815        0.412"
# evaluated and predicted without being told the model: the checkpoint carries it
expect 0 "$EMOTION" eval --model "$TRAIN_TMP/strided/model.npz" --data "$TRAIN_TMP/small.npz" --split val
expect_output "2815 parameters, 1x48x48 images, 7 classes"
expect 0 "$EMOTION" predict --model "$TRAIN_TMP/strided/model.npz" "$CKPT/face.pgm"
expect_output "face.pgm: "
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    expect 0 /usr/bin/python3 -c "
import numpy as np, sys
m = np.load(sys.argv[1])
arch = bytes(m['arch']).decode()
want = 'conv 8 5x5 stride 2 pad 2\nrelu\navgpool 2x2 stride 2\nconv 8 3x3 stride 1 pad 1\nrelu\nmaxpool 2x2 stride 2\nfc 7\n'
assert arch == want, repr(arch)
assert list(m['input_shape']) == [1, 48, 48], m['input_shape']
assert bytes(m['class_names']).decode().split() == ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral']
assert m['conv1.w'].shape == (8, 1, 5, 5) and m['fc1.w'].shape == (288, 7)
" "$TRAIN_TMP/strided/model.npz"
else
    echo "skip: numpy check of the checkpoint's arch (/usr/bin/python3 with numpy not found)"
fi
# a file description, and the same network given again with --init
printf '# a comment\nconv 8 5x5 stride 2 pad 2\n\nrelu\navgpool 2\nconv 8 3x3 pad 1, relu, maxpool 2\nfc 7\n' >"$TRAIN_TMP/strided.net"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --model "$TRAIN_TMP/strided.net" \
    --init "$TRAIN_TMP/strided/model.npz" --out "$TRAIN_TMP/strided_again"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --init "$TRAIN_TMP/strided/model.npz" --out "$TRAIN_TMP/mismatch"
expect_output "holds a different network from --arch"
expect 1 test -e "$TRAIN_TMP/mismatch/model.npz"
# mistakes in a description: exit 2, the item or line, what is wrong
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --arch "conv 8 3x3, rellu, fc 7" --out "$TRAIN_TMP/bad"
expect_output "--arch item 2: unknown layer 'rellu'"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --arch "conv 8 3x3 pad 1, relu, fc 5" --out "$TRAIN_TMP/bad"
expect_output "the last layer gives 5 scores per image, but the data has 7 classes (end with 'fc 7')"
printf 'conv 8 3x3\nmaxpool 2\nmaxpool 30\nfc 7\n' >"$TRAIN_TMP/too_big.net"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --model "$TRAIN_TMP/too_big.net" --out "$TRAIN_TMP/bad"
expect_output "too_big.net line 3: 'maxpool 30x30 stride 30': the 30x30 window is larger than the 23x23 map it meets"
expect 1 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --model "$TRAIN_TMP/no_such.net" --out "$TRAIN_TMP/bad"
expect_output "no_such.net: cannot open"
expect 2 "$EMOTION" train --model models/emotion.net --arch "fc 7"
expect_output "give --model or --arch, not both"
expect 2 "$EMOTION" train --conv1 8
expect_output "conv1 is gone"
expect 1 test -e "$TRAIN_TMP/bad/model.npz"
expect 0 "$EMOTION" bench --arch "$STRIDED" --repeats 1 --batch 4 --threads 1
expect_output "--arch, input 1x48x48, 7 classes, batch 4, 1 thread, median of 1 run$"
expect_output "conv1    (8, 24, 24)"
# bench has no data: its classes are --classes or the last layer's width, and
# the message says which (it used to say "the data has 7 classes")
expect 2 "$EMOTION" bench --arch "conv 7 3x3"
expect_output "emotion bench: --arch item 1: the last layer gives 14812 scores per image, not one per class: bench times a classifier, here of 7 classes (the last layer's width), so end with 'fc 7' (or give --classes K)"
expect 2 "$EMOTION" bench --arch "fc 7" --classes 5
expect_output "emotion bench: --arch item 1: the last layer gives 7 scores per image, but --classes is 5 (end with 'fc 5')"
expect 0 "$EMOTION" bench --arch "conv 7 48x48" --repeats 1 --batch 2 --threads 1 --no-gemm
expect_output "^--arch, input 1x48x48, 7 classes"
expect 0 "$EMOTION" bench --classes 5 --repeats 1 --batch 2 --threads 1 --no-gemm
expect_output "^emotion CNN, input 1x48x48, 5 classes"
expect 0 "$EMOTION" bench --arch "fc 1" --repeats 2 --batch 4 --no-gemm
expect_output "^--arch, input 1x48x48, 1 class, batch 4, [0-9]* threads\{0,1\}, median of 2 runs$"
# data export: dataset faces as image files, which predict reads back as the same pixels
expect 0 "$EMOTION" data export "$TRAIN_TMP/small.npz" --split val --index 4 "$TRAIN_TMP/face4.pgm"
expect_output "wrote $TRAIN_TMP/face4.pgm: val image 4, 1x48x48, label [0-6] ("
expect 0 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 0,2 "$TRAIN_TMP/faces"
expect_output "faces/test_0_[A-Za-z]*.pgm: test image 0"
expect_output "faces/test_2_[A-Za-z]*.pgm: test image 2"
expect 0 "$EMOTION" predict --model "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/face4.pgm"
if grep -q warning /tmp/cli_out.$$; then bad "predict warned about a 48x48 face"; else ok; fi
expect 1 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 50 "$TRAIN_TMP/x.pgm"
expect_output "the test split has 50 images (0 to 49), no image 50"
expect 2 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 1,x "$TRAIN_TMP/x.pgm"
expect_output "--index needs a whole number"
expect 2 "$EMOTION" data export "$TRAIN_TMP/small.npz" "$TRAIN_TMP/x.pgm"
expect_output "which images?"
expect 0 "$EMOTION" data export "$LOADER_FIXTURES/colour.npz" --split train --index 1 "$TRAIN_TMP/colour.ppm"
expect 0 sh -c "head -c 2 '$TRAIN_TMP/colour.ppm' | grep -q P6"
# the image must not replace the dataset it comes from; an index listed twice is a mistake
cp "$TRAIN_TMP/small.npz" "$TRAIN_TMP/export_self.npz"
expect 2 "$EMOTION" data export "$TRAIN_TMP/export_self.npz" --index 0 "$TRAIN_TMP/export_self.npz"
expect_output "export_self.npz is the dataset itself"
expect 0 cmp "$TRAIN_TMP/export_self.npz" "$TRAIN_TMP/small.npz"
# after '--', a file may start with '-'
cp "$TRAIN_TMP/small.npz" "$TRAIN_TMP/-dash.npz"
EMOTION_ABS=$(cd "$(dirname "$EMOTION")" && pwd)/$(basename "$EMOTION")
(cd "$TRAIN_TMP" && "$EMOTION_ABS" data info -- -dash.npz >out.txt 2>&1; echo $? >rc.txt)
expect 0 grep -qx 0 "$TRAIN_TMP/rc.txt"
expect 0 grep -q "^-dash.npz: 6 arrays" "$TRAIN_TMP/out.txt"
(cd "$TRAIN_TMP" && "$EMOTION_ABS" data export --index 0 -- -dash.npz -dash.pgm >out.txt 2>&1)
expect 0 test -s "$TRAIN_TMP/-dash.pgm"
# ... nor when several images go into a folder that holds it under one of their names
expect 0 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 0,1 "$TRAIN_TMP/export_dir"
FIRST_IMAGE=$(ls "$TRAIN_TMP/export_dir" | head -n 1)
cp "$TRAIN_TMP/small.npz" "$TRAIN_TMP/export_dir/$FIRST_IMAGE"
expect 1 "$EMOTION" data export "$TRAIN_TMP/export_dir/$FIRST_IMAGE" --index 0,1 "$TRAIN_TMP/export_dir"
expect_output "export_dir/$FIRST_IMAGE is the dataset itself; write the images somewhere else"
expect 0 cmp "$TRAIN_TMP/export_dir/$FIRST_IMAGE" "$TRAIN_TMP/small.npz"
expect 2 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 0,3,0 "$TRAIN_TMP/twice"
expect_output "--index lists 0 twice"
expect 1 test -e "$TRAIN_TMP/twice"
# after --, every argument is an image, even one whose name starts with '-'
cp "$TRAIN_TMP/face4.pgm" "$TRAIN_TMP/-face.pgm"
expect 0 sh -c "cd '$TRAIN_TMP' && '$EMOTION_ABS' predict --model run/model.npz -- -face.pgm"
expect_output "^-face.pgm: "
expect 2 sh -c "cd '$TRAIN_TMP' && '$EMOTION_ABS' predict --model run/model.npz -face.pgm"
expect_output "unknown option '-face.pgm'"
# predict warns about a picture far from the model's shape, or much larger (a montage)
printf 'P2\n200 40\n255\n' >"$TRAIN_TMP/wide.pgm"
i=0; while [ $i -lt 8000 ]; do echo 128; i=$((i + 1)); done >>"$TRAIN_TMP/wide.pgm"
expect 0 "$EMOTION" predict --model "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/wide.pgm"
expect_output "warning: .*wide.pgm is 200x40, far from the 48x48 shape"
expect_no_output "face"
printf 'P5\n500 500\n255\n' >"$TRAIN_TMP/big.pgm"
head -c 250000 /dev/zero >>"$TRAIN_TMP/big.pgm"
expect 0 "$EMOTION" predict --model "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/big.pgm"
expect_output "much larger than the model's 48x48"
expect_no_output "face"
# class names longer than 8 bytes: every probability in one column
expect 0 "$EMOTION" train --data tests/fixtures/loader/long_names.npz --arch "fc 2" --epochs 1 \
    --batch 2 --out "$TRAIN_TMP/long_names"
expect 0 "$EMOTION" predict --model "$TRAIN_TMP/long_names/model.npz" "$TRAIN_TMP/wide.pgm"
expect_output "^  [ >] a class name longer than eight bytes 0\.[0-9]\{4\}"
expect_output "^  [ >] b \{36\}0\.[0-9]\{4\}"

# --init from a run's own folder continues it: its rows stay, its best.npz stays unless beaten
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 3 --arch "$SMALL_ARCH" --out "$TRAIN_TMP/cont"
cp "$TRAIN_TMP/cont/best.npz" "$TRAIN_TMP/cont_best_before.npz"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --init "$TRAIN_TMP/cont/best.npz" \
    --lr 0.000001 --out "$TRAIN_TMP/cont"
expect_output "continuing the run in $TRAIN_TMP/cont: 3 earlier epochs in metrics.csv"
expect 0 grep -q "^1," "$TRAIN_TMP/cont/metrics.csv"
expect 0 grep -q "^5,.*,1e-06," "$TRAIN_TMP/cont/metrics.csv"
expect 0 cmp "$TRAIN_TMP/cont/best.npz" "$TRAIN_TMP/cont_best_before.npz"
printf 'epoch,something,else\n1,2,3\n' >"$TRAIN_TMP/cont/metrics.csv"
expect 1 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --init "$TRAIN_TMP/cont/best.npz" --out "$TRAIN_TMP/cont"
expect_output "not a metrics.csv this program wrote"

# an output that is an input is refused (by device and inode, not by name)
cp "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/keep.npz"
# an output replaces only a regular file: a FIFO, a folder or a symbolic link stays
mkfifo "$TRAIN_TMP/fifo"
expect 1 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --data "$TRAIN_TMP/small.npz" --probs "$TRAIN_TMP/fifo"
expect_output "fifo is a FIFO: an output replaces only a regular file; name a new file"
expect 0 test -p "$TRAIN_TMP/fifo"
ln -s "$TRAIN_TMP/keep.npz" "$TRAIN_TMP/keep_link.npz"
expect 1 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 0 "$TRAIN_TMP/keep_link.npz"
expect_output "keep_link.npz is a symbolic link: an output replaces only a regular file"
expect 0 test -L "$TRAIN_TMP/keep_link.npz"
mkdir "$TRAIN_TMP/a_folder.png"
expect 1 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --data "$TRAIN_TMP/small.npz" --chart "$TRAIN_TMP/a_folder.png"
expect_output "a_folder.* is a folder: an output replaces only a regular file"
expect 0 test -d "$TRAIN_TMP/a_folder.png"
expect 2 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --data "$TRAIN_TMP/small.npz" --probs "$TRAIN_TMP/keep.npz"
expect_output "--probs .*keep.npz is the model file: it would be replaced"
ln -f "$TRAIN_TMP/small.npz" "$TRAIN_TMP/small_link.npz"
expect 2 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --data "$TRAIN_TMP/small.npz" --probs "$TRAIN_TMP/small_link.npz"
expect_output "is the data file"
expect 2 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --data "$TRAIN_TMP/small.npz" --chart "$TRAIN_TMP/keep.npz"
expect 0 cmp "$TRAIN_TMP/keep.npz" "$TRAIN_TMP/run/model.npz"
# --chart c.png also writes c.dat, c_by_true_class.png and c_by_true_class.dat: none may be an input
cp "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/c_by_true_class.png"
expect 2 "$EMOTION" eval --model "$TRAIN_TMP/c_by_true_class.png" --data "$TRAIN_TMP/small.npz" --chart "$TRAIN_TMP/c.png"
expect_output "--chart .*c.png would also write .*c_by_true_class.png, which is the model file"
expect 0 cmp "$TRAIN_TMP/c_by_true_class.png" "$TRAIN_TMP/run/model.npz"
cp "$TRAIN_TMP/small.npz" "$TRAIN_TMP/c.dat"
expect 2 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --data "$TRAIN_TMP/c.dat" --chart "$TRAIN_TMP/c.png"
expect_output "would also write .*c.dat, which is the data file"
expect 0 cmp "$TRAIN_TMP/c.dat" "$TRAIN_TMP/small.npz"
# train writes model.npz, best.npz, resume.npz ... into --out: never over its --data
mkdir -p "$TRAIN_TMP/own_out"
cp "$TRAIN_TMP/small.npz" "$TRAIN_TMP/own_out/best.npz"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/own_out/best.npz" --epochs 1 --arch "$SMALL_ARCH" --out "$TRAIN_TMP/own_out"
expect_output "--data .*own_out/best.npz is the best.npz the run writes in"
expect 0 cmp "$TRAIN_TMP/own_out/best.npz" "$TRAIN_TMP/small.npz"
expect 1 test -e "$TRAIN_TMP/own_out/model.npz"

# a flag given twice is refused (the second would silently win), as is an option twice in a layer
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --epochs 2 --out "$TRAIN_TMP/bad"
expect_output "emotion train: --epochs given twice"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --no-flip --no-flip --out "$TRAIN_TMP/bad"
expect_output "--no-flip given twice"
expect 2 "$EMOTION" eval --model "$TRAIN_TMP/keep.npz" --model "$TRAIN_TMP/run/model.npz"
expect_output "emotion eval: --model given twice"
expect 2 "$EMOTION" predict --model "$TRAIN_TMP/keep.npz" --model "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/face4.pgm"
expect_output "emotion predict: --model given twice"
expect 2 "$EMOTION" bench --batch 2 --batch 3
expect_output "emotion bench: --batch given twice"
expect 2 "$EMOTION" data synth --train 5 --train 6 --out "$TRAIN_TMP/bad.npz"
expect_output "emotion data synth: --train given twice"
expect 2 "$EMOTION" data convert "$TRAIN_TMP/no.csv" --out a.npz --out b.npz
expect_output "emotion data convert: --out given twice"
expect 2 "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 0 --index 1 "$TRAIN_TMP/x.pgm"
expect_output "emotion data export: --index given twice"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --arch "conv 2 3x3 pad 1 pad 3, fc 7" --out "$TRAIN_TMP/bad"
expect_output "--arch item 1: 'pad' given twice"
expect 2 "$EMOTION" bench --arch "conv 2 3x3 nobias stride 1 nobias, fc 7"
expect_output "'nobias' given twice"
expect 1 test -e "$TRAIN_TMP/bad/model.npz"
# on one line, a comment that would hide the items after it is refused; a byte order mark is skipped
expect 2 "$EMOTION" bench --arch "conv 2 3x3 # note, fc 7"
expect_output "'#' starts a comment that runs to the end of the line, so it would hide the items after it ('fc 7')"
expect 0 "$EMOTION" bench --arch "conv 2 3x3, relu, fc 7 # the scores" --repeats 1 --batch 2 --threads 1
printf '\357\273\277conv 2 3x3\nrelu\nfc 7\n' >"$TRAIN_TMP/bom.net"
expect 0 "$EMOTION" bench --model "$TRAIN_TMP/bom.net" --repeats 1 --batch 2 --threads 1
expect_output "conv1"

# weights that overflow float: no figures from NaN scores (conv1.w's last 18 floats set to
# 3e38: the first layer's sums overflow to inf, and the scores are NaN)
if python3 -c 'import zipfile' 2>/dev/null; then
    python3 tests/fixtures/patch_npz_member.py "$TRAIN_TMP/run/model.npz" "$TRAIN_TMP/overflow.npz" \
        conv1.w.npy "<18f" 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38 3e38
    expect 1 "$EMOTION" eval --model "$TRAIN_TMP/overflow.npz" --data "$TRAIN_TMP/small.npz"
    expect_output "scores for image 0 of the test split are not finite numbers"
    expect_no_output "accuracy"
    # the same image (test image 0) through predict
    "$EMOTION" data export "$TRAIN_TMP/small.npz" --index 0 "$TRAIN_TMP/test0.pgm" >/dev/null
    expect 1 "$EMOTION" predict --model "$TRAIN_TMP/overflow.npz" "$TRAIN_TMP/test0.pgm"
    expect_output "scores for .*test0.pgm are not finite numbers"
    expect_no_output "nan"
else
    ok; ok; ok; ok; ok; ok
fi

# sizes the machine cannot hold are refused before anything is allocated
expect 2 "$EMOTION" bench --threads 100000
expect_output "--threads needs a whole number from 1 to"
expect 2 "$EMOTION" bench --threads 20000
expect 2 "$EMOTION" bench --batch 100000 --threads 1
expect_output "at batch 100000 this network needs about .* GB, more than half of this machine's"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --batch 65536 --out "$TRAIN_TMP/huge"
expect_output "at batch 65536 this network needs about"
expect 1 test -e "$TRAIN_TMP/huge/model.npz"
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --arch "conv 4096 3x3 pad 1, conv 4096 3x3 pad 1, fc 65536, fc 7" --out "$TRAIN_TMP/huge"
expect_output "more than the 100000000 a network may hold"
# the limits are checked before anything is allocated: an output of 604 MB per image (39 GB
# at batch 64) or a network whose layers add up past the limit is refused at once, with
# little memory used
expect 2 "$EMOTION" bench --arch "conv 65536 3x3 pad 1, fc 7"
expect_output "item 1: the layer's output holds 150994944 values per image, more than 16777216"
expect 2 "$EMOTION" bench --arch "fc 7000, fc 7000, fc 7000, fc 7"
expect_output "item 3: 'fc 7000' meets 7000 values: 49000000 weights, and the network 114142000 in all, more than"
expect 2 "$EMOTION" bench --input 3x1024x1024 --arch "conv 16 1x1, maxpool 1, maxpool 1, maxpool 1, maxpool 1, maxpool 1, fc 2"
expect_output "item 5: the layers' outputs so far hold 83886080 values per image, more than 67108864"
expect 2 "$EMOTION" train --threads 100000
# padding a window cannot use is refused while the description is read, naming its item or
# line ('conv 1 1x1 pad 1024' made 48x48 faces 2096x2096 and took 28 s for 64 of them)
expect 2 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --arch "conv 1 1x1 pad 1024, fc 7" \
    --epochs 1 --out "$TRAIN_TMP/padded"
expect_output "emotion train: --arch item 1: 'pad 1024' is more than a 1x1 kernel can use: at most 0, its size less one"
expect 1 test -e "$TRAIN_TMP/padded/model.npz"
printf 'conv 4 3x3 pad 1\nrelu\nmaxpool 2 pad 2\nfc 7\n' >"$TRAIN_TMP/padded.net"
expect 2 "$EMOTION" bench --model "$TRAIN_TMP/padded.net"
expect_output "padded.net line 3: 'pad 2' is more than half the 2x2 window: at most 1, as in PyTorch"
expect 2 "$GRADCHECK" net --arch "conv 2 1x7 pad 3, fc 3" --input 1x8x8
expect_output "gradcheck: --arch item 1: 'pad 3' is more than a 1x7 kernel can use: at most 0, its smaller side less one"
# a forward pass past 1e11 operations per image is refused at once, naming the layer: this
# stride-1 max-pool (1e12 comparisons per image) ran for hours
expect 2 timeout 60 "$EMOTION" bench --arch "maxpool 1024 stride 1 pad 512, fc 7" --input 1x1024x1024
expect_output "emotion bench: --arch item 1: 'maxpool 1024x1024 stride 1 pad 512' computes 1.1e+12 floating-point operations per image, more than the 1e+11 a network may compute"
# a network too large at any batch says so, and what takes the memory, rather than
# suggesting a smaller batch: here a 512x512 kernel at stride 2 unrolls each image into
# 2e10 numbers
expect 2 "$EMOTION" bench --arch "conv 1 512x512 stride 2 pad 511, fc 7"
expect_output "emotion bench: this network needs about .* GB even at batch 1, more than half of this machine's .* GB: .* GB of it is conv1's work space (the image unrolled for its 512x512 kernel, a copy for each of .* cores); use a smaller kernel"
expect_no_output "smaller batch"

# optimizers, schedules, batchnorm and dropout; an interrupted run resumed is the same run
BN_ARCH="conv 8 3x3 pad 1 nobias, batchnorm, relu, maxpool 2, fc 16, batchnorm, relu, dropout 0.3, fc 7"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 4 --optimizer adam --schedule plateau \
    --plateau-patience 0 --warmup 1 --arch "$BN_ARCH" --out "$TRAIN_TMP/whole"
expect_output "optimizer: adam, lr 0.001, beta1 0.9, beta2 0.999, eps 1e-08, weight decay 0.0005; schedule plateau (factor 0.5, patience 0) after 1 warm-up epoch"
expect_output "bn1      (8, 48, 48)                  16"
expect_output "drop1    (16,)"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 4 --optimizer adam --schedule plateau \
    --plateau-patience 0 --warmup 1 --arch "$BN_ARCH" --out "$TRAIN_TMP/halves" --stop-after 2
expect 1 grep -q "^3," "$TRAIN_TMP/halves/metrics.csv"
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/halves" --threads 1
expect_output "resuming $TRAIN_TMP/halves after epoch 2 of 4"
expect 0 cmp "$TRAIN_TMP/whole/model.npz" "$TRAIN_TMP/halves/model.npz"
expect 0 cmp "$TRAIN_TMP/whole/best.npz" "$TRAIN_TMP/halves/best.npz"
# a checkpoint whose batchnorm variance is negative (its last two entries -1) is refused as it loads
if python3 -c 'import zipfile' 2>/dev/null; then
    python3 tests/fixtures/patch_npz_member.py "$TRAIN_TMP/whole/model.npz" "$TRAIN_TMP/negative_var.npz" \
        bn1.running_var.npy "<2f" -1 -1
    expect 1 "$EMOTION" eval --model "$TRAIN_TMP/negative_var.npz" --data "$TRAIN_TMP/small.npz"
    expect_output "array 'bn1.running_var' holds -1 at index 6: a variance cannot be negative"
else
    ok; ok
fi
# a resume file whose values or optimizer state were tampered with is refused, naming them
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 3 --arch "$SMALL_ARCH" \
    --schedule plateau --out "$TRAIN_TMP/tamper" --stop-after 1
if python3 -c 'import zipfile' 2>/dev/null; then
    cp -r "$TRAIN_TMP/tamper" "$TRAIN_TMP/tamper_lr"
    python3 tests/fixtures/patch_npz_member.py "$TRAIN_TMP/tamper/resume.npz" \
        "$TRAIN_TMP/tamper_lr/resume.npz" resume.values.npy "<3d" 0.3 -5 0.3
    expect 1 "$EMOTION" train --resume "$TRAIN_TMP/tamper_lr"
    expect_output "its values (best accuracy 0.3, plateau rate -5 and best 0.3) make no sense"
    cp -r "$TRAIN_TMP/tamper" "$TRAIN_TMP/tamper_nan"
    python3 tests/fixtures/patch_npz_member.py "$TRAIN_TMP/tamper/resume.npz" \
        "$TRAIN_TMP/tamper_nan/resume.npz" resume.velocity.fc2.b.npy "<f" nan
    expect 1 "$EMOTION" train --resume "$TRAIN_TMP/tamper_nan"
    expect_output "'resume.velocity.fc2.b'\\[6\\] is nan, not a finite number"
else
    ok; ok; ok; ok
fi
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/tamper"
expect 0 grep -q "^4," "$TRAIN_TMP/halves/metrics.csv"
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/halves"
expect_output "nothing to resume: all 4 epochs"
expect 2 "$EMOTION" train --resume "$TRAIN_TMP/halves" --epochs 9
expect_output "only --threads, --stop-after and --data (the run's data, moved) may be given with it (not '--epochs')"
expect 1 "$EMOTION" train --resume "$TRAIN_TMP/no_such_run"
expect_output "no_such_run/resume.npz: cannot open"
expect 0 "$EMOTION" eval --model "$TRAIN_TMP/halves/best.npz" --data "$TRAIN_TMP/small.npz" --split val
for opt in sgd nesterov rmsprop adamw; do
    expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --optimizer $opt --arch "$SMALL_ARCH" --out "$TRAIN_TMP/opt_$opt"
    expect_output "optimizer: $opt, lr"
done
expect 2 "$EMOTION" train --optimizer adam --momentum 0.5
expect_output "--momentum does not apply to --optimizer adam"
expect 2 "$EMOTION" train --optimizer sgd --beta1 0.5
expect_output "--beta1 does not apply to --optimizer sgd"
expect 2 "$EMOTION" train --optimizer lion
expect_output "--optimizer is sgd, nesterov, rmsprop, adam or adamw, not 'lion'"
expect 2 "$EMOTION" train --warmup 10 --epochs 10
expect_output "leaves no epoch of the schedule"
expect 2 "$EMOTION" train --arch "conv 8 3x3, dropout 1, fc 7"
expect_output "'dropout' needs a probability from 0 up to (not including) 1, not '1'"
# a network that starts with a crop: trained on random 40x40 windows, evaluated and
# asked to predict on the central one, the checkpoint carrying the layer; resumed the same
CROP_ARCH="crop 40, conv 4 3x3 pad 1, relu, maxpool 2, fc 16, relu, dropout 0.3, fc 7"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --arch "$CROP_ARCH" --out "$TRAIN_TMP/crop"
expect_output "crop1    (1, 40, 40)                            0.000"
expect_output "pool1    (4, 20, 20)"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --arch "$CROP_ARCH" \
    --out "$TRAIN_TMP/crop_halves" --stop-after 1
expect_output "^stopped after epoch 1 of 2, as --stop-after 1 asked; continue with: emotion train --resume $TRAIN_TMP/crop_halves\$"
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/crop_halves"
expect_no_output "^stopped after"
expect 0 cmp "$TRAIN_TMP/crop/model.npz" "$TRAIN_TMP/crop_halves/model.npz"
expect 0 "$EMOTION" eval --model "$TRAIN_TMP/crop/model.npz" --data "$TRAIN_TMP/small.npz" --split val
expect_output "^accuracy "
expect 0 "$EMOTION" predict --model "$TRAIN_TMP/crop/model.npz" tests/fixtures/checkpoints/face.pgm
# --time-budget: the count of epochs is fixed once the warm-up epoch and the schedule's
# first have been timed. A budget every epoch fits in gives the run --epochs gives, byte
# for byte; a budget spent by then ends the run there (the decision falling in a resumed
# start), the run of --epochs 2. Either way the resume file then holds the count.
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 3 --schedule cosine --warmup 1 \
    --arch "$BN_ARCH" --out "$TRAIN_TMP/cosine3"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 3 --schedule cosine --warmup 1 \
    --arch "$BN_ARCH" --time-budget 100000 --out "$TRAIN_TMP/budget_all"
expect_output "^as many epochs as fit in 100000 minutes, at most 3 (counted after epoch 2), batch 64"
expect_output "^time budget: 3 epochs in all (.* of 100000 minutes spent, .* s per epoch; planned at .* s, 5% to spare): the most --epochs allows$"
expect 0 cmp "$TRAIN_TMP/cosine3/model.npz" "$TRAIN_TMP/budget_all/model.npz"
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/budget_all"
expect_output "nothing to resume: all 3 epochs"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 2 --schedule cosine --warmup 1 \
    --arch "$BN_ARCH" --out "$TRAIN_TMP/cosine2"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 30 --schedule cosine --warmup 1 \
    --arch "$BN_ARCH" --time-budget 0.000001 --out "$TRAIN_TMP/budget_spent" --stop-after 1
expect_output "^as many epochs as fit in 1e-06 minutes, at most 30 (counted after epoch 2)"
expect_no_output "^time budget:"
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/budget_spent"
expect_output "^epoch  2/30 "
expect_output "^time budget: 2 epochs in all ("
expect_no_output "^epoch  3/"
expect 0 cmp "$TRAIN_TMP/cosine2/model.npz" "$TRAIN_TMP/budget_spent/model.npz"
expect 0 "$EMOTION" train --resume "$TRAIN_TMP/budget_spent"
expect_output "nothing to resume: all 2 epochs"
# The count fixed, the machine may still slow down: here the run is paused for 10 s (as a
# busy host would hold it) as soon as the count is printed. No epoch is begun that would
# end after the budget (15 s); the run stops with its files written, exit 0, and says so.
"$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 5000 --arch "$BN_ARCH" --threads 1 \
    --time-budget 0.25 --out "$TRAIN_TMP/budget_slowed" >"$TRAIN_TMP/slowed.log" 2>&1 &
slowed_pid=$!
waited=0
while [ $waited -lt 1200 ] && ! grep -q "^time budget: " "$TRAIN_TMP/slowed.log" 2>/dev/null; do
    sleep 0.05; waited=$((waited + 1))
done
kill -STOP $slowed_pid
sleep 10
kill -CONT $slowed_pid
wait $slowed_pid
slowed_status=$?
if [ $waited -lt 1200 ] && [ $slowed_status = 0 ]; then ok; else
    bad "the slowed budget run: waited $waited, status $slowed_status"; fi
cp "$TRAIN_TMP/slowed.log" /tmp/cli_out.$$
expect_output "^time budget: [0-9]* epochs in all"
expect_output "^time budget: stopped after epoch [0-9]* of [0-9]*: the last took [0-9.]* s, and another would end [0-9.]* min after the budget runs out (the machine slowed after the count was fixed); best.npz is the run's result; the rest: emotion train --resume $TRAIN_TMP/budget_slowed$"
done_epochs=$(sed -n 's/^time budget: stopped after epoch \([0-9]*\) .*/\1/p' /tmp/cli_out.$$)
planned=$(sed -n 's/^time budget: \([0-9]*\) epochs in all.*/\1/p' /tmp/cli_out.$$)
if [ -n "$done_epochs" ] && [ "$done_epochs" -lt "$planned" ] &&
   [ "$(($(wc -l <"$TRAIN_TMP/budget_slowed/metrics.csv") - 1))" = "$done_epochs" ]; then ok; else
    bad "the slowed budget run: $done_epochs of $planned epochs, metrics.csv disagrees"; fi
expect 0 test -s "$TRAIN_TMP/budget_slowed/best.npz"
expect 2 "$EMOTION" train --time-budget 0
expect_output "--time-budget needs a number from 0 (excluded) to 1e+06, not '0'"
expect 2 "$EMOTION" train --time-budget -5
expect_output "--time-budget needs a number from 0 (excluded) to 1e+06, not '-5'"
expect 2 "$EMOTION" train --schedule plateau --plateau-factor 0
expect_output "--plateau-factor needs a number from 0 (excluded) to 1 (excluded), not '0'"
expect 2 "$EMOTION" train --schedule plateau --plateau-factor 1
expect_output "--plateau-factor needs a number from 0 (excluded) to 1 (excluded), not '1'"
expect 2 "$EMOTION" train --time-budget nan
expect_output "not 'nan'"
expect 2 "$EMOTION" train --resume "$TRAIN_TMP/budget_spent" --time-budget 5
expect_output "only --threads, --stop-after and --data (the run's data, moved) may be given with it (not '--time-budget')"
expect 2 "$EMOTION" train --arch "crop 40x, fc 7"
expect_output "'crop' needs a window size K or KHxKW (whole numbers from 1 to 1024), not '40x'"
expect 2 "$EMOTION" bench --arch "crop 50, fc 7"
expect_output "'crop 50x50': the 50x50 window is larger than the 48x48 map it meets"
expect 2 "$EMOTION" bench --arch "conv 8 3x3, rellu"
expect_output "unknown layer 'rellu'"
expect 0 "$EMOTION" bench --model models/avgpool_head.net --repeats 1 --batch 2 --threads 1
expect_output "total                              93575"

# augmentation recipes and class weights: accepted, echoed, refused when out of range
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --shift 4 --rotate 10 --scale 0.1 --erase 0.5 --class-weights balanced --out "$TRAIN_TMP/recipe"
expect_output "augment: flip, shift up to 4 px, rotate up to 10 degrees, scale 0.9 to 1.1, erase a rectangle with probability 0.5"
expect_output "class weights (balanced): Angry "
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --label-smoothing 0.1 --out "$TRAIN_TMP/recipe"
expect_output "label smoothing 0.1"
expect 2 "$EMOTION" train --label-smoothing 1
expect_output "--label-smoothing needs a number from 0 to 1 (excluded), not '1'"
expect 2 "$EMOTION" train --label-smoothing -0.1
expect 2 "$EMOTION" train --label-smoothing nan
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --no-flip --shift 0 --out "$TRAIN_TMP/recipe"
expect_output "augment: none (no flip, no shift: the images as they are)"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --shift 0 --rotate 5 --out "$TRAIN_TMP/recipe"
expect_output "augment: flip, rotate up to 5 degrees$"
expect 0 "$EMOTION" train --data "$TRAIN_TMP/small.npz" --epochs 1 --arch "$SMALL_ARCH" \
    --no-augment --rotate 10 --out "$TRAIN_TMP/recipe"
expect_output "augment: off"
expect 2 "$EMOTION" train --rotate 90
expect_output "rotate"
expect 2 "$EMOTION" train --scale 0.8
expect_output "scale"
expect 2 "$EMOTION" train --erase 1.5
expect_output "erase"
expect 2 "$EMOTION" train --erase nan
expect 2 "$EMOTION" train --shift -1
expect 2 "$EMOTION" train --class-weights inverse
expect_output "--class-weights is none, balanced or sqrt, not 'inverse'"

# make fer2013's script on a tiny FER2013-style CSV (7 train, 2 val, 2 test faces):
# converts, trains the recommended network, evaluates val and test; a second run
# neither converts nor trains again
FER_OUT="$TRAIN_TMP/fer 2013"
expect 0 env FER2013_FILE=tests/fixtures/csv/standard.csv FER2013_DIR="$FER_OUT" \
    FER2013_RECIPE="--epochs 1 --batch 4 --rotate 10 --erase 0.5" EMOTION_BIN="$EMOTION" sh scripts/fer2013.sh
expect_output "converting tests/fixtures/csv/standard.csv"
expect_output "training models/fer2013.net"
expect_output "best.npz on the test split, with test-time augmentation"
expect_output "tta    flip: probabilities averaged over 2 views"
expect_output "make fer2013 took [0-9]* min [0-9]* s (this invocation); results in $FER_OUT"
for f in fer2013.npz best.npz model.npz metrics.csv; do expect 0 test -s "$FER_OUT/$f"; done
if command -v gnuplot >/dev/null 2>&1; then expect 0 test -s "$FER_OUT/confusion.png"; fi
expect 0 env FER2013_FILE=tests/fixtures/csv/standard.csv FER2013_DIR="$FER_OUT" \
    FER2013_RECIPE="--epochs 1" EMOTION_BIN="$EMOTION" sh scripts/fer2013.sh
expect_output "not converting again"
expect_output "nothing to resume: all 1 epochs"
# ---- the build: objects made with other flags (make OPT=..., a kernel tried) are
# compiled again, not linked beside the new ones; the same flags leave them be
BUILD_TMP=$(mktemp -d /tmp/workbench_build.XXXXXX)
expect 0 make -s --no-print-directory BUILD="$BUILD_TMP" "$BUILD_TMP/float/base/rng.o"
expect 0 make -q --no-print-directory BUILD="$BUILD_TMP" "$BUILD_TMP/float/base/rng.o"
expect 1 make -q --no-print-directory BUILD="$BUILD_TMP" OPT="-O1 -DWORKBENCH_FLAGS_TEST" \
    "$BUILD_TMP/float/base/rng.o"
expect 0 make -s --no-print-directory BUILD="$BUILD_TMP" OPT="-O1 -DWORKBENCH_FLAGS_TEST" \
    "$BUILD_TMP/float/base/rng.o"
expect 0 grep -q -- "-DWORKBENCH_FLAGS_TEST" "$BUILD_TMP/flags"
rm -rf "$BUILD_TMP"
# the Makefile's own recipe, as it is: one epoch of it on the tiny set (the time budget
# it sets is counted after the second)
FER_RECIPE=$(make -s --no-print-directory --eval='print-recipe: ; @echo $(FER2013_RECIPE)' print-recipe)
# shellcheck disable=SC2086
expect 0 "$EMOTION" train --model models/fer2013.net --data "$FER_OUT/fer2013.npz" $FER_RECIPE \
    --stop-after 1 --out "$TRAIN_TMP/fer_recipe"
expect_output "^as many epochs as fit in "
expect_output "^epoch  1/"
expect 1 env FER2013_FILE="$TRAIN_TMP/no such.csv" FER2013_RECIPE="--epochs 1" EMOTION_BIN="$EMOTION" sh scripts/fer2013.sh
expect_output "no such.csv: no such file. Bring your own FER2013"
expect 2 env FER2013_FILE= FER2013_RECIPE="--epochs 1" sh scripts/fer2013.sh
expect_output "usage: make fer2013 FER2013="
# an .npz without a test split is evaluated on val only
expect 0 "$EMOTION" data synth --train 40 --val 10 --test 0 --out "$TRAIN_TMP/no_test.npz"
expect 0 env FER2013_FILE="$TRAIN_TMP/no_test.npz" FER2013_DIR="$TRAIN_TMP/fer_no_test" \
    FER2013_RECIPE="--epochs 1" EMOTION_BIN="$EMOTION" sh scripts/fer2013.sh
expect_output "has no test split (x_test): evaluated on validation only"
expect_output "make fer2013 took [0-9]* min [0-9]* s (this invocation); results in $TRAIN_TMP/fer_no_test"

rm -rf "$TRAIN_TMP"
