"""ai8xsim.parity.compare: the simulator against a reference, layer by layer.

A reference is a dict (or .npz path) of per-layer arrays in izer's integer scale,
`layer_NNN` by YAML index plus an optional `input` (as ai8x-training's fake-quant dumps or
izer's expected.npz), or a PyTorch module (ai8x-style: its layer outputs are captured with
forward hooks and matched to YAML layers by order and shape). Each differing layer gets a
diagnosis read from the data: the pattern of the differences and the layer's parameters."""
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import _diagnose
from ._table import Table, shape_str
from .simulator import as_sample

_LAYER_KEY = re.compile(r"^layer_(\d+)$")


@dataclass
class LayerParity:
    """One YAML layer: `equal` of `total` elements agree; `diagnosis` is empty when equal."""

    layer: int
    shape: Tuple[int, ...]
    ref_shape: Tuple[int, ...]
    equal: int
    total: int
    max_abs_diff: float
    first_diff: Optional[Tuple[int, ...]]      # (channel, y, x) of the first difference
    first_values: Optional[Tuple[float, float]]  # (simulator, reference) there
    saturation: Optional[float]                # simulator's share of clamped values
    ref_saturation: Optional[float]            # the reference's share
    diagnosis: str = ""

    @property
    def exact(self):
        return self.shape == self.ref_shape and self.equal == self.total

    def first_text(self):
        if self.first_diff is None:
            return None
        c, *pix = self.first_diff
        s, r = self.first_values
        return f"c{c} ({', '.join(map(str, pix))}): {_num(s)} vs {_num(r)}"


class ParityReport:
    """compare()'s result: `layers` (LayerParity, in execution order), `exact`, `notes`,
    and the arrays compared (`simulated`, `reference`: YAML index -> C x H x W)."""

    def __init__(self, layers, simulated, reference, notes, network):
        self.layers: List[LayerParity] = layers
        self.simulated: Dict[int, np.ndarray] = simulated
        self.reference: Dict[int, np.ndarray] = reference
        self.notes: List[str] = notes
        self.network = network

    @property
    def exact(self):
        return bool(self.layers) and all(e.exact for e in self.layers)

    @property
    def first_diverging(self):
        return next((e for e in self.layers if not e.exact), None)

    def layer(self, index):
        return next(e for e in self.layers if e.layer == index)

    COLUMNS = ("layer", "equal/total", "max |diff|", "first diff (sim vs ref)", "sat. sim",
               "sat. ref")

    def table(self, diagnosis_column=True):
        rows = [[e.layer, f"{e.equal:,}/{e.total:,}", _num(e.max_abs_diff), e.first_text(),
                 _pct(e.saturation), _pct(e.ref_saturation)]
                + ([e.diagnosis] if diagnosis_column else []) for e in self.layers]
        columns = self.COLUMNS + (("diagnosis",) if diagnosis_column else ())
        return Table(columns, rows, f"parity: {self.verdict()}", "\n".join(self.notes),
                     right=self.COLUMNS[:3] + self.COLUMNS[4:])

    def verdict(self):
        if not self.layers:
            return "no layer to compare"
        if self.exact:
            return "exact on every layer"
        return f"{sum(not e.exact for e in self.layers)} of {len(self.layers)} layers differ"

    def __str__(self):
        """The table, then one line per diagnosis (they are too long for a column)."""
        lines = [self.table(diagnosis_column=False).text()]
        lines += [f"layer {e.layer}: {e.diagnosis}" for e in self.layers if e.diagnosis]
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        styles = ["" if e.exact else "background:#fde2e1" for e in self.layers]
        return self.table().html(styles)


def _num(v):
    if v is None:
        return None
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.4g}"


def _pct(v):
    return None if v is None else f"{100 * v:.1f}%"


# ---- the reference ------------------------------------------------------------------------

def compare(net, x=None, reference=None, *, scale=1, module_input=None):
    """Run `net` (an ai8xsim.Simulator) on sample `x` and compare every layer with
    `reference`: a dict or .npz path of `layer_NNN` arrays (+ optional `input`, used when x
    is None), or a torch.nn.Module run on x. `scale` multiplies the reference's layers
    (e.g. 128 for a float-scale reference). `module_input`: what the module gets instead of
    x (an array, or a function of x): a float model trained on [-1, 1) inputs takes
    `module_input=x / 128` with `scale=128`; an ai8x model in its hardware-simulation mode
    (`ai8x.set_device(..., simulate=True)`) takes x itself. Returns a ParityReport."""
    if reference is None:
        raise TypeError("compare: give a reference (dict, .npz path or torch module)")
    if module_input is not None and not hasattr(reference, "named_modules"):
        raise TypeError("compare: module_input is for a torch module reference")
    x, ref_layers, ref_input = _reference(net, x, reference, module_input)
    result = net.run(x, layers=True)
    network = net.network(x.shape)
    ref_layers = {k: _as_ref(v, scale) for k, v in ref_layers.items()}
    ctx = _diagnose.Context(network, x, result.layers, ref_layers,
                            _diagnose.input_ratio(x, ref_input), _rerun(net, x))
    entries = [_entry(ctx, i) for i in network.order if i in ref_layers]
    entries += _unrun(network, ref_layers)
    notes = ctx.notes()
    if not ref_layers:
        notes.append("the reference holds no layer_NNN arrays")
    return ParityReport(entries, result.layers, ref_layers, notes, network)


def _reference(net, x, reference, module_input=None):
    if isinstance(reference, (str, os.PathLike)):
        with np.load(os.fspath(reference)) as z:
            reference = {k: z[k] for k in z.files}
    if hasattr(reference, "named_modules"):
        if x is None:
            raise TypeError("compare: a torch module needs the sample x")
        from . import _torchref

        x = as_sample(x)
        network = net.network(x.shape)
        fed = x if module_input is None else (
            module_input(x) if callable(module_input) else module_input)
        fed = np.asarray(fed.detach().cpu().numpy() if hasattr(fed, "detach") else fed)
        if fed.shape != x.shape:
            raise ValueError(f"compare: module_input has shape {fed.shape}, the sample "
                             f"{x.shape}; give the same sample in the module's scale")
        return x, _torchref.capture(reference, fed, network), None
    layers = {int(m.group(1)): np.asarray(v) for k, v in reference.items()
              if (m := _LAYER_KEY.match(k))}
    ref_input = reference.get("input")
    if x is None:
        if ref_input is None:
            raise TypeError("compare: no sample: pass x or a reference with an 'input' array")
        x = np.asarray(ref_input)
    return as_sample(x), layers, ref_input


def _rerun(net, x):
    """options -> every layer's output with those load options changed, each variant run
    once (None: unavailable, e.g. a Simulator not made by ai8xsim.load)."""
    cache = {}

    def rerun(**changes):
        if getattr(net, "_loaded_from", None) is None:
            return None
        key = tuple(sorted(changes.items()))
        if key not in cache:
            cache[key] = net.with_options(**changes).run(x, layers=True).layers
        return cache[key]

    return rerun


def _as_ref(a, scale):
    a = np.asarray(a)
    if scale != 1:
        a = a * scale
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        return a.astype(np.int64)
    return a if a.dtype.kind == "f" else a.astype(np.int64)


def _entry(ctx, index):
    sim = ctx.sim[index]
    ref = ctx.reference_for(index)
    layer = ctx.network.layers[index]
    base = dict(layer=index, shape=tuple(sim.shape), ref_shape=tuple(ref.shape),
                saturation=_diagnose.saturation(sim, layer),
                ref_saturation=_diagnose.saturation(ref, layer))
    if sim.shape != ref.shape:
        ctx.mark_differs(index)
        return LayerParity(equal=0, total=int(sim.size), max_abs_diff=float("nan"),
                           first_diff=None, first_values=None,
                           diagnosis=_diagnose.diagnose(ctx, index), **base)
    diff = ref.astype(np.float64) - sim
    differs = diff != 0
    first = None if not differs.any() else tuple(
        int(i) for i in np.unravel_index(int(np.argmax(differs)), diff.shape))
    entry = LayerParity(equal=int(sim.size - differs.sum()), total=int(sim.size),
                        max_abs_diff=float(np.abs(diff).max()) if diff.size else 0.0,
                        first_diff=first,
                        first_values=None if first is None else (sim[first], ref[first]),
                        **base)
    if not entry.exact:
        ctx.mark_differs(index)
        entry.diagnosis = _diagnose.diagnose(ctx, index)
    return entry


def _unrun(network, ref_layers):
    """Reference layers the simulator has no output for (not in the network or not run)."""
    missing = sorted(set(ref_layers) - set(network.order))
    return [LayerParity(layer=i, shape=(), ref_shape=tuple(np.shape(ref_layers[i])), equal=0,
                        total=int(np.size(ref_layers[i])), max_abs_diff=float("nan"),
                        first_diff=None, first_values=None, saturation=None,
                        ref_saturation=None,
                        diagnosis="the simulator ran no such layer (YAML index out of range "
                                  "or not in the layer sequence)") for i in missing]


__all__ = ["compare", "ParityReport", "LayerParity", "shape_str"]
