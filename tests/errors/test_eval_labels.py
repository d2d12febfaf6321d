"""`ai8xsim eval` on a network whose output is a map (issue 20, item 0): memory stays bounded
whatever the output size, N x H x W label maps give per-pixel accuracy and per-class IoU, and
labels of the wrong shape get one clear message.

The case: the accepted model-zoo case with the largest final output (C x H x W), by property."""
import json
import resource
import subprocess
import sys
import pathlib

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from conftest import require_corpus  # noqa: E402

LIMIT = 2 << 30  # address space for the run: the old confusion matrix needed ~170 GB


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    corpus = require_corpus()
    index = json.loads((corpus / "index.json").read_text())
    best = None
    for name, v in sorted(index.items()):
        if v["status"] != "ok":
            continue
        m = json.loads((corpus / "cases" / name / "meta.json").read_text())
        s = m["layers"][str(m["final_layer"])]
        if m.get("checkpoint") and s[1] * s[2] > 1 and (best is None or np.prod(s) > best[2]):
            best = (name, m, int(np.prod(s)))
    name, m, _ = best
    d = corpus / "cases" / name
    tmp = tmp_path_factory.mktemp("evalmap")
    x = np.load(d / m["sample_input"])
    X = np.stack([x] * 4).astype(np.int8)
    np.save(tmp / "X.npy", X)
    args = ["eval", "--config-file", str(d / m["config"]), "--checkpoint-file",
            str((d / m["checkpoint"]).resolve()), "--device", m["device"],
            "--samples", str(tmp / "X.npy")]
    flags = m.get("flags") or []
    args += [f for f in flags if f in ("--overlap-data", "--avg-pool-rounding", "--fifo",
                                        "--fast-fifo")]
    return tmp, args, m["layers"][str(m["final_layer"])]


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run(cli, args):
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=600,
                          preexec_fn=limited)


def test_class_labels_for_a_map_output_are_refused_clearly(cli, big):
    tmp, args, (c, h, w) = big
    np.save(tmp / "y.npy", np.zeros(4, np.int64))
    p = run(cli, args + ["--labels", str(tmp / "y.npy"), "--report", str(tmp / "r1.json")])
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ai8xsim: error: --labels "), p.stderr
    assert f"{c}x{h}x{w} ({c * h * w} elements)" in p.stderr
    assert f"give labels of shape (N, {h}, {w})" in p.stderr
    assert "internal error" not in p.stderr and "bad_alloc" not in p.stderr
    assert not (tmp / "r1.json").exists()


def test_wrong_map_size_is_refused_clearly(cli, big):
    tmp, args, (c, h, w) = big
    np.save(tmp / "ybad.npy", np.zeros((4, h // 2, w), np.int64))
    p = run(cli, args + ["--labels", str(tmp / "ybad.npy")])
    assert p.returncode == 1
    assert f"maps of {h // 2} x {w} pixels, but the network's output is {c}x{h}x{w}" in p.stderr
    np.save(tmp / "y3.npy", np.zeros((4, h, w), np.int64))
    np.save(tmp / "ref.npy", np.zeros(4, np.int64))  # its own file: tests run in any order
    p = run(cli, args + ["--labels", str(tmp / "y3.npy"), "--reference", str(tmp / "ref.npy")])
    assert p.returncode == 1 and "reference" in p.stderr


def test_label_maps_give_pixel_accuracy_and_iou(cli, big):
    tmp, args, (c, h, w) = big
    rng = np.random.default_rng(0)
    y = rng.integers(0, min(c, 4), (4, h, w))
    np.save(tmp / "ymap.npy", y)
    p = run(cli, args + ["--labels", str(tmp / "ymap.npy"), "--report", str(tmp / "r.json"),
                         "--outputs", str(tmp / "o.npy")])
    assert p.returncode == 0, p.stderr
    assert "pixel accuracy:" in p.stdout and "mean IoU" in p.stdout and "IoU" in p.stdout
    r = json.loads((tmp / "r.json").read_text())
    pred = np.load(tmp / "o.npy").argmax(1)
    assert r["segmentation"]["pixel_accuracy"] == pytest.approx((pred == y).mean())
    k = int(y[0, 0, 0])
    union = ((pred == k) | (y == k)).sum()
    assert r["segmentation"]["class_iou"][k] == pytest.approx(((pred == k) & (y == k)).sum()
                                                              / union)
