"""Precision sweeps (issue 23): ai8xsim.sweep / `ai8xsim sweep` and `ai8xsim quantize`.

A tiny network (three layers on a 1x8x8 input) with seeded random float weights in
ai8x-training's checkpoint layout, a few hundred seeded random samples, and as labels the
8-bit chip's own predictions with a seeded fraction changed (so accuracies differ between
widths without any training)."""
import json
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

from pysupport import import_ai8xsim, build_dir

torch = pytest.importorskip("torch")

YAML = """---
arch: tiny
dataset: none
layers:
  - processors: 0x0000000000000001
    out_offset: 0x2000
    data_format: CHW
    in_dim: [8, 8]
    op: conv2d
    kernel_size: 3x3
    pad: 1
    activate: ReLU
  - processors: 0x000000000000000f
    out_offset: 0x0000
    max_pool: 2
    pool_stride: 2
    op: conv2d
    kernel_size: 3x3
    pad: 1
    activate: ReLU
  - processors: 0x00000000000000ff
    out_offset: 0x1000
    op: mlp
    flatten: true
    activate: None
    output_width: 32
"""
N = 240


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    ai8xsim = import_ai8xsim()
    d = tmp_path_factory.mktemp("tiny")
    (d / "net.yaml").write_text(YAML)
    g = torch.Generator().manual_seed(23)
    sd = {"conv1.op.weight": torch.randn(4, 1, 3, 3, generator=g) * 0.4,
          "conv1.op.bias": torch.randn(4, generator=g) * 0.05,
          "conv2.op.weight": torch.randn(8, 4, 3, 3, generator=g) * 0.2,
          "conv2.op.bias": torch.randn(8, generator=g) * 0.05,
          "fc.op.weight": torch.randn(5, 8 * 4 * 4, generator=g) * 0.1,
          "fc.op.bias": torch.randn(5, generator=g) * 0.05}
    torch.save({"epoch": 0, "arch": "tiny", "state_dict": sd}, str(d / "float.pth.tar"))
    rng = np.random.default_rng(23)
    x = rng.integers(-128, 128, size=(N, 1, 8, 8)).astype(np.int8)
    np.save(d / "x.npy", x)
    net = ai8xsim.load(d / "net.yaml", d / "float.pth.tar", weight_bits={0: 8, 1: 8, 2: 8})
    y = net.run_batch(x, progress=False).reshape(N, -1).argmax(1)
    flip = rng.random(N) < 0.1
    y[flip] = rng.integers(0, 5, size=int(flip.sum()))
    np.save(d / "y.npy", y.astype(np.int64))
    return d


def run_sweep(ai8xsim, d, results, **kw):
    kw.setdefault("budget", 12)
    kw.setdefault("shard_size", 60)
    return ai8xsim.sweep(d / "net.yaml", d / "float.pth.tar", samples=d / "x.npy",
                         labels=d / "y.npy", results_dir=results, **kw)


def records(r):
    return [json.dumps(x, sort_keys=True) for x in r.records]


def test_one_process_and_two_workers_agree_and_rerun_recomputes_nothing(tiny, tmp_path):
    ai8xsim = import_ai8xsim()
    one = run_sweep(ai8xsim, tiny, tmp_path / "one", workers=0)
    assert one.computed == 12 and one.reused == 0
    uniform = {tuple(r["bits"]): r for r in one.records[:4]}
    assert set(uniform) == {(8, 8, 8), (4, 4, 4), (2, 2, 2), (1, 1, 1)}
    assert all(r["fits"] for r in one.records)
    assert uniform[(8, 8, 8)]["accuracy"] > uniform[(1, 1, 1)]["accuracy"]
    # the kernel memory follows the widths: izer packs 8-bit weights at least as wide
    assert uniform[(8, 8, 8)]["kernel_rows"] >= uniform[(1, 1, 1)]["kernel_rows"]
    assert all(r["latency_us"] > 0 and r["energy_uj"] > 0 for r in one.records)

    two = run_sweep(ai8xsim, tiny, tmp_path / "two", workers=2)
    assert records(two) == records(one)
    assert two.as_dict()["memory_front"] == one.as_dict()["memory_front"]

    files = sorted((tmp_path / "one" / "configs").glob("*.json"))
    assert len(files) == 12
    stamps = [f.stat().st_mtime_ns for f in files]
    again = run_sweep(ai8xsim, tiny, tmp_path / "one", workers=0)
    assert again.computed == 0 and again.reused == 12
    assert records(again) == records(one)
    assert [f.stat().st_mtime_ns for f in files] == stamps

    # an interrupted sweep (here: 3 configurations lost) resumes with those alone
    for f in files[:3]:
        f.unlink()
    resumed = run_sweep(ai8xsim, tiny, tmp_path / "one", workers=0)
    assert resumed.computed == 3 and resumed.reused == 9
    assert records(resumed) == records(one)


def test_a_killed_worker_loses_nothing(tiny, tmp_path):
    ai8xsim = import_ai8xsim()
    pytest.importorskip("distributed")
    from ai8xsim.sweeps import DaskExecutor
    reference = run_sweep(ai8xsim, tiny, tmp_path / "ref", workers=0, budget=6, shard_size=20)

    executor = DaskExecutor(workers=2)
    killed = []
    real_run = executor.run

    def run_and_kill(configs, job, shards, done):
        pids = list(executor.client.run(os.getpid).values())

        def kill_one():
            # once the first configuration is finished, a worker process dies mid-run
            while not list((tmp_path / "killed" / "configs").glob("*.json")):
                time.sleep(0.01)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(len(list((tmp_path / "killed" / "configs").glob("*.json"))))

        t = threading.Thread(target=kill_one, daemon=True)
        t.start()
        real_run(configs, job, shards, done)
        t.join(timeout=30)

    executor.run = run_and_kill
    import ai8xsim.sweeps as sweeps_module
    original = sweeps_module.DaskExecutor
    sweeps_module.DaskExecutor = lambda **kw: executor
    try:
        r = run_sweep(ai8xsim, tiny, tmp_path / "killed", workers=2, budget=6, shard_size=20)
    finally:
        sweeps_module.DaskExecutor = original
    assert killed and killed[0] < 6, "no worker was killed mid-run"
    assert records(r) == records(reference)
    assert r.computed == 6


def test_an_existing_cluster_by_its_address(tiny, tmp_path):
    ai8xsim = import_ai8xsim()
    distributed = pytest.importorskip("distributed")
    from ai8xsim.sweeps import _package_on_pythonpath
    import logging
    _package_on_pythonpath()  # the cluster's workers import ai8xsim as a real cluster's would
    reference = run_sweep(ai8xsim, tiny, tmp_path / "ref", workers=0, budget=3)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as c:
        r = run_sweep(ai8xsim, tiny, tmp_path / "remote", scheduler=c.scheduler_address,
                      budget=3)
        assert records(r) == records(reference)
        assert c.scheduler_address.startswith("tcp://")


@pytest.mark.parametrize("bits", [8, 4, 2, 1])
def test_uniform_accuracy_equals_eval_on_the_written_weights(tiny, tmp_path, cli, bits):
    ai8xsim = import_ai8xsim()
    r = run_sweep(ai8xsim, tiny, tmp_path / "s", workers=0, budget=4)
    rec = next(x for x in r.records if x["bits"] == [bits] * 3)
    out = tmp_path / f"w{bits}.npz"
    p = subprocess.run([str(cli), "quantize", "--config-file", str(tiny / "net.yaml"),
                        "--checkpoint-file", str(tiny / "float.pth.tar"),
                        "--weight-bits", str(bits), "--output", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert np.load(out)["quantization"].tolist() == [bits] * 3
    report = tmp_path / "eval.json"
    p = subprocess.run([str(cli), "eval", "--config-file", str(tiny / "net.yaml"),
                        "--checkpoint-file", str(out), "--samples", str(tiny / "x.npy"),
                        "--labels", str(tiny / "y.npy"), "--report", str(report)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    ev = json.loads(report.read_text())
    assert ev["correct"] == rec["correct"] and ev["samples"] == rec["counted"] == N
    assert ev["accuracy"] == pytest.approx(rec["accuracy"], abs=1e-12)
    # and `check` on the written weights agrees on the kernel memory
    c = ai8xsim.load(tiny / "net.yaml", out)._sim.check([1, 8, 8])
    assert c["kernel_rows_used"] == rec["kernel_rows"]


def test_pareto_front_on_hand_made_points():
    ai8xsim = import_ai8xsim()
    costs = [10, 20, 30, 15, 20, None, 5, 40]
    accs = [0.5, 0.8, 0.9, 0.5, 0.7, 0.99, None, 0.9]
    # 3 is dominated by 0 (cost 10 < 15, same accuracy); 4 by 1; 7 by 2 (same accuracy,
    # cheaper); 5 and 6 have no cost / accuracy
    assert ai8xsim.pareto_front(costs, accs) == [0, 1, 2]
    assert ai8xsim.pareto_front([1, 1], [0.5, 0.5]) == [0, 1]  # equal points both stay
    assert ai8xsim.pareto_front([], []) == []


def test_search_is_guided_by_sensitivity():
    from ai8xsim.sweeps import search
    # layer 1 is fragile, layer 0 robust: after the uniform widths and the probes, the
    # cumulative lowering lowers layer 0 first
    def evaluate(configs):
        return {c: {"bits": list(c), "accuracy": 1.0 - 0.3 * (c[1] < 8) - 0.01 * (c[0] < 8)
                    - 0.1 * (8 - c[2]) / 8, "fits": True} for c in configs}
    got = [tuple(r["bits"]) for r in search(evaluate, 3, [10, 10, 10], (8, 4), budget=20)]
    assert got[:2] == [(8, 8, 8), (4, 4, 4)]
    assert got[2:5] == [(4, 8, 8), (8, 4, 8), (8, 8, 4)]  # probes
    assert got[5:] == [(4, 8, 4)]                          # cumulative: 0, then 2, (then 1)
    assert len(search(evaluate, 3, [10, 10, 10], (8, 4, 2, 1), budget=5)) == 5


def test_search_raises_layers_back_when_the_fit_binds():
    from ai8xsim.sweeps import search
    weights = [100, 10, 50, 1]
    # fits when the 8-bit weights are at most 60: all-8 (161) does not
    def evaluate(configs):
        return {c: {"bits": list(c), "accuracy": None,
                    "fits": sum(w for w, b in zip(weights, c) if b == 8) <= 60}
                for c in configs}
    got = [tuple(r["bits"]) for r in search(evaluate, 4, weights, (8, 4), budget=20)]
    assert got[:2] == [(8, 8, 8, 8), (4, 4, 4, 4)]
    # largest first: 0, 2, 1 lowered cumulatively; (4, 8, 4, 8) is the first that fits (11)
    assert got[2:5] == [(4, 8, 8, 8), (4, 8, 4, 8), (4, 4, 4, 8)]
    # then its lowered layers raised back, the last lowered first: layer 2 gives
    # (4, 8, 8, 8), already seen not to fit; layer 0 gives (8, 8, 4, 8): 111, does not fit
    assert got[5:] == [(8, 8, 4, 8)]
    fits = [c for c in got if evaluate([c])[c]["fits"]]
    best = max(fits, key=lambda c: (sum(b == 8 for b in c), sum(c)))
    assert best == (4, 8, 4, 8)


def test_arrays_as_samples(tiny, tmp_path):
    ai8xsim = import_ai8xsim()
    by_path = run_sweep(ai8xsim, tiny, tmp_path / "p", workers=0, budget=2)
    by_array = ai8xsim.sweep(tiny / "net.yaml", tiny / "float.pth.tar",
                             samples=np.load(tiny / "x.npy"),
                             labels=torch.from_numpy(np.load(tiny / "y.npy")),
                             results_dir=tmp_path / "a", budget=2, workers=0, shard_size=60)
    assert records(by_array) == records(by_path)


def test_plot_and_json(tiny, tmp_path):
    ai8xsim = import_ai8xsim()
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    r = run_sweep(ai8xsim, tiny, tmp_path / "s", workers=0, budget=6)
    r.plot(tmp_path / "p.svg")
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
    r.write_json(tmp_path / "s.json")
    j = json.loads((tmp_path / "s.json").read_text())
    assert len(j["configurations"]) == 6 and j["memory_front"]
    front = [c for c in j["configurations"] if c["memory_front"]]
    assert sorted(c["bits"] for c in front) == sorted(j["memory_front"])
    assert "front" in r.table()


def run_cli(cli, *args):
    return subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)


def test_cli_sweep_and_one_line_errors(tiny, tmp_path, cli):
    base = ["sweep", "--config-file", tiny / "net.yaml", "--checkpoint-file",
            tiny / "float.pth.tar"]
    p = run_cli(cli, *base, "--samples", tiny / "x.npy", "--labels", tiny / "y.npy",
                "--workers", "0", "--budget", "5", "--results-dir", tmp_path / "r",
                "--quiet", "--plot", tmp_path / "p.svg")
    assert p.returncode == 0, p.stderr
    assert "8 8 8" in p.stdout and (tmp_path / "r" / "sweep.json").is_file()
    assert (tmp_path / "p.svg").is_file()
    bad = [
        (["--budget", "0"], "budget 0"),
        (["--budget", "x"], "--budget"),
        (["--widths", "8,3"], "widths"),
        (["--samples", tiny / "x.npy"], "both samples and labels"),
        (["--samples", tiny / "x.npy", "--labels", tiny / "nope.npy"], "nope.npy"),
        (["--plot", tmp_path / "p.txt"], "--plot"),
        (["--workers", "-1"], "workers -1"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ]
    for extra, words in bad:
        p = run_cli(cli, *base, "--results-dir", tmp_path / "bad", "--workers", "0", *extra)
        assert p.returncode == 1, (extra, p.stdout, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ai8xsim: error:"), (extra, p.stderr)
        assert words in lines[0], (extra, lines[0])
    # another sweep's results directory is refused, not mixed in
    (tiny / "other.yaml").write_text(YAML.replace("dataset: none", "dataset: other"))
    p = run_cli(cli, "sweep", "--config-file", tiny / "other.yaml", "--checkpoint-file",
                tiny / "float.pth.tar", "--workers", "0", "--budget", "1",
                "--results-dir", tmp_path / "r")
    assert p.returncode == 1 and "holds a sweep of other inputs" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    # a checkpoint quantized already: widths would be ignored, so it is refused
    p = run_cli(cli, "quantize", "--config-file", tiny / "net.yaml", "--checkpoint-file",
                tiny / "float.pth.tar", "--output", tmp_path / "q8.npz")
    assert p.returncode == 0, p.stderr
    p = run_cli(cli, *base[:3], "--checkpoint-file", tmp_path / "q8.npz", "--workers", "0",
                "--results-dir", tmp_path / "q8")
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
    assert "holds quantized weights already" in p.stderr
    p = run_cli(cli, "quantize", "--config-file", tiny / "net.yaml", "--checkpoint-file",
                tiny / "float.pth.tar", "--weight-bits", "3", "--output", tmp_path / "q.npz")
    assert p.returncode == 1 and p.stderr.startswith("ai8xsim: error: --weight-bits: found "
                                                     "width 3")
    assert not (tmp_path / "q.npz").exists()


def test_cli_without_python_or_dask(tiny, tmp_path, cli):
    env = dict(os.environ, AI8XSIM_PYTHON=str(tmp_path / "no-python"))
    p = subprocess.run([str(cli), "sweep", "--help"], capture_output=True, text=True, env=env)
    assert p.returncode == 1
    assert p.stderr.startswith("ai8xsim: error: sweep runs in Python") and \
        len(p.stderr.strip().splitlines()) == 1
    # a Python without `distributed`: a one-line error naming the package
    (tmp_path / "distributed").mkdir()
    (tmp_path / "distributed" / "__init__.py").write_text("raise ImportError('hidden')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    p = subprocess.run([str(cli), "sweep", "--config-file", tiny / "net.yaml",
                        "--checkpoint-file", tiny / "float.pth.tar", "--results-dir",
                        tmp_path / "r", "--workers", "2"], capture_output=True, text=True,
                       env=env)
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith("ai8xsim: error: sweep: Dask is not installed")
    assert len(p.stderr.strip().splitlines()) == 1


def test_cli_finds_the_package_when_installed(tiny, tmp_path, cli):
    """pip's layout: SITE/ai8xsim/bin/ai8xsim next to the package; no PYTHONPATH needed."""
    import shutil
    pkg = tmp_path / "site" / "ai8xsim"
    shutil.copytree(build_dir() / "python" / "ai8xsim", pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "bin").mkdir()
    shutil.copy2(cli, pkg / "bin" / "ai8xsim")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "q.npz"
    p = subprocess.run([str(pkg / "bin" / "ai8xsim"), "quantize", "--config-file",
                        str(tiny / "net.yaml"), "--checkpoint-file", str(tiny / "float.pth.tar"),
                        "--weight-bits", "2", "--output", str(out)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert np.load(out)["quantization"].tolist() == [2, 2, 2]
    # without the package next to it: one line
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy2(cli, lone / "ai8xsim")
    p = subprocess.run([str(lone / "ai8xsim"), "sweep", "--help"], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
    assert "the ai8xsim Python package is not next to this executable" in p.stderr


def test_ctrl_c_then_resume(tiny, tmp_path, cli):
    """SIGINT mid-sweep: exit 130 with one line saying how to resume, finished configurations
    kept (no temporaries); the same command then computes only the rest."""
    args = [str(cli), "sweep", "--config-file", str(tiny / "net.yaml"), "--checkpoint-file",
            str(tiny / "float.pth.tar"), "--samples", str(tiny / "x.npy"), "--labels",
            str(tiny / "y.npy"), "--workers", "0", "--budget", "12", "--shard-size", "1",
            "--results-dir", str(tmp_path / "r"), "--quiet"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    configs = tmp_path / "r" / "configs"
    deadline = time.time() + 60
    while time.time() < deadline and not (configs.is_dir() and list(configs.glob("w*.json"))):
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("ai8xsim: interrupted:")
    kept = len(list(configs.glob("w*.json")))
    assert 1 <= kept < 12 and not list(configs.glob(".*"))
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert f"{12 - kept} computed, {kept} reused" in p.stdout
