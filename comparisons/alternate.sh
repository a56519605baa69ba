#!/bin/sh
# comparisons/alternate.sh: the workbench against PyTorch, in alternating runs.
#
#   comparisons/alternate.sh [--model FILE.net] [--rounds N] [--threads N]
#
# Runs `./emotion bench` and `comparisons/torch_bench.py` on the same network
# (the emotion CNN, or FILE.net), one after the other, N rounds (default 5),
# with the same batch (64) and threads (default: all cores). On a machine
# whose speed drifts from minute to minute, only runs made side by side
# compare: each round gives both programs the same machine. Then it prints
# each side's median training and inference images/s over the rounds, the
# ratios (workbench / PyTorch), both training steps as a fraction of the FMA
# peak (in the network's arithmetic), the CPU, the workbench's matrix-multiply
# kernel and the BLAS PyTorch used. Run it from anywhere in a clone: it works
# from the project's root and builds ./emotion if it is missing.
#
# Python: /usr/bin/python3 (Debian's, which has python3-torch), or $PYTHON.
set -eu

usage() {
    echo "usage: comparisons/alternate.sh [--model FILE.net] [--rounds N] [--threads N]"
}

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
model=""
rounds=5
threads=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
while [ $# -gt 0 ]; do
    case $1 in
    --model|--rounds|--threads)
        [ $# -ge 2 ] || { echo "alternate.sh: $1 needs a value" >&2; usage >&2; exit 2; }
        case $1 in
        --model) model=$2 ;;
        --rounds) rounds=$2 ;;
        --threads) threads=$2 ;;
        esac
        shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "alternate.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for number in "$rounds" "$threads"; do
    case $number in
    ''|*[!0-9]*|0) echo "alternate.sh: --rounds and --threads need a whole number of at least 1, not '$number'" >&2; exit 2 ;;
    esac
done
if [ -n "$model" ] && [ ! -f "$model" ]; then
    echo "alternate.sh: $model: no such file (paths are from the project's root: models/...)" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "alternate.sh: $PYTHON cannot import torch, so there is nothing to compare with." >&2
    echo "On Debian, as root: apt-get install python3-torch libopenblas0-pthread" >&2
    exit 1
fi
if [ ! -x ./emotion ]; then
    echo "building ./emotion"
    make --no-print-directory emotion >/dev/null || { echo "alternate.sh: make emotion failed" >&2; exit 1; }
fi

work=$(mktemp -d /tmp/alternate.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

# value NAME FILE: the number after NAME= in FILE
value() { sed -n "s/^$1=//p" "$2" | tail -1; }
# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "alternating ./emotion bench and torch_bench.py: ${model:-the emotion CNN}, batch 64, $threads thread(s), $rounds round(s)"
r=1
while [ "$r" -le "$rounds" ]; do
    ./emotion bench ${model:+--model "$model"} --threads "$threads" --no-gemm >"$work/emotion.$r" 2>&1 ||
        { cat "$work/emotion.$r" >&2; echo "alternate.sh: emotion bench failed" >&2; exit 1; }
    "$PYTHON" comparisons/torch_bench.py ${model:+"$model"} --threads "$threads" >"$work/torch.$r" 2>"$work/torch_err.$r" ||
        { cat "$work/torch.$r" "$work/torch_err.$r" >&2; echo "alternate.sh: torch_bench.py failed" >&2; exit 1; }
    printf 'round %d: workbench train %6s infer %6s img/s (%s of the FMA peak) | PyTorch train %6s infer %6s img/s\n' "$r" \
        "$(value train_img_per_s "$work/emotion.$r")" "$(value infer_img_per_s "$work/emotion.$r")" \
        "$(value train_fma_peak_fraction "$work/emotion.$r")" \
        "$(value train_img_per_s "$work/torch.$r")" "$(value infer_img_per_s "$work/torch.$r")"
    r=$((r + 1))
done

for side in emotion torch; do
    for figure in train_img_per_s infer_img_per_s; do
        for f in "$work/$side".[0-9]*; do value "$figure" "$f"; done | median >"$work/median.$side.$figure"
    done
done
emotion_train=$(cat "$work/median.emotion.train_img_per_s")
emotion_infer=$(cat "$work/median.emotion.infer_img_per_s")
torch_train=$(cat "$work/median.torch.train_img_per_s")
torch_infer=$(cat "$work/median.torch.infer_img_per_s")
fraction=$(for f in "$work"/emotion.[0-9]*; do value train_fma_peak_fraction "$f"; done | median)
made=$(for f in "$work"/emotion.[0-9]*; do value train_fma_made_fraction "$f"; done | median)
# PyTorch's step in the same terms: the same network's arithmetic at its speed,
# against the peak measured in the same round
torch_fraction=$(r=1; while [ "$r" -le "$rounds" ]; do
        awk -v f="$(value train_fma_peak_fraction "$work/emotion.$r")" \
            -v a="$(value train_img_per_s "$work/emotion.$r")" -v b="$(value train_img_per_s "$work/torch.$r")" \
            'BEGIN { if (a > 0) printf "%.3f\n", f * b / a }'
        r=$((r + 1)); done | median)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
simd=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | awk '{ a = "no AVX2"; for (i = 1; i <= NF; i++) { if ($i == "avx2") a = "AVX2"; if ($i == "avx512f") { a = "AVX-512"; break } } print a }')

echo
echo "medians of $rounds round(s), images/s:"
printf '%-22s %10s %10s\n' "" "train" "infer"
printf '%-22s %10s %10s\n' "workbench (emotion)" "$emotion_train" "$emotion_infer"
printf '%-22s %10s %10s\n' "PyTorch" "$torch_train" "$torch_infer"
awk -v a="$emotion_train" -v b="$torch_train" -v c="$emotion_infer" -v d="$torch_infer" \
    'BEGIN { printf "%-22s %9.2fx %9.2fx\n", "ratio workbench/PyTorch", (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
echo "training step in the network's arithmetic (as a direct convolution computes it),"
echo "fraction of the FMA peak (medians): workbench $fraction, PyTorch $torch_fraction"
if [ "$made" != "$fraction" ]; then
    echo "the workbench's multiply-adds made (fewer, through Winograd): $made of the peak"
fi
echo
echo "CPU: ${cpu:-unknown} ($simd; /proc/cpuinfo)"
sed -n 's/^machine: /workbench: /p' "$work/emotion.1"
sed -n 's/^BLAS: /PyTorch BLAS: /p' "$work/torch.1"
sed -n 's/^PyTorch \([^,]*\),.*/PyTorch version: \1/p' "$work/torch.1"
if grep -q '^WARNING' "$work/torch.1"; then
    echo "WARNING: PyTorch ran on an unoptimized BLAS: its figures are too low (see comparisons/README.md)"
fi
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
echo "load average at the end: $load on $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') cores (above the thread count: another program shared the machine)"
