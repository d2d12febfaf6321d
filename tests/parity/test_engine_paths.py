"""The engine's fast path (int8 activations in the kernels' layout, prepared weights, rows split
over 2 threads) equals its int32-tensor path (the reference kernels, step by step) on every layer
of every accepted corpus network: on the case's own input and on random samples of four styles
(uniform, small values, only -128/127, sparse). The parity suite pins the tensor path to izer on
the case inputs; this pins the fast kernels to it on inputs izer never saw."""
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import corpus as C  # noqa: E402
from conftest import build_dir, corpus_dir, require_corpus  # noqa: E402

SAMPLES = 4  # random samples per case, one of each style


def _cases():
    return C.case_names(corpus_dir(), "ok")


@pytest.fixture(scope="session")
def engine_paths() -> pathlib.Path:
    exe = build_dir() / "engine_paths"
    if not exe.is_file():
        pytest.fail(f"{exe} not built: run the README's build command first")
    return exe


@pytest.mark.parametrize("case", _cases())
def test_fast_path_equals_tensor_path(case, engine_paths):
    corpus = require_corpus()
    m = C.meta(corpus, case)
    args = C.cli_args(corpus, case, m, m["weights"])[1:]  # without the `run` command
    seed = sum(map(ord, case))  # differs per case, the same from run to run
    p = subprocess.run([str(engine_paths)] + args + ["--samples", str(SAMPLES), "--seed",
                                                     str(seed)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{case}: {p.stdout.strip()} {p.stderr.strip()}"
    assert f"{SAMPLES + 1} samples, every layer equal" in p.stdout
