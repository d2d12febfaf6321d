"""Issue 20, item 9: shape and scale mistakes in Python are named for what they are, before
the library's value checks: channels-last images, one sample given to run_batch, a batch given
to run, a uint8 image, and a malformed no_bias."""
import numpy as np
import pytest

from pysupport import case_dir, import_ai8xsim, meta, ok_cases, require_corpus


@pytest.fixture(scope="module")
def image_net():
    """A model-zoo network on C x H x W images with fewer channels than rows."""
    require_corpus()
    ai8xsim = import_ai8xsim()
    for case in ok_cases():
        m = meta(case)
        x = np.load(case_dir(case) / m["sample_input"])
        if m.get("checkpoint") and x.ndim == 3 and x.shape[0] < x.shape[1] and not m.get("flags"):
            d = case_dir(case)
            return ai8xsim.load(d / m["config"], (d / m["checkpoint"]).resolve(),
                                device=m["device"]), x.astype(np.int64), m
    pytest.skip("no image network in the corpus")


def test_channels_last_image(image_net):
    ai8xsim = import_ai8xsim()
    net, x, _ = image_net
    c = x.shape[0]
    with pytest.raises(ai8xsim.Error, match=r"channels-last; transpose it: x\.transpose\(2, 0, 1\)"):
        net.run(x.transpose(1, 2, 0))
    with pytest.raises(ai8xsim.Error, match=r"X\.transpose\(0, 3, 1, 2\)"):
        net.run_batch(np.stack([x.transpose(1, 2, 0)] * 2))
    np.testing.assert_array_equal(net.run(x), net.run(x.transpose(1, 2, 0).transpose(2, 0, 1)))
    assert f"takes {c}x" in str(pytest.raises(ai8xsim.Error, net.run, x.transpose(1, 2, 0)).value)


def test_one_sample_to_run_batch_and_a_batch_to_run(image_net):
    ai8xsim = import_ai8xsim()
    net, x, _ = image_net
    with pytest.raises(ai8xsim.Error, match=r"one sample; run_batch takes N samples.*X\[None\]"):
        net.run_batch(x)
    with pytest.raises(ai8xsim.Error, match=r"a batch; run takes one sample.*or x\[0\]"):
        net.run(x[None])
    assert net.run_batch(x[None]).shape[0] == 1


def test_uint8_image_says_subtract_128(image_net):
    ai8xsim = import_ai8xsim()
    net, x, _ = image_net
    u = (x + 128).astype(np.uint8)
    with pytest.raises(ai8xsim.Error, match=r"uint8 with values up to \d+.*subtract 128"):
        net.run(u)
    np.testing.assert_array_equal(net.run(u.astype(np.int16) - 128), net.run(x))


def test_no_bias_string_and_bad_values(image_net):
    ai8xsim = import_ai8xsim()
    _, _, m = image_net
    net = ai8xsim.load(_path(m, "config"), _path(m, "checkpoint"),
                       device=m["device"], no_bias="0,1")
    assert net.options["no_bias"] == [0, 1]
    with pytest.raises(ai8xsim.Error, match=r"no_bias=.*give YAML layer indices"):
        ai8xsim.load(_path(m, "config"), _path(m, "checkpoint"), device=m["device"],
                     no_bias="1,x")


def _path(m, key):
    for case in ok_cases():
        if meta(case) == m:
            return (case_dir(case) / m[key]).resolve()
    raise AssertionError("case not found")


def test_reprs_are_short(image_net):
    """Item 10: RunResult, Cycles and Network print a summary, not every array."""
    net, x, _ = image_net
    r = net.run(x, layers=True)
    text = repr(r)
    assert text.startswith("RunResult(output ") and len(text) < 600
    assert "array(" not in text
    net_text = repr(net.network(x.shape))
    assert net_text.startswith("<ai8xsim.Network: ") and "layers" in net_text
    assert "object at 0x" not in net_text
    if r.cycles is not None:
        c = repr(r.cycles)
        assert c.startswith("Cycles: ") and "\n  layer 0: " in c and "terms" not in c


def test_saturation_has_one_meaning():
    """Item 7: saturated = clamped at 127 or -128, the same in the parity table, the
    histograms and the diagnoses; ReLU's zeros are not saturation; 32-bit outputs have none."""
    ai8xsim = import_ai8xsim()
    from ai8xsim import _diagnose

    class L:
        output_width, activation = 8, "ReLU"

    relu = np.array([0, 0, 0, 5, 127, 127])
    assert _diagnose.saturation(relu, L) == pytest.approx(2 / 6)
    assert _diagnose.saturation(relu) == pytest.approx(2 / 6)  # without the layer: the same
    L.output_width = 32
    assert _diagnose.saturation(np.array([1000, -5]), L) is None
    assert _diagnose.saturation(np.array([1000, -5])) is None   # beyond 8 bits: 32-bit
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = ai8xsim.plots.histograms({0: relu.reshape(1, 2, 3), 1: np.array([[[4000, -70000]]])})
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles[0] == "layer 0: 33.3% saturated" and titles[1] == "layer 1 (32-bit)"
    assert fig.axes[0].get_xlabel() == "output value"
