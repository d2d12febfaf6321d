#!/usr/bin/env python3
"""Make the bundled example: a small 1-D ECG-beat classifier for MAX78000/MAX78002.

Writes, next to this script:
  ecg.yaml                izer network description (5 layers, Conv1d + MLP)
  weights.npz             quantized weights in the layout izer's loader returns
                          (weight_NNN int8, bias_NNN int64, output_shift, quantization)
  sample_ecg_1x128.npy    one 1x128 int8 sample: a synthetic heartbeat (P, QRS, T waves)

The weights are deterministic (seeded) and shaped like a trained network's (per-layer
scaling keeps activations in range); they are not trained. Only numpy is needed.
"""
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent

# (in_channels, out_channels, kernel, pad, pool, pool_kind, output_shift)
CONV_LAYERS = [
    (1, 16, 5, 2, 1, None, 1),
    (16, 32, 3, 1, 2, "max_pool", 0),
    (32, 32, 3, 1, 2, "max_pool", 0),
    (32, 16, 3, 1, 4, "avg_pool", 0),
]
CLASSES = 5  # N, S, V, F, Q (AAMI beat classes)
LENGTH = 128


def heartbeat(length: int) -> np.ndarray:
    """A synthetic ECG beat: Gaussian P, Q, R, S and T waves plus a little noise."""
    t = np.linspace(0.0, 1.0, length)
    waves = [(0.12, 0.20, 0.025), (-0.15, 0.37, 0.010), (1.0, 0.40, 0.012),
             (-0.25, 0.43, 0.010), (0.30, 0.68, 0.045)]
    x = sum(a * np.exp(-((t - mu) ** 2) / (2 * s ** 2)) for a, mu, s in waves)
    x += 0.01 * np.random.default_rng(7).standard_normal(length)
    return np.clip(np.round(x / np.abs(x).max() * 100), -128, 127).astype(np.int8)


def weights(rng, out_c, in_c, k):
    """Integer 8-bit weights with a fan-in scaling like a trained layer's."""
    scale = 127.0 / np.sqrt(in_c * k) * 1.5
    return np.clip(np.round(rng.standard_normal((out_c, in_c * k)) * scale / 2.5),
                   -128, 127).astype(np.int8)


def yaml_text() -> str:
    lines = ["---", "# Bundled ai8xsim example: 1-D ECG beat classifier (made by make_example.py)",
             "arch: ecgnet_example", "dataset: ecg_synthetic", "", "layers:"]
    offsets = ["0x2000", "0x0000"]
    for i, (ic, oc, k, pad, pool, kind, _) in enumerate(CONV_LAYERS):
        lines += [f"  - op: Conv1d", f"    kernel_size: {k}", f"    pad: {pad}",
                  f"    activate: ReLU", f"    out_offset: {offsets[i % 2]}",
                  f"    processors: 0x{(1 << ic) - 1:016x}"]
        if i == 0:
            lines.append("    data_format: HWC")
        if pool > 1:
            lines += [f"    {kind}: {pool}", f"    pool_stride: {pool}"]
    flat_c = CONV_LAYERS[-1][1]
    lines += ["  - op: MLP", "    flatten: true", "    output_width: 32", "    activate: None",
              f"    out_offset: {offsets[len(CONV_LAYERS) % 2]}",
              f"    processors: 0x{(1 << flat_c) - 1:016x}", ""]
    return "\n".join(lines)


def main():
    rng = np.random.default_rng(2024)
    arrays = {}
    length = LENGTH
    for i, (ic, oc, k, pad, pool, _, _) in enumerate(CONV_LAYERS):
        length = length // pool
        arrays[f"weight_{i:03d}"] = weights(rng, oc, ic, k).reshape(oc * ic, k)
        arrays[f"bias_{i:03d}"] = rng.integers(-20, 20, oc).astype(np.int64)
    flat_in = CONV_LAYERS[-1][1] * length
    last = len(CONV_LAYERS)
    arrays[f"weight_{last:03d}"] = weights(rng, CLASSES, flat_in, 1).reshape(1, CLASSES, flat_in)
    arrays[f"bias_{last:03d}"] = rng.integers(-20, 20, CLASSES).astype(np.int64)
    arrays["output_shift"] = np.array([s for *_, s in CONV_LAYERS] + [0], dtype=np.int64)
    arrays["quantization"] = np.full(last + 1, 8, dtype=np.int64)
    np.savez(HERE / "weights.npz", **arrays)
    np.save(HERE / "sample_ecg_1x128.npy", heartbeat(LENGTH).reshape(1, LENGTH))
    (HERE / "ecg.yaml").write_text(yaml_text())
    print(f"wrote {HERE / 'ecg.yaml'}, {HERE / 'weights.npz'}, {HERE / 'sample_ecg_1x128.npy'}")


if __name__ == "__main__":
    main()
