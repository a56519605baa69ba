# Command-line cases for emotion eval, predict and data export: outputs that collide,
# checkpoints' class names, hostile text (sourced by tests/cli.sh after cli_cases.sh:
# expect, expect_output and expect_no_output are defined there).
EV_CKPT=tests/fixtures/checkpoints
EV_TMP=$(mktemp -d /tmp/workbench_cli_evalcases.XXXXXX)
EV_MODEL=$EV_CKPT/good.npz
EV_DATA=$EV_CKPT/tiny_dataset.npz
case "$EMOTION" in /*) EV_EMOTION_ABS=$EMOTION ;; *) EV_EMOTION_ABS=$(pwd)/$EMOTION ;; esac
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    EV_NUMPY=/usr/bin/python3
else
    EV_NUMPY=
    echo "skip: eval cases that write .npz files with numpy (/usr/bin/python3 with numpy not found)"
fi

# ---- eval: every file --chart writes is said, and none may be another output or an input
expect 0 "$EMOTION" eval --help
expect_output "c.png and c.dat (its"
expect_output "c_by_true_class.png and c_by_true_class.dat"
# --probs onto the chart's data file, or onto the chart itself: refused before any work
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/q.png" --probs "$EV_TMP/q.dat"
expect_output "emotion eval: --probs $EV_TMP/q.dat and the data file of --chart $EV_TMP/q.png ($EV_TMP/q.dat) are the same file: one output would replace the other"
expect_no_output "split test"
expect 1 test -e "$EV_TMP/q.dat"
expect 1 test -e "$EV_TMP/q.png"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/m.png" --probs "$EV_TMP/m.png"
expect_output "emotion eval: --probs $EV_TMP/m.png and --chart $EV_TMP/m.png are the same file"
expect 1 test -e "$EV_TMP/m.png"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/m.png" \
    --probs "$EV_TMP/m_by_true_class.dat"
expect_output "--probs $EV_TMP/m_by_true_class.dat and the by-true-class chart's data file of --chart $EV_TMP/m.png"
# the same file under another name: through '..', '.', or a link to the folder
mkdir "$EV_TMP/sub"
ln -s "$EV_TMP" "$EV_TMP/link"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/sub/../c.png" \
    --probs "$EV_TMP/./c_by_true_class.png"
expect_output "are the same file"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/c.png" \
    --probs "$EV_TMP/link/c.png"
expect_output "--probs $EV_TMP/link/c.png and --chart $EV_TMP/c.png are the same file"
expect 1 test -e "$EV_TMP/c.png"
# an output that is an input names both flags
cp "$EV_MODEL" "$EV_TMP/model.npz"
expect 2 "$EMOTION" eval --model "$EV_TMP/model.npz" --data "$EV_DATA" --probs "$EV_TMP/link/model.npz"
expect_output "--probs $EV_TMP/link/model.npz is the model file: it would be replaced (--model $EV_TMP/model.npz)"
expect 0 cmp "$EV_TMP/model.npz" "$EV_MODEL"
# an output that cannot be written is found before the figures are printed
expect 1 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --probs "$EV_TMP/no_such_folder/p.npz"
expect_output "emotion eval: --probs $EV_TMP/no_such_folder/p.npz: $EV_TMP/no_such_folder does not exist"
expect_no_output "split test"
# a run lists every file it wrote; without gnuplot both charts' numbers are still written
expect 0 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/c.png" --probs "$EV_TMP/p.npz"
if command -v gnuplot >/dev/null 2>&1; then
    expect_output "wrote $EV_TMP/c.png and $EV_TMP/c_by_true_class.png, with their numbers in $EV_TMP/c.dat and $EV_TMP/c_by_true_class.dat"
else
    expect_output "wrote $EV_TMP/c.dat and $EV_TMP/c_by_true_class.dat"
fi
expect_output "wrote $EV_TMP/p.npz"
expect 0 env PATH=/nonexistent "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart "$EV_TMP/n.png"
expect_output "wrote $EV_TMP/n.dat and $EV_TMP/n_by_true_class.dat, the charts' numbers (no PNGs without gnuplot)"
expect 0 test -s "$EV_TMP/n.dat"
expect 0 test -s "$EV_TMP/n_by_true_class.dat"
expect 1 test -e "$EV_TMP/n.png"

# ---- an empty path is refused when the arguments are read, naming the flag
expect 2 "$EMOTION" eval --model ""
expect_output "emotion eval: --model needs a path, not an empty string"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data ""
expect_output "emotion eval: --data needs a path, not an empty string"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --probs ""
expect_output "emotion eval: --probs needs a path, not an empty string"
expect_no_output "split test"
expect 2 "$EMOTION" eval --model "$EV_MODEL" --data "$EV_DATA" --chart ""
expect_output "emotion eval: --chart needs a path, not an empty string"
expect 2 "$EMOTION" predict --model "" "$EV_CKPT/face.pgm"
expect_output "emotion predict: --model needs a path, not an empty string"
expect 2 "$EMOTION" predict --model "$EV_MODEL" "$EV_CKPT/face.pgm" ""
expect_output "emotion predict: an image needs a path, not an empty string"
expect_no_output "face.pgm: Sad"
expect 2 sh -c "cd '$EV_TMP' && '$EV_EMOTION_ABS' data synth --train 10 --val 0 --test 0 --out ''"
expect_output "emotion data synth: --out needs a path, not an empty string"
expect 0 sh -c "ls -A '$EV_TMP' | grep -c tmp | grep -qx 0"
expect 2 "$EMOTION" data convert tests/fixtures/csv/standard.csv --out ""
expect_output "emotion data convert: --out needs a path, not an empty string"
expect 2 "$EMOTION" data convert ""
expect_output "emotion data convert: the CSV file needs a path, not an empty string"
expect 2 "$EMOTION" data info ""
expect_output "emotion data info: the file needs a path, not an empty string"
expect 2 "$EMOTION" data export "" --index 0 "$EV_TMP/x.pgm"
expect_output "emotion data export: the dataset needs a path, not an empty string"
expect 2 "$EMOTION" data export "$EV_DATA" --index 0 ""
expect_output "emotion data export: the output needs a path, not an empty string"

# ---- a resume file is not a model: said so, pointing at the run's model.npz and best.npz
expect 0 "$EMOTION" data synth --train 40 --val 10 --test 10 --out "$EV_TMP/small.npz"
expect 0 "$EMOTION" train --data "$EV_TMP/small.npz" --epochs 1 --arch "fc 16, relu, fc 7" \
    --threads 1 --out "$EV_TMP/run"
expect 1 "$EMOTION" predict --model "$EV_TMP/run/resume.npz" "$EV_CKPT/face.pgm"
expect_output "$EV_TMP/run/resume.npz is a training run's resume file"
expect_output "give the run's model.npz or best.npz"
expect_no_output "is not a parameter"
expect 1 "$EMOTION" eval --model "$EV_TMP/run/resume.npz" --data "$EV_TMP/small.npz"
expect_output "resume file: besides the network it holds the run's state"

# ---- data export writes PGM/PPM images, and replaces nothing else
cp "$EV_MODEL" "$EV_TMP/m.npz"
expect 1 "$EMOTION" data export "$EV_TMP/small.npz" --index 0 "$EV_TMP/m.npz"
expect_output "m.npz: the image is written as a PGM image (P5), not what a name ending in '.npz' holds; name it .pgm"
expect 0 cmp "$EV_TMP/m.npz" "$EV_MODEL"
expect 1 "$EMOTION" data export "$EV_TMP/small.npz" --index 0 "$EV_TMP/new.csv"
expect 1 test -e "$EV_TMP/new.csv"
cp "$EV_MODEL" "$EV_TMP/no_extension"
expect 1 "$EMOTION" data export "$EV_TMP/small.npz" --index 0 "$EV_TMP/no_extension"
expect_output "no_extension exists and is not a PGM or PPM image, which is all an export replaces"
expect 0 cmp "$EV_TMP/no_extension" "$EV_MODEL"
expect 0 "$EMOTION" data export "$EV_TMP/small.npz" --index 0 "$EV_TMP/face"
expect 0 "$EMOTION" data export "$EV_TMP/small.npz" --index 1 "$EV_TMP/face"
expect 0 "$EMOTION" data export "$EV_TMP/small.npz" --index 1 "$EV_TMP/face.PGM"
expect 1 "$EMOTION" data export tests/fixtures/loader/colour.npz --split train --index 0 "$EV_TMP/colour.pgm"
expect_output "colour.pgm: the image is written as a PPM image (P6), not what a name ending in '.pgm' holds; name it .ppm"
expect 0 "$EMOTION" data export tests/fixtures/loader/colour.npz --split train --index 0 "$EV_TMP/colour.pnm"
# into a folder: every name is checked before the first image is written
mkdir "$EV_TMP/faces"
expect 0 "$EMOTION" data export "$EV_TMP/small.npz" --index 0,1 "$EV_TMP/faces"
EV_SECOND=$(ls "$EV_TMP/faces" | sed -n 2p)
cp "$EV_MODEL" "$EV_TMP/faces/$EV_SECOND"
rm "$EV_TMP/faces/$(ls "$EV_TMP/faces" | sed -n 1p)"
expect 1 "$EMOTION" data export "$EV_TMP/small.npz" --index 0,1 "$EV_TMP/faces"
expect_output "faces/$EV_SECOND exists and is not a PGM or PPM image"
expect 0 cmp "$EV_TMP/faces/$EV_SECOND" "$EV_MODEL"
expect 0 sh -c "ls '$EV_TMP/faces' | wc -l | grep -qx 1"

# ---- a checkpoint's weights are float32 or float64: integers and bools are refused, not
# converted, by everything that loads one (tests/fixtures/checkpoints/make_dtype_checkpoints.py)
expect 1 "$EMOTION" eval --model "$EV_CKPT/int8_conv1_w.npz" --data "$EV_DATA"
expect_output "^emotion eval: $EV_CKPT/int8_conv1_w.npz: array 'conv1.w' is int8, but a checkpoint's weights must be float32 or float64$"
expect_no_output "accuracy"
expect 1 "$EMOTION" predict --model "$EV_CKPT/bool_fc2_b.npz" "$EV_CKPT/face.pgm"
expect_output "^emotion predict: $EV_CKPT/bool_fc2_b.npz: array 'fc2.b' is bool, but a checkpoint's weights must be float32 or float64$"
expect_no_output "face.pgm: "
expect 1 "$EMOTION" train --init "$EV_CKPT/int32_bn1_running_var.npz" --data "$EV_TMP/small.npz" \
    --epochs 1 --threads 1 --out "$EV_TMP/int_run"
expect_output "^emotion train: $EV_CKPT/int32_bn1_running_var.npz: array 'bn1.running_var' is int32, but a checkpoint's weights must be float32 or float64$"
expect 1 test -e "$EV_TMP/int_run/model.npz"

# ---- an image file holds one image: a second one after it, or stray bytes, are refused
cat "$EV_CKPT/face.pgm" "$EV_CKPT/face.pgm" >"$EV_TMP/two_faces.pgm"
expect 1 "$EMOTION" predict --model "$EV_MODEL" "$EV_TMP/two_faces.pgm" "$EV_CKPT/face.pgm"
expect_output "^emotion predict: $EV_TMP/two_faces.pgm: 2347 bytes after the 48x48 image (a second image, or a damaged file)$"
expect_output "^$EV_CKPT/face.pgm: Sad"
expect_output "1 of 2 images could not be read"
# a binary raster's end is exact: not even a newline may follow it
{ cat "$EV_CKPT/face.pgm"; echo; } >"$EV_TMP/newline.pgm"
expect 1 "$EMOTION" predict --model "$EV_MODEL" "$EV_TMP/newline.pgm"
expect_output "newline.pgm: 1 byte after the 48x48 image"
# a text image may end in blank lines and comments, but not in more numbers
{ cat "$EV_CKPT/face_ascii.ppm"; printf '\n# the end\n\n'; } >"$EV_TMP/comment.ppm"
expect 0 "$EMOTION" predict --model "$EV_MODEL" "$EV_TMP/comment.ppm"
expect_output "comment.ppm: Sad"
{ cat "$EV_CKPT/face_ascii.ppm"; echo 7; } >"$EV_TMP/more.ppm"
expect 1 "$EMOTION" predict --model "$EV_MODEL" "$EV_TMP/more.ppm"
expect_output "more.ppm: 3 bytes after the 48x48 image"

# ---- descriptions: old Mac line ends; invisible characters and look-alike spaces named
printf 'conv 2 3x3\rrelu\rfc 7\r' >"$EV_TMP/cr.net"
expect 0 "$EMOTION" bench --model "$EV_TMP/cr.net" --repeats 1 --batch 2 --threads 1
expect_output "conv1 "
printf 'conv 2 3x3\nrelu # \342\200\256 7 cf\nfc 7\n' >"$EV_TMP/rlo.net"
expect 2 "$EMOTION" bench --model "$EV_TMP/rlo.net" --repeats 1 --batch 2 --threads 1
expect_output "rlo.net line 2: U+202E, an invisible right-to-left override, at byte 7 of the line"
printf 'conv\302\2402 3x3\nrelu\nfc 7\n' >"$EV_TMP/nbsp.net"
expect 2 "$EMOTION" bench --model "$EV_TMP/nbsp.net" --repeats 1 --batch 2 --threads 1
expect_output "nbsp.net line 1: '.*' holds U+00A0, a non-breaking space; separate words with plain spaces"
expect_no_output "unknown layer"
printf '\357\273\277\357\273\277conv 2 3x3\nrelu\nfc 7\n' >"$EV_TMP/bom2.net"
expect 2 "$EMOTION" bench --model "$EV_TMP/bom2.net" --repeats 1 --batch 2 --threads 1
expect_output "bom2.net line 1: U+FEFF, an invisible byte order mark, at byte 3 of the line"

# ---- file names are shown, never obeyed: a terminal's escapes, a line break (which made a
# second, forged answer line), bytes that are not UTF-8 and a right-to-left override come
# out as '?', in the answers and in the messages alike
ESC=$(printf '\033')
cp "$EV_CKPT/face.pgm" "$EV_TMP/red${ESC}[31m.pgm"
cp "$EV_CKPT/face.pgm" "$EV_TMP/$(printf 'x.pgm\nforged.pgm: Happy (99.9%%)')"
cp "$EV_CKPT/face.pgm" "$EV_TMP/$(printf 'lat\351n\342\200\256gmp.pgm')"
expect 1 "$EMOTION" predict --model "$EV_MODEL" "$EV_TMP/red${ESC}[31m.pgm" \
    "$EV_TMP/$(printf 'x.pgm\nforged.pgm: Happy (99.9%%)')" "$EV_TMP/$(printf 'lat\351n\342\200\256gmp.pgm')" \
    "$EV_TMP/gone${ESC}]0;title$(printf '\007').pgm"
expect_output "^$EV_TMP/red?\[31m.pgm: "
expect_output "^$EV_TMP/x.pgm?forged.pgm: Happy (99.9%): "
expect_output "^$EV_TMP/lat?n?gmp.pgm: "
expect_output "^emotion predict: $EV_TMP/gone?]0;title?.pgm: cannot open: No such file or directory$"
expect_no_output "$ESC"
expect_no_output "^forged.pgm"
# nor in the message of an image that cannot be read
expect 1 "$EMOTION" predict --model "$EV_MODEL" "$EV_TMP/$(printf 'gone.pgm\nforged.pgm: Happy (99.9%%)\nx')"
expect_output "^emotion predict: $EV_TMP/gone.pgm?forged.pgm: Happy (99.9%)?x: cannot open: No such file or directory$"
expect_no_output "^forged.pgm"

# ---- class names: a checkpoint's read like a dataset's; hidden characters refused in both
if [ -n "$EV_NUMPY" ]; then
    "$EV_NUMPY" - "$EV_TMP" <<'EOF'
import os
import sys
import numpy as np
tmp = sys.argv[1]
model = dict(np.load(tmp + "/run/model.npz"))
def checkpoint(name, text):
    m = dict(model)
    m["class_names"] = np.frombuffer(text, np.uint8)
    np.savez(tmp + "/" + name, **m)
checkpoint("no_final_newline.npz", b"a\nb\nc\nd\ne\nf\ng")
checkpoint("crlf.npz", b"a\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng\r\n")
checkpoint("six.npz", b"a\nb\nc\nd\ne\nf\n")
checkpoint("rlo.npz", "a\nb\nc\nd\u202e\ne\nf\ng\n".encode())
small = dict(np.load(tmp + "/small.npz"))
small["class_names"] = np.array(["Angry", "Disgust", "Fear", "Hap\u200bpy", "Sad", "Surprise",
                                 "Neutral"])
np.savez(tmp + "/zwsp_names.npz", **small)
# the joiners are letters' business, not hidden: a Persian name with its
# non-joiner (U+200C) and an emoji sequence with the joiner (U+200D)
small["class_names"] = np.array(["Angry", "Disgust", "Fear", "\u062e\u0648\u0634\u200c\u062d\u0627\u0644",
                                 "Sad", "Surprise", "\U0001F468\u200d\U0001F4BB"])
np.savez(tmp + "/joiner_names.npz", **small)
# the model's classes named by the data: in its order, and two of them swapped
fer = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
small["class_names"] = np.array(fer)
np.savez(tmp + "/fer_names.npz", **small)
small["class_names"] = np.array(fer[:3] + ["Sad", "Happy"] + fer[5:])
np.savez(tmp + "/swapped_names.npz", **small)
# a resume file whose weights were cast to integers
os.mkdir(tmp + "/int_resume")
resume = dict(np.load(tmp + "/run/resume.npz"))
resume["fc1.w"] = resume["fc1.w"].astype(np.int8)
np.savez(tmp + "/int_resume/resume.npz", **resume)
EOF
    expect 0 "$EMOTION" eval --model "$EV_TMP/no_final_newline.npz" --data "$EV_TMP/small.npz"
    expect_output "^g  "
    expect 0 "$EMOTION" eval --model "$EV_TMP/crlf.npz" --data "$EV_TMP/small.npz"
    expect_output "^g  "
    expect 1 "$EMOTION" eval --model "$EV_TMP/six.npz" --data "$EV_TMP/small.npz"
    expect_output "six.npz: 'class_names' holds 6 names, but its network gives 7 scores per image ('arch' line 3: 'fc 7'); a checkpoint needs one class name per score"
    expect 1 "$EMOTION" predict --model "$EV_TMP/rlo.npz" "$EV_CKPT/face.pgm"
    expect_output "rlo.npz: class name 3 holds U+202E, an invisible right-to-left override (at byte 1); class names must show what they say"
    expect 0 "$EMOTION" data info "$EV_TMP/zwsp_names.npz"
    expect_output "class_names\[3\] holds .*U+200B"
    expect 1 "$EMOTION" eval --model "$EV_TMP/run/model.npz" --data "$EV_TMP/zwsp_names.npz"
    expect_output "U+200B"
    expect 0 "$EMOTION" data info "$EV_TMP/joiner_names.npz"
    expect_no_output "holds U+200"
    # labels named in another order than the model's are not counted against its classes
    expect 0 "$EMOTION" eval --model "$EV_TMP/run/model.npz" --data "$EV_TMP/fer_names.npz"
    expect_output "^Happy "
    expect 1 "$EMOTION" eval --model "$EV_TMP/run/model.npz" --data "$EV_TMP/swapped_names.npz"
    expect_output "^emotion eval: $EV_TMP/swapped_names.npz: class 3 is 'Sad' in its class_names but 'Happy' in the model; its labels would be counted against the wrong classes (the model $EV_TMP/run/model.npz)$"
    expect_no_output "accuracy"
    expect 1 "$EMOTION" train --resume "$EV_TMP/int_resume"
    expect_output "^emotion train: $EV_TMP/int_resume/resume.npz: array 'fc1.w' is int8, but a checkpoint's weights must be float32 or float64$"
fi

# ---- what a command prints is its output too: a standard output that loses it (a full
# disk, /dev/full) is an error, named, exit 1 (exit 0, the figures gone, before)
if [ -w /dev/full ]; then
    expect 1 sh -c "'$EMOTION' eval --model '$EV_MODEL' --data '$EV_DATA' >/dev/full"
    expect_output "^emotion: cannot write the standard output: No space left on device$"
    expect 1 sh -c "'$EMOTION' data info '$EV_DATA' >/dev/full"
    expect_output "^emotion: cannot write the standard output: No space left on device$"
    # 60 answers, more than stdout's buffer: the first write fails before the end
    faces=$(for i in $(seq 60); do printf "'%s' " "$EV_CKPT/face.pgm"; done)
    expect 1 sh -c "'$EMOTION' predict --model '$EV_MODEL' $faces >/dev/full"
    expect_output "^emotion: cannot write the standard output: No space left on device$"
    expect 1 sh -c "'$EMOTION' --help >/dev/full"
    expect 1 sh -c "'$GRADCHECK' relu >/dev/full"
    expect_output "^gradcheck: cannot write the standard output: No space left on device$"
    # a failure keeps its own status, and the output written is no news
    expect 2 sh -c "'$EMOTION' eval --no-such-flag >/dev/full"
    expect_no_output "standard output"
else
    echo "skip: a standard output that loses what is printed (no /dev/full)"
fi
# a reader that stops early (head) is no lost output: emotion's own status is 0, no
# message (the pipeline's status is head's, so emotion's is kept in a file)
expect 0 sh -c "{ '$EMOTION' data info '$EV_DATA'; echo \$? >'$EV_TMP/status'; } | head -1"
expect_no_output "standard output"
expect 0 grep -qx 0 "$EV_TMP/status"

rm -rf "$EV_TMP"

# bench too refuses an empty --model when the options are read
expect 2 "$EMOTION" bench --model ''
expect_output "^emotion bench: --model needs a path, not an empty string$"
