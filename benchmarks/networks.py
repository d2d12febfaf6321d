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
time); whether every layer equals izer's. Writes benchmarks/results/networks.md (and .json; --out to name it).

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
    d = C.case_dir(corpus, case)
    return ["--config-file", str(d / m["config"]), "--checkpoint-file", str(d / m["weights"]),
            "--sample-input", str(d / (m["sample_input"] or "input.npy")),
            "--device", m["device"]] + C.run_flags(m)


def run_net_bench(exe, corpus, case, m, samples, threads, repeat, min_time, dump=None,
                  geometry=None, env=None):
    args = [str(exe)] + bench_args(corpus, case, m) + [
        "--samples", str(samples), "--threads", str(threads), "--repeat", str(repeat),
        "--min-time", str(min_time)]
    if dump:
        args += ["--dump-layers", str(dump)]
    if geometry:
        args += ["--geometry", str(geometry)]
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"{case}: net_bench failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


def equal_to_izer(corpus, case, dump):
    rows = C.compare_layers(dict(np.load(C.case_dir(corpus, case) / "expected.npz")), dump)
    bad = [r for r in rows if r[1] != r[2]]
    return not bad, len(rows), bad


def cli_wall(exe_cli, corpus, case, m, repeat=3, env=None):
    """Whole `ai8xsim run` process on the case's one sample (best of `repeat`)."""
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(exe_cli)] + C.cli_args(corpus, case, m, m["weights"]) + [
            "--output", str(pathlib.Path(tmp) / "out.npy"), "--quiet"]
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True, env=env)
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
    return best


# ---- PyTorch float32 model of the same geometry ----------------------------------------------------

def torch_model(geo, threads, quantized=False):
    """The network as a PyTorch forward: float32 with the fake-quant steps after every layer, or
    (quantized=True) int8 on PyTorch's quantized CPU engine (oneDNN): quint8 activations,
    qint8 weights, the quantized convolution / linear modules, quantized pooling and add; the
    requantization to 8 bits is part of each quantized op. oneDNN takes no output_padding in a
    transposed convolution: it runs without and the output is padded (same MACs)."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    if quantized:
        return torch_int8_model(geo)
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

    def fake_quant(y, L):  # in place: y is the fresh output of the layer's convolution
        y.mul_(2.0 ** (L["output_shift"] - 7)).round_()
        if L["activation"] == "ReLU":
            y.clamp_(0, 127)
        elif L["activation"] == "Abs":
            y.abs_().clamp_(0, 127)
        elif L["output_width"] != 32:
            y.clamp_(-128, 127)
        return y

    def eltwise(ops, L):
        y = ops[0]
        for o in ops[1:]:
            y = y - o if L["eltwise"] == "sub" else y + o
        return torch.clamp(y, -128, 127) if L["output_width"] != 32 else y

    def layer_op(y, L, params, n):
        w, b = params
        op = L["op"]
        if op == "passthrough":
            return y
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
        return fake_quant(y, L)

    return graph_forward([(L, (w, b)) for L, w, b in layers], eltwise, layer_op)


def pool_layer(x, L):
    """The layer's pooling (or stride-only subsampling) on N x C x H x W (1-D: W = 1)."""
    import torch.nn.functional as F

    one_d = L["op"] == "conv1d"
    p, s = L["pool"], L["pool_stride"]
    if p[0] <= 1 and p[1] <= 1:
        if s[0] > 1 or s[1] > 1:
            return x[:, :, ::s[0], ::(1 if one_d else s[1])]
        return x
    if one_d:
        x1 = x.reshape(x.shape[0], x.shape[1], -1)
        x1 = (F.avg_pool1d if L["avg"] else F.max_pool1d)(x1, p[0], s[0])
        return x1.unsqueeze(3)
    return (F.avg_pool2d if L["avg"] else F.max_pool2d)(x, tuple(p), tuple(s))


def graph_forward(layers, eltwise, layer_op):
    """forward(x) through the layers as the engine chains them: [(L, params)] in execution
    order; eltwise(operands, L) combines element-wise operands; layer_op(y, L, params, n) is
    the layer's own operation on its pooled input."""
    import torch

    def forward(x):
        n = x.shape[0]
        # The engine's slots: a layer's output goes to the slot of the layer that runs next;
        # a layer reads its own slot, or slot i + 1 for each `in_sequences` entry i.
        slots = {0: x}
        y = x
        for L, params in layers:
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
            ops = [pool_layer(o, L) for o in ops]
            if L["operands"] > 1 and L["pool_first"]:
                ops = [eltwise(ops, L)]
            y = layer_op(ops[0], L, params, n)
            if L["next"] == -1:
                break
            slots[L["next"]] = y
        return y

    return forward


def torch_int8_model(geo):
    import torch
    import torch.ao.nn.quantized as nnq
    import torch.nn.functional as F

    torch.backends.quantized.engine = "onednn"
    gen = torch.Generator().manual_seed(0)
    scale, zero = 1.0, 128  # every activation: quint8 with one scale (cat needs one)

    def qweight(shape):
        w = torch.randint(-8, 8, shape, generator=gen).float()
        return torch.quantize_per_tensor(w, 1.0, 0, torch.qint8)

    mods = []
    for L in geo["layers"]:
        op, m = L["op"], None
        if op != "passthrough":
            cin, cout, g, k = L["weight_in_channels"], L["out_channels"], L["groups"], L["kernel"]
            pad, st, dil = L["pad"], L["stride"], L["dilation"]
            if L["flatten"] or op == "linear":
                m = nnq.Linear(cin, cout)
            elif op == "conv1d":
                m = nnq.Conv1d(cin, cout, k[0], st[0], pad[0], dil[0], g)
            elif op == "convtranspose2d":
                m = nnq.ConvTranspose2d(cin, cout, tuple(k), tuple(st), tuple(pad), (0, 0), g,
                                        True, tuple(dil))
            else:
                m = nnq.Conv2d(cin, cout, tuple(k), tuple(st), tuple(pad), tuple(dil), g)
            m.set_weight_bias(qweight(tuple(m.weight().shape)),
                              torch.randint(-8, 8, (cout,), generator=gen).float())
            m.scale, m.zero_point = scale, zero
        mods.append((L, m))

    def eltwise(ops, L):
        y = ops[0]
        for o in ops[1:]:
            y = torch.ops.quantized.add(y, o, scale, zero)  # (sub costs the same)
        return y

    def layer_op(y, L, m, n):
        if m is None:
            return y
        op = L["op"]
        if L["flatten"] or op == "linear":
            y = m(y.reshape(n, -1)).reshape(n, -1, 1, 1)
        elif op == "conv1d":
            y = m(y.reshape(n, y.shape[1], -1)).unsqueeze(3)
        else:
            y = m(y)
            if op == "convtranspose2d" and any(L["output_padding"]):
                y = F.pad(y, (0, L["output_padding"][1], 0, L["output_padding"][0]))
        if L["activation"] in ("ReLU", "Abs"):
            y = torch.relu(y)
        return y

    return graph_forward(mods, eltwise, layer_op)


def torch_bench(geo, threads, batch, repeat, budget_s, quantized=False):
    """Timed forwards of a batch: at least 2 (after a warm-up), up to `repeat`, stopping once
    `budget_s` seconds have been spent timing."""
    import torch
    forward = torch_model(geo, threads, quantized)
    c, h, w = geo["input"]
    x = torch.randint(-128, 128, (batch, c, h, w), generator=torch.Generator().manual_seed(1)).float()
    if quantized:
        x = torch.quantize_per_tensor(x + 128, 1.0, 128, torch.quint8)
    secs = []
    with torch.inference_mode():
        y = forward(x)  # warm-up
        while len(secs) < 2 or (len(secs) < repeat and sum(secs) < budget_s):
            t0 = time.perf_counter()
            forward(x)
            secs.append(time.perf_counter() - t0)
    return {"seconds": secs, "samples_per_s": [batch / s for s in secs],
            "output_shape": list(y.shape[1:])}


def run_torch_worker(geo_path, threads, batch, repeat, budget_s, env, quantized=False):
    """torch_bench in a fresh process (its own allocator state, its own malloc settings)."""
    p = subprocess.run([sys.executable, __file__, "--torch-worker", str(geo_path),
                        "--threads", str(threads), "--torch-batch", str(batch),
                        "--repeat", str(repeat), "--torch-budget", str(budget_s)]
                       + (["--torch-int8"] if quantized else []),
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"torch worker failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout)


# ---- driver ---------------------------------------------------------------------------------------------

# glibc's defaults return large blocks to the kernel (mmap/munmap, heap trimming), so every
# large tensor comes back as fresh pages and page faults; on this VM a page fault is very
# expensive. The "tuned" runs keep freed memory in the process instead.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "1073741824"}


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def bench_network(a, exe, exe_cli, corpus, index, case, env_name, env):
    m = C.meta(corpus, case)
    name = case[len("demo-"):].rsplit("-", 1)[0]
    if "," in a.device:
        name += f" ({m['device']})"
    with tempfile.TemporaryDirectory() as tmp:
        dump = pathlib.Path(tmp) / "layers"
        dump.mkdir()
        geo_path = pathlib.Path(tmp) / "geometry.json"
        first = run_net_bench(exe, corpus, case, m, a.samples, a.threads, a.repeat, a.min_time,
                              dump, geo_path, env)
        ok, n_arrays, bad = equal_to_izer(corpus, case, dump)
        runs = [first]
        torch_rates = []
        for r in range(a.rounds):
            if not a.no_torch:
                tb = run_torch_worker(geo_path, a.threads, a.torch_batch, a.torch_repeat,
                                      a.torch_budget, env)
                torch_rates += tb["samples_per_s"]
            if r + 1 < a.rounds:
                runs.append(run_net_bench(exe, corpus, case, m, a.samples, a.threads, a.repeat,
                                          a.min_time, env=env))
    sim_rates = [x["samples"] / s for x in runs for s in x["seconds"]]
    cpu_use = [c / s for x in runs for c, s in zip(x["cpu_seconds"], x["seconds"])]
    batch_equal = all(x["check"]["batch_equal_single"] for x in runs)
    sps = statistics.median(sim_rates)
    macs = first["macs_per_sample"]
    izer_s = index[case]["izer_wall_time_s"]
    row = {
        "network": name, "case": case, "malloc": env_name, "threads": a.threads,
        "samples_per_batch": first["samples"],
        "ai8xsim_samples_per_s": sps, "ai8xsim_samples_per_s_all": sim_rates,
        "ai8xsim_gmac_per_s": sps * macs / 1e9, "cores_used": statistics.median(cpu_use),
        "latency_1thread_ms": 1e3 * statistics.median(x["latency_1thread_s"] for x in runs),
        "latency_threads_ms": 1e3 * statistics.median(x["latency_threads_s"] for x in runs),
        "macs_per_sample": macs, "izer_wall_time_s": izer_s, "speedup_vs_izer": izer_s * sps,
        "torch_samples_per_s": statistics.median(torch_rates) if torch_rates else None,
        "torch_samples_per_s_all": torch_rates,
        "cli_one_sample_s": cli_wall(exe_cli, corpus, case, m, env=env),
        "equal_to_izer": ok and batch_equal, "izer_arrays_compared": n_arrays,
        "differences": [f"{n} {x}/{y}" for n, x, y, _ in bad[:4]],
        "simd_target": first["simd_target"],
    }
    row["ratio_vs_torch"] = sps / row["torch_samples_per_s"] if torch_rates else None
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build-perf"))
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "parity"))
    ap.add_argument("--device", default="MAX78000",
                    help="MAX78000, MAX78002, or both separated by a comma")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=256,
                    help="ai8xsim batch size (grown until a batch takes --min-time)")
    ap.add_argument("--min-time", type=float, default=0.25,
                    help="seconds a timed ai8xsim batch takes at least")
    ap.add_argument("--torch-batch", type=int, default=64)
    ap.add_argument("--torch-budget", type=float, default=3.0,
                    help="seconds of timed PyTorch forwards per round (at least 2 forwards)")
    ap.add_argument("--torch-repeat", type=int, default=20,
                    help="timed PyTorch forwards per round (at most)")
    ap.add_argument("--repeat", type=int, default=3, help="timed batches per round (at most)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds of ai8xsim then PyTorch, alternating")
    ap.add_argument("--networks", default="", help="comma-separated substrings of case names")
    ap.add_argument("--malloc", default="default,tuned",
                    help="malloc settings to run under: default, tuned (see TUNED_MALLOC)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "networks.md"))
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    ap.add_argument("--torch-int8", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_worker:
        geo = json.loads(pathlib.Path(a.torch_worker).read_text())
        print(json.dumps(torch_bench(geo, a.threads, a.torch_batch, a.torch_repeat,
                                     a.torch_budget, a.torch_int8)))
        return

    corpus = pathlib.Path(a.corpus)
    build = pathlib.Path(a.build)
    exe = build / "benchmarks" / "net_bench"
    exe_cli = build / "ai8xsim"
    if not exe.is_file():
        sys.exit(f"{exe} not found: build with -DAI8XSIM_BENCHMARKS=ON")
    index = C.load_index(corpus)
    filters = [f for f in a.networks.split(",") if f]
    devices = [d.strip().upper() for d in a.device.split(",") if d.strip()]
    cases = [c for c, v in sorted(index.items(), key=lambda kv: (kv[1]["device"], kv[0]))
             if c.startswith("demo-") and v["status"] == "ok" and v["device"] in devices
             and (not filters or any(f in c for f in filters))]
    envs = []
    for e in a.malloc.split(","):
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        envs.append((e, clean if e == "default" else {**clean, **TUNED_MALLOC}))
    load_before = load_average()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
          flush=True)
    results = []
    for case in cases:
        for env_name, env in envs:
            row = bench_network(a, exe, exe_cli, corpus, index, case, env_name, env)
            results.append(row)
            t = row["torch_samples_per_s"]
            print(f"{row['network']:18s} {env_name:8s} {row['ai8xsim_samples_per_s']:9.1f}/s "
                  f"{row['ai8xsim_gmac_per_s']:5.0f} GMAC/s (cores {row['cores_used']:.2f}) "
                  f"x{row['speedup_vs_izer']:.0f} izer"
                  + (f"  torch {t:8.1f}/s x{row['ratio_vs_torch']:.1f}" if t else "")
                  + f"  lat {row['latency_1thread_ms']:.3f}/{row['latency_threads_ms']:.3f} ms"
                  + f"  cli {row['cli_one_sample_s']:.3f} s  "
                  + ("equal" if row["equal_to_izer"] else "DIFFERS " + ", ".join(row["differences"])),
                  flush=True)
    load_after = load_average()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    write_report(a, envs, results, load_before, load_after, pathlib.Path(a.out))


def summary(results, threads):
    """Per network, the least favourable figures over the malloc settings: ai8xsim's slowest
    median against izer, and against PyTorch's fastest median (each ai8xsim median is set
    against the PyTorch median of the same setting and of the other)."""
    by_net = {}
    for r in results:
        by_net.setdefault(r["network"], []).append(r)
    lines = ["### Summary: least favourable setting", "",
             "ai8xsim's slowest median over the malloc settings; PyTorch's fastest.", "",
             f"| network | ai8xsim samples/s | x izer | PyTorch samples/s ({threads} threads) "
             "| x PyTorch | = izer |",
             "|---|---:|---:|---:|---:|---|"]
    for net, rows in by_net.items():
        sim = min(r["ai8xsim_samples_per_s"] for r in rows)
        izer = min(r["speedup_vs_izer"] for r in rows)
        torch_rates = [r["torch_samples_per_s"] for r in rows if r["torch_samples_per_s"]]
        t = max(torch_rates) if torch_rates else None
        lines.append(f"| {net} | {sim:.0f} | {izer:.0f} | " + (f"{t:.1f} | {sim / t:.2f}" if t
                                                               else "- | -")
                     + " | " + ("yes" if all(r["equal_to_izer"] for r in rows) else "NO") + " |")
    lines.append("")
    return lines


def write_report(a, envs, results, load_before, load_after, out):
    import torch
    cmd = "/usr/bin/python3 benchmarks/networks.py " + " ".join(sys.argv[1:])
    T = a.threads
    lines = [
        "# Whole-network throughput (benchmarks/networks.py)", "",
        f"Command: `{cmd}`  ",
        f"Machine: {os.cpu_count()} cores, SIMD target "
        f"{results[0]['simd_target'] if results else '?'}, PyTorch {torch.__version__}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}  ",
        f"Load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}",
        "",
        f"- ai8xsim: `Simulator::run_batch` (benchmarks/net_bench.cpp) on {T} threads, batches "
        f"of at least {a.samples} samples grown to take {a.min_time} s or more; median of "
        f"{a.rounds} x {a.repeat} batches. Load, resolution and weight packing are not timed. "
        "*cores*: process CPU time / wall time during the batches (below "
        f"{T}: other processes had part of the CPUs).",
        f"- PyTorch: float32 forward of the same layer shapes (random weights) with the "
        f"fake-quant rounding and clamping after every layer (in place), batch {a.torch_batch}, "
        f"`torch.set_num_threads({T})`, in its own process after a warm-up forward; median of "
        f"all timed forwards ({a.rounds} rounds of 2 to {a.torch_repeat}, up to "
        f"{a.torch_budget} s each), each round right after an ai8xsim round.",
        "- izer: `izer_wall_time_s` recorded in the corpus (one sample, the whole izer run: "
        "loading, simulation and code generation, on a 2-core machine); *x izer* = izer's time / "
        "ai8xsim's time per sample in a batch. *`ai8xsim run`* (the whole process on the case's "
        "one sample: start, load, run, write; best of 3) is the like-for-like figure.",
        f"- 1 sample: `run_batch` of one sample, median latency, on 1 and on {T} threads (the "
        "large convolutions' rows split over the threads).",
        "- = izer: every layer of the case's input equals izer's expected.npz, and every "
        "output of the timed batches equals the single run's.",
        "- malloc *default*: as a user runs it. *tuned*: the environment sets "
        + ", ".join(f"`{k}={v}`" for k, v in TUNED_MALLOC.items())
        + " (freed memory stays in the process; fresh pages, i.e. page faults, are very "
        "expensive on this VM and PyTorch allocates a new tensor per op).", ""]
    for env_name, _ in envs:
        rows = [r for r in results if r["malloc"] == env_name]
        if not rows:
            continue
        lines += [f"### malloc: {env_name}", "",
                  "| network | MMAC/sample | ai8xsim samples/s | GMAC/s | cores | izer s | x izer "
                  f"| PyTorch samples/s | x PyTorch | 1 sample, ms (1 / {T} threads) "
                  "| `ai8xsim run`, s | = izer |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in rows:
            t = r["torch_samples_per_s"]
            ts = f"{t:.1f}" if t else "-"
            tr = f"{r['ratio_vs_torch']:.1f}" if t else "-"
            lines.append(
                f"| {r['network']} | {r['macs_per_sample'] / 1e6:.1f} "
                f"| {r['ai8xsim_samples_per_s']:.0f} | {r['ai8xsim_gmac_per_s']:.0f} "
                f"| {r['cores_used']:.2f} | {r['izer_wall_time_s']:.2f} "
                f"| {r['speedup_vs_izer']:.0f} | {ts} | {tr} "
                f"| {r['latency_1thread_ms']:.3f} / {r['latency_threads_ms']:.3f} "
                f"| {r['cli_one_sample_s']:.3f} | "
                + ("yes" if r["equal_to_izer"] else "NO: " + ", ".join(r["differences"])) + " |")
        lines.append("")
    lines += summary(results, T)
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(
        {"command": cmd, "load_before": load_before, "load_after": load_after,
         "results": results}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
