#!/bin/sh
# The PyTorch comparison builds the networks the workbench builds, and computes
# what they compute:
# - for every models/*.net and one description with every other kind of layer,
#   comparisons/torch_bench.py counts as many parameters as emotion bench's table,
#   and gives every layer the same output shape;
# - both refuse the same padding (more than a convolution's kernel less one, or a
#   pool's half window);
# - networks of odd shapes (3 channels, 1x1 maps and images, a kernel as large as
#   the map, a stride larger than the kernel, padded pools, crops, batchnorm on a map
#   and on features), each trained for an epoch on made-up images of its shape: in
#   comparisons/torch_eval.py its checkpoint gives every layer the output shape
#   `emotion train`'s table gives it, and the probabilities `emotion eval --probs`
#   gives, to 1e-5.
# Skipped, with a note, when PYTHON cannot import torch: PyTorch is only ever
# needed by comparisons/, never to build, train or test.
# usage: tests/comparisons.sh EMOTION [PYTHON]   (KEEP=1 keeps its temporary folder)
EMOTION=$1
PYTHON=${2:-/usr/bin/python3}
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "comparisons: skipped ($PYTHON cannot import torch)"
    exit 0
fi
pass=0
fail=0
TMP=$(mktemp -d /tmp/workbench_comparisons.XXXXXX)
OUT=$TMP/out
trap '[ -n "$KEEP" ] || rm -rf "$TMP"' EXIT

# the layer names and output shapes of a table, one "name (shape)" per line
shapes() { sed -n 's/^  \([a-z]*[0-9]*\) *\(([0-9, ]*)\).*/\1 \2/p' "$1"; }

# same_network WHAT ARGS...: ARGS are --model FILE or --arch TEXT (and --input CxHxW),
# given to both.
same_network() {
    what=$1
    shift
    if ! "$EMOTION" bench "$@" --batch 1 --repeats 1 --threads 1 --no-gemm >"$OUT" 2>&1; then
        fail=$((fail + 1)); echo "FAIL: emotion bench $what"; sed 's/^/    /' "$OUT" | head; return
    fi
    ours=$(awk '$1 == "total" { print $2 }' "$OUT")
    shapes "$OUT" >"$TMP/ours.shapes"
    if [ "$1" = "--model" ]; then shift; fi
    if ! "$PYTHON" comparisons/torch_bench.py "$@" --count-only >"$OUT" 2>&1; then
        fail=$((fail + 1)); echo "FAIL: torch_bench.py $what"; sed 's/^/    /' "$OUT" | head; return
    fi
    theirs=$(sed -n 's/^params=//p' "$OUT")
    shapes "$OUT" >"$TMP/theirs.shapes"
    if [ -z "$ours" ] || [ "$ours" != "$theirs" ]; then
        fail=$((fail + 1)); echo "FAIL: $what: emotion bench counts '$ours' parameters, torch_bench.py '$theirs'"
    elif [ ! -s "$TMP/ours.shapes" ] || ! cmp -s "$TMP/ours.shapes" "$TMP/theirs.shapes"; then
        fail=$((fail + 1)); echo "FAIL: $what: the layers' output shapes differ (emotion bench, torch_bench.py):"
        diff "$TMP/ours.shapes" "$TMP/theirs.shapes" | sed 's/^/    /' | head
    else
        pass=$((pass + 1))
    fi
}

# both_refuse TEXT: emotion bench and torch_bench.py refuse --arch TEXT (exit 2)
both_refuse() {
    "$EMOTION" bench --arch "$1" --batch 1 --repeats 1 --threads 1 >"$OUT" 2>&1
    ours=$?
    "$PYTHON" comparisons/torch_bench.py --arch "$1" --count-only >>"$OUT" 2>&1
    theirs=$?
    if [ "$ours" = 2 ] && [ "$theirs" = 2 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL: '$1': emotion bench exited $ours, torch_bench.py $theirs (both should refuse it: 2)"
        sed 's/^/    /' "$OUT" | head
    fi
}

for model in models/*.net; do same_network "$model" --model "$model"; done
same_network "--arch with a crop, batchnorm, dropout, nobias, padded and non-square pools" --arch \
    "crop 40x44, conv 16 3x5 stride 2 pad 1 nobias, batchnorm, relu, avgpool 3 stride 2 pad 1, maxpool 2x3 stride 1, dropout 0.25, fc 64 nobias, batchnorm, relu, fc 7"

both_refuse "conv 1 1x1 pad 1024, fc 7"
both_refuse "conv 4 3x3 pad 3, fc 7"
both_refuse "conv 4 1x7 pad 3, fc 7"
both_refuse "maxpool 2 pad 2, fc 7"
both_refuse "avgpool 3x5 stride 1 pad 2, fc 7"
both_refuse "conv 4 5x5 pad 2 winograd, fc 7"
both_refuse "conv 4 3x3 stride 2 winograd, fc 7"

# Odd networks: the description, its input, its classes. Each is trained for an epoch on
# made-up images of that shape and evaluated; then torch_eval.py, in one run (torch takes
# seconds to load), gives each layer the shape emotion train's table gives it, and the
# probabilities emotion eval gives.
"$PYTHON" - "$TMP" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(1)
for name, shape, classes in [("grey13x17", (13, 17), 3), ("rgb9x11", (3, 9, 11), 4),
                             ("grey5x5", (5, 5), 3), ("rgb1x1", (3, 1, 1), 2),
                             ("rgb32", (3, 32, 32), 5)]:
    arrays = {}
    for split, count in (("train", 64), ("val", 16), ("test", 24)):
        arrays["y_" + split] = (np.arange(count) % classes).astype(np.int64)
        arrays["x_" + split] = rng.integers(0, 256, size=(count,) + shape, dtype=np.uint8)
    np.savez(f"{sys.argv[1]}/{name}.npz", **arrays)
PY
runs=0
set --
while IFS='|' read -r data arch; do
    runs=$((runs + 1))
    run=$TMP/run$runs
    echo "$arch" >"$TMP/arch$runs"
    if "$EMOTION" train --arch "$arch" --data "$TMP/$data.npz" --epochs 1 --threads 1 \
        --out "$run" >"$OUT" 2>&1 &&
        "$EMOTION" eval --model "$run/model.npz" --data "$TMP/$data.npz" --probs "$run/probs.npz" \
            --threads 1 >>"$OUT" 2>&1; then
        shapes "$OUT" >"$run/ours.shapes"
        set -- "$@" "$run/model.npz" "$TMP/$data.npz" "$run/probs.npz"
    else
        fail=$((fail + 1)); echo "FAIL: emotion train or eval --arch '$arch' on $data"; sed 's/^/    /' "$OUT" | head
    fi
done <<'NETS'
grey13x17|conv 4 3x3 stride 2 pad 1 nobias, batchnorm, relu, maxpool 3 stride 2 pad 1, fc 3
rgb9x11|conv 6 5x5 pad 2, relu, avgpool 3 stride 1 pad 1, conv 4 1x1, relu, fc 4
grey5x5|conv 8 5x5, relu, fc 3
rgb1x1|conv 4 1x1 nobias, batchnorm, relu, maxpool 1, avgpool 1, fc 2
grey13x17|conv 5 2x2 stride 3, relu, maxpool 1 stride 2, fc 3
rgb32|crop 27x29, conv 8 3x5 pad 1, relu, maxpool 2x3 stride 2, dropout 0.25, fc 16 nobias, batchnorm, relu, fc 5
grey13x17|batchnorm, conv 3 3x3 pad 2, relu, avgpool 2 stride 3 pad 1, fc 3
rgb32|conv 8 3x3 pad 1, relu, maxpool 2, conv 8 3x3 stride 2 pad 1, relu, avgpool 8, fc 5
grey5x5|crop 1, fc 4, relu, dropout 0.5, fc 3
rgb9x11|conv 4 3x3 pad 1, batchnorm, relu, avgpool 2 stride 2 pad 1, maxpool 3 stride 3 pad 1, fc 6 nobias, batchnorm, dropout 0.3, relu, fc 4
rgb32|conv 8 3x3 pad 1 winograd, relu, conv 12 3x3 nobias winograd, batchnorm, relu, maxpool 2, conv 6 3x3 pad 2 winograd, relu, fc 5
NETS
"$PYTHON" comparisons/torch_eval.py "$@" >"$OUT" 2>&1
for model in "$@"; do
    case "$model" in */model.npz) ;; *) continue ;; esac
    run=${model%/model.npz}
    arch=$(cat "$TMP/arch${run##*/run}")
    # the block torch_eval.py printed for this checkpoint: its shapes, then the verdict
    awk -v head="torch_eval: $model" '$0 == head { on = 1; next } on && /^torch_eval: / { print; exit } on' \
        "$OUT" >"$run/theirs"
    shapes "$run/theirs" >"$run/theirs.shapes"
    if ! grep -q ": ok\$" "$run/theirs"; then
        fail=$((fail + 1)); echo "FAIL: PyTorch's forward pass of '$arch':"; sed 's/^/    /' "$run/theirs" | tail -3
    elif [ ! -s "$run/ours.shapes" ] || ! cmp -s "$run/ours.shapes" "$run/theirs.shapes"; then
        fail=$((fail + 1)); echo "FAIL: '$arch': the layers' output shapes differ (emotion train, PyTorch):"
        diff "$run/ours.shapes" "$run/theirs.shapes" | sed 's/^/    /' | head
    else
        pass=$((pass + 1))
    fi
done
echo "comparisons: $pass passed, $fail failed"
[ "$fail" = 0 ]
