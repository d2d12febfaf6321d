#!/usr/bin/env python3
"""Write RESULTS.md (to stdout) from run.sh's outputs in OUT: train.json, quantize-wB.json,
check-wB.json, eval-wB.json, chip-wB.npy and emulated-wB.npy."""
import argparse
import datetime
import json
import os
import pathlib
import platform
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fashionlib as fl  # noqa: E402


def pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--bits", type=int, nargs="+", required=True)
    ap.add_argument("--command", required=True)
    a = ap.parse_args()
    train = json.loads((a.out / "train.json").read_text())
    fa = train["float_accuracy"]
    rows, details = [], []
    for b in a.bits:
        ev = json.loads((a.out / f"eval-w{b}.json").read_text())
        ck = json.loads((a.out / f"check-w{b}.json").read_text())
        qz = json.loads((a.out / f"quantize-w{b}.json").read_text())
        chip = np.load(a.out / f"chip-w{b}.npy").reshape(ev["samples"], -1)
        emu_path = a.out / f"emulated-w{b}.npy"
        if emu_path.is_file():
            emu = np.load(emu_path).reshape(ev["samples"], -1)
            same = int((chip == emu).all(axis=1).sum())
            exact = f"{same} / {ev['samples']}"
        else:
            exact = "-"
        rows.append(f"| {b} | {pct(ev['accuracy'])} | {100 * (ev['accuracy'] - fa):+.2f} | "
                    f"{pct(ev['reference']['agreement'])} | "
                    f"{'fits' if ck['fits'] else 'does not fit'} | {exact} | "
                    f"{ev['samples_per_second']:.0f} ({ev['threads']} threads) |")
        shifts = ", ".join(f"{L['layer']} {L['shift']}" for L in qz["layers"])
        clipped = sum(L["weights_clipped"] for L in qz["layers"])
        bclipped = sum(L["biases_clipped"] for L in qz["layers"])
        per_class = ", ".join(f"{fl.CLASSES[c['class']]} {100 * c['accuracy']:.1f}"
                              for c in ev["per_class"])
        details.append(f"- **{b}-bit**: shifts (izer's, after loading) {shifts}; weights "
                       f"clipped {clipped}, biases clipped {bclipped}. Per class: {per_class}.")

    load = os.getloadavg()
    params = sum(s.in_channels * s.out_channels * s.kernel ** 2 + s.out_channels
                 for s in fl.fashion_layers())
    print(f"""# Fashion-MNIST on the simulated MAX78000

Made by `{a.command}` (from the repository root) on {datetime.date.today().isoformat()},
{platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} when the table was written
(the machine is shared; samples/s vary with the load).

The network (`fashionlib.fashion_layers`; YAML written to `build-examples/fashion/fashion-wB.yaml`):
1x28x28 int8 input; conv 3x3 1->16; max-pool 2 + conv 3x3 16->32; max-pool 2 + conv 3x3
32->64; max-pool 2 + conv 3x3 64->32 (ReLU after each); Linear 288->10 on the flattened 32x3x3
map with a 32-bit output; {params:,} weights and biases. Trained in float PyTorch:
{train['epochs']} epochs, seed {train['seed']}, {train['threads']} thread, {train['seconds']:.0f} s wall.
Then post-training quantized by `quantize.py` (rule in docs/evaluation.md), every layer at the
width shown.

Float accuracy (PyTorch, the same int8 inputs / 128): **{pct(fa)}** on the 10,000 test images.

| weight bits | chip accuracy (ai8xsim eval) | vs float (points) | same prediction as float | `ai8xsim check` MAX78000 | outputs equal to quantize.py's emulation | samples/s |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

"Chip accuracy" is `ai8xsim eval` on the 10,000 test images: every sample run bit-exactly,
top-1 of the final layer's 32-bit output. "Outputs equal" counts test images whose 10 outputs
from ai8xsim equal, integer for integer, those of `fashionlib.chip_forward` (an independent
PyTorch re-implementation of izer's arithmetic used to calibrate the quantizer).

""" + "\n".join(details) + """

1-bit weights on the MAX78000 are {-1, 0} (izer's range [-2^(q-1), 2^(q-1)-1]; the binary
+1/-1 mode is MAX78002 only): a layer can only subtract, and positive float weights all become
0. Post-training quantization cannot recover from that; a 1-bit network needs training with
the 1-bit constraint (quantization-aware training), which this example does not do.
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
