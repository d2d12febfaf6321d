"""ai8xsim.load() and the Simulator it returns: run, run_batch, network, summary."""
import contextlib
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import _progress
from ._core import Error, core

# The LoadOptions fields (include/ai8xsim/ai8xsim.h) besides the device.
OPTIONS = ("no_bias", "avg_pool_rounding", "fifo", "fast_fifo", "overlap_data", "weight_bits",
           "kernels")


@dataclass
class Cycles:
    """The cycle model's count for a network (ai8xsim/cycles.h): `total` CNN clock cycles
    (startup + layers), per YAML layer `layers` and their named `terms`; `estimated` when a
    streaming layer or the device makes it izer's guess rather than its estimate."""

    total: int
    startup: int
    clock_mhz: float
    microseconds: float
    estimated: bool
    layers: Dict[int, int]
    estimated_layers: Tuple[int, ...]
    terms: Dict[int, Dict[str, int]]

    @classmethod
    def from_core(cls, d):
        layers = d["layers"]
        return cls(d["total"], d["startup"], d["clock_mhz"], d["microseconds"],
                   d["estimated"], {i: v["total"] for i, v in layers.items()},
                   tuple(i for i, v in layers.items() if v["estimated"]),
                   {i: dict(v["terms"]) for i, v in layers.items()})

    def __int__(self):
        return int(self.total)

    def __str__(self):
        est = " (estimated)" if self.estimated else ""
        return f"{self.total:,} cycles, {self.microseconds:.1f} us at {self.clock_mhz:g} MHz{est}"

    def __repr__(self):
        """One line per layer, not the terms (they are in `.terms`)."""
        lines = [f"Cycles: {self}"]
        if self.estimated_layers:
            lines.append("  izer's flat guess (streaming) for layers "
                         + ", ".join(map(str, self.estimated_layers)))
        lines += [f"  layer {i}: {c:,}" for i, c in self.layers.items()]
        return "\n".join(lines)


@dataclass
class Cost:
    """What a network costs on the chip (ai8xsim/cost.h, docs/cycle-model.md §7): per layer
    (execution order) `layers` of dicts with layer, processors, cycles, us, uj; and the
    totals, each a dict {"us": ..., "uj": ...}: inference, input_load, weight_load,
    bias_config_load, after_feed (FIFO input: the run left after the last word), first_inference (from power-up) and retained_inference (each further
    inference with the weights kept)."""

    device: str
    clock_mhz: float
    load_clock_mhz: float
    pipeline: bool
    riscv: bool
    fifo: bool
    total_cycles: int
    layers: List[Dict[str, float]]
    inference: Dict[str, float]
    input_load: Dict[str, float]
    weight_load: Dict[str, float]
    bias_config_load: Dict[str, float]
    after_feed: Dict[str, float]
    first_inference: Dict[str, float]
    retained_inference: Dict[str, float]

    @classmethod
    def from_core(cls, d):
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})

    def __str__(self):
        lines = [f"{self.device}: inference at {self.clock_mhz:g} MHz"
                 f"{' with pipeline' if self.pipeline else ''}, loads at "
                 f"{self.load_clock_mhz:g} MHz"]
        for name in ("inference", "input_load", "weight_load", "bias_config_load",
                     "first_inference", "retained_inference"):
            v = getattr(self, name)
            lines.append(f"  {name:20s} {v['us']:12.1f} us {v['uj']:12.1f} uJ")
        return "\n".join(lines)


@dataclass
class Memory:
    """Kernel and bias memory as izer allocates them: kernel rows (72-bit) and bias bytes per
    YAML layer (0 where a layer reuses another's), the totals, and any limit broken."""

    kernel_rows: Dict[int, int]
    bias_bytes: Dict[int, int]
    kernel_rows_written: int
    bias_bytes_used: int
    violations: List[str]

    @classmethod
    def from_core(cls, d):
        layers = d["layers"]
        return cls({i: v["kernel_rows"] for i, v in layers.items()},
                   {i: v["bias_bytes"] for i, v in layers.items()},
                   d["kernel_rows_written"], d["bias_bytes_used"], list(d["violations"]))


@dataclass
class RunResult:
    """One sample's run: the final `output`, every layer's output by YAML index (`layers`)
    and the cycle model's count (`cycles`, ai8xsim.Cycles)."""

    output: np.ndarray
    layers: Dict[int, np.ndarray] = field(default_factory=dict)
    cycles: Optional[object] = None

    def __repr__(self):
        out = np.asarray(self.output)
        flat = out.ravel()
        values = " ".join(str(int(v)) for v in flat[:10]) + (" ..." if flat.size > 10 else "")
        shapes = ", ".join(f"{i}: {'x'.join(map(str, np.shape(v)))}"
                           for i, v in list(self.layers.items())[:8])
        more = ", ..." if len(self.layers) > 8 else ""
        cyc = f"; {self.cycles}" if self.cycles is not None else ""
        return (f"RunResult(output {'x'.join(map(str, out.shape))} [{values}], "
                f"{len(self.layers)} layers {{{shapes}{more}}}{cyc})")


def load(config_file, checkpoint_file, device="MAX78000", **options):
    """Load an izer network YAML and its checkpoint (*.pth.tar) or weights.npz.

    A checkpoint with float weights (ai8x-training's output) is quantized as ai8x-synthesis's
    quantize.py does, and a one-line note on stderr says so (also in `net.notes`);
    weight_bits={yaml_layer: bits} overrides the width of those layers then.
    The other `options` are izer's flags that change results: no_bias (a layer index or a
    list), avg_pool_rounding, fifo, fast_fifo, overlap_data. kernels="reference" runs the
    engine on the readable reference kernels alone instead of the SIMD ones ("fast", the
    default): the same results, much slower. Raises ai8xsim.Error with the library's message
    for anything wrong in the files."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"ai8xsim.load: unknown option(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(OPTIONS)}")
    kw = dict(options)
    kw["no_bias"] = _layer_list(kw.get("no_bias", ()))
    kw["weight_bits"] = _weight_bits(kw.get("weight_bits"))
    sim = core.Simulator.load(os.fspath(config_file), os.fspath(checkpoint_file),
                              device=str(device), **kw)
    for note in sim.notes:
        print(f"ai8xsim: note: {note}", file=sys.stderr)
    return Simulator(sim, (config_file, checkpoint_file, device, options))


def _weight_bits(v):
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise Error(f"ai8xsim.load: weight_bits={v!r}; give a dict {{yaml_layer: bits}} "
                    f"with bits 1, 2, 4 or 8, e.g. weight_bits={{0: 8, 3: 4}}")
    try:
        return {int(k): int(b) for k, b in v.items()}
    except (TypeError, ValueError):
        raise Error(f"ai8xsim.load: weight_bits={v!r}; keys are YAML layer indices and "
                    f"values bit widths (1, 2, 4 or 8), all integers") from None


def _layer_list(v):
    if v is None:
        return []
    if isinstance(v, (int, np.integer)):
        return [int(v)]
    if isinstance(v, str):
        v = [p for p in v.replace(" ", "").split(",") if p]
    try:
        return [int(i) for i in v]
    except (TypeError, ValueError):
        raise Error(f"ai8xsim.load: no_bias={v!r}; give YAML layer indices: an int, a list "
                    f"such as [1, 2], or a string such as '1,2'") from None


def as_sample(x):
    """x as a numpy array, unchanged in dtype (the binding checks dtype, shape and range)."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


@contextlib.contextmanager
def _explained(hint):
    """A library error about the sample, explained by _check_sample's hint when there is one."""
    try:
        yield
    except Error as e:
        if hint is None:
            raise
        explained = Error(f"{hint} (the library says: {e})")
        explained.kind = e.kind
        raise explained from e


class Simulator:
    """A loaded network. Outputs follow izer: C x H x W int32 (1-D: C x L x 1)."""

    def __init__(self, core_sim, loaded_from=None):
        self._sim = core_sim
        self._loaded_from = loaded_from  # load()'s arguments, for with_options()
        self.last_input_shape = None

    @property
    def notes(self):
        """What load() did beyond reading the files, one line each (e.g. that it quantized
        a checkpoint holding float weights)."""
        return list(self._sim.notes)

    @property
    def checkpoint_file(self):
        return None if self._loaded_from is None else os.fspath(self._loaded_from[1])

    def with_options(self, **changes):
        """The same network loaded again with some options changed (e.g.
        avg_pool_rounding=True), to see what a flag would do."""
        config, checkpoint, device, options = self._loaded_from
        return load(config, checkpoint, device, **{**options, **changes})

    @property
    def device(self):
        return self._sim.device

    @property
    def config_file(self):
        return self._sim.config_file

    @property
    def options(self):
        return self._sim.options

    def __repr__(self):
        return f"<ai8xsim.Simulator {self.device} {self.config_file}>"

    def network(self, input_shape=None):
        """The network resolved for an input shape (C, H, W) or (C, L); default: the shape
        of the last sample run."""
        return self._sim.network(list(self._shape(input_shape)))

    def _shape(self, input_shape):
        if input_shape is None:
            input_shape = self.last_input_shape
        if input_shape is None:
            raise ValueError("no input shape: pass input_shape=(C, H, W) or (C, L), or run a "
                             "sample first (izer derives the first layer's size from it)")
        return tuple(int(s) for s in input_shape)

    @property
    def input_shape(self):
        """The sample shape the YAML implies, (C, H, W) (1-D: (C, L, 1)), or None when the
        YAML does not give the first layer's `in_dim`."""
        s = self._sim.input_shape
        return None if s is None else tuple(int(v) for v in s)

    def _check_sample(self, x, batch):
        """Mistakes in the sample's shape or scale, said before the library's checks (which
        only see values): what was expected and what to do. Raises for the unambiguous ones;
        returns the explanation of a shape the first layer does not seem to take (None if
        it does), for _explained() to add when the library refuses the sample."""
        facts = self.__dict__.get("_sample_facts")
        if facts is None:  # the network's first layer, asked once (a loaded network is fixed)
            c, one_d, full = (self._sim.input_channels, self._sim.one_d,
                              self._sim.input_shape)
            facts = self._sample_facts = (c, one_d, full)
        c, one_d, full = facts
        name = "X" if batch else "x"
        if x.dtype == np.uint8 and x.size and int(x.max()) > 127:
            raise Error(f"{name} is uint8 with values up to {int(x.max())}: the chip takes "
                        f"signed 8-bit samples in [-128, 127]; subtract 128 "
                        f"({name}.astype(np.int16) - 128), as ai8x-training's normalization "
                        f"maps [0, 255] to [-128, 127]")
        if c is None:
            return
        dims = 2 if one_d else 3  # a sample: C x L or C x H x W
        if full:
            want = f"{c}x{full[1]}" + ("" if dims == 2 else f"x{full[2]}")
        else:
            want = f"{c}xL" if dims == 2 else f"{c}xHxW"
        shape = tuple(int(v) for v in x.shape)
        what = "run_batch" if batch else "run"
        if dims == 2 and len(shape) == dims + 1 + batch and shape[-1] == 1:
            shape = shape[:-1]  # a 1-D sample as C x L x 1 (izer's layout of 1-D data)
        if batch and len(shape) == dims and shape[0] == c:
            raise Error(f"run_batch: X has shape {_x(shape)}, one sample; run_batch takes N "
                        f"samples, N x {want}: use run(x) for one sample, or X[None]")
        if not batch and len(shape) == dims + 1:
            raise Error(f"run: x has shape {_x(shape)}, a batch; run takes one sample "
                        f"({want}): use run_batch(X) for N samples"
                        + (", or x[0]" if shape[0] == 1 else ""))
        sample = shape[1:] if batch else shape
        if len(sample) != dims:
            return  # the library says what a sample's dimensions are
        fix = None
        if sample[0] != c:
            if sample[-1] == c:
                order = [dims - 1] + list(range(dims - 1))
                axes = ([0] + [i + 1 for i in order]) if batch else order
                fix = f"it is channels-last; transpose it: {name}.transpose({', '.join(map(str, axes))})"
            else:
                fix = (f"give {c} channel{'s' if c != 1 else ''} first (the YAML's first "
                       f"layer reads {c})")
        elif full and tuple(sample[1:]) != tuple(full[1:dims]):
            fix = ("resize or crop it to the YAML's `in_dim`, the size the network was made "
                   "for")
        if fix:
            # The first layer's processors and `in_dim` suggest the shape, but a multi-pass
            # first layer takes more channels than it has processors: the library decides,
            # and when it refuses the sample its error carries this explanation.
            return (f"{what}: {name} has shape {_x(shape)}, but the network takes "
                    f"{'N x ' if batch else ''}{want} (the YAML's first layer); {fix}")
        return None

    def run(self, x, layers=False, memory_fed=False, threads=0):
        """Run one sample (int8 .. int64 values in [-128, 127], C x H x W or C x L; read in
        place, any strides). Its large layers split their rows over `threads` threads (0: all
        cores).

        Returns the final output, or with layers=True a RunResult with every layer.
        memory_fed=True: the input is loaded into the data memory model as the chip loads it
        and every layer that reads data memory takes its input from there (as `run --kat`);
        the results are the same, the run is slower."""
        # The common call first, in as few Python steps as it takes (a small network's whole
        # run is a few microseconds, each step here a tenth of one): an array, the output
        # only. A sample the library refuses is run again below, where _check_sample can
        # say what the mistake seems to be.
        if type(x) is np.ndarray and not layers and not memory_fed:
            try:
                output = self._sim.run_output(x, threads)
            except Error:
                pass
            else:
                self.last_input_shape = x.shape
                return output
        x = as_sample(x)
        with _explained(self._check_sample(x, batch=False)):
            output, outs = self._sim.run(x, bool(layers), bool(memory_fed), threads)
        self.last_input_shape = x.shape
        if not layers:
            return output
        return RunResult(output, dict(sorted(outs.items())), self.cycles(x.shape))

    def run_batch(self, X, threads=0, progress=None):
        """Run N samples (N x C x H x W or N x C x L; a list of samples is stacked) on
        `threads` threads (0: all cores). Returns the N outputs stacked (N x C x H x W).
        An array is read in place (any integer dtype, any strides: no copy), the GIL released;
        the outputs fill one array. A progress bar shows for more than a few hundred samples,
        or with progress=True; Ctrl-C (or "Interrupt kernel") stops the batch and closes it."""
        X = _as_batch(X)
        hint = self._check_sample(X, batch=True)
        n = int(X.shape[0]) if X.ndim else 0
        if X.ndim >= 3 and n:
            self.last_input_shape = X.shape[1:]
        with _explained(hint):
            if not _progress.wants_bar(progress, n):
                return self._sim.run_batch(X, threads=threads)
            with _progress.bar(n) as update:
                return self._sim.run_batch(X, threads=threads, progress=update,
                                           progress_every=_progress.every(n))

    def evaluate(self, X, y, reference=None, threads=0, progress=None):
        """Accuracy on labelled samples, every sample run bit-exactly (`ai8xsim eval`'s
        twin): X is N samples, y N class indices or N x H x W class maps (segmentation:
        per-pixel accuracy and per-class IoU), reference another model's N classes or N x K
        outputs. Returns an EvalReport (top-1, top-5, per class, confusion, misclassified,
        agreement); it displays as a table in notebooks."""
        from .evaluation import evaluate
        return evaluate(self, X, y, reference=reference, threads=threads, progress=progress)

    def run_sequence(self, frames, buffer=None, return_buffer=False):
        """Run samples in order as a sequence of inferences, as a temporal network (izer's
        rolling `data_buffer`) runs on the chip: each step starts from the data buffer the
        step before left; the first from `buffer` (entries x channels x columns), or from
        zero as izer's single-sample run does. Returns every step's output stacked
        (N x C x H x W); with return_buffer=True, (outputs, the buffer after the last step).
        A network without a data buffer runs each frame on its own, as run_batch."""
        X = _as_batch(frames)
        if X.ndim >= 3 and X.shape[0]:
            self.last_input_shape = X.shape[1:]
        if buffer is not None:
            buffer = np.asarray(buffer)
        outputs, last = self._sim.run_sequence(X, buffer)
        return (outputs, last) if return_buffer else outputs

    def cycles(self, input_shape=None, clock_mhz=0.0):
        """The cycle model's count (ai8xsim.Cycles) for an input shape (default: the last
        sample's); clock_mhz 0 is the device's default CNN clock."""
        return Cycles.from_core(self._sim.cycles(list(self._shape(input_shape)),
                                                 float(clock_mhz)))

    def cost(self, input_shape=None, clock_mhz=0.0, load_clock_mhz=0.0, pipeline=True,
             riscv=False, mexpress=True, fifo_wait=True):
        """Time (us) and energy (uJ) per layer and in total: inference, input load, weight
        load, first inference from power-up, each inference with the weights retained
        (ai8xsim.Cost). Clocks 0: the device defaults; `pipeline`, `riscv`, `mexpress`,
        `fifo_wait` as izer's options."""
        return Cost.from_core(self._sim.cost(list(self._shape(input_shape)), float(clock_mhz),
                                             float(load_clock_mhz), bool(pipeline),
                                             bool(riscv), bool(mexpress), bool(fifo_wait)))

    def memory(self, input_shape=None):
        """Kernel and bias memory use (ai8xsim.Memory)."""
        return Memory.from_core(self._sim.memory(list(self._shape(input_shape))))

    def summary(self, input_shape=None):
        """Per layer: operator, shapes, pooling, kernel, shift, MACs (see ai8xsim.Summary)."""
        from .summary import Summary

        shape = self._shape(input_shape)
        return Summary(self.network(shape), self.cycles(shape), self.memory(shape))


def _x(shape):
    return "x".join(str(int(v)) for v in shape)


def _as_batch(X):
    if isinstance(X, (list, tuple)):
        return np.stack([as_sample(x) for x in X]) if X else np.zeros((0, 0, 0))
    return as_sample(X)
