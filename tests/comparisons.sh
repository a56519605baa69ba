#!/bin/sh
# The PyTorch comparison builds the networks the workbench builds: for every
# models/*.net (and one description with every other kind of layer),
# comparisons/torch_bench.py counts as many parameters as emotion bench's
# table. Skipped, with a note, when PYTHON cannot import torch: PyTorch is
# only ever needed by comparisons/, never to build, train or test.
# usage: tests/comparisons.sh EMOTION [PYTHON]
EMOTION=$1
PYTHON=${2:-/usr/bin/python3}
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "comparisons: skipped ($PYTHON cannot import torch)"
    exit 0
fi
pass=0
fail=0
OUT=$(mktemp /tmp/workbench_comparisons.XXXXXX)
trap 'rm -f "$OUT"' EXIT

# same_count WHAT ARGS...: ARGS are a model file or --arch TEXT, given to both.
same_count() {
    what=$1
    shift
    if ! "$EMOTION" bench "$@" --batch 1 --repeats 1 --threads 1 --no-gemm >"$OUT" 2>&1; then
        fail=$((fail + 1)); echo "FAIL: emotion bench $what"; sed 's/^/    /' "$OUT" | head; return
    fi
    ours=$(awk '$1 == "total" { print $2 }' "$OUT")
    if [ "$1" = "--model" ]; then shift; fi
    if ! "$PYTHON" comparisons/torch_bench.py "$@" --count-only >"$OUT" 2>&1; then
        fail=$((fail + 1)); echo "FAIL: torch_bench.py $what"; sed 's/^/    /' "$OUT" | head; return
    fi
    theirs=$(sed -n 's/^params=//p' "$OUT")
    if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL: $what: emotion bench counts '$ours' parameters, torch_bench.py '$theirs'"
    fi
}

for model in models/*.net; do same_count "$model" --model "$model"; done
same_count "--arch with a crop, batchnorm, dropout, nobias, padded and non-square pools" --arch \
    "crop 40x44, conv 16 3x5 stride 2 pad 1 nobias, batchnorm, relu, avgpool 3 stride 2 pad 1, maxpool 2x3 stride 1, dropout 0.25, fc 64 nobias, batchnorm, relu, fc 7"
echo "comparisons: $pass passed, $fail failed"
[ "$fail" = 0 ]
