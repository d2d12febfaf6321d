"""Plots (matplotlib, imported when a plot is drawn): per-layer activation histograms with
the saturation marked, the difference map of a diverging layer, and per-layer time and
energy (ai8xsim.Cost)."""
import math

import numpy as np

from . import _diagnose


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _layers_of(source):
    """(network or None, {index: simulator array}, {index: reference array} or {}) from a
    ParityReport or a RunResult / dict of layer outputs."""
    if hasattr(source, "simulated"):
        return source.network, source.simulated, source.reference
    layers = getattr(source, "layers", source)
    return None, dict(layers), {}


def cost(c, title=None):
    """Per-layer time (us) and energy (uJ) of an ai8xsim.Cost (Simulator.cost()), as two bar
    charts over the layers in execution order; the totals in the titles. Returns the
    figure."""
    plt = _plt()
    labels = [str(e["layer"]) for e in c.layers]
    x = np.arange(len(labels))
    fig, (ax_t, ax_e) = plt.subplots(2, 1, sharex=True, figsize=(max(6, 0.3 * len(x) + 2), 5))
    ax_t.bar(x, [e["us"] for e in c.layers], color="tab:blue")
    ax_t.set_ylabel("us")
    ax_t.set_title(f"time: inference {c.inference['us']:.1f} us at {c.clock_mhz:g} MHz"
                   f"{' (pipeline)' if c.pipeline else ''}")
    ax_e.bar(x, [e["uj"] for e in c.layers], color="tab:orange")
    ax_e.set_ylabel("uJ")
    ax_e.set_title(f"energy: inference {c.inference['uj']:.1f} uJ")
    ax_e.set_xticks(x)
    ax_e.set_xticklabels(labels, fontsize=7)
    ax_e.set_xlabel("layer (execution order)")
    fig.suptitle(title or f"{c.device}: first inference from power-up "
                 f"{c.first_inference['us'] / 1000:.2f} ms, {c.first_inference['uj']:.0f} uJ")
    fig.tight_layout()
    return fig


def histograms(source, layers=None, network=None, cols=4, bins=64):
    """One histogram per layer of its output values (a RunResult, a dict of layer outputs,
    or a ParityReport, whose reference is overlaid). Clamp limits are drawn as dashed lines
    and the share of saturated values is in each title. Returns the figure."""
    net, sim, ref = _layers_of(source)
    net = net or network
    indices = [i for i in (layers if layers is not None else sorted(sim)) if i in sim]
    rows = max(1, math.ceil(len(indices) / cols))
    fig, axes = _plt().subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, i in zip(axes.flat, indices):
        _histogram(ax, i, sim[i], ref.get(i), net.layers[i] if net else None, bins)
    for ax in list(axes.flat)[len(indices):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _histogram(ax, index, values, ref, layer, bins):
    v = np.asarray(values).ravel()
    eight_bit = layer.output_width == 8 if layer is not None else \
        _diagnose.saturation(v) is not None
    edges = np.arange(-128.5, 128.5, max(1, 256 // bins)) if eight_bit else bins
    ax.hist(v, bins=edges, color="tab:blue", alpha=0.7, label="simulator")
    if ref is not None and ref.size == v.size:
        ax.hist(np.asarray(ref).ravel(), bins=edges, histtype="step", color="tab:red",
                label="reference")
    title = f"layer {index}"
    if eight_bit:
        for limit in _limits(layer):
            ax.axvline(limit, color="black", linestyle="--", linewidth=0.8)
        sat = _diagnose.saturation(v, layer)
        if sat is not None:
            title += f": {100 * sat:.1f}% saturated"
    else:
        title += " (32-bit)"
    ax.set_title(title, fontsize=9)
    ax.set_yscale("log")
    ax.set_xlabel("output value", fontsize=7)
    ax.set_ylabel("elements", fontsize=7)
    if ref is not None and ref.size == v.size:
        ax.legend(fontsize=6)
    ax.tick_params(labelsize=7)


def _limits(layer):
    if layer is None or layer.activation not in ("ReLU", "Abs"):
        return (-128, 127)
    return (0, 127) if layer.activation == "ReLU" else (127,)


def difference_map(report, layer=None, max_channels=64):
    """reference - simulator for one layer of a ParityReport (default: the first diverging
    layer), one row per channel, its pixels along x (H*W flattened). Returns the figure, or
    None when every layer is exact."""
    entry = report.first_diverging if layer is None else report.layer(layer)
    if entry is None or not entry.ref_shape or entry.shape != entry.ref_shape:
        return None
    sim = report.simulated[entry.layer].astype(np.float64)
    ref = report.reference[entry.layer].reshape(sim.shape).astype(np.float64)
    channels = sim.shape[0]
    diff = (ref - sim).reshape(channels, -1)[:max_channels]
    lim = max(1.0, float(np.abs(diff).max()))
    fig, ax = _plt().subplots(figsize=(9, 1.5 + 0.12 * diff.shape[0]))
    im = ax.imshow(diff, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim,
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label="reference - simulator")
    ax.set_xlabel(f"pixel (row-major over {'x'.join(map(str, sim.shape[1:]))})")
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # channels and pixels are whole
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    shown = (f"; channels 0-{diff.shape[0] - 1} of {channels} shown (max_channels)"
             if diff.shape[0] < channels else "")
    ax.set_ylabel("channel")
    ax.set_title(f"layer {entry.layer}: {entry.total - entry.equal:,} of {entry.total:,} "
                 f"differ{shown}\n{_wrap(entry.diagnosis)}", fontsize=9)
    fig.tight_layout()
    return fig


def _wrap(text, width=110):
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "\n".join(lines + [line])


def sweep(result, title=None):
    """A precision sweep (ai8xsim.sweep's result): accuracy against kernel memory (rows) and
    against latency (us), one point per fitting configuration, the Pareto front of each drawn
    and its points labelled with their widths. Returns the figure."""
    plt = _plt()
    fits = [r for r in result.records if r["fits"] and r["accuracy"] is not None]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, front, label in ((axes[0], "kernel_rows", result.memory_front,
                                   "kernel memory (72-bit rows)"),
                                  (axes[1], "latency_us", result.latency_front,
                                   "latency (us, one inference)")):
        ax.scatter([r[key] for r in fits], [100 * r["accuracy"] for r in fits], s=14,
                   color="0.6", label="configuration")
        ax.plot([r[key] for r in front], [100 * r["accuracy"] for r in front], "o-",
                color="tab:red", label="Pareto front")
        for r in front:
            ax.annotate("".join(map(str, r["bits"])), (r[key], 100 * r["accuracy"]),
                        textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_xlabel(label)
        ax.set_ylabel("chip accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    left_out = len(result.records) - len(fits)
    fig.suptitle(title or f"precision sweep: {len(fits)} configurations that fit"
                 + (f" ({left_out} without accuracy: do not fit)" if left_out else "")
                 + "; labels: widths of layers " + ",".join(map(str, result.layers)))
    fig.tight_layout()
    return fig
