#!/usr/bin/env python3
"""The trained float model as ai8xsim takes it: writes to OUT (default build-examples/fashion)
  fashion.yaml            izer's network YAML, no `quantization` (the widths are chosen by
                          `ai8xsim quantize --weight-bits` / `ai8xsim sweep`)
  fashion-float.pth.tar   the float weights in ai8x-training's checkpoint layout, from
                          train.py's fashion-float.pth
Quantization is ai8xsim's own (ai8x-synthesis quantize.py's rules, sim/model/quantize.cpp)."""
import argparse
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fashionlib as fl  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=fl.BUILD_DIR)
    args = ap.parse_args()
    state = torch.load(str(args.out / "fashion-float.pth"), map_location="cpu")
    fl.write_float_checkpoint(args.out / "fashion-float.pth.tar", state)
    (args.out / "fashion.yaml").write_text(fl.yaml_text(
        fl.fashion_layers(), None,
        comment="Fashion-MNIST: written by examples/fashion/prepare.py; weight widths from "
                "the checkpoint quantizer\nInput: 1x28x28 int8 (CHW), pixel p -> "
                "clip(round(p/255*256 - 128))"))
    print(f"-> {args.out / 'fashion.yaml'}, {args.out / 'fashion-float.pth.tar'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
