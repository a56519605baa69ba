# Sourced by tests/cli.sh: the cases themselves.
expect 2 "$EMOTION"
expect 0 "$EMOTION" --help
expect_output "usage: emotion"
expect 2 "$EMOTION" no-such-command
expect_output "unknown command"

# ---- gradcheck: every layer within 1e-7, usage errors exit 2
expect 0 "$GRADCHECK" all
expect_output "all: every gradient within 1e-7"
expect_output "net      conv1.w"
expect 0 "$GRADCHECK" conv --kernel 5 --stride 2 --pad 2
expect_output "conv     dw        (4, 3, 5, 5)"
expect 0 "$GRADCHECK" conv --kernel 3x5 --stride 2 --pad 0 --seed 9
expect_output "(4, 3, 3, 5)"
expect 0 "$GRADCHECK" maxpool --kernel 3 --stride 1 --pad 1
expect 0 "$GRADCHECK" avgpool --kernel 2x3 --stride 1
expect 0 "$GRADCHECK" --help
expect_output "usage: gradcheck LAYER"
expect 2 "$GRADCHECK"
expect_output "usage: gradcheck"
expect 2 "$GRADCHECK" convolution
expect_output "unknown layer 'convolution'"
expect_output "usage: gradcheck"
expect 2 "$GRADCHECK" conv --stride 0
expect_output "stride needs a whole number >= 1"
expect 2 "$GRADCHECK" conv --kernel 12
expect_output "kernel 12x12 is larger than the padded input"
expect 2 "$GRADCHECK" conv --kernel 3x
expect 2 "$GRADCHECK" maxpool --kernel 2 --pad 2
expect_output "padding 2 must be between 0 and half the window"
expect 2 "$GRADCHECK" relu --frobnicate
expect_output "unknown option '--frobnicate'"
expect 2 "$GRADCHECK" conv --seed
expect_output "needs a value"

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
expect_output "y_train  int64    (10,) .*Angry 2, Disgust 1, Fear 1, Happy 3, Sad 1, Surprise 1, Neutral 1"
expect_output "y_val    int64    (2,) .*Angry 0, .*Neutral 2"
expect 0 "$EMOTION" data info "$NPZ_FIXTURES/labels_out_of_range.npz"
expect_output "WARNING: 2 labels outside 0..6"

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
expect_output "no_such_file.csv: No such file"

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
expect_output "y_train  int64    (70,) .*Angry 10, Disgust 10, Fear 10, Happy 10, Sad 10, Surprise 10, Neutral 10"
expect_output "6 arrays"
expect 0 "$EMOTION" data info "$DATA_TMP/s1.npz"
expect_output "4 arrays"
ls "$DATA_TMP" | grep -v '\.npz$' >/tmp/cli_out.$$ 2>&1
if [ -s /tmp/cli_out.$$ ]; then bad "temporary files left behind: $(cat /tmp/cli_out.$$)"; else ok; fi
rm -rf "$DATA_TMP"
