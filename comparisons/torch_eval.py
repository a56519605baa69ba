#!/usr/bin/python3
"""torch_eval.py: checkpoints' forward passes in PyTorch, against `emotion eval --probs`.

    /usr/bin/python3 comparisons/torch_eval.py [--split test] CHECKPOINT.npz DATA.npz PROBS.npz
                                               [CHECKPOINT.npz DATA.npz PROBS.npz ...]

For each checkpoint (several in one run: loading torch takes seconds), builds the network
it describes from torch.nn modules (torch_bench.py's reading of the description
language), loads its weights (fc weights transposed into Linear's (out, in); every array
must fit and be used), runs the split's images (pixel/255, (N, H, W) or (N, C, H, W), of
the checkpoint's `input_shape`) in evaluation mode, and compares the softmax
probabilities with PROBS.npz's `probs` (from `emotion eval --probs`, without --tta).
Prints, per checkpoint, the shape each layer gives in PyTorch, as `emotion train`'s table
names and writes them (for a comparison with it), then the verdict:

    torch_eval: CHECKPOINT
      input    (3, 9, 11)
      conv1    (6, 9, 11)
      ...
    torch_eval: CHECKPOINT: 24 images, 4 classes, largest difference 6e-08: ok

A difference above 1e-5 (float32 products summed in another order differ by about 1e-7)
ends the line with FAIL and the image and class where it is largest; a file it cannot
read, or a network PyTorch cannot build, with FAIL and why. Exit status: 0 if every
checkpoint is ok, 1 otherwise, 2 for bad usage.
"""
import argparse
import os
import sys
from collections import OrderedDict

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import torch_bench  # noqa: E402

TOLERANCE = 1e-5


def load_weights(modules, checkpoint, torch, nn):
    """Copies the checkpoint's arrays into the modules; names every array it misses."""
    used = set()

    def take(name, transpose=False):
        if name not in checkpoint:
            raise KeyError(f"the checkpoint has no '{name}'")
        used.add(name)
        value = checkpoint[name].astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(value.T if transpose else value))

    with torch.no_grad():
        for name, module in modules:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                weight = take(name + ".w", transpose=isinstance(module, nn.Linear))
                if tuple(weight.shape) != tuple(module.weight.shape):
                    raise ValueError(f"{name}.w is {tuple(weight.shape)}, PyTorch's network wants "
                                     f"{tuple(module.weight.shape)}")
                module.weight.copy_(weight)
                if module.bias is not None:
                    module.bias.copy_(take(name + ".b"))
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.weight.copy_(take(name + ".gamma"))
                module.bias.copy_(take(name + ".beta"))
                module.running_mean.copy_(take(name + ".running_mean"))
                module.running_var.copy_(take(name + ".running_var"))
    arrays = {k for k in checkpoint.files if k not in ("arch", "input_shape", "class_names")}
    if arrays - used:
        raise ValueError(f"the checkpoint has arrays PyTorch's network does not: "
                         f"{sorted(arrays - used)}")


def shape_text(shape):
    return str(tuple(shape)) if len(shape) > 1 else f"({shape[0]},)"


def compare(checkpoint_path, data_path, probs_path, split, torch, nn):
    """Prints the layers' shapes and returns the verdict (ending in 'ok' or a FAIL)."""
    print(f"torch_eval: {checkpoint_path}")
    try:
        checkpoint = np.load(checkpoint_path)
        data = np.load(data_path)
        ours = np.load(probs_path)["probs"]
        text = bytes(checkpoint["arch"]).decode("utf-8")
        input_shape = tuple(int(v) for v in checkpoint["input_shape"])
        origin = f"{checkpoint_path}: 'arch'"
        layers = torch_bench.parse_description(text, origin)
        modules, table = torch_bench.build(layers, origin, input_shape, ours.shape[1], nn)
        load_weights(modules, checkpoint, torch, nn)
        images = data["x_" + split]
    except (OSError, KeyError, ValueError, torch_bench.DescriptionError) as error:
        return f"FAIL: {error}"
    x = images.astype(np.float32) / 255 if images.dtype == np.uint8 else images.astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if tuple(x.shape[1:]) != input_shape:
        return f"FAIL: {data_path} holds images of {tuple(x.shape[1:])}, the checkpoint takes {input_shape}"
    print(f"  {'input':<8} {shape_text(input_shape)}")
    names = iter(name for name, _, _ in table)
    value = torch.from_numpy(x)
    with torch.no_grad():
        for name, module in modules:
            module.eval()
            value = module(value)
            if name != "flatten":
                print(f"  {next(names):<8} {shape_text(value.shape[1:])}")
        theirs = torch.softmax(value, dim=1).numpy()
    if theirs.shape != ours.shape:
        return f"FAIL: PyTorch gives probabilities {theirs.shape}, {probs_path} holds {ours.shape}"
    difference = np.abs(theirs - ours)
    largest = float(difference.max())
    verdict = f"{ours.shape[0]} images, {ours.shape[1]} classes, largest difference {largest:.2g}"
    if largest <= TOLERANCE:
        return verdict + ": ok"
    n, k = np.unravel_index(int(np.argmax(difference)), difference.shape)
    return (f"{verdict}: FAIL: image {n}, class {k}: PyTorch {theirs[n, k]:.8f}, emotion eval "
            f"{ours[n, k]:.8f} (more than {TOLERANCE:g} apart)")


def main(argv):
    parser = argparse.ArgumentParser(prog="torch_eval.py",
                                     description="Checkpoints' forward passes in PyTorch, against "
                                                 "emotion eval --probs.")
    parser.add_argument("files", nargs="+", metavar="CHECKPOINT DATA PROBS")
    parser.add_argument("--split", default="test", help="the split eval ran on (default test)")
    options = parser.parse_args(argv)
    if len(options.files) % 3:
        parser.error("give the files in threes: CHECKPOINT.npz DATA.npz PROBS.npz")
    try:
        import torch
        from torch import nn
    except ImportError as error:
        print(f"torch_eval.py: {sys.executable} cannot import torch ({error})", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    failed = 0
    for i in range(0, len(options.files), 3):
        checkpoint, data, probs = options.files[i:i + 3]
        verdict = compare(checkpoint, data, probs, options.split, torch, nn)
        print(f"torch_eval: {checkpoint}: {verdict}")
        failed += not verdict.endswith(": ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
