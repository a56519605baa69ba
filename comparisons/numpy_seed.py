#!/usr/bin/python3
"""numpy_seed.py: the seed's emotion CNN in NumPy, timed as `emotion bench` times it.

    /usr/bin/python3 comparisons/numpy_seed.py [--batch 64] [--threads 2] [--repeats 10] [--check]

    1x48x48 -> conv 32 3x3 pad 1, relu, maxpool 2 -> conv 64 3x3 pad 1, relu, maxpool 2
            -> fc 256, relu -> fc 7 -> softmax cross-entropy

written the way a first NumPy version of it is written: im2col turns each
convolution into one matrix product (numpy's, so the system BLAS's), and
everything else is whole-array arithmetic. Float32, random data; training
is forward, loss, backward and an SGD step with momentum 0.9 and weight
decay 5e-4 on the weights; inference is the forward alone. Each figure is
the median of --repeats runs after 3 warm-up runs, printed as `emotion
bench` prints them (train_img_per_s=, infer_img_per_s=). --check first
compares the backward pass with centred differences in float64.
"""
import argparse
import os
import sys


def parse_options(argv):
    parser = argparse.ArgumentParser(prog="numpy_seed.py", description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="BLAS threads (default: all cores)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per figure (default 10)")
    parser.add_argument("--check", action="store_true",
                        help="check the gradients numerically (float64) before timing")
    options = parser.parse_args(argv)
    for name in ("batch", "threads", "repeats"):
        if getattr(options, name) < 1:
            parser.error(f"--{name} needs a whole number of at least 1")
    return options


# The BLAS reads its thread count when it loads: set it before numpy loads it.
OPTIONS = parse_options(sys.argv[1:]) if __name__ == "__main__" else None
if OPTIONS:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = str(OPTIONS.threads)

import numpy as np  # noqa: E402

import blas_info  # noqa: E402
from timing import median_images_per_second  # noqa: E402


# ---- im2col and its adjoint ------------------------------------------------------
# cols has one row per (channel, kernel row, kernel column) and one column per
# (image, output row, output column): the convolution is then W (F, C*k*k) @ cols.
# Both loops run over the k*k kernel offsets only, each moving a whole shifted
# block of the padded batch at once.

def im2col(x, k, pad):
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = np.empty((c, k, k, n, out_h, out_w), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = padded[:, :, i:i + out_h, j:j + out_w].transpose(1, 0, 2, 3)
    return cols.reshape(c * k * k, n * out_h * out_w)


def col2im(dcols, shape, k, pad):
    """The adjoint of im2col: each column's entries are added back onto the
    pixels they came from (overlapping windows add up)."""
    n, c, h, w = shape
    out_h, out_w = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    dcols = dcols.reshape(c, k, k, n, out_h, out_w)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            padded[:, :, i:i + out_h, j:j + out_w] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, pad:pad + h, pad:pad + w]


# ---- layers: forward returns (out, cache), backward (dx, grads) ------------------

def conv_forward(x, w, b, pad):
    f, _, k, _ = w.shape
    n, _, h, wd = x.shape
    out_h, out_w = h + 2 * pad - k + 1, wd + 2 * pad - k + 1
    cols = im2col(x, k, pad)
    out = w.reshape(f, -1) @ cols + b[:, None]  # (F, N*Ho*Wo)
    return out.reshape(f, n, out_h, out_w).transpose(1, 0, 2, 3), (x.shape, cols, w, pad)


def conv_backward(dout, cache, need_dx=True):
    x_shape, cols, w, pad = cache
    f, _, k, _ = w.shape
    d = dout.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N*Ho*Wo)
    dw = (d @ cols.T).reshape(w.shape)
    db = d.sum(axis=1)
    dx = col2im(w.reshape(f, -1).T @ d, x_shape, k, pad) if need_dx else None
    return dx, (dw, db)


def relu_forward(x):
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout, out):
    return dout * (out > 0)


def maxpool2_forward(x):
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = windows.max(axis=(3, 5))
    # the gradient goes to the first maximum of each window, as in the workbench
    flat = windows.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    return out, (x.shape, flat.argmax(axis=4))


def maxpool2_backward(dout, cache):
    (n, c, h, w), first_max = cache
    flat = np.zeros((n, c, h // 2, w // 2, 4), dtype=dout.dtype)
    np.put_along_axis(flat, first_max[..., None], dout[..., None], axis=4)
    return flat.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


def fc_forward(x, w, b):
    flat = x.reshape(x.shape[0], -1)
    return flat @ w + b, (x.shape, flat, w)


def fc_backward(dout, cache):
    x_shape, flat, w = cache
    return (dout @ w.T).reshape(x_shape), (flat.T @ dout, dout.sum(axis=0))


def softmax_xent(scores, labels):
    """The mean loss and its gradient with respect to the scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_probs[np.arange(n), labels].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), labels] -= 1
    return loss, dscores / n


# ---- the network ---------------------------------------------------------------

def init_params(rng, dtype):
    """He initialisation for the weights, zero biases. fc weights are (D_in, D_out)."""
    shapes = {"conv1.w": (32, 1, 3, 3), "conv2.w": (64, 32, 3, 3),
              "fc1.w": (64 * 12 * 12, 256), "fc2.w": (256, 7)}
    params = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if name.startswith("conv") else shape[0]
        params[name] = (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(dtype)
        params[name[:-1] + "b"] = np.zeros(shape[0] if name.startswith("conv") else shape[1], dtype)
    return params


# The layers in order: (kind, the name of its parameters).
LAYERS = [("conv", "conv1"), ("relu", None), ("maxpool", None),
          ("conv", "conv2"), ("relu", None), ("maxpool", None),
          ("fc", "fc1"), ("relu", None), ("fc", "fc2")]


def forward(params, x):
    caches = []
    for kind, name in LAYERS:
        if kind == "conv":
            x, cache = conv_forward(x, params[name + ".w"], params[name + ".b"], pad=1)
        elif kind == "fc":
            x, cache = fc_forward(x, params[name + ".w"], params[name + ".b"])
        elif kind == "relu":
            x, cache = relu_forward(x)
        else:
            x, cache = maxpool2_forward(x)
        caches.append(cache)
    return x, caches


def backward(dscores, caches):
    """Every parameter's gradient; the input's is not computed (nobody needs it)."""
    grads, d = {}, dscores
    for index in reversed(range(len(LAYERS))):
        (kind, name), cache = LAYERS[index], caches[index]
        if kind == "conv":
            d, (grads[name + ".w"], grads[name + ".b"]) = conv_backward(d, cache, need_dx=index > 0)
        elif kind == "fc":
            d, (grads[name + ".w"], grads[name + ".b"]) = fc_backward(d, cache)
        elif kind == "relu":
            d = relu_backward(d, cache)
        else:
            d = maxpool2_backward(d, cache)
    return grads


def sgd_step(params, grads, velocity, lr=1e-4, momentum=0.9, weight_decay=5e-4):
    """v = m v + g (+ wd w for weights); w -= lr v, in place."""
    for name, value in params.items():
        g = grads[name] + weight_decay * value if name.endswith(".w") else grads[name]
        velocity[name] *= momentum
        velocity[name] += g
        value -= lr * velocity[name]


def check_gradients(rng):
    """Backward against centred differences, float64, on 2 images, 5 entries per parameter."""
    params = init_params(rng, np.float64)
    x = rng.random((2, 1, 48, 48))
    labels = rng.integers(0, 7, 2)
    scores, caches = forward(params, x)
    grads = backward(softmax_xent(scores, labels)[1], caches)
    worst = 0.0
    for name, value in params.items():
        for _ in range(5):
            index = tuple(rng.integers(0, s) for s in value.shape)
            saved = value[index]
            value[index] = saved + 1e-5
            plus = softmax_xent(forward(params, x)[0], labels)[0]
            value[index] = saved - 1e-5
            minus = softmax_xent(forward(params, x)[0], labels)[0]
            value[index] = saved
            numerical, analytic = (plus - minus) / 2e-5, grads[name][index]
            scale = max(abs(numerical), abs(analytic))
            worst = max(worst, abs(numerical - analytic) / scale if scale > 0 else 0.0)
    print(f"gradient check (float64, 5 entries per parameter): largest relative error {worst:.1e}")
    return worst < 1e-5


def main(options):
    rng = np.random.default_rng(1)
    if options.check and not check_gradients(rng):
        print("numpy_seed.py: the gradient check failed", file=sys.stderr)
        return 1
    params = init_params(rng, np.float32)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    x = rng.random((options.batch, 1, 48, 48), dtype=np.float32)
    labels = rng.integers(0, 7, options.batch)

    def train_step():
        scores, caches = forward(params, x)
        _, dscores = softmax_xent(scores, labels)
        sgd_step(params, backward(dscores.astype(np.float32), caches), velocity)

    def inference():
        forward(params, x)

    count = sum(value.size for value in params.values())
    print(f"numpy_seed: the emotion CNN in NumPy {np.__version__}, input 1x48x48, 7 classes, "
          f"batch {options.batch}, {options.threads} BLAS thread"
          f"{'s' if options.threads != 1 else ''}, median of {options.repeats} runs")
    np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
    blas_kind, blas_text = blas_info.describe()
    print(f"BLAS: {blas_text}")
    warning = blas_info.warning(blas_kind, "numpy")
    if warning:
        print(warning)
        print(warning, file=sys.stderr)
    train = median_images_per_second(train_step, options.batch, 3, options.repeats)
    infer = median_images_per_second(inference, options.batch, 3, options.repeats)
    print(f"\n{'threads':<8} {'train img/s':>14} {'infer img/s':>14}")
    print(f"{options.threads:<8} {train:14.0f} {infer:14.0f}")
    print(f"\nparams={count}\nblas={blas_kind}\ntrain_img_per_s={train:.0f}\ninfer_img_per_s={infer:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(OPTIONS))
