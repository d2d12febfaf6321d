"""Issue 20, item 9: shape and scale mistakes in Python are named for what they are, before
the library's value checks: channels-last images, one sample given to run_batch, a batch given
to run, a uint8 image, and a malformed no_bias."""
import numpy as np
import pytest

from pysupport import TESTS, case_dir, load_options, import_ai8xsim, meta, ok_cases, require_corpus


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


@pytest.fixture(scope="module")
def flatten_net():
    """A model-zoo image network whose layer 0 states no in_dim and whose weights pin the
    pixel count (a flatten layer): its size comes from the sample, and only one size fits."""
    require_corpus()
    ai8xsim = import_ai8xsim()
    import yaml
    for case in ok_cases():
        m = meta(case)
        d = case_dir(case)
        x = np.load(d / m["sample_input"])
        if not m.get("checkpoint") or x.ndim != 3:
            continue
        layers = yaml.safe_load((d / m["config"]).read_text())["layers"]
        if "in_dim" not in layers[0] and any(ly.get("flatten") for ly in layers):
            return ai8xsim.load(d / m["config"], (d / m["checkpoint"]).resolve(),
                                device=m["device"], **load_options(m)), x.astype(np.int64)
    pytest.skip("no image network with a flatten layer in the corpus")


def test_wrong_size_without_in_dim_is_refused_at_layer_0(flatten_net):
    """A network whose layer 0 states no in_dim takes the sample's rows and columns: a sample
    4 rows and columns short is named at layer 0 with the size taken and the size expected
    (the one the network was made for), by run and run_batch alike."""
    ai8xsim = import_ai8xsim()
    net, x = flatten_net
    small = x[:, 4:, 4:]
    taken = "x".join(map(str, small.shape))
    want = "x".join(map(str, x.shape))
    for call in (lambda: net.run(small), lambda: net.run_batch(np.stack([small, small]))):
        with pytest.raises(ai8xsim.Error) as e:
            call()
        msg = str(e.value)
        assert e.value.kind == "input", msg
        assert ": layer 0: the input is " + taken + " and layer 0 states no `in_dim`" in msg
        assert "This network expects " + want in msg and "give a sample of that size" in msg
    net.run(x)


def test_wrong_length_1d_without_in_dim():
    """The same for a 1-D network (the ECG example, layer 0 without in_dim): a sample of
    length 100 for a network of 128."""
    ai8xsim = import_ai8xsim()
    ecg = TESTS.parent / "examples" / "ecg"
    net = ai8xsim.load(ecg / "ecg.yaml", ecg / "weights.npz", device="MAX78002")
    x = np.load(ecg / "sample_ecg_1x128.npy")
    with pytest.raises(ai8xsim.Error) as e:
        net.run(x[:, :100])
    msg = str(e.value)
    assert e.value.kind == "input"
    assert "ecg.yaml:" in msg and ": layer 0: the input is 1x100 " in msg
    assert "takes the input's 100; at that size layer " in msg
    assert "This network expects 1x128" in msg
    assert net.run(x).shape[0] == 5


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
