"""Write the weights ai8xsim loads, as a weights.npz that `run`, `check` and `eval
--checkpoint-file` accept: for a float checkpoint, the integers of the one quantizer
(sim/model/quantize.cpp, ai8x-synthesis quantize.py's rules) at the widths asked for.

    ai8xsim.write_weights("net.yaml", "float.pth.tar", "q.npz", weight_bits={0: 8, 1: 4})
    ai8xsim quantize --config-file net.yaml --checkpoint-file float.pth.tar \\
        --weight-bits 0:8,1:4 --output q.npz       # (or --weight-bits 4: every layer)

The file holds izer's loaded values (docs/checkpoint-format.md, "weights.npz"): weight_NNN
(int8), bias_NNN (int64, scaled), and per YAML layer output_shift (implicit shift included)
and quantization (0: no weights)."""
import argparse
import io
import os
import sys
import tempfile
import zipfile

import numpy as np

from ._core import Error, core


def npz_arrays(net):
    """The weights.npz arrays (name -> array) of a loaded network (ai8xsim.Simulator)."""
    layers = net._sim.weights()
    out = {}
    for i, w in enumerate(layers):
        if w["weights"] is not None:
            out[f"weight_{i:03d}"] = np.asarray(w["weights"], dtype=np.int8)
        if w["bias"] is not None:
            out[f"bias_{i:03d}"] = np.asarray(w["bias"], dtype=np.int64)
    out["output_shift"] = np.array([w["output_shift"] for w in layers], dtype=np.int64)
    out["quantization"] = np.array([w["quantization"] for w in layers], dtype=np.int64)
    return out


def write_atomically(path, data: bytes):
    """Write `data` to `path` through a temporary file in the same directory and a rename, so
    that `path` is either absent, the old file, or complete."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_weights(config_file, checkpoint_file, output, device="MAX78000", weight_bits=None,
                  **options):
    """Load the network (quantizing a float checkpoint with `weight_bits` {yaml_layer: bits})
    and write its weights to `output` (.npz). Returns the loaded ai8xsim.Simulator."""
    from .simulator import load
    if not os.fspath(output).endswith(".npz"):
        raise Error(f"write_weights: output {os.fspath(output)!r}; the weights file is a .npz "
                    f"(name it e.g. q.npz)")
    net = load(config_file, checkpoint_file, device=device, weight_bits=weight_bits, **options)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, a in npz_arrays(net).items():
            member = io.BytesIO()
            np.save(member, a)
            z.writestr(name + ".npy", member.getvalue())
    write_atomically(output, buf.getvalue())
    return net


def weight_layers(config_file, checkpoint_file, device):
    """The YAML layers that take weights (quietly loaded: no notes printed)."""
    sim = core.Simulator.load(os.fspath(config_file), os.fspath(checkpoint_file),
                              device=str(device))
    return [i for i, w in enumerate(sim.weights()) if w["weights"] is not None]


def parse_bits(text, weight_layers, option="--weight-bits"):
    """'4' (every layer with weights) or '0:8,3:4' (YAML layer: bits) -> {layer: bits}."""
    text = text.strip()
    try:
        if ":" not in text:
            b = int(text)
            out = {ll: b for ll in weight_layers}
        else:
            out = {}
            for part in text.split(","):
                ll, b = part.split(":")
                out[int(ll)] = int(b)
    except ValueError:
        raise Error(f"{option}: found {text!r}; give one width for every layer (e.g. 4) or "
                    f"layer:bits pairs (e.g. 0:8,3:4), widths 1, 2, 4 or 8") from None
    bad = sorted({b for b in out.values() if b not in (1, 2, 4, 8)})
    if bad:
        raise Error(f"{option}: found width {bad[0]}; allowed 1, 2, 4 or 8")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="ai8xsim quantize",
        description="Write the weights (weights.npz) ai8xsim loads from a checkpoint; a float "
                    "checkpoint is quantized as `run`/`eval` quantize it, at --weight-bits.")
    ap.add_argument("--config-file", required=True, help="izer's network YAML")
    ap.add_argument("--checkpoint-file", required=True, help="the (float) checkpoint")
    ap.add_argument("--device", default="MAX78000")
    ap.add_argument("--weight-bits", default=None,
                    help="a width for every layer (8, 4, 2, 1) or YAML layer:bits pairs, "
                         "e.g. 0:8,3:4 (default: the YAML's / checkpoint's widths)")
    ap.add_argument("--output", required=True, help="the weights file to write (.npz)")
    args = _parse(ap, argv)
    try:
        bits = None
        if args.weight_bits is not None:
            bits = parse_bits(args.weight_bits,
                              weight_layers(args.config_file, args.checkpoint_file, args.device))
        write_weights(args.config_file, args.checkpoint_file, args.output,
                      device=args.device, weight_bits=bits)
    except (Error, OSError) as e:
        print(f"ai8xsim: error: {e}", file=sys.stderr)
        return 1
    print(f"-> {args.output}")
    return 0


def _parse(ap, argv):
    """argparse with its usage errors as one `ai8xsim: error:` line."""
    def error(message):
        print(f"ai8xsim: error: {ap.prog}: {message} (see {ap.prog} --help)", file=sys.stderr)
        sys.exit(1)
    ap.error = error
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
