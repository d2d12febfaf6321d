"""Time, loading and energy (ai8xsim/cost.h): the CLI's options and report, Simulator.cost(),
its plot, and benchmarks/silicon_table.py (run, its numbers not asserted)."""
import json
import pathlib
import subprocess
import sys

import pytest

import pysupport as S
import corpus as C  # tests/parity/corpus.py, on the path through pysupport

ai8xsim = S.import_ai8xsim()
CASE = "demo-mnist-max78002"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _check(cli, tmp_path, *extra, case=CASE):
    S.require_corpus()
    m = S.meta(case)
    d = S.case_dir(case)
    out = tmp_path / "r.json"
    p = subprocess.run([str(cli), "check", "--config-file", str(d / m["config"]),
                        "--checkpoint-file", str((d / m["weights"]).resolve()), "--device",
                        m["device"], "--sample-input", str(d / m["sample_input"]),
                        "--report", str(out), *C.run_flags(m), *extra],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout, json.loads(out.read_text())["cost"]


def test_check_prints_and_reports_every_total(cli, tmp_path):
    text, c = _check(cli, tmp_path)
    for line in ("inference", "input load", "weight load", "first inference from power-up",
                 "each inference, weights retained"):
        assert line in text
    assert c["pipeline"] and c["clock_mhz"] == 200 and c["load_clock_mhz"] == 50
    assert len(c["layers"]) == 5
    assert sum(l["uj"] for l in c["layers"]) == pytest.approx(c["inference"]["uj"])
    assert c["first_inference"]["us"] == pytest.approx(
        c["weight_load"]["us"] + c["bias_config_load"]["us"] + c["input_load"]["us"]
        + c["inference"]["us"])


def test_options_move_the_figures_they_should(cli, tmp_path):
    _, base = _check(cli, tmp_path)
    _, plain = _check(cli, tmp_path, "--no-pipeline")
    _, fast = _check(cli, tmp_path, "--load-clock-mhz", "100")
    _, rv = _check(cli, tmp_path, "--riscv")
    _, slow = _check(cli, tmp_path, "--clock-mhz", "100")
    _, nomx = _check(cli, tmp_path, "--no-mexpress")
    assert not plain["pipeline"] and plain["total_cycles"] < base["total_cycles"]
    # The core's share of an access stays; only the CNN-clock share halves.
    assert base["weight_load"]["us"] / 2 < fast["weight_load"]["us"] < base["weight_load"]["us"]
    assert rv["weight_load"]["us"] > 4 * base["weight_load"]["us"]
    assert slow["inference"]["us"] == pytest.approx(2 * base["inference"]["us"])
    assert nomx["words"]["weights"] > base["words"]["weights"]


def test_fifo_input_is_fed_at_the_inference_clock(cli, tmp_path):
    """faceid streams its input through the FIFO: the feed (a status read and a write per word,
    at the inference clock) overlaps the run, --no-fifo-wait halves it, and a faster inference
    clock speeds the feed too."""
    _, c = _check(cli, tmp_path, case="demo-faceid-max78002")
    _, nowait = _check(cli, tmp_path, "--no-fifo-wait", case="demo-faceid-max78002")
    _, slow = _check(cli, tmp_path, "--clock-mhz", "100", case="demo-faceid-max78002")
    assert c["fifo"] and c["words"]["input"] > 0
    assert nowait["input_load"]["us"] == pytest.approx(c["input_load"]["us"] / 2)
    assert slow["input_load"]["us"] > c["input_load"]["us"]
    # The run waits for the feed: it ends no earlier than the feed plus the run after it.
    r = c["retained_inference"]["us"]
    assert r >= c["input_load"]["us"] + c["after_feed"]["us"] - 0.01
    assert r < c["input_load"]["us"] + c["inference"]["us"]
    assert nowait["retained_inference"]["us"] < r


def test_a_negative_clock_is_one_error_line(cli, tmp_path):
    S.require_corpus()
    m = S.meta(CASE)
    d = S.case_dir(CASE)
    p = subprocess.run([str(cli), "check", "--config-file", str(d / m["config"]),
                        "--checkpoint-file", str((d / m["weights"]).resolve()), "--device",
                        m["device"], "--clock-mhz", "-5"], capture_output=True, text=True)
    assert p.returncode != 0
    assert p.stderr.startswith("ai8xsim: error:") and "--clock-mhz" in p.stderr
    assert p.stderr.count("\n") == 1


def test_simulator_cost_and_its_plot(tmp_path):
    S.require_corpus()
    net, x, _, _ = S.load_case(ai8xsim, CASE)
    c = net.cost(x.shape)
    assert isinstance(c, ai8xsim.Cost)
    assert c.device == "MAX78002" and c.pipeline
    assert c.retained_inference["us"] == pytest.approx(c.input_load["us"] + c.inference["us"])
    assert net.cost(x.shape, pipeline=False).total_cycles < c.total_cycles
    assert "first_inference" in str(c)
    with pytest.raises(ai8xsim.Error):
        net.cost(x.shape, clock_mhz=-1)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = ai8xsim.plots.cost(c)
    bars = [len(ax.patches) for ax in fig.axes]
    assert bars == [len(c.layers), len(c.layers)]
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert heights == pytest.approx([e["uj"] for e in c.layers])


def test_silicon_table_script_runs(tmp_path):
    corpus = S.require_corpus()
    silicon = corpus.parent / "silicon"
    if not (silicon / "an7664_table4.csv").is_file():
        pytest.skip(f"no measurements at {silicon}")
    out = tmp_path / "silicon-table.md"
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "silicon_table.py"),
                        "--build", str(S.build_dir()), "--corpus", str(corpus),
                        "--silicon", str(silicon), "--out", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    for line in (silicon / "an7664_table4.csv").read_text().splitlines()[1:]:
        assert f"| {line.split(',')[0]} |" in text
    assert "## Fitted parameters" in text and "## MAX78000" in text


@pytest.mark.parametrize("case", ["demo-cifar-10-max78002", "demo-kws20_v3-max78000"])
def test_cost_does_not_depend_on_weight_values(case, tmp_path):
    """The same network with two sets of weights (the corpus's, and random values of the same
    shapes): the same cycles, words, times and energies."""
    S.require_corpus()
    import numpy as np

    m = S.meta(case)
    d = S.case_dir(case)
    rng = np.random.default_rng(15)
    w = dict(np.load(d / m["weights"]))
    other = {k: (rng.integers(-128, 128, v.shape).astype(v.dtype)
                 if k.startswith("weight") else v) for k, v in w.items()}
    assert any((other[k] != w[k]).any() for k in w if k.startswith("weight"))
    np.savez(tmp_path / "other.npz", **other)
    x = np.load(d / m["sample_input"])
    a = ai8xsim.load(d / m["config"], (d / m["weights"]).resolve(), device=m["device"],
                     **S.load_options(m)).cost(x.shape)
    b = ai8xsim.load(d / m["config"], tmp_path / "other.npz", device=m["device"],
                     **S.load_options(m)).cost(x.shape)
    assert a == b
