"""net.evaluate (issue 20, items 0 and 4): the `eval` command's Python twin.

Every figure is checked against numpy computed from run_batch's outputs, and against the CLI's
`eval --report` on the same files. Cases are picked from the corpus by the shape of their final
output: a classifier (C x 1 x 1, 5 <= C <= 32) and a per-pixel network (C x H x W, H x W >= 64)."""
import json
import subprocess

import numpy as np
import pytest

from pysupport import (case_dir, import_ai8xsim, load_options, meta, ok_cases,
                       require_corpus)


def final_shape(m):
    return m["layers"][str(m["final_layer"])]


def pick(pred):
    require_corpus()
    for case in ok_cases():
        m = meta(case)
        if m.get("checkpoint") and pred(final_shape(m)):
            return case, m
    pytest.skip("no such case in the corpus")


def batch(x, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([x] + [np.clip(x.astype(np.int64) + rng.integers(-20, 21, x.shape),
                                   -128, 127) for _ in range(n - 1)]).astype(np.int8)


def load(ai8xsim, case, m):
    d = case_dir(case)
    return ai8xsim.load(d / m["config"], (d / m["checkpoint"]).resolve(), device=m["device"],
                        **load_options(m))


@pytest.fixture(scope="module")
def classifier():
    ai8xsim = import_ai8xsim()
    case, m = pick(lambda s: s[1] * s[2] == 1 and 5 <= s[0] <= 32)
    net = load(ai8xsim, case, m)
    X = batch(np.load(case_dir(case) / m["sample_input"]), 10)
    return case, m, net, X


@pytest.fixture(scope="module")
def segmenter():
    ai8xsim = import_ai8xsim()
    case, m = pick(lambda s: s[0] >= 2 and s[1] * s[2] >= 64)
    net = load(ai8xsim, case, m)
    X = batch(np.load(case_dir(case) / m["sample_input"]), 3)
    return case, m, net, X


def test_classification_report_equals_numpy(classifier):
    _, m, net, X = classifier
    out = net.run_batch(X).reshape(len(X), -1)
    k = out.shape[1]
    rng = np.random.default_rng(3)
    y = rng.integers(0, k, len(X))
    y[:3] = out[:3].argmax(1)  # some right
    ref = out.argmax(1).copy()
    ref[1] = (ref[1] + 1) % k
    r = net.evaluate(X, y, reference=ref)
    pred = out.argmax(1)
    assert r.accuracy == pytest.approx((pred == y).mean())
    # top-5 by ranks: argsort of -output, stable, so ties go to the lower index as argmax
    order = np.argsort(-out, axis=1, kind="stable")[:, :5]
    assert r.top5_accuracy == pytest.approx(np.mean([y[i] in order[i] for i in range(len(y))]))
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y, pred), 1)
    np.testing.assert_array_equal(r.confusion, cm)
    assert r.misclassified == np.flatnonzero(pred != y).tolist()
    assert r.reference["disagreements"] == [1]
    assert r.per_class[int(y[0])]["samples"] == int((y == y[0]).sum())
    text, page = repr(r), r._repr_html_()
    assert "top-1" in text and "top-5" in text and "per class" in text
    assert "<table" in page and "confusion (rows: label" in page


def test_evaluate_equals_cli_eval(classifier, cli, tmp_path):
    case, m, net, X = classifier
    d = case_dir(case)
    k = int(np.prod(final_shape(m)))
    y = np.arange(len(X)) % k
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    flags = []
    for opt, v in load_options(m).items():
        flags += [f"--{opt.replace('_', '-')}"] + ([",".join(map(str, v))] if opt == "no_bias"
                                                   else [])
    p = subprocess.run([str(cli), "eval", "--config-file", str(d / m["config"]),
                        "--checkpoint-file", str((d / m["checkpoint"]).resolve()),
                        "--device", m["device"], "--samples", str(tmp_path / "X.npy"),
                        "--labels", str(tmp_path / "y.npy"), "--report",
                        str(tmp_path / "r.json"), "-q", *flags], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    cli_report = json.loads((tmp_path / "r.json").read_text())
    r = net.evaluate(X, y)
    for key in ("accuracy", "top5_accuracy", "confusion", "misclassified", "predictions",
                "per_class", "classes", "samples"):
        assert r.raw[key] == cli_report[key], key


def test_segmentation_pixel_accuracy_and_iou(segmenter):
    _, m, net, X = segmenter
    out = net.run_batch(X)
    n, c, h, w = out.shape
    rng = np.random.default_rng(5)
    pred = out.argmax(1)
    y = np.where(rng.random((n, h, w)) < 0.6, pred, rng.integers(0, c, (n, h, w)))
    r = net.evaluate(X, y)
    seg = r.segmentation
    assert seg["pixels"] == n * h * w
    assert seg["pixel_accuracy"] == pytest.approx((pred == y).mean())
    for k in range(c):
        tp = int(((pred == k) & (y == k)).sum())
        union = int(((pred == k) | (y == k)).sum())
        expected = tp / union if union else None
        assert seg["class_iou"][k] == (pytest.approx(expected) if union else None), k
    ious = [v for v in seg["class_iou"] if v is not None]
    assert seg["mean_iou"] == pytest.approx(np.mean(ious))
    assert seg["sample_accuracy"] == pytest.approx([(pred[i] == y[i]).mean() for i in range(n)])
    assert "IoU" in r._repr_html_() and "pixel accuracy" in repr(r)
    # The labels are read in their own dtype: any integer type, byte order or layout gives
    # the same report; a negative label is named.
    for same in (y.astype(np.uint8), y.astype(">i8"), np.asfortranarray(y.astype(np.int16))):
        timing = ("seconds", "samples_per_second")
        got = {k: v for k, v in net.evaluate(X, same).raw.items() if k not in timing}
        assert got == {k: v for k, v in r.raw.items() if k not in timing}, same.dtype
    bad = y.copy()
    bad[1, 0, 2] = -3
    with pytest.raises(import_ai8xsim().Error, match=rf"y: element {h * w + 2} is -3; labels must be"):
        net.evaluate(X, bad)


def test_segmentation_wrong_labels_are_clear(segmenter):
    ai8xsim = import_ai8xsim()
    _, m, net, X = segmenter
    c, h, w = final_shape(m)
    with pytest.raises(ai8xsim.Error, match=rf"give labels of shape \(N, {h}, {w}\)"):
        net.evaluate(X, np.zeros(len(X), np.int64))  # one class per sample
    with pytest.raises(ai8xsim.Error, match=rf"maps of {h + 1} x {w} pixels"):
        net.evaluate(X, np.zeros((len(X), h + 1, w), np.int64))
    with pytest.raises(ai8xsim.Error, match=r"2 labels \(or one label map\)|2 labels for"):
        net.evaluate(X, np.zeros((2, h, w), np.int64))
    with pytest.raises(ai8xsim.Error, match=rf"lie in \[0, {c - 1}\]"):
        net.evaluate(X, np.full((len(X), h, w), c, np.int64))


def test_evaluate_runs_the_library_and_reports_progress_and_interrupts(classifier, capsys):
    # net.evaluate is the C++ evaluate (as `ai8xsim eval`): its progress reaches Python in
    # order up to n, an exception raised there (KeyboardInterrupt, as Ctrl-C) ends the batch
    # and surfaces, and progress=True shows a bar that reaches n/n.
    _, _, net, X = classifier
    y = np.zeros(X.shape[0], dtype=np.int64)
    seen = []
    raw = net._sim.evaluate(X, y, threads=2, progress=seen.append)
    assert seen == list(range(1, X.shape[0] + 1))
    assert raw["samples"] == X.shape[0]

    def boom(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        net._sim.evaluate(X, y, threads=2, progress=boom)
    net.evaluate(X, y, progress=True)
    assert f"{X.shape[0]}/{X.shape[0]}" in capsys.readouterr().err
