"""The engine on its Fast kernel set (the SIMD kernels, activations in their byte layout,
prepared weights; on one thread and with rows split over 2) equals the engine on its Reference
kernel set (kernels/reference.h alone: scalar, nothing of kernels/fast*), layer by layer, on
every accepted corpus network: on the case's own input and on random samples of four styles
(uniform, small values, only -128/127, sparse). The parity suite pins the engine to izer on the
case inputs; this pins the fast kernels to the readable definition on inputs izer never saw.

Budget: a network whose MACs times the samples exceed BUDGET_MACS (env
AI8XSIM_ENGINE_PATHS_BUDGET) is compared on the case's own input only, still every layer; the
run's summary line says how many networks were compared on all samples."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import build_dir, corpus_dir, require_corpus  # noqa: E402

SAMPLES = 4  # random samples per case, one of each style
# 2^32 MACs: on 2 cores (pytest -n 2) the whole file takes about 1.5 minutes; one network
# (the largest) is over it.
BUDGET_MACS = int(os.environ.get("AI8XSIM_ENGINE_PATHS_BUDGET", str(1 << 32)))


def _cases():
    return C.case_names(corpus_dir(), "ok")


@pytest.fixture(scope="session")
def engine_paths() -> pathlib.Path:
    exe = build_dir() / "engine_paths"
    if not exe.is_file():
        pytest.fail(f"{exe} not built: run the README's build command first")
    return exe


def _run(exe, case, *extra):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    args = C.cli_args(corpus, case, m, m["weights"])[1:]  # without the `run` command
    seed = sum(map(ord, case))  # differs per case, the same from run to run
    return subprocess.run([str(exe)] + args + ["--samples", str(SAMPLES), "--seed", str(seed),
                                               "--budget-macs", str(BUDGET_MACS), *extra],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("case", _cases())
def test_fast_set_equals_reference_set(case, engine_paths, record_property):
    p = _run(engine_paths, case)
    assert p.returncode == 0, f"{case}: {p.stdout.strip()} {p.stderr.strip()}"
    m = re.search(r"(\d+) samples, every layer equal \((\d+) MACs per sample", p.stdout)
    assert m, p.stdout
    runs, macs = int(m.group(1)), int(m.group(2))
    within = macs * (SAMPLES + 1) <= BUDGET_MACS
    assert runs == (SAMPLES + 1 if within else 1), p.stdout
    record_property("engine_paths", "all samples" if within else "own input only")


def test_a_reference_difference_is_found(engine_paths):
    """--inject-difference adds 1 to the first value of the Reference set's output stage: the
    comparison must then fail, naming a layer, on every case tried."""
    for case in _cases()[:3]:
        p = _run(engine_paths, case, "--inject-difference")
        assert p.returncode == 1, f"{case}: {p.stdout.strip()} {p.stderr.strip()}"
        assert re.search(r"sample 0 \(Fast set, threads 1 vs Reference set\): layer \d+ element 0",
                         p.stdout), p.stdout


def _first_demo():
    return next((c for c in _cases() if c.startswith("demo-")), "<no corpus>")


def test_cli_runs_on_the_reference_kernels(tmp_path):
    """`ai8xsim run --kernels reference` dumps the same layers and output as the default
    (fast) run, and both equal izer's."""
    corpus = require_corpus()
    exe = build_dir() / "ai8xsim"
    case = _first_demo()
    m = C.meta(corpus, case)
    dumps = {}
    for kernels in ("fast", "reference"):
        d = tmp_path / kernels
        p = subprocess.run([str(exe)] + C.cli_args(corpus, case, m, m["weights"]) +
                           ["--kernels", kernels, "--dump-layers", str(d), "--output",
                            str(d / "output.npy"), "-q"],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        dumps[kernels] = {f.name: np.load(f) for f in sorted(d.glob("*.npy"))}
    assert len(dumps["fast"]) > 1 and dumps["fast"].keys() == dumps["reference"].keys()
    for name, a in dumps["fast"].items():
        assert np.array_equal(a, dumps["reference"][name]), name
    with np.load(C.case_dir(corpus, case) / "expected.npz") as z:
        rows = C.compare_layers({k: z[k] for k in z.files}, tmp_path / "reference")
    assert rows and all(r[1] == r[2] for r in rows), [r for r in rows if r[1] != r[2]]


def test_cli_refuses_an_unknown_kernel_set(tmp_path):
    corpus = require_corpus()
    case = _first_demo()
    m = C.meta(corpus, case)
    out = tmp_path / "out.npy"
    p = subprocess.run([str(build_dir() / "ai8xsim")] + C.cli_args(corpus, case, m, m["weights"])
                       + ["--kernels", "slow", "--output", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode != 0
    assert "--kernels: found 'slow'; allowed: fast" in p.stderr and "reference" in p.stderr
    assert "Traceback" not in p.stderr and not out.exists()


def test_memory_fed_run_takes_the_kernel_set(tmp_path):
    """`run --kat` (every layer fed from the data memory model) on the Reference set matches
    izer's known-answer test as the Fast set does: the kernel set is the network's, for every
    kind of run."""
    corpus = require_corpus()
    case = _first_demo()
    m = C.meta(corpus, case)
    kat = C.generated_file(C.case_dir(corpus, case) / "generated", "sampleoutput.h")
    for kernels in ("fast", "reference"):
        p = subprocess.run([str(build_dir() / "ai8xsim")] + C.cli_args(corpus, case, m, m["weights"])
                           + ["--kernels", kernels, "--kat", str(kat)],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        assert re.search(r"KAT: (\d+)/\1 words match", p.stdout + p.stderr), p.stdout
