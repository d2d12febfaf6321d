"""ai8xsim quantizes ai8x-training's float checkpoints as ai8x-synthesis's quantize.py does
(issue 20, item 2).

The float checkpoints the corpus's `*-shapetrue-q.pth.tar` were made from are not available, so
each test writes a float checkpoint in ai8x-training's format (the state-dict keys a QAT model
saves: op.weight, op.bias, weight_bits, bias_bits, output_shift, shift_quantile,
adjust_output_shift, quantize_activation) with seeded random values on the layer shapes of a
corpus shape-true checkpoint, and `quantize_py` below applies quantize.py's default
(MAX_BIT_SHIFT) rules to it with torch's own float32 operations. ai8xsim.load of the float
checkpoint must give every layer the same integer weights, biases, widths and shifts as
ai8xsim.load of that reference output, and the same outputs.
"""
import subprocess

import numpy as np
import pytest
import yaml

from pysupport import corpus_dir, require_corpus, import_ai8xsim, meta, case_dir, ok_cases

torch = pytest.importorskip("torch")


def quantize_py(state, yaml_quantization):
    """quantize.py's convert_checkpoint, default method (no --clip-method), written from its
    rules: per `*.weight` key in order (at most one per YAML layer) the width is the YAML's
    `quantization` at that key's position, else a nonzero `weight_bits`, else 8."""
    out = dict(state)
    done = 0
    for k in list(state):
        parts = k.rsplit(".", 2)
        if len(parts) < 2:
            continue
        layer, param = parts[0], parts[-1]
        op = parts[1] if len(parts) == 3 else None
        if param in ("w_zero_point", "b_zero_point"):
            assert not state[k].nonzero().numel()
            del out[k]
        elif param == "weight":
            if done >= len(yaml_quantization):
                continue
            bits = yaml_quantization[done]
            if bits is None and f"{layer}.weight_bits" in state:
                bits = int(state[f"{layer}.weight_bits"]) or None
            bits = bits or 8
            bias_key = ".".join([layer, op, "bias"] if op else [layer, "bias"])
            params = state[k].flatten()
            if bias_key in state:
                params = torch.cat((params, state[bias_key].flatten()))
            q = state.get(f"{layer}.shift_quantile", 1.0)
            shift = torch.floor(torch.log2(1.0 / torch.quantile(params.abs(), q))) \
                .clamp(min=-7. - bits, max=23. - bits)
            factor = 2 ** (bits - 1) * torch.pow(2., shift)
            out[k] = (factor * state[k]).add(.5).floor().clamp(min=-(2 ** (bits - 1)),
                                                               max=2 ** (bits - 1) - 1)
            wb = f"{layer}.weight_bits"
            if wb not in state or int(state[wb]) == 0:
                out[wb] = torch.Tensor([8])
            if bias_key in state:
                b = state[bias_key] * torch.pow(2., shift)
                b = (2 ** (bits - 1) * b).add(.5).floor().clamp(min=-(2 ** (bits - 1)),
                                                                max=2 ** (bits - 1) - 1)
                out[bias_key] = b * 2 ** (bits - 8) * 2 ** 7
                out[f"{layer}.bias_bits"] = torch.Tensor([bits])
            out[f"{layer}.output_shift"] = torch.Tensor([-shift])
            done += 1
        elif param == "base_b_q":
            del out[k]
        elif param == "adjust_output_shift":
            out[k] = torch.Tensor([0.])
        elif param == "quantize_activation":
            out[k] = torch.Tensor([1.])
    return out


def shape_true_case():
    """A corpus case whose checkpoint quantize.py made (shape-true) with mixed weight widths
    and a shift quantile below 1: the richest test of the rules."""
    require_corpus()
    for case in ok_cases():
        m = meta(case)
        st = m.get("shape_true") or {}
        pol = st.get("qat_policy") or {}
        if m.get("checkpoint") and pol.get("overrides") and pol.get("shift_quantile", 1) < 1:
            return case, m
    pytest.skip("no shape-true mixed-width case in the corpus")


def float_state(qstate, seed):
    """ai8x-training's float state dict on the layer shapes of a quantized one: random
    weights and biases with a different scale per layer, rounding edge cases planted."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in qstate.items():
        layer, _, param = k.rpartition(".")
        if param in ("weight", "bias") and v.dim() >= 1:
            scale = 2.0 ** float(torch.randint(-6, 2, (1,), generator=g))
            t = torch.randn(v.shape, generator=g) * scale
            if param == "bias":
                t = t * 3  # some biases clamp
            out[k] = t.float()
        elif param == "output_shift":
            out[k] = torch.Tensor([0.])
        elif param == "adjust_output_shift":
            out[k] = torch.Tensor([1.])
        elif param == "quantize_activation":
            out[k] = torch.Tensor([0.])
        else:
            out[k] = v.clone()
    return out


def plant_edges(state, yaml_quantization):
    """Replace some weights by values that land exactly on .5 after scaling, and by the
    float just below .5 (float32's x + 0.5 rounds it up to 1): the rounding rules' edges."""
    ref = quantize_py(state, yaml_quantization)
    for k in [k for k in state if k.endswith(".weight") and state[k].dim() > 1]:
        layer = k.rsplit(".", 2)[0]
        shift = -float(ref[f"{layer}.output_shift"])
        bits = int(ref.get(f"{layer}.bias_bits", ref[f"{layer}.weight_bits"]))
        flat = state[k].flatten().clone()
        if flat.numel() < 8:
            continue
        factor = 2.0 ** (bits - 1 + shift)
        below_half = np.nextafter(np.float32(0.5), np.float32(0))
        flat[:4] = torch.tensor([0.5, -0.5, 1.5, -2.5]) / factor
        flat[4] = float(below_half) / factor
        state[k] = flat.reshape(state[k].shape)
    return state


def save(path, state, arch):
    torch.save({"state_dict": state, "epoch": 200, "arch": arch,
                "extras": {"trained_by": "tests/python/test_quantize.py"}}, path)


@pytest.fixture(scope="module")
def quantized_pair(tmp_path_factory):
    case, m = shape_true_case()
    ai8xsim = import_ai8xsim()
    d = case_dir(case)
    ck = torch.load((d / m["checkpoint"]).resolve(), map_location="cpu", weights_only=False)
    # quantize.py's `params['quantization']`: the YAML's values (None where absent).
    doc = yaml.safe_load((d / m["config"]).read_text())
    yaml_q = [L.get("quantization") for L in doc["layers"]]
    yaml_q = [-1 if isinstance(q, str) else q for q in yaml_q]
    state = plant_edges(float_state(ck["state_dict"], 20), yaml_q)
    tmp = tmp_path_factory.mktemp("quantize")
    float_path, ref_path = tmp / "float.pth.tar", tmp / "reference-q.pth.tar"
    save(float_path, state, ck["arch"])
    save(ref_path, quantize_py(state, yaml_q), ck["arch"])
    return case, m, float_path, ref_path


def test_float_checkpoint_is_quantized_like_quantize_py(quantized_pair, capfd):
    ai8xsim = import_ai8xsim()
    case, m, float_path, ref_path = quantized_pair
    d = case_dir(case)
    x = np.load(d / m["sample_input"])
    ours = ai8xsim.load(d / m["config"], float_path, device=m["device"])
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "quantized" in err and "quantize.py" in err, err
    assert ours.notes and "float weights" in ours.notes[0]
    ref = ai8xsim.load(d / m["config"], ref_path, device=m["device"])
    assert ref.notes == []  # already integer: read as is
    a, b = ours.network(x.shape).layers, ref.network(x.shape).layers
    widths = set()
    for la, lb in zip(a, b):
        assert la.quantization == lb.quantization, la.index
        assert la.output_shift == lb.output_shift, la.index
        widths.add(la.quantization)
        if lb.weights is None:
            assert la.weights is None
            continue
        np.testing.assert_array_equal(la.weights, lb.weights, err_msg=f"layer {la.index}")
        if lb.bias is not None:
            np.testing.assert_array_equal(la.bias, lb.bias, err_msg=f"layer {la.index}")
    assert len(widths) > 1, "the case should mix weight widths"
    ra, rb = ours.run(x, layers=True), ref.run(x, layers=True)
    assert len(rb.layers) == len(a)
    for i in rb.layers:
        np.testing.assert_array_equal(ra.layers[i], rb.layers[i], err_msg=f"layer {i}")


def test_rounding_edges_were_exercised(quantized_pair):
    """The planted values hit quantize.py's rounding: +-0.5 and 1.5 round half up, -2.5 to
    -2, and float32's 0.49999997 + 0.5 rounds to 1."""
    _, _, float_path, ref_path = quantized_pair
    ref = torch.load(ref_path, weights_only=False)["state_dict"]
    key = next(k for k in ref if k.endswith(".weight") and ref[k].dim() > 1
               and ref[k].numel() >= 8 and int(ref[k.rsplit(".", 2)[0] + ".bias_bits"]) == 8)
    assert ref[key].flatten()[:5].tolist() == [1.0, 0.0, 2.0, -2.0, 1.0]


def test_check_accepts_a_float_checkpoint(quantized_pair, cli):
    case, m, float_path, _ = quantized_pair
    d = case_dir(case)
    p = subprocess.run([str(cli), "check", "--config-file", str(d / m["config"]),
                        "--checkpoint-file", str(float_path), "--device", m["device"],
                        "--input-shape", ",".join(map(str, np.load(d / m["sample_input"]).shape))],
                       capture_output=True, text=True)
    assert p.returncode in (0, 2), p.stderr
    assert "ai8xsim: note:" in p.stderr and "quantize.py" in p.stderr
    assert "not quantized" not in p.stdout + p.stderr.replace("(not quantized)", "")


def test_weight_bits_override(quantized_pair):
    ai8xsim = import_ai8xsim()
    case, m, float_path, _ = quantized_pair
    d = case_dir(case)
    shape = np.load(d / m["sample_input"]).shape
    base = ai8xsim.load(d / m["config"], float_path, device=m["device"])
    layer = next(L for L in base.network(shape).layers
                 if L.weights is not None and L.quantization == 8)
    with pytest.raises(ai8xsim.Error, match="allowed 1, 2, 4 or 8"):
        ai8xsim.load(d / m["config"], float_path, device=m["device"],
                     weight_bits={layer.index: 3})
    # an override is the layer's `quantization` too (packing, implicit shift, bias scale)
    net = ai8xsim.load(d / m["config"], float_path, device=m["device"],
                       weight_bits={layer.index: 4})
    L = net.network(shape).layers[layer.index]
    assert L.quantization == 4 and np.abs(L.weights).max() <= 8
    with pytest.raises(ai8xsim.Error, match="weight_bits: found layer 999"):
        ai8xsim.load(d / m["config"], float_path, device=m["device"], weight_bits={999: 4})
