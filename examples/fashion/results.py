#!/usr/bin/env python3
"""Write RESULTS.md (to stdout) from run.sh's outputs in OUT: train.json, fashion-wB.npz,
check-wB.json, eval-wB.json, chip-wB.npy and sweep.json; the chip's outputs are compared with
fashionlib.chip_forward (an independent PyTorch re-implementation of izer's arithmetic) on the
same weights."""
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
        qlayers = fl.qlayers_from_npz(fl.fashion_layers(), a.out / f"fashion-w{b}.npz")
        chip = np.load(a.out / f"chip-w{b}.npy").reshape(ev["samples"], -1)
        emu = fl.chip_forward(qlayers, np.load(a.out / "test_x.npy")).reshape(ev["samples"], -1)
        same = int((chip == emu).all(axis=1).sum())
        exact = f"{same} / {ev['samples']}"
        rows.append(f"| {b} | {pct(ev['accuracy'])} | {100 * (ev['accuracy'] - fa):+.2f} | "
                    f"{pct(ev['reference']['agreement'])} | "
                    f"{'fits' if ck['fits'] else 'does not fit'} | {exact} | "
                    f"{ev['samples_per_second']:.0f} ({ev['threads']} threads) |")
        shifts = ", ".join(f"{q.spec.name} {q.shift}" for q in qlayers)
        rows_used = ck["memory_map"]["kernel"]["used_rows"]
        per_class = ", ".join(f"{fl.CLASSES[c['class']]} {100 * c['accuracy']:.1f}"
                              for c in ev["per_class"])
        details.append(f"- **{b}-bit**: shifts (izer's, after loading) {shifts}; kernel "
                       f"memory {rows_used} rows. Per class: {per_class}.")
    sweep = json.loads((a.out / "sweep.json").read_text())
    layer_names = [s.name for s in fl.fashion_layers()]

    by_bits = {tuple(c["bits"]): c for c in sweep["configurations"]}

    def front_rows(key):
        out = []
        for bits in sweep[key]:  # in order of increasing cost
            c = by_bits[tuple(bits)]
            out.append(f"| {' '.join(map(str, c['bits']))} | {pct(c['accuracy'])} | "
                       f"{c['kernel_rows']:,} | {c['weight_bytes']:,} | "
                       f"{c['weight_load_us']:.1f} | {c['latency_us']:.1f} | "
                       f"{c['energy_uj']:.2f} |")
        return "\n".join(out)
    sens = []
    for hi, lo in zip(sweep["inputs"]["widths"], sweep["inputs"]["widths"][1:]):
        base = by_bits.get(tuple([hi] * len(layer_names)))
        drops = []
        for k, name in enumerate(layer_names):
            probe = by_bits.get(tuple(lo if i == k else hi for i in range(len(layer_names))))
            if base and probe and base["accuracy"] is not None and probe["accuracy"] is not None:
                drops.append(f"{name} {100 * (probe['accuracy'] - base['accuracy']):+.2f}")
        if drops:
            sens.append(f"- {hi} -> {lo} bits, one layer at a time (points): " + ", ".join(drops))
    latencies = sorted({c["latency_us"] for c in sweep["configurations"] if c["fits"]})
    n_fit = sum(c["fits"] for c in sweep["configurations"])

    load = os.getloadavg()
    params = sum(s.in_channels * s.out_channels * s.kernel ** 2 + s.out_channels
                 for s in fl.fashion_layers())
    print(f"""# Fashion-MNIST on the simulated MAX78000

Made by `{a.command}` (from the repository root) on {datetime.date.today().isoformat()},
{platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} when the table was written
(the machine is shared; samples/s vary with the load).

The network (`fashionlib.fashion_layers`; YAML written to `build-examples/fashion/fashion.yaml`):
1x28x28 int8 input; conv 3x3 1->16; max-pool 2 + conv 3x3 16->32; max-pool 2 + conv 3x3
32->64; max-pool 2 + conv 3x3 64->32 (ReLU after each); Linear 288->10 on the flattened 32x3x3
map with a 32-bit output; {params:,} weights and biases. Trained in float PyTorch:
{train['epochs']} epochs, seed {train['seed']}, {train['threads']} thread, {train['seconds']:.0f} s wall.
Then post-training quantized by ai8xsim's quantizer (`ai8xsim quantize --weight-bits B`,
ai8x-synthesis quantize.py's rules: docs/checkpoint-format.md), every layer at the width shown.

Float accuracy (PyTorch, the same int8 inputs / 128): **{pct(fa)}** on the 10,000 test images.

| weight bits | chip accuracy (ai8xsim eval) | vs float (points) | same prediction as float | `ai8xsim check` MAX78000 | outputs equal to fashionlib's emulation | samples/s |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

"Chip accuracy" is `ai8xsim eval` on the 10,000 test images: every sample run bit-exactly,
top-1 of the final layer's 32-bit output. "Outputs equal" counts test images whose 10 outputs
from ai8xsim equal, integer for integer, those of `fashionlib.chip_forward` (an independent
PyTorch re-implementation of izer's arithmetic) on the same weights.

""" + "\n".join(details) + f"""

## Precision sweep: a width per layer

`ai8xsim sweep` (docs/sweep.md) with a budget of {sweep['inputs']['budget']} configurations:
the uniform widths, then for each step down (8->4, 4->2, 2->1) every layer lowered alone from
the uniform configuration (its accuracy drop is its sensitivity), then the layers lowered
together, least sensitive first. {len(sweep['configurations'])} configurations, {n_fit} fit;
accuracy on the same 10,000 test images (so the front is chosen on the data it is reported on).
Widths are listed for the layers {', '.join(layer_names)}; latency and energy are one
inference (the cycle model, docs/cycle-model.md). All configurations: `build-examples/fashion/sweep.json`.

Pareto front, accuracy against kernel memory (72-bit rows), in order of kernel memory:

| widths | chip accuracy | kernel rows | weight bytes | weight load us | inference us | inference uJ |
|---|---|---|---|---|---|---|
{front_rows("memory_front")}

Inference latency: {", ".join(f"{v:.1f}" for v in latencies)} us for every configuration that
fits. The cycle model's count does not depend on the weight width (the same passes and MACs), so
the front of accuracy against latency is the most accurate configuration alone
({' '.join(map(str, sweep["latency_front"][0])) if sweep["latency_front"] else "-"}); the widths
change the kernel memory and the time to load it.

What ai8x-synthesis's quantize.py rule costs here: it takes each layer's shift from its largest
weight and corrects nothing, so 2-bit weights (4 steps) lose the network (the example's earlier
calibrated quantizer, removed for the one quantizer, reached 85.90% at 2 bits and 89.31% at 4
bits on a float model trained the same way, commit 72c26ff's RESULTS.md). The layers'
measured sensitivities (accuracy change when that layer alone is lowered):

""" + "\n".join(sens) + """

![accuracy against kernel memory and latency](sweep.svg)
""" + """

1-bit weights on the MAX78000 are {-1, 0} (izer's range [-2^(q-1), 2^(q-1)-1]; the binary
+1/-1 mode is MAX78002 only): a layer can only subtract, and positive float weights all become
0. Post-training quantization cannot recover from that; a 1-bit network needs training with
the 1-bit constraint (quantization-aware training), which this example does not do.
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
