"""ai8xsim.load() and the Simulator it returns: run, run_batch, network, summary."""
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import _progress
from ._core import core

# The LoadOptions fields (include/ai8xsim/ai8xsim.h) besides the device.
OPTIONS = ("no_bias", "avg_pool_rounding", "fifo", "fast_fifo", "overlap_data")


@dataclass
class Cycles:
    """The cycle model's count for a network (sim/cycles.h): `total` CNN clock cycles
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
    and the cycle count when the build has the cycle model (`cycles`, else None)."""

    output: np.ndarray
    layers: Dict[int, np.ndarray] = field(default_factory=dict)
    cycles: Optional[object] = None


def load(config_file, checkpoint_file, device="MAX78000", **options):
    """Load an izer network YAML and its quantized checkpoint (*-q.pth.tar) or weights.npz.

    `options` are izer's flags that change results: no_bias (a layer index or a list),
    avg_pool_rounding, fifo, fast_fifo, overlap_data. Raises ai8xsim.Error with the
    library's message for anything wrong in the files."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"ai8xsim.load: unknown option(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(OPTIONS)}")
    kw = dict(options)
    kw["no_bias"] = _layer_list(kw.get("no_bias", ()))
    sim = core.Simulator.load(os.fspath(config_file), os.fspath(checkpoint_file),
                              device=str(device), **kw)
    return Simulator(sim, (config_file, checkpoint_file, device, options))


def _layer_list(v):
    if v is None:
        return []
    if isinstance(v, (int, np.integer)):
        return [int(v)]
    return [int(i) for i in v]


def as_sample(x):
    """x as a numpy array, unchanged in dtype (the binding checks dtype, shape and range)."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


class Simulator:
    """A loaded network. Outputs follow izer: C x H x W int32 (1-D: C x L x 1)."""

    def __init__(self, core_sim, loaded_from=None):
        self._sim = core_sim
        self._loaded_from = loaded_from  # load()'s arguments, for with_options()
        self.last_input_shape = None

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

    def run(self, x, layers=False, memory_fed=False, threads=0):
        """Run one sample (int8 .. int64 values in [-128, 127], C x H x W or C x L; read in
        place, any strides). Its large layers split their rows over `threads` threads (0: all
        cores).

        Returns the final output, or with layers=True a RunResult with every layer.
        memory_fed=True: the input is loaded into the data memory model as the chip loads it
        and every layer that reads data memory takes its input from there (as `run --kat`);
        the results are the same, the run is slower."""
        x = as_sample(x)
        output, outs = self._sim.run(x, bool(layers), memory_fed=bool(memory_fed),
                                     threads=int(threads))
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
        n = int(X.shape[0]) if X.ndim else 0
        if X.ndim >= 3 and n:
            self.last_input_shape = X.shape[1:]
        if not _progress.wants_bar(progress, n):
            return self._sim.run_batch(X, threads=int(threads))
        with _progress.bar(n) as update:
            return self._sim.run_batch(X, threads=int(threads), progress=update,
                                       progress_every=_progress.every(n))

    def cycles(self, input_shape=None, clock_mhz=0.0):
        """The cycle model's count (ai8xsim.Cycles) for an input shape (default: the last
        sample's); clock_mhz 0 is the device's default CNN clock. None when this build has
        no cycle model."""
        if not getattr(core, "has_cycles", False):
            return None
        return Cycles.from_core(self._sim.cycles(list(self._shape(input_shape)),
                                                 float(clock_mhz)))

    def memory(self, input_shape=None):
        """Kernel and bias memory use (ai8xsim.Memory), or None when this build has no
        memory model."""
        if not getattr(core, "has_memory", False):
            return None
        return Memory.from_core(self._sim.memory(list(self._shape(input_shape))))

    def summary(self, input_shape=None):
        """Per layer: operator, shapes, pooling, kernel, shift, MACs (see ai8xsim.Summary)."""
        from .summary import Summary

        shape = self._shape(input_shape)
        return Summary(self.network(shape), self.cycles(shape), self.memory(shape))


def _as_batch(X):
    if isinstance(X, (list, tuple)):
        return np.stack([as_sample(x) for x in X]) if X else np.zeros((0, 0, 0))
    return as_sample(X)
