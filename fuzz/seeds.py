#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (fuzz/fuzz_*.cpp), gathered from the parity corpus and made
here: `fuzz/seeds.py OUT_DIR [--parity DIR]` writes
OUT_DIR/{yaml,npy,npz,checkpoint,c_source}/.

- yaml: every distinct network.yaml of the corpus (up to --max-yaml bytes).
- npy: small input.npy files, small arrays of weights.npz, and arrays of every dtype, shape and
  header version numpy writes.
- npz: small weights.npz files, plus weights.npz files for the fuzz targets' fixed network
  (fuzz/targets.cpp, kFixedNetworkYaml), stored and deflated.
- checkpoint: torch.save checkpoints for the fixed network in several flavours (and, when
  PyTorch is missing, none: the target still runs on its regression files).
- c_source: the first --max-c bytes of small generated C files of the corpus (sampleoutput.h,
  sampledata.h, weights.h, main.c) and the same texts in other layouts (CRLF, the opening
  brace on a continued line, comments between the values).
Nothing here names a corpus case: files are picked by size.
"""
import argparse
import hashlib
import io
import json
import pathlib
import zipfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def write(out: pathlib.Path, data: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def npy_bytes(a: np.ndarray, version=None) -> bytes:
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npz_bytes(arrays: dict, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def fixed_network_weights(rng: np.random.Generator, bits: int):
    """Integer weights for kFixedNetworkYaml: conv 1->4 3x3, conv 4->4 1x1, linear 64->10."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    w = [rng.integers(lo, hi + 1, size=s) for s in [(4, 1, 3, 3), (4, 4, 1, 1), (10, 64)]]
    b = [rng.integers(-128, 128, size=n) for n in (4, 4, 10)]
    return w, b


def npz_seeds(rng) -> list:
    out = []
    for bits in (8, 4, 2, 1):
        w, b = fixed_network_weights(rng, bits)
        arrays = {
            "weight_000": w[0].reshape(4, 3, 3).astype(np.int8),
            "weight_001": w[1].reshape(16, 1, 1).astype(np.int8),
            "weight_002": w[2].reshape(1, 10, 64).astype(np.int8),
            "bias_000": b[0].astype(np.int64),
            "bias_001": b[1].astype(np.int64),
            "bias_002": b[2].astype(np.int64),
            "output_shift": np.array([0, -1, 1], dtype=np.int64),
            "quantization": np.array([bits, bits, bits], dtype=np.int64),
        }
        for compressed in (False, True):
            out.append(npz_bytes(arrays, compressed))
    return out


def checkpoint_seeds(rng) -> list:
    try:
        import torch
    except Exception:  # PyTorch is only needed for these seeds
        return []
    out = []

    def save(obj, legacy=False) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
        return buf.getvalue()

    names = ["conv1", "conv2", "fc"]
    for bits in (8, 4, 2, 1):
        w, b = fixed_network_weights(rng, bits)
        sd = {}
        for n, wi, bi in zip(names, w, b):
            sd[f"{n}.output_shift"] = torch.tensor([float(rng.integers(-1, 2))])
            sd[f"{n}.weight_bits"] = torch.tensor([float(bits)])
            sd[f"{n}.bias_bits"] = torch.tensor([8.0])
            sd[f"{n}.op.weight"] = torch.tensor(wi, dtype=torch.float32)
            sd[f"{n}.op.bias"] = torch.tensor(bi * (1 << (bits - 1)), dtype=torch.float32)
        out.append(save({"state_dict": sd, "epoch": 3, "arch": "fuzznet"}))
        if bits == 8:
            # nn.Parameter tensors, an OrderedDict, optimizer-like extra objects
            import collections
            od = collections.OrderedDict(
                (k, torch.nn.Parameter(v, requires_grad=False)) for k, v in sd.items())
            out.append(save({"state_dict": od, "epoch": 1, "arch": "FuzzNet",
                             "extras": {"lr": 0.1, "milestones": [1, 2], "name": "x"}}))
            # a strided (transposed) view and int64/float64 storages
            sd2 = dict(sd)
            sd2["fc.op.weight"] = torch.tensor(w[2].T.copy(), dtype=torch.float64).t()
            sd2["conv1.op.bias"] = torch.tensor(b[0] * 128, dtype=torch.int64)
            out.append(save({"state_dict": sd2, "epoch": 2}))
            # BatchNorm not folded, float weights (not quantized)
            sd3 = dict(sd)
            sd3["conv1.bn.weight"] = torch.ones(4)
            out.append(save({"state_dict": sd3, "epoch": 1, "arch": "fuzznet"}))
            sd4 = {k: (v * 0.01 if k.endswith("op.weight") else v) for k, v in sd.items()}
            out.append(save({"state_dict": sd4, "epoch": 1, "arch": "fuzznet"}))
            out.append(save({"state_dict": sd, "epoch": 3}, legacy=True))
    return out


def npy_seeds(rng) -> list:
    out = []
    for dt in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "b1"]:
        a = rng.integers(-128, 128, size=(2, 3, 4)).astype(dt)
        out.append(npy_bytes(a))
    out.append(npy_bytes(np.zeros((1, 28, 28), dtype=np.int8)))
    out.append(npy_bytes(np.arange(12, dtype=np.int64).reshape(3, 4)))
    out.append(npy_bytes(np.arange(24, dtype=np.int8).reshape(2, 3, 4), version=(2, 0)))
    out.append(npy_bytes(np.arange(6, dtype=np.int16).reshape(2, 3), version=(3, 0)))
    out.append(npy_bytes(np.asfortranarray(np.arange(6, dtype=np.int8).reshape(2, 3))))
    out.append(npy_bytes(np.zeros((0, 3), dtype=np.int8)))
    out.append(npy_bytes(np.array(5, dtype=np.int32)))
    out.append(npy_bytes(np.arange(8, dtype=">i4")))
    out.append(npy_bytes(np.arange(8, dtype=np.int8).reshape(2, 2, 2, 1)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--parity", type=pathlib.Path, default=ROOT.parent / "shared" / "parity")
    ap.add_argument("--max-yaml", type=int, default=8192)
    ap.add_argument("--max-npy", type=int, default=4096)
    ap.add_argument("--max-npz", type=int, default=8192)
    ap.add_argument("--max-c", type=int, default=8192)
    ap.add_argument("--c-files", type=int, default=40, help="generated C files to take")
    args = ap.parse_args()
    rng = np.random.default_rng(8)
    counts = {}

    def add(target: str, data: bytes) -> None:
        write(args.out / target, data)
        counts[target] = counts.get(target, 0) + 1

    # The corpus's cases and its pending/ cases (tests/parity/corpus.py).
    cases = sorted(c for d in (args.parity / "cases", args.parity / "pending" / "cases")
                   if d.is_dir() for c in d.glob("*"))
    for case in cases:
        y = case / "network.yaml"
        if y.is_file() and y.stat().st_size <= args.max_yaml:
            add("yaml", y.read_bytes())
        i = case / "input.npy"
        if i.is_file() and i.stat().st_size <= args.max_npy:
            add("npy", i.read_bytes())
        w = case / "weights.npz"
        if w.is_file() and w.stat().st_size <= args.max_npz:
            add("npz", w.read_bytes())
            with zipfile.ZipFile(w) as z:
                for info in z.infolist()[:3]:
                    if info.file_size <= args.max_npy:
                        add("npy", z.read(info))
    import gzip
    c_taken = 0
    for case in cases:
        gen = case / "generated"
        for name in ("sampleoutput.h", "sampledata.h", "weights.h", "main.c"):
            if c_taken >= args.c_files:
                break
            for p in (gen / name, gen / (name + ".gz")):
                if not p.is_file() or p.stat().st_size > 4 * args.max_c:
                    continue
                text = gzip.open(p, "rb").read() if p.suffix == ".gz" else p.read_bytes()
                text = text[:args.max_c]
                add("c_source", text)
                add("c_source", text.replace(b"\n", b"\r\n"))
                add("c_source", text.replace(b" { \\\n", b" \\\n    { \\\n")
                    .replace(b", ", b", /* v */ "))
                c_taken += 1
    for data in npy_seeds(rng):
        add("npy", data)
    for data in npz_seeds(rng):
        add("npz", data)
    for data in checkpoint_seeds(rng):
        add("checkpoint", data)
    # The hand-made seeds kept in the tree (tiny, one per target at most).
    for target in ("yaml", "npy", "npz", "checkpoint", "c_source"):
        for f in sorted((ROOT / "tests" / "data" / "fuzz-regressions" / target).glob("*")):
            if f.is_file() and f.name != "README.md":
                add(target, f.read_bytes())
    for target in ("yaml", "npy", "npz", "checkpoint", "c_source"):
        (args.out / target).mkdir(parents=True, exist_ok=True)
        files = list((args.out / target).iterdir())
        print(f"{target}: {len(files)} seeds in {args.out / target}")


if __name__ == "__main__":
    main()
