#!/usr/bin/env python3
"""Post-training quantization of the float Fashion-MNIST network to izer's formats.

A calibrated variant (per-layer shift chosen on calibration images, bias correction), kept for
this example's accuracy study. ai8x-synthesis's own quantize.py rules are ai8xsim's
(sim/model/quantize.cpp): `ai8xsim.load` / `ai8xsim run` quantize a float checkpoint with them.

For a weight width BITS (8, 4, 2 or 1, every layer) writes to OUT:
  fashion-wBITS.yaml         izer's network YAML (processors, offsets, quantization per layer)
  fashion-wBITS-q.pth.tar    the quantized checkpoint (ai8x-training's `-q.pth.tar` layout)
  quantize-wBITS.json        per layer: scale exponent k, shift, clipped weights/biases, error;
                             with --emulate, the emulated chip accuracy on the test set
  emulated-wBITS.npy         (--emulate) the final outputs by fashionlib.chip_forward (N x 10)

The rule (docs/evaluation.md): per layer, weights become w_q = clip(round(w * 2^(BITS-1+k)),
-2^(BITS-1), 2^(BITS-1)-1), the bias b_q = clip(round(b' * 2^(BITS-1+k)), -128, 127) where b' is
the float bias plus the mean error the weight rounding causes on calibration data (bias
correction), and the checkpoint's output_shift is -k, so that izer's shift -k + 8 - BITS brings
the accumulator back to the activations' scale (1/128 per unit). k is chosen per layer, in
network order, among the values whose shift lies in [-15, 15]: the one whose chip-exact output
on 1,000 training images (fed by the already quantized layers before it) is closest (mean
squared error) to the float network's activations.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fashionlib as fl  # noqa: E402


def pool(spec: fl.LayerSpec, x: torch.Tensor) -> torch.Tensor:
    if spec.pool > 1:
        return F.max_pool2d(x, spec.pool, spec.pool_stride or spec.pool)
    return x


def float_pre(spec: fl.LayerSpec, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The layer's pre-activation without bias, float weights, on float input (pooled)."""
    if spec.flatten:
        return F.conv2d(x.reshape(x.shape[0], -1, 1, 1), w.reshape(w.shape[0], -1, 1, 1))
    return F.conv2d(x, w, padding=spec.pad)


def quantize_layer(spec, w_f, b_f, bits, x_q, target, bias_correction=True):
    """Choose k for one layer; returns (QLayer, info, chip output on x_q)."""
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    wmax = float(np.abs(w_f).max()) or 1.0
    # k with no clipping: wmax * 2^(bits-1+k) <= qmax + 0.5 (1-bit: qmin - 0.5)
    top = (qmax + 0.5) if bits > 1 else 1.5
    k0 = int(np.floor(np.log2(top / wmax))) - (bits - 1)
    cands = [k for k in range(k0 - 2, k0 + 5) if -15 <= -k + 8 - bits <= 15]
    xin = pool(spec, x_q.float() / 128.0)
    pre_f = float_pre(spec, torch.from_numpy(w_f.astype(np.float32)), xin).double()
    best = None
    for k in cands:
        scale = 2.0 ** (bits - 1 + k)
        w_q = np.clip(np.round(w_f * scale), qmin, qmax)
        b_eff = b_f.astype(np.float64).copy()
        if bias_correction:
            pre_q = float_pre(spec, torch.from_numpy((w_q / scale).astype(np.float32)), xin)
            b_eff += (pre_f - pre_q).mean(dim=(0, 2, 3)).numpy()
        b_raw = np.round(b_eff * scale)
        b_q = np.clip(b_raw, -128, 127)
        q = fl.QLayer(spec, w_q.astype(np.int64), b_q.astype(np.int64), bits, -k + 8 - bits)
        out = fl.chip_layer(q, x_q)
        approx = out / (128.0 * scale) if spec.wide else out / 128.0
        err = float(((approx - target.reshape(approx.shape)) ** 2).mean())
        info = {"k": k, "output_shift": -k, "shift": -k + 8 - bits, "mse": err,
                "weights_clipped": int((np.round(w_f * scale) != w_q).sum()),
                "biases_clipped": int((b_raw != b_q).sum()),
                "weight_range": [int(w_q.min()), int(w_q.max())]}
        if best is None or err < best[1]["mse"]:
            best = (q, info, out)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, required=True, choices=[1, 2, 4, 8])
    ap.add_argument("--float", dest="float_model", type=pathlib.Path,
                    default=fl.BUILD_DIR / "fashion-float.pth")
    ap.add_argument("--out", type=pathlib.Path, default=fl.BUILD_DIR)
    ap.add_argument("--calibration", type=int, default=1000,
                    help="training images used to choose the shifts")
    ap.add_argument("--no-bias-correction", action="store_true")
    ap.add_argument("--emulate", action="store_true",
                    help="also run the test set through fashionlib.chip_forward")
    ap.add_argument("--test-x", type=pathlib.Path, default=None,
                    help="test samples for --emulate (default OUT/test_x.npy)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    model = fl.FashionNet()
    model.load_state_dict(torch.load(str(args.float_model), map_location="cpu"))
    model.eval()

    train_img, _ = fl.load_split("train")
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(train_img), size=args.calibration, replace=False))
    calib = fl.to_int8(train_img[idx])
    acts = []
    with torch.no_grad():
        model(fl.to_float(calib), collect=acts)
    acts = [a.double() for a in acts]

    x_q = torch.from_numpy(calib.astype(np.float32))
    qlayers, infos = [], []
    with torch.no_grad():
        for spec, target in zip(model.specs, acts):
            op = getattr(model, spec.name).op
            q, info, x_q = quantize_layer(spec, op.weight.numpy(), op.bias.numpy(), args.bits,
                                          x_q, target,
                                          bias_correction=not args.no_bias_correction)
            qlayers.append(q)
            infos.append({"layer": spec.name, **info})
            print(f"{args.bits}-bit {spec.name}: k {info['k']}, shift {info['shift']}, "
                  f"weights clipped {info['weights_clipped']}, biases clipped "
                  f"{info['biases_clipped']}, mse {info['mse']:.3g}", flush=True)

    stem = f"fashion-w{args.bits}"
    yaml_path = args.out / f"{stem}.yaml"
    ckpt_path = args.out / f"{stem}-q.pth.tar"
    yaml_path.write_text(fl.yaml_text(
        model.specs, [args.bits] * len(model.specs),
        comment=f"Fashion-MNIST, {args.bits}-bit weights: written by examples/fashion/quantize.py"
                "\nInput: 1x28x28 int8 (CHW), pixel p -> clip(round(p/255*256 - 128))"))
    fl.write_q_checkpoint(ckpt_path, qlayers,
                          extras={"quantized_by": "examples/fashion/quantize.py",
                                  "weight_bits": args.bits})
    report = {"bits": args.bits, "yaml": yaml_path.name, "checkpoint": ckpt_path.name,
              "calibration_images": args.calibration,
              "bias_correction": not args.no_bias_correction, "layers": infos}
    if args.emulate:
        test_x = np.load(args.test_x or args.out / "test_x.npy")
        test_y = np.load((args.test_x or args.out / "test_x.npy").parent / "test_y.npy")
        out = fl.chip_forward(qlayers, test_x).reshape(len(test_x), -1)
        np.save(args.out / f"emulated-w{args.bits}.npy", out.astype(np.int64))
        report["emulated_accuracy"] = float((out.argmax(1) == test_y).mean())
        print(f"{args.bits}-bit emulated chip accuracy: {100 * report['emulated_accuracy']:.2f}%")
    (args.out / f"quantize-w{args.bits}.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"-> {yaml_path}, {ckpt_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
