#!/usr/bin/env python3
"""A quantized checkpoint with random weights for the pose student (pose.yaml).

The shapes are the network of seeds/002 as pose.yaml writes it (BatchNorm folded into the
convolutions, as ai8x-training's quantize.py leaves a `-q.pth.tar`); the values are random:
8-bit weights, biases in [-32, 31] (izer's units), and an output_shift per layer chosen so that
a random input keeps activations in range (std ~ 30), so `ai8xsim run` gives non-trivial
outputs. The checkpoint says nothing about accuracy; it is for `ai8xsim check` and timing.

Writes OUT/pose-q.pth.tar (~2.6 MB) and OUT/sample_3x128x128.npy (a random int8 input);
with --float, OUT/pose-float.pth.tar instead (float weights for `ai8xsim sweep`).
"""
import argparse
import math
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fashion"))
import fashionlib as fl  # noqa: E402  (write_q_checkpoint: izer's checkpoint layout)

ARCH = "ai85posestudent"

# (name, in_channels, out_channels, kernel) in YAML order: the order izer assigns weights.
LAYERS = [
    ("conv1", 3, 32, 3), ("conv2", 32, 32, 3), ("conv3", 32, 64, 3), ("conv4", 64, 64, 3),
    ("conv5", 64, 96, 3), ("conv6", 96, 96, 3), ("conv7", 96, 128, 3), ("conv8", 128, 128, 3),
    ("cpm1", 128, 96, 1), ("cpm2", 96, 96, 3), ("cpm3", 96, 96, 3),
    ("heat1", 96, 64, 1), ("heat_out", 64, 19, 1),
    ("paf1", 96, 64, 1), ("paf_out", 64, 38, 1),
]


def parameter_count() -> int:
    """Weights and biases (BatchNorm folded)."""
    return sum(i * o * k * k + o for _, i, o, k in LAYERS)


def make(out: pathlib.Path, seed: int = 0) -> pathlib.Path:
    rng = np.random.default_rng(seed)
    qlayers = []
    for name, cin, cout, k in LAYERS:
        w = np.clip(np.round(rng.normal(0, 40, size=(cout, cin, k, k))), -128, 127)
        b = rng.integers(-32, 32, size=cout)
        # acc std ~ 40 (weights) * 30 (activations) * sqrt(fan-in); 8-bit output = acc*2^s/128
        fan_in = cin * k * k
        shift = int(np.clip(round(math.log2(128 * 30 / (40 * 30 * math.sqrt(fan_in)))), -15, 15))
        spec = fl.LayerSpec(name, cin, cout, kernel=k)
        qlayers.append(fl.QLayer(spec, w.astype(np.int64), b.astype(np.int64), 8, shift))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "pose-q.pth.tar"
    fl.write_q_checkpoint(path, qlayers, arch=ARCH,
                          extras={"made_by": "examples/pose/make_checkpoint.py (random weights)"})
    sample = rng.integers(-128, 128, size=(3, 128, 128)).astype(np.int8)
    np.save(out / "sample_3x128x128.npy", sample)
    return path


def make_float(out: pathlib.Path, seed: int = 0) -> pathlib.Path:
    """OUT/pose-float.pth.tar: random float weights (He-scaled) in ai8x-training's layout, for
    `ai8xsim sweep` (which quantizes it per configuration, as quantize.py would)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, cin, cout, k in LAYERS:
        state[f"{name}.op.weight"] = torch.randn(cout, cin, k, k, generator=g) * math.sqrt(
            2.0 / (cin * k * k))
        state[f"{name}.op.bias"] = torch.randn(cout, generator=g) * 0.01
    out.mkdir(parents=True, exist_ok=True)
    path = out / "pose-float.pth.tar"
    fl.write_float_checkpoint(path, state, arch=ARCH)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=HERE.parents[1] / "build-examples" / "pose")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--float", action="store_true",
                    help="write pose-float.pth.tar (float weights, for ai8xsim sweep) instead")
    args = ap.parse_args()
    path = (make_float if args.float else make)(args.out, args.seed)
    print(f"{path}: {len(LAYERS)} layers, {parameter_count():,} weights and biases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
