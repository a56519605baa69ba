#!/usr/bin/python3
"""How hard is the synthetic faces dataset? A linear model against a small CNN.

The lessons rely on a contrast: a linear softmax classifier (one 48x48
template per class) should score clearly below a small CNN on the synthetic
faces, and the CNN should not reach 100% either. This script measures both
on an .npz written by `./emotion data synth`, independently of the C code
(PyTorch on the CPU):

  * multinomial logistic regression on the 2,304 pixels (pixel / 255,
    standardised per pixel), full-batch L-BFGS, with the L2 strength picked
    on the validation split;
  * the workbench's CNN architecture: conv3x3x32 p1, ReLU, maxpool2 ->
    conv3x3x64 p1, ReLU, maxpool2 -> FC 9216x256, ReLU -> FC 256x7, He
    initialisation, trained with SGD + momentum 0.9 (lr 0.01, batch 64; or
    Adam with --optimiser adam) for a few epochs, no augmentation.

usage: /usr/bin/python3 data/tools/check_synth_difficulty.py [data/synth.npz]
           [--epochs 8] [--threads 2]

Prints the chance level (always answering the most frequent class), then
both test accuracies. Needs numpy and torch; it is a development tool, not
something the workbench runs.

Measured on the default set (`./emotion data synth`: seed 1, 8000 / 1000 /
1000 faces, FER2013 class proportions): chance 0.250; linear softmax 0.433
(L2 0.1); small CNN with SGD after 8 epochs 0.905 (validation 0.26, 0.52,
0.70, 0.82, 0.85, 0.87, 0.89, 0.89 after epochs 1..8). Disgust, 1.5% of
the faces, is the class both models miss most.
"""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASS_NAMES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]


def load_split(data, split):
    x = data["x_" + split].reshape(-1, 1, 48, 48).astype(np.float32) / 255.0
    y = data["y_" + split].astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def accuracy(logits, y):
    return (logits.argmax(1) == y).float().mean().item()


def per_class_accuracy(logits, y):
    pred = logits.argmax(1)
    out = []
    for c in range(7):
        mask = y == c
        out.append((pred[mask] == c).float().mean().item() if mask.any() else float("nan"))
    return out


def linear_softmax(train, val, test):
    """Logistic regression; returns (test accuracy, chosen L2, per-class accuracies)."""
    xtr, ytr = train
    mean = xtr.flatten(1).mean(0)
    std = xtr.flatten(1).std(0) + 1e-3

    def features(x):
        return (x.flatten(1) - mean) / std

    ftr, fva, fte = features(xtr), features(val[0]), features(test[0])
    best = None
    for l2 in [1e-4, 1e-3, 1e-2, 1e-1]:
        torch.manual_seed(0)
        model = nn.Linear(48 * 48, 7)
        optimiser = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=300,
                                      history_size=20, line_search_fn="strong_wolfe")

        def closure():
            optimiser.zero_grad()
            loss = F.cross_entropy(model(ftr), ytr) + l2 * model.weight.pow(2).sum()
            loss.backward()
            return loss

        optimiser.step(closure)
        with torch.no_grad():
            val_acc = accuracy(model(fva), val[1])
            train_acc = accuracy(model(ftr), ytr)
        print(f"  linear, L2 {l2:g}: train {train_acc:.3f}  val {val_acc:.3f}")
        if best is None or val_acc > best[0]:
            with torch.no_grad():
                logits = model(fte)
            best = (val_acc, l2, accuracy(logits, test[1]), per_class_accuracy(logits, test[1]))
    return best[2], best[1], best[3]


class SmallCNN(nn.Module):
    """The workbench's network, layer for layer, with its He initialisation
    (weights ~ N(0, 2 / fan_in), biases 0: layers/network.c network_init_he)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 12 * 12, 256)
        self.fc2 = nn.Linear(256, 7)
        for layer in (self.conv1, self.conv2, self.fc1, self.fc2):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def small_cnn(train, val, test, epochs, optimiser_name, lr):
    torch.manual_seed(0)
    model = SmallCNN()
    if optimiser_name == "adam":
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    xtr, ytr = train
    n = len(ytr)
    for epoch in range(epochs):
        model.train()
        start = time.time()
        order = torch.randperm(n)
        total_loss = 0.0
        for i in range(0, n, 64):
            batch = order[i:i + 64]
            optimiser.zero_grad()
            loss = F.cross_entropy(model(xtr[batch]), ytr[batch])
            loss.backward()
            optimiser.step()
            total_loss += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            val_acc = accuracy(model(val[0]), val[1])
        print(f"  cnn epoch {epoch + 1}: loss {total_loss / n:.3f}  val {val_acc:.3f}  "
              f"({n / (time.time() - start):.0f} img/s)")
    with torch.no_grad():
        logits = model(test[0])
    return accuracy(logits, test[1]), per_class_accuracy(logits, test[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("npz", nargs="?", default="data/synth.npz")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--optimiser", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default 0.01 for sgd, 0.001 for adam)")
    parser.add_argument("--skip-linear", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = np.load(args.npz)
    train, val, test = (load_split(data, s) for s in ("train", "val", "test"))
    counts = np.bincount(test[1].numpy(), minlength=7)
    print(f"{args.npz}: train {len(train[1])}, val {len(val[1])}, test {len(test[1])}")
    print(f"chance (always the most frequent class): {counts.max() / counts.sum():.3f}")

    lr = args.lr if args.lr else (0.01 if args.optimiser == "sgd" else 0.001)
    if args.skip_linear:
        linear_acc, l2, linear_classes = float("nan"), 0, [float("nan")] * 7
    else:
        linear_acc, l2, linear_classes = linear_softmax(train, val, test)
    cnn_acc, cnn_classes = small_cnn(train, val, test, args.epochs, args.optimiser, lr)

    print("\nper-class test accuracy   linear   cnn")
    for c in range(7):
        print(f"  {CLASS_NAMES[c]:<10} {linear_classes[c]:17.3f} {cnn_classes[c]:6.3f}")
    print(f"\nlinear softmax (L2 {l2:g}): test accuracy {linear_acc:.3f}")
    print(f"small CNN ({args.epochs} epochs, {args.optimiser} lr {lr:g}): test accuracy {cnn_acc:.3f}")


if __name__ == "__main__":
    main()
