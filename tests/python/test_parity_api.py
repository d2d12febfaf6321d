"""ai8xsim.parity.compare: against the fake-quant references (the done-criterion), against
izer's own outputs altered in known ways (each diagnosis), and against torch modules."""
import numpy as np
import pytest

import pysupport as S

ai8xsim = S.import_ai8xsim()
compare = ai8xsim.parity.compare

FAKEQUANT = [d.name for d, _ in S.fakequant_refs()] or [S.NO_CORPUS]
# References whose meta.json says their biases are not multiples of 128.
FINE_BIAS = [d.name for d, m in S.fakequant_refs() if "not multiples of 128" in m["how"]] \
    or [S.NO_CORPUS]
DEMO = S.first_demo_per_device()[0]


def _fakequant(name):
    S.require_corpus()
    ref_dir, fq_meta = next((d, m) for d, m in S.fakequant_refs() if d.name == name)
    net, x, expected, _ = S.load_case(ai8xsim, fq_meta["case"], "checkpoint")
    return net, x, expected, ref_dir / "fakequant_layers.npz", fq_meta


def _npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("name", FAKEQUANT)
def test_fakequant_parts_from_the_simulator_where_it_parts_from_izer(name):
    net, x, expected, ref_path, fq_meta = _fakequant(name)
    report = compare(net, None, ref_path)
    ref = _npz(ref_path)
    izer_parts = {i for i, a in expected.items() if f"layer_{i:03d}" in ref
                  and not np.array_equal(ref[f"layer_{i:03d}"], a)}
    assert {e.layer for e in report.layers if not e.exact} == izer_parts
    assert len(report.layers) == sum(k.startswith("layer_") for k in ref)
    # meta.json says where fake-quant and izer part ("... differ from izer ...").
    assert report.exact == ("differ from izer" not in fq_meta["how"])


@pytest.mark.parametrize("name", FAKEQUANT)
def test_fakequant_differences_are_diagnosed(name):
    net, x, _, ref_path, fq_meta = _fakequant(name)
    report = compare(net, x, ref_path)
    for e in report.layers:
        assert (e.diagnosis == "") == e.exact, f"layer {e.layer}: {e.diagnosis!r}"
        if not e.exact:
            assert "no known pattern" not in e.diagnosis
            if "not multiples of 128" in fq_meta["how"]:
                assert e.diagnosis.startswith("bias not representable in 8 bits")


@pytest.mark.parametrize("name", FINE_BIAS)
def test_bias_diagnosis_matches_the_checkpoint(name):
    torch = pytest.importorskip("torch")
    net, x, _, ref_path, fq_meta = _fakequant(name)
    report = compare(net, x, ref_path)
    biased = [e for e in report.layers if e.diagnosis.startswith("bias not representable")]
    assert biased and len(biased) == sum(not e.exact for e in report.layers)
    sd = torch.load(S.case_dir(fq_meta["case"]) / S.meta(fq_meta["case"])["checkpoint"],
                    map_location="cpu")["state_dict"]
    weight_keys = [k for k, v in sd.items() if k.endswith("weight") and v.dim() >= 2]
    network = net.network(x.shape)
    with_weights = [i for i in range(len(network.layers)) if network.layers[i].weights is not None]
    for e in biased:
        b = sd[weight_keys[with_weights.index(e.layer)][:-len("weight")] + "bias"].numpy()
        diff = (report.reference[e.layer] - report.simulated[e.layer]).reshape(len(b), -1)
        assert np.array_equal(diff[:, 0], np.mod(b, 128)), f"layer {e.layer}"


# ---- diagnoses on izer's outputs altered in known ways ----------------------------------------

def _izer(case=DEMO):
    S.require_corpus()
    net, x, expected, _ = S.load_case(ai8xsim, case)
    return net, x, expected, net.network(x.shape)


def _mid_range_layer(network, expected, low=4, high=63, count=50):
    """The first 8-bit layer in execution order with many values in [low, high]."""
    for i in network.order:
        a = expected[i]
        if network.layers[i].output_width == 8 and ((a >= low) & (a <= high)).sum() >= count:
            return i
    pytest.skip("no layer with enough mid-range values")


def _as_ref(expected, x=None):
    ref = {f"layer_{i:03d}": a.copy() for i, a in expected.items()}
    if x is not None:
        ref["input"] = x
    return ref


def _downstream_follow(report, network, k):
    for e in report.layers:
        L = network.layers[e.layer]
        if not e.exact and e.layer != k and (L.in_sequences == [k] or
                                              (not L.in_sequences and L.prev == k)):
            assert e.diagnosis.startswith(f"follows from layer {k}"), e.diagnosis


@pytest.mark.parametrize("factor,text", [(2, "output shift off by 1"),
                                         (0.5, "output shift off by 1")])
def test_shift_off_by_one(factor, text):
    net, x, expected, network = _izer()
    k = _mid_range_layer(network, expected)
    ref = _as_ref(expected)
    ref[f"layer_{k:03d}"] = np.clip(np.round(expected[k] * factor), -128, 127).astype(int)
    report = compare(net, x, ref)
    assert report.first_diverging.layer == k
    assert report.layer(k).diagnosis.startswith(text)
    assert f"{factor:g}x" in report.layer(k).diagnosis
    _downstream_follow(report, network, k)


def test_unfolded_batchnorm():
    net, x, expected, network = _izer()
    k = _mid_range_layer(network, expected)
    rng = np.random.default_rng(7)
    c = expected[k].shape[0]
    a = rng.uniform(0.6, 1.4, c)[:, None, None]
    b = rng.uniform(-6, 6, c)[:, None, None]
    ref = _as_ref(expected)
    lo = 0 if network.layers[k].activation == "ReLU" else -128
    ref[f"layer_{k:03d}"] = np.clip(np.round(a * expected[k] + b), lo, 127).astype(int)
    report = compare(net, x, ref)
    assert report.layer(k).diagnosis.startswith("unfolded BatchNorm")


def test_input_scaled_by_128_is_diagnosed_from_the_reference_input():
    net, x, expected, network = _izer()
    scaled_run = net.run(np.clip(x.astype(np.int64) * 128, -128, 127), layers=True)
    ref = {f"layer_{i:03d}": a for i, a in scaled_run.layers.items()}
    ref["input"] = x.astype(np.int64) * 128
    report = compare(net, x, ref)
    first = report.first_diverging
    assert first.layer == network.order[0]
    assert first.diagnosis.startswith("input scaling") and "128x" in first.diagnosis
    assert any("128x" in n for n in report.notes)


def test_input_scaled_by_128_is_diagnosed_from_saturation():
    net, x, expected, network = _izer()
    scaled_run = net.run(np.clip(x.astype(np.int64) * 128, -128, 127), layers=True)
    ref = {f"layer_{i:03d}": a for i, a in scaled_run.layers.items()}
    report = compare(net, x, ref)
    assert report.first_diverging.diagnosis.startswith("input scaling")


def test_float_scale_reference_and_scale_option():
    net, x, expected, _ = _izer()
    ref = {f"layer_{i:03d}": a / 128.0 for i, a in expected.items()
           if net.network(x.shape).layers[i].output_width == 8}
    report = compare(net, x, ref)
    assert report.first_diverging.diagnosis.startswith("input scaling")
    assert "scale=128" in report.first_diverging.diagnosis
    assert compare(net, x, ref, scale=128).exact


def test_shape_mismatch():
    net, x, expected, network = _izer()
    k = network.order[0]
    ref = _as_ref(expected)
    ref[f"layer_{k:03d}"] = expected[k][:-1]
    report = compare(net, x, ref)
    assert report.layer(k).diagnosis.startswith("shape differs")
    assert not report.exact


def _cases_with_layer(pred):
    for case in S.ok_cases():
        m = S.meta(case)
        if not m.get("weights"):
            continue
        net, x, expected, _ = S.load_case(ai8xsim, case)
        network = net.network(x.shape)
        hits = [i for i in network.order if pred(network.layers[i])]
        if hits:
            yield case, net, x, expected, network, hits


def _rounding_flipped_reference():
    """(net, x, network, reference from izer's run with avg_pool_rounding flipped, flipped
    value) for the first corpus case where flipping it changes a result."""
    for case, net, x, expected, network, _ in _cases_with_layer(
            lambda L: L.pool_average and max(L.pool) > 1):
        flip = not network.avg_pool_rounding
        other = net.with_options(avg_pool_rounding=flip)
        ref = {f"layer_{i:03d}": a for i, a in other.run(x, layers=True).layers.items()}
        if compare(net, x, ref).exact:
            continue
        return net, x, network, ref, flip
    pytest.skip("no corpus case where average-pool rounding changes a result")


def test_average_pool_rounding_found_by_flipping_the_option():
    S.require_corpus()
    net, x, network, ref, flip = _rounding_flipped_reference()
    first = compare(net, x, ref).first_diverging
    assert network.layers[first.layer].pool_average
    assert first.diagnosis.startswith("average-pool rounding")
    assert f"avg_pool_rounding={flip}" in first.diagnosis


def test_average_pool_rounding_found_from_the_windows():
    S.require_corpus()
    net, x, network, ref, _ = _rounding_flipped_reference()
    bare = ai8xsim.Simulator(net._sim)  # no load arguments: compare cannot re-run it
    first = compare(bare, x, ref).first_diverging
    assert first.diagnosis.startswith("average-pool rounding"), first.diagnosis
    assert "avg_pool_rounding=" not in first.diagnosis


def test_abs_at_rounding_ties():
    S.require_corpus()
    for case, net, x, expected, network, hits in _cases_with_layer(
            lambda L: L.activation == "Abs"):
        k = hits[0]
        a = expected[k].copy()
        spots = np.flatnonzero(a.ravel() < 127)[:5]
        if spots.size == 0:
            continue
        a.flat[spots] += 1
        ref = _as_ref(expected)
        ref[f"layer_{k:03d}"] = a
        report = compare(net, x, ref)
        assert report.layer(k).diagnosis.startswith("Abs at rounding ties")
        assert report.layer(k).equal == a.size - spots.size
        return
    pytest.skip("no corpus case with an Abs layer")


def test_izers_own_outputs_are_exact_and_render():
    net, x, expected, network = _izer()
    report = compare(net, x, _as_ref(expected, x))
    assert report.exact and report.first_diverging is None
    assert all(e.equal == e.total and e.max_abs_diff == 0 for e in report.layers)
    text = str(report)
    assert "exact on every layer" in text.splitlines()[0]
    assert len(text.splitlines()) == 3 + len(report.layers)
    assert report._repr_html_().count("<tr") == len(report.layers) + 1


def test_report_points_at_the_first_difference():
    net, x, expected, network = _izer()
    k = network.order[-1]
    ref = _as_ref(expected)
    a = ref[f"layer_{k:03d}"]
    a.flat[-1] += 3
    report = compare(net, x, ref)
    e = report.layer(k)
    assert e.equal == e.total - 1 and e.max_abs_diff == 3
    assert e.first_diff == np.unravel_index(a.size - 1, a.shape)
    assert e.first_values[1] - e.first_values[0] == 3
    assert "background" in report._repr_html_()
    assert str(report).splitlines()[-1] == f"layer {k}: {e.diagnosis}"


# ---- torch modules as references ---------------------------------------------------------

def _torch_case():
    pytest.importorskip("torch")
    import izer_torch

    for case in S.ok_cases():
        m = S.meta(case)
        if not m.get("checkpoint"):
            continue
        net, x, expected, _ = S.load_case(ai8xsim, case)
        network = net.network(x.shape)
        if izer_torch.supported(network) and not network.avg_pool_rounding:
            return izer_torch, net, x, expected, network
    pytest.skip("no corpus network the torch re-implementation supports")


def test_torch_module_reference_is_matched_layer_by_layer():
    izer_torch, net, x, expected, network = _torch_case()
    report = compare(net, x, izer_torch.IzerModel(network))
    assert [e.layer for e in report.layers] == network.order
    assert report.exact, str(report)


def test_torch_module_with_a_fine_bias_is_diagnosed():
    izer_torch, net, x, expected, network = _torch_case()
    k = network.order[-1]
    c = network.layers[k].out_channels
    excess = (np.arange(c) * 37) % 127 + 1
    model = izer_torch.IzerModel(network, bias_excess=(k, excess))
    report = compare(net, x, model)
    e = report.layer(k)
    assert [d.layer for d in report.layers if not d.exact] == [k]
    assert e.diagnosis.startswith("bias not representable in 8 bits")
    if network.layers[k].output_width == 32:
        diff = (report.reference[k] - report.simulated[k]).reshape(c, -1)[:, 0]
        assert np.array_equal(diff, excess)
