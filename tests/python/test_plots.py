"""ai8xsim.plots: histograms per layer and the difference map of the first diverging layer."""
import numpy as np
import pytest

import pysupport as S

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
ai8xsim = S.import_ai8xsim()


def _case():
    S.require_corpus()
    net, x, expected, _ = S.load_case(ai8xsim, S.first_demo_per_device()[0])
    return net, x, expected


def test_histograms_one_panel_per_layer_with_saturation():
    net, x, _ = _case()
    result = net.run(x, layers=True)
    fig = ai8xsim.plots.histograms(result, network=net.network())
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == len(result.layers)
    titles = [ax.get_title() for ax in shown]
    eight_bit = [i for i in result.layers if net.network().layers[i].output_width == 8]
    assert sum("saturated" in t for t in titles) == len(eight_bit)
    assert all(any(line.get_linestyle() == "--" for line in ax.lines)
               for ax, i in zip(shown, sorted(result.layers)) if i in eight_bit)


def test_difference_map_shows_the_first_diverging_layer():
    net, x, expected = _case()
    network = net.network(x.shape)
    k = network.order[len(network.order) // 2]
    ref = {f"layer_{i:03d}": a.copy() for i, a in expected.items()}
    ref[f"layer_{k:03d}"].flat[0] += 5
    report = ai8xsim.parity.compare(net, x, ref)
    fig = ai8xsim.plots.difference_map(report)
    image = fig.axes[0].images[0].get_array()
    assert f"layer {k}" in fig.axes[0].get_title()
    assert image.shape[0] == min(64, expected[k].shape[0])
    assert image[0, 0] == 5 and np.count_nonzero(image) == 1


def test_difference_map_is_none_when_exact():
    net, x, expected = _case()
    report = ai8xsim.parity.compare(net, x, {f"layer_{i:03d}": a for i, a in expected.items()})
    assert ai8xsim.plots.difference_map(report) is None
    fig = ai8xsim.plots.histograms(report)
    assert any(ax.get_legend_handles_labels()[1] for ax in fig.axes)


def test_difference_map_says_which_channels_and_ticks_are_whole():
    """Issue 20, item 10: fewer channels shown than the layer has is said; ticks are integers."""
    net, x, expected = _case()
    network = net.network(x.shape)
    k = next(i for i in network.order if expected[i].shape[0] > 4)
    ref = {f"layer_{i:03d}": a.copy() for i, a in expected.items()}
    ref[f"layer_{k:03d}"].flat[0] += 5
    report = ai8xsim.parity.compare(net, x, ref)
    fig = ai8xsim.plots.difference_map(report, max_channels=4)
    ax = fig.axes[0]
    c = expected[k].shape[0]
    assert f"channels 0-3 of {c} shown" in ax.get_title()
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_yticks())
    assert all(float(t).is_integer() for t in ax.get_xticks())
