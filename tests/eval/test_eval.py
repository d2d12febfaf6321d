"""`ai8xsim eval`: accuracy on a labelled batch, every sample run bit-exactly.

* eval's outputs and predictions equal per-sample `ai8xsim run` on a corpus network (the case's
  input plus perturbed copies); the report's numbers follow from its labels and predictions;
* the progress bar appears on a terminal only; refusals leave no report;
The examples built on eval are tested in test_examples.py. Everything runs in seconds.
"""
import json
import os
import pathlib
import pty
import select
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import require_corpus  # noqa: E402

MNIST_CASE = "demo-mnist-max78000"


def run(cli, *args, **kw):
    return subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kw)


def mnist_case():
    corpus = require_corpus()
    case = corpus / "cases" / MNIST_CASE
    meta = json.loads((case / "meta.json").read_text())
    return case, (case / meta["checkpoint"]).resolve()


def perturbed_batch(x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    copies = [x] + [np.clip(x + rng.integers(-40, 41, x.shape), -128, 127) for _ in range(n - 1)]
    return np.stack(copies).astype(np.int8)


@pytest.fixture(scope="module")
def mnist_batch(tmp_path_factory):
    case, ckpt = mnist_case()
    d = tmp_path_factory.mktemp("mnist")
    x = np.load(case / "input.npy")
    batch = perturbed_batch(x, 6)
    np.save(d / "X.npy", batch)
    labels = np.array([7, 2, 1, 0, 4, 1], dtype=np.int64)
    np.save(d / "y.npy", labels)
    return case, ckpt, d, batch, labels


def net_args(case, ckpt):
    return ["--config-file", case / "network.yaml", "--checkpoint-file", ckpt,
            "--device", "MAX78000"]


# ---- eval = per-sample run ----------------------------------------------------------------------
def test_eval_equals_per_sample_run(cli, mnist_batch):
    case, ckpt, d, batch, labels = mnist_batch
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            d / "y.npy", "--report", d / "r.json", "--outputs", d / "out.npy", "--threads", 2)
    assert p.returncode == 0, p.stderr
    rep = json.loads((d / "r.json").read_text())
    outs = np.load(d / "out.npy")
    assert outs.shape[0] == len(batch)
    for i, sample in enumerate(batch):
        np.save(d / f"s{i}.npy", sample)
        q = run(cli, "run", *net_args(case, ckpt), "--sample-input", d / f"s{i}.npy",
                "--output", d / f"o{i}.npy", "-q")
        assert q.returncode == 0, q.stderr
        single = np.load(d / f"o{i}.npy")
        assert np.array_equal(single, outs[i]), f"sample {i}: eval's output differs from run's"
        assert rep["predictions"][i] == int(np.argmax(single.ravel()))
    # The case's own input is the first sample: eval's output is izer's.
    expected = np.load(case / "expected.npz")["output"]
    assert np.array_equal(outs[0].ravel(), expected.ravel())


def test_report_fields_follow_from_predictions(cli, mnist_batch):
    case, ckpt, d, batch, labels = mnist_batch
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            d / "y.npy", "--report", d / "r2.json")
    assert p.returncode == 0, p.stderr
    rep = json.loads((d / "r2.json").read_text())
    pred = np.array(rep["predictions"])
    k = rep["classes"]
    assert k == 10 and rep["samples"] == len(batch)
    assert rep["labels"] == labels.tolist()
    assert rep["correct"] == int((pred == labels).sum())
    assert rep["accuracy"] == pytest.approx((pred == labels).mean())
    assert rep["misclassified"] == np.flatnonzero(pred != labels).tolist()
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (labels, pred), 1)
    assert rep["confusion"] == conf.tolist()
    for c in rep["per_class"]:
        n = int((labels == c["class"]).sum())
        assert c["samples"] == n
        assert c["correct"] == int(((labels == c["class"]) & (pred == labels)).sum())
        assert (c["accuracy"] is None) == (n == 0)
    assert rep["reference"] is None
    for key in ("device", "config_file", "checkpoint_file", "samples_file", "labels_file",
                "input", "seconds", "samples_per_second", "threads"):
        assert key in rep
    assert "accuracy:" in p.stdout and "confusion" in p.stdout


def test_reference_agreement(cli, mnist_batch, tmp_path):
    case, ckpt, d, batch, labels = mnist_batch
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            d / "y.npy", "--report", tmp_path / "a.json", "--outputs", tmp_path / "o.npy")
    assert p.returncode == 0, p.stderr
    pred = np.array(json.loads((tmp_path / "a.json").read_text())["predictions"])
    # A reference as classes with two changed, and the same as N x K scores.
    ref = pred.copy()
    ref[[1, 4]] = (ref[[1, 4]] + 1) % 10
    np.save(tmp_path / "ref.npy", ref)
    scores = np.eye(10, dtype=np.float32)[ref] * 3.5
    np.save(tmp_path / "ref_scores.npy", scores)
    for name in ("ref.npy", "ref_scores.npy"):
        p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
                d / "y.npy", "--reference", tmp_path / name, "--report", tmp_path / "b.json")
        assert p.returncode == 0, p.stderr
        r = json.loads((tmp_path / "b.json").read_text())["reference"]
        assert r["agreements"] == len(batch) - 2
        assert r["agreement"] == pytest.approx((len(batch) - 2) / len(batch))
        assert r["disagreements"] == [1, 4]
        assert r["predictions"] == ref.tolist()
        assert r["correct"] == int((ref == labels).sum())
    # Our own outputs as the reference agree everywhere.
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            d / "y.npy", "--reference", tmp_path / "o.npy", "--report", tmp_path / "c.json")
    r = json.loads((tmp_path / "c.json").read_text())["reference"]
    assert r["agreement"] == 1.0 and r["disagreements"] == []


# ---- progress bar -------------------------------------------------------------------------------
def test_no_progress_bar_when_not_a_terminal(cli, mnist_batch):
    case, ckpt, d, batch, labels = mnist_batch
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            d / "y.npy")
    assert p.returncode == 0
    assert p.stderr == ""
    assert "samples/s" not in p.stderr and "\r" not in p.stdout


def test_progress_bar_on_a_terminal(cli, mnist_batch):
    case, ckpt, d, batch, labels = mnist_batch
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([str(cli), "eval", *map(str, net_args(case, ckpt)), "--samples",
                              str(d / "X.npy"), "--labels", str(d / "y.npy")],
                             stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        seen = b""
        while True:
            r, _, _ = select.select([master], [], [], 60)
            if not r:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
        assert p.wait(timeout=60) == 0
    finally:
        os.close(master)
    text = seen.decode(errors="replace")
    assert "samples/s" in text and "ETA" in text and f"{len(batch)}/{len(batch)}" in text


# ---- refusals -----------------------------------------------------------------------------------
def test_labels_length_mismatch_is_refused(cli, mnist_batch, tmp_path):
    case, ckpt, d, batch, labels = mnist_batch
    np.save(tmp_path / "short.npy", labels[:-1])
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            tmp_path / "short.npy", "--report", tmp_path / "r.json")
    assert p.returncode == 1
    assert f"{len(labels) - 1} labels for {len(labels)} samples" in p.stderr
    assert p.stderr.count("\n") == 1  # one message
    assert not (tmp_path / "r.json").exists()


def test_float_samples_are_refused(cli, mnist_batch, tmp_path):
    case, ckpt, d, batch, labels = mnist_batch
    np.save(tmp_path / "Xf.npy", batch.astype(np.float32) / 128)
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", tmp_path / "Xf.npy", "--labels",
            d / "y.npy", "--report", tmp_path / "r.json")
    assert p.returncode == 1
    assert "dtype float32" in p.stderr and "[-128, 127]" in p.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("bad, message", [
    (np.array([0, 1, 2, 3, 4, 10]), "element 5 is 10"),  # beyond the 10 outputs
    (np.array([0, 1, 2, 3, 4, -1]), "element 5 is -1"),
    (np.array([0.0, 1, 2, 3, 4, 5]), "dtype float64"),
])
def test_bad_labels_are_refused(cli, mnist_batch, tmp_path, bad, message):
    case, ckpt, d, batch, labels = mnist_batch
    np.save(tmp_path / "y.npy", bad)
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            tmp_path / "y.npy", "--report", tmp_path / "r.json", "--outputs", tmp_path / "o.npy")
    assert p.returncode == 1
    assert message in p.stderr
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "o.npy").exists()


def test_reference_length_mismatch_is_refused(cli, mnist_batch, tmp_path):
    case, ckpt, d, batch, labels = mnist_batch
    np.save(tmp_path / "ref.npy", labels[:3])
    p = run(cli, "eval", *net_args(case, ckpt), "--samples", d / "X.npy", "--labels",
            d / "y.npy", "--reference", tmp_path / "ref.npy")
    assert p.returncode == 1 and "3 predictions for 6 samples" in p.stderr
