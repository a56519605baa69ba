#!/usr/bin/python3
"""torch_bench.py: a network description, built in PyTorch and timed as `emotion bench` times it.

    /usr/bin/python3 comparisons/torch_bench.py [MODEL.net | --arch TEXT] [--input 1x48x48]
        [--classes K] [--batch 64] [--threads 2] [--repeats 10] [--count-only]

Reads the workbench's description language (layers/arch.h), builds the same
network from torch.nn modules, prints it with its parameter count (the same
total as `emotion bench` prints for it), then times on random data:
  training:  forward, cross-entropy, backward, an SGD step with momentum 0.9
             and weight decay 5e-4 on conv and fc weights (as `emotion bench`)
  inference: evaluation mode, no gradients
each the median of --repeats runs after 3 warm-up runs. The last lines are
machine-readable, as `emotion bench` writes them:
    params=<count>  blas=<kind>  train_img_per_s=<n>  infer_img_per_s=<n>

Without MODEL.net or --arch it builds the seed's emotion CNN (models/emotion.net).
It prints which BLAS PyTorch runs its fully connected layers on, and warns
when that is not an optimized one (see blas_info.py).
Exit status: 0, or 2 for a bad option or description (the message names the
line or item, as the workbench's does).
"""
import argparse
import os
import sys

import blas_info
from timing import median_images_per_second

# models/emotion.net without its comments, the default (arch_emotion_text in layers/arch.c)
EMOTION_CNN = """conv 32 3x3 pad 1
relu
maxpool 2
conv 64 3x3 pad 1
relu
maxpool 2
fc 256
relu
fc 7
"""

KINDS = ("conv", "relu", "maxpool", "avgpool", "fc", "batchnorm", "dropout", "crop")
NAME_PREFIX = {"conv": "conv", "relu": "relu", "maxpool": "pool", "avgpool": "pool", "fc": "fc",
               "batchnorm": "bn", "dropout": "drop", "crop": "crop"}
MAX_WIDTH, MAX_KERNEL = 65536, 1024


class DescriptionError(Exception):
    pass


# ---- the description language (layers/arch.c) --------------------------------

def whole_number(text, what, low, high):
    if not text.isdigit() or len(text) > 9 or not low <= int(text) <= high:
        raise DescriptionError(f"'{what}' needs a whole number from {low} to {high}, not '{text}'")
    return int(text)


def kernel_size(text, kind):
    """'3' or '3x5' -> (3, 3) or (3, 5)."""
    parts = text.split("x")
    if len(parts) > 2 or not all(p.isdigit() and len(p) <= 9 and 1 <= int(p) <= MAX_KERNEL
                                 for p in parts):
        raise DescriptionError(f"'{kind}' needs a kernel size K or KHxKW (whole numbers from 1 "
                               f"to {MAX_KERNEL}), not '{text}'")
    return int(parts[0]), int(parts[-1])


def parse_item(words):
    """One layer's words -> a dict (kind and its settings)."""
    kind = words[0]
    if kind not in KINDS:
        raise DescriptionError(f"unknown layer '{kind}' (the layers are conv, relu, maxpool, "
                               "avgpool, fc, batchnorm, dropout and crop)")
    layer = {"kind": kind, "bias": True}
    rest = words[1:]
    if kind == "dropout":
        if not rest:
            raise DescriptionError("'dropout' needs the probability of dropping a value, e.g. "
                                   "'dropout 0.5'")
        text = rest.pop(0)
        try:
            p = float(text) if text[0].isdigit() or text[0] == "." else -1.0
        except ValueError:
            p = -1.0
        if not 0 <= p < 1:
            raise DescriptionError("'dropout' needs a probability from 0 up to (not including) "
                                   f"1, not '{text}'")
        layer["p"] = p
    elif kind == "crop":
        if not rest:
            raise DescriptionError("'crop' needs a window size, e.g. 'crop 40' or 'crop 40x36'")
        layer["kernel"] = kernel_size(rest.pop(0), "crop")
    elif kind == "fc":
        if not rest:
            raise DescriptionError("'fc' needs a number of outputs, e.g. 'fc 256'")
        layer["width"] = whole_number(rest.pop(0), "fc", 1, MAX_WIDTH)
        if rest and rest[0] == "nobias":
            layer["bias"] = False
            rest.pop(0)
    elif kind in ("conv", "maxpool", "avgpool"):
        if kind == "conv":
            if not rest:
                raise DescriptionError("'conv' needs a number of filters and a kernel, e.g. "
                                       "'conv 32 3x3'")
            layer["width"] = whole_number(rest.pop(0), "conv", 1, MAX_WIDTH)
        if not rest:
            raise DescriptionError(f"'{kind}' needs a kernel size")
        layer["kernel"] = kernel_size(rest.pop(0), kind)
        kh, kw = layer["kernel"]
        # pools step by their (square) window unless told otherwise
        layer["stride"] = 1 if kind == "conv" else (kh if kh == kw else 0)
        layer["pad"] = 0
        while rest:
            option = rest.pop(0)
            if kind == "conv" and option == "nobias":
                layer["bias"] = False
                continue
            # how the workbench computes the layer (layers/winograd.h); PyTorch chooses its own
            if kind == "conv" and option == "winograd":
                layer["winograd"] = True
                continue
            if option not in ("stride", "pad"):
                raise DescriptionError(f"'{kind}' takes 'stride S'"
                                       f"{', ' + repr('nobias') + ', ' + repr('winograd') if kind == 'conv' else ''}"
                                       f" and 'pad P' after its kernel; '{option}' is not one of them")
            if not rest:
                raise DescriptionError(f"'{option}' needs a value")
            layer[option] = whole_number(rest.pop(0), option, 0 if option == "pad" else 1,
                                         MAX_KERNEL)
        if layer["stride"] == 0:
            raise DescriptionError(f"a {kh}x{kw} window needs 'stride S'")
        if layer.get("winograd") and (kh, kw, layer["stride"]) != (3, 3, 1):
            raise DescriptionError(f"'winograd' computes 3x3 convolutions with stride 1, not "
                                   f"{kh}x{kw} with stride {layer['stride']}")
        # as layers/arch.c: a convolution pads at most its smaller side less one (more adds
        # outputs that see only padding), a pool at most half its window (PyTorch's rule)
        side, pad = min(kh, kw), layer["pad"]
        if kind == "conv" and pad > side - 1:
            raise DescriptionError(f"'pad {pad}' is more than a {kh}x{kw} kernel can use: at "
                                   f"most {side - 1}")
        if kind != "conv" and 2 * pad > side:
            raise DescriptionError(f"'pad {pad}' is more than half the {kh}x{kw} window: at "
                                   f"most {side // 2}")
    if rest:
        raise DescriptionError(f"unexpected '{rest[0]}' after '{kind}'")
    return layer


def parse_description(text, origin):
    """The layers of a description, one per line or comma-separated item."""
    lines = text.split("\n")
    multiline = len([line for line in lines if line.strip()]) > 1 or len(lines) > 2
    layers = []
    for line_number, line in enumerate(lines, 1):
        items = line.split("#", 1)[0].split(",")
        for item_number, item in enumerate(items, 1):
            if multiline and len(items) > 1:
                where = f"line {line_number}, item {item_number}"
            elif multiline:
                where = f"line {line_number}"
            else:
                where = f"item {item_number}"
            words = item.split()
            if not words:
                if len(items) > 1:
                    raise DescriptionError(f"{origin} {where}: empty item between commas")
                continue
            try:
                layer = parse_item(words)
            except DescriptionError as error:
                raise DescriptionError(f"{origin} {where}: {error}") from None
            layer["where"] = where
            layers.append(layer)
    if not layers:
        raise DescriptionError(f"{origin}: the description has no layers")
    return layers


def crop_module(nn, height, width):
    """layers/crop.h in PyTorch: a random window per image in training, the
    central one in evaluation."""
    import torch

    class Crop(nn.Module):
        def forward(self, x):
            H, W = x.shape[2], x.shape[3]
            if not self.training:
                top, left = (H - height) // 2, (W - width) // 2
                return x[:, :, top:top + height, left:left + width]
            tops = torch.randint(0, H - height + 1, (x.shape[0],)).tolist()
            lefts = torch.randint(0, W - width + 1, (x.shape[0],)).tolist()
            return torch.stack([x[n, :, t:t + height, l:l + width]
                                for n, (t, l) in enumerate(zip(tops, lefts))])
    return Crop()


def output_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


def build(layers, origin, input_shape, classes, nn):
    """torch.nn modules for the layers, with the workbench's layer names, each
    layer's output shape per image and its parameter count."""
    modules, table = [], []
    shape = tuple(input_shape)  # (C, H, W) while a map, (D,) after an fc
    counts = {}
    for index, layer in enumerate(layers):
        kind = layer["kind"]
        prefix = NAME_PREFIX[kind]
        counts[prefix] = counts.get(prefix, 0) + 1
        name = f"{prefix}{counts[prefix]}"
        where = f"{origin} {layer['where']}"
        if kind in ("conv", "maxpool", "avgpool"):
            if len(shape) != 3:
                raise DescriptionError(f"{where}: '{kind}' needs an image map (C, H, W), but it "
                                       f"meets the {shape[0]} values a fully connected layer gives")
            (kh, kw), stride, pad = layer["kernel"], layer["stride"], layer["pad"]
            if kh > shape[1] + 2 * pad or kw > shape[2] + 2 * pad:
                raise DescriptionError(f"{where}: the {kh}x{kw} window is larger than the "
                                       f"{shape[1]}x{shape[2]} map it meets")
            out_h, out_w = output_size(shape[1], kh, stride, pad), output_size(shape[2], kw, stride, pad)
            if kind == "conv":
                module = nn.Conv2d(shape[0], layer["width"], (kh, kw), stride=stride, padding=pad,
                                   bias=layer["bias"])
                shape = (layer["width"], out_h, out_w)
            elif kind == "maxpool":
                module = nn.MaxPool2d((kh, kw), stride=stride, padding=pad)
                shape = (shape[0], out_h, out_w)
            else:
                # the workbench divides every window's sum by its full size, padding included
                module = nn.AvgPool2d((kh, kw), stride=stride, padding=pad, count_include_pad=True)
                shape = (shape[0], out_h, out_w)
        elif kind == "crop":
            (kh, kw) = layer["kernel"]
            if len(shape) != 3:
                raise DescriptionError(f"{where}: 'crop' needs an image map (C, H, W), but it "
                                       f"meets the {shape[0]} values a fully connected layer gives")
            if kh > shape[1] or kw > shape[2]:
                raise DescriptionError(f"{where}: the {kh}x{kw} window is larger than the "
                                       f"{shape[1]}x{shape[2]} map it meets")
            module = crop_module(nn, kh, kw)
            shape = (shape[0], kh, kw)
        elif kind == "fc":
            if len(shape) == 3:
                modules.append(("flatten", nn.Flatten()))  # (C, H, W) order, as the workbench
                shape = (shape[0] * shape[1] * shape[2],)
            module = nn.Linear(shape[0], layer["width"], bias=layer["bias"])
            shape = (layer["width"],)
        elif kind == "relu":
            # in place, as the workbench, except on the caller's input
            module = nn.ReLU(inplace=index > 0)
        elif kind == "batchnorm":
            module = nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
        else:
            module = nn.Dropout(layer["p"])
        modules.append((name, module))
        params = sum(p.numel() for p in module.parameters())
        table.append((name, shape, params))
    if shape != (classes,):
        scores = shape[0] if len(shape) == 1 else shape[0] * shape[1] * shape[2]
        raise DescriptionError(f"{origin} {layers[-1]['where']}: the last layer gives {scores} "
                               f"scores per image, but the data has {classes} classes "
                               f"(end with 'fc {classes}')")
    return modules, table


# ---- timing ------------------------------------------------------------------------

def parse_options(argv):
    parser = argparse.ArgumentParser(
        prog="torch_bench.py",
        description="Build a workbench network description in PyTorch; count its parameters "
                    "and time training and inference on random data.")
    parser.add_argument("model", nargs="?", help="a .net description (default: the emotion CNN)")
    parser.add_argument("--arch", help="the description as text, items separated by commas")
    parser.add_argument("--input", default="1x48x48", help="image shape CxHxW (default 1x48x48)")
    parser.add_argument("--classes", type=int,
                        help="number of classes (default: the last layer's width)")
    parser.add_argument("--batch", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for PyTorch and its BLAS (default: all cores)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per figure (default 10)")
    parser.add_argument("--count-only", action="store_true",
                        help="print the network and its parameter count, time nothing")
    options = parser.parse_args(argv)
    if options.model and options.arch:
        parser.error("give MODEL.net or --arch, not both")
    try:
        options.input_shape = tuple(int(v) for v in options.input.split("x"))
    except ValueError:
        options.input_shape = ()
    if len(options.input_shape) != 3 or min(options.input_shape) < 1:
        parser.error(f"--input needs CxHxW, e.g. 1x48x48, not '{options.input}'")
    for name in ("batch", "threads", "repeats"):
        if getattr(options, name) < 1:
            parser.error(f"--{name} needs a whole number of at least 1")
    return options


def main(argv):
    options = parse_options(argv)
    # The BLAS reads its thread count when it loads: set it before torch loads it.
    # (torch.set_num_threads sets PyTorch's own threads, not OpenBLAS's.)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = str(options.threads)
    # the description first: its mistakes need no torch (which takes seconds to load)
    if options.arch:
        origin, text = "--arch", options.arch
    elif options.model:
        origin = options.model
        try:
            with open(options.model, encoding="utf-8") as f:
                text = f.read()
        except OSError as error:
            print(f"torch_bench.py: {options.model}: cannot open ({error.strerror})", file=sys.stderr)
            return 1
    else:
        origin, text = "emotion CNN", EMOTION_CNN
    try:
        layers = parse_description(text, origin)
        last = layers[-1]
        classes = options.classes or (last["width"] if last["kind"] == "fc" else 0)
        if classes < 1:
            raise DescriptionError(f"{origin}: give --classes (the last layer is not an fc)")
    except DescriptionError as error:
        print(f"torch_bench.py: {error}", file=sys.stderr)
        return 2
    try:
        import torch
        from torch import nn
    except ImportError as error:
        print(f"torch_bench.py: {sys.executable} cannot import torch ({error}); on Debian: "
              "apt-get install python3-torch", file=sys.stderr)
        return 1
    torch.set_num_threads(options.threads)
    try:
        modules, table = build(layers, origin, options.input_shape, classes, nn)
    except DescriptionError as error:
        print(f"torch_bench.py: {error}", file=sys.stderr)
        return 2

    from collections import OrderedDict
    model = nn.Sequential(OrderedDict(modules))
    params = sum(p.numel() for p in model.parameters())
    c, h, w = options.input_shape
    print(f"torch_bench: {origin}, input {c}x{h}x{w}, {classes} classes, batch {options.batch}, "
          f"{options.threads} thread{'s' if options.threads != 1 else ''}, median of "
          f"{options.repeats} runs")
    print(f"PyTorch {torch.__version__}, {sys.executable}")
    print(f"  {'layer':<8} {'output (C, H, W)':<18} {'parameters':>12}")
    print(f"  {'input':<8} {str(options.input_shape):<18}")
    for name, shape, count in table:
        shape_text = str(shape) if len(shape) > 1 else f"({shape[0]},)"
        print(f"  {name:<8} {shape_text:<18} {count if count else '':>12}")
    print(f"  {'total':<8} {'':<18} {params:>12}")

    # a product through the BLAS, so that it is loaded, then which one it is
    torch.ones(64, 64) @ torch.ones(64, 64)
    torch.nn.functional.linear(torch.ones(4, 64), torch.ones(8, 64))
    blas_kind, blas_text = blas_info.describe(torch)
    print(f"BLAS: {blas_text}")
    warning = blas_info.warning(blas_kind, "PyTorch")
    if warning:
        print(warning)
        print(warning, file=sys.stderr)

    if not options.count_only:
        torch.manual_seed(1)
        x = torch.rand(options.batch, c, h, w)
        labels = torch.randint(0, classes, (options.batch,))
        # weight decay on conv and fc weights only, as the workbench's optimizers
        decay = [p for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
                 for p in [m.weight]]
        decay_ids = {id(p) for p in decay}
        rest = [p for p in model.parameters() if id(p) not in decay_ids]
        sgd = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                               {"params": rest, "weight_decay": 0}], lr=1e-4, momentum=0.9)

        def train_step():
            sgd.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), labels)
            loss.backward()
            sgd.step()

        def inference():
            with torch.no_grad():
                model(x)

        model.train()
        train = median_images_per_second(train_step, options.batch, 3, options.repeats)
        model.eval()
        infer = median_images_per_second(inference, options.batch, 3, options.repeats)
        print(f"\n{'threads':<8} {'train img/s':>14} {'infer img/s':>14}")
        print(f"{options.threads:<8} {train:14.0f} {infer:14.0f}")

    print(f"\nparams={params}")
    print(f"blas={blas_kind}")
    if not options.count_only:
        print(f"train_img_per_s={train:.0f}")
        print(f"infer_img_per_s={infer:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
