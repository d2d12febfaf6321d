"""The examples built on `ai8xsim eval` (examples/fashion, examples/pose), fast parts only:

* the Fashion-MNIST tooling: izer's checkpoint conventions (the corpus checkpoints read back as
  izer loaded them), the chip emulation against izer's output, the IDX reader and input
  scaling, and a network with random weights quantized at 8, 4, 2 and 1 bits by `ai8xsim
  quantize` (the one quantizer) that `ai8xsim check` accepts on the MAX78000 and `ai8xsim eval`
  runs bit-exactly as emulated;
* the pose student of seeds/002: the YAML and a random checkpoint load; `check` gives
  CHECK.md's verdicts on both devices.
No training and no Fashion-MNIST files needed.
"""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import require_corpus  # noqa: E402

FASHION = ROOT / "examples" / "fashion"
POSE = ROOT / "examples" / "pose"


def run(cli, *args, **kw):
    return subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kw)


def mnist_case():
    corpus = require_corpus()
    case = corpus / "cases" / "demo-mnist-max78000"
    meta = json.loads((case / "meta.json").read_text())
    return case, (case / meta["checkpoint"]).resolve()


# ---- examples/fashion: izer's conventions, the emulator, a quantized random network -------------
torch = pytest.importorskip("torch")
sys.path.insert(0, str(FASHION))
import fashionlib as fl  # noqa: E402


@pytest.mark.parametrize("case", ["demo-mnist-max78000", "demo-cifar-10-max78000",
                                  "demo-cats-dogs-max78000"])
def test_corpus_checkpoints_read_as_izer_loaded_them(case):
    corpus = require_corpus()
    d = corpus / "cases" / case
    meta = json.loads((d / "meta.json").read_text())
    layers = fl.read_q_checkpoint((d / meta["checkpoint"]).resolve())
    npz = np.load(d / "weights.npz")
    assert len(layers) == len(npz["output_shift"])
    for i, layer in enumerate(layers):
        w = npz[f"weight_{i:03d}"]
        assert np.array_equal(layer["weight"].reshape(w.shape), w), f"{case} layer {i}"
        if layer["bias"] is None:
            assert f"bias_{i:03d}" not in npz.files
        else:
            assert np.array_equal(layer["bias"], npz[f"bias_{i:03d}"]), f"{case} layer {i}"
        assert layer["shift"] == npz["output_shift"][i]
        assert layer["bits"] == npz["quantization"][i]


def test_chip_emulation_equals_izer_on_mnist():
    case, ckpt = mnist_case()
    layers = fl.read_q_checkpoint(ckpt)
    # demo-mnist's YAML, layer by layer
    specs = [fl.LayerSpec("conv1", 1, 60, pad=1),
             fl.LayerSpec("conv2", 60, 60, pool=2, pad=2),
             fl.LayerSpec("conv3", 60, 56, pool=2, pad=1),
             fl.LayerSpec("conv4", 56, 12, pool=2, avg_pool=True, pad=1),
             fl.LayerSpec("fc", 192, 10, kernel=1, pad=0, relu=False, flatten=True, wide=True)]
    q = [fl.QLayer(s, L["weight"], L["bias"], L["bits"], L["shift"])
         for s, L in zip(specs, layers)]
    out = fl.chip_forward(q, np.load(case / "input.npy")[None])
    assert np.array_equal(out.ravel(), np.load(case / "expected.npz")["output"].ravel())


def test_read_idx(tmp_path):
    import gzip
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = b"\0\0\x08\x03" + b"".join(int(n).to_bytes(4, "big") for n in data.shape)
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzip.compress(raw + data.tobytes()))
    assert np.array_equal(fl.read_idx(tmp_path / "a-idx3-ubyte.gz"), data)
    x = fl.to_int8(np.array([[[0, 255, 128, 127]]], dtype=np.uint8))
    assert x.tolist() == [[[[-128, 127, 1, -1]]]]  # round(p/255*256 - 128), clipped


@pytest.fixture(scope="module")
def random_fashion(tmp_path_factory, cli):
    """A FashionNet with random weights, saved as ai8x-training's float checkpoint and
    quantized at every width by `ai8xsim quantize` (the one quantizer): (dir, samples)."""
    torch.manual_seed(0)
    model = fl.FashionNet().eval()
    rng = np.random.default_rng(1)
    samples = rng.integers(-128, 128, size=(24, 1, 28, 28)).astype(np.int8)
    d = tmp_path_factory.mktemp("fashion")
    (d / "fashion.yaml").write_text(fl.yaml_text(model.specs, None))
    fl.write_float_checkpoint(d / "float.pth.tar", model.state_dict())
    for bits in (8, 4, 2, 1):
        p = run(cli, "quantize", "--config-file", d / "fashion.yaml", "--checkpoint-file",
                d / "float.pth.tar", "--weight-bits", bits, "--output", d / f"w{bits}.npz")
        assert p.returncode == 0, p.stderr
    np.save(d / "X.npy", samples)
    np.save(d / "y.npy", np.arange(len(samples)) % 10)
    return d, samples


@pytest.mark.parametrize("bits", [8, 4, 2, 1])
def test_quantized_fashion_fits_and_runs_as_emulated(cli, random_fashion, bits):
    d, samples = random_fashion
    args = ["--config-file", d / "fashion.yaml", "--checkpoint-file", d / f"w{bits}.npz",
            "--device", "MAX78000"]
    p = run(cli, "check", *args)
    assert p.returncode == 0 and "fits" in p.stdout, p.stdout + p.stderr
    qlayers = fl.qlayers_from_npz(fl.fashion_layers(), d / f"w{bits}.npz")
    for q in qlayers:
        assert q.bits == bits and -15 <= q.shift <= 15
        assert -(2 ** (bits - 1)) <= q.weight.min() and q.weight.max() <= 2 ** (bits - 1) - 1
    p = run(cli, "eval", *args, "--samples", d / "X.npy", "--labels", d / "y.npy",
            "--outputs", d / f"o{bits}.npy", "--report", d / f"r{bits}.json")
    assert p.returncode == 0, p.stderr
    chip = np.load(d / f"o{bits}.npy").reshape(len(samples), -1)
    emulated = fl.chip_forward(qlayers, samples).reshape(len(samples), -1)
    assert np.array_equal(chip, emulated)
    if bits == 8:  # the float checkpoint itself (default width 8): the same outputs
        p = run(cli, "eval", "--config-file", d / "fashion.yaml", "--checkpoint-file",
                d / "float.pth.tar", "--samples", d / "X.npy", "--labels", d / "y.npy",
                "--outputs", d / f"f{bits}.npy", "--report", d / f"rf{bits}.json")
        assert p.returncode == 0, p.stderr
        assert np.array_equal(np.load(d / f"f{bits}.npy").reshape(len(samples), -1), chip)


# ---- examples/pose ------------------------------------------------------------------------------
sys.path.insert(0, str(POSE))
import make_checkpoint as pose_ckpt  # noqa: E402


@pytest.fixture(scope="module")
def pose_checkpoint(tmp_path_factory):
    return pose_ckpt.make(tmp_path_factory.mktemp("pose"))


def test_pose_fits_max78002(cli, pose_checkpoint):
    p = run(cli, "check", "--config-file", POSE / "pose.yaml", "--checkpoint-file",
            pose_checkpoint, "--device", "MAX78002")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "fits" in p.stdout and "layers: 15 of 128" in p.stdout


def test_pose_max78000_verdict(cli, pose_checkpoint, tmp_path):
    """CHECK.md: on the MAX78000 the weights do not fit the kernel memory (layer 5 would need
    rows up to 772 of processor 0's 768; the whole network 1,443 rows). Data memory fits."""
    p = run(cli, "check", "--config-file", POSE / "pose.yaml", "--checkpoint-file",
            pose_checkpoint, "--device", "MAX78000", "--report", tmp_path / "r.json")
    out = p.stdout.lower()
    assert "layers: 15 of 32" in p.stdout
    rep = json.loads((tmp_path / "r.json").read_text())
    assert not [v for v in rep["violations"] if v["rule"].startswith("data-memory")]
    assert p.returncode == 2 and "kernel memory" in out and "layer 5" in out


def test_pose_stride2_is_refused(cli, pose_checkpoint):
    for device in ("MAX78000", "MAX78002"):
        p = run(cli, "check", "--config-file", POSE / "pose-stride2.yaml", "--checkpoint-file",
                pose_checkpoint, "--device", device)
        assert p.returncode == 1
        assert "stride: found 2" in p.stderr and "stride 1 only" in p.stderr


def test_pose_runs_on_max78002(cli, pose_checkpoint, tmp_path):
    p = run(cli, "run", "--config-file", POSE / "pose.yaml", "--checkpoint-file",
            pose_checkpoint, "--device", "MAX78002", "--sample-input",
            pose_checkpoint.parent / "sample_3x128x128.npy", "--output", tmp_path / "o.npy",
            "--dump-layers", tmp_path / "layers", "-q")
    assert p.returncode == 0, p.stderr
    heat = np.load(tmp_path / "layers" / "layer_012.npy")
    paf = np.load(tmp_path / "layers" / "layer_014.npy")
    assert heat.shape == (19, 16, 16) and paf.shape == (38, 16, 16)
    assert np.abs(heat).max() > 0 and np.abs(paf).max() > 0


def test_pose_sweep_fit_only(cli, tmp_path):
    """`ai8xsim sweep` without samples (examples/pose/sweep.sh, cut to the two uniform
    configurations): all 8-bit does not fit the MAX78000 (its verdict kept, no accuracy), all
    4-bit fits."""
    ckpt = pose_ckpt.make_float(tmp_path)
    p = run(cli, "sweep", "--config-file", POSE / "pose.yaml", "--checkpoint-file", ckpt,
            "--device", "MAX78000", "--input-shape", "3,128,128", "--widths", "8,4",
            "--budget", "2", "--workers", "0", "--results-dir", tmp_path / "r", "--quiet")
    assert p.returncode == 0, p.stderr
    j = json.loads((tmp_path / "r" / "sweep.json").read_text())
    eight, four = j["configurations"]
    assert eight["bits"] == [8] * 15 and not eight["fits"]
    assert "kernel memory" in eight["violation"] and eight["accuracy"] is None
    assert four["bits"] == [4] * 15 and four["fits"] and four["kernel_rows"] > 0
    assert eight["weight_bytes"] == 2 * four["weight_bytes"]
    assert j["best_fit"] == [4] * 15
