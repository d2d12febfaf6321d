"""Precision sweeps: which weight width per layer keeps the accuracy the chip gives, fits, and
how fast and frugal is it (docs/sweep.md).

    r = ai8xsim.sweep("net.yaml", "float.pth.tar", samples="x.npy", labels="y.npy",
                      device="MAX78000", results_dir="sweep-out", budget=32)
    print(r.table()); r.write_json("sweep.json"); r.plot("sweep.svg")
    ai8xsim sweep --config-file net.yaml --checkpoint-file float.pth.tar --samples x.npy \\
        --labels y.npy --results-dir sweep-out --budget 32 --plot sweep.svg

A configuration is a weight width (8, 4, 2, 1) per YAML layer with weights. For each: the
checkpoint quantized by the one quantizer (sim/model/quantize.cpp, what `run` and `eval` do
with a float checkpoint, the width given as `weight_bits`), `check`'s verdict and kernel
memory, and, when it fits, the cycle model's latency and energy and the chip's accuracy on the
samples (bit-exact, `eval`'s scorer). A configuration that does not fit has no accuracy.

Search: the uniform widths first; then, for each step down (8->4, 4->2, 2->1), from the
uniform configuration at the higher width, each layer lowered alone (its measured accuracy
drop is its sensitivity), then the layers lowered together in order of sensitivity (least
sensitive first); without samples (fit only) in order of weights, largest first. When the
higher uniform configuration does not fit, the lowered layers of the first cumulative
configuration that fits are then raised back one at a time (smallest first) while it still
fits. At most `budget` configurations.

Execution: configurations x sample shards as tasks on Dask distributed (a LocalCluster on
this machine's cores, or `scheduler=` an existing cluster's address), or in this process
(workers=0). Each configuration's result is written to RESULTS_DIR/configs/ when complete
(atomic write): an interrupted sweep resumes where it stopped, and a finished one recomputes
nothing. Workers need the files (YAML, checkpoint, samples) at the same paths."""
import argparse
import hashlib
import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np

from ._core import Error, core
from .quantize import write_atomically

WIDTHS = (8, 4, 2, 1)
MANIFEST = "sweep-manifest.json"
FORMAT = 1  # of the records in a results directory; another format is refused, not mixed in


# ---- the work of one task (runs on a worker, or in this process) -------------------------------

_NETS = OrderedDict()  # (job, bits) -> core.Simulator, a few per worker process


def _load(job, bits):
    key = (job["config_file"], job["checkpoint_file"], job["device"], tuple(bits))
    net = _NETS.get(key)
    if net is None:
        widths = {ll: b for ll, b in zip(job["layers"], bits)}
        net = core.Simulator.load(job["config_file"], job["checkpoint_file"],
                                  device=job["device"], weight_bits=widths)
        _NETS[key] = net
        while len(_NETS) > 4:
            _NETS.popitem(last=False)
    return net


def check_task(job, bits):
    """`check`'s verdict and kernel memory; latency (us, cycles) and energy (uJ) of one
    inference when it fits."""
    net = _load(job, bits)
    shape = list(job["input_shape"])
    c = net.check(shape)
    out = {"fits": bool(c["fits"]), "violation": c["violations"][0] if c["violations"] else None,
           "kernel_rows": int(c["kernel_rows_used"]) if c["fits"] else None,
           "kernel_capacity": int(c["kernel_rows"]),
           "bias_bytes": int(c["bias_bytes_used"]), "cycles": None, "latency_us": None,
           "energy_uj": None, "weight_load_us": None}
    if out["fits"]:
        cost = net.cost(shape)
        out["cycles"] = int(cost["total_cycles"])
        out["latency_us"] = float(cost["inference"]["us"])
        out["energy_uj"] = float(cost["inference"]["uj"])
        out["weight_load_us"] = float(cost["weight_load"]["us"])
    return out


def shard_task(job, bits, start, stop):
    """(correct, counted) on samples [start, stop): `eval`'s top-1 (per pixel for label
    maps), every sample run bit-exactly."""
    from .evaluation import evaluate
    from .simulator import Simulator
    X = np.load(job["samples"], mmap_mode="r")[start:stop]
    y = np.load(job["labels"], mmap_mode="r")[start:stop]
    r = evaluate(Simulator(_load(job, bits)), np.ascontiguousarray(X), np.asarray(y),
                 threads=job.get("threads", 1), progress=False)
    seg = r.raw.get("segmentation")
    return int(r.raw["correct"]), int(seg["pixels"] if seg else r.raw["samples"])


# ---- executors -----------------------------------------------------------------------------------

class InlineExecutor:
    """Every task in this process, in order."""

    def run(self, configs, job, shards, done):
        for bits in configs:
            chk = check_task(job, bits)
            parts = [shard_task(job, bits, a, b) for a, b in shards] if chk["fits"] else []
            done(bits, chk, parts)

    def close(self):
        pass


class DaskExecutor:
    """Tasks on a Dask cluster: one check per configuration, then (when it fits) one task
    per sample shard. A task lost with its worker is rerun by the scheduler; a task that
    raises is retried `retries` times."""

    def __init__(self, scheduler=None, workers=None, retries=2):
        try:
            import distributed
        except ImportError:
            raise Error("sweep: Dask is not installed (Python's `distributed`; Debian: "
                        "apt-get install python3-distributed); or run in this process with "
                        "--workers 0") from None
        self.distributed = distributed
        self.retries = retries
        self.cluster = None
        if scheduler:
            try:
                self.client = distributed.Client(scheduler, timeout="20s")
            except (OSError, TimeoutError, ValueError) as e:
                raise Error(f"sweep: --scheduler {scheduler}: cannot connect ({e}); give the "
                            f"address a running `dask scheduler` prints, e.g. "
                            f"tcp://host:8786") from None
        else:
            import logging
            _package_on_pythonpath()  # the worker processes import ai8xsim too
            n = workers or os.cpu_count() or 1
            self.cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)

    def run(self, configs, job, shards, done):
        d = self.distributed
        pending = {}  # future -> (bits, kind, index)
        state = {}
        checks = []
        for bits in configs:
            f = self.client.submit(check_task, job, bits, retries=self.retries, pure=False)
            pending[f] = (bits, "check", None)
            checks.append(f)
        ac = d.as_completed(checks)
        for f in ac:
            bits, kind, i = pending.pop(f)
            st = state.setdefault(bits, {"check": None, "parts": [None] * len(shards), "left": 0})
            if kind == "check":
                st["check"] = f.result()
                if st["check"]["fits"] and shards:
                    st["left"] = len(shards)
                    for k, (a, b) in enumerate(shards):
                        g = self.client.submit(shard_task, job, bits, a, b,
                                               retries=self.retries, pure=False)
                        pending[g] = (bits, "shard", k)
                        ac.add(g)
                else:
                    done(bits, st["check"], [])
                    del state[bits]
            else:
                st["parts"][i] = f.result()
                st["left"] -= 1
                if st["left"] == 0:
                    done(bits, st["check"], st["parts"])
                    del state[bits]
            f.release()

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _package_on_pythonpath():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([root] + parts)


# ---- the results directory -----------------------------------------------------------------------

def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """RESULTS_DIR/configs/<name>.json, one per finished configuration, written atomically;
    RESULTS_DIR/sweep-manifest.json names the inputs, so results of other inputs are never
    mixed in."""

    def __init__(self, directory, identity):
        self.dir = os.fspath(directory)
        os.makedirs(os.path.join(self.dir, "configs"), exist_ok=True)
        manifest = os.path.join(self.dir, MANIFEST)
        if os.path.exists(manifest):
            with open(manifest) as f:
                old = json.load(f)
            if old != identity:
                diff = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
                raise Error(f"sweep: results directory {self.dir} holds a sweep of other inputs "
                            f"({', '.join(diff)} differ); give a new --results-dir or delete "
                            f"that one")
        else:
            write_atomically(manifest, (json.dumps(identity, indent=1) + "\n").encode())

    def path(self, bits):
        return os.path.join(self.dir, "configs", "w" + "-".join(map(str, bits)) + ".json")

    def get(self, bits):
        try:
            with open(self.path(bits)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # not a complete file: recompute

    def put(self, record):
        write_atomically(self.path(record["bits"]),
                         (json.dumps(record, indent=1) + "\n").encode())


# ---- Pareto fronts and the search ---------------------------------------------------------------

def pareto_front(costs, accuracies):
    """Indices of the points no other point dominates (cost <= and accuracy >=, one strictly),
    in order of increasing cost. Points with a None cost or accuracy are left out."""
    pts = [(c, a, i) for i, (c, a) in enumerate(zip(costs, accuracies))
           if c is not None and a is not None]
    front = []
    for c, a, i in pts:
        if not any(c2 <= c and a2 >= a and (c2 < c or a2 > a) for c2, a2, _ in pts):
            front.append(i)
    return sorted(front, key=lambda i: (costs[i], -accuracies[i], i))


class SweepResult:
    """The configurations a sweep evaluated, in search order (`records`: dicts with `bits`
    (width per layer of `layers`), weight_bytes, fits, violation (the first broken rule),
    kernel_rows (None when it does not fit), kernel_capacity, bias_bytes, cycles, latency_us,
    energy_uj, weight_load_us, accuracy, correct, counted); `computed` and `reused` count the
    configurations computed by this run and read back from the results directory."""

    def __init__(self, layers, records, computed, reused, inputs):
        self.layers = list(layers)
        self.records = records
        self.computed = computed
        self.reused = reused
        self.inputs = inputs

    def _front(self, key):
        return [self.records[i] for i in pareto_front(
            [r[key] if r["fits"] else None for r in self.records],
            [r["accuracy"] for r in self.records])]

    @property
    def memory_front(self):
        """Pareto front of accuracy against kernel memory (rows), fitting configurations."""
        return self._front("kernel_rows")

    @property
    def latency_front(self):
        return self._front("latency_us")

    @property
    def best_fit(self):
        """The fitting configuration with the most 8-bit layers (then the most weight bits,
        then the best accuracy), or None."""
        fits = [r for r in self.records if r["fits"]]
        if not fits:
            return None
        return max(fits, key=lambda r: (sum(b == 8 for b in r["bits"]), sum(r["bits"]),
                                        r["accuracy"] if r["accuracy"] is not None else -1))

    def as_dict(self):
        mem = {tuple(r["bits"]) for r in self.memory_front}
        lat = {tuple(r["bits"]) for r in self.latency_front}
        best = self.best_fit
        return {"inputs": self.inputs, "layers": self.layers,
                "configurations": [dict(r, memory_front=tuple(r["bits"]) in mem,
                                        latency_front=tuple(r["bits"]) in lat)
                                   for r in self.records],
                "memory_front": [r["bits"] for r in self.memory_front],
                "latency_front": [r["bits"] for r in self.latency_front],
                "best_fit": None if best is None else best["bits"],
                "computed": self.computed, "reused": self.reused}

    def write_json(self, path):
        write_atomically(path, (json.dumps(self.as_dict(), indent=1) + "\n").encode())

    def table(self):
        mem = {tuple(r["bits"]) for r in self.memory_front}
        lat = {tuple(r["bits"]) for r in self.latency_front}
        head = ["widths (layers " + ",".join(map(str, self.layers)) + ")", "fits",
                "weight bytes", "kernel rows", "latency us", "energy uJ", "accuracy", "front"]
        rows = []
        for r in self.records:
            key = tuple(r["bits"])
            acc = ("-" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}%")
            rows.append([" ".join(map(str, r["bits"])), "yes" if r["fits"] else "no",
                         f"{r['weight_bytes']:,}",
                         f"{r['kernel_rows']}/{r['kernel_capacity']}" if r["fits"] else "-",
                         "-" if r["latency_us"] is None else f"{r['latency_us']:.1f}",
                         "-" if r["energy_uj"] is None else f"{r['energy_uj']:.2f}",
                         acc, ("M" if key in mem else "") + ("L" if key in lat else "")])
        widths = [max(len(h), *(len(row[k]) for row in rows)) if rows else len(h)
                  for k, h in enumerate(head)]
        fmt = lambda cells: "  ".join(c.ljust(w) if k == 0 else c.rjust(w)  # noqa: E731
                                      for k, (c, w) in enumerate(zip(cells, widths)))
        lines = [fmt(head)] + [fmt(row) for row in rows]
        lines.append("front: M = accuracy vs kernel memory, L = accuracy vs latency (Pareto, "
                     "fitting configurations); " f"{self.computed} computed, {self.reused} "
                     "reused from the results directory")
        best = self.best_fit
        if best is not None:
            lines.append("most 8-bit layers that fit: " + " ".join(map(str, best["bits"])))
        return "\n".join(lines)

    def plot(self, path=None):
        from . import plots
        fig = plots.sweep(self)
        if path is not None:
            fig.savefig(os.fspath(path))
        return fig


def _with(bits, layers_to, width):
    b = list(bits)
    for k in layers_to:
        b[k] = width
    return tuple(b)


def search(evaluate, n_layers, weights, widths, budget):
    """The configurations, phase by phase (module docstring); `evaluate(list of bits)` returns
    {bits: record} for those not yet evaluated. At most `budget` configurations."""
    seen = OrderedDict()

    def run(configs):
        new = []
        for c in configs:
            if c not in seen and c not in new and len(seen) + len(new) < budget:
                new.append(c)
        if new:
            seen.update(evaluate(new))

    run([tuple([w] * n_layers) for w in widths])
    for hi, lo in zip(widths, widths[1:]):
        if len(seen) >= budget:
            break
        base = tuple([hi] * n_layers)
        probes = [_with(base, [k], lo) for k in range(n_layers)]
        if seen.get(base, {}).get("accuracy") is not None:
            run(probes)
            top = seen[base]["accuracy"]
            drop = {k: (top - seen[p]["accuracy"]) if p in seen and seen[p]["accuracy"]
                    is not None else math.inf for k, p in enumerate(probes)}
            order = sorted(range(n_layers), key=lambda k: (drop[k], -weights[k], k))
        else:  # no accuracy (fit only, or the base does not fit): largest layers first
            order = sorted(range(n_layers), key=lambda k: (-weights[k], k))
        run([_with(base, order[:k], lo) for k in range(1, n_layers)])
        if seen.get(base, {}).get("fits") is False:
            # the fit is what binds: from the first cumulative configuration that fits, raise
            # the lowered layers back one at a time, the last lowered (smallest) first, keeping
            # each that still fits
            first = next((c for c in (_with(base, order[:k], lo) for k in range(1, n_layers))
                          if c in seen and seen[c]["fits"]), None)
            if first is not None:
                current = first
                for k in reversed([k for k in order if first[k] == lo]):
                    if len(seen) >= budget:
                        break
                    candidate = _with(current, [k], hi)
                    run([candidate])
                    if seen.get(candidate, {}).get("fits"):
                        current = candidate
    return list(seen.values())


# ---- the sweep -------------------------------------------------------------------------------------

def _as_file(data, results_dir, name):
    """A path as it is; an array (NumPy, torch) saved as RESULTS_DIR/<name>.npy, which the
    workers read (they need the results directory at the same path)."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    path = os.path.join(os.fspath(results_dir), name + ".npy")
    os.makedirs(os.fspath(results_dir), exist_ok=True)
    import io
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(data))
    write_atomically(path, buf.getvalue())
    return path


def _npy_shape(path, what):
    try:
        return np.load(path, mmap_mode="r").shape
    except (OSError, ValueError) as e:
        raise Error(f"sweep: {what} {path}: cannot read it as a .npy file ({e})") from None


def sweep(config_file, checkpoint_file, samples=None, labels=None, device="MAX78000",
          results_dir="sweep-results", budget=32, widths=WIDTHS, scheduler=None, workers=None,
          shard_size=1000, input_shape=None, log=None):
    """Run a precision sweep (module docstring); returns a SweepResult. `samples`/`labels`:
    .npy paths (as `ai8xsim eval --samples/--labels`) or arrays (saved in `results_dir`),
    both or neither (fit only).
    workers=0 runs in this process; otherwise Dask: `scheduler` an address, else a
    LocalCluster of `workers` processes (default: the cores)."""
    config_file, checkpoint_file = os.path.abspath(config_file), os.path.abspath(checkpoint_file)
    if (samples is None) != (labels is None):
        raise Error("sweep: give both samples and labels (accuracy), or neither (fit only)")
    if not isinstance(budget, int) or budget < 1:
        raise Error(f"sweep: budget {budget!r}; give the number of configurations to "
                    f"evaluate, 1 or more")
    widths = tuple(int(w) for w in widths)
    if not widths or any(w not in WIDTHS for w in widths) or len(set(widths)) != len(widths):
        raise Error(f"sweep: widths {widths}; give distinct widths among 8, 4, 2, 1")
    widths = tuple(sorted(widths, reverse=True))
    if not isinstance(shard_size, int) or shard_size < 1:
        raise Error(f"sweep: shard size {shard_size!r}; give samples per task, 1 or more")
    if workers is not None and (not isinstance(workers, int) or workers < 0):
        raise Error(f"sweep: workers {workers!r}; give 0 (this process) or more")
    for p, what in ((config_file, "config file"), (checkpoint_file, "checkpoint file")):
        if not os.path.isfile(p):
            raise Error(f"sweep: {what} {p} not found")

    # a width for layer 0 only asks the loader to refuse a checkpoint that is quantized
    # already (widths would be ignored); the layers and their weight counts do not depend on it
    probe = core.Simulator.load(config_file, checkpoint_file, device=str(device),
                                weight_bits={0: widths[0]})
    layer_w = [(i, w) for i, w in enumerate(probe.weights()) if w["weights"] is not None]
    layers = [i for i, _ in layer_w]
    weights = [int(np.asarray(w["weights"]).size) for _, w in layer_w]
    job = {"config_file": config_file, "checkpoint_file": checkpoint_file,
           "device": str(device), "layers": layers, "samples": None, "labels": None,
           "threads": 1 if workers != 0 else 0}
    identity = {"format": FORMAT, "config_file": _digest(config_file), "checkpoint_file": _digest(checkpoint_file),
                "device": str(device), "layers": layers}
    shards = []
    if samples is not None:
        samples = _as_file(samples, results_dir, "samples")
        labels = _as_file(labels, results_dir, "labels")
        samples, labels = os.path.abspath(samples), os.path.abspath(labels)
        xs, ys = _npy_shape(samples, "samples"), _npy_shape(labels, "labels")
        if len(xs) < 3 or xs[0] == 0:
            raise Error(f"sweep: samples {samples} has shape {xs}; give N samples, "
                        f"N x C x H x W (N x C x L for 1-D networks)")
        if not ys or ys[0] != xs[0]:
            raise Error(f"sweep: labels {labels} has shape {ys} for {xs[0]} samples; give "
                        f"one label (or label map) per sample")
        job.update(samples=samples, labels=labels)
        job["input_shape"] = list(xs[1:])
        identity.update(samples=_digest(samples), labels=_digest(labels))
        shards = [(a, min(a + shard_size, xs[0])) for a in range(0, xs[0], shard_size)]
    elif input_shape is not None:
        job["input_shape"] = [int(v) for v in input_shape]
    else:
        shape = probe.input_shape
        if shape is None:
            raise Error("sweep: no samples and the YAML does not give the input's size; give "
                        "--input-shape C,H,W (or samples)")
        job["input_shape"] = [int(v) for v in shape]
    identity["input_shape"] = job["input_shape"]
    store = Store(results_dir, identity)
    counts = {"computed": 0, "reused": 0}
    log = log or (lambda msg: None)

    executor = None

    def record(bits, chk, parts):
        correct = sum(c for c, _ in parts) if parts else None
        counted = sum(n for _, n in parts) if parts else None
        return {"bits": list(bits), "weight_bits": {str(ll): b for ll, b in zip(layers, bits)},
                "weight_bytes": sum(n * b for n, b in zip(weights, bits)) // 8, **chk,
                "accuracy": None if not counted else correct / counted,
                "correct": correct, "counted": counted}

    def evaluate(configs):
        nonlocal executor
        out = {}
        todo = []
        for bits in configs:
            r = store.get(bits)
            if r is not None:
                counts["reused"] += 1
                out[bits] = r
            else:
                todo.append(bits)
        if todo:
            if executor is None:
                executor = (InlineExecutor() if workers == 0
                            else DaskExecutor(scheduler=scheduler, workers=workers))

            def done(bits, chk, parts):
                r = record(bits, chk, parts)
                store.put(r)
                counts["computed"] += 1
                acc = "-" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}%"
                log(f"sweep: {' '.join(map(str, bits))}: "
                    f"{'fits' if r['fits'] else 'does not fit'}, accuracy {acc}")
                out[bits] = r

            executor.run(todo, job, shards, done)
        return {bits: out[bits] for bits in configs}

    try:
        records = search(evaluate, len(layers), weights, widths, budget)
    finally:
        if executor is not None:
            executor.close()
    inputs = {"config_file": config_file, "checkpoint_file": checkpoint_file,
              "device": str(device), "samples": samples, "labels": labels,
              "input_shape": job["input_shape"], "widths": list(widths), "budget": budget}
    return SweepResult(layers, records, counts["computed"], counts["reused"], inputs)


# ---- the command line -------------------------------------------------------------------------------

def main(argv=None):
    from .quantize import _parse
    ap = argparse.ArgumentParser(
        prog="ai8xsim sweep",
        description="Precision sweep: weight widths per layer of a float checkpoint, each "
                    "quantized, checked and evaluated bit-exactly; Pareto fronts of accuracy "
                    "against kernel memory and latency (docs/sweep.md).")
    ap.add_argument("--config-file", required=True, help="izer's network YAML")
    ap.add_argument("--checkpoint-file", required=True,
                    help="ai8x-training's float (or QAT) checkpoint")
    ap.add_argument("--device", default="MAX78000")
    ap.add_argument("--samples", help="samples .npy (as `ai8xsim eval`); without: fit only")
    ap.add_argument("--labels", help="labels .npy (as `ai8xsim eval`)")
    ap.add_argument("--input-shape", help="C,H,W when no samples are given and the YAML does "
                                          "not tell")
    ap.add_argument("--results-dir", default="sweep-results",
                    help="one JSON per configuration; a rerun resumes (default %(default)s)")
    ap.add_argument("--budget", type=int, default=32, help="configurations (default 32)")
    ap.add_argument("--widths", default="8,4,2,1", help="weight widths to try (default "
                                                         "%(default)s)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler")
    ap.add_argument("--workers", type=int, default=None,
                    help="LocalCluster worker processes (default: the cores; 0: run in this "
                         "process, no Dask)")
    ap.add_argument("--shard-size", type=int, default=1000, help="samples per task")
    ap.add_argument("--output", help="write the sweep as JSON (default RESULTS_DIR/sweep.json)")
    ap.add_argument("--plot", help="write the plot (.svg or .png)")
    ap.add_argument("--quiet", action="store_true", help="no line per configuration")
    args = _parse(ap, argv)
    try:
        try:
            widths = [int(w) for w in args.widths.split(",")]
        except ValueError:
            raise Error(f"sweep: --widths {args.widths!r}; give widths such as 8,4,2,1") from None
        shape = None
        if args.input_shape:
            try:
                shape = [int(v) for v in args.input_shape.replace("x", ",").split(",")]
            except ValueError:
                raise Error(f"sweep: --input-shape {args.input_shape!r}; give C,H,W") from None
        if args.plot and not args.plot.endswith((".svg", ".png", ".pdf")):
            raise Error(f"sweep: --plot {args.plot!r}; give a .svg, .png or .pdf file")
        r = sweep(args.config_file, args.checkpoint_file, samples=args.samples,
                  labels=args.labels, device=args.device, results_dir=args.results_dir,
                  budget=args.budget, widths=widths, scheduler=args.scheduler,
                  workers=args.workers, shard_size=args.shard_size, input_shape=shape,
                  log=None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True)))
        print(r.table())
        out = args.output or os.path.join(args.results_dir, "sweep.json")
        r.write_json(out)
        print(f"-> {out}")
        if args.plot:
            import matplotlib
            matplotlib.use("Agg")
            r.plot(args.plot)
            print(f"-> {args.plot}")
    except (Error, OSError) as e:
        print(f"ai8xsim: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ai8xsim: interrupted: the configurations finished so far are in the results "
              "directory; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
