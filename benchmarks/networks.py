#!/usr/bin/python3
"""Whole-network throughput of ai8xsim on the model-zoo networks of the parity corpus, side by
side with izer's recorded time and with a PyTorch float32 forward of the same layer shapes.

For every `demo-*` case of one device (default MAX78000) it:
  1. runs build/benchmarks/net_bench (built with -DAI8XSIM_BENCHMARKS=ON) on the case: the
     case's input once, every layer compared here with izer's expected.npz; then a batch of
     --samples copies (each output must equal the single run's), timing Simulator::run_batch
     only (load, resolution and weight packing are excluded);
  2. builds the same network in PyTorch from the layer geometry net_bench dumps (random float32
     weights of the same shapes; after each layer the ops a fake-quant evaluation adds: scale,
     round, clamp to [-128, 127], activation) and times its forward on batches of --torch-batch
     with torch.set_num_threads(--threads);
  3. alternates 1 and 2 for --rounds rounds (so that a change of machine load hits both) and
     reports medians.

Columns: ai8xsim samples/s and GMAC/s; izer's recorded wall time (index.json) divided by
ai8xsim's time per sample; ai8xsim samples/s divided by PyTorch's; the whole `ai8xsim run`
process on the case's one sample (load + run + write, for comparison with izer's whole-process
time); whether every layer equals izer's. Writes benchmarks/networks.md (and .json).

usage: /usr/bin/python3 benchmarks/networks.py [--build build-perf] [--threads 2]
        [--samples 256] [--torch-batch 64] [--rounds 3] [--networks mnist,kws20] [--device MAX78000]
        [--no-torch]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "parity"))
import corpus as C  # noqa: E402


# ---- ai8xsim --------------------------------------------------------------------------------------

def bench_args(corpus, case, m):
    d = corpus / "cases" / case
    return ["--config-file", str(d / m["config"]), "--checkpoint-file", str(d / m["weights"]),
            "--sample-input", str(d / (m["sample_input"] or "input.npy")),
            "--device", m["device"]] + C.run_flags(m)


def run_net_bench(exe, corpus, case, m, samples, threads, repeat, dump=None, geometry=None):
    args = [str(exe)] + bench_args(corpus, case, m) + [
        "--samples", str(samples), "--threads", str(threads), "--repeat", str(repeat)]
    if dump:
        args += ["--dump-layers", str(dump)]
    if geometry:
        args += ["--geometry", str(geometry)]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"{case}: net_bench failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


def equal_to_izer(corpus, case, dump):
    rows = C.compare_layers(dict(np.load(corpus / "cases" / case / "expected.npz")), dump)
    bad = [r for r in rows if r[1] != r[2]]
    return not bad, len(rows), bad


def cli_wall(exe_cli, corpus, case, m, repeat=3):
    """Whole `ai8xsim run` process on the case's one sample (best of `repeat`)."""
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(exe_cli)] + C.cli_args(corpus, case, m, m["weights"]) + [
            "--output", str(pathlib.Path(tmp) / "out.npy"), "--quiet"]
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
    return best


# ---- PyTorch float32 model of the same geometry ----------------------------------------------------

def torch_model(geo, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)

    def rnd(*shape):  # small integer-valued weights (no denormals, as a quantized net)
        return torch.randint(-8, 8, shape, generator=gen).float()

    layers = []
    for L in geo["layers"]:
        op = L["op"]
        w = b = None
        if op != "passthrough":
            cin = L["weight_in_channels"] // L["groups"]
            k = L["kernel"]
            if op == "conv1d":
                w = rnd(L["out_channels"], cin, k[0])
            elif op == "convtranspose2d":
                w = rnd(L["in_channels"], L["out_channels"] // L["groups"], k[0], k[1])
            elif op == "linear":
                w = rnd(L["out_channels"], L["weight_in_channels"])
            else:
                w = rnd(L["out_channels"], cin, k[0], k[1])
            b = rnd(L["out_channels"])
        layers.append((L, w, b))

    def fake_quant(y, L):
        y = torch.round(y * (2.0 ** (L["output_shift"] - 7)))
        if L["output_width"] != 32:
            y = torch.clamp(y, -128, 127)
        if L["activation"] == "ReLU":
            y = torch.clamp(y, 0, 127)
        elif L["activation"] == "Abs":
            y = torch.clamp(torch.abs(y), 0, 127)
        return y

    def pool(x, L):
        one_d = L["op"] == "conv1d"
        p, s = L["pool"], L["pool_stride"]
        if p[0] <= 1 and p[1] <= 1:
            if s[0] > 1 or s[1] > 1:
                return x[:, :, ::s[0], ::(1 if one_d else s[1])]
            return x
        if one_d:
            x1 = x.squeeze(3)
            x1 = (F.avg_pool1d if L["avg"] else F.max_pool1d)(x1, p[0], s[0])
            return x1.unsqueeze(3)
        return (F.avg_pool2d if L["avg"] else F.max_pool2d)(x, tuple(p), tuple(s))

    def eltwise(ops, L):
        y = ops[0]
        for o in ops[1:]:
            y = y - o if L["eltwise"] == "sub" else y + o
        return torch.clamp(y, -128, 127) if L["output_width"] != 32 else y

    def forward(x):
        n = x.shape[0]
        # The engine's slots: a layer's output goes to the slot of the layer that runs next;
        # a layer reads its own slot, or slot i + 1 for each `in_sequences` entry i.
        slots = {0: x}
        y = x
        for L, w, b in layers:
            seq = L["in_sequences"]
            parts = [slots[L["layer"]]] if not seq else [slots[i + 1] for i in seq]
            if len(parts) == 1:
                t = parts[0]
            elif all(p.shape[2:] == parts[0].shape[2:] for p in parts):
                t = torch.cat(parts, 1)
            else:
                t = torch.cat([p.reshape(n, p.shape[1], -1) for p in parts], 2)
            ops = list(torch.chunk(t, L["operands"], 1)) if L["operands"] > 1 else [t]
            if L["operands"] > 1 and not L["pool_first"]:
                ops = [eltwise(ops, L)]
            c0, c1 = L["in_crop"]
            if c0 or c1:
                ops = [o[:, :, c0:o.shape[2] - c1] for o in ops]
            dims = L["input_dim"]
            ops = [o.reshape(n, -1, dims[0], dims[1] if L["op"] != "conv1d" else 1) for o in ops]
            ops = [pool(o, L) for o in ops]
            if L["operands"] > 1 and L["pool_first"]:
                ops = [eltwise(ops, L)]
            y = ops[0]
            op = L["op"]
            if op == "passthrough":
                pass
            else:
                pad, st, dil, g = L["pad"], L["stride"], L["dilation"], L["groups"]
                if L["flatten"] or op == "linear":
                    y = F.linear(y.reshape(n, -1), w, b).reshape(n, -1, 1, 1)
                elif op == "conv1d":
                    y = F.conv1d(y.squeeze(3), w, b, st[0], pad[0], dil[0], g).unsqueeze(3)
                elif op == "convtranspose2d":
                    y = F.conv_transpose2d(y, w, b, tuple(st), tuple(pad),
                                           tuple(L["output_padding"]), g, tuple(dil))
                else:
                    y = F.conv2d(y, w, b, tuple(st), tuple(pad), tuple(dil), g)
                y = fake_quant(y, L)
            if L["next"] == -1:
                break
            slots[L["next"]] = y
        return y

    return forward


def torch_bench(geo, threads, batch, repeat):
    import torch
    forward = torch_model(geo, threads)
    c, h, w = geo["input"]
    x = torch.randint(-128, 128, (batch, c, h, w), generator=torch.Generator().manual_seed(1)).float()
    secs = []
    with torch.inference_mode():
        forward(x)  # warm-up
        y = forward(x)
        for _ in range(repeat):
            t0 = time.perf_counter()
            forward(x)
            secs.append(time.perf_counter() - t0)
    return {"seconds": secs, "median_s": statistics.median(secs),
            "samples_per_s": batch / statistics.median(secs), "output_shape": list(y.shape[1:])}


# ---- driver ---------------------------------------------------------------------------------------------

def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build-perf"))
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "parity"))
    ap.add_argument("--device", default="MAX78000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=256, help="ai8xsim batch size")
    ap.add_argument("--torch-batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3, help="timed batches per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--networks", default="", help="comma-separated substrings of case names")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "networks.md"))
    a = ap.parse_args()

    corpus = pathlib.Path(a.corpus)
    build = pathlib.Path(a.build)
    exe = build / "benchmarks" / "net_bench"
    exe_cli = build / "ai8xsim"
    if not exe.is_file():
        sys.exit(f"{exe} not found: build with -DAI8XSIM_BENCHMARKS=ON")
    index = C.load_index(corpus)
    filters = [f for f in a.networks.split(",") if f]
    cases = [c for c, v in sorted(index.items())
             if c.startswith("demo-") and v["status"] == "ok" and v["device"] == a.device
             and (not filters or any(f in c for f in filters))]
    load_before = load_average()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
          flush=True)
    results = []
    for case in cases:
        m = C.meta(corpus, case)
        name = case[len("demo-"):].rsplit("-", 1)[0]
        with tempfile.TemporaryDirectory() as tmp:
            dump = pathlib.Path(tmp) / "layers"
            dump.mkdir()
            geo_path = pathlib.Path(tmp) / "geometry.json"
            first = run_net_bench(exe, corpus, case, m, a.samples, a.threads, a.repeat,
                                  dump, geo_path)
            ok, n_arrays, bad = equal_to_izer(corpus, case, dump)
            geo = json.loads(geo_path.read_text())
        sim_rates = [a.samples / s for s in first["seconds"]]
        torch_rates = []
        batch_equal = first["check"]["batch_equal_single"]
        for r in range(a.rounds):
            if not a.no_torch:
                tb = torch_bench(geo, a.threads, a.torch_batch, a.repeat)
                torch_rates += [a.torch_batch / s for s in tb["seconds"]]
            if r + 1 < a.rounds:
                nb = run_net_bench(exe, corpus, case, m, a.samples, a.threads, a.repeat)
                sim_rates += [a.samples / s for s in nb["seconds"]]
                batch_equal = batch_equal and nb["check"]["batch_equal_single"]
        sps = statistics.median(sim_rates)
        macs = first["macs_per_sample"]
        izer_s = index[case]["izer_wall_time_s"]
        row = {
            "network": name, "case": case, "threads": a.threads, "samples": a.samples,
            "ai8xsim_samples_per_s": sps, "ai8xsim_gmac_per_s": sps * macs / 1e9,
            "macs_per_sample": macs, "izer_wall_time_s": izer_s,
            "speedup_vs_izer": izer_s * sps,
            "torch_samples_per_s": statistics.median(torch_rates) if torch_rates else None,
            "cli_one_sample_s": cli_wall(exe_cli, corpus, case, m),
            "equal_to_izer": ok and batch_equal, "izer_arrays_compared": n_arrays,
            "differences": [f"{n} {x}/{y}" for n, x, y, _ in bad[:4]],
            "simd_target": first["simd_target"],
        }
        if row["torch_samples_per_s"]:
            row["ratio_vs_torch"] = sps / row["torch_samples_per_s"]
        results.append(row)
        print(f"{name:18s} {sps:9.1f} samples/s {row['ai8xsim_gmac_per_s']:6.2f} GMAC/s  "
              f"x{row['speedup_vs_izer']:8.0f} vs izer  "
              + (f"torch {row['torch_samples_per_s']:8.1f}/s  ratio {row['ratio_vs_torch']:5.2f}  "
                 if row["torch_samples_per_s"] else "")
              + f"cli {row['cli_one_sample_s']:.3f} s  "
              + ("equal" if row["equal_to_izer"] else "DIFFERS " + ", ".join(row["differences"])),
              flush=True)
    load_after = load_average()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    write_report(a, results, load_before, load_after, pathlib.Path(a.out))


def write_report(a, results, load_before, load_after, out):
    import torch
    cmd = "/usr/bin/python3 benchmarks/networks.py " + " ".join(sys.argv[1:])
    lines = [
        "# Whole-network throughput (benchmarks/networks.py)", "",
        f"Command: `{cmd}`  ",
        f"Machine: {os.cpu_count()} cores, SIMD target {results[0]['simd_target'] if results else '?'}, "
        f"PyTorch {torch.__version__}; {time.strftime('%Y-%m-%d %H:%M')}  ",
        f"Load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}  ",
        f"ai8xsim: Simulator::run_batch on {a.samples} samples, {a.threads} threads, "
        f"median of {a.rounds} x {a.repeat} batches. PyTorch: float32 forward of the same layer "
        f"shapes with fake-quant rounding/clamping, batch {a.torch_batch}, "
        f"torch.set_num_threads({a.threads}), median of {a.rounds} x {a.repeat} batches, "
        "alternating with ai8xsim.", "",
        "| network | MMAC/sample | ai8xsim samples/s | GMAC/s | izer s (recorded) | x izer "
        "| PyTorch samples/s | x PyTorch | `ai8xsim run` 1 sample, whole process | = izer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        t = r["torch_samples_per_s"]
        tr = f"{r['ratio_vs_torch']:.2f}" if t else "-"
        lines.append(
            f"| {r['network']} | {r['macs_per_sample'] / 1e6:.1f} | {r['ai8xsim_samples_per_s']:.1f} "
            f"| {r['ai8xsim_gmac_per_s']:.2f} | {r['izer_wall_time_s']:.2f} "
            f"| {r['speedup_vs_izer']:.0f} | {f'{t:.1f}' if t else '-'} "
            f"| {tr} "
            f"| {r['cli_one_sample_s']:.3f} s | "
            + ("yes" if r["equal_to_izer"] else "NO: " + ", ".join(r["differences"])) + " |")
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(
        {"command": cmd, "load_before": load_before, "load_after": load_after,
         "results": results}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
